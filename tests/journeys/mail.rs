//! Mail delivery through a real SMTP server on a local port: the outbox is
//! durable, retries temporary failures, records permanent ones, honours its
//! limits, and nothing a person typed can reach a header or an SMTP command.

use crate::common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::smtp::{Received, SmtpServer};
use common::{Engine, TestApp, TestDb, cli, wait_for_counts};
use dialogforum::app::{self, StartOptions};
use dialogforum::domain::Email;
use dialogforum::mail::{Composer, Outgoing};
use dialogforum::store::Store;
use dialogforum::store::outbox::{ClaimOwner, OutboxCounts, enqueue};
use mail_parser::MimeHeaders as _;

fn composer() -> Composer {
    Composer::new(&Email::parse("dialogforum@forum.example").unwrap(), "Dialogforum", None, "dialogforum.forum.example")
        .unwrap()
}

fn letter<'a>(to: &'a Email, name: Option<&'a str>, subject: &'a str, text: &str) -> Outgoing<'a> {
    Outgoing {
        kind: "notice",
        to,
        to_name: name,
        person_id: None,
        campaign_id: None,
        subject,
        text: text.to_owned(),
        html: format!("<p>{}</p>", text.replace('\n', "<br>")),
        unsubscribe_url: Some("https://forum.example/unsubscribe/abc".to_owned()),
        ics: None,
    }
}

