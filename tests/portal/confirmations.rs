//! Destructive actions take a confirmation step that says what will happen, without JavaScript
//! (issue 14): revoking an organization's authorization, revoking a secret, rolling with the old
//! secret stopping at once. The step changes nothing; the form on it does. A revoked integration
//! is offered again from its row; the developer then sees the deletion duty first, with the
//! days left.

use crate::support::*;

fn main_text(html: &str) -> String {
    let start = html.find("<main").unwrap();
    let end = html.find("</main>").unwrap();
    unescaped(&html[start..end])
}

async fn revoking_an_authorization_asks_first_and_says_what_follows(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read"]).await;
    let listing = format!("/org/{}/integrations", f.org);
    let page = app.get_with(&f.olga, &listing).await.text().await.unwrap();
    let confirm = format!("{listing}/{}/revoke", f.auth_id);
    assert!(
        page.contains(&format!("href=\"{confirm}\"")),
        "the row links to the confirmation step"
    );
    assert!(
        !page.contains(&format!("action=\"{confirm}\"")),
        "no one-click revoke form on the list"
    );

    let step = app.get_with(&f.olga, &confirm).await;
    assert_eq!(step.status(), 200);
    let html = step.text().await.unwrap();
    let text = main_text(&html);
    assert!(text.contains("Revoke Ticketly App?"), "{text}");
    assert!(text.contains("stops at once"), "{text}");
    assert!(text.contains("emailed"), "{text}");
    let deadline = (app.clock_date().parse::<chrono::NaiveDate>().unwrap()
        + chrono::Duration::days(30))
    .to_string();
    assert!(text.contains(&deadline), "the deadline {deadline}: {text}");
    assert_eq!(post_action(&html), confirm);
    // Showing the step changed nothing.
    let page = app.get_with(&f.olga, &listing).await.text().await.unwrap();
    assert!(
        page.contains("badge-active"),
        "still authorized after the GET"
    );

    let res = app.post_form_with(&f.olga, &confirm, &[]).await;
    assert_eq!(res.status(), 303);
    app.one_email_to("dana@ticketly.example").await;
    // Revoked: the step is gone, and the row offers to authorize it again.
    let page = app.get_with(&f.olga, &listing).await.text().await.unwrap();
    assert!(!page.contains(&format!("href=\"{confirm}\"")));
    let again = format!("{listing}?api_id={}", f.dev.api_id);
    assert!(
        page.contains(&format!("href=\"{again}\"")),
        "authorize again"
    );
    let preview = app.get_with(&f.olga, &again).await.text().await.unwrap();
    assert!(preview.contains("Authorize Ticketly App?"));
    let res = app.get_with(&f.olga, &confirm).await;
    assert_eq!(res.status(), 303, "a revoked authorization has no step");

    // The developer sees the duty first on the integration page, with the days left, and the
    // dashboard's link goes straight to it.
    let dash = app
        .get_with(&f.dev.client, "/developer")
        .await
        .text()
        .await
        .unwrap();
    let dash_text = main_text(&dash);
    assert!(
        !dash_text.contains("No organization has authorized this integration yet"),
        "no 'not yet' after a revocation"
    );
    assert!(dash_text.contains("30 days left"), "{dash_text}");
    let anchor = format!(
        "/developer/integrations/{}#duty-{}",
        f.dev.integration_id, f.auth_id
    );
    assert!(dash.contains(&anchor), "Confirm deletion opens the duty");
    let show = app
        .get_with(
            &f.dev.client,
            &format!("/developer/integrations/{}", f.dev.integration_id),
        )
        .await
        .text()
        .await
        .unwrap();
    let duty = show.find("Data to delete").expect("the duty");
    let secrets = show.find("<h2>Secrets</h2>").expect("the secrets");
    assert!(duty < secrets, "the duty comes before the secrets");
    assert!(show.contains(&format!("id=\"duty-{}\"", f.auth_id)));
}

async fn revoking_a_secret_and_rolling_now_ask_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app
        .approved_developer("dana@ticketly.test", "Ticketly")
        .await;
    let page = format!("/developer/integrations/{}", dev.integration_id);
    let html = app.get_with(&dev.client, &page).await.text().await.unwrap();
    let link = hrefs(&html)
        .into_iter()
        .find(|a| a.contains("/secrets/") && a.ends_with("/revoke"))
        .expect("a link to revoke the secret");
    let step = app.get_with(&dev.client, &link).await;
    assert_eq!(step.status(), 200);
    let html = step.text().await.unwrap();
    let text = main_text(&html);
    assert!(text.contains("refused at once"), "{text}");
    assert!(text.contains("only active secret"), "{text}");
    assert!(
        app.credentials_valid(&dev.api_id, &dev.secret).await,
        "the step changes nothing"
    );

    // Rolling with the old secret stopping now: a step first, which changes nothing.
    let roll = format!("{page}/secrets/roll");
    let res = app
        .post_form_with(&dev.client, &roll, &[("old_expires", "now")])
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let text = main_text(&html);
    assert!(text.contains("Roll the secret now?"), "{text}");
    assert!(secret_in(&html).is_none(), "no new secret yet");
    assert!(app.credentials_valid(&dev.api_id, &dev.secret).await);
    assert_eq!(post_action(&html), roll);
    assert!(html.contains("name=\"confirm\" value=\"yes\""));
    // Confirmed: the new secret is shown and the old one stops.
    let res = app
        .post_form_with(
            &dev.client,
            &roll,
            &[("old_expires", "now"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let new_secret = secret_in(&res.text().await.unwrap()).expect("the new secret");
    assert!(!app.credentials_valid(&dev.api_id, &dev.secret).await);
    assert!(app.credentials_valid(&dev.api_id, &new_secret).await);

    // Rolling with an overlap needs no step: nothing stops at once.
    let res = app
        .post_form_with(&dev.client, &roll, &[("old_expires", "1h")])
        .await;
    assert_eq!(res.status(), 200);
    assert!(secret_in(&res.text().await.unwrap()).is_some());

    // The confirmed revoke works.
    let html = app.get_with(&dev.client, &page).await.text().await.unwrap();
    let link = hrefs(&html)
        .into_iter()
        .find(|a| a.contains("/secrets/") && a.ends_with("/revoke"))
        .unwrap();
    let step = app.get_with(&dev.client, &link).await.text().await.unwrap();
    assert!(
        !main_text(&step).contains("only active secret"),
        "two are active: revoking one leaves the other"
    );
    let res = app
        .post_form_with(&dev.client, &post_action(&step), &[])
        .await;
    assert_eq!(res.status(), 303);
}

both_backends!(
    revoking_an_authorization_asks_first_and_says_what_follows,
    revoking_a_secret_and_rolling_now_ask_first,
);
