//! Organiser accounts by mail: a forgotten password reset by a link that
//! works once, and a new organiser invited by an admin who never types their
//! password; the one navigation bar of the workspace with "Log ud" in it.

use dialogforum::domain::Role;

use crate::common::{self, Engine, PASSWORD, TestApp};

const NEW_PASSWORD: &str = "a brand new secret phrase";

/// The answer page's main content, without the parts that differ by request.
fn main_of(html: &str) -> String {
    let start = html.find("<main").expect("a main element");
    let end = html.find("</main>").expect("the end of main");
    html[start..end].to_owned()
}

async fn a_forgotten_password_is_reset_by_a_mailed_link_that_works_once(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    common::api_token(&app, "anna@forum.example", Role::Organiser).await;
    let before = app.sign_in("anna@forum.example").await;

    let login = common::text(app.get("/login").await, 200).await;
    assert!(login.contains(r#"<a href="/login/forgot">Glemt adgangskode?</a>"#), "{login}");
    let form = common::text(app.get("/login/forgot").await, 200).await;
    common::assert_has(&form, &[r#"action="/login/forgot""#, r#"id="email""#]);

    // The same answer for an address with an account and one without.
    let known = common::text(app.post_form("/login/forgot", &[("email", "anna@forum.example")]).await, 200).await;
    let unknown = common::text(app.post_form("/login/forgot", &[("email", "nobody@forum.example")]).await, 200).await;
    assert!(known.contains("Tjek din mail"), "{known}");
    assert_eq!(main_of(&known), main_of(&unknown), "nothing tells the two apart");
    let refused = common::text(app.post_form("/login/forgot", &[("email", "not an address")]).await, 422).await;
    assert!(refused.contains(r#"id="email-error""#), "the message stands by the field: {refused}");

    let mail = smtp.wait_for_mail("the reset link", |m| m.is_to("anna@forum.example")).await;
    assert_eq!(mail.subject(), "Nulstil din adgangskode til Dialogforum");
    app.outbox_settled().await;
    assert!(
        smtp.messages().iter().all(|m| m.to.iter().all(|t| t != "nobody@forum.example")),
        "an unknown address gets no mail"
    );
    assert_eq!(smtp.messages().len(), 1);
    let link = app.local(&mail.link("/login/password/"));

    // Opening the link changes nothing; a refused password is named by its field.
    let page = common::text(app.http.get(&link).send().await.unwrap(), 200).await;
    common::assert_has(&page, &["Vælg en ny adgangskode", "anna@forum.example"]);
    let short = app.http.post(&link).form(&[("new", "short"), ("repeat", "short")]).send().await.unwrap();
    let short = common::text(short, 422).await;
    common::assert_has(&short, &[r#"id="new-error""#, "mindst 12 tegn"]);
    let differ = app.http.post(&link).form(&[("new", NEW_PASSWORD), ("repeat", "something else entirely")]);
    let differ = common::text(differ.send().await.unwrap(), 422).await;
    assert!(differ.contains(r#"id="repeat-error""#), "{differ}");

    let set = app.http.post(&link).form(&[("new", NEW_PASSWORD), ("repeat", NEW_PASSWORD)]).send().await.unwrap();
    assert_eq!(set.status(), 303);
    assert_eq!(set.headers()["location"], "/login?done=password");
    let signin = common::text(app.get("/login?done=password").await, 200).await;
    common::assert_has(&signin, &[r#"role="status""#, "Adgangskoden er gemt"]);

    // The link works once; the old password and the old session are gone.
    let again = app.http.post(&link).form(&[("new", NEW_PASSWORD), ("repeat", NEW_PASSWORD)]).send().await.unwrap();
    let again = common::text(again, 410).await;
    common::assert_has(&again, &["Linket virker ikke", r#"href="/login/forgot""#]);
    assert!(common::text(app.http.get(&link).send().await.unwrap(), 410).await.contains("Linket virker ikke"));
    let stale = before.get("/admin").await;
    assert!(stale.status().is_redirection(), "the session from before the reset has ended: {}", stale.status());
    assert_eq!(app.log_in(&common::client(), "anna@forum.example", PASSWORD).await.status(), 401, "the old password");
    assert_eq!(app.log_in(&common::client(), "anna@forum.example", NEW_PASSWORD).await.status(), 303, "the new one");

    common::api_token(&app, "admin@forum.example", Role::Admin).await;
    let admin = app.sign_in("admin@forum.example").await;
    let audit = admin.page("/admin/audit?action=user.password_reset").await;
    assert!(audit.contains("Adgangskode nulstillet via mail"), "{audit}");
    app.stop().await;
}
both_engines!(a_forgotten_password_is_reset_by_a_mailed_link_that_works_once);

async fn an_invited_organiser_chooses_a_password_from_the_mail_and_signs_in_with_the_role_given(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    common::api_token(&app, "admin@forum.example", Role::Admin).await;
    let admin = app.sign_in("admin@forum.example").await;

    let users = admin.page("/admin/users").await;
    assert!(users.contains("Invitér en bruger") && !users.contains(r#"type="password""#), "{users}");
    let res =
        admin.post("/admin/users", &[("email", "not an address"), ("name", "Mette"), ("role", "organiser")]).await;
    let refused = common::text(res, 422).await;
    common::assert_has(&refused, &[r#"id="email-error""#, "Mette"]);
    let res = admin
        .post("/admin/users", &[("email", "mette@forum.example"), ("name", "Mette Bæk"), ("role", "organiser")])
        .await;
    assert_eq!(res.status(), 303);
    let users = admin.page("/admin/users?done=invited").await;
    common::assert_has(&users, &["Invitationen er sendt", r#"role="status""#]);
    common::assert_has(&users, &["Mette Bæk", "inviteret, har ikke valgt adgangskode endnu"]);
    let twice =
        admin.post("/admin/users", &[("email", "mette@forum.example"), ("name", "Mette"), ("role", "viewer")]).await;
    assert!(common::text(twice, 422).await.contains("Der findes allerede en bruger med den adresse."));

    let mail = smtp.wait_for_mail("the invitation", |m| m.is_to("mette@forum.example")).await;
    assert_eq!(mail.subject(), "Du er inviteret til Dialogforum");
    let text = mail.plain();
    assert!(
        text.contains("Kære Mette Bæk")
            && text.contains("admin@forum.example har oprettet en konto til dig i Dialogforum som arrangør"),
        "{text}"
    );
    // No password works before the invited person has chosen one.
    assert_eq!(app.log_in(&common::client(), "mette@forum.example", "!invited").await.status(), 401);

    let link = app.local(&mail.link("/login/password/"));
    let page = common::text(app.http.get(&link).send().await.unwrap(), 200).await;
    assert!(page.contains("Velkommen til Dialogforum"), "{page}");
    let set = app.http.post(&link).form(&[("new", NEW_PASSWORD), ("repeat", NEW_PASSWORD)]).send().await.unwrap();
    assert_eq!(set.status(), 303);

    let mette = common::client();
    assert_eq!(app.log_in(&mette, "mette@forum.example", NEW_PASSWORD).await.status(), 303);
    let dashboard = common::text(mette.get(app.url("/admin")).send().await.unwrap(), 200).await;
    assert!(dashboard.contains("Mette Bæk (Arrangør)"), "the name and the role given, in the bar: {dashboard}");
    assert!(!dashboard.contains(r#"href="/admin/users""#), "an organiser has no users page in the bar");
    let users = admin.page("/admin/users").await;
    assert!(!users.contains("inviteret, har ikke valgt"), "{users}");
    let audit = admin.page("/admin/audit").await;
    common::assert_has(&audit, &["Bruger inviteret", "Invitation taget imod, adgangskode valgt"]);
    app.stop().await;
}
both_engines!(an_invited_organiser_chooses_a_password_from_the_mail_and_signs_in_with_the_role_given);

async fn every_workspace_page_has_one_bar_with_the_current_page_marked_and_log_ud_in_it(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    common::api_token(&app, "admin@forum.example", Role::Admin).await;
    common::api_token(&app, "viewer@forum.example", Role::Viewer).await;
    let admin = app.sign_in("admin@forum.example").await;
    for (path, current) in [
        ("/admin", r#"<a href="/admin" aria-current="page">Oversigt</a>"#),
        ("/admin/meetings", r#"<a href="/admin/meetings" aria-current="page">Møder</a>"#),
        ("/admin/meetings/new", r#"<a href="/admin/meetings" aria-current="page">Møder</a>"#),
        ("/admin/tokens", r#"<a href="/admin/users" aria-current="page">Brugere</a>"#),
        ("/admin/password", r#"<a href="/admin/password" aria-current="page">Skift adgangskode</a>"#),
    ] {
        let html = admin.page(path).await;
        assert_eq!(html.matches(r#"<nav class="workspace""#).count(), 1, "one bar on {path}");
        let bar = &html[html.find(r#"<nav class="workspace""#).unwrap()..];
        let bar = &bar[..bar.find("</nav>").unwrap()];
        assert_eq!(bar.matches(r#"aria-current="page""#).count(), 1, "one current page in the bar on {path}");
        assert!(bar.contains(current), "{path} is marked: {bar}");
        assert!(bar.contains(r#"action="/logout""#) && bar.contains("Log ud"), "Log ud is in the bar on {path}");
        assert_eq!(html.matches(r#"action="/logout""#).count(), 1, "and nowhere else on {path}");
    }
    let viewer = app.sign_in("viewer@forum.example").await;
    let html = viewer.page("/admin").await;
    for hidden in [r#"href="/admin/users""#, r#"href="/admin/audit""#, r#"href="/admin/people""#] {
        assert!(!html.contains(hidden), "a viewer's bar has no {hidden}");
    }
    let out = viewer.post("/logout", &[]).await;
    assert_eq!(out.status(), 303);
    assert!(viewer.get("/admin").await.status().is_redirection(), "signed out from the bar");
    app.stop().await;
}
both_engines!(every_workspace_page_has_one_bar_with_the_current_page_marked_and_log_ud_in_it);

/// Adds an account with a name and the test password; returns an API token of it.
async fn named_account(app: &TestApp, email: &str, name: &str, role: Role) -> String {
    use dialogforum::domain::{Email, Token, password};
    let hash = password::hash(PASSWORD).unwrap();
    let mut tx = app.store().begin().await.unwrap();
    let id = dialogforum::store::users::insert_user(&mut tx, &Email::parse(email).unwrap(), name, role, &hash)
        .await
        .unwrap();
    let token = Token::generate();
    dialogforum::store::users::create_api_token(&mut tx, id, "test", &token.hash(), None).await.unwrap();
    tx.commit().await.unwrap();
    token.expose().to_owned()
}

/// The rows of the audit page's table.
fn audit_rows(html: &str) -> Vec<String> {
    let Some(start) = html.find("<tbody>") else { return Vec::new() };
    let body = &html[start..html[start..].find("</tbody>").map_or(html.len(), |e| start + e)];
    body.split("<tr>").skip(1).map(str::to_owned).collect()
}

async fn the_audit_log_names_the_organiser_and_filters_by_meeting_person_and_action(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin_token = named_account(&app, "admin@forum.example", "Anna Andersen", Role::Admin).await;
    let organiser_token = named_account(&app, "bo@forum.example", "Bo Bech", Role::Organiser).await;
    let meeting = |title: &str, day: u32| {
        serde_json::json!({
            "title": title, "starts_at": format!("2030-05-{day:02}T09:00:00+02:00"),
            "ends_at": format!("2030-05-{day:02}T12:00:00+02:00"), "format": "physical", "venue": "KL-huset"
        })
    };
    let first = app.api(&admin_token).published_meeting(&meeting("Cybersikkerhed", 1)).await;
    let second = app.api(&organiser_token).published_meeting(&meeting("Data og AI", 2)).await;
    let person =
        serde_json::json!({"email": "mette@energi.example", "name": "Mette Jensen", "organisation": "Grøn Energi"});
    assert!(app.api(&organiser_token).post("/subscribers", &person).await.status().is_success());

    let admin = app.sign_in("admin@forum.example").await;
    let page = admin.page("/admin/audit").await;
    assert!(page.contains("<option value=\"\" selected>Alle</option>"), "{page}");
    assert!(page.contains(r#"id="meeting""#) && page.contains(r#"id="person""#) && page.contains(r#"id="action""#));
    assert!(page.contains(r#"lang="da">Cybersikkerhed ("#), "the meetings to choose from: {page}");

    // By meeting: only the entries about it, each naming the organiser.
    let rows = audit_rows(&admin.page(&format!("/admin/audit?meeting={first}")).await);
    assert!(!rows.is_empty());
    for row in &rows {
        assert!(row.contains("Anna Andersen") && !row.contains("Bo Bech"), "only the first meeting's entries: {row}");
        assert!(row.contains(&format!("subject={first}")) && !row.contains(&second), "{row}");
        assert!(!row.contains("admin@") && !row.contains("a***"), "a name, not an address: {row}");
    }
    assert!(rows.iter().any(|r| r.contains("Møde oprettet")), "{rows:?}");
    let rows = audit_rows(&admin.page(&format!("/admin/audit?meeting={second}")).await);
    assert!(!rows.is_empty() && rows.iter().all(|r| r.contains("Bo Bech") && r.contains(&second)), "{rows:?}");

    // By person: the person is the subject, shown as a word with a link, never by address.
    let rows = audit_rows(&admin.page("/admin/audit?person=mette%40energi.example").await);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("Person oprettet") && rows[0].contains("Bo Bech"), "{rows:?}");
    assert!(!rows[0].contains("mette@") && !rows[0].contains("Mette Jensen"), "the subject stays masked: {rows:?}");
    let refused = common::text(admin.get("/admin/audit?person=not+an+address").await, 422).await;
    assert!(refused.contains(r#"id="person-error""#), "{refused}");

    // By action, with readable dates.
    let rows = audit_rows(&admin.page("/admin/audit?action=meeting.create").await);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.contains("Møde oprettet") && r.contains(" kl. ")), "{rows:?}");
    assert!(rows.iter().all(|r| !r.contains("T0") && !r.contains("+00:00")), "no raw timestamps: {rows:?}");
    let both = format!("/admin/audit?action=meeting.create&meeting={second}");
    let rows = audit_rows(&admin.page(&both).await);
    assert_eq!(rows.len(), 1, "the filters narrow together: {rows:?}");
    app.stop().await;
}
both_engines!(the_audit_log_names_the_organiser_and_filters_by_meeting_person_and_action);
