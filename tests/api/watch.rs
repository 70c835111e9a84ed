//! Watching a key's life (issue #30, SPEC §15): exports of usage and the audit trail (owner
//! and support), and a revoked key's receipt.

use std::io::Write;
use std::process::{Command, Stdio};

use chrono::{Duration, NaiveDate, Utc};
use diesel::sql_types::BigInt;
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use keydesk::domain::Role;
use uuid::Uuid;

use crate::helpers::*;

/// A key name that needs every kind of CSV quoting.
const AWKWARD: &str = "ops, \"night\"\nbot";
/// A key name a spreadsheet would run as a formula.
const FORMULA: &str = "=1+2";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn exec(app: &TestApp, sql: &str) {
    let mut c = app.conn().await;
    sql_query(sql).execute(&mut c).await.unwrap();
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let mut c = app.conn().await;
    sql_query(sql).get_result::<Count>(&mut c).await.unwrap().n
}

/// The exported days: two weeks ending six days ago (clear of today, of midnight, of pruning).
fn range() -> (NaiveDate, NaiveDate) {
    let today = Utc::now().date_naive();
    (today - Duration::days(20), today - Duration::days(6))
}

/// Records Python's `csv` module reads from `body`, as `[[field, …], …]`.
fn python_csv(body: &str) -> Vec<Vec<String>> {
    let run = |script: &str| {
        let mut child = Command::new("/usr/bin/python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let n: usize = run("import csv,sys; rows=list(csv.reader(sys.stdin)); print(len(rows))")
        .trim()
        .parse()
        .unwrap();
    let rows: Vec<Vec<String>> = serde_json::from_str(&run(
        "import csv,sys,json; print(json.dumps(list(csv.reader(sys.stdin, strict=True))))",
    ))
    .unwrap();
    assert_eq!(rows.len(), n);
    rows
}

async fn download(app: &TestApp, path: &str) -> (u16, String, String, String) {
    let res = app.get(path).await;
    let status = res.status().as_u16();
    let header = |n: &str| {
        res.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (disposition, content_type) = (header("content-disposition"), header("content-type"));
    (status, disposition, content_type, res.text().await.unwrap())
}

/// Two accounts with keys: `ana` (logged in at the end) with keys named `AWKWARD` and
/// `FORMULA`, and `other` with one key. Returns (ana, other, ana's keys, other's key).
async fn two_accounts(app: &TestApp) -> (TestUser, TestUser, [Uuid; 2], Uuid) {
    let other = app.eligible_user_logged_in().await;
    let other_key = app
        .key_id_of(&app.create_key_secret("other-bot").await)
        .await;
    let ana = app.eligible_user_logged_in().await;
    let k1 = app.key_id_of(&app.create_key_secret("k1").await).await;
    let k2 = app.key_id_of(&app.create_key_secret("k2").await).await;
    let mut c = app.conn().await;
    for (id, name) in [(k1, AWKWARD), (k2, FORMULA)] {
        sql_query("UPDATE api_keys SET name = $1 WHERE id = $2")
            .bind::<diesel::sql_types::Text, _>(name)
            .bind::<diesel::sql_types::Uuid, _>(id)
            .execute(&mut c)
            .await
            .unwrap();
    }
    (ana, other, [k1, k2], other_key)
}

#[tokio::test]
async fn usage_export_has_every_row_of_the_range_and_nothing_else_in_csv_and_json() {
    let app = spawn_app().await;
    let (ana, _, [k1, k2], other_key) = two_accounts(&app).await;
    let (from, to) = range();
    let (start, end) = (
        format!("{from} 00:00+00"),
        format!("{} 00:00+00", to + Duration::days(1)),
    );
    // every hour of the range: k1 with two outcomes, k2 with one (over 1,000 rows: several pages)
    exec(&app, &format!(
        "INSERT INTO key_usage_hourly (key_id, hour, outcome, requests)
         SELECT k, h, o, 1 + extract(hour FROM h)::int8
           FROM generate_series('{start}'::timestamptz, '{end}'::timestamptz - interval '1 hour', interval '1 hour') h,
                (VALUES ('{k1}'::uuid, 'ok'), ('{k1}'::uuid, 'revoked'), ('{k2}'::uuid, 'ok')) AS v(k, o)"
    )).await;
    // just outside, on both sides, and another account's inside
    exec(
        &app,
        &format!(
            "INSERT INTO key_usage_hourly (key_id, hour, outcome, requests) VALUES
           ('{k1}', '{start}'::timestamptz - interval '1 hour', 'ok', 1000),
           ('{k2}', '{end}'::timestamptz, 'ok', 1000),
           ('{k1}', '{start}'::timestamptz - interval '30 days', 'expired', 1000),
           ('{other_key}', '{start}'::timestamptz + interval '5 hours', 'ok', 1000)"
        ),
    )
    .await;
    let expected = count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM key_usage_hourly u JOIN api_keys k ON k.id = u.key_id
          WHERE k.account_id = '{}' AND u.hour >= '{start}' AND u.hour < '{end}'",
            ana.id
        ),
    )
    .await;
    assert_eq!(expected, 15 * 24 * 3);

    let local = ana.email.split('@').next().unwrap();
    let path = format!("/settings/api-keys/export?what=usage&format=csv&from={from}&to={to}");
    let (status, disposition, content_type, body) = download(&app, &path).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert_eq!(
        disposition,
        format!("attachment; filename=\"keydesk-usage-{local}-{from}-{to}.csv\"")
    );
    let rows = python_csv(&body);
    assert_eq!(rows.len() as i64, expected + 1, "a header and every row");
    assert_eq!(
        rows[0],
        ["hour", "key_id", "key_name", "key", "outcome", "requests"]
    );
    assert!(rows[1..].iter().all(|r| r.len() == 6));
    let names: std::collections::BTreeSet<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
    let guarded = format!("'{FORMULA}");
    assert_eq!(
        names,
        [AWKWARD, guarded.as_str()].into_iter().collect(),
        "quoted, and the formula defused"
    );
    assert!(!body.contains(&other_key.to_string()) && !body.contains("other-bot"));
    let sum: i64 = rows[1..].iter().map(|r| r[5].parse::<i64>().unwrap()).sum();
    assert_eq!(sum, 15 * 3 * 300, "each hour h counts 1 + h, three series");
    assert_eq!(
        rows[1][0],
        format!("{from}T00:00:00Z"),
        "oldest first, in UTC"
    );

    let path = format!("/settings/api-keys/export?what=usage&format=json&from={from}&to={to}");
    let (status, disposition, content_type, body) = download(&app, &path).await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert!(disposition.ends_with(&format!("keydesk-usage-{local}-{from}-{to}.json\"")));
    let json: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(json.len() as i64, expected);
    assert!(
        json.iter()
            .all(|r| r["key_id"] == k1.to_string() || r["key_id"] == k2.to_string())
    );
    assert!(json.iter().any(|r| r["key_name"] == AWKWARD));
    assert!(
        json.iter().any(|r| r["key_name"] == FORMULA),
        "JSON is data: no apostrophe"
    );
    assert!(!body.contains("hash") && !body.contains("\\\\x"), "no hash");

    // streamed: sent in chunks as the pages are read, with no length known up front
    let res = app.get(&path).await;
    assert!(res.headers().get("content-length").is_none());
    assert_eq!(res.headers()["transfer-encoding"], "chunked");

    // an empty range is a header (CSV) or an empty array (JSON)
    let day = to - Duration::days(40);
    let (_, _, _, body) = download(
        &app,
        &format!("/settings/api-keys/export?what=usage&format=json&from={day}&to={day}"),
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Vec<serde_json::Value>>(&body)
            .unwrap()
            .len(),
        0
    );
    let (_, _, _, body) = download(
        &app,
        &format!("/settings/api-keys/export?what=usage&from={day}&to={day}"),
    )
    .await;
    assert_eq!(python_csv(&body).len(), 1);
}

/// Audit events of `account`: `n` at one instant (ties broken by id across pages).
async fn events_at(app: &TestApp, account: Uuid, action: &str, at: &str, n: i64, ua: &str) {
    exec(
        app,
        &format!(
        "INSERT INTO audit_events (account_id, actor_id, action, detail, ip, user_agent, created_at)
         SELECT '{account}', '{account}', '{action}', jsonb_build_object('name', 'bot-' || g),
                '203.0.113.7', '{ua}', '{at}'
           FROM generate_series(1, {n}) g"
    ),
    )
    .await;
}

#[tokio::test]
async fn audit_export_has_the_accounts_events_of_the_range_without_staff_events() {
    let app = spawn_app().await;
    let (ana, other, _, _) = two_accounts(&app).await;
    let (from, to) = range();
    let start = format!("{from} 00:00+00");
    let mid = format!("{from} 12:00+00");
    events_at(&app, ana.id, "key.renamed", &mid, 1_500, "curl/8").await;
    events_at(
        &app,
        ana.id,
        "key.revoked",
        &format!("{to} 23:59:59+00"),
        3,
        "=HYPERLINK(\"http://x\",\"y\")",
    )
    .await;
    events_at(&app, ana.id, "support.viewed", &mid, 2, "staff-browser").await;
    events_at(
        &app,
        ana.id,
        "key.renamed",
        &format!("{} 00:00+00", to + Duration::days(1)),
        4,
        "after-the-range",
    )
    .await;
    events_at(&app, ana.id, "key.renamed", &start, 1, "first").await;
    events_at(
        &app,
        other.id,
        "key.renamed",
        &mid,
        5,
        "other-account-agent",
    )
    .await;
    let expected = 1_500 + 3 + 1;
    assert_eq!(
        count(&app, &format!(
            "SELECT count(*) AS n FROM audit_events WHERE account_id = '{}' AND created_at >= '{start}'
               AND created_at < '{} 00:00+00' AND action NOT LIKE 'support.%'", ana.id, to + Duration::days(1)
        )).await,
        expected
    );

    let local = ana.email.split('@').next().unwrap();
    let path = format!("/settings/api-keys/export?what=audit&format=csv&from={from}&to={to}");
    let (status, disposition, _, body) = download(&app, &path).await;
    assert_eq!(status, 200);
    assert_eq!(
        disposition,
        format!("attachment; filename=\"keydesk-audit-{local}-{from}-{to}.csv\"")
    );
    let rows = python_csv(&body);
    assert_eq!(rows.len() as i64, expected + 1);
    assert_eq!(rows[0][..4], ["time", "id", "action", "description"]);
    let ids: std::collections::HashSet<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(ids.len() as i64, expected, "no row twice across pages");
    assert!(
        rows[1..]
            .iter()
            .any(|r| r[7] == "'=HYPERLINK(\"http://x\",\"y\")")
    );
    assert!(
        rows[1..].iter().all(|r| r[4] == ana.email),
        "the actor by e-mail"
    );
    assert!(!body.contains("staff-browser") && !body.contains("support.viewed"));
    assert!(!body.contains("other-account-agent") && !body.contains("after-the-range"));

    let path = format!("/settings/api-keys/export?what=audit&format=json&from={from}&to={to}");
    let (status, _, _, body) = download(&app, &path).await;
    assert_eq!(status, 200);
    let json: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(json.len() as i64, expected);
    assert_eq!(json[0]["user_agent"], "first");
    assert!(
        json.iter()
            .any(|e| e["description"] == "Renamed key to “bot-7”")
    );
    assert!(!body.contains("other-account-agent"));
}

#[tokio::test]
async fn wrong_export_parameters_answer_422_naming_the_problem_with_the_input_kept() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let today = Utc::now().date_naive();
    let (status, page) = app.get_html("/settings/api-keys/export").await;
    assert_eq!(
        status, 200,
        "no query: the form, the last 30 days filled in"
    );
    assert!(page.contains(&format!("value=\"{}\"", today - Duration::days(29))));
    let ninety = today - Duration::days(89);
    let ninety_one = today - Duration::days(90);
    for (query, says) in [
        (
            format!("what=usage&from={ninety_one}&to={today}"),
            "That is 91 days",
        ),
        (
            format!("what=audit&from={today}&to={}", today - Duration::days(1)),
            "before the start date",
        ),
        ("what=usage&format=xml".to_owned(), "Choose a format"),
        ("what=keys&format=csv".to_owned(), "Choose what to export"),
        ("what=usage&from=12%2F01%2F2026".to_owned(), "as YYYY-MM-DD"),
        ("what=usage&from=%2B20000-01-01".to_owned(), "as YYYY-MM-DD"),
    ] {
        let (status, page) = app
            .get_html(&format!("/settings/api-keys/export?{query}"))
            .await;
        assert_eq!(status, 422, "{query}");
        assert!(page.contains(says), "{query}: {says}");
        assert!(page.contains("role=\"alert\""));
    }
    let (_, page) = app
        .get_html(&format!(
            "/settings/api-keys/export?what=usage&from={ninety_one}&to={today}"
        ))
        .await;
    assert!(
        page.contains(&format!("value=\"{ninety_one}\"")),
        "the input kept"
    );
    let long = "9".repeat(5_000);
    let (status, _) = app
        .get_html(&format!("/settings/api-keys/export?what=usage&from={long}"))
        .await;
    assert_eq!(status, 422);
    let (status, _, _, _) = download(
        &app,
        &format!("/settings/api-keys/export?what=usage&from={ninety}&to={today}"),
    )
    .await;
    assert_eq!(status, 200, "90 days are fine");
    // the keys page links to the form
    let (_, page) = app.get_html("/settings/api-keys").await;
    assert!(page.contains("href=\"/settings/api-keys/export\""));
    // signed out: to the login page
    app.set_cookie(None);
    let res = app.get("/settings/api-keys/export?what=usage").await;
    assert_redirects_to(&res, "/login");
}

