//! The ConCat JSON API under `/api/v1`.
//!
//! Every request passes `gate` (a middleware on the `/api` scope): it parses the credentials and
//! the `EventId` header (pure functions, `parse`), resolves the caller from the in-memory cache
//! (at most one database read on a miss or after the TTL), applies the account's rate limit (or
//! the client address's, when the request does not authenticate), lets the handler run, then
//! adds the `X-RateLimit-*` headers and counts the request in memory (`usage`). The hot path does
//! no argon2 and no database write.

pub mod errors;
pub mod handlers;
pub mod openapi;
pub mod parse;

use std::future::{ready, Ready};
use std::net::IpAddr;
use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, ResponseError};
use chrono::NaiveDateTime;

use crate::context::RequestMeta;
use crate::db::{self};
use crate::domain::{ApiId, ApiSecret};
use crate::gateway::cache::{self, Lookup, Resolved};
use crate::gateway::rate_limit::RateState;
use crate::gateway::usage::{UsageKey, Used};
pub use crate::gateway::ApiRuntime;
use crate::metrics::CacheResult;
use crate::state::AppState;
use errors::ApiError;
use parse::{EventIdHeader, Presented, Unusable};

/// The caller, as the gate resolved it, for handlers.
#[derive(Clone)]
pub struct ApiCaller {
    pub resolved: Arc<Resolved>,
    pub rate: RateState,
    pub event: EventIdHeader,
    pub now: NaiveDateTime,
    request: HttpRequest,
}

/// What a handler tells the gate about the organization and event it served (for usage).
#[derive(Clone, Default)]
struct Touched {
    org_id: Option<Arc<str>>,
    event_id: Option<Arc<str>>,
    authorization_id: Option<Arc<str>>,
}

impl ApiCaller {
    /// Records the organization (and maybe event) this request concerned, whether or not it
    /// was allowed; last-used times are kept for successful requests only.
    pub fn touch(&self, grant: &cache::Grant, event_public_id: Option<&str>) {
        let authorization_id = match &grant.state {
            cache::GrantState::Active {
                authorization_id, ..
            } => Some(authorization_id.clone()),
            cache::GrantState::Revoked { .. } => None,
        };
        self.request.extensions_mut().insert(Touched {
            org_id: Some(grant.org_id.clone()),
            event_id: event_public_id.map(Arc::from),
            authorization_id,
        });
    }
}

struct Authenticated(Arc<Resolved>, RateState);

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let ext = req.extensions();
        let caller = match (ext.get::<Authenticated>(), ext.get::<GateInfo>()) {
            (Some(Authenticated(resolved, rate)), Some(info)) => Ok(ApiCaller {
                resolved: resolved.clone(),
                rate: *rate,
                event: info.event.clone(),
                now: info.now,
                request: req.clone(),
            }),
            _ => Err(ApiError::Unauthorized { hint: None }),
        };
        ready(caller)
    }
}

struct GateInfo {
    event: EventIdHeader,
    now: NaiveDateTime,
}

/// Paths under `/api` that answer without credentials.
const PUBLIC_PATHS: &[&str] = &["/api/v1/openapi.json"];

/// Endpoint labels for usage statistics (a fixed set, so counters stay bounded).
const ENDPOINTS: &[(&str, &str, &str)] = &[
    ("GET", "/api/v1/me", "GET /api/v1/me"),
    ("GET", "/api/v1/organizations", "GET /api/v1/organizations"),
    (
        "GET",
        "/api/v1/organizations/{org_id}/events",
        "GET /api/v1/organizations/{org_id}/events",
    ),
    ("GET", "/api/v1/event", "GET /api/v1/event"),
    ("PATCH", "/api/v1/event", "PATCH /api/v1/event"),
    ("GET", "/api/v1/openapi.json", "GET /api/v1/openapi.json"),
];

/// Whether `path` is one of the API's endpoints (whatever the method), before routing: a
/// `{name}` segment of a pattern stands for one non-empty segment, as in actix's router (the
/// tests check the two agree). Plain string work: a `ResourceDef` regex here cost the events
/// endpoint 12 % of its throughput.
fn names_an_endpoint(path: &str) -> bool {
    ENDPOINTS.iter().any(|(_, pattern, _)| {
        let mut want = pattern.split('/');
        let mut got = path.split('/');
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {}
                (Some(w), Some(g)) if w == g => {}
                _ => return false,
            }
        }
    })
}

