//! Importing an existing mailing list from CSV.
//!
//! The file needs a header row naming at least the address, the name and the
//! organisation, in any order and in English or Danish: `email`/`e-mail`/`mail`,
//! `name`/`navn`, `organisation`/`virksomhed`/`firma`, and optionally
//! `interests`/`interesser` (interest keys or titles, separated by `,` `;` or
//! `|`). Comma-, semicolon- and tab-separated files are accepted (Danish Excel
//! writes semicolons), in UTF-8 with or without a byte order mark, in UTF-16
//! with one, or in Windows-1252 (what older Excel saves as "CSV"), which is
//! recognised by the bytes not being UTF-8.
//!
//! Imported people are `confirmed`, with the import recorded as the basis of
//! their consent. Every rejected line is reported with its number and reason,
//! among them addresses whose owners left the list or were erased
//! ([`crate::store::suppression`]); a later line with an address seen earlier
//! in the file is reported and skipped (the first wins); an address already
//! on the list is left as it is.
//! The whole file is imported in one transaction with its audit entry: when
//! the database fails, nothing of it is imported.

use std::collections::HashMap;
use std::io::Read;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

use crate::domain::{Email, Name, ParseError, PersonStatus, Suppression};
use crate::i18n::Lang;
use crate::store::audit::{self, Actor, Entry};
use crate::store::people::{ConsentRecord, NewPerson, insert_person_if_new};
use crate::store::{Store, StoreError, suppression};

/// One line that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Reject {
    /// The line number in the file, counting the header as line 1.
    pub line: u64,
    /// Why, in English (the API and the command line).
    pub reason: String,
    /// Why, to be said in the reader's language ([`Why::said`]).
    #[serde(skip)]
    #[schema(ignore)]
    pub why: Why,
}

impl Reject {
    fn new(line: u64, why: Why) -> Self {
        Self { line, reason: why.said(Lang::En), why }
    }
}

/// Why a line was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The CSV reader could not read the line (its English explanation).
    Unreadable(String),
    Email(ParseError),
    Name(ParseError),
    Organisation(ParseError),
    /// The address stands on an earlier line, which is kept.
    Repeated {
        first: u64,
    },
    /// The address's owner left the list or was erased.
    Suppressed(Suppression),
}

impl Why {
    /// The reason in `lang`, naming the column it concerns.
    #[must_use]
    pub fn said(&self, lang: Lang) -> String {
        let en = lang == Lang::En;
        match self {
            Self::Unreadable(e) if en => format!("unreadable line: {e}"),
            Self::Unreadable(e) => format!("linjen kan ikke læses ({e})"),
            Self::Email(e) if en => format!("email: {e}"),
            Self::Email(e) => format!("e-mail: {}", lang.refused(*e)),
            Self::Name(e) if en => format!("name: {e}"),
            Self::Name(e) => format!("navn: {}", lang.refused(*e)),
            Self::Organisation(e) if en => format!("organisation: {e}"),
            Self::Organisation(e) => format!("organisation: {}", lang.refused(*e)),
            Self::Repeated { first } if en => {
                format!("the address appears earlier in the file (line {first}); the first is kept")
            }
            Self::Repeated { first } => format!("adressen står tidligere i filen (linje {first}); den første beholdes"),
            Self::Suppressed(s) if en => format!("email: {}", lang.suppression(*s)),
            Self::Suppressed(s) => format!("e-mail: {}", lang.suppression(*s)),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Report {
    pub imported: usize,
    pub already_known: usize,
    pub rejected: Vec<Reject>,
}

/// Why a file could not be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file itself is unusable (no usable header row, unreadable).
    #[error("{0}")]
    File(FileProblem),
    /// The database failed; nothing was imported.
    #[error("the database failed; nothing was imported")]
    Store(#[from] StoreError),
}

/// What makes a whole file unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    /// It could not be read (the reader's English explanation).
    #[error("reading the CSV file: {0}")]
    Unreadable(String),
    /// The header row could not be read.
    #[error("reading the header row: {0}")]
    Header(String),
    /// The header row lacks a required column; `found` lists what it names.
    #[error(
        "the header row must name the columns email, name and organisation \
         (or e-mail/mail, navn and virksomhed/firma; found: {found})"
    )]
    Columns { found: String },
}

impl FileProblem {
    /// What is wrong with the file, in `lang`.
    #[must_use]
    pub fn said(&self, lang: Lang) -> String {
        match (self, lang) {
            (_, Lang::En) => self.to_string(),
            (Self::Unreadable(e), Lang::Da) => format!("Filen kan ikke læses ({e})."),
            (Self::Header(e), Lang::Da) => format!("Første linje kan ikke læses ({e})."),
            (Self::Columns { found }, Lang::Da) => format!(
                "Første linje skal navngive kolonnerne e-mail, navn og organisation \
                 (eller email/mail, name og virksomhed/firma). Filen har: {found}"
            ),
        }
    }
}

