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

/// `t` moved by `d`, held at the ends of the representable range instead of
/// panicking: stored times come from people, and background work must never
/// stop on one of them.
#[must_use]
pub fn shifted(t: Timestamp, d: jiff::SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(if d.is_negative() { Timestamp::MIN } else { Timestamp::MAX })
}

/// How long personal links about a meeting stay valid: thirty days after it ends.
#[must_use]
pub fn link_expiry(ends_at: Timestamp) -> Timestamp {
    shifted(ends_at, jiff::SignedDuration::from_hours(24 * 30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifting_past_the_end_of_time_holds_at_the_end_instead_of_panicking() {
        let late: Timestamp = "9999-12-20T00:00:00Z".parse().unwrap();
        assert_eq!(link_expiry(late), Timestamp::MAX);
        assert_eq!(shifted(Timestamp::MIN, jiff::SignedDuration::from_hours(-1)), Timestamp::MIN);
        let normal: Timestamp = "2026-12-03T10:00:00Z".parse().unwrap();
        assert_eq!(link_expiry(normal), "2027-01-02T10:00:00Z".parse().unwrap());
    }
}
