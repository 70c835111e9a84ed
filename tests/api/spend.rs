//! Spend caps at the point the platform asks (issue #29 core): the cap holds to the cent under
//! 50 concurrent spends, the same idempotency key answers the same and counts once (also when
//! two race on two instances), a void gives the amount back once, windows roll over on the
//! database's clock, a refused key reserves nothing, bad input is a 400 with nothing recorded.

use futures_util::future::join_all;
use uuid::Uuid;

use crate::helpers::*;

async fn ask(app: &TestApp, secret: &str, fields: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("token", secret);
    for (k, v) in fields {
        form.append_pair(k, v);
    }
    let res = app
        .client
        .post(format!("{}/api/v1/spend", app.address))
        .header(
            "authorization",
            format!("Bearer {}", app.settings.introspection_token.expose()),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.finish())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

async fn spend(app: &TestApp, secret: &str, cents: i64, idem: &str) -> serde_json::Value {
    let (status, body) = ask(
        app,
        secret,
        &[
            ("scope", "vm.buy.crypto"),
            ("amount_cents", &cents.to_string()),
            ("idempotency_key", idem),
            ("description", "Vending machine 12, two colas"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn cap(app: &TestApp, key: Uuid, day: Option<i64>, month: Option<i64>) {
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO key_spend_caps (key_id, scope, day_cents, month_cents)
             VALUES ($1, 'vm.buy.crypto', $2, $3)",
        )
        .bind::<diesel::sql_types::Uuid, _>(key)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>, _>(day)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>, _>(month),
        &mut app.conn().await,
    )
    .await
    .unwrap();
}

async fn reserved(app: &TestApp, key: Uuid) -> (i64, i64) {
    #[derive(diesel::QueryableByName)]
    struct R {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        cents: i64,
    }
    let r: R = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT count(*) AS n, coalesce(sum(amount_cents), 0)::int8 AS cents
               FROM key_spends WHERE key_id = $1 AND status = 'reserved'",
        )
        .bind::<diesel::sql_types::Uuid, _>(key),
        &mut app.conn().await,
    )
    .await
    .unwrap();
    (r.n, r.cents)
}

#[tokio::test]
async fn fifty_concurrent_spends_never_pass_the_cap_by_a_cent() {
    let a = spawn_app().await;
    a.eligible_user_logged_in().await;
    let secret = a.create_key_secret("buyer").await;
    let key = a.key_id_of(&secret).await;
    cap(&a, key, Some(10_000), None).await;
    let b = spawn_on(
        TestDb {
            name: a.db.name.clone(),
        },
        a.settings.clone(),
    )
    .await;
    // 50 spends of 300 cents through two instances: exactly 33 fit (9,900)
    let answers = join_all((0..50).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        let secret = secret.clone();
        async move { spend(app, &secret, 300, &format!("order-{i}")).await }
    }))
    .await;
    let allowed = answers.iter().filter(|x| x["allowed"] == true).count();
    assert_eq!(allowed, 33);
    for x in answers.iter().filter(|x| x["allowed"] == false) {
        assert_eq!(x["refusal"], "daily_cap");
    }
    assert_eq!(reserved(&a, key).await, (33, 9_900));
    // and what is left is told
    let last = spend(&a, &secret, 100, "order-last").await;
    assert_eq!(last["allowed"], true);
    assert_eq!(last["remaining_day"], 0);
    assert_eq!(last["remaining_month"], serde_json::Value::Null);
}

#[tokio::test]
async fn the_same_idempotency_key_answers_the_same_and_counts_once_even_racing() {
    let a = spawn_app().await;
    a.eligible_user_logged_in().await;
    let secret = a.create_key_secret("buyer").await;
    let key = a.key_id_of(&secret).await;
    cap(&a, key, Some(1_000), Some(5_000)).await;
    let b = spawn_on(
        TestDb {
            name: a.db.name.clone(),
        },
        a.settings.clone(),
    )
    .await;
    let (x, y) = tokio::join!(
        spend(&a, &secret, 400, "same"),
        spend(&b, &secret, 400, "same")
    );
    assert_eq!(x, y, "the same answer on both instances");
    assert_eq!(x["allowed"], true);
    assert_eq!(x["remaining_day"], 600);
    assert_eq!(x["remaining_month"], 4_600);
    let again = spend(&a, &secret, 400, "same").await;
    assert_eq!(again, x);
    assert_eq!(reserved(&a, key).await, (1, 400));
    // a refused answer is also the same on retry, and reserves nothing
    let big = spend(&a, &secret, 700, "big").await;
    assert_eq!(big["refusal"], "daily_cap");
    assert_eq!(spend(&a, &secret, 700, "big").await, big);
    assert_eq!(reserved(&a, key).await, (1, 400));
}

