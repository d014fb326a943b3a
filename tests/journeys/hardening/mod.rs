//! Hardening, end to end on both engines: the defects found by trying the
//! service from outside as an attacker or a careless organiser would, each
//! replayed against the running application.

mod background;
mod inbound;
mod input;
mod login;
mod outbox;
mod privilege;
mod signup;
mod viewer;

/// A client of its own, signed in as `email` with the tests' password.
async fn signed_in(app: &crate::common::TestApp, email: &str) -> reqwest::Client {
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
    let form = [("email", email), ("password", "a long enough password"), ("next", "/admin")];
    let res = http.post(format!("{}/login", app.base)).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    http
}
