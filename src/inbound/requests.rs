//! Joining and leaving the list by mail. A message to the join address asks to
//! join: it starts the same double opt-in as the web form, for the address in
//! its `From`. A message to the leave address, or one to the join address whose
//! subject is only "afmeld", "frameld" or "unsubscribe", asks to leave: someone
//! on the list gets a mail with an unsubscribe link, and leaves only by the
//! button on the page it opens, since anyone can write any `From`.
//!
//! Only the headers are read; the body is never taken for commands. Automatic
//! mail — auto-replies, bounces, reports, bulk and list mail, anything from a
//! mail system or from one of our own addresses — never sets anything off, so
//! two robots cannot keep each other busy.
//!
//! Each request counts against the sign-up budget the web form spends too
//! ([`rate::signup`]): per connecting address, and per envelope-sender domain,
//! so forged senders cannot make the service mail strangers without end.
//!
//! Every function here fails only when the database does or a mail cannot
//! be built, unless its doc says otherwise.

#![allow(clippy::missing_errors_doc, reason = "the module documentation says once how a request fails")]

use std::net::IpAddr;

use jiff::SignedDuration;
use mail_parser::{HeaderForm, Message, MessageParser, MimeHeaders};

use crate::domain::{Email, Name, SingleLine, Timestamp};
use crate::i18n::{CONSENT_VERSION, EMAIL_CONSENT_TEXT, Lang};
use crate::mail::MailContext;
use crate::mail::compose::notices::{self, To};
use crate::mail::deliver::verp;
use crate::store::imap::{self, Fetched};
use crate::store::rate::{self, SignupBudget};
use crate::store::subscriptions::{self, Consent, Signup};
use crate::store::{Store, WriteTx};

/// Subjects (after any "Re:") that turn mail to the join address into a request to leave.
const LEAVE_SUBJECTS: &[&str] = &["afmeld", "frameld", "unsubscribe"];
/// Reply prefixes ignored in front of such a subject: the English one and Outlook's Danish one.
const REPLY_PREFIXES: &[&str] = &["re:", "sv:"];
/// The proof recorded for a message that carries no usable Message-ID.
const NO_MESSAGE_ID: &str = "(no Message-ID)";

/// How often a confirmation may go to one address, and how long its link lasts.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long the link in a confirmation works.
    pub link_ttl: SignedDuration,
    /// Confirmation mails of one kind to one address per 24 hours, at most
    /// (`security.confirmations_per_address_per_day`).
    pub mails_per_address_per_day: u32,
    /// Requests per hour per client and per envelope domain, shared with the web.
    pub budget: SignupBudget,
}

/// What became of a request by mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// A confirmation (or an unsubscribe link) was queued.
    Queued,
    /// Nothing was sent: the address had its mails for the day, or is not on the list.
    Quiet,
    /// The sender's client or envelope domain has spent its budget for the hour;
    /// nothing was recorded, and the sender should try again later.
    OverBudget,
}

/// A message to the join or leave address that is worth acting on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// The address in `From`.
    pub from: Email,
    /// The display name in `From`, or the address's local part, capitalised.
    pub name: Name,
    /// The `Organization` header, if the sender's mail program wrote one.
    pub organisation: Option<Name>,
    /// The Message-ID in angle brackets: the proof of the request.
    pub message_id: String,
    /// The subject says "afmeld", "frameld" or "unsubscribe".
    pub asks_to_leave: bool,
    /// The domain of the envelope sender (MAIL FROM), lower case.
    pub envelope_domain: String,
}

/// Reads a message sent to the join or leave address with the envelope sender
/// `reverse_path`. `ours` are our own addresses, whose mail is never acted on.
///
/// # Errors
/// Why the message is to be ignored, in a few words fit for the log (never an address).
pub fn read(raw: &[u8], reverse_path: &str, ours: &[&Email]) -> Result<Letter, &'static str> {
    if reverse_path.trim().is_empty() {
        return Err("a message with a null sender (a bounce)");
    }
    let Ok(envelope) = Email::parse(reverse_path) else {
        return Err("an envelope sender that is no mail address");
    };
    if from_mail_system(&envelope) {
        return Err("a message from a mail system");
    }
    let Some(message) = MessageParser::default().parse(raw) else {
        return Err("not a readable message");
    };
    if let Some(why) = automatic(&message) {
        return Err(why);
    }
    let Some(sender) = message.from().and_then(|a| a.first()) else {
        return Err("a message without a From address");
    };
    let Some(from) = sender.address().and_then(|a| Email::parse(a).ok()) else {
        return Err("a From that is no mail address");
    };
    if from_mail_system(&from) {
        return Err("a message from a mail system");
    }
    if ours.contains(&&from) || verp::message_of(from.as_str()).is_some() {
        return Err("a message from one of our own addresses");
    }
    if !aligned(envelope.domain(), from.domain()) {
        return Err("an envelope sender in another domain than the From address");
    }
    let Some(name) = sender.name().and_then(display_name).or_else(|| name_from_address(&from)) else {
        return Err("a sender without a usable name");
    };
    let organisation = message
        .header_as("Organization", HeaderForm::Text)
        .first()
        .and_then(|v| v.as_text())
        .and_then(|o| Name::parse(o).ok());
    let message_id = message
        .message_id()
        .and_then(|id| SingleLine::parse(&format!("<{}>", id.trim_matches(['<', '>']))).ok())
        .map_or_else(|| NO_MESSAGE_ID.to_owned(), SingleLine::into_string);
    let asks_to_leave = message.subject().is_some_and(asks_to_leave);
    let envelope_domain = envelope.domain().to_ascii_lowercase();
    Ok(Letter { from, name, organisation, message_id, asks_to_leave, envelope_domain })
}

