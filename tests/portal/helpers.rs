//! `spawn_app()` and the story-like helpers the tests are written with.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::Utc;
use concat_portal::auth::accounts::create_admin_cli;
use concat_portal::auth::password;
use concat_portal::clock::{Clock, ManualClock};
use concat_portal::db::models::outbox::{self, OutboxRow};
use concat_portal::db::{self, Pool};
use concat_portal::domain::{DisplayName, EmailAddress, NewPassword};
use concat_portal::email::{Dispatcher, Mailer, MemoryMailbox, SentEmail};
use concat_portal::settings::Settings;
use concat_portal::startup::{Application, Deps};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::cookie::CookieStore;

pub const PASSWORD: &str = "a long and unusual passphrase";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// The PostgreSQL server tests may create databases on, or `None` (skip) outside CI.
pub fn postgres_url() -> Option<String> {
    match std::env::var("PORTAL_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if ci() => panic!(
            "CI=true but PORTAL_TEST_POSTGRES_URL is not set: the PostgreSQL tests must run in CI"
        ),
        _ => {
            eprintln!("skipping the PostgreSQL variant: PORTAL_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

/// Runs each listed `async fn name(backend: Backend)` as `name::sqlite` and `name::postgres`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::helpers::postgres_url().is_some() {
                        super::$name($crate::helpers::Backend::Postgres).await
                    }
                }
            }
        )*
    };
}

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Test logs are silent unless `TEST_LOG` is set; either way they are also captured in memory
/// (every test of this binary writes there), so tests can assert what never appears in a log.
fn init_test_logs() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let capture = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(|| LogSink);
        let show = std::env::var("TEST_LOG")
            .is_ok()
            .then(|| tracing_subscriber::fmt::layer().with_test_writer());
        let _ = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(
                "info,concat_portal=trace",
            ))
            .with(capture)
            .with(show)
            .try_init();
    });
}

/// Everything logged so far by any test in this binary.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// A fresh database (and data directory) for one test; dropped with it.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>, // (server URL, database name)
}

fn with_database(server_url: &str, name: &str) -> String {
    let mut u = url::Url::parse(server_url).expect("PORTAL_TEST_POSTGRES_URL is a URL");
    u.set_path(&format!("/{name}"));
    u.to_string()
}

/// A migrated template database, created once per migration set and reused; each test copies it.
fn postgres_template(server_url: &str) -> String {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let mut digest = String::new();
            for backend in ["postgres"] {
                let mut entries: Vec<_> = walk(&format!(
                    "{}/migrations/{backend}",
                    env!("CARGO_MANIFEST_DIR")
                ));
                entries.sort();
                for path in entries {
                    digest.push_str(&path);
                    digest.push_str(&std::fs::read_to_string(&path).unwrap());
                }
            }
            let hash = &concat_portal::domain::sha256_hex(digest.as_bytes())[..12];
            let name = format!("portal_tpl_{hash}");
            let mut admin = PgConnection::establish(server_url).expect("connecting to PostgreSQL");
            admin
                .batch_execute("SELECT pg_advisory_lock(424242)")
                .unwrap();
            let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
                &format!("EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}')"),
            ))
            .get_result(&mut admin)
            .unwrap();
            if !exists {
                let building = format!("{name}_building");
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                    .unwrap();
                admin
                    .batch_execute(&format!("CREATE DATABASE {building}"))
                    .unwrap();
                {
                    let settings = concat_portal::settings::DatabaseSettings::parse(
                        &with_database(server_url, &building),
                        1,
                    )
                    .unwrap();
                    let mut conn = db::establish(&settings).unwrap();
                    db::run_migrations(&mut conn).unwrap();
                }
                admin
                    .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
                    .unwrap();
            }
            admin
                .batch_execute("SELECT pg_advisory_unlock(424242)")
                .unwrap();
            name
        })
        .clone()
}

fn walk(dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(walk(p.to_str().unwrap()));
        } else {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}

impl TestDb {
    pub fn new(backend: Backend) -> Arc<Self> {
        Self::create(backend, true)
    }

    /// A database with no tables at all (for the migration tests).
    pub fn empty(backend: Backend) -> Arc<Self> {
        Self::create(backend, false)
    }

