//! ConCat admin pages. Every handler takes `AdminUser`, so anonymous users are sent to sign in
//! and everyone else gets 403.

pub mod accounts;
pub mod api;
pub mod audit;
pub mod dashboard;
pub mod lifecycle;
pub mod organizations;
pub mod outbox;
pub mod requests;
pub mod users;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin").route(web::get().to(dashboard::show)))
        .service(web::resource("/admin/users").route(web::get().to(users::list)))
        .service(web::resource("/admin/users/invite").route(web::post().to(users::invite)))
        .service(
            web::resource("/admin/users/{id}/reset-mfa").route(web::post().to(users::admin_reset)),
        )
        .service(
            web::resource("/admin/users/invitations/{id}/withdraw")
                .route(web::post().to(users::withdraw)),
        )
        .service(web::resource("/admin/users/{id}/suspend").route(web::post().to(users::suspend)))
        .service(
            web::resource("/admin/users/{id}/suspension").route(web::get().to(users::suspend_form)),
        )
        .service(
            web::resource("/admin/users/{id}/reactivate").route(web::post().to(users::reactivate)),
        )
        .service(web::resource("/admin/requests").route(web::get().to(requests::queue)))
        .service(web::resource("/admin/requests/{id}").route(web::get().to(requests::show)))
        .service(
            web::resource("/admin/requests/{id}/approve").route(web::post().to(requests::approve)),
        )
        .service(
            web::resource("/admin/requests/{id}/reject").route(web::post().to(requests::reject)),
        )
        .service(web::resource("/admin/requests/{id}/ask").route(web::post().to(requests::ask)))
        .service(
            web::resource("/admin/organizations")
                .route(web::get().to(organizations::list))
                .route(web::post().to(organizations::create)),
        )
        .service(web::resource("/admin/api").route(web::get().to(api::overview)))
        .service(
            web::resource("/admin/api/accounts/{id}/limit").route(web::post().to(api::set_limit)),
        )
        .service(
            web::resource("/admin/accounts/{id}/suspend")
                .route(web::get().to(accounts::suspend_form))
                .route(web::post().to(accounts::suspend)),
        )
        .service(
            web::resource("/admin/accounts/{id}/reinstate")
                .route(web::get().to(accounts::reinstate_form))
                .route(web::post().to(accounts::reinstate)),
        )
        .service(web::resource("/admin/jobs").route(web::get().to(lifecycle::jobs_page)))
        .service(web::resource("/admin/jobs/run").route(web::post().to(lifecycle::run_now)))
        .service(web::resource("/admin/compliance").route(web::get().to(lifecycle::compliance)))
        .service(
            web::resource("/admin/compliance/{auth}/resolve")
                .route(web::post().to(lifecycle::resolve)),
        )
        .service(
            web::resource("/admin/integrations").route(web::get().to(lifecycle::integrations_list)),
        )
        .service(
            web::resource("/admin/integrations/{id}/exemption")
                .route(web::post().to(lifecycle::set_exemption)),
        )
        .service(
            web::resource("/admin/integrations/{id}/retire")
                .route(web::get().to(lifecycle::retire_form))
                .route(web::post().to(lifecycle::retire)),
        )
        .service(
            web::resource("/admin/reactivations/{id}/approve")
                .route(web::post().to(lifecycle::approve_reactivation)),
        )
        .service(
            web::resource("/admin/reactivations/{id}/reject")
                .route(web::post().to(lifecycle::reject_reactivation)),
        )
        .service(web::resource("/admin/audit").route(web::get().to(audit::list)))
        .service(web::resource("/admin/outbox").route(web::get().to(outbox::list)))
        .service(web::resource("/admin/outbox/{id}/retry").route(web::post().to(outbox::retry)));
}
