//! Retention: sign-ups that were never confirmed, old rate-limit counters and
//! audit entries past their retention are deleted once they have served their
//! purpose; what people wrote on their registrations (diet, access needs,
//! comment — which can say something about their health) is deleted some days
//! after the meeting, its counts kept; and some years after a meeting its
//! registrations are reduced to totals ([`super::totals`]).

use jiff::{SignedDuration, Span};

use super::dialect::{SeatLock, lock_seats};
use super::{Result, Store, WriteTx, audit, db_time, from_db_time, now, on_pool, on_tx, rate};
use crate::domain::{MeetingId, Timestamp, copenhagen};

/// How long things are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Days a sign-up may stay unconfirmed.
    pub pending_days: u64,
    /// Months the audit log is kept (at least six).
    pub audit_months: u32,
    /// Days after a meeting's end at which diet, access needs and comments
    /// on its registrations are deleted.
    pub sensitive_days: u32,
    /// Days after a meeting's end at which its registrations are reduced to
    /// totals; 0 keeps them until the person is erased.
    pub registration_days: u32,
}

impl From<u64> for Policy {
    /// The given pending days, with the audit log kept the minimum six months
    /// registration notes the default 30 days and registrations the default 1095.
    fn from(pending_days: u64) -> Self {
        Self { pending_days, audit_months: 6, sensitive_days: 30, registration_days: 1095 }
    }
}

impl From<&crate::config::Security> for Policy {
    fn from(s: &crate::config::Security) -> Self {
        Self {
            pending_days: s.pending_retention_days,
            audit_months: s.audit_retention_months.max(6),
            sensitive_days: s.sensitive_retention_days,
            registration_days: s.registration_retention_days,
        }
    }
}

/// How many registrations with a seat said something about diet, access
/// needs or had a comment, for a meeting whose notes were deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoteCounts {
    pub diet: i64,
    pub access_needs: i64,
    pub comments: i64,
    /// When the notes were deleted.
    pub purged_at: Timestamp,
}

/// How many rows a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Pending people, with their consents, interests and registrations.
    pub pending: u64,
    pub link_tokens: u64,
    pub messages: u64,
    pub rate_counters: u64,
    pub audit_entries: u64,
    /// Registrations whose diet, access needs and comment were cleared.
    pub registration_notes: u64,
    /// Registrations deleted once their meeting's totals were kept.
    pub registrations: u64,
}

/// Deletes sign-up requests never confirmed that were made more than
/// `pending_days` days ago, with their links; then people still pending whose
/// record is that old, who have no open request left and no registration,
/// with their link tokens and outbox rows (queued or sent). Also rate-limit
/// counters older than a day and audit entries older than `audit_months`
/// months (counted in the forum's calendar). All in one transaction; people
/// deleted are counted in the audit log.
///
/// A request never changes the person it names, so a guest, someone who left
/// or a bounced address is never made `pending` by a stranger and never
/// purged here.
///
/// # Errors
/// The database failed; nothing was deleted.
pub async fn purge(store: &Store, policy: impl Into<Policy>) -> Result<Purged> {
    let policy = policy.into();
    // At most a century, which keeps the duration in range.
    let days = i64::try_from(policy.pending_days.min(36_500)).unwrap_or(36_500);
    let pending_before = db_time(now() - SignedDuration::from_hours(days * 24));
    let stale = "select id from person p where p.status = 'pending' and p.created_at < $1 \
                 and not exists (select 1 from signup_request r where r.person_id = p.id) \
                 and not exists (select 1 from registration g where g.person_id = p.id)";
    let mut tx = store.begin().await?;
    let (link_tokens, messages, pending) = on_tx!(tx, |c| {
        let mut tokens = sqlx::query(
            "delete from link_token where hash in (select token_hash from signup_request \
             where confirmed_at is null and requested_at < $1)",
        )
        .bind(pending_before)
        .execute(&mut *c)
        .await?
        .rows_affected();
        sqlx::query("delete from signup_request where confirmed_at is null and requested_at < $1")
            .bind(pending_before)
            .execute(&mut *c)
            .await?;
        tokens += sqlx::query(sqlx::AssertSqlSafe(format!("delete from link_token where person_id in ({stale})")))
            .bind(pending_before)
            .execute(&mut *c)
            .await?
            .rows_affected();
        let messages = sqlx::query(sqlx::AssertSqlSafe(format!("delete from outbox where person_id in ({stale})")))
            .bind(pending_before)
            .execute(&mut *c)
            .await?
            .rows_affected();
        let people = sqlx::query(sqlx::AssertSqlSafe(format!("delete from person where id in ({stale})")))
            .bind(pending_before)
            .execute(&mut *c)
            .await?
            .rows_affected();
        (tokens, messages, people)
    });
    if pending > 0 {
        let entry = audit::Entry {
            action: "retention.purge",
            subject_kind: "person",
            subject_id: None,
            detail: "sign-ups never confirmed",
            row_count: Some(i64::try_from(pending).unwrap_or(i64::MAX)),
        };
        audit::record(&mut tx, &audit::Actor::System("retention"), &entry).await?;
    }
    let rate_counters = rate::purge(&mut tx, now() - SignedDuration::from_hours(24)).await?;
    let audit_entries = audit::purge(&mut tx, audit_cutoff(policy.audit_months)).await?;
    let registration_notes = purge_notes(&mut tx, policy.sensitive_days).await?;
    let registrations = reduce(&mut tx, policy.registration_days).await?;
    tx.commit().await?;
    Ok(Purged { pending, link_tokens, messages, rate_counters, audit_entries, registration_notes, registrations })
}

