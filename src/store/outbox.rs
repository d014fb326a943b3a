//! The mail outbox: every outgoing message is a row, written in the same
//! transaction as the change that caused it, and claimed by workers with a lease.
//!
//! A claim names its owner. The owner renews its claims while it works on them
//! and records outcomes only for rows it still holds; another worker takes a row
//! over only once its lease has run out, and a worker never takes over its own.

use std::time::Duration;

use uuid::Uuid;

use super::{Result, Store, WriteTx, db_time, now, on_tx};
use crate::domain::{CampaignId, Email, OutboxId, PersonId, Timestamp};

/// A message ready to be queued.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// What the message is, e.g. `confirm`, `invitation`; for counts and logs.
    pub kind: &'static str,
    pub recipient: Email,
    pub person_id: Option<PersonId>,
    pub campaign_id: Option<CampaignId>,
    /// The Message-ID header, without angle brackets; a resend carries the same.
    pub message_id: String,
    /// The complete message as it goes over the wire.
    pub raw: Vec<u8>,
}

/// Who holds a claim: one value per running worker, so that the worker renews
/// and records only its own claims and never those another worker took over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimOwner(Uuid);

impl ClaimOwner {
    /// A new owner, distinct from every other.
    #[must_use]
    pub fn generate() -> Self {
        Self(Uuid::new_v4())
    }
}

impl std::fmt::Display for ClaimOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A message a worker holds a lease on.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: OutboxId,
    pub recipient: String,
    pub raw: Vec<u8>,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// What happened when a claimed message was handed to the mail server.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The server accepted it.
    Sent,
    /// A temporary failure; try again at the given instant.
    Retry { at: Timestamp, error: String },
    /// A permanent failure: recorded, never retried.
    Failed { error: String },
    /// Not attempted: the lease may have run out before the message's turn
    /// came, so another worker may hold it now. Back in the queue as it was,
    /// unless someone else has claimed it since.
    Release,
    /// The server asked us to slow down: back in the queue until the given
    /// instant, and the attempt does not count towards giving up.
    Deferred { at: Timestamp, error: String },
}

/// Counts of messages by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxCounts {
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
}

/// Queues a message.
pub async fn enqueue(tx: &mut WriteTx, m: &NewMessage) -> Result<OutboxId> {
    let id = OutboxId::new();
    let at = db_time(now());
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into outbox (id, campaign_id, person_id, kind, recipient, message_id, raw, status, \
             next_attempt_at, created_at) values ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $8)",
        )
        .bind(id.uuid())
        .bind(m.campaign_id.map(CampaignId::uuid))
        .bind(m.person_id.map(PersonId::uuid))
        .bind(m.kind)
        .bind(m.recipient.as_str())
        .bind(&m.message_id)
        .bind(&m.raw)
        .bind(at)
        .execute(&mut *c)
        .await?;
    });
    Ok(id)
}

/// Queues many messages with multi-row inserts: a campaign of thousands costs
/// a handful of statements instead of one round trip per message.
pub async fn enqueue_many(tx: &mut WriteTx, messages: &[NewMessage]) -> Result<Vec<OutboxId>> {
    let at = db_time(now());
    let ids: Vec<OutboxId> = messages.iter().map(|_| OutboxId::new()).collect();
    // 10 values a row; 500 rows stay well below both engines' limits on bound values.
    for (chunk, chunk_ids) in messages.chunks(500).zip(ids.chunks(500)) {
        on_tx!(tx, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "insert into outbox (id, campaign_id, person_id, kind, recipient, message_id, raw, status, \
                 next_attempt_at, created_at) ",
            );
            q.push_values(chunk.iter().zip(chunk_ids), |mut row, (m, id)| {
                row.push_bind(id.uuid())
                    .push_bind(m.campaign_id.map(CampaignId::uuid))
                    .push_bind(m.person_id.map(PersonId::uuid))
                    .push_bind(m.kind)
                    .push_bind(m.recipient.as_str().to_owned())
                    .push_bind(m.message_id.clone())
                    .push_bind(m.raw.clone())
                    .push_bind("queued")
                    .push_bind(at)
                    .push_bind(at);
            });
            q.build().execute(&mut *c).await?;
        });
    }
    Ok(ids)
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: Uuid,
    recipient: String,
    raw: Option<Vec<u8>>,
    attempts: i32,
}

