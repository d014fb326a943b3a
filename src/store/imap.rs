//! What was read from IMAP mailboxes: one row per message handled, keyed by
//! mailbox, UIDVALIDITY and UID, so that a message fetched again (the service
//! died after handling it but before marking it) is marked, not handled twice.

use std::collections::HashSet;

use super::{Result, Store, WriteTx, db_time, now, on_pool, on_tx};

/// A message as it sits in a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The mailbox, as `user@host/folder`.
    pub mailbox: String,
    /// The folder's UIDVALIDITY when the message was read.
    pub uid_validity: u32,
    /// The message's UID in the folder.
    pub uid: u32,
}

/// Records that `fetched` was handled, with what came of it (`join`, `bounce`,
/// `ignored`, …), in the transaction of that effect. Recording it again
/// changes nothing.
pub async fn record(tx: &mut WriteTx, fetched: &Fetched, outcome: &str) -> Result<()> {
    let at = db_time(now());
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into imap_message (mailbox, uid_validity, uid, outcome, handled_at) \
             values ($1, $2, $3, $4, $5) on conflict (mailbox, uid_validity, uid) do nothing",
        )
        .bind(&fetched.mailbox)
        .bind(i64::from(fetched.uid_validity))
        .bind(i64::from(fetched.uid))
        .bind(outcome)
        .bind(at)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

impl Store {
    /// Records that `fetched` was handled, in a transaction of its own (for
    /// messages whose handling wrote nothing else).
    pub async fn record_fetched(&self, fetched: &Fetched, outcome: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        record(&mut tx, fetched, outcome).await?;
        tx.commit().await
    }

    /// Which of the UIDs from `from` upwards in `mailbox` (at `uid_validity`)
    /// have been handled.
    pub async fn handled_uids(&self, mailbox: &str, uid_validity: u32, from: u32) -> Result<HashSet<u32>> {
        let rows: Vec<i64> = on_pool!(self, |db| {
            sqlx::query_scalar("select uid from imap_message where mailbox = $1 and uid_validity = $2 and uid >= $3")
                .bind(mailbox)
                .bind(i64::from(uid_validity))
                .bind(i64::from(from))
                .fetch_all(db)
                .await?
        });
        Ok(rows.into_iter().filter_map(|u| u32::try_from(u).ok()).collect())
    }
}
