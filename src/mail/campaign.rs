//! The campaign runner: expands due campaigns into one personal message per
//! recipient — registration, tokens and outbox rows in one transaction — and
//! marks campaigns done when their last message is sent or has failed.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use askama::Template;
use jiff::SignedDuration;
use tokio::sync::{Notify, watch};

use super::Composer;
use super::compose::Outgoing;
use crate::domain::{CampaignId, MeetingFormat, PersonStatus, RegistrationId, Token, TokenPurpose};
use crate::i18n::Lang;
use crate::store::campaigns::{Expansion, Recipient, audience_members, recipient_by_id, set_total, take_due};
use crate::store::meetings::Meeting;
use crate::store::outbox::enqueue_many;
use crate::store::people::{NewPerson, insert_person_if_new};
use crate::store::registrations::{insert_invited, people_with_registration};
use crate::store::tokens::{NewLinkToken, insert_link_tokens};
use crate::store::{Store, WriteTx};

/// What rendering personal mail needs besides the store.
#[derive(Debug, Clone)]
pub struct MailContext {
    pub composer: Composer,
    /// The base URL of every link, without a trailing slash.
    pub base_url: String,
}

/// Expands campaigns as they fall due until `shutdown` turns true.
pub async fn run(
    store: Store,
    ctx: Arc<MailContext>,
    wake: Arc<Notify>,
    mail_wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            break;
        }
        loop {
            match expand_next(&store, &ctx).await {
                Ok(Some((id, n))) => {
                    tracing::info!(campaign = %id, messages = n, "campaign expanded");
                    mail_wake.notify_one();
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "campaign expansion failed; it stays scheduled");
                    break;
                }
            }
        }
        if let Err(e) = store.finish_campaigns().await {
            tracing::warn!(error = %e, "could not update campaign states");
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Expands the next due campaign, if any, in one transaction: a crash on the
/// way leaves it scheduled with nothing queued, so nobody is lost or doubled.
///
/// # Errors
/// The database failed or a message could not be built.
pub async fn expand_next(store: &Store, ctx: &MailContext) -> anyhow::Result<Option<(CampaignId, usize)>> {
    let mut tx = store.begin().await?;
    let Some(campaign) = take_due(&mut tx).await? else { return Ok(None) };
    let meeting = match campaign.meeting_id {
        Some(id) => Some(store.meeting(id).await.context("the campaign's meeting")?),
        None => None,
    };
    let recipients = recipients(&mut tx, &campaign).await?;
    let queued = match (campaign.kind.as_str(), &meeting) {
        ("invitation", Some(m)) => queue_invitations(&mut tx, ctx, &campaign, m, &recipients).await?,
        (kind, _) => anyhow::bail!("campaign kind {kind:?} cannot be expanded"),
    };
    set_total(&mut tx, campaign.id, i64::try_from(queued)?).await?;
    tx.commit().await?;
    Ok(Some((campaign.id, queued)))
}

/// Everyone a campaign reaches, each address once: the audience's confirmed
/// members, then guests not already among them. Guests are not put on the
/// list; a guest who left the list or bounced is not written to.
async fn recipients(tx: &mut WriteTx, campaign: &Expansion) -> anyhow::Result<Vec<Recipient>> {
    let mut out = match &campaign.target.audience {
        Some(a) => audience_members(tx, a).await?,
        None => Vec::new(),
    };
    for g in &campaign.target.guests {
        if out.iter().any(|r| r.email == g.email) {
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
    pub lang: &'static str,
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
}

#[derive(Template)]
#[template(path = "mail/invitation/body.txt", escape = "none")]
struct InvitationText<'a> {
    m: &'a Invitation,
}

#[derive(Template)]
#[template(path = "mail/invitation/body.html")]
struct InvitationHtml<'a> {
    m: &'a Invitation,
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
    let expires = meeting.ends_at + SignedDuration::from_hours(24 * 30);
    let ics = calendar_entry(meeting, &ctx.composer, &ctx.base_url);
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
        messages.push(invitation(ctx, campaign, meeting, r, &rsvp, unsubscribe, &ics)?);
    }
    insert_invited(tx, meeting.id, &registrations).await?;
    insert_link_tokens(tx, &tokens).await?;
    enqueue_many(tx, &messages).await?;
    Ok(messages.len())
}

