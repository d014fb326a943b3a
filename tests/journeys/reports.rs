//! The report after a meeting: written in sections, approved, published to
//! the public meeting page and mailed to the whole list — members who never
//! registered too, but nobody who left the list or whose address bounced —
//! through the API and through the organiser's page.

use crate::common;

use common::smtp::SmtpServer;
use common::{Engine, TestApp, add_person, text};
use dialogforum::domain::PersonStatus;
use serde_json::{Value, json};

/// A published meeting with `number` that ended yesterday; returns its id.
async fn past_meeting(app: &TestApp, token: &str, number: i32) -> String {
    let start = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(27);
    let end = start + jiff::SignedDuration::from_hours(3);
    let body = json!({
        "title": "Markedsdialog om AI i velfærden", "number": number, "starts_at": start.to_string(),
        "ends_at": end.to_string(), "format": "physical", "venue": "KL-huset",
        "description": "Oplæg og dialog ved bordene.",
        "programme": [{"title": "Velkomst"}, {"title": "Dialog ved bordene"}]
    });
    app.api(token).published_meeting(&body).await
}

/// The members: one who came (and agreed to have the organisation listed),
/// one who never registered, one who left the list and one whose address
/// bounced.
async fn members(app: &TestApp, meeting: &str) {
    let store = app.store();
    let came = add_person(store, "came@firma.example", "Karen Kom", "Nordlys IT A/S", PersonStatus::Confirmed).await;
    add_person(store, "never@firma.example", "Niels Aldrig", "Fjord Sikkerhed ApS", PersonStatus::Confirmed).await;
    add_person(store, "left@firma.example", "Lise Gået", "Grøn Kode ApS", PersonStatus::Unsubscribed).await;
    add_person(store, "bounced@firma.example", "Bo Retur", "Aarhus Consult", PersonStatus::Bounced).await;
    let (registration, _) = common::invite_person(store, meeting.parse().unwrap(), came).await;
    let sql = "update registration set status = 'attending', list_organisation = true where id = $1";
    match app.db.engine {
        Engine::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            sqlx::query(sql).bind(registration.uuid()).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Engine::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
            sqlx::query(sql).bind(registration.uuid()).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// Stores a file for the meeting; returns its id.
async fn material(app: &TestApp, meeting: &str, name: &str) -> String {
    let mut tx = app.store().begin().await.unwrap();
    let id = dialogforum::store::materials::insert_material(
        &mut tx,
        meeting.parse().unwrap(),
        name,
        "application/pdf",
        b"%PDF-1.7",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id.to_string()
}

/// The report mails received so far, by recipient.
fn report_mails(smtp: &SmtpServer) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = smtp
        .messages()
        .iter()
        .filter_map(|m| {
            let mail = mail_parser::MessageParser::default().parse(&m.data).unwrap();
            let subject = mail.subject().unwrap_or_default().to_owned();
            subject.starts_with("Referat").then(|| (m.to[0].clone(), subject, m.plain()))
        })
        .collect();
    out.sort();
    out
}

async fn a_report_is_drafted_approved_published_and_mailed_to_every_member(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    let api = app.api(&token);
    let id = past_meeting(&app, &token, 71).await;
    members(&app, &id).await;
    let path = format!("/meetings/{id}/report");

    assert_eq!(api.get(&path).await.status(), 404, "no report before one is written");
    let bad = api.put(&path, &json!({"sections": [{"title": " ", "body": "tekst"}]})).await;
    assert_eq!(bad.status(), 422);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let problem: Value = bad.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().starts_with("sections[0].title:"), "{problem}");

    // A speaker's slides belong with the talk; another file stays in the general list.
    let slides = material(&app, &id, "Oplæg om AI.pdf").await;
    let other = material(&app, &id, "Deltagerliste.pdf").await;
    let unknown = json!({"sections": [{"title": "Velkomst", "materials": [uuid::Uuid::now_v7()]}]});
    let res = api.put(&path, &unknown).await;
    assert_eq!(res.status(), 422, "a file that is not the meeting's");
    let problem: Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().starts_with("sections[0].materials:"), "{problem}");

    let sections = json!({"sections": [
        {"title": "Velkomst", "body": "KL bød **velkommen** til 40 leverandører.", "materials": [slides]},
        {"title": "Dialog ved bordene", "body": "- Udbud i moduler\n- Krav til data\n\n<script>alert(1)</script>"}
    ]});
    let res = api.put(&path, &sections).await;
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["state"], "draft");
    assert_eq!(report["sections"][1]["title"], "Dialog ved bordene");

    let res = api.post(&format!("{path}/publish"), &json!({"mail": "list"})).await;
    assert_eq!(res.status(), 409, "a draft is approved before it is published");
    let page = text(app.get("/meetings/71").await, 200).await;
    assert!(!page.contains("KL bød"), "nothing on the public page before publication");

    let res = api.act(&format!("{path}/approve")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["state"], "approved");
    // A change after approval sends the report back to draft.
    let res = api.put(&path, &sections).await;
    assert_eq!(res.json::<Value>().await.unwrap()["state"], "draft");
    assert_eq!(api.act(&format!("{path}/approve")).await.status(), 200);

    // The evaluation went to the one who came and has closed: the mail gives its figures.
    let res = api.post(&format!("/meetings/{id}/evaluation/send"), &json!({})).await;
    assert_eq!(res.status(), 202);
    let evaluation = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    api.campaign_in_state(&evaluation, "done").await;
    assert_eq!(api.act(&format!("/meetings/{id}/evaluation/close")).await.status(), 200);

    let res = api.post(&format!("{path}/publish"), &json!({"mail": "everyone"})).await;
    assert_eq!(res.status(), 422, "an unknown audience is refused");
    let res = api.post(&format!("{path}/publish"), &json!({"mail": "list"})).await;
    assert_eq!(res.status(), 202);
    let published: Value = res.json().await.unwrap();
    assert_eq!(published["report"]["state"], "published");
    let campaign = published["id"].as_str().expect("a campaign id").to_owned();
    let done = api.campaign_in_state(&campaign, "done").await;
    assert_eq!(done["sent"], 2, "{done}");
    app.outbox_settled().await;

    let mails = report_mails(&smtp);
    let to: Vec<&str> = mails.iter().map(|(to, ..)| to.as_str()).collect();
    assert_eq!(to, ["came@firma.example", "never@firma.example"], "the whole list, and only those still on it");
    let (_, subject, body) = &mails[1];
    assert_eq!(subject, "Referat: Markedsdialog om AI i velfærden");
    assert!(body.contains("Kære Niels Aldrig"), "{body}");
    common::assert_has(body, &["Dialog ved bordene", "- Udbud i moduler"]);
    assert!(body.contains("/meetings/71"), "the meeting's page: {body}");
    assert!(body.contains("/unsubscribe/"), "a way off the list: {body}");
    let organisations = body.find("Deltagende organisationer").expect("the participating organisations");
    assert!(body[organisations..].contains("- Nordlys IT A/S"), "the consenting organisation: {body}");
    assert!(!body.contains("Fjord Sikkerhed"), "only organisations that agreed to be listed: {body}");
    assert!(body.contains("0 af 1 deltagere besvarede evalueringen."), "the evaluation's figures: {body}");
    let under_talk = body.find("- Oplæg om AI.pdf: ").expect("the slides in the mail");
    assert!(under_talk < body.find("Dialog ved bordene").unwrap(), "the slides under their section: {body}");
    assert!(body.contains(&format!("/meetings/71/materials/{other}")), "the other file too: {body}");

    let page = text(app.get("/meetings/71").await, 200).await;
    let report_at =
        page.find("KL bød <strong>velkommen</strong> til 40 leverandører.").expect("the report on the page");
    assert!(report_at < page.find("<h2>Program").unwrap_or(usize::MAX), "the report comes first");
    assert!(page.contains("&lt;script&gt;") && !page.contains("<script>alert"), "no markup passes through");
    let slides_at = page.find(&format!("/meetings/71/materials/{slides}")).expect("the slides on the page");
    assert!(slides_at < page.find("Dialog ved bordene").unwrap(), "under the talk they belong with");
    assert!(page.find(&format!("/meetings/71/materials/{other}")).unwrap() > slides_at);

    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["paths"]["/meetings/{id}/report"]["put"].is_object(), "the report is in the OpenAPI document");
    let read = api.json(&path).await;
    assert_eq!(read["state"], "published");
    assert_eq!(read["published_sections"][0]["title"], "Velkomst");
    let audit = app.store().audit_actions().await.unwrap();
    for action in ["report.write", "report.approve", "report.back_to_draft", "report.publish.list"] {
        assert!(audit.iter().any(|a| a == action), "{action} in {audit:?}");
    }

    // The meeting's dossier carries the report as published, dated with its publication.
    let org = app.sign_in("org@forum.example").await;
    let zip = org.http.get(app.url(&format!("/admin/meetings/{id}/dossier.zip"))).send().await.unwrap();
    assert_eq!(zip.status(), 200);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.bytes().await.unwrap().to_vec())).unwrap();
    let mut read = |suffix: &str| {
        let name =
            archive.file_names().filter_map(Result::ok).find(|n| n.ends_with(suffix)).expect(suffix).into_owned();
        std::io::read_to_string(archive.by_name(&name).unwrap()).unwrap()
    };
    let report = read("referat.md");
    common::assert_has(&report, &["## Velkomst", "KL bød **velkommen**"]);
    assert!(read("index.html").contains("Referatet offentliggjort"));
    app.stop().await;
}
both_engines!(a_report_is_drafted_approved_published_and_mailed_to_every_member);

