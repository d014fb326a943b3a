//! Campaigns: one send to many. A campaign is created with its audience,
//! expanded into one outbox row per recipient in a single transaction when
//! its time comes, and is done when every row is sent or has failed.

use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use super::{Result, Store, StoreError, WriteTx, db_time, from_db_time, now, on_pool, on_tx};
use crate::domain::{CampaignId, Email, MeetingId, Name, OrganisationId, PersonId, PersonStatus, Timestamp, UserId};

/// Who a campaign goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Everybody confirmed on the list.
    All,
    /// Confirmed members with at least one of these interests.
    Interests(Vec<String>),
    /// These people (confirmed members only).
    People(Vec<PersonId>),
    /// Confirmed members who belong to any of these organisations.
    Organisations(Vec<OrganisationId>),
    /// Confirmed members who attended (or were checked in at) any of these meetings.
    AttendeesOf(Vec<MeetingId>),
}

/// A guest invited by name and address; guests are not put on the list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Guest {
    pub email: Email,
    pub name: Name,
    pub organisation: Option<Name>,
}

/// What a campaign was asked to reach.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    pub audience: Option<Audience>,
    #[serde(default)]
    pub guests: Vec<Guest>,
}

/// A campaign to create.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub kind: &'static str,
    pub meeting_id: Option<MeetingId>,
    pub subject: String,
    pub target: Target,
    pub scheduled_at: Timestamp,
    pub created_by: Option<UserId>,
}

/// A campaign's state and progress.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub id: CampaignId,
    pub kind: String,
    pub meeting_id: Option<MeetingId>,
    /// `scheduled`, `sending`, `paused`, `done`, `cancelled` or `failed`.
    pub state: String,
    pub scheduled_at: Timestamp,
    pub total: i64,
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    /// How many times its expansion into messages was begun.
    pub attempts: i32,
    /// Why the last attempt at expanding it failed, if one did.
    pub failure: Option<String>,
}

/// A campaign being expanded.
#[derive(Debug, Clone)]
pub struct Expansion {
    pub id: CampaignId,
    pub kind: String,
    pub meeting_id: Option<MeetingId>,
    pub target: Target,
}

/// One person a campaign reaches.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub person_id: PersonId,
    pub email: Email,
    pub name: String,
    pub organisation: String,
    pub status: PersonStatus,
    pub language: String,
}

/// Creates a campaign in state `scheduled`.
pub async fn insert_campaign(tx: &mut WriteTx, c: &NewCampaign) -> Result<CampaignId> {
    let id = CampaignId::new();
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into campaign (id, kind, meeting_id, subject, state, scheduled_at, created_by, created_at, audience) \
             values ($1, $2, $3, $4, 'scheduled', $5, $6, $7, $8)",
        )
        .bind(id.uuid())
        .bind(c.kind)
        .bind(c.meeting_id.map(MeetingId::uuid))
        .bind(&c.subject)
        .bind(db_time(c.scheduled_at))
        .bind(c.created_by.map(UserId::uuid))
        .bind(db_time(now()))
        .bind(Json(&c.target))
        .execute(&mut *conn)
        .await?;
    });
    Ok(id)
}

/// How many times the expansion of a campaign is begun before it is set
/// aside as `failed`.
pub const EXPANSION_ATTEMPTS: i32 = 3;

/// The reason recorded for a campaign whose last attempt never reported back.
const UNFINISHED: &str = "the last attempt did not finish (the process stopped while expanding it)";

/// An attempt at expanding a campaign, counted before it begins.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    pub campaign: CampaignId,
    /// 1 for the first attempt.
    pub number: i32,
}

