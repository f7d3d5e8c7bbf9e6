//! Example requests for each operation in curl, Python (`requests`) and JavaScript (`fetch`),
//! built from the operation's parameters and examples in the OpenAPI document. The API ID is
//! the reader's own when the page knows it; the secret never is: the examples read it from the
//! environment (`CONCAT_API_SECRET`).

use serde_json::Value;

use super::reference::Operation;

pub const SECRET_VAR: &str = "CONCAT_API_SECRET";
pub const API_ID_VAR: &str = "CONCAT_API_ID";

pub struct Snippet {
    /// `curl`, `python` or `javascript` (the tab, and the `id` of the code block).
    pub lang: &'static str,
    pub label: &'static str,
    pub id: String,
    /// Names the code block on the page (unique).
    pub aria_label: String,
    pub code: String,
}

/// What every snippet of one operation sends.
struct Request {
    method: String,
    url: String,
    /// Headers besides `Authorization` and `Content-Type` (e.g. `EventId`).
    headers: Vec<(String, String)>,
    body: Option<Value>,
    auth: bool,
}

fn example_text(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// `base`: the portal's address (the paths include `/api/v1`).
fn request(op: &Operation, base: &str) -> Request {
    let mut path = op.path.clone();
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut has_query = false;
    let mut headers = Vec::new();
    for p in &op.params {
        let value = p.example.as_ref().map(example_text);
        match p.place.as_str() {
            // The examples match the parameters' patterns (a unit test of the document
            // checks it), so they need no encoding in a path.
            "path" => {
                let v = value.unwrap_or_else(|| format!("<{}>", p.name));
                path = path.replace(&format!("{{{}}}", p.name), &v);
            }
            // Optional query parameters only when the document gives an example.
            "query" if p.required || value.is_some() => {
                let v = value.unwrap_or_else(|| format!("<{}>", p.name));
                query.append_pair(&p.name, &v);
                has_query = true;
            }
            // Headers only where the operation needs them.
            "header" if p.required => {
                headers.push((
                    p.name.clone(),
                    value.unwrap_or_else(|| format!("<{}>", p.name)),
                ));
            }
            _ => {}
        }
    }
    let mut url = format!("{}{}", base.trim_end_matches('/'), path);
    if has_query {
        url.push('?');
        url.push_str(&query.finish());
    }
    Request {
        method: op.method.clone(),
        url,
        headers,
        body: op.body.as_ref().and_then(|b| b.example.clone()),
        auth: !op.public,
    }
}

pub fn snippets(op: &Operation, base: &str, api_id: Option<&str>) -> Vec<Snippet> {
    let req = request(op, base);
    [
        ("curl", "curl", curl(&req, api_id)),
        ("python", "Python", python(&req, api_id)),
        ("javascript", "JavaScript", javascript(&req, api_id)),
    ]
    .into_iter()
    .map(|(lang, label, code)| Snippet {
        lang,
        label,
        id: format!("{}-request-{lang}", op.anchor),
        aria_label: format!("{label} example request for {}", op.label()),
        code,
    })
    .collect()
}

/// A string in double quotes for the shell, with `$`, `` ` ``, `"` and `\` escaped except
/// in the `$VAR`s we put there ourselves.
fn sh_double(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '`' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn sh_single(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn curl(req: &Request, api_id: Option<&str>) -> String {
    let mut lines = Vec::new();
    let first = if req.method == "GET" {
        format!("curl {}", sh_double(&req.url))
    } else {
        format!("curl -X {} {}", req.method, sh_double(&req.url))
    };
    lines.push(first);
    if req.auth {
        let id = match api_id {
            Some(id) => sh_double(&format!("Authorization: Bearer {id}:"))
                .trim_end_matches('"')
                .to_string(),
            None => format!("\"Authorization: Bearer ${API_ID_VAR}:"),
        };
        lines.push(format!("  -H {id}${SECRET_VAR}\""));
    }
    for (name, value) in &req.headers {
        lines.push(format!("  -H {}", sh_double(&format!("{name}: {value}"))));
    }
    if let Some(body) = &req.body {
        lines.push("  -H \"Content-Type: application/json\"".into());
        lines.push(format!("  -d {}", sh_single(&body.to_string())));
    }
    lines.join(" \\\n")
}

/// A JSON value as a Python literal.
fn py_literal(v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent + 4);
    let end = " ".repeat(indent);
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(_) => v.to_string(),
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Array(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|i| format!("{pad}{},", py_literal(i, indent + 4)))
                .collect();
            format!("[\n{}\n{end}]", inner.join("\n"))
        }
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Object(m) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{pad}{}: {},",
                        Value::from(k.as_str()),
                        py_literal(v, indent + 4)
                    )
                })
                .collect();
            format!("{{\n{}\n{end}}}", inner.join("\n"))
        }
    }
}