    fn create(backend: Backend, from_template: bool) -> Arc<Self> {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Arc::new(TestDb {
                url: format!("sqlite://{}", dir.path().join("portal.db").display()),
                dir,
                pg: None,
            }),
            Backend::Postgres => {
                let server = postgres_url().expect("PostgreSQL URL");
                let name = format!("portal_t_{}", uuid::Uuid::new_v4().simple());
                static CREATE: Mutex<()> = Mutex::new(());
                let sql = if from_template {
                    format!(
                        "CREATE DATABASE {name} TEMPLATE {}",
                        postgres_template(&server)
                    )
                } else {
                    format!("CREATE DATABASE {name}")
                };
                let _guard = CREATE.lock().unwrap_or_else(|e| e.into_inner());
                let mut admin = PgConnection::establish(&server).expect("connecting to PostgreSQL");
                admin
                    .batch_execute(&sql)
                    .expect("creating the test database");
                Arc::new(TestDb {
                    url: with_database(&server, &name),
                    dir,
                    pg: Some((server, name)),
                })
            }
        }
    }

    pub fn settings(&self, extra: &[(&str, &str)]) -> Settings {
        let mut vars: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".into(), self.url.clone()),
            ("PORTAL_ADDR".into(), "127.0.0.1:0".into()),
            (
                "PORTAL_DATA_DIR".into(),
                self.dir.path().display().to_string(),
            ),
            ("PORTAL_BASE_URL".into(), "http://portal.test".into()),
            ("PORTAL_OUTBOX_DISPATCHER".into(), "false".into()),
            // Tests write API usage by hand (`flush_usage`) or at shutdown.
            ("PORTAL_API_USAGE_FLUSHER".into(), "false".into()),
            ("PORTAL_JOBS_SCHEDULER".into(), "false".into()),
            ("PORTAL_DB_POOL_SIZE".into(), "4".into()),
        ]);
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        Settings::from_lookup(|k| vars.get(k).cloned()).expect("test settings")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.pg {
            if let Ok(mut admin) = PgConnection::establish(server) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub clock: Arc<ManualClock>,
    pub mailbox: MemoryMailbox,
    pub pool: Pool,
    pub dispatcher: Dispatcher,
    pub db: Arc<TestDb>,
    pub setup_link: Option<String>,
    pub api: Arc<concat_portal::api::ApiRuntime>,
    /// The server's argon2 gate (tests read how many hashes it computed).
    pub passwords: Arc<concat_portal::auth::password::PasswordHasher>,
    /// Work the server does after answering; the mail and audit helpers wait for it.
    pub background: concat_portal::background::Background,
    handle: actix_web::dev::ServerHandle,
    served: Mutex<Option<tokio::task::JoinHandle<anyhow::Result<()>>>>,
    allow_unsent: bool,
}

pub fn client() -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    (client, jar)
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_on(TestDb::new(backend), &[], None).await
}

pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    spawn_app_on(TestDb::new(backend), extra, None).await
}

/// Starts the portal on an existing test database. `mailer: None` uses the in-memory mailbox.
pub async fn spawn_app_on(
    db: Arc<TestDb>,
    extra: &[(&str, &str)],
    mailer: Option<Mailer>,
) -> TestApp {
    init_test_logs();
    let settings = db.settings(extra);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mailbox = MemoryMailbox::default();
    let mailer = mailer.unwrap_or_else(|| Mailer::Memory(mailbox.clone()));
    let app = Application::build_with(
        settings,
        Deps {
            clock: clock.clone(),
            mailer: Some(mailer),
        },
    )
    .await
    .expect("the application builds");
    let port = app.port();
    let pool = app.pool();
    let dispatcher = app.dispatcher();
    let setup_link = app.setup_link().map(str::to_string);
    let handle = app.handle();
    let api = app.api();
    let passwords = app.passwords();
    let background = app.background();
    let served = tokio::spawn(app.run_until_stopped());
    let (client, jar) = client();
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client,
        jar,
        clock,
        mailbox,
        pool,
        dispatcher,
        db,
        setup_link,
        api,
        passwords,
        background,
        handle,
        served: Mutex::new(Some(served)),
        allow_unsent: false,
    }
}

/// The path of a link in an email (`http://portal.test/x/y` → `/x/y`).
pub fn path_of(link: &str) -> String {
    let u = url::Url::parse(link).expect("a link");
    u.path().to_string()
}

