//! Trust, end to end over HTTP on both engines: what each role may do on
//! every page and API route, sessions (fresh at login, ended by logout, by a
//! password change elsewhere, by idle and absolute timeouts), login
//! throttling, security headers and redirects, the audit log (what it records,
//! who may read it, that it only grows, and its retention), and the admin
//! pages for users and API tokens.

use crate::common;
use crate::common::PostForm as _;

use common::{Engine, PASSWORD, SignedIn, TestApp, TestDb, api_token, client, csrf_of};
use dialogforum::app::{self, StartOptions};
use dialogforum::domain::Role;
use dialogforum::store::db_time;
use dialogforum::store::retention::{self, Policy};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// The one id that `sql` selects.
async fn id_of(db: &TestDb, sql: &'static str) -> uuid::Uuid {
    on_db!(db, |pool| sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap())
}

/// The audit entries as (action, detail, row count), oldest first.
async fn audit_entries(db: &TestDb) -> Vec<(String, String, Option<i64>)> {
    on_db!(db, |pool| sqlx::query_as("select action, detail, row_count from audit_log order by id")
        .fetch_all(&pool)
        .await
        .unwrap())
}

/// Page routes of the organiser workspace, with the method. `{id}` is
/// replaced by a fresh id. Routes a viewer may read are `Read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Change,
    Export,
    /// Lists of people and their details: organisers and admins.
    Personal,
    AdminOnly,
    Own,
}

const PAGES: &[(&str, &str, Kind)] = &[
    ("GET", "/admin", Kind::Read),
    ("GET", "/admin/people", Kind::Personal),
    ("GET", "/admin/people/{id}", Kind::Personal),
    ("POST", "/admin/people/{id}", Kind::Change),
    ("POST", "/admin/people/{id}/erase", Kind::Change),
    ("GET", "/admin/organisations", Kind::Read),
    ("POST", "/admin/organisations/{id}", Kind::Change),
    ("GET", "/admin/meetings/{id}/checkin", Kind::Personal),
    ("GET", "/admin/meetings/{id}/checkin/{id}", Kind::Personal),
    ("GET", "/admin/meetings/{id}/waitlist", Kind::Personal),
    ("GET", "/admin/meetings/{id}/registrations", Kind::Read),
    ("POST", "/admin/meetings/{id}/checkin/{id}", Kind::Change),
    ("GET", "/admin/password", Kind::Own),
    ("GET", "/admin/users", Kind::AdminOnly),
    ("POST", "/admin/users", Kind::AdminOnly),
    ("POST", "/admin/users/{id}/role", Kind::AdminOnly),
    ("POST", "/admin/users/{id}/disable", Kind::AdminOnly),
    ("POST", "/admin/users/{id}/enable", Kind::AdminOnly),
    ("GET", "/admin/tokens", Kind::AdminOnly),
    ("POST", "/admin/tokens", Kind::AdminOnly),
    ("POST", "/admin/tokens/{id}/revoke", Kind::AdminOnly),
    ("GET", "/admin/audit", Kind::AdminOnly),
    ("GET", "/admin/audit/export.csv", Kind::AdminOnly),
    ("GET", "/admin/meetings/{id}/door-list", Kind::Personal),
    ("POST", "/admin/meetings/{id}/walk-in", Kind::Change),
    ("POST", "/admin/meetings/{id}/registrations/add", Kind::Change),
    ("POST", "/admin/meetings/{id}/registrations/{id}/seat", Kind::Change),
    ("POST", "/admin/meetings/{id}/message", Kind::Change),
    // Routes of any shape that may come later fall under the same rules.
    ("POST", "/admin/some/new/change", Kind::Change),
    ("GET", "/admin/meetings/{id}/participants.csv", Kind::Export),
    ("GET", "/admin/meetings/{id}/participants.xlsx", Kind::Export),
    ("GET", "/admin/exports/subscribers", Kind::Export),
];

fn fill(path: &str) -> String {
    let mut out = path.to_owned();
    while let Some(start) = out.find('{') {
        let end = out[start..].find('}').unwrap() + start;
        out.replace_range(start..=end, &uuid::Uuid::now_v7().to_string());
    }
    out
}

