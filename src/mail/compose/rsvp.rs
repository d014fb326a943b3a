//! Mails about a person's answer: the confirmation of every answer (with the
//! calendar entry and, for virtual meetings, the joining link when they got a
//! seat), the news that a seat came free for someone on the waiting list, and
//! the two mails of an invitation passed on to a colleague. Mail that gives a
//! seat at a meeting with a door carries a QR code with the person's check-in
//! link for the organisers there.

use askama::Template;

use super::campaign::{Attendee, CalendarMethod, calendar_entry};
use super::context::MailContext;
use super::notices::{Notice, To, compose_notice, queue_with};
use super::words::{Words, joining, start, words};
use super::{InlineImage, Outgoing};
use crate::domain::{MeetingFormat, RegistrationId, WaitReason};
use crate::i18n::{Lang, texts};
use crate::store::WriteTx;
use crate::store::meetings::Meeting;
use crate::store::outbox::{NewMessage, enqueue};
use crate::store::rsvp::Seat;

/// Pixels per QR module; with the quiet zone a typical link gives an image of about 250 pixels.
const QR_SCALE: usize = 5;
/// The blank margin the QR standard asks for, in modules.
const QR_QUIET_ZONE: usize = 4;

texts! {
    /// The words beside the check-in QR code.
    struct CheckinTexts {
        caption => "Vis denne QR-kode ved indgangen, så tjekker vi dig hurtigt ind:",
            "Show this QR code at the entrance and we will check you in quickly:";
        alt => "QR-kode til indtjekning", "QR code for check-in";
    }
}

/// The check-in link of one registration, shown as a QR code and as text.
struct Checkin {
    url: String,
    content_id: String,
    caption: &'static str,
    alt: &'static str,
    size: usize,
}

#[derive(Template)]
#[template(path = "mail/rsvp/body.txt", escape = "none")]
struct SeatText<'a> {
    m: &'a Notice,
    c: &'a Checkin,
    f: &'a super::footer::Footer,
}

#[derive(Template)]
#[template(path = "mail/rsvp/body.html")]
struct SeatHtml<'a> {
    m: &'a Notice,
    c: &'a Checkin,
    f: &'a super::footer::Footer,
}

/// The page an organiser opens at the door to check `registration` in.
#[must_use]
pub fn checkin_url(base_url: &str, meeting: &Meeting, registration: RegistrationId) -> String {
    format!("{base_url}/admin/meetings/{}/checkin/{registration}", meeting.id)
}

/// `text` as a QR code in a greyscale PNG, black on white with a quiet zone;
/// returns the image and its width (= height) in pixels.
///
/// # Errors
/// The text is too long for a QR code, or the PNG could not be written.
pub fn qr_png(text: &str) -> anyhow::Result<(Vec<u8>, usize)> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| anyhow::anyhow!("QR code: {e}"))?;
    let modules = code.width();
    let side = (modules + 2 * QR_QUIET_ZONE) * QR_SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, colour) in code.to_colors().into_iter().enumerate() {
        if colour == qrcode::Color::Dark {
            let (x, y) = ((i % modules + QR_QUIET_ZONE) * QR_SCALE, (i / modules + QR_QUIET_ZONE) * QR_SCALE);
            for row in y..y + QR_SCALE {
                pixels[row * side + x..row * side + x + QR_SCALE].fill(0);
            }
        }
    }
    let px = u32::try_from(side)?;
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, px, px);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok((png, side))
}

/// Builds a mail that gives a seat: the notice with the check-in QR code
/// shown inline and the link beside it, and the calendar entry attached.
fn compose_with_checkin(
    ctx: &MailContext,
    kind: &'static str,
    to: To<'_>,
    n: &Notice,
    ics: String,
    url: String,
) -> anyhow::Result<NewMessage> {
    let (png, size) = qr_png(&url)?;
    let id_domain = ctx.composer.from().email.domain().to_owned();
    let c = Checkin {
        url,
        content_id: format!("checkin-{}@{id_domain}", uuid::Uuid::new_v4().simple()),
        caption: CheckinTexts::get(to.lang).caption,
        alt: CheckinTexts::get(to.lang).alt,
        size,
    };
    Ok(ctx.composer.compose_with_image(
        &Outgoing {
            kind,
            to: to.email,
            to_name: Some(to.name).filter(|n| !n.is_empty()),
            person_id: Some(to.person),
            campaign_id: None,
            subject: &n.subject,
            text: SeatText { m: n, c: &c, f: ctx.composer.footer() }.render()?,
            html: SeatHtml { m: n, c: &c, f: ctx.composer.footer() }.render()?,
            unsubscribe_url: None,
            ics: Some(ics),
        },
        &InlineImage { content_id: c.content_id.clone(), png },
    )?)
}