#[tokio::test]
async fn support_exports_an_account_and_each_export_is_audited_while_members_get_404() {
    let app = spawn_app().await;
    let (ana, _, [k1, _], _) = two_accounts(&app).await;
    let (from, to) = range();
    exec(
        &app,
        &format!(
            "INSERT INTO key_usage_hourly (key_id, hour, outcome, requests)
         VALUES ('{k1}', '{from} 05:00+00', 'ok', 3), ('{k1}', '{to} 05:00+00', 'paused', 2)"
        ),
    )
    .await;
    events_at(
        &app,
        ana.id,
        "support.viewed",
        &format!("{from} 12:00+00"),
        2,
        "staff-browser",
    )
    .await;
    events_at(
        &app,
        ana.id,
        "key.renamed",
        &format!("{from} 12:00+00"),
        3,
        "curl/8",
    )
    .await;
    let query = format!("what=usage&format=json&from={from}&to={to}");
    let path = format!("/support/accounts/{}/export?{query}", ana.id);
    // a member (ana herself included) never reaches it
    assert_eq!(app.get(&path).await.status(), 404);
    assert_eq!(
        app.get(&format!("/support/accounts/{}/export", ana.id))
            .await
            .status(),
        404
    );
    assert!(app.events(ana.id, "support.exported").await.is_empty());

    let staff = app
        .create_user("staff@example.com", Role::Support, false, &[])
        .await;
    assert_eq!(app.login(&staff.email, &staff.password).await.status(), 303);
    let (_, page) = app.get_html(&format!("/support/accounts/{}", ana.id)).await;
    assert!(page.contains(&format!(
        "/support/accounts/{}/export?what=audit&amp;format=csv",
        ana.id
    )));
    let (status, page) = app
        .get_html(&format!("/support/accounts/{}/export", ana.id))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains(&ana.email));
    let (status, _) = app
        .get_html(&format!(
            "/support/accounts/{}/export?what=usage&from={}&to={to}",
            ana.id,
            to - Duration::days(90)
        ))
        .await;
    assert_eq!(status, 422);
    assert!(
        app.events(ana.id, "support.exported").await.is_empty(),
        "a refused export is not one"
    );
    assert_eq!(
        app.get(&format!(
            "/support/accounts/{}/export?what=usage",
            Uuid::new_v4()
        ))
        .await
        .status(),
        404
    );

    let local = ana.email.split('@').next().unwrap();
    let (status, disposition, _, body) = download(&app, &path).await;
    assert_eq!(status, 200);
    assert!(disposition.contains(&format!("keydesk-usage-{local}-{from}-{to}.json")));
    let json: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(json.len(), 2);
    assert_eq!(json[1]["outcome"], "paused");
    let (status, _, _, body) = download(
        &app,
        &format!(
            "/support/accounts/{}/export?what=audit&format=csv&from={from}&to={to}",
            ana.id
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        python_csv(&body).len(),
        1 + 2 + 3,
        "support sees staff events too"
    );

    let exports = app.events(ana.id, "support.exported").await;
    assert_eq!(exports.len(), 2);
    assert_eq!(exports[0].actor_id, Some(staff.id));
    assert_eq!(exports[0].detail["what"], "usage");
    assert_eq!(exports[0].detail["format"], "json");
    assert_eq!(exports[0].detail["from"], from.to_string());
    assert_eq!(exports[1].detail["what"], "audit");
    // the owner's own export leaves support's events out
    app.login(&ana.email, &ana.password).await;
    let (_, _, _, body) = download(
        &app,
        &format!(
            "/settings/api-keys/export?what=audit&format=json&from={from}&to={}",
            Utc::now().date_naive()
        ),
    )
    .await;
    assert!(!body.contains("support.exported") && !body.contains("staff@example.com"));
}

