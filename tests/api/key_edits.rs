//! Notes, scope edits, the 180-day preset, both ends of a key, key health, the expiration
//! header, and the password asked again before a create.

use crate::helpers::*;
use diesel_async::RunQueryDsl;
use keydesk::domain::Role;
use uuid::Uuid;

async fn sql(app: &TestApp, statement: &str, id: Uuid) {
    let mut c = app.conn().await;
    diesel::sql_query(statement)
        .bind::<diesel::sql_types::Uuid, _>(id)
        .execute(&mut c)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_note_is_set_at_create_shown_edited_validated_and_audited() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let res = app
        .create_key(&[
            ("name", "noted"),
            ("note", "  Buys snacks for the office bot  "),
        ])
        .await;
    assert_eq!(res.status(), 200);
    let id = app.key_id_of(&secret_in(&res.text().await.unwrap())).await;
    assert_eq!(app.key_row(id).await.note, "Buys snacks for the office bot");
    let (_, list) = app.get_html("/settings/api-keys").await;
    assert!(list.contains("<span class=\"key-note\">Buys snacks for the office bot</span>"));

    let long = "n".repeat(281);
    let res = app.act(id, "note", &[("note", &long)]).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("Note must be 280 characters or fewer"));
    assert!(page.contains(&long), "the input is kept");
    let res = app.act(id, "note", &[("note", "bidi \u{202e}trick")]).await;
    assert_eq!(res.status(), 422);
    assert_eq!(app.key_row(id).await.note, "Buys snacks for the office bot");

    let res = app
        .act(id, "note", &[("note", "Runs on the kiosk in Lisbon")])
        .await;
    assert_redirects_to(&res, &format!("/settings/api-keys/{id}"));
    let (_, detail) = app.get_html(&format!("/settings/api-keys/{id}")).await;
    assert!(detail.contains("Runs on the kiosk in Lisbon"));
    assert!(
        detail.contains("Note of “noted” saved."),
        "flash on the detail page"
    );
    let events = app.events(user.id, "key.note_changed").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail["note"], "Runs on the kiosk in Lisbon");

    // a create with a bad note keeps everything typed
    let res = app.create_key(&[("name", "second"), ("note", &long)]).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("value=\"second\"") && page.contains(&long));
}

#[tokio::test]
async fn scopes_are_narrowed_and_widened_with_effect_on_the_next_request() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let res = app
        .create_key(&[
            ("name", "scoped"),
            ("scopes", "vm.buy.crypto"),
            ("scopes", "marketplace.take-claw-bid"),
        ])
        .await;
    let secret = secret_in(&res.text().await.unwrap());
    let id = app.key_id_of(&secret).await;

    // none chosen, or an unknown one: 422, nothing changes
    let res = app.act(id, "scopes", &[]).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Choose at least one scope")
    );
    let res = app
        .act(id, "scopes", &[("scopes", "admin.everything")])
        .await;
    assert_eq!(res.status(), 422);

    // narrowing needs no password, even on a stale sign-in
    app.age_password_entry(3600).await;
    let res = app.act(id, "scopes", &[("scopes", "vm.buy.crypto")]).await;
    assert_redirects_to(&res, &format!("/settings/api-keys/{id}"));
    assert_eq!(app.introspect(&secret).await["scope"], "vm.buy.crypto");

    // widening does: asked, wrong (422, choice kept), then right
    let widen = [
        ("scopes", "vm.buy.crypto"),
        ("scopes", "marketplace.take-claw-bid"),
    ];
    let res = app.act(id, "scopes", &widen).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("type=\"password\""), "{page}");
    let mut wrong = widen.to_vec();
    wrong.push(("password", "nope-nope"));
    let res = app.act(id, "scopes", &wrong).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("value=\"marketplace.take-claw-bid\" checked"),
        "kept: {page}"
    );
    assert_eq!(app.introspect(&secret).await["scope"], "vm.buy.crypto");
    let mut right = widen.to_vec();
    right.push(("password", user.password.as_str()));
    let res = app.act(id, "scopes", &right).await;
    assert_redirects_to(&res, &format!("/settings/api-keys/{id}"));
    assert_eq!(
        app.introspect(&secret).await["scope"],
        "vm.buy.crypto marketplace.take-claw-bid",
        "the widened scope is accepted on the next request"
    );
    let events = app.events(user.id, "key.scopes_changed").await;
    assert_eq!(events.len(), 2);
    let latest = events
        .iter()
        .find(|e| e.detail["old_scopes"] == "vm.buy.crypto")
        .unwrap();
    assert_eq!(
        latest.detail["scopes"],
        "vm.buy.crypto marketplace.take-claw-bid"
    );

    // revoked keys can't be re-scoped
    app.act(id, "revoke", &[]).await;
    let res = app.act(id, "scopes", &[("scopes", "vm.buy.crypto")]).await;
    assert_eq!(res.status(), 409);
}

