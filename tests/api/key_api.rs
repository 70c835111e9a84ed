//! The key-authenticated API: error codes, garbage headers, immediate revocation and expiry,
//! last-used, introspection, and two instances on one database.

use std::time::Duration;

use crate::helpers::*;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keydesk::db::schema::api_keys;
use keydesk::domain::PlainKey;

async fn error_code(res: reqwest::Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let www = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body: serde_json::Value = res.json().await.unwrap();
    (
        status,
        body["error_code"].as_str().unwrap_or_default().to_owned(),
        www,
    )
}

#[tokio::test]
async fn a_valid_key_identifies_its_account_and_key() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("bot").await;
    let res = app.me(Some(&format!("Bearer {secret}"))).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["account_id"], user.id.to_string());
    assert_eq!(body["key"]["name"], "bot");
    assert_eq!(body["key"]["prefix"], &secret[..12]);
    assert_eq!(body["key"]["scopes"], serde_json::json!(["vm.buy.crypto"]));
    assert!(!body.to_string().contains(&secret[12..]));
}

#[tokio::test]
async fn each_refusal_has_its_error_code_and_a_bearer_challenge() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let revoked = app.create_key_secret("revoked").await;
    let expired = app.create_key_secret("expired").await;
    let paused = app.create_key_secret("paused").await;
    let mut c = app.conn().await;
    let rid = app.key_id_of(&revoked).await;
    keydesk::db::api_keys::revoke_for_account(&mut c, user.id, rid, user.id, &origin())
        .await
        .unwrap();
    diesel::update(api_keys::table.filter(api_keys::name.eq("expired")))
        .set(api_keys::expires_at.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .execute(&mut c)
        .await
        .unwrap();

    let unknown = PlainKey::generate();
    let cases = [
        (None, "missing"),
        (Some("Bearer phy_short".to_string()), "malformed"),
        (Some(format!("Basic {revoked}")), "malformed"),
        (Some(format!("Bearer {}", unknown.expose())), "unknown"),
        (Some(format!("Bearer {revoked}")), "revoked"),
        (Some(format!("Bearer {expired}")), "expired"),
    ];
    for (header, code) in cases {
        let (status, got, www) = error_code(app.me(header.as_deref()).await).await;
        assert_eq!((status, got.as_str()), (401, code), "{header:?}");
        assert!(www.starts_with("Bearer realm=\"keydesk\""), "{www}");
        if code != "missing" {
            assert!(www.contains("error=\"invalid_token\""));
        }
    }
    keydesk::db::users::set_api_keys_enabled(&mut c, user.id, false)
        .await
        .unwrap();
    let (status, code, _) = error_code(app.me(Some(&format!("Bearer {paused}"))).await).await;
    assert_eq!((status, code.as_str()), (401, "account_not_eligible"));
    // eligibility returns: the key works again
    keydesk::db::users::set_api_keys_enabled(&mut c, user.id, true)
        .await
        .unwrap();
    assert_eq!(
        app.me(Some(&format!("Bearer {paused}"))).await.status(),
        200
    );
}

