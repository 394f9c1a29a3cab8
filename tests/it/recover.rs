//! Recovering what has already rotted (the README's "Web archives", `check
//! --repair --repair-links`), against the fake web archive. Every run
//! here names the archive on loopback; the harness's default is
//! `--archives none`, so no test can reach a real one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::harness::*;
use crate::images::*;
use crate::server::*;
use crate::web_archive::WebArchive;

/// The origin: `/img/1` 404, `/img/2` 410, `/img/3` an HTML page (a
/// hotlink page), `/alive.jpg` an image, `/article` a page until
/// `kill_article`, then 404.
struct Origin {
    server: RawServer,
    article_dead: Arc<AtomicBool>,
}

impl Origin {
    async fn start() -> Origin {
        let dead = Arc::new(AtomicBool::new(false));
        let d = dead.clone();
        let server = RawServer::start(move |path, _| match path {
            "/img/2" => Reply::status(410),
            "/img/3" => Reply::ok("<html><body>no hotlinking</body></html>")
                .with_header("Content-Type", "text/html"),
            "/alive.jpg" => Reply::ok(jpeg(64, 48, 5)),
            "/article" if !d.load(Ordering::SeqCst) => {
                Reply::ok("<html><body><p>the source article</p></body></html>")
            }
            _ => Reply::status(404),
        })
        .await;
        Origin {
            server,
            article_dead: dead,
        }
    }

    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    fn kill_article(&self) {
        self.article_dead.store(true, Ordering::SeqCst);
    }
}