/// Queues `n` messages to `who{i}@firma.example` in one transaction.
async fn queue_many(store: &Store, n: usize) {
    let c = composer();
    let mut tx = store.begin().await.unwrap();
    for i in 0..n {
        let to = Email::parse(&format!("who{i}@firma.example")).unwrap();
        let m = c.compose(&letter(&to, Some("Modtager"), "Invitation til Dialogforum", "Hej\nVelkommen.")).unwrap();
        enqueue(&mut tx, &m).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// Queues `n` letters, one to each of `who0@firma.example`, … and wakes the outbox worker.
async fn send_many(app: &TestApp, n: usize) {
    queue_many(app.store(), n).await;
    app.running.state.mail_wake.notify_one();
}

/// Starts the app with mail and `settings`, sends it `n` letters and waits up
/// to `secs` seconds until all `n` have arrived, which they must; returns them.
async fn sent_in_bulk(
    engine: Engine,
    settings: &[(&str, &str)],
    n: usize,
    secs: u64,
) -> (TestApp, SmtpServer, Vec<Received>) {
    let (app, smtp) = TestApp::with_mail(engine, settings).await;
    send_many(&app, n).await;
    let msgs = smtp.wait_for(n, secs).await;
    assert_eq!(msgs.len(), n);
    (app, smtp, msgs)
}

fn per_recipient(msgs: &[Received]) -> HashMap<String, Vec<&Received>> {
    let mut m: HashMap<String, Vec<&Received>> = HashMap::new();
    for r in msgs {
        for to in &r.to {
            m.entry(to.clone()).or_default().push(r);
        }
    }
    m
}

async fn a_queued_message_arrives_once_as_text_and_html_with_list_headers(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    let to = Email::parse("anna.bogh@nordlys-it.example").unwrap();
    let m =
        composer().compose(&letter(&to, Some("Anna Bøgh"), "Invitation: 17. møde i Dialogforum", "Hej Anna")).unwrap();
    let message_id = m.message_id.clone();
    app.queue(&m).await;

    let msgs = smtp.wait_for(1, 10).await;
    assert_eq!(msgs.len(), 1);
    let got = &msgs[0];
    assert_eq!(got.to, vec!["anna.bogh@nordlys-it.example"]);
    assert!(got.from.starts_with("dialogforum+bounce-") && got.from.ends_with("@forum.example"), "VERP: {}", got.from);
    assert!(dialogforum::mail::deliver::verp::message_of(&got.from).is_some(), "the envelope sender names the message");
    assert_eq!(got.header("Message-ID").unwrap(), format!("<{message_id}>"));
    assert!(got.header("Subject").unwrap().contains("=?utf-8?"), "non-ASCII subjects are encoded");
    assert_eq!(got.header("List-Unsubscribe").unwrap(), "<https://forum.example/unsubscribe/abc>");
    assert_eq!(got.header("List-Unsubscribe-Post").unwrap(), "List-Unsubscribe=One-Click");
    assert_eq!(got.header("List-Id").unwrap(), "<dialogforum.forum.example>");
    assert!(got.header("Date").is_some());
    let text = got.text();
    assert!(text.contains("multipart/alternative") && text.contains("text/plain") && text.contains("text/html"));

    let c = wait_for_counts(app.store(), |c| c.sent == 1, 10).await;
    assert_eq!(c, OutboxCounts { sent: 1, ..OutboxCounts::default() });
    assert_eq!(app.delivered(&smtp).await, 1, "sent once, not again");
    app.stop().await;
}
both_engines!(a_queued_message_arrives_once_as_text_and_html_with_list_headers);

async fn mail_queued_while_no_worker_runs_goes_out_when_one_starts(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let db = TestDb::new(engine).await;
    let url = smtp.url();
    let settings = common::settings(&db, &[("mail.transport", "smtp"), ("mail.smtp_url", &url)]);
    let first = app::start(settings.clone(), StartOptions { worker: false }).await.unwrap();
    queue_many(&first.state.store, 5).await;
    first.stop().await.unwrap();
    assert!(smtp.messages().is_empty());

    let second = app::start(settings, StartOptions::default()).await.unwrap();
    let msgs = smtp.wait_for(5, 10).await;
    assert_eq!(per_recipient(&msgs).len(), 5);
    assert_eq!(msgs.len(), 5);
    second.stop().await.unwrap();
    db.drop_db().await;
}
both_engines!(mail_queued_while_no_worker_runs_goes_out_when_one_starts);

async fn a_message_claimed_by_a_worker_that_died_is_sent_after_its_lease(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    queue_many(&store, 3).await;
    // A worker claims everything and dies before sending.
    let claimed = store.claim_due(ClaimOwner::generate(), 10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(
        store.claim_due(ClaimOwner::generate(), 10, Duration::from_secs(1)).await.unwrap().is_empty(),
        "leased rows are not claimed twice"
    );

    let url = smtp.url();
    let settings =
        common::settings(&db, &[("mail.transport", "smtp"), ("mail.smtp_url", &url), ("mail.lease_secs", "1")]);
    let running = app::start(settings, StartOptions::default()).await.unwrap();
    let msgs = smtp.wait_for(3, 15).await;
    assert_eq!(msgs.len(), 3);
    let c = wait_for_counts(&store, |c| c.sent == 3, 10).await;
    assert_eq!(c.sent, 3);
    running.stop().await.unwrap();
    db.drop_db().await;
}
both_engines!(a_message_claimed_by_a_worker_that_died_is_sent_after_its_lease);

async fn names_and_subjects_cannot_inject_and_dot_lines_arrive_intact(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    let c = composer();
    let to = Email::parse("ida@velfaerdstek.example").unwrap();

    // Our own types refuse line breaks in names and subjects.
    assert!(c.compose(&letter(&to, Some("Ida\r\nBcc: evil@attacker.example"), "Hej", "x")).is_err());
    assert!(c.compose(&letter(&to, Some("Ida"), "Hej\r\nBcc: evil@attacker.example", "x")).is_err());
    assert!(Email::parse("ida@velfaerdstek.example>\r\nRCPT TO:<evil@attacker.example").is_err());

    // Below them, lettre itself: a subject with CR/LF is encoded, and a
    // display name with CR/LF makes lettre 0.11 panic rather than write
    // it — which our Name type keeps from ever happening.
    let name_panics = std::panic::catch_unwind(|| {
        lettre::message::Mailbox::new(Some("Ida\r\nBcc: evil@attacker.example".to_owned()), "i@v.dk".parse().unwrap())
            .to_string()
    });
    assert!(name_panics.is_err() || !name_panics.unwrap().contains("\r\nBcc"));
    let hostile = lettre::Message::builder()
        .from("Dialogforum <dialogforum@forum.example>".parse().unwrap())
        .to(lettre::message::Mailbox::new(Some("Ida Frølich".to_owned()), "ida@velfaerdstek.example".parse().unwrap()))
        .subject("Hej\r\nBcc: evil2@attacker.example\r\n\r\nbody")
        .message_id(Some("<hostile@forum.example>".to_owned()))
        .body("Linje 1\r\n.\r\nLinje 3\r\n..\r\n.skjult?\r\nAEbleoel".to_owned())
        .unwrap();
    let mut tx = app.store().begin().await.unwrap();
    enqueue(
        &mut tx,
        &dialogforum::store::outbox::NewMessage {
            kind: "notice",
            recipient: to.clone(),
            person_id: None,
            campaign_id: None,
            message_id: "hostile@forum.example".to_owned(),
            raw: hostile.formatted(),
        },
    )
    .await
    .unwrap();
    let body = "Første linje\n.\nEn linje med kun et punktum ovenfor\n..\nSlut æøå";
    let m = c.compose(&letter(&to, Some("Ida Frølich"), "Punktum", body)).unwrap();
    enqueue(&mut tx, &m).await.unwrap();
    tx.commit().await.unwrap();

    let msgs = smtp.wait_for(2, 10).await;
    assert_eq!(msgs.len(), 2);
    for m in &msgs {
        assert_eq!(m.to, vec!["ida@velfaerdstek.example"], "exactly the intended recipient");
        let head = m.text().split("\r\n\r\n").next().unwrap().to_owned();
        assert!(!head.lines().any(|l| l.to_ascii_lowercase().starts_with("bcc:")), "no injected header:\n{head}");
    }
    let rcpts: Vec<String> =
        smtp.commands().into_iter().filter(|c| c.to_ascii_uppercase().starts_with("RCPT")).collect();
    assert_eq!(rcpts.len(), 2, "one RCPT per message: {rcpts:?}");
    assert!(rcpts.iter().all(|r| r.contains("<ida@velfaerdstek.example>") && !r.contains("attacker")));

    let hostile_got =
        msgs.iter().find(|m| m.header("Message-ID").is_some_and(|id| id.contains("hostile"))).unwrap_or(&msgs[0]);
    let text = hostile_got.text();
    assert!(text.contains("Linje 1\r\n.\r\nLinje 3\r\n..\r\n.skjult?"), "dot lines arrive as sent:\n{text}");

    let ours = msgs.iter().find(|m| m.header("Subject").as_deref() == Some("Punktum")).unwrap();
    let plain = ours.plain();
    assert!(plain.contains("Første linje\r\n.\r\nEn linje med kun et punktum ovenfor\r\n..\r\nSlut æøå"), "{plain}");
    app.stop().await;
}
both_engines!(names_and_subjects_cannot_inject_and_dot_lines_arrive_intact);

async fn an_smtp_outage_delays_mail_but_loses_none(engine: Engine) {
    let smtp = SmtpServer::start().await;
    smtp.stop();
    let app =
        TestApp::spawn_with_smtp(engine, &smtp, &[("mail.backoff_base_secs", "1"), ("mail.backoff_max_secs", "2")])
            .await;
    send_many(&app, 4).await;
    // Two seconds of outage: the messages wait.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let c = app.store().outbox_counts().await.unwrap();
    assert_eq!(c.sent, 0);
    assert_eq!(c.failed, 0, "a server that is down is a temporary failure");
    assert_eq!(c.queued + c.sending, 4);

    smtp.restart().await;
    let msgs = smtp.wait_for(4, 20).await;
    assert_eq!(per_recipient(&msgs).len(), 4);
    let c = wait_for_counts(app.store(), |c| c.sent == 4, 10).await;
    assert_eq!(c.sent, 4);
    assert_eq!(msgs.len(), 4, "each exactly once");
    app.stop().await;
}
both_engines!(an_smtp_outage_delays_mail_but_loses_none);

async fn a_refused_recipient_fails_alone_and_a_busy_one_is_retried(engine: Engine) {
    let smtp = SmtpServer::start().await;
    smtp.reply_to_rcpt("who1@firma.example", 550);
    smtp.reply_to_rcpt("who2@firma.example", 451);
    let app =
        TestApp::spawn_with_smtp(engine, &smtp, &[("mail.backoff_base_secs", "1"), ("mail.max_connections", "1")])
            .await;
    send_many(&app, 4).await;

    let c = wait_for_counts(app.store(), |c| c.sent == 2 && c.failed == 1, 10).await;
    assert_eq!((c.sent, c.failed), (2, 1), "550 fails only its own message; 451 waits: {c:?}");
    let got = per_recipient(&smtp.messages()).into_keys().collect::<std::collections::BTreeSet<_>>();
    assert_eq!(got, ["who0@firma.example", "who3@firma.example"].map(String::from).into());

    smtp.reply_to_rcpt("who2@firma.example", 250);
    let c = wait_for_counts(app.store(), |c| c.sent == 3, 15).await;
    assert_eq!((c.sent, c.failed, c.queued), (3, 1, 0));
    assert!(smtp.messages().iter().all(|m| !m.to.contains(&"who1@firma.example".to_owned())));
    app.stop().await;
}
both_engines!(a_refused_recipient_fails_alone_and_a_busy_one_is_retried);

async fn the_connection_limit_and_the_rate_limit_are_honoured(engine: Engine) {
    let (app, smtp, msgs) =
        sent_in_bulk(engine, &[("mail.max_connections", "2"), ("mail.rate_per_second", "20")], 30, 20).await;
    assert!(smtp.max_concurrent_connections() <= 2, "saw {} connections at once", smtp.max_concurrent_connections());
    // 30 messages at 20/s: the last can arrive no sooner than 29/20 s after the first.
    let span = msgs.last().unwrap().at - msgs.first().unwrap().at;
    assert!(span >= Duration::from_millis(1400), "30 messages took only {span:?}");
    app.stop().await;
}
both_engines!(the_connection_limit_and_the_rate_limit_are_honoured);

/// Microsoft 365's limit for authenticated SMTP, about 30 messages a minute,
/// held over two minutes: 61 messages, the first to the last 120 s apart.
async fn thirty_a_minute_are_held_within_a_few_percent_over_two_minutes(engine: Engine) {
    let (app, smtp, msgs) =
        sent_in_bulk(engine, &[("mail.profile", "exchange-online"), ("mail.max_connections", "8")], 61, 180).await;
    assert!(
        smtp.max_concurrent_connections() <= 3,
        "the profile allows 3 connections; saw {}",
        smtp.max_concurrent_connections()
    );
    let span = (msgs.last().unwrap().at - msgs.first().unwrap().at).as_secs_f64();
    let per_minute = 60.0 * 60.0 / span;
    assert!((29.1..=30.9).contains(&per_minute), "60 intervals in {span:.1} s: {per_minute:.2} a minute");
    assert_eq!(per_recipient(&msgs).len(), 61, "each once");
    app.stop().await;
}
both_engines!(thirty_a_minute_are_held_within_a_few_percent_over_two_minutes);

/// A 432 pauses every connection before its next message, and the refused
/// message goes out after the pause, once, without counting as an attempt.
async fn a_busy_server_slows_the_sender_down_and_loses_nothing(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(
        engine,
        &smtp,
        &[("mail.throttle_pause_secs", "2"), ("mail.max_connections", "1"), ("mail.max_attempts", "1")],
    )
    .await;
    smtp.throttle_next(2);
    send_many(&app, 6).await;
    let c = wait_for_counts(app.store(), |c| c.sent == 6, 30).await;
    assert_eq!((c.sent, c.failed, c.queued), (6, 0, 0), "a throttled message is not given up: {c:?}");
    let refused = smtp.throttled_at();
    assert_eq!(refused.len(), 2);
    // After the first 432 nothing arrives for the pause; the second, right
    // after it, doubles the pause: 2 s, then at least 4 s.
    let msgs = smtp.messages();
    assert!(msgs.iter().all(|m| m.at >= refused[0] + Duration::from_secs(2)), "a message went out during the pause");
    assert!(refused[1] >= refused[0] + Duration::from_secs(2));
    assert!(
        msgs.iter().all(|m| m.at >= refused[1] + Duration::from_secs(4)),
        "the second 432 in a row pauses twice as long"
    );
    assert_eq!(per_recipient(&msgs).len(), 6, "each once");
    assert!(msgs.iter().all(|m| m.to.len() == 1));
    app.stop().await;
}
both_engines!(a_busy_server_slows_the_sender_down_and_loses_nothing);

/// A daily cap holds back what does not fit, and the rest goes out once the
/// 24-hour window has moved past the earlier sends.
async fn the_daily_cap_holds_the_rest_until_the_window_moves_on(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[("mail.daily_cap", "5")]).await;
    send_many(&app, 8).await;
    let c = wait_for_counts(app.store(), |c| c.sent == 5, 15).await;
    assert_eq!((c.sent, c.queued), (5, 3));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.messages().len(), 5, "nothing beyond the cap");
    // A day later, as far as the outbox can tell.
    let day_ago = dialogforum::store::db_time(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(25));
    on_db!(app.db, |pool| {
        sqlx::query("update outbox set sent_at = $1 where status = 'sent'").bind(day_ago).execute(&pool).await.unwrap();
    });
    let c = wait_for_counts(app.store(), |c| c.sent == 8, 15).await;
    assert_eq!((c.sent, c.queued), (8, 0));
    assert_eq!(per_recipient(&smtp.messages()).len(), 8, "each once");
    app.stop().await;
}
both_engines!(the_daily_cap_holds_the_rest_until_the_window_moves_on);

/// At a limited rate the mailing page says when a sending campaign will be done.
async fn the_mailing_page_says_when_a_paced_campaign_will_be_done(engine: Engine) {
    let (app, _smtp, token, meeting) = demo_forum(engine, &[("mail.rate_per_minute", "30")]).await;
    let id = app.api(&token).invite(&meeting, &serde_json::json!({"audience": {"all": true}})).await;
    app.api(&token).campaign_in_state(&id, "sending").await;
    let organiser = app.sign_in("secretariat@forum.example").await;
    let page = organiser.page("/admin/campaigns").await;
    assert!(page.contains("forventes færdig"), "{page}");
    organiser.http.get(app.url("/lang/en")).send().await.unwrap();
    let page = organiser.page("/admin/campaigns").await;
    assert!(page.contains("expected to finish"), "{page}");
    app.stop().await;
}
both_engines!(the_mailing_page_says_when_a_paced_campaign_will_be_done);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_postgres_database_send_each_message_once() {
    if common::postgres_url().is_none() {
        return;
    }
    let smtp = SmtpServer::start().await;
    let db = TestDb::new(Engine::Postgres).await;
    let url = smtp.url();
    let settings =
        common::settings(&db, &[("mail.transport", "smtp"), ("mail.smtp_url", &url), ("mail.batch_size", "10")]);
    let a = app::start(settings.clone(), StartOptions::default()).await.unwrap();
    let b = app::start(settings, StartOptions::default()).await.unwrap();
    queue_many(&a.state.store, 300).await;
    a.state.mail_wake.notify_one();
    b.state.mail_wake.notify_one();
    let msgs = smtp.wait_for(300, 30).await;
    let c = wait_for_counts(&a.state.store, |c| c.sent == 300, 10).await;
    // The race under test: give a second send by the other instance time to show.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let msgs_after = smtp.messages();
    assert_eq!(c.sent, 300);
    assert_eq!(per_recipient(&msgs).len(), 300);
    assert_eq!(msgs_after.len(), 300, "every message exactly once across both instances");
    a.stop().await.unwrap();
    b.stop().await.unwrap();
    db.drop_db().await;
}

async fn a_killed_process_loses_nothing_and_repeats_at_most_what_was_in_flight(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    queue_many(&store, 200).await;
    let url = smtp.url();
    let env = [
        ("DIALOGFORUM_DATABASE__URL", db.url.as_str()),
        ("DIALOGFORUM_SERVER__BIND", "127.0.0.1:0"),
        ("DIALOGFORUM_MAIL__TRANSPORT", "smtp"),
        ("DIALOGFORUM_MAIL__SMTP_URL", url.as_str()),
        ("DIALOGFORUM_MAIL__FROM", "dialogforum@forum.example"),
        ("DIALOGFORUM_MAIL__RATE_PER_SECOND", "200"),
        ("DIALOGFORUM_MAIL__BATCH_SIZE", "20"),
        ("DIALOGFORUM_MAIL__MAX_CONNECTIONS", "2"),
        ("DIALOGFORUM_MAIL__LEASE_SECS", "2"),
    ];
    let mut child = common::spawn_cli(&["serve"], &env);
    // Kill it hard part-way through.
    let deadline = Instant::now() + Duration::from_secs(30);
    while smtp.messages().len() < 50 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = smtp.messages().len();
    assert!(at_kill < 200, "the process was killed before it finished ({at_kill} sent)");

    let mut child = common::spawn_cli(&["serve"], &env);
    let msgs = smtp.wait_for(200, 30).await;
    let c = wait_for_counts(&store, |c| c.sent == 200, 20).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let msgs = if msgs.len() < smtp.messages().len() { smtp.messages() } else { msgs };

    assert_eq!(c.sent, 200);
    let by = per_recipient(&msgs);
    assert_eq!(by.len(), 200, "nobody is missing");
    let duplicates: usize = by.values().map(|v| v.len() - 1).sum();
    // In flight at the kill: at most one claimed batch waiting plus one message per connection.
    assert!(duplicates <= 20 + 2, "{duplicates} duplicates");
    for copies in by.values().filter(|v| v.len() > 1) {
        let ids: std::collections::HashSet<_> = copies.iter().map(|m| m.header("Message-ID")).collect();
        assert_eq!(ids.len(), 1, "a repeated message carries the same Message-ID");
    }
    store.close().await;
    db.drop_db().await;
}
both_engines!(a_killed_process_loses_nothing_and_repeats_at_most_what_was_in_flight);

#[test]
fn the_cli_binary_is_built() {
    let out = cli(&["--version"], &[], "");
    assert!(out.status.success());
}

/// The demo forum sending to a test SMTP server, with the secretariat's API
/// token and meeting 17; returns the app, the server, the token and the meeting's id.
async fn demo_forum(engine: Engine, extra: &[(&str, &str)]) -> (TestApp, SmtpServer, String, String) {
    let (app, smtp) = TestApp::with_mail(engine, extra).await;
    let meeting = meeting_17(&app).await;
    let token = common::api_token(&app, "secretariat@forum.example", dialogforum::domain::Role::Organiser).await;
    (app, smtp, token, meeting)
}

async fn meeting_17(app: &TestApp) -> String {
    dialogforum::demo::load(app.store(), jiff::civil::date(2026, 11, 27)).await.unwrap();
    app.store().meeting_by_number(17).await.unwrap().id.to_string()
}

async fn an_invitation_reaches_each_member_and_guest_once_with_personal_links_and_a_calendar_entry(engine: Engine) {
    let (app, smtp, token, meeting) = demo_forum(engine, &[]).await;
    let api = app.api(&token);
    let body = serde_json::json!({
        "audience": {"all": true},
        "guests": [
            {"email": "it-ordfoerer@parti.example", "name": "Karen Ærtebjerg", "organisation": "Folketinget"},
            {"email": "Anna.Bogh@nordlys-it.example", "name": "Anna igen"}
        ]
    });
    let id = api.invite(&meeting, &body).await;

    let p = api.campaign_in_state(&id, "done").await;
    assert_eq!(p["state"], "done", "{p}");
    assert_eq!(
        (p["total"].as_i64(), p["sent"].as_i64(), p["queued"].as_i64(), p["failed"].as_i64()),
        (Some(9), Some(9), Some(0), Some(0))
    );

    let msgs = smtp.wait_for(9, 5).await;
    let by = per_recipient(&msgs);
    assert_eq!(msgs.len(), 9);
    assert_eq!(by.len(), 9, "each address once; the guest who is also a member is not doubled");
    let mut rsvp_links = std::collections::HashSet::new();
    for m in &msgs {
        let text = m.plain();
        let link = text.lines().find(|l| l.contains("/rsvp/")).expect("an RSVP link").trim().to_owned();
        assert!(link.starts_with("http://127.0.0.1:8080/rsvp/"), "an absolute link from the base URL: {link}");
        rsvp_links.insert(link);
        assert!(m.text().contains("text/calendar"), "a calendar entry is attached");
        assert!(m.header("Subject").is_some());
    }
    assert_eq!(rsvp_links.len(), 9, "every invitation has its own link");
    let guest = by["it-ordfoerer@parti.example"][0];
    assert!(guest.header("List-Unsubscribe").is_none(), "a guest is not on the list");
    let member = by["anna.bogh@nordlys-it.example"][0];
    assert!(member.header("List-Unsubscribe").unwrap().contains("/unsubscribe/"));
    let parsed = mail_parser::MessageParser::default().parse(&member.data).unwrap();
    let ics = parsed.attachments().find(|a| a.attachment_name() == Some("invitation.ics")).expect("invitation.ics");
    let ics = String::from_utf8_lossy(ics.contents()).into_owned();
    assert!(ics.contains("BEGIN:VEVENT") && ics.contains("METHOD:PUBLISH"), "an offer, not a request: {ics}");
    let m17 = app.store().meeting_by_number(17).await.unwrap();
    assert!(
        ics.contains(&format!("DTSTART;TZID=Europe/Copenhagen:{}", local_ical(m17.starts_at))),
        "starts in local time: {ics}"
    );
    let props = ical_lines(&ics);
    assert!(props.iter().any(|(n, v)| n == "BEGIN" && v == "VTIMEZONE"), "a VTIMEZONE block: {ics}");
    assert_eq!(ical_prop(&props, "TZID").as_deref(), Some("Europe/Copenhagen"));
    assert_eq!(ical_prop(&props, "DTSTART;TZID=Europe/Copenhagen"), Some(local_ical(m17.starts_at)));
    assert_eq!(ical_prop(&props, "UID"), Some(format!("meeting-{}-public@forum.example", m17.id)));
    assert_eq!(ical_prop(&props, "SEQUENCE").as_deref(), Some("0"));
    assert!(ical_prop(&props, "ATTENDEE").is_none(), "{ics}");
    assert_eq!(ical_prop(&props, "STATUS").as_deref(), Some("CONFIRMED"));
    assert!(ical_prop(&props, "ORGANIZER").is_some_and(|o| o.starts_with("mailto:")), "{ics}");
    if !m17.online_url.is_empty() {
        assert!(!ics.contains(&m17.online_url), "an invitation carries no joining link");
    }

    let people = app.store().person_counts().await.unwrap();
    assert!(people.contains(&("guest".to_owned(), 1)), "the guest is kept apart from the list: {people:?}");

    // The same invitation again reaches nobody new.
    let again = api.invite(&meeting, &body).await;
    let p = api.campaign_in_state(&again, "done").await;
    assert_eq!((p["total"].as_i64(), p["sent"].as_i64()), (Some(0), Some(0)), "{p}");
    assert_eq!(app.delivered(&smtp).await, 9, "nobody is invited twice");
    app.stop().await;
}
both_engines!(an_invitation_reaches_each_member_and_guest_once_with_personal_links_and_a_calendar_entry);

async fn an_interest_segment_reaches_only_those_interested(engine: Engine) {
    let (app, smtp, token, meeting) = demo_forum(engine, &[]).await;
    let api = app.api(&token);
    let body = serde_json::json!({"audience": {"interests": ["cybersecurity", "green-it"]}});
    let id = api.invite(&meeting, &body).await;
    let p = api.campaign_in_state(&id, "done").await;
    let got: std::collections::BTreeSet<String> = per_recipient(&smtp.messages()).into_keys().collect();
    let expected: std::collections::BTreeSet<String> = [
        "mads@fjordsikkerhed.example",
        "jonas.lund@groenkode.example",
        "rasmus@kommunedata.example",
        "camilla.haugaard@nordlys-it.example",
    ]
    .map(String::from)
    .into();
    assert_eq!(got, expected);
    assert_eq!(p["total"], 4);
    app.stop().await;
}
both_engines!(an_interest_segment_reaches_only_those_interested);

async fn a_paused_campaign_stops_and_resumes_without_sending_anyone_twice(engine: Engine) {
    let (app, smtp, token, meeting) =
        demo_forum(engine, &[("mail.rate_per_second", "4"), ("mail.max_connections", "1")]).await;
    let api = app.api(&token);
    let body = serde_json::json!({"audience": {"all": true}});
    let id = api.invite(&meeting, &body).await;
    smtp.wait_for(1, 10).await;
    let res = api.act(&format!("/campaigns/{id}/pause")).await;
    assert_eq!(res.status(), 200);
    // What was already claimed may still go out; then nothing more.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let during = smtp.messages().len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(smtp.messages().len(), during, "nothing is sent while paused");
    assert!(during < 8, "the pause took effect before the end ({during} sent)");
    let p = api.campaign_in_state(&id, "paused").await;
    assert_eq!(p["state"], "paused");

    let res = api.act(&format!("/campaigns/{id}/resume")).await;
    assert_eq!(res.status(), 200);
    let p = api.campaign_in_state(&id, "done").await;
    assert_eq!(p["sent"], 8);
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 8, "everyone once");
    assert_eq!(per_recipient(&msgs).len(), 8);
    let res = api.act(&format!("/campaigns/{id}/pause")).await;
    assert_eq!(res.status(), 409, "a finished campaign cannot be paused");
    app.stop().await;
}
both_engines!(a_paused_campaign_stops_and_resumes_without_sending_anyone_twice);

