//! The audit log: an append-only record of who did what to personal data.
//!
//! Entries are only ever added. The database refuses to change one (except
//! that an erasure blanks a detail naming the erased person) and to delete
//! one younger than 180 days; the retention job deletes entries older than
//! the configured retention.

use uuid::Uuid;

use super::users::User;
use super::{Result, Store, WriteTx, db_time, from_db_time, now, on_pool, on_tx};
use crate::domain::Timestamp;

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

impl Actor {
    /// An organiser account, recorded by id and masked address.
    #[must_use]
    pub fn of(user: &User) -> Self {
        Self::User { id: user.id.uuid(), label: user.email.masked() }
    }
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

impl<'a> Entry<'a> {
    /// A read of personal data: `action` on `subject_kind` (one subject, or a
    /// search when `subject_id` is `None`, with the term as `detail`) that
    /// showed `rows` rows.
    #[must_use]
    pub fn read(
        action: &'a str,
        subject_kind: &'a str,
        subject_id: Option<Uuid>,
        detail: &'a str,
        rows: usize,
    ) -> Self {
        Self { action, subject_kind, subject_id, detail, row_count: Some(i64::try_from(rows).unwrap_or(i64::MAX)) }
    }

    /// `action` on registration `id`, with no detail.
    #[must_use]
    pub fn on_registration(action: &'a str, id: crate::domain::RegistrationId) -> Self {
        Self { action, subject_kind: "registration", subject_id: Some(id.uuid()), detail: "", row_count: None }
    }
}

/// Appends an entry in the same transaction as the change it records.
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

/// Appends many entries in one statement, in the same transaction as the
/// changes they record.
pub async fn record_many(tx: &mut WriteTx, entries: &[(Actor, Entry<'_>)]) -> Result<()> {
    let at = db_time(now());
    // 9 values a row; 500 rows stay well below both engines' limits on bound values.
    for chunk in entries.chunks(500) {
        on_tx!(tx, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "insert into audit_log (at, actor_kind, actor_id, actor_label, action, subject_kind, subject_id, \
                 detail, row_count) ",
            );
            q.push_values(chunk, |mut row, (actor, e)| {
                let (kind, id, label) = match actor {
                    Actor::User { id, label } => ("user", Some(*id), label.as_str()),
                    Actor::Person(id) => ("person", Some(*id), ""),
                    Actor::System(what) => ("system", None, *what),
                };
                row.push_bind(at)
                    .push_bind(kind)
                    .push_bind(id)
                    .push_bind(label.to_owned())
                    .push_bind(e.action.to_owned())
                    .push_bind(e.subject_kind.to_owned())
                    .push_bind(e.subject_id)
                    .push_bind(e.detail.to_owned())
                    .push_bind(e.row_count);
            });
            q.build().execute(&mut *c).await?;
        });
    }
    Ok(())
}

/// Records a read (a view, a search, an export) in a transaction of its own:
/// the one call a handler makes after it has fetched personal data and before
/// it shows it.
///
/// # Errors
/// The database failed; the handler should then not show the data.
pub async fn record_read(store: &Store, actor: &Actor, e: &Entry<'_>) -> Result<()> {
    let mut tx = store.begin().await?;
    record(&mut tx, actor, e).await?;
    tx.commit().await
}

/// Records `action` by `actor` on meeting `id`, in `tx`.
pub async fn record_on_meeting(
    tx: &mut WriteTx,
    actor: &Actor,
    action: &str,
    id: crate::domain::MeetingId,
    detail: &str,
    rows: Option<i64>,
) -> Result<()> {
    let entry = Entry { action, subject_kind: "meeting", subject_id: Some(id.uuid()), detail, row_count: rows };
    record(tx, actor, &entry).await
}

/// Records `action` by `actor` on person `id`, in `tx`.
pub async fn record_on_person(
    tx: &mut WriteTx,
    actor: &Actor,
    action: &str,
    id: crate::domain::PersonId,
    detail: &str,
    rows: Option<i64>,
) -> Result<()> {
    let entry = Entry { action, subject_kind: "person", subject_id: Some(id.uuid()), detail, row_count: rows };
    record(tx, actor, &entry).await
}

/// Deletes entries older than `before` (the retention job only).
///
/// # Errors
/// The database failed, or refused because an entry is younger than 180 days.
pub async fn purge(tx: &mut WriteTx, before: Timestamp) -> Result<u64> {
    Ok(on_tx!(tx, |c| {
        sqlx::query("delete from audit_log where at < $1").bind(db_time(before)).execute(&mut *c).await?.rows_affected()
    }))
}

/// Which entries to show. Every field narrows; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// One account (or person) that acted.
    pub actor_id: Option<Uuid>,
    /// `user`, `person` or `system`.
    pub actor_kind: Option<String>,
    pub action: Option<String>,
    /// The subject's id.
    pub subject_id: Option<Uuid>,
    /// Text in the detail (a search term, a file name), in any case.
    pub detail: Option<String>,
    /// From this instant, inclusive.
    pub from: Option<Timestamp>,
    /// Until this instant, exclusive.
    pub until: Option<Timestamp>,
    /// Only entries older than this entry (paging, newest first).
    pub before_id: Option<i64>,
    pub limit: u32,
    /// Entries about this meeting: the meeting itself, its registrations
    /// and its mailings.
    pub meeting_id: Option<Uuid>,
    /// Entries about the person at this address: the person and their
    /// registrations.
    pub person_email: Option<String>,
}

