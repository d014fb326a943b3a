//! Answers to invitations and the seats they win: never more seats given than
//! exist, whatever the concurrency.
//!
//! Seat allocation is serialised per meeting: on PostgreSQL by locking the
//! meeting's row (`select … for update`) at the start of the transaction, on
//! SQLite by the single writer (`BEGIN IMMEDIATE` behind the store's write
//! gate). Inside that, the counts are read and the answer written.

use uuid::Uuid;

use super::subscriptions::{Consent, LinkToken, sha256_hex};
use super::{Result, Store, StoreError, WriteTx, db_time, dialect, from_db_time, now, on_pool, on_tx};
use crate::domain::seating::{Applicant, Draw, DrawLimits};
use crate::domain::{
    Allocation, DrawSeed, Email, MeetingId, PersonId, Reason, RegistrationId, RegistrationStatus, SeatLimits, Taken,
    Timestamp, TokenHash, TokenPurpose, WaitReason,
};

/// The purpose of a consent record for naming the person's organisation on a
/// meeting's public list of participants.
pub const LISTING_PURPOSE: &str = "participant-listing";

/// What a person answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub attend: bool,
    pub track: Option<String>,
    pub diet: String,
    pub access_needs: String,
    pub comment: String,
    /// Consent, with its evidence, to name the person's organisation on the
    /// meeting's public list of participants; `None` withdraws one given before.
    pub listing: Option<Consent>,
}

/// What the answer led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat {
    /// A seat.
    Attending,
    /// No seat free: on the waiting list at this place, for the reason `why`
    /// (the meeting, the track or the organisation's quota is full).
    Waitlisted {
        place: i64,
        why: WaitReason,
    },
    Declined,
    /// An application for a seat in a lottery not yet drawn.
    Applied,
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
    /// The person agreed to have their organisation named on the public list of participants.
    pub list_organisation: bool,
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
    list_organisation: bool,
}

/// A registration read with the link that leads to it.
#[derive(sqlx::FromRow)]
struct LinkRow {
    link_person_id: Option<Uuid>,
    link_expires_at: Option<i64>,
    link_used_at: Option<i64>,
    #[sqlx(flatten)]
    registration: Row,
}

const SELECT: &str = "select r.id, r.meeting_id, r.person_id, r.status, r.track_key, r.diet, r.access_needs, \
     r.comment, r.waitlist_position, r.checked_in_at, r.replaced_by, p.name, p.email, o.name as organisation, \
     r.answered_at, r.list_organisation from registration r join person p on p.id = r.person_id \
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
            list_organisation: r.list_organisation,
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

    /// The registration a link of `purpose` with `hash` leads to, with the
    /// link, in one read; `None` when there is no such link or it leads to
    /// no registration.
    ///
    /// # Errors
    /// The database failed.
    pub async fn registration_by_link(
        &self,
        hash: &TokenHash,
        purpose: TokenPurpose,
    ) -> Result<Option<(LinkToken, Registration)>> {
        let sql = format!(
            "select t.person_id as link_person_id, t.expires_at as link_expires_at, t.used_at as link_used_at, {} \
             join link_token t on t.registration_id = r.id where t.hash = $1 and t.purpose = $2",
            SELECT.trim_start_matches("select ")
        );
        let row: Option<LinkRow> = on_pool!(self, |db| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(hash.as_bytes())
            .bind(purpose.as_str())
            .fetch_optional(db)
            .await?);
        let Some(row) = row else { return Ok(None) };
        let link = LinkToken {
            person_id: row.link_person_id.map(PersonId::from_uuid),
            registration_id: Some(RegistrationId::from_uuid(row.registration.id)),
            expires_at: row.link_expires_at.map(from_db_time),
            used_at: row.link_used_at.map(from_db_time),
        };
        Ok(Some((link, row.registration.try_into()?)))
    }

    /// The registration of the person with address `email` to `meeting`, if any.
    ///
    /// # Errors
    /// The database failed.
    pub async fn registration_by_email(&self, meeting: MeetingId, email: &Email) -> Result<Option<Registration>> {
        let sql = format!("{SELECT} where r.meeting_id = $1 and p.email = $2");
        let row: Option<Row> = on_pool!(self, |db| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(meeting.uuid())
            .bind(email.as_str())
            .fetch_optional(db)
            .await?);
        row.map(Registration::try_from).transpose()
    }

    /// A meeting's registrations: attending and invited first by name, then
    /// the waiting list in order, then the rest.
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
    dialect::lock_seats(tx, dialect::SeatLock::Meeting(meeting.uuid())).await
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

