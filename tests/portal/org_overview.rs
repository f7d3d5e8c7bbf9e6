//! The organization admin's overview has counts and next steps, IDs come with copy buttons,
//! and the event form offers the time zones as a searchable list (issue 14).

use crate::support::*;

async fn the_overview_counts_and_shows_next_steps(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read"]).await;
    app.seed_events(&f.org, 2).await;
    let html = app
        .get_with(&f.olga, &format!("/org/{}", f.org))
        .await
        .text()
        .await
        .unwrap();
    for stat in [
        "<strong>2</strong><span>published events</span>",
        "<strong>0</strong><span>drafts</span>",
        "<strong>1</strong><span>authorized integrations</span>",
        "<strong>1</strong><span>admin</span>",
    ] {
        assert!(html.contains(stat), "{stat}");
    }
    assert!(html.contains("Next steps"));
    assert!(html.contains(&format!("href=\"/org/{}/events/new\"", f.org)));
    assert!(
        html.contains(&format!("action=\"/org/{}/integrations\"", f.org)),
        "authorize by API ID from the overview"
    );
    assert!(
        html.contains("data-copy=\"#org-id\""),
        "a copy button for the ID"
    );
    // The lookup from the overview shows the integration before anything is granted.
    let preview = app
        .get_with(
            &f.olga,
            &format!("/org/{}/integrations?api_id={}", f.org, f.dev.api_id),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        preview.contains("This integration is already authorized")
            || preview.contains("Ticketly App")
    );

    // The event form: a searchable list of time zones, the browser's filled in on new events.
    let form = app
        .get_with(&f.olga, &format!("/org/{}/events/new", f.org))
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains("list=\"tz-names\""));
    assert!(form.contains("<option value=\"Europe/Berlin\">"));
    assert!(form.contains("<option value=\"America/New_York\">"));
    assert!(form.contains("data-browser-zone"));
    let events = app
        .get_with(&f.olga, &format!("/org/{}/events", f.org))
        .await
        .text()
        .await
        .unwrap();
    let copies = events.matches("data-copy=\"#id-evt_").count();
    assert_eq!(copies, 2, "each event ID has a copy button");
}

both_backends!(the_overview_counts_and_shows_next_steps);
