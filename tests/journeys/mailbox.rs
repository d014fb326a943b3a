//! The forum's mailbox where it really lives: mail read by IMAP from a real
//! dovecot (started per test) is handled as the SMTP listener handles it. A
//! join mail brings the confirmation, a bounce of a real invitation suppresses
//! the address, each once, and handled mail is moved (IMAPS) or marked read
//! (STARTTLS). A `serve` process killed with SIGKILL between handling a
//! message and marking it loses nothing and does nothing twice when started
//! again. `doctor` says in words when the mailbox refuses the password, and
//! XOAUTH2 signs in to an IMAP server that takes only that.

use crate::common;

use common::imap::{Dovecot, OAuthImap, USER};
use common::smtp::{Received, SmtpServer};
use common::{Engine, TestApp, TestDb};
use dialogforum::app::{self, StartOptions};
use dialogforum::config::{ImapMailbox, ImapTls};
use dialogforum::domain::Role;

const JOIN: &str = "tilmeld@forum.example";
const DONE: &str = "Dialogforum/Behandlet";

/// The app sending through `smtp`, with the join address, reading `mailbox`.
async fn start(engine: Engine, smtp: &SmtpServer, mailbox: ImapMailbox) -> TestApp {
    let db = TestDb::new(engine).await;
    let url = smtp.url();
    let overrides = [("mail.transport", "smtp"), ("mail.smtp_url", url.as_str()), ("inbound.join_address", JOIN)];
    let mut settings = common::settings(&db, &overrides);
    settings.inbound.imap.push(mailbox);
    let running = app::start(settings, StartOptions::default()).await.expect("start the app");
    let base = format!("http://{}", running.addr);
    TestApp { db, running, base, http: common::client() }
}

/// A person's own mail to the join address, as it lies in the forum's mailbox.
fn join_mail(from: &str, name: &str, id: &str) -> String {
    format!(
        "Return-Path: <{from}>\nDelivered-To: {USER}\nFrom: {name} <{from}>\nTo: Dialogforum <{JOIN}>\n\
         Subject: Tilmelding\nMessage-ID: <{id}@mail.example>\nDate: Mon, 7 Dec 2026 10:00:00 +0100\n\n\
         Jeg vil gerne være med.\n"
    )
}

/// A delivery status notification for `recipient`, sent back to the bounce address `verp`.
fn bounce_mail(verp: &str, recipient: &str) -> String {
    format!(
        "Return-Path: <>\nDelivered-To: {USER}\nFrom: Mail Delivery System <MAILER-DAEMON@mx.kunde.example>\n\
         To: {verp}\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <dsn-1@mx.kunde.example>\n\
         MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n\
         --b\nContent-Type: text/plain\n\nThe mail could not be delivered.\n\n\
         --b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.kunde.example\n\n\
         Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: 5.1.1 (user unknown)\n\n--b--\n"
    )
}

fn confirmations_to(smtp: &SmtpServer, to: &str) -> Vec<Received> {
    smtp.messages().into_iter().filter(|m| m.is_to(to) && m.link("/confirm/").contains('/')).collect()
}

async fn person_status(db: &TestDb, email: &str) -> Option<String> {
    let sql = "select status from person where email = $1";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(email).fetch_optional(&pool).await.unwrap())
}

async fn handled_rows(db: &TestDb) -> Vec<(i64, String)> {
    let sql = "select uid, outcome from imap_message order by uid";
    on_db!(db, |pool| sqlx::query_as(sql).fetch_all(&pool).await.unwrap())
}

