//! Meetings, their tracks and their programme.

use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use super::{Result, Store, StoreError, WriteTx, db_time, from_db_time, now, on_pool, on_tx};
use crate::domain::{Allocation, DrawSeed, MeetingFormat, MeetingId, MeetingShape, MeetingStatus, Seating, Timestamp};

/// A speaker in a programme item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Speaker {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub organisation: String,
}

/// A parallel track of a meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    pub key: String,
    pub title: String,
    #[serde(default)]
    pub capacity: Option<i32>,
}

/// One item of a meeting's programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgrammeItem {
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub speakers: Vec<Speaker>,
    #[serde(default)]
    pub track: Option<String>,
    #[serde(default)]
    pub cancelled: bool,
}

/// A meeting with everything needed to show it.
#[derive(Debug, Clone)]
pub struct Meeting {
    pub id: MeetingId,
    pub number: Option<i32>,
    pub title: String,
    pub description: String,
    pub themes: Vec<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub format: MeetingFormat,
    pub venue: String,
    pub online_url: String,
    pub capacity: Option<i32>,
    pub per_organisation_limit: Option<i32>,
    pub registration_deadline: Option<Timestamp>,
    pub status: MeetingStatus,
    /// The SEQUENCE of its calendar entry; raised on every change of time or
    /// place and on cancellation.
    pub ical_sequence: i32,
    pub tracks: Vec<Track>,
    pub programme: Vec<ProgrammeItem>,
    /// When answers open and how seats are given.
    pub seating: Seating,
    /// The lottery's draw, once made.
    pub drawn: Option<Drawn>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A lottery's draw as recorded: when, and from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drawn {
    pub at: Timestamp,
    pub seed: DrawSeed,
}

/// What is needed to create a meeting.
#[derive(Debug, Clone)]
pub struct NewMeeting {
    pub number: Option<i32>,
    pub title: String,
    pub description: String,
    pub themes: Vec<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub format: MeetingFormat,
    pub venue: String,
    pub online_url: String,
    pub capacity: Option<i32>,
    pub per_organisation_limit: Option<i32>,
    pub registration_deadline: Option<Timestamp>,
    pub status: MeetingStatus,
    pub tracks: Vec<Track>,
    pub programme: Vec<ProgrammeItem>,
    pub seating: Seating,
}

/// The [`MeetingShape`] of a [`Meeting`] or a [`NewMeeting`], which have the same fields.
macro_rules! shape {
    ($m:expr) => {
        MeetingShape {
            status: $m.status,
            starts_at: $m.starts_at,
            ends_at: $m.ends_at,
            registration_deadline: $m.registration_deadline,
            format: $m.format,
            online_url: &$m.online_url,
            number: $m.number,
            capacity: $m.capacity,
            per_organisation_limit: $m.per_organisation_limit,
            tracks: $m.tracks.iter().map(|t| (t.key.as_str(), t.capacity)).collect(),
            seating: $m.seating,
        }
    };
}

impl Meeting {
    /// What the meeting rules look at ([`MeetingShape::broken`]).
    #[must_use]
    pub fn shape(&self) -> MeetingShape<'_> {
        shape!(self)
    }
}

impl NewMeeting {
    /// What the meeting rules look at ([`MeetingShape::broken`]).
    #[must_use]
    pub fn shape(&self) -> MeetingShape<'_> {
        shape!(self)
    }
}

/// Which meetings a listing shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeetingFilter {
    /// Leave out drafts.
    pub public_only: bool,
    /// Show at most this many.
    pub limit: Option<u32>,
    /// Only meetings starting before this instant (keyset paging, newest first).
    pub before: Option<(Timestamp, MeetingId)>,
}

