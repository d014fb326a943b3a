//! Addresses that may not be put on the list again by an organiser, an
//! import or a colleague: those of people who left the list and of people
//! whose data was erased.
//!
//! Only the SHA-256 of the normalised address is kept ([`Email::digest`]),
//! with the reason and the time, so the entry survives an erasure without
//! holding anything else about the person. An unsalted hash of an address
//! can be matched by anyone who already has the address, which is the point
//! of it; it is still pseudonymous data (GDPR recital 26) and is kept on the
//! basis of the person's own objection (GDPR art. 21(3): the data may no
//! longer be processed for that purpose, which needs the address recognised).
//! People who left before the list existed are recognised by their person
//! row, whose status stays `unsubscribed` until they confirm a sign-up.

use super::{Result, WriteTx, db_time, now, on_tx};
use crate::domain::{Email, Suppression};

/// Records that `email` may not be added again, for `reason`; an erasure
/// replaces an earlier "left the list".
pub async fn suppress(tx: &mut WriteTx, email: &Email, reason: Suppression) -> Result<()> {
    let digest = email.digest();
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into suppressed_address (address_sha256, reason, since) values ($1, $2, $3) \
             on conflict (address_sha256) do update set reason = excluded.reason, since = excluded.since",
        )
        .bind(&digest[..])
        .bind(reason.as_str())
        .bind(db_time(now()))
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// Lifts the suppression of `email`: its owner confirmed a sign-up.
pub async fn lift(tx: &mut WriteTx, email: &Email) -> Result<()> {
    let digest = email.digest();
    on_tx!(tx, |c| {
        sqlx::query("delete from suppressed_address where address_sha256 = $1")
            .bind(&digest[..])
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// Why `email` may not be added, if it may not.
pub async fn check(tx: &mut WriteTx, email: &Email) -> Result<Option<Suppression>> {
    let digest = email.digest();
    let (listed, left): (Option<String>, bool) = on_tx!(tx, |c| {
        let listed: Option<String> =
            sqlx::query_scalar("select reason from suppressed_address where address_sha256 = $1")
                .bind(&digest[..])
                .fetch_optional(&mut *c)
                .await?;
        let left: bool =
            sqlx::query_scalar("select count(*) > 0 from person where email = $1 and status = 'unsubscribed'")
                .bind(email.as_str())
                .fetch_one(&mut *c)
                .await?;
        (listed, left)
    });
    Ok(match listed.as_deref().map(Suppression::parse) {
        Some(Ok(reason)) => Some(reason),
        // An unknown stored reason still suppresses.
        Some(Err(_)) => Some(Suppression::Erased),
        None => left.then_some(Suppression::Unsubscribed),
    })
}
