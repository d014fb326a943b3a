//! Answering an invitation: `/rsvp/{token}` shows the meeting and a form; only
//! the POST records the answer, through [`crate::forum::rsvp`]. The answer can
//! change until the deadline. Before the meeting's opening time the page
//! says when it opens and offers no form; in a lottery not yet drawn a "yes"
//! is an application.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::domain::{Email, MeetingStatus, Name, RegistrationStatus, SingleLine, Timestamp, Token, TokenPurpose};
use crate::forum::{self, ForumError, Refusal};
use crate::i18n::{LISTING_CONSENT_VERSION, Lang, Texts, texts};
use crate::store::meetings::Meeting;
use crate::store::rsvp::{Answer, Registration, Seat};
use crate::store::subscriptions::Consent;
use crate::web::extract::Path;
use crate::web::public::links::{self, Broken, LinkKind};
use crate::web::views::MeetingView;
use crate::web::{AppState, ClientIp, Ctx, Error, Result};

/// Routes for answering invitations.
pub fn router() -> Router<AppState> {
    Router::new().route("/rsvp/{token}", get(page).post(submit)).route("/rsvp/{token}/colleague", post(colleague))
}

texts! {
    /// The texts of the RSVP pages.
    pub struct RsvpTexts {
        title => "Svar på invitationen", "Answer the invitation";
        your_answer => "Deltager du?", "Will you attend?";
        yes => "Ja, jeg deltager", "Yes, I will attend";
        no => "Nej, jeg deltager ikke", "No, I will not attend";
        track => "Hvilket spor vil du følge?", "Which track will you follow?";
        diet => "Kost (fx vegetar, allergier)", "Diet (e.g. vegetarian, allergies)";
        access_needs => "Behov for tilgængelighed (fx kørestol, tolk)", "Access needs (e.g. wheelchair, interpreter)";
        comment => "Kommentar", "Comment";
        listing_legend => "Offentlig deltagerliste", "Public list of participants";
        /// The consent text itself: recorded word for word with the consent.
        listing => "Ja, min organisations navn må stå på den offentlige liste over organisationer, der deltager i mødet. Mit eget navn vises ikke. Jeg kan trække samtykket tilbage ved at svare igen uden kryds.",
            "Yes, my organisation's name may appear on the public list of organisations taking part in the meeting. My own name is not shown. I can withdraw this consent by answering again without the tick.";
        send => "Send svar", "Send answer";
        deadline => "Du kan ændre dit svar indtil", "You can change your answer until";
        closed => "Tilmeldingen er lukket. Kontakt sekretariatet, hvis du har brug for at ændre dit svar.",
            "Registration is closed. Contact the secretariat if you need to change your answer.";
        cancelled => "Mødet er aflyst.", "The meeting is cancelled.";
        passed_on => "Invitationen er givet videre til en kollega, og dette link virker ikke længere.",
            "The invitation was passed on to a colleague, and this link no longer works.";
        now_attending => "Du er tilmeldt. Vi har sendt en bekræftelse med en kalenderfil.",
            "You are registered. We have sent a confirmation with a calendar file.";
        now_waitlisted => "Du er på ventelisten som nr.", "You are on the waiting list as number";
        now_declined => "Tak for dit svar. Vi har noteret, at du ikke deltager.",
            "Thank you for your answer. We have noted that you will not attend.";
        answer_required => "Vælg ja eller nej.", "Choose yes or no.";
        unknown_track => "Vælg et af sporene.", "Choose one of the tracks.";
        current => "Dit nuværende svar", "Your current answer";
        colleague_title => "Send en kollega i stedet", "Send a colleague instead";
        colleague_text => "Kan du ikke selv komme, kan du give invitationen videre til en kollega i din organisation. Har du en plads eller en plads på ventelisten, overtager kollegaen den; dine oplysninger om kost, tilgængelighed og kommentarer følger ikke med. Kollegaen får sit eget link, og dit link holder op med at virke.",
            "If you cannot come yourself, you can pass the invitation on to a colleague in your organisation. If you have a seat or a place on the waiting list, your colleague takes it over; what you told us about diet, access needs and comments stays behind. Your colleague gets a link of their own, and your link stops working.";
        colleague_name => "Kollegaens navn", "Your colleague's name";
        colleague_email => "Kollegaens e-mailadresse", "Your colleague's email address";
        colleague_send => "Giv invitationen videre", "Pass the invitation on";
        colleague_done => "Invitationen er givet videre. Din kollega har fået en mail med sit eget link.",
            "The invitation has been passed on. Your colleague has received a mail with their own link.";
        colleague_domain => "Skriv en adresse i din egen organisation (samme domæne som din).",
            "Give an address in your own organisation (the same domain as yours).";
        colleague_taken => "Invitationen kan ikke gives videre til den adresse. Er din kollega allerede inviteret, har vedkommende sit eget link.",
            "The invitation cannot be passed on to that address. If your colleague is invited already, they have a link of their own.";
        not_open => "Tilmeldingen er ikke åbnet endnu. Alle får samme chance: den åbner", "Registration is not open yet. Everyone gets the same chance: it opens";
        lottery => "Pladserne fordeles ved lodtrækning blandt dem, der svarer ja senest",
            "Seats are drawn by lottery among those who answer yes by";
        now_applied => "Din ansøgning er modtaget. Efter lodtrækningen får du besked på mail, om du har fået en plads.",
            "Your application is received. After the draw we will tell you by mail whether you have a seat.";
        applied => "Ansøgt om en plads (lodtrækning)", "Applied for a seat (lottery)";
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "rsvp.html")]
struct RsvpPage {
    lang: Lang,
    t: &'static Texts,
    r: &'static RsvpTexts,
    path: String,
    token: String,
    m: MeetingView,
    tracks: Vec<(String, String)>,
    name: String,
    current: Option<&'static str>,
    /// Why a person on the waiting list waits, as a sentence.
    waiting: Option<String>,
    attend: Option<bool>,
    track: String,
    diet: String,
    access_needs: String,
    comment: String,
    list_organisation: bool,
    deadline: String,
    /// Why the form is not shown, if it is not.
    closed: Option<&'static str>,
    /// When answers open, while they are not open yet.
    opens: Option<String>,
    /// When the lottery's application window closes, while it takes applications.
    lottery: Option<String>,
    /// The outcome of the answer just given.
    outcome: Option<String>,
    errors: Vec<(&'static str, String)>,
    colleague_name: String,
    colleague_email: String,
}

impl RsvpPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    /// Shows the form again as it was filled in, with the messages by the fields.
    fn keep(&mut self, e: Entered, errors: Vec<(&'static str, String)>) {
        self.errors = errors;
        self.attend = e.attend;
        self.track = e.track.unwrap_or_default();
        (self.diet, self.access_needs, self.comment) = (e.diet, e.access_needs, e.comment);
        self.list_organisation = e.list_organisation;
    }
}

/// The answer deadline: the registration deadline, or the start of the meeting.
fn deadline(m: &Meeting) -> Timestamp {
    m.registration_deadline.unwrap_or(m.starts_at)
}

fn closed_reason(m: &Meeting, reg: &Registration, r: &'static RsvpTexts) -> Option<&'static str> {
    if m.seating.opens_later(Timestamp::now()).is_some() && reg.replaced_by.is_none() && m.status.accepts_answers() {
        Some(r.not_open)
    } else if reg.replaced_by.is_some() {
        Some(r.passed_on)
    } else if m.status == MeetingStatus::Cancelled {
        Some(r.cancelled)
    } else if !m.status.accepts_answers() || Timestamp::now() > deadline(m) {
        Some(r.closed)
    } else {
        None
    }
}

fn status_text(s: RegistrationStatus, lang: Lang) -> Option<&'static str> {
    let (da, en) = match s {
        RegistrationStatus::Invited => return None,
        RegistrationStatus::Attending => ("Tilmeldt", "Registered"),
        RegistrationStatus::Declined => ("Deltager ikke", "Not attending"),
        RegistrationStatus::Waitlisted => ("På venteliste", "On the waiting list"),
        RegistrationStatus::Cancelled => ("Afmeldt", "Cancelled"),
    };
    Some(if lang == Lang::Da { da } else { en })
}

/// The registration and meeting behind a token, or why there is none.
async fn load(state: &AppState, raw: &str) -> Result<std::result::Result<(Registration, Meeting), Broken>> {
    let Some(token) = Token::from_presented(raw) else { return Ok(Err(Broken::Unknown)) };
    let hash = token.hash();
    let Some((link, reg)) = state.store.registration_by_link(&hash, TokenPurpose::Rsvp).await? else {
        // No registration behind it: an expired link still says so.
        let expired =
            state.store.link_token(&hash, TokenPurpose::Rsvp).await?.is_some_and(|t| t.expired(Timestamp::now()));
        return Ok(Err(if expired { Broken::Expired } else { Broken::Unknown }));
    };
    if link.expired(Timestamp::now()) {
        return Ok(Err(Broken::Expired));
    }
    let meeting = state.store.meeting(reg.meeting_id).await?;
    Ok(Ok((reg, meeting)))
}

/// The registration and meeting behind a token with the page of its form,
/// when the form takes an answer; otherwise the response to give: the page of
/// a link that does not work, or the page saying why no answer is taken.
async fn open_form(
    state: &AppState,
    ctx: &Ctx,
    raw: &str,
) -> Result<std::result::Result<(Registration, Meeting, RsvpPage), Response>> {
    let (reg, m) = match load(state, raw).await? {
        Ok(found) => found,
        Err(why) => return Ok(Err(links::broken(ctx, LinkKind::Rsvp, why))),
    };
    let page = view(ctx, raw, &reg, &m);
    if page.closed.is_some() {
        return Ok(Err((StatusCode::CONFLICT, page).into_response()));
    }
    Ok(Ok((reg, m, page)))
}

fn view(ctx: &Ctx, raw: &str, reg: &Registration, m: &Meeting) -> RsvpPage {
    let r = RsvpTexts::get(ctx.lang);
    let at = |t: Timestamp| format!("{} {}", ctx.lang.date(t), ctx.lang.time(t));
    let applied = reg.status == RegistrationStatus::Waitlisted && reg.waitlist_position.is_none();
    RsvpPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        r,
        path: ctx.path.clone(),
        token: raw.to_owned(),
        m: MeetingView::new(m, ctx.lang),
        tracks: m.tracks.iter().map(|t| (t.key.clone(), t.title.clone())).collect(),
        name: reg.name.clone(),
        current: if applied { Some(r.applied) } else { status_text(reg.status, ctx.lang) },
        waiting: None,
        attend: match reg.status {
            RegistrationStatus::Attending | RegistrationStatus::Waitlisted => Some(true),
            RegistrationStatus::Declined => Some(false),
            _ => None,
        },
        track: reg.track.clone().unwrap_or_default(),
        diet: reg.diet.clone(),
        access_needs: reg.access_needs.clone(),
        comment: reg.comment.clone(),
        list_organisation: reg.list_organisation,
        deadline: format!("{} {}", ctx.lang.date(deadline(m)), ctx.lang.time(deadline(m))),
        closed: closed_reason(m, reg, r),
        opens: m.seating.opens_later(Timestamp::now()).map(at),
        lottery: m.seating.applications_close_at.filter(|_| m.seating.takes_applications(m.drawn.is_some())).map(at),
        outcome: None,
        errors: Vec::new(),
        colleague_name: String::new(),
        colleague_email: String::new(),
    }
}

