//! Campaigns: one send to many. A campaign is created with its audience,
//! expanded into one outbox row per recipient in a single transaction when
//! its time comes, and is done when every row is sent or has failed.

use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use super::{Result, Store, StoreError, WriteTx, db_time, from_db_time, now, on_pool, on_tx};
use crate::domain::{CampaignId, Email, MeetingId, Name, PersonId, PersonStatus, Timestamp, UserId};

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
    /// `scheduled`, `sending`, `paused`, `done` or `cancelled`.
    pub state: String,
    pub scheduled_at: Timestamp,
    pub total: i64,
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
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
///
/// # Errors
/// The database failed.
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

/// Takes the next due campaign for expansion inside `tx`: its state moves
/// from `scheduled` to `sending` in the same transaction that will hold its
/// messages, so a crash leaves it scheduled and nothing half-done.
///
/// # Errors
/// The database failed.
pub async fn take_due(tx: &mut WriteTx) -> Result<Option<Expansion>> {
    let at = db_time(now());
    let row: Option<(Uuid, String, Option<Uuid>, Json<Target>)> = on_tx!(tx, |c| {
        let candidate: Option<Uuid> = sqlx::query_scalar(
            "select id from campaign where state = 'scheduled' and scheduled_at <= $1 order by scheduled_at, id limit 1",
        )
        .bind(at)
        .fetch_optional(&mut *c)
        .await?;
        match candidate {
            None => None,
            Some(id) => {
                // The state check makes a second instance that raced here find nothing.
                sqlx::query_as(
                    "update campaign set state = 'sending', expanded_at = $2 where id = $1 and state = 'scheduled' \
                     returning id, kind, meeting_id, audience",
                )
                .bind(id)
                .bind(at)
                .fetch_optional(&mut *c)
                .await?
            }
        }
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
///
/// # Errors
/// The database failed.
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
            let mut out = Vec::new();
            let sql = format!("{RECIPIENT} where p.status = 'confirmed' and p.id = $1");
            for id in ids {
                let row: Option<RecipientRow> = on_tx!(tx, |c| {
                    sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id.uuid()).fetch_optional(&mut *c).await?
                });
                out.extend(row);
            }
            out.sort_by(|a, b| a.email.cmp(&b.email));
            out.dedup_by(|a, b| a.id == b.id);
            out
        }
    };
    rows.into_iter().map(recipient).collect()
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
///
/// # Errors
/// The database failed.
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
/// out; someone who left the list still hears about a meeting they are
/// registered for.
///
/// # Errors
/// The database failed.
pub async fn registered_recipients(tx: &mut WriteTx, meeting: MeetingId) -> Result<Vec<(Recipient, bool)>> {
    let sql = "select p.id, p.email, p.name, o.name as organisation, p.status, p.language, r.status as registration \
               from registration r join person p on p.id = r.person_id \
               left join organisation o on o.id = p.organisation_id \
               where r.meeting_id = $1 and r.status in ('invited', 'attending', 'waitlisted') \
               and p.status <> 'bounced' order by p.email";
    let rows: Vec<RegisteredRow> = on_tx!(tx, |c| sqlx::query_as(sql).bind(meeting.uuid()).fetch_all(&mut *c).await?);
    rows.into_iter().map(|r| Ok((recipient(r.person)?, r.registration == "attending"))).collect()
}

/// Records how many messages the expansion queued.
///
/// # Errors
/// The database failed.
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
        let (kind, meeting_id, state, scheduled_at, total): (String, Option<Uuid>, String, i64, i32) =
            on_pool!(self, |db| {
                sqlx::query_as("select kind, meeting_id, state, scheduled_at, total from campaign where id = $1")
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
    ///
    /// # Errors
    /// The database failed.
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
    ///
    /// # Errors
    /// The database failed.
    pub async fn next_scheduled_campaign(&self) -> Result<Option<Timestamp>> {
        let at: Option<i64> = on_pool!(self, |db| {
            sqlx::query_scalar("select min(scheduled_at) from campaign where state = 'scheduled'").fetch_one(db).await?
        });
        Ok(at.map(from_db_time))
    }
}
