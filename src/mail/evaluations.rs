//! Sending evaluations: starting the send once a meeting has ended (a
//! campaign now and a reminder campaign later), and expanding those campaigns
//! into one personal mail per attendee, each with its own answer link.

use anyhow::Context;
use askama::Template;
use jiff::SignedDuration;

use super::compose::Outgoing;
use super::context::MailContext;
use crate::domain::{CampaignId, MeetingId, MeetingStatus, PersonStatus, Timestamp, Token, TokenPurpose, UserId};
use crate::i18n::Lang;
use crate::store::audit::{self, Actor, Entry};
use crate::store::campaigns::{Expansion, NewCampaign, Recipient, Target, insert_campaign};
use crate::store::evaluations::{
    add_recipients, attendees, bring_forward, evaluation_in, mark_meeting_evaluated, mark_sent, non_responders,
    set_closing,
};
use crate::store::meetings::Meeting;
use crate::store::outbox::{NewMessage, enqueue_many};
use crate::store::tokens::{NewLinkToken, insert_link_tokens};
use crate::store::{Store, StoreError, WriteTx, now};

/// The campaign kind of the first send.
pub const KIND: &str = "evaluation";
/// The campaign kind of the reminder to those who have not answered.
pub const REMINDER_KIND: &str = "evaluation_reminder";

/// Why an evaluation cannot be sent.
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

/// When to close and remind, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub reminder_after_days: u32,
    pub close_after_days: u32,
}

fn days(n: u32) -> SignedDuration {
    SignedDuration::from_hours(i64::from(n) * 24)
}

/// Starts sending the meeting's evaluation to those who attended: a campaign
/// now, and a reminder campaign for those who have not answered by then.
/// Only after the meeting has ended, and only once.
///
/// # Errors
/// [`SendError`] says why not; the database failed.
pub async fn send(
    store: &Store,
    meeting: &Meeting,
    schedule: Schedule,
    closes_at: Option<Timestamp>,
    by: Option<UserId>,
    actor: &Actor,
) -> Result<Sent, SendError> {
    let at = now();
    if meeting.status == MeetingStatus::Cancelled {
        return Err(SendError::Cancelled);
    }
    if meeting.ends_at > at {
        let ends = meeting.ends_at.to_zoned_datetime(crate::domain::copenhagen());
        return Err(SendError::NotEnded(ends.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()));
    }
    let closes_at = closes_at.unwrap_or(crate::domain::shifted(at, days(schedule.close_after_days.max(1))));
    if closes_at <= at {
        return Err(SendError::ClosingInPast);
    }
    let reminder_at = (schedule.reminder_after_days > 0)
        .then(|| crate::domain::shifted(at, days(schedule.reminder_after_days)))
        .filter(|r| *r < closes_at);
    let mut tx = store.begin().await?;
    if !mark_sent(&mut tx, meeting.id, closes_at, reminder_at).await? {
        return Err(SendError::AlreadySent);
    }
    let campaign = |kind: &'static str, when: Timestamp| NewCampaign {
        kind,
        meeting_id: Some(meeting.id),
        subject: meeting.title.clone(),
        target: Target { audience: None, guests: Vec::new() },
        scheduled_at: when,
        created_by: by,
    };
    let id = insert_campaign(&mut tx, &campaign(KIND, at)).await?;
    let reminder = match reminder_at {
        Some(r) => Some(insert_campaign(&mut tx, &campaign(REMINDER_KIND, r)).await?),
        None => None,
    };
    let entry = Entry {
        action: "evaluation.send",
        subject_kind: "meeting",
        subject_id: Some(meeting.id.uuid()),
        detail: "",
        row_count: None,
    };
    audit::record(&mut tx, actor, &entry).await?;
    mark_meeting_evaluated(&mut tx, meeting.id).await?;
    tx.commit().await?;
    Ok(Sent { campaign: id, reminder, closes_at, reminder_at })
}

/// Sends the reminder now instead of at its time: a scheduled reminder is
/// brought forward, or a new one is created. Only while the evaluation is open.
///
/// # Errors
/// [`SendError`] says why not; the database failed.
pub async fn remind_now(
    store: &Store,
    meeting: MeetingId,
    by: Option<UserId>,
    actor: &Actor,
) -> Result<CampaignId, SendError> {
    let e = store.evaluation(meeting).await?.filter(|e| e.sent_at.is_some()).ok_or(SendError::NotSent)?;
    let at = now();
    if e.closed(at) {
        return Err(SendError::Closed);
    }
    let mut tx = store.begin().await?;
    let scheduled = bring_forward(&mut tx, meeting, REMINDER_KIND).await?;
    let id = if let Some(id) = scheduled {
        id
    } else {
        let title = store.meeting(meeting).await?.title;
        let c = NewCampaign {
            kind: REMINDER_KIND,
            meeting_id: Some(meeting),
            subject: title,
            target: Target { audience: None, guests: Vec::new() },
            scheduled_at: at,
            created_by: by,
        };
        insert_campaign(&mut tx, &c).await?
    };
    let entry = Entry {
        action: "evaluation.remind",
        subject_kind: "meeting",
        subject_id: Some(meeting.uuid()),
        detail: "",
        row_count: None,
    };
    audit::record(&mut tx, actor, &entry).await?;
    tx.commit().await?;
    Ok(id)
}

