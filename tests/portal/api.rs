//! The ConCat API over real HTTP: authentication methods, errors, organization and event access,
//! revocation, rate limits, usage statistics, the OpenAPI document, and curl as a client.

use base64::Engine as _;
use concat_portal::clock::Clock;
use concat_portal::db;
use reqwest::Method;
use serde_json::json;

use crate::support::*;

fn basic(api_id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{api_id}:{secret}"))
    )
}

/// The admin API overview, and its "top integrations" row for `api_id` (from the API ID to the
/// end of the row).
async fn admin_api_row(app: &TestApp, admin: &reqwest::Client, api_id: &str) -> (String, String) {
    let overview = app
        .get_with(admin, "/admin/api")
        .await
        .text()
        .await
        .unwrap();
    let at = overview.find(api_id).expect("the integration is listed");
    let end = at + overview[at..].find("</tr>").expect("the row ends");
    let row = overview[at..end].to_string();
    (overview, row)
}

async fn each_authentication_method_works(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read"]).await;
    let (id, secret) = (&f.dev.api_id, &f.dev.secret);
    let http = client().0;

    let (status, me) = api_json(
        bearer(&http, Method::GET, app.url("/api/v1/me"), id, secret)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me["api_id"], json!(id));
    assert_eq!(me["display_name"], json!("Ticketly App"));
    assert_eq!(me["status"], json!("active"));
    assert_eq!(me["organizations"][0]["id"], json!(f.org));
    assert_eq!(me["organizations"][0]["scopes"], json!(["events:read"]));
    assert_eq!(me["rate_limit"]["limit"], json!(1000));

    let res = http
        .get(app.url("/api/v1/organizations"))
        .header("Authorization", basic(id, secret))
        .send()
        .await
        .unwrap();
    let (status, orgs) = api_json(res).await;
    assert_eq!(status, 200);
    assert_eq!(orgs["data"][0]["name"], json!("Acme Events"));

    // Paths are matched as actix routes them (percent-decoded): `%6De` is `me`, with or
    // without credentials.
    let res = bearer(&http, Method::GET, app.url("/api/v1/%6De"), id, secret)
        .send()
        .await
        .unwrap();
    assert_eq!(api_json(res).await.0, 200);
    let res = http.get(app.url("/api/v1/%6De")).send().await.unwrap();
    assert_eq!(api_json(res).await.0, 401);

    // `_apikey` is refused unless enabled, with a hint.
    let query = format!("/api/v1/me?_apikey={id}:{secret}");
    let (status, body) = api_json(http.get(app.url(&query)).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], json!("Invalid API credentials"));
    assert!(body["hint"].as_str().unwrap().contains("_apikey"));

    // Enabled: accepted, counted, and redacted from the logs.
    let on = spawn_app_on(
        app.db.clone(),
        &[("PORTAL_API_ALLOW_QUERY_KEY", "true")],
        None,
    )
    .await;
    let (status, me) = api_json(http.get(on.url(&query)).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(me["api_id"], json!(id));
    on.flush_usage().await;
    let rows = on.usage_rows().await;
    assert_eq!(
        rows.get(&(
            id.clone(),
            String::new(),
            String::new(),
            "GET /api/v1/me".into(),
            200
        )),
        Some(&1)
    );
    // Counted as `_apikey` use too, accepted or not, so operators and the developer see who
    // relies on it (a Bearer request through the same server is not).
    bearer(&http, Method::GET, on.url("/api/v1/me"), id, secret)
        .send()
        .await
        .unwrap();
    on.flush_usage().await;
    app.flush_usage().await;
    let query_key = on.query_key_rows().await;
    assert_eq!(
        query_key.get(&(id.clone(), 200)),
        Some(&(5, 1)),
        "{query_key:?}"
    );
    assert_eq!(
        query_key.get(&(id.clone(), 401)),
        Some(&(1, 1)),
        "{query_key:?}"
    );

    let admin = app.admin().await;
    let (_, row) = admin_api_row(&app, &admin, id).await;
    assert!(
        row.ends_with("<td>6</td><td>16.7 %</td><td>1</td><td>2</td>"),
        "{row}"
    );
    app.login_with(&f.dev.client, "dana@ticketly.example", PASSWORD)
        .await;
    let page = format!("/developer/integrations/{}/usage", f.dev.integration_id);
    let html = app
        .get_with(&f.dev.client, &page)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<p class=\"flash flash-warning\" id=\"query-key-use\">2 of these requests"),
        "{html}"
    );
    on.assert_secret_never_leaked(secret);
    app.assert_secret_never_leaked(secret);
}

async fn bad_credentials_are_401_json_without_a_500(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read"]).await;
    let (id, secret) = (f.dev.api_id.clone(), f.dev.secret.clone());
    let http = client().0;
    let me = app.url("/api/v1/me");

    let mut wrong_sum = secret.clone();
    let last = wrong_sum.pop().unwrap();
    wrong_sum.push(if last == 'x' { 'y' } else { 'x' });
    let other = app.approved_developer("eve@other.example", "Other").await;
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("not bearer", Some(format!("Token {id}:{secret}"))),
        ("no colon", Some(format!("Bearer {id}{secret}"))),
        ("bad checksum", Some(format!("Bearer {id}:{wrong_sum}"))),
        (
            "another integration's secret",
            Some(format!("Bearer {id}:{}", other.secret)),
        ),
        (
            "a well-formed unknown secret",
            Some(format!(
                "Bearer {id}:{}",
                concat_portal::domain::ApiSecret::generate().expose()
            )),
        ),
        ("garbage base64", Some("Basic !!!".into())),
    ];
    for (what, header) in cases {
        let mut req = http.get(&me);
        if let Some(h) = header {
            req = req.header("Authorization", h);
        }
        let res = req.send().await.unwrap();
        let challenges: Vec<_> = res
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert!(
            challenges.iter().any(|c| c.starts_with("Bearer")),
            "{what}: {challenges:?}"
        );
        let (status, body) = api_json(res).await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(body["error"], json!("Invalid API credentials"), "{what}");
    }
    assert!(app.credentials_valid(&id, &secret).await, "still valid");

    // Rolled with a one-hour overlap: the old secret works until then, not after.
    let page = format!("/developer/integrations/{}", f.dev.integration_id);
    let rolled = app
        .post_form_with(
            &f.dev.client,
            &format!("{page}/secrets/roll"),
            &[("old_expires", "1h")],
        )
        .await;
    assert_eq!(rolled.status(), 200);
    let new_secret = secret_in(&rolled.text().await.unwrap()).unwrap();
    assert!(app.credentials_valid(&id, &secret).await, "in the overlap");
    assert!(app.credentials_valid(&id, &new_secret).await);
    app.clock.advance(chrono::Duration::minutes(61));
    assert!(
        !app.credentials_valid(&id, &secret).await,
        "past the overlap"
    );
    assert!(app.credentials_valid(&id, &new_secret).await);
    let cached_at = std::time::Instant::now();

    // Revoked in the portal: refused on the very next request (it was cached).
    app.login_with(&f.dev.client, "dana@ticketly.example", PASSWORD)
        .await;
    let show = app
        .get_with(&f.dev.client, &page)
        .await
        .text()
        .await
        .unwrap();
    // The page links to the confirmation step, whose form revokes.
    let confirm = hrefs(&show)
        .into_iter()
        .find(|a| a.ends_with("/revoke") && a.contains("/secrets/"))
        .expect("a revoke link");
    let step = app
        .get_with(&f.dev.client, &confirm)
        .await
        .text()
        .await
        .unwrap();
    let revoke = post_action(&step);
    assert_eq!(
        app.post_form_with(&f.dev.client, &revoke, &[])
            .await
            .status(),
        303
    );
    assert!(!app.credentials_valid(&id, &new_secret).await, "revoked");
    assert!(
        cached_at.elapsed() < std::time::Duration::from_secs(4),
        "well within the 5 s cache TTL, so only the invalidation explains the refusal"
    );
    app.assert_secret_never_leaked(&secret);
    app.assert_secret_never_leaked(&new_secret);
}

