//! Examples in the document: a value for each parameter that has a required format, the body of
//! `PATCH /event`, and for every response of every operation at least one body. They are built
//! from the types the handlers serialize (`Me`, `ApiEvent`…) and the errors from `ApiError`'s
//! own response, so an example has the shape the API sends; a unit test validates each one
//! against its schema. The portal's API reference (`/docs/api`) shows them.

use actix_web::body::MessageBody;
use actix_web::ResponseError;
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{json, Value};
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder};
use utoipa::openapi::{RefOr, Response};
use utoipa::Modify;

use crate::api::errors::{rfc3339, ApiError};
use crate::api::handlers::{
    ApiEvent, EventPage, Me, MeOrganization, Organization, OrganizationList, RateLimitInfo,
};
use crate::authorizations::{SCOPE_READ, SCOPE_WRITE};
use crate::gateway::rate_limit::RateState;

/// The example integration, organization and event (well-formed, and not anyone's).
pub const API_ID: &str = "cc_id_7Hq2Lm9XvB4nRt6YkP3wZs8D";
pub const ORG_ID: &str = "org_4Kd9QxT2mWb7LpZs";
pub const EVENT_ID: &str = "evt_8Rf3NcV6yHj2GtQa";
const NEXT_EVENT_ID: &str = "evt_2Wm7KpX4sLd9BvEz";
const REVOKED_ORG_ID: &str = "org_9Vb2XqL7nTc4RmKw";
/// The example account's allowance, and when it is full again (Unix seconds).
const LIMIT: u32 = 1000;
const RESET: u64 = 1_809_163_260;

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|day| day.and_hms_opt(h, mi, 0))
        .expect("a valid example time")
}

fn value(v: impl serde::Serialize) -> Value {
    serde_json::to_value(v).expect("examples serialize")
}

/// The body `ApiError` answers with, as the API sends it.
fn error(e: ApiError) -> Value {
    let body = e.error_response().into_body();
    let bytes = body
        .try_into_bytes()
        .unwrap_or_else(|_| panic!("an error body is one piece"));
    serde_json::from_slice(&bytes).expect("an error body is JSON")
}

fn event() -> ApiEvent {
    ApiEvent {
        id: EVENT_ID.into(),
        organization_id: ORG_ID.into(),
        name: "Spring Ticket Fair".into(),
        venue: "Hall 3, Messe Berlin".into(),
        starts_at: rfc3339(&at(2027, 5, 1, 16, 0)),
        ends_at: rfc3339(&at(2027, 5, 1, 22, 0)),
        time_zone: "Europe/Berlin".into(),
        status: "published".into(),
        updated_at: rfc3339(&at(2027, 4, 12, 8, 30)),
    }
}

/// The change `PATCH /event`'s example sends, and the event it gives back.
fn patch() -> Value {
    json!({ "venue": "Hall 4, Messe Berlin", "starts_at": "2027-05-01T18:30:00+02:00" })
}

fn patched_event() -> ApiEvent {
    ApiEvent {
        venue: "Hall 4, Messe Berlin".into(),
        starts_at: rfc3339(&at(2027, 5, 1, 16, 30)),
        updated_at: rfc3339(&at(2027, 4, 20, 10, 5)),
        ..event()
    }
}

fn event_page() -> EventPage {
    let next_start = at(2027, 7, 10, 14, 0);
    let next = ApiEvent {
        id: NEXT_EVENT_ID.into(),
        name: "Summer Open Air".into(),
        venue: "Tempelhofer Feld".into(),
        starts_at: rfc3339(&next_start),
        ends_at: rfc3339(&at(2027, 7, 10, 21, 0)),
        updated_at: rfc3339(&at(2027, 6, 1, 12, 0)),
        ..event()
    };
    EventPage {
        data: vec![event(), next],
        has_more: true,
        // As the handler writes it: the last event's start (Unix µs) and ID.
        next_cursor: Some(format!(
            "{}.{NEXT_EVENT_ID}",
            next_start.and_utc().timestamp_micros()
        )),
    }
}

fn me() -> Me {
    Me {
        api_id: API_ID.into(),
        display_name: "Ticketly Sync".into(),
        status: "active".into(),
        organizations: vec![
            MeOrganization {
                id: ORG_ID.into(),
                name: "Acme Events".into(),
                status: "active".into(),
                scopes: vec![SCOPE_READ.into(), SCOPE_WRITE.into()],
                revoked_at: None,
                delete_by: None,
            },
            MeOrganization {
                id: REVOKED_ORG_ID.into(),
                name: "Harbour Festival".into(),
                status: "revoked".into(),
                scopes: Vec::new(),
                revoked_at: Some(rfc3339(&at(2027, 4, 2, 9, 0))),
                delete_by: Some(rfc3339(&at(2027, 5, 2, 9, 0))),
            },
        ],
        rate_limit: RateLimitInfo {
            limit: LIMIT,
            remaining: LIMIT - 1,
            reset: RESET,
        },
    }
}

fn organizations() -> OrganizationList {
    OrganizationList {
        data: vec![Organization {
            id: ORG_ID.into(),
            name: "Acme Events".into(),
            scopes: vec![SCOPE_READ.into(), SCOPE_WRITE.into()],
            authorized_at: rfc3339(&at(2027, 3, 2, 9, 15)),
            include_drafts: false,
        }],
    }
}

