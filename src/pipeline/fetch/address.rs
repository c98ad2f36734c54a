//! Where a fetch may go: the addresses refused unless
//! `[defaults] allow_private_addresses = true`, the DNS resolver that refuses
//! them, and URLs with their credentials redacted for display.
//!
//! A watched URL is written by the operator, but the page it names may
//! redirect anywhere, and a public name may resolve to `127.0.0.1`. Without
//! this check a config or a redirect could point the bot at the operator's
//! own network (a router's admin page, a metadata service on
//! `169.254.169.254`) and store or post what it finds there. The check is
//! made where names are resolved, so it holds for every connection reqwest
//! opens, redirects included; hosts written as IP literals are never
//! resolved and are checked from the URL instead.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// The config line that allows private addresses, as error messages name it.
pub(super) const ALLOW_SETTING: &str = "allow_private_addresses = true";

/// Why `ip` is not a public address, or `None` when it is public.
///
/// Refused: IPv4 `0.0.0.0/8` (this network), `127.0.0.0/8` (loopback),
/// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` (private),
/// `100.64.0.0/10` (shared, carrier-grade NAT), `169.254.0.0/16`
/// (link-local, where cloud metadata services live), `255.255.255.255`
/// (broadcast); IPv6 `::` and `::1`, `fc00::/7` (unique-local),
/// `fe80::/10` (link-local), and every IPv6 form that carries one of the
/// IPv4 addresses above (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
/// `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`).
pub fn private_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    match (a, b) {
        _ if ip.is_broadcast() => Some("broadcast"),
        (0, _) => Some("\"this network\" (0.0.0.0/8)"),
        (127, _) => Some("loopback"),
        (10, _) | (192, 168) => Some("private"),
        (172, 16..=31) => Some("private"),
        (100, 64..=127) => Some("shared (carrier-grade NAT)"),
        (169, 254) => Some("link-local"),
        _ => None,
    }
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_loopback() {
        return Some("loopback");
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    let segments = ip.segments();
    if segments[0] & 0xfe00 == 0xfc00 {
        return Some("unique-local");
    }
    if segments[0] & 0xffc0 == 0xfe80 {
        return Some("link-local");
    }
    embedded_v4(ip).and_then(v4_kind)
}

/// The IPv4 address an IPv6 address stands for, in the forms that reach an
/// IPv4 host: mapped (`::ffff:0:0/96`), compatible (`::/96`), NAT64
/// (`64:ff9b::/96`) and 6to4 (`2002::/16`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

/// A private address found for a host, with its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PrivateHost {
    pub host: String,
    pub address: IpAddr,
    pub kind: &'static str,
}

/// Raised by [`GuardedResolver`]; recovered from the reqwest error's source
/// chain by the fetcher.
#[derive(thiserror::Error, Debug)]
#[error("{} resolves only to private addresses ({})", .0.host, .0.address)]
pub(super) struct PrivateRefusal(pub PrivateHost);

/// The host of `url` when it is an IP literal on a private address.
pub(super) fn literal_private(url: &Url) -> Option<PrivateHost> {
    let address = match url.host()? {
        Host::Ipv4(v4) => IpAddr::V4(v4),
        Host::Ipv6(v6) => IpAddr::V6(v6),
        Host::Domain(_) => return None,
    };
    private_kind(address).map(|kind| PrivateHost {
        host: url.host_str().unwrap_or_default().to_string(),
        address,
        kind,
    })
}

/// Keeps the public addresses of a resolution; `Err` with the first private
/// one when none is public. Connecting only to the public ones means a name
/// that answers with both cannot be used to reach the private one.
pub(super) fn keep_public(
    host: &str,
    addrs: impl IntoIterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, PrivateRefusal> {
    let mut first_private = None;
    let public: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| match private_kind(a.ip()) {
            Some(kind) => {
                first_private.get_or_insert(PrivateHost {
                    host: host.to_string(),
                    address: a.ip(),
                    kind,
                });
                false
            }
            None => true,
        })
        .collect();
    match (public.is_empty(), first_private) {
        (true, Some(private)) => Err(PrivateRefusal(private)),
        _ => Ok(public),
    }
}

/// The system resolver (`getaddrinfo`, through Tokio), without the private
/// addresses. Installed only when `allow_private_addresses` is off.
#[derive(Debug, Default)]
pub(super) struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public = keep_public(&host, found).inspect_err(|refusal| {
                tracing::debug!(host = %host, address = %refusal.0.address,
                    "refused: the name resolves only to private addresses");
            })?;
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// `url` for display: a user name and password become `***`, so that
/// credentials in a watched URL never reach logs, errors, `status` or the
/// `fetches` table.
pub fn redact(url: &Url) -> Url {
    if url.username().is_empty() && url.password().is_none() {
        return url.clone();
    }
    let mut shown = url.clone();
    // Only fails for URLs that cannot have credentials, which then have none.
    let _ = shown.set_password(None);
    let _ = shown.set_username("***");
    shown
}

