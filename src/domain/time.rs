//! Instants and the forum's time zone.
//!
//! Instants are stored in UTC as microseconds since the Unix epoch in a
//! 64-bit integer on both engines: comparisons are exact and identical on
//! SQLite and PostgreSQL, and no engine rounds differently from the other.

use jiff::tz::TimeZone;

/// An instant, in microseconds precision.
pub type Timestamp = jiff::Timestamp;

/// Europe/Copenhagen, from the zone database compiled into the binary.
///
/// # Panics
/// Never: the zone database is bundled (`tzdb-bundle-always`).
#[must_use]
pub fn copenhagen() -> TimeZone {
    TimeZone::get("Europe/Copenhagen").expect("the bundled zone database has Europe/Copenhagen")
}
