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

#[cfg(test)]
mod tests {
    use super::*;

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
