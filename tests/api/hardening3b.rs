//! Hardening, round 3 (b): limits per client (an IPv6 /64), and a locked account's refusals
//! not counted against its address.

use crate::helpers::*;

fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// POSTs a form with the jar's cookies, as if from `xff` behind the trusted proxy.
async fn post_from(app: &TestApp, path: &str, xff: &str, pairs: &[(&str, &str)]) -> u16 {
    app.client
        .post(format!("{}{path}", app.address))
        .header("cookie", app.cookies())
        .header("x-forwarded-for", xff)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(pairs))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A sign-in attempt from `xff` (through the trusted proxy, or with no header when empty).
async fn login_from(app: &TestApp, xff: &str, email: &str, password: &str) -> u16 {
    app.set_cookie(None);
    let (_, html) = app.get_html("/login").await;
    let token = csrf_in(&html);
    let pairs = [
        ("csrf_token", token.as_str()),
        ("email", email),
        ("password", password),
    ];
    if xff.is_empty() {
        return app.post_form("/login", &pairs).await.status().as_u16();
    }
    post_from(app, "/login", xff, &pairs).await
}

/// (status, body) of `/api/v1/keys/revoke` from `xff` through the trusted proxy.
async fn revoke_by_secret_from(app: &TestApp, xff: &str, keys: &[&str]) -> u16 {
    app.client
        .post(format!("{}/api/v1/keys/revoke", app.address))
        .header("x-forwarded-for", xff)
        .json(&serde_json::json!({ "keys": keys }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
// ---- 8. Limits per client, not per address ----

fn behind_proxy(s: &mut keydesk::config::Settings) {
    s.trusted_proxies = keydesk::config::parse_proxies("127.0.0.1/32").unwrap();
}

#[tokio::test]
async fn sign_ins_from_addresses_of_one_ipv6_64_share_one_limit() {
    let app = spawn_app_with(TestDb::new().await, |s| {
        behind_proxy(s);
        s.login_max_failures_per_ip = 3;
    })
    .await;
    let mut n = 0;
    let mut attempt = async |xff: &str| {
        n += 1;
        login_from(
            &app,
            xff,
            &format!("nobody{n}@example.com"),
            "wrong-password",
        )
        .await
    };
    for xff in [
        "2001:db8:aa:bb::1",
        "2001:db8:aa:bb::2",
        "2001:db8:aa:bb:1::3",
    ] {
        assert_eq!(attempt(xff).await, 401, "{xff}");
    }
    assert_eq!(attempt("2001:db8:aa:bb:ffff::9").await, 429, "same /64");
    assert_eq!(attempt("2001:db8:aa:bc::1").await, 401, "another /64");
    // an IPv4-mapped address is its IPv4 address
    for xff in ["::ffff:198.51.100.7", "198.51.100.7", "::ffff:198.51.100.7"] {
        assert_eq!(attempt(xff).await, 401, "{xff}");
    }
    assert_eq!(attempt("198.51.100.7").await, 429, "the same IPv4 client");
    assert_eq!(attempt("198.51.100.8").await, 401, "IPv4 stays exact");
}

#[tokio::test]
async fn revoke_by_secret_calls_from_one_ipv6_64_share_one_limit() {
    let app = spawn_app_with(TestDb::new().await, |s| {
        behind_proxy(s);
        s.scanning.revoke_per_minute = 2;
    })
    .await;
    let fake = keydesk::domain::PlainKey::generate().expose().to_owned();
    assert_eq!(
        revoke_by_secret_from(&app, "2001:db8:1:2::1", &[&fake]).await,
        202
    );
    assert_eq!(
        revoke_by_secret_from(&app, "2001:db8:1:2::2", &[&fake]).await,
        202
    );
    assert_eq!(
        revoke_by_secret_from(&app, "2001:db8:1:2:abcd::3", &[&fake]).await,
        429,
        "same /64"
    );
    assert_eq!(
        revoke_by_secret_from(&app, "2001:db8:1:3::1", &[&fake]).await,
        202,
        "another /64"
    );
}

#[tokio::test]
async fn password_confirmations_from_one_ipv6_64_share_one_limit() {
    let app = spawn_app_with(TestDb::new().await, |s| {
        behind_proxy(s);
        s.login_max_failures_per_ip = 3;
        s.login_max_failures = 100;
    })
    .await;
    let user = app.eligible_user_logged_in().await;
    app.age_password_entry(601).await;
    let create = async |xff: &str| {
        let (_, page) = app.get_html("/settings/api-keys/new").await;
        let (token, rid) = (csrf_in(&page), request_id_in(&page));
        let pairs = [
            ("csrf_token", token.as_str()),
            ("request_id", rid.as_str()),
            ("name", "sudo-bot"),
            ("expiration", "30"),
            ("scopes", "vm.buy.crypto"),
            ("password", "wrong-password-1"),
        ];
        post_from(&app, "/settings/api-keys", xff, &pairs).await
    };
    for xff in ["2001:db8:7:7::1", "2001:db8:7:7::2", "2001:db8:7:7::3"] {
        assert_eq!(create(xff).await, 422, "{xff}");
    }
    assert_eq!(create("2001:db8:7:7:9::4").await, 429, "same /64");
    assert_eq!(app.key_count(user.id).await, 0);
}

#[tokio::test]
async fn sixty_wrong_passwords_for_one_account_do_not_lock_the_address_out_of_another() {
    let app = spawn_app().await;
    let victim = app
        .create_user(
            "victim@example.com",
            keydesk::domain::Role::Member,
            true,
            &[],
        )
        .await;
    let other = app
        .create_user(
            "other@example.com",
            keydesk::domain::Role::Member,
            true,
            &[],
        )
        .await;
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..60 {
        let s = login_from(&app, "", &victim.email, "wrong-password").await;
        *statuses.entry(s).or_insert(0) += 1;
    }
    assert_eq!(statuses.get(&401), Some(&4), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&56), "{statuses:?}");
    assert_eq!(
        login_from(&app, "", &other.email, &other.password).await,
        303,
        "another account from the same address"
    );
}
