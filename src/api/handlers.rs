//! The API's endpoints. `/me` and `/organizations` answer from the cached caller (no database);
//! the event endpoints do one read (and `PATCH` one write, audited).

use std::sync::Arc;

use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::errors::{rfc3339, ApiError};
use super::parse::{public_id, EventIdHeader};
use super::ApiCaller;
use crate::audit::Actor;
use crate::authorizations::{SCOPE_READ, SCOPE_WRITE};
use crate::context::Context;
use crate::context::RequestMeta;
use crate::db::models::events::{self, Event, EventListing};
use crate::db::{self};
use crate::domain::{parse_venue, EventName, EventStatus, TimeZone};
use crate::events::{self as event_changes, EventError};
use crate::gateway::cache::{Grant, GrantState};
use crate::gateway::event_pages::PageKey;
use crate::state::AppState;

/// An event's unique ID, as the `EventId` header and in responses.
pub const EVENT_ID_PATTERN: &str = "^evt_[A-Za-z0-9]{16}$";
/// An organization's unique ID.
pub const ORG_ID_PATTERN: &str = "^org_[A-Za-z0-9]{16}$";
/// A page cursor: the start of the page's last event (Unix microseconds) and its ID.
pub const CURSOR_PATTERN: &str = r"^-?[0-9]{1,16}\.evt_[A-Za-z0-9]{16}$";
/// Times sent to the API: RFC 3339 (`format: date-time`) in the years 1970 to 2200.
pub const TIME_PATTERN: &str = r"^(19[7-9][0-9]|2[01][0-9]{2}|2200)-";
/// An event name: no control characters (Unicode Cc), and something besides white space
/// (Unicode White_Space, what Rust's `str::trim` removes).
pub const NAME_PATTERN: &str = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$";
/// A venue: no control characters (empty or white space only clears it).
pub const VENUE_PATTERN: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";
pub const NAME_MAX: usize = 160;
pub const VENUE_MAX: usize = 200;

/// Every error: a message, and for some errors more fields (see each response).
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, e.g. `Invalid API credentials`.
    pub error: String,
    /// 401: how to send credentials, when none (or a disabled kind) were sent.
    pub hint: Option<String>,
    /// 429: requests per minute.
    pub limit: Option<u32>,
    /// 429: always 0.
    pub remaining: Option<u32>,
    /// 429: Unix seconds at which the full allowance is back.
    #[serde(rename = "resetTime")]
    pub reset_time: Option<u64>,
    /// 403 revoked: RFC 3339.
    pub revoked_at: Option<String>,
    /// 403 revoked: the data must be deleted by then (RFC 3339).
    pub delete_by: Option<String>,
    /// 403 insufficient scope: the scope this needs.
    pub required_scope: Option<String>,
}

/// The rate limit of the calling developer account.
#[derive(Serialize, ToSchema)]
pub struct RateLimitInfo {
    /// Requests per minute (a burst of this many is allowed).
    pub limit: u32,
    pub remaining: u32,
    /// Unix time (seconds) when the full allowance is available again.
    pub reset: u64,
}

#[derive(Serialize, ToSchema)]
pub struct MeOrganization {
    /// The organization's unique ID (`org_…`).
    pub id: String,
    pub name: String,
    /// `active`, or `revoked` (the data must be deleted by `delete_by`).
    pub status: String,
    pub scopes: Vec<String>,
    pub revoked_at: Option<String>,
    pub delete_by: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub api_id: String,
    pub display_name: String,
    pub status: String,
    pub organizations: Vec<MeOrganization>,
    pub rate_limit: RateLimitInfo,
}

#[derive(Serialize, ToSchema)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub authorized_at: String,
    /// Whether the organization shares its draft events with this integration (otherwise
    /// drafts are left out of event lists and answered 404 `Invalid event`).
    pub include_drafts: bool,
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationList {
    pub data: Vec<Organization>,
}

