//! The meeting forms as typed text, and their parsing into a meeting and a
//! programme item with a message by each field that is wrong. Times are
//! entered in Europe/Copenhagen. Tracks and speakers come as rows of fields
//! (a row to add, a box to remove one), read into the same lines the
//! one-field form took.

use jiff::civil::{DateTime, Time};

use super::Errors;
use crate::domain::{
    Allocation, Broken, MeetingField, MeetingFormat, MeetingShape, MeetingStatus, Name, Seating, SingleLine, Timestamp,
    copenhagen,
};
use crate::i18n::Lang;
use crate::store::meetings::{Meeting, NewMeeting, ProgrammeItem, Speaker, Track};
use crate::web::extract::Fields;

/// One row of a row editor as the form shows it: its number, its three
/// fields, and whether it holds something (and so can be removed).
pub type Row = (usize, String, String, String, bool);

/// How many empty rows a row editor offers for new entries.
const BLANK_ROWS: usize = 2;

/// The rows of `lines` (`a | b | c`, one a line) with empty rows after them.
fn rows_of(lines: &str) -> Vec<Row> {
    let filled = lines.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| {
        let mut parts = l.splitn(3, '|').map(|p| p.trim().to_owned());
        (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), true)
    });
    filled
        .chain(std::iter::repeat_n((String::new(), String::new(), String::new(), false), BLANK_ROWS))
        .enumerate()
        .map(|(i, (a, b, c, f))| (i, a, b, c, f))
        .collect()
}

/// The lines (`a | b | c`) of the rows a form sent under `prefix`
/// (`{prefix}-rows`, `{prefix}-{i}-{name}`, `{prefix}-{i}-drop`), leaving out
/// empty rows and those ticked for removal; `None` when the form sent no rows.
/// `first` fills an empty first field from the second (a key from a title).
fn lines_of_rows(fields: &Fields, prefix: &str, names: [&str; 3], first: fn(&str) -> String) -> Option<String> {
    let rows = fields.get(&format!("{prefix}-rows")).parse::<usize>().ok()?.min(200);
    let lines: Vec<String> = (0..rows)
        .filter(|i| fields.get(&format!("{prefix}-{i}-drop")).is_empty())
        .filter_map(|i| {
            let get = |name: &str| fields.get(&format!("{prefix}-{i}-{name}")).trim().to_owned();
            let (a, b, c) = (get(names[0]), get(names[1]), get(names[2]));
            if a.is_empty() && b.is_empty() && c.is_empty() {
                return None;
            }
            let a = if a.is_empty() { first(&b) } else { a };
            Some(if c.is_empty() { format!("{a} | {b}") } else { format!("{a} | {b} | {c}") })
        })
        .collect();
    Some(lines.join("\n"))
}

/// A track key made from its title: lower case, Danish letters spelt out,
/// other characters as hyphens.
fn track_key(title: &str) -> String {
    let mut key = String::new();
    for c in title.trim().to_lowercase().chars() {
        match c {
            'æ' => key.push_str("ae"),
            'ø' => key.push_str("oe"),
            'å' => key.push_str("aa"),
            c if c.is_ascii_alphanumeric() => key.push(c),
            _ if !key.ends_with('-') => key.push('-'),
            _ => {}
        }
    }
    key.trim_matches('-').chars().take(40).collect::<String>().trim_end_matches('-').to_owned()
}

/// The value of a `datetime-local` input for `t`, in Copenhagen time.
fn local(t: Timestamp) -> String {
    t.to_zoned_datetime(copenhagen()).strftime("%Y-%m-%dT%H:%M").to_string()
}

/// The value of a `time` input for `t`, in Copenhagen time.
fn clock(t: Timestamp) -> String {
    t.to_zoned_datetime(copenhagen()).strftime("%H:%M").to_string()
}

