//! Exports that open right in a Danish Excel: a meeting's participants, the
//! mailing list, a meeting's public list of organisations and its evaluation
//! results, as CSV or XLSX.
//!
//! One [`Table`] describes each export's columns (key, Danish and English
//! header, cell type, width) and both writers follow it:
//!
//! - CSV ([`csv_sink`]): UTF-8 with a byte-order mark, CRLF line ends, RFC 4180
//!   quoting, `;` between fields by default (what a Danish Excel expects) or
//!   `,`. Numbers use a decimal comma with `;` and a decimal point with `,`.
//!   Times are `YYYY-MM-DD HH:MM`, Copenhagen time. A text cell that begins
//!   with `=`, `+`, `-`, `@`, a tab or a carriage return gets a `'` in front,
//!   so no spreadsheet runs it as a formula (OWASP's advice for CSV injection).
//! - XLSX ([`xlsx_sink`]): a constant-memory worksheet, so memory stays flat
//!   however many rows; text is always a string cell (never a formula), counts
//!   are numbers and times are real date cells; the header row is bold and
//!   frozen, with an auto-filter; the sheet is named after the meeting.
//!
//! Rows come from the database as a stream ([`Store::participants_stream`]
//! and friends) and go, in batches, to a writer on a blocking thread
//! ([`Job`]), which writes to a file or hands out chunks for a streamed
//! HTTP response.

pub mod collate;
pub mod csv_sink;
pub mod xlsx_sink;

use std::io::Write;

use anyhow::Context;
use futures_util::TryStreamExt;
use tokio::sync::mpsc;

use crate::domain::evaluation::QuestionKind;
use crate::domain::{MeetingId, PersonStatus, RegistrationStatus, Timestamp};
use crate::i18n::Lang;
use crate::store::Store;
use crate::store::evaluations::Results;
use crate::store::exports::{ListMember, Participant};
use crate::store::meetings::Meeting;
use crate::store::retention::NoteCounts;
use crate::store::totals::Totals;
use crate::store::year::Annual;

/// What a column holds, which decides the cell type in XLSX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    /// A fraction between 0 and 1, shown as a percentage in XLSX.
    Share,
    Time,
}

/// One column of an export.
#[derive(Debug)]
pub struct Column {
    /// A stable machine name (documented; the headers are for people).
    pub key: &'static str,
    pub da: &'static str,
    pub en: &'static str,
    pub kind: Kind,
    /// Width in Excel's character units.
    pub width: f64,
}

impl Column {
    /// The header in `lang`.
    #[must_use]
    pub const fn header(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Da => self.da,
            Lang::En => self.en,
        }
    }
}

/// One export's columns, in their fixed order.
#[derive(Debug)]
pub struct Table {
    /// The word for the export in file names, in Danish and English.
    pub file_da: &'static str,
    pub file_en: &'static str,
    pub columns: &'static [Column],
}

impl Table {
    /// The word for the export in file names, in `lang`.
    #[must_use]
    pub const fn file_word(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Da => self.file_da,
            Lang::En => self.file_en,
        }
    }
}

const fn col(key: &'static str, da: &'static str, en: &'static str, kind: Kind, width: f64) -> Column {
    Column { key, da, en, kind, width }
}

/// A meeting's participant list. The order of the columns is part of the contract.
pub const PARTICIPANTS: Table = Table {
    file_da: "deltagere",
    file_en: "participants",
    columns: &[
        col("name", "Navn", "Name", Kind::Text, 28.0),
        col("organisation", "Organisation", "Organisation", Kind::Text, 30.0),
        col("cvr", "CVR-nummer", "CVR number", Kind::Text, 12.0),
        col("email", "E-mail", "Email", Kind::Text, 32.0),
        col("status", "Status", "Status", Kind::Text, 14.0),
        col("track", "Spor", "Track", Kind::Text, 20.0),
        col("diet", "Kost", "Diet", Kind::Text, 24.0),
        col("access_needs", "Tilgængelighed", "Access needs", Kind::Text, 24.0),
        col("checked_in_at", "Tjekket ind", "Checked in at", Kind::Time, 17.0),
        col("registered_at", "Tilmeldt", "Registered at", Kind::Time, 17.0),
    ],
};

