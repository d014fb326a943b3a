//! Changes an organiser makes by hand to who has a seat: adding a person,
//! giving someone on the waiting list a seat, and moving a seat to another
//! track. Each carries a reason, kept in the audit log and on the meeting's
//! record of seat changes, and tells the person by mail in the same
//! transaction. A full meeting, track or organisation quota refuses a seat
//! with its reason unless the organiser confirmed going beyond it.

use super::door::record_change;
use super::rsvp::{fresh_link, promotion_mails};
use super::{Forum, Refusal, Result};
use crate::domain::{Email, Name, PersonId, PersonStatus, Reason, RegistrationId, RegistrationStatus};
use crate::i18n::Lang;
use crate::mail::compose::notices::To;
use crate::mail::compose::rsvp as rsvp_mail;
use crate::store::audit::{Actor, Entry};
use crate::store::meetings::Meeting;
use crate::store::outbox::{enqueue, enqueue_many};
use crate::store::people::{NewPerson, insert_person_if_new};
use crate::store::rsvp::{self as store, ByHand, Seat};
use crate::store::subscribers::person_by_email;
use crate::store::{StoreError, WriteTx, suppression};

/// Whom an organiser adds by hand.
#[derive(Debug, Clone)]
pub enum Newcomer {
    /// Someone the forum knows (on the list, or a guest before).
    Known(PersonId),
    /// Someone by address: the person with it when the forum knows one (their
    /// own name and organisation stay), else a new guest (not on the mailing
    /// list), who needs a name.
    ByAddress { email: Email, name: Option<Name>, organisation: Option<Name> },
}

/// A seat given by hand: to whom, in which track, why, and whether a full
/// limit may be passed (the organiser confirmed it).
#[derive(Debug, Clone)]
pub struct ByHandSeat {
    pub track: Option<String>,
    pub reason: Reason,
    pub beyond_limits: bool,
}

/// Checks that `track` is one of `meeting`'s tracks, and that one is chosen
/// when the meeting has tracks.
fn check_track(meeting: &Meeting, track: Option<&str>) -> Result<()> {
    match track {
        None if meeting.tracks.is_empty() => Ok(()),
        Some(key) if meeting.tracks.iter().any(|t| t.key == key) => Ok(()),
        _ => Err(Refusal::UnknownTrack.into()),
    }
}

/// What a refused change by hand says.
fn refused(outcome: ByHand) -> Result<()> {
    match outcome {
        ByHand::Done => Ok(()),
        ByHand::Full(why) => Err(Refusal::SeatFull(why).into()),
        ByHand::Stands(status) => Err(Refusal::SeatStands(status).into()),
    }
}

/// The audit detail of a change by hand: the reason, and any limit passed.
fn detail(reason: &Reason, beyond: bool) -> String {
    if beyond {
        format!("reason: {}; beyond the limits, confirmed", reason.as_str())
    } else {
        format!("reason: {}", reason.as_str())
    }
}

/// Records a change by hand in the audit log and on the meeting's record.
async fn record(
    tx: &mut WriteTx,
    who: &Actor,
    meeting: &Meeting,
    registration: RegistrationId,
    action: &str,
    seat: &ByHandSeat,
) -> Result<()> {
    let detail = detail(&seat.reason, seat.beyond_limits);
    let entry = Entry { detail: &detail, ..Entry::on_registration(action, registration) };
    record_change(tx, who, meeting.id, &entry, action, Some(registration), &seat.reason).await
}