/// Clears diet, access needs and comment on every registration for a meeting
/// that ended more than `days` days ago, after storing for each such meeting
/// (once) how many registrations with a seat had each. Returns how many
/// registrations were cleared; they are counted in the audit log.
async fn purge_notes(tx: &mut WriteTx, days: u32) -> Result<u64> {
    let ended_before = db_time(now() - SignedDuration::from_hours(i64::from(days.min(36_500)) * 24));
    let at = db_time(now());
    let cleared = on_tx!(tx, |c| {
        sqlx::query(
            "insert into registration_note_count (meeting_id, diet, access_needs, comments, purged_at) \
             select m.id, \
               (select count(*) from registration r where r.meeting_id = m.id and r.status = 'attending' and r.diet <> ''), \
               (select count(*) from registration r where r.meeting_id = m.id and r.status = 'attending' and r.access_needs <> ''), \
               (select count(*) from registration r where r.meeting_id = m.id and r.status = 'attending' and r.comment <> ''), \
               $2 \
             from meeting m where m.ends_at < $1 \
             and not exists (select 1 from registration_note_count n where n.meeting_id = m.id)",
        )
        .bind(ended_before)
        .bind(at)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "update registration set diet = '', access_needs = '', comment = '' \
             where (diet <> '' or access_needs <> '' or comment <> '') \
             and meeting_id in (select meeting_id from registration_note_count)",
        )
        .execute(&mut *c)
        .await?
        .rows_affected()
    });
    if cleared > 0 {
        let entry = audit::Entry {
            action: "retention.purge",
            subject_kind: "registration",
            subject_id: None,
            detail: "diet, access needs and comments after the meeting",
            row_count: Some(i64::try_from(cleared).unwrap_or(i64::MAX)),
        };
        audit::record(tx, &audit::Actor::System("retention"), &entry).await?;
    }
    Ok(cleared)
}

/// Reduces the registrations of every meeting that ended more than `days`
/// days ago (none when `days` is 0) to totals, in [`reduce_meeting`]; a
/// meeting reduced before that has gained registrations since (an
/// invitation to a meeting long over) has them added to its totals. One
/// audit entry per meeting reduced. Returns the registrations deleted.
async fn reduce(tx: &mut WriteTx, days: u32) -> Result<u64> {
    if days == 0 {
        return Ok(0);
    }
    let ended_before = db_time(now() - SignedDuration::from_hours(i64::from(days.min(36_500)) * 24));
    let due: Vec<uuid::Uuid> = on_tx!(tx, |c| {
        sqlx::query_scalar(
            "select m.id from meeting m where m.ends_at < $1 \
             and (not exists (select 1 from registration_reduction d where d.meeting_id = m.id) \
                  or exists (select 1 from registration r where r.meeting_id = m.id)) order by m.id",
        )
        .bind(ended_before)
        .fetch_all(&mut *c)
        .await?
    });
    let mut deleted = 0;
    for meeting in due {
        // Serialises with answers and with another instance's pass over the same meeting.
        lock_seats(tx, SeatLock::Meeting(meeting)).await?;
        let (claimed, removed) = reduce_meeting(tx, meeting).await?;
        if !claimed && removed == 0 {
            continue;
        }
        deleted += removed;
        let entry = audit::Entry {
            action: "retention.reduce",
            subject_kind: "meeting",
            subject_id: Some(meeting),
            detail: "registrations reduced to totals after the retention period",
            row_count: Some(i64::try_from(removed).unwrap_or(i64::MAX)),
        };
        audit::record(tx, &audit::Actor::System("retention"), &entry).await?;
    }
    Ok(deleted)
}

