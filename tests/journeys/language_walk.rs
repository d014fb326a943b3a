//! Every organiser and public page, in Danish and in English: no word of the
//! other language, no raw timestamp and no id in the text a person reads.

use dialogforum::domain::{MeetingId, PersonStatus, Role};
use serde_json::{Value, json};

use crate::common::{self, Engine, TestApp};

/// English words that must not stand on a Danish page.
const ENGLISH: &[&str] = &[
    "confirmed",
    "pending",
    "unsubscribed",
    "bounced",
    "queued",
    "sending",
    "sent",
    "failed",
    "scheduled",
    "attending",
    "waitlisted",
    "declined",
    "cancelled",
    "invited",
    "open",
    "draft",
    "published",
    "organiser",
    "viewer",
    "must",
    "characters",
    "password",
    "admin",
    "guest",
    "paused",
    "completed",
    "running",
    "held",
    "closed",
    "archived",
    "evaluated",
];

/// Danish words that must not stand on an English page.
const DANISH: &[&str] = &[
    "tilmeldt",
    "venteliste",
    "aflyst",
    "bekræftet",
    "afmeldt",
    "frameldt",
    "sendt",
    "kladde",
    "offentliggjort",
    "gem",
    "søg",
    "inviteret",
    "afbud",
    "planlagt",
    "gæst",
    "arrangør",
    "læser",
    "afholdt",
    "skal",
    "tegn",
    "adgangskoden",
];