fn post(origin: &Origin) -> String {
    format!(
        "---\ntitle: a repost\ndate: 2021-06-01\n---\n\n![one]({})\n\n![two]({})\n\n![three]({})\n\n![alive]({})\n\n[source]({})\n",
        origin.url("/img/1"),
        origin.url("/img/2"),
        origin.url("/img/3"),
        origin.url("/alive.jpg"),
        origin.url("/article"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_resources_are_recovered_from_the_capture_closest_to_the_post_date() {
    let origin = Origin::start().await;
    let archive = WebArchive::start().await;
    let older = jpeg(80, 60, 1);
    let closest = jpeg(80, 60, 2);
    archive.capture(&origin.url("/img/1"), "20190101000000", older.clone());
    archive.capture(&origin.url("/img/1"), "20210520083000", closest.clone());
    archive.capture(&origin.url("/img/1"), "20240101000000", jpeg(80, 60, 3));
    archive.capture(&origin.url("/img/2"), "20200101000000", png(30, 20, 4));
    archive.capture(&origin.url("/img/3"), "20200101000000", png(30, 20, 6));
    archive.capture(
        &origin.url("/article"),
        "20210101000000",
        b"<html>old</html>".to_vec(),
    );
    let site = Site::new();
    site.write_user_config(&archive.config());
    site.write("p.md", &post(&origin));
    origin.kill_article();

    let out = rotproof(
        args(&["archive", "p.md", "--archives", "wayback"]),
        site.path(),
    )
    .await;
    out.code(0);
    assert!(
        out.stdout()
            .contains("4 recovered from web archives (wayback 4)"),
        "{}",
        out.stdout()
    );
    let m = site.manifest("p");
    let e = entry(&m, &origin.url("/img/1"));
    assert_eq!(e["status"], "archived", "{e:#}");
    let stored = std::fs::read(
        site.path()
            .join("archive/p")
            .join(e["path"].as_str().unwrap()),
    )
    .unwrap();
    assert_eq!(stored, closest, "the capture closest to 2021-06-01");
    let from = &e["recovered_from"];
    assert_eq!(from["archive"], "wayback");
    assert_eq!(
        from["memento_url"],
        format!(
            "{}/web/20210520083000/{}",
            archive.server.base,
            origin.url("/img/1")
        )
    );
    assert_eq!(from["memento_datetime"], "2021-05-20T08:30:00Z");
    for path in ["/img/2", "/img/3", "/article"] {
        let e = entry(&m, &origin.url(path));
        assert_eq!(e["status"], "archived", "{path}: {e:#}");
        assert_eq!(e["recovered_from"]["archive"], "wayback", "{path}");
    }
    // What answered was never looked up; what was gone was asked at the
    // post's date.
    let asked = archive.paths();
    assert!(!asked.iter().any(|p| p.contains("alive.jpg")), "{asked:?}");
    assert!(
        asked
            .iter()
            .any(|p| p.starts_with("/web/20210601000000id_/")),
        "{asked:?}"
    );
    assert!(entry(&m, &origin.url("/alive.jpg"))["recovered_from"].is_null());
    // index.md points at the local files; the link keeps its URL.
    let index = site.read("archive/p/index.md");
    assert!(!index.contains(&origin.url("/img/1")), "{index}");
    assert!(
        index.contains(&format!("[source]({})", origin.url("/article"))),
        "{index}"
    );
    rotproof(args(&["verify"]), site.path()).await.code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_none_asks_nothing_and_the_flag_wins_over_the_config() {
    let origin = Origin::start().await;
    let archive = WebArchive::start().await;
    archive.capture(&origin.url("/img/1"), "20210101000000", jpeg(8, 8, 1));
    let site = Site::new();
    site.write_user_config(&format!("{}use = [\"wayback\"]\n", archive.config()));
    site.write("p.md", &format!("![]({})\n", origin.url("/img/1")));
    let out = rotproof(
        args(&["archive", "p.md", "--archives", "none"]),
        site.path(),
    )
    .await;
    out.code(3);
    assert_failed(&site.manifest("p"), &origin.url("/img/1"), "404");
    assert!(archive.paths().is_empty(), "{:?}", archive.paths());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memento_timegate_is_asked_with_accept_datetime() {
    let origin = Origin::start().await;
    let archive = WebArchive::start().await;
    let bytes = png(40, 30, 9);
    archive.capture(&origin.url("/img/1"), "20210530000000", bytes.clone());
    archive.capture(&origin.url("/img/1"), "20230101000000", png(40, 30, 10));
    let site = Site::new();
    site.write_user_config(&archive.config());
    site.write(
        "p.md",
        &format!(
            "---\ndate: 2021-06-01T08:00:00+08:00\n---\n![]({})\n",
            origin.url("/img/1")
        ),
    );
    let out = rotproof(
        args(&["archive", "p.md", "--archives", "memento"]),
        site.path(),
    )
    .await;
    out.code(0);
    assert_eq!(
        archive.accept_datetimes(),
        vec!["Tue, 01 Jun 2021 00:00:00 GMT".to_string()]
    );
    let m = site.manifest("p");
    let e = entry(&m, &origin.url("/img/1"));
    assert_eq!(e["recovered_from"]["archive"], "memento");
    assert_eq!(
        e["recovered_from"]["memento_url"],
        format!(
            "{}/memento/20210530000000/{}",
            archive.server.base,
            origin.url("/img/1")
        )
    );
    let stored = std::fs::read(
        site.path()
            .join("archive/p")
            .join(e["path"].as_str().unwrap()),
    )
    .unwrap();
    assert_eq!(stored, bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_from_an_archive_is_retried_after_its_retry_after() {
    let origin = Origin::start().await;
    let archive = WebArchive::start().await;
    archive.capture(&origin.url("/img/2"), "20210101000000", png(20, 20, 3));
    archive.busy(2);
    let site = Site::new();
    site.write_user_config(&archive.config());
    site.write("p.md", &format!("![]({})\n", origin.url("/img/2")));
    let out = rotproof(
        args(&["archive", "p.md", "--archives", "wayback"]),
        site.path(),
    )
    .await;
    out.code(0);
    let m = site.manifest("p");
    let e = entry(&m, &origin.url("/img/2"));
    assert_eq!(e["status"], "archived", "{e:#}");
    // Two refusals, then the request and its redirect hop.
    assert!(archive.paths().len() >= 3, "{:?}", archive.paths());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_repair_recovers_what_died_and_points_dead_links_where_asked() {
    let origin = Origin::start().await;
    let archive = WebArchive::start().await;
    let site = Site::new();
    site.write_user_config(&archive.config());
    let text = format!(
        "---\ndate: 2021-06-01\n---\n\n![one]({}) and [the source]({} \"title\").\n",
        origin.url("/img/1"),
        origin.url("/article"),
    );
    site.write("p.md", &text);
    // Archived with no archive: the image fails, the article is copied.
    rotproof(args(&["archive", "p.md"]), site.path())
        .await
        .code(3);
    let before = site.read("archive/p/index.md");
    assert_eq!(before, text, "nothing archived, nothing rewritten");

    archive.capture(&origin.url("/img/1"), "20210101000000", jpeg(40, 30, 7));
    archive.capture(
        &origin.url("/article"),
        "20210301000000",
        b"<html>then</html>".to_vec(),
    );
    origin.kill_article();
    let repair = |links: &'static str| {
        let dir = site.path().to_path_buf();
        async move {
            rotproof(
                args(&[
                    "check",
                    "--repair",
                    "--archives",
                    "wayback",
                    "--repair-links",
                    links,
                ]),
                &dir,
            )
            .await
        }
    };
    let out = repair("archive").await;
    out.code(3);
    assert!(
        out.stdout()
            .contains("1 resources archived now, 1 dead links pointed at their mementos"),
        "{}",
        out.stdout()
    );
    let m = site.manifest("p");
    let image = entry(&m, &origin.url("/img/1"));
    assert_eq!(image["status"], "archived", "{image:#}");
    assert_eq!(image["recovered_from"]["archive"], "wayback");
    let image_path = image["path"].as_str().unwrap().to_string();
    let link = entry(&m, &origin.url("/article"));
    let memento = format!(
        "{}/web/20210301000000/{}",
        archive.server.base,
        origin.url("/article")
    );
    assert_eq!(link["memento"]["memento_url"], memento, "{link:#}");
    let expect = |img: &str, href: &str| {
        format!("---\ndate: 2021-06-01\n---\n\n![one]({img}) and [the source]({href} \"title\").\n")
    };
    assert_eq!(
        site.read("archive/p/index.md"),
        expect(&image_path, &memento)
    );
    // The same repair again changes nothing, and says nothing of the post
    // (it printed "repaired archive/p: 0 resources archived now, 1 dead
    // links pointed …" on every run).
    let again = repair("archive").await;
    again.code(3);
    assert!(!again.stdout().contains("repaired"), "{}", again.stdout());
    assert_eq!(
        site.read("archive/p/index.md"),
        expect(&image_path, &memento)
    );

    repair("local").await.code(3);
    let copy = link["path"].as_str().unwrap().to_string();
    assert!(copy.starts_with(".rotproof/pages/"), "{copy}");
    assert_eq!(site.read("archive/p/index.md"), expect(&image_path, &copy));

    repair("keep").await.code(3);
    assert_eq!(
        site.read("archive/p/index.md"),
        expect(&image_path, &origin.url("/article"))
    );
    // A plain re-archive keeps what the last repair said.
    repair("archive").await.code(3);
    rotproof(
        args(&["archive", "archive/p/.rotproof/source.md", "--slug", "p"]),
        site.path(),
    )
    .await
    .code(0);
    assert_eq!(
        site.read("archive/p/index.md"),
        expect(&image_path, &memento)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_carry_robust_links_to_the_copy_or_the_memento() {
    let origin = Origin::start().await;
    let archive = WebArchive::start().await;
    archive.capture(
        &origin.url("/article"),
        "20210301000000",
        b"<html>then</html>".to_vec(),
    );
    let site = Site::new();
    site.write_user_config(&archive.config());
    site.write(
        "p.md",
        &format!(
            "---\ndate: 2021-06-01\n---\n\n[the source]({})\n",
            origin.url("/article")
        ),
    );
    rotproof(args(&["archive", "p.md"]), site.path())
        .await
        .code(0);
    origin.kill_article();
    rotproof(
        args(&["check", "--repair", "--archives", "wayback"]),
        site.path(),
    )
    .await
    .code(3);
    let m = site.manifest("p");
    let link = entry(&m, &origin.url("/article"));
    let copy = link["path"].as_str().unwrap().to_string();
    let memento = format!(
        "{}/web/20210301000000/{}",
        archive.server.base,
        origin.url("/article")
    );

    rotproof(args(&["bundle", "archive/p", "-o", "p.html"]), site.path())
        .await
        .code(0);
    let single = site.read("p.html");
    assert!(
        single.contains(&format!(
            "data-originalurl=\"{}\" data-versionurl=\"{memento}\" data-versiondate=\"2021-03-01\"",
            origin.url("/article")
        )),
        "{single}"
    );

    rotproof(args(&["bundle", "archive/p", "-o", "p.zip"]), site.path())
        .await
        .code(0);
    let file = std::fs::File::open(site.path().join("p.zip")).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut html = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("p/index.html").unwrap(), &mut html).unwrap();
    // The copy is a third party's page: never the target of a click
    // from the bundle (its scripts would run, with no CSP).
    assert!(
        html.contains(&format!(
            "href=\"{memento}\" data-originalurl=\"{}\" data-versionurl=\"{memento}\" data-versiondate=\"2021-03-01\"",
            origin.url("/article")
        )),
        "{html}"
    );
    assert!(!html.contains(&format!("href=\"{copy}\"")), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_two_requests_are_in_flight_to_an_archive() {
    let origin = Origin::start().await;
    let archive = WebArchive::start_with_delay(std::time::Duration::from_millis(50)).await;
    let paths: Vec<String> = (0..8).map(|i| format!("/lost/{i}")).collect();
    for p in &paths {
        archive.capture(&origin.url(p), "20210101000000", png(10, 10, seed_of(p)));
    }
    let site = Site::new();
    site.write_user_config(&archive.config());
    let text: String = paths
        .iter()
        .map(|p| format!("![]({})\n\n", origin.url(p)))
        .collect();
    site.write("p.md", &text);
    rotproof(
        args(&[
            "archive",
            "p.md",
            "--archives",
            "wayback",
            "--concurrency",
            "16",
        ]),
        site.path(),
    )
    .await
    .code(0);
    let most = archive.server.max_in_flight();
    assert!(
        (1..=2).contains(&most),
        "{most} in flight: {:?}",
        archive.paths()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_answered_only_with_a_placeholder_is_recovered_from_an_archive() {
    let cdn = crate::cdn::Cdn::start("https://news.example/").await;
    let archive = WebArchive::start().await;
    let real = jpeg(120, 90, 33);
    archive.capture(&cdn.url("/always/1"), "20200101000000", real.clone());
    // A page where the image was meant: not an image, so not stored.
    archive.capture(
        &cdn.url("/always/2"),
        "20200101000000",
        b"<html>x</html>".to_vec(),
    );
    let site = Site::new();
    std::fs::write(
        site.path().join("card.png"),
        placeholder_card(240, 160, image::ImageFormat::Png),
    )
    .unwrap();
    site.write_user_config(&archive.config());
    site.write("rotproof.toml", "[placeholders]\nfiles = [\"card.png\"]\n");
    site.write(
        "p.md",
        &format!(
            "![]({})\n\n![]({})\n",
            cdn.url("/always/1"),
            cdn.url("/always/2")
        ),
    );
    let out = rotproof(
        args(&["archive", "p.md", "--archives", "wayback"]),
        site.path(),
    )
    .await;
    out.code(3);
    let m = site.manifest("p");
    let e = entry(&m, &cdn.url("/always/1"));
    assert_eq!(e["recovered_from"]["archive"], "wayback", "{e:#}");
    let stored = std::fs::read(
        site.path()
            .join("archive/p")
            .join(e["path"].as_str().unwrap()),
    )
    .unwrap();
    assert_eq!(stored, real);
    assert_failed(
        &m,
        &cdn.url("/always/2"),
        "placeholder (hotlink protection)",
    );
}

/// A gone URL with a user name and password in it: the web archive is
/// asked about the URL without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_of_a_gone_url_is_sent_to_web_archives() {
    let origin = Origin::start().await;
    let archive = WebArchive::start().await;
    let site = Site::new();
    site.write_user_config(&archive.config());
    let secret = origin
        .url("/img/404")
        .replacen("http://", "http://bob:pw@", 1);
    site.write("p.md", &format!("![]({secret})\n"));
    rotproof(
        args(&["archive", "p.md", "--archives", "wayback,memento"]),
        site.path(),
    )
    .await
    .code(3);
    let asked = archive.paths();
    assert!(!asked.is_empty(), "the archives were asked");
    for path in &asked {
        assert!(!path.contains("bob") && !path.contains("pw@"), "{path}");
    }
}

/// An archive that answers every lookup 429 with `Retry-After: 1`: the
/// back-off is shared by every lookup, the archive is given up for the run
/// after a few refusals in a row, and the summary says so (hundreds of
/// gone links once waited a minute each).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_archives_429_costs_a_minute_per_gone_resource() {
    let origin = Origin::start().await;
    let archive = WebArchive::start().await;
    archive.busy(usize::MAX);
    let site = Site::new();
    site.write_user_config(&archive.config());
    let post: String = (0..12)
        .map(|i| format!("![]({})\n\n", origin.url(&format!("/img/404-{i}"))))
        .collect();
    site.write("p.md", &post);
    let out = rotproof(
        args(&["archive", "p.md", "--archives", "wayback"]),
        site.path(),
    )
    .await;
    out.code(3);
    assert!(
        out.stdout().contains("web archives given up for this run")
            && out.stdout().contains("wayback"),
        "{}",
        out.stdout()
    );
    let asked = archive.paths().len();
    assert!(
        asked <= 4,
        "the archive was asked {asked} times: {:?}",
        archive.paths()
    );
}
