//! The API docs (`/docs/api`): Markdown rendered (never raw backticks, never raw HTML from the
//! document), a table of contents whose links land, example requests in curl, Python and
//! JavaScript with the reader's own API ID and never a secret, an example response for every
//! documented status, copy buttons on every code block, the truth about HTTPS; and the favicon.

use serde_json::Value;

use crate::support::*;

const DEV: &str = "dana@ticketly.example";

/// Every value of `attr="…"` in the HTML, in order.
fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let marker = format!(" {attr}=\"");
    html.match_indices(&marker)
        .map(|(at, m)| {
            let start = at + m.len();
            &html[start..start + html[start..].find('"').unwrap()]
        })
        .collect()
}

/// The HTML between the first `start` and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} in the page"));
    let rest = &html[from..];
    &rest[..rest
        .find(end)
        .unwrap_or_else(|| panic!("{end:?} after {start:?}"))]
}

/// HTML entities decoded: the named ones and decimal character references (`&#60;`).
fn decoded(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match after.find(';').and_then(|end| {
            let c = after[..end].parse::<u32>().ok().and_then(char::from_u32)?;
            Some((c, end))
        }) {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("&#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    unescaped(&out)
}

/// The text of a code block: what its copy button copies.
fn code_block(html: &str, id: &str) -> String {
    let open = format!("<code id=\"{id}\">");
    let inner = between(html, &open, "</code>");
    decoded(&inner[open.len()..])
}

/// The page's text as a reader sees it (tags removed, entities decoded).
fn text_of(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    decoded(&out)
}

/// (method, path, operationId, statuses) of every operation in the served document.
async fn documented_operations(
    app: &TestApp,
) -> (Value, Vec<(String, String, String, Vec<String>)>) {
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let statuses = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            let id = op["operationId"].as_str().unwrap().to_string();
            ops.push((method.clone(), path.clone(), id, statuses));
        }
    }
    assert_eq!(ops.len(), 6, "the document's operations");
    (doc, ops)
}

