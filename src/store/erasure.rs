//! Erasure: removing one person's data everywhere, in one transaction.
//!
//! Removed: the person row (name, address, language, timestamps), their
//! consent records (with the IP address or Message-ID kept as proof), their
//! interests, their personal link tokens, every outbox row to them or to
//! their address (queued or sent), their registrations with whatever they
//! wrote in them, their entries in the audiences of campaigns (guests by
//! address and name, members by id), rate-limit counters keyed by their
//! address, and their organisation when nobody else belongs to it. Audit
//! entries stay, being pseudonymous (the person's UUID), but any detail that
//! names their address or name (an organiser's search, say) is blanked.
//!
//! What remains: the SHA-256 of the address in the list of suppressed
//! addresses (see [`super::suppression`]), so that no import or organiser
//! puts it back on the list; audit entries with the person's UUID, among
//! them one per meeting they were registered for with the registration's
//! status, so that the counts of past meetings can still be derived, and one
//! for the erasure itself with the number of rows removed from each table.

use std::fmt::Write as _;

use sqlx::types::Json;
use uuid::Uuid;

use super::audit::{self, Actor, Entry};
use super::{Result, StoreError, WriteTx, on_tx};
use crate::domain::{Email, PersonId, Suppression};

/// What an erasure removed, by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    pub registrations: u64,
    pub consents: u64,
    pub link_tokens: u64,
    pub interests: u64,
    pub messages: u64,
    /// Campaigns whose audience named the person.
    pub campaigns: u64,
    /// Audit entries whose detail named the person and was blanked.
    pub audit_details: u64,
    pub rate_counters: u64,
    pub organisations: u64,
}

impl Erased {
    /// Rows deleted or blanked, in all.
    #[must_use]
    pub const fn total(&self) -> u64 {
        1 + self.registrations
            + self.consents
            + self.link_tokens
            + self.interests
            + self.messages
            + self.campaigns
            + self.audit_details
            + self.rate_counters
            + self.organisations
    }

    fn describe(&self) -> String {
        format!(
            "person 1, registrations {}, consents {}, link tokens {}, interests {}, messages {}, \
             campaign audiences {}, audit details blanked {}, rate counters {}, organisations {}",
            self.registrations,
            self.consents,
            self.link_tokens,
            self.interests,
            self.messages,
            self.campaigns,
            self.audit_details,
            self.rate_counters,
            self.organisations
        )
    }
}

/// What replaces an audit detail that named an erased person.
const BLANKED: &str = "[erased]";