/// The text a person reads on a page: no scripts or styles, no attribute
/// values, and no element marked as being in the other language.
fn visible_text(html: &str, other: &str) -> String {
    let mut s = html.to_owned();
    for tag in ["script", "style"] {
        s = cut_elements(&s, &format!("<{tag}"), tag);
    }
    s = cut_marked(&s, &format!(r#"lang="{other}""#));
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&").replace("&quot;", "\"").replace("&#39;", "'").replace("&nbsp;", " ")
}

/// `s` without every element that starts with `open` and ends with `</tag>`.
fn cut_elements(s: &str, open: &str, tag: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(open) {
        out.push_str(&rest[..i]);
        let close = format!("</{tag}>");
        match rest[i..].find(&close) {
            Some(j) => rest = &rest[i + j + close.len()..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

/// `s` without every element whose opening tag carries `marker`.
fn cut_marked(s: &str, marker: &str) -> String {
    let mut out = s.to_owned();
    while let Some(m) = out.find(marker) {
        let start = out[..m].rfind('<').expect("a tag");
        let tag: String = out[start + 1..].chars().take_while(char::is_ascii_alphanumeric).collect();
        let open_end = start + out[start..].find('>').expect("a tag's end") + 1;
        let end = if out[..open_end].ends_with("/>") || ["input", "link", "meta"].contains(&tag.as_str()) {
            open_end
        } else {
            let close = format!("</{tag}>");
            open_end + out[open_end..].find(&close).expect("a closing tag") + close.len()
        };
        out.replace_range(start..end, " ");
    }
    out
}

/// The words of `text`, lower case.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Whether `b` at `i` starts `pattern`, where `d` is a digit and anything else itself.
fn shaped(b: &[u8], i: usize, pattern: &str) -> bool {
    pattern.len() + i <= b.len()
        && pattern.bytes().enumerate().all(|(k, p)| match p {
            b'd' => b[i + k].is_ascii_digit(),
            b'h' => b[i + k].is_ascii_hexdigit(),
            b'?' => b[i + k] == b'T' || b[i + k] == b' ',
            _ => b[i + k] == p,
        })
}

/// What is wrong with the text of `path`, shown in `lang`.
fn faults(path: &str, lang: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let wrong = if lang == "da" { ENGLISH } else { DANISH };
    for w in words(text) {
        if wrong.contains(&w.as_str()) {
            found.push(format!("{lang} {path}: the word {w:?}"));
        }
    }
    let b = text.as_bytes();
    for i in 0..b.len() {
        if shaped(b, i, "dddd-dd-dd?dd:dd") || shaped(b, i, "dd:dd:dd+dd:dd") || shaped(b, i, "dd:dd:ddZ") {
            found.push(format!(
                "{lang} {path}: a timestamp {:?}",
                String::from_utf8_lossy(&b[i..(i + 25).min(b.len())])
            ));
        }
        if shaped(b, i, "hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh") {
            found.push(format!("{lang} {path}: an id {:?}", String::from_utf8_lossy(&b[i..i + 36])));
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn the_walk_sees_what_a_person_sees() {
    let html =
        r#"<p title="confirmed">Tilmeldt <a lang="en" href="/lang/en">English</a></p><script>let open = 1;</script>"#;
    assert_eq!(words(&visible_text(html, "en")), ["tilmeldt"]);
    assert_eq!(faults("/x", "da", "Status: confirmed, 2026-12-02T21:48").len(), 2);
    assert_eq!(faults("/x", "en", "id 0192f3a4-1b2c-7d3e-8f40-123456789abc").len(), 1);
    assert!(faults("/x", "da", "2. december 2026 kl. 21.48, Åben for tilmelding").is_empty());
}

async fn every_page_speaks_one_language_and_no_machine(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "sekretariat@kl.example", Role::Admin).await;
    dialogforum::demo::load(app.store(), jiff::civil::date(2026, 11, 27)).await.unwrap();
    let api = app.api(&token);
    let meeting = api
        .published_meeting(&json!({
            "title": "Data på tværs af kommunerne", "starts_at": "2030-12-02T21:48:00+01:00",
            "ends_at": "2030-12-02T23:00:00+01:00", "format": "physical", "venue": "KL-huset", "capacity": 1
        }))
        .await;
    let id: MeetingId = meeting.parse().expect("a meeting id");

    // One registration in each state, and people in each standing.
    let mut rsvp = None;
    let mut person_id = None;
    for (n, (status, answers)) in [
        (PersonStatus::Confirmed, &["yes"][..]),
        (PersonStatus::Pending, &["yes"][..]),
        (PersonStatus::Unsubscribed, &["no"][..]),
        (PersonStatus::Bounced, &[][..]),
        (PersonStatus::Guest, &["yes", "no"][..]),
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("deltager{n}@walk.example");
        let person = common::add_person(app.store(), &email, &format!("Deltager {n}"), "Nordlys IT A/S", status).await;
        let (_, link) = common::invite_person(app.store(), id, person).await;
        for answer in answers {
            let res = app.rsvp(&link, answer).await;
            assert!(res.status().is_success(), "{email} answers {answer}: {}", res.status());
        }
        person_id.get_or_insert(person);
        rsvp.get_or_insert(link);
    }
    let (rsvp, person) = (rsvp.unwrap(), person_id.unwrap());
    // Fair seats: a lottery drawn, a lottery taking applications, and a meeting not open yet.
    let lottery = json!({
        "title": "Lodtrækning om pladserne", "starts_at": "2030-12-03T09:00:00+01:00",
        "ends_at": "2030-12-03T12:00:00+01:00", "format": "physical", "capacity": 1,
        "allocation": "lottery", "applications_close_at": "2030-11-01T09:00:00+01:00"
    });
    let (drawn, applying) = (api.published_meeting(&lottery).await, api.published_meeting(&lottery).await);
    let opens = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48)).strftime("%Y-%m-%dT%H:%M:%SZ");
    let later = api
        .published_meeting(&json!({
            "title": "Åbner senere", "starts_at": "2030-12-04T09:00:00+01:00", "ends_at": "2030-12-04T12:00:00+01:00",
            "format": "physical", "registration_opens_at": opens.to_string()
        }))
        .await;
    let mut seat_links = Vec::new();
    for (n, m) in [&drawn, &applying, &later].into_iter().enumerate() {
        let email = format!("ansoeger{n}@walk.example");
        let who = app.confirmed_person(&email, "Ansøger", "Nordlys IT A/S").await;
        let (_, link) = common::invite_person(app.store(), m.parse().expect("a meeting id"), who).await;
        if n < 2 {
            assert_eq!(app.rsvp(&link, "yes").await.status(), 200, "{email} applies");
        }
        seat_links.push(format!("/rsvp/{link}"));
    }
    assert_eq!(api.act(&format!("/meetings/{drawn}/allocate")).await.status(), 200);
    let registered: Value = api.json(&format!("/meetings/{meeting}/registrations")).await;
    let waiting =
        registered["items"].as_array().unwrap().iter().find(|r| r["status"] == "waitlisted").expect("one waits")["id"]
            .clone();
    let moved = json!({"order": [waiting], "reason": "Oplægsholder"});
    assert_eq!(api.post(&format!("/meetings/{meeting}/waitlist"), &moved).await.status(), 200);
    // A link to the first person's own page, whose data page lists the organisers' reads.
    let profile = dialogforum::domain::Token::generate();
    let mut tx = app.store().begin().await.unwrap();
    let link = dialogforum::store::tokens::NewLinkToken {
        hash: profile.hash(),
        purpose: dialogforum::domain::TokenPurpose::Profile,
        person: Some(person),
        registration: None,
        expires_at: None,
    };
    dialogforum::store::tokens::insert_link_tokens(&mut tx, &[link]).await.unwrap();
    tx.commit().await.unwrap();
    api.invite(&meeting, &json!({"audience": {"all": true}, "send_at": "2031-04-01T09:00:00+02:00"})).await;
    api.invite(&meeting, &json!({"audience": {"all": true}, "send_at": "2031-04-02T09:00:00+02:00"})).await;

    let meetings: Value = api.json("/meetings").await;
    let past = meetings["items"].as_array().unwrap().iter().find(|m| m["number"] == 16).expect("demo meeting 16")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A file waiting for release, so the meeting's report page offers it.
    let mut tx = app.store().begin().await.unwrap();
    dialogforum::store::materials::insert_material(&mut tx, id, "Program.pdf", "application/pdf", b"%PDF-1.7")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // The past meeting's report changed and approved: its page offers publication.
    let report = json!({"sections": [{"title": "Velkomst", "body": "Tak for sidst."}]});
    assert_eq!(api.put(&format!("/meetings/{past}/report"), &report).await.status(), 200);
    assert_eq!(api.act(&format!("/meetings/{past}/report/approve")).await.status(), 200);
    let listing = common::text(app.get("/meetings").await, 200).await;
    let number: String = listing
        .split(r#"href="/meetings/"#)
        .nth(1)
        .expect("a meeting on the public list")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    // An invited organiser's link to choose a password.
    let invited = dialogforum::domain::Token::generate();
    let mut tx = app.store().begin().await.unwrap();
    let email = dialogforum::domain::Email::parse("ny@kl.example").unwrap();
    let no_password = dialogforum::store::users::NO_PASSWORD_YET;
    let newcomer = dialogforum::store::users::insert_user(&mut tx, &email, "Ny Kollega", Role::Organiser, no_password)
        .await
        .unwrap();
    let purpose = dialogforum::store::users::AccountLinkPurpose::Invite;
    let until = dialogforum::store::now() + jiff::SignedDuration::from_hours(24);
    dialogforum::store::users::insert_account_link(&mut tx, newcomer, &invited.hash(), purpose, until).await.unwrap();
    tx.commit().await.unwrap();

    let organiser = [
        "/admin".to_owned(),
        "/admin/meetings".to_owned(),
        "/admin/meetings/new".to_owned(),
        format!("/admin/meetings/{meeting}"),
        format!("/admin/meetings/{meeting}/invitations"),
        format!("/admin/meetings/{meeting}/registrations"),
        format!("/admin/meetings/{meeting}/waitlist"),
        format!("/admin/meetings/{meeting}/evaluation"),
        format!("/admin/meetings/{past}"),
        format!("/admin/meetings/{past}/registrations"),
        format!("/admin/meetings/{past}/evaluation/results"),
        format!("/admin/meetings/{past}/evaluation/texts"),
        format!("/admin/meetings/{past}/report"),
        format!("/admin/meetings/{meeting}/report"),
        "/admin/evaluations".to_owned(),
        "/admin/year?from=2020-01-01&to=2026-12-31".to_owned(),
        "/admin/campaigns".to_owned(),
        "/admin/people".to_owned(),
        format!("/admin/people/{person}"),
        "/admin/people/new".to_owned(),
        "/admin/people/import".to_owned(),
        "/admin/organisations".to_owned(),
        "/admin/interests".to_owned(),
        "/admin/exports".to_owned(),
        "/admin/audit".to_owned(),
        "/admin/users".to_owned(),
        "/admin/tokens".to_owned(),
        "/admin/password".to_owned(),
        format!("/admin/meetings/{drawn}/registrations"),
        format!("/admin/meetings/{applying}/registrations"),
        format!("/admin/meetings/{meeting}/checkin"),
        format!("/admin/meetings/{meeting}/door-list"),
    ];
    let public = [
        "/".to_owned(),
        "/meetings".to_owned(),
        format!("/meetings/{number}"),
        "/meetings/16".to_owned(),
        "/subscribe".to_owned(),
        "/me".to_owned(),
        "/privacy".to_owned(),
        "/accessibility".to_owned(),
        format!("/rsvp/{rsvp}"),
        seat_links[0].clone(),
        seat_links[1].clone(),
        seat_links[2].clone(),
        format!("/me/{}/data", profile.expose()),
        "/login/forgot".to_owned(),
        format!("/login/password/{}", invited.expose()),
    ];

    let admin = app.sign_in("sekretariat@kl.example").await;
    let mut found = Vec::new();
    for (lang, other) in [("da", "en"), ("en", "da")] {
        let res = admin.http.get(app.url(&format!("/lang/{lang}"))).send().await.unwrap();
        assert!(res.status().is_redirection(), "the language switch answers {}", res.status());
        for path in organiser.iter().chain(&public) {
            let res = admin.http.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), 200, "GET {path} in {lang}");
            let html = res.text().await.unwrap();
            assert!(html.contains(&format!(r#"<html lang="{lang}""#)), "{path} is in {lang}");
            if path.starts_with("/admin") {
                assert!(html.contains(r#"<nav class="workspace""#), "{path} has the workspace bar");
            }
            found.extend(faults(path, lang, &visible_text(&html, other)));
        }
        // A refusal speaks the page's language too.
        let res = admin
            .post("/admin/password", &[("current", common::PASSWORD), ("new", "short"), ("repeat", "short")])
            .await;
        let html = common::text(res, 422).await;
        assert!(html.contains(if lang == "da" { "Adgangskoden skal" } else { "The password must" }), "{html}");
        found.extend(faults("/admin/password (refused)", lang, &visible_text(&html, other)));
    }
    assert!(found.is_empty(), "{} faults:\n{}", found.len(), found.join("\n"));
    app.stop().await;
}
both_engines!(every_page_speaks_one_language_and_no_machine);