/// The person a notice goes to, as the ATTENDEE of their calendar entry.
fn attendee(to: To<'_>) -> Attendee<'_> {
    Attendee { name: to.name, email: to.email }
}

/// The withdrawal of the calendar entry of `to`, who no longer holds a seat.
#[must_use]
pub fn cancellation(ctx: &MailContext, to: To<'_>, meeting: &Meeting) -> String {
    calendar_entry(meeting, &ctx.composer, &ctx.base_url, CalendarMethod::Cancel, Some(attendee(to)))
}

/// A mail that gives a seat: the calendar entry with the joining link, and
/// for a meeting with a door (physical or hybrid) the check-in code; a
/// virtual meeting has no entrance to show a code at.
fn seat_mail(
    ctx: &MailContext,
    kind: &'static str,
    to: To<'_>,
    meeting: &Meeting,
    registration: RegistrationId,
    n: &Notice,
) -> anyhow::Result<NewMessage> {
    let ics = calendar_entry(meeting, &ctx.composer, &ctx.base_url, CalendarMethod::Request, Some(attendee(to)));
    if meeting.format == MeetingFormat::Virtual {
        return compose_notice(ctx, kind, to, n, Some(ics));
    }
    compose_with_checkin(ctx, kind, to, n, ics, checkin_url(&ctx.base_url, meeting, registration))
}

/// Confirms an answer to `registration`. `rsvp_url` lets the person change it.
///
/// # Errors
/// The mail could not be built or queued.
pub async fn confirm_answer(
    tx: &mut WriteTx,
    ctx: &MailContext,
    to: To<'_>,
    meeting: &Meeting,
    registration: RegistrationId,
    seat: Seat,
    rsvp_url: Option<&str>,
) -> anyhow::Result<()> {
    enqueue(tx, &confirmation(ctx, to, meeting, registration, seat, rsvp_url, false)?).await?;
    Ok(())
}

/// The confirmation of an answer, built but not queued (for callers that queue many at once).
/// A seat comes with the seat holder's calendar entry (`METHOD:REQUEST`); a
/// person who `held_seat` before and has none now gets its withdrawal
/// (`METHOD:CANCEL`); anyone else no calendar entry.
///
/// # Errors
/// The mail could not be built.
pub fn confirmation(
    ctx: &MailContext,
    to: To<'_>,
    meeting: &Meeting,
    registration: RegistrationId,
    seat: Seat,
    rsvp_url: Option<&str>,
    held_seat: bool,
) -> anyhow::Result<NewMessage> {
    let n = confirmation_notice(meeting, to.lang, to.name, seat, rsvp_url)?;
    seat_or_notice(ctx, "rsvp-confirm", to, meeting, registration, seat, held_seat, &n)
}

/// Notice `n` about `seat`: a seat's mail for a seat ([`seat_mail`]);
/// otherwise the plain notice, with the withdrawal of the calendar entry of
/// one who `held_seat` before.
#[allow(clippy::too_many_arguments)]
fn seat_or_notice(
    ctx: &MailContext,
    kind: &'static str,
    to: To<'_>,
    meeting: &Meeting,
    registration: RegistrationId,
    seat: Seat,
    held_seat: bool,
    n: &Notice,
) -> anyhow::Result<NewMessage> {
    if seat == Seat::Attending {
        return seat_mail(ctx, kind, to, meeting, registration, n);
    }
    let ics = held_seat.then(|| cancellation(ctx, to, meeting));
    compose_notice(ctx, kind, to, n, ics)
}

words! {
    struct Confirmation<'a> in "mail/words/rsvp_confirm.txt" {
        lang: Lang,
        name: &'a str,
        title: &'a str,
        when: String,
        seat: Seat,
        joining: Option<&'a str>,
    }
}

pub(super) fn confirmation_notice(
    meeting: &Meeting,
    lang: Lang,
    name: &str,
    seat: Seat,
    rsvp_url: Option<&str>,
) -> askama::Result<Notice> {
    Confirmation {
        lang,
        name,
        title: &meeting.title,
        when: start(meeting, lang),
        seat,
        joining: joining(meeting).filter(|_| seat == Seat::Attending),
    }
    .notice(rsvp_url.map(str::to_owned))
}

