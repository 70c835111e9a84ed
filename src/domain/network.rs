//! Network binding of a key: an allow list of up to 20 IPv4/IPv6 ranges and a mode (`off`,
//! `dry_run`, `enforce`). Parsing gives one clear error per bad entry (host bits set, "every
//! address", too many); `place` says where a client address falls; `loosens` decides whether
//! a change needs the recent password (wider ranges, a weaker mode); `propose` turns the
//! addresses a key was used from into ranges (IPv4 /32, IPv6 /64).

use std::net::IpAddr;

use ipnet::IpNet;

text_enum! {
    /// How a key's allow list is applied.
    #[derive(Hash, Default)]
    pub enum NetworkMode {
        /// Any address may use the key.
        #[default]
        Off = "off",
        /// Addresses outside the list are accepted, and counted as "would have been refused".
        DryRun = "dry_run",
        /// Addresses outside the list are refused (`ip_not_allowed`).
        Enforce = "enforce",
    }
}

impl NetworkMode {
    /// The words on the page.
    pub fn label(self) -> &'static str {
        match self {
            NetworkMode::Off => "Off — any address",
            NetworkMode::DryRun => "Dry-run — accept, but count what would be refused",
            NetworkMode::Enforce => "Enforce — refuse addresses outside the list",
        }
    }

    /// How strict: off < dry-run < enforce.
    fn strictness(self) -> u8 {
        match self {
            NetworkMode::Off => 0,
            NetworkMode::DryRun => 1,
            NetworkMode::Enforce => 2,
        }
    }
}

/// Ranges a key may list.
pub const MAX_RANGES: usize = 20;

/// Characters the ranges field accepts (20 IPv6 ranges with comments of a few words fit).
pub const MAX_INPUT: usize = 2_000;

/// An allow list: canonical ranges (no host bits), no duplicates, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks(Vec<IpNet>);

impl Networks {
    /// Parses ranges separated by commas, spaces or new lines: `203.0.113.0/24`,
    /// `2001:db8::/48`, or a single address (`/32`, `/128`).
    pub fn parse(input: &str) -> Result<Self, String> {
        if input.chars().count() > MAX_INPUT {
            return Err(format!(
                "The list is too long: at most {MAX_RANGES} ranges ({MAX_INPUT} characters)."
            ));
        }
        let mut out: Vec<IpNet> = Vec::new();
        for item in input
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
        {
            let net = parse_one(item)?;
            if !out.contains(&net) {
                out.push(net);
            }
        }
        if out.len() > MAX_RANGES {
            return Err(format!(
                "At most {MAX_RANGES} ranges per key ({} given): use wider ranges.",
                out.len()
            ));
        }
        Ok(Self(out))
    }

    /// Ranges already checked (read back from the database).
    pub fn from_stored(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    /// The ranges.
    pub fn ranges(&self) -> &[IpNet] {
        &self.0
    }

    /// No range at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The range `ip` falls in, if any (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn matching(&self, ip: IpAddr) -> Option<&IpNet> {
        let ip = ip.to_canonical();
        self.0.iter().find(|n| n.contains(&ip))
    }

    /// Whether every range of `other` lies within a range of this list.
    pub fn covers(&self, other: &Networks) -> bool {
        other.0.iter().all(|o| self.0.iter().any(|n| n.contains(o)))
    }

    /// One range per line, as the form shows them.
    pub fn lines(&self) -> String {
        self.0
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn parse_one(item: &str) -> Result<IpNet, String> {
    let shown: String = item.chars().take(60).collect();
    let net = if item.contains('/') {
        let net: IpNet = item.parse().map_err(|_| {
            format!(
                "“{shown}” is not an IPv4 or IPv6 range (like 203.0.113.0/24 or 2001:db8::/48)."
            )
        })?;
        if net.network() != net.addr() {
            return Err(format!(
                "“{shown}” has host bits set: the range it names is {}. Write that, or the single address {}.",
                net.trunc(),
                net.addr()
            ));
        }
        net
    } else {
        let ip: IpAddr = item.parse().map_err(|_| {
            format!("“{shown}” is not an IP address or range (like 203.0.113.7 or 203.0.113.0/24).")
        })?;
        IpNet::from(ip)
    };
    if let IpNet::V6(v6) = net
        && v6.addr().to_ipv4_mapped().is_some()
    {
        return Err(format!(
            "“{shown}” is an IPv4 address written as IPv6: write it in IPv4 form."
        ));
    }
    if net.prefix_len() == 0 {
        return Err(format!(
            "“{shown}” allows every address: choose “Off” instead of listing it."
        ));
    }
    Ok(net)
}

/// A key's binding: its mode and list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Binding {
    /// How the list is applied.
    pub mode: NetworkMode,
    /// The list (at least one range unless the mode is off).
    pub networks: Networks,
}

/// Where a client address falls for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Binding off: any address.
    Unbound,
    /// Inside this range of the list.
    Inside(IpNet),
    /// Outside the list (refused when enforced, counted in dry-run).
    Outside,
    /// No address was given (introspection without `client_ip`).
    Unknown,
}

impl Binding {
    /// A binding to save: the list must hold a range unless the mode is off.
    pub fn new(mode: NetworkMode, networks: Networks) -> Result<Self, String> {
        if mode != NetworkMode::Off && networks.is_empty() {
            return Err("Add at least one range, or choose “Off”.".into());
        }
        Ok(Self { mode, networks })
    }

    /// Where `ip` falls.
    pub fn place(&self, ip: Option<IpAddr>) -> Placement {
        if self.mode == NetworkMode::Off {
            return Placement::Unbound;
        }
        match ip {
            None => Placement::Unknown,
            Some(ip) => match self.networks.matching(ip) {
                Some(n) => Placement::Inside(*n),
                None => Placement::Outside,
            },
        }
    }

