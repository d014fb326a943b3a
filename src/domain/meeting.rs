//! Meetings: their format, where they are in their life, and registrations.

use super::Timestamp;

macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $s:literal),* $(,)? } $msg:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The stored and transmitted name.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $s),* }
            }

            /// Parses a stored or transmitted name.
            ///
            /// # Errors
            /// An unknown name.
            pub fn parse(s: &str) -> Result<Self, super::ParseError> {
                match s { $($s => Ok(Self::$variant),)* _ => Err(super::ParseError::Unknown($msg)) }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use str_enum;

str_enum!(
    /// Where a meeting takes place.
    MeetingFormat { Physical = "physical", Virtual = "virtual", Hybrid = "hybrid" }
    "format must be physical, virtual or hybrid"
);

str_enum!(
    /// A meeting's place in its life: draft → published → open → closed → held
    /// → evaluated → archived, or cancelled.
    MeetingStatus {
        Draft = "draft",
        Published = "published",
        Open = "open",
        Closed = "closed",
        Held = "held",
        Evaluated = "evaluated",
        Archived = "archived",
        Cancelled = "cancelled",
    }
    "status must be draft, published, open, closed, held, evaluated, archived or cancelled"
);

str_enum!(
    /// A person's answer to an invitation.
    RegistrationStatus {
        Invited = "invited",
        Attending = "attending",
        Declined = "declined",
        Waitlisted = "waitlisted",
        Cancelled = "cancelled",
    }
    "status must be invited, attending, declined, waitlisted or cancelled"
);

impl MeetingStatus {
    /// Whether the public may see the meeting.
    #[must_use]
    pub const fn is_public(self) -> bool {
        !matches!(self, Self::Draft)
    }

    /// Whether invitations go out and answers are taken: published or open.
    #[must_use]
    pub const fn accepts_answers(self) -> bool {
        matches!(self, Self::Published | Self::Open)
    }

    /// Whether people are on the meeting whose seats and calendars follow its
    /// changes: invited and answering, or with answers closed.
    #[must_use]
    pub const fn has_people(self) -> bool {
        matches!(self, Self::Published | Self::Open | Self::Closed)
    }

    /// The statuses from which a meeting may move to `to`: draft → published →
    /// (open →) closed → held → (evaluated →) archived, and cancelled from any
    /// status before the meeting is held. Nothing leads back to a draft.
    #[must_use]
    pub const fn allowed_from(to: Self) -> &'static [Self] {
        use MeetingStatus::{Archived, Cancelled, Closed, Draft, Evaluated, Held, Open, Published};
        match to {
            Draft => &[],
            Published => &[Draft],
            Open => &[Published, Closed],
            Closed => &[Published, Open],
            Held => &[Published, Open, Closed],
            Evaluated => &[Held],
            Archived => &[Held, Evaluated],
            Cancelled => &[Draft, Published, Open, Closed],
        }
    }

    /// Whether a meeting in this status may move to `to`.
    #[must_use]
    pub fn may_become(self, to: Self) -> bool {
        Self::allowed_from(to).contains(&self)
    }

    /// Whether a meeting in this status that starts at `starts_at` may move
    /// to `to` at `now`: where [`Self::may_become`] allows, and to held only
    /// once the meeting has begun.
    ///
    /// # Errors
    /// [`MoveRefused::NotAllowed`] or [`MoveRefused::NotStarted`].
    pub fn may_move(self, to: Self, starts_at: Timestamp, now: Timestamp) -> Result<(), MoveRefused> {
        if !self.may_become(to) {
            return Err(MoveRefused::NotAllowed);
        }
        if to == Self::Held && now < starts_at {
            return Err(MoveRefused::NotStarted);
        }
        Ok(())
    }

    /// Where a meeting marked held, or closed for answers, by mistake goes
    /// back to: a held one to where it stood before it was held — open while
    /// answers are still due (`answers_due`: its deadline, or else its start,
    /// has not passed), closed after; a closed one to open. `None` for every
    /// other status: a cancellation has been mailed, and an evaluated or
    /// archived meeting has moved on.
    #[must_use]
    pub const fn reopened(self, answers_due: bool) -> Option<Self> {
        match self {
            Self::Held if answers_due => Some(Self::Open),
            Self::Held => Some(Self::Closed),
            Self::Closed => Some(Self::Open),
            _ => None,
        }
    }
}

/// Why a meeting may not make a move now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveRefused {
    /// Not from the status it is in.
    NotAllowed,
    /// Not held before it has begun.
    NotStarted,
}

/// Where a meeting stands as the public sees it: the organisers' working
/// states (published, evaluated, archived) are not the public's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicPhase {
    /// Answers are taken until the given instant (the deadline, or the start).
    Open { until: Timestamp },
    /// Before the meeting, with answers no longer taken.
    Closed,
    /// The meeting has taken place.
    Held,
    /// The meeting was cancelled.
    Cancelled,
}