/// What keeps a seat from someone with `counts` (in all, in `track`, of
/// their organisation) under `l`; `None` when one fits.
fn wait_reason((total, in_track, in_org): (i64, i64, i64), track: Option<&str>, l: Limits) -> Option<WaitReason> {
    let taken = Taken { total, in_track, in_organisation: in_org };
    let limits = SeatLimits {
        capacity: l.capacity.map(i64::from),
        track_capacity: l.track_capacity.filter(|_| track.is_some()).map(i64::from),
        per_organisation: l.per_organisation.map(i64::from),
    };
    WaitReason::judge(taken, limits)
}

fn fits(counts: (i64, i64, i64), track: Option<&str>, l: Limits) -> bool {
    wait_reason(counts, track, l).is_none()
}

/// People attending besides `reg`: in all, in `track`, and of `reg`'s organisation, as seen inside `tx`.
async fn attending(tx: &mut WriteTx, reg: &Registration, track: Option<&str>) -> Result<(i64, i64, i64)> {
    Ok(on_tx!(tx, |c| {
        sqlx::query_as(ATTENDING)
            .bind(reg.meeting_id.uuid())
            .bind(reg.id.uuid())
            .bind(track)
            .bind(reg.person_id.uuid())
            .fetch_one(&mut *c)
            .await?
    }))
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

/// Everything an answer is judged on, read in one statement: the
/// registration, the meeting's limits, and the counts of people attending
/// (in all, in the chosen track, from the same organisation) and waiting.
#[derive(sqlx::FromRow)]
struct Standing {
    meeting_id: Uuid,
    person_id: Uuid,
    status: String,
    track_key: Option<String>,
    waitlist_position: Option<i64>,
    replaced_by: Option<Uuid>,
    list_organisation: bool,
    capacity: Option<i32>,
    per_organisation_limit: Option<i32>,
    track_capacity: Option<i32>,
    total: i64,
    in_track: i64,
    in_org: i64,
    last_place: Option<i64>,
    /// People waiting ahead of this registration: all who wait, when it does not.
    ahead: i64,
    allocation: String,
    drawn_at: Option<i64>,
}

/// Binds: `$1` the registration, `$2` the chosen track.
const STANDING: &str = "select r.meeting_id, r.person_id, r.status, r.track_key, r.waitlist_position, \
     r.replaced_by, r.list_organisation, m.capacity, m.per_organisation_limit, \
     (select t.capacity from track t where t.meeting_id = r.meeting_id and t.key = $2) as track_capacity, \
     (select count(*) from registration a where a.meeting_id = r.meeting_id and a.status = 'attending' \
         and a.id <> r.id) as total, \
     (select count(*) from registration a where a.meeting_id = r.meeting_id and a.status = 'attending' \
         and a.id <> r.id and a.track_key = $2) as in_track, \
     (select count(*) from registration a join person q on q.id = a.person_id where a.meeting_id = r.meeting_id \
         and a.status = 'attending' and a.id <> r.id and q.organisation_id = p.organisation_id) as in_org, \
     (select max(w.waitlist_position) from registration w where w.meeting_id = r.meeting_id \
         and w.status = 'waitlisted') as last_place, \
     (select count(*) from registration w where w.meeting_id = r.meeting_id and w.status = 'waitlisted' \
         and w.id <> r.id and (r.status <> 'waitlisted' or w.waitlist_position < r.waitlist_position \
         or (w.waitlist_position = r.waitlist_position and w.id < r.id))) as ahead, \
     m.allocation, m.drawn_at \
     from registration r join meeting m on m.id = r.meeting_id join person p on p.id = r.person_id \
     where r.id = $1";

impl Standing {
    /// What keeps a seat in `track` from this registration; `None` when one fits.
    fn wait_reason(&self, track: Option<&str>) -> Option<WaitReason> {
        let limits = Limits {
            capacity: self.capacity,
            per_organisation: self.per_organisation_limit,
            track_capacity: self.track_capacity,
        };
        wait_reason((self.total, self.in_track, self.in_org), track, limits)
    }

    fn fits(&self, track: Option<&str>) -> bool {
        self.wait_reason(track).is_none()
    }
}

impl Store {
    /// Why registration `id` waits for a seat, as [`why_waiting`] judges it now.
    ///
    /// # Errors
    /// The database failed; [`StoreError::NotFound`] for an unknown registration.
    pub async fn why_waiting(&self, id: RegistrationId) -> Result<WaitReason> {
        let mut tx = self.begin().await?;
        let why = why_waiting(&mut tx, id).await?;
        // Nothing was written: the transaction only gave a consistent read.
        tx.commit().await?;
        Ok(why)
    }
}

/// Why registration `id` waits for a seat in its track, as `tx` sees the
/// meeting now. Someone who would fit waits behind others on the list, and
/// so for a full meeting.
///
/// # Errors
/// The database failed; [`StoreError::NotFound`] for an unknown registration.
pub async fn why_waiting(tx: &mut WriteTx, id: RegistrationId) -> Result<WaitReason> {
    let track: Option<String> = on_tx!(tx, |c| {
        sqlx::query_scalar("select track_key from registration where id = $1")
            .bind(id.uuid())
            .fetch_optional(&mut *c)
            .await?
            .ok_or(StoreError::NotFound)?
    });
    let s: Standing =
        on_tx!(tx, |c| sqlx::query_as(STANDING).bind(id.uuid()).bind(track.as_deref()).fetch_one(&mut *c).await?);
    Ok(s.wait_reason(track.as_deref()).unwrap_or(WaitReason::MeetingFull))
}

/// Records an answer and returns the open transaction with what the answer
/// led to, plus the people promoted from the waiting list because a seat came
/// free (in promotion order). The caller queues the mails in that transaction
/// and commits it.
///
/// Inside the serialised part an answer costs few statements: the meeting's
/// lock (PostgreSQL), one read of everything the seat depends on, and one
/// write — each statement there is time every other answer waits.
///
/// # Errors
/// The database failed; [`StoreError::NotFound`] for an unknown registration;
/// [`StoreError::Conflict`] for a registration that was passed on to a colleague.
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
            let s: Standing =
                on_pool!(store, |db| sqlx::query_as(STANDING).bind(id.uuid()).bind(track).fetch_one(db).await?);
            tokio::task::yield_now().await;
            Some(s.fits(track))
        }
    };
    let mut tx = store.begin().await?;
    if locking == Locking::PerMeeting {
        lock_meeting_of(&mut tx, id).await?;
    }
    let (seat, _, promoted) = decide(&mut tx, None, id, a, judged_early).await?;
    Ok((tx, seat, promoted))
}