/// Largest file read, in bytes.
const MAX_BYTES: u64 = 200 * 1024 * 1024;

/// Rows between two progress reports.
const PROGRESS_EVERY: u64 = 500;

/// The accepted names of each column, lower case.
const EMAIL: &[&str] = &["email", "e-mail", "mail", "e-mailadresse", "emailadresse", "e-mail-adresse"];
const NAME: &[&str] = &["name", "navn", "fulde navn", "full name"];
const ORGANISATION: &[&str] = &["organisation", "organization", "virksomhed", "firma", "company"];
const INTERESTS: &[&str] = &["interests", "interesser"];

/// Decodes the file: by its byte order mark if it has one, as UTF-8 if it is
/// valid UTF-8, and as Windows-1252 otherwise (which can decode any bytes).
fn decode(bytes: &[u8]) -> (String, &'static Encoding) {
    let (encoding, bom) = Encoding::for_bom(bytes)
        .unwrap_or_else(|| if std::str::from_utf8(bytes).is_ok() { (UTF_8, 0) } else { (WINDOWS_1252, 0) });
    let (text, _) = encoding.decode_without_bom_handling(&bytes[bom..]);
    (text.into_owned(), encoding)
}

/// The separator used in the header line: the most frequent of `;`, `,` and tab.
fn delimiter(header: &str) -> u8 {
    [b';', b'\t', b','].into_iter().max_by_key(|d| header.matches(char::from(*d)).count()).unwrap_or(b',')
}

/// Imports `input`; `on_progress` is called with the number of rows read so far.
///
/// # Errors
/// [`ImportError::File`] for a file without the required columns;
/// [`ImportError::Store`] when the database failed (then nothing is imported).
pub async fn subscribers(
    store: &Store,
    input: impl Read,
    actor: &Actor,
    on_progress: impl FnMut(u64),
) -> Result<Report, ImportError> {
    let mut bytes = Vec::new();
    input
        .take(MAX_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| ImportError::File(FileProblem::Unreadable(e.to_string())))?;
    let (text, encoding) = decode(&bytes);
    // Interests by key and by either title, so that a file may use the words people see.
    let mut interest_keys: HashMap<String, String> = HashMap::new();
    for i in store.interests().await? {
        for label in [&i.key, &i.title_da, &i.title_en] {
            interest_keys.insert(label.to_lowercase(), i.key.clone());
        }
    }
    let (people, mut report) = read_people(&text, &interest_keys, on_progress)?;
    let consent = ConsentRecord {
        purpose: "mailing-list",
        text: "Importeret fra den eksisterende mailingliste.".into(),
        version: "import".into(),
        method: "import",
    };

    let mut tx = store.begin().await?;
    for (line, person) in &people {
        if let Some(reason) = suppression::check(&mut tx, &person.email).await? {
            report.rejected.push(Reject::new(*line, Why::Suppressed(reason)));
            continue;
        }
        if insert_person_if_new(&mut tx, person, Some(&consent)).await?.1 {
            report.imported += 1;
        } else {
            report.already_known += 1;
        }
    }
    report.rejected.sort_by_key(|r| r.line);
    let detail = format!(
        "{} imported, {} already known, {} rejected; read as {}",
        report.imported,
        report.already_known,
        report.rejected.len(),
        encoding.name()
    );
    let count = i64::try_from(report.imported).ok();
    audit::record(
        &mut tx,
        actor,
        &Entry { action: "subscribers.import", subject_kind: "", subject_id: None, detail: &detail, row_count: count },
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// Finds the line numbers of records in a text: csv reports where the
/// previous record ended (before its line break, and before any blank lines),
/// so the line is counted here from the record's byte offset instead.
struct Lines<'a> {
    text: &'a [u8],
    at: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self { text: text.as_bytes(), at: 0, line: 1 }
    }

    /// The line on which the record whose reported offset is `byte` starts;
    /// offsets must not go backwards.
    fn of(&mut self, byte: u64) -> u64 {
        let from = usize::try_from(byte).unwrap_or(usize::MAX).min(self.text.len()).max(self.at);
        let start = from + self.text[from..].iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
        for i in self.at..start {
            // CRLF, LF and a lone CR each end a line.
            if self.text[i] == b'\n' || (self.text[i] == b'\r' && self.text.get(i + 1) != Some(&b'\n')) {
                self.line += 1;
            }
        }
        self.at = start;
        self.line
    }
}

