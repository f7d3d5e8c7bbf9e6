//! The audit log: who did what to which object, when, from where. Written in the same
//! transaction as the change it records.

use chrono::NaiveDateTime;
use diesel::QueryResult;

pub use crate::context::Actor;
use crate::context::{Context, RequestMeta};
use crate::db::models::audit::{self, NewAuditRow};
use crate::db::{new_id, DbConn};

impl<'a> From<&'a crate::db::models::users::User> for Actor<'a> {
    fn from(user: &'a crate::db::models::users::User) -> Self {
        Actor::User {
            id: &user.id,
            email: &user.email,
        }
    }
}

impl<'a> Context<'a> {
    /// The audit entry of `action` by this context's actor, from its request.
    pub fn audit(&self, action: &'a str) -> AuditEvent<'a> {
        self.audit_as(action, self.actor)
    }

    /// The audit entry of `action` by another actor (someone not signed in, a user the change
    /// just created), from this context's request.
    pub fn audit_as(&self, action: &'a str, actor: Actor<'a>) -> AuditEvent<'a> {
        AuditEvent::new(action, actor).within(self)
    }
}

pub struct AuditEvent<'a> {
    pub action: &'a str,
    pub actor: Actor<'a>,
    pub target: Option<(&'a str, &'a str)>,
    pub details: serde_json::Value,
    pub meta: Option<&'a RequestMeta>,
}

impl<'a> AuditEvent<'a> {
    pub fn new(action: &'a str, actor: Actor<'a>) -> Self {
        Self {
            action,
            actor,
            target: None,
            details: serde_json::json!({}),
            meta: None,
        }
    }

    pub fn target(mut self, kind: &'a str, id: &'a str) -> Self {
        self.target = Some((kind, id));
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    pub fn meta(mut self, meta: &'a RequestMeta) -> Self {
        self.meta = Some(meta);
        self
    }

    /// From the request (if any) of `ctx`, whoever the actor.
    pub fn within(mut self, ctx: &Context<'a>) -> Self {
        self.meta = ctx.meta;
        self
    }

    pub fn record(self, conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<()> {
        let (actor_user_id, label) = match self.actor {
            Actor::User { id, email } => (Some(id), email.to_string()),
            Actor::Anonymous(label) => (None, format!("anonymous ({label})")),
            Actor::System(label) => (None, format!("system ({label})")),
            Actor::Integration(api_id) => (None, format!("integration ({api_id})")),
        };
        let details = self.details.to_string();
        let id = new_id();
        audit::insert(
            conn,
            &NewAuditRow {
                id: &id,
                occurred_at: now,
                actor_user_id,
                actor_label: &label,
                action: self.action,
                target_type: self.target.map(|t| t.0),
                target_id: self.target.map(|t| t.1),
                details: &details,
                client_ip: self.meta.map(|m| m.client_ip.as_str()),
                request_id: self.meta.map(|m| m.request_id.as_str()),
            },
        )
    }
}
