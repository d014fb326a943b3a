//! Registrations reduced to totals after the retention period: the annual
//! picture, the meeting's export, its registrations page, its dossier and
//! its public page read the same figures after as before, while no
//! registration, answer link or data-view entry of a former attendee is
//! left; an export after the notes are deleted carries their counts; and a
//! broken answer link's form mails a fresh one that works (an evaluation
//! link only to who has not answered), answering an unknown address the
//! same, without mail.

use crate::common;

use common::{Engine, TestApp, text};
use dialogforum::domain::{PersonId, Role, Token, TokenPurpose};
use dialogforum::store::retention::{self, Policy};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

const POLICY: Policy = Policy { pending_days: 7, audit_months: 6, sensitive_days: 30, registration_days: 1095 };

/// A person at a meeting: address, organisation and answer form.
type Guest<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// A published meeting numbered `number` with two tracks, ten days ahead (so
/// it takes answers), and the people at it: each `(email, organisation,
/// answer form)`; an empty form leaves the person invited only. Returns the
/// meeting's id and the people's ids.
async fn meeting(app: &TestApp, token: &str, number: i32, people: &[Guest<'_>]) -> (String, Vec<PersonId>) {
    let start = Timestamp::now() + SignedDuration::from_hours(24 * 10);
    let id = app
        .api(token)
        .published_meeting(&json!({
            "number": number, "title": format!("Møde nummer {number}"), "starts_at": start.to_string(),
            "ends_at": (start + SignedDuration::from_hours(3)).to_string(), "format": "physical", "venue": "KL-huset",
            "tracks": [{"key": "sikkerhed", "title": "Sikkerhed"}, {"key": "data", "title": "Data"}]
        }))
        .await;
    let mut ids = Vec::new();
    for (email, organisation, form) in people {
        let name = format!("Person {}", email.split('@').next().unwrap());
        let person = app.confirmed_person(email, &name, organisation).await;
        let (_, rsvp) = common::invite_person(app.store(), id.parse().unwrap(), person).await;
        if !form.is_empty() {
            assert_eq!(app.post_form(&format!("/rsvp/{rsvp}"), form).await.status(), 200, "{email} answers");
        }
        ids.push(person);
    }
    (id, ids)
}

/// Moves `meeting` to have ended `days` days ago, and checks in `person` then.
async fn ended(app: &TestApp, meeting: &str, days: i64, checked_in: Option<PersonId>) {
    let end = Timestamp::now() - SignedDuration::from_hours(24 * days);
    let start = end - SignedDuration::from_hours(3);
    let id: uuid::Uuid = meeting.parse().unwrap();
    on_db!(app.db, |pool| {
        sqlx::query("update meeting set starts_at = $1, ends_at = $2, registration_deadline = null where id = $3")
            .bind(start.as_microsecond())
            .bind(end.as_microsecond())
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
        if let Some(p) = checked_in {
            sqlx::query("update registration set checked_in_at = $1 where meeting_id = $2 and person_id = $3")
                .bind(start.as_microsecond())
                .bind(id)
                .bind(p.uuid())
                .execute(&pool)
                .await
                .unwrap();
        }
    });
}

/// How many rows of `table` name `meeting` in `column`.
async fn rows(app: &TestApp, table: &str, column: &str, meeting: &str) -> i64 {
    let sql = format!("select count(*) from {table} where {column} = $1");
    let id: uuid::Uuid = meeting.parse().unwrap();
    on_db!(app.db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_one(&pool).await.unwrap())
}

/// A working link to `person`'s own page.
async fn own_page(app: &TestApp, person: PersonId) -> String {
    let token = Token::generate();
    let mut tx = app.store().begin().await.unwrap();
    let expires = Some(Timestamp::now() + SignedDuration::from_hours(1));
    dialogforum::store::tokens::insert_link_token(
        &mut tx,
        &token.hash(),
        TokenPurpose::Profile,
        Some(person),
        None,
        expires,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    format!("/me/{}/data", token.expose())
}

/// The CSV download at `path` through the API, as text without its BOM.
async fn csv(app: &TestApp, token: &str, path: &str) -> String {
    let res = app.api(token).get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    String::from_utf8(res.bytes().await.unwrap().to_vec()).unwrap().trim_start_matches('\u{feff}').to_owned()
}

/// The part of `html` from `from` to the end of the table it opens.
fn table<'a>(html: &'a str, from: &str) -> &'a str {
    let at = html.find(from).unwrap_or_else(|| panic!("{from:?} in {html}"));
    &html[at..at + html[at..].find("</table>").unwrap()]
}