/// The first link in a text that starts with the base URL and contains `fragment`.
pub fn find_link(text: &str, fragment: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("http://portal.test/") && w.contains(fragment))
        .unwrap_or_else(|| panic!("no link with {fragment:?} in:\n{text}"))
        .to_string()
}

pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf-token\" content=\"";
    let start = html.find(marker).expect("a csrf meta tag") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_with(&self.client, path).await
    }

    pub async fn get_with(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_html(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.text().await.unwrap()
    }

    /// The session's CSRF token, read from a page like a browser would.
    pub async fn csrf_with(&self, client: &reqwest::Client) -> String {
        let res = self.get_with(client, "/forgot-password").await;
        csrf_of(&res.text().await.unwrap())
    }

    /// Posts a form with the session's CSRF token, as the page's form would.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.post_form_with(&self.client, path, fields).await
    }

    pub async fn post_form_with(
        &self,
        client: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let token = self.csrf_with(client).await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        client
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .expect("POST")
    }

    /// Posts without a CSRF token (or with the one given).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    pub fn session_cookie(&self) -> Option<String> {
        let url = self.address.parse().unwrap();
        self.jar
            .cookies(&url)
            .map(|v| v.to_str().unwrap().to_string())
    }

    pub async fn create_admin(&self, email: &str, name: &str) {
        self.create_admin_with_password(email, name, PASSWORD).await;
    }

    pub async fn create_admin_with_password(&self, email: &str, name: &str, pw: &str) {
        self.insert_user(email, name, pw, true).await;
    }

    /// Inserts a user through the same code the CLI and the invitation flow use.
    async fn insert_user(&self, email: &str, name: &str, pw: &str, admin: bool) -> String {
        use concat_portal::auth::accounts::insert_user;
        let pw = NewPassword::parse(pw).unwrap();
        let hash = tokio::task::spawn_blocking(move || password::hash_now(&pw))
            .await
            .unwrap()
            .unwrap();
        let (email, name) = (
            EmailAddress::parse(email).unwrap(),
            DisplayName::parse(name).unwrap(),
        );
        let now = self.clock.now_naive();
        db::run(&self.pool, move |c| {
            if admin {
                Ok(create_admin_cli(c, &email, &name, &hash, now)?.id)
            } else {
                Ok(insert_user(c, &email, &name, Some(&hash), false, now)?.id)
            }
        })
        .await
        .unwrap()
    }

    pub async fn login_with(
        &self,
        client: &reqwest::Client,
        email: &str,
        pw: &str,
    ) -> reqwest::Response {
        self.post_form_with(client, "/login", &[("email", email), ("password", pw)])
            .await
    }

    pub async fn login(&self, email: &str, pw: &str) -> reqwest::Response {
        self.login_with(&self.client, email, pw).await
    }

    /// Signs in and checks it worked.
    pub async fn login_ok(&self, email: &str) {
        let res = self.login(email, PASSWORD).await;
        assert_eq!(res.status(), 303, "login of {email} failed");
    }

    /// Runs the outbox dispatcher once and returns what was delivered to the test mailbox.
    pub async fn deliver_emails(&self) -> Vec<SentEmail> {
        self.background.idle().await;
        self.dispatcher.run_once().await.expect("dispatch");
        self.mailbox.take()
    }

    /// Delivers and expects exactly one email, to `to`.
    pub async fn one_email_to(&self, to: &str) -> SentEmail {
        let mut sent = self.deliver_emails().await;
        assert_eq!(
            sent.len(),
            1,
            "expected one email, got {:?}",
            sent.iter().map(|e| (&e.to, &e.subject)).collect::<Vec<_>>()
        );
        let email = sent.remove(0);
        assert_eq!(email.to, to);
        email
    }

    pub async fn unsent(&self) -> Vec<OutboxRow> {
        self.background.idle().await;
        db::run(&self.pool, |c| Ok(outbox::unsent(c)?))
            .await
            .unwrap()
    }

    /// This test leaves queued mail on purpose.
    pub fn allow_unsent_mail(&mut self) {
        self.allow_unsent = true;
    }

    pub async fn audit_actions(&self) -> Vec<String> {
        use concat_portal::db::models::audit;
        self.background.idle().await;
        db::run(&self.pool, |c| Ok(audit::recent(c, 1000)?))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.action)
            .collect()
    }

    /// Stops the server (as a restart or a crash would), keeping the database.
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    /// Stops gracefully and waits until `run_until_stopped` has finished (final usage flush).
    pub async fn shutdown(&self) {
        self.handle.stop(true).await;
        let served = self.served.lock().unwrap().take();
        if let Some(task) = served {
            task.await.expect("the server task").expect("served");
        }
    }

    /// Writes the API usage counted in memory so far.
    pub async fn flush_usage(&self) -> concat_portal::gateway::usage::Flushed {
        self.api.flush(&self.pool).await.expect("usage flushed")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        drop(handle.stop(false));
        if std::thread::panicking() {
            return;
        }
        let unread = self.mailbox.take();
        assert!(
            unread.is_empty(),
            "the test left delivered emails it did not read: {:?}",
            unread
                .iter()
                .map(|e| (&e.to, &e.subject))
                .collect::<Vec<_>>()
        );
        if !self.allow_unsent {
            let pool = self.pool.clone();
            let unsent = std::thread::spawn(move || {
                let mut c = pool.get().unwrap();
                outbox::unsent(&mut c).unwrap()
            })
            .join()
            .unwrap();
            assert!(
                unsent.is_empty(),
                "the test left emails in the outbox it did not expect: {:?}",
                unsent
                    .iter()
                    .map(|r| (&r.recipient, &r.subject))
                    .collect::<Vec<_>>()
            );
        }
    }
}

