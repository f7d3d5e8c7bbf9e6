//! Static files, embedded in the binary so the portal works offline and from any directory.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::errors::AppError;

const FILES: &[(&str, &str, &str)] = &[
    (
        "portal.css",
        "text/css; charset=utf-8",
        include_str!("../../static/portal.css"),
    ),
    (
        "portal.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/portal.js"),
    ),
    (
        "passkeys.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/passkeys.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../static/favicon.svg"),
    ),
];

pub async fn serve(file: web::Path<String>) -> Result<HttpResponse, AppError> {
    file_response(file.as_str())
}

/// `/favicon.ico`, which browsers and tools ask for whatever the page says: the SVG icon.
pub async fn favicon() -> Result<HttpResponse, AppError> {
    file_response("favicon.svg")
}

fn file_response(file: &str) -> Result<HttpResponse, AppError> {
    let (_, mime, body) = FILES
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(*mime)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(*body))
}
