//! The annual picture on a known data set: three meetings held in the
//! period (and one before it, one cancelled in it), people invited,
//! registered, checked in and staying away, organisations coming once,
//! twice and every time, the list growing and shrinking, bounces and
//! evaluation answers — and the exact figures on the organiser page and in
//! its CSV and XLSX downloads.

use crate::common;

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use common::{Engine, TestApp};
use dialogforum::domain::evaluation::{Answer, Answers};
use dialogforum::domain::{Email, MeetingId, Name, PersonId, PersonStatus, RegistrationId, Role};
use dialogforum::store::bounces::{BounceKind, record_bounce};
use dialogforum::store::people::{NewPerson, insert_person_if_new};
use dialogforum::store::registrations::insert_invited;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

fn days(n: i64) -> Timestamp {
    Timestamp::now() + SignedDuration::from_hours(24 * n)
}

fn day(n: i64) -> String {
    days(n).to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Copenhagen").unwrap()).date().to_string()
}

/// A published meeting through the API, `n` days from now (negative: past), numbered.
async fn meeting(app: &TestApp, token: &str, number: i32, title: &str, n: i64) -> MeetingId {
    let start = days(n);
    let body = json!({
        "number": number, "title": title, "starts_at": start.to_string(),
        "ends_at": (start + SignedDuration::from_hours(3)).to_string(), "format": "physical", "venue": "KL-huset"
    });
    let res = app.api(token).post("/meetings", &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(app.api(token).act(&format!("/meetings/{id}/publish")).await.status(), 200);
    id.parse().unwrap()
}

async fn person(app: &TestApp, email: &str, organisation: Option<&str>, status: PersonStatus) -> PersonId {
    let mut tx = app.store().begin().await.unwrap();
    let p = NewPerson {
        email: Email::parse(email).unwrap(),
        name: Name::parse(&format!("Person {}", email.split('@').next().unwrap())).unwrap(),
        organisation: organisation.map(|o| Name::parse(o).unwrap()),
        status,
        interests: vec![],
    };
    let (id, _) = insert_person_if_new(&mut tx, &p, None).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// How a person ended up at a meeting.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Came {
    CheckedIn,
    NoShow,
    Declined,
    Waitlisted,
    Invited,
}

/// Invites each `(email, organisation, came)` to `m` as a guest and sets
/// their registration as `came` says.
async fn invite(app: &TestApp, m: MeetingId, people: &[(&str, Option<&str>, Came)]) {
    let mut regs = Vec::new();
    for (email, organisation, came) in people {
        let id = person(app, email, *organisation, PersonStatus::Guest).await;
        regs.push((RegistrationId::new(), id, *came));
    }
    let mut tx = app.store().begin().await.unwrap();
    let rows: Vec<_> = regs.iter().map(|(r, p, _)| (*r, *p)).collect();
    insert_invited(&mut tx, m, &rows).await.unwrap();
    tx.commit().await.unwrap();
    for (reg, _, came) in regs {
        let status = match came {
            Came::CheckedIn | Came::NoShow => "attending",
            Came::Declined => "declined",
            Came::Waitlisted => "waitlisted",
            Came::Invited => "invited",
        };
        let checked_in = (came == Came::CheckedIn).then(|| days(-1).as_microsecond());
        on_db!(app.db, |pool| {
            sqlx::query("update registration set status = $1, checked_in_at = $2 where id = $3")
                .bind(status)
                .bind(checked_in)
                .bind(reg.uuid())
                .execute(&pool)
                .await
                .unwrap();
        });
    }
}

/// A list member confirmed `confirmed` days from now, and gone `left` days from now.
async fn member(app: &TestApp, email: &str, confirmed: i64, left: Option<i64>) -> PersonId {
    let id = person(app, email, Some("Listefirma ApS"), PersonStatus::Confirmed).await;
    let status = if left.is_some() { "unsubscribed" } else { "confirmed" };
    on_db!(app.db, |pool| {
        sqlx::query("update person set status = $1, confirmed_at = $2, left_at = $3 where id = $4")
            .bind(status)
            .bind(days(confirmed).as_microsecond())
            .bind(left.map(|l| days(l).as_microsecond()))
            .bind(id.uuid())
            .execute(&pool)
            .await
            .unwrap();
    });
    id
}

/// Evaluation answers to the standard questionnaire: one overall rating each.
async fn evaluated(app: &TestApp, m: MeetingId, ratings: &[u8]) {
    let answers: Vec<Answers> =
        ratings.iter().map(|r| Answers(BTreeMap::from([("overall".to_owned(), Answer::Rating(*r))]))).collect();
    let mut tx = app.store().begin().await.unwrap();
    let stored = dialogforum::store::evaluations::insert_demo(&mut tx, m, days(-1), days(5), 10, &answers).await;
    assert!(stored.unwrap());
    tx.commit().await.unwrap();
}

/// The texts of the cells of the table row headed `label` (in a header cell
/// or a link in one; the charts' drawn labels are passed over).
fn row(html: &str, label: &str) -> Vec<String> {
    let at = html
        .match_indices(&format!(">{label}<"))
        .map(|(at, _)| at)
        .find(|&at| {
            let tag = &html[html[..=at].rfind('<').unwrap()..];
            tag.starts_with("<th") || tag.starts_with("<a ")
        })
        .unwrap_or_else(|| panic!("a row {label:?} in {html}"));
    let end = at + html[at..].find("</tr>").unwrap();
    html[at..end].split("<td>").skip(1).map(|c| c.split("</td>").next().unwrap().to_owned()).collect()
}

fn cell(range: &calamine::Range<Data>, row: usize, col: usize) -> Data {
    range.get((row, col)).cloned().unwrap_or(Data::Empty)
}

async fn the_annual_picture_adds_up_on_the_page_and_in_its_downloads(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "org@forum.example", Role::Organiser).await;
    let (nordlys, fjord, bolge, ny) =
        (Some("Nordlys IT A/S"), Some("Fjord Data ApS"), Some("Bølge Consult"), Some("Ny Leverandør I/S"));

    let before = meeting(&app, &token, 1, "Før perioden", -100).await;
    invite(&app, before, &[("p0@a.example", nordlys, Came::CheckedIn)]).await;
    evaluated(&app, before, &[1]).await;

    let first = meeting(&app, &token, 2, "Første møde", -40).await;
    invite(
        &app,
        first,
        &[
            ("p1@a.example", nordlys, Came::CheckedIn),
            ("p2@b.example", fjord, Came::CheckedIn),
            ("p3@c.example", bolge, Came::NoShow),
            ("p4@d.example", ny, Came::Declined),
            ("p5@e.example", None, Came::Invited),
        ],
    )
    .await;
    evaluated(&app, first, &[5, 4]).await;

    let second = meeting(&app, &token, 3, "Andet møde", -20).await;
    invite(
        &app,
        second,
        &[
            ("p6@a.example", nordlys, Came::CheckedIn),
            ("p7@a.example", nordlys, Came::CheckedIn),
            ("p8@b.example", fjord, Came::CheckedIn),
            ("p9@c.example", bolge, Came::CheckedIn),
            ("p10@d.example", ny, Came::Waitlisted),
        ],
    )
    .await;

    let third = meeting(&app, &token, 4, "Tredje møde", -10).await;
    invite(&app, third, &[("p11@a.example", nordlys, Came::CheckedIn), ("p12@d.example", ny, Came::NoShow)]).await;
    evaluated(&app, third, &[3]).await;

    let cancelled = meeting(&app, &token, 5, "Aflyst møde", 5).await;
    let res = app.api(&token).post(&format!("/meetings/{cancelled}/cancel"), &json!({"message": "Aflyst"})).await;
    assert_eq!(res.status(), 200);

    // The list: two on it at the start (one of whom leaves), two joining, one long gone.
    let kept = member(&app, "l1@list.example", -90, None).await;
    member(&app, "l2@list.example", -90, Some(-30)).await;
    let bounced = member(&app, "l3@list.example", -15, None).await;
    member(&app, "l4@list.example", -15, None).await;
    member(&app, "l5@list.example", -200, Some(-100)).await;
    let mut tx = app.store().begin().await.unwrap();
    record_bounce(&mut tx, bounced, BounceKind::Hard, "5.1.1", 3).await.unwrap();
    record_bounce(&mut tx, kept, BounceKind::Soft, "4.2.2", 3).await.unwrap();
    tx.commit().await.unwrap();

    let (from, to) = (day(-60), day(30));
    let query = format!("from={from}&to={to}");
    let http = app.sign_in("org@forum.example").await.http;
    let base = app.base.clone();
    let get = |path: String| {
        let (http, url) = (http.clone(), format!("{base}{path}"));
        async move { http.get(url).send().await.unwrap() }
    };
    let html = common::text(get(format!("/admin/year?{query}")).await, 200).await;
    assert!(html.contains(&format!(r#"value="{from}""#)) && html.contains(&format!(r#"value="{to}""#)));
    assert_eq!(row(&html, "2. møde: Første møde")[1..], ["5", "3", "2", "1"]);
    assert_eq!(row(&html, "3. møde: Andet møde")[1..], ["5", "4", "4", "0"]);
    assert_eq!(row(&html, "4. møde: Tredje møde")[1..], ["2", "2", "1", "1"]);
    assert!(!html.contains("Før perioden"), "a meeting before the period is left out");
    assert_eq!(row(&html, "I alt (3)"), ["", "12", "9", "7", "2"]);
    assert!(html.contains("Aflyste møder i perioden: 1"));
    assert_eq!(row(&html, "1 møde"), ["1"]);
    assert_eq!(row(&html, "2 møder"), ["1"]);
    assert_eq!(row(&html, "3 møder (hver gang)"), ["1"]);
    assert!(html.contains("Organisationer, der deltog mindst én gang: 3"));
    assert_eq!(row(&html, "På listen ved periodens start"), ["2"]);
    assert_eq!(row(&html, "Kommet til"), ["2"]);
    assert_eq!(row(&html, "Forladt listen"), ["1"]);
    assert_eq!(row(&html, "Vækst (kommet til minus forladt)"), ["1"]);
    assert_eq!(row(&html, "Frafald (forladt i forhold til listen ved start)"), ["50,0 %"]);
    assert!(
        html.contains("<dt>Hårde returmails</dt><dd>1</dd>") && html.contains("<dt>Bløde returmails</dt><dd>1</dd>")
    );
    assert!(html.contains("<dt>Klager over mail</dt><dd>0</dd>"));
    // The trend of the recurring rating: the two evaluated meetings of the period only.
    assert!(html.contains(r#"aria-labelledby="trend-overall-title""#));
    let year = days(-40).to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Copenhagen").unwrap()).year();
    assert_eq!(row(&html, &format!("2. møde ({year}) (demo)")), ["4,50", "2"]);
    assert!(html.contains(r#"role="img" aria-labelledby="year-attendance-title""#));
    assert!(!html.contains("style="), "no inline style: the CSP forbids it");

    // The same figures in the CSV…
    let res = get(format!("/admin/year.csv?{query}")).await;
    assert_eq!(res.status(), 200);
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.contains(&format!("filename=\"aarsoversigt-{from}-{to}.csv\"")), "{disposition}");
    let body = res.bytes().await.unwrap();
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "a byte-order mark for Excel");
    let csv = String::from_utf8(body[3..].to_vec()).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], "Afsnit;Emne;Dato;Inviterede;Tilmeldte;Deltog;Udeblev;Værdi");
    assert_eq!(lines[1], format!("Møde;2. møde: Første møde;{};5;3;2;1;", day(-40)));
    assert_eq!(lines[2], format!("Møde;3. møde: Andet møde;{};5;4;4;0;", day(-20)));
    assert_eq!(lines[3], format!("Møde;4. møde: Tredje møde;{};2;2;1;1;", day(-10)));
    for expected in [
        "Møder;Holdt;;;;;;3",
        "Møder;Aflyst;;;;;;1",
        "Organisationer;Deltog i 1 møde;;;;;;1",
        "Organisationer;Deltog i 2 møder;;;;;;1",
        "Organisationer;Deltog i 3 møder;;;;;;1",
        "Organisationer;I alt;;;;;;3",
        "Listen;Ved periodens start;;;;;;2",
        "Listen;Kommet til;;;;;;2",
        "Listen;Forladt;;;;;;1",
        "Listen;Vækst;;;;;;1",
        "Listen;Frafald;;;;;;0,5",
        "Returmails;Hårde;;;;;;1",
        "Returmails;Bløde;;;;;;1",
        "Returmails;Klager;;;;;;0",
    ] {
        assert!(lines.contains(&expected), "{expected} in {csv}");
    }
    let evaluations: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("Evaluering;")).collect();
    assert_eq!(evaluations.len(), 2, "{csv}");
    assert!(evaluations[0].contains(": 2. møde: Første møde;") && evaluations[0].ends_with(";4,5"));
    assert!(evaluations[1].contains(": 4. møde: Tredje møde;") && evaluations[1].ends_with(";3"));

    // … and in the XLSX, in English, with numbers as numbers.
    let res = get(format!("/admin/year.xlsx?{query}&lang=en")).await;
    assert_eq!(res.status(), 200);
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(res.bytes().await.unwrap().to_vec())).unwrap();
    assert_eq!(book.sheet_names(), ["Annual picture"]);
    let range = book.worksheet_range("Annual picture").unwrap();
    assert_eq!(cell(&range, 0, 7), Data::String("Value".into()));
    assert_eq!(cell(&range, 1, 1), Data::String("Meeting 2: Første møde".into()));
    assert_eq!((3..7).map(|c| cell(&range, 1, c)).collect::<Vec<_>>(), [5.0, 3.0, 2.0, 1.0].map(Data::Float));
    let every_time = (1..range.height())
        .find(|&r| cell(&range, r, 1) == Data::String("Took part in 3 meetings".into()))
        .expect("a line for every time");
    assert_eq!(cell(&range, every_time, 7), Data::Float(1.0));

    // A reversed period is refused next to its field, and nothing is lost.
    let html = common::text(get(format!("/admin/year?from={to}&to={from}")).await, 422).await;
    assert!(html.contains("Slutdatoen må ikke ligge før startdatoen.") && html.contains(r#"id="to-error""#));
    assert!(html.contains(&format!(r#"value="{to}""#)));
    assert_eq!(get(format!("/admin/year.csv?from={to}&to={from}")).await.status(), 422);
    app.stop().await;
}
both_engines!(the_annual_picture_adds_up_on_the_page_and_in_its_downloads);
