//! The organiser pages for people and organisations, end to end over HTTP on
//! both engines: signing in, searching (and the audit entry it leaves),
//! editing, CVR numbers valid and invalid, erasure, viewers refused on every
//! change; and the retention purge of stale sign-ups.

mod common;

use common::{Engine, TestApp, TestDb, api_token};
use dialogforum::domain::{Email, Name, PersonId, PersonStatus, Role, Token, TokenPurpose};
use dialogforum::store::people::{NewPerson, insert_person_if_new};
use dialogforum::store::tokens::{NewLinkToken, insert_link_tokens};
use dialogforum::store::{Store, StoreError, retention};

/// Runs `$body` with `$pool` connected to the test database with the native driver.
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db.engine {
            Engine::Sqlite => {
                let $pool = sqlx::SqlitePool::connect(&$db.url).await.unwrap();
                let r = $body;
                $pool.close().await;
                r
            }
            Engine::Postgres => {
                let $pool = sqlx::PgPool::connect(&$db.url).await.unwrap();
                let r = $body;
                $pool.close().await;
                r
            }
        }
    };
}

fn csrf_of(html: &str) -> String {
    let start = html.find(r#"name="csrf" value=""#).expect("a csrf field") + r#"name="csrf" value=""#.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A client of its own, signed in as `email`; returns it with its CSRF token.
async fn sign_in(app: &TestApp, email: &str) -> (reqwest::Client, String) {
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
    let res = http
        .post(format!("{}/login", app.base))
        .form(&[("email", email), ("password", "a long enough password"), ("next", "/admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let html = http.get(format!("{}/admin", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("/admin/people"), "the dashboard links to the people pages");
    let csrf = csrf_of(&html);
    (http, csrf)
}

async fn add_person(store: &Store, email: &str, name: &str, organisation: &str, status: PersonStatus) -> PersonId {
    let mut tx = store.begin().await.unwrap();
    let p = NewPerson {
        email: Email::parse(email).unwrap(),
        name: Name::parse(name).unwrap(),
        organisation: Some(Name::parse(organisation).unwrap()),
        status,
        interests: Vec::new(),
    };
    let (id, _) = insert_person_if_new(&mut tx, &p, None).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn text(res: reqwest::Response, status: u16) -> String {
    let got = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(got, status, "{body}");
    body
}

both_engines! {
    async fn an_organiser_searches_edits_sets_cvr_and_erases(engine: Engine) {
        let app = TestApp::spawn(engine).await;
        api_token(&app, "organiser@forum.example", Role::Organiser).await;
        let mette = add_person(app.store(), "mette@energi.example", "Mette Jensen", "Grøn Energi A/S", PersonStatus::Confirmed).await;
        add_person(app.store(), "soren@vind.example", "Søren Holm", "Vindkraft ApS", PersonStatus::Confirmed).await;
        let (http, csrf) = sign_in(&app, "organiser@forum.example").await;
        let url = |path: &str| format!("{}{path}", app.base);

        // Search, and the audit entry it leaves.
        let html = text(http.get(url("/admin/people")).query(&[("q", "mette")]).send().await.unwrap(), 200).await;
        assert!(html.contains("Mette Jensen") && html.contains("Grøn Energi A/S"), "{html}");
        assert!(!html.contains("Søren Holm"));
        let audited: i64 = on_db!(app.db, |pool| sqlx::query_scalar(
            "select count(*) from audit_log where action = 'person.search' and detail = 'mette' and row_count = 1"
        )
        .fetch_one(&pool)
        .await
        .unwrap());
        assert_eq!(audited, 1);
        let html = text(http.get(url("/admin/people")).query(&[("status", "pending")]).send().await.unwrap(), 200).await;
        assert!(!html.contains("Mette Jensen") && !html.contains("Søren Holm"));

        // Details and editing.
        let person = format!("/admin/people/{}", mette.uuid());
        let html = text(http.get(url(&person)).send().await.unwrap(), 200).await;
        assert!(html.contains("mette@energi.example"));
        let form = [("csrf", csrf.as_str()), ("name", "Mette K. Jensen"), ("organisation", "Grøn Energi A/S")];
        let html = text(http.post(url(&person)).form(&form).send().await.unwrap(), 200).await;
        assert!(html.contains("Mette K. Jensen"));
        assert_eq!(app.store().subscriber(mette).await.unwrap().name, "Mette K. Jensen");
        let form = [("csrf", csrf.as_str()), ("name", ""), ("organisation", "Grøn Energi A/S")];
        let html = text(http.post(url(&person)).form(&form).send().await.unwrap(), 422).await;
        assert!(html.contains(r##"href="#name""##) && html.contains(r#"aria-describedby="name-error""#), "{html}");
        let forged = [("csrf", "forged"), ("name", "Someone Else"), ("organisation", "")];
        assert_eq!(http.post(url(&person)).form(&forged).send().await.unwrap().status(), 403);

        // CVR numbers.
        let orgs = app.store().organisations().await.unwrap();
        let org = orgs.iter().find(|o| o.name == "Grøn Energi A/S").unwrap();
        assert_eq!(org.contacts.len(), 1);
        let action = format!("/admin/organisations/{}", org.id.uuid());
        let res = http.post(url(&action)).form(&[("csrf", csrf.as_str()), ("cvr", "DK 1015 0817")]).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let html = text(http.get(url("/admin/organisations")).send().await.unwrap(), 200).await;
        assert!(html.contains("10150817") && html.contains("Mette K. Jensen"), "{html}");
        let field = format!("cvr-{}", org.id.uuid());
        for (bad, message) in [("10150818", "Det er ikke et gyldigt CVR-nummer"), ("1234", "Et CVR-nummer har 8 cifre")] {
            let res = http.post(url(&action)).form(&[("csrf", csrf.as_str()), ("cvr", bad)]).send().await.unwrap();
            let html = text(res, 422).await;
            assert!(html.contains(message), "{html}");
            assert!(html.contains(&format!(r#"id="{field}-error""#)) && html.contains(r#"aria-invalid="true""#));
            assert!(html.contains(&format!(r#"value="{bad}""#)), "the entered value comes back");
        }
        let org = app.store().organisations().await.unwrap().into_iter().find(|o| o.id == org.id).unwrap();
        assert_eq!(org.cvr.as_deref(), Some("10150817"), "an invalid number changes nothing");

        // Erasure needs the box ticked.
        let erase = format!("{person}/erase");
        let html = text(http.post(url(&erase)).form(&[("csrf", csrf.as_str())]).send().await.unwrap(), 422).await;
        assert!(html.contains(r#"aria-describedby="confirm-error""#));
        let res = http.post(url(&erase)).form(&[("csrf", csrf.as_str()), ("confirm", "yes")]).send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert!(matches!(app.store().subscriber(mette).await, Err(StoreError::NotFound)));
        app.stop().await;
    }
}

both_engines! {
    async fn a_viewer_reads_but_gets_403_on_every_post(engine: Engine) {
        let app = TestApp::spawn(engine).await;
        api_token(&app, "viewer@forum.example", Role::Viewer).await;
        let id = add_person(app.store(), "mette@energi.example", "Mette Jensen", "Grøn Energi A/S", PersonStatus::Confirmed).await;
        let org = app.store().organisations().await.unwrap().remove(0).id;
        let (http, csrf) = sign_in(&app, "viewer@forum.example").await;
        let url = |path: &str| format!("{}{path}", app.base);
        assert_eq!(http.get(url("/admin/people")).send().await.unwrap().status(), 200);
        let html = text(http.get(url(&format!("/admin/people/{}", id.uuid()))).send().await.unwrap(), 200).await;
        assert!(!html.contains("/erase"), "no change forms for viewers");
        assert_eq!(http.get(url("/admin/organisations")).send().await.unwrap().status(), 200);

        let posts = [
            (format!("/admin/people/{}", id.uuid()), vec![("name", "Changed Name"), ("organisation", "")]),
            (format!("/admin/people/{}/erase", id.uuid()), vec![("confirm", "yes")]),
            (format!("/admin/organisations/{}", org.uuid()), vec![("cvr", "10150817")]),
        ];
        for (path, fields) in posts {
            let mut form = fields;
            form.push(("csrf", csrf.as_str()));
            let res = http.post(url(&path)).form(&form).send().await.unwrap();
            assert_eq!(res.status(), 403, "{path}");
        }
        let person = app.store().subscriber(id).await.unwrap();
        assert_eq!(person.name, "Mette Jensen");
        assert_eq!(app.store().organisations().await.unwrap()[0].cvr, None);
        app.stop().await;
    }
}

both_engines! {
    async fn stale_pending_signups_and_old_rate_counters_are_purged(engine: Engine) {
        let db = TestDb::new(engine).await;
        let store = db.store().await;
        let stale = add_person(&store, "stale@example.dk", "Stale Pending", "Old Org", PersonStatus::Pending).await;
        let fresh = add_person(&store, "fresh@example.dk", "Fresh Pending", "New Org", PersonStatus::Pending).await;
        let member = add_person(&store, "member@example.dk", "Old Member", "Old Org", PersonStatus::Confirmed).await;
        let mut tx = store.begin().await.unwrap();
        let token = NewLinkToken {
            hash: Token::generate().hash(),
            purpose: TokenPurpose::Confirm,
            person: Some(stale),
            registration: None,
            expires_at: None,
        };
        insert_link_tokens(&mut tx, &[token]).await.unwrap();
        tx.commit().await.unwrap();
        let eight_days_ago = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(8 * 24)).as_microsecond();
        let two_days_ago = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48)).as_microsecond();
        on_db!(db, |pool| {
            for id in [stale, member] {
                sqlx::query("update person set created_at = $1 where id = $2")
                    .bind(eight_days_ago)
                    .bind(id.uuid())
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            sqlx::query(
                "insert into outbox (id, person_id, kind, recipient, message_id, status, next_attempt_at, created_at) \
                 values ($1, $2, 'confirm', 'stale@example.dk', '<stale@test>', 'sent', $3, $3)",
            )
            .bind(uuid::Uuid::now_v7())
            .bind(stale.uuid())
            .bind(eight_days_ago)
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query("insert into login_attempt (key, at) values ('ip:192.0.2.1', $1), ('ip:192.0.2.2', $2)")
                .bind(two_days_ago)
                .bind(jiff::Timestamp::now().as_microsecond())
                .execute(&pool)
                .await
                .unwrap();
        });

        let purged = retention::purge(&store, 7).await.unwrap();
        assert_eq!((purged.pending, purged.link_tokens, purged.messages, purged.rate_counters), (1, 1, 1, 1));
        assert!(matches!(store.subscriber(stale).await, Err(StoreError::NotFound)));
        assert_eq!(store.subscriber(fresh).await.unwrap().status, PersonStatus::Pending, "younger than a week");
        assert_eq!(store.subscriber(member).await.unwrap().status, PersonStatus::Confirmed, "confirmed stays");
        let left: (i64, i64) = on_db!(db, |pool| sqlx::query_as(
            "select (select count(*) from outbox), (select count(*) from login_attempt)"
        )
        .fetch_one(&pool)
        .await
        .unwrap());
        assert_eq!(left, (0, 1));
        store.close().await;
        db.drop_db().await;
    }
}

both_engines! {
    async fn the_people_listing_pages_by_fifty(engine: Engine) {
        let app = TestApp::spawn(engine).await;
        api_token(&app, "organiser@forum.example", Role::Organiser).await;
        for i in 0..52 {
            add_person(app.store(), &format!("p{i}@example.dk"), &format!("Person {i}"), "Same Org", PersonStatus::Confirmed)
                .await;
        }
        let (http, _) = sign_in(&app, "organiser@forum.example").await;
        let rows = |html: &str| html.matches(r#"<tr><td><a href="/admin/people/"#).count();
        let html = text(http.get(format!("{}/admin/people", app.base)).send().await.unwrap(), 200).await;
        assert_eq!(rows(&html), 50);
        let start = html.find(r#"<a href="/admin/people?"#).expect("a next link") + r#"<a href=""#.len();
        let next = html[start..].split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&");
        let html = text(http.get(format!("{}{next}", app.base)).send().await.unwrap(), 200).await;
        assert_eq!(rows(&html), 2);
        assert!(!html.contains(r#"<a href="/admin/people?"#), "no next link on the last page");
        app.stop().await;
    }
}
