//! Exposed keys: GitHub's secret-scanning alerts (signed with a P-256 key the test makes and
//! puts in the key document), public revoke-by-secret, what the owner and support see, and
//! the operator's `key revoke-exposed`.

use std::time::{Duration, Instant};

use base64::Engine;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keydesk::db::schema::{api_keys, audit_events};
use keydesk::domain::{KeyHasher, PlainKey, Role, WalletKind};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use sha2::Digest;
use uuid::Uuid;

use crate::helpers::*;

const ALERT: &str = "/api/v1/secret-scanning/github";
const REVOKE: &str = "/api/v1/keys/revoke";
const LEAK_URL: &str = "https://github.com/someone/bot/blob/abc123/config.py#L3";

/// A P-256 key pair playing GitHub, and the key document file naming it.
pub struct Github {
    /// Its key identifier in the document.
    pub key_id: String,
    signer: SigningKey,
    /// The key document (deleted on drop).
    pub file: std::path::PathBuf,
}

/// A fresh P-256 signing key.
pub fn signer() -> SigningKey {
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    SigningKey::from_slice(&seed).unwrap()
}

/// A key document (GitHub's shape) naming these keys.
pub fn document(keys: &[(&str, &SigningKey)]) -> String {
    let entries: Vec<serde_json::Value> = keys
        .iter()
        .map(|(id, sk)| {
            serde_json::json!({
                "key_identifier": id,
                "key": sk.verifying_key().to_public_key_pem(LineEnding::LF).unwrap(),
                "is_current": true,
            })
        })
        .collect();
    serde_json::json!({ "public_keys": entries }).to_string()
}

impl Github {
    /// A fresh key pair and a document file naming it.
    pub fn new() -> Self {
        let signer = signer();
        let key_id = hex::encode(sha2::Sha256::digest(Uuid::new_v4().as_bytes()));
        let file = std::env::temp_dir().join(format!("keydesk-scanning-{}.json", Uuid::new_v4()));
        std::fs::write(&file, document(&[(&key_id, &signer)])).unwrap();
        Self {
            key_id,
            signer,
            file,
        }
    }

    /// base64 DER signature over `body`.
    pub fn sign(&self, body: &[u8]) -> String {
        sign_with(&self.signer, body)
    }
}

impl Drop for Github {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

/// base64 DER signature over `body` with `sk`.
pub fn sign_with(sk: &SigningKey, body: &[u8]) -> String {
    let sig: Signature = sk.sign(body);
    base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes())
}

async fn app_with(github: &Github) -> TestApp {
    let file = github.file.clone();
    spawn_app_with(TestDb::new().await, move |s| {
        s.scanning.keys_file = Some(file);
    })
    .await
}

/// A GitHub alert body reporting `tokens`.
pub fn alert_body(tokens: &[String]) -> Vec<u8> {
    let alerts: Vec<serde_json::Value> = tokens
        .iter()
        .map(|t| {
            serde_json::json!({
                "token": t, "type": "phygitals_api_key", "url": LEAK_URL, "source": "commit"
            })
        })
        .collect();
    serde_json::to_vec(&alerts).unwrap()
}

