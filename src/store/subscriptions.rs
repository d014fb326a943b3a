//! Joining and leaving the list: sign-up requests, confirmation, leaving,
//! and the personal link tokens that drive them.

use uuid::Uuid;

use super::{Result, Store, WriteTx, db_time, from_db_time, now, on_pool, on_tx, people};
use crate::domain::{
    Email, Name, PersonId, PersonStatus, RegistrationId, Suppression, Timestamp, TokenHash, TokenPurpose,
};

/// The mail kinds that are list mail: they stop the moment a person leaves.
pub const LIST_MAIL: &[&str] = &["invitation", "reminder", "evaluation", "announcement"];

/// Evidence of consent.
#[derive(Debug, Clone)]
pub struct Consent {
    pub text: String,
    pub version: String,
    /// `web`, `email`, `import`, `api`.
    pub method: &'static str,
    /// The client's IP address, or the Message-ID of the mail that asked.
    pub proof: String,
}

/// A request to join the list.
#[derive(Debug, Clone)]
pub struct Signup {
    pub email: Email,
    pub name: Name,
    pub organisation: Option<Name>,
    pub interests: Vec<String>,
    pub language: &'static str,
    pub consent: Consent,
}

/// What a sign-up request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupOutcome {
    /// Not confirmed on the list (new, pending, a guest, someone who left or
    /// bounced): the request is kept and a confirmation is due. The person
    /// keeps their details and status until the link is used.
    Pending { person: PersonId, request: Uuid, status: PersonStatus },
    /// Already confirmed: nothing changes; a "you are already on the list" mail is due.
    AlreadyConfirmed(PersonId),
}

impl SignupOutcome {
    /// The person the request is about.
    #[must_use]
    pub fn person(self) -> PersonId {
        match self {
            Self::Pending { person, .. } | Self::AlreadyConfirmed(person) => person,
        }
    }
}
/// A personal link token, looked up.
#[derive(Debug, Clone)]
pub struct LinkToken {
    pub person_id: Option<PersonId>,
    pub registration_id: Option<RegistrationId>,
    pub expires_at: Option<Timestamp>,
    pub used_at: Option<Timestamp>,
}

impl LinkToken {
    /// Whether the token has expired at `at`.
    #[must_use]
    pub fn expired(&self, at: Timestamp) -> bool {
        self.expires_at.is_some_and(|e| e <= at)
    }
}

/// The SHA-256 of a text in hex, as a consent record keeps the text it showed.
pub(crate) fn sha256_hex(text: &str) -> String {
    use std::fmt::Write;

    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Records a sign-up request. A confirmed person is left untouched. Anyone
/// else gets a pending request that holds what was typed; a new address
/// becomes a `pending` person with those details, since there is nobody to
/// overwrite, while a known person (pending, a guest, someone who left or
/// bounced) keeps their name, organisation, interests and status until the
/// confirmation link is used ([`confirm`]).
pub async fn request(tx: &mut WriteTx, s: &Signup) -> Result<SignupOutcome> {
    let at = db_time(now());
    let mut existing = person_status(tx, &s.email).await?;
    if let Some((id, PersonStatus::Confirmed)) = existing {
        return Ok(SignupOutcome::AlreadyConfirmed(id));
    }
    if existing.is_none() {
        let organisation = match &s.organisation {
            Some(o) => Some(people::upsert_organisation(tx, o).await?.uuid()),
            None => None,
        };
        on_tx!(tx, |c| {
            sqlx::query(
                "insert into person (id, email, name, organisation_id, status, language, created_at, updated_at) \
                 values ($1, $2, $3, $4, 'pending', $5, $6, $6) on conflict (email) do nothing",
            )
            .bind(Uuid::now_v7())
            .bind(s.email.as_str())
            .bind(s.name.as_str())
            .bind(organisation)
            .bind(s.language)
            .bind(at)
            .execute(&mut *c)
            .await?;
        });
        // Someone else may have put the address in at the same moment.
        existing = person_status(tx, &s.email).await?;
    }
    let Some((person, status)) = existing else {
        return Err(super::StoreError::NotFound);
    };
    if status == PersonStatus::Confirmed {
        return Ok(SignupOutcome::AlreadyConfirmed(person));
    }
    let request = Uuid::now_v7();
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into signup_request (id, person_id, name, organisation, interests, language, consent_text, \
             consent_version, method, proof, requested_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(request)
        .bind(person.uuid())
        .bind(s.name.as_str())
        .bind(s.organisation.as_ref().map(Name::as_str))
        .bind(s.interests.join(" "))
        .bind(s.language)
        .bind(&s.consent.text)
        .bind(&s.consent.version)
        .bind(s.consent.method)
        .bind(&s.consent.proof)
        .bind(at)
        .execute(&mut *c)
        .await?;
    });
    Ok(SignupOutcome::Pending { person, request, status })
}

