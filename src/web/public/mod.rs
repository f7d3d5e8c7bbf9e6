//! Pages anyone can reach: home, sign in/out, password reset, invitation links, first-run setup,
//! and the health check.

pub mod health;
pub mod home;
pub mod links;
pub mod login;
pub mod setup;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(home::home)))
        .service(
            web::resource("/login")
                .route(web::get().to(login::form))
                .route(web::post().to(login::submit)),
        )
        .service(web::resource("/logout").route(web::post().to(login::logout)))
        .service(
            web::resource("/forgot-password")
                .route(web::get().to(links::forgot_form))
                .route(web::post().to(links::forgot_submit)),
        )
        .service(
            web::resource("/reset-password/{token}")
                .route(web::get().to(links::reset_form))
                .route(web::post().to(links::reset_submit)),
        )
        .service(
            web::resource("/set-password/{token}")
                .route(web::get().to(links::invite_form))
                .route(web::post().to(links::invite_submit)),
        )
        .service(
            web::resource("/setup/{token}")
                .route(web::get().to(setup::form))
                .route(web::post().to(setup::submit)),
        );
}