/// POSTs a secret-scanning alert with these headers.
pub async fn post_alert(
    app: &TestApp,
    key_id: &str,
    signature: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.client
        .post(format!("{}{ALERT}", app.address))
        .header("content-type", "application/json")
        .header("Github-Public-Key-Identifier", key_id)
        .header("Github-Public-Key-Signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn revoke_by_secret(app: &TestApp, keys: &[String]) -> reqwest::Response {
    app.client
        .post(format!("{}{REVOKE}", app.address))
        .json(&serde_json::json!({ "keys": keys }))
        .send()
        .await
        .unwrap()
}

/// Inserts `n` keys for `account` straight into the table (past the 10-key limit, which is
/// not what is tested here) and returns their secrets. Plain SQL over the columns every key
/// has, so the helper does not depend on how the create path builds its rows.
async fn insert_keys(app: &TestApp, account: Uuid, n: usize, tag: &str) -> Vec<String> {
    use diesel::sql_types::{Array, Bytea, Text, Uuid as SqlUuid};
    let hasher = KeyHasher::new(app.settings.key_pepper.expose());
    let secrets: Vec<PlainKey> = (0..n).map(|_| PlainKey::generate()).collect();
    let names: Vec<String> = (0..n).map(|i| format!("{tag}-{i}")).collect();
    let prefixes: Vec<String> = secrets
        .iter()
        .map(|k| k.display_prefix().to_owned())
        .collect();
    let hashes: Vec<Vec<u8>> = secrets.iter().map(|k| hasher.hash(k).0.to_vec()).collect();
    let mut c = app.conn().await;
    diesel::sql_query(
        "INSERT INTO api_keys (account_id, name, prefix, hash, hash_version, scopes)
         SELECT $1, v.name, v.prefix, v.hash, 1, ARRAY['vm.buy.crypto']
           FROM unnest($2, $3, $4) AS v(name, prefix, hash)",
    )
    .bind::<SqlUuid, _>(account)
    .bind::<Array<Text>, _>(&names)
    .bind::<Array<Text>, _>(&prefixes)
    .bind::<Array<Bytea>, _>(&hashes)
    .execute(&mut c)
    .await
    .unwrap();
    secrets.iter().map(|k| k.expose().to_owned()).collect()
}

/// (revoked_at set, revoked_reason, exposed_url, exposed_source) of the key with this secret.
async fn state_of(
    app: &TestApp,
    secret: &str,
) -> (bool, Option<String>, Option<String>, Option<String>) {
    let hasher = KeyHasher::new(app.settings.key_pepper.expose());
    let hash = hasher.hash(&PlainKey::parse(secret).unwrap());
    let mut c = app.conn().await;
    api_keys::table
        .filter(api_keys::hash.eq(hash.0.to_vec()))
        .select((
            api_keys::revoked_at.is_not_null(),
            api_keys::revoked_reason,
            api_keys::exposed_url,
            api_keys::exposed_source,
        ))
        .first(&mut c)
        .await
        .unwrap()
}

async fn revoked_count(app: &TestApp) -> i64 {
    let mut c = app.conn().await;
    api_keys::table
        .filter(api_keys::revoked_at.is_not_null())
        .count()
        .get_result(&mut c)
        .await
        .unwrap()
}

async fn member(app: &TestApp) -> Uuid {
    app.create_user(
        &format!("{}@example.com", Uuid::new_v4().simple()),
        Role::Member,
        true,
        &[(WalletKind::External, &random_address())],
    )
    .await
    .id
}

/// A well-formed key with a valid checksum that no account has.
fn foreign_key() -> String {
    PlainKey::generate().expose().to_owned()
}

fn sha256_hex(s: &str) -> String {
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

#[tokio::test]
async fn a_signed_batch_of_500_tokens_revokes_exactly_the_live_real_keys_and_labels_each() {
    let github = Github::new();
    let app = app_with(&github).await;
    let account = member(&app).await;
    let live = insert_keys(&app, account, 60, "live").await;
    let old = insert_keys(&app, account, 20, "old").await;
    let mut c = app.conn().await;
    let old_hashes: Vec<Vec<u8>> = old
        .iter()
        .map(|s| {
            KeyHasher::new(app.settings.key_pepper.expose())
                .hash(&PlainKey::parse(s).unwrap())
                .0
                .to_vec()
        })
        .collect();
    diesel::update(api_keys::table.filter(api_keys::hash.eq_any(&old_hashes)))
        .set(api_keys::revoked_at.eq(diesel::dsl::now))
        .execute(&mut c)
        .await
        .unwrap();
    let foreign: Vec<String> = (0..320).map(|_| foreign_key()).collect();
    // malformed: wrong checksum, too short, not ours at all, empty, a real key with a space
    let mut malformed: Vec<String> = Vec::new();
    for i in 0..100 {
        malformed.push(match i % 5 {
            0 => {
                let mut k = foreign_key();
                let last = if k.ends_with('A') { "B" } else { "A" };
                k.replace_range(41..42, last);
                k
            }
            1 => format!("phy_{}", "a".repeat(i % 30)),
            2 => format!("ghp_{}", "x".repeat(36)),
            3 => String::new(),
            _ => format!(" {}", live[0]),
        });
    }
    // interleaved, so matches are spread through the batch
    let mut tokens: Vec<String> = Vec::new();
    let (mut a, mut b, mut f, mut m) = (live.iter(), old.iter(), foreign.iter(), malformed.iter());
    loop {
        let before = tokens.len();
        tokens.extend(a.next().cloned());
        tokens.extend(f.next().cloned());
        tokens.extend(f.next().cloned());
        tokens.extend(b.next().cloned());
        tokens.extend(f.next().cloned());
        tokens.extend(m.next().cloned());
        tokens.extend(f.next().cloned());
        if tokens.len() == before {
            break;
        }
    }
    assert_eq!(tokens.len(), 500);
    let body = alert_body(&tokens);
    let signature = github.sign(&body);

    let started = Instant::now();
    let res = post_alert(&app, &github.key_id, &signature, body).await;
    let took = started.elapsed();
    eprintln!("500-token secret-scanning alert answered in {took:?}");
    assert_eq!(res.status(), 200);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let feedback: Vec<serde_json::Value> = res.json().await.unwrap();
    assert_eq!(feedback.len(), 500);
    for (token, f) in tokens.iter().zip(&feedback) {
        let ours = live.contains(token) || old.contains(token);
        assert_eq!(f["token_hash"], sha256_hex(token));
        assert_eq!(f["token_type"], "phygitals_api_key");
        assert_eq!(
            f["label"],
            if ours {
                "true_positive"
            } else {
                "false_positive"
            },
            "{}…",
            &token[..token.len().min(12)]
        );
        assert!(f.get("token_raw").is_none(), "never the raw token back");
    }
    for k in &live {
        assert_eq!(
            state_of(&app, k).await,
            (
                true,
                Some("exposed".into()),
                Some(LEAK_URL.into()),
                Some("commit".into())
            )
        );
    }
    for k in &old {
        assert_eq!(
            state_of(&app, k).await,
            (true, None, None, None),
            "left as it was"
        );
    }
    assert_eq!(revoked_count(&app).await, 80, "nothing else was revoked");
    let events: Vec<serde_json::Value> = audit_events::table
        .filter(audit_events::action.eq("key.revoked"))
        .select(audit_events::detail)
        .load(&mut c)
        .await
        .unwrap();
    assert_eq!(events.len(), 60, "one audit event per key revoked now");
    assert!(
        events
            .iter()
            .all(|d| d["reason"] == "exposed" && d["via"] == "github" && d["url"] == LEAK_URL)
    );

    // GitHub retries: the same alert again revokes nothing more and labels the same
    let body = alert_body(&tokens);
    let res = post_alert(&app, &github.key_id, &github.sign(&body), body).await;
    assert_eq!(res.status(), 200);
    let again: Vec<serde_json::Value> = res.json().await.unwrap();
    assert_eq!(again, feedback);
    let events: i64 = audit_events::table
        .filter(audit_events::action.eq("key.revoked"))
        .count()
        .get_result(&mut c)
        .await
        .unwrap();
    assert_eq!(events, 60);
}

#[tokio::test]
async fn alerts_that_are_not_signed_right_are_refused_with_401_and_revoke_nothing() {
    let github = Github::new();
    let app = app_with(&github).await;
    let account = member(&app).await;
    let keys = insert_keys(&app, account, 3, "k").await;
    let body = alert_body(&keys);
    let signature = github.sign(&body);

    // the same JSON, re-serialised (as a framework that parses before verifying would)
    let reparsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let respaced = serde_json::to_vec_pretty(&reparsed).unwrap();
    let truncated = signature[..signature.len() - 10].to_owned();
    let other = sign_with(&signer(), &body);
    let cases: Vec<(&str, String, String, Vec<u8>)> = vec![
        (
            "re-serialised body",
            github.key_id.clone(),
            signature.clone(),
            respaced,
        ),
        (
            "wrong key id",
            "0123abcd".repeat(8),
            signature.clone(),
            body.clone(),
        ),
        (
            "truncated signature",
            github.key_id.clone(),
            truncated,
            body.clone(),
        ),
        (
            "another key's signature",
            github.key_id.clone(),
            other,
            body.clone(),
        ),
        (
            "not base64",
            github.key_id.clone(),
            "%%%".into(),
            body.clone(),
        ),
    ];
    for (what, key_id, sig, b) in cases {
        let res = post_alert(&app, &key_id, &sig, b).await;
        assert_eq!(res.status(), 401, "{what}");
        let err: serde_json::Value = res.json().await.unwrap();
        assert_eq!(err["error"], "invalid_signature", "{what}");
    }
    // no signature headers at all
    let res = app
        .client
        .post(format!("{}{ALERT}", app.address))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(revoked_count(&app).await, 0);

    // a signed body that is not an alert is a 400, never a 500
    let junk = b"{\"not\":\"an array\"}".to_vec();
    let res = post_alert(&app, &github.key_id, &github.sign(&junk), junk).await;
    assert_eq!(res.status(), 400);
    // and without a key document every alert is refused
    let bare = spawn_app().await;
    let res = post_alert(&bare, &github.key_id, &signature, body).await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn an_exposed_key_is_refused_as_revoked_on_the_next_request() {
    let github = Github::new();
    let app = app_with(&github).await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("leaky-bot").await;
    let bearer = format!("Bearer {secret}");
    assert_eq!(app.me(Some(&bearer)).await.status(), 200);
    let body = alert_body(std::slice::from_ref(&secret));
    let res = post_alert(&app, &github.key_id, &github.sign(&body), body).await;
    assert_eq!(res.status(), 200);
    let res = app.me(Some(&bearer)).await;
    assert_eq!(res.status(), 401);
    let err: serde_json::Value = res.json().await.unwrap();
    assert_eq!(err["error_code"], "revoked");
}

#[tokio::test]
async fn the_owner_sees_where_and_when_the_key_was_found_and_what_to_do() {
    let github = Github::new();
    let app = app_with(&github).await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("leaky-bot").await;
    let id = app.key_id_of(&secret).await;
    let hostile = "https://evil.example/\"><script>alert(1)</script>";
    let alerts = serde_json::json!([
        { "token": secret, "type": "phygitals_api_key", "url": hostile, "source": "content" }
    ]);
    let body = serde_json::to_vec(&alerts).unwrap();
    let res = post_alert(&app, &github.key_id, &github.sign(&body), body).await;
    assert_eq!(res.status(), 200);

    let (status, page) = app.get_html(&format!("/settings/api-keys/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Revoked — found exposed"), "status word");
    assert!(page.contains("Found exposed and revoked"));
    // the URL is shown as escaped text, never as a link or markup
    let shown = page
        .split("id=\"exposure-url\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .unwrap_or_default();
    assert!(shown.starts_with("https://evil.example/&"), "{shown}");
    assert!(shown.contains("&#60;script&#62;"), "{shown}");
    assert!(!page.contains("<script>alert(1)"));
    assert!(!page.contains("href=\"https://evil.example"));
    assert!(page.contains("content"), "where it was found");
    assert!(
        page.contains("href=\"/settings/api-keys/new\""),
        "create a replacement"
    );
    assert!(
        page.contains("history"),
        "purge it from the repository history"
    );
    assert!(page.contains("href=\"#usage-title\""), "check recent usage");
    assert!(page.contains("id=\"usage-title\""));

    let (_, list) = app.get_html("/settings/api-keys?show=all").await;
    assert!(list.contains("Revoked — found exposed"));
    // the owner is told on the keys page (a notice written with the revocation), once, even
    // when GitHub reports the same token again
    assert!(
        list.contains("“leaky-bot” was found exposed and revoked"),
        "{list}"
    );
    let res = post_alert(
        &app,
        &github.key_id,
        &github.sign(&body_again(&secret)),
        body_again(&secret),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(notices_of_kind(&app, "key_exposed_revoked").await, 1);
}

fn body_again(secret: &str) -> Vec<u8> {
    let alerts = serde_json::json!([
        { "token": secret, "type": "phygitals_api_key", "url": LEAK_URL, "source": "commit" }
    ]);
    serde_json::to_vec(&alerts).unwrap()
}

async fn notices_of_kind(app: &TestApp, kind: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::Int8)]
        n: i64,
    }
    let mut c = app.conn().await;
    let row: N = diesel::sql_query("SELECT count(*) AS n FROM notices WHERE kind = $1")
        .bind::<diesel::sql_types::Text, _>(kind)
        .get_result(&mut c)
        .await
        .unwrap();
    row.n
}

#[tokio::test]
async fn a_key_revoked_by_someone_holding_it_is_announced_to_its_owner() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("handed-over").await;
    let res = revoke_by_secret(&app, std::slice::from_ref(&secret)).await;
    assert_eq!(res.status(), 202);
    let (_, list) = app.get_html("/settings/api-keys").await;
    assert!(
        list.contains("“handed-over” was reported as leaked and revoked"),
        "{list}"
    );
    assert_eq!(notices_of_kind(&app, "key_exposed_revoked").await, 1);
}

#[tokio::test]
async fn support_sees_the_exposure_on_the_account_page() {
    let github = Github::new();
    let app = app_with(&github).await;
    let owner = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("leaky-bot").await;
    let body = alert_body(std::slice::from_ref(&secret));
    post_alert(&app, &github.key_id, &github.sign(&body), body).await;
    let staff = app
        .create_user("staff@example.com", Role::Support, false, &[])
        .await;
    assert_eq!(app.login(&staff.email, &staff.password).await.status(), 303);
    let (status, page) = app
        .get_html(&format!("/support/accounts/{}", owner.id))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("Revoked — found exposed"));
    assert!(page.contains("keydesk: found exposed"));
    assert!(page.contains(LEAK_URL));
    assert!(!page.contains(&secret[12..]), "never the secret");
}