/// Adds `newcomer` to `meeting` with a seat, for the reason given: they get
/// the seat's confirmation with the calendar entry and a link of their own
/// to change or decline it. Someone on the waiting list, invited, or who
/// declined before, gets the seat as well. Returns the registration.
///
/// # Errors
/// [`Refusal::SeatFull`] when a limit is full and going beyond was not
/// confirmed, [`Refusal::SeatStands`] when the person has a seat already,
/// [`Refusal::UnknownTrack`], [`Refusal::NameNeeded`] for an address the
/// forum does not know given without a name, and [`Refusal::Suppressed`]
/// for a new address whose owner left the list or was erased.
pub async fn add_by_hand(
    forum: &Forum,
    who: &Actor,
    meeting: &Meeting,
    newcomer: Newcomer,
    seat: &ByHandSeat,
) -> Result<RegistrationId> {
    check_track(meeting, seat.track.as_deref())?;
    let known = match &newcomer {
        Newcomer::Known(id) => Some(forum.store.person_contact(*id).await?),
        Newcomer::ByAddress { .. } => None,
    };
    let mut tx = forum.store.begin().await?;
    store::lock_for_answers(&mut tx, meeting.id).await?;
    let (person, email, name, lang) = match newcomer {
        Newcomer::Known(id) => {
            let Some((email, name, _, language)) = known else { return Err(StoreError::NotFound.into()) };
            (id, email, name, Lang::from_code(&language))
        }
        Newcomer::ByAddress { email, name, organisation } => {
            if let Some(found) = person_by_email(&mut tx, &email).await? {
                (found.id, email, found.name, Lang::from_code(&found.language))
            } else {
                let Some(name) = name else { return Err(Refusal::NameNeeded.into()) };
                if let Some(why) = suppression::check(&mut tx, &email).await? {
                    return Err(Refusal::Suppressed(why).into());
                }
                let new = NewPerson {
                    email: email.clone(),
                    name: name.clone(),
                    organisation,
                    status: PersonStatus::Guest,
                    interests: Vec::new(),
                };
                let (id, _) = insert_person_if_new(&mut tx, &new, None).await?;
                (id, email, name.as_str().to_owned(), Lang::Da)
            }
        }
    };
    let (registration, _) = crate::store::registrations::ensure_invited(&mut tx, meeting.id, person).await?;
    let from = [
        RegistrationStatus::Invited,
        RegistrationStatus::Waitlisted,
        RegistrationStatus::Declined,
        RegistrationStatus::Cancelled,
    ];
    refused(
        store::seat_by_hand(&mut tx, meeting.id, registration, seat.track.as_deref(), &from, seat.beyond_limits)
            .await?,
    )?;
    let url = fresh_link(forum, &mut tx, meeting, person, registration).await?;
    let to = To { person, email: &email, name: &name, lang };
    let message = rsvp_mail::confirmation(&forum.mail, to, meeting, registration, Seat::Attending, Some(&url), false)?;
    enqueue(&mut tx, &message).await?;
    record(&mut tx, who, meeting, registration, "seat.add", seat).await?;
    tx.commit().await?;
    forum.wake_if(1);
    Ok(registration)
}

/// Gives `registration`, on `meeting`'s waiting list, a seat in its track
/// (or in `seat.track`), for the reason given; they get the news of a seat
/// by mail.
///
/// # Errors
/// [`Refusal::SeatFull`] when a limit is full and going beyond was not
/// confirmed, [`Refusal::SeatStands`] when the person is not on the waiting
/// list, [`Refusal::UnknownTrack`].
pub async fn seat_waitlisted(
    forum: &Forum,
    who: &Actor,
    meeting: &Meeting,
    registration: RegistrationId,
    seat: &ByHandSeat,
) -> Result<()> {
    let reg = forum.store.registration(registration).await?;
    if reg.meeting_id != meeting.id {
        return Err(StoreError::NotFound.into());
    }
    let track = seat.track.clone().or_else(|| reg.track.clone());
    check_track(meeting, track.as_deref())?;
    let messages = promotion_mails(forum, meeting, &[registration]).await?;
    let mut tx = forum.store.begin().await?;
    let from = [RegistrationStatus::Waitlisted];
    refused(
        store::seat_by_hand(&mut tx, meeting.id, registration, track.as_deref(), &from, seat.beyond_limits).await?,
    )?;
    enqueue_many(&mut tx, &messages).await?;
    record(&mut tx, who, meeting, registration, "waitlist.seat", seat).await?;
    tx.commit().await?;
    forum.wake_if(messages.len());
    Ok(())
}

/// Moves the seat of `registration` at `meeting` to the track `track`, when
/// it has room, for the reason given. The person gets a confirmation of
/// their seat; the seat left behind goes to the waiting list, whose people
/// given a seat are told.
///
/// # Errors
/// [`Refusal::SeatFull`] when the track is full, [`Refusal::SeatStands`]
/// when the person has no seat, [`Refusal::UnknownTrack`].
pub async fn move_track(
    forum: &Forum,
    who: &Actor,
    meeting: &Meeting,
    registration: RegistrationId,
    track: &str,
    reason: &Reason,
) -> Result<()> {
    check_track(meeting, Some(track))?;
    let reg = forum.store.registration(registration).await?;
    if reg.meeting_id != meeting.id {
        return Err(StoreError::NotFound.into());
    }
    let (email, name, _, language) = forum.store.person_contact(reg.person_id).await?;
    let mut tx = forum.store.begin().await?;
    let (outcome, promoted) = store::move_track(&mut tx, meeting.id, registration, track).await?;
    refused(outcome)?;
    let to = To { person: reg.person_id, email: &email, name: &name, lang: Lang::from_code(&language) };
    let mut messages =
        vec![rsvp_mail::confirmation(&forum.mail, to, meeting, registration, Seat::Attending, None, true)?];
    messages.extend(promotion_mails(forum, meeting, &promoted).await?);
    enqueue_many(&mut tx, &messages).await?;
    let seat = ByHandSeat { track: Some(track.to_owned()), reason: reason.clone(), beyond_limits: false };
    record(&mut tx, who, meeting, registration, "track.move", &seat).await?;
    tx.commit().await?;
    forum.wake_if(messages.len());
    Ok(())
}
