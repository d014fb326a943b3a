//! Invitation campaigns: expanding one into a personal message per
//! recipient — registration, tokens and outbox rows in one transaction —
//! and composing the invitation with its calendar entry. The timer that
//! expands due campaigns is in [`crate::forum::timers`].

use anyhow::Context;
use askama::Template;

use super::context::MailContext;
use super::footer::bodies;
use super::personal::{self, MessageError, Values};
use super::recipient::{meeting_url, unsubscribe_link};
use super::{Composer, Outgoing, evaluations, report};
use crate::domain::{CampaignId, Email, MeetingFormat, PersonId, PersonStatus, RegistrationId, Token, TokenPurpose};
use crate::i18n::Lang;
use crate::store::campaigns::{Expansion, Recipient, Target, audience_members, recipient_by_id, set_total, take};
use crate::store::meetings::{Meeting, invitation_message_in};
use crate::store::outbox::enqueue_many;
use crate::store::people::{NewPerson, insert_person_if_new};
use crate::store::registrations::{insert_invited, people_with_registration};
use crate::store::tokens::{NewLinkToken, insert_link_tokens};
use crate::store::{Store, WriteTx};

/// The campaign kind of an invitation.
pub const KIND: &str = "invitation";

/// Expands campaign `id`, whose attempt has begun, in one transaction: a
/// crash on the way leaves it scheduled with nothing queued, so nobody is
/// lost or doubled. `None` when it is no longer scheduled.
///
/// # Errors
/// The database failed, or the campaign, its meeting or a message could not be built.
pub async fn expand(store: &Store, ctx: &MailContext, id: CampaignId) -> anyhow::Result<Option<usize>> {
    let mut tx = store.begin().await?;
    let Some(campaign) = take(&mut tx, id).await.context("reading the campaign")? else { return Ok(None) };
    let kind = campaign.kind.as_str();
    // Every kind there is mails about a meeting.
    let Some(id) = campaign.meeting_id else { anyhow::bail!("campaign kind {kind:?} cannot be expanded") };
    let m = &store.meeting(id).await.context("reading the campaign's meeting")?;
    let recipients = recipients(&mut tx, &campaign).await?;
    let queued = match kind {
        KIND => queue_invitations(&mut tx, ctx, &campaign, m, &recipients).await?,
        evaluations::KIND => evaluations::queue(&mut tx, ctx, &campaign, m, false).await?,
        evaluations::REMINDER_KIND => evaluations::queue(&mut tx, ctx, &campaign, m, true).await?,
        report::KIND => report::queue(&mut tx, store, ctx, &campaign, m, &recipients).await?,
        report::MATERIALS_KIND => report::queue_materials(&mut tx, ctx, &campaign, m, &recipients).await?,
        _ => anyhow::bail!("campaign kind {kind:?} cannot be expanded"),
    };
    set_total(&mut tx, campaign.id, i64::try_from(queued)?).await?;
    tx.commit().await?;
    Ok(Some(queued))
}

/// Everyone a campaign reaches, each address once: the audience's confirmed
/// members, then guests not already among them. Guests are not put on the
/// list; a guest who left the list, was erased or bounced is not written to.
async fn recipients(tx: &mut WriteTx, campaign: &Expansion) -> anyhow::Result<Vec<Recipient>> {
    recipients_of(tx, &campaign.target).await
}

async fn recipients_of(tx: &mut WriteTx, target: &Target) -> anyhow::Result<Vec<Recipient>> {
    let mut out = match &target.audience {
        Some(a) => audience_members(tx, a).await?,
        None => Vec::new(),
    };
    for g in &target.guests {
        if out.iter().any(|r| r.email == g.email)
            || crate::store::suppression::check(tx, &g.email).await? == Some(crate::domain::Suppression::Erased)
        {
            continue;
        }
        let guest = NewPerson {
            email: g.email.clone(),
            name: g.name.clone(),
            organisation: g.organisation.clone(),
            status: PersonStatus::Guest,
            interests: Vec::new(),
        };
        let (id, _) = insert_person_if_new(tx, &guest, None).await?;
        if let Some(r) = recipient_by_id(tx, id).await?
            && !matches!(r.status, PersonStatus::Unsubscribed | PersonStatus::Bounced)
        {
            out.push(r);
        }
    }
    Ok(out)
}

