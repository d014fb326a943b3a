//! A period of whole days in the forum's calendar, as the annual picture is
//! asked for: from one date up to and including another, from ≤ to.

use jiff::civil::{Date, Time};

use super::time::{MEETING_YEARS, Timestamp, copenhagen};

/// What is wrong with a period as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// `from` is not a date (`YYYY-MM-DD`) within the years meetings may have.
    #[error("write the start date as YYYY-MM-DD")]
    BadFrom,
    /// `to` is not a date (`YYYY-MM-DD`) within the years meetings may have.
    #[error("write the end date as YYYY-MM-DD")]
    BadTo,
    /// The end comes before the start.
    #[error("the end date must not come before the start date")]
    Reversed,
}

impl PeriodError {
    /// The form field the error belongs to.
    #[must_use]
    pub const fn field(self) -> &'static str {
        match self {
            Self::BadFrom => "from",
            Self::BadTo | Self::Reversed => "to",
        }
    }
}

/// Whole days from [`Period::from`] up to and including [`Period::to`], in
/// Copenhagen. Built only by parsing, so `from ≤ to` always holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    from: Date,
    to: Date,
}

impl Period {
    /// The calendar year of `today`.
    #[must_use]
    pub fn year_of(today: Date) -> Self {
        Self { from: today.first_of_year(), to: today.last_of_year() }
    }

    /// Reads the dates of a form or query; a date left out (or blank) is the
    /// start or the end of the calendar year of `today`.
    ///
    /// # Errors
    /// A date that is not `YYYY-MM-DD` within [`MEETING_YEARS`], or an end before the start.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: Date) -> Result<Self, PeriodError> {
        let year = Self::year_of(today);
        let date = |raw: Option<&str>, default: Date, bad: PeriodError| match raw.map(str::trim) {
            None | Some("") => Ok(default),
            Some(s) => {
                s.parse::<Date>().ok().filter(|d| (MEETING_YEARS.0..=MEETING_YEARS.1).contains(&d.year())).ok_or(bad)
            }
        };
        let from = date(from, year.from, PeriodError::BadFrom)?;
        let to = date(to, year.to, PeriodError::BadTo)?;
        if to < from {
            return Err(PeriodError::Reversed);
        }
        Ok(Self { from, to })
    }

    /// The first day.
    #[must_use]
    pub const fn from(self) -> Date {
        self.from
    }

    /// The last day.
    #[must_use]
    pub const fn to(self) -> Date {
        self.to
    }

    /// Midnight at the start of the first day, in Copenhagen.
    #[must_use]
    pub fn start(self) -> Timestamp {
        midnight(self.from)
    }

    /// Midnight after the last day, in Copenhagen: the first instant outside.
    #[must_use]
    pub fn end(self) -> Timestamp {
        self.to.tomorrow().map_or(Timestamp::MAX, midnight)
    }

    /// Whether `t` falls within the period.
    #[must_use]
    pub fn contains(self, t: Timestamp) -> bool {
        self.start() <= t && t < self.end()
    }
}

fn midnight(d: Date) -> Timestamp {
    d.to_datetime(Time::midnight()).to_zoned_datetime(copenhagen()).map_or(Timestamp::MAX, |z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        "2026-12-07".parse().unwrap()
    }

    #[test]
    fn no_dates_mean_the_calendar_year_and_its_instants_are_copenhagen_midnights() {
        let p = Period::parse(None, Some(" "), today()).unwrap();
        assert_eq!((p.from().to_string(), p.to().to_string()), ("2026-01-01".into(), "2026-12-31".into()));
        assert_eq!(p.start().to_string(), "2025-12-31T23:00:00Z");
        assert_eq!(p.end().to_string(), "2026-12-31T23:00:00Z");
        assert!(p.contains("2026-06-30T22:30:00Z".parse().unwrap()));
        assert!(!p.contains(p.end()));
    }

    #[test]
    fn a_single_day_is_a_period_and_a_reversed_or_malformed_one_is_refused() {
        let one = Period::parse(Some("2026-03-29"), Some("2026-03-29"), today()).unwrap();
        // The day the clocks go forward has 23 hours.
        assert_eq!(one.end().duration_since(one.start()).as_hours(), 23);
        assert_eq!(Period::parse(Some("2026-05-02"), Some("2026-05-01"), today()), Err(PeriodError::Reversed));
        assert_eq!(Period::parse(Some("2026-13-01"), None, today()), Err(PeriodError::BadFrom));
        assert_eq!(Period::parse(None, Some("31.12.2026"), today()), Err(PeriodError::BadTo));
        assert_eq!(Period::parse(Some("1900-01-01"), None, today()).unwrap_err().field(), "from");
        assert_eq!(PeriodError::Reversed.field(), "to");
    }
}
