//! People (list members and guests), organisations and consent records.

use uuid::Uuid;

use super::{Result, Store, WriteTx, db_time, now, on_pool, on_tx};
use crate::domain::{Email, Name, OrganisationId, PersonId, PersonStatus};

/// What is needed to put a person in the register.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub email: Email,
    pub name: Name,
    pub organisation: Option<Name>,
    pub status: PersonStatus,
    pub interests: Vec<String>,
}

/// How a person gave consent.
#[derive(Debug, Clone)]
pub struct ConsentRecord {
    pub purpose: &'static str,
    pub text: String,
    pub version: String,
    /// `web`, `email`, `import`, `api` or `demo`.
    pub method: &'static str,
}

/// Finds or creates the organisation named `name`; names differing only in case
/// and surrounding space are the same organisation.
///
/// # Errors
/// The database failed.
pub async fn upsert_organisation(tx: &mut WriteTx, name: &Name) -> Result<OrganisationId> {
    let key = name.as_str().to_lowercase();
    let id: Uuid = on_tx!(tx, |c| {
        sqlx::query(
            "insert into organisation (id, name, name_key, created_at) values ($1, $2, $3, $4) \
             on conflict (name_key) do nothing",
        )
        .bind(Uuid::now_v7())
        .bind(name.as_str())
        .bind(&key)
        .bind(db_time(now()))
        .execute(&mut *c)
        .await?;
        sqlx::query_scalar("select id from organisation where name_key = $1").bind(&key).fetch_one(&mut *c).await?
    });
    Ok(OrganisationId::from_uuid(id))
}

/// Inserts a person unless the address is known; returns the id either way and
/// whether the person is new.
///
/// # Errors
/// The database failed.
pub async fn insert_person_if_new(
    tx: &mut WriteTx,
    p: &NewPerson,
    consent: Option<&ConsentRecord>,
) -> Result<(PersonId, bool)> {
    let organisation = match &p.organisation {
        Some(o) => Some(upsert_organisation(tx, o).await?.uuid()),
        None => None,
    };
    let at = db_time(now());
    let new_id = Uuid::now_v7();
    let (id, inserted): (Uuid, bool) = on_tx!(tx, |c| {
        let inserted = sqlx::query(
            "insert into person (id, email, name, organisation_id, status, list_consent, created_at, updated_at, \
             confirmed_at) values ($1, $2, $3, $4, $5, $6, $7, $7, $8) on conflict (email) do nothing",
        )
        .bind(new_id)
        .bind(p.email.as_str())
        .bind(p.name.as_str())
        .bind(organisation)
        .bind(p.status.as_str())
        .bind(consent.is_some())
        .bind(at)
        .bind((p.status == PersonStatus::Confirmed).then_some(at))
        .execute(&mut *c)
        .await?
        .rows_affected()
            == 1;
        let id: Uuid = sqlx::query_scalar("select id from person where email = $1")
            .bind(p.email.as_str())
            .fetch_one(&mut *c)
            .await?;
        if inserted {
            for key in &p.interests {
                sqlx::query(
                    "insert into person_interest (person_id, interest_key) select $1, key from interest where key = $2",
                )
                .bind(id)
                .bind(key)
                .execute(&mut *c)
                .await?;
            }
            if let Some(k) = consent {
                sqlx::query(
                    "insert into consent (id, person_id, purpose, text_shown, text_version, method, given_at) \
                     values ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(Uuid::now_v7())
                .bind(id)
                .bind(k.purpose)
                .bind(&k.text)
                .bind(&k.version)
                .bind(k.method)
                .bind(at)
                .execute(&mut *c)
                .await?;
            }
        }
        (id, inserted)
    });
    Ok((PersonId::from_uuid(id), inserted))
}

/// Makes sure an interest exists with these titles.
///
/// # Errors
/// The database failed.
pub async fn upsert_interest(tx: &mut WriteTx, key: &str, title_da: &str, title_en: &str, position: i32) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into interest (key, title_da, title_en, position) values ($1, $2, $3, $4) \
             on conflict (key) do update set title_da = excluded.title_da, title_en = excluded.title_en, \
             position = excluded.position",
        )
        .bind(key)
        .bind(title_da)
        .bind(title_en)
        .bind(position)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

impl Store {
    /// How many people have each list status.
    ///
    /// # Errors
    /// The database failed.
    pub async fn person_counts(&self) -> Result<Vec<(String, i64)>> {
        Ok(on_pool!(self, |db| {
            sqlx::query_as("select status, count(*) from person group by status order by status").fetch_all(db).await?
        }))
    }
}

/// An interest members can choose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interest {
    pub key: String,
    pub title_da: String,
    pub title_en: String,
}

impl Store {
    /// The interests, in their order.
    ///
    /// # Errors
    /// The database failed.
    pub async fn interests(&self) -> Result<Vec<Interest>> {
        let rows: Vec<(String, String, String)> = on_pool!(self, |db| {
            sqlx::query_as("select key, title_da, title_en from interest order by position, key").fetch_all(db).await?
        });
        Ok(rows.into_iter().map(|(key, title_da, title_en)| Interest { key, title_da, title_en }).collect())
    }
}
