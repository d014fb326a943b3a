//! The mailing list for organisers and for the people on it, end to end over
//! HTTP: the subscribers API (list, filters, paging, create, change, roles,
//! CSV import), erasure that leaves no trace, and the self-service profile
//! reached by a link in a mail.

use crate::common;

use std::fmt::Write as _;

use common::{Engine, TestApp, api_token};
use dialogforum::domain::{Email, Name, PersonId, PersonStatus, Role};
use serde_json::{Value, json};

fn api(app: &TestApp, path: &str) -> String {
    format!("{}/api/v1{path}", app.base)
}

/// Adds a person through the API and returns them as the API shows them.
async fn add(app: &TestApp, token: &str, email: &str, name: &str, organisation: &str, interests: &[&str]) -> Value {
    let body = json!({"email": email, "name": name, "organisation": organisation, "interests": interests});
    let res = app.api(token).post("/subscribers", &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn list(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Value {
    let res = app.http.get(api(app, "/subscribers")).bearer_auth(token).query(query).send().await.unwrap();
    assert_eq!(res.status(), 200, "{query:?}: {}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// The addresses of one page, in order.
async fn emails(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Vec<String> {
    let page = list(app, token, query).await;
    page["items"].as_array().unwrap().iter().map(|p| p["email"].as_str().unwrap().to_owned()).collect()
}

fn id_of(person: &Value) -> PersonId {
    person["id"].as_str().unwrap().parse().unwrap()
}

/// Runs one statement through a connection of the test's own.
async fn exec(app: &TestApp, sql: &str) {
    match app.db.engine {
        Engine::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Engine::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// Every row of every table as text, one line per row, prefixed by the table.
/// Binary columns (mail bodies, hashes) are read as bytes, so an address in a
/// stored message would show too.
async fn dump(app: &TestApp) -> String {
    let mut out = String::new();
    for (table, row) in whole_rows(app).await {
        let rows: Vec<String> =
            on_db!(app.db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select {row} from \"{table}\"")))
                .fetch_all(&pool)
                .await
                .unwrap());
        for r in rows {
            let text = match app.db.engine {
                Engine::Sqlite => {
                    let bytes: Vec<u8> =
                        (0..r.len()).step_by(2).map(|i| u8::from_str_radix(&r[i..i + 2], 16).unwrap()).collect();
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                Engine::Postgres => r,
            };
            writeln!(out, "{table}: {text}").unwrap();
        }
    }
    out
}

/// Each table with the expression that reads one of its rows as one text,
/// the columns parted by `|`: in `SQLite` as hex, in `PostgreSQL` as text
/// with binary columns unescaped.
async fn whole_rows(app: &TestApp) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match app.db.engine {
        Engine::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            let tables: Vec<String> = sqlx::query_scalar("select name from sqlite_master where type = 'table'")
                .fetch_all(&pool)
                .await
                .unwrap();
            for table in tables {
                let columns: Vec<String> =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select name from pragma_table_info('{table}')")))
                        .fetch_all(&pool)
                        .await
                        .unwrap();
                let row = columns
                    .iter()
                    .map(|c| format!("coalesce(hex(\"{c}\"), '')"))
                    .collect::<Vec<_>>()
                    .join(" || '7C' || ");
                out.push((table, row));
            }
            pool.close().await;
        }
        Engine::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
            let tables: Vec<String> = sqlx::query_scalar(
                "select table_name::text from information_schema.tables where table_schema = 'public' \
                 and table_type = 'BASE TABLE'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            for table in tables {
                let columns: Vec<(String, String)> = sqlx::query_as(
                    "select column_name::text, data_type::text from information_schema.columns \
                     where table_schema = 'public' and table_name = $1 order by ordinal_position",
                )
                .bind(&table)
                .fetch_all(&pool)
                .await
                .unwrap();
                let row = columns
                    .iter()
                    .map(
                        |(c, t)| {
                            if t == "bytea" { format!("encode(\"{c}\", 'escape')") } else { format!("\"{c}\"::text") }
                        },
                    )
                    .collect::<Vec<_>>()
                    .join(", ");
                out.push((table, format!("concat_ws('|', {row})")));
            }
            pool.close().await;
        }
    }
    out
}

/// The audit entries whose subject is `id`: (action, actor kind, detail).
async fn audit_of(app: &TestApp, id: PersonId) -> Vec<(String, String, String)> {
    let sql = "select action, actor_kind, detail from audit_log where subject_id = $1 order by id";
    match app.db.engine {
        Engine::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            let rows = sqlx::query_as(sql).bind(id.uuid()).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        }
        Engine::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
            let rows = sqlx::query_as(sql).bind(id.uuid()).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        }
    }
}

/// The audit entries of `action`: (detail, row count).
async fn audit_by_action(app: &TestApp, action: &str) -> Vec<(String, Option<i64>)> {
    let sql = "select detail, row_count from audit_log where action = $1 order by id";
    match app.db.engine {
        Engine::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            let rows = sqlx::query_as(sql).bind(action).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        }
        Engine::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
            let rows = sqlx::query_as(sql).bind(action).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        }
    }
}