async fn page(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>) -> Result<Response> {
    let (reg, m) = match load(&state, &raw).await? {
        Ok(found) => found,
        Err(why) => return Ok(links::broken(&ctx, LinkKind::Rsvp, why)),
    };
    let mut page = view(&ctx, &raw, &reg, &m);
    if reg.status == RegistrationStatus::Waitlisted && reg.waitlist_position.is_some() {
        page.waiting = Some(ctx.lang.wait_reason(state.store.why_waiting(reg.id).await?));
    }
    Ok(page.into_response())
}

#[derive(serde::Deserialize)]
struct Form {
    answer: Option<String>,
    track: Option<String>,
    #[serde(default)]
    diet: String,
    #[serde(default)]
    access_needs: String,
    #[serde(default)]
    comment: String,
    list_organisation: Option<String>,
}

/// The answer form as sent, read against its meeting.
struct Entered {
    /// `None` when neither yes nor no was chosen.
    attend: Option<bool>,
    track: Option<String>,
    diet: String,
    access_needs: String,
    comment: String,
    list_organisation: bool,
}

impl Entered {
    /// The answer to record: a track only with a yes, and the consent to be
    /// listed, with its text and the client address as proof, when given.
    fn answer(self, lang: Lang, proof: &str) -> Answer {
        let attend = self.attend == Some(true);
        let listing = self.list_organisation.then(|| Consent {
            text: RsvpTexts::get(lang).listing.to_owned(),
            version: LISTING_CONSENT_VERSION.to_owned(),
            method: "web",
            proof: proof.to_owned(),
        });
        let track = if attend { self.track } else { None };
        Answer { attend, track, diet: self.diet, access_needs: self.access_needs, comment: self.comment, listing }
    }
}

