//! What a personal link from a mail answers when it does not work (unknown,
//! mistyped, or past its time): what happened, and a form that asks for a
//! fresh link of the same kind by mail — `POST /rsvp` for an answer link,
//! `POST /evaluation` for an evaluation link, the profile's own `POST /me`
//! for a profile link — which answers the same for every address. An
//! address with nothing of that kind to answer gets a link to its own page
//! instead. The status stays 404, or 410 for a link that has expired.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::domain::Email;
use crate::forum::list::{self, LinkWanted};
use crate::forum::{ForumError, Refusal};
use crate::i18n::{Lang, Texts, texts};
use crate::web::extract::Fields;
use crate::web::forms::message;
use crate::web::{AppState, ClientIp, Ctx, Result};

/// Routes of the requests for a fresh answer or evaluation link.
pub fn router() -> Router<AppState> {
    Router::new().route("/rsvp", post(rsvp_link)).route("/evaluation", post(evaluation_link))
}

async fn rsvp_link(state: State<AppState>, ctx: Ctx, ip: ClientIp, fields: Fields) -> Result<Response> {
    request(state, ctx, ip, fields, LinkKind::Rsvp).await
}

async fn evaluation_link(state: State<AppState>, ctx: Ctx, ip: ClientIp, fields: Fields) -> Result<Response> {
    request(state, ctx, ip, fields, LinkKind::Evaluation).await
}

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
        rsvp_new_link_text => "Skriv din e-mailadresse, så sender vi dig et nyt personligt link til at svare på invitationen til hvert kommende møde, du er inviteret til. Har adressen ingen invitation, sender vi et link til din side hos Dialogforum, hvis vi kender adressen.",
            "Enter your email address and we will send you a new personal link to answer the invitation for each coming meeting you are invited to. If the address has no invitation, we send a link to your page at Dialogforum, if we know the address.";
        evaluation_new_link_text => "Skriv din e-mailadresse, så sender vi dig et nyt personligt link til hver åben evaluering, du har fået og ikke har besvaret. Har adressen ingen, sender vi et link til din side hos Dialogforum, hvis vi kender adressen.",
            "Enter your email address and we will send you a new personal link to each open evaluation you were sent and have not answered. If the address has none, we send a link to your page at Dialogforum, if we know the address.";
        sent_title => "Tjek din indbakke", "Check your inbox";
        sent_text => "Hvis vi kender adressen, har vi sendt en mail med et nyt link. Kommer mailen ikke, så tjek spamfilteret.",
            "If we know the address, we have sent a mail with a new link. If it does not arrive, check your spam filter.";
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
    /// What the form says it sends, and where it is sent.
    asks: &'static str,
    action: &'static str,
    email: String,
    /// Why the address typed was refused.
    error: Option<String>,
}

impl BrokenLinkPage {
    /// The message by the form's one field, the address.
    fn error(&self, field: &str) -> Option<&str> {
        self.error.as_deref().filter(|_| field == "email")
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
    (status, page(ctx, kind, title, text)).into_response()
}

/// The page with its form for a fresh link of `kind`.
fn page(ctx: &Ctx, kind: LinkKind, title: &'static str, text: &'static str) -> BrokenLinkPage {
    let (t, l) = (ctx.lang.texts(), LinkTexts::get(ctx.lang));
    let (asks, action) = match kind {
        LinkKind::Rsvp => (l.rsvp_new_link_text, "/rsvp"),
        LinkKind::Profile => (l.new_link_text, "/me"),
        LinkKind::Evaluation => (l.evaluation_new_link_text, "/evaluation"),
    };
    let path = ctx.path.clone();
    BrokenLinkPage { lang: ctx.lang, t, l, path, title, text, asks, action, email: String::new(), error: None }
}

/// Mails a fresh link of `kind` to the address typed, if it has something
/// to answer of that kind (else a link to its own page), and answers the
/// same for every address; refused beyond the hourly limit per client.
async fn request(
    State(state): State<AppState>,
    ctx: Ctx,
    ip: ClientIp,
    fields: Fields,
    kind: LinkKind,
) -> Result<Response> {
    let typed = fields.get("email");
    let email = match Email::parse(typed) {
        Ok(e) => e,
        Err(e) => {
            let mut page = page(&ctx, kind, ctx.lang.texts().link_invalid_title, "");
            (page.email, page.error) = (typed.to_owned(), Some(ctx.lang.refused(e)));
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let wanted = if kind == LinkKind::Rsvp { LinkWanted::Rsvp } else { LinkWanted::Evaluation };
    match list::send_fresh_link(&state.forum, &state.settings.security, wanted, &email, &ip.0).await {
        Ok(()) => {}
        Err(ForumError::Refused(Refusal::TooManySignups)) => {
            let t = ctx.lang.texts();
            return Ok(
                (StatusCode::TOO_MANY_REQUESTS, message(&ctx, t.too_many_title, t.too_many_text)).into_response()
            );
        }
        Err(e) => return Err(e.into()),
    }
    let l = LinkTexts::get(ctx.lang);
    Ok(message(&ctx, l.sent_title, l.sent_text).into_response())
}
