//! `rotproof archive` end to end: the real binary against HTTP servers on
//! 127.0.0.1 started by each test.

use crate::harness::*;
use crate::images::*;
use crate::server::*;
use rotproof::post::Post;
use rotproof::rewrite::{self, Edit};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn serve(server: &MockServer, at: &str, body: Vec<u8>) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
        .mount(server)
        .await;
}

/// index.md with every reference put back to its source text is source.md.
fn assert_index_round_trips(site: &Site, slug: &str) {
    let source = site.read(&format!("archive/{slug}/.rotproof/source.md"));
    let index = site.read(&format!("archive/{slug}/index.md"));
    let src = Post::parse(source.clone().into_bytes()).expect("source.md parses");
    let idx = Post::parse(index.clone().into_bytes()).expect("index.md parses");
    assert_eq!(src.references().len(), idx.references().len());
    let edits = src
        .references()
        .iter()
        .zip(idx.references())
        .map(|(s, i)| Edit {
            span: i.span.clone(),
            text: s.raw(src.text()).to_string(),
        })
        .collect();
    assert_eq!(
        rewrite::splice(&index, edits),
        source,
        "index.md → source.md"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realistic_post_archives_completely() {
    let server = MockServer::start().await;
    let base = server.uri();
    let same = png(300, 200, 7);
    serve(&server, "/om_bt/thumb/641", jpeg(641, 360, 1)).await;
    serve(&server, "/om_bt/a/641", jpeg(1200, 800, 2)).await;
    serve(&server, "/om_bt/b/641", transparent_png(400, 300)).await;
    serve(&server, "/om_bt/same1/641", same.clone()).await;
    serve(&server, "/om_bt/same2/641", same).await;
    serve(&server, "/om_bt/rep/641", jpeg(200, 100, 3)).await;
    Mock::given(method("GET"))
        .and(path("/rain/a/20261018A01ABC00"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html; charset=utf-8")
                .set_body_string(
                    "<!doctype html><html><head><title>原文</title></head><body>正文</body></html>",
                ),
        )
        .mount(&server)
        .await;
    let site = Site::new();
    let post = format!(
        "---\ntitle: \"深圳湾公园的秋天\"\ndate: 2026-10-18\ncategories:\n  - 旅行\nthumbnail: {base}/om_bt/thumb/641\n---\n\n\
         周末的早晨。\n\n![]({base}/om_bt/a/641) ![白鹭]({base}/om_bt/b/641)\n\n![]({base}/om_bt/rep/641)\n\n\
         ![]({base}/om_bt/same1/641)\n![]({base}/om_bt/same2/641)\n\n![]({base}/om_bt/rep/641) ![]({base}/om_bt/rep/641)\n\n\
         ![]({base}/om_bt/rep/641)\n\n[source]({base}/rain/a/20261018A01ABC00)\n"
    );
    site.write("posts/autumn.md", &post);

    let out = rotproof(args(&["archive", "posts/autumn.md"]), site.path()).await;
    out.code(0);

    let m = site.manifest("autumn");
    assert_eq!(m["format"], "rotproof-manifest");
    assert_eq!(m["post"]["title"], "深圳湾公园的秋天");
    let resources = m["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 7, "6 distinct images + the source link");
    assert!(resources.iter().all(|r| r["status"] == "archived"), "{m:#}");

    let thumb = entry(&m, &format!("{base}/om_bt/thumb/641"));
    assert_eq!(thumb["kind"], "image");
    assert_eq!(thumb["occurrences"][0]["in"], "front_matter");
    assert_eq!(
        (thumb["width"].as_u64(), thumb["height"].as_u64()),
        (Some(641), Some(360))
    );
    assert_eq!(thumb["thumbnail"]["width"], 320);
    assert_eq!(thumb["media_type"], "image/jpeg");

    let rep = entry(&m, &format!("{base}/om_bt/rep/641"));
    assert_eq!(rep["occurrences"].as_array().unwrap().len(), 4);

    let same1 = entry(&m, &format!("{base}/om_bt/same1/641"));
    let same2 = entry(&m, &format!("{base}/om_bt/same2/641"));
    assert_eq!(same1["sha256"], same2["sha256"]);
    assert_eq!(same1["path"], same2["path"]);

    let transparent = entry(&m, &format!("{base}/om_bt/b/641"));
    assert!(
        transparent["thumbnail"]["path"]
            .as_str()
            .unwrap()
            .ends_with(".png")
    );

    let source_url = format!("{base}/rain/a/20261018A01ABC00");
    let source = entry(&m, &source_url);
    assert_eq!(source["kind"], "link");
    assert_eq!(source["media_type"], "text/html");
    let copy = source["path"].as_str().unwrap();
    assert!(
        copy.starts_with(".rotproof/pages/") && copy.ends_with(".html"),
        "a link's copy is rotproof's own: {copy}"
    );
    assert_eq!(m["post"]["source_url"], source_url.as_str());
    assert_eq!(m["post"]["source"], "../posts/autumn.md");
    assert_eq!(m["version"], 2);

    // The folder holds the post and its images, and rotproof's own folder.
    let top = |rel: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(site.path().join(rel))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(top("archive/autumn"), [".rotproof", "assets", "index.md"]);
    let mut own = top("archive/autumn/.rotproof");
    own.retain(|n| n != "lock");
    assert_eq!(own, ["manifest.json", "pages", "source.md", "thumbs"]);

    // Every asset is named after its content; identical bytes stored once.
    assert_eq!(top("archive/autumn/assets").len(), 5, "5 distinct images");
    assert_eq!(top("archive/autumn/.rotproof/pages").len(), 1);
    for e in resources {
        let bytes = std::fs::read(
            site.path()
                .join("archive/autumn")
                .join(e["path"].as_str().unwrap()),
        )
        .unwrap();
        use sha2::Digest;
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&bytes)),
            e["sha256"].as_str().unwrap()
        );
        assert!(
            e["path"]
                .as_str()
                .unwrap()
                .contains(e["sha256"].as_str().unwrap())
        );
    }

    assert_eq!(site.read("archive/autumn/.rotproof/source.md"), post);
    let index = site.read("archive/autumn/index.md");
    assert_eq!(
        index.matches(&base).count(),
        1,
        "every image was rewritten; the source link keeps its URL:\n{index}"
    );
    assert!(index.contains(&format!("[source]({source_url})")));
    assert!(index.contains("title: \"深圳湾公园的秋天\"\ndate: 2026-10-18\n"));
    assert_index_round_trips(&site, "autumn");
    assert!(site.leftover_temp_files().is_empty());
    assert!(
        stdout(&out).contains("7 archived, 0 failed"),
        "{}",
        stdout(&out)
    );
    assert!(
        !stdout(&out).contains('\x1b') && !stderr(&out).contains('\x1b'),
        "no escape codes off a terminal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_fetches_only_what_is_not_archived_and_keeps_checks() {
    let server = MockServer::start().await;
    let base = server.uri();
    serve(&server, "/a", png(40, 30, 1)).await;
    Mock::given(method("GET"))
        .and(path("/flaky"))
        .respond_with(ResponseTemplate::new(404))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    serve(&server, "/flaky", png(40, 30, 2)).await;
    let site = Site::new();
    site.write("p.md", &format!("![]({base}/a) ![]({base}/flaky)\n"));

    let first = rotproof(args(&["archive", "p.md"]), site.path()).await;
    first.code(3);
    assert_eq!(
        entry(&site.manifest("p"), &format!("{base}/flaky"))["status"],
        "failed"
    );

    // A check record written by `check` survives re-archiving.
    let manifest_path = site.path().join("archive/p/.rotproof/manifest.json");
    let mut m = site.manifest("p");
    m["resources"][0]["checks"] = serde_json::json!([{"at": "2026-01-01T00:00:00Z", "result": "alive", "http_status": 200, "error": null}]);
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let before = server.received_requests().await.unwrap().len();

    let second = rotproof(args(&["archive", "p.md"]), site.path()).await;
    second.code(0);
    let requests = server.received_requests().await.unwrap();
    let new: Vec<_> = requests[before..]
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    assert_eq!(new, ["/flaky"], "only the failed resource is fetched again");
    let m = site.manifest("p");
    assert_eq!(entry(&m, &format!("{base}/flaky"))["status"], "archived");
    assert_eq!(
        entry(&m, &format!("{base}/a"))["checks"][0]["result"],
        "alive"
    );
    assert!(!site.read("archive/p/index.md").contains(&base));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_revalidates_and_keeps_the_file_on_304() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/e"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/e"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("ETag", "\"v1\"")
                .set_body_bytes(png(20, 20, 5)),
        )
        .mount(&server)
        .await;
    let site = Site::new();
    site.write("r.md", &format!("![]({base}/e)\n"));
    let first = rotproof(args(&["archive", "r.md"]), site.path()).await;
    first.code(0);
    let sha = entry(&site.manifest("r"), &format!("{base}/e"))["sha256"].clone();
    assert_eq!(
        entry(&site.manifest("r"), &format!("{base}/e"))["etag"],
        "\"v1\""
    );

    let again = rotproof(args(&["archive", "r.md", "--refresh"]), site.path()).await;
    again.code(0);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1]
            .headers
            .get("if-none-match")
            .map(|v| v.to_str().unwrap()),
        Some("\"v1\"")
    );
    let e = entry(&site.manifest("r"), &format!("{base}/e")).clone();
    assert_eq!(e["status"], "archived");
    assert_eq!(e["sha256"], sha);
    assert!(
        site.path()
            .join("archive/r")
            .join(e["path"].as_str().unwrap())
            .exists()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_shared_by_posts_is_fetched_once_and_each_folder_is_complete() {
    let server = RawServer::start(|_, _| Reply::ok(png(30, 30, 9))).await;
    let site = Site::new();
    let shared = server.url("/shared");
    for i in 0..3 {
        site.write(
            &format!("blog/post{i}.md"),
            &format!("![]({shared}) ![]({})\n", server.url(&format!("/own{i}"))),
        );
    }
    let out = rotproof(args(&["archive", "blog"]), site.path()).await;
    out.code(0);
    assert_eq!(server.hits("/shared"), 1);
    for i in 0..3 {
        let m = site.manifest(&format!("post{i}"));
        let e = entry(&m, &shared);
        let dir = site.path().join(format!("archive/post{i}"));
        assert!(
            dir.join(e["path"].as_str().unwrap()).is_file(),
            "post{i} has its own copy"
        );
        assert!(dir.join(e["thumbnail"]["path"].as_str().unwrap()).is_file());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_a_locked_post_fails_at_once() {
    let site = Site::new();
    site.write("l.md", "no links\n");
    let _held = rotproof::store::PostDir::create(&site.path().join("archive/l")).expect("lock");
    let out = rotproof(args(&["archive", "l.md"]), site.path()).await;
    out.code(1);
    assert!(stderr(&out).contains("locked"), "{}", stderr(&out));
    assert!(!site.path().join("archive/l/index.md").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_check_and_ignore() {
    let server = RawServer::start(|path, _| match path {
        "/page" => Reply::ok(b"<html><body>x</body></html>".to_vec()),
        _ => Reply::ok(png(10, 10, 1)),
    })
    .await;
    let site = Site::new();
    site.write(
        "k.md",
        &format!("![]({}) [s]({})\n", server.url("/img"), server.url("/page")),
    );
    let out = rotproof(args(&["archive", "k.md", "--links", "check"]), site.path()).await;
    out.code(0);
    let m = site.manifest("k");
    let page = entry(&m, &server.url("/page"));
    assert_eq!(page["status"], "skipped");
    assert_eq!(page["http_status"], 200);
    assert_eq!(page["checks"][0]["result"], "alive");
    assert!(
        site.read("archive/k/index.md")
            .contains(&server.url("/page")),
        "a checked link is not rewritten"
    );

    let site = Site::new();
    site.write(
        "k.md",
        &format!(
            "![]({}) [s]({})\n",
            server.url("/img"),
            server.url("/page2")
        ),
    );
    let out = rotproof(args(&["archive", "k.md", "--links", "ignore"]), site.path()).await;
    out.code(0);
    assert_eq!(site.manifest("k")["resources"].as_array().unwrap().len(), 1);
    assert_eq!(server.hits("/page2"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_check_asks_with_head_and_downloads_nothing() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let gets = Arc::new(AtomicUsize::new(0));
    let counted = gets.clone();
    let server = RawServer::start_with_method(move |method, path, _| {
        if method == "GET" && path == "/page" {
            counted.fetch_add(1, Ordering::SeqCst);
        }
        match path {
            "/page" => Reply::ok(vec![b'x'; 200_000]),
            _ => Reply::status(404),
        }
    })
    .await;
    let site = Site::new();
    site.write(
        "k.md",
        &format!(
            "[s]({}) [gone]({})\n",
            server.url("/page"),
            server.url("/gone")
        ),
    );
    let out = rotproof(
        args(&["archive", "k.md", "--links", "check", "--retries", "0"]),
        site.path(),
    )
    .await;
    out.code_with(3, "one dead link");
    assert_eq!(server.hits("/page"), 1, "one request");
    assert_eq!(gets.load(Ordering::SeqCst), 0, "and it was a HEAD");
    let m = site.manifest("k");
    assert_eq!(
        entry(&m, &server.url("/page"))["checks"][0]["result"],
        "alive"
    );
    assert_eq!(entry(&m, &server.url("/gone"))["status"], "failed");
    assert_eq!(entry(&m, &server.url("/gone"))["http_status"], 404);
    let stored = std::fs::read_dir(site.path().join("archive/k/assets")).map_or(0, |d| d.count());
    assert_eq!(stored, 0, "nothing downloaded into assets/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_assets_are_copied_and_relative_escapes_refused() {
    let site = Site::new();
    std::fs::create_dir_all(site.path().join("posts/img")).unwrap();
    std::fs::write(site.path().join("posts/img/pic.png"), png(50, 40, 4)).unwrap();
    std::fs::write(site.path().join("secret.png"), png(5, 5, 5)).unwrap();
    site.write("posts/loc.md", "![](img/pic.png) ![](../secret.png)\n");
    let out = rotproof(args(&["archive", "posts/loc.md"]), site.path()).await;
    out.code(0);
    let m = site.manifest("loc");
    let pic = entry(&m, "img/pic.png");
    assert_eq!(pic["status"], "archived");
    assert_eq!(pic["width"], 50);
    let secret = entry(&m, "../secret.png");
    assert_eq!(secret["status"], "skipped");
    assert!(secret["error"].as_str().unwrap().contains("escapes"));
    let index = site.read("archive/loc/index.md");
    assert!(
        index.contains("](assets/") && index.contains("](../secret.png)"),
        "{index}"
    );

    // --max-bytes bounds local files as it bounds downloads.
    let big = png(400, 400, 9);
    assert!(big.len() > 1000);
    std::fs::write(site.path().join("posts/img/big.png"), &big).unwrap();
    site.write("posts/big.md", "![](img/big.png)\n");
    let out = rotproof(
        args(&["archive", "posts/big.md", "--max-bytes", "1000"]),
        site.path(),
    )
    .await;
    out.code(3);
    let e = entry(&site.manifest("big"), "img/big.png").clone();
    assert_eq!(e["status"], "failed");
    assert!(e["error"].as_str().unwrap().contains("too large"), "{e}");
    let stored = std::fs::read_dir(site.path().join("archive/big/assets")).map_or(0, |d| d.count());
    assert_eq!(stored, 0, "nothing stored, no temporary file left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_exit_1_naming_it_and_the_other_posts_are_archived() {
    let site = Site::new();
    site.write("good.md", "ok\n");
    site.write("bad.md", "---\ntitle: [unclosed\n---\n");
    let out = rotproof(args(&["archive", "good.md", "bad.md"]), site.path()).await;
    out.code(1);
    assert!(
        stderr(&out).contains("bad.md: line 2, column 8"),
        "{}",
        stderr(&out)
    );
    assert!(site.path().join("archive/good/index.md").is_file());
    assert!(
        !site.path().join("archive/bad").exists(),
        "nothing written for the bad post"
    );

    let out = rotproof(
        args(&["archive", "good.md", "--out", "/proc/nope"]),
        site.path(),
    )
    .await;
    out.code(1);
    assert!(stderr(&out).contains("/proc/nope"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slugs_come_from_flag_front_matter_or_file_and_never_escape() {
    let site = Site::new();
    site.write("a.md", "---\nslug: ../../escape\n---\n");
    site.write("bundle/index.md", "x\n");
    let out = rotproof(args(&["archive", "a.md", "bundle/index.md"]), site.path()).await;
    out.code(0);
    assert!(
        site.path()
            .join("archive/escape/.rotproof/manifest.json")
            .is_file()
    );
    assert!(
        site.path()
            .join("archive/bundle/.rotproof/manifest.json")
            .is_file()
    );
    assert!(!site.path().join("escape").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_post_archives_to_an_empty_post() {
    let site = Site::new();
    site.write("empty.txt", "");
    let out = rotproof(args(&["archive", "empty.txt"]), site.path()).await;
    out.code(0);
    assert_eq!(site.read("archive/empty/index.md"), "");
    assert_eq!(site.read("archive/empty/.rotproof/source.md"), "");
    assert!(
        site.manifest("empty")["resources"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_image_gone_from_beside_the_post_keeps_its_archived_copy() {
    let site = Site::new();
    std::fs::write(site.path().join("pic.jpg"), jpeg(300, 200, 4)).unwrap();
    site.write("l.md", "![](pic.jpg)\n");
    rotproof(args(&["archive", "l.md"]), site.path())
        .await
        .code(0);
    let before = entry(&site.manifest("l"), "pic.jpg").clone();
    std::fs::remove_file(site.path().join("pic.jpg")).unwrap();
    rotproof(args(&["archive", "l.md"]), site.path())
        .await
        .code(0);
    let after = entry(&site.manifest("l"), "pic.jpg").clone();
    assert_eq!(after["status"], "archived", "{after:#}");
    assert_eq!(after["sha256"], before["sha256"]);
    assert!(site.read("archive/l/index.md").contains("assets/"));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_files_are_hard_links_so_damage_to_one_post_is_damage_to_all() {
    use std::io::{Seek, SeekFrom, Write};
    use std::os::unix::fs::MetadataExt;
    let banner = png(40, 20, 77);
    let b = banner.clone();
    let server = RawServer::start(move |_, _| Reply::ok(b.clone())).await;
    let site = Site::new();
    let shared = server.url("/banner.png");
    for i in 0..20 {
        site.write(&format!("blog/post{i}.md"), &format!("![]({shared})\n"));
    }
    rotproof(args(&["archive", "blog"]), site.path())
        .await
        .code(0);
    let rel = entry(&site.manifest("post0"), &shared)["path"]
        .as_str()
        .unwrap()
        .to_string();
    let copy = |i: usize| site.path().join(format!("archive/post{i}")).join(&rel);
    let mut inodes: Vec<u64> = (0..20)
        .map(|i| std::fs::metadata(copy(i)).unwrap().ino())
        .collect();
    inodes.sort();
    inodes.dedup();
    assert_eq!(inodes.len(), 20, "each post folder has a file of its own");

    // One in-place edit (a user's editor, a bad disk block).
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(copy(7))
        .unwrap();
    f.seek(SeekFrom::Start(30)).unwrap();
    f.write_all(b"damage").unwrap();
    drop(f);
    for i in (0..20).filter(|&i| i != 7) {
        assert!(
            std::fs::read(copy(i)).unwrap() == banner,
            "post{i} untouched"
        );
    }

    let hits = server.total_hits();
    rotproof(args(&["archive", "blog"]), site.path())
        .await
        .code(0);
    assert!(std::fs::read(copy(7)).unwrap() == banner, "restored");
    assert_eq!(
        server.total_hits(),
        hits,
        "restored from a good copy, without the network"
    );
    rotproof(args(&["verify", "archive"]), site.path())
        .await
        .code(0);
}

/// The archive inside the content tree (`rotproof archive .` with the
/// default `--out`, or `archive content --out content/archive`): later runs
/// never take what rotproof wrote (`.rotproof/source.md`, an archived
/// index.md) as posts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_dir_walks_into_archives_and_rotproof() {
    let site = Site::new();
    site.write("hello.md", "# hello\n");
    site.write("content/posts/a.md", "# a\n");
    site.write("content/posts/b.md", "# b\n");
    for _ in 0..3 {
        let out = rotproof(args(&["archive", ".", "--json"]), site.path()).await;
        out.code(0);
        let posts = out.json()["posts"].as_array().map_or(0, Vec::len);
        assert_eq!(posts, 3, "{}", out.stdout());
        let out = rotproof(
            args(&["archive", "content", "--out", "content/archive", "--json"]),
            site.path(),
        )
        .await;
        out.code(0);
        let posts = out.json()["posts"].as_array().map_or(0, Vec::len);
        assert_eq!(posts, 2, "{}", out.stdout());
    }
    assert!(!site.path().join("archive/source").exists());
    assert!(!site.path().join("content/archive/index").exists());
}

/// An archive run removes the stored files its manifest no longer names:
/// a link's copy when a later run says `--links ignore`, and an image a
/// later `exclude` (with `--refresh`) turned into a skip, were dropped from
/// the manifest and so deleted. What an earlier run archived is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_deletes_archived_copies_a_later_run_leaves_out() {
    let server = RawServer::start(|path, _| match path {
        "/page" => Reply::ok(b"<html><body>the source</body></html>".to_vec()),
        _ => Reply::ok(png(30, 20, 3)),
    })
    .await;
    let site = Site::new();
    let (img, page) = (server.url("/img"), server.url("/page"));
    site.write("k.md", &format!("![]({img}) [s]({page})\n"));
    rotproof(args(&["archive", "k.md"]), site.path())
        .await
        .code(0);
    let m = site.manifest("k");
    let dir = site.path().join("archive/k");
    let copy = dir.join(entry(&m, &page)["path"].as_str().unwrap());
    let asset = dir.join(entry(&m, &img)["path"].as_str().unwrap());

    rotproof(args(&["archive", "k.md", "--links", "ignore"]), site.path())
        .await
        .code(0);
    assert!(copy.is_file(), "the link's copy was removed");
    assert_eq!(entry(&site.manifest("k"), &page)["status"], "archived");

    site.write("rotproof.toml", "exclude = ['/img$']\n");
    rotproof(args(&["archive", "k.md", "--refresh"]), site.path())
        .await
        .code(0);
    assert!(asset.is_file(), "the image's file was removed");
    assert_eq!(entry(&site.manifest("k"), &img)["status"], "archived");
    rotproof(args(&["verify"]), site.path()).await.code(0);
}

/// A Hugo blog's own `{{< video src=… >}}` shortcode (and `<source>` in
/// its theme's shortcodes) left its remote media behind: only `figure` and
/// `img` were read. A URL built by a template is never fetched in part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_video_shortcodes_leave_remote_media() {
    let mut mp4 = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
    mp4.resize(4096, 0);
    let server = RawServer::start(move |path, _| match path {
        "/clip.mp4" => Reply::ok(mp4.clone()),
        _ => Reply::status(404),
    })
    .await;
    let site = Site::new();
    let clip = server.url("/clip.mp4");
    let templated = format!("{}/{{{{.Params.cover}}}}.jpg", server.base);
    site.write(
        "v.md",
        &format!("{{{{< video src=\"{clip}\" >}}}}\n\n![cover]({templated})\n"),
    );
    rotproof(
        args(&["archive", "v.md", "--archives", "none"]),
        site.path(),
    )
    .await
    .code(0);
    let m = site.manifest("v");
    let video = entry(&m, &clip);
    assert_eq!(video["kind"], "media", "{video:#}");
    assert_eq!(video["status"], "archived", "{video:#}");
    let path = video["path"].as_str().unwrap_or_default();
    assert!(path.ends_with(".mp4"), "{path}");
    let index = site.read("archive/v/index.md");
    assert!(
        index.contains(&format!("{{{{< video src=\"{path}\" >}}}}")),
        "{index}"
    );
    let skipped = m["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|e| e["status"] == "skipped"))
        .cloned()
        .unwrap_or_default();
    assert!(
        skipped["error"].as_str().unwrap_or("").contains("template"),
        "{m:#}"
    );
    assert_eq!(server.all_hits().len(), 1, "only the clip was asked for");
}

/// A link to a file beside the post (a PDF, a download) was copied into
/// `.rotproof/pages/`, which is never published, while index.md kept its
/// relative path, which does not exist in the post's folder: a broken link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_links_are_copied_to_rotproof_pages_and_break() {
    let site = Site::new();
    site.write(
        "posts/report/index.md",
        "See [the report](files/report.pdf) and [notes](notes.txt). [Diagram](d.svg)\n",
    );
    site.write(
        "posts/report/d.svg",
        r#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="4" height="4"/></svg>"#,
    );
    site.write("posts/report/files/report.pdf", "%PDF-1.4\n% a report\n");
    site.write("posts/report/notes.txt", "plain notes\n");
    rotproof(args(&["archive", "posts/report/index.md"]), site.path())
        .await
        .code(0);
    let m = site.manifest("report");
    let index = site.read("archive/report/index.md");
    for (url, body) in [
        ("files/report.pdf", "%PDF-1.4\n% a report\n"),
        ("notes.txt", "plain notes\n"),
    ] {
        let e = entry(&m, url);
        assert_eq!(e["status"], "archived", "{e:#}");
        let path = e["path"].as_str().unwrap_or_default();
        assert!(
            path.starts_with("assets/"),
            "published with the post: {path}"
        );
        assert_eq!(site.read(&format!("archive/report/{path}")), body);
        assert!(index.contains(&format!("]({path})")), "{index}");
    }
    // Published, a linked SVG is made safe like a shown one.
    let svg = entry(&m, "d.svg");
    let shown = svg["path"].as_str().unwrap_or_default();
    assert!(shown.starts_with("assets/"), "{svg:#}");
    assert!(
        !site
            .read(&format!("archive/report/{shown}"))
            .contains("onload")
    );
    assert!(index.contains(&format!("]({shown})")), "{index}");
    rotproof(args(&["verify", "archive/report"]), site.path())
        .await
        .code(0);
    // A re-run keeps them where they are.
    rotproof(args(&["archive", "posts/report/index.md"]), site.path())
        .await
        .code(0);
    assert_eq!(site.manifest("report")["resources"], m["resources"]);
}

/// Hexo's `{% asset_img %}` and `{% asset_path %}` tags (244 of them in 79
/// posts of one corpus) were never archived: their files, in the folder
/// named after the post (`post_asset_folder`), are now stored and the tags
/// point at the copies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hexo_asset_img_tags_are_never_archived() {
    let site = Site::new();
    site.write(
        "source/_posts/hello-world.md",
        "---\ntitle: Hello\n---\n{% asset_img wide pic.png 300 'A pic' %}\n\n![chart]({% asset_path chart.png %})\n",
    );
    let png = crate::images::png(8, 8, 1);
    std::fs::create_dir_all(site.path().join("source/_posts/hello-world")).expect("mkdir");
    std::fs::write(site.path().join("source/_posts/hello-world/pic.png"), &png).expect("write");
    std::fs::write(
        site.path().join("source/_posts/hello-world/chart.png"),
        crate::images::png(8, 8, 2),
    )
    .expect("write");
    rotproof(
        args(&["archive", "source/_posts/hello-world.md"]),
        site.path(),
    )
    .await
    .code(0);
    let m = site.manifest("hello-world");
    let index = site.read("archive/hello-world/index.md");
    for (key, tag) in [
        ("hello-world/pic.png", "asset_img wide "),
        ("hello-world/chart.png", "asset_path "),
    ] {
        let e = entry(&m, key);
        assert_eq!(e["status"], "archived", "{e:#}");
        let path = e["path"].as_str().unwrap_or_default();
        assert!(index.contains(&format!("{{% {tag}{path}")), "{index}");
    }
    // A bundle shows them.
    rotproof(
        args(&["bundle", "archive/hello-world", "-o", "h.html"]),
        site.path(),
    )
    .await
    .code(0);
    let html = site.read("h.html");
    assert_eq!(html.matches("<img").count(), 2, "{html}");
}