#[tokio::test]
async fn garbage_authorization_headers_get_401_never_500() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("bot").await;
    let huge = format!("Bearer {}", "a".repeat(10 * 1024));
    for value in [
        "",
        "Bearer",
        "Bearer ",
        "bearer  ",
        huge.as_str(),
        "Bearer phy_ÄÖÜ",
    ] {
        let res = app
            .client
            .get(format!("{}/api/v1/me", app.address))
            .header("authorization", value.as_bytes())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{:?}", &value[..value.len().min(20)]);
    }
    // non-UTF-8 bytes
    let res = app
        .client
        .get(format!("{}/api/v1/me", app.address))
        .header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // two headers, even if one is valid
    let res = app
        .client
        .get(format!("{}/api/v1/me", app.address))
        .header("authorization", format!("Bearer {secret}"))
        .header("authorization", format!("Bearer {secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // a key in the query string or a cookie is ignored
    let res = app
        .client
        .get(format!("{}/api/v1/me?access_token={secret}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await.1, "missing");
    let res = app
        .client
        .get(format!("{}/api/v1/me", app.address))
        .header("cookie", format!("token={secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await.1, "missing");
}

#[tokio::test]
async fn no_request_sent_after_the_revoke_response_succeeds() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("polled").await;
    let id = app.key_id_of(&secret).await;
    let revoked_at = std::sync::Arc::new(tokio::sync::OnceCell::<std::time::Instant>::new());
    let mut pollers = Vec::new();
    for _ in 0..20 {
        let client = app.client.clone();
        let url = format!("{}/api/v1/me", app.address);
        let auth = format!("Bearer {secret}");
        let revoked_at = revoked_at.clone();
        pollers.push(tokio::spawn(async move {
            let mut late_successes = 0;
            let mut after = 0;
            let deadline = std::time::Instant::now() + Duration::from_secs(3);
            while std::time::Instant::now() < deadline {
                let sent = std::time::Instant::now();
                let was_revoked = revoked_at.get().is_some_and(|t| *t <= sent);
                let status = client
                    .get(&url)
                    .header("authorization", &auth)
                    .send()
                    .await
                    .unwrap()
                    .status();
                if was_revoked {
                    after += 1;
                    if status == 200 {
                        late_successes += 1;
                    }
                }
            }
            (late_successes, after)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut c = app.conn().await;
    keydesk::db::api_keys::revoke_for_account(&mut c, user.id, id, user.id, &origin())
        .await
        .unwrap();
    revoked_at.set(std::time::Instant::now()).unwrap();
    let mut total_after = 0;
    for p in pollers {
        let (late, after) = p.await.unwrap();
        assert_eq!(late, 0, "a request sent after the revoke succeeded");
        total_after += after;
    }
    assert!(
        total_after > 20,
        "pollers kept polling after the revoke ({total_after})"
    );
}

#[tokio::test]
async fn a_key_stops_working_at_its_expiry_second() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("short-lived").await;
    let mut c = app.conn().await;
    let expires = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    diesel::update(api_keys::table.filter(api_keys::name.eq("short-lived")))
        .set(api_keys::expires_at.eq(expires))
        .execute(&mut c)
        .await
        .unwrap();
    assert_eq!(
        app.me(Some(&format!("Bearer {secret}"))).await.status(),
        200
    );
    let wait = (expires - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(10)).await;
    let (status, code, _) = error_code(app.me(Some(&format!("Bearer {secret}"))).await).await;
    assert_eq!((status, code.as_str()), (401, "expired"));
}

#[tokio::test]
async fn last_used_is_recorded_in_batches_and_never_moves_backwards() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("used").await;
    let id = app.key_id_of(&secret).await;
    let mut c = app.conn().await;
    assert_eq!(last_used_of(&mut c, id).await, None);
    let before = chrono::Utc::now();
    for _ in 0..30 {
        assert_eq!(
            app.me(Some(&format!("Bearer {secret}"))).await.status(),
            200
        );
    }
    // not written per request...
    assert!(app.last_used.pending() <= 1);
    // ...but within the flush interval (200 ms in tests)
    tokio::time::sleep(Duration::from_millis(600)).await;
    let t = last_used_of(&mut c, id).await.expect("last used recorded");
    assert!(t >= before - chrono::Duration::seconds(1));
    // an older time flushed late does not overwrite a newer one
    let older = keydesk::api::last_used::LastUse {
        at: t - chrono::Duration::hours(1),
        client_ip: None,
        user_agent: None,
    };
    keydesk::db::api_keys::record_last_used(&mut c, &[(id, older)])
        .await
        .unwrap();
    assert_eq!(last_used_of(&mut c, id).await, Some(t));
    // the page shows it
    let (_, html) = app.get_html("/settings/api-keys").await;
    assert!(html.contains("just now"), "last used shown relative");
}

#[tokio::test]
async fn introspection_answers_other_services() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("introspected").await;
    let url = format!("{}/api/v1/introspect", app.address);
    let call = |auth: &str, token: &str| {
        app.client
            .post(&url)
            .header("authorization", auth.to_owned())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("token", token)
                    .finish(),
            )
            .send()
    };
    let good_auth = format!("Bearer {}", app.settings.introspection_token.expose());
    let res = call(&good_auth, &secret).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "vm.buy.crypto");
    assert_eq!(body["sub"], user.id.to_string());
    assert_eq!(body["client_id"], app.key_id_of(&secret).await.to_string());
    assert!(body["exp"].as_i64().unwrap() > chrono::Utc::now().timestamp());

    for (token, refusal) in [
        ("", "malformed"),
        ("phy_nope", "malformed"),
        (PlainKey::generate().expose(), "unknown"),
    ] {
        let body: serde_json::Value = call(&good_auth, token).await.unwrap().json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "active": false, "refusal": refusal })
        );
    }
    assert_eq!(
        call("Bearer wrong-token", &secret).await.unwrap().status(),
        401
    );
    assert_eq!(call("", &secret).await.unwrap().status(), 401);
    // a known key refused says why
    let revoked = app
        .client
        .post(format!("{}/api/v1/keys/revoke", app.address))
        .json(&serde_json::json!({ "keys": [secret] }))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 202);
    let body: serde_json::Value = call(&good_auth, &secret)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "active": false, "refusal": "revoked" })
    );
}

