//! E-mail over SMTP with `lettre`: one transport built from `APP_SMTP_URL` (`smtp://` plain or
//! STARTTLS, `smtps://` TLS, credentials in the URL), plain-text and HTML bodies from the
//! `templates/mail/` templates, times in the account's zone. The notice id is the Message-ID,
//! so a copy re-sent after a crash can be recognised.

use std::time::Duration;

use askama::Template;
use chrono::Utc;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::NotifySettings;
use crate::db::notices::outbox::Claimed;
use crate::domain::notice_text::{NoticeText, describe};
use crate::domain::time::zone;

#[derive(Template)]
#[template(path = "mail/notice.txt")]
struct TextBody<'a> {
    text: &'a NoticeText,
    origin: &'a str,
    zone: &'a str,
}

#[derive(Template)]
#[template(path = "mail/notice.html")]
struct HtmlBody<'a> {
    text: &'a NoticeText,
    origin: &'a str,
    zone: &'a str,
}

/// Why a mail was not sent.
#[derive(Debug)]
pub enum MailError {
    /// Worth another try later (connection, timeout, 4xx).
    Transient(String),
    /// Will not work however often it is tried (5xx, a bad address, a rendering error).
    Permanent(String),
}

/// The SMTP side of the worker; disabled when `APP_SMTP_URL` is unset.
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    origin: String,
}

impl Mailer {
    /// Builds the transport (no connection is made until the first mail).
    pub fn new(settings: &NotifySettings, public_origin: String) -> anyhow::Result<Self> {
        let transport = match &settings.smtp_url {
            None => None,
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|_| anyhow::anyhow!("APP_SMTP_URL: not a usable SMTP URL"))?
                    .timeout(Some(Duration::from_secs(15)))
                    .build(),
            ),
        };
        let from = settings
            .mail_from
            .parse()
            .map_err(|_| anyhow::anyhow!("APP_MAIL_FROM: not an e-mail address"))?;
        Ok(Self {
            transport,
            from,
            origin: public_origin,
        })
    }

    /// E-mail is configured.
    pub fn enabled(&self) -> bool {
        self.transport.is_some()
    }

    /// Renders and sends the notice to the account's address.
    pub async fn send(&self, c: &Claimed) -> Result<(), MailError> {
        let Some(transport) = &self.transport else {
            return Err(MailError::Permanent("e-mail is not configured".into()));
        };
        let tz = zone(&c.time_zone);
        let text = describe(c.kind, &c.payload, tz, Utc::now());
        let origin = self.origin.as_str();
        let render = |e: askama::Error| MailError::Permanent(format!("rendering: {e}"));
        let plain = TextBody {
            text: &text,
            origin,
            zone: tz.name(),
        }
        .render()
        .map_err(render)?;
        let html = HtmlBody {
            text: &text,
            origin,
            zone: tz.name(),
        }
        .render()
        .map_err(render)?;
        let to: Mailbox = c
            .email
            .parse()
            .map_err(|_| MailError::Permanent("the account's e-mail is not an address".into()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(format!("[keydesk] {}", text.summary))
            .message_id(Some(format!("<{}@keydesk>", c.notice_id)))
            .multipart(MultiPart::alternative_plain_html(plain, html))
            .map_err(|e| MailError::Permanent(format!("building the message: {e}")))?;
        match transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Permanent(format!("SMTP: {e}"))),
            Err(e) => Err(MailError::Transient(format!("SMTP: {e}"))),
        }
    }
}