#[derive(Serialize, ToSchema)]
pub struct ApiEvent {
    /// The event's unique ID (`evt_…`), as sent in the `EventId` header.
    #[schema(pattern = "^evt_[A-Za-z0-9]{16}$")]
    pub id: String,
    #[schema(pattern = "^org_[A-Za-z0-9]{16}$")]
    pub organization_id: String,
    pub name: String,
    pub venue: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    /// IANA time zone in which the event takes place.
    pub time_zone: String,
    /// `draft`, `published` or `cancelled`.
    pub status: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct EventPage {
    pub data: Vec<ApiEvent>,
    pub has_more: bool,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Fields to change: at least one. Omitted fields stay as they are; `null` is not a value.
/// Besides what the schema states, `ends_at` must come after `starts_at` once the change is
/// applied to the stored event (else 409).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EventPatch {
    /// At most 160 characters, no control characters, not only white space (trimmed).
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 160,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: Option<String>,
    /// At most 200 characters, no control characters (trimmed; empty clears it).
    #[schema(
        nullable = false,
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub venue: Option<String>,
    /// RFC 3339 with an offset, e.g. `2027-05-01T18:00:00+02:00`, in the years 1970 to 2200;
    /// stored to the whole second.
    #[schema(nullable = false, format = DateTime, pattern = r"^(19[7-9][0-9]|2[01][0-9]{2}|2200)-")]
    pub starts_at: Option<String>,
    /// As `starts_at`; after it.
    #[schema(nullable = false, format = DateTime, pattern = r"^(19[7-9][0-9]|2[01][0-9]{2}|2200)-")]
    pub ends_at: Option<String>,
    /// An IANA time zone name, e.g. `Europe/Berlin`.
    #[schema(nullable = false)]
    pub time_zone: Option<String>,
    /// `draft`, `published` or `cancelled`.
    #[schema(nullable = false)]
    pub status: Option<String>,
}

fn org_view(g: &Grant) -> MeOrganization {
    let (status, scopes, revoked_at, delete_by) = match &g.state {
        GrantState::Active { scopes, .. } => ("active", scopes.clone(), None, None),
        GrantState::Revoked {
            revoked_at,
            delete_by,
        } => (
            "revoked",
            Vec::new(),
            Some(rfc3339(revoked_at)),
            delete_by.as_ref().map(rfc3339),
        ),
    };
    MeOrganization {
        id: g.org_public_id.clone(),
        name: g.org_name.clone(),
        status: status.into(),
        scopes,
        revoked_at,
        delete_by,
    }
}

fn event_view(e: &EventListing, org_public_id: &str) -> ApiEvent {
    ApiEvent {
        id: e.public_id.clone(),
        organization_id: org_public_id.to_string(),
        name: e.name.clone(),
        venue: e.venue.clone(),
        starts_at: rfc3339(&e.starts_at),
        ends_at: rfc3339(&e.ends_at),
        time_zone: e.time_zone.clone(),
        status: e.status.to_string(),
        updated_at: rfc3339(&e.updated_at),
    }
}

/// The grant, if it allows `scope`; the right error otherwise. `missing` is the 404 to give
/// when the organization never authorized this integration.
fn check_grant<'a>(
    grant: Option<&'a Grant>,
    scope: &'static str,
    missing: ApiError,
) -> Result<&'a Grant, ApiError> {
    let grant = grant.ok_or(missing)?;
    match &grant.state {
        GrantState::Revoked {
            revoked_at,
            delete_by,
        } => Err(ApiError::Revoked {
            revoked_at: *revoked_at,
            delete_by: *delete_by,
        }),
        GrantState::Active { .. } if !grant.allows(scope) => {
            Err(ApiError::InsufficientScope(scope))
        }
        GrantState::Active { .. } => Ok(grant),
    }
}

