//! A person's own data in words: the sections of the page `/me/{token}/data`
//! and of its CSV, from what the store holds about them, with dates written
//! out and statuses in the person's language.

use crate::domain::{PersonStatus, RegistrationStatus, Timestamp};
use crate::i18n::Lang;
use crate::store::subscribers::{PersonalData, ReadData};

use super::{DataTexts, status_text};

/// One section: its heading and its items, each a list of (field, value).
pub struct Section {
    pub title: &'static str,
    pub items: Vec<Vec<(&'static str, String)>>,
}

/// The sections of `data`, in `lang`.
pub fn sections(data: &PersonalData, lang: Lang) -> Vec<Section> {
    let d = DataTexts::get(lang);
    let when = |t: Timestamp| format!("{} {}", lang.date(t), lang.time(t));
    let maybe = |t: Option<Timestamp>| t.map(when).unwrap_or_default();
    let pick = |da, en| lang.pick(da, en);
    let p = &data.profile;
    let status =
        PersonStatus::parse(&p.status).map_or_else(|_| p.status.clone(), |s| status_text(lang.texts(), s).to_owned());
    let profile = vec![
        (pick("Navn", "Name"), p.name.clone()),
        (pick("E-mailadresse", "Email address"), p.email.clone()),
        (pick("Organisation", "Organisation"), p.organisation.clone().unwrap_or_default()),
        (pick("Interesser", "Interests"), p.interests.join(", ")),
        (pick("Status", "Status"), status),
        (pick("Sprog", "Language"), if p.language == "en" { "English".into() } else { "Dansk".into() }),
        (pick("Oprettet", "Created"), when(p.created_at)),
        (pick("Bekræftet", "Confirmed"), maybe(p.confirmed_at)),
        (pick("Forladt listen", "Left the list"), maybe(p.left_at)),
    ];
    let consents = data
        .consents
        .iter()
        .map(|c| {
            vec![
                (pick("Formål", "Purpose"), c.purpose.clone()),
                (pick("Tekst", "Text"), c.text_shown.clone()),
                (pick("Givet", "Given"), when(c.given_at)),
                (pick("Trukket tilbage", "Withdrawn"), maybe(c.withdrawn_at)),
            ]
        })
        .collect();
    let registrations = data
        .registrations
        .iter()
        .map(|r| {
            vec![
                (pick("Møde", "Meeting"), r.meeting_title.clone()),
                (pick("Svar", "Answer"), registration_status(&r.status, lang)),
                (pick("Spor", "Track"), r.track.clone().unwrap_or_default()),
                (pick("Kost", "Diet"), r.diet.clone()),
                (pick("Tilgængelighed", "Access needs"), r.access_needs.clone()),
                (pick("Kommentar", "Comment"), r.comment.clone()),
                (pick("Svaret", "Answered"), maybe(r.answered_at)),
                (pick("Tjekket ind", "Checked in"), maybe(r.checked_in_at)),
            ]
        })
        .collect();
    let messages = data
        .messages
        .iter()
        .map(|m| {
            let sent = m.sent_at.map_or_else(|| pick("ikke sendt", "not sent").to_owned(), when);
            vec![
                (pick("Slags", "Kind"), m.kind.clone()),
                (pick("Lagt i kø", "Queued"), when(m.created_at)),
                (pick("Sendt", "Sent"), sent),
            ]
        })
        .collect();
    let log = data
        .audit
        .iter()
        .map(|a| {
            let who = match a.actor.as_str() {
                "user" => pick("en organisator", "an organiser"),
                "person" => pick("dig", "you"),
                _ => pick("systemet", "the system"),
            };
            vec![
                (pick("Tidspunkt", "Time"), when(a.at)),
                (pick("Hvem", "Who"), who.to_owned()),
                (pick("Handling", "Action"), crate::web::admin::audit::action(&a.action, lang)),
            ]
        })
        .collect();
    let reads = data
        .reads
        .iter()
        .map(|r| vec![(pick("Tidspunkt", "Time"), when(r.at)), (pick("Hvad", "What"), read_words(r, lang))])
        .collect();
    vec![
        Section { title: d.profile, items: vec![profile] },
        Section { title: d.consents, items: consents },
        Section { title: d.registrations, items: registrations },
        Section { title: d.messages, items: messages },
        Section { title: d.log, items: log },
        Section { title: d.reads, items: reads },
    ]
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
