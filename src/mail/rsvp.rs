//! Mails about a person's answer: the confirmation of every answer (with the
//! calendar entry and, for virtual meetings, the joining link when they got a
//! seat), and the news that a seat came free for someone on the waiting list.

use super::campaign::{CalendarMethod, MailContext, calendar_entry};
use super::notices::{Notice, To, queue_with};
use crate::domain::MeetingFormat;
use crate::i18n::Lang;
use crate::store::WriteTx;
use crate::store::meetings::Meeting;
use crate::store::rsvp::Seat;

fn joining(meeting: &Meeting, lang: Lang) -> Option<String> {
    (meeting.format != MeetingFormat::Physical && !meeting.online_url.is_empty()).then(|| match lang {
        Lang::Da => format!("Link til at deltage online: {}", meeting.online_url),
        Lang::En => format!("Link to join online: {}", meeting.online_url),
    })
}

/// Confirms an answer. `rsvp_url` lets the person change it.
///
/// # Errors
/// The mail could not be built or queued.
pub async fn confirm_answer(
    tx: &mut WriteTx,
    ctx: &MailContext,
    to: To<'_>,
    meeting: &Meeting,
    seat: Seat,
    rsvp_url: Option<&str>,
) -> anyhow::Result<()> {
    let lang = to.lang;
    let when = format!("{}, {}", lang.date(meeting.starts_at), lang.time(meeting.starts_at));
    let (subject, mut paragraphs) = match (seat, lang) {
        (Seat::Attending, Lang::Da) => (
            format!("Du er tilmeldt: {}", meeting.title),
            vec![format!(
                "Tak for din tilmelding til {} ({when}). Mødet er sat i din kalender med den vedhæftede fil.",
                meeting.title
            )],
        ),
        (Seat::Attending, Lang::En) => (
            format!("You are registered: {}", meeting.title),
            vec![format!(
                "Thank you for registering for {} ({when}). The attached file puts the meeting in your calendar.",
                meeting.title
            )],
        ),
        (Seat::Waitlisted { place }, Lang::Da) => (
            format!("Du er på venteliste: {}", meeting.title),
            vec![format!(
                "Mødet er fuldt. Du er nr. {place} på ventelisten og får besked, så snart der bliver en plads."
            )],
        ),
        (Seat::Waitlisted { place }, Lang::En) => (
            format!("You are on the waiting list: {}", meeting.title),
            vec![format!(
                "The meeting is full. You are number {place} on the waiting list and will hear from us as soon as a seat comes free."
            )],
        ),
        (Seat::Declined, Lang::Da) => (
            format!("Tak for dit svar: {}", meeting.title),
            vec![format!("Vi har noteret, at du ikke deltager i {} ({when}).", meeting.title)],
        ),
        (Seat::Declined, Lang::En) => (
            format!("Thank you for your answer: {}", meeting.title),
            vec![format!("We have noted that you will not attend {} ({when}).", meeting.title)],
        ),
    };
    if seat == Seat::Attending {
        paragraphs.extend(joining(meeting, lang));
    }
    let action = rsvp_url.map(|u| {
        let label = if lang == Lang::Da { "Se eller ændr dit svar" } else { "See or change your answer" };
        (label.to_owned(), u.to_owned())
    });
    let n = Notice {
        lang: lang.code(),
        subject,
        greeting: if lang == Lang::Da { format!("Kære {}", to.name) } else { format!("Dear {}", to.name) },
        paragraphs,
        action,
        footer: Vec::new(),
    };
    let ics = (seat == Seat::Attending)
        .then(|| calendar_entry(meeting, &ctx.composer, &ctx.base_url, CalendarMethod::Request, true));
    queue_with(tx, ctx, "rsvp-confirm", to, &n, ics).await
}

/// Tells someone from the waiting list that they now have a seat.
///
/// # Errors
/// The mail could not be built or queued.
pub async fn promoted(tx: &mut WriteTx, ctx: &MailContext, to: To<'_>, meeting: &Meeting) -> anyhow::Result<()> {
    let lang = to.lang;
    let when = format!("{}, {}", lang.date(meeting.starts_at), lang.time(meeting.starts_at));
    let mut paragraphs = vec![match lang {
        Lang::Da => format!("Der er blevet en plads til dig på {} ({when}). Du er nu tilmeldt.", meeting.title),
        Lang::En => format!("A seat has come free for you at {} ({when}). You are now registered.", meeting.title),
    }];
    paragraphs.extend(joining(meeting, lang));
    let n = Notice {
        lang: lang.code(),
        subject: match lang {
            Lang::Da => format!("Du har fået en plads: {}", meeting.title),
            Lang::En => format!("You have a seat: {}", meeting.title),
        },
        greeting: if lang == Lang::Da { format!("Kære {}", to.name) } else { format!("Dear {}", to.name) },
        paragraphs,
        action: None,
        footer: Vec::new(),
    };
    let ics = calendar_entry(meeting, &ctx.composer, &ctx.base_url, CalendarMethod::Request, true);
    queue_with(tx, ctx, "rsvp-promoted", to, &n, Some(ics)).await
}

/// Invites a colleague to whom an invitation was passed on, with their own link.
///
/// # Errors
/// The mail could not be built or queued.
pub async fn colleague_invitation(
    tx: &mut WriteTx,
    ctx: &MailContext,
    to: To<'_>,
    meeting: &Meeting,
    from_name: &str,
    rsvp_url: &str,
) -> anyhow::Result<()> {
    let lang = to.lang;
    let when = format!("{}, {}", lang.date(meeting.starts_at), lang.time(meeting.starts_at));
    let n = Notice {
        lang: lang.code(),
        subject: format!("Invitation: {}", meeting.title),
        greeting: if lang == Lang::Da { format!("Kære {}", to.name) } else { format!("Dear {}", to.name) },
        paragraphs: vec![match lang {
            Lang::Da => format!(
                "{from_name} har givet sin invitation til Dialogforum videre til dig: {} ({when}). Svar venligst via knappen.",
                meeting.title
            ),
            Lang::En => format!(
                "{from_name} has passed their invitation to Dialogforum on to you: {} ({when}). Please answer with the button.",
                meeting.title
            ),
        }],
        action: Some((
            if lang == Lang::Da { "Svar på invitationen" } else { "Answer the invitation" }.to_owned(),
            rsvp_url.to_owned(),
        )),
        footer: Vec::new(),
    };
    // An invitation: no joining link until they have a seat.
    let ics = calendar_entry(meeting, &ctx.composer, &ctx.base_url, CalendarMethod::Request, false);
    queue_with(tx, ctx, "invitation", to, &n, Some(ics)).await
}
