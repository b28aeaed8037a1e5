//! Which network addresses a callback may target.
//!
//! An address is non-public when the IANA special-purpose address registries (IPv4 and IPv6)
//! say its block is not globally reachable, when it is multicast, when an IPv6 address lies
//! outside global unicast (`2000::/3`), or when an IPv6 address carries an IPv4 address that is
//! itself non-public (IPv4-mapped, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`). Without this a
//! callback such as `http://[2002:7f00:1::]/` (6to4 of 127.0.0.1) would reach the service's own
//! host through a relay or a local tunnel.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};

/// One block of a special-purpose registry: its prefix, its name and whether the registry marks
/// it globally reachable. Where blocks nest, the longest prefix decides (so `192.0.0.9/32`,
/// globally reachable, wins over `192.0.0.0/24`, which is not).
struct Block<N> {
    net: N,
    name: &'static str,
    global: bool,
}

const fn v4(
    a: u8,
    b: u8,
    c: u8,
    d: u8,
    len: u8,
    name: &'static str,
    global: bool,
) -> Block<Ipv4Net> {
    Block {
        net: Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len),
        name,
        global,
    }
}

const fn v6(s: [u16; 8], len: u8, name: &'static str, global: bool) -> Block<Ipv6Net> {
    Block {
        net: Ipv6Net::new_assert(
            Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
            len,
        ),
        name,
        global,
    }
}

/// The IPv4 special-purpose registry (RFC 6890 and its updates), plus multicast (RFC 5771),
/// which has a registry of its own. "Globally reachable: N/A" counts as not reachable.
const V4_BLOCKS: &[Block<Ipv4Net>] = &[
    v4(0, 0, 0, 0, 8, "this network", false),
    v4(10, 0, 0, 0, 8, "private use", false),
    v4(
        100,
        64,
        0,
        0,
        10,
        "shared address space (carrier-grade NAT)",
        false,
    ),
    v4(127, 0, 0, 0, 8, "loopback", false),
    v4(169, 254, 0, 0, 16, "link local", false),
    v4(172, 16, 0, 0, 12, "private use", false),
    v4(192, 0, 0, 0, 24, "IETF protocol assignments", false),
    v4(192, 0, 0, 9, 32, "port control protocol anycast", true),
    v4(
        192,
        0,
        0,
        10,
        32,
        "traversal using relays around NAT anycast",
        true,
    ),
    v4(192, 0, 2, 0, 24, "documentation (TEST-NET-1)", false),
    v4(192, 31, 196, 0, 24, "AS112-v4", true),
    v4(192, 52, 193, 0, 24, "automatic multicast tunneling", true),
    v4(192, 88, 99, 0, 24, "deprecated 6to4 relay anycast", false),
    v4(192, 168, 0, 0, 16, "private use", false),
    v4(192, 175, 48, 0, 24, "direct delegation AS112 service", true),
    v4(198, 18, 0, 0, 15, "benchmarking", false),
    v4(198, 51, 100, 0, 24, "documentation (TEST-NET-2)", false),
    v4(203, 0, 113, 0, 24, "documentation (TEST-NET-3)", false),
    v4(224, 0, 0, 0, 4, "multicast", false),
    v4(240, 0, 0, 0, 4, "reserved", false),
    v4(255, 255, 255, 255, 32, "limited broadcast", false),
];