async fn a_scheduled_campaign_waits_for_its_time_and_can_be_cancelled(engine: Engine) {
    let (app, smtp, token, meeting) = demo_forum(engine, &[]).await;
    let api = app.api(&token);
    let body = serde_json::json!({"audience": {"all": true}, "send_at": "2030-01-01T09:00:00+01:00"});
    let id = api.invite(&meeting, &body).await;
    // Long enough for the campaign runner to have sent it, were it not scheduled.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let p = api.campaign_in_state(&id, "scheduled").await;
    assert_eq!((p["state"].as_str(), p["total"].as_i64()), (Some("scheduled"), Some(0)));
    assert_eq!(p["scheduled_at"], "2030-01-01T09:00:00+01:00");
    assert!(smtp.messages().is_empty());
    let res = api.act(&format!("/campaigns/{id}/cancel")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(api.campaign_in_state(&id, "cancelled").await["state"], "cancelled");
    app.stop().await;
}
both_engines!(a_scheduled_campaign_waits_for_its_time_and_can_be_cancelled);

async fn invitations_need_a_published_meeting_and_a_sensible_audience(engine: Engine) {
    let (app, token) =
        TestApp::with_token(engine, "secretariat@forum.example", dialogforum::domain::Role::Organiser).await;
    let api = app.api(&token);
    let draft = serde_json::json!({"title": "Kladde", "starts_at": "2027-09-01T09:00:00+02:00", "ends_at": "2027-09-01T12:00:00+02:00", "format": "virtual", "online_url": "https://meet.example/kladde"});
    let m: serde_json::Value = api.post("/meetings", &draft).await.json().await.unwrap();
    let id = m["id"].as_str().unwrap();
    let invitations = format!("/meetings/{id}/invitations");
    let res = api.post(&invitations, &serde_json::json!({"audience": {"all": true}})).await;
    assert_eq!(res.status(), 409, "a draft cannot be invited to");
    let res = api.act(&format!("/meetings/{id}/publish")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["status"], "published");
    let res = api.post(&invitations, &serde_json::json!({"audience": {"all": true, "interests": ["ai"]}})).await;
    assert_eq!(res.status(), 422);
    let res = api.post(&invitations, &serde_json::json!({"guests": [{"email": "not-an-address", "name": "X"}]})).await;
    assert_eq!(res.status(), 422);
    let p: serde_json::Value = res.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().starts_with("guests[0].email"), "{p}");
    let res = api.post(&invitations, &serde_json::json!({})).await;
    assert_eq!(res.status(), 422);
    app.stop().await;
}
both_engines!(invitations_need_a_published_meeting_and_a_sensible_audience);

