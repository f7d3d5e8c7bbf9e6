//! Invitation-only access: the request form, the admin review, approval and the secret shown
//! once, rejection and questions, concurrency, rolling and revoking secrets.

use chrono::Duration;
use concat_portal::clock::Clock;
use concat_portal::db;
use concat_portal::db::models::api_secrets;
use concat_portal::domain::sha256_hex;

use crate::support::*;

const DEV: &str = "dana@ticketly.example";

async fn the_whole_path_shows_the_secret_exactly_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    app.create_admin("bob@concat.test", "Bob").await;
    let (dev, _) = client();

    let form = app
        .get_with(&dev, "/request-access")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("data-counter") && form.contains("maxlength=\"2000\""),
        "use case has a counter"
    );
    let res = app.request_access_with(&dev, DEV, &[]).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Check your inbox"));

    let mut emails = app.deliver_emails().await;
    emails.sort_by(|a, b| a.to.cmp(&b.to));
    let to: Vec<&str> = emails.iter().map(|e| e.to.as_str()).collect();
    assert_eq!(
        to,
        ["ada@concat.test", "bob@concat.test", DEV],
        "requester and every admin"
    );
    assert!(
        emails[2].subject.contains("We received your request")
            && emails[2].text.contains("Ticketly Sync")
    );
    let review = path_of(&find_link(&emails[0].text, "/admin/requests/"));
    assert!(emails[0]
        .subject
        .contains("New access request: Ticketly Sync (Ticketly Ltd)"));

    let detail = app.get_with(&admin, &review).await.text().await.unwrap();
    for shown in [
        "Dana Developer",
        "Ticketly Ltd",
        "https://ticketly.example/",
        DEV,
        "+44 20 7946 0000",
        "Ticketly Sync",
        "box-office",
        "Acme Events, Globex Conferences",
    ] {
        assert!(detail.contains(shown), "detail shows {shown}");
    }
    let res = app
        .post_form_with(&admin, &format!("{review}/approve"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert!(app
        .get_with(&admin, &review)
        .await
        .text()
        .await
        .unwrap()
        .contains("Approved. The developer has been emailed"));

    let approval = app.one_email_to(DEV).await;
    assert!(approval.subject.contains("is approved"));
    assert!(
        approval.text.contains("cc_id_")
            && !approval.text.contains("cc_sk_")
            && !approval.html.contains("cc_sk_")
    );
    let welcome = path_of(&find_link(&approval.text, "/welcome/"));
    let page = app.get_with(&dev, &welcome).await.text().await.unwrap();
    assert!(page.contains("Set a password"));

    let weak = app
        .post_form_with(
            &dev,
            &welcome,
            &[("password", "short"), ("confirm", "short")],
        )
        .await;
    assert_eq!(weak.status(), 422);
    let shown = app
        .post_form_with(
            &dev,
            &welcome,
            &[("password", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(shown.status(), 200);
    assert!(shown.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    let html = shown.text().await.unwrap();
    assert!(html.contains("you will not see this secret again"));
    let secret = secret_in(&html).unwrap();
    let api_id = api_id_in(&html);

    // Stored only as its SHA-256 digest, with a 10-character prefix.
    let (integration_id, _) = app.integration_of(&api_id).await;
    let now = app.clock.now_naive();
    let rows = db::run(&app.pool, move |c| {
        Ok(api_secrets::active(c, &integration_id, now)?)
    })
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].digest, sha256_hex(secret.as_bytes()));
    assert_eq!(rows[0].prefix, secret[..10]);
    assert!(app.credentials_valid(&api_id, &secret).await);

    // Reloading re-submits the used link: no secret, a clear page.
    let again = app
        .post_form_with(
            &dev,
            &welcome,
            &[("password", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(again.status(), 404);
    assert!(!again.text().await.unwrap().contains(&secret));
    // Later pages show the prefix only; the developer is signed in.
    let dashboard = app.get_with(&dev, "/developer").await.text().await.unwrap();
    assert!(dashboard.contains(&api_id) && dashboard.contains(&format!("{}…", &secret[..10])));
    assert!(!dashboard.contains(&secret));
    let (iid, _) = app.integration_of(&api_id).await;
    let detail = app
        .get_with(&dev, &format!("/developer/integrations/{iid}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!detail.contains(&secret));
    assert!(!app
        .get_with(&admin, "/admin/audit")
        .await
        .text()
        .await
        .unwrap()
        .contains(&secret));
    assert!(
        !captured_logs().contains(&secret),
        "the secret reached the logs"
    );

    let actions = app.audit_actions().await;
    for a in [
        "access_request.submitted",
        "access_request.approved",
        "integration.created",
        "secret.created",
    ] {
        assert!(actions.contains(&a.to_string()), "{a} audited");
    }
}

async fn each_bad_field_gets_its_own_message_and_input_is_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    let long_use_case = "x".repeat(2001);
    let long_customer = "c".repeat(121);
    let cases: Vec<(&str, &str, &str)> = vec![
        ("name", "", "Enter a name."),
        ("company", "  ", "Enter your company"),
        // "ticketly.example" is taken as https://ticketly.example (see forms.rs); a bare word
        // is no web address.
        ("website", "ticketly", "starting with http:// or https://"),
        (
            "website",
            "ftp://ticketly.example",
            "starting with http:// or https://",
        ),
        ("email", "dana@", "Enter a valid email address"),
        ("phone", "call me maybe", "Enter a phone number"),
        ("app_name", "", "Enter a name for your application."),
        (
            "use_case",
            &long_use_case,
            "Use at most 2000 characters (this has 2001).",
        ),
        (
            "customers",
            &long_customer,
            "at most 120 characters per customer",
        ),
    ];
    for (field, bad, message) in cases {
        let res = app
            .request_access_with(&app.client, DEV, &[(field, bad)])
            .await;
        assert_eq!(res.status(), 422, "{field}");
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{field}: {message}");
        assert_eq!(
            html.matches("class=\"field-error\"").count(),
            1,
            "{field}: only its own message"
        );
        for (other, value) in access_form(DEV, &[]) {
            if other != field {
                let kept = value.replace('\n', "&#10;");
                assert!(
                    html.contains(&value) || html.contains(&kept),
                    "{field}: {other} kept"
                );
            }
        }
    }
    // Optional fields may be empty.
    let res = app
        .request_access_with(&app.client, DEV, &[("phone", ""), ("customers", "")])
        .await;
    assert_eq!(res.status(), 200);
    app.deliver_emails().await;
}

async fn a_second_pending_request_and_floods_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(
        app.request_access_with(&app.client, DEV, &[])
            .await
            .status(),
        200
    );
    assert_eq!(
        app.deliver_emails().await.len(),
        1,
        "no admin yet: the requester only"
    );
    let dup = app
        .request_access_with(&app.client, "DANA@ticketly.example", &[])
        .await;
    assert_eq!(dup.status(), 409);
    let html = dup.text().await.unwrap();
    assert!(html.contains("already a request under review"));
    assert!(html.contains("Ticketly Sync"), "input kept");
    assert!(app.deliver_emails().await.is_empty());

    for i in 2..=5 {
        assert_eq!(
            app.request_access_with(&app.client, &format!("dev{i}@example.test"), &[])
                .await
                .status(),
            200
        );
    }
    let flood = app
        .request_access_with(&app.client, "dev6@example.test", &[])
        .await;
    assert_eq!(flood.status(), 429);
    assert!(flood
        .text()
        .await
        .unwrap()
        .contains("Too many requests were sent from your network"));
    assert_eq!(app.deliver_emails().await.len(), 4);
    app.clock.advance(Duration::minutes(61));
    assert_eq!(
        app.request_access_with(&app.client, "dev6@example.test", &[])
            .await
            .status(),
        200
    );
    app.deliver_emails().await;
}

async fn rejection_with_a_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    app.request_access_with(&app.client, DEV, &[]).await;
    app.deliver_emails().await;
    let id = app.request_id_for(DEV).await;

    let empty = app
        .post_form_with(
            &admin,
            &format!("/admin/requests/{id}/reject"),
            &[("reason", " ")],
        )
        .await;
    assert_eq!(empty.status(), 422);
    assert!(empty.text().await.unwrap().contains("Give the reason"));
    let reason = "We only open the API to ticketing partners with a signed agreement.";
    assert_eq!(
        app.post_form_with(
            &admin,
            &format!("/admin/requests/{id}/reject"),
            &[("reason", reason)]
        )
        .await
        .status(),
        303
    );
    let email = app.one_email_to(DEV).await;
    assert!(email.text.contains(reason) && email.html.contains(reason));
    assert!(email.subject.contains("Ticketly Sync"));

    // The decision is final: a later approval changes nothing.
    app.post_form_with(&admin, &format!("/admin/requests/{id}/approve"), &[])
        .await;
    let page = app
        .get_with(&admin, &format!("/admin/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("already rejected"));
    // A decided request shows the decision (who, when, the reason as sent), and no longer what
    // an approval would do.
    let text = unescaped(&page);
    assert!(text.contains("Decision: Rejected"), "the decision");
    assert!(text.contains("Ada (ada@concat.test)"), "who decided");
    assert!(text.contains(&format!("Reason, as emailed to {DEV}")));
    assert!(text.contains(reason));
    assert!(!text.contains("approval creates one") && !text.contains("approval adds"));
    assert!(app.deliver_emails().await.is_empty());
    assert!(app
        .get_with(&admin, "/admin/requests?status=rejected")
        .await
        .text()
        .await
        .unwrap()
        .contains("Ticketly Sync"));
    // The same email may ask again later.
    assert_eq!(
        app.request_access_with(&app.client, DEV, &[])
            .await
            .status(),
        200
    );
    app.deliver_emails().await;
    assert!(app
        .audit_actions()
        .await
        .contains(&"access_request.rejected".to_string()));
}

async fn asking_for_more_information_round_trip(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let (dev, _) = client();
    app.request_access_with(&dev, DEV, &[]).await;
    app.deliver_emails().await;
    let id = app.request_id_for(DEV).await;

    let question = "Which event organizations have agreed to share data with you?";
    assert_eq!(
        app.post_form_with(
            &admin,
            &format!("/admin/requests/{id}/ask"),
            &[("question", question)]
        )
        .await
        .status(),
        303
    );
    let email = app.one_email_to(DEV).await;
    assert!(email.text.contains(question));
    let link = path_of(&find_link(&email.text, "/access-requests/respond/"));
    let queue = app
        .get_with(&admin, "/admin/requests?status=info_requested")
        .await
        .text()
        .await
        .unwrap();
    assert!(queue.contains("Ticketly Sync"));

    let form = app.get_with(&dev, &link).await.text().await.unwrap();
    assert!(form.contains(question));
    let empty = app.post_form_with(&dev, &link, &[("answer", "")]).await;
    assert_eq!(empty.status(), 422);
    let answer = "Acme Events signed our data agreement in November.";
    let res = app.post_form_with(&dev, &link, &[("answer", answer)]).await;
    assert_eq!(res.status(), 303);
    let notice = app.one_email_to(ADMIN_EMAIL).await;
    assert!(notice.subject.contains("Access request answered"));

    // Back in the queue, with the conversation on the detail page; the link is spent.
    assert!(app
        .get_with(&admin, "/admin/requests?status=pending")
        .await
        .text()
        .await
        .unwrap()
        .contains("Ticketly Sync"));
    let detail = app
        .get_with(&admin, &format!("/admin/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(detail.contains(question) && detail.contains(answer));
    assert_eq!(app.get_with(&dev, &link).await.status(), 404);
    assert_eq!(
        app.post_form_with(&dev, &link, &[("answer", "again")])
            .await
            .status(),
        404
    );

    assert_eq!(
        app.post_form_with(&admin, &format!("/admin/requests/{id}/approve"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(app.one_email_to(DEV).await.kind, "access_approved");
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"access_request.info_requested".to_string())
            && actions.contains(&"access_request.answered".to_string())
    );
}

async fn two_concurrent_approvals_one_wins(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.admin().await;
    app.create_admin("bob@concat.test", "Bob").await;
    let (second, _) = client();
    app.login_with(&second, "bob@concat.test", PASSWORD).await;
    app.request_access_with(&app.client, DEV, &[]).await;
    app.deliver_emails().await;
    let id = app.request_id_for(DEV).await;
    let path = format!("/admin/requests/{id}/approve");
    let (t1, t2) = (app.csrf_with(&first).await, app.csrf_with(&second).await);
    let (a, b) = tokio::join!(
        first
            .post(app.url(&path))
            .form(&[("csrf_token", t1.as_str())])
            .send(),
        second
            .post(app.url(&path))
            .form(&[("csrf_token", t2.as_str())])
            .send(),
    );
    assert_eq!(
        (a.unwrap().status(), b.unwrap().status()),
        (
            reqwest::StatusCode::SEE_OTHER,
            reqwest::StatusCode::SEE_OTHER
        )
    );
    let pages = [
        app.get_with(&first, &format!("/admin/requests/{id}"))
            .await
            .text()
            .await
            .unwrap(),
        app.get_with(&second, &format!("/admin/requests/{id}"))
            .await
            .text()
            .await
            .unwrap(),
    ];
    let won = pages
        .iter()
        .filter(|p| p.contains("Approved. The developer has been emailed"))
        .count();
    let lost = pages
        .iter()
        .filter(|p| p.contains("Nothing was changed: this request was already approved."))
        .count();
    assert_eq!((won, lost), (1, 1));
    use concat_portal::db::schema::{developer_accounts, integrations};
    use diesel::prelude::*;
    let counts = db::run(&app.pool, |c| {
        Ok((
            integrations::table.count().get_result::<i64>(c)?,
            developer_accounts::table.count().get_result::<i64>(c)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(counts, (1, 1), "one integration, one account");
    assert_eq!(app.one_email_to(DEV).await.kind, "access_approved");
    let approvals = app
        .audit_actions()
        .await
        .iter()
        .filter(|a| *a == "access_request.approved")
        .count();
    assert_eq!(approvals, 1, "one approval recorded");
}

async fn rolling_with_an_overlap_then_revoking(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.approved_developer(DEV, "Ticketly").await;
    let roll = format!(
        "/developer/integrations/{}/secrets/roll",
        dev.integration_id
    );

    let res = app
        .post_form_with(&dev.client, &roll, &[("old_expires", "1h")])
        .await;
    assert_eq!(res.status(), 200);
    let new_secret = secret_in(&res.text().await.unwrap()).unwrap();
    assert_ne!(new_secret, dev.secret);
    assert!(
        app.credentials_valid(&dev.api_id, &dev.secret).await,
        "old works during the overlap"
    );
    assert!(app.credentials_valid(&dev.api_id, &new_secret).await);

    // A third active secret is refused, by roll and by create.
    let third = app
        .post_form_with(&dev.client, &roll, &[("old_expires", "1h")])
        .await;
    assert_eq!(third.status(), 303);
    let page = app
        .get_with(
            &dev.client,
            &format!("/developer/integrations/{}", dev.integration_id),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("already has 2 active secrets"), "{page}");
    let create = app
        .post_form_with(
            &dev.client,
            &format!("/developer/integrations/{}/secrets", dev.integration_id),
            &[],
        )
        .await;
    assert_eq!(create.status(), 303);

    app.clock.advance(Duration::minutes(59));
    assert!(app.credentials_valid(&dev.api_id, &dev.secret).await);
    app.clock.advance(Duration::minutes(2));
    assert!(
        !app.credentials_valid(&dev.api_id, &dev.secret).await,
        "old stops after the overlap"
    );
    assert!(app.credentials_valid(&dev.api_id, &new_secret).await);
    // A secret with a wrong API ID, or a mistyped one, does not work.
    assert!(
        !app.credentials_valid("cc_id_AAAAAAAAAAAAAAAAAAAAAAAA", &new_secret)
            .await
    );
    let mut typo = new_secret.clone();
    typo.replace_range(20..21, if &new_secret[20..21] == "a" { "b" } else { "a" });
    assert!(!app.credentials_valid(&dev.api_id, &typo).await);

    // Revoke is immediate. (The idle session ended while the clock moved: sign in again.)
    assert_eq!(
        app.login_with(&dev.client, DEV, PASSWORD).await.status(),
        303
    );
    let now = app.clock.now_naive();
    let iid = dev.integration_id.clone();
    let active = db::run(&app.pool, move |c| Ok(api_secrets::active(c, &iid, now)?))
        .await
        .unwrap();
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0].prefix, new_secret[..10], "{active:?}");
    let revoke = format!(
        "/developer/integrations/{}/secrets/{}/revoke",
        dev.integration_id, active[0].id
    );
    let res = app.post_form_with(&dev.client, &revoke, &[]).await;
    assert_eq!(
        res.headers()["location"],
        format!("/developer/integrations/{}", dev.integration_id)
    );
    assert!(!app.credentials_valid(&dev.api_id, &new_secret).await);
    assert_eq!(
        app.post_form_with(&dev.client, &revoke, &[]).await.status(),
        404,
        "already revoked"
    );

    // With none active, the owner creates a new one (shown once).
    let create = app
        .post_form_with(
            &dev.client,
            &format!("/developer/integrations/{}/secrets", dev.integration_id),
            &[],
        )
        .await;
    assert_eq!(create.status(), 200);
    let fresh = secret_in(&create.text().await.unwrap()).unwrap();
    assert!(app.credentials_valid(&dev.api_id, &fresh).await);
    // Roll with "now": the old one stops at once.
    let res = app
        .post_form_with(
            &dev.client,
            &roll,
            &[("old_expires", "now"), ("confirm", "yes")],
        )
        .await;
    let newest = secret_in(&res.text().await.unwrap()).unwrap();
    assert!(!app.credentials_valid(&dev.api_id, &fresh).await);
    assert!(app.credentials_valid(&dev.api_id, &newest).await);
    let bad = app
        .post_form_with(&dev.client, &roll, &[("old_expires", "forever")])
        .await;
    assert_eq!(bad.status(), 303);

    let actions = app.audit_actions().await;
    for a in ["secret.rolled", "secret.revoked", "secret.created"] {
        assert!(actions.contains(&a.to_string()));
    }
    for secret in [&dev.secret, &new_secret, &fresh, &newest] {
        app.assert_secret_never_leaked(secret);
    }
}

async fn known_organizations_matching_event_customers_are_shown(backend: Backend) {
    use concat_portal::db::models::organizations;
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let now = app.clock.now_naive();
    db::run(&app.pool, move |c| {
        organizations::insert(c, "o1", "org_acme123", "Acme Events Ltd", now)?;
        organizations::insert(c, "o2", "org_other456", "Unrelated Fairs", now)?;
        Ok(())
    })
    .await
    .unwrap();
    app.request_access_with(&app.client, DEV, &[("customers", "acme events")])
        .await;
    app.deliver_emails().await;
    let id = app.request_id_for(DEV).await;
    let page = app
        .get_with(&admin, &format!("/admin/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Acme Events Ltd") && page.contains("org_acme123"));
    assert!(!page.contains("Unrelated Fairs"));
}

both_backends!(
    the_whole_path_shows_the_secret_exactly_once,
    each_bad_field_gets_its_own_message_and_input_is_kept,
    a_second_pending_request_and_floods_are_refused,
    rejection_with_a_reason,
    asking_for_more_information_round_trip,
    two_concurrent_approvals_one_wins,
    rolling_with_an_overlap_then_revoking,
    known_organizations_matching_event_customers_are_shown,
);

async fn an_existing_user_confirms_their_password_to_see_the_secret(backend: Backend) {
    let app = spawn_app(backend).await;
    // Someone who already has an account (here: invited to another company's team).
    let other = app
        .approved_developer("bea@boxoffice.example", "BoxOffice")
        .await;
    let team = format!("/developer/accounts/{}/team/invite", other.account_id);
    app.post_form_with(
        &other.client,
        &team,
        &[("email", DEV), ("name", "Dana"), ("role", "member")],
    )
    .await;
    let invite = app.one_email_to(DEV).await;
    let (dev, _) = client();
    let link = path_of(&find_link(&invite.text, "/set-password/"));
    assert_eq!(
        app.post_form_with(
            &dev,
            &link,
            &[("password", PASSWORD), ("confirm", PASSWORD)]
        )
        .await
        .status(),
        303
    );

    // They request access for their own company; approval reuses their user.
    app.request_access_with(&dev, DEV, &[]).await;
    app.deliver_emails().await;
    let admin = app.admin().await;
    let id = app.request_id_for(DEV).await;
    app.post_form_with(&admin, &format!("/admin/requests/{id}/approve"), &[])
        .await;
    let approval = app.one_email_to(DEV).await;
    assert!(approval.text.contains("confirm your password"));
    let welcome = path_of(&find_link(&approval.text, "/welcome/"));
    assert!(app
        .get_with(&dev, &welcome)
        .await
        .text()
        .await
        .unwrap()
        .contains("Confirm the password"));
    let wrong = app
        .post_form_with(&dev, &welcome, &[("password", "not my passphrase at all")])
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("That is not your current password."));
    let shown = app
        .post_form_with(&dev, &welcome, &[("password", PASSWORD)])
        .await;
    assert_eq!(shown.status(), 200);
    let html = shown.text().await.unwrap();
    let secret = secret_in(&html).unwrap();
    let api_id = api_id_in(&html);
    assert!(app.credentials_valid(&api_id, &secret).await);
    // One user, now in two developer accounts.
    let dash = app.get_with(&dev, "/developer").await.text().await.unwrap();
    assert!(dash.contains("BoxOffice") && dash.contains("Ticketly Ltd"));
    assert!(
        app.login_with(&dev, DEV, PASSWORD).await.status() == 303,
        "password unchanged"
    );
}

both_backends!(an_existing_user_confirms_their_password_to_see_the_secret);

async fn concurrent_rolls_never_exceed_two_active_secrets(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.approved_developer(DEV, "Ticketly").await;
    let roll = app.url(&format!(
        "/developer/integrations/{}/secrets/roll",
        dev.integration_id
    ));
    let token = app.csrf_with(&dev.client).await;
    let statuses = race_statuses(4, |_| {
        dev.client
            .post(&roll)
            .form(&[("csrf_token", token.as_str()), ("old_expires", "7d")])
    })
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "one roll succeeds: {statuses:?}"
    );
    let (iid, now) = (dev.integration_id.clone(), app.clock.now_naive());
    let active = db::run(&app.pool, move |c| Ok(api_secrets::active(c, &iid, now)?))
        .await
        .unwrap();
    assert_eq!(active.len(), 2);
}

async fn parallel_duplicate_requests_make_one(backend: Backend) {
    use concat_portal::db::schema::access_requests as r;
    use diesel::prelude::*;
    let app = spawn_app(backend).await;
    // Unconfirmed submissions block nobody: four for one email are four requests, each with
    // its own link. Confirming them at once puts exactly one in the queue.
    let mut links = Vec::new();
    for _ in 0..4 {
        let res = app.submit_access_request(&app.client, DEV, &[]).await;
        assert_eq!(res.status(), 200);
        links.push(app.confirmation_link(DEV).await);
    }
    links.dedup();
    assert_eq!(links.len(), 4, "each submission has its own link");
    let token = app.csrf_with(&app.client).await;
    let statuses = race_statuses(links.len(), |i| {
        app.client
            .post(app.url(&links[i]))
            .form(&[("csrf_token", &token)])
    })
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        3,
        "{statuses:?}"
    );
    let confirmed = db::run(&app.pool, |c| {
        Ok(r::table
            .filter(r::confirmed_at.is_not_null())
            .count()
            .get_result::<i64>(c)?)
    })
    .await
    .unwrap();
    assert_eq!(confirmed, 1);
    // The four "we received your request" emails; there is no admin to notify.
    assert_eq!(app.deliver_emails().await.len(), 4);
}

async fn a_decision_on_a_stale_page_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.admin().await;
    app.create_admin("bob@concat.test", "Bob").await;
    let (second, _) = client();
    app.login_with(&second, "bob@concat.test", PASSWORD).await;
    app.request_access_with(&app.client, DEV, &[]).await;
    app.deliver_emails().await;
    let id = app.request_id_for(DEV).await;
    // Bob's page shows "pending"; meanwhile Ada asks a question.
    app.post_form_with(
        &first,
        &format!("/admin/requests/{id}/ask"),
        &[("question", "Who are your customers?")],
    )
    .await;
    assert_eq!(app.one_email_to(DEV).await.kind, "access_info_requested");
    let res = app
        .post_form_with(
            &second,
            &format!("/admin/requests/{id}/approve"),
            &[("expected_status", "pending")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = app
        .get_with(&second, &format!("/admin/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(
        "Nothing was changed: another admin asked the requester for more information meanwhile."
    ));
    assert!(page.contains("badge-info_requested"));
    assert!(app.deliver_emails().await.is_empty());
}

async fn a_suspended_account_cannot_be_approved_into_a_developer(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let uid = app.create_user(DEV, "Dana").await;
    app.post_form_with(&admin, &format!("/admin/users/{uid}/suspend"), &[])
        .await;
    app.request_access_with(&app.client, DEV, &[]).await;
    app.deliver_emails().await;
    let id = app.request_id_for(DEV).await;
    let detail = app
        .get_with(&admin, &format!("/admin/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(detail.contains("Existing account") && detail.contains("<strong>suspended</strong>"));
    app.post_form_with(
        &admin,
        &format!("/admin/requests/{id}/approve"),
        &[("expected_status", "pending")],
    )
    .await;
    let page = app
        .get_with(&admin, &format!("/admin/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("belongs to a suspended account"));
    assert!(page.contains("badge-pending"), "still waiting");
    assert!(app.deliver_emails().await.is_empty());
}

async fn the_welcome_link_after_secrets_exist_leads_to_the_integration(backend: Backend) {
    let app = spawn_app(backend).await;
    // An existing, signed-in developer is approved for a new company ...
    let dev = app
        .approved_developer("bea@boxoffice.example", "BoxOffice")
        .await;
    app.request_access_with(
        &dev.client,
        "bea@boxoffice.example",
        &[("company", "BoxOffice Two")],
    )
    .await;
    app.deliver_emails().await;
    let admin = app.admin().await;
    let id = app.request_id_for("bea@boxoffice.example").await;
    app.post_form_with(&admin, &format!("/admin/requests/{id}/approve"), &[])
        .await;
    let approval = app.one_email_to("bea@boxoffice.example").await;
    let welcome = path_of(&find_link(&approval.text, "/welcome/"));
    let api_id = api_id_in(&approval.text);
    let (iid, _) = app.integration_of(&api_id).await;
    // ... creates two secrets on the integration page before using the link ...
    assert_eq!(
        app.post_form_with(
            &dev.client,
            &format!("/developer/integrations/{iid}/secrets"),
            &[]
        )
        .await
        .status(),
        200
    );
    let roll = app
        .post_form_with(
            &dev.client,
            &format!("/developer/integrations/{iid}/secrets/roll"),
            &[("old_expires", "7d")],
        )
        .await;
    assert_eq!(roll.status(), 200);
    // ... so the link creates no third one: it signs in and leads to the integration.
    let res = app
        .post_form_with(&dev.client, &welcome, &[("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/developer/integrations/{iid}")
    );
    let page = app
        .get_with(&dev.client, &format!("/developer/integrations/{iid}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("already has its active secrets"));
    assert_eq!(
        app.post_form_with(&dev.client, &welcome, &[("password", PASSWORD)])
            .await
            .status(),
        404,
        "used"
    );
}

both_backends!(
    concurrent_rolls_never_exceed_two_active_secrets,
    parallel_duplicate_requests_make_one,
    a_decision_on_a_stale_page_changes_nothing,
    a_suspended_account_cannot_be_approved_into_a_developer,
    the_welcome_link_after_secrets_exist_leads_to_the_integration,
);
