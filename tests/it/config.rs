//! The config file (the README's "The config file"): discovery, flags winning over
//! it, its errors, URL filters and per-host rules.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::*;
use crate::images::*;
use crate::server::*;

/// Each request's path, headers and arrival time.
type Seen = Arc<Mutex<Vec<(String, Vec<(String, String)>, Instant)>>>;

/// A server that records each request.
struct Recorder {
    server: RawServer,
    seen: Seen,
}

impl Recorder {
    async fn start(delay: Duration) -> Recorder {
        let seen: Seen = Arc::default();
        let s = seen.clone();
        let server = RawServer::start_with(Options::default(), move |r| {
            s.lock()
                .unwrap()
                .push((r.path.clone(), r.headers.clone(), Instant::now()));
            let image = Reply::ok(png(8, 8, seed_of(&r.path)));
            if delay.is_zero() {
                image
            } else {
                Reply::Delayed(delay, Box::new(image))
            }
        })
        .await;
        Recorder { server, seen }
    }

    fn header(&self, path: &str, name: &str) -> Vec<Option<String>> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _, _)| p == path)
            .map(|(_, h, _)| {
                h.iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            })
            .collect()
    }

    fn paths(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _, _)| p.clone())
            .collect()
    }

    fn span(&self) -> Duration {
        let seen = self.seen.lock().unwrap();
        let times: Vec<Instant> = seen.iter().map(|(_, _, t)| *t).collect();
        match (times.iter().min(), times.iter().max()) {
            (Some(a), Some(b)) => *b - *a,
            _ => Duration::ZERO,
        }
    }
}

