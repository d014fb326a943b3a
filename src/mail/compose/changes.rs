//! Mail about a change to a meeting people are invited to: a new time or
//! place, or its cancellation. Each carries the calendar entry with the same
//! UID and the raised SEQUENCE, so calendars update or withdraw the entry they
//! have. Queued in the caller's transaction, the one that makes the change.

use super::campaign::{CalendarMethod, calendar_entry};
use super::context::MailContext;
use super::notices::{Notice, To, compose_notice};
use crate::i18n::Lang;
use crate::store::WriteTx;
use crate::store::campaigns::registered_recipients;
use crate::store::meetings::Meeting;
use crate::store::outbox::enqueue_many;

/// What happened to the meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Its time or place changed.
    Rescheduled,
    /// It is cancelled.
    Cancelled,
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
    change: Change,
) -> anyhow::Result<usize> {
    let recipients = registered_recipients(tx, meeting.id).await?;
    let method = match change {
        Change::Rescheduled => CalendarMethod::Request,
        Change::Cancelled => CalendarMethod::Cancel,
    };
    let with_link = calendar_entry(meeting, &ctx.composer, &ctx.base_url, method, true);
    let without_link = calendar_entry(meeting, &ctx.composer, &ctx.base_url, method, false);
    let mut messages = Vec::with_capacity(recipients.len());
    for (r, seated) in &recipients {
        let lang = Lang::from_code(&r.language);
        let n = notice(meeting, change, lang, &r.name, *seated);
        let ics = if *seated { with_link.clone() } else { without_link.clone() };
        let to = To { person: r.person_id, email: &r.email, name: &r.name, lang };
        let kind = match change {
            Change::Rescheduled => "meeting-changed",
            Change::Cancelled => "meeting-cancelled",
        };
        messages.push(compose_notice(ctx, kind, to, &n, Some(ics))?);
    }
    enqueue_many(tx, &messages).await?;
    Ok(messages.len())
}

pub(super) fn notice(meeting: &Meeting, change: Change, lang: Lang, name: &str, seated: bool) -> Notice {
    let when = format!(
        "{}, {}–{}",
        lang.date(meeting.starts_at),
        lang.time(meeting.starts_at),
        lang.time(meeting.ends_at).trim_start_matches("kl. ")
    );
    let place = if meeting.venue.is_empty() { None } else { Some(meeting.venue.as_str()) };
    let title = &meeting.title;
    let (subject, mut paragraphs) = match (change, lang) {
        (Change::Rescheduled, Lang::Da) => (
            format!("Ændret: {title}"),
            vec![
                format!("{title} er ændret. Mødet holdes nu {when}."),
                "Den vedhæftede fil opdaterer din kalender.".to_owned(),
            ],
        ),
        (Change::Rescheduled, Lang::En) => (
            format!("Changed: {title}"),
            vec![
                format!("{title} has changed. The meeting is now on {when}."),
                "The attached file updates your calendar.".to_owned(),
            ],
        ),
        (Change::Cancelled, Lang::Da) => (
            format!("Aflyst: {title}"),
            vec![
                format!("Vi må desværre aflyse {title} ({when})."),
                "Den vedhæftede fil fjerner mødet fra din kalender.".to_owned(),
            ],
        ),
        (Change::Cancelled, Lang::En) => (
            format!("Cancelled: {title}"),
            vec![
                format!("We are sorry to cancel {title} ({when})."),
                "The attached file takes the meeting out of your calendar.".to_owned(),
            ],
        ),
    };
    if change == Change::Rescheduled {
        if let Some(p) = place {
            paragraphs.insert(1, if lang == Lang::Da { format!("Sted: {p}") } else { format!("Place: {p}") });
        }
        if seated && !meeting.online_url.is_empty() && meeting.format != crate::domain::MeetingFormat::Physical {
            paragraphs.push(match lang {
                Lang::Da => format!("Link til at deltage online: {}", meeting.online_url),
                Lang::En => format!("Link to join online: {}", meeting.online_url),
            });
        }
    }
    Notice {
        lang: lang.code(),
        subject,
        greeting: if lang == Lang::Da { format!("Kære {name}") } else { format!("Dear {name}") },
        paragraphs,
        action: None,
        footer: Vec::new(),
    }
}
