//! The words of a notice: one template a kind of mail,
//! `templates/mail/words/<kind>.txt`, with Danish and English side by side,
//! rendered block by block into a [`Notice`]. Rust gathers the values (a
//! title, dates already written out by [`Lang::date`] and [`Lang::time`], a
//! link) and picks the template; what the mail says is in the template.

use crate::i18n::Lang;
use crate::store::meetings::Meeting;

/// A short mail: greeting, paragraphs, at most one button, small print; what
/// a words template renders into, laid out by `mail/notice/body.{html,txt}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub lang: Lang,
    pub subject: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    pub action: Option<(String, String)>,
    pub footer: Vec<String>,
}

/// Declares the values of one kind of notice and derives its words template
/// (`struct Name in "mail/words/kind.txt" { lang: Lang, … }`), rendered one
/// block at a time, and [`Words`].
macro_rules! words {
    (
        $(#[$meta:meta])*
        struct $name:ident $(<$lt:lifetime>)? in $path:tt {
            $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(askama::Template)]
        #[template(
            path = $path,
            escape = "none",
            blocks = ["subject", "greeting", "paragraphs", "button", "footer"]
        )]
        struct $name $(<$lt>)? {
            $($(#[$fmeta])* $field: $ty,)*
        }

        impl $(<$lt>)? $crate::mail::compose::words::Words for $name $(<$lt>)? {
            fn lang(&self) -> $crate::i18n::Lang {
                self.lang
            }

            fn blocks(&self) -> askama::Result<[String; 5]> {
                use askama::Template as _;
                Ok([
                    self.as_subject().render()?,
                    self.as_greeting().render()?,
                    self.as_paragraphs().render()?,
                    self.as_button().render()?,
                    self.as_footer().render()?,
                ])
            }
        }
    };
}
pub(crate) use words;

/// The values of one kind of notice, declared with `words!`, which derives
/// the template and this trait: a struct with a `lang: Lang` field and one
/// field for each value its template names.
pub(crate) trait Words {
    /// The language the notice is written in.
    fn lang(&self) -> Lang;

    /// The rendered blocks: subject, greeting, paragraphs, button, footer.
    fn blocks(&self) -> askama::Result<[String; 5]>;

    /// The notice these words make; its button leads to `url` when given.
    fn notice(&self, url: Option<String>) -> askama::Result<Notice> {
        let [subject, greeting, paragraphs, button, footer] = self.blocks()?;
        Ok(Notice {
            lang: self.lang(),
            subject: subject.trim().to_owned(),
            greeting: greeting.trim().to_owned(),
            paragraphs: lines(&paragraphs),
            action: url.map(|u| (button.trim().to_owned(), u)),
            footer: lines(&footer),
        })
    }
}

/// One paragraph a line, without the empty lines a condition leaves.
fn lines(block: &str) -> Vec<String> {
    block.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// "3. december 2026, kl. 13.00–16.30": the meeting's date, start and end.
pub(super) fn span(meeting: &Meeting, lang: Lang) -> String {
    format!(
        "{}, {}–{}",
        lang.date(meeting.starts_at),
        lang.time(meeting.starts_at),
        lang.time(meeting.ends_at).trim_start_matches("kl. ")
    )
}

/// "3. december 2026, kl. 13.00": the meeting's date and start.
pub(super) fn start(meeting: &Meeting, lang: Lang) -> String {
    format!("{}, {}", lang.date(meeting.starts_at), lang.time(meeting.starts_at))
}

/// The meeting's online joining link, when it is held online and has one.
pub(super) fn joining(meeting: &Meeting) -> Option<&str> {
    (meeting.format != crate::domain::MeetingFormat::Physical && !meeting.online_url.is_empty())
        .then_some(meeting.online_url.as_str())
}

#[cfg(test)]
mod tests {
    use super::super::campaign::{Letter, invitation};
    use super::super::changes::{Change, notice as change_notice};
    use super::super::context::MailContext;
    use super::super::notices::{self, Notice};
    use super::super::{Composer, evaluations, reminders, rsvp};
    use crate::domain::{Email, MeetingFormat, MeetingId, MeetingStatus, Timestamp};
    use crate::i18n::Lang;
    use crate::store::meetings::Meeting;
    use crate::store::rsvp::Seat;

    fn at(t: &str) -> Timestamp {
        t.parse().unwrap()
    }

    /// A hybrid meeting on 3 December 2026, 13.00–16.30 in Copenhagen.
    fn meeting() -> Meeting {
        Meeting {
            id: MeetingId::new(),
            number: Some(7),
            title: "AI i den offentlige sektor".into(),
            description: String::new(),
            themes: Vec::new(),
            starts_at: at("2026-12-03T12:00:00Z"),
            ends_at: at("2026-12-03T15:30:00Z"),
            format: MeetingFormat::Hybrid,
            venue: "KL-huset".into(),
            online_url: "https://meet.example/x".into(),
            capacity: Some(40),
            per_organisation_limit: None,
            registration_deadline: Some(at("2026-11-26T11:00:00Z")),
            status: MeetingStatus::Published,
            ical_sequence: 0,
            tracks: Vec::new(),
            programme: Vec::new(),
            seating: crate::domain::Seating::default(),
            drawn: None,
            created_at: at("2026-01-01T00:00:00Z"),
            updated_at: at("2026-01-01T00:00:00Z"),
        }
    }

    /// The notice has `subject` and says `sentence` in a paragraph or in its small print.
    #[track_caller]
    fn says(n: &Notice, subject: &str, sentence: &str) {
        assert_eq!(n.subject, subject);
        assert!(n.paragraphs.iter().chain(&n.footer).any(|p| p == sentence), "{sentence:?} is not in {n:#?}");
    }

    #[test]
    fn a_fresh_link_says_what_it_opens_in_both_languages() {
        let m = meeting();
        let n = |lang, evaluation| notices::fresh_link_notice(&m, lang, "Dorte", evaluation, "u".into()).unwrap();
        says(
            &n(Lang::Da, false),
            "Dit nye link til at svare på invitationen: AI i den offentlige sektor",
            "Her er et nyt personligt link til din tilmelding til AI i den offentlige sektor (3. december 2026, kl. 13.00). Med det kan du svare, ændre dit svar eller melde fra.",
        );
        says(
            &n(Lang::En, true),
            "Your new link to the evaluation: AI i den offentlige sektor",
            "Here is a new personal link to the evaluation of AI i den offentlige sektor (3 December 2026, 13:00). It works until the evaluation closes.",
        );
        assert_eq!(n(Lang::Da, true).action.map(|a| a.0).as_deref(), Some("Svar på evalueringen"));
        assert_eq!(n(Lang::En, false).greeting, "Dear Dorte");
    }

    #[test]
    fn list_notices_say_their_words_in_both_languages() {
        let n = |lang| notices::confirm_signup_notice(lang, "u".into(), 7).unwrap();
        says(
            &n(Lang::Da),
            "Bekræft din tilmelding til Dialogforum",
            "Linket virker i 7 dage. Har du ikke bedt om at komme på listen, kan du se bort fra denne mail; så sker der intet.",
        );
        says(
            &n(Lang::En),
            "Confirm your Dialogforum sign-up",
            "The link works for 7 days. If you did not ask to join, ignore this mail and nothing will happen.",
        );
        assert_eq!((n(Lang::Da).greeting, n(Lang::En).greeting), ("Hej".into(), "Hello".into()));
        assert_eq!(n(Lang::En).action, Some(("Confirm the sign-up".into(), "u".into())));

        let n = |lang| notices::already_subscribed_notice(lang, "u".into()).unwrap();
        says(
            &n(Lang::Da),
            "Du er allerede på Dialogforums mailingliste",
            "Nogen (måske dig) har forsøgt at tilmelde denne adresse, men den er allerede på listen.",
        );
        says(&n(Lang::En), "You are already on the Dialogforum mailing list", "If this was not you, ignore this mail.");

        let n = |lang| notices::profile_link_notice(lang, "u".into()).unwrap();
        says(
            &n(Lang::Da),
            "Dit link til dine oplysninger i Dialogforum",
            "Her er linket til at se, rette, hente eller slette dine oplysninger.",
        );
        says(
            &n(Lang::En),
            "Your link to your Dialogforum details",
            "Here is the link to see, change, download or erase your details.",
        );

        let n = |lang| notices::confirm_leave_notice(lang, "u".into(), 14).unwrap();
        says(
            &n(Lang::Da),
            "Bekræft, at du vil af Dialogforums mailingliste",
            "Klik på knappen og bekræft på siden, der åbner, for at blive frameldt.",
        );
        says(
            &n(Lang::En),
            "Confirm that you want to leave the Dialogforum mailing list",
            "The link works for 14 days. To stay on the list, ignore this mail and nothing will happen.",
        );

        let n = notices::login_warning_notice("https://forum.example", 5, 15).unwrap();
        says(
            &n,
            "Mislykkede forsøg på at logge ind på din konto i Dialogforum",
            "Nogen har prøvet at logge ind på din konto med en forkert adgangskode 5 gange inden for 15 minutter.",
        );
        assert_eq!(n.paragraphs.len(), 3, "{n:#?}");
        assert_eq!(n.action, Some(("Log ind".into(), "https://forum.example/login".into())));
    }

    #[test]
    fn account_mails_say_their_words_in_both_languages() {
        let n = |lang| notices::password_reset_notice(lang, "u".into(), 60).unwrap();
        says(
            &n(Lang::Da),
            "Nulstil din adgangskode til Dialogforum",
            "Linket virker én gang og i 60 minutter. Har du ikke bedt om det, kan du se bort fra denne mail; din adgangskode er uændret.",
        );
        says(
            &n(Lang::En),
            "Reset your Dialogforum password",
            "The link works once and for 60 minutes. If you did not ask for it, ignore this mail; your password is unchanged.",
        );
        let email = crate::domain::Email::parse("ny@forum.example").unwrap();
        let invitation = |lang, name| notices::Invitation {
            email: &email,
            name,
            inviter: "Anna Andersen",
            role: "arrangør",
            lang,
            days: 7,
        };
        let n = notices::organiser_invite_notice(invitation(Lang::Da, "Mette Bæk"), "u".into()).unwrap();
        says(
            &n,
            "Du er inviteret til Dialogforum",
            "Anna Andersen har oprettet en konto til dig i Dialogforum som arrangør.",
        );
        assert_eq!(n.greeting, "Kære Mette Bæk");
        let n = notices::organiser_invite_notice(invitation(Lang::En, ""), "u".into()).unwrap();
        assert_eq!((n.subject.as_str(), n.greeting.as_str()), ("You are invited to Dialogforum", "Hello"));
        assert_eq!(n.action, Some(("Choose your password".into(), "u".into())));
    }

    #[test]
    fn reminders_say_their_words_in_both_languages() {
        let m = meeting();
        let n = |lang| reminders::deadline_notice(&m, lang, "Anna", "r").unwrap();
        says(
            &n(Lang::Da),
            "Påmindelse: svar på invitationen til AI i den offentlige sektor",
            "Fristen for tilmelding er 26. november 2026 kl. 12.00.",
        );
        says(
            &n(Lang::En),
            "Reminder: answer the invitation to AI i den offentlige sektor",
            "You have not yet answered the invitation to AI i den offentlige sektor (3 December 2026, 13:00–16:30).",
        );
        assert_eq!((n(Lang::Da).greeting, n(Lang::En).greeting), ("Kære Anna".into(), "Dear Anna".into()));

        let n = |lang| reminders::start_notice(&m, lang, "Anna", "b").unwrap();
        says(
            &n(Lang::Da),
            "Påmindelse: AI i den offentlige sektor, 3. december 2026",
            "Tidspunkt: 3. december 2026, kl. 13.00–16.30",
        );
        assert_eq!(
            n(Lang::En).paragraphs,
            [
                "We look forward to seeing you at AI i den offentlige sektor.",
                "When: 3 December 2026, 13:00–16:30",
                "Place: KL-huset",
                "Link to join online: https://meet.example/x",
            ]
        );
        assert_eq!(n(Lang::En).action, Some(("See the programme".into(), "b/meetings/7".into())));
    }

    #[test]
    fn changes_say_their_words_in_both_languages_and_the_link_only_to_the_seated() {
        let m = meeting();
        let n = |lang, seated| change_notice(&m, Change::Rescheduled, lang, "Anna", seated).unwrap();
        assert_eq!(
            n(Lang::Da, true).paragraphs,
            [
                "AI i den offentlige sektor er ændret. Mødet holdes nu 3. december 2026, kl. 13.00–16.30.",
                "Sted: KL-huset",
                "Den vedhæftede fil opdaterer din kalender.",
                "Link til at deltage online: https://meet.example/x",
            ]
        );
        says(&n(Lang::En, true), "Changed: AI i den offentlige sektor", "The attached file updates your calendar.");
        assert_eq!(n(Lang::En, false).paragraphs.len(), 2, "no calendar entry and no joining link without a seat");

        let no_message = crate::domain::Note::default();
        let n = |lang| change_notice(&m, Change::Cancelled(&no_message), lang, "Anna", true).unwrap();
        says(
            &n(Lang::Da),
            "Aflyst: AI i den offentlige sektor",
            "Vi må desværre aflyse AI i den offentlige sektor (3. december 2026, kl. 13.00–16.30).",
        );
        says(
            &n(Lang::En),
            "Cancelled: AI i den offentlige sektor",
            "The attached file takes the meeting out of your calendar.",
        );
        assert_eq!(n(Lang::Da).paragraphs.len(), 2, "no message heading without a message");
        let message = crate::domain::Note::parse("Vi finder en ny dato.\r\n.\r\nVenlig hilsen").unwrap();
        let n = change_notice(&m, Change::Cancelled(&message), Lang::Da, "Anna", true).unwrap();
        assert_eq!(
            n.paragraphs[2..],
            ["Besked fra arrangørerne:", "Vi finder en ny dato.", ".", "Venlig hilsen"],
            "each line of the note is a paragraph"
        );
        let n = change_notice(&m, Change::Cancelled(&message), Lang::En, "Anna", true).unwrap();
        assert_eq!(n.paragraphs[2], "A message from the organisers:");
    }

    #[test]
    fn answers_say_their_words_in_both_languages() {
        let m = meeting();
        let n = |lang, seat| rsvp::confirmation_notice(&m, lang, "Anna", seat, Some("r")).unwrap();
        says(
            &n(Lang::Da, Seat::Attending),
            "Du er tilmeldt: AI i den offentlige sektor",
            "Link til at deltage online: https://meet.example/x",
        );
        says(
            &n(Lang::En, Seat::Attending),
            "You are registered: AI i den offentlige sektor",
            "Thank you for registering for AI i den offentlige sektor (3 December 2026, 13:00). The attached file puts the meeting in your calendar.",
        );
        says(
            &n(Lang::Da, Seat::Waitlisted { place: 3, why: crate::domain::WaitReason::MeetingFull }),
            "Du er på venteliste: AI i den offentlige sektor",
            "Mødet er fuldt. Du er nr. 3 på ventelisten og får besked, så snart der bliver en plads.",
        );
        says(
            &n(Lang::En, Seat::Waitlisted { place: 3, why: crate::domain::WaitReason::MeetingFull }),
            "You are on the waiting list: AI i den offentlige sektor",
            "The meeting is full. You are number 3 on the waiting list and will hear from us as soon as a seat comes free.",
        );
        let track = Seat::Waitlisted { place: 2, why: crate::domain::WaitReason::TrackFull };
        says(
            &n(Lang::Da, track),
            "Du er på venteliste: AI i den offentlige sektor",
            "Det spor, du har valgt, er fuldt. Du er nr. 2 på ventelisten og får besked, så snart der bliver en plads.",
        );
        let quota = Seat::Waitlisted { place: 1, why: crate::domain::WaitReason::OrganisationQuota { limit: 2 } };
        says(
            &n(Lang::En, quota),
            "You are on the waiting list: AI i den offentlige sektor",
            "Your organisation has reached the limit of seats per organisation (2). You are number 1 on the waiting list and will hear from us as soon as a seat comes free.",
        );
        says(
            &n(Lang::Da, Seat::Declined),
            "Tak for dit svar: AI i den offentlige sektor",
            "Vi har noteret, at du ikke deltager i AI i den offentlige sektor (3. december 2026, kl. 13.00).",
        );
        says(
            &n(Lang::En, Seat::Declined),
            "Thank you for your answer: AI i den offentlige sektor",
            "We have noted that you will not attend AI i den offentlige sektor (3 December 2026, 13:00).",
        );
        says(
            &n(Lang::Da, Seat::Applied),
            "Vi har modtaget din ansøgning om en plads: AI i den offentlige sektor",
            "Pladserne til AI i den offentlige sektor (3. december 2026, kl. 13.00) fordeles ved lodtrækning, når ansøgningsfristen udløber. Du får besked på mail om, hvorvidt du har fået en plads eller er kommet på ventelisten.",
        );
        says(
            &n(Lang::En, Seat::Applied),
            "We have your application for a seat: AI i den offentlige sektor",
            "The seats for AI i den offentlige sektor (3 December 2026, 13:00) are drawn by lottery when the application period ends. We will tell you by mail whether you have a seat or a place on the waiting list.",
        );
        assert_eq!(n(Lang::Da, Seat::Declined).paragraphs.len(), 1, "no joining link without a seat");
        assert_eq!(n(Lang::Da, Seat::Declined).action, Some(("Se eller ændr dit svar".into(), "r".into())));
        assert_eq!(rsvp::confirmation_notice(&m, Lang::En, "Anna", Seat::Declined, None).unwrap().action, None);

        let n = |lang| rsvp::promotion_notice(&m, lang, "Anna").unwrap();
        says(
            &n(Lang::Da),
            "Du har fået en plads: AI i den offentlige sektor",
            "Der er blevet en plads til dig på AI i den offentlige sektor (3. december 2026, kl. 13.00). Du er nu tilmeldt.",
        );
        says(
            &n(Lang::En),
            "You have a seat: AI i den offentlige sektor",
            "Link to join online: https://meet.example/x",
        );

        let n = |lang| rsvp::colleague_notice(&m, lang, "Anna", "Bo", "r").unwrap();
        says(
            &n(Lang::Da),
            "Invitation: AI i den offentlige sektor",
            "Bo har givet sin invitation til Dialogforum videre til dig: AI i den offentlige sektor (3. december 2026, kl. 13.00). Svar venligst via knappen.",
        );
        says(
            &n(Lang::En),
            "Invitation: AI i den offentlige sektor",
            "Bo has passed their invitation to Dialogforum on to you: AI i den offentlige sektor (3 December 2026, 13:00). Please answer with the button.",
        );
        assert_eq!(n(Lang::En).action, Some(("Answer the invitation".into(), "r".into())));
    }

    #[test]
    fn invitation_and_evaluation_subjects_in_both_languages() {
        let from = Email::parse("dialogforum@forum.example").unwrap();
        let ctx = MailContext {
            composer: Composer::new(&from, "Dialogforum", None, "dialogforum.forum.example").unwrap(),
            base_url: "https://forum.example".into(),
        };
        let to = Email::parse("anna@firma.example").unwrap();
        let mut m = meeting();
        let subject = |m: &Meeting, lang, test| {
            let letter =
                Letter { to: &to, name: "Anna", organisation: "", lang, rsvp_url: "r".into(), unsubscribe_url: None };
            invitation(&ctx, m, "", &letter, test).unwrap().subject
        };
        assert_eq!(subject(&m, Lang::Da, false), "Invitation: 7. møde i Dialogforum – AI i den offentlige sektor");
        assert_eq!(
            subject(&m, Lang::En, true),
            "[TEST] Invitation: the 7th meeting of Dialogforum – AI i den offentlige sektor"
        );
        m.number = None;
        assert_eq!(subject(&m, Lang::En, false), "Invitation: AI i den offentlige sektor");

        let subject = |lang, reminder| evaluations::subject(lang, "AI", reminder).unwrap();
        assert_eq!(subject(Lang::Da, false), "Evaluering: AI");
        assert_eq!(subject(Lang::Da, true), "Påmindelse om evaluering: AI");
        assert_eq!(subject(Lang::En, false), "Evaluation: AI");
        assert_eq!(subject(Lang::En, true), "Reminder, evaluation: AI");
    }
}
