//! Rate limits kept in the database, so they hold across instances.

use super::{Result, WriteTx, db_time, now, on_tx};
use crate::domain::Timestamp;

/// Counts an attempt under `key` and says whether it is within `limit`
/// attempts since `since`. Refused attempts are not counted.
///
/// # Errors
/// The database failed.
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
///
/// # Errors
/// The database failed.
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
///
/// # Errors
/// The database failed.
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

/// Forgets attempts older than `before`.
///
/// # Errors
/// The database failed.
pub async fn purge(tx: &mut WriteTx, before: Timestamp) -> Result<u64> {
    Ok(on_tx!(tx, |c| {
        sqlx::query("delete from login_attempt where at < $1")
            .bind(db_time(before))
            .execute(&mut *c)
            .await?
            .rows_affected()
    }))
}