/// Whether `needle` occurs in `hay` as a whole word (case folded), so that
/// erasing someone called "Bo" does not blank every entry about a bounce.
fn names(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let hay = hay.to_lowercase();
    let mut from = 0;
    while let Some(at) = hay[from..].find(needle) {
        let start = from + at;
        let end = start + needle.len();
        let before = hay[..start].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let after = hay[end..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        if before && after {
            return true;
        }
        from = start + hay[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// Takes `email` and `id` out of a campaign's stored audience; true when it changed.
fn scrub_audience(audience: &mut serde_json::Value, email: &str, id: &str) -> bool {
    let mut changed = false;
    if let Some(guests) = audience.get_mut("guests").and_then(serde_json::Value::as_array_mut) {
        let before = guests.len();
        guests.retain(|g| g.get("email").and_then(serde_json::Value::as_str) != Some(email));
        changed |= guests.len() != before;
    }
    if let Some(people) =
        audience.get_mut("audience").and_then(|a| a.get_mut("people")).and_then(serde_json::Value::as_array_mut)
    {
        let before = people.len();
        people.retain(|p| p.as_str() != Some(id));
        changed |= people.len() != before;
    }
    changed
}

/// Erases a person (see the module documentation) and records it, and each
/// of their registrations, in the audit log as done by `actor`.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such person; otherwise the
/// database failed and nothing was erased.
#[tracing::instrument(skip_all, fields(person = %person))]
pub async fn erase_person(tx: &mut WriteTx, person: PersonId, actor: &Actor) -> Result<Erased> {
    let id = person.uuid();
    let found: Option<(String, String, Option<Uuid>)> = on_tx!(tx, |c| {
        sqlx::query_as("select email, name, organisation_id from person where id = $1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?
    });
    let (email, name, organisation) = found.ok_or(StoreError::NotFound)?;
    // Kept as a hash only, so that nobody but the person puts the address back.
    if let Ok(address) = Email::parse(&email) {
        super::suppression::suppress(tx, &address, Suppression::Erased).await?;
    }
    let registered = record_registrations(tx, id, actor).await?;
    let mut erased = delete_rows(tx, id, &email).await?;
    erased.campaigns = scrub_campaigns(tx, id, &email).await?;
    erased.audit_details = scrub_audit_details(tx, &email, &name).await?;
    on_tx!(tx, |c| {
        sqlx::query("delete from person where id = $1").bind(id).execute(&mut *c).await?;
        // An organisation of one may be named after its one person.
        if let Some(org) = organisation {
            erased.organisations = sqlx::query(
                "delete from organisation where id = $1 and not exists (select 1 from person where organisation_id = $1)",
            )
            .bind(org)
            .execute(&mut *c)
            .await?
            .rows_affected();
        }
    });

    let mut detail = erased.describe();
    if registered > 0 {
        let _ = write!(detail, "; one registration.erase entry per meeting");
    }
    let entry = Entry {
        action: "person.erase",
        subject_kind: "person",
        subject_id: Some(id),
        detail: &detail,
        row_count: Some(i64::try_from(erased.total()).unwrap_or(i64::MAX)),
    };
    audit::record(tx, actor, &entry).await?;
    Ok(erased)
}

/// Writes one audit entry per registration of the person, with the meeting
/// and the status, so that the counts of past meetings stay derivable.
async fn record_registrations(tx: &mut WriteTx, id: Uuid, actor: &Actor) -> Result<usize> {
    let registrations: Vec<(Uuid, String, bool)> = on_tx!(tx, |c| {
        sqlx::query_as(
            "select meeting_id, status, checked_in_at is not null from registration where person_id = $1 \
             order by meeting_id",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?
    });
    for (meeting, status, checked_in) in &registrations {
        let detail =
            format!("registration of an erased person: {status}{}", if *checked_in { ", checked in" } else { "" });
        let entry = Entry {
            action: "registration.erase",
            subject_kind: "meeting",
            subject_id: Some(*meeting),
            detail: &detail,
            row_count: Some(1),
        };
        audit::record(tx, actor, &entry).await?;
    }
    Ok(registrations.len())
}

/// Deletes the rows that belong to the person, all but the person row itself.
async fn delete_rows(tx: &mut WriteTx, id: Uuid, email: &str) -> Result<Erased> {
    let mut erased = Erased::default();
    on_tx!(tx, |c| {
        erased.link_tokens = sqlx::query(
            "delete from link_token where person_id = $1 \
             or registration_id in (select id from registration where person_id = $1)",
        )
        .bind(id)
        .execute(&mut *c)
        .await?
        .rows_affected();
        // A colleague's registration that replaced one of theirs keeps its place, not the link.
        sqlx::query(
            "update registration set replaced_by = null \
             where replaced_by in (select id from registration where person_id = $1)",
        )
        .bind(id)
        .execute(&mut *c)
        .await?;
        erased.registrations = sqlx::query("delete from registration where person_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected();
        erased.consents =
            sqlx::query("delete from consent where person_id = $1").bind(id).execute(&mut *c).await?.rows_affected();
        erased.interests = sqlx::query("delete from person_interest where person_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected();
        erased.messages = sqlx::query("delete from outbox where person_id = $1 or recipient = $2")
            .bind(id)
            .bind(email)
            .execute(&mut *c)
            .await?
            .rows_affected();
        erased.rate_counters = sqlx::query("delete from login_attempt where key like $1")
            .bind(format!("%{email}%"))
            .execute(&mut *c)
            .await?
            .rows_affected();
    });
    Ok(erased)
}

/// Takes the person out of the stored audiences of campaigns; returns how
/// many changed. The `like` only narrows the search; the JSON decides.
async fn scrub_campaigns(tx: &mut WriteTx, id: Uuid, email: &str) -> Result<u64> {
    let id_text = id.to_string();
    let campaigns: Vec<(Uuid, Json<serde_json::Value>)> = on_tx!(tx, |c| {
        sqlx::query_as(
            "select id, audience from campaign where cast(audience as text) like $1 or cast(audience as text) like $2",
        )
        .bind(format!("%{email}%"))
        .bind(format!("%{id_text}%"))
        .fetch_all(&mut *c)
        .await?
    });
    let mut changed = 0;
    for (campaign, Json(mut audience)) in campaigns {
        if scrub_audience(&mut audience, email, &id_text) {
            on_tx!(tx, |c| {
                sqlx::query("update campaign set audience = $2 where id = $1")
                    .bind(campaign)
                    .bind(Json(&audience))
                    .execute(&mut *c)
                    .await?;
            });
            changed += 1;
        }
    }
    Ok(changed)
}

/// Blanks every audit detail (free text: an organiser's search term, say)
/// that names the address or the name; returns how many.
async fn scrub_audit_details(tx: &mut WriteTx, email: &str, name: &str) -> Result<u64> {
    let details: Vec<(i64, String)> = on_tx!(tx, |c| {
        sqlx::query_as("select id, detail from audit_log where detail <> ''").fetch_all(&mut *c).await?
    });
    let name = name.trim().to_lowercase();
    let naming: Vec<i64> = details
        .into_iter()
        .filter(|(_, d)| d.to_lowercase().contains(email) || names(d, &name))
        .map(|(row, _)| row)
        .collect();
    for row in &naming {
        on_tx!(tx, |c| {
            sqlx::query("update audit_log set detail = $2 where id = $1")
                .bind(row)
                .bind(BLANKED)
                .execute(&mut *c)
                .await?;
        });
    }
    Ok(u64::try_from(naming.len()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::{names, scrub_audience};

    #[test]
    fn a_name_is_found_only_as_a_whole_word() {
        assert!(names("q=Anna Bøgh status=confirmed", "anna bøgh"));
        assert!(names("ANNA BØGH", "anna bøgh"));
        assert!(!names("5.1.1; now bounced", "bo"));
        assert!(names("search: bo", "bo"));
        assert!(!names("anything", ""));
    }

    #[test]
    fn a_guest_and_a_member_id_leave_a_campaign_audience() {
        let mut a = serde_json::json!({
            "audience": {"people": ["0190-a", "0190-b"]},
            "guests": [{"email": "x@y.dk", "name": "X"}, {"email": "z@y.dk", "name": "Z"}]
        });
        assert!(scrub_audience(&mut a, "x@y.dk", "0190-b"));
        assert_eq!(a["guests"].as_array().unwrap().len(), 1);
        assert_eq!(a["audience"]["people"], serde_json::json!(["0190-a"]));
        assert!(!scrub_audience(&mut a, "x@y.dk", "0190-b"));
    }
}
