//! Exports end to end on both engines: participant lists, the mailing list
//! and the public list of organisations, fetched through the API, the
//! organiser page and the command line, and opened with real readers (the
//! csv crate, BOM removed, and calamine for XLSX). Danish letters survive,
//! formula-like text is neutralised, cells are typed, only consenting
//! organisations are listed and in Danish order, viewers are refused, and
//! every export of personal data leaves an audit entry.

use crate::common;

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use common::{Engine, TestApp, api_token};
use dialogforum::domain::{Email, Name, PersonId, PersonStatus, Role};
use dialogforum::store::people::{NewPerson, insert_person_if_new};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn micros(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_microsecond()
}

async fn add_person(
    app: &TestApp,
    email: &str,
    name: &str,
    organisation: Option<&str>,
    status: PersonStatus,
) -> PersonId {
    let mut tx = app.store().begin().await.unwrap();
    let p = NewPerson {
        email: Email::parse(email).unwrap(),
        name: Name::parse(name).unwrap(),
        organisation: organisation.map(|o| Name::parse(o).unwrap()),
        status,
        interests: Vec::new(),
    };
    let (id, _) = insert_person_if_new(&mut tx, &p, None).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// One registration as the export reads it.
struct Reg<'a> {
    status: &'a str,
    track: Option<&'a str>,
    diet: &'a str,
    listed: bool,
    checked_in: Option<&'a str>,
    answered: &'a str,
}

async fn register(app: &TestApp, meeting: uuid::Uuid, person: PersonId, r: &Reg<'_>) {
    let created = micros("2026-02-01T12:00:00+01:00");
    on_db!(app.db, |pool| sqlx::query(
        "insert into registration (id, meeting_id, person_id, status, track_key, diet, list_organisation, \
         answered_at, checked_in_at, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)"
    )
    .bind(uuid::Uuid::now_v7())
    .bind(meeting)
    .bind(person.uuid())
    .bind(r.status)
    .bind(r.track)
    .bind(r.diet)
    .bind(r.listed)
    .bind(micros(r.answered))
    .bind(r.checked_in.map(micros))
    .bind(created)
    .execute(&pool)
    .await
    .unwrap()
    .rows_affected());
}

async fn set_cvr(app: &TestApp, organisation: &str, cvr: &str) {
    on_db!(app.db, |pool| sqlx::query("update organisation set cvr = $1 where name = $2")
        .bind(cvr)
        .bind(organisation)
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected());
}

/// The app with an organiser's API token and the [`seed`] meeting.
async fn seeded(engine: Engine) -> (TestApp, String, uuid::Uuid) {
    let (app, token) = TestApp::with_token(engine, "organiser@forum.example", Role::Organiser).await;
    let meeting = seed(&app, &token).await;
    (app, token, meeting)
}

/// Meeting 16 with a track, five people (two of them from organisations
/// whose names look like formulas) and their answers; returns the meeting id.
async fn seed(app: &TestApp, token: &str) -> uuid::Uuid {
    let meeting = serde_json::json!({
        "title": "Sikkerhed: data/AI?",
        "number": 16,
        "starts_at": "2026-03-05T09:00:00+01:00",
        "ends_at": "2026-03-05T15:00:00+01:00",
        "format": "physical",
        "venue": "Weidekampsgade 10, København S",
        "tracks": [{"key": "ai", "title": "Kunstig intelligens"}],
    });
    let res = app.api(token).post("/meetings", &meeting).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let id: uuid::Uuid = res.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().parse().unwrap();

    let soeren =
        add_person(app, "soren@aero.example", "Søren Ærbø", Some("Ærø Øl & Åbne Data A/S"), PersonStatus::Confirmed)
            .await;
    let hyper = add_person(
        app,
        "x@hyper.example",
        "Åse Østergård",
        Some("=HYPERLINK(\"http://evil.example\",\"klik\")"),
        PersonStatus::Confirmed,
    )
    .await;
    let plus = add_person(app, "p@plus.example", "@SUM(A1:A9)", Some("+1"), PersonStatus::Confirmed).await;
    let minus = add_person(app, "m@minus.example", "Mads Minus", Some("-2"), PersonStatus::Confirmed).await;
    let invited = add_person(app, "i@invited.example", "Ingen Svar", Some("Tavs ApS"), PersonStatus::Confirmed).await;
    set_cvr(app, "Ærø Øl & Åbne Data A/S", "10150817").await;

    let answered = "2026-02-10T08:15:00+01:00";
    let base = Reg { status: "attending", track: None, diet: "", listed: true, checked_in: None, answered };
    register(
        app,
        id,
        soeren,
        &Reg {
            track: Some("ai"),
            diet: "Vegetar, ingen nødder",
            checked_in: Some("2026-03-05T09:05:00+01:00"),
            ..base
        },
    )
    .await;
    register(app, id, hyper, &Reg { status: "waitlisted", ..base }).await;
    register(app, id, plus, &Reg { status: "declined", ..base }).await;
    register(app, id, minus, &Reg { status: "attending", listed: false, ..base }).await;
    register(app, id, invited, &Reg { status: "invited", ..base }).await;
    id
}