impl TestApp {
    /// A user who is not a ConCat admin (later issues attach such users to accounts and orgs).
    pub async fn create_user(&self, email: &str, name: &str) -> String {
        self.insert_user(email, name, PASSWORD, false).await
    }

    pub async fn user_id(&self, email: &str) -> String {
        use concat_portal::db::models::users;
        let e = email.to_lowercase();
        db::run(&self.pool, move |c| Ok(users::find_by_email(c, &e)?))
            .await
            .unwrap()
            .expect("user exists")
            .id
    }
}

impl TestApp {
    /// Today's date on the test clock, as the filters take it.
    pub fn clock_date(&self) -> String {
        self.clock.now().format("%Y-%m-%d").to_string()
    }
}

/// A valid "request access" form; tests override single fields.
pub fn access_form(email: &str, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = [
        ("name", "Dana Developer"),
        ("company", "Ticketly Ltd"),
        ("website", "https://ticketly.example"),
        ("email", email),
        ("phone", "+44 20 7946 0000"),
        ("app_name", "Ticketly Sync"),
        (
            "use_case",
            "We sync ticket sales from ConCat events into our box-office system.",
        ),
        ("customers", "Acme Events\nGlobex Conferences"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in overrides {
        if let Some(f) = fields.iter_mut().find(|(name, _)| name == k) {
            f.1 = v.to_string();
        }
    }
    fields
}

/// The secret on a "shown once" page.
pub fn secret_in(html: &str) -> Option<String> {
    let start = html.find("cc_sk_")?;
    Some(html[start..start + 56].to_string())
}

/// A developer whose access was approved and who revealed the first secret.
pub struct Developer {
    pub client: reqwest::Client,
    pub api_id: String,
    pub secret: String,
    pub integration_id: String,
    pub account_id: String,
}

pub const ADMIN_EMAIL: &str = "ada@concat.test";

impl TestApp {
    /// Submits the request form only: the request stays unconfirmed (invisible to admins).
    pub async fn submit_access_request(
        &self,
        client: &reqwest::Client,
        email: &str,
        overrides: &[(&str, &str)],
    ) -> reqwest::Response {
        let fields = access_form(email, overrides);
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post_form_with(client, "/request-access", &refs).await
    }

    /// The confirmation link (a path) of the newest "we received your request" email to
    /// `email` that is still in the outbox (read there, so the test still receives the email).
    pub async fn confirmation_link(&self, email: &str) -> String {
        let row = self
            .unsent()
            .await
            .into_iter()
            .filter(|r| r.kind == "access_request_received" && r.recipient == email)
            .max_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)))
            .expect("a confirmation email in the outbox");
        path_of(&find_link(&row.body_text, "/access-requests/confirm/"))
    }

    /// Opens a confirmation link and presses "Confirm request"; returns the POST's response.
    pub async fn confirm_access_request(
        &self,
        client: &reqwest::Client,
        link: &str,
    ) -> reqwest::Response {
        let page = self.get_with(client, link).await;
        assert_eq!(page.status(), 200, "the confirmation page");
        assert!(page.text().await.unwrap().contains("Confirm request"));
        self.post_form_with(client, link, &[]).await
    }

    /// Submits the request form and, when it was accepted, confirms it through the link in the
    /// email, as the requester would; returns the form's response.
    pub async fn request_access_with(
        &self,
        client: &reqwest::Client,
        email: &str,
        overrides: &[(&str, &str)],
    ) -> reqwest::Response {
        let res = self.submit_access_request(client, email, overrides).await;
        if res.status() == 200 {
            let link = self.confirmation_link(email).await;
            let confirmed = self.confirm_access_request(client, &link).await;
            assert_eq!(confirmed.status(), 200, "confirming the request");
        }
        res
    }

    /// A signed-in ConCat admin client (creating the admin on first use).
    pub async fn admin(&self) -> reqwest::Client {
        use concat_portal::db::models::users;
        let exists = db::run(&self.pool, |c| Ok(users::find_by_email(c, ADMIN_EMAIL)?))
            .await
            .unwrap()
            .is_some();
        if !exists {
            self.create_admin(ADMIN_EMAIL, "Ada").await;
        }
        let (admin, _) = client();
        assert_eq!(
            self.login_with(&admin, ADMIN_EMAIL, PASSWORD)
                .await
                .status(),
            303
        );
        admin
    }

    pub async fn request_id_for(&self, email: &str) -> String {
        use concat_portal::db::schema::access_requests as r;
        use diesel::prelude::*;
        let e = email.to_lowercase();
        db::run(&self.pool, move |c| {
            Ok(r::table
                .filter(r::contact_email_normalized.eq(e))
                .order((r::created_at.desc(), r::id.desc()))
                .select(r::id)
                .first::<String>(c)?)
        })
        .await
        .unwrap()
    }

    /// Request → approve → welcome link → password → the secret, all over HTTP. Consumes the
    /// emails this produces.
    pub async fn approved_developer(&self, email: &str, company: &str) -> Developer {
        let (dev, _) = client();
        let res = self
            .request_access_with(
                &dev,
                email,
                &[
                    ("company", company),
                    ("app_name", &format!("{company} App")),
                ],
            )
            .await;
        assert_eq!(res.status(), 200, "request access");
        let admin = self.admin().await;
        let id = self.request_id_for(email).await;
        assert_eq!(
            self.post_form_with(&admin, &format!("/admin/requests/{id}/approve"), &[])
                .await
                .status(),
            303
        );
        let mut welcome = None;
        for e in self.deliver_emails().await {
            if e.to == email && e.kind == "access_approved" {
                welcome = Some(path_of(&find_link(&e.text, "/welcome/")));
            }
        }
        let welcome = welcome.expect("an approval email");
        let page = self
            .post_form_with(
                &dev,
                &welcome,
                &[("password", PASSWORD), ("confirm", PASSWORD)],
            )
            .await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let secret = secret_in(&html).expect("the secret is shown");
        let api_id = api_id_in(&html);
        let (integration_id, account_id) = self.integration_of(&api_id).await;
        Developer {
            client: dev,
            api_id,
            secret,
            integration_id,
            account_id,
        }
    }

    pub async fn integration_of(&self, api_id: &str) -> (String, String) {
        use concat_portal::db::models::integrations;
        let a = api_id.to_string();
        let i = db::run(&self.pool, move |c| {
            Ok(integrations::find_by_api_id(c, &a)?)
        })
        .await
        .unwrap()
        .expect("integration");
        (i.id, i.account_id)
    }

    /// Whether `Bearer <api id>:<secret>` is accepted now, asked of the running API. A refusal
    /// must be the documented one: 401, `WWW-Authenticate`, the JSON error and rate headers.
    pub async fn credentials_valid(&self, api_id: &str, secret: &str) -> bool {
        let res = client()
            .0
            .get(self.url("/api/v1/me"))
            .header("Authorization", format!("Bearer {api_id}:{secret}"))
            .send()
            .await
            .expect("the API answers");
        let challenge = res
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap_or("").to_string());
        let (status, body) = api_json(res).await;
        match status {
            200 => true,
            401 => {
                assert_eq!(
                    body,
                    serde_json::json!({"error": "Invalid API credentials"})
                );
                assert!(
                    challenge.as_deref().is_some_and(|c| c.contains("Bearer")),
                    "WWW-Authenticate on a 401: {challenge:?}"
                );
                false
            }
            other => panic!("GET /api/v1/me answered {other}: {body}"),
        }
    }
}

