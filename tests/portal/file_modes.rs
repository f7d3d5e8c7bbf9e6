//! The data directory and everything the portal creates in it are owner-only (0700 directories,
//! 0600 files — the SQLite database with its -wal and -shm, the cookie key, mail/ and each .eml)
//! even under umask 022, and an existing data directory left 0755 is tightened at start. The
//! real binary runs in its own process, started through `sh` with `umask 022`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// `concat-portal <args>` under umask 022 with the given settings.
fn portal(args: &[&str], env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_concat-portal"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn emls(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

async fn data_files_are_owner_only_whatever_the_umask(backend: Backend) {
    let db = TestDb::new(backend);
    let data = db.dir.path().join("data");
    // An older version (or a careless mkdir) left the data directory open to everyone.
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}", data.join("portal.db").display()),
        Backend::Postgres => db.url.clone(),
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let env = [
        ("DATABASE_URL", database_url),
        ("PORTAL_DATA_DIR", data.display().to_string()),
        ("PORTAL_ADDR", format!("127.0.0.1:{port}")),
        ("PORTAL_BASE_URL", base.clone()),
        ("PORTAL_JOBS_SCHEDULER", "false".into()),
        ("PORTAL_OUTBOX_POLL_MS", "100".into()),
    ];

    let mut create = portal(
        &[
            "admin",
            "create",
            "--email",
            ADMIN_EMAIL,
            "--name",
            "Ada",
            "--password-stdin",
        ],
        &env,
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    {
        use std::io::Write;
        writeln!(create.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    }
    assert!(create.wait().unwrap().success());

    let _served = Served(
        portal(&["serve"], &env)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    loop {
        let up = client.get(format!("{base}/healthz")).send().await;
        if up.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // An email with a live reset link, written by the file mailer.
    let html = client
        .get(format!("{base}/forgot-password"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    let res = client
        .post(format!("{base}/forgot-password"))
        .form(&[("csrf_token", csrf.as_str()), ("email", ADMIN_EMAIL)])
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success() || res.status() == 303,
        "{}",
        res.status()
    );
    let mail = data.join("mail");
    let started = Instant::now();
    while emls(&mail).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no email written"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("secret_key")), 0o600);
    assert_eq!(mode(&mail), 0o700, "mail/");
    let files = emls(&mail);
    assert_eq!(files.len(), 1);
    assert_eq!(mode(&files[0]), 0o600, "{}", files[0].display());
    assert!(std::fs::read_to_string(&files[0])
        .unwrap()
        .contains("/reset-password/"));
    if backend == Backend::Sqlite {
        for name in ["portal.db", "portal.db-wal", "portal.db-shm"] {
            assert_eq!(mode(&data.join(name)), 0o600, "{name}");
        }
    }
    // Nothing in the data directory is readable by others.
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path) & 0o077, 0, "{}", path.display());
    }
}

both_backends!(data_files_are_owner_only_whatever_the_umask);
