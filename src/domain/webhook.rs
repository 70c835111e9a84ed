//! Signed webhooks (Standard Webhooks, standardwebhooks.com): the destination URL, the signing
//! secret and the signature. Which addresses a delivery may connect to is `domain::ip_ranges`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Longest URL accepted.
pub const MAX_URL: usize = 2048;

/// Bytes of a signing secret.
pub const SECRET_BYTES: usize = 32;

/// A webhook destination: `http(s)://host[:port]/path?query`, no credentials, no fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Parses what a user typed; the message says what to fix.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(
                "Enter the URL that should receive events, e.g. https://example.com/hooks/keydesk",
            );
        }
        if raw.len() > MAX_URL {
            return Err("The URL is too long (at most 2048 characters)");
        }
        let u = url::Url::parse(raw).map_err(
            |_| "That isn't a URL — it should look like https://example.com/hooks/keydesk",
        )?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err("The URL must start with https:// (or http://)");
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err("Put no user name or password in the URL; events are signed instead");
        }
        if u.fragment().is_some() {
            return Err("Remove the #fragment from the URL");
        }
        if u.host_str().is_none_or(str::is_empty) {
            return Err("The URL must name a host");
        }
        Ok(Self(u))
    }

    /// The parsed URL.
    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host name (without IPv6 brackets) and the port.
    pub fn host_port(&self) -> (String, u16) {
        let host = match self.0.host() {
            Some(url::Host::Ipv6(a)) => a.to_string(),
            Some(h) => h.to_string(),
            None => String::new(),
        };
        (host, self.0.port_or_known_default().unwrap_or(443))
    }
}

/// A webhook signing secret. Never printed by `Debug`; shown to the user once as `whsec_…`.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

impl WebhookSecret {
    /// 32 bytes from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut b = vec![0u8; SECRET_BYTES];
        rand::fill(&mut b[..]);
        Self(b)
    }

    /// A stored secret.
    pub fn from_bytes(b: Vec<u8>) -> Self {
        Self(b)
    }

    /// The raw key (to store; keep it out of logs).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// `whsec_<base64>`, the form receivers' libraries take.
    pub fn display(&self) -> String {
        format!("whsec_{}", STANDARD.encode(&self.0))
    }

    /// `v1,<base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}"))>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_with_readable_messages() {
        assert!(WebhookUrl::parse("https://example.com/hook?x=1").is_ok());
        for bad in [
            "",
            "example.com",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
            &format!("https://example.com/{}", "a".repeat(3000)),
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
        let u = WebhookUrl::parse("http://[::1]:9000/x").unwrap();
        assert_eq!(u.host_port(), ("::1".to_owned(), 9000));
    }

    #[test]
    fn the_signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let secret =
            WebhookSecret::from_bytes(STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap());
        let sig = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(!format!("{secret:?}").contains("MfKQ"));
        assert!(WebhookSecret::generate().display().starts_with("whsec_"));
    }
}
