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

/// The first and the last year in which a meeting may take place (in
/// Copenhagen time). Anything outside is a typing mistake, and the far end of
/// the calendar is where date arithmetic in background work runs out of range.
pub const MEETING_YEARS: (i16, i16) = (2000, 2100);

/// Whether a meeting may take place at `t`: within [`MEETING_YEARS`]. The
/// organiser pages and the API both check every meeting time with this.
#[must_use]
pub fn is_meeting_time(t: Timestamp) -> bool {
    let year = t.to_zoned_datetime(copenhagen()).year();
    (MEETING_YEARS.0..=MEETING_YEARS.1).contains(&year)
}

/// How long personal links about a meeting stay valid: thirty days after it ends.
#[must_use]
pub fn link_expiry(ends_at: Timestamp) -> Timestamp {
    shifted(ends_at, jiff::SignedDuration::from_hours(24 * 30))
}

/// How many whole weeks a copy of a meeting that started at `starts_at` is
/// moved so that it starts after `now`: at least one, so a copy never lands
/// on the day of the meeting it was made from.
#[must_use]
pub fn weeks_to_next(starts_at: Timestamp, now: Timestamp) -> i64 {
    let week = 7 * 24 * 3600;
    let behind = now.as_second() - starts_at.as_second();
    if behind < 0 { 1 } else { behind / week + 1 }
}

/// `t` moved `weeks` weeks on in Copenhagen time, so the clock time stays the
/// same across a change to or from summer time; held as it is if that would
/// leave the calendar.
#[must_use]
pub fn weeks_on(t: Timestamp, weeks: i64) -> Timestamp {
    t.to_zoned_datetime(copenhagen()).checked_add(jiff::Span::new().weeks(weeks)).map_or(t, |z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_moves_whole_weeks_past_now_keeping_the_clock_time() {
        let at = |s: &str| -> Timestamp { s.parse().unwrap() };
        let start = at("2026-10-20T09:00:00+02:00");
        assert_eq!(weeks_to_next(start, at("2026-10-01T00:00:00Z")), 1, "a future meeting moves one week");
        let weeks = weeks_to_next(start, at("2026-11-04T12:00:00Z"));
        assert_eq!(weeks, 3);
        let moved = weeks_on(start, weeks);
        assert_eq!(moved, at("2026-11-10T09:00:00+01:00"), "09.00 in winter time as in summer time");
        assert!(moved > at("2026-11-04T12:00:00Z"));
    }

    #[test]
    fn shifting_past_the_end_of_time_holds_at_the_end_instead_of_panicking() {
        let late: Timestamp = "9999-12-20T00:00:00Z".parse().unwrap();
        assert_eq!(link_expiry(late), Timestamp::MAX);
        assert_eq!(shifted(Timestamp::MIN, jiff::SignedDuration::from_hours(-1)), Timestamp::MIN);
        let normal: Timestamp = "2026-12-03T10:00:00Z".parse().unwrap();
        assert_eq!(link_expiry(normal), "2027-01-02T10:00:00Z".parse().unwrap());
    }

    #[test]
    fn meeting_times_lie_in_the_years_2000_to_2100_in_copenhagen() {
        let at = |s: &str| is_meeting_time(s.parse().unwrap());
        assert!(at("2000-01-01T00:30:00+01:00"), "still 1999 in UTC, but 2000 in Copenhagen");
        assert!(at("2100-12-31T23:59:00+01:00"));
        assert!(at("2026-12-03T10:00:00Z"));
        assert!(!at("1999-12-31T23:30:00+01:00"));
        assert!(!at("2101-01-01T00:00:00+01:00"));
        assert!(!at("9999-12-28T00:00:00Z"));
    }
}
