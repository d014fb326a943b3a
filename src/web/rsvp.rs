//! Answering an invitation: `/rsvp/{token}` shows the meeting and a form; only
//! the POST records the answer. The answer can change until the deadline.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::pages::MeetingView;
use super::subscribe::mail_context;
use super::{AppState, Ctx, Error, Result};
use crate::domain::{Email, MeetingStatus, RegistrationStatus, SingleLine, Timestamp, Token, TokenPurpose};
use crate::i18n::{Lang, Texts};
use crate::mail::notices::To;
use crate::store::StoreError;
use crate::store::audit::{self, Actor, Entry};
use crate::store::meetings::Meeting;
use crate::store::rsvp::{self, Answer, Locking, Registration, Seat};

/// Routes for answering invitations.
pub fn router() -> Router<AppState> {
    Router::new().route("/rsvp/{token}", get(page).post(submit))
}

/// The texts of the RSVP pages.
pub struct RsvpTexts {
    pub title: &'static str,
    pub your_answer: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub track: &'static str,
    pub diet: &'static str,
    pub access_needs: &'static str,
    pub comment: &'static str,
    pub send: &'static str,
    pub deadline: &'static str,
    pub closed: &'static str,
    pub cancelled: &'static str,
    pub passed_on: &'static str,
    pub now_attending: &'static str,
    pub now_waitlisted: &'static str,
    pub now_declined: &'static str,
    pub answer_required: &'static str,
    pub unknown_track: &'static str,
    pub current: &'static str,
}

const DA: RsvpTexts = RsvpTexts {
    title: "Svar på invitationen",
    your_answer: "Deltager du?",
    yes: "Ja, jeg deltager",
    no: "Nej, jeg deltager ikke",
    track: "Hvilket spor vil du følge?",
    diet: "Kost (fx vegetar, allergier)",
    access_needs: "Behov for tilgængelighed (fx kørestol, tolk)",
    comment: "Kommentar",
    send: "Send svar",
    deadline: "Du kan ændre dit svar indtil",
    closed: "Tilmeldingen er lukket. Kontakt sekretariatet, hvis du har brug for at ændre dit svar.",
    cancelled: "Mødet er aflyst.",
    passed_on: "Invitationen er givet videre til en kollega, og dette link virker ikke længere.",
    now_attending: "Du er tilmeldt. Vi har sendt en bekræftelse med en kalenderfil.",
    now_waitlisted: "Mødet er fuldt. Du er på ventelisten som nr.",
    now_declined: "Tak for dit svar. Vi har noteret, at du ikke deltager.",
    answer_required: "Vælg ja eller nej.",
    unknown_track: "Vælg et af sporene.",
    current: "Dit nuværende svar",
};

const EN: RsvpTexts = RsvpTexts {
    title: "Answer the invitation",
    your_answer: "Will you attend?",
    yes: "Yes, I will attend",
    no: "No, I will not attend",
    track: "Which track will you follow?",
    diet: "Diet (e.g. vegetarian, allergies)",
    access_needs: "Access needs (e.g. wheelchair, interpreter)",
    comment: "Comment",
    send: "Send answer",
    deadline: "You can change your answer until",
    closed: "Registration is closed. Contact the secretariat if you need to change your answer.",
    cancelled: "The meeting is cancelled.",
    passed_on: "The invitation was passed on to a colleague, and this link no longer works.",
    now_attending: "You are registered. We have sent a confirmation with a calendar file.",
    now_waitlisted: "The meeting is full. You are on the waiting list as number",
    now_declined: "Thank you for your answer. We have noted that you will not attend.",
    answer_required: "Choose yes or no.",
    unknown_track: "Choose one of the tracks.",
    current: "Your current answer",
};

const fn texts(lang: Lang) -> &'static RsvpTexts {
    match lang {
        Lang::Da => &DA,
        Lang::En => &EN,
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
    attend: Option<bool>,
    track: String,
    diet: String,
    access_needs: String,
    comment: String,
    deadline: String,
    /// Why the form is not shown, if it is not.
    closed: Option<&'static str>,
    /// The outcome of the answer just given.
    outcome: Option<String>,
    errors: Vec<(&'static str, String)>,
}

impl RsvpPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }
}

/// The answer deadline: the registration deadline, or the start of the meeting.
fn deadline(m: &Meeting) -> Timestamp {
    m.registration_deadline.unwrap_or(m.starts_at)
}

