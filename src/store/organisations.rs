//! Organisations as organisers see them: with their contacts and CVR number.

use uuid::Uuid;

use super::{Result, Store, StoreError, WriteTx, on_pool, on_tx};
use crate::domain::{Cvr, OrganisationId, PersonId};

/// An organisation with the people who belong to it.
#[derive(Debug, Clone)]
pub struct Organisation {
    pub id: OrganisationId,
    pub name: String,
    /// The CVR number as stored, if set.
    pub cvr: Option<String>,
    /// Contacts (guests included), by name.
    pub contacts: Vec<Contact>,
}

/// A person belonging to an organisation.
#[derive(Debug, Clone)]
pub struct Contact {
    pub id: PersonId,
    pub name: String,
    pub status: String,
}

impl Store {
    /// Every organisation by name, each with its contacts by name.
    pub async fn organisations(&self) -> Result<Vec<Organisation>> {
        let orgs: Vec<(Uuid, String, Option<String>)> = on_pool!(self, |db| {
            sqlx::query_as("select id, name, cvr from organisation order by name_key, id").fetch_all(db).await?
        });
        let people: Vec<(Uuid, Uuid, String, String)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select organisation_id, id, name, status from person where organisation_id is not null \
                 order by name, id",
            )
            .fetch_all(db)
            .await?
        });
        let mut out: Vec<Organisation> = orgs
            .into_iter()
            .map(|(id, name, cvr)| Organisation { id: OrganisationId::from_uuid(id), name, cvr, contacts: Vec::new() })
            .collect();
        for (org, id, name, status) in people {
            if let Some(o) = out.iter_mut().find(|o| o.id.uuid() == org) {
                o.contacts.push(Contact { id: PersonId::from_uuid(id), name, status });
            }
        }
        Ok(out)
    }
}

/// Sets (or with `None` clears) an organisation's CVR number.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such organisation.
pub async fn set_cvr(tx: &mut WriteTx, id: OrganisationId, cvr: Option<&Cvr>) -> Result<()> {
    let n = on_tx!(tx, |c| {
        sqlx::query("update organisation set cvr = $2 where id = $1")
            .bind(id.uuid())
            .bind(cvr.map(Cvr::as_str))
            .execute(&mut *c)
            .await?
            .rows_affected()
    });
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}