/// The person at `email` and their status, if known.
pub async fn person_status(tx: &mut WriteTx, email: &Email) -> Result<Option<(PersonId, PersonStatus)>> {
    let row: Option<(Uuid, String)> = on_tx!(tx, |c| {
        sqlx::query_as("select id, status from person where email = $1")
            .bind(email.as_str())
            .fetch_optional(&mut *c)
            .await?
    });
    row.map(|(id, status)| {
        let status =
            PersonStatus::parse(&status).map_err(|e| super::StoreError::Database(sqlx::Error::Decode(e.into())))?;
        Ok((PersonId::from_uuid(id), status))
    })
    .transpose()
}

/// When a person's record last changed: for a bounced person, when the
/// address bounced (nothing else writes to a bounced person but an organiser).
pub async fn status_since(tx: &mut WriteTx, person: PersonId) -> Result<Timestamp> {
    let at: i64 = on_tx!(tx, |c| {
        sqlx::query_scalar("select updated_at from person where id = $1").bind(person.uuid()).fetch_one(&mut *c).await?
    });
    Ok(from_db_time(at))
}

/// Ties a sign-up request to the confirmation link mailed for it.
pub async fn attach_token(tx: &mut WriteTx, request: Uuid, token: &TokenHash) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query("update signup_request set token_hash = $2 where id = $1")
            .bind(request)
            .bind(token.as_bytes())
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// The organisation a pending sign-up named, if the link is a sign-up's.
pub async fn requested_organisation(store: &Store, token: &TokenHash) -> Result<Option<String>> {
    let row: Option<Option<String>> = on_pool!(store, |db| {
        sqlx::query_scalar("select organisation from signup_request where token_hash = $1")
            .bind(token.as_bytes())
            .fetch_optional(db)
            .await?
    });
    Ok(row.flatten())
}

/// Someone on the list, pending or confirmed.
#[derive(Debug, Clone)]
pub struct Member {
    pub person: PersonId,
    pub name: String,
    /// `da` or `en`.
    pub language: String,
}

/// The person at `email` if they are on the list (pending or confirmed).
pub async fn member_by_email(tx: &mut WriteTx, email: &Email) -> Result<Option<Member>> {
    let row: Option<(Uuid, String, String)> = on_tx!(tx, |c| {
        sqlx::query_as("select id, name, language from person where email = $1 and status in ('pending', 'confirmed')")
            .bind(email.as_str())
            .fetch_optional(&mut *c)
            .await?
    });
    Ok(row.map(|(id, name, language)| Member { person: PersonId::from_uuid(id), name, language }))
}

/// How many mails of `kind` went to `email` since `since` (for rate limits).
pub async fn mails_since(tx: &mut WriteTx, email: &Email, kind: &str, since: Timestamp) -> Result<i64> {
    Ok(on_tx!(tx, |c| {
        sqlx::query_scalar("select count(*) from outbox where recipient = $1 and kind = $2 and created_at > $3")
            .bind(email.as_str())
            .bind(kind)
            .bind(db_time(since))
            .fetch_one(&mut *c)
            .await?
    }))
}