async fn a_join_mail_and_a_bounce_in_the_mailbox_are_handled_once_each(engine: Engine) {
    let dovecot = Dovecot::start().await;
    let smtp = SmtpServer::start().await;
    let app = start(engine, &smtp, dovecot.mailbox(ImapTls::Imaps, DONE)).await;

    // A real invitation to a member, whose address then bounces.
    let token = common::api_token(&app, "secretariat@forum.example", Role::Organiser).await;
    app.confirmed_person("bo@kunde.example", "Bo Berg", "Kunde A/S").await;
    let api = app.api(&token);
    let meeting = api
        .published_meeting(&serde_json::json!({"title": "Dialogmøde", "starts_at": "2027-09-01T09:00:00+02:00",
            "ends_at": "2027-09-01T12:00:00+02:00", "format": "virtual", "online_url": "https://meet.example/m"}))
        .await;
    api.invite(&meeting, &serde_json::json!({"audience": {"all": true}})).await;
    let invitation = smtp.wait_for_mail("the invitation", |m| m.to == ["bo@kunde.example"]).await;
    assert!(invitation.from.contains("+bounce-"), "sent from its own bounce address: {}", invitation.from);

    dovecot.deliver(&join_mail("anna@nordlys-it.example", "Anna Bøgh", "join-1"));
    dovecot.deliver(&bounce_mail(&invitation.from, "bo@kunde.example"));

    let confirmation = smtp.wait_for_mail("the confirmation", |m| m.to == ["anna@nordlys-it.example"]).await;
    assert!(confirmation.link("/confirm/").contains("/confirm/"), "{}", confirmation.text());
    common::eventually(
        "the bounce to suppress Bo",
        30,
        || person_status(&app.db, "bo@kunde.example"),
        |s| s.as_deref() == Some("bounced"),
    )
    .await;
    // A move copies, then expunges: both folders are looked at together.
    let folders = || async { (dovecot.messages("INBOX").len(), dovecot.messages(DONE).len()) };
    common::eventually("both messages to be moved", 30, folders, |n| *n == (0, 2)).await;

    // A message that means nothing is moved too; by then every earlier one
    // has been seen again, had it been left behind.
    dovecot.deliver(
        "Return-Path: <kim@andet.example>\nFrom: kim@andet.example\nTo: someone@andet.example\nSubject: Hej\n\nHej\n",
    );
    common::eventually("the stray message to be moved", 30, folders, |n| *n == (0, 3)).await;
    app.outbox_settled().await;
    assert_eq!(confirmations_to(&smtp, "anna@nordlys-it.example").len(), 1, "one confirmation");
    assert_eq!(person_status(&app.db, "anna@nordlys-it.example").await.as_deref(), Some("pending"));
    let mut outcomes: Vec<String> = handled_rows(&app.db).await.into_iter().map(|(_, o)| o).collect();
    assert_eq!(outcomes.pop().as_deref(), Some("not ours"), "the last to arrive");
    outcomes.sort();
    assert_eq!(outcomes, ["bounce", "join"], "the two that arrived together, in the order the server numbered them");
    app.stop().await;
}
both_engines!(a_join_mail_and_a_bounce_in_the_mailbox_are_handled_once_each);

async fn over_starttls_a_handled_message_stays_in_the_folder_marked_read(engine: Engine) {
    let dovecot = Dovecot::start().await;
    let smtp = SmtpServer::start().await;
    let app = start(engine, &smtp, dovecot.mailbox(ImapTls::Starttls, "")).await;
    dovecot.deliver(&join_mail("carl@nordlys-it.example", "Carl Holm", "join-2"));
    smtp.wait_for_mail("the confirmation", |m| m.to == ["carl@nordlys-it.example"]).await;
    let seen = || async { dovecot.messages("INBOX").into_iter().map(|(_, flags)| flags).collect::<Vec<_>>() };
    common::eventually("the message to be marked read", 30, seen, |f| f.len() == 1 && f[0].contains('S')).await;
    app.outbox_settled().await;
    assert_eq!(confirmations_to(&smtp, "carl@nordlys-it.example").len(), 1);
    app.stop().await;
}
both_engines!(over_starttls_a_handled_message_stays_in_the_folder_marked_read);