/// The invitation mail's fields, shared by its text and HTML bodies.
pub struct Invitation {
    pub lang: Lang,
    pub subject: String,
    pub name: String,
    pub number: Option<String>,
    pub title: String,
    pub when: String,
    pub place: String,
    pub themes: String,
    pub rsvp_url: String,
    pub meeting_url: String,
    pub unsubscribe_url: Option<String>,
    /// The organiser's personal message, rendered and safe (may be empty).
    pub message_html: String,
    /// The same message as plain text.
    pub message_text: String,
    /// The small print at its foot.
    pub footer: super::footer::Footer,
}

#[derive(Template)]
#[template(path = "mail/invitation/subject.txt", escape = "none")]
struct InvitationSubject<'a> {
    lang: Lang,
    number: Option<&'a str>,
    title: &'a str,
    test: bool,
}

bodies! {
    fn bodies_with(Invitation) in "mail/invitation/body.txt", "mail/invitation/body.html"
}

/// Queues an invitation to everyone not invited to this meeting before (by an
/// earlier campaign), so that nobody is invited twice. Registrations, tokens
/// and messages go in with multi-row inserts; returns how many were queued.
async fn queue_invitations(
    tx: &mut WriteTx,
    ctx: &MailContext,
    campaign: &Expansion,
    meeting: &Meeting,
    recipients: &[Recipient],
) -> anyhow::Result<usize> {
    let already = people_with_registration(tx, meeting.id).await?;
    let fresh: Vec<&Recipient> = recipients.iter().filter(|r| !already.contains(&r.person_id)).collect();
    let mut registrations = Vec::with_capacity(fresh.len());
    let mut tokens = Vec::with_capacity(fresh.len() * 2);
    let mut messages = Vec::with_capacity(fresh.len());
    let expires = crate::domain::link_expiry(meeting.ends_at);
    // An offer to add the meeting, never a request: thousands get it, most will not come.
    let ics = calendar_entry(meeting, &ctx.composer, &ctx.base_url, CalendarMethod::Publish, None);
    let message = invitation_message_in(tx, meeting.id).await?;
    for r in fresh {
        let registration = RegistrationId::new();
        registrations.push((registration, r.person_id));
        let rsvp = Token::generate();
        tokens.push(NewLinkToken {
            hash: rsvp.hash(),
            purpose: TokenPurpose::Rsvp,
            person: Some(r.person_id),
            registration: Some(registration),
            expires_at: Some(expires),
        });
        let unsubscribe = unsubscribe_link(ctx, r, &mut tokens);
        let letter = Letter {
            to: &r.email,
            name: &r.name,
            organisation: &r.organisation,
            lang: Lang::from_code(&r.language),
            rsvp_url: format!("{}/rsvp/{}", ctx.base_url, rsvp.expose()),
            unsubscribe_url: unsubscribe,
        };
        let m = invitation(ctx, meeting, &message, &letter, false)?;
        messages.push(compose_invitation(ctx, &m, &letter, Some(r.person_id), Some(campaign.id), KIND, &ics)?);
    }
    insert_invited(tx, meeting.id, &registrations).await?;
    insert_link_tokens(tx, &tokens).await?;
    enqueue_many(tx, &messages).await?;
    Ok(messages.len())
}

/// One person an invitation is written to.
pub struct Letter<'a> {
    pub to: &'a Email,
    pub name: &'a str,
    pub organisation: &'a str,
    pub lang: Lang,
    pub rsvp_url: String,
    pub unsubscribe_url: Option<String>,
}