/// A meeting time as a local iCalendar DATE-TIME in Europe/Copenhagen.
fn local_ical(t: jiff::Timestamp) -> String {
    t.to_zoned_datetime(dialogforum::domain::copenhagen()).strftime("%Y%m%dT%H%M%S").to_string()
}

/// A minimal iCalendar reader: unfolds the lines and splits each into its
/// name (with parameters) and value.
fn ical_lines(ics: &str) -> Vec<(String, String)> {
    let unfolded = ics.replace("\r\n ", "").replace("\r\n\t", "");
    unfolded
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, value) = l.split_once(':').expect("a content line has a colon");
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// The value of the first property with this name (parameters, if not
/// named, ignored).
fn ical_prop(props: &[(String, String)], name: &str) -> Option<String> {
    props.iter().find(|(n, _)| n == name || n.starts_with(&format!("{name};"))).map(|(_, v)| v.clone())
}

/// The calendar entry attached to a message, and the MIME type it came with.
/// The calendars sent to the seat `holder` among `msgs`, each with its
/// properties, after checking that each is sent as `method` and that no one
/// without a seat gets a calendar entry.
fn holders_calendars(msgs: &[Received], holder: &str, method: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for m in msgs {
        if m.to[0] != holder {
            assert!(!m.text().contains("text/calendar"), "no calendar entry without a seat");
            continue;
        }
        let (ics, ct) = attached_ics(m);
        assert_eq!(ct, format!("text/calendar; method={method}"));
        let props = ical_lines(&ics);
        assert_eq!(ical_prop(&props, "METHOD").as_deref(), Some(method), "{ics}");
        out.push((ics, props));
    }
    out
}