/// The examples of one response: (key, summary, body). `schema` is the name of the response's
/// schema, `description` its description (which names the cases a status covers).
fn response_examples(
    method: &str,
    path: &str,
    status: &str,
    schema: &str,
    description: &str,
) -> Vec<(&'static str, &'static str, Value)> {
    let org_path = path.contains("{org_id}");
    match (status, schema) {
        ("200", "Me") => vec![("me", "The calling integration", value(me()))],
        ("200", "OrganizationList") => vec![(
            "organizations",
            "One active authorization",
            value(organizations()),
        )],
        ("200", "EventPage") => vec![(
            "page",
            "A first page with more to come",
            value(event_page()),
        )],
        ("200", "ApiEvent") if method == "patch" => vec![(
            "updated",
            "The event after the example change",
            value(patched_event()),
        )],
        ("200", "ApiEvent") => vec![("event", "The event", value(event()))],
        ("400", _) if org_path => vec![(
            "limit",
            "A limit out of range",
            error(ApiError::BadRequest(
                "limit must be a whole number from 1 to 100".into(),
            )),
        )],
        ("400", _) if method == "patch" => vec![
            (
                "null",
                "A field sent as null",
                error(ApiError::BadRequest(
                    "The body is not a valid event update: venue must not be null (leave a \
                     field out to keep it as it is)"
                        .into(),
                )),
            ),
            missing_event_id(),
        ],
        ("400", _) => vec![missing_event_id()],
        ("401", _) => vec![(
            "credentials",
            "Wrong or revoked credentials",
            error(ApiError::Unauthorized { hint: None }),
        )],
        ("403", _) => {
            let mut out = Vec::new();
            if description.contains("revoked") || description.contains("Revoked") {
                out.push((
                    "revoked",
                    "The organization revoked this integration",
                    error(ApiError::Revoked {
                        revoked_at: at(2027, 4, 2, 9, 0),
                        delete_by: Some(at(2027, 5, 2, 9, 0)),
                    }),
                ));
            }
            if description.contains("Insufficient scope") {
                out.push((
                    "scope",
                    "The organization granted only events:read",
                    error(ApiError::InsufficientScope(SCOPE_WRITE)),
                ));
            }
            if description.contains("Account suspended") {
                out.push((
                    "suspended",
                    "ConCat suspended the developer account",
                    error(ApiError::AccountSuspended),
                ));
            }
            out
        }
        ("404", _) if org_path => vec![(
            "organization",
            "Unknown, or never authorized this integration",
            error(ApiError::InvalidOrganization),
        )],
        ("404", _) => vec![(
            "event",
            "Unknown, or of an organization that never authorized this integration",
            error(ApiError::InvalidEvent),
        )],
        ("409", _) => vec![(
            "order",
            "The event would end before it starts",
            error(ApiError::Conflict("ends_at must be after starts_at".into())),
        )],
        ("415", _) => vec![(
            "media_type",
            "The body was sent as a form",
            error(ApiError::UnsupportedMediaType),
        )],
        ("429", _) => vec![(
            "rate_limit",
            "The minute's allowance is used up",
            error(ApiError::RateLimited(RateState {
                limit: LIMIT,
                remaining: 0,
                reset: RESET,
                retry_after: Some(1),
            })),
        )],
        _ => Vec::new(),
    }
}

fn missing_event_id() -> (&'static str, &'static str, Value) {
    (
        "event_id",
        "No EventId header",
        error(ApiError::BadRequest(
            "This endpoint needs the EventId header (the event's unique ID, evt_…)".into(),
        )),
    )
}

/// Adds the examples to every operation.
pub struct Examples;

impl Modify for Examples {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let info = json!({
            "openapi": "3.1.0",
            "info": { "title": openapi.info.title, "version": openapi.info.version },
        });
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, op) in operations {
                if let Some(op) = op.as_mut() {
                    add_examples(op, method, path, &info);
                }
            }
        }
    }
}

fn add_examples(op: &mut Operation, method: &str, path: &str, document: &Value) {
    for param in op.parameters.iter_mut().flatten() {
        let required = matches!(param.required, utoipa::openapi::Required::True);
        let example = match (param.name.as_str(), required) {
            ("org_id", _) => json!(ORG_ID),
            ("EventId", true) => json!(EVENT_ID),
            ("limit", _) => json!(50),
            _ => continue,
        };
        *param = ParameterBuilder::from(param.clone())
            .example(Some(example))
            .build();
    }
    if let Some(content) = op
        .request_body
        .as_mut()
        .and_then(|b| b.content.get_mut("application/json"))
    {
        content.example = Some(patch());
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(Response {
            description,
            content,
            ..
        }) = response
        else {
            continue;
        };
        let Some(content) = content.get_mut("application/json") else {
            continue;
        };
        let schema = match &content.schema {
            Some(RefOr::Ref(r)) => r.ref_location.rsplit('/').next().unwrap_or_default(),
            _ => "",
        };
        let examples = if schema.is_empty() && status == "200" {
            vec![(
                "document",
                "The start of the document (abridged)",
                document.clone(),
            )]
        } else {
            response_examples(method, path, status, schema, description)
        };
        for (key, summary, value) in examples {
            content.examples.insert(
                key.to_string(),
                RefOr::T(
                    ExampleBuilder::new()
                        .summary(summary)
                        .value(Some(value))
                        .build(),
                ),
            );
        }
    }
}
