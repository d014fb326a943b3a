//! A short message from the organisers to a meeting's attendees, its
//! waiting list or those invited who have not answered: one personal mail
//! each, queued in the outbox in one transaction with its audit entry. The
//! organiser confirms the audience and its number first; a send whose
//! audience changed since is refused, so the step is shown again.

use super::{Forum, Refusal, Result};
use crate::domain::{Note, RegistrationStatus};
use crate::i18n::Lang;
use crate::mail::compose::message::{Audience, meeting_message};
use crate::mail::compose::notices::To;
use crate::store::audit::{self, Actor};
use crate::store::meetings::Meeting;
use crate::store::outbox::enqueue_many;
use crate::store::registrations::{Addressee, addressees};

/// The registrations an audience is made of.
const fn status(audience: Audience) -> RegistrationStatus {
    match audience {
        Audience::Attending => RegistrationStatus::Attending,
        Audience::Waitlisted => RegistrationStatus::Waitlisted,
        Audience::NotAnswered => RegistrationStatus::Invited,
    }
}

/// The name an audience has in the API and the audit log.
#[must_use]
pub const fn audience_name(audience: Audience) -> &'static str {
    match audience {
        Audience::Attending => "attending",
        Audience::Waitlisted => "waitlisted",
        Audience::NotAnswered => "not_answered",
    }
}

/// The audience named `name` ([`audience_name`]).
#[must_use]
pub fn audience_named(name: &str) -> Option<Audience> {
    [Audience::Attending, Audience::Waitlisted, Audience::NotAnswered].into_iter().find(|a| audience_name(*a) == name)
}

/// Who a message to `audience` of `meeting` reaches now: mail can reach
/// them (not bounced, not a walk-in without an address). Ordered by name.
pub async fn audience(forum: &Forum, meeting: &Meeting, audience: Audience) -> Result<Vec<Addressee>> {
    Ok(forum.store.addressees(meeting.id, status(audience)).await?)
}

/// Queues `note` about `meeting` to each of `audience`, when they are still
/// `expected` in number (as the confirm step showed). Returns how many.
///
/// # Errors
/// [`Refusal::Stale`] when the audience changed since it was shown.
pub async fn send(
    forum: &Forum,
    who: &Actor,
    meeting: &Meeting,
    to: Audience,
    note: &Note,
    expected: usize,
) -> Result<usize> {
    let mut tx = forum.store.begin().await?;
    let people = addressees(&mut tx, meeting.id, status(to)).await?;
    if people.len() != expected {
        return Err(Refusal::Stale.into());
    }
    let mut messages = Vec::with_capacity(people.len());
    for p in &people {
        let to_person = To { person: p.person, email: &p.email, name: &p.name, lang: Lang::from_code(&p.language) };
        messages.push(meeting_message(&forum.mail, to_person, meeting, to, note)?);
    }
    enqueue_many(&mut tx, &messages).await?;
    let rows = i64::try_from(messages.len()).ok();
    audit::record_on_meeting(&mut tx, who, "meeting.message", meeting.id, audience_name(to), rows).await?;
    tx.commit().await?;
    forum.wake_if(messages.len());
    Ok(messages.len())
}
