//! The test harness: a migrated template database cloned per test, the real app on a random
//! port, and a client that keeps the session cookie (managed by hand: the cookie is `Secure`
//! and `__Host-`, and the tests talk plain HTTP to 127.0.0.1).

use std::sync::Mutex;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use keydesk::config::{LogFormat, PublicUrl, Secret, Settings};
use keydesk::db::audit::Origin;
use keydesk::db::{users, wallets};
use keydesk::domain::{Role, WalletKind};
use keydesk::startup::Application;
use rand::distr::{Alphanumeric, SampleString};
use tokio::sync::OnceCell;

/// Template databases are named after the migrations they hold, so an outdated one is never
/// reused: `keydesk_tpl_<crc32 of the migration names>`.
static TEMPLATE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use diesel::migration::MigrationSource;
    let names: Vec<String> =
        MigrationSource::<diesel::pg::Pg>::migrations(&keydesk::db::MIGRATIONS)
            .unwrap()
            .iter()
            .map(|m| m.name().to_string())
            .collect();
    format!(
        "keydesk_tpl_{:08x}",
        crc32fast::hash(names.join(",").as_bytes())
    )
});

/// The lock every test process takes to build the template and to clone it.
const TEMPLATE_LOCK: i64 = 727_001;

static TEMPLATE_READY: OnceCell<()> = OnceCell::const_new();

/// The maintenance-database URL of the test cluster (`./dev.sh test` sets it).
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").expect(
        "TEST_DATABASE_URL is not set: run the tests with ./dev.sh test (it starts a private Postgres)",
    )
}

/// The URL of database `name` on the test cluster.
pub fn db_url(name: &str) -> String {
    let base = admin_url();
    let (head, _) = base
        .rsplit_once('/')
        .expect("TEST_DATABASE_URL has no database name");
    format!("{head}/{name}")
}

async fn admin_conn() -> AsyncPgConnection {
    AsyncPgConnection::establish(&admin_url())
        .await
        .expect("connect to TEST_DATABASE_URL")
}

#[derive(diesel::QueryableByName)]
struct DbName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    datname: String,
}

async fn databases_like(c: &mut AsyncPgConnection, pattern: &str) -> Vec<String> {
    diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE $1")
        .bind::<diesel::sql_types::Text, _>(pattern)
        .load::<DbName>(c)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.datname)
        .collect()
}

/// Templates of other migration sets kept beside the current one.
const KEEP_OTHER_TEMPLATES: i64 = 2;

/// The test templates beyond the `keep` newest, oldest first.
async fn older_templates(c: &mut AsyncPgConnection, keep: i64) -> Vec<String> {
    diesel::sql_query(
        "SELECT datname FROM pg_database
          WHERE (datname LIKE 'keydesk_tpl_%' OR datname LIKE 'keydesk_test_template_%')
            AND datname NOT LIKE '%_building'
          ORDER BY oid DESC OFFSET $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(keep + 1)
    .load::<DbName>(c)
    .await
    .unwrap()
    .into_iter()
    .map(|d| d.datname)
    .collect()
}

async fn sql(c: &mut AsyncPgConnection, q: &str) {
    diesel::sql_query(q).execute(c).await.unwrap();
}

/// Makes sure the current template exists, once per test process, under the lock: built only
/// when missing (its name says which migrations it holds), old templates and the databases of
/// test processes that are gone (killed before their `Drop` ran) swept away.
async fn ensure_template() {
    TEMPLATE_READY
        .get_or_init(|| async {
            let mut c = admin_conn().await;
            sql(&mut c, &format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})")).await;
            let template = TEMPLATE.as_str();
            // Other migration sets' templates: the newest few stay (a test run of another
            // branch may be cloning from one right now), older ones go. Database OIDs grow
            // with creation, so they order the templates by age.
            for old in older_templates(&mut c, KEEP_OTHER_TEMPLATES).await {
                if old != template {
                    sql(
                        &mut c,
                        &format!("DROP DATABASE IF EXISTS {old} WITH (FORCE)"),
                    )
                    .await;
                }
            }
            for db in databases_like(&mut c, "keydesk_test_p%").await {
                let pid = db
                    .strip_prefix("keydesk_test_p")
                    .and_then(|r| r.split('_').next())
                    .and_then(|p| p.parse::<u32>().ok());
                if pid.is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists()) {
                    sql(
                        &mut c,
                        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
                    )
                    .await;
                }
            }
            if databases_like(&mut c, template).await.is_empty() {
                let building = format!("{template}_building");
                sql(
                    &mut c,
                    &format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
                )
                .await;
                sql(&mut c, &format!("CREATE DATABASE {building}")).await;
                keydesk::db::run_migrations(&db_url(&building))
                    .await
                    .expect("migrate template");
                sql(
                    &mut c,
                    &format!("ALTER DATABASE {building} RENAME TO {template}"),
                )
                .await;
            }
            sql(
                &mut c,
                &format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"),
            )
            .await;
        })
        .await;
}