/// Confirms a sign-up by its link and uses the link up. When the link was
/// mailed for a [`request`], the request is applied to the person now: the
/// name, organisation (when one was named), language and interests (when any
/// were chosen) typed with it, status `confirmed` (which lifts a bounce's
/// suppression), and the consent it recorded, confirmed; the address leaves
/// the list of suppressed addresses ([`super::suppression`]). Returns false when
/// nothing changed (the person was confirmed already).
pub async fn confirm(tx: &mut WriteTx, person: PersonId, token: &TokenHash) -> Result<bool> {
    let at = db_time(now());
    let request: Option<RequestRow> = on_tx!(tx, |c| {
        sqlx::query_as(
            "select id, name, organisation, interests, language, consent_text, consent_version, method, proof, \
             requested_at from signup_request where token_hash = $1 and person_id = $2 and confirmed_at is null",
        )
        .bind(token.as_bytes())
        .bind(person.uuid())
        .fetch_optional(&mut *c)
        .await?
    });
    let changed = match request {
        Some(r) => apply_request(tx, person, r, at).await?,
        None => confirm_pending(tx, person, at).await?,
    };
    if changed {
        // The person asked to be on the list themselves: nobody keeps them off it.
        let email = email_of(tx, person).await?;
        super::suppression::lift(tx, &email).await?;
    }
    on_tx!(tx, |c| {
        sqlx::query("update link_token set used_at = $2 where hash = $1 and used_at is null")
            .bind(token.as_bytes())
            .bind(at)
            .execute(&mut *c)
            .await?;
    });
    Ok(changed)
}

/// A stored sign-up request: id, name, organisation, interests, language,
/// consent text, its version, method, proof and the time of the request.
type RequestRow = (Uuid, String, Option<String>, String, String, String, String, String, String, i64);

/// Applies a confirmed sign-up request to its person (see [`confirm`]).
async fn apply_request(
    tx: &mut WriteTx,
    person: PersonId,
    (request, name, organisation, interests, language, text, version, method, proof, requested_at): RequestRow,
    at: i64,
) -> Result<bool> {
    let organisation = match organisation.as_deref().map(Name::parse) {
        Some(Ok(o)) => Some(people::upsert_organisation(tx, &o).await?.uuid()),
        _ => None,
    };
    let interests: Vec<&str> = interests.split_whitespace().collect();
    Ok(on_tx!(tx, |c| {
        let n = sqlx::query(
            "update person set name = $2, organisation_id = coalesce($3, organisation_id), language = $4, \
             status = 'confirmed', confirmed_at = $5, list_consent = true, left_at = null, soft_bounces = 0, \
             updated_at = $5 where id = $1 and status <> 'confirmed'",
        )
        .bind(person.uuid())
        .bind(&name)
        .bind(organisation)
        .bind(&language)
        .bind(at)
        .execute(&mut *c)
        .await?
        .rows_affected();
        if n == 1 {
            if !interests.is_empty() {
                sqlx::query("delete from person_interest where person_id = $1")
                    .bind(person.uuid())
                    .execute(&mut *c)
                    .await?;
                for key in &interests {
                    sqlx::query(
                        "insert into person_interest (person_id, interest_key) select $1, key from interest where key = $2",
                    )
                    .bind(person.uuid())
                    .bind(*key)
                    .execute(&mut *c)
                    .await?;
                }
            }
            sqlx::query(
                "insert into consent (id, person_id, purpose, text_shown, text_version, method, given_at, \
                 requested_at, confirmed_at, text_hash, proof) \
                 values ($1, $2, 'mailing-list', $3, $4, $5, $6, $6, $7, $8, $9)",
            )
            .bind(Uuid::now_v7())
            .bind(person.uuid())
            .bind(&text)
            .bind(&version)
            .bind(&method)
            .bind(requested_at)
            .bind(at)
            .bind(sha256_hex(&text))
            .bind(&proof)
            .execute(&mut *c)
            .await?;
        }
        sqlx::query("update signup_request set confirmed_at = $2 where id = $1")
            .bind(request)
            .bind(at)
            .execute(&mut *c)
            .await?;
        // The person's other open requests are settled by this one.
        sqlx::query("delete from signup_request where person_id = $1 and confirmed_at is null")
            .bind(person.uuid())
            .execute(&mut *c)
            .await?;
        n == 1
    }))
}

/// Confirms a person made `pending` before sign-ups were kept as requests,
/// with the consent request recorded on them then.
async fn confirm_pending(tx: &mut WriteTx, person: PersonId, at: i64) -> Result<bool> {
    Ok(on_tx!(tx, |c| {
        let n = sqlx::query(
            "update person set status = 'confirmed', confirmed_at = $2, list_consent = true, updated_at = $2 \
             where id = $1 and status = 'pending'",
        )
        .bind(person.uuid())
        .bind(at)
        .execute(&mut *c)
        .await?
        .rows_affected();
        if n == 1 {
            sqlx::query(
                "update consent set confirmed_at = $2 where person_id = $1 and purpose = 'mailing-list' \
                 and confirmed_at is null and withdrawn_at is null",
            )
            .bind(person.uuid())
            .bind(at)
            .execute(&mut *c)
            .await?;
        }
        n == 1
    }))
}

