//! `rotproof bundle`: each form, unpacked and checked; reproducibility;
//! errors.

use std::io::Read;
use std::path::Path;

use crate::harness::*;
use crate::images::*;
use crate::server::*;
use base64::Engine;
use rotproof::post::{Post, url_attributes};
use sha2::Digest;

async fn archived_site() -> (Site, RawServer) {
    let server = RawServer::start(|path, _| match path {
        "/a" => Reply::ok(jpeg(640, 480, 1)),
        "/b" => Reply::ok(transparent_png(300, 200)),
        "/c" => Reply::ok(png(200, 100, 3)),
        _ => Reply::ok(b"<!doctype html><html><body>source page</body></html>".to_vec()),
    })
    .await;
    let site = Site::new();
    let post = format!(
        "---\ntitle: \"深圳湾 <公园>\"\ndate: 2026-10-18T09:30:00+08:00\nthumbnail: {a}\n---\n\n\
         周末的早晨。![白鹭]({a} \"鸟\")\n\n<figure><img src=\"{b}\" srcset=\"{b} 1x, {c} 2x\" alt=raw></figure>\n\n\
         | 表 | 格 |\n|---|---|\n| ~~删~~ | 脚注[^1] |\n\n[^1]: 注释。\n\n[source]({page})\n",
        a = server.url("/a"),
        b = server.url("/b"),
        c = server.url("/c"),
        page = server.url("/page"),
    );
    site.write("post.md", &post);
    let out = rotproof(args(&["archive", "post.md"]), site.path()).await;
    out.code(0);
    (site, server)
}

pub(crate) fn unzip(bytes: &[u8], into: &Path) {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).expect("entry");
        let path = into.join(f.name().expect("entry name").as_ref());
        if f.is_dir() {
            std::fs::create_dir_all(&path).unwrap();
        } else {
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).unwrap();
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, buf).unwrap();
        }
    }
}

fn untar(bytes: &[u8], into: &Path) {
    let gz = flate2::read::GzDecoder::new(bytes);
    tar::Archive::new(gz).unpack(into).expect("a tar.gz");
}

