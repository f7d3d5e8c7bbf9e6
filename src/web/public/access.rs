//! The public "request access" form, and the answer form for "we need more information".

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access::{self, ConfirmLink, ConfirmOutcome, NewRequest, SubmitOutcome};
use crate::db;
use crate::db::models::access_requests::{self as requests, AccessRequest};
use crate::domain::{
    AppName, CompanyName, DisplayName, EmailAddress, EventCustomers, Message, OneTimeToken, Phone,
    UseCase, Website, USE_CASE_MAX,
};
use crate::errors::AppError;
use crate::web::forms::FieldErrors;
use crate::web::session::FlashLevel;
use crate::web::session::{CsrfForm, Viewer};
use crate::web::{redirect, render, render_with, PageContext};

#[derive(Deserialize, Default, Clone)]
pub struct RequestForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    website: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    app_name: String,
    #[serde(default)]
    use_case: String,
    #[serde(default)]
    customers: String,
}

#[derive(Template)]
#[template(path = "access/request.html")]
struct RequestPage {
    ctx: PageContext,
    f: RequestForm,
    errors: FieldErrors,
    notice: Option<String>,
    use_case_max: usize,
}

#[derive(Template)]
#[template(path = "access/submitted.html")]
struct SubmittedPage {
    ctx: PageContext,
    email: String,
}

pub async fn form(viewer: Viewer) -> Result<HttpResponse, AppError> {
    render(&RequestPage {
        ctx: viewer.page("Request API access"),
        f: RequestForm::default(),
        errors: FieldErrors::default(),
        notice: None,
        use_case_max: USE_CASE_MAX,
    })
}

fn parse(f: &RequestForm) -> Result<NewRequest, FieldErrors> {
    let mut e = FieldErrors::default();
    // In the form's order, which the error summary follows.
    let name = e.take("name", DisplayName::parse(&f.name));
    let email = e.take("email", EmailAddress::parse(&f.email));
    let phone = e.take("phone", Phone::parse_optional(&f.phone));
    let company = e.take("company", CompanyName::parse(&f.company));
    let website = e.take("website", Website::parse(&f.website));
    let app_name = e.take("app_name", AppName::parse(&f.app_name));
    let use_case = e.take("use_case", UseCase::parse(&f.use_case));
    let customers = e.take("customers", EventCustomers::parse(&f.customers));
    match (
        name, company, website, email, phone, app_name, use_case, customers,
    ) {
        (
            Some(name),
            Some(company),
            Some(website),
            Some(email),
            Some(phone),
            Some(app_name),
            Some(use_case),
            Some(customers),
        ) => Ok(NewRequest {
            name,
            company,
            website,
            email,
            phone,
            app_name,
            use_case,
            customers,
        }),
        _ => Err(e),
    }
}

#[tracing::instrument(name = "request_access", skip_all)]
pub async fn submit(
    viewer: Viewer,
    CsrfForm(f): CsrfForm<RequestForm>,
) -> Result<HttpResponse, AppError> {
    let again = |status, errors, notice: Option<&str>| {
        render_with(
            status,
            &RequestPage {
                ctx: viewer.page("Request API access"),
                f: f.clone(),
                errors,
                notice: notice.map(str::to_string),
                use_case_max: USE_CASE_MAX,
            },
        )
    };
    let request = match parse(&f) {
        Ok(r) => r,
        Err(errors) => return again(StatusCode::UNPROCESSABLE_ENTITY, errors, None),
    };
    let state = viewer.state.clone();
    let (settings, rc) = (state.settings.clone(), viewer.context.clone());
    let email = request.email.to_string();
    let outcome = match db::transaction(&state.pool, move |c| {
        access::submit(c, &rc.ctx(), &settings, &request)
    })
    .await
    {
        Ok(o) => o,
        // The unique index on open requests caught a duplicate the checks could not see.
        Err(e) if db::is_unique_violation(&e) => SubmitOutcome::AlreadyPending,
        Err(e) => return Err(e.into()),
    };
    match outcome {
        SubmitOutcome::Submitted(_) => {
            state.mail_queued();
            render(&SubmittedPage {
                ctx: viewer.page("Check your inbox"),
                email,
            })
        }
        SubmitOutcome::AlreadyPending => {
            let mut errors = FieldErrors::default();
            errors.add(
                "email",
                "There is already a request under review for this email address. We will email you the decision.",
            );
            again(StatusCode::CONFLICT, errors, None)
        }
        SubmitOutcome::RateLimited => again(
            StatusCode::TOO_MANY_REQUESTS,
            FieldErrors::default(),
            Some("Too many requests were sent from your network in the last hour. Please try again later."),
        ),
    }
}

#[derive(Template)]
#[template(path = "access/answer.html")]
struct AnswerPage {
    ctx: PageContext,
    action: String,
    request: AccessRequest,
    question: String,
    answer: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "access/answer_invalid.html")]
struct AnswerInvalidPage {
    ctx: PageContext,
}

async fn waiting(viewer: &Viewer, raw: &str) -> Result<Option<(AccessRequest, String)>, AppError> {
    let Some(token) = OneTimeToken::parse(raw) else {
        return Ok(None);
    };
    let now = viewer.context.now;
    Ok(db::run(&viewer.state.pool, move |c| {
        let Some(request) = access::request_for_answer(c, &token, now)? else {
            return Ok(None);
        };
        let question = requests::messages(c, &request.id)?
            .into_iter()
            .rev()
            .find(|m| m.author.is_admin())
            .map(|m| m.body)
            .unwrap_or_default();
        Ok(Some((request, question)))
    })
    .await?)
}

fn invalid(viewer: &Viewer) -> Result<HttpResponse, AppError> {
    render_with(
        StatusCode::NOT_FOUND,
        &AnswerInvalidPage {
            ctx: viewer.page("Link not valid"),
        },
    )
}

