use actix_web::HttpResponse;
use askama::Template;

use crate::errors::AppError;
use crate::web::session::Viewer;
use crate::web::{home_for, redirect, render, PageContext};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageContext,
}

pub async fn home(viewer: Viewer) -> Result<HttpResponse, AppError> {
    if let Some(user) = &viewer.user {
        return Ok(redirect(home_for(user, viewer.roles)));
    }
    render(&HomePage {
        ctx: viewer.page("Welcome"),
    })
}
