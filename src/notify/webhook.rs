//! Signed webhook deliveries (Standard Webhooks): headers `webhook-id` (the notice id, the
//! same on every retry), `webhook-timestamp` and `webhook-signature`. Against SSRF the host is
//! resolved here at every delivery, every address it resolves to is checked
//! (`domain::ip_ranges`: only globally reachable addresses; plain loopback, private and
//! link-local ones too with `APP_WEBHOOK_ALLOW_PRIVATE=true`; never another special-purpose
//! range or an IPv4 address smuggled inside an IPv6 one), and the request is pinned to the
//! checked address (an address in the URL is used as is; a name goes through `reqwest`'s
//! `resolve`), so a second DNS answer cannot send it elsewhere. No proxy, no redirects; timeouts
//! are short.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use chrono::Utc;

use crate::db::notices::outbox::Claimed;
use crate::db::notices::prefs::Webhook;
use crate::domain::ip_ranges::may_connect;
use crate::domain::notice_text::describe;
use crate::domain::time::zone;
use crate::domain::webhook::WebhookUrl;

/// Connect timeout.
const CONNECT: Duration = Duration::from_secs(3);
/// Whole-request timeout.
const TOTAL: Duration = Duration::from_secs(10);

/// Why a webhook was not delivered.
#[derive(Debug)]
pub enum HookError {
    /// Worth another try (network, timeout, a non-2xx answer).
    Transient(String),
    /// Refused by policy or malformed: retrying cannot help.
    Permanent(String),
}

/// Resolves `url`'s host and returns the address to connect to, or why not. Every address
/// the name resolves to must pass (`ip_ranges::may_connect`): one refused address refuses the
/// URL, so no answer order can pick it.
pub async fn destination(url: &WebhookUrl, allow_private: bool) -> Result<SocketAddr, HookError> {
    let (host, port) = url.host_port();
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(CONNECT, tokio::net::lookup_host((host.as_str(), port)))
            .await
            .map_err(|_| HookError::Transient("resolving the host timed out".into()))?
            .map_err(|_| HookError::Transient("the host name does not resolve".into()))?
            .collect(),
    };
    if let Some(bad) = addrs.iter().find(|a| !may_connect(a.ip(), allow_private)) {
        return Err(HookError::Permanent(format!(
            "refused: the URL leads to {}, which is not a public address",
            bad.ip()
        )));
    }
    // IPv4 first: a name like `localhost` often lists ::1 before 127.0.0.1, and receivers
    // commonly listen on IPv4 only
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| HookError::Transient("the host name has no address".into()))
}

/// The JSON body: `{"type", "timestamp", "data"}`, `data` holding the notice's details.
pub fn body(c: &Claimed) -> Vec<u8> {
    let text = describe(c.kind, &c.payload, zone(&c.time_zone), Utc::now());
    let mut data = c.payload.clone();
    if let Some(map) = data.as_object_mut() {
        map.insert("notice_id".into(), c.notice_id.to_string().into());
        map.insert("account_id".into(), c.account_id.to_string().into());
        map.insert("summary".into(), text.summary.into());
    }
    serde_json::json!({
        "type": c.kind.webhook_type(),
        "timestamp": c.created_at.to_rfc3339(),
        "data": data,
    })
    .to_string()
    .into_bytes()
}

/// POSTs the signed notice to the account's webhook.
pub async fn send(hook: &Webhook, c: &Claimed, allow_private: bool) -> Result<(), HookError> {
    let url = WebhookUrl::parse(&hook.url).map_err(|e| HookError::Permanent(e.to_owned()))?;
    let addr = destination(&url, allow_private).await?;
    let (host, _) = url.host_port();
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT)
        .timeout(TOTAL)
        .no_proxy()
        .user_agent("keydesk-webhooks/1");
    if host.parse::<IpAddr>().is_err() {
        builder = builder.resolve(&host, addr);
    }
    let client = builder
        .build()
        .map_err(|e| HookError::Transient(format!("HTTP client: {}", e.without_url())))?;
    let id = c.notice_id.to_string();
    let ts = Utc::now().timestamp();
    let body = body(c);
    let signature = hook.secret.sign(&id, ts, &body);
    let res = client
        .post(url.url().clone())
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| HookError::Transient(format!("sending: {}", e.without_url())))?;
    let status = res.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(HookError::Transient(format!(
            "the receiver answered HTTP {}",
            status.as_u16()
        )))
    }
}