/// The rows of a CSV export, after checking its byte-order mark and line ends.
fn read_csv(body: &[u8], sep: u8) -> Vec<Vec<String>> {
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "UTF-8 byte-order mark first");
    let text = std::str::from_utf8(&body[3..]).expect("UTF-8");
    assert!(text.ends_with("\r\n"), "CRLF line ends");
    assert!(!text.replace("\r\n", "").contains('\n'), "no bare LF outside quoted fields here");
    let mut reader = csv::ReaderBuilder::new().delimiter(sep).has_headers(false).from_reader(&body[3..]);
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

/// The one sheet of an XLSX export: its name and cells.
fn read_xlsx(body: Vec<u8>) -> (String, calamine::Range<Data>, calamine::Range<String>) {
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(body)).expect("a workbook calamine can read");
    let names = book.sheet_names();
    assert_eq!(names.len(), 1);
    let range = book.worksheet_range(&names[0]).unwrap();
    let formulas = book.worksheet_formula(&names[0]).unwrap();
    (names[0].clone(), range, formulas)
}

fn cell(range: &calamine::Range<Data>, row: usize, col: usize) -> Data {
    range.get((row, col)).cloned().unwrap_or(Data::Empty)
}

/// The row whose cell in `col` is `text`.
fn row_of(range: &calamine::Range<Data>, col: usize, text: &str) -> usize {
    (1..range.height()).find(|&r| cell(range, r, col) == Data::String(text.into())).expect(text)
}