/// Serialises seat allocation for `meeting` until `tx` ends, for a batch of
/// answers recorded with [`answer_locked`].
pub async fn lock_for_answers(tx: &mut WriteTx, meeting: MeetingId) -> Result<()> {
    lock_meeting(tx, meeting).await
}

/// Gives the seats a change to the meeting freed (a higher capacity, a track
/// with more seats or a new one) to the waiting list, in its order, under the
/// meeting's lock. Returns those promoted; their mails are the caller's.
pub async fn fill_free_seats(tx: &mut WriteTx, meeting: MeetingId) -> Result<Vec<RegistrationId>> {
    lock_meeting(tx, meeting).await?;
    promote(tx, meeting).await
}

/// Records one answer of a batch, in a transaction that holds the meeting's
/// lock ([`lock_for_answers`]): each answer is judged after those recorded
/// before it in the transaction, exactly as if they came one at a time.
/// Returns what the answer led to, whether the person held a seat before it,
/// and the people promoted.
///
/// # Errors
/// The database failed; [`StoreError::NotFound`] when the registration is not
/// one of `meeting`; [`StoreError::Conflict`] for a registration that was
/// passed on to a colleague.
pub async fn answer_locked(
    tx: &mut WriteTx,
    meeting: MeetingId,
    id: RegistrationId,
    a: &Answer,
) -> Result<(Seat, bool, Vec<RegistrationId>)> {
    decide(tx, Some(meeting), id, a, None).await
}

/// The seat for an answer, judged on what `tx` sees (or on `judged_early`,
/// the control's stale judgment), written to the registration; with whether
/// the registration held a seat before.
async fn decide(
    tx: &mut WriteTx,
    expected_meeting: Option<MeetingId>,
    id: RegistrationId,
    a: &Answer,
    judged_early: Option<bool>,
) -> Result<(Seat, bool, Vec<RegistrationId>)> {
    let track = a.track.as_deref();
    let s: Standing =
        on_tx!(tx, |c| sqlx::query_as(STANDING).bind(id.uuid()).bind(track).fetch_optional(&mut *c).await?)
            .ok_or(StoreError::NotFound)?;
    let meeting = MeetingId::from_uuid(s.meeting_id);
    if expected_meeting.is_some_and(|m| m != meeting) {
        return Err(StoreError::NotFound);
    }
    if s.replaced_by.is_some() {
        return Err(StoreError::Conflict("the invitation was passed on to a colleague".into()));
    }
    let status =
        RegistrationStatus::parse(&s.status).map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?;
    let listed = Listed { id, person: PersonId::from_uuid(s.person_id), meeting, now: s.list_organisation };
    record_listing(tx, &listed, a.listing.as_ref()).await?;
    let held = status == RegistrationStatus::Attending;
    if !a.attend {
        set(tx, id, RegistrationStatus::Declined, a, None).await?;
        let promoted = if status == RegistrationStatus::Attending { promote(tx, meeting).await? } else { Vec::new() };
        return Ok((Seat::Declined, held, promoted));
    }
    if status == RegistrationStatus::Attending && s.track_key.as_deref() == track {
        set(tx, id, RegistrationStatus::Attending, a, None).await?;
        return Ok((Seat::Attending, held, Vec::new()));
    }
    if s.allocation == Allocation::Lottery.as_str() && s.drawn_at.is_none() {
        // An application: on the waiting list without a number until the draw.
        set(tx, id, RegistrationStatus::Waitlisted, a, None).await?;
        return Ok((Seat::Applied, held, Vec::new()));
    }
    if judged_early.unwrap_or_else(|| s.fits(track)) {
        set(tx, id, RegistrationStatus::Attending, a, None).await?;
        // Moving to another track frees a seat in the old one.
        let promoted = if status == RegistrationStatus::Attending { promote(tx, meeting).await? } else { Vec::new() };
        return Ok((Seat::Attending, held, promoted));
    }
    let position = match (status, s.waitlist_position) {
        (RegistrationStatus::Waitlisted, Some(p)) => p,
        _ => s.last_place.unwrap_or(0) + 1,
    };
    set(tx, id, RegistrationStatus::Waitlisted, a, Some(position)).await?;
    // Someone with a seat who asks for a full track gives up the seat they had.
    let promoted = if status == RegistrationStatus::Attending { promote(tx, meeting).await? } else { Vec::new() };
    let why = s.wait_reason(track).unwrap_or(WaitReason::MeetingFull);
    Ok((Seat::Waitlisted { place: s.ahead + 1, why }, held, promoted))
}

