//! The organiser's everyday tools, on both engines: adding a person to the
//! list by hand with a reason, importing a CSV file from the page with its
//! report line by line, a person's history in readable dates, copying a
//! meeting as the start of the next one, the list of mailings saying what
//! each is and who it reaches, and publishing, archiving and reopening only
//! on a confirmation.

use crate::common;

use common::{Engine, TestApp, invite_person, text, upload_body};
use dialogforum::domain::{MeetingId, MeetingStatus, Role};
use serde_json::{Value, json};

const ORGANISER: &str = "secretariat@forum.example";

async fn audit(app: &TestApp, action: &str) -> Vec<String> {
    on_db!(app.db, |pool| sqlx::query_scalar("select detail from audit_log where action = $1 order by id")
        .bind(action)
        .fetch_all(&pool)
        .await
        .unwrap())
}

/// The status and language of the person with `email`.
async fn person(app: &TestApp, email: &str) -> (String, String) {
    on_db!(app.db, |pool| sqlx::query_as("select status, language from person where email = $1")
        .bind(email)
        .fetch_one(&pool)
        .await
        .unwrap())
}

async fn status(app: &TestApp, id: MeetingId) -> String {
    app.store().meeting(id).await.unwrap().status.as_str().to_owned()
}

/// A published meeting on 1 March 2030 with two tracks and a programme item in each.
async fn meeting_with_programme(app: &TestApp, token: &str) -> String {
    let body = json!({
        "title": "Dialogforum 44: Data på tværs", "number": 44,
        "description": "Vi taler om **fælles data**.",
        "starts_at": "2030-03-01T09:00:00+01:00", "ends_at": "2030-03-01T12:00:00+01:00",
        "format": "hybrid", "venue": "KL-huset", "online_url": "https://møde.example/44", "capacity": 40,
        "tracks": [{"key": "buy", "title": "Indkøb", "capacity": 20}, {"key": "ai", "title": "Kunstig intelligens"}],
        "programme": [
            {"starts_at": "2030-03-01T09:30:00+01:00", "ends_at": "2030-03-01T10:00:00+01:00",
             "title": "Udbud i moduler", "track": "buy"},
            {"starts_at": "2030-03-01T10:00:00+01:00", "ends_at": "2030-03-01T11:00:00+01:00",
             "title": "Sprogmodeller i sagsbehandlingen", "track": "ai"}
        ]
    });
    app.api(token).published_meeting(&body).await
}