/// The environment of a `serve` process on `db` sending through `smtp`.
fn serve_env(db: &TestDb, smtp: &SmtpServer) -> Vec<(&'static str, String)> {
    vec![
        ("DIALOGFORUM_DATABASE__URL", db.url.clone()),
        ("DIALOGFORUM_SERVER__BIND", "127.0.0.1:0".to_owned()),
        ("DIALOGFORUM_MAIL__TRANSPORT", "smtp".to_owned()),
        ("DIALOGFORUM_MAIL__SMTP_URL", smtp.url()),
        ("DIALOGFORUM_MAIL__FROM", "dialogforum@forum.example".to_owned()),
        ("DIALOGFORUM_MAIL__POLL_INTERVAL_MS", "50".to_owned()),
        ("DIALOGFORUM_INBOUND__JOIN_ADDRESS", JOIN.to_owned()),
    ]
}

/// The window between handling and marking is held open by `mark_delay_ms`
/// (ten minutes in the first run), so the kill lands in it every time rather
/// than by luck: the first message is handled (its confirmation has gone
/// out) and not yet moved when the process dies.
async fn a_service_killed_between_handling_and_marking_loses_and_doubles_nothing(engine: Engine) {
    let dovecot = Dovecot::start().await;
    let smtp = SmtpServer::start().await;
    let db = TestDb::new(engine).await;
    let dir = tempfile::tempdir().unwrap();
    let people = ["anna@nordlys-it.example", "bo@nordlys-it.example", "carl@nordlys-it.example"];
    for (i, who) in people.iter().enumerate() {
        dovecot.deliver(&join_mail(who, "Nordlys Kontakt", &format!("kill-{i}")));
    }
    let env = serve_env(&db, &smtp);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let slow = dir.path().join("slow.toml");
    let table = dovecot.toml(ImapTls::Imaps, common::imap::PASSWORD, &format!("move_to = \"{DONE}\""));
    std::fs::write(&slow, format!("{table}mark_delay_ms = 600000\n")).unwrap();
    let mut first = common::spawn_cli(&["--config", slow.to_str().unwrap(), "serve"], &env);
    smtp.wait_for_mail("the first confirmation", |m| m.link("/confirm/").contains('/')).await;
    first.kill().expect("SIGKILL");
    first.wait().unwrap();
    assert_eq!(dovecot.messages(DONE).len(), 0, "nothing was marked before the kill");
    assert_eq!(handled_rows(&db).await.len(), 1, "one message was handled");

    let quick = dir.path().join("quick.toml");
    std::fs::write(&quick, dovecot.toml(ImapTls::Imaps, common::imap::PASSWORD, &format!("move_to = \"{DONE}\"")))
        .unwrap();
    let mut second = common::spawn_cli(&["--config", quick.to_str().unwrap(), "serve"], &env);
    let folders = || async { (dovecot.messages("INBOX").len(), dovecot.messages(DONE).len()) };
    common::eventually("every message to be moved", 60, folders, |n| *n == (0, 3)).await;
    common::eventually("three confirmations", 60, || async { smtp.messages().len() }, |n| *n >= 3).await;
    common::eventually(
        "the outbox to be empty",
        60,
        || async {
            let sql = "select count(*) from outbox where status in ('queued', 'sending')";
            on_db!(db, |pool| sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap())
        },
        |n| *n == 0,
    )
    .await;
    second.kill().unwrap();
    second.wait().unwrap();
    for who in people {
        assert_eq!(confirmations_to(&smtp, who).len(), 1, "one confirmation to {who}");
    }
    assert_eq!(handled_rows(&db).await.len(), 3);
    db.drop_db().await;
}
both_engines!(a_service_killed_between_handling_and_marking_loses_and_doubles_nothing);

/// Runs `doctor` on `db` with the configuration `toml` and gives its report and exit code.
async fn doctor(db: &TestDb, toml: &str) -> (String, Option<i32>) {
    db.store().await.close().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dialogforum.toml");
    std::fs::write(&file, toml).unwrap();
    let out = common::cli(
        &["--config", file.to_str().unwrap(), "doctor"],
        &[("DIALOGFORUM_DATABASE__URL", &db.url), ("DIALOGFORUM_MAIL__FROM", "dialogforum@forum.example")],
        "",
    );
    (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code())
}

