//! Creating keys: validation, eligibility, the atomic limit, replays, the one-time secret.

use crate::helpers::*;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keydesk::db::schema::api_keys;
use keydesk::domain::{Role, WalletKind};

#[tokio::test]
async fn a_created_key_is_shown_once_with_no_store_and_only_its_hash_is_kept() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let res = app
        .create_key(&[
            ("name", "production-bot"),
            ("scopes", "marketplace.take-claw-bid"),
        ])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get("cache-control").unwrap(), "no-store");
    let html = res.text().await.unwrap();
    let secret = secret_in(&html);
    assert!(
        keydesk::domain::PlainKey::parse(&secret).is_ok(),
        "{secret}"
    );
    assert!(
        html.contains("You won't be able to see it again")
            || html.contains("You won&#x27;t be able to see it again")
    );

    // the next GET shows the prefix only
    let (_, next) = app.get_html("/settings/api-keys").await;
    assert!(!next.contains(&secret));
    assert!(next.contains(&secret[..12]));

    // the database holds a 32-byte HMAC, the prefix, and nothing of the rest of the secret
    let mut c = app.conn().await;
    let (hash, prefix, scopes): (Vec<u8>, String, Vec<String>) = api_keys::table
        .filter(api_keys::account_id.eq(user.id))
        .select((api_keys::hash, api_keys::prefix, api_keys::scopes))
        .first(&mut c)
        .await
        .unwrap();
    assert_eq!(hash.len(), 32);
    assert_eq!(prefix, &secret[..12]);
    assert_eq!(scopes, vec!["marketplace.take-claw-bid".to_string()]);
    let dump: Vec<String> = diesel::sql_query("SELECT row_to_json(t)::text AS j FROM api_keys t")
        .load::<JsonRow>(&mut c)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.j)
        .collect();
    assert!(dump.iter().all(|j| !j.contains(&secret[12..])));
    let audit: Vec<String> =
        diesel::sql_query("SELECT row_to_json(a)::text AS j FROM audit_events a")
            .load::<JsonRow>(&mut c)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.j)
            .collect();
    assert!(audit.iter().any(|j| j.contains("key.created")));
    assert!(audit.iter().all(|j| !j.contains(&secret[12..])));
}

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    j: String,
}

#[tokio::test]
async fn each_invalid_field_gets_its_message_a_422_and_nothing_is_stored() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let long = "n".repeat(65);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("name", "   ")], "Enter a name for the key"),
        (vec![("name", &long)], "Name must be 64 characters or fewer"),
        (
            vec![("name", "evil\u{202e}gnp")],
            "control or text-direction characters",
        ),
        (vec![("expiration", "45")], "Choose when the key expires"),
        (
            vec![("expiration", "custom"), ("custom_expiration", "")],
            "Enter the date and time the key expires",
        ),
        (
            vec![
                ("expiration", "custom"),
                ("custom_expiration", "2020-01-01T10:00"),
            ],
            "at least one minute in the future",
        ),
        (
            vec![
                ("expiration", "custom"),
                ("custom_expiration", "2100-01-01T00:00"),
            ],
            "before 1 January 2100",
        ),
        (
            vec![("expiration", "custom"), ("custom_expiration", "soon")],
            "YYYY-MM-DD HH:MM",
        ),
        (vec![("scopes", "admin")], "Choose scopes from the list"),
        (
            vec![("request_id", "not-a-uuid")],
            "This form is out of date",
        ),
    ];
    for (fields, message) in cases {
        let res = app.create_key(&fields).await;
        assert_eq!(res.status(), 422, "{fields:?}");
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{message} missing for {fields:?}");
        assert!(
            html.contains("id=\"create-dialog\" class=\"dialog\" open"),
            "dialog re-opened"
        );
    }
    // no scopes at all
    let (_, page) = app.get_html("/settings/api-keys").await;
    let token = csrf_in(&page);
    let res = app
        .post_form(
            "/settings/api-keys",
            &[
                ("csrf_token", &token),
                ("name", "kept-name"),
                ("expiration", "7"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("Choose at least one scope"));
    assert!(html.contains("value=\"kept-name\""), "input kept");
    assert!(html.contains("value=\"7\" selected"), "expiration kept");
    assert_eq!(app.key_count(user.id).await, 0);
}

#[tokio::test]
async fn names_are_unique_among_live_keys_case_insensitively() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    app.create_key_secret("Production-Bot").await;
    let res = app.create_key(&[("name", "production-bot")]).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Name is already used by another key")
    );
    assert_eq!(app.key_count(user.id).await, 1);
}

#[tokio::test]
async fn a_custom_expiration_is_read_in_the_users_time_zone() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let mut c = app.conn().await;
    keydesk::db::users::set_time_zone(&mut c, user.id, "Europe/Berlin")
        .await
        .unwrap();
    let res = app
        .create_key(&[
            ("expiration", "custom"),
            ("custom_expiration", "2030-06-01T14:00"),
        ])
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Expires 1 Jun 2030, 14:00 (Europe/Berlin)"),
        "{html}"
    );
    let exp: Option<chrono::DateTime<chrono::Utc>> = api_keys::table
        .filter(api_keys::account_id.eq(user.id))
        .select(api_keys::expires_at)
        .first(&mut c)
        .await
        .unwrap();
    assert_eq!(exp.unwrap().to_rfc3339(), "2030-06-01T12:00:00+00:00");
}

