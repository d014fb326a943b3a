//! A meeting's dossier as one ZIP file: `index.html` lists what happened in
//! date order, each entry with its files, and every file sits beside it,
//! named after its entry's place in the list (`03-invitation-da.txt`).
//! Deflated with the same zip library the XLSX writer uses.

use std::io::{Cursor, Write};

use askama::Template;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use crate::domain::{Timestamp, copenhagen};
use crate::i18n::{Lang, texts};

/// A file of an entry.
#[derive(Debug, Clone)]
pub struct DossierFile {
    /// The name without the entry's number; no folders.
    pub name: String,
    pub bytes: Vec<u8>,
}

/// One thing that happened, with the files that show it.
#[derive(Debug, Clone)]
pub struct DossierEntry {
    pub at: Timestamp,
    pub title: String,
    pub detail: String,
    pub files: Vec<DossierFile>,
}

/// A meeting's record, ready to write.
#[derive(Debug, Clone)]
pub struct Dossier {
    /// "16. møde: Title", as the index's heading names the meeting.
    pub meeting: String,
    /// The download's name without `.zip`: `akter-møde-16`, `dossier-meeting-16`.
    pub file_stem: String,
    pub made_at: Timestamp,
    /// In date order.
    pub entries: Vec<DossierEntry>,
}

texts! {
    /// The words of a dossier's index.
    pub struct IndexTexts {
        title => "Mødets akter", "The meeting's dossier";
        made => "Udtrukket", "Made";
        about => "Mødets forløb i datoorden til brug ved aktindsigt. Personoplysninger indgår kun som antal og som \
                  navne på organisationer, der har sagt ja til at blive nævnt; ingen personers navne eller adresser.",
            "What happened about the meeting, in date order, for a request for access to documents. Personal data \
                  appears only as counts and as the names of organisations that agreed to be named; no person's \
                  name or address.";
        caption => "Hændelser i datoorden", "What happened, in date order";
        number => "Nr.", "No.";
        when => "Tidspunkt", "When";
        what => "Hændelse", "What";
        detail => "Detaljer", "Details";
        files => "Filer", "Files";
    }
}

/// An entry as the index shows it.
struct Row {
    number: String,
    when: String,
    title: String,
    detail: String,
    files: Vec<String>,
}

#[derive(Template)]
#[template(path = "dossier_index.html")]
struct Index<'a> {
    lang: &'static str,
    x: &'static IndexTexts,
    meeting: &'a str,
    made: String,
    rows: Vec<Row>,
}

fn local(t: Timestamp) -> String {
    t.to_zoned_datetime(copenhagen()).strftime("%Y-%m-%d %H:%M").to_string()
}

/// A name safe inside the archive: no folders, no control characters.
fn safe(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_control() || matches!(c, '/' | '\\' | ':') { '_' } else { c }).collect();
    let trimmed = cleaned.trim_start_matches('.').trim();
    if trimmed.is_empty() { "file".to_owned() } else { trimmed.to_owned() }
}

/// The dossier as a ZIP file, its index in `lang`.
///
/// # Errors
/// The index could not be rendered or the archive written.
pub fn zip(d: &Dossier, lang: Lang) -> anyhow::Result<Vec<u8>> {
    let mut rows = Vec::with_capacity(d.entries.len());
    let mut files: Vec<(String, &[u8])> = Vec::new();
    for (i, e) in d.entries.iter().enumerate() {
        let number = format!("{:02}", i + 1);
        let names: Vec<String> = e.files.iter().map(|f| format!("{number}-{}", safe(&f.name))).collect();
        files.extend(names.iter().cloned().zip(e.files.iter().map(|f| f.bytes.as_slice())));
        rows.push(Row { number, when: local(e.at), title: e.title.clone(), detail: e.detail.clone(), files: names });
    }
    let index =
        Index { lang: lang.code(), x: IndexTexts::get(lang), meeting: &d.meeting, made: local(d.made_at), rows }
            .render()?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    out.start_file("index.html", options)?;
    out.write_all(index.as_bytes())?;
    for (name, bytes) in files {
        out.start_file(name, options)?;
        out.write_all(bytes)?;
    }
    Ok(out.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_archive() {
        assert_eq!(safe("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe("Oplæg: Grøn it.pdf"), "Oplæg_ Grøn it.pdf");
        assert_eq!(safe(".."), "file");
    }
}
