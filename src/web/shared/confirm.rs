//! A confirmation step before an action that cannot be undone (revoking a secret, rolling with
//! the old secret stopping at once): a page that says what will happen, with the button that
//! does it (a POST with the form's fields) and a way back. Works without JavaScript.

use actix_web::HttpResponse;
use askama::Template;

use crate::errors::AppError;
use crate::web::{render, PageContext};

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage<'a> {
    ctx: PageContext,
    /// What the reader is asked, as the page's heading.
    question: &'a str,
    /// What will happen, one consequence a line.
    consequences: &'a [String],
    action: &'a str,
    /// The fields the POST carries (besides the CSRF token).
    fields: &'a [(&'a str, &'a str)],
    button: &'a str,
    back: &'a str,
}

pub struct Confirm<'a> {
    pub question: &'a str,
    pub consequences: &'a [String],
    pub action: &'a str,
    pub fields: &'a [(&'a str, &'a str)],
    pub button: &'a str,
    pub back: &'a str,
}

pub fn confirm_page(ctx: PageContext, c: Confirm<'_>) -> Result<HttpResponse, AppError> {
    render(&ConfirmPage {
        ctx,
        question: c.question,
        consequences: c.consequences,
        action: c.action,
        fields: c.fields,
        button: c.button,
        back: c.back,
    })
}
