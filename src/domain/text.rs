//! Short texts typed by people: names, organisations, titles.

use std::fmt;

/// Why a value typed by a person was refused. The message shown to them
/// comes from `Lang::refused`, in their language; `Display` is the English
/// wording for the API and the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Longer than the field allows.
    #[error("at most {max} characters")]
    TooLong { max: usize },
    /// A line break or another control character.
    #[error("no line breaks or control characters")]
    ControlCharacter,
    /// An invisible or direction-changing character.
    #[error("no invisible characters or characters that change the writing direction")]
    InvisibleCharacter,
    /// A name left empty.
    #[error("a name is needed")]
    NoName,
    /// Not a mail address.
    #[error("not a valid mail address (for example name@company.dk)")]
    Email,
    /// A question or option key of the wrong shape.
    #[error("a key is 1–40 lowercase letters, digits, - or _, starting with a letter")]
    Key,
    /// Two questions with the same key.
    #[error("two questions have the same key")]
    DuplicateKey,
    /// A question or option without its Danish text.
    #[error("the Danish text is missing")]
    NoDanishText,
    /// A choice question with fewer than two options.
    #[error("a choice question needs at least two options")]
    TooFewOptions,
    /// Two options of a question with the same key.
    #[error("two options have the same key")]
    DuplicateOptionKey,
    /// A password shorter than the minimum.
    #[error("the password must be at least {min} characters")]
    PasswordTooShort { min: usize },
    /// A password longer than anyone types.
    #[error("the password is too long")]
    PasswordTooLong,
    /// A password Argon2 refused to hash (not expected with its defaults).
    #[error("the password could not be hashed")]
    Unhashable,
    /// A control character other than a line break or a tab, in text that
    /// may run over several lines.
    #[error("no control characters other than line breaks")]
    ControlInText,
    /// A name from a fixed set that is not in it; the message lists the set.
    #[error("{0}")]
    Unknown(&'static str),
}

/// Whether `c` is an invisible formatting character: bidirectional overrides,
/// embeddings and isolates (which make "gpj.exe" look like "exe.jpg"),
/// zero-width characters, the byte-order mark, the soft hyphen and the
/// invisible operators. None of them belongs in a name, a title or an
/// address; the zero-width joiner of emoji sequences is refused with them, a
/// price worth paying for names that look like what they are.
#[must_use]
pub fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}')
}

/// One line of text: trimmed, no control characters (so no CR/LF that could
/// reach a mail header), at most `MAX` characters. May be empty.
#[derive(Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(transparent)]
pub struct SingleLine(String);

impl SingleLine {
    /// Longest accepted text, in characters.
    pub const MAX: usize = 300;

    /// Parses one line of text.
    ///
    /// # Errors
    /// Too long, or containing line breaks or other control characters.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim();
        if s.chars().count() > Self::MAX {
            return Err(ParseError::TooLong { max: Self::MAX });
        }
        if s.chars().any(char::is_control) {
            return Err(ParseError::ControlCharacter);
        }
        if s.chars().any(is_invisible_format) {
            return Err(ParseError::InvisibleCharacter);
        }
        Ok(Self(s.to_owned()))
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the text is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text, owned.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for SingleLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for SingleLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A few lines of plain text one person writes to others, such as the
/// organisers' word in a cancellation: line breaks kept (CR LF and a lone CR
/// become LF, so none reaches the wire unpaired), trailing spaces and empty
/// lines at either end trimmed, no other control characters, nothing
/// invisible, at most `MAX` characters. It is body text only: it never goes
/// into a header, and HTML shows it as the text it is. May be empty.
#[derive(Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(transparent)]
pub struct Note(String);

impl Note {
    /// Longest accepted text, in characters.
    pub const MAX: usize = 1000;

    /// Parses a note.
    ///
    /// # Errors
    /// Too long, or containing control characters other than line breaks
    /// and tabs, or invisible characters.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let unified = input.replace("\r\n", "\n").replace('\r', "\n");
        let lines: Vec<&str> = unified.lines().map(str::trim_end).collect();
        let s = lines.join("\n").trim_matches('\n').to_owned();
        if s.chars().count() > Self::MAX {
            return Err(ParseError::TooLong { max: Self::MAX });
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(ParseError::ControlInText);
        }
        if s.chars().any(is_invisible_format) {
            return Err(ParseError::InvisibleCharacter);
        }
        Ok(Self(s))
    }

