//! A short message from the organisers to one group of a meeting's people —
//! those with a seat, the waiting list, or those invited who have not
//! answered — one personal mail each. The message is plain body text: line
//! breaks make paragraphs, and nothing of it reaches a header.

use super::context::MailContext;
use super::notices::{Notice, To, compose_notice};
use super::words::{Words, start, words};
use crate::domain::Note;
use crate::i18n::Lang;
use crate::store::meetings::Meeting;
use crate::store::outbox::NewMessage;

/// Which of a meeting's people a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Those with a seat.
    Attending,
    /// Those on the waiting list.
    Waitlisted,
    /// Those invited who have not answered.
    NotAnswered,
}

words! {
    struct Message<'a> in "mail/words/meeting_message.txt" {
        lang: Lang,
        name: &'a str,
        title: &'a str,
        when: String,
        audience: Audience,
        /// The organisers' message, one paragraph a line.
        note: &'a str,
    }
}

pub(super) fn notice(
    meeting: &Meeting,
    audience: Audience,
    note: &Note,
    lang: Lang,
    name: &str,
) -> askama::Result<Notice> {
    Message { lang, name, title: &meeting.title, when: start(meeting, lang), audience, note: note.as_str() }
        .notice(None)
}

/// The message `note` about `meeting` to one person of `audience`, built but not queued.
pub fn meeting_message(
    ctx: &MailContext,
    to: To<'_>,
    meeting: &Meeting,
    audience: Audience,
    note: &Note,
) -> anyhow::Result<NewMessage> {
    let n = notice(meeting, audience, note, to.lang, to.name)?;
    compose_notice(ctx, "meeting-message", to, &n, None)
}
