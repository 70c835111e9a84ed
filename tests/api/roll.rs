//! Rolling keys: a successor with a new secret while the old one works for a grace period;
//! the limit, refusals, replay, introspection and "Stop now".

use crate::helpers::*;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keydesk::db::schema::api_keys;
use uuid::Uuid;

/// Moves a key's expiry to `secs` seconds from the database's now.
async fn expire_in(app: &TestApp, id: Uuid, secs: f64) {
    let mut c = app.conn().await;
    diesel::sql_query(
        "UPDATE api_keys SET expires_at = now() + make_interval(secs => $1) WHERE id = $2",
    )
    .bind::<diesel::sql_types::Double, _>(secs)
    .bind::<diesel::sql_types::Uuid, _>(id)
    .execute(&mut c)
    .await
    .unwrap();
}

/// Rolls a key through its page (fresh request id and CSRF token from the form).
async fn roll(app: &TestApp, id: Uuid, grace: &str) -> (u16, String, String) {
    let (status, page) = app.get_html(&format!("/settings/api-keys/{id}/roll")).await;
    assert_eq!(status, 200, "{page}");
    let rid = request_id_in(&page);
    let res = app
        .act(
            id,
            "roll",
            &[("grace", grace), ("expiration", "30"), ("request_id", &rid)],
        )
        .await;
    let status = res.status().as_u16();
    let cache = res
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, res.text().await.unwrap(), cache)
}

#[tokio::test]
async fn a_roll_at_ten_of_ten_keeps_the_old_key_working_until_the_grace_end() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    for i in 0..9 {
        app.create_key_secret(&format!("worker-{i}")).await;
    }
    let old_secret = app.create_key_secret("payments").await;
    let old_id = app.key_id_of(&old_secret).await;
    app.me(Some(&format!("Bearer {old_secret}"))).await;
    app.last_used.flush_now().await;

    let (status, page, cache) = roll(&app, old_id, "1h").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(cache, "no-store", "the new secret must not be cached");
    let new_secret = secret_in(&page);
    assert_ne!(new_secret, old_secret);
    assert!(page.contains("Rolled “payments”"), "{page}");
    let new_id = app.key_id_of(&new_secret).await;
    assert_ne!(new_id, old_id);

    // same name, scopes and note; the old key is rolling and linked to its successor
    let (old, new) = (app.key_row(old_id).await, app.key_row(new_id).await);
    assert_eq!((new.name.as_str(), &new.scopes), ("payments", &old.scopes));
    assert!(old.rolled_at.is_some());
    assert_eq!(old.rolled_to, Some(new_id));
    let grace_end = old.expires_at.unwrap();
    let from_roll = grace_end - old.rolled_at.unwrap();
    assert_eq!(from_roll.num_seconds(), 3600);
    // the limit: still 10 (the successor counts, the rolling key doesn't)
    let (_, list) = app.get_html("/settings/api-keys").await;
    assert!(list.contains("<strong>10 of 10</strong>"), "{list}");
    assert!(
        list.contains(">Rolling<") && list.contains("Stops "),
        "{list}"
    );
    // listed right after its successor
    let at_new = list.find(&format!("data-key-id=\"{new_id}\"")).unwrap();
    let at_old = list.find(&format!("data-key-id=\"{old_id}\"")).unwrap();
    assert!(at_new < at_old, "successor first");
    let next = at_new + 1 + list[at_new + 1..].find("data-key-id=\"").unwrap();
    assert_eq!(next, at_old, "nothing between the two");

    // both keys work; the old one says when it stops
    let res = app.me(Some(&format!("Bearer {old_secret}"))).await;
    assert_eq!(res.status(), 200);
    let header = res
        .headers()
        .get("api-key-expiration")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(&header)
            .unwrap()
            .timestamp(),
        grace_end.timestamp()
    );
    assert_eq!(
        app.me(Some(&format!("Bearer {new_secret}"))).await.status(),
        200
    );
    let intro = app.introspect(&old_secret).await;
    assert_eq!(intro["active"], true);
    assert_eq!(intro["exp"].as_i64(), Some(grace_end.timestamp()));

    // the grace period ends: 401 expired from that second
    expire_in(&app, old_id, 1.0).await;
    assert_eq!(
        app.me(Some(&format!("Bearer {old_secret}"))).await.status(),
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let res = app.me(Some(&format!("Bearer {old_secret}"))).await;
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error_code"], "expired");
    assert_eq!(
        app.me(Some(&format!("Bearer {new_secret}"))).await.status(),
        200
    );

    // one key.rolled event names both keys
    let events = app.events(user.id, "key.rolled").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].key_id, Some(old_id));
    assert_eq!(events[0].detail["successor_id"], new_id.to_string());
}

