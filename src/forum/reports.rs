//! The report after a meeting: writing its sections, approving it and
//! publishing it to the public meeting page, mailed (as a campaign of kind
//! [`KIND`]) to the whole list, to those who attended, or to nobody. Each
//! step is audited on the meeting. Equal treatment in a market dialogue
//! (udbudsloven § 2) is why the whole list is the default audience: what
//! some suppliers heard at the meeting, all may read. For the same reason
//! the meeting's materials can be released at a set time: public from that
//! minute and mailed to everyone then (a campaign of kind [`MATERIALS_KIND`]
//! that records which files it carried).

use super::{Forum, Refusal, Result};
use crate::domain::report::{Mailing, ReportState, Sections};
use crate::domain::{CampaignId, MeetingStatus, Timestamp, UserId};
use crate::store::audit::{Actor, record_on_meeting};
use crate::store::campaigns::{Audience, NewCampaign, Target, insert_campaign};
use crate::store::materials::{record_release, set_release, withdraw_scheduled_releases};
use crate::store::meetings::Meeting;
use crate::store::reports::{self, Report, report_in};
use crate::store::{Store, now};

pub use crate::mail::compose::report::{KIND, MATERIALS_KIND};

/// A meeting's report as others read it (the meeting's dossier, say): where
/// it stands, its working sections and, once published, when and what.
pub async fn report_of(store: &Store, meeting: &Meeting) -> Result<Option<Report>> {
    Ok(store.report(meeting.id).await?)
}

/// Whether the meeting has taken place, so that its report, materials and
/// participants may be shown: it has ended, or was marked held, and was not
/// cancelled.
#[must_use]
pub fn has_taken_place(m: &Meeting, at: Timestamp) -> bool {
    m.status != MeetingStatus::Cancelled
        && (m.ends_at < at
            || matches!(m.status, MeetingStatus::Held | MeetingStatus::Evaluated | MeetingStatus::Archived))
}

/// Replaces the report's sections. A report that was approved (or
/// published) returns to draft and must be approved again; a published
/// report stays on the public page, as it was published, until the new
/// version is published.
///
/// # Errors
/// [`Refusal::UnknownMaterial`] when a section names a file that is not
/// the meeting's.
pub async fn write(forum: &Forum, who: &Actor, meeting: &Meeting, sections: &Sections) -> Result<Report> {
    let files: Vec<uuid::Uuid> = forum.store.materials(meeting.id).await?.into_iter().map(|f| f.id).collect();
    if let Some(i) = sections.as_slice().iter().position(|s| s.materials.iter().any(|m| !files.contains(m))) {
        return Err(Refusal::UnknownMaterial(i).into());
    }
    let mut tx = forum.store.begin().await?;
    let before = report_in(&mut tx, meeting.id).await?.map(|r| r.state);
    reports::save_sections(&mut tx, meeting.id, sections, now()).await?;
    // The audit log says in its own words when a change sent the report back to draft.
    let action = match before {
        Some(ReportState::Approved | ReportState::Published) => "report.back_to_draft",
        Some(ReportState::Draft) | None => "report.write",
    };
    let count = i64::try_from(sections.as_slice().len()).ok();
    record_on_meeting(&mut tx, who, action, meeting.id, "", count).await?;
    let report = report_in(&mut tx, meeting.id).await?.ok_or(crate::store::StoreError::NotFound)?;
    tx.commit().await?;
    Ok(report)
}

/// Approves the draft report.
///
/// # Errors
/// [`Refusal::ReportState`] unless it is a draft, [`Refusal::ReportEmpty`]
/// when it has no section.
pub async fn approve(forum: &Forum, who: &Actor, meeting: &Meeting) -> Result<Report> {
    let mut tx = forum.store.begin().await?;
    let report = report_in(&mut tx, meeting.id).await?.ok_or(Refusal::ReportEmpty)?;
    if report.state != ReportState::Draft {
        return Err(Refusal::ReportState { state: report.state.as_str(), to: "approved" }.into());
    }
    if report.sections.is_empty() {
        return Err(Refusal::ReportEmpty.into());
    }
    reports::approve(&mut tx, meeting.id, ReportState::Draft, now()).await?;
    record_on_meeting(&mut tx, who, "report.approve", meeting.id, "", None).await?;
    let report = report_in(&mut tx, meeting.id).await?.ok_or(crate::store::StoreError::NotFound)?;
    tx.commit().await?;
    Ok(report)
}

