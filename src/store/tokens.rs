//! Personal link tokens: stored as hashes, each for one purpose, with an expiry.

use super::{Result, WriteTx, db_time, now, on_tx};
use crate::domain::{PersonId, RegistrationId, Timestamp, TokenHash, TokenPurpose};

/// Records a token for a link in a mail.
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

/// A link token to record.
#[derive(Debug, Clone)]
pub struct NewLinkToken {
    pub hash: TokenHash,
    pub purpose: TokenPurpose,
    pub person: Option<PersonId>,
    pub registration: Option<RegistrationId>,
    pub expires_at: Option<Timestamp>,
}

/// Records many link tokens with multi-row inserts.
pub async fn insert_link_tokens(tx: &mut WriteTx, tokens: &[NewLinkToken]) -> Result<()> {
    let at = db_time(now());
    for chunk in tokens.chunks(1000) {
        on_tx!(tx, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "insert into link_token (hash, purpose, person_id, registration_id, created_at, expires_at) ",
            );
            q.push_values(chunk, |mut row, t| {
                row.push_bind(t.hash.as_bytes().to_vec())
                    .push_bind(t.purpose.as_str())
                    .push_bind(t.person.map(PersonId::uuid))
                    .push_bind(t.registration.map(RegistrationId::uuid))
                    .push_bind(at)
                    .push_bind(t.expires_at.map(db_time));
            });
            q.build().execute(&mut *c).await?;
        });
    }
    Ok(())
}