impl Store {
    /// Begins an attempt at the next due campaign: the earliest scheduled one
    /// whose time has come and that is not waiting for a retry. The attempt is
    /// counted, and the next one allowed no sooner than `retry` from now, in a
    /// transaction of its own before any work is done, so that an attempt
    /// that fails, panics or takes the process with it still counts. A
    /// campaign that used its last attempt without reporting back is set
    /// aside as `failed` here.
    pub async fn begin_expansion(&self, retry: jiff::SignedDuration) -> Result<Option<Attempt>> {
        let now = now();
        let at = db_time(now);
        let later = db_time(crate::domain::shifted(now, retry));
        let mut tx = self.begin().await?;
        let attempt: Option<(Uuid, i32)> = on_tx!(tx, |c| {
            let abandoned = sqlx::query(
                "update campaign set state = 'failed', failure = coalesce(failure, $3) \
                 where state = 'scheduled' and attempts >= $1 and (retry_at is null or retry_at <= $2)",
            )
            .bind(EXPANSION_ATTEMPTS)
            .bind(at)
            .bind(UNFINISHED)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if abandoned > 0 {
                tracing::error!(
                    campaigns = abandoned,
                    "campaigns set aside as failed: their last attempt never finished"
                );
            }
            let candidate: Option<(Uuid, i32)> = sqlx::query_as(
                "select id, attempts from campaign where state = 'scheduled' and scheduled_at <= $1 \
                 and attempts < $2 and (retry_at is null or retry_at <= $1) order by scheduled_at, id limit 1",
            )
            .bind(at)
            .bind(EXPANSION_ATTEMPTS)
            .fetch_optional(&mut *c)
            .await?;
            match candidate {
                None => None,
                Some((id, seen)) => {
                    // The count check makes a second instance that raced here find nothing.
                    sqlx::query_as(
                        "update campaign set attempts = attempts + 1, retry_at = $3 \
                         where id = $1 and state = 'scheduled' and attempts = $2 returning id, attempts",
                    )
                    .bind(id)
                    .bind(seen)
                    .bind(later)
                    .fetch_optional(&mut *c)
                    .await?
                }
            }
        });
        tx.commit().await?;
        Ok(attempt.map(|(id, number)| Attempt { campaign: CampaignId::from_uuid(id), number }))
    }

