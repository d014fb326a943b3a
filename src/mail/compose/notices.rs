//! Single mails to one person: sign-up confirmation, "you are already on the
//! list", profile links, fresh links to answer an invitation or an evaluation,
//! leave confirmations. Each is queued in the outbox in
//! the caller's transaction; its words are in `templates/mail/words/`.

use askama::Template;
use jiff::SignedDuration;

use super::Outgoing;
use super::context::MailContext;
use super::footer::Footer;
pub use super::words::Notice;
use super::words::{Words, words};
use crate::domain::{Email, PersonId, Token, TokenPurpose};
use crate::i18n::Lang;
use crate::store::WriteTx;
use crate::store::outbox::enqueue;
use crate::store::tokens::insert_link_token;

#[derive(Template)]
#[template(path = "mail/notice/body.txt", escape = "none")]
struct NoticeText<'a> {
    m: &'a Notice,
    f: &'a Footer,
}

#[derive(Template)]
#[template(path = "mail/notice/body.html")]
struct NoticeHtml<'a> {
    m: &'a Notice,
    f: &'a Footer,
}

/// Who a notice goes to.
#[derive(Debug, Clone, Copy)]
pub struct To<'a> {
    pub person: PersonId,
    pub email: &'a Email,
    /// The person's name, for the To header; empty for none. Sign-up mails
    /// leave it out, since a name typed into a form can carry a link.
    pub name: &'a str,
    pub lang: Lang,
}

/// Queues a notice, with a calendar entry attached when `ics` is given.
pub(crate) async fn queue_with(
    tx: &mut WriteTx,
    ctx: &MailContext,
    kind: &'static str,
    to: To<'_>,
    n: &Notice,
    ics: Option<String>,
) -> anyhow::Result<()> {
    let message = compose_notice(ctx, kind, to, n, ics)?;
    enqueue(tx, &message).await?;
    Ok(())
}

/// Builds a notice without queueing it, for callers that queue many at once.
pub(crate) fn compose_notice(
    ctx: &MailContext,
    kind: &'static str,
    to: To<'_>,
    n: &Notice,
    ics: Option<String>,
) -> anyhow::Result<crate::store::outbox::NewMessage> {
    Ok(ctx.composer.compose(&Outgoing {
        kind,
        to: to.email,
        to_name: Some(to.name).filter(|n| !n.is_empty()),
        person_id: Some(to.person),
        campaign_id: None,
        subject: &n.subject,
        text: NoticeText { m: n, f: ctx.composer.footer() }.render()?,
        html: NoticeHtml { m: n, f: ctx.composer.footer() }.render()?,
        unsubscribe_url: None,
        ics,
    })?)
}

async fn queue(tx: &mut WriteTx, ctx: &MailContext, kind: &'static str, to: To<'_>, n: &Notice) -> anyhow::Result<()> {
    queue_with(tx, ctx, kind, to, n, None).await
}

async fn link(
    tx: &mut WriteTx,
    ctx: &MailContext,
    purpose: TokenPurpose,
    person: PersonId,
    ttl: Option<SignedDuration>,
) -> anyhow::Result<String> {
    Ok(link_and_token(tx, ctx, purpose, person, ttl).await?.0)
}

/// [`link`], and the hash of the token in it.
async fn link_and_token(
    tx: &mut WriteTx,
    ctx: &MailContext,
    purpose: TokenPurpose,
    person: PersonId,
    ttl: Option<SignedDuration>,
) -> anyhow::Result<(String, crate::domain::TokenHash)> {
    let token = Token::generate();
    let expires = ttl.map(|d| crate::store::now() + d);
    insert_link_token(tx, &token.hash(), purpose, Some(person), None, expires).await?;
    let path = match purpose {
        TokenPurpose::Confirm => "confirm",
        TokenPurpose::Profile => "me",
        TokenPurpose::Unsubscribe => "unsubscribe",
        TokenPurpose::Rsvp => "rsvp",
        TokenPurpose::Evaluation => "evaluation",
    };
    Ok((format!("{}/{path}/{}", ctx.base_url, token.expose()), token.hash()))
}

