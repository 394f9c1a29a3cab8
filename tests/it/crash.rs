//! SIGKILL at several points of an archive run: nothing under a final name
//! is ever partial or wrong, the last complete index.md and manifest.json
//! stay until a run completes, and the next run finishes the job.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::harness::*;
use crate::images::*;
use crate::server::*;
use sha2::Digest;

fn count(dir: &Path, pred: impl Fn(&str) -> bool) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| pred(&e.file_name().to_string_lossy()))
                .count()
        })
        .unwrap_or(0)
}

/// Every asset under a final name holds the bytes its name says.
fn assert_assets_match_names(dir: &Path) {
    for e in std::fs::read_dir(dir.join("assets")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.ends_with(".part") {
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap();
        let sha = hex::encode(sha2::Sha256::digest(&bytes));
        assert_eq!(
            name.split('.').next(),
            Some(sha.as_str()),
            "{name} is partial or wrong"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_never_leaves_a_partial_file_under_a_final_name() {
    let slow = Arc::new(AtomicBool::new(false));
    let s = slow.clone();
    let images: std::collections::HashMap<String, Vec<u8>> = (0..12u8)
        .flat_map(|i| [(format!("/old/{i}"), i), (format!("/new/{i}"), 100 + i)])
        .map(|(path, seed)| (path, jpeg(600, 400, seed)))
        .collect();
    let server = RawServer::start(move |path, _| {
        let img = images.get(path).cloned().unwrap_or_default();
        if path.starts_with("/new/") && s.load(Ordering::SeqCst) {
            Reply::Paused {
                pause: Duration::from_millis(150),
                body: img.into(),
            }
        } else {
            Reply::ok(img)
        }
    })
    .await;
    let site = Site::new();
    let old: String = (0..5)
        .map(|i| format!("![]({})\n", server.url(&format!("/old/{i}"))))
        .collect();
    site.write("k.md", &old);
    rotproof(args(&["archive", "k.md"]), site.path())
        .await
        .code(0);
    let dir = site.path().join("archive/k");
    let index_before = std::fs::read(dir.join("index.md")).unwrap();
    let manifest_before = std::fs::read(dir.join(".rotproof/manifest.json")).unwrap();

    let new: String = (0..12)
        .map(|i| format!("![]({})\n", server.url(&format!("/new/{i}"))))
        .collect();
    site.write("k.md", &format!("{old}{new}"));
    slow.store(true, Ordering::SeqCst);
    let assets_before = count(&dir.join("assets"), |n| !n.ends_with(".part"));
    let thumbs_before = count(&dir.join(".rotproof/thumbs"), |n| !n.ends_with(".part"));

    type Point = Box<dyn Fn(&Path) -> bool>;
    let points: Vec<(&str, Point)> = vec![
        (
            "a download in flight",
            Box::new(|d: &Path| count(&d.join("assets"), |n| n.ends_with(".part")) > 0),
        ),
        (
            "new assets stored",
            Box::new(move |d: &Path| {
                count(&d.join("assets"), |n| !n.ends_with(".part")) > assets_before + 2
            }),
        ),
        (
            "new thumbnails written",
            Box::new(move |d: &Path| {
                count(&d.join(".rotproof/thumbs"), |n| !n.ends_with(".part")) > thumbs_before + 2
            }),
        ),
    ];
    for (what, reached) in points {
        let mut child = spawn_rotproof(
            &["archive", "k.md", "--concurrency", "2", "--per-host", "2"],
            site.path(),
        );
        let mut finished = false;
        wait_until(what, Duration::from_secs(30), || {
            finished = child.try_wait().expect("try_wait").is_some();
            finished || reached(&dir)
        })
        .await;
        // A run that finished before the point killed nothing: the point
        // must come while the run is going, or this iteration proves nothing.
        assert!(!finished, "{what}: the run finished before the kill point");
        child.kill().expect("SIGKILL");
        let _ = child.wait();

        let manifest = std::fs::read(dir.join(".rotproof/manifest.json")).unwrap();
        let parsed: serde_json::Value =
            serde_json::from_slice(&manifest).expect("manifest.json is always valid JSON");
        if manifest == manifest_before {
            assert_eq!(
                std::fs::read(dir.join("index.md")).unwrap(),
                index_before,
                "{what}: index.md replaced by a partial one"
            );
        } else {
            assert_eq!(
                parsed["resources"].as_array().unwrap().len(),
                17,
                "{what}: a new manifest is complete"
            );
        }
        assert_assets_match_names(&dir);
    }

    slow.store(false, Ordering::SeqCst);
    let out = rotproof(args(&["archive", "k.md"]), site.path()).await;
    out.code(0);
    assert!(
        site.leftover_temp_files().is_empty(),
        "{:?}",
        site.leftover_temp_files()
    );
    let verified = rotproof(args(&["verify"]), site.path()).await;
    verified.code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_check_keeps_every_manifest_valid_with_its_history() {
    let slow = Arc::new(AtomicBool::new(false));
    let s = slow.clone();
    let server = RawServer::start(move |path, _| {
        if s.load(Ordering::SeqCst) && path.ends_with('7') {
            Reply::Drip {
                every: Duration::from_millis(50),
            }
        } else {
            Reply::ok(png(8, 8, seed_of(path)))
        }
    })
    .await;
    let site = Site::new();
    for p in 0..4 {
        let body: String = (0..8)
            .map(|i| format!("![]({})\n", server.url(&format!("/p{p}/{i}"))))
            .collect();
        site.write(&format!("posts/p{p}.md"), &body);
    }
    rotproof(args(&["archive", "posts"]), site.path())
        .await
        .code(0);
    rotproof(args(&["check", "--per-host-rate", "0"]), site.path())
        .await
        .code(0);

    slow.store(true, Ordering::SeqCst);
    let before: usize = (0..4).map(|p| server_hits(&server, p)).sum();
    let mut child = spawn_rotproof(
        &["check", "--timeout", "60", "--per-host-rate", "0"],
        site.path(),
    );
    // Killed while the slow URLs hold the run open.
    wait_until(
        "check to reach the slow URLs",
        Duration::from_secs(20),
        || (0..4).map(|p| server_hits(&server, p)).sum::<usize>() >= before + 4,
    )
    .await;
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    for p in 0..4 {
        let m = site.manifest(&format!("p{p}"));
        for e in m["resources"].as_array().unwrap() {
            assert!(
                !e["checks"].as_array().unwrap().is_empty(),
                "p{p}: earlier check record lost"
            );
        }
    }
    slow.store(false, Ordering::SeqCst);
    rotproof(args(&["check", "--per-host-rate", "0"]), site.path())
        .await
        .code(0);
    assert!(
        site.leftover_temp_files().is_empty(),
        "the next run sweeps what the kill left"
    );
}

fn server_hits(server: &RawServer, p: usize) -> usize {
    server.hits(&format!("/p{p}/7"))
}
