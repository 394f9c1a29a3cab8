//! `rotproof check` against servers whose answers the tests change between
//! runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::harness::*;
use crate::images::*;
use crate::server::*;

/// A server whose answers change as the test moves `phase` on (0 first):
/// the shape of a check test (archive, then the links die or change).
async fn phased_server(
    answer: impl Fn(&str, usize) -> Reply + Send + Sync + 'static,
) -> (RawServer, Arc<AtomicUsize>) {
    let phase = Arc::new(AtomicUsize::new(0));
    let p = phase.clone();
    let server = RawServer::start(move |path, _| answer(path, p.load(Ordering::SeqCst))).await;
    (server, phase)
}

fn results(json: &serde_json::Value) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = json["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["url"].as_str().unwrap_or("").to_string(),
                r["result"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_changed_recovered_and_timeouts_then_stale_after_then_repair() {
    let phase = Arc::new(AtomicUsize::new(0));
    let p = phase.clone();
    let server = RawServer::start(move |path, _| {
        let later = p.load(Ordering::SeqCst) > 0;
        match (path, later) {
            ("/stay", _) => Reply::ok(png(20, 20, 1)),
            ("/gone", false) => Reply::ok(png(20, 20, 2)),
            ("/gone", true) => Reply::status(404),
            ("/changes", false) => Reply::ok(png(20, 20, 3)),
            ("/changes", true) => Reply::ok(png(20, 20, 4)),
            ("/back", false) => Reply::status(404),
            ("/back", true) => Reply::ok(png(20, 20, 5)),
            ("/slow", false) => Reply::ok(png(20, 20, 6)),
            ("/slow", true) => Reply::Drip {
                every: Duration::from_millis(300),
            },
            _ => Reply::status(500),
        }
    })
    .await;
    let site = Site::new();
    let names = ["stay", "gone", "changes", "back", "slow"];
    let body: String = names
        .iter()
        .map(|n| format!("![{n}]({})\n\n", server.url(&format!("/{n}"))))
        .collect();
    site.write("life.md", &body);
    let archived = rotproof(args(&["archive", "life.md"]), site.path()).await;
    archived.code_with(3, "/back fails while archiving");
    let changes_sha = entry(&site.manifest("life"), &server.url("/changes"))["sha256"].clone();

    phase.store(1, Ordering::SeqCst);
    let out = rotproof(
        args(&["check", "--json", "--timeout", "1", "--retries", "0"]),
        site.path(),
    )
    .await;
    out.code_with(3, "something is dead");
    let json = out.json();
    let url = |n: &str| server.url(&format!("/{n}"));
    assert_eq!(
        results(&json),
        vec![
            (url("back"), "recovered".to_string()),
            (url("changes"), "changed".to_string()),
            (url("gone"), "dead".to_string()),
            (url("slow"), "dead".to_string()),
            (url("stay"), "alive".to_string()),
        ]
    );
    assert_eq!(json["counts"]["dead"], 2);
    let first = &json["results"][0];
    assert_eq!(first["result"], "dead", "dead ones are listed first");
    let row = |n: &str| {
        json["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["url"] == url(n))
            .unwrap()
            .clone()
    };
    assert_eq!(row("gone")["http_status"], 404);
    assert!(row("slow")["error"].as_str().unwrap().contains("timed out"));

    let m = site.manifest("life");
    for n in names {
        let checks = entry(&m, &url(n))["checks"].as_array().unwrap().clone();
        assert_eq!(checks.len(), 1, "{n}: one record per run");
    }
    assert_eq!(entry(&m, &url("gone"))["checks"][0]["result"], "dead");

    // Right afterwards, nothing is stale: nothing is requested.
    let before = server.total_hits();
    let out = rotproof(args(&["check", "--stale-after", "1h"]), site.path()).await;
    out.code_with(0, "nothing checked");
    assert_eq!(server.total_hits(), before);

    // --repair archives what came back; the changed file is kept as archived.
    let out = rotproof(
        args(&["check", "--repair", "--timeout", "1", "--retries", "0"]),
        site.path(),
    )
    .await;
    out.code(3);
    let m = site.manifest("life");
    let back = entry(&m, &url("back"));
    assert_eq!(back["status"], "archived");
    let index = site.read("archive/life/index.md");
    assert!(
        index.contains(&format!("![back]({})", back["path"].as_str().unwrap())),
        "{index}"
    );
    assert_eq!(
        entry(&m, &url("changes"))["sha256"],
        changes_sha,
        "--repair never replaces an archived file"
    );
    assert_eq!(
        entry(&m, &url("gone"))["checks"].as_array().unwrap().len(),
        2,
        "history kept through repair"
    );
    assert_eq!(
        m["post"]["source"], "../life.md",
        "the recorded source stays"
    );
    assert!(site.leftover_temp_files().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_refused_falls_back_to_get() {
    let server = RawServer::start_with_method(|method, _, _| match method {
        "HEAD" => Reply::status(405),
        _ => Reply::ok(b"<html>source</html>".to_vec()),
    })
    .await;
    let site = Site::new();
    site.write("h.md", &format!("[src]({})\n", server.url("/page")));
    let out = rotproof(args(&["archive", "h.md", "--links", "check"]), site.path()).await;
    out.code(0);
    let before = server.hits("/page");
    let out = rotproof(args(&["check", "--json"]), site.path()).await;
    out.code(0);
    let json = out.json();
    assert_eq!(json["results"][0]["result"], "alive");
    assert_eq!(server.hits("/page") - before, 2, "a HEAD, then a GET");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_posts_sharing_urls_make_one_request_per_distinct_url() {
    let server = RawServer::start(|path, _| Reply::ok(png(8, 8, seed_of(path)))).await;
    let site = Site::new();
    for i in 0..50 {
        let body: String = (0..3)
            .map(|k| {
                format!(
                    "![]({})\n",
                    server.url(&format!("/shared/{}", (i + k) % 10))
                )
            })
            .collect();
        site.write(&format!("posts/p{i:02}.md"), &body);
    }
    let out = rotproof(args(&["archive", "posts"]), site.path()).await;
    out.code(0);
    let before: Vec<usize> = (0..10)
        .map(|k| server.hits(&format!("/shared/{k}")))
        .collect();
    assert!(
        before.iter().all(|&n| n == 1),
        "archive fetched each once: {before:?}"
    );
    let out = rotproof(args(&["check", "--json"]), site.path()).await;
    out.code(0);
    let json = out.json();
    assert_eq!(json["results"].as_array().unwrap().len(), 150);
    assert_eq!(json["requested"], 10);
    for k in 0..10 {
        assert_eq!(
            server.hits(&format!("/shared/{k}")),
            2,
            "one check request for /shared/{k}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etag_makes_the_check_conditional() {
    let server = RawServer::start_with_method(|_, _, nth| {
        if nth == 1 {
            Reply::ok(png(8, 8, 1)).with_header("ETag", "\"abc\"")
        } else {
            Reply::status(304)
        }
    })
    .await;
    let site = Site::new();
    site.write("e.md", &format!("![]({})\n", server.url("/e")));
    rotproof(args(&["archive", "e.md"]), site.path())
        .await
        .code(0);
    let out = rotproof(args(&["check", "--json"]), site.path()).await;
    let json = out.json();
    assert_eq!(
        json["results"][0]["result"], "alive",
        "304 to If-None-Match is alive"
    );
    assert_eq!(json["results"][0]["http_status"], 304);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_locked_post_is_skipped_and_the_others_are_checked() {
    let server = RawServer::start(|_, _| Reply::ok(jpeg(200, 100, 1))).await;
    let site = Site::new();
    site.write("x.md", "text\n");
    site.write("y.md", &format!("![]({})\n", server.url("/y.jpg")));
    rotproof(args(&["archive", "x.md", "y.md"]), site.path())
        .await
        .code(0);
    let held = rotproof::store::PostDir::create(&site.path().join("archive/x")).expect("lock");
    let out = rotproof(args(&["check"]), site.path()).await;
    out.code(0);
    assert!(
        stderr(&out).contains("archive/x") && stderr(&out).contains("locked"),
        "{}",
        stderr(&out)
    );
    let y = site.manifest("y");
    assert_eq!(
        y["resources"][0]["checks"].as_array().map(Vec::len),
        Some(1)
    );
    drop(held);
    let out = rotproof(args(&["check", "nowhere"]), site.path()).await;
    out.code(1);
    assert!(stderr(&out).contains("nowhere"));
    let out = rotproof(
        args(&["check", "archive/x/.rotproof/manifest.json"]),
        site.path(),
    )
    .await;
    out.code_with(0, "a manifest path works");
    assert!(!stdout(&out).contains('\x1b'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_refresh_stores_new_content_as_a_version_and_keeps_the_original() {
    let phase = Arc::new(AtomicUsize::new(0));
    let p = phase.clone();
    let server =
        RawServer::start(move |_, _| Reply::ok(png(16, 16, 10 + p.load(Ordering::SeqCst) as u8)))
            .await;
    let site = Site::new();
    site.write("v.md", &format!("![]({})\n", server.url("/img")));
    rotproof(args(&["archive", "v.md"]), site.path())
        .await
        .code(0);
    let original = entry(&site.manifest("v"), &server.url("/img")).clone();
    let index_before = site.read("archive/v/index.md");

    phase.store(1, Ordering::SeqCst);
    for _ in 0..2 {
        let out = rotproof(
            args(&["check", "--repair", "--refresh", "--json"]),
            site.path(),
        )
        .await;
        out.code(0);
        let json = out.json();
        assert_eq!(json["results"][0]["result"], "changed");
    }
    let e = entry(&site.manifest("v"), &server.url("/img")).clone();
    assert_eq!(
        e["sha256"], original["sha256"],
        "the archived copy stays the entry's"
    );
    let versions = e["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 1, "one new content, recorded once");
    assert_ne!(versions[0]["sha256"], original["sha256"]);
    let dir = site.path().join("archive/v");
    assert!(dir.join(versions[0]["path"].as_str().unwrap()).is_file());
    assert!(dir.join(original["path"].as_str().unwrap()).is_file());
    assert_eq!(site.read("archive/v/index.md"), index_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_that_cannot_be_repaired_leaves_the_others_repaired_and_the_report_printed() {
    let up = Arc::new(AtomicUsize::new(0));
    let u = up.clone();
    let server = RawServer::start(move |path, _| {
        if u.load(Ordering::SeqCst) == 0 {
            Reply::status(404)
        } else {
            Reply::ok(jpeg(200, 100, seed_of(path)))
        }
    })
    .await;
    let site = Site::new();
    for name in ["a", "b"] {
        site.write(
            &format!("{name}.md"),
            &format!("![]({})\n", server.url(&format!("/{name}.jpg"))),
        );
    }
    rotproof(args(&["archive", "a.md", "b.md"]), site.path())
        .await
        .code(3);
    up.store(1, Ordering::SeqCst);
    // a's original is gone: it cannot be re-archived from it.
    std::fs::remove_file(site.path().join("archive/a/.rotproof/source.md")).unwrap();
    let out = rotproof(args(&["check", "--repair"]), site.path()).await;
    out.code(1);
    assert!(
        out.stdout().contains("recovered"),
        "the report is printed: {}",
        out.stdout()
    );
    assert!(
        out.stdout()
            .contains("repaired archive/b: 1 resources archived now"),
        "{}",
        out.stdout()
    );
    assert!(out.stderr().contains("archive/a"), "{}", out.stderr());
    assert_eq!(
        entry(&site.manifest("b"), &server.url("/b.jpg"))["status"],
        "archived"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_now_answers_an_html_page_is_stored_as_a_version_by_repair_refresh() {
    let phase = Arc::new(AtomicUsize::new(0));
    let p = phase.clone();
    let server = RawServer::start(move |_, _| match p.load(Ordering::SeqCst) {
        0 => Reply::ok(png(16, 16, 40)),
        // 42 bytes of HTML, with 200: a hotlink or error page.
        _ => Reply::ok(&b"<html><body>no hotlinking</body></html>\n\n"[..])
            .with_header("content-type", "text/html"),
    })
    .await;
    let site = Site::new();
    site.write("h.md", &format!("![]({})\n", server.url("/img")));
    rotproof(args(&["archive", "h.md"]), site.path())
        .await
        .code(0);
    let assets = || walk(&site.path().join("archive/h/assets"));
    let before = assets();

    phase.store(1, Ordering::SeqCst);
    for flags in [
        &["check", "--json"][..],
        &["check", "--repair", "--refresh", "--json"],
    ] {
        let out = rotproof(args(flags), site.path()).await;
        out.code_with(3, flags.join(" "));
        let row = &out.json()["results"][0];
        assert_eq!(row["result"], "dead", "{flags:?}: {row}");
        assert!(
            row["error"]
                .as_str()
                .unwrap_or("")
                .contains("not an image (text/html)"),
            "{flags:?}: {row}"
        );
    }
    let e = entry(&site.manifest("h"), &server.url("/img")).clone();
    assert_eq!(e["status"], "archived");
    assert!(
        e["versions"].as_array().is_none_or(|v| v.is_empty()),
        "{e:#}"
    );
    assert_eq!(assets(), before, "nothing new in the published assets/");
    rotproof(args(&["verify"]), site.path()).await.code(0);
}

/// While an `archive` runs, `check` and `verify` over the root skip the
/// posts it holds and go on with the rest; when every post is held, they
/// say nothing was checked and exit 1 (a cron job must learn it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_post_locked_is_exit_0_for_check_and_exit_1_at_the_first_for_verify() {
    let site = Site::new();
    site.write("x.md", "text\n");
    site.write("y.md", "more text\n");
    rotproof(args(&["archive", "x.md", "y.md"]), site.path())
        .await
        .code(0);
    let x = rotproof::store::PostDir::create(&site.path().join("archive/x")).expect("lock");
    let out = rotproof(args(&["verify"]), site.path()).await;
    out.code(0);
    assert!(
        out.stderr().contains("archive/x") && out.stderr().contains("locked"),
        "{}",
        out.stderr()
    );
    assert!(out.stdout().contains("archive/y"), "{}", out.stdout());
    let y = rotproof::store::PostDir::create(&site.path().join("archive/y")).expect("lock");
    for command in ["check", "verify"] {
        let out = rotproof(args(&[command]), site.path()).await;
        out.code_with(1, command);
        assert!(
            out.stderr().contains("every post is locked"),
            "{command}: {}",
            out.stderr()
        );
    }
    drop((x, y));
}

/// Of 30 "dead" on a first check, 10 had a local copy and 20 were never
/// archived; neither the report nor the JSON said which, and with
/// `--json` a dead link reached cron as exit 3 with nothing on stderr (a
/// mail of 0 bytes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_and_kept_is_not_told_from_dead_and_lost_and_cron_mails_nothing() {
    let (server, phase) = phased_server(|path, phase| match (path, phase) {
        ("/kept.png", 0) => Reply::ok(png(20, 20, 1)),
        ("/alive.png", _) => Reply::ok(png(20, 20, 2)),
        _ => Reply::status(404),
    })
    .await;
    let site = Site::new();
    site.write(
        "p.md",
        &format!(
            "![kept]({})\n\n![lost]({})\n\n![alive]({})\n",
            server.url("/kept.png"),
            server.url("/lost.png"),
            server.url("/alive.png")
        ),
    );
    rotproof(args(&["archive", "p.md"]), site.path())
        .await
        .code_with(3, "/lost.png never answered");
    phase.store(1, Ordering::SeqCst);

    let out = rotproof(args(&["check", "--json"]), site.path()).await;
    out.code(3);
    let json = out.json();
    let rows = json["results"].as_array().unwrap();
    assert_eq!(rows[0]["url"], server.url("/lost.png"), "lost first");
    assert_eq!(rows[0]["served"], "lost");
    assert_eq!(rows[1]["url"], server.url("/kept.png"));
    assert_eq!(rows[1]["served"], "kept");
    assert!(rows[2].get("served").is_none(), "only dead rows say it");
    assert_eq!(json["counts"]["dead"], 2);
    assert_eq!(json["counts"]["lost"], 1);
    assert!(
        out.stderr()
            .contains("3 checked: 2 dead (1 lost), 0 changed, 0 recovered, 1 alive"),
        "one line on stderr whatever the format: {}",
        out.stderr()
    );

    let text = rotproof(args(&["check"]), site.path()).await;
    text.code(3);
    let stdout = text.stdout();
    let lost = stdout.find("dead, lost").expect("lost said");
    let kept = stdout.find("dead, kept").expect("kept said");
    assert!(lost < kept, "{stdout}");

    rotproof(args(&["check", "--fail-on", "lost"]), site.path())
        .await
        .code(3);
    rotproof(args(&["check", "--fail-on", "never"]), site.path())
        .await
        .code(0);
    // Once the lost image is gone from the post, only the kept one is
    // dead: exit 0 for `--fail-on lost`, 3 for the default.
    site.write(
        "p.md",
        &format!(
            "![kept]({})\n\n![alive]({})\n",
            server.url("/kept.png"),
            server.url("/alive.png")
        ),
    );
    rotproof(args(&["archive", "p.md"]), site.path())
        .await
        .code(0);
    rotproof(args(&["check", "--fail-on", "lost"]), site.path())
        .await
        .code(0);
    rotproof(args(&["check"]), site.path()).await.code(3);
}

/// The README's crontab line, run as cron runs it: from `/`, with only
/// `HOME` and cron's `PATH=/usr/bin:/bin`, the binary where the README
/// installs it. It never mailed: `--json` printed nothing on stderr, the
/// log folder had to exist, and `rotproof` was not on cron's `PATH`. Cron
/// mails what the line prints: nothing while all is well, the summary
/// when something is dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cron_recipe_never_mails() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let block = readme.split("```cron").nth(1).expect("a cron block");
    let line = block
        .lines()
        .find(|l| l.starts_with("17 * * * *"))
        .expect("the crontab line");
    let command = line
        .splitn(6, ' ')
        .nth(5)
        .expect("a command after the schedule");
    assert!(!command.contains('\''), "quoted below: {command}");

    let (server, phase) = phased_server(|path, phase| match (path, phase) {
        ("/fine.png", _) => Reply::ok(png(20, 20, 1)),
        ("/dies.png", 0) => Reply::ok(png(20, 20, 2)),
        _ => Reply::status(404),
    })
    .await;
    let home = tempfile::tempdir().expect("home");
    let bin = home.path().join(".cargo/bin");
    std::fs::create_dir_all(&bin).expect("bin");
    std::fs::copy(env!("CARGO_BIN_EXE_rotproof"), bin.join("rotproof")).expect("install");
    let cron = |blog: &std::path::Path| {
        let command = command.replace("/srv/blog", &blog.display().to_string());
        shell(
            &format!(
                "cd / && env -i HOME='{}' PATH=/usr/bin:/bin sh -c '{command}'",
                home.path().display()
            ),
            std::path::Path::new("/"),
        )
    };

    let well = Site::new();
    well.write("p.md", &format!("![]({})\n", server.url("/fine.png")));
    rotproof(args(&["archive", "p.md"]), well.path())
        .await
        .code(0);
    let quiet = cron(well.path());
    quiet.code(0);
    assert_eq!(quiet.stdout(), "", "nothing to mail while all is well");
    assert!(
        home.path()
            .join(".local/state/rotproof/check.json")
            .is_file()
    );

    let ill = Site::new();
    ill.write("p.md", &format!("![]({})\n", server.url("/dies.png")));
    rotproof(args(&["archive", "p.md"]), ill.path())
        .await
        .code(0);
    phase.store(1, Ordering::SeqCst);
    let mail = cron(ill.path());
    mail.code(0);
    assert!(
        mail.stdout()
            .contains("rotproof check: 1 checked: 1 dead (0 lost)"),
        "the mail: {:?} (stderr {:?})",
        mail.stdout(),
        mail.stderr()
    );
}

/// `check` sent about 3,000 requests a second to one host (a site's CDN
/// gets the site's address blocked for that): by default it keeps each
/// host to 10 a second; `--per-host-rate 0` lifts the limit. (A lower
/// bound on the time the server sees: the client's spacing makes it, so
/// a loaded machine only makes it longer.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_sends_thousands_of_requests_a_second_to_one_host() {
    use std::sync::Mutex;
    use std::time::Instant;
    let seen: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let s = seen.clone();
    let server = RawServer::start(move |_, _| {
        s.lock().expect("lock").push(Instant::now());
        Reply::ok(b"<html>page</html>".to_vec())
    })
    .await;
    let site = Site::new();
    let body: String = (0..21)
        .map(|i| format!("[l{i}]({})\n\n", server.url(&format!("/l{i}"))))
        .collect();
    site.write("p.md", &body);
    rotproof(args(&["archive", "p.md"]), site.path())
        .await
        .code(0);
    let span = |from: usize| {
        let seen = seen.lock().expect("lock");
        let times = &seen[from..];
        (times.len(), *times.last().unwrap() - times[0])
    };

    let from = seen.lock().unwrap().len();
    rotproof(args(&["check"]), site.path()).await.code(0);
    let (requests, took) = span(from);
    assert!(requests >= 21, "{requests}");
    assert!(
        took >= Duration::from_millis(1800),
        "{requests} requests to one host in {took:?}: more than 10 a second"
    );

    let from = seen.lock().unwrap().len();
    rotproof(args(&["check", "--per-host-rate", "0"]), site.path())
        .await
        .code(0);
    let (requests, _) = span(from);
    assert!(requests >= 21, "unlimited, every link asked: {requests}");
}

/// Not fit for CI: posts were named by slug, with no line, and the only
/// forms were text and JSON. A dead image annotates its post's line;
/// Markdown fits a job summary; JSON names the post by its source path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_is_not_fit_for_ci_posts_named_by_slug_without_lines() {
    let (server, phase) = phased_server(|_, phase| match phase {
        0 => Reply::ok(png(20, 20, 1)),
        _ => Reply::status(404),
    })
    .await;
    let site = Site::new();
    site.write(
        "posts/p.md",
        &format!(
            "---\ntitle: t\n---\n\nText.\n\n![]({})\n",
            server.url("/img.png")
        ),
    );
    rotproof(args(&["archive", "posts"]), site.path())
        .await
        .code(0);
    phase.store(1, Ordering::SeqCst);

    let json = rotproof(args(&["check", "--json"]), site.path()).await;
    json.code(3);
    let row = &json.json()["results"][0];
    assert_eq!(row["post"], "posts/p.md");
    assert_eq!(row["line"], 7);
    assert_eq!(row["lines"], serde_json::json!([7]));

    let github = rotproof(args(&["check", "--format", "github"]), site.path()).await;
    github.code(3);
    let annotation = format!(
        "::warning file=posts/p.md,line=7,title=rotproof%3A dead%2C kept::{} (HTTP 404",
        server.url("/img.png")
    );
    assert!(
        github.stdout().starts_with(&annotation),
        "{}",
        github.stdout()
    );
    assert!(
        github
            .stdout()
            .contains("::notice title=rotproof check::1 checked: 1 dead")
    );

    let markdown = rotproof(args(&["check", "--format", "markdown"]), site.path()).await;
    markdown.code(3);
    assert!(
        markdown
            .stdout()
            .contains("| dead, kept | `posts/p.md:7` |"),
        "{}",
        markdown.stdout()
    );
    let sarif = rotproof(args(&["check", "--format", "sarif"]), site.path()).await;
    sarif.code(3);
    let log = sarif.json();
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "dead-kept");
    let at = &result["locations"][0]["physicalLocation"];
    assert_eq!(at["artifactLocation"]["uri"], "posts/p.md");
    assert_eq!(at["region"]["startLine"], 7);

    let junit = rotproof(args(&["check", "--format", "junit"]), site.path()).await;
    junit.code(3);
    assert!(
        junit
            .stdout()
            .contains("<testsuite name=\"posts/p.md\" tests=\"1\" failures=\"1\""),
        "{}",
        junit.stdout()
    );

    rotproof(
        args(&["check", "--json", "--format", "github"]),
        site.path(),
    )
    .await
    .code(2);
}

/// Every run repeated everything: nothing told what is newly dead since
/// the last check. `--new` lists only what changed state, and `--fail-on
/// new` fails only when something died since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_run_repeats_everything() {
    let (server, phase) = phased_server(|path, phase| match (path, phase) {
        ("/old.png", _) => Reply::status(404),
        (_, 0) => Reply::ok(png(20, 20, 1)),
        _ => Reply::status(404),
    })
    .await;
    let site = Site::new();
    site.write(
        "p.md",
        &format!(
            "![]({})\n\n![]({})\n",
            server.url("/old.png"),
            server.url("/img.png")
        ),
    );
    rotproof(args(&["archive", "p.md"]), site.path())
        .await
        .code(3);
    // The first check: /old.png (failed when archived) is dead, and new.
    rotproof(args(&["check"]), site.path()).await.code(3);

    phase.store(1, Ordering::SeqCst);
    let out = rotproof(args(&["check", "--new", "--json"]), site.path()).await;
    out.code(3);
    let json = out.json();
    let rows = json["results"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "only what died since: {rows:?}");
    assert_eq!(rows[0]["url"], server.url("/img.png"));
    assert_eq!(rows[0]["new"], true);
    assert_eq!(json["counts"]["dead"], 2, "the counts stay the run's");
    assert_eq!(json["counts"]["newly_dead"], 1);
    assert!(
        out.stderr().contains("1 new since the last check"),
        "{}",
        out.stderr()
    );

    // Nothing changed since: nothing new, and --fail-on new passes.
    let again = rotproof(args(&["check", "--new", "--fail-on", "new"]), site.path()).await;
    again.code(0);
    assert!(!again.stdout().contains("dead"), "{}", again.stdout());
    rotproof(args(&["check"]), site.path()).await.code(3);
}