async fn organizations_and_scopes_are_enforced_and_revocation_is_immediate(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read"]).await;
    let (id, secret) = (f.dev.api_id.clone(), f.dev.secret.clone());
    let http = client().0;
    let events = app.seed_events(&f.org, 3).await;
    let get = |path: String| bearer(&http, Method::GET, app.url(&path), &id, &secret);

    // Another organization that never authorized this integration, and one that does not
    // exist: the same 404.
    let (other_org, _) = app.org_with_admin("Bobs Fairs", "bob@fairs.example").await;
    let other_events = app.seed_events(&other_org, 1).await;
    for org in [
        other_org.clone(),
        "org_0000000000000000".into(),
        "nope".into(),
    ] {
        let (status, body) = api_json(
            get(format!("/api/v1/organizations/{org}/events"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body),
            (404, json!({"error": "Invalid organization"})),
            "{org}"
        );
    }
    let (status, body) = api_json(
        get("/api/v1/event".into())
            .header("EventId", &other_events[0])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body), (404, json!({"error": "Invalid event"})));

    let (status, page) = api_json(
        get(format!("/api/v1/organizations/{}/events", f.org))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    assert_eq!(page["data"][0]["id"], json!(events[0]));

    // Read-only: PATCH needs events:write.
    let (status, body) = api_json(
        bearer(&http, Method::PATCH, app.url("/api/v1/event"), &id, &secret)
            .header("EventId", &events[0])
            .json(&json!({"name": "Renamed"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"error": "Insufficient scope", "required_scope": "events:write"})
    );

    // Olga grants write: the very next PATCH is allowed.
    let listing = format!("/org/{}/integrations", f.org);
    let t = std::time::Instant::now();
    assert_eq!(
        app.post_form_with(
            &f.olga,
            &format!("{listing}/{}/scopes", f.auth_id),
            &[("events_read", "on"), ("events_write", "on")],
        )
        .await
        .status(),
        303
    );
    let (status, _) = api_json(
        bearer(&http, Method::PATCH, app.url("/api/v1/event"), &id, &secret)
            .header("EventId", &events[2])
            .json(&json!({"venue": "Annex"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "scope change applies at once");

    // Olga revokes in the portal; the very next request is refused with the deadline.
    assert_eq!(
        app.post_form_with(&f.olga, &format!("{listing}/{}/revoke", f.auth_id), &[])
            .await
            .status(),
        303
    );
    app.one_email_to("dana@ticketly.example").await;
    let (status, body) = api_json(
        get(format!("/api/v1/organizations/{}/events", f.org))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(4),
        "within the TTL: invalidated"
    );
    assert_eq!(body["error"], json!("Authorization revoked"));
    let revoked_at = body["revoked_at"].as_str().unwrap();
    let delete_by = body["delete_by"].as_str().unwrap();
    assert!(revoked_at.starts_with(&app.clock_date()), "{revoked_at}");
    let due = (app.clock.now() + chrono::Duration::days(30))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    assert_eq!(delete_by, due);
    let (status, body) = api_json(
        get("/api/v1/event".into())
            .header("EventId", &events[1])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["delete_by"], json!(due));
    let (_, orgs) = api_json(get("/api/v1/organizations".into()).send().await.unwrap()).await;
    assert_eq!(orgs["data"], json!([]));
    let (_, me) = api_json(get("/api/v1/me".into()).send().await.unwrap()).await;
    assert_eq!(me["organizations"][0]["status"], json!("revoked"));
    assert_eq!(me["organizations"][0]["delete_by"], json!(due));

    // Authorized again, with write: PATCH works and is audited.
    app.authorize(
        &f.olga,
        &f.org,
        &id,
        &["events_read", "events_write"],
        "dana@ticketly.example",
    )
    .await;
    let (status, updated) = api_json(
        bearer(&http, Method::PATCH, app.url("/api/v1/event"), &id, &secret)
            .header("EventId", &events[0])
            .json(&json!({
                "name": "Renamed Fair",
                "venue": "Pier 17",
                "starts_at": "2027-05-01T18:00:00+02:00",
                "ends_at": "2027-05-01T23:00:00+02:00",
                "time_zone": "Europe/Berlin",
                "status": "cancelled"
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], json!("Renamed Fair"));
    assert_eq!(updated["starts_at"], json!("2027-05-01T16:00:00Z"));
    assert_eq!(updated["status"], json!("cancelled"));
    assert!(app
        .audit_actions()
        .await
        .contains(&"event.updated_via_api".to_string()));
    let (_, again) = api_json(
        get("/api/v1/event".into())
            .header("EventId", &events[0])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(again, updated);
}

async fn event_requests_are_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read", "events_write"]).await;
    let (id, secret) = (f.dev.api_id.clone(), f.dev.secret.clone());
    let http = client().0;
    let events = app.seed_events(&f.org, 25).await;

    for (header, message) in [
        (None, "needs the EventId header"),
        (Some("evt_short"), "not an event ID"),
        (Some("'; DROP TABLE events; --"), "not an event ID"),
    ] {
        let mut req = bearer(&http, Method::GET, app.url("/api/v1/event"), &id, &secret);
        if let Some(h) = header {
            req = req.header("EventId", h);
        }
        let (status, body) = api_json(req.send().await.unwrap()).await;
        assert_eq!(status, 400, "{header:?}");
        assert!(body["error"].as_str().unwrap().contains(message), "{body}");
    }
    let (status, body) = api_json(
        bearer(&http, Method::GET, app.url("/api/v1/event"), &id, &secret)
            .header("EventId", "evt_0000000000000000")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body), (404, json!({"error": "Invalid event"})));

    let patch = |body: &'static str| {
        bearer(&http, Method::PATCH, app.url("/api/v1/event"), &id, &secret)
            .header("EventId", &events[0])
            .header("Content-Type", "application/json")
            .body(body)
    };
    for (body, message) in [
        ("{not json", "not a valid event update"),
        (r#"{"colour": "red"}"#, "unknown field"),
        ("{}", "at least one of"),
        (r#"{"name": ""}"#, "Enter the event's name."),
        (r#"{"status": "sold out"}"#, "draft, published or cancelled"),
        (r#"{"time_zone": "Mars/Olympus"}"#, "not a time zone"),
        (r#"{"starts_at": "tomorrow"}"#, "RFC 3339"),
    ] {
        let (status, res) = api_json(patch(body).send().await.unwrap()).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            res["error"].as_str().unwrap().contains(message),
            "{body}: {res}"
        );
    }

    // Cursor pagination over 25 events, 10 at a time.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for page_no in 0..5 {
        let mut path = format!("/api/v1/organizations/{}/events?limit=10", f.org);
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = api_json(
            bearer(&http, Method::GET, app.url(&path), &id, &secret)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        for e in page["data"].as_array().unwrap() {
            seen.push(e["id"].as_str().unwrap().to_string());
        }
        assert_eq!(page["has_more"], json!(page_no < 2));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, events, "every event once, in start order");
    for (query, message) in [
        ("limit=0", "limit must be"),
        ("limit=101", "limit must be"),
        ("limit=ten", "limit must be"),
        ("cursor=%%%", "cursor"),
        ("cursor=bm9wZQ", "cursor"),
    ] {
        let path = format!("/api/v1/organizations/{}/events?{query}", f.org);
        let (status, body) = api_json(
            bearer(&http, Method::GET, app.url(&path), &id, &secret)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{query}");
        assert!(body["error"].as_str().unwrap().contains(message), "{query}");
    }

    // Unknown paths and methods answer JSON too.
    let (status, body) = api_json(
        bearer(&http, Method::GET, app.url("/api/v1/tickets"), &id, &secret)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body), (404, json!({"error": "Not found"})));
    // A path that names no endpoint is 404 for anyone, with or without credentials.
    for path in ["/api/nothing", "/api/v1/tickets", "/api/v1/me/", "/api"] {
        let (status, body) = api_json(http.get(app.url(path)).send().await.unwrap()).await;
        assert_eq!(
            (status, body),
            (404, json!({"error": "Not found"})),
            "{path}"
        );
    }
    // A known endpoint without credentials is 401, whatever the method.
    let (status, _) = api_json(http.patch(app.url("/api/v1/me")).send().await.unwrap()).await;
    assert_eq!(status, 401);
    let res = bearer(&http, Method::POST, app.url("/api/v1/me"), &id, &secret)
        .send()
        .await
        .unwrap();
    let allow: Vec<_> = res.headers().get_all("allow").iter().collect();
    assert_eq!(allow, vec!["GET"]);
    let (status, body) = api_json(res).await;
    assert_eq!(
        (status, body),
        (405, json!({"error": "Method not allowed"}))
    );
}

async fn rate_limits_count_down_and_refuse_with_headers(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("PORTAL_API_RATE_LIMIT", "5"),
            ("PORTAL_API_UNAUTHENTICATED_LIMIT", "3"),
        ],
    )
    .await;
    let f = app.api_fixture(&["events_read"]).await;
    let other = app.approved_developer("eve@other.example", "Other").await;
    let http = client().0;
    let me = |id: &str, secret: &str| bearer(&http, Method::GET, app.url("/api/v1/me"), id, secret);

    let mut remaining = Vec::new();
    for _ in 0..5 {
        let res = me(&f.dev.api_id, &f.dev.secret).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-ratelimit-limit"], "5");
        remaining.push(
            res.headers()["x-ratelimit-remaining"]
                .to_str()
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    assert_eq!(remaining, vec![4, 3, 2, 1, 0]);
    let res = me(&f.dev.api_id, &f.dev.secret).send().await.unwrap();
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let reset: u64 = res.headers()["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&retry), "one request per 12 s: {retry}");
    let (status, body) = api_json(res).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"], json!("Rate limit exceeded"));
    assert_eq!(body["limit"], json!(5));
    assert_eq!(body["remaining"], json!(0));
    assert_eq!(body["resetTime"], json!(reset));
    let now = chrono::Utc::now().timestamp() as u64;
    assert!(reset > now && reset <= now + 61, "{reset} vs {now}");

    // Another account has its own allowance.
    let res = me(&other.api_id, &other.secret).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-ratelimit-remaining"], "4");

    // Paths that need no credentials (the OpenAPI document, unknown paths) are limited per
    // address in a bucket of their own: the fourth fetch is refused, with the headers...
    let mut statuses = Vec::new();
    for path in [
        "/api/v1/openapi.json",
        "/api/v1/openapi.json",
        "/api/v2/nothing",
        "/api/v1/openapi.json",
    ] {
        let res = http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.headers()["x-ratelimit-limit"], "3", "{path}");
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 404, 429]);
    // ...but that costs nothing from the failed-authentication allowance, so a valid key that
    // is not cached yet still gets through (and the failures below still get three tries).
    let third = app.approved_developer("zed@third.example", "Third").await;
    assert_eq!(status_of(me(&third.api_id, &third.secret)).await, 200);

    // Failed authentication is limited per client address (valid keys cost nothing): three
    // failures are answered, the fourth is refused, before any lookup. A cached good key is
    // not affected.
    let fake = concat_portal::domain::ApiSecret::generate();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(status_of(me(&f.dev.api_id, fake.expose())).await);
    }
    assert_eq!(statuses, vec![401, 401, 401, 429]);
    assert_eq!(status_of(me(&other.api_id, &other.secret)).await, 200);

    // A ConCat admin raises Ticketly's own limit: in effect at once.
    let admin = app.admin().await;
    let res = app
        .post_form_with(
            &admin,
            &format!("/admin/api/accounts/{}/limit", f.dev.account_id),
            &[("limit", "50")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = me(&f.dev.api_id, &f.dev.secret).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-ratelimit-limit"], "50");
    assert!(app
        .audit_actions()
        .await
        .contains(&"account.rate_limit_changed".to_string()));
}

async fn usage_is_counted_exactly_and_flushed_in_batches(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read"]).await;
    let (id, secret) = (f.dev.api_id.clone(), f.dev.secret.clone());
    let http = client().0;
    let events = app.seed_events(&f.org, 2).await;
    let org_internal = {
        use concat_portal::db::models::organizations;
        let org = f.org.clone();
        db::run(&app.pool, move |c| {
            Ok(organizations::find_by_public_id(c, &org)?)
        })
        .await
        .unwrap()
        .unwrap()
        .id
    };
    assert!(app.usage_rows().await.is_empty());

    for _ in 0..3 {
        let res = bearer(&http, Method::GET, app.url("/api/v1/me"), &id, &secret)
            .header("EventId", &events[1])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    for _ in 0..2 {
        let res = bearer(&http, Method::GET, app.url("/api/v1/event"), &id, &secret)
            .header("EventId", &events[0])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    // The EventId header is recorded on every request, also where the endpoint does not
    // need it...
    let path = format!("/api/v1/organizations/{}/events", f.org);
    assert_eq!(
        bearer(&http, Method::GET, app.url(&path), &id, &secret)
            .header("EventId", &events[0])
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // ...but not on failed ones, even for a real API ID: those are unverified attempts, kept
    // apart with only their endpoint and status...
    let wrong = concat_portal::domain::ApiSecret::generate();
    for _ in 0..2 {
        let res = bearer(
            &http,
            Method::GET,
            app.url("/api/v1/me"),
            &id,
            wrong.expose(),
        )
        .header("EventId", &events[1])
        .send()
        .await
        .unwrap();
        assert_eq!(res.status(), 401);
    }
    // ...nor without an API ID, nor when it names no event this integration may see.
    assert_eq!(
        http.get(app.url("/api/v1/me"))
            .header("EventId", &events[1])
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        bearer(&http, Method::GET, app.url("/api/v1/me"), &id, &secret)
            .header("EventId", "evt_0000000000000000")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        bearer(&http, Method::GET, app.url("/api/v1/event"), &id, &secret)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    // Refused for scope: counted under the organization. Another tenant's event: 404, and
    // its id is not kept.
    let res = bearer(&http, Method::PATCH, app.url("/api/v1/event"), &id, &secret)
        .header("EventId", &events[0])
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let (other_org, _) = app.org_with_admin("Bobs Fairs", "bob@fairs.example").await;
    let foreign = app.seed_events(&other_org, 1).await;
    let res = bearer(&http, Method::GET, app.url("/api/v1/event"), &id, &secret)
        .header("EventId", &foreign[0])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // A made-up API ID is not kept either, nor the event sent with it.
    http.get(app.url("/api/v1/me"))
        .header(
            "Authorization",
            "Bearer cc_id_000000000000000000000000:nope",
        )
        .header("EventId", &events[1])
        .send()
        .await
        .unwrap();
    assert_eq!(app.api.usage.pending_requests(), 14);
    assert!(app.usage_rows().await.is_empty(), "nothing written yet");

    let flushed = app.flush_usage().await;
    assert_eq!(flushed.requests, 14);
    let key = |api: &str, org: &str, evt: &str, endpoint: &str, status: i32| {
        (
            api.to_string(),
            org.to_string(),
            evt.to_string(),
            endpoint.to_string(),
            status,
        )
    };
    let expected = std::collections::HashMap::from([
        (key(&id, "", &events[1], "GET /api/v1/me", 200), 3),
        (key(&id, "", "", "GET /api/v1/me", 200), 1),
        (
            key(&id, &org_internal, &events[0], "GET /api/v1/event", 200),
            2,
        ),
        (
            key(
                &id,
                &org_internal,
                &events[0],
                "GET /api/v1/organizations/{org_id}/events",
                200,
            ),
            1,
        ),
        (key("", "", "", "GET /api/v1/me", 401), 2),
        (key(&id, "", "", "GET /api/v1/event", 400), 1),
        (
            key(&id, &org_internal, &events[0], "PATCH /api/v1/event", 403),
            1,
        ),
        (key(&id, "", "", "GET /api/v1/event", 404), 1),
    ]);
    assert_eq!(app.usage_rows().await, expected);
    assert_eq!(
        app.unverified_rows().await,
        std::collections::HashMap::from([((id.clone(), "GET /api/v1/me".to_string(), 401), 2)])
    );

    // A second batch adds to the same counters.
    bearer(&http, Method::GET, app.url("/api/v1/me"), &id, &secret)
        .header("EventId", &events[1])
        .send()
        .await
        .unwrap();
    app.flush_usage().await;
    assert_eq!(
        app.usage_rows().await[&key(&id, "", &events[1], "GET /api/v1/me", 200)],
        4
    );

    // Last-used times: secret, integration and the authorization used.
    use concat_portal::db::schema::{api_secrets, authorizations, integrations};
    use diesel::prelude::*;
    let (iid, auth) = (f.dev.integration_id.clone(), f.auth_id.clone());
    let (s, i, a) = db::run(&app.pool, move |c| {
        let s: Option<chrono::NaiveDateTime> = api_secrets::table
            .filter(api_secrets::integration_id.eq(&iid))
            .select(api_secrets::last_used_at)
            .first(c)?;
        let i: Option<chrono::NaiveDateTime> = integrations::table
            .find(&iid)
            .select(integrations::last_used_at)
            .first(c)?;
        let a: Option<chrono::NaiveDateTime> = authorizations::table
            .find(&auth)
            .select(authorizations::last_used_at)
            .first(c)?;
        Ok((s, i, a))
    })
    .await
    .unwrap();
    // PostgreSQL keeps microseconds.
    let micros = |t: Option<chrono::NaiveDateTime>| t.map(|t| t.and_utc().timestamp_micros());
    let now = micros(Some(app.clock.now_naive()));
    assert_eq!((micros(s), micros(i), micros(a)), (now, now, now));
}

async fn shutdown_writes_the_usage_still_in_memory(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read"]).await;
    let http = client().0;
    for _ in 0..4 {
        bearer(
            &http,
            Method::GET,
            app.url("/api/v1/organizations"),
            &f.dev.api_id,
            &f.dev.secret,
        )
        .send()
        .await
        .unwrap();
    }
    assert!(app.usage_rows().await.is_empty());
    app.shutdown().await;
    let rows = app.usage_rows().await;
    assert_eq!(
        rows.get(&(
            f.dev.api_id.clone(),
            String::new(),
            String::new(),
            "GET /api/v1/organizations".into(),
            200
        )),
        Some(&4)
    );
}

async fn another_process_revoking_takes_effect_within_the_cache_ttl(backend: Backend) {
    let app = spawn_app_with(backend, &[("PORTAL_API_CACHE_TTL_MS", "1000")]).await;
    let f = app.api_fixture(&["events_read"]).await;
    // A second instance on the same database, as with two servers or `jobs run` from cron.
    let second = spawn_app_on(app.db.clone(), &[("PORTAL_API_CACHE_TTL_MS", "1000")], None).await;
    let http = client().0;
    let get = || {
        bearer(
            &http,
            Method::GET,
            second.url(&format!("/api/v1/organizations/{}/events", f.org)),
            &f.dev.api_id,
            &f.dev.secret,
        )
    };
    assert_eq!(
        get().send().await.unwrap().status(),
        200,
        "cached in the second"
    );
    let page = format!("/org/{}/integrations/{}/revoke", f.org, f.auth_id);
    assert_eq!(app.post_form_with(&f.olga, &page, &[]).await.status(), 303);
    app.one_email_to("dana@ticketly.example").await;
    let started = std::time::Instant::now();
    let mut status = 200;
    for _ in 0..40 {
        status = get().send().await.unwrap().status().as_u16();
        if status == 403 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 403, "refused by the other instance");
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
}

async fn the_openapi_document_matches_the_implementation(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read", "events_write"]).await;
    let events = app.seed_events(&f.org, 2).await;
    let http = client().0;
    let (status, doc) = api_json(
        http.get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let text = doc.to_string();
    oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
    // Where the API is, and that the document itself needs no credentials.
    assert_eq!(doc["servers"][0]["url"], json!("/"));
    assert_eq!(
        doc["paths"]["/api/v1/openapi.json"]["get"]["security"],
        json!([])
    );
    // The constraints the server enforces are stated.
    let patch = &doc["components"]["schemas"]["EventPatch"];
    assert_eq!(patch["minProperties"], json!(1));
    assert_eq!(patch["additionalProperties"], json!(false));
    for field in [
        "name",
        "venue",
        "starts_at",
        "ends_at",
        "time_zone",
        "status",
    ] {
        assert_eq!(
            patch["properties"][field]["type"],
            json!("string"),
            "{field}: not null"
        );
    }
    assert_eq!(
        patch["properties"]["starts_at"]["format"],
        json!("date-time")
    );
    assert_eq!(
        patch["properties"]["status"]["enum"],
        json!(["draft", "published", "cancelled"])
    );
    let zones = patch["properties"]["time_zone"]["enum"].as_array().unwrap();
    assert!(zones.contains(&json!("Europe/Berlin")) && zones.len() > 400);
    let patch_op = &doc["paths"]["/api/v1/event"]["patch"];
    assert_eq!(
        patch_op["requestBody"]["content"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["application/json"]
    );
    for status in ["400", "409", "415"] {
        assert!(patch_op["responses"][status].is_object(), "PATCH {status}");
    }

    let mut listed: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            listed.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    listed.sort();
    assert_eq!(
        listed,
        vec![
            "GET /api/v1/event",
            "GET /api/v1/me",
            "GET /api/v1/openapi.json",
            "GET /api/v1/organizations",
            "GET /api/v1/organizations/{org_id}/events",
            "PATCH /api/v1/event",
        ]
    );

    // Every operation declares what the gate adds: the rate-limit headers on every response,
    // a 429 with Retry-After, WWW-Authenticate on a 401; and the EventId header.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("429"), "{method} {path}: 429");
            for (status, response) in responses {
                let headers = response["headers"].as_object().cloned().unwrap_or_default();
                let mut want = vec![
                    "X-RateLimit-Limit",
                    "X-RateLimit-Remaining",
                    "X-RateLimit-Reset",
                ];
                match status.as_str() {
                    "429" => want.push("Retry-After"),
                    "401" => want.push("WWW-Authenticate"),
                    _ => {}
                }
                for h in want {
                    assert!(headers.contains_key(h), "{method} {path} {status}: {h}");
                }
            }
            if path != "/api/v1/openapi.json" {
                assert!(responses.contains_key("401"), "{method} {path}: 401");
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == json!("EventId") && p["in"] == json!("header")),
                    "{method} {path}: EventId"
                );
            }
        }
    }

    // Real responses validate against the schemas the document gives for them.
    let schema_for = |name: &str| {
        let mut root = doc.clone();
        root["$ref"] = json!(format!("#/components/schemas/{name}"));
        jsonschema::validator_for(&root).expect("a schema")
    };
    let (id, secret) = (&f.dev.api_id, &f.dev.secret);
    let calls: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "Me",
            bearer(&http, Method::GET, app.url("/api/v1/me"), id, secret),
        ),
        (
            "OrganizationList",
            bearer(
                &http,
                Method::GET,
                app.url("/api/v1/organizations"),
                id,
                secret,
            ),
        ),
        (
            "EventPage",
            bearer(
                &http,
                Method::GET,
                app.url(&format!("/api/v1/organizations/{}/events?limit=1", f.org)),
                id,
                secret,
            ),
        ),
        (
            "ApiEvent",
            bearer(&http, Method::GET, app.url("/api/v1/event"), id, secret)
                .header("EventId", &events[0]),
        ),
        (
            "ApiEvent",
            bearer(&http, Method::PATCH, app.url("/api/v1/event"), id, secret)
                .header("EventId", &events[0])
                .json(&json!({"venue": "Dock 5"})),
        ),
        ("ErrorBody", http.get(app.url("/api/v1/me"))),
    ];
    for (schema, req) in calls {
        let (status, body) = api_json(req.send().await.unwrap()).await;
        let v = schema_for(schema);
        let errors: Vec<String> = v.iter_errors(&body).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{schema} ({status}): {errors:?} in {body}"
        );
    }
    // The schemas are strict enough to notice a wrong shape.
    assert!(!schema_for("Me").is_valid(&json!({"api_id": 5})));

    // The portal renders the reference and the guide from the same document.
    let docs = app.get("/docs/api").await.text().await.unwrap();
    for shown in [
        "/api/v1/organizations/{org_id}/events",
        "Authorization: Bearer",
        "EventId",
        "X-RateLimit-Remaining",
        "30 days",
        "Insufficient scope",
    ] {
        assert!(unescaped(&docs).contains(shown), "docs page shows {shown}");
    }
}

async fn curl_written_from_the_docs_works(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read"]).await;
    let (id, secret) = (f.dev.api_id.clone(), f.dev.secret.clone());
    let port = app.port;
    let events_url = format!(
        "http://127.0.0.1:{port}/api/v1/organizations/{}/events",
        f.org
    );
    let basic_url = format!("http://{id}:{secret}@127.0.0.1:{port}/api/v1/me");
    let outputs = tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            let out = std::process::Command::new("curl")
                .args(["-sS", "--max-time", "10", "-w", "\n%{http_code}"])
                .args(args)
                .output()
                .expect("curl runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let auth = format!("Authorization: Bearer {id}:{secret}");
        (run(&["-H", &auth, &events_url]), run(&[&basic_url]))
    })
    .await
    .unwrap();
    for out in [&outputs.0, &outputs.1] {
        let (body, code) = out.rsplit_once('\n').unwrap();
        assert_eq!(code, "200", "{body}");
        serde_json::from_str::<serde_json::Value>(body).expect("JSON");
    }
    assert!(outputs.0.contains("\"data\""));
    assert!(outputs.1.contains(&f.dev.api_id));
}

async fn usage_pages_chart_the_last_30_days_for_developers_and_admins(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read"]).await;
    let http = client().0;
    let events_path = format!("/api/v1/organizations/{}/events", f.org);
    for _ in 0..3 {
        bearer(
            &http,
            Method::GET,
            app.url(&events_path),
            &f.dev.api_id,
            &f.dev.secret,
        )
        .send()
        .await
        .unwrap();
    }
    let wrong = concat_portal::domain::ApiSecret::generate();
    bearer(
        &http,
        Method::GET,
        app.url("/api/v1/me"),
        &f.dev.api_id,
        wrong.expose(),
    )
    .send()
    .await
    .unwrap();
    http.get(app.url("/api/v1/me"))
        .header(
            "Authorization",
            "Bearer cc_id_000000000000000000000000:nope",
        )
        .send()
        .await
        .unwrap();
    app.flush_usage().await;

    let page = format!("/developer/integrations/{}/usage", f.dev.integration_id);
    app.login_with(&f.dev.client, "dana@ticketly.example", PASSWORD)
        .await;
    let html = app
        .get_with(&f.dev.client, &page)
        .await
        .text()
        .await
        .unwrap();
    let today = app.clock_date();
    assert!(html.contains("<svg role=\"img\""), "server-rendered SVG");
    assert!(
        !html.contains("query-key-use"),
        "no `_apikey` use to warn about"
    );
    assert!(html.contains("<rect x="), "bars drawn on the server");
    assert!(html.contains(&format!("{today} · 2xx: 3")), "{html}");
    assert!(html.contains(&format!("{today} · Acme Events: 3")));
    // Each chart has a title and its numbers as a table; the organization's colour is none of
    // the status classes'.
    assert!(html.contains("<strong>Requests per day by status</strong>"));
    assert!(html.contains("<summary>Requests per day by organization: the numbers</summary>"));
    assert!(
        html.contains(&format!(
            "<tr><th scope=\"row\">{today}</th><td>3</td><td>0</td><td>0</td><td>3</td></tr>"
        )),
        "the status chart's row for today: 2xx, 4xx, 5xx, total"
    );
    let colour_of = |name: &str| {
        let at = html.find(&format!("{today} · {name}: 3")).unwrap();
        let rect = html[..at].rfind("fill=\"").unwrap() + 6;
        html[rect..rect + 7].to_string()
    };
    assert_ne!(colour_of("Acme Events"), colour_of("2xx"));
    // The attempt with a wrong secret is not the integration's: shown apart, unverified.
    assert!(!html.contains(&format!("{today} · 4xx")));
    assert!(
        html.contains(&format!(
            "<tr><td>{today}</td><td>3</td><td>3</td><td>0</td><td>0</td></tr>"
        )),
        "table row"
    );
    assert!(html.contains("<strong id=\"unverified-total\">1</strong>"));
    assert!(html.contains(&format!("<tr><td>{today}</td><td>1</td></tr>")));

    // Another developer cannot see it.
    let eve = app.approved_developer("eve@other.example", "Other").await;
    assert_eq!(app.get_with(&eve.client, &page).await.status(), 404);

    let admin = app.admin().await;
    let (overview, row) = admin_api_row(&app, &admin, &f.dev.api_id).await;
    assert!(
        row.contains("<td>3</td><td>0.0 %</td><td>0</td><td>0</td>"),
        "{row}"
    );
    let unverified = &overview[overview.find("id=\"unverified\"").unwrap()..];
    assert!(
        unverified.contains(&format!(
            "<code>{}</code></td><td>1</td><td>0</td>",
            f.dev.api_id
        )),
        "{unverified}"
    );
    assert!(overview.contains("<strong id=\"unrecognised-failed\">1</strong>"));
    // Not for non-admins.
    assert_ne!(
        app.get_with(&f.dev.client, "/admin/api").await.status(),
        200
    );
    // A bad limit is refused with a message, and changes nothing.
    let res = app
        .post_form_with(
            &admin,
            &format!("/admin/api/accounts/{}/limit", f.dev.account_id),
            &[("limit", "lots")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let again = app
        .get_with(&admin, "/admin/api")
        .await
        .text()
        .await
        .unwrap();
    assert!(unescaped(&again).contains("\"lots\" is not a limit"));
    assert!(!app
        .audit_actions()
        .await
        .contains(&"account.rate_limit_changed".to_string()));
}

async fn event_lists_are_fresh_after_portal_and_api_edits(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read", "events_write"]).await;
    let events = app.seed_events(&f.org, 2).await;
    let http = client().0;
    let (id, secret) = (f.dev.api_id.clone(), f.dev.secret.clone());
    let list = || async {
        let path = format!("/api/v1/organizations/{}/events", f.org);
        let (status, page) = api_json(
            bearer(&http, Method::GET, app.url(&path), &id, &secret)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        page
    };
    let t = std::time::Instant::now();
    assert_eq!(list().await["data"][0]["name"], json!("Event 0"));
    // Olga renames it in the portal: the next API list shows it (the cached page is dropped).
    let edit = format!("/org/{}/events/{}/edit", f.org, events[0]);
    let res = app
        .post_form_with(
            &f.olga,
            &edit,
            &[
                ("name", "Opening Night"),
                ("time_zone", "Europe/Berlin"),
                ("starts", "2027-01-01T19:00"),
                ("ends", "2027-01-01T23:00"),
                ("venue", "Hall"),
                ("status", "published"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(list().await["data"][0]["name"], json!("Opening Night"));
    // A PATCH through the API, the same.
    bearer(&http, Method::PATCH, app.url("/api/v1/event"), &id, &secret)
        .header("EventId", &events[1])
        .json(&json!({"venue": "Roof"}))
        .send()
        .await
        .unwrap();
    assert_eq!(list().await["data"][1]["venue"], json!("Roof"));
    // A new event created in the portal appears too.
    let res = app
        .post_form_with(
            &f.olga,
            &format!("/org/{}/events/new", f.org),
            &[
                ("name", "Late Show"),
                ("time_zone", "Europe/Berlin"),
                ("starts", "2027-03-01T19:00"),
                ("ends", "2027-03-01T23:00"),
                ("venue", "Hall"),
                ("status", "published"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(list().await["data"][2]["name"], json!("Late Show"));
    assert!(
        t.elapsed() < std::time::Duration::from_secs(4),
        "within the cache TTL, so only invalidation explains the fresh pages"
    );
}

/// Anyone who knows an API ID (organizations are told them) can send it with a made-up secret
/// that has a valid checksum. Such requests are unverified attempts: they never count as the
/// integration's requests or `_apikey` use, and never make its usage page warn; they are shown
/// apart, labelled unverified, to the developer and to ConCat admins.
async fn unverified_attempts_never_count_as_the_integrations_requests(backend: Backend) {
    let app = spawn_app_with(backend, &[("PORTAL_API_ALLOW_QUERY_KEY", "true")]).await;
    let f = app.api_fixture(&["events_read"]).await;
    let victim = f.dev.api_id.clone();
    let http = client().0;
    let made_up = concat_portal::domain::ApiSecret::generate();
    for _ in 0..3 {
        let path = format!("/api/v1/me?_apikey={victim}:{}", made_up.expose());
        assert_eq!(status_of(http.get(app.url(&path))).await, 401);
    }
    app.flush_usage().await;
    let rows = app.usage_rows().await;
    assert!(
        rows.keys().all(|(api_id, ..)| *api_id != victim),
        "not the victim's requests: {rows:?}"
    );
    assert!(
        !app.query_key_rows()
            .await
            .contains_key(&(victim.clone(), 401)),
        "not the victim's `_apikey` use"
    );

    app.login_with(&f.dev.client, "dana@ticketly.example", PASSWORD)
        .await;
    let page = format!("/developer/integrations/{}/usage", f.dev.integration_id);
    let html = app
        .get_with(&f.dev.client, &page)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("query-key-use"),
        "no warning to roll: {html}"
    );
    assert!(html.contains("No requests in the last 30 days."), "{html}");
    assert!(
        html.contains("<strong id=\"unverified-total\">3</strong>"),
        "shown as unverified attempts: {html}"
    );
    let admin = app.admin().await;
    let overview = app
        .get_with(&admin, "/admin/api")
        .await
        .text()
        .await
        .unwrap();
    let unverified = &overview[overview.find("id=\"unverified\"").expect("a section")..];
    let row_at = unverified.find(&victim).expect("the attempts are listed");
    let row = &unverified[row_at..row_at + unverified[row_at..].find("</tr>").unwrap()];
    assert!(row.ends_with("</code></td><td>3</td><td>3</td>"), "{row}");
    let top = &overview[..overview.find("id=\"unverified\"").unwrap()];
    assert!(
        !top.contains(&victim),
        "not among the integration's figures"
    );

    // The integration's own `_apikey` request still counts, and warns.
    let path = format!("/api/v1/me?_apikey={victim}:{}", f.dev.secret);
    assert_eq!(status_of(http.get(app.url(&path))).await, 200);
    app.flush_usage().await;
    assert_eq!(
        app.query_key_rows().await.get(&(victim.clone(), 200)),
        Some(&(1, 1))
    );
    let html = app
        .get_with(&f.dev.client, &page)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("id=\"query-key-use\">1 of these requests"),
        "{html}"
    );
}

/// What `PATCH /event` and the events list accept is exactly what the OpenAPI document states:
/// only `application/json` (else 415), only an object with at least one field and no `null`
/// (else 400), values within their schemas; the limit's bounds, the cursor's and the EventId's
/// patterns. A change that would end the event before it starts is a 409.
async fn the_api_enforces_exactly_what_its_document_states(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read", "events_write"]).await;
    let (id, secret) = (f.dev.api_id.clone(), f.dev.secret.clone());
    let http = client().0;
    let events = app.seed_events(&f.org, 3).await;
    let (_, doc) = api_json(
        http.get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let patch_schema = {
        let mut root = doc.clone();
        root["$ref"] = json!("#/components/schemas/EventPatch");
        jsonschema::options()
            .should_validate_formats(true)
            .build(&root)
            .expect("a schema")
    };
    let patch = |content_type: Option<&str>, body: &str| {
        let mut req = bearer(&http, Method::PATCH, app.url("/api/v1/event"), &id, &secret)
            .header("EventId", &events[0])
            .body(body.to_string());
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        req
    };
    let get_event = || async {
        api_json(
            bearer(&http, Method::GET, app.url("/api/v1/event"), &id, &secret)
                .header("EventId", &events[0])
                .send()
                .await
                .unwrap(),
        )
        .await
        .1
    };
    let before = get_event().await;

    // Only application/json: 415 with a JSON error otherwise, and nothing changes.
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
        None,
    ] {
        let (status, body) =
            api_json(patch(ct, r#"{"name": "Sneaky"}"#).send().await.unwrap()).await;
        assert_eq!(status, 415, "{ct:?}");
        assert!(
            body["error"].as_str().unwrap().contains("application/json"),
            "{body}"
        );
    }
    let (status, body) = api_json(patch(Some("name=Sneaky"), "").send().await.unwrap()).await;
    assert_eq!((status, body["error"].is_string()), (415, true));

    // Only an object with at least one known, non-null field within its schema: each refused
    // body is also refused by the document's schema.
    let refused = [
        (
            r#"["Array Name", null, null, null, null, null]"#,
            "JSON object",
        ),
        ("{}", "at least one of"),
        (r#"{"name": null}"#, "name must not be null"),
        (
            r#"{"name": null, "venue": "Annex"}"#,
            "name must not be null",
        ),
        (r#"{"venue": null, "status": null}"#, "must not be null"),
        (r#"{"name": "\tTabbed"}"#, "control characters"),
        (r#"{"venue": "Hall\u0000"}"#, "control characters"),
        (r#"{"name": "\u3000"}"#, "Enter the event's name."),
        (r#"{"time_zone": " Europe/Berlin"}"#, "not a time zone"),
        (r#"{"status": "Draft"}"#, "draft, published or cancelled"),
        (r#"{"status": " draft"}"#, "draft, published or cancelled"),
        (r#"{"starts_at": "1969-12-31T23:00:00Z"}"#, "1970 and 2200"),
        (r#"{"ends_at": "2201-01-01T00:00:00Z"}"#, "1970 and 2200"),
        (r#"{"starts_at": " 2027-05-01T18:00:00Z"}"#, "RFC 3339"),
        (r#"{"name": 5}"#, "invalid type"),
    ];
    for (body, message) in refused {
        let value: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(!patch_schema.is_valid(&value), "the schema refuses {body}");
        let (status, res) =
            api_json(patch(Some("application/json"), body).send().await.unwrap()).await;
        assert_eq!(status, 400, "{body}: {res}");
        assert!(
            res["error"].as_str().unwrap().contains(message),
            "{body}: {res}"
        );
    }
    let long = "x".repeat(161);
    let body = json!({ "name": long }).to_string();
    assert!(!patch_schema.is_valid(&json!({ "name": long })));
    assert_eq!(status_of(patch(Some("application/json"), &body)).await, 400);
    assert_eq!(
        get_event().await,
        before,
        "nothing refused changed the event"
    );

    // Accepted: what the schema allows, with any parameters on the media type.
    let accepted = json!({
        "name": "y".repeat(160),
        "venue": "  ",
        "starts_at": "2200-12-31T10:00:00+02:00",
        "ends_at": "2200-12-31T23:00:00-01:00",
        "time_zone": "America/Argentina/Buenos_Aires",
        "status": "published"
    });
    assert!(patch_schema.is_valid(&accepted));
    let (status, updated) = api_json(
        patch(
            Some("application/json; charset=utf-8"),
            &accepted.to_string(),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["venue"], json!(""));
    assert_eq!(updated["ends_at"], json!("2201-01-01T00:00:00Z"));
    // Schema-valid, but it would end before it starts: 409, as documented.
    let early = json!({"ends_at": "2200-01-01T00:00:00Z"});
    assert!(patch_schema.is_valid(&early));
    let (status, res) = api_json(
        patch(Some("application/json"), &early.to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(res, json!({"error": "ends_at must be after starts_at"}));

    // EventId: exactly `evt_` and 16 letters or digits.
    for bad in [
        "evt_123456789012345",
        "evt_1234567890123456x",
        "EVT_1234567890123456",
    ] {
        let res = bearer(&http, Method::GET, app.url("/api/v1/event"), &id, &secret)
            .header("EventId", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }

    // limit 1 to 100; a cursor is any `<microseconds>.<event ID>`, and nothing else.
    let list = |query: &str| {
        bearer(
            &http,
            Method::GET,
            app.url(&format!("/api/v1/organizations/{}/events?{query}", f.org)),
            &id,
            &secret,
        )
    };
    for query in [
        "limit=0",
        "limit=101",
        "limit=%205",
        "limit=1.5",
        "cursor=",
        "cursor=abc",
    ] {
        let (status, body) = api_json(list(query).send().await.unwrap()).await;
        assert_eq!(status, 400, "{query}: {body}");
    }
    let (status, page) = api_json(list("limit=1").send().await.unwrap()).await;
    assert_eq!(status, 200);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let events_op = &doc["paths"]["/api/v1/organizations/{org_id}/events"]["get"];
    let param_schema = |name: &str| {
        events_op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == json!(name))
            .unwrap()["schema"]
            .clone()
    };
    let cursor_schema = jsonschema::validator_for(&param_schema("cursor")).unwrap();
    assert!(cursor_schema.is_valid(&json!(cursor)), "{cursor}");
    assert!(!cursor_schema.is_valid(&json!("")));
    assert_eq!(param_schema("limit")["minimum"], json!(1));
    assert_eq!(param_schema("limit")["maximum"], json!(100));
    let (status, next) = api_json(
        list(&format!("limit=100&cursor={cursor}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(next["data"].as_array().unwrap().len(), 2);
    for (cursor, count) in [
        ("0.evt_0000000000000000", 3),
        ("-1.evt_0000000000000000", 3),
        ("9999999999999999.evt_zzzzzzzzzzzzzzzz", 0),
    ] {
        assert!(cursor_schema.is_valid(&json!(cursor)));
        let (status, page) =
            api_json(list(&format!("cursor={cursor}")).send().await.unwrap()).await;
        assert_eq!(status, 200, "{cursor}: {page}");
        assert_eq!(page["data"].as_array().unwrap().len(), count, "{cursor}");
    }
}

/// Issue 12.1: with `PORTAL_API_ADDR` the API (and the health check) is also served from a
/// listener and workers of its own; pages are not served there, and the main listener keeps
/// serving both. Stopping the application stops both listeners.
async fn the_api_can_have_a_listener_of_its_own(backend: Backend) {
    let app = spawn_app_with(backend, &[("PORTAL_API_ADDR", "127.0.0.1:0")]).await;
    let api_port = app.api_port.expect("the API has its own port");
    assert_ne!(api_port, app.port);
    let f = app.api_fixture(&["events_read"]).await;
    let (id, secret) = (&f.dev.api_id, &f.dev.secret);
    let http = client().0;
    let own = |path: &str| format!("http://127.0.0.1:{api_port}{path}");

    let res = bearer(&http, Method::GET, own("/api/v1/me"), id, secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers().contains_key("content-security-policy"));
    let (status, me) = api_json(res).await;
    assert_eq!(status, 200);
    assert_eq!(me["api_id"], json!(id));
    let (status, _) = api_json(
        bearer(&http, Method::GET, own("/api/v1/me"), id, "wrong")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    let health = http.get(own("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    // Pages are not served on the API's listener: a JSON 404, no session cookie.
    for path in ["/login", "/", "/admin"] {
        let res = http.get(own(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        assert!(res.headers().get("set-cookie").is_none(), "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "Not found", "{path}");
    }
    let res = http
        .post(own("/login"))
        .form(&[("email", "a@b.example"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // The main listener still serves the API and the pages.
    let main = bearer(&http, Method::GET, app.url("/api/v1/me"), id, secret)
        .send()
        .await
        .unwrap();
    assert_eq!(main.status(), 200);
    assert_eq!(app.get("/login").await.status(), 200);

    // One stop ends both.
    app.shutdown().await;
    let refused = reqwest::Client::new()
        .get(own("/healthz"))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await;
    assert!(refused.is_err(), "the API listener is closed: {refused:?}");
}

both_backends!(
    the_api_can_have_a_listener_of_its_own,
    the_api_enforces_exactly_what_its_document_states,
    unverified_attempts_never_count_as_the_integrations_requests,
    event_lists_are_fresh_after_portal_and_api_edits,
    each_authentication_method_works,
    bad_credentials_are_401_json_without_a_500,
    organizations_and_scopes_are_enforced_and_revocation_is_immediate,
    event_requests_are_validated,
    rate_limits_count_down_and_refuse_with_headers,
    usage_is_counted_exactly_and_flushed_in_batches,
    shutdown_writes_the_usage_still_in_memory,
    another_process_revoking_takes_effect_within_the_cache_ttl,
    the_openapi_document_matches_the_implementation,
    curl_written_from_the_docs_works,
    usage_pages_chart_the_last_30_days_for_developers_and_admins,
);
