//! The reference part of `/docs/api`, read from the OpenAPI document (as JSON): operations with
//! their parameters, body and responses (with the document's examples), and schemas as tables
//! of fields. Descriptions are Markdown (`markdown`); everything else is plain text for askama
//! to escape.

use serde_json::Value;

use super::markdown;

/// One piece of a type label: text, or a schema's name linking to its table.
pub struct TypePart {
    pub text: String,
    pub link: Option<String>,
}

fn plain(text: impl Into<String>) -> TypePart {
    TypePart {
        text: text.into(),
        link: None,
    }
}

/// A short constraint: a label, with an optional value shown as code.
pub struct Constraint {
    pub label: String,
    pub code: Option<String>,
}

/// A field of an object schema (nested inline objects appear as `parent.child` rows).
pub struct Field {
    pub name: String,
    pub type_label: Vec<TypePart>,
    pub required: bool,
    pub description_html: String,
    pub constraints: Vec<Constraint>,
    /// Long patterns go in a disclosure rather than the cell.
    pub long_pattern: Option<String>,
    pub enum_values: Vec<String>,
    /// Set when the values are too many to list here: how many, and where they are listed.
    pub enum_elsewhere: Option<(usize, String)>,
}

impl Field {
    /// Whether the values are many (shown in a disclosure).
    pub fn many_values(&self) -> bool {
        self.enum_values.len() > ENUM_INLINE
    }
}

/// Enums up to this many values are listed in the cell.
const ENUM_INLINE: usize = 12;

pub struct Param {
    pub name: String,
    pub place: String,
    pub type_label: Vec<TypePart>,
    pub required: bool,
    pub description_html: String,
    pub constraints: Vec<Constraint>,
    pub example: Option<Value>,
}

pub struct Body {
    pub description_html: String,
    pub type_label: Vec<TypePart>,
    pub fields: Vec<Field>,
    pub example: Option<Value>,
}

pub struct Example {
    /// The `id` of the code block (for its copy button).
    pub id: String,
    pub summary: String,
    /// Names the code block on the page (unique).
    pub aria_label: String,
    pub json: String,
}

pub struct ResponseView {
    pub status: String,
    pub reason: String,
    pub description_html: String,
    pub type_label: Vec<TypePart>,
    pub examples: Vec<Example>,
}

pub struct Operation {
    /// The section's `id`, from the operation ID.
    pub anchor: String,
    pub method: String,
    pub path: String,
    /// The summary, then the description (Markdown).
    pub summary_html: String,
    pub description_html: String,
    pub tag: String,
    /// Needs no credentials.
    pub public: bool,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    pub responses: Vec<ResponseView>,
}

