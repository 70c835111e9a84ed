//! The support console: members never see it, staff only read, every view is recorded.

use crate::helpers::*;
use keydesk::db::audit;
use keydesk::domain::{Role, WalletKind};

async fn support_logged_in(app: &TestApp) -> TestUser {
    let s = app
        .create_user("staff@example.com", Role::Support, false, &[])
        .await;
    assert_eq!(app.login(&s.email, &s.password).await.status(), 303);
    s
}

#[tokio::test]
async fn members_get_404_on_every_support_route() {
    let app = spawn_app().await;
    let member = app.eligible_user_logged_in().await;
    for path in [
        "/support",
        "/support?q=a",
        &format!("/support/accounts/{}", member.id),
        "/support/anything",
    ] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
    let token = app.csrf().await;
    assert_eq!(
        app.post_form("/support", &[("csrf_token", &token)])
            .await
            .status(),
        404
    );
    let (_, page) = app.get_html("/settings/api-keys").await;
    assert!(!page.contains("Support console"));
}

#[tokio::test]
async fn staff_see_each_reason_code_and_the_keys_but_never_a_hash_or_secret() {
    let app = spawn_app().await;
    let custodial = app
        .create_user(
            "custodial@example.com",
            Role::Member,
            false,
            &[(WalletKind::Custodial, &random_address())],
        )
        .await;
    let eligible = app
        .create_user(
            "eligible@example.com",
            Role::Member,
            true,
            &[(WalletKind::External, &random_address())],
        )
        .await;
    app.login(&eligible.email, &eligible.password).await;
    let secret = app.create_key_secret("prod-bot").await;
    support_logged_in(&app).await;

    let (status, page) = app
        .get_html(&format!("/support/accounts/{}", custodial.id))
        .await;
    assert_eq!(status, 200);
    for code in ["api_keys_not_enabled", "only_platform_wallets"] {
        assert!(page.contains(&format!("data-code=\"{code}\"")), "{code}");
        assert!(
            page.contains(&format!("<code class=\"code\">{code}</code>")),
            "{code} shown as text"
        );
    }
    assert!(page.contains("held by us"), "the same words the user reads");

    let (_, page) = app
        .get_html(&format!("/support/accounts/{}", eligible.id))
        .await;
    assert!(page.contains("Eligible: this account can create keys."));
    assert!(page.contains("prod-bot") && page.contains(&secret[..12]));
    assert!(!page.contains(&secret[12..]), "no secret");
    assert!(!page.contains("\\x"), "no hash");
    assert!(page.contains("key.created"));
}

#[tokio::test]
async fn search_finds_accounts_by_email_id_and_key_prefix_and_hides_a_pasted_key() {
    let app = spawn_app().await;
    let ana = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("bot").await;
    support_logged_in(&app).await;
    let prefix = ana.email[..4].to_uppercase();
    for q in [
        prefix.as_str(),
        &ana.id.to_string(),
        &secret[..12],
        &secret[..9],
    ] {
        let (status, page) = app
            .get_html(&format!(
                "/support?q={}",
                url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
            ))
            .await;
        assert_eq!(status, 200);
        assert!(
            page.contains(&format!("/support/accounts/{}", ana.id)),
            "{q}"
        );
    }
    // a whole key is searched by POST (never in a URL) and found by its hash
    let token = app.csrf().await;
    let res = app
        .post_form("/support", &[("csrf_token", &token), ("q", &secret)])
        .await;
    let location = res.headers().get("location").unwrap().to_str().unwrap();
    assert_eq!(
        location,
        format!("/support/accounts/{}", ana.id),
        "found by hash"
    );
    let (_, page) = app.get_html(location).await;
    assert!(!page.contains(&secret), "a pasted full key is never echoed");
    assert!(page.contains("looked up by its hash"));
    let (_, page) = app.get_html("/support?q=nobody%40nowhere").await;
    assert!(page.contains("No accounts match."));
    let (_, page) = app.get_html("/support?q=%25").await;
    assert!(
        page.contains("No accounts match."),
        "LIKE wildcards are literal"
    );
}

#[tokio::test]
async fn staff_can_change_nothing_and_each_view_is_audited() {
    let app = spawn_app().await;
    let member = app.eligible_user_logged_in().await;
    app.create_key_secret("bot").await;
    let staff = support_logged_in(&app).await;
    let token = app.csrf().await;
    // (POST /support is the search form: read-only, see hardening.rs)
    for path in [
        &format!("/support/accounts/{}", member.id),
        "/support/accounts/x/revoke",
    ] {
        assert_eq!(
            app.post_form(path, &[("csrf_token", &token)])
                .await
                .status(),
            403,
            "{path}"
        );
    }
    app.get(&format!("/support/accounts/{}", member.id)).await;
    app.get(&format!("/support/accounts/{}", member.id)).await;
    let mut c = app.conn().await;
    let views = audit::list_for_account_action(&mut c, member.id, action("support.viewed"))
        .await
        .unwrap();
    assert_eq!(views.len(), 2);
    assert_eq!(views[0].actor_id, Some(staff.id));
    // staff's own views are recorded but hidden from the trail unless asked for (#17)
    let (_, page) = app
        .get_html(&format!("/support/accounts/{}", member.id))
        .await;
    assert!(!page.contains(">support.viewed<"), "hidden by default");
    assert!(page.contains("?staff=1\">show them</a>"));
    let (_, page) = app
        .get_html(&format!("/support/accounts/{}?staff=1", member.id))
        .await;
    assert!(page.contains(">support.viewed<") && page.contains("staff@example.com"));
    assert_eq!(app.key_count(member.id).await, 1);
}

#[tokio::test]
async fn the_trail_shows_user_agents_in_a_few_words_with_the_full_text_on_request() {
    let app = spawn_app().await;
    let member = app.eligible_user_logged_in().await; // a sign-in with reqwest's agent
    let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    let mut c = app.conn().await;
    audit::record(
        &mut c,
        audit::NewEvent {
            account_id: Some(member.id),
            actor_id: Some(member.id),
            action: action("login.succeeded"),
            key_id: None,
            detail: serde_json::json!({}),
        },
        &audit::Origin {
            ip: Some("203.0.113.9".into()),
            user_agent: Some(chrome.into()),
        },
    )
    .await
    .unwrap();
    support_logged_in(&app).await;
    let (_, page) = app
        .get_html(&format!("/support/accounts/{}", member.id))
        .await;
    assert!(
        page.contains(&format!(
            "<details><summary>Chrome 120 · Linux</summary>{chrome}</details>"
        )),
        "{page}"
    );
}
