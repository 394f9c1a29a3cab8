//! Ctrl-C: a clean stop. In-flight temporary files removed, locks released,
//! exit 130, nothing half-written; the next run finishes the job.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::harness::*;
use crate::images::*;
use crate::server::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_cleanly_and_the_next_run_finishes() {
    let slow = Arc::new(AtomicBool::new(true));
    let s = slow.clone();
    let server = RawServer::start(move |path, _| {
        if path.starts_with("/slow") && s.load(Ordering::SeqCst) {
            Reply::Drip {
                every: Duration::from_millis(50),
            }
        } else {
            Reply::ok(png(16, 16, seed_of(path)))
        }
    })
    .await;
    let site = Site::new();
    let body: String = ["/fast", "/slow/1", "/slow/2", "/slow/3"]
        .iter()
        .map(|p| format!("![]({})\n", server.url(p)))
        .collect();
    site.write("c.md", &body);

    let mut child = spawn_rotproof(&["archive", "c.md", "--timeout", "120"], site.path());
    // Downloads are in flight once their temporary files exist.
    wait_until("three partial downloads", Duration::from_secs(20), || {
        site.leftover_temp_files().len() >= 3
    })
    .await;
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let code = wait_exit(&mut child).await;
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert_eq!(code, Some(130), "stderr: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        site.leftover_temp_files().is_empty(),
        "{:?}",
        site.leftover_temp_files()
    );
    assert!(
        !site
            .path()
            .join("archive/c/.rotproof/manifest.json")
            .exists(),
        "no manifest from an unfinished run"
    );
    assert!(
        !site.path().join("archive/c/index.md").exists(),
        "no index.md from an unfinished run"
    );

    // The lock is released, and the next run finishes the job.
    slow.store(false, Ordering::SeqCst);
    let out = rotproof(args(&["archive", "c.md"]), site.path()).await;
    out.code(0);
    assert_eq!(site.manifest("c")["resources"].as_array().unwrap().len(), 4);
}

/// An archived post with one local file of `mib` MiB of random bytes.
async fn big_archive(site: &Site, mib: u64) {
    let mut noise = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open("/dev/urandom").expect("urandom"),
            mib << 20,
        ),
        &mut noise,
    )
    .expect("read urandom");
    std::fs::write(site.path().join("big.bin"), noise).expect("write");
    site.write("big.md", "[data](big.bin)\n");
    let out = rotproof(args(&["archive", "big.md"]), site.path()).await;
    out.code(0);
}

fn bundle_temp_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_interrupted_or_killed_leaves_nothing_under_the_final_name() {
    let site = Site::new();
    big_archive(&site, 1).await;
    for signal in ["-INT", "-KILL"] {
        // The bundle holds once its temporary file exists: interrupted
        // there, whatever the machine's speed.
        let mut child = command(&["bundle", "archive/big", "-o", "big.zip"], site.path())
            .env("ROTPROOF_TEST_HOLD_BUNDLE", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn rotproof");
        wait_until(
            "the bundle's temporary file",
            Duration::from_secs(20),
            || bundle_temp_files(site.path()) > 0,
        )
        .await;
        let sent = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let code = wait_exit(&mut child).await;
        assert!(
            !site.path().join("big.zip").exists(),
            "{signal}: a partial bundle under the final name"
        );
        if signal == "-INT" {
            assert_eq!(code, Some(130));
            assert_eq!(
                bundle_temp_files(site.path()),
                0,
                "Ctrl-C removes the temporary output"
            );
        }
    }
    let out = rotproof(
        args(&["bundle", "archive/big", "-o", "big.zip"]),
        site.path(),
    )
    .await;
    out.code(0);
    assert!(site.path().join("big.zip").is_file());
    assert_eq!(
        bundle_temp_files(site.path()),
        0,
        "what the killed run left is removed by the next"
    );
}
