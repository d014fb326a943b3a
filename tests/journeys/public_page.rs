//! The public meeting page as the public sees it: the programme in full, the
//! description as safe Markdown, where the meeting stands in words for the
//! public, the calendar entry, materials under their own names, and personal
//! links that no longer work offering a new one.

use crate::common;

use common::{Engine, SignedIn, TestApp, invite_person, text, upload_body};
use dialogforum::domain::{Role, TokenPurpose};
use serde_json::json;

const ORGANISER: &str = "organiser@forum.example";

/// A published hybrid meeting, number 40, on 1 March 2030 at 09.00–12.00
/// Copenhagen time, answers until 20 February; returns its id.
async fn meeting_40(app: &TestApp, token: &str) -> String {
    let body = json!({
        "title": "AI i den offentlige sektor", "number": 40,
        "description": "**Velkommen** til et møde om AI.\n\nAnden del <script>alert('x')</script> [læs mere](https://kl.example/ai).",
        "starts_at": "2030-03-01T09:00:00+01:00", "ends_at": "2030-03-01T12:00:00+01:00",
        "registration_deadline": "2030-02-20T23:59:00+01:00",
        "format": "hybrid", "venue": "KL-huset, København S", "online_url": "https://meet.example/hemmelig-rum",
        "programme": [{
            "starts_at": "2030-03-01T09:30:00+01:00", "ends_at": "2030-03-01T10:15:00+01:00",
            "title": "Sprogmodeller i sagsbehandlingen",
            "description": "Erfaringer fra *tre kommuner*.",
            "speakers": [{"name": "Mette Bæk", "organisation": "Nordlys IT"}]
        }]
    });
    app.api(token).published_meeting(&body).await
}

/// The page at `path` in English.
async fn in_english(app: &TestApp, path: &str) -> String {
    let res = app.http.get(app.url(path)).header("cookie", "lang=en").send().await.unwrap();
    text(res, 200).await
}