/// `text` with the credentials of `url` (as written and percent-decoded)
/// replaced by `***`: for messages from libraries that may quote a URL.
pub(super) fn scrub(text: String, url: &Url) -> String {
    let mut secrets: Vec<String> = Vec::new();
    for part in [url.username(), url.password().unwrap_or("")] {
        // A one- or two-letter user name would blank unrelated words; the
        // URL itself is always redacted before it is shown, this is a
        // second line of defence.
        if part.len() < 3 {
            continue;
        }
        secrets.push(part.to_string());
        secrets.push(percent_decode(part));
    }
    secrets.into_iter().fold(text, |t, s| t.replace(&s, "***"))
}

/// `%XX` escapes decoded (URL user names and passwords are kept encoded).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<&'static str> {
        private_kind(s.parse().unwrap())
    }

    #[test]
    fn private_ipv4_ranges_are_refused() {
        for (ip, expected) in [
            ("127.0.0.1", "loopback"),
            ("127.255.255.254", "loopback"),
            ("10.0.0.1", "private"),
            ("10.255.255.255", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("100.127.255.255", "shared (carrier-grade NAT)"),
            ("0.0.0.0", "\"this network\" (0.0.0.0/8)"),
            ("0.1.2.3", "\"this network\" (0.0.0.0/8)"),
            ("255.255.255.255", "broadcast"),
        ] {
            assert_eq!(kind(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_ipv4_addresses_and_range_edges_are_allowed() {
        for ip in [
            "1.1.1.1",
            "93.184.216.34",
            "172.15.255.255",
            "172.32.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "169.253.0.1",
            "192.167.1.1",
            "11.0.0.1",
            "126.255.255.255",
            "128.0.0.1",
            "255.255.255.254",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }

    #[test]
    fn private_ipv6_ranges_and_embedded_ipv4_are_refused() {
        for (ip, expected) in [
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fc00::1", "unique-local"),
            ("fd12:3456:789a::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.1.2.3", "private"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::ffff:192.168.0.1", "private"),
            ("::ffff:100.64.0.1", "shared (carrier-grade NAT)"),
            ("::127.0.0.1", "loopback"),
            ("64:ff9b::7f00:1", "loopback"),
            ("2002:c0a8:0101::1", "private"),
        ] {
            assert_eq!(kind(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_ipv6_addresses_are_allowed() {
        for ip in [
            "2606:4700:4700::1111",
            "2001:db8::1",
            "fec0::1",
            "fe7f::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }

    #[test]
    fn ip_literal_hosts_are_checked_from_the_url() {
        let url = |s| Url::parse(s).unwrap();
        let found = literal_private(&url("http://127.0.0.1:8080/p")).unwrap();
        assert_eq!((found.host.as_str(), found.kind), ("127.0.0.1", "loopback"));
        // The URL parser turns these spellings into 127.0.0.1 / ::ffff:7f00:1.
        assert!(literal_private(&url("http://2130706433/")).is_some());
        assert!(literal_private(&url("http://0x7f.1/")).is_some());
        assert!(literal_private(&url("http://[::ffff:127.0.0.1]/")).is_some());
        assert!(literal_private(&url("http://[fe80::1]/")).is_some());
        assert!(literal_private(&url("https://93.184.216.34/")).is_none());
        // Names are checked when they are resolved, not here.
        assert!(literal_private(&url("http://localhost/")).is_none());
    }

    #[test]
    fn resolution_keeps_public_addresses_and_refuses_only_private_ones() {
        let sa = |s: &str| s.parse::<SocketAddr>().unwrap();
        let mixed =
            keep_public("mixed.example", [sa("127.0.0.1:0"), sa("93.184.216.34:0")]).unwrap();
        assert_eq!(mixed, vec![sa("93.184.216.34:0")]);
        let refused = keep_public("local.example", [sa("[::1]:0"), sa("10.0.0.1:0")]).unwrap_err();
        assert_eq!(
            refused.0,
            PrivateHost {
                host: "local.example".into(),
                address: "::1".parse().unwrap(),
                kind: "loopback"
            }
        );
    }

    #[test]
    fn credentials_are_redacted_for_display() {
        let url = Url::parse("https://bob:s%3Acret@example.org/p?q=1").unwrap();
        assert_eq!(redact(&url).as_str(), "https://***@example.org/p?q=1");
        let plain = Url::parse("https://example.org/p").unwrap();
        assert_eq!(redact(&plain), plain);
        let text = scrub(
            "error for url (https://bob:s%3Acret@example.org/) s:cret".into(),
            &url,
        );
        assert!(!text.contains("cret"), "{text}");
        assert!(!text.contains("bob"), "{text}");
    }
}
