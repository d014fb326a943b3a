//! Mail about a change to a meeting people are invited to: a new time or
//! place, or its cancellation (with the organisers' word, when they wrote
//! one: plain body text, never a header). Each carries the calendar entry with the same
//! UID and the raised SEQUENCE, so calendars update or withdraw the entry they
//! have. Queued in the caller's transaction, the one that makes the change.

use super::campaign::{CalendarMethod, calendar_entry};
use super::context::MailContext;
use super::notices::{Notice, To, compose_notice};
use super::words::{Words, joining, span, words};
use crate::domain::Note;
use crate::i18n::Lang;
use crate::store::WriteTx;
use crate::store::campaigns::registered_recipients;
use crate::store::meetings::Meeting;
use crate::store::outbox::enqueue_many;

/// What happened to the meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// Its time or place changed.
    Rescheduled,
    /// It is cancelled, with the organisers' note (empty for none).
    Cancelled(&'a Note),
}

/// Queues one notice of the change, with the calendar entry of `meeting` as
/// it now stands, to everyone invited who has not declined. The joining link
/// goes only to those with a seat. Returns how many were queued.
///
/// # Errors
/// The database failed or a mail could not be built.
pub async fn queue_change(
    tx: &mut WriteTx,
    ctx: &MailContext,
    meeting: &Meeting,
    change: Change<'_>,
) -> anyhow::Result<usize> {
    let recipients = registered_recipients(tx, meeting.id).await?;
    let method = match change {
        Change::Rescheduled => CalendarMethod::Request,
        Change::Cancelled(_) => CalendarMethod::Cancel,
    };
    let with_link = calendar_entry(meeting, &ctx.composer, &ctx.base_url, method, true);
    let without_link = calendar_entry(meeting, &ctx.composer, &ctx.base_url, method, false);
    let mut messages = Vec::with_capacity(recipients.len());
    for (r, seated) in &recipients {
        let lang = Lang::from_code(&r.language);
        let n = notice(meeting, change, lang, &r.name, *seated)?;
        let ics = if *seated { with_link.clone() } else { without_link.clone() };
        let to = To { person: r.person_id, email: &r.email, name: &r.name, lang };
        let kind = match change {
            Change::Rescheduled => "meeting-changed",
            Change::Cancelled(_) => "meeting-cancelled",
        };
        messages.push(compose_notice(ctx, kind, to, &n, Some(ics))?);
    }
    enqueue_many(tx, &messages).await?;
    Ok(messages.len())
}

words! {
    struct Changed<'a> in "mail/words/meeting_changed.txt" {
        lang: Lang,
        name: &'a str,
        title: &'a str,
        when: String,
        place: Option<&'a str>,
        joining: Option<&'a str>,
    }
}

words! {
    struct Cancelled<'a> in "mail/words/meeting_cancelled.txt" {
        lang: Lang,
        name: &'a str,
        title: &'a str,
        when: String,
        /// The organisers' note, one paragraph a line.
        note: Option<&'a str>,
    }
}

pub(super) fn notice(
    meeting: &Meeting,
    change: Change<'_>,
    lang: Lang,
    name: &str,
    seated: bool,
) -> askama::Result<Notice> {
    let (title, when) = (&meeting.title, span(meeting, lang));
    match change {
        Change::Rescheduled => Changed {
            lang,
            name,
            title,
            when,
            place: Some(meeting.venue.as_str()).filter(|v| !v.is_empty()),
            joining: joining(meeting).filter(|_| seated),
        }
        .notice(None),
        Change::Cancelled(note) => {
            let note = Some(note.as_str()).filter(|n| !n.is_empty());
            Cancelled { lang, name, title, when, note }.notice(None)
        }
    }
}
