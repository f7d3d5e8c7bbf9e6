//! Draft events reach an integration only when the organization shares them, per
//! authorization (default: not), and the organization sees which events an integration changed
//! last (issue 14).

use reqwest::Method;
use serde_json::json;

use crate::support::*;

async fn new_event(app: &TestApp, olga: &reqwest::Client, org: &str, name: &str, status: &str) {
    let res = app
        .post_form_with(
            olga,
            &format!("/org/{org}/events/new"),
            &[
                ("name", name),
                ("time_zone", "Europe/Berlin"),
                ("starts", "2027-03-01T19:00"),
                ("ends", "2027-03-01T23:00"),
                ("venue", "Hall"),
                ("status", status),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "event {name} created");
}

async fn event_ids(app: &TestApp, f: &ApiFixture) -> Vec<(String, String)> {
    let http = reqwest::Client::new();
    let (status, body) = api_json(
        bearer(
            &http,
            Method::GET,
            app.url(&format!("/api/v1/organizations/{}/events", f.org)),
            &f.dev.api_id,
            &f.dev.secret,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every event of the organization from its Events page: (name, public id).
async fn all_events(app: &TestApp, f: &ApiFixture) -> Vec<(String, String)> {
    let html = app
        .get_with(&f.olga, &format!("/org/{}/events", f.org))
        .await
        .text()
        .await
        .unwrap();
    html.split("<tr>")
        .skip(2)
        .filter_map(|row| {
            // The first cell's text (cells carry attributes such as `data-label`).
            let cell = row.split("<td").nth(1)?;
            let name = cell[cell.find('>')? + 1..]
                .split("</td>")
                .next()?
                .to_string();
            let at = row.find("evt_")?;
            Some((name, row[at..at + 20].to_string()))
        })
        .collect()
}

async fn drafts_reach_an_integration_only_when_shared(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read", "events_write"]).await;
    new_event(&app, &f.olga, &f.org, "Published Night", "published").await;
    new_event(&app, &f.olga, &f.org, "Secret Plans", "draft").await;
    let draft_id = all_events(&app, &f)
        .await
        .into_iter()
        .find(|(n, _)| n == "Secret Plans")
        .expect("the draft")
        .1;

    // Default: the draft is neither listed nor readable (as if it did not exist).
    let listed = event_ids(&app, &f).await;
    assert_eq!(
        listed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        vec!["Published Night"]
    );
    let http = reqwest::Client::new();
    let get = |id: &str| {
        bearer(
            &http,
            Method::GET,
            app.url("/api/v1/event"),
            &f.dev.api_id,
            &f.dev.secret,
        )
        .header("EventId", id.to_string())
        .send()
    };
    let (status, body) = api_json(get(&draft_id).await.unwrap()).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], json!("Invalid event"));
    // The integration moves the event to the roof (its status, as the API answers it).
    let move_to_roof = || async {
        bearer(
            &http,
            Method::PATCH,
            app.url("/api/v1/event"),
            &f.dev.api_id,
            &f.dev.secret,
        )
        .header("EventId", draft_id.clone())
        .json(&json!({"venue": "Roof"}))
        .send()
        .await
        .unwrap()
        .status()
    };
    assert_eq!(
        move_to_roof().await,
        404,
        "a hidden draft cannot be changed"
    );
    let (_, orgs) = api_json(
        bearer(
            &http,
            Method::GET,
            app.url("/api/v1/organizations"),
            &f.dev.api_id,
            &f.dev.secret,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(orgs["data"][0]["include_drafts"], json!(false));

    // The organization shares drafts with this integration: they appear at once.
    let res = app
        .post_form_with(
            &f.olga,
            &format!("/org/{}/integrations/{}/scopes", f.org, f.auth_id),
            &[
                ("events_read", "on"),
                ("events_write", "on"),
                ("include_drafts", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let listed = event_ids(&app, &f).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let (status, body) = api_json(get(&draft_id).await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], json!("draft"));
    let listing = app
        .get_with(&f.olga, &format!("/org/{}/integrations", f.org))
        .await
        .text()
        .await
        .unwrap();
    assert!(listing.contains("with drafts"));
    assert!(app
        .audit_actions()
        .await
        .contains(&"authorization.scopes_changed".to_string()));

    // An integration's change shows on the organization's Events page.
    assert_eq!(move_to_roof().await, 200);
    let page = app
        .get_with(&f.olga, &format!("/org/{}/events", f.org))
        .await
        .text()
        .await
        .unwrap();
    let row = &page[page.find("Secret Plans").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("last changed by the integration Ticketly App"),
        "{row}"
    );
    assert!(row.contains(&f.dev.api_id));
    let other = &page[page.find("Published Night").unwrap()..];
    assert!(!other[..other.find("</tr>").unwrap()].contains("last changed by"));

    // The organization's own save clears the mark.
    let res = app
        .post_form_with(
            &f.olga,
            &format!("/org/{}/events/{draft_id}/edit", f.org),
            &[
                ("name", "Secret Plans"),
                ("time_zone", "Europe/Berlin"),
                ("starts", "2027-03-01T19:00"),
                ("ends", "2027-03-01T23:00"),
                ("venue", "Roof"),
                ("status", "published"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = app
        .get_with(&f.olga, &format!("/org/{}/events", f.org))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("last changed by"));
}

/// A PATCH that looked the event up while it was published, and writes after the organization
/// made it a draft, finds nothing (checked again under the event's lock).
async fn a_patch_racing_a_new_draft_changes_nothing(backend: Backend) {
    use concat_portal::clock::Clock;
    use concat_portal::context::{Actor, Context, RequestMeta};
    use concat_portal::events::{patch_via_api, EventError, EventPatch};
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read", "events_write"]).await;
    new_event(&app, &f.olga, &f.org, "Secret Plans", "draft").await;
    let id = all_events(&app, &f).await[0].1.clone();
    let (org, now) = (f.org.clone(), app.clock.now_naive());
    let api_id = f.dev.api_id.clone();
    let outcome = concat_portal::db::run(&app.pool, move |c| {
        use concat_portal::db::models::organizations;
        let o = organizations::find_by_public_id(c, &org)?.unwrap();
        let meta = RequestMeta {
            client_ip: "127.0.0.1".into(),
            request_id: String::new(),
        };
        let ctx = Context::new(now, Actor::Integration(&api_id), &meta);
        let patch = EventPatch {
            name: Some("Leaked".into()),
            ..EventPatch::default()
        };
        let hidden = patch_via_api(c, &ctx, &o.id, &id, &patch, false);
        let shared = patch_via_api(c, &ctx, &o.id, &id, &patch, true);
        Ok((
            matches!(hidden, Err(EventError::NotFound)),
            shared.map(|e| e.name).ok(),
        ))
    })
    .await
    .unwrap();
    assert!(outcome.0, "a hidden draft is not found");
    assert_eq!(
        outcome.1.as_deref(),
        Some("Leaked"),
        "a shared one is changed"
    );
}

both_backends!(
    drafts_reach_an_integration_only_when_shared,
    a_patch_racing_a_new_draft_changes_nothing,
);