fn py_str(s: &str) -> String {
    Value::from(s).to_string()
}

fn python(req: &Request, api_id: Option<&str>) -> String {
    let mut out = String::new();
    if req.auth {
        out.push_str("import os\n\n");
    }
    out.push_str("import requests\n\n");
    if req.auth {
        match api_id {
            Some(id) => out.push_str(&format!("api_id = {}\n", py_str(id))),
            None => out.push_str(&format!("api_id = os.environ[\"{API_ID_VAR}\"]\n")),
        }
        out.push_str(&format!(
            "api_secret = os.environ[\"{SECRET_VAR}\"]  # never in source code\n\n"
        ));
    }
    out.push_str(&format!(
        "response = requests.{}(\n    {},\n",
        req.method.to_lowercase(),
        py_str(&req.url)
    ));
    let mut headers: Vec<String> = Vec::new();
    if req.auth {
        headers.push("\"Authorization\": \"Bearer \" + api_id + \":\" + api_secret".into());
    }
    for (name, value) in &req.headers {
        headers.push(format!("{}: {}", py_str(name), py_str(value)));
    }
    if !headers.is_empty() {
        out.push_str("    headers={\n");
        for h in headers {
            out.push_str(&format!("        {h},\n"));
        }
        out.push_str("    },\n");
    }
    if let Some(body) = &req.body {
        out.push_str(&format!("    json={},\n", py_literal(body, 4)));
    }
    out.push_str("    timeout=10,\n)\n");
    out.push_str("print(response.status_code, response.json())");
    out
}

fn js_str(s: &str) -> String {
    Value::from(s).to_string()
}

/// An object key as JavaScript writes it: bare when it is an identifier.
fn js_key(k: &str) -> String {
    let ident = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident {
        k.to_string()
    } else {
        js_str(k)
    }
}

fn javascript(req: &Request, api_id: Option<&str>) -> String {
    let mut out = String::new();
    if req.auth {
        match api_id {
            Some(id) => out.push_str(&format!("const apiId = {};\n", js_str(id))),
            None => out.push_str(&format!("const apiId = process.env.{API_ID_VAR};\n")),
        }
        out.push_str(&format!(
            "const apiSecret = process.env.{SECRET_VAR}; // never in source code\n\n"
        ));
    }
    let mut options: Vec<String> = Vec::new();
    if req.method != "GET" {
        options.push(format!("  method: {},", js_str(&req.method)));
    }
    let mut headers: Vec<String> = Vec::new();
    if req.auth {
        headers.push("    Authorization: \"Bearer \" + apiId + \":\" + apiSecret,".into());
    }
    for (name, value) in &req.headers {
        headers.push(format!("    {}: {},", js_key(name), js_str(value)));
    }
    if req.body.is_some() {
        headers.push("    \"Content-Type\": \"application/json\",".into());
    }
    if !headers.is_empty() {
        options.push(format!("  headers: {{\n{}\n  }},", headers.join("\n")));
    }
    if let Some(body) = &req.body {
        let pretty = serde_json::to_string_pretty(body).unwrap_or_default();
        options.push(format!(
            "  body: JSON.stringify({}),",
            pretty.replace('\n', "\n  ")
        ));
    }
    if options.is_empty() {
        out.push_str(&format!(
            "const response = await fetch({});\n",
            js_str(&req.url)
        ));
    } else {
        out.push_str(&format!(
            "const response = await fetch({}, {{\n{}\n}});\n",
            js_str(&req.url),
            options.join("\n")
        ));
    }
    out.push_str("console.log(response.status, await response.json());");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_keeps_values_literal() {
        assert_eq!(sh_double("a$b`c\"d\\"), "\"a\\$b\\`c\\\"d\\\\\"");
        assert_eq!(sh_single("it's"), "'it'\\''s'");
    }

    #[test]
    fn python_literals() {
        let v = serde_json::json!({"a": [true, null, 1], "b": "x\"y"});
        assert_eq!(
            py_literal(&v, 0),
            "{\n    \"a\": [\n        True,\n        None,\n        1,\n    ],\n    \"b\": \"x\\\"y\",\n}"
        );
    }
}
