//! What a Danish public body must show: the secretariat's contact and links
//! to the privacy notice and the accessibility statement on every page and in
//! every mail, a privacy notice that states the retention the service really
//! applies, and diet, access needs and comments deleted after the meeting
//! with their counts kept.

use crate::common;

use common::smtp::{Received, SmtpServer};
use common::{Engine, TestApp, text};
use dialogforum::domain::{PersonStatus, Role};
use dialogforum::store::retention::{self, Policy};
use serde_json::{Value, json};

const CONTACT_MAIL: &str = "kontakt@forum.example";
const CONTACT_PHONE: &str = "+45 70 10 20 30";

/// A published meeting starting `days` days from now (negative: in the past).
async fn meeting(app: &TestApp, token: &str, title: &str, days: i64) -> String {
    let start = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * days);
    let end = start + jiff::SignedDuration::from_hours(3);
    app.api(token)
        .published_meeting(&json!({
            "title": title, "starts_at": start.to_string(), "ends_at": end.to_string(),
            "format": "physical", "venue": "KL-huset"
        }))
        .await
}

/// Runs `sql` with `bind` against the app's database behind its back.
async fn execute(app: &TestApp, sql: &'static str, bind: &[i64], id: &str) {
    let id: uuid::Uuid = id.parse().unwrap();
    on_db!(app.db, |pool| {
        let mut q = sqlx::query(sql);
        for b in bind {
            q = q.bind(*b);
        }
        q.bind(id).execute(&pool).await.unwrap();
    });
}

/// The part of a page between `<footer` and `</footer>`.
fn footer(html: &str) -> &str {
    let start = html.find("<footer").unwrap_or_else(|| panic!("no footer in:\n{html}"));
    &html[start..start + html[start..].find("</footer>").expect("the footer ends")]
}

/// `GET path` in `lang` (by the language cookie), which must answer `status`.
async fn page(app: &TestApp, path: &str, lang: &str, status: u16) -> String {
    let res = app.http.get(app.url(path)).header("cookie", format!("lang={lang}")).send().await.expect("GET");
    text(res, status).await
}

