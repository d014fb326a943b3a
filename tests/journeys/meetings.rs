//! The organiser's meeting pages end to end over HTTP on both engines, with a
//! real SMTP server: creating a meeting and building its programme without
//! JavaScript, its life from draft to archive, and the invitation page —
//! counting an audience as the real send would, previewing, sending a test
//! only to oneself, and a personal message that arrives rendered and escaped.

use crate::common;
use crate::common::PostForm as _;

use common::smtp::Received;
use common::{Engine, SignedIn, TestApp, add_person, api_token, send_invitations, text, upload_body};
use dialogforum::domain::{MeetingId, MeetingStatus, PersonId, PersonStatus, Role};

const ORGANISER: &str = "organiser@forum.example";

fn version_of(html: &str) -> String {
    let start = html.find(r#"name="version" value=""#).expect("a version field") + r#"name="version" value=""#.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Registers `person` for `meeting` with `status` straight in the database,
/// created and updated at `at` (microseconds), with the SQL assignments `set`
/// (such as `checked_in_at = 1`) on top.
async fn registration(app: &TestApp, meeting: MeetingId, person: PersonId, status: &str, at: i64, set: &str) {
    let id = uuid::Uuid::now_v7();
    let insert = "insert into registration (id, meeting_id, person_id, status, created_at, updated_at) \
                  values ($1, $2, $3, $4, $5, $5)";
    on_db!(app.db, |pool| sqlx::query(insert)
        .bind(id)
        .bind(meeting.uuid())
        .bind(person.uuid())
        .bind(status)
        .bind(at)
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected());
    if !set.is_empty() {
        let update = format!("update registration set {set} where id = $1");
        on_db!(app.db, |pool| sqlx::query(sqlx::AssertSqlSafe(update.clone()))
            .bind(id)
            .execute(&pool)
            .await
            .unwrap()
            .rows_affected());
    }
}

/// The details form of a meeting starting on `day` at 13:00.
fn details<'a>(csrf: &'a str, number: &'a str, title: &'a str, day: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf.to_owned()),
        ("number", number.to_owned()),
        ("title", title.to_owned()),
        ("description", "Hvad offentlige myndigheder kan bruge AI til.".to_owned()),
        ("themes", "AI, Indkøb".to_owned()),
        ("starts_at", format!("{day}T13:00")),
        ("ends_at", format!("{day}T16:00")),
        ("format", "hybrid".to_owned()),
        ("venue", "Digitaliseringsstyrelsen, Landgreven 4".to_owned()),
        ("online_url", "https://meet.example/dialogforum".to_owned()),
        ("capacity", "80".to_owned()),
        ("per_organisation_limit", "2".to_owned()),
        ("registration_deadline", format!("{day}T09:00")),
        ("tracks", "ai | Kunstig intelligens | 40\nbuy | Indkøb".to_owned()),
    ]
}

/// Creates a meeting through the page and returns its id.
async fn create_meeting(app: &TestApp, http: &reqwest::Client, csrf: &str, number: &str, day: &str) -> MeetingId {
    let res = http
        .post_form(format!("{}/admin/meetings/new", app.base), &details(csrf, number, "AI i det offentlige", day))
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    location.trim_start_matches("/admin/meetings/").parse().unwrap()
}

/// Publishes the meeting `id` from its page, confirming the step.
async fn publish(app: &TestApp, http: &reqwest::Client, csrf: &str, id: MeetingId) {
    let status = format!("{}/admin/meetings/{id}/status", app.base);
    assert_eq!(http.post_form(&status, &[("csrf", csrf), ("to", "published"), ("confirm", "yes")]).await.status(), 303);
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    on_db!(app.db, |pool| sqlx::query_scalar("select count(*) from audit_log where action = $1")
        .bind(action)
        .fetch_one(&pool)
        .await
        .unwrap())
}

