//! The inbound SMTP listener over real SMTP: delivery status notifications
//! suppress addresses (hard at once, soft at the limit) and cancel their queued
//! mail, abuse reports suppress, auto-replies change nothing and are never
//! answered, and the listener is no open relay and keeps to its size limit.
//!
//! Joining and leaving by mail, with the outbox worker sending through a real
//! SMTP server: a mail to the join address brings a confirmation whose button
//! confirms; automatic mail sets nothing off; "afmeld" (or any mail to the
//! leave address) from a member brings an unsubscribe link, from a stranger
//! nothing; and list mail names the leave address in `List-Unsubscribe`.

use crate::common;
use crate::common::PostForm as _;

use std::net::SocketAddr;
use std::time::Duration;

use common::smtp::SmtpClient;
use common::{Engine, Inbound, TestApp};
use dialogforum::domain::{Email, Name, OutboxId, PersonId, PersonStatus};
use dialogforum::i18n::EMAIL_CONSENT_TEXT;
use dialogforum::mail::deliver::verp::{envelope_sender, leave_address};
use dialogforum::mail::{Composer, Outgoing};
use dialogforum::store::outbox::{ClaimOwner, Outcome};
use dialogforum::store::people::{NewPerson, insert_person_if_new};
use lettre::AsyncTransport;

const FROM: &str = "dialogforum@forum.example";
const JOIN: &str = "tilmeld@forum.example";
const LEAVE: &str = "dialogforum+leave@forum.example";

impl Inbound {
    /// The status and name of the person at `email`, if there is one.
    async fn person_by_email(&self, email: &str) -> Option<(String, String)> {
        let sql = "select status, name from person where email = $1";
        on_db!(self.db, |pool| sqlx::query_as(sql).bind(email).fetch_optional(&pool).await.unwrap())
    }

    async fn people_total(&self) -> i64 {
        let sql = "select count(*) from person";
        on_db!(self.db, |pool| sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap())
    }

    /// The mailing-list consents of the person at `email`: method, proof, text, confirmed.
    async fn consents(&self, email: &str) -> Vec<(String, String, String, bool)> {
        let sql = "select consent.method, consent.proof, consent.text_shown, consent.confirmed_at \
                   from consent join person on person.id = consent.person_id \
                   where person.email = $1 and consent.purpose = 'mailing-list'";
        let rows: Vec<(String, String, String, Option<i64>)> =
            on_db!(self.db, |pool| sqlx::query_as(sql).bind(email).fetch_all(&pool).await.unwrap());
        rows.into_iter().map(|(m, p, t, c)| (m, p, t, c.is_some())).collect()
    }