fn endpoint_label(req: &HttpRequest) -> &'static str {
    let pattern = req.match_pattern();
    let method = req.method().as_str();
    ENDPOINTS
        .iter()
        .find(|(m, p, _)| *m == method && Some(*p) == pattern.as_deref())
        .map(|(_, _, label)| *label)
        .unwrap_or("other")
}

fn hint(reason: Unusable) -> Option<&'static str> {
    match reason {
        Unusable::Missing => Some(
            "Send Authorization: Bearer <API ID>:<API Secret> (or HTTP Basic with the API ID as user name).",
        ),
        Unusable::QueryKeyDisabled => Some(
            "The _apikey query parameter is not enabled here; send the Authorization header.",
        ),
        Unusable::Malformed => None,
    }
}

/// A refused request: the error, the rate state to report, and whose request it was.
struct Refused {
    error: ApiError,
    rate: Option<RateState>,
    /// The caller, when the secret matched but the request was refused all the same (the
    /// account's rate limit, `_apikey` while it is turned off): counted as theirs.
    owner: Option<Arc<Resolved>>,
    /// Otherwise the API ID the request named, if well-formed: an unverified attempt.
    named: Option<Arc<str>>,
}

impl Refused {
    fn new(error: ApiError, rate: Option<RateState>) -> Self {
        Self {
            error,
            rate,
            owner: None,
            named: None,
        }
    }

    fn naming(mut self, api_id: Option<&ApiId>) -> Self {
        if self.owner.is_none() {
            self.named = api_id.map(|id| Arc::from(id.as_str()));
        }
        self
    }
}

/// Whom `api_id` and `secret` identify: from the cache, or with one database read on a miss.
/// `None` when they match no usable credentials.
async fn resolve(
    state: &AppState,
    api_id: &ApiId,
    secret: &ApiSecret,
    ip: IpAddr,
    now: NaiveDateTime,
) -> Result<Option<Arc<Resolved>>, Refused> {
    let api = &state.api;
    let digest = secret.digest();
    let lookup = api.cache.lookup(&digest, api_id, now);
    match lookup {
        Lookup::Hit(r) => {
            api.metrics.cache_lookup(CacheResult::Hit);
            return Ok(Some(r));
        }
        Lookup::Refresh(r) => {
            api.metrics.cache_lookup(CacheResult::Refresh);
            refresh(state, digest, api_id.clone(), now);
            return Ok(Some(r));
        }
        Lookup::Stale | Lookup::Miss => {}
    }
    // An address that has used up its allowance of failures is refused before the database is
    // asked; a lookup that fails is charged to it by the caller.
    if matches!(lookup, Lookup::Miss) {
        if let Some(r) = api.limits.blocked(ip) {
            return Err(Refused::new(ApiError::RateLimited(r), Some(r)));
        }
    }
    api.metrics.cache_lookup(CacheResult::Miss);
    let ticket = api.cache.ticket();
    let (key, api_id) = (digest.clone(), api_id.clone());
    let loaded = db::run(&state.pool, move |c| {
        Ok(cache::load(c, &key, &api_id, now)?)
    })
    .await
    .map_err(|e| Refused::new(ApiError::Unexpected(e), None))?;
    Ok(match loaded {
        Some(r) => {
            let r = Arc::new(r);
            api.cache.insert(ticket, digest, r.clone());
            Some(r)
        }
        None => {
            api.cache.remove(&digest);
            None
        }
    })
}

/// Re-reads a cached caller in the background (`Lookup::Refresh`): the request that noticed
/// goes on with the entry it has, which is still within its TTL. What the read finds replaces
/// the entry (or removes it, if the credentials no longer check out), unless an invalidation
/// came in between.
fn refresh(state: &AppState, digest: String, api_id: ApiId, now: NaiveDateTime) {
    let (api, pool) = (state.api.clone(), state.pool.clone());
    let ticket = api.cache.ticket();
    actix_web::rt::spawn(async move {
        let key = digest.clone();
        match db::run(&pool, move |c| Ok(cache::load(c, &key, &api_id, now)?)).await {
            Ok(Some(r)) => api.cache.insert(ticket, digest, Arc::new(r)),
            Ok(None) => api.cache.remove(&digest),
            Err(e) => {
                tracing::warn!(error = %e, "refreshing cached API credentials");
                api.cache.refresh_failed(&digest);
            }
        }
    });
}

