//! Where the two engines' SQL differs, in one place. Every other query is
//! written once and expanded per engine by `on_pool!`/`on_tx!`; what follows
//! are the only fragments that are not the same text on both:
//!
//! - claiming outbox rows: PostgreSQL lets several workers claim side by side
//!   with `for update skip locked`; SQLite has one writer, which serialises
//!   the claims by itself;
//! - serialising seat allocation per meeting: a row lock on PostgreSQL
//!   (`select … for update`); SQLite's single writer already does it;
//! - making concurrent writers on one key take turns (the login and sign-up
//!   counters): an advisory lock on PostgreSQL (`pg_advisory_xact_lock`);
//!   SQLite's single writer again does it by itself;
//! - joining strings in an aggregate: `group_concat` on SQLite (3.44 or later
//!   for its `order by`), `string_agg` on PostgreSQL.
//!
//! The migrations are kept per engine too (`migrations/{sqlite,postgres}`),
//! and anonymous evaluation answers are rewritten on PostgreSQL so that row
//! order and `xmin` link nothing (`evaluations::scramble`).

use uuid::Uuid;

use super::{Engine, Result, Store, TxInner, WriteTx};

/// The engine a piece of SQL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// What follows the subquery that picks outbox rows to claim.
    #[must_use]
    pub const fn claim_lock(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " for update skip locked",
        }
    }

    /// The aggregate that joins strings with a separator, in order.
    #[must_use]
    pub const fn string_agg(self) -> &'static str {
        match self {
            Self::Sqlite => "group_concat",
            Self::Postgres => "string_agg",
        }
    }
}

impl Store {
    /// The engine's dialect.
    #[must_use]
    pub const fn dialect(&self) -> Dialect {
        match self.engine {
            Engine::Sqlite(..) => Dialect::Sqlite,
            Engine::Postgres(_) => Dialect::Postgres,
        }
    }
}

/// The meeting whose seats a transaction is about to allocate.
#[derive(Debug, Clone, Copy)]
pub enum SeatLock {
    /// The meeting with this id.
    Meeting(Uuid),
    /// The meeting of the registration with this id.
    MeetingOf(Uuid),
}

/// Serialises seat allocation for the meeting `lock` names until `tx`
/// ends: a row lock on PostgreSQL; on SQLite the transaction already holds
/// the single writer.
pub async fn lock_seats(tx: &mut WriteTx, lock: SeatLock) -> Result<()> {
    if let TxInner::Postgres(t) = &mut tx.inner {
        let (sql, id) = match lock {
            SeatLock::Meeting(id) => ("select id from meeting where id = $1 for update", id),
            SeatLock::MeetingOf(id) => {
                ("select id from meeting where id = (select meeting_id from registration where id = $1) for update", id)
            }
        };
        sqlx::query(sql).bind(id).execute(&mut **t).await?;
    }
    Ok(())
}

/// Makes writers on `key` take turns until `tx` ends: an advisory lock on
/// PostgreSQL; on SQLite the transaction already holds the single writer.
pub async fn lock_key(tx: &mut WriteTx, key: &str) -> Result<()> {
    if let TxInner::Postgres(t) = &mut tx.inner {
        sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))").bind(key).execute(&mut **t).await?;
    }
    Ok(())
}
