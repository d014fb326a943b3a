//! Evaluation mail: expanding an evaluation campaign (or its reminder) into
//! one personal mail per attendee, each with its own answer link. Starting,
//! reminding and closing are use cases in [`crate::forum::evaluations`].

use anyhow::Context;
use askama::Template;

use super::context::MailContext;
use super::footer::bodies;
use super::recipient::{to_recipient, unsubscribe_link};
use crate::domain::{CampaignId, Timestamp, Token, TokenPurpose};
use crate::i18n::Lang;
use crate::store::campaigns::{Expansion, Recipient};
use crate::store::evaluations::{add_recipients, attendees, evaluation_in, non_responders};
use crate::store::meetings::Meeting;
use crate::store::outbox::{NewMessage, enqueue_many};
use crate::store::tokens::{NewLinkToken, insert_link_tokens};
use crate::store::{WriteTx, now};

/// The campaign kind of the first send.
pub const KIND: &str = "evaluation";
/// The campaign kind of the reminder to those who have not answered.
pub const REMINDER_KIND: &str = "evaluation_reminder";

/// The evaluation mail's fields, shared by its text and HTML bodies.
pub struct EvaluationMail {
    pub lang: Lang,
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
#[template(path = "mail/evaluation/subject.txt", escape = "none")]
struct EvaluationSubject<'a> {
    lang: Lang,
    title: &'a str,
    reminder: bool,
}

bodies! {
    /// The evaluation mail's text and HTML bodies.
    fn evaluation_bodies(EvaluationMail) in "mail/evaluation/body.txt", "mail/evaluation/body.html"
}

/// Expands an evaluation campaign: the first send goes to those who attended
/// (and records them as recipients), the reminder to recipients who have not
/// answered. Nothing is queued once the evaluation has closed. Returns how
/// many messages were queued.
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
        let unsubscribe = unsubscribe_link(ctx, r, &mut tokens);
        let m = mail(ctx, meeting, r, &token, closes_at, e.anonymous, reminder, unsubscribe)?;
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
) -> askama::Result<EvaluationMail> {
    let lang = Lang::from_code(&r.language);
    let subject = subject(lang, &meeting.title, reminder)?;
    Ok(EvaluationMail {
        lang,
        subject,
        name: r.name.clone(),
        title: meeting.title.clone(),
        date: lang.date(meeting.starts_at),
        url: format!("{}/evaluation/{}", ctx.base_url, token.expose()),
        closes: format!("{} {}", lang.date(closes_at), lang.time(closes_at)),
        anonymous,
        reminder,
        unsubscribe_url,
    })
}

pub(super) fn subject(lang: Lang, title: &str, reminder: bool) -> askama::Result<String> {
    Ok(EvaluationSubject { lang, title, reminder }.render()?.trim().to_owned())
}

fn compose(ctx: &MailContext, campaign: CampaignId, r: &Recipient, m: &EvaluationMail) -> anyhow::Result<NewMessage> {
    let bodies = evaluation_bodies(m, ctx.composer.footer())?;
    to_recipient(ctx, (KIND, campaign), r, &m.subject, bodies, m.unsubscribe_url.clone())
}
