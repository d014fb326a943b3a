//! What a meeting's dossier is read from: the mailings about the meeting
//! with their counts, its registrations counted by status, and the audit
//! entries about the meeting and its mailings, oldest first.

use uuid::Uuid;

use super::audit::AuditRow;
use super::{Result, Store, from_db_time, on_pool};
use crate::domain::{CampaignId, MeetingId, Timestamp};

/// A mailing about the meeting (invitations, evaluation, reminders).
#[derive(Debug, Clone)]
pub struct MeetingCampaign {
    pub id: CampaignId,
    pub kind: String,
    pub subject: String,
    pub state: String,
    pub created_at: Timestamp,
    pub scheduled_at: Timestamp,
    /// Messages queued when it was expanded.
    pub total: i64,
    pub sent: i64,
    pub failed: i64,
}

/// The registrations of a meeting, counted.
#[derive(Debug, Clone, Default)]
pub struct RegistrationSummary {
    /// By status, e.g. `("attending", 42)`, in the order of the status names.
    pub by_status: Vec<(String, i64)>,
    pub checked_in: i64,
    /// Held a seat and were not checked in.
    pub no_show: i64,
}

type CampaignRow = (Uuid, String, String, String, i64, i64, i32, i64, i64);

impl Store {
    /// The meeting's mailings, oldest first, with how many were sent and failed.
    pub async fn meeting_campaigns(&self, meeting: MeetingId) -> Result<Vec<MeetingCampaign>> {
        let rows: Vec<CampaignRow> = on_pool!(self, |db| {
            sqlx::query_as(
                "select c.id, c.kind, c.subject, c.state, c.created_at, c.scheduled_at, c.total, \
                 (select count(*) from outbox o where o.campaign_id = c.id and o.status = 'sent'), \
                 (select count(*) from outbox o where o.campaign_id = c.id and o.status = 'failed') \
                 from campaign c where c.meeting_id = $1 order by c.created_at, c.id",
            )
            .bind(meeting.uuid())
            .fetch_all(db)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, kind, subject, state, created_at, scheduled_at, total, sent, failed)| MeetingCampaign {
                id: CampaignId::from_uuid(id),
                kind,
                subject,
                state,
                created_at: from_db_time(created_at),
                scheduled_at: from_db_time(scheduled_at),
                total: i64::from(total),
                sent,
                failed,
            })
            .collect())
    }

    /// The meeting's registrations counted by status, with check-ins and
    /// no-shows (from the totals kept once they were reduced).
    pub async fn registration_summary(&self, meeting: MeetingId) -> Result<RegistrationSummary> {
        let totals = self.registration_totals(meeting).await?;
        Ok(RegistrationSummary {
            by_status: totals.by_status(),
            checked_in: totals.checked_in(),
            no_show: totals.no_show(),
        })
    }

    /// The audit entries about the meeting and about its mailings, oldest first.
    pub async fn meeting_audit(&self, meeting: MeetingId) -> Result<Vec<AuditRow>> {
        let rows: Vec<super::audit::RawRow> = on_pool!(self, |db| {
            sqlx::query_as(
                "select id, at, actor_kind, actor_id, actor_label, action, subject_kind, subject_id, detail, row_count \
                 from audit_log where subject_id = $1 \
                 or subject_id in (select id from campaign where meeting_id = $1) order by at, id",
            )
            .bind(meeting.uuid())
            .fetch_all(db)
            .await?
        });
        Ok(rows.into_iter().map(AuditRow::from).collect())
    }
}
