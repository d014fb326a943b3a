//! Fair seats (udbudsloven § 2): a meeting that opens for answers at a set
//! time takes none before it, and a lottery meeting draws its seats within
//! the per-organisation limit, reproducibly from its recorded seed, and
//! tells every applicant by mail.

use crate::common;

use common::{Engine, TestApp};
use dialogforum::domain::seating::{Applicant, DrawLimits, draw};
use dialogforum::domain::{DrawSeed, MeetingId, Role};
use dialogforum::store::db_time;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// An instant as the API takes it.
fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Creates and publishes a meeting on 1 March 2030 with `extra` fields; returns its id.
async fn meeting(app: &TestApp, token: &str, extra: Value) -> MeetingId {
    app.api(token).meeting_at_kl("Markedsdialog om AI", extra).await
}

/// Invites `n` people, person `i` at organisation `Firma {i % orgs}` with the
/// address `{who}{i}@firma{i % orgs}.example`; returns their RSVP tokens and addresses.
async fn invite(app: &TestApp, meeting: MeetingId, who: &str, n: usize, orgs: usize) -> Vec<(String, String)> {
    let people: Vec<_> = (0..n)
        .map(|i| {
            (format!("{who}{i}@firma{}.example", i % orgs), format!("Person {i:02}"), format!("Firma {}", i % orgs))
        })
        .collect();
    let invited = common::invite_many(app.store(), meeting, &people).await;
    invited.into_iter().zip(people).map(|((_, token), (email, _, _))| (token, email)).collect()
}

async fn registrations(app: &TestApp, token: &str, m: MeetingId) -> Vec<Value> {
    let list: Value = app.api(token).json(&format!("/meetings/{m}/registrations")).await;
    list["items"].as_array().unwrap().clone()
}

