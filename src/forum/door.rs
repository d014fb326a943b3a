//! The organiser's hand on who comes: finding people at the door, checking
//! them in (or undoing it), adding walk-ins, the printed door list, and
//! moving people on the waiting list, which
//! asks for a reason kept in the audit log and the meeting's record. The page
//! and the API call the same functions; each change is audited in its
//! transaction, and each look at the list of people is recorded as a read.

use super::{Forum, Refusal, Result};
use crate::domain::{Email, MeetingId, Name, PersonStatus, Reason, RegistrationId, RegistrationStatus, search_fold};
use crate::store::audit::{self, Actor, Entry};
use crate::store::meetings::Meeting;
use crate::store::people::{NewPerson, insert_person_if_new};
use crate::store::rsvp::{self, Registration, WaitlistMove};
use crate::store::{StoreError, WriteTx};

/// Whether `r` matches what was typed in the door's search box (already
/// trimmed and folded by [`search_fold`]); an empty search matches everyone.
fn matches(r: &Registration, needle: &str) -> bool {
    needle.is_empty() || search_fold(&r.name).contains(needle) || search_fold(&r.organisation).contains(needle)
}

/// The people attending `meeting`, and those of them matching `q` (by name
/// or organisation), in that order. A search is recorded with what was
/// searched for; the whole list as a read.
///
/// # Errors
/// The database failed.
pub async fn attending(
    forum: &Forum,
    who: &Actor,
    meeting: MeetingId,
    q: &str,
) -> Result<(Vec<Registration>, Vec<Registration>)> {
    let attending: Vec<_> = forum
        .store
        .registrations(meeting)
        .await?
        .into_iter()
        .filter(|r| r.status == RegistrationStatus::Attending)
        .collect();
    let needle = search_fold(q.trim());
    let found: Vec<_> = attending.iter().filter(|r| matches(r, &needle)).cloned().collect();
    let entry = if needle.is_empty() {
        Entry::read("checkin.view", "meeting", Some(meeting.uuid()), "", found.len())
    } else {
        Entry::read("checkin.search", "meeting", Some(meeting.uuid()), q, found.len())
    };
    audit::record_read(&forum.store, who, &entry).await?;
    Ok((attending, found))
}

