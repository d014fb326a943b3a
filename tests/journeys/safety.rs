//! Nothing irreversible on one press in the organiser's meeting pages, on
//! both engines: cancelling asks first, says who will be mailed and carries
//! the organisers' own word intact to a real SMTP server (never into a
//! header); a meeting is marked held only once it has begun, on the page and
//! in the API, and a mistake is reopened; a programme item or a file goes
//! only on the confirmation. Each act is in the audit log.

use crate::common;

use common::smtp::Received;
use common::{Engine, SignedIn, TestApp, invite_person, text};
use dialogforum::domain::{MeetingId, Role};
use dialogforum::store::db_time;
use jiff::{SignedDuration, Timestamp};
use mail_parser::MimeHeaders as _;
use serde_json::json;

const ORGANISER: &str = "secretariat@forum.example";

/// Moves meeting `id` so that it began two hours ago and ends in an hour,
/// with no registration deadline: a meeting that may be marked held.
pub async fn begun(app: &TestApp, id: MeetingId) {
    let now = Timestamp::now();
    set_times(app, id, now - SignedDuration::from_hours(2), now + SignedDuration::from_hours(1), None).await;
}

async fn set_times(app: &TestApp, id: MeetingId, starts: Timestamp, ends: Timestamp, deadline: Option<Timestamp>) {
    let sql = "update meeting set starts_at = $1, ends_at = $2, registration_deadline = $3 where id = $4";
    let (starts, ends, deadline) = (db_time(starts), db_time(ends), deadline.map(db_time));
    on_db!(app.db, |pool| {
        sqlx::query(sql).bind(starts).bind(ends).bind(deadline).bind(id.uuid()).execute(&pool).await.unwrap();
    });
}

/// The (detail, row count) of every audit entry of `action`, oldest first.
async fn audited(app: &TestApp, action: &str) -> Vec<(String, Option<i64>)> {
    on_db!(app.db, |pool| sqlx::query_as("select detail, row_count from audit_log where action = $1 order by id")
        .bind(action)
        .fetch_all(&pool)
        .await
        .unwrap())
}

/// A published physical meeting on 1 March 2030, 09.00–12.00, with `programme`.
async fn meeting(app: &TestApp, token: &str, number: i32, programme: serde_json::Value) -> MeetingId {
    let body = json!({
        "title": "Cybersikkerhed i kommunerne", "number": number,
        "starts_at": "2030-03-01T09:00:00+01:00", "ends_at": "2030-03-01T12:00:00+01:00",
        "format": "physical", "venue": "KL-huset", "capacity": 40, "programme": programme
    });
    app.api(token).published_meeting(&body).await.parse().unwrap()
}

async fn status(app: &TestApp, id: MeetingId) -> String {
    app.store().meeting(id).await.unwrap().status.as_str().to_owned()
}

/// Invites a new person on the list to `meeting` and gives the registration `status`.
async fn registered(app: &TestApp, meeting: MeetingId, email: &str, name: &str, status: &str) {
    let person = app.confirmed_person(email, name, "Kommune A/S").await;
    let (reg, _) = invite_person(app.store(), meeting, person).await;
    app.db.update_by_id("update registration set status = $1 where id = $2", status, reg.uuid()).await;
}

/// The header section of a message as it arrived.
fn head(m: &Received) -> String {
    m.text().split("\r\n\r\n").next().unwrap_or_default().to_owned()
}