async fn the_meeting_page_shows_the_whole_programme_and_the_description_as_safe_markdown(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, ORGANISER, Role::Organiser).await;
    let id = meeting_40(&app, &token).await;

    let html = text(app.get("/meetings/40").await, 200).await;
    assert!(html.contains("<p><strong>Velkommen</strong> til et møde om AI.</p>"), "paragraphs and bold: {html}");
    assert!(html.contains(r#"<a href="https://kl.example/ai">læs mere</a>"#), "{html}");
    assert!(!html.contains("<script>alert"), "no script from a description reaches the page: {html}");
    assert!(html.contains("&lt;script&gt;"), "it is shown as the text it was: {html}");
    assert!(!html.contains("**"), "{html}");
    assert!(html.contains("kl. 09.30–10.15"), "the item's end time: {html}");
    assert!(html.contains("Erfaringer fra <em>tre kommuner</em>."), "the item's description: {html}");
    assert!(!html.contains("hemmelig-rum"), "the joining link is for people with a seat only");

    // Where it stands, in the public's words in each language, never the working state.
    assert!(html.contains("Tilmelding åben til 20. februar 2030"), "{html}");
    assert!(!html.contains("Offentliggjort") && !html.contains("Published"), "{html}");
    let list = text(app.get("/meetings").await, 200).await;
    assert!(list.contains("Tilmelding åben til 20. februar 2030"), "the card says it too: {list}");
    let en = in_english(&app, "/meetings/40").await;
    assert!(en.contains("Registration open until 20 February 2030"), "{en}");
    assert!(en.contains("09:30–10:15"), "{en}");
    for danish in ["Tilmelding", "Offentliggjort", "Tilføj til kalender", "Program<"] {
        assert!(!en.contains(danish), "no Danish ({danish}) on the English page: {en}");
    }

    let api = app.api(&token);
    assert_eq!(api.act(&format!("/meetings/{id}/close")).await.status(), 200);
    let html = text(app.get("/meetings/40").await, 200).await;
    assert!(html.contains("Tilmelding lukket") && !html.contains("Tilmelding åben"), "{html}");
    assert_eq!(api.act(&format!("/meetings/{id}/cancel")).await.status(), 200);
    let html = text(app.get("/meetings/40").await, 200).await;
    assert!(html.contains("<dd>Aflyst</dd>"), "{html}");
    assert!(in_english(&app, "/meetings").await.contains("Cancelled"));
    app.stop().await;
}
both_engines!(the_meeting_page_shows_the_whole_programme_and_the_description_as_safe_markdown);

async fn an_upcoming_meeting_offers_a_calendar_entry_with_nothing_personal_in_it(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, ORGANISER, Role::Organiser).await;
    let id = meeting_40(&app, &token).await;

    let html = text(app.get("/meetings/40").await, 200).await;
    assert!(
        html.contains(r#"<a href="/meetings/40/calendar.ics" type="text/calendar" download>Tilføj til kalender</a>"#)
    );
    assert!(in_english(&app, "/meetings/40").await.contains(">Add to calendar</a>"));
    let res = app.get("/meetings/40/calendar.ics").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
    let ics = res.text().await.unwrap().replace("\r\n ", "");
    assert!(ics.lines().any(|l| l == "METHOD:PUBLISH"), "{ics}");
    assert!(!ics.contains("ATTENDEE"), "{ics}");
    assert!(!ics.contains("hemmelig-rum"), "no joining link: {ics}");
    assert!(!ics.contains("/rsvp/") && !ics.contains("/me/"), "no personal link: {ics}");
    // 09.00 on 1 March in Copenhagen (CET, +01:00) is the meeting's instant, 08.00 UTC.
    assert!(ics.lines().any(|l| l == "DTSTART;TZID=Europe/Copenhagen:20300301T090000"), "{ics}");
    common::assert_has(&ics, &["TZID:Europe/Copenhagen", "TZOFFSETTO:+0100"]);
    let meeting = app.api(&token).json(&format!("/meetings/{id}")).await;
    let starts: jiff::Timestamp = meeting["starts_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(starts, "2030-03-01T08:00:00Z".parse::<jiff::Timestamp>().unwrap(), "the same instant");
    // The public page, as URL and as description.
    assert!(ics.lines().any(|l| l.starts_with("URL:http") && l.ends_with("/meetings/40")), "{ics}");
    assert!(ics.lines().any(|l| l.starts_with("DESCRIPTION:http") && l.ends_with("/meetings/40")), "{ics}");

    // A cancelled meeting offers none.
    assert_eq!(app.api(&token).act(&format!("/meetings/{id}/cancel")).await.status(), 200);
    assert!(!text(app.get("/meetings/40").await, 200).await.contains("calendar.ics"));
    assert_eq!(app.get("/meetings/40/calendar.ics").await.status(), 404);
    app.stop().await;
}
both_engines!(an_upcoming_meeting_offers_a_calendar_entry_with_nothing_personal_in_it);

async fn a_material_downloads_under_its_own_danish_name(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, ORGANISER, Role::Organiser).await;
    let id = meeting_40(&app, &token).await;
    let SignedIn { http, csrf, .. } = app.sign_in(ORGANISER).await;
    let upload = app.url(&format!("/admin/meetings/{id}/materials"));
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();

    // A name that turns its writing direction is refused by the field.
    let (ct, body) = upload_body(&csrf, "Oplæg\u{202E}fdp.exe.pdf", "application/pdf", &pdf);
    let html = text(http.post(&upload).header("content-type", ct).body(body).send().await.unwrap(), 422).await;
    common::assert_has(&html, &[r#"id="file-error""#, "skriveretningen"]);

    let (ct, body) = upload_body(&csrf, "Oplæg – Cybersikkerhed.pdf", "application/pdf", &pdf);
    assert_eq!(http.post(&upload).header("content-type", ct).body(body).send().await.unwrap().status(), 303);
    assert!(
        http.get(app.url(&format!("/admin/meetings/{id}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Oplæg – Cybersikkerhed.pdf")
    );

    crate::safety::begun(&app, id.parse().unwrap()).await;
    assert_eq!(app.api(&token).act(&format!("/meetings/{id}/held")).await.status(), 200);
    let html = text(app.get("/meetings/40").await, 200).await;
    assert!(html.contains(">Oplæg – Cybersikkerhed.pdf</a>"), "{html}");
    assert!(html.contains("<dd>Afholdt</dd>") && !html.contains("calendar.ics"), "{html}");
    let href = html.split("href=\"").find(|s| s.starts_with("/meetings/40/materials/")).unwrap();
    let res = app.get(href.split('"').next().unwrap()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-disposition"].to_str().unwrap(),
        "attachment; filename=\"Oplaeg - Cybersikkerhed.pdf\"; \
         filename*=UTF-8''Opl%C3%A6g%20%E2%80%93%20Cybersikkerhed.pdf"
    );
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.bytes().await.unwrap().to_vec(), pdf);
    app.stop().await;
}
both_engines!(a_material_downloads_under_its_own_danish_name);

async fn a_broken_or_expired_personal_link_offers_a_new_one_and_tells_nobody_who_is_on_the_list(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, ORGANISER).await;
    let id = meeting_40(&app, &token).await;
    let person = app.confirmed_person("jens@groenkode.example", "Jens Ørum", "Grøn Kode").await;
    let (_, rsvp) = invite_person(app.store(), id.parse().unwrap(), person).await;
    assert_eq!(app.get(&format!("/rsvp/{rsvp}")).await.status(), 200, "the real link works");

    let yesterday = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24);
    let expired_rsvp = common::expired_link(app.store(), TokenPurpose::Rsvp, person, yesterday).await;
    let expired_profile = common::expired_link(app.store(), TokenPurpose::Profile, person, yesterday).await;
    let unknown = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for (path, status, says, action) in [
        (format!("/rsvp/{unknown}"), 404, "Vi kan ikke finde invitationen", "/rsvp"),
        (format!("/rsvp/{expired_rsvp}"), 410, "Mødet er overstået", "/rsvp"),
        (format!("/me/{unknown}"), 404, "Vi kan ikke finde din side", "/me"),
        (format!("/me/{expired_profile}"), 410, "for gammelt", "/me"),
        (format!("/evaluation/{unknown}"), 404, "Vi kan ikke finde evalueringen", "/evaluation"),
        ("/rsvp/not-even-a-token".to_owned(), 404, "Linket virker ikke", "/rsvp"),
    ] {
        let html = text(app.get(&path).await, status).await;
        assert!(html.contains(says), "{path}: {html}");
        assert!(
            html.contains(&format!(r#"<form method="post" action="{action}""#)) && html.contains(r#"id="email""#),
            "{path}: {html}"
        );
        assert!(html.contains("Send mig et nyt link") && !html.contains("Jens"), "{path}: {html}");
    }
    let en = app.http.get(app.url(&format!("/rsvp/{expired_rsvp}"))).header("cookie", "lang=en").send().await.unwrap();
    let en = text(en, 410).await;
    assert!(en.contains("The meeting is over") && en.contains("Send me a new link") && !en.contains("Mødet"), "{en}");
    let res = app.post_form(&format!("/rsvp/{expired_rsvp}"), &[("answer", "yes")]).await;
    assert_eq!(res.status(), 410, "an expired link records nothing");

    // A profile link's form asks through /me: the same answer for a known and an unknown address.
    let known = text(app.post_form("/me", &[("email", "jens@groenkode.example")]).await, 200).await;
    let stranger = text(app.post_form("/me", &[("email", "nobody@groenkode.example")]).await, 200).await;
    assert_eq!(known, stranger);
    let mail = smtp.wait_for_mail("a fresh link", |m| m.to == ["jens@groenkode.example"]).await;
    let fresh = app.local(&mail.link("/me/"));
    assert!(text(app.http.get(&fresh).send().await.unwrap(), 200).await.contains("Jens Ørum"));
    app.outbox_settled().await;
    assert!(smtp.messages().iter().all(|m| m.to != ["nobody@groenkode.example"]));
    app.stop().await;
}
both_engines!(a_broken_or_expired_personal_link_offers_a_new_one_and_tells_nobody_who_is_on_the_list);
