//! The inbound SMTP listener under load from one sender: idle connections
//! from one address leave room for everyone else's bounces, forged requests
//! to join spend the sign-up budget the web form uses, a session has a
//! command budget, and an oversized message is refused without being held.

use crate::common::PostForm as _;
use std::net::SocketAddr;
use std::time::Duration;

use dialogforum::domain::{Email, Name, OutboxId, PersonId, PersonStatus};
use dialogforum::mail::deliver::verp::envelope_sender;
use dialogforum::mail::{Composer, Outgoing};
use dialogforum::store::outbox::enqueue;
use dialogforum::store::people::{NewPerson, insert_person_if_new};

use crate::common::smtp::SmtpClient;
use crate::common::{Engine, Inbound};

const FROM: &str = "dialogforum@forum.example";
const JOIN: &str = "tilmeld@forum.example";

/// The app with the inbound listener and the join address, and no outbox
/// worker, so queued mail stays in the outbox where the tests count it.
async fn listener(engine: Engine, extra: &[(&str, &str)]) -> Inbound {
    let mut overrides = vec![("inbound.join_address", JOIN)];
    overrides.extend_from_slice(extra);
    Inbound::start(engine, &overrides).await
}

impl Inbound {
    /// A confirmed list member with a message sent to them; returns them and that message's bounce address.
    async fn member_with_a_message(&self, email: &str) -> (PersonId, String) {
        let store = &self.running.state.store;
        let to = Email::parse(email).unwrap();
        let mut tx = store.begin().await.unwrap();
        let person = NewPerson {
            email: to.clone(),
            name: Name::parse("Ida Frølich").unwrap(),
            organisation: None,
            status: PersonStatus::Confirmed,
            interests: Vec::new(),
        };
        let (id, _) = insert_person_if_new(&mut tx, &person, None).await.unwrap();
        let composer =
            Composer::new(&Email::parse(FROM).unwrap(), "Dialogforum", None, "dialogforum.forum.example").unwrap();
        let message = composer
            .compose(&Outgoing {
                kind: "newsletter",
                to: &to,
                to_name: None,
                person_id: Some(id),
                campaign_id: None,
                subject: "Nyt fra Dialogforum",
                text: "Hej".to_owned(),
                html: "<p>Hej</p>".to_owned(),
                unsubscribe_url: None,
                ics: None,
            })
            .unwrap();
        let outbox: OutboxId = enqueue(&mut tx, &message).await.unwrap();
        tx.commit().await.unwrap();
        (id, envelope_sender(&Email::parse(FROM).unwrap(), outbox).unwrap().to_string())
    }

    /// Confirmation mails queued for sign-ups.
    async fn confirmations(&self) -> i64 {
        let sql = "select count(*) from outbox where kind = 'confirm'";
        on_db!(self.db, |pool| sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap())
    }
}

/// A hard bounce (RFC 3464) of the message whose return path is `bounce_to`.
fn dsn(bounce_to: &str, recipient: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.velfaerdstek.example (Mail Delivery System)\r
To: {bounce_to}\r
Subject: Undelivered Mail Returned to Sender\r
Auto-Submitted: auto-replied\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r
\r
--b1\r
Content-Type: text/plain; charset=utf-8\r
\r
Your message could not be delivered.\r
\r
--b1\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns; mx.velfaerdstek.example\r
\r
Final-Recipient: rfc822; {recipient}\r
Action: failed\r
Status: 5.1.1\r
Diagnostic-Code: smtp; 550 5.1.1 User unknown\r
\r
--b1--\r
"
    )
}

/// A person's mail to the join address.
fn join_mail(from: &str, n: usize) -> String {
    format!(
        "From: Ny Deltager <{from}>\r
To: {JOIN}\r
Subject: Tilmelding\r
Message-ID: <tilmeld-{n}@forged.example>\r
\r
Tilmeld mig venligst.\r
"
    )
}

