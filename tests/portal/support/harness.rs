//! The test harness: `spawn_app()` starts the portal on a random port with its own fresh
//! database (`TestDb`), a controllable clock, an in-memory mailbox and captured logs, and stops
//! it when the test ends, failing the test if it left mail it did not read; `both_backends!`
//! runs a test on SQLite and on PostgreSQL.

use std::sync::{Arc, Mutex, OnceLock};

use chrono::Utc;
use concat_portal::clock::{Clock, ManualClock};
use concat_portal::db::models::outbox;
use concat_portal::db::Pool;
use concat_portal::email::{Dispatcher, Mailer, MemoryMailbox};
use concat_portal::startup::{Application, Deps};

use super::client::client;
use super::test_db::{Backend, TestDb};

/// Runs each listed `async fn name(backend: Backend)` as `name::sqlite` and `name::postgres`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::support::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::support::postgres_url().is_some() {
                        super::$name($crate::support::Backend::Postgres).await
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

pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// The API's own listener (`PORTAL_API_ADDR`), when the test asked for one.
    pub api_port: Option<u16>,
    /// The metrics listener (`PORTAL_METRICS_ADDR`), when the test asked for one.
    pub metrics_port: Option<u16>,
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
    /// Authenticator apps the harness set up (see `factors`).
    pub authenticators: super::factors::Authenticators,
    handle: actix_web::dev::ServerHandle,
    served: Mutex<Option<tokio::task::JoinHandle<anyhow::Result<()>>>>,
    pub(super) allow_unsent: bool,
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
    let api_port = app.api_port();
    let metrics_port = app.metrics_port();
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
        api_port,
        metrics_port,
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
        authenticators: Default::default(),
    }
}

impl TestApp {
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

    /// Today's date on the test clock, as the filters take it.
    pub fn clock_date(&self) -> String {
        self.clock.now().format("%Y-%m-%d").to_string()
    }

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
