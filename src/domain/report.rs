//! The report after a meeting: its sections (a title and a Markdown body
//! each) and the steps it goes through, draft → approved → published.

use std::fmt;

use uuid::Uuid;

use super::text::{ParseError, SingleLine, is_invisible_format};

/// Where a report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportState {
    /// Being written; changes freely.
    Draft,
    /// Read and approved; ready to publish. A change returns it to draft.
    Approved,
    /// On the public meeting page.
    Published,
}

impl ReportState {
    /// The stored and API name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Approved => "approved",
            Self::Published => "published",
        }
    }

    /// Reads a stored name.
    ///
    /// # Errors
    /// Not one of `draft`, `approved`, `published`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s {
            "draft" => Ok(Self::Draft),
            "approved" => Ok(Self::Approved),
            "published" => Ok(Self::Published),
            _ => Err(ParseError::Unknown("a report is draft, approved or published")),
        }
    }
}

impl fmt::Display for ReportState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One section of a report: a heading, its text in Markdown (the safe
/// subset of the invitation's message) and the meeting's files that belong
/// with it (a speaker's slides under the talk, say).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Section {
    pub title: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<Uuid>,
}

/// What is wrong with a section, and in which field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SectionError {
    /// A section without a heading.
    #[error("sections[{0}].title: a heading is needed")]
    NoTitle(usize),
    /// A heading that breaks the rules of one line of text.
    #[error("sections[{0}].title: {1}")]
    Title(usize, ParseError),
    /// A body that is too long or holds control or invisible characters.
    #[error("sections[{0}].body: {1}")]
    Body(usize, ParseError),
    /// More sections than a report holds.
    #[error("sections: at most {max} sections")]
    TooMany { max: usize },
}

impl SectionError {
    /// The field's index and name (`title` or `body`), when it is one field's fault.
    #[must_use]
    pub const fn field(self) -> Option<(usize, &'static str)> {
        match self {
            Self::NoTitle(i) | Self::Title(i, _) => Some((i, "title")),
            Self::Body(i, _) => Some((i, "body")),
            Self::TooMany { .. } => None,
        }
    }

    /// What is wrong, without the field (in English; pages say it in their own words).
    #[must_use]
    pub fn reason(self) -> String {
        match self {
            Self::NoTitle(_) => "a heading is needed".to_owned(),
            Self::Title(_, e) | Self::Body(_, e) => e.to_string(),
            Self::TooMany { max } => format!("at most {max} sections"),
        }
    }
}

/// A report's sections, each valid: a heading of one line, a body of at
/// most [`Sections::MAX_BODY`] characters with line breaks as LF.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sections(Vec<Section>);

impl Sections {
    /// Most sections in one report.
    pub const MAX: usize = 40;
    /// Longest body, in characters: what the Markdown renderer of the
    /// invitation's message takes.
    pub const MAX_BODY: usize = 4000;

    /// Parses sections as typed (heading, text, files): headings trimmed,
    /// bodies with CR LF made LF and trailing spaces and empty lines at
    /// either end trimmed, each file once. Whether the files are the
    /// meeting's is for the caller to check.
    ///
    /// # Errors
    /// The first thing wrong, by its section's index and field.
    pub fn parse(input: impl IntoIterator<Item = (String, String, Vec<Uuid>)>) -> Result<Self, SectionError> {
        let mut out = Vec::new();
        for (i, (title, body, mut materials)) in input.into_iter().enumerate() {
            if i >= Self::MAX {
                return Err(SectionError::TooMany { max: Self::MAX });
            }
            let title = SingleLine::parse(&title).map_err(|e| SectionError::Title(i, e))?;
            if title.is_empty() {
                return Err(SectionError::NoTitle(i));
            }
            let body = parse_body(&body).map_err(|e| SectionError::Body(i, e))?;
            let mut seen = std::collections::HashSet::new();
            materials.retain(|id| seen.insert(*id));
            out.push(Section { title: title.into_string(), body, materials });
        }
        Ok(Self(out))
    }

    /// Sections as stored, trusted to have been parsed when written.
    #[must_use]
    pub const fn from_stored(sections: Vec<Section>) -> Self {
        Self(sections)
    }

    /// The sections in order.
    #[must_use]
    pub fn as_slice(&self) -> &[Section] {
        &self.0
    }

    /// Every file some section carries.
    #[must_use]
    pub fn materials(&self) -> Vec<Uuid> {
        self.0.iter().flat_map(|s| s.materials.iter().copied()).collect()
    }

    /// Whether there is no section.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn parse_body(input: &str) -> Result<String, ParseError> {
    let unified = input.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.lines().map(str::trim_end).collect();
    let s = lines.join("\n").trim_matches('\n').to_owned();
    if s.chars().count() > Sections::MAX_BODY {
        return Err(ParseError::TooLong { max: Sections::MAX_BODY });
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ParseError::ControlInText);
    }
    if s.chars().any(is_invisible_format) {
        return Err(ParseError::InvisibleCharacter);
    }
    Ok(s)
}

/// Who the report is mailed to when it is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mailing {
    /// Every confirmed member of the list, whether they came or not (equal
    /// information to all who may bid).
    List,
    /// Confirmed members who attended.
    Attendees,
    /// Nobody: the public page only.
    None,
}

impl Mailing {
    /// The API's name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Attendees => "attendees",
            Self::None => "none",
        }
    }

    /// Reads the API's or a form's name.
    ///
    /// # Errors
    /// Not one of `list`, `attendees`, `none`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s {
            "list" => Ok(Self::List),
            "attendees" => Ok(Self::Attendees),
            "none" => Ok(Self::None),
            _ => Err(ParseError::Unknown("mail is list, attendees or none")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ParseError, SectionError, Sections};

    fn one(title: &str, body: &str) -> Result<Sections, SectionError> {
        Sections::parse([(title.to_owned(), body.to_owned(), Vec::new())])
    }

    #[test]
    fn sections_are_trimmed_and_keep_their_line_breaks() {
        let s = one("  Velkomst ", "\r\nFørste linje  \r\n\r\nAnden\n\n").unwrap();
        assert_eq!(s.as_slice()[0].title, "Velkomst");
        assert_eq!(s.as_slice()[0].body, "Første linje\n\nAnden");
    }

    #[test]
    fn a_section_needs_a_heading_and_a_body_within_bounds() {
        assert_eq!(one(" ", "x"), Err(SectionError::NoTitle(0)));
        assert_eq!(one("a\nb", "x"), Err(SectionError::Title(0, ParseError::ControlCharacter)));
        assert_eq!(one("a", &"x".repeat(4001)), Err(SectionError::Body(0, ParseError::TooLong { max: 4000 })));
        assert_eq!(one("a", "x\u{202E}y"), Err(SectionError::Body(0, ParseError::InvisibleCharacter)));
        let many = (0..41).map(|i| (format!("s{i}"), String::new(), Vec::new()));
        assert_eq!(Sections::parse(many), Err(SectionError::TooMany { max: 40 }));
    }
}