#[tokio::test]
async fn a_forged_create_from_each_ineligible_state_creates_nothing() {
    let app = spawn_app().await;
    type State<'a> = (&'a str, bool, Vec<(WalletKind, String)>, &'a str);
    let states: Vec<State> = vec![
        (
            "flag@example.com",
            false,
            vec![(WalletKind::External, random_address())],
            "api_keys_not_enabled",
        ),
        ("nowallet@example.com", true, vec![], "no_external_wallet"),
        (
            "custodial@example.com",
            true,
            vec![(WalletKind::Custodial, random_address())],
            "only_platform_wallets",
        ),
        (
            "embedded@example.com",
            true,
            vec![(WalletKind::Embedded, random_address())],
            "only_platform_wallets",
        ),
    ];
    for (email, enabled, wallets, code) in states {
        let w: Vec<(WalletKind, &str)> = wallets.iter().map(|(k, a)| (*k, a.as_str())).collect();
        let u = app.create_user(email, Role::Member, enabled, &w).await;
        assert_eq!(app.login(&u.email, &u.password).await.status(), 303);
        let res = app.create_key(&[("name", "forged")]).await;
        assert_eq!(res.status(), 409, "{email}");
        let html = res.text().await.unwrap();
        assert!(html.contains(code), "{code} missing for {email}");
        assert!(!html.contains("id=\"secret-value\""));
        assert_eq!(app.key_count(u.id).await, 0, "{email}");
    }
}

#[tokio::test]
async fn resubmitting_the_same_request_id_creates_one_key() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    // the create form (the keys page's dialog loads it from here)
    let (_, page) = app.get_html("/settings/api-keys/new").await;
    let token = csrf_in(&page);
    let rid = request_id_in(&page);
    let form = [
        ("csrf_token", token.as_str()),
        ("request_id", rid.as_str()),
        ("name", "once"),
        ("expiration", "30"),
        ("scopes", "vm.buy.crypto"),
    ];
    let first = app.post_form("/settings/api-keys", &form).await;
    assert_eq!(first.status(), 200);
    let second = app.post_form("/settings/api-keys", &form).await;
    assert_eq!(second.status(), 409);
    let html = second.text().await.unwrap();
    assert!(html.contains("This form was already submitted"));
    assert!(
        !html.contains("id=\"secret-value\""),
        "the secret is never shown twice"
    );
    assert_eq!(app.key_count(user.id).await, 1);
}

async fn concurrent_creates(app: &TestApp, n: usize) -> Vec<u16> {
    let (_, page) = app.get_html("/settings/api-keys").await;
    let token = csrf_in(&page);
    let cookie = app.cookie().unwrap();
    let mut tasks = Vec::new();
    for i in 0..n {
        let client = app.client.clone();
        let url = format!("{}/settings/api-keys", app.address);
        let cookie = cookie.clone();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("csrf_token", token.as_str()),
                ("request_id", &uuid::Uuid::new_v4().to_string()),
                ("name", &format!("parallel-{i}")),
                ("expiration", "never"),
                ("scopes", "vm.buy.crypto"),
            ])
            .finish();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn fifty_concurrent_creates_at_nine_keys_make_exactly_one() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    for i in 0..9 {
        app.create_key_secret(&format!("k{i}")).await;
    }
    let statuses = concurrent_creates(&app, 50).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(app.key_count(user.id).await, 10);
}

#[tokio::test]
async fn fifty_concurrent_creates_from_zero_make_exactly_ten() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let statuses = concurrent_creates(&app, 50).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(app.key_count(user.id).await, 10);
    let (_, html) = app.get_html("/settings/api-keys").await;
    assert!(html.contains("data-code=\"active_key_limit_reached\""));
    assert!(html.contains("10 of 10 active keys."));
}

#[tokio::test]
async fn expired_and_revoked_keys_do_not_count_toward_the_limit() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    for i in 0..10 {
        app.create_key_secret(&format!("k{i}")).await;
    }
    assert_eq!(app.create_key(&[("name", "eleventh")]).await.status(), 409);
    let mut c = app.conn().await;
    diesel::update(api_keys::table.filter(api_keys::name.eq("k0")))
        .set(api_keys::expires_at.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .execute(&mut c)
        .await
        .unwrap();
    assert_eq!(app.create_key(&[("name", "eleventh")]).await.status(), 200);
    let id: uuid::Uuid = api_keys::table
        .filter(api_keys::name.eq("k1"))
        .select(api_keys::id)
        .first(&mut c)
        .await
        .unwrap();
    keydesk::db::api_keys::revoke_for_account(&mut c, user.id, id, user.id, &origin())
        .await
        .unwrap();
    assert_eq!(app.create_key(&[("name", "twelfth")]).await.status(), 200);
    assert_eq!(
        app.create_key(&[("name", "thirteenth")]).await.status(),
        409
    );
}
