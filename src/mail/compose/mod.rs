//! Composing mail: the [`Composer`] turns a mail's parts into the bytes that
//! go over the wire, and a module per kind of mail decides what it says and
//! to whom — invitations ([`campaign`]), notices to one person
//! ([`notices`]), answers ([`rsvp`]), changes to a meeting ([`changes`]),
//! reminders, evaluations — queuing it in the outbox.
//!
//! What a mail says is in templates, never in Rust: each kind of notice has
//! one file, `templates/mail/words/<kind>.txt`, with the Danish and the
//! English side by side in blocks (subject, greeting, paragraphs one a line,
//! button, footer) that [`words`] renders into a [`notices::Notice`]; the
//! notice's layout is `templates/mail/notice/body.{html,txt}` on
//! `templates/mail/layout.html`. Invitations and evaluations have their own
//! bodies and a `subject.txt` beside them. Every text matches on the
//! language, so one left out does not compile; short fixed words (the
//! caption of the check-in code) are a `texts!` table. Rust only gathers the
//! values — titles, dates written out by `Lang::date` and `Lang::time`,
//! links — and picks the template.
//!
//! Every body ends with the same footer (`templates/mail/footer.{html,txt}`,
//! values in [`footer::Footer`], carried by the [`Composer`]): the
//! secretariat's contact and links to the privacy notice and the
//! accessibility statement.
//!
//! Names and subjects arrive as domain types without line breaks, and lettre
//! encodes them (RFC 2047) on top of that; the tests in `tests/journeys/mail.rs` check
//! what reaches a real SMTP server.
//!
//! Every function here fails only when the database does or a mail cannot
//! be rendered or built, unless its doc says otherwise.

#![allow(clippy::missing_errors_doc, reason = "the module documentation says once how composing fails")]

pub mod campaign;
pub mod changes;
pub mod context;
pub mod evaluations;
pub mod footer;
pub mod message;
pub mod notices;
pub mod personal;
mod recipient;
pub mod reminders;
pub mod report;
pub mod rsvp;
mod words;

use std::sync::Arc;

use lettre::Message;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm, DkimSigningKey,
};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use crate::domain::{CampaignId, Email, ParseError, PersonId};
use crate::store::outbox::NewMessage;

/// The fixed parts of every message.
#[derive(Debug, Clone)]
pub struct Composer {
    from: Mailbox,
    reply_to: Option<Mailbox>,
    list_id: String,
    /// Right-hand side of Message-IDs.
    id_domain: String,
    dkim: Option<Arc<DkimConfig>>,
    /// `mailto:` URI of the leave address, offered after the HTTPS URL in
    /// `List-Unsubscribe` (RFC 2369) while the inbound listener runs.
    leave_mailto: Option<String>,
    /// The small print at the foot of every body.
    footer: footer::Footer,
    /// The ORGANIZER of calendar entries: the forum's monitored address,
    /// where calendar replies arrive (`mail.organizer`); the sender unless set.
    organizer: Mailbox,
}

/// The headers a DKIM signature covers. Those a message lacks are signed as
/// absent (RFC 6376, 5.4), so nobody can add them on the way.
const SIGNED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Content-Type",
];

/// One message to one person.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub kind: &'static str,
    pub to: &'a Email,
    pub to_name: Option<&'a str>,
    pub person_id: Option<PersonId>,
    pub campaign_id: Option<CampaignId>,
    pub subject: &'a str,
    pub text: String,
    pub html: String,
    /// The personal one-click unsubscribe URL; `None` for mail that is not
    /// list mail (a sign-up confirmation, say).
    pub unsubscribe_url: Option<String>,
    /// A calendar entry (`text/calendar`), attached as `invitation.ics`.
    pub ics: Option<String>,
}

/// An image shown inside the HTML part as `<img src="cid:…">`, sent with it
/// as a related part (RFC 2387) so mail programs show it without fetching
/// anything from the web.
#[derive(Debug, Clone)]
pub struct InlineImage {
    /// The Content-ID, without angle brackets.
    pub content_id: String,
    /// The image as PNG.
    pub png: Vec<u8>,
}

/// Why a message could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("invalid address: {0}")]
    Address(String),
    #[error("could not build message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("DKIM key: {0}")]
    Dkim(String),
}

