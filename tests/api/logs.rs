//! The real binary's logs carry no secret: run `keydesk serve` as a process with its output
//! captured, walk the full flow, then search the log for everything secret it handled. The
//! same run checks the graceful stop (SIGTERM exits within 10 s and flushes "last used") and
//! that 1,000 oversized forms are refused with 413 without the process growing.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::*;
use keydesk::domain::{Role, WalletKind};

#[tokio::test]
async fn the_full_flow_leaves_no_secret_in_the_logs() {
    let db = TestDb::new().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let session_key = "ab".repeat(64);
    let pepper = "cd".repeat(32);
    let introspection = "introspection-secret-token-0123456789abcdef";
    let github = crate::exposed::Github::new();
    let log_path = std::env::temp_dir().join(format!("keydesk-log-{port}.txt"));
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keydesk"))
        .arg("serve")
        .env_clear()
        .env("APP_DATABASE_URL", db.url())
        .env("APP_SESSION_KEY", &session_key)
        .env("APP_KEY_PEPPER", &pepper)
        .env("APP_INTROSPECTION_TOKEN", introspection)
        .env("APP_LISTEN", format!("127.0.0.1:{port}"))
        .env("APP_WORKERS", "1")
        .env("APP_GITHUB_SCANNING_KEYS", &github.file)
        // so long that only the flush at shutdown can write "last used"
        .env("APP_LAST_USED_FLUSH_MS", "600000")
        .env("RUST_LOG", "debug")
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();

    // A TestApp-shaped client against the process (the database is shared with `db`).
    let mut settings = test_settings(&db.url());
    settings.introspection_token = keydesk::config::Secret::new(introspection.into());
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .map(|r| r.status() == 200)
            .unwrap_or(false)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ready,
        "keydesk did not start: {}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );

    // Users straight into the database (the process migrated it).
    let helper = spawn_on(
        TestDb {
            name: db.name.clone(),
        },
        settings,
    )
    .await;
    let user = helper
        .create_user(
            "logs@example.com",
            Role::Member,
            true,
            &[(WalletKind::External, &random_address())],
        )
        .await;
    std::mem::forget(helper);

    let mut secrets: Vec<String> = vec![
        session_key.clone(),
        pepper.clone(),
        introspection.to_owned(),
        user.password.clone(),
    ];
    let cookie_of = |res: &reqwest::Response, name: &str| {
        res.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .find(|pair| pair.starts_with(&format!("{name}=")))
    };
    let form = |pairs: &[(&str, &str)]| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };

    let res = client.get(format!("{base}/login")).send().await.unwrap();
    let mut cookie = cookie_of(&res, "__Host-keydesk-login").unwrap();
    secrets.push(cookie.split_once('=').unwrap().1.to_owned());
    let token = csrf_in(&res.text().await.unwrap());
    secrets.push(token.clone());
    // a wrong password with CR/LF in it, then the right one
    let post = |path: &str, body: String, cookie: &str| {
        client
            .post(format!("{base}{path}"))
            .header("cookie", cookie.to_owned())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    post(
        "/login",
        form(&[
            ("csrf_token", &token),
            ("email", &user.email),
            ("password", "wrong\r\nINJECTED line"),
        ]),
        &cookie,
    )
    .await
    .unwrap();
    let res = post(
        "/login",
        form(&[
            ("csrf_token", &token),
            ("email", &user.email),
            ("password", &user.password),
        ]),
        &cookie,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 303);
    cookie = cookie_of(&res, "__Host-keydesk").unwrap();
    secrets.push(cookie.split_once('=').unwrap().1.to_owned());

    let page = client
        .get(format!("{base}/settings/api-keys/new"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_in(&page);
    let rid = request_id_in(&page);
    let res = post(
        "/settings/api-keys",
        form(&[
            ("csrf_token", &token),
            ("request_id", &rid),
            ("name", "logged"),
            ("expiration", "30"),
            ("scopes", "vm.buy.crypto"),
        ]),
        &cookie,
    )
    .await
    .unwrap();
    let key = secret_in(&res.text().await.unwrap());
    secrets.push(key.clone());
    let me = client
        .get(format!("{base}/api/v1/me"))
        .header("authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    client
        .post(format!("{base}/api/v1/introspect"))
        .header("authorization", format!("Bearer {introspection}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("token", &key)]))
        .send()
        .await
        .unwrap();
    client
        .get(format!("{base}/api/v1/me?access_token={key}"))
        .send()
        .await
        .unwrap();

    // Exposed keys: a signed GitHub alert and a revoke-by-secret call, each with the real key
    // and a well-formed stranger; the log may say which key was revoked, never its secret.
    let strangers: Vec<String> = (0..2)
        .map(|_| keydesk::domain::PlainKey::generate().expose().to_owned())
        .collect();
    secrets.extend(strangers.iter().cloned());
    let body = crate::exposed::alert_body(&[key.clone(), strangers[0].clone()]);
    let res = client
        .post(format!("{base}/api/v1/secret-scanning/github"))
        .header("content-type", "application/json")
        .header("Github-Public-Key-Identifier", &github.key_id)
        .header("Github-Public-Key-Signature", github.sign(&body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client
        .post(format!("{base}/api/v1/keys/revoke"))
        .json(&serde_json::json!({ "keys": [key, strangers[1]] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);

    // Oversized forms are refused with 413 and leave no memory behind.
    let big = form(&[("csrf_token", &token), ("name", &"x".repeat(64 * 1024))]);
    for _ in 0..50 {
        let res = post("/settings/api-keys", big.clone(), &cookie)
            .await
            .unwrap();
        assert_eq!(res.status(), 413);
    }
    let before = rss_kib(child.id());
    for _ in 0..1000 {
        let res = post("/settings/api-keys", big.clone(), &cookie)
            .await
            .unwrap();
        assert_eq!(res.status(), 413);
    }
    let after = rss_kib(child.id());
    assert!(
        after < before + 16 * 1024,
        "RSS grew from {before} KiB to {after} KiB over 1,000 oversized requests"
    );

    // Junk methods (actix accepts any token as a method) neither grow the metric labels nor
    // memory, and never reach the log whole: 10,000 distinct 10 KB method names.
    let addr = format!("127.0.0.1:{port}");
    let junk = |from: usize, to: usize| {
        let addr = addr.clone();
        async move {
            let mut tasks = Vec::new();
            for lane in 0..8 {
                let addr = addr.clone();
                tasks.push(tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    for i in (from + lane..to).step_by(8) {
                        let method = format!("J{i:05}{}", "X".repeat(10_000));
                        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
                        let req = format!(
                            "{method} /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        );
                        s.write_all(req.as_bytes()).await.unwrap();
                        let mut out = Vec::new();
                        let _ = s.read_to_end(&mut out).await;
                        assert!(
                            out.starts_with(b"HTTP/1.1 4"),
                            "{}",
                            String::from_utf8_lossy(&out)
                        );
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        }
    };
    junk(0, 500).await;
    let before = rss_kib(child.id());
    junk(500, 10_500).await;
    let after = rss_kib(child.id());
    assert!(
        after < before + 16 * 1024,
        "RSS grew from {before} KiB to {after} KiB over 10,000 junk-method requests"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    // graceful stop: SIGTERM, exits in time, flushes last-used
    let started = std::time::Instant::now();
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "did not stop within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success() || status.code().is_none(), "{status:?}");

    // the graceful stop flushed the buffered "last used" time
    {
        use diesel::prelude::*;
        use diesel_async::{AsyncConnection, RunQueryDsl};
        use keydesk::db::schema::api_keys;
        let mut c = diesel_async::AsyncPgConnection::establish(&db.url())
            .await
            .unwrap();
        let used: Option<chrono::DateTime<chrono::Utc>> = api_keys::table
            .filter(api_keys::prefix.eq(&key[..12]))
            .select(api_keys::last_used_at)
            .first(&mut c)
            .await
            .unwrap();
        assert!(used.is_some(), "last used flushed on SIGTERM");
    }

    let mut log = String::new();
    std::fs::File::open(&log_path)
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let _ = std::fs::remove_file(&log_path);
    assert!(log.contains("request"), "the access log was written");
    assert!(
        log.contains("key revoked: its secret was exposed"),
        "the revocation itself is logged"
    );
    for s in &secrets {
        assert!(
            !log.contains(s.as_str()),
            "a secret reached the log: {}…",
            &s[..6.min(s.len())]
        );
    }
    assert!(
        !log.contains(&key[12..]),
        "no part of a key beyond its prefix"
    );
    assert!(
        !log.contains("\nINJECTED line"),
        "CR/LF from input cannot forge a log line"
    );
    assert!(
        log.contains("J00042XXX"),
        "junk methods are logged, clipped"
    );
    assert!(
        !log.contains(&"X".repeat(1_000)),
        "no client-chosen value reaches the log whole"
    );
}

/// Resident memory of a process, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