/// A person as the store reads them, whatever their status.
async fn person(app: &TestApp, id: PersonId) -> dialogforum::store::subscribers::Subscriber {
    app.store().subscriber(id).await.unwrap()
}

async fn the_list_filters_by_search_status_interest_and_organisation_and_pages_through_everyone_once(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "secretariat@forum.example", Role::Organiser).await;
    let anna =
        add(&app, &token, "anna@nordlys-it.example", "Anna Bøgh", "Nordlys IT A/S", &["ai", "cybersecurity"]).await;
    let mads =
        add(&app, &token, "mads@fjordsikkerhed.example", "Mads Østergaard", "Fjord Sikkerhed ApS", &["cybersecurity"])
            .await;
    let ida = add(&app, &token, "ida@velfaerdstek.example", "Ida Lund", "Velfærdsteknik", &["welfare-tech"]).await;
    for n in 1..=7 {
        add(&app, &token, &format!("p{n}@bulk.example"), &format!("Bulk Person {n}"), "Bulk ApS", &[]).await;
    }
    // Pending: signed up on the web, not confirmed.
    app.sign_up("jonas@groenkode.example", "Jonas Venter", "Grøn Kode ApS").await;
    // Unsubscribed by an organiser, bounced by a returned mail.
    let res = app
        .api(&token)
        .patch(&format!("/subscribers/{}", mads["id"].as_str().unwrap()), &json!({"status": "unsubscribed"}))
        .await;
    assert_eq!(res.status(), 200);
    let mut tx = app.store().begin().await.unwrap();
    dialogforum::store::bounces::record_bounce(
        &mut tx,
        id_of(&ida),
        dialogforum::store::bounces::BounceKind::Hard,
        "5.1.1",
        5,
    )
    .await
    .unwrap();
    // A guest, invited once, is not on the list.
    let guest = dialogforum::store::people::NewPerson {
        email: Email::parse("guest@parti.example").unwrap(),
        name: Name::parse("Gæst Gustavsen").unwrap(),
        organisation: None,
        status: PersonStatus::Guest,
        interests: vec![],
    };
    dialogforum::store::people::insert_person_if_new(&mut tx, &guest, None).await.unwrap();
    tx.commit().await.unwrap();

    let all = emails(&app, &token, &[("limit", "200")]).await;
    assert_eq!(all.len(), 11, "{all:?}");
    assert!(!all.contains(&"guest@parti.example".to_owned()), "guests are never listed");
    assert_eq!(all[0], "jonas@groenkode.example", "newest first");

    assert_eq!(
        emails(&app, &token, &[("q", "BØGH")]).await,
        ["anna@nordlys-it.example"],
        "any case, Danish letters too"
    );
    assert_eq!(emails(&app, &token, &[("q", "østergaard")]).await, ["mads@fjordsikkerhed.example"]);
    assert_eq!(
        emails(&app, &token, &[("q", "FjordSikkerhed.EXAMPLE")]).await,
        ["mads@fjordsikkerhed.example"],
        "part of the address"
    );
    assert_eq!(
        emails(&app, &token, &[("q", "VELFÆRD")]).await,
        ["ida@velfaerdstek.example"],
        "part of the organisation"
    );
    assert!(emails(&app, &token, &[("q", "%")]).await.is_empty(), "wildcards are searched for, not obeyed");
    assert_eq!(emails(&app, &token, &[("status", "pending")]).await, ["jonas@groenkode.example"]);
    assert_eq!(emails(&app, &token, &[("status", "unsubscribed")]).await, ["mads@fjordsikkerhed.example"]);
    assert_eq!(emails(&app, &token, &[("status", "bounced")]).await, ["ida@velfaerdstek.example"]);
    assert_eq!(emails(&app, &token, &[("status", "confirmed"), ("limit", "200")]).await.len(), 8);
    let mut cyber = emails(&app, &token, &[("interest", "cybersecurity")]).await;
    cyber.sort();
    assert_eq!(cyber, ["anna@nordlys-it.example", "mads@fjordsikkerhed.example"]);
    assert_eq!(
        emails(&app, &token, &[("interest", "cybersecurity"), ("status", "confirmed")]).await,
        ["anna@nordlys-it.example"]
    );
    assert_eq!(emails(&app, &token, &[("organisation", "nordlys it a/s")]).await, ["anna@nordlys-it.example"]);
    assert_eq!(emails(&app, &token, &[("organisation", "Bulk ApS"), ("limit", "200")]).await.len(), 7);

    let page = list(&app, &token, &[("q", "anna")]).await;
    let item = &page["items"][0];
    assert_eq!(item["id"], anna["id"]);
    assert_eq!(item["name"], "Anna Bøgh");
    assert_eq!(item["organisation"], "Nordlys IT A/S");
    assert_eq!(item["interests"], json!(["ai", "cybersecurity"]));
    assert_eq!(item["status"], "confirmed");
    assert_eq!(item["language"], "da");
    assert!(item["created_at"].as_str().unwrap().contains('T') && item["confirmed_at"].is_string());
    assert!(page["next"].is_null());

    for (query, status) in
        [(("status", "guest"), 400), (("interest", "nope"), 400), (("limit", "0"), 400), (("cursor", "x"), 400)]
    {
        let res = app.http.get(api(&app, "/subscribers")).bearer_auth(&token).query(&[query]).send().await.unwrap();
        assert_eq!(res.status(), status, "{query:?}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }

    // Paging with a small limit sees everyone exactly once, in the same order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "3".to_owned())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let page: Value = app
            .http
            .get(api(&app, "/subscribers"))
            .bearer_auth(&token)
            .query(&query)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|p| p["email"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, all, "each person once, in order");

    // The search is in the audit log: what was searched for and how many it showed.
    let searches = audit_by_action(&app, "subscribers.list").await;
    assert!(searches.contains(&("q=BØGH".to_owned(), Some(1))), "{searches:?}");
    assert!(searches.contains(&("status=confirmed".to_owned(), Some(8))), "{searches:?}");
    app.stop().await;
}
both_engines!(the_list_filters_by_search_status_interest_and_organisation_and_pages_through_everyone_once);

async fn an_organiser_adds_a_person_once_and_the_second_time_gets_409(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "secretariat@forum.example", Role::Organiser).await;
    let body = json!({"email": "Karen@Blixtoft.example", "name": "Karen Blixtoft", "organisation": "Blixtoft Rådgivning",
        "interests": ["procurement", "ai", "ai"], "language": "en"});
    let res = app.api(&token).post("/subscribers", &body).await;
    assert_eq!(res.status(), 201);
    let karen: Value = res.json().await.unwrap();
    assert_eq!(karen["email"], "karen@blixtoft.example");
    assert_eq!(karen["status"], "confirmed");
    assert_eq!(karen["interests"], json!(["ai", "procurement"]));
    assert_eq!(karen["language"], "en");
    assert!(karen["confirmed_at"].is_string());

    let one: Value =
        app.api(&token).get(&format!("/subscribers/{}", karen["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(one, karen);
    let data = app.store().personal_data(id_of(&karen)).await.unwrap();
    assert_eq!(data.consents.len(), 1);
    assert_eq!(data.consents[0].method, "api", "the organiser's word is the basis");
    assert!(data.consents[0].proof.contains("API token of account"), "{}", data.consents[0].proof);
    assert!(data.consents[0].confirmed_at.is_some());
    let actions: Vec<String> = audit_of(&app, id_of(&karen)).await.into_iter().map(|a| a.0).collect();
    assert_eq!(actions, ["subscriber.create", "subscriber.view"]);

    let again = json!({"email": "KAREN@blixtoft.example", "name": "Karen B."});
    let res = app.api(&token).post("/subscribers", &again).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().starts_with("email"), "{problem}");

    for (body, field) in [
        (json!({"email": "not-an-address", "name": "X"}), "email"),
        (json!({"email": "x@y.example", "name": " "}), "name"),
        (json!({"email": "x@y.example", "name": "X", "interests": ["nope"]}), "interests[0]"),
        (json!({"email": "x@y.example", "name": "X", "language": "de"}), "language"),
    ] {
        let res = app.api(&token).post("/subscribers", &body).await;
        assert_eq!(res.status(), 422, "{body}");
        let problem: Value = res.json().await.unwrap();
        assert!(problem["detail"].as_str().unwrap().starts_with(field), "{problem}");
    }
    let res = app.api(&token).get(&format!("/subscribers/{}", uuid::Uuid::now_v7())).await;
    assert_eq!(res.status(), 404);

    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    for path in ["/subscribers", "/subscribers/{id}", "/subscribers/import"] {
        assert!(doc["paths"][path].is_object(), "the OpenAPI document describes {path}");
    }
    assert!(doc["paths"]["/subscribers/{id}"]["delete"].is_object());
    app.stop().await;
}
both_engines!(an_organiser_adds_a_person_once_and_the_second_time_gets_409);

async fn patch_changes_the_details_and_can_only_take_someone_off_the_list(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "secretariat@forum.example", Role::Organiser).await;
    let karen = add(&app, &token, "karen@blixtoft.example", "Karen Blixtoft", "Blixtoft Rådgivning", &["ai"]).await;
    let url = api(&app, &format!("/subscribers/{}", karen["id"].as_str().unwrap()));
    let patch = |body: Value| app.http.patch(&url).bearer_auth(&token).json(&body).send();

    let res = patch(json!({"name": "Karen Blixtoft-Ærø", "organisation": "Ærø Data", "interests": ["green-it", "procurement"], "language": "en"})).await.unwrap();
    assert_eq!(res.status(), 200);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["name"], "Karen Blixtoft-Ærø");
    assert_eq!(changed["organisation"], "Ærø Data");
    assert_eq!(changed["interests"], json!(["green-it", "procurement"]));
    assert_eq!(changed["language"], "en");
    assert_eq!(changed["email"], "karen@blixtoft.example");
    assert_eq!(changed["status"], "confirmed");

    let res = patch(json!({"organisation": null})).await.unwrap();
    let cleared: Value = res.json().await.unwrap();
    assert!(cleared["organisation"].is_null());
    assert_eq!(cleared["name"], "Karen Blixtoft-Ærø", "what is left out stays");

    for (body, status) in [
        (json!({"status": "confirmed"}), 422),
        (json!({"status": "bounced"}), 422),
        (json!({"email": "other@x.example"}), 422),
        (json!({"interests": ["nope"]}), 422),
        (json!({"name": ""}), 422),
        (json!({}), 422),
    ] {
        let res = patch(body.clone()).await.unwrap();
        assert_eq!(res.status(), status, "{body}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }

    let res = patch(json!({"status": "unsubscribed"})).await.unwrap();
    assert_eq!(res.status(), 200);
    let gone: Value = res.json().await.unwrap();
    assert_eq!(gone["status"], "unsubscribed");
    let data = app.store().personal_data(id_of(&karen)).await.unwrap();
    assert!(data.consents[0].withdrawn_at.is_some(), "leaving withdraws the consent");
    assert!(data.profile.left_at.is_some());

    let updates = audit_by_action(&app, "subscriber.update").await;
    let details: Vec<&str> = updates.iter().map(|u| u.0.as_str()).collect();
    assert_eq!(details, ["name, organisation, interests, language", "organisation", "status"]);

    let res = app.api(&token).patch(&format!("/subscribers/{}", uuid::Uuid::now_v7()), &json!({"name": "X"})).await;
    assert_eq!(res.status(), 404);
    app.stop().await;
}
both_engines!(patch_changes_the_details_and_can_only_take_someone_off_the_list);

async fn a_viewer_may_not_list_read_change_import_or_erase(engine: Engine) {
    let (app, organiser) = TestApp::with_token(engine, "secretariat@forum.example", Role::Organiser).await;
    let viewer = api_token(&app, "reader@forum.example", Role::Viewer).await;
    let anna = add(&app, &organiser, "anna@nordlys-it.example", "Anna Bøgh", "Nordlys IT A/S", &[]).await;
    let one = api(&app, &format!("/subscribers/{}", anna["id"].as_str().unwrap()));

    let refused = [
        app.http.get(api(&app, "/subscribers")).bearer_auth(&viewer),
        app.http.get(&one).bearer_auth(&viewer),
        app.http
            .post(api(&app, "/subscribers"))
            .bearer_auth(&viewer)
            .json(&json!({"email": "x@y.example", "name": "X"})),
        app.http.patch(&one).bearer_auth(&viewer).json(&json!({"name": "Changed"})),
        app.http.delete(&one).bearer_auth(&viewer),
        app.http
            .post(api(&app, "/subscribers/import"))
            .bearer_auth(&viewer)
            .header("content-type", "text/csv")
            .body("email,name,organisation\r\nz@y.example,Z,Z\r\n"),
    ];
    for req in refused {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    let after = list(&app, &organiser, &[]).await;
    assert_eq!(after["items"].as_array().unwrap().len(), 1, "nothing was added, imported or erased");
    assert_eq!(after["items"][0]["name"], "Anna Bøgh", "nothing was changed");
    assert_eq!(app.http.get(api(&app, "/subscribers")).send().await.unwrap().status(), 401);
    app.stop().await;
}
both_engines!(a_viewer_may_not_list_read_change_import_or_erase);

async fn an_import_through_the_api_reads_danish_files_and_reports_every_reject_by_line(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "secretariat@forum.example", Role::Organiser).await;
    let import = |body: Vec<u8>| {
        app.http
            .post(api(&app, "/subscribers/import"))
            .bearer_auth(&token)
            .header("content-type", "text/csv")
            .body(body)
            .send()
    };
    // Danish Excel: a byte order mark, semicolons, Danish headers and letters, a quoted field with a semicolon.
    let csv = "\u{feff}Navn;E-mail;Virksomhed;Interesser\r\n\
               Anna Bøgh;anna@nordlys-it.example;Nordlys IT A/S;Kunstig intelligens,cybersecurity\r\n\
               Bad Row;not-an-address;X;\r\n\
               Mads Østergaard;MADS@fjordsikkerhed.example;Fjord Sikkerhed ApS;\r\n\
               Anna igen;ANNA@nordlys-it.example;Nordlys IT A/S;\r\n\
               ;ida@velfaerdstek.example;Velfærdsteknik;\r\n\
               ;;;\r\n\
               \"Åse Åbyhøj\";\"aase@aabyhoj.example\";\"Åbyhøj Data; Analyse\";Grøn it\r\n";
    let res = import(csv.as_bytes().to_vec()).await.unwrap();
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["imported"], 3, "{report}");
    assert_eq!(report["already_known"], 0);
    let rejected = report["rejected"].as_array().unwrap();
    let lines: Vec<i64> = rejected.iter().map(|r| r["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, [3, 5, 6], "{report}");
    assert!(rejected[0]["reason"].as_str().unwrap().starts_with("email"));
    assert!(rejected[1]["reason"].as_str().unwrap().contains("earlier in the file (line 2)"), "{report}");
    assert!(rejected[2]["reason"].as_str().unwrap().starts_with("name"));

    let aase = &list(&app, &token, &[("q", "åbyhøj")]).await["items"][0];
    assert_eq!(aase["name"], "Åse Åbyhøj");
    assert_eq!(aase["organisation"], "Åbyhøj Data; Analyse");
    assert_eq!(aase["interests"], json!(["green-it"]), "a title is read as its interest");
    assert_eq!(aase["status"], "confirmed");
    let anna = &list(&app, &token, &[("q", "anna@")]).await["items"][0];
    assert_eq!(anna["name"], "Anna Bøgh", "the first of two lines with one address wins");
    assert_eq!(anna["interests"], json!(["ai", "cybersecurity"]));
    let data = app.store().personal_data(id_of(anna)).await.unwrap();
    assert_eq!(data.consents[0].method, "import");

    // Older Excel: Windows-1252, commas, English headers; one address is known already.
    let mut cp1252 = b"email,name,organisation\r\nsoeren@aeroe.example,S".to_vec();
    cp1252.extend_from_slice(b"\xf8ren \xc6r\xf8,\xc6r\xf8 IT\r\nanna@nordlys-it.example,Anna,Nordlys IT A/S\r\n");
    let report: Value = import(cp1252).await.unwrap().json().await.unwrap();
    assert_eq!((report["imported"].as_i64(), report["already_known"].as_i64()), (Some(1), Some(1)), "{report}");
    let soeren = &list(&app, &token, &[("q", "ærø")]).await["items"][0];
    assert_eq!(soeren["name"], "Søren Ærø");
    assert_eq!(soeren["organisation"], "Ærø IT");

    let res = import(b"mail,navn\r\nx@y.example,X\r\n".to_vec()).await.unwrap();
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("email, name and organisation"), "{problem}");

    let audit = audit_by_action(&app, "subscribers.import").await;
    assert_eq!(audit.len(), 2);
    assert!(audit[0].0.starts_with("3 imported, 0 already known, 3 rejected"), "{audit:?}");
    assert!(audit[1].0.contains("windows-1252"), "{audit:?}");
    assert_eq!(audit[1].1, Some(1));
    app.stop().await;
}
both_engines!(an_import_through_the_api_reads_danish_files_and_reports_every_reject_by_line);

async fn a_database_failure_during_an_import_leaves_nothing_half_imported(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "secretariat@forum.example", Role::Organiser).await;
    // The database refuses the third person of the file.
    match engine {
        Engine::Sqlite => {
            exec(
                &app,
                "create trigger refuse_boom before insert on person when new.email = 'boom@fail.example' \
                        begin select raise(abort, 'refused by the test'); end",
            )
            .await;
        }
        Engine::Postgres => {
            exec(
                &app,
                "create function refuse_boom() returns trigger language plpgsql as $$ begin \
                        if new.email = 'boom@fail.example' then raise exception 'refused by the test'; end if; \
                        return new; end $$",
            )
            .await;
            exec(
                &app,
                "create trigger refuse_boom before insert on person for each row execute function refuse_boom()",
            )
            .await;
        }
    }
    let csv =
        "email,name,organisation\r\none@ok.example,One,Ok\r\ntwo@ok.example,Two,Ok\r\nboom@fail.example,Boom,Fail\r\n";
    let res = app.http.post(api(&app, "/subscribers/import")).bearer_auth(&token).body(csv).send().await.unwrap();
    assert_eq!(res.status(), 500);
    assert!(emails(&app, &token, &[]).await.is_empty(), "nothing of the file was imported");
    assert!(audit_by_action(&app, "subscribers.import").await.is_empty());
    app.stop().await;
}
both_engines!(a_database_failure_during_an_import_leaves_nothing_half_imported);

/// Sets up a person with something in every place personal data can be:
/// consent, interests, an organisation of their own, a registration with free
/// text, a link token and a sent mail, a campaign audience (as member and as
/// guest) and an organiser's search for their name. Returns the person and the API token.
async fn someone_with_data_everywhere(app: &TestApp, email: &str, name: &str) -> (Value, String) {
    let token = api_token(app, "secretariat@forum.example", Role::Organiser).await;
    let person = add(app, &token, email, name, "Blixtoft Rådgivning", &["ai", "green-it"]).await;
    // Someone else, who must stay as they are.
    add(app, &token, "anna@nordlys-it.example", "Anna Bøgh", "Nordlys IT A/S", &["ai"]).await;

    let meeting = json!({"title": "17. møde", "starts_at": "2027-03-04T13:00:00+01:00", "ends_at": "2027-03-04T16:00:00+01:00",
        "format": "physical", "venue": "Weidekampsgade 10"});
    let res = app.api(&token).post("/meetings", &meeting).await;
    assert_eq!(res.status(), 201);
    let meeting: Value = res.json().await.unwrap();
    let meeting_id: dialogforum::domain::MeetingId = meeting["id"].as_str().unwrap().parse().unwrap();
    let res = app.api(&token).act(&format!("/meetings/{meeting_id}/publish")).await;
    assert_eq!(res.status(), 200);
    let invitation = json!({"audience": {"subscriber_ids": [person["id"]]}, "guests": [{"email": email, "name": name}],
        "send_at": "2030-01-01T09:00:00+01:00"});
    let res = app.api(&token).post(&format!("/meetings/{meeting_id}/invitations"), &invitation).await;
    assert_eq!(res.status(), 202);

    let mut tx = app.store().begin().await.unwrap();
    dialogforum::store::registrations::ensure_invited(&mut tx, meeting_id, id_of(&person)).await.unwrap();
    tx.commit().await.unwrap();
    exec(
        app,
        &format!(
            "update registration set status = 'attending', diet = 'vegetar', \
                        comment = '{name} kommer lidt senere' \
                        where person_id = (select id from person where email = '{email}')"
        ),
    )
    .await;

    assert_eq!(list(app, &token, &[("q", name)]).await["items"].as_array().unwrap().len(), 1);
    let res = app.post_form("/me", &[("email", email)]).await;
    assert_eq!(res.status(), 200);
    (person, token)
}

/// Fails when `name` or `email` appears anywhere in the database; and, so that
/// this check could fail, `before` is a dump in which both did appear.
fn assert_no_trace(before: &str, after: &str, email: &str, name: &str) {
    for needle in [email.to_lowercase(), name.to_lowercase()] {
        assert!(before.to_lowercase().contains(&needle), "the dump shows {needle} before the erasure");
        let left: Vec<&str> = after.lines().filter(|l| l.to_lowercase().contains(&needle)).collect();
        assert!(left.is_empty(), "{needle} is still in:\n{}", left.join("\n"));
    }
}

async fn erasing_through_the_api_leaves_no_trace_but_a_pseudonymous_audit_entry(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (email, name) = ("karen@blixtoft.example", "Karen Blixtoft");
    let (karen, token) = someone_with_data_everywhere(&app, email, name).await;
    let id = id_of(&karen);
    // The profile mail is on its way or sent; either way it is a row.
    let before = dump(&app).await;
    assert!(before.contains("outbox: "), "the profile link mail is in the outbox");

    let url = api(&app, &format!("/subscribers/{id}"));
    let res = app.http.delete(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_no_trace(&before, &dump(&app).await, email, name);
    assert_no_trace(&before, &dump(&app).await, email, "Blixtoft Rådgivning");
    assert_eq!(app.http.get(&url).bearer_auth(&token).send().await.unwrap().status(), 404);
    assert_eq!(app.http.delete(&url).bearer_auth(&token).send().await.unwrap().status(), 404);

    let audit = audit_of(&app, id).await;
    let erase = audit.iter().find(|a| a.0 == "person.erase").expect("an erasure entry with the person's id");
    assert_eq!(erase.1, "user");
    assert!(
        erase.2.contains("registrations 1")
            && erase.2.contains("consents 1")
            && erase.2.contains("campaign audiences 1"),
        "{erase:?}"
    );
    assert!(audit.iter().any(|a| a.0 == "subscriber.create"), "earlier entries stay, by id");
    let registrations = audit_by_action(&app, "registration.erase").await;
    assert_eq!(
        registrations,
        [("registration of an erased person: attending".to_owned(), Some(1))],
        "the meeting's count stays derivable"
    );

    // The other person is untouched.
    let anna = &list(&app, &token, &[]).await["items"][0];
    assert_eq!((anna["name"].as_str(), anna["organisation"].as_str()), (Some("Anna Bøgh"), Some("Nordlys IT A/S")));
    assert_eq!(anna["interests"], json!(["ai"]));
    app.stop().await;
}
both_engines!(erasing_through_the_api_leaves_no_trace_but_a_pseudonymous_audit_entry);

async fn erasing_through_the_profile_page_leaves_no_trace_either(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    let (email, name) = ("karen@blixtoft.example", "Karen Blixtoft");
    let (karen, _) = someone_with_data_everywhere(&app, email, name).await;
    let mail = smtp.wait_for(1, 10).await;
    let me = mail[0].link_path("/me/");
    assert_eq!(mail[0].to, [email]);

    let page = app.get(&me).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(&format!("action=\"{me}/erase\"")));
    // Without the ticked box nothing happens, and the box says why.
    let res = app.post_form(&format!("{me}/erase"), &[] as &[(&str, &str)]).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"id="confirm-error""#)
            && html.contains(r#"aria-describedby="confirm-error""#)
            && html.contains(r##"href="#confirm""##)
    );
    assert_eq!(person(&app, id_of(&karen)).await.name, name);

    let before = dump(&app).await;
    let res = app.post_form(&format!("{me}/erase"), &[("confirm", "yes")]).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Dine oplysninger er slettet"));
    assert_no_trace(&before, &dump(&app).await, email, name);
    let audit = audit_of(&app, id_of(&karen)).await;
    let erase = audit.iter().find(|a| a.0 == "person.erase").expect("an erasure entry with the person's id");
    assert_eq!(erase.1, "person", "they erased themselves");
    assert_eq!(app.get(&me).await.status(), 404, "the link died with the data");
    app.stop().await;
}
both_engines!(erasing_through_the_profile_page_leaves_no_trace_either);

async fn a_profile_link_by_mail_lets_a_person_change_their_details_and_download_their_data(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[("security.confirmations_per_address_per_day", "2")]).await;
    let form = app.get("/me").await.text().await.unwrap();
    assert!(form.contains(r#"action="/me""#) && form.contains(r#"name="email""#));

    // Sign up and confirm on the web, so that there is a consent record with its proof.
    let signup = [
        ("name", "Søren Ærø"),
        ("email", "soren@nordlys-it.example"),
        ("organisation", "Nordlys IT A/S"),
        ("interests", "ai"),
        ("consent", "yes"),
    ];
    assert_eq!(app.post_form("/subscribe", &signup).await.status(), 200);
    let confirm = smtp.wait_for(1, 10).await[0].link_path("/confirm/");
    assert_eq!(app.http.post(format!("{}{confirm}", app.base)).send().await.unwrap().status(), 200);

    // Asking for the link: a bad address is explained by the field; any good one gets the same answer.
    let res = app.post_form("/me", &[("email", "not an address")]).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"aria-invalid="true""#) && html.contains(r#"aria-describedby="email-error""#));
    let known = app.post_form("/me", &[("email", "SOREN@nordlys-it.example")]).await.text().await.unwrap();
    let unknown = app.post_form("/me", &[("email", "nobody@nordlys-it.example")]).await.text().await.unwrap();
    assert_eq!(known, unknown, "the page tells nobody who is on the list");
    let mails = smtp.wait_for(2, 10).await;
    let me = mails[1].link_path("/me/");
    assert_eq!(mails[1].to, ["soren@nordlys-it.example"]);

    // Opening the link shows the details and changes nothing.
    let html = app.get(&me).await.text().await.unwrap();
    assert!(
        html.contains(r#"value="Søren Ærø""#)
            && html.contains(r#"value="ai" checked"#)
            && html.contains(r#"value="da" checked"#)
    );
    assert!(html.contains(&format!("href=\"{me}/data.json\"")));
    let id = app
        .store()
        .subscribers(&dialogforum::store::subscribers::SubscriberFilter { limit: 10, ..Default::default() })
        .await
        .unwrap()[0]
        .id;
    assert!(audit_of(&app, id).await.iter().all(|a| a.0 != "person.update"));

    // A bad form comes back with the message by the field and the values kept.
    let bad = [("name", ""), ("organisation", "Ny Org"), ("interests", "green-it"), ("language", "en")];
    let res = app.post_form(&me, &bad).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"id="name-error""#)
            && html.contains(r#"aria-describedby="name-error""#)
            && html.contains(r##"href="#name""##)
    );
    assert!(html.contains(r#"value="Ny Org""#) && html.contains(r#"value="green-it" checked"#));
    assert_eq!(person(&app, id).await.name, "Søren Ærø");

    let good = [
        ("name", "Søren Ærø Hansen"),
        ("organisation", "Ny Org"),
        ("interests", "green-it"),
        ("interests", "procurement"),
        ("language", "en"),
    ];
    let res = app.post_form(&me, &good).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Dine ændringer er gemt"));
    let now = person(&app, id).await;
    assert_eq!(now.name, "Søren Ærø Hansen");
    assert_eq!(now.organisation.as_deref(), Some("Ny Org"));
    assert_eq!(now.interests, ["green-it", "procurement"]);
    assert_eq!(now.language, "en");
    assert_eq!(now.email.as_str(), "soren@nordlys-it.example");

    // Everything held about them, as JSON; downloading is recorded, and shows in the next download.
    let res = app.get(&format!("{me}/data.json")).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let data: Value = res.json().await.unwrap();
    assert_eq!(data["profile"]["name"], "Søren Ærø Hansen");
    assert_eq!(data["profile"]["email"], "soren@nordlys-it.example");
    let consent = &data["consents"][0];
    assert_eq!(consent["method"], "web");
    assert_eq!(consent["purpose"], "mailing-list");
    assert!(consent["text_shown"].as_str().unwrap().starts_with("Ja, jeg vil gerne"));
    assert!(consent["confirmed_at"].is_string() && !consent["proof"].as_str().unwrap().is_empty());
    let actions: Vec<&str> = data["audit"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"person.confirm") && actions.contains(&"person.update"), "{actions:?}");
    assert!(data["messages"].as_array().unwrap().len() >= 2);
    let again: Value = app.get(&format!("{me}/data.json")).await.json().await.unwrap();
    assert!(again["audit"].as_array().unwrap().iter().any(|a| a["action"] == "person.export"));

    // At most two profile mails a day to one address, whatever is asked.
    app.post_form("/me", &[("email", "soren@nordlys-it.example")]).await;
    app.post_form("/me", &[("email", "soren@nordlys-it.example")]).await;
    app.outbox_settled().await;
    let profile_mails = smtp.messages().iter().filter(|m| m.plain().contains("/me/")).count();
    assert_eq!(profile_mails, 2, "two profile links, no more");

    assert_eq!(app.get("/me/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await.status(), 404);
    assert_eq!(
        app.get(&confirm.replace("/confirm/", "/me/")).await.status(),
        404,
        "a confirmation token is no profile link"
    );
    app.stop().await;
}
both_engines!(a_profile_link_by_mail_lets_a_person_change_their_details_and_download_their_data);

async fn profile_link_requests_are_limited_per_client(engine: Engine) {
    let app = TestApp::spawn_with(engine, &[("security.signups_per_ip_per_hour", "2")]).await;
    for _ in 0..2 {
        assert_eq!(app.post_form("/me", &[("email", "someone@nordlys-it.example")]).await.status(), 200);
    }
    let res = app.post_form("/me", &[("email", "someone@nordlys-it.example")]).await;
    assert_eq!(res.status(), 429);
    app.stop().await;
}
both_engines!(profile_link_requests_are_limited_per_client);

async fn an_expired_profile_link_explains_itself_and_shows_nothing(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "secretariat@forum.example", Role::Organiser).await;
    let karen = add(&app, &token, "karen@blixtoft.example", "Karen Blixtoft", "", &[]).await;
    let profile = dialogforum::domain::TokenPurpose::Profile;
    let link = common::expired_link(app.store(), profile, id_of(&karen), dialogforum::store::now()).await;
    let res = app.get(&format!("/me/{link}")).await;
    assert_eq!(res.status(), 410, "gone");
    let html = res.text().await.unwrap();
    assert!(html.contains("Linket er udløbet") && !html.contains("Karen"));
    assert_eq!(app.get(&format!("/me/{link}/data.json")).await.status(), 410);
    let res = app.post_form(&format!("/me/{link}/erase"), &[("confirm", "yes")]).await;
    assert_eq!(res.status(), 410);
    assert_eq!(person(&app, id_of(&karen)).await.name, "Karen Blixtoft");
    app.stop().await;
}
both_engines!(an_expired_profile_link_explains_itself_and_shows_nothing);
