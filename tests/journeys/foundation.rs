//! The foundation, end to end: configuration, the store on both engines, the
//! demo history, pages, organiser sign-in, the API, health, errors and the CLI.

use crate::common;
use crate::common::PostForm as _;

use common::{Engine, TestApp, TestDb, api_token, cli, csrf_of};
use dialogforum::domain::{Email, Role, Token};
use serde_json::Value;

fn today() -> jiff::civil::Date {
    jiff::civil::date(2026, 11, 27)
}

#[test]
fn the_migration_folders_of_the_two_engines_stay_in_step() {
    let names = |engine: &str| {
        let mut v: Vec<String> = std::fs::read_dir(format!("{}/migrations/{engine}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"), "every migration needs a twin with the same version and name");
}

async fn the_demo_history_is_served_and_loading_it_again_changes_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let first = dialogforum::demo::load(app.store(), today()).await.unwrap();
    assert_eq!(first.meetings_added, 17, "sixteen historic meetings and one upcoming");
    assert!(first.people_added >= 5);
    let again = dialogforum::demo::load(app.store(), today()).await.unwrap();
    assert_eq!(again, dialogforum::demo::Report::default());

    let res = app.get("/meetings").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"<html lang="da">"#));
    for expected in
        ["10. oktober 2014", "22. november 2024", "12. maj 2021", "Virtuelt møde", "Kommende møder", "16. møde"]
    {
        assert!(html.contains(expected), "the archive should show {expected:?}");
    }
    let home = app.get("/").await.text().await.unwrap();
    assert!(home.contains("17. møde"), "the home page shows the next meeting");

    let m16 = app.get("/meetings/16").await.text().await.unwrap();
    assert!(m16.contains("Christian Harsløf"), "the programme names the speakers");
    let m4 = app.get("/meetings/4").await.text().await.unwrap();
    assert!(m4.contains("Spor"), "meeting 4 had parallel tracks");
    app.stop().await;
}
both_engines!(the_demo_history_is_served_and_loading_it_again_changes_nothing);

async fn the_english_switch_sets_the_language_and_returns_to_the_page(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let res = app.get("/lang/en?back=/meetings").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/meetings");
    let html = app.get("/meetings").await.text().await.unwrap();
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains("Past meetings"));
    let res = app.get("/lang/da?back=//evil.example/").await;
    assert_eq!(res.headers()["location"], "/", "only same-origin paths are followed");
    app.stop().await;
}
both_engines!(the_english_switch_sets_the_language_and_returns_to_the_page);

async fn the_api_wants_a_bearer_token_and_pages_through_every_meeting_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    dialogforum::demo::load(app.store(), today()).await.unwrap();
    let url = format!("{}/api/v1/meetings", app.base);

    let res = app.http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["status"], 401);
    assert!(problem["detail"].as_str().unwrap().contains("Bearer"));
    let res = app.http.get(&url).bearer_auth(Token::generate().expose()).send().await.unwrap();
    assert_eq!(res.status(), 401, "an unknown token is refused");

    let token = api_token(&app, "secretariat@forum.example", Role::Organiser).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = app.http.get(&url).bearer_auth(&token).query(&[("limit", "5")]);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c)]);
        }
        let page: Value = req.send().await.unwrap().json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["number"].as_i64().unwrap());
        }
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, (1..=17).rev().collect::<Vec<_>>(), "newest first, each meeting once");

    let list: Value = app.http.get(&url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let m16 = list["items"].as_array().unwrap().iter().find(|m| m["number"] == 16).unwrap();
    assert_eq!(m16["starts_at"].as_str().unwrap(), "2024-11-22T12:00:00+01:00", "RFC 3339 in Copenhagen time");
    let one = app.api(&token).json(&format!("/meetings/{}", m16["id"].as_str().unwrap())).await;
    assert_eq!(one["title"], m16["title"]);
    assert_eq!(one["format"], "physical");

    let res = app.http.get(format!("{url}/not-an-id")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let res = app.http.get(&url).bearer_auth(&token).query(&[("cursor", "garbage!")]).send().await.unwrap();
    assert_eq!(res.status(), 400);

    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["paths"]["/meetings"]["get"].is_object());
    assert!(doc["paths"]["/meetings/{id}"]["get"].is_object());
    app.stop().await;
}
both_engines!(the_api_wants_a_bearer_token_and_pages_through_every_meeting_once);

