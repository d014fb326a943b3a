//! Reminders before a meeting, sent by the campaign runner through the
//! outbox: before the registration deadline to those invited who have not
//! answered (with a fresh personal answer link), and before the start to
//! those attending (time, place and, for virtual and hybrid meetings, the
//! joining link). Each person gets each reminder once: the claim and the
//! messages are written in one transaction.

use jiff::SignedDuration;

use super::context::MailContext;
use super::notices::{Notice, To, compose_notice};
use super::words::{Words, joining, span, words};
use crate::config::Reminders;
use crate::domain::{MeetingFormat, Token, TokenPurpose};
use crate::i18n::Lang;
use crate::store::Store;
use crate::store::campaigns::{ReminderKind, claim_reminders, meetings_due_for_reminder};
use crate::store::meetings::Meeting;
use crate::store::outbox::enqueue_many;
use crate::store::tokens::{NewLinkToken, insert_link_tokens};

/// Queues every reminder that is due now; returns how many were queued.
pub async fn send_due(store: &Store, ctx: &MailContext, settings: Reminders) -> anyhow::Result<usize> {
    let now = crate::store::now();
    let mut queued = 0;
    for (kind, lead) in [
        (ReminderKind::Deadline, SignedDuration::from_hours(24 * i64::from(settings.deadline_days))),
        (ReminderKind::Start, SignedDuration::from_hours(i64::from(settings.start_hours))),
    ] {
        if lead.is_zero() {
            continue;
        }
        for id in meetings_due_for_reminder(store, kind, now, lead).await? {
            let meeting = store.meeting(id).await?;
            // Someone invited inside the window has just had the invitation.
            let invited_before = match kind {
                ReminderKind::Deadline => meeting.registration_deadline.map(|d| crate::domain::shifted(d, -lead)),
                ReminderKind::Start => None,
            };
            queued += remind(store, ctx, &meeting, kind, invited_before).await?;
        }
    }
    Ok(queued)
}

/// Claims and queues one meeting's reminders of `kind` in one transaction.
async fn remind(
    store: &Store,
    ctx: &MailContext,
    meeting: &Meeting,
    kind: ReminderKind,
    invited_before: Option<crate::domain::Timestamp>,
) -> anyhow::Result<usize> {
    let mut tx = store.begin().await?;
    let people = claim_reminders(&mut tx, meeting.id, kind, invited_before).await?;
    if people.is_empty() {
        return Ok(0);
    }
    let expires = crate::domain::link_expiry(meeting.ends_at);
    let mut tokens = Vec::new();
    let mut messages = Vec::with_capacity(people.len());
    for (r, registration) in &people {
        let lang = Lang::from_code(&r.language);
        let rsvp = Token::generate();
        let notice = match kind {
            ReminderKind::Deadline => {
                tokens.push(NewLinkToken {
                    hash: rsvp.hash(),
                    purpose: TokenPurpose::Rsvp,
                    person: Some(r.person_id),
                    registration: Some(*registration),
                    expires_at: Some(expires),
                });
                deadline_notice(meeting, lang, &r.name, &format!("{}/rsvp/{}", ctx.base_url, rsvp.expose()))?
            }
            ReminderKind::Start => start_notice(meeting, lang, &r.name, &ctx.base_url)?,
        };
        let to = To { person: r.person_id, email: &r.email, name: &r.name, lang };
        let kind_name = match kind {
            ReminderKind::Deadline => "reminder-deadline",
            ReminderKind::Start => "reminder-start",
        };
        messages.push(compose_notice(ctx, kind_name, to, &notice, None)?);
    }
    insert_link_tokens(&mut tx, &tokens).await?;
    enqueue_many(&mut tx, &messages).await?;
    tx.commit().await?;
    tracing::info!(meeting = %meeting.id, kind = kind.as_str(), messages = messages.len(), "reminders queued");
    Ok(messages.len())
}

words! {
    struct DeadlineReminder<'a> in "mail/words/reminder_deadline.txt" {
        lang: Lang,
        name: &'a str,
        title: &'a str,
        when: String,
        deadline: Option<String>,
    }
}

words! {
    struct StartReminder<'a> in "mail/words/reminder_start.txt" {
        lang: Lang,
        name: &'a str,
        title: &'a str,
        date: String,
        when: String,
        place: Option<&'a str>,
        joining: Option<&'a str>,
    }
}

/// The reminder to answer before the deadline.
pub(super) fn deadline_notice(meeting: &Meeting, lang: Lang, name: &str, rsvp_url: &str) -> askama::Result<Notice> {
    DeadlineReminder {
        lang,
        name,
        title: &meeting.title,
        when: span(meeting, lang),
        deadline: meeting.registration_deadline.map(|d| format!("{} {}", lang.date(d), lang.time(d))),
    }
    .notice(Some(rsvp_url.to_owned()))
}

/// The practical information before the start, with the joining link for
/// virtual and hybrid meetings (it goes only to people with a seat).
pub(super) fn start_notice(meeting: &Meeting, lang: Lang, name: &str, base_url: &str) -> askama::Result<Notice> {
    let page =
        format!("{base_url}/meetings/{}", meeting.number.map_or_else(|| meeting.id.to_string(), |n| n.to_string()));
    StartReminder {
        lang,
        name,
        title: &meeting.title,
        date: lang.date(meeting.starts_at),
        when: span(meeting, lang),
        place: (meeting.format != MeetingFormat::Virtual && !meeting.venue.is_empty())
            .then_some(meeting.venue.as_str()),
        joining: joining(meeting),
    }
    .notice(Some(page))
}
