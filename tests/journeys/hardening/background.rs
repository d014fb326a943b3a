//! Background work that organiser input cannot stop: a meeting dated at the
//! end of time is refused and, stored anyway, does not halt the mail; a
//! campaign that cannot be expanded is set aside instead of holding back the
//! next; each background task restarts on its own and readiness says when the
//! outbox worker is not running; the metrics can ask for a token.

use crate::common::PostForm as _;

use serde_json::{Value, json};

use crate::common::smtp::SmtpServer;
use crate::common::{self, Engine, TestApp, api_token, cli, csrf_of};

const ORGANISER: &str = "secretariat@forum.example";

/// Puts a confirmed person on the list through the API.
async fn subscriber(app: &TestApp, token: &str, email: &str, name: &str) {
    let res = app
        .api(token)
        .post("/subscribers", &json!({"email": email, "name": name, "organisation": "Nordlys IT A/S"}))
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

/// Creates and publishes a meeting through the API; returns its id.
async fn published_meeting(app: &TestApp, token: &str, number: i64) -> String {
    let body = json!({
        "title": format!("Dialogforum {number}"), "number": number,
        "starts_at": "2030-03-01T09:00:00+01:00", "ends_at": "2030-03-01T12:00:00+01:00",
        "format": "physical", "venue": "KL-huset, Weidekampsgade 10, København S", "capacity": 60
    });
    let res = app.api(token).post("/meetings", &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let m: Value = res.json().await.unwrap();
    let id = m["id"].as_str().expect("a meeting id").to_owned();
    let res = app.api(token).act(&format!("/meetings/{id}/publish")).await;
    assert_eq!(res.status(), 200);
    id
}

/// Invites everybody on the list to the meeting; returns the campaign id.
async fn invite_all(app: &TestApp, token: &str, meeting: &str) -> String {
    let res =
        app.api(token).post(&format!("/meetings/{meeting}/invitations"), &json!({"audience": {"all": true}})).await;
    assert_eq!(res.status(), 202);
    res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn a_meeting_ending_at_the_end_of_time_does_not_stop_the_next_invitation(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    dialogforum::demo::load(app.store(), jiff::civil::date(2026, 11, 27)).await.unwrap();
    let token = api_token(&app, "secretariat@forum.example", dialogforum::domain::Role::Organiser).await;
    let list_size = app.db.count("select count(*) from person where status = 'confirmed'").await;
    assert!(list_size > 0, "the demo has people on the list");

    // A meeting whose end lies so late that "thirty days after" is past the last representable instant.
    let late = published_meeting(&app, &token, 90).await;
    let end_of_time = jiff::Timestamp::from_second(253_402_214_400 - 3 * 86_400).unwrap(); // 9999-12-28
    let micros = end_of_time.as_microsecond();
    on_db!(app.db, |pool| sqlx::query("update meeting set ends_at = $1, starts_at = $2 where number = 90")
        .bind(micros)
        .bind(micros - 3_600_000_000)
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected());
    invite_all(&app, &token, &late).await;

    // The next, ordinary invitation must still arrive in every mailbox.
    let normal = published_meeting(&app, &token, 91).await;
    let id = invite_all(&app, &token, &normal).await;
    let state = app.api(&token).campaign_in_state(&id, "done").await;
    assert_eq!(state["sent"].as_i64(), Some(list_size), "{state}");
    let arrived = smtp.wait_for(usize::try_from(list_size).unwrap(), 10).await;
    let for_normal = arrived.iter().filter(|m| m.text().contains("Dialogforum 91")).count();
    assert_eq!(for_normal, usize::try_from(list_size).unwrap(), "every person got the ordinary invitation");
    assert_eq!(app.get("/readyz").await.status(), 200, "the service is still ready");
    app.stop().await;
}
both_engines!(a_meeting_ending_at_the_end_of_time_does_not_stop_the_next_invitation);

async fn readiness_says_not_ready_without_showing_the_database_cause(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.db.execute("delete from _sqlx_migrations where version = (select max(version) from _sqlx_migrations)").await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    let body = res.text().await.unwrap();
    assert!(!body.contains("migrations applied"), "the cause stays in the log: {body}");
    assert!(body.starts_with("not ready"), "{body}");
    app.stop().await;
}
both_engines!(readiness_says_not_ready_without_showing_the_database_cause);

async fn a_meeting_in_the_year_9999_is_refused_on_the_organiser_page_and_in_the_api(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, ORGANISER, dialogforum::domain::Role::Organiser).await;
    let http = app.sign_in(ORGANISER).await.http;
    let page = |path: &str| format!("{}{path}", app.base);
    let html = http.get(page("/admin/meetings/new")).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&html);
    let form = [
        ("csrf", csrf.as_str()),
        ("number", "40"),
        ("title", "Dialogforum ved tidens ende"),
        ("starts_at", "9999-12-28T10:00"),
        ("ends_at", "9999-12-28T12:00"),
        ("format", "physical"),
        ("venue", "KL-huset, Weidekampsgade 10, København S"),
    ];
    let res = http.post_form(page("/admin/meetings/new"), &form).await;
    assert_eq!(res.status(), 422, "the form comes back");
    let html = res.text().await.unwrap();
    for field in ["starts_at", "ends_at"] {
        assert!(html.contains(&format!(r#"id="{field}-error""#)), "a message by {field}: {html}");
    }
    assert!(html.contains("Vælg et tidspunkt i årene 2000–2100."), "{html}");

    let late = json!({
        "title": "Dialogforum ved tidens ende", "number": 41,
        "starts_at": "2030-03-01T09:00:00+01:00", "ends_at": "9999-12-28T12:00:00+01:00",
        "format": "physical", "venue": "KL-huset"
    });
    let res = app.api(&token).post("/meetings", &late).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.starts_with("ends_at:") && detail.contains("2000–2100"), "{problem}");

    // Moving an existing meeting out of range is refused the same way.
    let id = published_meeting(&app, &token, 42).await;
    let res =
        app.api(&token).patch(&format!("/meetings/{id}"), &json!({"starts_at": "1999-06-01T09:00:00+02:00"})).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().starts_with("starts_at:"), "{problem}");
    let years: Vec<i64> =
        on_db!(app.db, |pool| sqlx::query_scalar("select starts_at from meeting").fetch_all(&pool).await.unwrap());
    assert_eq!(years.len(), 1, "only the ordinary meeting was stored");
    app.stop().await;
}
both_engines!(a_meeting_in_the_year_9999_is_refused_on_the_organiser_page_and_in_the_api);

async fn a_campaign_that_cannot_be_expanded_is_set_aside_as_failed_while_the_next_one_is_delivered(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(
        engine,
        &[("mail.transport", "smtp"), ("mail.smtp_url", url.as_str()), ("mail.campaign_retry_secs", "1")],
    )
    .await;
    let token = api_token(&app, ORGANISER, dialogforum::domain::Role::Organiser).await;
    subscriber(&app, &token, "anna@nordlys-it.example", "Anna Holm").await;
    subscriber(&app, &token, "bo@nordlys-it.example", "Bo Lund").await;

    // An invitation for later, whose stored audience is then spoiled behind
    // the app's back and its time brought forward: it falls due and cannot be read.
    let spoiled_meeting = published_meeting(&app, &token, 92).await;
    let res = app
        .api(&token)
        .post(
            &format!("/meetings/{spoiled_meeting}/invitations"),
            &json!({"audience": {"all": true}, "send_at": "2030-01-01T09:00:00+01:00"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let spoiled = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let now = jiff::Timestamp::now().as_microsecond();
    let id = uuid::Uuid::parse_str(&spoiled).unwrap();
    let changed = on_db!(app.db, |pool| sqlx::query(
        "update campaign set audience = '{\"audience\": \"everyone\"}', scheduled_at = $1 where id = $2"
    )
    .bind(now)
    .bind(id)
    .execute(&pool)
    .await
    .unwrap()
    .rows_affected());
    assert_eq!(changed, 1);

    // The next, ordinary invitation goes out to everybody.
    let normal = published_meeting(&app, &token, 93).await;
    let next = invite_all(&app, &token, &normal).await;
    let state = app.api(&token).campaign_in_state(&next, "done").await;
    assert_eq!(state["state"], "done", "the later campaign is not held back: {state}");
    assert_eq!(state["sent"], 2, "{state}");
    let arrived = smtp.wait_for(2, 10).await;
    assert_eq!(arrived.iter().filter(|m| m.text().contains("Dialogforum 93")).count(), 2);

    // The spoiled one is tried three times and then set aside with its reason.
    let failed = app.api(&token).campaign_in_state(&spoiled, "failed").await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["attempts"], 3, "{failed}");
    let reason = failed["failure"].as_str().expect("a reason").to_owned();
    assert!(reason.contains("everyone"), "the reason names what could not be read: {reason}");
    assert_eq!(failed["sent"], 0);

    let http = app.sign_in(ORGANISER).await.http;
    let html = http.get(format!("{}/admin/campaigns", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("fejlet"), "{html}");
    assert!(html.contains("Kunne ikke forberedes") && html.contains("everyone"), "the reason is shown: {html}");
    assert!(html.contains("forsøg 3 af 3"), "{html}");
    assert_eq!(smtp.messages().len(), 2, "nothing went out for the spoiled campaign");
    app.stop().await;
}
both_engines!(a_campaign_that_cannot_be_expanded_is_set_aside_as_failed_while_the_next_one_is_delivered);

async fn readiness_says_not_ready_once_the_outbox_worker_has_stopped(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    assert!(app.running.stop_task(dialogforum::supervise::OUTBOX).await, "there is an outbox worker");
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.text().await.unwrap(), "not ready: the outbox worker is not running");
    assert_eq!(app.get("/healthz").await.status(), 200, "the process is still alive");
    app.stop().await;
}
both_engines!(readiness_says_not_ready_once_the_outbox_worker_has_stopped);

async fn a_background_task_that_fails_is_restarted_and_the_restart_is_counted(engine: Engine) {
    let app = TestApp::spawn_with(engine, &[("reminders.start_hours", "24")]).await;
    let token = api_token(&app, ORGANISER, dialogforum::domain::Role::Organiser).await;
    // A meeting in an hour is due for its start reminder; its stored
    // themes are then spoiled behind the app's back, so reminders fail.
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let body = json!({
        "title": "Dialogforum i morgen", "number": 94,
        "starts_at": soon.to_string(), "ends_at": (soon + jiff::SignedDuration::from_hours(2)).to_string(),
        "format": "physical", "venue": "KL-huset"
    });
    let res = app.api(&token).post("/meetings", &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let res = app.api(&token).act(&format!("/meetings/{id}/publish")).await;
    assert_eq!(res.status(), 200);
    on_db!(app.db, |pool| sqlx::query("update meeting set themes = '{\"not\": \"a list\"}' where number = 94")
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected());

    let restarts = |text: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(r#"dialogforum_task_restarts_total{task="reminders"}"#))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let metrics = common::eventually(
        "a restart in the metrics",
        30,
        || async { app.get("/metrics").await.text().await.unwrap() },
        |text| restarts(text) >= 1,
    )
    .await;
    assert!(restarts(&metrics) >= 1, "{metrics}");
    assert!(metrics.contains(r#"dialogforum_task_restarts_total{task="outbox"}"#), "every task is listed: {metrics}");
    assert_eq!(app.get("/readyz").await.status(), 200, "the outbox worker is untouched");
    app.stop().await;
}
both_engines!(a_background_task_that_fails_is_restarted_and_the_restart_is_counted);

async fn the_metrics_answer_only_with_the_token_when_one_is_set(engine: Engine) {
    let secret = "scrape-me-with-this-32-char-token";
    let app = TestApp::spawn_with(engine, &[("server.metrics_token", secret)]).await;
    let url = format!("{}/metrics", app.base);
    let res = app.http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    let res = app.http.get(&url).bearer_auth("scrape-me-with-a-wrong-32-char-token").send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = app.http.get(&url).bearer_auth(secret).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("dialogforum_"), "the metrics themselves");
    app.stop().await;
}
both_engines!(the_metrics_answer_only_with_the_token_when_one_is_set);

#[test]
fn a_metrics_token_shorter_than_16_characters_is_refused_at_start_up() {
    let (_dir, db) = common::sqlite_in_tempdir("dialogforum.db");
    let out = cli(
        &["migrate"],
        &[("DIALOGFORUM_DATABASE__URL", db.as_str()), ("DIALOGFORUM_SERVER__METRICS_TOKEN", "kort-hemmelig")],
        "",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    common::assert_has(&stderr, &["server.metrics_token", "16"]);
    assert!(!stderr.contains("kort-hemmelig"), "the token is not repeated: {stderr}");
}