async fn a_viewer_is_refused_every_change_and_export_and_anonymous_callers_must_sign_in(engine: Engine) {
    let (app, viewer_token) = TestApp::with_token(engine, "viewer@forum.example", Role::Viewer).await;
    let organiser_token = api_token(&app, "organiser@forum.example", Role::Organiser).await;
    let SignedIn { http: viewer, csrf, .. } = app.sign_in("viewer@forum.example").await;
    let anonymous = client();

    // Every organiser page.
    for (method, path, kind) in PAGES {
        let url = format!("{}{}", app.base, fill(path));
        let send = |http: &reqwest::Client| {
            let req = if *method == "GET" { http.get(&url) } else { http.post(&url).form(&[("csrf", csrf.as_str())]) };
            req.send()
        };
        let res = send(&anonymous).await.unwrap();
        assert_eq!(res.status(), 303, "anonymous {method} {path}");
        assert!(location(&res).starts_with("/login?next="), "anonymous {method} {path} goes to the login page");
        let status = send(&viewer).await.unwrap().status().as_u16();
        match kind {
            Kind::Change | Kind::Export | Kind::Personal | Kind::AdminOnly => {
                assert_eq!(status, 403, "viewer {method} {path}");
            }
            Kind::Read | Kind::Own => assert!(status == 200 || status == 404, "viewer {method} {path}: {status}"),
        }
    }

    // Every API route in the OpenAPI document, whatever is added later.
    let doc: serde_json::Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let mut walked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            let Ok(m) = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()) else { continue };
            if !matches!(m.as_str(), "GET" | "POST" | "PUT" | "PATCH" | "DELETE") {
                continue;
            }
            walked += 1;
            let url = format!("{}/api/v1{}", app.base, fill(path));
            let call = |token: Option<&str>| {
                let mut req = app.http.request(m.clone(), &url).header("content-type", "application/json").body("{}");
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                req.send()
            };
            let res = call(None).await.unwrap();
            assert_eq!(res.status(), 401, "anonymous {m} {path}");
            assert_eq!(res.headers()["content-type"], "application/problem+json");
            let res = call(Some("not-a-token-at-all-but-long-enough-to-look-like-one")).await.unwrap();
            assert_eq!(res.status(), 401, "a made-up token on {m} {path}");
            let export = std::path::Path::new(path)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("xlsx"))
                || path.contains("export");
            let personal = path.starts_with("/subscribers") || path.ends_with("/registrations");
            let status = call(Some(&viewer_token)).await.unwrap().status().as_u16();
            if m == reqwest::Method::GET && !export && !personal {
                assert!(![401, 403].contains(&status), "viewer may read {m} {path}: {status}");
            } else {
                assert_eq!(status, 403, "viewer {m} {path}");
            }
            if m == reqwest::Method::GET {
                let status = call(Some(&organiser_token)).await.unwrap().status().as_u16();
                assert!(![401, 403].contains(&status), "organiser {m} {path}: {status}");
            }
        }
    }
    assert!(walked >= 15, "the OpenAPI document lists the API ({walked} operations)");
    // Routes of any shape that may come later fall under the same rules.
    for (m, path) in [
        ("POST", "/meetings/{id}/some-new-action"),
        ("GET", "/subscribers.csv"),
        ("GET", "/meetings/{id}/participants.xlsx"),
    ] {
        let url = format!("{}/api/v1{}", app.base, fill(path));
        let m = reqwest::Method::from_bytes(m.as_bytes()).unwrap();
        let res = app.http.request(m.clone(), &url).bearer_auth(&viewer_token).send().await.unwrap();
        assert!((403..=405).contains(&res.status().as_u16()), "viewer {m} {path}: {}", res.status());
    }
    app.stop().await;
}
both_engines!(a_viewer_is_refused_every_change_and_export_and_anonymous_callers_must_sign_in);

async fn login_is_throttled_per_account_with_one_answer_for_known_and_unknown_accounts(engine: Engine) {
    let app = TestApp::spawn_with(engine, &[("security.login_attempts_per_account", "3")]).await;
    api_token(&app, "organiser@forum.example", Role::Organiser).await;
    api_token(&app, "colleague@forum.example", Role::Organiser).await;
    let http = client();
    for account in ["organiser@forum.example", "nobody@forum.example"] {
        for _ in 0..3 {
            let res = app.log_in(&http, account, "wrong password!!").await;
            assert_eq!(res.status(), 401, "{account}");
            assert!(res.text().await.unwrap().contains("adgangskoden er forkert"));
        }
    }
    let known = app.log_in(&http, "organiser@forum.example", "wrong password!!").await;
    let unknown = app.log_in(&http, "nobody@forum.example", "wrong password!!").await;
    assert_eq!(
        (known.status(), unknown.status()),
        (reqwest::StatusCode::TOO_MANY_REQUESTS, reqwest::StatusCode::TOO_MANY_REQUESTS)
    );
    let (known, unknown) = (known.text().await.unwrap(), unknown.text().await.unwrap());
    assert_eq!(
        known.replace("organiser@forum.example", "X"),
        unknown.replace("nobody@forum.example", "X"),
        "the same answer"
    );
    assert!(known.contains("For mange forsøg"));
    let res = app.log_in(&http, "Organiser@forum.example", PASSWORD).await;
    assert_eq!(res.status(), 429, "even the right password waits while the account is throttled");
    let res = app.log_in(&http, "colleague@forum.example", PASSWORD).await;
    assert_eq!(res.status(), 303, "another account from the same client signs in");

    // Failed logins are in the audit log, with the address masked.
    let entries = audit_entries(&app.db).await;
    let failed: Vec<_> = entries.iter().filter(|(a, _, _)| a == "login.failed").collect();
    assert_eq!(failed.len(), 6);
    assert!(failed.iter().any(|(_, d, _)| d == "o***@forum.example"), "{failed:?}");
    assert!(entries.iter().all(|(_, d, _)| !d.contains("organiser@") && !d.contains("nobody@")), "{entries:?}");
    assert!(entries.iter().any(|(a, _, _)| a == "login.throttled"));
    app.stop().await;
}
both_engines!(login_is_throttled_per_account_with_one_answer_for_known_and_unknown_accounts);

