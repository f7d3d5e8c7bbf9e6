//! The OpenAPI 3.1 document, generated (utoipa) from the handlers' annotations and the response
//! types they serialize, so it cannot drift from the code; the examples (`examples`) are built
//! from those types and from `ApiError`'s own bodies. Served at `/api/v1/openapi.json` and
//! rendered as the portal's API reference (`/docs/api`).

use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Object, Ref, RefOr, ResponseBuilder, Schema, Type};
use utoipa::{Modify, OpenApi};

use super::handlers;

mod examples;

use examples::Examples;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("<API ID>:<API Secret>")
                    .description(Some(
                        "Authorization: Bearer <API ID>:<API Secret> — ConCat's documented form.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "HTTP Basic with the API ID as user name and the API secret as password \
                         (so https://<API ID>:<API Secret>@host/… URLs work).",
                    ))
                    .build(),
            ),
        );
    }
}

/// What the gate adds to every response it decides, declared on every operation: the
/// `X-RateLimit-*` headers, `Retry-After` on a 429 (which any operation may answer: the
/// document itself is limited per address) and `WWW-Authenticate` on a 401.
struct GateHeaders;

impl Modify for GateHeaders {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let integer = |description: &str| {
            HeaderBuilder::new()
                .schema(Object::with_type(Type::Integer))
                .description(Some(description))
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                op.responses
                    .responses
                    .entry("429".to_string())
                    .or_insert_with(|| {
                        ResponseBuilder::new()
                            .description("Rate limit exceeded")
                            .content(
                                "application/json",
                                ContentBuilder::new()
                                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                                    .build(),
                            )
                            .build()
                            .into()
                    });
                for (status, response) in op.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    let headers = &mut response.headers;
                    headers.insert(
                        "X-RateLimit-Limit".into(),
                        integer("Requests allowed per minute"),
                    );
                    headers.insert(
                        "X-RateLimit-Remaining".into(),
                        integer("Requests that may be made right now"),
                    );
                    headers.insert(
                        "X-RateLimit-Reset".into(),
                        integer("Unix time (seconds) at which the full allowance is back"),
                    );
                    match status.as_str() {
                        "429" => {
                            headers.insert(
                                "Retry-After".into(),
                                integer("Seconds until the next request will be admitted"),
                            );
                        }
                        "401" => {
                            headers.insert(
                                "WWW-Authenticate".into(),
                                HeaderBuilder::new()
                                    .schema(Object::with_type(Type::String))
                                    .description(Some("The accepted schemes: Bearer and Basic"))
                                    .build(),
                            );
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// What the derive cannot say: where the API is (`servers`: this portal, relative to the
/// document), that the document itself needs no credentials (`security: []`), and, of
/// `EventPatch`, `minProperties` and the enums (every time zone the server knows; the statuses).
struct Constraints;

impl Modify for Constraints {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.servers = Some(vec![utoipa::openapi::server::ServerBuilder::new()
            .url("/")
            .description(Some("This portal (the paths include /api/v1)"))
            .build()]);
        if let Some(op) = openapi
            .paths
            .paths
            .get_mut("/api/v1/openapi.json")
            .and_then(|item| item.get.as_mut())
        {
            op.security = Some(Vec::new());
        }
        let Some(RefOr::T(Schema::Object(patch))) = openapi
            .components
            .as_mut()
            .and_then(|c| c.schemas.get_mut("EventPatch"))
        else {
            return;
        };
        // At least one field (set here: utoipa 5.5's `min_properties` attribute emits
        // `maxProperties`).
        patch.min_properties = Some(1);
        patch.max_properties = None;
        let zones: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
        for (field, values) in [
            ("time_zone", zones),
            (
                "status",
                crate::domain::EventStatus::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect(),
            ),
        ] {
            if let Some(RefOr::T(Schema::Object(o))) = patch.properties.get_mut(field) {
                o.enum_values = Some(values.into_iter().map(serde_json::Value::from).collect());
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ConCat API",
        version = "1",
        description = "Event data of the organizations that authorized your integration. \
                       Authenticate with your API ID and secret; send EventId for event endpoints."
    ),
    paths(
        handlers::me,
        handlers::organizations,
        handlers::events,
        handlers::event,
        handlers::update_event,
        document
    ),
    components(schemas(
        handlers::ErrorBody,
        handlers::RateLimitInfo,
        handlers::Me,
        handlers::MeOrganization,
        handlers::Organization,
        handlers::OrganizationList,
        handlers::ApiEvent,
        handlers::EventPage,
        handlers::EventPatch
    )),
    modifiers(&Security, &GateHeaders, &Constraints, &Examples),
    tags(
        (name = "Integration", description = "Who is calling"),
        (name = "Organizations", description = "Who authorized you"),
        (name = "Events", description = "Their events")
    )
)]
pub struct ApiDoc;

/// The document, built once.
pub fn spec() -> &'static utoipa::openapi::OpenApi {
    static SPEC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    SPEC.get_or_init(ApiDoc::openapi)
}

/// This document (OpenAPI 3.1). Public: no credentials needed.
#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "Integration",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
pub async fn document() -> HttpResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    let body = JSON.get_or_init(|| spec().to_pretty_json().unwrap_or_else(|_| "{}".into()));
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use handlers::{
        CURSOR_PATTERN, EVENT_ID_PATTERN, NAME_PATTERN, ORG_ID_PATTERN, TIME_PATTERN, VENUE_PATTERN,
    };
    use serde_json::json;

    /// The patterns are written out in the handlers' attributes (utoipa takes only literals):
    /// they must be the ones the server's checks are documented against.
    #[test]
    fn the_documents_patterns_are_the_servers() {
        let doc = serde_json::to_value(spec()).unwrap();
        let param = |path: &str, method: &str, name: &str| {
            doc["paths"][path][method]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .map(|p| p["schema"]["pattern"].clone())
                .unwrap()
        };
        let events = "/api/v1/organizations/{org_id}/events";
        assert_eq!(param(events, "get", "org_id"), ORG_ID_PATTERN);
        assert_eq!(param(events, "get", "cursor"), CURSOR_PATTERN);
        assert_eq!(param("/api/v1/event", "get", "EventId"), EVENT_ID_PATTERN);
        assert_eq!(param("/api/v1/event", "patch", "EventId"), EVENT_ID_PATTERN);
        let patch = &doc["components"]["schemas"]["EventPatch"]["properties"];
        assert_eq!(patch["name"]["pattern"], NAME_PATTERN);
        assert_eq!(patch["venue"]["pattern"], VENUE_PATTERN);
        assert_eq!(patch["starts_at"]["pattern"], TIME_PATTERN);
        assert_eq!(patch["ends_at"]["pattern"], TIME_PATTERN);
        let event = &doc["components"]["schemas"]["ApiEvent"]["properties"];
        assert_eq!(event["id"]["pattern"], EVENT_ID_PATTERN);
        assert_eq!(event["organization_id"]["pattern"], ORG_ID_PATTERN);
    }

    /// Every operation that needs credentials documents the 403 of a suspended account (the
    /// gate answers it on every authenticated endpoint); the public document does not.
    #[test]
    fn every_authenticated_operation_documents_account_suspended() {
        let doc = serde_json::to_value(spec()).unwrap();
        let mut authenticated = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let public = op["security"].as_array().is_some_and(|s| s.is_empty());
                let forbidden = &op["responses"]["403"];
                if public {
                    assert!(forbidden.is_null(), "{method} {path}");
                    continue;
                }
                authenticated += 1;
                assert!(
                    forbidden["description"]
                        .as_str()
                        .is_some_and(|d| d.contains("Account suspended")),
                    "{method} {path}: {forbidden}"
                );
                assert_eq!(
                    forbidden["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path}"
                );
            }
        }
        assert_eq!(authenticated, 5);
    }

