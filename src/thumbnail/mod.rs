//! Thumbnails: decode (dimensions read from the header first, so a
//! decompression bomb is refused before any pixel is allocated), apply EXIF
//! orientation, resize with fast_image_resize (SIMD), encode JPEG when
//! opaque and PNG when transparent. Runs on a fixed rayon pool, one worker
//! per core, so at most that many images are decoded at once.

use std::io::{BufReader, Cursor};
use std::panic::AssertUnwindSafe;
use std::path::Path;

pub(crate) mod budget;
mod decide;
mod pool;

pub use decide::{Plan, decide};
pub use pool::Pool;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use budget::MemoryBudget;

use crate::digest::Sha256;
use crate::store;

pub const DEFAULT_SIZE: u32 = 320;
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;
const JPEG_QUALITY: u8 = 82;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Settings {
    /// Long side of a thumbnail, in pixels.
    pub size: u32,
    /// Images with more pixels are stored but not decoded.
    pub max_pixels: u64,
    /// `--no-thumbs`: read dimensions only.
    pub enabled: bool,
}

impl From<Settings> for crate::manifest::ThumbnailSettings {
    fn from(s: Settings) -> crate::manifest::ThumbnailSettings {
        crate::manifest::ThumbnailSettings {
            size: s.size,
            max_pixels: s.max_pixels,
            enabled: s.enabled,
        }
    }
}

impl From<crate::manifest::ThumbnailSettings> for Settings {
    fn from(s: crate::manifest::ThumbnailSettings) -> Settings {
        Settings {
            size: s.size,
            max_pixels: s.max_pixels,
            enabled: s.enabled,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            size: DEFAULT_SIZE,
            max_pixels: DEFAULT_MAX_PIXELS,
            enabled: true,
        }
    }
}

/// A thumbnail written to `thumbs/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumb {
    /// File name inside `thumbs/`: `<asset sha256>.<jpg|png>`.
    pub file_name: String,
    pub sha256: Sha256,
    pub width: u32,
    pub height: u32,
}

/// What is known of an image after thumbnailing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// As displayed, after EXIF orientation.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The thumbnail, or why there is none.
    pub thumb: Result<Thumb, String>,
    /// There is none for a reason that may pass (a write failed, a worker
    /// stopped): a later run makes it again.
    pub retry: bool,
}

impl ImageInfo {
    /// No dimensions and no thumbnail, for this reason.
    pub fn failed(reason: &str) -> ImageInfo {
        ImageInfo {
            width: None,
            height: None,
            thumb: Err(reason.to_string()),
            retry: false,
        }
    }

    /// No thumbnail for a reason that may pass: made again next run.
    pub fn for_now(reason: &str) -> ImageInfo {
        ImageInfo {
            retry: true,
            ..ImageInfo::failed(reason)
        }
    }
}

/// An image's dimensions and its thumbnail encoded in memory: the CPU work,
/// done on the pool, apart from the file write, done off it.
#[derive(Debug)]
struct Rendered {
    width: Option<u32>,
    height: Option<u32>,
    thumb: Result<Encoded, String>,
}

#[derive(Debug)]
struct Encoded {
    bytes: Vec<u8>,
    ext: &'static str,
    width: u32,
    height: u32,
}

/// Decodes, orients, resizes and encodes within the pool's memory budget;
/// writes nothing.
fn render(asset: &Path, settings: Settings, budget: &MemoryBudget) -> Rendered {
    match std::panic::catch_unwind(AssertUnwindSafe(|| make_inner(asset, settings, budget))) {
        Ok(rendered) => rendered,
        Err(_) => Rendered {
            width: None,
            height: None,
            thumb: Err("decoder crashed on this file".to_string()),
        },
    }
}

