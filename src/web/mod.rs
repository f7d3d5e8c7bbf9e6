//! The HTML site. One folder per area; each handler goes extractors → domain types → db → an
//! askama page or a 303 redirect with a flash message (post/redirect/get).

pub mod account;
pub mod admin;
pub mod assets;
pub mod charts;
pub mod developer;
pub mod factors;
pub mod forms;
pub mod org;
pub mod public;
pub mod session;
pub mod shared;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::models::users::Roles;
use crate::errors::AppError;
use crate::web::session::Flash;

/// Navigation and identity shown on every page: each of the user's roles has its place in the
/// top bar ("Admin", "My integrations", "My organizations").
#[derive(Debug, Clone)]
pub struct NavUser {
    pub display_name: String,
    pub email: String,
    pub is_admin: bool,
    /// Member of a developer account, or no role at all (the place to request access).
    pub is_developer: bool,
    /// How many organizations the user administers.
    pub org_count: i64,
}

impl NavUser {
    pub fn of(user: &crate::db::models::users::User, roles: Roles) -> Self {
        let has_role = user.is_concat_admin || roles.organizations > 0;
        Self {
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            is_admin: user.is_concat_admin,
            is_developer: roles.developer_accounts > 0 || !has_role,
            org_count: roles.organizations,
        }
    }
}

/// Where a signed-in user lands (after signing in, setting a password, or on `/`): a ConCat
/// admin on the admin dashboard, a developer on their integrations, an organization admin on
/// their organization (`/org` goes straight to it when there is one). Someone with several
/// roles lands on the first of these and finds the others in the top bar.
pub fn home_for(user: &crate::db::models::users::User, roles: Roles) -> &'static str {
    if user.is_concat_admin {
        "/admin"
    } else if roles.developer_accounts == 0 && roles.organizations > 0 {
        "/org"
    } else {
        "/developer"
    }
}

/// Where a password (or an emailed link that proves the address) leads: a user with a second
/// factor is asked for it first (`/login/verify`); anyone else is signed in, and lands on
/// enrolment when the sign-in policy requires a factor they do not have yet, else on `next` or
/// where their work is (`web::home_for`).
pub async fn begin_and_land(
    viewer: &crate::web::session::Viewer,
    user: &crate::db::models::users::User,
) -> Result<HttpResponse, AppError> {
    land(viewer, user, "").await
}

/// [`begin_and_land`] with a page to return to (a safe local path, or empty).
pub async fn land(
    viewer: &crate::web::session::Viewer,
    user: &crate::db::models::users::User,
    next: &str,
) -> Result<HttpResponse, AppError> {
    if !user.is_active() {
        return Err(AppError::Forbidden);
    }
    let id = user.id.clone();
    let (roles, has_factor) = crate::db::run(&viewer.state.pool, move |c| {
        Ok((
            crate::db::models::users::roles(c, &id)?,
            crate::auth::mfa::has_any(c, &id)?,
        ))
    })
    .await?;
    let now = viewer.state.clock.now();
    if has_factor {
        crate::web::session::set_pending(
            &viewer.session,
            &crate::web::session::PendingSignIn {
                user_id: user.id.clone(),
                session_version: user.session_version,
                at: now,
                next: next.to_string(),
            },
        )?;
        return Ok(redirect("/login/verify"));
    }
    crate::web::session::begin(&viewer.session, user, now)?;
    if viewer
        .state
        .settings
        .require_mfa
        .covers(user.is_concat_admin, roles.organizations > 0)
    {
        if !next.is_empty() {
            crate::web::session::put(&viewer.session, AFTER_SETUP, &next.to_string());
        }
        return Ok(redirect(SECURITY_SETUP));
    }
    Ok(redirect(if next.is_empty() {
        home_for(user, roles)
    } else {
        next
    }))
}

/// Where a user whom the sign-in policy covers sets up their first factor.
pub const SECURITY_SETUP: &str = session::SECURITY_SETUP;

/// The session key of the page a sign-in asked for, kept while the first factor is set up.
pub const AFTER_SETUP: &str = "after_setup";

/// The part of every page that the layout needs.
#[derive(Debug, Clone)]
pub struct PageContext {
    pub title: String,
    pub csrf: String,
    pub user: Option<NavUser>,
    pub flashes: Vec<Flash>,
    /// The request's path, for `aria-current` in the navigation.
    pub path: String,
}

impl PageContext {
    /// ` aria-current="page"` when `href` is where this page is — the page itself, or
    /// (`section`) a page under it — else nothing. For the templates' navigation links.
    pub fn current(&self, href: &str, section: bool) -> &'static str {
        let here = self.path == href
            || (section
                && self
                    .path
                    .strip_prefix(href)
                    .is_some_and(|rest| rest.starts_with('/')));
        if here {
            " aria-current=\"page\""
        } else {
            ""
        }
    }

    /// `current` for an organization's tab: `""` is its overview, else `/org/{id}/{tab}` and
    /// the pages under it.
    pub fn org_tab(&self, public_id: &str, tab: &str) -> &'static str {
        if tab.is_empty() {
            self.current(&format!("/org/{public_id}"), false)
        } else {
            self.current(&format!("/org/{public_id}/{tab}"), true)
        }
    }

    /// Whether a signed-in user administers more than one organization (a chooser helps).
    pub fn several_orgs(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.org_count > 1)
    }

    /// Whether the page is in the ConCat admin area (which shows its own section menu).
    pub fn in_admin(&self) -> bool {
        self.path == "/admin" || self.path.starts_with("/admin/")
    }
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
        .service(web::resource("/favicon.ico").route(web::get().to(assets::favicon)))
        .service(web::resource("/healthz").route(web::get().to(public::health::healthz)))
        .service(
            web::resource("/passkeys/options").route(web::post().to(factors::passkey_options)),
        );
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
            user: self.user.as_ref().map(|u| NavUser::of(u, self.roles)),
            flashes: crate::web::session::take_flashes(&self.session),
            path: self.path.clone(),
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