/// Sets the organisation of a person who has none yet (someone who joined by
/// mail and named it on the confirmation page); a known one is kept.
pub async fn set_organisation_if_missing(tx: &mut WriteTx, person: PersonId, organisation: &Name) -> Result<()> {
    let has_one: bool = on_tx!(tx, |c| {
        sqlx::query_scalar("select organisation_id is not null from person where id = $1")
            .bind(person.uuid())
            .fetch_one(&mut *c)
            .await?
    });
    if has_one {
        return Ok(());
    }
    let id = people::upsert_organisation(tx, organisation).await?;
    on_tx!(tx, |c| {
        sqlx::query("update person set organisation_id = $2 where id = $1 and organisation_id is null")
            .bind(person.uuid())
            .bind(id.uuid())
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// Takes a person off the list at once: status `unsubscribed`, consent
/// withdrawn, their queued list mail withdrawn (campaigns already queued
/// included) and their address suppressed. Returns false when they were not
/// on the list.
pub async fn leave(tx: &mut WriteTx, person: PersonId) -> Result<bool> {
    let at = db_time(now());
    let kinds = LIST_MAIL.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ");
    let cancel = format!(
        "update outbox set status = 'cancelled', raw = null where person_id = $1 and status = 'queued' and kind in ({kinds})"
    );
    let left = on_tx!(tx, |c| {
        let n = sqlx::query(
            "update person set status = 'unsubscribed', left_at = $2, list_consent = false, updated_at = $2 \
             where id = $1 and status in ('pending', 'confirmed')",
        )
        .bind(person.uuid())
        .bind(at)
        .execute(&mut *c)
        .await?
        .rows_affected();
        sqlx::query("update consent set withdrawn_at = $2 where person_id = $1 and purpose = 'mailing-list' and withdrawn_at is null")
            .bind(person.uuid())
            .bind(at)
            .execute(&mut *c)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(cancel.clone())).bind(person.uuid()).execute(&mut *c).await?;
        n == 1
    });
    if left {
        let email = email_of(tx, person).await?;
        super::suppression::suppress(tx, &email, Suppression::Unsubscribed).await?;
    }
    Ok(left)
}

/// The address of `person`.
async fn email_of(tx: &mut WriteTx, person: PersonId) -> Result<Email> {
    let email: String = on_tx!(tx, |c| {
        sqlx::query_scalar("select email from person where id = $1").bind(person.uuid()).fetch_one(&mut *c).await?
    });
    Email::parse(&email).map_err(|e| super::StoreError::Database(sqlx::Error::Decode(e.into())))
}

impl Store {
    /// A personal link token of `purpose`, if it exists.
    pub async fn link_token(&self, hash: &TokenHash, purpose: TokenPurpose) -> Result<Option<LinkToken>> {
        type Row = (Option<Uuid>, Option<Uuid>, Option<i64>, Option<i64>);
        let row: Option<Row> = on_pool!(self, |db| {
            sqlx::query_as(
                "select person_id, registration_id, expires_at, used_at from link_token where hash = $1 and purpose = $2",
            )
            .bind(hash.as_bytes())
            .bind(purpose.as_str())
            .fetch_optional(db)
            .await?
        });
        Ok(row.map(|(p, r, e, u)| LinkToken {
            person_id: p.map(PersonId::from_uuid),
            registration_id: r.map(RegistrationId::from_uuid),
            expires_at: e.map(from_db_time),
            used_at: u.map(from_db_time),
        }))
    }

    /// A person's address, name and status.
    ///
    /// # Errors
    /// [`super::StoreError::NotFound`] when there is no such person.
    pub async fn person_contact(&self, id: PersonId) -> Result<(Email, String, PersonStatus, String)> {
        let (email, name, status, language): (String, String, String, String) = on_pool!(self, |db| {
            sqlx::query_as("select email, name, status, language from person where id = $1")
                .bind(id.uuid())
                .fetch_one(db)
                .await?
        });
        let corrupt = |e: crate::domain::ParseError| super::StoreError::Database(sqlx::Error::Decode(e.into()));
        Ok((Email::parse(&email).map_err(corrupt)?, name, PersonStatus::parse(&status).map_err(corrupt)?, language))
    }
}