impl Form {
    /// Reads the form against meeting `m`, with a message by each field that
    /// is wrong: an answer must be chosen, a "yes" to a meeting with tracks
    /// names one of them, and the free texts are single lines.
    fn read(self, m: &Meeting, lang: Lang) -> (Entered, Vec<(&'static str, String)>) {
        let r = RsvpTexts::get(lang);
        let mut errors = Vec::new();
        let attend = match self.answer.as_deref() {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => {
                errors.push(("answer", r.answer_required.to_owned()));
                None
            }
        };
        let track = self.track.filter(|t| !t.is_empty());
        let known = track.as_ref().is_some_and(|k| m.tracks.iter().any(|t| &t.key == k));
        if attend == Some(true) && !m.tracks.is_empty() && !known {
            errors.push(("track", r.unknown_track.to_owned()));
        }
        let mut text = |field: &'static str, v: &str| {
            SingleLine::parse(v).map_or_else(
                |e| {
                    errors.push((field, lang.refused(e)));
                    v.to_owned()
                },
                SingleLine::into_string,
            )
        };
        let (diet, access_needs, comment) =
            (text("diet", &self.diet), text("access_needs", &self.access_needs), text("comment", &self.comment));
        let list_organisation = self.list_organisation.as_deref() == Some("yes");
        (Entered { attend, track, diet, access_needs, comment, list_organisation }, errors)
    }
}