/// Checks the holder of seat `registration` at `meeting` in, or undoes a
/// check-in made by mistake (`present` false).
///
/// # Errors
/// [`StoreError::NotFound`] when `registration` is not an attending
/// registration of `meeting`.
pub async fn check_in(
    forum: &Forum,
    who: &Actor,
    meeting: MeetingId,
    registration: RegistrationId,
    present: bool,
) -> Result<()> {
    let mut tx = forum.store.begin().await?;
    rsvp::check_in(&mut tx, meeting, registration, present.then(crate::store::now)).await?;
    let action = if present { "registration.check_in" } else { "registration.check_in_undone" };
    audit::record(&mut tx, who, &Entry::on_registration(action, registration)).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves `registration` on `meeting`'s waiting list by one place or to its
/// head, for `reason`, which goes into the audit log and the meeting's record.
///
/// # Errors
/// [`StoreError::NotFound`] when `registration` is not on the waiting list.
pub async fn move_waitlisted(
    forum: &Forum,
    who: &Actor,
    meeting: MeetingId,
    registration: RegistrationId,
    how: WaitlistMove,
    reason: &Reason,
) -> Result<()> {
    let mut tx = forum.store.begin().await?;
    rsvp::move_waitlisted(&mut tx, meeting, registration, how).await?;
    let to = match how {
        WaitlistMove::Top => "top",
        WaitlistMove::Up => "up",
        WaitlistMove::Down => "down",
    };
    let detail = format!("{to}; reason: {}", reason.as_str());
    let entry = Entry { detail: &detail, ..Entry::on_registration("waitlist.move", registration) };
    let action = format!("waitlist.move.{to}");
    record_change(&mut tx, who, meeting, &entry, &action, Some(registration), reason).await?;
    tx.commit().await?;
    Ok(())
}

/// Puts `first` at the head of `meeting`'s waiting list, in that order; the
/// others keep their order behind them, for `reason`, which goes into the
/// audit log and the meeting's record. Returns the waiting list as it now is.
///
/// # Errors
/// [`Refusal::WaitlistOrder`] when an id is named twice or is not on the
/// waiting list.
pub async fn reorder_waitlist(
    forum: &Forum,
    who: &Actor,
    meeting: MeetingId,
    first: &[RegistrationId],
    reason: &Reason,
) -> Result<Vec<Registration>> {
    let mut tx = forum.store.begin().await?;
    rsvp::reorder_waitlist(&mut tx, meeting, first).await.map_err(|e| match e {
        StoreError::Conflict(why) => Refusal::WaitlistOrder(why).into(),
        other => super::ForumError::from(other),
    })?;
    let count = i64::try_from(first.len()).ok();
    let detail = format!("reason: {}", reason.as_str());
    let entry = Entry {
        action: "waitlist.reorder",
        subject_kind: "meeting",
        subject_id: Some(meeting.uuid()),
        detail: &detail,
        row_count: count,
    };
    let one = if first.len() == 1 { first.first().copied() } else { None };
    record_change(&mut tx, who, meeting, &entry, "waitlist.reorder", one, reason).await?;
    tx.commit().await?;
    let all = forum.store.registrations(meeting).await?;
    Ok(all.into_iter().filter(|r| r.status == RegistrationStatus::Waitlisted).collect())
}

/// Records a change an organiser made to who has a seat or waits at
/// `meeting`: in the audit log as `entry`, and on the meeting's record of
/// seat changes as `action` on `registration` (if one), for `reason`.
pub(super) async fn record_change(
    tx: &mut WriteTx,
    who: &Actor,
    meeting: MeetingId,
    entry: &Entry<'_>,
    action: &str,
    registration: Option<RegistrationId>,
    reason: &Reason,
) -> Result<()> {
    audit::record(tx, who, entry).await?;
    rsvp::record_seat_change(tx, meeting, registration, action, reason, &label(who)).await?;
    Ok(())
}

/// Who acted, as a meeting's record of seat changes names them: the masked
/// address of an organiser, never a full one.
pub(super) fn label(who: &Actor) -> String {
    match who {
        Actor::User { label, .. } => label.clone(),
        Actor::Person(_) => "person".to_owned(),
        Actor::System(what) => (*what).to_owned(),
    }
}

/// Someone who came to the door without a seat: a name, perhaps an
/// organisation and an address, and the track they join.
#[derive(Debug, Clone)]
pub struct WalkIn {
    pub name: Name,
    pub organisation: Option<Name>,
    /// `None`: they gave none; a stand-in that never receives mail is kept.
    pub email: Option<Email>,
    pub track: Option<String>,
}

/// Adds `walk_in` to `meeting` as come: a seat, checked in now, whatever the
/// limits (they are in the room), audited. Someone known by the address
/// keeps their own details. Returns the registration.
///
/// # Errors
/// [`Refusal::UnknownTrack`] for a track that is not the meeting's,
/// [`Refusal::Suppressed`] for an address whose owner left the list or was
/// erased (they can come in without it).
pub async fn walk_in(forum: &Forum, who: &Actor, meeting: &Meeting, walk_in: WalkIn) -> Result<RegistrationId> {
    if walk_in.track.as_deref().is_some_and(|k| !meeting.tracks.iter().any(|t| t.key == k)) {
        return Err(Refusal::UnknownTrack.into());
    }
    let mut tx = forum.store.begin().await?;
    let email = match walk_in.email {
        Some(email) => {
            if let Some(why) = crate::store::suppression::check(&mut tx, &email).await? {
                return Err(Refusal::Suppressed(why).into());
            }
            email
        }
        None => Email::walk_in(),
    };
    let person = NewPerson {
        email,
        name: walk_in.name,
        organisation: walk_in.organisation,
        status: PersonStatus::Guest,
        interests: Vec::new(),
    };
    let (person, _) = insert_person_if_new(&mut tx, &person, None).await?;
    let registration =
        rsvp::walk_in(&mut tx, meeting.id, person, walk_in.track.as_deref(), crate::store::now()).await?;
    audit::record(&mut tx, who, &Entry::on_registration("registration.walk_in", registration)).await?;
    tx.commit().await?;
    Ok(registration)
}

/// Those with a seat at `meeting`, by name, for the printed list at the
/// door; recorded as a read.
///
/// # Errors
/// The database failed.
pub async fn door_list(forum: &Forum, who: &Actor, meeting: MeetingId) -> Result<Vec<Registration>> {
    let mut attending: Vec<_> = forum
        .store
        .registrations(meeting)
        .await?
        .into_iter()
        .filter(|r| r.status == RegistrationStatus::Attending)
        .collect();
    attending.sort_by(|a, b| search_fold(&a.name).cmp(&search_fold(&b.name)).then_with(|| a.id.cmp(&b.id)));
    let entry = Entry::read("checkin.door_list", "meeting", Some(meeting.uuid()), "", attending.len());
    audit::record_read(&forum.store, who, &entry).await?;
    Ok(attending)
}
