//! Moving data in and out: CSV import of the mailing list, CSV and XLSX exports.

pub mod export;
pub mod import;