/// One entry as stored.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: i64,
    pub at: Timestamp,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub actor_label: String,
    pub action: String,
    pub subject_kind: String,
    pub subject_id: Option<Uuid>,
    pub detail: String,
    pub row_count: Option<i64>,
}

/// An entry as the database returns it: `id, at, actor_kind, actor_id,
/// actor_label, action, subject_kind, subject_id, detail, row_count`.
pub(super) type RawRow = (i64, i64, String, Option<Uuid>, String, String, String, Option<Uuid>, String, Option<i64>);

impl From<RawRow> for AuditRow {
    fn from(
        (id, at, actor_kind, actor_id, actor_label, action, subject_kind, subject_id, detail, row_count): RawRow,
    ) -> Self {
        Self {
            id,
            at: from_db_time(at),
            actor_kind,
            actor_id,
            actor_label,
            action,
            subject_kind,
            subject_id,
            detail,
            row_count,
        }
    }
}

impl Store {
    /// Entries matching `filter`, newest first, at most `filter.limit`.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>> {
        let detail = filter.detail.as_ref().map(|d| {
            let escaped = d.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        });
        let rows: Vec<RawRow> = on_pool!(self, |db| {
            sqlx::query_as(
                "select id, at, actor_kind, actor_id, actor_label, action, subject_kind, subject_id, detail, row_count \
                 from audit_log where ($1 is null or actor_id = $1) and ($2 is null or actor_kind = $2) \
                 and ($3 is null or action = $3) and ($4 is null or subject_id = $4) \
                 and ($5 is null or lower(detail) like $5 escape '\\') and ($6 is null or at >= $6) \
                 and ($7 is null or at < $7) and ($8 is null or id < $8) \
                 and ($10 is null or subject_id = $10 \
                      or subject_id in (select id from registration where meeting_id = $10) \
                      or subject_id in (select id from campaign where meeting_id = $10)) \
                 and ($11 is null or subject_id in (select id from person where email = $11) \
                      or subject_id in (select r.id from registration r join person p on p.id = r.person_id \
                                        where p.email = $11)) \
                 order by id desc limit $9",
            )
            .bind(filter.actor_id)
            .bind(filter.actor_kind.as_deref())
            .bind(filter.action.as_deref())
            .bind(filter.subject_id)
            .bind(detail.as_deref())
            .bind(filter.from.map(db_time))
            .bind(filter.until.map(db_time))
            .bind(filter.before_id)
            .bind(i64::from(filter.limit))
            .bind(filter.meeting_id)
            .bind(filter.person_email.as_deref())
            .fetch_all(db)
            .await?
        });
        Ok(rows.into_iter().map(AuditRow::from).collect())
    }

    /// The actions that occur in the log, for a filter's choices.
    pub async fn audit_actions(&self) -> Result<Vec<String>> {
        Ok(on_pool!(self, |db| {
            sqlx::query_scalar("select distinct action from audit_log order by action").fetch_all(db).await?
        }))
    }
}
