//! The organiser pages for people and organisations, end to end over HTTP on
//! both engines: signing in, searching (and the audit entry it leaves),
//! editing, CVR numbers valid and invalid, erasure, viewers refused on every
//! change; and the retention purge of stale sign-ups.

use crate::common;
use crate::common::PostForm as _;

use common::{Engine, SignedIn, TestApp, TestDb, add_person, text};
use dialogforum::domain::{Email, Name, PersonStatus, Role, Token, TokenPurpose};
use dialogforum::store::people::{NewPerson, insert_person_if_new};
use dialogforum::store::tokens::{NewLinkToken, insert_link_tokens};
use dialogforum::store::{StoreError, retention};

/// Signs `email` in and checks that the dashboard has the workspace's bar.
async fn sign_in(app: &TestApp, email: &str) -> SignedIn {
    let signed_in = app.sign_in(email).await;
    assert!(signed_in.page("/admin").await.contains(r#"<nav class="workspace""#), "the dashboard has the bar");
    signed_in
}

async fn an_organiser_searches_edits_sets_cvr_and_erases(engine: Engine) {
    let app = TestApp::with_accounts(engine, &[("organiser@forum.example", Role::Organiser)]).await;
    let mette = app.confirmed_person("mette@energi.example", "Mette Jensen", "Grøn Energi A/S").await;
    app.confirmed_person("soren@vind.example", "Søren Holm", "Vindkraft ApS").await;
    let SignedIn { http, csrf, .. } = sign_in(&app, "organiser@forum.example").await;
    let url = |path: &str| format!("{}{path}", app.base);

    // Search, and the audit entry it leaves.
    let html = text(http.get(url("/admin/people")).query(&[("q", "mette")]).send().await.unwrap(), 200).await;
    common::assert_has(&html, &["Mette Jensen", "Grøn Energi A/S"]);
    assert!(!html.contains("Søren Holm"));
    let audited = app
        .db
        .count("select count(*) from audit_log where action = 'person.search' and detail = 'mette' and row_count = 1")
        .await;
    assert_eq!(audited, 1);
    let html = text(http.get(url("/admin/people")).query(&[("status", "pending")]).send().await.unwrap(), 200).await;
    assert!(!html.contains("Mette Jensen") && !html.contains("Søren Holm"));

    // Details and editing.
    let person = format!("/admin/people/{}", mette.uuid());
    let html = text(http.get(url(&person)).send().await.unwrap(), 200).await;
    assert!(html.contains("mette@energi.example"));
    let form = [("csrf", csrf.as_str()), ("name", "Mette K. Jensen"), ("organisation", "Grøn Energi A/S")];
    let html = text(http.post_form(url(&person), &form).await, 200).await;
    assert!(html.contains("Mette K. Jensen"));
    assert_eq!(app.store().subscriber(mette).await.unwrap().name, "Mette K. Jensen");
    let form = [("csrf", csrf.as_str()), ("name", ""), ("organisation", "Grøn Energi A/S")];
    let html = text(http.post_form(url(&person), &form).await, 422).await;
    assert!(html.contains(r##"href="#name""##) && html.contains(r#"aria-describedby="name-error""#), "{html}");
    let forged = [("csrf", "forged"), ("name", "Someone Else"), ("organisation", "")];
    assert_eq!(http.post_form(url(&person), &forged).await.status(), 403);

    // CVR numbers.
    let orgs = app.store().organisations().await.unwrap();
    let org = orgs.iter().find(|o| o.name == "Grøn Energi A/S").unwrap();
    assert_eq!(org.contacts.len(), 1);
    let action = format!("/admin/organisations/{}", org.id.uuid());
    let res = http.post_form(url(&action), &[("csrf", csrf.as_str()), ("cvr", "DK 1015 0817")]).await;
    assert_eq!(res.status(), 303);
    let html = text(http.get(url("/admin/organisations")).send().await.unwrap(), 200).await;
    common::assert_has(&html, &["10150817", "Mette K. Jensen"]);
    let field = format!("cvr-{}", org.id.uuid());
    for (bad, message) in [("10150818", "Det er ikke et gyldigt CVR-nummer"), ("1234", "Et CVR-nummer har 8 cifre")] {
        let res = http.post_form(url(&action), &[("csrf", csrf.as_str()), ("cvr", bad)]).await;
        let html = text(res, 422).await;
        assert!(html.contains(message), "{html}");
        assert!(html.contains(&format!(r#"id="{field}-error""#)) && html.contains(r#"aria-invalid="true""#));
        assert!(html.contains(&format!(r#"value="{bad}""#)), "the entered value comes back");
    }
    let org = app.store().organisations().await.unwrap().into_iter().find(|o| o.id == org.id).unwrap();
    assert_eq!(org.cvr.as_deref(), Some("10150817"), "an invalid number changes nothing");

    // Erasure needs the box ticked.
    let erase = format!("{person}/erase");
    let html = text(http.post_form(url(&erase), &[("csrf", csrf.as_str())]).await, 422).await;
    assert!(html.contains(r#"aria-describedby="confirm-error""#));
    let res = http.post_form(url(&erase), &[("csrf", csrf.as_str()), ("confirm", "yes")]).await;
    assert_eq!(res.status(), 303);
    assert!(matches!(app.store().subscriber(mette).await, Err(StoreError::NotFound)));
    app.stop().await;
}
both_engines!(an_organiser_searches_edits_sets_cvr_and_erases);

async fn a_viewer_reads_but_gets_403_on_every_post(engine: Engine) {
    let app = TestApp::with_accounts(engine, &[("viewer@forum.example", Role::Viewer)]).await;
    let id = app.confirmed_person("mette@energi.example", "Mette Jensen", "Grøn Energi A/S").await;
    let org = app.store().organisations().await.unwrap().remove(0).id;
    let SignedIn { http, csrf, .. } = sign_in(&app, "viewer@forum.example").await;
    let url = |path: &str| format!("{}{path}", app.base);
    // Lists of people and a person's page are for organisers.
    assert_eq!(http.get(url("/admin/people")).send().await.unwrap().status(), 403);
    assert_eq!(http.get(url(&format!("/admin/people/{}", id.uuid()))).send().await.unwrap().status(), 403);
    assert_eq!(http.get(url("/admin/organisations")).send().await.unwrap().status(), 200);

    let posts = [
        (format!("/admin/people/{}", id.uuid()), vec![("name", "Changed Name"), ("organisation", "")]),
        (format!("/admin/people/{}/erase", id.uuid()), vec![("confirm", "yes")]),
        (format!("/admin/organisations/{}", org.uuid()), vec![("cvr", "10150817")]),
    ];
    for (path, fields) in posts {
        let mut form = fields;
        form.push(("csrf", csrf.as_str()));
        let res = http.post_form(url(&path), &form).await;
        assert_eq!(res.status(), 403, "{path}");
    }
    let person = app.store().subscriber(id).await.unwrap();
    assert_eq!(person.name, "Mette Jensen");
    assert_eq!(app.store().organisations().await.unwrap()[0].cvr, None);
    app.stop().await;
}
both_engines!(a_viewer_reads_but_gets_403_on_every_post);

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
    for id in [stale, member] {
        db.update_by_id("update person set created_at = $1 where id = $2", eight_days_ago, id.uuid()).await;
    }
    on_db!(db, |pool| {
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
    let left: (i64, i64) =
        on_db!(db, |pool| sqlx::query_as("select (select count(*) from outbox), (select count(*) from login_attempt)")
            .fetch_one(&pool)
            .await
            .unwrap());
    assert_eq!(left, (0, 1));
    store.close().await;
    db.drop_db().await;
}
both_engines!(stale_pending_signups_and_old_rate_counters_are_purged);

async fn the_people_listing_pages_by_fifty(engine: Engine) {
    let app = TestApp::with_accounts(engine, &[("organiser@forum.example", Role::Organiser)]).await;
    for i in 0..52 {
        app.confirmed_person(&format!("p{i}@example.dk"), &format!("Person {i}"), "Same Org").await;
    }
    let http = sign_in(&app, "organiser@forum.example").await.http;
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
both_engines!(the_people_listing_pages_by_fifty);

async fn organisers_add_rename_reorder_and_remove_interests(engine: Engine) {
    let app = TestApp::with_accounts(engine, &[("organiser@forum.example", Role::Organiser)]).await;
    let SignedIn { http, csrf, .. } = sign_in(&app, "organiser@forum.example").await;
    let page = |path: &str| format!("{}{path}", app.base);
    let mut tx = app.store().begin().await.unwrap();
    let p = NewPerson {
        email: Email::parse("ida@velfaerdstek.example").unwrap(),
        name: Name::parse("Ida Frølich").unwrap(),
        organisation: None,
        status: PersonStatus::Confirmed,
        interests: vec!["welfare-tech".to_owned(), "ai".to_owned()],
    };
    let (ida, _) = insert_person_if_new(&mut tx, &p, None).await.unwrap();
    tx.commit().await.unwrap();

    // A blank title is refused by its field and nothing is added.
    let res = http
        .post_form(page("/admin/interests"), &[("csrf", csrf.as_str()), ("title_da", " "), ("title_en", "Health")])
        .await;
    let html = text(res, 422).await;
    common::assert_has(&html, &[r#"id="new-da-error""#, r#"value="Health""#]);
    assert_eq!(app.store().interests().await.unwrap().len(), 6);

    let res = http
        .post_form(
            page("/admin/interests"),
            &[("csrf", csrf.as_str()), ("title_da", "Sundhed og velfærd"), ("title_en", "Health and welfare")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let keys = |list: Vec<dialogforum::store::people::Interest>| list.into_iter().map(|i| i.key).collect::<Vec<_>>();
    assert_eq!(keys(app.store().interests().await.unwrap()).last().map(String::as_str), Some("sundhed-og-velfaerd"));

    // Renaming keeps the key and so Ida's choice; moving up swaps with the one before.
    let res = http
        .post_form(
            page("/admin/interests/welfare-tech"),
            &[
                ("csrf", csrf.as_str()),
                ("action", "rename"),
                ("title_da", "Velfærdsteknologi og sundhed"),
                ("title_en", "Welfare and health technology"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = http
        .post_form(page("/admin/interests/sundhed-og-velfaerd"), &[("csrf", csrf.as_str()), ("action", "up")])
        .await;
    assert_eq!(res.status(), 303);
    let order = keys(app.store().interests().await.unwrap());
    assert_eq!(&order[5..], ["sundhed-og-velfaerd", "welfare-tech"]);
    assert_eq!(app.store().subscriber(ida).await.unwrap().interests, ["ai", "welfare-tech"]);
    let form = app.get("/subscribe").await.text().await.unwrap();
    assert!(
        form.contains("Velfærdsteknologi og sundhed") && form.contains("Sundhed og velfærd"),
        "the sign-up form offers them"
    );

    // Removing takes it off Ida's profile too.
    let res =
        http.post_form(page("/admin/interests/welfare-tech"), &[("csrf", csrf.as_str()), ("action", "remove")]).await;
    assert_eq!(res.status(), 303);
    assert!(!keys(app.store().interests().await.unwrap()).contains(&"welfare-tech".to_owned()));
    assert_eq!(app.store().subscriber(ida).await.unwrap().interests, ["ai"]);

    // Without the CSRF token nothing changes.
    let res = http.post_form(page("/admin/interests/ai"), &[("action", "remove")]).await;
    assert_eq!(res.status(), 403);
    app.stop().await;
}
both_engines!(organisers_add_rename_reorder_and_remove_interests);

async fn the_mailings_page_pauses_resumes_and_cancels_a_scheduled_invitation(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "organiser@forum.example", Role::Organiser).await;
    let SignedIn { http, csrf, .. } = sign_in(&app, "organiser@forum.example").await;
    let meeting = serde_json::json!({
        "title": "Grøn it i kommunerne", "starts_at": "2031-05-01T09:00:00+02:00",
        "ends_at": "2031-05-01T12:00:00+02:00", "format": "physical", "venue": "KL-huset", "capacity": 60
    });
    let m: serde_json::Value = app.api(&token).post("/meetings", &meeting).await.json().await.unwrap();
    let id = m["id"].as_str().unwrap();
    assert_eq!(app.api(&token).act(&format!("/meetings/{id}/publish")).await.status(), 200);
    let invite = serde_json::json!({"audience": {"all": true}, "send_at": "2031-04-01T09:00:00+02:00"});
    let res = app.api(&token).post(&format!("/meetings/{id}/invitations"), &invite).await;
    let created: serde_json::Value = res.json().await.unwrap();
    let campaign = created["id"].as_str().or(created["campaign_id"].as_str()).expect("a campaign id").to_owned();

    let page = text(http.get(format!("{}/admin/campaigns", app.base)).send().await.unwrap(), 200).await;
    common::assert_has(&page, &["Grøn it i kommunerne", "planlagt"]);
    let state = |what: &'static str| {
        let http = http.clone();
        let url = format!("{}/admin/campaigns/{campaign}", app.base);
        let csrf = csrf.clone();
        async move { http.post_form(url, &[("csrf", csrf.as_str()), ("action", what)]).await.status() }
    };
    let progress = || async {
        let p: serde_json::Value = app.api(&token).get(&format!("/campaigns/{campaign}")).await.json().await.unwrap();
        p["state"].as_str().unwrap().to_owned()
    };
    assert_eq!(state("pause").await, 303);
    assert_eq!(progress().await, "paused");
    assert_eq!(state("resume").await, 303);
    assert_eq!(progress().await, "scheduled", "not yet expanded, so it waits for its time again");
    assert_eq!(state("cancel").await, 303);
    assert_eq!(progress().await, "cancelled");
    assert_eq!(state("resume").await, 409, "a cancelled mailing stays cancelled");
    assert_eq!(state("explode").await, 400);
    app.stop().await;
}
both_engines!(the_mailings_page_pauses_resumes_and_cancels_a_scheduled_invitation);
