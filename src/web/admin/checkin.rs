//! Check-in at the door: a page that works on a phone — search by name or
//! organisation, one tap to check someone in, one to undo, a form for
//! walk-ins, and a printable door list with a box to tick for each person. The QR code in a
//! confirmation mail opens one person's check-in page. Beside it, the waiting
//! list, which organisers may reorder, each move with a reason asked for in
//! a confirm step.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use axum::http::StatusCode;

use crate::domain::{Email, MeetingId, Name};
use crate::domain::{Reason, ReasonError, RegistrationId, RegistrationStatus};
use crate::forum::{ForumError, Refusal, door};
use crate::i18n::{Lang, Texts, texts};
use crate::store::meetings::Meeting;
use crate::store::rsvp;
use crate::web::admin::confirm::{ConfirmStep, NoteField};
use crate::web::auth::Organiser;
use crate::web::auth::{Need, needs};
use crate::web::extract::{MeetingForm, OrganiserForm, OrganiserMeeting, Path};
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the check-in page.
pub fn router() -> Router<AppState> {
    needs(
        Need::Personal,
        Router::new()
            .route("/admin/meetings/{id}/checkin", get(page))
            .route("/admin/meetings/{id}/checkin/{registration}", get(person))
            .route("/admin/meetings/{id}/waitlist", get(waitlist))
            .route("/admin/meetings/{id}/door-list", get(door_list)),
    )
    .merge(needs(
        Need::Write,
        Router::new()
            .route("/admin/meetings/{id}/checkin/{registration}", post(toggle))
            .route("/admin/meetings/{id}/waitlist/{registration}", post(move_waitlisted))
            .route("/admin/meetings/{id}/walk-in", post(walk_in)),
    ))
}

/// A person at the door.
pub struct Row {
    pub id: String,
    pub name: String,
    pub organisation: String,
    pub track: String,
    pub checked_in: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/checkin.html")]
struct CheckinPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    meeting_id: String,
    title: String,
    q: String,
    csrf: String,
    rows: Vec<Row>,
    present: usize,
    attending: usize,
    labels: &'static Labels,
    /// The meeting's tracks, (key, title), for a walk-in's track.
    tracks: Vec<(String, String)>,
    /// What the walk-in form holds: name, organisation, address, track.
    walk: [String; 4],
    /// Messages by the walk-in form's fields: (field id, message).
    errors: Vec<(&'static str, String)>,
}

impl CheckinPage {
    /// The message by the field `id`, if any.
    fn error(&self, id: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == id).map(|(_, m)| m.as_str())
    }
}

texts! {
    /// The page's words.
    pub struct Labels {
        heading => "Indtjekning", "Check-in";
        search => "Søg på navn eller organisation", "Search by name or organisation";
        search_button => "Søg", "Search";
        check_in => "Tjek ind", "Check in";
        undo => "Fortryd", "Undo";
        checked_in_at => "tjekket ind", "checked in";
        present => "til stede af", "present of";
        nobody => "Ingen tilmeldte matcher søgningen.", "No registered person matches the search.";
        not_attending => "Personen har ikke en plads på mødet. Status:",
            "This person has no seat at the meeting. Status:";
        to_list => "Til listen over tilmeldte", "To the list of registered people";
        waitlist => "Venteliste", "Waiting list";
        waitlist_empty => "Ingen står på ventelisten.", "Nobody is on the waiting list.";
        waitlist_hint => "Når en plads bliver ledig, går den til den første på listen, hvis sporet og organisationens kvote tillader det. Nye på ventelisten kommer bagest.",
            "When a seat comes free, it goes to the first on the list whose track and organisation quota allow it. People who join the waiting list later come last.";
        up => "Op", "Up";
        down => "Ned", "Down";
        top => "Øverst", "To the top";
        move_heading => "Flyt på ventelisten?", "Move on the waiting list?";
        move_button => "Ja, flyt", "Yes, move";
        reason => "Begrundelse (påkrævet)", "Reason (required)";
        reason_hint => "Hvorfor ændres rækkefølgen? Begrundelsen gemmes i mødets logbog og i revisionsloggen, for at alle behandles ens.",
            "Why does the order change? The reason is kept in the meeting's record and in the audit log, so that everyone is treated alike.";
        reason_needed => "Skriv en begrundelse.", "Give a reason.";
        walk_in => "Tilføj en, der møder op uden tilmelding", "Add someone who comes without registering";
        walk_in_hint => "Personen får en plads og er tjekket ind med det samme. Adressen er frivillig.",
            "The person gets a seat and is checked in at once. The address is optional.";
        walk_name => "Navn", "Name";
        walk_organisation => "Organisation", "Organisation";
        walk_email => "E-mailadresse (frivillig)", "Email address (optional)";
        walk_track => "Spor", "Track";
        walk_button => "Tilføj og tjek ind", "Add and check in";
        no_track => "Intet spor", "No track";
        door_list => "Dørliste til udskrift", "Door list to print";
        door_hint => "Udskriv siden med browserens udskriftsfunktion. Sæt kryds ud for dem, der er kommet.",
            "Print the page with the browser's print function. Tick those who have come.";
        door_tick => "Kommet", "Arrived";
        door_name => "Navn", "Name";
        door_organisation => "Organisation", "Organisation";
        door_track => "Spor", "Track";
        door_nobody => "Ingen har en plads endnu.", "Nobody has a seat yet.";
        back => "Tilbage til indtjekningen", "Back to check-in";
    }
}

