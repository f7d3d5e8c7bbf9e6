//! The command line: `serve` (default), `migrate`, `admin create`.

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::auth::accounts::{create_admin_cli, CreateUserError};
use crate::auth::password;
use crate::clock::{Clock, SystemClock};
use crate::db;
use crate::domain::{DisplayName, EmailAddress, NewPassword};
use crate::settings::Settings;
use crate::startup::Application;
use crate::telemetry;

#[derive(Parser, Debug)]
#[command(name = "concat-portal", version, about = "The ConCat developer portal")]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Apply migrations, then serve the portal (the default).
    Serve,
    /// Apply migrations and exit.
    Migrate,
    /// Manage ConCat admins.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Create a ConCat admin; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("concat-portal: {message}");
    ExitCode::FAILURE
}

pub async fn run(cli: Cli) -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("concat-portal: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log_format, "info,concat_portal=info");
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => migrate(settings).await,
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    name,
                    password_stdin,
                },
        } => return admin_create(settings, &email, &name, password_stdin).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("{e:#}")),
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings.clone()).await?;
    tracing::info!(addr = %settings.addr, base_url = %settings.base_url, database = ?settings.database.kind, "serving the portal");
    if let Some(link) = app.setup_link() {
        // Printed, not logged: the link is a one-time secret meant for the operator's eyes.
        println!(
            "First run: no ConCat admin exists yet. Create one with this single-use link: {link}"
        );
    }
    app.run_until_stopped().await
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let applied = tokio::task::spawn_blocking(move || {
        let mut conn = db::establish(&settings.database)?;
        db::run_migrations(&mut conn)
    })
    .await??;
    println!("Migrations applied: {applied}");
    Ok(())
}

async fn admin_create(
    settings: Settings,
    email: &str,
    name: &str,
    password_stdin: bool,
) -> ExitCode {
    if !password_stdin {
        return fail("admin create reads the password from standard input: pass --password-stdin");
    }
    let email = match EmailAddress::parse(email) {
        Ok(e) => e,
        Err(m) => return fail(format!("--email: {m}")),
    };
    let name = match DisplayName::parse(name) {
        Ok(n) => n,
        Err(m) => return fail(format!("--name: {m}")),
    };
    let mut line = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut line) {
        return fail(format!("reading the password from standard input: {e}"));
    }
    let raw = line.strip_suffix('\n').unwrap_or(&line);
    let raw = raw.strip_suffix('\r').unwrap_or(raw);
    let pw = match NewPassword::parse(raw) {
        Ok(p) => p,
        Err(m) => return fail(format!("password rejected: {m}")),
    };
    let result = async {
        let hash = password::hash(pw).await?;
        let now = SystemClock.now_naive();
        tokio::task::spawn_blocking(move || {
            let mut conn = db::establish(&settings.database)?;
            db::run_migrations(&mut conn)?;
            Ok::<_, anyhow::Error>(create_admin_cli(&mut conn, &email, &name, &hash, now))
        })
        .await?
    }
    .await;
    match result {
        Ok(Ok(user)) => {
            println!("Created ConCat admin {}", user.email);
            ExitCode::SUCCESS
        }
        Ok(Err(CreateUserError::EmailTaken(e))) => {
            fail(format!("an account with the email {e} already exists"))
        }
        Ok(Err(e)) => fail(format!("{e:#}")),
        Err(e) => fail(format!("{e:#}")),
    }
}