/// The IPv6 special-purpose registry (RFC 6890 and its updates), plus the blocks of the IPv6
/// address-space registry that matter inside `2000::/3` or are named in answers: site-local
/// `fec0::/10` (deprecated) and multicast. The embedding blocks (`::ffff:0:0/96`,
/// `64:ff9b::/96`, `2002::/16`) are classified by the IPv4 address they carry before this
/// table is consulted. Teredo (`2001::/32`, reachability "N/A") is refused whatever it carries.
const V6_BLOCKS: &[Block<Ipv6Net>] = &[
    v6([0, 0, 0, 0, 0, 0, 0, 1], 128, "loopback", false),
    v6([0, 0, 0, 0, 0, 0, 0, 0], 128, "unspecified", false),
    v6(
        [0x64, 0xff9b, 0, 0, 0, 0, 0, 0],
        96,
        "IPv4/IPv6 translation",
        true,
    ),
    v6(
        [0x64, 0xff9b, 1, 0, 0, 0, 0, 0],
        48,
        "local-use IPv4/IPv6 translation",
        false,
    ),
    v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "discard-only", false),
    v6([0x100, 0, 0, 1, 0, 0, 0, 0], 64, "dummy prefix", false),
    v6(
        [0x2001, 0, 0, 0, 0, 0, 0, 0],
        23,
        "IETF protocol assignments",
        false,
    ),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, "Teredo", false),
    v6(
        [0x2001, 1, 0, 0, 0, 0, 0, 1],
        128,
        "port control protocol anycast",
        true,
    ),
    v6(
        [0x2001, 1, 0, 0, 0, 0, 0, 2],
        128,
        "traversal using relays around NAT anycast",
        true,
    ),
    v6(
        [0x2001, 1, 0, 0, 0, 0, 0, 3],
        128,
        "DNS-SD service registration anycast",
        true,
    ),
    v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48, "benchmarking", false),
    v6(
        [0x2001, 3, 0, 0, 0, 0, 0, 0],
        32,
        "automatic multicast tunneling",
        true,
    ),
    v6([0x2001, 4, 0x112, 0, 0, 0, 0, 0], 48, "AS112-v6", true),
    v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28, "ORCHIDv2", true),
    v6(
        [0x2001, 0x30, 0, 0, 0, 0, 0, 0],
        28,
        "drone remote ID entity tags",
        true,
    ),
    v6(
        [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
        32,
        "documentation",
        false,
    ),
    v6(
        [0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0],
        48,
        "direct delegation AS112 service",
        true,
    ),
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, "documentation", false),
    v6(
        [0x5f00, 0, 0, 0, 0, 0, 0, 0],
        16,
        "segment routing SIDs",
        false,
    ),
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "unique local", false),
    v6(
        [0xfe80, 0, 0, 0, 0, 0, 0, 0],
        10,
        "link-local unicast",
        false,
    ),
    v6(
        [0xfec0, 0, 0, 0, 0, 0, 0, 0],
        10,
        "site-local (deprecated)",
        false,
    ),
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast", false),
];

/// Global unicast: everything else in IPv6 is reserved or special.
const V6_GLOBAL_UNICAST: Ipv6Net =
    Ipv6Net::new_assert(Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);

fn v4_class(ip: Ipv4Addr) -> Option<&'static str> {
    V4_BLOCKS
        .iter()
        .filter(|b| b.net.contains(&ip))
        .max_by_key(|b| b.net.prefix_len())
        .filter(|b| !b.global)
        .map(|b| b.name)
}

/// The IPv4 address an IPv6 address carries where the network would deliver to it: IPv4-mapped
/// (`::ffff:a.b.c.d`), NAT64 with the well-known prefix (`64:ff9b::a.b.c.d`) and 6to4
/// (`2002:AABB:CCDD::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<(Ipv4Addr, &'static str)> {
    let s = ip.segments();
    let low =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some((v4, "IPv4-mapped"));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some((low(s[6], s[7]), "NAT64"));
    }
    if s[0] == 0x2002 {
        return Some((low(s[1], s[2]), "6to4"));
    }
    None
}

fn v6_class(ip: Ipv6Addr) -> Option<String> {
    if let Some((v4, how)) = embedded_v4(ip)
        && let Some(class) = v4_class(v4)
    {
        return Some(format!("{how} address of {v4} ({class})"));
    }
    let block = V6_BLOCKS
        .iter()
        .filter(|b| b.net.contains(&ip))
        .max_by_key(|b| b.net.prefix_len());
    match block {
        Some(b) if b.global => None,
        Some(b) => Some(b.name.to_string()),
        // The mapped form is classified above by what it carries.
        None if ip.to_ipv4_mapped().is_some() => None,
        None if !V6_GLOBAL_UNICAST.contains(&ip) => {
            Some("reserved (outside global unicast)".to_string())
        }
        None => None,
    }
}

/// Why `ip` is not a public address (the registry's name of its block), or `None` when it is
/// globally reachable.
pub fn non_public_class(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4).map(str::to_string),
        IpAddr::V6(v6) => v6_class(v6),
    }
}

/// True when a callback may not target this address (see the module documentation).
pub fn is_non_public_ip(ip: IpAddr) -> bool {
    non_public_class(ip).is_some()
}

