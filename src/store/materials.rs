//! Materials of a meeting (slides and papers) kept in the database, and the
//! organisations that agreed to be listed as participants.

use uuid::Uuid;

use super::{Result, Store, StoreError, WriteTx, db_time, from_db_time, now, on_pool, on_tx};
use crate::domain::{MeetingId, Timestamp};

/// A file uploaded to a meeting, without its content.
#[derive(Debug, Clone)]
pub struct Material {
    pub id: Uuid,
    pub meeting_id: MeetingId,
    pub filename: String,
    /// As detected from the content when it was uploaded.
    pub content_type: String,
    pub size: i64,
    pub created_at: Timestamp,
    /// When it becomes public and is mailed; `None`: once the meeting is over.
    pub release_at: Option<Timestamp>,
}

impl Material {
    /// Whether the public may see and download it at `at`, for a meeting
    /// that `is_over` (has taken place) or not: from its release time when
    /// it has one, else once the meeting is over.
    #[must_use]
    pub fn is_public(&self, is_over: bool, at: Timestamp) -> bool {
        self.release_at.map_or(is_over, |r| r <= at)
    }
}

#[derive(sqlx::FromRow)]
struct MaterialRow {
    id: Uuid,
    meeting_id: Uuid,
    filename: String,
    content_type: String,
    size: i64,
    created_at: i64,
    release_at: Option<i64>,
}

impl From<MaterialRow> for Material {
    fn from(r: MaterialRow) -> Self {
        Self {
            id: r.id,
            meeting_id: MeetingId::from_uuid(r.meeting_id),
            filename: r.filename,
            content_type: r.content_type,
            size: r.size,
            created_at: from_db_time(r.created_at),
            release_at: r.release_at.map(from_db_time),
        }
    }
}

/// Stores a file for the meeting; returns its id.
pub async fn insert_material(
    tx: &mut WriteTx,
    meeting: MeetingId,
    filename: &str,
    content_type: &str,
    data: &[u8],
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let size = i64::try_from(data.len()).unwrap_or(i64::MAX);
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into material (id, meeting_id, filename, content_type, size, data, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(meeting.uuid())
        .bind(filename)
        .bind(content_type)
        .bind(size)
        .bind(data)
        .bind(db_time(now()))
        .execute(&mut *c)
        .await?;
    });
    Ok(id)
}

/// Removes a file of the meeting; `false` when there was none.
pub async fn delete_material(tx: &mut WriteTx, meeting: MeetingId, id: Uuid) -> Result<bool> {
    let n = on_tx!(tx, |c| {
        sqlx::query("delete from material where id = $1 and meeting_id = $2")
            .bind(id)
            .bind(meeting.uuid())
            .execute(&mut *c)
            .await?
            .rows_affected()
    });
    Ok(n == 1)
}

/// Sets the release time of the meeting's files `ids`; returns how many changed.
pub async fn set_release(tx: &mut WriteTx, meeting: MeetingId, ids: &[Uuid], at: Timestamp) -> Result<u64> {
    let mut n = 0;
    for id in ids {
        n += on_tx!(tx, |c| {
            sqlx::query("update material set release_at = $3 where id = $1 and meeting_id = $2")
                .bind(id)
                .bind(meeting.uuid())
                .bind(db_time(at))
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
    }
    Ok(n)
}

/// Withdraws the meeting's releases still waiting for their time (their files
/// are being released anew); returns how many.
pub async fn withdraw_scheduled_releases(tx: &mut WriteTx, meeting: MeetingId) -> Result<u64> {
    Ok(on_tx!(tx, |c| {
        sqlx::query(
            "update campaign set state = 'cancelled' where meeting_id = $1 and kind = 'materials' and state = 'scheduled'",
        )
        .bind(meeting.uuid())
        .execute(&mut *c)
        .await?
        .rows_affected()
    }))
}

/// Records that campaign `campaign` carries the files `ids`.
pub async fn record_release(tx: &mut WriteTx, campaign: crate::domain::CampaignId, ids: &[Uuid]) -> Result<()> {
    for id in ids {
        on_tx!(tx, |c| {
            sqlx::query("insert into material_release (campaign_id, material_id) values ($1, $2)")
                .bind(campaign.uuid())
                .bind(id)
                .execute(&mut *c)
                .await?;
        });
    }
    Ok(())
}

/// The files campaign `campaign` carries, by name, with their ids.
pub async fn released_by(tx: &mut WriteTx, campaign: crate::domain::CampaignId) -> Result<Vec<(Uuid, String)>> {
    Ok(on_tx!(tx, |c| {
        sqlx::query_as(
            "select m.id, m.filename from material_release r join material m on m.id = r.material_id \
             where r.campaign_id = $1 order by m.created_at, m.id",
        )
        .bind(campaign.uuid())
        .fetch_all(&mut *c)
        .await?
    }))
}

impl Store {
    /// The meeting's files, oldest first.
    pub async fn materials(&self, meeting: MeetingId) -> Result<Vec<Material>> {
        let rows: Vec<MaterialRow> = on_pool!(self, |db| {
            sqlx::query_as(
                "select id, meeting_id, filename, content_type, size, created_at, release_at from material \
                 where meeting_id = $1 order by created_at, id",
            )
            .bind(meeting.uuid())
            .fetch_all(db)
            .await?
        });
        Ok(rows.into_iter().map(Material::from).collect())
    }

    /// One file of the meeting with its content.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the meeting has no such file.
    pub async fn material(&self, meeting: MeetingId, id: Uuid) -> Result<(Material, Vec<u8>)> {
        #[derive(sqlx::FromRow)]
        struct WithData {
            #[sqlx(flatten)]
            row: MaterialRow,
            data: Vec<u8>,
        }
        let found: Option<WithData> = on_pool!(self, |db| {
            sqlx::query_as(
                "select id, meeting_id, filename, content_type, size, created_at, release_at, data from material \
                 where id = $1 and meeting_id = $2",
            )
            .bind(id)
            .bind(meeting.uuid())
            .fetch_optional(db)
            .await?
        });
        let found = found.ok_or(StoreError::NotFound)?;
        Ok((found.row.into(), found.data))
    }

    /// The organisations of people who attended the meeting (or were checked
    /// in) and agreed to have their organisation listed, by name, each once;
    /// kept as such when the registrations were reduced to totals.
    pub async fn listed_organisations(&self, meeting: MeetingId) -> Result<Vec<String>> {
        let names: Vec<String> = on_pool!(self, |db| {
            sqlx::query_scalar(
                "select o.name from registration r join person p on p.id = r.person_id \
                 join organisation o on o.id = p.organisation_id \
                 where r.meeting_id = $1 and r.list_organisation = true \
                 and (r.status = 'attending' or r.checked_in_at is not null) \
                 union select o.name from registration_organisation_total t \
                 join organisation o on o.id = t.organisation_id where t.meeting_id = $1 and t.listed = true \
                 order by 1",
            )
            .bind(meeting.uuid())
            .fetch_all(db)
            .await?
        });
        Ok(names)
    }
}