impl Rendered {
    /// Writes the thumbnail as `thumbs_dir/<sha256>.<ext>` (made durable
    /// with the run's other files, see [`store::write_stored`]).
    fn write(self, sha256: &Sha256, thumbs_dir: &Path) -> ImageInfo {
        let mut retry = false;
        let thumb = self.thumb.and_then(|encoded| {
            let file_name = format!("{sha256}.{}", encoded.ext);
            // The cause only: a path would name this machine's folders in
            // the manifest. A write that failed may succeed next time.
            store::write_stored(&thumbs_dir.join(&file_name), &encoded.bytes).map_err(|e| {
                retry = true;
                format!(
                    "cannot write the thumbnail: {}",
                    crate::errors::without_path(&e.source)
                )
            })?;
            Ok(Thumb {
                file_name,
                sha256: Sha256::of(&encoded.bytes),
                width: encoded.width,
                height: encoded.height,
            })
        });
        ImageInfo {
            width: self.width,
            height: self.height,
            thumb,
            retry,
        }
    }
}

fn make_inner(asset: &Path, settings: Settings, budget: &MemoryBudget) -> Rendered {
    let fail = |width, height, reason: String| Rendered {
        width,
        height,
        thumb: Err(reason),
    };
    let (reader, asset_bytes) = match std::fs::File::open(asset) {
        Ok(file) => {
            let len = file.metadata().map_or(u64::MAX, |m| m.len());
            (ImageReader::new(BufReader::new(file)), len)
        }
        Err(err) => return fail(None, None, format!("cannot read the asset: {err}")),
    };
    let mut reader = match reader.with_guessed_format() {
        Ok(reader) => reader,
        Err(err) => return fail(None, None, format!("cannot read the asset: {err}")),
    };
    // Animated formats compose each frame onto a canvas of their own, the
    // size of the image, besides the buffer they return.
    let canvases = match reader.format() {
        Some(image::ImageFormat::Gif | image::ImageFormat::WebP) => 2,
        _ => 1,
    };
    // Reading the header needs little; the decode itself is bounded below,
    // once its size is known.
    let mut limits = Limits::default();
    limits.max_alloc = Some(HEADER_ALLOC);
    reader.limits(limits);
    let mut decoder = match reader.into_decoder() {
        Ok(decoder) => decoder,
        Err(err) => return fail(None, None, format!("cannot decode: {err}")),
    };
    let (raw_w, raw_h) = decoder.dimensions();
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let swaps = matches!(
        orientation,
        image::metadata::Orientation::Rotate90
            | image::metadata::Orientation::Rotate270
            | image::metadata::Orientation::Rotate90FlipH
            | image::metadata::Orientation::Rotate270FlipH
    );
    let (width, height) = if swaps {
        (raw_h, raw_w)
    } else {
        (raw_w, raw_h)
    };
    let (w, h) = (Some(width), Some(height));
    let pixels = u64::from(width) * u64::from(height);
    if pixels > settings.max_pixels {
        return fail(
            w,
            h,
            format!(
                "not decoded: {width}×{height} is over --max-pixels {}",
                settings.max_pixels
            ),
        );
    }
    if !settings.enabled {
        return fail(w, h, "thumbnails turned off (--no-thumbs)".to_string());
    }
    let need = decoding_cost(&decoder, orientation, canvases);
    let Some(_grant) = budget.acquire(need) else {
        return fail(
            w,
            h,
            format!(
                "not decoded: it needs {} MiB, over the {} MiB decoding budget",
                need >> 20,
                budget.total() >> 20
            ),
        );
    };
    let mut limits = Limits::default();
    limits.max_alloc = Some(need.saturating_add(DECODER_SLACK));
    if let Err(err) = decoder.set_limits(limits) {
        return fail(w, h, format!("not decoded: {err}"));
    }
    let mut img = match DynamicImage::from_decoder(decoder) {
        Ok(img) => img,
        Err(err) => return fail(w, h, format!("cannot decode: {err}")),
    };
    img.apply_orientation(orientation);
    // A thumbnail is for showing something lighter: one that is not smaller
    // than the image itself (a small or flat image) is not kept.
    let thumb = thumbnail(img, settings.size).and_then(|encoded| {
        let bytes = encoded.bytes.len() as u64;
        if bytes >= asset_bytes {
            Err(format!(
                "not kept: the thumbnail ({bytes} bytes) is not smaller than the image ({asset_bytes} bytes)"
            ))
        } else {
            Ok(encoded)
        }
    });
    Rendered {
        width: w,
        height: h,
        thumb,
    }
}