impl Composer {
    /// A composer sending as `from_name <from>`.
    ///
    /// # Errors
    /// An address lettre does not accept.
    pub fn new(from: &Email, from_name: &str, reply_to: Option<&Email>, list_id: &str) -> Result<Self, ComposeError> {
        let mailbox = |name: Option<&str>, e: &Email| -> Result<Mailbox, ComposeError> {
            let address = e.as_str().parse().map_err(|_| ComposeError::Address(e.masked()))?;
            Ok(Mailbox::new(
                name.map(|n| crate::domain::SingleLine::parse(n).map(crate::domain::SingleLine::into_string))
                    .transpose()?,
                address,
            ))
        };
        let sender = mailbox(Some(from_name), from)?;
        Ok(Self {
            organizer: sender.clone(),
            from: sender,
            reply_to: reply_to.map(|r| mailbox(None, r)).transpose()?,
            list_id: list_id.to_owned(),
            id_domain: from.domain().to_owned(),
            dkim: None,
            leave_mailto: None,
            footer: footer::Footer::default(),
        })
    }

    /// Ends every body with `footer` from now on.
    #[must_use]
    pub fn with_footer(mut self, footer: footer::Footer) -> Self {
        self.footer = footer;
        self
    }

    /// Names `organizer` as the ORGANIZER of calendar entries from now on,
    /// with the sender's display name.
    ///
    /// # Errors
    /// An address lettre does not accept.
    pub fn with_organizer(mut self, organizer: &Email) -> Result<Self, ComposeError> {
        let address = organizer.as_str().parse().map_err(|_| ComposeError::Address(organizer.masked()))?;
        self.organizer = Mailbox::new(self.from.name.clone(), address);
        Ok(self)
    }

    /// The ORGANIZER of calendar entries.
    #[must_use]
    pub fn organizer(&self) -> &Mailbox {
        &self.organizer
    }

    /// The small print at the foot of every body.
    #[must_use]
    pub const fn footer(&self) -> &footer::Footer {
        &self.footer
    }

    /// Offers `leave` as a `mailto:` (subject `afmeld`) after the HTTPS URL in
    /// the `List-Unsubscribe` header of list mail, for mail programs that
    /// unsubscribe by mail. Only for a leave address the inbound listener takes.
    #[must_use]
    pub fn with_leave_address(mut self, leave: &Email) -> Self {
        self.leave_mailto = Some(format!("mailto:{}?subject=afmeld", mailto_escape(leave.as_str())));
        self
    }

    /// Signs every message with DKIM from now on.
    ///
    /// # Errors
    /// A key that does not parse; the message says which kind was expected.
    pub fn with_dkim(mut self, selector: &str, domain: &str, key: &str, ed25519: bool) -> Result<Self, ComposeError> {
        let algorithm = if ed25519 { DkimSigningAlgorithm::Ed25519 } else { DkimSigningAlgorithm::Rsa };
        let key = DkimSigningKey::new(key.trim(), algorithm).map_err(|e| ComposeError::Dkim(e.to_string()))?;
        let headers = SIGNED_HEADERS.iter().map(|h| HeaderName::new_from_ascii_str(h)).collect();
        let canonicalization =
            DkimCanonicalization { header: DkimCanonicalizationType::Relaxed, body: DkimCanonicalizationType::Relaxed };
        self.dkim =
            Some(Arc::new(DkimConfig::new(selector.to_owned(), domain.to_owned(), key, headers, canonicalization)));
        Ok(self)
    }

    /// The sender address, also used as the envelope sender.
    #[must_use]
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Builds the message and its outbox row.
    ///
    /// # Errors
    /// A name or subject with control characters, or an address lettre refuses.
    pub fn compose(&self, m: &Outgoing<'_>) -> Result<NewMessage, ComposeError> {
        self.compose_parts(m, None)
    }

    /// Builds the message with `image` shown in its HTML part, and its outbox row.
    ///
    /// # Errors
    /// As [`Composer::compose`].
    pub fn compose_with_image(&self, m: &Outgoing<'_>, image: &InlineImage) -> Result<NewMessage, ComposeError> {
        self.compose_parts(m, Some(image))
    }

