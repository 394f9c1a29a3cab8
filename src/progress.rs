//! Progress callbacks, so a command can draw a bar without the library
//! knowing about terminals.

/// Told about a concurrent stage as it goes.
pub(crate) trait Progress: Send + Sync {
    /// The stage has `jobs` things to do.
    fn start(&self, _jobs: usize) {}
    /// One is done; `bytes` were stored for it.
    fn done(&self, _url: &str, _bytes: u64) {}
    fn finish(&self) {}
}

/// No progress output.
pub(crate) struct Silent;
impl Progress for Silent {}