async fn bad_json_and_bad_fields_get_problem_details_that_name_the_problem(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "secretariat@forum.example", Role::Organiser).await;
    let url = format!("{}/api/v1/meetings", app.base);
    let post = |body: &'static str| {
        app.http.post(&url).bearer_auth(&token).header("content-type", "application/json").body(body).send()
    };

    let res = post("{\"title\": ").await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let p: Value = res.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("JSON"), "{p}");

    let res = post(r#"{"title": "Møde", "starts_at": "2027-02-05T09:30:00+01:00", "ends_at": "2027-02-05T08:00:00+01:00", "format": "physical"}"#).await.unwrap();
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().starts_with("ends_at:"), "{p}");

    let res = post(r#"{"title": "Møde", "starts_at": "2027-02-05T09:30:00+01:00", "ends_at": "2027-02-05T15:00:00+01:00", "format": "outdoor"}"#).await.unwrap();
    assert_eq!(res.status(), 422);

    let ok = r#"{"title": "Det 18. møde", "number": 18, "starts_at": "2027-05-07T09:30:00+02:00", "ends_at": "2027-05-07T15:00:00+02:00", "format": "hybrid", "capacity": 70,
        "tracks": [{"key": "ai", "title": "AI"}], "programme": [{"title": "Velkomst", "track": "ai", "speakers": [{"name": "Søren Ærø", "organisation": "KL"}]}]}"#;
    let res = post(ok).await.unwrap();
    assert_eq!(res.status(), 201);
    let m: Value = res.json().await.unwrap();
    assert_eq!(m["status"], "draft");
    assert_eq!(m["starts_at"], "2027-05-07T09:30:00+02:00");
    assert_eq!(m["programme"][0]["speakers"][0]["name"], "Søren Ærø");
    let res = post(ok).await.unwrap();
    assert_eq!(res.status(), 409, "meeting numbers are unique");

    let viewer = api_token(&app, "viewer@forum.example", Role::Viewer).await;
    let res = app.http.post(&url).bearer_auth(&viewer).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(res.status(), 403, "a viewer cannot create meetings");

    let res = app.http.delete(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    app.stop().await;
}
both_engines!(bad_json_and_bad_fields_get_problem_details_that_name_the_problem);