#[derive(Deserialize)]
struct Search {
    q: Option<String>,
}

/// The title of the track `key` of `meeting`; the key itself for one since removed.
impl Row {
    /// A person at the door as the check-in page and the door list show them.
    fn of(meeting: &Meeting, lang: Lang, r: rsvp::Registration) -> Self {
        Self {
            id: r.id.to_string(),
            track: track_title(meeting, r.track.as_deref()),
            name: r.name,
            organisation: r.organisation,
            checked_in: r.checked_in_at.map(|t| lang.time(t)),
        }
    }
}

fn track_title(meeting: &Meeting, key: Option<&str>) -> String {
    key.map(|k| meeting.tracks.iter().find(|t| t.key == k).map_or_else(|| k.to_owned(), |t| t.title.clone()))
        .unwrap_or_default()
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganiserMeeting { organiser, meeting }: OrganiserMeeting,
    Query(search): Query<Search>,
) -> Result<CheckinPage> {
    checkin_page(&state, ctx, organiser, meeting, search.q.unwrap_or_default()).await
}

/// The check-in page of `meeting`, those with a seat found by `q`.
async fn checkin_page(
    state: &AppState,
    ctx: Ctx,
    organiser: Organiser,
    meeting: Meeting,
    q: String,
) -> Result<CheckinPage> {
    let id = meeting.id;
    let (attending, found) = door::attending(&state.forum, &organiser.actor(), id, &q).await?;
    let rows = found.into_iter().map(|r| Row::of(&meeting, ctx.lang, r)).collect();
    Ok(CheckinPage {
        tracks: meeting.tracks.iter().map(|t| (t.key.clone(), t.title.clone())).collect(),
        walk: Default::default(),
        errors: Vec::new(),
        lang: ctx.lang,
        t: ctx.lang.texts(),
        path: ctx.path,
        meeting_id: id.to_string(),
        title: meeting.title,
        q,
        csrf: organiser.csrf,
        present: attending.iter().filter(|r| r.checked_in_at.is_some()).count(),
        attending: attending.len(),
        rows,
        labels: Labels::get(ctx.lang),
    })
}

#[derive(Deserialize)]
struct Toggle {
    present: Option<String>,
    q: Option<String>,
    /// `person` to come back to the person's own page (opened from the QR code).
    back: Option<String>,
}

