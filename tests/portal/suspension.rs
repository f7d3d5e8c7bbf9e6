//! Suspending developer accounts: ConCat admins suspend and reinstate an account (reason,
//! emails to the owners, audit), the API refuses its integrations at once with 403 "Account
//! suspended", the developer's pages say so and refuse new secrets, and suspending a user who
//! is an account's last active owner offers to suspend the account too.

use base64::Engine as _;
use concat_portal::db;
use reqwest::Method;
use serde_json::json;

use crate::support::*;

const DEV: &str = "dana@ticketly.example";
const CO_OWNER: &str = "cory@ticketly.example";
const REASON: &str = "Scraping events of organizations that never authorized you.";

fn basic(api_id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{api_id}:{secret}"))
    )
}

/// `GET /api/v1/me` with Bearer and with Basic: both statuses and bodies.
async fn me_both_ways(app: &TestApp, d: &Developer) -> [(u16, serde_json::Value); 2] {
    let http = client().0;
    let bearer_res = bearer(
        &http,
        Method::GET,
        app.url("/api/v1/me"),
        &d.api_id,
        &d.secret,
    )
    .send()
    .await
    .unwrap();
    let basic_res = http
        .get(app.url("/api/v1/me"))
        .header("Authorization", basic(&d.api_id, &d.secret))
        .send()
        .await
        .unwrap();
    [api_json(bearer_res).await, api_json(basic_res).await]
}

async fn account_status(app: &TestApp, account_id: &str) -> String {
    use concat_portal::db::models::developer_accounts as accounts;
    let id = account_id.to_string();
    db::run(&app.pool, move |c| Ok(accounts::find(c, &id)?))
        .await
        .unwrap()
        .expect("the account")
        .status
        .to_string()
}

/// Makes `email` (a new user) a second owner of the account, as an accepted team invitation
/// would.
async fn add_owner(app: &TestApp, account_id: &str, email: &str, name: &str) {
    use concat_portal::clock::Clock;
    use concat_portal::db::models::developer_accounts::{self as accounts, MemberRole};
    let uid = app.create_user(email, name).await;
    let (id, now) = (account_id.to_string(), app.clock.now_naive());
    db::run(&app.pool, move |c| {
        Ok(accounts::add_member(c, &id, &uid, MemberRole::Owner, now)?)
    })
    .await
    .unwrap();
}

fn count(actions: &[String], action: &str) -> usize {
    actions.iter().filter(|a| *a == action).count()
}

