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
use crate::domain::{CampaignId, MeetingFormat, PersonStatus, Token, TokenPurpose};
use crate::i18n::Lang;
use crate::store::campaigns::{Expansion, Recipient, audience_members, recipient_by_id, set_total, take_due};
use crate::store::meetings::Meeting;
use crate::store::outbox::enqueue;
use crate::store::people::{NewPerson, insert_person_if_new};
use crate::store::registrations::ensure_invited;
use crate::store::tokens::insert_link_token;
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
    let mut queued = 0;
    for r in &recipients {
        match (campaign.kind.as_str(), &meeting) {
            ("invitation", Some(m)) => {
                if queue_invitation(&mut tx, ctx, &campaign, m, r).await? {
                    queued += 1;
                }
            }
            (kind, _) => anyhow::bail!("campaign kind {kind:?} cannot be expanded"),
        }
    }
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

/// Queues one invitation; `false` when the person was invited to this meeting
/// before (by an earlier campaign), so that nobody is invited twice.
async fn queue_invitation(
    tx: &mut WriteTx,
    ctx: &MailContext,
    campaign: &Expansion,
    meeting: &Meeting,
    r: &Recipient,
) -> anyhow::Result<bool> {
    let lang = Lang::from_code(&r.language);
    let (registration, new) = ensure_invited(tx, meeting.id, r.person_id).await?;
    if !new {
        return Ok(false);
    }
    let rsvp = Token::generate();
    let expires = meeting.ends_at + SignedDuration::from_hours(24 * 30);
    insert_link_token(tx, &rsvp.hash(), TokenPurpose::Rsvp, Some(r.person_id), Some(registration), Some(expires))
        .await?;
    let unsubscribe = if r.status == PersonStatus::Confirmed {
        let t = Token::generate();
        insert_link_token(tx, &t.hash(), TokenPurpose::Unsubscribe, Some(r.person_id), None, None).await?;
        Some(format!("{}/unsubscribe/{}", ctx.base_url, t.expose()))
    } else {
        None
    };
    let number = meeting.number.map(|n| lang.meeting_number(n));
    let subject = match (&number, lang) {
        (Some(n), Lang::Da) => format!("Invitation: {n} i Dialogforum – {}", meeting.title),
        (Some(n), Lang::En) => format!("Invitation: {n} of Dialogforum – {}", meeting.title),
        (None, _) => format!("Invitation: {}", meeting.title),
    };
    let place = match meeting.format {
        MeetingFormat::Virtual => lang.format(MeetingFormat::Virtual).to_owned(),
        MeetingFormat::Hybrid => format!("{} ({})", meeting.venue, lang.format(MeetingFormat::Hybrid)),
        MeetingFormat::Physical => meeting.venue.clone(),
    };
    let meeting_url = format!(
        "{}/meetings/{}",
        ctx.base_url,
        meeting.number.map_or_else(|| meeting.id.to_string(), |n| n.to_string())
    );
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
        place,
        themes: meeting.themes.join(", "),
        rsvp_url: format!("{}/rsvp/{}", ctx.base_url, rsvp.expose()),
        meeting_url,
        unsubscribe_url: unsubscribe,
    };
    let ics = calendar_entry(meeting, &m, &ctx.composer);
    let message = ctx.composer.compose(&Outgoing {
        kind: "invitation",
        to: &r.email,
        to_name: Some(&r.name),
        person_id: Some(r.person_id),
        campaign_id: Some(campaign.id),
        subject: &m.subject,
        text: InvitationText { m: &m }.render()?,
        html: InvitationHtml { m: &m }.render()?,
        unsubscribe_url: m.unsubscribe_url.clone(),
        ics: Some(ics),
    })?;
    enqueue(tx, &message).await?;
    Ok(true)
}

/// A calendar entry for the meeting (iCalendar, RFC 5545), in UTC so that no
/// time zone block is needed. `METHOD:PUBLISH`: it adds the meeting to the
/// calendar; the answer goes through the RSVP link, not a calendar reply.
#[must_use]
pub fn calendar_entry(meeting: &Meeting, m: &Invitation, composer: &Composer) -> String {
    use icalendar::{Calendar, Component, Event, EventLike};
    let utc = |t: crate::domain::Timestamp| chrono::DateTime::from_timestamp(t.as_second(), 0).unwrap_or_default();
    let domain = composer.from().email.domain().to_owned();
    let event = Event::new()
        .uid(&format!("meeting-{}@{domain}", meeting.id))
        .summary(&format!("Dialogforum: {}", meeting.title))
        .starts(utc(meeting.starts_at))
        .ends(utc(meeting.ends_at))
        .location(&m.place)
        .description(&format!("{}\n{}", m.rsvp_url, m.meeting_url))
        .url(&m.meeting_url)
        .done();
    let mut calendar = Calendar::new();
    calendar.append_property(("METHOD", "PUBLISH"));
    calendar.push(event);
    calendar.done().to_string()
}
