//! Meetings: their format, where they are in their life, and registrations.

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
    fn answers_are_taken_while_published_or_open_and_people_follow_changes_until_it_is_held() {
        let answering: Vec<_> = MeetingStatus::ALL.iter().filter(|s| s.accepts_answers()).collect();
        assert_eq!(answering, [&Published, &Open]);
        let followed: Vec<_> = MeetingStatus::ALL.iter().filter(|s| s.has_people()).collect();
        assert_eq!(followed, [&Published, &Open, &Closed]);
    }
}
