//! API errors: always `{"error": "<message>"}` (plus fields some errors carry) with a fitting
//! status. Unexpected failures are logged with their cause chain and answered with a generic
//! 500 body that names the request id.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use chrono::NaiveDateTime;
use serde_json::json;

use crate::gateway::rate_limit::RateState;

pub const INVALID_CREDENTIALS: &str = "Invalid API credentials";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{INVALID_CREDENTIALS}")]
    Unauthorized { hint: Option<&'static str> },
    #[error("Rate limit exceeded")]
    RateLimited(RateState),
    #[error("{0}")]
    BadRequest(String),
    #[error("Invalid organization")]
    InvalidOrganization,
    #[error("Invalid event")]
    InvalidEvent,
    #[error("Authorization revoked")]
    Revoked {
        revoked_at: NaiveDateTime,
        delete_by: Option<NaiveDateTime>,
    },
    #[error("Account suspended")]
    AccountSuspended,
    #[error("Insufficient scope")]
    InsufficientScope(&'static str),
    #[error("Not found")]
    NotFound,
    #[error("Method not allowed")]
    MethodNotAllowed(String),
    #[error("Request body too large")]
    PayloadTooLarge,
    #[error("{0}")]
    Conflict(String),
    #[error("Send the body as JSON, with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("Internal error")]
    Unexpected(#[from] anyhow::Error),
}

/// RFC 3339 in UTC with a `Z`, as every time in the API.
pub fn rfc3339(t: &NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidOrganization | ApiError::InvalidEvent | ApiError::NotFound => {
                StatusCode::NOT_FOUND
            }
            ApiError::Revoked { .. }
            | ApiError::InsufficientScope(_)
            | ApiError::AccountSuspended => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = self.to_string();
        let mut body = json!({ "error": message });
        let mut res = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized { hint } => {
                if let Some(h) = hint {
                    body["hint"] = json!(h);
                }
                res.append_header((header::WWW_AUTHENTICATE, "Bearer realm=\"ConCat API\""));
                res.append_header((header::WWW_AUTHENTICATE, "Basic realm=\"ConCat API\""));
            }
            ApiError::RateLimited(state) => {
                body["limit"] = json!(state.limit);
                body["remaining"] = json!(state.remaining);
                body["resetTime"] = json!(state.reset);
            }
            ApiError::Revoked {
                revoked_at,
                delete_by,
            } => {
                body["revoked_at"] = json!(rfc3339(revoked_at));
                body["delete_by"] = json!(delete_by.as_ref().map(rfc3339));
            }
            ApiError::InsufficientScope(scope) => {
                body["required_scope"] = json!(scope);
            }
            ApiError::MethodNotAllowed(allow) => {
                res.insert_header((header::ALLOW, allow.as_str()));
            }
            ApiError::Unexpected(e) => {
                tracing::error!(error.cause_chain = ?e, "API request failed");
            }
            _ => {}
        }
        res.json(body)
    }
}
