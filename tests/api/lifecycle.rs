//! Row actions: change expiration, rename, revoke, delete; refusals, ownership, races, audit.

use crate::helpers::*;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keydesk::db::schema::api_keys;
use keydesk::domain::Role;
use uuid::Uuid;

#[tokio::test]
async fn revoking_is_confirmed_immediate_audited_and_idempotent() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("prod").await;
    let key = app.key_named("prod").await;
    app.me(Some(&format!("Bearer {secret}"))).await; // used just now
    app.last_used.flush_now().await;

    // the no-JS confirmation names the key, says it is immediate and permanent, warns of use
    let (status, page) = app
        .get_html(&format!("/settings/api-keys/{}/revoke", key.id))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("Revoke “prod”?"));
    assert!(
        page.contains("401 errors on their next request") && page.contains("This can't be undone."),
        "{page}"
    );
    assert!(page.contains("This key was used just now."));

    let res = app.act(key.id, "revoke", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.me(Some(&format!("Bearer {secret}"))).await.status(),
        401
    );
    let (_, list) = app.get_html("/settings/api-keys").await;
    assert!(
        list.contains("Revoked “prod”. Apps using it now get 401 errors."),
        "flash shown once"
    );
    let (_, again) = app.get_html("/settings/api-keys").await;
    assert!(!again.contains("Revoked “prod”"), "flash shown only once");

    let res = app.act(key.id, "revoke", &[]).await;
    assert_eq!(res.status(), 303);
    let (_, list) = app.get_html("/settings/api-keys").await;
    assert!(list.contains("was already revoked; nothing changed"));
    assert_eq!(
        app.events(user.id, "key.revoked").await.len(),
        1,
        "double revoke, one event"
    );
    let k = app.key_named("prod").await;
    assert!(k.revoked_at.is_some());
    assert_eq!(k.revoked_by, Some(user.id));
}

#[tokio::test]
async fn renaming_follows_the_name_rules_and_never_touches_revoked_keys() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    app.create_key_secret("alpha").await;
    app.create_key_secret("beta").await;
    let alpha = app.key_named("alpha").await;
    assert_eq!(
        app.act(alpha.id, "name", &[("name", "  gamma ")])
            .await
            .status(),
        303
    );
    assert_eq!(app.key_named("gamma").await.id, alpha.id);
    let res = app.act(alpha.id, "name", &[("name", "BETA")]).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Name is already used by another key")
    );
    let res = app.act(alpha.id, "name", &[("name", "")]).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Enter a name for the key")
    );
    assert_eq!(app.events(user.id, "key.renamed").await.len(), 1);

    app.act(alpha.id, "revoke", &[]).await;
    let res = app.act(alpha.id, "name", &[("name", "delta")]).await;
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Revoked keys can&#39;t be changed — create a new key instead.")
    );
    assert_eq!(app.key_named("gamma").await.id, alpha.id);
}

#[tokio::test]
async fn changing_the_expiration_switches_between_never_and_a_date() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    app.create_key_secret("k").await;
    let k = app.key_named("k").await;
    assert!(k.expires_at.is_some());
    assert_eq!(
        app.act(k.id, "expiration", &[("expiration", "never")])
            .await
            .status(),
        303
    );
    assert_eq!(app.key_named("k").await.expires_at, None);
    assert_eq!(
        app.act(
            k.id,
            "expiration",
            &[
                ("expiration", "custom"),
                ("custom_expiration", "2031-01-02T03:04")
            ]
        )
        .await
        .status(),
        303
    );
    assert_eq!(
        app.key_named("k").await.expires_at.unwrap().to_rfc3339(),
        "2031-01-02T03:04:00+00:00"
    );
    let res = app
        .act(
            k.id,
            "expiration",
            &[
                ("expiration", "custom"),
                ("custom_expiration", "2001-01-01T00:00"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("at least one minute in the future"));
    assert!(html.contains("value=\"2001-01-01T00:00\""), "input kept");
    assert_eq!(app.events(user.id, "key.expiration_changed").await.len(), 2);
    app.act(k.id, "revoke", &[]).await;
    let res = app
        .act(k.id, "expiration", &[("expiration", "never")])
        .await;
    assert_eq!(res.status(), 409);
    assert!(app.key_named("k").await.revoked_at.is_some());
}

#[tokio::test]
async fn re_dating_an_expired_key_respects_the_ten_key_limit() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    for i in 0..10 {
        app.create_key_secret(&format!("k{i}")).await;
    }
    let k0 = app.key_named("k0").await;
    let mut c = app.conn().await;
    diesel::update(api_keys::table.find(k0.id))
        .set(api_keys::expires_at.eq(chrono::Utc::now() - chrono::Duration::hours(1)))
        .execute(&mut c)
        .await
        .unwrap();
    app.create_key_secret("k10").await; // back at 10 active
    let res = app.act(k0.id, "expiration", &[("expiration", "90")]).await;
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("You already have 10 active keys")
    );
    assert!(app.key_named("k0").await.expires_at.unwrap() < chrono::Utc::now());
    // with room again, re-dating works and the key is active
    app.act(app.key_named("k1").await.id, "revoke", &[]).await;
    assert_eq!(
        app.act(k0.id, "expiration", &[("expiration", "90")])
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn only_revoked_or_expired_keys_can_be_deleted_and_their_events_stay() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("live").await;
    let live = app.key_named("live").await;
    let res = app.act(live.id, "delete", &[]).await;
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Only revoked or expired keys can be deleted")
    );
    assert_eq!(
        app.me(Some(&format!("Bearer {secret}"))).await.status(),
        200,
        "still works"
    );
    app.act(live.id, "revoke", &[]).await;
    assert_eq!(app.act(live.id, "delete", &[]).await.status(), 303);
    assert_eq!(app.key_count(user.id).await, 0);
    assert_eq!(app.events(user.id, "key.created").await.len(), 1);
    assert_eq!(app.events(user.id, "key.deleted").await.len(), 1);
    let (_, page) = app.get_html("/settings/api-keys?show=all").await;
    assert!(
        page.contains("Deleted key “live”"),
        "activity keeps the history"
    );
}

