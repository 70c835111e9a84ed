//! What a person would notice (issue #17): words instead of codes, a confirmation for each
//! ending, no dead ends.

use crate::helpers::*;

#[tokio::test]
async fn signing_out_says_so_and_the_favicon_answers() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let token = app.csrf().await;
    let res = app.post_form("/logout", &[("csrf_token", &token)]).await;
    assert_redirects_to(&res, "/login?signed_out");
    let (status, page) = app.get_html("/login?signed_out").await;
    assert_eq!(status, 200);
    assert!(page.contains("signed out."), "{page}");
    let (_, plain) = app.get_html("/login").await;
    assert!(!plain.contains("signed out."));
    assert_eq!(app.get("/favicon.ico").await.status(), 204);
}

#[tokio::test]
async fn a_paused_key_says_why_and_the_usage_line_agrees() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    app.create_key_secret("paused-bot").await;
    let mut c = app.conn().await;
    keydesk::db::users::set_api_keys_enabled(&mut c, user.id, false)
        .await
        .unwrap();
    let (_, page) = app.get_html("/settings/api-keys").await;
    assert!(
        page.contains("1 of 10</strong> active keys (paused)"),
        "{page}"
    );
    assert!(
        page.contains("title=\"Paused: API keys aren&#39;t enabled\""),
        "{page}"
    );
    assert!(page.contains("<span class=\"visually-hidden\">: API keys aren&#39;t enabled</span>"));
}

#[tokio::test]
async fn the_revoke_page_of_a_revoked_key_offers_nothing_to_press() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    app.create_key_secret("gone-bot").await;
    let (_, list) = app.get_html("/settings/api-keys").await;
    let marker = "data-key-id=\"";
    let start = list.find(marker).unwrap() + marker.len();
    let id = &list[start..start + 36];
    let token = app.csrf().await;
    let res = app
        .post_form(
            &format!("/settings/api-keys/{id}/revoke"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (status, page) = app
        .get_html(&format!("/settings/api-keys/{id}/revoke"))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("already revoked"));
    assert!(!page.contains(">Revoke key</button>"));
}
