//! Hotlink placeholders: a CDN that refuses hotlinking often answers 200
//! with a valid image that only says so ("此图片来自微信公众平台"). Such an
//! image must never be stored as the resource. Two ways to know one:
//!
//! - [`Placeholders`]: the images the config names (`[placeholders]
//!   files`), compared by perceptual hash, so the same placeholder at
//!   another size or in another format still matches;
//! - the collapse rule (see [`crate::archive`]'s execute stage): several
//!   distinct URLs of one host answering byte-identical images, one of
//!   which answers other bytes with another Referer policy.

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

/// Decodes an image of `size` bytes, within the limits placeholders have.
fn decode(reader: &mut dyn ReadSeek, size: u64) -> Result<Option<image::DynamicImage>, String> {
    if size > MAX_BYTES {
        return Ok(None);
    }
    let (w, h) = ImageReader::new(&mut *reader)
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .into_dimensions()
        .map_err(|e| e.to_string())?;
    if w > MAX_SIDE || h > MAX_SIDE {
        return Ok(None);
    }
    reader.rewind().map_err(|e| e.to_string())?;
    ImageReader::new(reader)
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .decode()
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Decodes the image file at `path` (see [`decode`]).
fn decode_file(path: &Path) -> Result<Option<image::DynamicImage>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    decode(&mut std::io::BufReader::new(file), size)
}

impl Placeholders {
    pub(crate) fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// Adds the placeholder image at `path` (any raster format).
    pub(crate) fn add(&mut self, path: &Path) -> Result<(), String> {
        let shown = path.display();
        let image = decode_file(path)
            .map_err(|e| format!("{shown}: {e}"))?
            .ok_or_else(|| {
                format!("{shown}: too large for a placeholder (at most {MAX_SIDE} px a side)")
            })?;
        self.known
            .push((path.to_path_buf(), hasher().hash_image(&image)));
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
        self.same_as(decode_file(path).ok()??)
    }

    /// The configured placeholder that a body just received (in memory or
    /// in its temporary file) is, if any. An image that cannot be decoded,
    /// or is larger than any placeholder, is none.
    pub(crate) fn matching_body(&self, body: &Ingested) -> Option<&Path> {
        if self.known.is_empty() {
            return None;
        }
        let image = body
            .with_reader(|r| decode(r, body.digest.bytes))
            .ok()?
            .ok()??;
        self.same_as(image)
    }

    fn same_as(&self, image: image::DynamicImage) -> Option<&Path> {
        let hash = hasher().hash_image(&image);
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