/// Why a message is automatic, if it is: an `Auto-Submitted` other than `no`
/// (RFC 3834), `Precedence: bulk`, `list` or `junk` (or `auto_reply`), an
/// `X-Autoreply` or `X-Autorespond`, or a report (`multipart/report`: delivery
/// status notifications, feedback reports, read receipts).
fn automatic(message: &Message<'_>) -> Option<&'static str> {
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    // The keyword comes before any parameters (`;`) or comment.
    if header("Auto-Submitted").is_some_and(|v| v.split([';', '(']).next().unwrap_or_default().trim() != "no") {
        return Some("an automatic message (Auto-Submitted)");
    }
    if header("Precedence").is_some_and(|v| matches!(v.as_str(), "bulk" | "list" | "junk" | "auto_reply")) {
        return Some("bulk or list mail (Precedence)");
    }
    if header("X-Autoreply").is_some() || header("X-Autorespond").is_some() {
        return Some("an automatic reply");
    }
    if message.parts.iter().any(|p| p.is_content_type("multipart", "report")) {
        return Some("a report (multipart/report)");
    }
    None
}

/// `MAILER-DAEMON@…` and `postmaster@…` speak for mail systems, not people.
fn from_mail_system(address: &Email) -> bool {
    let local = address.as_str().rsplit_once('@').map_or("", |(l, _)| l);
    matches!(local, "mailer-daemon" | "postmaster")
}

/// Whether the envelope sender's domain and the From domain belong together:
/// the same, or one a subdomain of the other (`bounce.firma.dk` and `firma.dk`).
pub(super) fn aligned(envelope: &str, from: &str) -> bool {
    let under = |sub: &str, parent: &str| sub.strip_suffix(parent).is_some_and(|head| head.ends_with('.'));
    envelope == from || under(envelope, from) || under(from, envelope)
}

/// A display name as a [`Name`], unless it is empty or an address in disguise.
fn display_name(name: &str) -> Option<Name> {
    let name = name.trim().trim_matches(['"', '\'']).trim();
    if name.contains('@') {
        return None;
    }
    Name::parse(name).ok()
}

/// `anna.bogh+tilmeld@firma.dk` → "Anna Bogh": the local part without its
/// tag, dots and underscores as spaces, each word capitalised.
fn name_from_address(address: &Email) -> Option<Name> {
    let local = address.as_str().rsplit_once('@').map_or("", |(l, _)| l);
    let local = match local.split_once('+') {
        Some((head, _)) if !head.is_empty() => head,
        _ => local,
    };
    let words: Vec<String> = local
        .split(['.', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
        })
        .collect();
    Name::parse(&words.join(" ")).ok()
}

/// Whether a subject asks to leave: "afmeld", "frameld" or "unsubscribe", in
/// any case, with surrounding space and any "Re:" (or "SV:") in front ignored.
fn asks_to_leave(subject: &str) -> bool {
    let mut rest = subject.trim();
    while let Some(prefix) =
        REPLY_PREFIXES.iter().find(|p| rest.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)))
    {
        rest = rest[prefix.len()..].trim_start();
    }
    LEAVE_SUBJECTS.iter().any(|w| rest.eq_ignore_ascii_case(w))
}

