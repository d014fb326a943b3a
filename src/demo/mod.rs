//! Demo data: the forum's sixteen meetings from 2014 to 2024, taken from its
//! public page (Danish), one upcoming meeting and a few fictional supplier
//! contacts, and made-up evaluation results for the last few meetings. Each
//! past meeting's summary from the page is its published report.
//! Loading it twice changes nothing.

mod evaluations;

use anyhow::Context;
use figment::Figment;
use figment::providers::{Format, Toml};
use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::domain::report::{ReportState, Sections};
use crate::domain::{Email, MeetingFormat, MeetingId, MeetingStatus, Name, PersonStatus, copenhagen};
use crate::store::Store;
use crate::store::audit::{self, Actor, Entry};
use crate::store::meetings::{NewMeeting, ProgrammeItem, Speaker, Track, insert_meeting, number_taken};
use crate::store::people::{ConsentRecord, NewPerson, insert_person_if_new, upsert_interest};
use crate::store::reports;

const HISTORY: &str = include_str!("history.toml");

/// The forum's recurring themes, the default set of interests: key, Danish, English.
pub const INTERESTS: &[(&str, &str, &str)] = &[
    ("ai", "Kunstig intelligens", "Artificial intelligence"),
    ("cybersecurity", "Cybersikkerhed", "Cybersecurity"),
    ("procurement", "Indkøb og udbud", "Procurement"),
    ("green-it", "Grøn it", "Green IT"),
    ("data-architecture", "Data og arkitektur", "Data and architecture"),
    ("welfare-tech", "Velfærdsteknologi", "Welfare technology"),
];

/// Fictional supplier contacts: name, address, organisation, interests.
const CONTACTS: &[(&str, &str, &str, &[&str])] = &[
    ("Anna Bøgh", "anna.bogh@nordlys-it.example", "Nordlys IT A/S", &["ai", "data-architecture"]),
    ("Mads Østergaard", "mads@fjordsikkerhed.example", "Fjord Sikkerhed ApS", &["cybersecurity"]),
    ("Sofie Kærgaard", "sofie.kaergaard@aarhus-consult.example", "Aarhus Consult", &["procurement", "ai"]),
    ("Jonas Lund", "jonas.lund@groenkode.example", "Grøn Kode ApS", &["green-it"]),
    ("Ida Frølich", "ida@velfaerdstek.example", "Velfærdsteknik Danmark", &["welfare-tech", "data-architecture"]),
    ("Rasmus Ærenlund", "rasmus@kommunedata.example", "Kommunedata Partners", &["data-architecture", "cybersecurity"]),
    ("Camilla Haugaard", "camilla.haugaard@nordlys-it.example", "Nordlys IT A/S", &["cybersecurity", "ai"]),
    ("Peter Søndergaard", "ps@udbudsraad.example", "Udbudsrådgiverne", &["procurement"]),
];

#[derive(Deserialize)]
struct History {
    meeting: Vec<HistoricMeeting>,
}

#[derive(Deserialize)]
struct HistoricMeeting {
    number: i32,
    date: String,
    start: Option<String>,
    end: Option<String>,
    format: String,
    venue: Option<String>,
    title: String,
    themes: Vec<String>,
    summary: String,
    #[serde(default)]
    programme: Vec<HistoricItem>,
    #[serde(default)]
    track: Vec<Track>,
}

#[derive(Deserialize)]
struct HistoricItem {
    title: String,
    #[serde(default)]
    speakers: Vec<Speaker>,
    track: Option<String>,
}

/// What loading the demo changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub meetings_added: usize,
    pub people_added: usize,
    /// Meetings that got demo evaluation results.
    pub evaluations_added: usize,
}

fn at(date: Date, time: &str) -> anyhow::Result<Timestamp> {
    let t: Time = time.parse().with_context(|| format!("time {time:?}"))?;
    Ok(date.to_datetime(t).to_zoned_datetime(copenhagen())?.timestamp())
}

fn historic(m: HistoricMeeting) -> anyhow::Result<NewMeeting> {
    let date: Date = m.date.parse().with_context(|| format!("meeting {}: date", m.number))?;
    // The page records no times: such meetings keep start = end at noon, which
    // the pages read as "time not recorded".
    let starts_at = at(date, m.start.as_deref().unwrap_or("12:00"))?;
    let ends_at = at(date, m.end.as_deref().or(m.start.as_deref()).unwrap_or("12:00"))?;
    Ok(NewMeeting {
        number: Some(m.number),
        title: m.title,
        description: m.summary,
        themes: m.themes,
        starts_at,
        ends_at,
        format: MeetingFormat::parse(&m.format)?,
        venue: m.venue.unwrap_or_default(),
        online_url: String::new(),
        capacity: None,
        per_organisation_limit: None,
        registration_deadline: None,
        status: MeetingStatus::Archived,
        tracks: m.track,
        programme: m
            .programme
            .into_iter()
            .map(|p| ProgrammeItem {
                starts_at: None,
                ends_at: None,
                title: p.title,
                description: String::new(),
                speakers: p.speakers,
                track: p.track,
                cancelled: false,
            })
            .collect(),
        seating: crate::domain::Seating::default(),
    })
}

