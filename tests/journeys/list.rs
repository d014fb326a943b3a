//! The mailing list, end to end over HTTP and a real SMTP server: sign-up with
//! double opt-in, leaving in one click, rate limits and CSV import.

use crate::common;

use common::smtp::SmtpServer;
use common::{Engine, TestApp, cli};

async fn status_of(app: &TestApp, email: &str) -> String {
    // Through the store's own query, so both engines are read the same way.
    let id = find_person(app, email).await;
    app.store().person_contact(id).await.unwrap().2.as_str().to_owned()
}

async fn find_person(app: &TestApp, email: &str) -> dialogforum::domain::PersonId {
    let mut tx = app.store().begin().await.unwrap();
    let e = dialogforum::domain::Email::parse(email).unwrap();
    let person = dialogforum::store::people::NewPerson {
        email: e,
        name: dialogforum::domain::Name::parse("x").unwrap(),
        organisation: None,
        status: dialogforum::domain::PersonStatus::Guest,
        interests: vec![],
    };
    // Looks the person up without changing them: an existing address is left as it is.
    let (id, created) = dialogforum::store::people::insert_person_if_new(&mut tx, &person, None).await.unwrap();
    assert!(!created, "{email} should exist");
    drop(tx);
    id
}

fn signup(name: &str, email: &str) -> Vec<(&'static str, String)> {
    vec![
        ("name", name.to_owned()),
        ("email", email.to_owned()),
        ("organisation", "Nordlys IT A/S".to_owned()),
        ("interests", "ai".to_owned()),
        ("interests", "cybersecurity".to_owned()),
        ("consent", "yes".to_owned()),
    ]
}

