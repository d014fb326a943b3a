//! Personal link tokens: stored as hashes, each for one purpose, with an expiry.

use super::{Result, WriteTx, db_time, now, on_tx};
use crate::domain::{PersonId, RegistrationId, Timestamp, TokenHash, TokenPurpose};

/// Records a token for a link in a mail.
///
/// # Errors
/// The database failed.
pub async fn insert_link_token(
    tx: &mut WriteTx,
    hash: &TokenHash,
    purpose: TokenPurpose,
    person: Option<PersonId>,
    registration: Option<RegistrationId>,
    expires_at: Option<Timestamp>,
) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into link_token (hash, purpose, person_id, registration_id, created_at, expires_at) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hash.as_bytes())
        .bind(purpose.as_str())
        .bind(person.map(PersonId::uuid))
        .bind(registration.map(RegistrationId::uuid))
        .bind(db_time(now()))
        .bind(expires_at.map(db_time))
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}
