//! `rotproof verify` on an archive made from a local server.

use crate::harness::*;
use crate::images::*;
use crate::server::*;

async fn archived_site() -> (Site, RawServer) {
    let server = RawServer::start(|path, _| match path {
        "/a" => Reply::ok(jpeg(400, 300, 1)),
        "/b" => Reply::ok(png(300, 200, 2)),
        _ => Reply::ok(b"<html><body>source</body></html>".to_vec()),
    })
    .await;
    let site = Site::new();
    site.write(
        "v.md",
        &format!(
            "![]({}) ![]({}) [s]({})\n",
            server.url("/a"),
            server.url("/b"),
            server.url("/page")
        ),
    );
    let out = rotproof(args(&["archive", "v.md"]), site.path()).await;
    out.code(0);
    (site, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_archive_passes() {
    let (site, _server) = archived_site().await;
    let out = rotproof(args(&["verify"]), site.path()).await;
    out.code(0);
    assert!(
        stdout(&out).contains("ok: 5 files re-hashed"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_byte_deleted_thumbnail_and_stray_file_are_caught() {
    let (site, server) = archived_site().await;
    let m = site.manifest("v");
    let dir = site.path().join("archive/v");
    let a = entry(&m, &server.url("/a"));
    let asset = dir.join(a["path"].as_str().unwrap());
    let mut bytes = std::fs::read(&asset).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&asset, bytes).unwrap();
    let b = entry(&m, &server.url("/b"));
    std::fs::remove_file(dir.join(b["thumbnail"]["path"].as_str().unwrap())).unwrap();
    std::fs::write(dir.join("assets/stray.bin"), b"who put this here").unwrap();

    let out = rotproof(args(&["verify", "archive/v", "--json"]), site.path()).await;
    out.code(3);
    let json = out.json();
    let findings: Vec<(String, String)> = json["posts"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["problem"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        vec![
            (
                "missing".to_string(),
                b["thumbnail"]["path"].as_str().unwrap().to_string()
            ),
            (
                "corrupt".to_string(),
                a["path"].as_str().unwrap().to_string()
            ),
            ("unreferenced".to_string(), "assets/stray.bin".to_string()),
        ]
    );
    assert_eq!(json["ok"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonsense_manifest_is_a_clear_error() {
    let (site, _server) = archived_site().await;
    std::fs::write(
        site.path().join("archive/v/.rotproof/manifest.json"),
        "{\"format\": \"rotproof-manifest\", \"version\": 1}",
    )
    .unwrap();
    let out = rotproof(args(&["verify"]), site.path()).await;
    out.code(1);
    assert!(
        stderr(&out).contains("manifest.json") && stderr(&out).contains("missing field"),
        "{}",
        stderr(&out)
    );
}

/// An image removed from a post once left its asset and thumbnail behind,
/// and `verify` exited 3 on every run after: the next `archive` of the
/// post removes the stored files its manifest no longer names (and only
/// those: a file of the user's in assets/ stays).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_exits_3_forever_after_an_image_is_removed_from_a_post() {
    let server = RawServer::start(|path, _| Reply::ok(png(300, 200, seed_of(path)))).await;
    let site = Site::new();
    let (a, b) = (server.url("/a.png"), server.url("/b.png"));
    site.write("p.md", &format!("![]({a})\n\n![]({b})\n"));
    rotproof(args(&["archive", "p.md"]), site.path())
        .await
        .code(0);
    let gone = entry(&site.manifest("p"), &b).clone();
    let dir = site.path().join("archive/p");
    std::fs::write(dir.join("assets/mine.txt"), "the user's").unwrap();
    site.write("p.md", &format!("![]({a})\n"));
    rotproof(args(&["archive", "p.md"]), site.path())
        .await
        .code(0);
    assert!(!dir.join(gone["path"].as_str().unwrap()).exists());
    assert!(
        !dir.join(gone["thumbnail"]["path"].as_str().unwrap())
            .exists()
    );
    assert!(
        dir.join("assets/mine.txt").exists(),
        "not rotproof's: left alone"
    );
    std::fs::remove_file(dir.join("assets/mine.txt")).unwrap();
    rotproof(args(&["verify"]), site.path()).await.code(0);
}
