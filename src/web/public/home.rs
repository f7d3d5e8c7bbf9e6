use actix_web::HttpResponse;
use askama::Template;

use crate::db::models::users::User;
use crate::errors::AppError;
use crate::web::session::Viewer;
use crate::web::{redirect, render, PageContext};

/// Where a signed-in user lands.
pub fn home_for(user: &User) -> &'static str {
    if user.is_concat_admin {
        "/admin"
    } else {
        "/developer"
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageContext,
}

pub async fn home(viewer: Viewer) -> Result<HttpResponse, AppError> {
    if let Some(user) = &viewer.user {
        return Ok(redirect(home_for(user)));
    }
    render(&HomePage {
        ctx: viewer.page("Welcome"),
    })
}
