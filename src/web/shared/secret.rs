//! The one page that ever shows an API secret (after creating an integration, a secret, or
//! accepting an invitation that created one).

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use askama::Template;

use crate::db::models::integrations::Integration;
use crate::domain::ApiSecret;
use crate::errors::AppError;
use crate::web::{render_with, PageContext};

#[derive(Template)]
#[template(path = "developer/secret.html")]
struct SecretPage<'a> {
    ctx: PageContext,
    integration: &'a Integration,
    secret: &'a str,
}

/// The one page that ever shows a secret: the answer to the POST that created it, never cached,
/// never reachable again (reloading re-submits the form, which cannot produce the same secret).
pub fn secret_page(
    ctx: PageContext,
    integration: &Integration,
    secret: &ApiSecret,
) -> Result<HttpResponse, AppError> {
    let mut res = render_with(
        StatusCode::OK,
        &SecretPage {
            ctx,
            integration,
            secret: secret.expose(),
        },
    )?;
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store, max-age=0"),
    );
    Ok(res)
}