#[tokio::test]
async fn the_180_day_preset_and_the_never_expires_warning() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let (_, page) = app.get_html("/settings/api-keys").await;
    assert!(page.contains("<option value=\"180\">180 days</option>"));
    assert!(page.contains("Keys that never expire stay valid until revoked"));
    let res = app
        .create_key(&[("name", "half-year"), ("expiration", "180")])
        .await;
    let id = app.key_id_of(&secret_in(&res.text().await.unwrap())).await;
    let key = app.key_row(id).await;
    let days = (key.expires_at.unwrap() - key.created_at).num_seconds() as f64 / 86400.0;
    assert!((days - 180.0).abs() < 0.01, "{days}");
    assert_eq!(key.expiry_days, Some(180));
    // re-dating to a preset remembers it too; a custom date forgets it
    app.act(id, "expiration", &[("expiration", "7")]).await;
    assert_eq!(app.key_row(id).await.expiry_days, Some(7));
}

#[tokio::test]
async fn keys_are_shown_by_both_ends_and_support_finds_them_by_either() {
    let app = spawn_app().await;
    let owner = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("two-ends").await;
    let (prefix, tail) = (&secret[..12], &secret[36..]);
    let shown = format!("{prefix}…{tail}");
    let (_, list) = app.get_html("/settings/api-keys").await;
    assert!(list.contains(&shown), "{list}");
    assert!(!list.contains(&secret), "never the whole secret");
    let id = app.key_id_of(&secret).await;
    let (_, detail) = app.get_html(&format!("/settings/api-keys/{id}")).await;
    assert!(detail.contains(&shown));
    let res = app.me(Some(&format!("Bearer {secret}"))).await;
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["key"]["tail"], tail);
    assert_eq!(body["key"]["prefix"], prefix);

    let staff = app
        .create_user("staff-ends@example.com", Role::Support, false, &[])
        .await;
    app.login(&staff.email, &staff.password).await;
    for q in [format!("…{tail}"), format!("...{tail}"), shown.clone()] {
        let (status, page) = app
            .get_html(&format!(
                "/support?q={}",
                url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
            ))
            .await;
        assert_eq!(status, 200, "{q}");
        assert!(page.contains(&owner.email), "{q} finds the owner: {page}");
    }
    let (_, page) = app
        .get_html(&format!("/support/accounts/{}", owner.id))
        .await;
    assert!(page.contains(&shown));
    let (_, page) = app.get_html("/support?q=%E2%80%A6AAAAAA").await;
    assert!(!page.contains(&owner.email));
}

#[tokio::test]
async fn the_expiration_header_is_sent_for_keys_that_expire() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let expiring = app.create_key_secret("expiring").await;
    let res = app
        .create_key(&[("name", "forever"), ("expiration", "never")])
        .await;
    let forever = secret_in(&res.text().await.unwrap());
    let res = app.me(Some(&format!("Bearer {expiring}"))).await;
    let header = res
        .headers()
        .get("api-key-expiration")
        .unwrap()
        .to_str()
        .unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(header).unwrap();
    let row = app.key_row(app.key_id_of(&expiring).await).await;
    assert_eq!(at.timestamp(), row.expires_at.unwrap().timestamp());
    assert!(header.ends_with('Z'), "{header}");
    let res = app.me(Some(&format!("Bearer {forever}"))).await;
    assert!(res.headers().get("api-key-expiration").is_none());
}

