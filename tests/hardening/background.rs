//! Background work that organiser input cannot stop: a meeting dated at the
//! end of time does not halt the mail, and readiness keeps its causes to the log.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::smtp::SmtpServer;
use crate::common::{TestApp, api_token};
use crate::{both_engines, on_db};

/// Creates and publishes a meeting through the API; returns its id.
async fn published_meeting(app: &TestApp, token: &str, number: i64) -> String {
    let body = json!({
        "title": format!("Dialogforum {number}"), "number": number,
        "starts_at": "2030-03-01T09:00:00+01:00", "ends_at": "2030-03-01T12:00:00+01:00",
        "format": "physical", "venue": "KL-huset, Weidekampsgade 10, København S", "capacity": 60
    });
    let api = |path: &str| format!("{}/api/v1{path}", app.base);
    let res = app.http.post(api("/meetings")).bearer_auth(token).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let m: Value = res.json().await.unwrap();
    let id = m["id"].as_str().expect("a meeting id").to_owned();
    let res = app.http.post(api(&format!("/meetings/{id}/publish"))).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    id
}

/// Invites everybody on the list to the meeting; returns the campaign id.
async fn invite_all(app: &TestApp, token: &str, meeting: &str) -> String {
    let res = app
        .http
        .post(format!("{}/api/v1/meetings/{meeting}/invitations", app.base))
        .bearer_auth(token)
        .json(&json!({"audience": {"all": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn campaign(app: &TestApp, token: &str, id: &str) -> Value {
    let res = app.http.get(format!("{}/api/v1/campaigns/{id}", app.base)).bearer_auth(token).send().await.unwrap();
    res.json().await.unwrap()
}

both_engines! {
    async fn a_meeting_ending_at_the_end_of_time_does_not_stop_the_next_invitation(engine: Engine) {
        let smtp = SmtpServer::start().await;
        let url = smtp.url();
        let app = TestApp::spawn_with(engine, &[("mail.transport", "smtp"), ("mail.smtp_url", url.as_str())]).await;
        dialogforum::demo::load(app.store(), jiff::civil::date(2026, 11, 27)).await.unwrap();
        let token = api_token(&app, "secretariat@forum.example", dialogforum::domain::Role::Organiser).await;
        let list_size: i64 = on_db!(app.db, |pool| sqlx::query_scalar(
            "select count(*) from person where status = 'confirmed'"
        )
        .fetch_one(&pool)
        .await
        .unwrap());
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
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut state = campaign(&app, &token, &id).await;
        while state["state"] != "done" && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            state = campaign(&app, &token, &id).await;
        }
        assert_eq!(state["state"], "done", "{state}");
        assert_eq!(state["sent"].as_i64(), Some(list_size), "{state}");
        let arrived = smtp.wait_for(usize::try_from(list_size).unwrap(), 10).await;
        let for_normal = arrived.iter().filter(|m| m.text().contains("Dialogforum 91")).count();
        assert_eq!(for_normal, usize::try_from(list_size).unwrap(), "every person got the ordinary invitation");
        assert_eq!(app.get("/readyz").await.status(), 200, "the service is still ready");
        app.stop().await;
    }
}

both_engines! {
    async fn readiness_says_not_ready_without_showing_the_database_cause(engine: Engine) {
        let app = TestApp::spawn(engine).await;
        assert_eq!(app.get("/readyz").await.status(), 200);
        on_db!(app.db, |pool| sqlx::query(
            "delete from _sqlx_migrations where version = (select max(version) from _sqlx_migrations)"
        )
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected());
        let res = app.get("/readyz").await;
        assert_eq!(res.status(), 503);
        let body = res.text().await.unwrap();
        assert!(!body.contains("migrations applied"), "the cause stays in the log: {body}");
        assert!(body.starts_with("not ready"), "{body}");
        app.stop().await;
    }
}