    /// Whether going from this binding to `to` lets more addresses through, or lets them
    /// through more quietly: a weaker mode, or ranges the current list does not cover while
    /// binding stays on. Needs the recent password; tightening never does.
    pub fn loosens(&self, to: &Binding) -> bool {
        if to.mode.strictness() < self.mode.strictness() {
            return true;
        }
        self.mode != NetworkMode::Off && !self.networks.covers(&to.networks)
    }
}

/// The ranges to propose from the addresses a key was used from (`(address, requests)`):
/// each IPv4 address as /32, each IPv6 address's /64 (a host's addresses rotate within it),
/// merged, busiest first, at most `MAX_RANGES`.
pub fn propose(seen: &[(IpAddr, i64)]) -> Vec<(IpNet, i64)> {
    let mut out: Vec<(IpNet, i64)> = Vec::new();
    for &(ip, n) in seen {
        let net = match ip.to_canonical() {
            IpAddr::V4(v4) => IpNet::from(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match ipnet::Ipv6Net::new(v6, 64) {
                Ok(n) => IpNet::V6(n.trunc()),
                Err(_) => continue,
            },
        };
        match out.iter_mut().find(|(m, _)| *m == net) {
            Some((_, total)) => *total += n,
            None => out.push((net, n)),
        }
    }
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.truncate(MAX_RANGES);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &str) -> Networks {
        Networks::parse(s).unwrap()
    }

    #[test]
    fn parses_ranges_and_single_addresses_canonically() {
        let n = nets("203.0.113.0/24, 2001:db8::/48\n198.51.100.7  2001:db8::1 203.0.113.0/24");
        assert_eq!(
            n.lines(),
            "203.0.113.0/24\n2001:db8::/48\n198.51.100.7/32\n2001:db8::1/128"
        );
        assert!(nets("").is_empty());
    }

    #[test]
    fn refuses_what_it_cannot_take_with_a_reason() {
        for (input, says) in [
            (
                "203.0.113.7/24",
                "host bits set: the range it names is 203.0.113.0/24",
            ),
            ("0.0.0.0/0", "allows every address"),
            ("::/0", "allows every address"),
            ("203.0.113.0/33", "is not an IPv4 or IPv6 range"),
            ("example.com", "is not an IP address"),
            ("::ffff:203.0.113.7", "write it in IPv4 form"),
        ] {
            let e = Networks::parse(input).unwrap_err();
            assert!(e.contains(says), "{input}: {e}");
        }
        let many: Vec<String> = (1..=21).map(|i| format!("10.0.0.{i}")).collect();
        assert!(
            Networks::parse(&many.join(","))
                .unwrap_err()
                .contains("At most 20")
        );
        assert!(Networks::parse(&"1".repeat(MAX_INPUT + 1)).is_err());
        assert!(Binding::new(NetworkMode::Enforce, Networks::default()).is_err());
    }

    #[test]
    fn places_addresses_inside_outside_or_unknown() {
        let b = Binding::new(NetworkMode::Enforce, nets("203.0.113.0/24 2001:db8::/48")).unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(
            b.place(ip("203.0.113.9")),
            Placement::Inside("203.0.113.0/24".parse().unwrap())
        );
        assert_eq!(
            b.place(ip("::ffff:203.0.113.9")),
            Placement::Inside("203.0.113.0/24".parse().unwrap())
        );
        assert_eq!(
            b.place(ip("2001:db8:0:ffff::1")),
            Placement::Inside("2001:db8::/48".parse().unwrap())
        );
        assert_eq!(b.place(ip("198.51.100.1")), Placement::Outside);
        assert_eq!(b.place(ip("2001:db9::1")), Placement::Outside);
        assert_eq!(b.place(None), Placement::Unknown);
        assert_eq!(Binding::default().place(None), Placement::Unbound);
    }

    #[test]
    fn loosening_is_a_weaker_mode_or_a_range_not_covered() {
        let b = |m: NetworkMode, s: &str| Binding {
            mode: m,
            networks: nets(s),
        };
        use NetworkMode::*;
        let now = b(Enforce, "203.0.113.0/24");
        assert!(now.loosens(&b(DryRun, "203.0.113.0/24")));
        assert!(now.loosens(&b(Off, "")));
        assert!(now.loosens(&b(Enforce, "203.0.112.0/23")));
        assert!(now.loosens(&b(Enforce, "203.0.113.0/24 198.51.100.1")));
        assert!(!now.loosens(&b(Enforce, "203.0.113.128/25")));
        assert!(!now.loosens(&b(Enforce, "")));
        assert!(!b(Off, "").loosens(&b(DryRun, "10.0.0.0/8")));
        assert!(!b(DryRun, "10.0.0.0/8").loosens(&b(Enforce, "10.0.0.0/8")));
        assert!(b(DryRun, "10.0.0.0/8").loosens(&b(Off, "")));
    }

    #[test]
    fn proposes_ipv4_hosts_and_ipv6_slash_64s_busiest_first() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let got = propose(&[
            (ip("203.0.113.7"), 3),
            (ip("2001:db8:1:2::a"), 5),
            (ip("2001:db8:1:2::b"), 4),
            (ip("::ffff:198.51.100.1"), 1),
        ]);
        let shown: Vec<(String, i64)> = got.iter().map(|(n, c)| (n.to_string(), *c)).collect();
        assert_eq!(
            shown,
            vec![
                ("2001:db8:1:2::/64".to_owned(), 9),
                ("203.0.113.7/32".to_owned(), 3),
                ("198.51.100.1/32".to_owned(), 1),
            ]
        );
    }
}
