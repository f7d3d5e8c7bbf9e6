//! The command line: `serve` (default), `migrate`, `admin create`, `admin reset-mfa`,
//! `jobs run`, `usage rebuild-rollups`.

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
    /// The scheduled lifecycle jobs (deletion duties, usage purge, inactivity, usage retention).
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// API usage records.
    Usage {
        #[command(subcommand)]
        command: UsageCommand,
    },
}

#[derive(Subcommand, Debug)]
enum UsageCommand {
    /// Recompute the daily usage rollups the pages read from the raw counters (after a rolling
    /// upgrade from a version without them). Days whose raw counters were already deleted by
    /// the retention job are kept as they are.
    RebuildRollups,
}

#[derive(Subcommand, Debug)]
enum JobsCommand {
    /// Run every job once and print what it did.
    Run {
        /// Run as if it were this time (RFC 3339, e.g. 2027-01-31T09:00:00Z).
        #[arg(long, value_parser = parse_as_of)]
        as_of: Option<chrono::DateTime<chrono::Utc>>,
        /// Print what would happen and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

fn parse_as_of(raw: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("not an RFC 3339 time ({e}); for example 2027-01-31T09:00:00Z"))
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
    /// Remove every second factor and recovery code of a user and end their sessions (for
    /// when every ConCat admin is locked out); they set up a new factor at their next sign-in.
    ResetMfa {
        #[arg(long)]
        email: String,
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
        Command::Admin {
            command: AdminCommand::ResetMfa { email },
        } => return admin_reset_mfa(settings, &email).await,
        Command::Jobs {
            command: JobsCommand::Run { as_of, dry_run },
        } => return jobs_run(settings, as_of, dry_run).await,
        Command::Usage {
            command: UsageCommand::RebuildRollups,
        } => rebuild_rollups(settings).await,
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

async fn rebuild_rollups(settings: Settings) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || {
        let mut conn = db::establish(&settings.database)?;
        db::write_tx(&mut conn, |c| {
            crate::db::models::api_usage::rebuild_rollups(c).map_err(anyhow::Error::from)
        })
    })
    .await??;
    println!("Usage rollups rebuilt from the raw counters.");
    Ok(())
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
        // The same bounded gate as `serve`, with one worker: this process hashes once.
        let hash = password::PasswordHasher::new(1)?.hash(pw).await?;
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

async fn admin_reset_mfa(settings: Settings, email: &str) -> ExitCode {
    let email = match EmailAddress::parse(email) {
        Ok(e) => e,
        Err(m) => return fail(format!("--email: {m}")),
    };
    let result = tokio::task::spawn_blocking(move || {
        let mut conn = db::establish(&settings.database)?;
        db::run_migrations(&mut conn)?;
        let now = SystemClock.now_naive();
        db::write_tx(&mut conn, |c| -> anyhow::Result<Option<String>> {
            let Some(user) = crate::db::models::users::find_by_email(c, &email.normalized())?
            else {
                return Ok(None);
            };
            let ctx = crate::context::Context {
                now,
                actor: crate::audit::Actor::System("command line"),
                meta: None,
            };
            crate::auth::mfa::reset_factors(c, &ctx, &settings, &user)?;
            Ok(Some(user.email))
        })
    })
    .await;
    match result {
        Ok(Ok(Some(e))) => {
            println!("Removed the second factors of {e} and ended their sessions; they set up a new one at their next sign-in.");
            ExitCode::SUCCESS
        }
        Ok(Ok(None)) => fail("no account has that email"),
        Ok(Err(e)) => fail(format!("{e:#}")),
        Err(e) => fail(format!("{e:#}")),
    }
}

async fn jobs_run(
    settings: Settings,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    dry_run: bool,
) -> ExitCode {
    use crate::jobs::{self, JobContext, Mode, Outcome, Trigger};

    let now = as_of.map_or_else(|| SystemClock.now_naive(), |t| t.naive_utc());
    let mode = if dry_run { Mode::DryRun } else { Mode::Apply };
    let result = tokio::task::spawn_blocking(move || {
        if dry_run {
            if let Some(path) = settings.database.sqlite_path() {
                if !std::path::Path::new(&path).exists() {
                    anyhow::bail!("no database at {path}: a dry run creates nothing");
                }
            }
        }
        let mut conn = db::establish(&settings.database)?;
        if dry_run {
            // A dry run changes nothing, not even the schema: it needs a migrated database.
            if db::pending_migrations(&mut conn)? {
                anyhow::bail!(
                    "the database has pending migrations; run `concat-portal migrate` first"
                );
            }
        } else {
            db::run_migrations(&mut conn)?;
        }
        let ctx = JobContext {
            settings: &settings,
            now,
            // What a step does happens now, so its emails are due now.
            mail_at: SystemClock.now_naive(),
            api: None,
        };
        Ok(jobs::run_all(&mut conn, &ctx, mode, Trigger::Command))
    })
    .await;
    let reports = match result {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return fail(format!("{e:#}")),
        Err(e) => return fail(e),
    };
    println!(
        "{} as of {}",
        if dry_run {
            "Dry run (nothing changed)"
        } else {
            "Jobs run"
        },
        now.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let mut failed = false;
    for report in &reports {
        println!("{}", report.summary());
        for action in &report.actions {
            println!("  {} {action}", if dry_run { "would" } else { "did:" });
        }
        failed |= report.outcome == Outcome::Failed;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