/// The mailing list.
pub const SUBSCRIBERS: Table = Table {
    file_da: "postliste",
    file_en: "mailing-list",
    columns: &[
        col("name", "Navn", "Name", Kind::Text, 28.0),
        col("email", "E-mail", "Email", Kind::Text, 32.0),
        col("organisation", "Organisation", "Organisation", Kind::Text, 30.0),
        col("status", "Status", "Status", Kind::Text, 22.0),
        col("interests", "Interesser", "Interests", Kind::Text, 36.0),
        col("language", "Sprog", "Language", Kind::Text, 8.0),
        col("meetings_attended", "Møder deltaget i", "Meetings attended", Kind::Number, 12.0),
        col("signed_up_at", "Tilmeldt listen", "Signed up at", Kind::Time, 17.0),
        col("confirmed_at", "Bekræftet", "Confirmed at", Kind::Time, 17.0),
    ],
};

/// A meeting's public list of participating organisations.
pub const ORGANISATIONS: Table = Table {
    file_da: "organisationer",
    file_en: "organisations",
    columns: &[col("organisation", "Organisation", "Organisation", Kind::Text, 40.0)],
};

/// A meeting's evaluation results: one summary line, then per question a
/// line with how many answered (and the average of a rating), a line per
/// option with its count and share, and a line per free-text answer.
pub const EVALUATION: Table = Table {
    file_da: "evaluering",
    file_en: "evaluation",
    columns: &[
        col("question_key", "Nøgle", "Key", Kind::Text, 16.0),
        col("question", "Spørgsmål", "Question", Kind::Text, 48.0),
        col("kind", "Type", "Kind", Kind::Text, 14.0),
        col("answer", "Svar", "Answer", Kind::Text, 48.0),
        col("count", "Antal", "Count", Kind::Number, 9.0),
        col("share", "Andel", "Share", Kind::Share, 9.0),
        col("average", "Gennemsnit", "Average", Kind::Number, 11.0),
    ],
};

/// The annual picture of a period: a line per meeting held (with how many
/// were invited, registered, came and stayed away), then lines of single
/// figures (organisations by how often they took part, the list, bounces)
/// in the value column, then a line per meeting of each recurring
/// evaluation question (the average of a rating, the share of the first
/// option of a choice).
pub const YEAR: Table = Table {
    file_da: "årsoversigt",
    file_en: "annual-picture",
    columns: &[
        col("section", "Afsnit", "Section", Kind::Text, 16.0),
        col("item", "Emne", "Item", Kind::Text, 48.0),
        col("date", "Dato", "Date", Kind::Text, 11.0),
        col("invited", "Inviterede", "Invited", Kind::Number, 10.0),
        col("registered", "Tilmeldte", "Registered", Kind::Number, 10.0),
        col("attended", "Deltog", "Attended", Kind::Number, 10.0),
        col("no_show", "Udeblev", "No-show", Kind::Number, 10.0),
        col("value", "Værdi", "Value", Kind::Number, 10.0),
    ],
};

/// One cell's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Decimal(f64),
    Time(Timestamp),
    Empty,
}

impl Cell {
    fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }

    fn opt(s: Option<String>) -> Self {
        s.map_or(Self::Empty, Self::Text)
    }

    fn time(t: Option<Timestamp>) -> Self {
        t.map_or(Self::Empty, Self::Time)
    }
}

/// The field separator of a CSV export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Separator {
    /// `;`, what a Danish Excel splits on.
    #[default]
    Semicolon,
    Comma,
}

impl Separator {
    /// Reads `semicolon` or `comma` (also `;` and `,`).
    ///
    /// # Errors
    /// Anything else.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        match s {
            "" | "semicolon" | ";" => Ok(Self::Semicolon),
            "comma" | "," => Ok(Self::Comma),
            _ => Err("must be semicolon or comma"),
        }
    }

    const fn byte(self) -> u8 {
        match self {
            Self::Semicolon => b';',
            Self::Comma => b',',
        }
    }
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv(Separator),
    Xlsx,
}