/// A database of its own for one test, cloned from the template; dropped with the test.
pub struct TestDb {
    /// Its name.
    pub name: String,
}

impl TestDb {
    /// Clones the template.
    pub async fn new() -> Self {
        ensure_template().await;
        // the process id in the name lets a later run sweep what a killed run left behind
        let name = format!(
            "keydesk_test_p{}_{}",
            std::process::id(),
            Alphanumeric
                .sample_string(&mut rand::rng(), 12)
                .to_lowercase()
        );
        let mut c = admin_conn().await;
        // Cloned under the lock, so no other process is rebuilding or sweeping meanwhile.
        // FILE_COPY writes far less WAL than the default strategy when many tests clone at once.
        sql(&mut c, &format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})")).await;
        let template = TEMPLATE.as_str();
        sql(
            &mut c,
            &format!("CREATE DATABASE {name} TEMPLATE {template} STRATEGY = FILE_COPY"),
        )
        .await;
        sql(
            &mut c,
            &format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"),
        )
        .await;
        Self { name }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        db_url(&self.name)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime: do the async work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(mut c) = AsyncPgConnection::establish(&admin_url()).await {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut c)
                            .await;
                }
            });
        })
        .join();
    }
}

/// Settings for a test app on `database_url`.
pub fn test_settings(database_url: &str) -> Settings {
    let hex = |n: usize| {
        let mut b = vec![0u8; n];
        rand::fill(&mut b[..]);
        b
    };
    Settings {
        database_url: Secret::new(database_url.to_owned()),
        session_key: Secret::new(hex(64)),
        key_pepper: Secret::new(hex(32)),
        introspection_token: Secret::new("introspection-token-for-tests-0123456789".into()),
        listen: "127.0.0.1:0".parse().unwrap(),
        workers: 2,
        support_email: "hello@phygitals.com".into(),
        session_idle: Duration::from_secs(1800),
        session_absolute: Duration::from_secs(43200),
        db_pool_size: 8,
        db_timeout: Duration::from_secs(2),
        login_max_failures: 5,
        login_lockout: Duration::from_secs(900),
        reauth_window: Duration::from_secs(600),
        last_used_flush: Duration::from_millis(200),
        last_used_enabled: true,
        body_deadline: Duration::from_secs(30),
        log_format: LogFormat::Human,
        metrics_listen: None,
        // port 0: `spawn_on` puts in the port it binds (a test may set another origin)
        public_url: PublicUrl::parse("http://127.0.0.1:0").unwrap(),
        trusted_proxies: Vec::new(),
        login_max_failures_per_ip: 50,
        login_queue: 32,
        prune_interval: Duration::from_secs(300),
        usage_flush: Duration::from_millis(200),
        usage_enabled: true,
        usage_max_entries: 100_000,
        scanning: keydesk::config::ScanningSettings::default(),
        rate: keydesk::config::RateSettings::default(),
        // No delivery worker by default: most tests never deliver, and a worker polling in
        // every test app costs the whole suite. Tests that deliver switch it on (`with_worker`);
        // then it polls often and retries soon, so they run in seconds.
        notify: keydesk::config::NotifySettings {
            worker: false,
            poll: Duration::from_millis(100),
            backoff: Duration::from_millis(200),
            ..Default::default()
        },
    }
}

/// A running app and a client with a cookie jar of one.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The settings it runs with.
    pub settings: Settings,
    /// No redirects followed.
    pub client: reqwest::Client,
    /// Cookies by name (`name=value` pairs): the session and the login-form nonce.
    jar: Mutex<Vec<(String, String)>>,
    handle: actix_web::dev::ServerHandle,
    /// Flushes last-used on demand.
    pub last_used: keydesk::api::last_used::LastUsedRecorder,
    /// Flushes usage counts on demand.
    pub usage: keydesk::api::usage::UsageRecorder,
    /// `http://127.0.0.1:PORT/metrics` when the metrics listener is on.
    pub metrics_url: Option<String>,
    /// Dropped last.
    pub db: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command now; the workers wind down on their own threads.
        drop(self.handle.stop(false));
    }
}