fn attached_ics(m: &Received) -> (String, String) {
    let parsed = mail_parser::MessageParser::default().parse(&m.data).unwrap();
    let a = parsed.attachments().find(|a| a.attachment_name() == Some("invitation.ics")).expect("invitation.ics");
    let ct = a
        .content_type()
        .map(|c| format!("{}/{}; method={}", c.ctype(), c.subtype().unwrap_or(""), c.attribute("method").unwrap_or("")))
        .unwrap_or_default();
    (String::from_utf8_lossy(a.contents()).into_owned(), ct)
}

async fn a_rescheduled_meeting_updates_and_a_cancelled_one_withdraws_the_calendar_entry(engine: Engine) {
    let (app, smtp, token, meeting) = demo_forum(engine, &[]).await;
    let api = app.api(&token);
    let body = serde_json::json!({"audience": {"all": true}, "guests": [{"email": "it-ordfoerer@parti.example", "name": "Karen Ærtebjerg"}]});
    let id = api.invite(&meeting, &body).await;
    let p = api.campaign_in_state(&id, "done").await;
    let invited = usize::try_from(p["total"].as_i64().unwrap()).unwrap();
    assert!(invited >= 3, "{p}");
    let msgs = smtp.wait_for(invited, 10).await;
    assert_eq!(msgs.len(), invited);

    // One person declines; they hear nothing more about the meeting.
    let decliner = msgs[0].to[0].clone();
    let text = msgs[0].plain();
    let link = text.lines().find(|l| l.contains("/rsvp/")).unwrap().trim().to_owned();
    let rsvp = link.rsplit('/').next().unwrap().to_owned();
    let res = app.rsvp(&rsvp, "no").await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    // Another says yes and holds a seat: only their calendar has the entry.
    let holder = msgs[1].to[0].clone();
    let text = msgs[1].plain();
    let link = text.lines().find(|l| l.contains("/rsvp/")).unwrap().trim().to_owned();
    let yes = [("answer", "yes"), ("track", "ai")];
    let res = app.post_form(&format!("/rsvp/{}", link.rsplit('/').next().unwrap()), &yes).await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let before = smtp.wait_for(invited + 2, 10).await.len();
    assert_eq!(before, invited + 2, "the answers are confirmed");

    // Reschedule by a week.
    let m17 = app.store().meeting_by_number(17).await.unwrap();
    let week = jiff::SignedDuration::from_hours(24 * 7);
    let (starts, ends) = (m17.starts_at + week, m17.ends_at + week);
    let patch = serde_json::json!({"starts_at": starts.to_string(), "ends_at": ends.to_string()});
    let res = api.patch(&format!("/meetings/{meeting}"), &patch).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let expected = invited - 1;
    let all = smtp.wait_for(before + expected, 10).await;
    app.outbox_settled().await;
    let all_now = smtp.messages();
    assert_eq!(all_now.len(), all.len(), "nothing more than the updates");
    let updates = &all[before..];
    assert_eq!(updates.len(), expected, "one update to each invited person who did not decline");
    let by = per_recipient(updates);
    assert_eq!(by.len(), expected, "exactly one each");
    assert!(!by.contains_key(&decliner), "who declined hears nothing");
    for (ics, props) in holders_calendars(updates, &holder, "REQUEST") {
        assert_eq!(ical_prop(&props, "UID"), Some(format!("meeting-{}@forum.example", m17.id)));
        assert_eq!(ical_prop(&props, "SEQUENCE").as_deref(), Some("1"), "one higher: {ics}");
        assert_eq!(ical_prop(&props, "DTSTART;TZID=Europe/Copenhagen"), Some(local_ical(starts)), "{ics}");
        assert_eq!(ical_prop(&props, "DTEND;TZID=Europe/Copenhagen"), Some(local_ical(ends)), "{ics}");
    }

    // A change of the description alone sends nothing.
    let res = api.patch(&format!("/meetings/{meeting}"), &serde_json::json!({"description": "Nyt program"})).await;
    assert_eq!(res.status(), 200);
    let res = api.patch(&format!("/meetings/{meeting}"), &serde_json::json!({"ends_at": "2000-01-01T00:00:00Z"})).await;
    assert_eq!(res.status(), 422, "validated like creation");

    // Cancel: one METHOD:CANCEL to each of the same people.
    let before = all.len();
    let res = api.act(&format!("/meetings/{meeting}/cancel")).await;
    assert_eq!(res.status(), 200);
    let all = smtp.wait_for(before + expected, 10).await;
    assert_eq!(app.delivered(&smtp).await, before + expected);
    let cancels = &all[before..];
    let by = per_recipient(cancels);
    assert_eq!(by.len(), expected);
    assert!(!by.contains_key(&decliner));
    for (_, props) in holders_calendars(cancels, &holder, "CANCEL") {
        assert_eq!(ical_prop(&props, "STATUS").as_deref(), Some("CANCELLED"));
        assert_eq!(ical_prop(&props, "SEQUENCE").as_deref(), Some("2"));
        assert_eq!(ical_prop(&props, "UID"), Some(format!("meeting-{}@forum.example", m17.id)));
    }
    app.stop().await;
}
both_engines!(a_rescheduled_meeting_updates_and_a_cancelled_one_withdraws_the_calendar_entry);