/// The calling integration.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "Integration",
    params(("EventId" = Option<String>, Header, description = EVENT_ID_OPTIONAL)),
    responses(
        (status = 200, description = "The calling integration", body = Me),
        (status = 401, description = "Invalid API credentials", body = ErrorBody),
        (status = 403, description = "`Account suspended`: ConCat suspended the developer account", body = ErrorBody),
        (status = 429, description = "Rate limit exceeded", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn me(caller: ApiCaller) -> Result<HttpResponse, ApiError> {
    let r = &caller.resolved;
    Ok(HttpResponse::Ok().json(Me {
        api_id: r.api_id.to_string(),
        display_name: r.display_name.clone(),
        status: r.status.to_string(),
        organizations: r.grants.iter().map(org_view).collect(),
        rate_limit: RateLimitInfo {
            limit: caller.rate.limit,
            remaining: caller.rate.remaining,
            reset: caller.rate.reset,
        },
    }))
}

/// Organizations whose authorization of this integration is active.
#[utoipa::path(
    get, path = "/api/v1/organizations", tag = "Organizations",
    params(("EventId" = Option<String>, Header, description = EVENT_ID_OPTIONAL)),
    responses(
        (status = 200, description = "Active authorizations", body = OrganizationList),
        (status = 401, description = "Invalid API credentials", body = ErrorBody),
        (status = 403, description = "`Account suspended`: ConCat suspended the developer account", body = ErrorBody),
        (status = 429, description = "Rate limit exceeded", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn organizations(caller: ApiCaller) -> Result<HttpResponse, ApiError> {
    let data = caller
        .resolved
        .grants
        .iter()
        .filter_map(|g| match &g.state {
            GrantState::Active {
                scopes,
                authorized_at,
                include_drafts,
                ..
            } => Some(Organization {
                id: g.org_public_id.clone(),
                name: g.org_name.clone(),
                scopes: scopes.clone(),
                authorized_at: rfc3339(authorized_at),
                include_drafts: *include_drafts,
            }),
            GrantState::Revoked { .. } => None,
        })
        .collect();
    Ok(HttpResponse::Ok().json(OrganizationList { data }))
}

const MAX_LIMIT: i64 = 100;
const DEFAULT_LIMIT: i64 = 20;

fn parse_limit(raw: Option<&str>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}"
                ))
            }),
    }
}

/// `<Unix microseconds of the start>.<event ID>`: plain, so `CURSOR_PATTERN` states exactly
/// which cursors are accepted (any that matches names a position in the list).
fn encode_cursor(e: &EventListing) -> String {
    let micros = e.starts_at.and_utc().timestamp_micros();
    format!("{micros}.{}", e.public_id)
}

fn decode_cursor(raw: &str) -> Result<(NaiveDateTime, String), ApiError> {
    let bad = || {
        ApiError::BadRequest(
            "cursor must be a next_cursor this API returned (<microseconds>.<event ID>)".into(),
        )
    };
    let (micros, id) = raw.split_once('.').ok_or_else(bad)?;
    let digits = micros.strip_prefix('-').unwrap_or(micros);
    if !(1..=16).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    let id = public_id("evt_", id).ok_or_else(bad)?;
    Ok((at.naive_utc(), id.to_string()))
}