#[tokio::test]
async fn stop_now_revokes_a_rolling_key_at_once() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let old_secret = app.create_key_secret("stopper").await;
    let old_id = app.key_id_of(&old_secret).await;
    let (status, _, _) = roll(&app, old_id, "24h").await;
    assert_eq!(status, 200);
    let (_, list) = app.get_html("/settings/api-keys").await;
    assert!(
        list.contains(&format!("/settings/api-keys/{old_id}/revoke"))
            && list.contains(">Stop now</a>")
    );
    assert_eq!(
        app.me(Some(&format!("Bearer {old_secret}"))).await.status(),
        200
    );

    let res = app.act(old_id, "revoke", &[]).await;
    assert_eq!(res.status(), 303);
    let res = app.me(Some(&format!("Bearer {old_secret}"))).await;
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error_code"], "revoked");
}

#[tokio::test]
async fn a_roll_with_no_grace_stops_the_old_secret_immediately() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let old_secret = app.create_key_secret("instant").await;
    let old_id = app.key_id_of(&old_secret).await;
    let (status, page, _) = roll(&app, old_id, "now").await;
    assert_eq!(status, 200);
    assert!(page.contains("stopped working now"), "{page}");
    let res = app.me(Some(&format!("Bearer {old_secret}"))).await;
    assert_eq!(res.status(), 401);
    let new_secret = secret_in(&page);
    assert_eq!(
        app.me(Some(&format!("Bearer {new_secret}"))).await.status(),
        200
    );
}

#[tokio::test]
async fn revoked_and_rolling_keys_cannot_be_rolled_or_changed() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let revoked = app.create_key_secret("gone").await;
    let revoked_id = app.key_id_of(&revoked).await;
    app.act(revoked_id, "revoke", &[]).await;
    let rid = Uuid::new_v4().to_string();
    let res = app
        .act(
            revoked_id,
            "roll",
            &[("grace", "1h"), ("expiration", "30"), ("request_id", &rid)],
        )
        .await;
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Revoked keys can&#39;t be changed")
    );

    let secret = app.create_key_secret("twice").await;
    let id = app.key_id_of(&secret).await;
    assert_eq!(roll(&app, id, "7d").await.0, 200);
    let before = app.key_row(id).await;
    let rid = Uuid::new_v4().to_string();
    let res = app
        .act(
            id,
            "roll",
            &[("grace", "1h"), ("expiration", "30"), ("request_id", &rid)],
        )
        .await;
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("being replaced by its successor")
    );
    let res = app.act(id, "expiration", &[("expiration", "90")]).await;
    assert_eq!(res.status(), 409);
    let res = app.act(id, "name", &[("name", "renamed")]).await;
    assert_eq!(res.status(), 409);
    let res = app.act(id, "scopes", &[("scopes", "vm.buy.crypto")]).await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        app.key_row(id).await.expires_at,
        before.expires_at,
        "nothing changed"
    );
    // exactly one successor exists
    let mut c = app.conn().await;
    let named: i64 = api_keys::table
        .filter(api_keys::name.eq("twice"))
        .count()
        .get_result(&mut c)
        .await
        .unwrap();
    assert_eq!(named, 2);
}

#[tokio::test]
async fn a_replayed_roll_makes_one_successor() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("replayed").await;
    let id = app.key_id_of(&secret).await;
    let rid = Uuid::new_v4().to_string();
    let form = [
        ("grace", "1h"),
        ("expiration", "30"),
        ("request_id", rid.as_str()),
    ];
    let first = app.act(id, "roll", &form).await;
    assert_eq!(first.status(), 200);
    let again = app.act(id, "roll", &form).await;
    assert_eq!(again.status(), 409);
    let page = again.text().await.unwrap();
    assert!(page.contains("already submitted"), "{page}");
    assert!(
        !page.contains("id=\"secret-value\""),
        "the secret is never shown twice"
    );
    assert_eq!(app.key_count(user.id).await, 2);
    assert_eq!(app.events(user.id, "key.rolled").await.len(), 1);
}