/// The files of the meeting's dossier whose names end in `tilmeldinger.csv`
/// or `organisationer.csv`: the registrations summarised and the listed
/// organisations.
async fn dossier_counts(organiser: &common::SignedIn, meeting: &str) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let res = organiser.get(&format!("/admin/meetings/{meeting}/dossier.zip")).await;
    assert_eq!(res.status(), 200);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(res.bytes().await.unwrap())).unwrap();
    let mut files = Vec::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        if name.ends_with("tilmeldinger.csv") || name.ends_with("organisationer.csv") {
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            files.push((name, data));
        }
    }
    assert_eq!(files.len(), 2, "{:?}", files.iter().map(|(n, _)| n).collect::<Vec<_>>());
    files
}

/// The line of `csv` that holds `what`.
fn line<'a>(csv: &'a str, what: &str) -> &'a str {
    csv.lines().find(|l| l.contains(what)).unwrap_or_else(|| panic!("a line with {what:?} in {csv}"))
}

async fn registrations_past_their_period_are_reduced_to_totals_that_read_as_before(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "org@forum.example", Role::Organiser).await;
    let yes_listed: &[(&str, &str)] = &[
        ("answer", "yes"),
        ("track", "sikkerhed"),
        ("diet", "vegetar"),
        ("access_needs", "kørestol"),
        ("list_organisation", "yes"),
    ];
    let yes: &[(&str, &str)] = &[("answer", "yes"), ("track", "data")];
    let no: &[(&str, &str)] = &[("answer", "no")];
    let (older, people) = meeting(
        &app,
        &token,
        41,
        &[
            ("dorte@alfa.example", "Alfa A/S", yes_listed),
            ("erik@beta.example", "Beta ApS", yes),
            ("frida@gamma.example", "Gamma I/S", no),
            ("gitte@delta.example", "Delta A/S", &[]),
        ],
    )
    .await;
    let (newer, _) = meeting(&app, &token, 42, &[("hans@alfa.example", "Alfa A/S", yes_listed)]).await;
    ended(&app, &older, 1096, Some(people[0])).await;
    ended(&app, &newer, 1094, None).await;

    // Before: what the organisers, the public and the former attendee see.
    let organiser = app.sign_in("org@forum.example").await;
    let (from, to) = {
        let day = |d: i64| {
            (Timestamp::now() - SignedDuration::from_hours(24 * d))
                .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Copenhagen").unwrap())
                .date()
        };
        (day(1100), day(1090))
    };
    let year = format!("/admin/year.csv?from={from}&to={to}");
    let annual = |body: String| line(&body, "Møde nummer 41").to_owned();
    let annual_before = annual(String::from_utf8(organiser.get(&year).await.bytes().await.unwrap().to_vec()).unwrap());
    assert!(annual_before.ends_with(";4;2;1;1;"), "invited, registered, attended, no-show: {annual_before}");
    let registrations = format!("/admin/meetings/{older}/registrations");
    let html = organiser.page(&registrations).await;
    let by_status_before = table(&html, "Antal pr. status").to_owned();
    let by_track_before = table(&html, "Antal pr. spor").to_owned();
    assert!(html.contains("Person dorte"), "{html}");
    let public = text(app.get("/meetings/41").await, 200).await;
    assert!(public.contains("Alfa A/S") && !public.contains("Beta ApS"), "the consenting organisation: {public}");
    let dossier_before = dossier_counts(&organiser, &older).await;
    assert!(String::from_utf8_lossy(&dossier_before[0].1).contains("Tilmeldt;2"), "{dossier_before:?}");
    let dortes_page = own_page(&app, people[0]).await;
    assert!(text(app.get(&dortes_page).await, 200).await.contains("Møde nummer 41"));

    let purged = retention::purge(app.store(), POLICY).await.unwrap();
    assert_eq!(purged.registrations, 4, "the older meeting's four registrations");
    assert_eq!(purged.registration_notes, 2, "both meetings are past the notes' 30 days");

    // No personal row is left for the older meeting; the newer one is untouched.
    assert_eq!(rows(&app, "registration", "meeting_id", &older).await, 0);
    assert_eq!(rows(&app, "registration", "meeting_id", &newer).await, 1);
    let links: i64 = on_db!(app.db, |pool| sqlx::query_scalar(
        "select count(*) from link_token where purpose = 'rsvp' and person_id = $1"
    )
    .bind(people[0].uuid())
    .fetch_one(&pool)
    .await
    .unwrap());
    assert_eq!(links, 0, "the answer links went with the registrations");
    let html = text(app.get(&dortes_page).await, 200).await;
    assert!(html.contains("Person dorte") && !html.contains("Møde nummer 41"), "{html}");

    // The same figures, from the totals.
    let annual_after = annual(String::from_utf8(organiser.get(&year).await.bytes().await.unwrap().to_vec()).unwrap());
    assert_eq!(annual_after, annual_before);
    let html = organiser.page(&registrations).await;
    assert_eq!(table(&html, "Antal pr. status"), by_status_before);
    assert_eq!(table(&html, "Antal pr. spor"), by_track_before);
    assert!(html.contains(r#"<th scope="row">Med kostønsker</th><td>1</td>"#), "{html}");
    assert!(html.contains("reduceret til tal") && !html.contains("Person dorte"), "{html}");
    let public = text(app.get("/meetings/41").await, 200).await;
    assert!(public.contains("Alfa A/S") && !public.contains("Beta ApS"), "still listed: {public}");
    assert_eq!(dossier_counts(&organiser, &older).await, dossier_before);

    // The export holds nobody, and the totals and the notes' counts.
    let export = csv(&app, &token, &format!("/meetings/{older}/participants.csv")).await;
    assert!(!export.contains("dorte") && !export.contains("Alfa"), "{export}");
    for (label, n) in [
        ("Tilmeldt", 2),
        ("Afbud", 1),
        ("Inviteret, intet svar", 1),
        ("Tjekket ind", 1),
        ("Udeblev", 1),
        ("Spor Sikkerhed: Tilmeldt", 1),
        ("Spor Data: Tilmeldt", 1),
        ("Med kostønsker", 1),
        ("Med tilgængelighedsbehov", 1),
    ] {
        assert!(export.lines().any(|l| l.starts_with(&format!("{label};{n};"))), "{label}: {n} in {export}");
    }

    // The same in XLSX, the counts as numbers.
    let res = app.api(&token).get(&format!("/meetings/{older}/participants.xlsx")).await;
    assert_eq!(res.status(), 200);
    let body = res.bytes().await.unwrap().to_vec();
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(body)).unwrap();
    let sheet = calamine::Reader::sheet_names(&book)[0].clone();
    let range = calamine::Reader::worksheet_range(&mut book, &sheet).unwrap();
    let kept: Vec<(String, f64)> = range
        .rows()
        .filter_map(|r| match (r.first(), r.get(1)) {
            (Some(calamine::Data::String(label)), Some(calamine::Data::Float(n))) => Some((label.clone(), *n)),
            _ => None,
        })
        .collect();
    assert!(kept.contains(&("Tjekket ind".to_owned(), 1.0)) && kept.contains(&("Med kostønsker".to_owned(), 1.0)));

    // The newer meeting's export: its person, the notes gone, their counts kept.
    let export = csv(&app, &token, &format!("/meetings/{newer}/participants.csv")).await;
    let hans = line(&export, "hans@alfa.example");
    assert!(!hans.contains("vegetar") && !export.contains("kørestol"), "{export}");
    assert!(export.lines().any(|l| l.starts_with("Med kostønsker;1;")), "{export}");
    assert!(export.lines().any(|l| l.starts_with("Med tilgængelighedsbehov;1;")), "{export}");
    assert!(!export.contains("reduceret"), "{export}");

    // A registration that turns up afterwards is added to the totals on the next pass.
    let late = app.confirmed_person("jonas@epsilon.example", "Jonas", "Epsilon ApS").await;
    let (reg, _) = common::invite_person(app.store(), older.parse().unwrap(), late).await;
    on_db!(app.db, |pool| {
        sqlx::query("update registration set status = 'attending', checked_in_at = $1 where id = $2")
            .bind(Timestamp::now().as_microsecond())
            .bind(reg.uuid())
            .execute(&pool)
            .await
            .unwrap();
    });
    let later = retention::purge(app.store(), POLICY).await.unwrap();
    assert_eq!(later.registrations, 1);
    assert_eq!(rows(&app, "registration", "meeting_id", &older).await, 0);
    let annual_later = annual(String::from_utf8(organiser.get(&year).await.bytes().await.unwrap().to_vec()).unwrap());
    assert!(annual_later.ends_with(";5;3;2;1;"), "{annual_later}");

    // Once: a further pass changes nothing.
    let again = retention::purge(app.store(), POLICY).await.unwrap();
    assert_eq!(again.registrations, 0);
    let annual_again = annual(String::from_utf8(organiser.get(&year).await.bytes().await.unwrap().to_vec()).unwrap());
    assert_eq!(annual_again, annual_later);
    let audited =
        app.db.count("select count(*) from audit_log where action = 'retention.reduce' and row_count = 4").await;
    assert_eq!(audited, 1);
    app.stop().await;
}
both_engines!(registrations_past_their_period_are_reduced_to_totals_that_read_as_before);