async fn an_admin_suspends_and_reinstates_a_developer_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read"]).await;
    let d = &f.dev;
    add_owner(&app, &d.account_id, CO_OWNER, "Cory").await;
    // Another company's integration is not affected.
    let other = app.approved_developer("eve@globex.example", "Globex").await;
    let http = client().0;
    let events = app.url(&format!("/api/v1/organizations/{}/events", f.org));

    // Warm: both credentials cached in this process.
    for (status, _) in me_both_ways(&app, d).await {
        assert_eq!(status, 200);
    }
    let admin = app.admin().await;
    let overview = app
        .get_with(&admin, "/admin/api")
        .await
        .text()
        .await
        .unwrap();
    let suspend_path = format!("/admin/accounts/{}/suspend", d.account_id);
    assert!(overview.contains(&format!("href=\"{suspend_path}\"")));

    // The confirmation names the owners who will be told; the reason is required.
    let page = app.get_with(&admin, &suspend_path).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Suspend Ticketly") && page.contains(DEV) && page.contains(CO_OWNER));
    let before = app.audit_actions().await;
    for blank in ["", "   \n "] {
        let res = app
            .post_form_with(&admin, &suspend_path, &[("reason", blank)])
            .await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("field-error") && html.contains("Please write a few words."));
    }
    assert_eq!(app.audit_actions().await, before, "nothing recorded");
    assert_eq!(account_status(&app, &d.account_id).await, "active");
    assert!(app.deliver_emails().await.is_empty(), "nobody emailed");
    for (status, _) in me_both_ways(&app, d).await {
        assert_eq!(status, 200, "still working after a refused form");
    }

    let res = app
        .post_form_with(&admin, &suspend_path, &[("reason", REASON)])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin/api#accounts");
    let overview = app
        .get_with(&admin, "/admin/api")
        .await
        .text()
        .await
        .unwrap();
    assert!(overview.contains("Ticketly is suspended"), "the flash");
    assert!(overview.contains(&format!(
        "href=\"/admin/accounts/{}/reinstate\"",
        d.account_id
    )));

    // At once in this process, cached or not: 403 with the documented body, Bearer and Basic,
    // on every endpoint.
    for (status, body) in me_both_ways(&app, d).await {
        assert_eq!(status, 403);
        assert_eq!(body, json!({"error": "Account suspended"}));
    }
    for path in [
        app.url("/api/v1/organizations"),
        events.clone(),
        app.url("/api/v1/event"),
    ] {
        let (status, body) = api_json(
            bearer(&http, Method::GET, path.clone(), &d.api_id, &d.secret)
                .header("EventId", "evt_AAAAAAAAAAAAAAAA")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body),
            (403, json!({"error": "Account suspended"})),
            "{path}"
        );
    }
    // A wrong secret is still just a 401 (the suspension tells nothing to a guesser).
    assert!(!app.credentials_valid(&d.api_id, "cc_sk_wrong").await);
    assert!(app.credentials_valid(&other.api_id, &other.secret).await);

    // Each owner is told why.
    let mut sent = app.deliver_emails().await;
    sent.sort_by(|a, b| a.to.cmp(&b.to));
    assert_eq!(
        sent.iter()
            .map(|e| (e.to.as_str(), e.kind.as_str()))
            .collect::<Vec<_>>(),
        vec![(CO_OWNER, "account_suspended"), (DEV, "account_suspended")]
    );
    for e in &sent {
        assert!(e.text.contains(REASON) && e.subject.contains("Ticketly is suspended"));
        assert!(unescaped(&e.html).contains(REASON));
    }
    let actions = app.audit_actions().await;
    assert_eq!(count(&actions, "developer_account.suspended"), 1);

    // Suspending again changes nothing and says so.
    app.post_form_with(&admin, &suspend_path, &[("reason", REASON)])
        .await;
    let overview = app
        .get_with(&admin, "/admin/api")
        .await
        .text()
        .await
        .unwrap();
    assert!(overview.contains("already suspended"));
    assert!(app.deliver_emails().await.is_empty());

    // The developer sees it, and cannot create or roll secrets.
    let dashboard = app
        .get_with(&d.client, "/developer")
        .await
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains("This developer account is suspended by ConCat"));
    assert!(unescaped(&dashboard).contains(REASON));
    let page_path = format!("/developer/integrations/{}", d.integration_id);
    let integration = app
        .get_with(&d.client, &page_path)
        .await
        .text()
        .await
        .unwrap();
    assert!(integration.contains("Your developer account is suspended by ConCat."));
    for (path, fields) in [
        (
            format!("{page_path}/secrets/roll"),
            vec![("old_expires", "1h")],
        ),
        (format!("{page_path}/secrets"), vec![]),
    ] {
        let res = app.post_form_with(&d.client, &path, &fields).await;
        assert_eq!(res.status(), 303, "{path}");
        let after = app
            .get_with(&d.client, &page_path)
            .await
            .text()
            .await
            .unwrap();
        assert!(
            after.contains("no secret can be created or rolled until it is reinstated"),
            "{path}: the refusal is explained"
        );
    }
    let actions = app.audit_actions().await;
    assert_eq!(count(&actions, "secret.rolled"), 0);
    assert_eq!(
        count(&actions, "secret.created"),
        2,
        "only the two welcome links' secrets"
    );

    // Reinstating needs a reason too, then everything works again at once.
    let reinstate_path = format!("/admin/accounts/{}/reinstate", d.account_id);
    let page = app
        .get_with(&admin, &reinstate_path)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Reinstate Ticketly") && unescaped(&page).contains(REASON));
    let res = app
        .post_form_with(&admin, &reinstate_path, &[("reason", "")])
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(account_status(&app, &d.account_id).await, "suspended");
    let res = app
        .post_form_with(
            &admin,
            &reinstate_path,
            &[("reason", "Explained and fixed.")],
        )
        .await;
    assert_eq!(res.status(), 303);
    for (status, body) in me_both_ways(&app, d).await {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["api_id"], json!(d.api_id));
    }
    let (status, _) = api_json(
        bearer(&http, Method::GET, events, &d.api_id, &d.secret)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "the organization's grant is intact");
    let mut sent = app.deliver_emails().await;
    sent.sort_by(|a, b| a.to.cmp(&b.to));
    assert_eq!(
        sent.iter()
            .map(|e| (e.to.as_str(), e.kind.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (CO_OWNER, "account_reinstated"),
            (DEV, "account_reinstated")
        ]
    );
    assert!(sent.iter().all(|e| e.text.contains("Explained and fixed.")));
    assert_eq!(
        count(&app.audit_actions().await, "developer_account.reinstated"),
        1
    );
    let dashboard = app
        .get_with(&d.client, "/developer")
        .await
        .text()
        .await
        .unwrap();
    assert!(!dashboard.contains("suspended by ConCat"));
    let rolled = app
        .post_form_with(
            &d.client,
            &format!("{page_path}/secrets/roll"),
            &[("old_expires", "1h")],
        )
        .await;
    assert_eq!(rolled.status(), 200, "rolling works again");
    let new_secret = secret_in(&rolled.text().await.unwrap()).expect("the new secret");
    assert!(app.credentials_valid(&d.api_id, &new_secret).await);
}

