//! Least privilege at the edges: the group a route is declared in decides
//! which role it needs, no spelling of a path gets past it, and API tokens
//! stop working when they expire.

use crate::common::PostForm as _;
use dialogforum::domain::{Email, Role, Token};
use dialogforum::store::users::{create_api_token, upsert_user};
use dialogforum::web::auth::Need;
use jiff::SignedDuration;

use crate::common::{Engine, TestApp, api_token};

async fn the_role_guard_decides_on_the_decoded_path(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let viewer = api_token(&app, "viewer@forum.example", Role::Viewer).await;
    // Someone on the list, whose address a viewer must not see.
    let organiser = api_token(&app, "organiser@forum.example", Role::Organiser).await;
    let body = serde_json::json!({"email": "dorthe@firma.example", "name": "Dorthe Deltager"});
    let res = app.api(&organiser).post("/subscribers", &body).await;
    assert!(res.status().is_success(), "{}", res.status());
    let pages = app.sign_in("viewer@forum.example").await.http;
    for path in [
        "/admin/%75sers",
        "/admin/%55sers",
        "/admin//users",
        "/admin/./users",
        "/admin/x/../users",
        "/admin/audit%2Fexport",
        "/admin/people",
        "/admin/%70eople",
        "/admin/%2e/people",
    ] {
        let res = pages.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), 403, "viewer GET {path}");
        let body = res.text().await.unwrap();
        assert!(!body.contains("dorthe@firma.example"), "viewer GET {path} shows a person:\n{body}");
    }
    for path in ["/%73ubscribers", "/subscribers/", "/./subscribers", "/%74okens", "/audit%2F"] {
        let res = app.api(&viewer).get(path).await;
        // The API's guard runs on routed requests; a spelling no route takes is 404.
        assert!([403, 404].contains(&res.status().as_u16()), "viewer API GET {path}: {}", res.status());
        let body = res.text().await.unwrap();
        assert!(!body.contains("dorthe@firma.example"), "viewer API GET {path} lists people: {body}");
    }
    app.stop().await;
}
both_engines!(the_role_guard_decides_on_the_decoded_path);

