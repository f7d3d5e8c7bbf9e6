//! The developer's pages: integrations and their secrets, requesting another integration, and
//! the team of each developer account. Every route loads its object through the user's
//! membership (`find_for_member`, `role_of`), so another account's objects are simply not found.

pub mod integrations;
pub mod lifecycle;
pub mod team;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/developer").route(web::get().to(integrations::dashboard)))
        .service(
            web::resource("/developer/integrations/{id}").route(web::get().to(integrations::show)),
        )
        .service(
            web::resource("/developer/integrations/{id}/usage")
                .route(web::get().to(integrations::usage)),
        )
        .service(
            web::resource("/developer/integrations/{id}/secrets")
                .route(web::post().to(integrations::create_secret)),
        )
        .service(
            web::resource("/developer/integrations/{id}/secrets/roll")
                .route(web::post().to(integrations::roll_secret)),
        )
        .service(
            web::resource("/developer/integrations/{id}/secrets/{secret_id}/revoke")
                .route(web::get().to(integrations::revoke_secret_confirm))
                .route(web::post().to(integrations::revoke_secret)),
        )
        .service(
            web::resource("/developer/integrations/{id}/duties/{auth}/confirm")
                .route(web::post().to(integrations::confirm_deletion)),
        )
        .service(
            web::resource("/developer/integrations/{id}/retire")
                .route(web::get().to(lifecycle::retire_form))
                .route(web::post().to(lifecycle::retire)),
        )
        .service(
            web::resource("/developer/integrations/{id}/reactivation")
                .route(web::get().to(lifecycle::reactivation_form))
                .route(web::post().to(lifecycle::reactivation_submit)),
        )
        .service(
            web::resource("/developer/accounts/{id}/integrations/new")
                .route(web::get().to(integrations::request_form))
                .route(web::post().to(integrations::request_submit)),
        )
        .service(web::resource("/developer/accounts/{id}/team").route(web::get().to(team::show)))
        .service(
            web::resource("/developer/accounts/{id}/team/invite")
                .route(web::post().to(team::invite)),
        )
        .service(
            web::resource("/developer/accounts/{id}/team/invitations/{invitation}/withdraw")
                .route(web::post().to(team::withdraw)),
        );
}