async fn only_concat_admins_can_suspend_accounts(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read"]).await;
    let victim = &f.dev;
    let other = app.approved_developer("eve@globex.example", "Globex").await;
    let paths = [
        format!("/admin/accounts/{}/suspend", victim.account_id),
        format!("/admin/accounts/{}/reinstate", victim.account_id),
    ];
    let before = app.audit_actions().await;
    // The account's own owner, another company's developer, an organization's admin.
    for (who, client) in [
        ("the owner", &victim.client),
        ("another developer", &other.client),
        ("an org admin", &f.olga),
    ] {
        for path in &paths {
            let get = app.get_with(client, path).await.status();
            assert_eq!(get, 403, "{who}: GET {path}");
            let post = app
                .post_form_with(client, path, &[("reason", REASON)])
                .await
                .status();
            assert_eq!(post, 403, "{who}: POST {path}");
        }
    }
    // Anonymous: sent to sign in.
    let (anon, _) = client();
    let res = app.get_with(&anon, &paths[0]).await;
    assert_eq!(res.status(), 303);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));
    // Nothing changed.
    assert_eq!(account_status(&app, &victim.account_id).await, "active");
    assert!(app.credentials_valid(&victim.api_id, &victim.secret).await);
    assert_eq!(app.audit_actions().await, before);
    assert!(app.deliver_emails().await.is_empty());
    // An admin asking for an account that does not exist: 404.
    let admin = app.admin().await;
    assert_eq!(
        app.get_with(&admin, "/admin/accounts/no-such-account/suspend")
            .await
            .status(),
        404
    );
    assert_eq!(
        app.post_form_with(
            &admin,
            "/admin/accounts/no-such-account/suspend",
            &[("reason", REASON)]
        )
        .await
        .status(),
        404
    );
}