/// A sign-up by mail, in Danish: records the request with the Message-ID as
/// proof and queues a confirmation (or "you are already on the list") in the
/// same transaction, at most [`Limits::mails_per_address_per_day`] a day,
/// within the budget of `client` (the connecting address) and the envelope
/// domain. A message `fetched` from a mailbox is recorded in the same
/// transaction.
pub async fn join(
    store: &Store,
    ctx: &MailContext,
    limits: Limits,
    letter: &Letter,
    client: IpAddr,
    fetched: Option<&Fetched>,
) -> anyhow::Result<Handled> {
    let Some(mut tx) = begin_within_budget(store, limits, letter, client).await? else {
        return Ok(Handled::OverBudget);
    };
    let signup = Signup {
        email: letter.from.clone(),
        name: letter.name.clone(),
        organisation: letter.organisation.clone(),
        interests: Vec::new(),
        language: Lang::Da.code(),
        consent: Consent {
            text: EMAIL_CONSENT_TEXT.to_owned(),
            version: CONSENT_VERSION.to_owned(),
            method: "email",
            proof: letter.message_id.clone(),
        },
    };
    let queue =
        notices::answer_signup(&mut tx, ctx, &signup, Lang::Da, limits.mails_per_address_per_day, limits.link_ttl)
            .await?;
    record(&mut tx, fetched, "join").await?;
    tx.commit().await?;
    Ok(if queue { Handled::Queued } else { Handled::Quiet })
}

/// Opens the transaction of a request by mail and counts the request against
/// the hour's sign-up budget; `None` when the budget is spent.
async fn begin_within_budget(
    store: &Store,
    limits: Limits,
    letter: &Letter,
    client: IpAddr,
) -> anyhow::Result<Option<WriteTx>> {
    let mut tx = store.begin().await?;
    if !rate::signup(&mut tx, &client.to_string(), Some(&letter.envelope_domain), limits.budget).await? {
        tracing::warn!(%client, from = %letter.from.masked(), "sign-up budget spent; a request by mail deferred");
        return Ok(None);
    }
    Ok(Some(tx))
}

/// A request to leave by mail: someone on the list (pending or confirmed) gets
/// a mail with a fresh unsubscribe link, in their language, at most
/// [`Limits::mails_per_address_per_day`] a day; nobody else gets anything.
/// Nothing about the person changes until they press the button. The request
/// counts against the same budget as [`join`], and a message `fetched` from a
/// mailbox is recorded in its transaction as there.
pub async fn leave(
    store: &Store,
    ctx: &MailContext,
    limits: Limits,
    letter: &Letter,
    client: IpAddr,
    fetched: Option<&Fetched>,
) -> anyhow::Result<Handled> {
    let Some(mut tx) = begin_within_budget(store, limits, letter, client).await? else {
        return Ok(Handled::OverBudget);
    };
    let Some(member) = subscriptions::member_by_email(&mut tx, &letter.from).await? else {
        // Counted all the same: the budget is per request, as on the web, not per mail sent.
        record(&mut tx, fetched, "leave").await?;
        tx.commit().await?;
        tracing::info!(from = %letter.from.masked(), "request to leave from an address not on the list; ignored");
        return Ok(Handled::Quiet);
    };
    let day_ago = Timestamp::now() - SignedDuration::from_hours(24);
    let sent_today = subscriptions::mails_since(&mut tx, &letter.from, "leave-confirm", day_ago).await?;
    if sent_today >= i64::from(limits.mails_per_address_per_day) {
        record(&mut tx, fetched, "leave").await?;
        tx.commit().await?;
        tracing::info!(to = %letter.from.masked(), "no more leave confirmations to this address today");
        return Ok(Handled::Quiet);
    }
    let to =
        To { person: member.person, email: &letter.from, name: &member.name, lang: Lang::from_code(&member.language) };
    notices::confirm_leave(&mut tx, ctx, to, limits.link_ttl).await?;
    record(&mut tx, fetched, "leave").await?;
    tx.commit().await?;
    Ok(Handled::Queued)
}

