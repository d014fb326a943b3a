//! The CSV writer of the exports: UTF-8 with a byte-order mark, CRLF, RFC 4180
//! quoting, formula-like text neutralised.

use std::borrow::Cow;
use std::io::Write;

use super::{Cell, Separator, Table};
use crate::domain::copenhagen;
use crate::i18n::Lang;

/// The byte-order mark that tells Excel the file is UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Writes rows of one [`Table`] as CSV.
pub struct CsvSink<W: Write> {
    out: csv::Writer<W>,
    decimal_comma: bool,
    line: csv::ByteRecord,
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
        Ok(Self { out, decimal_comma: sep == Separator::Semicolon, line: csv::ByteRecord::new() })
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
                Cell::Int(n) => self.line.push_field(n.to_string().as_bytes()),
                Cell::Decimal(x) => {
                    // Four decimals are plenty for shares and averages.
                    let text = format!("{x:.4}");
                    let text = text.trim_end_matches('0').trim_end_matches('.');
                    let text = if self.decimal_comma { text.replace('.', ",") } else { text.to_owned() };
                    self.line.push_field(text.as_bytes());
                }
                Cell::Time(t) => {
                    let local = t.to_zoned_datetime(copenhagen());
                    self.line.push_field(local.strftime("%Y-%m-%d %H:%M").to_string().as_bytes());
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
    fn formula_like_text_gets_an_apostrophe_and_other_text_stays() {
        for s in ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(s), format!("'{s}"));
        }
        for s in ["Firma A/S", "", "1+1", "a=b", "Ærø"] {
            assert_eq!(neutralise(s), s);
        }
    }
}