async fn suspending_the_last_owner_can_suspend_the_account_too(backend: Backend) {
    let app = spawn_app(backend).await;
    let d = app.approved_developer(DEV, "Ticketly").await;
    let uid = app.user_id(DEV).await;
    assert_eq!(me_both_ways(&app, &d).await[0].0, 200, "cached");
    let admin = app.admin().await;

    // The users table leads to a confirmation that offers the account.
    let users = app
        .get_with(&admin, "/admin/users")
        .await
        .text()
        .await
        .unwrap();
    let confirm = format!("/admin/users/{uid}/suspension");
    assert!(users.contains(&format!("href=\"{confirm}\"")));
    let page = app.get_with(&admin, &confirm).await.text().await.unwrap();
    assert!(page.contains("Also suspend the developer account Ticketly"));
    assert!(page.contains(&format!("value=\"{}\"", d.account_id)));

    // Ticked without a reason: 422 with the field's message, the box still ticked, nothing done.
    let path = format!("/admin/users/{uid}/suspend");
    let before = app.audit_actions().await;
    let res = app
        .post_form_with(
            &admin,
            &path,
            &[("also_suspend", d.account_id.as_str()), ("reason", " ")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("field-error") && html.contains("Give the reason"));
    assert!(html.contains(" checked"));
    assert_eq!(app.audit_actions().await, before);
    assert_eq!(
        app.get_with(&d.client, "/developer").await.status(),
        200,
        "the developer is still signed in"
    );

    // One of the ticked accounts is not the user's: refused, and nothing at all is suspended
    // (not even the user's own account, ticked first).
    let stranger = app
        .approved_developer("stranger@elsewhere.example", "Elsewhere")
        .await;
    app.deliver_emails().await;
    let before = app.audit_actions().await;
    let res = app
        .post_form_with(
            &admin,
            &path,
            &[
                ("also_suspend", d.account_id.as_str()),
                ("also_suspend", stranger.account_id.as_str()),
                ("reason", REASON),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(account_status(&app, &d.account_id).await, "active");
    assert_eq!(account_status(&app, &stranger.account_id).await, "active");
    assert_eq!(app.audit_actions().await, before);
    assert!(app.deliver_emails().await.is_empty(), "no suspension email");
    assert_eq!(me_both_ways(&app, &d).await[0].0, 200);

    // Ticked with a reason: both, in one go.
    let res = app
        .post_form_with(
            &admin,
            &path,
            &[("also_suspend", d.account_id.as_str()), ("reason", REASON)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let users = app
        .get_with(&admin, "/admin/users")
        .await
        .text()
        .await
        .unwrap();
    assert!(users.contains("The developer account Ticketly is suspended too"));
    assert_eq!(
        app.get_with(&d.client, "/developer").await.status(),
        303,
        "signed out"
    );
    assert_eq!(account_status(&app, &d.account_id).await, "suspended");
    for (status, body) in me_both_ways(&app, &d).await {
        assert_eq!((status, body), (403, json!({"error": "Account suspended"})));
    }
    let email = app.one_email_to(DEV).await;
    assert_eq!(email.kind, "account_suspended");
    assert!(email.text.contains(REASON));
    let actions = app.audit_actions().await;
    assert_eq!(count(&actions, "developer_account.suspended"), 1);
    assert_eq!(count(&actions, "user.suspended"), 1);

    // Reactivating the user leaves the account suspended: that is reinstated on its own.
    app.post_form_with(&admin, &format!("/admin/users/{uid}/reactivate"), &[])
        .await;
    assert_eq!(account_status(&app, &d.account_id).await, "suspended");
    assert_eq!(me_both_ways(&app, &d).await[1].0, 403);
}

async fn suspending_the_last_owner_without_the_box_suspends_only_the_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let d = app.approved_developer(DEV, "Ticketly").await;
    let uid = app.user_id(DEV).await;
    let admin = app.admin().await;
    // A user who owns no account is offered nothing.
    let bob = app.create_user("bob@example.test", "Bob").await;
    let page = app
        .get_with(&admin, &format!("/admin/users/{bob}/suspension"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Also suspend the developer account"));

    let res = app
        .post_form_with(
            &admin,
            &format!("/admin/users/{uid}/suspend"),
            &[("reason", "")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.get_with(&d.client, "/developer").await.status(),
        303,
        "signed out"
    );
    assert_eq!(account_status(&app, &d.account_id).await, "active");
    assert!(
        app.credentials_valid(&d.api_id, &d.secret).await,
        "only the user was suspended"
    );
    let actions = app.audit_actions().await;
    assert_eq!(count(&actions, "user.suspended"), 1);
    assert_eq!(count(&actions, "developer_account.suspended"), 0);
    assert!(app.deliver_emails().await.is_empty());
    // Now suspended, the user is no longer an active owner: the account can still be suspended
    // from its own page, and nobody active is left to email.
    let page = app
        .get_with(&admin, &format!("/admin/accounts/{}/suspend", d.account_id))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("no active owner to email"));
}

/// Another instance on the same database (which this process's invalidation does not reach)
/// refuses the suspended account within its cache's TTL, and serves it again after reinstating.
async fn another_instance_refuses_within_the_cache_ttl(backend: Backend) {
    let ttl = [("PORTAL_API_CACHE_TTL_MS", "1000")];
    let app = spawn_app_with(backend, &ttl).await;
    let d = app.approved_developer(DEV, "Ticketly").await;
    let second = spawn_app_on(app.db.clone(), &ttl, None).await;
    let http = client().0;
    let me = || {
        bearer(
            &http,
            Method::GET,
            second.url("/api/v1/me"),
            &d.api_id,
            &d.secret,
        )
    };
    assert_eq!(
        me().send().await.unwrap().status(),
        200,
        "cached in the second"
    );
    let admin = app.admin().await;
    for (change, reason, want) in [("suspend", REASON, 403), ("reinstate", "Resolved.", 200)] {
        let path = format!("/admin/accounts/{}/{change}", d.account_id);
        let res = app
            .post_form_with(&admin, &path, &[("reason", reason)])
            .await;
        assert_eq!(res.status(), 303);
        app.one_email_to(DEV).await;
        let started = std::time::Instant::now();
        let mut last = None;
        for _ in 0..40 {
            let (status, body) = api_json(me().send().await.unwrap()).await;
            if status == want {
                last = Some(body);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let body = last.unwrap_or_else(|| panic!("the second instance never answered {want}"));
        if want == 403 {
            assert_eq!(body, json!({"error": "Account suspended"}));
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(4));
    }
}

both_backends!(
    an_admin_suspends_and_reinstates_a_developer_account,
    another_instance_refuses_within_the_cache_ttl,
    only_concat_admins_can_suspend_accounts,
    suspending_the_last_owner_can_suspend_the_account_too,
    suspending_the_last_owner_without_the_box_suspends_only_the_user,
);
