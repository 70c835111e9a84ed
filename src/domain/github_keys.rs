//! GitHub's secret-scanning public keys and the signature check of its alerts: an ECDSA
//! NIST P-256 / SHA-256 signature (base64 of DER) over the raw request body, made with the
//! key named by `Github-Public-Key-Identifier`. The key document has the shape of
//! `GET https://api.github.com/meta/public_keys/secret_scanning`:
//! `{"public_keys":[{"key_identifier":…,"key":"-----BEGIN PUBLIC KEY-----…","is_current":true}]}`.

use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;

/// Longest key identifier looked at (GitHub's are 64 hex characters).
pub const MAX_KEY_ID_CHARS: usize = 256;

/// Longest signature header looked at (a DER P-256 signature is at most 72 bytes, 96 in base64).
pub const MAX_SIGNATURE_CHARS: usize = 256;

/// Keys the document may hold (GitHub publishes a handful; more is not a key document).
const MAX_KEYS: usize = 64;

/// Why a signature was not accepted. Every case is a 401 for the caller; the distinction is
/// for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// A header is missing, empty or too long.
    Missing,
    /// The key identifier is not in the document.
    UnknownKey,
    /// The signature is not base64 of a DER ECDSA signature.
    Malformed,
    /// The signature does not verify over the body.
    Mismatch,
}

impl SignatureError {
    /// A short code for the log.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureError::Missing => "missing",
            SignatureError::UnknownKey => "unknown_key",
            SignatureError::Malformed => "malformed",
            SignatureError::Mismatch => "mismatch",
        }
    }
}

#[derive(serde::Deserialize)]
struct Document {
    public_keys: Vec<Entry>,
}

#[derive(serde::Deserialize)]
struct Entry {
    key_identifier: String,
    key: String,
}

/// The parsed key document: identifiers and their P-256 public keys.
#[derive(Clone, Default)]
pub struct KeyDocument {
    keys: Vec<(String, VerifyingKey)>,
}

impl std::fmt::Debug for KeyDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("KeyDocument").field("keys", &ids).finish()
    }
}

impl KeyDocument {
    /// Parses a document; every key must be a P-256 public key in PEM (SPKI). Every listed
    /// key is accepted, current or not: GitHub may still sign with the previous one while it
    /// rotates.
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        let doc: Document = serde_json::from_slice(json)
            .map_err(|e| format!("not a secret-scanning key document: {e}"))?;
        if doc.public_keys.len() > MAX_KEYS {
            return Err(format!("more than {MAX_KEYS} public keys"));
        }
        let mut keys = Vec::with_capacity(doc.public_keys.len());
        for e in doc.public_keys {
            if e.key_identifier.is_empty() || e.key_identifier.len() > MAX_KEY_ID_CHARS {
                return Err("a key_identifier is empty or too long".into());
            }
            let key = VerifyingKey::from_public_key_pem(e.key.trim()).map_err(|_| {
                format!(
                    "key {:?} is not a P-256 public key in PEM",
                    e.key_identifier
                )
            })?;
            keys.push((e.key_identifier, key));
        }
        Ok(Self { keys })
    }

    /// This document with `other`'s keys added (an identifier in both keeps `other`'s key).
    pub fn merged(mut self, other: KeyDocument) -> Self {
        self.keys.retain(|(id, _)| !other.knows(id));
        self.keys.extend(other.keys);
        self
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds no key (every alert is then refused).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether it has a key with this identifier.
    pub fn knows(&self, key_id: &str) -> bool {
        self.keys.iter().any(|(id, _)| id == key_id)
    }

    /// Checks `signature_b64` (base64 DER) over the raw `body` with the key `key_id`.
    pub fn verify(
        &self,
        key_id: &str,
        signature_b64: &str,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        if key_id.is_empty()
            || key_id.len() > MAX_KEY_ID_CHARS
            || signature_b64.is_empty()
            || signature_b64.len() > MAX_SIGNATURE_CHARS
        {
            return Err(SignatureError::Missing);
        }
        let Some((_, key)) = self.keys.iter().find(|(id, _)| id == key_id) else {
            return Err(SignatureError::UnknownKey);
        };
        let der = base64::engine::general_purpose::STANDARD
            .decode(signature_b64.trim())
            .map_err(|_| SignatureError::Malformed)?;
        let signature = Signature::from_der(&der).map_err(|_| SignatureError::Malformed)?;
        key.verify(body, &signature)
            .map_err(|_| SignatureError::Mismatch)
    }
}