/// Asks for the confirmation of sign-up `request`. The link opens a page with
/// a button; only the button confirms, so mail scanners that fetch links
/// confirm nothing.
pub async fn confirm_signup(
    tx: &mut WriteTx,
    ctx: &MailContext,
    to: To<'_>,
    request: uuid::Uuid,
    ttl: SignedDuration,
) -> anyhow::Result<()> {
    let (url, hash) = link_and_token(tx, ctx, TokenPurpose::Confirm, to.person, Some(ttl)).await?;
    crate::store::subscriptions::attach_token(tx, request, &hash).await?;
    let n = confirm_signup_notice(to.lang, url, ttl.as_hours() / 24)?;
    // The name was typed by whoever filled in the form: it stays out of the
    // mail entirely, headers included, so a "name" with a link in it reaches nobody.
    queue(tx, ctx, "confirm", To { name: "", ..to }, &n).await
}

words! {
    struct SignupConfirm in "mail/words/signup_confirm.txt" { lang: Lang, days: i64 }
}

pub(super) fn confirm_signup_notice(lang: Lang, url: String, days: i64) -> askama::Result<Notice> {
    SignupConfirm { lang, days }.notice(Some(url))
}

/// Tells someone already on the list so, with a link to their profile.
pub async fn already_subscribed(
    tx: &mut WriteTx,
    ctx: &MailContext,
    to: To<'_>,
    ttl: SignedDuration,
) -> anyhow::Result<()> {
    let url = link(tx, ctx, TokenPurpose::Profile, to.person, Some(ttl)).await?;
    let n = already_subscribed_notice(to.lang, url)?;
    queue(tx, ctx, "already-subscribed", To { name: "", ..to }, &n).await
}

words! {
    struct SignupAlready in "mail/words/signup_already.txt" { lang: Lang }
}

pub(super) fn already_subscribed_notice(lang: Lang, url: String) -> askama::Result<Notice> {
    SignupAlready { lang }.notice(Some(url))
}

/// Sends a link to the person's own profile page.
pub async fn profile_link(tx: &mut WriteTx, ctx: &MailContext, to: To<'_>, ttl: SignedDuration) -> anyhow::Result<()> {
    let url = link(tx, ctx, TokenPurpose::Profile, to.person, Some(ttl)).await?;
    queue(tx, ctx, "profile-link", to, &profile_link_notice(to.lang, url)?).await
}

words! {
    struct ProfileLink in "mail/words/profile_link.txt" { lang: Lang }
}

pub(super) fn profile_link_notice(lang: Lang, url: String) -> askama::Result<Notice> {
    ProfileLink { lang }.notice(Some(url))
}

/// Asks someone who wrote to the leave address (or "afmeld" to the join
/// address) to confirm that they want to leave, with a fresh unsubscribe link.
/// The link opens a page with a button, and only the button takes them off the
/// list: the sender of a mail can be forged, a click in their inbox cannot.
pub async fn confirm_leave(tx: &mut WriteTx, ctx: &MailContext, to: To<'_>, ttl: SignedDuration) -> anyhow::Result<()> {
    let url = link(tx, ctx, TokenPurpose::Unsubscribe, to.person, Some(ttl)).await?;
    queue(tx, ctx, "leave-confirm", to, &confirm_leave_notice(to.lang, url, ttl.as_hours() / 24)?).await
}

words! {
    struct LeaveConfirm in "mail/words/leave_confirm.txt" { lang: Lang, days: i64 }
}

pub(super) fn confirm_leave_notice(lang: Lang, url: String, days: i64) -> askama::Result<Notice> {
    LeaveConfirm { lang, days }.notice(Some(url))
}