/// What reading a header may allocate.
const HEADER_ALLOC: u64 = 64 << 20;
/// A decoder's own buffers beyond the image it returns.
const DECODER_SLACK: u64 = 16 << 20;

/// The memory a decode takes: the decoded buffer (`canvases` of them for
/// a format that composes frames on a canvas of its own), a copy when it is
/// not 8-bit RGB(A) already (what the resizer takes), and another when EXIF
/// orientation turns it.
fn decoding_cost(
    decoder: &impl ImageDecoder,
    orientation: image::metadata::Orientation,
    canvases: u64,
) -> u64 {
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    let decoded = decoder.total_bytes().saturating_mul(canvases);
    let converted = match decoder.color_type() {
        image::ColorType::Rgb8 | image::ColorType::Rgba8 => 0,
        _ => pixels.saturating_mul(4),
    };
    let turned = if orientation == image::metadata::Orientation::NoTransforms {
        0
    } else {
        decoder.total_bytes()
    };
    decoded.saturating_add(converted).saturating_add(turned)
}

/// The size that fits `size` on the long side, aspect kept, never larger
/// than the original.
pub fn fit(width: u32, height: u32, size: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= size || long == 0 {
        return (width.max(1), height.max(1));
    }
    let scale = f64::from(size) / f64::from(long);
    let w = ((f64::from(width) * scale).round() as u32).clamp(1, size);
    let h = ((f64::from(height) * scale).round() as u32).clamp(1, size);
    (w, h)
}

