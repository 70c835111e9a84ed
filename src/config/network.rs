//! The two network facts configuration states and no request may: the public origin
//! (`APP_PUBLIC_URL`) and the proxies whose forwarding header is believed
//! (`APP_TRUSTED_PROXIES`).

use ipnet::IpNet;

/// The public origin (`scheme://host[:port]`), from `APP_PUBLIC_URL`. Configuration, never a
/// request header: it names keydesk in wallet challenges and is what `Origin` must equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    /// `http` or `https`.
    pub scheme: String,
    /// Host, with the port when it is not the scheme's default.
    pub authority: String,
}

impl PublicUrl {
    /// Parses `http(s)://host[:port]` (a trailing `/` is allowed; no path, query or user).
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let u =
            url::Url::parse(raw.trim()).map_err(|_| "must be a URL like https://phygitals.com")?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err("must start with http:// or https://");
        }
        if u.path() != "/" || u.query().is_some() || u.fragment().is_some() {
            return Err("must be an origin only, without a path or query");
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err("must not contain credentials");
        }
        let host = u.host_str().ok_or("must name a host")?;
        let authority = match u.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        Ok(Self {
            scheme: u.scheme().to_owned(),
            authority,
        })
    }

    /// `scheme://authority`, the form browsers send in `Origin`.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    /// Served over TLS (HSTS is sent).
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }
}

/// Parses a comma-separated list of IPs and CIDRs (`10.0.0.1, 10.1.0.0/16`).
pub fn parse_proxies(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not an IP address or CIDR"))
        })
        .collect()
}