async fn a_meeting_with_a_future_opening_time_refuses_answers_before_it_and_takes_them_after(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "org@forum.example", Role::Organiser).await;
    let api = app.api(&token);
    let late = json!({"title": "x", "starts_at": "2030-03-01T09:00:00+01:00", "ends_at": "2030-03-01T12:00:00+01:00",
        "format": "physical", "registration_opens_at": "2030-03-01T10:00:00+01:00"});
    let res = api.post("/meetings", &late).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("registration_opens_at"), "the field is named");
    let window = json!({"title": "x", "starts_at": "2030-03-01T09:00:00+01:00", "ends_at": "2030-03-01T12:00:00+01:00",
        "format": "physical", "applications_close_at": "2030-02-01T10:00:00+01:00", "allocation": null});
    let res = api.post("/meetings", &window).await;
    assert_eq!(res.status(), 422, "an application window belongs to a lottery");
    assert!(res.text().await.unwrap().contains("applications_close_at"));

    let opens = Timestamp::now() + SignedDuration::from_hours(2);
    let m = meeting(&app, &token, json!({"registration_opens_at": rfc3339(opens), "capacity": 5})).await;
    let shown: Value = api.json(&format!("/meetings/{m}")).await;
    assert_eq!(shown["allocation"], "first_come");
    assert!(shown["registration_opens_at"].is_string());
    let people = invite(&app, m, "p", 1, 1).await;
    let rsvp = &people[0].0;

    let page = app.get(&format!("/rsvp/{rsvp}")).await.text().await.unwrap();
    assert!(page.contains("Tilmeldingen er ikke åbnet endnu"), "{page}");
    assert!(!page.contains(r#"name="answer""#), "no answer form before the opening");
    let res = app.rsvp(rsvp, "yes").await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("Tilmeldingen er ikke åbnet endnu"));
    let res = app.rsvp(rsvp, "no").await;
    assert_eq!(res.status(), 409, "a no waits for the opening too");
    let registered = registrations(&app, &token, m).await;
    assert_eq!(registered[0]["status"], "invited", "nothing was recorded");
    assert!(registered[0]["answered_at"].is_null());

    // The opening time comes (moved, rather than waited for).
    let res = api
        .patch(
            &format!("/meetings/{m}"),
            &json!({"registration_opens_at": rfc3339(Timestamp::now() - SignedDuration::from_mins(1))}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = app.get(&format!("/rsvp/{rsvp}")).await.text().await.unwrap();
    assert!(page.contains(r#"name="answer""#), "the form is offered once open");
    let res = app.rsvp(rsvp, "yes").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Du er tilmeldt"));
    assert_eq!(registrations(&app, &token, m).await[0]["status"], "attending");
    app.stop().await;
}
both_engines!(a_meeting_with_a_future_opening_time_refuses_answers_before_it_and_takes_them_after);

async fn a_lottery_draws_ten_of_forty_within_two_per_organisation_reproducibly_and_tells_everyone(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    let api = app.api(&token);
    let close = Timestamp::now() + SignedDuration::from_hours(24 * 7);
    let m = meeting(
        &app,
        &token,
        json!({"capacity": 10, "per_organisation_limit": 2, "allocation": "lottery",
            "applications_close_at": rfc3339(close)}),
    )
    .await;
    let people = invite(&app, m, "p", 40, 8).await;

    let page = app.get(&format!("/rsvp/{}", people[0].0)).await.text().await.unwrap();
    assert!(page.contains("Pladserne fordeles ved lodtrækning"), "the page says seats are drawn");
    for (rsvp, _) in &people {
        let res = app.rsvp(rsvp, "yes").await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("Din ansøgning er modtaget"));
    }
    let registered = registrations(&app, &token, m).await;
    assert!(
        registered.iter().all(|r| r["status"] == "waitlisted" && r["waitlist_position"].is_null()),
        "applications only"
    );
    let applied = smtp.wait_for(40, 30).await;
    assert_eq!(applied.len(), 40);
    assert!(applied.iter().all(|msg| msg.subject().starts_with("Vi har modtaget din ansøgning om en plads")));

    let res = api.act(&format!("/meetings/{m}/allocate")).await;
    assert_eq!(res.status(), 200);
    let drawn: Value = res.json().await.unwrap();
    let ids =
        |v: &Value| -> Vec<String> { v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect() };
    let (seated, waitlist) = (ids(&drawn["seated"]), ids(&drawn["waitlist"]));
    assert_eq!((seated.len(), waitlist.len()), (10, 30));
    assert_eq!(api.act(&format!("/meetings/{m}/allocate")).await.status(), 409, "a lottery is drawn once");

    let registered = registrations(&app, &token, m).await;
    let attending: Vec<&Value> = registered.iter().filter(|r| r["status"] == "attending").collect();
    assert_eq!(attending.len(), 10);
    for org in 0..8 {
        let n = attending.iter().filter(|r| r["organisation"] == format!("Firma {org}")).count();
        assert!(n <= 2, "Firma {org} has {n} seats");
    }
    for (place, id) in (1..).zip(&waitlist) {
        let r = registered.iter().find(|r| r["id"] == id.as_str()).unwrap();
        assert_eq!((r["status"].as_str(), r["waitlist_position"].as_i64()), (Some("waitlisted"), Some(place)));
    }

    // Anyone with the recorded seed and the applicants makes the same draw.
    let shown: Value = api.json(&format!("/meetings/{m}")).await;
    assert_eq!(shown["draw_seed"], drawn["seed"]);
    assert!(shown["drawn_at"].is_string());
    let seed = DrawSeed::parse(drawn["seed"].as_str().unwrap()).unwrap();
    let applicants: Vec<Applicant<String, String>> = registered
        .iter()
        .map(|r| Applicant {
            id: r["id"].as_str().unwrap().to_owned(),
            organisation: Some(r["organisation"].as_str().unwrap().to_owned()),
            track: None,
        })
        .collect();
    let limits = DrawLimits {
        capacity: Some(10),
        per_organisation: Some(2),
        track_capacity: std::collections::HashMap::new(),
        seated: vec![],
    };
    let again = draw(applicants, &limits, &seed);
    assert_eq!((again.seated, again.waitlist), (seated.clone(), waitlist.clone()), "the same draw from the same seed");

    // Every applicant is told: a seat with its calendar file, or a number on the waiting list.
    let all = smtp.wait_for(80, 60).await;
    assert_eq!(all.len(), 80);
    for (_, email) in &people {
        let mine: Vec<_> = all[40..].iter().filter(|msg| msg.is_to(email)).collect();
        assert_eq!(mine.len(), 1, "{email} is told once");
        let reg = registered.iter().find(|r| r["email"] == email.as_str()).unwrap();
        if reg["status"] == "attending" {
            assert!(mine[0].subject().starts_with("Du er tilmeldt"));
            assert!(mine[0].calendar().contains("BEGIN:VEVENT"));
        } else {
            let place = reg["waitlist_position"].as_i64().unwrap();
            assert!(mine[0].subject().starts_with("Du er på venteliste"));
            assert!(mine[0].plain().contains(&format!("Du er nr. {place} på ventelisten")), "{}", mine[0].plain());
        }
    }

    let res = api.patch(&format!("/meetings/{m}"), &json!({"allocation": "first_come"})).await;
    assert_eq!(res.status(), 422, "the draw stands");

    // Answers after the draw go first come onto the waiting list.
    let late = invite(&app, m, "late", 1, 1).await;
    let res = app.rsvp(&late[0].0, "yes").await;
    assert!(res.text().await.unwrap().contains("på ventelisten som nr. 31"));
    app.stop().await;
}
both_engines!(a_lottery_draws_ten_of_forty_within_two_per_organisation_reproducibly_and_tells_everyone);

async fn a_lottery_draws_by_itself_when_its_application_window_closes(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "org@forum.example", Role::Organiser).await;
    let close = Timestamp::now() + SignedDuration::from_hours(24);
    let m =
        meeting(&app, &token, json!({"capacity": 2, "allocation": "lottery", "applications_close_at": rfc3339(close)}))
            .await;
    for (rsvp, _) in invite(&app, m, "p", 3, 3).await {
        assert_eq!(app.rsvp(&rsvp, "yes").await.status(), 200);
    }
    // The window closes (moved, rather than waited for).
    let past = db_time(Timestamp::now() - SignedDuration::from_secs(1));
    app.db.update_by_id("update meeting set applications_close_at = $1 where id = $2", past, m.uuid()).await;
    let api = app.api(&token);
    let path = format!("/meetings/{m}");
    common::eventually("the draw", 30, || api.json(&path), |m| m["drawn_at"].is_string()).await;
    let registered = registrations(&app, &token, m).await;
    assert_eq!(registered.iter().filter(|r| r["status"] == "attending").count(), 2);
    assert_eq!(registered.iter().filter(|r| r["waitlist_position"] == 1).count(), 1);
    app.stop().await;
}
both_engines!(a_lottery_draws_by_itself_when_its_application_window_closes);

async fn a_move_on_the_waiting_list_asks_for_a_reason_kept_with_the_meeting_and_in_the_audit_log(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "org@forum.example", Role::Organiser).await;
    let m = meeting(&app, &token, json!({"capacity": 1})).await;
    let people = invite(&app, m, "p", 3, 3).await;
    for (rsvp, _) in &people {
        assert_eq!(app.rsvp(rsvp, "yes").await.status(), 200);
    }
    let waiting = || async {
        let regs = registrations(&app, &token, m).await;
        regs.into_iter()
            .filter(|r| r["status"] == "waitlisted")
            .map(|r| r["email"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(waiting().await, [people[1].1.clone(), people[2].1.clone()]);
    let last = registrations(&app, &token, m).await.into_iter().find(|r| r["email"] == people[2].1.as_str()).unwrap();
    let last = last["id"].as_str().unwrap().to_owned();

    // The API asks for the reason, and changes nothing without it.
    let api = app.api(&token);
    let res = api.post(&format!("/meetings/{m}/waitlist"), &json!({"order": [last], "reason": null})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.text().await.unwrap().contains("reason"));
    assert_eq!(waiting().await, [people[1].1.clone(), people[2].1.clone()], "nothing moved");

    // The page asks in a confirm step, and keeps what was typed when it refuses.
    let organiser = app.sign_in("org@forum.example").await;
    let path = format!("/admin/meetings/{m}/waitlist/{last}");
    let html = common::text(organiser.post(&path, &[("to", "top")]).await, 200).await;
    common::assert_has(&html, &["Begrundelse (påkrævet)", r#"name="message""#]);
    let res = organiser.post(&path, &[("to", "top"), ("confirm", "yes"), ("message", "  ")]).await;
    let html = common::text(res, 422).await;
    common::assert_has(&html, &[r#"id="message-error""#, "Skriv en begrundelse."]);
    assert_eq!(waiting().await, [people[1].1.clone(), people[2].1.clone()], "nothing moved");
    let res =
        organiser.post(&path, &[("to", "top"), ("confirm", "yes"), ("message", "Oplægsholder fra Firma 2")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(waiting().await, [people[2].1.clone(), people[1].1.clone()]);

    // The meeting's record shows the change, its reason and who made it; so does the audit log.
    let html = common::text(organiser.get(&format!("/admin/meetings/{m}/registrations")).await, 200).await;
    common::assert_has(&html, &["Flyttet øverst på ventelisten", "Oplægsholder fra Firma 2"]);
    assert!(!html.contains("org@forum.example"), "the organiser's address is masked");
    let audited = app.db.strings("select detail from audit_log where action = 'waitlist.move' order by id").await;
    assert_eq!(audited, ["top; reason: Oplægsholder fra Firma 2"]);
    app.stop().await;
}
both_engines!(a_move_on_the_waiting_list_asks_for_a_reason_kept_with_the_meeting_and_in_the_audit_log);

async fn the_meeting_form_takes_an_opening_time_and_a_lottery_with_each_mistake_by_its_field(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let organiser = app.sign_in_as("org@forum.example", Role::Organiser).await;
    let form = |allocation: &'static str, close: &'static str| {
        vec![
            ("title", "Markedsdialog om AI"),
            ("starts_at", "2030-03-01T09:00"),
            ("ends_at", "2030-03-01T12:00"),
            ("format", "physical"),
            ("registration_opens_at", "2030-02-01T10:00"),
            ("allocation", allocation),
            ("applications_close_at", close),
        ]
    };
    let html = common::text(organiser.post("/admin/meetings/new", &form("lottery", "")).await, 422).await;
    assert!(html.contains(r#"id="applications_close_at-error""#), "{html}");
    assert!(html.contains("Et møde med lodtrækning skal have en ansøgningsfrist."));
    assert!(html.contains(r#"value="2030-02-01T10:00""#), "what was typed is kept");
    let html =
        common::text(organiser.post("/admin/meetings/new", &form("first_come", "2030-02-10T10:00")).await, 422).await;
    assert!(html.contains("Kun et møde med lodtrækning har en ansøgningsfrist."));
    let html =
        common::text(organiser.post("/admin/meetings/new", &form("lottery", "2030-01-10T10:00")).await, 422).await;
    assert!(html.contains("Ansøgningsfristen skal ligge efter åbningen."));

    let res = organiser.post("/admin/meetings/new", &form("lottery", "2030-02-10T10:00")).await;
    assert_eq!(res.status(), 303);
    let id: MeetingId =
        res.headers()["location"].to_str().unwrap().trim_start_matches("/admin/meetings/").parse().unwrap();
    let m = app.store().meeting(id).await.unwrap();
    assert_eq!(m.seating.allocation.as_str(), "lottery");
    assert_eq!(m.seating.registration_opens_at.unwrap().to_string(), "2030-02-01T09:00:00Z");
    assert_eq!(m.seating.applications_close_at.unwrap().to_string(), "2030-02-10T09:00:00Z");
    let html = organiser.page(&format!("/admin/meetings/{id}")).await;
    assert!(html.contains(r#"id="allocation-lottery" name="allocation" value="lottery" checked"#), "{html}");
    app.stop().await;
}
both_engines!(the_meeting_form_takes_an_opening_time_and_a_lottery_with_each_mistake_by_its_field);