async fn the_privacy_notice_states_when_registrations_are_reduced(engine: Engine) {
    let app = TestApp::spawn_with(engine, &[("security.registration_retention_days", "730")]).await;
    let res = app.http.get(app.url("/privacy")).header("cookie", "lang=da").send().await.unwrap();
    let html = text(res, 200).await;
    assert!(html.contains("Gemmes 730 dage efter mødet. Derefter slettes tilmeldingen"), "{html}");
    let res = app.http.get(app.url("/privacy")).header("cookie", "lang=en").send().await.unwrap();
    let html = text(res, 200).await;
    assert!(html.contains("Kept 730 days after the meeting. Then the registration is deleted"), "{html}");
    assert!(!html.contains("Gemmes"), "{html}");
    app.stop().await;
}
both_engines!(the_privacy_notice_states_when_registrations_are_reduced);

async fn a_broken_answer_link_mails_a_fresh_one_and_an_unknown_address_gets_the_same_page(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    meeting(&app, &token, 43, &[("ida@alfa.example", "Alfa A/S", &[])]).await;

    // The broken link's page asks for a fresh answer link.
    let html = text(app.get("/rsvp/ikke-et-rigtigt-link").await, 404).await;
    common::assert_has(&html, &[r#"action="/rsvp""#, "nyt personligt link til at svare"]);
    let refused = text(app.post_form("/rsvp", &[("email", "ikke en adresse")]).await, 422).await;
    common::assert_has(&refused, &[r#"action="/rsvp""#, r#"aria-invalid="true""#]);

    // Known and unknown addresses get the same answer.
    let main = |html: &str| html[html.find("<main").unwrap()..html.find("</main>").unwrap()].to_owned();
    let known = text(app.post_form("/rsvp", &[("email", "ida@alfa.example")]).await, 200).await;
    let unknown = text(app.post_form("/rsvp", &[("email", "ukendt@nowhere.example")]).await, 200).await;
    assert_eq!(main(&known), main(&unknown));
    assert!(known.contains("Tjek din indbakke"), "{known}");

    // The fresh link answers the invitation, and the seat is confirmed.
    let fresh = smtp.wait_for_mail("the fresh answer link", |m| m.to == ["ida@alfa.example"]).await;
    assert!(fresh.subject().contains("Møde nummer 43"), "{}", fresh.subject());
    let path = fresh.link_path("/rsvp/");
    let answered = text(app.post_form(&path, &[("answer", "yes"), ("track", "data")]).await, 200).await;
    assert!(answered.contains("Tilmeldt"), "{answered}");
    let confirmation = smtp
        .wait_for_mail("the seat confirmation", |m| {
            m.to == ["ida@alfa.example"] && m.subject().starts_with("Du er tilmeldt")
        })
        .await;
    assert!(confirmation.subject().contains("Møde nummer 43"));

    // Nothing was queued or sent to the unknown address.
    app.outbox_settled().await;
    assert!(smtp.messages().iter().all(|m| m.to != ["ukendt@nowhere.example"]));
    let queued: i64 = on_db!(app.db, |pool| sqlx::query_scalar("select count(*) from outbox where recipient = $1")
        .bind("ukendt@nowhere.example")
        .fetch_one(&pool)
        .await
        .unwrap());
    assert_eq!(queued, 0);
    app.stop().await;
}
both_engines!(a_broken_answer_link_mails_a_fresh_one_and_an_unknown_address_gets_the_same_page);

async fn a_broken_evaluation_link_mails_a_fresh_one_only_to_who_has_not_answered(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    let start = Timestamp::now() - SignedDuration::from_hours(48);
    let body = json!({"title": "Markedsdialog om data", "starts_at": start.to_string(),
        "ends_at": (start + SignedDuration::from_hours(3)).to_string(), "format": "physical", "venue": "KL-huset"});
    let meeting = app.api(&token).published_meeting(&body).await;
    for email in ["karen@alfa.example", "lars@beta.example"] {
        let person = app.confirmed_person(email, "Deltager", "Firma A/S").await;
        let (reg, _) = common::invite_person(app.store(), meeting.parse().unwrap(), person).await;
        on_db!(app.db, |pool| {
            sqlx::query("update registration set status = 'attending' where id = $1")
                .bind(reg.uuid())
                .execute(&pool)
                .await
                .unwrap();
        });
    }
    let res = app.api(&token).post(&format!("/meetings/{meeting}/evaluation/send"), &json!({})).await;
    assert_eq!(res.status(), 202);
    let lars = smtp.wait_for_mail("Lars's evaluation", |m| m.to == ["lars@beta.example"]).await;
    let answer = [("q-overall", "5")];
    assert_eq!(app.post_form(&lars.link_path("/evaluation/"), &answer).await.status(), 200);

    let html = text(app.get("/evaluation/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await, 404).await;
    assert!(html.contains(r#"action="/evaluation""#), "{html}");
    let karen = text(app.post_form("/evaluation", &[("email", "karen@alfa.example")]).await, 200).await;
    let nobody = text(app.post_form("/evaluation", &[("email", "nobody@alfa.example")]).await, 200).await;
    let main = |html: &str| html[html.find("<main").unwrap()..html.find("</main>").unwrap()].to_owned();
    assert_eq!(main(&karen), main(&nobody));
    let fresh = smtp
        .wait_for_mail("Karen's fresh link", |m| {
            m.to == ["karen@alfa.example"] && m.subject().starts_with("Dit nye link til evalueringen")
        })
        .await;
    assert_eq!(app.post_form(&fresh.link_path("/evaluation/"), &[("q-overall", "4")]).await.status(), 200);
    let results = app.api(&token).json(&format!("/meetings/{meeting}/evaluation/results")).await;
    assert_eq!(results["responses"], 2, "{results}");

    // Lars has answered: a second link could not count, so he gets his own page's link.
    text(app.post_form("/evaluation", &[("email", "lars@beta.example")]).await, 200).await;
    let profile =
        smtp.wait_for_mail("Lars's page", |m| m.to == ["lars@beta.example"] && m.plain().contains("/me/")).await;
    assert!(!profile.plain().contains("/evaluation/"), "{}", profile.plain());
    app.outbox_settled().await;
    assert!(smtp.messages().iter().all(|m| m.to != ["nobody@alfa.example"]));
    app.stop().await;
}
both_engines!(a_broken_evaluation_link_mails_a_fresh_one_only_to_who_has_not_answered);