/// The keys in use and where they came from: the configured file and the fetched URL. Each
/// source keeps its last good document until a new one parses, so a failed read or fetch
/// changes nothing and one source failing never drops the other's keys.
#[derive(Debug, Clone, Default)]
pub struct KeySources {
    file: KeyDocument,
    fetched: KeyDocument,
}

impl KeySources {
    /// The file's document, nothing fetched yet.
    pub fn from_file(file: KeyDocument) -> Self {
        Self {
            file,
            fetched: KeyDocument::default(),
        }
    }

    /// The file was read and parsed again: its keys replace the file's previous ones.
    pub fn set_file(&mut self, doc: KeyDocument) {
        self.file = doc;
    }

    /// The URL was fetched and parsed: its keys replace the previously fetched ones.
    pub fn set_fetched(&mut self, doc: KeyDocument) {
        self.fetched = doc;
    }

    /// The document alerts are checked with: the file's keys and the fetched ones (an
    /// identifier in both keeps the fetched key, the fresher of the two).
    pub fn document(&self) -> KeyDocument {
        self.file.clone().merged(self.fetched.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::{EncodePublicKey, LineEnding};

    fn pair() -> (SigningKey, String) {
        let mut seed = [0u8; 32];
        rand::fill(&mut seed);
        let sk = SigningKey::from_slice(&seed).unwrap();
        let pem = sk
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        (sk, pem)
    }

    fn document(id: &str, pem: &str) -> KeyDocument {
        let json = serde_json::json!({
            "public_keys": [{ "key_identifier": id, "key": pem, "is_current": true }]
        });
        KeyDocument::parse(json.to_string().as_bytes()).unwrap()
    }

    fn sign(sk: &SigningKey, body: &[u8]) -> String {
        let sig: Signature = sk.sign(body);
        base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes())
    }

    #[test]
    fn a_signature_over_the_raw_body_verifies_and_nothing_else_does() {
        let (sk, pem) = pair();
        let doc = document("k1", &pem);
        let body = br#"[{"token":"x","type":"phygitals_api_key"}]"#;
        let sig = sign(&sk, body);
        assert_eq!(doc.verify("k1", &sig, body), Ok(()));
        // the same JSON re-serialised with a space is another message
        let respaced = br#"[{"token": "x","type":"phygitals_api_key"}]"#;
        assert_eq!(
            doc.verify("k1", &sig, respaced),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            doc.verify("k2", &sig, body),
            Err(SignatureError::UnknownKey)
        );
        assert_eq!(
            doc.verify("k1", &sig[..sig.len() - 8], body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(doc.verify("k1", "", body), Err(SignatureError::Missing));
        let (other, _) = pair();
        assert_eq!(
            doc.verify("k1", &sign(&other, body), body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn each_source_keeps_its_keys_until_it_supplies_new_ones() {
        let (_, a) = pair();
        let (_, b) = pair();
        let (_, c) = pair();
        let mut sources = KeySources::from_file(document("file", &a));
        sources.set_fetched(document("fetched", &b));
        let doc = sources.document();
        assert!(doc.knows("file") && doc.knows("fetched") && doc.len() == 2);
        // a new file replaces the file's keys only
        sources.set_file(document("file-2", &c));
        let doc = sources.document();
        assert!(!doc.knows("file") && doc.knows("file-2") && doc.knows("fetched"));
        // a new fetch replaces the fetched keys only; an identifier in both keeps the fetched key
        let (sk, pem) = pair();
        sources.set_fetched(document("file-2", &pem));
        let doc = sources.document();
        assert!(!doc.knows("fetched") && doc.len() == 1);
        assert_eq!(doc.verify("file-2", &sign(&sk, b"[]"), b"[]"), Ok(()));
    }

    #[test]
    fn documents_that_are_not_p256_keys_are_refused() {
        assert!(KeyDocument::parse(b"{}").is_err());
        assert!(KeyDocument::parse(b"[]").is_err());
        let bad = serde_json::json!({
            "public_keys": [{ "key_identifier": "k", "key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" }]
        });
        assert!(KeyDocument::parse(bad.to_string().as_bytes()).is_err());
        let empty = KeyDocument::parse(br#"{"public_keys":[]}"#).unwrap();
        assert!(empty.is_empty());
    }
}
