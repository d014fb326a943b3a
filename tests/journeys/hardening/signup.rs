//! What anonymous visitors can do to what is stored about a person: a
//! sign-up for someone known (a guest, someone who left, a bounced address)
//! changes nothing until its link is used, retention purges requests rather
//! than people, and a used confirmation link answers "already confirmed".

use crate::common::PostForm as _;
use dialogforum::domain::{Email, Name, PersonStatus};
use dialogforum::store::people::{NewPerson, insert_person_if_new};

use crate::common::smtp::{Received, SmtpServer};
use crate::common::{self, Engine, TestApp};

/// The first link in the text part whose path starts with `prefix`, as a URL on the test server.
fn local_link(app: &TestApp, m: &Received, prefix: &str) -> String {
    let parsed = mail_parser::MessageParser::default().parse(&m.data).expect("MIME");
    let text = parsed.body_text(0).expect("a text part").into_owned();
    let at = text.find(prefix).unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
    let path = text[at..].split_whitespace().next().unwrap().to_owned();
    format!("{}{path}", app.base)
}

/// The person's status, name and organisation as stored.
async fn stored(app: &TestApp, email: &str) -> (String, String, String) {
    on_db!(app.db, |pool| sqlx::query_as(
        "select p.status, p.name, coalesce(o.name, '') from person p \
         left join organisation o on o.id = p.organisation_id where p.email = $1"
    )
    .bind(email)
    .fetch_one(&pool)
    .await
    .unwrap())
}

async fn a_used_confirmation_link_says_already_confirmed_and_changes_nothing(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    app.sign_up("soren@nordlys-it.example", "Søren Ærø", "Nordlys IT A/S").await;
    let mail = smtp.wait_for(1, 10).await;
    let confirm = local_link(&app, &mail[0], "/confirm/");
    let res = app.http.post(&confirm).send().await.unwrap();
    assert!(res.text().await.unwrap().contains("Du er nu på listen"));
    let before = stored(&app, "soren@nordlys-it.example").await;
    assert_eq!(before.0, "confirmed");

    // Someone who got hold of the used link tries it again, with another organisation.
    let res = app.http.post_form(&confirm, &[("organisation", "Angriber ApS")]).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("Allerede bekræftet") && !page.contains("Du er nu på listen"), "{page}");
    let page = app.http.get(&confirm).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Allerede bekræftet"), "{page}");
    assert_eq!(stored(&app, "soren@nordlys-it.example").await, before, "nothing changed");
    app.stop().await;
}
both_engines!(a_used_confirmation_link_says_already_confirmed_and_changes_nothing);

/// Puts a person on record the way the service would: a guest from a
/// meeting, or someone who later left or whose address bounced.
async fn known_person(app: &TestApp, email: &str, name: &str, organisation: &str, status: PersonStatus) {
    let mut tx = app.store().begin().await.unwrap();
    let person = NewPerson {
        email: Email::parse(email).unwrap(),
        name: Name::parse(name).unwrap(),
        organisation: Some(Name::parse(organisation).unwrap()),
        status: PersonStatus::Guest,
        interests: Vec::new(),
    };
    insert_person_if_new(&mut tx, &person, None).await.unwrap();
    tx.commit().await.unwrap();
    // The status a person reaches later, set a day ago.
    let day_ago = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24)).as_microsecond();
    on_db!(app.db, |pool| sqlx::query(
        "update person set status = $2, created_at = $3, updated_at = $3 where email = $1"
    )
    .bind(email)
    .bind(status.as_str())
    .bind(day_ago)
    .execute(&pool)
    .await
    .unwrap()
    .rows_affected());
}

