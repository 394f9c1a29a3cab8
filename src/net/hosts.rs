//! Per-host limits: at most `--per-host` requests in flight to one host
//! (the run-wide `--concurrency` is the concurrent stage's own bound, see
//! [`super::stage`]). Per-host settings from a config file attach here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

/// A host as limits see it: its name (or address) and port, so
/// `http://a.example` and `https://a.example` are two hosts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostKey(String);

impl HostKey {
    pub fn of(url: &Url) -> HostKey {
        HostKey(format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        ))
    }
}

/// Every host's limit, made on first use.
#[derive(Debug)]
pub struct Hosts {
    per_host: usize,
    limits: Mutex<HashMap<HostKey, Arc<Semaphore>>>,
}

impl Hosts {
    pub fn new(per_host: usize) -> Hosts {
        Hosts {
            per_host: per_host.max(1),
            limits: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a slot to `url`'s host; the slot is held until the permit
    /// is dropped (the request and its whole body). `None` only if the
    /// semaphore was closed, which nothing does.
    pub async fn acquire(&self, url: &Url) -> Option<OwnedSemaphorePermit> {
        let limit = {
            let mut limits = self.limits.lock().unwrap_or_else(|e| e.into_inner());
            limits
                .entry(HostKey::of(url))
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone()
        };
        limit.acquire_owned().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn a_host_is_its_name_and_port() {
        assert_eq!(
            HostKey::of(&url("https://a.example/x")),
            HostKey::of(&url("https://a.example:443/y"))
        );
        assert_ne!(
            HostKey::of(&url("http://a.example/")),
            HostKey::of(&url("https://a.example/"))
        );
    }

    #[tokio::test]
    async fn at_most_per_host_in_flight_to_one_host_others_unaffected() {
        let hosts = Hosts::new(2);
        let a = url("https://a.example/");
        let first = hosts.acquire(&a).await;
        let _second = hosts.acquire(&a).await;
        let third = hosts.acquire(&a);
        tokio::pin!(third);
        assert!(
            futures::poll!(third.as_mut()).is_pending(),
            "a third request to a host waits"
        );
        let _other = hosts.acquire(&url("https://b.example/")).await;
        drop(first);
        assert!(futures::poll!(third.as_mut()).is_ready());
    }
}
