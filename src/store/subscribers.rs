//! The mailing list as organisers and the people on it see it: searching and
//! paging the list, reading one person, adding someone by hand, changing
//! details, and gathering everything held about one person for a download.

use serde::Serialize;
use uuid::Uuid;

use super::subscriptions::Consent;
use super::{Result, Store, StoreError, WriteTx, db_time, from_db_time, now, on_pool, on_tx, people};
use crate::domain::{Email, Name, PersonId, PersonStatus, Timestamp};

/// A person as the organiser API and the profile page show them.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub id: PersonId,
    pub email: Email,
    pub name: String,
    pub organisation: Option<String>,
    /// Interest keys, sorted.
    pub interests: Vec<String>,
    pub status: PersonStatus,
    /// `da` or `en`.
    pub language: String,
    pub created_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
}

/// Which people a listing shows. Guests are never listed.
#[derive(Debug, Clone, Default)]
pub struct SubscriberFilter {
    /// A substring of the name, the address or the organisation, in any case.
    pub q: Option<String>,
    pub status: Option<PersonStatus>,
    /// An interest key.
    pub interest: Option<String>,
    /// An organisation's name, in any case.
    pub organisation: Option<String>,
    /// Only people added before this one (keyset paging, newest first).
    pub before: Option<(Timestamp, PersonId)>,
    pub limit: u32,
}

#[derive(sqlx::FromRow)]
struct SubscriberRow {
    id: Uuid,
    email: String,
    name: String,
    organisation: Option<String>,
    status: String,
    language: String,
    created_at: i64,
    confirmed_at: Option<i64>,
}

const SUBSCRIBER: &str = "select p.id, p.email, p.name, o.name as organisation, p.status, p.language, p.created_at, \
     p.confirmed_at from person p left join organisation o on o.id = p.organisation_id";

/// `expr` in lower case on both engines. SQLite's `lower()` knows only ASCII,
/// so the capitals of Danish, Swedish and German names are folded by hand;
/// on PostgreSQL the replacements find nothing left to do.
fn fold(expr: &str) -> String {
    [("Æ", "æ"), ("Ø", "ø"), ("Å", "å"), ("Ä", "ä"), ("Ö", "ö"), ("Ü", "ü"), ("É", "é")]
        .iter()
        .fold(format!("lower({expr})"), |acc, (upper, lower)| format!("replace({acc}, '{upper}', '{lower}')"))
}

/// A `like` pattern matching `text` anywhere, with the wildcards in it escaped.
fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn corrupt(e: crate::domain::ParseError) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(e.into()))
}

impl SubscriberRow {
    fn into_subscriber(self, interests: Vec<String>) -> Result<Subscriber> {
        Ok(Subscriber {
            id: PersonId::from_uuid(self.id),
            email: Email::parse(&self.email).map_err(corrupt)?,
            name: self.name,
            organisation: self.organisation,
            interests,
            status: PersonStatus::parse(&self.status).map_err(corrupt)?,
            language: self.language,
            created_at: from_db_time(self.created_at),
            confirmed_at: self.confirmed_at.map(from_db_time),
        })
    }
}

