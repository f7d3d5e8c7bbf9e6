//! A fresh database for each test: a SQLite file in the test's own data directory, or a
//! PostgreSQL database copied from a template migrated once per migration set (or an empty one
//! for the migration tests); dropped with the test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use concat_portal::db;
use concat_portal::settings::Settings;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};

use super::skips::{skip, Missing};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests may create databases on, or `None` (a skip, a failure in CI).
pub fn postgres_url() -> Option<String> {
    match std::env::var("PORTAL_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            skip(Missing::Postgres, "PORTAL_TEST_POSTGRES_URL is not set");
            None
        }
    }
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
