//! Linking a self-custodied wallet by signature; platform wallets never qualify; unlinking
//! pauses keys and relinking resumes them. Keypairs are generated in the test.

use crate::helpers::*;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use ed25519_dalek::{Signer, SigningKey};
use keydesk::db::audit;
use keydesk::db::schema::{wallet_challenges, wallets};
use keydesk::domain::{Role, WalletKind};

struct Wallet {
    key: SigningKey,
    address: String,
}

fn new_wallet() -> Wallet {
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    let address = bs58::encode(key.verifying_key().as_bytes()).into_string();
    Wallet { key, address }
}

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name}")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The challenge text as the page shows it, unescaped.
fn message(html: &str) -> String {
    let start = html
        .find("readonly spellcheck=\"false\" aria-describedby=\"challenge-hint\">")
        .unwrap()
        + 62;
    let end = start + html[start..].find("</textarea>").unwrap();
    html[start..end]
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
}

async fn finish_link(
    app: &TestApp,
    challenge_html: &str,
    address: &str,
    signature: &str,
) -> reqwest::Response {
    let token = app.csrf().await;
    let id = field(challenge_html, "challenge_id");
    app.post_form(
        "/settings/wallets",
        &[
            ("csrf_token", &token),
            ("challenge_id", &id),
            ("address", address),
            ("signature", signature),
        ],
    )
    .await
}

fn sign(w: &Wallet, msg: &str) -> String {
    bs58::encode(w.key.sign(msg.as_bytes()).to_bytes()).into_string()
}

async fn logged_in_without_wallet(app: &TestApp) -> TestUser {
    let u = app
        .create_user("linker@example.com", Role::Member, true, &[])
        .await;
    assert_eq!(app.login(&u.email, &u.password).await.status(), 303);
    u
}

#[tokio::test]
async fn signing_the_challenge_links_the_wallet_and_makes_the_account_eligible() {
    let app = spawn_app().await;
    let user = logged_in_without_wallet(&app).await;
    let (_, keys) = app.get_html("/settings/api-keys").await;
    assert!(keys.contains("data-code=\"no_external_wallet\""));

    let w = new_wallet();
    let res = app.start_wallet_link(&w.address).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let msg = message(&html);
    assert!(
        msg.contains(&w.address) && msg.contains("Nonce: ") && msg.contains("linker@example.com"),
        "{msg}"
    );
    let res = finish_link(&app, &html, &w.address, &sign(&w, &msg)).await;
    assert_eq!(res.status(), 303);
    let (_, page) = app.get_html("/settings/wallets").await;
    assert!(page.contains("Linked wallet"));
    assert!(page.contains(&w.address));
    let (_, keys) = app.get_html("/settings/api-keys").await;
    assert!(!keys.contains("You can't create keys yet"), "eligible now");
    let mut c = app.conn().await;
    assert_eq!(
        audit::list_for_account_action(&mut c, user.id, action("wallet.linked"))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn each_bad_link_attempt_is_refused_clearly_and_links_nothing() {
    let app = spawn_app().await;
    let user = logged_in_without_wallet(&app).await;
    let w = new_wallet();
    let other = new_wallet();

    for bad in ["", "not-an-address", "0OIl0OIl", &w.address[..20]] {
        let res = app.start_wallet_link(bad).await;
        assert_eq!(res.status(), 422, "{bad:?}");
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("isn&#39;t a Solana address")
                || bad.is_empty()
        );
    }

    let html = app
        .start_wallet_link(&w.address)
        .await
        .text()
        .await
        .unwrap();
    let msg = message(&html);
    let cases = [
        (
            sign(&w, "some other message"),
            w.address.clone(),
            "doesn&#39;t match this wallet and message",
        ),
        (
            sign(&other, &msg),
            w.address.clone(),
            "doesn&#39;t match this wallet and message",
        ),
        (
            "not-base58-0OIl".to_string(),
            w.address.clone(),
            "isn&#39;t a base58 ed25519 signature",
        ),
        (
            "3yZe7d".to_string(),
            w.address.clone(),
            "isn&#39;t a base58 ed25519 signature",
        ),
        (
            sign(&other, &msg),
            other.address.clone(),
            "must come from the wallet you started linking",
        ),
    ];
    for (sig, addr, expected) in cases {
        let res = finish_link(&app, &html, &addr, &sig).await;
        assert_eq!(res.status(), 422);
        let body = res.text().await.unwrap();
        assert!(body.contains(expected), "{expected}");
        if !expected.contains("must come from") {
            // a refused signature stays in its field, marked invalid, to be checked or fixed
            assert!(
                body.contains(&format!("value=\"{sig}\" aria-invalid=\"true\"")),
                "{sig}"
            );
        }
    }

    // expired challenge
    let mut c = app.conn().await;
    diesel::update(wallet_challenges::table)
        .set(wallet_challenges::expires_at.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .execute(&mut c)
        .await
        .unwrap();
    let res = finish_link(&app, &html, &w.address, &sign(&w, &msg)).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("expired"));

    let n: i64 = wallets::table.count().get_result(&mut c).await.unwrap();
    assert_eq!(n, 0, "nothing linked");
    let failures = audit::list_for_account_action(&mut c, user.id, action("wallet.link_failed"))
        .await
        .unwrap();
    assert!(failures.len() >= 5);
}

#[tokio::test]
async fn a_challenge_links_once_and_an_address_belongs_to_one_account() {
    let app = spawn_app().await;
    logged_in_without_wallet(&app).await;
    let w = new_wallet();
    let html = app
        .start_wallet_link(&w.address)
        .await
        .text()
        .await
        .unwrap();
    let sig = sign(&w, &message(&html));
    assert_eq!(
        finish_link(&app, &html, &w.address, &sig).await.status(),
        303
    );
    let res = finish_link(&app, &html, &w.address, &sig).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("already used"));

    // another account cannot take the address
    let u2 = app
        .create_user("second@example.com", Role::Member, true, &[])
        .await;
    app.login(&u2.email, &u2.password).await;
    let res = app.start_wallet_link(&w.address).await;
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("already linked to another account")
    );
}

