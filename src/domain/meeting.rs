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
                match s { $($s => Ok(Self::$variant),)* _ => Err(super::ParseError::new($msg)) }
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
}
