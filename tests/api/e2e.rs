//! Browser tests: the real app in-process, Debian's chromium driven through chromedriver with
//! fantoccini. A missing browser fails the test when CI or E2E_REQUIRED is set (CI sets both)
//! and skips it, loudly, otherwise.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use keydesk::domain::{Role, WalletKind};

use crate::helpers::*;

const AXE_JS: &str = include_str!("../assets/axe.min.js");

/// chromedriver in its own process group; dropping it kills the group, chromium included.
pub(crate) struct Browser {
    child: Child,
    profile: std::path::PathBuf,
    client: Option<Client>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // SAFETY-free: a plain libc call on a pid we own.
        kill_group(self.child.id());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

#[expect(
    unsafe_code,
    reason = "kill(2) on the chromedriver process group we spawned"
)]
fn kill_group(pid: u32) {
    unsafe {
        libc::kill(-(pid as i32), libc::SIGKILL);
    }
}

impl std::ops::Deref for Browser {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().unwrap()
    }
}

impl Browser {
    pub(crate) async fn close(mut self) {
        if let Some(c) = self.client.take() {
            let _ = c.close().await;
        }
    }
}

pub(crate) async fn browser(javascript: bool) -> Option<Browser> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let chromedriver =
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let missing: Vec<&str> = [chromium.as_str(), chromedriver.as_str()]
        .into_iter()
        .filter(|p| !std::path::Path::new(p).exists())
        .collect();
    if !missing.is_empty() {
        let msg = format!(
            "missing {missing:?}; install with: apt-get install -y chromium chromium-driver"
        );
        if std::env::var_os("E2E_REQUIRED").is_some() || std::env::var_os("CI").is_some() {
            panic!("browser tests are required here (E2E_REQUIRED/CI set) but {msg}");
        }
        eprintln!("SKIPPED browser test: {msg}");
        return None;
    }
    let mut child = Command::new(&chromedriver)
        .arg("--port=0")
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn chromedriver");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines
            .next()
            .expect("chromedriver exited before announcing its port")
            .unwrap();
        if let Some(rest) = line.split("on port ").nth(1)
            && line.contains("started successfully")
        {
            break rest.trim_end_matches('.').parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let profile = std::env::temp_dir().join(format!("keydesk-e2e-{}-{port}", std::process::id()));
    let mut b = Browser {
        child,
        profile: profile.clone(),
        client: None,
    };
    let mut options = serde_json::json!({
        "binary": chromium,
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1280,900",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    if !javascript {
        options["prefs"] =
            serde_json::json!({ "profile.managed_default_content_settings.javascript": 2 });
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "chrome".into());
    caps.insert("goog:chromeOptions".into(), options);
    let client = tokio::time::timeout(
        Duration::from_secs(60),
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}")),
    )
    .await
    .expect("chromedriver session timed out")
    .expect("chromedriver session");
    b.client = Some(client);
    Some(b)
}

pub(crate) async fn axe_violations(c: &Client) -> Vec<String> {
    c.execute(AXE_JS, vec![]).await.unwrap();
    let v = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document).then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.map(n => n.target.join(' ')).join(', '))));",
            vec![],
        )
        .await
        .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

pub(crate) async fn wait_for_path(c: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = c.current_url().await.unwrap();
        if url.path() == path {
            return;
        }
        assert!(Instant::now() < deadline, "expected {path}, at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until nothing matches `css` (e.g. the secret dialog after Done). Uses WebDriver's own
/// element search, which works with JavaScript off too.
pub(crate) async fn wait_gone(c: &Client, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !c.find_all(Locator::Css(css)).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "{css} still present");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Presses keys on the element matching `css` (it gets the focus first, as Tab would give it).
pub(crate) async fn press(c: &Client, css: &str, keys: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(keys)
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
}

/// Types `text` into the field matching `css`.
pub(crate) async fn fill(c: &Client, css: &str, text: &str) {
    press(c, css, text).await;
}

/// Clicks the element matching `css`.
pub(crate) async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
}

pub(crate) async fn browser_login(c: &Client, base: &str, user: &TestUser) {
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(c, "#email", &user.email).await;
    fill(c, "#password", &user.password).await;
    click(c, "main button[type=submit]").await;
    wait_for_path(c, "/settings/api-keys").await;
}

pub(crate) async fn screenshot(c: &Client, name: &str) {
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(
            std::env::temp_dir().join(format!("keydesk-{name}.png")),
            png,
        );
    }
}

/// W3C "Set Permission": lets the page read the clipboard back.
#[derive(Debug)]
pub(crate) struct SetPermission(pub(crate) &'static str);
impl fantoccini::wd::WebDriverCompatibleCommand for SetPermission {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/permissions",
            session.unwrap_or_default()
        ))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(
                serde_json::json!({"descriptor": {"name": self.0}, "state": "granted"}).to_string(),
            ),
        )
    }
}