#[tokio::test]
async fn revoke_by_secret_answers_alike_for_real_and_fake_keys_and_revokes_only_real_ones() {
    let app = spawn_app().await;
    let account = member(&app).await;
    let real = insert_keys(&app, account, 2, "real").await;
    let bystander = insert_keys(&app, account, 1, "bystander").await;

    let fake = revoke_by_secret(&app, &[foreign_key(), "not a key".into()]).await;
    let fake_status = fake.status();
    let fake_body = fake.bytes().await.unwrap();
    assert_eq!(revoked_count(&app).await, 0);
    let real_res = revoke_by_secret(&app, &real).await;
    assert_eq!(fake_status, 202);
    assert_eq!(real_res.status(), 202);
    assert_eq!(real_res.bytes().await.unwrap(), fake_body, "no oracle");
    for k in &real {
        assert_eq!(
            state_of(&app, k).await,
            (true, Some("reported".into()), None, None)
        );
    }
    assert_eq!(
        state_of(&app, &bystander[0]).await,
        (false, None, None, None)
    );
    let mut c = app.conn().await;
    let via: Vec<serde_json::Value> = audit_events::table
        .filter(audit_events::action.eq("key.revoked"))
        .select(audit_events::detail)
        .load(&mut c)
        .await
        .unwrap();
    assert_eq!(via.len(), 2);
    assert!(
        via.iter()
            .all(|d| d["reason"] == "reported" && d["via"] == "public")
    );
    // the status tells the owner who revoked it
    let res = app.me(Some(&format!("Bearer {}", real[0]))).await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn revoke_by_secret_allows_10_calls_a_minute_per_client_then_429() {
    let app = spawn_app().await;
    for i in 0..10 {
        let res = revoke_by_secret(&app, &[foreign_key()]).await;
        assert_eq!(res.status(), 202, "call {i}");
    }
    let res = revoke_by_secret(&app, &[foreign_key()]).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test]
async fn revoke_by_secret_refuses_more_than_100_keys_and_bad_bodies() {
    let app = spawn_app().await;
    let account = member(&app).await;
    let mut keys = insert_keys(&app, account, 1, "k").await;
    keys.extend((0..100).map(|_| foreign_key()));
    let res = revoke_by_secret(&app, &keys).await;
    assert_eq!(res.status(), 413);
    assert_eq!(
        revoked_count(&app).await,
        0,
        "nothing revoked from a refused call"
    );
    for (ct, body) in [
        ("application/json", "{\"keys\": \"phy_x\"}"),
        ("application/json", "[]"),
        ("application/json", "{"),
        ("text/plain", "{\"keys\": []}"),
    ] {
        let res = app
            .client
            .post(format!("{}{REVOKE}", app.address))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{ct} {body}");
    }
    let res = app
        .client
        .get(format!("{}{REVOKE}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn a_rotated_key_document_is_picked_up_without_a_restart() {
    let github = Github::new();
    let app = app_with(&github).await;
    let account = member(&app).await;
    let keys = insert_keys(&app, account, 1, "k").await;
    // GitHub rotates: the file now lists a new key beside the old one
    let next = signer();
    std::fs::write(
        &github.file,
        document(&[(&github.key_id, &github.signer), ("next-key", &next)]),
    )
    .unwrap();
    let body = alert_body(&keys);
    let res = post_alert(&app, "next-key", &sign_with(&next, &body), body).await;
    assert_eq!(res.status(), 200);
    assert!(state_of(&app, &keys[0]).await.0);
}

/// Serves `doc` over plain HTTP on 127.0.0.1 to every request, counting them.
async fn serve_document(doc: String) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/meta/public_keys/secret_scanning",
        listener.local_addr().unwrap()
    );
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let res = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{doc}",
                doc.len()
            );
            let _ = s.write_all(res.as_bytes()).await;
        }
    });
    (url, hits)
}

