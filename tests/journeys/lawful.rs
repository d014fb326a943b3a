//! Lists that stay clean and lawful: an address whose owner left the list or
//! was erased stays off it (import, an organiser's add, a colleague's
//! pass-on) until the person signs up again themselves.

use crate::common;

use common::{Engine, TestApp};
use dialogforum::domain::{MeetingId, Role};
use serde_json::{Value, json};

/// Imports `csv` through the API and returns the report.
async fn import(app: &TestApp, token: &str, csv: &str) -> Value {
    let res = app
        .http
        .post(app.url("/api/v1/subscribers/import"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Adds a person through the API and returns the answer.
async fn add(app: &TestApp, token: &str, email: &str, name: &str) -> reqwest::Response {
    app.api(token)
        .post("/subscribers", &json!({"email": email, "name": name, "organisation": "Blixtoft Rådgivning"}))
        .await
}

async fn erased_and_unsubscribed_addresses_stay_off_the_list_until_the_person_signs_up_again(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "secretariat@forum.example").await;
    let karen: Value = add(&app, &token, "karen@blixtoft.example", "Karen Blixtoft").await.json().await.unwrap();
    let bo: Value = add(&app, &token, "bo@blixtoft.example", "Bo Blixtoft").await.json().await.unwrap();

    // Karen is erased; Bo leaves the list.
    let karen_url = app.url(&format!("/api/v1/subscribers/{}", karen["id"].as_str().unwrap()));
    let res = app.http.delete(&karen_url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .api(&token)
        .patch(&format!("/subscribers/{}", bo["id"].as_str().unwrap()), &json!({"status": "unsubscribed"}))
        .await;
    assert_eq!(res.status(), 200);

    // An old spreadsheet with both of them in it, in other case and spacing.
    let csv = "email,name,organisation\r\n KAREN@Blixtoft.example ,Karen Blixtoft,Blixtoft Rådgivning\r\n\
               anna@nordlys-it.example,Anna Bøgh,Nordlys IT A/S\r\n\
               Bo@blixtoft.example,Bo Blixtoft,Blixtoft Rådgivning\r\n\
               not-an-address,X,Y\r\n";
    let report = import(&app, &token, csv).await;
    assert_eq!((report["imported"].as_i64(), report["already_known"].as_i64()), (Some(1), Some(0)), "{report}");
    let rejected = report["rejected"].as_array().unwrap();
    let lines: Vec<i64> = rejected.iter().map(|r| r["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, [2, 4, 5], "every reject by its line, in order: {report}");
    let reason = |i: usize| rejected[i]["reason"].as_str().unwrap().to_owned();
    assert!(reason(0).contains("was erased") && reason(0).contains("own confirmed sign-up"), "{report}");
    assert!(reason(1).contains("asked not to be contacted"), "{report}");
    assert!(reason(2).starts_with("email"), "{report}");

    // An organiser's own add is refused with the reason too.
    for (email, words) in
        [("karen@blixtoft.example", "was erased"), ("bo@blixtoft.example", "asked not to be contacted")]
    {
        let res = add(&app, &token, email, "Someone").await;
        assert_eq!(res.status(), 409, "{email}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem: Value = res.json().await.unwrap();
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.starts_with("email: ") && detail.contains(words), "{problem}");
    }

    // A colleague cannot pass an invitation on to the erased address.
    let meeting = json!({"title": "Markedsdialog", "starts_at": "2030-03-01T09:00:00+01:00",
        "ends_at": "2030-03-01T12:00:00+01:00", "format": "virtual", "online_url": "https://meet.example/df"});
    let meeting: MeetingId = app.api(&token).published_meeting(&meeting).await.parse().unwrap();
    let ole = app.confirmed_person("ole@blixtoft.example", "Ole Blixtoft", "Blixtoft Rådgivning").await;
    let (_, rsvp) = common::invite_person(app.store(), meeting, ole).await;
    assert_eq!(app.rsvp(&rsvp, "yes").await.status(), 200);
    for colleague in ["karen@blixtoft.example", "bo@blixtoft.example"] {
        let res = app
            .post_form(
                &format!("/rsvp/{rsvp}/colleague"),
                &[("colleague_name", "Kollega"), ("colleague_email", colleague)],
            )
            .await;
        assert_eq!(res.status(), 409, "{colleague}");
        assert!(res.text().await.unwrap().contains(r#"id="colleague_email-error""#));
    }

    // Karen signs up again herself and confirms: the address is hers to use again.
    app.sign_up("karen@blixtoft.example", "Karen Blixtoft", "Blixtoft Rådgivning").await;
    let mail = smtp.wait_for_mail("Karen's confirmation", |m| m.to == ["karen@blixtoft.example"]).await;
    let report = import(&app, &token, "email,name,organisation\r\nkaren@blixtoft.example,Karen,X\r\n").await;
    assert_eq!(report["rejected"].as_array().unwrap().len(), 1, "not before she confirms: {report}");
    let res = app.http.post(app.local(&mail.link("/confirm/"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let report = import(&app, &token, "email,name,organisation\r\nkaren@blixtoft.example,Karen,X\r\n").await;
    assert_eq!(report["already_known"], 1, "{report}");
    assert!(report["rejected"].as_array().unwrap().is_empty(), "{report}");
    let found: Value = app.api(&token).json("/subscribers?q=karen").await;
    assert_eq!(found["items"][0]["status"], "confirmed");

    // Bo is still kept off.
    let report = import(&app, &token, "email,name,organisation\r\nbo@blixtoft.example,Bo,X\r\n").await;
    assert_eq!(report["rejected"].as_array().unwrap().len(), 1, "{report}");

    // The privacy notice says what is kept, and why.
    let privacy = common::text(app.get("/privacy").await, 200).await;
    assert!(privacy.contains("En envejskode (SHA-256) af din e-mailadresse"), "{privacy}");
    app.stop().await;
}
both_engines!(erased_and_unsubscribed_addresses_stay_off_the_list_until_the_person_signs_up_again);

async fn a_persons_own_data_lists_when_organisers_read_or_exported_it_but_not_who(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "secretariat@forum.example").await;
    let karen: Value = add(&app, &token, "karen@blixtoft.example", "Karen Blixtoft").await.json().await.unwrap();
    let id = karen["id"].as_str().unwrap().to_owned();

    // An organiser opens her page, and the list is exported with her on it.
    let organiser = app.sign_in("secretariat@forum.example").await;
    assert!(organiser.page(&format!("/admin/people/{id}")).await.contains("Karen Blixtoft"));
    let csv = app.api(&token).get("/subscribers.csv").await;
    assert_eq!(csv.status(), 200);
    assert!(csv.text().await.unwrap().contains("karen@blixtoft.example"));
    // Someone who joins later was not in that export.
    let later = app.confirmed_person("lea@blixtoft.example", "Lea Blixtoft", "Blixtoft Rådgivning").await;
    assert!(app.store().personal_data(later).await.unwrap().reads.is_empty());

    // Karen asks for her own data.
    assert_eq!(app.post_form("/me", &[("email", "karen@blixtoft.example")]).await.status(), 200);
    let mail = smtp.wait_for_mail("Karen's profile link", |m| m.to == ["karen@blixtoft.example"]).await;
    let me = mail.link_path("/me/");
    let page = common::text(app.get(&format!("{me}/data")).await, 200).await;
    assert!(page.contains("Hvornår organisatorerne så eller eksporterede dine data"), "{page}");
    assert!(page.contains("En organisator så dine oplysninger."), "{page}");
    assert!(page.contains("Mailinglisten blev eksporteret, mens du var på den."), "{page}");
    let csv = common::text(app.get(&format!("{me}/data.csv")).await, 200).await;
    assert!(csv.contains("Mailinglisten blev eksporteret, mens du var på den."), "{csv}");
    let json = common::text(app.get(&format!("{me}/data.json")).await, 200).await;
    let data: Value = serde_json::from_str(&json).unwrap();
    let actions: Vec<&str> = data["reads"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["person.view", "export.subscribers"], "{json}");

    // Which organiser it was is not said on the page, in the spreadsheet or in the reads.
    let email = dialogforum::domain::Email::parse("secretariat@forum.example").unwrap();
    let (account, _) = app.store().user_for_login(&email).await.unwrap().unwrap();
    let account_id = account.id.to_string();
    let reads = data["reads"].to_string();
    for text in [&page, &csv, &reads] {
        for needle in ["secretariat", "s***@forum.example", account_id.as_str()] {
            assert!(!text.contains(needle), "{needle} in:\n{text}");
        }
    }

    // In English too.
    let http = common::client();
    assert!(http.get(app.url("/lang/en")).send().await.unwrap().status().is_redirection());
    let page = http.get(app.url(&format!("{me}/data"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("When organisers viewed or exported your data"), "{page}");
    assert!(page.contains("An organiser viewed your details."), "{page}");
    assert!(page.contains("The mailing list was exported while you were on it."), "{page}");
    app.stop().await;
}
both_engines!(a_persons_own_data_lists_when_organisers_read_or_exported_it_but_not_who);

/// A meeting two days past with four tracks, whose evaluation was answered
/// by four people in one track, three in another and two in each of the
/// last two; returns the meeting and how many answered.
pub(crate) async fn answered_in_tracks(
    app: &TestApp,
    smtp: &common::smtp::SmtpServer,
    token: &str,
) -> (MeetingId, usize) {
    let start = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48);
    let body = json!({"title": "Markedsdialog om sikkerhed", "starts_at": start.to_string(),
        "ends_at": (start + jiff::SignedDuration::from_hours(3)).to_string(), "format": "physical", "venue": "KL-huset",
        "tracks": [{"key": "ai", "title": "Kunstig intelligens"}, {"key": "green", "title": "Grøn it"},
                   {"key": "cyber", "title": "Cybersikkerhed"}, {"key": "data", "title": "Data"}]});
    let meeting: MeetingId = app.api(token).published_meeting(&body).await.parse().unwrap();
    let seats = [("ai", 4), ("green", 3), ("cyber", 2), ("data", 2)];
    let mut n = 0;
    for (track, count) in seats {
        for _ in 0..count {
            n += 1;
            seated(app, meeting, n, Some(track)).await;
        }
    }
    let res = app.api(token).post(&format!("/meetings/{meeting}/evaluation/send"), &json!({})).await;
    assert_eq!(res.status(), 202);
    let mails = smtp.wait_for(n, 20).await;
    for (i, mail) in mails.iter().enumerate() {
        let path = mail.link_path("/evaluation/");
        let rating = if i % 2 == 0 { "5" } else { "4" };
        let comment = format!("Kommentar nummer {}", i + 1);
        assert_eq!(app.post_form(&path, &[("q-overall", rating), ("q-comments", &comment)]).await.status(), 200);
    }
    (meeting, n)
}

async fn a_track_with_fewer_answers_than_the_minimum_is_hidden_in_the_results(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[("evaluation.breakdown_minimum", "3")]).await;
    let token = common::api_token(&app, "secretariat@forum.example", Role::Organiser).await;
    let (meeting, n) = answered_in_tracks(&app, &smtp, &token).await;

    // The API: the two small tracks say only that they are hidden.
    let r = app.api(&token).json(&format!("/meetings/{meeting}/evaluation/results")).await;
    assert_eq!(r["responses"], n, "{r}");
    assert_eq!(r["breakdown_minimum"], 3);
    let group = |key: &str| r["by_track"].as_array().unwrap().iter().find(|g| g["key"] == key).unwrap().clone();
    assert_eq!((group("ai")["hidden"].as_bool(), group("ai")["responses"].as_i64()), (Some(false), Some(4)), "{r}");
    assert_eq!(group("green")["responses"], 3, "a group of exactly the minimum is shown: {r}");
    assert!(group("green")["averages"][0]["average"].is_f64(), "{r}");
    for small in ["cyber", "data"] {
        let g = group(small);
        assert_eq!(g["hidden"], true, "{r}");
        assert!(g["responses"].is_null() && g["averages"].as_array().unwrap().is_empty(), "{r}");
    }

    // The organiser's page and the export.
    let organiser = app.sign_in("secretariat@forum.example").await;
    let page = organiser.page(&format!("/admin/meetings/{meeting}/evaluation/results")).await;
    common::assert_has(&page, &["Svar fordelt på spor", "Kunstig intelligens"]);
    assert_eq!(page.matches("skjult: færre end 3 svar").count(), 2, "{page}");
    let csv = app.api(&token).get(&format!("/meetings/{meeting}/evaluation/results.csv")).await;
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.matches("skjult: færre end 3 svar").count(), 2, "{csv}");
    assert!(csv.contains("Spor: Grøn it"), "{csv}");

    // In English too.
    assert!(organiser.get("/lang/en").await.status().is_redirection());
    let page = organiser.page(&format!("/admin/meetings/{meeting}/evaluation/results")).await;
    common::assert_has(&page, &["Answers by track", "Kunstig intelligens"]);
    assert_eq!(page.matches("hidden: fewer than 3 answers").count(), 2, "{page}");
    app.stop().await;
}
both_engines!(a_track_with_fewer_answers_than_the_minimum_is_hidden_in_the_results);

async fn free_text_answers_can_be_held_until_an_organiser_has_read_them(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "secretariat@forum.example").await;
    let start = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48);
    let body = json!({"title": "Markedsdialog om data", "starts_at": start.to_string(),
        "ends_at": (start + jiff::SignedDuration::from_hours(3)).to_string(), "format": "physical", "venue": "KL-huset"});
    let meeting: MeetingId = app.api(&token).published_meeting(&body).await.parse().unwrap();
    for n in 1..=2 {
        seated(&app, meeting, n, None).await;
    }
    let organiser = app.sign_in("secretariat@forum.example").await;
    let texts = format!("/admin/meetings/{meeting}/evaluation/texts");
    let res = organiser.post(&format!("{texts}/hold"), &[("hold", "yes")]).await;
    assert_eq!(res.status(), 303);
    let res = app.api(&token).post(&format!("/meetings/{meeting}/evaluation/send"), &json!({})).await;
    assert_eq!(res.status(), 202);
    let mails = smtp.wait_for(2, 20).await;
    for (mail, comment) in mails.iter().zip(["Anna fra Nordlys talte for længe", "Godt møde"]) {
        let path = mail.link_path("/evaluation/");
        assert_eq!(app.post_form(&path, &[("q-overall", "5"), ("q-comments", comment)]).await.status(), 200);
    }

    // Nothing of what was written shows before it is read.
    let results = format!("/meetings/{meeting}/evaluation/results");
    let comments = |r: &Value| {
        r["questions"].as_array().unwrap().iter().find(|q| q["key"] == "comments").unwrap()["texts"].clone()
    };
    let r = app.api(&token).json(&results).await;
    assert_eq!((comments(&r), r["texts_held"].as_i64()), (json!([]), Some(2)), "{r}");
    let page = organiser.page(&format!("/admin/meetings/{meeting}/evaluation/results")).await;
    assert!(page.contains("2 fritekstsvar venter på at blive læst") && !page.contains("Godt møde"), "{page}");

    // The organiser reads both and releases one.
    let review = organiser.page(&texts).await;
    common::assert_has(&review, &["Anna fra Nordlys talte for længe", "Godt møde"]);
    let after = &review[review.find("Godt møde").unwrap()..];
    let at = after.find(r#"name="response" value=""#).unwrap() + r#"name="response" value=""#.len();
    let response: String = after[at..].chars().take_while(|c| *c != '"').collect();
    let res = organiser.post(&format!("{texts}/release"), &[("response", &response), ("key", "comments")]).await;
    assert_eq!(res.status(), 303);
    let r = app.api(&token).json(&results).await;
    assert_eq!((comments(&r), r["texts_held"].as_i64()), (json!(["Godt møde"]), Some(1)), "{r}");
    let csv = app.api(&token).get(&format!("{results}.csv")).await.text().await.unwrap();
    assert!(csv.contains("Godt møde") && !csv.contains("Anna fra Nordlys"), "{csv}");
    let review = organiser.page(&texts).await;
    assert!(!review.contains("Godt møde") && review.contains("Anna fra Nordlys"), "{review}");
    let viewer = app.sign_in_as("viewer@forum.example", Role::Viewer).await;
    assert_eq!(viewer.get(&texts).await.status(), 403, "a viewer does not read what is held");

    // Not holding them any more shows everything.
    assert_eq!(organiser.post(&format!("{texts}/hold"), &[]).await.status(), 303);
    let r = app.api(&token).json(&results).await;
    assert_eq!(comments(&r).as_array().unwrap().len(), 2, "{r}");
    app.stop().await;
}
both_engines!(free_text_answers_can_be_held_until_an_organiser_has_read_them);

/// Member `n` (`p{n}@firma{n}.example`, of Firma n) with a seat at `meeting`, on `track` if given.
async fn seated(app: &TestApp, meeting: MeetingId, n: usize, track: Option<&str>) {
    let email = format!("p{n}@firma{n}.example");
    let person = app.confirmed_person(&email, &format!("Deltager {n}"), &format!("Firma {n}")).await;
    let (reg, _) = common::invite_person(app.store(), meeting, person).await;
    let sql = "update registration set status = 'attending', track_key = $1 where id = $2";
    on_db!(app.db, |pool| {
        sqlx::query(sql).bind(track).bind(reg.uuid()).execute(&pool).await.unwrap();
    });
}