pub async fn answer_form(
    viewer: Viewer,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let raw = token.into_inner();
    let Some((request, question)) = waiting(&viewer, &raw).await? else {
        return invalid(&viewer);
    };
    render(&AnswerPage {
        ctx: viewer.page("More information"),
        action: format!("/access-requests/respond/{raw}"),
        request,
        question,
        answer: String::new(),
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    answer: String,
}

pub async fn answer_submit(
    viewer: Viewer,
    token: web::Path<String>,
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Result<HttpResponse, AppError> {
    let raw = token.into_inner();
    let Some((request, question)) = waiting(&viewer, &raw).await? else {
        return invalid(&viewer);
    };
    let body = match Message::parse(&form.answer) {
        Ok(b) => b,
        Err(msg) => {
            let mut errors = FieldErrors::default();
            errors.add("answer", msg);
            return render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &AnswerPage {
                    ctx: viewer.page("More information"),
                    action: format!("/access-requests/respond/{raw}"),
                    request,
                    question,
                    answer: form.answer,
                    errors,
                },
            );
        }
    };
    let token = OneTimeToken::parse(&raw).ok_or(AppError::NotFound)?;
    let state = viewer.state.clone();
    let (settings, rc) = (state.settings.clone(), viewer.context.clone());
    let done = db::transaction(&state.pool, move |c| {
        access::answer(c, &rc.ctx(), &settings, &token, &body)
    })
    .await?;
    if !done {
        return invalid(&viewer);
    }
    state.mail_queued();
    viewer.flash(
        FlashLevel::Success,
        "Thank you. Your answer was sent and your request is back in the review queue.",
    );
    Ok(redirect("/"))
}

#[derive(Template)]
#[template(path = "access/confirm.html")]
struct ConfirmPage {
    ctx: PageContext,
    action: String,
    request: AccessRequest,
}

#[derive(Template)]
#[template(path = "access/confirm_result.html")]
struct ConfirmResultPage {
    ctx: PageContext,
    heading: &'static str,
    body: &'static str,
    offer_new: bool,
}

fn confirm_result(
    viewer: &Viewer,
    status: StatusCode,
    heading: &'static str,
    body: &'static str,
    offer_new: bool,
) -> Result<HttpResponse, AppError> {
    render_with(
        status,
        &ConfirmResultPage {
            ctx: viewer.page(heading),
            heading,
            body,
            offer_new,
        },
    )
}

const EXPIRED: &str = "This link has expired. Unconfirmed requests expire 48 hours after they were sent and are never reviewed. Please send your request again.";
const USED: &str = "This request is already confirmed, or the link is not valid. A confirmed request is in the review queue: we will email you the decision.";

fn link_outcome(viewer: &Viewer, outcome: ConfirmOutcome) -> Result<HttpResponse, AppError> {
    match outcome {
        ConfirmOutcome::Confirmed => confirm_result(
            viewer,
            StatusCode::OK,
            "Request confirmed",
            "Thank you. Your request is in the review queue: a ConCat admin will review it and email you the decision.",
            false,
        ),
        ConfirmOutcome::Used => confirm_result(
            viewer,
            StatusCode::NOT_FOUND,
            "Link not valid",
            USED,
            false,
        ),
        ConfirmOutcome::Expired => {
            confirm_result(viewer, StatusCode::GONE, "Link expired", EXPIRED, true)
        }
        ConfirmOutcome::AlreadyPending => confirm_result(
            viewer,
            StatusCode::CONFLICT,
            "A request is already under review",
            "There is already a confirmed request under review for this email address, so this one was not sent for review. We will email you the decision on the first one; you can send another request after that.",
            false,
        ),
    }
}

/// The link in "we received your request": a page with a button. Confirming is a POST.
pub async fn confirm_form(
    viewer: Viewer,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let raw = token.into_inner();
    let Some(token) = OneTimeToken::parse(&raw) else {
        return link_outcome(&viewer, ConfirmOutcome::Used);
    };
    let now = viewer.context.now;
    let link = db::run(&viewer.state.pool, move |c| {
        access::confirmation_link(c, &token, now)
    })
    .await?;
    match link {
        ConfirmLink::Valid(request) => render(&ConfirmPage {
            ctx: viewer.page("Confirm your access request"),
            action: format!("/access-requests/confirm/{raw}"),
            request: *request,
        }),
        ConfirmLink::Expired => link_outcome(&viewer, ConfirmOutcome::Expired),
        ConfirmLink::Used | ConfirmLink::Unknown => link_outcome(&viewer, ConfirmOutcome::Used),
    }
}

#[tracing::instrument(name = "confirm_access_request", skip_all)]
pub async fn confirm_submit(
    viewer: Viewer,
    token: web::Path<String>,
    _form: CsrfForm<crate::web::session::csrf::NoFields>,
) -> Result<HttpResponse, AppError> {
    let Some(token) = OneTimeToken::parse(&token.into_inner()) else {
        return link_outcome(&viewer, ConfirmOutcome::Used);
    };
    let state = viewer.state.clone();
    let (settings, rc) = (state.settings.clone(), viewer.context.clone());
    let outcome = match db::transaction(&state.pool, move |c| {
        access::confirm(c, &rc.ctx(), &settings, &token)
    })
    .await
    {
        Ok(o) => o,
        // The unique index on open confirmed requests caught a race the checks could not see.
        Err(e) if db::is_unique_violation(&e) => ConfirmOutcome::AlreadyPending,
        Err(e) => return Err(e.into()),
    };
    if outcome == ConfirmOutcome::Confirmed {
        state.mail_queued();
    }
    link_outcome(&viewer, outcome)
}
