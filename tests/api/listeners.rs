//! Real listeners for the notification tests: an SMTP server (Debian's `python3-aiosmtpd`,
//! writing a Maildir) and an HTTP receiver for webhooks (a small actix server on port 0 that
//! records every request and answers with the statuses it is told).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

/// A real SMTP server in a child process; mail lands in `maildir/new/`.
pub struct SmtpSink {
    /// `smtp://127.0.0.1:PORT`.
    pub url: String,
    /// The Maildir.
    pub maildir: PathBuf,
    child: std::process::Child,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

fn python() -> &'static str {
    // Debian's interpreter has the python3-aiosmtpd package; a pyenv one on PATH may not.
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

impl SmtpSink {
    /// Starts aiosmtpd on a free loopback port and waits until it accepts connections.
    pub async fn start() -> Self {
        let maildir = std::env::temp_dir().join(format!("keydesk-mail-{}", uuid::Uuid::new_v4()));
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        for attempt in 0..5 {
            // a free port: bind 0, read it, let go (aiosmtpd cannot report the port it took)
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = std::process::Command::new(python())
                .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(&maildir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("python3 -m aiosmtpd (apt-get install python3-aiosmtpd)");
            let mut sink = Self {
                url: format!("smtp://127.0.0.1:{port}"),
                maildir: maildir.clone(),
                child,
            };
            for _ in 0..100 {
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    return sink;
                }
                if sink.child.try_wait().ok().flatten().is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let _ = sink.child.kill();
            std::mem::forget(sink); // keep the Maildir for the next attempt
            eprintln!("aiosmtpd did not start (attempt {attempt}); retrying on another port");
        }
        panic!("could not start aiosmtpd");
    }

    /// Every message received so far, raw.
    pub fn messages(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .collect()
    }
}

/// Decodes the text of a MIME message well enough to search it: quoted-printable soft line
/// breaks and `=XX` escapes, and base64 parts.
pub fn readable(raw: &str) -> String {
    use base64::Engine;
    let mut out = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = out.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            decoded.push(b);
            i += 3;
            continue;
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    out = String::from_utf8_lossy(&decoded).into_owned();
    // base64 bodies: decode every run of base64-looking lines
    let mut extra = String::new();
    let mut block = String::new();
    for line in out.lines().chain(std::iter::once("")) {
        let l = line.trim();
        if l.len() >= 16
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
        {
            block.push_str(l);
        } else if !block.is_empty() {
            if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(&block) {
                extra.push_str(&String::from_utf8_lossy(&b));
            }
            block.clear();
        }
    }
    out + &extra
}

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Header name (lower case) → value.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Shared {
    got: Mutex<Vec<Received>>,
    statuses: Mutex<VecDeque<u16>>,
}

/// An HTTP server on 127.0.0.1, port 0, recording every request.
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn record(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    shared.got.lock().unwrap().push(Received {
        headers,
        body: body.to_vec(),
    });
    let status = shared.statuses.lock().unwrap().pop_front().unwrap_or(204);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

impl Receiver {
    /// Starts a receiver answering `statuses` in turn, then 204.
    pub async fn start(statuses: &[u16]) -> Self {
        let shared = Arc::new(Shared::default());
        shared.statuses.lock().unwrap().extend(statuses);
        let data = web::Data::from(shared.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(record))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            shared,
            handle,
        }
    }

    /// Requests so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.got.lock().unwrap().clone()
    }
}

/// Polls `check` every 50 ms until it holds or `secs` pass; returns whether it held.
pub async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A webhook receiver that accepts every connection and never answers: a hung endpoint.
pub struct HangingReceiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HangingReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HangingReceiver {
    /// Listens on a free loopback port; connections are held open, unanswered.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(stream);
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            accepted,
            task,
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}
