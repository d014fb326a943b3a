//! RSVP, capacity and the waiting list, end to end over HTTP: never one seat
//! too many, whatever the concurrency, and the waiting list moves up by itself
//! (in the organisers' order once they reorder it). Seat mails carry a QR code
//! that opens the person's check-in; consent to a public listing is recorded.

use crate::common;
use crate::common::PostForm as _;

use common::smtp::SmtpServer;
use common::{Engine, TestApp, csrf_of};
use dialogforum::domain::{Email, MeetingId, Name, PersonStatus, RegistrationId, Role};
use dialogforum::store::people::{NewPerson, insert_person_if_new};
use dialogforum::store::rsvp::{Answer, Locking, Seat};
use serde_json::{Value, json};

/// The app sending to a test SMTP server, with an organiser's API token.
async fn spawn(engine: Engine) -> (TestApp, SmtpServer, String) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    (app, smtp, token)
}

/// A published meeting with the given limits, created through the API.
async fn meeting(app: &TestApp, token: &str, capacity: i32, per_org: Option<i32>, tracks: Value) -> MeetingId {
    let body = json!({
        "title": "Kapacitetsprøve", "starts_at": "2030-03-01T09:00:00+01:00", "ends_at": "2030-03-01T12:00:00+01:00",
        "format": "virtual", "online_url": "https://meet.example/df", "capacity": capacity,
        "per_organisation_limit": per_org, "tracks": tracks
    });
    app.api(token).published_meeting(&body).await.parse().unwrap()
}

/// The app with an organiser's API token and a published meeting of
/// `capacity` seats, without tracks or a limit per organisation.
async fn with_meeting(engine: Engine, capacity: i32) -> (TestApp, String, MeetingId) {
    let (app, token) = TestApp::with_token(engine, "org@forum.example", Role::Organiser).await;
    let m = meeting(&app, &token, capacity, None, json!([])).await;
    (app, token, m)
}

/// Invites `n` people (organisation `org(i)`) and returns their RSVP tokens and registrations.
async fn invite(
    app: &TestApp,
    meeting: MeetingId,
    n: usize,
    org: impl Fn(usize) -> String,
) -> Vec<(String, RegistrationId)> {
    let people: Vec<_> =
        (0..n).map(|i| (format!("p{i}@firma{}.example", org(i).len()), format!("Person {i:02}"), org(i))).collect();
    common::invite_many(app.store(), meeting, &people).await.into_iter().map(|(rid, token)| (token, rid)).collect()
}

async fn counts(app: &TestApp, meeting: MeetingId) -> (usize, usize, usize) {
    let regs = app.store().registrations(meeting).await.unwrap();
    let n = |s: &str| regs.iter().filter(|r| r.status.as_str() == s).count();
    (n("attending"), n("waitlisted"), n("declined"))
}