impl Store {
    /// People on the list (never guests), newest first, with their interests.
    #[tracing::instrument(skip_all, fields(limit = filter.limit))]
    pub async fn subscribers(&self, filter: &SubscriberFilter) -> Result<Vec<Subscriber>> {
        let q = filter.q.as_deref().map(str::trim).unwrap_or_default().to_lowercase();
        let (before_at, before_id) = filter.before.map_or((i64::MAX, Uuid::max()), |(t, id)| (db_time(t), id.uuid()));
        let sql = format!(
            "{SUBSCRIBER} where p.status <> 'guest' \
             and ($1 = '' or {name} like $2 escape '\\' or p.email like $2 escape '\\' or {org} like $2 escape '\\') \
             and ($3 = '' or p.status = $3) \
             and ($4 = '' or exists (select 1 from person_interest pi where pi.person_id = p.id and pi.interest_key = $4)) \
             and ($5 = '' or o.name_key = $5) \
             and (p.created_at < $6 or (p.created_at = $6 and p.id < $7)) \
             order by p.created_at desc, p.id desc limit $8",
            name = fold("p.name"),
            org = fold("o.name"),
        );
        let pattern = contains_pattern(&q);
        let status = filter.status.map(PersonStatus::as_str).unwrap_or_default();
        let interest = filter.interest.as_deref().unwrap_or_default();
        let organisation = filter.organisation.as_deref().map(crate::domain::name_key).unwrap_or_default();
        let rows: Vec<SubscriberRow> = on_pool!(self, |db| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(&q)
                .bind(&pattern)
                .bind(status)
                .bind(interest)
                .bind(&organisation)
                .bind(before_at)
                .bind(before_id)
                .bind(i64::from(filter.limit))
                .fetch_all(db)
                .await?
        });
        let mut interests = self.interests_of(&rows.iter().map(|r| r.id).collect::<Vec<_>>()).await?;
        rows.into_iter()
            .map(|r| {
                let mine = interests.remove(&r.id).unwrap_or_default();
                r.into_subscriber(mine)
            })
            .collect()
    }

    /// One person, whatever their status (guests included).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such person.
    pub async fn subscriber(&self, id: PersonId) -> Result<Subscriber> {
        let sql = format!("{SUBSCRIBER} where p.id = $1");
        let row: SubscriberRow = on_pool!(self, |db| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id.uuid()).fetch_one(db).await?
        });
        let mut interests = self.interests_of(&[row.id]).await?;
        let mine = interests.remove(&row.id).unwrap_or_default();
        row.into_subscriber(mine)
    }

    /// The interest keys of each of `ids`, sorted.
    async fn interests_of(&self, ids: &[Uuid]) -> Result<std::collections::HashMap<Uuid, Vec<String>>> {
        let mut out: std::collections::HashMap<Uuid, Vec<String>> = std::collections::HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let rows: Vec<(Uuid, String)> = on_pool!(self, |db| {
            let mut q =
                sqlx::QueryBuilder::new("select person_id, interest_key from person_interest where person_id in (");
            let mut list = q.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            q.push(") order by interest_key");
            q.build_query_as().fetch_all(db).await?
        });
        for (id, key) in rows {
            out.entry(id).or_default().push(key);
        }
        Ok(out)
    }
}

/// A person whom an organiser adds by hand.
#[derive(Debug, Clone)]
pub struct NewSubscriber {
    pub email: Email,
    pub name: Name,
    pub organisation: Option<Name>,
    /// Interest keys that exist.
    pub interests: Vec<String>,
    pub language: &'static str,
}

/// Adds a confirmed member with the consent that is the basis for it,
/// confirmed at once.
///
/// # Errors
/// [`StoreError::Conflict`] when the address is known already (as anything,
/// a guest included).
pub async fn insert_confirmed(tx: &mut WriteTx, p: &NewSubscriber, consent: &Consent) -> Result<PersonId> {
    if person_by_email(tx, &p.email).await?.is_some() {
        return Err(StoreError::Conflict("person_email_key".into()));
    }
    let organisation = match &p.organisation {
        Some(o) => Some(people::upsert_organisation(tx, o).await?.uuid()),
        None => None,
    };
    let id = Uuid::now_v7();
    let at = db_time(now());
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into person (id, email, name, organisation_id, status, language, list_consent, created_at, \
             updated_at, confirmed_at) values ($1, $2, $3, $4, 'confirmed', $5, true, $6, $6, $6)",
        )
        .bind(id)
        .bind(p.email.as_str())
        .bind(p.name.as_str())
        .bind(organisation)
        .bind(p.language)
        .bind(at)
        .execute(&mut *c)
        .await?;
        for key in &p.interests {
            sqlx::query("insert into person_interest (person_id, interest_key) values ($1, $2)")
                .bind(id)
                .bind(key)
                .execute(&mut *c)
                .await?;
        }
        sqlx::query(
            "insert into consent (id, person_id, purpose, text_shown, text_version, method, given_at, requested_at, \
             confirmed_at, text_hash, proof) values ($1, $2, 'mailing-list', $3, $4, $5, $6, $6, $6, $7, $8)",
        )
        .bind(Uuid::now_v7())
        .bind(id)
        .bind(&consent.text)
        .bind(&consent.version)
        .bind(consent.method)
        .bind(at)
        .bind(super::subscriptions::sha256_hex(&consent.text))
        .bind(&consent.proof)
        .execute(&mut *c)
        .await?;
    });
    Ok(PersonId::from_uuid(id))
}

/// A person found by address: id, name, status and language.
#[derive(Debug, Clone)]
pub struct Found {
    pub id: PersonId,
    pub name: String,
    pub status: PersonStatus,
    pub language: String,
}

