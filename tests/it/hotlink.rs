//! Getting the real image from CDNs that protect against hotlinking
//! (Referer policies, placeholders, remap), against the fake CDN.

use image::ImageFormat;

use crate::cdn::{self, Cdn};
use crate::harness::*;
use crate::images::*;

const SOURCE: &str = "https://news.example/2024/a.html";
const SOURCE_ORIGIN: &str = "https://news.example/";

/// A repost: its source URL in the front matter (left out of each run
/// with `--links ignore`: news.example is not on loopback), and images on
/// the CDN.
fn post(cdn: &Cdn, paths: &[&str]) -> String {
    let mut text = format!("---\ntitle: repost\nsource: {SOURCE}\n---\n\n");
    for p in paths {
        text.push_str(&format!("![]({})\n\n", cdn.url(p)));
    }
    text
}

/// `rotproof archive POST --links ignore EXTRA...` in `site`.
async fn archive(site: &Site, post: &str, extra: &[&str]) -> Run {
    let mut list = vec!["archive", post, "--links", "ignore"];
    list.extend_from_slice(extra);
    rotproof(args(&list), site.path()).await
}

fn assets(site: &Site, slug: &str) -> Vec<std::path::PathBuf> {
    walk(&site.path().join("archive").join(slug).join("assets"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hotlink_refusal_is_asked_again_with_each_referer_policy_and_the_one_that_worked_is_recorded()
 {
    let cdn = Cdn::start(SOURCE_ORIGIN).await;
    let site = Site::new();
    site.write("p.md", &post(&cdn, &["/zhihu/1", "/sspai/1", "/weibo/1"]));
    archive(&site, "p.md", &[]).await.code(0);
    let m = site.manifest("p");
    let own = format!("{}/", cdn.server.base);
    let recorded = |path: &str| entry(&m, &cdn.url(path))["referer"].clone();
    assert_eq!(recorded("/zhihu/1"), "none");
    assert_eq!(recorded("/sspai/1"), "origin");
    assert_eq!(recorded("/weibo/1"), "source");
    // Each policy once, in the order none, origin, source.
    assert_eq!(cdn.referers("/zhihu/1"), vec![None]);
    assert_eq!(cdn.referers("/sspai/1"), vec![None, Some(own.clone())]);
    assert_eq!(
        cdn.referers("/weibo/1"),
        vec![None, Some(own.clone()), Some(SOURCE_ORIGIN.to_string())]
    );
    for path in ["/zhihu/1", "/sspai/1", "/weibo/1"] {
        assert_eq!(entry(&m, &cdn.url(path))["status"], "archived", "{path}");
    }

    // `check` asks the way that worked: the refusing hosts answer it.
    let out = rotproof(args(&["check", "--json"]), site.path()).await;
    out.code(0);
    assert_eq!(
        cdn.referers("/weibo/1").last(),
        Some(&Some(SOURCE_ORIGIN.to_string()))
    );
    assert_eq!(cdn.referers("/sspai/1").last(), Some(&Some(own)));
    assert_eq!(out.json()["counts"]["alive"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chosen_referer_that_is_refused_falls_back_to_none() {
    let cdn = Cdn::start(SOURCE_ORIGIN).await;
    let site = Site::new();
    site.write("p.md", &post(&cdn, &["/zhihu/2"]));
    archive(&site, "p.md", &["--referer", "origin"])
        .await
        .code(0);
    let m = site.manifest("p");
    assert_eq!(entry(&m, &cdn.url("/zhihu/2"))["referer"], "none");
    assert_eq!(
        cdn.referers("/zhihu/2"),
        vec![Some(format!("{}/", cdn.server.base)), None]
    );

    // A host rule's policy is the first tried: the right one at once.
    let site = Site::new();
    site.write(
        "rotproof.toml",
        "[hosts.\"127.0.0.1\"]\nreferer = \"source\"\n",
    );
    site.write("p.md", &post(&cdn, &["/weibo/2"]));
    archive(&site, "p.md", &[]).await.code(0);
    assert_eq!(
        cdn.referers("/weibo/2"),
        vec![Some(SOURCE_ORIGIN.to_string())]
    );
    assert_eq!(
        entry(&site.manifest("p"), &cdn.url("/weibo/2"))["referer"],
        "source"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placeholders_answered_to_a_referer_are_caught_by_the_collapse_rule_and_the_real_images_kept()
 {
    let cdn = Cdn::start(SOURCE_ORIGIN).await;
    let site = Site::new();
    let paths = ["/wechat/1", "/wechat/2", "/wechat/3"];
    site.write("p.md", &post(&cdn, &paths));
    // With a Referer, all three answer one and the same image: suspect.
    let out = archive(&site, "p.md", &["--referer", "origin"]).await;
    out.code(0);
    let m = site.manifest("p");
    for path in paths {
        let e = entry(&m, &cdn.url(path));
        assert_eq!(e["status"], "archived", "{path}: {e:#}");
        assert_eq!(e["referer"], "none", "{path}");
        assert_eq!(e["width"], 641, "{path}: the real image, not the card");
    }
    let stored = assets(&site, "p");
    assert_eq!(stored.len(), 3, "three real images: {stored:?}");
    let card = cdn::placeholder();
    for file in &stored {
        assert_ne!(
            std::fs::read(file).unwrap(),
            card,
            "{file:?} is the placeholder"
        );
    }
    let index = site.read("archive/p/index.md");
    assert!(
        !index.contains(&cdn.server.base),
        "every image rewritten:\n{index}"
    );
    rotproof(args(&["verify"]), site.path()).await.code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legitimate_duplicates_stay_archived_and_are_stored_once() {
    let cdn = Cdn::start(SOURCE_ORIGIN).await;
    let site = Site::new();
    let paths = ["/dup/1", "/dup/2", "/dup/3", "/dup/4"];
    site.write("p.md", &post(&cdn, &paths));
    archive(&site, "p.md", &[]).await.code(0);
    let m = site.manifest("p");
    for path in paths {
        assert_eq!(entry(&m, &cdn.url(path))["status"], "archived", "{path}");
    }
    assert_eq!(assets(&site, "p").len(), 1);
    // One of them was asked again with another policy, and said the same.
    let asked_again = paths.iter().filter(|p| cdn.referers(p).len() > 1).count();
    assert_eq!(asked_again, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_placeholder_matches_at_another_size_and_format_and_is_never_stored() {
    let cdn = Cdn::start(SOURCE_ORIGIN).await;
    let site = Site::new();
    // The file a user saved from a browser: smaller, and a JPEG.
    std::fs::create_dir_all(site.path().join("placeholders")).unwrap();
    std::fs::write(
        site.path().join("placeholders/wechat.jpg"),
        placeholder_card(120, 80, ImageFormat::Jpeg),
    )
    .unwrap();
    site.write(
        "rotproof.toml",
        "[placeholders]\nfiles = [\"placeholders/wechat.jpg\"]\n",
    );
    site.write("p.md", &post(&cdn, &["/always/1", "/wechat/7"]));
    let out = archive(&site, "p.md", &["--referer", "origin"]).await;
    out.code(3);
    let m = site.manifest("p");
    let e = assert_failed(
        &m,
        &cdn.url("/always/1"),
        "placeholder (hotlink protection)",
    );
    assert!(e["sha256"].is_null() && e["path"].is_null(), "{e:#}");
    // Every policy was tried before giving up.
    assert_eq!(cdn.referers("/always/1").len(), 3);
    // One URL alone: the hash caught it, and no Referer got the real one.
    let e = entry(&m, &cdn.url("/wechat/7"));
    assert_eq!(e["status"], "archived", "{e:#}");
    assert_eq!(e["referer"], "none");
    assert_eq!(assets(&site, "p").len(), 1, "only the real image is stored");
    let index = site.read("archive/p/index.md");
    assert!(
        index.contains(&cdn.url("/always/1")),
        "a failed image keeps its URL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remap_variant_is_fetched_first_and_the_url_as_written_is_the_fallback() {
    let cdn = Cdn::start(SOURCE_ORIGIN).await;
    let site = Site::new();
    site.write(
        "rotproof.toml",
        r#"
[[remap]]
pattern = '^(http://127\.0\.0\.1:\d+/(om_bt|gone)/[^/]+)/641$'
replace = '${1}/0'
"#,
    );
    site.write("p.md", &post(&cdn, &["/om_bt/a/641", "/gone/b/641"]));
    archive(&site, "p.md", &[]).await.code(0);
    let m = site.manifest("p");
    let original = entry(&m, &cdn.url("/om_bt/a/641"));
    assert_eq!(original["fetched_url"], cdn.url("/om_bt/a/0"));
    assert_eq!(original["width"], 1200, "the original size");
    let fallback = entry(&m, &cdn.url("/gone/b/641"));
    assert_eq!(fallback["fetched_url"], cdn.url("/gone/b/641"));
    assert_eq!(fallback["width"], 641);
    assert_eq!(
        cdn.referers("/gone/b/0").len(),
        1,
        "the variant was tried first"
    );
    // check asks the URL the bytes came from: the original is alive, not
    // changed.
    let out = rotproof(args(&["check", "--json"]), site.path()).await;
    out.code(0);
    assert_eq!(out.json()["counts"]["alive"], 2, "{}", out.stdout());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_an_image_that_now_answers_a_placeholder_as_dead_not_changed() {
    let cdn = Cdn::start(SOURCE_ORIGIN).await;
    // Three images of one host: the collapse rule.
    let many = Site::new();
    many.write("p.md", &post(&cdn, &["/zhihu/1", "/zhihu/2", "/zhihu/3"]));
    archive(&many, "p.md", &[]).await.code(0);
    // One image: the configured placeholder.
    let one = Site::new();
    std::fs::write(
        one.path().join("card.png"),
        placeholder_card(60, 40, ImageFormat::Png),
    )
    .unwrap();
    one.write("rotproof.toml", "[placeholders]\nfiles = [\"card.png\"]\n");
    one.write("q.md", &post(&cdn, &["/zhihu/9"]));
    archive(&one, "q.md", &[]).await.code(0);

    cdn.protect_all();
    for (site, slug, n) in [(&many, "p", 3), (&one, "q", 1)] {
        let out = rotproof(args(&["check", "--json"]), site.path()).await;
        out.code(3);
        let json = out.json();
        assert_eq!(json["counts"]["dead"], n, "{json:#}");
        assert_eq!(json["counts"]["changed"], 0, "{json:#}");
        for r in json["results"].as_array().unwrap() {
            assert!(
                r["error"].as_str().unwrap_or("").contains("placeholder"),
                "{r}"
            );
        }
        let m = site.manifest(slug);
        for e in m["resources"].as_array().unwrap() {
            assert_eq!(e["checks"][0]["result"], "dead", "{e:#}");
        }
    }
}

/// WeChat shows one picture through several URLs; its CDN answers the real
/// image when no Referer is sent and a placeholder card (a valid JPEG) when
/// one is.
const ONE_PICTURE: [&str; 3] = [
    "/mmbiz/AAA/640?wx_fmt=jpeg",
    "/mmbiz/AAA/640?wx_fmt=jpeg&tp=webp&wxfrom=5",
    "/mmbiz/AAA/0?wx_fmt=jpeg",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collapse_rule_never_stores_the_placeholder_and_deletes_the_real_image() {
    let cdn = Cdn::start(SOURCE_ORIGIN).await;
    let site = Site::new();
    site.write("p.md", &post(&cdn, &ONE_PICTURE));
    archive(&site, "p.md", &[]).await.code(0);
    let m = site.manifest("p");
    let real = jpeg(641, 427, seed_of("AAA"));
    let stored = assets(&site, "p");
    assert_eq!(stored.len(), 1, "one picture, stored once: {stored:?}");
    assert!(std::fs::read(&stored[0]).unwrap() == real, "the real image");
    for path in ONE_PICTURE {
        let e = entry(&m, &cdn.url(path));
        assert_eq!(e["status"], "archived", "{path}: {e:#}");
        assert_eq!(e["referer"], "none", "{path}: asked the way that worked");
    }
    // The second run keeps it all.
    archive(&site, "p.md", &[]).await.code(0);
    assert!(std::fs::read(&assets(&site, "p")[0]).unwrap() == real);
    rotproof(args(&["verify"]), site.path()).await.code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collapse_rule_with_the_card_configured_keeps_the_real_image_on_every_run() {
    let cdn = Cdn::start(SOURCE_ORIGIN).await;
    let site = Site::new();
    std::fs::write(site.path().join("card.jpg"), cdn::placeholder_jpeg()).unwrap();
    site.write("rotproof.toml", "[placeholders]\nfiles = [\"card.jpg\"]\n");
    site.write("p.md", &post(&cdn, &ONE_PICTURE));
    let real = jpeg(641, 427, seed_of("AAA"));
    for run in 1..=2 {
        archive(&site, "p.md", &[]).await.code_with(0, run);
        let m = site.manifest("p");
        for path in ONE_PICTURE {
            let e = entry(&m, &cdn.url(path));
            assert_eq!(e["status"], "archived", "run {run}, {path}: {e:#}");
        }
        let stored = assets(&site, "p");
        assert_eq!(stored.len(), 1, "run {run}: {stored:?}");
        assert!(std::fs::read(&stored[0]).unwrap() == real, "run {run}");
    }
}