/// The next meeting: a fictional 17th meeting on the first Friday at least ten
/// weeks from `today`, open for registration, with three tracks.
fn upcoming(today: Date) -> anyhow::Result<NewMeeting> {
    let mut date = today.checked_add(jiff::Span::new().weeks(10))?;
    while date.weekday() != jiff::civil::Weekday::Friday {
        date = date.tomorrow()?;
    }
    let t = |s: &str| at(date, s);
    let item =
        |time: &str, title: &str, speakers: Vec<Speaker>, track: Option<&str>| -> anyhow::Result<ProgrammeItem> {
            let start = t(time)?;
            Ok(ProgrammeItem {
                starts_at: Some(start),
                ends_at: Some(start + SignedDuration::from_mins(45)),
                title: title.to_owned(),
                description: String::new(),
                speakers,
                track: track.map(str::to_owned),
                cancelled: false,
            })
        };
    let kl = |name: &str, role: &str| Speaker { name: name.into(), role: role.into(), organisation: "KL".into() };
    Ok(NewMeeting {
        number: Some(17),
        title: "Data, AI og cybersikkerhed i den kommunale drift (demo)".into(),
        description: "Et opdigtet kommende møde, så tilmelding, venteliste og invitationer kan afprøves.".into(),
        themes: vec!["Kunstig intelligens i velfærdsområderne".into(), "NIS2 og cybersikkerhed".into()],
        starts_at: t("09:30")?,
        ends_at: t("15:00")?,
        format: MeetingFormat::Hybrid,
        venue: "KL-huset, Weidekampsgade 10, 2300 København S".into(),
        online_url: "https://meet.example/dialogforum-17".into(),
        capacity: Some(70),
        per_organisation_limit: Some(2),
        registration_deadline: Some(t("12:00")? - SignedDuration::from_hours(24 * 7)),
        status: MeetingStatus::Open,
        tracks: vec![
            Track { key: "ai".into(), title: "AI i velfærden".into(), capacity: Some(25) },
            Track { key: "sikkerhed".into(), title: "Cybersikkerhed og NIS2".into(), capacity: Some(25) },
            Track { key: "indkoeb".into(), title: "Indkøb og markedsdialog".into(), capacity: Some(20) },
        ],
        programme: vec![
            item("09:30", "Velkomst", vec![kl("Sekretariatet", "")], None)?,
            item(
                "10:00",
                "Status på den fællesoffentlige digitaliseringsstrategi",
                vec![kl("Oplægsholder fra KL", "")],
                None,
            )?,
            item("11:00", "AI i velfærden: erfaringer fra kommunerne", vec![], Some("ai"))?,
            item("11:00", "NIS2 i praksis", vec![], Some("sikkerhed"))?,
            item("11:00", "Den gode markedsdialog før udbud", vec![], Some("indkoeb"))?,
            item("12:00", "Frokost og netværk", vec![], None)?,
            item("13:00", "Dialog ved borde og opsamling i plenum", vec![], None)?,
        ],
        seating: crate::domain::Seating::default(),
    })
}

/// Loads the demo data; what is already there is left alone.
///
/// # Errors
/// The embedded history does not parse, or the database failed.
pub async fn load(store: &Store, today: Date) -> anyhow::Result<Report> {
    let history: History = Figment::from(Toml::string(HISTORY)).extract().context("the embedded meeting history")?;
    let mut meetings = history.meeting.into_iter().map(historic).collect::<anyhow::Result<Vec<_>>>()?;
    meetings.push(upcoming(today)?);

    let mut report = Report::default();
    let mut tx = store.begin().await?;
    for (pos, (key, da, en)) in (0_i32..).zip(INTERESTS) {
        upsert_interest(&mut tx, key, da, en, pos).await?;
    }
    for m in &meetings {
        if let Some(id) = insert_meeting_if_new(&mut tx, m).await? {
            report.meetings_added += 1;
            if m.status == MeetingStatus::Archived && !m.description.is_empty() {
                publish_summary(&mut tx, id, &m.description).await?;
            }
        }
    }
    let consent = ConsentRecord {
        purpose: "mailing-list",
        text: "Demodata: opdigtet kontaktperson.".into(),
        version: "demo".into(),
        method: "demo",
    };
    for (name, email, org, interests) in CONTACTS {
        let person = NewPerson {
            email: Email::parse(email)?,
            name: Name::parse(name)?,
            organisation: Some(Name::parse(org)?),
            status: PersonStatus::Confirmed,
            interests: interests.iter().map(|s| (*s).to_owned()).collect(),
        };
        if insert_person_if_new(&mut tx, &person, Some(&consent)).await?.1 {
            report.people_added += 1;
        }
    }
    if report != Report::default() {
        let detail = format!("{} meetings, {} people", report.meetings_added, report.people_added);
        let entry = Entry { action: "demo.load", subject_kind: "", subject_id: None, detail: &detail, row_count: None };
        audit::record(&mut tx, &Actor::System("demo"), &entry).await?;
    }
    tx.commit().await?;
    report.evaluations_added = evaluations::load(store).await?;
    Ok(report)
}

async fn insert_meeting_if_new(tx: &mut crate::store::WriteTx, m: &NewMeeting) -> anyhow::Result<Option<MeetingId>> {
    let number = m.number.context("demo meetings have numbers")?;
    if number_taken(tx, number).await? {
        return Ok(None);
    }
    Ok(Some(insert_meeting(tx, m).await?))
}

/// Gives a past meeting its summary from the forum's page as a published
/// report of one section, as the page itself has it.
async fn publish_summary(tx: &mut crate::store::WriteTx, id: MeetingId, summary: &str) -> anyhow::Result<()> {
    let sections = Sections::parse([("Fra mødet".to_owned(), summary.to_owned(), Vec::new())])?;
    let at = crate::store::now();
    reports::save_sections(tx, id, &sections, at).await?;
    reports::approve(tx, id, ReportState::Draft, at).await?;
    reports::publish(tx, id, &sections, at).await?;
    Ok(())
}