/// Records a sign-up request (web or mail) and, in the same transaction,
/// queues the confirmation — or "you are already on the list" for a confirmed
/// person — at most `per_day` such mails to one address in 24 hours, and
/// audits the request. Returns whether a mail was queued; callers answer the
/// same either way, so nothing is revealed about the address.
pub async fn answer_signup(
    tx: &mut WriteTx,
    ctx: &MailContext,
    signup: &crate::store::subscriptions::Signup,
    lang: Lang,
    per_day: u32,
    ttl: SignedDuration,
) -> anyhow::Result<bool> {
    use crate::domain::PersonStatus;
    use crate::store::audit::{self, Actor, Entry};
    use crate::store::subscriptions::{self, SignupOutcome};
    let outcome = subscriptions::request(tx, signup).await?;
    let person = outcome.person();
    let day_ago = crate::store::now() - SignedDuration::from_hours(24);
    let queue = match outcome {
        // A bounced address stays suppressed; it may get one confirmation
        // since it bounced, in case the mailbox works again.
        SignupOutcome::Pending { status: PersonStatus::Bounced, .. } => {
            let bounced_at = subscriptions::status_since(tx, person).await?;
            subscriptions::mails_since(tx, &signup.email, "confirm", bounced_at).await? == 0
        }
        SignupOutcome::Pending { .. } => {
            subscriptions::mails_since(tx, &signup.email, "confirm", day_ago).await? < i64::from(per_day)
        }
        SignupOutcome::AlreadyConfirmed(_) => {
            subscriptions::mails_since(tx, &signup.email, "already-subscribed", day_ago).await? < i64::from(per_day)
        }
    };
    if queue {
        let to = To { person, email: &signup.email, name: signup.name.as_str(), lang };
        match outcome {
            SignupOutcome::Pending { request, .. } => confirm_signup(tx, ctx, to, request, ttl).await?,
            SignupOutcome::AlreadyConfirmed(_) => already_subscribed(tx, ctx, to, ttl).await?,
        }
    } else {
        tracing::info!(to = %signup.email.masked(), "no more confirmation mails to this address for now");
    }
    let entry = Entry {
        action: "person.signup",
        subject_kind: "person",
        subject_id: Some(person.uuid()),
        detail: signup.consent.method,
        row_count: None,
    };
    audit::record(tx, &Actor::Person(person.uuid()), &entry).await?;
    Ok(queue)
}

/// Tells the owner of organiser account `email` that someone has tried
/// `failures` wrong passwords on it within `window_minutes`, and what the
/// service does about it. Organisers work in Danish; the mail is in Danish.
pub async fn failed_logins(
    tx: &mut WriteTx,
    ctx: &MailContext,
    email: &Email,
    failures: i64,
    window_minutes: u64,
) -> anyhow::Result<()> {
    let n = login_warning_notice(&ctx.base_url, failures, window_minutes)?;
    let message = ctx.composer.compose(&Outgoing {
        kind: "login-warning",
        to: email,
        to_name: None,
        person_id: None,
        campaign_id: None,
        subject: &n.subject,
        text: NoticeText { m: &n, f: ctx.composer.footer() }.render()?,
        html: NoticeHtml { m: &n, f: ctx.composer.footer() }.render()?,
        unsubscribe_url: None,
        ics: None,
    })?;
    enqueue(tx, &message).await?;
    Ok(())
}

words! {
    struct LoginWarning in "mail/words/login_warning.txt" { lang: Lang, failures: i64, window_minutes: u64 }
}

pub(super) fn login_warning_notice(base_url: &str, failures: i64, window_minutes: u64) -> askama::Result<Notice> {
    LoginWarning { lang: Lang::Da, failures, window_minutes }.notice(Some(format!("{base_url}/login")))
}

/// Sends a fresh personal link (`url`) to answer `meeting`'s invitation, or
/// its evaluation when `evaluation`, asked for from the page of a link that
/// did not work. Kind `rsvp-link` or `evaluation-link`.
pub async fn fresh_link(
    tx: &mut WriteTx,
    ctx: &MailContext,
    to: To<'_>,
    meeting: &crate::store::meetings::Meeting,
    evaluation: bool,
    url: String,
) -> anyhow::Result<()> {
    let n = fresh_link_notice(meeting, to.lang, to.name, evaluation, url)?;
    queue(tx, ctx, if evaluation { "evaluation-link" } else { "rsvp-link" }, to, &n).await
}