fn closed_reason(m: &Meeting, reg: &Registration, r: &'static RsvpTexts) -> Option<&'static str> {
    if reg.replaced_by.is_some() {
        Some(r.passed_on)
    } else if m.status == MeetingStatus::Cancelled {
        Some(r.cancelled)
    } else if !matches!(m.status, MeetingStatus::Published | MeetingStatus::Open) || Timestamp::now() > deadline(m) {
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

/// The registration and meeting behind a token, or a page explaining why not.
async fn load(state: &AppState, raw: &str) -> Result<Option<(Token, Registration, Meeting)>> {
    let Some(token) = Token::from_presented(raw) else { return Ok(None) };
    let Some(found) = state.store.link_token(&token.hash(), TokenPurpose::Rsvp).await? else { return Ok(None) };
    if found.expired(Timestamp::now()) {
        return Ok(None);
    }
    let Some(id) = found.registration_id else { return Ok(None) };
    let reg = state.store.registration(id).await?;
    let meeting = state.store.meeting(reg.meeting_id).await?;
    Ok(Some((token, reg, meeting)))
}

fn view(ctx: &Ctx, raw: &str, reg: &Registration, m: &Meeting) -> RsvpPage {
    let r = texts(ctx.lang);
    RsvpPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        r,
        path: ctx.path.clone(),
        token: raw.to_owned(),
        m: MeetingView::new(m, ctx.lang),
        tracks: m.tracks.iter().map(|t| (t.key.clone(), t.title.clone())).collect(),
        name: reg.name.clone(),
        current: status_text(reg.status, ctx.lang),
        attend: match reg.status {
            RegistrationStatus::Attending | RegistrationStatus::Waitlisted => Some(true),
            RegistrationStatus::Declined => Some(false),
            _ => None,
        },
        track: reg.track.clone().unwrap_or_default(),
        diet: reg.diet.clone(),
        access_needs: reg.access_needs.clone(),
        comment: reg.comment.clone(),
        deadline: format!("{} {}", ctx.lang.date(deadline(m)), ctx.lang.time(deadline(m))),
        closed: closed_reason(m, reg, r),
        outcome: None,
        errors: Vec::new(),
    }
}

async fn page(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>) -> Result<Response> {
    let Some((_, reg, m)) = load(&state, &raw).await? else { return Err(Error::NotFound) };
    Ok(view(&ctx, &raw, &reg, &m).into_response())
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
}

async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw): Path<String>,
    axum::Form(form): axum::Form<Form>,
) -> Result<Response> {
    let Some((_, reg, m)) = load(&state, &raw).await? else { return Err(Error::NotFound) };
    let r = texts(ctx.lang);
    let mut page = view(&ctx, &raw, &reg, &m);
    if page.closed.is_some() {
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let mut errors = Vec::new();
    let attend = match form.answer.as_deref() {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => {
            errors.push(("answer", r.answer_required.to_owned()));
            None
        }
    };
    let track = form.track.filter(|t| !t.is_empty());
    if attend == Some(true)
        && !m.tracks.is_empty()
        && !track.as_ref().is_some_and(|k| m.tracks.iter().any(|t| &t.key == k))
    {
        errors.push(("track", r.unknown_track.to_owned()));
    }
    let mut text = |field: &'static str, v: &str| {
        SingleLine::parse(v).map_or_else(
            |e| {
                errors.push((field, e.message().to_owned()));
                v.to_owned()
            },
            SingleLine::into_string,
        )
    };
    let diet = text("diet", &form.diet);
    let access_needs = text("access_needs", &form.access_needs);
    let comment = text("comment", &form.comment);
    let Some(attend) = attend.filter(|_| errors.is_empty()) else {
        page.errors = errors;
        page.attend = attend;
        page.track = track.unwrap_or_default();
        (page.diet, page.access_needs, page.comment) = (diet, access_needs, comment);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let answer = Answer { attend, track: if attend { track } else { None }, diet, access_needs, comment };
    let (mut tx, seat, promoted) = match rsvp::answer(&state.store, reg.id, &answer, Locking::PerMeeting).await {
        Ok(x) => x,
        Err(StoreError::Conflict(_)) => {
            page.closed = Some(r.passed_on);
            return Ok((StatusCode::CONFLICT, page).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let mail = mail_context(&state);
    let email = Email::parse(&reg.email).map_err(|e| Error::Internal(e.into()))?;
    let lang = ctx.lang;
    let rsvp_url = format!("{}/rsvp/{raw}", mail.base_url);
    let to = To { person: reg.person_id, email: &email, name: &reg.name, lang };
    crate::mail::rsvp::confirm_answer(&mut tx, &mail, to, &m, seat, Some(&rsvp_url)).await?;
    for id in &promoted {
        // Read inside the transaction's snapshot is not needed: the promoted
        // person's address and name do not change with the answer.
        let p = state.store.registration(*id).await?;
        let (email, _, _, language) = state.store.person_contact(p.person_id).await?;
        let to = To { person: p.person_id, email: &email, name: &p.name, lang: Lang::from_code(&language) };
        crate::mail::rsvp::promoted(&mut tx, &mail, to, &m).await?;
    }
    let action = match seat {
        Seat::Attending => "rsvp.attending",
        Seat::Waitlisted { .. } => "rsvp.waitlisted",
        Seat::Declined => "rsvp.declined",
    };
    let entry =
        Entry { action, subject_kind: "registration", subject_id: Some(reg.id.uuid()), detail: "", row_count: None };
    audit::record(&mut tx, &Actor::Person(reg.person_id.uuid()), &entry).await?;
    tx.commit().await?;
    state.mail_wake.notify_one();

    let reg = state.store.registration(reg.id).await?;
    let mut page = view(&ctx, &raw, &reg, &m);
    page.outcome = Some(match seat {
        Seat::Attending => r.now_attending.to_owned(),
        Seat::Waitlisted { place } => format!("{} {place}.", r.now_waitlisted),
        Seat::Declined => r.now_declined.to_owned(),
    });
    Ok(page.into_response())
}