/// Serialises seat allocation for the meeting of registration `id` until
/// `tx` ends, as [`lock_meeting`] does.
async fn lock_meeting_of(tx: &mut WriteTx, id: RegistrationId) -> Result<()> {
    dialect::lock_seats(tx, dialect::SeatLock::MeetingOf(id.uuid())).await
}

/// Gives free seats to the waiting list, first come first served, skipping
/// those whose track or organisation is still full.
async fn promote(tx: &mut WriteTx, meeting: MeetingId) -> Result<Vec<RegistrationId>> {
    if lottery_pending(tx, meeting).await? {
        // Seats of a lottery are drawn, not handed to whoever applied first.
        return Ok(Vec::new());
    }
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
        let counts = attending(tx, &reg, reg.track.as_deref()).await?;
        if limits.capacity.is_some_and(|c| counts.0 >= i64::from(c)) {
            // The meeting is full: nobody further down the list fits either.
            break;
        }
        if fits(counts, reg.track.as_deref(), limits) {
            let answer = Answer {
                attend: true,
                track: reg.track.clone(),
                diet: reg.diet.clone(),
                access_needs: reg.access_needs.clone(),
                comment: reg.comment.clone(),
                listing: None,
            };
            set(tx, reg.id, RegistrationStatus::Attending, &answer, None).await?;
            promoted.push(reg.id);
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

/// What passing an invitation on did: the colleague's registration, where
/// it stands, and who got a seat from the waiting list because of it.
#[derive(Debug, Clone)]
pub struct PassedOn {
    /// The colleague's registration.
    pub registration: RegistrationId,
    /// The seat or the place on the waiting list the colleague took over;
    /// `None` when there was none to take over (an unanswered or declined
    /// invitation, or a colleague at another organisation), and the colleague
    /// has a plain invitation.
    pub seat: Option<Seat>,
    /// Who got a seat because the holder's was freed instead of moved.
    pub promoted: Vec<RegistrationId>,
}

/// The outcome of passing an invitation on.
#[derive(Debug, Clone)]
pub enum PassOn {
    Done(PassedOn),
    /// The invitation went to a colleague before.
    PassedBefore,
    /// The colleague has an invitation to the meeting already.
    ColleagueInvited,
}

/// Passes the invitation `from` on to `colleague`. A seat moves with its
/// track, and a place on the waiting list with its number, when the
/// colleague is at the holder's organisation (so the per-organisation limit
/// stays as it was); diet, access needs, comment and the consent to be
/// listed are the holder's and stay behind. Otherwise the colleague gets a
/// plain invitation and a seat the holder had goes to the waiting list.
/// The holder's registration is cancelled and points to the colleague's.
///
/// The meeting is locked before the registration is read, so an answer
/// recorded at the same moment is seen, never a stale seat.
///
/// # Errors
/// The database failed.
pub async fn pass_on(tx: &mut WriteTx, from: RegistrationId, colleague: PersonId) -> Result<PassOn> {
    lock_meeting_of(tx, from).await?;
    let reg = registration_in(tx, from).await?;
    pass_on_judged(tx, &reg, colleague).await
}

/// The moves of [`pass_on`], judged on `reg` as given. Correct only with a
/// `reg` read after the meeting was locked; the race tests' control passes
/// one read before, to show what a stale seat would do.
///
/// # Errors
/// As [`pass_on`].
pub async fn pass_on_judged(tx: &mut WriteTx, reg: &Registration, colleague: PersonId) -> Result<PassOn> {
    if reg.replaced_by.is_some() {
        return Ok(PassOn::PassedBefore);
    }
    let (new, created) = super::registrations::ensure_invited(tx, reg.meeting_id, colleague).await?;
    if !created {
        return Ok(PassOn::ColleagueInvited);
    }
    let organisations: Vec<Option<Uuid>> = on_tx!(tx, |c| {
        sqlx::query_scalar("select organisation_id from person where id in ($1, $2)")
            .bind(reg.person_id.uuid())
            .bind(colleague.uuid())
            .fetch_all(&mut *c)
            .await?
    });
    let same_organisation = organisations.len() == 2 && organisations[0] == organisations[1];
    let moves =
        same_organisation && matches!(reg.status, RegistrationStatus::Attending | RegistrationStatus::Waitlisted);
    let at = db_time(now());
    on_tx!(tx, |c| {
        sqlx::query(
            "update registration set status = 'cancelled', replaced_by = $2, waitlist_position = null, \
             updated_at = $3 where id = $1",
        )
        .bind(reg.id.uuid())
        .bind(new.uuid())
        .bind(at)
        .execute(&mut *c)
        .await?;
        if moves {
            sqlx::query(
                "update registration set status = $2, track_key = $3, waitlist_position = $4, answered_at = $5, \
                 updated_at = $5 where id = $1",
            )
            .bind(new.uuid())
            .bind(reg.status.as_str())
            .bind(reg.track.as_deref())
            .bind(reg.waitlist_position)
            .bind(at)
            .execute(&mut *c)
            .await?;
        }
    });
    let seat = match (moves, reg.status) {
        (true, RegistrationStatus::Attending) => Some(Seat::Attending),
        (true, _) => {
            let ahead: i64 = on_tx!(tx, |c| {
                sqlx::query_scalar(
                    "select count(*) from registration where meeting_id = $1 and status = 'waitlisted' \
                     and waitlist_position < $2",
                )
                .bind(reg.meeting_id.uuid())
                .bind(reg.waitlist_position.unwrap_or(0))
                .fetch_one(&mut *c)
                .await?
            });
            let why = why_waiting(tx, new).await?;
            Some(Seat::Waitlisted { place: ahead + 1, why })
        }
        (false, _) => None,
    };
    let promoted = if reg.status == RegistrationStatus::Attending && !moves {
        promote(tx, reg.meeting_id).await?
    } else {
        Vec::new()
    };
    Ok(PassOn::Done(PassedOn { registration: new, seat, promoted }))
}

/// A registration's consent to a public listing, as it stands.
struct Listed {
    id: RegistrationId,
    person: PersonId,
    meeting: MeetingId,
    now: bool,
}

/// Sets whether the organisation of `reg` may be named on the meeting's public
/// list of participants, with a consent record when it is given and the
/// record marked withdrawn when it is taken back. An unchanged choice writes nothing.
async fn record_listing(tx: &mut WriteTx, reg: &Listed, consent: Option<&Consent>) -> Result<()> {
    if consent.is_some() == reg.now {
        return Ok(());
    }
    let at = db_time(now());
    on_tx!(tx, |c| {
        sqlx::query("update registration set list_organisation = $2, updated_at = $3 where id = $1")
            .bind(reg.id.uuid())
            .bind(consent.is_some())
            .bind(at)
            .execute(&mut *c)
            .await?;
        match consent {
            Some(k) => {
                sqlx::query(
                    "insert into consent (id, person_id, purpose, text_shown, text_version, method, given_at, \
                     requested_at, confirmed_at, text_hash, proof, meeting_id) \
                     values ($1, $2, $3, $4, $5, $6, $7, $7, $7, $8, $9, $10)",
                )
                .bind(Uuid::now_v7())
                .bind(reg.person.uuid())
                .bind(LISTING_PURPOSE)
                .bind(&k.text)
                .bind(&k.version)
                .bind(k.method)
                .bind(at)
                .bind(sha256_hex(&k.text))
                .bind(&k.proof)
                .bind(reg.meeting.uuid())
                .execute(&mut *c)
                .await?;
            }
            None => {
                sqlx::query(
                    "update consent set withdrawn_at = $4 where person_id = $1 and purpose = $2 \
                     and meeting_id = $3 and withdrawn_at is null",
                )
                .bind(reg.person.uuid())
                .bind(LISTING_PURPOSE)
                .bind(reg.meeting.uuid())
                .bind(at)
                .execute(&mut *c)
                .await?;
            }
        }
    });
    Ok(())
}

/// A move on the waiting list, made by an organiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitlistMove {
    /// To the head of the list: the next seat that comes free is theirs.
    Top,
    /// One place ahead.
    Up,
    /// One place back.
    Down,
}

/// The meeting's waiting list in order, first in line first.
async fn waitlist_in(tx: &mut WriteTx, meeting: MeetingId) -> Result<Vec<RegistrationId>> {
    let ids: Vec<Uuid> = on_tx!(tx, |c| {
        sqlx::query_scalar(
            "select id from registration where meeting_id = $1 and status = 'waitlisted' \
             order by waitlist_position, id",
        )
        .bind(meeting.uuid())
        .fetch_all(&mut *c)
        .await?
    });
    Ok(ids.into_iter().map(RegistrationId::from_uuid).collect())
}

/// Numbers the waiting list 1, 2, … in the given order. People who join
/// later are placed after the highest number, so they still queue at the end.
async fn renumber(tx: &mut WriteTx, order: &[RegistrationId]) -> Result<()> {
    let at = db_time(now());
    for (i, id) in order.iter().enumerate() {
        let position = i64::try_from(i).unwrap_or(i64::MAX - 1) + 1;
        on_tx!(tx, |c| {
            sqlx::query(
                "update registration set waitlist_position = $2, updated_at = $3 \
                 where id = $1 and waitlist_position <> $2",
            )
            .bind(id.uuid())
            .bind(position)
            .bind(at)
            .execute(&mut *c)
            .await?;
        });
    }
    Ok(())
}

/// Puts `first` at the head of the meeting's waiting list, in that order;
/// everyone else keeps their order behind them. Returns the new order.
/// Seats that come free later go to the waiting list in this order.
///
/// # Errors
/// [`StoreError::Conflict`] when an id is named twice or is not on this
/// meeting's waiting list.
pub async fn reorder_waitlist(
    tx: &mut WriteTx,
    meeting: MeetingId,
    first: &[RegistrationId],
) -> Result<Vec<RegistrationId>> {
    lock_meeting(tx, meeting).await?;
    let current = waitlist_in(tx, meeting).await?;
    for (i, id) in first.iter().enumerate() {
        if !current.contains(id) {
            return Err(StoreError::Conflict(format!("{id} is not on this meeting's waiting list")));
        }
        if first[..i].contains(id) {
            return Err(StoreError::Conflict(format!("{id} is named twice")));
        }
    }
    let order: Vec<RegistrationId> =
        first.iter().copied().chain(current.into_iter().filter(|id| !first.contains(id))).collect();
    renumber(tx, &order).await?;
    Ok(order)
}

/// Moves one person on the meeting's waiting list. Returns the new order.
///
/// # Errors
/// [`StoreError::NotFound`] when `id` is not on this meeting's waiting list.
pub async fn move_waitlisted(
    tx: &mut WriteTx,
    meeting: MeetingId,
    id: RegistrationId,
    how: WaitlistMove,
) -> Result<Vec<RegistrationId>> {
    lock_meeting(tx, meeting).await?;
    let mut order = waitlist_in(tx, meeting).await?;
    let i = order.iter().position(|r| *r == id).ok_or(StoreError::NotFound)?;
    match how {
        WaitlistMove::Top => {
            let moved = order.remove(i);
            order.insert(0, moved);
        }
        WaitlistMove::Up if i > 0 => order.swap(i, i - 1),
        WaitlistMove::Down if i + 1 < order.len() => order.swap(i, i + 1),
        WaitlistMove::Up | WaitlistMove::Down => {}
    }
    renumber(tx, &order).await?;
    Ok(order)
}

/// Whether `meeting` hands out its seats by a lottery not yet drawn.
async fn lottery_pending(tx: &mut WriteTx, meeting: MeetingId) -> Result<bool> {
    let n: i64 = on_tx!(tx, |c| {
        sqlx::query_scalar("select count(*) from meeting where id = $1 and allocation = 'lottery' and drawn_at is null")
            .bind(meeting.uuid())
            .fetch_one(&mut *c)
            .await?
    });
    Ok(n > 0)
}

impl Store {
    /// Lottery meetings whose application window closed by `at` and which are not drawn yet.
    pub async fn lotteries_due(&self, at: Timestamp) -> Result<Vec<MeetingId>> {
        let ids: Vec<Uuid> = on_pool!(self, |db| {
            sqlx::query_scalar(
                "select id from meeting where allocation = 'lottery' and drawn_at is null \
                 and applications_close_at <= $1 and status in ('published', 'open') \
                 order by applications_close_at, id",
            )
            .bind(db_time(at))
            .fetch_all(db)
            .await?
        });
        Ok(ids.into_iter().map(MeetingId::from_uuid).collect())
    }
}

/// Draws the seats of lottery meeting `meeting` from `seed` among those who
/// applied (see [`crate::domain::seating`]), records the seed and the time
/// `at` on the meeting, and writes each applicant's seat or numbered place
/// on the waiting list. The seed is recorded by a conditional update, which
/// also serialises the draw with the answers: of several instances trying at
/// once, one draws and the others get `None`, as they do for a meeting that
/// is no lottery or was drawn before.
///
/// # Errors
/// The database failed.
pub async fn draw(
    tx: &mut WriteTx,
    meeting: MeetingId,
    seed: &DrawSeed,
    at: Timestamp,
) -> Result<Option<Draw<RegistrationId>>> {
    let n = on_tx!(tx, |c| {
        sqlx::query(
            "update meeting set draw_seed = $2, drawn_at = $3 \
             where id = $1 and allocation = 'lottery' and drawn_at is null",
        )
        .bind(meeting.uuid())
        .bind(seed.to_hex())
        .bind(db_time(at))
        .execute(&mut *c)
        .await?
        .rows_affected()
    });
    if n == 0 {
        return Ok(None);
    }
    let (capacity, per_organisation): (Option<i32>, Option<i32>) = on_tx!(tx, |c| {
        sqlx::query_as("select capacity, per_organisation_limit from meeting where id = $1")
            .bind(meeting.uuid())
            .fetch_one(&mut *c)
            .await?
    });
    let tracks: Vec<(String, Option<i32>)> = on_tx!(tx, |c| {
        sqlx::query_as("select key, capacity from track where meeting_id = $1")
            .bind(meeting.uuid())
            .fetch_all(&mut *c)
            .await?
    });
    let people: Vec<(Uuid, String, Option<Uuid>, Option<String>)> = on_tx!(tx, |c| {
        sqlx::query_as(
            "select r.id, r.status, p.organisation_id, r.track_key from registration r \
             join person p on p.id = r.person_id \
             where r.meeting_id = $1 and r.status in ('attending', 'waitlisted')",
        )
        .bind(meeting.uuid())
        .fetch_all(&mut *c)
        .await?
    });
    let mut limits = DrawLimits {
        capacity: capacity.map(i64::from),
        per_organisation: per_organisation.map(i64::from),
        track_capacity: tracks.into_iter().filter_map(|(k, c)| c.map(|c| (k, i64::from(c)))).collect(),
        seated: Vec::new(),
    };
    let mut applicants = Vec::new();
    for (id, status, organisation, track) in people {
        if status == RegistrationStatus::Attending.as_str() {
            limits.seated.push((organisation, track));
        } else {
            applicants.push(Applicant { id: RegistrationId::from_uuid(id), organisation, track });
        }
    }
    let drawn = crate::domain::seating::draw(applicants, &limits, seed);
    let at = db_time(at);
    on_tx!(tx, |c| {
        for id in &drawn.seated {
            sqlx::query(
                "update registration set status = 'attending', waitlist_position = null, updated_at = $2 \
                 where id = $1",
            )
            .bind(id.uuid())
            .bind(at)
            .execute(&mut *c)
            .await?;
        }
        for (place, id) in (1_i64..).zip(&drawn.waitlist) {
            sqlx::query("update registration set waitlist_position = $2, updated_at = $3 where id = $1")
                .bind(id.uuid())
                .bind(place)
                .bind(at)
                .execute(&mut *c)
                .await?;
        }
    });
    Ok(Some(drawn))
}

/// A change an organiser made by hand to who has a seat, with its reason.
#[derive(Debug, Clone)]
pub struct SeatChange {
    pub at: Timestamp,
    /// What was done (`waitlist.move`, `waitlist.reorder`, …) and how.
    pub action: String,
    /// The person it concerned, if one and not erased since.
    pub name: Option<String>,
    pub reason: String,
    /// Who made it, as the audit log names them.
    pub by: String,
}

/// Records on `meeting`'s own record that `by` changed by hand who has a
/// seat (`action`, about `registration` when it concerned one person),
/// for `reason`.
pub async fn record_seat_change(
    tx: &mut WriteTx,
    meeting: MeetingId,
    registration: Option<RegistrationId>,
    action: &str,
    reason: &Reason,
    by: &str,
) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into seat_change (id, meeting_id, registration_id, action, reason, changed_by, changed_at) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::now_v7())
        .bind(meeting.uuid())
        .bind(registration.map(RegistrationId::uuid))
        .bind(action)
        .bind(reason.as_str())
        .bind(by)
        .bind(db_time(now()))
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