async fn login_is_throttled_per_client_address_behind_a_trusted_proxy(engine: Engine) {
    let db = TestDb::new(engine).await;
    let mut settings = common::settings(&db, &[("security.login_attempts_per_ip", "4")]);
    settings.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let running = app::start(settings, StartOptions::default()).await.unwrap();
    let base = format!("http://{}", running.addr);
    let app = TestApp { db, running, base, http: client() };
    api_token(&app, "organiser@forum.example", Role::Organiser).await;
    let attempt = |from: &'static str, email: String, password: &'static str| {
        client()
            .post(format!("{}/login", app.base))
            .header("x-forwarded-for", from)
            .form(&[("email", email.as_str()), ("password", password)])
            .send()
    };
    for i in 0..4 {
        let res = attempt("203.0.113.7", format!("guess{i}@forum.example"), "wrong password!!").await.unwrap();
        assert_eq!(res.status(), 401);
    }
    let res = attempt("203.0.113.7", "organiser@forum.example".into(), PASSWORD).await.unwrap();
    assert_eq!(res.status(), 429, "the client has used its attempts");
    let res = attempt("203.0.113.8", "organiser@forum.example".into(), PASSWORD).await.unwrap();
    assert_eq!(res.status(), 303, "another client is not held back");
    app.stop().await;
}
both_engines!(login_is_throttled_per_client_address_behind_a_trusted_proxy);

