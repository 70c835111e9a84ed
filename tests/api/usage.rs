//! Usage (issue #13): every verification of a known key is counted per hour and outcome with
//! its client address, flushed in batches, summed across instances, shown on the key's page.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::helpers::*;
use keydesk::db::schema::{api_keys, key_client_ips, key_usage_hourly};

/// The number in the cell with this id on a page.
fn cell(html: &str, id: &str) -> i64 {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no cell {id}")) + marker.len();
    html[start..start + html[start..].find('<').unwrap()]
        .trim()
        .parse()
        .unwrap()
}

/// Column sums (accepted, revoked, expired, paused) of a chart's table.
fn table_sums(html: &str, table: &str) -> [i64; 2] {
    let start = html.find(&format!("id=\"{table}\"")).unwrap();
    let end = start + html[start..].find("</table>").unwrap();
    let mut sums = [0; 2];
    for (i, part) in html[start..end]
        .split("<td class=\"num\">")
        .skip(1)
        .enumerate()
    {
        let n: i64 = part[..part.find('<').unwrap()].parse().unwrap();
        sums[i % 2] += n;
    }
    sums
}

/// Polls the detail page until `cell` reads `want` (counts arrive within one flush).
async fn detail_when(app: &TestApp, id: uuid::Uuid, cell_id: &str, want: i64) -> String {
    for _ in 0..50 {
        let (status, html) = app.get_html(&format!("/settings/api-keys/{id}")).await;
        assert_eq!(status, 200);
        if cell(&html, cell_id) == want {
            return html;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{cell_id} never reached {want}");
}

#[tokio::test]
async fn accepted_and_refused_requests_are_counted_by_outcome_on_the_detail_page() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("meter").await;
    let id = app.key_id_of(&secret).await;
    for _ in 0..3 {
        assert_eq!(
            app.me(Some(&format!("Bearer {secret}"))).await.status(),
            200
        );
    }
    let mut c = app.conn().await;
    keydesk::db::api_keys::revoke_for_account(&mut c, user.id, id, user.id, &origin())
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(
            app.me(Some(&format!("Bearer {secret}"))).await.status(),
            401
        );
    }
    // an unknown key is nobody's usage
    let other = keydesk::domain::PlainKey::generate();
    app.me(Some(&format!("Bearer {}", other.expose()))).await;

    let html = detail_when(&app, id, "usage-24h-total", 5).await;
    assert_eq!(cell(&html, "usage-24h-ok"), 3);
    assert_eq!(cell(&html, "usage-24h-revoked"), 2);
    assert_eq!(cell(&html, "usage-24h-expired"), 0);
    assert_eq!(cell(&html, "usage-7d-total"), 5);
    assert_eq!(cell(&html, "usage-30d-total"), 5);
    // the charts' tables hold the same numbers as the summary
    assert_eq!(table_sums(&html, "table-hourly"), [3, 2]);
    assert_eq!(table_sums(&html, "table-daily"), [3, 2]);
    assert!(html.contains("<svg"), "a server-rendered chart");
    assert!(html.contains("127.0.0.1"), "the client address is listed");
    assert!(
        html.contains("Revoked key “meter”"),
        "the key's own history"
    );
    // the list's 24-hour column counts every request that matched the key
    let (_, list) = app.get_html("/settings/api-keys?show=all").await;
    assert!(list.contains(&format!("href=\"/settings/api-keys/{id}\"")));
    assert!(list.contains("<td class=\"num\">5</td>"));
}

#[tokio::test]
async fn two_instances_on_one_database_sum_their_counts() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("shared").await;
    let id = app.key_id_of(&secret).await;
    let db2 = TestDb {
        name: app.db.name.clone(),
    };
    let app2 = spawn_on(db2, app.settings.clone()).await;
    for _ in 0..4 {
        assert_eq!(
            app.me(Some(&format!("Bearer {secret}"))).await.status(),
            200
        );
        assert_eq!(
            app2.me(Some(&format!("Bearer {secret}"))).await.status(),
            200
        );
    }
    app.usage.flush_now().await;
    app2.usage.flush_now().await;
    detail_when(&app, id, "usage-24h-ok", 8).await;
    let mut c = app.conn().await;
    let n: i64 = key_client_ips::table
        .filter(key_client_ips::key_id.eq(id))
        .select(key_client_ips::requests)
        .first(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 8, "one address, both instances' requests");
    std::mem::forget(app2); // shares app's database; app drops it
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy_and_introspection_names_its_client()
{
    for trusted in [false, true] {
        let db = TestDb::new().await;
        let app = spawn_app_with(db, |s| {
            if trusted {
                s.trusted_proxies = keydesk::config::parse_proxies("127.0.0.1/32").unwrap();
            }
        })
        .await;
        app.eligible_user_logged_in().await;
        let secret = app.create_key_secret("fwd").await;
        let id = app.key_id_of(&secret).await;
        app.client
            .get(format!("{}/api/v1/me", app.address))
            .header("authorization", format!("Bearer {secret}"))
            .header("x-forwarded-for", "198.51.100.23")
            .header("user-agent", "fwd-test/1.0")
            .send()
            .await
            .unwrap();
        app.client
            .post(format!("{}/api/v1/introspect", app.address))
            .header(
                "authorization",
                format!("Bearer {}", app.settings.introspection_token.expose()),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "token={secret}&client_ip=2001:db8::7&user_agent=buyer-bot%2F2"
            ))
            .send()
            .await
            .unwrap();
        app.usage.flush_now().await;
        app.last_used.flush_now().await;
        let mut c = app.conn().await;
        let mut ips: Vec<String> = key_client_ips::table
            .filter(key_client_ips::key_id.eq(id))
            .select(key_client_ips::client_ip)
            .load(&mut c)
            .await
            .unwrap();
        ips.sort();
        let want = if trusted {
            vec!["198.51.100.23", "2001:db8::7"]
        } else {
            vec!["127.0.0.1", "2001:db8::7"]
        };
        assert_eq!(ips, want, "trusted proxy: {trusted}");
        let ua: Option<String> = api_keys::table
            .find(id)
            .select(api_keys::last_user_agent)
            .first(&mut c)
            .await
            .unwrap();
        assert!(
            matches!(ua.as_deref(), Some("buyer-bot/2") | Some("fwd-test/1.0")),
            "{ua:?}"
        );
    }
}

