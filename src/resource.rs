//! References grouped into resources: one per normalised URL (or local
//! file), keeping every occurrence, in order of first appearance.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use url::Url;

use std::ops::Range;

use crate::post::Post;
use crate::reference::{Kind, Place, Reference, Syntax};
use crate::urls::{self, Target};

/// What a resource is, once resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Remote(Url),
    /// A file inside the post's folder, on disk.
    Local {
        /// Its path relative to the post, as written (decoded).
        relative: String,
        file: PathBuf,
    },
    /// Recorded but not fetched, with the reason.
    Skipped {
        /// The text as written.
        text: String,
        reason: String,
    },
}

/// One distinct thing a post refers to.
#[derive(Debug, Clone)]
pub struct Resource {
    /// Where it comes from, which names it ([`Resource::key`]).
    pub origin: Origin,
    /// Image when any occurrence embeds it.
    pub kind: Kind,
    pub occurrences: Vec<Mention>,
}

/// Where a resource is written in the post: a [`Reference`] without its
/// URL text, which the resource's key stands for once grouped (a post of
/// a million URLs does not hold each a third time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub place: Place,
    pub syntax: Syntax,
    /// Byte range of the URL text as written in the file.
    pub span: Range<usize>,
    /// 1-based line of `span.start`.
    pub line: usize,
}

impl Mention {
    /// The exact source text that is (or would be) replaced.
    pub fn raw<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.span.clone()).unwrap_or("")
    }

    pub fn is_rewritable(&self) -> bool {
        self.syntax.is_rewritable()
    }
}

impl From<Reference> for Mention {
    fn from(r: Reference) -> Mention {
        Mention {
            place: r.place,
            syntax: r.syntax,
            span: r.span,
            line: r.line,
        }
    }
}

impl Resource {
    /// The dedup key, and the manifest's `url`: the normalised URL, the
    /// relative path of a local file, or the text as written when skipped.
    /// (Read from the origin, not kept beside it: a post of a million URLs
    /// holds each once.)
    pub fn key(&self) -> &str {
        match &self.origin {
            Origin::Remote(url) => url.as_str(),
            Origin::Local { relative, .. } => relative,
            Origin::Skipped { text, .. } => text,
        }
    }
}

/// How relative references are resolved.
#[derive(Debug, Clone, Default)]
pub struct Resolve<'a> {
    /// `--base-url`: relative URLs are resolved against it.
    pub base_url: Option<&'a Url>,
    /// The post's folder, where relative paths may name local files. `None`
    /// skips them.
    pub post_dir: Option<&'a Path>,
    /// The post's file stem: Hexo's asset tags name files in the folder of
    /// that name beside it (`post_asset_folder`).
    pub post_stem: Option<&'a str>,
}

/// Groups a post's references into resources. The references move into
/// them (the post keeps none): a post of a million references holds each
/// once.
pub fn resources(post: &mut Post, resolve: &Resolve<'_>) -> Vec<Resource> {
    let mut out: Vec<Resource> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for reference in post.take_references() {
        let target = match (&reference.syntax, resolve.post_stem) {
            // A file of the post's asset folder, whatever `--base-url` says.
            (Syntax::HexoAsset(_), Some(stem)) if !reference.url.contains("://") => {
                let file = percent_encoding::percent_decode_str(&reference.url).decode_utf8_lossy();
                Some(Target::Local(format!("{stem}/{file}")))
            }
            _ => urls::classify(&reference.url, resolve.base_url),
        };
        let Some(target) = target else {
            continue;
        };
        let origin = match target {
            Target::Remote(url) => Origin::Remote(url),
            Target::Local(relative) => {
                let origin = match resolve.post_dir {
                    Some(dir) => local_file(dir, relative),
                    None => Origin::Skipped {
                        text: relative,
                        reason: "relative path: give --base-url to resolve it".to_string(),
                    },
                };
                // In the front matter, a relative value that is not a file
                // of the post's folder is a site path, not a reference.
                let in_front_matter = matches!(reference.place, Place::FrontMatter { .. });
                if in_front_matter && matches!(origin, Origin::Skipped { .. }) {
                    continue;
                }
                origin
            }
            Target::Skipped(reason) => Origin::Skipped {
                text: reference.url.trim().to_string(),
                reason,
            },
        };
        let key = match &origin {
            Origin::Remote(url) => url.as_str(),
            Origin::Local { relative, .. } => relative,
            Origin::Skipped { text, .. } => text,
        };
        match index.get(key) {
            Some(&i) => {
                let resource = &mut out[i];
                resource.kind = resource.kind.merge(reference.kind);
                resource.occurrences.push(reference.into());
            }
            None => {
                index.insert(key.to_string(), out.len());
                out.push(Resource {
                    origin,
                    kind: reference.kind,
                    occurrences: vec![reference.into()],
                });
            }
        }
    }
    // Kept until the post is written: not the doubled capacity it grew to.
    out.shrink_to_fit();
    out
}

/// Checks that a relative path names a regular file inside `dir`, without
/// `..` or a symlink leading out of it.
fn local_file(dir: &Path, relative: String) -> Origin {
    let skipped = |reason: &str| Origin::Skipped {
        text: relative.clone(),
        reason: reason.to_string(),
    };
    let mut clean = PathBuf::new();
    for component in Path::new(&relative).components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !clean.pop() {
                    return skipped("path escapes the post's folder");
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return skipped("absolute path: give --base-url to resolve it");
            }
        }
    }
    let file = dir.join(&clean);
    let (Ok(real_dir), Ok(real_file)) = (dir.canonicalize(), file.canonicalize()) else {
        return skipped("no such file next to the post");
    };
    if !real_file.starts_with(&real_dir) {
        return skipped("path leads outside the post's folder (symlink)");
    }
    if !real_file.is_file() {
        return skipped("not a regular file");
    }
    Origin::Local {
        relative,
        file: real_file,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(src: &str) -> Post {
        Post::parse(src.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn one_resource_per_normalised_url_in_first_seen_order() {
        let mut p = post(
            "[a](https://x.example/b#one)\n![](HTTPS://X.example/b)\n![](https://x.example/c)\n",
        );
        let got = resources(&mut p, &Resolve::default());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].key(), "https://x.example/b");
        assert_eq!(got[0].occurrences.len(), 2);
        assert_eq!(got[0].kind, Kind::Image, "embedded once makes it an image");
        assert_eq!(got[1].key(), "https://x.example/c");
    }

    #[test]
    fn local_files_inside_the_folder_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("img")).unwrap();
        std::fs::write(dir.path().join("img/a b.png"), b"x").unwrap();
        let mut p = post("![](img/a%20b.png) ![](../secret.png) ![](missing.png)\n");
        let resolve = Resolve {
            post_dir: Some(dir.path()),
            ..Resolve::default()
        };
        let got = resources(&mut p, &resolve);
        assert!(
            matches!(got[0].origin, Origin::Local { .. }),
            "{:?}",
            got[0]
        );
        assert!(
            matches!(&got[1].origin, Origin::Skipped { reason, .. } if reason.contains("escapes"))
        );
        assert!(
            matches!(&got[2].origin, Origin::Skipped { reason, .. } if reason.contains("no such file"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlink_out_of_the_folder_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.png"), b"x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.png"),
            dir.path().join("link.png"),
        )
        .unwrap();
        let mut p = post("![](link.png)\n");
        let resolve = Resolve {
            post_dir: Some(dir.path()),
            ..Resolve::default()
        };
        let got = resources(&mut p, &resolve);
        assert!(
            matches!(&got[0].origin, Origin::Skipped { reason, .. } if reason.contains("symlink"))
        );
    }
}