impl Format {
    /// The file name extension.
    #[must_use]
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Csv(_) => "csv",
            Self::Xlsx => "xlsx",
        }
    }

    /// The media type of the file.
    #[must_use]
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Csv(_) => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// Where an export goes.
pub enum Dest {
    /// A file (the CLI, the benchmark).
    File(std::fs::File),
    /// Chunks of bytes for a streamed response; ends when the sender is dropped.
    Chunks(mpsc::Sender<Vec<u8>>),
}

/// A writer that hands out what it is given in chunks of about 64 KiB.
struct ChunkWriter {
    buf: Vec<u8>,
    out: mpsc::Sender<Vec<u8>>,
}

const CHUNK: usize = 64 * 1024;

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.out.blocking_send(chunk).map_err(|_| std::io::Error::other("the receiver went away"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// What a [`Job`] writes.
pub struct Spec {
    pub table: &'static Table,
    pub lang: Lang,
    pub format: Format,
    /// The XLSX sheet's name (sanitised by the writer).
    pub sheet: String,
}

const BATCH: usize = 512;

/// An export being written: rows go in with [`Job::push`], in batches, to a
/// writer on a blocking thread; [`Job::finish`] closes the file.
pub struct Job {
    rows: Option<mpsc::Sender<Vec<Vec<Cell>>>>,
    batch: Vec<Vec<Cell>>,
    writer: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Job {
    /// Starts the writer. Must be called within a Tokio runtime.
    #[must_use]
    pub fn start(spec: Spec, dest: Dest) -> Self {
        let (tx, rx) = mpsc::channel(4);
        let writer = tokio::task::spawn_blocking(move || write_all(&spec, dest, rx));
        Self { rows: Some(tx), batch: Vec::with_capacity(BATCH), writer: Some(writer) }
    }

    /// Adds a row.
    ///
    /// # Errors
    /// The writer failed (a full disk, a client that went away).
    pub async fn push(&mut self, row: Vec<Cell>) -> anyhow::Result<()> {
        self.batch.push(row);
        if self.batch.len() >= BATCH {
            self.send().await?;
        }
        Ok(())
    }

    async fn send(&mut self) -> anyhow::Result<()> {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        let sent = match &self.rows {
            Some(tx) => tx.send(batch).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The writer stopped early: its own error says why.
        self.rows = None;
        match self.writer.take() {
            Some(w) => {
                w.await.context("the export writer panicked")?.and(Err(anyhow::anyhow!("the export writer stopped")))
            }
            None => anyhow::bail!("the export writer stopped"),
        }
    }

    /// Writes the last rows and closes the file (or the stream of chunks).
    ///
    /// # Errors
    /// The writer failed.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        if !self.batch.is_empty() {
            self.send().await?;
        }
        self.rows = None;
        match self.writer.take() {
            Some(w) => w.await.context("the export writer panicked")?,
            None => Ok(()),
        }
    }
}

/// The writer's side of a [`Job`].
fn write_all(spec: &Spec, dest: Dest, mut rx: mpsc::Receiver<Vec<Vec<Cell>>>) -> anyhow::Result<()> {
    match spec.format {
        Format::Csv(sep) => {
            let out: Box<dyn Write> = match dest {
                Dest::File(f) => Box::new(std::io::BufWriter::with_capacity(CHUNK, f)),
                Dest::Chunks(tx) => Box::new(ChunkWriter { buf: Vec::with_capacity(CHUNK), out: tx }),
            };
            let mut sink = csv_sink::CsvSink::new(out, sep, spec.table, spec.lang)?;
            while let Some(batch) = rx.blocking_recv() {
                for row in &batch {
                    sink.row(row)?;
                }
            }
            sink.finish()?;
        }
        Format::Xlsx => {
            let mut sink = xlsx_sink::XlsxSink::new(spec.table, spec.lang, &spec.sheet)?;
            while let Some(batch) = rx.blocking_recv() {
                for row in &batch {
                    sink.row(row)?;
                }
            }
            match dest {
                Dest::File(f) => {
                    let mut w = std::io::BufWriter::with_capacity(CHUNK, f);
                    sink.finish(&mut w)?;
                    w.flush()?;
                }
                Dest::Chunks(tx) => {
                    let mut w = ChunkWriter { buf: Vec::with_capacity(CHUNK), out: tx };
                    sink.finish(&mut w)?;
                    w.flush()?;
                }
            }
        }
    }
    Ok(())
}

/// A registration status as the participant list shows it.
fn registration_status(status: &str, lang: Lang) -> &str {
    match (status, lang) {
        ("attending", Lang::Da) => "Deltager",
        ("attending", Lang::En) => "Attending",
        ("waitlisted", Lang::Da) => "Venteliste",
        ("waitlisted", Lang::En) => "Waiting list",
        ("declined", Lang::Da) => "Afbud",
        ("declined", Lang::En) => "Declined",
        ("cancelled", Lang::Da) => "Afmeldt",
        ("cancelled", Lang::En) => "Cancelled",
        (other, _) => other,
    }
}

/// A list member's status as the export shows it.
fn person_status(status: &str, lang: Lang) -> &str {
    match (status, lang) {
        ("pending", Lang::Da) => "Afventer bekræftelse",
        ("pending", Lang::En) => "Pending",
        ("confirmed", Lang::Da) => "Bekræftet",
        ("confirmed", Lang::En) => "Confirmed",
        ("unsubscribed", Lang::Da) => "Afmeldt",
        ("unsubscribed", Lang::En) => "Unsubscribed",
        ("bounced", Lang::Da) => "Afvist af modtager",
        ("bounced", Lang::En) => "Bounced",
        (other, _) => other,
    }
}

/// A participant as a row of [`PARTICIPANTS`].
#[must_use]
pub fn participant_row(p: Participant, lang: Lang) -> Vec<Cell> {
    vec![
        Cell::text(p.name),
        Cell::opt(p.organisation),
        Cell::opt(p.cvr),
        Cell::text(p.email),
        Cell::text(registration_status(&p.status, lang)),
        Cell::opt(p.track),
        Cell::text(p.diet),
        Cell::text(p.access_needs),
        Cell::time(p.checked_in_at),
        Cell::Time(p.registered_at),
    ]
}

/// A list member as a row of [`SUBSCRIBERS`].
#[must_use]
pub fn member_row(m: ListMember, lang: Lang) -> Vec<Cell> {
    vec![
        Cell::text(m.name),
        Cell::text(m.email),
        Cell::opt(m.organisation),
        Cell::text(person_status(&m.status, lang)),
        Cell::text(m.interests),
        Cell::text(m.language),
        Cell::Int(m.meetings_attended),
        Cell::Time(m.created_at),
        Cell::time(m.confirmed_at),
    ]
}

/// A question kind as the evaluation export shows it.
fn question_kind(kind: QuestionKind, lang: Lang) -> &'static str {
    match (kind, lang) {
        (QuestionKind::Rating, Lang::Da) => "Vurdering 1-5",
        (QuestionKind::Rating, Lang::En) => "Rating 1-5",
        (QuestionKind::Single, Lang::Da) => "Ét svar",
        (QuestionKind::Single, Lang::En) => "Single choice",
        (QuestionKind::Multiple, Lang::Da) => "Flere svar",
        (QuestionKind::Multiple, Lang::En) => "Multiple choice",
        (QuestionKind::Text, Lang::Da) => "Fritekst",
        (QuestionKind::Text, Lang::En) => "Free text",
    }
}

/// Evaluation results as rows of [`EVALUATION`].
#[must_use]
pub fn evaluation_rows(r: &Results, lang: Lang) -> Vec<Vec<Cell>> {
    let en = lang == Lang::En;
    let share = |n: i64, of: i64| {
        #[allow(clippy::cast_precision_loss)] // counts are far below 2^52
        if of > 0 { Cell::Decimal(n as f64 / of as f64) } else { Cell::Empty }
    };
    let mut rows = vec![vec![
        Cell::Empty,
        Cell::text(if en { "Responses" } else { "Besvarelser" }),
        Cell::Empty,
        Cell::text(if en { format!("of {} asked", r.recipients) } else { format!("af {} adspurgte", r.recipients) }),
        Cell::Int(r.responses),
        r.response_rate.map_or(Cell::Empty, Cell::Decimal),
        Cell::Empty,
    ]];
    for q in &r.questions {
        let text = if en && !q.text_en.is_empty() { &q.text_en } else { &q.text_da };
        let head = |answer: Cell, count: Cell, share: Cell, average: Cell| {
            vec![
                Cell::text(q.key.clone()),
                Cell::text(text.clone()),
                Cell::text(question_kind(q.kind, lang)),
                answer,
                count,
                share,
                average,
            ]
        };
        rows.push(head(
            Cell::text(if en { "(answered)" } else { "(besvaret)" }),
            Cell::Int(q.answered),
            Cell::Empty,
            q.average.map_or(Cell::Empty, Cell::Decimal),
        ));
        for o in &q.options {
            let label = if en && !o.label_en.is_empty() { &o.label_en } else { &o.label_da };
            rows.push(head(Cell::text(label.clone()), Cell::Int(o.count), share(o.count, q.answered), Cell::Empty));
        }
        for t in &q.texts {
            rows.push(head(Cell::text(t.clone()), Cell::Empty, Cell::Empty, Cell::Empty));
        }
    }
    // By track: a group under the minimum says only that it is hidden.
    for g in &r.by_track {
        let kind = Cell::text(if en { format!("Track: {}", g.title) } else { format!("Spor: {}", g.title) });
        let Some(n) = g.responses.filter(|_| !g.hidden) else {
            let hidden = lang.hidden_group(r.breakdown_minimum);
            rows.push(vec![Cell::Empty, Cell::Empty, kind, Cell::text(hidden), Cell::Empty, Cell::Empty, Cell::Empty]);
            continue;
        };
        rows.push(vec![
            Cell::Empty,
            Cell::Empty,
            kind.clone(),
            Cell::text(if en { "(answered)" } else { "(besvaret)" }),
            Cell::Int(n),
            Cell::Empty,
            Cell::Empty,
        ]);
        for a in &g.averages {
            let text = r.questions.iter().find(|q| q.key == a.key).map_or_else(String::new, |q| {
                if en && !q.text_en.is_empty() { q.text_en.clone() } else { q.text_da.clone() }
            });
            rows.push(vec![
                Cell::text(a.key.clone()),
                Cell::text(text),
                kind.clone(),
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                a.average.map_or(Cell::Empty, Cell::Decimal),
            ]);
        }
    }
    rows
}

/// A meeting as the annual picture names it: "3. møde: Title" or "Meeting
/// 3: Title", or the title alone.
#[must_use]
pub fn held_meeting_label(number: Option<i32>, title: &str, lang: Lang) -> String {
    match (number, lang) {
        (Some(n), Lang::Da) => format!("{n}. møde: {title}"),
        (Some(n), Lang::En) => format!("Meeting {n}: {title}"),
        (None, _) => title.to_owned(),
    }
}

/// The annual picture as rows of [`YEAR`].
#[must_use]
pub fn annual_rows(a: &Annual, lang: Lang) -> Vec<Vec<Cell>> {
    let pick = |da: &'static str, en: &'static str| Cell::text(lang.pick(da, en));
    let date = |t: Timestamp| Cell::Text(t.to_zoned_datetime(crate::domain::copenhagen()).date().to_string());
    let figure = |section: &str, item: String, value: Cell| {
        vec![
            Cell::text(section),
            Cell::Text(item),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            value,
        ]
    };
    let mut rows = Vec::new();
    for m in &a.meetings {
        rows.push(vec![
            pick("Møde", "Meeting"),
            Cell::Text(held_meeting_label(m.number, &m.title, lang)),
            date(m.starts_at),
            Cell::Int(m.invited),
            Cell::Int(m.registered),
            Cell::Int(m.attended),
            Cell::Int(m.no_show),
            Cell::Empty,
        ]);
    }
    let meetings = lang.pick("Møder", "Meetings");
    rows.push(figure(
        meetings,
        lang.pick("Holdt", "Held").to_owned(),
        Cell::Int(i64::try_from(a.meetings.len()).unwrap_or(0)),
    ));
    rows.push(figure(meetings, lang.pick("Aflyst", "Cancelled").to_owned(), Cell::Int(a.cancelled)));
    let organisations = lang.pick("Organisationer", "Organisations");
    for (n, count) in &a.organisations {
        let item = match (lang, *n) {
            (Lang::Da, 1) => "Deltog i 1 møde".to_owned(),
            (Lang::Da, n) => format!("Deltog i {n} møder"),
            (Lang::En, 1) => "Took part in 1 meeting".to_owned(),
            (Lang::En, n) => format!("Took part in {n} meetings"),
        };
        rows.push(figure(organisations, item, Cell::Int(*count)));
    }
    rows.push(figure(organisations, lang.pick("I alt", "In all").to_owned(), Cell::Int(a.organisations_total())));
    let list = lang.pick("Listen", "The list");
    rows.push(figure(list, lang.pick("Ved periodens start", "At the start").to_owned(), Cell::Int(a.list.at_start)));
    rows.push(figure(list, lang.pick("Kommet til", "Joined").to_owned(), Cell::Int(a.list.joined)));
    rows.push(figure(list, lang.pick("Forladt", "Left").to_owned(), Cell::Int(a.list.left)));
    rows.push(figure(list, lang.pick("Vækst", "Growth").to_owned(), Cell::Int(a.list.growth())));
    rows.push(figure(
        list,
        lang.pick("Frafald", "Churn").to_owned(),
        a.list.churn().map_or(Cell::Empty, Cell::Decimal),
    ));
    let bounces = lang.pick("Returmails", "Bounces");
    rows.push(figure(bounces, lang.pick("Hårde", "Hard").to_owned(), Cell::Int(a.bounces.hard)));
    rows.push(figure(bounces, lang.pick("Bløde", "Soft").to_owned(), Cell::Int(a.bounces.soft)));
    rows.push(figure(bounces, lang.pick("Klager", "Complaints").to_owned(), Cell::Int(a.bounces.complaints)));
    let en = lang == Lang::En;
    for s in &a.trend {
        let text = if en && !s.text_en.is_empty() { &s.text_en } else { &s.text_da };
        let first = s.options.first();
        for p in &s.points {
            let value = if s.kind == QuestionKind::Rating {
                p.average.map_or(Cell::Empty, Cell::Decimal)
            } else {
                first
                    .and_then(|o| p.shares.iter().find(|(k, _)| *k == o.0))
                    .map_or(Cell::Empty, |(_, v)| Cell::Decimal(*v))
            };
            let what = match first {
                Some(o) if s.kind != QuestionKind::Rating => {
                    let label = if en && !o.2.is_empty() { &o.2 } else { &o.1 };
                    format!("{text} ({label})")
                }
                _ => text.clone(),
            };
            let mut row = figure(
                lang.pick("Evaluering", "Evaluation"),
                format!("{what}: {}", held_meeting_label(p.number, &p.title, lang)),
                value,
            );
            row[2] = date(p.starts_at);
            rows.push(row);
        }
    }
    rows
}

/// Writes the annual picture into `job`; returns how many rows.
///
/// # Errors
/// The writer failed.
pub async fn annual(a: &Annual, lang: Lang, job: &mut Job) -> anyhow::Result<u64> {
    let rows = annual_rows(a, lang);
    let n = rows.len() as u64;
    for row in rows {
        job.push(row).await?;
    }
    Ok(n)
}

/// Writes evaluation results into `job`; returns how many rows.
///
/// # Errors
/// The writer failed.
pub async fn evaluation(results: &Results, lang: Lang, job: &mut Job) -> anyhow::Result<u64> {
    let rows = evaluation_rows(results, lang);
    let n = rows.len() as u64;
    for row in rows {
        job.push(row).await?;
    }
    Ok(n)
}

/// Writes a meeting's participant list into `job`, calling `progress` with
/// the running count; returns how many people's rows. Once what people wrote was
/// deleted after the meeting, or the registrations were reduced to totals,
/// the counts kept follow the people (see [`kept_rows`]).
///
/// # Errors
/// The database or the writer failed.
pub async fn participants(
    store: &Store,
    meeting: &Meeting,
    lang: Lang,
    job: &mut Job,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<u64> {
    let mut rows = store.participants_stream(meeting.id);
    let mut n = 0;
    while let Some(p) = rows.try_next().await? {
        job.push(participant_row(p, lang)).await?;
        n += 1;
        progress(n);
    }
    drop(rows);
    let notes = store.note_counts(meeting.id).await?;
    let totals = store.registration_totals(meeting.id).await?;
    // The counts are not people: the rows returned (and audited) are the people's.
    for row in kept_rows(meeting, &totals, notes, lang) {
        job.push(row).await?;
    }
    Ok(n)
}

/// The counts kept for a meeting, as rows of [`PARTICIPANTS`] after the
/// people: a blank row, then a line per figure with its words in the name
/// column and the number in the next. Nothing while every registration and
/// what people wrote are still there, since the rows say it all then.
#[must_use]
pub fn kept_rows(meeting: &Meeting, totals: &Totals, notes: Option<NoteCounts>, lang: Lang) -> Vec<Vec<Cell>> {
    if totals.reduced.is_none() && notes.is_none() {
        return Vec::new();
    }
    let width = PARTICIPANTS.columns.len();
    let line = |label: String, value: Cell| {
        let mut row = vec![Cell::Text(label), value];
        row.resize(width, Cell::Empty);
        row
    };
    let mut rows = vec![vec![Cell::Empty; width]];
    if let Some(r) = totals.reduced {
        let day = lang.date(r.at);
        rows.push(line(
            match lang {
                Lang::Da => format!("Tilmeldingerne blev reduceret til tal den {day}"),
                Lang::En => format!("The registrations were reduced to totals on {day}"),
            },
            Cell::Empty,
        ));
        for s in RegistrationStatus::ALL {
            rows.push(line(lang.registration_status(*s).to_owned(), Cell::Int(totals.with_status(*s))));
        }
        rows.push(line(lang.pick("Tjekket ind", "Checked in").to_owned(), Cell::Int(totals.checked_in())));
        rows.push(line(lang.pick("Udeblev", "No-show").to_owned(), Cell::Int(totals.no_show())));
        for t in &meeting.tracks {
            let label = match lang {
                Lang::Da => format!("Spor {}: {}", t.title, lang.registration_status(RegistrationStatus::Attending)),
                Lang::En => format!("Track {}: {}", t.title, lang.registration_status(RegistrationStatus::Attending)),
            };
            rows.push(line(label, Cell::Int(totals.on_track(&t.key, RegistrationStatus::Attending))));
        }
    }
    if let Some(k) = notes {
        let day = lang.date(k.purged_at);
        rows.push(line(
            match lang {
                Lang::Da => format!("Kost, tilgængelighed og kommentarer blev slettet den {day}; antallet er gemt"),
                Lang::En => format!("Diet, access needs and comments were deleted on {day}; the counts are kept"),
            },
            Cell::Empty,
        ));
        rows.push(line(lang.pick("Med kostønsker", "With diet needs").to_owned(), Cell::Int(k.diet)));
        rows.push(line(
            lang.pick("Med tilgængelighedsbehov", "With access needs").to_owned(),
            Cell::Int(k.access_needs),
        ));
        rows.push(line(lang.pick("Med kommentar", "With a comment").to_owned(), Cell::Int(k.comments)));
    }
    rows
}

/// Writes the mailing list (only `status` when given) into `job`, calling
/// `progress` with the running count; returns how many rows.
///
/// # Errors
/// The database or the writer failed.
pub async fn subscribers(
    store: &Store,
    status: Option<PersonStatus>,
    lang: Lang,
    job: &mut Job,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<u64> {
    let mut rows = store.list_members_stream(status, lang == Lang::En);
    let mut n = 0;
    while let Some(m) = rows.try_next().await? {
        job.push(member_row(m, lang)).await?;
        n += 1;
        progress(n);
    }
    Ok(n)
}

/// A meeting's public list of organisations, in Danish alphabetical order.
///
/// # Errors
/// The database failed.
pub async fn public_organisations(store: &Store, meeting: MeetingId) -> crate::store::Result<Vec<String>> {
    let mut names = store.listed_organisations(meeting).await?;
    collate::sort_danish(&mut names);
    Ok(names)
}

/// Writes the public list of organisations into `job`; returns how many rows.
///
/// # Errors
/// The database or the writer failed.
pub async fn organisations(store: &Store, meeting: MeetingId, job: &mut Job) -> anyhow::Result<u64> {
    let names = public_organisations(store, meeting).await?;
    let n = names.len() as u64;
    for name in names {
        job.push(vec![Cell::Text(name)]).await?;
    }
    Ok(n)
}

/// The sheet name for an export about `m`: "16. møde – Sikkerhed …".
#[must_use]
pub fn meeting_sheet(m: &Meeting, lang: Lang) -> String {
    let name = match (m.number, lang) {
        (Some(n), Lang::Da) => format!("{n}. møde {}", m.title),
        (Some(n), Lang::En) => format!("Meeting {n} {}", m.title),
        (None, _) => m.title.clone(),
    };
    xlsx_sink::sheet_name(&name)
}

/// The file name stem for an export about `m`: `what-møde-16` or
/// `what-meeting-16` (the meeting's date when it has no number).
#[must_use]
pub fn meeting_file_stem(what: &str, m: &Meeting, lang: Lang) -> String {
    let word = match lang {
        Lang::Da => "møde",
        Lang::En => "meeting",
    };
    match m.number {
        Some(n) => format!("{what}-{word}-{n}"),
        None => format!("{what}-{word}-{}", m.starts_at.to_zoned_datetime(crate::domain::copenhagen()).date()),
    }
}

/// A `Content-Disposition` value for downloading `stem.ext`: a plain ASCII
/// `filename` (æ → ae, ø → oe, å → aa, anything else outside `A-Za-z0-9._-`
/// → `_`) for old clients, and the exact name as RFC 6266 / RFC 8187 `filename*`.
#[must_use]
pub fn content_disposition(stem: &str, ext: &str) -> String {
    let full = format!("{stem}.{ext}");
    let mut ascii = String::with_capacity(full.len());
    for c in full.chars() {
        match c {
            'æ' => ascii.push_str("ae"),
            'Æ' => ascii.push_str("Ae"),
            'ø' => ascii.push_str("oe"),
            'Ø' => ascii.push_str("Oe"),
            'å' => ascii.push_str("aa"),
            'Å' => ascii.push_str("Aa"),
            c if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') => ascii.push(c),
            _ => ascii.push('_'),
        }
    }
    attachment(&full, &ascii)
}

/// A `Content-Disposition` that downloads a file under its own `name` (RFC
/// 6266): `filename=` with the `ascii` fallback for old clients, then
/// `filename*=UTF-8''…` with the name itself, which clients that know it
/// prefer. The fallback must hold no `"` or `\`.
#[must_use]
pub fn attachment(name: &str, ascii: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    // RFC 8187 attr-char (section 3.2.1), less the letters and digits that are never encoded.
    const ATTR: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", utf8_percent_encode(name, ATTR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_name_has_an_ascii_fallback_and_the_exact_name() {
        assert_eq!(
            content_disposition("deltagere-møde-16", "csv"),
            "attachment; filename=\"deltagere-moede-16.csv\"; filename*=UTF-8''deltagere-m%C3%B8de-16.csv"
        );
        assert_eq!(
            content_disposition("a \"b\"\\c", "xlsx"),
            "attachment; filename=\"a__b__c.xlsx\"; filename*=UTF-8''a%20%22b%22%5Cc.xlsx"
        );
    }

    #[test]
    fn every_table_has_unique_keys() {
        for t in [&PARTICIPANTS, &SUBSCRIBERS, &ORGANISATIONS, &EVALUATION, &YEAR] {
            let mut keys: Vec<_> = t.columns.iter().map(|c| c.key).collect();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), t.columns.len());
        }
    }
}