#[tokio::test]
async fn another_accounts_key_page_is_the_same_404_as_a_missing_one() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("mine").await;
    let id = app.key_id_of(&secret).await;
    app.eligible_user_logged_in().await; // someone else
    let (theirs, _) = app.get_html(&format!("/settings/api-keys/{id}")).await;
    let (missing, _) = app
        .get_html(&format!("/settings/api-keys/{}", uuid::Uuid::new_v4()))
        .await;
    let (garbage, _) = app.get_html("/settings/api-keys/not-a-uuid").await;
    assert_eq!((theirs, missing, garbage), (404, 404, 404));
    let (new_form, _) = app.get_html("/settings/api-keys/new").await;
    assert_eq!(new_form, 200, "the create page is not a key id");
}

#[tokio::test]
async fn usage_older_than_ninety_days_is_pruned_and_a_deleted_key_takes_its_usage_along() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("old").await;
    let id = app.key_id_of(&secret).await;
    let mut c = app.conn().await;
    diesel::sql_query(format!(
        "INSERT INTO key_usage_hourly (key_id, hour, outcome, requests) VALUES
           ('{id}', date_trunc('hour', now()) - interval '91 days', 'ok', 7),
           ('{id}', date_trunc('hour', now()) - interval '89 days', 'ok', 5)"
    ))
    .execute(&mut c)
    .await
    .unwrap();
    let pruned = keydesk::db::prune::run_once(&mut c, 900).await.unwrap();
    assert_eq!(pruned.usage, 1);
    let left: Vec<i64> = key_usage_hourly::table
        .filter(key_usage_hourly::key_id.eq(id))
        .select(key_usage_hourly::requests)
        .load(&mut c)
        .await
        .unwrap();
    assert_eq!(left, vec![5]);
    keydesk::db::api_keys::revoke_for_account(&mut c, user.id, id, user.id, &origin())
        .await
        .unwrap();
    keydesk::db::api_keys::delete_for_account(&mut c, user.id, id, &origin())
        .await
        .unwrap();
    let rows: i64 = key_usage_hourly::table
        .count()
        .get_result(&mut c)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn flush_now_waits_for_a_flush_already_under_way() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("race").await;
    let id = app.key_id_of(&secret).await;
    let bearer = format!("Bearer {secret}");
    assert_eq!(app.me(Some(&bearer)).await.status(), 200);
    assert!(app.usage.pending() > 0);

    // Another session holds the usage table, so the first flush stalls in the middle of its
    // write, its counts already taken out of the buffer.
    let mut blocker = app.conn().await;
    diesel::sql_query("BEGIN")
        .execute(&mut blocker)
        .await
        .unwrap();
    diesel::sql_query("LOCK TABLE key_usage_hourly IN EXCLUSIVE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let usage = app.usage.clone();
    let first = tokio::spawn(async move { usage.flush_now().await });
    while app.usage.pending() > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let usage = app.usage.clone();
    let second = tokio::spawn(async move { usage.flush_now().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "flush_now returned while the counts were still being written"
    );
    diesel::sql_query("COMMIT")
        .execute(&mut blocker)
        .await
        .unwrap();
    second.await.unwrap();
    let mut c = app.conn().await;
    let written: Vec<i64> = key_usage_hourly::table
        .filter(key_usage_hourly::key_id.eq(id))
        .select(key_usage_hourly::requests)
        .load(&mut c)
        .await
        .unwrap();
    assert_eq!(
        written,
        vec![1],
        "the count is in the database when flush_now returns"
    );
    first.await.unwrap();
}
