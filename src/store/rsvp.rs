//! Answers to invitations and the seats they win: never more seats given than
//! exist, whatever the concurrency.
//!
//! Seat allocation is serialised per meeting: on PostgreSQL by locking the
//! meeting's row (`select … for update`) at the start of the transaction, on
//! SQLite by the single writer (`BEGIN IMMEDIATE` behind the store's write
//! gate). Inside that, the counts are read and the answer written.

use uuid::Uuid;

use super::{Result, Store, StoreError, TxInner, WriteTx, db_time, from_db_time, now, on_pool, on_tx};
use crate::domain::{MeetingId, PersonId, RegistrationId, RegistrationStatus, Timestamp};

/// What a person answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub attend: bool,
    pub track: Option<String>,
    pub diet: String,
    pub access_needs: String,
    pub comment: String,
}

/// What the answer led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat {
    /// A seat.
    Attending,
    /// No seat free (meeting, track or organisation quota): on the waiting list at this place.
    Waitlisted {
        place: i64,
    },
    Declined,
}

/// Whether seat allocation is serialised. Only [`Locking::PerMeeting`] is
/// correct; [`Locking::Off`] exists so that the race tests can show they
/// would catch an oversold meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locking {
    PerMeeting,
    Off,
}

/// A registration with what the RSVP page shows.
#[derive(Debug, Clone)]
pub struct Registration {
    pub id: RegistrationId,
    pub meeting_id: MeetingId,
    pub person_id: PersonId,
    pub status: RegistrationStatus,
    pub track: Option<String>,
    pub diet: String,
    pub access_needs: String,
    pub comment: String,
    pub waitlist_position: Option<i64>,
    pub checked_in_at: Option<Timestamp>,
    pub replaced_by: Option<RegistrationId>,
    pub name: String,
    pub email: String,
    pub organisation: String,
    pub answered_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    meeting_id: Uuid,
    person_id: Uuid,
    status: String,
    track_key: Option<String>,
    diet: String,
    access_needs: String,
    comment: String,
    waitlist_position: Option<i64>,
    checked_in_at: Option<i64>,
    replaced_by: Option<Uuid>,
    name: String,
    email: String,
    organisation: Option<String>,
    answered_at: Option<i64>,
}

const SELECT: &str = "select r.id, r.meeting_id, r.person_id, r.status, r.track_key, r.diet, r.access_needs, \
     r.comment, r.waitlist_position, r.checked_in_at, r.replaced_by, p.name, p.email, o.name as organisation, \
     r.answered_at from registration r join person p on p.id = r.person_id \
     left join organisation o on o.id = p.organisation_id";

impl TryFrom<Row> for Registration {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self> {
        Ok(Self {
            id: RegistrationId::from_uuid(r.id),
            meeting_id: MeetingId::from_uuid(r.meeting_id),
            person_id: PersonId::from_uuid(r.person_id),
            status: RegistrationStatus::parse(&r.status)
                .map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?,
            track: r.track_key,
            diet: r.diet,
            access_needs: r.access_needs,
            comment: r.comment,
            waitlist_position: r.waitlist_position,
            checked_in_at: r.checked_in_at.map(from_db_time),
            replaced_by: r.replaced_by.map(RegistrationId::from_uuid),
            name: r.name,
            email: r.email,
            organisation: r.organisation.unwrap_or_default(),
            answered_at: r.answered_at.map(from_db_time),
        })
    }
}

/// The limits that decide whether a "yes" gets a seat.
#[derive(Debug, Clone, Copy)]
struct Limits {
    capacity: Option<i32>,
    per_organisation: Option<i32>,
    track_capacity: Option<i32>,
}

