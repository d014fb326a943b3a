//! Retention: sign-ups that were never confirmed and old rate-limit counters
//! are deleted once they have served their purpose.

use jiff::SignedDuration;

use super::{Result, Store, db_time, now, on_tx, rate};

/// How many rows a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Pending people, with their consents, interests and registrations.
    pub pending: u64,
    pub link_tokens: u64,
    pub messages: u64,
    pub rate_counters: u64,
}

/// Deletes people still pending that signed up more than `pending_days` days
/// ago, with their link tokens and outbox rows (queued or sent), and
/// rate-limit counters older than a day. All in one transaction.
///
/// # Errors
/// The database failed; nothing was deleted.
pub async fn purge(store: &Store, pending_days: u64) -> Result<Purged> {
    // At most a century, which keeps the duration in range.
    let days = i64::try_from(pending_days.min(36_500)).unwrap_or(36_500);
    let pending_before = db_time(now() - SignedDuration::from_hours(days * 24));
    let stale = "select id from person where status = 'pending' and created_at < $1";
    let mut tx = store.begin().await?;
    let (link_tokens, messages, pending) = on_tx!(tx, |c| {
        let tokens = sqlx::query(sqlx::AssertSqlSafe(format!("delete from link_token where person_id in ({stale})")))
            .bind(pending_before)
            .execute(&mut *c)
            .await?
            .rows_affected();
        let messages = sqlx::query(sqlx::AssertSqlSafe(format!("delete from outbox where person_id in ({stale})")))
            .bind(pending_before)
            .execute(&mut *c)
            .await?
            .rows_affected();
        let people = sqlx::query("delete from person where status = 'pending' and created_at < $1")
            .bind(pending_before)
            .execute(&mut *c)
            .await?
            .rows_affected();
        (tokens, messages, people)
    });
    let rate_counters = rate::purge(&mut tx, now() - SignedDuration::from_hours(24)).await?;
    tx.commit().await?;
    Ok(Purged { pending, link_tokens, messages, rate_counters })
}