    /// Records why an attempt at expanding `id` failed. After the last
    /// attempt the campaign is set aside as `failed`; before it, the campaign
    /// stays scheduled for the next attempt. Returns the state it is left in,
    /// or `None` when it is no longer scheduled (paused or cancelled meanwhile).
    pub async fn record_expansion_failure(&self, id: CampaignId, reason: &str) -> Result<Option<String>> {
        let mut tx = self.begin().await?;
        let state: Option<String> = on_tx!(tx, |c| {
            sqlx::query_scalar(
                "update campaign set failure = $2, \
                 state = case when attempts >= $3 then 'failed' else state end \
                 where id = $1 and state = 'scheduled' returning state",
            )
            .bind(id.uuid())
            .bind(reason)
            .bind(EXPANSION_ATTEMPTS)
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(state)
    }

    /// Gives back an attempt that failed because the database was away: that
    /// says nothing about the campaign, so it must not bring it nearer to
    /// being set aside.
    ///
    /// # Errors
    /// The database failed (it may well still be away).
    pub async fn refund_expansion_attempt(&self, id: CampaignId) -> Result<()> {
        on_pool!(self, |db| {
            sqlx::query(
                "update campaign set attempts = attempts - 1 where id = $1 and state = 'scheduled' and attempts > 0",
            )
            .bind(id.uuid())
            .execute(db)
            .await?;
        });
        Ok(())
    }
}

/// Takes campaign `id` for expansion inside `tx`, once its attempt has
/// begun ([`Store::begin_expansion`]): its state moves from `scheduled` to
/// `sending` in the same transaction that will hold its messages, so a crash
/// leaves it scheduled and nothing half-done. `None` when it is no longer
/// scheduled (paused, cancelled, or taken by another instance).
///
/// # Errors
/// The database failed, or the stored campaign cannot be read.
pub async fn take(tx: &mut WriteTx, id: CampaignId) -> Result<Option<Expansion>> {
    let at = db_time(now());
    let row: Option<(Uuid, String, Option<Uuid>, Json<Target>)> = on_tx!(tx, |c| {
        sqlx::query_as(
            "update campaign set state = 'sending', expanded_at = $2, retry_at = null \
             where id = $1 and state = 'scheduled' returning id, kind, meeting_id, audience",
        )
        .bind(id.uuid())
        .bind(at)
        .fetch_optional(&mut *c)
        .await?
    });
    Ok(row.map(|(id, kind, meeting_id, target)| Expansion {
        id: CampaignId::from_uuid(id),
        kind,
        meeting_id: meeting_id.map(MeetingId::from_uuid),
        target: target.0,
    }))
}

#[derive(sqlx::FromRow)]
struct RecipientRow {
    id: Uuid,
    email: String,
    name: String,
    organisation: Option<String>,
    status: String,
    language: String,
}

const RECIPIENT: &str = "select p.id, p.email, p.name, o.name as organisation, p.status, p.language from person p \
                         left join organisation o on o.id = p.organisation_id";

/// The confirmed members an audience reaches, each once, ordered by address.
pub async fn audience_members(tx: &mut WriteTx, audience: &Audience) -> Result<Vec<Recipient>> {
    let rows: Vec<RecipientRow> = match audience {
        Audience::All => {
            let sql = format!("{RECIPIENT} where p.status = 'confirmed' order by p.email");
            on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(&mut *c).await?)
        }
        Audience::Interests(keys) => {
            // A handful of keys: one query each, merged, is simpler than
            // binding an array, which the two engines do differently.
            let sql = format!(
                "{RECIPIENT} where p.status = 'confirmed' and p.id in \
                 (select pi.person_id from person_interest pi where pi.interest_key = $1)"
            );
            let mut out: Vec<RecipientRow> = Vec::new();
            for key in keys {
                let rows: Vec<RecipientRow> = on_tx!(tx, |c| {
                    sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(key).fetch_all(&mut *c).await?
                });
                out.extend(rows);
            }
            out.sort_by(|a, b| a.email.cmp(&b.email));
            out.dedup_by(|a, b| a.id == b.id);
            out
        }
        Audience::People(ids) => {
            let sql = format!("{RECIPIENT} where p.status = 'confirmed' and p.id = $1");
            members_each(tx, &sql, ids.iter().map(|id| id.uuid())).await?
        }
        Audience::Organisations(ids) => {
            let sql = format!("{RECIPIENT} where p.status = 'confirmed' and p.organisation_id = $1");
            members_each(tx, &sql, ids.iter().map(|id| id.uuid())).await?
        }
        Audience::AttendeesOf(ids) => {
            let sql = format!(
                "{RECIPIENT} where p.status = 'confirmed' and p.id in (select r.person_id from registration r \
                 where r.meeting_id = $1 and (r.status = 'attending' or r.checked_in_at is not null))"
            );
            members_each(tx, &sql, ids.iter().map(|id| id.uuid())).await?
        }
    };
    rows.into_iter().map(recipient).collect()
}

/// Runs `sql` (one `$1`) once per id and merges the rows, each person once,
/// ordered by address.
async fn members_each(tx: &mut WriteTx, sql: &str, ids: impl Iterator<Item = Uuid>) -> Result<Vec<RecipientRow>> {
    let mut out: Vec<RecipientRow> = Vec::new();
    for id in ids {
        let rows: Vec<RecipientRow> =
            on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned())).bind(id).fetch_all(&mut *c).await?);
        out.extend(rows);
    }
    out.sort_by(|a, b| a.email.cmp(&b.email).then(a.id.cmp(&b.id)));
    out.dedup_by(|a, b| a.id == b.id);
    Ok(out)
}

fn recipient(r: RecipientRow) -> Result<Recipient> {
    let corrupt = |e: crate::domain::ParseError| StoreError::Database(sqlx::Error::Decode(e.into()));
    Ok(Recipient {
        person_id: PersonId::from_uuid(r.id),
        email: Email::parse(&r.email).map_err(corrupt)?,
        name: r.name,
        organisation: r.organisation.unwrap_or_default(),
        status: PersonStatus::parse(&r.status).map_err(corrupt)?,
        language: r.language,
    })
}

/// A person by id, whatever their status, as a recipient.
pub async fn recipient_by_id(tx: &mut WriteTx, id: PersonId) -> Result<Option<Recipient>> {
    let sql = format!("{RECIPIENT} where p.id = $1");
    let row: Option<RecipientRow> = on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id.uuid())
        .fetch_optional(&mut *c)
        .await?);
    row.map(recipient).transpose()
}

#[derive(sqlx::FromRow)]
struct RegisteredRow {
    #[sqlx(flatten)]
    person: RecipientRow,
    registration: String,
}

