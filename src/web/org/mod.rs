//! Event-organization pages. Every route under `/org/{org}` takes `OrgAdmin`, which loads the
//! organization through the signed-in user's admin membership: another organization's pages and
//! actions are simply not found (404), whatever the method.

pub mod admins;
pub mod events;
pub mod integrations;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::future::LocalBoxFuture;

use crate::db;
use crate::db::models::events as event_rows;
use crate::db::models::organizations::{self, Organization};
use crate::domain::EventStatus;
use crate::errors::AppError;
use crate::web::session::CurrentUser;
use crate::web::{redirect, render, PageContext};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/org").route(web::get().to(choose)))
        .service(web::resource("/org/{org}").route(web::get().to(dashboard)))
        .service(web::resource("/org/{org}/admins").route(web::get().to(admins::list)))
        .service(web::resource("/org/{org}/admins/invite").route(web::post().to(admins::invite)))
        .service(
            web::resource("/org/{org}/admins/invitations/{invitation}/withdraw")
                .route(web::post().to(admins::withdraw)),
        )
        .service(
            web::resource("/org/{org}/admins/{user}/remove").route(web::post().to(admins::remove)),
        )
        .service(web::resource("/org/{org}/integrations").route(web::get().to(integrations::show)))
        .service(
            web::resource("/org/{org}/integrations/authorize")
                .route(web::post().to(integrations::authorize)),
        )
        .service(
            web::resource("/org/{org}/integrations/{auth}/scopes")
                .route(web::post().to(integrations::scopes)),
        )
        .service(
            web::resource("/org/{org}/integrations/{auth}/revoke")
                .route(web::get().to(integrations::revoke_confirm))
                .route(web::post().to(integrations::revoke)),
        )
        .service(web::resource("/org/{org}/events").route(web::get().to(events::list)))
        .service(
            web::resource("/org/{org}/events/new")
                .route(web::get().to(events::new_form))
                .route(web::post().to(events::create)),
        )
        .service(
            web::resource("/org/{org}/events/{event}/edit")
                .route(web::get().to(events::edit_form))
                .route(web::post().to(events::update)),
        );
}

/// A signed-in admin of the organization named by the `{org}` path segment.
pub struct OrgAdmin {
    pub current: CurrentUser,
    pub org: Organization,
}

impl FromRequest for OrgAdmin {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let public_id = req.match_info().get("org").unwrap_or_default().to_string();
        let current = CurrentUser::from_request(req, payload);
        Box::pin(async move {
            let current = current.await?;
            let uid = current.user.id.clone();
            let org = db::run(&current.viewer.state.pool, move |c| {
                Ok(organizations::find_for_admin(c, &public_id, &uid)?)
            })
            .await?
            .ok_or(AppError::NotFound)?;
            Ok(OrgAdmin { current, org })
        })
    }
}

#[derive(Template)]
#[template(path = "org/choose.html")]
struct ChoosePage {
    ctx: PageContext,
    orgs: Vec<Organization>,
}

/// The organization switcher: one organization goes straight to it.
pub async fn choose(current: CurrentUser) -> Result<HttpResponse, AppError> {
    let uid = current.user.id.clone();
    let orgs = db::run(&current.viewer.state.pool, move |c| {
        Ok(organizations::for_admin(c, &uid)?)
    })
    .await?;
    if orgs.len() == 1 {
        return Ok(redirect(&format!("/org/{}", orgs[0].public_id)));
    }
    render(&ChoosePage {
        ctx: current.viewer.page("Your organizations"),
        orgs,
    })
}

#[derive(Template)]
#[template(path = "org/dashboard.html")]
struct DashboardPage {
    ctx: PageContext,
    org: Organization,
    /// Events by status: draft, published, cancelled.
    events: (usize, usize, usize),
    /// Integrations authorized now, and revoked ones whose data is still to be deleted.
    active_integrations: usize,
    open_duties: usize,
    admins: usize,
}

/// The organization's overview: what it has (counts that link to their pages) and the next
/// steps (create an event, authorize an integration by its API ID, invite an admin).
pub async fn dashboard(admin: OrgAdmin) -> Result<HttpResponse, AppError> {
    use crate::db::models::authorizations as auths;
    let oid = admin.org.id.clone();
    let (events, auths, admins) = db::run(&admin.current.viewer.state.pool, move |c| {
        Ok((
            event_rows::for_org(c, &oid)?,
            auths::for_org(c, &oid)?,
            organizations::admins(c, &oid)?.len(),
        ))
    })
    .await?;
    let count = |s: EventStatus| events.iter().filter(|e| e.status == s).count();
    let active_integrations = auths.iter().filter(|(a, _)| a.status.is_active()).count();
    let open_duties = auths
        .iter()
        .filter(|(a, _)| !a.status.is_active() && a.deletion_confirmed_at.is_none())
        .count();
    render(&DashboardPage {
        ctx: admin.current.viewer.page(admin.org.name.clone()),
        events: (
            count(EventStatus::Draft),
            count(EventStatus::Published),
            count(EventStatus::Cancelled),
        ),
        org: admin.org,
        active_integrations,
        open_duties,
        admins,
    })
}