/// The page's footer shows the contact and links to both statements, in the page's language only.
#[track_caller]
fn assert_footer(path: &str, lang: &str, html: &str) {
    let f = footer(html);
    assert!(f.contains(&format!(r#"href="mailto:{CONTACT_MAIL}""#)), "{path} ({lang}) shows the contact mail: {f}");
    assert!(f.contains(CONTACT_PHONE), "{path} ({lang}) shows the phone: {f}");
    let (privacy, accessibility, others) = if lang == "en" {
        (
            "Privacy notice",
            "Accessibility statement",
            ["Privatlivspolitik", "Tilgængelighedserklæring", "Sekretariatet"],
        )
    } else {
        ("Privatlivspolitik", "Tilgængelighedserklæring", ["Privacy notice", "Accessibility statement", "secretariat"])
    };
    // The link to the page one is on is marked as the current page.
    let link = |href: &str, label: &str| {
        f.contains(&format!(r#"<a href="{href}">{label}</a>"#))
            || f.contains(&format!(r#"<a href="{href}" aria-current="page">{label}</a>"#))
    };
    assert!(link("/privacy", privacy), "{path} ({lang}) links the privacy notice: {f}");
    assert!(link("/accessibility", accessibility), "{path} ({lang}) links the accessibility statement: {f}");
    for word in others {
        assert!(!f.contains(word), "{path} ({lang}) has {word:?} from the other language: {f}");
    }
}

/// The mail's text and HTML parts end with the contact and links to both statements.
#[track_caller]
fn assert_mail_footer(what: &str, mail: &Received) {
    let plain = mail.plain();
    for needed in [
        "Privatlivspolitik: https://forum.example/privacy",
        "Tilgængelighedserklæring: https://forum.example/accessibility",
        CONTACT_MAIL,
        CONTACT_PHONE,
    ] {
        assert!(plain.contains(needed), "the {what} mail's text says {needed:?}:\n{plain}");
    }
    let parsed = mail_parser::MessageParser::default().parse(&mail.data).expect("MIME");
    let html = parsed.body_html(0).expect("an HTML part").into_owned();
    for needed in [
        r#"<a href="https://forum.example/privacy">Privatlivspolitik</a>"#,
        r#"<a href="https://forum.example/accessibility">Tilgængelighedserklæring</a>"#,
        CONTACT_MAIL,
    ] {
        assert!(html.contains(needed), "the {what} mail's HTML has {needed:?}:\n{html}");
    }
}

async fn mail_to(smtp: &SmtpServer, what: &str, to: &str, subject_part: &str) -> Received {
    smtp.wait_for_mail(what, |m| m.is_to(to) && m.subject().contains(subject_part)).await
}

async fn every_page_and_every_kind_of_mail_shows_the_contact_and_links_the_statements(engine: Engine) {
    let contact = [
        ("contact.email", CONTACT_MAIL),
        ("contact.phone", CONTACT_PHONE),
        ("server.base_url", "https://forum.example"),
    ];
    let (app, smtp) = TestApp::with_mail(engine, &contact).await;
    let token = common::api_token(&app, "org@forum.example", Role::Organiser).await;

    // Joining the list: the confirmation mail; asking for one's page: the profile link.
    let signup = [("name", "Anna Holm"), ("email", "anna@firma.example"), ("consent", "yes")];
    let joined = app.post_form("/subscribe", &signup).await;
    assert!(joined.status().is_success() || joined.status().is_redirection(), "{}", joined.status());
    let confirm = mail_to(&smtp, "sign-up confirmation", "anna@firma.example", "").await;
    assert_mail_footer("sign-up confirmation", &confirm);
    text(app.post_form("/me", &[("email", "anna@firma.example")]).await, 200).await;
    let profile =
        smtp.wait_for_mail("profile link", |m| m.to[0] == "anna@firma.example" && m.plain().contains("/me/")).await;
    assert_mail_footer("profile link", &profile);
    let profile_path = profile.link_path("/me/");

    // An invitation, and the seat it gives.
    let upcoming = meeting(&app, &token, "Markedsdialog 2030", 20).await;
    app.api(&token)
        .invite(
            &upcoming,
            &json!({"guests": [
                {"email": "bo@firma.example", "name": "Bo Berg", "organisation": "Firma A/S"}
            ]}),
        )
        .await;
    let invitation = mail_to(&smtp, "invitation", "bo@firma.example", "Invitation").await;
    assert_mail_footer("invitation", &invitation);
    let rsvp_path = invitation.link_path("/rsvp/");
    let answered = app.post_form(&rsvp_path, &[("answer", "yes")]).await;
    assert!(answered.status().is_success() || answered.status().is_redirection(), "{}", answered.status());
    let seat = smtp
        .wait_for_mail("seat confirmation", |m| m.to[0] == "bo@firma.example" && m.plain().contains("/checkin/"))
        .await;
    assert_mail_footer("seat confirmation", &seat);

    // An evaluation after a meeting that has taken place.
    let past = meeting(&app, &token, "Dialog om AI", -2).await;
    let person = app.confirmed_person("cai@firma.example", "Cai Dahl", "Firma A/S").await;
    let (reg, _) = common::invite_person(app.store(), past.parse().unwrap(), person).await;
    execute(&app, "update registration set status = 'attending' where id = $1", &[], &reg.to_string()).await;
    let evaluation_sent = app.api(&token).post(&format!("/meetings/{past}/evaluation/send"), &json!({})).await;
    assert!(evaluation_sent.status().is_success(), "{}", evaluation_sent.status());
    let evaluation = smtp
        .wait_for_mail("evaluation", |m| m.to[0] == "cai@firma.example" && m.plain().contains("/evaluation/"))
        .await;
    assert_mail_footer("evaluation", &evaluation);
    let evaluation_path = evaluation.link_path("/evaluation/");

    // Every public page, in both languages.
    let pages = [
        ("/".to_owned(), 200),
        ("/meetings".to_owned(), 200),
        (format!("/meetings/{upcoming}"), 200),
        ("/subscribe".to_owned(), 200),
        ("/me".to_owned(), 200),
        (profile_path.clone(), 200),
        (rsvp_path.clone(), 200),
        (evaluation_path.clone(), 200),
        ("/privacy".to_owned(), 200),
        ("/accessibility".to_owned(), 200),
        ("/login".to_owned(), 200),
        ("/rsvp/not-a-real-link".to_owned(), 404),
        ("/no/such/page".to_owned(), 404),
    ];
    for lang in ["da", "en"] {
        for (path, status) in &pages {
            let html = page(&app, path, lang, *status).await;
            assert_footer(path, lang, &html);
        }
        // Every form that collects personal data links the privacy notice.
        for path in ["/subscribe", "/me", &profile_path, &rsvp_path, &evaluation_path] {
            let html = page(&app, path, lang, 200).await;
            assert!(
                html.contains(r#"<p class="privacy-note"><a href="/privacy">"#),
                "{path} ({lang}) links the privacy notice by its form"
            );
        }
    }

    // Where a page says to contact the secretariat, it says how.
    execute(&app, "update meeting set registration_deadline = $1 where id = $2", &[1_000_000], &upcoming).await;
    let closed = page(&app, &rsvp_path, "da", 200).await;
    assert!(closed.contains("Kontakt sekretariatet"), "{closed}");
    assert!(closed.contains(&format!(r#"<p class="contact">E-mail: <a href="mailto:{CONTACT_MAIL}">"#)), "{closed}");
    app.stop().await;
}
both_engines!(every_page_and_every_kind_of_mail_shows_the_contact_and_links_the_statements);

async fn the_privacy_notice_states_the_retention_periods_the_service_applies(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let html = page(&app, "/privacy", "da", 200).await;
    for said in [
        "Slettes 7 dage efter tilmeldingen.",
        "Slettes 30 dage efter mødet.",
        "6 måneder; derefter slettes indførslerne.",
        "Virker i 168 timer.",
        "Datatilsynet",
    ] {
        assert!(html.contains(said), "the notice says {said:?}");
    }
    app.stop().await;

    let changed = [
        ("security.pending_retention_days", "11"),
        ("security.sensitive_retention_days", "45"),
        ("security.audit_retention_months", "9"),
        ("security.token_ttl_hours", "48"),
        ("privacy.dpo_email", "dpo@forum.example"),
        ("privacy.mail_processor", "Postbud ApS"),
    ];
    let app = TestApp::spawn_with(engine, &changed).await;
    let da = page(&app, "/privacy", "da", 200).await;
    for said in [
        "Slettes 11 dage efter tilmeldingen.",
        "Slettes 45 dage efter mødet.",
        "9 måneder; derefter slettes indførslerne.",
        "Virker i 48 timer.",
        "dpo@forum.example",
        "Postbud ApS, som sender mails på vores vegne som databehandler.",
    ] {
        assert!(da.contains(said), "the notice says {said:?}");
    }
    assert!(!da.contains("30 dage"), "no period the service does not apply");
    let en = page(&app, "/privacy", "en", 200).await;
    for said in [
        "Deleted 11 days after the sign-up.",
        "Deleted 45 days after the meeting.",
        "9 months; then the entries are deleted.",
        "the Danish Data Protection Agency",
    ] {
        assert!(en.contains(said), "the English notice says {said:?}");
    }
    for danish in ["Slettes", "måneder", "Privatlivspolitik"] {
        assert!(!en.contains(danish), "no Danish ({danish}) on the English notice");
    }
    app.stop().await;
}
both_engines!(the_privacy_notice_states_the_retention_periods_the_service_applies);

async fn the_accessibility_statement_follows_its_configuration(engine: Engine) {
    let settings = [("accessibility.status", "full"), ("accessibility.prepared", "2027-03-15")];
    let app = TestApp::spawn_with(engine, &settings).await;
    let da = page(&app, "/accessibility", "da", 200).await;
    assert!(da.contains("Webstedet overholder fuldt ud WCAG 2.1 niveau AA"), "{da}");
    assert!(da.contains("Erklæringen er udarbejdet den 15. marts 2027."), "{da}");
    assert!(da.contains("Oplæg og papirer fra møderne"), "the default deviation is listed");
    assert!(da.contains(r#"<a href="https://digst.dk/digital-inklusion/webtilgaengelighed/oplever-du-ikke-tilgaengeligt-indhold/">Klag over utilgængelighed til Digitaliseringsstyrelsen</a>"#));
    let en = page(&app, "/accessibility", "en", 200).await;
    assert!(en.contains("This statement was prepared on 15 March 2027."), "{en}");
    assert!(en.contains("Enforcement procedure"));
    for danish in ["Overensstemmelsesstatus", "Tilgængelighedserklæring", "Oplæg"] {
        assert!(!en.contains(danish), "no Danish ({danish}) on the English statement");
    }
    app.stop().await;
}
both_engines!(the_accessibility_statement_follows_its_configuration);

/// A meeting `ended_days_ago` days over, with one registration that gave a
/// diet, access needs and a comment through the answer form.
async fn meeting_with_notes(app: &TestApp, token: &str, title: &str, email: &str, ended_days_ago: i64) -> String {
    let id = meeting(app, token, title, 10).await;
    let person = app.confirmed_person(email, "Dorte Eg", "Firma A/S").await;
    let (_, rsvp) = common::invite_person(app.store(), id.parse().unwrap(), person).await;
    let form =
        [("answer", "yes"), ("diet", "vegetar"), ("access_needs", "kørestol"), ("comment", "kommer lidt senere")];
    let res = app.post_form(&format!("/rsvp/{rsvp}"), &form).await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let end = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * ended_days_ago);
    let start = end - jiff::SignedDuration::from_hours(3);
    let sql = "update meeting set starts_at = $1, ends_at = $2, registration_deadline = null where id = $3";
    execute(app, sql, &[start.as_microsecond(), end.as_microsecond()], &id).await;
    id
}

/// (diet, access needs, comment) of the meeting's registrations, as the API lists them.
async fn notes(app: &TestApp, token: &str, meeting: &str) -> Vec<(String, String, String)> {
    let list: Value = app.api(token).json(&format!("/meetings/{meeting}/registrations")).await;
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (s("diet"), s("access_needs"), s("comment"))
        })
        .collect()
}

async fn diet_access_needs_and_comments_are_deleted_after_the_meeting_and_their_counts_kept(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "org@forum.example", Role::Organiser).await;
    let older = meeting_with_notes(&app, &token, "For 31 dage siden", "dorte@firma.example", 31).await;
    let newer = meeting_with_notes(&app, &token, "For 29 dage siden", "erik@firma.example", 29).await;
    let written = ("vegetar".to_owned(), "kørestol".to_owned(), "kommer lidt senere".to_owned());
    assert_eq!(notes(&app, &token, &older).await, std::slice::from_ref(&written));

    let policy = Policy { pending_days: 7, audit_months: 6, sensitive_days: 30, registration_days: 1095 };
    let purged = retention::purge(app.store(), policy).await.unwrap();
    assert_eq!(purged.registration_notes, 1, "one registration cleared");
    assert_eq!(notes(&app, &token, &older).await, [(String::new(), String::new(), String::new())]);
    assert_eq!(notes(&app, &token, &newer).await, std::slice::from_ref(&written), "29 days after: untouched");

    // The organisers still see how many wrote something.
    let organiser = app.sign_in("org@forum.example").await;
    for (m, still_there) in [(&older, false), (&newer, true)] {
        let html = organiser.page(&format!("/admin/meetings/{m}/registrations")).await;
        assert!(html.contains(r#"<th scope="row">Med kostønsker</th><td>1</td>"#), "{html}");
        assert!(html.contains(r#"<th scope="row">Med tilgængelighedsbehov</th><td>1</td>"#), "{html}");
        assert!(html.contains(r#"<th scope="row">Med kommentar</th><td>1</td>"#), "{html}");
        assert_eq!(html.contains("vegetar"), still_there, "{html}");
        assert_eq!(html.contains("blev slettet den"), !still_there, "{html}");
    }

    // Again: nothing more to clear, and the counts stay.
    let again = retention::purge(app.store(), policy).await.unwrap();
    assert_eq!(again.registration_notes, 0);
    let html = organiser.page(&format!("/admin/meetings/{older}/registrations")).await;
    assert!(html.contains(r#"<th scope="row">Med kostønsker</th><td>1</td>"#), "{html}");
    app.stop().await;
}
both_engines!(diet_access_needs_and_comments_are_deleted_after_the_meeting_and_their_counts_kept);

#[test]
fn a_contact_without_a_phone_number_or_a_retention_of_zero_days_stops_start_up_naming_the_key() {
    let (_dir, db) = common::sqlite_in_tempdir("dialogforum.db");
    for (var, value, key) in [
        ("DIALOGFORUM_CONTACT__PHONE", "ring til os", "contact.phone"),
        ("DIALOGFORUM_CONTACT__EMAIL", "sekretariatet", "contact.email"),
        ("DIALOGFORUM_SECURITY__SENSITIVE_RETENTION_DAYS", "0", "security.sensitive_retention_days"),
        ("DIALOGFORUM_SECURITY__REGISTRATION_RETENTION_DAYS", "10", "security.registration_retention_days"),
        ("DIALOGFORUM_ACCESSIBILITY__STATUS", "mostly", "accessibility.status"),
    ] {
        let out = common::cli(&["migrate"], &[("DIALOGFORUM_DATABASE__URL", db.as_str()), (var, value)], "");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {stderr}");
        assert!(stderr.contains(key), "{var}={value} names {key}: {stderr}");
    }
}

async fn a_guest_and_someone_who_left_reach_their_own_data_as_a_page_and_a_spreadsheet(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "org@forum.example").await;
    let upcoming = meeting(&app, &token, "Markedsdialog 2031", 20).await;
    let guest =
        json!({"guests": [{"email": "gaest@firma.example", "name": "Gerda Gæst", "organisation": "Firma A/S"}]});
    app.api(&token).invite(&upcoming, &guest).await;
    let invitation = smtp.wait_for_mail("the guest's invitation", |m| m.to == ["gaest@firma.example"]).await;
    let rsvp = invitation.link_path("/rsvp/");
    let answer = [("answer", "yes"), ("diet", "glutenfri"), ("access_needs", "trappefri adgang")];
    assert_eq!(app.post_form(&rsvp, &answer).await.status(), 200);
    common::add_person(app.store(), "gone@firma.example", "Gustav Gået", "Firma A/S", PersonStatus::Unsubscribed).await;

    for (email, name) in [("gaest@firma.example", "Gerda Gæst"), ("gone@firma.example", "Gustav Gået")] {
        // Asking for one's page works whether or not one is on the list.
        text(app.post_form("/me", &[("email", email)]).await, 200).await;
        let link = smtp.wait_for_mail("the profile link", |m| m.to == [email] && m.plain().contains("/me/")).await;
        let page = link.link_path("/me/");
        let html = text(app.get(&page).await, 200).await;
        assert!(html.contains(name) && html.contains(&format!("{page}/data.csv")), "{html}");

        // The data as a page to read, with dates written out and statuses in words.
        let html = text(app.get(&format!("{page}/data")).await, 200).await;
        assert!(html.contains("Dine data") && html.contains(name), "{html}");
        let iso = html.as_bytes().windows(6).any(|w| {
            w[0].is_ascii_digit() && w[1] == b'T' && w[2].is_ascii_digit() && w[3].is_ascii_digit() && w[4] == b':'
        });
        assert!(!iso && !html.contains(">attending<"), "no raw timestamps or statuses: {html}");

        // And as a spreadsheet.
        let res = app.get(&format!("{page}/data.csv")).await;
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = String::from_utf8(res.bytes().await.unwrap().to_vec()).unwrap();
        assert!(csv.starts_with("\u{feff}Afsnit;Nr.;Felt;Værdi\r\n"), "{csv}");
        assert!(csv.contains(&format!("Dine oplysninger;1;Navn;{name}")), "{csv}");
        if email.starts_with("gaest") {
            let html = text(app.get(&format!("{page}/data")).await, 200).await;
            assert!(
                html.contains("glutenfri") && html.contains("trappefri adgang") && html.contains("tilmeldt"),
                "{html}"
            );
            assert!(csv.contains("Dine tilmeldinger;1;Kost;glutenfri"), "{csv}");
        }
        // Each look is in the log the person sees next time.
        let json: Value = app.get(&format!("{page}/data.json")).await.json().await.unwrap();
        let looks: Vec<&str> = json["audit"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] == "person.export")
            .filter_map(|a| a["detail"].as_str())
            .collect();
        assert!(looks.starts_with(&["page", "data.csv"]), "{looks:?}");
    }
    app.stop().await;
}
both_engines!(a_guest_and_someone_who_left_reach_their_own_data_as_a_page_and_a_spreadsheet);
