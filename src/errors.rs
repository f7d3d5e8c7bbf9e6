//! The error boundary. Handlers return `AppError`; each variant maps to a status. The HTML page
//! for an error status is rendered once, by the `render_error_page` middleware (which knows the
//! request id); API routes answer JSON instead. Unexpected failures are logged once, at the
//! boundary, by the tracing middleware, with their cause chain.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use askama::Template;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("missing or invalid CSRF token")]
    Csrf,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("request body too large")]
    PayloadTooLarge,
    /// The server is at capacity for this kind of work (password hashing); try again shortly.
    #[error("busy")]
    Busy { retry_after_secs: u32 },
    #[error("login required")]
    LoginRequired { next: String },
    /// The sign-in policy requires a second factor this session has not set up yet.
    #[error("second factor required")]
    SecondFactorRequired {
        /// The page where it is set up.
        setup: &'static str,
    },
    /// "Confirm it's you" (sudo mode), rendered, before a sensitive action goes ahead.
    #[error("re-authentication required")]
    Reauthenticate(actix_web::http::StatusCode, String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::Unexpected(anyhow::Error::new(e).context("database query"))
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Unexpected(anyhow::Error::new(e).context("rendering a template"))
    }
}

/// What the error page should say; attached to the response by `AppError`.
#[derive(Debug, Clone)]
pub struct ErrorDetail {
    pub heading: &'static str,
    pub message: String,
}

impl AppError {
    fn detail(&self) -> ErrorDetail {
        let (heading, message) = match self {
            AppError::NotFound => (
                "Page not found",
                "There is nothing at this address.".to_string(),
            ),
            AppError::Forbidden => (
                "Access denied",
                "You do not have access to this page.".to_string(),
            ),
            AppError::Csrf => (
                "Form expired",
                "This form was sent without a valid security token, so nothing was changed. \
                 Go back, reload the page and try again."
                    .to_string(),
            ),
            AppError::BadRequest(_) => (
                "Bad request",
                "The request could not be understood, so nothing was changed.".to_string(),
            ),
            AppError::PayloadTooLarge => (
                "Request too large",
                "What you sent is larger than the portal accepts, so nothing was changed."
                    .to_string(),
            ),
            AppError::LoginRequired { .. } => ("Sign in required", "Please sign in.".to_string()),
            AppError::SecondFactorRequired { .. } => (
                "Second factor required",
                "Set up a second factor to continue.".to_string(),
            ),
            AppError::Reauthenticate(..) => ("Confirm it’s you", String::new()),
            AppError::Busy { retry_after_secs } => (
                "Busy, please retry",
                format!(
                    "The portal is handling many sign-ins right now, so nothing was changed. \
                     Please try again in {retry_after_secs} seconds."
                ),
            ),
            AppError::Unexpected(_) => (
                "Something went wrong",
                "The portal could not complete the request. Nothing you entered was lost on our \
                 side; please try again, and quote the request id if you contact support."
                    .to_string(),
            ),
        };
        ErrorDetail { heading, message }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::LoginRequired { .. } | AppError::SecondFactorRequired { .. } => {
                StatusCode::SEE_OTHER
            }
            AppError::Reauthenticate(status, _) => *status,
            AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::SecondFactorRequired { setup } = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, *setup))
                .finish();
        }
        if let AppError::Reauthenticate(status, html) = self {
            return HttpResponse::build(*status)
                .content_type("text/html; charset=utf-8")
                .insert_header(("X-Reauthentication", "required"))
                .body(html.clone());
        }
        if let AppError::LoginRequired { next } = self {
            let location = format!(
                "/login?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        let mut res = HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(self.detail().heading);
        if let AppError::Busy { retry_after_secs } = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        res.extensions_mut().insert(self.detail());
        res
    }
}

impl From<crate::auth::sign_in::SignInError> for AppError {
    fn from(e: crate::auth::sign_in::SignInError) -> Self {
        match e {
            crate::auth::sign_in::SignInError::Hash(h) => h.into(),
            crate::auth::sign_in::SignInError::Failed(e) => AppError::Unexpected(e),
        }
    }
}

