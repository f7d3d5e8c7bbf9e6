//! One data layer for SQLite and PostgreSQL: a `MultiConnection` enum, an r2d2 pool, per-connection
//! PRAGMAs for SQLite, embedded migrations per backend, and IMMEDIATE write transactions.

pub mod models;
pub mod schema;

use std::time::Duration;

use anyhow::Context;
use diesel::connection::{
    AnsiTransactionManager, Connection, SimpleConnection, TransactionManager,
};
use diesel::r2d2::{self, CustomizeConnection, ManageConnection, R2D2Connection};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use secrecy::ExposeSecret;

use crate::settings::{DatabaseKind, DatabaseSettings};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<DbManager>;
pub type PooledConn = r2d2::PooledConnection<DbManager>;

/// The r2d2 manager: opens connections of the backend chosen from the URL scheme at start-up
/// (diesel's generic manager would try each backend in turn, and SQLite accepts any string).
#[derive(Debug, Clone)]
pub struct DbManager {
    kind: DatabaseKind,
    url: String,
}

impl ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match self.kind {
            DatabaseKind::Sqlite => SqliteConnection::establish(&self.url).map(DbConn::Sqlite),
            DatabaseKind::Postgres => PgConnection::establish(&self.url).map(DbConn::Postgres),
        }
        .map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Applied to every new pooled connection.
#[derive(Debug, Clone, Copy)]
struct ConnectionSetup;

impl CustomizeConnection<DbConn, r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        match conn {
            DbConn::Sqlite(c) => c
                .batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )
                .map_err(r2d2::Error::QueryError),
            DbConn::Postgres(c) => c
                .batch_execute("SET TIME ZONE 'UTC'")
                .map_err(r2d2::Error::QueryError),
        }
    }
}

/// The URL diesel's SQLite connection wants (a plain path).
fn connection_url(settings: &DatabaseSettings) -> String {
    match settings.kind {
        DatabaseKind::Sqlite => settings.sqlite_path().expect("sqlite path"),
        DatabaseKind::Postgres => settings.url.expose_secret().to_string(),
    }
}

/// A PostgreSQL connection for a long-lived listener: the URL with libpq's connect timeout and
/// TCP keepalives added, so a connection that died silently (half-open) is noticed in about
/// twenty seconds, not when TCP gives up.
pub fn establish_listener(settings: &DatabaseSettings) -> anyhow::Result<PgConnection> {
    use diesel::Connection;
    let url = connection_url(settings);
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!(
        "{url}{sep}connect_timeout=5&keepalives=1&keepalives_idle=10&keepalives_interval=5&keepalives_count=2&tcp_user_timeout=20000"
    );
    PgConnection::establish(&url).map_err(|e| anyhow::anyhow!("connecting to PostgreSQL: {e}"))
}

/// Opens one connection of the backend the URL names (chosen by scheme, not by trying in order).
pub fn establish(settings: &DatabaseSettings) -> anyhow::Result<DbConn> {
    let url = connection_url(settings);
    if settings.kind == DatabaseKind::Sqlite {
        prepare_sqlite_file(&url)?;
    }
    let manager = DbManager {
        kind: settings.kind.clone(),
        url,
    };
    let mut conn = manager.connect().context("connecting to the database")?;
    ConnectionSetup
        .on_acquire(&mut conn)
        .context("configuring the connection")?;
    Ok(conn)
}

/// Creates the SQLite database's directory (missing directories 0700) and the database file
/// itself, 0600, before SQLite opens it: SQLite gives its `-wal` and `-shm` files the database
/// file's mode, so all three stay owner-only whatever the umask.
fn prepare_sqlite_file(path: &str) -> anyhow::Result<()> {
    if path.starts_with(':') || path.starts_with("file:") {
        return Ok(());
    }
    let path = std::path::Path::new(path);
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() && !parent.exists() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(crate::files::DIR_MODE)
                .create(parent)
                .with_context(|| format!("creating the database directory {}", parent.display()))?;
        }
    }
    crate::files::private_sqlite_file(path)
        .with_context(|| format!("creating {} owner-only", path.display()))
}

