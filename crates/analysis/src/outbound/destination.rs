//! Which addresses an outbound request configured by a tenant (a webhook receiver) may
//! reach. A tenant admin chooses the URL, so without a check a webhook is a port scanner and
//! a reader of the server's own network: loopback services, a cloud's metadata endpoint at
//! 169.254.169.254, anything on a private range. Only public unicast addresses pass, plus
//! the ranges an operator allows (`--webhook-allow-cidr`) for on-premise receivers.
//!
//! The check runs when an endpoint is created or changed, and again on every delivery
//! inside the client's resolver ([`GuardedResolver`]), so the connection goes to the very
//! addresses that were checked: a name that resolves to a public address for the check and
//! to a private one for the connection (DNS rebinding) gets nowhere.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::sync::Arc;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// A network as `address/prefix` (`10.0.0.0/8`, `fd00::/8`); a bare address is one host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies in this network (an IPv4 address and an IPv6 network, or the other
    /// way round, never match).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                prefix_bits(u32::from(network), 32, self.prefix)
                    == prefix_bits(u32::from(ip), 32, self.prefix)
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                prefix_bits(u128::from(network), 128, self.prefix)
                    == prefix_bits(u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// The first `prefix` of `width` bits of `value`.
fn prefix_bits<T>(value: T, width: u8, prefix: u8) -> T
where
    T: std::ops::Shr<u32, Output = T> + Default,
{
    if prefix == 0 {
        T::default()
    } else {
        value >> u32::from(width - prefix)
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not an address/prefix such as 10.0.0.0/8"))?;
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(prefix) => prefix
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= width)
                .ok_or_else(|| format!("`{text}`: the prefix must be 0 to {width}"))?,
        };
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Why an address is not public, by the rule that refuses it.
fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => non_public_v4(ip),
        IpAddr::V6(ip) => non_public_v6(ip),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => "an unspecified (this-network) address",
        (127, _, _) => "a loopback address",
        (10, _, _) | (192, 168, _) => "a private address",
        (172, 16..=31, _) => "a private address",
        (100, 64..=127, _) => "a shared (carrier-grade NAT) address",
        (169, 254, _) => "a link-local address",
        (192, 0, 0) => "a reserved (IETF protocol) address",
        (198, 18..=19, _) => "a reserved (benchmarking) address",
        (224..=239, _, _) => "a multicast address",
        (240..=255, _, _) => "a reserved or broadcast address",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(ip) {
        return non_public_v4(v4);
    }
    let first = ip.segments()[0];
    Some(match first {
        _ if ip.is_unspecified() => "an unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        0xfe80..=0xfebf => "a link-local address",
        0xfec0..=0xfeff => "a site-local (private) address",
        0xfc00..=0xfdff => "a unique-local (private) address",
        0xff00..=0xffff => "a multicast address",
        0x0100 if ip.segments()[1..4] == [0, 0, 0] => "a reserved (discard) address",
        _ => return None,
    })
}

/// The IPv4 address an IPv6 one carries and reaches: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low()),
        // `::` and `::1` are IPv6's own unspecified and loopback addresses.
        [0, 0, 0, 0, 0, 0, _, _] if !ip.is_unspecified() && !ip.is_loopback() => Some(low()),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low()),
        [0x2002, high, low_half, ..] => Some(Ipv4Addr::new(
            (high >> 8) as u8,
            high as u8,
            (low_half >> 8) as u8,
            low_half as u8,
        )),
        _ => None,
    }
}

/// A refused destination: the host as written, the address it came to, and the rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error(
        "`{host}` is {rule} ({address}); only public addresses may receive webhooks, unless the operator allows the range with --webhook-allow-cidr"
    )]
    Refused {
        host: String,
        address: IpAddr,
        rule: &'static str,
    },
    #[error("`{host}` does not resolve to an address: {cause}")]
    Unresolvable { host: String, cause: String },
    #[error("{0}")]
    BadUrl(String),
}

/// The addresses outbound requests of tenants may reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DestinationPolicy {
    /// Ranges reachable although not public (on-premise receivers).
    allowed: Vec<Cidr>,
}

impl DestinationPolicy {
    /// Public addresses, and those in `allowed`.
    pub fn new(allowed: Vec<Cidr>) -> Self {
        Self { allowed }
    }

