//! Evaluations of a meeting: sending the questionnaire once the meeting has
//! ended (a campaign now and a reminder campaign later), reminding now and
//! closing now, and holding free-text answers back until they are read. The campaign runner expands the campaigns into mail
//! ([`crate::mail::compose::evaluations::queue`]).

use jiff::SignedDuration;

use super::Forum;
use crate::config::Evaluation as Schedule;
use crate::domain::{CampaignId, MeetingStatus, Timestamp, UserId, copenhagen, shifted};
use crate::mail::compose::evaluations::{KIND, REMINDER_KIND};
use crate::store::audit::{Actor, record_on_meeting};
use crate::store::campaigns::{NewCampaign, Target, insert_campaign};
use crate::store::evaluations::{bring_forward, mark_meeting_evaluated, mark_sent, set_closing};
use crate::store::meetings::Meeting;
use crate::store::{StoreError, now};

/// Why an evaluation cannot be sent, reminded or closed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the meeting has not ended yet; the evaluation can be sent after {0}")]
    NotEnded(String),
    #[error("the meeting was cancelled")]
    Cancelled,
    #[error("the evaluation has already been sent")]
    AlreadySent,
    #[error("the evaluation has not been sent yet")]
    NotSent,
    #[error("the evaluation has closed")]
    Closed,
    #[error("the closing date must be in the future")]
    ClosingInPast,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a send started.
#[derive(Debug, Clone)]
pub struct Sent {
    pub campaign: CampaignId,
    pub reminder: Option<CampaignId>,
    pub closes_at: Timestamp,
    pub reminder_at: Option<Timestamp>,
}

fn days(n: u32) -> SignedDuration {
    SignedDuration::from_hours(i64::from(n) * 24)
}

/// A campaign of `kind` for `meeting` at `when`, by account `by`.
fn campaign(kind: &'static str, meeting: &Meeting, when: Timestamp, by: Option<UserId>) -> NewCampaign {
    NewCampaign {
        kind,
        meeting_id: Some(meeting.id),
        subject: meeting.title.clone(),
        target: Target { audience: None, guests: Vec::new() },
        scheduled_at: when,
        created_by: by,
    }
}

/// Starts sending `meeting`'s evaluation to those who attended: a campaign
/// now, and a reminder campaign, by `schedule`, for those who have not
/// answered by then. It closes at `closes_at`, or after the schedule's days.
/// Only after the meeting has ended, and only once.
///
/// # Errors
/// [`SendError`] says why not.
pub async fn send(
    forum: &Forum,
    who: &Actor,
    by: Option<UserId>,
    meeting: &Meeting,
    schedule: &Schedule,
    closes_at: Option<Timestamp>,
) -> Result<Sent, SendError> {
    let at = now();
    if meeting.status == MeetingStatus::Cancelled {
        return Err(SendError::Cancelled);
    }
    if meeting.ends_at > at {
        let ends = meeting.ends_at.to_zoned_datetime(copenhagen());
        return Err(SendError::NotEnded(ends.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()));
    }
    let closes_at = closes_at.unwrap_or(shifted(at, days(schedule.close_after_days.max(1))));
    if closes_at <= at {
        return Err(SendError::ClosingInPast);
    }
    let reminder_at = (schedule.reminder_after_days > 0)
        .then(|| shifted(at, days(schedule.reminder_after_days)))
        .filter(|r| *r < closes_at);
    let mut tx = forum.store.begin().await?;
    if !mark_sent(&mut tx, meeting.id, closes_at, reminder_at).await? {
        return Err(SendError::AlreadySent);
    }
    let id = insert_campaign(&mut tx, &campaign(KIND, meeting, at, by)).await?;
    let reminder = match reminder_at {
        Some(r) => Some(insert_campaign(&mut tx, &campaign(REMINDER_KIND, meeting, r, by)).await?),
        None => None,
    };
    record_on_meeting(&mut tx, who, "evaluation.send", meeting.id, "", None).await?;
    mark_meeting_evaluated(&mut tx, meeting.id).await?;
    tx.commit().await?;
    forum.campaign_wake.notify_one();
    Ok(Sent { campaign: id, reminder, closes_at, reminder_at })
}

/// Sends the reminder now instead of at its time: a scheduled reminder is
/// brought forward, or a new one is created. Only while the evaluation is open.
///
/// # Errors
/// [`SendError`] says why not.
pub async fn remind(
    forum: &Forum,
    who: &Actor,
    by: Option<UserId>,
    meeting: &Meeting,
) -> Result<CampaignId, SendError> {
    let e = forum.store.evaluation(meeting.id).await?.filter(|e| e.sent_at.is_some()).ok_or(SendError::NotSent)?;
    let at = now();
    if e.closed(at) {
        return Err(SendError::Closed);
    }
    let mut tx = forum.store.begin().await?;
    let id = match bring_forward(&mut tx, meeting.id, REMINDER_KIND).await? {
        Some(id) => id,
        None => insert_campaign(&mut tx, &campaign(REMINDER_KIND, meeting, at, by)).await?,
    };
    record_on_meeting(&mut tx, who, "evaluation.remind", meeting.id, "", None).await?;
    tx.commit().await?;
    forum.campaign_wake.notify_one();
    Ok(id)
}

/// Closes the evaluation now: no answer is taken or changed after this.
///
/// # Errors
/// [`SendError::NotSent`] before it was sent.
pub async fn close(forum: &Forum, who: &Actor, meeting: &Meeting) -> Result<(), SendError> {
    let e = forum.store.evaluation(meeting.id).await?.filter(|e| e.sent_at.is_some()).ok_or(SendError::NotSent)?;
    let at = now();
    if e.closed(at) {
        return Ok(());
    }
    let mut tx = forum.store.begin().await?;
    set_closing(&mut tx, meeting.id, at).await?;
    record_on_meeting(&mut tx, who, "evaluation.close", meeting.id, "", None).await?;
    tx.commit().await?;
    Ok(())
}

/// Holds the free-text answers of `meeting` back until an organiser has read
/// and released them (`hold`), or shows them all again.
pub async fn hold_texts(forum: &Forum, who: &Actor, meeting: &Meeting, hold: bool) -> Result<(), StoreError> {
    let mut tx = forum.store.begin().await?;
    crate::store::evaluations::set_hold_texts(&mut tx, meeting.id, hold).await?;
    let detail = if hold { "held until read" } else { "shown" };
    record_on_meeting(&mut tx, who, "evaluation.hold_texts", meeting.id, detail, None).await?;
    tx.commit().await
}

/// Releases one held free-text answer of `meeting` into its results.
///
/// # Errors
/// [`StoreError::NotFound`] when the meeting has no such answer.
pub async fn release_text(
    forum: &Forum,
    who: &Actor,
    meeting: &Meeting,
    response: uuid::Uuid,
    question_key: &str,
) -> Result<(), StoreError> {
    let mut tx = forum.store.begin().await?;
    crate::store::evaluations::release_text(&mut tx, meeting.id, response, question_key).await?;
    // The answer's id would let the log be matched against the answers; the question is enough.
    record_on_meeting(&mut tx, who, "evaluation.release_text", meeting.id, question_key, Some(1)).await?;
    tx.commit().await
}
