//! Which addresses keydesk may open a connection to on a user's behalf (a webhook): only those
//! globally reachable per IANA's IPv4 and IPv6 Special-Purpose Address Registries, and inside
//! the IPv6 global unicast block 2000::/3. Plain loopback, private and link-local addresses are
//! a class of their own, which development and tests may allow (`APP_WEBHOOK_ALLOW_PRIVATE`);
//! every other special-purpose range is refused always — among them every way of writing an
//! IPv4 address inside an IPv6 one that could lead back to a private network:
//! IPv4-compatible (::/96) and IPv4-mapped (::ffff:0:0/96) addresses, Teredo, local-use NAT64;
//! 6to4 (2002::/16) and the well-known NAT64 prefix (64:ff9b::/96) pass only when the IPv4
//! address they carry is public.
//!
//! The few anycast addresses IANA marks globally reachable inside otherwise reserved blocks
//! (192.0.0.9, 192.0.0.10, 2001:1::1–3, AMT, AS112-v6, ORCHIDv2, DETs in 2001::/23) are refused
//! with their blocks: no webhook receiver lives there. std's `is_global` is unstable, so the
//! tables are written out here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where an address leads, for a connection keydesk opens on a user's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Globally reachable: always allowed.
    Public,
    /// Plain loopback (127/8, ::1), private (10/8, 172.16/12, 192.168/16, fc00::/7) or
    /// link-local (169.254/16, fe80::/10): allowed only where private destinations are.
    Private,
    /// Any other special-purpose address: never a destination.
    Refused,
}

/// What a range means.
#[derive(Clone, Copy)]
enum Rule {
    /// The range's addresses all lead the same way.
    Is(Reach),
    /// The address carries an IPv4 address starting this many bits from its top: public when
    /// that address is, refused otherwise (even where private destinations are allowed).
    CarriesV4At(u32),
}

/// IPv4 special-purpose ranges (first match wins; anything else is public).
#[rustfmt::skip]
const V4: [(Ipv4Addr, u32, Reach); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0),       8, Reach::Refused),  // "this network"
    (Ipv4Addr::new(10, 0, 0, 0),      8, Reach::Private),  // private
    (Ipv4Addr::new(100, 64, 0, 0),   10, Reach::Refused),  // shared address space (CGNAT)
    (Ipv4Addr::new(127, 0, 0, 0),     8, Reach::Private),  // loopback
    (Ipv4Addr::new(169, 254, 0, 0),  16, Reach::Private),  // link-local
    (Ipv4Addr::new(172, 16, 0, 0),   12, Reach::Private),  // private
    (Ipv4Addr::new(192, 0, 0, 0),    24, Reach::Refused),  // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0),    24, Reach::Refused),  // documentation (TEST-NET-1)
    (Ipv4Addr::new(192, 88, 99, 0),  24, Reach::Refused),  // 6to4 relay anycast (deprecated)
    (Ipv4Addr::new(192, 168, 0, 0),  16, Reach::Private),  // private
    (Ipv4Addr::new(198, 18, 0, 0),   15, Reach::Refused),  // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24, Reach::Refused),  // documentation (TEST-NET-2)
    (Ipv4Addr::new(203, 0, 113, 0),  24, Reach::Refused),  // documentation (TEST-NET-3)
    (Ipv4Addr::new(224, 0, 0, 0),     4, Reach::Refused),  // multicast
    (Ipv4Addr::new(240, 0, 0, 0),     4, Reach::Refused),  // reserved, and broadcast
];

/// IPv6 ranges (first match wins; anything else — outside 2000::/3: unspecified,
/// IPv4-compatible ::/96, discard 100::/64, local-use NAT64 64:ff9b:1::/48, site-local
/// fec0::/10, multicast, SRv6 SIDs 5f00::/16, every reserved block — is refused).
#[rustfmt::skip]
const V6: [(Ipv6Addr, u32, Rule); 10] = [
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1),          128, Rule::Is(Reach::Private)),  // loopback
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0),      96, Rule::Is(Reach::Refused)),  // IPv4-mapped
    (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0),   96, Rule::CarriesV4At(96)),     // NAT64
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0),      16, Rule::CarriesV4At(16)),     // 6to4
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),       7, Rule::Is(Reach::Private)),  // unique local
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),      10, Rule::Is(Reach::Private)),  // link-local
    // IETF protocol assignments: Teredo 2001::/32, benchmarking 2001:2::/48, ORCHID …
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),      23, Rule::Is(Reach::Refused)),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),  32, Rule::Is(Reach::Refused)),  // documentation
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),      20, Rule::Is(Reach::Refused)),  // documentation
    (Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0),       3, Rule::Is(Reach::Public)),   // global unicast
];

fn v4_in(ip: Ipv4Addr, net: Ipv4Addr, len: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    ip.to_bits() & mask == net.to_bits() & mask
}

fn v6_in(ip: Ipv6Addr, net: Ipv6Addr, len: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    ip.to_bits() & mask == net.to_bits() & mask
}

