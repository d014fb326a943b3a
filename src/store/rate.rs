//! Rate limits kept in the database, so they hold across instances.

use super::{Result, Store, WriteTx, db_time, dialect, now, on_tx};
use crate::domain::Timestamp;

/// Counts an attempt under `key` and says whether it is within `limit`
/// attempts since `since`. Refused attempts are not counted.
pub async fn hit(tx: &mut WriteTx, key: &str, since: Timestamp, limit: i64) -> Result<bool> {
    let at = db_time(now());
    Ok(on_tx!(tx, |c| {
        let n: i64 = sqlx::query_scalar("select count(*) from login_attempt where key = $1 and at > $2")
            .bind(key)
            .bind(db_time(since))
            .fetch_one(&mut *c)
            .await?;
        if n >= limit {
            false
        } else {
            sqlx::query("insert into login_attempt (key, at) values ($1, $2)")
                .bind(key)
                .bind(at)
                .execute(&mut *c)
                .await?;
            true
        }
    }))
}

/// How many attempts were counted under `key` since `since`.
pub async fn count(tx: &mut WriteTx, key: &str, since: Timestamp) -> Result<i64> {
    Ok(on_tx!(tx, |c| {
        sqlx::query_scalar("select count(*) from login_attempt where key = $1 and at > $2")
            .bind(key)
            .bind(db_time(since))
            .fetch_one(&mut *c)
            .await?
    }))
}

/// Counts one attempt under `key` (a failed login, say), whatever the limit.
pub async fn add(tx: &mut WriteTx, key: &str) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query("insert into login_attempt (key, at) values ($1, $2)")
            .bind(key)
            .bind(db_time(now()))
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// One attempt counted by [`take`], which a success may hand back with [`refund`].
#[derive(Debug, Clone)]
pub struct Taken {
    key: String,
}

/// Counts an attempt under `key` before the work it guards is done, and says
/// whether it is within `limit` attempts since `since`; refused attempts are
/// not counted.
///
/// The count and the insert are one write transaction, and concurrent
/// attempts on the same key take turns: SQLite has one writer at a time, and
/// on PostgreSQL the transaction first takes an advisory lock on the key
/// (`pg_advisory_xact_lock`, held until commit). So of any number of parallel
/// attempts exactly `limit` pass, on both engines.
pub async fn take(store: &Store, key: &str, since: Timestamp, limit: u32) -> Result<(bool, Taken)> {
    let mut tx = store.begin().await?;
    dialect::lock_key(&mut tx, key).await?;
    let within = hit(&mut tx, key, since, i64::from(limit)).await?;
    tx.commit().await?;
    Ok((within, Taken { key: key.to_owned() }))
}

/// Counts one attempt under `key` whatever the limit, like [`add`], and
/// returns how many there are since `since`, this one included. Concurrent
/// callers on one key take turns as in [`take`], so each number is returned
/// once.
pub async fn add_and_count(tx: &mut WriteTx, key: &str, since: Timestamp) -> Result<i64> {
    dialect::lock_key(tx, key).await?;
    add(tx, key).await?;
    count(tx, key, since).await
}

/// Hands back an attempt counted by [`take`] (a login that succeeded, say).
pub async fn refund(tx: &mut WriteTx, taken: &Taken) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
            "delete from login_attempt where key = $1 and at = (select max(at) from login_attempt where key = $1)",
        )
        .bind(&taken.key)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// Forgets every attempt counted under `key`.
pub async fn forget(tx: &mut WriteTx, key: &str) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query("delete from login_attempt where key = $1").bind(key).execute(&mut *c).await?;
    });
    Ok(())
}

/// Forgets attempts older than `before`.
pub async fn purge(tx: &mut WriteTx, before: Timestamp) -> Result<u64> {
    Ok(on_tx!(tx, |c| {
        sqlx::query("delete from login_attempt where at < $1")
            .bind(db_time(before))
            .execute(&mut *c)
            .await?
            .rows_affected()
    }))
}

/// The hourly budget for requests that make the service mail an address
/// someone typed or wrote from: sign-ups and profile links on the web, and
/// requests to join or leave by mail.
#[derive(Debug, Clone, Copy)]
pub struct SignupBudget {
    /// Requests per client IP address (`security.signups_per_ip_per_hour`).
    pub per_client: u32,
    /// Requests by mail per envelope-sender domain (`security.signups_per_domain_per_hour`).
    pub per_domain: u32,
}

/// The key the requests of `client` (an IP address as text) are counted
/// under; the sign-up form and the profile-link form count under it too.
#[must_use]
pub fn signup_client_key(client: &str) -> String {
    format!("signup-ip:{client}")
}

/// Counts a request by `client` and, for mail, by the envelope sender's
/// `domain` against the last hour's [`SignupBudget`], and says whether it is
/// within both. A refused request is counted under neither key.
pub async fn signup(tx: &mut WriteTx, client: &str, domain: Option<&str>, budget: SignupBudget) -> Result<bool> {
    let since = now() - jiff::SignedDuration::from_hours(1);
    let client_key = signup_client_key(client);
    let domain_key = domain.map(|d| format!("signup-domain:{}", d.to_ascii_lowercase()));
    if count(tx, &client_key, since).await? >= i64::from(budget.per_client) {
        return Ok(false);
    }
    if let Some(key) = &domain_key
        && count(tx, key, since).await? >= i64::from(budget.per_domain)
    {
        return Ok(false);
    }
    add(tx, &client_key).await?;
    if let Some(key) = &domain_key {
        add(tx, key).await?;
    }
    Ok(true)
}
