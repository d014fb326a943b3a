//! What every mailing's message to one person needs, whatever the mailing:
//! the message itself, the member's one-click leave link and the meeting's
//! public page. Invitations, evaluations and reports build on these.

use super::Outgoing;
use super::context::MailContext;
use crate::domain::{CampaignId, PersonStatus, Token, TokenPurpose};
use crate::store::campaigns::Recipient;
use crate::store::meetings::Meeting;
use crate::store::tokens::NewLinkToken;

/// One message of a mailing to `r`, with the rendered text and HTML bodies
/// and, for a member on the list, the leave link.
pub(super) fn to_recipient(
    ctx: &MailContext,
    (kind, campaign): (&'static str, CampaignId),
    r: &Recipient,
    subject: &str,
    (text, html): (String, String),
    unsubscribe_url: Option<String>,
) -> anyhow::Result<crate::store::outbox::NewMessage> {
    Ok(ctx.composer.compose(&Outgoing {
        kind,
        to: &r.email,
        to_name: Some(&r.name),
        person_id: Some(r.person_id),
        campaign_id: Some(campaign),
        subject,
        text,
        html,
        unsubscribe_url,
        ics: None,
    })?)
}

/// The one-click leave link of a member on the list (none for a guest or
/// someone who left), with its token added to `tokens` for the caller to store.
pub(super) fn unsubscribe_link(ctx: &MailContext, r: &Recipient, tokens: &mut Vec<NewLinkToken>) -> Option<String> {
    (r.status == PersonStatus::Confirmed).then(|| {
        let t = Token::generate();
        tokens.push(NewLinkToken {
            hash: t.hash(),
            purpose: TokenPurpose::Unsubscribe,
            person: Some(r.person_id),
            registration: None,
            expires_at: None,
        });
        format!("{}/unsubscribe/{}", ctx.base_url, t.expose())
    })
}

/// The meeting's public page.
pub(super) fn meeting_url(meeting: &Meeting, base_url: &str) -> String {
    format!("{base_url}/meetings/{}", meeting.number.map_or_else(|| meeting.id.to_string(), |n| n.to_string()))
}