pub fn build_pool(settings: &DatabaseSettings) -> anyhow::Result<Pool> {
    let url = connection_url(settings);
    if settings.kind == DatabaseKind::Sqlite {
        prepare_sqlite_file(&url)?;
    }
    r2d2::Pool::builder()
        .max_size(settings.pool_size)
        // A SQLite file cannot drop the connection: skip the `SELECT 1` before each checkout
        // there. PostgreSQL connections are checked (the server may have restarted).
        .test_on_check_out(settings.kind == DatabaseKind::Postgres)
        .connection_timeout(Duration::from_secs(10))
        .connection_customizer(Box::new(ConnectionSetup))
        .build(DbManager {
            kind: settings.kind.clone(),
            url,
        })
        .context("opening the database pool")
}

/// Applies pending migrations of the connection's backend; returns how many ran.
pub fn run_migrations(conn: &mut DbConn) -> anyhow::Result<usize> {
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConn::Postgres(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    }
    .map_err(|e| anyhow::anyhow!("applying migrations: {e}"))?;
    Ok(applied)
}

/// Whether migrations are waiting to be applied (nothing is changed).
pub fn pending_migrations(conn: &mut DbConn) -> anyhow::Result<bool> {
    use diesel_migrations::MigrationHarness;
    let pending = match conn {
        DbConn::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        DbConn::Postgres(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| anyhow::anyhow!("reading the migration state: {e}"))?;
    Ok(pending)
}

/// Runs `f` in a write transaction. On SQLite the transaction starts with `BEGIN IMMEDIATE`, so a
/// writer takes the write lock up front and waits on `busy_timeout` instead of failing mid-way
/// with SQLITE_BUSY when upgrading a read lock. On PostgreSQL it is an ordinary transaction.
pub fn write_tx<T, E>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let begun = match conn {
        DbConn::Sqlite(c) => {
            let depth =
                AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?;
            if depth.is_none() {
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
                true
            } else {
                false
            }
        }
        DbConn::Postgres(_) => false,
    };
    if !begun {
        return conn.transaction(f);
    }
    match f(conn) {
        Ok(value) => {
            if let Err(e) = <DbConn as Connection>::TransactionManager::commit_transaction(conn) {
                let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
                return Err(e.into());
            }
            Ok(value)
        }
        Err(e) => {
            <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// A new text id: UUIDv7 (time-ordered, so ids sort roughly by creation).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Serializes write transactions on `key` until they end. PostgreSQL: a transaction-scoped
/// advisory lock. SQLite: nothing to do, since write transactions start `IMMEDIATE` and so run
/// one at a time already.
pub fn lock_key(conn: &mut DbConn, key: &str) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    match conn {
        DbConn::Postgres(c) => diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(c)
            .map(|_| ()),
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// Whether an error (anywhere in its chain) is a unique-constraint violation.
pub fn is_unique_violation(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<diesel::result::Error>(),
            Some(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    })
}

/// Backend-specific statements live here, in one place.
pub mod dialect {
    use super::DbConn;

    /// `INSERT … ON CONFLICT DO NOTHING` for the given insert statement, on either backend;
    /// returns the number of rows inserted (0 when the conflict target already existed).
    #[macro_export]
    macro_rules! insert_or_ignore {
        ($conn:expr, $table:expr, $values:expr, $target:expr) => {{
            use diesel::RunQueryDsl;
            match $conn {
                $crate::db::DbConn::Sqlite(c) => diesel::insert_into($table)
                    .values($values)
                    .on_conflict($target)
                    .do_nothing()
                    .execute(c),
                $crate::db::DbConn::Postgres(c) => diesel::insert_into($table)
                    .values($values)
                    .on_conflict($target)
                    .do_nothing()
                    .execute(c),
            }
        }};
    }

    /// `INSERT … ON CONFLICT (target) DO UPDATE SET …` on either backend (diesel's upsert has
    /// no `MultiBackend` form, so the statement is built once per backend).
    #[macro_export]
    macro_rules! upsert {
        ($conn:expr, $table:expr, $values:expr, $target:expr, $set:expr) => {{
            use diesel::RunQueryDsl;
            match $conn {
                $crate::db::DbConn::Sqlite(c) => diesel::insert_into($table)
                    .values($values)
                    .on_conflict($target)
                    .do_update()
                    .set($set)
                    .execute(c),
                $crate::db::DbConn::Postgres(c) => diesel::insert_into($table)
                    .values($values)
                    .on_conflict($target)
                    .do_update()
                    .set($set)
                    .execute(c),
            }
        }};
    }

    pub fn is_postgres(conn: &DbConn) -> bool {
        matches!(conn, DbConn::Postgres(_))
    }
}

thread_local! {
    static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The nice value of threads doing database work. The API answers from its cache (refreshed in
/// the background) and so needs the database rarely; pages and sign-ins need it on every
/// request. Under a CPU shortage — a storm of sign-ins, each a database write — the threads
/// that parse and answer requests go first, so the storm cannot take the API's CPU
/// (docs/PERFORMANCE.md, "Sign-in under a storm").
const DB_THREAD_NICE: i32 = 10;

/// Lowers the calling blocking-pool thread's priority the first time it does database work
/// (Linux sets nice values per thread).
fn lower_priority_once() {
    if LOWERED.with(|l| l.replace(true)) {
        return;
    }
    set_nice(DB_THREAD_NICE);
}

/// Sets the calling thread's nice value (Linux sets it per thread; elsewhere nothing).
#[cfg(target_os = "linux")]
pub fn set_nice(nice: i32) {
    // SAFETY: a plain syscall on the calling thread (who = 0).
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, nice);
    }
}

#[cfg(not(target_os = "linux"))]
pub fn set_nice(_: i32) {}

/// Runs blocking database work on the blocking pool with a pooled connection.
pub async fn run<T, F>(pool: &Pool, f: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> anyhow::Result<T> + Send + 'static,
{
    run_as(pool, f).await
}

/// `run` for work with its own error type `E` (connection and join failures become `E` too).
async fn run_as<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<anyhow::Error> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        lower_priority_once();
        let mut conn = pool
            .get()
            .map_err(|e| E::from(anyhow::Error::new(e).context("getting a database connection")))?;
        f(&mut conn)
    })
    .await
    .map_err(|e| E::from(anyhow::Error::new(e).context("database task panicked")))?
}

/// What follows a committed change: `before_commit` runs inside the transaction with its
/// result (e.g. announcing it to other instances: a PostgreSQL `NOTIFY` is delivered only if
/// the transaction commits), `after_commit` once the commit succeeded (e.g. dropping this
/// process's cached credentials). A closure `FnOnce(&T)` is an `AfterCommit` that announces
/// nothing.
pub trait AfterCommit<T>: Send + 'static {
    fn before_commit(&self, _conn: &mut DbConn, _out: &T) -> diesel::QueryResult<()> {
        Ok(())
    }
    fn after_commit(self, out: &T);
}