impl TestApp {
    /// Fails if `secret` appears in any email delivered so far, or in any captured log line.
    pub fn assert_secret_never_leaked(&self, secret: &str) {
        for e in self.mailbox.history() {
            assert!(
                !e.text.contains(secret) && !e.html.contains(secret) && !e.subject.contains(secret),
                "a secret in the email {:?}",
                e.subject
            );
        }
        assert!(
            !captured_logs().contains(secret),
            "a secret reached the logs"
        );
    }
}

/// HTML with the entities askama writes turned back into characters, for text assertions.
pub fn unescaped(html: &str) -> String {
    html.replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl TestApp {
    /// Creates an organization through the admin page and returns its public ID, with its first
    /// admin signed in.
    pub async fn org_with_admin(&self, name: &str, email: &str) -> (String, reqwest::Client) {
        let admin = self.admin().await;
        let res = self
            .post_form_with(
                &admin,
                "/admin/organizations",
                &[
                    ("name", name),
                    ("admin_name", "Olga Org"),
                    ("admin_email", email),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let page = self
            .get_with(&admin, "/admin/organizations")
            .await
            .text()
            .await
            .unwrap();
        let at = page.find(name).expect("listed");
        let public_id = page[at..][page[at..].find("org_").unwrap()..][..20].to_string();
        let invite = self.one_email_to(email).await;
        assert!(invite.text.contains(&format!("an administrator of {name}")));
        let client = self.accept_invitation(&invite).await;
        assert_eq!(
            self.login_with(&client, email, PASSWORD).await.status(),
            303
        );
        (public_id, client)
    }
}

/// The API ID shown on a page or in an email (`cc_id_` + 24 characters).
pub fn api_id_in(text: &str) -> String {
    let start = text.find("cc_id_").expect("an API ID");
    text[start..start + 30].to_string()
}

/// The id of the first authorization with actions on an organization's Integrations page.
pub fn first_authorization_id(html: &str) -> String {
    let start = html
        .find("/integrations/")
        .expect("an authorization action")
        + "/integrations/".len();
    html[start..].split('/').next().unwrap().to_string()
}

impl TestApp {
    /// Follows an invitation email's set-password link (someone without an account) in a new
    /// client, choosing `PASSWORD`, which creates the account and accepts.
    pub async fn accept_invitation(&self, invite: &SentEmail) -> reqwest::Client {
        let (client, _) = client();
        let link = path_of(&find_link(&invite.text, "/set-password/"));
        let res = self
            .post_form_with(
                &client,
                &link,
                &[("password", PASSWORD), ("confirm", PASSWORD)],
            )
            .await;
        assert_eq!(
            res.status(),
            303,
            "setting the password through the invitation"
        );
        client
    }

    /// Someone with an account accepts an invitation: `client` is signed in as the invited
    /// email; opens the link and presses Accept. Returns the POST's response.
    pub async fn accept_invitation_as(
        &self,
        client: &reqwest::Client,
        invite: &SentEmail,
    ) -> reqwest::Response {
        let link = path_of(&find_link(&invite.text, "/invitations/"));
        let page = self.get_with(client, &link).await;
        assert_eq!(page.status(), 200, "the invitation page");
        assert!(page.text().await.unwrap().contains("Accept invitation"));
        self.post_form_with(client, &link, &[]).await
    }
}

/// An approved developer whose integration an organization authorized.
pub struct ApiFixture {
    pub dev: Developer,
    pub org: String,
    pub olga: reqwest::Client,
    pub auth_id: String,
}

impl TestApp {
    /// Authorizes `api_id` for the organization with the given scopes (`events_read`,
    /// `events_write`), reads the developer's email, and returns the authorization id.
    pub async fn authorize(
        &self,
        org_admin: &reqwest::Client,
        org: &str,
        api_id: &str,
        scopes: &[&str],
        developer_email: &str,
    ) -> String {
        let page = format!("/org/{org}/integrations");
        let mut fields = vec![("api_id", api_id)];
        fields.extend(scopes.iter().map(|s| (*s, "on")));
        let res = self
            .post_form_with(org_admin, &format!("{page}/authorize"), &fields)
            .await;
        assert_eq!(res.status(), 303, "authorized");
        self.one_email_to(developer_email).await;
        let listing = self.get_with(org_admin, &page).await.text().await.unwrap();
        let at = listing.find(api_id).expect("listed");
        first_authorization_id(&listing[at..])
    }

    /// Dana of Ticketly, authorized by Acme Events (Olga) with `scopes`.
    pub async fn api_fixture(&self, scopes: &[&str]) -> ApiFixture {
        let dev = self
            .approved_developer("dana@ticketly.example", "Ticketly")
            .await;
        let (org, olga) = self
            .org_with_admin("Acme Events", "olga@acme.example")
            .await;
        let auth_id = self
            .authorize(&olga, &org, &dev.api_id, scopes, "dana@ticketly.example")
            .await;
        ApiFixture {
            dev,
            org,
            olga,
            auth_id,
        }
    }

    /// Adds `n` events to the organization directly in the database (seed data), starting a
    /// day apart from 2027-01-01; returns their public ids in start order.
    pub async fn seed_events(&self, org_public_id: &str, n: usize) -> Vec<String> {
        use concat_portal::db::models::{events, organizations};
        use concat_portal::domain::new_event_public_id;
        let org = org_public_id.to_string();
        let now = self.clock.now_naive();
        db::run(&self.pool, move |c| {
            let o = organizations::find_by_public_id(c, &org)?.expect("org");
            let start = chrono::NaiveDate::from_ymd_opt(2027, 1, 1)
                .unwrap()
                .and_hms_opt(18, 0, 0)
                .unwrap();
            let mut ids = Vec::new();
            for k in 0..n {
                let id = new_event_public_id();
                let starts_at = start + chrono::Duration::days(k as i64);
                events::insert(
                    c,
                    &db::new_id(),
                    &id,
                    &o.id,
                    &events::EventFields {
                        name: &format!("Event {k}"),
                        starts_at,
                        ends_at: starts_at + chrono::Duration::hours(4),
                        time_zone: "Europe/Berlin",
                        venue: "Hall",
                        status: "published",
                    },
                    now,
                )?;
                ids.push(id);
            }
            Ok(ids)
        })
        .await
        .unwrap()
    }

    /// Rows of `api_usage`: (api_id, organization_id, event_id, endpoint, status) → requests.
    pub async fn usage_rows(&self) -> HashMap<(String, String, String, String, i32), i64> {
        use concat_portal::db::schema::api_usage as u;
        use diesel::prelude::*;
        db::run(&self.pool, |c| {
            Ok(u::table
                .select((
                    u::api_id,
                    u::organization_id,
                    u::event_id,
                    u::endpoint,
                    u::status,
                    u::requests,
                ))
                .load::<(String, String, String, String, i32, i64)>(c)?)
        })
        .await
        .unwrap()
        .into_iter()
        .fold(HashMap::new(), |mut m, (a, o, e, p, s, n)| {
            *m.entry((a, o, e, p, s)).or_default() += n;
            m
        })
    }

    /// Unverified attempts per (API ID named, endpoint, status).
    pub async fn unverified_rows(&self) -> HashMap<(String, String, i32), i64> {
        use concat_portal::db::schema::api_unverified_usage as v;
        use diesel::prelude::*;
        db::run(&self.pool, |c| {
            Ok(v::table
                .select((v::api_id, v::endpoint, v::status, v::requests))
                .load::<(String, String, i32, i64)>(c)?)
        })
        .await
        .unwrap()
        .into_iter()
        .fold(HashMap::new(), |mut m, (a, e, s, n)| {
            *m.entry((a, e, s)).or_default() += n;
            m
        })
    }

    /// Usage per (API ID, status): (requests, of them with `_apikey`).
    pub async fn query_key_rows(&self) -> HashMap<(String, i32), (i64, i64)> {
        use concat_portal::db::schema::api_usage as u;
        use diesel::prelude::*;
        db::run(&self.pool, |c| {
            Ok(u::table
                .select((u::api_id, u::status, u::requests, u::query_key_requests))
                .load::<(String, i32, i64, i64)>(c)?)
        })
        .await
        .unwrap()
        .into_iter()
        .fold(HashMap::new(), |mut m, (a, s, n, q)| {
            let e: &mut (i64, i64) = m.entry((a, s)).or_default();
            e.0 += n;
            e.1 += q;
            m
        })
    }
}

/// Sends the request; its status.
pub async fn status_of(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.expect("the API answers").status().as_u16()
}

/// An API request with `Authorization: Bearer <api id>:<secret>`.
pub fn bearer(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    api_id: &str,
    secret: &str,
) -> reqwest::RequestBuilder {
    client
        .request(method, url)
        .header("Authorization", format!("Bearer {api_id}:{secret}"))
}

/// A response's status, `X-RateLimit-*` headers and JSON body.
pub async fn api_json(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ct.starts_with("application/json"), "JSON, not {ct:?}");
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(res.headers().contains_key(h), "{h} on a {status}");
    }
    (status, res.json().await.expect("a JSON body"))
}

#[derive(diesel::QueryableByName)]
struct SnapshotLine {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

impl TestApp {
    /// Moves the clock to `at` and runs every lifecycle job once in this process, as the
    /// scheduler would then.
    pub async fn run_jobs(&self, at: chrono::DateTime<Utc>) -> Vec<concat_portal::jobs::JobReport> {
        self.clock.set(at);
        concat_portal::jobs::run_all_pooled(
            &self.pool,
            Arc::new(self.db.settings(&[])),
            at.naive_utc(),
            Some(self.api.clone()),
            concat_portal::jobs::Mode::Apply,
            concat_portal::jobs::Trigger::Scheduler,
        )
        .await
        .expect("jobs ran")
    }

    /// `concat-portal jobs run <args>` against this test's database: (exit code, stdout).
    pub fn jobs_cli(&self, args: &[&str]) -> (i32, String, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_concat-portal"))
            .arg("jobs")
            .arg("run")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.db.url)
            .env("PORTAL_DATA_DIR", self.db.dir.path())
            .env("PORTAL_BASE_URL", "http://portal.test")
            .env("RUST_LOG", "warn")
            .output()
            .expect("the binary runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Every row of every table as text, sorted: equal snapshots mean an unchanged database.
    pub async fn db_snapshot(&self) -> Vec<String> {
        use diesel::sql_types::Text;
        use diesel::RunQueryDsl;
        db::run(&self.pool, |c| {
            let postgres = concat_portal::db::dialect::is_postgres(c);
            let tables: Vec<SnapshotLine> = if postgres {
                diesel::sql_query(
                    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
                )
                .load(c)?
            } else {
                diesel::sql_query(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1",
                )
                .load(c)?
            };
            let mut lines = Vec::new();
            for t in tables {
                let columns: Vec<SnapshotLine> = if postgres {
                    diesel::sql_query("SELECT column_name::text AS name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position")
                        .bind::<Text, _>(&t.name)
                        .load(c)?
                } else {
                    diesel::sql_query("SELECT name FROM pragma_table_info(?)")
                        .bind::<Text, _>(&t.name)
                        .load(c)?
                };
                let row = columns
                    .iter()
                    .map(|col| format!("COALESCE(CAST(\"{}\" AS TEXT), '∅')", col.name))
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                let rows: Vec<SnapshotLine> =
                    diesel::sql_query(format!("SELECT {row} AS name FROM \"{}\"", t.name)).load(c)?;
                lines.extend(rows.into_iter().map(|r| format!("{}: {}", t.name, r.name)));
            }
            lines.sort();
            Ok(lines)
        })
        .await
        .unwrap()
    }

    /// Queued emails (any status), as (recipient, subject).
    pub async fn outbox_subjects(&self) -> Vec<(String, String)> {
        use concat_portal::db::schema::outbox as o;
        use diesel::prelude::*;
        db::run(&self.pool, |c| {
            Ok(o::table
                .order(o::created_at.asc())
                .select((o::recipient, o::subject))
                .load(c)?)
        })
        .await
        .unwrap()
    }
}