/// The person with this address, if any.
pub async fn person_by_email(tx: &mut WriteTx, email: &Email) -> Result<Option<Found>> {
    let row: Option<(Uuid, String, String, String)> = on_tx!(tx, |c| {
        sqlx::query_as("select id, name, status, language from person where email = $1")
            .bind(email.as_str())
            .fetch_optional(&mut *c)
            .await?
    });
    row.map(|(id, name, status, language)| {
        Ok(Found {
            id: PersonId::from_uuid(id),
            name,
            status: PersonStatus::parse(&status).map_err(corrupt)?,
            language,
        })
    })
    .transpose()
}

/// Changes to a person's details; `None` leaves a detail as it is.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub name: Option<Name>,
    /// `Some(None)` removes the organisation.
    pub organisation: Option<Option<Name>>,
    /// Replaces the interests; keys that exist.
    pub interests: Option<Vec<String>>,
    /// `da` or `en`.
    pub language: Option<&'static str>,
}

impl Changes {
    /// The names of the details that change, for the audit log.
    #[must_use]
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("organisation", self.organisation.is_some()),
            ("interests", self.interests.is_some()),
            ("language", self.language.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, changed)| changed.then_some(f))
        .collect()
    }
}

/// Changes a person's details.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such person.
pub async fn update(tx: &mut WriteTx, id: PersonId, changes: &Changes) -> Result<()> {
    let organisation = match &changes.organisation {
        Some(Some(o)) => Some(Some(people::upsert_organisation(tx, o).await?.uuid())),
        Some(None) => Some(None),
        None => None,
    };
    let at = db_time(now());
    on_tx!(tx, |c| {
        let n = sqlx::query("update person set updated_at = $2 where id = $1")
            .bind(id.uuid())
            .bind(at)
            .execute(&mut *c)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        if let Some(name) = &changes.name {
            sqlx::query("update person set name = $2 where id = $1")
                .bind(id.uuid())
                .bind(name.as_str())
                .execute(&mut *c)
                .await?;
        }
        if let Some(org) = organisation {
            sqlx::query("update person set organisation_id = $2 where id = $1")
                .bind(id.uuid())
                .bind(org)
                .execute(&mut *c)
                .await?;
        }
        if let Some(language) = changes.language {
            sqlx::query("update person set language = $2 where id = $1")
                .bind(id.uuid())
                .bind(language)
                .execute(&mut *c)
                .await?;
        }
        if let Some(keys) = &changes.interests {
            sqlx::query("delete from person_interest where person_id = $1").bind(id.uuid()).execute(&mut *c).await?;
            for key in keys {
                sqlx::query("insert into person_interest (person_id, interest_key) values ($1, $2)")
                    .bind(id.uuid())
                    .bind(key)
                    .execute(&mut *c)
                    .await?;
            }
        }
    });
    Ok(())
}

/// Everything held about one person, for them to download.
#[derive(Debug, Clone, Serialize)]
pub struct PersonalData {
    pub profile: Profile,
    pub consents: Vec<ConsentData>,
    pub registrations: Vec<RegistrationData>,
    /// Mail sent or queued to them (the bodies of sent mail are not kept).
    pub messages: Vec<MessageData>,
    /// Entries of the audit log about them or by them.
    pub audit: Vec<AuditData>,
    /// When organisers read or exported their data, oldest first (see [`ReadData`]).
    pub reads: Vec<ReadData>,
}

/// A time an organiser read or exported the person's data, without who did.
///
/// Read from the audit log, where every such look is recorded once: a look
/// at the person themselves (their page in the organisers' pages or the API,
/// their registration opened at the door) by its subject, and a look at many
/// people at once by the time it was made. An export of the mailing list is
/// one entry, not one per person in it; it is listed for everyone who was in
/// the register (not a guest) and had not left the list at the time. A look
/// at a meeting's registrations (the page, the door list, the participants'
/// export) is listed for everyone who was invited to or registered for it by
/// then. So the list errs on the side of telling: an export filtered to
/// other statuses is listed too. Searches are not listed, as the log keeps
/// what was searched for and how many were found, not who.
#[derive(Debug, Clone, Serialize)]
pub struct ReadData {
    pub at: Timestamp,
    /// The audit action: `person.view`, `subscriber.view`, `checkin.person`,
    /// `registrations.view`, `checkin.view`, `export.participants` or
    /// `export.subscribers`.
    pub action: String,
    /// The meeting it concerned, by title, when it concerned one.
    pub meeting: Option<String>,
}