/// Every local path index.md and index.html refer to exists in `root`.
fn assert_references_resolve(root: &Path) {
    let index = std::fs::read(root.join("index.md")).expect("index.md in the bundle");
    let post = Post::parse(index).expect("index.md parses");
    let mut local = 0;
    for r in post.references() {
        if !r.url.contains("://") {
            assert!(root.join(&r.url).is_file(), "index.md → {} missing", r.url);
            local += 1;
        }
    }
    assert!(local >= 5, "only {local} local references");
    let html = std::fs::read_to_string(root.join("index.html")).expect("index.html in the bundle");
    let mut in_html = 0;
    for u in url_attributes(&html) {
        if !u.url.contains("://") && !u.url.starts_with('#') {
            assert!(
                root.join(&u.url).is_file(),
                "index.html → {} missing",
                u.url
            );
            in_html += 1;
        }
    }
    assert!(in_html >= 4, "only {in_html} local URLs in index.html");
    assert!(
        !html.contains("loading=\"lazy\""),
        "images load eagerly: a screenshot or a print sees them all"
    );
    assert!(
        html.contains("width=\"640\" height=\"480\""),
        "sizes from the manifest"
    );
    assert!(html.contains("<table>") && html.contains("<del>") && html.contains("footnote"));
    assert!(html.contains("深圳湾 &lt;公园&gt;"), "title escaped");
    assert!(
        !html.contains("<script") && !html.contains("<link"),
        "no requests to other hosts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zip_and_tar_gz_unpack_to_a_complete_folder_and_are_reproducible() {
    let (site, _server) = archived_site().await;
    for name in ["b.zip", "b.tar.gz", "b.tgz"] {
        let out = rotproof(args(&["bundle", "archive/post", "-o", name]), site.path()).await;
        out.code_with(0, name);
        let first = std::fs::read(site.path().join(name)).unwrap();
        let again = rotproof(args(&["bundle", "archive/post", "-o", name]), site.path()).await;
        again.code(0);
        assert_eq!(
            std::fs::read(site.path().join(name)).unwrap(),
            first,
            "{name}: same bytes twice"
        );
        let unpacked = tempfile::tempdir().unwrap();
        if name.ends_with(".zip") {
            unzip(&first, unpacked.path());
        } else {
            untar(&first, unpacked.path());
        }
        let root = unpacked.path().join("post");
        for f in [
            "index.html",
            "index.md",
            ".rotproof/source.md",
            ".rotproof/manifest.json",
        ] {
            assert!(root.join(f).is_file(), "{name}: {f}");
        }
        assert_references_resolve(&root);
    }
    // Without -o: <slug>.zip here.
    let out = rotproof(args(&["bundle", "archive/post"]), site.path()).await;
    out.code(0);
    assert!(site.path().join("post.zip").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_html_embeds_every_asset_and_needs_no_network() {
    let (site, server) = archived_site().await;
    let out = rotproof(
        args(&["bundle", "archive/post", "-o", "post.html"]),
        site.path(),
    )
    .await;
    out.code(0);
    let html = site.read("post.html");
    assert_eq!(html, {
        let again = rotproof(
            args(&["bundle", "archive/post", "-o", "post.html"]),
            site.path(),
        )
        .await;
        again.code(0);
        site.read("post.html")
    });
    let m = site.manifest("post");
    let shas: Vec<String> = m["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["sha256"].as_str().map(String::from))
        .collect();
    let mut images = 0;
    for u in url_attributes(&html) {
        let is_img = matches!(u.kind, rotproof::reference::Kind::Image);
        if is_img {
            assert!(
                !u.url.starts_with("http://") && !u.url.starts_with("https://"),
                "remote src {}",
                u.url
            );
            let data = u
                .url
                .split_once(";base64,")
                .map(|(_, d)| d)
                .unwrap_or_else(|| panic!("not a data URI: {}", &u.url[..40.min(u.url.len())]));
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .expect("base64");
            let sha = hex::encode(sha2::Sha256::digest(&bytes));
            assert!(shas.contains(&sha), "embedded bytes are an archived asset");
            images += 1;
        }
    }
    assert!(images >= 4, "{images} embedded images");
    // The mirrored source page is linked at its original URL.
    assert!(html.contains(&format!("href=\"{}\"", server.url("/page"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_errors() {
    let (site, _server) = archived_site().await;
    let out = rotproof(
        args(&["bundle", "archive/post", "-o", "x.rar"]),
        site.path(),
    )
    .await;
    out.code(2);
    assert!(
        stderr(&out).contains(".zip, .tar.gz, .tgz, .html"),
        "{}",
        stderr(&out)
    );

    std::fs::create_dir_all(site.path().join("empty")).unwrap();
    let out = rotproof(args(&["bundle", "empty"]), site.path()).await;
    out.code(1);
    assert!(
        stderr(&out).contains("not an archived post"),
        "{}",
        stderr(&out)
    );

    let out = rotproof(
        args(&["bundle", "archive/post", "-o", "/proc/no/such.zip"]),
        site.path(),
    )
    .await;
    out.code(1);
    assert!(stderr(&out).contains("/proc/no"), "{}", stderr(&out));

    let m = site.manifest("post");
    let gone = m["resources"][0]["path"].as_str().unwrap().to_string();
    std::fs::remove_file(site.path().join("archive/post").join(&gone)).unwrap();
    let out = rotproof(
        args(&["bundle", "archive/post", "-o", "y.zip"]),
        site.path(),
    )
    .await;
    out.code(1);
    assert!(
        stderr(&out).contains(&gone),
        "names the missing file: {}",
        stderr(&out)
    );
    assert!(!site.path().join("y.zip").exists(), "no partial output");
    assert!(site.leftover_temp_files().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_single_html_file_loads_eagerly_and_asks_no_other_host() {
    let server = RawServer::start(|path, _| match path {
        "/ok" => Reply::ok(jpeg(320, 240, 4)),
        "/page" => Reply::ok(b"<!doctype html><html><body>the article</body></html>".to_vec()),
        _ => Reply::status(404),
    })
    .await;
    let site = Site::new();
    site.write(
        "o.md",
        &format!(
            "# Offline\n\n![here]({ok}) ![gone]({gone})\n\n<img srcset=\"{ok} 1x, {gone} 2x\">\n\n\
             <video src=\"{clip}\"></video>\n\n[原文]({page})\n",
            ok = server.url("/ok"),
            gone = server.url("/gone.jpg"),
            clip = server.url("/clip.mp4"),
            page = server.url("/page"),
        ),
    );
    rotproof(args(&["archive", "o.md"]), site.path())
        .await
        .code(3);
    rotproof(args(&["bundle", "archive/o", "-o", "o.html"]), site.path())
        .await
        .code(0);
    let html = site.read("o.html");
    assert!(!html.contains("loading=\"lazy\""));
    assert!(
        html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'")
    );
    assert!(
        html.contains("<title>Offline</title>"),
        "the first heading titles it"
    );
    let mut placeholders = 0;
    for u in url_attributes(&html) {
        if u.kind == rotproof::reference::Kind::Link {
            continue;
        }
        assert!(u.url.starts_with("data:"), "a live request: {}", u.url);
        if u.url.starts_with("data:image/svg+xml,") {
            let svg = percent_encoding::percent_decode_str(&u.url).decode_utf8_lossy();
            assert!(
                svg.contains("not archived") && svg.contains("/gone.jpg"),
                "{svg}"
            );
            placeholders += 1;
        }
    }
    assert_eq!(placeholders, 2, "the lost image, and its srcset candidate");
    assert!(
        html.contains(&format!(
            "href=\"{}\" rel=\"noopener\">Original</a>",
            server.url("/page")
        )),
        "the post's source is linked"
    );

    // In a zip, a link whose copy is a third party's page does not open
    // it (its scripts would run, with no CSP): it says when it was copied.
    rotproof(args(&["bundle", "archive/o", "-o", "o.zip"]), site.path())
        .await
        .code(0);
    let unpacked = site.path().join("unzipped");
    unzip(
        &std::fs::read(site.path().join("o.zip")).unwrap(),
        &unpacked,
    );
    let index = std::fs::read_to_string(unpacked.join("o/index.html")).unwrap();
    let copy = entry(&site.manifest("o"), &server.url("/page"))["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        index.contains(&format!(
            "<a href=\"{0}\" data-originalurl=\"{0}\" data-versiondate=",
            server.url("/page")
        )),
        "{index}"
    );
    assert!(!index.contains(&format!("href=\"{copy}\"")), "{index}");
    assert!(unpacked.join("o").join(&copy).is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_generator_shortcodes_are_archived_rewritten_in_their_syntax_and_rendered() {
    let server = RawServer::start(|path, _| Reply::ok(jpeg(400, 300, seed_of(path)))).await;
    let site = Site::new();
    std::fs::write(site.path().join("local.jpg"), jpeg(300, 200, 9)).unwrap();
    let post = format!(
        "# Shortcodes\n\n{{{{< figure src=\"{fig}\" link=\"{big}\" caption=\"白鹭\" >}}}}\n\n\
         {{% img left {hexo} 200 100 'title' %}}\n\n![[local.jpg|300]]\n\n{{{{< youtube abc >}}}}\n\n\
         `{{{{< figure src=\"{code}\" >}}}}`\n",
        fig = server.url("/fig.jpg"),
        big = server.url("/big.jpg"),
        hexo = server.url("/hexo.jpg"),
        code = server.url("/in-code.jpg"),
    );
    site.write("s.md", &post);
    rotproof(args(&["archive", "s.md"]), site.path())
        .await
        .code(0);
    assert_eq!(server.hits("/in-code.jpg"), 0, "nothing collected in code");
    let m = site.manifest("s");
    for url in [
        server.url("/fig.jpg"),
        server.url("/big.jpg"),
        server.url("/hexo.jpg"),
    ] {
        assert_eq!(entry(&m, &url)["status"], "archived", "{url}");
        assert_eq!(entry(&m, &url)["kind"], "image", "{url}");
    }
    assert_eq!(entry(&m, "local.jpg")["status"], "archived");
    let index = site.read("archive/s/index.md");
    assert!(index.contains("{{< figure src=\"assets/"), "{index}");
    assert!(index.contains("{% img left assets/"), "{index}");
    assert!(
        index.contains("![[assets/") && index.contains("|300]]"),
        "{index}"
    );
    rotproof(args(&["bundle", "archive/s", "-o", "s.html"]), site.path())
        .await
        .code(0);
    let html = site.read("s.html");
    assert!(html.contains("<figure>") && html.contains("<figcaption>白鹭</figcaption>"));
    assert!(
        !html.contains("youtube"),
        "other shortcodes are dropped, never printed"
    );
    assert_eq!(
        html.matches("{{&lt;").count(),
        1,
        "only the one shown as code:\n{html}"
    );
    assert!(!html.contains("{% img"), "{html}");
}

/// `bundle` was quadratic in nesting depth (100,000 nested quotes ran for
/// minutes, while `archive` took 0.3 s): elements nested past a few dozen
/// levels are flattened before the page is sanitised, their text kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_is_quadratic_in_nesting_depth() {
    let site = Site::new();
    let n = 5000;
    site.write(
        "deep.md",
        &format!(
            "{}quoted\n\n{}inside{}\n",
            "> ".repeat(n),
            "<div>".repeat(n),
            "</div>".repeat(n)
        ),
    );
    rotproof(args(&["archive", "deep.md"]), site.path())
        .await
        .code(0);
    rotproof(
        args(&["bundle", "archive/deep", "-o", "deep.html"]),
        site.path(),
    )
    .await
    .code(0);
    let html = site.read("deep.html");
    assert!(html.contains("quoted") && html.contains("inside"));
    let deepest = |tag: &str| {
        let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
        let (mut depth, mut max, mut rest) = (0i64, 0i64, html.as_str());
        while let Some(at) = rest.find('<') {
            rest = &rest[at..];
            if rest.starts_with(&open) {
                depth += 1;
                max = max.max(depth);
            } else if rest.starts_with(&close) {
                depth -= 1;
            }
            rest = &rest[1..];
        }
        max
    };
    assert!(deepest("blockquote") <= 64, "{}", deepest("blockquote"));
    assert!(deepest("div") <= 64, "{}", deepest("div"));
}
