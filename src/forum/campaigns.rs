//! Mailings to many: inviting an audience to a meeting, the meeting's
//! personal message and a test of it, and pausing, resuming or cancelling a
//! mailing. The campaign runner expands a campaign into one message per
//! address in the background.

use super::{Forum, Refusal, Result};
use crate::domain::{CampaignId, Email, MeetingId, Timestamp, UserId};
use crate::i18n::Lang;
use crate::mail::compose::campaign::{KIND as INVITATION, count_invitees, count_recipients, test_invitation};
use crate::mail::compose::evaluations::{KIND as EVALUATION, REMINDER_KIND as EVALUATION_REMINDER};
use crate::store::audit::{self, Actor, Entry, record_on_meeting};
use crate::store::campaigns::{NewCampaign, Target, insert_campaign};
use crate::store::evaluations::{attendees, non_responders};
use crate::store::meetings::{Meeting, set_invitation_message};
use crate::store::now;
use crate::store::outbox::enqueue_many;

/// Invites `target` to `meeting`, now or at `send_at`, on behalf of the
/// organiser `by`. Returns the new campaign; the runner sends it.
///
/// # Errors
/// [`Refusal::NotInvitable`] unless the meeting is published or open.
pub async fn invite(
    forum: &Forum,
    who: &Actor,
    by: UserId,
    meeting: &Meeting,
    target: Target,
    send_at: Option<Timestamp>,
) -> Result<CampaignId> {
    may_invite(meeting)?;
    let campaign = NewCampaign {
        kind: INVITATION,
        meeting_id: Some(meeting.id),
        subject: meeting.title.clone(),
        target,
        scheduled_at: send_at.unwrap_or_else(now),
        created_by: Some(by),
    };
    let mut tx = forum.store.begin().await?;
    let id = insert_campaign(&mut tx, &campaign).await?;
    record_on_meeting(&mut tx, who, "campaign.create", meeting.id, INVITATION, None).await?;
    tx.commit().await?;
    forum.campaign_wake.notify_one();
    Ok(id)
}

/// How many a mailing of `kind` about `meeting` to `target` would reach if
/// it went now: for one still waiting for its time, what the organisers' list
/// shows instead of its progress. An invitation leaves out those already on
/// the meeting; an evaluation goes to those who attended, its reminder to
/// those of them who have not answered.
pub async fn expected_reach(forum: &Forum, kind: &str, meeting: Option<MeetingId>, target: &Target) -> Result<usize> {
    let n = match (kind, meeting) {
        (INVITATION, Some(id)) => count_invitees(&forum.store, &forum.store.meeting(id).await?, target).await?,
        (EVALUATION | EVALUATION_REMINDER, Some(id)) => {
            let mut tx = forum.store.begin().await?;
            let n = if kind == EVALUATION {
                attendees(&mut tx, id).await?.len()
            } else {
                non_responders(&mut tx, id).await?.len()
            };
            // Only read: nothing to keep.
            drop(tx);
            n
        }
        _ => count_recipients(&forum.store, target).await?,
    };
    Ok(n)
}

/// Whether people may be invited to `meeting` now: only while it takes answers.
///
/// # Errors
/// [`Refusal::NotInvitable`] when it does not.
pub fn may_invite(meeting: &Meeting) -> Result<()> {
    if meeting.status.accepts_answers() { Ok(()) } else { Err(Refusal::NotInvitable(meeting.status).into()) }
}

/// Keeps `message` as the meeting's personal invitation text, audited, when
/// it differs from the one stored.
pub async fn keep_message(forum: &Forum, who: &Actor, meeting: MeetingId, message: &str) -> Result<()> {
    if forum.store.invitation_message(meeting).await? == message {
        return Ok(());
    }
    let mut tx = forum.store.begin().await?;
    set_invitation_message(&mut tx, meeting, message).await?;
    record_on_meeting(&mut tx, who, "meeting.invitation_message", meeting, "", None).await?;
    tx.commit().await?;
    Ok(())
}

/// Sends the invitation with `message` to the organiser alone (`to`, `name`),
/// as a test.
///
/// # Errors
/// The mail could not be composed, or the database failed.
pub async fn send_test(
    forum: &Forum,
    who: &Actor,
    meeting: &Meeting,
    message: &str,
    to: &Email,
    name: &str,
    lang: Lang,
) -> Result<()> {
    let letter = test_invitation(&forum.mail, meeting, message, to, sample_reader(name, lang), lang)?;
    let mut tx = forum.store.begin().await?;
    enqueue_many(&mut tx, &[letter]).await?;
    record_on_meeting(&mut tx, who, "invitation.test", meeting.id, "", Some(1)).await?;
    tx.commit().await?;
    forum.mail_wake.notify_one();
    Ok(())
}

/// Who a test or a preview is addressed to: the organiser by name, and a
/// sample organisation, so that no placeholder is shown blank.
#[must_use]
pub fn sample_reader(name: &str, lang: Lang) -> (&str, &'static str) {
    let name = if name.trim().is_empty() { "Anna Jensen" } else { name };
    (name, lang.pick("Eksempel A/S", "Example Ltd"))
}

/// What an organiser can do to a mailing under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Stop sending; what the mail server has is not recalled.
    Pause,
    /// Go on; nothing already sent is sent again.
    Resume,
    /// Withdraw what is still queued.
    Cancel,
}

impl Move {
    /// The word for the move, as recorded in the audit log.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Cancel => "cancel",
        }
    }
}

/// Pauses, resumes or cancels the campaign `id`, audited.
///
/// # Errors
/// [`Refusal::CampaignState`] when the campaign is where the move cannot
/// start from (a finished mailing cannot be paused, say).
pub async fn change(forum: &Forum, who: &Actor, id: CampaignId, to: Move) -> Result<()> {
    let changed = match to {
        Move::Pause => forum.store.change_campaign_state(id, &["scheduled", "sending"], "paused").await?,
        Move::Resume => forum.store.resume_campaign(id).await?,
        Move::Cancel => forum.store.change_campaign_state(id, &["scheduled", "sending", "paused"], "cancelled").await?,
    };
    if !changed {
        let state = forum.store.campaign_progress(id).await?.state;
        return Err(Refusal::CampaignState { state, to }.into());
    }
    tracing::info!(campaign = %id, to = to.as_str(), "campaign state changed");
    let mut tx = forum.store.begin().await?;
    let entry = Entry {
        action: "campaign.state",
        subject_kind: "campaign",
        subject_id: Some(id.uuid()),
        detail: to.as_str(),
        row_count: None,
    };
    audit::record(&mut tx, who, &entry).await?;
    tx.commit().await?;
    forum.mail_wake.notify_one();
    forum.campaign_wake.notify_one();
    Ok(())
}
