//! How the pages show a meeting, shared by the public pages, the answer page
//! and the organiser's overview.

use crate::domain::{MeetingFormat, MeetingStatus};
use crate::i18n::Lang;
use crate::store::meetings::Meeting;

/// A meeting as the pages show it.
pub struct MeetingView {
    pub url: String,
    pub number: Option<i32>,
    pub title: String,
    pub date: String,
    pub time: String,
    pub year: i16,
    pub format: &'static str,
    pub is_virtual: bool,
    pub venue: String,
    pub themes: Vec<String>,
    pub description: String,
    pub status: &'static str,
    pub cancelled: bool,
    pub tracks: Vec<(String, String)>,
    pub programme: Vec<ItemView>,
}

/// A programme item as the pages show it.
pub struct ItemView {
    pub time: String,
    pub title: String,
    pub speakers: String,
    pub track: String,
    pub cancelled: bool,
}

impl MeetingView {
    /// Prepares a meeting for the pages in `lang`.
    #[must_use]
    pub fn new(m: &Meeting, lang: Lang) -> Self {
        let time = if lang.time(m.starts_at) == lang.time(m.ends_at) {
            String::new()
        } else {
            format!("{}–{}", lang.time(m.starts_at), lang.time(m.ends_at).trim_start_matches("kl. "))
        };
        let track_title = |key: &Option<String>| {
            key.as_ref()
                .map(|k| m.tracks.iter().find(|t| &t.key == k).map_or_else(|| k.clone(), |t| t.title.clone()))
                .unwrap_or_default()
        };
        Self {
            url: m.number.map_or_else(|| format!("/meetings/{}", m.id), |n| format!("/meetings/{n}")),
            number: m.number,
            title: m.title.clone(),
            date: lang.date(m.starts_at),
            time,
            year: m.starts_at.to_zoned_datetime(crate::domain::copenhagen()).year(),
            format: lang.format(m.format),
            is_virtual: m.format == MeetingFormat::Virtual,
            venue: m.venue.clone(),
            themes: m.themes.clone(),
            description: m.description.clone(),
            status: lang.status(m.status),
            cancelled: m.status == MeetingStatus::Cancelled,
            tracks: m.tracks.iter().map(|t| (t.key.clone(), t.title.clone())).collect(),
            programme: m
                .programme
                .iter()
                .map(|p| ItemView {
                    time: p.starts_at.map(|t| lang.time(t)).unwrap_or_default(),
                    title: p.title.clone(),
                    speakers: p
                        .speakers
                        .iter()
                        .map(|s| {
                            let extra: Vec<&str> = [s.role.as_str(), s.organisation.as_str()]
                                .into_iter()
                                .filter(|x| !x.is_empty())
                                .collect();
                            if extra.is_empty() { s.name.clone() } else { format!("{} ({})", s.name, extra.join(", ")) }
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                    track: track_title(&p.track),
                    cancelled: p.cancelled,
                })
                .collect(),
        }
    }
}