/// The fields of one person's invitation, with the personal message rendered
/// for them. `test` marks the subject as a test.
///
/// # Errors
/// The personal message uses a placeholder not on the allow-list.
pub fn invitation(
    ctx: &MailContext,
    meeting: &Meeting,
    message: &str,
    letter: &Letter<'_>,
    test: bool,
) -> Result<Invitation, MessageError> {
    let lang = letter.lang;
    let number = meeting.number.map(|n| lang.meeting_number(n));
    let subject = InvitationSubject { lang, number: number.as_deref(), title: &meeting.title, test }
        .to_string()
        .trim()
        .to_owned();
    let date = lang.date(meeting.starts_at);
    let (message_html, message_text) = personal::render(
        message,
        &Values {
            name: letter.name,
            organisation: letter.organisation,
            meeting_title: &meeting.title,
            meeting_date: &date,
            rsvp_link: &letter.rsvp_url,
        },
    )?;
    Ok(Invitation {
        lang,
        subject,
        name: letter.name.to_owned(),
        number,
        title: meeting.title.clone(),
        when: format!(
            "{date}, {}–{}",
            lang.time(meeting.starts_at),
            lang.time(meeting.ends_at).trim_start_matches("kl. ")
        ),
        place: place(meeting, lang),
        themes: meeting.themes.join(", "),
        rsvp_url: letter.rsvp_url.clone(),
        meeting_url: meeting_url(meeting, &ctx.base_url),
        unsubscribe_url: letter.unsubscribe_url.clone(),
        message_html,
        message_text,
        footer: ctx.composer.footer().clone(),
    })
}

/// The invitation's text and HTML bodies.
pub fn invitation_bodies(m: &Invitation) -> askama::Result<(String, String)> {
    bodies_with(m, &m.footer)
}

/// Composes an invitation into a message for the outbox.
fn compose_invitation(
    ctx: &MailContext,
    m: &Invitation,
    letter: &Letter<'_>,
    person_id: Option<PersonId>,
    campaign_id: Option<CampaignId>,
    kind: &'static str,
    ics: &str,
) -> anyhow::Result<crate::store::outbox::NewMessage> {
    let (text, html) = invitation_bodies(m)?;
    Ok(ctx.composer.compose(&Outgoing {
        kind,
        to: letter.to,
        to_name: Some(letter.name),
        person_id,
        campaign_id,
        subject: &m.subject,
        text,
        html,
        unsubscribe_url: m.unsubscribe_url.clone(),
        ics: Some(ics.to_owned()),
    })?)
}

/// An invitation to `meeting` for the organiser's own address, marked as a
/// test in its subject and kind: it invites nobody, creates no registration
/// and carries no working answer link.
///
/// # Errors
/// The personal message is wrong or the mail could not be built.
pub fn test_invitation(
    ctx: &MailContext,
    meeting: &Meeting,
    message: &str,
    to: &Email,
    (name, organisation): (&str, &str),
    lang: Lang,
) -> anyhow::Result<crate::store::outbox::NewMessage> {
    let letter =
        Letter { to, name, organisation, lang, rsvp_url: format!("{}/rsvp/TEST", ctx.base_url), unsubscribe_url: None };
    let m = invitation(ctx, meeting, message, &letter, true)?;
    let ics = calendar_entry(meeting, &ctx.composer, &ctx.base_url, CalendarMethod::Publish, None);
    compose_invitation(ctx, &m, &letter, None, None, "invitation-test", &ics)
}

/// How many invitations a campaign to `target` would queue for `meeting`
/// now: the very expansion the runner does (deduplication, people who left
/// the list or bounced, people already invited), run in a transaction that
/// is rolled back.
pub async fn count_invitees(store: &Store, meeting: &Meeting, target: &Target) -> anyhow::Result<usize> {
    Ok(invitees(store, meeting, target).await?.len())
}

