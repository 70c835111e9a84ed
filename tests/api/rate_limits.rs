//! Per-key rate limits (issue #28): exact across instances sharing one database, one client
//! alone gets at least 90 %, the headers on 200 and 429, a crashed instance never over-grants,
//! a changed limit applies within a window, raising needs the recent password.

use std::time::Duration;

use futures_util::future::join_all;

use crate::helpers::*;

/// An app whose rate windows last `secs`.
async fn app_with_window(secs: u64) -> TestApp {
    spawn_app_with(TestDb::new().await, |s| {
        s.rate.window = Duration::from_secs(secs);
    })
    .await
}

/// A second instance on the same database.
async fn sibling(a: &TestApp) -> TestApp {
    spawn_on(
        TestDb {
            name: a.db.name.clone(),
        },
        a.settings.clone(),
    )
    .await
}

async fn set_limit(app: &TestApp, key: uuid::Uuid, limit: &str, password: &str) -> u16 {
    let token = app.csrf().await;
    app.post_form(
        &format!("/settings/api-keys/{key}/rate"),
        &[
            ("csrf_token", &token),
            ("limit", limit),
            ("password", password),
        ],
    )
    .await
    .status()
    .as_u16()
}

/// The database's current window number for `secs`-long windows.
async fn db_window(app: &TestApp, secs: i64) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct W {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        w: i64,
    }
    let w: W = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT (floor(extract(epoch FROM now())) / $1)::int8 AS w")
            .bind::<diesel::sql_types::BigInt, _>(secs),
        &mut app.conn().await,
    )
    .await
    .unwrap();
    w.w
}

/// Statuses of `n` concurrent `/me` calls spread over `apps`.
async fn burst(apps: &[&TestApp], secret: &str, n: usize) -> Vec<u16> {
    let auth = format!("Bearer {secret}");
    join_all((0..n).map(|i| {
        let app = apps[i % apps.len()];
        let auth = auth.clone();
        async move { app.me(Some(&auth)).await.status().as_u16() }
    }))
    .await
}

#[tokio::test]
async fn the_limit_holds_across_two_instances_under_concurrent_clients() {
    // an hour-long window: the burst fits in one (checked on the database's clock)
    let a = app_with_window(3_600).await;
    a.eligible_user_logged_in().await;
    let secret = a.create_key_secret("limited").await;
    let key = a.key_id_of(&secret).await;
    assert_eq!(set_limit(&a, key, "40", "").await, 303);
    let b = sibling(&a).await;
    for _ in 0..3 {
        let before = db_window(&a, 3_600).await;
        let statuses = burst(&[&a, &b], &secret, 120).await;
        if db_window(&a, 3_600).await != before {
            continue; // the hour turned mid-burst: try again in the new window
        }
        let ok = statuses.iter().filter(|s| **s == 200).count();
        let limited = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!(ok + limited, 120, "{statuses:?}");
        assert!(ok <= 40, "accepted {ok} of a limit of 40");
        assert!(
            ok >= 36,
            "the two instances together accepted only {ok} of 40"
        );
        // later requests in the window are refused too, without over-granting
        let more = burst(&[&a, &b], &secret, 20).await;
        assert!(more.iter().all(|s| *s == 429), "{more:?}");
        return;
    }
    panic!("three bursts straddled an hour boundary");
}

#[tokio::test]
async fn one_client_alone_gets_at_least_ninety_percent_and_the_headers_say_so() {
    let a = app_with_window(3_600).await;
    a.eligible_user_logged_in().await;
    let secret = a.create_key_secret("solo").await;
    let key = a.key_id_of(&secret).await;
    assert_eq!(set_limit(&a, key, "50", "").await, 303);
    let auth = format!("Bearer {secret}");
    let res = a.me(Some(&auth)).await;
    assert_eq!(res.status(), 200);
    let h = |res: &reqwest::Response, name: &str| -> i64 {
        res.headers()
            .get(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(h(&res, "ratelimit-limit"), 50);
    assert_eq!(h(&res, "ratelimit-remaining"), 49);
    let reset = h(&res, "ratelimit-reset");
    assert!((1..=3_600).contains(&reset));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["key"]["rate_limit"], 50);
    let mut ok = 1;
    let mut limited = None;
    for _ in 0..60 {
        let res = a.me(Some(&auth)).await;
        match res.status().as_u16() {
            200 => ok += 1,
            429 => {
                limited = Some(res);
                break;
            }
            s => panic!("status {s}"),
        }
    }
    assert!(ok >= 45, "one client got {ok} of 50");
    assert!(ok <= 50);
    let res = limited.expect("a 429 once the limit is used");
    assert_eq!(h(&res, "ratelimit-remaining"), 0);
    assert!(h(&res, "retry-after") >= 1);
    assert_eq!(h(&res, "retry-after"), h(&res, "ratelimit-reset"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "error": "too_many_requests", "error_code": "rate_limited" })
    );
    // introspection says so too, with retry_after
    let i = a.introspect(&secret).await;
    assert_eq!(i["active"], false);
    assert_eq!(i["refusal"], "rate_limited");
    assert!(i["retry_after"].as_i64().unwrap() >= 1);
    // and the refusals are counted as their own outcome
    a.usage.flush_now().await;
    let (_, html) = a.get_html(&format!("/settings/api-keys/{key}")).await;
    assert!(
        html.contains("id=\"usage-24h-rate_limited\">2<"),
        "one /me and one introspection"
    );
}

