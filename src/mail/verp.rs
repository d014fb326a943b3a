//! Per-message return paths (VERP): each message's envelope sender names the
//! message, so a bounce tells exactly which message — and so which person —
//! failed. `dialogforum@forum.dk` becomes
//! `dialogforum+bounce-<32 hex digits>@forum.dk`.

use lettre::Address;

use crate::domain::{Email, OutboxId};

const TAG: &str = "+bounce-";

/// The envelope sender for message `id`, built on the bounce base address.
///
/// # Errors
/// A base address lettre does not accept (cannot happen for a parsed [`Email`]).
pub fn envelope_sender(base: &Email, id: OutboxId) -> Result<Address, lettre::address::AddressError> {
    let (local, domain) = base.as_str().rsplit_once('@').unwrap_or((base.as_str(), ""));
    let local = local.split_once('+').map_or(local, |(l, _)| l);
    Address::new(format!("{local}{TAG}{}", id.uuid().simple()), domain)
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
    use super::{envelope_sender, message_of};
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
}
