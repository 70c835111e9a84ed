//! A key's own bounds (issue #27): network binding (enforce, dry-run, the proposal, checking an
//! address, loosening only with the recent password) and pause / resume, on `/api/v1/me` and
//! introspection, across instances. Client addresses come from `X-Forwarded-For` only because
//! these apps trust 127.0.0.1 as a proxy; one test shows the header is ignored otherwise.

use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use keydesk::db::schema::{api_keys, key_client_ips};
use uuid::Uuid;

use crate::helpers::*;

async fn behind_proxy() -> TestApp {
    spawn_app_with(TestDb::new().await, |s| {
        s.trusted_proxies = keydesk::config::parse_proxies("127.0.0.1/32").unwrap();
    })
    .await
}

/// `GET /api/v1/me` with `secret` as if from `ip` (through the trusted proxy).
async fn me_from(app: &TestApp, secret: &str, ip: &str) -> (u16, serde_json::Value) {
    let res = app
        .client
        .get(format!("{}/api/v1/me", app.address))
        .header("authorization", format!("Bearer {secret}"))
        .header("x-forwarded-for", ip)
        .header("user-agent", "containment-test/1")
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// Introspection of `secret`, naming `client_ip` when given.
async fn introspect_from(
    app: &TestApp,
    secret: &str,
    client_ip: Option<&str>,
) -> serde_json::Value {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("token", secret);
    if let Some(ip) = client_ip {
        form.append_pair("client_ip", ip);
    }
    let res = app
        .client
        .post(format!("{}/api/v1/introspect", app.address))
        .header(
            "authorization",
            format!("Bearer {}", app.settings.introspection_token.expose()),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.finish())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Posts the binding form; returns the status and the page (or the redirect's target).
async fn save_binding(
    app: &TestApp,
    key: Uuid,
    ranges: &str,
    mode: &str,
    password: &str,
) -> (u16, String) {
    let token = app.csrf().await;
    let res = app
        .post_form(
            &format!("/settings/api-keys/{key}/network"),
            &[
                ("csrf_token", &token),
                ("ranges", ranges),
                ("mode", mode),
                ("password", password),
            ],
        )
        .await;
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

async fn stored_binding(app: &TestApp, key: Uuid) -> (String, Vec<String>) {
    let (mode, nets): (String, Vec<ipnet::IpNet>) = api_keys::table
        .find(key)
        .select((api_keys::network_mode, api_keys::networks))
        .first(&mut app.conn().await)
        .await
        .unwrap();
    (mode, nets.iter().map(ToString::to_string).collect())
}

#[tokio::test]
async fn an_enforced_binding_refuses_outside_addresses_on_me_and_introspection() {
    let app = behind_proxy().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("bound-bot").await;
    let key = app.key_id_of(&secret).await;
    let (status, _) =
        save_binding(&app, key, "203.0.113.0/24\n2001:db8:1::/48", "enforce", "").await;
    assert_eq!(status, 303);
    assert_eq!(
        stored_binding(&app, key).await,
        (
            "enforce".into(),
            vec!["203.0.113.0/24".into(), "2001:db8:1::/48".into()]
        )
    );

    for inside in ["203.0.113.77", "2001:db8:1:ffff::9"] {
        let (status, body) = me_from(&app, &secret, inside).await;
        assert_eq!(status, 200, "{inside}: {body}");
    }
    for outside in ["198.51.100.1", "2001:db8:2::1"] {
        let (status, body) = me_from(&app, &secret, outside).await;
        assert_eq!(status, 403, "{outside}");
        assert_eq!(
            body,
            serde_json::json!({ "error": "forbidden", "error_code": "ip_not_allowed" })
        );
    }
    // introspection judges the caller's client
    let inside = introspect_from(&app, &secret, Some("203.0.113.5")).await;
    assert_eq!(inside["active"], true);
    assert_eq!(
        introspect_from(&app, &secret, Some("198.51.100.1")).await,
        serde_json::json!({ "active": false, "refusal": "ip_not_allowed" })
    );
    assert_eq!(
        introspect_from(&app, &secret, None).await,
        serde_json::json!({ "active": false, "refusal": "client_ip_required" })
    );
    // the refusals are counted, per outcome and per address
    app.usage.flush_now().await;
    let (_, html) = app.get_html(&format!("/settings/api-keys/{key}")).await;
    assert!(
        html.contains("id=\"usage-24h-ip_not_allowed\">4<"),
        "two /me and two introspection refusals"
    );
    let refused: i64 = key_client_ips::table
        .filter(key_client_ips::key_id.eq(key))
        .filter(key_client_ips::client_ip.eq("198.51.100.1"))
        .select(key_client_ips::refused)
        .first(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(refused, 2);
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_not_the_client() {
    let app = spawn_app().await; // trusts no proxy
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("bound-bot").await;
    let key = app.key_id_of(&secret).await;
    assert_eq!(
        save_binding(&app, key, "203.0.113.0/24", "enforce", "")
            .await
            .0,
        303
    );
    // the header names an inside address, but the peer (127.0.0.1) is what counts
    let (status, body) = me_from(&app, &secret, "203.0.113.7").await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (403, Some("ip_not_allowed"))
    );
    assert_eq!(
        save_binding(&app, key, "127.0.0.1", "enforce", "").await.0,
        303
    );
    assert_eq!(me_from(&app, &secret, "198.51.100.9").await.0, 200);
}

#[tokio::test]
async fn a_dry_run_accepts_outside_addresses_and_lists_them_as_would_be_refused() {
    let app = behind_proxy().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("watched").await;
    let key = app.key_id_of(&secret).await;
    assert_eq!(
        save_binding(&app, key, "203.0.113.0/24", "dry_run", "")
            .await
            .0,
        303
    );
    for _ in 0..3 {
        assert_eq!(me_from(&app, &secret, "198.51.100.23").await.0, 200);
    }
    assert_eq!(me_from(&app, &secret, "203.0.113.4").await.0, 200);
    app.usage.flush_now().await;
    let rows: Vec<(String, i64, i64)> = key_client_ips::table
        .filter(key_client_ips::key_id.eq(key))
        .order(key_client_ips::client_ip)
        .select((
            key_client_ips::client_ip,
            key_client_ips::outside,
            key_client_ips::refused,
        ))
        .load(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![("198.51.100.23".into(), 3, 0), ("203.0.113.4".into(), 0, 0)]
    );
    let (status, html) = app
        .get_html(&format!("/settings/api-keys/{key}/network"))
        .await;
    assert_eq!(status, 200);
    let table = &html[html
        .find("id=\"outside\"")
        .expect("the would-be-refused list")..];
    assert!(table.contains("198.51.100.23") && table.contains("containment-test/1"));
    assert!(!table[..table.find("</table>").unwrap()].contains("203.0.113.4"));
    assert!(html.contains("id=\"enforce-now\""));
    assert!(html.contains("network?add=198.51.100.23"));
    // "add this address" pre-fills the list with it
    let (_, add) = app
        .get_html(&format!(
            "/settings/api-keys/{key}/network?add=198.51.100.23"
        ))
        .await;
    assert!(
        add.contains("203.0.113.0/24\n198.51.100.23/32</textarea>"),
        "{add}"
    );
    // "enforce now" narrows: no password needed even when it is old
    app.age_password_entry(3_600).await;
    assert_eq!(
        save_binding(&app, key, "203.0.113.0/24", "enforce", "")
            .await
            .0,
        303
    );
    assert_eq!(me_from(&app, &secret, "198.51.100.23").await.0, 403);
}

#[tokio::test]
async fn the_proposal_is_the_addresses_the_key_was_used_from() {
    let app = behind_proxy().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("busy").await;
    let key = app.key_id_of(&secret).await;
    for ip in [
        "203.0.113.7",
        "203.0.113.7",
        "198.51.100.2",
        "2001:db8:5:6::1",
        "2001:db8:5:6::2",
    ] {
        assert_eq!(me_from(&app, &secret, ip).await.0, 200);
    }
    app.usage.flush_now().await;
    let (status, html) = app
        .get_html(&format!("/settings/api-keys/{key}/network?propose=1"))
        .await;
    assert_eq!(status, 200);
    let start = html.find("name=\"ranges\"").unwrap();
    let body = &html[start..];
    let text = &body[body.find('>').unwrap() + 1..body.find("</textarea>").unwrap()];
    let mut proposed: Vec<&str> = text.lines().collect();
    proposed.sort_unstable();
    assert_eq!(
        proposed,
        vec!["198.51.100.2/32", "2001:db8:5:6::/64", "203.0.113.7/32"]
    );
    assert!(
        html.contains("id=\"mode-dry_run\" name=\"mode\" value=\"dry_run\" checked"),
        "a proposal starts as a dry-run"
    );
}

#[tokio::test]
async fn loosening_without_a_recent_password_changes_nothing_and_keeps_the_input() {
    let app = behind_proxy().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("tight").await;
    let key = app.key_id_of(&secret).await;
    assert_eq!(
        save_binding(&app, key, "203.0.113.0/24", "enforce", "")
            .await
            .0,
        303
    );
    app.age_password_entry(3_600).await;
    let enforced = ("enforce".to_owned(), vec!["203.0.113.0/24".to_owned()]);
    for (ranges, mode) in [
        ("203.0.113.0/24 198.51.100.0/24", "enforce"), // wider
        ("203.0.113.0/24", "dry_run"),                 // weaker
        ("", "off"),                                   // off
    ] {
        let (status, html) = save_binding(&app, key, ranges, mode, "").await;
        assert_eq!(status, 422, "{ranges} {mode}");
        assert!(
            html.contains("id=\"confirm-password\""),
            "asks for the password"
        );
        if !ranges.is_empty() {
            assert!(html.contains(ranges), "keeps the input");
        }
        assert_eq!(stored_binding(&app, key).await, enforced);
    }
    let (status, _) = save_binding(
        &app,
        key,
        "203.0.113.0/24 198.51.100.0/24",
        "enforce",
        "wrong",
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(stored_binding(&app, key).await, enforced);
    // narrowing needs none
    assert_eq!(
        save_binding(&app, key, "203.0.113.128/25", "enforce", "")
            .await
            .0,
        303
    );
    // the password lets the widening through
    let (status, _) = save_binding(
        &app,
        key,
        "203.0.113.0/24 198.51.100.0/24",
        "enforce",
        &user.password,
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        stored_binding(&app, key).await,
        (
            "enforce".into(),
            vec!["203.0.113.0/24".into(), "198.51.100.0/24".into()]
        )
    );
    let events = app.events(user.id, "key.network_changed").await;
    assert_eq!(events.len(), 3);
}

#[tokio::test]
async fn bad_ranges_are_422_with_the_input_kept_and_nothing_saved() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("bot").await;
    let key = app.key_id_of(&secret).await;
    let many: Vec<String> = (1..=21).map(|i| format!("10.0.0.{i}")).collect();
    let many = many.join("\n");
    for (ranges, says) in [
        ("203.0.113.7/24", "host bits set"),
        ("0.0.0.0/0", "allows every address"),
        ("::/0", "allows every address"),
        ("not-an-address", "is not an IP address"),
        ("10.0.0.0/33", "is not an IPv4 or IPv6 range"),
        (many.as_str(), "At most 20 ranges"),
        ("", "Add at least one range"),
    ] {
        let (status, html) = save_binding(&app, key, ranges, "enforce", "").await;
        assert_eq!(status, 422, "{ranges}");
        assert!(html.contains(says), "{ranges}: {says}");
        assert!(html.contains("aria-invalid=\"true\""));
        if let Some(first) = ranges.lines().next() {
            assert!(html.contains(first), "the input is kept");
        }
        assert_eq!(stored_binding(&app, key).await, ("off".into(), vec![]));
    }
}

#[tokio::test]
async fn checking_an_address_says_accepted_refused_or_dry_run_and_by_which_range() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("bot").await;
    let key = app.key_id_of(&secret).await;
    let check = |ip: &'static str| {
        let app = &app;
        async move {
            let (_, html) = app
                .get_html(&format!("/settings/api-keys/{key}/network?check={ip}"))
                .await;
            let start = html.find("id=\"check-result\">").expect("a result") + 18;
            html[start..start + html[start..].find('<').unwrap()].to_owned()
        }
    };
    assert!(check("198.51.100.1").await.contains("binding is off"));
    assert_eq!(
        save_binding(&app, key, "203.0.113.0/24", "enforce", "")
            .await
            .0,
        303
    );
    assert!(
        check("203.0.113.9")
            .await
            .contains("accepted: it is inside 203.0.113.0/24")
    );
    assert!(check("198.51.100.1").await.contains("would be refused"));
    app.age_password_entry(0).await;
    assert_eq!(
        save_binding(&app, key, "203.0.113.0/24", "dry_run", "")
            .await
            .0,
        303
    );
    assert!(check("198.51.100.1").await.contains("dry-run"));
    assert!(check("nonsense").await.contains("is not an IP address"));
}

#[tokio::test]
async fn another_accounts_key_is_404_on_every_bound_page() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("theirs").await;
    let key = app.key_id_of(&secret).await;
    app.eligible_user_logged_in().await; // someone else signs in
    for path in ["network", "pause", "resume"] {
        let (status, _) = app
            .get_html(&format!("/settings/api-keys/{key}/{path}"))
            .await;
        assert_eq!(status, 404, "GET {path}");
    }
    assert_eq!(
        save_binding(&app, key, "203.0.113.0/24", "enforce", "")
            .await
            .0,
        404
    );
    let token = app.csrf().await;
    let res = app
        .post_form(
            &format!("/settings/api-keys/{key}/pause"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 404);
    assert_eq!(
        app.me(Some(&format!("Bearer {secret}"))).await.status(),
        200
    );
}

#[tokio::test]
async fn pause_is_401_paused_at_once_on_another_instance_and_resume_needs_the_password() {
    let a = spawn_app().await;
    let user = a.eligible_user_logged_in().await;
    let secret = a.create_key_secret("pausable").await;
    let key = a.key_id_of(&secret).await;
    let b = spawn_on(
        TestDb {
            name: a.db.name.clone(),
        },
        a.settings.clone(),
    )
    .await;
    let auth = format!("Bearer {secret}");
    assert_eq!(b.me(Some(&auth)).await.status(), 200);
    // pausing asks for no password, even an old one
    a.age_password_entry(3_600).await;
    let token = a.csrf().await;
    let res = a
        .post_form(
            &format!("/settings/api-keys/{key}/pause"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_redirects_to(&res, &format!("/settings/api-keys/{key}"));
    let res = b.me(Some(&auth)).await;
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error_code"], "paused");
    assert_eq!(
        b.introspect(&secret).await,
        serde_json::json!({ "active": false, "refusal": "paused" })
    );
    // the owner sees it paused by them, and it still counts toward the limit
    let (_, list) = a.get_html("/settings/api-keys").await;
    assert!(
        list.contains("paused by you"),
        "the list says who paused it"
    );
    assert!(list.contains("<strong>1 of 10</strong>"));
    let (_, detail) = a.get_html(&format!("/settings/api-keys/{key}")).await;
    assert!(detail.contains("id=\"paused-notice\""));
    // resuming without a recent password changes nothing
    let res = a
        .post_form(
            &format!("/settings/api-keys/{key}/resume"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("id=\"confirm-password\"")
    );
    assert_eq!(b.me(Some(&auth)).await.status(), 401);
    let res = a
        .post_form(
            &format!("/settings/api-keys/{key}/resume"),
            &[("csrf_token", &token), ("password", &user.password)],
        )
        .await;
    assert_redirects_to(&res, &format!("/settings/api-keys/{key}"));
    assert_eq!(b.me(Some(&auth)).await.status(), 200);
    // audited and notified
    assert_eq!(a.events(user.id, "key.paused").await.len(), 1);
    assert_eq!(a.events(user.id, "key.resumed").await.len(), 1);
    let kinds: Vec<String> = keydesk::db::schema::notices::table
        .filter(keydesk::db::schema::notices::account_id.eq(user.id))
        .order(keydesk::db::schema::notices::created_at)
        .select(keydesk::db::schema::notices::kind)
        .load(&mut a.conn().await)
        .await
        .unwrap();
    assert_eq!(kinds, vec!["key_paused", "key_resumed"]);
    // counted as its own outcome
    a.usage.flush_now().await;
    b.usage.flush_now().await;
    let (_, detail) = a.get_html(&format!("/settings/api-keys/{key}")).await;
    assert!(
        detail.contains("id=\"usage-24h-paused\">3<"),
        "two /me and one introspection while paused"
    );
}

#[tokio::test]
async fn a_roll_keeps_the_binding() {
    let app = behind_proxy().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("rolled").await;
    let key = app.key_id_of(&secret).await;
    assert_eq!(
        save_binding(&app, key, "203.0.113.0/24", "enforce", "")
            .await
            .0,
        303
    );
    let (_, html) = app
        .get_html(&format!("/settings/api-keys/{key}/roll"))
        .await;
    let token = csrf_in(&html);
    let rid = request_id_in(&html);
    let res = app
        .post_form(
            &format!("/settings/api-keys/{key}/roll"),
            &[
                ("csrf_token", &token),
                ("request_id", &rid),
                ("grace", "1h"),
                ("expiration", "30"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let successor = secret_in(&res.text().await.unwrap());
    assert_eq!(me_from(&app, &successor, "198.51.100.1").await.0, 403);
    assert_eq!(me_from(&app, &successor, "203.0.113.1").await.0, 200);
}

#[tokio::test]
async fn support_sees_the_binding_its_dry_run_refusals_and_an_owners_pause() {
    let app = behind_proxy().await;
    let owner = app.eligible_user_logged_in().await;
    let watched = app.create_key_secret("watched").await;
    let watched_id = app.key_id_of(&watched).await;
    let paused = app.key_id_of(&app.create_key_secret("resting").await).await;
    assert_eq!(
        save_binding(&app, watched_id, "203.0.113.0/24", "dry_run", "")
            .await
            .0,
        303
    );
    for _ in 0..3 {
        assert_eq!(me_from(&app, &watched, "198.51.100.23").await.0, 200);
    }
    app.usage.flush_now().await;
    let token = app.csrf().await;
    let res = app
        .post_form(
            &format!("/settings/api-keys/{paused}/pause"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);

    let staff = app
        .create_user(
            "staff@example.com",
            keydesk::domain::Role::Support,
            false,
            &[],
        )
        .await;
    assert_eq!(app.login(&staff.email, &staff.password).await.status(), 303);
    let (status, html) = app
        .get_html(&format!("/support/accounts/{}", owner.id))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("Dry-run of 1 range"), "{html}");
    assert!(html.contains("203.0.113.0/24"));
    assert!(html.contains("3 would have been refused"));
    assert!(html.contains("by its owner"));
    // read-only: no form that changes a key
    assert!(!html.contains("/network\"") && !html.contains("/pause\""));
}