impl Store {
    /// The changes organisers made by hand to who has a seat at `meeting`, oldest first.
    pub async fn seat_changes(&self, meeting: MeetingId) -> Result<Vec<SeatChange>> {
        let rows: Vec<(i64, String, Option<String>, String, String)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select s.changed_at, s.action, p.name, s.reason, s.changed_by from seat_change s \
                 left join registration r on r.id = s.registration_id left join person p on p.id = r.person_id \
                 where s.meeting_id = $1 order by s.changed_at, s.id",
            )
            .bind(meeting.uuid())
            .fetch_all(db)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(at, action, name, reason, by)| SeatChange { at: from_db_time(at), action, name, reason, by })
            .collect())
    }
}

/// What a change by hand to someone's seat came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByHand {
    /// The change is made.
    Done,
    /// A limit is full, and going beyond it was not confirmed: nothing changed.
    Full(WaitReason),
    /// The registration does not stand where the change starts from (it has
    /// a seat already, say, or is not on the waiting list): nothing changed.
    Stands(RegistrationStatus),
}

/// Gives registration `id` of `meeting` a seat in `track` by hand, when it
/// stands as one of `from`. Unless `beyond_limits`, a full meeting, track or
/// organisation quota refuses it with the reason. The person's notes stay;
/// a place on the waiting list is given up.
///
/// # Errors
/// The database failed; [`StoreError::NotFound`] when `id` is not a
/// registration of `meeting`.
pub async fn seat_by_hand(
    tx: &mut WriteTx,
    meeting: MeetingId,
    id: RegistrationId,
    track: Option<&str>,
    from: &[RegistrationStatus],
    beyond_limits: bool,
) -> Result<ByHand> {
    let (s, status) = standing(tx, meeting, id, track).await?;
    if s.replaced_by.is_some() {
        return Ok(ByHand::Stands(RegistrationStatus::Cancelled));
    }
    if !from.contains(&status) {
        return Ok(ByHand::Stands(status));
    }
    if let Some(why) = s.wait_reason(track).filter(|_| !beyond_limits) {
        return Ok(ByHand::Full(why));
    }
    let at = db_time(now());
    on_tx!(tx, |c| {
        sqlx::query(
            "update registration set status = 'attending', track_key = $2, waitlist_position = null, \
             answered_at = coalesce(answered_at, $3), updated_at = $3 where id = $1",
        )
        .bind(id.uuid())
        .bind(track)
        .bind(at)
        .execute(&mut *c)
        .await?;
    });
    Ok(ByHand::Done)
}

