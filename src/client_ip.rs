//! The client's IP address. The TCP peer, unless the peer is one of `APP_TRUSTED_PROXIES`:
//! then the rightmost `X-Forwarded-For` hop that is not itself a trusted proxy (the hops to its
//! left were written by the client and prove nothing). No other code reads forwarding headers.
//! Rate limits count per client, not per address (`limit_key`): one IPv6 client holds a whole
//! /64 and can rotate through it.

use std::net::{IpAddr, Ipv6Addr};

use actix_web::HttpRequest;
use ipnet::IpNet;

/// Hops of `X-Forwarded-For` looked at, from the right.
const MAX_HOPS: usize = 16;

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|n| n.contains(&ip))
}

/// The client address of `req` under the trusted-proxy list.
pub fn client_ip(req: &HttpRequest, proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted(peer, proxies) {
        return Some(peer);
    }
    let mut hops: Vec<&str> = Vec::new();
    for v in req.headers().get_all("x-forwarded-for") {
        let Ok(v) = v.to_str() else { return Some(peer) };
        hops.extend(v.split(',').map(str::trim));
    }
    let mut last = peer;
    for hop in hops.iter().rev().take(MAX_HOPS) {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            return Some(last); // garbage from here on: the last good hop is the client
        };
        if !trusted(ip, proxies) {
            return Some(ip);
        }
        last = ip;
    }
    Some(last)
}

/// The client a rate limit counts for `ip`: an IPv4 address as itself (an IPv4-mapped IPv6
/// address, `::ffff:a.b.c.d`, is that IPv4 address), an IPv6 address as its /64 — the block one
/// subscriber or host is given, whose addresses it can use at will. At most 24 characters
/// (`ffff:ffff:ffff:ffff::/64`).
pub fn limit_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The rate-limit key of `req`'s client (`limit_key`; `unknown` without a peer address). The
/// sign-in, password-confirmation and revoke-by-secret limits all count by it.
pub fn client_limit_key(req: &HttpRequest, proxies: &[IpNet]) -> String {
    client_ip(req, proxies).map_or_else(|| "unknown".to_owned(), limit_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn req(peer: &str, xff: Option<&str>) -> HttpRequest {
        let mut r = TestRequest::default().peer_addr(format!("{peer}:4000").parse().unwrap());
        if let Some(x) = xff {
            r = r.insert_header(("x-forwarded-for", x));
        }
        r.to_http_request()
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_peer() {
        let none: Vec<IpNet> = vec![];
        let lb: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            client_ip(&req("203.0.113.9", Some("1.2.3.4")), &none),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            client_ip(&req("203.0.113.9", Some("1.2.3.4")), &lb),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            client_ip(&req("10.0.0.2", Some("1.2.3.4")), &lb),
            Some(ip("1.2.3.4"))
        );
        // the client wrote the left part: the rightmost untrusted hop wins
        assert_eq!(
            client_ip(&req("10.0.0.2", Some("6.6.6.6, 1.2.3.4, 10.0.0.7")), &lb),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(
            client_ip(&req("10.0.0.2", Some("junk, 10.0.0.7")), &lb),
            Some(ip("10.0.0.7"))
        );
        assert_eq!(client_ip(&req("10.0.0.2", None), &lb), Some(ip("10.0.0.2")));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_ipv4_by_the_address() {
        let key = |s: &str| limit_key(s.parse().unwrap());
        assert_eq!(key("2001:db8:aa:bb::1"), "2001:db8:aa:bb::/64");
        assert_eq!(key("2001:db8:aa:bb:ffff:1:2:3"), "2001:db8:aa:bb::/64");
        assert_ne!(key("2001:db8:aa:bc::1"), key("2001:db8:aa:bb::1"));
        assert_eq!(key("::1"), "::/64");
        assert_eq!(key("fe80::1:2"), "fe80::/64");
        assert_eq!(
            key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            "ffff:ffff:ffff:ffff::/64"
        );
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
        assert_ne!(key("203.0.113.9"), key("203.0.113.10"));
        // IPv4-mapped IPv6 is the IPv4 client; the deprecated IPv4-compatible form is not
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(key("::203.0.113.9"), "::/64");
        assert!(key("ffff:ffff:ffff:ffff::").len() <= 64);
    }
}
