//! Fetching end to end: faults fail alone with a clear reason and the
//! retries the README promises, per-host limits, headers (and where they may go),
//! proxies, addresses refused, descriptors at scale, bad flags.

use std::time::Duration;

use crate::harness::*;
use crate::images::*;
use crate::server::*;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

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
        let seed = seed_of(path);
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
async fn redirects_into_the_machine_or_a_metadata_service_are_refused() {
    // Through a proxy, a public-looking host redirects to loopback and to
    // the cloud metadata address; neither is ever asked.
    let secrets = RawServer::start(|_, _| Reply::ok(b"root:secret".to_vec())).await;
    let into_loopback = secrets.url("/admin/secrets");
    let proxy = RawServer::start(move |path, _| match path {
        "http://cdn.rotproof.invalid/local" => {
            Reply::status(302).with_header("Location", &into_loopback)
        }
        "http://cdn.rotproof.invalid/metadata" => Reply::status(301).with_header(
            "Location",
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/role",
        ),
        _ => Reply::status(404),
    })
    .await;
    let site = Site::new();
    site.write(
        "r.md",
        "[a](http://cdn.rotproof.invalid/local) [b](http://cdn.rotproof.invalid/metadata)\n",
    );
    let out = rotproof(
        args(&["archive", "r.md", "--proxy", &proxy.base, "--retries", "0"]),
        site.path(),
    )
    .await;
    out.code(3);
    let m = site.manifest("r");
    assert_failed(
        &m,
        "http://cdn.rotproof.invalid/local",
        "private address refused",
    );
    assert_failed(
        &m,
        "http://cdn.rotproof.invalid/metadata",
        "private address refused",
    );
    assert_eq!(
        secrets.total_hits(),
        0,
        "the loopback service was never asked"
    );
    assert_eq!(
        proxy.hits("http://169.254.169.254/latest/meta-data/iam/security-credentials/role"),
        0
    );
    assert!(walk(&site.path().join("archive/r/.rotproof/pages")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_private_refuses_a_loopback_post_link_before_any_request() {
    let server = RawServer::start(|_, _| Reply::ok(jpeg(100, 100, 1))).await;
    let site = Site::new();
    site.write("d.md", &format!("![]({})\n", server.url("/x.jpg")));
    let out = rotproof(args(&["archive", "d.md", "--deny-private"]), site.path()).await;
    out.code(3);
    assert_failed(
        &site.manifest("d"),
        &server.url("/x.jpg"),
        "private address refused",
    );
    assert_eq!(server.total_hits(), 0);
}

/// A post of a million dead links held every failure twice (its
/// manifest's entry and the run's report) and printed a million lines:
/// the report lists the first thousand and counts the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_holds_every_failure_of_a_post_of_dead_links() {
    let site = Site::new();
    let post: String = (0..1005)
        .map(|i| format!("- [l{i}](http://127.0.0.1:9/p/{i})\n"))
        .collect();
    site.write("dead.md", &post);
    let out = rotproof(
        args(&["archive", "dead.md", "--deny-private", "--json"]),
        site.path(),
    )
    .await;
    out.code(3);
    let summary = out.json();
    assert_eq!(summary["counts"]["failed"], 1005);
    let listed = summary["posts"][0]["failures"].as_array().unwrap();
    assert_eq!(listed.len(), 1000);
    assert_eq!(listed[0]["url"], "http://127.0.0.1:9/p/0");
    assert_eq!(summary["posts"][0]["failures_not_listed"], 5);
    let manifest = site.manifest("dead");
    assert_eq!(manifest["resources"].as_array().unwrap().len(), 1005);

    let out = rotproof(args(&["archive", "dead.md", "--deny-private"]), site.path()).await;
    out.code(3);
    let lines = out
        .stdout()
        .lines()
        .filter(|l| l.contains("  failed  "))
        .count();
    assert_eq!(lines, 1000);
    assert!(
        out.stdout().contains("… and 5 more failed"),
        "{}",
        out.stdout()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_stay_with_their_host_and_redirects_carry_no_referer_or_credentials() {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<Request>>> = Arc::default();
    let other = {
        let seen = seen.clone();
        RawServer::start_with(Options::default(), move |r| {
            seen.lock().expect("lock").push(r.clone());
            Reply::ok(b"<html>elsewhere</html>".to_vec())
        })
        .await
    };
    let target = format!(
        "http://user:hunter2@{}/landing?session=1",
        other.base.trim_start_matches("http://")
    );
    let named = {
        let seen = seen.clone();
        RawServer::start_with(Options::default(), move |r| {
            seen.lock().expect("lock").push(r.clone());
            Reply::status(302).with_header("Location", &target)
        })
        .await
    };
    let site = Site::new();
    site.write(
        "h.md",
        &format!("[a]({})\n", named.url("/start?session=abc")),
    );
    rotproof(
        args(&[
            "archive",
            "h.md",
            "--header",
            "X-Api-Key: k123",
            "--header",
            "Cookie: a=b",
        ]),
        site.path(),
    )
    .await
    .code(0);
    let requests = seen.lock().expect("lock").clone();
    let first = requests
        .iter()
        .find(|r| r.path.starts_with("/start"))
        .expect("first hop");
    assert_eq!(
        first.header("x-api-key"),
        Some("k123"),
        "the post's own host gets it"
    );
    let hop = requests
        .iter()
        .find(|r| r.path.starts_with("/landing"))
        .expect("redirected");
    for name in ["x-api-key", "cookie", "authorization", "referer"] {
        assert_eq!(
            hop.header(name),
            None,
            "{name} followed the redirect to another host"
        );
    }
    let m = site.manifest("h");
    let e = entry(&m, &named.url("/start?session=abc"));
    let final_url = e["final_url"].as_str().expect("final_url");
    assert!(
        !final_url.contains("hunter2") && !final_url.contains("user@"),
        "{final_url}"
    );
    let all = walk(&site.path().join("archive/h"))
        .into_iter()
        .map(|p| std::fs::read(p).unwrap_or_default())
        .any(|bytes| String::from_utf8_lossy(&bytes).contains("hunter2"));
    assert!(!all, "credentials recorded in the post folder");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_naming_1500_hosts_completes_under_a_1024_descriptor_limit() {
    // The servers live in this process: it needs more than 1024 itself.
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        let want = limit.maximum.map_or(16_384, |max| max.min(16_384));
        if limit.current.is_some_and(|c| c < want) {
            let _ = setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(want),
                    ..limit
                },
            );
        }
    }
    let mut servers = Vec::new();
    // Keep-alive servers, as real ones are: a client that keeps every
    // idle connection runs out of descriptors.
    let keep_alive = Options {
        keep_alive: true,
        ..Options::default()
    };
    for _ in 0..1500 {
        servers.push(
            RawServer::start_with(keep_alive, |_| Reply::ok(b"<html>a page</html>".to_vec())).await,
        );
    }
    let site = Site::new();
    let body: String = servers
        .iter()
        .enumerate()
        .map(|(i, s)| format!("[page {i}]({})\n\n", s.url("/p")))
        .collect();
    site.write("hosts.md", &body);
    let bin = env!("CARGO_BIN_EXE_rotproof");
    let archived = shell(
        &format!("ulimit -n 1024 && exec {bin} archive hosts.md -q"),
        site.path(),
    );
    archived.code(0);
    let m = site.manifest("hosts");
    let resources = m["resources"].as_array().expect("resources");
    assert_eq!(resources.len(), 1500);
    assert!(resources.iter().all(|e| e["status"] == "archived"));
    shell(
        &format!("ulimit -n 1024 && exec {bin} check -q"),
        site.path(),
    )
    .code(0);
    let m = site.manifest("hosts");
    assert!(
        m["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .all(|e| e["checks"].as_array().map(Vec::len) == Some(1)),
        "every result recorded"
    );
}

/// Two hosts each allowed one request at a time, one host's images listed
/// first: the second host's first request must not wait behind the first
/// host's queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_listed_first_holds_back_every_other_host() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    // Every request of both servers numbered in the order it arrived.
    let seq = Arc::new(AtomicUsize::new(0));
    let arrivals: Arc<Mutex<Vec<(char, usize)>>> = Arc::default();
    let start = |name: char| {
        let (seq, arrivals) = (seq.clone(), arrivals.clone());
        RawServer::start(move |_, _| {
            let n = seq.fetch_add(1, Ordering::SeqCst);
            arrivals.lock().unwrap().push((name, n));
            Reply::Delayed(
                Duration::from_millis(300),
                Box::new(Reply::ok(png(8, 8, n as u8))),
            )
        })
    };
    let (a, b) = (start('a').await, start('b').await);
    let site = Site::new();
    site.write("rotproof.toml", "[hosts.\"127.0.0.1\"]\nconcurrency = 1\n");
    let mut post = String::new();
    for server in [&a, &b] {
        for i in 0..6 {
            post.push_str(&format!("![]({})\n\n", server.url(&format!("/{i}.png"))));
        }
    }
    site.write("p.md", &post);
    rotproof(
        args(&["archive", "p.md", "--concurrency", "4"]),
        site.path(),
    )
    .await
    .code(0);
    let arrivals = arrivals.lock().unwrap().clone();
    let nth = |name: char, k: usize| {
        arrivals
            .iter()
            .filter(|(n, _)| *n == name)
            .nth(k)
            .map(|(_, seq)| *seq)
    };
    assert_eq!(arrivals.len(), 12);
    assert!(
        nth('b', 0) < nth('a', 1),
        "b's first request came after a's second: {arrivals:?}"
    );
}

/// A host outside the machine (a server on 127.0.0.2, counted as public
/// through the debug builds' test seam) redirects into the machine: to a
/// name that resolves to 127.0.0.1 (a wildcard-DNS name, as
/// `metadata.google.internal` is for its address), to `0.0.0.0` and to
/// `[::]`; and a web archive there redirects its capture into the machine.
/// Nothing inside is ever asked, nothing is stored, no memento recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_protection_is_bypassed_by_names_and_by_0_0_0_0_and_v6_unspecified() {
    let secrets = RawServer::start(|_, _| Reply::ok(b"db_password=hunter2".to_vec())).await;
    let port = secrets.base.rsplit(':').next().unwrap().to_string();
    let inside = format!("http://inside.rotproof.test:{port}/admin");
    let zero = format!("http://0.0.0.0:{port}/admin");
    let v6 = format!("http://[::]:{port}/admin");
    let outside = RawServer::start_with(
        Options {
            bind: Some("127.0.0.2".parse().unwrap()),
            ..Options::default()
        },
        move |r| {
            let to = match r.path.as_str() {
                "/name" => inside.clone(),
                "/zero" => zero.clone(),
                "/v6" => v6.clone(),
                p if p.starts_with("/web/") => format!("http://0.0.0.0:{port}{p}"),
                _ => return Reply::status(404),
            };
            Reply::status(302).with_header("Location", &to)
        },
    )
    .await;
    let site = Site::new();
    let links: String = ["/name", "/zero", "/v6"]
        .iter()
        .map(|p| format!("[x]({})\n\n", outside.url(p)))
        .collect();
    site.write(
        "r.md",
        &format!("{links}![gone]({})\n", outside.url("/gone.png")),
    );
    site.write_user_config(&format!("[archives]\nwayback = \"{}\"\n", outside.base));
    let out = rotproof_env(
        args(&["archive", "r.md", "--retries", "0", "--archives", "wayback"]),
        site.path(),
        &[
            ("ROTPROOF_TEST_PUBLIC", "127.0.0.2"),
            ("ROTPROOF_TEST_DNS", "inside.rotproof.test=127.0.0.1"),
        ],
    )
    .await;
    out.code(3);
    let m = site.manifest("r");
    for p in ["/name", "/zero", "/v6"] {
        assert_failed(&m, &outside.url(p), "private address refused");
    }
    let gone = entry(&m, &outside.url("/gone.png"));
    assert_eq!(gone["status"], "failed", "{gone:#}");
    assert!(gone["recovered_from"].is_null(), "{gone:#}");
    assert_eq!(
        secrets.total_hits(),
        0,
        "nothing inside the machine was asked"
    );
    let kept: Vec<_> = walk(&site.path().join("archive/r"))
        .into_iter()
        .filter(|p| std::fs::read(p).is_ok_and(|b| String::from_utf8_lossy(&b).contains("hunter2")))
        .collect();
    assert!(kept.is_empty(), "{kept:?}");
}

/// A body whose chunked framing is broken, with nothing compressed: the
/// failure says the transfer broke, not that it would not decompress.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cannot_decompress_the_body_when_nothing_was_compressed() {
    let server = RawServer::start(|_, _| {
        Reply::Raw(
            b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
                .to_vec(),
        )
    })
    .await;
    let site = Site::new();
    site.write("c.md", &format!("![]({})\n", server.url("/c.png")));
    rotproof(args(&["archive", "c.md", "--retries", "0"]), site.path())
        .await
        .code(3);
    let e = entry(&site.manifest("c"), &server.url("/c.png")).clone();
    let error = e["error"].as_str().unwrap_or("");
    assert!(!error.contains("decompress"), "{error}");
    assert_eq!(e["status"], "failed");
}
