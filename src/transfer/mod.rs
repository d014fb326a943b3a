//! Moving data in and out: CSV import of the mailing list, CSV and XLSX
//! exports, and a meeting's dossier as a ZIP file.

pub mod dossier;
pub mod export;
pub mod import;
