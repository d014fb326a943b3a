//! Calendar entries as Outlook and Google Calendar meet them, end to end:
//! what each mail carries (an offer to the whole list, a request to a seat
//! holder, its update and its withdrawal), every file read by an
//! independent iCalendar reader (the `ical` crate), and replies from a
//! calendar mailed to the organiser address over SMTP, applied as answers.

use crate::common;

use common::smtp::{Received, SmtpClient, SmtpServer};
use common::{Engine, TestApp, invite_person};
use dialogforum::domain::{MeetingId, RegistrationId, RegistrationStatus, Role};
use ical::parser::ical::component::{IcalTimeZone, IcalTimeZoneTransitionType};
use ical::property::Property;
use serde_json::json;

const ORGANIZER: &str = "svar@forum.example";

/// A calendar file as the `ical` crate reads it, after the checks every file
/// the service writes must pass.
pub struct Ics {
    pub raw: String,
    pub calendar: Vec<Property>,
    pub event: Vec<Property>,
}

/// Reads `raw` with the `ical` crate and checks what every calendar file
/// must hold: CRLF line ends, no line longer than 75 octets, one calendar
/// with one event, and the Europe/Copenhagen VTIMEZONE with the yearly
/// last-Sunday rules Outlook reads.
pub fn read_ics(raw: &str) -> Ics {
    assert!(raw.ends_with("\r\n") && !raw.replace("\r\n", "").contains(['\n', '\r']), "CRLF line ends: {raw:?}");
    for line in raw.split("\r\n") {
        assert!(line.len() <= 75, "a line of {} octets is not folded: {line:?}", line.len());
    }
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(raw.as_bytes()));
    let calendar = parser.next().expect("a calendar").unwrap_or_else(|e| panic!("{e}: {raw}"));
    assert!(parser.next().is_none(), "one calendar: {raw}");
    assert_eq!(calendar.events.len(), 1, "one event: {raw}");
    let [tz] = calendar.timezones.as_slice() else { panic!("one VTIMEZONE: {raw}") };
    check_copenhagen(tz);
    Ics { raw: raw.to_owned(), calendar: calendar.properties, event: calendar.events[0].properties.clone() }
}

fn value<'a>(props: &'a [Property], name: &str) -> Option<&'a str> {
    props.iter().find(|p| p.name == name).and_then(|p| p.value.as_deref())
}

fn param<'a>(p: &'a Property, key: &str) -> Option<&'a str> {
    p.params.as_ref()?.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.first()).map(String::as_str)
}

/// The VTIMEZONE block: CEST from the last Sunday of March at 02:00, CET
/// from the last Sunday of October at 03:00, each as a yearly RRULE.
fn check_copenhagen(tz: &IcalTimeZone) {
    assert_eq!(value(&tz.properties, "TZID"), Some("Europe/Copenhagen"));
    let rule = |kind: IcalTimeZoneTransitionType| {
        let t = tz
            .transitions
            .iter()
            .find(|t| std::mem::discriminant(&t.transition) == std::mem::discriminant(&kind))
            .expect("a STANDARD and a DAYLIGHT part");
        let v = |n| value(&t.properties, n).unwrap_or_default().to_owned();
        (v("TZOFFSETFROM"), v("TZOFFSETTO"), v("DTSTART"), v("RRULE"))
    };
    assert_eq!(
        rule(IcalTimeZoneTransitionType::DAYLIGHT),
        ("+0100".into(), "+0200".into(), "19700329T020000".into(), "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU".into())
    );
    assert_eq!(
        rule(IcalTimeZoneTransitionType::STANDARD),
        ("+0200".into(), "+0100".into(), "19701025T030000".into(), "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU".into())
    );
}

impl Ics {
    pub fn method(&self) -> &str {
        value(&self.calendar, "METHOD").expect("a METHOD")
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        value(&self.event, name)
    }

    pub fn sequence(&self) -> i64 {
        self.get("SEQUENCE").expect("a SEQUENCE").parse().expect("a number")
    }

    pub fn attendees(&self) -> Vec<&Property> {
        self.event.iter().filter(|p| p.name == "ATTENDEE").collect()
    }