/// Resolves the caller; on failure, the error, the rate state to report, and the caller if
/// the secret matched all the same.
async fn authenticate(
    state: &AppState,
    presented: Presented,
    disabled_pair: Option<(ApiId, ApiSecret)>,
    ip: IpAddr,
    now: NaiveDateTime,
) -> Result<Authenticated, Refused> {
    let api = &state.api;
    let refuse = async |hint, owner| {
        let (error, rate) = match api.check_unauthenticated(ip).await {
            Ok(r) => (ApiError::Unauthorized { hint }, r),
            Err(r) => (ApiError::RateLimited(r), r),
        };
        Refused {
            error,
            rate: Some(rate),
            owner,
            named: None,
        }
    };
    let (api_id, secret) = match presented {
        Presented::Unusable { reason, api_id } => {
            // `_apikey` while it is turned off is refused either way; checked only to know
            // whose use it was.
            let owner = match &disabled_pair {
                Some((id, secret)) => resolve(state, id, secret, ip, now)
                    .await
                    .map_err(|r| r.naming(api_id.as_ref()))?,
                None => None,
            };
            return Err(refuse(hint(reason), owner).await.naming(api_id.as_ref()));
        }
        Presented::Pair { api_id, secret, .. } => (api_id, secret),
    };
    let resolved = resolve(state, &api_id, &secret, ip, now)
        .await
        .map_err(|r| r.naming(Some(&api_id)))?;
    let Some(resolved) = resolved else {
        return Err(refuse(None, None).await.naming(Some(&api_id)));
    };
    match api
        .check_account(&resolved.account_id, resolved.account_limit)
        .await
    {
        // The secret matched, but a ConCat admin suspended the account: counted as the
        // integration's (refused) request.
        Ok(rate) if resolved.account_suspended => Err(Refused {
            error: ApiError::AccountSuspended,
            rate: Some(rate),
            owner: Some(resolved),
            named: None,
        }),
        Ok(rate) => Ok(Authenticated(resolved, rate)),
        Err(rate) => Err(Refused {
            error: ApiError::RateLimited(rate),
            rate: Some(rate),
            owner: Some(resolved),
            named: None,
        }),
    }
}

fn set_rate_headers(headers: &mut header::HeaderMap, rate: &RateState) {
    let pairs = [
        ("x-ratelimit-limit", rate.limit as u64),
        ("x-ratelimit-remaining", rate.remaining as u64),
        ("x-ratelimit-reset", rate.reset),
    ];
    for (name, value) in pairs {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
    if let Some(after) = rate.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(after));
    }
}

fn is_json<B>(res: &ServiceResponse<B>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(actix_web::error::ErrorInternalServerError("no app state"));
    };
    let now = state.clock.now_naive();
    let parse::Read {
        presented,
        via_query_key,
        disabled_pair,
    } = parse::read_credentials(
        req.headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes()),
        req.query_string(),
        state.api.allow_query_key,
    );
    let event = parse::event_id(req.headers().get("eventid").map(|v| v.as_bytes()));
    let ip: IpAddr = match (state.settings.trust_proxy_headers, req.peer_addr()) {
        (false, Some(peer)) => peer.ip(),
        _ => RequestMeta::of(req.request(), state.settings.trust_proxy_headers)
            .client_ip
            .parse()
            .unwrap_or(IpAddr::from([0, 0, 0, 0])),
    };

    // A public path, or one that names no endpoint (it answers 404 whoever asks), needs no
    // credentials; it is limited per address in its own bucket, so it never uses up the
    // allowance for failed authentication.
    // The path as actix routes it (percent-decoded), so `/api/v1/%6De` is `/api/v1/me` here too.
    let path = req.match_info().as_str();
    let open = PUBLIC_PATHS.contains(&path) || !names_an_endpoint(path);
    let outcome = if open {
        match state.api.limits.open(ip) {
            Ok(rate) => Ok((None, rate)),
            Err(rate) => Err(Refused::new(ApiError::RateLimited(rate), Some(rate))),
        }
    } else {
        authenticate(&state, presented, disabled_pair, ip, now)
            .await
            .map(|Authenticated(r, rate)| (Some(r), rate))
    };

    // Whose request this was: the caller whose secret matched, else (unverified) the API ID it
    // named. A request to an open path is nobody's.
    let (mut res, rate, caller, named) = match outcome {
        Ok((caller, rate)) => {
            if let Some(c) = &caller {
                req.extensions_mut().insert(Authenticated(c.clone(), rate));
            }
            req.extensions_mut().insert(GateInfo {
                event: event.clone(),
                now,
            });
            // (Handlers' errors arrive as responses; cloning the request here to catch an
            // inner `Err` would break actix's routing, which needs the request unshared.)
            let res = next.call(req).await?.map_into_boxed_body();
            (res, Some(rate), caller, None)
        }
        Err(refused) => {
            let res = req.into_response(refused.error.error_response());
            (res, refused.rate, refused.owner, refused.named)
        }
    };
    if (res.status().is_client_error() || res.status().is_server_error()) && !is_json(&res) {
        // An error raised outside the API's handlers (e.g. by an extractor): same JSON shape.
        let status = res.status();
        let body = serde_json::json!({ "error": status.canonical_reason().unwrap_or("Error") });
        res = res.into_response(actix_web::HttpResponse::build(status).json(body));
    }
    if let Some(rate) = &rate {
        set_rate_headers(res.headers_mut(), rate);
    }

    let status = res.status().as_u16();
    let touched = res
        .request()
        .extensions()
        .get::<Touched>()
        .cloned()
        .unwrap_or_default();
    let success = res.status().is_success();
    let used = match (&caller, success) {
        (Some(c), true) => Some(Used {
            secret_id: c.secret_id.clone(),
            integration_id: c.integration_id.clone(),
            authorization_id: touched.authorization_id.clone(),
        }),
        _ => None,
    };
    let key = match &caller {
        Some(c) => UsageKey {
            day: now.date(),
            api_id: Some(c.api_id.clone()),
            verified: true,
            org_id: touched.org_id,
            // The event the handler served, else the `EventId` header as sent (if
            // well-formed); the flush keeps only ids of events the integration may see.
            event_id: touched.event_id.or_else(|| event.valid().map(Arc::from)),
            endpoint: endpoint_label(res.request()),
            status,
            query_key: via_query_key,
        },
        // Anyone may name an API ID (they are not secret): such a request is kept apart, as
        // an unverified attempt, and nothing it sent is kept but the endpoint and status.
        None => UsageKey {
            day: now.date(),
            api_id: named,
            verified: false,
            org_id: None,
            event_id: None,
            endpoint: endpoint_label(res.request()),
            status,
            query_key: via_query_key,
        },
    };
    state.api.usage.record(key, used.as_ref(), now);
    Ok(res)
}

