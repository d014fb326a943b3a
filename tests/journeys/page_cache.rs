//! The public pages served from memory: answered with an `ETag` and `304`
//! while unchanged, showing a change made through the same instance at the
//! next request, and one made behind its back (another instance, the command
//! line) within the version poll — with a control that keeps the poll away
//! to show that the page really is served from memory.

use crate::common;

use common::{Engine, TestApp, api_token, eventually, text};
use dialogforum::domain::Role;
use serde_json::json;

const ORGANISER: &str = "organiser@forum.example";

/// A published meeting, number 41; returns its id.
async fn meeting_41(app: &TestApp, token: &str) -> String {
    let body = json!({
        "title": "Cloud i kommunerne", "number": 41,
        "starts_at": "2030-04-01T09:00:00+02:00", "ends_at": "2030-04-01T12:00:00+02:00",
        "format": "physical", "venue": "KL-huset, København S",
        "programme": [{"starts_at": "2030-04-01T09:30:00+02:00", "title": "Velkomst"}]
    });
    app.api(token).published_meeting(&body).await
}

/// Renames meeting 41 behind the application's back, as another instance or
/// the command line would.
async fn rename_behind_its_back(app: &TestApp, title: &str) {
    on_db!(app.db, |pool| {
        sqlx::query("update meeting set title = $1 where number = 41").bind(title).execute(&pool).await.unwrap();
    });
}

async fn a_kept_page_answers_304_while_unchanged_and_shows_a_change_at_once(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, ORGANISER, Role::Organiser).await;
    let id = meeting_41(&app, &token).await;

    let res = app.get("/meetings/41").await;
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(res.headers()["cache-control"], "no-cache", "always asked again");
    assert!(res.headers().contains_key("last-modified"));
    assert!(text(res, 200).await.contains("Cloud i kommunerne"));

    let again = app.http.get(app.url("/meetings/41")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304, "the browser's copy is still right");
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert!(again.bytes().await.unwrap().is_empty());
    // The same page in the other language is a page of its own.
    let en = app.http.get(app.url("/meetings/41")).header("cookie", "lang=en").send().await.unwrap();
    assert_ne!(en.headers()["etag"].to_str().unwrap(), etag);
    assert!(text(en, 200).await.contains("Registration open"));

    let res = app.api(&token).patch(&format!("/meetings/{id}"), &json!({"title": "Cloud og data i kommunerne"})).await;
    assert_eq!(res.status(), 200);
    let res = app.http.get(app.url("/meetings/41")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(res.status(), 200, "the old copy is out of date at the next request");
    assert_ne!(res.headers()["etag"].to_str().unwrap(), etag);
    assert!(text(res, 200).await.contains("Cloud og data i kommunerne"));
    let list = text(app.get("/meetings").await, 200).await;
    assert!(list.contains("Cloud og data i kommunerne"), "{list}");
    app.stop().await;
}
both_engines!(a_kept_page_answers_304_while_unchanged_and_shows_a_change_at_once);

async fn a_change_made_behind_its_back_shows_within_the_version_poll(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, ORGANISER, Role::Organiser).await;
    meeting_41(&app, &token).await;
    assert!(text(app.get("/meetings/41").await, 200).await.contains("Cloud i kommunerne"));
    assert!(text(app.get("/meetings").await, 200).await.contains("Cloud i kommunerne"));

    rename_behind_its_back(&app, "Cloud og data i kommunerne").await;
    for path in ["/meetings/41", "/meetings"] {
        eventually(
            "the new title on the page",
            10,
            || async { text(app.get(path).await, 200).await.contains("Cloud og data i kommunerne") },
            |shown| *shown,
        )
        .await;
    }
    app.stop().await;
}
both_engines!(a_change_made_behind_its_back_shows_within_the_version_poll);

/// The control: with the poll an hour apart, the same change behind the
/// application's back stays unseen while the page is kept — so the test above
/// sees the version poll at work, not a page rendered afresh each time.
async fn without_the_poll_a_change_behind_its_back_is_not_seen_while_the_page_is_kept(engine: Engine) {
    let app =
        TestApp::spawn_with(engine, &[("server.page_version_poll_ms", "3600000"), ("server.page_cache_secs", "3600")])
            .await;
    let token = api_token(&app, ORGANISER, Role::Organiser).await;
    meeting_41(&app, &token).await;
    assert!(text(app.get("/meetings/41").await, 200).await.contains("Cloud i kommunerne"));

    rename_behind_its_back(&app, "Cloud og data i kommunerne").await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let page = text(app.get("/meetings/41").await, 200).await;
    assert!(page.contains("Cloud i kommunerne") && !page.contains("Cloud og data"), "the kept page: {page}");
    // A write through the application has the version looked at again.
    let res = app.api(&token).post("/meetings", &json!({
        "title": "Et andet møde", "starts_at": "2030-05-01T09:00:00+02:00", "ends_at": "2030-05-01T10:00:00+02:00",
        "format": "virtual", "online_url": "https://meet.example/x"
    })).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    assert!(text(app.get("/meetings/41").await, 200).await.contains("Cloud og data i kommunerne"));
    app.stop().await;
}
both_engines!(without_the_poll_a_change_behind_its_back_is_not_seen_while_the_page_is_kept);

async fn every_kind_of_change_to_a_public_page_raises_the_version(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, ORGANISER, Role::Organiser).await;
    meeting_41(&app, &token).await;
    app.confirmed_person("mette@nordlys.example", "Mette Bæk", "Nordlys IT").await;
    let store = app.store();
    let mut last = store.public_version().await.unwrap();
    // Each statement changes something a public page shows.
    let changes = [
        "update meeting set venue = 'Christiansborg' where number = 41",
        "update programme_item set title = 'Nyt punkt' where meeting_id = (select id from meeting where number = 41)",
        "update organisation set name = 'Nordlys IT A/S' where name = 'Nordlys IT'",
        "delete from meeting where number = 41",
    ];
    for sql in changes {
        let done = on_db!(app.db, |pool| sqlx::query(sql).execute(&pool).await.map(|r| r.rows_affected()));
        assert_eq!(done.unwrap(), 1, "{sql}");
        let now = store.public_version().await.unwrap();
        assert!(now > last, "{sql} raised the version from {last} to {now}");
        last = now;
    }
    app.stop().await;
}
both_engines!(every_kind_of_change_to_a_public_page_raises_the_version);