/// The create-time check of a `callbackUrl`: true when its host is, or resolves to, a non-public
/// address. A name that does not resolve now is let through; delivery checks the addresses again
/// (and connects only to public ones).
pub async fn callback_target_is_private(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => is_non_public_ip(ip.into()),
        Some(url::Host::Ipv6(ip)) => is_non_public_ip(ip.into()),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name == "localhost" || name.ends_with(".localhost") {
                return true;
            }
            let port = url.port_or_known_default().unwrap_or(443);
            let lookup = tokio::net::lookup_host((name.as_str(), port));
            match tokio::time::timeout(Duration::from_secs(2), lookup).await {
                Ok(Ok(addrs)) => addrs.into_iter().any(|a| is_non_public_ip(a.ip())),
                _ => false,
            }
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        is_non_public_ip(ip.parse().unwrap())
    }

    #[test]
    fn every_non_reachable_ipv4_block_is_refused() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.0.8",
            "192.0.0.170",
            "192.0.2.10",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn public_and_globally_reachable_ipv4_pass() {
        for ip in [
            "8.8.8.8",
            "93.184.216.34",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.0.9",
            "192.0.0.10",
            "192.31.196.1",
            "192.52.193.1",
            "192.88.98.255",
            "192.175.48.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
        ] {
            assert!(!refused(ip), "{ip} should pass");
        }
    }

    #[test]
    fn every_non_reachable_ipv6_block_is_refused() {
        for ip in [
            "::1",
            "::",
            "::2",
            "64:ff9b:1::1",
            "100::1",
            "100:0:0:1::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:2::1",
            "2001:10::1",
            "2001:db8::1",
            "3fff::1",
            "3fff:fff::1",
            "5f00::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "feff::1",
            "ff02::1",
            "ff0e::1",
            "4000::1",
            "e000::1",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn public_and_globally_reachable_ipv6_pass() {
        for ip in [
            "2606:2800:220:1::1",
            "2a00:1450:4001::1",
            "2001:1::1",
            "2001:1::2",
            "2001:1::3",
            "2001:3::1",
            "2001:4:112::1",
            "2001:20::1",
            "2001:30::1",
            "2001:200::1",
            "2620:4f:8000::1",
            "3ffe::1",
            "3fff:1000::1",
        ] {
            assert!(!refused(ip), "{ip} should pass");
        }
    }

    #[test]
    fn embedded_ipv4_is_classified_by_what_it_carries() {
        // IPv4-mapped
        assert!(refused("::ffff:127.0.0.1"));
        assert!(refused("::ffff:10.0.0.1"));
        assert!(refused("::ffff:192.88.99.1"));
        assert!(!refused("::ffff:8.8.8.8"));
        // IPv4-compatible (deprecated): reserved whatever it carries
        assert!(refused("::127.0.0.1"));
        assert!(refused("::8.8.8.8"));
        // SIIT's IPv4-translated form
        assert!(refused("::ffff:0:8.8.8.8"));
        // NAT64 with the well-known prefix
        assert!(refused("64:ff9b::127.0.0.1"));
        assert!(refused("64:ff9b::a9fe:a9fe"));
        assert!(refused("64:ff9b::192.168.0.1"));
        assert!(!refused("64:ff9b::8.8.8.8"));
        // 6to4
        assert!(refused("2002:7f00:1::"));
        assert!(refused("2002:7f00:1::1"));
        assert!(refused("2002:a00:1::1"));
        assert!(refused("2002:c0a8:101::1"));
        assert!(refused("2002:a9fe:a9fe::1"));
        assert!(!refused("2002:808:808::1"));
        // Teredo: refused whatever server and client it carries
        assert!(refused("2001:0:808:808:0:0:f7f7:f7f7"));
        assert!(refused("2001:0:7f00:1::1"));
    }

    #[test]
    fn the_answer_names_the_block() {
        let class = |ip: &str| non_public_class(ip.parse().unwrap());
        assert_eq!(
            class("2002:7f00:1::").as_deref(),
            Some("6to4 address of 127.0.0.1 (loopback)")
        );
        assert_eq!(class("fec0::1").as_deref(), Some("site-local (deprecated)"));
        assert_eq!(
            class("192.88.99.1").as_deref(),
            Some("deprecated 6to4 relay anycast")
        );
        assert_eq!(class("8.8.8.8"), None);
    }

    #[tokio::test]
    async fn callback_urls_by_host() {
        let private = |u: &str| {
            let url = url::Url::parse(u).unwrap();
            async move { callback_target_is_private(&url).await }
        };
        assert!(private("http://[2002:7f00:1::]/").await);
        assert!(private("http://[fec0::1]:8080/hook").await);
        assert!(private("http://192.88.99.1/").await);
        assert!(private("http://localhost/").await);
        assert!(private("http://api.localhost./").await);
        assert!(private("http://127.0.0.1.nip.invalid.localhost/").await);
        assert!(!private("https://8.8.8.8/hook").await);
        assert!(!private("https://[2606:2800:220:1::1]/").await);
    }
}
