//! The organiser's personal message in an invitation: a little Markdown with
//! placeholders from a fixed allow-list, rendered per recipient into HTML
//! (raw HTML shown as text, never passed through; only web and mail links)
//! and into plain text. Nothing else is reachable from the message, so it can
//! never show configuration or the environment.

use std::fmt::Write as _;

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, TextMergeStream};

/// The placeholders a message may use, as written between `{{` and `}}`.
pub const PLACEHOLDERS: &[&str] = &["name", "organisation", "meeting_title", "meeting_date", "rsvp_link"];

/// The longest message accepted, in characters.
pub const MAX_CHARS: usize = 4000;

/// What is wrong with a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// `{{something}}` that is not on the allow-list.
    #[error("unknown placeholder {{{{{0}}}}}")]
    Unknown(String),
    /// `{{` without its `}}`.
    #[error("a placeholder is not closed with }}}}")]
    Unclosed,
    /// Longer than [`MAX_CHARS`].
    #[error("the message is too long")]
    TooLong,
}

/// The values of the placeholders for one recipient.
#[derive(Debug, Clone, Default)]
pub struct Values<'a> {
    pub name: &'a str,
    pub organisation: &'a str,
    pub meeting_title: &'a str,
    pub meeting_date: &'a str,
    pub rsvp_link: &'a str,
}

impl Values<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        Some(match key {
            "name" => self.name,
            "organisation" => self.organisation,
            "meeting_title" => self.meeting_title,
            "meeting_date" => self.meeting_date,
            "rsvp_link" => self.rsvp_link,
            _ => return None,
        })
    }
}

/// Replaces every placeholder in `s` by its value.
fn fill(s: &str, values: &Values<'_>) -> Result<String, MessageError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(MessageError::Unclosed)?;
        let key = after[..end].trim();
        out.push_str(values.get(key).ok_or_else(|| MessageError::Unknown(key.to_owned()))?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Checks a message: its length and that it uses only allowed placeholders.
///
/// # Errors
/// The first thing wrong with it.
pub fn check(message: &str) -> Result<(), MessageError> {
    if message.chars().count() > MAX_CHARS {
        return Err(MessageError::TooLong);
    }
    fill(message, &Values::default())?;
    // Markdown escapes (`\{\{`) turn into braces only once parsed, so the
    // parsed text is checked too: what passes here always renders.
    events(message, &Values::default()).map(|_| ())
}

/// Whether a link target may stay a link.
fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    ["https://", "http://", "mailto:"].iter().any(|p| lower.starts_with(p))
}

/// The message's events with placeholders filled in, raw HTML turned into
/// text, images reduced to their description and unsafe links to their text.
fn events<'a>(message: &'a str, values: &Values<'_>) -> Result<Vec<Event<'a>>, MessageError> {
    let mut out = Vec::new();
    // Whether each open link is kept, so its end matches its start.
    let mut links: Vec<bool> = Vec::new();
    for event in TextMergeStream::new(Parser::new_ext(message, Options::ENABLE_STRIKETHROUGH)) {
        match event {
            Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push(Event::Text(CowStr::from(fill(&t, values)?)));
            }
            Event::Code(t) => out.push(Event::Code(CowStr::from(fill(&t, values)?))),
            Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
                let url = fill(&dest_url, values)?;
                let keep = safe_url(&url) || link_type == LinkType::Email;
                links.push(keep);
                if keep {
                    out.push(Event::Start(Tag::Link {
                        link_type,
                        dest_url: CowStr::from(url),
                        title: CowStr::from(fill(&title, values)?),
                        id,
                    }));
                }
            }
            Event::End(TagEnd::Link) => {
                if links.pop().unwrap_or(false) {
                    out.push(Event::End(TagEnd::Link));
                }
            }
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Renders the message for one recipient as (HTML, plain text). An empty
/// message renders as two empty strings.
///
/// # Errors
/// The message uses a placeholder not on the allow-list, or is too long.
pub fn render(message: &str, values: &Values<'_>) -> Result<(String, String), MessageError> {
    check(message)?;
    if message.trim().is_empty() {
        return Ok((String::new(), String::new()));
    }
    let evs = events(message, values)?;
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, evs.iter().cloned());
    Ok((html, plain_text(&evs)))
}

/// The message as plain text: paragraphs separated by a blank line, list
/// items with a dash, links followed by their target.
fn plain_text(events: &[Event<'_>]) -> String {
    let mut out = String::new();
    let mut link_targets: Vec<String> = Vec::new();
    for e in events {
        match e {
            Event::Text(t) | Event::Code(t) => out.push_str(t),
            Event::SoftBreak | Event::HardBreak | Event::End(TagEnd::Item) => out.push('\n'),
            Event::Start(Tag::Item) => out.push_str("- "),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::List(_) | TagEnd::BlockQuote(_))
                if !out.ends_with("\n\n") =>
            {
                out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
            }
            Event::Start(Tag::Link { dest_url, .. }) => link_targets.push(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = link_targets.pop()
                    && !out.ends_with(url.trim_start_matches("mailto:"))
                {
                    let _ = write!(out, " ({url})");
                }
            }
            Event::Rule => out.push_str("---\n\n"),
            _ => {}
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::{MessageError, Values, check, render};

    fn values() -> Values<'static> {
        Values {
            name: "Mette <Jensen>",
            organisation: "Grøn Energi",
            meeting_title: "AI",
            meeting_date: "3. december 2026",
            rsvp_link: "https://forum.example/rsvp/abc",
        }
    }

    #[test]
    fn raw_html_arrives_as_text_and_values_are_escaped() {
        let (html, text) =
            render("Hej {{name}}\n\n**vigtigt** <script>alert(1)</script>\n\n<div>blok</div>", &values()).unwrap();
        assert!(html.contains("Hej Mette &lt;Jensen&gt;"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(html.contains("<strong>vigtigt</strong>"), "{html}");
        assert!(!html.contains("<script>"));
        assert!(text.contains("vigtigt <script>alert(1)</script>"), "{text}");
        assert!(html.contains("&lt;div&gt;blok&lt;/div&gt;"), "an HTML block too: {html}");
    }

    #[test]
    fn links_keep_only_web_and_mail_targets() {
        let (html, text) = render("[svar]({{rsvp_link}}) og [ondt](javascript:alert(1))", &values()).unwrap();
        assert!(html.contains(r#"<a href="https://forum.example/rsvp/abc">svar</a>"#), "{html}");
        assert!(!html.contains("javascript"), "{html}");
        assert!(text.contains("svar (https://forum.example/rsvp/abc) og ondt"), "{text}");
    }

    #[test]
    fn only_allowed_placeholders_pass() {
        assert_eq!(check("{{ env }}"), Err(MessageError::Unknown("env".into())));
        assert_eq!(check("{{name"), Err(MessageError::Unclosed));
        assert!(check("{{ name }} fra {{organisation}}").is_ok());
        // Escaped braces become a placeholder only once parsed: refused up front, not at send time.
        assert_eq!(check("\\{\\{env}}"), Err(MessageError::Unknown("env".into())));
        assert_eq!(check("&#123;&#123;env}}"), Err(MessageError::Unknown("env".into())));
    }
}
