//! The archive layout, version 2: a folder that can be published as it is
//! (index.md and assets/ at the top, rotproof's own files in .rotproof/),
//! files made with the usual modes, no absolute path inside, media stored
//! as media, and version-1 folders read and moved to version 2.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::*;
use crate::images::*;
use crate::server::*;

/// The names in a folder, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every file and folder under `dir`, `dir` included.
fn everything(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(everything(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A post with an image, a link and a video, served from `server`.
fn post_with_everything(server: &RawServer) -> String {
    format!(
        "---\ntitle: Everything\n---\n![a]({})\n\n<video poster=\"{}\" src=\"{}\"></video>\n\n[a page]({})\n",
        server.url("/a.jpg"),
        server.url("/poster.jpg"),
        server.url("/clip"),
        server.url("/page"),
    )
}

async fn everything_server() -> RawServer {
    RawServer::start(|path, _| match path {
        "/a.jpg" => Reply::ok(jpeg(640, 480, 1)),
        "/poster.jpg" => Reply::ok(jpeg(400, 300, 2)),
        // An MP4's first bytes: a `ftyp` box.
        "/clip" => Reply::ok(b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom\0\0\0\x08free".to_vec()),
        "/page" => Reply::ok(b"<!doctype html><html><body>page</body></html>".to_vec()),
        _ => Reply::status(404),
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_is_stored_with_its_own_extension_rewritten_and_never_thumbnailed() {
    let server = everything_server().await;
    let site = Site::new();
    site.write("m.md", &post_with_everything(&server));
    rotproof(args(&["archive", "m.md"]), site.path())
        .await
        .code(0);
    let m = site.manifest("m");
    let clip = entry(&m, &server.url("/clip"));
    assert_eq!(clip["kind"], "media", "{clip:#}");
    assert_eq!(clip["media_type"], "video/mp4");
    let path = clip["path"].as_str().expect("a path");
    assert!(
        path.starts_with("assets/") && path.ends_with(".mp4"),
        "{path}"
    );
    assert!(clip["thumbnail"].is_null() && clip["thumbnail_error"].is_null());
    assert_eq!(entry(&m, &server.url("/poster.jpg"))["kind"], "image");
    let index = site.read("archive/m/index.md");
    assert!(index.contains(&format!("src=\"{path}\"")), "{index}");
    assert!(index.contains(&format!("[a page]({})", server.url("/page"))));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_made_with_the_usual_modes_less_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let server = everything_server().await;
    for (umask, file_mode, dir_mode) in [("022", 0o644, 0o755), ("077", 0o600, 0o700)] {
        let site = Site::new();
        site.write("u.md", &post_with_everything(&server));
        let bin = env!("CARGO_BIN_EXE_rotproof");
        let script = format!(
            "umask {umask} && {bin} archive u.md -q && {bin} bundle archive/u -o u.zip && {bin} bundle archive/u -o u.html"
        );
        shell(&script, site.path()).code_with(0, umask);
        let mut checked = 0;
        for path in everything(&site.path().join("archive/u"))
            .into_iter()
            .chain([site.path().join("u.zip"), site.path().join("u.html")])
        {
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            let want = if meta.is_dir() { dir_mode } else { file_mode };
            assert_eq!(
                meta.permissions().mode() & 0o777,
                want,
                "umask {umask}: {}",
                path.display()
            );
            checked += 1;
        }
        assert!(checked > 10, "only {checked} files checked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_absolute_path_is_written_into_a_post_folder() {
    let server = everything_server().await;
    let site = Site::new();
    let post = site.write("posts/p.md", &post_with_everything(&server));
    let out = site.path().join("out");
    rotproof(
        vec![
            "archive".into(),
            post.display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ],
        site.path(),
    )
    .await
    .code(0);
    let root = site
        .path()
        .canonicalize()
        .expect("canonical")
        .display()
        .to_string();
    let given = site.path().display().to_string();
    for path in everything(&out.join("p")) {
        if path.is_dir() {
            continue;
        }
        let bytes = std::fs::read(&path).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&root) && !text.contains(&given),
            "{} names the machine's folders",
            path.display()
        );
    }
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("p/.rotproof/manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(m["post"]["source"], "../posts/p.md");
}

/// A copy of the committed version-1 fixture (made by rotproof 0.1.0) in a
/// scratch site: `archive/fx/`, and the post `fx.md` with its local photo.
fn version_one_site() -> Site {
    let site = Site::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let from = fixtures.join("v1-archive/fx");
    for path in everything(&from) {
        let rel = path.strip_prefix(&from).expect("inside");
        let to = site.path().join("archive/fx").join(rel);
        if path.is_dir() {
            std::fs::create_dir_all(&to).expect("mkdir");
        } else {
            std::fs::copy(&path, &to).expect("copy");
        }
    }
    std::fs::copy(fixtures.join("v1-archive/fx.md"), site.path().join("fx.md")).expect("post");
    std::fs::copy(
        fixtures.join("progressive-exif6.jpg"),
        site.path().join("photo.jpg"),
    )
    .expect("photo");
    site
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_one_folder_is_read_by_every_command_then_moved_to_version_two() {
    let site = version_one_site();
    let dir = site.path().join("archive/fx");
    let v1: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("v1")).unwrap();
    rotproof(args(&["verify"]), site.path()).await.code(0);
    rotproof(args(&["bundle", "archive/fx", "-o", "fx.zip"]), site.path())
        .await
        .code(0);
    rotproof(
        args(&["bundle", "archive/fx", "-o", "fx.html"]),
        site.path(),
    )
    .await
    .code(0);
    // The fixture's server is gone: check finds its URLs dead, and records
    // so in the version-1 manifest, where it is.
    let checked = rotproof(
        args(&["check", "--retries", "0", "--connect-timeout", "2"]),
        site.path(),
    )
    .await;
    checked.code(3);
    assert_eq!(Layout::V1, layout(&dir));

    // Archiving the post again moves the folder to version 2. Every
    // archived resource is intact, so nothing is fetched (the one failed
    // link is tried again and fails).
    let out = rotproof(
        args(&[
            "archive",
            "fx.md",
            "--retries",
            "0",
            "--connect-timeout",
            "2",
        ]),
        site.path(),
    )
    .await;
    out.code(3);
    assert_eq!(names(&dir), [".rotproof", "assets", "index.md"]);
    let m = site.manifest("fx");
    assert_eq!(m["version"], 2);
    for old in v1["resources"].as_array().unwrap() {
        let new = entry(&m, old["url"].as_str().unwrap());
        if old["status"] == "archived" {
            assert_eq!(new["sha256"], old["sha256"], "{}", old["url"]);
            assert_eq!(
                new["fetched_at"], old["fetched_at"],
                "kept, not fetched again"
            );
            let path = new["path"].as_str().unwrap();
            let want = if new["kind"] == "link" {
                ".rotproof/pages/"
            } else {
                "assets/"
            };
            assert!(path.starts_with(want), "{path}");
            assert!(dir.join(path).is_file(), "{path}");
            if let Some(thumb) = new["thumbnail"]["path"].as_str() {
                assert!(thumb.starts_with(".rotproof/thumbs/") && dir.join(thumb).is_file());
            }
        }
        assert!(
            new["checks"].as_array().unwrap().len() >= old["checks"].as_array().unwrap().len(),
            "check history kept"
        );
    }
    assert!(
        names(&dir.join("assets"))
            .iter()
            .all(|n| n.ends_with(".jpg")),
        "only images in assets/: {:?}",
        names(&dir.join("assets"))
    );
    let verified = rotproof(args(&["verify"]), site.path()).await;
    verified.code(0);
    assert!(
        verified.stdout().contains("0 problems"),
        "{}",
        verified.stdout()
    );
}

#[derive(Debug, PartialEq, Eq)]
enum Layout {
    V1,
    V2,
}

fn layout(dir: &Path) -> Layout {
    match (
        dir.join(".rotproof/manifest.json").is_file(),
        dir.join("manifest.json").is_file(),
    ) {
        (true, _) => Layout::V2,
        (false, true) => Layout::V1,
        (false, false) => panic!("{}: no manifest at all", dir.display()),
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_killed_midway_leaves_a_folder_one_version_describes() {
    let site = version_one_site();
    let server = RawServer::start(|_, _| Reply::Paused {
        pause: Duration::from_secs(30),
        body: jpeg(300, 200, 9).into(),
    })
    .await;
    // A new image, served slowly, holds the migrating run open.
    let post = std::fs::read_to_string(site.path().join("fx.md")).expect("post");
    site.write(
        "fx.md",
        &format!("{post}\n![new]({})\n", server.url("/new")),
    );
    let dir = site.path().join("archive/fx");
    let mut child = spawn_rotproof(&["archive", "fx.md", "--retries", "0"], site.path());
    wait_until("the new image's download", Duration::from_secs(20), || {
        server.hits("/new") > 0
    })
    .await;
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert_eq!(layout(&dir), Layout::V1, "killed before the new manifest");
    // Every file the version-1 manifest names is there; what the kill
    // left is at most a temporary file, which the next run removes.
    let verified = rotproof(args(&["verify", "--json"]), site.path()).await;
    let json = verified.json();
    for finding in json["posts"][0]["findings"].as_array().expect("findings") {
        assert_eq!(finding["problem"], "unreferenced", "{finding}");
        assert!(finding["path"].as_str().unwrap_or("").ends_with(".part"));
    }
    // The next run finishes the job.
    let server = RawServer::start(|_, _| Reply::ok(jpeg(300, 200, 9))).await;
    site.write(
        "fx.md",
        &format!("{post}\n![new]({})\n", server.url("/new")),
    );
    rotproof(args(&["archive", "fx.md", "--retries", "0"]), site.path()).await;
    assert_eq!(layout(&dir), Layout::V2);
    assert_eq!(names(&dir), [".rotproof", "assets", "index.md"]);
    rotproof(args(&["verify"]), site.path()).await.code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thumbnail_not_smaller_than_its_image_is_not_kept() {
    let server = RawServer::start(|path, _| match path {
        "/tiny" => Reply::ok(png(8, 8, 1)),
        _ => Reply::ok(jpeg(1200, 800, 2)),
    })
    .await;
    let site = Site::new();
    site.write(
        "t.md",
        &format!("![]({}) ![]({})\n", server.url("/tiny"), server.url("/big")),
    );
    rotproof(args(&["archive", "t.md"]), site.path())
        .await
        .code(0);
    let m = site.manifest("t");
    let tiny = entry(&m, &server.url("/tiny"));
    assert!(tiny["thumbnail"].is_null(), "{tiny:#}");
    assert!(
        tiny["thumbnail_error"]
            .as_str()
            .unwrap_or("")
            .contains("not smaller"),
        "{tiny:#}"
    );
    assert_eq!(
        (tiny["width"].as_u64(), tiny["height"].as_u64()),
        (Some(8), Some(8))
    );
    let big = entry(&m, &server.url("/big"));
    assert_eq!(big["thumbnail"]["width"], 320, "{big:#}");
    assert_eq!(
        names(&site.path().join("archive/t/.rotproof/thumbs")).len(),
        1
    );
}

/// A hostile version-1 folder (blog repositories carry archives, and git
/// keeps symlinks): its `thumbs/` is a symlink to a folder elsewhere, and
/// its manifest names `thumbs/important.txt`. Moving it to the current
/// layout must remove nothing there.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_a_hostile_v1_folder_deletes_a_file_outside_out() {
    let site = version_one_site();
    let dir = site.path().join("archive/fx");
    let elsewhere = site.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    for thumb in std::fs::read_dir(dir.join("thumbs")).unwrap() {
        let thumb = thumb.unwrap();
        std::fs::copy(thumb.path(), elsewhere.join(thumb.file_name())).unwrap();
    }
    std::fs::write(elsewhere.join("important.txt"), "keep me").unwrap();
    std::fs::remove_dir_all(dir.join("thumbs")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("thumbs")).unwrap();
    let manifest = dir.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    m["resources"][1]["thumbnail"]["path"] = "thumbs/important.txt".into();
    std::fs::write(&manifest, m.to_string()).unwrap();
    let before: Vec<_> = walk(&elsewhere);

    let out = rotproof(
        args(&["archive", "fx.md", "--links", "ignore"]),
        site.path(),
    )
    .await;
    out.code(0);
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("important.txt"))
            .ok()
            .as_deref(),
        Some("keep me"),
        "a file outside the archive was removed"
    );
    assert_eq!(walk(&elsewhere), before, "nothing outside changed");
}
