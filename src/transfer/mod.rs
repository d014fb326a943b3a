//! Moving data in and out: CSV import of the mailing list.

pub mod import;