async fn download(app: &TestApp, token: &str, path: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let res = app.http.get(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.bytes().await.unwrap().to_vec();
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    (headers, body)
}

async fn audit_rows(app: &TestApp, action: &str) -> Vec<(String, String, Option<i64>)> {
    on_db!(app.db, |pool| sqlx::query_as(
        "select actor_label, detail, row_count from audit_log where action = $1 order by id"
    )
    .bind(action)
    .fetch_all(&pool)
    .await
    .unwrap())
}

async fn a_participant_list_opens_in_csv_and_xlsx_readers_with_danish_letters_and_no_formulas(engine: Engine) {
    let (app, token, meeting) = seeded(engine).await;

    // CSV, Danish, semicolons.
    let (headers, body) = download(&app, &token, &format!("/api/v1/meetings/{meeting}/participants.csv")).await;
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"deltagere-moede-16.csv\"; filename*=UTF-8''deltagere-m%C3%B8de-16.csv"
    );
    let rows = read_csv(&body, b';');
    assert_eq!(
        rows[0],
        [
            "Navn",
            "Organisation",
            "CVR-nummer",
            "E-mail",
            "Status",
            "Spor",
            "Kost",
            "Tilgængelighed",
            "Tjekket ind",
            "Tilmeldt"
        ]
    );
    assert_eq!(rows.len(), 5, "four who answered; the merely invited are left out: {rows:?}");
    assert_eq!(rows[1][3], "m@minus.example", "attending first, by name");
    let by_email = |email: &str| rows.iter().find(|r| r[3] == email).unwrap().clone();
    assert_eq!(
        by_email("soren@aero.example"),
        [
            "Søren Ærbø",
            "Ærø Øl & Åbne Data A/S",
            "10150817",
            "soren@aero.example",
            "Deltager",
            "Kunstig intelligens",
            "Vegetar, ingen nødder",
            "",
            "2026-03-05 09:05",
            "2026-02-10 08:15"
        ]
    );
    assert_eq!(by_email("x@hyper.example")[1], "'=HYPERLINK(\"http://evil.example\",\"klik\")");
    assert_eq!(by_email("x@hyper.example")[0], "Åse Østergård");
    assert_eq!(by_email("x@hyper.example")[4], "Venteliste");
    assert_eq!(by_email("p@plus.example")[..2], ["'@SUM(A1:A9)", "'+1"]);
    assert_eq!(by_email("p@plus.example")[4], "Afbud");
    assert_eq!(by_email("m@minus.example")[1], "'-2");
    assert!(!String::from_utf8_lossy(&body).contains("i@invited.example"));

    // CSV, English, commas.
    let (_, body) =
        download(&app, &token, &format!("/api/v1/meetings/{meeting}/participants.csv?sep=comma&lang=en")).await;
    let rows = read_csv(&body, b',');
    assert_eq!(rows[0][..3], ["Name", "Organisation", "CVR number"]);
    let soeren = rows.iter().find(|r| r[3] == "soren@aero.example").unwrap();
    assert_eq!(soeren[1], "Ærø Øl & Åbne Data A/S");
    assert_eq!(soeren[4], "Attending");
    assert_eq!(soeren[6], "Vegetar, ingen nødder", "a comma inside a field is quoted, not split");

    // XLSX.
    let (headers, body) = download(&app, &token, &format!("/api/v1/meetings/{meeting}/participants.xlsx")).await;
    assert_eq!(headers["content-type"], XLSX);
    assert!(headers["content-disposition"].to_str().unwrap().contains("filename=\"deltagere-moede-16.xlsx\""));
    let (sheet, range, formulas) = read_xlsx(body);
    assert_eq!(sheet, "16. møde Sikkerhed data AI", "named after the meeting, without : / ?");
    assert_eq!(range.height(), 5);
    assert_eq!(cell(&range, 0, 0), Data::String("Navn".into()));
    let row = row_of(&range, 3, "soren@aero.example");
    assert_eq!(cell(&range, row, 0), Data::String("Søren Ærbø".into()));
    assert_eq!(cell(&range, row, 1), Data::String("Ærø Øl & Åbne Data A/S".into()));
    assert_eq!(cell(&range, row, 2), Data::String("10150817".into()), "a CVR number stays text");
    let Data::DateTime(checked_in) = cell(&range, row, 8) else { panic!("checked in at is a date cell") };
    assert!(checked_in.is_datetime());
    assert_eq!(checked_in.to_ymd_hms_milli(), (2026, 3, 5, 9, 5, 0, 0), "Copenhagen time");
    assert!(matches!(cell(&range, row, 9), Data::DateTime(_)));
    let texts: Vec<Data> = (1..5).map(|r| cell(&range, r, 1)).collect();
    for evil in ["=HYPERLINK(\"http://evil.example\",\"klik\")", "+1", "-2"] {
        assert!(texts.contains(&Data::String(evil.into())), "{evil} is a plain string cell: {texts:?}");
    }
    assert!((0..5).any(|r| cell(&range, r, 0) == Data::String("@SUM(A1:A9)".into())));
    assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "no formula anywhere");

    // Each download of personal data is in the audit log, with its row count.
    let audited = audit_rows(&app, "export.participants").await;
    assert_eq!(audited.len(), 3);
    assert!(audited.iter().all(|(who, _, n)| !who.contains("organiser@") && *n == Some(4)), "{audited:?}");
    assert_eq!(audited[2].1, "deltagere-møde-16.xlsx");
    app.stop().await;
}
both_engines!(a_participant_list_opens_in_csv_and_xlsx_readers_with_danish_letters_and_no_formulas);