/// All events of an organization that authorized this integration, by start time. Draft
/// events are included only when the organization shares its drafts with this integration
/// (`include_drafts` in `GET /api/v1/organizations`); otherwise they are left out, and
/// `GET /api/v1/event` answers a draft with 404 `Invalid event`.
#[utoipa::path(
    get, path = "/api/v1/organizations/{org_id}/events", tag = "Events",
    params(
        ("org_id" = String, Path, pattern = "^org_[A-Za-z0-9]{16}$", description = "The organization's unique ID (`org_…`)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 20)"),
        ("cursor" = Option<String>, Query, pattern = r"^-?[0-9]{1,16}\.evt_[A-Za-z0-9]{16}$", description = "`next_cursor` of the previous page; leave it out for the first page"),
        ("EventId" = Option<String>, Header, description = EVENT_ID_OPTIONAL),
    ),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 400, description = "A limit or cursor the parameters' schemas do not allow", body = ErrorBody),
        (status = 401, description = "Invalid API credentials", body = ErrorBody),
        (status = 403, description = "The organization revoked this integration (`revoked_at`, `delete_by`), or `Account suspended`", body = ErrorBody),
        (status = 404, description = "Invalid organization", body = ErrorBody),
        (status = 429, description = "Rate limit exceeded", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn events(
    caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let org_param = path.into_inner();
    let grant = public_id("org_", &org_param).and_then(|id| caller.resolved.grant(id));
    if let Some(g) = grant {
        caller.touch(g, None);
    }
    let grant = check_grant(grant, SCOPE_READ, ApiError::InvalidOrganization)?.clone();
    let mut limit = None;
    let mut cursor = None;
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match &*k {
            "limit" => limit = Some(v.into_owned()),
            "cursor" => cursor = Some(v.into_owned()),
            _ => {}
        }
    }
    let limit = parse_limit(limit.as_deref())?;
    let after = cursor.as_deref().map(decode_cursor).transpose()?;
    let key = PageKey {
        org_id: grant.org_id.clone(),
        after,
        limit,
        include_drafts: grant.includes_drafts(),
    };
    let pages = &state.api.event_pages;
    if let Some(body) = pages.get(&key) {
        return Ok(json_body(body));
    }
    let ticket = pages.ticket();
    let query = key.clone();
    let mut rows = db::run(&state.pool, move |c| {
        Ok(events::page_for_org(
            c,
            &query.org_id,
            query.after.as_ref().map(|(t, id)| (*t, id.as_str())),
            query.limit + 1,
            query.include_drafts,
        )?)
    })
    .await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = has_more.then(|| rows.last().map(encode_cursor)).flatten();
    let page = EventPage {
        data: rows
            .iter()
            .map(|e| event_view(e, &grant.org_public_id))
            .collect(),
        has_more,
        next_cursor,
    };
    let body = Bytes::from(serde_json::to_vec(&page).map_err(anyhow::Error::from)?);
    pages.insert(ticket, key, body.clone());
    Ok(json_body(body))
}

