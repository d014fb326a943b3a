//! Mail about a change to a meeting people are invited to: a new time or
//! place, or its cancellation (with the organisers' word, when they wrote
//! one: plain body text, never a header). Only seat holders have the
//! meeting's calendar entry, so only their notice carries it, with the same
//! UID and the raised SEQUENCE, so that their calendar updates or withdraws
//! it; people invited or waiting get the news in words alone. Queued in the
//! caller's transaction, the one that makes the change.

use super::campaign::{Attendee, CalendarMethod, calendar_entry};
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

/// Queues one notice of the change to everyone invited who has not declined.
/// Those with a seat get their calendar entry of `meeting` as it now stands
/// (`METHOD:REQUEST`, or `METHOD:CANCEL` for a cancelled meeting) and the
/// joining link; the others get no calendar entry. Returns how many were queued.
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
    let mut messages = Vec::with_capacity(recipients.len());
    for (r, seated) in &recipients {
        let lang = Lang::from_code(&r.language);
        let n = notice(meeting, change, lang, &r.name, *seated)?;
        let ics = seated.then(|| {
            let attendee = Attendee { name: &r.name, email: &r.email };
            calendar_entry(meeting, &ctx.composer, &ctx.base_url, method, Some(attendee))
        });
        let to = To { person: r.person_id, email: &r.email, name: &r.name, lang };
        let kind = match change {
            Change::Rescheduled => "meeting-changed",
            Change::Cancelled(_) => "meeting-cancelled",
        };
        messages.push(compose_notice(ctx, kind, to, &n, ics)?);
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
        /// The notice carries the seat holder's updated calendar entry.
        seated: bool,
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
        /// The notice carries the withdrawal of the seat holder's calendar entry.
        seated: bool,
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
            seated,
        }
        .notice(None),
        Change::Cancelled(note) => {
            let note = Some(note.as_str()).filter(|n| !n.is_empty());
            Cancelled { lang, name, title, when, note, seated }.notice(None)
        }
    }
}
