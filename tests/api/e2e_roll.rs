//! Browser tests of the round-2 lifecycle: rolling a key by keyboard alone (with the password
//! asked again) and without JavaScript; the pages it leaves are axe-clean and fit at 390 and
//! 1280 px.

use fantoccini::{Client, Locator};

use crate::e2e::{
    SetPermission, axe_violations, base_of, browser, browser_login, click, fill, press, screenshot,
    scrolls_sideways, wait_for_path, wait_gone,
};
use crate::helpers::*;

const ENTER: &str = "\u{e007}";
const SPACE: &str = "\u{e00d}";

async fn main_text(c: &Client) -> String {
    c.find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn check_fit_and_axe(c: &Client, name: &str) {
    for (w, h) in [(1280, 900), (390, 844)] {
        c.set_window_size(w, h).await.unwrap();
        c.refresh().await.unwrap();
        screenshot(c, &format!("{name}-{w}")).await;
        let v = axe_violations(c).await;
        assert!(v.is_empty(), "{name} at {w}px: {v:?}");
        assert!(
            !scrolls_sideways(c).await,
            "{name} at {w}px scrolls sideways"
        );
        screenshot(c, &format!("{name}-{w}")).await;
    }
    c.set_window_size(1280, 900).await.unwrap();
}

#[tokio::test]
async fn a_key_is_rolled_by_keyboard_with_the_password_asked_again() {
    let Some(b) = browser(true).await else { return };
    let app = spawn_app().await;
    let base = base_of(&app);
    let user = app.eligible_user_logged_in().await;
    let old_secret = app.create_key_secret("nightly-buyback-bot").await;
    let old_id = app.key_id_of(&old_secret).await;
    browser_login(&b, &base, &user).await;
    app.age_password_entry(601).await; // the browser's sign-in is now "a while ago"
    b.refresh().await.unwrap();

    // open the row's menu and follow "Roll key", by keyboard
    press(&b, &format!("tr[data-key-id='{old_id}'] summary"), ENTER).await;
    press(
        &b,
        &format!("a[href='/settings/api-keys/{old_id}/roll']"),
        ENTER,
    )
    .await;
    wait_for_path(&b, &format!("/settings/api-keys/{old_id}/roll")).await;
    assert!(
        main_text(&b)
            .await
            .contains("When should the old key stop working?")
    );
    check_fit_and_axe(&b, "roll-page").await;

    // choose "In 1 hour", enter the password, submit — all keys
    press(&b, "#grace-1h", SPACE).await;
    fill(&b, "#confirm-password", &user.password).await;
    press(&b, "main form button[type=submit]", ENTER).await;
    b.wait()
        .for_element(Locator::Css("#secret-value"))
        .await
        .unwrap();
    let new_secret = b
        .find(Locator::Css("#secret-value"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(keydesk::domain::PlainKey::parse(&new_secret).is_ok());
    assert_ne!(new_secret, old_secret);
    let v = axe_violations(&b).await;
    assert!(v.is_empty(), "secret dialog after a roll: {v:?}");
    screenshot(&b, "roll-secret").await;

    b.issue_cmd(SetPermission("clipboard-read")).await.unwrap();
    b.issue_cmd(SetPermission("clipboard-write")).await.unwrap();
    press(&b, "[data-copy]", ENTER).await;
    b.wait()
        .for_element(Locator::XPath(
            "//p[@id='copy-status'][normalize-space()!='']",
        ))
        .await
        .unwrap();
    let clip = b
        .execute_async(
            "const done = arguments[arguments.length-1]; navigator.clipboard.readText().then(done, e => done('ERR ' + e.name))",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        clip.as_str().unwrap(),
        new_secret,
        "the clipboard holds the new key"
    );
    press(&b, "#secret-dialog button[type=submit]", ENTER).await;
    wait_gone(&b, "#secret-value").await;
    b.wait()
        .for_element(Locator::Css("table.keys"))
        .await
        .unwrap();

    // the list shows the rolling key beside its successor; both work
    let text = main_text(&b).await;
    assert!(
        text.contains("Rolling") && text.contains("Stops "),
        "{text}"
    );
    assert!(!b.source().await.unwrap().contains(&new_secret));
    assert_eq!(
        app.me(Some(&format!("Bearer {old_secret}"))).await.status(),
        200
    );
    assert_eq!(
        app.me(Some(&format!("Bearer {new_secret}"))).await.status(),
        200
    );
    check_fit_and_axe(&b, "keys-rolling").await;

    // the rolling key's page explains and offers Stop now
    b.goto(&format!("{base}/settings/api-keys/{old_id}"))
        .await
        .unwrap();
    assert!(main_text(&b).await.contains("This key was rolled onto"));
    check_fit_and_axe(&b, "detail-rolling").await;
    b.close().await;
}

#[tokio::test]
async fn without_javascript_a_key_is_rolled_through_its_page() {
    let Some(b) = browser(false).await else {
        return;
    };
    let app = spawn_app().await;
    let base = base_of(&app);
    let user = app.eligible_user_logged_in().await;
    let old_secret = app.create_key_secret("no-js-roll").await;
    let old_id = app.key_id_of(&old_secret).await;
    browser_login(&b, &base, &user).await;

    b.goto(&format!("{base}/settings/api-keys/{old_id}"))
        .await
        .unwrap();
    click(&b, "a[href$='/roll']").await;
    wait_for_path(&b, &format!("/settings/api-keys/{old_id}/roll")).await;
    // signed in just now: no password asked
    assert!(
        b.find_all(Locator::Css("#confirm-password"))
            .await
            .unwrap()
            .is_empty()
    );
    click(&b, "#grace-now").await;
    click(&b, "main form button[type=submit]").await;
    b.wait()
        .for_element(Locator::Css("#secret-value"))
        .await
        .unwrap();
    let copy_buttons = b.find_all(Locator::Css("[data-copy]")).await.unwrap();
    for button in copy_buttons {
        assert!(
            !button.is_displayed().await.unwrap(),
            "no Copy button without JS"
        );
    }
    let new_secret = b
        .find(Locator::Css("#secret-value"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    click(&b, "#secret-dialog button[type=submit]").await;
    wait_gone(&b, "#secret-value").await;
    // "now": the old secret stopped at once, the new one works
    assert_eq!(
        app.me(Some(&format!("Bearer {old_secret}"))).await.status(),
        401
    );
    assert_eq!(
        app.me(Some(&format!("Bearer {new_secret}"))).await.status(),
        200
    );
    b.close().await;
}
