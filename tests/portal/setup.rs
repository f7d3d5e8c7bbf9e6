//! First run, `admin create`, `migrate`, and settings errors at start-up.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::*;

fn portal(db: &TestDb) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_concat-portal"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("PORTAL_DATA_DIR", db.dir.path())
        .env("RUST_LOG", "error");
    cmd
}

fn admin_create(db: &TestDb, email: &str, password: &str) -> std::process::Output {
    let mut child = portal(db)
        .args([
            "admin",
            "create",
            "--email",
            email,
            "--name",
            "Cli Admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

async fn first_run_link_works_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let link = app
        .setup_link
        .clone()
        .expect("no admin yet, so a setup link");
    let path = path_of(&link);
    assert!(path.starts_with("/setup/"));
    let form = app.get_html(&path).await;
    assert!(form.contains("Create the first admin"));

    let res = app
        .post_form(
            &path,
            &[
                ("name", "Ada Admin"),
                ("email", "ada@concat.test"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    // Signed in at once; the first admin sets up a second factor before anything else.
    assert_eq!(res.headers()["location"], "/account/security");
    app.enroll_totp(&app.client, "ada@concat.test").await;
    assert!(app.get_html("/admin").await.contains("Admin dashboard"));
    app.login_ok("ada@concat.test").await;

    // Second use of the link: refused, and no second admin is created.
    let (other, _) = client();
    let again = app.get_with(&other, &path).await;
    assert_eq!(again.status(), 404);
    assert!(again.text().await.unwrap().contains("not valid"));
    let res = app
        .post_form_with(
            &other,
            &path,
            &[
                ("name", "Eve"),
                ("email", "eve@concat.test"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        app.login_with(&other, "eve@concat.test", PASSWORD)
            .await
            .status(),
        401
    );
    assert!(app
        .audit_actions()
        .await
        .contains(&"admin.created".to_string()));

    // A restart with an admin present prints no link.
    let restarted = spawn_app_on(app.db.clone(), &[], None).await;
    assert!(restarted.setup_link.is_none());
}

async fn setup_form_keeps_input_and_explains_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let path = path_of(app.setup_link.as_ref().unwrap());
    let res = app
        .post_form(
            &path,
            &[
                ("name", "Ada Admin"),
                ("email", "not-an-email"),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("Enter a valid email address"), "{html}");
    assert!(html.contains("Use at least 12 characters"));
    assert!(html.contains("value=\"Ada Admin\""), "name kept");
    assert!(html.contains("value=\"not-an-email\""), "email kept");
    // The link still works after a failed attempt.
    assert_eq!(app.get(&path).await.status(), 200);
}

async fn admin_create_command(backend: Backend) {
    let db = TestDb::new(backend);
    let out = admin_create(&db, "Root@Concat.test", PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Created ConCat admin Root@Concat.test"));

    let dup = admin_create(&db, "root@concat.TEST", PASSWORD);
    assert!(!dup.status.success());
    assert!(
        String::from_utf8_lossy(&dup.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&dup.stderr)
    );

    let weak = admin_create(&db, "weak@concat.test", "password1234");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("too common"));
    let short = admin_create(&db, "short@concat.test", "tiny");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12"));

    let app = spawn_app_on(db, &[], None).await;
    assert!(app.setup_link.is_none(), "an admin exists");
    app.login_ok("root@concat.test").await;
    let _ = app
        .audit_actions()
        .await
        .iter()
        .find(|a| *a == "admin.created")
        .expect("audited");
}

async fn migrations_apply_on_an_empty_database(backend: Backend) {
    let db = TestDb::empty(backend);
    let first = portal(&db).arg("migrate").output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let applied: usize = String::from_utf8_lossy(&first.stdout)
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(applied >= 1);
    let second = portal(&db).arg("migrate").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&second.stdout).trim(),
        "Migrations applied: 0"
    );
    // The migrated database serves.
    let app = spawn_app_on(db, &[], None).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
}

both_backends!(
    first_run_link_works_once,
    setup_form_keeps_input_and_explains_errors,
    admin_create_command,
    migrations_apply_on_an_empty_database,
);

#[test]
fn invalid_settings_stop_start_up_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("PORTAL_ADDR", "not-an-address"),
        ("DATABASE_URL", "mysql://x"),
        ("PORTAL_SMTP_URL", "http://mail"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_concat-portal"))
            .env_clear()
            .env("PORTAL_DATA_DIR", dir.path())
            .env(var, value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(var), "{stderr}");
    }
}

#[test]
fn secret_key_file_is_created_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested/data");
    let out = Command::new(env!("CARGO_BIN_EXE_concat-portal"))
        .env_clear()
        .env("PORTAL_DATA_DIR", &data)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/portal.db", data.display()),
        )
        .env("PORTAL_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = out;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let key = data.join("secret_key");
    while !key.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let mode = std::fs::metadata(&key)
        .expect("secret_key created")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&key).unwrap().len(), 128);
}