impl Operation {
    /// "GET /api/v1/me", for labels that must be unique on the page.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

pub struct SchemaView {
    pub name: String,
    pub anchor: String,
    pub description_html: String,
    pub fields: Vec<Field>,
}

pub fn schema_anchor(name: &str) -> String {
    format!("schema-{}", slug(name))
}

/// Letters, digits, `-` and `_` only (ids and fragments need no escaping then).
pub fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The component a `$ref` names (`#/components/schemas/Name` → `Name`).
fn ref_name(schema: &Value) -> Option<&str> {
    schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
}

/// The schema itself, or the component it refers to.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match ref_name(schema) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

/// A readable type: `string (date-time)`, `integer or null`, `array of ApiEvent`.
pub fn type_label(schema: &Value) -> Vec<TypePart> {
    if let Some(name) = ref_name(schema) {
        return vec![TypePart {
            text: name.to_string(),
            link: Some(format!("#{}", schema_anchor(name))),
        }];
    }
    for combinator in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema[combinator].as_array() {
            return joined(alternatives.iter().map(type_label).collect());
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ if schema["properties"].is_object() => vec!["object"],
        _ => return vec![plain("any JSON")],
    };
    let mut labels: Vec<Vec<TypePart>> = Vec::new();
    for t in types.iter().filter(|t| **t != "null") {
        let label = match *t {
            "array" => {
                let mut parts = vec![plain("array of ")];
                parts.extend(type_label(&schema["items"]));
                parts
            }
            "string" => match schema["format"].as_str() {
                Some(format) => vec![plain(format!("string ({format})"))],
                None => vec![plain("string")],
            },
            other => vec![plain(other)],
        };
        labels.push(label);
    }
    if types.contains(&"null") {
        labels.push(vec![plain("null")]);
    }
    joined(labels)
}

fn joined(labels: Vec<Vec<TypePart>>) -> Vec<TypePart> {
    let mut out = Vec::new();
    for (i, label) in labels.into_iter().enumerate() {
        if i > 0 {
            out.push(plain(" or "));
        }
        out.extend(label);
    }
    out
}

const PATTERN_INLINE: usize = 48;

/// Lengths, bounds and short patterns, in words.
fn constraints(schema: &Value) -> (Vec<Constraint>, Option<String>) {
    let mut out = Vec::new();
    let n = |k: &str| schema[k].as_f64();
    let label = |l: String| Constraint {
        label: l,
        code: None,
    };
    match (n("minLength"), n("maxLength")) {
        (Some(min), Some(max)) => out.push(label(format!("{min}–{max} characters"))),
        (None, Some(max)) => out.push(label(format!("at most {max} characters"))),
        (Some(min), None) if min > 0.0 => out.push(label(format!("at least {min} characters"))),
        _ => {}
    }
    match (n("minimum"), n("maximum")) {
        (Some(min), Some(max)) => out.push(label(format!("from {min} to {max}"))),
        (None, Some(max)) => out.push(label(format!("at most {max}"))),
        (Some(min), None) if min != 0.0 => out.push(label(format!("at least {min}"))),
        _ => {}
    }
    if let Some(min) = n("minProperties") {
        out.push(label(format!("at least {min} field(s)")));
    }
    let mut long = None;
    if let Some(p) = schema["pattern"].as_str() {
        if p.chars().count() <= PATTERN_INLINE {
            out.push(Constraint {
                label: "pattern".into(),
                code: Some(p.to_string()),
            });
        } else {
            long = Some(p.to_string());
        }
    }
    (out, long)
}

/// The fields of an object schema: required ones first (in the order the document lists them),
/// then the others. Inline objects (not `$ref`s) are opened as `name.child`, items of inline
/// object arrays as `name[].child`. `enums_at`: where long enums are listed, when not here.
pub fn fields(doc: &Value, schema: &Value, enums_at: Option<&str>) -> Vec<Field> {
    let mut out = Vec::new();
    collect_fields(resolve(doc, schema), "", enums_at, 0, &mut out);
    out
}

fn collect_fields(
    schema: &Value,
    prefix: &str,
    enums_at: Option<&str>,
    depth: usize,
    out: &mut Vec<Field>,
) {
    let Some(props) = schema["properties"].as_object() else {
        return;
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut names: Vec<&str> = required
        .iter()
        .copied()
        .filter(|n| props.contains_key(*n))
        .collect();
    names.extend(
        props
            .keys()
            .map(String::as_str)
            .filter(|n| !required.contains(n)),
    );
    for name in names {
        let prop = &props[name];
        let (constraints, long_pattern) = constraints(prop);
        let values: Vec<String> = prop["enum"]
            .as_array()
            .map(|vs| {
                vs.iter()
                    .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let (enum_values, enum_elsewhere) = match enums_at {
            Some(at) if values.len() > ENUM_INLINE => {
                (Vec::new(), Some((values.len(), at.to_string())))
            }
            _ => (values, None),
        };
        let full = format!("{prefix}{name}");
        out.push(Field {
            name: full.clone(),
            type_label: type_label(prop),
            required: required.contains(&name),
            description_html: markdown::inline(text(&prop["description"])),
            constraints,
            long_pattern,
            enum_values,
            enum_elsewhere,
        });
        if depth < 4 && ref_name(prop).is_none() {
            if prop["properties"].is_object() {
                collect_fields(prop, &format!("{full}."), enums_at, depth + 1, out);
            } else if prop["items"]["properties"].is_object() {
                let items = &prop["items"];
                collect_fields(items, &format!("{full}[]."), enums_at, depth + 1, out);
            }
        }
    }
}

/// The security schemes: (name, description as HTML).
pub fn security_schemes(doc: &Value) -> Vec<(String, String)> {
    doc["components"]["securitySchemes"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| (name.clone(), markdown::inline(text(&s["description"]))))
        .collect()
}

/// The component schemas, in the document's order.
pub fn schemas(doc: &Value) -> Vec<SchemaView> {
    doc["components"]["schemas"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(name, s)| SchemaView {
                    name: name.clone(),
                    anchor: schema_anchor(name),
                    description_html: markdown::block(text(&s["description"])),
                    fields: fields(doc, s, None),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn reason(status: &str) -> String {
    status
        .parse::<u16>()
        .ok()
        .and_then(|s| actix_web::http::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or_default()
        .to_string()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The operations, grouped by tag in the order the document declares its tags, then by path
/// and method.
pub fn operations(doc: &Value) -> Vec<Operation> {
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .map(|ts| ts.iter().map(|t| text(&t["name"])).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    let Some(paths) = doc["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        for method in METHODS {
            let op = &item[method];
            if op.is_object() {
                out.push(operation(doc, path, method, op));
            }
        }
    }
    let rank = |op: &Operation| {
        (
            tags.iter().position(|t| *t == op.tag).unwrap_or(tags.len()),
            op.path.clone(),
            METHODS
                .iter()
                .position(|m| m.eq_ignore_ascii_case(&op.method)),
        )
    };
    out.sort_by_key(rank);
    out
}

fn operation(doc: &Value, path: &str, method: &str, op: &Value) -> Operation {
    let id = op["operationId"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{method}{path}"));
    let anchor = format!("op-{}", slug(&id));
    let summary = op["summary"].as_str().unwrap_or_default();
    let description = op["description"].as_str().unwrap_or_default();
    let params = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| Param {
            name: text(&p["name"]).to_string(),
            place: text(&p["in"]).to_string(),
            type_label: type_label(&p["schema"]),
            required: p["required"].as_bool().unwrap_or(false),
            description_html: markdown::inline(text(&p["description"])),
            constraints: constraints(&p["schema"]).0,
            example: p.get("example").cloned(),
        })
        .collect();
    let body = op["requestBody"]["content"]["application/json"]
        .as_object()
        .map(|content| {
            let schema = content.get("schema").cloned().unwrap_or(Value::Null);
            let enums_at = ref_name(&schema).map(|n| format!("#{}", schema_anchor(n)));
            Body {
                description_html: markdown::inline(text(&op["requestBody"]["description"])),
                type_label: type_label(&schema),
                fields: fields(doc, &schema, enums_at.as_deref()),
                example: content.get("example").cloned(),
            }
        });
    let responses = op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(status, r)| {
            let content = &r["content"]["application/json"];
            let examples = content["examples"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(key, e)| Example {
                    id: format!("{anchor}-{status}-{}", slug(key)),
                    summary: text(&e["summary"]).to_string(),
                    aria_label: format!(
                        "Example {status} response ({}) of {} {path}",
                        text(&e["summary"]),
                        method.to_uppercase()
                    ),
                    json: pretty(
                        doc,
                        content.get("schema").unwrap_or(&Value::Null),
                        &e["value"],
                    ),
                })
                .collect();
            ResponseView {
                status: status.clone(),
                reason: reason(status),
                description_html: markdown::inline(text(&r["description"])),
                type_label: match content.get("schema") {
                    Some(s) => type_label(s),
                    None if content.is_object() => vec![plain("JSON")],
                    None => Vec::new(),
                },
                examples,
            }
        })
        .collect();
    Operation {
        anchor,
        method: method.to_uppercase(),
        path: path.to_string(),
        summary_html: markdown::block(summary),
        description_html: markdown::block(description),
        tag: op["tags"][0].as_str().unwrap_or_default().to_string(),
        public: op["security"].as_array().is_some_and(|s| s.is_empty()),
        params,
        body,
        responses,
    }
}

/// JSON, indented, with each object's fields in the order its schema lists them (required
/// ones first, as the API writes them), not alphabetically.
pub fn pretty(doc: &Value, schema: &Value, value: &Value) -> String {
    let mut out = String::new();
    write_pretty(doc, schema, value, 0, &mut out);
    out
}

fn write_pretty(doc: &Value, schema: &Value, value: &Value, indent: usize, out: &mut String) {
    let schema = resolve(doc, schema);
    let pad = "  ".repeat(indent + 1);
    match value {
        Value::Object(m) if !m.is_empty() => {
            let mut keys: Vec<&String> = Vec::with_capacity(m.len());
            let listed = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .chain(
                    schema["properties"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, _)| k.as_str()),
                );
            for k in listed {
                if let Some((key, _)) = m.get_key_value(k) {
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
            for key in m.keys() {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            out.push_str("{\n");
            for (i, key) in keys.iter().enumerate() {
                out.push_str(&pad);
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push_str(": ");
                write_pretty(
                    doc,
                    &schema["properties"][key.as_str()],
                    &m[key.as_str()],
                    indent + 1,
                    out,
                );
                out.push_str(if i + 1 < keys.len() { ",\n" } else { "\n" });
            }
            out.push_str(&"  ".repeat(indent));
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad);
                write_pretty(doc, &schema["items"], item, indent + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&"  ".repeat(indent));
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn examples_follow_the_schemas_field_order() {
        let doc = json!({"components": {"schemas": {"E": {
            "type": "object",
            "required": ["id", "name"],
            "properties": {"extra": {"type": "string"}, "id": {"type": "string"}, "name": {"type": "string"}}
        }}}});
        let schema = json!({"type": "array", "items": {"$ref": "#/components/schemas/E"}});
        let value = json!([{"extra": "x", "name": "n", "id": "i", "zz": []}]);
        assert_eq!(
            pretty(&doc, &schema, &value),
            "[\n  {\n    \"id\": \"i\",\n    \"name\": \"n\",\n    \"extra\": \"x\",\n    \"zz\": []\n  }\n]"
        );
        // Without a schema: serde_json's own indentation.
        let v = json!({"a": {"b": [1, 2]}, "c": null});
        assert_eq!(
            pretty(&doc, &Value::Null, &v),
            serde_json::to_string_pretty(&v).unwrap()
        );
    }

    #[test]
    fn types_read_as_words() {
        let label = |s: Value| -> String { type_label(&s).into_iter().map(|p| p.text).collect() };
        assert_eq!(label(json!({"type": ["string", "null"]})), "string or null");
        assert_eq!(
            label(json!({"type": "string", "format": "date-time"})),
            "string (date-time)"
        );
        assert_eq!(
            label(json!({"type": "array", "items": {"$ref": "#/components/schemas/ApiEvent"}})),
            "array of ApiEvent"
        );
        assert_eq!(
            type_label(&json!({"$ref": "#/components/schemas/Me"}))[0]
                .link
                .as_deref(),
            Some("#schema-Me")
        );
        assert_eq!(
            label(json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/X"}]})),
            "null or X"
        );
    }
}
