//! `GET /docs/api`: the API guide (in our words) and the reference, rendered on the server from
//! the same OpenAPI document the API serves: Markdown descriptions (`markdown`), operations and
//! schemas as tables with the document's example responses (`reference`), and example requests
//! in curl, Python and JavaScript (`snippets`) that carry the signed-in developer's API ID —
//! never a secret.

mod markdown;
mod reference;
mod snippets;

use actix_web::HttpResponse;
use askama::Template;

use crate::api::openapi::spec;
use crate::db::{self, models::integrations};
use crate::errors::AppError;
use crate::web::session::Viewer;
use crate::web::{render, PageContext};
use reference::{Operation, SchemaView};
use snippets::Snippet;

/// An operation with its example requests.
struct OperationView {
    op: Operation,
    requests: Vec<Snippet>,
}

/// The integration whose API ID the examples use.
struct ExampleIntegration {
    name: String,
    api_id: String,
}

#[derive(Template)]
#[template(path = "docs/api.html")]
struct DocsPage {
    ctx: PageContext,
    /// The API's address, and the portal's (the document's paths include `/api/v1`).
    base: String,
    portal: String,
    https: bool,
    /// The HTTP Basic example: credentials in the URL.
    basic_example: String,
    signed_in: bool,
    integration: Option<ExampleIntegration>,
    operations: Vec<OperationView>,
    /// (name, description as HTML) of each security scheme.
    security: Vec<(String, String)>,
    schemas: Vec<SchemaView>,
    secret_var: &'static str,
    api_id_var: &'static str,
}

/// The viewer's first integration (an active one if they have any), through their membership.
async fn example_integration(viewer: &Viewer) -> Result<Option<ExampleIntegration>, AppError> {
    let Some(user) = &viewer.user else {
        return Ok(None);
    };
    let uid = user.id.clone();
    let mine = db::run(&viewer.state.pool, move |c| {
        Ok(integrations::for_member(c, &uid)?)
    })
    .await?;
    let first = mine
        .iter()
        .find(|(i, _)| i.status.is_active())
        .or(mine.first());
    Ok(first.map(|(i, _)| ExampleIntegration {
        name: i.display_name.clone(),
        api_id: i.api_id.clone(),
    }))
}

pub async fn api(viewer: Viewer) -> Result<HttpResponse, AppError> {
    let doc = serde_json::to_value(spec()).map_err(anyhow::Error::from)?;
    let integration = example_integration(&viewer).await?;
    let settings = &viewer.state.settings;
    let base = settings.link("/api/v1");
    let portal = settings.link("");
    let https = base.starts_with("https://");
    let basic_example = match base.split_once("://") {
        Some((scheme, rest)) => format!("curl {scheme}://<API ID>:<API Secret>@{rest}/me"),
        None => format!("curl {base}/me"),
    };
    let api_id = integration.as_ref().map(|i| i.api_id.as_str());
    let operations = reference::operations(&doc)
        .into_iter()
        .map(|op| OperationView {
            requests: snippets::snippets(&op, &portal, api_id),
            op,
        })
        .collect();
    let portal = portal.trim_end_matches('/').to_string();
    render(&DocsPage {
        ctx: viewer.page("API reference"),
        signed_in: viewer.user.is_some(),
        integration,
        basic_example,
        base,
        portal,
        https,
        operations,
        security: reference::security_schemes(&doc),
        schemas: reference::schemas(&doc),
        secret_var: snippets::SECRET_VAR,
        api_id_var: snippets::API_ID_VAR,
    })
}