    /// Why `address` (reached as `host`) may not be connected to, if it may not.
    pub fn check(&self, host: &str, address: IpAddr) -> Result<(), DestinationError> {
        // An IPv4-mapped address is its IPv4 address, for the allowed ranges too.
        let canonical = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            IpAddr::V4(_) => address,
        };
        if self.allowed.iter().any(|range| range.contains(canonical)) {
            return Ok(());
        }
        match non_public(address) {
            None => Ok(()),
            Some(rule) => Err(DestinationError::Refused {
                host: host.to_owned(),
                address,
                rule,
            }),
        }
    }

    /// Resolves the host of `url` and checks every address it has (blocking: run it off the
    /// async runtime). A host with one refused address among public ones is refused: which
    /// address a connection takes is not the URL's to choose.
    pub fn check_url(&self, url: &str) -> Result<(), DestinationError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| DestinationError::BadUrl(format!("`{url}` is not a URL: {e}")))?;
        let host = uri
            .host()
            .ok_or_else(|| DestinationError::BadUrl(format!("`{url}` names no host")))?;
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        for address in resolve(host, port)? {
            self.check(host, address.ip())?;
        }
        Ok(())
    }
}

/// The addresses of `host` (a name, or an address literal, IPv6 in brackets).
fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, DestinationError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let unresolvable = |cause: String| DestinationError::Unresolvable {
        host: host.to_owned(),
        cause,
    };
    let addresses: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| unresolvable(e.to_string()))?
        .collect();
    if addresses.is_empty() {
        return Err(unresolvable("no address".into()));
    }
    Ok(addresses)
}

/// ureq's resolver with every address it finds checked against a policy: the outbound
/// client connects only to addresses that passed.
#[derive(Debug)]
pub(super) struct GuardedResolver {
    pub policy: Arc<DestinationPolicy>,
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addresses = DefaultResolver::default().resolve(uri, config, timeout)?;
        let host = uri.host().unwrap_or_default();
        for address in &addresses {
            self.policy.check(host, address.ip()).map_err(|refused| {
                ureq::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("destination refused: {refused}"),
                ))
            })?;
        }
        Ok(addresses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(policy: &DestinationPolicy, address: &str) -> Option<&'static str> {
        let ip: IpAddr = address.parse().unwrap_or_else(|e| panic!("{address}: {e}"));
        match policy.check("h", ip) {
            Ok(()) => None,
            Err(DestinationError::Refused { rule, .. }) => Some(rule),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn only_public_unicast_addresses_pass() {
        let strict = DestinationPolicy::default();
        for (address, rule) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("100.64.0.1", "carrier-grade"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fe80::1", "link-local"),
            ("fd12:3456::1", "unique-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::127.0.0.1", "loopback"),
            ("64:ff9b::a01:203", "private"),
            ("2002:7f00:1::", "loopback"),
        ] {
            let got = refused(&strict, address);
            assert!(
                got.is_some_and(|got| got.contains(rule)),
                "{address}: {got:?}, expected {rule}"
            );
        }
        for address in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(refused(&strict, address), None, "{address}");
        }
    }

    #[test]
    fn allowed_ranges_open_private_addresses_and_nothing_else() {
        let policy = DestinationPolicy::new(vec![
            "10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}")),
            "127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}")),
        ]);
        assert_eq!(refused(&policy, "10.200.3.4"), None);
        assert_eq!(refused(&policy, "127.0.0.1"), None);
        // The mapped form of an allowed address is the same address.
        assert_eq!(refused(&policy, "::ffff:127.0.0.1"), None);
        assert!(refused(&policy, "127.0.0.2").is_some());
        assert!(refused(&policy, "192.168.0.1").is_some());
        assert!(refused(&policy, "169.254.169.254").is_some());
    }

    #[test]
    fn cidrs_parse_with_or_without_a_prefix() {
        let parse = |text: &str| text.parse::<Cidr>();
        assert_eq!(
            parse("10.0.0.0/8").map(|c| c.to_string()),
            Ok("10.0.0.0/8".into())
        );
        assert_eq!(
            parse("fd00::/8").map(|c| c.to_string()),
            Ok("fd00::/8".into())
        );
        assert_eq!(parse("::1").map(|c| c.to_string()), Ok("::1/128".into()));
        assert!(parse("10.0.0.0/33").is_err());
        assert!(parse("example.com/8").is_err());
        let all: Cidr = parse("0.0.0.0/0").unwrap_or_else(|e| panic!("{e}"));
        assert!(all.contains("203.0.113.9".parse().unwrap_or_else(|e| panic!("{e}"))));
    }

    #[test]
    fn urls_are_checked_by_every_address_of_their_host() {
        let strict = DestinationPolicy::default();
        for url in [
            "http://127.0.0.1:9/x",
            "http://[::1]:8080/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:9/hook",
            "https://169.254.169.254/latest/meta-data",
        ] {
            assert!(
                matches!(strict.check_url(url), Err(DestinationError::Refused { .. })),
                "{url}"
            );
        }
        assert!(matches!(
            strict.check_url("http://93.184.216.34/hook"),
            Ok(())
        ));
    }
}