#[derive(sqlx::FromRow)]
struct MeetingRow {
    id: Uuid,
    number: Option<i32>,
    title: String,
    description: String,
    themes: Json<Vec<String>>,
    starts_at: i64,
    ends_at: i64,
    format: String,
    venue: String,
    online_url: String,
    capacity: Option<i32>,
    per_organisation_limit: Option<i32>,
    registration_deadline: Option<i64>,
    status: String,
    ical_sequence: i32,
    registration_opens_at: Option<i64>,
    allocation: String,
    applications_close_at: Option<i64>,
    draw_seed: Option<String>,
    drawn_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct TrackRow {
    meeting_id: Uuid,
    key: String,
    title: String,
    capacity: Option<i32>,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    meeting_id: Uuid,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    title: String,
    description: String,
    speakers: Json<Vec<Speaker>>,
    track_key: Option<String>,
    cancelled: bool,
}

const MEETING_COLUMNS: &str = "select id, number, title, description, themes, starts_at, ends_at, format, venue, \
     online_url, capacity, per_organisation_limit, registration_deadline, status, ical_sequence, \
     registration_opens_at, allocation, applications_close_at, draw_seed, drawn_at, created_at, updated_at \
     from meeting";

impl MeetingRow {
    fn into_meeting(self) -> Result<Meeting> {
        let corrupt = |e: crate::domain::ParseError| StoreError::Database(sqlx::Error::Decode(e.into()));
        Ok(Meeting {
            id: MeetingId::from_uuid(self.id),
            number: self.number,
            title: self.title,
            description: self.description,
            themes: self.themes.0,
            starts_at: from_db_time(self.starts_at),
            ends_at: from_db_time(self.ends_at),
            format: MeetingFormat::parse(&self.format).map_err(corrupt)?,
            venue: self.venue,
            online_url: self.online_url,
            capacity: self.capacity,
            per_organisation_limit: self.per_organisation_limit,
            registration_deadline: self.registration_deadline.map(from_db_time),
            status: MeetingStatus::parse(&self.status).map_err(corrupt)?,
            ical_sequence: self.ical_sequence,
            tracks: Vec::new(),
            programme: Vec::new(),
            seating: Seating {
                registration_opens_at: self.registration_opens_at.map(from_db_time),
                allocation: Allocation::parse(&self.allocation).map_err(corrupt)?,
                applications_close_at: self.applications_close_at.map(from_db_time),
            },
            drawn: match (self.drawn_at, self.draw_seed) {
                (Some(at), Some(seed)) => {
                    Some(Drawn { at: from_db_time(at), seed: DrawSeed::parse(&seed).map_err(corrupt)? })
                }
                _ => None,
            },
            created_at: from_db_time(self.created_at),
            updated_at: from_db_time(self.updated_at),
        })
    }
}

impl Store {
    /// Meetings, newest first, with their tracks and programme.
    #[tracing::instrument(skip_all)]
    pub async fn meetings(&self, filter: MeetingFilter) -> Result<Vec<Meeting>> {
        let limit = i64::from(filter.limit.unwrap_or(1000));
        let (before_at, before_id) = filter.before.map_or((i64::MAX, Uuid::max()), |(t, id)| (db_time(t), id.uuid()));
        let sql = format!(
            "{MEETING_COLUMNS} where ($1 = false or status <> 'draft') \
             and (starts_at < $2 or (starts_at = $2 and id < $3)) \
             order by starts_at desc, id desc limit $4"
        );
        let rows: Vec<MeetingRow> = on_pool!(self, |db| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(filter.public_only)
                .bind(before_at)
                .bind(before_id)
                .bind(limit)
                .fetch_all(db)
                .await?
        });
        let mut meetings = rows.into_iter().map(MeetingRow::into_meeting).collect::<Result<Vec<_>>>()?;
        self.attach_details(&mut meetings).await?;
        Ok(meetings)
    }