async fn an_organiser_creates_a_meeting_builds_its_programme_and_takes_it_through_its_life(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let SignedIn { http, csrf, .. } = app.sign_in_as(ORGANISER, Role::Organiser).await;
    let url = |path: &str| format!("{}{path}", app.base);

    // A form with mistakes comes back with each message by its field.
    let mut bad = details(&csrf, "0", "", "2027-03-04");
    bad.iter_mut().find(|(k, _)| *k == "ends_at").unwrap().1 = "2027-03-04T12:00".into();
    let html = text(http.post_form(url("/admin/meetings/new"), &bad).await, 422).await;
    for field in ["title", "number", "ends_at"] {
        assert!(html.contains(&format!(r##"href="#{field}""##)), "{field} in the summary: {html}");
        assert!(html.contains(&format!(r#"id="{field}-error""#)), "{field} message: {html}");
        assert!(html.contains(&format!(r#"aria-describedby="{field}-error""#)), "{field} described: {html}");
    }
    assert!(html.contains("Digitaliseringsstyrelsen, Landgreven 4"), "what was typed is kept");

    let id = create_meeting(&app, &http, &csrf, "21", "2027-03-04").await;
    let m = app.store().meeting(id).await.unwrap();
    assert_eq!(
        (m.status, m.number, m.capacity, m.per_organisation_limit),
        (MeetingStatus::Draft, Some(21), Some(80), Some(2))
    );
    assert_eq!(m.starts_at.to_string(), "2027-03-04T12:00:00Z", "13:00 in Copenhagen is 12:00 UTC in March");
    assert_eq!(
        m.tracks.iter().map(|t| (t.key.as_str(), t.capacity)).collect::<Vec<_>>(),
        [("ai", Some(40)), ("buy", None)]
    );
    let page = url(&format!("/admin/meetings/{id}"));

    // Three programme items, each added with the version the page showed.
    for (start, title, speakers, track) in [
        ("13:00", "Velkomst", "", ""),
        ("13:15", "AI i sagsbehandling", "Mette Jensen | Grøn Energi A/S | Chefkonsulent", "ai"),
        ("14:30", "Indkøb af AI", "Søren Holm | Vindkraft ApS", "buy"),
    ] {
        let html = text(http.get(&page).send().await.unwrap(), 200).await;
        let form = [
            ("csrf", csrf.as_str()),
            ("version", &version_of(&html)),
            ("start", start),
            ("end", ""),
            ("item_title", title),
            ("item_description", ""),
            ("speakers", speakers),
            ("track", track),
        ];
        let res = http.post_form(format!("{page}/programme"), &form).await;
        assert_eq!(res.status(), 303);
    }
    // An item with a wrong time and an unknown track is refused by its fields.
    let html = text(http.get(&page).send().await.unwrap(), 200).await;
    let version = version_of(&html);
    let form = [
        ("csrf", csrf.as_str()),
        ("version", &version),
        ("start", "25:99"),
        ("end", ""),
        ("item_title", "Forkert"),
        ("item_description", ""),
        ("speakers", ""),
        ("track", "nope"),
    ];
    let html = text(http.post_form(format!("{page}/programme"), &form).await, 422).await;
    common::assert_has(&html, &[r#"id="start-error""#, r#"id="track-error""#]);

    // Move the last item up, then remove the first; a stale form is refused.
    let up = [("csrf", csrf.as_str()), ("version", &version), ("action", "up")];
    assert_eq!(http.post_form(format!("{page}/programme/2"), &up).await.status(), 303);
    assert_eq!(http.post_form(format!("{page}/programme/0"), &up).await.status(), 409, "stale version");
    let html = text(http.get(&page).send().await.unwrap(), 200).await;
    let version = version_of(&html);
    let remove = [("csrf", csrf.as_str()), ("version", &version), ("action", "remove")];
    let asked = text(http.post_form(format!("{page}/programme/0"), &remove).await, 200).await;
    assert!(asked.contains("Fjern punktet fra programmet?"), "the first press only asks: {asked}");
    let confirmed = [("csrf", csrf.as_str()), ("version", &version), ("action", "remove"), ("confirm", "yes")];
    assert_eq!(http.post_form(format!("{page}/programme/0"), &confirmed).await.status(), 303);
    let m = app.store().meeting(id).await.unwrap();
    let titles: Vec<&str> = m.programme.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, ["Indkøb af AI", "AI i sagsbehandling"]);
    assert_eq!(m.programme[1].speakers[0].organisation, "Grøn Energi A/S");
    assert_eq!(m.programme[1].track.as_deref(), Some("ai"));
    assert_eq!(m.programme[0].starts_at.unwrap().to_string(), "2027-03-04T13:30:00Z");

    // Edit an item: move it to the other track.
    let html = text(http.get(format!("{page}?item=1")).send().await.unwrap(), 200).await;
    assert!(
        html.contains(r#"value="13:15""#)
            && html.contains(r#"id="speaker-0-name" name="speaker-0-name" type="text" value="Mette Jensen""#)
            && html.contains(r#"value="Chefkonsulent""#),
        "{html}"
    );
    let form = [
        ("csrf", csrf.as_str()),
        ("version", &version_of(&html)),
        ("action", "save"),
        ("start", "13:15"),
        ("end", "14:00"),
        ("item_title", "AI i sagsbehandlingen"),
        ("item_description", ""),
        ("speakers", "Mette Jensen | Grøn Energi A/S"),
        ("track", "buy"),
    ];
    assert_eq!(http.post_form(format!("{page}/programme/1"), &form).await.status(), 303);
    let m = app.store().meeting(id).await.unwrap();
    assert_eq!(
        (m.programme[1].title.as_str(), m.programme[1].track.as_deref()),
        ("AI i sagsbehandlingen", Some("buy"))
    );

    // The life of the meeting: only the moves that make sense are offered and allowed.
    let status = format!("{page}/status");
    let html = text(http.get(&page).send().await.unwrap(), 200).await;
    assert!(html.contains(r#"value="published""#) && !html.contains(r#"value="archived""#), "{html}");
    assert_eq!(http.post_form(&status, &[("csrf", csrf.as_str()), ("to", "archived")]).await.status(), 409);
    for to in ["published", "closed"] {
        let res = http.post_form(&status, &[("csrf", csrf.as_str()), ("to", to), ("confirm", "yes")]).await;
        assert_eq!(res.status(), 303, "to {to}");
        assert_eq!(app.store().meeting(id).await.unwrap().status.as_str(), to);
    }
    // Held once it has begun, and only on the confirmation.
    assert_eq!(http.post_form(&status, &[("csrf", csrf.as_str()), ("to", "held")]).await.status(), 409);
    crate::safety::begun(&app, id).await;
    for to in ["held", "archived"] {
        let res = http.post_form(&status, &[("csrf", csrf.as_str()), ("to", to), ("confirm", "yes")]).await;
        assert_eq!(res.status(), 303, "to {to}");
        assert_eq!(app.store().meeting(id).await.unwrap().status.as_str(), to);
    }
    assert_eq!(http.post_form(&status, &[("csrf", csrf.as_str()), ("to", "cancelled")]).await.status(), 409);
    assert_eq!(http.post_form(&status, &[("csrf", "forged"), ("to", "held")]).await.status(), 403);

    // The list shows it; every change left an audit entry.
    let html = text(http.get(url("/admin/meetings")).send().await.unwrap(), 200).await;
    assert!(html.contains("AI i det offentlige"), "{html}");
    assert_eq!(audit_count(&app, "meeting.create").await, 1);
    assert_eq!(audit_count(&app, "meeting.programme").await, 6);
    assert_eq!(audit_count(&app, "meeting.published").await, 1);
    assert_eq!(audit_count(&app, "meeting.archived").await, 1);
    app.stop().await;
}
both_engines!(an_organiser_creates_a_meeting_builds_its_programme_and_takes_it_through_its_life);

async fn rescheduling_on_the_page_tells_the_invited_with_a_higher_sequence(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    let SignedIn { http, csrf, .. } = app.sign_in_as(ORGANISER, Role::Organiser).await;
    let id = create_meeting(&app, &http, &csrf, "22", "2027-05-06").await;
    let page = format!("{}/admin/meetings/{id}", app.base);
    assert_eq!(
        http.post_form(format!("{page}/status"), &[("csrf", csrf.as_str()), ("to", "published"), ("confirm", "yes")])
            .await
            .status(),
        303
    );
    app.confirmed_person("anna@nordlys.example", "Anna Bøgh", "Nordlys IT").await;
    let form = [("csrf", csrf.as_str()), ("audience", "all")];
    text(send_invitations(&http, &format!("{page}/invitations"), &form).await.1, 200).await;
    let first = smtp.wait_for(1, 20).await;
    assert!(first[0].calendar().contains("SEQUENCE:0\r\n"));
    // Anna takes a seat: only a seat holder's calendar has the entry to update.
    let yes = [("answer", "yes"), ("track", "ai")];
    assert_eq!(app.post_form(&first[0].link_path("/rsvp/"), &yes).await.status(), 200);
    let seat = smtp.wait_for(2, 20).await;
    assert!(seat[1].calendar().contains("METHOD:REQUEST\r\n"), "{}", seat[1].calendar());

    let mut moved = details(&csrf, "22", "AI i det offentlige", "2027-05-06");
    moved.iter_mut().find(|(k, _)| *k == "starts_at").unwrap().1 = "2027-05-06T14:00".into();
    assert_eq!(http.post_form(&page, &moved).await.status(), 303);
    let msgs = smtp.wait_for(3, 20).await;
    assert_eq!(msgs.len(), 3);
    let ics = msgs[2].calendar();
    common::assert_has(&ics, &["SEQUENCE:1\r\n", "DTSTART;TZID=Europe/Copenhagen:20270506T140000"]);
    assert_eq!(audit_count(&app, "meeting.reschedule").await, 1);
    app.stop().await;
}
both_engines!(rescheduling_on_the_page_tells_the_invited_with_a_higher_sequence);

fn parsed(m: &Received) -> (String, String, String) {
    let p = mail_parser::MessageParser::default().parse(&m.data).expect("MIME");
    (
        p.subject().unwrap_or_default().to_owned(),
        p.body_text(0).map(std::borrow::Cow::into_owned).unwrap_or_default(),
        p.body_html(0).map(std::borrow::Cow::into_owned).unwrap_or_default(),
    )
}

async fn registrations(app: &TestApp, meeting: MeetingId) -> i64 {
    on_db!(app.db, |pool| sqlx::query_scalar("select count(*) from registration where meeting_id = $1")
        .bind(meeting.uuid())
        .fetch_one(&pool)
        .await
        .unwrap())
}

async fn the_invitation_page_counts_like_the_send_previews_tests_and_sends_a_personal_message(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    let SignedIn { http, csrf, .. } = app.sign_in_as(ORGANISER, Role::Organiser).await;
    let store = app.store();
    let mette =
        add_person(store, "mette@energi.example", "Mette Jensen", "Grøn Energi A/S", PersonStatus::Confirmed).await;
    add_person(store, "lars@energi.example", "Lars Berg", "Grøn Energi A/S", PersonStatus::Confirmed).await;
    add_person(store, "gone@energi.example", "Gone Away", "Grøn Energi A/S", PersonStatus::Unsubscribed).await;
    let soren = add_person(store, "soren@vind.example", "Søren Holm", "Vindkraft ApS", PersonStatus::Confirmed).await;
    let declined = add_person(store, "ida@vind.example", "Ida Vang", "Vindkraft ApS", PersonStatus::Confirmed).await;
    let energi = store.organisations().await.unwrap().into_iter().find(|o| o.name == "Grøn Energi A/S").unwrap().id;

    // An earlier meeting: Mette attended, Søren was checked in, Ida declined.
    let earlier = create_meeting(&app, &http, &csrf, "20", "2026-09-01").await;
    for to in ["published", "held"] {
        let status = format!("{}/admin/meetings/{earlier}/status", app.base);
        let form = [("csrf", csrf.as_str()), ("to", to), ("confirm", "yes")];
        assert_eq!(http.post_form(&status, &form).await.status(), 303);
    }
    for (person, status, checked_in) in
        [(mette, "attending", false), (soren, "attending", true), (declined, "declined", false)]
    {
        let set = if checked_in { "checked_in_at = 1" } else { "" };
        registration(&app, earlier, person, status, 0, set).await;
    }

    let id = create_meeting(&app, &http, &csrf, "21", "2027-03-04").await;
    let page = format!("{}/admin/meetings/{id}/invitations", app.base);
    let html = text(http.get(&page).send().await.unwrap(), 200).await;
    common::assert_has(&html, &["Grøn Energi A/S", r#"name="attendees_of""#]);

    // The count: an organisation's confirmed members, each once.
    let energi_id = energi.to_string();
    let form =
        [("csrf", csrf.as_str()), ("audience", "organisations"), ("organisations", &energi_id), ("action", "preview")];
    let html = text(http.post_form(&page, &form).await, 200).await;
    assert!(html.contains("<strong>2 inviteres</strong>"), "{html}");
    // Earlier attendees plus a guest who is one of them and a new guest: three addresses.
    let earlier_id = earlier.to_string();
    let guests = "Mette Jensen; mette@energi.example; Grøn Energi A/S\nKaren Ny; karen@gaest.example; Gæst ApS";
    let form = [
        ("csrf", csrf.as_str()),
        ("audience", "attendees_of"),
        ("attendees_of", &earlier_id),
        ("guests", guests),
        ("message", "Kære {{ name }} fra {{organisation}}"),
        ("action", "preview"),
    ];
    let html = text(http.post_form(&page, &form).await, 200).await;
    assert!(html.contains("<strong>3 inviteres</strong>"), "{html}");
    assert!(html.contains("Invitation: 21. møde i Dialogforum – AI i det offentlige"), "the subject: {html}");
    assert!(html.contains("Kære ") && html.contains("Tidspunkt: 4. marts 2027"), "the mail's text: {html}");
    assert_eq!(registrations(&app, id).await, 0, "counting invites nobody");
    let karen = app.db.count("select count(*) from person where email = 'karen@gaest.example'").await;
    assert_eq!(karen, 0, "nor keeps the guest");

    // An unknown placeholder is refused by the message field.
    let form = [
        ("csrf", csrf.as_str()),
        ("audience", "all"),
        ("message", "Din kode: {{ env.SECRET }}"),
        ("action", "preview"),
    ];
    let html = text(http.post_form(&page, &form).await, 422).await;
    assert!(html.contains(r#"id="message-error""#) && html.contains(r##"href="#message""##), "{html}");

    // A test goes to the organiser only, marked as a test, even before publishing.
    let message = "Hej {{name}}!\n\nSe **programmet**. <script>alert(1)</script>";
    let form = [("csrf", csrf.as_str()), ("audience", "all"), ("message", message), ("action", "test")];
    let html = text(http.post_form(&page, &form).await, 200).await;
    assert!(html.contains("organiser@forum.example"), "{html}");
    let msgs = smtp.wait_for(1, 20).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].to, vec![ORGANISER]);
    let (subject, _, _) = parsed(&msgs[0]);
    assert!(subject.starts_with("[TEST] Invitation"), "{subject}");
    assert_eq!(registrations(&app, id).await, 0, "a test invites nobody");
    assert_eq!(audit_count(&app, "invitation.test").await, 1);

    // Sending needs a published meeting; then the message arrives rendered and escaped.
    let form =
        [("csrf", csrf.as_str()), ("audience", "organisations"), ("organisations", &energi_id), ("message", message)];
    let asked: Vec<_> = form.iter().copied().chain([("action", "send")]).collect();
    assert_eq!(http.post_form(&page, &asked).await.status(), 409);
    publish(&app, &http, &csrf, id).await;
    let html = text(send_invitations(&http, &page, &form).await.1, 200).await;
    assert!(html.contains("2 invitationer sendes nu"), "{html}");
    let msgs = smtp.wait_for(3, 20).await;
    assert_eq!(msgs.len(), 3);
    let mut to: Vec<&str> = msgs[1..].iter().map(|m| m.to[0].as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["lars@energi.example", "mette@energi.example"]);
    let for_mette = msgs.iter().find(|m| m.to[0] == "mette@energi.example").unwrap();
    let (_, text_part, html_part) = parsed(for_mette);
    assert!(html_part.contains("Hej Mette Jensen!"), "{html_part}");
    assert!(
        html_part.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html_part.contains("<script>"),
        "{html_part}"
    );
    assert!(html_part.contains("<strong>programmet</strong>"), "{html_part}");
    common::assert_has(&text_part, &["Hej Mette Jensen!", "Se programmet. <script>alert(1)</script>"]);
    assert_eq!(registrations(&app, id).await, 2);
    assert_eq!(store.invitation_message(id).await.unwrap(), message, "the message stays with the meeting");

    // The same audience again invites nobody twice.
    let form = [
        ("csrf", csrf.as_str()),
        ("audience", "organisations"),
        ("organisations", &energi_id),
        ("message", message),
        ("action", "preview"),
    ];
    let html = text(http.post_form(&page, &form).await, 200).await;
    assert!(html.contains("<strong>0 inviteres</strong>"), "{html}");
    app.stop().await;
}
both_engines!(the_invitation_page_counts_like_the_send_previews_tests_and_sends_a_personal_message);

async fn an_invitation_waits_for_a_confirmation_naming_its_audience_and_a_second_send_does_not_widen_it(
    engine: Engine,
) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    let SignedIn { http, csrf, .. } = app.sign_in_as(ORGANISER, Role::Organiser).await;
    let store = app.store();
    add_person(store, "mette@energi.example", "Mette Jensen", "Grøn Energi A/S", PersonStatus::Confirmed).await;
    add_person(store, "lars@energi.example", "Lars Berg", "Grøn Energi A/S", PersonStatus::Confirmed).await;
    for (email, name) in [("soren@vind.example", "Søren Holm"), ("ida@vind.example", "Ida Vang")] {
        add_person(store, email, name, "Vindkraft ApS", PersonStatus::Confirmed).await;
    }
    let energi = store.organisations().await.unwrap().into_iter().find(|o| o.name == "Grøn Energi A/S").unwrap().id;
    let energi = energi.to_string();
    let id = create_meeting(&app, &http, &csrf, "23", "2027-06-03").await;
    publish(&app, &http, &csrf, id).await;
    let page = format!("{}/admin/meetings/{id}/invitations", app.base);
    let form = [("csrf", csrf.as_str()), ("audience", "organisations"), ("organisations", energi.as_str())];

    // "Send" only asks: the audience in words, how many, who, the deadline and the time.
    let asked: Vec<_> = form.iter().copied().chain([("action", "send")]).collect();
    let confirm = text(http.post_form(&page, &asked).await, 200).await;
    assert!(confirm.contains("Bekræft udsendelsen"), "{confirm}");
    assert!(confirm.contains("Bestemte organisationer: Grøn Energi A/S"), "{confirm}");
    common::assert_has(&confirm, &["<dd>2</dd>", "Ja, send 2 invitationer"]);
    common::assert_has(&confirm, &["Mette Jensen, Grøn Energi A/S", "Lars Berg"]);
    assert!(!confirm.contains("Søren Holm"), "only the chosen organisation: {confirm}");
    common::assert_has(&confirm, &["3. juni 2027 kl. 09.00", "<dd>Nu</dd>"]);
    assert_eq!(registrations(&app, id).await, 0, "nothing is sent before the confirmation");

    // The confirmation sends to the segment, and the form keeps the audience.
    let key = common::hidden_field(&confirm, "key");
    let confirmed: Vec<_> = form.iter().copied().chain([("action", "confirm"), ("key", key.as_str())]).collect();
    let html = text(http.post_form(&page, &confirmed).await, 200).await;
    assert!(html.contains("2 invitationer sendes nu"), "{html}");
    assert!(html.contains(r#"id="audience-organisations" name="audience" value="organisations" checked"#), "{html}");
    let msgs = smtp.wait_for(2, 20).await;
    let mut to: Vec<&str> = msgs.iter().map(|m| m.to[0].as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["lars@energi.example", "mette@energi.example"]);

    // The same send again finds nobody new, and offers no button.
    let html = text(http.post_form(&page, &asked).await, 200).await;
    assert!(html.contains("Ingen nye modtagere") && !html.contains(r#"value="confirm""#), "{html}");

    // Once someone new has joined the organisation, sending the same again
    // needs its own tick, and then reaches only the newcomer.
    add_person(store, "nanna@energi.example", "Nanna Friis", "Grøn Energi A/S", PersonStatus::Confirmed).await;
    let (again, res) = send_invitations(&http, &page, &form).await;
    assert!(again.contains("Den samme invitation til de samme modtagere blev oprettet"), "{again}");
    assert!(again.contains("Ja, send 1 invitation</button>"), "{again}");
    let html = text(res, 409).await;
    assert!(html.contains(r#"id="again-error""#), "{html}");
    let key = common::hidden_field(&html, "key");
    let mut ticked = form.to_vec();
    ticked.extend([("action", "confirm"), ("key", key.as_str()), ("again", "yes")]);
    let html = text(http.post_form(&page, &ticked).await, 200).await;
    assert!(html.contains("1 invitation sendes nu."), "{html}");
    let to: Vec<String> = smtp.wait_for(3, 20).await.iter().map(|m| m.to[0].clone()).collect();
    assert_eq!(to.len(), 3, "{to:?}");
    assert_eq!(to.iter().filter(|t| t.ends_with("@vind.example")).count(), 0, "nobody outside the organisation");
    assert_eq!(registrations(&app, id).await, 3);
    assert_eq!(audit_count(&app, "campaign.create").await, 2);

    // A stale confirmation (the list changed since it was shown) is shown again, not sent.
    let stale = [("csrf", csrf.as_str()), ("audience", "all"), ("action", "confirm"), ("key", "0123")];
    let html = text(http.post_form(&page, &stale).await, 409).await;
    common::assert_has(&html, &["Modtagerne har ændret sig", "Ja, send 2 invitationer"]);
    assert_eq!(app.delivered(&smtp).await, 3);
    app.stop().await;
}
both_engines!(an_invitation_waits_for_a_confirmation_naming_its_audience_and_a_second_send_does_not_widen_it);

/// A `datetime-local` value `hours` from now, in Copenhagen time.
fn local_in(hours: i64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(hours);
    t.to_zoned_datetime(dialogforum::domain::copenhagen()).strftime("%Y-%m-%dT%H:%M").to_string()
}

async fn reminders_reach_the_unanswered_and_the_attending_once_each(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    let SignedIn { http, csrf, .. } = app.sign_in_as(ORGANISER, Role::Organiser).await;
    let store = app.store();
    let anna = add_person(store, "anna@nordlys.example", "Anna Bøgh", "Nordlys IT", PersonStatus::Confirmed).await;
    let bo = add_person(store, "bo@nordlys.example", "Bo Ravn", "Nordlys IT", PersonStatus::Confirmed).await;
    let cy = add_person(store, "cy@vind.example", "Cy Lund", "Vindkraft ApS", PersonStatus::Confirmed).await;
    let dee = add_person(store, "dee@vind.example", "Dee Holm", "Vindkraft ApS", PersonStatus::Unsubscribed).await;

    // A hybrid meeting in 12 hours whose deadline is in 6: both reminders are due.
    let mut form = details(&csrf, "30", "Grøn it i praksis", "2027-01-01");
    for (k, v) in [("starts_at", local_in(12)), ("ends_at", local_in(15)), ("registration_deadline", local_in(6))] {
        form.iter_mut().find(|(f, _)| *f == k).unwrap().1 = v;
    }
    let res = http.post_form(format!("{}/admin/meetings/new", app.base), &form).await;
    assert_eq!(res.status(), 303);
    let id: MeetingId =
        res.headers()["location"].to_str().unwrap().trim_start_matches("/admin/meetings/").parse().unwrap();
    for (person, status) in [(anna, "invited"), (bo, "attending"), (cy, "declined"), (dee, "invited")] {
        registration(&app, id, person, status, 0, "").await;
    }
    // Eve was invited just now, inside the reminder window: the invitation is reminder enough.
    let eve = add_person(store, "eve@vind.example", "Eve Dal", "Vindkraft ApS", PersonStatus::Confirmed).await;
    let just_now = jiff::Timestamp::now().as_microsecond();
    registration(&app, id, eve, "invited", just_now, "").await;
    // Nothing is sent for a draft.
    let ctx =
        dialogforum::mail::MailContext { composer: app.running.state.composer.clone(), base_url: app.base.clone() };
    let settings = dialogforum::config::Reminders { deadline_days: 2, start_hours: 24 };
    assert_eq!(dialogforum::mail::compose::reminders::send_due(store, &ctx, settings).await.unwrap(), 0);

    publish(&app, &http, &csrf, id).await;
    app.running.state.campaign_wake.notify_one();
    let msgs = smtp.wait_for(2, 20).await;

    // The runner already sent them: two more runs at once find nobody left.
    let (a, b) = tokio::join!(
        dialogforum::mail::compose::reminders::send_due(store, &ctx, settings),
        dialogforum::mail::compose::reminders::send_due(store, &ctx, settings)
    );
    assert_eq!((a.unwrap(), b.unwrap()), (0, 0));
    let mut to: Vec<&str> = msgs.iter().map(|m| m.to[0].as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["anna@nordlys.example", "bo@nordlys.example"], "one each, and only to them");
    let claimed: i64 =
        on_db!(app.db, |pool| sqlx::query_scalar("select count(*) from reminder_sent where meeting_id = $1")
            .bind(id.uuid())
            .fetch_one(&pool)
            .await
            .unwrap());
    assert_eq!(claimed, 2);

    let (subject, text_part, _) = parsed(msgs.iter().find(|m| m.to[0] == "anna@nordlys.example").unwrap());
    assert!(subject.starts_with("Påmindelse: svar på invitationen"), "{subject}");
    assert!(!text_part.contains("https://meet.example"), "no joining link before a seat: {text_part}");
    let link = text_part.split_whitespace().find(|w| w.contains("/rsvp/")).expect("an answer link");
    let path = &link[link.find("/rsvp/").unwrap()..];
    assert_eq!(http.get(format!("{}{path}", app.base)).send().await.unwrap().status(), 200, "the answer link works");
    let (subject, text_part, _) = parsed(msgs.iter().find(|m| m.to[0] == "bo@nordlys.example").unwrap());
    assert!(subject.starts_with("Påmindelse: Grøn it i praksis"), "{subject}");
    common::assert_has(&text_part, &["https://meet.example/dialogforum", "Landgreven 4"]);
    app.stop().await;
}
both_engines!(reminders_reach_the_unanswered_and_the_attending_once_each);

async fn materials_and_consenting_organisations_appear_on_the_public_page_after_the_meeting(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let SignedIn { http, csrf, .. } = app.sign_in_as(ORGANISER, Role::Organiser).await;
    let store = app.store();
    let id = create_meeting(&app, &http, &csrf, "31", "2027-06-10").await;
    publish(&app, &http, &csrf, id).await;
    let upload = format!("{}/admin/meetings/{id}/materials", app.base);

    // A web page named .pdf is refused by the file field; so is a forged form.
    let (ct, body) =
        upload_body(&csrf, "slides.pdf", "application/octet-stream", b"<html><script>alert(1)</script></html>");
    let html = text(http.post(&upload).header("content-type", ct).body(body).send().await.unwrap(), 422).await;
    assert!(html.contains(r#"id="file-error""#) && html.contains(r##"href="#file""##), "{html}");
    let (ct, body) = upload_body("forged", "slides.pdf", "application/octet-stream", b"%PDF-1.4 forged");
    assert_eq!(http.post(&upload).header("content-type", ct).body(body).send().await.unwrap().status(), 403);
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
    let (ct, body) = upload_body(&csrf, "Grøn it.pdf", "application/octet-stream", &pdf);
    assert_eq!(http.post(&upload).header("content-type", ct).body(body).send().await.unwrap().status(), 303);
    assert_eq!(audit_count(&app, "material.upload").await, 1);

    // Who came: only organisations whose people attended and agreed are listed.
    let a = add_person(store, "a@alfa.example", "Anne Alfa", "Alfa Data A/S", PersonStatus::Confirmed).await;
    let b = add_person(store, "b@beta.example", "Bent Beta", "Beta Consult", PersonStatus::Confirmed).await;
    let c = add_person(store, "c@gamma.example", "Carl Gamma", "Gamma IT", PersonStatus::Confirmed).await;
    for (person, status, listed) in [(a, "attending", true), (b, "attending", false), (c, "declined", true)] {
        let set = if listed { "list_organisation = true" } else { "list_organisation = false" };
        registration(&app, id, person, status, 0, set).await;
    }

    // Before the meeting the public page shows neither.
    let html = text(app.get("/meetings/31").await, 200).await;
    assert!(!html.contains("Grøn it.pdf") && !html.contains("Alfa Data A/S"), "{html}");
    assert_eq!(app.get("/meetings/31").await.status(), 200);

    // Once held, both; the file downloads as an attachment that is never sniffed.
    crate::safety::begun(&app, id).await;
    let held = [("csrf", csrf.as_str()), ("to", "held"), ("confirm", "yes")];
    let status = format!("{}/admin/meetings/{id}/status", app.base);
    assert_eq!(http.post_form(&status, &held).await.status(), 303);
    let html = text(app.get("/meetings/31").await, 200).await;
    assert!(html.contains("Grøn it.pdf"), "{html}");
    assert!(html.contains("Alfa Data A/S"), "{html}");
    assert!(!html.contains("Beta Consult") && !html.contains("Gamma IT"), "only those who agreed and came: {html}");
    let href = html
        .split("href=\"")
        .find(|s| s.starts_with("/meetings/31/materials/"))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let res = app.get(&href).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(
        res.headers()["content-disposition"],
        "attachment; filename=\"Groen it.pdf\"; filename*=UTF-8''Gr%C3%B8n%20it.pdf"
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.bytes().await.unwrap().to_vec(), pdf);
    assert_eq!(app.get(&format!("/meetings/31/materials/{}", uuid::Uuid::now_v7())).await.status(), 404);
    app.stop().await;
}
both_engines!(materials_and_consenting_organisations_appear_on_the_public_page_after_the_meeting);

async fn the_api_invites_an_organisation_and_moves_a_meeting_only_where_allowed(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "api@forum.example").await;
    let store = app.store();
    add_person(store, "mette@energi.example", "Mette Jensen", "Grøn Energi A/S", PersonStatus::Confirmed).await;
    add_person(store, "soren@vind.example", "Søren Holm", "Vindkraft ApS", PersonStatus::Confirmed).await;
    let energi = store.organisations().await.unwrap().into_iter().find(|o| o.name == "Grøn Energi A/S").unwrap().id;
    let body = serde_json::json!({
        "title": "Data og arkitektur", "number": 40, "starts_at": "2027-09-01T13:00:00+02:00",
        "ends_at": "2027-09-01T16:00:00+02:00", "format": "physical", "venue": "Landgreven 4"
    });
    let res = app.api(&token).post("/meetings", &body).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    let res = app.api(&token).act(&format!("/meetings/{id}/archive")).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.text().await.unwrap().contains("the meeting is draft; it cannot become archived"));
    let res = app.api(&token).act(&format!("/meetings/{id}/publish")).await;
    assert_eq!(res.status(), 200);

    let invite = serde_json::json!({"audience": {"organisations": [energi.uuid()]}});
    let res = app.api(&token).post(&format!("/meetings/{id}/invitations"), &invite).await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    let msgs = smtp.wait_for(1, 20).await;
    assert_eq!(msgs.iter().map(|m| m.to[0].as_str()).collect::<Vec<_>>(), ["mette@energi.example"]);
    let both = serde_json::json!({"audience": {"organisations": [energi.uuid()], "all": true}});
    let res = app.api(&token).post(&format!("/meetings/{id}/invitations"), &both).await;
    assert_eq!(res.status(), 422);

    crate::safety::begun(&app, id.parse().unwrap()).await;
    for (path, status) in [("close", "closed"), ("held", "held"), ("archive", "archived")] {
        let res = app.api(&token).act(&format!("/meetings/{id}/{path}")).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.json::<serde_json::Value>().await.unwrap()["status"], status);
    }
    let res = app.api(&token).act(&format!("/meetings/{id}/cancel")).await;
    assert_eq!(res.status(), 409);
    app.stop().await;
}
both_engines!(the_api_invites_an_organisation_and_moves_a_meeting_only_where_allowed);

async fn a_virtual_draft_goes_public_only_with_its_link_and_old_flaws_do_not_block_an_edit(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "secretariat@forum.example", Role::Organiser).await;
    let api = app.api(&token);
    let draft = serde_json::json!({"title": "Virtuelt møde", "starts_at": "2027-10-01T09:00:00+02:00",
        "ends_at": "2027-10-01T12:00:00+02:00", "format": "virtual"});
    let res = api.post("/meetings", &draft).await;
    assert_eq!(res.status(), 201, "a draft may wait for its joining link");
    let id = res.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    let res = api.act(&format!("/meetings/{id}/publish")).await;
    assert_eq!(res.status(), 422);
    let problem: serde_json::Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().starts_with("online_url:"), "{problem}");

    // The same rule, by the field, on the organiser's page.
    let page = app.sign_in("secretariat@forum.example").await;
    let res = page.post(&format!("/admin/meetings/{id}/status"), &[("to", "published")]).await;
    let html = text(res, 422).await;
    assert!(html.contains(r#"id="online_url-error""#), "{html}");

    // A meeting stored with a flaw (an http link, from before the rule) can still be edited.
    app.db.execute("update meeting set online_url = 'http://gammel.example/x' where number is null").await;
    let res = api.patch(&format!("/meetings/{id}"), &serde_json::json!({"title": "Virtuelt møde, nyt navn"})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = api.patch(&format!("/meetings/{id}"), &serde_json::json!({"ends_at": "2027-10-01T08:00:00+02:00"})).await;
    assert_eq!(res.status(), 422, "but an edit may not add a flaw");

    let res = api.act(&format!("/meetings/{id}/cancel")).await;
    assert_eq!(res.status(), 200, "an incomplete draft can be cancelled");
    app.stop().await;
}
both_engines!(a_virtual_draft_goes_public_only_with_its_link_and_old_flaws_do_not_block_an_edit);

async fn tracks_and_speakers_are_rows_to_fill_in_and_remove_with_keys_made_from_the_titles(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    api_token(&app, "organiser@forum.example", Role::Organiser).await;
    let SignedIn { http, csrf, .. } = app.sign_in("organiser@forum.example").await;
    let form = text(http.get(format!("{}/admin/meetings/new", app.base)).send().await.unwrap(), 200).await;
    assert!(form.contains(r#"id="track-0-title""#) && form.contains(r#"id="track-1-title""#), "two empty rows");
    assert!(!form.contains("nøgle | titel"), "no typed syntax to learn");

    let mut new = details(&csrf, "31", "Data og AI", "2027-04-01");
    new.retain(|(k, _)| *k != "tracks");
    for (k, v) in [
        ("track-rows", "3"),
        ("track-0-key", ""),
        ("track-0-title", "Kunstig intelligens"),
        ("track-0-seats", "40"),
        ("track-1-key", "buy"),
        ("track-1-title", "Indkøb"),
        ("track-1-seats", ""),
        ("track-2-key", ""),
        ("track-2-title", ""),
        ("track-2-seats", ""),
    ] {
        new.push((k, v.to_owned()));
    }
    let res = http.post_form(format!("{}/admin/meetings/new", app.base), &new).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let page = format!("{}{}", app.base, res.headers()["location"].to_str().unwrap().split('?').next().unwrap());
    let id: MeetingId = page.rsplit('/').next().unwrap().parse().unwrap();
    let m = app.store().meeting(id).await.unwrap();
    let tracks: Vec<(&str, &str, Option<i32>)> =
        m.tracks.iter().map(|t| (t.key.as_str(), t.title.as_str(), t.capacity)).collect();
    assert_eq!(tracks, [("kunstig-intelligens", "Kunstig intelligens", Some(40)), ("buy", "Indkøb", None)]);

    // A track ticked for removal goes on the next save.
    let html = text(http.get(&page).send().await.unwrap(), 200).await;
    common::assert_has(&html, &[r#"id="track-1-drop""#, r#"value="kunstig-intelligens""#]);
    let mut save = details(&csrf, "31", "Data og AI", "2027-04-01");
    save.retain(|(k, _)| *k != "tracks");
    for (k, v) in [
        ("track-rows", "2"),
        ("track-0-key", "kunstig-intelligens"),
        ("track-0-title", "Kunstig intelligens"),
        ("track-0-seats", "40"),
        ("track-1-key", "buy"),
        ("track-1-title", "Indkøb"),
        ("track-1-drop", "yes"),
    ] {
        save.push((k, v.to_owned()));
    }
    assert_eq!(http.post_form(&page, &save).await.status(), 303);
    let m = app.store().meeting(id).await.unwrap();
    assert_eq!(m.tracks.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(), ["kunstig-intelligens"]);

    // Speakers as rows; a row with an organisation but no name is refused by the group.
    let html = text(http.get(&page).send().await.unwrap(), 200).await;
    let version = version_of(&html);
    let item = |rows: &[(&'static str, &'static str)]| {
        let mut form = vec![
            ("csrf", csrf.clone()),
            ("version", version.clone()),
            ("start", "13:00".to_owned()),
            ("end", String::new()),
            ("item_title", "AI i sagsbehandling".to_owned()),
            ("item_description", String::new()),
            ("track", String::new()),
            ("speaker-rows", "2".to_owned()),
        ];
        form.extend(rows.iter().map(|(k, v)| (*k, (*v).to_owned())));
        form
    };
    let refused = item(&[("speaker-0-organisation", "Grøn Energi A/S")]);
    let html = text(http.post_form(format!("{page}/programme"), &refused).await, 422).await;
    common::assert_has(&html, &[r#"id="speakers-error""#, r#"value="Grøn Energi A/S""#]);
    let fine = item(&[
        ("speaker-0-name", "Mette Jensen"),
        ("speaker-0-organisation", "Grøn Energi A/S"),
        ("speaker-0-role", "Chefkonsulent"),
        ("speaker-1-name", "Søren Holm"),
    ]);
    assert_eq!(http.post_form(format!("{page}/programme"), &fine).await.status(), 303);
    let m = app.store().meeting(id).await.unwrap();
    let speakers: Vec<(&str, &str, &str)> =
        m.programme[0].speakers.iter().map(|s| (s.name.as_str(), s.organisation.as_str(), s.role.as_str())).collect();
    assert_eq!(speakers, [("Mette Jensen", "Grøn Energi A/S", "Chefkonsulent"), ("Søren Holm", "", "")]);
    app.stop().await;
}
both_engines!(tracks_and_speakers_are_rows_to_fill_in_and_remove_with_keys_made_from_the_titles);