/// Reads the people of a decoded file, reporting the lines that cannot be
/// imported; `interest_keys` maps lower-case keys and titles to keys.
fn read_people(
    text: &str,
    interest_keys: &HashMap<String, String>,
    mut on_progress: impl FnMut(u64),
) -> Result<(Vec<(u64, NewPerson)>, Report), ImportError> {
    let header = text.lines().next().unwrap_or("");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(header))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| ImportError::File(FileProblem::Header(e.to_string())))?.clone();
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim().to_lowercase().as_str()));
    let (Some(email_col), Some(name_col), Some(org_col)) = (column(EMAIL), column(NAME), column(ORGANISATION)) else {
        let found = headers.iter().collect::<Vec<_>>().join(", ");
        return Err(ImportError::File(FileProblem::Columns { found }));
    };
    let interests_col = column(INTERESTS);

    let mut report = Report::default();
    let mut people = Vec::new();
    let mut first_line: HashMap<Email, u64> = HashMap::new();
    let mut lines = Lines::new(text);
    let mut rows = 0;
    for record in reader.records() {
        rows += 1;
        if rows % PROGRESS_EVERY == 0 {
            on_progress(rows);
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(rows + 1, |p| lines.of(p.byte()));
                report.rejected.push(Reject::new(line, Why::Unreadable(e.to_string())));
                continue;
            }
        };
        let line = record.position().map_or(rows + 1, |p| lines.of(p.byte()));
        if record.iter().all(str::is_empty) {
            // Spreadsheets save empty rows as a line of separators.
            continue;
        }
        let field = |col: usize| record.get(col).unwrap_or("");
        let parsed = Email::parse(field(email_col))
            .map_err(Why::Email)
            .and_then(|email| Ok((email, Name::parse(field(name_col)).map_err(Why::Name)?)))
            .and_then(|(email, name)| {
                let org = field(org_col);
                let organisation =
                    if org.is_empty() { None } else { Some(Name::parse(org).map_err(Why::Organisation)?) };
                Ok((email, name, organisation))
            });
        let (email, name, organisation) = match parsed {
            Ok(p) => p,
            Err(why) => {
                report.rejected.push(Reject::new(line, why));
                continue;
            }
        };
        if let Some(&first) = first_line.get(&email) {
            report.rejected.push(Reject::new(line, Why::Repeated { first }));
            continue;
        }
        first_line.insert(email.clone(), line);
        let mut interests: Vec<String> = interests_col
            .map(|c| {
                field(c)
                    .split([',', ';', '|'])
                    .filter_map(|s| interest_keys.get(&s.trim().to_lowercase()).cloned())
                    .collect()
            })
            .unwrap_or_default();
        interests.sort();
        interests.dedup();
        people.push((line, NewPerson { email, name, organisation, status: PersonStatus::Confirmed, interests }));
    }
    on_progress(rows);
    Ok((people, report))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::{decode, delimiter, read_people};

    #[test]
    fn bytes_that_are_not_utf8_are_read_as_windows_1252() {
        let (text, enc) = decode(b"navn\n\xc5se \xd8rsted\n");
        assert_eq!(text, "navn\nÅse Ørsted\n");
        assert_eq!(enc.name(), "windows-1252");
        let (text, enc) = decode("\u{feff}navn\nÅse".as_bytes());
        assert_eq!((text.as_str(), enc.name()), ("navn\nÅse", "UTF-8"));
        let (text, _) = decode(b"\xff\xfen\x00a\x00v\x00n\x00");
        assert_eq!(text, "navn");
    }

    #[test]
    fn the_separator_is_the_commonest_in_the_header() {
        assert_eq!(delimiter("email;name;organisation"), b';');
        assert_eq!(delimiter("email,name,organisation"), b',');
        assert_eq!(delimiter("email\tname\torganisation"), b'\t');
    }

    #[test]
    fn danish_headers_titles_and_duplicates_are_understood() {
        let keys: HashMap<String, String> = [("ai", "ai"), ("kunstig intelligens", "ai"), ("grøn it", "green-it")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let text = "Navn;E-mail;Virksomhed;Interesser\r\n\
                    Åse;aase@x.dk;X A/S;Kunstig intelligens|Grøn IT|ukendt\r\n\
                    \r\n\
                    ;;;\r\n\
                    \"Bo\r\nBoesen\";bo@x.dk;Y;\r\n\
                    Åse igen;AASE@x.dk;X A/S;\n\
                    ;bad;;\r\
                    ;worse;;\r\n";
        let (people, report) = read_people(text, &keys, |_| {}).unwrap();
        assert_eq!(people.len(), 1, "a name with a line break is refused: {people:?}");
        assert_eq!(people[0].1.interests, ["ai", "green-it"]);
        let lines: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [5, 7, 8, 9], "{:?}", report.rejected);
        assert!(report.rejected[1].reason.contains("line 2"), "{:?}", report.rejected);
    }
}