/// The app with mail, where the address of `known` is already Karen Kommune
/// of Kommunernes IT with the status given there; returns the address too.
async fn karen_known_as(engine: Engine, known: (&'static str, PersonStatus)) -> (TestApp, SmtpServer, &'static str) {
    let (email, status) = known;
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    known_person(&app, email, "Karen Kommune", "Kommunernes IT", status).await;
    (app, smtp, email)
}

const KNOWN: [(&str, PersonStatus); 3] = [
    ("gaest@kommune.example", PersonStatus::Guest),
    ("tidligere@kommune.example", PersonStatus::Unsubscribed),
    ("afvist@kommune.example", PersonStatus::Bounced),
];

async fn a_strangers_sign_up_for_a_known_person_changes_nothing_and_is_purged_as_a_request(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    for (email, status) in KNOWN {
        known_person(&app, email, "Karen Kommune", "Kommunernes IT", status).await;
    }
    let before = [stored(&app, KNOWN[0].0).await, stored(&app, KNOWN[1].0).await, stored(&app, KNOWN[2].0).await];
    assert_eq!(before[2], ("bounced".to_owned(), "Karen Kommune".to_owned(), "Kommunernes IT".to_owned()));

    for (email, _) in KNOWN {
        app.sign_up(email, "Angriber", "Angriber ApS").await;
    }
    // Each address gets its confirmation: its owner may want to join.
    let mail = smtp.wait_for(3, 10).await;
    for (email, _) in KNOWN {
        assert!(mail.iter().any(|m| m.to.iter().any(|r| r == email)), "no confirmation to {email}");
    }
    for ((email, _), was) in KNOWN.iter().zip(&before) {
        assert_eq!(&stored(&app, email).await, was, "{email} was changed by an unconfirmed sign-up");
    }

    // The hourly purge, with every request counted as stale: people stay.
    dialogforum::store::retention::purge(app.store(), 0u64).await.unwrap();
    for ((email, _), was) in KNOWN.iter().zip(&before) {
        assert_eq!(&stored(&app, email).await, was, "{email} was purged or changed");
    }
    let requests = app.db.count("select count(*) from signup_request").await;
    assert_eq!(requests, 0, "the stale requests are purged");
    // And their links are gone with them.
    let confirm = local_link(&app, &mail[0], "/confirm/");
    let res = app.http.post(&confirm).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(&stored(&app, KNOWN[0].0).await, &before[0]);
    app.stop().await;
}
both_engines!(a_strangers_sign_up_for_a_known_person_changes_nothing_and_is_purged_as_a_request);

async fn a_bounced_address_gets_one_confirmation_and_only_confirming_lifts_the_suppression(engine: Engine) {
    let (app, smtp, email) = karen_known_as(engine, KNOWN[2]).await;

    app.sign_up(email, "Karen Kommune", "Kommunernes IT").await;
    app.sign_up(email, "Karen Kommune", "Kommunernes IT").await;
    app.sign_up(email, "Karen Kommune", "Kommunernes IT").await;
    let mail = smtp.wait_for(1, 10).await;
    assert_eq!(mail.len(), 1);
    let queued: i64 = on_db!(app.db, |pool| sqlx::query_scalar("select count(*) from outbox where recipient = $1")
        .bind(email)
        .fetch_one(&pool)
        .await
        .unwrap());
    assert_eq!(queued, 1, "a bounced address gets one confirmation, not one per request");
    assert_eq!(stored(&app, email).await.0, "bounced", "still suppressed until confirmed");

    let confirm = local_link(&app, &mail[0], "/confirm/");
    let page = app.http.post(&confirm).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Du er nu på listen"), "{page}");
    assert_eq!(
        stored(&app, email).await,
        ("confirmed".to_owned(), "Karen Kommune".to_owned(), "Kommunernes IT".to_owned())
    );
    app.stop().await;
}
both_engines!(a_bounced_address_gets_one_confirmation_and_only_confirming_lifts_the_suppression);

async fn confirming_applies_what_was_typed_with_the_request(engine: Engine) {
    let (app, smtp, email) = karen_known_as(engine, KNOWN[1]).await;
    app.sign_up(email, "Karen Jensen", "Digitaliseringshuset A/S").await;
    let mail = smtp.wait_for(1, 10).await;
    assert_eq!(stored(&app, email).await.1, "Karen Kommune", "unchanged before the link is used");
    let confirm = local_link(&app, &mail[0], "/confirm/");
    let page = app.http.get(&confirm).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("name=\"organisation\""), "the request named an organisation: {page}");
    app.http.post(&confirm).send().await.unwrap();
    assert_eq!(
        stored(&app, email).await,
        ("confirmed".to_owned(), "Karen Jensen".to_owned(), "Digitaliseringshuset A/S".to_owned())
    );
    // The consent it confirmed is on record, with the request's proof.
    let (confirmed, method): (Option<i64>, String) = on_db!(app.db, |pool| sqlx::query_as(
        "select c.confirmed_at, c.method from consent c join person p on p.id = c.person_id \
         where p.email = $1 and c.withdrawn_at is null"
    )
    .bind(email)
    .fetch_one(&pool)
    .await
    .unwrap());
    assert!(confirmed.is_some());
    assert_eq!(method, "web");
    app.stop().await;
}
both_engines!(confirming_applies_what_was_typed_with_the_request);

