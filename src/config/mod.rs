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

/// Where a config file was found, which decides what it may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// `--config FILE`: the user named it.
    Named,
    /// `$XDG_CONFIG_HOME/rotproof/config.toml`: the user's own.
    User,
    /// `./rotproof.toml`: the current folder's (a cloned repository's).
    Local,
}

impl Source {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Source::Named => "named by --config",
            Source::User => "yours",
            Source::Local => "this folder's",
        }
    }
}

/// The config files, read and layered.
#[derive(Debug, Default)]
pub(crate) struct Config {
    /// The files read, in order (a later one overrides an earlier one key
    /// by key); empty when there is none.
    pub files: Vec<(PathBuf, Source)>,
    /// Their top-level keys: flags ([`flags`]), applied by the command.
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
    /// The cause is printed after the path, once (by the error's chain).
    #[error("{}", .path.display())]
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

/// The config files to read, in order: `--config FILE` (which must
/// exist) alone; else the user's `$XDG_CONFIG_HOME/rotproof/config.toml`
/// (`~/.config/...` when XDG_CONFIG_HOME is unset), then `./rotproof.toml`,
/// each when it exists.
pub(crate) fn discover(explicit: Option<&Path>) -> Vec<(PathBuf, Source)> {
    if let Some(path) = explicit {
        return vec![(path.to_path_buf(), Source::Named)];
    }
    let mut found = Vec::new();
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")),
    };
    if let Some(user) = base.map(|b| b.join("rotproof").join("config.toml"))
        && user.is_file()
    {
        found.push((user, Source::User));
    }
    let local = PathBuf::from("rotproof.toml");
    if local.is_file() {
        found.push((local, Source::Local));
    }
    found
}

/// Keys a folder's `rotproof.toml` may set only when the user allows it
/// (`trust_local_config = true` in their own file, or
/// `--trust-local-config`): a repository's file must not route every
/// request through its proxy, trust its certificate authority, or send
/// lost URLs to its own "web archive".
const TRUSTED_ONLY: [&str; 2] = ["proxy", "ca_cert"];

/// Reads and layers the config `files` (see [`discover`]): each later
/// file overrides the earlier key by key; the command line overrides them
/// all. A folder's file (`Source::Local`) can never lower `deny_private`,
/// and sets `proxy`, `ca_cert` and `[archives]` endpoints only when
/// `trusted` (the command line's `--trust-local-config`) or the user's
/// own file says `trust_local_config = true`.
pub(crate) fn load(files: Vec<(PathBuf, Source)>, trusted: bool) -> Result<Config, ConfigError> {
    let mut layers = Vec::new();
    for (path, source) in &files {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        layers.push((raw::parse(&text, path)?, *source));
    }
    let says_true = |layer: &raw::Layer, key: &str| {
        layer
            .flags
            .iter()
            .any(|f| f.key == key && f.value == toml::Value::Boolean(true))
    };
    let trusted = trusted
        || layers
            .iter()
            .any(|(l, s)| *s != Source::Local && says_true(l, "trust_local_config"));
    let mut config = Config::default();
    let mut hosts: Vec<(crate::net::hosts::HostPattern, crate::net::hosts::HostRule)> = Vec::new();
    let (mut exclude, mut include, mut remap) = (None, None, None);
    for (layer, source) in layers {
        let local = source == Source::Local;
        for flag in layer.flags {
            if flag.key == "trust_local_config" && local {
                let message = "only your own config file (or --trust-local-config) can trust a folder's rotproof.toml".to_string();
                return Err(flags::invalid(&flag.path, &flag, message));
            }
            if local && !trusted && TRUSTED_ONLY.contains(&flag.key.as_str()) {
                return Err(flags::invalid(&flag.path, &flag, untrusted(&flag.key)));
            }
            // A folder's file can never turn off what the user turned on.
            let lowers =
                local && flag.key == "deny_private" && flag.value != toml::Value::Boolean(true);
            if lowers {
                continue;
            }
            config.flags.retain(|f| f.key != flag.key);
            config.flags.push(flag);
        }
        for (key, endpoint) in [
            ("archives.wayback", &layer.wayback),
            ("archives.timegate", &layer.timegate),
        ] {
            if let (true, false, Some((_, line))) = (local, trusted, endpoint) {
                return Err(ConfigError::Invalid {
                    path: layer.path.clone(),
                    line: Some(*line),
                    key: key.to_string(),
                    message: untrusted(key),
                });
            }
        }
        for (pattern, rule) in layer.hosts {
            hosts.retain(|(p, _)| *p != pattern);
            hosts.push((pattern, rule));
        }
        exclude = layer.exclude.or(exclude);
        include = layer.include.or(include);
        remap = layer.remap.or(remap);
        if let Some(placeholders) = layer.placeholders {
            config.rules.placeholders = placeholders;
        }
        if let Some(archives) = layer.archives {
            config.archives.enabled = Some(archives);
        }
        if let Some((url, _)) = layer.wayback {
            config.archives.wayback = url;
        }
        if let Some((url, _)) = layer.timegate {
            config.archives.timegate = url;
        }
    }
    config.hosts = HostRules::new(hosts);
    config.rules.filter = UrlFilter::new(exclude.unwrap_or_default(), include.unwrap_or_default())
        .map_err(|message| ConfigError::Invalid {
            path: config_path(&files),
            line: None,
            key: String::new(),
            message,
        })?;
    config.rules.remap = Remaps::new(remap.unwrap_or_default());
    config.files = files;
    Ok(config)
}

/// The last config file read, for an error of the layered whole.
fn config_path(files: &[(PathBuf, Source)]) -> PathBuf {
    files.last().map(|(p, _)| p.clone()).unwrap_or_default()
}

/// Why a folder's file may not set `key`.
fn untrusted(key: &str) -> String {
    format!(
        "a folder's rotproof.toml may not set {key} (it could see or redirect every request): set it in your own config file, or allow this folder's with `trust_local_config = true` there or --trust-local-config"
    )
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
        let config =
            load(vec![(path.clone(), Source::Named)], false).unwrap_or_else(|e| panic!("{e}"));
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
        flags::arguments(&cli, "check", given, &config.flags).unwrap_or_else(|e| panic!("{e}"));
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
        let config =
            load(vec![(path.clone(), Source::Named)], false).unwrap_or_else(|e| panic!("{e}"));
        let zhihu = Url::parse("https://pic3.zhimg.com/v2-abc.jpg").unwrap();
        assert_eq!(
            config.hosts.for_url(&zhihu).and_then(|r| r.referer.clone()),
            Some(Referer::None)
        );

        std::fs::write(&path, &examples[2]).unwrap();
        let config =
            load(vec![(path.clone(), Source::Named)], false).unwrap_or_else(|e| panic!("{e}"));
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
        let err = load(vec![(path.clone(), Source::Named)], false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("c.toml:4: hosts.\"a.example\".concurrency: "),
            "{err}"
        );
        assert!(err.contains("out of range"), "{err}");
    }
}