async fn cancelling_asks_first_and_the_mail_carries_the_organisers_message_intact(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, ORGANISER).await;
    let id = meeting(&app, &token, 50, json!([])).await;
    for (email, name, state) in [
        ("anna@kommune.example", "Anna Bøgh", "attending"),
        ("bo@kommune.example", "Bo Berg", "attending"),
        ("cy@kommune.example", "Cy Dahl", "waitlisted"),
        ("dot@kommune.example", "Dot Eng", "invited"),
        ("eva@kommune.example", "Eva Falk", "declined"),
    ] {
        registered(&app, id, email, name, state).await;
    }
    let page = app.sign_in(ORGANISER).await;
    let status_path = format!("/admin/meetings/{id}/status");

    // The first press only asks, saying who will be mailed.
    let html = page.page(&format!("/admin/meetings/{id}")).await;
    common::assert_has(&html, &[r#"class="danger-zone""#, r#"id="status-cancelled""#]);
    let asked = text(page.post(&status_path, &[("to", "cancelled")]).await, 200).await;
    assert!(
        asked.contains(
            "Mødet aflyses. 2 tilmeldte, 1 på ventelisten og 1 inviteret uden svar får en mail om aflysningen"
        ),
        "{asked}"
    );
    assert!(asked.contains(r#"<textarea id="message" name="message""#), "{asked}");
    assert_eq!(status(&app, id).await, "published");
    let key = common::hidden_field(&asked, "key");
    assert_eq!(key, "2.1.1");

    // Numbers that changed since they were shown are shown again.
    let stale = [("to", "cancelled"), ("confirm", "yes"), ("key", "1.1.1"), ("message", "")];
    let again = text(page.post(&status_path, &stale).await, 200).await;
    common::assert_has(&again, &["Tallene har ændret sig", "2 tilmeldte"]);
    assert_eq!(status(&app, id).await, "published");

    // A message too long is refused by its field, and nothing happens.
    let long = "x".repeat(1001);
    let refused = [("to", "cancelled"), ("confirm", "yes"), ("key", key.as_str()), ("message", long.as_str())];
    let html = text(page.post(&status_path, &refused).await, 422).await;
    assert!(html.contains(r#"id="message-error""#) && html.contains(r##"href="#message""##), "{html}");
    assert!(html.contains("Højst 1000 tegn."), "{html}");
    assert_eq!(status(&app, id).await, "published");
    assert!(audited(&app, "meeting.cancelled").await.is_empty());

    // Confirmed with a message that tries to reach the headers and to end the SMTP data early.
    let message = "Vi finder en ny dato.\r\n.\r\nBcc: evil@example.com\r\nSubject: Hijack <b>fed</b>";
    let confirmed = [("to", "cancelled"), ("confirm", "yes"), ("key", key.as_str()), ("message", message)];
    let res = page.post(&status_path, &confirmed).await;
    assert_eq!(res.status(), 303);
    assert_eq!(status(&app, id).await, "cancelled");
    let html = page.page(&format!("/admin/meetings/{id}?done=cancelled")).await;
    assert!(html.contains("Mødet er aflyst."), "{html}");

    app.outbox_settled().await;
    let mails = smtp.messages();
    let mut to: Vec<&str> = mails.iter().map(|m| m.to[0].as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["anna@kommune.example", "bo@kommune.example", "cy@kommune.example", "dot@kommune.example"]);
    for m in &mails {
        assert_eq!(m.subject(), "Aflyst: Cybersikkerhed i kommunerne");
        let head = head(m);
        assert!(!head.contains("evil@example.com") && !head.contains("Hijack"), "nothing reaches a header:\n{head}");
        assert_eq!(m.header("Bcc"), None);
        let plain = m.plain();
        let lines: Vec<&str> = plain.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
        let at = lines.iter().position(|l| *l == "Besked fra arrangørerne:").expect("the message heading");
        assert_eq!(
            lines[at + 1..at + 5],
            ["Vi finder en ny dato.", ".", "Bcc: evil@example.com", "Subject: Hijack <b>fed</b>"],
            "the message arrives whole, its lone dot too:\n{plain}"
        );
        let parsed = mail_parser::MessageParser::default().parse(&m.data).unwrap();
        let html = parsed.body_html(0).unwrap().into_owned();
        let escaped = html.contains("Hijack &lt;b&gt;fed") || html.contains("Hijack &#60;b&#62;fed");
        assert!(html.contains("<p>.</p>") && escaped, "{html}");
        assert!(!html.contains("<b>fed</b>"), "HTML in the message is shown as text: {html}");
        let seated = ["anna@kommune.example", "bo@kommune.example"].contains(&m.to[0].as_str());
        assert_eq!(
            parsed.attachments().any(|a| a.attachment_name() == Some("invitation.ics")),
            seated,
            "only seat holders have a calendar entry to withdraw"
        );
    }
    let entries = audited(&app, "meeting.cancelled").await;
    assert_eq!(entries, [(message.replace("\r\n", "\n"), Some(4))]);
    app.stop().await;
}
both_engines!(cancelling_asks_first_and_the_mail_carries_the_organisers_message_intact);

async fn held_is_refused_before_the_start_and_a_meeting_held_by_mistake_is_reopened(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, ORGANISER, Role::Organiser).await;
    let id = meeting(&app, &token, 51, json!([])).await;
    let page = app.sign_in(ORGANISER).await;
    let status_path = format!("/admin/meetings/{id}/status");

    // Before the start: a hint by the button, a refusal by it on the page and 409 in the API.
    let html = page.page(&format!("/admin/meetings/{id}")).await;
    assert!(html.contains("Kan markeres som afholdt, når mødet er begyndt: 1. marts 2030, kl. 09.00."), "{html}");
    let html = text(page.post(&status_path, &[("to", "held"), ("confirm", "yes")]).await, 409).await;
    assert!(html.contains(r#"id="status-held-error""#) && html.contains(r##"href="#status-held""##), "{html}");
    assert!(html.contains("Mødet er ikke begyndt endnu. Det kan markeres som afholdt fra 1. marts 2030, kl. 09.00."));
    let res = app.api(&token).act(&format!("/meetings/{id}/held")).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.text().await.unwrap().contains("it can be marked as held once it has begun"));
    assert_eq!(status(&app, id).await, "published");

    // Once it has begun: asked first, then held.
    begun(&app, id).await;
    let asked = text(page.post(&status_path, &[("to", "held")]).await, 200).await;
    common::assert_has(&asked, &["Markér mødet som afholdt?", "Ingen får en mail."]);
    assert_eq!(status(&app, id).await, "published");
    assert_eq!(page.post(&status_path, &[("to", "held"), ("confirm", "yes")]).await.status(), 303);
    assert_eq!(status(&app, id).await, "held");

    // Reopened on the page: its answers were no longer due, so registration stays closed.
    let html = page.page(&format!("/admin/meetings/{id}")).await;
    assert!(html.contains("Genåbn mødet (markeret som afholdt ved en fejl)"), "{html}");
    let asked = text(page.post(&format!("/admin/meetings/{id}/reopen"), &[]).await, 200).await;
    common::assert_has(&asked, &["Genåbn mødet?", "Mødet går tilbage til «lukket for tilmelding»"]);
    assert_eq!(status(&app, id).await, "held", "the first press only asks");
    let res = page.post(&format!("/admin/meetings/{id}/reopen"), &[("confirm", "yes")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(status(&app, id).await, "closed");
    // A closed meeting opens again, in the API.
    let res = app.api(&token).act(&format!("/meetings/{id}/reopen")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["status"], "open");
    assert_eq!(app.api(&token).act(&format!("/meetings/{id}/reopen")).await.status(), 409, "open is not a mistake");

    // Held by mistake while answers are still due: back to open, in the API.
    let now = Timestamp::now();
    let hour = SignedDuration::from_hours(1);
    set_times(&app, id, now - hour, now + hour * 3, Some(now + hour)).await;
    assert_eq!(app.api(&token).act(&format!("/meetings/{id}/held")).await.status(), 200);
    let res = app.api(&token).act(&format!("/meetings/{id}/reopen")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["status"], "open");

    let reopened: Vec<String> = audited(&app, "meeting.reopen").await.into_iter().map(|(d, _)| d).collect();
    assert_eq!(reopened, ["held -> closed", "closed -> open", "held -> open"]);
    assert_eq!(audited(&app, "meeting.held").await.len(), 2);

    // Cancelled in the API with a message, refused by its field when it holds a control character.
    let cancel = format!("/meetings/{id}/cancel");
    let res = app.api(&token).post(&cancel, &json!({"message": "Ny dato\u{7} følger."})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.text().await.unwrap().contains("message: no control characters other than line breaks"));
    let res = app.api(&token).post(&cancel, &json!({"message": "Ny dato følger.\r\nVenlig hilsen"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(audited(&app, "meeting.cancelled").await, [("Ny dato følger.\nVenlig hilsen".to_owned(), Some(0))]);
    assert_eq!(app.api(&token).act(&format!("/meetings/{id}/reopen")).await.status(), 409, "a cancellation stays");
    app.stop().await;
}
both_engines!(held_is_refused_before_the_start_and_a_meeting_held_by_mistake_is_reopened);

/// A `multipart/form-data` body with the CSRF field and one PDF.
fn pdf_upload(csrf: &str, filename: &str) -> (String, Vec<u8>) {
    let boundary = "dialogforum-safety-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\n\
         Content-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n");
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn a_programme_item_or_a_file_is_removed_only_on_the_confirmation(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, ORGANISER, Role::Organiser).await;
    let programme = json!([
        {"starts_at": "2030-03-01T09:30:00+01:00", "title": "Trusselsbilledet"},
        {"starts_at": "2030-03-01T10:30:00+01:00", "title": "Leverandørstyring"}
    ]);
    let id = meeting(&app, &token, 52, programme).await;
    let page = app.sign_in(ORGANISER).await;
    let SignedIn { http, csrf, .. } = &page;
    let items = |m: dialogforum::store::meetings::Meeting| -> Vec<String> {
        m.programme.into_iter().map(|p| p.title).collect()
    };

    // A programme item: the first press names it and changes nothing.
    let html = page.page(&format!("/admin/meetings/{id}")).await;
    let version = common::hidden_field(&html, "version");
    let remove = [("version", version.as_str()), ("action", "remove")];
    let asked = text(page.post(&format!("/admin/meetings/{id}/programme/0"), &remove).await, 200).await;
    assert!(
        asked.contains("Fjern punktet fra programmet?")
            && asked.contains("Punktet «Trusselsbilledet» (kl. 09.30) fjernes fra programmet"),
        "{asked}"
    );
    assert_eq!(items(app.store().meeting(id).await.unwrap()), ["Trusselsbilledet", "Leverandørstyring"]);
    assert!(audited(&app, "meeting.programme").await.is_empty());
    let confirmed = [("version", version.as_str()), ("action", "remove"), ("confirm", "yes")];
    assert_eq!(page.post(&format!("/admin/meetings/{id}/programme/0"), &confirmed).await.status(), 303);
    assert_eq!(items(app.store().meeting(id).await.unwrap()), ["Leverandørstyring"]);
    assert_eq!(audited(&app, "meeting.programme").await, [("remove: Trusselsbilledet".to_owned(), Some(1))]);

    // A file: the same.
    let (ct, body) = pdf_upload(csrf, "Oplæg.pdf");
    let res = http.post(app.url(&format!("/admin/meetings/{id}/materials"))).header("content-type", ct).body(body);
    assert_eq!(res.send().await.unwrap().status(), 303);
    let file = app.store().materials(id).await.unwrap()[0].id;
    let delete = format!("/admin/meetings/{id}/materials/{file}/delete");
    let asked = text(page.post(&delete, &[]).await, 200).await;
    assert!(asked.contains("Filen «Oplæg.pdf» (1 kB) fjernes fra mødets materialer"), "{asked}");
    assert_eq!(app.store().materials(id).await.unwrap().len(), 1);
    assert_eq!(page.post(&delete, &[("confirm", "yes")]).await.status(), 303);
    assert!(app.store().materials(id).await.unwrap().is_empty());
    assert_eq!(audited(&app, "material.delete").await, [(file.to_string(), Some(1))]);
    app.stop().await;
}
both_engines!(a_programme_item_or_a_file_is_removed_only_on_the_confirmation);
