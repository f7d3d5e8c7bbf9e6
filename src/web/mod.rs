//! The HTML site. One folder per area; each handler goes extractors → domain types → db → an
//! askama page or a 303 redirect with a flash message (post/redirect/get).

pub mod account;
pub mod admin;
pub mod assets;
pub mod charts;
pub mod developer;
pub mod forms;
pub mod org;
pub mod public;
pub mod session;
pub mod shared;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::errors::AppError;
use crate::web::session::Flash;

/// Navigation and identity shown on every page.
#[derive(Debug, Clone)]
pub struct NavUser {
    pub display_name: String,
    pub email: String,
    pub is_admin: bool,
}

impl NavUser {
    pub fn of(user: &crate::db::models::users::User) -> Self {
        Self {
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            is_admin: user.is_concat_admin,
        }
    }
}

/// The part of every page that the layout needs.
#[derive(Debug, Clone)]
pub struct PageContext {
    pub title: String,
    pub csrf: String,
    pub user: Option<NavUser>,
    pub flashes: Vec<Flash>,
}

/// Renders a page with the given status.
pub fn render_with(
    status: actix_web::http::StatusCode,
    page: &impl Template,
) -> Result<HttpResponse, AppError> {
    let html = page.render()?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

pub fn render(page: &impl Template) -> Result<HttpResponse, AppError> {
    render_with(actix_web::http::StatusCode::OK, page)
}

/// 303 See Other to a path inside the portal.
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_string()))
        .finish()
}

/// A `next=` value that is safe to redirect to: a path on this site, never another host.
/// Browsers drop tabs and newlines from URLs and treat `\` like `/`, so any of those, any other
/// control character or whitespace, anywhere, disqualifies the value; what is left must resolve to
/// this site's origin.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?.trim();
    let plain = n.starts_with('/')
        && !n.starts_with("//")
        && n.len() < 2000
        && !n
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    if !plain {
        return None;
    }
    let base = url::Url::parse("http://portal.invalid/").expect("static URL");
    let resolved = base.join(n).ok()?;
    (resolved.origin() == base.origin()).then(|| n.to_string())
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    crate::api::routes(cfg);
    cfg.service(web::resource("/static/{file}").route(web::get().to(assets::serve)))
        .service(web::resource("/healthz").route(web::get().to(public::health::healthz)));
    public::routes(cfg);
    account::routes(cfg);
    developer::routes(cfg);
    org::routes(cfg);
    admin::routes(cfg);
}

/// Pages take the request's facts as an extractor (the API builds them in its gate).
impl actix_web::FromRequest for crate::context::RequestMeta {
    type Error = AppError;
    type Future = futures_util::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let trust = req
            .app_data::<actix_web::web::Data<crate::state::AppState>>()
            .map(|s| s.settings.trust_proxy_headers)
            .unwrap_or(false);
        futures_util::future::ready(Ok(Self::of(req, trust)))
    }
}

impl crate::web::session::Viewer {
    /// The context every page template gets: title, navigation, CSRF token, flash messages.
    pub fn page(&self, title: impl Into<String>) -> PageContext {
        PageContext {
            title: title.into(),
            csrf: crate::web::session::csrf_token(&self.session),
            user: self.user.as_ref().map(NavUser::of),
            flashes: crate::web::session::take_flashes(&self.session),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_site() {
        assert_eq!(safe_next(Some("/admin?x=1")).as_deref(), Some("/admin?x=1"));
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "/\t/evil.example/",
            "/\n/evil.example",
            "/ /evil",
            "/a\\b",
            "/%09/evil.example/x\u{0}",
            "admin",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad}");
        }
    }
}
