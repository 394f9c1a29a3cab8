//! Post folder names: a slug from the command line or a post can never
//! name a folder outside `--out`.

/// Names from Windows that cannot be files, whatever the extension.
const RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];
const MAX_SLUG_BYTES: usize = 100;

/// Makes a slug safe as one folder name: no separators, no `..`, no control
/// characters, no Windows reserved names, at most 100 bytes. `None` when
/// nothing usable is left.
pub fn sanitise_slug(raw: &str) -> Option<String> {
    let mut slug: String = raw
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '-',
            c if c.is_control() => '-',
            c if c.is_whitespace() => '-',
            c => c,
        })
        .collect();
    while slug.contains("..") {
        slug = slug.replace("..", ".");
    }
    let slug = slug.trim_matches(|c: char| c == '.' || c == '-' || c == ' ');
    let mut cut = slug.len().min(MAX_SLUG_BYTES);
    while !slug.is_char_boundary(cut) {
        cut -= 1;
    }
    let slug = slug[..cut].trim_end_matches(['.', '-']);
    if slug.is_empty() {
        return None;
    }
    let stem = slug.split('.').next().unwrap_or(slug).to_ascii_lowercase();
    if RESERVED.contains(&stem.as_str()) {
        return Some(format!("_{slug}"));
    }
    Some(slug.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_cannot_escape() {
        assert_eq!(sanitise_slug("hello-world").as_deref(), Some("hello-world"));
        assert_eq!(
            sanitise_slug("../../etc/passwd").as_deref(),
            Some("etc-passwd")
        );
        assert_eq!(sanitise_slug("/abs/path").as_deref(), Some("abs-path"));
        assert_eq!(sanitise_slug("a\0b").as_deref(), Some("a-b"));
        assert_eq!(sanitise_slug("..").as_deref(), None);
        assert_eq!(sanitise_slug("CON").as_deref(), Some("_CON"));
        assert_eq!(sanitise_slug("nul.txt").as_deref(), Some("_nul.txt"));
        assert_eq!(sanitise_slug("深圳湾 公园").as_deref(), Some("深圳湾-公园"));
        let long = "长".repeat(100);
        let s = sanitise_slug(&long).unwrap();
        assert!(s.len() <= MAX_SLUG_BYTES && s.chars().all(|c| c == '长'));
    }
}
