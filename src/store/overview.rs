//! The figures of the organiser dashboard: the next meeting's registrations
//! by status, campaigns still going out, confirmed sign-ups per month and
//! the addresses bounces hold back.

use uuid::Uuid;

use super::{Result, Store, db_time, from_db_time, now, on_pool};
use crate::domain::{CampaignId, MeetingId, Timestamp};

/// The next meeting that is not cancelled.
#[derive(Debug, Clone)]
pub struct NextMeeting {
    pub id: MeetingId,
    pub title: String,
    pub starts_at: Timestamp,
    pub status: String,
    pub capacity: Option<i32>,
    /// Registrations by status, e.g. `("attending", 42)`.
    pub registrations: Vec<(String, i64)>,
    pub checked_in: i64,
}

/// A campaign that is scheduled, sending or paused.
#[derive(Debug, Clone)]
pub struct CampaignUnderway {
    pub id: CampaignId,
    pub kind: String,
    pub subject: String,
    pub meeting_title: Option<String>,
    pub state: String,
    pub scheduled_at: Timestamp,
    pub total: i64,
    pub sent: i64,
    pub failed: i64,
}

/// Addresses that bounces affect.
#[derive(Debug, Clone, Copy, Default)]
pub struct BounceCounts {
    /// People suppressed: hard bounces, complaints, too many soft bounces.
    pub suppressed: i64,
    /// People still on the list with soft bounces counted against them.
    pub soft_pending: i64,
    /// Messages given up after their last attempt.
    pub failed_messages: i64,
}

impl Store {
    /// The next meeting that has not started and is not cancelled, with its
    /// registrations counted by status.
    pub async fn next_meeting_overview(&self) -> Result<Option<NextMeeting>> {
        let row: Option<(Uuid, String, i64, String, Option<i32>)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select id, title, starts_at, status, capacity from meeting \
                 where starts_at > $1 and status <> 'cancelled' order by starts_at, id limit 1",
            )
            .bind(db_time(now()))
            .fetch_optional(db)
            .await?
        });
        let Some((id, title, starts_at, status, capacity)) = row else { return Ok(None) };
        let registrations: Vec<(String, i64)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select status, count(*) from registration where meeting_id = $1 group by status order by status",
            )
            .bind(id)
            .fetch_all(db)
            .await?
        });
        let checked_in: i64 = on_pool!(self, |db| {
            sqlx::query_scalar("select count(*) from registration where meeting_id = $1 and checked_in_at is not null")
                .bind(id)
                .fetch_one(db)
                .await?
        });
        Ok(Some(NextMeeting {
            id: MeetingId::from_uuid(id),
            title,
            starts_at: from_db_time(starts_at),
            status,
            capacity,
            registrations,
            checked_in,
        }))
    }

    /// Campaigns scheduled, sending or paused, soonest first, with how many
    /// of their messages are sent and failed.
    pub async fn campaigns_underway(&self) -> Result<Vec<CampaignUnderway>> {
        #[allow(clippy::type_complexity, reason = "one row of a query")]
        let rows: Vec<(Uuid, String, String, Option<String>, String, i64, i32, i64, i64)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select c.id, c.kind, c.subject, m.title, c.state, c.scheduled_at, c.total, \
                 (select count(*) from outbox o where o.campaign_id = c.id and o.status = 'sent'), \
                 (select count(*) from outbox o where o.campaign_id = c.id and o.status = 'failed') \
                 from campaign c left join meeting m on m.id = c.meeting_id \
                 where c.state in ('scheduled', 'sending', 'paused') order by c.scheduled_at, c.id limit 20",
            )
            .fetch_all(db)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, kind, subject, meeting_title, state, scheduled_at, total, sent, failed)| CampaignUnderway {
                id: CampaignId::from_uuid(id),
                kind,
                subject,
                meeting_title,
                state,
                scheduled_at: from_db_time(scheduled_at),
                total: i64::from(total),
                sent,
                failed,
            })
            .collect())
    }

    /// When each person confirmed their sign-up, for those confirmed since `since`.
    pub async fn confirmations_since(&self, since: Timestamp) -> Result<Vec<Timestamp>> {
        let rows: Vec<i64> = on_pool!(self, |db| {
            sqlx::query_scalar("select confirmed_at from person where confirmed_at >= $1 order by confirmed_at")
                .bind(db_time(since))
                .fetch_all(db)
                .await?
        });
        Ok(rows.into_iter().map(from_db_time).collect())
    }

    /// How many addresses bounces affect.
    pub async fn bounce_counts(&self) -> Result<BounceCounts> {
        let (suppressed, soft_pending, failed_messages): (i64, i64, i64) = on_pool!(self, |db| {
            sqlx::query_as(
                "select (select count(*) from person where status = 'bounced'), \
                 (select count(*) from person where soft_bounces > 0 and status in ('pending', 'confirmed')), \
                 (select count(*) from outbox where status = 'failed')",
            )
            .fetch_one(db)
            .await?
        });
        Ok(BounceCounts { suppressed, soft_pending, failed_messages })
    }
}