async fn toggle(
    State(state): State<AppState>,
    Path((id, registration)): Path<(MeetingId, RegistrationId)>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let form: Toggle = fields.read()?;
    let present = form.present.as_deref() == Some("yes");
    door::check_in(&state.forum, &organiser.actor(), id, registration, present).await?;
    if form.back.as_deref() == Some("person") {
        return Ok(Redirect::to(&format!("/admin/meetings/{id}/checkin/{registration}")).into_response());
    }
    let q = form.q.unwrap_or_default();
    let back = format!(
        "/admin/meetings/{id}/checkin?q={}#r-{registration}",
        url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
    );
    Ok(Redirect::to(&back).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/checkin_person.html")]
struct PersonPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    meeting_id: String,
    title: String,
    csrf: String,
    row: Row,
    /// The status in words when the person has no seat; `None` when they do.
    no_seat: Option<&'static str>,
    labels: &'static Labels,
}

/// One person's check-in, as the QR code in their confirmation opens it.
/// Opening it changes nothing: the button does.
async fn person(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path((id, registration)): Path<(MeetingId, RegistrationId)>,
) -> Result<PersonPage> {
    let meeting = state.store.meeting(id).await?;
    let r = state.store.registration(registration).await?;
    if r.meeting_id != id {
        return Err(Error::NotFound);
    }
    let entry = crate::store::audit::Entry::read("checkin.person", "registration", Some(r.id.uuid()), "", 1);
    crate::store::audit::record_read(&state.store, &organiser.actor(), &entry).await?;
    Ok(PersonPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        path: ctx.path,
        meeting_id: id.to_string(),
        title: meeting.title.clone(),
        csrf: organiser.csrf,
        no_seat: (r.status != RegistrationStatus::Attending).then(|| ctx.lang.registration_status(r.status)),
        row: Row::of(&meeting, ctx.lang, r),
        labels: Labels::get(ctx.lang),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/checkin_waitlist.html")]
struct WaitlistPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    meeting_id: String,
    title: String,
    csrf: String,
    rows: Vec<Row>,
    labels: &'static Labels,
    confirm: Option<ConfirmStep>,
}

/// The waiting list in order, with buttons to move people up, down or to the top.
async fn waitlist(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path(id): Path<MeetingId>,
) -> Result<WaitlistPage> {
    waitlist_page(&state, ctx, organiser.csrf, id).await
}

async fn waitlist_page(state: &AppState, ctx: Ctx, csrf: String, id: MeetingId) -> Result<WaitlistPage> {
    let meeting = state.store.meeting(id).await?;
    let rows = state
        .store
        .registrations(id)
        .await?
        .into_iter()
        .filter(|r| r.status == RegistrationStatus::Waitlisted)
        .map(|r| Row::of(&meeting, ctx.lang, r))
        .collect();
    Ok(WaitlistPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        path: ctx.path,
        meeting_id: id.to_string(),
        title: meeting.title,
        csrf,
        rows,
        labels: Labels::get(ctx.lang),
        confirm: None,
    })
}

#[derive(Deserialize)]
struct Move {
    /// `top`, `up` or `down`.
    to: String,
}

/// Moves a person on the waiting list, after a confirm step that asks for
/// the reason (sent back with the message by the field when it is missing).
async fn move_waitlisted(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, registration)): Path<(MeetingId, RegistrationId)>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let form: Move = fields.read()?;
    let how = match form.to.as_str() {
        "top" => rsvp::WaitlistMove::Top,
        "up" => rsvp::WaitlistMove::Up,
        "down" => rsvp::WaitlistMove::Down,
        _ => return Err(Error::BadRequest("to must be top, up or down".into())),
    };
    let written = fields.get("message").to_owned();
    let lang = ctx.lang;
    let refused = match (fields.get("confirm"), Reason::parse(&written)) {
        ("yes", Ok(reason)) => {
            door::move_waitlisted(&state.forum, &organiser.actor(), id, registration, how, &reason).await?;
            return Ok(Redirect::to(&format!("/admin/meetings/{id}/waitlist#r-{registration}")).into_response());
        }
        ("yes", Err(ReasonError::Empty)) => Some(Labels::get(lang).reason_needed.to_owned()),
        ("yes", Err(ReasonError::Note(e))) => Some(lang.refused(e)),
        _ => None,
    };
    let who = state.store.registration(registration).await?;
    let l = Labels::get(lang);
    let mut step = move_step(lang, id, &who, form.to);
    step.note = Some(NoteField { label: l.reason, hint: l.reason_hint, value: written, error: refused.clone() });
    let mut page = waitlist_page(&state, ctx, organiser.csrf, id).await?;
    page.confirm = Some(step);
    let status = if refused.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, page).into_response())
}