async fn an_oversized_body_is_refused_with_413(engine: Engine) {
    let app = TestApp::spawn_with(engine, &[("server.body_limit_bytes", "1024")]).await;
    let token = api_token(&app, "secretariat@forum.example", Role::Organiser).await;
    let res = app
        .http
        .post(format!("{}/api/v1/meetings", app.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!("{{\"title\": \"{}\"}}", "x".repeat(4096)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let res = app.http.post(format!("{}/login", app.base)).body("x".repeat(4096)).send().await.unwrap();
    assert_eq!(res.status(), 413);
    app.stop().await;
}
both_engines!(an_oversized_body_is_refused_with_413);

/// The value of the session cookie set by `res`, with its attributes.
fn set_cookie(res: &reqwest::Response) -> String {
    res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>().join("\n")
}

async fn an_organiser_signs_in_with_a_session_cookie_and_signs_out(engine: Engine) {
    let app = TestApp::with_accounts(engine, &[("organiser@forum.example", Role::Organiser)]).await;

    let res = app.get("/admin").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?next=%2Fadmin");

    let login = format!("{}/login", app.base);
    let res =
        app.http.post_form(&login, &[("email", "organiser@forum.example"), ("password", "wrong password!!")]).await;
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("adgangskoden er forkert"));
    let res = app.http.post_form(&login, &[("email", "nobody@forum.example"), ("password", "wrong password!!")]).await;
    assert_eq!(res.status(), 401, "unknown accounts get the same answer");

    let res = app
        .http
        .post_form(
            &login,
            &[("email", "Organiser@Forum.example"), ("password", "a long enough password"), ("next", "/admin")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let cookie = set_cookie(&res);
    assert!(cookie.starts_with("dialogforum_session="), "{cookie}");
    common::assert_has(&cookie, &["HttpOnly", "SameSite=Lax"]);
    assert!(!cookie.contains("Secure"), "plain http in tests");

    let html = app.get("/admin").await.text().await.unwrap();
    assert!(html.contains("organiser@forum.example"));
    let res = app.post_form("/logout", &[("csrf", "forged")]).await;
    assert_eq!(res.status(), 403, "a form without the session's CSRF token is refused");
    assert_eq!(app.get("/admin").await.status(), 200, "and the session lives on");

    let res = app.http.post_form(format!("{}/logout", app.base), &[("csrf", csrf_of(&html))]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.get("/admin").await.status(), 303, "after logout the session is gone");
    app.stop().await;
}
both_engines!(an_organiser_signs_in_with_a_session_cookie_and_signs_out);

async fn a_cross_site_post_is_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let res = app
        .http
        .post(format!("{}/login", app.base))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .form(&[("email", "a@b.dk"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    app.stop().await;
}
both_engines!(a_cross_site_post_is_refused);

async fn pages_carry_security_headers_and_errors_are_friendly(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let res = app.get("/").await;
    let h = res.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("object-src 'none'") && csp.contains("base-uri 'none'") && !csp.contains("unsafe-inline"));
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");

    let res = app.get("/no/such/page").await;
    assert_eq!(res.status(), 404);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = res.text().await.unwrap();
    assert!(html.contains("Siden findes ikke") && html.contains(r#"<html lang="da">"#));
    let res = app.get("/api/v1/no/such/thing").await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(app.get("/meetings/999").await.status(), 404);
    app.stop().await;
}
both_engines!(pages_carry_security_headers_and_errors_are_friendly);

async fn health_readiness_and_metrics_answer(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    assert_eq!(app.get("/healthz").await.text().await.unwrap(), "ok");
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.get("/").await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("dialogforum_http_requests_total"), "{metrics}");
    assert!(metrics.contains("dialogforum_outbox_messages{status=\"queued\"} 0"), "{metrics}");
    app.stop().await;
}
both_engines!(health_readiness_and_metrics_answer);

async fn concurrent_writers_queue_instead_of_failing(engine: Engine) {
    // Two stores on one database act like two processes; each also has many
    // tasks writing at once. Nothing may fail with "database is locked".
    let db = TestDb::new(engine).await;
    let a = db.store().await;
    let b = db.store().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.spawn(async move {
            let mut tx = store.begin().await?;
            let person = dialogforum::store::people::NewPerson {
                email: Email::parse(&format!("p{i}@firma.example")).unwrap(),
                name: dialogforum::domain::Name::parse("Test").unwrap(),
                organisation: Some(dialogforum::domain::Name::parse(&format!("Firma {}", i % 7)).unwrap()),
                status: dialogforum::domain::PersonStatus::Confirmed,
                interests: vec![],
            };
            dialogforum::store::people::insert_person_if_new(&mut tx, &person, None).await?;
            tx.commit().await
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().expect("a concurrent write failed");
    }
    let counts = a.person_counts().await.unwrap();
    assert_eq!(counts, vec![("confirmed".to_owned(), 60)]);
    a.close().await;
    b.close().await;
    db.drop_db().await;
}
both_engines!(concurrent_writers_queue_instead_of_failing);

#[test]
fn the_cli_adds_users_creates_tokens_and_explains_bad_settings() {
    let (_dir, db) = common::sqlite_in_tempdir("cli.db");
    let env = [("DIALOGFORUM_DATABASE__URL", db.as_str())];

    let out = cli(&["migrate"], &env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = cli(&["user", "add", "--email", "admin@forum.example", "--role", "admin"], &env, "short\n");
    assert!(!out.status.success(), "a short password is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12"));
    let out =
        cli(&["user", "add", "--email", "admin@forum.example", "--role", "admin"], &env, "a long enough password\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("admin@forum.example"), "addresses are masked");

    let out = cli(&["token", "create", "--email", "admin@forum.example"], &env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let token = stdout.lines().last().unwrap();
    assert!(Token::from_presented(token).is_some(), "the last line is the token: {token}");
    let out = cli(&["token", "create", "--email", "nobody@forum.example"], &env, "");
    assert!(!out.status.success());

    let out = cli(&["demo"], &env, "");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("17 meeting(s)"));
    let out = cli(&["demo"], &env, "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 meeting(s) and 0 contact(s)"));

    let out = cli(&["migrate"], &[("DIALOGFORUM_SERVER__BASE_URL", "not a url")], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.base_url"));
    let out = cli(&["migrate"], &[("DIALOGFORUM_MAIL__MAX_CONNECTIONS", "many")], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("max_connections"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = cli(&["migrate"], &[("DIALOGFORUM_DATABASE__URL", "postgres://dialogforum:secret@127.0.0.1:1/none")], "");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open the database"), "{err}");
    assert!(!err.contains("secret"), "the password is not shown: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_while_postgres_refuses_connections_and_recovers_by_itself() {
    let Some(admin) = common::postgres_url() else { return };
    let app = TestApp::spawn(Engine::Postgres).await;
    dialogforum::demo::load(app.store(), today()).await.unwrap();
    let name = app.db.url.rsplit('/').next().unwrap().to_owned();
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    let exec = |sql: String| {
        let pool = pool.clone();
        async move { sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap() }
    };
    exec(format!("alter database {name} allow_connections false")).await;
    exec(format!("select pg_terminate_backend(pid) from pg_stat_activity where datname = '{name}'")).await;

    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    let res = app.get("/meetings").await;
    assert_eq!(res.status(), 503);
    assert!(res.text().await.unwrap().contains("midlertidigt utilgængelig"));

    exec(format!("alter database {name} allow_connections true")).await;
    let readiness = || async { app.get("/readyz").await.status() };
    common::eventually("readiness to return with the database", 5, readiness, |s| *s == 200).await;
    assert_eq!(app.get("/meetings").await.status(), 200);
    pool.close().await;
    app.stop().await;
}

#[test]
fn sigterm_stops_the_service_cleanly() {
    let (_dir, db) = common::sqlite_in_tempdir("term.db");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dialogforum"))
        .args(["serve"])
        .env("DIALOGFORUM_DATABASE__URL", &db)
        .env("DIALOGFORUM_SERVER__BIND", "127.0.0.1:0")
        .env("DIALOGFORUM_MAIL__TRANSPORT", "log")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it says it is running.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("is running at") {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0, "serve exited early");
    }
    let addr = line.split("http://").nth(1).unwrap().split('/').next().unwrap().to_owned();
    assert!(std::net::TcpStream::connect(&addr).is_ok());
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "serve did not stop after SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(exit.success(), "a clean stop exits 0: {exit:?}");
    assert!(std::net::TcpStream::connect(&addr).is_err(), "the port is closed");
}