    fn compose_parts(&self, m: &Outgoing<'_>, image: Option<&InlineImage>) -> Result<NewMessage, ComposeError> {
        // A second line of defence: domain types already refuse these.
        let subject = crate::domain::SingleLine::parse(m.subject)?;
        let name = m.to_name.map(crate::domain::SingleLine::parse).transpose()?;
        let address = m.to.as_str().parse().map_err(|_| ComposeError::Address(m.to.masked()))?;
        // A name that looks like an encoded word would be decoded by some mail
        // programs even inside quotes (RFC 2047 section 5 forbids it), showing
        // text nobody typed; the address alone goes in the header then.
        let name = name.map(crate::domain::SingleLine::into_string).filter(|n| !looks_encoded(n));
        let to = Mailbox::new(name, address);
        let message_id = format!("{}@{}", uuid::Uuid::new_v4(), self.id_domain);

        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .raw_header(subject_header(subject.as_str()))
            .message_id(Some(format!("<{message_id}>")))
            .date_now();
        if let Some(r) = &self.reply_to {
            builder = builder.reply_to(r.clone());
        }
        builder = builder.raw_header(raw("List-Id", &format!("<{}>", self.list_id)));
        builder = builder.raw_header(raw("Auto-Submitted", "auto-generated"));
        if let Some(url) = &m.unsubscribe_url {
            // RFC 8058: the HTTPS URL carries one-click; the mailto comes after it (RFC 2369).
            let value = match &self.leave_mailto {
                Some(mailto) => format!("<{url}>, <{mailto}>"),
                None => format!("<{url}>"),
            };
            builder = builder
                .raw_header(raw("List-Unsubscribe", &value))
                .raw_header(raw("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"));
        }
        let mut alternative = MultiPart::alternative_plain_html(m.text.clone(), m.html.clone());
        if let Some(image) = image {
            // multipart/related around the text and HTML, so the HTML can show the image by its Content-ID.
            let png = ContentType::parse("image/png").map_err(|e| ComposeError::Address(e.to_string()))?;
            alternative = MultiPart::related()
                .multipart(alternative)
                .singlepart(Attachment::new_inline(image.content_id.clone()).body(image.png.clone(), png));
        }
        let mut message = match &m.ics {
            None => builder.multipart(alternative)?,
            Some(ics) => builder.multipart(
                MultiPart::mixed().multipart(alternative).singlepart(
                    Attachment::new("invitation.ics".to_owned()).body(
                        ics.clone(),
                        ContentType::parse(&format!("text/calendar; charset=utf-8; method={}", ics_method(ics)))
                            .map_err(|e| ComposeError::Address(e.to_string()))?,
                    ),
                ),
            )?,
        };
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
        Ok(NewMessage {
            kind: m.kind,
            recipient: m.to.clone(),
            person_id: m.person_id,
            campaign_id: m.campaign_id,
            message_id,
            raw: message.formatted(),
        })
    }

    /// A plain text message, for notices that need no HTML part.
    ///
    /// # Errors
    /// As [`Composer::compose`].
    pub fn plain(&self, to: &Email, subject: &str, text: &str) -> Result<Vec<u8>, ComposeError> {
        let address = to.as_str().parse().map_err(|_| ComposeError::Address(to.masked()))?;
        let subject = crate::domain::SingleLine::parse(subject)?;
        Ok(Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, address))
            .subject(subject.as_str())
            .singlepart(SinglePart::plain(text.to_owned()))?
            .formatted())
    }
}