    /// A confirmed (or otherwise) list member.
    async fn person(&self, email: &str, name: &str, status: PersonStatus) -> PersonId {
        let mut tx = self.store().begin().await.unwrap();
        let p = NewPerson {
            email: Email::parse(email).unwrap(),
            name: Name::parse(name).unwrap(),
            organisation: Some(Name::parse("Nordlys IT A/S").unwrap()),
            status,
            interests: Vec::new(),
        };
        let (id, _) = insert_person_if_new(&mut tx, &p, None).await.unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// Queues list mail to `person` at `to`.
    async fn queue(&self, person: PersonId, to: &str, subject: &str) -> OutboxId {
        let composer =
            Composer::new(&Email::parse(FROM).unwrap(), "Dialogforum", None, "dialogforum.forum.example").unwrap();
        let to = Email::parse(to).unwrap();
        let m = composer
            .compose(&Outgoing {
                kind: "newsletter",
                to: &to,
                to_name: Some("Modtager"),
                person_id: Some(person),
                campaign_id: None,
                subject,
                text: "Hej\nHer er nyt fra Dialogforum.".to_owned(),
                html: "<p>Hej</p><p>Her er nyt fra Dialogforum.</p>".to_owned(),
                unsubscribe_url: Some("https://forum.example/afmeld/abc".to_owned()),
                ics: None,
            })
            .unwrap();
        common::queue(self.store(), &m).await
    }

    /// Does what the outbox worker does when the server accepts everything due.
    async fn send_everything_due(&self) {
        let owner = ClaimOwner::generate();
        let claimed = self.store().claim_due(owner, 100, Duration::from_mins(1)).await.unwrap();
        let outcomes: Vec<_> = claimed.into_iter().map(|c| (c.id, Outcome::Sent)).collect();
        self.store().record_outcomes(owner, &outcomes).await.unwrap();
    }

    /// Queues a message to `person` and has it sent; returns its bounce address.
    async fn sent_message(&self, person: PersonId, to: &str, subject: &str) -> String {
        let id = self.queue(person, to, subject).await;
        self.send_everything_due().await;
        assert_eq!(self.outbox_status(id).await, "sent");
        bounce_address(id)
    }

    /// The person's status and count of soft bounces.
    pub(crate) async fn person_state(&self, id: PersonId) -> (String, i32) {
        let sql = "select status, soft_bounces from person where id = $1";
        on_db!(self.db, |pool| sqlx::query_as(sql).bind(id.uuid()).fetch_one(&pool).await.unwrap())
    }

    async fn outbox_status(&self, id: OutboxId) -> String {
        let sql = "select status from outbox where id = $1";
        on_db!(self.db, |pool| sqlx::query_scalar(sql).bind(id.uuid()).fetch_one(&pool).await.unwrap())
    }

    async fn outbox_total(&self) -> i64 {
        let sql = "select count(*) from outbox";
        on_db!(self.db, |pool| sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap())
    }

    /// The audit actions about `person`, oldest first, with who did them.
    async fn audit(&self, person: PersonId) -> Vec<(String, String, String)> {
        let sql = "select action, actor_kind, actor_label from audit_log where subject_id = $1 order by id";
        on_db!(self.db, |pool| sqlx::query_as(sql).bind(person.uuid()).fetch_all(&pool).await.unwrap())
    }
}

fn bounce_address(id: OutboxId) -> String {
    envelope_sender(&Email::parse(FROM).unwrap(), id).unwrap().to_string()
}

/// One message over a fresh connection.
async fn deliver(addr: SocketAddr, from: &str, to: &str, message: &str) -> (u16, String) {
    let mut smtp = SmtpClient::connect(addr).await;
    let (code, text) = smtp.command("EHLO mx.nordlys-it.example").await;
    assert_eq!(code, 250, "{text}");
    let answer = smtp.send(from, to, message).await;
    assert_eq!(smtp.command("QUIT").await.0, 221);
    answer
}

/// A delivery status notification as Postfix writes it (RFC 3464).
fn postfix_dsn(bounce_to: &str, recipient: &str, action: &str, status: &str, diagnostic: &str) -> String {
    let subject =
        if action == "delayed" { "Delayed Mail (still being retried)" } else { "Undelivered Mail Returned to Sender" };
    format!(
        "Return-Path: <>\r
Received: by mx.nordlys-it.example (Postfix) id 4VXk2T0cLbz9sQ; Wed,  1 May 2024 10:00:03 +0200 (CEST)\r
Date: Wed,  1 May 2024 10:00:03 +0200 (CEST)\r
From: MAILER-DAEMON@mx.nordlys-it.example (Mail Delivery System)\r
Subject: {subject}\r
To: {bounce_to}\r
Auto-Submitted: auto-replied\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=delivery-status;\r
\tboundary=\"4VXk2T0cLbz9sQ.1714550403/mx.nordlys-it.example\"\r
Content-Transfer-Encoding: 8bit\r
Message-Id: <4VXk2T0cLbz9sQ@mx.nordlys-it.example>\r
\r
This is a MIME-encapsulated message.\r
\r
--4VXk2T0cLbz9sQ.1714550403/mx.nordlys-it.example\r
Content-Description: Notification\r
Content-Type: text/plain; charset=utf-8\r
Content-Transfer-Encoding: 8bit\r
\r
This is the mail system at host mx.nordlys-it.example.\r
\r
I'm sorry to have to inform you that your message could not\r
be delivered to one or more recipients. It's attached below.\r
\r
For further assistance, please send mail to postmaster.\r
\r
                   The mail system\r
\r
<{recipient}>: host mailstore.nordlys-it.example[10.20.0.5] said:\r
    {diagnostic} (in reply to RCPT TO command)\r
\r
--4VXk2T0cLbz9sQ.1714550403/mx.nordlys-it.example\r
Content-Description: Delivery report\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns; mx.nordlys-it.example\r
X-Postfix-Queue-ID: 4VXk2T0cLbz9sQ\r
X-Postfix-Sender: rfc822; {bounce_to}\r
Arrival-Date: Wed,  1 May 2024 10:00:01 +0200 (CEST)\r
\r
Final-Recipient: rfc822; {recipient}\r
Original-Recipient: rfc822;{recipient}\r
Action: {action}\r
Status: {status}\r
Remote-MTA: dns; mailstore.nordlys-it.example\r
Diagnostic-Code: smtp; {diagnostic}\r
\r
--4VXk2T0cLbz9sQ.1714550403/mx.nordlys-it.example\r
Content-Description: Undelivered Message Headers\r
Content-Type: text/rfc822-headers\r
Content-Transfer-Encoding: 8bit\r
\r
Return-Path: <{bounce_to}>\r
From: Dialogforum <dialogforum@forum.example>\r
To: Modtager <{recipient}>\r
Subject: Nyt fra Dialogforum\r
List-Id: <dialogforum.forum.example>\r
\r
--4VXk2T0cLbz9sQ.1714550403/mx.nordlys-it.example--\r
"
    )
}

/// An abuse report from a mailbox provider's feedback loop (RFC 5965).
fn arf_complaint(bounce_to: &str, recipient: &str) -> String {
    format!(
        "From: <staff-fbl@mail.example.net>\r
Date: Thu, 2 May 2024 14:00:00 +0200\r
Subject: FW: Nyt fra Dialogforum\r
To: <{bounce_to}>\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=feedback-report;\r
     boundary=\"part1_13d.2e68ed54_boundary\"\r
\r
--part1_13d.2e68ed54_boundary\r
Content-Type: text/plain; charset=\"US-ASCII\"\r
Content-Transfer-Encoding: 7bit\r
\r
This is an email abuse report for an email message received from IP\r
192.0.2.1 on Thu, 2 May 2024 13:58:12 +0200.\r
For more information about this format please see\r
https://www.rfc-editor.org/rfc/rfc5965.\r
\r
--part1_13d.2e68ed54_boundary\r
Content-Type: message/feedback-report\r
\r
Feedback-Type: abuse\r
User-Agent: SomeGenerator/1.0\r
Version: 1\r
Original-Mail-From: <{bounce_to}>\r
Original-Rcpt-To: <{recipient}>\r
Arrival-Date: Thu, 2 May 2024 13:58:12 +0200\r
Reporting-MTA: dns; mail.example.net\r
Source-IP: 192.0.2.1\r
Authentication-Results: mail.example.net; spf=pass smtp.mailfrom=forum.example\r
Reported-Domain: forum.example\r
\r
--part1_13d.2e68ed54_boundary\r
Content-Type: message/rfc822\r
Content-Disposition: inline\r
\r
Return-Path: <{bounce_to}>\r
From: Dialogforum <dialogforum@forum.example>\r
To: Modtager <{recipient}>\r
Subject: Nyt fra Dialogforum\r
Date: Thu, 2 May 2024 13:58:10 +0200\r
Message-ID: <nyhed-1@forum.example>\r
Content-Type: text/plain; charset=utf-8\r
\r
Hej\r
Her er nyt fra Dialogforum.\r
\r
--part1_13d.2e68ed54_boundary--\r
"
    )
}

/// An out-of-office reply, sent (wrongly, but it happens) to the return path.
fn out_of_office(bounce_to: &str, from: &str) -> String {
    format!(
        "From: Ida Frølich <{from}>\r
To: {bounce_to}\r
Subject: Automatisk svar: Nyt fra Dialogforum\r
Date: Fri, 3 May 2024 08:15:00 +0200\r
Auto-Submitted: auto-replied\r
X-Autoreply: yes\r
Precedence: auto_reply\r
MIME-Version: 1.0\r
Content-Type: text/plain; charset=utf-8\r
Content-Transfer-Encoding: 8bit\r
\r
Tak for din mail. Jeg er på ferie til og med 12. august og læser ikke\r
mail i den periode. I hastende sager kan du skrive til kontakt@velfaerdstek.example.\r
\r
Venlig hilsen\r
Ida\r
"
    )
}

async fn a_hard_bounce_suppresses_the_person_and_cancels_their_queued_mail(engine: Engine) {
    let app = Inbound::start(engine, &[]).await;
    let anna = app.person("anna.bogh@nordlys-it.example", "Anna Bøgh", PersonStatus::Confirmed).await;
    let bo = app.person("bo@velfaerdstek.example", "Bo Holm", PersonStatus::Confirmed).await;
    let bounce_to = app.sent_message(anna, "anna.bogh@nordlys-it.example", "Nyt fra Dialogforum").await;
    // More list mail waits in the queue for both.
    let later = app.queue(anna, "anna.bogh@nordlys-it.example", "Invitation til 17. møde").await;
    let reminder = app.queue(anna, "anna.bogh@nordlys-it.example", "Påmindelse").await;
    let bos = app.queue(bo, "bo@velfaerdstek.example", "Invitation til 17. møde").await;
    let total = app.outbox_total().await;

    // The remote MTA bounces with a null reverse path, through a real SMTP client.
    let dsn = postfix_dsn(
        &bounce_to,
        "anna.bogh@nordlys-it.example",
        "failed",
        "5.1.1",
        "550 5.1.1 <anna.bogh@nordlys-it.example>: Recipient address rejected: User unknown",
    );
    let client = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(app.addr.port())
        .build();
    let envelope = lettre::address::Envelope::new(None, vec![bounce_to.parse().unwrap()]).unwrap();
    let answer = client.send_raw(&envelope, dsn.as_bytes()).await.expect("the bounce is accepted");
    assert_eq!(answer.code().to_string(), "250");

    assert_eq!(app.person_state(anna).await, ("bounced".to_owned(), 0));
    assert_eq!(app.outbox_status(later).await, "cancelled");
    assert_eq!(app.outbox_status(reminder).await, "cancelled");
    assert_eq!(app.outbox_status(bos).await, "queued", "other people's mail is untouched");
    assert_eq!(app.person_state(bo).await, ("confirmed".to_owned(), 0));
    assert_eq!(app.outbox_total().await, total, "nothing is sent in reply");
    let audit = app.audit(anna).await;
    assert_eq!(audit, vec![("person.bounced".to_owned(), "system".to_owned(), "inbound".to_owned())]);
    app.stop().await;
}
both_engines!(a_hard_bounce_suppresses_the_person_and_cancels_their_queued_mail);

async fn soft_bounces_are_counted_and_suppress_at_the_limit(engine: Engine) {
    let app = Inbound::start(engine, &[("inbound.soft_bounce_limit", "3")]).await;
    let ida = app.person("ida@velfaerdstek.example", "Ida Frølich", PersonStatus::Confirmed).await;
    let mut bounce_addresses = Vec::new();
    for subject in ["Nyt 1", "Nyt 2", "Nyt 3"] {
        bounce_addresses.push(app.sent_message(ida, "ida@velfaerdstek.example", subject).await);
    }
    let waiting = app.queue(ida, "ida@velfaerdstek.example", "Invitation til 17. møde").await;
    let total = app.outbox_total().await;

    let full = "452 4.2.2 <ida@velfaerdstek.example>: Mailbox full, try again later";
    for (i, bounce_to) in bounce_addresses.iter().take(2).enumerate() {
        let dsn = postfix_dsn(bounce_to, "ida@velfaerdstek.example", "delayed", "4.2.2", full);
        let (code, text) = deliver(app.addr, "", bounce_to, &dsn).await;
        assert_eq!(code, 250, "{text}");
        let expected = i32::try_from(i + 1).unwrap();
        assert_eq!(app.person_state(ida).await, ("confirmed".to_owned(), expected), "counted, not yet suppressed");
        assert_eq!(app.outbox_status(waiting).await, "queued");
    }
    // The third: the MTA gave up on a temporary failure; still soft, but the limit is reached.
    let dsn = postfix_dsn(&bounce_addresses[2], "ida@velfaerdstek.example", "failed", "4.4.7", full);
    let (code, text) = deliver(app.addr, "", &bounce_addresses[2], &dsn).await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(app.person_state(ida).await, ("bounced".to_owned(), 3));
    assert_eq!(app.outbox_status(waiting).await, "cancelled");
    assert_eq!(app.outbox_total().await, total);
    let actions: Vec<String> = app.audit(ida).await.into_iter().map(|(a, _, _)| a).collect();
    assert_eq!(actions, ["person.soft_bounce", "person.soft_bounce", "person.soft_bounce", "person.bounced"]);
    app.stop().await;
}
both_engines!(soft_bounces_are_counted_and_suppress_at_the_limit);

async fn an_abuse_report_suppresses_but_an_unsubscribed_person_stays_unsubscribed(engine: Engine) {
    let app = Inbound::start(engine, &[]).await;
    let carl = app.person("carl@kommunedata.example", "Carl Juhl", PersonStatus::Confirmed).await;
    let dora = app.person("dora@kommunedata.example", "Dora Lind", PersonStatus::Unsubscribed).await;
    let to_carl = app.sent_message(carl, "carl@kommunedata.example", "Nyt fra Dialogforum").await;
    let to_dora = app.sent_message(dora, "dora@kommunedata.example", "Farvel fra Dialogforum").await;
    let waiting = app.queue(carl, "carl@kommunedata.example", "Invitation til 17. møde").await;

    // The reported message quotes a line far longer than SMTP allows; that must not lose the report.
    let long_line = format!(".{}", "Dialogforum ".repeat(500));
    let report = arf_complaint(&to_carl, "carl@kommunedata.example")
        .replace("Her er nyt fra Dialogforum.\r\n", &format!("Her er nyt fra Dialogforum.\r\n{long_line}\r\n"));
    assert!(report.contains(&long_line));
    let (code, text) = deliver(app.addr, "staff-fbl@mail.example.net", &to_carl, &report).await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(app.person_state(carl).await, ("bounced".to_owned(), 0));
    assert_eq!(app.outbox_status(waiting).await, "cancelled");
    assert_eq!(app.audit(carl).await[0].0, "person.complaint");

    let (code, text) =
        deliver(app.addr, "staff-fbl@mail.example.net", &to_dora, &arf_complaint(&to_dora, "dora@kommunedata.example"))
            .await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(app.person_state(dora).await, ("unsubscribed".to_owned(), 0));
    assert_eq!(app.audit(dora).await[0].0, "person.complaint", "the complaint is on record all the same");
    app.stop().await;
}
both_engines!(an_abuse_report_suppresses_but_an_unsubscribed_person_stays_unsubscribed);

async fn an_out_of_office_reply_changes_nothing_and_is_not_answered(engine: Engine) {
    let app = Inbound::start(engine, &[]).await;
    let ida = app.person("ida@velfaerdstek.example", "Ida Frølich", PersonStatus::Confirmed).await;
    let bounce_to = app.sent_message(ida, "ida@velfaerdstek.example", "Nyt fra Dialogforum").await;
    let waiting = app.queue(ida, "ida@velfaerdstek.example", "Invitation til 17. møde").await;
    let total = app.outbox_total().await;

    let reply = out_of_office(&bounce_to, "ida@velfaerdstek.example");
    let (code, text) = deliver(app.addr, "ida@velfaerdstek.example", &bounce_to, &reply).await;
    assert_eq!(code, 250, "accepted and dropped: {text}");
    assert_eq!(app.person_state(ida).await, ("confirmed".to_owned(), 0));
    assert_eq!(app.outbox_status(waiting).await, "queued");
    assert_eq!(app.outbox_total().await, total, "no mail goes out in reply");
    assert!(app.audit(ida).await.is_empty());
    app.stop().await;
}
both_engines!(an_out_of_office_reply_changes_nothing_and_is_not_answered);

async fn only_our_bounce_addresses_and_the_join_and_leave_addresses_are_accepted(engine: Engine) {
    let app = Inbound::start(engine, &[("inbound.join_address", "tilmeld@forum.example")]).await;
    let ida = app.person("ida@velfaerdstek.example", "Ida Frølich", PersonStatus::Confirmed).await;
    let id = app.queue(ida, "ida@velfaerdstek.example", "Nyt fra Dialogforum").await;
    let ours = bounce_address(id);
    let hex = id.uuid().simple().to_string();
    let total = app.outbox_total().await;

    let mut smtp = SmtpClient::connect(app.addr).await;
    let (code, ehlo) = smtp.command("EHLO relay-test.example").await;
    assert_eq!(code, 250);
    assert!(ehlo.contains("SIZE "), "the size limit is announced: {ehlo}");
    assert_eq!(smtp.command("MAIL FROM:<spammer@relay-test.example>").await.0, 250);
    for foreign in [
        "victim@elsewhere.example".to_owned(),
        "postmaster@forum.example".to_owned(),
        format!("someoneelse+bounce-{hex}@forum.example"),
        format!("dialogforum+bounce-{hex}@elsewhere.example"),
        "dialogforum+bounce-nothex@forum.example".to_owned(),
        "dialogforum+leave@elsewhere.example".to_owned(),
        "someoneelse+leave@forum.example".to_owned(),
    ] {
        let (code, text) = smtp.command(&format!("RCPT TO:<{foreign}>")).await;
        assert_eq!(code, 550, "{foreign}: {text}");
    }
    assert_eq!(smtp.command("DATA").await.0, 503, "no recipient, no message");
    assert_eq!(smtp.command(&format!("RCPT TO:<{ours}>")).await.0, 250);
    assert_eq!(smtp.command("RCPT TO:<Tilmeld@Forum.Example>").await.0, 250);
    assert_eq!(smtp.command(&format!("RCPT TO:<{LEAVE}>")).await.0, 250);
    let (code, text) = smtp.command(&format!("RCPT TO:<{FROM}>")).await;
    assert_eq!(code, 250, "the organiser address (mail.from unless set) takes calendar replies: {text}");
    let (code, text) =
        smtp.data("From: Eva <eva@firma.example>\r\nSubject: Tilmeld\r\n\r\nTilmeld mig, tak.\r\n").await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(smtp.command("QUIT").await.0, 221);

    assert_eq!(app.person_state(ida).await, ("confirmed".to_owned(), 0));
    assert_eq!(app.outbox_total().await, total);
    app.stop().await;
}
both_engines!(only_our_bounce_addresses_and_the_join_and_leave_addresses_are_accepted);

async fn a_message_over_the_size_limit_is_refused_with_552(engine: Engine) {
    let app = Inbound::start(engine, &[("inbound.max_message_bytes", "4096")]).await;
    let ida = app.person("ida@velfaerdstek.example", "Ida Frølich", PersonStatus::Confirmed).await;
    let bounce_to = app.sent_message(ida, "ida@velfaerdstek.example", "Nyt fra Dialogforum").await;
    let mut dsn = postfix_dsn(&bounce_to, "ida@velfaerdstek.example", "failed", "5.1.1", "550 5.1.1 User unknown");
    // An attachment that makes it too big (line-wrapped, as MTAs send it).
    let filler = vec!["A".repeat(76); 100].join("\r\n");
    let end = "--4VXk2T0cLbz9sQ.1714550403/mx.nordlys-it.example--";
    dsn = dsn.replace(end, &format!("{filler}\r\n{end}"));
    assert!(dsn.len() > 4096);

    let mut smtp = SmtpClient::connect(app.addr).await;
    assert_eq!(smtp.command("EHLO mx.nordlys-it.example").await.0, 250);
    // Announced up front, refused up front (RFC 1870).
    let (code, text) = smtp.command(&format!("MAIL FROM:<> SIZE={}", dsn.len())).await;
    assert_eq!(code, 552, "{text}");
    // Not announced: read to the end, then refused.
    assert_eq!(smtp.command("MAIL FROM:<>").await.0, 250);
    assert_eq!(smtp.command(&format!("RCPT TO:<{bounce_to}>")).await.0, 250);
    let (code, text) = smtp.data(&dsn).await;
    assert_eq!(code, 552, "{text}");
    assert_eq!(app.person_state(ida).await, ("confirmed".to_owned(), 0), "a refused message changes nothing");
    // The connection is still in order: the same bounce, small enough, goes through.
    assert_eq!(smtp.command("RSET").await.0, 250);
    let small = postfix_dsn(&bounce_to, "ida@velfaerdstek.example", "failed", "5.1.1", "550 5.1.1 User unknown");
    let (code, text) = smtp.send("", &bounce_to, &small).await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(app.person_state(ida).await, ("bounced".to_owned(), 0));
    assert_eq!(smtp.command("QUIT").await.0, 221);

    // Stopping does not wait for a connection that sits idle: it is told to come back later.
    let mut idle = SmtpClient::connect(app.addr).await;
    assert_eq!(idle.command("EHLO mx.nordlys-it.example").await.0, 250);
    tokio::time::timeout(Duration::from_secs(5), app.stop()).await.expect("a prompt stop");
    assert_eq!(idle.reply().await.0, 421);
}
both_engines!(a_message_over_the_size_limit_is_refused_with_552);

/// A person's mail to the forum, as their mail program writes it. The body
/// says things a command parser would trip over; it must be ignored.
fn personal_mail(from: &str, to: &str, subject: &str, message_id: &str, extra_headers: &str) -> String {
    format!(
        "From: {from}\r
To: {to}\r
Subject: {subject}\r
Date: Mon, 2 Nov 2026 09:12:00 +0100\r
Message-ID: {message_id}\r
{extra_headers}MIME-Version: 1.0\r
Content-Type: text/plain; charset=utf-8\r
Content-Transfer-Encoding: 8bit\r
\r
Hej\r
\r
unsubscribe\r
afmeld\r
\r
Venlig hilsen\r
Anna Bøgh\r
Nordlys IT A/S\r
"
    )
}

const ANNA: &str = "anna.bogh@nordlys-it.example";
const ANNA_FROM: &str = "=?utf-8?q?Anna_B=C3=B8gh?= <anna.bogh@nordlys-it.example>";

async fn a_mail_to_the_join_address_starts_the_double_opt_in(engine: Engine) {
    let (app, smtp) = Inbound::relaying(engine, &[]).await;
    let http = reqwest::Client::new();

    let id = "<CAF=tilmeld-1@mail.nordlys-it.example>";
    let mail = personal_mail(ANNA_FROM, JOIN, "Tilmelding", id, "Organization: Nordlys IT A/S\r\n");
    let (code, text) = deliver(app.addr, ANNA, JOIN, &mail).await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(app.person_by_email(ANNA).await, Some(("pending".to_owned(), "Anna Bøgh".to_owned())));

    let msgs = smtp.wait_for(1, 10).await;
    assert_eq!(msgs.len(), 1, "one confirmation");
    assert_eq!(msgs[0].to, [ANNA]);
    assert_eq!(msgs[0].subject(), "Bekræft din tilmelding til Dialogforum");
    assert!(msgs[0].header("List-Unsubscribe").is_none(), "no unsubscribe header on a sign-up confirmation");
    assert_eq!(msgs[0].header("Auto-Submitted").as_deref(), Some("auto-generated"), "so it cannot start a loop");
    let confirm = msgs[0].link("/confirm/");

    let page = http.get(app.local(&confirm)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(app.person_by_email(ANNA).await.unwrap().0, "pending", "opening the link changes nothing");
    let res = http.post(app.local(&confirm)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.person_by_email(ANNA).await.unwrap().0, "confirmed");
    let consents = app.consents(ANNA).await;
    assert_eq!(consents, vec![("email".to_owned(), id.to_owned(), EMAIL_CONSENT_TEXT.to_owned(), true)]);

    // Writing again: nothing changes, and an "already on the list" mail answers.
    let again = personal_mail(ANNA_FROM, JOIN, "Tilmelding", "<tilmeld-2@mail.nordlys-it.example>", "");
    assert_eq!(deliver(app.addr, ANNA, JOIN, &again).await.0, 250);
    let msgs = smtp.wait_for(2, 10).await;
    assert_eq!(msgs.len(), 2);
    assert!(msgs[1].plain().contains("allerede"), "{}", msgs[1].plain());
    assert_eq!(app.person_by_email(ANNA).await.unwrap().0, "confirmed");
    app.stop().await;
}
both_engines!(a_mail_to_the_join_address_starts_the_double_opt_in);

async fn the_confirmation_page_asks_for_the_organisation_a_mail_did_not_name(engine: Engine) {
    let (app, smtp) = Inbound::relaying(engine, &[]).await;
    let http = reqwest::Client::new();
    // A colleague already put "Nordlys IT A/S" on record.
    app.person("ole@nordlys-it.example", "Ole Holm", PersonStatus::Confirmed).await;

    let mail = personal_mail(ANNA_FROM, JOIN, "Tilmelding", "<tilmeld-org@mail.nordlys-it.example>", "");
    assert_eq!(deliver(app.addr, ANNA, JOIN, &mail).await.0, 250);
    let confirm = smtp.wait_for(1, 10).await[0].link("/confirm/");
    let page = http.get(app.local(&confirm)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"id="organisation""#), "the organisation is asked for:\n{page}");

    // A line break is refused by the field, and nothing is confirmed.
    let res = http.post_form(app.local(&confirm), &[("organisation", "Nordlys\nBcc: x@evil.example")]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains(r#"id="organisation-error""#));
    assert_eq!(app.person_by_email(ANNA).await.unwrap().0, "pending");

    // Case and spacing differ, yet it is the same organisation.
    let res = http.post_form(app.local(&confirm), &[("organisation", "  nordlys   IT\u{a0}a/s ")]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.person_by_email(ANNA).await.unwrap().0, "confirmed");
    let organisations = app.store().organisations().await.unwrap();
    assert_eq!(organisations.len(), 1, "merged into the one on record");
    assert_eq!(organisations[0].name, "Nordlys IT A/S");
    assert_eq!(organisations[0].contacts.len(), 2, "Anna joined Ole's organisation");
    app.stop().await;
}
both_engines!(the_confirmation_page_asks_for_the_organisation_a_mail_did_not_name);

async fn automatic_mail_to_the_join_address_sets_nothing_off(engine: Engine) {
    let (app, smtp) = Inbound::relaying(engine, &[]).await;
    let id = "<auto-1@mail.nordlys-it.example>";
    let join = |subject: &str, headers: &str| personal_mail(ANNA_FROM, JOIN, subject, id, headers);
    let cases = [
        ("an auto-reply", ANNA, join("Automatisk svar: Tilmelding", "Auto-Submitted: auto-replied\r\n")),
        ("bulk mail", ANNA, join("Nyhedsbrev", "Precedence: bulk\r\n")),
        ("a null sender", "", join("Tilmelding", "")),
        ("a mail system", "MAILER-DAEMON@nordlys-it.example", join("Tilmelding", "")),
        ("another domain", "spammer@elsewhere.example", join("Tilmelding", "")),
    ];
    for (what, sender, mail) in &cases {
        let (code, text) = deliver(app.addr, sender, JOIN, mail).await;
        assert_eq!(code, 250, "{what} is accepted and dropped: {text}");
        assert_eq!(app.people_total().await, 0, "{what} creates nobody");
        assert_eq!(app.outbox_total().await, 0, "{what} queues nothing");
    }
    app.outbox_settled().await;
    assert!(smtp.messages().is_empty(), "nothing is sent");
    app.stop().await;
}
both_engines!(automatic_mail_to_the_join_address_sets_nothing_off);

async fn afmeld_from_a_member_brings_an_unsubscribe_link_and_only_its_button_takes_them_off(engine: Engine) {
    let (app, smtp) = Inbound::relaying(engine, &[]).await;
    let http = reqwest::Client::new();
    app.person(ANNA, "Anna Bøgh", PersonStatus::Confirmed).await;

    let mail = personal_mail(ANNA_FROM, JOIN, " Re: AFMELD ", "<afmeld-1@mail.nordlys-it.example>", "");
    let (code, text) = deliver(app.addr, ANNA, JOIN, &mail).await;
    assert_eq!(code, 250, "{text}");
    let msgs = smtp.wait_for(1, 10).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].to, [ANNA]);
    assert_eq!(msgs[0].subject(), "Bekræft, at du vil af Dialogforums mailingliste");
    assert!(msgs[0].header("List-Unsubscribe").is_none(), "a notice, not list mail");
    let unsubscribe = msgs[0].link("/unsubscribe/");
    assert_eq!(app.person_by_email(ANNA).await.unwrap().0, "confirmed", "a From can be forged: nothing yet");

    let page = http.get(app.local(&unsubscribe)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    assert_eq!(app.person_by_email(ANNA).await.unwrap().0, "confirmed", "opening the link changes nothing");
    let res = http.post(app.local(&unsubscribe)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.person_by_email(ANNA).await.unwrap().0, "unsubscribed");
    app.stop().await;
}
both_engines!(afmeld_from_a_member_brings_an_unsubscribe_link_and_only_its_button_takes_them_off);

async fn a_request_to_leave_from_an_unknown_address_sends_nothing(engine: Engine) {
    let (app, smtp) = Inbound::relaying(engine, &[]).await;
    let stranger = "Eva Holm <eva@velfaerdstek.example>";
    let afmeld = personal_mail(stranger, JOIN, "afmeld", "<afmeld-2@velfaerdstek.example>", "");
    assert_eq!(deliver(app.addr, "eva@velfaerdstek.example", JOIN, &afmeld).await.0, 250);
    let any = personal_mail(stranger, LEAVE, "Hej", "<afmeld-3@velfaerdstek.example>", "");
    assert_eq!(deliver(app.addr, "eva@velfaerdstek.example", LEAVE, &any).await.0, 250);
    assert_eq!(app.people_total().await, 0, "a request to leave creates nobody");
    assert_eq!(app.outbox_total().await, 0);
    app.outbox_settled().await;
    assert!(smtp.messages().is_empty(), "nothing is sent");
    app.stop().await;
}
both_engines!(a_request_to_leave_from_an_unknown_address_sends_nothing);

async fn list_mail_names_the_leave_address_whose_mail_brings_an_unsubscribe_link(engine: Engine) {
    let (app, smtp) = Inbound::relaying(engine, &[]).await;
    assert_eq!(leave_address(&Email::parse(FROM).unwrap()).unwrap().as_str(), LEAVE);
    let anna = app.person(ANNA, "Anna Bøgh", PersonStatus::Confirmed).await;

    // An invitation, composed by the running app's own composer.
    let to = Email::parse(ANNA).unwrap();
    let url = "https://forum.example/unsubscribe/abc";
    let invitation = Outgoing {
        kind: "invitation",
        to: &to,
        to_name: Some("Anna Bøgh"),
        person_id: Some(anna),
        campaign_id: None,
        subject: "Invitation til 17. møde",
        text: "Hej\nDu er inviteret.".to_owned(),
        html: "<p>Hej</p><p>Du er inviteret.</p>".to_owned(),
        unsubscribe_url: Some(url.to_owned()),
        ics: None,
    };
    let m = app.running.state.composer.compose(&invitation).unwrap();
    common::queue(app.store(), &m).await;
    app.running.state.mail_wake.notify_one();
    let msgs = smtp.wait_for(1, 10).await;
    assert_eq!(msgs.len(), 1);
    let header = msgs[0].header("List-Unsubscribe").unwrap();
    assert_eq!(header, format!("<{url}>, <mailto:{LEAVE}?subject=afmeld>"));
    assert_eq!(msgs[0].header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    // Read as tests/list.rs reads it for one-click: the HTTPS URL comes first.
    let first = header.trim_matches(['<', '>']).split(">,").next().unwrap().trim_matches(['<', '>']);
    assert_eq!(first, url);

    // The mail program follows the mailto: a mail to the leave address, subject "afmeld".
    let mail = personal_mail(ANNA, LEAVE, "afmeld", "<mailto-1@mail.nordlys-it.example>", "");
    assert_eq!(deliver(app.addr, ANNA, LEAVE, &mail).await.0, 250);
    let msgs = smtp.wait_for(2, 10).await;
    assert_eq!(msgs.len(), 2);
    assert!(msgs[1].link("/unsubscribe/").contains("/unsubscribe/"));
    assert_eq!(app.person_by_email(ANNA).await.unwrap().0, "confirmed");
    app.stop().await;

    // Without the listener nobody reads the leave address, so list mail does not name it.
    let quiet = TestApp::spawn(engine).await;
    let m = quiet.running.state.composer.compose(&invitation).unwrap();
    let raw = String::from_utf8(m.raw).unwrap();
    assert!(raw.contains(&format!("List-Unsubscribe: <{url}>\r\n")), "{raw}");
    assert!(!raw.contains("mailto:"));
    quiet.stop().await;
}
both_engines!(list_mail_names_the_leave_address_whose_mail_brings_an_unsubscribe_link);