/// Everyone invited to the meeting who has not declined (registration
/// `invited`, `attending` or `waitlisted`), with whether they hold a seat
/// (`attending`), ordered by address. People whose address bounced are left
/// out, and so are walk-ins who gave no address; someone who left the list still hears about a meeting they are
/// registered for.
pub async fn registered_recipients(tx: &mut WriteTx, meeting: MeetingId) -> Result<Vec<(Recipient, bool)>> {
    let sql = "select p.id, p.email, p.name, o.name as organisation, p.status, p.language, r.status as registration \
               from registration r join person p on p.id = r.person_id \
               left join organisation o on o.id = p.organisation_id \
               where r.meeting_id = $1 and r.status in ('invited', 'attending', 'waitlisted') \
               and p.status <> 'bounced' and p.email not like '%@walk-in.invalid' order by p.email";
    let rows: Vec<RegisteredRow> = on_tx!(tx, |c| sqlx::query_as(sql).bind(meeting.uuid()).fetch_all(&mut *c).await?);
    rows.into_iter().map(|r| Ok((recipient(r.person)?, r.registration == "attending"))).collect()
}

/// How many of those [`registered_recipients`] reaches hold a seat, wait
/// for one, or have not answered: who hears of a change to the meeting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegisteredCounts {
    pub attending: i64,
    pub waitlisted: i64,
    pub invited: i64,
}

impl RegisteredCounts {
    /// Everyone counted.
    #[must_use]
    pub const fn total(self) -> i64 {
        self.attending + self.waitlisted + self.invited
    }
}

impl Store {
    /// [`RegisteredCounts`] of meeting `meeting`, by the same rule as
    /// [`registered_recipients`].
    pub async fn registered_counts(&self, meeting: MeetingId) -> Result<RegisteredCounts> {
        let sql = "select r.status, count(*) from registration r join person p on p.id = r.person_id \
                   where r.meeting_id = $1 and r.status in ('invited', 'attending', 'waitlisted') \
                   and p.status <> 'bounced' and p.email not like '%@walk-in.invalid' group by r.status";
        let rows: Vec<(String, i64)> =
            on_pool!(self, |db| sqlx::query_as(sql).bind(meeting.uuid()).fetch_all(db).await?);
        let mut counts = RegisteredCounts::default();
        for (status, n) in rows {
            match status.as_str() {
                "attending" => counts.attending = n,
                "waitlisted" => counts.waitlisted = n,
                _ => counts.invited = n,
            }
        }
        Ok(counts)
    }
}

/// Records how many messages the expansion queued.
pub async fn set_total(tx: &mut WriteTx, id: CampaignId, total: i64) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query("update campaign set total = $2 where id = $1")
            .bind(id.uuid())
            .bind(total)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

impl Store {
    /// A campaign's state and counts.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such campaign.
    pub async fn campaign_progress(&self, id: CampaignId) -> Result<Progress> {
        type Row = (String, Option<Uuid>, String, i64, i32, i32, Option<String>);
        let (kind, meeting_id, state, scheduled_at, total, attempts, failure): Row = on_pool!(self, |db| {
            sqlx::query_as(
                "select kind, meeting_id, state, scheduled_at, total, attempts, failure from campaign where id = $1",
            )
            .bind(id.uuid())
            .fetch_one(db)
            .await?
        });
        let counts: Vec<(String, i64)> = on_pool!(self, |db| {
            sqlx::query_as("select status, count(*) from outbox where campaign_id = $1 group by status")
                .bind(id.uuid())
                .fetch_all(db)
                .await?
        });
        let n = |names: &[&str]| counts.iter().filter(|(s, _)| names.contains(&s.as_str())).map(|(_, n)| n).sum();
        Ok(Progress {
            id,
            kind,
            meeting_id: meeting_id.map(MeetingId::from_uuid),
            state,
            scheduled_at: from_db_time(scheduled_at),
            total: i64::from(total),
            queued: n(&["queued", "sending"]),
            sent: n(&["sent"]),
            failed: n(&["failed"]),
            attempts,
            failure,
        })
    }

