//! File descriptors: a run never fails for lack of them. At start the soft
//! limit is raised to the hard one, as servers do; what is left then sizes
//! the run: requests in flight (each holds a socket, and a download two
//! handles on its temporary file) and idle connections kept for reuse (per
//! host, so a post naming thousands of hosts keeps few or none, while a
//! post of one CDN keeps all it uses).

use std::time::Duration;

/// Kept free for everything else: manifests, locks, the runtime's own.
const RESERVE: u64 = 64;
/// What one request in flight may hold: its socket, a temporary file and a
/// second handle on it for async writes, and a thumbnail being written.
const PER_REQUEST: u64 = 4;
/// An idle connection is closed after this long unused.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Raises the soft limit on open files to the hard limit. Best effort.
pub(crate) fn raise_limit() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current < limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                ..limit
            };
            let _ = setrlimit(Resource::Nofile, raised);
        }
    }
}

/// How a run's connections fit the descriptors it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DescriptorBudget {
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Idle connections kept per host.
    pub idle_per_host: usize,
}

impl DescriptorBudget {
    /// The budget for `concurrency` and `per_host` as asked, `hosts`
    /// distinct hosts, and `free` descriptors.
    pub(crate) fn fit(
        concurrency: usize,
        per_host: usize,
        hosts: usize,
        free: u64,
    ) -> DescriptorBudget {
        let usable = free.saturating_sub(RESERVE);
        let concurrency = (concurrency as u64).min(usable / PER_REQUEST).max(1);
        let idle = usable.saturating_sub(concurrency * PER_REQUEST);
        let idle_per_host = (idle / hosts.max(1) as u64).min(per_host as u64);
        DescriptorBudget {
            concurrency: concurrency as usize,
            idle_per_host: idle_per_host as usize,
        }
    }

    /// The budget on this machine now.
    pub(crate) fn here(concurrency: usize, per_host: usize, hosts: usize) -> DescriptorBudget {
        DescriptorBudget::fit(concurrency, per_host, hosts, free())
    }
}

/// Whether an I/O error says the process (or the system) has no file
/// descriptor left, also when it wraps the error that says so (tempfile
/// adds the path around it).
pub(crate) fn exhausted(err: &std::io::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            #[cfg(unix)]
            if io.raw_os_error().is_some_and(|code| {
                code == rustix::io::Errno::MFILE.raw_os_error()
                    || code == rustix::io::Errno::NFILE.raw_os_error()
            }) {
                return true;
            }
            if let Some(inner) = io.get_ref() {
                next = Some(inner);
                continue;
            }
        }
        next = e.source();
    }
    false
}

/// Descriptors this process may still open: the soft limit less those
/// open now.
fn free() -> u64 {
    #[cfg(unix)]
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    #[cfg(not(unix))]
    let limit = 1024;
    let open = std::fs::read_dir("/proc/self/fd").map_or(16, |d| d.count() as u64);
    limit.saturating_sub(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plenty_of_descriptors_change_nothing() {
        assert_eq!(
            DescriptorBudget::fit(16, 8, 3, 1_000_000),
            DescriptorBudget {
                concurrency: 16,
                idle_per_host: 8
            }
        );
    }

    #[test]
    fn many_hosts_keep_few_idle_connections() {
        let b = DescriptorBudget::fit(16, 8, 1500, 1000);
        assert_eq!(b.concurrency, 16);
        assert_eq!(b.idle_per_host, 0, "{b:?}");
        let b = DescriptorBudget::fit(16, 8, 100, 1000);
        assert_eq!(b.idle_per_host, 8);
        let b = DescriptorBudget::fit(16, 8, 300, 1000);
        assert_eq!(b.idle_per_host, 2);
    }

    #[cfg(unix)]
    #[test]
    fn running_out_is_recognised_through_wrapping() {
        #[derive(Debug, thiserror::Error)]
        #[error("at a path")]
        struct AtPath(#[source] std::io::Error);
        let emfile = std::io::Error::from_raw_os_error(rustix::io::Errno::MFILE.raw_os_error());
        assert!(exhausted(&emfile));
        let wrapped = std::io::Error::other(AtPath(emfile));
        assert!(exhausted(&wrapped));
        assert!(!exhausted(&std::io::Error::from_raw_os_error(
            rustix::io::Errno::NOSPC.raw_os_error()
        )));
    }

    #[test]
    fn few_descriptors_bound_the_requests_in_flight() {
        let b = DescriptorBudget::fit(512, 8, 10, 64 + 40);
        assert_eq!(b.concurrency, 10);
        assert_eq!(
            DescriptorBudget::fit(512, 8, 10, 10).concurrency,
            1,
            "always one"
        );
    }
}
