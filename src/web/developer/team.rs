//! A developer account's team: every member sees the integrations; owners invite colleagues.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::audit::{Actor, AuditEvent};
use crate::auth::accounts::{invite_user, CreateUserError, Invite};
use crate::auth::session::FlashLevel;
use crate::auth::{CsrfForm, CurrentUser};
use crate::db;
use crate::db::models::developer_accounts::{
    self as accounts, DeveloperAccount, Member, MEMBER, OWNER,
};
use crate::db::models::users;
use crate::domain::{DisplayName, EmailAddress};
use crate::email::messages::AddedToAccount;
use crate::email::outbox;
use crate::errors::AppError;
use crate::web::forms::FieldErrors;
use crate::web::{redirect, render_with, PageContext};

#[derive(Template)]
#[template(path = "developer/team.html")]
struct TeamPage {
    ctx: PageContext,
    account: DeveloperAccount,
    members: Vec<Member>,
    is_owner: bool,
    email: String,
    name: String,
    role: String,
    errors: FieldErrors,
}

async fn membership(
    current: &CurrentUser,
    id: String,
) -> Result<(DeveloperAccount, String, Vec<Member>), AppError> {
    let uid = current.user.id.clone();
    db::run(&current.viewer.state.pool, move |c| {
        let Some(role) = accounts::role_of(c, &id, &uid)? else {
            return Ok(None);
        };
        let Some(account) = accounts::find(c, &id)? else {
            return Ok(None);
        };
        Ok(Some((account, role, accounts::members(c, &id)?)))
    })
    .await?
    .ok_or(AppError::NotFound)
}

fn page(
    current: &CurrentUser,
    status: StatusCode,
    account: DeveloperAccount,
    role: &str,
    members: Vec<Member>,
    form: Option<&InviteForm>,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    render_with(
        status,
        &TeamPage {
            ctx: current
                .viewer
                .page(format!("{} team", account.company_name)),
            account,
            members,
            is_owner: role == OWNER,
            email: form.map(|f| f.email.clone()).unwrap_or_default(),
            name: form.map(|f| f.name.clone()).unwrap_or_default(),
            role: form
                .map(|f| f.role.clone())
                .unwrap_or_else(|| MEMBER.into()),
            errors,
        },
    )
}

pub async fn show(current: CurrentUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (account, role, members) = membership(&current, id.into_inner()).await?;
    page(
        &current,
        StatusCode::OK,
        account,
        &role,
        members,
        None,
        FieldErrors::default(),
    )
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(
    current: CurrentUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let (account, role, members) = membership(&current, id.into_inner()).await?;
    if role != OWNER {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::default();
    let email = errors.take("email", EmailAddress::parse(&form.email));
    let name = errors.take("name", DisplayName::parse(&form.name));
    let new_role = match form.role.as_str() {
        OWNER => Some(OWNER),
        MEMBER => Some(MEMBER),
        _ => {
            errors.add("role", "Choose owner or member.");
            None
        }
    };
    let (Some(email), Some(name), Some(new_role)) = (email, name, new_role) else {
        return page(
            &current,
            StatusCode::UNPROCESSABLE_ENTITY,
            account,
            &role,
            members,
            Some(&form),
            errors,
        );
    };
    let state = current.viewer.state.clone();
    let (settings, meta, now, actor, acct) = (
        state.settings.clone(),
        current.viewer.meta.clone(),
        state.clock.now_naive(),
        current.user.clone(),
        account.clone(),
    );
    let added = db::transaction(&state.pool, move |c| {
        let role_label = format!(
            "{} of {}'s developer account",
            if new_role == OWNER {
                "an owner"
            } else {
                "a member"
            },
            acct.company_name
        );
        let user = match users::find_by_email(c, &email.normalized())? {
            Some(existing) => {
                if !accounts::add_member(c, &acct.id, &existing.id, new_role, now)? {
                    return Ok(false);
                }
                let message = AddedToAccount {
                    name: existing.display_name.clone(),
                    company_name: acct.company_name.clone(),
                    added_by: actor.display_name.clone(),
                    role: if new_role == OWNER {
                        "an owner".into()
                    } else {
                        "a member".into()
                    },
                    link: settings.link("/developer"),
                };
                outbox::enqueue(
                    c,
                    &existing.email,
                    &message,
                    &format!("added_to_account:{}:{}", acct.id, existing.id),
                    now,
                )?;
                existing
            }
            None => {
                let invite = Invite {
                    email: &email,
                    name: &name,
                    is_admin: false,
                    invited_by: &actor.display_name,
                    role: &role_label,
                };
                let user = invite_user(c, &settings, &invite, now).map_err(|e| match e {
                    CreateUserError::Other(e) => e,
                    other => anyhow::Error::new(other),
                })?;
                accounts::add_member(c, &acct.id, &user.id, new_role, now)?;
                user
            }
        };
        AuditEvent::new("developer_account.member_added", Actor::from(&actor))
            .target("developer_account", &acct.id)
            .details(serde_json::json!({ "user": user.id, "email": user.email, "role": new_role }))
            .meta(&meta)
            .record(c, now)?;
        Ok(true)
    })
    .await?;
    if !added {
        let mut errors = FieldErrors::default();
        errors.add("email", "This person is already a member of this account.");
        return page(
            &current,
            StatusCode::UNPROCESSABLE_ENTITY,
            account,
            &role,
            members,
            Some(&form),
            errors,
        );
    }
    state.mail_queued();
    current.viewer.flash(
        FlashLevel::Success,
        format!(
            "{} now has access to {}.",
            form.email.trim(),
            account.company_name
        ),
    );
    Ok(redirect(&format!(
        "/developer/accounts/{}/team",
        account.id
    )))
}
