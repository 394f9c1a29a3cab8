//! What a file is, from its first bytes: never from the URL (CDN URLs have no
//! extension) nor the Content-Type (hotlink protection serves HTML as 200).

/// The broad class of a format, which decides what rotproof does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Decodable by the `image` crate: thumbnailed.
    Raster,
    /// Shown as an image but not decoded (SVG; AVIF without a decoder).
    OtherImage,
    /// Audio or video, as `<video src>` embeds.
    Media,
    /// A web page.
    Html,
    /// Anything else (PDF, text, binary).
    Other,
}

/// A sniffed format: its media type, the archive's file extension for it
/// (the archive layout's list, else `bin`), and its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub media_type: &'static str,
    pub ext: &'static str,
    pub class: Class,
}

impl Format {
    const fn new(media_type: &'static str, ext: &'static str, class: Class) -> Self {
        Format {
            media_type,
            ext,
            class,
        }
    }

    pub fn is_image(self) -> bool {
        matches!(self.class, Class::Raster | Class::OtherImage)
    }
}

/// How many leading bytes [`sniff`] looks at.
pub(crate) const SNIFF_LEN: usize = 1024;

/// Sniffs a format from the first bytes of a file.
pub(crate) fn sniff(head: &[u8]) -> Format {
    use Class::*;
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(b"\xff\xd8\xff") {
        return Format::new("image/jpeg", "jpg", Raster);
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Format::new("image/png", "png", Raster);
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Format::new("image/gif", "gif", Raster);
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Format::new("image/webp", "webp", Raster);
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WAVE" {
        return Format::new("audio/wav", "wav", Media);
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return match &head[8..12] {
            b"avif" | b"avis" => Format::new("image/avif", "avif", OtherImage),
            b"heic" | b"heix" | b"mif1" => Format::new("image/heic", "bin", OtherImage),
            b"qt  " => Format::new("video/quicktime", "mov", Media),
            b"M4A " | b"M4B " => Format::new("audio/mp4", "m4a", Media),
            _ => Format::new("video/mp4", "mp4", Media),
        };
    }
    if starts(b"BM") && head.len() >= 14 {
        return Format::new("image/bmp", "bmp", Raster);
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return Format::new("image/tiff", "tiff", Raster);
    }
    if starts(b"\0\0\x01\0") && head.len() >= 6 && head[4] > 0 {
        return Format::new("image/x-icon", "ico", Raster);
    }
    if starts(b"%PDF-") {
        return Format::new("application/pdf", "pdf", Other);
    }
    if starts(b"\x1a\x45\xdf\xa3") {
        return Format::new("video/webm", "webm", Media);
    }
    if starts(b"OggS") {
        return Format::new("audio/ogg", "ogg", Media);
    }
    if starts(b"ID3") || (head.len() >= 2 && head[0] == 0xff && head[1] & 0xe0 == 0xe0) {
        return Format::new("audio/mpeg", "mp3", Media);
    }
    sniff_text(head)
}

/// Markup and text: SVG, HTML, or plain.
fn sniff_text(head: &[u8]) -> Format {
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let text = trim_start(text);
    let lower: Vec<u8> = text
        .iter()
        .take(SNIFF_LEN)
        .map(u8::to_ascii_lowercase)
        .collect();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    // Subtitles and captions for <track>.
    if text.starts_with(b"WEBVTT") {
        return Format::new("text/vtt", "vtt", Class::Media);
    }
    if lower.starts_with(b"<svg")
        || ((lower.starts_with(b"<?xml") || lower.starts_with(b"<!--")) && has(b"<svg"))
    {
        return Format::new("image/svg+xml", "svg", Class::OtherImage);
    }
    const HTML_STARTS: &[&[u8]] = &[
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<body",
        b"<script",
        b"<title",
        b"<meta",
        b"<div",
        b"<p>",
        b"<p ",
        b"<a ",
        b"<table",
        b"<iframe",
        b"<br",
        b"<h1",
        b"<style",
        b"<!--",
    ];
    if HTML_STARTS.iter().any(|s| lower.starts_with(s))
        || (lower.starts_with(b"<?xml") && has(b"<html"))
    {
        return Format::new("text/html", "html", Class::Html);
    }
    let looks_textual = !text.is_empty()
        && text
            .iter()
            .take(SNIFF_LEN)
            .all(|&b| b >= 0x20 || matches!(b, b'\n' | b'\r' | b'\t' | 0x0c));
    if looks_textual {
        return Format::new("text/plain", "bin", Class::Other);
    }
    Format::new("application/octet-stream", "bin", Class::Other)
}

fn trim_start(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if first.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        let table: &[(&[u8], &str)] = &[
            (b"\xff\xd8\xff\xe0\0\x10JFIF", "jpg"),
            (b"\x89PNG\r\n\x1a\n\0\0", "png"),
            (b"GIF89a\x01\0", "gif"),
            (b"RIFF\0\0\0\0WEBPVP8 ", "webp"),
            (b"\0\0\0\x1cftypavif\0\0", "avif"),
            (b"BM\0\0\0\0\0\0\0\0\0\0\0\0", "bmp"),
            (b"II*\0\x08\0", "tiff"),
            (b"\0\0\x01\0\x01\0", "ico"),
            (b"%PDF-1.7", "pdf"),
            (
                b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\">",
                "svg",
            ),
            (b"  <!DOCTYPE html><html>", "html"),
            (b"\xef\xbb\xbf<html lang=zh>", "html"),
            (b"\0\x01\x02garbage", "bin"),
            (b"\0\0\0\x18ftypmp42\0\0", "mp4"),
            (b"\0\0\0\x14ftypqt  \0\0", "mov"),
            (b"\0\0\0\x20ftypM4A \0\0", "m4a"),
            (b"\x1a\x45\xdf\xa3\x01\0", "webm"),
            (b"OggS\0\x02", "ogg"),
            (b"ID3\x04\0", "mp3"),
            (b"RIFF\0\0\0\0WAVEfmt ", "wav"),
            (b"WEBVTT\n\n00:00.000 --> 00:01.000\nhi", "vtt"),
        ];
        for (head, ext) in table {
            assert_eq!(sniff(head).ext, *ext, "{:?}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn classes() {
        assert_eq!(sniff(b"\xff\xd8\xff").class, Class::Raster);
        assert!(sniff(b"<svg>").is_image());
        assert_eq!(sniff(b"<html>").class, Class::Html);
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42").class, Class::Media);
        assert_eq!(sniff(b"{\"json\": true}").media_type, "text/plain");
    }
}