async fn a_web_sign_up_is_confirmed_only_by_the_button_not_by_opening_the_link(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    let form = app.get("/subscribe").await.text().await.unwrap();
    assert!(form.contains(r#"name="consent""#) && form.contains("Kunstig intelligens"));

    let res = app.post_form("/subscribe", &signup("Søren Ærø", "soren@nordlys-it.example")).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Tjek din indbakke"));
    let msgs = smtp.wait_for(1, 10).await;
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].header("List-Unsubscribe").is_none(), "no unsubscribe header on a sign-up confirmation");
    assert_eq!(msgs[0].header("To").as_deref(), Some("soren@nordlys-it.example"), "the typed name is not echoed");
    let confirm = msgs[0].link("/confirm/");
    assert_eq!(status_of(&app, "soren@nordlys-it.example").await, "pending");

    let page = app.http.get(app.local(&confirm)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    assert_eq!(status_of(&app, "soren@nordlys-it.example").await, "pending", "opening the link changes nothing");

    let res = app.http.post(app.local(&confirm)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Du er nu på listen"));
    assert_eq!(status_of(&app, "soren@nordlys-it.example").await, "confirmed");

    // Signing up again reveals nothing on the page and sends an "already on the list" mail instead.
    let res = app.post_form("/subscribe", &signup("Søren Ærø", "soren@nordlys-it.example")).await;
    assert!(res.text().await.unwrap().contains("Tjek din indbakke"));
    let msgs = smtp.wait_for(2, 10).await;
    assert!(msgs[1].plain().contains("allerede"), "{}", msgs[1].plain());
    assert!(msgs[1].link("/me/").contains("/me/"));
    app.stop().await;
}
both_engines!(a_web_sign_up_is_confirmed_only_by_the_button_not_by_opening_the_link);

async fn a_bad_form_comes_back_with_the_message_by_each_field_and_the_values_kept(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    let res = app
        .post_form(
            "/subscribe",
            &[("name", ""), ("email", "not-an-address"), ("organisation", "Grøn Kode ApS"), ("interests", "green-it")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"id="name-error""#)
            && html.contains(r#"id="email-error""#)
            && html.contains(r#"id="consent-error""#)
    );
    assert!(html.contains(r#"aria-describedby="email-error""#));
    assert!(html.contains(r#"value="not-an-address""#) && html.contains(r#"value="Grøn Kode ApS""#));
    assert!(html.contains(r#"value="green-it" checked"#), "chosen interests stay chosen");
    assert!(html.contains(r##"href="#email""##), "the summary links to the field");
    app.outbox_settled().await;
    assert!(smtp.messages().is_empty());
    app.stop().await;
}
both_engines!(a_bad_form_comes_back_with_the_message_by_each_field_and_the_values_kept);

async fn one_click_unsubscribe_takes_effect_at_once_even_for_queued_invitations(engine: Engine) {
    let smtp = SmtpServer::start().await;
    // Slow sending, so that part of the campaign is still queued when someone leaves.
    let app =
        TestApp::spawn_with_smtp(engine, &smtp, &[("mail.rate_per_second", "2"), ("mail.max_connections", "1")]).await;
    dialogforum::demo::load(app.store(), jiff::civil::date(2026, 11, 27)).await.unwrap();
    let meeting = app.store().meeting_by_number(17).await.unwrap();
    // Queue invitations directly through the campaign engine.
    let mut tx = app.store().begin().await.unwrap();
    let target = dialogforum::store::campaigns::Target {
        audience: Some(dialogforum::store::campaigns::Audience::All),
        guests: vec![],
    };
    dialogforum::store::campaigns::insert_campaign(
        &mut tx,
        &dialogforum::store::campaigns::NewCampaign {
            kind: "invitation",
            meeting_id: Some(meeting.id),
            subject: meeting.title.clone(),
            target,
            scheduled_at: dialogforum::store::now(),
            created_by: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    app.running.state.campaign_wake.notify_one();

    let first = smtp.wait_for(1, 10).await[0].clone();
    let header = first.header("List-Unsubscribe").unwrap();
    assert_eq!(first.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    let url = header.trim_matches(['<', '>']).split(">,").next().unwrap().trim_matches(['<', '>']).to_owned();
    // A mail provider's one-click POST: no cookie, no CSRF token, from another site.
    let res = reqwest::Client::new()
        .post(app.local(&url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://mail.example")
        .header("sec-fetch-site", "cross-site")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let who = first.to[0].clone();
    assert_eq!(status_of(&app, &who).await, "unsubscribed");

    // Opening the link afterwards only shows a page; nothing is sent to them again.
    let page = app.get(&app.local(&url).replace(&app.base, "")).await;
    assert_eq!(page.status(), 200);
    app.outbox_settled().await;
    let later: Vec<_> = smtp.messages().into_iter().filter(|m| m.to.contains(&who)).collect();
    assert_eq!(later.len(), 1, "one invitation, nothing after leaving");
    app.stop().await;
}
both_engines!(one_click_unsubscribe_takes_effect_at_once_even_for_queued_invitations);

async fn confirmation_mails_are_limited_per_address_and_sign_ups_per_client(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[("security.signups_per_ip_per_hour", "5")]).await;
    for _ in 0..4 {
        let res = app.post_form("/subscribe", &signup("Ida", "ida@velfaerdstek.example")).await;
        assert_eq!(res.status(), 200, "the same answer every time");
    }
    assert_eq!(app.delivered(&smtp).await, 3, "at most three confirmation mails per address per day");
    let res = app.post_form("/subscribe", &signup("Bo", "bo@velfaerdstek.example")).await;
    assert_eq!(res.status(), 200);
    let res = app.post_form("/subscribe", &signup("Al", "al@velfaerdstek.example")).await;
    assert_eq!(res.status(), 429, "the sixth sign-up from one client within the hour is refused");
    app.stop().await;
}
both_engines!(confirmation_mails_are_limited_per_address_and_sign_ups_per_client);

async fn an_unknown_or_expired_link_explains_itself(engine: Engine) {
    let app = TestApp::spawn_with(engine, &[("security.token_ttl_hours", "0")]).await;
    let res = app.get("/confirm/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("Linket virker ikke"));
    let res = app.post_form("/subscribe", &signup("Jonas", "jonas@groenkode.example")).await;
    assert_eq!(res.status(), 200);
    // With a lifetime of zero hours the token is born expired.
    let id = find_person(&app, "jonas@groenkode.example").await;
    let confirm = dialogforum::domain::TokenPurpose::Confirm;
    let token = common::expired_link(app.store(), confirm, id, dialogforum::store::now()).await;
    let res = app.get(&format!("/confirm/{token}")).await;
    assert!(res.text().await.unwrap().contains("Linket er udløbet"));
    let res = app.http.post(format!("{}/confirm/{token}", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(status_of(&app, "jonas@groenkode.example").await, "pending");
    app.stop().await;
}
both_engines!(an_unknown_or_expired_link_explains_itself);

#[test]
fn a_mixed_quality_csv_is_imported_with_every_reject_reported() {
    let (dir, db) = common::sqlite_in_tempdir("import.db");
    let file = dir.path().join("liste.csv");
    let csv = "\u{feff}email;name;organisation;interests\r\n\
               anna@nordlys-it.example;Anna Bøgh;Nordlys IT A/S;ai,cybersecurity\r\n\
               not-an-address;Bad Row;X;\r\n\
               mads@fjordsikkerhed.example;Mads Østergaard;Fjord Sikkerhed ApS;\r\n\
               ANNA@nordlys-it.example;Anna igen;Nordlys IT A/S;\r\n\
               ida@velfaerdstek.example;;Velfærdsteknik;\r\n\
               \"aase@aabyhoj.example\";\"Åse Åbyhøj\";\"Åbyhøj Data; Analyse\";green-it\r\n";
    std::fs::write(&file, csv).unwrap();
    let env = [("DIALOGFORUM_DATABASE__URL", db.as_str())];
    let out = cli(&["import", "subscribers", file.to_str().unwrap()], &env, "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("line 3: email"), "{stdout}");
    assert!(stdout.contains("line 5: the address appears earlier"), "{stdout}");
    assert!(stdout.contains("line 6: name"), "{stdout}");
    assert!(stdout.contains("3 imported, 0 already on the list, 3 rejected"), "{stdout}");
    let again = cli(&["import", "subscribers", file.to_str().unwrap()], &env, "");
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 imported, 3 already on the list"));
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "mail,navn\r\nx@y.dk,X\r\n").unwrap();
    let out = cli(&["import", "subscribers", bad.to_str().unwrap()], &env, "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("email, name and organisation"));
}
