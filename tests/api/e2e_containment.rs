//! Browser tests of a key's bounds (issue #27): the network page with its proposal, address
//! check and would-be-refused list, and pausing, by keyboard with JavaScript and through plain
//! pages without it; every page axe-clean and fitting at 390 and 1280 px (screenshots in the
//! temp folder as `keydesk-network-*.png`).

use fantoccini::{Client, Locator};

use crate::e2e::{
    axe_violations, base_of, browser, browser_login, fill, press, screenshot, scrolls_sideways,
    wait_for_path,
};
use crate::helpers::*;

const ENTER: &str = "\u{e007}";

async fn main_text(c: &Client) -> String {
    c.find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn fits_and_is_clean(c: &Client, base: &str, path: &str, name: &str) {
    for (w, h) in [(1280, 900), (390, 844)] {
        c.set_window_size(w, h).await.unwrap();
        c.goto(&format!("{base}{path}")).await.unwrap();
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

/// A key used from three addresses (one of them twice, one IPv6), through the trusted proxy.
async fn used_key(app: &TestApp) -> (String, uuid::Uuid) {
    let secret = app.create_key_secret("vending-bot").await;
    let id = app.key_id_of(&secret).await;
    for ip in [
        "203.0.113.7",
        "203.0.113.7",
        "198.51.100.2",
        "2001:db8:5:6::1",
    ] {
        let res = app
            .client
            .get(format!("{}/api/v1/me", app.address))
            .header("authorization", format!("Bearer {secret}"))
            .header("x-forwarded-for", ip)
            .header("user-agent", "vending-firmware/2.1 (linux; arm64)")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    app.usage.flush_now().await;
    (secret, id)
}

#[tokio::test]
async fn the_network_page_proposes_watches_and_enforces_by_keyboard() {
    let Some(b) = browser(true).await else { return };
    let app = spawn_app_with(TestDb::new().await, |s| {
        s.trusted_proxies = keydesk::config::parse_proxies("127.0.0.1/32").unwrap();
    })
    .await;
    let base = base_of(&app);
    let user = app.eligible_user_logged_in().await;
    let (secret, id) = used_key(&app).await;
    browser_login(&b, &base, &user).await;

    // the key's page offers the proposal; follow it by keyboard
    b.goto(&format!("{base}/settings/api-keys/{id}"))
        .await
        .unwrap();
    assert!(main_text(&b).await.contains("Off — any address"));
    fits_and_is_clean(
        &b,
        &base,
        &format!("/settings/api-keys/{id}"),
        "network-detail",
    )
    .await;
    b.goto(&format!("{base}/settings/api-keys/{id}"))
        .await
        .unwrap();
    press(
        &b,
        &format!("a[href='/settings/api-keys/{id}/network?propose=1']"),
        ENTER,
    )
    .await;
    wait_for_path(&b, &format!("/settings/api-keys/{id}/network")).await;
    let text = main_text(&b).await;
    assert!(text.contains("Proposed from the last 30 days"), "{text}");
    assert!(text.contains("2001:db8:5:6::/64") && text.contains("203.0.113.7/32"));
    fits_and_is_clean(
        &b,
        &base,
        &format!("/settings/api-keys/{id}/network?propose=1"),
        "network-proposal",
    )
    .await;

    // save the proposal minus one address, in dry-run (preselected), by keyboard
    b.goto(&format!("{base}/settings/api-keys/{id}/network?propose=1"))
        .await
        .unwrap();
    b.find(Locator::Css("#ranges"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    fill(&b, "#ranges", "203.0.113.7/32\n2001:db8:5:6::/64").await;
    press(&b, "#binding-form button[type=submit]", ENTER).await;
    b.wait().for_element(Locator::Css(".flash")).await.unwrap();
    assert!(main_text(&b).await.contains("is in dry-run"));

    // a request from the address left out is accepted, and listed as would-be-refused
    let res = app
        .client
        .get(format!("{}/api/v1/me", app.address))
        .header("authorization", format!("Bearer {secret}"))
        .header("x-forwarded-for", "198.51.100.2")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.usage.flush_now().await;
    b.refresh().await.unwrap();
    let text = main_text(&b).await;
    assert!(
        text.contains("Would have been refused") && text.contains("198.51.100.2"),
        "{text}"
    );
    fits_and_is_clean(
        &b,
        &base,
        &format!("/settings/api-keys/{id}/network"),
        "network-dry-run",
    )
    .await;

    // check an address, by keyboard
    b.goto(&format!("{base}/settings/api-keys/{id}/network"))
        .await
        .unwrap();
    fill(&b, "#check", "198.51.100.2").await;
    press(&b, "#check", ENTER).await;
    b.wait()
        .for_element(Locator::Css("#check-result"))
        .await
        .unwrap();
    assert!(
        main_text(&b)
            .await
            .contains("accepted while this key is in dry-run")
    );
    let v = axe_violations(&b).await;
    assert!(v.is_empty(), "check result: {v:?}");

    // enforce now: the left-out address is refused from then on
    press(&b, "#enforce-now", ENTER).await;
    b.wait().for_element(Locator::Css(".flash")).await.unwrap();
    assert!(main_text(&b).await.contains("get 403 ip_not_allowed"));
    let res = app
        .client
        .get(format!("{}/api/v1/me", app.address))
        .header("authorization", format!("Bearer {secret}"))
        .header("x-forwarded-for", "198.51.100.2")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // pause from the key's page, by keyboard; the list says who paused it
    b.goto(&format!("{base}/settings/api-keys/{id}/pause"))
        .await
        .unwrap();
    fits_and_is_clean(
        &b,
        &base,
        &format!("/settings/api-keys/{id}/pause"),
        "pause-page",
    )
    .await;
    b.goto(&format!("{base}/settings/api-keys/{id}/pause"))
        .await
        .unwrap();
    press(&b, "main form button[type=submit]", ENTER).await;
    wait_for_path(&b, &format!("/settings/api-keys/{id}")).await;
    assert!(main_text(&b).await.contains("You paused this key"));
    fits_and_is_clean(&b, &base, "/settings/api-keys", "keys-paused").await;
}

#[tokio::test]
async fn binding_and_pausing_work_without_javascript() {
    let Some(b) = browser(false).await else {
        return;
    };
    let app = spawn_app().await;
    let base = base_of(&app);
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("plain-bot").await;
    let id = app.key_id_of(&secret).await;
    browser_login(&b, &base, &user).await;

    b.goto(&format!("{base}/settings/api-keys/{id}/network"))
        .await
        .unwrap();
    b.find(Locator::Css("#ranges"))
        .await
        .unwrap()
        .send_keys("203.0.113.0/24")
        .await
        .unwrap();
    b.find(Locator::Css("#mode-enforce"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find(Locator::Css("#binding-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait().for_element(Locator::Css(".flash")).await.unwrap();
    assert!(main_text(&b).await.contains("is bound to 1 range"));
    // the test client comes from 127.0.0.1: outside the list
    assert_eq!(
        app.me(Some(&format!("Bearer {secret}"))).await.status(),
        403
    );

    b.goto(&format!("{base}/settings/api-keys/{id}/pause"))
        .await
        .unwrap();
    b.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&b, &format!("/settings/api-keys/{id}")).await;
    assert!(main_text(&b).await.contains("You paused this key"));
    let res = app.me(Some(&format!("Bearer {secret}"))).await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn the_rate_and_caps_pages_are_accessible_and_fit() {
    let Some(b) = browser(true).await else { return };
    let app = spawn_app().await;
    let base = base_of(&app);
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("vending-bot").await;
    let id = app.key_id_of(&secret).await;
    let token = app.csrf().await;
    for (path, fields) in [
        ("rate", vec![("limit", "600")]),
        ("caps", vec![("day", "50"), ("month", "500")]),
    ] {
        let mut pairs = vec![("csrf_token", token.as_str())];
        pairs.extend(fields);
        let res = app
            .post_form(&format!("/settings/api-keys/{id}/{path}"), &pairs)
            .await;
        assert_eq!(res.status().as_u16(), 303, "{path}");
    }
    let auth = format!("Bearer {}", app.settings.introspection_token.expose());
    let res = app
        .client
        .post(format!("{}/api/v1/spend", app.address))
        .header("authorization", auth)
        .form(&[
            ("token", secret.as_str()),
            ("scope", "vm.buy.crypto"),
            ("amount_cents", "1250"),
            ("idempotency_key", "order-1"),
            (
                "description",
                "Machine 12 — two colas and a very long description of the order",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    browser_login(&b, &base, &user).await;
    fits_and_is_clean(
        &b,
        &base,
        &format!("/settings/api-keys/{id}/rate"),
        "rate-page",
    )
    .await;
    fits_and_is_clean(
        &b,
        &base,
        &format!("/settings/api-keys/{id}/caps"),
        "caps-page",
    )
    .await;
    b.goto(&format!("{base}/settings/api-keys/{id}/caps"))
        .await
        .unwrap();
    assert!(main_text(&b).await.contains("$12.50 of $50.00"));
    fits_and_is_clean(
        &b,
        &base,
        &format!("/settings/api-keys/{id}"),
        "detail-bounds",
    )
    .await;
}
