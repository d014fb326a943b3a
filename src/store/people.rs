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
/// and whitespace are the same organisation ([`Name::key`]).
pub async fn upsert_organisation(tx: &mut WriteTx, name: &Name) -> Result<OrganisationId> {
    let key = name.key();
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
    pub async fn interests(&self) -> Result<Vec<Interest>> {
        let rows: Vec<(String, String, String)> = on_pool!(self, |db| {
            sqlx::query_as("select key, title_da, title_en from interest order by position, key").fetch_all(db).await?
        });
        Ok(rows.into_iter().map(|(key, title_da, title_en)| Interest { key, title_da, title_en }).collect())
    }
}

/// How an organiser changes the set of interests.
impl Store {
    /// The interests with how many people chose each, in their order.
    pub async fn interest_counts(&self) -> Result<Vec<(Interest, i64)>> {
        let rows: Vec<(String, String, String, i64)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select i.key, i.title_da, i.title_en, count(pi.person_id) from interest i \
                 left join person_interest pi on pi.interest_key = i.key \
                 group by i.key, i.title_da, i.title_en, i.position order by i.position, i.key",
            )
            .fetch_all(db)
            .await?
        });
        Ok(rows.into_iter().map(|(key, title_da, title_en, n)| (Interest { key, title_da, title_en }, n)).collect())
    }
}

/// Adds an interest after the others, its key made from the Danish title
/// ("Grøn it" → `groen-it`, with a number added if taken). Returns the key.
pub async fn add_interest(tx: &mut WriteTx, title_da: &Name, title_en: &Name) -> Result<String> {
    let base = interest_key(title_da.as_str());
    on_tx!(tx, |c| {
        let taken: Vec<String> = sqlx::query_scalar("select key from interest").fetch_all(&mut *c).await?;
        // Fewer than taken.len() + 1 candidates can all be taken, so one of these is free.
        let key = (1..=taken.len() + 1)
            .map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") })
            .find(|k| !taken.contains(k))
            .unwrap_or_default();
        sqlx::query(
            "insert into interest (key, title_da, title_en, position) \
             select $1, $2, $3, coalesce(max(position), -1) + 1 from interest",
        )
        .bind(&key)
        .bind(title_da.as_str())
        .bind(title_en.as_str())
        .execute(&mut *c)
        .await?;
        Ok(key)
    })
}

/// Renames an interest; its key, and so everyone's choice of it, stays.
///
/// # Errors
/// [`super::StoreError::NotFound`] for an unknown key.
pub async fn rename_interest(tx: &mut WriteTx, key: &str, title_da: &Name, title_en: &Name) -> Result<()> {
    let n = on_tx!(tx, |c| {
        sqlx::query("update interest set title_da = $2, title_en = $3 where key = $1")
            .bind(key)
            .bind(title_da.as_str())
            .bind(title_en.as_str())
            .execute(&mut *c)
            .await?
            .rows_affected()
    });
    if n == 0 { Err(super::StoreError::NotFound) } else { Ok(()) }
}

/// Removes an interest and everyone's choice of it.
///
/// # Errors
/// [`super::StoreError::NotFound`] for an unknown key.
pub async fn remove_interest(tx: &mut WriteTx, key: &str) -> Result<()> {
    let n = on_tx!(tx, |c| {
        sqlx::query("delete from person_interest where interest_key = $1").bind(key).execute(&mut *c).await?;
        sqlx::query("delete from interest where key = $1").bind(key).execute(&mut *c).await?.rows_affected()
    });
    if n == 0 { Err(super::StoreError::NotFound) } else { Ok(()) }
}

/// Moves an interest one place up (`up`) or down in the order shown to people.
///
/// # Errors
/// [`super::StoreError::NotFound`] for an unknown key.
pub async fn move_interest(tx: &mut WriteTx, key: &str, up: bool) -> Result<()> {
    on_tx!(tx, |c| {
        let mut keys: Vec<String> =
            sqlx::query_scalar("select key from interest order by position, key").fetch_all(&mut *c).await?;
        let at = keys.iter().position(|k| k == key).ok_or(super::StoreError::NotFound)?;
        let other = if up { at.checked_sub(1) } else { Some(at + 1).filter(|&o| o < keys.len()) };
        if let Some(other) = other {
            keys.swap(at, other);
            for (position, k) in keys.iter().enumerate() {
                sqlx::query("update interest set position = $2 where key = $1")
                    .bind(k)
                    .bind(i32::try_from(position).unwrap_or(i32::MAX))
                    .execute(&mut *c)
                    .await?;
            }
        }
        Ok(())
    })
}

/// A key for an interest titled `title`: lower-case ASCII letters, digits and
/// dashes, with the Danish letters spelt out.
fn interest_key(title: &str) -> String {
    let mut key = String::new();
    for ch in title.to_lowercase().chars() {
        match ch {
            'æ' => key.push_str("ae"),
            'ø' => key.push_str("oe"),
            'å' => key.push_str("aa"),
            'é' | 'è' => key.push('e'),
            'ü' => key.push('u'),
            c if c.is_ascii_alphanumeric() => key.push(c),
            _ if !key.is_empty() && !key.ends_with('-') => key.push('-'),
            _ => {}
        }
    }
    let key = key.trim_end_matches('-');
    if key.is_empty() { "interest".to_owned() } else { key.to_owned() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn interest_keys_spell_out_danish_letters() {
        assert_eq!(super::interest_key("Grøn it"), "groen-it");
        assert_eq!(super::interest_key("  Velfærd & sundhed!"), "velfaerd-sundhed");
        assert_eq!(super::interest_key("???"), "interest");
    }
}