/// Closes the evaluation now: no answer is taken or changed after this.
///
/// # Errors
/// [`SendError::NotSent`] before it was sent; the database failed.
pub async fn close_now(store: &Store, meeting: MeetingId, actor: &Actor) -> Result<(), SendError> {
    let e = store.evaluation(meeting).await?.filter(|e| e.sent_at.is_some()).ok_or(SendError::NotSent)?;
    let at = now();
    if e.closed(at) {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    set_closing(&mut tx, meeting, at).await?;
    let entry = Entry {
        action: "evaluation.close",
        subject_kind: "meeting",
        subject_id: Some(meeting.uuid()),
        detail: "",
        row_count: None,
    };
    audit::record(&mut tx, actor, &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// The evaluation mail's fields, shared by its text and HTML bodies.
pub struct EvaluationMail {
    pub lang: &'static str,
    pub subject: String,
    pub name: String,
    pub title: String,
    pub date: String,
    pub url: String,
    pub closes: String,
    pub anonymous: bool,
    pub reminder: bool,
    pub unsubscribe_url: Option<String>,
}

#[derive(Template)]
#[template(path = "mail/evaluation/body.txt", escape = "none")]
struct MailText<'a> {
    m: &'a EvaluationMail,
}

#[derive(Template)]
#[template(path = "mail/evaluation/body.html")]
struct MailHtml<'a> {
    m: &'a EvaluationMail,
}

/// Expands an evaluation campaign: the first send goes to those who attended
/// (and records them as recipients), the reminder to recipients who have not
/// answered. Nothing is queued once the evaluation has closed. Returns how
/// many messages were queued.
///
/// # Errors
/// The database failed or a message could not be built.
pub async fn queue(
    tx: &mut WriteTx,
    ctx: &MailContext,
    campaign: &Expansion,
    meeting: &Meeting,
    reminder: bool,
) -> anyhow::Result<usize> {
    let e = evaluation_in(tx, meeting.id).await.context("the meeting's evaluation")?;
    let Some(closes_at) = e.closes_at.filter(|_| !e.closed(now())) else { return Ok(0) };
    let people = if reminder { non_responders(tx, meeting.id).await? } else { attendees(tx, meeting.id).await? };
    if !reminder {
        let ids: Vec<_> = people.iter().map(|(r, _)| r.person_id).collect();
        add_recipients(tx, meeting.id, &ids).await?;
    }
    let mut tokens = Vec::with_capacity(people.len() * 2);
    let mut messages = Vec::with_capacity(people.len());
    for (r, registration) in &people {
        let token = Token::generate();
        tokens.push(NewLinkToken {
            hash: token.hash(),
            purpose: TokenPurpose::Evaluation,
            person: Some(r.person_id),
            registration: Some(*registration),
            expires_at: Some(closes_at),
        });
        let unsubscribe = (r.status == PersonStatus::Confirmed).then(|| {
            let t = Token::generate();
            tokens.push(NewLinkToken {
                hash: t.hash(),
                purpose: TokenPurpose::Unsubscribe,
                person: Some(r.person_id),
                registration: None,
                expires_at: None,
            });
            format!("{}/unsubscribe/{}", ctx.base_url, t.expose())
        });
        let m = mail(ctx, meeting, r, &token, closes_at, e.anonymous, reminder, unsubscribe);
        messages.push(compose(ctx, campaign.id, r, &m)?);
    }
    insert_link_tokens(tx, &tokens).await?;
    enqueue_many(tx, &messages).await?;
    Ok(messages.len())
}

#[allow(clippy::too_many_arguments)] // the fields of one mail, each used once
fn mail(
    ctx: &MailContext,
    meeting: &Meeting,
    r: &Recipient,
    token: &Token,
    closes_at: Timestamp,
    anonymous: bool,
    reminder: bool,
    unsubscribe_url: Option<String>,
) -> EvaluationMail {
    let lang = Lang::from_code(&r.language);
    let subject = match (lang, reminder) {
        (Lang::Da, false) => format!("Evaluering: {}", meeting.title),
        (Lang::Da, true) => format!("Påmindelse om evaluering: {}", meeting.title),
        (Lang::En, false) => format!("Evaluation: {}", meeting.title),
        (Lang::En, true) => format!("Reminder, evaluation: {}", meeting.title),
    };
    EvaluationMail {
        lang: lang.code(),
        subject,
        name: r.name.clone(),
        title: meeting.title.clone(),
        date: lang.date(meeting.starts_at),
        url: format!("{}/evaluation/{}", ctx.base_url, token.expose()),
        closes: format!("{} {}", lang.date(closes_at), lang.time(closes_at)),
        anonymous,
        reminder,
        unsubscribe_url,
    }
}

fn compose(ctx: &MailContext, campaign: CampaignId, r: &Recipient, m: &EvaluationMail) -> anyhow::Result<NewMessage> {
    Ok(ctx.composer.compose(&Outgoing {
        kind: KIND,
        to: &r.email,
        to_name: Some(&r.name),
        person_id: Some(r.person_id),
        campaign_id: Some(campaign),
        subject: &m.subject,
        text: MailText { m }.render()?,
        html: MailHtml { m }.render()?,
        unsubscribe_url: m.unsubscribe_url.clone(),
        ics: None,
    })?)
}