    pub fn organizer(&self) -> &Property {
        self.event.iter().find(|p| p.name == "ORGANIZER").expect("an ORGANIZER")
    }

    /// The instant `DTSTART` (or `DTEND`) names: local time in the zone of its TZID.
    pub fn instant(&self, name: &str) -> jiff::Timestamp {
        let p = self.event.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("a {name}"));
        assert_eq!(param(p, "TZID"), Some("Europe/Copenhagen"), "{}", self.raw);
        let local: jiff::civil::DateTime =
            jiff::fmt::strtime::parse("%Y%m%dT%H%M%S", p.value.as_deref().unwrap()).unwrap().to_datetime().unwrap();
        local.in_tz("Europe/Copenhagen").unwrap().timestamp()
    }
}

/// The calendar part of a message and the `method` of its MIME type, if it has one.
fn calendar_of(m: &Received) -> Option<(Ics, String)> {
    use mail_parser::MimeHeaders as _;
    let parsed = mail_parser::MessageParser::default().parse(&m.data).unwrap();
    let part = parsed.attachments().find(|a| a.attachment_name() == Some("invitation.ics"))?;
    let ct = part.content_type().expect("a content type");
    assert_eq!((ct.ctype(), ct.subtype()), ("text", Some("calendar")));
    let method = ct.attribute("method").expect("a method parameter").to_owned();
    let ics = read_ics(&String::from_utf8_lossy(part.contents()));
    assert_eq!(ics.method(), method, "the MIME type and the file agree");
    Some((ics, method))
}

/// The one ATTENDEE of a seat holder's entry, checked: their address and
/// name, and the answer given.
fn the_attendee(ics: &Ics, email: &str, name: &str, partstat: &str) {
    let attendees = ics.attendees();
    let [a] = attendees.as_slice() else { panic!("exactly one ATTENDEE: {}", ics.raw) };
    assert_eq!(a.value.as_deref(), Some(format!("mailto:{email}").as_str()));
    assert_eq!(param(a, "CN"), Some(name));
    assert_eq!(param(a, "PARTSTAT"), Some(partstat));
    assert_eq!(param(a, "RSVP"), Some("TRUE"));
    assert_eq!(ics.organizer().value.as_deref(), Some(format!("mailto:{ORGANIZER}").as_str()));
}

/// The app with the inbound listener and `mail.organizer` set, sending to a
/// test SMTP server; an organiser's API token.
async fn spawn(engine: Engine) -> (TestApp, SmtpServer, String) {
    let (app, smtp) =
        TestApp::with_mail(engine, &[("inbound.bind", "127.0.0.1:0"), ("mail.organizer", ORGANIZER)]).await;
    let token = common::api_token(&app, "org@forum.example", Role::Organiser).await;
    (app, smtp, token)
}

/// A published hybrid meeting with `capacity` seats, in summer time.
async fn meeting(app: &TestApp, token: &str, title: &str, capacity: i32) -> MeetingId {
    let body = json!({
        "title": title, "number": 61, "starts_at": "2030-06-03T09:00:00+02:00", "ends_at": "2030-06-03T12:00:00+02:00",
        "format": "hybrid", "venue": "Digitaliseringsstyrelsen, Landgreven 4", "online_url": "https://meet.example/df",
        "capacity": capacity
    });
    app.api(token).published_meeting(&body).await.parse().unwrap()
}

/// Puts `email` on the list and invites them straight in the store.
async fn invited(app: &TestApp, m: MeetingId, email: &str, name: &str) -> (RegistrationId, String) {
    let person = app.confirmed_person(email, name, "Nordlys IT A/S").await;
    invite_person(app.store(), m, person).await
}

/// A meeting "Cybersikkerhed" of `capacity` seats with `email` invited to it:
/// the meeting, the registration and its RSVP link.
async fn one_invited(
    app: &TestApp,
    token: &str,
    capacity: i32,
    email: &str,
    name: &str,
) -> (MeetingId, RegistrationId, String) {
    let m = meeting(app, token, "Cybersikkerhed", capacity).await;
    let (reg, link) = invited(app, m, email, name).await;
    (m, reg, link)
}

