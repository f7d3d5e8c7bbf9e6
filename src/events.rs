//! An organization's events: created and edited by its admins on the portal, patched by
//! integrations through the API. Each change is audited in its transaction; the callers drop
//! the API's cached event pages of the organization after the commit.

use chrono::NaiveDateTime;

use crate::context::Context;
use crate::db::models::events::{self as rows, Event, EventFields};
use crate::db::models::organizations::Organization;
use crate::db::{lock_key, new_id, DbConn};
use crate::domain::EventStatus;

/// The one rule on an event's times, wherever they are entered.
pub fn ends_after_start(starts_at: NaiveDateTime, ends_at: NaiveDateTime) -> bool {
    ends_at > starts_at
}

fn times_in_order(starts_at: NaiveDateTime, ends_at: NaiveDateTime) -> Result<(), EventError> {
    if ends_after_start(starts_at, ends_at) {
        Ok(())
    } else {
        Err(EventError::EndsBeforeStart)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("no such event in this organization")]
    NotFound,
    #[error("ends_at must be after starts_at")]
    EndsBeforeStart,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// An org admin creates an event with the public id `public_id`.
pub fn create(
    c: &mut DbConn,
    ctx: &Context,
    org: &Organization,
    public_id: &str,
    fields: &EventFields,
) -> Result<(), EventError> {
    times_in_order(fields.starts_at, fields.ends_at)?;
    rows::insert(c, &new_id(), public_id, &org.id, fields, ctx.now)?;
    ctx.audit("event.created")
        .target("event", public_id)
        .details(serde_json::json!({ "organization": org.public_id, "name": fields.name }))
        .record(c, ctx.now)?;
    Ok(())
}

/// An org admin saves the whole event.
pub fn update(
    c: &mut DbConn,
    ctx: &Context,
    org: &Organization,
    public_id: &str,
    fields: &EventFields,
) -> Result<(), EventError> {
    times_in_order(fields.starts_at, fields.ends_at)?;
    rows::update(c, &org.id, public_id, fields, None, ctx.now)?;
    ctx.audit("event.updated")
        .target("event", public_id)
        .details(serde_json::json!({ "organization": org.public_id, "status": fields.status }))
        .record(c, ctx.now)?;
    Ok(())
}

/// The fields an integration changes with `PATCH /api/v1/events/{id}` (`None`: unchanged).
#[derive(Debug, Default)]
pub struct EventPatch {
    pub name: Option<String>,
    pub venue: Option<String>,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub time_zone: Option<String>,
    pub status: Option<EventStatus>,
}

impl EventPatch {
    /// The names of the fields it sets, for the audit entry.
    pub fn changed(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("venue", self.venue.is_some()),
            ("starts_at", self.starts_at.is_some()),
            ("ends_at", self.ends_at.is_some()),
            ("time_zone", self.time_zone.is_some()),
            ("status", self.status.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, set)| set.then_some(f))
        .collect()
    }
}

/// An integration patches an event of an organization that authorized it to write events.
/// Serialized per event, so two patches cannot interleave their read and write. A draft the
/// organization does not share with it (`include_drafts`) is not found — checked here, under
/// the lock, as the event may have become a draft since the caller looked.
pub fn patch_via_api(
    c: &mut DbConn,
    ctx: &Context,
    org_id: &str,
    public_id: &str,
    patch: &EventPatch,
    include_drafts: bool,
) -> Result<Event, EventError> {
    lock_key(c, &format!("event:{public_id}"))?;
    let Some(current) = rows::find_in_org(c, org_id, public_id)? else {
        return Err(EventError::NotFound);
    };
    if current.status == crate::domain::EventStatus::Draft && !include_drafts {
        return Err(EventError::NotFound);
    }
    let starts_at = patch.starts_at.unwrap_or(current.starts_at);
    let ends_at = patch.ends_at.unwrap_or(current.ends_at);
    times_in_order(starts_at, ends_at)?;
    let fields = EventFields {
        name: patch.name.as_deref().unwrap_or(&current.name),
        starts_at,
        ends_at,
        time_zone: patch.time_zone.as_deref().unwrap_or(&current.time_zone),
        venue: patch.venue.as_deref().unwrap_or(&current.venue),
        status: patch.status.unwrap_or(current.status),
    };
    let by_api_id = match ctx.actor {
        crate::context::Actor::Integration(api_id) => Some(api_id),
        _ => None,
    };
    rows::update(c, org_id, public_id, &fields, by_api_id, ctx.now)?;
    ctx.audit("event.updated_via_api")
        .target("event", public_id)
        .details(serde_json::json!({ "organization_id": org_id, "fields": patch.changed() }))
        .record(c, ctx.now)?;
    rows::find_by_public_id(c, public_id)?.ok_or(EventError::NotFound)
}