    /// One meeting by id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such meeting.
    #[tracing::instrument(skip_all, fields(meeting = %id))]
    pub async fn meeting(&self, id: MeetingId) -> Result<Meeting> {
        let sql = format!("{MEETING_COLUMNS} where id = $1");
        let row: MeetingRow =
            on_pool!(self, |db| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id.uuid()).fetch_one(db).await?);
        let mut meetings = vec![row.into_meeting()?];
        self.attach_details(&mut meetings).await?;
        Ok(meetings.remove(0))
    }

    /// One meeting by its number ("the 16th meeting").
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such meeting.
    pub async fn meeting_by_number(&self, number: i32) -> Result<Meeting> {
        let id: Uuid = on_pool!(self, |db| {
            sqlx::query_scalar("select id from meeting where number = $1").bind(number).fetch_one(db).await?
        });
        self.meeting(MeetingId::from_uuid(id)).await
    }

    async fn attach_details(&self, meetings: &mut [Meeting]) -> Result<()> {
        if meetings.is_empty() {
            return Ok(());
        }
        // The forum holds tens of meetings: reading all tracks and items of the
        // listed range in two queries beats one query per meeting.
        let (from, to) = meetings
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), m| (lo.min(db_time(m.starts_at)), hi.max(db_time(m.starts_at))));
        let (tracks, items): (Vec<TrackRow>, Vec<ItemRow>) = on_pool!(self, |db| {
            let tracks = sqlx::query_as(
                "select t.meeting_id, t.key, t.title, t.capacity from track t \
                 join meeting m on m.id = t.meeting_id where m.starts_at between $1 and $2 \
                 order by t.meeting_id, t.position",
            )
            .bind(from)
            .bind(to)
            .fetch_all(db)
            .await?;
            let items = sqlx::query_as(
                "select p.meeting_id, p.starts_at, p.ends_at, p.title, p.description, p.speakers, \
                 p.track_key, p.cancelled from programme_item p \
                 join meeting m on m.id = p.meeting_id where m.starts_at between $1 and $2 \
                 order by p.meeting_id, p.position",
            )
            .bind(from)
            .bind(to)
            .fetch_all(db)
            .await?;
            (tracks, items)
        });
        for m in meetings.iter_mut() {
            let id = m.id.uuid();
            m.tracks = tracks
                .iter()
                .filter(|t| t.meeting_id == id)
                .map(|t| Track { key: t.key.clone(), title: t.title.clone(), capacity: t.capacity })
                .collect();
            m.programme = items
                .iter()
                .filter(|p| p.meeting_id == id)
                .map(|p| ProgrammeItem {
                    starts_at: p.starts_at.map(from_db_time),
                    ends_at: p.ends_at.map(from_db_time),
                    title: p.title.clone(),
                    description: p.description.clone(),
                    speakers: p.speakers.0.clone(),
                    track: p.track_key.clone(),
                    cancelled: p.cancelled,
                })
                .collect();
        }
        Ok(())
    }

    /// Changes a meeting's status.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such meeting.
    pub async fn set_meeting_status(&self, id: MeetingId, status: MeetingStatus) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = on_tx!(tx, |c| {
            sqlx::query("update meeting set status = $1, updated_at = $2 where id = $3")
                .bind(status.as_str())
                .bind(db_time(now()))
                .bind(id.uuid())
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await
    }
}

/// Inserts a meeting with its tracks and programme.
///
/// # Errors
/// [`StoreError::Conflict`] when the number is taken.
pub async fn insert_meeting(tx: &mut WriteTx, m: &NewMeeting) -> Result<MeetingId> {
    let id = MeetingId::new();
    let at = db_time(now());
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into meeting (id, number, title, description, themes, starts_at, ends_at, format, venue, \
             online_url, capacity, per_organisation_limit, registration_deadline, status, created_at, updated_at, \
             registration_opens_at, allocation, applications_close_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18)",
        )
        .bind(id.uuid())
        .bind(m.number)
        .bind(&m.title)
        .bind(&m.description)
        .bind(Json(&m.themes))
        .bind(db_time(m.starts_at))
        .bind(db_time(m.ends_at))
        .bind(m.format.as_str())
        .bind(&m.venue)
        .bind(&m.online_url)
        .bind(m.capacity)
        .bind(m.per_organisation_limit)
        .bind(m.registration_deadline.map(db_time))
        .bind(m.status.as_str())
        .bind(at)
        .bind(m.seating.registration_opens_at.map(db_time))
        .bind(m.seating.allocation.as_str())
        .bind(m.seating.applications_close_at.map(db_time))
        .execute(&mut *c)
        .await?;
    });
    insert_tracks(tx, id, &m.tracks).await?;
    insert_programme(tx, id, &m.programme).await?;
    Ok(id)
}

/// Writes `tracks` of meeting `id` in their order.
async fn insert_tracks(tx: &mut WriteTx, id: MeetingId, tracks: &[Track]) -> Result<()> {
    on_tx!(tx, |c| {
        for (pos, t) in (0_i32..).zip(tracks) {
            sqlx::query("insert into track (meeting_id, key, title, capacity, position) values ($1, $2, $3, $4, $5)")
                .bind(id.uuid())
                .bind(&t.key)
                .bind(&t.title)
                .bind(t.capacity)
                .bind(pos)
                .execute(&mut *c)
                .await?;
        }
    });
    Ok(())
}