impl<T, F: FnOnce(&T) + Send + 'static> AfterCommit<T> for F {
    fn after_commit(self, out: &T) {
        self(out)
    }
}

/// The channel on which committed changes are announced to every instance (`NOTIFY`).
pub const CHANGES_CHANNEL: &str = "concat_portal_changes";

/// Announces `payload` on [`CHANGES_CHANNEL`] from the current transaction (delivered to every
/// listening instance when it commits; nothing if it rolls back). SQLite has one process by
/// definition: nothing to do.
pub fn announce(conn: &mut DbConn, payload: &str) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    match conn {
        DbConn::Postgres(c) => diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<diesel::sql_types::Text, _>(CHANGES_CHANNEL)
            .bind::<diesel::sql_types::Text, _>(payload)
            .execute(c)
            .map(|_| ()),
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// Like `transaction`, then runs `after_commit` on the same blocking task once the commit
/// succeeded — so it runs even if the awaiting request is dropped (client gone, shutdown).
/// For effects that must follow a commit, like invalidating cached API credentials (in this
/// process, and — announced from the transaction — in every other).
pub async fn transaction_then<T, F, A>(pool: &Pool, f: F, after_commit: A) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> anyhow::Result<T> + Send + 'static,
    A: AfterCommit<T>,
{
    run(pool, move |c| {
        let out = write_tx(c, |c| {
            let out = f(c)?;
            after_commit.before_commit(c, &out)?;
            Ok::<_, anyhow::Error>(out)
        })?;
        after_commit.after_commit(&out);
        Ok(out)
    })
    .await
}

/// Runs `f` in a write transaction (`write_tx`) on the blocking pool.
pub async fn transaction<T, F>(pool: &Pool, f: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> anyhow::Result<T> + Send + 'static,
{
    run(pool, move |c| write_tx(c, f)).await
}

/// The transaction idiom for a service function that can refuse: `f` returns its own error
/// type `E`, whose refusals (`Err(E::TooMany…)`) roll the transaction back like any failure and
/// come out as they are, so the caller matches one `Result` — no `Ok(Err(..))`. `E` carries
/// database and other failures too (`From<diesel::result::Error>`, `From<anyhow::Error>`).
/// `after_commit` runs only when `f` succeeded and the commit did.
pub async fn try_transaction_then<T, E, F, A>(pool: &Pool, f: F, after_commit: A) -> Result<T, E>
where
    T: Send + 'static,
    E: From<diesel::result::Error> + From<anyhow::Error> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    A: AfterCommit<T>,
{
    run_as(pool, move |c| {
        let out = write_tx(c, |c| {
            let out = f(c)?;
            after_commit.before_commit(c, &out)?;
            Ok::<_, E>(out)
        })?;
        after_commit.after_commit(&out);
        Ok(out)
    })
    .await
}

/// `try_transaction_then` with nothing to do after the commit.
pub async fn try_transaction<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<diesel::result::Error> + From<anyhow::Error> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    try_transaction_then(pool, f, |_: &T| {}).await
}

/// Where a keyset page of a list ordered newest first by (time, id) starts: the newest rows,
/// or those older (or newer) than a row's (time, id). The web layer's `forms::Seek` is parsed
/// from the links; queries take this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seek {
    Newest,
    Older(chrono::NaiveDateTime, String),
    Newer(chrono::NaiveDateTime, String),
}

impl Seek {
    /// Rows read with `LIMIT limit + 1` in this seek's order → the page, newest first, and
    /// whether more lie beyond it in the direction read.
    pub fn page<T>(&self, mut rows: Vec<T>, limit: i64) -> (Vec<T>, bool) {
        let limit = usize::try_from(limit).unwrap_or(0);
        let more = rows.len() > limit;
        rows.truncate(limit);
        if matches!(self, Seek::Newer(..)) {
            rows.reverse();
        }
        (rows, more)
    }
}

/// A `LIKE` pattern matching text that contains `fragment` literally (lowercased): `%` and `_`
/// in it match themselves, not anything. Use with `.like(p).escape('\\')`.
pub fn contains_pattern(fragment: &str) -> String {
    format!("%{}%", escape_like(&fragment.to_lowercase()))
}

/// `text` with `LIKE`'s wildcards and the escape character escaped by `\`.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod like_tests {
    #[test]
    fn wildcards_match_themselves() {
        assert_eq!(super::contains_pattern("Cc_ID%\\x"), "%cc\\_id\\%\\\\x%");
    }
}
