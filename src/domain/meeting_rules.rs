//! The rules a meeting's details must keep, written once for the organiser's
//! form and the API: times within the years a meeting may take place, an end
//! after the start, a deadline before the end, an `https://` joining link
//! (required once a virtual or hybrid meeting is past its draft), whole
//! positive capacities, track keys that are well-formed and unique, and fair
//! seats: an opening time before the start, and an application window only
//! for a lottery, which closes after the opening and before the start.
//!
//! The edges read their input (form text, JSON) into a [`MeetingShape`] and
//! report each [`Broken`] rule by the field it names; the words for each rule,
//! in both languages, live in `crate::i18n`.

use super::{Allocation, MeetingFormat, MeetingStatus, Seating, Timestamp, is_meeting_time};

/// The facts about a meeting that its rules look at.
#[derive(Debug, Clone)]
pub struct MeetingShape<'a> {
    pub status: MeetingStatus,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub registration_deadline: Option<Timestamp>,
    pub format: MeetingFormat,
    pub online_url: &'a str,
    pub number: Option<i32>,
    pub capacity: Option<i32>,
    pub per_organisation_limit: Option<i32>,
    /// Each track's key and capacity, in order.
    pub tracks: Vec<(&'a str, Option<i32>)>,
    pub seating: Seating,
}

/// A field a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingField {
    Number,
    StartsAt,
    EndsAt,
    RegistrationDeadline,
    OnlineUrl,
    Capacity,
    PerOrganisationLimit,
    /// The key of the track at this position.
    TrackKey(usize),
    /// The capacity of the track at this position.
    TrackCapacity(usize),
    RegistrationOpensAt,
    ApplicationsCloseAt,
}

impl MeetingField {
    /// The field's name in the API (`tracks[1].key`) and, for the fields the
    /// form has one input for, in the form.
    #[must_use]
    pub fn name(self) -> String {
        match self {
            Self::Number => "number".into(),
            Self::StartsAt => "starts_at".into(),
            Self::EndsAt => "ends_at".into(),
            Self::RegistrationDeadline => "registration_deadline".into(),
            Self::OnlineUrl => "online_url".into(),
            Self::Capacity => "capacity".into(),
            Self::PerOrganisationLimit => "per_organisation_limit".into(),
            Self::TrackKey(i) => format!("tracks[{i}].key"),
            Self::TrackCapacity(i) => format!("tracks[{i}].capacity"),
            Self::RegistrationOpensAt => "registration_opens_at".into(),
            Self::ApplicationsCloseAt => "applications_close_at".into(),
        }
    }
}

/// A rule a meeting's details break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// A time outside [`super::MEETING_YEARS`].
    OutsideYears,
    EndsBeforeStart,
    DeadlineAfterEnd,
    /// A joining link that is not one `https://` address.
    LinkNotHttps,
    /// A virtual or hybrid meeting past its draft without a joining link.
    LinkNeeded,
    /// A count (number, capacity, limit) below 1.
    NotPositive,
    /// A track key other than lowercase letters, digits and hyphens.
    TrackKey,
    /// A track key used twice.
    TrackTwice,
    /// Answers opening at or after the start.
    OpensAfterStart,
    /// An application window for a meeting that is not a lottery.
    CloseWithoutLottery,
    /// A lottery without the end of its application window.
    CloseNeeded,
    /// An application window closing at or before the opening.
    CloseBeforeOpening,
    /// An application window closing at or after the start.
    CloseAfterStart,
    /// A change to how seats are given after the lottery was drawn.
    AlreadyDrawn,
}

