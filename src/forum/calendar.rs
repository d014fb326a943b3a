//! Answers that arrive from a calendar: an iMIP reply (RFC 6047) to the
//! entry a seat holder was sent, applied with the same rules as the answer
//! form — a decline frees the seat, an accept from someone invited who has
//! not answered is a "yes" — or, when it does not match an invitation, left
//! without effect and said why.

use super::rsvp::{answer, fresh_link};
use super::{ForumError, Refusal, Result};
use crate::domain::{Email, MeetingId, PublicPhase, RegistrationStatus, Timestamp};
use crate::i18n::Lang;
use crate::store::StoreError;
use crate::store::rsvp::{Answer, Seat};

/// The attendee's answer in a reply (`PARTSTAT`, RFC 5545 3.2.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partstat {
    Accepted,
    Declined,
    Tentative,
    /// Anything else (`NEEDS-ACTION`, `DELEGATED`, an extension).
    Other,
}

impl Partstat {
    /// Reads a `PARTSTAT` value, in any case.
    #[must_use]
    pub fn parse(value: &str) -> Self {
        match value.trim().to_ascii_uppercase().as_str() {
            "ACCEPTED" => Self::Accepted,
            "DECLINED" => Self::Declined,
            "TENTATIVE" => Self::Tentative,
            _ => Self::Other,
        }
    }
}

/// A calendar's reply, as read from the message.
#[derive(Debug, Clone)]
pub struct CalendarReply {
    /// The `UID` of the entry answered.
    pub uid: String,
    /// The entry's `SEQUENCE` the calendar answered (0 when absent).
    pub sequence: i64,
    /// The `ATTENDEE` the reply is from.
    pub attendee: Email,
    pub partstat: Partstat,
}

/// What became of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Recorded as an answer, which led to this seat; the person is told by mail.
    Answered(Seat),
    /// Nothing changed, for this reason (fit for a log line).
    Unchanged(&'static str),
}

/// The meeting whose seat holders' entries carry `uid` ([`seat_uid`](crate::mail::compose::campaign::seat_uid)),
/// when the UID is one of ours under `domain`.
fn meeting_of(uid: &str, domain: &str) -> Option<MeetingId> {
    let (local, at) = uid.trim().rsplit_once('@')?;
    let id = local.strip_prefix("meeting-")?;
    if !at.eq_ignore_ascii_case(domain) {
        return None;
    }
    uuid::Uuid::parse_str(id).ok().map(MeetingId::from_uuid)
}

/// Applies `reply`, which came in a message from `sender`. The attendee must
/// be the sender and have an invitation to the meeting of the UID; the reply
/// must answer the entry as it now stands (its SEQUENCE not lower than the
/// meeting's) while the meeting takes answers. A decline from someone
/// invited, seated or waiting is a "no"; an accept from someone invited who
/// has not answered is a "yes" (a seat, or the waiting list); anything else
/// — a tentative answer, an accept from someone who answered before —
/// changes nothing. The person gets the confirmation the answer form sends,
/// with a fresh link to change the answer.
///
/// # Errors
/// The database failed, or a mail could not be composed.
pub async fn reply(forum: &super::Forum, reply: &CalendarReply, sender: &Email) -> Result<Applied> {
    let unchanged = |why| Ok(Applied::Unchanged(why));
    if &reply.attendee != sender {
        return unchanged("the attendee is not the sender");
    }
    let Some(meeting_id) = meeting_of(&reply.uid, forum.mail.composer.from().email.domain()) else {
        return unchanged("not the UID of a seat holder's entry");
    };
    let meeting = match forum.store.meeting(meeting_id).await {
        Ok(m) => m,
        Err(StoreError::NotFound) => return unchanged("no such meeting"),
        Err(e) => return Err(e.into()),
    };
    if reply.sequence < i64::from(meeting.ical_sequence) {
        return unchanged("the reply answers an older version of the entry");
    }
    let now = Timestamp::now();
    let phase = PublicPhase::of(meeting.status, meeting.starts_at, meeting.ends_at, meeting.registration_deadline, now);
    if !matches!(phase, PublicPhase::Open { .. }) {
        return unchanged("the meeting takes no answers");
    }
    let Some(reg) = forum.store.registration_by_email(meeting_id, &reply.attendee).await? else {
        return unchanged("the attendee is not invited to the meeting");
    };
    if reg.replaced_by.is_some() {
        return unchanged("the invitation was passed on to a colleague");
    }
    let attend = match (reply.partstat, reg.status) {
        (
            Partstat::Declined,
            RegistrationStatus::Invited | RegistrationStatus::Attending | RegistrationStatus::Waitlisted,
        ) => false,
        (Partstat::Accepted, RegistrationStatus::Invited) if meeting.tracks.is_empty() => true,
        (Partstat::Accepted, RegistrationStatus::Invited) => {
            return unchanged("a yes to a meeting with tracks names one: on the answer page");
        }
        (Partstat::Tentative, _) => return unchanged("a tentative answer"),
        (Partstat::Other, _) => return unchanged("neither accepted nor declined"),
        _ => return unchanged("the answer is the one recorded"),
    };
    let answer_given = Answer {
        attend,
        // A yes reaches here only for a meeting without tracks, and a no has none.
        track: None,
        diet: reg.diet.clone(),
        access_needs: reg.access_needs.clone(),
        comment: reg.comment.clone(),
        listing: None,
    };
    let (_, _, _, language) = forum.store.person_contact(reg.person_id).await?;
    // A new answer link for the confirmation: the one in the invitation is known only to its reader.
    let mut tx = forum.store.begin().await?;
    let rsvp_url = fresh_link(forum, &mut tx, &meeting, reg.person_id, reg.id).await?;
    tx.commit().await?;
    match answer(forum, &reg, &meeting, answer_given, Lang::from_code(&language), rsvp_url).await {
        Ok(seat) => Ok(Applied::Answered(seat)),
        Err(ForumError::Refused(Refusal::NotOpenYet { .. })) => unchanged("registration has not opened yet"),
        Err(ForumError::Refused(Refusal::PassedOn)) => unchanged("the invitation was passed on to a colleague"),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::{Partstat, meeting_of};

    #[test]
    fn only_the_seat_uid_of_our_domain_names_a_meeting() {
        let id = uuid::Uuid::now_v7();
        assert!(meeting_of(&format!("meeting-{id}@forum.example"), "forum.example").is_some());
        assert!(meeting_of(&format!("meeting-{id}@FORUM.example"), "forum.example").is_some());
        assert!(meeting_of(&format!("meeting-{id}-public@forum.example"), "forum.example").is_none());
        assert!(meeting_of(&format!("meeting-{id}@elsewhere.example"), "forum.example").is_none());
        assert!(meeting_of("040000008200E00074C5B7101A82E008", "forum.example").is_none());
    }

    #[test]
    fn partstat_is_read_in_any_case() {
        assert_eq!(Partstat::parse("declined"), Partstat::Declined);
        assert_eq!(Partstat::parse("ACCEPTED"), Partstat::Accepted);
        assert_eq!(Partstat::parse("Tentative"), Partstat::Tentative);
        assert_eq!(Partstat::parse("NEEDS-ACTION"), Partstat::Other);
    }
}
