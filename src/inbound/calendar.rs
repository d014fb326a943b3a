//! Replies from calendars: mail to the organiser address
//! (`mail.organizer`) carrying an iMIP `METHOD:REPLY` (RFC 6047) — what
//! Outlook and Google Calendar send when a seat holder presses Accept,
//! Decline or Tentative. The message is read here; what the reply means is
//! decided by [`crate::forum::calendar::reply`], as for the answer form.
//!
//! The calendar part is found wherever the mail program put it: a
//! `text/calendar` alternative (Outlook), an `.ics` attachment
//! (`application/ics`, Google), in any transfer encoding. It is read with the
//! `icalendar` crate's parser, which unfolds lines and unescapes values.

use icalendar::parser::{Component, Property, read_calendar, unfold};
use mail_parser::{MessageParser, MessagePart, MimeHeaders};

use super::requests::aligned;
use crate::domain::Email;
use crate::forum::Forum;
use crate::forum::calendar::{Applied, CalendarReply, Partstat};
use crate::mail::deliver::transport::mask;

/// A reply read from a message, with the sender it came from.
#[derive(Debug, Clone)]
pub struct Letter {
    /// The address in `From:`.
    pub from: Email,
    pub reply: CalendarReply,
}

/// Reads a message sent to the organiser address. `reverse_path` is the
/// envelope sender, which must be in the From address's domain (or a
/// subdomain, or the other way round).
///
/// # Errors
/// Why the message is no calendar reply we can read, fit for a log line.
pub fn read(raw: &[u8], reverse_path: &str) -> Result<Letter, &'static str> {
    let Some(message) = MessageParser::default().parse(raw) else {
        return Err("not a readable message");
    };
    let Some(from) = message.from().and_then(|a| a.first()).and_then(|a| a.address()) else {
        return Err("a message without a From address");
    };
    let Ok(from) = Email::parse(from) else {
        return Err("a From that is no mail address");
    };
    let Ok(envelope) = Email::parse(reverse_path) else {
        return Err("a null or unreadable envelope sender");
    };
    if !aligned(envelope.domain(), from.domain()) {
        return Err("an envelope sender in another domain than the From address");
    }
    let Some(text) = message.parts.iter().find_map(calendar_text) else {
        return Err("no calendar part");
    };
    let reply = reply_of(&text)?;
    Ok(Letter { from, reply })
}

/// The text of `part` if it is a calendar: `text/calendar`,
/// `application/ics`, or an attachment named `*.ics`.
fn calendar_text(part: &MessagePart<'_>) -> Option<String> {
    let calendar = part.content_type().is_some_and(|t| {
        let (kind, sub) = (t.ctype(), t.subtype().unwrap_or(""));
        (kind.eq_ignore_ascii_case("text") && sub.eq_ignore_ascii_case("calendar"))
            || (kind.eq_ignore_ascii_case("application") && sub.eq_ignore_ascii_case("ics"))
    }) || part.attachment_name().is_some_and(|n| n.to_ascii_lowercase().ends_with(".ics"));
    if !calendar {
        return None;
    }
    part.text_contents().map(str::to_owned).or_else(|| String::from_utf8(part.contents().to_vec()).ok())
}

fn prop<'a>(properties: &'a [Property<'a>], name: &str) -> Option<&'a Property<'a>> {
    properties.iter().find(|p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn param<'a>(property: &'a Property<'a>, key: &str) -> Option<&'a str> {
    property.params.iter().find(|p| p.key.as_str().eq_ignore_ascii_case(key)).and_then(|p| p.val.as_ref()).map(|v| {
        let v = v.as_str();
        v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v)
    })
}

/// Reads an iCalendar object as an iTIP reply: `METHOD:REPLY` and one
/// `VEVENT` with its `UID`, `SEQUENCE` and the one `ATTENDEE` answering.
fn reply_of(text: &str) -> Result<CalendarReply, &'static str> {
    let unfolded = unfold(text);
    let Ok(calendar) = read_calendar(&unfolded) else {
        return Err("a calendar part that does not parse");
    };
    if !prop(&calendar.properties, "METHOD").is_some_and(|m| m.val.as_str().trim().eq_ignore_ascii_case("REPLY")) {
        return Err("a calendar part that is no reply (METHOD:REPLY)");
    }
    let events: Vec<&Component<'_>> =
        calendar.components.iter().filter(|c| c.name.as_str().eq_ignore_ascii_case("VEVENT")).collect();
    let [event] = events.as_slice() else {
        return Err("a reply without exactly one event");
    };
    let Some(uid) = prop(&event.properties, "UID").map(|p| p.val.as_str().trim().to_owned()) else {
        return Err("a reply without UID");
    };
    let sequence = match prop(&event.properties, "SEQUENCE") {
        None => 0,
        Some(s) => s.val.as_str().trim().parse().map_err(|_| "a reply with a SEQUENCE that is no number")?,
    };
    let attendees: Vec<&Property<'_>> =
        event.properties.iter().filter(|p| p.name.as_str().eq_ignore_ascii_case("ATTENDEE")).collect();
    let [attendee] = attendees.as_slice() else {
        return Err("a reply without exactly one attendee");
    };
    let value = attendee.val.as_str().trim();
    let address = value.get(..7).filter(|s| s.eq_ignore_ascii_case("mailto:")).map(|_| &value[7..]);
    let Some(attendee_email) = address.and_then(|a| Email::parse(a).ok()) else {
        return Err("an attendee that is no mailto: address");
    };
    let partstat = param(attendee, "PARTSTAT").map_or(Partstat::Other, Partstat::parse);
    Ok(CalendarReply { uid, sequence, attendee: attendee_email, partstat })
}

