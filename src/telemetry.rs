//! Structured logs with tracing. Each request gets a root span with its request id
//! (tracing-actix-web); secrets are wrapped types whose `Debug` prints `[redacted]`.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

use crate::settings::LogFormat;

/// Installs the global subscriber (once; later calls are ignored). `RUST_LOG` overrides the
/// default filter.
pub fn init(format: &LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Pretty => registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init(),
    };
}

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::HttpMessage;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// The root span of every request: method, route, target and request id, like
/// tracing-actix-web's default, except that paths carrying a one-time token
/// (`/setup/{token}`, `/reset-password/{token}`, …) are logged by their route pattern, so a
/// token never reaches the logs.
pub struct PortalRootSpan;

/// What a request's path is logged as: token routes by their pattern, and the value of an
/// `_apikey` query parameter (API credentials) replaced by `[redacted]`.
pub fn loggable_target(route: Option<&str>, path_and_query: &str) -> String {
    match route {
        Some(r) if r.contains("{token}") => r.to_string(),
        _ => redact_query_key(path_and_query),
    }
}

fn redact_query_key(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return path_and_query.to_string();
    };
    let key = crate::domain::QUERY_KEY;
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            let decoded = url::form_urlencoded::parse(name.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            if decoded == key {
                format!("{name}=[redacted]")
            } else {
                pair.to_string()
            }
        })
        .collect();
    format!("{path}?{}", parts.join("&"))
}

impl RootSpanBuilder for PortalRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        // Field values are computed inside the macro, so only when the span is enabled (not at
        // all under RUST_LOG=warn).
        let route = || request.match_pattern();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route().as_deref().unwrap_or("default"),
            http.target = %loggable_target(
                route().as_deref(),
                request.uri().path_and_query().map(|p| p.as_str()).unwrap_or(""),
            ),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request
                .extensions()
                .get::<RequestId>()
                .map(|id| id.to_string())
                .unwrap_or_default(),
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        if let Ok(res) = outcome {
            tracing::info!(parent: &span, status = res.status().as_u16(), "request completed");
        }
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_target;

    #[test]
    fn token_paths_are_logged_by_route() {
        assert_eq!(
            loggable_target(Some("/reset-password/{token}"), "/reset-password/abc"),
            "/reset-password/{token}"
        );
        assert_eq!(
            loggable_target(Some("/admin/users"), "/admin/users?q=x"),
            "/admin/users?q=x"
        );
        assert_eq!(loggable_target(None, "/nope"), "/nope");
    }

    #[test]
    fn api_keys_in_the_query_are_redacted() {
        assert_eq!(
            loggable_target(
                Some("/api/v1/me"),
                "/api/v1/me?a=1&_apikey=cc_id_x%3Acc_sk_y&b=2"
            ),
            "/api/v1/me?a=1&_apikey=[redacted]&b=2"
        );
        assert_eq!(
            loggable_target(None, "/api/v1/x?%5Fapikey=secret"),
            "/api/v1/x?%5Fapikey=[redacted]"
        );
        assert_eq!(
            loggable_target(None, "/api/v1/x?q=_apikey"),
            "/api/v1/x?q=_apikey"
        );
    }
}