async fn an_invitation_is_not_passed_on_to_someone_who_left_or_bounced(engine: Engine) {
    let (app, smtp, api) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    let body = serde_json::json!({
        "title": "Videregivelse", "starts_at": "2030-03-01T09:00:00+01:00", "ends_at": "2030-03-01T12:00:00+01:00",
        "format": "virtual", "online_url": "https://meet.example/df", "capacity": 10
    });
    let created: serde_json::Value = app.api(&api).post("/meetings", &body).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let res = app.api(&api).act(&format!("/meetings/{id}/publish")).await;
    assert_eq!(res.status(), 200);

    known_person(&app, "inviteret@kommune.example", "Ivan Inviteret", "Kommunernes IT", PersonStatus::Confirmed).await;
    known_person(&app, "tidligere@kommune.example", "Tine Tidligere", "Kommunernes IT", PersonStatus::Unsubscribed)
        .await;
    known_person(&app, "afvist@kommune.example", "Arne Afvist", "Kommunernes IT", PersonStatus::Bounced).await;
    let invitee: uuid::Uuid = on_db!(app.db, |pool| sqlx::query_scalar("select id from person where email = $1")
        .bind("inviteret@kommune.example")
        .fetch_one(&pool)
        .await
        .unwrap());
    let person = dialogforum::domain::PersonId::from_uuid(invitee);
    let (_, token) = common::invite_person(app.store(), id.parse().unwrap(), person).await;
    let rsvp = format!("{}/rsvp/{token}/colleague", app.base);

    let mut answers = Vec::new();
    for (name, email) in [("Tine", "tidligere@kommune.example"), ("Arne", "afvist@kommune.example")] {
        let res = app.http.post_form(&rsvp, &[("colleague_name", name), ("colleague_email", email)]).await;
        assert_eq!(res.status(), 409, "{email}");
        let page = res.text().await.unwrap();
        assert!(page.contains(r#"id="colleague_email-error""#), "{page}");
        answers.push(page.split("colleague_email-error").nth(1).unwrap().split("</").next().unwrap().to_owned());
    }
    assert_eq!(answers[0], answers[1], "the same answer, whoever the address belongs to");
    assert_eq!(stored(&app, "tidligere@kommune.example").await.0, "unsubscribed");
    assert_eq!(stored(&app, "afvist@kommune.example").await.0, "bounced");
    let queued = app.db.count("select count(*) from outbox").await;
    assert_eq!(queued, 0, "nothing was mailed");
    // The invitation still works and can go to a colleague who may be mailed.
    let res = app.http.post_form(&rsvp, &[("colleague_name", "Kim"), ("colleague_email", "kim@kommune.example")]).await;
    assert_eq!(res.status(), 200);
    smtp.wait_for_mail("the colleague's invitation", |m| m.to == ["kim@kommune.example"]).await;
    smtp.wait_for_mail("the holder's confirmation", |m| m.to == ["inviteret@kommune.example"]).await;
    assert_eq!(app.delivered(&smtp).await, 2, "one mail to each, nothing to those who left or bounced");
    app.stop().await;
}
both_engines!(an_invitation_is_not_passed_on_to_someone_who_left_or_bounced);