/// Reads a `datetime-local` value as Copenhagen time.
pub(crate) fn parse_local(s: &str) -> Option<Timestamp> {
    let dt: DateTime = s.trim().parse().ok()?;
    dt.to_zoned_datetime(copenhagen()).ok().map(|z| z.timestamp())
}

/// The details form as typed.
#[derive(Debug, Clone, Default)]
pub struct DetailsForm {
    pub number: String,
    pub title: String,
    pub description: String,
    pub themes: String,
    pub starts_at: String,
    pub ends_at: String,
    pub format: String,
    pub venue: String,
    pub online_url: String,
    pub capacity: String,
    pub per_organisation_limit: String,
    pub registration_deadline: String,
    /// One track a line: `key | title | capacity`.
    pub tracks: String,
    pub registration_opens_at: String,
    /// `first_come` or `lottery`.
    pub allocation: String,
    pub applications_close_at: String,
}

/// The details form, checked.
pub struct Details {
    pub number: Option<i32>,
    pub title: String,
    pub description: String,
    pub themes: Vec<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub format: MeetingFormat,
    pub venue: String,
    pub online_url: String,
    pub capacity: Option<i32>,
    pub per_organisation_limit: Option<i32>,
    pub registration_deadline: Option<Timestamp>,
    pub tracks: Vec<Track>,
    pub seating: Seating,
}

impl DetailsForm {
    /// The tracks as rows (key, title, seats), with empty rows for new ones.
    #[must_use]
    pub fn track_rows(&self) -> Vec<Row> {
        rows_of(&self.tracks)
    }

