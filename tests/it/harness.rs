//! Running the real binary: one way to start it (proxy variables removed,
//! so loopback traffic is never captured by a CI proxy), a [`Run`] whose
//! `.code(n)` prints both outputs when the exit code is not the one
//! expected, a scratch [`Site`] per test, and one [`wait_until`].

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::time::{Duration, Instant};

/// A finished run of the binary.
pub(crate) struct Run {
    output: Output,
}

impl Deref for Run {
    type Target = Output;
    fn deref(&self) -> &Output {
        &self.output
    }
}

impl Run {
    /// Asserts the exit code, printing stdout and stderr when it differs.
    #[track_caller]
    pub(crate) fn code(&self, want: i32) -> &Run {
        self.code_with(want, "")
    }

    /// [`Run::code`], saying which case of a table this was.
    #[track_caller]
    pub(crate) fn code_with(&self, want: i32, case: impl std::fmt::Display) -> &Run {
        assert_eq!(
            self.output.status.code(),
            Some(want),
            "{case}\n--- stdout\n{}\n--- stderr\n{}",
            stdout(self),
            stderr(self)
        );
        self
    }

    pub(crate) fn stdout(&self) -> String {
        stdout(self)
    }

    pub(crate) fn stderr(&self) -> String {
        stderr(self)
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.output.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stdout(self)))
    }
}

/// Runs the binary in `cwd` (off the async runtime, so test servers keep
/// answering).
pub(crate) async fn rotproof(args: Vec<String>, cwd: &Path) -> Run {
    rotproof_env(args, cwd, &[]).await
}

/// [`rotproof`] with extra environment variables.
pub(crate) async fn rotproof_env(args: Vec<String>, cwd: &Path, env: &[(&str, &str)]) -> Run {
    let mut cmd = command(&args, cwd);
    cmd.envs(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let output = tokio::task::spawn_blocking(move || cmd.output().expect("run rotproof"))
        .await
        .expect("join");
    Run { output }
}

/// Runs a command made by [`command`], from blocking code.
pub(crate) fn run(cmd: &mut std::process::Command) -> Run {
    Run {
        output: cmd.output().expect("run rotproof"),
    }
}

/// Starts the binary without waiting for it (for kill and signal tests);
/// stdout and stderr are piped.
pub(crate) fn spawn_rotproof(args: &[&str], cwd: &Path) -> Child {
    command(args, cwd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn rotproof")
}

/// The binary, in `cwd`, without the machine's proxy variables.
pub(crate) fn command(args: &[impl AsRef<std::ffi::OsStr>], cwd: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rotproof"));
    cmd.args(args).current_dir(cwd);
    for var in PROXY_VARIABLES {
        cmd.env_remove(var);
    }
    // The machine's own config file (~/.config/rotproof/config.toml) never
    // reaches a test: a test that wants one writes ./rotproof.toml or
    // passes --config.
    cmd.env("XDG_CONFIG_HOME", cwd.join(".no-user-config"));
    // No test reaches the real web.archive.org: a resource that is gone
    // stays failed unless a test asks for a (loopback) web archive with
    // `--archives`, which wins over this.
    cmd.env("ROTPROOF_ARCHIVES", "none");
    cmd
}

/// Runs a shell script in `cwd` (for a umask, say), without the machine's
/// proxy variables.
pub(crate) fn shell(script: &str, cwd: &Path) -> Run {
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", script]).current_dir(cwd);
    for var in PROXY_VARIABLES {
        cmd.env_remove(var);
    }
    run(&mut cmd)
}

/// Removed from every child: loopback traffic must never be captured by a
/// CI proxy.
const PROXY_VARIABLES: [&str; 8] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Waits for a condition, checking every few milliseconds, up to a limit:
/// the one way tests wait for another process.
pub(crate) async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits for a child to exit; its exit code.
pub(crate) async fn wait_exit(child: &mut Child) -> Option<i32> {
    let mut status = None;
    wait_until("rotproof to stop", Duration::from_secs(20), || {
        status = child.try_wait().expect("try_wait");
        status.is_some()
    })
    .await;
    status.and_then(|s| s.code())
}

/// Asserts that the manifest entry for `url` failed with a reason that
/// contains `reason`; returns the entry.
#[track_caller]
pub(crate) fn assert_failed(
    manifest: &serde_json::Value,
    url: &str,
    reason: &str,
) -> serde_json::Value {
    let e = entry(manifest, url).clone();
    assert_eq!(e["status"], "failed", "{url}: {e:#}");
    let error = e["error"].as_str().unwrap_or("");
    assert!(
        error.contains(reason),
        "{url}: {error:?} should say {reason:?}"
    );
    e
}

pub(crate) fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A scratch folder with a post in it.
pub(crate) struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    pub(crate) fn new() -> Site {
        Site {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write post");
        path
    }

    /// Writes the user's own config file (the one [`command`] points
    /// `XDG_CONFIG_HOME` at): trusted, unlike a folder's `rotproof.toml`,
    /// to set web archive endpoints, a proxy or a CA.
    pub(crate) fn write_user_config(&self, text: &str) -> PathBuf {
        self.write(".no-user-config/rotproof/config.toml", text)
    }

    pub(crate) fn manifest(&self, slug: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(
            self.dir
                .path()
                .join("archive")
                .join(slug)
                .join(".rotproof/manifest.json"),
        )
        .expect("manifest.json");
        serde_json::from_str(&text).expect("manifest is JSON")
    }

    pub(crate) fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Every file under the folder whose name ends with `.part`.
    pub(crate) fn leftover_temp_files(&self) -> Vec<PathBuf> {
        walk(self.dir.path())
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".part"))
            .collect()
    }
}

/// Every file under `dir`, recursively.
pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The manifest entry for a URL.
#[track_caller]
pub(crate) fn entry<'a>(manifest: &'a serde_json::Value, url: &str) -> &'a serde_json::Value {
    manifest["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|e| e["url"] == url))
        .unwrap_or_else(|| panic!("no entry for {url} in {manifest:#}"))
}
