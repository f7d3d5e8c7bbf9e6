//! `CsrfForm<T>`: the extractor for every state-changing form. It reads the body (bounded by
//! the form limit: 413 past it), checks the `csrf_token` field against the session's token in
//! constant time (403 when missing or wrong, before anything else happens), then parses the form
//! into `T` (400 when malformed).

use actix_session::SessionExt;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{self as session};
use crate::errors::AppError;
use crate::state::AppState;

pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct TokenField {
    csrf_token: Option<String>,
}

/// A form with no fields but the token (logout, "retry now", …).
#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// Whether `body` (a form) carries this session's CSRF token, compared in constant time.
pub fn token_matches(req: &HttpRequest, body: &[u8]) -> bool {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let token: Option<String> = if is_form {
        serde_urlencoded::from_bytes::<TokenField>(body)
            .ok()
            .and_then(|f| f.csrf_token)
    } else {
        None
    };
    match (session::existing_csrf_token(&req.get_session()), token) {
        (Some(e), Some(t)) => bool::from(e.as_bytes().ct_eq(t.as_bytes())),
        _ => false,
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let limit = req
                .app_data::<web::Data<AppState>>()
                .map(|s| s.settings.form_limit)
                .unwrap_or(64 * 1024);
            let declared = req
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if declared.is_some_and(|n| n > limit) {
                return Err(AppError::PayloadTooLarge);
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|e| AppError::BadRequest(format!("reading the body: {e}")))?;
                if body.len() + chunk.len() > limit {
                    return Err(AppError::PayloadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            let valid = token_matches(&req, &body);
            if !valid {
                let target =
                    crate::telemetry::loggable_target(req.match_pattern().as_deref(), req.path());
                tracing::warn!(path = %target, "form rejected: missing or invalid CSRF token");
                return Err(AppError::Csrf);
            }
            let value = serde_urlencoded::from_bytes::<T>(&body)
                .map_err(|e| AppError::BadRequest(format!("malformed form: {e}")))?;
            Ok(CsrfForm(value))
        })
    }
}