fn json_body(body: Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// The event named by `EventId`, if its organization authorized this integration.
async fn load_event(
    caller: &ApiCaller,
    state: &AppState,
    scope: &'static str,
) -> Result<(Event, Grant), ApiError> {
    let event_id =
        match &caller.event {
            EventIdHeader::Absent => {
                return Err(ApiError::BadRequest(
                    "This endpoint needs the EventId header (the event's unique ID, evt_…)".into(),
                ))
            }
            EventIdHeader::Malformed => return Err(ApiError::BadRequest(
                "The EventId header is not an event ID (evt_ followed by 16 letters and digits)"
                    .into(),
            )),
            EventIdHeader::Valid(id) => id.clone(),
        };
    let event = db::run(&state.pool, move |c| {
        Ok(events::find_by_public_id(c, &event_id)?)
    })
    .await?;
    // An event of an organization that never authorized this integration is as unknown as
    // one that does not exist (usage keeps neither id: see `usage::write`).
    let found = event.and_then(|e| {
        caller
            .resolved
            .grant_by_org_id(&e.organization_id)
            .cloned()
            .map(|g| (e, g))
    });
    // A draft the organization does not share is unknown too.
    let found = found.filter(|(e, g)| e.status != EventStatus::Draft || g.includes_drafts());
    let Some((event, grant)) = found else {
        return Err(ApiError::InvalidEvent);
    };
    caller.touch(&grant, Some(&event.public_id));
    check_grant(Some(&grant), scope, ApiError::InvalidEvent)?;
    Ok((event, grant))
}

const EVENT_ID_HEADER: &str = "The event's unique ID (`evt_…`)";
const EVENT_ID_OPTIONAL: &str = "Optional here, and any value is accepted: an event's unique ID \
     (`evt_…`) is recorded in usage statistics, anything else is ignored.";

/// The event named by the `EventId` header.
#[utoipa::path(
    get, path = "/api/v1/event", tag = "Events",
    params(("EventId" = String, Header, pattern = "^evt_[A-Za-z0-9]{16}$", description = EVENT_ID_HEADER)),
    responses(
        (status = 200, description = "The event", body = ApiEvent),
        (status = 400, description = "Missing or malformed EventId", body = ErrorBody),
        (status = 401, description = "Invalid API credentials", body = ErrorBody),
        (status = 403, description = "The organization revoked this integration, or `Account suspended`", body = ErrorBody),
        (status = 404, description = "Invalid event", body = ErrorBody),
        (status = 429, description = "Rate limit exceeded", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn event(
    caller: ApiCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (event, grant) = load_event(&caller, &state, SCOPE_READ).await?;
    Ok(HttpResponse::Ok().json(event_view(&(&event).into(), &grant.org_public_id)))
}

fn parse_time(raw: &str, field: &str) -> Result<NaiveDateTime, ApiError> {
    let t = DateTime::parse_from_rfc3339(raw).map_err(|_| {
        ApiError::BadRequest(format!(
            "{field} must be an RFC 3339 time with an offset, like 2027-05-01T18:00:00+02:00"
        ))
    })?;
    let year = chrono::Datelike::year(&t);
    if !(1970..=2200).contains(&year) {
        return Err(ApiError::BadRequest(format!(
            "{field} must be between the years 1970 and 2200"
        )));
    }
    // Whole seconds: what the portal's forms store, and what cursors can round-trip.
    Ok(chrono::SubsecRound::trunc_subsecs(t.naive_utc(), 0))
}

/// The body of `PATCH /event`, checked against exactly what `EventPatch`'s schema states
/// (415 unless `application/json`; 400 unless an object with at least one known field, none
/// `null`, each within its schema). What only the stored event can tell is checked later.
fn parse_patch(req: &HttpRequest, body: &[u8]) -> Result<EventPatch, ApiError> {
    let json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<actix_web::mime::Mime>().ok())
        .is_some_and(|m| m.essence_str() == "application/json");
    if !json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let invalid = |what: String| {
        ApiError::BadRequest(format!("The body is not a valid event update: {what}"))
    };
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| invalid(e.to_string()))?;
    let serde_json::Value::Object(fields) = value else {
        return Err(invalid(
            "send a JSON object, like {\"name\": \"Opening Night\"}".into(),
        ));
    };
    if fields.is_empty() {
        return Err(invalid(
            "send at least one of name, venue, starts_at, ends_at, time_zone, status".into(),
        ));
    }
    if let Some((field, _)) = fields.iter().find(|(_, v)| v.is_null()) {
        return Err(invalid(format!(
            "{field} must not be null (leave a field out to keep it as it is)"
        )));
    }
    let patch: EventPatch = serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| invalid(e.to_string()))?;
    let over = |field: &str, value: &Option<String>, max: usize| match value {
        Some(v) if v.chars().count() > max => Err(ApiError::BadRequest(format!(
            "{field} must be at most {max} characters"
        ))),
        _ => Ok(()),
    };
    over("name", &patch.name, NAME_MAX)?;
    over("venue", &patch.venue, VENUE_MAX)?;
    for (field, value) in [("name", &patch.name), ("venue", &patch.venue)] {
        if value
            .as_deref()
            .is_some_and(|v| v.chars().any(char::is_control))
        {
            return Err(ApiError::BadRequest(format!(
                "{field} must not contain control characters"
            )));
        }
    }
    // Exactly the schema's enums: no surrounding white space.
    if let Some(zone) = &patch.time_zone {
        if zone.trim() != zone {
            return Err(ApiError::BadRequest(format!(
                "\"{zone}\" is not a time zone we know: send a name like Europe/Berlin, without spaces"
            )));
        }
    }
    if let Some(status) = &patch.status {
        if !EventStatus::ALL.iter().any(|s| s.as_str() == status) {
            return Err(ApiError::BadRequest(
                "status must be one of draft, published or cancelled".into(),
            ));
        }
    }
    Ok(patch)
}