/// A user the test created.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Account id.
    pub id: uuid::Uuid,
    /// E-mail.
    pub email: String,
    /// Password.
    pub password: String,
}

/// Starts the app on a fresh database.
pub async fn spawn_app() -> TestApp {
    let db = TestDb::new().await;
    spawn_app_with(db, |_| {}).await
}

/// Starts the app on a fresh database with the notification worker running.
pub async fn spawn_app_with_worker() -> TestApp {
    spawn_app_with(TestDb::new().await, |s| s.notify.worker = true).await
}

/// Starts the app on `db` with adjusted settings.
pub async fn spawn_app_with(db: TestDb, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings(&db.url());
    adjust(&mut settings);
    spawn_on(db, settings).await
}

/// Starts the app with exactly these settings.
pub async fn spawn_on(db: TestDb, mut settings: Settings) -> TestApp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    if settings.public_url.authority == "127.0.0.1:0" {
        let port = listener.local_addr().unwrap().port();
        settings.public_url = PublicUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    }
    let app = Application::build_with_listener(settings.clone(), listener, false)
        .await
        .unwrap();
    let port = app.port();
    let handle = app.handle();
    let last_used = app.last_used();
    let usage = app.usage();
    let metrics_url = app
        .metrics_port()
        .map(|p| format!("http://127.0.0.1:{p}/metrics"));
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        settings,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        jar: Mutex::new(Vec::new()),
        handle,
        last_used,
        usage,
        metrics_url,
        db,
    }
}

