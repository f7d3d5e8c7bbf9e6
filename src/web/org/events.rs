//! An organization's events: list, create, edit. Times are entered in the event's time zone and
//! stored in UTC.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::OrgAdmin;
use crate::db;
use crate::db::models::events::{self as rows, Event, EventFields};
use crate::db::models::integrations;
use crate::db::models::organizations::Organization;
use crate::domain::{new_event_public_id, parse_venue, EventName, EventStatus, TimeZone};
use crate::errors::AppError;
use crate::events::{self, EventError};
use crate::web::forms::{when, FieldErrors};
use crate::web::session::CsrfForm;
use crate::web::session::FlashLevel;
use crate::web::{redirect, render, render_with, PageContext};

pub struct EventView {
    pub event: Event,
    pub starts: String,
    pub ends: String,
    /// "Ticketly App (cc_id_…)" when the last change came from an integration.
    pub changed_by: Option<String>,
}

fn view(event: Event) -> EventView {
    let tz = TimeZone::parse(&event.time_zone).ok();
    let show = |t: &chrono::NaiveDateTime| {
        tz.map(|z| z.display(t))
            .unwrap_or_else(|| format!("{t} UTC"))
    };
    EventView {
        starts: show(&event.starts_at),
        ends: show(&event.ends_at),
        changed_by: event.changed_by_api_id.clone(),
        event,
    }
}

#[derive(Template)]
#[template(path = "org/events.html")]
struct ListPage {
    ctx: PageContext,
    org: Organization,
    events: Vec<EventView>,
}

impl ListPage {
    fn when(&self, t: &chrono::NaiveDateTime) -> String {
        when(t)
    }
}

pub async fn list(admin: OrgAdmin) -> Result<HttpResponse, AppError> {
    let oid = admin.org.id.clone();
    let (events, names) = db::run(&admin.current.viewer.state.pool, move |c| {
        let events = rows::for_org(c, &oid)?;
        let mut api_ids: Vec<String> = events
            .iter()
            .filter_map(|e| e.changed_by_api_id.clone())
            .collect();
        api_ids.sort();
        api_ids.dedup();
        Ok((events, integrations::names_of(c, &api_ids)?))
    })
    .await?;
    let names: std::collections::HashMap<String, String> = names.into_iter().collect();
    let events = events
        .into_iter()
        .map(view)
        .map(|mut v| {
            v.changed_by = v.changed_by.map(|id| match names.get(&id) {
                Some(name) => format!("{name} ({id})"),
                None => id,
            });
            v
        })
        .collect();
    render(&ListPage {
        ctx: admin
            .current
            .viewer
            .page(format!("{} events", admin.org.name)),
        org: admin.org,
        events,
    })
}

#[derive(Deserialize, Default, Clone)]
pub struct EventForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    starts: String,
    #[serde(default)]
    ends: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    venue: String,
    #[serde(default)]
    status: String,
}

#[derive(Template)]
#[template(path = "org/event_form.html")]
struct FormPage {
    ctx: PageContext,
    org: Organization,
    /// The accepted time zone names (a searchable list in the form).
    zones: Vec<&'static str>,
    action: String,
    heading: String,
    f: EventForm,
    errors: FieldErrors,
    public_id: Option<String>,
}

struct Parsed {
    name: EventName,
    starts: chrono::NaiveDateTime,
    ends: chrono::NaiveDateTime,
    tz: TimeZone,
    venue: String,
    status: EventStatus,
}

fn parse(f: &EventForm) -> Result<Parsed, FieldErrors> {
    let mut e = FieldErrors::default();
    let name = e.take("name", EventName::parse(&f.name));
    let tz = e.take("time_zone", TimeZone::parse(&f.time_zone));
    let venue = e.take("venue", parse_venue(&f.venue));
    let status = e.take("status", EventStatus::parse(&f.status));
    let (starts, ends) = match tz {
        Some(tz) => (
            e.take("starts", tz.local_to_utc(&f.starts, "start")),
            e.take("ends", tz.local_to_utc(&f.ends, "end")),
        ),
        None => (None, None),
    };
    if let (Some(s), Some(en)) = (starts, ends) {
        if !events::ends_after_start(s, en) {
            e.add("ends", "The event must end after it starts.");
        }
    }
    match (name, starts, ends, tz, venue, status) {
        (Some(name), Some(starts), Some(ends), Some(tz), Some(venue), Some(status))
            if e.is_empty() =>
        {
            Ok(Parsed {
                name,
                starts,
                ends,
                tz,
                venue,
                status,
            })
        }
        _ => Err(e),
    }
}