#[tokio::test]
async fn the_roll_form_repeats_the_keys_expiry_rule() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let res = app
        .create_key(&[("name", "quarterly"), ("expiration", "90")])
        .await;
    let id = app.key_id_of(&secret_in(&res.text().await.unwrap())).await;
    let (_, page) = app.get_html(&format!("/settings/api-keys/{id}/roll")).await;
    assert!(
        page.contains("<option value=\"90\" selected>"),
        "a preset restarts: {page}"
    );
    let res = app
        .create_key(&[("name", "forever"), ("expiration", "never")])
        .await;
    let id = app.key_id_of(&secret_in(&res.text().await.unwrap())).await;
    let (_, page) = app.get_html(&format!("/settings/api-keys/{id}/roll")).await;
    assert!(page.contains("<option value=\"never\" selected>"), "{page}");
    // a grace choice is required
    let rid = Uuid::new_v4().to_string();
    let res = app
        .act(
            id,
            "roll",
            &[
                ("grace", "2w"),
                ("expiration", "never"),
                ("request_id", &rid),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Choose when the old key stops working")
    );
}

fn sudo_form<'a>(request_id: &'a str, password: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("grace", "24h"),
        ("expiration", "60"),
        ("request_id", request_id),
        ("password", password),
    ]
}

#[tokio::test]
async fn a_stale_sign_in_is_asked_for_the_password_before_a_roll() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("sudo-roll").await;
    let id = app.key_id_of(&secret).await;
    app.age_password_entry(601).await;
    let (_, page) = app.get_html(&format!("/settings/api-keys/{id}/roll")).await;
    assert!(page.contains("type=\"password\""), "asked up front: {page}");
    let rid = request_id_in(&page);
    let res = app.act(id, "roll", &sudo_form(&rid, "")).await;
    assert_eq!(res.status(), 422);
    let res = app
        .act(id, "roll", &sudo_form(&rid, "not-the-password"))
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("That password isn&#39;t right"), "{page}");
    assert!(
        page.contains("value=\"24h\" checked") && page.contains("<option value=\"60\" selected>"),
        "input kept: {page}"
    );
    assert!(
        !page.contains("not-the-password"),
        "the password is never echoed"
    );
    assert_eq!(app.key_count(user.id).await, 1, "nothing was made");
    let res = app.act(id, "roll", &sudo_form(&rid, &user.password)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.key_count(user.id).await, 2);
    assert_eq!(app.events(user.id, "reauth.failed").await.len(), 1);
    assert_eq!(app.events(user.id, "reauth.succeeded").await.len(), 1);
}

#[tokio::test]
async fn the_demo_accounts_show_every_state_including_a_rolling_key() {
    let app = spawn_app().await;
    keydesk::demo::seed(&app.settings).await.unwrap();
    // twice: idempotent
    keydesk::demo::seed(&app.settings).await.unwrap();
    let mut c = app.conn().await;
    let ana = keydesk::db::users::find_by_email(&mut c, "ana@example.com")
        .await
        .unwrap()
        .unwrap();
    let keys = keydesk::db::api_keys::list_for_account(&mut c, ana.id, true)
        .await
        .unwrap();
    let rolling: Vec<_> = keys.iter().filter(|k| k.rolled_at.is_some()).collect();
    assert_eq!(rolling.len(), 1, "one key mid-roll");
    assert_eq!(rolling[0].name, "nightly-report");
    assert!(
        keys.iter()
            .any(|k| k.rolled_to.is_none() && k.name == "nightly-report")
    );
    assert!(keys.iter().any(|k| !k.note.is_empty()), "a key with a note");
    assert!(keys.iter().any(|k| k.revoked_at.is_some()));
    assert_eq!(keys.len(), 7);
    // the round-3 bounds: a dry-run binding with a rate limit, a key its owner paused
    let bot = keys.iter().find(|k| k.name == "production-bot").unwrap();
    assert_eq!(bot.network_mode.as_str(), "dry_run");
    assert_eq!(bot.rate_limit, Some(600));
    assert!(
        keys.iter()
            .any(|k| k.name == "kiosk-tablet" && k.paused_at.is_some())
    );
}

#[tokio::test]
async fn a_rolling_key_is_not_in_the_expiry_digest_but_its_successor_is_judged_on_its_own() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("digest-roll").await;
    let id = app.key_id_of(&secret).await;
    assert_eq!(roll(&app, id, "24h").await.0, 200);
    // the old key now stops within a day: no digest says so (its owner chose that end)
    let made = keydesk::notify::digest::run_once(
        &mut app.conn().await,
        std::time::Duration::from_secs(86_400),
    )
    .await
    .unwrap();
    assert_eq!(made, 0, "a rolling key is not an expiry to warn about");
}
