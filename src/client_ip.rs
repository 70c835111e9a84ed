//! The client's IP address. The TCP peer, unless the peer is one of `APP_TRUSTED_PROXIES`:
//! then the rightmost `X-Forwarded-For` hop that is not itself a trusted proxy (the hops to its
//! left were written by the client and prove nothing). No other code reads forwarding headers.

use std::net::IpAddr;

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
}
