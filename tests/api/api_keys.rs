//! The keys page: eligibility reasons, usage, list, statuses, escaping.

use crate::helpers::*;
use keydesk::db::api_keys;
use keydesk::domain::{Role, WalletKind};

#[tokio::test]
async fn an_eligible_account_sees_no_reasons_and_the_create_button() {
    let app = spawn_app().await;
    let addr = random_address();
    let (status, html) = app
        .keys_page_for(true, &[(WalletKind::External, &addr)])
        .await;
    assert_eq!(status, 200);
    assert!(!html.contains("You can't create keys yet"));
    assert!(html.contains("id=\"create-button\""));
    assert!(html.contains("<strong>0 of 10</strong> active keys"));
}

#[tokio::test]
async fn every_failing_reason_is_shown_at_once_with_its_next_step() {
    let app = spawn_app().await;
    let addr = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJo99fQ2";
    let (_, html) = app
        .keys_page_for(false, &[(WalletKind::Custodial, addr)])
        .await;
    assert!(html.contains("data-code=\"api_keys_not_enabled\""));
    assert!(html.contains("Contact hello@phygitals.com to request access."));
    assert!(html.contains("data-code=\"only_platform_wallets\""));
    assert!(html.contains("Your wallet 7xKX…9fQ2"), "{html}");
    assert!(html.contains("is custodial (held by us)"));
    assert!(html.contains("href=\"/settings/wallets\""));
    assert!(
        !html.contains("id=\"create-button\""),
        "no create offered to an ineligible account"
    );
    assert!(!html.contains("id=\"create-dialog\""));
}

#[tokio::test]
async fn an_account_without_wallets_is_told_to_link_one() {
    let app = spawn_app().await;
    let (_, html) = app.keys_page_for(true, &[]).await;
    assert!(html.contains("data-code=\"no_external_wallet\""));
    assert!(!html.contains("data-code=\"api_keys_not_enabled\""));
    assert!(html.contains("No self-custodied Solana wallet is linked."));
}

#[tokio::test]
async fn the_list_shows_prefix_scopes_and_status_and_hides_revoked_until_asked() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("production-bot").await;
    app.create_key_secret("old-bot").await;
    let mut c = app.conn().await;
    let keys = api_keys::list_for_account(&mut c, user.id, true)
        .await
        .unwrap();
    let old = keys.iter().find(|k| k.name == "old-bot").unwrap();
    api_keys::revoke_for_account(&mut c, user.id, old.id, user.id, &origin())
        .await
        .unwrap();

    let (_, html) = app.get_html("/settings/api-keys").await;
    assert!(html.contains("production-bot"));
    assert!(html.contains(&secret[..12]), "prefix shown");
    assert!(
        !html.contains(&secret),
        "never the full secret after the dialog"
    );
    assert!(html.contains("<span class=\"chip\">vm.buy.crypto</span>"));
    assert!(
        !html.contains(">old-bot<"),
        "revoked keys hidden by default"
    );
    assert!(html.contains("<strong>1 of 10</strong> active keys"));

    let (_, all) = app.get_html("/settings/api-keys?show=all").await;
    assert!(all.contains(">old-bot<"));
    assert!(all.contains("status-revoked\">Revoked<"));
    // active keys come first
    assert!(all.find("production-bot").unwrap() < all.find(">old-bot<").unwrap());
}

#[tokio::test]
async fn keys_of_an_account_that_lost_eligibility_show_as_paused() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    app.create_key_secret("bot").await;
    let mut c = app.conn().await;
    keydesk::db::users::set_api_keys_enabled(&mut c, user.id, false)
        .await
        .unwrap();
    let (_, html) = app.get_html("/settings/api-keys").await;
    assert!(html.contains("status-paused\">Paused<"), "{html}");
}

#[tokio::test]
async fn key_names_are_escaped() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let res = app
        .create_key(&[("name", "<script>alert(1)</script>")])
        .await;
    assert_eq!(res.status(), 200);
    let (_, html) = app.get_html("/settings/api-keys").await;
    assert!(!html.contains("<script>alert(1)"));
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "escaped name shown"
    );
}

#[tokio::test]
async fn the_no_js_create_page_offers_the_form_only_when_eligible() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let (status, html) = app.get_html("/settings/api-keys/new").await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"request_id\""));
    assert!(html.contains("value=\"30\" selected"), "30 days by default");
    assert!(html.contains("value=\"vm.buy.crypto\" checked"));
    assert!(html.contains("value=\"marketplace.take-claw-bid\" checked"));

    let app2 = spawn_app().await;
    let u = app2
        .create_user("x@example.com", Role::Member, false, &[])
        .await;
    app2.login(&u.email, &u.password).await;
    let (_, html) = app2.get_html("/settings/api-keys/new").await;
    assert!(!html.contains("name=\"request_id\""));
    assert!(html.contains("data-code=\"api_keys_not_enabled\""));
}