#[tokio::test]
async fn a_crashed_instance_loses_its_slice_but_never_over_grants() {
    let a = app_with_window(3_600).await;
    a.eligible_user_logged_in().await;
    let secret = a.create_key_secret("crashy").await;
    let key = a.key_id_of(&secret).await;
    assert_eq!(set_limit(&a, key, "100", "").await, 303);
    let b = sibling(&a).await;
    let before = db_window(&a, 3_600).await;
    // a leases a slice (5 of 100) and uses only part of it, then dies
    let first = burst(&[&a], &secret, 3).await;
    assert!(first.iter().all(|s| *s == 200));
    a.stop().await;
    // b serves the rest of the window: never more than the 100 in all
    let mut ok = 3;
    for _ in 0..40 {
        let statuses = burst(&[&b], &secret, 5).await;
        ok += statuses.iter().filter(|s| **s == 200).count();
        if statuses.contains(&429) {
            break;
        }
    }
    if db_window(&b, 3_600).await == before {
        assert!(ok <= 100, "accepted {ok} of 100 after a crash");
        assert!(
            ok >= 95,
            "the dead instance's unused slice is all that is lost: {ok}"
        );
    }
}

#[tokio::test]
async fn a_changed_limit_applies_in_the_next_window_and_raising_needs_the_password() {
    let a = app_with_window(2).await;
    let user = a.eligible_user_logged_in().await;
    let secret = a.create_key_secret("tunable").await;
    let key = a.key_id_of(&secret).await;
    assert_eq!(set_limit(&a, key, "3", "").await, 303);
    // bad input: 422 with the input kept, nothing saved
    for bad in ["0", "lots", "6001"] {
        let token = a.csrf().await;
        let res = a
            .post_form(
                &format!("/settings/api-keys/{key}/rate"),
                &[("csrf_token", &token), ("limit", bad)],
            )
            .await;
        assert_eq!(res.status().as_u16(), 422, "{bad}");
        assert!(
            res.text()
                .await
                .unwrap()
                .contains(&format!("value=\"{bad}\""))
        );
    }
    // raising without a recent password changes nothing
    a.age_password_entry(3_600).await;
    assert_eq!(set_limit(&a, key, "10", "").await, 422);
    assert_eq!(set_limit(&a, key, "", "").await, 422, "removing is raising");
    assert_eq!(a.key_row(key).await.rate_limit, Some(3));
    assert_eq!(
        set_limit(&a, key, "2", "").await,
        303,
        "lowering needs none"
    );
    assert_eq!(set_limit(&a, key, "8", &user.password).await, 303);
    assert_eq!(a.key_row(key).await.rate_limit, Some(8));
    // the new limit counts from the next window at the latest
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let auth = format!("Bearer {secret}");
    let mut ok = 0;
    for _ in 0..12 {
        if a.me(Some(&auth)).await.status() == 200 {
            ok += 1;
        }
    }
    assert!(
        (8..=16).contains(&ok),
        "{ok} accepted in at most two windows of 8"
    );
    assert_eq!(a.events(user.id, "key.rate_limit_changed").await.len(), 3);
}

#[tokio::test]
async fn rate_limit_refusals_raise_their_alert_and_the_page_shows_the_busiest_minute() {
    let a = app_with_window(3_600).await;
    let user = a.eligible_user_logged_in().await;
    let secret = a.create_key_secret("throttled").await;
    let key = a.key_id_of(&secret).await;
    assert_eq!(set_limit(&a, key, "2", "").await, 303);
    let token = a.csrf().await;
    let res = a
        .post_form(
            "/settings/notifications/alerts",
            &[
                ("csrf_token", &token),
                ("key", "all"),
                ("kind", "rate_limited"),
                ("threshold", "2"),
            ],
        )
        .await;
    assert_redirects_to(&res, "/settings/notifications");
    let before = db_window(&a, 3_600).await;
    let statuses = burst(&[&a], &secret, 5).await;
    if db_window(&a, 3_600).await != before {
        return; // the hour turned mid-burst: the counts below would be split
    }
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 3);
    a.usage.flush_now().await;
    let mut c = a.conn().await;
    assert_eq!(
        keydesk::db::notices::alerts::detect(&mut c).await.unwrap(),
        1
    );
    let (_, list) = a.get_html("/settings/api-keys").await;
    assert!(
        list.contains("was refused 3 times by its rate limit"),
        "the in-app notice says what happened"
    );
    let (_, detail) = a.get_html(&format!("/settings/api-keys/{key}")).await;
    assert!(
        detail.contains("busiest minute of the last 24 h: 2,"),
        "{detail}"
    );
    let (_, settings) = a.get_html("/settings/notifications").await;
    assert!(settings.contains("More than 2 requests refused by the rate limit in an hour"));
    let _ = user;
}

#[tokio::test]
async fn a_limit_set_at_create_applies_from_the_first_request() {
    let a = app_with_window(3_600).await;
    a.eligible_user_logged_in().await;
    let bad = a
        .create_key(&[("name", "capped"), ("rate_limit", "0")])
        .await;
    assert_eq!(bad.status().as_u16(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("between 1 and 6000") && html.contains("value=\"0\""));
    let secret = a
        .create_key_secret_with(&[("name", "capped"), ("rate_limit", "1")])
        .await;
    let key = a.key_id_of(&secret).await;
    assert_eq!(a.key_row(key).await.rate_limit, Some(1));
    let before = db_window(&a, 3_600).await;
    let statuses = burst(&[&a], &secret, 3).await;
    if db_window(&a, 3_600).await == before {
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
    }
}