/// Microsoft 365 takes no passwords: the outbox signs in with XOAUTH2 as the
/// mailbox named in `smtp_url`, with a token read from a file on every new
/// connection. A stale token keeps the mail queued, not failed; once the
/// deployment's helper has written a fresh one, the mail goes out.
async fn the_outbox_signs_in_with_an_oauth2_token_from_a_file_or_a_command(engine: Engine) {
    let server = common::xoauth2::OAuthSmtp::start("fresh-token-1").await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "stale-token\n").unwrap();
    let url = format!("smtp://dialogforum%40forum.example@{}", server.addr);
    let file = token_file.display().to_string();
    let settings = [
        ("mail.transport", "smtp"),
        ("mail.smtp_url", url.as_str()),
        ("mail.allow_plaintext_auth", "true"),
        ("mail.oauth2_token_file", file.as_str()),
        ("mail.max_connections", "1"),
    ];
    let app = TestApp::spawn_with(engine, &settings).await;
    send_many(&app, 2).await;
    common::eventually("a refused sign-in", 10, || async { server.sign_ins() }, |s| !s.is_empty()).await;
    let c = app.store().outbox_counts().await.unwrap();
    assert_eq!((c.sent, c.failed), (0, 0), "a stale token fails nothing: {c:?}");
    assert!(server.messages().is_empty());

    std::fs::write(&token_file, "fresh-token-1").unwrap();
    let c = wait_for_counts(app.store(), |c| c.sent == 2, 20).await;
    assert_eq!((c.sent, c.failed), (2, 0));
    assert_eq!(server.messages().len(), 2);
    let sign_ins = server.sign_ins();
    assert_eq!(sign_ins.first().unwrap(), &("dialogforum@forum.example".to_owned(), "stale-token".to_owned()));
    assert_eq!(sign_ins.last().unwrap(), &("dialogforum@forum.example".to_owned(), "fresh-token-1".to_owned()));
    app.stop().await;

    // The same from a command, the deployment's own token helper.
    server.rotate("fresh-token-2");
    let settings = [
        ("mail.transport", "smtp"),
        ("mail.smtp_url", url.as_str()),
        ("mail.allow_plaintext_auth", "true"),
        ("mail.oauth2_token_command", "printf fresh-token-2"),
    ];
    let app = TestApp::spawn_with(engine, &settings).await;
    send_many(&app, 1).await;
    wait_for_counts(app.store(), |c| c.sent == 1, 20).await;
    assert_eq!(server.sign_ins().last().unwrap().1, "fresh-token-2");
    app.stop().await;
}
both_engines!(the_outbox_signs_in_with_an_oauth2_token_from_a_file_or_a_command);

/// A password and a token source together are refused at start, with the fix.
#[test]
fn an_oauth2_token_source_wants_the_mailbox_as_user_and_no_password() {
    let out = cli(
        &["migrate"],
        &[
            ("DIALOGFORUM_MAIL__TRANSPORT", "smtp"),
            ("DIALOGFORUM_MAIL__SMTP_URL", "smtps://dialogforum%40forum.example:secret@smtp.example:465"),
            ("DIALOGFORUM_MAIL__OAUTH2_TOKEN_COMMAND", "get-token"),
        ],
        "",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    common::assert_has(&err, &["mail.smtp_url", "no password"]);
    assert!(!err.contains("secret"), "the password is not shown: {err}");
}