/// Actions on one meeting's registrations that show everyone registered.
const MEETING_READS: &str = "('registrations.view', 'checkin.view', 'export.participants')";

/// The person's details.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub organisation: Option<String>,
    pub interests: Vec<String>,
    pub status: String,
    pub language: String,
    pub soft_bounces: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
    pub left_at: Option<Timestamp>,
}

/// A consent record.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentData {
    pub purpose: String,
    pub text_shown: String,
    pub text_version: String,
    pub text_sha256: String,
    /// `web`, `email`, `import`, `api` or `demo`.
    pub method: String,
    /// The IP address, Message-ID or account behind the consent.
    pub proof: String,
    pub requested_at: Option<Timestamp>,
    pub given_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
    pub withdrawn_at: Option<Timestamp>,
}

/// A registration for a meeting.
#[derive(Debug, Clone, Serialize)]
pub struct RegistrationData {
    pub meeting_id: Uuid,
    pub meeting_number: Option<i32>,
    pub meeting_title: String,
    pub status: String,
    pub track: Option<String>,
    pub diet: String,
    pub access_needs: String,
    pub comment: String,
    pub answered_at: Option<Timestamp>,
    pub checked_in_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A mail to the person.
#[derive(Debug, Clone, Serialize)]
pub struct MessageData {
    pub kind: String,
    pub status: String,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// An audit entry about or by the person.
#[derive(Debug, Clone, Serialize)]
pub struct AuditData {
    pub at: Timestamp,
    /// `user` (an organiser), `person` (they themselves) or `system`.
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub row_count: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ProfileRow {
    id: Uuid,
    email: String,
    name: String,
    organisation: Option<String>,
    status: String,
    language: String,
    soft_bounces: i32,
    created_at: i64,
    updated_at: i64,
    confirmed_at: Option<i64>,
    left_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ConsentRow {
    purpose: String,
    text_shown: String,
    text_version: String,
    text_hash: String,
    method: String,
    proof: String,
    requested_at: Option<i64>,
    given_at: i64,
    confirmed_at: Option<i64>,
    withdrawn_at: Option<i64>,
}

impl From<ConsentRow> for ConsentData {
    fn from(c: ConsentRow) -> Self {
        Self {
            purpose: c.purpose,
            text_shown: c.text_shown,
            text_version: c.text_version,
            text_sha256: c.text_hash,
            method: c.method,
            proof: c.proof,
            requested_at: c.requested_at.map(from_db_time),
            given_at: from_db_time(c.given_at),
            confirmed_at: c.confirmed_at.map(from_db_time),
            withdrawn_at: c.withdrawn_at.map(from_db_time),
        }
    }
}

#[derive(sqlx::FromRow)]
struct RegistrationRow {
    meeting_id: Uuid,
    meeting_number: Option<i32>,
    meeting_title: String,
    status: String,
    track_key: Option<String>,
    diet: String,
    access_needs: String,
    comment: String,
    answered_at: Option<i64>,
    checked_in_at: Option<i64>,
    created_at: i64,
}

impl From<RegistrationRow> for RegistrationData {
    fn from(r: RegistrationRow) -> Self {
        Self {
            meeting_id: r.meeting_id,
            meeting_number: r.meeting_number,
            meeting_title: r.meeting_title,
            status: r.status,
            track: r.track_key,
            diet: r.diet,
            access_needs: r.access_needs,
            comment: r.comment,
            answered_at: r.answered_at.map(from_db_time),
            checked_in_at: r.checked_in_at.map(from_db_time),
            created_at: from_db_time(r.created_at),
        }
    }
}

impl Store {
    /// Everything held about a person.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such person.
    pub async fn personal_data(&self, id: PersonId) -> Result<PersonalData> {
        let p: ProfileRow = on_pool!(self, |db| {
            sqlx::query_as(
                "select p.id, p.email, p.name, o.name as organisation, p.status, p.language, p.soft_bounces, \
                 p.created_at, p.updated_at, p.confirmed_at, p.left_at from person p \
                 left join organisation o on o.id = p.organisation_id where p.id = $1",
            )
            .bind(id.uuid())
            .fetch_one(db)
            .await?
        });
        let consents: Vec<ConsentRow> = on_pool!(self, |db| {
            sqlx::query_as(
                "select purpose, text_shown, text_version, text_hash, method, proof, requested_at, given_at, \
                 confirmed_at, withdrawn_at from consent where person_id = $1 order by given_at, id",
            )
            .bind(id.uuid())
            .fetch_all(db)
            .await?
        });
        let registrations: Vec<RegistrationRow> = on_pool!(self, |db| {
            sqlx::query_as(
                "select m.id as meeting_id, m.number as meeting_number, m.title as meeting_title, r.status, \
                 r.track_key, r.diet, r.access_needs, r.comment, r.answered_at, r.checked_in_at, r.created_at \
                 from registration r join meeting m on m.id = r.meeting_id where r.person_id = $1 \
                 order by m.starts_at, m.id",
            )
            .bind(id.uuid())
            .fetch_all(db)
            .await?
        });
        let messages: Vec<(String, String, i64, Option<i64>)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select kind, status, created_at, sent_at from outbox where person_id = $1 or recipient = $2 \
                 order by created_at, id",
            )
            .bind(id.uuid())
            .bind(&p.email)
            .fetch_all(db)
            .await?
        });
        let audit: Vec<(i64, String, String, String, Option<i64>)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select at, actor_kind, action, detail, row_count from audit_log \
                 where subject_id = $1 or actor_id = $1 \
                 or subject_id in (select id from registration where person_id = $1) order by id",
            )
            .bind(id.uuid())
            .fetch_all(db)
            .await?
        });
        let reads = self.reads_of(&p).await?;
        let interests = self.interests_of(&[p.id]).await?.remove(&p.id).unwrap_or_default();
        Ok(PersonalData {
            profile: Profile {
                id: p.id,
                email: p.email,
                name: p.name,
                organisation: p.organisation,
                interests,
                status: p.status,
                language: p.language,
                soft_bounces: p.soft_bounces,
                created_at: from_db_time(p.created_at),
                updated_at: from_db_time(p.updated_at),
                confirmed_at: p.confirmed_at.map(from_db_time),
                left_at: p.left_at.map(from_db_time),
            },
            consents: consents.into_iter().map(ConsentData::from).collect(),
            registrations: registrations.into_iter().map(RegistrationData::from).collect(),
            messages: messages
                .into_iter()
                .map(|(kind, status, created_at, sent_at)| MessageData {
                    kind,
                    status,
                    created_at: from_db_time(created_at),
                    sent_at: sent_at.map(from_db_time),
                })
                .collect(),
            audit: audit
                .into_iter()
                .map(|(at, actor, action, detail, row_count)| AuditData {
                    at: from_db_time(at),
                    actor,
                    action,
                    detail,
                    row_count,
                })
                .collect(),
            reads,
        })
    }

    /// The organisers' reads of the person `p` (see [`ReadData`]).
    async fn reads_of(&self, p: &ProfileRow) -> Result<Vec<ReadData>> {
        let own: Vec<(i64, i64, String, Option<String>)> = on_pool!(self, |db| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "select a.id, a.at, a.action, null as meeting from audit_log a where a.actor_kind = 'user' \
                 and a.subject_id = $1 and a.action in ('person.view', 'subscriber.view') \
                 union all \
                 select a.id, a.at, a.action, m.title from audit_log a \
                 join registration r on r.person_id = $1 join meeting m on m.id = r.meeting_id \
                 where a.actor_kind = 'user' and a.at >= r.created_at \
                 and ((a.action = 'checkin.person' and a.subject_id = r.id) \
                 or (a.action in {MEETING_READS} and a.subject_id = r.meeting_id))"
            )))
            .bind(p.id)
            .fetch_all(db)
            .await?
        });
        let lists: Vec<(i64, i64, String)> = if p.status == "guest" {
            Vec::new()
        } else {
            on_pool!(self, |db| {
                sqlx::query_as(
                    "select id, at, action from audit_log where actor_kind = 'user' \
                     and action = 'export.subscribers' and at >= $1 and ($2 is null or at < $2)",
                )
                .bind(p.created_at)
                .bind(p.left_at)
                .fetch_all(db)
                .await?
            })
        };
        let mut reads: Vec<(i64, ReadData)> = own
            .into_iter()
            .map(|(id, at, action, meeting)| (id, ReadData { at: from_db_time(at), action, meeting }))
            .chain(
                lists
                    .into_iter()
                    .map(|(id, at, action)| (id, ReadData { at: from_db_time(at), action, meeting: None })),
            )
            .collect();
        reads.sort_by_key(|(id, _)| *id);
        Ok(reads.into_iter().map(|(_, r)| r).collect())
    }
}
