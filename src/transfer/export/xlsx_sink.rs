//! The XLSX writer of the exports: a constant-memory worksheet with typed
//! cells, a bold frozen header row, an auto-filter and set column widths.

use std::io::Write;

use jiff::tz::TimeZone;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use super::{Cell, Kind, Table};
use crate::domain::{Timestamp, copenhagen};
use crate::i18n::Lang;

/// The most characters Excel keeps in one cell.
const MAX_CELL_CHARS: usize = 32_767;

/// Writes rows of one [`Table`] as a workbook with one sheet.
pub struct XlsxSink {
    book: Workbook,
    next_row: u32,
    columns: u16,
    time: Format,
    percent: Format,
    kinds: Vec<Kind>,
    /// Copenhagen, looked up once rather than for every time cell.
    zone: TimeZone,
}

/// The deflate level of the zip container. rust_xlsxwriter's performance
/// notes measure level 2 at 0.57 of the default level 6's save time for a
/// file 1.11 times the size; most of a large export's save is compressing
/// the sheet.
const ZIP_LEVEL: u8 = 2;

impl XlsxSink {
    /// Starts the workbook: the sheet named `sheet` (made fit for Excel with
    /// [`sheet_name`]), column widths and date formats, the header row.
    ///
    /// # Errors
    /// The worksheet's temporary file could not be made.
    pub fn new(table: &Table, lang: Lang, sheet: &str) -> Result<Self, XlsxError> {
        let mut book = Workbook::new();
        book.set_zip_compression_level(ZIP_LEVEL);
        let bold = Format::new().set_bold();
        let time = Format::new().set_num_format("yyyy-mm-dd hh:mm");
        let percent = Format::new().set_num_format("0.0%");
        let columns = u16::try_from(table.columns.len()).unwrap_or(u16::MAX);
        let ws = book.add_worksheet_with_constant_memory()?;
        ws.set_name(sheet_name(sheet))?;
        for (i, c) in (0u16..).zip(table.columns) {
            ws.set_column_width(i, c.width)?;
            if c.kind == Kind::Time {
                ws.set_column_format(i, &time)?;
            }
        }
        for (i, c) in (0u16..).zip(table.columns) {
            ws.write_string_with_format(0, i, c.header(lang), &bold)?;
        }
        ws.set_freeze_panes(1, 0)?;
        let kinds = table.columns.iter().map(|c| c.kind).collect();
        Ok(Self { book, next_row: 1, columns, time, percent, kinds, zone: copenhagen() })
    }

    /// Writes one row.
    ///
    /// # Errors
    /// The sheet is full (Excel's limit is 1,048,576 rows) or the temporary file failed.
    pub fn row(&mut self, cells: &[Cell]) -> Result<(), XlsxError> {
        let row = self.next_row;
        let ws = self.book.worksheet_from_index(0)?;
        for (col, cell) in (0u16..).zip(cells) {
            match cell {
                // Always a string cell: Excel never evaluates one, whatever it begins with.
                Cell::Text(s) if s.is_empty() => {}
                // Counting characters only when the bytes alone could be too many.
                Cell::Text(s) if s.len() > MAX_CELL_CHARS && s.chars().count() > MAX_CELL_CHARS => {
                    ws.write_string(row, col, s.chars().take(MAX_CELL_CHARS).collect::<String>())?;
                }
                Cell::Text(s) => {
                    ws.write_string(row, col, s)?;
                }
                #[allow(clippy::cast_precision_loss)] // counts are far below 2^53
                Cell::Int(n) => {
                    ws.write_number(row, col, *n as f64)?;
                }
                Cell::Decimal(x) if self.kinds.get(usize::from(col)) == Some(&Kind::Share) => {
                    ws.write_number_with_format(row, col, *x, &self.percent)?;
                }
                Cell::Decimal(x) => {
                    ws.write_number(row, col, *x)?;
                }
                Cell::Time(t) => {
                    ws.write_datetime_with_format(row, col, excel_time(*t, &self.zone)?, &self.time)?;
                }
                Cell::Empty => {}
            }
        }
        self.next_row += 1;
        Ok(())
    }

    /// Adds the auto-filter over what was written and writes the file to `out`.
    ///
    /// # Errors
    /// Writing failed.
    pub fn finish(mut self, out: &mut (impl Write + Send)) -> Result<(), XlsxError> {
        let last_row = self.next_row.saturating_sub(1);
        let ws = self.book.worksheet_from_index(0)?;
        ws.autofilter(0, 0, last_row, self.columns.saturating_sub(1))?;
        self.book.save_to_writer(out)
    }
}

/// An instant as Excel's date and time, in Copenhagen time (Excel knows no zones).
fn excel_time(t: Timestamp, zone: &TimeZone) -> Result<ExcelDateTime, XlsxError> {
    let z = zone.to_datetime(t);
    let n = |v: i8| u8::try_from(v).unwrap_or(0);
    ExcelDateTime::from_ymd(u16::try_from(z.year()).unwrap_or(1900), n(z.month()), n(z.day()))?.and_hms(
        u16::from(n(z.hour())),
        n(z.minute()),
        n(z.second()),
    )
}

/// A name Excel accepts for a sheet: none of `[ ] : * ? / \`, no `'` at
/// either end, at most 31 characters, not empty and not "History".
#[must_use]
pub fn sheet_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') || c.is_control() { ' ' } else { c })
        .collect();
    let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = collapsed.trim_matches(|c: char| c == '\'' || c.is_whitespace()).chars().take(31).collect();
    out = out.trim_end_matches(|c: char| c == '\'' || c.is_whitespace()).to_owned();
    if out.is_empty() || out.eq_ignore_ascii_case("history") {
        out = if out.is_empty() { "1".to_owned() } else { format!("{out} 1") };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sheet_name;

    #[test]
    fn sheet_names_follow_excels_rules() {
        assert_eq!(sheet_name("16. møde: Sikkerhed [og] data/AI?"), "16. møde Sikkerhed og data AI");
        assert_eq!(sheet_name("'quoted'"), "quoted");
        assert_eq!(sheet_name("History"), "History 1");
        assert_eq!(sheet_name("***"), "1");
        assert_eq!(sheet_name("Det 17. dialogforum om kunstig intelligens"), "Det 17. dialogforum om kunstig");
        assert_eq!(sheet_name("ABCDEFGHIJKLMNOPQRSTUVWXYZæøåÆØÅ"), "ABCDEFGHIJKLMNOPQRSTUVWXYZæøåÆØ", "31 characters");
    }
}