async fn docs_render_markdown_with_examples_and_contents(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.get("/docs/api").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();

    // Markdown is rendered: no backtick anywhere (text, code or attributes), and the
    // document's code spans become code.
    assert!(
        !html.contains('`') && !html.contains("&#96;"),
        "a raw backtick"
    );
    assert!(
        html.contains("(<code>evt_…</code>)"),
        "a code span from a description"
    );
    assert!(html.contains("<code>events:write</code> scope"));
    // Schemas are tables of fields, not JSON Schema dumps.
    let text = text_of(&html);
    for dump in [
        "\"$ref\"",
        "\"properties\"",
        "\"required\":",
        "#/components/schemas",
    ] {
        assert!(!text.contains(dump), "a schema dump: {dump}");
    }
    let me = between(&html, "id=\"schema-Me\"", "</section>");
    assert!(me.contains("<code class=\"docs-name\">rate_limit</code>"));
    assert!(
        me.contains("href=\"#schema-RateLimitInfo\""),
        "nested schemas link"
    );
    let page = between(&html, "id=\"schema-EventPage\"", "</section>");
    assert!(page.contains("array of <a href=\"#schema-ApiEvent\">"));
    let patch = between(&html, "id=\"schema-EventPatch\"", "</section>");
    assert!(
        patch.contains("<code>published</code>"),
        "enum values listed"
    );
    assert!(
        patch.contains("<code>Europe/Berlin</code>"),
        "long enums too"
    );

    // Raw HTML in the document's Markdown is shown as text, not markup: the security
    // schemes' descriptions say `<API ID>`.
    let schemes = between(&html, "<dl class=\"docs-schemes\">", "</dl>");
    assert!(
        schemes.contains("Bearer &lt;API ID&gt;:&lt;API Secret&gt;"),
        "{schemes}"
    );
    assert!(!schemes.contains("<API ID>") && !schemes.contains("<api"));
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the portal's script"
    );

    // Every operation: example requests in the three languages, each under its heading (so
    // all are readable without JavaScript), and an example for every documented status.
    let (doc, ops) = documented_operations(&app).await;
    for (method, path, id, statuses) in &ops {
        let section = between(
            &html,
            &format!("<section class=\"docs-operation\" id=\"op-{id}\""),
            "</section>",
        );
        for (lang, heading) in [
            ("curl", "curl"),
            ("python", "Python"),
            ("javascript", "JavaScript"),
        ] {
            assert!(section.contains(&format!("<h5 class=\"docs-tab-title\">{heading}</h5>")));
            let code = code_block(section, &format!("op-{id}-request-{lang}"));
            let url = format!("http://portal.test{}", path.split('{').next().unwrap());
            assert!(code.contains(&url), "{method} {path} {lang}: {code}");
        }
        for status in statuses {
            assert!(
                section.contains(&format!("<code id=\"op-{id}-{status}-")),
                "{method} {path}: no example {status} response"
            );
        }
        // Nothing is hidden before JavaScript makes tabs of them.
        assert_eq!(
            section
                .matches("<div class=\"docs-tab-panel\" data-docs-lang=")
                .count(),
            3
        );
    }
    let curl = code_block(&html, "op-update_event-request-curl");
    assert!(
        curl.starts_with("curl -X PATCH \"http://portal.test/api/v1/event\""),
        "{curl}"
    );
    assert!(
        curl.contains("-H \"EventId: evt_"),
        "the header the operation needs"
    );
    assert!(curl.contains("-H \"Content-Type: application/json\""));
    assert!(curl.contains("-d '{\""), "{curl}");
    let python = code_block(&html, "op-update_event-request-python");
    assert!(python.contains("import requests") && python.contains("requests.patch("));
    assert!(python.contains("\"EventId\": \"evt_") && python.contains("json={"));
    let js = code_block(&html, "op-update_event-request-javascript");
    assert!(js.contains("await fetch(\"http://portal.test/api/v1/event\""));
    assert!(js.contains("method: \"PATCH\"") && js.contains("body: JSON.stringify("));
    let events = code_block(&html, "op-events-request-curl");
    assert!(events.contains("/api/v1/organizations/org_") && events.contains("?limit="));
    // EventId only where it is needed.
    assert!(!code_block(&html, "op-me-request-curl").contains("EventId"));
    // The document needs no credentials.
    assert!(!code_block(&html, "op-document-request-curl").contains("Authorization"));

    // Signed out: placeholders, and the secret always comes from the environment.
    assert!(curl.contains("-H \"Authorization: Bearer $CONCAT_API_ID:$CONCAT_API_SECRET\""));
    assert!(python.contains("api_id = os.environ[\"CONCAT_API_ID\"]"));
    assert!(python.contains("api_secret = os.environ[\"CONCAT_API_SECRET\"]"));
    assert!(js.contains("const apiId = process.env.CONCAT_API_ID;"));
    assert!(text.contains("Sign in to see your own API ID"));

    // The example responses are the document's, as JSON.
    let shown: Value =
        serde_json::from_str(&code_block(&html, "op-events-403-revoked")).expect("JSON");
    let documented = &doc["paths"]["/api/v1/organizations/{org_id}/events"]["get"]["responses"]
        ["403"]["content"]["application/json"]["examples"]["revoked"]["value"];
    assert_eq!(&shown, documented);
    assert_eq!(shown["error"], "Authorization revoked");
    let page: Value = serde_json::from_str(&code_block(&html, "op-events-200-page")).unwrap();
    assert!(page["data"][0]["id"].as_str().unwrap().starts_with("evt_"));

    // Every code block can be copied, scrolls in a labelled focusable region, and its copy
    // button names what it copies.
    let blocks = html.matches("<pre ").count();
    assert!(blocks >= 6 * 3 + 30, "{blocks} code blocks");
    assert_eq!(
        html.matches("<pre tabindex=\"0\" role=\"region\" aria-label=\"")
            .count(),
        blocks
    );
    let targets = attr_values(&html, "data-copy");
    assert_eq!(targets.len(), blocks, "a copy button per code block");
    let ids = attr_values(&html, "id");
    for t in &targets {
        assert!(ids.contains(&t.trim_start_matches('#')), "copy target {t}");
    }
    // Region labels are unique (each names its operation).
    let mut labels: Vec<&str> = html
        .match_indices("role=\"region\" aria-label=\"")
        .map(|(at, m)| {
            let s = at + m.len();
            &html[s..s + html[s..].find('"').unwrap()]
        })
        .collect();
    let n = labels.len();
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), n, "duplicate region labels");

    // The table of contents: every link lands on an element of the page, every operation and
    // schema is listed, and ids are unique.
    let toc = between(&html, "<nav class=\"docs-toc\"", "</nav>");
    let links = attr_values(toc, "href");
    assert!(links.len() >= 5 + ops.len() + 9, "{links:?}");
    for link in &links {
        let id = link.strip_prefix('#').expect("an in-page link");
        assert!(
            ids.contains(&id),
            "the contents link to #{id}, which is not on the page"
        );
    }
    for (_, _, id, _) in &ops {
        assert!(
            links.contains(&format!("#op-{id}").as_str()),
            "{id} in the contents"
        );
    }
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(
            links.contains(&format!("#schema-{name}").as_str()),
            "{name} in the contents"
        );
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "duplicate ids");

    // Headings go down one level at a time.
    let levels: Vec<u32> = html
        .match_indices("<h")
        .filter_map(|(at, _)| html[at + 2..].chars().next().and_then(|c| c.to_digit(10)))
        .collect();
    assert_eq!(levels[0], 1);
    for pair in levels.windows(2) {
        assert!(
            pair[1] <= pair[0] + 1,
            "heading h{} after h{}",
            pair[1],
            pair[0]
        );
    }

    // The intro is truthful about the transport: this portal's address is plain HTTP.
    assert!(
        !text.contains("over HTTPS"),
        "says HTTPS at an http:// address"
    );
    assert!(text.contains("It speaks JSON at http://portal.test/api/v1"));
    assert!(text.contains("plain HTTP"));
    assert_eq!(
        code_block(&html, "auth-basic"),
        "curl http://<API ID>:<API Secret>@portal.test/api/v1/me"
    );
}