fn images(server: &RawServer, n: usize) -> String {
    (0..n)
        .map(|i| format!("![]({})\n\n", server.url(&format!("/img/{i}"))))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_errors_name_the_file_line_and_key_and_nothing_is_written() {
    let cases: &[(&str, &[&str])] = &[
        (
            "concurrency = 4\nrefferer = \"none\"\n",
            &["rotproof.toml:2", "refferer"],
        ),
        (
            "exclude = ['(']\n",
            &["rotproof.toml:1", "exclude", "regex"],
        ),
        ("concurrency = \n", &["rotproof.toml:1"]),
        (
            "concurrency = 0\n",
            &["rotproof.toml:1", "concurrency", "out of range"],
        ),
        ("per_host = \"four\"\n", &["rotproof.toml:1", "per_host"]),
        ("links = \"sometimes\"\n", &["rotproof.toml:1", "links"]),
        (
            "\n[hosts.\"a.example\"]\nreferrer = \"none\"\n",
            &["rotproof.toml:3", "referrer"],
        ),
        (
            "[hosts.\"https://a.example/\"]\nconcurrency = 1\n",
            &["rotproof.toml:1", "not a host"],
        ),
        (
            "[hosts.\"a.example\"]\nrequest_interval = \"soon\"\n",
            &["rotproof.toml:2", "request_interval"],
        ),
        (
            "[hosts.\"a.example\"]\nreferer = \"sometimes\"\n",
            &["rotproof.toml:2", "referer"],
        ),
        (
            "[placeholders]\nfiles = [\"gone.png\"]\n",
            &["rotproof.toml:2", "placeholders.files", "gone.png"],
        ),
        ("[[remap]]\npattern = 'x'\n", &["rotproof.toml", "replace"]),
        (
            "[archives]\nuse = [\"wayforward\"]\n",
            &["rotproof.toml:2", "archives.use"],
        ),
        // A wait past --timeout's reach would never end.
        (
            "[hosts.\"a.example\"]\nrequest_interval = \"500000000y\"\n",
            &["rotproof.toml:2", "request_interval", "out of range"],
        ),
        // A regex that compiles to more than a URL pattern ever needs.
        (
            "exclude = ['(a{100}){100}']\n",
            &["rotproof.toml:1", "exclude[0]", "size limit"],
        ),
    ];
    for (text, wanted) in cases {
        let site = Site::new();
        site.write("rotproof.toml", text);
        site.write("p.md", "# nothing to fetch\n");
        let out = rotproof(args(&["archive", "p.md"]), site.path()).await;
        out.code_with(1, text);
        let err = out.stderr();
        for w in *wanted {
            assert!(err.contains(w), "{text:?}: {err:?} should say {w:?}");
        }
        assert_eq!(err.lines().count(), 1, "one line: {err:?}");
        assert!(
            !site.path().join("archive").exists(),
            "{text:?}: nothing written"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_config_file_named_by_flag_is_an_error_naming_it() {
    let site = Site::new();
    site.write("p.md", "# hi\n");
    let out = rotproof(
        args(&["archive", "p.md", "--config", "nope.toml"]),
        site.path(),
    )
    .await;
    out.code(1);
    assert!(out.stderr().contains("nope.toml"), "{}", out.stderr());
    let out = rotproof(args(&["check", "--config", "nope.toml"]), site.path()).await;
    out.code(1);
    assert!(out.stderr().contains("nope.toml"), "{}", out.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_file_is_found_in_order_and_a_flag_on_the_command_line_wins() {
    let rec = Recorder::start(Duration::ZERO).await;
    let site = Site::new();
    let xdg = site.path().join("xdg");
    std::fs::create_dir_all(xdg.join("rotproof")).unwrap();
    std::fs::write(
        xdg.join("rotproof/config.toml"),
        "user_agent = \"from-xdg\"\n",
    )
    .unwrap();
    let xdg_env = xdg.to_string_lossy().to_string();
    let env = [("XDG_CONFIG_HOME", xdg_env.as_str())];
    let ua = |n: usize| rec.header(&format!("/img/{n}"), "user-agent");

    site.write("p0.md", &format!("![]({})\n", rec.server.url("/img/0")));
    rotproof_env(args(&["archive", "p0.md"]), site.path(), &env)
        .await
        .code(0);
    assert_eq!(ua(0), vec![Some("from-xdg".to_string())]);

    site.write("rotproof.toml", "user_agent = \"from-here\"\n");
    site.write("p1.md", &format!("![]({})\n", rec.server.url("/img/1")));
    rotproof_env(args(&["archive", "p1.md"]), site.path(), &env)
        .await
        .code(0);
    assert_eq!(ua(1), vec![Some("from-here".to_string())]);

    site.write("other.toml", "user_agent = \"from-flag-file\"\n");
    site.write("p2.md", &format!("![]({})\n", rec.server.url("/img/2")));
    rotproof_env(
        args(&["archive", "p2.md", "--config", "other.toml"]),
        site.path(),
        &env,
    )
    .await
    .code(0);
    assert_eq!(ua(2), vec![Some("from-flag-file".to_string())]);

    site.write("p3.md", &format!("![]({})\n", rec.server.url("/img/3")));
    rotproof_env(
        args(&["archive", "p3.md", "--user-agent", "from-cli"]),
        site.path(),
        &env,
    )
    .await
    .code(0);
    assert_eq!(ua(3), vec![Some("from-cli".to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exclude_and_include_leave_urls_out_as_skipped_with_the_reason() {
    let rec = Recorder::start(Duration::ZERO).await;
    let site = Site::new();
    site.write(
        "rotproof.toml",
        "exclude = ['/ads/']\ninclude = ['/img/', '/ads/']\n",
    );
    let urls = ["/img/1", "/ads/1", "/other/1"].map(|p| rec.server.url(p));
    site.write(
        "p.md",
        &urls
            .iter()
            .map(|u| format!("![]({u})\n\n"))
            .collect::<String>(),
    );
    rotproof(args(&["archive", "p.md"]), site.path())
        .await
        .code(0);
    assert_eq!(rec.paths(), vec!["/img/1".to_string()]);
    let m = site.manifest("p");
    assert_eq!(entry(&m, &urls[0])["status"], "archived");
    for (url, reason) in [(&urls[1], "exclude"), (&urls[2], "include")] {
        let e = entry(&m, url);
        assert_eq!(e["status"], "skipped", "{e:#}");
        assert!(e["error"].as_str().unwrap_or("").contains(reason), "{e:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_headers_go_to_their_host_only() {
    let here = Recorder::start(Duration::ZERO).await;
    let there = Recorder::start(Duration::ZERO).await;
    // The same server seen under another name is another host.
    let elsewhere = there.server.url("/img/2").replace("127.0.0.1", "localhost");
    let site = Site::new();
    // Plain http on loopback: allowed by `insecure` (see the test below).
    site.write(
        "rotproof.toml",
        "[hosts.\"127.0.0.1\"]\ninsecure = true\nheaders = { X-Token = \"s3cret\", Cookie = \"a=b\" }\n",
    );
    site.write(
        "p.md",
        &format!("![]({})\n\n![]({elsewhere})\n", here.server.url("/img/1")),
    );
    rotproof(args(&["archive", "p.md"]), site.path())
        .await
        .code(0);
    assert_eq!(
        here.header("/img/1", "x-token"),
        vec![Some("s3cret".to_string())]
    );
    assert_eq!(
        here.header("/img/1", "cookie"),
        vec![Some("a=b".to_string())]
    );
    assert_eq!(there.header("/img/2", "x-token"), vec![None]);
    assert_eq!(there.header("/img/2", "cookie"), vec![None]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_rule_limits_requests_in_flight_and_spaces_them() {
    let slow = Recorder::start(Duration::from_millis(100)).await;
    let site = Site::new();
    site.write("rotproof.toml", "[hosts.\"127.0.0.1\"]\nconcurrency = 1\n");
    site.write("p.md", &images(&slow.server, 6));
    // The host's own limit holds whatever --per-host says.
    rotproof(args(&["archive", "p.md", "--per-host", "8"]), site.path())
        .await
        .code(0);
    assert_eq!(slow.server.max_in_flight(), 1);

    let spaced = Recorder::start(Duration::ZERO).await;
    let site = Site::new();
    site.write(
        "rotproof.toml",
        "[hosts.\"*.0.0.1\"]\nrequest_interval = \"200ms\"\n",
    );
    site.write("p.md", &images(&spaced.server, 5));
    rotproof(args(&["archive", "p.md"]), site.path())
        .await
        .code(0);
    assert_eq!(spaced.paths().len(), 5);
    // Five starts at least 200 ms apart: 800 ms from the first to the last
    // as rotproof sends them. As the server sees them, a connection's
    // setup can shift one arrival a little: a bound of three intervals
    // (without the rule, all five arrive within a few ms; a slow machine
    // only makes the span longer).
    assert!(
        spaced.span() >= Duration::from_millis(600),
        "{:?}",
        spaced.span()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_value_is_an_error_even_where_the_command_line_overrides_it_or_another_command_takes_it()
 {
    let cases: &[(&str, &[&str], &str)] = &[
        ("links = \"sometimes\"\n", &["--links", "ignore"], "links"),
        ("stale_after = \"soon\"\n", &[], "stale_after"),
        ("slug = \"x\"\n", &[], "command line"),
    ];
    for (text, extra, key) in cases {
        let site = Site::new();
        site.write("rotproof.toml", text);
        site.write("p.md", "# nothing to fetch\n");
        let mut list = vec!["archive", "p.md"];
        list.extend_from_slice(extra);
        let out = rotproof(args(&list), site.path()).await;
        out.code_with(1, text);
        let err = out.stderr();
        assert!(
            err.contains("rotproof.toml:1") && err.contains(key),
            "{text}: {err}"
        );
        assert!(
            !site.path().join("archive").exists(),
            "{text}: nothing written"
        );
    }
}

/// The user's own file says `deny_private = true` and `[archives] use =
/// ["none"]`; a cloned repository's `./rotproof.toml` says otherwise and
/// brings its own proxy. Both files are read (the folder's over the
/// user's, key by key), the folder's can never lower `deny_private` nor
/// set a proxy unless the user allows it, and the run says which files
/// it read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folders_rotproof_toml_silently_replaces_the_users_own_config() {
    let server = RawServer::start(|_, _| Reply::ok(png(8, 8, 1))).await;
    let site = Site::new();
    let xdg = site.path().join("xdg");
    std::fs::create_dir_all(xdg.join("rotproof")).unwrap();
    std::fs::write(
        xdg.join("rotproof/config.toml"),
        "deny_private = true\n[archives]\nuse = [\"none\"]\n",
    )
    .unwrap();
    let xdg = xdg.to_string_lossy().to_string();
    let env = [("XDG_CONFIG_HOME", xdg.as_str())];
    site.write("p.md", &format!("![]({})\n", server.url("/x.png")));

    site.write(
        "rotproof.toml",
        "deny_private = false\nuser_agent = \"repo\"\n",
    );
    let out = rotproof_env(args(&["archive", "p.md", "--json"]), site.path(), &env).await;
    out.code(3);
    let json = out.json();
    let files: Vec<String> = json["config_files"]
        .as_array()
        .expect("config_files")
        .iter()
        .map(|f| f["source"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(files, ["yours", "this folder's"], "{json:#}");
    assert_failed(
        &site.manifest("p"),
        &server.url("/x.png"),
        "private address refused",
    );
    assert_eq!(server.total_hits(), 0, "deny_private held");

    // A proxy (or a CA) from the folder's file is refused, naming why.
    site.write("rotproof.toml", "proxy = \"http://127.0.0.1:9\"\n");
    let out = rotproof_env(args(&["archive", "p.md"]), site.path(), &env).await;
    out.code(1);
    assert!(
        out.stderr().contains("rotproof.toml:1: proxy"),
        "{}",
        out.stderr()
    );
    assert!(
        out.stderr().contains("trust_local_config"),
        "{}",
        out.stderr()
    );
    site.write(
        "rotproof.toml",
        "[archives]\nwayback = \"http://127.0.0.1:9\"\n",
    );
    let out = rotproof_env(args(&["archive", "p.md"]), site.path(), &env).await;
    out.code(1);
    assert!(
        out.stderr().contains("archives.wayback"),
        "{}",
        out.stderr()
    );
    // The folder's file cannot trust itself; the user can trust it.
    site.write(
        "rotproof.toml",
        "trust_local_config = true\nproxy = \"http://127.0.0.1:9\"\n",
    );
    rotproof_env(args(&["archive", "p.md"]), site.path(), &env)
        .await
        .code(1);
    site.write("rotproof.toml", "user_agent = \"repo\"\n");
    let out = rotproof_env(
        args(&["archive", "p.md", "--trust-local-config"]),
        site.path(),
        &env,
    )
    .await;
    out.code(3);
    assert!(out.stdout().contains("config: "), "{}", out.stdout());
}

/// A rule's Cookie for a host goes only over https: never to an `http://`
/// URL of that host in a post, nor after a redirect that changes scheme or
/// port (curl's CVE-2022-27776), unless the rule says `insecure = true`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_headers_go_out_in_clear_text() {
    let plain = Recorder::start(Duration::ZERO).await;
    let port_change = RawServer::start_with(Options::default(), {
        let to = plain.server.url("/img/9");
        move |_| Reply::status(302).with_header("Location", &to)
    })
    .await;
    let site = Site::new();
    site.write(
        "rotproof.toml",
        "[hosts.\"127.0.0.1\"]\nheaders = { Cookie = \"session=s3cret\" }\n",
    );
    site.write(
        "p.md",
        &format!(
            "![]({})\n\n![]({})\n",
            plain.server.url("/img/1"),
            port_change.url("/moved")
        ),
    );
    rotproof(args(&["archive", "p.md"]), site.path())
        .await
        .code(0);
    assert_eq!(
        plain.header("/img/1", "cookie"),
        vec![None],
        "not over http"
    );
    assert_eq!(
        plain.header("/img/9", "cookie"),
        vec![None],
        "not across a port change"
    );
    // Allowed by the rule: over http, on the URL the post named only.
    site.write(
        "rotproof.toml",
        "[hosts.\"127.0.0.1\"]\ninsecure = true\nheaders = { Cookie = \"session=s3cret\" }\n",
    );
    site.write(
        "q.md",
        &format!(
            "![]({})\n\n![]({})\n",
            plain.server.url("/img/2"),
            port_change.url("/moved2")
        ),
    );
    rotproof(args(&["archive", "q.md"]), site.path())
        .await
        .code(0);
    assert_eq!(
        plain.header("/img/2", "cookie"),
        vec![Some("session=s3cret".to_string())]
    );
    assert_eq!(
        plain.header("/img/9", "cookie").last(),
        Some(&None),
        "never across a port change"
    );
}

/// 3,000 `exclude` patterns once took 7.1 GB: a list has at most 1,000,
/// each bounded in size, and more is a clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configs_regex_set_has_no_total_size_limit() {
    let site = Site::new();
    let list: Vec<String> = (0..3000)
        .map(|i| format!("'^https://ads{i}\\.example/'"))
        .collect();
    site.write(
        "rotproof.toml",
        &format!("exclude = [{}]\n", list.join(", ")),
    );
    site.write("p.md", "# nothing\n");
    let out = rotproof(args(&["archive", "p.md"]), site.path()).await;
    out.code(1);
    assert!(
        out.stderr().contains("more than 1000 patterns"),
        "{}",
        out.stderr()
    );
}