    /// The form filled in from a meeting.
    pub fn from_meeting(m: &Meeting) -> Self {
        let n = |v: Option<i32>| v.map(|n| n.to_string()).unwrap_or_default();
        Self {
            number: n(m.number),
            title: m.title.clone(),
            description: m.description.clone(),
            themes: m.themes.join(", "),
            starts_at: local(m.starts_at),
            ends_at: local(m.ends_at),
            format: m.format.as_str().to_owned(),
            venue: m.venue.clone(),
            online_url: m.online_url.clone(),
            capacity: n(m.capacity),
            per_organisation_limit: n(m.per_organisation_limit),
            registration_deadline: m.registration_deadline.map(local).unwrap_or_default(),
            tracks: m
                .tracks
                .iter()
                .map(|t| match t.capacity {
                    Some(c) => format!("{} | {} | {c}", t.key, t.title),
                    None => format!("{} | {}", t.key, t.title),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            registration_opens_at: m.seating.registration_opens_at.map(local).unwrap_or_default(),
            allocation: m.seating.allocation.as_str().to_owned(),
            applications_close_at: m.seating.applications_close_at.map(local).unwrap_or_default(),
        }
    }

    /// The form as sent.
    pub fn read(fields: &Fields) -> Self {
        let f = |name: &str| fields.get(name).to_owned();
        Self {
            number: f("number"),
            title: f("title"),
            description: f("description"),
            themes: f("themes"),
            starts_at: f("starts_at"),
            ends_at: f("ends_at"),
            format: f("format"),
            venue: f("venue"),
            online_url: f("online_url"),
            capacity: f("capacity"),
            per_organisation_limit: f("per_organisation_limit"),
            registration_deadline: f("registration_deadline"),
            tracks: lines_of_rows(fields, "track", ["key", "title", "seats"], track_key).unwrap_or_else(|| f("tracks")),
            registration_opens_at: f("registration_opens_at"),
            allocation: f("allocation"),
            applications_close_at: f("applications_close_at"),
        }
    }

    /// Reads every field, with a message by each one that cannot be read or
    /// breaks a meeting rule (for a meeting that is `status`; the rules are
    /// checked once both times and the format can be read). The use cases in [`crate::forum::meetings`]
    /// keep the same rules ([`MeetingShape::broken`]) for every entry point.
    pub fn parse(&self, lang: Lang, status: MeetingStatus) -> Result<Details, Errors> {
        let mut errors: Errors = Vec::new();
        let mut fail = |field: &str, msg: &str| errors.push((field.to_owned(), msg.to_owned()));
        let whole = lang.broken(Broken::NotPositive);
        let mut count = |s: &str, name: &str| whole_number(s).map_err(|()| fail(name, &whole)).ok().flatten();
        let number = count(&self.number, "number");
        let capacity = count(&self.capacity, "capacity");
        let per_organisation_limit = count(&self.per_organisation_limit, "per_organisation_limit");
        let title = Name::parse(&self.title).map(|n| n.to_string()).map_err(|e| fail("title", &lang.refused(e))).ok();
        let when = lang.pick("Vælg dato og klokkeslæt.", "Choose a date and time.");
        let mut time = |s: &str, name: &str| parse_local(s).ok_or_else(|| fail(name, when)).ok();
        let starts_at = time(&self.starts_at, "starts_at");
        let ends_at = time(&self.ends_at, "ends_at");
        let mut optional_time = |s: &str, name: &str| if s.trim().is_empty() { None } else { time(s, name) };
        let registration_deadline = optional_time(&self.registration_deadline, "registration_deadline");
        let registration_opens_at = optional_time(&self.registration_opens_at, "registration_opens_at");
        let applications_close_at = optional_time(&self.applications_close_at, "applications_close_at");
        let allocation = match self.allocation.trim() {
            "" => Allocation::FirstCome,
            a => Allocation::parse(a)
                .map_err(|_| fail("allocation", lang.pick("Vælg en fordeling.", "Choose an allocation.")))
                .unwrap_or_default(),
        };
        let seating = Seating { registration_opens_at, allocation, applications_close_at };
        let format = MeetingFormat::parse(&self.format)
            .map_err(|_| fail("format", lang.pick("Vælg en form.", "Choose a format.")))
            .ok();
        let venue = SingleLine::parse(&self.venue)
            .map(SingleLine::into_string)
            .map_err(|e| fail("venue", &lang.refused(e)))
            .ok();
        let online_url = self.online_url.trim().to_owned();
        let themes: Vec<String> =
            self.themes.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
        let tracks = parse_tracks(&self.tracks, lang, &mut fail);
        if let (Some(starts_at), Some(ends_at), Some(format)) = (starts_at, ends_at, format) {
            let shape = MeetingShape {
                status,
                starts_at,
                ends_at,
                registration_deadline,
                format,
                online_url: &online_url,
                number,
                capacity,
                per_organisation_limit,
                tracks: tracks.iter().map(|t| (t.key.as_str(), t.capacity)).collect(),
                seating,
            };
            for (field, rule) in shape.broken() {
                fail(&form_field(field), &lang.broken(rule));
            }
        }
        match (title, starts_at, ends_at, format, venue) {
            (Some(title), Some(starts_at), Some(ends_at), Some(format), Some(venue)) if errors.is_empty() => {
                Ok(Details {
                    number,
                    title,
                    description: self.description.trim().to_owned(),
                    themes,
                    starts_at,
                    ends_at,
                    format,
                    venue,
                    online_url,
                    capacity,
                    per_organisation_limit,
                    registration_deadline,
                    tracks,
                    seating,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The form's input for a field a meeting rule names: the tracks share one.
pub(crate) fn form_field(field: MeetingField) -> String {
    match field {
        MeetingField::TrackKey(_) | MeetingField::TrackCapacity(_) => "tracks".to_owned(),
        other => other.name(),
    }
}

/// A whole number, or `None` for an empty field.
fn whole_number(s: &str) -> Result<Option<i32>, ()> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<i32>().map(Some).map_err(|_| ())
}

/// Reads the tracks, one a line: `key | title | capacity` (capacity optional).
fn parse_tracks(text: &str, lang: Lang, fail: &mut dyn FnMut(&str, &str)) -> Vec<Track> {
    let mut tracks: Vec<Track> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        let key = parts[0];
        let title = parts.get(1).and_then(|t| Name::parse(t).ok());
        let capacity = parts.get(2).filter(|c| !c.is_empty()).map(|c| c.parse::<i32>().ok());
        // The key's form and uniqueness are meeting rules, kept by the use case.
        match (key.is_empty(), title, capacity) {
            (false, Some(title), None | Some(Some(_))) if parts.len() <= 3 => {
                tracks.push(Track { key: key.to_owned(), title: title.to_string(), capacity: capacity.flatten() });
            }
            _ => {
                fail(
                    "tracks",
                    lang.pick(
                        "Hvert spor skal have en titel og et antal pladser som tal eller intet. Nøglen er små bogstaver, tal og bindestreg, og hver nøgle kun én gang.",
                        "Each track needs a title, and its seats a number or nothing. The key is lowercase letters, digits and hyphens, each key once.",
                    ),
                );
                break;
            }
        }
    }
    tracks
}

impl Details {
    /// A new draft meeting with no programme yet.
    pub fn into_new(self) -> NewMeeting {
        NewMeeting {
            number: self.number,
            title: self.title,
            description: self.description,
            themes: self.themes,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            format: self.format,
            venue: self.venue,
            online_url: self.online_url,
            capacity: self.capacity,
            per_organisation_limit: self.per_organisation_limit,
            registration_deadline: self.registration_deadline,
            status: MeetingStatus::Draft,
            tracks: self.tracks,
            programme: Vec::new(),
            seating: self.seating,
        }
    }

    /// `seen` with these details.
    pub fn apply(&self, seen: &Meeting) -> Meeting {
        let mut m = seen.clone();
        m.number = self.number;
        m.title.clone_from(&self.title);
        m.description.clone_from(&self.description);
        m.themes.clone_from(&self.themes);
        m.starts_at = self.starts_at;
        m.ends_at = self.ends_at;
        m.format = self.format;
        m.venue.clone_from(&self.venue);
        m.online_url.clone_from(&self.online_url);
        m.capacity = self.capacity;
        m.per_organisation_limit = self.per_organisation_limit;
        m.registration_deadline = self.registration_deadline;
        m.tracks.clone_from(&self.tracks);
        m.seating = self.seating;
        m
    }
}

/// A programme item's form as typed.
#[derive(Debug, Clone, Default)]
pub struct ItemForm {
    /// `HH:MM` on the meeting's day.
    pub start: String,
    pub end: String,
    pub title: String,
    pub description: String,
    /// One speaker a line: `name | organisation | role`.
    pub speakers: String,
    /// A track key, or empty for all.
    pub track: String,
}

impl ItemForm {
    /// The speakers as rows (name, organisation, role), with empty rows for new ones.
    #[must_use]
    pub fn speaker_rows(&self) -> Vec<Row> {
        rows_of(&self.speakers)
    }

    /// The form filled in from an item.
    pub fn from_item(p: &ProgrammeItem) -> Self {
        Self {
            start: p.starts_at.map(clock).unwrap_or_default(),
            end: p.ends_at.map(clock).unwrap_or_default(),
            title: p.title.clone(),
            description: p.description.clone(),
            speakers: p
                .speakers
                .iter()
                .map(|s| {
                    let mut parts = vec![s.name.as_str()];
                    if !s.organisation.is_empty() || !s.role.is_empty() {
                        parts.push(&s.organisation);
                    }
                    if !s.role.is_empty() {
                        parts.push(&s.role);
                    }
                    parts.join(" | ")
                })
                .collect::<Vec<_>>()
                .join("\n"),
            track: p.track.clone().unwrap_or_default(),
        }
    }

    /// The form as sent.
    pub fn read(fields: &Fields) -> Self {
        let f = |name: &str| fields.get(name).to_owned();
        Self {
            start: f("start"),
            end: f("end"),
            title: f("item_title"),
            description: f("item_description"),
            speakers: lines_of_rows(fields, "speaker", ["name", "organisation", "role"], |_| String::new())
                .unwrap_or_else(|| f("speakers")),
            track: f("track"),
        }
    }

    /// Checks the item against its meeting.
    pub fn parse(&self, m: &Meeting, lang: Lang) -> Result<ProgrammeItem, Errors> {
        let mut errors: Errors = Vec::new();
        let day = m.starts_at.to_zoned_datetime(copenhagen()).date();
        let at = |s: &str| -> Result<Option<Timestamp>, ()> {
            if s.trim().is_empty() {
                return Ok(None);
            }
            let t: Time = s.trim().parse().map_err(|_| ())?;
            day.to_datetime(t).to_zoned_datetime(copenhagen()).map(|z| Some(z.timestamp())).map_err(|_| ())
        };
        let clock_msg = lang.pick(
            "Skriv et klokkeslæt som 09:30, eller lad feltet stå tomt.",
            "Enter a time like 09:30, or leave it empty.",
        );
        let starts_at = at(&self.start).map_err(|()| errors.push(("start".into(), clock_msg.into()))).ok().flatten();
        let ends_at = at(&self.end).map_err(|()| errors.push(("end".into(), clock_msg.into()))).ok().flatten();
        if let (Some(s), Some(e)) = (starts_at, ends_at)
            && e < s
        {
            errors.push((
                "end".into(),
                lang.pick("Punktet kan ikke slutte, før det begynder.", "The item cannot end before it starts.").into(),
            ));
        }
        let title = Name::parse(&self.title).map_err(|e| errors.push(("item_title".into(), lang.refused(e)))).ok();
        let mut speakers = Vec::new();
        for line in self.speakers.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let parts: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = Name::parse(parts[0]).ok();
            let rest =
                |i: usize| SingleLine::parse(parts.get(i).copied().unwrap_or("")).map(SingleLine::into_string).ok();
            match (name, rest(1), rest(2)) {
                (Some(name), Some(organisation), Some(role)) if parts.len() <= 3 => {
                    speakers.push(Speaker { name: name.to_string(), role, organisation });
                }
                _ => {
                    errors.push((
                        "speakers".into(),
                        lang.pick(
                            "Hver oplægsholder skal have et navn; navn, organisation og rolle står på én linje hver.",
                            "Each speaker needs a name; name, organisation and role are single lines.",
                        )
                        .into(),
                    ));
                    break;
                }
            }
        }
        let track = Some(self.track.trim().to_owned()).filter(|k| !k.is_empty());
        if let Some(k) = &track
            && !m.tracks.iter().any(|t| &t.key == k)
        {
            errors.push((
                "track".into(),
                lang.pick("Vælg et af mødets spor.", "Choose one of the meeting's tracks.").into(),
            ));
        }
        match title {
            Some(title) if errors.is_empty() => Ok(ProgrammeItem {
                starts_at,
                ends_at,
                title: title.to_string(),
                description: self.description.trim().to_owned(),
                speakers,
                track,
                cancelled: false,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_track_key_is_made_from_its_title() {
        assert_eq!(super::track_key("Kunstig intelligens"), "kunstig-intelligens");
        assert_eq!(super::track_key("  Grøn it & indkøb på tværs "), "groen-it-indkoeb-paa-tvaers");
        assert_eq!(super::track_key("!!!"), "");
    }

    #[test]
    fn rows_hold_the_lines_with_empty_rows_after_them() {
        let rows = super::rows_of("ai | Kunstig intelligens | 40\nbuy | Indkøb");
        assert_eq!(rows.len(), 2 + super::BLANK_ROWS);
        assert_eq!(rows[0], (0, "ai".into(), "Kunstig intelligens".into(), "40".into(), true));
        assert_eq!(rows[1], (1, "buy".into(), "Indkøb".into(), String::new(), true));
        assert_eq!(rows[2], (2, String::new(), String::new(), String::new(), false));
    }
}