/// How many a campaign to `target` would reach now: the audience's confirmed
/// members and the guests, each address once.
pub async fn count_recipients(store: &Store, target: &Target) -> anyhow::Result<usize> {
    let mut tx = store.begin().await?;
    let found = recipients_of(&mut tx, target).await?;
    // Dropped without commit: guests looked up on the way are not kept.
    drop(tx);
    Ok(found.len())
}

/// Who a campaign to `target` would invite to `meeting` now, as
/// [`count_invitees`] counts them, ordered by address.
pub async fn invitees(store: &Store, meeting: &Meeting, target: &Target) -> anyhow::Result<Vec<Recipient>> {
    let mut tx = store.begin().await?;
    let mut found = recipients_of(&mut tx, target).await?;
    let already = people_with_registration(&mut tx, meeting.id).await?;
    // Dropped without commit: guests looked up on the way are not kept.
    drop(tx);
    found.retain(|r| !already.contains(&r.person_id));
    Ok(found)
}

/// Where the meeting is, in words.
fn place(meeting: &Meeting, lang: Lang) -> String {
    match meeting.format {
        MeetingFormat::Virtual => lang.format(MeetingFormat::Virtual).to_owned(),
        MeetingFormat::Hybrid => format!("{} ({})", meeting.venue, lang.format(MeetingFormat::Hybrid)),
        MeetingFormat::Physical => meeting.venue.clone(),
    }
}

/// What a calendar entry asks of the calendar that receives it (RFC 5546).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarMethod {
    /// Add the meeting to a seat holder's calendar, or update it when the UID
    /// is known and the SEQUENCE higher.
    Request,
    /// Take the meeting out of a calendar: it is cancelled, or the person no
    /// longer holds a seat.
    Cancel,
    /// Offer the meeting to anyone's calendar, as the public page does: no
    /// answer is asked for, and the entry has a UID of its own so that adding
    /// it never replaces the entry of an invitation (with its joining link).
    Publish,
}

impl CalendarMethod {
    /// The `METHOD` value, also the `method` parameter of the MIME type.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "REQUEST",
            Self::Cancel => "CANCEL",
            Self::Publish => "PUBLISH",
        }
    }
}

/// The time zone block for Europe/Copenhagen: CET (+0100) from the last
/// Sunday of October, CEST (+0200) from the last Sunday of March.
const COPENHAGEN_VTIMEZONE: &[&str] = &[
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Copenhagen",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
];

/// Escapes a TEXT value (RFC 5545, 3.3.11).
fn ical_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded at 75 octets without splitting a character.
fn push_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// The one person a calendar entry is for: the holder of a seat.
#[derive(Debug, Clone, Copy)]
pub struct Attendee<'a> {
    pub name: &'a str,
    pub email: &'a Email,
}

/// The UID of the entries of seat holders: one per meeting, so that an
/// update or a cancellation replaces the entry a calendar has.
#[must_use]
pub fn seat_uid(meeting: crate::domain::MeetingId, domain: &str) -> String {
    format!("meeting-{meeting}@{domain}")
}

