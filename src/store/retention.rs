//! Retention: sign-ups that were never confirmed, old rate-limit counters and
//! audit entries past their retention are deleted once they have served their
//! purpose.

use jiff::{SignedDuration, Span};

use super::{Result, Store, audit, db_time, now, on_tx, rate};
use crate::domain::copenhagen;

/// How long things are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Days a sign-up may stay unconfirmed.
    pub pending_days: u64,
    /// Months the audit log is kept (at least six).
    pub audit_months: u32,
}

impl From<u64> for Policy {
    /// The given pending days, with the audit log kept the minimum six months.
    fn from(pending_days: u64) -> Self {
        Self { pending_days, audit_months: 6 }
    }
}

impl From<&crate::config::Security> for Policy {
    fn from(s: &crate::config::Security) -> Self {
        Self { pending_days: s.pending_retention_days, audit_months: s.audit_retention_months.max(6) }
    }
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
    tx.commit().await?;
    Ok(Purged { pending, link_tokens, messages, rate_counters, audit_entries })
}

/// The instant `months` calendar months ago in Copenhagen (never fewer than six).
fn audit_cutoff(months: u32) -> crate::domain::Timestamp {
    let months = i64::from(months.clamp(6, 1200));
    let here = now().to_zoned_datetime(copenhagen());
    here.checked_sub(Span::new().months(months)).map_or(crate::domain::Timestamp::UNIX_EPOCH, |z| z.timestamp())
}
