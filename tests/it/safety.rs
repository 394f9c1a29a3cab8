//! Blog-scale safety: a run never replaces another post's folder, one bad
//! post never stops the others, and what posts contain never reaches the
//! terminal raw.

use crate::harness::*;
use crate::images::*;
use crate::server::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_run_never_replaces_a_different_post_with_the_same_slug() {
    let server = RawServer::start(|path, _| Reply::ok(jpeg(200, 100, path.len() as u8))).await;
    let site = Site::new();
    site.write(
        "content/2023/hello/index.md",
        &format!("---\ntitle: 2023\n---\n![]({})\n", server.url("/2023.jpg")),
    );
    site.write(
        "content/2024/hello/index.md",
        &format!("---\ntitle: 2024\n---\n![]({})\n", server.url("/2024.jpg")),
    );
    rotproof(
        args(&["archive", "content/2023/hello/index.md"]),
        site.path(),
    )
    .await
    .code(0);
    rotproof(args(&["check"]), site.path()).await.code(0);
    let manifest = site.read("archive/hello/.rotproof/manifest.json");
    let index = site.read("archive/hello/index.md");

    let out = rotproof(
        args(&["archive", "content/2024/hello/index.md"]),
        site.path(),
    )
    .await;
    out.code(1);
    let err = out.stderr();
    assert!(
        err.contains("content/2024/hello/index.md") && err.contains("content/2023/hello/index.md"),
        "names both posts: {err}"
    );
    assert!(err.contains("--slug"), "suggests a way out: {err}");
    assert_eq!(site.read("archive/hello/.rotproof/manifest.json"), manifest);
    assert_eq!(site.read("archive/hello/index.md"), index);
    assert_eq!(
        server.hits("/2024.jpg"),
        0,
        "nothing fetched for the refused post"
    );

    // The same post again is its own folder's; another slug is a new one.
    rotproof(
        args(&["archive", "content/2023/hello/index.md"]),
        site.path(),
    )
    .await
    .code(0);
    rotproof(
        args(&[
            "archive",
            "content/2024/hello/index.md",
            "--slug",
            "hello-2024",
        ]),
        site.path(),
    )
    .await
    .code(0);
    assert_eq!(site.manifest("hello-2024")["post"]["title"], "2024");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_posts_with_one_slug_in_a_run_archive_the_first_and_refuse_the_second() {
    let server = RawServer::start(|_, _| Reply::ok(jpeg(200, 100, 1))).await;
    let site = Site::new();
    for year in ["2023", "2024"] {
        site.write(
            &format!("content/{year}/hello/index.md"),
            &format!("![]({})\n", server.url(&format!("/{year}.jpg"))),
        );
    }
    let out = rotproof(args(&["archive", "content"]), site.path()).await;
    out.code(1);
    assert!(
        out.stderr().contains("content/2024/hello/index.md"),
        "{}",
        out.stderr()
    );
    assert_eq!(
        site.manifest("hello")["post"]["source"],
        "../content/2023/hello/index.md"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_post_never_stops_a_folder_run() {
    let server = RawServer::start(|_, _| Reply::ok(jpeg(200, 100, 1))).await;
    let site = Site::new();
    site.write(
        "posts/a-good.md",
        &format!("![]({})\n", server.url("/a.jpg")),
    );
    site.write(
        "posts/b-bad.md",
        "---\ntitle: ok\ncover: \"unclosed\n---\nbody\n",
    );
    site.write(
        "posts/c-good.md",
        &format!("![]({})\n", server.url("/c.jpg")),
    );

    let dry = rotproof(args(&["archive", "--dry-run", "posts"]), site.path()).await;
    dry.code(1);
    assert!(dry.stdout().contains("posts/a-good.md") && dry.stdout().contains("posts/c-good.md"));
    assert!(
        dry.stderr().contains("posts/b-bad.md") && dry.stderr().contains("line 3"),
        "{}",
        dry.stderr()
    );

    let out = rotproof(args(&["archive", "posts"]), site.path()).await;
    out.code(1);
    assert!(out.stderr().contains("posts/b-bad.md"), "{}", out.stderr());
    for slug in ["a-good", "c-good"] {
        assert_eq!(site.manifest(slug)["resources"][0]["status"], "archived");
    }
    assert!(!site.path().join("archive/b-bad").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_escapes_in_a_post_are_printed_escaped() {
    let site = Site::new();
    // An escape sequence that would retitle the terminal and clear it.
    site.write(
        "e.md",
        "<img src=\"pic\u{1b}]0;pwned\u{7}\u{1b}[2J.png\"> <a href=\"/root\u{1b}[31m\">x</a>\n",
    );
    let dry = rotproof(args(&["archive", "--dry-run", "e.md"]), site.path()).await;
    let out = rotproof(args(&["archive", "e.md", "--retries", "0"]), site.path()).await;
    for run in [&dry, &out] {
        let text = format!("{}{}", run.stdout(), run.stderr());
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
    }
    assert!(dry.stdout().contains("\\u{1b}"), "{}", dry.stdout());
}