/// Locks `meeting` and reads where registration `id` stands, with a view
/// on `track`; [`StoreError::NotFound`] when it is not a registration of it.
async fn standing(
    tx: &mut WriteTx,
    meeting: MeetingId,
    id: RegistrationId,
    track: Option<&str>,
) -> Result<(Standing, RegistrationStatus)> {
    lock_meeting(tx, meeting).await?;
    let s: Standing =
        on_tx!(tx, |c| sqlx::query_as(STANDING).bind(id.uuid()).bind(track).fetch_optional(&mut *c).await?)
            .ok_or(StoreError::NotFound)?;
    if s.meeting_id != meeting.uuid() {
        return Err(StoreError::NotFound);
    }
    let status =
        RegistrationStatus::parse(&s.status).map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?;
    Ok((s, status))
}

/// Moves the seat of registration `id` at `meeting` to `track`, when the
/// track has room; the seat it leaves goes to the waiting list, whose people
/// given a seat are returned.
///
/// # Errors
/// The database failed; [`StoreError::NotFound`] when `id` is not a
/// registration of `meeting`.
pub async fn move_track(
    tx: &mut WriteTx,
    meeting: MeetingId,
    id: RegistrationId,
    track: &str,
) -> Result<(ByHand, Vec<RegistrationId>)> {
    let (s, status) = standing(tx, meeting, id, Some(track)).await?;
    if status != RegistrationStatus::Attending {
        return Ok((ByHand::Stands(status), Vec::new()));
    }
    // Only the track is judged: the person keeps their seat at the meeting
    // and in their organisation's quota.
    let taken = Taken { in_track: s.in_track, ..Taken::default() };
    let limits = SeatLimits { track_capacity: s.track_capacity.map(i64::from), ..SeatLimits::default() };
    if let Some(why) = WaitReason::judge(taken, limits) {
        return Ok((ByHand::Full(why), Vec::new()));
    }
    on_tx!(tx, |c| {
        sqlx::query("update registration set track_key = $2, updated_at = $3 where id = $1")
            .bind(id.uuid())
            .bind(track)
            .bind(db_time(now()))
            .execute(&mut *c)
            .await?;
    });
    let promoted = promote(tx, meeting).await?;
    Ok((ByHand::Done, promoted))
}

/// Records person `person` as come to `meeting` at the door at `at`, in
/// `track`: a seat, checked in, whatever the limits (they are in the room).
/// Returns the registration.
///
/// # Errors
/// The database failed.
pub async fn walk_in(
    tx: &mut WriteTx,
    meeting: MeetingId,
    person: PersonId,
    track: Option<&str>,
    at: Timestamp,
) -> Result<RegistrationId> {
    lock_meeting(tx, meeting).await?;
    let (id, _) = super::registrations::ensure_invited(tx, meeting, person).await?;
    let at = db_time(at);
    on_tx!(tx, |c| {
        sqlx::query(
            "update registration set status = 'attending', track_key = coalesce($2, track_key), \
             waitlist_position = null, checked_in_at = $3, answered_at = coalesce(answered_at, $3), \
             updated_at = $3 where id = $1",
        )
        .bind(id.uuid())
        .bind(track)
        .bind(at)
        .execute(&mut *c)
        .await?;
    });
    Ok(id)
}