async fn behind_proxy() -> TestApp {
    spawn_app_with(TestDb::new().await, |s| {
        s.trusted_proxies = keydesk::config::parse_proxies("127.0.0.1/32").unwrap();
    })
    .await
}

/// `GET /api/v1/me` with `secret` from `ip` (through the trusted proxy); the status.
async fn me_from(app: &TestApp, secret: &str, ip: &str, agent: &str) -> u16 {
    app.client
        .get(format!("{}/api/v1/me", app.address))
        .header("authorization", format!("Bearer {secret}"))
        .header("x-forwarded-for", ip)
        .header("user-agent", agent)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The `<section>` (or `<table>`) with this id, up to its end.
fn part<'a>(html: &'a str, id: &str, end: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id}"));
    &html[start..start + html[start..].find(end).unwrap()]
}

/// The refused count in the receipt's row of `ip`.
fn receipt_refused(html: &str, ip: &str) -> i64 {
    let table = part(html, "receipt-addresses", "</table>");
    let row = &table[table
        .find(&format!("data-ip=\"{ip}\""))
        .unwrap_or_else(|| panic!("{ip} not in the receipt"))..];
    let row = &row[..row.find("</tr>").unwrap()];
    let cell = &row[row.find("<td class=\"num\">").unwrap() + 16..];
    cell[..cell.find('<').unwrap()].parse().unwrap()
}