impl Store {
    /// A registration by id, with the person's details.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn registration(&self, id: RegistrationId) -> Result<Registration> {
        let sql = format!("{SELECT} where r.id = $1");
        let row: Row =
            on_pool!(self, |db| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id.uuid()).fetch_one(db).await?);
        row.try_into()
    }

    /// A meeting's registrations: attending and invited first by name, then
    /// the waiting list in order, then the rest.
    ///
    /// # Errors
    /// The database failed.
    pub async fn registrations(&self, meeting: MeetingId) -> Result<Vec<Registration>> {
        let sql = format!(
            "{SELECT} where r.meeting_id = $1 order by case r.status when 'attending' then 0 when 'waitlisted' then 1 \
             when 'invited' then 2 else 3 end, r.waitlist_position, p.name, r.id"
        );
        let rows: Vec<Row> = on_pool!(self, |db| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(meeting.uuid())
            .fetch_all(db)
            .await?);
        rows.into_iter().map(Registration::try_from).collect()
    }
}

/// Serialises seat allocation for `meeting` until `tx` ends (PostgreSQL row
/// lock; SQLite already has the single writer).
async fn lock_meeting(tx: &mut WriteTx, meeting: MeetingId) -> Result<()> {
    if let TxInner::Postgres(t) = &mut tx.inner {
        sqlx::query("select id from meeting where id = $1 for update").bind(meeting.uuid()).execute(&mut **t).await?;
    }
    Ok(())
}

async fn limits(tx: &mut WriteTx, meeting: MeetingId, track: Option<&str>) -> Result<Limits> {
    let (capacity, per_organisation): (Option<i32>, Option<i32>) = on_tx!(tx, |c| {
        sqlx::query_as("select capacity, per_organisation_limit from meeting where id = $1")
            .bind(meeting.uuid())
            .fetch_one(&mut *c)
            .await?
    });
    let track_capacity = match track {
        None => None,
        Some(key) => on_tx!(tx, |c| {
            sqlx::query_scalar::<_, Option<i32>>("select capacity from track where meeting_id = $1 and key = $2")
                .bind(meeting.uuid())
                .bind(key)
                .fetch_optional(&mut *c)
                .await?
                .flatten()
        }),
    };
    Ok(Limits { capacity, per_organisation, track_capacity })
}

/// Attending people: in all, in the track `$3`, and of the organisation of person `$4`.
const ATTENDING: &str = "select count(*), \
     coalesce(sum(case when r.track_key = $3 then 1 else 0 end), 0), \
     coalesce(sum(case when p.organisation_id is not null and p.organisation_id = \
         (select organisation_id from person where id = $4) then 1 else 0 end), 0) \
     from registration r join person p on p.id = r.person_id \
     where r.meeting_id = $1 and r.status = 'attending' and r.id <> $2";

fn fits((total, in_track, in_org): (i64, i64, i64), track: Option<&str>, l: Limits) -> bool {
    let under = |n: i64, limit: Option<i32>| limit.is_none_or(|l| n < i64::from(l));
    under(total, l.capacity)
        && (track.is_none() || under(in_track, l.track_capacity))
        && under(in_org, l.per_organisation)
}

/// Whether one more person of `reg`'s organisation in `track` fits, as seen inside `tx`.
async fn seat_free(tx: &mut WriteTx, reg: &Registration, track: Option<&str>, l: Limits) -> Result<bool> {
    let counts: (i64, i64, i64) = on_tx!(tx, |c| {
        sqlx::query_as(ATTENDING)
            .bind(reg.meeting_id.uuid())
            .bind(reg.id.uuid())
            .bind(track)
            .bind(reg.person_id.uuid())
            .fetch_one(&mut *c)
            .await?
    });
    Ok(fits(counts, track, l))
}

async fn registration_in(tx: &mut WriteTx, id: RegistrationId) -> Result<Registration> {
    let sql = format!("{SELECT} where r.id = $1");
    let row: Row =
        on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id.uuid()).fetch_one(&mut *c).await?);
    row.try_into()
}

