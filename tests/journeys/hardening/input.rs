//! What the service takes from its configuration and its callers: SMTP
//! credentials never travel without TLS, names, titles and addresses carry no
//! invisible or direction-changing characters, `null` in the API means "not
//! set", and a subject that looks like an encoded word reaches the reader as
//! typed.

use crate::common::{self, Engine, TestApp, api_token, cli};

/// Runs `migrate` on a fresh SQLite file with the given SMTP URL and extra settings.
fn migrate_with_smtp(url: &str, extra: &[(&str, &str)]) -> std::process::Output {
    let (_dir, db) = common::sqlite_in_tempdir("dialogforum.db");
    let mut env = vec![
        ("DIALOGFORUM_DATABASE__URL", db.as_str()),
        ("DIALOGFORUM_MAIL__TRANSPORT", "smtp"),
        ("DIALOGFORUM_MAIL__SMTP_URL", url),
    ];
    env.extend_from_slice(extra);
    cli(&["migrate"], &env, "")
}

#[test]
fn a_password_for_the_mail_server_without_tls_is_refused_at_start_up_unless_allowed_for_a_local_relay() {
    let out = migrate_with_smtp("smtp://forum:hemmeligt@relay.example:587", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    common::assert_has(&stderr, &["mail.smtp_url", "TLS"]);
    assert!(!stderr.contains("hemmeligt"), "the password is not repeated: {stderr}");

    for (url, extra) in [
        ("smtp://forum:hemmeligt@relay.example:587?tls=required", &[][..]),
        ("smtps://forum:hemmeligt@relay.example:465", &[][..]),
        ("smtp://relay.example:25", &[][..]),
        ("smtp://forum:hemmeligt@127.0.0.1:25", &[("DIALOGFORUM_MAIL__ALLOW_PLAINTEXT_AUTH", "true")][..]),
    ] {
        let out = migrate_with_smtp(url, extra);
        assert!(out.status.success(), "{url}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

async fn names_and_titles_with_direction_overrides_or_invisible_characters_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let res = app.subscribe("anna@nordlys-it.example", "Anna \u{202E}gpj.exe", "Nordlys IT A/S").await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    common::assert_has(&html, &[r#"id="name-error""#, "usynlige tegn"]);
    let english = app
        .http
        .post(app.url("/subscribe"))
        .header("cookie", "lang=en")
        .form(&[("name", "Anna \u{202E}gpj.exe"), ("email", "anna@"), ("consent", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(english.status(), 422);
    let html = english.text().await.unwrap();
    common::assert_has(&html, &["invisible characters", "Enter a valid e-mail address"]);
    assert!(!html.contains("usynlige") && !html.contains("Skriv en gyldig"), "no Danish on the English page: {html}");
    let stored = app.db.count("select count(*) from person").await;
    assert_eq!(stored, 0, "nothing is stored");

    let token = api_token(&app, "secretariat@forum.example", dialogforum::domain::Role::Organiser).await;
    let res = app
        .api(&token)
        .post(
            "/meetings",
            &serde_json::json!({
                "title": "Dialogforum\u{200B} 30", "number": 30,
                "starts_at": "2030-03-01T09:00:00+01:00", "ends_at": "2030-03-01T12:00:00+01:00",
                "format": "physical", "venue": "KL-huset"
            }),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("title"), "{problem}");
    app.stop().await;
}
both_engines!(names_and_titles_with_direction_overrides_or_invisible_characters_are_refused);

async fn null_for_an_optional_field_in_the_api_means_not_set(engine: Engine) {
    use dialogforum::domain::Role;
    use serde_json::{Value, json};
    let (app, token) = TestApp::with_token(engine, "org@forum.example", Role::Organiser).await;
    let post = |path: &str, body: Value| {
        app.http.post(format!("{}/api/v1{path}", app.base)).bearer_auth(&token).json(&body).send()
    };
    let res = post(
        "/meetings",
        json!({
            "title": "Nul er ikke sat", "number": null, "description": null, "themes": null,
            "starts_at": "2030-03-01T09:00:00+01:00", "ends_at": "2030-03-01T12:00:00+01:00",
            "format": "virtual", "venue": null, "online_url": null, "capacity": null,
            "per_organisation_limit": null, "registration_deadline": null, "tracks": null,
            "programme": [{"title": "Velkomst", "starts_at": null, "ends_at": null, "description": null,
                           "speakers": [{"name": "Ane Andersen", "role": null, "organisation": null}], "track": null}]
        }),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let meeting: Value = res.json().await.unwrap();
    assert_eq!(meeting["description"], "");
    assert_eq!(meeting["tracks"], json!([]));
    let id = meeting["id"].as_str().unwrap().to_owned();

    let res = app
        .api(&token)
        .patch(&format!("/meetings/{id}"), &json!({"title": null, "description": "Nu med tekst", "venue": null}))
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let patched: Value = res.json().await.unwrap();
    assert_eq!(
        (patched["title"].as_str(), patched["description"].as_str()),
        (Some("Nul er ikke sat"), Some("Nu med tekst"))
    );

    let res = post(
        "/subscribers",
        json!({
            "email": "nul@firma.example", "name": "Nina Nul", "organisation": null, "interests": null, "language": null
        }),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());

    let res = app
        .http
        .put(format!("{}/api/v1/meetings/{id}/evaluation", app.base))
        .bearer_auth(&token)
        .json(&json!({"anonymous": null, "questions": [
            {"key": "udbytte", "kind": "rating", "da": "Udbytte", "en": "Value", "options": null}
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let q: Value = res.json().await.unwrap();
    assert_eq!(q["anonymous"], true, "null is the default, true");

    let res = post(
        &format!("/meetings/{id}/invitations"),
        json!({
            "audience": null, "guests": [{"email": "gaest@firma.example", "name": "Gitte Gæst", "organisation": null}],
            "send_at": null
        }),
    )
    .await
    .unwrap();
    // A draft takes no invitations (409); a body refused for its nulls would be 422.
    assert_eq!(res.status(), 409);
    let problem = res.text().await.unwrap();
    assert!(!problem.contains("null"), "not refused for a null: {problem}");

    // The rule is stated in the OpenAPI document.
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["info"]["description"].as_str().unwrap().contains("`null`"));
    app.stop().await;
}
both_engines!(null_for_an_optional_field_in_the_api_means_not_set);