#[tokio::test]
async fn a_revoked_keys_receipt_counts_the_refusals_since_by_address_and_never_calls_them_use() {
    let app = behind_proxy().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("receipt-bot").await;
    let id = app.key_id_of(&secret).await;
    let (known, stranger) = ("203.0.113.7", "45.83.0.9");
    for _ in 0..3 {
        assert_eq!(me_from(&app, &secret, known, "bot/1.4").await, 200);
    }
    app.usage.flush_now().await;
    app.last_used.flush_now().await;
    let (_, page) = app.get_html(&format!("/settings/api-keys/{id}")).await;
    assert!(
        !page.contains("id=\"receipt\""),
        "no receipt while it works"
    );

    let token = app.csrf().await;
    let res = app
        .post_form(
            &format!("/settings/api-keys/{id}/revoke"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (from_known, from_stranger) = (4, 7);
    for _ in 0..from_known {
        assert_eq!(me_from(&app, &secret, known, "bot/1.4").await, 401);
    }
    for _ in 0..from_stranger {
        assert_eq!(me_from(&app, &secret, stranger, "curl/8.5").await, 401);
    }
    app.usage.flush_now().await;
    app.last_used.flush_now().await;

    let (status, page) = app.get_html(&format!("/settings/api-keys/{id}")).await;
    assert_eq!(status, 200);
    let receipt = part(&page, "receipt", "</section>");
    assert!(part(receipt, "receipt-stop-1", "</dd>").contains("Revoked by you"));
    assert!(part(receipt, "receipt-last-accepted", "</dd>").contains(known));
    let since = part(receipt, "receipt-refused-since", "</span>");
    assert_eq!(
        since,
        format!(
            "id=\"receipt-refused-since\">{}",
            from_known + from_stranger
        )
    );
    assert_eq!(receipt_refused(&page, known), from_known);
    assert_eq!(receipt_refused(&page, stranger), from_stranger);
    let table = part(&page, "receipt-addresses", "</table>");
    let stranger_row = &table[table.find(&format!("data-ip=\"{stranger}\"")).unwrap()..];
    assert!(stranger_row[..stranger_row.find("</tr>").unwrap()].contains("new since it stopped"));
    assert!(stranger_row.contains("curl/8.5"));
    let known_row = &table[table.find(&format!("data-ip=\"{known}\"")).unwrap()..];
    assert!(known_row[..known_row.find("</tr>").unwrap()].contains("seen after it stopped"));
    assert!(receipt.contains("from 2 addresses"));

    // "used from" lists only the address that was ever accepted
    let used_from = part(&page, "ips-title", "</section>");
    assert!(used_from.contains(&format!("data-ip=\"{known}\"")));
    assert!(
        !used_from.contains(stranger),
        "a refused-only address is not where it's used from"
    );
}

#[tokio::test]
async fn the_receipt_names_who_stopped_the_key() {
    let app = behind_proxy().await;
    let user = app.eligible_user_logged_in().await;
    let reason_of = async |sql: &str| {
        let secret = app
            .create_key_secret(&format!("k-{}", Uuid::new_v4().simple()))
            .await;
        let id = app.key_id_of(&secret).await;
        if sql.is_empty() {
            let res = app
                .client
                .post(format!("{}/api/v1/keys/revoke", app.address))
                .json(&serde_json::json!({ "keys": [secret] }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 202);
        } else {
            exec(
                &app,
                &sql.replace("$id", &id.to_string())
                    .replace("$me", &user.id.to_string()),
            )
            .await;
        }
        let (status, page) = app.get_html(&format!("/settings/api-keys/{id}")).await;
        assert_eq!(status, 200);
        part(&page, "receipt-stop-1", "</dd>").to_owned()
    };
    assert!(reason_of("").await.contains("someone holding the secret"));
    assert!(
        reason_of(
            "UPDATE api_keys SET revoked_at = now(), revoked_reason = 'exposed' WHERE id = '$id'"
        )
        .await
        .contains("an exposure report")
    );
    assert!(reason_of(
        "UPDATE api_keys SET rolled_at = now(), revoked_at = now(), revoked_by = '$me' WHERE id = '$id'"
    )
    .await
    .contains("by a roll"));
    assert!(
        reason_of("UPDATE api_keys SET expires_at = now() - interval '1 hour' WHERE id = '$id'")
            .await
            .contains("reached its expiry date")
    );
    assert!(reason_of(
        "UPDATE api_keys SET rolled_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' WHERE id = '$id'"
    )
    .await
    .contains("Expired at the end of its roll"));
}

#[tokio::test]
async fn an_address_refused_every_time_on_a_working_key_is_listed_apart_from_use() {
    let app = behind_proxy().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("paused-bot").await;
    let id = app.key_id_of(&secret).await;
    assert_eq!(me_from(&app, &secret, "198.51.100.20", "bot/1").await, 200);
    exec(
        &app,
        &format!("UPDATE api_keys SET paused_at = now() WHERE id = '{id}'"),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(
            me_from(&app, &secret, "198.51.100.99", "probe/1").await,
            401
        );
    }
    app.usage.flush_now().await;
    let (_, page) = app.get_html(&format!("/settings/api-keys/{id}")).await;
    assert!(!page.contains("id=\"receipt\""), "paused is not stopped");
    let used_from = part(&page, "ips-title", "refused-only-title");
    assert!(used_from.contains("198.51.100.20") && !used_from.contains("198.51.100.99"));
    let apart = part(&page, "refused-only", "</table>");
    assert!(apart.contains("data-ip=\"198.51.100.99\""));
    assert!(apart.contains("<td class=\"num\">2</td>"));
}

#[tokio::test]
async fn the_export_form_and_a_receipt_are_accessible_and_fit_at_1280_and_390() {
    use crate::e2e::{axe_violations, base_of, browser, browser_login, scrolls_sideways};
    let Some(b) = browser(true).await else { return };
    let app = behind_proxy().await;
    let base = base_of(&app);
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("receipt-bot").await;
    let id = app.key_id_of(&secret).await;
    assert_eq!(me_from(&app, &secret, "203.0.113.7", "bot/1.4").await, 200);
    app.last_used.flush_now().await;
    exec(
        &app,
        &format!(
            "UPDATE api_keys SET revoked_at = now(), revoked_by = '{}' WHERE id = '{id}'",
            user.id
        ),
    )
    .await;
    for ip in [
        "203.0.113.7",
        "45.83.0.9",
        "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
    ] {
        let agent = "a-very-long-user-agent/1.0 (".to_owned() + &"x".repeat(120) + ")";
        assert_eq!(me_from(&app, &secret, ip, &agent).await, 401);
    }
    app.usage.flush_now().await;
    browser_login(&b, &base, &user).await;
    let today = Utc::now().date_naive();
    for path in [
        "/settings/api-keys/export".to_owned(),
        format!(
            "/settings/api-keys/export?what=x&format=y&from={today}&to={}",
            today - Duration::days(1)
        ),
        format!("/settings/api-keys/{id}"),
    ] {
        for (w, h) in [(1280, 900), (390, 844)] {
            b.set_window_size(w, h).await.unwrap();
            b.goto(&format!("{base}{path}")).await.unwrap();
            let v = axe_violations(&b).await;
            assert!(v.is_empty(), "{path} at {w}px: {v:?}");
            assert!(
                !scrolls_sideways(&b).await,
                "{path} at {w}px scrolls sideways"
            );
        }
    }
    b.close().await;
}