#[tokio::test]
async fn a_revoke_on_one_instance_is_refused_by_another_at_once() {
    let a = spawn_app().await;
    let user = a.eligible_user_logged_in().await;
    let secret = a.create_key_secret("shared").await;
    let b = spawn_on(
        TestDb {
            name: a.db.name.clone(),
        },
        a.settings.clone(),
    )
    .await;
    assert_eq!(b.me(Some(&format!("Bearer {secret}"))).await.status(), 200);
    let id = a.key_id_of(&secret).await;
    let mut c = a.conn().await;
    keydesk::db::api_keys::revoke_for_account(&mut c, user.id, id, user.id, &origin())
        .await
        .unwrap();
    let (status, code, _) = error_code(b.me(Some(&format!("Bearer {secret}"))).await).await;
    assert_eq!((status, code.as_str()), (401, "revoked"));
    std::mem::forget(b);
}

async fn last_used_of(
    c: &mut diesel_async::AsyncPgConnection,
    id: uuid::Uuid,
) -> Option<chrono::DateTime<chrono::Utc>> {
    api_keys::table
        .find(id)
        .select(api_keys::last_used_at)
        .first(c)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_openapi_document_matches_the_api() {
    let app = spawn_app().await;
    let res = app.get("/api/openapi.json").await;
    assert_eq!(res.status(), 200);
    let doc: serde_json::Value = res.json().await.unwrap();
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert_eq!(
        paths,
        [
            "/api/v1/introspect",
            "/api/v1/keys/revoke",
            "/api/v1/me",
            "/api/v1/secret-scanning/github",
            "/api/v1/spend",
            "/api/v1/spend/{id}/void"
        ]
    );
    // every error code the server can send is documented, and nothing else
    let codes = |schema: &str| -> Vec<String> {
        doc["components"]["schemas"][schema]["properties"]["error_code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    // every refusal is documented once: the 401s in AuthError, the 403s in Forbidden
    use keydesk::domain::AuthFailure;
    let (forbidden, unauthorized): (Vec<AuthFailure>, Vec<AuthFailure>) = AuthFailure::ALL
        .iter()
        .filter(|f| **f != AuthFailure::RateLimited) // its own 429 schema
        .partition(|f| f.is_forbidden());
    assert_eq!(
        doc["components"]["schemas"]["RateLimited"]["properties"]["error_code"]["const"],
        "rate_limited"
    );
    let names = |fs: Vec<AuthFailure>| -> Vec<String> {
        fs.iter().map(|f| f.as_str().to_owned()).collect()
    };
    assert_eq!(codes("AuthError"), names(unauthorized));
    assert_eq!(codes("Forbidden"), names(forbidden));
    let refusals: Vec<String> =
        doc["components"]["schemas"]["Introspection"]["properties"]["refusal"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
    let without_missing: Vec<String> = AuthFailure::ALL
        .iter()
        .filter(|f| **f != AuthFailure::Missing)
        .map(|f| f.as_str().to_owned())
        .collect();
    assert_eq!(
        refusals, without_missing,
        "introspection names every refusal"
    );
    let scopes: Vec<&str> = doc["components"]["schemas"]["Scope"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let ours: Vec<&str> = keydesk::domain::Scope::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(scopes, ours);
    // a live /me answer has exactly the documented required fields
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("doc").await;
    let me: serde_json::Value = app
        .me(Some(&format!("Bearer {secret}")))
        .await
        .json()
        .await
        .unwrap();
    let schema = &doc["components"]["schemas"]["Me"];
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let required = |v: &serde_json::Value| {
        let mut k: Vec<String> = v["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&me), required(schema));
    assert_eq!(keys(&me["key"]), required(&schema["properties"]["key"]));
}
