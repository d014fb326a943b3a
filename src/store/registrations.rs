//! Registrations: one person's standing for one meeting.

use uuid::Uuid;

use super::{Result, WriteTx, db_time, now, on_tx};
use crate::domain::{MeetingId, PersonId, RegistrationId};

/// The person's registration for the meeting, created as `invited` if there
/// is none yet (then `true`); an existing one is left as it is (`false`).
///
/// # Errors
/// The database failed.
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