/// A calendar entry for the meeting (iCalendar, RFC 5545; iTIP, RFC 5546):
/// the meeting's SEQUENCE, local times in Europe/Copenhagen with their
/// VTIMEZONE, the forum's monitored address ([`Composer::organizer`]) as
/// ORGANIZER.
///
/// - `Publish` (no `attendee`) offers the meeting to anyone's calendar, as
///   the invitation and the public page do: no attendee, no personal or
///   joining link, and a UID of its own so that adding it never replaces a
///   seat holder's entry.
/// - `Request` (with the seat holder as `attendee`) adds or updates the seat
///   holder's entry, naming them as the one ATTENDEE who accepted; only this
///   kind carries the online joining link.
/// - `Cancel` (with the person as `attendee`) withdraws that entry.
#[must_use]
pub fn calendar_entry(
    meeting: &Meeting,
    composer: &Composer,
    base_url: &str,
    method: CalendarMethod,
    attendee: Option<Attendee<'_>>,
) -> String {
    let organizer = composer.organizer();
    let domain = composer.from().email.domain().to_owned();
    let url = meeting_url(meeting, base_url);
    let local = |t: crate::domain::Timestamp| {
        t.to_zoned_datetime(crate::domain::copenhagen()).strftime("%Y%m%dT%H%M%S").to_string()
    };
    let attendee = attendee.filter(|_| method != CalendarMethod::Publish);
    let joining = method == CalendarMethod::Request && attendee.is_some();
    let online = joining && meeting.format != MeetingFormat::Physical && !meeting.online_url.is_empty();
    let location = match (meeting.format, online) {
        (MeetingFormat::Virtual, true) => meeting.online_url.clone(),
        (MeetingFormat::Hybrid, true) => format!("{}, {}", meeting.venue, meeting.online_url),
        _ => place(meeting, Lang::Da),
    };
    let cn = organizer.name.as_deref().unwrap_or("Dialogforum");
    let status = match method {
        CalendarMethod::Request | CalendarMethod::Publish => "CONFIRMED",
        CalendarMethod::Cancel => "CANCELLED",
    };
    let uid = match method {
        CalendarMethod::Publish => format!("meeting-{}-public@{domain}", meeting.id),
        _ => seat_uid(meeting.id, &domain),
    };
    let mut out = String::new();
    for l in ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Dialogforum//dialogforum//DA", "CALSCALE:GREGORIAN"] {
        push_line(&mut out, l);
    }
    push_line(&mut out, &format!("METHOD:{}", method.as_str()));
    for l in COPENHAGEN_VTIMEZONE {
        push_line(&mut out, l);
    }
    let mut lines = vec![
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{uid}"),
        format!("SEQUENCE:{}", meeting.ical_sequence),
        format!("DTSTAMP:{}", crate::store::now().strftime("%Y%m%dT%H%M%SZ")),
        format!("DTSTART;TZID=Europe/Copenhagen:{}", local(meeting.starts_at)),
        format!("DTEND;TZID=Europe/Copenhagen:{}", local(meeting.ends_at)),
        format!("SUMMARY:{}", ical_text(&format!("Dialogforum: {}", meeting.title))),
        format!("LOCATION:{}", ical_text(&location)),
        format!("DESCRIPTION:{}", ical_text(&url)),
        format!("URL:{url}"),
        format!("ORGANIZER;CN={}:mailto:{}", param_value(cn), organizer.email),
    ];
    if let Some(a) = attendee {
        let partstat = if method == CalendarMethod::Cancel { "DECLINED" } else { "ACCEPTED" };
        lines.push(format!(
            "ATTENDEE;CN={};ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};RSVP=TRUE:mailto:{}",
            param_value(a.name),
            a.email
        ));
    }
    lines.extend([format!("STATUS:{status}"), "END:VEVENT".to_owned(), "END:VCALENDAR".to_owned()]);
    for l in &lines {
        push_line(&mut out, l);
    }
    out
}

/// A parameter value (RFC 5545, 3.2), always quoted: a name may hold `,`,
/// `;` or `:`. A double quote cannot be written in one, and control
/// characters have no place in it, so both are left out.
fn param_value(s: &str) -> String {
    let kept: String = s.chars().filter(|c| *c != '"' && !c.is_control()).collect();
    format!("\"{kept}\"")
}

#[cfg(test)]
mod tests {
    use super::{ical_text, param_value, push_line};

    #[test]
    fn a_name_is_one_quoted_parameter_value_whatever_it_holds() {
        assert_eq!(param_value("Jensen, \"Anna\"; IT:\r\nX"), "\"Jensen, Anna; IT:X\"");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character() {
        let mut out = String::new();
        push_line(&mut out, &format!("SUMMARY:{}", "ø".repeat(60)));
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{l:?} is {} octets", l.len());
        }
        assert_eq!(out.replace("\r\n ", ""), format!("SUMMARY:{}\r\n", "ø".repeat(60)));
    }

    #[test]
    fn text_values_are_escaped() {
        assert_eq!(ical_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
