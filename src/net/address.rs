//! Which addresses a request may go to. A post is untrusted input: a link
//! that redirects to the machine's own services, or to a cloud metadata
//! service, must not be fetched and archived (and then bundled and
//! published).
//!
//! Always refused: a redirect to a link-local address (169.254.0.0/16,
//! fe80::/10), and a redirect from a host that is not loopback to one that
//! is (0.0.0.0/8 and `::` count as loopback: connecting to them reaches
//! the machine itself). These rules hold for what a name resolves to, not
//! only for literal addresses: every redirect hop's name is resolved and
//! checked before the request ([`redirect_refused`]), and the address the
//! answer actually came from is checked after it (a name that resolves
//! otherwise the second time gains nothing). With `--deny-private`, every
//! request whose host is (or resolves to) a loopback, private (RFC 1918,
//! fc00::/7), link-local, shared (100.64.0.0/10) or unspecified address
//! is refused, in the resolver ([`super::client`]).

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
        if seam::counts_as_public(ip) {
            return Reach::Public;
        }
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let [a, b, ..] = v4.octets();
                if v4.is_loopback() || a == 0 {
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
                if v6.is_loopback() || v6.is_unspecified() {
                    Reach::Loopback
                } else if first & 0xffc0 == 0xfe80 {
                    Reach::LinkLocal
                } else if first & 0xfe00 == 0xfc00 {
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

/// Whether a request to `next` is refused by what its URL alone says (a
/// literal address, `localhost`). `from` is the class of the hop that
/// redirected to it (`None` for the first request).
pub(crate) fn refused(next: &Url, from: Option<Reach>, deny_private: bool) -> bool {
    let to = literal(next);
    if deny_private && to.is_some_and(Reach::is_private) {
        return true;
    }
    match (from, to) {
        (Some(from), Some(to)) => redirect_refused(from, to),
        _ => false,
    }
}

/// The always-on rule for a redirect from a hop of class `from` to an
/// address of class `to`: never to link-local (metadata services), never
/// from outside the machine into it.
pub(crate) fn redirect_refused(from: Reach, to: Reach) -> bool {
    match to {
        Reach::LinkLocal => true,
        Reach::Loopback => from != Reach::Loopback,
        Reach::Private | Reach::Public => false,
    }
}

/// A seam for the tests, in debug builds only: the tests' servers all live
/// on loopback, so `ROTPROOF_TEST_PUBLIC` names loopback addresses that
/// count as public (a server on 127.0.0.2 playing a host on the internet),
/// and `ROTPROOF_TEST_DNS` maps names to addresses (`name=127.0.0.1,…`),
/// as a wildcard-DNS name pointing into the machine would. A release
/// build reads neither.
pub(crate) mod seam {
    use std::net::IpAddr;
    use std::sync::OnceLock;

    fn list(var: &str) -> Option<String> {
        if !cfg!(debug_assertions) {
            return None;
        }
        std::env::var(var).ok()
    }

    pub(crate) fn counts_as_public(ip: IpAddr) -> bool {
        static PUBLIC: OnceLock<Vec<IpAddr>> = OnceLock::new();
        PUBLIC
            .get_or_init(|| {
                list("ROTPROOF_TEST_PUBLIC")
                    .map(|s| s.split(',').filter_map(|a| a.trim().parse().ok()).collect())
                    .unwrap_or_default()
            })
            .contains(&ip)
    }

    /// The address the tests give `name`, if any.
    pub(crate) fn resolve(name: &str) -> Option<IpAddr> {
        static DNS: OnceLock<Vec<(String, IpAddr)>> = OnceLock::new();
        DNS.get_or_init(|| {
            list("ROTPROOF_TEST_DNS")
                .map(|s| {
                    s.split(',')
                        .filter_map(|pair| {
                            let (n, a) = pair.split_once('=')?;
                            Some((n.trim().to_ascii_lowercase(), a.trim().parse().ok()?))
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, a)| *a)
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
            "fd00::1",
        ] {
            assert_eq!(reach(private), Reach::Private, "{private}");
        }
        // Connecting to these reaches the machine itself.
        for own in ["0.0.0.0", "0.1.2.3", "::"] {
            assert_eq!(reach(own), Reach::Loopback, "{own}");
        }
        for public in ["93.184.216.34", "100.128.0.1", "2606:4700::1"] {
            assert_eq!(reach(public), Reach::Public, "{public}");
        }
    }

    #[test]
    fn redirects_to_metadata_services_and_into_loopback_are_always_refused() {
        let public = Some(Reach::Public);
        let metadata = url("http://169.254.169.254/latest/meta-data/");
        let local = url("http://127.0.0.1:8080/admin");
        assert!(!refused(&metadata, None, false), "named by the post itself");
        assert!(refused(&metadata, public, false));
        assert!(refused(&local, public, false));
        assert!(refused(&url("http://localhost/x"), public, false));
        assert!(refused(&url("http://0.0.0.0:8080/"), public, false));
        assert!(refused(&url("http://[::]:8080/"), public, false));
        assert!(
            !refused(&local, Some(Reach::Loopback), false),
            "loopback to loopback: a local test site"
        );
        assert!(!refused(&url("https://cdn.example/x"), public, false));
        // What a name resolves to, by the same rule.
        assert!(redirect_refused(Reach::Public, Reach::Loopback));
        assert!(redirect_refused(Reach::Private, Reach::Loopback));
        assert!(redirect_refused(Reach::Loopback, Reach::LinkLocal));
        assert!(!redirect_refused(Reach::Loopback, Reach::Loopback));
        assert!(!redirect_refused(Reach::Public, Reach::Private));
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