#[tokio::test]
async fn an_unknown_key_id_fetches_the_document_from_the_url_at_most_once_a_minute() {
    let github = Github::new();
    let fetched = signer();
    let (url, hits) = serve_document(document(&[("fetched-key", &fetched)])).await;
    let file = github.file.clone();
    let app = spawn_app_with(TestDb::new().await, move |s| {
        s.scanning.keys_file = Some(file);
        s.scanning.keys_url = Some(url);
    })
    .await;
    let account = member(&app).await;
    let keys = insert_keys(&app, account, 1, "k").await;
    let body = alert_body(&keys);
    let res = post_alert(
        &app,
        "fetched-key",
        &sign_with(&fetched, &body),
        body.clone(),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(state_of(&app, &keys[0]).await.0);
    // the file's own key still works after the refresh
    let res = post_alert(&app, &github.key_id, &github.sign(&body), body.clone()).await;
    assert_eq!(res.status(), 200);
    // made-up identifiers cannot make keydesk fetch again and again
    for i in 0..5 {
        let res = post_alert(
            &app,
            &format!("made-up-{i}"),
            &github.sign(&body),
            body.clone(),
        )
        .await;
        assert_eq!(res.status(), 401);
    }
    let fetches = std::sync::atomic::AtomicUsize::load(&hits, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(fetches, 1);
}

#[tokio::test]
async fn the_operator_revokes_an_exposed_key_read_from_stdin() {
    use std::io::Write;
    let app = spawn_app().await;
    let account = member(&app).await;
    let keys = insert_keys(&app, account, 1, "k").await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_keydesk"))
        .args([
            "key",
            "revoke-exposed",
            "-",
            "--url",
            "https://pastebin.example/abc",
        ])
        .env_clear()
        .env("APP_DATABASE_URL", app.db.url())
        .env(
            "APP_SESSION_KEY",
            hex::encode(app.settings.session_key.expose()),
        )
        .env(
            "APP_KEY_PEPPER",
            hex::encode(app.settings.key_pepper.expose()),
        )
        .env(
            "APP_INTROSPECTION_TOKEN",
            app.settings.introspection_token.expose(),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", keys[0]).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("revoked key"), "{stdout}");
    assert!(
        !stdout.contains(&keys[0][12..]),
        "the secret is not printed"
    );
    assert_eq!(
        state_of(&app, &keys[0]).await,
        (
            true,
            Some("exposed".into()),
            Some("https://pastebin.example/abc".into()),
            Some("operator".into())
        )
    );
    // not a key, or not ours: a clear failure
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keydesk"))
        .args(["key", "revoke-exposed", &foreign_key()])
        .env_clear()
        .env("APP_DATABASE_URL", app.db.url())
        .env(
            "APP_SESSION_KEY",
            hex::encode(app.settings.session_key.expose()),
        )
        .env(
            "APP_KEY_PEPPER",
            hex::encode(app.settings.key_pepper.expose()),
        )
        .env(
            "APP_INTROSPECTION_TOKEN",
            app.settings.introspection_token.expose(),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
}
