//! Least privilege for readers: a viewer sees counts and the pages the work
//! needs, never lists of people and what they told us, on the pages and in
//! the API alike.

use dialogforum::domain::{PersonStatus, Role};
use serde_json::{Value, json};

use crate::common::{self, Engine, TestApp, api_token};

/// A published meeting with one person attending who told us a diet and an access need.
async fn meeting_with_an_attendee(app: &TestApp, token: &str) -> String {
    let body = json!({
        "title": "Læserettigheder", "starts_at": "2030-03-01T09:00:00+01:00", "ends_at": "2030-03-01T12:00:00+01:00",
        "format": "physical", "venue": "KL-huset", "capacity": 10
    });
    let url = format!("{}/api/v1/meetings", app.base);
    let created: Value = app.http.post(url).bearer_auth(token).json(&body).send().await.unwrap().json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let publish = format!("{}/api/v1/meetings/{id}/publish", app.base);
    assert_eq!(app.http.post(publish).bearer_auth(token).send().await.unwrap().status(), 200);

    let person = common::add_person(
        app.store(),
        "dorthe@firma.example",
        "Dorthe Deltager",
        "Firma A/S",
        PersonStatus::Confirmed,
    )
    .await;
    let (_, link) = common::invite_person(app.store(), id.parse().unwrap(), person).await;
    let answer = [("answer", "yes"), ("diet", "Glutenfri kost"), ("access_needs", "Kørestolsadgang")];
    let res = app.post_form(&format!("/rsvp/{link}"), &answer).await;
    assert_eq!(res.status(), 200);
    id
}

async fn a_viewer_sees_counts_but_no_lists_of_people_on_pages_or_in_the_api(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let organiser = api_token(&app, "org@forum.example", Role::Organiser).await;
    let viewer = api_token(&app, "viewer@forum.example", Role::Viewer).await;
    let meeting = meeting_with_an_attendee(&app, &organiser).await;

    // The API: lists of people and registrations are for organisers.
    for path in ["/subscribers".to_owned(), format!("/meetings/{meeting}/registrations")] {
        let url = format!("{}/api/v1{path}", app.base);
        let res = app.http.get(&url).bearer_auth(&viewer).send().await.unwrap();
        assert_eq!(res.status(), 403, "viewer {path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let body = res.text().await.unwrap();
        assert!(!body.contains("Dorthe") && !body.contains("Glutenfri"), "{body}");
        let res = app.http.get(&url).bearer_auth(&organiser).send().await.unwrap();
        assert_eq!(res.status(), 200, "organiser {path}");
        assert!(res.text().await.unwrap().contains("Dorthe Deltager"));
    }
    // The meeting itself, with no people in it, is for everyone.
    let url = format!("{}/api/v1/meetings/{meeting}", app.base);
    assert_eq!(app.http.get(&url).bearer_auth(&viewer).send().await.unwrap().status(), 200);

    // The pages: the registrations page gives a viewer the counts only.
    let reader = app.sign_in("viewer@forum.example").await.http;
    let page = format!("{}/admin/meetings/{meeting}/registrations", app.base);
    let res = reader.get(&page).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Antal pr. status"), "the counts are there: {html}");
    for private in ["Dorthe", "Firma A/S", "Glutenfri", "Kørestolsadgang"] {
        assert!(!html.contains(private), "a viewer sees {private}");
    }
    for path in [
        "/admin/people".to_owned(),
        format!("/admin/meetings/{meeting}/checkin"),
        format!("/admin/meetings/{meeting}/waitlist"),
        format!("/admin/meetings/{meeting}/door-list"),
    ] {
        let res = reader.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), 403, "viewer {path}");
        assert!(!res.text().await.unwrap().contains("Dorthe"));
    }
    let organiser_pages = app.sign_in("org@forum.example").await.http;
    let html = organiser_pages.get(&page).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Dorthe Deltager") && html.contains("Glutenfri kost"), "{html}");
    app.stop().await;
}
both_engines!(a_viewer_sees_counts_but_no_lists_of_people_on_pages_or_in_the_api);