/// An address as the `addr-spec` of a `mailto:` URI (RFC 6068): anything but
/// unreserved characters, `@` and `+` is percent-encoded, so a non-ASCII
/// address never reaches the header as such.
fn mailto_escape(address: &str) -> String {
    use std::fmt::Write;
    address.bytes().fold(String::with_capacity(address.len()), |mut out, b| {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@' | b'+') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// A header whose value we wrote ourselves and know to be one line of ASCII.
/// The `Subject` header. lettre leaves ASCII text as it is, so a subject
/// that carries something like `=?utf-8?b?…?=` would be decoded by the
/// reader's mail program into text nobody typed; such a subject is sent
/// wholly as encoded words (RFC 2047), which decode back to exactly the text
/// given.
fn subject_header(subject: &str) -> HeaderValue {
    let name = HeaderName::new_from_ascii_str("Subject");
    if !looks_encoded(subject) {
        return HeaderValue::new(name, subject.to_owned());
    }
    let mut encoded = String::new();
    {
        let mut w = email_encoding::headers::writer::EmailWriter::new(&mut encoded, "Subject: ".len(), 0, false);
        // Writing to a String cannot fail.
        let _ = email_encoding::headers::rfc2047::encode(subject, &mut w);
    }
    HeaderValue::dangerous_new_pre_encoded(name, subject.to_owned(), encoded)
}

/// Whether header text holds the opening of an RFC 2047 encoded word.
fn looks_encoded(text: &str) -> bool {
    text.contains("=?")
}

fn raw(name: &'static str, value: &str) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value.replace(['\r', '\n'], ""))
}

/// The `METHOD` of a calendar entry, for the `method` parameter of its MIME
/// type (RFC 6047): `REQUEST` unless the entry says otherwise.
fn ics_method(ics: &str) -> &str {
    ics.lines()
        .find_map(|l| l.strip_prefix("METHOD:"))
        .map(str::trim)
        .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()))
        .unwrap_or("REQUEST")
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::{Composer, Outgoing, mailto_escape};
    use crate::domain::Email;

    fn list_mail<'a>(to: &'a Email, unsubscribe_url: Option<&str>) -> Outgoing<'a> {
        Outgoing {
            kind: "announcement",
            to,
            to_name: Some("Anna"),
            person_id: None,
            campaign_id: None,
            subject: "Nyt fra Dialogforum",
            text: "Hej".into(),
            html: "<p>Hej</p>".into(),
            unsubscribe_url: unsubscribe_url.map(str::to_owned),
            ics: None,
        }
    }

    fn head(raw: &[u8]) -> String {
        let raw = String::from_utf8_lossy(raw);
        raw.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ").replace("\r\n\t", " ")
    }

    #[test]
    fn text_that_looks_like_an_encoded_word_is_encoded_and_decodes_to_itself() {
        let from = Email::parse("dialogforum@forum.example").unwrap();
        let to = Email::parse("anna@firma.example").unwrap();
        let composer = Composer::new(&from, "Dialogforum", None, "dialogforum.forum.example").unwrap();
        // "=?utf-8?b?...?=" would show as "Din konto er lukket" in a mail program.
        let lookalike = "Møde =?utf-8?b?RGluIGtvbnRvIGVyIGx1a2tldA==?= i dag";
        let mut m = list_mail(&to, None);
        m.subject = lookalike;
        m.to_name = Some("=?utf-8?q?Forum_Admin?=");
        let raw = composer.compose(&m).unwrap().raw;
        let h = head(&raw);
        assert!(!h.contains("RGluIGtvbnRvIGVyIGx1a2tldA==?="), "passed through: {h}");
        assert!(!h.contains("Forum_Admin"), "name passed through: {h}");
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.subject(), Some(lookalike), "decodes to exactly the text given");
        let to_header = parsed.to().unwrap().first().unwrap();
        assert_eq!((to_header.name(), to_header.address()), (None, Some("anna@firma.example")));
        // Ordinary text is left as lettre writes it.
        m.subject = "Nyt fra Dialogforum";
        let raw = composer.compose(&m).unwrap().raw;
        assert!(head(&raw).contains("Subject: Nyt fra Dialogforum"));
    }

    #[test]
    fn list_unsubscribe_offers_the_leave_address_after_the_https_url() {
        let from = Email::parse("dialogforum@forum.example").unwrap();
        let to = Email::parse("anna@firma.example").unwrap();
        let leave = Email::parse("dialogforum+leave@forum.example").unwrap();
        let plain = Composer::new(&from, "Dialogforum", None, "dialogforum.forum.example").unwrap();
        let with_leave = plain.clone().with_leave_address(&leave);
        let url = "https://forum.example/unsubscribe/abc";

        let h = head(&plain.compose(&list_mail(&to, Some(url))).unwrap().raw);
        assert!(h.contains(&format!("List-Unsubscribe: <{url}>\r\n")), "{h}");
        let h = head(&with_leave.compose(&list_mail(&to, Some(url))).unwrap().raw);
        let expected =
            format!("List-Unsubscribe: <{url}>, <mailto:dialogforum+leave@forum.example?subject=afmeld>\r\n");
        assert!(h.contains(&expected), "{h}");
        assert!(h.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{h}");
        let h = head(&with_leave.compose(&list_mail(&to, None)).unwrap().raw);
        assert!(!h.contains("List-Unsubscribe"), "mail that is not list mail has none: {h}");

        assert_eq!(mailto_escape("søren+leave@æblehus.dk"), "s%C3%B8ren+leave@%C3%A6blehus.dk");
    }

    #[test]
    fn dkim_signs_the_list_headers_too() {
        let seed = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let from = Email::parse("dialogforum@forum.example").unwrap();
        let composer = Composer::new(&from, "Dialogforum", None, "dialogforum.forum.example")
            .unwrap()
            .with_dkim("sel1", "forum.example", &seed, true)
            .unwrap();
        let to = Email::parse("anna@firma.example").unwrap();
        let m = composer
            .compose(&Outgoing {
                kind: "notice",
                to: &to,
                to_name: Some("Anna"),
                person_id: None,
                campaign_id: None,
                subject: "Hej",
                text: "Hej".into(),
                html: "<p>Hej</p>".into(),
                unsubscribe_url: Some("https://forum.example/unsubscribe/x".into()),
                ics: None,
            })
            .unwrap();
        let raw = String::from_utf8(m.raw).unwrap();
        let head = raw.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ").replace("\r\n\t", " ");
        let sig = head.lines().find(|l| l.starts_with("DKIM-Signature:")).expect("a DKIM signature");
        assert!(sig.contains("d=forum.example") && sig.contains("s=sel1") && sig.contains("a=ed25519-sha256"), "{sig}");
        let h = sig.split("h=").nth(1).unwrap().split(';').next().unwrap().to_ascii_lowercase();
        for header in ["from", "subject", "message-id", "list-id", "list-unsubscribe", "list-unsubscribe-post"] {
            assert!(h.split(':').any(|x| x.trim() == header), "{header} is not signed: {h}");
        }
        assert!(Composer::new(&from, "x", None, "l").unwrap().with_dkim("s", "d", "not a key", false).is_err());
    }
}
