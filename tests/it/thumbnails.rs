//! Thumbnails and image dimensions, through the real binary.

use crate::harness::*;
use crate::images::*;
use crate::server::*;

async fn archive_one(reply_body: Vec<u8>, extra: &[&str]) -> (Site, serde_json::Value, RawServer) {
    let server = RawServer::start(move |_, _| Reply::ok(reply_body.clone())).await;
    let site = Site::new();
    site.write("t.md", &format!("![]({})\n", server.url("/img")));
    let mut a = args(&["archive", "t.md"]);
    a.extend(extra.iter().map(|s| s.to_string()));
    let out = rotproof(a, site.path()).await;
    out.code(0);
    let m = site.manifest("t");
    let e = entry(&m, &server.url("/img")).clone();
    (site, e, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exif_orientation_is_applied_to_dimensions_and_thumbnail() {
    // 400×200 stored, orientation 6 (rotate 90°): displayed 200×400.
    let (site, e, _server) = archive_one(jpeg_with_orientation(400, 200, 6), &[]).await;
    assert_eq!(
        (e["width"].as_u64(), e["height"].as_u64()),
        (Some(200), Some(400))
    );
    assert_eq!(
        (
            e["thumbnail"]["width"].as_u64(),
            e["thumbnail"]["height"].as_u64()
        ),
        (Some(160), Some(320))
    );
    let thumb = image::open(
        site.path()
            .join("archive/t")
            .join(e["thumbnail"]["path"].as_str().unwrap()),
    )
    .unwrap();
    assert_eq!((thumb.width(), thumb.height()), (160, 320));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progressive_exif_rotated_jpeg_thumbnail_is_upright() {
    // A committed fixture made by `jpegtran -progressive -copy all`: 400×200
    // stored, left half red and right half blue, EXIF orientation 6. Shown
    // upright it is 200×400 with red on top.
    let fixture = std::fs::read(format!(
        "{}/tests/fixtures/progressive-exif6.jpg",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    // A small thumbnail: the fixture itself is small, and a thumbnail no
    // smaller than its image is not kept.
    let (site, e, _server) = archive_one(fixture, &["--thumb-size", "80"]).await;
    assert_eq!(
        (e["width"].as_u64(), e["height"].as_u64()),
        (Some(200), Some(400))
    );
    let thumb = image::open(
        site.path()
            .join("archive/t")
            .join(e["thumbnail"]["path"].as_str().unwrap()),
    )
    .unwrap()
    .to_rgb8();
    assert_eq!(thumb.dimensions(), (40, 80));
    let top = thumb.get_pixel(20, 10).0;
    let bottom = thumb.get_pixel(20, 70).0;
    assert!(top[0] > 150 && top[2] < 100, "top is red: {top:?}");
    assert!(
        bottom[2] > 150 && bottom[0] < 100,
        "bottom is blue: {bottom:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn animated_gif_thumbnail_is_its_first_frame() {
    let gif = animated_gif(600, 400, &[[250, 0, 0], [0, 250, 0], [0, 0, 250]]);
    let (site, e, _server) = archive_one(gif, &["--thumb-size", "60"]).await;
    assert_eq!(e["media_type"], "image/gif");
    assert_eq!(
        (e["width"].as_u64(), e["height"].as_u64()),
        (Some(600), Some(400))
    );
    let path = site
        .path()
        .join("archive/t")
        .join(e["thumbnail"]["path"].as_str().unwrap());
    assert!(
        path.to_string_lossy().ends_with(".jpg"),
        "opaque GIF → JPEG"
    );
    let thumb = image::open(path).unwrap().to_rgb8();
    let px = thumb.get_pixel(30, 20).0;
    assert!(
        px[0] > 200 && px[1] < 50 && px[2] < 50,
        "first frame is red, got {px:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thumb_size_and_no_thumbs() {
    let (site, e, _server) = archive_one(png(1000, 500, 3), &["--thumb-size", "100"]).await;
    assert_eq!(
        (
            e["thumbnail"]["width"].as_u64(),
            e["thumbnail"]["height"].as_u64()
        ),
        (Some(100), Some(50))
    );
    assert!(
        site.path()
            .join("archive/t")
            .join(e["thumbnail"]["path"].as_str().unwrap())
            .is_file()
    );

    let (site, e, _server) = archive_one(png(1000, 500, 3), &["--no-thumbs"]).await;
    assert!(e["thumbnail"].is_null());
    assert_eq!(e["width"], 1000, "dimensions are still recorded");
    let thumbs: Vec<_> = std::fs::read_dir(site.path().join("archive/t/.rotproof/thumbs"))
        .unwrap()
        .flatten()
        .collect();
    assert!(thumbs.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_images_are_never_upscaled() {
    // Uncompressed, so that the thumbnail, as large as the image, is
    // smaller than it and kept.
    let (_site, e, _server) = archive_one(transparent(40, 30, image::ImageFormat::Bmp), &[]).await;
    assert_eq!(
        (
            e["thumbnail"]["width"].as_u64(),
            e["thumbnail"]["height"].as_u64()
        ),
        (Some(40), Some(30))
    );
    assert!(
        e["thumbnail"]["path"].as_str().unwrap().ends_with(".png"),
        "transparent → PNG"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_restores_a_deleted_thumbnail_and_a_corrupt_asset() {
    let (site, e, server) = archive_one(jpeg(500, 300, 8), &[]).await;
    let dir = site.path().join("archive/t");
    let thumb = dir.join(e["thumbnail"]["path"].as_str().unwrap());
    std::fs::remove_file(&thumb).unwrap();
    let out = rotproof(args(&["archive", "t.md"]), site.path()).await;
    out.code(0);
    assert!(thumb.is_file(), "thumbnail made again");
    assert_eq!(server.hits("/img"), 1, "made from the archived file");

    let asset = dir.join(e["path"].as_str().unwrap());
    let mut bytes = std::fs::read(&asset).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&asset, &bytes).unwrap();
    let out = rotproof(args(&["archive", "t.md"]), site.path()).await;
    out.code(0);
    assert_eq!(server.hits("/img"), 2, "a corrupt file is fetched again");
    let fixed = std::fs::read(&asset).unwrap();
    use sha2::Digest;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&fixed)),
        e["sha256"].as_str().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thumbnail_that_failed_to_be_written_is_made_by_the_next_run() {
    let (site, e, server) = archive_one(jpeg(800, 600, 5), &[]).await;
    let thumb = e["thumbnail"]["path"]
        .as_str()
        .expect("a thumbnail")
        .to_string();
    // What a run that could not write thumbs/ records.
    let path = site.path().join("archive/t/.rotproof/manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    m["resources"][0]["thumbnail"] = serde_json::Value::Null;
    m["resources"][0]["thumbnail_error"] =
        "cannot write the thumbnail: Read-only file system".into();
    m["resources"][0]["thumbnail_retry"] = true.into();
    std::fs::write(&path, m.to_string()).unwrap();
    std::fs::remove_file(site.path().join("archive/t").join(&thumb)).unwrap();
    let hits = server.total_hits();

    rotproof(args(&["archive", "t.md"]), site.path())
        .await
        .code(0);
    let e = entry(&site.manifest("t"), &server.url("/img")).clone();
    assert_eq!(e["thumbnail"]["path"], thumb.as_str(), "{e:#}");
    assert!(e["thumbnail_error"].is_null() && e.get("thumbnail_retry").is_none());
    assert!(site.path().join("archive/t").join(&thumb).is_file());
    assert_eq!(
        server.total_hits(),
        hits,
        "made from the archived file, nothing fetched"
    );
    rotproof(args(&["verify"]), site.path()).await.code(0);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_content_in_two_posts_under_two_urls_is_thumbnailed_once() {
    use std::os::unix::fs::MetadataExt;
    // Two URLs answer the same photo; each post names one, so each URL's
    // job stores into another folder. Before, each folder rendered the
    // thumbnail again: a blog's duplicated photos cost their decoding
    // once per post that held them. Made once, copied into the other.
    let photo = jpeg(900, 600, 3);
    let server = RawServer::start(move |_, _| Reply::ok(photo.clone())).await;
    let site = Site::new();
    site.write("a.md", &format!("![]({})\n", server.url("/a.jpg")));
    site.write("b.md", &format!("![]({})\n", server.url("/b.jpg")));
    let out = rotproof(args(&["archive", "a.md", "b.md"]), site.path()).await;
    out.code(0);
    let thumb = |post: &str, url: &str| {
        let m = site.manifest(post);
        let path = entry(&m, &server.url(url))["thumbnail"]["path"]
            .as_str()
            .expect("a thumbnail")
            .to_string();
        site.path().join("archive").join(post).join(path)
    };
    let (a, b) = (thumb("a", "/a.jpg"), thumb("b", "/b.jpg"));
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_ne!(
        std::fs::metadata(&a).unwrap().ino(),
        std::fs::metadata(&b).unwrap().ino(),
        "one thumbnail, copied (never hard-linked) into the second folder"
    );
    // Both folders verify.
    rotproof(args(&["verify"]), site.path()).await.code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intact_image_whose_thumbnail_is_missing_stays_archived_when_its_host_has_died() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dead = Arc::new(AtomicBool::new(false));
    let d = dead.clone();
    let photo = jpeg(700, 400, 12);
    let server = RawServer::start(move |_, _| {
        if d.load(Ordering::SeqCst) {
            Reply::status(404)
        } else {
            Reply::ok(photo.clone())
        }
    })
    .await;
    let site = Site::new();
    site.write("t.md", &format!("![]({})\n", server.url("/img")));
    rotproof(args(&["archive", "t.md"]), site.path())
        .await
        .code(0);
    let e = entry(&site.manifest("t"), &server.url("/img")).clone();
    let dir = site.path().join("archive/t");
    let thumb = dir.join(e["thumbnail"]["path"].as_str().unwrap());
    std::fs::remove_file(&thumb).unwrap();
    dead.store(true, Ordering::SeqCst);

    rotproof(args(&["archive", "t.md"]), site.path())
        .await
        .code(0);
    let after = entry(&site.manifest("t"), &server.url("/img")).clone();
    assert_eq!(after["status"], "archived", "{after:#}");
    assert_eq!(after["sha256"], e["sha256"]);
    assert_eq!(
        after["thumbnail"], e["thumbnail"],
        "the same thumbnail, made again"
    );
    assert!(thumb.is_file());
    let index = site.read("archive/t/index.md");
    assert!(index.contains(e["path"].as_str().unwrap()), "{index}");
    assert!(!index.contains(&server.base), "never the dead URL: {index}");
    rotproof(args(&["verify"]), site.path()).await.code(0);
}