/// A one-seat meeting to which Anna and Bo are invited and both answer yes:
/// Anna holds the seat and Bo waits for it. Their registrations and RSVP links.
async fn anna_seated_bo_waiting(app: &TestApp, token: &str) -> (MeetingId, [(RegistrationId, String); 2]) {
    let m = meeting(app, token, "Cybersikkerhed", 1).await;
    let anna = invited(app, m, "anna@nordlys-it.example", "Anna Bøgh").await;
    let bo = invited(app, m, "bo@fjord.example", "Bo Berg").await;
    assert_eq!(app.rsvp(&anna.1, "yes").await.status(), 200);
    assert_eq!(app.rsvp(&bo.1, "yes").await.status(), 200);
    (m, [anna, bo])
}

async fn status(app: &TestApp, reg: RegistrationId) -> RegistrationStatus {
    app.store().registration(reg).await.unwrap().status
}

/// An iMIP reply as Outlook sends it: the calendar as a base64
/// `text/calendar; method=REPLY` alternative beside the text.
fn outlook_reply(from: &str, name: &str, uid: &str, sequence: i64, partstat: &str) -> String {
    use base64::Engine as _;
    let ics = format!(
        "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\n\
         BEGIN:VEVENT\r\nATTENDEE;PARTSTAT={partstat};CN={name}:mailto:{from}\r\n\
         COMMENT;LANGUAGE=da-DK:\\n\r\nSUMMARY;LANGUAGE=da-DK:Svar: Dialogforum\r\n\
         DTSTART;TZID=Romance Standard Time:20300603T090000\r\nUID:{uid}\r\n\
         DTSTAMP:20300101T120000Z\r\nSEQUENCE:{sequence}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let body = base64::engine::general_purpose::STANDARD.encode(ics);
    let wrapped: Vec<&str> = body.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!(
        "From: {name} <{from}>\r\nTo: Dialogforum <{ORGANIZER}>\r\nSubject: Svar: Dialogforum\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"_000_\"\r\n\r\n\
         --_000_\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\n\r\n\
         --_000_\r\nContent-Type: text/calendar; charset=\"utf-8\"; method=REPLY\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--_000_--\r\n",
        wrapped.join("\r\n")
    )
}

/// An iMIP reply as Google Calendar sends it: an `invite.ics` attachment.
fn google_reply(from: &str, uid: &str, sequence: i64, partstat: &str) -> String {
    format!(
        "From: {from}\r\nTo: {ORGANIZER}\r\nSubject: Accepted: Dialogforum\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"g\"\r\n\r\n--g\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n\
         Accepted.\r\n--g\r\nContent-Type: application/ics; name=\"invite.ics\"\r\n\
         Content-Disposition: attachment; filename=\"invite.ics\"\r\n\r\n\
         BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nVERSION:2.0\r\nMETHOD:REPLY\r\n\
         BEGIN:VEVENT\r\nDTSTART:20300603T070000Z\r\nUID:{uid}\r\n\
         ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};CN={from};X-NUM-GUE\r\n \
         STS=0:mailto:{from}\r\nSEQUENCE:{sequence}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n--g--\r\n"
    )
}

/// Mails `message` from `from` to the organiser address over SMTP; the
/// listener answers once it has acted on it.
async fn mail_to_organizer(app: &TestApp, from: &str, message: &str) {
    let addr = app.running.inbound_addr.expect("the inbound listener runs");
    let mut smtp = SmtpClient::connect(addr).await;
    assert_eq!(smtp.command("EHLO mail.nordlys-it.example").await.0, 250);
    let (code, text) = smtp.send(from, ORGANIZER, message).await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(smtp.command("QUIT").await.0, 221);
}

fn uid(m: MeetingId) -> String {
    format!("meeting-{m}@forum.example")
}

async fn an_invitation_offers_the_meeting_to_the_calendar_and_asks_nothing_of_it(engine: Engine) {
    let (app, smtp, token) = spawn(engine).await;
    // Commas, semicolons and a backslash to escape; a long word so the summary folds mid-character.
    let title = "Pris, kvalitet; og\\grønt – Leverandørdialogomfællesindkøbafitkonsulentydelserogbæredygtighedøæå";
    let m = meeting(&app, &token, title, 10).await;
    let body = json!({"guests": [{"email": "anna@nordlys-it.example", "name": "Anna Bøgh"}]});
    let id = app.api(&token).invite(&m.to_string(), &body).await;
    app.api(&token).campaign_in_state(&id, "done").await;
    let mail = smtp.wait_for_mail("the invitation", |r| r.to == ["anna@nordlys-it.example"]).await;
    let stored = app.store().meeting(m).await.unwrap();

    let (ics, method) = calendar_of(&mail).expect("an entry to add");
    assert_eq!(method, "PUBLISH", "{}", ics.raw);
    assert!(ics.attendees().is_empty(), "nobody is asked to answer: {}", ics.raw);
    assert_eq!(ics.get("UID"), Some(format!("meeting-{m}-public@forum.example").as_str()));
    assert_ne!(ics.get("UID"), Some(uid(m).as_str()), "never the seat holders' entry");
    assert_eq!(ics.instant("DTSTART"), stored.starts_at);
    assert_eq!(ics.instant("DTEND"), stored.ends_at);
    let summary = ics.get("SUMMARY").unwrap();
    assert_eq!(
        summary,
        "Dialogforum: Pris\\, kvalitet\\; og\\\\grønt – \
         Leverandørdialogomfællesindkøbafitkonsulentydelserogbæredygtighedøæå",
        "escaped, and whole again once unfolded"
    );
    assert!(ics.raw.contains("\r\n "), "the long summary is folded");
    assert!(!ics.raw.contains("/rsvp/") && !ics.raw.contains("meet.example"), "no personal or joining link");
    let plain = mail.plain();
    assert!(plain.contains("Tidspunkt: 3. juni 2030, kl. 09.00–12.00"), "{plain}");
    assert!(plain.contains("Sted: Digitaliseringsstyrelsen, Landgreven 4"), "{plain}");

    // The public page's entry is the same offer, under the same UID.
    let public = app.get("/meetings/61/calendar.ics").await.text().await.unwrap();
    let public = read_ics(&public);
    assert_eq!((public.method(), public.get("UID")), ("PUBLISH", ics.get("UID")));
    assert!(public.attendees().is_empty());
    app.stop().await;
}
both_engines!(an_invitation_offers_the_meeting_to_the_calendar_and_asks_nothing_of_it);

async fn a_seat_holders_entry_names_them_as_the_attendee_and_the_forum_as_organiser(engine: Engine) {
    let (app, smtp, token) = spawn(engine).await;
    let (m, reg, link) = one_invited(&app, &token, 10, "anna@nordlys-it.example", "Anna Bøgh, IT").await;
    assert_eq!(app.rsvp(&link, "yes").await.status(), 200);
    assert_eq!(status(&app, reg).await, RegistrationStatus::Attending);
    let mail = smtp.wait_for_mail("the seat", |r| r.to == ["anna@nordlys-it.example"]).await;
    let (ics, method) = calendar_of(&mail).expect("the seat's entry");
    assert_eq!(method, "REQUEST");
    the_attendee(&ics, "anna@nordlys-it.example", "Anna Bøgh, IT", "ACCEPTED");
    assert_eq!(param(ics.organizer(), "CN"), Some("Dialogforum"));
    assert_eq!(ics.get("UID"), Some(uid(m).as_str()));
    assert_eq!(ics.sequence(), 0);
    let stored = app.store().meeting(m).await.unwrap();
    assert_eq!(ics.instant("DTSTART"), stored.starts_at);
    assert!(ics.get("LOCATION").unwrap().contains("https://meet.example/df"), "the joining link for a seat");
    app.stop().await;
}
both_engines!(a_seat_holders_entry_names_them_as_the_attendee_and_the_forum_as_organiser);

async fn an_outlook_decline_mailed_to_the_organiser_frees_the_seat_for_the_next_in_line(engine: Engine) {
    let (app, smtp, token) = spawn(engine).await;
    let (m, [(anna, _), (bo, _)]) = anna_seated_bo_waiting(&app, &token).await;
    assert_eq!(status(&app, bo).await, RegistrationStatus::Waitlisted);
    let to_bo = smtp.wait_for_mail("Bo's place on the waiting list", |r| r.to == ["bo@fjord.example"]).await;
    assert!(calendar_of(&to_bo).is_none(), "no entry for a place on the waiting list");
    let before = app.delivered(&smtp).await;

    mail_to_organizer(
        &app,
        "anna@nordlys-it.example",
        &outlook_reply("anna@nordlys-it.example", "Anna Bøgh", &uid(m), 0, "DECLINED"),
    )
    .await;
    assert_eq!(status(&app, anna).await, RegistrationStatus::Declined);
    assert_eq!(status(&app, bo).await, RegistrationStatus::Attending, "the next in line has the seat");

    let promoted = smtp.wait_for_mail("Bo's seat", |r| r.to == ["bo@fjord.example"] && calendar_of(r).is_some()).await;
    let (ics, method) = calendar_of(&promoted).unwrap();
    assert_eq!(method, "REQUEST");
    the_attendee(&ics, "bo@fjord.example", "Bo Berg", "ACCEPTED");
    let confirmed = smtp
        .wait_for_mail("Anna's confirmation", |r| {
            r.to == ["anna@nordlys-it.example"] && r.subject().starts_with("Tak for dit svar")
        })
        .await;
    let (ics, method) = calendar_of(&confirmed).expect("the withdrawal of Anna's entry");
    assert_eq!(method, "CANCEL");
    assert_eq!(ics.get("UID"), Some(uid(m).as_str()));
    the_attendee(&ics, "anna@nordlys-it.example", "Anna Bøgh", "DECLINED");
    assert_eq!(app.delivered(&smtp).await, before + 2, "one mail each");
    app.stop().await;
}
both_engines!(an_outlook_decline_mailed_to_the_organiser_frees_the_seat_for_the_next_in_line);

async fn an_accept_from_someone_invited_who_has_not_answered_gives_them_a_seat(engine: Engine) {
    let (app, smtp, token) = spawn(engine).await;
    let (m, cy, _) = one_invited(&app, &token, 5, "cy@nordlys-it.example", "Cy Dahl").await;
    mail_to_organizer(&app, "cy@nordlys-it.example", &google_reply("cy@nordlys-it.example", &uid(m), 0, "ACCEPTED"))
        .await;
    assert_eq!(status(&app, cy).await, RegistrationStatus::Attending);
    let mail = smtp.wait_for_mail("Cy's seat", |r| r.to == ["cy@nordlys-it.example"]).await;
    let (ics, method) = calendar_of(&mail).expect("the seat's entry");
    assert_eq!(method, "REQUEST");
    the_attendee(&ics, "cy@nordlys-it.example", "Cy Dahl", "ACCEPTED");
    assert!(mail.plain().contains("/rsvp/"), "a link to change the answer: {}", mail.plain());
    app.stop().await;
}
both_engines!(an_accept_from_someone_invited_who_has_not_answered_gives_them_a_seat);

async fn a_reschedule_updates_only_seat_holders_calendars_and_stale_or_stray_replies_change_nothing(engine: Engine) {
    let (app, smtp, token) = spawn(engine).await;
    let (m, [(anna, _), (bo, _)]) = anna_seated_bo_waiting(&app, &token).await;
    let (cy, _) = invited(&app, m, "cy@nordlys-it.example", "Cy Dahl").await;
    let before = app.delivered(&smtp).await;

    let api = app.api(&token);
    let patch = json!({"starts_at": "2030-11-04T09:00:00+01:00", "ends_at": "2030-11-04T12:00:00+01:00"});
    assert_eq!(api.patch(&format!("/meetings/{m}"), &patch).await.status(), 200);
    app.outbox_settled().await;
    let updates = smtp.messages()[before..].to_vec();
    let mut to: Vec<&str> = updates.iter().map(|r| r.to[0].as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["anna@nordlys-it.example", "bo@fjord.example", "cy@nordlys-it.example"], "everyone hears");
    let stored = app.store().meeting(m).await.unwrap();
    for r in &updates {
        match (r.to[0].as_str(), calendar_of(r)) {
            ("anna@nordlys-it.example", Some((ics, method))) => {
                assert_eq!(method, "REQUEST");
                assert_eq!(ics.sequence(), 1, "one higher");
                assert_eq!(ics.instant("DTSTART"), stored.starts_at, "the new time, in winter time");
                the_attendee(&ics, "anna@nordlys-it.example", "Anna Bøgh", "ACCEPTED");
            }
            (_, None) => assert!(r.plain().contains("4. november 2030"), "the news in words: {}", r.plain()),
            (who, Some(_)) => panic!("{who} holds no seat and gets no calendar entry"),
        }
    }

    // A reply to the old entry, one to an entry that is not ours, and one
    // naming someone other than the sender: nothing changes, nothing is sent.
    let stale = outlook_reply("anna@nordlys-it.example", "Anna Bøgh", &uid(m), 0, "DECLINED");
    mail_to_organizer(&app, "anna@nordlys-it.example", &stale).await;
    let unknown =
        outlook_reply("anna@nordlys-it.example", "Anna Bøgh", "040000008200E00074C5B7101A82E008", 1, "DECLINED");
    mail_to_organizer(&app, "anna@nordlys-it.example", &unknown).await;
    let forged = outlook_reply("anna@nordlys-it.example", "Anna Bøgh", &uid(m), 1, "DECLINED")
        .replace("From: Anna Bøgh <anna@nordlys-it.example>", "From: Cy <cy@nordlys-it.example>");
    mail_to_organizer(&app, "cy@nordlys-it.example", &forged).await;
    let public =
        outlook_reply("cy@nordlys-it.example", "Cy Dahl", &format!("meeting-{m}-public@forum.example"), 1, "ACCEPTED");
    mail_to_organizer(&app, "cy@nordlys-it.example", &public).await;
    let tentative = outlook_reply("anna@nordlys-it.example", "Anna Bøgh", &uid(m), 1, "TENTATIVE");
    mail_to_organizer(&app, "anna@nordlys-it.example", &tentative).await;
    let stranger = google_reply("eve@nordlys-it.example", &uid(m), 1, "ACCEPTED");
    mail_to_organizer(&app, "eve@nordlys-it.example", &stranger).await;
    app.outbox_settled().await;
    let states = (status(&app, anna).await, status(&app, bo).await, status(&app, cy).await);
    assert_eq!(states, (RegistrationStatus::Attending, RegistrationStatus::Waitlisted, RegistrationStatus::Invited));
    assert_eq!(smtp.messages().len(), before + 3, "nothing sent for the replies");

    // Cancelled: the seat holder's entry is withdrawn; the others hear it in words.
    assert_eq!(api.act(&format!("/meetings/{m}/cancel")).await.status(), 200);
    app.outbox_settled().await;
    let cancels = smtp.messages()[before + 3..].to_vec();
    assert_eq!(cancels.len(), 3);
    for r in &cancels {
        let entry = calendar_of(r);
        assert_eq!(entry.is_some(), r.to == ["anna@nordlys-it.example"], "only the seat holder's entry is withdrawn");
        if let Some((ics, method)) = entry {
            assert_eq!((method.as_str(), ics.sequence(), ics.get("STATUS")), ("CANCEL", 2, Some("CANCELLED")));
            the_attendee(&ics, "anna@nordlys-it.example", "Anna Bøgh", "DECLINED");
        }
    }
    app.stop().await;
}
both_engines!(a_reschedule_updates_only_seat_holders_calendars_and_stale_or_stray_replies_change_nothing);

async fn a_seat_left_for_a_full_track_is_taken_out_of_the_calendar(engine: Engine) {
    let (app, smtp, token) = spawn(engine).await;
    let body = json!({
        "title": "Spor", "starts_at": "2030-06-03T09:00:00+02:00", "ends_at": "2030-06-03T12:00:00+02:00",
        "format": "physical", "venue": "KL-huset", "capacity": 10,
        "tracks": [{"key": "ai", "title": "AI", "capacity": 1}, {"key": "sikkerhed", "title": "Sikkerhed", "capacity": 1}]
    });
    let m: MeetingId = app.api(&token).published_meeting(&body).await.parse().unwrap();
    let (anna, anna_link) = invited(&app, m, "anna@nordlys-it.example", "Anna Bøgh").await;
    let (_, bo_link) = invited(&app, m, "bo@fjord.example", "Bo Berg").await;
    let yes = |track| [("answer", "yes"), ("track", track)];
    assert_eq!(app.post_form(&format!("/rsvp/{anna_link}"), &yes("ai")).await.status(), 200);
    assert_eq!(app.post_form(&format!("/rsvp/{bo_link}"), &yes("sikkerhed")).await.status(), 200);
    let before = app.delivered(&smtp).await;

    // Anna asks for the full track: she waits for it, and her entry leaves her calendar.
    assert_eq!(app.post_form(&format!("/rsvp/{anna_link}"), &yes("sikkerhed")).await.status(), 200);
    assert_eq!(status(&app, anna).await, RegistrationStatus::Waitlisted);
    app.outbox_settled().await;
    let after = smtp.messages()[before..].to_vec();
    let [mail] = after.as_slice() else { panic!("one mail: {after:?}") };
    assert!(mail.subject().starts_with("Du er på venteliste"), "{}", mail.subject());
    let (ics, method) = calendar_of(mail).expect("the withdrawal of her entry");
    assert_eq!((method.as_str(), ics.get("UID")), ("CANCEL", Some(uid(m).as_str())));
    the_attendee(&ics, "anna@nordlys-it.example", "Anna Bøgh", "DECLINED");

    // Bo, who keeps his seat, answering again in his calendar changes nothing.
    let again = google_reply("bo@fjord.example", &uid(m), 0, "ACCEPTED");
    mail_to_organizer(&app, "bo@fjord.example", &again).await;
    assert_eq!(app.delivered(&smtp).await, before + 1, "nothing sent");
    app.stop().await;
}
both_engines!(a_seat_left_for_a_full_track_is_taken_out_of_the_calendar);

async fn an_invitation_passed_on_before_an_answer_offers_the_colleague_the_meeting_and_withdraws_nothing(
    engine: Engine,
) {
    let (app, smtp, token) = spawn(engine).await;
    let m = meeting(&app, &token, "Cybersikkerhed", 5).await;
    let (_, anna_link) = invited(&app, m, "anna@nordlys-it.example", "Anna Bøgh").await;
    let form = [("colleague_name", "Lea Kollega"), ("colleague_email", "lea@nordlys-it.example")];
    assert_eq!(app.post_form(&format!("/rsvp/{anna_link}/colleague"), &form).await.status(), 200);
    let to_lea = smtp.wait_for_mail("Lea's invitation", |r| r.to == ["lea@nordlys-it.example"]).await;
    let (ics, method) = calendar_of(&to_lea).expect("the meeting to add");
    assert_eq!((method.as_str(), ics.attendees().len()), ("PUBLISH", 0), "{}", ics.raw);
    let to_anna = smtp.wait_for_mail("Anna's confirmation", |r| r.to == ["anna@nordlys-it.example"]).await;
    assert!(calendar_of(&to_anna).is_none(), "Anna held no seat, so there is no entry of hers to withdraw");
    assert!(!to_anna.plain().contains("kalender"), "{}", to_anna.plain());
    app.stop().await;
}
both_engines!(an_invitation_passed_on_before_an_answer_offers_the_colleague_the_meeting_and_withdraws_nothing);

#[test]
fn an_organiser_address_that_is_no_address_stops_start_up_naming_the_key() {
    let out = common::cli(&["migrate"], &[("DIALOGFORUM_MAIL__ORGANIZER", "svar at forum")], "");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mail.organizer: must be empty or a mail address"), "{err}");
}