    /// The text, lines separated by LF.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the note is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A person's or organisation's name: a non-empty [`SingleLine`].
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Name(SingleLine);

impl Name {
    /// Parses a name.
    ///
    /// # Errors
    /// Empty, too long or containing control characters.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let line = SingleLine::parse(input)?;
        if line.is_empty() {
            return Err(ParseError::NoName);
        }
        Ok(Self(line))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The key under which names are the same: lower case, with every run of
    /// whitespace (including no-break spaces) taken as one space. "ACME  A/S"
    /// and "Acme A/S" share a key.
    #[must_use]
    pub fn key(&self) -> String {
        name_key(self.as_str())
    }
}

/// The form in which a typed search and a name are compared when case and
/// accents should not matter, either way round: lower case, accents dropped,
/// and the Danish letters and their spellings without them made the same
/// (æ, ä and "ae" as "a"; ø, ö and "oe" as "o"; å and "aa" as "a"; "ue" and
/// ü as "u"). So "KAERGAARD" and "Kærgaard" meet as "kargard", and "Soren"
/// and "Søren" as "soren". A few more names than typed may match (Michael
/// becomes "michal"), which a search at the door can bear.
#[must_use]
pub fn search_fold(text: &str) -> String {
    let mut spelt = String::with_capacity(text.len() + 4);
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'æ' | 'ä' => spelt.push_str("ae"),
            'ø' | 'ö' => spelt.push_str("oe"),
            'å' => spelt.push_str("aa"),
            'ü' => spelt.push_str("ue"),
            'ß' => spelt.push_str("ss"),
            'á' | 'à' | 'â' | 'ã' => spelt.push('a'),
            'é' | 'è' | 'ê' | 'ë' => spelt.push('e'),
            'í' | 'ì' | 'î' | 'ï' => spelt.push('i'),
            'ó' | 'ò' | 'ô' | 'õ' => spelt.push('o'),
            'ú' | 'ù' | 'û' => spelt.push('u'),
            'ñ' => spelt.push('n'),
            'ç' => spelt.push('c'),
            c => spelt.push(c),
        }
    }
    spelt.replace("aa", "a").replace("ae", "a").replace("oe", "o").replace("ue", "u")
}

/// [`Name::key`] for text not yet parsed, such as a search filter.
#[must_use]
pub fn name_key(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! serde_by_parsing {
    ($($t:ty),*) => {$(
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    )*};
}
serde_by_parsing!(SingleLine, Name, Note);

#[cfg(test)]
mod tests {
    use super::{Name, Note, ParseError, SingleLine};

    #[test]
    fn line_breaks_are_refused_so_they_never_reach_a_header() {
        assert!(Name::parse("Anna\r\nBcc: evil@example.com").is_err());
        assert!(SingleLine::parse("a\nb").is_err());
        assert!(Name::parse("   ").is_err());
        assert_eq!(Name::parse("  Søren Ærø ").unwrap().as_str(), "Søren Ærø");
        assert_eq!(Name::parse("ACME\u{a0} A/S").unwrap().key(), Name::parse(" acme a/s").unwrap().key());
    }
    #[test]
    fn invisible_and_direction_changing_characters_are_refused() {
        for bad in
            ["Anna\u{202E}gpj.exe", "Dialog\u{200B}forum", "\u{2066}Admin\u{2069}", "Nord\u{00AD}lys", "\u{FEFF}Acme"]
        {
            assert!(Name::parse(bad).is_err(), "{bad:?}");
            assert!(crate::domain::Email::parse(&format!("{bad}@firma.dk")).is_err(), "{bad:?}");
        }
        assert_eq!(Name::parse("Søren Ærø – KL").unwrap().as_str(), "Søren Ærø – KL");
    }

    #[test]
    fn a_note_keeps_its_lines_as_lf_and_refuses_other_control_characters() {
        let n = Note::parse("\r\n  Kære alle,\r\n.\rVi ses.  \n\n").unwrap();
        assert_eq!(n.as_str(), "  Kære alle,\n.\nVi ses.");
        assert_eq!(Note::parse("a\u{0}b"), Err(ParseError::ControlInText));
        assert_eq!(Note::parse("a\u{202E}b"), Err(ParseError::InvisibleCharacter));
        assert_eq!(Note::parse(&"x".repeat(Note::MAX + 1)), Err(ParseError::TooLong { max: Note::MAX }));
        assert!(Note::parse("   \r\n ").unwrap().is_empty());
    }
}

#[cfg(test)]
mod search_tests {
    use super::search_fold;

    #[test]
    fn a_search_ignores_case_and_danish_letters_both_ways() {
        let found = |typed: &str, name: &str| search_fold(name).contains(&search_fold(typed));
        assert!(found("KAERGAARD", "Mette Kærgaard"));
        assert!(found("kærgård", "Mette Kaergaard"));
        assert!(found("Soren", "Søren Holm"));
        assert!(found("SØREN", "Soeren Holm"));
        assert!(found("aase", "Åse Øster"));
        assert!(found("oster", "Åse Øster"));
        assert!(found("jonsson", "Lena Jönsson"));
        assert!(found("rene", "René Ørsted"));
        assert!(!found("Søren", "Sara Holm"));
    }
}
