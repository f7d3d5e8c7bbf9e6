//! Pages anyone can reach: home, sign in/out, password reset, invitation links, first-run setup,
//! and the health check.

pub mod access;
pub mod docs;
pub mod health;
pub mod home;
pub mod invitations;
pub mod links;
pub mod login;
pub mod metrics;
pub mod setup;
pub mod welcome;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(home::home)))
        .service(web::resource("/docs/api").route(web::get().to(docs::api)))
        .service(
            web::resource("/login")
                .route(web::get().to(login::form))
                .route(web::post().to(login::submit)),
        )
        .service(web::resource("/logout").route(web::post().to(login::logout)))
        .service(
            web::resource("/login/verify")
                .route(web::get().to(login::verify_form))
                .route(web::post().to(login::verify)),
        )
        .service(web::resource("/login/passkey").route(web::post().to(login::passkey_sign_in)))
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
            web::resource("/invitations/{token}")
                .route(web::get().to(invitations::accept_form))
                .route(web::post().to(invitations::accept_submit)),
        )
        .service(
            web::resource("/request-access")
                .route(web::get().to(access::form))
                .route(web::post().to(access::submit)),
        )
        .service(
            web::resource("/access-requests/respond/{token}")
                .route(web::get().to(access::answer_form))
                .route(web::post().to(access::answer_submit)),
        )
        .service(
            web::resource("/access-requests/confirm/{token}")
                .route(web::get().to(access::confirm_form))
                .route(web::post().to(access::confirm_submit)),
        )
        .service(
            web::resource("/welcome/{token}")
                .route(web::get().to(welcome::form))
                .route(web::post().to(welcome::submit)),
        )
        .service(
            web::resource("/setup/{token}")
                .route(web::get().to(setup::form))
                .route(web::post().to(setup::submit)),
        );
}