/// Records an answer through [`forum::rsvp::answer`]; the page then shows
/// the seat it got.
async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    ip: ClientIp,
    Path(raw): Path<String>,
    axum::Form(form): axum::Form<Form>,
) -> Result<Response> {
    let (reg, m, mut page) = match open_form(&state, &ctx, &raw).await? {
        Ok(open) => open,
        Err(response) => return Ok(response),
    };
    let answer = match form.read(&m, ctx.lang) {
        (entered, errors) if errors.is_empty() && entered.attend.is_some() => entered.answer(ctx.lang, &ip.0),
        (entered, errors) => {
            page.keep(entered, errors);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    // What the page shows next: the answer as recorded, without reading it back.
    let mut after = reg.clone();
    (after.track, after.diet, after.access_needs, after.comment) =
        (answer.track.clone(), answer.diet.clone(), answer.access_needs.clone(), answer.comment.clone());
    after.list_organisation = answer.listing.is_some();
    let rsvp_url = format!("{}/rsvp/{raw}", state.settings.base_url());
    match forum::rsvp::answer(&state.forum, &reg, &m, answer, ctx.lang, rsvp_url).await {
        Ok(seat) => Ok(answered(&ctx, &raw, after, &m, seat).into_response()),
        Err(ForumError::Refused(Refusal::PassedOn)) => {
            page.closed = Some(page.r.passed_on);
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(ForumError::Refused(Refusal::NotOpenYet { opens_at })) => {
            page.closed = Some(page.r.not_open);
            page.opens = Some(format!("{} {}", ctx.lang.date(opens_at), ctx.lang.time(opens_at)));
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The page after an answer was recorded, saying what it led to.
fn answered(ctx: &Ctx, raw: &str, mut after: Registration, m: &Meeting, seat: Seat) -> RsvpPage {
    let r = RsvpTexts::get(ctx.lang);
    after.status = match seat {
        Seat::Attending => RegistrationStatus::Attending,
        Seat::Waitlisted { .. } | Seat::Applied => RegistrationStatus::Waitlisted,
        Seat::Declined => RegistrationStatus::Declined,
    };
    let mut page = view(ctx, raw, &after, m);
    page.outcome = Some(match seat {
        Seat::Attending => r.now_attending.to_owned(),
        Seat::Waitlisted { place, why } => format!("{} {} {place}.", ctx.lang.wait_reason(why), r.now_waitlisted),
        Seat::Declined => r.now_declined.to_owned(),
        Seat::Applied => r.now_applied.to_owned(),
    });
    page
}

#[derive(serde::Deserialize)]
struct ColleagueForm {
    #[serde(default)]
    colleague_name: String,
    #[serde(default)]
    colleague_email: String,
}

impl ColleagueForm {
    /// The colleague's name and address, which must be at the inviter's
    /// organisation (the same mail domain); or the messages by the fields.
    fn read(&self, inviter: &Email, lang: Lang) -> std::result::Result<(Name, Email), Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let name = Name::parse(&self.colleague_name).map_err(|e| errors.push(("colleague_name", lang.refused(e)))).ok();
        let email = match Email::parse(&self.colleague_email) {
            Ok(e) if forum::rsvp::may_pass_to(inviter, &e) => Some(e),
            Ok(_) => {
                errors.push(("colleague_email", RsvpTexts::get(lang).colleague_domain.to_owned()));
                None
            }
            Err(e) => {
                errors.push(("colleague_email", lang.refused(e)));
                None
            }
        };
        match (name, email) {
            (Some(name), Some(email)) => Ok((name, email)),
            _ => Err(errors),
        }
    }
}

/// Passes the invitation on to a colleague at the same organisation (an
/// address in the same domain): the colleague takes over the seat or the
/// place on the waiting list, if any, with a link of their own, and this
/// link stops working (see [`forum::rsvp::pass_on`]).
async fn colleague(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw): Path<String>,
    axum::Form(form): axum::Form<ColleagueForm>,
) -> Result<Response> {
    let (reg, m, mut page) = match open_form(&state, &ctx, &raw).await? {
        Ok(open) => open,
        Err(response) => return Ok(response),
    };
    let inviter = Email::parse(&reg.email).map_err(|e| Error::Internal(e.into()))?;
    let (name, email) = match form.read(&inviter, ctx.lang) {
        Ok(found) => found,
        Err(errors) => {
            page.errors = errors;
            (page.colleague_name, page.colleague_email) = (form.colleague_name, form.colleague_email);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    match forum::rsvp::pass_on(&state.forum, &reg, &m, &name, &email, ctx.lang).await {
        Ok(()) => {}
        Err(ForumError::Refused(Refusal::ColleagueRefused)) => {
            page.errors = vec![("colleague_email", page.r.colleague_taken.to_owned())];
            (page.colleague_name, page.colleague_email) = (form.colleague_name, form.colleague_email);
            return Ok((StatusCode::CONFLICT, page).into_response());
        }
        Err(ForumError::Refused(Refusal::PassedOn)) => {
            page.closed = Some(page.r.passed_on);
            return Ok((StatusCode::CONFLICT, page).into_response());
        }
        Err(e) => return Err(e.into()),
    }
    let mut page = view(&ctx, &raw, &state.store.registration(reg.id).await?, &m);
    page.outcome = Some(page.r.colleague_done.to_owned());
    Ok(page.into_response())
}
