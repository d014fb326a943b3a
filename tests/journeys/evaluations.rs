//! Evaluations end to end: sent after the meeting to those who attended,
//! answered through the link in the mail, counted once, stored without a link
//! to the person, closed on time, reminded to non-responders only, and read
//! back as results and trends.

use crate::common;
use crate::common::PostForm as _;

use common::smtp::SmtpServer;
use common::{Engine, TestApp, csrf_of};
use dialogforum::domain::{Email, MeetingId, Name, PersonStatus, RegistrationId};
use dialogforum::store::people::{NewPerson, insert_person_if_new};
use dialogforum::store::registrations::insert_invited;
use serde_json::{Value, json};

async fn spawn(engine: Engine) -> (TestApp, SmtpServer, String) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    (app, smtp, token)
}

/// A published meeting through the API, starting `days` days from now (negative: in the past).
async fn meeting(app: &TestApp, token: &str, title: &str, days: i64) -> MeetingId {
    let start = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * days);
    let end = start + jiff::SignedDuration::from_hours(3);
    let body = json!({
        "title": title, "starts_at": start.to_string(), "ends_at": end.to_string(), "format": "physical",
        "venue": "KL-huset"
    });
    let res = app.api(token).post("/meetings", &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let res = app.api(token).act(&format!("/meetings/{id}/publish")).await;
    assert_eq!(res.status(), 200);
    id.parse().unwrap()
}

/// Who is registered, and how: attending and checked in, attending, or declined.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Came {
    CheckedIn,
    Attending,
    Declined,
}

/// Registers one person per entry (addresses `{prefix}{i}@firma.example`).
async fn register(app: &TestApp, m: MeetingId, prefix: &str, people: &[Came]) -> Vec<String> {
    let mut tx = app.store().begin().await.unwrap();
    let mut regs = Vec::new();
    let mut emails = Vec::new();
    for i in 0..people.len() {
        let email = format!("{prefix}{i}@firma.example");
        let person = NewPerson {
            email: Email::parse(&email).unwrap(),
            name: Name::parse(&format!("Deltager {prefix}{i}")).unwrap(),
            organisation: Some(Name::parse("Nordlys IT A/S").unwrap()),
            status: PersonStatus::Confirmed,
            interests: vec![],
        };
        let (pid, _) = insert_person_if_new(&mut tx, &person, None).await.unwrap();
        regs.push((RegistrationId::new(), pid));
        emails.push(email);
    }
    insert_invited(&mut tx, m, &regs).await.unwrap();
    tx.commit().await.unwrap();
    for ((reg, _), came) in regs.iter().zip(people) {
        let status = if *came == Came::Declined { "declined" } else { "attending" };
        let checked_in = (*came == Came::CheckedIn).then(|| dialogforum::store::db_time(dialogforum::store::now()));
        set_registration(app, *reg, status, checked_in).await;
    }
    emails
}

async fn send(app: &TestApp, token: &str, m: MeetingId, body: Value) -> reqwest::Response {
    app.api(token).post(&format!("/meetings/{m}/evaluation/send"), &body).await
}

async fn api(app: &TestApp, token: &str, path: &str) -> Value {
    let res = app.api(token).get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

/// The evaluation mails received so far: (recipient, subject, link path).
fn evaluation_mails(smtp: &SmtpServer) -> Vec<(String, String, String)> {
    smtp.messages()
        .iter()
        .filter_map(|m| {
            let mail = mail_parser::MessageParser::default().parse(&m.data).unwrap();
            let text = mail.body_text(0).unwrap().into_owned();
            let at = text.find("/evaluation/")?;
            let path: String =
                text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_')).collect();
            Some((m.to[0].clone(), mail.subject().unwrap_or_default().to_owned(), path))
        })
        .collect()
}

async fn wait_mails(smtp: &SmtpServer, n: usize) -> Vec<(String, String, String)> {
    smtp.wait_for(n, 20).await;
    let mut mails = evaluation_mails(smtp);
    mails.sort();
    mails
}

fn link_for<'a>(mails: &'a [(String, String, String)], to: &str, subject_part: &str) -> &'a str {
    &mails.iter().find(|(t, s, _)| t == to && s.contains(subject_part)).unwrap_or_else(|| panic!("no mail to {to}")).2
}