/// Publishes the approved report on the public meeting page and, unless
/// `mail` is [`Mailing::None`], mails it by a campaign: to every confirmed
/// member of the list, or to the confirmed members who attended. People who
/// left the list or whose address bounced are not written to. Returns the
/// campaign.
///
/// # Errors
/// [`Refusal::ReportState`] unless it is approved, [`Refusal::ReportTooEarly`]
/// before the meeting has taken place.
pub async fn publish(
    forum: &Forum,
    who: &Actor,
    by: Option<UserId>,
    meeting: &Meeting,
    mail: Mailing,
) -> Result<Option<CampaignId>> {
    let at = now();
    if !has_taken_place(meeting, at) {
        return Err(Refusal::ReportTooEarly.into());
    }
    let mut tx = forum.store.begin().await?;
    let report =
        report_in(&mut tx, meeting.id).await?.ok_or(Refusal::ReportState { state: "draft", to: "published" })?;
    if report.state != ReportState::Approved || !reports::publish(&mut tx, meeting.id, &report.sections, at).await? {
        return Err(Refusal::ReportState { state: report.state.as_str(), to: "published" }.into());
    }
    let campaign = match mailing(KIND, meeting, mail, at, by) {
        Some(c) => Some(insert_campaign(&mut tx, &c).await?),
        None => None,
    };
    record_on_meeting(&mut tx, who, &format!("report.publish.{}", mail.as_str()), meeting.id, "", None).await?;
    tx.commit().await?;
    if campaign.is_some() {
        forum.campaign_wake.notify_one();
    }
    Ok(campaign)
}

/// The campaign of `kind` that mails `meeting`'s news to whom `mail` says, at `at`.
fn mailing(
    kind: &'static str,
    meeting: &Meeting,
    mail: Mailing,
    at: Timestamp,
    by: Option<UserId>,
) -> Option<NewCampaign> {
    let audience = match mail {
        Mailing::List => Audience::All,
        Mailing::Attendees => Audience::AttendeesOf(vec![meeting.id]),
        Mailing::None => return None,
    };
    Some(NewCampaign {
        kind,
        meeting_id: Some(meeting.id),
        subject: meeting.title.clone(),
        target: Target { audience: Some(audience), guests: Vec::new() },
        scheduled_at: at,
        created_by: by,
    })
}

/// Releases the meeting's files that are not public yet at `at` (now, when
/// that has passed): they show on the public page from that minute and,
/// unless `mail` is [`Mailing::None`], a campaign mails their links to the
/// list or to the attendees at that minute, recording which files it
/// carried. A release set earlier for a later time is withdrawn. Returns
/// the campaign.
///
/// # Errors
/// [`Refusal::NothingToRelease`] when every file is public already.
pub async fn release_materials(
    forum: &Forum,
    who: &Actor,
    by: Option<UserId>,
    meeting: &Meeting,
    at: Timestamp,
    mail: Mailing,
) -> Result<Option<CampaignId>> {
    let now = now();
    let at = at.max(now);
    let over = has_taken_place(meeting, now);
    let waiting: Vec<_> =
        forum.store.materials(meeting.id).await?.into_iter().filter(|f| !f.is_public(over, now)).collect();
    if waiting.is_empty() {
        return Err(Refusal::NothingToRelease.into());
    }
    let ids: Vec<uuid::Uuid> = waiting.iter().map(|f| f.id).collect();
    let mut tx = forum.store.begin().await?;
    // A release set for later and not yet gone out is replaced by this one,
    // so that nobody gets the files twice.
    withdraw_scheduled_releases(&mut tx, meeting.id).await?;
    set_release(&mut tx, meeting.id, &ids, at).await?;
    let campaign = match mailing(MATERIALS_KIND, meeting, mail, at, by) {
        Some(c) => {
            let id = insert_campaign(&mut tx, &c).await?;
            record_release(&mut tx, id, &ids).await?;
            Some(id)
        }
        None => None,
    };
    let names: Vec<&str> = waiting.iter().map(|f| f.filename.as_str()).collect();
    let action = format!("materials.release.{}", mail.as_str());
    let count = i64::try_from(ids.len()).ok();
    record_on_meeting(&mut tx, who, &action, meeting.id, &names.join(", "), count).await?;
    tx.commit().await?;
    if campaign.is_some() {
        forum.campaign_wake.notify_one();
    }
    Ok(campaign)
}
