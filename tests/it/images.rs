//! Image fixtures made with the `image` crate, and hostile ones made by
//! hand (a PNG header claiming billions of pixels, EXIF orientation).

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

/// A little noise, the same for every run: a photo's texture, without
/// which a synthetic image compresses so well that a thumbnail of it is
/// no smaller (and is not kept).
fn grain(x: u32, y: u32, seed: u8) -> u8 {
    let mut h = (x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663) ^ u32::from(seed))
        .wrapping_mul(0x9e37_79b9);
    h ^= h >> 15;
    (h % 24) as u8
}

/// An opaque image with a gradient and some grain, encoded.
pub(crate) fn image_bytes(width: u32, height: u32, seed: u8, format: ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        let n = grain(x, y, seed);
        Rgb([
            (x as u8).wrapping_add(seed).wrapping_add(n),
            (y as u8).wrapping_mul(3).wrapping_add(n),
            seed.wrapping_add(n),
        ])
    });
    encode(DynamicImage::ImageRgb8(img), format)
}

/// A seed that differs from path to path, so that distinct URLs serve
/// distinct images (three or more URLs of one host serving one content
/// are a placeholder suspect, asked again: see the collapse rule).
pub(crate) fn seed_of(path: &str) -> u8 {
    path.bytes()
        .fold(7u8, |seed, b| seed.wrapping_mul(31).wrapping_add(b))
}

pub(crate) fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    image_bytes(width, height, seed, ImageFormat::Png)
}

pub(crate) fn jpeg(width: u32, height: u32, seed: u8) -> Vec<u8> {
    image_bytes(width, height, seed, ImageFormat::Jpeg)
}

/// A PNG whose left half is transparent.
pub(crate) fn transparent_png(width: u32, height: u32) -> Vec<u8> {
    transparent(width, height, ImageFormat::Png)
}

/// An image with a transparent left half, in `format` (BMP: uncompressed,
/// so a thumbnail of even a small one is smaller).
pub(crate) fn transparent(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let img = RgbaImage::from_fn(width, height, |x, y| {
        let n = grain(x, y, 7);
        Rgba([200 + n, 10 + n, 10, if x < width / 2 { 0 } else { 255 }])
    });
    encode(DynamicImage::ImageRgba8(img), format)
}

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format)
        .expect("encode test image");
    out
}

/// `bytes` gzip-compressed.
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// A PNG whose header claims `width`×`height` (a decompression bomb: the
/// pixel data is not there).
pub(crate) fn png_header_claiming(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A JPEG with an EXIF APP1 segment carrying `orientation` (1–8).
pub(crate) fn jpeg_with_orientation(width: u32, height: u32, orientation: u16) -> Vec<u8> {
    let plain = jpeg(width, height, 1);
    // TIFF, big-endian: header, one IFD with one entry (0x0112 SHORT).
    let mut tiff = b"MM\0*\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// An animated GIF whose frames are solid colours.
pub(crate) fn animated_gif(width: u32, height: u32, colours: &[[u8; 3]]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
        for c in colours {
            let frame = RgbaImage::from_pixel(width, height, Rgba([c[0], c[1], c[2], 255]));
            enc.encode_frame(image::Frame::new(frame))
                .expect("gif frame");
        }
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A GIF of a few dozen bytes whose logical screen is `side`×`side`: one
/// 1×1 frame, the rest of the canvas left to the decoder to fill. `seed`
/// makes each one distinct.
pub(crate) fn gif_canvas_bomb(side: u16, seed: u8) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&side.to_le_bytes());
    out.extend_from_slice(&side.to_le_bytes());
    // A global colour table of two colours; background 0; no aspect.
    out.extend_from_slice(&[0x80, 0, 0]);
    out.extend_from_slice(&[seed, 0, 0, 255, 255, 255]);
    // One 1×1 image at the origin, LZW minimum code size 2.
    out.extend_from_slice(&[0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
    out.extend_from_slice(&[0x02, 0x02, 0x44, 0x01, 0x00]);
    out.push(0x3b);
    out
}

/// A hotlink placeholder as CDNs serve them: a grey card with a dark bar
/// where its text would be ("此图片来自微信公众平台"), in `format`.
pub(crate) fn placeholder_card(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        let bar = y > height / 3 && y < height / 2 && x > width / 8 && x < width * 7 / 8;
        if bar {
            Rgb([40, 40, 40])
        } else {
            Rgb([225, 225, 225])
        }
    });
    encode(DynamicImage::ImageRgb8(img), format)
}
