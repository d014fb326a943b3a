//! The report after a meeting: its working sections, its state, and the copy
//! that was last published.

use uuid::Uuid;

use super::{Result, Store, StoreError, WriteTx, db_time, from_db_time, on_pool, on_tx};
use crate::domain::report::{ReportState, Section, Sections};
use crate::domain::{MeetingId, Timestamp};

/// A meeting's report.
#[derive(Debug, Clone)]
pub struct Report {
    pub meeting_id: MeetingId,
    pub state: ReportState,
    /// The working copy, in order.
    pub sections: Sections,
    pub updated_at: Timestamp,
    pub approved_at: Option<Timestamp>,
    pub published_at: Option<Timestamp>,
    /// What the public page shows: the sections as last published.
    pub published: Option<Sections>,
}

type ReportRow = (String, i64, Option<i64>, Option<i64>, Option<String>);
/// A section as stored: heading, text, files as a JSON array.
type SectionRow = (String, String, String);

fn corrupt(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(Box::new(e)))
}

fn report(meeting: MeetingId, row: ReportRow, sections: Vec<SectionRow>) -> Result<Report> {
    let (state, updated_at, approved_at, published_at, published) = row;
    let published = match published {
        Some(json) => Some(Sections::from_stored(serde_json::from_str::<Vec<Section>>(&json).map_err(corrupt)?)),
        None => None,
    };
    Ok(Report {
        meeting_id: meeting,
        state: ReportState::parse(&state).map_err(corrupt)?,
        sections: Sections::from_stored(
            sections
                .into_iter()
                .map(|(title, body, materials)| {
                    Ok(Section { title, body, materials: serde_json::from_str(&materials).map_err(corrupt)? })
                })
                .collect::<Result<_>>()?,
        ),
        updated_at: from_db_time(updated_at),
        approved_at: approved_at.map(from_db_time),
        published_at: published_at.map(from_db_time),
        published,
    })
}

const REPORT: &str =
    "select state, updated_at, approved_at, published_at, published_sections from meeting_report where meeting_id = $1";
const SECTIONS: &str = "select title, body, materials from report_section where meeting_id = $1 order by position";

impl Store {
    /// The meeting's report, if one was written.
    pub async fn report(&self, meeting: MeetingId) -> Result<Option<Report>> {
        let row: Option<ReportRow> =
            on_pool!(self, |db| sqlx::query_as(REPORT).bind(meeting.uuid()).fetch_optional(db).await?);
        let Some(row) = row else { return Ok(None) };
        let sections: Vec<SectionRow> =
            on_pool!(self, |db| sqlx::query_as(SECTIONS).bind(meeting.uuid()).fetch_all(db).await?);
        report(meeting, row, sections).map(Some)
    }

    /// The sections of the meeting's published report, if it has one.
    pub async fn published_report(&self, meeting: MeetingId) -> Result<Option<Sections>> {
        Ok(self.report(meeting).await?.and_then(|r| r.published))
    }
}

/// The meeting's report inside `tx`, if one was written.
pub async fn report_in(tx: &mut WriteTx, meeting: MeetingId) -> Result<Option<Report>> {
    let found: Option<(ReportRow, Vec<SectionRow>)> = on_tx!(tx, |c| {
        let row: Option<ReportRow> = sqlx::query_as(REPORT).bind(meeting.uuid()).fetch_optional(&mut *c).await?;
        match row {
            Some(row) => Some((row, sqlx::query_as(SECTIONS).bind(meeting.uuid()).fetch_all(&mut *c).await?)),
            None => None,
        }
    });
    found.map(|(row, sections)| report(meeting, row, sections)).transpose()
}

/// Replaces the report's working sections and returns it to draft; creates
/// the report when the meeting has none. The published copy stays as it is.
pub async fn save_sections(tx: &mut WriteTx, meeting: MeetingId, sections: &Sections, at: Timestamp) -> Result<()> {
    let id: Uuid = meeting.uuid();
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into meeting_report (meeting_id, state, updated_at) values ($1, 'draft', $2) \
             on conflict (meeting_id) do update set state = 'draft', updated_at = $2, approved_at = null",
        )
        .bind(id)
        .bind(db_time(at))
        .execute(&mut *c)
        .await?;
        sqlx::query("delete from report_section where meeting_id = $1").bind(id).execute(&mut *c).await?;
        for (position, s) in (0_i32..).zip(sections.as_slice()) {
            let materials = serde_json::to_string(&s.materials).unwrap_or_else(|_| "[]".to_owned());
            sqlx::query(
                "insert into report_section (meeting_id, position, title, body, materials) values ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(position)
            .bind(&s.title)
            .bind(&s.body)
            .bind(materials)
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

/// Moves the report from `from` to approved; false when it was not in `from`.
pub async fn approve(tx: &mut WriteTx, meeting: MeetingId, from: ReportState, at: Timestamp) -> Result<bool> {
    let n = on_tx!(tx, |c| {
        sqlx::query(
            "update meeting_report set state = 'approved', approved_at = $3 where meeting_id = $1 and state = $2",
        )
        .bind(meeting.uuid())
        .bind(from.as_str())
        .bind(db_time(at))
        .execute(&mut *c)
        .await?
        .rows_affected()
    });
    Ok(n == 1)
}

/// Publishes the approved report: its working sections become the published
/// copy. False when it was not approved.
pub async fn publish(tx: &mut WriteTx, meeting: MeetingId, sections: &Sections, at: Timestamp) -> Result<bool> {
    let json =
        serde_json::to_string(sections.as_slice()).map_err(|e| StoreError::Database(sqlx::Error::Encode(e.into())))?;
    let n = on_tx!(tx, |c| {
        sqlx::query(
            "update meeting_report set state = 'published', published_at = $2, published_sections = $3 \
             where meeting_id = $1 and state = 'approved'",
        )
        .bind(meeting.uuid())
        .bind(db_time(at))
        .bind(&json)
        .execute(&mut *c)
        .await?
        .rows_affected()
    });
    Ok(n == 1)
}