/// Builds one person's invitation.
fn invitation(
    ctx: &MailContext,
    campaign: &Expansion,
    meeting: &Meeting,
    r: &Recipient,
    rsvp: &Token,
    unsubscribe_url: Option<String>,
    ics: &str,
) -> anyhow::Result<crate::store::outbox::NewMessage> {
    let lang = Lang::from_code(&r.language);
    let number = meeting.number.map(|n| lang.meeting_number(n));
    let subject = match (&number, lang) {
        (Some(n), Lang::Da) => format!("Invitation: {n} i Dialogforum – {}", meeting.title),
        (Some(n), Lang::En) => format!("Invitation: {n} of Dialogforum – {}", meeting.title),
        (None, _) => format!("Invitation: {}", meeting.title),
    };
    let m = Invitation {
        lang: lang.code(),
        subject,
        name: r.name.clone(),
        number,
        title: meeting.title.clone(),
        when: format!(
            "{}, {}–{}",
            lang.date(meeting.starts_at),
            lang.time(meeting.starts_at),
            lang.time(meeting.ends_at).trim_start_matches("kl. ")
        ),
        place: place(meeting, lang),
        themes: meeting.themes.join(", "),
        rsvp_url: format!("{}/rsvp/{}", ctx.base_url, rsvp.expose()),
        meeting_url: meeting_url(meeting, &ctx.base_url),
        unsubscribe_url,
    };
    Ok(ctx.composer.compose(&Outgoing {
        kind: "invitation",
        to: &r.email,
        to_name: Some(&r.name),
        person_id: Some(r.person_id),
        campaign_id: Some(campaign.id),
        subject: &m.subject,
        text: InvitationText { m: &m }.render()?,
        html: InvitationHtml { m: &m }.render()?,
        unsubscribe_url: m.unsubscribe_url.clone(),
        ics: Some(ics.to_owned()),
    })?)
}

/// Where the meeting is, in words.
fn place(meeting: &Meeting, lang: Lang) -> String {
    match meeting.format {
        MeetingFormat::Virtual => lang.format(MeetingFormat::Virtual).to_owned(),
        MeetingFormat::Hybrid => format!("{} ({})", meeting.venue, lang.format(MeetingFormat::Hybrid)),
        MeetingFormat::Physical => meeting.venue.clone(),
    }
}

/// The meeting's public page.
fn meeting_url(meeting: &Meeting, base_url: &str) -> String {
    format!("{base_url}/meetings/{}", meeting.number.map_or_else(|| meeting.id.to_string(), |n| n.to_string()))
}

/// A calendar entry for the meeting (iCalendar, RFC 5545), in UTC so that no
/// time zone block is needed. `METHOD:PUBLISH`: it adds the meeting to the
/// calendar; the answer goes through the personal RSVP link in the mail, so
/// the entry is the same for everyone.
#[must_use]
pub fn calendar_entry(meeting: &Meeting, composer: &Composer, base_url: &str) -> String {
    use icalendar::{Calendar, Component, Event, EventLike};
    let utc = |t: crate::domain::Timestamp| chrono::DateTime::from_timestamp(t.as_second(), 0).unwrap_or_default();
    let domain = composer.from().email.domain().to_owned();
    let url = meeting_url(meeting, base_url);
    let event = Event::new()
        .uid(&format!("meeting-{}@{domain}", meeting.id))
        .summary(&format!("Dialogforum: {}", meeting.title))
        .starts(utc(meeting.starts_at))
        .ends(utc(meeting.ends_at))
        .location(&place(meeting, Lang::Da))
        .description(&url)
        .url(&url)
        .done();
    let mut calendar = Calendar::new();
    calendar.append_property(("METHOD", "PUBLISH"));
    calendar.push(event);
    calendar.done().to_string()
}