async fn a_password_change_ends_the_other_sessions_and_keeps_this_one(engine: Engine) {
    let app = TestApp::with_accounts(engine, &[("viewer@forum.example", Role::Viewer)]).await;
    let here = app.sign_in("viewer@forum.example").await;
    let elsewhere = app.sign_in("viewer@forum.example").await;
    let page = here.page("/admin/password").await;
    assert!(page.contains(r#"<label for="current">"#) && page.contains(r#"id="new""#));

    let change = |current: &'static str, new: &'static str, repeat: &'static str| {
        let here = &here;
        async move { here.post("/admin/password", &[("current", current), ("new", new), ("repeat", repeat)]).await }
    };
    let refused = [
        ("not my password", "a brand new password", "a brand new password", "current-error"),
        (PASSWORD, "short", "short", "new-error"),
        (PASSWORD, "a brand new password", "another new password", "repeat-error"),
    ];
    for (current, new, repeat, error) in refused {
        let res = change(current, new, repeat).await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains(&format!(r#"id="{error}""#)), "{html}");
        if error == "current-error" {
            assert!(html.contains(r#"aria-describedby="current-error""#), "{html}");
        }
    }
    assert_eq!(elsewhere.get("/admin").await.status(), 200, "nothing changed yet");

    let res = change(PASSWORD, "a brand new password", "a brand new password").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Adgangskoden er skiftet"));
    assert_eq!(here.get("/admin").await.status(), 200, "this session lives on");
    assert_eq!(elsewhere.get("/admin").await.status(), 303, "the other one ended");
    assert_eq!(app.log_in(&client(), "viewer@forum.example", PASSWORD).await.status(), 401, "the old password is gone");
    assert_eq!(app.log_in(&client(), "viewer@forum.example", "a brand new password").await.status(), 303);
    assert!(audit_entries(&app.db).await.iter().any(|(a, _, n)| a == "user.password_change" && *n == Some(1)));
    app.stop().await;
}
both_engines!(a_password_change_ends_the_other_sessions_and_keeps_this_one);

/// Sets every session's last activity `minutes` ago.
async fn last_seen_minutes_ago(app: &TestApp, minutes: i64) {
    let at = jiff::Timestamp::now().as_microsecond() - minutes * 60_000_000;
    on_db!(app.db, |pool| sqlx::query("update user_session set last_seen_at = $1")
        .bind(at)
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected());
}

async fn sessions_are_fresh_at_login_and_end_at_logout_and_after_idle_and_absolute_timeouts(engine: Engine) {
    let app = TestApp::spawn_with(
        engine,
        &[("security.session_idle_minutes", "60"), ("security.session_absolute_hours", "12")],
    )
    .await;
    api_token(&app, "organiser@forum.example", Role::Organiser).await;
    let admin = format!("{}/admin", app.base);
    let session_cookie =
        |res: &reqwest::Response| res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let http = client();
    let first = session_cookie(&app.log_in(&http, "organiser@forum.example", PASSWORD).await);
    let second = session_cookie(&app.log_in(&http, "organiser@forum.example", PASSWORD).await);
    assert_ne!(first, second, "a new session id at every login");

    // Idle: last seen 61 minutes ago.
    let http = app.sign_in("organiser@forum.example").await.http;
    last_seen_minutes_ago(&app, 59).await;
    assert_eq!(http.get(&admin).send().await.unwrap().status(), 200, "59 minutes idle is fine");
    last_seen_minutes_ago(&app, 61).await;
    let res = http.get(&admin).send().await.unwrap();
    assert_eq!(res.status(), 303, "61 minutes idle ends the session");
    assert_eq!(location(&res), "/login?next=%2Fadmin");

    // Absolute: started 12 hours and a minute ago, though active just now.
    let minutes_ago = |m: i64| jiff::Timestamp::now().as_microsecond() - m * 60_000_000;
    let http = app.sign_in("organiser@forum.example").await.http;
    let ages = [
        (11 * 60 + 59, 200, "11 hours 59 minutes is fine"),
        (12 * 60 + 1, 303, "12 hours after login the session ends"),
    ];
    for (started, status, what) in ages {
        on_db!(app.db, |pool| sqlx::query("update user_session set created_at = $1, last_seen_at = $2")
            .bind(minutes_ago(started))
            .bind(minutes_ago(0))
            .execute(&pool)
            .await
            .unwrap()
            .rows_affected());
        assert_eq!(http.get(&admin).send().await.unwrap().status(), status, "{what}");
    }

    // Logout ends the session on the server, not only in the browser.
    let http = client();
    let res = app.log_in(&http, "organiser@forum.example", PASSWORD).await;
    let cookie = session_cookie(&res);
    let html = http.get(&admin).send().await.unwrap().text().await.unwrap();
    let res = http.post_form(format!("{}/logout", app.base), &[("csrf", csrf_of(&html))]).await;
    assert_eq!(res.status(), 303);
    let replay = client().get(&admin).header("cookie", cookie).send().await.unwrap();
    assert_eq!(replay.status(), 303, "the old cookie no longer opens anything");
    app.stop().await;
}
both_engines!(sessions_are_fresh_at_login_and_end_at_logout_and_after_idle_and_absolute_timeouts);

fn assert_security_headers(res: &reqwest::Response, what: &str) {
    let h = res.headers();
    assert_eq!(h.get("content-security-policy").map(|v| v.to_str().unwrap()), Some(CSP), "{what}");
    assert_eq!(h.get("referrer-policy").map(|v| v.to_str().unwrap()), Some("no-referrer"), "{what}");
    assert_eq!(h.get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"), "{what}");
    assert_eq!(h.get("x-frame-options").map(|v| v.to_str().unwrap()), Some("DENY"), "{what}");
}

async fn every_answer_carries_the_security_headers(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "organiser@forum.example", Role::Organiser).await;
    for path in [
        "/",
        "/login",
        "/meetings",
        "/subscribe",
        "/no/such/page",
        "/admin",
        "/static/site.css",
        "/healthz",
        "/api/v1/openapi.json",
        "/api/v1/meetings",
        "/api/v1/no/such/thing",
        "/unsubscribe/not-a-token",
    ] {
        let res = app.get(path).await;
        assert_security_headers(&res, path);
    }
    let res = app.api(&token).get("/subscribers").await;
    assert_eq!(res.status(), 200);
    assert_security_headers(&res, "an API answer");
    let res = app
        .http
        .post(format!("{}/api/v1/meetings", app.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_security_headers(&res, "an API error");
    let res = app.log_in(&client(), "organiser@forum.example", "wrong password!!").await;
    assert_eq!(res.status(), 401);
    assert_security_headers(&res, "a failed login");
    let html = res.text().await.unwrap();
    assert!(!html.contains("<script") && !html.contains(" style="), "no inline script or style");
    assert!(app.get("/").await.headers().get("strict-transport-security").is_none(), "not over plain http");
    app.stop().await;

    // Served over https: HSTS, and the session cookie is Secure and __Host- prefixed.
    let app = TestApp::spawn_with(engine, &[("server.base_url", "https://forum.example")]).await;
    api_token(&app, "organiser@forum.example", Role::Organiser).await;
    let res = app.get("/").await;
    assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000");
    assert_security_headers(&res, "over https");
    let res = app.log_in(&client(), "organiser@forum.example", PASSWORD).await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("__Host-dialogforum_session=") && cookie.contains("; Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain="), "{cookie}");
    app.stop().await;
}
both_engines!(every_answer_carries_the_security_headers);

async fn the_login_only_leads_back_to_paths_on_this_site(engine: Engine) {
    let app = TestApp::with_accounts(engine, &[("organiser@forum.example", Role::Organiser)]).await;
    for evil in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "http:evil.example",
        "javascript:alert(1)",
        " //evil.example",
    ] {
        let res = client()
            .post_form(
                format!("{}/login", app.base),
                &[("email", "organiser@forum.example"), ("password", PASSWORD), ("next", evil)],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), "/admin", "{evil:?} is refused");
        let page = app
            .get(&format!("/login?next={}", url::form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>()))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains(r#"name="next" value="/""#), "{evil:?} is not carried on");
    }
    let res = client()
        .post_form(
            format!("{}/login", app.base),
            &[("email", "organiser@forum.example"), ("password", PASSWORD), ("next", "/admin/people?q=anna")],
        )
        .await;
    assert_eq!(location(&res), "/admin/people?q=anna", "a path on this site is followed");
    app.stop().await;
}
both_engines!(the_login_only_leads_back_to_paths_on_this_site);

async fn views_searches_exports_and_erasures_of_personal_data_are_audited(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "organiser@forum.example", Role::Organiser).await;
    api_token(&app, "admin@forum.example", Role::Admin).await;
    let anna = app.confirmed_person("anna@firma.example", "Anna Bøgh", "Firma A/S").await;
    app.confirmed_person("bo@firma.example", "Bo Berg", "Firma A/S").await;
    let SignedIn { http, csrf, .. } = app.sign_in("organiser@forum.example").await;

    let res = http.get(format!("{}/admin/people/{}", app.base, anna.uuid())).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = http.get(format!("{}/admin/people?q=firma", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.api(&token).get("/subscribers?q=Berg").await;
    assert_eq!(res.status(), 200);
    let res = app.api(&token).get(&format!("/subscribers/{}", anna.uuid())).await;
    assert_eq!(res.status(), 200);
    let meeting = uuid::Uuid::now_v7();
    on_db!(app.db, |pool| {
        sqlx::query("insert into meeting (id, title, starts_at, ends_at, format, status, created_at, updated_at) values ($1, 'Mødet', 0, 0, 'physical', 'open', 0, 0)")
        .bind(meeting).execute(&pool).await.unwrap().rows_affected()
    });
    let res = http.get(format!("{}/admin/meetings/{meeting}/checkin", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let admin = app.sign_in("admin@forum.example").await.http;
    let res = admin.get(format!("{}/admin/audit/export.csv?action=person.search", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);

    let entries = audit_entries(&app.db).await;
    let has = |action: &str, detail: &str, rows: Option<i64>| {
        entries.iter().any(|(a, d, n)| a == action && d == detail && *n == rows)
    };
    assert!(has("person.view", "", Some(1)), "{entries:?}");
    assert!(has("person.search", "firma", Some(2)), "{entries:?}");
    assert!(has("subscribers.list", "q=Berg", Some(1)), "{entries:?}");
    assert!(has("subscriber.view", "", Some(1)), "{entries:?}");
    assert!(entries.iter().any(|(a, _, n)| a == "audit.export" && *n == Some(1)), "{entries:?}");
    assert!(has("checkin.view", "", Some(0)), "the door list, unfiltered: {entries:?}");

    // The person's own data download names who looked at them.
    let data = app.store().personal_data(anna).await.unwrap();
    let seen: Vec<_> = data.audit.iter().map(|e| e.action.as_str()).collect();
    assert!(seen.contains(&"person.view") && seen.contains(&"subscriber.view"), "{seen:?}");

    let res = http
        .post_form(
            format!("{}/admin/people/{}/erase", app.base, anna.uuid()),
            &[("csrf", csrf.as_str()), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let entries = audit_entries(&app.db).await;
    assert!(entries.iter().any(|(a, _, _)| a == "person.erase"), "{entries:?}");
    app.stop().await;
}
both_engines!(views_searches_exports_and_erasures_of_personal_data_are_audited);

async fn admins_read_and_filter_the_audit_log_and_others_are_refused(engine: Engine) {
    let app = TestApp::with_accounts(
        engine,
        &[
            ("admin@forum.example", Role::Admin),
            ("organiser@forum.example", Role::Organiser),
            ("viewer@forum.example", Role::Viewer),
        ],
    )
    .await;
    app.confirmed_person("anna@firma.example", "Anna Bøgh", "Firma A/S").await;
    let organiser = app.sign_in("organiser@forum.example").await.http;
    for i in 0..55 {
        let res = organiser.get(format!("{}/admin/people?q=term{i}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    let viewer = app.sign_in("viewer@forum.example").await.http;
    for (who, http) in [("organiser", &organiser), ("viewer", &viewer)] {
        for path in ["/admin/audit", "/admin/audit/export.csv"] {
            assert_eq!(http.get(format!("{}{path}", app.base)).send().await.unwrap().status(), 403, "{who} {path}");
        }
    }

    let admin = app.sign_in("admin@forum.example").await.http;
    let get = |query: &str| admin.get(format!("{}/admin/audit?{query}", app.base)).send();
    let html = get("action=person.search").await.unwrap().text().await.unwrap();
    assert!(html.contains("term54") && !html.contains("term4<"), "newest first, fifty a page");
    let older = html
        .split(r#"<a href="/admin/audit?"#)
        .nth(1)
        .expect("a link to older entries")
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    let html = get(&older).await.unwrap().text().await.unwrap();
    assert!(html.contains("term4<") && html.contains("term0<") && !html.contains("term54"), "the second page");

    let html = get("subject=TERM17").await.unwrap().text().await.unwrap();
    assert!(html.contains("term17<") && !html.contains("term18<"), "by search term, in any case");
    let organiser_id: String = on_db!(app.db, |pool| sqlx::query_scalar::<_, uuid::Uuid>(
        "select id from app_user where email = 'organiser@forum.example'"
    )
    .fetch_one(&pool)
    .await
    .unwrap())
    .to_string();
    let html = get(&format!("actor={organiser_id}&action=login")).await.unwrap().text().await.unwrap();
    assert!(
        html.contains("o***@forum.example") && !html.contains("v***@forum.example") && !html.contains("term3<"),
        "by actor and action"
    );
    let today = jiff::Timestamp::now().to_zoned_datetime(dialogforum::domain::copenhagen()).date();
    let html = get(&format!("from={today}&until={today}&action=person.search")).await.unwrap().text().await.unwrap();
    assert!(html.contains("term54"), "today");
    let tomorrow = today.tomorrow().unwrap();
    let html = get(&format!("from={tomorrow}")).await.unwrap().text().await.unwrap();
    assert!(!html.contains("term54") && html.contains("Ingen hændelser"), "nothing tomorrow");
    let res = get("from=31-12-2026").await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains(r#"id="from-error""#));

    let res = admin.get(format!("{}/admin/audit/export.csv?subject=term1", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let body = res.bytes().await.unwrap();
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with a byte-order mark");
    let text = String::from_utf8(body[3..].to_vec()).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("Tidspunkt;Hvem;"), "{text}");
    let rows: Vec<_> = lines.collect();
    assert_eq!(rows.len(), 11, "term1 and term10-19: {text}");
    assert!(rows.iter().all(|r| r.contains(";person.search;") && r.contains("o***@forum.example")), "{text}");
    app.stop().await;
}
both_engines!(admins_read_and_filter_the_audit_log_and_others_are_refused);

/// Runs the retention purge with the audit log kept `audit_months` months
/// (the other periods fixed); returns how many audit entries went.
async fn audit_purged(store: &dialogforum::store::Store, audit_months: u32) -> u64 {
    let policy = Policy { pending_days: 7, audit_months, sensitive_days: 30, registration_days: 1095 };
    retention::purge(store, policy).await.unwrap().audit_entries
}

async fn the_audit_log_only_grows_and_retention_removes_only_what_is_older_than_configured(engine: Engine) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let months_ago = |m: i64| {
        let z = jiff::Timestamp::now().to_zoned_datetime(dialogforum::domain::copenhagen());
        db_time(z.checked_sub(jiff::Span::new().months(m).hours(1)).unwrap().timestamp())
    };
    let ages = [(13, "thirteen"), (11, "eleven"), (7, "seven"), (5, "five"), (0, "now")];
    on_db!(db, |pool| {
        for (age, label) in ages {
            sqlx::query("insert into audit_log (at, actor_kind, action, detail) values ($1, 'system', 'test', $2)")
                .bind(months_ago(age))
                .bind(label)
                .execute(&pool)
                .await
                .unwrap();
        }
    });
    let left = || async {
        let rows: Vec<String> =
            on_db!(db, |pool| sqlx::query_scalar("select detail from audit_log where action = 'test' order by at")
                .fetch_all(&pool)
                .await
                .unwrap());
        rows
    };

    // Nothing changes an entry, and nothing deletes a recent one.
    let tampered = on_db!(db, |pool| sqlx::query("update audit_log set action = 'other' where detail = 'now'")
        .execute(&pool)
        .await
        .is_err());
    assert!(tampered, "an entry cannot be changed");
    let deleted =
        on_db!(db, |pool| sqlx::query("delete from audit_log where detail = 'five'").execute(&pool).await.is_err());
    assert!(deleted, "an entry younger than six months cannot be deleted");
    let blanked = on_db!(db, |pool| sqlx::query("update audit_log set detail = '(erased)' where detail = 'seven'")
        .execute(&pool)
        .await
        .is_ok());
    assert!(blanked, "an erasure may blank a detail");

    assert_eq!(audit_purged(&store, 12).await, 1);
    assert_eq!(left().await, ["eleven", "(erased)", "five", "now"]);
    assert_eq!(audit_purged(&store, 6).await, 2);
    assert_eq!(left().await, ["five", "now"]);
    assert_eq!(audit_purged(&store, 1).await, 0, "never less than six months");
    store.close().await;
    db.drop_db().await;
}
both_engines!(the_audit_log_only_grows_and_retention_removes_only_what_is_older_than_configured);

async fn admins_manage_users_and_api_tokens(engine: Engine) {
    let app = TestApp::with_accounts(
        engine,
        &[("admin@forum.example", Role::Admin), ("organiser@forum.example", Role::Organiser)],
    )
    .await;
    let organiser = app.sign_in("organiser@forum.example").await.http;
    for path in ["/admin/users", "/admin/tokens"] {
        assert_eq!(organiser.get(format!("{}{path}", app.base)).send().await.unwrap().status(), 403, "{path}");
    }
    let SignedIn { http: admin, csrf, .. } = app.sign_in("admin@forum.example").await;
    let users = format!("{}/admin/users", app.base);

    // Add, with a message by the field that is wrong.
    let res =
        admin.post_form(&users, &[("csrf", csrf.as_str()), ("email", "not an address"), ("role", "viewer")]).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"id="email-error""#), "{html}");
    // The new user is invited by mail and chooses their own password
    // (accounts.rs follows the mail); here they are given one directly.
    let res = admin
        .post_form(
            &users,
            &[("csrf", csrf.as_str()), ("email", "new@forum.example"), ("name", "Ny Bruger"), ("role", "viewer")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let res =
        admin.post_form(&users, &[("csrf", csrf.as_str()), ("email", "new@forum.example"), ("role", "viewer")]).await;
    assert_eq!(res.status(), 422, "the address is taken");
    let html = admin.get(&users).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("new@forum.example") && html.contains("Ny Bruger"));
    let id = id_of(&app.db, "select id from app_user where email = 'new@forum.example'").await;
    let hash = dialogforum::domain::password::hash(PASSWORD).unwrap();
    let mut tx = app.store().begin().await.unwrap();
    let email = dialogforum::domain::Email::parse("new@forum.example").unwrap();
    dialogforum::store::users::upsert_user(&mut tx, &email, Role::Viewer, &hash).await.unwrap();
    tx.commit().await.unwrap();

    let newcomer = app.sign_in("new@forum.example").await.http;
    let people = format!("{}/admin/people/{}", app.base, uuid::Uuid::now_v7());
    assert_eq!(newcomer.post_form(&people, &[("name", "x")]).await.status(), 403, "a viewer");
    let res = admin.post_form(format!("{users}/{id}/role"), &[("csrf", csrf.as_str()), ("role", "organiser")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(newcomer.get(format!("{}/admin", app.base)).send().await.unwrap().status(), 200);
    assert!(
        newcomer.get(format!("{}/admin", app.base)).send().await.unwrap().text().await.unwrap().contains("(Arrangør)"),
        "the new role counts at once"
    );

    // A token, shown once, for the new account.
    let tokens = format!("{}/admin/tokens", app.base);
    let res =
        admin.post_form(&tokens, &[("csrf", csrf.as_str()), ("name", "Regneark"), ("owner", &id.to_string())]).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let token = html
        .split(r#"id="token" type="text" readonly size="50" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(token.len() >= 43);
    assert_eq!(app.api(&token).get("/meetings").await.status(), 200);
    let list = admin.get(&tokens).send().await.unwrap().text().await.unwrap();
    assert!(
        list.contains("Regneark") && list.contains("new@forum.example") && !list.contains(&token),
        "never shown again"
    );
    let mine = admin.get(format!("{tokens}?mine=1")).send().await.unwrap().text().await.unwrap();
    assert!(!mine.contains("Regneark"), "only the admin's own");

    // Disabled, once confirmed: sessions and tokens stop working; enabled again, the token works.
    let asked =
        common::text(admin.post_form(format!("{users}/{id}/disable"), &[("csrf", csrf.as_str())]).await, 200).await;
    assert!(
        asked.contains("new@forum.example spærres") && asked.contains("brugerens ene API-nøgle holder op med at virke"),
        "the first press says what will happen: {asked}"
    );
    assert_eq!(newcomer.get(format!("{}/admin", app.base)).send().await.unwrap().status(), 200, "not yet");
    let res = admin.post_form(format!("{users}/{id}/disable"), &[("csrf", csrf.as_str()), ("confirm", "yes")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(newcomer.get(format!("{}/admin", app.base)).send().await.unwrap().status(), 303);
    assert_eq!(app.api(&token).get("/meetings").await.status(), 401);
    assert_eq!(app.log_in(&client(), "new@forum.example", PASSWORD).await.status(), 401);
    let res = admin.post_form(format!("{users}/{id}/enable"), &[("csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.api(&token).get("/meetings").await.status(), 200);

    // Revoked: the token stops working.
    let token_id = id_of(&app.db, "select id from api_token where name = 'Regneark'").await;
    let res = admin.post_form(format!("{tokens}/{token_id}/revoke"), &[("csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.api(&token).get("/meetings").await.status(), 401);

    // An admin cannot lock themselves out.
    let me = id_of(&app.db, "select id from app_user where email = 'admin@forum.example'").await;
    let res = admin.post_form(format!("{users}/{me}/disable"), &[("csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), 422);
    let res = admin.post_form(format!("{users}/{me}/role"), &[("csrf", csrf.as_str()), ("role", "viewer")]).await;
    assert_eq!(res.status(), 422);
    let entries = audit_entries(&app.db).await;
    for action in ["user.invite", "user.role", "user.disable", "user.enable", "token.create", "token.revoke"] {
        assert!(entries.iter().any(|(a, _, _)| a == action), "{action}: {entries:?}");
    }
    app.stop().await;
}
both_engines!(admins_manage_users_and_api_tokens);

async fn the_dashboard_shows_the_next_meeting_mailings_growth_and_bounces(engine: Engine) {
    let app = TestApp::with_accounts(engine, &[("organiser@forum.example", Role::Organiser)]).await;
    let anna = app.confirmed_person("anna@firma.example", "Anna Bøgh", "Firma A/S").await;
    let bo = app.confirmed_person("bo@firma.example", "Bo Berg", "Firma A/S").await;
    let cy = app.confirmed_person("cy@firma.example", "Cy Dahl", "Firma A/S").await;
    let dot = app.confirmed_person("dot@firma.example", "Dot Eng", "Firma A/S").await;
    let now = jiff::Timestamp::now();
    let micros = |t: jiff::Timestamp| t.as_microsecond();
    let days = |d: i64| micros(now) - d * 86_400_000_000;
    let meeting = uuid::Uuid::now_v7();
    let campaign = uuid::Uuid::now_v7();
    on_db!(app.db, |pool| {
        // Confirmed now (three), a year and a half ago (outside the twelve months); one suppressed since, one with soft bounces.
        sqlx::query("update person set confirmed_at = $1 where id in ($2, $3, $4)")
            .bind(micros(now))
            .bind(anna.uuid())
            .bind(bo.uuid())
            .bind(dot.uuid())
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("update person set confirmed_at = $1 where id = $2")
            .bind(days(540))
            .bind(cy.uuid())
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("update person set status = 'bounced' where id = $1")
            .bind(dot.uuid())
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("update person set soft_bounces = 2 where id = $1").bind(cy.uuid()).execute(&pool).await.unwrap();
        sqlx::query("insert into meeting (id, title, starts_at, ends_at, format, status, created_at, updated_at) values ($1, 'Det 17. møde', $2, $2, 'physical', 'open', $3, $3)")
            .bind(meeting).bind(days(-30)).bind(micros(now)).execute(&pool).await.unwrap();
        for (person, status) in [(anna, "attending"), (bo, "attending"), (cy, "declined")] {
            sqlx::query("insert into registration (id, meeting_id, person_id, status, created_at, updated_at) values ($1, $2, $3, $4, $5, $5)")
                .bind(uuid::Uuid::now_v7()).bind(meeting).bind(person.uuid()).bind(status).bind(micros(now)).execute(&pool).await.unwrap();
        }
        sqlx::query("insert into campaign (id, kind, meeting_id, subject, state, scheduled_at, created_at, total) values ($1, 'invitation', $2, 'Invitation', 'sending', $3, $3, 4)")
            .bind(campaign).bind(meeting).bind(micros(now)).execute(&pool).await.unwrap();
        // The queued message is due in an hour, so the running worker leaves
        // the mailing as it is while the page is read.
        for (i, status) in ["sent", "sent", "failed", "queued"].into_iter().enumerate() {
            sqlx::query("insert into outbox (id, campaign_id, kind, recipient, message_id, status, next_attempt_at, created_at) values ($1, $2, 'invitation', $3, $4, $5, $6, $7)")
                .bind(uuid::Uuid::now_v7()).bind(campaign).bind(format!("r{i}@firma.example")).bind(format!("<m{i}@forum.example>")).bind(status).bind(micros(now) + 3_600_000_000).bind(micros(now)).execute(&pool).await.unwrap();
        }
    });
    let http = app.sign_in("organiser@forum.example").await.http;
    let html = http.get(format!("{}/admin", app.base)).send().await.unwrap().text().await.unwrap();
    let squeezed: String = html.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(squeezed.contains("Det 17. møde"), "{squeezed}");
    assert!(
        squeezed.contains("<tr><td>Tilmeldt</td><td>2</td></tr>")
            && squeezed.contains("<tr><td>Afbud</td><td>1</td></tr>"),
        "{squeezed}"
    );
    assert!(squeezed.contains("2 sendt af 4, 1 fejlet"), "{squeezed}");
    let this_month = now.to_zoned_datetime(dialogforum::domain::copenhagen());
    let month_name = [
        "januar",
        "februar",
        "marts",
        "april",
        "maj",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "december",
    ][usize::from(this_month.month().unsigned_abs()) - 1];
    let label = format!("{month_name} {}", this_month.year());
    assert!(
        squeezed.to_lowercase().contains(&format!("<td>{label}</td><td>3 <meter")),
        "three confirmed this month (one bounced since): {squeezed}"
    );
    assert_eq!(squeezed.matches("<meter").count(), 12, "twelve months");
    assert!(
        squeezed.contains("(hårde returmails og klager)</dt><dd>1</dd>")
            && squeezed.contains("bløde returmails</dt><dd>1</dd>"),
        "{squeezed}"
    );
    assert!(
        squeezed.contains(r#"href="/admin/password""#) && !squeezed.contains(r#"href="/admin/tokens""#),
        "API tokens are for admins"
    );
    app.stop().await;
}
both_engines!(the_dashboard_shows_the_next_meeting_mailings_growth_and_bounces);