/// Updates name, venue, times, time zone or status of the event named by `EventId`; needs the
/// `events:write` scope.
#[utoipa::path(
    patch, path = "/api/v1/event", tag = "Events",
    params(("EventId" = String, Header, pattern = "^evt_[A-Za-z0-9]{16}$", description = EVENT_ID_HEADER)),
    request_body(content = EventPatch, content_type = "application/json", description = "A JSON object (`Content-Type: application/json`)"),
    responses(
        (status = 200, description = "The updated event", body = ApiEvent),
        (status = 400, description = "Missing or malformed EventId, or a body the schema does not allow (not JSON, not an object, no field, a `null`, an unknown field, a value out of bounds)", body = ErrorBody),
        (status = 401, description = "Invalid API credentials", body = ErrorBody),
        (status = 403, description = "Revoked, `Insufficient scope` (`required_scope`), or `Account suspended`", body = ErrorBody),
        (status = 404, description = "Invalid event", body = ErrorBody),
        (status = 409, description = "The change would leave the event ending before (or when) it starts", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`", body = ErrorBody),
        (status = 429, description = "Rate limit exceeded", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn update_event(
    caller: ApiCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let patch = parse_patch(&req, &body)?;
    let (event, grant) = load_event(&caller, &state, SCOPE_WRITE).await?;
    let bad = ApiError::BadRequest;
    // Parse everything first; merge with the stored event inside the transaction, so a
    // concurrent edit of other fields is not overwritten.
    let name = patch
        .name
        .as_deref()
        .map(|n| EventName::parse(n).map(|n| n.as_str().to_string()))
        .transpose()
        .map_err(bad)?;
    let venue = patch
        .venue
        .as_deref()
        .map(parse_venue)
        .transpose()
        .map_err(bad)?;
    let time_zone = patch
        .time_zone
        .as_deref()
        .map(|z| TimeZone::parse(z).map(|z| z.name().to_string()))
        .transpose()
        .map_err(bad)?;
    let status = patch
        .status
        .as_deref()
        .map(EventStatus::parse)
        .transpose()
        .map_err(bad)?;
    let starts_at = patch
        .starts_at
        .as_deref()
        .map(|t| parse_time(t, "starts_at"))
        .transpose()?;
    let ends_at = patch
        .ends_at
        .as_deref()
        .map(|t| parse_time(t, "ends_at"))
        .transpose()?;
    let patch = event_changes::EventPatch {
        name,
        venue,
        starts_at,
        ends_at,
        time_zone,
        status,
    };
    let meta = RequestMeta::of(&req, state.settings.trust_proxy_headers);
    let api_id: Arc<str> = caller.resolved.api_id.clone();
    let now = caller.now;
    let org_id = event.organization_id.clone();
    let public = event.public_id.clone();
    let drafts = grant.includes_drafts();
    let after_commit = state.api.on_commit_invalidate_events(&org_id);
    let updated = db::try_transaction_then(
        &state.pool,
        move |c| {
            let ctx = Context::new(now, Actor::Integration(&api_id), &meta);
            event_changes::patch_via_api(c, &ctx, &org_id, &public, &patch, drafts)
        },
        after_commit,
    )
    .await
    .map_err(|e| match e {
        EventError::NotFound => ApiError::InvalidEvent,
        EventError::EndsBeforeStart => ApiError::Conflict("ends_at must be after starts_at".into()),
        EventError::Db(e) => ApiError::Unexpected(e.into()),
        EventError::Other(e) => ApiError::Unexpected(e),
    })?;
    Ok(HttpResponse::Ok().json(event_view(&(&updated).into(), &grant.org_public_id)))
}