async fn set(
    tx: &mut WriteTx,
    id: RegistrationId,
    status: RegistrationStatus,
    a: &Answer,
    place: Option<i64>,
) -> Result<()> {
    let at = db_time(now());
    on_tx!(tx, |c| {
        sqlx::query(
            "update registration set status = $2, track_key = $3, diet = $4, access_needs = $5, comment = $6, \
             waitlist_position = $7, answered_at = $8, updated_at = $8 where id = $1",
        )
        .bind(id.uuid())
        .bind(status.as_str())
        .bind(a.track.as_deref())
        .bind(&a.diet)
        .bind(&a.access_needs)
        .bind(&a.comment)
        .bind(place)
        .bind(at)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

async fn next_place(tx: &mut WriteTx, meeting: MeetingId) -> Result<i64> {
    let max: Option<i64> = on_tx!(tx, |c| {
        sqlx::query_scalar(
            "select max(waitlist_position) from registration where meeting_id = $1 and status = 'waitlisted'",
        )
        .bind(meeting.uuid())
        .fetch_one(&mut *c)
        .await?
    });
    Ok(max.unwrap_or(0) + 1)
}

/// The place of a waitlisted registration: 1 for the first in line.
async fn place_of(tx: &mut WriteTx, reg: RegistrationId, meeting: MeetingId, position: i64) -> Result<i64> {
    let ahead: i64 = on_tx!(tx, |c| {
        sqlx::query_scalar(
            "select count(*) from registration where meeting_id = $1 and status = 'waitlisted' \
             and (waitlist_position < $2 or (waitlist_position = $2 and id < $3))",
        )
        .bind(meeting.uuid())
        .bind(position)
        .bind(reg.uuid())
        .fetch_one(&mut *c)
        .await?
    });
    Ok(ahead + 1)
}

/// Records an answer and returns the open transaction with what the answer
/// led to, plus the people promoted from the waiting list because a seat came
/// free (in promotion order). The caller queues the mails in that transaction
/// and commits it.
///
/// # Errors
/// The database failed; [`StoreError::Conflict`] for a registration that was
/// passed on to a colleague.
pub async fn answer(
    store: &Store,
    id: RegistrationId,
    a: &Answer,
    locking: Locking,
) -> Result<(WriteTx, Seat, Vec<RegistrationId>)> {
    let track = a.track.as_deref();
    // Without serialisation the seat is judged before the write transaction,
    // as a naive implementation would: concurrent answers then all see the
    // same last seat. Only the race tests' control uses this.
    let judged_early = match locking {
        Locking::PerMeeting => None,
        Locking::Off => {
            let reg = store.registration(id).await?;
            let counts: (i64, i64, i64) = on_pool!(store, |db| {
                sqlx::query_as(ATTENDING)
                    .bind(reg.meeting_id.uuid())
                    .bind(reg.id.uuid())
                    .bind(track)
                    .bind(reg.person_id.uuid())
                    .fetch_one(db)
                    .await?
            });
            let mut tx = store.begin().await?;
            let l = limits(&mut tx, reg.meeting_id, track).await?;
            drop(tx);
            tokio::task::yield_now().await;
            Some(fits(counts, track, l))
        }
    };
    let mut tx = store.begin().await?;
    let reg = registration_in(&mut tx, id).await?;
    if reg.replaced_by.is_some() {
        return Err(StoreError::Conflict("the invitation was passed on to a colleague".into()));
    }
    if locking == Locking::PerMeeting {
        lock_meeting(&mut tx, reg.meeting_id).await?;
    }
    if !a.attend {
        set(&mut tx, id, RegistrationStatus::Declined, a, None).await?;
        let promoted = if reg.status == RegistrationStatus::Attending {
            promote(&mut tx, reg.meeting_id).await?
        } else {
            Vec::new()
        };
        return Ok((tx, Seat::Declined, promoted));
    }
    if reg.status == RegistrationStatus::Attending && reg.track.as_deref() == track {
        set(&mut tx, id, RegistrationStatus::Attending, a, None).await?;
        return Ok((tx, Seat::Attending, Vec::new()));
    }
    let free = if let Some(free) = judged_early {
        free
    } else {
        let l = limits(&mut tx, reg.meeting_id, track).await?;
        seat_free(&mut tx, &reg, track, l).await?
    };
    if free {
        set(&mut tx, id, RegistrationStatus::Attending, a, None).await?;
        // Moving to another track frees a seat in the old one.
        let promoted = if reg.status == RegistrationStatus::Attending {
            promote(&mut tx, reg.meeting_id).await?
        } else {
            Vec::new()
        };
        return Ok((tx, Seat::Attending, promoted));
    }
    let position = match (reg.status, reg.waitlist_position) {
        (RegistrationStatus::Waitlisted, Some(p)) => p,
        _ => next_place(&mut tx, reg.meeting_id).await?,
    };
    set(&mut tx, id, RegistrationStatus::Waitlisted, a, Some(position)).await?;
    let place = place_of(&mut tx, id, reg.meeting_id, position).await?;
    Ok((tx, Seat::Waitlisted { place }, Vec::new()))
}

/// Gives free seats to the waiting list, first come first served, skipping
/// those whose track or organisation is still full.
async fn promote(tx: &mut WriteTx, meeting: MeetingId) -> Result<Vec<RegistrationId>> {
    let sql =
        format!("{SELECT} where r.meeting_id = $1 and r.status = 'waitlisted' order by r.waitlist_position, r.id");
    let waiting: Vec<Row> = on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(meeting.uuid())
        .fetch_all(&mut *c)
        .await?);
    let mut promoted = Vec::new();
    for row in waiting {
        let reg: Registration = row.try_into()?;
        let limits = limits(tx, meeting, reg.track.as_deref()).await?;
        if seat_free(tx, &reg, reg.track.as_deref(), limits).await? {
            let answer = Answer {
                attend: true,
                track: reg.track.clone(),
                diet: reg.diet.clone(),
                access_needs: reg.access_needs.clone(),
                comment: reg.comment.clone(),
            };
            set(tx, reg.id, RegistrationStatus::Attending, &answer, None).await?;
            promoted.push(reg.id);
        } else if limits.capacity.is_some_and(|c| c <= 0) {
            break;
        }
    }
    Ok(promoted)
}

/// Records a check-in at the door (or undoes it with `at = None`).
///
/// # Errors
/// [`StoreError::NotFound`] when the registration is not an attending one of this meeting.
pub async fn check_in(tx: &mut WriteTx, meeting: MeetingId, id: RegistrationId, at: Option<Timestamp>) -> Result<()> {
    let n = on_tx!(tx, |c| {
        sqlx::query("update registration set checked_in_at = $3, updated_at = $4 where id = $1 and meeting_id = $2 and status = 'attending'")
            .bind(id.uuid())
            .bind(meeting.uuid())
            .bind(at.map(db_time))
            .bind(db_time(now()))
            .execute(&mut *c)
            .await?
            .rows_affected()
    });
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Passes an invitation on to a colleague: the colleague gets a registration
/// of their own (as invited), the original one is cancelled and points to it,
/// so its link stops working. A seat the original person held is given to the
/// waiting list. Returns the new registration and those promoted.
///
/// # Errors
/// [`StoreError::Conflict`] when the colleague already has a registration for
/// the meeting or the invitation was passed on before.
pub async fn pass_on(
    tx: &mut WriteTx,
    from: RegistrationId,
    colleague: PersonId,
) -> Result<(RegistrationId, Vec<RegistrationId>)> {
    let reg = registration_in(tx, from).await?;
    if reg.replaced_by.is_some() {
        return Err(StoreError::Conflict("the invitation was passed on before".into()));
    }
    lock_meeting(tx, reg.meeting_id).await?;
    let (new, created) = super::registrations::ensure_invited(tx, reg.meeting_id, colleague).await?;
    if !created {
        return Err(StoreError::Conflict("the colleague is already invited to this meeting".into()));
    }
    let at = db_time(now());
    on_tx!(tx, |c| {
        sqlx::query(
            "update registration set status = 'cancelled', replaced_by = $2, waitlist_position = null, \
             updated_at = $3 where id = $1",
        )
        .bind(from.uuid())
        .bind(new.uuid())
        .bind(at)
        .execute(&mut *c)
        .await?;
    });
    let promoted =
        if reg.status == RegistrationStatus::Attending { promote(tx, reg.meeting_id).await? } else { Vec::new() };
    Ok((new, promoted))
}