    /// Moves a campaign from one of `from` to `to`; false when it was in none of them.
    /// Cancelling also withdraws its queued messages.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such campaign.
    pub async fn change_campaign_state(&self, id: CampaignId, from: &[&str], to: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let current: String = on_tx!(tx, |c| {
            sqlx::query_scalar("select state from campaign where id = $1").bind(id.uuid()).fetch_one(&mut *c).await?
        });
        if !from.contains(&current.as_str()) {
            return Ok(false);
        }
        on_tx!(tx, |c| {
            sqlx::query("update campaign set state = $2 where id = $1")
                .bind(id.uuid())
                .bind(to)
                .execute(&mut *c)
                .await?;
            if to == "cancelled" {
                sqlx::query(
                    "update outbox set status = 'cancelled', raw = null where campaign_id = $1 and status = 'queued'",
                )
                .bind(id.uuid())
                .execute(&mut *c)
                .await?;
            }
        });
        tx.commit().await?;
        Ok(true)
    }

    /// Marks as done every sending campaign with no message left to send.
    pub async fn finish_campaigns(&self) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = on_tx!(tx, |c| {
            sqlx::query(
                "update campaign set state = 'done' where state = 'sending' and not exists \
                 (select 1 from outbox o where o.campaign_id = campaign.id and o.status in ('queued', 'sending'))",
            )
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(n)
    }

    /// Whether a campaign is waiting for its time.
    pub async fn next_scheduled_campaign(&self) -> Result<Option<Timestamp>> {
        let at: Option<i64> = on_pool!(self, |db| {
            sqlx::query_scalar("select min(scheduled_at) from campaign where state = 'scheduled'").fetch_one(db).await?
        });
        Ok(at.map(from_db_time))
    }
}

/// A reminder before a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderKind {
    /// Before the registration deadline, to those invited who have not answered.
    Deadline,
    /// Before the start, to those attending.
    Start,
}

impl ReminderKind {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Deadline => "deadline",
            Self::Start => "start",
        }
    }
}

/// Meetings whose reminder of `kind` is due at `at`: the deadline (or start)
/// lies after `at` and no later than `at + lead`. Only meetings that still
/// take place are returned.
pub async fn meetings_due_for_reminder(
    store: &Store,
    kind: ReminderKind,
    at: Timestamp,
    lead: jiff::SignedDuration,
) -> Result<Vec<MeetingId>> {
    let sql = match kind {
        ReminderKind::Deadline => {
            "select id from meeting where status in ('published', 'open') and registration_deadline is not null \
             and registration_deadline > $1 and registration_deadline <= $2 order by id"
        }
        ReminderKind::Start => {
            "select id from meeting where status in ('published', 'open', 'closed') \
             and starts_at > $1 and starts_at <= $2 order by id"
        }
    };
    let ids: Vec<Uuid> = on_pool!(store, |db| {
        sqlx::query_scalar(sql).bind(db_time(at)).bind(db_time(crate::domain::shifted(at, lead))).fetch_all(db).await?
    });
    Ok(ids.into_iter().map(MeetingId::from_uuid).collect())
}

/// A recipient read with the id of their registration for a meeting
/// (selected `as registration`).
#[derive(sqlx::FromRow)]
pub(super) struct RecipientWithRegistration {
    #[sqlx(flatten)]
    person: RecipientRow,
    registration: Uuid,
}

impl RecipientWithRegistration {
    /// The recipient and their registration.
    pub(super) fn parse(self) -> Result<(Recipient, crate::domain::RegistrationId)> {
        Ok((recipient(self.person)?, crate::domain::RegistrationId::from_uuid(self.registration)))
    }
}