/// Writes the programme `items` of meeting `id` in their order.
async fn insert_programme(tx: &mut WriteTx, id: MeetingId, items: &[ProgrammeItem]) -> Result<()> {
    on_tx!(tx, |c| {
        for (pos, p) in (0_i32..).zip(items) {
            sqlx::query(
                "insert into programme_item (id, meeting_id, position, starts_at, ends_at, title, description, \
                 speakers, track_key, cancelled) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(Uuid::now_v7())
            .bind(id.uuid())
            .bind(pos)
            .bind(p.starts_at.map(db_time))
            .bind(p.ends_at.map(db_time))
            .bind(&p.title)
            .bind(&p.description)
            .bind(Json(&p.speakers))
            .bind(p.track.as_deref())
            .bind(p.cancelled)
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

/// Whether a meeting has this number, as seen inside the transaction.
pub async fn number_taken(tx: &mut WriteTx, number: i32) -> Result<bool> {
    let n: i64 = on_tx!(tx, |c| {
        sqlx::query_scalar("select count(*) from meeting where number = $1").bind(number).fetch_one(&mut *c).await?
    });
    Ok(n > 0)
}

/// Writes a meeting's changeable fields (title, description, times, venue,
/// joining link, capacity, deadline), its status and its calendar sequence,
/// provided nobody changed its status or sequence since `seen` was read.
/// Returns `false` when somebody did; then nothing is written.
pub async fn update_meeting(tx: &mut WriteTx, seen: &Meeting, m: &Meeting) -> Result<bool> {
    let n = on_tx!(tx, |c| {
        sqlx::query(
            "update meeting set title = $1, description = $2, starts_at = $3, ends_at = $4, venue = $5, \
             online_url = $6, capacity = $7, registration_deadline = $8, status = $9, ical_sequence = $10, \
             updated_at = $11 where id = $12 and status = $13 and ical_sequence = $14",
        )
        .bind(&m.title)
        .bind(&m.description)
        .bind(db_time(m.starts_at))
        .bind(db_time(m.ends_at))
        .bind(&m.venue)
        .bind(&m.online_url)
        .bind(m.capacity)
        .bind(m.registration_deadline.map(db_time))
        .bind(m.status.as_str())
        .bind(m.ical_sequence)
        .bind(db_time(now()))
        .bind(m.id.uuid())
        .bind(seen.status.as_str())
        .bind(seen.ical_sequence)
        .execute(&mut *c)
        .await?
        .rows_affected()
    });
    Ok(n == 1)
}

/// Why a meeting could not change status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAllowed {
    /// Where the meeting is.
    pub from: MeetingStatus,
    /// Where it was asked to go.
    pub to: MeetingStatus,
}

impl std::fmt::Display for NotAllowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the meeting is {}; it cannot become {}", self.from, self.to)
    }
}

/// Moves a meeting to `to` if [`MeetingStatus::allowed_from`] permits it from its present
/// status, checked and written in one statement so two organisers cannot
/// both move it. Returns the status it left, or why it may not move.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such meeting.
pub async fn move_status(
    tx: &mut WriteTx,
    id: MeetingId,
    to: MeetingStatus,
) -> Result<std::result::Result<MeetingStatus, NotAllowed>> {
    let from: String = on_tx!(tx, |c| {
        sqlx::query_scalar("select status from meeting where id = $1").bind(id.uuid()).fetch_one(&mut *c).await?
    });
    let from = MeetingStatus::parse(&from).map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?;
    if !from.may_become(to) || !move_back(tx, id, from, to).await? {
        return Ok(Err(NotAllowed { from, to }));
    }
    Ok(Ok(from))
}

/// Moves meeting `id` from `from` to `to`, provided it is still `from`;
/// `false` when it is not. Used for the forward moves [`move_status`] has
/// checked, and alone for a mistake undone (outside the forward moves of
/// [`MeetingStatus::allowed_from`]).
pub async fn move_back(tx: &mut WriteTx, id: MeetingId, from: MeetingStatus, to: MeetingStatus) -> Result<bool> {
    let n = on_tx!(tx, |c| {
        sqlx::query("update meeting set status = $1, updated_at = $2 where id = $3 and status = $4")
            .bind(to.as_str())
            .bind(db_time(now()))
            .bind(id.uuid())
            .bind(from.as_str())
            .execute(&mut *c)
            .await?
            .rows_affected()
    });
    Ok(n == 1)
}

/// Writes every field an organiser edits (number, title, description,
/// themes, times, format, venue, joining link, capacities, deadline) and the
/// calendar sequence, provided nobody changed the meeting's status or
/// sequence since `seen` was read; returns `false` when somebody did.
///
/// # Errors
/// [`StoreError::Conflict`] when the number is taken.
pub async fn update_meeting_details(tx: &mut WriteTx, seen: &Meeting, m: &Meeting) -> Result<bool> {
    let n = on_tx!(tx, |c| {
        sqlx::query(
            "update meeting set number = $1, title = $2, description = $3, themes = $4, starts_at = $5, \
             ends_at = $6, format = $7, venue = $8, online_url = $9, capacity = $10, per_organisation_limit = $11, \
             registration_deadline = $12, ical_sequence = $13, updated_at = $14, registration_opens_at = $18, \
             allocation = $19, applications_close_at = $20 \
             where id = $15 and status = $16 and ical_sequence = $17",
        )
        .bind(m.number)
        .bind(&m.title)
        .bind(&m.description)
        .bind(Json(&m.themes))
        .bind(db_time(m.starts_at))
        .bind(db_time(m.ends_at))
        .bind(m.format.as_str())
        .bind(&m.venue)
        .bind(&m.online_url)
        .bind(m.capacity)
        .bind(m.per_organisation_limit)
        .bind(m.registration_deadline.map(db_time))
        .bind(m.ical_sequence)
        .bind(db_time(now()))
        .bind(m.id.uuid())
        .bind(seen.status.as_str())
        .bind(seen.ical_sequence)
        .bind(m.seating.registration_opens_at.map(db_time))
        .bind(m.seating.allocation.as_str())
        .bind(m.seating.applications_close_at.map(db_time))
        .execute(&mut *c)
        .await?
        .rows_affected()
    });
    Ok(n == 1)
}

/// Replaces a meeting's tracks, in the order given.
pub async fn replace_tracks(tx: &mut WriteTx, id: MeetingId, tracks: &[Track]) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query("delete from track where meeting_id = $1").bind(id.uuid()).execute(&mut *c).await?;
    });
    insert_tracks(tx, id, tracks).await
}

