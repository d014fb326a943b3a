//! The organiser's hand on seats: adding a person and seating someone from
//! the waiting list, each with a reason kept in the audit log and a mail to
//! the person; the true reason someone waits, on the answer page and in the
//! mail; a short message to one group of a meeting's people; and walk-ins
//! on the door list and in the participant export.

use crate::common;

use common::{Engine, TestApp};
use dialogforum::domain::{MeetingId, Role};
use serde_json::{Value, json};

/// A meeting published on 1 March 2030 with `extra` fields; returns its id.
async fn meeting(app: &TestApp, token: &str, extra: Value) -> MeetingId {
    app.api(token).meeting_at_kl("Markedsdialog om data", extra).await
}

/// Invites a person on the list; returns their RSVP token.
async fn invited(app: &TestApp, m: MeetingId, email: &str, name: &str, organisation: &str) -> String {
    let person = app.confirmed_person(email, name, organisation).await;
    common::invite_person(app.store(), m, person).await.1
}

/// Answers yes in `track` (none when empty) through the RSVP form; returns the page.
async fn yes(app: &TestApp, rsvp: &str, track: &str) -> String {
    let mut form = vec![("answer", "yes")];
    if !track.is_empty() {
        form.push(("track", track));
    }
    common::text(app.post_form(&format!("/rsvp/{rsvp}"), &form).await, 200).await
}

/// The id of the registration of `email` at `m`.
async fn registration_of(app: &TestApp, token: &str, m: MeetingId, email: &str) -> String {
    let list: Value = app.api(token).json(&format!("/meetings/{m}/registrations")).await;
    let found = list["items"].as_array().unwrap().iter().find(|r| r["email"] == email).expect("registered");
    found["id"].as_str().unwrap().to_owned()
}

