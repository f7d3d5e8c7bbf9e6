//! Hears the changes other instances announce (`db::announce`: PostgreSQL `NOTIFY` on
//! `db::CHANGES_CHANNEL`, sent by the committing transaction) on a connection of its own, and
//! applies each to this process's caches — so a revocation made on one instance is refused by
//! every other within moments, not when their cache entries expire.
//!
//! If the connection drops, announcements may be missed: the caches are cleared (every
//! credential is read afresh), the cache TTL is the bound again until the listener is back, the
//! loss is logged, and it reconnects with exponential backoff (0.5 s doubling to 30 s); on
//! reconnecting the caches are cleared once more (for what was announced meanwhile). A
//! heartbeat (`SELECT 1` every 5 s) finds a connection that died silently. On SQLite (one
//! process) there is nothing to listen to.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;

use super::{ApiRuntime, Change};
use crate::db;
use crate::settings::DatabaseSettings;

/// How often pending notifications are read.
const POLL: Duration = Duration::from_millis(50);
const HEARTBEAT: Duration = Duration::from_secs(5);
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The `application_name` of the listener's connection (for operators, and the tests that cut
/// it).
pub const APPLICATION_NAME: &str = "concat-portal listener";

/// What the listener is doing, for `/healthz`.
#[derive(Clone, Default)]
pub struct ListenerState(Arc<AtomicU8>);

const LISTENING: u8 = 1;
const RECONNECTING: u8 = 2;
const CONNECTING: u8 = 3;

impl ListenerState {
    /// `off` (SQLite: one process), `connecting` (just started), `listening`, or
    /// `reconnecting` (the cache TTL applies meanwhile).
    pub fn label(&self) -> &'static str {
        match self.0.load(Ordering::SeqCst) {
            LISTENING => "listening",
            RECONNECTING => "reconnecting",
            CONNECTING => "connecting",
            _ => "off", // never started: SQLite
        }
    }

    fn set(&self, v: u8) {
        self.0.store(v, Ordering::SeqCst);
    }
}

/// The running listener; stops when dropped or `stop`ped.
pub struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    /// Starts listening when the database is PostgreSQL (a thread with its own connection).
    pub fn start(
        database: &DatabaseSettings,
        api: Arc<ApiRuntime>,
        state: ListenerState,
    ) -> anyhow::Result<Option<Self>> {
        if database.kind != crate::settings::DatabaseKind::Postgres {
            return Ok(None);
        }
        state.set(CONNECTING);
        let stop = Arc::new(AtomicBool::new(false));
        let (database, flag) = (database.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("change-listener".into())
            .spawn(move || run(&database, &api, &state, &flag))?;
        Ok(Some(Self {
            stop,
            thread: Some(thread),
        }))
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Listener {
    /// Tells the thread to stop without waiting for it (dropping may happen on an async
    /// thread; `stop` is what waits).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn run(database: &DatabaseSettings, api: &ApiRuntime, state: &ListenerState, stop: &AtomicBool) {
    let mut backoff = FIRST_BACKOFF;
    while !stop.load(Ordering::SeqCst) {
        let error = match listen(database, api, state, stop) {
            Ok(()) => return, // stopped
            Err(e) => e,
        };
        let was_listening = state.label() == "listening";
        state.set(RECONNECTING);
        if was_listening {
            // What is cached may already be stale (an announcement lost with the connection):
            // read everything afresh, once; a connection that was up starts the backoff anew.
            api.clear();
            api.metrics.listener_lost();
            backoff = FIRST_BACKOFF;
            tracing::error!(error = %error, "the change listener lost its connection: caches cleared; until it is back, changes made elsewhere apply within the cache TTL");
        } else {
            tracing::warn!(error = %error, retry_in_ms = backoff.as_millis() as u64, "the change listener could not connect");
        }
        let until = Instant::now() + backoff;
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(POLL);
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Connects, listens, and applies announcements until stopped (`Ok`) or the connection fails.
fn listen(
    database: &DatabaseSettings,
    api: &ApiRuntime,
    state: &ListenerState,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let mut conn = db::establish_listener(database)?;
    diesel::sql_query(format!("SET application_name = '{APPLICATION_NAME}'")).execute(&mut conn)?;
    diesel::sql_query(format!("LISTEN {}", db::CHANGES_CHANNEL)).execute(&mut conn)?;
    // Listening from here on; what came before is unknown.
    api.clear();
    if state.label() == "reconnecting" {
        tracing::info!("the change listener is back: changes made elsewhere apply at once again");
    }
    state.set(LISTENING);
    let mut beat = Instant::now();
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        for n in conn.notifications_iter() {
            let n = n?;
            match Change::parse_announced(&n.payload) {
                Some((change, at)) => {
                    api.apply(&change);
                    // Clocks of different hosts differ a little: a lag below 0 counts as 0.
                    let lag = at.map(|at| {
                        let now = super::unix_micros(std::time::SystemTime::now());
                        Duration::from_micros(now.saturating_sub(at).max(0) as u64)
                    });
                    api.metrics.change_applied(lag);
                }
                None => {
                    tracing::warn!(payload = %n.payload, "an announced change was not understood")
                }
            }
        }
        if beat.elapsed() >= HEARTBEAT {
            diesel::sql_query("SELECT 1").execute(&mut conn)?;
            beat = Instant::now();
        }
        std::thread::sleep(POLL);
    }
}