impl From<crate::auth::password::HashError> for AppError {
    fn from(e: crate::auth::password::HashError) -> Self {
        match e {
            crate::auth::password::HashError::Busy => AppError::Busy {
                retry_after_secs: crate::auth::password::BUSY_RETRY_AFTER_SECS,
            },
            crate::auth::password::HashError::Failed(e) => AppError::Unexpected(e),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    heading: &'a str,
    message: &'a str,
    request_id: &'a str,
}

fn default_detail(status: StatusCode) -> ErrorDetail {
    let (heading, message) = match status {
        StatusCode::NOT_FOUND => ("Page not found", "There is nothing at this address."),
        StatusCode::METHOD_NOT_ALLOWED => ("Not allowed", "This address does not accept that kind of request."),
        StatusCode::PAYLOAD_TOO_LARGE => ("Request too large", "What you sent is larger than the portal accepts, so nothing was changed."),
        StatusCode::FORBIDDEN => ("Access denied", "You do not have access to this page."),
        s if s.is_client_error() => ("Bad request", "The request could not be understood, so nothing was changed."),
        _ => ("Something went wrong", "The portal could not complete the request. Please try again, and quote the request id if you contact support."),
    };
    ErrorDetail {
        heading,
        message: message.to_string(),
    }
}

/// `ErrorHandlers` default handler: gives every bare error response of the HTML site a proper
/// page with the request id. Pages the handlers rendered themselves (HTML already) and API
/// responses (JSON) pass through untouched.
pub fn render_error_page<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if content_type.starts_with("text/html")
        || content_type.starts_with("application/json")
        || res.request().path().starts_with("/api/")
    {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = res
        .response()
        .extensions()
        .get::<ErrorDetail>()
        .cloned()
        .unwrap_or_else(|| default_detail(status));
    let request_id = res
        .request()
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string())
        .unwrap_or_default();
    let html = ErrorPage {
        status: status.as_u16(),
        heading: detail.heading,
        message: &detail.message,
        request_id: &request_id,
    }
    .render()
    .unwrap_or_else(|_| format!("{} (request id {request_id})", detail.heading));
    let mut res = res.map_body(|_, _| EitherBody::right(BoxBody::new(html)));
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.remove(header::CONTENT_LENGTH);
    Ok(ErrorHandlerResponse::Response(res))
}

#[cfg(test)]
mod tests {
    use actix_web::middleware::ErrorHandlers;
    use actix_web::{test, web, App};
    use tracing_actix_web::TracingLogger;

    use super::{render_error_page, AppError};

    #[actix_web::test]
    async fn unexpected_errors_become_a_plain_page_with_the_request_id() {
        let app = test::init_service(
            App::new()
                .route(
                    "/boom",
                    web::get().to(|| async {
                        Err::<actix_web::HttpResponse, _>(AppError::Unexpected(anyhow::anyhow!(
                            "disk on fire"
                        )))
                    }),
                )
                .route(
                    "/api/v1/x",
                    web::get()
                        .to(|| async { Err::<actix_web::HttpResponse, _>(AppError::NotFound) }),
                )
                .wrap(ErrorHandlers::new().default_handler(render_error_page))
                .wrap(TracingLogger::default()),
        )
        .await;
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/boom").to_request()).await;
        assert_eq!(res.status(), 500);
        let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
        assert!(
            body.contains("Something went wrong") && body.contains("request id <code>"),
            "{body}"
        );
        assert!(!body.contains("disk on fire"), "no internals on the page");

        let api =
            test::call_service(&app, test::TestRequest::get().uri("/api/v1/x").to_request()).await;
        assert_eq!(api.status(), 404);
        let body = String::from_utf8(test::read_body(api).await.to_vec()).unwrap();
        assert!(
            !body.contains("<html"),
            "API paths are not given HTML pages"
        );
    }
}