async fn doctor_says_in_words_that_the_mailbox_refused_the_password(engine: Engine) {
    let dovecot = Dovecot::start().await;
    let db = TestDb::new(engine).await;
    let (report, code) = doctor(&db, &dovecot.toml(ImapTls::Imaps, "forkert-kodeord", "")).await;
    assert_eq!(code, Some(1), "{report}");
    common::assert_has(
        &report,
        &[
            "ok       IMAP connection",
            "ok       IMAP TLS",
            "FAIL     IMAP login: f***@forum.example@127.0.0.1/INBOX: the server refused the user name and password",
            "correct user and password of this [[inbound.imap]] mailbox",
        ],
    );
    assert!(!report.contains("forkert-kodeord"), "the password is never shown");

    let (report, _) = doctor(&db, &dovecot.toml(ImapTls::Starttls, common::imap::PASSWORD, "")).await;
    common::assert_has(&report, &["ok       IMAP TLS", "STARTTLS, certificate valid"]);
    assert!(report.contains("ok       IMAP login"), "{report}");
    assert_eq!(dovecot.messages("INBOX").len(), 0);
    db.drop_db().await;
}
both_engines!(doctor_says_in_words_that_the_mailbox_refused_the_password);

/// dovecot checks OAuth2 tokens only against an identity provider, so this
/// signs in to a local IMAP server over TLS that takes only XOAUTH2.
async fn xoauth2_signs_in_to_imap_with_a_token_from_the_file_or_the_command(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let certs = common::imap::Certificates::make(dir.path());
    let server = OAuthImap::start(&certs, "fresh-token").await;
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "stale-token\n").unwrap();
    let db = TestDb::new(engine).await;
    let toml = format!(
        "[[inbound.imap]]\nhost = \"127.0.0.1\"\nport = {}\nca_file = \"{}\"\nuser = \"{USER}\"\n\
         oauth2_token_file = \"{}\"\n",
        server.addr.port(),
        certs.ca.display(),
        token_file.display()
    );
    let (report, code) = doctor(&db, &toml).await;
    assert_eq!(code, Some(1), "{report}");
    common::assert_has(&report, &["FAIL     IMAP login", "refused the OAuth2 token"]);
    assert!(!report.contains("stale-token"), "the token is never shown");

    std::fs::write(&token_file, "fresh-token\n").unwrap();
    let (report, _) = doctor(&db, &toml).await;
    assert!(report.contains("ok       IMAP login"), "{report}");
    assert_eq!(
        server.sign_ins(),
        [(USER.to_owned(), "stale-token".to_owned()), (USER.to_owned(), "fresh-token".to_owned())]
    );
    db.drop_db().await;

    // The service itself, with the token from [mail]'s command, which SMTP would use too.
    server.rotate("from-command");
    let db = TestDb::new(engine).await;
    let mut settings = common::settings(&db, &[]);
    "printf from-command".clone_into(&mut settings.mail.oauth2_token_command);
    settings.inbound.imap.push(Dovecot::oauth2_mailbox(server.addr.port(), &certs.ca));
    let running = app::start(settings, StartOptions::default()).await.expect("start the app");
    common::eventually(
        "a sign-in with the command's token",
        30,
        || async { server.sign_ins() },
        |s| s.iter().any(|(u, t)| u == USER && t == "from-command"),
    )
    .await;
    running.stop().await.unwrap();
    db.drop_db().await;
}
both_engines!(xoauth2_signs_in_to_imap_with_a_token_from_the_file_or_the_command);

/// A mailbox the service could not sign in to, or one without TLS, stops
/// start-up with a message naming the mailbox's table.
#[test]
fn a_mailbox_without_a_way_to_sign_in_or_without_tls_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let run = |table: &str| {
        let file = dir.path().join("dialogforum.toml");
        std::fs::write(&file, format!("[[inbound.imap]]\nhost = \"imap.example\"\nuser = \"{USER}\"\n{table}"))
            .unwrap();
        let out = common::cli(&["--config", file.to_str().unwrap(), "migrate"], &[], "");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = run("");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("inbound.imap[0]: give a password, or an OAuth2 token source"), "{err}");
    let (code, err) = run("password = \"x\"\ntls = \"none\"\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("tls") && err.contains("imaps") && err.contains("starttls"), "{err}");
}
