//! Importing an existing mailing list from CSV.
//!
//! The file needs a header row naming at least `email`, `name` and
//! `organisation` (in any order; `interests` is optional, keys separated by
//! `,` `;` or `|`). Comma- and semicolon-separated files are both accepted
//! (Danish Excel writes semicolons), with or without a UTF-8 byte order mark.
//! Imported people are `confirmed`, with the import recorded as the basis of
//! their consent. Every rejected line is reported with its number and reason;
//! an address already on the list is left as it is.

use std::io::Read;

use anyhow::Context;

use crate::domain::{Email, Name, PersonStatus};
use crate::store::Store;
use crate::store::audit::{self, Actor, Entry};
use crate::store::people::{ConsentRecord, NewPerson, insert_person_if_new};

/// One line that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reject {
    /// The line number in the file, counting the header as line 1.
    pub line: u64,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub imported: usize,
    pub already_known: usize,
    pub rejected: Vec<Reject>,
}

/// Rows written per transaction: large enough to be fast, small enough not to
/// hold the SQLite writer for long.
const BATCH: usize = 500;

/// Imports `input`; `on_progress` is called with the number of rows read so far.
///
/// # Errors
/// A file without the required columns, or a database failure (rows of the
/// batches before it stay imported; importing again skips them).
pub async fn subscribers(
    store: &Store,
    input: impl Read,
    actor: &Actor,
    mut on_progress: impl FnMut(u64),
) -> anyhow::Result<Report> {
    let mut bytes = Vec::new();
    input.take(200 * 1024 * 1024).read_to_end(&mut bytes).context("reading the CSV file")?;
    let text = String::from_utf8(bytes).context("the file is not UTF-8; save it as \"CSV UTF-8\"")?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let header = text.lines().next().unwrap_or("");
    let delimiter = if header.matches(';').count() > header.matches(',').count() { b';' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().context("reading the header row")?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(email_col), Some(name_col), Some(org_col)) = (column("email"), column("name"), column("organisation"))
    else {
        anyhow::bail!(
            "the header row must name the columns email, name and organisation (found: {})",
            headers.iter().collect::<Vec<_>>().join(", ")
        );
    };
    let interests_col = column("interests");
    let consent = ConsentRecord {
        purpose: "mailing-list",
        text: "Importeret fra den eksisterende mailingliste.".into(),
        version: "import".into(),
        method: "import",
    };

    let mut report = Report::default();
    let mut batch: Vec<NewPerson> = Vec::with_capacity(BATCH);
    let mut seen = std::collections::HashSet::new();
    for (i, record) in reader.records().enumerate() {
        let line = u64::try_from(i).unwrap_or(u64::MAX).saturating_add(2);
        let reject = |reason: String| Reject { line, reason };
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report.rejected.push(reject(format!("unreadable line: {e}")));
                continue;
            }
        };
        let field = |col: usize| record.get(col).unwrap_or("");
        let parsed = Email::parse(field(email_col))
            .map_err(|e| format!("email: {e}"))
            .and_then(|email| Ok((email, Name::parse(field(name_col)).map_err(|e| format!("name: {e}"))?)))
            .and_then(|(email, name)| {
                let org = field(org_col);
                let organisation = if org.is_empty() {
                    None
                } else {
                    Some(Name::parse(org).map_err(|e| format!("organisation: {e}"))?)
                };
                Ok((email, name, organisation))
            });
        let (email, name, organisation) = match parsed {
            Ok(p) => p,
            Err(reason) => {
                report.rejected.push(reject(reason));
                continue;
            }
        };
        if !seen.insert(email.clone()) {
            report.rejected.push(reject("the address appears earlier in the file".into()));
            continue;
        }
        let interests = interests_col
            .map(|c| {
                field(c)
                    .split([',', ';', '|'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        batch.push(NewPerson { email, name, organisation, status: PersonStatus::Confirmed, interests });
        if batch.len() == BATCH {
            write(store, &mut batch, &consent, &mut report).await?;
            on_progress(line - 1);
        }
    }
    write(store, &mut batch, &consent, &mut report).await?;
    let mut tx = store.begin().await?;
    let detail = format!(
        "{} imported, {} already known, {} rejected",
        report.imported,
        report.already_known,
        report.rejected.len()
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

async fn write(
    store: &Store,
    batch: &mut Vec<NewPerson>,
    consent: &ConsentRecord,
    report: &mut Report,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    for person in batch.iter() {
        if insert_person_if_new(&mut tx, person, Some(consent)).await?.1 {
            report.imported += 1;
        } else {
            report.already_known += 1;
        }
    }
    tx.commit().await?;
    batch.clear();
    Ok(())
}