/// Reads and applies a message to the organiser address from
/// `reverse_path`. Mail that is no calendar reply, and replies that match no
/// invitation, are logged (the address masked) and change nothing.
///
/// # Errors
/// The database failed or a mail could not be composed: the sender should try again.
pub async fn act_on(forum: &Forum, reverse_path: &str, raw: &[u8]) -> anyhow::Result<()> {
    let letter = match read(raw, reverse_path) {
        Ok(letter) => letter,
        Err(why) => {
            metrics::counter!("dialogforum_inbound_calendar_replies_total", "kind" => "unreadable").increment(1);
            tracing::info!(from = %mask(reverse_path), why, "mail to the organiser address ignored");
            return Ok(());
        }
    };
    let applied = crate::forum::calendar::reply(forum, &letter.reply, &letter.from).await?;
    let partstat = format!("{:?}", letter.reply.partstat).to_ascii_lowercase();
    match applied {
        Applied::Answered(seat) => {
            metrics::counter!("dialogforum_inbound_calendar_replies_total", "kind" => "applied").increment(1);
            tracing::info!(from = %letter.from.masked(), partstat, ?seat, "calendar reply recorded as an answer");
        }
        Applied::Unchanged(why) => {
            metrics::counter!("dialogforum_inbound_calendar_replies_total", "kind" => "unchanged").increment(1);
            tracing::info!(
                from = %letter.from.masked(),
                uid = letter.reply.uid,
                sequence = letter.reply.sequence,
                partstat,
                why,
                "calendar reply changed nothing"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Partstat, read};

    const OUTLOOK_DECLINE: &str = "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:Microsoft Exchange Server 2010\r\n\
        VERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Romance Standard Time\r\nBEGIN:STANDARD\r\n\
        DTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n\
        RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
        BEGIN:VEVENT\r\nATTENDEE;PARTSTAT=DECLINED;CN=\"Jensen, Anna\":mailto:Anna@Firma.example\r\n\
        COMMENT;LANGUAGE=da-DK:Jeg kan desværre ikke\\, beklager.\\n\r\n\
        SUMMARY;LANGUAGE=da-DK:Afvist: Dialogforum: Markedsdialog om et meget langt emne\r\n  der foldes\r\n\
        DTSTART;TZID=Romance Standard Time:20270115T090000\r\nUID:meeting-1@forum.example\r\n\
        DTSTAMP:20261207T120000Z\r\nSEQUENCE:2\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn base64_mail(ics: &str) -> Vec<u8> {
        use base64::Engine;
        let body = base64::engine::general_purpose::STANDARD.encode(ics);
        format!(
            "From: \"Jensen, Anna\" <anna@firma.example>\r\nTo: dialogforum@forum.example\r\n\
             Subject: Afvist: Dialogforum\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nJeg kan ikke.\r\n\
             --b\r\nContent-Type: text/calendar; charset=\"utf-8\"; method=REPLY\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n--b--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn an_outlook_decline_in_base64_is_read() {
        let letter = read(&base64_mail(OUTLOOK_DECLINE), "anna@firma.example").unwrap();
        assert_eq!(letter.from.as_str(), "anna@firma.example");
        assert_eq!(letter.reply.uid, "meeting-1@forum.example");
        assert_eq!(letter.reply.sequence, 2);
        assert_eq!(letter.reply.attendee.as_str(), "anna@firma.example");
        assert_eq!(letter.reply.partstat, Partstat::Declined);
    }

    #[test]
    fn a_google_accept_as_an_ics_attachment_is_read() {
        let ics = "BEGIN:VCALENDAR\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\nVERSION:2.0\n\
                   CALSCALE:GREGORIAN\nMETHOD:REPLY\nBEGIN:VEVENT\nDTSTART:20270115T080000Z\n\
                   DTSTAMP:20261207T120000Z\nORGANIZER;CN=Dialogforum:mailto:dialogforum@forum.example\n\
                   UID:meeting-2@forum.example\nATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;\n \
                   CN=bo@firma.example;X-NUM-GUESTS=0:mailto:bo@firma.example\nSEQUENCE:0\n\
                   END:VEVENT\nEND:VCALENDAR\n";
        let raw = format!(
            "From: Bo <bo@firma.example>\r\nTo: dialogforum@forum.example\r\nSubject: Accepted\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n\
             --m\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nBo has accepted.\r\n\
             --m\r\nContent-Type: application/ics; name=\"invite.ics\"\r\n\
             Content-Disposition: attachment; filename=\"invite.ics\"\r\n\r\n{ics}\r\n--m--\r\n"
        );
        let letter = read(raw.as_bytes(), "bo@firma.example").unwrap();
        assert_eq!(letter.reply.uid, "meeting-2@forum.example");
        assert_eq!(letter.reply.attendee.as_str(), "bo@firma.example");
        assert_eq!(letter.reply.partstat, Partstat::Accepted);
    }

    #[test]
    fn mail_that_is_no_reply_is_refused_with_a_reason() {
        assert_eq!(
            read(b"From: a@b.example\r\nSubject: hej\r\n\r\nhej\r\n", "a@b.example").unwrap_err(),
            "no calendar part"
        );
        let request = OUTLOOK_DECLINE.replace("METHOD:REPLY", "METHOD:REQUEST");
        assert!(read(&base64_mail(&request), "anna@firma.example").is_err());
        assert_eq!(
            read(&base64_mail(OUTLOOK_DECLINE), "someone@elsewhere.example").unwrap_err(),
            "an envelope sender in another domain than the From address"
        );
    }
}