pub(super) fn fresh_link_notice(
    meeting: &crate::store::meetings::Meeting,
    lang: Lang,
    name: &str,
    evaluation: bool,
    url: String,
) -> askama::Result<Notice> {
    let when = super::words::start(meeting, lang);
    FreshLink { lang, name, title: &meeting.title, when, evaluation }.notice(Some(url))
}

words! {
    struct FreshLink<'a> in "mail/words/fresh_link.txt" {
        lang: Lang,
        name: &'a str,
        title: &'a str,
        when: String,
        evaluation: bool,
    }
}
/// Queues a mail to an organiser account (no list member, so no person and
/// no leave link) with the notice `n`.
async fn queue_to_account(
    tx: &mut WriteTx,
    ctx: &MailContext,
    kind: &'static str,
    email: &Email,
    name: &str,
    n: &Notice,
) -> anyhow::Result<()> {
    let message = ctx.composer.compose(&Outgoing {
        kind,
        to: email,
        to_name: Some(name).filter(|n| !n.is_empty()),
        person_id: None,
        campaign_id: None,
        subject: &n.subject,
        text: NoticeText { m: n, f: ctx.composer.footer() }.render()?,
        html: NoticeHtml { m: n, f: ctx.composer.footer() }.render()?,
        unsubscribe_url: None,
        ics: None,
    })?;
    enqueue(tx, &message).await?;
    Ok(())
}

/// The page an organiser's link in a mail opens, for `token`.
#[must_use]
pub fn account_link_url(base_url: &str, token: &Token) -> String {
    format!("{base_url}/login/password/{}", token.expose())
}

/// Mails the owner of organiser account `email` a link to choose a new
/// password, which works once and for `minutes` minutes.
pub async fn password_reset(
    tx: &mut WriteTx,
    ctx: &MailContext,
    email: &Email,
    lang: Lang,
    token: &Token,
    minutes: i64,
) -> anyhow::Result<()> {
    let n = password_reset_notice(lang, account_link_url(&ctx.base_url, token), minutes)?;
    queue_to_account(tx, ctx, "password-reset", email, "", &n).await
}

words! {
    struct PasswordReset in "mail/words/password_reset.txt" { lang: Lang, minutes: i64 }
}

pub(super) fn password_reset_notice(lang: Lang, url: String, minutes: i64) -> askama::Result<Notice> {
    PasswordReset { lang, minutes }.notice(Some(url))
}

/// What an admin's invitation of a new organiser says.
#[derive(Debug, Clone, Copy)]
pub struct Invitation<'a> {
    pub email: &'a Email,
    pub name: &'a str,
    /// Who invites, by name (or address).
    pub inviter: &'a str,
    /// The role given, in words.
    pub role: &'a str,
    pub lang: Lang,
    pub days: i64,
}

/// Mails a new organiser a link to choose their first password, which works
/// once and for `days` days.
pub async fn organiser_invite(
    tx: &mut WriteTx,
    ctx: &MailContext,
    invitation: Invitation<'_>,
    token: &Token,
) -> anyhow::Result<()> {
    let n = organiser_invite_notice(invitation, account_link_url(&ctx.base_url, token))?;
    queue_to_account(tx, ctx, "organiser-invite", invitation.email, invitation.name, &n).await
}

words! {
    struct OrganiserInvite<'a> in "mail/words/organiser_invite.txt" {
        lang: Lang, name: &'a str, inviter: &'a str, role: &'a str, days: i64
    }
}

pub(super) fn organiser_invite_notice(i: Invitation<'_>, url: String) -> askama::Result<Notice> {
    OrganiserInvite { lang: i.lang, name: i.name, inviter: i.inviter, role: i.role, days: i.days }.notice(Some(url))
}
