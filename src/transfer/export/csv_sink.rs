//! The CSV writer of the exports: UTF-8 with a byte-order mark, CRLF, RFC 4180
//! quoting, formula-like text neutralised.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

use jiff::tz::TimeZone;

use super::{Cell, Separator, Table};
use crate::domain::{Timestamp, copenhagen};
use crate::i18n::Lang;

/// The byte-order mark that tells Excel the file is UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Writes rows of one [`Table`] as CSV.
pub struct CsvSink<W: Write> {
    out: csv::Writer<W>,
    decimal_comma: bool,
    line: csv::ByteRecord,
    /// Copenhagen, looked up once rather than for every time cell.
    zone: TimeZone,
    /// Room for one number or time, reused from cell to cell.
    scratch: String,
}

impl<W: Write> CsvSink<W> {
    /// Writes the byte-order mark and the header row.
    ///
    /// # Errors
    /// Writing failed.
    pub fn new(mut inner: W, sep: Separator, table: &Table, lang: Lang) -> csv::Result<Self> {
        inner.write_all(BOM)?;
        let mut out = csv::WriterBuilder::new()
            .delimiter(sep.byte())
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(inner);
        out.write_record(table.columns.iter().map(|c| c.header(lang)))?;
        Ok(Self {
            out,
            decimal_comma: sep == Separator::Semicolon,
            line: csv::ByteRecord::new(),
            zone: copenhagen(),
            scratch: String::with_capacity(32),
        })
    }

    /// Writes one row.
    ///
    /// # Errors
    /// Writing failed.
    pub fn row(&mut self, cells: &[Cell]) -> csv::Result<()> {
        self.line.clear();
        for cell in cells {
            match cell {
                Cell::Text(s) => self.line.push_field(neutralise(s).as_bytes()),
                Cell::Int(n) => {
                    self.scratch.clear();
                    let _ = write!(self.scratch, "{n}");
                    self.line.push_field(self.scratch.as_bytes());
                }
                Cell::Decimal(x) => {
                    // Four decimals are plenty for shares and averages.
                    let text = format!("{x:.4}");
                    let text = text.trim_end_matches('0').trim_end_matches('.');
                    let text = if self.decimal_comma { text.replace('.', ",") } else { text.to_owned() };
                    self.line.push_field(text.as_bytes());
                }
                Cell::Time(t) => {
                    self.scratch.clear();
                    minutes(&mut self.scratch, *t, &self.zone);
                    self.line.push_field(self.scratch.as_bytes());
                }
                Cell::Empty => self.line.push_field(b""),
            }
        }
        self.out.write_byte_record(&self.line)
    }

    /// Flushes everything written and returns the inner writer.
    ///
    /// # Errors
    /// Writing failed.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        self.out.into_inner().map_err(|e| std::io::Error::other(e.to_string()))
    }
}

/// Appends `t` as `YYYY-MM-DD HH:MM` in `zone`: what `strftime("%Y-%m-%d
/// %H:%M")` gives, without parsing the pattern for every cell.
fn minutes(out: &mut String, t: Timestamp, zone: &TimeZone) {
    let d = zone.to_datetime(t);
    let _ = write!(out, "{:04}-{:02}-{:02} {:02}:{:02}", d.year(), d.month(), d.day(), d.hour(), d.minute());
}

/// Text that a spreadsheet would take for a formula (it begins with `=`,
/// `+`, `-`, `@`, a tab or a carriage return) with a `'` in front, so it
/// shows as the text it is; other text as it is.
#[must_use]
pub fn neutralise(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { Cow::Owned(format!("'{s}")) } else { Cow::Borrowed(s) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_minutes_in_copenhagen_as_strftime_writes_them() {
        let zone = copenhagen();
        for t in ["2026-01-15T08:05:59Z", "2026-07-01T22:30:00Z", "2026-10-25T00:59:00Z", "0999-03-04T05:06:07Z"] {
            let t: Timestamp = t.parse().unwrap();
            let mut out = String::new();
            minutes(&mut out, t, &zone);
            assert_eq!(out, t.to_zoned_datetime(zone.clone()).strftime("%Y-%m-%d %H:%M").to_string());
        }
    }

    #[test]
    fn formula_like_text_gets_an_apostrophe_and_other_text_stays() {
        for s in ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(s), format!("'{s}"));
        }
        for s in ["Firma A/S", "", "1+1", "a=b", "Ærø"] {
            assert_eq!(neutralise(s), s);
        }
    }
}
