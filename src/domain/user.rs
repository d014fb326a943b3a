//! Organiser roles and list members' standing.

use super::meeting::str_enum;

str_enum!(
    /// What an organiser account may do: admin (users and tokens and
    /// everything else), organiser (everything but users), viewer (read only).
    Role { Admin = "admin", Organiser = "organiser", Viewer = "viewer" }
    "role must be admin, organiser or viewer"
);

str_enum!(
    /// A person's standing on the mailing list. Guests were invited to a
    /// meeting but are not on the list.
    PersonStatus {
        Guest = "guest",
        Pending = "pending",
        Confirmed = "confirmed",
        Unsubscribed = "unsubscribed",
        Bounced = "bounced",
    }
    "status must be pending, confirmed, unsubscribed or bounced"
);

impl Role {
    /// Whether the role may change data.
    #[must_use]
    pub const fn can_write(self) -> bool {
        matches!(self, Self::Admin | Self::Organiser)
    }

    /// Whether the role may manage users and API tokens.
    #[must_use]
    pub const fn is_admin(self) -> bool {
        matches!(self, Self::Admin)
    }
}

str_enum!(
    /// Why an address may not be put on the list by an organiser, an import
    /// or a colleague: the person left the list, or their data was erased.
    /// Only the person's own confirmed sign-up lifts it.
    Suppression { Unsubscribed = "unsubscribed", Erased = "erased" }
    "suppression must be unsubscribed or erased"
);