fn thumbnail(img: DynamicImage, size: u32) -> Result<Encoded, String> {
    // 8-bit RGB(A): what the encoders take, and what the SIMD resizer is
    // fastest at. Most images decode to one of them already: no copy then.
    let src = match img {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => img,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    };
    let (tw, th) = fit(src.width(), src.height(), size);
    let resized = if (tw, th) == (src.width(), src.height()) {
        src
    } else {
        let mut dst = DynamicImage::new(tw, th, src.color());
        let options =
            ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
        Resizer::new()
            .resize(&src, &mut dst, &options)
            .map_err(|e| format!("cannot resize: {e}"))?;
        dst
    };
    let transparent = match &resized {
        DynamicImage::ImageRgba8(rgba) => rgba.pixels().any(|p| p.0[3] < 255),
        _ => false,
    };
    let mut encoded = Vec::new();
    let ext = if transparent {
        resized
            .write_to(&mut Cursor::new(&mut encoded), image::ImageFormat::Png)
            .map_err(|e| format!("cannot encode PNG: {e}"))?;
        "png"
    } else {
        let rgb = resized.to_rgb8();
        let side = |v: u32| u16::try_from(v).map_err(|_| format!("cannot encode JPEG: {v} px"));
        // jpeg-encoder (AVX2) rather than image's encoder: a quarter of the
        // time, and 4:2:0 chroma below quality 90, as libvips writes.
        jpeg_encoder::Encoder::new(&mut encoded, JPEG_QUALITY)
            .encode(
                rgb.as_raw(),
                side(rgb.width())?,
                side(rgb.height())?,
                jpeg_encoder::ColorType::Rgb,
            )
            .map_err(|e| format!("cannot encode JPEG: {e}"))?;
        "jpg"
    };
    Ok(Encoded {
        bytes: encoded,
        ext,
        width: tw,
        height: th,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    /// What the pool does, on this thread; the asset's sha256 is that of
    /// `name`.
    fn make(asset: &Path, name: &str, thumbs_dir: &Path, settings: Settings) -> ImageInfo {
        let budget = MemoryBudget::new(budget::DECODE_BUDGET);
        render(asset, settings, &budget).write(&Sha256::of(name.as_bytes()), thumbs_dir)
    }

    fn write_image(
        dir: &Path,
        name: &str,
        img: DynamicImage,
        format: image::ImageFormat,
    ) -> std::path::PathBuf {
        let path = dir.join(name);
        img.save_with_format(&path, format).unwrap();
        path
    }

    #[test]
    fn fit_keeps_aspect_and_never_upscales() {
        assert_eq!(fit(1600, 1067, 320), (320, 213));
        assert_eq!(fit(600, 1200, 320), (160, 320));
        assert_eq!(fit(100, 50, 320), (100, 50));
        assert_eq!(fit(10000, 1, 320), (320, 1));
    }

    #[test]
    fn opaque_becomes_jpeg_transparent_becomes_png() {
        let dir = tempfile::tempdir().unwrap();
        let opaque = write_image(
            dir.path(),
            "a.png",
            DynamicImage::ImageRgb8(RgbImage::from_pixel(800, 400, Rgb([10, 200, 30]))),
            image::ImageFormat::Png,
        );
        let info = make(&opaque, "aa", dir.path(), Settings::default());
        let thumb = info.thumb.unwrap();
        assert_eq!((info.width, info.height), (Some(800), Some(400)));
        assert_eq!((thumb.width, thumb.height), (320, 160));
        assert_eq!(thumb.file_name, format!("{}.jpg", Sha256::of(b"aa")));
        let bytes = std::fs::read(dir.path().join(&thumb.file_name)).unwrap();
        assert_eq!(Sha256::of(&bytes), thumb.sha256);

        let mut rgba = RgbaImage::from_fn(500, 1000, |x, y| {
            Rgba([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8, 255])
        });
        rgba.put_pixel(0, 0, Rgba([0, 0, 0, 0]));
        let transparent = write_image(
            dir.path(),
            "b.png",
            DynamicImage::ImageRgba8(rgba),
            image::ImageFormat::Png,
        );
        let thumb = make(&transparent, "bb", dir.path(), Settings::default())
            .thumb
            .unwrap();
        assert_eq!(thumb.file_name, format!("{}.png", Sha256::of(b"bb")));
        assert_eq!((thumb.width, thumb.height), (160, 320));
    }

    #[test]
    fn a_thumbnail_that_cannot_be_written_is_to_be_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let photo = write_image(
            dir.path(),
            "p.jpg",
            DynamicImage::ImageRgb8(RgbImage::from_fn(800, 600, |x, y| {
                Rgb([(x % 251) as u8, (y % 241) as u8, ((x ^ y) % 256) as u8])
            })),
            image::ImageFormat::Jpeg,
        );
        let gone = dir.path().join("no-such-folder");
        let info = make(&photo, "pp", &gone, Settings::default());
        let reason = info.thumb.expect_err("nowhere to write");
        assert!(reason.starts_with("cannot write the thumbnail"), "{reason}");
        assert!(
            !reason.contains(dir.path().to_str().unwrap()),
            "no machine path: {reason}"
        );
        assert!(info.retry);
        let info = make(&photo, "pp", dir.path(), Settings::default());
        assert!(info.thumb.is_ok() && !info.retry);
    }

    #[test]
    fn a_thumbnail_no_smaller_than_its_image_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut rgba = RgbaImage::from_pixel(50, 100, Rgba([0, 0, 0, 255]));
        rgba.put_pixel(0, 0, Rgba([0, 0, 0, 0]));
        let small = write_image(
            dir.path(),
            "s.png",
            DynamicImage::ImageRgba8(rgba),
            image::ImageFormat::Png,
        );
        let info = make(&small, "ss", dir.path(), Settings::default());
        assert_eq!((info.width, info.height), (Some(50), Some(100)));
        assert!(info.thumb.unwrap_err().contains("not smaller"));
        assert!(
            !dir.path()
                .join(format!("{}.png", Sha256::of(b"ss")))
                .exists()
        );
    }

    #[test]
    fn over_max_pixels_is_not_decoded_but_measured() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_image(
            dir.path(),
            "big.png",
            DynamicImage::ImageRgb8(RgbImage::new(400, 300)),
            image::ImageFormat::Png,
        );
        let settings = Settings {
            max_pixels: 1000,
            ..Settings::default()
        };
        let info = make(&path, "cc", dir.path(), settings);
        assert_eq!((info.width, info.height), (Some(400), Some(300)));
        assert!(info.thumb.unwrap_err().contains("--max-pixels"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        std::fs::write(&path, b"\xff\xd8\xff\xe0garbage").unwrap();
        assert!(
            make(&path, "dd", dir.path(), Settings::default())
                .thumb
                .is_err()
        );
    }
}