/// The app is addressed as `localhost`, a secure context, so the browser keeps the
/// `__Host-`/`Secure` session cookie over plain HTTP.
pub(crate) fn base_of(app: &TestApp) -> String {
    app.address.replace("127.0.0.1", "localhost")
}

#[tokio::test]
async fn create_copy_and_done_leave_only_the_prefix() {
    let Some(b) = browser(true).await else { return };
    let app = spawn_app().await;
    let base = base_of(&app);
    let user = app
        .create_user(
            "ana@example.com",
            Role::Member,
            true,
            &[(WalletKind::External, &random_address())],
        )
        .await;
    browser_login(&b, &base, &user).await;
    // the plain-HTML create page (the no-JS path) is accessible too
    b.goto(&format!("{base}/settings/api-keys/new"))
        .await
        .unwrap();
    let v = axe_violations(&b).await;
    assert!(v.is_empty(), "create page: {v:?}");
    b.goto(&format!("{base}/settings/api-keys")).await.unwrap();
    let v = axe_violations(&b).await;
    assert!(v.is_empty(), "keys page: {v:?}");

    click(&b, "#create-button").await;
    // the dialog's form comes from /settings/api-keys/new the first time it opens
    b.wait()
        .for_element(Locator::Css("#create-dialog[open] #key-name"))
        .await
        .unwrap();
    let open = b
        .execute(
            "return document.getElementById('create-dialog').open",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        open,
        serde_json::Value::Bool(true),
        "the create dialog opens in place"
    );
    let v = axe_violations(&b).await;
    assert!(v.is_empty(), "create dialog: {v:?}");
    screenshot(&b, "create-dialog").await;

    fill(&b, "#key-name", "production-bot").await;
    click(&b, "#create-dialog button[type=submit]").await;
    b.wait()
        .for_element(Locator::Css("#secret-value"))
        .await
        .unwrap();
    let modal = b
        .execute(
            "return document.getElementById('secret-dialog').matches(':modal')",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        modal,
        serde_json::Value::Bool(true),
        "the secret dialog is modal with JS"
    );
    let secret = b
        .find(Locator::Css("#secret-value"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(keydesk::domain::PlainKey::parse(&secret).is_ok());
    let v = axe_violations(&b).await;
    assert!(v.is_empty(), "secret dialog: {v:?}");
    screenshot(&b, "secret-dialog").await;

    b.issue_cmd(SetPermission("clipboard-read")).await.unwrap();
    b.issue_cmd(SetPermission("clipboard-write")).await.unwrap();
    click(&b, "[data-copy]").await;
    b.wait()
        .for_element(Locator::XPath(
            "//p[@id='copy-status'][normalize-space()!='']",
        ))
        .await
        .unwrap();
    let status = b
        .find(Locator::Css("#copy-status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(status, "Copied", "visible, announced feedback");
    let clip = b
        .execute_async(
            "const done = arguments[arguments.length-1]; navigator.clipboard.readText().then(done, e => done('ERR ' + e.name))",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        clip.as_str().unwrap(),
        secret,
        "the clipboard holds the key"
    );

    click(&b, "#secret-dialog button[type=submit]").await;
    wait_gone(&b, "#secret-value").await;
    b.wait()
        .for_element(Locator::Css("table.keys"))
        .await
        .unwrap();
    let source = b.source().await.unwrap();
    assert!(!source.contains(&secret), "the secret is gone after Done");
    assert!(source.contains(&secret[..12]), "the prefix is listed");
    b.close().await;
}

#[tokio::test]
async fn without_javascript_the_create_flow_works_through_plain_pages() {
    let Some(b) = browser(false).await else {
        return;
    };
    let app = spawn_app().await;
    let base = base_of(&app);
    let user = app
        .create_user(
            "nojs@example.com",
            Role::Member,
            true,
            &[(WalletKind::External, &random_address())],
        )
        .await;
    browser_login(&b, &base, &user).await;
    click(&b, "#create-button").await;
    wait_for_path(&b, "/settings/api-keys/new").await;
    fill(&b, "#key-name", "nojs-bot").await;
    click(&b, "main form button[type=submit]").await;
    b.wait()
        .for_element(Locator::Css("#secret-value"))
        .await
        .unwrap();
    let secret = b
        .find(Locator::Css("#secret-value"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(secret.starts_with("phy_"));
    assert!(
        b.find(Locator::Css("#secret-value"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "visible without JS"
    );
    screenshot(&b, "nojs-secret").await;
    assert!(
        !b.find(Locator::Css("#secret-dialog [data-copy]"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "without JS there is no Copy button (the text is selectable)"
    );
    click(&b, "#secret-dialog button[type=submit]").await;
    // the POST response has the same path: wait for the dialog to go, not for the URL
    wait_gone(&b, "#secret-value").await;
    let source = b.source().await.unwrap();
    assert!(!source.contains(&secret));
    assert!(source.contains("nojs-bot"));
    b.close().await;
}

#[tokio::test]
async fn every_eligibility_state_is_accessible() {
    let Some(b) = browser(true).await else { return };
    let app = spawn_app().await;
    let base = base_of(&app);
    type State<'a> = (&'a str, bool, Vec<(WalletKind, String)>);
    let states: Vec<State> = vec![
        (
            "flag@example.com",
            false,
            vec![(WalletKind::External, random_address())],
        ),
        ("none@example.com", true, vec![]),
        (
            "cust@example.com",
            true,
            vec![
                (WalletKind::Custodial, random_address()),
                (WalletKind::Embedded, random_address()),
            ],
        ),
        (
            "full@example.com",
            true,
            vec![(WalletKind::External, random_address())],
        ),
    ];
    for (email, enabled, wallets) in states {
        let w: Vec<(WalletKind, &str)> = wallets.iter().map(|(k, a)| (*k, a.as_str())).collect();
        let u = app.create_user(email, Role::Member, enabled, &w).await;
        if email.starts_with("full") {
            app.login(&u.email, &u.password).await;
            for i in 0..10 {
                app.create_key_secret(&format!("worker-{i}")).await;
            }
        }
        b.delete_all_cookies().await.unwrap();
        browser_login(&b, &base, &u).await;
        let text = b
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.contains("You can't create keys yet"),
            "{email}: {text}"
        );
        let v = axe_violations(&b).await;
        assert!(v.is_empty(), "{email}: {v:?}");
        screenshot(&b, &format!("state-{}", email.split('@').next().unwrap())).await;
    }
    b.close().await;
}

async fn open_action(b: &Client, key_name: &str, action: &str) {
    let row = format!("//tr[th[normalize-space()='{key_name}']]");
    b.find(Locator::XPath(&format!("{row}//summary")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find(Locator::XPath(&format!(
        "{row}//a[contains(@href, '/{action}')]"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
}

async fn dialog_open(b: &Client, id: &str) -> bool {
    b.execute(
        &format!("return document.getElementById('{id}').open"),
        vec![],
    )
    .await
    .unwrap()
        == serde_json::Value::Bool(true)
}

#[tokio::test]
async fn row_actions_work_through_their_dialogs() {
    let Some(b) = browser(true).await else { return };
    let app = spawn_app().await;
    let base = base_of(&app);
    let user = app
        .create_user(
            "rows@example.com",
            Role::Member,
            true,
            &[(WalletKind::External, &random_address())],
        )
        .await;
    app.login(&user.email, &user.password).await;
    app.create_key_secret("alpha").await;
    let secret = app.create_key_secret("beta").await;
    browser_login(&b, &base, &user).await;

    // rename
    open_action(&b, "alpha", "name").await;
    assert!(dialog_open(&b, "rename-dialog").await);
    let v = axe_violations(&b).await;
    assert!(v.is_empty(), "rename dialog: {v:?}");
    let field = b.find(Locator::Css("#rename-name")).await.unwrap();
    assert_eq!(field.prop("value").await.unwrap().unwrap(), "alpha");
    field.clear().await.unwrap();
    field.send_keys("alpha-renamed").await.unwrap();
    click(&b, "#rename-dialog button[type=submit]").await;
    b.wait()
        .for_element(Locator::XPath(
            "//div[@class='flash'][contains(., 'Renamed to')]",
        ))
        .await
        .unwrap();

    // change expiration to never
    open_action(&b, "alpha-renamed", "expiration").await;
    assert!(dialog_open(&b, "expiration-dialog").await);
    let v = axe_violations(&b).await;
    assert!(v.is_empty(), "expiration dialog: {v:?}");
    b.find(Locator::Css("#edit-expiration"))
        .await
        .unwrap()
        .select_by_value("never")
        .await
        .unwrap();
    click(&b, "#expiration-dialog button[type=submit]").await;
    b.wait()
        .for_element(Locator::XPath(
            "//div[@class='flash'][contains(., 'now never expires')]",
        ))
        .await
        .unwrap();

    // revoke: the confirmation names the key; Cancel has the focus
    open_action(&b, "beta", "revoke").await;
    assert!(dialog_open(&b, "revoke-dialog").await);
    let title = b
        .find(Locator::Css("#revoke-title"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(title, "Revoke “beta”?");
    let focused = b
        .execute("return document.activeElement.textContent.trim()", vec![])
        .await
        .unwrap();
    assert_eq!(focused.as_str().unwrap(), "Cancel");
    let v = axe_violations(&b).await;
    assert!(v.is_empty(), "revoke dialog: {v:?}");
    screenshot(&b, "revoke-dialog").await;
    click(&b, "#revoke-dialog button[type=submit]").await;
    b.wait()
        .for_element(Locator::XPath(
            "//div[@class='flash'][contains(., 'Revoked “beta”')]",
        ))
        .await
        .unwrap();
    assert_eq!(
        app.me(Some(&format!("Bearer {secret}"))).await.status(),
        401
    );
    b.close().await;
}

#[tokio::test]
async fn row_actions_work_without_javascript() {
    let Some(b) = browser(false).await else {
        return;
    };
    let app = spawn_app().await;
    let base = base_of(&app);
    let user = app
        .create_user(
            "rows-nojs@example.com",
            Role::Member,
            true,
            &[(WalletKind::External, &random_address())],
        )
        .await;
    app.login(&user.email, &user.password).await;
    let secret = app.create_key_secret("gamma").await;
    browser_login(&b, &base, &user).await;

    open_action(&b, "gamma", "name").await;
    let field = b
        .wait()
        .for_element(Locator::Css("#action-name"))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys("gamma-2").await.unwrap();
    click(&b, "main form button[type=submit]").await;
    b.wait()
        .for_element(Locator::XPath(
            "//div[@class='flash'][contains(., 'Renamed to')]",
        ))
        .await
        .unwrap();

    open_action(&b, "gamma-2", "expiration").await;
    b.wait()
        .for_element(Locator::Css("#action-expiration"))
        .await
        .unwrap()
        .select_by_value("7")
        .await
        .unwrap();
    click(&b, "main form button[type=submit]").await;
    b.wait()
        .for_element(Locator::XPath(
            "//div[@class='flash'][contains(., 'now expires')]",
        ))
        .await
        .unwrap();

    open_action(&b, "gamma-2", "revoke").await;
    b.wait()
        .for_element(Locator::XPath("//h1[starts-with(., 'Revoke')]"))
        .await
        .unwrap();
    let text = b
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("Revoke “gamma-2”?") && text.contains("can't be undone"),
        "{text}"
    );
    click(&b, "main form button[type=submit]").await;
    b.wait()
        .for_element(Locator::XPath(
            "//div[@class='flash'][contains(., 'Revoked “gamma-2”')]",
        ))
        .await
        .unwrap();
    assert_eq!(
        app.me(Some(&format!("Bearer {secret}"))).await.status(),
        401
    );
    b.close().await;
}

#[tokio::test]
async fn hostile_names_and_user_agents_render_inert_on_support_pages() {
    let Some(b) = browser(true).await else { return };
    let app = spawn_app().await;
    let base = base_of(&app);
    let victim = app
        .create_user(
            "victim@example.com",
            Role::Member,
            true,
            &[(WalletKind::External, &random_address())],
        )
        .await;
    let payloads = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(2)>",
        "{{7*7}}",
        "abc\u{202e}gnp.exe",
    ];
    // Hostile key names straight into the database (the form refuses some of them), and
    // hostile user agents through real logins.
    let mut c = app.conn().await;
    for (i, name) in payloads.iter().enumerate() {
        let key = keydesk::domain::PlainKey::generate();
        let hasher = keydesk::domain::KeyHasher::new(&[7; 32]);
        keydesk::db::api_keys::create_for_account(
            &mut c,
            keydesk::db::api_keys::NewKey {
                account_id: victim.id,
                name: (*name).to_owned(),
                prefix: key.display_prefix().to_owned(),
                tail: Some(key.display_tail().to_owned()),
                note: name.chars().take(280).collect(),
                expiry_days: None,
                hash: hasher.hash(&key).0.to_vec(),
                hash_version: keydesk::domain::key::HASH_VERSION,
                scopes: vec![keydesk::domain::Scope::VmBuyCrypto],
                request_id: Some(uuid::Uuid::new_v4()),
                expires_at: None,
                rate_limit: None,
            },
            &origin(),
        )
        .await
        .unwrap();
        let (_, html) = app.get_html("/login").await;
        let token = csrf_in(&html);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("csrf_token", token.as_str()),
                ("email", victim.email.as_str()),
                ("password", "wrong"),
            ])
            .finish();
        let ua = payloads[i].replace('\u{202e}', "");
        app.client
            .post(format!("{}/login", app.address))
            .header("cookie", app.cookies())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("user-agent", ua)
            .body(body)
            .send()
            .await
            .unwrap();
    }
    let staff = app
        .create_user("staff@example.com", Role::Support, false, &[])
        .await;
    browser_login(&b, &base, &staff).await;
    b.goto(&format!("{base}/support?q=victim")).await.unwrap();
    b.goto(&format!("{base}/support/accounts/{}", victim.id))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(b.get_alert_text().await.is_err(), "no dialog fired");
    let text = b
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("<script>alert(1)</script>"), "shown as text");
    assert!(
        text.contains("{{7*7}}"),
        "template syntax shown, not evaluated"
    );
    assert!(
        text.contains("abc[U+202E]gnp.exe"),
        "a text-direction override is shown, not obeyed"
    );
    let imgs = b
        .execute(
            "return document.querySelectorAll('main img').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(imgs, serde_json::json!(0));
    let v = axe_violations(&b).await;
    assert!(v.is_empty(), "support account page: {v:?}");
    screenshot(&b, "support-account").await;
    b.goto(&format!("{base}/support?q=victim")).await.unwrap();
    let v = axe_violations(&b).await;
    assert!(v.is_empty(), "support search: {v:?}");
    b.close().await;
}

fn ed25519_wallet() -> (ed25519_dalek::SigningKey, String) {
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let address = bs58::encode(key.verifying_key().as_bytes()).into_string();
    (key, address)
}

async fn start_wallet_link(b: &Client, base: &str, address: &str) {
    b.goto(&format!("{base}/settings/wallets")).await.unwrap();
    fill(b, "#wallet-address", address).await;
    click(b, "main form button[type=submit]").await;
    b.wait()
        .for_element(Locator::Css("#challenge-message"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_browser_wallet_signs_the_challenge_through_the_pages_script() {
    use base64::Engine;
    let Some(b) = browser(true).await else { return };
    let app = spawn_app().await;
    let base = base_of(&app);
    let user = app
        .create_user("wallet@example.com", Role::Member, true, &[])
        .await;
    browser_login(&b, &base, &user).await;
    let (key, address) = ed25519_wallet();
    start_wallet_link(&b, &base, &address).await;
    let v = axe_violations(&b).await;
    assert!(v.is_empty(), "challenge page: {v:?}");
    screenshot(&b, "wallet-challenge").await;

    // An injected provider shaped like window.solana, signing with WebCrypto Ed25519.
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwk = serde_json::json!({
        "kty": "OKP", "crv": "Ed25519",
        "d": b64.encode(key.to_bytes()),
        "x": b64.encode(key.verifying_key().as_bytes()),
    });
    b.execute(
        "const jwk = arguments[0], address = arguments[1];
         window.solana = {
           publicKey: { toBase58: () => address },
           connect: async () => ({ publicKey: window.solana.publicKey }),
           signMessage: async (msg) => {
             const k = await crypto.subtle.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['sign']);
             return { signature: new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, k, msg)) };
           },
         };",
        vec![jwk, serde_json::json!(address)],
    )
    .await
    .unwrap();
    click(&b, "[data-sign-with-wallet]").await;
    b.wait()
        .for_element(Locator::XPath(
            "//div[@class='flash'][contains(., 'Linked wallet')]",
        ))
        .await
        .unwrap();
    b.goto(&format!("{base}/settings/api-keys")).await.unwrap();
    let text = b
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("You can't create keys yet"), "{text}");
    b.close().await;
}

#[tokio::test]
async fn a_pasted_signature_links_a_wallet_without_javascript() {
    use ed25519_dalek::Signer;
    let Some(b) = browser(false).await else {
        return;
    };
    let app = spawn_app().await;
    let base = base_of(&app);
    let user = app
        .create_user("paste@example.com", Role::Member, true, &[])
        .await;
    browser_login(&b, &base, &user).await;
    let (key, address) = ed25519_wallet();
    start_wallet_link(&b, &base, &address).await;
    let message = b
        .find(Locator::Css("#challenge-message"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    let sig = bs58::encode(key.sign(message.as_bytes()).to_bytes()).into_string();
    assert!(
        !b.find(Locator::Css("[data-sign-with-wallet]"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "no wallet button without JS"
    );
    fill(&b, "#signature", &sig).await;
    click(&b, "#link-form button[type=submit]").await;
    b.wait()
        .for_element(Locator::XPath(
            "//div[@class='flash'][contains(., 'Linked wallet')]",
        ))
        .await
        .unwrap();
    b.close().await;
}

/// Whether the page scrolls sideways (its content is wider than the window).
pub(crate) async fn scrolls_sideways(c: &Client) -> bool {
    c.execute(
        "return document.documentElement.scrollWidth > window.innerWidth",
        vec![],
    )
    .await
    .unwrap()
    .as_bool()
    .unwrap()
}

#[tokio::test]
async fn the_key_detail_page_is_accessible_and_fits_at_1280_and_390() {
    let Some(b) = browser(true).await else { return };
    let app = spawn_app().await;
    let base = base_of(&app);
    let u = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("nightly-buyback-bot").await;
    for _ in 0..5 {
        app.me(Some(&format!("Bearer {secret}"))).await;
    }
    app.usage.flush_now().await;
    app.last_used.flush_now().await;
    browser_login(&b, &base, &u).await;
    let link = b
        .find(Locator::LinkText("nightly-buyback-bot"))
        .await
        .expect("the list links the key's name to its page");
    link.click().await.unwrap();
    wait_for_path_prefix(&b, "/settings/api-keys/").await;
    for (w, h) in [(1280, 900), (390, 844)] {
        b.set_window_size(w, h).await.unwrap();
        b.refresh().await.unwrap();
        let text = b
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains("Requests") && text.contains("Where it's used from"));
        assert!(
            !b.find_all(Locator::Css("svg rect.bar-ok"))
                .await
                .unwrap()
                .is_empty(),
            "the chart has bars"
        );
        let v = axe_violations(&b).await;
        assert!(v.is_empty(), "{w}px: {v:?}");
        assert!(
            !scrolls_sideways(&b).await,
            "{w}px: the page scrolls sideways"
        );
        screenshot(&b, &format!("detail-{w}")).await;
    }
    b.set_window_size(1280, 900).await.unwrap();
    b.close().await;
}

#[tokio::test]
async fn an_exposed_key_page_is_accessible_and_a_long_reported_url_fits_at_1280_and_390() {
    let Some(b) = browser(true).await else { return };
    let app = spawn_app().await;
    let base = base_of(&app);
    let u = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("leaky-bot").await;
    let id = app.key_id_of(&secret).await;
    let hasher = keydesk::domain::KeyHasher::new(app.settings.key_pepper.expose());
    let long_url = format!(
        "https://github.com/someone/bot/blob/{}/config.py",
        "a".repeat(1900)
    );
    let mut c = app.conn().await;
    keydesk::db::api_keys::revoke_exposed(
        &mut c,
        &[keydesk::db::api_keys::Sighting {
            hash: hasher.hash(&keydesk::domain::PlainKey::parse(&secret).unwrap()),
            url: Some(long_url),
            source: Some("commit".into()),
        }],
        keydesk::domain::RevokeReason::Exposed,
        "github",
        &origin(),
    )
    .await
    .unwrap();
    let staff = app
        .create_user("exposure-staff@example.com", Role::Support, false, &[])
        .await;
    browser_login(&b, &base, &u).await;
    for (w, h) in [(1280, 900), (390, 844)] {
        b.set_window_size(w, h).await.unwrap();
        for p in [
            format!("/settings/api-keys/{id}"),
            "/settings/api-keys?show=all".to_owned(),
        ] {
            b.goto(&format!("{base}{p}")).await.unwrap();
            let text = b
                .find(Locator::Css("main"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(text.contains("Revoked — found exposed"), "{p}");
            let v = axe_violations(&b).await;
            assert!(v.is_empty(), "{w}px {p}: {v:?}");
            assert!(!scrolls_sideways(&b).await, "{w}px {p} scrolls sideways");
        }
        b.goto(&format!("{base}/settings/api-keys/{id}"))
            .await
            .unwrap();
        screenshot(&b, &format!("exposed-{w}")).await;
    }
    b.delete_all_cookies().await.unwrap();
    browser_login(&b, &base, &staff).await;
    b.set_window_size(1280, 900).await.unwrap();
    b.goto(&format!("{base}/support/accounts/{}", u.id))
        .await
        .unwrap();
    let v = axe_violations(&b).await;
    assert!(v.is_empty(), "support: {v:?}");
    b.close().await;
}

pub(crate) async fn wait_for_path_prefix(c: &Client, prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = c.current_url().await.unwrap();
        if url.path().starts_with(prefix) && url.path() != "/settings/api-keys/new" {
            return;
        }
        assert!(Instant::now() < deadline, "expected {prefix}…, at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn no_page_scrolls_sideways_with_a_64_character_name_from_390_to_1280() {
    let Some(b) = browser(true).await else { return };
    let app = spawn_app().await;
    let base = base_of(&app);
    let u = app.eligible_user_logged_in().await;
    let long = "x".repeat(64);
    let secret = app.create_key_secret(&long).await;
    app.me(Some(&format!("Bearer {secret}"))).await;
    app.usage.flush_now().await;
    app.create_key_secret("marketplace-bot").await;
    let mut c = app.conn().await;
    let id: uuid::Uuid = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        keydesk::db::schema::api_keys::table
            .filter(keydesk::db::schema::api_keys::name.eq(&long))
            .select(keydesk::db::schema::api_keys::id)
            .first(&mut c)
            .await
            .unwrap()
    };
    let staff = app
        .create_user("wide@example.com", Role::Support, false, &[])
        .await;
    let pages = [
        "/settings/api-keys".to_owned(),
        "/settings/api-keys?show=all".to_owned(),
        "/settings/api-keys/new".to_owned(),
        format!("/settings/api-keys/{id}"),
        format!("/settings/api-keys/{id}/revoke"),
        format!("/settings/api-keys/{id}/expiration"),
        "/settings/wallets".to_owned(),
    ];
    browser_login(&b, &base, &u).await;
    for (w, h) in [(1280, 900), (1024, 800), (800, 900), (390, 844)] {
        b.set_window_size(w, h).await.unwrap();
        for p in &pages {
            b.goto(&format!("{base}{p}")).await.unwrap();
            assert!(!scrolls_sideways(&b).await, "{w}px {p} scrolls sideways");
        }
        b.goto(&format!("{base}/settings/api-keys")).await.unwrap();
        screenshot(&b, &format!("keys-{w}")).await;
    }
    b.delete_all_cookies().await.unwrap();
    browser_login(&b, &base, &staff).await;
    for (w, h) in [(1280, 900), (390, 844)] {
        b.set_window_size(w, h).await.unwrap();
        b.goto(&format!("{base}/support/accounts/{}", u.id))
            .await
            .unwrap();
        let wide = b
            .execute(
                "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            !scrolls_sideways(&b).await,
            "{w}px support account page: {wide}"
        );
        screenshot(&b, &format!("support-{w}")).await;
    }
    b.set_window_size(1280, 900).await.unwrap();
    b.close().await;
}

/// The element that has focus: its tag and text.
pub(crate) async fn focused(c: &Client) -> String {
    c.execute(
        "const e = document.activeElement; return e.tagName + ':' + e.textContent.trim()",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap()
    .to_owned()
}

#[tokio::test]
async fn closing_a_row_dialog_gives_focus_back_to_the_rows_actions_button() {
    let Some(b) = browser(true).await else { return };
    let app = spawn_app().await;
    let base = base_of(&app);
    let u = app.eligible_user_logged_in().await;
    app.create_key_secret("focus-bot").await;
    browser_login(&b, &base, &u).await;
    for (action, close) in [
        ("name", "escape"),
        ("revoke", "cancel"),
        ("expiration", "escape"),
    ] {
        open_action(&b, "focus-bot", action).await;
        let dialog = format!(
            "{}-dialog",
            if action == "name" { "rename" } else { action }
        );
        assert!(dialog_open(&b, &dialog).await, "{action} dialog open");
        if close == "escape" {
            b.active_element()
                .await
                .unwrap()
                .send_keys("\u{e00c}")
                .await
                .unwrap();
        } else {
            click(&b, &format!("#{dialog} [data-close-dialog]")).await;
        }
        assert!(!dialog_open(&b, &dialog).await, "{action} dialog closed");
        let f = focused(&b).await;
        assert!(
            f.starts_with("SUMMARY:Actions") && f.contains("focus-bot"),
            "{action}/{close}: focus on {f}"
        );
    }
    b.close().await;
}

#[tokio::test]
async fn the_secret_asks_before_it_is_lost_shows_in_full_and_done_focuses_the_new_row() {
    let Some(b) = browser(true).await else { return };
    let app = spawn_app().await;
    let base = base_of(&app);
    let u = app.eligible_user_logged_in().await;
    browser_login(&b, &base, &u).await;
    for (w, h) in [(390, 844), (1280, 900)] {
        b.set_window_size(w, h).await.unwrap();
        b.goto(&format!("{base}/settings/api-keys")).await.unwrap();
        click(&b, "#create-button").await;
        b.wait()
            .for_element(Locator::Css("#create-dialog[open] #key-name"))
            .await
            .unwrap();
        let name = format!("careful-{w}");
        fill(&b, "#key-name", &name).await;
        click(&b, "#create-dialog button[type=submit]").await;
        b.wait()
            .for_element(Locator::Css("#secret-value"))
            .await
            .unwrap();
        let clipped = b
            .execute(
                "const i = document.getElementById('secret-value'); return i.scrollWidth > i.clientWidth ? (i.scrollWidth + ' > ' + i.clientWidth + ' at ' + window.innerWidth + ' font ' + getComputedStyle(i).fontSize) : false",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            clipped,
            serde_json::Value::Bool(false),
            "{w}px: all 42 characters visible"
        );
        screenshot(&b, &format!("secret-{w}")).await;
        // Done without copying asks; "stay" keeps the key on screen
        let done = Locator::Css("#secret-dialog [data-secret-done]");
        b.find(done).await.unwrap().click().await.unwrap();
        let ask = b.get_alert_text().await.unwrap();
        assert!(ask.contains("Did you copy the key?"), "{ask}");
        b.dismiss_alert().await.unwrap();
        assert!(
            dialog_open(&b, "secret-dialog").await,
            "still there after 'stay'"
        );
        // Escape asks too
        b.active_element()
            .await
            .unwrap()
            .send_keys("\u{e00c}")
            .await
            .unwrap();
        assert!(
            b.get_alert_text()
                .await
                .unwrap()
                .contains("won't be shown again")
        );
        b.dismiss_alert().await.unwrap();
        assert!(
            dialog_open(&b, "secret-dialog").await,
            "still there after Escape + 'stay'"
        );
        // leaving anyway: focus on the new row, a notice, no stray '?' in the address
        b.find(done).await.unwrap().click().await.unwrap();
        b.accept_alert().await.unwrap();
        wait_gone(&b, "#secret-value").await;
        let f = focused(&b).await;
        assert_eq!(f, format!("A:{name}"), "{w}px");
        let notice = b.find(Locator::Css("#created-notice")).await.unwrap();
        assert!(notice.is_displayed().await.unwrap());
        assert!(notice.text().await.unwrap().contains(&name));
        let url = b.current_url().await.unwrap();
        assert_eq!((url.path(), url.query()), ("/settings/api-keys", None));
    }
    b.set_window_size(1280, 900).await.unwrap();
    b.close().await;
}

#[tokio::test]
async fn notices_and_the_notifications_page_are_accessible_and_fit_at_1280_and_390() {
    let Some(b) = browser(true).await else { return };
    let app = spawn_app_with(TestDb::new().await, |s| {
        s.notify.webhook_allow_private = true;
    })
    .await;
    let base = base_of(&app);
    let u = app.eligible_user_logged_in().await;
    app.create_key_secret_with(&[("name", "nightly-buyback-bot"), ("expiration", "7")])
        .await;
    keydesk::notify::digest::run_once(&mut app.conn().await, Duration::from_secs(86_400))
        .await
        .unwrap();
    keydesk::db::notices::enqueue(
        &mut app.conn().await,
        keydesk::db::notices::NewNotice::wallet_unlinked(
            u.id,
            uuid::Uuid::new_v4(),
            &random_address(),
        ),
    )
    .await
    .unwrap();
    browser_login(&b, &base, &u).await;
    for (w, h) in [(1280, 900), (390, 844)] {
        b.set_window_size(w, h).await.unwrap();
        b.goto(&format!("{base}/settings/api-keys")).await.unwrap();
        let text = b
            .find(Locator::Css(".notices"))
            .await
            .expect("unread notices are listed on the keys page")
            .text()
            .await
            .unwrap();
        assert!(
            text.contains("nightly-buyback-bot") && text.contains("Roll"),
            "{text}"
        );
        let v = axe_violations(&b).await;
        assert!(v.is_empty(), "{w}px keys page with notices: {v:?}");
        assert!(
            !scrolls_sideways(&b).await,
            "{w}px: keys page scrolls sideways"
        );
        screenshot(&b, &format!("notices-{w}")).await;
    }
    // dismiss one: a plain form
    click(&b, ".notice-dismiss button").await;
    wait_for_path(&b, "/settings/api-keys").await;
    let left = b
        .find_all(Locator::Css(".notice-item"))
        .await
        .unwrap()
        .len();
    assert_eq!(left, 1);
    // the webhook's secret is shown once
    b.goto(&format!("{base}/settings/notifications"))
        .await
        .unwrap();
    fill(&b, "#webhook-url", "http://127.0.0.1:9/hook").await;
    b.find(Locator::Css(
        "form[action='/settings/notifications/webhook'] button[type=submit]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    let secret = b
        .wait()
        .for_element(Locator::Css("#webhook-secret"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    for (w, h) in [(1280, 900), (390, 844)] {
        b.set_window_size(w, h).await.unwrap();
        let v = axe_violations(&b).await;
        assert!(v.is_empty(), "{w}px notifications page: {v:?}");
        assert!(
            !scrolls_sideways(&b).await,
            "{w}px: notifications page scrolls sideways"
        );
        screenshot(&b, &format!("notifications-{w}")).await;
    }
    b.close().await;
}
