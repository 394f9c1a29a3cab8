//! `rotproof archive` end to end: the real binary against HTTP servers on
//! 127.0.0.1 started by each test.

use std::time::Duration;

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
    let source = site.read(&format!("archive/{slug}/source.md"));
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

    let source = entry(&m, &format!("{base}/rain/a/20261018A01ABC00"));
    assert_eq!(source["kind"], "link");
    assert_eq!(source["media_type"], "text/html");
    assert!(source["path"].as_str().unwrap().ends_with(".html"));

    // Every asset is named after its content; identical bytes stored once.
    let assets: Vec<_> = std::fs::read_dir(site.path().join("archive/autumn/assets"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(assets.len(), 6);
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

    assert_eq!(site.read("archive/autumn/source.md"), post);
    let index = site.read("archive/autumn/index.md");
    assert!(
        !index.contains(&base),
        "every reference was archived and rewritten:\n{index}"
    );
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
async fn every_fault_fails_alone_with_a_clear_reason() {
    let good = png(64, 64, 1);
    let good2 = good.clone();
    let server = RawServer::start(move |path, nth| match path {
        "/good" => Reply::ok(good2.clone()),
        "/fail-twice" if nth <= 2 => Reply::status(503),
        "/fail-twice" => Reply::ok(png(32, 32, 2)),
        // Retry-After's wait is the retry policy's, tested on a paused clock
        // (net::retry); here only that a 429 with one is retried.
        "/retry-after" if nth == 1 => Reply::status(429).with_header("Retry-After", "0"),
        "/retry-after" => Reply::ok(png(32, 32, 3)),
        "/missing" => Reply::status(404),
        "/html" => Reply::ok(b"<!DOCTYPE html><html><body>hotlink denied</body></html>".to_vec()),
        "/truncated" => Reply::Truncated {
            declared: 5000,
            body: vec![0xff; 10],
        },
        "/reset" => Reply::Reset,
        "/drip" => Reply::Drip {
            every: Duration::from_millis(200),
        },
        "/endless" => Reply::Endless,
        "/loop" => Reply::status(302).with_header("Location", "/loop"),
        "/to-file" => Reply::status(302).with_header("Location", "file:///etc/passwd"),
        "/moved" => Reply::status(301).with_header("Location", "/good"),
        "/bomb" => Reply::ok(png_header_claiming(60_000, 60_000)),
        _ => Reply::status(500),
    })
    .await;
    let site = Site::new();
    let names = [
        "good",
        "fail-twice",
        "retry-after",
        "missing",
        "html",
        "truncated",
        "reset",
        "drip",
        "endless",
        "loop",
        "to-file",
        "moved",
        "bomb",
    ];
    let body: String = names
        .iter()
        .map(|n| format!("![{n}]({})\n\n", server.url(&format!("/{n}"))))
        .collect();
    site.write("faults.md", &body);

    let out = rotproof(
        args(&[
            "archive",
            "faults.md",
            "--retries",
            "2",
            "--timeout",
            "1",
            "--max-bytes",
            "1MiB",
            "--json",
        ]),
        site.path(),
    )
    .await;
    out.code(3);
    let m = site.manifest("faults");
    let e = |name: &str| entry(&m, &server.url(&format!("/{name}"))).clone();
    let failed = |name: &str, reason: &str, attempts: u64| {
        let e = assert_failed(&m, &server.url(&format!("/{name}")), reason);
        assert_eq!(e["attempts"].as_u64(), Some(attempts), "{name}: attempts");
    };

    assert_eq!(e("good")["status"], "archived");
    assert_eq!(e("fail-twice")["status"], "archived");
    assert_eq!(e("fail-twice")["attempts"], 3);
    assert_eq!(server.hits("/fail-twice"), 3);
    assert_eq!(e("retry-after")["status"], "archived");
    assert_eq!(e("retry-after")["attempts"], 2);
    failed("missing", "HTTP 404", 1);
    assert_eq!(server.hits("/missing"), 1, "other 4xx are final at once");
    failed("html", "not an image (text/html)", 1);
    failed("truncated", "body cut short", 3);
    failed("reset", "body cut short", 3);
    failed("drip", "timed out", 3);
    failed("endless", "too large", 1);
    failed("loop", "too many redirects", 1);
    failed("to-file", "redirect to a `file:` URL refused", 1);
    assert_eq!(e("moved")["status"], "archived");
    assert_eq!(e("moved")["final_url"], server.url("/good"));
    assert_eq!(e("moved")["sha256"], e("good")["sha256"]);

    let bomb = e("bomb");
    assert_eq!(bomb["status"], "archived", "a decompression bomb is stored");
    assert_eq!(bomb["width"], 60_000);
    assert!(bomb["thumbnail"].is_null());
    assert!(
        bomb["thumbnail_error"]
            .as_str()
            .unwrap()
            .contains("--max-pixels")
    );

    let summary = out.json();
    assert_eq!(summary["counts"]["failed"], 8);
    assert_eq!(summary["counts"]["archived"], 5);
    assert_eq!(summary["posts"][0]["failures"].as_array().unwrap().len(), 8);
    assert!(
        site.leftover_temp_files().is_empty(),
        "{:?}",
        site.leftover_temp_files()
    );
}

async fn max_in_flight_with(per_host: &str) -> usize {
    let server = RawServer::start(|path, _| {
        let seed = path.len() as u8;
        Reply::Delayed(
            Duration::from_millis(150),
            Box::new(Reply::ok(png(8, 8, seed))),
        )
    })
    .await;
    let site = Site::new();
    let body: String = (0..12)
        .map(|i| format!("![]({})\n", server.url(&format!("/img/{i}"))))
        .collect();
    site.write("many.md", &body);
    let out = rotproof(
        args(&[
            "archive",
            "many.md",
            "--concurrency",
            "16",
            "--per-host",
            per_host,
        ]),
        site.path(),
    )
    .await;
    out.code(0);
    assert_eq!(server.total_hits(), 12);
    server.max_in_flight()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_host_limit_is_never_exceeded() {
    let limited = max_in_flight_with("2").await;
    assert!(
        limited <= 2,
        "{limited} requests in flight to one host with --per-host 2"
    );
    // The server can see concurrency: with a higher limit it does.
    let wider = max_in_flight_with("6").await;
    assert!(wider > 2, "only {wider} in flight with --per-host 6");
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
    let manifest_path = site.path().join("archive/p/manifest.json");
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
    let _held = rotproof::store::PostDir::open(&site.path().join("archive/l")).expect("lock");
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
async fn bad_input_is_exit_1_and_writes_nothing() {
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
    assert!(
        !site.path().join("archive").exists(),
        "nothing written when an input is bad"
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
    assert!(site.path().join("archive/escape/manifest.json").is_file());
    assert!(site.path().join("archive/bundle/manifest.json").is_file());
    assert!(!site.path().join("escape").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_agent_and_headers_are_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ua"))
        .and(header(
            "user-agent",
            concat!("rotproof/", env!("CARGO_PKG_VERSION")),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(png(4, 4, 1)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/custom"))
        .and(header("user-agent", "MyBot/2"))
        .and(header("x-token", "abc"))
        .and(header("referer", "https://blog.example/"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(png(4, 4, 2)))
        .mount(&server)
        .await;
    let site = Site::new();
    site.write("d.md", &format!("![]({}/ua)\n", server.uri()));
    site.write("c.md", &format!("![]({}/custom)\n", server.uri()));
    let out = rotproof(args(&["archive", "d.md"]), site.path()).await;
    out.code_with(0, "default User-Agent");
    let out = rotproof(
        args(&[
            "archive",
            "c.md",
            "--user-agent",
            "MyBot/2",
            "--header",
            "X-Token: abc",
            "--header",
            "Referer: https://blog.example/",
        ]),
        site.path(),
    )
    .await;
    out.code_with(0, "custom headers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_flag_and_environment_are_used() {
    // A proxy gets the absolute URL in its request line.
    let proxy = RawServer::start(|_, _| Reply::ok(png(6, 6, 4))).await;
    let site = Site::new();
    site.write("p.md", "![](http://cdn.rotproof.invalid/pic)\n");
    let out = rotproof(
        args(&["archive", "p.md", "--proxy", &proxy.base]),
        site.path(),
    )
    .await;
    out.code_with(0, "--proxy");
    assert_eq!(proxy.hits("http://cdn.rotproof.invalid/pic"), 1);

    let site = Site::new();
    site.write("p.md", "![](http://cdn.rotproof.invalid/env)\n");
    let out = rotproof_env(
        args(&["archive", "p.md"]),
        site.path(),
        &[("HTTP_PROXY", &proxy.base)],
    )
    .await;
    out.code_with(0, "HTTP_PROXY");
    assert_eq!(proxy.hits("http://cdn.rotproof.invalid/env"), 1);

    // NO_PROXY: the host is reached directly (and, being .invalid, fails).
    let site = Site::new();
    site.write("p.md", "![](http://cdn.rotproof.invalid/direct)\n");
    let out = rotproof_env(
        args(&["archive", "p.md", "--retries", "0"]),
        site.path(),
        &[
            ("HTTP_PROXY", &proxy.base),
            ("NO_PROXY", "rotproof.invalid"),
        ],
    )
    .await;
    out.code(3);
    assert_eq!(proxy.hits("http://cdn.rotproof.invalid/direct"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_network_flags_are_clear_errors() {
    let site = Site::new();
    site.write("x.md", "x\n");
    let out = rotproof(
        args(&["archive", "x.md", "--ca-cert", "missing.pem"]),
        site.path(),
    )
    .await;
    out.code(1);
    assert!(
        stderr(&out).contains("--ca-cert missing.pem"),
        "{}",
        stderr(&out)
    );
    std::fs::write(site.path().join("junk.pem"), "not a certificate").unwrap();
    let out = rotproof(
        args(&["archive", "x.md", "--ca-cert", "junk.pem"]),
        site.path(),
    )
    .await;
    out.code(1);
    let out = rotproof(
        args(&["archive", "x.md", "--header", "no colon"]),
        site.path(),
    )
    .await;
    out.code(2);
    let out = rotproof(
        args(&["archive", "x.md", "--max-bytes", "lots"]),
        site.path(),
    )
    .await;
    out.code(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_post_archives_to_an_empty_post() {
    let site = Site::new();
    site.write("empty.txt", "");
    let out = rotproof(args(&["archive", "empty.txt"]), site.path()).await;
    out.code(0);
    assert_eq!(site.read("archive/empty/index.md"), "");
    assert_eq!(site.read("archive/empty/source.md"), "");
    assert!(
        site.manifest("empty")["resources"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
