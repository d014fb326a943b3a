//! How the pages show a meeting, shared by the public pages, the answer page
//! and the organiser's overview.

use crate::domain::{MeetingFormat, MeetingStatus, PublicPhase, Timestamp};
use crate::i18n::Lang;
use crate::mail::compose::personal;
use crate::store::meetings::{Meeting, ProgrammeItem, Speaker};

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
    /// The description as HTML (see [`markdown`]).
    pub description_html: String,
    /// The organisers' name for the meeting's status, for their pages.
    pub status: &'static str,
    /// Where the meeting stands, as the public pages say it.
    pub phase: String,
    /// Still to come and not cancelled.
    pub upcoming: bool,
    pub cancelled: bool,
    pub tracks: Vec<(String, String)>,
    pub programme: Vec<ItemView>,
}

/// A programme item as the pages show it.
pub struct ItemView {
    /// The start, or start–end.
    pub time: String,
    pub title: String,
    /// The item's description as HTML (see [`markdown`]).
    pub description_html: String,
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
            span(lang, m.starts_at, m.ends_at)
        };
        let phase = PublicPhase::of(m.status, m.starts_at, m.ends_at, m.registration_deadline, Timestamp::now());
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
            description_html: markdown(&m.description),
            status: lang.status(m.status),
            phase: lang.public_phase(phase),
            upcoming: phase.is_upcoming(),
            cancelled: m.status == MeetingStatus::Cancelled,
            tracks: m.tracks.iter().map(|t| (t.key.clone(), t.title.clone())).collect(),
            programme: m.programme.iter().map(|p| ItemView::new(p, m, lang)).collect(),
        }
    }
}

impl ItemView {
    /// Prepares an item of meeting `m`'s programme for the pages in `lang`.
    fn new(p: &ProgrammeItem, m: &Meeting, lang: Lang) -> Self {
        let track = p
            .track
            .as_ref()
            .map(|k| m.tracks.iter().find(|t| &t.key == k).map_or_else(|| k.clone(), |t| t.title.clone()))
            .unwrap_or_default();
        Self {
            time: match (p.starts_at, p.ends_at) {
                (Some(s), Some(e)) if e > s => span(lang, s, e),
                (Some(s), _) => lang.time(s),
                (None, _) => String::new(),
            },
            title: p.title.clone(),
            description_html: markdown(&p.description),
            speakers: p.speakers.iter().map(speaker).collect::<Vec<_>>().join("; "),
            track,
            cancelled: p.cancelled,
        }
    }
}

/// From `start` to `end`, both times of day; the end without a leading "kl.".
fn span(lang: Lang, start: Timestamp, end: Timestamp) -> String {
    format!("{}–{}", lang.time(start), lang.time(end).trim_start_matches("kl. "))
}

/// A speaker by name, with their role and organisation where given.
fn speaker(s: &Speaker) -> String {
    let extra: Vec<&str> = [s.role.as_str(), s.organisation.as_str()].into_iter().filter(|x| !x.is_empty()).collect();
    if extra.is_empty() { s.name.clone() } else { format!("{} ({})", s.name, extra.join(", ")) }
}

/// An organiser's Markdown text (a meeting's or a programme item's
/// description) as HTML, with the subset and renderer of the invitation's
/// personal message ([`personal::render`]): raw HTML arrives as text, images
/// as their description, and only web and mail links stay links.
///
/// That renderer fills in the invitation's placeholders; here each is given
/// its own name, so `{{name}}` in a description shows as written. A text it
/// refuses (an unknown placeholder, or longer than a message may be) is shown
/// as plain paragraphs instead, escaped like every value on the pages.
#[must_use]
pub fn markdown(text: &str) -> String {
    let literal = personal::Values {
        name: "{{name}}",
        organisation: "{{organisation}}",
        meeting_title: "{{meeting_title}}",
        meeting_date: "{{meeting_date}}",
        rsvp_link: "{{rsvp_link}}",
    };
    personal::render(text, &literal).map_or_else(|_| paragraphs(text), |(html, _)| html)
}

/// Escapes text for HTML and SVG, in content and in attribute values.
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Plain text as HTML paragraphs, split at blank lines, every character escaped.
fn paragraphs(text: &str) -> String {
    let mut html = String::new();
    for p in text.replace("\r\n", "\n").split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        html.push_str("<p>");
        html.push_str(&escape(p));
        html.push_str("</p>\n");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::markdown;

    #[test]
    fn descriptions_render_markdown_and_never_pass_markup_through() {
        let html = markdown("**Velkommen** til mødet.\n\nAnden <script>alert(1)</script> [ondt](javascript:x)");
        assert!(html.contains("<p><strong>Velkommen</strong> til mødet.</p>"), "{html}");
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"), "{html}");
        assert!(!html.contains("javascript"), "{html}");
        assert!(markdown("Skriv til {{name}}").contains("Skriv til {{name}}"));
        let refused = markdown("Ukendt {{x}} <b>fed</b>\n\nto");
        assert_eq!(refused, "<p>Ukendt {{x}} &lt;b&gt;fed&lt;/b&gt;</p>\n<p>to</p>\n");
    }
}