/// The due messages: queued and due, or claimed by another worker whose lease
/// ran out ($4 is the claiming owner: its own lapsed rows are still in its
/// hands, waiting for their outcome to be written). Messages of a paused campaign wait.
const DUE: &str = "select id from outbox \
     where ((status = 'queued' and next_attempt_at <= $2) \
     or (status = 'sending' and lease_until <= $2 and (claimed_by is null or claimed_by <> $4))) \
     and (campaign_id is null or campaign_id not in (select id from campaign where state = 'paused')) \
     order by next_attempt_at, id limit $3";

impl Store {
    /// Claims up to `limit` due messages for `owner` for `lease`. On PostgreSQL
    /// several workers claim side by side (`for update skip locked`); on SQLite
    /// the single writer serialises them.
    #[tracing::instrument(skip_all, fields(limit))]
    pub async fn claim_due(&self, owner: ClaimOwner, limit: u32, lease: Duration) -> Result<Vec<Claimed>> {
        let at = now();
        let until = db_time(at) + i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
        let sql = format!(
            "update outbox set status = 'sending', lease_until = $1, claimed_by = $4, attempts = attempts + 1 \
             where id in ({DUE}{}) returning id, recipient, raw, attempts",
            self.dialect().claim_lock()
        );
        let mut tx = self.begin().await?;
        let rows: Vec<ClaimRow> = on_tx!(tx, |c| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(until)
                .bind(db_time(at))
                .bind(i64::from(limit))
                .bind(owner.0)
                .fetch_all(&mut *c)
                .await?
        });
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(Claimed {
                    id: OutboxId::from_uuid(r.id),
                    recipient: r.recipient,
                    raw: r.raw?,
                    attempts: r.attempts,
                })
            })
            .collect())
    }

    /// Extends the lease of those of `ids` that `owner` still holds and that are
    /// not finished, to `lease` from now, and returns them. A row another worker
    /// took over (after this owner's lease had run out) is left alone and not
    /// returned: its owner must not send it. A row of this owner whose lease ran
    /// out while nobody took it is renewed: nobody else can be sending it.
    ///
    /// # Errors
    /// The database failed; the leases run on unchanged.
    #[tracing::instrument(skip_all, fields(n = ids.len()))]
    pub async fn renew_claims(&self, owner: ClaimOwner, ids: &[OutboxId], lease: Duration) -> Result<Vec<OutboxId>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let until = db_time(now()) + i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
        let mut renewed = Vec::with_capacity(ids.len());
        let mut tx = self.begin().await?;
        for chunk in ids.chunks(500) {
            on_tx!(tx, |c| {
                let mut q = sqlx::QueryBuilder::new("update outbox set lease_until = ");
                q.push_bind(until)
                    .push(" where status = 'sending' and claimed_by = ")
                    .push_bind(owner.0)
                    .push(" and id in (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(id.uuid());
                }
                q.push(") returning id");
                let rows: Vec<(Uuid,)> = q.build_query_as().fetch_all(&mut *c).await?;
                renewed.extend(rows.into_iter().map(|(id,)| OutboxId::from_uuid(id)));
            });
        }
        tx.commit().await?;
        Ok(renewed)
    }

    /// Records what happened to messages `owner` claimed, all in one
    /// transaction. A sent or failed message loses its body: it held personal
    /// links. A row another worker has taken over since is left to that worker.
    ///
    /// # Errors
    /// The database failed; the messages stay claimed and are retried when the lease runs out.
    #[tracing::instrument(skip_all, fields(n = outcomes.len()))]
    pub async fn record_outcomes(&self, owner: ClaimOwner, outcomes: &[(OutboxId, Outcome)]) -> Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let at = db_time(now());
        let sent: Vec<uuid::Uuid> =
            outcomes.iter().filter(|(_, o)| matches!(o, Outcome::Sent)).map(|(id, _)| id.uuid()).collect();
        let mut tx = self.begin().await?;
        // The common case in bulk: one statement per 500 sent messages.
        for chunk in sent.chunks(500) {
            on_tx!(tx, |c| {
                let mut q = sqlx::QueryBuilder::new("update outbox set status = 'sent', sent_at = ");
                q.push_bind(at)
                    .push(", raw = null, lease_until = null, claimed_by = null, last_error = '' where status = 'sending' and claimed_by = ")
                    .push_bind(owner.0)
                    .push(" and id in (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                q.build().execute(&mut *c).await?;
            });
        }
        for (id, outcome) in outcomes {
            on_tx!(tx, |c| {
                let q = match outcome {
                    Outcome::Sent => continue,
                    Outcome::Retry { at: next, error } => sqlx::query(
                        "update outbox set status = 'queued', next_attempt_at = $3, lease_until = null, \
                         claimed_by = null, last_error = $4 where id = $1 and claimed_by = $2 and status = 'sending'",
                    )
                    .bind(id.uuid())
                    .bind(owner.0)
                    .bind(db_time(*next))
                    .bind(error.as_str()),
                    Outcome::Failed { error } => sqlx::query(
                        "update outbox set status = 'failed', raw = null, lease_until = null, claimed_by = null, \
                         last_error = $3 where id = $1 and claimed_by = $2 and status = 'sending'",
                    )
                    .bind(id.uuid())
                    .bind(owner.0)
                    .bind(error.as_str()),
                    // No attempt was made, so it does not count as one; it keeps
                    // its place at the front of the queue.
                    Outcome::Release => sqlx::query(
                        "update outbox set status = 'queued', lease_until = null, claimed_by = null, \
                         attempts = attempts - 1 where id = $1 and claimed_by = $2 and status = 'sending'",
                    )
                    .bind(id.uuid())
                    .bind(owner.0),
                    Outcome::Deferred { at: next, error } => sqlx::query(
                        "update outbox set status = 'queued', next_attempt_at = $3, lease_until = null, \
                         claimed_by = null, last_error = $4, attempts = attempts - 1 \
                         where id = $1 and claimed_by = $2 and status = 'sending'",
                    )
                    .bind(id.uuid())
                    .bind(owner.0)
                    .bind(db_time(*next))
                    .bind(error.as_str()),
                };
                q.execute(&mut *c).await?;
            });
        }
        tx.commit().await
    }

    /// How many messages are in each state.
    pub async fn outbox_counts(&self) -> Result<OutboxCounts> {
        let rows: Vec<(String, i64)> = super::on_pool!(self, |db| {
            sqlx::query_as("select status, count(*) from outbox group by status").fetch_all(db).await?
        });
        let mut c = OutboxCounts::default();
        for (status, n) in rows {
            match status.as_str() {
                "queued" => c.queued = n,
                "sending" => c.sending = n,
                "sent" => c.sent = n,
                "failed" => c.failed = n,
                _ => {}
            }
        }
        Ok(c)
    }

    /// How many messages were handed to the mail server since `since`, with
    /// those claimed for sending now: what counts against a daily cap.
    pub async fn handed_over_since(&self, since: Timestamp) -> Result<i64> {
        Ok(super::on_pool!(self, |db| {
            sqlx::query_scalar(
                "select (select count(*) from outbox where status = 'sent' and sent_at > $1) \
                 + (select count(*) from outbox where status = 'sending')",
            )
            .bind(db_time(since))
            .fetch_one(db)
            .await?
        }))
    }

    /// The earliest instant at which a message becomes due, if any waits.
    pub async fn next_due(&self) -> Result<Option<Timestamp>> {
        let at: Option<i64> = super::on_pool!(self, |db| {
            sqlx::query_scalar(
                "select min(case when status = 'queued' then next_attempt_at else lease_until end) \
                 from outbox where status in ('queued', 'sending')",
            )
            .fetch_one(db)
            .await?
        });
        Ok(at.map(super::from_db_time))
    }
}