/// Claims `meeting` in `registration_reduction` (a conditional insert: of
/// several instances, the first claims it), adds its registrations to the
/// counts kept by status, track and check-in and per organisation, then
/// deletes them with their links, the evaluation's list of who it was sent
/// to, the reminders sent, and the person on a named evaluation answer (the
/// answer stays, as an anonymous one). Returns whether this claimed the
/// meeting, and the registrations deleted.
async fn reduce_meeting(tx: &mut WriteTx, meeting: uuid::Uuid) -> Result<(bool, u64)> {
    let at = db_time(now());
    Ok(on_tx!(tx, |c| {
        let claimed = sqlx::query(
            "insert into registration_reduction (meeting_id, registrations, reduced_at) values ($1, 0, $2) \
             on conflict (meeting_id) do nothing",
        )
        .bind(meeting)
        .bind(at)
        .execute(&mut *c)
        .await?
        .rows_affected()
            == 1;
        sqlx::query(
            "insert into registration_total (meeting_id, status, track_key, checked_in, registrations) \
             select $1, status, coalesce(track_key, ''), checked_in_at is not null, count(*) from registration \
             where meeting_id = $1 group by status, coalesce(track_key, ''), checked_in_at is not null \
             on conflict (meeting_id, status, track_key, checked_in) \
             do update set registrations = registration_total.registrations + excluded.registrations",
        )
        .bind(meeting)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "insert into registration_organisation_total (meeting_id, organisation_id, checked_in, listed) \
             select $1, p.organisation_id, \
               sum(case when r.checked_in_at is not null then 1 else 0 end), \
               max(case when r.list_organisation and (r.status = 'attending' or r.checked_in_at is not null) \
                   then 1 else 0 end) = 1 \
             from registration r join person p on p.id = r.person_id \
             where r.meeting_id = $1 and p.organisation_id is not null group by p.organisation_id \
             having count(r.checked_in_at) > 0 \
             or max(case when r.list_organisation and r.status = 'attending' then 1 else 0 end) = 1 \
             on conflict (meeting_id, organisation_id) do update set \
             checked_in = registration_organisation_total.checked_in + excluded.checked_in, \
             listed = registration_organisation_total.listed or excluded.listed",
        )
        .bind(meeting)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "delete from link_token where registration_id in (select id from registration where meeting_id = $1)",
        )
        .bind(meeting)
        .execute(&mut *c)
        .await?;
        sqlx::query("update registration set replaced_by = null where meeting_id = $1 and replaced_by is not null")
            .bind(meeting)
            .execute(&mut *c)
            .await?;
        sqlx::query("delete from evaluation_recipient where meeting_id = $1").bind(meeting).execute(&mut *c).await?;
        sqlx::query("update evaluation_response set person_id = null where meeting_id = $1 and person_id is not null")
            .bind(meeting)
            .execute(&mut *c)
            .await?;
        sqlx::query("delete from reminder_sent where meeting_id = $1").bind(meeting).execute(&mut *c).await?;
        let removed = sqlx::query("delete from registration where meeting_id = $1")
            .bind(meeting)
            .execute(&mut *c)
            .await?
            .rows_affected();
        sqlx::query("update registration_reduction set registrations = registrations + $2 where meeting_id = $1")
            .bind(meeting)
            .bind(i64::try_from(removed).unwrap_or(i64::MAX))
            .execute(&mut *c)
            .await?;
        (claimed, removed)
    }))
}

impl Store {
    /// The counts kept for `meeting` when its registration notes were
    /// deleted; `None` while they are still there.
    pub async fn note_counts(&self, meeting: MeetingId) -> Result<Option<NoteCounts>> {
        let row: Option<(i64, i64, i64, i64)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select diet, access_needs, comments, purged_at from registration_note_count where meeting_id = $1",
            )
            .bind(meeting.uuid())
            .fetch_optional(db)
            .await?
        });
        Ok(row.map(|(diet, access_needs, comments, at)| NoteCounts {
            diet,
            access_needs,
            comments,
            purged_at: from_db_time(at),
        }))
    }
}

/// The instant `months` calendar months ago in Copenhagen (never fewer than six).
fn audit_cutoff(months: u32) -> crate::domain::Timestamp {
    let months = i64::from(months.clamp(6, 1200));
    let here = now().to_zoned_datetime(copenhagen());
    here.checked_sub(Span::new().months(months)).map_or(crate::domain::Timestamp::UNIX_EPOCH, |z| z.timestamp())
}