async fn a_path_spelt_to_leave_the_workspace_does_not_reach_a_handler_past_the_guard(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let viewer = app.sign_in_as("viewer@forum.example", Role::Viewer).await;
    let organiser = app.sign_in_as("organiser@forum.example", Role::Organiser).await;
    // Decoded, this path leaves /admin; as sent, it is the rename form of an interest.
    let crafted = "/admin/interests/..%2F..%2Fx";
    let form = [("title_da", "Ændret"), ("title_en", "Changed")];
    let res = viewer.post(crafted, &form).await;
    assert_eq!(res.status(), 403, "a viewer is refused by the guard, not by luck in the handler");
    let res = organiser.post(crafted, &form).await;
    assert_eq!(res.status(), 404, "nobody reaches a handler through a spelling the guard reads differently");
    // The API's document is open to all, but only under its own name.
    let res = app.http.get(format!("{}/api/v1/meetings/..%2F..%2Fopenapi.json", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 401, "a spelling of the open document is not open");
    app.stop().await;
}
both_engines!(a_path_spelt_to_leave_the_workspace_does_not_reach_a_handler_past_the_guard);

/// Organiser pages as their route groups declare them: method, path (`{m}`
/// a meeting, `{k}` an interest) and need.
const PAGES: &[(&str, &str, Need)] = &[
    ("GET", "/admin", Need::Read),
    ("GET", "/admin/meetings", Need::Read),
    ("GET", "/admin/meetings/new", Need::Write),
    ("POST", "/admin/meetings/{m}/status", Need::Write),
    ("GET", "/admin/meetings/{m}/registrations", Need::Read),
    ("GET", "/admin/meetings/{m}/checkin", Need::Personal),
    ("GET", "/admin/meetings/{m}/dossier.zip", Need::Read),
    ("GET", "/admin/people", Need::Personal),
    ("GET", "/admin/organisations", Need::Read),
    ("POST", "/admin/interests/{k}", Need::Write),
    ("GET", "/admin/exports", Need::Export),
    ("GET", "/admin/year.csv", Need::Export),
    ("GET", "/admin/users", Need::Admin),
    ("GET", "/admin/audit/export.csv", Need::Admin),
    ("GET", "/admin/password", Need::Own),
];

/// API calls as their route groups declare them, below `/api/v1`.
const API: &[(&str, &str, Need)] = &[
    ("GET", "/meetings", Need::Read),
    ("GET", "/meetings/{m}", Need::Read),
    ("POST", "/meetings/{m}/publish", Need::Write),
    ("GET", "/meetings/{m}/organisations", Need::Read),
    ("GET", "/meetings/{m}/registrations", Need::Personal),
    ("GET", "/subscribers", Need::Personal),
    ("GET", "/meetings/{m}/participants.csv", Need::Export),
    ("GET", "/evaluations/trend", Need::Read),
];

async fn each_role_gets_past_the_route_groups_that_allow_it_and_no_others(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // A meeting that does not exist: a role that gets past the group meets the handler's 404.
    let fill = |path: &str| path.replace("{m}", "0190a7d4-5b6c-7def-8123-456789abcdef").replace("{k}", "ingen");
    for (role, email) in [
        (Role::Viewer, "viewer@forum.example"),
        (Role::Organiser, "org@forum.example"),
        (Role::Admin, "admin@forum.example"),
    ] {
        let token = api_token(&app, email, role).await;
        let pages = app.sign_in(email).await;
        for &(method, path, need) in PAGES {
            let path = fill(path);
            let res = if method == "GET" { pages.get(&path).await } else { pages.post(&path, &[]).await };
            let refused = res.status() == 403;
            assert_eq!(refused, !need.allows(role), "{role:?} {method} {path} ({need:?}): {}", res.status());
        }
        for &(method, path, need) in API {
            let url = format!("{}/api/v1{}", app.base, fill(path));
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let res = app.http.request(method.clone(), &url).bearer_auth(&token).send().await.unwrap();
            let status = res.status();
            let body = res.text().await.unwrap();
            let refused = status == 403 && body.contains("role");
            assert_eq!(refused, !need.allows(role), "{role:?} API {method} {path} ({need:?}): {status} {body}");
        }
    }
    app.stop().await;
}
both_engines!(each_role_gets_past_the_route_groups_that_allow_it_and_no_others);

async fn an_api_token_stops_working_when_it_expires(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let mut tx = app.store().begin().await.unwrap();
    let hash = dialogforum::domain::password::hash("a long enough password").unwrap();
    let user =
        upsert_user(&mut tx, &Email::parse("robot@forum.example").unwrap(), Role::Organiser, &hash).await.unwrap();
    let now = dialogforum::store::now();
    let (lasting, expired) = (Token::generate(), Token::generate());
    create_api_token(&mut tx, user, "lasting", &lasting.hash(), Some(now + SignedDuration::from_hours(24)))
        .await
        .unwrap();
    create_api_token(&mut tx, user, "expired", &expired.hash(), Some(now - SignedDuration::from_secs(1)))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let meetings = format!("{}/api/v1/meetings", app.base);
    let res = app.http.get(&meetings).bearer_auth(lasting.expose()).send().await.unwrap();
    assert_eq!(res.status(), 200, "a token within its time works");
    let res = app.http.get(&meetings).bearer_auth(expired.expose()).send().await.unwrap();
    assert_eq!(res.status(), 401, "an expired token is refused");
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));

    // An admin gives a new token an end on the page; a nonsense value is refused by the field.
    api_token(&app, "admin@forum.example", Role::Admin).await;
    let admin = app.sign_in("admin@forum.example").await.http;
    let page = admin.get(format!("{}/admin/tokens", app.base)).send().await.unwrap().text().await.unwrap();
    let csrf = page.split(r#"name="csrf" value=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    let form = [("csrf", csrf.as_str()), ("name", "Kalender"), ("owner", ""), ("expires_days", "0")];
    let res = admin.post_form(format!("{}/admin/tokens", app.base), &form).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains(r#"id="expires_days-error""#), "{body}");
    let form = [("csrf", csrf.as_str()), ("name", "Kalender"), ("owner", ""), ("expires_days", "30")];
    let res = admin.post_form(format!("{}/admin/tokens", app.base), &form).await;
    assert_eq!(res.status(), 200);
    let tokens = app.store().api_tokens(None).await.unwrap();
    let made = tokens.iter().find(|t| t.name == "Kalender").expect("the new token");
    let days = (made.expires_at.unwrap() - now).as_secs() / 86_400;
    assert!((29..=30).contains(&days), "expires in {days} days");
    app.stop().await;
}
both_engines!(an_api_token_stops_working_when_it_expires);