/// Replaces a meeting's programme, in the order given, provided the meeting
/// was not changed since `seen_updated_at`; returns `false` when it was.
/// The meeting's `updated_at` moves on, so a form showing the old programme
/// cannot overwrite the new one.
pub async fn replace_programme(
    tx: &mut WriteTx,
    id: MeetingId,
    seen_updated_at: Timestamp,
    items: &[ProgrammeItem],
) -> Result<bool> {
    let at = db_time(now()).max(db_time(seen_updated_at) + 1);
    let n = on_tx!(tx, |c| {
        sqlx::query("update meeting set updated_at = $1 where id = $2 and updated_at = $3")
            .bind(at)
            .bind(id.uuid())
            .bind(db_time(seen_updated_at))
            .execute(&mut *c)
            .await?
            .rows_affected()
    });
    if n == 0 {
        return Ok(false);
    }
    on_tx!(tx, |c| {
        sqlx::query("delete from programme_item where meeting_id = $1").bind(id.uuid()).execute(&mut *c).await?;
    });
    insert_programme(tx, id, items).await?;
    Ok(true)
}

impl Store {
    /// The organiser's personal message for the meeting's invitations ("" when none).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such meeting.
    pub async fn invitation_message(&self, id: MeetingId) -> Result<String> {
        Ok(on_pool!(self, |db| {
            sqlx::query_scalar("select invitation_message from meeting where id = $1")
                .bind(id.uuid())
                .fetch_one(db)
                .await?
        }))
    }
}

/// The personal message as seen inside the transaction.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such meeting.
pub async fn invitation_message_in(tx: &mut WriteTx, id: MeetingId) -> Result<String> {
    Ok(on_tx!(tx, |c| {
        sqlx::query_scalar("select invitation_message from meeting where id = $1")
            .bind(id.uuid())
            .fetch_one(&mut *c)
            .await?
    }))
}

/// Sets the organiser's personal message for the meeting's invitations.
pub async fn set_invitation_message(tx: &mut WriteTx, id: MeetingId, message: &str) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query("update meeting set invitation_message = $1 where id = $2")
            .bind(message)
            .bind(id.uuid())
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}