/// The report form's fields: `count`, then the title and body of each of
/// `sections` in order (three at the most).
fn report_form<'a>(count: &'a str, sections: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    const KEYS: [(&str, &str); 3] = [("title-0", "body-0"), ("title-1", "body-1"), ("title-2", "body-2")];
    assert!(sections.len() <= KEYS.len(), "at most three sections");
    let mut form = vec![("count", count)];
    for (&(title_key, body_key), &(title, body)) in KEYS.iter().zip(sections) {
        form.extend([(title_key, title), (body_key, body)]);
    }
    form
}

async fn an_organiser_writes_approves_and_publishes_the_report_on_its_page(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    let id = past_meeting(&app, &token, 72).await;
    members(&app, &id).await;
    let org = app.sign_in("org@forum.example").await;
    let path = format!("/admin/meetings/{id}/report");

    let meeting = org.page(&format!("/admin/meetings/{id}")).await;
    assert!(meeting.contains(&format!(r#"<a href="{path}">Referat</a>"#)), "the meeting links to its report");
    let page = org.page(&path).await;
    assert!(page.contains("Intet referat endnu"), "{page}");
    let slides = material(&app, &id, "Slides.pdf").await;
    let from_programme = org.page(&format!("{path}?from=programme")).await;
    assert!(from_programme.contains(r#"value="Dialog ved bordene""#), "one section per programme item");

    // A section without a heading comes back with the text kept and the message by the field.
    let res = org.post(&path, &[("count", "0"), ("title-0", ""), ("body-0", "Noget blev sagt.")]).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    common::assert_has(&page, &[r#"id="title-0-error""#, "Noget blev sagt."]);

    let res = org
        .post(
            &path,
            &[("count", "0"), ("title-0", "Velkomst"), ("body-0", "Tak for sidst."), ("materials-0", slides.as_str())],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = org.page(&path).await;
    assert!(page.contains(&format!(r#"name="materials-0" value="{slides}" checked"#)), "{page}");
    let two = [("Velkomst", "Tak for sidst."), ("Bordene", "Gode input.")];
    assert_eq!(org.post(&path, &report_form("1", &two)).await.status(), 303);
    // Removing a section keeps the others.
    let mut form = report_form("2", &[two[0], two[1], ("", "")]);
    form.push(("remove", "0"));
    let res = org.post(&path, &form).await;
    assert_eq!(res.status(), 303);
    let page = org.page(&path).await;
    assert!(page.contains(r#"value="Bordene""#) && !page.contains(r#"value="Velkomst""#), "{page}");
    assert!(page.contains("Kladde"));

    let res = org.post(&format!("{path}/approve"), &[]).await;
    assert_eq!(res.status(), 303);
    let page = org.page(&path).await;
    common::assert_has(&page, &["Godkendt", r#"name="mail" value="list" checked"#]);

    let res = org.post(&format!("{path}/publish"), &[("mail", "none")]).await;
    assert_eq!(res.status(), 303);
    let page = org.page(&format!("{path}?done=published")).await;
    assert!(page.contains("Offentliggjort"), "{page}");
    let public = text(app.get("/meetings/72").await, 200).await;
    assert!(public.contains("<h3 lang=\"da\">Bordene</h3>") && public.contains("Gode input."), "{public}");
    app.outbox_settled().await;
    assert!(report_mails(&smtp).is_empty(), "no mail when the organiser chose none");

    // Changed after publication: the page keeps the published version until the next publication.
    let res = org.post(&path, &[("count", "1"), ("title-0", "Bordene"), ("body-0", "Nye input.")]).await;
    assert_eq!(res.status(), 303);
    let public = text(app.get("/meetings/72").await, 200).await;
    assert!(public.contains("Gode input.") && !public.contains("Nye input."), "{public}");
    app.stop().await;
}
both_engines!(an_organiser_writes_approves_and_publishes_the_report_on_its_page);

async fn materials_released_at_a_set_time_reach_the_page_and_every_member_together(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    let start = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 10);
    let body = json!({
        "title": "Markedsdialog om cybersikkerhed", "number": 73, "starts_at": start.to_string(),
        "ends_at": (start + jiff::SignedDuration::from_hours(3)).to_string(), "format": "physical", "venue": "KL-huset"
    });
    let id = app.api(&token).published_meeting(&body).await;
    members(&app, &id).await;
    let mut tx = app.store().begin().await.unwrap();
    let file = dialogforum::store::materials::insert_material(
        &mut tx,
        id.parse().unwrap(),
        "Oplæg om NIS2.pdf",
        "application/pdf",
        b"%PDF-1.7 oplaeg",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let download = format!("/meetings/73/materials/{file}");
    assert!(!text(app.get("/meetings/73").await, 200).await.contains("Oplæg om NIS2.pdf"), "not before the meeting");
    assert_eq!(app.get(&download).await.status(), 404);

    let org = app.sign_in("org@forum.example").await;
    let path = format!("/admin/meetings/{id}/report");
    assert!(org.page(&path).await.contains("Oplæg om NIS2.pdf (vises efter mødet)"));
    let release = format!("/admin/meetings/{id}/materials/release");
    let res = org.post(&release, &[("release_at", "i morgen"), ("release_mail", "list")]).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    common::assert_has(&page, &[r#"id="release_at-error""#, r#"value="i morgen""#]);

    // Set for tomorrow: hidden until then.
    let tomorrow = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24))
        .to_zoned_datetime(dialogforum::domain::copenhagen())
        .strftime("%Y-%m-%dT%H:%M")
        .to_string();
    let res = org.post(&release, &[("release_at", tomorrow.as_str()), ("release_mail", "none")]).await;
    assert_eq!(res.status(), 303);
    assert!(org.page(&path).await.contains("Oplæg om NIS2.pdf (frigives "), "the time it goes out");
    assert_eq!(app.get(&download).await.status(), 404, "not before its time");

    // Released now, to the whole list.
    let res = org.post(&release, &[("release_at", ""), ("release_mail", "list")]).await;
    assert_eq!(res.status(), 303);
    assert!(text(app.get("/meetings/73").await, 200).await.contains("Oplæg om NIS2.pdf"));
    let res = app.get(&download).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"%PDF-1.7 oplaeg");
    smtp.wait_for(2, 30).await;
    app.outbox_settled().await;
    let mut to: Vec<(String, String)> = smtp
        .messages()
        .iter()
        .filter(|m| m.text().contains("Materialer"))
        .map(|m| (m.to[0].clone(), m.plain()))
        .collect();
    to.sort();
    let who: Vec<&str> = to.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(who, ["came@firma.example", "never@firma.example"]);
    assert!(to[0].1.contains(&download), "the link to the file: {}", to[0].1);
    let campaigns = org.page("/admin/campaigns").await;
    assert!(campaigns.contains("Materialer"), "the release is in the campaign list");
    assert!(app.store().audit_actions().await.unwrap().iter().any(|a| a == "materials.release.list"));
    app.stop().await;
}
both_engines!(materials_released_at_a_set_time_reach_the_page_and_every_member_together);
