//! Bounces and complaints: which person a returned message was for, and what a
//! bounce does to that person — soft bounces are counted, a hard bounce, a
//! complaint or one soft bounce too many suppresses the address, and mail still
//! queued for a suppressed address is cancelled, all in one transaction with
//! its audit entry.

use uuid::Uuid;

use super::audit::{self, Actor, Entry};
use super::{Result, Store, StoreError, WriteTx, db_time, now, on_pool, on_tx};
use crate::domain::{OutboxId, PersonId};

/// What a report says about an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceKind {
    /// A permanent failure (5.x.x): the address does not work.
    Hard,
    /// A temporary failure (4.x.x, or delivery delayed).
    Soft,
    /// The recipient reported the message as unwanted (an abuse report).
    Complaint,
}

impl BounceKind {
    /// The audit action for this kind of report.
    #[must_use]
    pub const fn action(self) -> &'static str {
        match self {
            Self::Hard => "person.bounced",
            Self::Soft => "person.soft_bounce",
            Self::Complaint => "person.complaint",
        }
    }
}

/// What recording a bounce changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The person's soft bounces so far, this one included.
    pub soft_bounces: i32,
    /// The person's status became `bounced` just now.
    pub suppressed: bool,
    /// Queued messages to the person that were cancelled.
    pub cancelled: u64,
}

impl Store {
    /// The person an outbox message was written to, if it was written to a
    /// person and that person's address is still the one it went to (a bounce
    /// for an address someone has since replaced says nothing about the new one).
    pub async fn person_of_message(&self, id: OutboxId) -> Result<Option<PersonId>> {
        let person: Option<Uuid> = on_pool!(self, |db| {
            sqlx::query_scalar(
                "select person.id from outbox join person on person.id = outbox.person_id \
                 where outbox.id = $1 and person.email = outbox.recipient",
            )
            .bind(id.uuid())
            .fetch_optional(db)
            .await?
        });
        Ok(person.map(PersonId::from_uuid))
    }
}

/// Records a bounce or complaint for `person`. A hard bounce or a complaint
/// makes the person `bounced`; a soft bounce adds one to `person.soft_bounces`
/// and makes the person `bounced` when the count reaches `soft_bounce_limit`
/// (0 = never). A person who unsubscribed stays `unsubscribed`. When the person
/// is `bounced` afterwards, their queued mail is cancelled. `detail` (a status
/// code such as `5.1.1`, or a feedback type) goes into the audit entry, which
/// is written in the same transaction; it must never hold an address.
///
/// # Errors
/// [`StoreError::NotFound`] if the person does not exist.
pub async fn record_bounce(
    tx: &mut WriteTx,
    person: PersonId,
    kind: BounceKind,
    detail: &str,
    soft_bounce_limit: u32,
) -> Result<Recorded> {
    let id = person.uuid();
    let at = db_time(now());
    let before: Option<(String, i32)> = on_tx!(tx, |c| {
        if kind == BounceKind::Soft {
            sqlx::query_as(
                "update person set soft_bounces = soft_bounces + 1, updated_at = $2 where id = $1 \
                 returning status, soft_bounces",
            )
            .bind(id)
            .bind(at)
            .fetch_optional(&mut *c)
            .await?
        } else {
            sqlx::query_as("select status, soft_bounces from person where id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        }
    });
    let (status, soft_bounces) = before.ok_or(StoreError::NotFound)?;

    let limit_reached =
        kind == BounceKind::Soft && soft_bounce_limit > 0 && i64::from(soft_bounces) >= i64::from(soft_bounce_limit);
    let suppress = kind != BounceKind::Soft || limit_reached;
    let mut suppressed = false;
    if suppress {
        on_tx!(tx, |c| {
            suppressed = sqlx::query(
                "update person set status = 'bounced', updated_at = $2 \
                 where id = $1 and status not in ('bounced', 'unsubscribed')",
            )
            .bind(id)
            .bind(at)
            .execute(&mut *c)
            .await?
            .rows_affected()
                == 1;
        });
    }
    let bounced = suppressed || status == "bounced";
    let mut cancelled = 0;
    if bounced {
        on_tx!(tx, |c| {
            cancelled = sqlx::query(
                "update outbox set status = 'cancelled', raw = null, lease_until = null, \
                 last_error = 'recipient address bounced' where person_id = $1 and status = 'queued'",
            )
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected();
        });
    }

    let effect = if suppressed {
        "now bounced".to_owned()
    } else if kind != BounceKind::Soft || status == "bounced" || status == "unsubscribed" {
        format!("stays {status}")
    } else if soft_bounce_limit == 0 {
        format!("stays {status}, soft bounce {soft_bounces}, no limit")
    } else {
        format!("stays {status}, soft bounce {soft_bounces} of {soft_bounce_limit}")
    };
    let cancelled_rows = bounced.then(|| i64::try_from(cancelled).unwrap_or(i64::MAX));
    let actor = Actor::System("inbound");
    audit::record(
        tx,
        &actor,
        &Entry {
            action: kind.action(),
            subject_kind: "person",
            subject_id: Some(id),
            detail: &format!("{detail}; {effect}"),
            // After one soft bounce too many, the cancelled rows belong to the `person.bounced` entry below.
            row_count: if kind == BounceKind::Soft && suppressed { None } else { cancelled_rows },
        },
    )
    .await?;
    if kind == BounceKind::Soft && suppressed {
        audit::record(
            tx,
            &actor,
            &Entry {
                action: BounceKind::Hard.action(),
                subject_kind: "person",
                subject_id: Some(id),
                detail: &format!("soft bounce limit of {soft_bounce_limit} reached"),
                row_count: cancelled_rows,
            },
        )
        .await?;
    }
    Ok(Recorded { soft_bounces, suppressed, cancelled })
}
