//! `GET /docs/api`: the API guide (in our words) and the reference, rendered on the server from
//! the same OpenAPI document the API serves.

use actix_web::HttpResponse;
use askama::Template;
use serde_json::Value;

use crate::api::openapi::spec;
use crate::errors::AppError;
use crate::web::session::Viewer;
use crate::web::{render, PageContext};

pub struct Param {
    pub name: String,
    pub place: String,
    pub required: bool,
    pub description: String,
}

pub struct Operation {
    pub method: String,
    pub path: String,
    pub summary: String,
    pub params: Vec<Param>,
    pub body: Option<String>,
    pub responses: Vec<(String, String)>,
    pub public: bool,
}

#[derive(Template)]
#[template(path = "docs/api.html")]
struct DocsPage {
    ctx: PageContext,
    base: String,
    /// `base` without its scheme, for the `https://id:secret@…` example.
    host_path: String,
    operations: Vec<Operation>,
    schemas: Vec<(String, String)>,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The operations of the OpenAPI document, in document order.
pub fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    let Some(paths) = doc["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            let params = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| Param {
                            name: text(&p["name"]),
                            place: text(&p["in"]),
                            required: p["required"].as_bool().unwrap_or(false),
                            description: text(&p["description"]),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .map(|r| r.rsplit('/').next().unwrap_or(r).to_string());
            let responses = op["responses"]
                .as_object()
                .map(|rs| {
                    rs.iter()
                        .map(|(code, r)| (code.clone(), text(&r["description"])))
                        .collect()
                })
                .unwrap_or_default();
            let summary = op["summary"]
                .as_str()
                .or(op["description"].as_str())
                .unwrap_or_default()
                .to_string();
            out.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                summary,
                params,
                body,
                responses,
                public: op.get("security").is_none(),
            });
        }
    }
    out
}

pub async fn api(viewer: Viewer) -> Result<HttpResponse, AppError> {
    let doc = serde_json::to_value(spec()).map_err(anyhow::Error::from)?;
    let schemas = doc["components"]["schemas"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(name, s)| {
                    (
                        name.clone(),
                        serde_json::to_string_pretty(s).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let base = viewer.state.settings.link("/api/v1");
    let host_path = base
        .split_once("://")
        .map(|(_, rest)| rest.to_string())
        .unwrap_or_else(|| base.clone());
    render(&DocsPage {
        ctx: viewer.page("API reference"),
        host_path,
        base,
        operations: operations(&doc),
        schemas,
    })
}
