//! Creating a meeting (or copying one as the start of the next), changing it
//! and moving it through its life (and back, when it was marked held or
//! closed by mistake), with the mail each step owes the people on it; and
//! its materials.

use uuid::Uuid;

use super::{Forum, Refusal, Result};
use crate::domain::{
    Broken, MeetingField, MeetingId, MeetingShape, MeetingStatus, MoveRefused, Note, Seating, Timestamp,
    seating_change_after_draw, weeks_on, weeks_to_next,
};
use crate::mail::compose::changes::{Change, queue_change};
use crate::store::StoreError;
use crate::store::audit::{Actor, record_on_meeting};
use crate::store::evaluations::copy_questionnaire;
use crate::store::materials::{delete_material, insert_material};
use crate::store::meetings::{
    Meeting, NewMeeting, ProgrammeItem, insert_meeting, invitation_message_in, move_back, move_status, replace_tracks,
    set_invitation_message, update_meeting, update_meeting_details,
};

/// Adds a file to meeting `id`'s materials under `filename`.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such meeting.
pub async fn add_material(
    forum: &Forum,
    who: &Actor,
    id: MeetingId,
    filename: &str,
    content_type: &str,
    data: &[u8],
) -> Result<()> {
    let m = forum.store.meeting(id).await?;
    let mut tx = forum.store.begin().await?;
    insert_material(&mut tx, m.id, filename, content_type, data).await?;
    record_on_meeting(&mut tx, who, "material.upload", m.id, filename, Some(1)).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes file `material` from meeting `id`'s materials.
///
/// # Errors
/// [`StoreError::NotFound`] when the meeting has no such file.
pub async fn remove_material(forum: &Forum, who: &Actor, id: MeetingId, material: Uuid) -> Result<()> {
    let mut tx = forum.store.begin().await?;
    if !delete_material(&mut tx, id, material).await? {
        return Err(StoreError::NotFound.into());
    }
    record_on_meeting(&mut tx, who, "material.delete", id, &material.to_string(), Some(1)).await?;
    tx.commit().await?;
    Ok(())
}

/// How many mails went out, for the audit entry.
fn rows(n: Option<usize>) -> Option<i64> {
    n.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// Creates `new` as a draft.
///
/// # Errors
/// [`Refusal::Broken`] when its details break the meeting rules,
/// [`Refusal::NumberTaken`] when another meeting has its number.
pub async fn create(forum: &Forum, who: &Actor, new: &NewMeeting) -> Result<MeetingId> {
    keeps_the_rules(&new.shape(), &[])?;
    let mut tx = forum.store.begin().await?;
    let id = match insert_meeting(&mut tx, new).await {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => return Err(Refusal::NumberTaken.into()),
        Err(e) => return Err(e.into()),
    };
    record_on_meeting(&mut tx, who, "meeting.create", id, &new.title, None).await?;
    tx.commit().await?;
    Ok(id)
}

/// What marks the title of a copy, until the organiser gives it its own.
pub const COPY_MARK: &str = " (kopi)";

/// Copies meeting `id` as the start of the next one: its texts, format and
/// venue, tracks, programme, personal invitation text and questionnaire, as
/// a draft with the title marked and without a number. Its times move on by
/// whole weeks until it starts after now, for the organiser to set; nothing
/// of the people on the original (registrations, mail, evaluation answers)
/// or of its status, draw and report comes along. Audited on the copy.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such meeting; [`Refusal::Broken`]
/// when the moved times leave the years meetings may take place in.
pub async fn copy(forum: &Forum, who: &Actor, id: MeetingId) -> Result<MeetingId> {
    let from = forum.store.meeting(id).await?;
    let weeks = weeks_to_next(from.starts_at, crate::store::now());
    let on = |t: Timestamp| weeks_on(t, weeks);
    let new = NewMeeting {
        number: None,
        title: format!("{}{COPY_MARK}", from.title),
        description: from.description.clone(),
        themes: from.themes.clone(),
        starts_at: on(from.starts_at),
        ends_at: on(from.ends_at),
        format: from.format,
        venue: from.venue.clone(),
        online_url: from.online_url.clone(),
        capacity: from.capacity,
        per_organisation_limit: from.per_organisation_limit,
        registration_deadline: from.registration_deadline.map(on),
        status: MeetingStatus::Draft,
        tracks: from.tracks.clone(),
        programme: from
            .programme
            .iter()
            .map(|p| ProgrammeItem {
                starts_at: p.starts_at.map(on),
                ends_at: p.ends_at.map(on),
                cancelled: false,
                ..p.clone()
            })
            .collect(),
        seating: Seating {
            registration_opens_at: from.seating.registration_opens_at.map(on),
            allocation: from.seating.allocation,
            applications_close_at: from.seating.applications_close_at.map(on),
        },
    };
    keeps_the_rules(&new.shape(), &[])?;
    let mut tx = forum.store.begin().await?;
    let copy = insert_meeting(&mut tx, &new).await?;
    let message = invitation_message_in(&mut tx, id).await?;
    if !message.is_empty() {
        set_invitation_message(&mut tx, copy, &message).await?;
    }
    copy_questionnaire(&mut tx, id, copy).await?;
    record_on_meeting(&mut tx, who, "meeting.copy", copy, &from.title, None).await?;
    tx.commit().await?;
    Ok(copy)
}

/// Whether meeting `m` may go where `to` leads as it stands: a draft going
/// public must be complete (a virtual one needs its link). Pages ask before
/// they show a confirm step.
///
/// # Errors
/// [`Refusal::Broken`] naming what is missing.
pub fn ready_for(m: &Meeting, to: MeetingStatus) -> Result<()> {
    if m.status == MeetingStatus::Draft && to.is_public() {
        keeps_the_rules(&MeetingShape { status: to, ..m.shape() }, &[])?;
    }
    Ok(())
}

/// Refuses details that break a meeting rule, but for those in `already`.
fn keeps_the_rules(shape: &MeetingShape<'_>, already: &[(MeetingField, Broken)]) -> Result<()> {
    let broken: Vec<_> = shape.broken().into_iter().filter(|b| !already.contains(b)).collect();
    if broken.is_empty() { Ok(()) } else { Err(Refusal::Broken(broken).into()) }
}

/// Whether people on the meeting must hear of the change from `seen` to `m`:
/// its time, place, joining link or format moved.
fn moved(seen: &Meeting, m: &Meeting) -> bool {
    m.starts_at != seen.starts_at
        || m.ends_at != seen.ends_at
        || m.venue != seen.venue
        || m.online_url != seen.online_url
        || m.format != seen.format
}

/// Writes `m`, the organiser's edit of `seen` (its details and tracks). When
/// the time, place, link or format of a meeting people are on changes, the
/// calendar sequence goes up and everyone invited who has not declined gets
/// the updated entry; seats added go to the waiting list at once. All of it
/// in one transaction, with the audit entry.
///
/// # Errors
/// [`Refusal::Broken`] when the details break the meeting rules,
/// [`Refusal::Stale`] when the meeting changed since `seen` was read,
/// [`Refusal::NumberTaken`] and [`Refusal::TrackInUse`].
pub async fn update(forum: &Forum, who: &Actor, seen: &Meeting, mut m: Meeting) -> Result<()> {
    // A meeting stored before a rule existed stays editable: an edit may not
    // break a rule, but need not mend one it did not touch.
    keeps_the_rules(&m.shape(), &seen.shape().broken())?;
    if seen.drawn.is_some()
        && let Some(broken) = seating_change_after_draw(seen.seating, m.seating)
    {
        return Err(Refusal::Broken(vec![broken]).into());
    }
    let removed =
        seen.programme.iter().filter_map(|p| p.track.as_ref()).find(|k| !m.tracks.iter().any(|t| &t.key == *k));
    if let Some(k) = removed {
        return Err(Refusal::TrackInUse(k.clone()).into());
    }
    let notify = moved(seen, &m) && seen.status.has_people();
    if notify {
        m.ical_sequence = seen.ical_sequence + 1;
    }
    let mut tx = forum.store.begin().await?;
    match update_meeting_details(&mut tx, seen, &m).await {
        Ok(true) => {}
        Ok(false) => return Err(Refusal::Stale.into()),
        Err(StoreError::Conflict(_)) => return Err(Refusal::NumberTaken.into()),
        Err(e) => return Err(e.into()),
    }
    if m.tracks != seen.tracks {
        replace_tracks(&mut tx, m.id, &m.tracks).await?;
    }
    let promoted = if seen.status.has_people() { super::rsvp::fill_free_seats(forum, &mut tx, &m).await? } else { 0 };
    let queued = if notify { queue_change(&mut tx, &forum.mail, &m, Change::Rescheduled).await? } else { 0 };
    let action = if notify { "meeting.reschedule" } else { "meeting.update" };
    record_on_meeting(&mut tx, who, action, m.id, "", rows(notify.then_some(queued))).await?;
    tx.commit().await?;
    forum.wake_if(queued + promoted);
    Ok(())
}

/// Whether meeting `m` may move to `to` now, by
/// [`MeetingStatus::may_move`]: the moves its status allows, and held only
/// once it has begun. Pages ask before they show a confirm step.
///
/// # Errors
/// [`Refusal::Transition`] or [`Refusal::NotStarted`].
pub fn may_move(m: &Meeting, to: MeetingStatus) -> std::result::Result<(), Refusal> {
    m.status.may_move(to, m.starts_at, crate::store::now()).map_err(|why| match why {
        MoveRefused::NotAllowed => Refusal::Transition { from: m.status, to },
        MoveRefused::NotStarted => Refusal::NotStarted { starts_at: m.starts_at },
    })
}

/// Moves meeting `id` to `to`, where [`may_move`] permits. Cancelling is
/// [`cancel`] without a note. Returns the meeting as it now is.
///
/// # Errors
/// [`Refusal::Transition`] when the move is not allowed from where the
/// meeting is, [`Refusal::NotStarted`] when it is to be held before it has
/// begun, [`Refusal::Broken`] when a draft that is not complete would leave
/// its draft, [`Refusal::Stale`] when it changed while being cancelled.
pub async fn transition(forum: &Forum, who: &Actor, id: MeetingId, to: MeetingStatus) -> Result<Meeting> {
    if to == MeetingStatus::Cancelled {
        return cancel(forum, who, id, &Note::default()).await;
    }
    let seen = forum.store.meeting(id).await?;
    may_move(&seen, to)?;
    ready_for(&seen, to)?;
    let mut tx = forum.store.begin().await?;
    if let Err(e) = move_status(&mut tx, id, to).await? {
        return Err(Refusal::Transition { from: e.from, to: e.to }.into());
    }
    record_on_meeting(&mut tx, who, &format!("meeting.{to}"), id, "", None).await?;
    tx.commit().await?;
    Ok(forum.store.meeting(id).await?)
}

/// Cancels meeting `id`: raises the calendar sequence and tells everyone
/// invited who has not declined, with the organisers' `note` (empty for
/// none) in the mail, in the same transaction as the audit entry. Returns
/// the meeting as it now is.
///
/// # Errors
/// [`Refusal::Transition`] when the meeting has been held (or is cancelled),
/// [`Refusal::Stale`] when it changed while being cancelled.
pub async fn cancel(forum: &Forum, who: &Actor, id: MeetingId, note: &Note) -> Result<Meeting> {
    let seen = forum.store.meeting(id).await?;
    may_move(&seen, MeetingStatus::Cancelled)?;
    let mut m = seen.clone();
    m.status = MeetingStatus::Cancelled;
    m.ical_sequence = seen.ical_sequence + 1;
    let mut tx = forum.store.begin().await?;
    if !update_meeting(&mut tx, &seen, &m).await? {
        return Err(Refusal::Stale.into());
    }
    let queued = queue_change(&mut tx, &forum.mail, &m, Change::Cancelled(note)).await?;
    record_on_meeting(&mut tx, who, "meeting.cancelled", id, note.as_str(), rows(Some(queued))).await?;
    tx.commit().await?;
    forum.wake_if(queued);
    Ok(forum.store.meeting(id).await?)
}

/// Where [`reopen`] would take `m` now: open while answers are still due,
/// closed after; `None` when it is neither held nor closed.
#[must_use]
pub fn reopens_to(m: &Meeting) -> Option<MeetingStatus> {
    let answers_due = crate::store::now() <= m.registration_deadline.unwrap_or(m.starts_at);
    m.status.reopened(answers_due)
}

/// Undoes a meeting marked held, or closed for answers, by mistake: moves it
/// back where [`MeetingStatus::reopened`] says, with an audit entry naming
/// both statuses. Returns the meeting as it now is.
///
/// # Errors
/// [`Refusal::Transition`] when the meeting is neither held nor closed,
/// [`Refusal::Stale`] when its status changed meanwhile.
pub async fn reopen(forum: &Forum, who: &Actor, id: MeetingId) -> Result<Meeting> {
    let seen = forum.store.meeting(id).await?;
    let Some(to) = reopens_to(&seen) else {
        return Err(Refusal::Transition { from: seen.status, to: MeetingStatus::Open }.into());
    };
    let mut tx = forum.store.begin().await?;
    if !move_back(&mut tx, id, seen.status, to).await? {
        return Err(Refusal::Stale.into());
    }
    record_on_meeting(&mut tx, who, "meeting.reopen", id, &format!("{} -> {to}", seen.status), None).await?;
    tx.commit().await?;
    Ok(forum.store.meeting(id).await?)
}
