//! A config file's top-level keys are the long flags, with `-` written
//! `_` (`per_host = 4` is `--per-host 4`). They are not listed anywhere
//! but in the command line's own declaration (`crate::cli`): a key is a
//! flag when some command has that long flag, its value is checked by the
//! flag's own value parser, and it is given to the command as extra
//! arguments, unless the command line (or the environment) gave that flag:
//! then the command line wins. One declaration gives the clap argument,
//! the TOML key, the value's check and the precedence.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command};

use super::ConfigError;

/// Flags a config file may not set: they name what one run is about.
/// (`trust_local_config` is read by [`super::load`] itself.)
const NOT_IN_A_FILE: [&str; 3] = ["config", "slug", "dry-run"];

/// Flags whose value is a path relative to the config file's folder, not
/// to where rotproof runs.
const BESIDE_THE_FILE: [&str; 1] = ["ca-cert"];

/// One top-level key of a config file, as it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FileFlag {
    /// The file that says it.
    pub path: PathBuf,
    /// The key (`per_host`).
    pub key: String,
    /// 1-based line of its value.
    pub line: usize,
    pub value: toml::Value,
}

/// The flag a key names: `per_host` → `per-host`.
fn long(key: &str) -> String {
    key.replace('_', "-")
}

/// The arguments the file gives the command `name` of `cli`, for the
/// flags `given` (what clap saw of that command) did not get from the
/// command line or the environment. Every key is checked, whichever
/// command it is for, by that flag's own parser: an unknown key or a bad
/// value is an error, never ignored (a misspelt flag silently doing
/// nothing is how images get lost), even when the command line overrides
/// it or another command takes it.
pub(crate) fn arguments(
    cli: &Command,
    name: &str,
    given: &ArgMatches,
    flags: &[FileFlag],
) -> Result<Vec<OsString>, ConfigError> {
    let mut out = Vec::new();
    for flag in flags {
        let path = flag.path.as_path();
        let long = long(&flag.key);
        if NOT_IN_A_FILE.contains(&long.as_str()) {
            let message = format!("not for a config file: give --{long} on the command line");
            return Err(invalid(path, flag, message));
        }
        let taking = cli.get_subcommands().find_map(|sub| {
            let arg = sub.get_arguments().find(|a| a.get_long() == Some(&long))?;
            Some((sub, arg))
        });
        let Some((some_command, arg)) = taking else {
            return Err(invalid(path, flag, "unknown key".to_string()));
        };
        let args = as_arguments(some_command, arg, flag)?;
        // This command's own flag of that name, if it has one.
        let Some(ours) = cli
            .find_subcommand(name)
            .and_then(|c| c.get_arguments().find(|a| a.get_long() == Some(&long)))
        else {
            continue;
        };
        let from_command_line = matches!(
            given.value_source(ours.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        if !from_command_line {
            out.extend(args);
        }
    }
    Ok(out)
}

/// One key's value as the command line would give it to `arg` (a flag of
/// `command`), checked by the flag's own parser.
fn as_arguments(
    command: &Command,
    arg: &clap::Arg,
    flag: &FileFlag,
) -> Result<Vec<OsString>, ConfigError> {
    let path = flag.path.as_path();
    let long = long(&flag.key);
    let switch = matches!(arg.get_action(), ArgAction::SetTrue);
    let many = matches!(arg.get_action(), ArgAction::Append);
    let texts: Vec<String> = match (&flag.value, switch, many) {
        (toml::Value::Boolean(on), true, _) => {
            return Ok(if *on {
                vec![OsString::from(format!("--{long}"))]
            } else {
                Vec::new()
            });
        }
        (_, true, _) => return Err(invalid(path, flag, "give true or false".to_string())),
        (toml::Value::Array(items), _, true) => items
            .iter()
            .map(|v| {
                scalar(v).ok_or_else(|| invalid(path, flag, "give a list of values".to_string()))
            })
            .collect::<Result<_, _>>()?,
        (toml::Value::Array(_), _, false) => {
            return Err(invalid(
                path,
                flag,
                "give one value, not a list".to_string(),
            ));
        }
        (value, _, _) => {
            vec![scalar(value).ok_or_else(|| invalid(path, flag, "give a value".to_string()))?]
        }
    };
    let folder = crate::store::parent_or_dot(path);
    let mut out = Vec::new();
    for mut text in texts {
        if BESIDE_THE_FILE.contains(&long.as_str()) && Path::new(&text).is_relative() {
            text = folder.join(&text).to_string_lossy().into_owned();
        }
        let pair = [OsString::from(format!("--{long}")), OsString::from(text)];
        // The flag alone, through the command's own parser: its value
        // parser's words, with this key's line.
        command
            .clone()
            .no_binary_name(true)
            .mut_args(|a| a.required(false))
            .try_get_matches_from(&pair)
            .map_err(|e| invalid(path, flag, clap_message(&e)))?;
        out.extend(pair);
    }
    Ok(out)
}

/// A TOML scalar as the command line would write it.
fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(n) => Some(n.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

/// What a value parser said, on one line: its own words when it gave
/// some, else clap's (without its `error:` and usage lines).
fn clap_message(err: &clap::Error) -> String {
    if let Some(source) = std::error::Error::source(err) {
        return source.to_string();
    }
    let text = err.to_string();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn invalid(path: &Path, flag: &FileFlag, message: String) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line: Some(flag.line),
        key: flag.key.clone(),
        message,
    }
}