#[tokio::test]
async fn another_accounts_key_is_the_same_404_as_a_missing_one_and_stays_unchanged() {
    let app = spawn_app().await;
    let owner = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("theirs").await;
    let key = app.key_named("theirs").await;
    let _intruder = app.eligible_user_logged_in().await;
    let random = Uuid::new_v4();
    for (action, fields) in [
        ("revoke", vec![]),
        ("delete", vec![]),
        ("name", vec![("name", "mine")]),
        ("expiration", vec![("expiration", "never")]),
    ] {
        let theirs = app.act(key.id, action, &fields).await;
        let missing = app.act(random, action, &fields).await;
        assert_eq!(theirs.status(), 404, "{action}");
        assert_eq!(missing.status(), 404, "{action}");
        let (a, b) = (theirs.text().await.unwrap(), missing.text().await.unwrap());
        // the pages differ only in their reference and the per-page mask of the CSRF token
        let strip = |s: &str| {
            let page = s.split("Reference:").next().unwrap();
            let mut out = String::new();
            let mut rest = page;
            while let Some(at) = rest.find("name=\"csrf_token\" value=\"") {
                let (head, tail) = rest.split_at(at + "name=\"csrf_token\" value=\"".len());
                out.push_str(head);
                rest = &tail[tail.find('"').unwrap()..];
            }
            out + rest
        };
        assert_eq!(strip(&a), strip(&b), "indistinguishable");
        let (s, _) = app
            .get_html(&format!("/settings/api-keys/{}/{action}", key.id))
            .await;
        assert_eq!(s, 404);
    }
    assert_eq!(
        app.get("/settings/api-keys/not-a-uuid/revoke")
            .await
            .status(),
        404
    );
    let k = app.key_named("theirs").await;
    assert!(k.revoked_at.is_none() && k.name == "theirs");
    assert_eq!(k.account_id, owner.id);
    assert_eq!(
        app.me(Some(&format!("Bearer {secret}"))).await.status(),
        200
    );
}

#[tokio::test]
async fn extra_form_fields_cannot_reach_other_columns() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    app.create_key_secret("k").await;
    let k = app.key_named("k").await;
    let other = Uuid::new_v4().to_string();
    let res = app
        .act(
            k.id,
            "name",
            &[
                ("name", "k2"),
                ("user_id", &other),
                ("account_id", &other),
                ("revoked_at", "2020-01-01T00:00:00Z"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let after = app.key_named("k2").await;
    assert_eq!(after.account_id, user.id);
    assert!(after.revoked_at.is_none());
}

#[tokio::test]
async fn a_rename_racing_a_revoke_leaves_the_key_revoked() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    app.create_key_secret("raced").await;
    let k = app.key_named("raced").await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let url = app.db.url();
        let (uid, kid) = (user.id, k.id);
        tasks.push(tokio::spawn(async move {
            use diesel_async::AsyncConnection;
            let mut c = diesel_async::AsyncPgConnection::establish(&url)
                .await
                .unwrap();
            if i == 5 {
                keydesk::db::api_keys::revoke_for_account(&mut c, uid, kid, uid, &origin())
                    .await
                    .map(|_| ())
                    .unwrap();
            } else {
                keydesk::db::api_keys::rename_for_account(
                    &mut c,
                    uid,
                    kid,
                    &format!("name-{i}"),
                    &origin(),
                )
                .await
                .map(|_| ())
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut c = app.conn().await;
    let after: Option<chrono::DateTime<chrono::Utc>> = api_keys::table
        .find(k.id)
        .select(api_keys::revoked_at)
        .first(&mut c)
        .await
        .unwrap();
    assert!(after.is_some(), "the revoke stands");
    assert_eq!(app.events(user.id, "key.revoked").await.len(), 1);
    let _ = Role::Member;
}

#[tokio::test]
async fn the_list_offers_each_action_with_a_no_js_link() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    app.create_key_secret("k").await;
    let k = app.key_named("k").await;
    let (_, html) = app.get_html("/settings/api-keys").await;
    for action in ["expiration", "name", "revoke"] {
        assert!(
            html.contains(&format!("href=\"/settings/api-keys/{}/{action}\"", k.id)),
            "{action}"
        );
    }
    assert!(
        !html.contains(&format!("/settings/api-keys/{}/delete\"", k.id)),
        "no delete for an active key"
    );
}