/// The confirm step of moving `who` on the waiting list of meeting `id`
/// `to` the top, up or down.
fn move_step(lang: Lang, id: MeetingId, who: &rsvp::Registration, to: String) -> ConfirmStep {
    let l = Labels::get(lang);
    let place = match to.as_str() {
        "top" => l.top,
        "up" => l.up,
        _ => l.down,
    };
    let what = vec![format!("{}: {} — {place}", l.waitlist, who.name)];
    let action = format!("/admin/meetings/{id}/waitlist/{}", who.id);
    ConfirmStep::new(lang, l.move_heading, what, action, l.move_button)
        .with(vec![("to", to)])
        .back_to(format!("/admin/meetings/{id}/waitlist"))
}

/// An optional field: `None` when left empty, else what `parse` reads.
fn optional<T, E>(
    typed: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> std::result::Result<Option<T>, E> {
    Some(typed.trim()).filter(|t| !t.is_empty()).map(parse).transpose()
}

/// Adds someone who came without registering, checked in at once; the form
/// comes back with the message by the field when something is wrong.
async fn walk_in(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting, organiser, fields }: MeetingForm,
) -> Result<Response> {
    let (lang, id) = (ctx.lang, meeting.id);
    let walk = ["walk-name", "walk-organisation", "walk-email", "walk-track"].map(|f| fields.get(f).to_owned());
    let mut errors = Vec::new();
    let name = Name::parse(&walk[0]).map_err(|e| errors.push(("walk-name", lang.refused(e)))).ok();
    let organisation =
        optional(&walk[1], Name::parse).map_err(|e| errors.push(("walk-organisation", lang.refused(e)))).ok().flatten();
    let email =
        optional(&walk[2], Email::parse).map_err(|e| errors.push(("walk-email", lang.refused(e)))).ok().flatten();
    if let (Some(name), true) = (name, errors.is_empty()) {
        let track = Some(walk[3].clone()).filter(|t| !t.is_empty());
        let w = door::WalkIn { name, organisation, email, track };
        match door::walk_in(&state.forum, &organiser.actor(), &meeting, w).await {
            Ok(r) => {
                let q: String = url::form_urlencoded::byte_serialize(walk[0].as_bytes()).collect();
                return Ok(Redirect::to(&format!("/admin/meetings/{id}/checkin?q={q}#r-{r}")).into_response());
            }
            Err(ForumError::Refused(Refusal::Suppressed(s))) => {
                errors.push(("walk-email", lang.suppression(s).to_owned()));
            }
            Err(ForumError::Refused(Refusal::UnknownTrack)) => {
                errors.push((
                    "walk-track",
                    lang.pick("Vælg et af mødets spor.", "Choose one of the meeting's tracks.").to_owned(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut page = checkin_page(&state, ctx, organiser, meeting, String::new()).await?;
    page.walk = walk;
    page.errors = errors;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/door_list.html")]
struct DoorListPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    meeting_id: String,
    title: String,
    /// The meeting's date, as a person reads it.
    date: String,
    rows: Vec<Row>,
    labels: &'static Labels,
}

/// Everyone with a seat by name, with organisation, track and a box to tick, for printing.
async fn door_list(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path(id): Path<MeetingId>,
) -> Result<DoorListPage> {
    let meeting = state.store.meeting(id).await?;
    let rows = door::door_list(&state.forum, &organiser.actor(), id)
        .await?
        .into_iter()
        .map(|r| Row::of(&meeting, ctx.lang, r))
        .collect();
    Ok(DoorListPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        path: ctx.path,
        meeting_id: id.to_string(),
        date: ctx.lang.date(meeting.starts_at),
        title: meeting.title,
        rows,
        labels: Labels::get(ctx.lang),
    })
}