fn form_page(
    admin: &OrgAdmin,
    status: StatusCode,
    public_id: Option<String>,
    f: EventForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (action, heading) = match &public_id {
        Some(p) => (
            format!("/org/{}/events/{p}/edit", admin.org.public_id),
            "Edit event".to_string(),
        ),
        None => (
            format!("/org/{}/events/new", admin.org.public_id),
            "New event".to_string(),
        ),
    };
    render_with(
        status,
        &FormPage {
            ctx: admin.current.viewer.page(heading.clone()),
            org: admin.org.clone(),
            action,
            heading,
            f,
            errors,
            public_id,
            zones: TimeZone::names().collect(),
        },
    )
}

pub async fn new_form(admin: OrgAdmin) -> Result<HttpResponse, AppError> {
    let f = EventForm {
        status: EventStatus::Draft.to_string(),
        time_zone: "UTC".into(),
        ..EventForm::default()
    };
    form_page(&admin, StatusCode::OK, None, f, FieldErrors::default())
}

pub async fn create(
    admin: OrgAdmin,
    CsrfForm(f): CsrfForm<EventForm>,
) -> Result<HttpResponse, AppError> {
    let p = match parse(&f) {
        Ok(p) => p,
        Err(errors) => return form_page(&admin, StatusCode::UNPROCESSABLE_ENTITY, None, f, errors),
    };
    let state = admin.current.viewer.state.clone();
    let (rc, org) = (admin.current.viewer.context.clone(), admin.org.clone());
    let public_id = new_event_public_id();
    let pid = public_id.clone();
    db::try_transaction_then(
        &state.pool,
        move |c| {
            let fields = EventFields {
                name: p.name.as_str(),
                starts_at: p.starts,
                ends_at: p.ends,
                time_zone: p.tz.name(),
                venue: &p.venue,
                status: p.status,
            };
            events::create(c, &rc.ctx(), &org, &pid, &fields)
        },
        // The API's cached event pages of this organization are dropped after the commit.
        state.api.on_commit_invalidate_events(&admin.org.id),
    )
    .await
    .map_err(event_failed)?;
    admin
        .current
        .viewer
        .flash(FlashLevel::Success, format!("Event created ({public_id})."));
    Ok(redirect(&format!("/org/{}/events", admin.org.public_id)))
}

async fn load(admin: &OrgAdmin, public_id: String) -> Result<Event, AppError> {
    let oid = admin.org.id.clone();
    db::run(&admin.current.viewer.state.pool, move |c| {
        Ok(rows::find_in_org(c, &oid, &public_id)?)
    })
    .await?
    .ok_or(AppError::NotFound)
}

pub async fn edit_form(
    admin: OrgAdmin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let event = load(&admin, path.into_inner().1).await?;
    let tz = TimeZone::parse(&event.time_zone)
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("stored time zone: {e}")))?;
    let f = EventForm {
        name: event.name.clone(),
        starts: tz.utc_to_local_input(&event.starts_at),
        ends: tz.utc_to_local_input(&event.ends_at),
        time_zone: event.time_zone.clone(),
        venue: event.venue.clone(),
        status: event.status.to_string(),
    };
    form_page(
        &admin,
        StatusCode::OK,
        Some(event.public_id),
        f,
        FieldErrors::default(),
    )
}

pub async fn update(
    admin: OrgAdmin,
    path: web::Path<(String, String)>,
    CsrfForm(f): CsrfForm<EventForm>,
) -> Result<HttpResponse, AppError> {
    let event = load(&admin, path.into_inner().1).await?;
    let p = match parse(&f) {
        Ok(p) => p,
        Err(errors) => {
            return form_page(
                &admin,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(event.public_id),
                f,
                errors,
            )
        }
    };
    let state = admin.current.viewer.state.clone();
    let (rc, org) = (admin.current.viewer.context.clone(), admin.org.clone());
    let pid = event.public_id.clone();
    db::try_transaction_then(
        &state.pool,
        move |c| {
            let fields = EventFields {
                name: p.name.as_str(),
                starts_at: p.starts,
                ends_at: p.ends,
                time_zone: p.tz.name(),
                venue: &p.venue,
                status: p.status,
            };
            events::update(c, &rc.ctx(), &org, &pid, &fields)
        },
        // The API's cached event pages of this organization are dropped after the commit.
        state.api.on_commit_invalidate_events(&admin.org.id),
    )
    .await
    .map_err(event_failed)?;
    admin
        .current
        .viewer
        .flash(FlashLevel::Success, "Event saved.");
    Ok(redirect(&format!("/org/{}/events", admin.org.public_id)))
}

/// The form was checked before the transaction (with a message per field), so a refusal here
/// means the event changed or vanished meanwhile.
fn event_failed(e: EventError) -> AppError {
    match e {
        EventError::NotFound => AppError::NotFound,
        EventError::EndsBeforeStart => {
            AppError::Unexpected(anyhow::anyhow!("event times passed the form's check"))
        }
        EventError::Db(e) => e.into(),
        EventError::Other(e) => AppError::Unexpected(e),
    }
}
