//! `blog`: a whole blog in one run, 200 posts of 30 images each drawn from
//! the 440 URLs of the `archive` corpus (every URL in about 14 posts),
//! against archiving the same 440 URLs as one post, behind the same
//! latency. Each post folder gets its own copies (hard links) of its
//! files, so the blog's extra cost is 200 folders, 6,000 placed files and
//! 200 manifests, over one fetch and one thumbnail per distinct image.

use std::collections::HashSet;
use std::path::Path;

use super::support::median;

pub(crate) const POSTS: usize = 200;
pub(crate) const PER_POST: usize = 30;

pub(crate) fn run(base: &str, urls: &[String], work: &Path, runs: usize) {
    let dir = work.join("blog");
    let posts = dir.join("posts");
    std::fs::create_dir_all(&posts).expect("blog dir");
    let one: String = urls.iter().map(|u| format!("![]({base}{u})\n\n")).collect();
    std::fs::write(dir.join("one.md"), one).expect("one post");
    let mut used = HashSet::new();
    for p in 0..POSTS {
        let body: String = (0..PER_POST)
            .map(|k| {
                let u = &urls[(p * 11 + k * 37) % urls.len()];
                used.insert(u.clone());
                format!("![]({base}{u})\n\n")
            })
            .collect();
        std::fs::write(posts.join(format!("p{p:03}.md")), body).expect("post");
    }
    let archive = |out: &Path, what: &Path| super::rotproof_archive(out, what, &[]);
    let (mut one_t, mut blog_t, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    // Every round writes into folders of its own, all removed at the end:
    // no round pays for deleting another's files (on this machine's
    // filesystem, creating files just after thousands were deleted costs
    // several times as much).
    for run in 0..runs {
        let out = dir.join(format!("out-one-{run}"));
        one_t.push(archive(&out, &dir.join("one.md")).0);
        let out = dir.join(format!("out-blog-{run}"));
        let (secs, peak) = archive(&out, &posts);
        blog_t.push(secs);
        rss.extend(peak);
        eprintln!("blog: run {} of {runs} done", run + 1);
    }
    let folders = std::fs::read_dir(dir.join("out-blog-0")).map_or(0, |d| d.count());
    println!(
        "blog: {POSTS} posts x {PER_POST} images over {} distinct URLs ({folders} folders), against the {} URLs as one post; medians of {runs}",
        used.len(),
        urls.len()
    );
    let (one_m, blog_m) = (median(one_t), median(blog_t));
    println!("  one post: median {one_m:.2}s");
    println!(
        "  the blog: median {blog_m:.2}s, peak RSS {:.1} MB; blog / one post = {:.2}",
        rss.iter().max().copied().unwrap_or(0) as f64 / 1024.0,
        blog_m / one_m
    );
    super::support::discard(&dir);
}
