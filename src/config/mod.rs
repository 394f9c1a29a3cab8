//! The config file, `rotproof.toml` (the README's "The config file"): found by
//! [`discover`], read by [`load`] into typed settings. Its top-level keys
//! are the long flags ([`flags`]: checked by each flag's own parser; a
//! flag given on the command line wins). Beside
//! them: URL filters ([`filter`]), per-host rules (which attach to
//! [`crate::net::hosts`]), remap rules ([`remap`]), placeholder images
//! ([`crate::acquire::placeholder`]) and web archive endpoints.
//!
//! Every error names the file, the line and the key: an unknown key is an
//! error, never ignored, since a misspelt `referer` silently doing nothing
//! is how images get lost.

pub(crate) mod filter;
pub(crate) mod flags;
mod raw;
pub(crate) mod remap;
pub(crate) mod values;

use std::path::{Path, PathBuf};

use url::Url;

pub(crate) use filter::UrlFilter;
pub(crate) use remap::Remaps;

pub(crate) use crate::acquire::archives::WebArchive;
use crate::acquire::placeholder::Placeholders;
use crate::net::hosts::HostRules;

/// Which web archives to ask, and where they are (`[archives]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Archives {
    /// `use`: the archives to ask, in order; empty for `["none"]`; `None`
    /// when the file does not say.
    pub enabled: Option<Vec<WebArchive>>,
    pub wayback: Url,
    pub timegate: Url,
}

impl Default for Archives {
    fn default() -> Self {
        let (wayback, timegate) = crate::acquire::archives::default_endpoints();
        Archives {
            enabled: None,
            wayback,
            timegate,
        }
    }
}

/// A config file, read.
#[derive(Debug, Default)]
pub(crate) struct Config {
    /// Where it was read from; `None` when there is none.
    pub path: Option<PathBuf>,
    /// Its top-level keys: flags ([`flags`]), applied by the command.
    pub flags: Vec<flags::FileFlag>,
    /// `[hosts."…"]`: they go to the network ([`crate::net::NetOptions`]).
    pub hosts: HostRules,
    pub rules: Rules,
    pub archives: Archives,
}

/// What a run does with the URLs it finds, beside the network settings:
/// which it fetches, which variant it tries first, and which images are
/// not the real image.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    pub filter: UrlFilter,
    pub remap: Remaps,
    pub placeholders: Placeholders,
}

/// A config file that cannot be used: exit 1.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("{}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Bad TOML, an unknown key, a bad value: where and which key.
    #[error("{}{}: {}{message}", .path.display(), line_suffix(*.line), key_prefix(.key))]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        key: String,
        message: String,
    },
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("{key}: ")
    }
}

/// The config file to read: `--config FILE` (which must exist), else
/// `./rotproof.toml`, else `$XDG_CONFIG_HOME/rotproof/config.toml`
/// (`~/.config/...` when XDG_CONFIG_HOME is unset); `None` when there is
/// none.
pub(crate) fn discover(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    let local = PathBuf::from("rotproof.toml");
    if local.is_file() {
        return Some(local);
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    let user = base.join("rotproof").join("config.toml");
    user.is_file().then_some(user)
}

/// Reads the config file at `path` (or the empty config for `None`).
/// Paths it names (`ca_cert`, placeholder files) are relative to its
/// folder; `out` is relative to where rotproof runs, as on the command
/// line.
pub(crate) fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut config = raw::parse(&text, path)?;
    config.path = Some(path.to_path_buf());
    Ok(config)
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Referer;
    use std::time::Duration;

    /// A config file's flag, by key.
    fn flag<'a>(config: &'a Config, key: &str) -> Option<&'a toml::Value> {
        config.flags.iter().find(|f| f.key == key).map(|f| &f.value)
    }

    /// The TOML blocks of the README's config sections, in order.
    fn readme_examples() -> Vec<String> {
        let readme = include_str!("../../README.md");
        let start = readme.find("## The config file").expect("the section");
        let end = readme.find("## The archived folder").expect("the next one");
        readme[start..end]
            .split("```toml\n")
            .skip(1)
            .filter_map(|block| block.split("```").next())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_readme_examples_are_valid_config_files() {
        let examples = readme_examples();
        assert_eq!(
            examples.len(),
            3,
            "the complete example, the CDN examples, the pywb example"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("placeholders")).unwrap();
        for name in ["wechat.png", "qq.png"] {
            image::RgbImage::from_pixel(40, 30, image::Rgb([200, 200, 200]))
                .save(dir.path().join("placeholders").join(name))
                .unwrap();
        }
        let path = dir.path().join("rotproof.toml");
        std::fs::write(&path, &examples[0]).unwrap();
        let config = load(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(flag(&config, "per_host"), Some(&toml::Value::Integer(4)));
        assert_eq!(
            flag(&config, "max_bytes").and_then(|v| v.as_str()),
            Some("50MiB")
        );
        assert_eq!(
            flag(&config, "stale_after").and_then(|v| v.as_str()),
            Some("7d")
        );
        // Every flag of the example is one the command line has, with a
        // value its parser takes.
        let cli = <crate::cli::Cli as clap::CommandFactory>::command();
        let given = cli.clone().get_matches_from(["rotproof", "check"]);
        let given = given.subcommand_matches("check").expect("check");
        flags::arguments(&cli, "check", given, &config.flags, &path)
            .unwrap_or_else(|e| panic!("{e}"));
        let weibo = Url::parse("https://wx1.sinaimg.cn/large/x.jpg").unwrap();
        let rule = config.hosts.for_url(&weibo).expect("the *.sinaimg.cn rule");
        assert_eq!(rule.request_interval, Some(Duration::from_millis(500)));
        assert_eq!(
            rule.referer,
            Some(Referer::Url(Box::new(
                Url::parse("https://weibo.com/").unwrap()
            )))
        );
        assert!(
            config
                .rules
                .filter
                .refusal("https://ads.example.com/a.png")
                .is_some()
        );
        let gtimg = Url::parse("https://inews.gtimg.com/om_bt/Abc/641").unwrap();
        assert!(config.rules.remap.variant(&gtimg).is_some());
        assert!(!config.rules.placeholders.is_empty());
        assert_eq!(config.archives.enabled, Some(vec![WebArchive::Wayback]));

        std::fs::write(&path, &examples[1]).unwrap();
        let config = load(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
        let zhihu = Url::parse("https://pic3.zhimg.com/v2-abc.jpg").unwrap();
        assert_eq!(
            config.hosts.for_url(&zhihu).and_then(|r| r.referer.clone()),
            Some(Referer::None)
        );

        std::fs::write(&path, &examples[2]).unwrap();
        let config = load(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.archives.enabled, Some(vec![WebArchive::Memento]));
        assert_eq!(config.archives.timegate.port(), Some(8080));
    }

    #[test]
    fn an_error_names_the_line_of_the_bad_value_and_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "retries = 2\n\n[hosts.\"a.example\"]\nconcurrency = 5000\n",
        )
        .unwrap();
        let err = load(Some(&path)).unwrap_err().to_string();
        assert!(
            err.contains("c.toml:4: hosts.\"a.example\".concurrency: "),
            "{err}"
        );
        assert!(err.contains("out of range"), "{err}");
    }
}