/// Whether `s` may be a track's key: lowercase ASCII letters, digits and hyphens.
#[must_use]
pub fn is_track_key(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The rule broken when a meeting whose lottery was drawn (`before`) is
/// given another way of handing out its seats (`after`): the draw stands.
#[must_use]
pub fn seating_change_after_draw(before: Seating, after: Seating) -> Option<(MeetingField, Broken)> {
    let same = before.allocation == after.allocation && before.applications_close_at == after.applications_close_at;
    (!same).then_some((MeetingField::ApplicationsCloseAt, Broken::AlreadyDrawn))
}

impl MeetingShape<'_> {
    /// Every rule the details break, by field, in the order of the form.
    #[must_use]
    pub fn broken(&self) -> Vec<(MeetingField, Broken)> {
        let mut out = Vec::new();
        let count = |out: &mut Vec<_>, field, n: Option<i32>| {
            if n.is_some_and(|n| n < 1) {
                out.push((field, Broken::NotPositive));
            }
        };
        count(&mut out, MeetingField::Number, self.number);
        for (field, t) in [(MeetingField::StartsAt, Some(self.starts_at)), (MeetingField::EndsAt, Some(self.ends_at))]
            .into_iter()
            .chain([(MeetingField::RegistrationDeadline, self.registration_deadline)])
        {
            if t.is_some_and(|t| !is_meeting_time(t)) {
                out.push((field, Broken::OutsideYears));
            }
        }
        if self.ends_at < self.starts_at {
            out.push((MeetingField::EndsAt, Broken::EndsBeforeStart));
        }
        if self.registration_deadline.is_some_and(|d| d > self.ends_at) {
            out.push((MeetingField::RegistrationDeadline, Broken::DeadlineAfterEnd));
        }
        let link = self.online_url.trim();
        if !link.is_empty() && (!link.starts_with("https://") || link.contains(char::is_whitespace)) {
            out.push((MeetingField::OnlineUrl, Broken::LinkNotHttps));
        }
        if link.is_empty() && self.format != MeetingFormat::Physical && self.status != MeetingStatus::Draft {
            out.push((MeetingField::OnlineUrl, Broken::LinkNeeded));
        }
        count(&mut out, MeetingField::Capacity, self.capacity);
        count(&mut out, MeetingField::PerOrganisationLimit, self.per_organisation_limit);
        for (i, (key, capacity)) in self.tracks.iter().enumerate() {
            if !is_track_key(key) {
                out.push((MeetingField::TrackKey(i), Broken::TrackKey));
            } else if self.tracks[..i].iter().any(|(k, _)| k == key) {
                out.push((MeetingField::TrackKey(i), Broken::TrackTwice));
            }
            count(&mut out, MeetingField::TrackCapacity(i), *capacity);
        }
        self.seating_broken(&mut out);
        out
    }

    /// The rules of fair seats (see the module's description).
    fn seating_broken(&self, out: &mut Vec<(MeetingField, Broken)>) {
        let Seating { registration_opens_at: opens, allocation, applications_close_at: close } = self.seating;
        if opens.is_some_and(|t| !is_meeting_time(t)) {
            out.push((MeetingField::RegistrationOpensAt, Broken::OutsideYears));
        } else if opens.is_some_and(|t| t >= self.starts_at) {
            out.push((MeetingField::RegistrationOpensAt, Broken::OpensAfterStart));
        }
        match (allocation, close) {
            (Allocation::FirstCome, Some(_)) => {
                out.push((MeetingField::ApplicationsCloseAt, Broken::CloseWithoutLottery));
            }
            (Allocation::Lottery, None) => out.push((MeetingField::ApplicationsCloseAt, Broken::CloseNeeded)),
            (Allocation::Lottery, Some(c)) if !is_meeting_time(c) => {
                out.push((MeetingField::ApplicationsCloseAt, Broken::OutsideYears));
            }
            (Allocation::Lottery, Some(c)) if opens.is_some_and(|o| c <= o) => {
                out.push((MeetingField::ApplicationsCloseAt, Broken::CloseBeforeOpening));
            }
            (Allocation::Lottery, Some(c)) if c >= self.starts_at => {
                out.push((MeetingField::ApplicationsCloseAt, Broken::CloseAfterStart));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::{Broken, MeetingField, MeetingShape};
    use crate::domain::{MeetingFormat, MeetingStatus, Timestamp};

    fn shape(starts_at: Timestamp) -> MeetingShape<'static> {
        MeetingShape {
            status: MeetingStatus::Draft,
            starts_at,
            ends_at: starts_at + SignedDuration::from_hours(5),
            registration_deadline: None,
            format: MeetingFormat::Physical,
            online_url: "",
            number: Some(17),
            capacity: Some(60),
            per_organisation_limit: None,
            tracks: Vec::new(),
            seating: crate::domain::Seating::default(),
        }
    }

    #[test]
    fn a_sound_meeting_breaks_no_rule() {
        let start: Timestamp = "2027-05-07T07:30:00Z".parse().unwrap();
        assert!(shape(start).broken().is_empty());
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let start: Timestamp = "2027-05-07T07:30:00Z".parse().unwrap();
        let mut m = shape(start);
        m.ends_at = start - SignedDuration::from_hours(1);
        m.registration_deadline = Some(start + SignedDuration::from_hours(1));
        m.online_url = "http://meet.example/x";
        m.capacity = Some(0);
        m.tracks = vec![("AI", None), ("ok", Some(0)), ("ok", None)];
        assert_eq!(
            m.broken(),
            [
                (MeetingField::EndsAt, Broken::EndsBeforeStart),
                (MeetingField::RegistrationDeadline, Broken::DeadlineAfterEnd),
                (MeetingField::OnlineUrl, Broken::LinkNotHttps),
                (MeetingField::Capacity, Broken::NotPositive),
                (MeetingField::TrackKey(0), Broken::TrackKey),
                (MeetingField::TrackCapacity(1), Broken::NotPositive),
                (MeetingField::TrackKey(2), Broken::TrackTwice),
            ]
        );
        assert_eq!(MeetingField::TrackKey(2).name(), "tracks[2].key");
    }

    #[test]
    fn a_virtual_meeting_needs_its_link_once_it_is_past_its_draft() {
        let start: Timestamp = "2027-05-07T07:30:00Z".parse().unwrap();
        let mut m = shape(start);
        m.format = MeetingFormat::Virtual;
        assert!(m.broken().is_empty(), "a draft may wait for its link");
        m.status = MeetingStatus::Published;
        assert_eq!(m.broken(), [(MeetingField::OnlineUrl, Broken::LinkNeeded)]);
        m.online_url = "https://meet.example/df";
        assert!(m.broken().is_empty());
    }

    #[test]
    fn an_opening_comes_before_the_start_and_only_a_lottery_has_an_application_window() {
        use crate::domain::{Allocation, Seating};
        let start: Timestamp = "2027-05-07T07:30:00Z".parse().unwrap();
        let day = SignedDuration::from_hours(24);
        let mut m = shape(start);
        m.seating = Seating { registration_opens_at: Some(start), ..Seating::default() };
        assert_eq!(m.broken(), [(MeetingField::RegistrationOpensAt, Broken::OpensAfterStart)]);
        m.seating.registration_opens_at = Some(start - day * 10);
        m.seating.applications_close_at = Some(start - day);
        assert_eq!(m.broken(), [(MeetingField::ApplicationsCloseAt, Broken::CloseWithoutLottery)]);
        m.seating.allocation = Allocation::Lottery;
        assert!(m.broken().is_empty());
        m.seating.applications_close_at = Some(start - day * 11);
        assert_eq!(m.broken(), [(MeetingField::ApplicationsCloseAt, Broken::CloseBeforeOpening)]);
        m.seating.applications_close_at = Some(start);
        assert_eq!(m.broken(), [(MeetingField::ApplicationsCloseAt, Broken::CloseAfterStart)]);
        m.seating.applications_close_at = None;
        assert_eq!(m.broken(), [(MeetingField::ApplicationsCloseAt, Broken::CloseNeeded)]);
    }

    #[test]
    fn a_drawn_lottery_keeps_its_way_of_giving_seats() {
        use crate::domain::{Allocation, Seating};
        let close: Timestamp = "2027-05-01T10:00:00Z".parse().unwrap();
        let drawn =
            Seating { allocation: Allocation::Lottery, applications_close_at: Some(close), ..Seating::default() };
        assert_eq!(super::seating_change_after_draw(drawn, drawn), None);
        let opened_later = Seating { registration_opens_at: Some(close), ..drawn };
        assert_eq!(super::seating_change_after_draw(drawn, opened_later), None, "the opening time is not the draw's");
        assert_eq!(
            super::seating_change_after_draw(drawn, Seating::default()),
            Some((MeetingField::ApplicationsCloseAt, Broken::AlreadyDrawn))
        );
    }

    #[test]
    fn times_outside_the_years_of_meetings_are_refused() {
        let start: Timestamp = "1999-12-31T07:30:00Z".parse().unwrap();
        assert!(shape(start).broken().contains(&(MeetingField::StartsAt, Broken::OutsideYears)));
    }
}
