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
    /// The signed-in user acting, if the actor is one.
    pub fn user_id(&self) -> Option<&'a str> {
        match self.actor {
            Actor::User { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The client's address, or `unknown` for a change no request made.
    pub fn client_ip(&self) -> &'a str {
        self.meta.map_or("unknown", |m| m.client_ip.as_str())
    }

    /// The signed-in user a change needs (an admin's or an owner's action); an error if a
    /// caller passed another kind of actor, which is a programming error.
    pub fn acting_user(&self) -> anyhow::Result<(&'a str, &'a str)> {
        match self.actor {
            Actor::User { id, email } => Ok((id, email)),
            other => anyhow::bail!("this change needs a signed-in user, not {other:?}"),
        }
    }

    pub fn new(now: NaiveDateTime, actor: Actor<'a>, meta: &'a RequestMeta) -> Self {
        Self {
            now,
            actor,
            meta: Some(meta),
        }
    }
}

/// The context of one request, owned: the clock's `now` read once when the request was
/// resolved, the signed-in user (if any) and the request's metadata. The HTTP extractors build
/// it once per request; `ctx()` lends it to a service function as a `Context`, and it moves into
/// a blocking-pool closure as one value.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub now: NaiveDateTime,
    pub meta: RequestMeta,
    user: Option<(String, String)>,
}

impl RequestContext {
    pub fn new(now: NaiveDateTime, meta: RequestMeta, user: Option<(&str, &str)>) -> Self {
        Self {
            now,
            meta,
            user: user.map(|(id, email)| (id.to_string(), email.to_string())),
        }
    }

    /// This request as the context of a change: by its signed-in user, or by someone not signed
    /// in (labelled `anonymous`).
    pub fn ctx(&self) -> Context<'_> {
        let actor = match &self.user {
            Some((id, email)) => Actor::User { id, email },
            None => Actor::Anonymous(""),
        };
        Context::new(self.now, actor, &self.meta)
    }

    /// This request as the context of a change by `actor` — e.g. the user a single-use link
    /// belongs to, who is not signed in (yet).
    pub fn by<'a>(&'a self, actor: Actor<'a>) -> Context<'a> {
        Context::new(self.now, actor, &self.meta)
    }
}