    /// Every response of every operation has an example body, and every example in the
    /// document (responses, the request body, parameters) is valid against its schema: what the
    /// API reference shows is something the API could send or accept.
    #[test]
    fn every_example_is_valid_against_its_schema() {
        let doc = serde_json::to_value(spec()).unwrap();
        let check = |what: &str, schema: &serde_json::Value, example: &serde_json::Value| {
            // The schema at the document's root, so `$ref`s into it resolve.
            let mut root = doc.clone();
            for (k, v) in schema.as_object().unwrap() {
                root[k] = v.clone();
            }
            let v = jsonschema::validator_for(&root).expect("a schema");
            let errors: Vec<String> = v.iter_errors(example).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{what}: {errors:?} in {example}");
        };
        let (mut responses, mut params, mut bodies) = (0, 0, 0);
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for p in op["parameters"].as_array().into_iter().flatten() {
                    if let Some(example) = p.get("example") {
                        check(
                            &format!("{method} {path} {}", p["name"]),
                            &p["schema"],
                            example,
                        );
                        params += 1;
                    }
                }
                let body = &op["requestBody"]["content"]["application/json"];
                if let Some(example) = body.get("example") {
                    check(&format!("{method} {path} body"), &body["schema"], example);
                    bodies += 1;
                }
                for (status, r) in op["responses"].as_object().unwrap() {
                    let what = format!("{method} {path} {status}");
                    let content = &r["content"]["application/json"];
                    let examples = content["examples"].as_object();
                    assert!(
                        examples.is_some_and(|e| !e.is_empty()),
                        "{what}: no example"
                    );
                    let schema = content.get("schema").cloned().unwrap_or(json!({}));
                    for (key, e) in examples.unwrap() {
                        check(&format!("{what} {key}"), &schema, &e["value"]);
                    }
                    responses += 1;
                }
            }
        }
        assert_eq!((params, bodies), (4, 1));
        assert!(responses >= 30, "{responses}");
        // The examples are checked for real: a wrong shape fails.
        let mut root = doc.clone();
        root["$ref"] = json!("#/components/schemas/Me");
        assert!(!jsonschema::validator_for(&root)
            .unwrap()
            .is_valid(&json!({ "api_id": 5 })));
    }

    /// The name pattern allows exactly what the server's name check allows.
    #[test]
    fn the_name_pattern_is_the_name_check() {
        let re = matches_pattern(NAME_PATTERN);
        for (name, ok) in [
            ("Opening Night", true),
            (" padded ", true),
            ("\u{3000}", false),
            ("\u{a0}x", true),
            ("\u{feff}", true),
            ("", false),
            ("   ", false),
            ("\tName", false),
            ("Na\u{85}me", false),
        ] {
            let server = !name.trim().is_empty() && !name.chars().any(char::is_control);
            assert_eq!(server, ok, "{name:?}: the server");
            assert_eq!(re(name), ok, "{name:?}: the pattern");
        }
    }

    fn matches_pattern(pattern: &str) -> impl Fn(&str) -> bool {
        let schema = serde_json::json!({ "type": "string", "pattern": pattern });
        let v = jsonschema::validator_for(&schema).expect("a valid pattern");
        move |s: &str| v.is_valid(&serde_json::json!(s))
    }
}
