//! Errors as people read them: one line, each cause once, no terminal
//! control characters.

use std::borrow::Cow;

/// An error and its causes on one line: `a: b: c`. Each error's message
/// leaves its cause to `source()`, so each cause is printed once.
pub(crate) fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut causes = vec![err.to_string()];
    let mut next = err.source();
    while let Some(cause) = next {
        causes.push(cause.to_string());
        next = cause.source();
    }
    printable(&causes.join(": ").replace('\n', " ")).into_owned()
}

/// An I/O error's own words, without the path tempfile adds to them
/// (`… at path "/tmp/…/.rotproof-x.part"`; its wrapper is private, so the
/// words are all there is): for what is recorded in a manifest, which
/// must not name the machine's folders.
pub(crate) fn without_path(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.rsplit_once(" at path \"") {
        Some((words, _)) => words.to_string(),
        None => text,
    }
}

/// Text with its control characters escaped (`\x1b`): a URL or a file name
/// from a post must not move the cursor, retitle the terminal or clear the
/// screen of whoever reads the output. Line breaks stay.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() && c != '\n' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON on its way to a terminal: serde_json leaves C1 control characters
/// (U+0080 to U+009F, which terminals obey like escapes) and DEL raw
/// inside strings; this writes them as `\u00XX`, which is the same JSON.
/// (They can only stand inside strings: JSON's own syntax is ASCII.)
#[derive(Debug)]
pub(crate) struct JsonForTerminal<W> {
    inner: W,
    /// The lead byte of a two-byte character cut between two writes.
    lead: Option<u8>,
}

impl<W: std::io::Write> JsonForTerminal<W> {
    pub(crate) fn new(inner: W) -> Self {
        JsonForTerminal { inner, lead: None }
    }

    #[cfg(test)]
    pub(crate) fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: std::io::Write> std::io::Write for JsonForTerminal<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut start = 0;
        let mut i = 0;
        if let Some(lead) = self.lead.take() {
            match buf.first() {
                Some(&b) if lead == 0xC2 && (0x80..=0x9F).contains(&b) => {
                    write!(self.inner, "\\u00{b:02x}")?;
                    start = 1;
                    i = 1;
                }
                _ => self.inner.write_all(&[lead])?,
            }
        }
        while i < buf.len() {
            let b = buf[i];
            if b == 0x7F {
                self.inner.write_all(&buf[start..i])?;
                self.inner.write_all(b"\\u007f")?;
                start = i + 1;
            } else if b == 0xC2 {
                match buf.get(i + 1) {
                    Some(&next) if (0x80..=0x9F).contains(&next) => {
                        self.inner.write_all(&buf[start..i])?;
                        write!(self.inner, "\\u00{next:02x}")?;
                        i += 1;
                        start = i + 1;
                    }
                    Some(_) => {}
                    None => {
                        self.inner.write_all(&buf[start..i])?;
                        self.lead = Some(b);
                        return Ok(buf.len());
                    }
                }
            }
            i += 1;
        }
        self.inner.write_all(&buf[start..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(lead) = self.lead.take() {
            self.inner.write_all(&[lead])?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_for_a_terminal_escapes_c1_controls_even_across_writes() {
        use std::io::Write;
        let json = serde_json::to_string("a\u{9b}31mb\u{7f}c é\u{85}").unwrap();
        let bytes = json.as_bytes();
        for cut in 0..bytes.len() {
            let mut out = JsonForTerminal::new(Vec::new());
            out.write_all(&bytes[..cut]).unwrap();
            out.write_all(&bytes[cut..]).unwrap();
            out.flush().unwrap();
            let text = String::from_utf8(out.into_inner()).unwrap();
            assert_eq!(text, "\"a\\u009b31mb\\u007fc é\\u0085\"", "cut at {cut}");
            let back: String = serde_json::from_str(&text).unwrap();
            assert_eq!(back, "a\u{9b}31mb\u{7f}c é\u{85}");
        }
    }

    #[test]
    fn escapes_are_shown_not_obeyed() {
        assert_eq!(printable("plain 深圳"), "plain 深圳");
        assert_eq!(
            printable("a\x1b]0;pwned\x07b\x1b[2J\tc\nd"),
            "a\\u{1b}]0;pwned\\u{7}b\\u{1b}[2J\\tc\nd"
        );
    }

    #[test]
    fn recorded_io_errors_name_no_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = tempfile::tempfile_in(dir.path().join("missing")).unwrap_err();
        let words = without_path(&err);
        assert!(!words.contains(dir.path().to_str().unwrap()), "{words}");
        assert!(words.contains("No such file"), "{words}");
    }

    #[test]
    fn one_line_joins_the_causes() {
        let err = crate::store::IoError::new(
            std::path::Path::new("x\x1b"),
            std::io::Error::other("boom\nagain"),
        );
        assert_eq!(one_line(&err), "x\\u{1b}: boom again");
    }
}

/// A post a run could not do (archive, check, repair), and why: the
/// others went on.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct PostError {
    pub source: String,
    pub error: String,
}

impl PostError {
    pub(crate) fn new(post: &std::path::Path, error: impl Into<String>) -> PostError {
        PostError {
            source: post.display().to_string(),
            error: error.into(),
        }
    }
}