async fn a_viewer_may_not_export_personal_data(engine: Engine) {
    let (app, _, meeting) = seeded(engine).await;
    let viewer = api_token(&app, "viewer@forum.example", Role::Viewer).await;
    for path in [
        format!("/api/v1/meetings/{meeting}/participants.csv"),
        format!("/api/v1/meetings/{meeting}/participants.xlsx"),
        "/api/v1/subscribers.csv".to_owned(),
        "/api/v1/subscribers.xlsx".to_owned(),
    ] {
        let res = app.http.get(format!("{}{path}", app.base)).bearer_auth(&viewer).send().await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem: serde_json::Value = res.json().await.unwrap();
        assert!(problem["detail"].as_str().unwrap().contains("organiser or admin"), "{problem}");
    }
    // The public list holds no personal data.
    let res = app.api(&viewer).get(&format!("/meetings/{meeting}/organisations")).await;
    assert_eq!(res.status(), 200);
    assert!(audit_rows(&app, "export.participants").await.is_empty());
    assert!(audit_rows(&app, "export.subscribers").await.is_empty());
    app.stop().await;
}
both_engines!(a_viewer_may_not_export_personal_data);

async fn the_public_list_names_only_consenting_organisations_in_danish_order(engine: Engine) {
    let (app, token, meeting) = seeded(engine).await;
    // More attendees who agreed to be named, to test the order.
    let answered = "2026-02-10T08:15:00+01:00";
    let yes = Reg { status: "attending", track: None, diet: "", listed: true, checked_in: None, answered };
    for (i, org) in
        ["Zenit Consult", "ørsted it", "aarhus data", "Åben Kode ApS", "æble IT", "Beta A/S"].iter().enumerate()
    {
        let p = add_person(&app, &format!("p{i}@org{i}.example"), "Anna Andersen", Some(org), PersonStatus::Confirmed)
            .await;
        register(&app, meeting, p, &yes).await;
    }
    // A second attendee of an organisation already listed, and one who did not consent.
    let p = add_person(&app, "two@zenit.example", "Zenia Zenit", Some("Zenit Consult"), PersonStatus::Confirmed).await;
    register(&app, meeting, p, &Reg { listed: false, ..yes }).await;
    let p = add_person(&app, "no@hidden.example", "Hanne Skjult", Some("Skjult A/S"), PersonStatus::Confirmed).await;
    register(&app, meeting, p, &Reg { listed: false, ..yes }).await;
    // Consent, but a decline: not a participant.
    let p = add_person(&app, "no@declined.example", "Dorte Afbud", Some("Afbud ApS"), PersonStatus::Confirmed).await;
    register(&app, meeting, p, &Reg { status: "declined", ..yes }).await;

    let expected =
        ["aarhus data", "Beta A/S", "Zenit Consult", "æble IT", "Ærø Øl & Åbne Data A/S", "ørsted it", "Åben Kode ApS"];
    let res = app.api(&token).get(&format!("/meetings/{meeting}/organisations")).await;
    assert_eq!(res.status(), 200);
    let list: serde_json::Value = res.json().await.unwrap();
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names, expected, "the waitlisted =HYPERLINK…, the declined +1 and the unlisted -2 are left out");

    let (headers, body) = download(&app, &token, &format!("/api/v1/meetings/{meeting}/organisations.csv")).await;
    assert!(headers["content-disposition"].to_str().unwrap().contains("organisationer-m%C3%B8de-16.csv"));
    let rows = read_csv(&body, b';');
    assert_eq!(rows[0], ["Organisation"]);
    assert_eq!(rows[1..].iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), expected);

    let (_, body) = download(&app, &token, &format!("/api/v1/meetings/{meeting}/organisations.xlsx?lang=en")).await;
    let (sheet, range, _) = read_xlsx(body);
    assert_eq!(sheet, "Meeting 16 Sikkerhed data AI");
    let got: Vec<Data> = (1..range.height()).map(|r| cell(&range, r, 0)).collect();
    assert_eq!(got, expected.iter().map(|s| Data::String((*s).into())).collect::<Vec<_>>());
    assert!(audit_rows(&app, "export.participants").await.is_empty(), "the public list is not personal data");
    app.stop().await;
}
both_engines!(the_public_list_names_only_consenting_organisations_in_danish_order);

