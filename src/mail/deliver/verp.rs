//! Per-message return paths (VERP): each message's envelope sender names the
//! message, so a bounce tells exactly which message — and so which person —
//! failed. `dialogforum@forum.dk` becomes
//! `dialogforum+bounce-<32 hex digits>@forum.dk`. The same base also gives the
//! leave address, `dialogforum+leave@forum.dk`, where mail means "take me off
//! the list" (named in the `mailto:` of `List-Unsubscribe`).

use lettre::Address;

use crate::domain::{Email, OutboxId, ParseError};

const TAG: &str = "+bounce-";
const LEAVE_TAG: &str = "+leave";

/// The envelope sender for message `id`, built on the bounce base address.
///
/// # Errors
/// A base address lettre does not accept (cannot happen for a parsed [`Email`]).
pub fn envelope_sender(base: &Email, id: OutboxId) -> Result<Address, lettre::address::AddressError> {
    let (local, domain) = base.as_str().rsplit_once('@').unwrap_or((base.as_str(), ""));
    let local = local.split_once('+').map_or(local, |(l, _)| l);
    Address::new(format!("{local}{TAG}{}", id.uuid().simple()), domain)
}

/// The leave address built on the bounce base: `local+leave@domain` (a tag
/// the base already carries is replaced).
///
/// # Errors
/// A base whose local part is too long to take the tag (over 58 characters).
pub fn leave_address(base: &Email) -> Result<Email, ParseError> {
    let (local, domain) = base.as_str().rsplit_once('@').unwrap_or((base.as_str(), ""));
    let local = local.split_once('+').map_or(local, |(l, _)| l);
    Email::parse(&format!("{local}{LEAVE_TAG}@{domain}"))
}

/// The message a bounce address names, if it is one of ours.
#[must_use]
pub fn message_of(address: &str) -> Option<OutboxId> {
    let (local, _) = address.trim_matches(['<', '>']).rsplit_once('@')?;
    let (_, hex) = local.split_once(TAG)?;
    uuid::Uuid::try_parse(hex).ok().map(OutboxId::from_uuid)
}

#[cfg(test)]
mod tests {
    use super::{envelope_sender, leave_address, message_of};
    use crate::domain::{Email, OutboxId};

    #[test]
    fn a_bounce_address_leads_back_to_its_message() {
        let id = OutboxId::new();
        let base = Email::parse("dialogforum@forum.example").unwrap();
        let sender = envelope_sender(&base, id).unwrap();
        assert!(sender.to_string().starts_with("dialogforum+bounce-"));
        assert_eq!(message_of(sender.as_ref()), Some(id));
        assert_eq!(message_of(&format!("<{sender}>")), Some(id));
        assert_eq!(message_of("dialogforum@forum.example"), None);
        assert_eq!(message_of("dialogforum+bounce-nothex@forum.example"), None);
    }

    #[test]
    fn the_leave_address_is_the_base_with_a_leave_tag() {
        let base = Email::parse("dialogforum@forum.example").unwrap();
        assert_eq!(leave_address(&base).unwrap().as_str(), "dialogforum+leave@forum.example");
        let tagged = Email::parse("Bounces+Old@Forum.Example").unwrap();
        assert_eq!(leave_address(&tagged).unwrap().as_str(), "bounces+leave@forum.example");
        let leave = leave_address(&base).unwrap();
        assert_eq!(message_of(leave.as_str()), None, "the leave address names no message");
        let long = Email::parse(&format!("{}@forum.example", "a".repeat(60))).unwrap();
        assert!(leave_address(&long).is_err());
    }
}