#[tokio::test]
async fn key_health_names_each_condition_with_its_next_step() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    // a key that moves no money, used, with an expiry: nothing to say
    let healthy = app
        .create_key_secret_with(&[("name", "healthy"), ("scopes", "marketplace.take-claw-bid")])
        .await;
    app.me(Some(&format!("Bearer {healthy}"))).await;
    app.last_used.flush_now().await;
    let (_, page) = app.get_html("/settings/api-keys").await;
    assert!(
        !page.contains("Needs attention"),
        "nothing when all is well"
    );

    let res = app
        .create_key(&[("name", "immortal"), ("expiration", "never")])
        .await;
    let immortal = app.key_id_of(&secret_in(&res.text().await.unwrap())).await;
    let idle = app.key_id_of(&app.create_key_secret("idle").await).await;
    sql(
        &app,
        "UPDATE api_keys SET created_at = now() - interval '8 days' WHERE id = $1",
        idle,
    )
    .await;
    let ending = app.key_id_of(&app.create_key_secret("ending").await).await;
    sql(
        &app,
        "UPDATE api_keys SET created_at = now() - interval '20 days', expires_at = now() + interval '3 days', last_used_at = now() WHERE id = $1",
        ending,
    )
    .await;
    sql(
        &app,
        "UPDATE api_keys SET last_used_at = now() WHERE id = $1",
        immortal,
    )
    .await;

    let (_, page) = app.get_html("/settings/api-keys").await;
    let at = page.find("Needs attention").expect("a summary");
    let summary = &page[at..page[at..].find("</section>").unwrap() + at];
    assert!(
        summary.contains("Expiring within 7 days")
            && summary.contains(&format!("/settings/api-keys/{ending}/roll")),
        "{summary}"
    );
    assert!(
        summary.contains("Never expire")
            && summary.contains(&format!("/settings/api-keys/{immortal}/expiration")),
        "{summary}"
    );
    assert!(
        summary.contains("Not used lately")
            && summary.contains(&format!("/settings/api-keys/{idle}/revoke")),
        "{summary}"
    );
    assert!(
        summary.contains("never used, created 8 days ago"),
        "{summary}"
    );
    assert!(!summary.contains(">healthy<"), "{summary}");
    // keys that can buy crypto from any address are named first, with the proposal as next step
    assert!(
        summary.contains("Can spend from any address")
            && summary.contains(&format!("/settings/api-keys/{ending}/network?propose=1")),
        "{summary}"
    );
    assert!(
        summary.find("Can spend from any address") < summary.find("Expiring within 7 days"),
        "{summary}"
    );
    sql(
        &app,
        "UPDATE api_keys SET network_mode = 'dry_run', networks = '{203.0.113.0/24}' WHERE id = $1",
        ending,
    )
    .await;
    let (_, page) = app.get_html("/settings/api-keys").await;
    assert!(
        !page.contains(&format!("/settings/api-keys/{ending}/network?propose=1")),
        "a bound key is no longer named"
    );
}

#[tokio::test]
async fn a_stale_sign_in_is_asked_for_the_password_before_a_create() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    app.age_password_entry(601).await;
    let (_, page) = app.get_html("/settings/api-keys/new").await;
    assert!(page.contains("id=\"key-password\""), "asked up front");

    let typed = [
        ("name", "sudo-bot"),
        ("note", "kept note"),
        ("expiration", "60"),
    ];
    let res = app.create_key(&typed).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("Confirm your password to continue"), "{page}");
    assert!(page.contains("value=\"sudo-bot\"") && page.contains("kept note"));
    assert!(page.contains("<option value=\"60\" selected>"));
    assert_eq!(app.key_count(user.id).await, 0);

    let mut wrong = typed.to_vec();
    wrong.push(("password", "wrong-password-123"));
    let res = app.create_key(&wrong).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("That password isn&#39;t right"));
    assert!(page.contains("value=\"sudo-bot\"") && !page.contains("wrong-password-123"));
    assert_eq!(app.key_count(user.id).await, 0);

    let mut right = typed.to_vec();
    right.push(("password", user.password.as_str()));
    let res = app.create_key(&right).await;
    assert_eq!(res.status(), 200);
    assert!(secret_in(&res.text().await.unwrap()).starts_with("phy_"));
    // confirmed: the next create within the window does not ask again
    let res = app.create_key(&[("name", "second")]).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn password_confirmations_are_throttled_like_sign_ins() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    app.age_password_entry(601).await;
    let mut last = 0;
    for i in 0..7 {
        let pw = format!("wrong-{i}");
        let res = app.create_key(&[("name", "t"), ("password", &pw)]).await;
        last = res.status().as_u16();
        if last == 429 {
            assert!(res.headers().get("retry-after").is_some());
            break;
        }
        assert_eq!(last, 422);
    }
    assert_eq!(last, 429, "throttled after the login limit");
    // even the right password waits now
    let res = app
        .create_key(&[("name", "t"), ("password", &user.password)])
        .await;
    assert_eq!(res.status(), 429);
    assert_eq!(app.key_count(user.id).await, 0);
    assert!(app.events(user.id, "reauth.failed").await.len() <= 5);
}
