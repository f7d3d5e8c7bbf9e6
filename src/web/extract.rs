//! Request facts every area needs: the client address and the request id.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::{ready, Ready};

use crate::errors::AppError;
use crate::state::AppState;

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

impl FromRequest for RequestMeta {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trust = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.trust_proxy_headers)
            .unwrap_or(false);
        ready(Ok(RequestMeta::of(req, trust)))
    }
}