/// `/api/v1/...` routes, the gate, and JSON answers for unknown paths and methods.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .wrap(from_fn(gate))
            .service(
                web::scope("/v1")
                    .service(
                        web::resource("/me")
                            .get(handlers::me)
                            .default_service(web::to(method_not_allowed)),
                    )
                    .service(
                        web::resource("/organizations")
                            .get(handlers::organizations)
                            .default_service(web::to(method_not_allowed)),
                    )
                    .service(
                        web::resource("/organizations/{org_id}/events")
                            .get(handlers::events)
                            .default_service(web::to(method_not_allowed)),
                    )
                    .service(
                        web::resource("/event")
                            .get(handlers::event)
                            .patch(handlers::update_event)
                            .default_service(web::to(method_not_allowed)),
                    )
                    .service(
                        web::resource("/openapi.json")
                            .get(openapi::document)
                            .default_service(web::to(method_not_allowed)),
                    )
                    .default_service(web::to(not_found)),
            )
            .default_service(web::to(not_found)),
    );
}

pub(crate) async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// 405 with the methods the matched path does allow (from `ENDPOINTS`).
async fn method_not_allowed(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let pattern = req.match_pattern();
    let allowed = ENDPOINTS
        .iter()
        .filter(|(_, p, _)| Some(*p) == pattern.as_deref())
        .map(|(m, _, _)| *m)
        .collect::<Vec<_>>()
        .join(", ");
    Err(ApiError::MethodNotAllowed(allowed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::dev::ResourceDef;

    #[test]
    fn endpoint_paths_are_recognised_as_actix_routes_them() {
        let samples = [
            "/api/v1/me",
            "/api/v1/me/",
            "/api/v1/me/x",
            "/api/v1/organizations",
            "/api/v1/organizations/",
            "/api/v1/organizations/org_abc/events",
            "/api/v1/organizations//events",
            "/api/v1/organizations/a/b/events",
            "/api/v1/organizations/org_abc/events/",
            "/api/v1/event",
            "/api/v1/openapi.json",
            "/api/v1",
            "/api",
            "/api/v2/me",
            "",
            "/",
        ];
        let routes: Vec<ResourceDef> = ENDPOINTS
            .iter()
            .map(|(_, pattern, _)| ResourceDef::new(*pattern))
            .collect();
        for path in samples {
            let actix = routes.iter().any(|r| r.is_match(path));
            assert_eq!(names_an_endpoint(path), actix, "{path:?}");
        }
        assert!(names_an_endpoint("/api/v1/organizations/org_abc/events"));
        assert!(!names_an_endpoint("/api/v1/me/"));
    }
}