/// The news of a seat from the waiting list, built but not queued.
///
/// # Errors
/// The mail could not be built.
pub fn promotion(
    ctx: &MailContext,
    to: To<'_>,
    meeting: &Meeting,
    registration: RegistrationId,
) -> anyhow::Result<NewMessage> {
    let n = promotion_notice(meeting, to.lang, to.name)?;
    seat_mail(ctx, "rsvp-promoted", to, meeting, registration, &n)
}

words! {
    struct Promotion<'a> in "mail/words/rsvp_promoted.txt" {
        lang: Lang,
        name: &'a str,
        title: &'a str,
        when: String,
        joining: Option<&'a str>,
    }
}

pub(super) fn promotion_notice(meeting: &Meeting, lang: Lang, name: &str) -> askama::Result<Notice> {
    Promotion { lang, name, title: &meeting.title, when: start(meeting, lang), joining: joining(meeting) }.notice(None)
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
    let n = colleague_notice(meeting, to.lang, to.name, from_name, rsvp_url)?;
    // An invitation: an offer to add the meeting, no joining link until they have a seat.
    let ics = calendar_entry(meeting, &ctx.composer, &ctx.base_url, CalendarMethod::Publish, None);
    queue_with(tx, ctx, "invitation", to, &n, Some(ics)).await
}

words! {
    struct Colleague<'a> in "mail/words/colleague_invitation.txt" {
        lang: Lang,
        name: &'a str,
        from_name: &'a str,
        title: &'a str,
        when: String,
    }
}

pub(super) fn colleague_notice(
    meeting: &Meeting,
    lang: Lang,
    name: &str,
    from_name: &str,
    rsvp_url: &str,
) -> askama::Result<Notice> {
    Colleague { lang, name, from_name, title: &meeting.title, when: start(meeting, lang) }
        .notice(Some(rsvp_url.to_owned()))
}

/// Tells a colleague that a seat, or a place on the waiting list, was passed
/// on to them, with their own link to answer no; a seat comes with the
/// calendar entry and the check-in code as any seat does.
///
/// # Errors
/// The mail could not be built or queued.
#[allow(clippy::too_many_arguments)]
pub async fn passed_to(
    tx: &mut WriteTx,
    ctx: &MailContext,
    to: To<'_>,
    meeting: &Meeting,
    registration: RegistrationId,
    seat: Seat,
    from_name: &str,
    rsvp_url: &str,
) -> anyhow::Result<()> {
    let n = PassedTo {
        lang: to.lang,
        name: to.name,
        from_name,
        title: &meeting.title,
        when: start(meeting, to.lang),
        seat,
        joining: joining(meeting).filter(|_| seat == Seat::Attending),
    }
    .notice(Some(rsvp_url.to_owned()))?;
    let message = seat_or_notice(ctx, "rsvp-passed-to", to, meeting, registration, seat, false, &n)?;
    enqueue(tx, &message).await?;
    Ok(())
}

words! {
    struct PassedTo<'a> in "mail/words/rsvp_passed_to.txt" {
        lang: Lang,
        name: &'a str,
        from_name: &'a str,
        title: &'a str,
        when: String,
        seat: Seat,
        joining: Option<&'a str>,
    }
}

/// Confirms to the person who passed their invitation on that it went to
/// `colleague`, with the withdrawal of their calendar entry when they
/// `held_seat`.
///
/// # Errors
/// The mail could not be built or queued.
pub async fn passed_from(
    tx: &mut WriteTx,
    ctx: &MailContext,
    to: To<'_>,
    meeting: &Meeting,
    colleague: &str,
    moved: bool,
    held_seat: bool,
) -> anyhow::Result<()> {
    let n = PassedFrom {
        lang: to.lang,
        name: to.name,
        colleague,
        title: &meeting.title,
        when: start(meeting, to.lang),
        moved,
        held_seat,
    }
    .notice(None)?;
    let ics = held_seat.then(|| cancellation(ctx, to, meeting));
    queue_with(tx, ctx, "rsvp-passed-from", to, &n, ics).await
}

words! {
    struct PassedFrom<'a> in "mail/words/rsvp_passed_from.txt" {
        lang: Lang,
        name: &'a str,
        colleague: &'a str,
        title: &'a str,
        when: String,
        moved: bool,
        held_seat: bool,
    }
}
