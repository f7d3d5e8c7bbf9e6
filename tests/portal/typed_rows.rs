//! Status, kind and role columns are Rust enums stored as TEXT: they store the strings the
//! columns always held, and a stored string that names no variant is a clear error, not a panic.

use concat_portal::db::models::job_runs::{self, JobRun, Outcome, Trigger};
use concat_portal::db::models::users::{self, UserStatus};
use concat_portal::db::schema::{job_runs as j, users as u};
use concat_portal::db::{self, new_id};
use diesel::prelude::*;

use crate::support::*;

async fn enums_store_their_text_and_refuse_unknown_text(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin("ada@concat.test", "Ada").await;
    let id = app.user_id("ada@concat.test").await;
    let now = chrono::Utc::now().naive_utc();
    let (stored, read, run_stored, unknown) = db::run(&app.pool, move |c| {
        let stored: String = u::table.find(&id).select(u::status).first(c)?;
        let read = users::find(c, &id)?.expect("the user").status;
        // `job_runs.trigger` has no CHECK constraint, so another version could write anything.
        let run = JobRun {
            id: new_id(),
            job: "typed-rows".into(),
            trigger: Trigger::Command,
            as_of: now,
            duration_ms: 1,
            outcome: Outcome::Ok,
            counts: "{}".into(),
            error: None,
            finished_at: now,
        };
        job_runs::insert(c, &run)?;
        let run_stored: (String, String) = j::table
            .find(&run.id)
            .select((j::trigger, j::outcome))
            .first(c)?;
        diesel::update(j::table.find(&run.id))
            .set(j::trigger.eq("cron"))
            .execute(c)?;
        let unknown = job_runs::latest(c, "typed-rows").expect_err("an unknown trigger");
        diesel::delete(j::table.find(&run.id)).execute(c)?;
        Ok((stored, read, run_stored, unknown))
    })
    .await
    .unwrap();
    assert_eq!(stored, "active");
    assert_eq!(read, UserStatus::Active);
    assert_eq!(run_stored, ("command".to_string(), "ok".to_string()));
    assert!(
        matches!(unknown, diesel::result::Error::DeserializationError(_)),
        "{unknown:?}"
    );
    // diesel names the field; the cause says what is wrong with it.
    let chain = format!("{:#}", anyhow::Error::from(unknown));
    assert!(
        chain.ends_with("unknown Trigger \"cron\" (expected one of: scheduler, command)"),
        "{chain}"
    );
}

both_backends!(enums_store_their_text_and_refuse_unknown_text);
