//! A person's own data in words: the sections of the page `/me/{token}/data`
//! and of its CSV, from what the store holds about them, with dates written
//! out and statuses in the person's language.

use crate::domain::{PersonStatus, RegistrationStatus, Timestamp};
use crate::i18n::Lang;
use crate::store::subscribers::{
    AuditData, ConsentData, MessageData, PersonalData, Profile, ReadData, RegistrationData,
};

use super::{DataTexts, status_text};

/// One section: its heading and its items, each a list of (field, value).
pub struct Section {
    pub title: &'static str,
    pub items: Vec<Vec<(&'static str, String)>>,
}

/// The sections of `data`, in `lang`.
pub fn sections(data: &PersonalData, lang: Lang) -> Vec<Section> {
    let d = DataTexts::get(lang);
    vec![
        Section { title: d.profile, items: vec![profile(&data.profile, lang)] },
        Section { title: d.consents, items: data.consents.iter().map(|c| consent(c, lang)).collect() },
        Section { title: d.registrations, items: data.registrations.iter().map(|r| registration(r, lang)).collect() },
        Section { title: d.messages, items: data.messages.iter().map(|m| message(m, lang)).collect() },
        Section { title: d.log, items: data.audit.iter().map(|a| log_entry(a, lang)).collect() },
        Section { title: d.reads, items: data.reads.iter().map(|r| read(r, lang)).collect() },
    ]
}

/// A time written out.
fn when(lang: Lang, t: Timestamp) -> String {
    format!("{} {}", lang.date(t), lang.time(t))
}

/// A time written out, or nothing.
fn maybe(lang: Lang, t: Option<Timestamp>) -> String {
    t.map(|t| when(lang, t)).unwrap_or_default()
}

/// The person's details.
fn profile(p: &Profile, lang: Lang) -> Vec<(&'static str, String)> {
    let pick = |da, en| lang.pick(da, en);
    let status =
        PersonStatus::parse(&p.status).map_or_else(|_| p.status.clone(), |s| status_text(lang.texts(), s).to_owned());
    vec![
        (pick("Navn", "Name"), p.name.clone()),
        (pick("E-mailadresse", "Email address"), p.email.clone()),
        (pick("Organisation", "Organisation"), p.organisation.clone().unwrap_or_default()),
        (pick("Interesser", "Interests"), p.interests.join(", ")),
        (pick("Status", "Status"), status),
        (pick("Sprog", "Language"), if p.language == "en" { "English".into() } else { "Dansk".into() }),
        (pick("Oprettet", "Created"), when(lang, p.created_at)),
        (pick("Bekræftet", "Confirmed"), maybe(lang, p.confirmed_at)),
        (pick("Forladt listen", "Left the list"), maybe(lang, p.left_at)),
    ]
}

/// One consent.
fn consent(c: &ConsentData, lang: Lang) -> Vec<(&'static str, String)> {
    let pick = |da, en| lang.pick(da, en);
    vec![
        (pick("Formål", "Purpose"), c.purpose.clone()),
        (pick("Tekst", "Text"), c.text_shown.clone()),
        (pick("Givet", "Given"), when(lang, c.given_at)),
        (pick("Trukket tilbage", "Withdrawn"), maybe(lang, c.withdrawn_at)),
    ]
}

/// One registration for a meeting.
fn registration(r: &RegistrationData, lang: Lang) -> Vec<(&'static str, String)> {
    let pick = |da, en| lang.pick(da, en);
    vec![
        (pick("Møde", "Meeting"), r.meeting_title.clone()),
        (pick("Svar", "Answer"), registration_status(&r.status, lang)),
        (pick("Spor", "Track"), r.track.clone().unwrap_or_default()),
        (pick("Kost", "Diet"), r.diet.clone()),
        (pick("Tilgængelighed", "Access needs"), r.access_needs.clone()),
        (pick("Kommentar", "Comment"), r.comment.clone()),
        (pick("Svaret", "Answered"), maybe(lang, r.answered_at)),
        (pick("Tjekket ind", "Checked in"), maybe(lang, r.checked_in_at)),
    ]
}

/// One mail to the person.
fn message(m: &MessageData, lang: Lang) -> Vec<(&'static str, String)> {
    let pick = |da, en| lang.pick(da, en);
    let sent = m.sent_at.map_or_else(|| pick("ikke sendt", "not sent").to_owned(), |t| when(lang, t));
    vec![
        (pick("Slags", "Kind"), m.kind.clone()),
        (pick("Lagt i kø", "Queued"), when(lang, m.created_at)),
        (pick("Sendt", "Sent"), sent),
    ]
}

/// One entry of the log about the person: when, by whom (never which organiser) and what.
fn log_entry(a: &AuditData, lang: Lang) -> Vec<(&'static str, String)> {
    let pick = |da, en| lang.pick(da, en);
    let who = match a.actor.as_str() {
        "user" => pick("en organisator", "an organiser"),
        "person" => pick("dig", "you"),
        _ => pick("systemet", "the system"),
    };
    vec![
        (pick("Tidspunkt", "Time"), when(lang, a.at)),
        (pick("Hvem", "Who"), who.to_owned()),
        (pick("Handling", "Action"), crate::web::admin::audit::action(&a.action, lang)),
    ]
}

/// One time an organiser read the person's data.
fn read(r: &ReadData, lang: Lang) -> Vec<(&'static str, String)> {
    vec![(lang.pick("Tidspunkt", "Time"), when(lang, r.at)), (lang.pick("Hvad", "What"), read_words(r, lang))]
}

/// What an organiser's read of the person's data was, in words; who read it is not said.
fn read_words(r: &ReadData, lang: Lang) -> String {
    let meeting = r.meeting.as_deref().unwrap_or_default();
    let da = lang == Lang::Da;
    match r.action.as_str() {
        "person.view" | "subscriber.view" if da => "En organisator så dine oplysninger.".into(),
        "person.view" | "subscriber.view" => "An organiser viewed your details.".into(),
        "checkin.person" if da => format!("Din tilmelding til »{meeting}« blev åbnet ved indgangen."),
        "checkin.person" => format!("Your registration for “{meeting}” was opened at the door."),
        "registrations.view" if da => format!("Tilmeldingerne til »{meeting}« blev vist, med din."),
        "registrations.view" => format!("The registrations for “{meeting}” were viewed, yours among them."),
        "checkin.view" if da => format!("Listen ved indgangen til »{meeting}« blev vist, med dig på."),
        "checkin.view" => format!("The door list of “{meeting}” was viewed, with you on it."),
        "export.participants" if da => format!("Deltagerlisten til »{meeting}« blev eksporteret, med dig på."),
        "export.participants" => format!("The participant list of “{meeting}” was exported, with you on it."),
        "export.subscribers" if da => "Mailinglisten blev eksporteret, mens du var på den.".into(),
        "export.subscribers" => "The mailing list was exported while you were on it.".into(),
        other => other.to_owned(),
    }
}

/// A registration's status in words.
fn registration_status(stored: &str, lang: Lang) -> String {
    let words = match RegistrationStatus::parse(stored) {
        Ok(RegistrationStatus::Invited) => lang.pick("inviteret, ikke svaret", "invited, not answered"),
        Ok(RegistrationStatus::Attending) => lang.pick("tilmeldt", "registered"),
        Ok(RegistrationStatus::Waitlisted) => lang.pick("på venteliste", "on the waiting list"),
        Ok(RegistrationStatus::Declined) => lang.pick("deltager ikke", "not attending"),
        Ok(RegistrationStatus::Cancelled) => lang.pick("afmeldt eller givet videre", "cancelled or passed on"),
        Err(_) => return stored.to_owned(),
    };
    words.to_owned()
}

/// The sections as CSV for a spreadsheet (UTF-8 with a byte-order mark,
/// `;`-separated, formula-like text neutralised): section, item number,
/// field, value.
///
/// # Errors
/// Writing the CSV failed.
pub fn csv(sections: &[Section], d: &DataTexts) -> anyhow::Result<Vec<u8>> {
    use crate::transfer::export::csv_sink::{BOM, neutralise};
    let mut w = csv::WriterBuilder::new().delimiter(b';').terminator(csv::Terminator::CRLF).from_writer(BOM.to_vec());
    w.write_record(d.csv_headers)?;
    for s in sections {
        for (i, item) in s.items.iter().enumerate() {
            let n = (i + 1).to_string();
            for (field, value) in item {
                w.write_record([s.title, n.as_str(), field, &neutralise(value)])?;
            }
        }
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}
