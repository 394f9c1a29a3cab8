//! A full disk while writing: exit 1 naming the path, and the archive left
//! as it was. Uses a tiny tmpfs, so it needs permission to mount (root);
//! elsewhere it says so and does nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::*;
use crate::images::*;
use crate::server::*;

/// Unmounts when dropped, whatever the test's outcome.
struct Mounted(PathBuf);

impl Mounted {
    fn tmpfs(at: &Path, size: &str) -> Option<Mounted> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mounted(at.to_path_buf()))
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Bytes that do not compress (a small xorshift stream).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_exit_1_with_the_path_and_the_archive_is_left_as_it_was() {
    let site = Site::new();
    let Some(_mount) = Mounted::tmpfs(&site.path().join("out"), "400k") else {
        eprintln!("cannot mount a tmpfs here (not root?): disk-full test not run");
        return;
    };
    let server = RawServer::start(|path, _| match path {
        "/small" => Reply::ok(png(16, 16, 1)),
        p => Reply::ok(noise(300 * 1024, p.len() as u64)),
    })
    .await;
    site.write("d.md", &format!("![]({})\n", server.url("/small")));
    let first = rotproof(args(&["archive", "d.md", "--out", "out"]), site.path()).await;
    first.code(0);
    let index = site.read("out/d/index.md");
    let manifest = site.read("out/d/.rotproof/manifest.json");

    site.write(
        "d.md",
        &format!(
            "![]({})\n[a]({})\n[b]({})\n",
            server.url("/small"),
            server.url("/big1"),
            server.url("/big22")
        ),
    );
    let full = rotproof(args(&["archive", "d.md", "--out", "out"]), site.path()).await;
    let err = stderr(&full);
    full.code(1);
    assert!(
        err.contains("out/d/.rotproof/pages") && err.to_lowercase().contains("no space"),
        "{err}"
    );
    assert_eq!(site.read("out/d/index.md"), index, "index.md as it was");
    assert_eq!(
        site.read("out/d/.rotproof/manifest.json"),
        manifest,
        "manifest.json as it was"
    );
    assert!(
        site.leftover_temp_files().is_empty(),
        "{:?}",
        site.leftover_temp_files()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_and_bundle_work_on_a_read_only_archive() {
    let site = Site::new();
    let Some(_mount) = Mounted::tmpfs(&site.path().join("ro"), "4m") else {
        eprintln!("cannot mount a tmpfs here (not root?): read-only test not run");
        return;
    };
    let server = RawServer::start(|_, _| Reply::ok(jpeg(400, 300, 3))).await;
    site.write("r.md", &format!("![]({})\n", server.url("/a.jpg")));
    rotproof(args(&["archive", "r.md", "--out", "ro"]), site.path())
        .await
        .code(0);
    let remounted = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(site.path().join("ro"))
        .status()
        .is_ok_and(|s| s.success());
    assert!(remounted, "remount read-only");
    rotproof(args(&["verify", "ro"]), site.path()).await.code(0);
    rotproof(args(&["bundle", "ro/r", "-o", "r.zip"]), site.path())
        .await
        .code(0);
    rotproof(args(&["bundle", "ro/r", "-o", "r.html"]), site.path())
        .await
        .code(0);
    assert!(site.path().join("r.zip").is_file());
    // Writing still fails cleanly.
    let out = rotproof(args(&["check", "ro"]), site.path()).await;
    out.code(1);
}

/// A full disk while writing a bundle: one clear line naming the output
/// file (the zip crate printed its own `ZipWriter::drop: failed to
/// finalize archive` and the post's folder was named).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_during_bundle_prints_the_zip_crates_message_and_names_the_post() {
    let site = Site::new();
    let Some(_mount) = Mounted::tmpfs(&site.path().join("full"), "100k") else {
        eprintln!("cannot mount a tmpfs here (not root?): disk-full test not run");
        return;
    };
    let server = RawServer::start(|_, _| Reply::ok(noise(300 * 1024, 7))).await;
    site.write("b.md", &format!("[data]({})\n", server.url("/data.bin")));
    rotproof(args(&["archive", "b.md"]), site.path())
        .await
        .code(0);
    for out in ["full/b.zip", "full/b.tar.gz"] {
        let run = rotproof(args(&["bundle", "archive/b", "-o", out]), site.path()).await;
        run.code_with(1, out);
        let err = run.stderr();
        assert!(err.contains(out), "{out}: {err}");
        assert!(!err.contains("ZipWriter"), "{out}: {err}");
        assert_eq!(err.lines().count(), 1, "{out}: one line: {err}");
        assert!(!site.path().join(out).exists());
    }
}
