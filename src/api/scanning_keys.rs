//! The GitHub secret-scanning key document this instance verifies alerts with: read from
//! `APP_GITHUB_SCANNING_KEYS` at start-up, and refreshed — the file re-read, and fetched from
//! `APP_GITHUB_SCANNING_KEYS_URL` when that is set — when an alert names a key identifier the
//! document lacks (GitHub rotated its key). Refreshes happen at most once a minute for the
//! whole process, whatever the alerts name (`ScanningSettings::keys_refresh_every`), so alerts
//! with made-up identifiers cannot turn keydesk into a fetcher. Each source keeps its last good
//! document until a new one parses (`KeySources`): a failed read or fetch changes nothing.

use std::path::PathBuf;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::config::ScanningSettings;
use crate::domain::github_keys::{KeyDocument, KeySources, SignatureError};

/// How long a fetch of the document may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest document read (GitHub's is about 1 KB).
const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// What a refresh works on, behind one lock.
struct Refresh {
    /// When the last refresh started (failed or not).
    last: Option<Instant>,
    /// The last good document of each source.
    sources: KeySources,
}

/// The key document and how to refresh it.
pub struct ScanningKeys {
    /// The document alerts are checked with (`Refresh::sources` merged).
    doc: RwLock<KeyDocument>,
    file: Option<PathBuf>,
    url: Option<String>,
    client: Option<reqwest::Client>,
    /// The least time between two refreshes.
    refresh_every: Duration,
    /// The lock also makes concurrent alerts wait for one refresh instead of starting their
    /// own.
    refresh: tokio::sync::Mutex<Refresh>,
}

fn read_file(path: &PathBuf) -> anyhow::Result<KeyDocument> {
    let meta = std::fs::metadata(path)?;
    if meta.len() > MAX_DOCUMENT_BYTES as u64 {
        anyhow::bail!("larger than {MAX_DOCUMENT_BYTES} bytes");
    }
    KeyDocument::parse(&std::fs::read(path)?).map_err(anyhow::Error::msg)
}

impl ScanningKeys {
    /// Loads the configured file (an unreadable or invalid one stops start-up, naming the
    /// variable); without one, the document is empty and every alert is refused.
    pub fn load(settings: &ScanningSettings) -> anyhow::Result<Self> {
        let doc = match &settings.keys_file {
            None => KeyDocument::default(),
            Some(path) => read_file(path).map_err(|e| {
                anyhow::anyhow!("APP_GITHUB_SCANNING_KEYS ({}): {e}", path.display())
            })?,
        };
        let client = match &settings.keys_url {
            None => None,
            Some(_) => Some(
                reqwest::Client::builder()
                    .timeout(FETCH_TIMEOUT)
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("keydesk/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| anyhow::anyhow!("APP_GITHUB_SCANNING_KEYS_URL: {e}"))?,
            ),
        };
        Ok(Self {
            doc: RwLock::new(doc.clone()),
            file: settings.keys_file.clone(),
            url: settings.keys_url.clone(),
            client,
            refresh_every: settings.keys_refresh_every,
            refresh: tokio::sync::Mutex::new(Refresh {
                last: None,
                sources: KeySources::from_file(doc),
            }),
        })
    }

    fn check(&self, key_id: &str, signature: &str, body: &[u8]) -> Result<(), SignatureError> {
        // a panic elsewhere cannot leave a half-written document: the value is replaced whole
        let doc = self.doc.read().unwrap_or_else(|e| e.into_inner());
        doc.verify(key_id, signature, body)
    }

    /// Verifies an alert's signature over its raw body; an unknown key identifier first
    /// refreshes the document (bounded in rate), then is checked once more.
    pub async fn verify(
        &self,
        key_id: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        match self.check(key_id, signature, body) {
            Err(SignatureError::UnknownKey) if self.refresh(key_id).await => {
                self.check(key_id, signature, body)
            }
            other => other,
        }
    }

    /// Re-reads the file and fetches the URL, unless a refresh started less than
    /// `refresh_every` ago. A source that fails keeps its last good keys. True when the
    /// document now knows `key_id`.
    async fn refresh(&self, key_id: &str) -> bool {
        let mut state = self.refresh.lock().await;
        if state.last.is_some_and(|t| t.elapsed() < self.refresh_every) {
            // refreshed meanwhile by another alert, maybe with this very key
            return self.knows(key_id);
        }
        state.last = Some(Instant::now());
        let file = self.file.as_ref().and_then(|path| match read_file(path) {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!(error = %e, "re-reading APP_GITHUB_SCANNING_KEYS failed; its keys stay");
                None
            }
        });
        let fetched = self.fetch().await;
        if file.is_none() && fetched.is_none() {
            return self.knows(key_id);
        }
        if let Some(d) = file {
            state.sources.set_file(d);
        }
        if let Some(d) = fetched {
            state.sources.set_fetched(d);
        }
        let fresh = state.sources.document();
        tracing::info!(keys = fresh.len(), "secret-scanning key document refreshed");
        *self.doc.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        self.knows(key_id)
    }

    fn knows(&self, key_id: &str) -> bool {
        self.doc
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .knows(key_id)
    }

    async fn fetch(&self) -> Option<KeyDocument> {
        let (Some(url), Some(client)) = (&self.url, &self.client) else {
            return None;
        };
        let result: anyhow::Result<KeyDocument> = async {
            let mut res = client.get(url).send().await?.error_for_status()?;
            let mut body = Vec::new();
            while let Some(chunk) = res.chunk().await? {
                if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                    anyhow::bail!("larger than {MAX_DOCUMENT_BYTES} bytes");
                }
                body.extend_from_slice(&chunk);
            }
            KeyDocument::parse(&body).map_err(anyhow::Error::msg)
        }
        .await;
        match result {
            Ok(doc) => Some(doc),
            Err(e) => {
                tracing::warn!(error = %e, "fetching APP_GITHUB_SCANNING_KEYS_URL failed; the fetched keys stay");
                None
            }
        }
    }
}