#[tokio::test]
async fn a_void_gives_the_amount_back_once() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("buyer").await;
    let key = app.key_id_of(&secret).await;
    cap(&app, key, Some(1_000), None).await;
    let first = spend(&app, &secret, 800, "o1").await;
    assert_eq!(spend(&app, &secret, 300, "o2").await["allowed"], false);
    let id = first["spend_id"].as_str().unwrap().to_owned();
    let void = |id: String| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}/api/v1/spend/{id}/void", app.address))
                .header(
                    "authorization",
                    format!("Bearer {}", app.settings.introspection_token.expose()),
                )
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..2 {
        let res = void(id.clone()).await;
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "voided");
    }
    assert_eq!(reserved(&app, key).await, (0, 0));
    assert_eq!(spend(&app, &secret, 1_000, "o3").await["allowed"], true);
    assert_eq!(void(Uuid::new_v4().to_string()).await.status(), 404);
    assert_eq!(void("not-an-id".into()).await.status(), 400);
    // only platform services may void
    let res = app
        .client
        .post(format!("{}/api/v1/spend/{id}/void", app.address))
        .header("authorization", format!("Bearer {secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn yesterdays_spends_leave_today_and_last_months_leave_this_month() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("buyer").await;
    let key = app.key_id_of(&secret).await;
    cap(&app, key, Some(1_000), Some(100_000)).await;
    assert_eq!(spend(&app, &secret, 1_000, "d1").await["allowed"], true);
    assert_eq!(spend(&app, &secret, 1, "d2").await["refusal"], "daily_cap");
    // the database's clock moves on: yesterday's spend counts for the month only
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE key_spends SET created_at = date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '1 second'
              WHERE key_id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(key),
        &mut app.conn().await,
    )
    .await
    .unwrap();
    let today = spend(&app, &secret, 1_000, "d3").await;
    assert_eq!(today["allowed"], true);
    let month = today["remaining_month"].as_i64().unwrap();
    assert!(
        month == 98_000 || month == 99_000,
        "{today}: yesterday may be last month on the 1st"
    );
}

#[tokio::test]
async fn a_refused_key_reserves_nothing_and_bad_input_records_nothing() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app
        .create_key_secret_with(&[("name", "claws"), ("scopes", "marketplace.take-claw-bid")])
        .await;
    let key = app.key_id_of(&secret).await;
    let x = spend(&app, &secret, 100, "s1").await;
    assert_eq!(
        (x["allowed"].clone(), x["refusal"].clone()),
        (false.into(), "scope_missing".into())
    );
    for (fields, says) in [
        (
            vec![("amount_cents", "5"), ("idempotency_key", "a")],
            "scope is required",
        ),
        (
            vec![("scope", "vm.buy.crypto"), ("idempotency_key", "a")],
            "amount_cents is required",
        ),
        (
            vec![
                ("scope", "vm.buy.crypto"),
                ("amount_cents", "0"),
                ("idempotency_key", "a"),
            ],
            "between 1 and",
        ),
        (
            vec![("scope", "vm.buy.crypto"), ("amount_cents", "5")],
            "idempotency_key is required",
        ),
    ] {
        let (status, body) = ask(&app, &secret, &fields).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error_description"].as_str().unwrap().contains(says),
            "{body}"
        );
    }
    assert_eq!(reserved(&app, key).await, (0, 0));
    // a revoked key is refused before anything is reserved
    let buyer = app.create_key_secret("buyer").await;
    let buyer_id = app.key_id_of(&buyer).await;
    let mut c = app.conn().await;
    keydesk::db::api_keys::revoke_for_account(&mut c, user.id, buyer_id, user.id, &origin())
        .await
        .unwrap();
    let x = spend(&app, &buyer, 100, "s2").await;
    assert_eq!(
        x,
        serde_json::json!({ "allowed": false, "refusal": "revoked" })
    );
    assert_eq!(reserved(&app, buyer_id).await, (0, 0));
}

async fn save_caps(app: &TestApp, key: Uuid, day: &str, month: &str, password: &str) -> u16 {
    let token = app.csrf().await;
    app.post_form(
        &format!("/settings/api-keys/{key}/caps"),
        &[
            ("csrf_token", &token),
            ("day", day),
            ("month", month),
            ("password", password),
        ],
    )
    .await
    .status()
    .as_u16()
}

#[tokio::test]
async fn the_owner_sets_caps_on_the_page_and_raising_needs_the_password() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("buyer").await;
    let key = app.key_id_of(&secret).await;
    assert_eq!(save_caps(&app, key, "5.00", "", "").await, 303);
    assert_eq!(spend(&app, &secret, 400, "a").await["allowed"], true);
    assert_eq!(spend(&app, &secret, 101, "b").await["refusal"], "daily_cap");
    let (status, html) = app
        .get_html(&format!("/settings/api-keys/{key}/caps"))
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("$4.00 of $5.00"),
        "spent today against the cap"
    );
    assert!(html.contains("Vending machine 12, two colas") && html.contains("refused"));
    // bad amounts: 422 with the input kept
    assert_eq!(save_caps(&app, key, "five", "", "").await, 422);
    // raising or removing without a recent password changes nothing
    app.age_password_entry(3_600).await;
    assert_eq!(save_caps(&app, key, "50", "", "").await, 422);
    assert_eq!(save_caps(&app, key, "", "", "").await, 422);
    assert_eq!(spend(&app, &secret, 101, "c").await["refusal"], "daily_cap");
    // lowering needs none; the password lets a raise through
    assert_eq!(save_caps(&app, key, "4.50", "100", "").await, 303);
    assert_eq!(save_caps(&app, key, "20", "100", &user.password).await, 303);
    assert_eq!(spend(&app, &secret, 101, "d").await["allowed"], true);
    assert_eq!(app.events(user.id, "key.spend_caps_changed").await.len(), 3);
    // another account's key is a 404
    app.eligible_user_logged_in().await;
    let (status, _) = app
        .get_html(&format!("/settings/api-keys/{key}/caps"))
        .await;
    assert_eq!(status, 404);
    assert_eq!(save_caps(&app, key, "1", "", "").await, 404);
}