impl PublicPhase {
    /// The phase at `now` of a meeting in `status` from `starts_at` to
    /// `ends_at` whose answers close at `deadline` (the start when none is set).
    #[must_use]
    pub fn of(
        status: MeetingStatus,
        starts_at: Timestamp,
        ends_at: Timestamp,
        deadline: Option<Timestamp>,
        now: Timestamp,
    ) -> Self {
        let until = deadline.unwrap_or(starts_at);
        match status {
            MeetingStatus::Cancelled => Self::Cancelled,
            MeetingStatus::Held | MeetingStatus::Evaluated | MeetingStatus::Archived => Self::Held,
            _ if ends_at < now => Self::Held,
            s if s.accepts_answers() && now <= until => Self::Open { until },
            _ => Self::Closed,
        }
    }

    /// Whether the meeting is still to come, so a calendar entry makes sense.
    #[must_use]
    pub const fn is_upcoming(self) -> bool {
        matches!(self, Self::Open { .. } | Self::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::MeetingStatus::{self, Archived, Cancelled, Closed, Draft, Held, Open, Published};

    #[test]
    fn a_meeting_moves_forward_and_is_cancelled_only_before_it_is_held() {
        assert!(Draft.may_become(Published));
        assert!(!Draft.may_become(Open), "a draft is published first");
        assert!(Closed.may_become(Open), "answers can be opened again");
        assert!(Open.may_become(Cancelled));
        assert!(!Held.may_become(Cancelled));
        assert!(!Archived.may_become(Draft));
        assert!(MeetingStatus::ALL.iter().all(|s| !s.may_become(Draft)), "nothing leads back to a draft");
    }

    #[test]
    fn a_meeting_is_held_only_once_it_has_begun_and_a_mistake_can_be_undone() {
        use super::MoveRefused;
        let t = |s: &str| -> super::Timestamp { s.parse().unwrap() };
        let start = t("2030-03-01T08:00:00Z");
        assert_eq!(Open.may_move(Held, start, t("2030-03-01T07:59:59Z")), Err(MoveRefused::NotStarted));
        assert_eq!(Open.may_move(Held, start, start), Ok(()));
        assert_eq!(Draft.may_move(Held, start, start), Err(MoveRefused::NotAllowed));
        assert_eq!(Open.may_move(Cancelled, start, t("2030-01-01T00:00:00Z")), Ok(()));
        assert_eq!(Held.reopened(true), Some(Open));
        assert_eq!(Held.reopened(false), Some(Closed));
        assert_eq!(Closed.reopened(false), Some(Open));
        for s in [Draft, Published, Open, MeetingStatus::Evaluated, Archived, Cancelled] {
            assert_eq!(s.reopened(true), None, "{s}");
        }
    }

    #[test]
    fn answers_are_taken_while_published_or_open_and_people_follow_changes_until_it_is_held() {
        let answering: Vec<_> = MeetingStatus::ALL.iter().filter(|s| s.accepts_answers()).collect();
        assert_eq!(answering, [&Published, &Open]);
        let followed: Vec<_> = MeetingStatus::ALL.iter().filter(|s| s.has_people()).collect();
        assert_eq!(followed, [&Published, &Open, &Closed]);
    }

    #[test]
    fn the_public_sees_open_until_the_deadline_then_closed_then_held_and_never_a_working_state() {
        use super::PublicPhase;
        let t = |s: &str| -> super::Timestamp { s.parse().unwrap() };
        let (start, end, deadline) = (t("2030-03-01T08:00:00Z"), t("2030-03-01T11:00:00Z"), t("2030-02-20T22:59:00Z"));
        let phase = |status, now| PublicPhase::of(status, start, end, Some(deadline), t(now));
        assert_eq!(phase(Published, "2030-02-01T00:00:00Z"), PublicPhase::Open { until: deadline });
        assert_eq!(phase(Open, "2030-02-21T00:00:00Z"), PublicPhase::Closed, "after the deadline");
        assert_eq!(phase(Closed, "2030-02-01T00:00:00Z"), PublicPhase::Closed);
        assert_eq!(phase(Published, "2030-03-02T00:00:00Z"), PublicPhase::Held, "once it has ended");
        assert_eq!(phase(MeetingStatus::Evaluated, "2030-02-01T00:00:00Z"), PublicPhase::Held);
        assert_eq!(phase(Cancelled, "2030-03-02T00:00:00Z"), PublicPhase::Cancelled);
        let no_deadline = PublicPhase::of(Open, start, end, None, t("2030-02-28T00:00:00Z"));
        assert_eq!(no_deadline, PublicPhase::Open { until: start }, "open until the start");
    }
}