/// The page's row of seats for `what`: limit, taken, left.
fn seat_row(what: &str, limit: &str, taken: &str, left: &str) -> String {
    format!(r#"<th scope="row">{what}</th><td>{limit}</td><td>{taken}</td><td>{left}</td>"#)
}

async fn adding_by_hand_and_seating_from_the_waiting_list_mail_the_seat_and_keep_the_reasons(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    let m = meeting(&app, &token, json!({"capacity": 2})).await;
    for (i, name) in ["Anna Ager", "Bo Bech", "Carl Cold"].iter().enumerate() {
        let rsvp = invited(&app, m, &format!("p{i}@firma{i}.example"), name, &format!("Firma {i}")).await;
        yes(&app, &rsvp, "").await;
    }
    smtp.wait_for(3, 30).await;
    let organiser = app.sign_in("org@forum.example").await;
    let page = format!("/admin/meetings/{m}/registrations");
    let html = organiser.page(&page).await;
    assert!(html.contains(&seat_row("Mødet i alt", "2", "2", "0")), "{html}");

    // A new person, added by hand: the meeting is full, so it asks to go beyond the limit.
    let add = format!("/admin/meetings/{m}/registrations/add");
    let typed = [("email", "gaest@ny.example"), ("name", "Gæst Nygaard"), ("organisation", "Ny ApS")];
    let mut form = typed.to_vec();
    form.push(("add-reason", ""));
    let html = common::text(organiser.post(&add, &form).await, 422).await;
    common::assert_has(&html, &[r#"id="add-reason-error""#, "Skriv en begrundelse."]);
    assert!(html.contains(r#"value="Gæst Nygaard""#), "what was typed is kept");
    form.pop();
    form.push(("add-reason", "Taler om datadeling"));
    let html = common::text(organiser.post(&add, &form).await, 200).await;
    common::assert_has(&html, &["Giv pladsen ud over grænsen?", "Mødet er fuldt."]);
    assert_eq!(app.store().registrations(m).await.unwrap().len(), 3, "nothing was added yet");
    let mut form = typed.to_vec();
    form.extend([("confirm", "yes"), ("beyond", "yes"), ("message", "Taler om datadeling")]);
    let res = organiser.post(&add, &form).await;
    assert_eq!(res.status(), 303);
    let seat = smtp.wait_for_mail("the seat of the guest", |msg| msg.is_to("gaest@ny.example")).await;
    assert!(seat.subject().starts_with("Du er tilmeldt: Markedsdialog om data"), "{}", seat.subject());
    assert!(seat.calendar().contains("BEGIN:VEVENT"));
    assert!(seat.link("/rsvp/").contains("/rsvp/"), "a link of their own to change the answer");

    // Someone on the waiting list gets a seat by hand, with a reason, beyond the limit.
    let waiting = registration_of(&app, &token, m, "p2@firma2.example").await;
    let path = format!("/admin/meetings/{m}/registrations/{waiting}/seat");
    let html = common::text(organiser.post(&path, &[]).await, 200).await;
    common::assert_has(&html, &["Giv en plads?", "Carl Cold"]);
    let html = common::text(organiser.post(&path, &[("confirm", "yes"), ("message", " ")]).await, 422).await;
    common::assert_has(&html, &[r#"id="message-error""#, "Skriv en begrundelse."]);
    let reason = [("confirm", "yes"), ("message", "Kommunens kontaktperson")];
    let html = common::text(organiser.post(&path, &reason).await, 200).await;
    common::assert_has(&html, &["Giv pladsen ud over grænsen?", "Mødet er fuldt."]);
    let res =
        organiser.post(&path, &[("confirm", "yes"), ("beyond", "yes"), ("message", "Kommunens kontaktperson")]).await;
    assert_eq!(res.status(), 303);
    let news = smtp.wait_for_mail_to("p2@firma2.example", "Du har fået en plads").await;
    assert!(news.calendar().contains("BEGIN:VEVENT"));

    // The page counts the seats given beyond the limit and lists the changes with their reasons.
    let html = organiser.page(&page).await;
    assert!(html.contains(&seat_row("Mødet i alt", "2", "4", "0")), "{html}");
    common::assert_has(&html, &["Tilføjet i hånden med plads", "Taler om datadeling"]);
    common::assert_has(&html, &["Plads fra ventelisten", "Kommunens kontaktperson"]);
    let audited: Vec<(String, String)> = on_db!(app.db, |pool| sqlx::query_as(
        "select action, detail from audit_log where action in ('seat.add', 'waitlist.seat') order by id"
    )
    .fetch_all(&pool)
    .await
    .unwrap());
    assert_eq!(
        audited,
        [
            ("seat.add".to_owned(), "reason: Taler om datadeling; beyond the limits, confirmed".to_owned()),
            ("waitlist.seat".to_owned(), "reason: Kommunens kontaktperson; beyond the limits, confirmed".to_owned()),
        ]
    );
    app.stop().await;
}
both_engines!(adding_by_hand_and_seating_from_the_waiting_list_mail_the_seat_and_keep_the_reasons);

async fn the_waiting_list_says_whether_the_meeting_the_track_or_the_organisations_quota_is_full(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    let tracks = json!([{"key": "a", "title": "Spor A", "capacity": 1}, {"key": "b", "title": "Spor B"}]);
    let m = meeting(&app, &token, json!({"capacity": 3, "per_organisation_limit": 1, "tracks": tracks})).await;
    let people = [
        ("p0@firma0.example", "Firma 0", "a", None),
        ("p1@firma1.example", "Firma 1", "a", Some("Det spor, du har valgt, er fuldt.")),
        (
            "p2@firma0.example",
            "Firma 0",
            "b",
            Some("Din organisation har nået grænsen for antal pladser pr. organisation (1)."),
        ),
        ("p3@firma3.example", "Firma 3", "b", None),
        ("p4@firma4.example", "Firma 4", "b", None),
        ("p5@firma5.example", "Firma 5", "b", Some("Mødet er fuldt.")),
    ];
    for (i, (email, organisation, track, why)) in people.iter().enumerate() {
        let rsvp = invited(&app, m, email, &format!("Person {i}"), organisation).await;
        let html = yes(&app, &rsvp, track).await;
        let mail = smtp.wait_for_mail(email, |msg| msg.is_to(email)).await;
        match why {
            None => {
                assert!(html.contains("Du er tilmeldt."), "{email}: {html}");
                assert!(mail.subject().starts_with("Du er tilmeldt"));
            }
            Some(why) => {
                assert!(html.contains(&format!("{why} Du er på ventelisten som nr.")), "{email}: {html}");
                assert!(mail.subject().starts_with("Du er på venteliste"));
                assert!(mail.plain().contains(&format!("{why} Du er nr.")), "{email}: {}", mail.plain());
                for other in ["Mødet er fuldt.", "Det spor, du har valgt, er fuldt.", "Din organisation har nået"] {
                    if !why.starts_with(other) {
                        assert!(!mail.plain().contains(other), "{email} is told only the true reason");
                    }
                }
                // The answer page, opened again, still says why.
                let again = app.get(&format!("/rsvp/{rsvp}")).await.text().await.unwrap();
                assert!(again.contains(why), "{email}: {again}");
            }
        }
    }
    // In English too.
    let rsvp = invited(&app, m, "p6@firma6.example", "Person 6", "Firma 6").await;
    let res = app
        .http
        .post(app.url(&format!("/rsvp/{rsvp}")))
        .header("cookie", "lang=en")
        .form(&[("answer", "yes"), ("track", "b")])
        .send()
        .await
        .unwrap();
    let html = common::text(res, 200).await;
    assert!(html.contains("The meeting is full. You are on the waiting list as number 4."), "{html}");
    app.stop().await;
}
both_engines!(the_waiting_list_says_whether_the_meeting_the_track_or_the_organisations_quota_is_full);

async fn a_message_to_the_waiting_list_reaches_only_them_after_a_confirm_step(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    let m = meeting(&app, &token, json!({"capacity": 1})).await;
    let seated = invited(&app, m, "seat@firma0.example", "Sidde Plads", "Firma 0").await;
    let waiting = invited(&app, m, "wait@firma1.example", "Vente Liste", "Firma 1").await;
    invited(&app, m, "silent@firma2.example", "Tavs Svarløs", "Firma 2").await;
    yes(&app, &seated, "").await;
    yes(&app, &waiting, "").await;
    smtp.wait_for(2, 30).await;

    let organiser = app.sign_in("org@forum.example").await;
    let html = organiser.page(&format!("/admin/meetings/{m}/registrations")).await;
    assert!(html.contains("Inviteret uden svar") && html.contains("Tavs Svarløs"), "who has not answered is listed");
    let path = format!("/admin/meetings/{m}/message");
    let text = "Vi forventer flere pladser.\r\nBcc: alle@evil.example\r\nSubject: falsk";
    let html =
        common::text(organiser.post(&path, &[("audience", "waitlisted"), ("mail-message", text)]).await, 200).await;
    common::assert_has(&html, &["Send beskeden?", "på ventelisten (1): Vente Liste."]);
    let stale = [("audience", "waitlisted"), ("count", "2"), ("confirm", "yes"), ("message", text)];
    let html = common::text(organiser.post(&path, &stale).await, 200).await;
    assert!(html.contains("Tallene har ændret sig"), "a step that no longer holds is shown again: {html}");
    let res = organiser
        .post(&path, &[("audience", "waitlisted"), ("count", "1"), ("confirm", "yes"), ("message", text)])
        .await;
    assert_eq!(res.status(), 303);

    let got = smtp.wait_for_mail("the message", |msg| msg.subject().starts_with("Besked om")).await;
    assert_eq!(got.to, ["wait@firma1.example"]);
    assert_eq!(got.subject(), "Besked om Markedsdialog om data");
    assert!(
        got.plain().contains("Bcc: alle@evil.example") && got.plain().contains("står på ventelisten"),
        "{}",
        got.plain()
    );
    assert!(got.header("Bcc").is_none(), "the message never reaches a header");
    app.outbox_settled().await;
    let messages: Vec<_> = smtp.messages().into_iter().filter(|msg| msg.subject().starts_with("Besked om")).collect();
    assert_eq!(messages.len(), 1, "only the waiting list");
    let audited: Vec<(String, Option<i64>)> = on_db!(app.db, |pool| sqlx::query_as(
        "select detail, row_count from audit_log where action = 'meeting.message'"
    )
    .fetch_all(&pool)
    .await
    .unwrap());
    assert_eq!(audited, [("waitlisted".to_owned(), Some(1))]);

    // Someone who never answered is given a seat from the same list, beyond the full meeting.
    let silent = registration_of(&app, &token, m, "silent@firma2.example").await;
    let seat = format!("/admin/meetings/{m}/registrations/{silent}/seat");
    let res =
        organiser.post(&seat, &[("confirm", "yes"), ("beyond", "yes"), ("message", "Ringede og meldte sig")]).await;
    assert_eq!(res.status(), 303);
    let got = smtp.wait_for_mail("the seat", |msg| msg.is_to("silent@firma2.example")).await;
    assert!(got.subject().starts_with("Du er tilmeldt"), "{}", got.subject());
    app.stop().await;
}
both_engines!(a_message_to_the_waiting_list_reaches_only_them_after_a_confirm_step);

async fn a_walk_in_is_checked_in_on_the_door_list_and_in_the_participant_export(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "org@forum.example", Role::Organiser).await;
    let tracks = json!([{"key": "ai", "title": "Kunstig intelligens"}]);
    let m = meeting(&app, &token, json!({"capacity": 10, "tracks": tracks})).await;
    let rsvp = invited(&app, m, "anna@firma.example", "Anna Ager", "Firma A/S").await;
    yes(&app, &rsvp, "ai").await;
    let organiser = app.sign_in("org@forum.example").await;
    let walk = format!("/admin/meetings/{m}/walk-in");
    let html =
        common::text(organiser.post(&walk, &[("walk-name", ""), ("walk-email", "ikke en adresse")]).await, 422).await;
    common::assert_has(&html, &[r#"id="walk-name-error""#, r#"id="walk-email-error""#]);
    let res = organiser
        .post(
            &walk,
            &[("walk-name", "Walter Døgn"), ("walk-organisation", "Dør ApS"), ("walk-email", ""), ("walk-track", "ai")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let html = organiser.page(&format!("/admin/meetings/{m}/checkin?q=walter")).await;
    common::assert_has(&html, &["Walter Døgn", "tjekket ind"]);

    let html = organiser.page(&format!("/admin/meetings/{m}/door-list")).await;
    assert!(html.contains("Walter Døgn") && html.contains("Dør ApS") && html.contains("Anna Ager"), "{html}");
    assert!(html.contains("Kunstig intelligens") && !html.contains(">ai<"), "track titles, not keys");
    assert!(html.find("Anna Ager") < html.find("Walter Døgn"), "by name");
    assert!(!html.contains("walk-in.invalid"));

    let res = app.api(&token).get(&format!("/meetings/{m}/participants.csv")).await;
    let csv = res.text().await.unwrap();
    let line = csv.lines().find(|l| l.contains("Walter Døgn")).expect("the walk-in is exported");
    common::assert_has(line, &["Dør ApS", "Kunstig intelligens"]);
    assert!(!csv.contains("walk-in.invalid"), "no stand-in address: {csv}");
    let list: Value = app.api(&token).json(&format!("/meetings/{m}/registrations")).await;
    let walter = list["items"].as_array().unwrap().iter().find(|r| r["name"] == "Walter Døgn").unwrap();
    assert_eq!((walter["status"].as_str(), walter["email"].as_str()), (Some("attending"), Some("")));
    assert!(walter["checked_in_at"].is_string());
    let audited = app.db.count("select count(*) from audit_log where action = 'registration.walk_in'").await;
    assert_eq!(audited, 1);
    app.stop().await;
}
both_engines!(a_walk_in_is_checked_in_on_the_door_list_and_in_the_participant_export);

async fn a_seat_moves_to_a_track_with_room_and_the_api_adds_seats_and_sends_messages(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    let api = app.api(&token);
    let tracks = json!([
        {"key": "a", "title": "Spor A", "capacity": 1},
        {"key": "b", "title": "Spor B", "capacity": 1},
        {"key": "c", "title": "Spor C"}
    ]);
    let m = meeting(&app, &token, json!({"capacity": 10, "tracks": tracks})).await;
    for (i, track) in ["a", "b", "a"].into_iter().enumerate() {
        let rsvp = invited(&app, m, &format!("p{i}@firma{i}.example"), &format!("Person {i}"), "Firma").await;
        yes(&app, &rsvp, track).await;
    }
    smtp.wait_for(3, 30).await;
    let first = registration_of(&app, &token, m, "p0@firma0.example").await;

    // A full track refuses the move with its reason; a move needs a reason.
    let path = format!("/meetings/{m}/registrations/{first}/track");
    let res = api.post(&path, &json!({"track": "b", "reason": "Ønsker spor B"})).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.text().await.unwrap().contains("The track you chose is full."));
    let res = api.post(&path, &json!({"track": "c", "reason": null})).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("reason"));

    // On the page, after a confirm step with the reason: the seat in track A goes to the waiting list.
    let organiser = app.sign_in("org@forum.example").await;
    let page = format!("/admin/meetings/{m}/registrations/{first}/track");
    let html = common::text(organiser.post(&page, &[("track", "c")]).await, 200).await;
    common::assert_has(&html, &["Flyt til et andet spor?", "Spor C"]);
    let res = organiser.post(&page, &[("track", "c"), ("confirm", "yes"), ("message", "Ønsker spor C")]).await;
    assert_eq!(res.status(), 303);
    let moved = smtp.wait_for_mail_to("p0@firma0.example", "Du er tilmeldt").await;
    assert!(moved.calendar().contains("BEGIN:VEVENT"));
    smtp.wait_for_mail_to("p2@firma2.example", "Du har fået en plads").await;
    let list: Value = api.json(&format!("/meetings/{m}/registrations")).await;
    let track_of = |email: &str| {
        let r = list["items"].as_array().unwrap().iter().find(|r| r["email"] == email).unwrap();
        (r["status"].as_str().unwrap().to_owned(), r["track"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(track_of("p0@firma0.example"), ("attending".to_owned(), "c".to_owned()));
    assert_eq!(track_of("p2@firma2.example"), ("attending".to_owned(), "a".to_owned()));
    let audited = app.db.strings("select detail from audit_log where action = 'track.move'").await;
    assert_eq!(audited, ["reason: Ønsker spor C"]);

    // The API adds a person: a full track is refused with its reason until going beyond it is asked for.
    let add = json!({"email": "ny@gaest.example", "name": "Ny Gæst", "track": "a", "reason": "Oplægsholder"});
    let res = api.post(&format!("/meetings/{m}/registrations"), &add).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("The track you chose is full."));
    let mut beyond = add.clone();
    beyond["beyond_limits"] = json!(true);
    let res = api.post(&format!("/meetings/{m}/registrations"), &beyond).await;
    assert_eq!(res.status(), 201);
    let added: Value = res.json().await.unwrap();
    assert_eq!((added["status"].as_str(), added["track"].as_str()), (Some("attending"), Some("a")));
    smtp.wait_for_mail("the added seat", |msg| msg.is_to("ny@gaest.example")).await;

    // A message to everyone attending, by the API.
    let res = api
        .post(&format!("/meetings/{m}/messages"), &json!({"audience": "attending", "message": "Husk frokost."}))
        .await;
    assert_eq!(res.status(), 202);
    assert_eq!(res.json::<Value>().await.unwrap()["queued"], 4);
    let res = api.post(&format!("/meetings/{m}/messages"), &json!({"audience": "everyone", "message": "x"})).await;
    assert_eq!(res.status(), 422);
    let told = smtp.wait_for(10, 30).await;
    let messages: Vec<_> = told.iter().filter(|msg| msg.subject().starts_with("Besked om")).collect();
    assert_eq!(messages.len(), 4);
    let seats_of_first =
        told.iter().filter(|msg| msg.is_to("p0@firma0.example") && msg.subject().starts_with("Du er tilmeldt")).count();
    assert_eq!(seats_of_first, 2, "the first answer and the move");
    assert!(messages.iter().all(|msg| msg.plain().contains("Husk frokost.")));

    // Someone invited who has not answered is seated in the track chosen on their row.
    invited(&app, m, "quiet@firma9.example", "Stille Person", "Firma 9").await;
    let quiet = registration_of(&app, &token, m, "quiet@firma9.example").await;
    let html = organiser.page(&format!("/admin/meetings/{m}/registrations")).await;
    assert!(html.contains(&format!(r#"<select id="seat-track-{quiet}" name="track">"#)), "{html}");
    let seat = format!("/admin/meetings/{m}/registrations/{quiet}/seat");
    let html = common::text(organiser.post(&seat, &[("track", "c")]).await, 200).await;
    assert!(html.contains(r#"name="track" value="c""#), "the step carries the track: {html}");
    let res = organiser.post(&seat, &[("track", "c"), ("confirm", "yes"), ("message", "Oplægsholder i spor C")]).await;
    assert_eq!(res.status(), 303);
    let list: Value = api.json(&format!("/meetings/{m}/registrations")).await;
    let r = list["items"].as_array().unwrap().iter().find(|r| r["email"] == "quiet@firma9.example").unwrap();
    assert_eq!((r["status"].as_str(), r["track"].as_str()), (Some("attending"), Some("c")));
    app.stop().await;
}
both_engines!(a_seat_moves_to_a_track_with_room_and_the_api_adds_seats_and_sends_messages);