async fn the_mailing_list_exports_with_numbers_dates_and_an_audit_entry(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "admin@forum.example", Role::Admin).await;
    seed(&app, &token).await;
    add_person(&app, "gaest@guest.example", "Gæst Gæstesen", None, PersonStatus::Guest).await;
    add_person(&app, "ny@pending.example", "Ny Person", None, PersonStatus::Pending).await;

    let (headers, body) = download(&app, &token, "/api/v1/subscribers.xlsx").await;
    assert!(headers["content-disposition"].to_str().unwrap().contains("filename=\"postliste-"));
    let (sheet, range, _) = read_xlsx(body);
    assert_eq!(sheet, "postliste");
    assert_eq!(cell(&range, 0, 6), Data::String("Møder deltaget i".into()));
    assert_eq!(range.height(), 7, "header, five confirmed, one pending; never the guest");
    let row = row_of(&range, 1, "soren@aero.example");
    assert_eq!(cell(&range, row, 0), Data::String("Søren Ærbø".into()));
    assert_eq!(cell(&range, row, 3), Data::String("Bekræftet".into()));
    assert_eq!(cell(&range, row, 6), Data::Float(1.0), "a count is a number");
    assert!(matches!(cell(&range, row, 7), Data::DateTime(d) if d.is_datetime()), "signed up at is a date");
    let pending = row_of(&range, 1, "ny@pending.example");
    assert_eq!(cell(&range, pending, 8), Data::Empty, "not confirmed yet");

    let (_, body) = download(&app, &token, "/api/v1/subscribers.csv?status=pending&lang=en").await;
    let rows = read_csv(&body, b';');
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][..4], ["Ny Person", "ny@pending.example", "", "Pending"]);
    assert_eq!(rows[1][6], "0");

    let res = app.api(&token).get("/subscribers.csv?status=guest").await;
    assert_eq!(res.status(), 422);
    let res = app.api(&token).get("/subscribers.csv?sep=tab").await;
    assert_eq!(res.status(), 422);

    let audited = audit_rows(&app, "export.subscribers").await;
    assert_eq!(audited.iter().map(|a| a.2).collect::<Vec<_>>(), [Some(6), Some(1)]);
    app.stop().await;
}
both_engines!(the_mailing_list_exports_with_numbers_dates_and_an_audit_entry);

async fn a_long_list_streams_whole(engine: Engine) {
    let (app, token, meeting) = seeded(engine).await;
    let at = micros("2026-02-10T08:15:00+01:00");
    on_db!(app.db, |pool| {
        for chunk in (0..3000).collect::<Vec<i32>>().chunks(500) {
            let mut q =
                sqlx::QueryBuilder::new("insert into person (id, email, name, status, created_at, updated_at) ");
            let ids: Vec<uuid::Uuid> = chunk.iter().map(|_| uuid::Uuid::now_v7()).collect();
            q.push_values(chunk.iter().zip(&ids), |mut b, (i, id)| {
                b.push_bind(*id)
                    .push_bind(format!("deltager{i}@mange.example"))
                    .push_bind(format!("Deltager nr. {i} æøå"))
                    .push_bind("confirmed")
                    .push_bind(at)
                    .push_bind(at);
            });
            q.build().execute(&pool).await.unwrap();
            let mut q = sqlx::QueryBuilder::new(
                "insert into registration (id, meeting_id, person_id, status, answered_at, created_at, updated_at) ",
            );
            q.push_values(&ids, |mut b, id| {
                b.push_bind(uuid::Uuid::now_v7())
                    .push_bind(meeting)
                    .push_bind(*id)
                    .push_bind("attending")
                    .push_bind(at)
                    .push_bind(at)
                    .push_bind(at);
            });
            q.build().execute(&pool).await.unwrap();
        }
    });
    let (_, body) = download(&app, &token, &format!("/api/v1/meetings/{meeting}/participants.csv")).await;
    assert!(body.len() > 200_000, "several chunks: {} bytes", body.len());
    let rows = read_csv(&body, b';');
    assert_eq!(rows.len(), 3005);
    assert!(rows.iter().skip(1).all(|r| r.len() == 10));
    let (_, body) = download(&app, &token, &format!("/api/v1/meetings/{meeting}/participants.xlsx")).await;
    let (_, range, _) = read_xlsx(body);
    assert_eq!(range.height(), 3005);
    assert_eq!(
        audit_rows(&app, "export.participants").await.iter().map(|a| a.2).collect::<Vec<_>>(),
        [Some(3004), Some(3004)]
    );
    app.stop().await;
}
both_engines!(a_long_list_streams_whole);

