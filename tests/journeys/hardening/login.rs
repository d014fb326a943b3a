//! Organiser login under attack: every attempt is counted before the password
//! is checked, password checks are bounded in number, and a stranger who does
//! not know the password cannot keep the organiser out, while the organiser
//! is told by mail.

use dialogforum::app::{self, StartOptions};
use dialogforum::domain::Role;

use crate::common::smtp::SmtpServer;
use crate::common::{self, Engine, TestApp, TestDb, api_token};

const PASSWORD: &str = "a long enough password";
const OWNER: &str = "organiser@forum.example";

/// The app behind a trusted proxy on 127.0.0.1, so that each test client can
/// name its own address in `X-Forwarded-For`, with mail to `smtp`.
async fn behind_proxy(engine: Engine, smtp: &SmtpServer, overrides: &[(&str, &str)]) -> TestApp {
    let db = TestDb::new(engine).await;
    let url = smtp.url();
    let mut all = vec![("mail.transport", "smtp"), ("mail.smtp_url", url.as_str())];
    all.extend_from_slice(overrides);
    let mut settings = common::settings(&db, &all);
    settings.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let running = app::start(settings, StartOptions::default()).await.unwrap();
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestApp { db, running, base, http }
}

/// One login attempt from client address `from`; the status code.
async fn attempt(app: &TestApp, from: &str, email: &str, password: &str) -> u16 {
    let res = app
        .http
        .post(format!("{}/login", app.base))
        .header("x-forwarded-for", from)
        .form(&[("email", email), ("password", password), ("next", "/admin")])
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

/// How many `action` entries the audit log holds.
async fn audited(app: &TestApp, action: &str) -> i64 {
    crate::on_db!(app.db, |pool| sqlx::query_scalar::<_, i64>("select count(*) from audit_log where action = $1")
        .bind(action)
        .fetch_one(&pool)
        .await
        .unwrap())
}

async fn forty_parallel_wrong_passwords_reach_the_password_check_five_times_and_the_owner_still_signs_in(
    engine: Engine,
) {
    let smtp = SmtpServer::start().await;
    let app = behind_proxy(engine, &smtp, &[]).await;
    api_token(&app, OWNER, Role::Organiser).await;

    // The attack: forty wrong passwords at once from one client.
    let attempts = (0..40).map(|_| attempt(&app, "203.0.113.7", OWNER, "wrong password!!"));
    let statuses = futures_util::future::join_all(attempts).await;
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(wrong, 5, "only the five attempts within the limit reach the check: {statuses:?}");
    assert!(statuses.iter().all(|s| [401, 429, 503].contains(s)), "{statuses:?}");
    assert_eq!(audited(&app, "login.failed").await, 5, "five passwords were checked");

    // The attacker's client stays throttled, even with the right password.
    assert_eq!(attempt(&app, "203.0.113.7", OWNER, PASSWORD).await, 429);
    // The owner, from their own client, signs in: slowed down, not locked out.
    assert_eq!(attempt(&app, "198.51.100.20", OWNER, PASSWORD).await, 303);

    // The owner was told, once.
    let mail = smtp.wait_for(1, 15).await;
    assert_eq!(mail.len(), 1, "{:?}", mail.iter().map(|m| m.to.clone()).collect::<Vec<_>>());
    assert_eq!(mail[0].to, vec![OWNER.to_owned()]);
    let parsed = mail_parser::MessageParser::default().parse(&mail[0].data).unwrap();
    assert!(parsed.subject().unwrap().contains("Mislykkede forsøg"), "{:?}", parsed.subject());
    assert!(parsed.body_text(0).unwrap().contains("5 gange"), "{:?}", parsed.body_text(0));
    // More failures from elsewhere in the same window send nothing more.
    assert_eq!(attempt(&app, "198.51.100.30", OWNER, "another wrong one").await, 401);
    assert_eq!(app.delivered(&smtp).await, 1, "one warning per window");
    app.stop().await;
}
both_engines!(forty_parallel_wrong_passwords_reach_the_password_check_five_times_and_the_owner_still_signs_in);

async fn a_login_waits_for_a_free_password_check_and_is_answered_503_when_none_comes(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let app = behind_proxy(engine, &smtp, &[("security.concurrent_password_checks", "2")]).await;
    api_token(&app, OWNER, Role::Organiser).await;
    // Every check is taken (as by a flood of logins that are still hashing).
    let checks = std::sync::Arc::clone(&app.running.state.password_checks);
    let held = checks.acquire_many(2).await.unwrap();
    assert_eq!(attempt(&app, "203.0.113.7", OWNER, PASSWORD).await, 503);
    drop(held);
    assert_eq!(attempt(&app, "203.0.113.7", OWNER, PASSWORD).await, 303, "a free check lets the login through");
    app.stop().await;
}
both_engines!(a_login_waits_for_a_free_password_check_and_is_answered_503_when_none_comes);