async fn answer(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let res = app.http.post_form(format!("{}{path}", app.base), form).await;
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Sets a registration's status and check-in time directly in the database.
async fn set_registration(app: &TestApp, reg: RegistrationId, status: &str, checked_in: Option<i64>) {
    let sql = "update registration set status = $1, checked_in_at = $2 where id = $3";
    match app.db.engine {
        Engine::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            sqlx::query(sql).bind(status).bind(checked_in).bind(reg.uuid()).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Engine::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
            sqlx::query(sql).bind(status).bind(checked_in).bind(reg.uuid()).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// A count from the app's database, read directly.
async fn count(app: &TestApp, sql: &'static str) -> i64 {
    match app.db.engine {
        Engine::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
        Engine::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
            let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    }
}

async fn the_evaluation_goes_to_those_who_came_after_the_meeting_and_a_second_answer_replaces_the_first(
    engine: Engine,
) {
    let (app, smtp, token) = spawn(engine).await;

    let coming = meeting(&app, &token, "Kommende møde", 10).await;
    let res = send(&app, &token, coming, json!({})).await;
    assert_eq!(res.status(), 409, "not before the meeting has ended");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.json::<Value>().await.unwrap()["detail"].as_str().unwrap().contains("has not ended"));

    let held = meeting(&app, &token, "Afholdt møde", -2).await;
    let people = register(&app, held, "a", &[Came::CheckedIn, Came::CheckedIn, Came::Attending, Came::Declined]).await;
    let res = send(&app, &token, held, json!({})).await;
    assert_eq!(res.status(), 202);
    let sent: Value = res.json().await.unwrap();
    assert!(sent["reminder_at"].is_string() && sent["closes_at"].is_string());
    let reminder = api(&app, &token, &format!("/campaigns/{}", sent["reminder_campaign_id"].as_str().unwrap())).await;
    assert_eq!(
        (reminder["kind"].as_str(), reminder["state"].as_str()),
        (Some("evaluation_reminder"), Some("scheduled"))
    );
    assert_eq!(reminder["scheduled_at"], sent["reminder_at"], "the reminder waits for its day");
    assert_eq!(api(&app, &token, &format!("/meetings/{held}")).await["status"], "evaluated");
    let res = send(&app, &token, held, json!({})).await;
    assert_eq!(res.status(), 409, "sent once only");

    let mails = wait_mails(&smtp, 2).await;
    let to: Vec<&str> = mails.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(to, [people[0].as_str(), people[1].as_str()], "check-in was used: only those checked in");
    assert!(mails[0].1.contains("Evaluering: Afholdt møde"));
    let link = link_for(&mails, &people[0], "Evaluering");

    let page = app.get(link).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"name="q-overall""#)
            && html.contains("<legend>Hvor stort var dit samlede udbytte af mødet?</legend>")
    );
    assert!(html.contains("anonyme"));

    let (status, html) = answer(&app, link, &[("q-overall", "9")]).await;
    assert_eq!(status, 422);
    assert!(html.contains(r#"id="q-overall-error""#) && html.contains(r##"href="#q-overall""##));

    let (status, html) =
        answer(&app, link, &[("q-overall", "4"), ("q-balance", "balanced"), ("q-next_themes", "AI i driften")]).await;
    assert_eq!(status, 200);
    assert!(html.contains("Tak for dine svar"));
    let page = app.get(link).await.text().await.unwrap();
    assert!(page.contains(r#"value="4" checked"#), "the answer is shown again for editing");

    let (status, _) = answer(&app, link, &[("q-overall", "2"), ("q-balance", "too_much_talk")]).await;
    assert_eq!(status, 200);
    let r = api(&app, &token, &format!("/meetings/{held}/evaluation/results")).await;
    assert_eq!((r["recipients"].as_i64(), r["responses"].as_i64()), (Some(2), Some(1)), "counted once");
    assert_eq!(r["response_rate"].as_f64(), Some(0.5));
    let overall = &r["questions"][0];
    assert_eq!(overall["key"], "overall");
    assert_eq!(overall["average"].as_f64(), Some(2.0), "the second answer replaced the first");
    let counts: Vec<i64> =
        overall["options"].as_array().unwrap().iter().map(|o| o["count"].as_i64().unwrap()).collect();
    assert_eq!(counts, [0, 1, 0, 0, 0]);
    assert_eq!(r["questions"][5]["texts"], json!([]), "the replaced answer's free text is gone");

    // Anonymous: the answer rows name nobody and cannot be joined to a token.
    assert_eq!(count(&app, "select count(*) from evaluation_response").await, 1);
    assert_eq!(count(&app, "select count(*) from evaluation_response where person_id is not null").await, 0);
    assert_eq!(
        count(&app, "select count(*) from evaluation_response r join link_token t on t.hash = r.response_key").await,
        0
    );
    assert_eq!(
        count(&app, "select count(*) from evaluation_recipient where answered").await,
        1,
        "only the fact of answering is kept"
    );
    if app.db.engine == Engine::Postgres {
        // Nor by the transaction that wrote them: every row of the meeting carries the same one.
        let sql = "select count(distinct x) from (select xmin::text as x from evaluation_response \
                   union all select xmin::text from evaluation_recipient) rows";
        assert_eq!(count(&app, sql).await, 1, "the answer and recipient rows share one transaction id");
    }
    app.stop().await;
}
both_engines!(the_evaluation_goes_to_those_who_came_after_the_meeting_and_a_second_answer_replaces_the_first);

async fn results_and_trend_add_up_for_a_known_set_of_answers(engine: Engine) {
    let (app, smtp, token) = spawn(engine).await;
    let first = meeting(&app, &token, "Første møde", -30).await;
    let second = meeting(&app, &token, "Andet møde", -3).await;
    let firsts = register(&app, first, "f", &[Came::Attending, Came::Attending, Came::Attending]).await;
    let seconds = register(&app, second, "s", &[Came::Attending, Came::Attending]).await;

    // The first meeting's questionnaire gets a multiple-choice question.
    let mut questionnaire = api(&app, &token, &format!("/meetings/{first}/evaluation")).await;
    assert_eq!(questionnaire["anonymous"], true);
    questionnaire["questions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "topics", "kind": "multiple", "da": "Emner", "en": "Topics",
        "options": [{"key": "ai", "da": "AI", "en": "AI"}, {"key": "nis2", "da": "NIS2", "en": "NIS2"}]}));
    let res = app.api(&token).put(&format!("/meetings/{first}/evaluation"), &questionnaire).await;
    assert_eq!(res.status(), 200);

    assert_eq!(send(&app, &token, first, json!({})).await.status(), 202);
    assert_eq!(send(&app, &token, second, json!({})).await.status(), 202);
    let res = app.api(&token).put(&format!("/meetings/{first}/evaluation"), &questionnaire).await;
    assert_eq!(res.status(), 409, "no edits once sent");
    let mails = wait_mails(&smtp, 5).await;

    let first_link = |i: usize| link_for(&mails, &firsts[i], "Første");
    assert_eq!(
        answer(
            &app,
            first_link(0),
            &[
                ("q-overall", "5"),
                ("q-format", "physical"),
                ("q-topics", "ai"),
                ("q-topics", "nis2"),
                ("q-comments", "Godt")
            ]
        )
        .await
        .0,
        200
    );
    assert_eq!(
        answer(&app, first_link(1), &[("q-overall", "4"), ("q-format", "hybrid"), ("q-topics", "ai")]).await.0,
        200
    );
    let second_link = |i: usize| link_for(&mails, &seconds[i], "Andet");
    assert_eq!(answer(&app, second_link(0), &[("q-overall", "3")]).await.0, 200);
    assert_eq!(answer(&app, second_link(1), &[("q-overall", "3"), ("q-format", "virtual")]).await.0, 200);

    let r = api(&app, &token, &format!("/meetings/{first}/evaluation/results")).await;
    assert_eq!((r["recipients"].as_i64(), r["responses"].as_i64()), (Some(3), Some(2)));
    let question = |key: &str| r["questions"].as_array().unwrap().iter().find(|q| q["key"] == key).unwrap().clone();
    assert_eq!(question("overall")["average"].as_f64(), Some(4.5));
    let counts = |v: Value| {
        v["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o["key"].as_str().unwrap().to_owned(), o["count"].as_i64().unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(question("format")), [("physical".into(), 1), ("virtual".into(), 0), ("hybrid".into(), 1)]);
    assert_eq!(counts(question("topics")), [("ai".into(), 2), ("nis2".into(), 1)]);
    assert_eq!(question("topics")["answered"].as_i64(), Some(2));
    assert_eq!(question("comments")["texts"], json!(["Godt"]));

    let trend = api(&app, &token, "/evaluations/trend").await;
    let overall = trend["items"].as_array().unwrap().iter().find(|s| s["key"] == "overall").unwrap();
    let points: Vec<(String, f64)> = overall["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["title"].as_str().unwrap().to_owned(), p["average"].as_f64().unwrap()))
        .collect();
    assert_eq!(points, [("Første møde".to_owned(), 4.5), ("Andet møde".to_owned(), 3.0)], "oldest first");
    let format = trend["items"].as_array().unwrap().iter().find(|s| s["key"] == "format").unwrap();
    assert_eq!(
        (format["points"][1]["shares"]["virtual"].as_f64(), format["points"][1]["answered"].as_i64()),
        (Some(1.0), Some(1))
    );
    assert!(trend["items"].as_array().unwrap().iter().all(|s| s["kind"] != "text"));

    // The organiser's pages: charts as images with titles, and the same numbers in tables.
    let http = app.sign_in("org@forum.example").await.http;
    let html = http
        .get(format!("{}/admin/meetings/{first}/evaluation/results", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"role="img" aria-labelledby="chart-overall-title""#));
    assert!(html.contains(r#"<title id="chart-overall-title">"#));
    assert!(html.contains(r#"<th scope="row">Fysisk</th><td>1</td><td>50 %</td>"#), "the data table");
    assert!(html.contains("<strong>4,50</strong>") && html.contains("<li>Godt</li>"));
    assert!(!html.contains("style="), "no inline style: the CSP forbids it");
    let html = http.get(format!("{}/admin/evaluations", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(r#"aria-labelledby="trend-overall-title""#));
    assert!(html.contains("<td>4,50</td>") && html.contains("<td>3,00</td>"));
    app.stop().await;
}
both_engines!(results_and_trend_add_up_for_a_known_set_of_answers);

async fn the_reminder_goes_only_to_those_who_have_not_answered_and_the_closing_date_holds(engine: Engine) {
    let (app, smtp, token) = spawn(engine).await;
    let m = meeting(&app, &token, "Temamøde", -1).await;
    let people = register(&app, m, "r", &[Came::Attending, Came::Attending, Came::Attending]).await;

    let past = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1)).to_string();
    let res = send(&app, &token, m, json!({"closes_at": past})).await;
    assert_eq!(res.status(), 422, "a closing date in the past is refused");
    let res = app.api(&token).act(&format!("/meetings/{m}/evaluation/remind")).await;
    assert_eq!(res.status(), 409, "no reminder before sending");

    let closes = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48)).to_string();
    assert_eq!(send(&app, &token, m, json!({"closes_at": closes})).await.status(), 202);
    let mails = wait_mails(&smtp, 3).await;
    let first = link_for(&mails, &people[0], "Evaluering").to_owned();
    assert_eq!(answer(&app, &first, &[("q-overall", "5")]).await.0, 200);

    let res = app.api(&token).act(&format!("/meetings/{m}/evaluation/remind")).await;
    assert_eq!(res.status(), 202);
    smtp.wait_for(5, 20).await;
    let mails = evaluation_mails(&smtp);
    let mut reminded: Vec<&str> = mails.iter().filter(|m| m.1.contains("Påmindelse")).map(|m| m.0.as_str()).collect();
    reminded.sort_unstable();
    assert_eq!(reminded, [people[1].as_str(), people[2].as_str()], "only those who have not answered");

    // Someone reminded answers through the new link; the old one no longer takes a second answer.
    let new = link_for(&mails, &people[1], "Påmindelse").to_owned();
    let old = link_for(&mails, &people[1], "Evaluering:").to_owned();
    assert_eq!(answer(&app, &new, &[("q-overall", "3")]).await.0, 200);
    let (status, html) = answer(&app, &old, &[("q-overall", "1")]).await;
    assert_eq!(status, 409);
    assert!(html.contains("allerede svaret"));
    let r = api(&app, &token, &format!("/meetings/{m}/evaluation/results")).await;
    assert_eq!(r["responses"].as_i64(), Some(2));
    assert_eq!(r["questions"][0]["average"].as_f64(), Some(4.0));

    let res = app.api(&token).act(&format!("/meetings/{m}/evaluation/close")).await;
    assert_eq!(res.status(), 200);
    let (status, html) = answer(&app, &first, &[("q-overall", "1")]).await;
    assert_eq!(status, 409, "closed: no more changes");
    assert!(html.contains("lukket"));
    assert!(app.get(&first).await.text().await.unwrap().contains("Evalueringen er lukket"));
    let r = api(&app, &token, &format!("/meetings/{m}/evaluation/results")).await;
    assert_eq!(r["questions"][0]["average"].as_f64(), Some(4.0), "nothing changed after closing");
    let res = app.api(&token).act(&format!("/meetings/{m}/evaluation/remind")).await;
    assert_eq!(res.status(), 409, "no reminder after closing");
    app.stop().await;
}
both_engines!(the_reminder_goes_only_to_those_who_have_not_answered_and_the_closing_date_holds);

async fn organisers_edit_the_questionnaire_on_a_page_and_send_it_with_a_button(engine: Engine) {
    let (app, smtp, token) = spawn(engine).await;
    let m = meeting(&app, &token, "Sidemøde", -1).await;
    let people = register(&app, m, "p", &[Came::Attending]).await;
    let organiser = app.sign_in("org@forum.example").await;
    let page = format!("/admin/meetings/{m}/evaluation");
    let html = organiser.page(&page).await;
    assert_eq!(csrf_of(&html), organiser.csrf, "the page's forms carry the session's token");
    assert!(html.contains(r#"<label for="q0-key">"#) && html.contains("Send evalueringen"));

    let add = format!("{page}/questions");
    let bad = [("new-key", "Bad Key"), ("new-kind", "single"), ("new-da", "Mad"), ("new-options", "")];
    let res = organiser.post(&add, &bad).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"id="new-key-error""#) && html.contains(r#"aria-describedby="new-key-hint new-key-error""#)
    );
    assert!(html.contains(r#"id="new-options-error""#) && html.contains(r#"value="Bad Key""#), "what was typed stays");

    let food = [
        ("new-key", "food"),
        ("new-kind", "single"),
        ("new-da", "Hvordan var maden?"),
        ("new-en", "How was the food?"),
        ("new-options", "good | God | Good\nbad | Dårlig | Bad"),
    ];
    assert_eq!(organiser.post(&add, &food).await.status(), 303);
    // Move it to the top and remove the last standard question.
    let n = 8;
    for i in (1..=n).rev() {
        let res = organiser.post(&format!("{page}/questions/{i}"), &[("action", "up")]).await;
        assert_eq!(res.status(), 303);
    }
    let res = organiser.post(&format!("{page}/questions/{n}"), &[("action", "remove")]).await;
    assert_eq!(res.status(), 303);
    let q = api(&app, &token, &format!("/meetings/{m}/evaluation")).await;
    let keys: Vec<&str> = q["questions"].as_array().unwrap().iter().map(|q| q["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        ["food", "overall", "theme_relevance", "balance", "frequency", "format", "next_themes", "planning_group"]
    );

    let res = organiser.post(&format!("{page}/send"), &[("closes_on", "")]).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Evalueringen sendes nu") && html.contains("Send påmindelse nu"));
    let mails = wait_mails(&smtp, 1).await;
    let link = link_for(&mails, &people[0], "Evaluering");
    let form = app.get(link).await.text().await.unwrap();
    assert!(form.find("Hvordan var maden?").unwrap() < form.find("Hvor stort var dit samlede udbytte").unwrap());
    assert!(!form.contains("Øvrige kommentarer"));
    let res = organiser.post(&add, &[("new-key", "late"), ("new-kind", "text"), ("new-da", "For sent")]).await;
    assert_eq!(res.status(), 409, "no edits once sent");
    app.stop().await;
}
both_engines!(organisers_edit_the_questionnaire_on_a_page_and_send_it_with_a_button);

async fn the_demo_brings_evaluation_results_for_the_last_meetings_and_loading_it_again_adds_none(engine: Engine) {
    let (app, _smtp, token) = spawn(engine).await;
    let first = dialogforum::demo::load(app.store(), jiff::civil::date(2026, 11, 27)).await.unwrap();
    assert_eq!(first.evaluations_added, 3);
    let again = dialogforum::demo::load(app.store(), jiff::civil::date(2026, 11, 27)).await.unwrap();
    assert_eq!(again, dialogforum::demo::Report::default());
    let trend = api(&app, &token, "/evaluations/trend").await;
    let overall = trend["items"].as_array().unwrap().iter().find(|s| s["key"] == "overall").unwrap();
    let numbers: Vec<i64> =
        overall["points"].as_array().unwrap().iter().map(|p| p["number"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [14, 15, 16]);
    assert!(
        overall["points"].as_array().unwrap().iter().all(|p| p["demo"] == true && p["average"].as_f64().unwrap() > 3.0)
    );
    let http = app.sign_in("org@forum.example").await.http;
    let html = http.get(format!("{}/admin/evaluations", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Demodata") && html.contains("16. møde (2024) (demo)"));
    app.stop().await;
}
both_engines!(the_demo_brings_evaluation_results_for_the_last_meetings_and_loading_it_again_adds_none);

async fn the_trend_of_a_choice_question_names_each_options_share_meeting_by_meeting(engine: Engine) {
    let (app, _smtp, _token) = spawn(engine).await;
    dialogforum::demo::load(app.store(), jiff::civil::date(2026, 11, 27)).await.unwrap();
    let http = app.sign_in("org@forum.example").await.http;
    for (lang, options, title) in [
        (
            "da",
            ["Oftere", "Som nu", "Sjældnere"],
            "Hvor ofte bør Dialogforum mødes?: andel for hvert svar, møde for møde",
        ),
        (
            "en",
            ["More often", "As now", "Less often"],
            "How often should the forum meet?: share of each answer, meeting by meeting",
        ),
    ] {
        http.get(app.url(&format!("/lang/{lang}"))).send().await.unwrap();
        let html = http.get(app.url("/admin/evaluations")).send().await.unwrap().text().await.unwrap();
        let start = html.find(r#"aria-labelledby="trend-frequency-title""#).expect("the frequency trend's chart");
        let svg = &html[start..start + html[start..].find("</svg>").unwrap()];
        assert!(svg.contains(&format!(r#"<title id="trend-frequency-title">{title}</title>"#)), "{svg}");
        for option in options {
            assert!(
                svg.contains(&format!(r##"font-weight="700" fill="#1a1a1a">{option}</text>"##)),
                "{option} in {svg}"
            );
        }
        // Long labels are cut short in the image; the table has them whole.
        let meetings = if lang == "da" { "16. møde (2024) (demo)" } else { "the 16th meeting (2024) (de…" };
        assert_eq!(svg.matches(&format!(">{meetings}</text>")).count(), 3, "each option's bar at meeting 16: {svg}");
        let table = &html[start..start + html[start..].find("</table>").unwrap()];
        for option in options {
            assert!(table.contains(&format!(r#"<th scope="col">{option}</th>"#)), "{option} heads a column: {table}");
        }
    }
    app.stop().await;
}
both_engines!(the_trend_of_a_choice_question_names_each_options_share_meeting_by_meeting);

async fn a_question_is_built_with_option_rows_keys_made_from_the_text_and_previewed_before_the_send_step(
    engine: Engine,
) {
    let (app, _smtp, token) = spawn(engine).await;
    let m = meeting(&app, &token, "Temamøde", -1).await;
    let organiser = app.sign_in("org@forum.example").await;
    let page = format!("/admin/meetings/{m}/evaluation");
    let add = format!("{page}/questions");
    let html = organiser.page(&page).await;
    assert!(html.contains(r#"id="new-o0-da""#) && html.contains(r#"id="new-o1-da""#), "two empty option rows");
    assert!(!html.contains("nøgle | dansk | engelsk"), "no typed syntax to learn");
    let preview = html.find("Forhåndsvisning: sådan ser deltagerne spørgeskemaet").expect("a preview");
    assert!(
        html.find("Send evalueringen").unwrap() > preview,
        "the send step comes after the questions and the preview"
    );
    assert!(html[preview..].contains("Hvor stort var dit samlede udbytte"), "the preview shows the questions");

    // A third row without JavaScript: the form comes back as typed, unsaved, with one more row.
    let typed = [
        ("new-key", ""),
        ("new-kind", "single"),
        ("new-da", "Hvordan var frokosten?"),
        ("new-en", "How was the lunch?"),
        ("new-rows", "2"),
        ("new-o0-da", "Rigtig god"),
        ("new-o0-en", "Very good"),
        ("new-o1-da", "Dårlig"),
    ];
    let mut more = typed.to_vec();
    more.push(("action", "more"));
    let html = common::text(organiser.post(&add, &more).await, 200).await;
    common::assert_has(&html, &[r#"id="new-o2-da""#, r#"value="Rigtig god""#]);
    common::assert_has(&html, &[r#"role="status""#, "Husk at gemme"]);
    let q = api(&app, &token, &format!("/meetings/{m}/evaluation")).await;
    assert!(q["questions"].as_array().unwrap().iter().all(|q| q["key"] != "hvordan_var_frokosten"), "nothing saved");

    // Saved with the third row filled; the keys are made from the Danish text.
    let mut third = typed.to_vec();
    third[4] = ("new-rows", "3");
    third.extend([("new-o2-da", "Middel"), ("new-o2-key", "")]);
    assert_eq!(organiser.post(&add, &third).await.status(), 303);
    let q = api(&app, &token, &format!("/meetings/{m}/evaluation")).await;
    let lunch = q["questions"].as_array().unwrap().iter().find(|q| q["key"] == "hvordan_var_frokosten").unwrap();
    let keys: Vec<&str> = lunch["options"].as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["rigtig_god", "daarlig", "middel"]);
    assert_eq!(lunch["options"][2]["en"], "Middel", "the English falls back to the Danish");

    // A row ticked for removal goes on the next save; a row without Danish text is refused by its field.
    let html = organiser.page(&page).await;
    let index = html.matches("/evaluation/questions/").count() - 1;
    let prefix = format!("q{index}");
    let f = |name: &str| format!("{prefix}-{name}");
    let (key, kind, da, en, rows) = (f("key"), f("kind"), f("da"), f("en"), f("rows"));
    let (o0, o1, o2, drop1, o3en) = (f("o0-da"), f("o1-da"), f("o2-da"), f("o1-drop"), f("o3-en"));
    let (k0, k1, k2) = (f("o0-key"), f("o1-key"), f("o2-key"));
    let mut save = vec![
        ("action", "save"),
        (key.as_str(), "hvordan_var_frokosten"),
        (kind.as_str(), "single"),
        (da.as_str(), "Hvordan var frokosten?"),
        (en.as_str(), "How was the lunch?"),
        (rows.as_str(), "4"),
        (k0.as_str(), "rigtig_god"),
        (o0.as_str(), "Rigtig god"),
        (k1.as_str(), "daarlig"),
        (o1.as_str(), "Dårlig"),
        (k2.as_str(), "middel"),
        (o2.as_str(), "Middel"),
        (o3en.as_str(), "Only English"),
    ];
    let res = organiser.post(&format!("{add}/{index}"), &save).await;
    let html = common::text(res, 422).await;
    assert!(html.contains(&format!(r#"id="{prefix}-o3-da-error""#)), "{html}");
    save.pop();
    save.push((drop1.as_str(), "on"));
    assert_eq!(organiser.post(&format!("{add}/{index}"), &save).await.status(), 303);
    let q = api(&app, &token, &format!("/meetings/{m}/evaluation")).await;
    let lunch = q["questions"].as_array().unwrap().iter().find(|q| q["key"] == "hvordan_var_frokosten").unwrap();
    assert_eq!(lunch["options"].as_array().unwrap().len(), 2, "{lunch}");
    let html = organiser.page(&page).await;
    let preview = &html[html.find("Forhåndsvisning").unwrap()..];
    common::assert_has(preview, &["Hvordan var frokosten?", "<li>Rigtig god</li>"]);
    assert!(!preview.contains("<li>Dårlig</li>") && preview.contains("(Ét svar)"), "{preview}");
    app.stop().await;
}
both_engines!(a_question_is_built_with_option_rows_keys_made_from_the_text_and_previewed_before_the_send_step);