async fn the_export_page_offers_downloads_to_organisers_and_refuses_viewers(engine: Engine) {
    let (app, _, meeting) = seeded(engine).await;
    let http = app.sign_in("organiser@forum.example").await.http;
    let page = http.get(format!("{}/admin/exports?meeting={meeting}", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<label for="participants-meeting">"#) && html.contains(r#"id="participants-meeting""#));
    assert!(html.contains(&format!(r#"<option value="{meeting}" selected>"#)), "the meeting is chosen");
    assert!(html.contains(r#"action="/admin/exports/download""#));
    assert!(!html.contains("<script") && !html.contains("style="), "no inline script or style");

    let res = http
        .get(format!("{}/admin/exports/download", app.base))
        .query(&[("what", "participants"), ("meeting", &meeting.to_string()), ("format", "xlsx"), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("participants-meeting-16.xlsx"));
    let (_, range, _) = read_xlsx(res.bytes().await.unwrap().to_vec());
    assert_eq!(cell(&range, 0, 0), Data::String("Name".into()));
    assert_eq!(range.height(), 5);
    let res = http
        .get(format!("{}/admin/exports/download", app.base))
        .query(&[("what", "subscribers"), ("format", "csv-comma")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let rows = read_csv(&res.bytes().await.unwrap(), b',');
    assert_eq!(rows.len(), 6);
    let audited = audit_rows(&app, "export.participants").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audit_rows(&app, "export.subscribers").await.len(), 1);

    api_token(&app, "viewer@forum.example", Role::Viewer).await;
    let viewer = app.sign_in("viewer@forum.example").await.http;
    let res = viewer
        .get(format!("{}/admin/exports/download", app.base))
        .query(&[("what", "participants"), ("meeting", &meeting.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(res.text().await.unwrap().contains("<h1"), "an error page");
    assert_eq!(audit_rows(&app, "export.participants").await.len(), 1, "nothing exported, nothing recorded");
    app.stop().await;
}
both_engines!(the_export_page_offers_downloads_to_organisers_and_refuses_viewers);

async fn the_command_line_exports_participants_and_subscribers_to_files(engine: Engine) {
    let (app, _, meeting) = seeded(engine).await;
    let dir = tempfile::tempdir().unwrap();
    let env = [("DIALOGFORUM_DATABASE__URL", app.db.url.as_str()), ("DIALOGFORUM_MAIL__TRANSPORT", "log")];

    let xlsx = dir.path().join("deltagere.xlsx");
    let out =
        common::cli(&["export", "participants", "16", "--format", "xlsx", "-o", xlsx.to_str().unwrap()], &env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 rows written"));
    let (sheet, range, _) = read_xlsx(std::fs::read(&xlsx).unwrap());
    assert_eq!(sheet, "16. møde Sikkerhed data AI");
    let row = row_of(&range, 3, "soren@aero.example");
    assert_eq!(cell(&range, row, 1), Data::String("Ærø Øl & Åbne Data A/S".into()));
    assert!(matches!(cell(&range, row, 8), Data::DateTime(_)));

    let csv_file = dir.path().join("deltagere.csv");
    let out = common::cli(
        &[
            "export",
            "participants",
            &meeting.to_string(),
            "--format",
            "csv",
            "--sep",
            "comma",
            "-o",
            csv_file.to_str().unwrap(),
        ],
        &env,
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = read_csv(&std::fs::read(&csv_file).unwrap(), b',');
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().any(|r| r[1] == "'=HYPERLINK(\"http://evil.example\",\"klik\")"));

    let list = dir.path().join("postliste.csv");
    let out = common::cli(&["export", "subscribers", "--format", "csv", "-o", list.to_str().unwrap()], &env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = read_csv(&std::fs::read(&list).unwrap(), b';');
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().any(|r| r[0] == "Åse Østergård"));

    let out =
        common::cli(&["export", "participants", "99", "-o", dir.path().join("x.csv").to_str().unwrap()], &env, "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no meeting 99"));

    let audited = audit_rows(&app, "export.participants").await;
    assert_eq!(audited.iter().map(|a| (a.0.as_str(), a.2)).collect::<Vec<_>>(), [("cli", Some(4)), ("cli", Some(4))]);
    assert_eq!(audit_rows(&app, "export.subscribers").await[0].2, Some(5));
    app.stop().await;
}
both_engines!(the_command_line_exports_participants_and_subscribers_to_files);

async fn evaluation_results_export_with_counts_shares_and_neutralised_free_text(engine: Engine) {
    use dialogforum::domain::evaluation::{Answer, Answers};
    let (app, token, meeting) = seeded(engine).await;
    let answer = |overall: u8, balance: &str, comment: Option<&str>| {
        let mut a = std::collections::BTreeMap::new();
        a.insert("overall".to_owned(), Answer::Rating(overall));
        a.insert("balance".to_owned(), Answer::Choice(balance.to_owned()));
        if let Some(c) = comment {
            a.insert("comments".to_owned(), Answer::Text(c.to_owned()));
        }
        Answers(a)
    };
    let answers = [
        answer(4, "balanced", Some("=cmd|' /C calc'!A0")),
        answer(5, "balanced", Some("Godt møde, flere æbler")),
        answer(3, "too_much_talk", None),
    ];
    let sent: jiff::Timestamp = "2026-03-06T10:00:00+01:00".parse().unwrap();
    let mut tx = app.store().begin().await.unwrap();
    let id = dialogforum::domain::MeetingId::from_uuid(meeting);
    let stored = dialogforum::store::evaluations::insert_demo(&mut tx, id, sent, sent, 10, &answers).await.unwrap();
    assert!(stored);
    tx.commit().await.unwrap();

    let (headers, body) = download(&app, &token, &format!("/api/v1/meetings/{meeting}/evaluation/results.xlsx")).await;
    assert!(headers["content-disposition"].to_str().unwrap().contains("evaluering-m%C3%B8de-16.xlsx"));
    let (_, range, formulas) = read_xlsx(body);
    assert_eq!(cell(&range, 0, 1), Data::String("Spørgsmål".into()));
    assert_eq!(cell(&range, 1, 1), Data::String("Besvarelser".into()));
    assert_eq!(cell(&range, 1, 4), Data::Float(3.0), "responses are a number");
    assert_eq!(cell(&range, 1, 5), Data::Float(0.3), "the response rate is a number");
    let overall = (1..range.height()).find(|&r| cell(&range, r, 0) == Data::String("overall".into())).unwrap();
    assert_eq!(cell(&range, overall, 4), Data::Float(3.0));
    let Data::Float(avg) = cell(&range, overall, 6) else { panic!("the average is a number") };
    assert!((avg - 4.0).abs() < 1e-9);
    let balanced = row_of(&range, 3, "Passende");
    assert_eq!(cell(&range, balanced, 4), Data::Float(2.0));
    let Data::Float(share) = cell(&range, balanced, 5) else { panic!("a share is a number") };
    assert!((share - 2.0 / 3.0).abs() < 1e-9);
    row_of(&range, 3, "=cmd|' /C calc'!A0");
    row_of(&range, 3, "Godt møde, flere æbler");
    assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));

    let (_, body) = download(&app, &token, &format!("/api/v1/meetings/{meeting}/evaluation/results.csv")).await;
    let rows = read_csv(&body, b';');
    assert_eq!(rows[1][4..6], ["3", "0,3"], "a decimal comma beside semicolons");
    assert!(rows.iter().any(|r| r[3] == "'=cmd|' /C calc'!A0"));
    assert!(rows.iter().any(|r| r[3] == "Passende" && r[5] == "0,6667"));

    // A meeting without an evaluation has nothing to download.
    let other = serde_json::json!({"title": "Uden evaluering", "number": 17, "starts_at": "2026-09-01T09:00:00+02:00",
        "ends_at": "2026-09-01T15:00:00+02:00", "format": "virtual"});
    let res = app.api(&token).post("/meetings", &other).await;
    let other = res.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let res = app.api(&token).get(&format!("/meetings/{other}/evaluation/results.csv")).await;
    assert_eq!(res.status(), 404);

    assert_eq!(audit_rows(&app, "export.evaluation").await.len(), 2);
    let doc: serde_json::Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    for path in [
        "/meetings/{id}/participants.csv",
        "/meetings/{id}/participants.xlsx",
        "/meetings/{id}/organisations",
        "/meetings/{id}/organisations.csv",
        "/subscribers.csv",
        "/subscribers.xlsx",
        "/meetings/{id}/evaluation/results.xlsx",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is in the OpenAPI document");
    }
    app.stop().await;
}
both_engines!(evaluation_results_export_with_counts_shares_and_neutralised_free_text);