#[tokio::test]
async fn unlinking_the_last_external_wallet_pauses_keys_and_relinking_resumes_them() {
    let app = spawn_app().await;
    let user = logged_in_without_wallet(&app).await;
    let w = new_wallet();
    let html = app
        .start_wallet_link(&w.address)
        .await
        .text()
        .await
        .unwrap();
    finish_link(&app, &html, &w.address, &sign(&w, &message(&html))).await;
    let secret = app.create_key_secret("bot").await;
    assert_eq!(
        app.me(Some(&format!("Bearer {secret}"))).await.status(),
        200
    );

    let mut c = app.conn().await;
    let wallet_id: uuid::Uuid = wallets::table
        .filter(wallets::address.eq(&w.address))
        .select(wallets::id)
        .first(&mut c)
        .await
        .unwrap();
    let (_, confirm) = app
        .get_html(&format!("/settings/wallets/{wallet_id}/unlink"))
        .await;
    assert!(
        confirm.contains("last self-custodied wallet") && confirm.contains("will be paused"),
        "{confirm}"
    );
    let token = app.csrf().await;
    assert_eq!(
        app.post_form(
            &format!("/settings/wallets/{wallet_id}/unlink"),
            &[("csrf_token", &token)]
        )
        .await
        .status(),
        303
    );
    let res = app.me(Some(&format!("Bearer {secret}"))).await;
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error_code"], "account_not_eligible");
    let (_, keys) = app.get_html("/settings/api-keys").await;
    assert!(keys.contains("status-paused\">Paused<"));

    let html = app
        .start_wallet_link(&w.address)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        finish_link(&app, &html, &w.address, &sign(&w, &message(&html)))
            .await
            .status(),
        303
    );
    assert_eq!(
        app.me(Some(&format!("Bearer {secret}"))).await.status(),
        200,
        "resumed"
    );
    assert_eq!(
        audit::list_for_account_action(&mut c, user.id, action("wallet.unlinked"))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn platform_wallets_are_listed_but_cannot_be_unlinked() {
    let app = spawn_app().await;
    let addr = random_address();
    let u = app
        .create_user(
            "cust@example.com",
            Role::Member,
            true,
            &[(WalletKind::Custodial, &addr)],
        )
        .await;
    app.login(&u.email, &u.password).await;
    let (_, page) = app.get_html("/settings/wallets").await;
    assert!(page.contains("Custodial") && page.contains("does not qualify for API keys"));
    assert!(!page.contains("/unlink\""));
    let mut c = app.conn().await;
    let id: uuid::Uuid = wallets::table
        .select(wallets::id)
        .first(&mut c)
        .await
        .unwrap();
    assert_eq!(
        app.get(&format!("/settings/wallets/{id}/unlink"))
            .await
            .status(),
        404
    );
    let token = app.csrf().await;
    assert_eq!(
        app.post_form(
            &format!("/settings/wallets/{id}/unlink"),
            &[("csrf_token", &token)]
        )
        .await
        .status(),
        404
    );
    let n: i64 = wallets::table.count().get_result(&mut c).await.unwrap();
    assert_eq!(n, 1);
}