fn reach_v4(ip: Ipv4Addr) -> Reach {
    V4.iter()
        .find(|(net, len, _)| v4_in(ip, *net, *len))
        .map_or(Reach::Public, |(_, _, reach)| *reach)
}

fn reach_v6(ip: Ipv6Addr) -> Reach {
    let Some((_, _, rule)) = V6.iter().find(|(net, len, _)| v6_in(ip, *net, *len)) else {
        return Reach::Refused;
    };
    match *rule {
        Rule::Is(reach) => reach,
        Rule::CarriesV4At(offset) => {
            let carried = Ipv4Addr::from_bits((ip.to_bits() >> (96 - offset)) as u32);
            match reach_v4(carried) {
                Reach::Public => Reach::Public,
                Reach::Private | Reach::Refused => Reach::Refused,
            }
        }
    }
}

/// Where `ip` leads.
pub fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(a) => reach_v4(a),
        IpAddr::V6(a) => reach_v6(a),
    }
}

/// Whether keydesk may connect to `ip` on a user's behalf: public addresses always, plain
/// loopback, private and link-local ones only when `allow_private`, nothing else ever.
pub fn may_connect(ip: IpAddr, allow_private: bool) -> bool {
    match reach(ip) {
        Reach::Public => true,
        Reach::Private => allow_private,
        Reach::Refused => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: bool = true;
    const NO: bool = false;

    /// (address, verdict without private destinations, verdict with them, what it is). Each
    /// range has an address inside it and, where a neighbour is public, one just outside.
    const CASES: &[(&str, bool, bool, &str)] = &[
        // IPv4
        ("0.0.0.0", NO, NO, "this network"),
        ("0.255.255.255", NO, NO, "this network, top"),
        ("1.0.0.0", OK, OK, "just past 0/8"),
        ("9.255.255.255", OK, OK, "just before 10/8"),
        ("10.0.0.1", NO, OK, "private 10/8"),
        ("10.255.255.255", NO, OK, "private 10/8, top"),
        ("11.0.0.0", OK, OK, "just past 10/8"),
        ("100.63.255.255", OK, OK, "just before CGNAT"),
        ("100.64.0.1", NO, NO, "shared address space (CGNAT)"),
        ("100.127.255.255", NO, NO, "CGNAT, top"),
        ("100.128.0.0", OK, OK, "just past CGNAT"),
        ("126.255.255.255", OK, OK, "just before loopback"),
        ("127.0.0.1", NO, OK, "loopback"),
        ("127.255.255.254", NO, OK, "loopback, top"),
        ("128.0.0.0", OK, OK, "just past loopback"),
        ("169.253.255.255", OK, OK, "just before link-local"),
        ("169.254.169.254", NO, OK, "link-local (cloud metadata)"),
        ("169.255.0.0", OK, OK, "just past link-local"),
        ("172.15.255.255", OK, OK, "just before 172.16/12"),
        ("172.16.0.1", NO, OK, "private 172.16/12"),
        ("172.31.255.255", NO, OK, "private 172.16/12, top"),
        ("172.32.0.0", OK, OK, "just past 172.16/12"),
        ("191.255.255.255", OK, OK, "just before 192.0.0/24"),
        ("192.0.0.1", NO, NO, "IETF protocol assignments"),
        ("192.0.0.9", NO, NO, "PCP anycast, refused with its block"),
        ("192.0.0.170", NO, NO, "NAT64 discovery"),
        ("192.0.1.0", OK, OK, "just past 192.0.0/24"),
        ("192.0.2.1", NO, NO, "TEST-NET-1"),
        ("192.0.3.0", OK, OK, "just past TEST-NET-1"),
        ("192.31.196.1", OK, OK, "AS112 (globally reachable)"),
        ("192.88.99.1", NO, NO, "6to4 relay anycast"),
        ("192.88.100.0", OK, OK, "just past 6to4 relay anycast"),
        ("192.167.255.255", OK, OK, "just before 192.168/16"),
        ("192.168.1.1", NO, OK, "private 192.168/16"),
        ("192.169.0.0", OK, OK, "just past 192.168/16"),
        ("198.17.255.255", OK, OK, "just before benchmarking"),
        ("198.18.0.1", NO, NO, "benchmarking"),
        ("198.19.255.255", NO, NO, "benchmarking, top"),
        ("198.20.0.0", OK, OK, "just past benchmarking"),
        ("198.51.100.1", NO, NO, "TEST-NET-2"),
        ("198.51.101.0", OK, OK, "just past TEST-NET-2"),
        ("203.0.113.1", NO, NO, "TEST-NET-3"),
        ("203.0.114.0", OK, OK, "just past TEST-NET-3"),
        ("223.255.255.255", OK, OK, "just before multicast"),
        ("224.0.0.1", NO, NO, "multicast"),
        ("239.255.255.255", NO, NO, "multicast, top"),
        ("240.0.0.1", NO, NO, "reserved"),
        ("255.255.255.255", NO, NO, "broadcast"),
        ("8.8.8.8", OK, OK, "public"),
        ("93.184.216.34", OK, OK, "public"),
        // IPv6
        ("::", NO, NO, "unspecified"),
        ("::1", NO, OK, "loopback"),
        ("::2", NO, NO, "reserved ::/8"),
        ("::127.0.0.1", NO, NO, "IPv4-compatible loopback"),
        ("::a9fe:a9fe", NO, NO, "IPv4-compatible link-local"),
        (
            "::8.8.8.8",
            NO,
            NO,
            "IPv4-compatible (deprecated), even of a public address",
        ),
        ("::ffff:127.0.0.1", NO, NO, "IPv4-mapped loopback"),
        ("::ffff:10.0.0.1", NO, NO, "IPv4-mapped private"),
        (
            "::ffff:8.8.8.8",
            NO,
            NO,
            "IPv4-mapped (write the IPv4 address instead)",
        ),
        ("::ffff:0:7f00:1", NO, NO, "IPv4-translated (SIIT)"),
        ("64:ff9b::7f00:1", NO, NO, "NAT64 of loopback"),
        ("64:ff9b::a00:1", NO, NO, "NAT64 of a private address"),
        ("64:ff9b::c612:1", NO, NO, "NAT64 of benchmarking"),
        ("64:ff9b::808:808", OK, OK, "NAT64 of a public address"),
        ("64:ff9b:1::808:808", NO, NO, "local-use NAT64"),
        ("100::1", NO, NO, "discard-only"),
        (
            "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            NO,
            NO,
            "just before 2000::/3",
        ),
        ("2000::1", OK, OK, "global unicast, bottom"),
        ("2001::1", NO, NO, "Teredo"),
        ("2001:0:7f00:1::", NO, NO, "Teredo naming 127.0.0.1"),
        (
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            NO,
            NO,
            "Teredo, public server",
        ),
        ("2001:2::1", NO, NO, "benchmarking"),
        (
            "2001:1ff:ffff:ffff::",
            NO,
            NO,
            "IETF protocol assignments, top",
        ),
        ("2001:200::1", OK, OK, "just past 2001::/23"),
        ("2001:db7:ffff::1", OK, OK, "just before documentation"),
        ("2001:db8::1", NO, NO, "documentation"),
        ("2001:db9::1", OK, OK, "just past documentation"),
        ("2002:7f00:1::1", NO, NO, "6to4 of loopback"),
        ("2002:a00:1::1", NO, NO, "6to4 of a private address"),
        ("2002:c612:1::1", NO, NO, "6to4 of benchmarking"),
        ("2002:808:808::1", OK, OK, "6to4 of a public address"),
        ("2003::1", OK, OK, "just past 6to4"),
        ("2606:4700::1111", OK, OK, "public"),
        (
            "2620:4f:8000::1",
            OK,
            OK,
            "AS112 direct delegation (globally reachable)",
        ),
        ("3ffe:ffff::1", OK, OK, "just before 3fff::/20"),
        ("3fff::1", NO, NO, "documentation (RFC 9637)"),
        ("3fff:fff:ffff::1", NO, NO, "documentation, top"),
        ("3fff:1000::1", OK, OK, "just past 3fff::/20"),
        ("5f00::1", NO, NO, "SRv6 SIDs (outside 2000::/3)"),
        (
            "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            OK,
            OK,
            "global unicast, top",
        ),
        ("4000::1", NO, NO, "just past 2000::/3"),
        ("fbff:ffff::1", NO, NO, "just before unique local"),
        ("fc00::1", NO, OK, "unique local"),
        ("fd12:3456::1", NO, OK, "unique local"),
        ("fe7f:ffff::1", NO, NO, "just before link-local"),
        ("fe80::1", NO, OK, "link-local"),
        ("febf:ffff::1", NO, OK, "link-local, top"),
        ("fec0::1", NO, NO, "site-local (deprecated)"),
        ("feff::1", NO, NO, "site-local, top"),
        ("ff02::1", NO, NO, "multicast"),
        ("ff0e::1", NO, NO, "global-scope multicast"),
    ];

    #[test]
    fn every_special_purpose_range_is_judged() {
        let mut wrong = Vec::new();
        for (addr, public_only, with_private, what) in CASES {
            let ip: IpAddr = addr.parse().unwrap();
            let got = (may_connect(ip, false), may_connect(ip, true));
            if got != (*public_only, *with_private) {
                wrong.push(format!(
                    "{addr} ({what}): got {got:?}, want {:?}",
                    (public_only, with_private)
                ));
            }
        }
        assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    }

    #[test]
    fn the_issues_examples_are_refused_even_where_private_addresses_are_allowed() {
        for addr in [
            "::127.0.0.1",
            "::a9fe:a9fe",
            "198.18.0.1",
            "fec0::1",
            "2002:7f00:1::1",
            "2001:0:7f00:1::",
        ] {
            assert_eq!(reach(addr.parse().unwrap()), Reach::Refused, "{addr}");
        }
    }
}