/// Records a message fetched from a mailbox, if this one was.
async fn record(tx: &mut WriteTx, fetched: Option<&Fetched>, outcome: &str) -> anyhow::Result<()> {
    if let Some(fetched) = fetched {
        imap::record(tx, fetched, outcome).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{aligned, asks_to_leave, read};
    use crate::domain::Email;

    fn mail(headers: &str) -> Vec<u8> {
        format!(
            "From: Anna Bøgh <anna.bogh@nordlys-it.example>\r\nTo: tilmeld@forum.example\r\n\
             Message-ID: <abc-1@mx.nordlys-it.example>\r\n{headers}\r\nAfmeld alt. unsubscribe\r\n"
        )
        .into_bytes()
    }

    const ANNA: &str = "anna.bogh@nordlys-it.example";

    #[test]
    fn a_plain_mail_is_read_for_its_sender_and_subject() {
        let letter = read(&mail("Subject: Tilmelding\r\nOrganization: Nordlys IT A/S\r\n"), ANNA, &[]).unwrap();
        assert_eq!(letter.from.as_str(), ANNA);
        assert_eq!(letter.name.as_str(), "Anna Bøgh");
        assert_eq!(letter.organisation.map(|o| o.as_str().to_owned()).as_deref(), Some("Nordlys IT A/S"));
        assert_eq!(letter.message_id, "<abc-1@mx.nordlys-it.example>");
        assert!(!letter.asks_to_leave, "the body is never read as a command");

        let bare = b"From: anna.bogh+tilmeld@nordlys-it.example\r\nSubject: \r\n\r\nHej\r\n";
        let letter = read(bare, "bounces@mail.nordlys-it.example", &[]).unwrap();
        assert_eq!(letter.name.as_str(), "Anna Bogh", "the local part, capitalised");
        assert_eq!(letter.organisation, None);
        assert_eq!(letter.message_id, "(no Message-ID)");
        let disguised = b"From: \"anna@nordlys-it.example\" <anna@nordlys-it.example>\r\n\r\nHej\r\n";
        assert_eq!(read(disguised, ANNA, &[]).unwrap().name.as_str(), "Anna");
        let encoded = b"From: =?utf-8?q?S=C3=B8ren_=C3=86r=C3=B8?= <soren@nordlys-it.example>\r\n\r\nHej\r\n";
        assert_eq!(read(encoded, "soren@nordlys-it.example", &[]).unwrap().name.as_str(), "Søren Ærø");
    }

    #[test]
    fn leave_subjects_are_recognised_but_nothing_else() {
        for s in ["afmeld", "  Afmeld ", "FRAMELD", "unsubscribe", "Re: afmeld", "RE: Re:unsubscribe", "SV: Frameld"] {
            assert!(asks_to_leave(s), "{s:?}");
        }
        for s in ["", "Tilmeld", "afmeld mig", "Fwd: afmeld", "Re: Nyt fra Dialogforum", "re:"] {
            assert!(!asks_to_leave(s), "{s:?}");
        }
        assert!(read(&mail("Subject: Re: AFMELD\r\n"), ANNA, &[]).unwrap().asks_to_leave);
    }

    #[test]
    fn automatic_mail_and_mail_systems_are_ignored() {
        for headers in [
            "Auto-Submitted: auto-replied\r\n",
            "Auto-Submitted: auto-generated\r\n",
            "Auto-Submitted: nope\r\n",
            "Precedence: bulk\r\n",
            "Precedence: List\r\n",
            "Precedence: junk\r\n",
            "X-Autoreply: yes\r\n",
            "X-Autorespond: Out of office\r\n",
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n",
        ] {
            assert!(read(&mail(headers), ANNA, &[]).is_err(), "{headers:?}");
        }
        assert!(read(&mail("Auto-Submitted: no\r\nPrecedence: first-class\r\n"), ANNA, &[]).is_ok());
        assert!(read(&mail("Auto-Submitted: No (comment)\r\n"), ANNA, &[]).is_ok());

        assert!(read(&mail(""), "", &[]).is_err(), "a null sender");
        assert!(read(&mail(""), "MAILER-DAEMON@nordlys-it.example", &[]).is_err());
        assert!(read(&mail(""), "postmaster@nordlys-it.example", &[]).is_err());
        let daemon = b"From: Mail Delivery System <MAILER-DAEMON@nordlys-it.example>\r\n\r\nHej\r\n";
        assert!(read(daemon, ANNA, &[]).is_err());
        assert!(read(&mail(""), "anna@elsewhere.example", &[]).is_err(), "another domain");
        assert!(read(b"Subject: afmeld\r\n\r\nHej\r\n", ANNA, &[]).is_err(), "no From");

        let ours = Email::parse("tilmeld@forum.example").unwrap();
        let own = b"From: Dialogforum <tilmeld@forum.example>\r\n\r\nHej\r\n";
        assert!(read(own, "tilmeld@forum.example", &[&ours]).is_err());
        let verp = b"From: x <dialogforum+bounce-0190a3b4c5d6e7f8a9b0c1d2e3f4a5b6@forum.example>\r\n\r\nHej\r\n";
        assert!(read(verp, "dialogforum@forum.example", &[]).is_err());
    }

    #[test]
    fn domains_align_when_equal_or_one_is_under_the_other() {
        assert!(aligned("firma.dk", "firma.dk"));
        assert!(aligned("bounce.firma.dk", "firma.dk"));
        assert!(aligned("firma.dk", "mail.firma.dk"));
        assert!(!aligned("andetfirma.dk", "firma.dk"));
        assert!(!aligned("firma.dk.evil.example", "firma.dk"));
    }
}