/// Pulls `name="csrf_token" value="…"` out of a page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("no csrf_token in page") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// Pulls the value of `name="request_id"` out of a page.
pub fn request_id_in(html: &str) -> String {
    let marker = "name=\"request_id\" value=\"";
    let start = html.find(marker).expect("no request_id in page") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

impl TestApp {
    /// A connection to the test's database.
    pub async fn conn(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.db.url()).await.unwrap()
    }

    fn remember(&self, res: &reqwest::Response) {
        for v in res.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap().to_owned();
            let (name, _) = pair.split_once('=').unwrap();
            let mut jar = self.jar.lock().unwrap();
            jar.retain(|(n, _)| n != name);
            if !(v.contains("Max-Age=0") || pair.ends_with('=')) {
                jar.push((name.to_owned(), pair.clone()));
            }
        }
    }

    /// The current session cookie (`name=value`), if any.
    pub fn cookie(&self) -> Option<String> {
        self.named_cookie(keydesk::startup::SESSION_COOKIE)
    }

    /// A cookie of the jar by name (`name=value`).
    pub fn named_cookie(&self, name: &str) -> Option<String> {
        let jar = self.jar.lock().unwrap();
        jar.iter().find(|(n, _)| n == name).map(|(_, p)| p.clone())
    }

    /// Replaces the session cookie (to replay an old one); `None` also forgets every other
    /// cookie (a fresh visitor).
    pub fn set_cookie(&self, c: Option<String>) {
        let mut jar = self.jar.lock().unwrap();
        match c {
            None => jar.clear(),
            Some(pair) => {
                jar.retain(|(n, _)| n != keydesk::startup::SESSION_COOKIE);
                jar.push((keydesk::startup::SESSION_COOKIE.to_owned(), pair));
            }
        }
    }

    /// Every cookie of the jar as one `Cookie` header value (empty when there is none).
    pub fn cookies(&self) -> String {
        let jar = self.jar.lock().unwrap();
        let pairs: Vec<&str> = jar.iter().map(|(_, p)| p.as_str()).collect();
        pairs.join("; ")
    }

    fn with_cookie(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.cookies() {
            c if c.is_empty() => rb,
            c => rb.header("cookie", c),
        }
    }

    /// GET a path with the session cookie.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        let res = self
            .with_cookie(self.client.get(format!("{}{path}", self.address)))
            .send()
            .await
            .unwrap();
        self.remember(&res);
        res
    }

    /// GET a page and return (status, body).
    pub async fn get_html(&self, path: &str) -> (u16, String) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        (status, res.text().await.unwrap())
    }

    /// POST a form (pairs may repeat a key) with the session cookie.
    pub async fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        let body = serde_html_form_encode(pairs);
        let res = self
            .with_cookie(self.client.post(format!("{}{path}", self.address)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.remember(&res);
        res
    }

    /// The CSRF token of the current session (from a page that carries one).
    pub async fn csrf(&self) -> String {
        let (_, html) = if self.cookie().is_some() {
            let (s, h) = self.get_html("/settings/api-keys").await;
            if s == 200 {
                (s, h)
            } else {
                self.get_html("/login").await
            }
        } else {
            self.get_html("/login").await
        };
        csrf_in(&html)
    }

    /// Logs in through the form.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.set_cookie(None); // a fresh visitor
        let (_, html) = self.get_html("/login").await;
        let token = csrf_in(&html);
        self.post_form(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    /// Creates an account directly in the database.
    pub async fn create_user(
        &self,
        email: &str,
        role: Role,
        api_keys_enabled: bool,
        wallets_: &[(WalletKind, &str)],
    ) -> TestUser {
        let password = keydesk::auth::password::generate_password();
        let hash = keydesk::auth::password::hash_blocking(&Secret::new(password.clone())).unwrap();
        let mut c = self.conn().await;
        let u = users::insert(&mut c, email, &hash, role).await.unwrap();
        users::set_api_keys_enabled(&mut c, u.id, api_keys_enabled)
            .await
            .unwrap();
        for (kind, addr) in wallets_ {
            wallets::insert_for_account(&mut c, u.id, addr, *kind)
                .await
                .unwrap();
        }
        TestUser {
            id: u.id,
            email: email.into(),
            password,
        }
    }

    /// An eligible account (flag on, external wallet), logged in.
    pub async fn eligible_user_logged_in(&self) -> TestUser {
        let email = format!(
            "{}@example.com",
            Alphanumeric
                .sample_string(&mut rand::rng(), 8)
                .to_lowercase()
        );
        let addr = random_address();
        let u = self
            .create_user(&email, Role::Member, true, &[(WalletKind::External, &addr)])
            .await;
        let res = self.login(&u.email, &u.password).await;
        assert_eq!(res.status().as_u16(), 303, "login failed");
        u
    }

    /// Submits the create form with sensible defaults overridden by `fields`.
    pub async fn create_key(&self, fields: &[(&str, &str)]) -> reqwest::Response {
        let (_, html) = self.get_html("/settings/api-keys").await;
        let token = csrf_in(&html);
        let rid = request_id_in_or_new(&html);
        let has = |k: &str| fields.iter().any(|(f, _)| *f == k);
        let mut pairs: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        if !has("request_id") {
            pairs.push(("request_id", &rid));
        }
        if !has("name") {
            pairs.push(("name", "test-bot"));
        }
        if !has("expiration") {
            pairs.push(("expiration", "30"));
        }
        if !has("scopes") {
            pairs.push(("scopes", "vm.buy.crypto"));
        }
        pairs.extend_from_slice(fields);
        self.post_form("/settings/api-keys", &pairs).await
    }

    /// Creates a key and returns the secret shown in the one-time dialog.
    pub async fn create_key_secret(&self, name: &str) -> String {
        let res = self.create_key(&[("name", name)]).await;
        assert_eq!(res.status().as_u16(), 200);
        secret_in(&res.text().await.unwrap())
    }

    /// Creates a key with these form fields and returns its one-time secret.
    pub async fn create_key_secret_with(&self, fields: &[(&str, &str)]) -> String {
        let res = self.create_key(fields).await;
        assert_eq!(res.status().as_u16(), 200);
        secret_in(&res.text().await.unwrap())
    }

    /// Stops the server (as if the instance died; the database stays).
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    /// The id of the key with this secret (found by its display prefix).
    pub async fn key_id_of(&self, secret: &str) -> uuid::Uuid {
        use diesel::{ExpressionMethods, QueryDsl};
        use keydesk::db::schema::api_keys;
        let mut c = self.conn().await;
        api_keys::table
            .filter(api_keys::prefix.eq(&secret[..12]))
            .select(api_keys::id)
            .first(&mut c)
            .await
            .unwrap()
    }

    /// Number of key rows of an account.
    pub async fn key_count(&self, account: uuid::Uuid) -> i64 {
        use diesel::{ExpressionMethods, QueryDsl};
        use keydesk::db::schema::api_keys;
        let mut c = self.conn().await;
        api_keys::table
            .filter(api_keys::account_id.eq(account))
            .count()
            .get_result(&mut c)
            .await
            .unwrap()
    }

    /// Calls `/api/v1/me` with a raw Authorization header value.
    pub async fn me(&self, authorization: Option<&str>) -> reqwest::Response {
        let mut rb = self.client.get(format!("{}/api/v1/me", self.address));
        if let Some(a) = authorization {
            rb = rb.header("authorization", a);
        }
        rb.send().await.unwrap()
    }

    /// Submits a row action's form (`/settings/api-keys/{id}/{action}`) with a fresh CSRF token.
    pub async fn act(
        &self,
        id: uuid::Uuid,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let token = self.csrf().await;
        let mut pairs = vec![("csrf_token", token.as_str())];
        pairs.extend_from_slice(fields);
        self.post_form(&format!("/settings/api-keys/{id}/{action}"), &pairs)
            .await
    }

    /// The key row with this name (the newest, when a roll made two).
    pub async fn key_named(&self, name: &str) -> keydesk::db::api_keys::KeyRow {
        use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
        use keydesk::db::schema::api_keys;
        let mut c = self.conn().await;
        api_keys::table
            .filter(api_keys::name.eq(name))
            .order(api_keys::created_at.desc())
            .select(keydesk::db::api_keys::KeyRow::as_select())
            .first(&mut c)
            .await
            .unwrap()
    }

    /// Signs up a member with this eligibility, signs in, and returns the keys page.
    pub async fn keys_page_for(
        &self,
        enabled: bool,
        wallets_: &[(WalletKind, &str)],
    ) -> (u16, String) {
        let u = self
            .create_user("someone@example.com", Role::Member, enabled, wallets_)
            .await;
        assert_eq!(self.login(&u.email, &u.password).await.status(), 303);
        self.get_html("/settings/api-keys").await
    }

    /// Starts linking a wallet: asks for a challenge for `address`.
    pub async fn start_wallet_link(&self, address: &str) -> reqwest::Response {
        let token = self.csrf().await;
        self.post_form(
            "/settings/wallets/challenge",
            &[("csrf_token", &token), ("address", address)],
        )
        .await
    }

    /// The key row with this id.
    pub async fn key_row(&self, id: uuid::Uuid) -> keydesk::db::api_keys::KeyRow {
        use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
        use keydesk::db::schema::api_keys;
        let mut c = self.conn().await;
        api_keys::table
            .filter(api_keys::id.eq(id))
            .select(keydesk::db::api_keys::KeyRow::as_select())
            .first(&mut c)
            .await
            .unwrap()
    }

    /// The account's audit events with this code (as the trail names it).
    pub async fn events(&self, account: uuid::Uuid, code: &str) -> Vec<keydesk::db::audit::Event> {
        let mut c = self.conn().await;
        keydesk::db::audit::list_for_account_action(&mut c, account, action(code))
            .await
            .unwrap()
    }

    /// Makes every session's last password entry `secs` older (as if time had passed), so
    /// actions that need a recent password ask for it.
    pub async fn age_password_entry(&self, secs: i64) {
        let mut c = self.conn().await;
        diesel::sql_query(
            "UPDATE sessions SET state = jsonb_set(state, '{authenticated_at}', \
             to_jsonb(((state->>'authenticated_at')::bigint - $1)::text)) \
             WHERE state ? 'authenticated_at'",
        )
        .bind::<diesel::sql_types::Int8, _>(secs)
        .execute(&mut c)
        .await
        .unwrap();
    }

    /// Calls introspection with the configured token.
    pub async fn introspect(&self, token: &str) -> serde_json::Value {
        let auth = format!("Bearer {}", self.settings.introspection_token.expose());
        let res = self
            .client
            .post(format!("{}/api/v1/introspect", self.address))
            .header("authorization", auth)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("token", token)
                    .finish(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
}

fn request_id_in_or_new(html: &str) -> String {
    if html.contains("name=\"request_id\"") {
        request_id_in(html)
    } else {
        uuid::Uuid::new_v4().to_string()
    }
}

/// The key in the one-time dialog.
pub fn secret_in(html: &str) -> String {
    let marker = "id=\"secret-value\" class=\"secret\" type=\"text\" readonly value=\"";
    let start = html.find(marker).expect("no secret dialog in page") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// A random base58-looking address.
pub fn random_address() -> String {
    const B58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    use rand::Rng;
    let mut r = rand::rng();
    (0..44)
        .map(|_| B58[r.random_range(0..B58.len())] as char)
        .collect()
}

fn serde_html_form_encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// An audit origin for direct repository calls in tests.
pub fn origin() -> Origin {
    Origin::default()
}

/// The audit action with this code (tests name actions as the trail shows them).
pub fn action(code: &str) -> keydesk::domain::AuditAction {
    keydesk::domain::AuditAction::parse(code).unwrap_or_else(|| panic!("no audit action {code}"))
}

/// Asserts a 303 to `location`.
pub fn assert_redirects_to(res: &reqwest::Response, location: &str) {
    assert_eq!(
        res.status().as_u16(),
        303,
        "expected a redirect to {location}"
    );
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some(location)
    );
}
