//! A developer account's team: every member sees the integrations; owners invite colleagues.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db;
use crate::db::models::developer_accounts::{
    self as accounts, DeveloperAccount, Member, MemberRole,
};
use crate::db::models::invitations::{Invitation, Kind};
use crate::domain::{DisplayName, EmailAddress};
use crate::errors::AppError;
use crate::invitations::{self, InviteError, NewInvite, Scope, WithdrawError};
use crate::web::forms::{when, FieldErrors};
use crate::web::session::csrf::NoFields;
use crate::web::session::FlashLevel;
use crate::web::session::{CsrfForm, CurrentUser};
use crate::web::{redirect, render_with, PageContext};

#[derive(Template)]
#[template(path = "developer/team.html")]
struct TeamPage {
    ctx: PageContext,
    account: DeveloperAccount,
    members: Vec<Member>,
    /// Pending invitations: only the email and the name the owner typed.
    invitations: Vec<Invitation>,
    is_owner: bool,
    email: String,
    name: String,
    role: String,
    errors: FieldErrors,
}

impl TeamPage {
    fn when(&self, t: &chrono::NaiveDateTime) -> String {
        when(t)
    }
}

fn scope(account_id: &str) -> Scope<'_> {
    Scope {
        kind: Kind::DeveloperAccount,
        target_id: Some(account_id),
    }
}

type Team = (DeveloperAccount, MemberRole, Vec<Member>, Vec<Invitation>);

async fn membership(current: &CurrentUser, id: String) -> Result<Team, AppError> {
    let uid = current.user.id.clone();
    let now = current.viewer.context.now;
    db::run(&current.viewer.state.pool, move |c| {
        let Some(role) = accounts::role_of(c, &id, &uid)? else {
            return Ok(None);
        };
        let Some(account) = accounts::find(c, &id)? else {
            return Ok(None);
        };
        let pending = invitations::pending(c, scope(&id), now)?;
        Ok(Some((account, role, accounts::members(c, &id)?, pending)))
    })
    .await?
    .ok_or(AppError::NotFound)
}

fn page(
    current: &CurrentUser,
    status: StatusCode,
    (account, role, members, invitations): Team,
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
            invitations,
            is_owner: role.is_owner(),
            email: form.map(|f| f.email.clone()).unwrap_or_default(),
            name: form.map(|f| f.name.clone()).unwrap_or_default(),
            role: form
                .map(|f| f.role.clone())
                .unwrap_or_else(|| MemberRole::Member.to_string()),
            errors,
        },
    )
}

pub async fn show(current: CurrentUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let team = membership(&current, id.into_inner()).await?;
    page(&current, StatusCode::OK, team, None, FieldErrors::default())
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

/// An owner invites a colleague. Nothing is granted until they accept; the answer is the same
/// whether or not the email has an account.
#[tracing::instrument(name = "invite_team_member", skip_all)]
pub async fn invite(
    current: CurrentUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let team = membership(&current, id.into_inner()).await?;
    if !team.1.is_owner() {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::default();
    let name = errors.take("name", DisplayName::parse(&form.name));
    let email = errors.take("email", EmailAddress::parse(&form.email));
    let new_role = form.role.parse::<MemberRole>().ok();
    if new_role.is_none() {
        errors.add("role", "Choose owner or member.");
    }
    let (Some(email), Some(name), Some(new_role)) = (email, name, new_role) else {
        return page(
            &current,
            StatusCode::UNPROCESSABLE_ENTITY,
            team,
            Some(&form),
            errors,
        );
    };
    let state = current.viewer.state.clone();
    let (settings, rc, actor, acct) = (
        state.settings.clone(),
        current.viewer.context.clone(),
        current.user.clone(),
        team.0.clone(),
    );
    let outcome = db::try_transaction(&state.pool, move |c| {
        let role_label = format!(
            "{} of {}'s developer account",
            if new_role.is_owner() {
                "an owner"
            } else {
                "a member"
            },
            acct.company_name
        );
        invitations::invite(
            c,
            &rc.ctx(),
            &settings,
            &NewInvite {
                scope: scope(&acct.id),
                role: Some(new_role),
                email: &email,
                name: &name,
                role_label: &role_label,
            },
            &actor,
        )
    })
    .await;
    let account_id = team.0.id.clone();
    let message = match outcome {
        Ok(_) => None,
        Err(InviteError::AlreadyMember) => Some("This person is already a member of this account."),
        Err(InviteError::AlreadyInvited) => Some(
            "An invitation to this email is already pending. Withdraw it first to send a new one.",
        ),
        Err(InviteError::Other(e)) => return Err(e.into()),
    };
    if let Some(message) = message {
        let mut errors = FieldErrors::default();
        errors.add("email", message);
        return page(
            &current,
            StatusCode::UNPROCESSABLE_ENTITY,
            team,
            Some(&form),
            errors,
        );
    }
    state.mail_queued();
    current.viewer.flash(
        FlashLevel::Success,
        format!(
            "Invitation sent to {}. They join once they accept it (the link is valid for 7 days).",
            form.email.trim()
        ),
    );
    Ok(redirect(&format!("/developer/accounts/{account_id}/team")))
}

/// An owner withdraws a pending invitation of this account.
pub async fn withdraw(
    current: CurrentUser,
    path: web::Path<(String, String)>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (account_id, invitation_id) = path.into_inner();
    let team = membership(&current, account_id).await?;
    if !team.1.is_owner() {
        return Err(AppError::Forbidden);
    }
    let state = current.viewer.state.clone();
    let (rc, acct) = (current.viewer.context.clone(), team.0.id.clone());
    let outcome = db::try_transaction(&state.pool, move |c| {
        invitations::withdraw(c, &rc.ctx(), scope(&acct), &invitation_id)
    })
    .await;
    match outcome {
        Ok(i) => current.viewer.flash(
            FlashLevel::Success,
            format!("The invitation to {} was withdrawn.", i.email),
        ),
        Err(WithdrawError::NotFound) => return Err(AppError::NotFound),
        Err(WithdrawError::Other(e)) => return Err(e.into()),
        Err(_) => current.viewer.flash(
            FlashLevel::Error,
            "This invitation is no longer pending (accepted, withdrawn or expired).",
        ),
    }
    Ok(redirect(&format!("/developer/accounts/{}/team", team.0.id)))
}
