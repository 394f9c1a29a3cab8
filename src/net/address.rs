//! Which addresses a request may go to. A post is untrusted input: a link
//! that redirects to the machine's own services, or to a cloud metadata
//! service, must not be fetched and archived (and then bundled and
//! published).
//!
//! Always refused: a redirect to a link-local address (169.254.0.0/16,
//! fe80::/10), and a redirect from a host that is not loopback to one that
//! is. With `--deny-private`, every request whose host is (or resolves to)
//! a loopback, private (RFC 1918, fc00::/7), link-local, shared
//! (100.64.0.0/10) or unspecified address. Literal addresses are checked
//! here, on every hop; names after DNS, in the resolver
//! ([`super::client`]).

use std::net::IpAddr;

use url::{Host, Url};

/// The class of an address, as the rules above see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    Loopback,
    LinkLocal,
    /// Private, shared or unspecified: the machine's networks.
    Private,
    Public,
}

impl Reach {
    pub(crate) fn of(ip: IpAddr) -> Reach {
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let [a, b, ..] = v4.octets();
                if v4.is_loopback() {
                    Reach::Loopback
                } else if v4.is_link_local() {
                    Reach::LinkLocal
                } else if v4.is_private()
                    || v4.is_unspecified()
                    || (a == 100 && (64..128).contains(&b))
                {
                    Reach::Private
                } else {
                    Reach::Public
                }
            }
            IpAddr::V6(v6) => {
                let first = v6.segments()[0];
                if v6.is_loopback() {
                    Reach::Loopback
                } else if first & 0xffc0 == 0xfe80 {
                    Reach::LinkLocal
                } else if first & 0xfe00 == 0xfc00 || v6.is_unspecified() {
                    Reach::Private
                } else {
                    Reach::Public
                }
            }
        }
    }

    /// Refused by `--deny-private`.
    pub(crate) fn is_private(self) -> bool {
        self != Reach::Public
    }
}

/// The class of a URL's host when it is a literal address (or
/// `localhost`); `None` for a name, which only DNS can tell.
pub(crate) fn literal(url: &Url) -> Option<Reach> {
    match url.host()? {
        Host::Ipv4(v4) => Some(Reach::of(IpAddr::V4(v4))),
        Host::Ipv6(v6) => Some(Reach::of(IpAddr::V6(v6))),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            (name == "localhost" || name.ends_with(".localhost")).then_some(Reach::Loopback)
        }
    }
}

/// Whether a request to `next` is refused. `from` is the URL that
/// redirected to it (`None` for the first request).
pub(crate) fn refused(next: &Url, from: Option<&Url>, deny_private: bool) -> bool {
    let to = literal(next);
    if deny_private && to.is_some_and(Reach::is_private) {
        return true;
    }
    let Some(from) = from else {
        return false;
    };
    match to {
        Some(Reach::LinkLocal) => true,
        Some(Reach::Loopback) => literal(from) != Some(Reach::Loopback),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn address_classes() {
        let reach = |s: &str| Reach::of(s.parse().expect("an address"));
        assert_eq!(reach("127.0.0.5"), Reach::Loopback);
        assert_eq!(reach("::1"), Reach::Loopback);
        assert_eq!(reach("::ffff:127.0.0.1"), Reach::Loopback);
        assert_eq!(reach("169.254.169.254"), Reach::LinkLocal);
        assert_eq!(reach("fe80::1"), Reach::LinkLocal);
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "fd00::1",
        ] {
            assert_eq!(reach(private), Reach::Private, "{private}");
        }
        for public in ["93.184.216.34", "100.128.0.1", "2606:4700::1"] {
            assert_eq!(reach(public), Reach::Public, "{public}");
        }
    }

    #[test]
    fn redirects_to_metadata_services_and_into_loopback_are_always_refused() {
        let public = url("https://example.com/a");
        let metadata = url("http://169.254.169.254/latest/meta-data/");
        let local = url("http://127.0.0.1:8080/admin");
        assert!(!refused(&metadata, None, false), "named by the post itself");
        assert!(refused(&metadata, Some(&public), false));
        assert!(refused(&local, Some(&public), false));
        assert!(refused(&url("http://localhost/x"), Some(&public), false));
        assert!(
            !refused(&local, Some(&url("http://127.0.0.1:9/")), false),
            "loopback to loopback: a local test site"
        );
        assert!(!refused(
            &url("https://cdn.example/x"),
            Some(&public),
            false
        ));
    }

    #[test]
    fn deny_private_refuses_every_private_literal() {
        assert!(refused(&url("http://10.0.0.1/"), None, true));
        assert!(refused(&url("http://[::1]/"), None, true));
        assert!(!refused(&url("http://10.0.0.1/"), None, false));
        assert!(
            !refused(&url("https://example.com/"), None, true),
            "names: after DNS"
        );
    }
}
