//! The audit log: an append-only record of who did what to personal data.

use uuid::Uuid;

use super::{Result, WriteTx, db_time, now, on_tx};

/// Who acted.
#[derive(Debug, Clone)]
pub enum Actor {
    /// An organiser, logged in or by API token.
    User { id: Uuid, label: String },
    /// The person the data is about (through a personal link).
    Person(Uuid),
    /// The service itself (worker, demo loader, command line).
    System(&'static str),
}

/// One audit entry.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub action: &'a str,
    pub subject_kind: &'a str,
    pub subject_id: Option<Uuid>,
    /// A search term, a file name or a short note; never a token or password.
    pub detail: &'a str,
    pub row_count: Option<i64>,
}

/// Appends an entry in the same transaction as the change it records.
///
/// # Errors
/// The database failed.
pub async fn record(tx: &mut WriteTx, actor: &Actor, e: &Entry<'_>) -> Result<()> {
    let (kind, id, label) = match actor {
        Actor::User { id, label } => ("user", Some(*id), label.as_str()),
        Actor::Person(id) => ("person", Some(*id), ""),
        Actor::System(what) => ("system", None, *what),
    };
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into audit_log (at, actor_kind, actor_id, actor_label, action, subject_kind, subject_id, detail, \
             row_count) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(db_time(now()))
        .bind(kind)
        .bind(id)
        .bind(label)
        .bind(e.action)
        .bind(e.subject_kind)
        .bind(e.subject_id)
        .bind(e.detail)
        .bind(e.row_count)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}