/// Claims the reminder of `kind` for everyone who should have it and has
/// not had it — for `Deadline` those still `invited`, for `Start` those
/// `attending`; people who left the list or bounced are left out — and
/// returns them with their registration. With `invited_before`, only people
/// invited before then are reminded (not someone invited a moment ago).
/// The claim is a row per person in
/// `reminder_sent`, written in `tx`: a second runner, or a second tick,
/// finds nobody left.
pub async fn claim_reminders(
    tx: &mut WriteTx,
    meeting: MeetingId,
    kind: ReminderKind,
    invited_before: Option<Timestamp>,
) -> Result<Vec<(Recipient, crate::domain::RegistrationId)>> {
    let status = match kind {
        ReminderKind::Deadline => "invited",
        ReminderKind::Start => "attending",
    };
    let at = db_time(now());
    let (claimed, rows): (Vec<Uuid>, Vec<RecipientWithRegistration>) = on_tx!(tx, |c| {
        let claimed = sqlx::query_scalar(
            "insert into reminder_sent (meeting_id, person_id, kind, sent_at) \
             select r.meeting_id, r.person_id, $2, $3 from registration r join person p on p.id = r.person_id \
             where r.meeting_id = $1 and r.status = $4 and p.status not in ('bounced', 'unsubscribed') \
             and p.email not like '%@walk-in.invalid' and r.created_at <= $5 on conflict (meeting_id, person_id, kind) do nothing returning person_id",
        )
        .bind(meeting.uuid())
        .bind(kind.as_str())
        .bind(at)
        .bind(status)
        .bind(invited_before.map_or(i64::MAX, db_time))
        .fetch_all(&mut *c)
        .await?;
        let rows = sqlx::query_as(
            "select p.id, p.email, p.name, o.name as organisation, p.status, p.language, r.id as registration \
             from registration r join person p on p.id = r.person_id \
             left join organisation o on o.id = p.organisation_id \
             where r.meeting_id = $1 and r.status = $2 order by p.email",
        )
        .bind(meeting.uuid())
        .bind(status)
        .fetch_all(&mut *c)
        .await?;
        (claimed, rows)
    });
    rows.into_iter().filter(|r| claimed.contains(&r.person.id)).map(RecipientWithRegistration::parse).collect()
}

impl Store {
    /// When an invitation to `meeting` aimed at exactly `target` was last
    /// created, unless it was cancelled: the same send a second time.
    pub async fn same_invitation_created(&self, meeting: MeetingId, target: &Target) -> Result<Option<Timestamp>> {
        let rows: Vec<(Json<serde_json::Value>, i64)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select audience, created_at from campaign \
                 where meeting_id = $1 and kind = 'invitation' and state <> 'cancelled' order by created_at desc",
            )
            .bind(meeting.uuid())
            .fetch_all(db)
            .await?
        });
        let wanted = serde_json::to_value(target).map_err(|e| StoreError::Database(sqlx::Error::Encode(e.into())))?;
        Ok(rows.into_iter().find(|(stored, _)| stored.0 == wanted).map(|(_, at)| from_db_time(at)))
    }

    /// The most recent campaigns, latest first, each with its progress and
    /// the title of its meeting.
    pub async fn recent_campaigns(&self, limit: i64) -> Result<Vec<(Progress, Option<String>, Option<Target>)>> {
        type Row = (
            Uuid,
            String,
            Option<Uuid>,
            String,
            i64,
            i32,
            i64,
            i64,
            i64,
            Option<String>,
            i32,
            Option<String>,
            Json<serde_json::Value>,
        );
        let rows: Vec<Row> = on_pool!(self, |db| {
            sqlx::query_as(
                "select c.id, c.kind, c.meeting_id, c.state, c.scheduled_at, c.total, \
                 count(case when o.status in ('queued', 'sending') then 1 end), \
                 count(case when o.status = 'sent' then 1 end), \
                 count(case when o.status = 'failed' then 1 end), m.title, c.attempts, c.failure, c.audience \
                 from campaign c left join outbox o on o.campaign_id = c.id \
                 left join meeting m on m.id = c.meeting_id \
                 group by c.id, c.kind, c.meeting_id, c.state, c.scheduled_at, c.total, m.title, c.attempts, \
                 c.failure, c.audience \
                 order by c.scheduled_at desc, c.id desc limit $1",
            )
            .bind(limit)
            .fetch_all(db)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, kind, meeting, state, at, total, queued, sent, failed, title, attempts, failure, audience)| {
                let progress = Progress {
                    id: CampaignId::from_uuid(id),
                    kind,
                    meeting_id: meeting.map(MeetingId::from_uuid),
                    state,
                    scheduled_at: from_db_time(at),
                    total: i64::from(total),
                    queued,
                    sent,
                    failed,
                    attempts,
                    failure,
                };
                (progress, title, serde_json::from_value(audience.0).ok())
            })
            .collect())
    }

    /// Resumes a paused campaign: back to `sending` when it was expanded
    /// already, else to `scheduled`, to wait for its time. False when it was
    /// not paused.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such campaign.
    pub async fn resume_campaign(&self, id: CampaignId) -> Result<bool> {
        let expanded = self.campaign_progress(id).await?.total > 0;
        self.change_campaign_state(id, &["paused"], if expanded { "sending" } else { "scheduled" }).await
    }
}