async fn docs_use_the_signed_in_developers_api_id_and_never_a_secret(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.approved_developer(DEV, "Ticketly").await;
    let other = app
        .approved_developer("eve@othercorp.example", "Othercorp")
        .await;
    let html = app
        .get_with(&dev.client, "/docs/api")
        .await
        .text()
        .await
        .unwrap();
    let id = &dev.api_id;
    let curl = code_block(&html, "op-me-request-curl");
    assert!(
        curl.contains(&format!(
            "-H \"Authorization: Bearer {id}:$CONCAT_API_SECRET\""
        )),
        "{curl}"
    );
    let python = code_block(&html, "op-events-request-python");
    assert!(python.contains(&format!("api_id = \"{id}\"")), "{python}");
    assert!(python.contains("api_secret = os.environ[\"CONCAT_API_SECRET\"]"));
    let js = code_block(&html, "op-update_event-request-javascript");
    assert!(js.contains(&format!("const apiId = \"{id}\";")), "{js}");
    assert!(js.contains("const apiSecret = process.env.CONCAT_API_SECRET;"));
    assert!(unescaped(&html).contains(&format!(
        "your integration <strong>Ticketly App</strong>, <code>{id}</code>"
    )));
    // Never a secret: not the developer's, and nothing shaped like one.
    assert!(!html.contains(&dev.secret));
    assert!(
        !html.contains("cc_sk_"),
        "something like a secret on the docs page"
    );
    assert!(
        !html.contains("$CONCAT_API_ID"),
        "the placeholder although the ID is known"
    );
    // Nobody else's API ID.
    assert!(!html.contains(&other.api_id));
    let theirs = app
        .get_with(&other.client, "/docs/api")
        .await
        .text()
        .await
        .unwrap();
    assert!(theirs.contains(&other.api_id) && !theirs.contains(id));
    assert!(!theirs.contains(&other.secret) && !theirs.contains(&dev.secret));

    // Signed in without an integration (a ConCat admin): placeholders.
    let admin = app.admin().await;
    let html = app
        .get_with(&admin, "/docs/api")
        .await
        .text()
        .await
        .unwrap();
    let curl = code_block(&html, "op-me-request-curl");
    assert!(
        curl.contains("Bearer $CONCAT_API_ID:$CONCAT_API_SECRET"),
        "{curl}"
    );
    assert!(!html.contains(id) && !html.contains(&other.api_id));
    assert!(text_of(&html).contains("You have no integration yet"));
}

async fn docs_say_https_when_the_portal_is_https(backend: Backend) {
    let app = spawn_app_with(backend, &[("PORTAL_BASE_URL", "https://portal.example")]).await;
    let html = app.get_html("/docs/api").await;
    let text = text_of(&html);
    assert!(text.contains("It speaks JSON over HTTPS at https://portal.example/api/v1."));
    assert!(!text.contains("plain HTTP"));
    let curl = code_block(&html, "op-me-request-curl");
    assert!(
        curl.starts_with("curl \"https://portal.example/api/v1/me\""),
        "{curl}"
    );
    assert_eq!(
        code_block(&html, "auth-basic"),
        "curl https://<API ID>:<API Secret>@portal.example/api/v1/me"
    );
    assert!(
        !html.contains("http://portal"),
        "an http:// address on an https portal"
    );
}

async fn the_favicon_is_served(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/favicon.ico", "/static/favicon.svg"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["content-type"], "image/svg+xml", "{path}");
        let body = res.text().await.unwrap();
        assert!(
            body.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{path}"
        );
    }
    for page in ["/", "/login", "/docs/api"] {
        let html = app.get_html(page).await;
        assert!(
            html.contains(
                "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">"
            ),
            "{page}"
        );
    }
}

both_backends!(
    docs_render_markdown_with_examples_and_contents,
    docs_use_the_signed_in_developers_api_id_and_never_a_secret,
    docs_say_https_when_the_portal_is_https,
    the_favicon_is_served,
);
