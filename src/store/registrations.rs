//! Registrations: one person's standing for one meeting.

use uuid::Uuid;

use super::{Result, WriteTx, db_time, now, on_tx};
use crate::domain::{MeetingId, PersonId, RegistrationId, RegistrationStatus};

/// The person's registration for the meeting, created as `invited` if there
/// is none yet (then `true`); an existing one is left as it is (`false`).
pub async fn ensure_invited(tx: &mut WriteTx, meeting: MeetingId, person: PersonId) -> Result<(RegistrationId, bool)> {
    let at = db_time(now());
    let (id, created): (Uuid, bool) = on_tx!(tx, |c| {
        let created = sqlx::query(
            "insert into registration (id, meeting_id, person_id, status, created_at, updated_at) \
             values ($1, $2, $3, 'invited', $4, $4) on conflict (meeting_id, person_id) do nothing",
        )
        .bind(Uuid::now_v7())
        .bind(meeting.uuid())
        .bind(person.uuid())
        .bind(at)
        .execute(&mut *c)
        .await?
        .rows_affected()
            == 1;
        let id = sqlx::query_scalar("select id from registration where meeting_id = $1 and person_id = $2")
            .bind(meeting.uuid())
            .bind(person.uuid())
            .fetch_one(&mut *c)
            .await?;
        (id, created)
    });
    Ok((RegistrationId::from_uuid(id), created))
}

/// Everyone who already has a registration for the meeting (invited or answered).
pub async fn people_with_registration(
    tx: &mut WriteTx,
    meeting: MeetingId,
) -> Result<std::collections::HashSet<PersonId>> {
    let ids: Vec<Uuid> = on_tx!(tx, |c| {
        sqlx::query_scalar("select person_id from registration where meeting_id = $1")
            .bind(meeting.uuid())
            .fetch_all(&mut *c)
            .await?
    });
    Ok(ids.into_iter().map(PersonId::from_uuid).collect())
}

/// Creates `invited` registrations in bulk for people who have none yet
/// (the caller checked with [`people_with_registration`] in the same transaction).
pub async fn insert_invited(tx: &mut WriteTx, meeting: MeetingId, rows: &[(RegistrationId, PersonId)]) -> Result<()> {
    let at = db_time(now());
    for chunk in rows.chunks(1000) {
        on_tx!(tx, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "insert into registration (id, meeting_id, person_id, status, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut row, (id, person)| {
                row.push_bind(id.uuid())
                    .push_bind(meeting.uuid())
                    .push_bind(person.uuid())
                    .push_bind("invited")
                    .push_bind(at)
                    .push_bind(at);
            });
            q.build().execute(&mut *c).await?;
        });
    }
    Ok(())
}

/// The person's registrations that a fresh answer link could still serve:
/// for meetings not cancelled, not drafts and not yet over, and not passed on
/// to someone else. Soonest first.
pub async fn answerable(tx: &mut WriteTx, person: PersonId) -> Result<Vec<(RegistrationId, MeetingId)>> {
    let rows: Vec<(Uuid, Uuid)> = on_tx!(tx, |c| {
        sqlx::query_as(
            "select r.id, r.meeting_id from registration r join meeting m on m.id = r.meeting_id \
             where r.person_id = $1 and r.replaced_by is null and m.ends_at > $2 \
             and m.status not in ('draft', 'cancelled') order by m.starts_at, m.id",
        )
        .bind(person.uuid())
        .bind(db_time(now()))
        .fetch_all(&mut *c)
        .await?
    });
    Ok(rows.into_iter().map(|(r, m)| (RegistrationId::from_uuid(r), MeetingId::from_uuid(m))).collect())
}

/// The evaluations sent to the person, still open and not yet answered by
/// them, with the registration their link goes with and when each closes.
pub async fn evaluations_to_answer(
    tx: &mut WriteTx,
    person: PersonId,
) -> Result<Vec<(RegistrationId, MeetingId, crate::domain::Timestamp)>> {
    let rows: Vec<(Uuid, Uuid, i64)> = on_tx!(tx, |c| {
        sqlx::query_as(
            "select r.id, r.meeting_id, e.closes_at from evaluation_recipient s \
             join evaluation e on e.meeting_id = s.meeting_id \
             join registration r on r.meeting_id = s.meeting_id and r.person_id = s.person_id \
             where s.person_id = $1 and s.answered = false and e.sent_at is not null and e.closes_at > $2 \
             order by e.closes_at, r.meeting_id",
        )
        .bind(person.uuid())
        .bind(db_time(now()))
        .fetch_all(&mut *c)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(r, m, at)| (RegistrationId::from_uuid(r), MeetingId::from_uuid(m), super::from_db_time(at)))
        .collect())
}

/// One person a meeting's message goes to.
#[derive(Debug, Clone)]
pub struct Addressee {
    pub person: PersonId,
    pub email: crate::domain::Email,
    pub name: String,
    pub language: String,
}

/// Those registered for `meeting` as `status` (attending, waitlisted, or
/// invited without an answer) whom mail can reach: not bounced, and not a
/// walk-in who gave no address. Ordered by name.
///
/// # Errors
/// The database failed, or a stored address no longer parses.
pub async fn addressees(tx: &mut WriteTx, meeting: MeetingId, status: RegistrationStatus) -> Result<Vec<Addressee>> {
    let rows: Vec<(Uuid, String, String, String)> = on_tx!(tx, |c| {
        sqlx::query_as(
            "select p.id, p.email, p.name, p.language from registration r join person p on p.id = r.person_id \
             where r.meeting_id = $1 and r.status = $2 and p.status <> 'bounced' \
             and p.email not like '%@walk-in.invalid' order by p.name, p.id",
        )
        .bind(meeting.uuid())
        .bind(status.as_str())
        .fetch_all(&mut *c)
        .await?
    });
    rows.into_iter()
        .map(|(id, email, name, language)| {
            let email = crate::domain::Email::parse(&email)
                .map_err(|e| super::StoreError::Database(sqlx::Error::Decode(e.into())))?;
            Ok(Addressee { person: PersonId::from_uuid(id), email, name, language })
        })
        .collect()
}

impl super::Store {
    /// [`addressees`], read on its own.
    ///
    /// # Errors
    /// As [`addressees`].
    pub async fn addressees(&self, meeting: MeetingId, status: RegistrationStatus) -> Result<Vec<Addressee>> {
        let mut tx = self.begin().await?;
        let found = addressees(&mut tx, meeting, status).await?;
        // Nothing was written: the transaction only gave a consistent read.
        tx.commit().await?;
        Ok(found)
    }
}
