//! What every change of the portal is told about itself: when it happens (the clock's `now`),
//! who makes it (`Actor`), and from where (`RequestMeta`: client address and request id).
//! Built once per request by the HTTP layers (pages and API alike) and passed to the service
//! functions, which write it into the audit log. Imports nothing from `web` or `api`.

use actix_web::{HttpMessage, HttpRequest};
use chrono::NaiveDateTime;

#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub client_ip: String,
    pub request_id: String,
}

impl RequestMeta {
    pub fn of(req: &HttpRequest, trust_proxy_headers: bool) -> Self {
        let client_ip = if trust_proxy_headers {
            // One trusted proxy in front: the address it appended, i.e. the *last*
            // X-Forwarded-For entry. Earlier entries are whatever the client sent.
            req.headers()
                .get_all("x-forwarded-for")
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .last()
                .map(strip_port)
                .or_else(|| req.peer_addr().map(|a| a.ip().to_string()))
                .unwrap_or_else(|| "unknown".into())
        } else {
            req.peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_else(|| "unknown".into())
        };
        let request_id = req
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        Self {
            client_ip,
            request_id,
        }
    }
}

fn strip_port(addr: &str) -> String {
    if let Ok(sock) = addr.parse::<std::net::SocketAddr>() {
        return sock.ip().to_string();
    }
    addr.trim_start_matches('[')
        .split(']')
        .next()
        .unwrap_or(addr)
        .to_string()
}

#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A signed-in user (their email at the time is kept as the label).
    User { id: &'a str, email: &'a str },
    /// Someone not signed in; the label says what they claimed (e.g. the email typed at login).
    Anonymous(&'a str),
    /// The portal itself (jobs, the command line).
    System(&'a str),
    /// An integration calling the API (its API ID is the label).
    Integration(&'a str),
}

/// The context of one change: when, by whom, from where.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub now: NaiveDateTime,
    pub actor: Actor<'a>,
    /// `None` for changes no request made (jobs, the command line).
    pub meta: Option<&'a RequestMeta>,
}

impl<'a> Context<'a> {
    pub fn new(now: NaiveDateTime, actor: Actor<'a>, meta: &'a RequestMeta) -> Self {
        Self {
            now,
            actor,
            meta: Some(meta),
        }
    }

    /// A change the portal makes by itself (a job, the command line).
    pub fn system(now: NaiveDateTime, label: &'a str) -> Self {
        Self {
            now,
            actor: Actor::System(label),
            meta: None,
        }
    }
}