async fn a_person_added_by_hand_is_audited_with_the_reason_and_shows_in_the_list(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let page = app.sign_in_as(ORGANISER, Role::Organiser).await;
    let html = page.page("/admin/people").await;
    assert!(html.contains(r#"href="/admin/people/new""#) && html.contains(r#"href="/admin/people/import""#));
    let html = page.page("/admin/people/new").await;
    assert!(html.contains("uden en bekræftelsesmail"), "{html}");

    // Without a reason or with a broken address, the form comes back with the message by each field.
    let form = [("name", "Mette Jensen"), ("email", "mette@energi"), ("organisation", "Grøn Energi A/S")];
    let html = text(page.post("/admin/people/new", &form).await, 422).await;
    common::assert_has(&html, &[r#"id="email-error""#, r#"id="reason-error""#]);
    assert!(html.contains("Skriv hvorfor personen tilføjes.") && html.contains(r#"value="Mette Jensen""#));

    let form = [
        ("name", "Mette Jensen"),
        ("email", "mette@energi.example"),
        ("organisation", "Grøn Energi A/S"),
        ("language", "en"),
        ("reason", "Bad om at komme på listen ved mødet i marts."),
    ];
    let res = page.post("/admin/people/new", &form).await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    let html = page.page(&to).await;
    assert!(html.contains("Personen er tilføjet til listen."), "{html}");
    common::assert_has(&html, &["Tilføjet af en arrangør", "På listen"]);
    assert_eq!(person(&app, "mette@energi.example").await, ("confirmed".to_owned(), "en".to_owned()));

    // The register lists her; the log keeps the reason; nothing was mailed.
    let html = page.page("/admin/people?q=energi").await;
    common::assert_has(&html, &["Mette Jensen", "Grøn Energi A/S"]);
    assert_eq!(audit(&app, "subscriber.create").await, ["Bad om at komme på listen ved mødet i marts."]);
    let queued = app.db.count("select count(*) from outbox").await;
    assert_eq!(queued, 0, "no confirmation mail, as when the API adds a person");

    // The same address again is refused by the address field.
    let html = text(page.post("/admin/people/new", &form).await, 422).await;
    assert!(html.contains("Adressen er allerede på listen."), "{html}");

    // A viewer is refused the register and both forms.
    let viewer = app.sign_in_as("viewer@forum.example", Role::Viewer).await;
    for path in ["/admin/people", "/admin/people/new", "/admin/people/import"] {
        assert_eq!(viewer.get(path).await.status(), 403, "{path}");
    }
    app.stop().await;
}
both_engines!(a_person_added_by_hand_is_audited_with_the_reason_and_shows_in_the_list);

async fn a_csv_imported_from_the_page_reports_each_skipped_line_by_number_and_reason(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let page = app.sign_in_as(ORGANISER, Role::Organiser).await;
    app.confirmed_person("kendt@firma.example", "Kendt Person", "Firma A/S").await;
    let csv = "Navn;E-mail;Virksomhed\r\n\
               Åse Ørsted;aase@nordlys.example;Nordlys IT A/S\r\n\
               Bo Boesen;ikke-en-adresse;Fjord Data\r\n\
               Åse igen;AASE@nordlys.example;Nordlys IT A/S\r\n\
               Kendt Person;kendt@firma.example;Firma A/S\r\n";
    let upload = app.url("/admin/people/import");
    let (ct, body) = upload_body(&page.csrf, "liste.csv", "text/csv", csv.as_bytes());
    let html = text(page.http.post(&upload).header("content-type", ct).body(body).send().await.unwrap(), 200).await;
    assert!(html.contains("Resultat af importen"), "{html}");
    let cells: Vec<&str> = html.split("<td>").skip(1).map(|c| c.split('<').next().unwrap_or("")).collect();
    assert_eq!(cells[0], "3", "{html}");
    assert!(cells[1].starts_with("e-mail: Skriv en gyldig e-mailadresse"), "{cells:?}");
    assert_eq!(cells[2], "4");
    assert_eq!(cells[3], "adressen står tidligere i filen (linje 2); den første beholdes");
    assert!(html.contains("<dt>Tilføjet</dt><dd>1</dd>"), "{html}");
    assert!(html.contains("<dt>Allerede på listen (uændret)</dt><dd>1</dd>"), "{html}");
    assert!(html.contains("<dt>Sprunget over</dt><dd>2</dd>"), "{html}");
    assert_eq!(person(&app, "aase@nordlys.example").await.0, "confirmed");
    assert_eq!(audit(&app, "subscribers.import").await.len(), 1);

    // In English, the same report in English.
    assert!(page.get("/lang/en?back=/admin").await.status().is_redirection());
    let csv = "email,name,organisation\nmette@energi.example,Mette Jensen,Grøn Energi\nbad,Bad,\n";
    let (ct, body) = upload_body(&page.csrf, "list.csv", "text/csv", csv.as_bytes());
    let html = text(page.http.post(&upload).header("content-type", ct).body(body).send().await.unwrap(), 200).await;
    assert!(html.contains("<td>3</td><td>email: not a valid mail address"), "{html}");
    assert!(html.contains("What the import did"), "{html}");

    // A file without the columns comes back by the file field; so does no file.
    assert!(page.get("/lang/da?back=/admin").await.status().is_redirection());
    let (ct, body) = upload_body(&page.csrf, "forkert.csv", "text/csv", b"fornavn;telefon\nAnna;12345678\n");
    let html = text(page.http.post(&upload).header("content-type", ct).body(body).send().await.unwrap(), 422).await;
    common::assert_has(&html, &[r#"id="file-error""#, "Første linje skal navngive kolonnerne"]);
    let (ct, body) = upload_body("forged", "liste.csv", "text/csv", csv.as_bytes());
    assert_eq!(page.http.post(&upload).header("content-type", ct).body(body).send().await.unwrap().status(), 403);
    app.stop().await;
}
both_engines!(a_csv_imported_from_the_page_reports_each_skipped_line_by_number_and_reason);

async fn a_persons_history_shows_a_registration_a_mail_sent_and_a_bounce_in_readable_dates(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, ORGANISER).await;
    let meeting = meeting_with_programme(&app, &token).await;
    let person = app.confirmed_person("mette@energi.example", "Mette Jensen", "Grøn Energi A/S").await;
    app.api(&token).invite(&meeting, &json!({"audience": {"all": true}})).await;
    smtp.wait_for_mail("the invitation", |m| m.to == ["mette@energi.example"]).await;
    app.outbox_settled().await;
    let page = app.sign_in(ORGANISER).await;
    let html = page.page(&format!("/admin/people/{person}")).await;
    assert!(html.contains("Ingen mail er kommet retur."), "{html}");
    let mut tx = app.store().begin().await.unwrap();
    let soft = dialogforum::store::bounces::BounceKind::Soft;
    dialogforum::store::bounces::record_bounce(&mut tx, person, soft, "4.2.2", 5).await.unwrap();
    tx.commit().await.unwrap();

    let html = page.page(&format!("/admin/people/{person}")).await;
    assert!(html.contains("Historik"), "{html}");
    let mails = &html[html.find(r#"<table id="mails">"#).expect("the mails")..];
    let row = &mails[mails.find("<tbody>").unwrap()..mails.find("</tbody>").unwrap()];
    assert!(row.contains("<td>Invitation</td><td>Sendt</td>"), "{row}");
    assert!(row.contains(" kl. ") && !row.contains('T') && !row.contains("+00"), "a readable date: {row}");
    assert!(html.contains("<td>Dialogforum 44: Data på tværs</td><td>Inviteret, intet svar</td>"), "{html}");
    let bounces = &html[html.find("Returneret mail og klager").unwrap()..];
    common::assert_has(bounces, &[" kl. ", "<td>Midlertidigt afvist</td>"]);
    app.stop().await;
}
both_engines!(a_persons_history_shows_a_registration_a_mail_sent_and_a_bounce_in_readable_dates);

async fn a_copied_meeting_is_a_draft_with_the_programme_tracks_and_questionnaire_and_no_people(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, ORGANISER, Role::Organiser).await;
    let id: MeetingId = meeting_with_programme(&app, &token).await.parse().unwrap();
    let person = app.confirmed_person("a@alfa.example", "Anne Alfa", "Alfa A/S").await;
    invite_person(app.store(), id, person).await;
    let mut questionnaire = dialogforum::domain::evaluation::Questionnaire::standard();
    questionnaire.questions.truncate(2);
    questionnaire.questions[0].da = "Hvordan var dagen i KL-huset?".into();
    app.store().save_questionnaire(id, &questionnaire, false).await.unwrap();

    let page = app.sign_in(ORGANISER).await;
    let html = page.page(&format!("/admin/meetings/{id}")).await;
    assert!(html.contains(&format!(r#"action="/admin/meetings/{id}/copy""#)), "{html}");
    let res = page.post(&format!("/admin/meetings/{id}/copy"), &[]).await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    let html = page.page(&to).await;
    assert!(html.contains("Dette er en kopi, gemt som kladde."), "{html}");
    common::assert_has(&html, &["Dialogforum 44: Data på tværs (kopi)", "Udbud i moduler"]);

    let copy: MeetingId = to.trim_start_matches("/admin/meetings/").split('?').next().unwrap().parse().unwrap();
    let (from, made) = (app.store().meeting(id).await.unwrap(), app.store().meeting(copy).await.unwrap());
    assert_eq!(made.status, MeetingStatus::Draft);
    assert_eq!(made.number, None, "the number is the organiser's to give");
    assert_eq!(made.title, "Dialogforum 44: Data på tværs (kopi)");
    assert_eq!(
        (made.tracks.clone(), made.format, made.venue.clone()),
        (from.tracks.clone(), from.format, from.venue.clone())
    );
    assert_eq!(
        (made.description.as_str(), made.online_url.as_str()),
        (from.description.as_str(), "https://møde.example/44")
    );
    let titles = |m: &dialogforum::store::meetings::Meeting| {
        m.programme.iter().map(|p| (p.title.clone(), p.track.clone())).collect::<Vec<_>>()
    };
    assert_eq!(titles(&made), titles(&from));
    let moved = made.starts_at.duration_since(from.starts_at);
    assert_eq!(made.programme[0].starts_at.unwrap().duration_since(from.programme[0].starts_at.unwrap()), moved);
    assert!(made.starts_at > from.starts_at, "moved on to be set");
    let asked = app.store().evaluation_or_default(copy).await.unwrap().questionnaire;
    assert_eq!(asked.questions.len(), 2);
    assert_eq!(asked.questions[0].da, "Hvordan var dagen i KL-huset?");
    assert_eq!(app.store().registered_counts(copy).await.unwrap().total(), 0, "no registrations come along");
    assert_eq!(app.store().registered_counts(id).await.unwrap().total(), 1, "the original keeps its own");
    assert_eq!(audit(&app, "meeting.copy").await, ["Dialogforum 44: Data på tværs"]);
    let admin = app.sign_in_as("admin@forum.example", Role::Admin).await;
    let log = admin.page("/admin/audit").await;
    assert!(log.contains("Møde kopieret som start på det næste"), "{log}");

    // The API copies too, answering 201 with the draft.
    let res = app.api(&token).act(&format!("/meetings/{id}/copy")).await;
    assert_eq!(res.status(), 201);
    let made: Value = res.json().await.unwrap();
    assert_eq!((made["status"].as_str(), made["programme"].as_array().map(Vec::len)), (Some("draft"), Some(2)));
    app.stop().await;
}
both_engines!(a_copied_meeting_is_a_draft_with_the_programme_tracks_and_questionnaire_and_no_people);

async fn the_mailing_list_shows_a_scheduled_invitation_with_its_meeting_audience_time_and_count(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, ORGANISER, Role::Organiser).await;
    let meeting = meeting_with_programme(&app, &token).await;
    for (email, name) in [("a@alfa.example", "Anne Alfa"), ("b@beta.example", "Bent Beta")] {
        app.confirmed_person(email, name, "Alfa A/S").await;
    }
    let later = json!({"audience": {"all": true}, "send_at": "2031-04-01T09:00:00+02:00"});
    app.api(&token).invite(&meeting, &later).await;

    let page = app.sign_in(ORGANISER).await;
    let html = page.page("/admin/campaigns").await;
    let row = &html[html.find("<tbody>").unwrap()..html.find("</tbody>").unwrap()];
    common::assert_has(row, &["<td>Invitation</td>", "<td>Dialogforum 44: Data på tværs</td>"]);
    assert!(row.contains("<td>Alle på listen</td>"), "{row}");
    assert!(row.contains("Sendes 1. april 2031 kl. 09.00: 2 modtagere"), "{row}");
    assert!(!row.contains("0 af 0"), "{row}");
    assert!(page.get("/lang/en?back=/admin").await.status().is_redirection());
    let html = page.page("/admin/campaigns").await;
    common::assert_has(&html, &["Everyone on the list", "Goes out 1 April 2031 09:00: 2 recipients"]);
    app.stop().await;
}
both_engines!(the_mailing_list_shows_a_scheduled_invitation_with_its_meeting_audience_time_and_count);

async fn publishing_reopening_and_archiving_act_only_on_the_confirmation(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, ORGANISER, Role::Organiser).await;
    let body = json!({"title": "Dialogforum 45", "starts_at": "2030-05-01T09:00:00+02:00",
        "ends_at": "2030-05-01T12:00:00+02:00", "format": "physical", "venue": "KL-huset"});
    let res = app.api(&token).post("/meetings", &body).await;
    let id: MeetingId = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().parse().unwrap();
    let page = app.sign_in(ORGANISER).await;
    let path = format!("/admin/meetings/{id}/status");

    let asked = text(page.post(&path, &[("to", "published")]).await, 200).await;
    common::assert_has(&asked, &["Offentliggør mødet?", "Ingen får en mail nu"]);
    assert!(asked.contains("vises på de offentlige sider for alle"), "{asked}");
    assert_eq!(status(&app, id).await, "draft", "the first press only asks");
    assert_eq!(page.post(&path, &[("to", "published"), ("confirm", "yes")]).await.status(), 303);
    assert_eq!(status(&app, id).await, "published");

    crate::safety::begun(&app, id).await;
    assert_eq!(page.post(&path, &[("to", "held"), ("confirm", "yes")]).await.status(), 303);
    let reopen = format!("/admin/meetings/{id}/reopen");
    let asked = text(page.post(&reopen, &[]).await, 200).await;
    common::assert_has(&asked, &["Genåbn mødet?", "Ingen får en mail."]);
    assert_eq!(status(&app, id).await, "held");
    assert_eq!(page.post(&reopen, &[("confirm", "yes")]).await.status(), 303);
    assert_eq!(status(&app, id).await, "closed");
    assert_eq!(page.post(&path, &[("to", "held"), ("confirm", "yes")]).await.status(), 303);

    let asked = text(page.post(&path, &[("to", "archived")]).await, 200).await;
    common::assert_has(&asked, &["Arkivér mødet?", "kan ikke genåbnes"]);
    assert_eq!(status(&app, id).await, "held");
    assert_eq!(page.post(&path, &[("to", "archived"), ("confirm", "yes")]).await.status(), 303);
    assert_eq!(status(&app, id).await, "archived");
    for action in ["meeting.published", "meeting.reopen", "meeting.archived"] {
        assert_eq!(audit(&app, action).await.len(), 1, "{action}");
    }
    app.stop().await;
}
both_engines!(publishing_reopening_and_archiving_act_only_on_the_confirmation);