async fn an_invitee_answers_through_the_page_and_gets_a_confirmation_with_a_calendar_entry(engine: Engine) {
    let (app, smtp, token) = spawn(engine).await;
    let m = meeting(
        &app,
        &token,
        10,
        None,
        json!([{"key": "ai", "title": "AI"}, {"key": "sikkerhed", "title": "Sikkerhed"}]),
    )
    .await;
    let people = invite(&app, m, 1, |_| "Nordlys IT A/S".into()).await;
    let (rsvp, reg) = &people[0];

    let page = app.get(&format!("/rsvp/{rsvp}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Kapacitetsprøve") && html.contains(r#"name="track""#));
    assert!(!html.contains("meet.example"), "the joining link is only for registered people");
    assert_eq!(app.store().registration(*reg).await.unwrap().status.as_str(), "invited", "opening changes nothing");

    let res = app.post_form(&format!("/rsvp/{rsvp}"), &[("answer", "yes"), ("diet", "vegetar")]).await;
    assert_eq!(res.status(), 422, "a meeting with tracks needs a track");
    assert!(res.text().await.unwrap().contains(r#"id="track-error""#));

    let res = app
        .post_form(
            &format!("/rsvp/{rsvp}"),
            &[("answer", "yes"), ("track", "sikkerhed"), ("diet", "vegetar"), ("access_needs", "kørestol")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Du er tilmeldt"));
    let msgs = smtp.wait_for(1, 10).await;
    let mail = mail_parser::MessageParser::default().parse(&msgs[0].data).unwrap();
    assert!(
        mail.body_text(0).unwrap().contains("https://meet.example/df"),
        "attendees of a virtual meeting get the link"
    );
    assert!(msgs[0].text().contains("text/calendar"));

    let list: Value = app.api(&token).get(&format!("/meetings/{m}/registrations")).await.json().await.unwrap();
    let r = &list["items"][0];
    assert_eq!(
        (r["status"].as_str(), r["track"].as_str(), r["diet"].as_str(), r["access_needs"].as_str()),
        (Some("attending"), Some("sikkerhed"), Some("vegetar"), Some("kørestol"))
    );

    let res = app.api(&token).post(&format!("/meetings/{m}/checkins"), &json!({"registration_id": reg})).await;
    assert_eq!(res.status(), 200);
    assert!(res.json::<Value>().await.unwrap()["checked_in_at"].is_string());

    let res = app.rsvp(rsvp, "no").await;
    assert_eq!(res.status(), 200);
    assert_eq!(counts(&app, m).await, (0, 0, 1));
    assert_eq!(smtp.wait_for(2, 10).await.len(), 2, "every answer is confirmed by mail");
    app.stop().await;
}
both_engines!(an_invitee_answers_through_the_page_and_gets_a_confirmation_with_a_calendar_entry);

/// Fires every token's "yes" at once over HTTP and returns the status codes.
async fn rush(app: &TestApp, tokens: &[(String, RegistrationId)], track: Option<&str>) -> Vec<u16> {
    let mut tasks = tokio::task::JoinSet::new();
    for (t, _) in tokens {
        let url = format!("{}/rsvp/{t}", app.base);
        let http = app.http.clone();
        let mut form = vec![("answer", "yes".to_owned())];
        if let Some(track) = track {
            form.push(("track", track.to_owned()));
        }
        tasks.spawn(async move { http.post_form(url, &form).await.status().as_u16() });
    }
    let mut codes = Vec::new();
    while let Some(c) = tasks.join_next().await {
        codes.push(c.unwrap());
    }
    codes
}

async fn forty_people_rushing_for_five_seats_get_exactly_five(engine: Engine) {
    let (app, _, m) = with_meeting(engine, 5).await;
    let people = invite(&app, m, 40, |i| format!("Firma {i}")).await;
    let codes = rush(&app, &people, None).await;
    assert!(codes.iter().all(|c| *c == 200), "no errors: {codes:?}");
    assert_eq!(counts(&app, m).await, (5, 35, 0));
    let waiting: Vec<i64> =
        app.store().registrations(m).await.unwrap().iter().filter_map(|r| r.waitlist_position).collect();
    let mut sorted = waiting.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 35, "every place on the waiting list is distinct");
    app.stop().await;
}
both_engines!(forty_people_rushing_for_five_seats_get_exactly_five);

async fn without_serialisation_the_same_rush_oversells_which_is_what_the_test_above_would_catch(engine: Engine) {
    let (app, _, m) = with_meeting(engine, 5).await;
    let people = invite(&app, m, 40, |i| format!("Firma {i}")).await;
    let yes = Answer {
        attend: true,
        track: None,
        diet: String::new(),
        access_needs: String::new(),
        comment: String::new(),
        listing: None,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (_, reg) in people {
        let store = app.store().clone();
        let yes = yes.clone();
        tasks.spawn(async move {
            let (tx, seat, _) = dialogforum::store::rsvp::answer(&store, reg, &yes, Locking::Off).await.unwrap();
            tx.commit().await.unwrap();
            seat
        });
    }
    let mut attending = 0;
    while let Some(seat) = tasks.join_next().await {
        if seat.unwrap() == Seat::Attending {
            attending += 1;
        }
    }
    assert!(attending > 5, "the control must oversell, else the race test proves nothing ({attending} seats given)");
    assert!(counts(&app, m).await.0 > 5);
    app.stop().await;
}
both_engines!(without_serialisation_the_same_rush_oversells_which_is_what_the_test_above_would_catch);

async fn organisation_and_track_limits_hold_under_a_rush(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "org@forum.example", Role::Organiser).await;
    let m = meeting(&app, &token, 30, Some(2), json!([{"key": "ai", "title": "AI", "capacity": 3}])).await;
    // Six colleagues from one company: two seats for their organisation.
    let same = invite(&app, m, 6, |_| "Nordlys IT A/S".into()).await;
    rush(&app, &same, Some("ai")).await;
    assert_eq!(counts(&app, m).await, (2, 4, 0));
    // Ten from different companies into a track with three seats, one of them taken.
    let others = invite(&app, m, 10, |i| format!("Konsulenthus {i:02}")).await;
    let codes = rush(&app, &others, Some("ai")).await;
    assert!(codes.iter().all(|c| *c == 200));
    let regs = app.store().registrations(m).await.unwrap();
    let in_ai = regs.iter().filter(|r| r.status.as_str() == "attending" && r.track.as_deref() == Some("ai")).count();
    assert_eq!(in_ai, 3, "the track holds three");
    app.stop().await;
}
both_engines!(organisation_and_track_limits_hold_under_a_rush);

async fn twenty_parallel_answers_with_one_token_make_one_registration(engine: Engine) {
    let (app, _, m) = with_meeting(engine, 5).await;
    let one = invite(&app, m, 1, |_| "Firma".into()).await;
    let twenty: Vec<_> = std::iter::repeat_n(one[0].clone(), 20).collect();
    let codes = rush(&app, &twenty, None).await;
    assert!(codes.iter().all(|c| *c == 200), "{codes:?}");
    let regs = app.store().registrations(m).await.unwrap();
    assert_eq!(regs.len(), 1);
    assert_eq!(counts(&app, m).await, (1, 0, 0));
    app.stop().await;
}
both_engines!(twenty_parallel_answers_with_one_token_make_one_registration);

async fn cancellations_move_the_waiting_list_up_in_order_with_one_mail_each(engine: Engine) {
    let (app, smtp, token) = spawn(engine).await;
    let m = meeting(&app, &token, 3, None, json!([])).await;
    let people = invite(&app, m, 7, |i| format!("Firma {i}")).await;
    // One at a time, so the order is known: 0, 1, 2 get seats; 3, 4, 5, 6 wait in that order.
    for (t, _) in &people {
        let res = app.rsvp(t, "yes").await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(counts(&app, m).await, (3, 4, 0));
    let first = smtp.wait_for(7, 10).await.len();
    assert_eq!(first, 7);

    // Two attendees cancel at the same moment.
    let mut tasks = tokio::task::JoinSet::new();
    for (t, _) in &people[..2] {
        let url = format!("{}/rsvp/{t}", app.base);
        let http = app.http.clone();
        tasks.spawn(async move { http.post_form(url, &[("answer", "no")]).await.status().as_u16() });
    }
    while let Some(c) = tasks.join_next().await {
        assert_eq!(c.unwrap(), 200);
    }
    assert_eq!(counts(&app, m).await, (3, 2, 2));
    let regs = app.store().registrations(m).await.unwrap();
    let status = |i: usize| regs.iter().find(|r| r.id == people[i].1).unwrap().status.as_str().to_owned();
    assert_eq!(
        (status(3), status(4), status(5), status(6)),
        ("attending".into(), "attending".into(), "waitlisted".into(), "waitlisted".into()),
        "first come, first served"
    );

    app.outbox_settled().await;
    let msgs = smtp.wait_for(11, 10).await;
    let promoted: Vec<_> = msgs
        .iter()
        .filter(|m| {
            let p = mail_parser::MessageParser::default().parse(&m.data).unwrap();
            p.subject().is_some_and(|s| s.starts_with("Du har fået en plads"))
        })
        .collect();
    assert_eq!(promoted.len(), 2, "each promoted person gets exactly one mail");
    let to: std::collections::BTreeSet<_> = promoted.iter().map(|m| m.to[0].clone()).collect();
    assert_eq!(to.len(), 2);
    app.stop().await;
}
both_engines!(cancellations_move_the_waiting_list_up_in_order_with_one_mail_each);

/// Passes the invitation behind `token` on to a colleague at `email`.
async fn pass_on(app: &TestApp, token: &str, name: &str, email: &str) -> reqwest::Response {
    app.post_form(&format!("/rsvp/{token}/colleague"), &[("colleague_name", name), ("colleague_email", email)]).await
}

/// The colleague's own answer link, from the mail that reached them.
fn own_link(m: &common::smtp::Received) -> String {
    m.link_path("/rsvp/").trim_start_matches("/rsvp/").to_owned()
}

async fn a_seat_passed_on_goes_to_the_colleague_with_its_track_and_a_fresh_link(engine: Engine) {
    let (app, smtp, token) = spawn(engine).await;
    let m = meeting(&app, &token, 1, None, json!([{"key": "ai", "title": "AI"}])).await;
    let people = invite(&app, m, 2, |i| ["Nordlys IT A/S", "Fjord ApS"][i].to_owned()).await;
    let ((holder, holder_reg), (queued, queued_reg)) = (&people[0], &people[1]);
    let yes = [("answer", "yes"), ("track", "ai"), ("diet", "vegetar"), ("access_needs", "kørestol")];
    assert_eq!(app.post_form(&format!("/rsvp/{holder}"), &yes).await.status(), 200);
    assert_eq!(app.post_form(&format!("/rsvp/{queued}"), &yes).await.status(), 200);
    assert_eq!(counts(&app, m).await, (1, 1, 0));
    smtp.wait_for(2, 10).await;
    let domain = |reg: RegistrationId| {
        let store = app.store().clone();
        async move { store.registration(reg).await.unwrap().email.split('@').nth(1).unwrap().to_owned() }
    };

    // Outside the organisation is not a colleague.
    let outside = pass_on(&app, holder, "Kollega", "kollega@andet.example").await;
    assert_eq!(outside.status(), 422, "a colleague is someone at the same organisation");
    assert!(outside.text().await.unwrap().contains(r#"id="colleague_email-error""#));

    // The place on the waiting list passes on with its number.
    let queued_colleague = format!("kim@{}", domain(*queued_reg).await);
    assert_eq!(pass_on(&app, queued, "Kim Kollega", &queued_colleague).await.status(), 200);
    let to_kim = smtp.wait_for_mail("the waiting place to Kim", |r| r.to == [queued_colleague.clone()]).await;
    assert!(to_kim.subject().starts_with("Du er på venteliste"), "{}", to_kim.subject());
    assert!(to_kim.plain().contains("nr. 1 på ventelisten"), "{}", to_kim.plain());

    // The seat passes on with its track; diet and access needs stay behind.
    let colleague = format!("lea@{}", domain(*holder_reg).await);
    assert_eq!(pass_on(&app, holder, "Lea Kollega", &colleague).await.status(), 200);
    let to_lea = smtp.wait_for_mail("the seat to Lea", |r| r.to == [colleague.clone()]).await;
    assert!(to_lea.subject().starts_with("Du er tilmeldt"), "{}", to_lea.subject());
    assert!(to_lea.plain().contains("Person 00 har givet sin plads"), "{}", to_lea.plain());
    let ics = to_lea.calendar();
    assert!(ics.contains("METHOD:REQUEST"), "{ics}");
    let lea_link = own_link(&to_lea);
    assert_ne!(&lea_link, holder, "a link of their own");
    let regs = app.store().registrations(m).await.unwrap();
    let lea = regs.iter().find(|r| r.email == colleague).expect("Lea's registration");
    assert_eq!((lea.status.as_str(), lea.track.as_deref()), ("attending", Some("ai")));
    assert_eq!((lea.diet.as_str(), lea.access_needs.as_str()), ("", ""), "the holder's needs stay behind");
    assert_eq!(counts(&app, m).await, (1, 1, 0), "nobody else got the seat");

    // The holder is told, and the entry leaves their calendar.
    let holder_email = app.store().registration(*holder_reg).await.unwrap().email;
    let to_holder = smtp
        .wait_for_mail("the holder's confirmation", |r| {
            r.to == [holder_email.clone()] && r.subject().starts_with("Givet videre")
        })
        .await;
    assert!(to_holder.plain().contains("videre til Lea Kollega sammen med din plads"), "{}", to_holder.plain());
    assert!(to_holder.calendar().contains("METHOD:CANCEL"), "{}", to_holder.calendar());

    // The old link no longer works; Lea can say no, and then Kim gets the seat.
    assert_eq!(app.rsvp(holder, "yes").await.status(), 409);
    assert_eq!(app.rsvp(&lea_link, "no").await.status(), 200);
    let regs = app.store().registrations(m).await.unwrap();
    let kim = regs.iter().find(|r| r.email == queued_colleague).expect("Kim's registration");
    assert_eq!(kim.status.as_str(), "attending", "the waiting list moves up as usual");
    app.stop().await;
}
both_engines!(a_seat_passed_on_goes_to_the_colleague_with_its_track_and_a_fresh_link);

/// A meeting with one seat, held by one person, with one more on the waiting
/// list; returns the holder's token and registration and the colleague's address.
async fn one_seat_held(app: &TestApp, token: &str) -> (MeetingId, String, RegistrationId, String) {
    let m = meeting(app, token, 1, None, json!([])).await;
    let people = invite(app, m, 2, |i| ["Nordlys IT A/S", "Fjord ApS"][i].to_owned()).await;
    for (t, _) in &people {
        assert_eq!(app.rsvp(t, "yes").await.status(), 200);
    }
    let (holder, reg) = people[0].clone();
    let email = app.store().registration(reg).await.unwrap().email;
    let colleague = format!("lea@{}", email.split('@').nth(1).unwrap());
    (m, holder, reg, colleague)
}

/// Whoever holds seats at `m`: never more than its one, and never both the
/// colleague and the person waiting.
async fn one_seat_holder(app: &TestApp, m: MeetingId) -> Vec<String> {
    let regs = app.store().registrations(m).await.unwrap();
    regs.iter().filter(|r| r.status.as_str() == "attending").map(|r| r.email.clone()).collect()
}

async fn a_pass_on_racing_a_cancellation_never_gives_the_seat_twice(engine: Engine) {
    let (app, _smtp, token) = spawn(engine).await;
    for _ in 0..6 {
        let (m, holder, _, colleague) = one_seat_held(&app, &token).await;
        let (passed, cancelled) =
            tokio::join!(pass_on(&app, &holder, "Lea Kollega", &colleague), app.rsvp(&holder, "no"));
        let (passed, cancelled) = (passed.status().as_u16(), cancelled.status().as_u16());
        let seats = one_seat_holder(&app, m).await;
        assert_eq!(seats.len(), 1, "exactly one seat is held ({passed}, {cancelled}): {seats:?}");
        // Whichever came first decides: a seat passed on before the "no"
        // stays with the colleague (the "no" is refused); a "no" first gives
        // the seat to the waiting list and the colleague a plain invitation.
        if seats[0] == colleague {
            assert_eq!((passed, cancelled), (200, 409));
        } else {
            assert_eq!((passed, cancelled), (200, 200));
        }
    }
    app.stop().await;
}
both_engines!(a_pass_on_racing_a_cancellation_never_gives_the_seat_twice);

async fn a_pass_on_judged_on_a_stale_seat_gives_it_twice_which_is_what_the_race_test_would_catch(engine: Engine) {
    let (app, _smtp, token) = spawn(engine).await;
    let (m, holder, reg, colleague) = one_seat_held(&app, &token).await;
    // The holder's registration as read before the meeting was locked...
    let stale = app.store().registration(reg).await.unwrap();
    // ...then the "no" lands first, and the waiting list takes the seat...
    assert_eq!(app.rsvp(&holder, "no").await.status(), 200);
    // ...and the pass-on goes on from the stale read.
    let mut tx = app.store().begin().await.unwrap();
    let person = NewPerson {
        email: Email::parse(&colleague).unwrap(),
        name: Name::parse("Lea Kollega").unwrap(),
        organisation: Some(Name::parse("Nordlys IT A/S").unwrap()),
        status: PersonStatus::Guest,
        interests: vec![],
    };
    let (lea, _) = insert_person_if_new(&mut tx, &person, None).await.unwrap();
    dialogforum::store::rsvp::pass_on_judged(&mut tx, &stale, lea).await.unwrap();
    tx.commit().await.unwrap();
    let seats = one_seat_holder(&app, m).await;
    assert_eq!(seats.len(), 2, "the control must give the seat twice, else the race test proves nothing: {seats:?}");
    app.stop().await;
}
both_engines!(a_pass_on_judged_on_a_stale_seat_gives_it_twice_which_is_what_the_race_test_would_catch);

async fn the_door_check_in_page_finds_people_and_checks_them_in_and_out(engine: Engine) {
    let (app, _, m) = with_meeting(engine, 10).await;
    let people = invite(&app, m, 3, |i| ["Nordlys IT A/S", "Fjord Sikkerhed ApS", "Grøn Kode ApS"][i].to_owned()).await;
    for (t, _) in &people {
        app.rsvp(t, "yes").await;
    }
    let door = app.sign_in_as("door@forum.example", Role::Organiser).await;
    let page = door.get(&format!("/admin/meetings/{m}/checkin?q=fjord")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Fjord Sikkerhed ApS") && !html.contains("Nordlys IT A/S"), "the search narrows the list");
    assert!(html.contains("0 til stede af 3"));
    let reg = people[1].1;
    assert_eq!(csrf_of(&html), door.csrf, "the page's form carries the session's token");
    let check_in = format!("/admin/meetings/{m}/checkin/{reg}");
    let res = door.post(&check_in, &[("present", "yes"), ("q", "fjord")]).await;
    assert_eq!(res.status(), 303);
    assert!(app.store().registration(reg).await.unwrap().checked_in_at.is_some());
    let html = door.get(&format!("/admin/meetings/{m}/checkin")).await.text().await.unwrap();
    assert!(html.contains("1 til stede af 3"));
    let res = door.post(&check_in, &[("present", "no")]).await;
    assert_eq!(res.status(), 303);
    assert!(app.store().registration(reg).await.unwrap().checked_in_at.is_none(), "undo works");
    let res = door.http.post_form(app.url(&check_in), &[("csrf", "forged"), ("present", "yes")]).await;
    assert_eq!(res.status(), 403, "the form needs the session's CSRF token");
    app.stop().await;
}
both_engines!(the_door_check_in_page_finds_people_and_checks_them_in_and_out);

/// The QR codes of a received mail, decoded: the PNG images it carries inline,
/// each referred to from the HTML part by its Content-ID.
fn qr_codes(data: &[u8]) -> Vec<String> {
    use mail_parser::MimeHeaders;
    let mail = mail_parser::MessageParser::default().parse(data).unwrap();
    let html = mail.body_html(0).map(std::borrow::Cow::into_owned).unwrap_or_default();
    let mut found = Vec::new();
    for part in &mail.parts {
        let Some(ct) = part.content_type() else { continue };
        if ct.ctype() != "image" || ct.subtype() != Some("png") {
            continue;
        }
        let cid = part.content_id().expect("an inline image has a Content-ID");
        assert!(html.contains(&format!("cid:{cid}")), "the HTML part shows the image");
        assert!(html.contains("alt=\""), "the image has an alt text");
        let mut reader = png::Decoder::new(std::io::Cursor::new(part.contents().to_vec())).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        let width = info.width as usize;
        let mut img =
            rqrr::PreparedImage::prepare_from_greyscale(width, info.height as usize, |x, y| pixels[y * width + x]);
        for grid in img.detect_grids() {
            found.push(grid.decode().unwrap().1);
        }
    }
    found
}

fn subject_of(data: &[u8]) -> String {
    mail_parser::MessageParser::default().parse(data).unwrap().subject().unwrap_or_default().to_owned()
}

async fn a_seat_mail_carries_a_qr_code_that_opens_the_persons_check_in_for_a_signed_in_organiser(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(
        engine,
        &[("mail.transport", "smtp"), ("mail.smtp_url", &url), ("server.base_url", "https://forum.example")],
    )
    .await;
    let token = common::api_token(&app, "org@forum.example", Role::Organiser).await;
    // A virtual meeting has no entrance, so its seat mail shows no code to show there.
    let online = meeting(&app, &token, 1, None, json!([])).await;
    let (answer, _) = invite(&app, online, 1, |_| "Nordlys IT A/S".to_owned()).await.remove(0);
    assert_eq!(app.rsvp(&answer, "yes").await.status(), 200);
    let virtual_seat = smtp.wait_for(1, 10).await.remove(0);
    assert!(qr_codes(&virtual_seat.data).is_empty(), "no check-in code for a virtual meeting");
    assert!(!virtual_seat.plain().contains("indgangen") && virtual_seat.plain().contains("https://meet.example/df"));

    let body = json!({
        "title": "Kapacitetsprøve i huset", "starts_at": "2030-03-02T09:00:00+01:00",
        "ends_at": "2030-03-02T12:00:00+01:00", "format": "hybrid", "venue": "KL-huset",
        "online_url": "https://meet.example/df", "capacity": 1
    });
    let m: MeetingId = app.api(&token).published_meeting(&body).await.parse().unwrap();
    let people = invite(&app, m, 2, |i| ["Nordlys IT A/S", "Fjord Sikkerhed ApS"][i].to_owned()).await;
    for (t, _) in &people {
        let res = app.rsvp(t, "yes").await;
        assert_eq!(res.status(), 200);
    }
    let msgs = smtp.wait_for(3, 10).await[1..].to_vec();
    let seat =
        msgs.iter().find(|m| subject_of(&m.data).starts_with("Du er tilmeldt")).expect("a confirmation of the seat");
    let expected = format!("https://forum.example/admin/meetings/{m}/checkin/{}", people[0].1);
    assert_eq!(qr_codes(&seat.data), vec![expected.clone()], "the QR code holds the person's check-in link");
    let text = mail_parser::MessageParser::default().parse(&seat.data).unwrap().body_text(0).unwrap().into_owned();
    assert!(text.contains(&expected), "the link is in the text too");
    let waiting = msgs.iter().find(|m| subject_of(&m.data).starts_with("Du er på venteliste")).unwrap();
    assert!(qr_codes(&waiting.data).is_empty(), "no seat, no check-in code");

    let path = expected.strip_prefix("https://forum.example").unwrap();
    let res = app.get(path).await;
    assert_ne!(res.status(), 200, "only a signed-in organiser gets the check-in page");
    let door = app.sign_in_as("door@forum.example", Role::Organiser).await;
    let res = door.get(path).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Person 00") && html.contains("Nordlys IT A/S") && html.contains("Tjek ind"), "{html}");
    assert!(app.store().registration(people[0].1).await.unwrap().checked_in_at.is_none(), "opening it changes nothing");
    assert_eq!(csrf_of(&html), door.csrf, "the page's form carries the session's token");
    let res = door.post(path, &[("present", "yes"), ("back", "person")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], path, "back to the person's page");
    assert!(app.store().registration(people[0].1).await.unwrap().checked_in_at.is_some());
    assert!(door.get(path).await.text().await.unwrap().contains("tjekket ind"));

    // A seat that comes free: the promotion mail carries the promoted person's code.
    let res = app.rsvp(&people[0].0, "no").await;
    assert_eq!(res.status(), 200);
    let msgs = smtp.wait_for(5, 10).await;
    let promoted =
        msgs.iter().find(|m| subject_of(&m.data).starts_with("Du har fået en plads")).expect("a promotion mail");
    assert_eq!(
        qr_codes(&promoted.data),
        vec![format!("https://forum.example/admin/meetings/{m}/checkin/{}", people[1].1)]
    );
    let html = door.get(path).await.text().await.unwrap();
    assert!(
        html.contains("ikke en plads") && !html.contains(r#"name="present""#),
        "no button for someone without a seat"
    );
    app.stop().await;
}
both_engines!(a_seat_mail_carries_a_qr_code_that_opens_the_persons_check_in_for_a_signed_in_organiser);

/// The meeting's waiting list, first in line first.
async fn waiting(app: &TestApp, meeting: MeetingId) -> Vec<RegistrationId> {
    app.store()
        .registrations(meeting)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.status.as_str() == "waitlisted")
        .map(|r| r.id)
        .collect()
}

async fn the_next_free_seat_goes_to_whoever_the_organiser_moved_to_the_top_of_the_waiting_list(engine: Engine) {
    let (app, token, m) = with_meeting(engine, 1).await;
    let people = invite(&app, m, 5, |i| format!("Firma {i}")).await;
    let reg = |i: usize| people[i].1;
    for (t, _) in &people[..4] {
        app.rsvp(t, "yes").await;
    }
    assert_eq!(waiting(&app, m).await, vec![reg(1), reg(2), reg(3)], "first come, first served");

    let api = format!("{}/api/v1/meetings/{m}/waitlist", app.base);
    let body = json!({"order": [reg(3)], "reason": "Taler på mødet"});
    let res = app.http.post(&api).bearer_auth(&token).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let items: Vec<String> = res.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(items, [reg(3), reg(1), reg(2)].map(|r| r.to_string()));
    let body = json!({"order": [reg(0)], "reason": "Fejl"});
    let res = app.http.post(&api).bearer_auth(&token).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 422, "only people on the waiting list can be ordered");
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    // On the page: move the last one up a place.
    let door = app.sign_in_as("door@forum.example", Role::Organiser).await;
    let html = door.get(&format!("/admin/meetings/{m}/waitlist")).await.text().await.unwrap();
    let (p3, p1) = (html.find("Person 03").unwrap(), html.find("Person 01").unwrap());
    assert!(p3 < p1, "the page shows the new order");
    assert_eq!(csrf_of(&html), door.csrf, "the page's form carries the session's token");
    let path = format!("/admin/meetings/{m}/waitlist/{}", reg(2));
    let res = door.post(&path, &[("to", "up")]).await;
    assert_eq!(res.status(), 200, "a confirm step asks for the reason first");
    let res = door.post(&path, &[("to", "up"), ("confirm", "yes"), ("message", "Bestyrelsesmedlem")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(waiting(&app, m).await, vec![reg(3), reg(2), reg(1)]);

    // Someone joining now still queues at the end.
    app.rsvp(&people[4].0, "yes").await;
    assert_eq!(waiting(&app, m).await, vec![reg(3), reg(2), reg(1), reg(4)]);

    let res = app.rsvp(&people[0].0, "no").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.store().registration(reg(3)).await.unwrap().status.as_str(),
        "attending",
        "the organiser's choice gets the seat"
    );
    assert_eq!(waiting(&app, m).await, vec![reg(2), reg(1), reg(4)]);
    app.stop().await;
}
both_engines!(the_next_free_seat_goes_to_whoever_the_organiser_moved_to_the_top_of_the_waiting_list);

async fn a_tick_to_list_the_organisation_publicly_is_recorded_as_consent_and_answering_without_it_withdraws_it(
    engine: Engine,
) {
    let (app, _, m) = with_meeting(engine, 10).await;
    let people = invite(&app, m, 1, |_| "Nordlys IT A/S".into()).await;
    let (rsvp, reg) = &people[0];
    let html = app.get(&format!("/rsvp/{rsvp}")).await.text().await.unwrap();
    let tick = html.split(r#"id="list_organisation""#).nth(1).unwrap().split('>').next().unwrap().to_owned();
    assert!(!tick.contains("checked"), "not ticked by default");
    assert!(html.contains(r#"<label for="list_organisation">Ja, min organisations navn"#));

    let res = app.post_form(&format!("/rsvp/{rsvp}"), &[("answer", "yes"), ("list_organisation", "yes")]).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.split(r#"id="list_organisation""#).nth(1).unwrap().split('>').next().unwrap().contains("checked"));
    let r = app.store().registration(*reg).await.unwrap();
    assert!(r.list_organisation);
    let consents = app.store().personal_data(r.person_id).await.unwrap().consents;
    let listing: Vec<_> = consents.iter().filter(|c| c.purpose == "participant-listing").collect();
    assert_eq!(listing.len(), 1);
    assert_eq!(listing[0].text_version, dialogforum::i18n::LISTING_CONSENT_VERSION);
    assert!(listing[0].text_shown.starts_with("Ja, min organisations navn") && listing[0].method == "web");
    assert!(listing[0].withdrawn_at.is_none() && !listing[0].proof.is_empty());

    // The same answer again changes nothing; without the tick, the consent is withdrawn.
    app.post_form(&format!("/rsvp/{rsvp}"), &[("answer", "yes"), ("list_organisation", "yes")]).await;
    let res = app.rsvp(rsvp, "yes").await;
    assert_eq!(res.status(), 200);
    assert!(!app.store().registration(*reg).await.unwrap().list_organisation);
    let consents = app.store().personal_data(r.person_id).await.unwrap().consents;
    let listing: Vec<_> = consents.iter().filter(|c| c.purpose == "participant-listing").collect();
    assert_eq!(listing.len(), 1, "one record, given once");
    assert!(listing[0].withdrawn_at.is_some(), "and withdrawn");
    app.stop().await;
}
both_engines!(a_tick_to_list_the_organisation_publicly_is_recorded_as_consent_and_answering_without_it_withdraws_it);

async fn a_seat_given_up_for_a_full_track_goes_to_the_waiting_list(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "org@forum.example", Role::Organiser).await;
    let tracks =
        json!([{"key": "ai", "title": "AI", "capacity": 1}, {"key": "sikkerhed", "title": "Sikkerhed", "capacity": 1}]);
    let m = meeting(&app, &token, 10, None, tracks).await;
    let people = invite(&app, m, 3, |i| format!("Firma {i}")).await;
    let answer = |i: usize, track: &'static str| {
        let url = format!("{}/rsvp/{}", app.base, people[i].0);
        let http = app.http.clone();
        async move { http.post_form(url, &[("answer", "yes"), ("track", track)]).await.status() }
    };
    assert_eq!(answer(0, "ai").await, 200);
    assert_eq!(answer(1, "sikkerhed").await, 200);
    assert_eq!(answer(2, "ai").await, 200);
    assert_eq!(counts(&app, m).await, (2, 1, 0), "the third waits for AI");
    // The first asks for the full security track instead: their AI seat goes to the third.
    assert_eq!(answer(0, "sikkerhed").await, 200);
    let regs = app.store().registrations(m).await.unwrap();
    let status = |i: usize| regs.iter().find(|r| r.id == people[i].1).unwrap().status.as_str().to_owned();
    assert_eq!((status(0), status(1), status(2)), ("waitlisted".into(), "attending".into(), "attending".into()));
    app.stop().await;
}
both_engines!(a_seat_given_up_for_a_full_track_goes_to_the_waiting_list);

async fn more_seats_go_to_the_waiting_list_at_once(engine: Engine) {
    let (app, token, m) = with_meeting(engine, 1).await;
    let people = invite(&app, m, 3, |i| format!("Firma {i}")).await;
    for (t, _) in &people {
        let res = app.rsvp(t, "yes").await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(counts(&app, m).await, (1, 2, 0));
    let res = app.api(&token).patch(&format!("/meetings/{m}"), &json!({"capacity": 2})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(counts(&app, m).await, (2, 1, 0), "the first on the waiting list has the new seat");
    let after = app.store().registrations(m).await.unwrap();
    let second = after.iter().find(|r| r.id == people[1].1).unwrap();
    assert_eq!(second.status.as_str(), "attending", "in the order of the waiting list");
    app.stop().await;
}
both_engines!(more_seats_go_to_the_waiting_list_at_once);
