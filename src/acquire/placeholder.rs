//! Hotlink placeholders: a CDN that refuses hotlinking often answers 200
//! with a valid image that only says so ("此图片来自微信公众平台"). Such an
//! image must never be stored as the resource. Two ways to know one:
//!
//! - [`Placeholders`]: the images the config names (`[placeholders]
//!   files`), compared by perceptual hash, so the same placeholder at
//!   another size or in another format still matches;
//! - the collapse rule ([`super::judge::collapse`]): several distinct URLs
//!   of one host answering one image, proven a placeholder only when what
//!   is known of them otherwise holds different images for different URLs.

use std::path::{Path, PathBuf};

use image::ImageReader;
use image_hasher::{HashAlg, Hasher, HasherConfig, ImageHash};

use crate::store::{Ingested, ReadSeek};

/// Hash bits that may differ for two images to count as the same
/// placeholder: about 1 in 10 of the 256. A re-encoded or resized copy
/// differs by a few bits; unrelated images by about half of them.
const MAX_DISTANCE: u32 = 24;

/// Images larger than this on either side are not compared: placeholders
/// are small, and decoding every large photo would cost the run its speed.
const MAX_SIDE: u32 = 2048;

/// The side an image is reduced to before it is hashed.
const REDUCED: u32 = 128;

/// Files over this size are not compared either.
const MAX_BYTES: u64 = 8 * 1024 * 1024;

/// The configured placeholder images, hashed.
#[derive(Default)]
pub(crate) struct Placeholders {
    known: Vec<(PathBuf, ImageHash)>,
}

impl std::fmt::Debug for Placeholders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.known.iter().map(|(p, _)| p))
            .finish()
    }
}

fn hasher() -> Hasher {
    // A gradient hash of a 16×16 grey image: size and format do not
    // matter, and text on a plain background (what placeholders are)
    // hashes distinctly.
    HasherConfig::new()
        .hash_alg(HashAlg::Gradient)
        .hash_size(16, 16)
        .to_hasher()
}

/// Decodes an image of `size` bytes, within the limits placeholders have,
/// and hashes it. The decoded image's memory (known from its header, a 16-
/// bit PNG costs eight bytes a pixel) is taken from the decoding budget
/// thumbnails share ([`crate::thumbnail::budget::shared`]), and only the
/// 16×16 grey reduction outlives the call: a post of many large images
/// with a placeholder configured stays within that budget.
fn decode_hash(reader: &mut dyn ReadSeek, size: u64) -> Result<Option<ImageHash>, String> {
    use image::ImageDecoder;
    if size > MAX_BYTES {
        return Ok(None);
    }
    let decoder = ImageReader::new(reader)
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .into_decoder()
        .map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions();
    if w > MAX_SIDE || h > MAX_SIDE {
        return Ok(None);
    }
    // The decoded buffer, and the grey copy the hasher makes of it.
    let need = decoder
        .total_bytes()
        .saturating_add(u64::from(w) * u64::from(h));
    let Some(_grant) = crate::thumbnail::budget::shared().acquire(need) else {
        return Ok(None);
    };
    let image = image::DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    // Reduced at once, in its own pixel type (no float copy of the whole
    // image): the hash reads 16×16 grey pixels of it.
    let small = image.thumbnail(REDUCED, REDUCED);
    drop(image);
    Ok(Some(hasher().hash_image(&small)))
}

/// Decodes and hashes the image file at `path` (see [`decode_hash`]).
fn hash_file(path: &Path) -> Result<Option<ImageHash>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    decode_hash(&mut std::io::BufReader::new(file), size)
}

impl Placeholders {
    pub(crate) fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// Adds the placeholder image at `path` (any raster format).
    pub(crate) fn add(&mut self, path: &Path) -> Result<(), String> {
        let shown = path.display();
        let hash = std::panic::catch_unwind(|| hash_file(path))
            .unwrap_or_else(|_| Err("cannot be decoded".to_string()))
            .map_err(|e| format!("{shown}: {e}"))?
            .ok_or_else(|| {
                format!("{shown}: too large for a placeholder (at most {MAX_SIDE} px a side)")
            })?;
        self.known.push((path.to_path_buf(), hash));
        Ok(())
    }

    /// The configured placeholder that the image file at `path` is, if any.
    /// An image that cannot be decoded, or is larger than any placeholder,
    /// is none.
    #[cfg(test)]
    fn matching(&self, path: &Path) -> Option<&Path> {
        if self.known.is_empty() {
            return None;
        }
        self.same_as(hash_file(path).ok()??)
    }

    /// The configured placeholder that a body just received (in memory or
    /// in its temporary file) is, if any. An image that cannot be decoded,
    /// or is larger than any placeholder, is none.
    pub(crate) fn matching_body(&self, body: &Ingested) -> Option<&Path> {
        if self.known.is_empty() {
            return None;
        }
        // A decoder that panics on a hostile image (some do) makes the
        // image no placeholder, never a stopped run.
        let hash = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            body.with_reader(|r| decode_hash(r, body.digest.bytes))
        }))
        .ok()?
        .ok()?
        .ok()??;
        self.same_as(hash)
    }

    fn same_as(&self, hash: ImageHash) -> Option<&Path> {
        self.known
            .iter()
            .find(|(_, known)| known.dist(&hash) <= MAX_DISTANCE)
            .map(|(p, _)| p.as_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, Rgb, RgbImage};

    /// A "placeholder": a grey card with a dark bar, like text on a plain
    /// background.
    fn card(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let bar = y > h / 3 && y < h / 2 && x > w / 8 && x < w * 7 / 8;
            if bar {
                Rgb([40, 40, 40])
            } else {
                Rgb([225, 225, 225])
            }
        })
    }

    fn photo(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([
                (x * 7 % 255) as u8,
                (y * 3 % 255) as u8,
                ((x ^ y) % 255) as u8,
            ])
        })
    }

    #[test]
    fn a_placeholder_matches_at_another_size_and_format_and_a_photo_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let known = dir.path().join("known.png");
        card(300, 200)
            .save_with_format(&known, ImageFormat::Png)
            .unwrap();
        let mut placeholders = Placeholders::default();
        placeholders.add(&known).unwrap();

        let smaller = dir.path().join("served.jpg");
        card(150, 100)
            .save_with_format(&smaller, ImageFormat::Jpeg)
            .unwrap();
        assert_eq!(placeholders.matching(&smaller), Some(known.as_path()));

        let real = dir.path().join("real.png");
        photo(300, 200)
            .save_with_format(&real, ImageFormat::Png)
            .unwrap();
        assert_eq!(placeholders.matching(&real), None);

        let html = dir.path().join("page.html");
        std::fs::write(&html, "<html>nope</html>").unwrap();
        assert_eq!(placeholders.matching(&html), None);
    }

    #[test]
    fn a_placeholder_file_that_is_not_an_image_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("notes.txt");
        std::fs::write(&bad, "hello").unwrap();
        let err = Placeholders::default().add(&bad).unwrap_err();
        assert!(err.contains("notes.txt"), "{err}");
        let missing = dir.path().join("gone.png");
        assert!(Placeholders::default().add(&missing).is_err());
    }
}