async fn idle_connections_from_one_address_leave_room_for_a_bounce_from_another(engine: Engine) {
    let app = listener(engine, &[]).await;
    let ida = "ida@velfaerdstek.example";
    let (person, bounce_to) = app.member_with_a_message(ida).await;

    // One address opens 64 connections and sits on them; the first 8 are served, the rest turned away.
    let mut idle = Vec::new();
    let mut refused = 0;
    for _ in 0..64 {
        let (mut smtp, code) = SmtpClient::open(app.addr).await;
        match code {
            220 => idle.push(smtp),
            421 => {
                assert!(smtp.closed().await, "a connection over the cap is closed");
                refused += 1;
            }
            other => panic!("greeting {other}"),
        }
    }
    assert_eq!((idle.len(), refused), (8, 56), "8 connections per peer, the 9th and later get 421");

    // Meanwhile a mail server elsewhere delivers a bounce, and it is processed.
    let (mut mx, code) = SmtpClient::open_from("127.0.0.2", app.addr).await;
    assert_eq!(code, 220, "another peer is served while one holds its 8");
    assert_eq!(mx.command("EHLO mx.velfaerdstek.example").await.0, 250);
    let (code, text) = mx.send("", &bounce_to, &dsn(&bounce_to, ida)).await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(app.person_state(person).await.0, "bounced", "the bounced person is suppressed");
    assert_eq!(mx.command("QUIT").await.0, 221);

    // Once the idle connections are gone, their address is served again.
    drop(idle);
    let mut again = None;
    for _ in 0..200 {
        let (smtp, code) = SmtpClient::open(app.addr).await;
        if code == 220 {
            again = Some(smtp);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut again = again.expect("served again once its connections closed");
    assert_eq!(again.command("EHLO mx.nordlys-it.example").await.0, 250);
    assert_eq!(again.command("QUIT").await.0, 221);
    app.stop().await;
}
both_engines!(idle_connections_from_one_address_leave_room_for_a_bounce_from_another);

/// Sends a join mail from each sender over one connection; returns the answers.
async fn join_mails(addr: SocketAddr, senders: &[String]) -> Vec<u16> {
    let mut smtp = SmtpClient::connect(addr).await;
    assert_eq!(smtp.command("EHLO mx.forged.example").await.0, 250);
    let mut answers = Vec::new();
    for (n, from) in senders.iter().enumerate() {
        let (code, text) = smtp.send(from, JOIN, &join_mail(from, n)).await;
        assert!(code == 250 || code == 451, "{text}");
        answers.push(code);
    }
    assert_eq!(smtp.command("QUIT").await.0, 221);
    answers
}

async fn ten_forged_join_mails_in_one_connection_spend_the_web_forms_budget(engine: Engine) {
    let app = listener(engine, &[("security.signups_per_ip_per_hour", "3")]).await;
    let forged: Vec<String> = (0..10).map(|n| format!("offer{n}@firma{n}.example")).collect();
    let answers = join_mails(app.addr, &forged).await;
    assert_eq!(answers, [250, 250, 250, 451, 451, 451, 451, 451, 451, 451], "over budget: try again later");
    assert_eq!(app.confirmations().await, 3, "no more confirmations than the client's budget");

    // The sign-up form counts under the same budget: it is spent for this client.
    let web = format!("http://{}/subscribe", app.running.addr);
    let form = [("name", "Ny Deltager"), ("email", "ny@web.example"), ("consent", "yes")];
    let res = reqwest::Client::new().post_form(web, &form).await;
    assert_eq!(res.status(), 429);
    assert_eq!(app.confirmations().await, 3);
    app.stop().await;
}
both_engines!(ten_forged_join_mails_in_one_connection_spend_the_web_forms_budget);

async fn join_mails_from_one_envelope_domain_stop_at_its_budget(engine: Engine) {
    let app = listener(engine, &[("security.signups_per_domain_per_hour", "2")]).await;
    let senders: Vec<String> = ["a", "a", "a", "b", "b", "b"]
        .iter()
        .enumerate()
        .map(|(n, d)| format!("offer{n}@{d}.forged.example"))
        .collect();
    let answers = join_mails(app.addr, &senders).await;
    assert_eq!(answers, [250, 250, 451, 250, 250, 451]);
    assert_eq!(app.confirmations().await, 4);
    app.stop().await;
}
both_engines!(join_mails_from_one_envelope_domain_stop_at_its_budget);

async fn a_session_that_keeps_talking_is_closed_after_its_command_budget(engine: Engine) {
    let app = listener(engine, &[]).await;
    let mut smtp = SmtpClient::connect(app.addr).await;
    assert_eq!(smtp.command("EHLO mx.nordlys-it.example").await.0, 250);
    for n in 2..=100 {
        assert_eq!(smtp.command("NOOP").await.0, 250, "command {n}");
    }
    let (code, text) = smtp.command("NOOP").await;
    assert_eq!(code, 421, "the 101st command: {text}");
    assert!(smtp.closed().await, "and the connection is closed");
    // A new connection starts afresh.
    let mut fresh = SmtpClient::connect(app.addr).await;
    assert_eq!(fresh.command("EHLO mx.nordlys-it.example").await.0, 250);
    assert_eq!(fresh.command("QUIT").await.0, 221);
    app.stop().await;
}
both_engines!(a_session_that_keeps_talking_is_closed_after_its_command_budget);

async fn an_oversized_message_is_refused_with_552_and_the_next_one_goes_through(engine: Engine) {
    let app = listener(engine, &[]).await;
    let ida = "ida@velfaerdstek.example";
    let (person, bounce_to) = app.member_with_a_message(ida).await;

    // A bounce padded to 1.5 MiB, over the default limit of 1 MiB; no SIZE announced.
    let filler = vec!["A".repeat(76); 20_000].join("\r\n");
    let big = dsn(&bounce_to, ida).replace("--b1--", &format!("{filler}\r\n--b1--"));
    assert!(big.len() > 1_500_000);
    let mut smtp = SmtpClient::connect(app.addr).await;
    let (code, ehlo) = smtp.command("EHLO mx.velfaerdstek.example").await;
    assert_eq!(code, 250);
    assert!(ehlo.contains("SIZE 1048576"), "the limit is announced: {ehlo}");
    let (code, text) = smtp.send("", &bounce_to, &big).await;
    assert_eq!(code, 552, "{text}");
    assert_eq!(app.person_state(person).await.0, "confirmed", "a refused message changes nothing");
    assert_eq!(smtp.command("QUIT").await.0, 221);

    // The same bounce at its real size, on a new connection, is processed.
    let mut again = SmtpClient::connect(app.addr).await;
    assert_eq!(again.command("EHLO mx.velfaerdstek.example").await.0, 250);
    let (code, text) = again.send("", &bounce_to, &dsn(&bounce_to, ida)).await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(app.person_state(person).await.0, "bounced");
    assert_eq!(again.command("QUIT").await.0, 221);
    app.stop().await;
}
both_engines!(an_oversized_message_is_refused_with_552_and_the_next_one_goes_through);
