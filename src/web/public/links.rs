//! What a personal link from a mail answers when it does not work (unknown,
//! mistyped, or past its time): what happened, and a form that asks for a
//! fresh link by mail through the profile's own request (`POST /me`), which
//! answers the same for every address. The status stays 404, or 410 for a
//! link that has expired.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::i18n::{Lang, Texts, texts};
use crate::web::Ctx;

/// The kind of personal link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// `/rsvp/{token}`: answering an invitation.
    Rsvp,
    /// `/me/{token}`: one's own details.
    Profile,
    /// `/evaluation/{token}`: answering an evaluation.
    Evaluation,
}

/// Why a personal link does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// No such link: mistyped, cut short, or never issued.
    Unknown,
    /// The link was real, and its time is over.
    Expired,
}

texts! {
    /// The words of the page for a link that does not work.
    pub struct LinkTexts {
        rsvp_unknown => "Vi kan ikke finde invitationen bag linket. Måske er linket ikke kopieret helt, eller det kommer fra en ældre mail.",
            "We cannot find the invitation behind this link. Perhaps the link was not copied in full, or it comes from an older mail.";
        rsvp_expired => "Mødet er overstået, så linket til at svare på invitationen virker ikke længere.",
            "The meeting is over, so the link for answering the invitation no longer works.";
        profile_unknown => "Vi kan ikke finde din side bag linket. Måske er linket ikke kopieret helt.",
            "We cannot find your page behind this link. Perhaps the link was not copied in full.";
        profile_expired => "Et link til dine oplysninger virker kun en tid, og dette link er for gammelt.",
            "A link to your details works for a limited time only, and this one is too old.";
        evaluation_unknown => "Vi kan ikke finde evalueringen bag linket. Måske er linket ikke kopieret helt.",
            "We cannot find the evaluation behind this link. Perhaps the link was not copied in full.";
        evaluation_expired => "Evalueringen er lukket, så linket virker ikke længere.",
            "The evaluation has closed, so the link no longer works.";
        new_link_heading => "Få et nyt link", "Get a new link";
        new_link_text => "Skriv din e-mailadresse, så sender vi dig et nyt personligt link til din side hos Dialogforum, hvis adressen er på listen. Der kan du se og rette dine oplysninger. Svar på en invitation gennem linket i den nyeste mail om mødet.",
            "Enter your email address and we will send you a new personal link to your page at Dialogforum, if the address is on the list. There you can see and change your details. Answer an invitation through the link in the latest mail about the meeting.";
        new_link_button => "Send mig et nyt link", "Send me a new link";
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "link_broken.html")]
struct BrokenLinkPage {
    lang: Lang,
    t: &'static Texts,
    l: &'static LinkTexts,
    path: String,
    title: &'static str,
    text: &'static str,
}

impl BrokenLinkPage {
    /// The form's one field has no message: it is sent to `/me`, which answers for it.
    #[allow(clippy::unused_self, reason = "the form macros ask every page for its field errors")]
    const fn error(&self, _field: &str) -> Option<&'static str> {
        None
    }
}

/// The page for a personal link of `kind` that does not work, and why: 404,
/// or 410 once expired. It names nobody and tells nothing about the link's
/// holder.
#[must_use]
pub fn broken(ctx: &Ctx, kind: LinkKind, why: Broken) -> Response {
    let (t, l) = (ctx.lang.texts(), LinkTexts::get(ctx.lang));
    let text = match (kind, why) {
        (LinkKind::Rsvp, Broken::Unknown) => l.rsvp_unknown,
        (LinkKind::Rsvp, Broken::Expired) => l.rsvp_expired,
        (LinkKind::Profile, Broken::Unknown) => l.profile_unknown,
        (LinkKind::Profile, Broken::Expired) => l.profile_expired,
        (LinkKind::Evaluation, Broken::Unknown) => l.evaluation_unknown,
        (LinkKind::Evaluation, Broken::Expired) => l.evaluation_expired,
    };
    let (status, title) = match why {
        Broken::Unknown => (StatusCode::NOT_FOUND, t.link_invalid_title),
        Broken::Expired => (StatusCode::GONE, t.link_expired_title),
    };
    (status, BrokenLinkPage { lang: ctx.lang, t, l, path: ctx.path.clone(), title, text }).into_response()
}
