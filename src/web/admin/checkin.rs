//! Check-in at the door: a page that works on a phone — search by name or
//! organisation, one tap to check someone in, one to undo. The QR code in a
//! confirmation mail opens one person's check-in page. Beside it, the waiting
//! list, which organisers may reorder.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::domain::{RegistrationId, RegistrationStatus};
use crate::i18n::{Lang, Texts};
use crate::store::audit::{self, Entry};
use crate::store::rsvp;
use crate::web::auth::Organiser;
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the check-in page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/meetings/{id}/checkin", get(page))
        .route("/admin/meetings/{id}/checkin/{registration}", get(person).post(toggle))
        .route("/admin/meetings/{id}/waitlist", get(waitlist))
        .route("/admin/meetings/{id}/waitlist/{registration}", post(move_waitlisted))
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
}

/// The page's words.
pub struct Labels {
    heading: &'static str,
    search: &'static str,
    search_button: &'static str,
    check_in: &'static str,
    undo: &'static str,
    checked_in_at: &'static str,
    present: &'static str,
    nobody: &'static str,
    not_attending: &'static str,
    to_list: &'static str,
    waitlist: &'static str,
    waitlist_empty: &'static str,
    waitlist_hint: &'static str,
    up: &'static str,
    down: &'static str,
    top: &'static str,
}

const DA: Labels = Labels {
    heading: "Indtjekning",
    search: "Søg på navn eller organisation",
    search_button: "Søg",
    check_in: "Tjek ind",
    undo: "Fortryd",
    checked_in_at: "tjekket ind",
    present: "til stede af",
    nobody: "Ingen tilmeldte matcher søgningen.",
    not_attending: "Personen har ikke en plads på mødet. Status:",
    to_list: "Til listen over tilmeldte",
    waitlist: "Venteliste",
    waitlist_empty: "Ingen står på ventelisten.",
    waitlist_hint: "Når en plads bliver ledig, går den til den første på listen, hvis sporet og organisationens kvote tillader det. Nye på ventelisten kommer bagest.",
    up: "Op",
    down: "Ned",
    top: "Øverst",
};

const EN: Labels = Labels {
    heading: "Check-in",
    search: "Search by name or organisation",
    search_button: "Search",
    check_in: "Check in",
    undo: "Undo",
    checked_in_at: "checked in",
    present: "present of",
    nobody: "No registered person matches the search.",
    not_attending: "This person has no seat at the meeting. Status:",
    to_list: "To the list of registered people",
    waitlist: "Waiting list",
    waitlist_empty: "Nobody is on the waiting list.",
    waitlist_hint: "When a seat comes free, it goes to the first on the list whose track and organisation quota allow it. People who join the waiting list later come last.",
    up: "Up",
    down: "Down",
    top: "To the top",
};

#[derive(Deserialize)]
struct Search {
    q: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path(id): Path<String>,
    Query(search): Query<Search>,
) -> Result<CheckinPage> {
    let id = crate::web::meeting_id(&id)?;
    let meeting = state.store.meeting(id).await?;
    let attending: Vec<_> = state
        .store
        .registrations(id)
        .await?
        .into_iter()
        .filter(|r| r.status == RegistrationStatus::Attending)
        .collect();
    let q = search.q.unwrap_or_default();
    let needle = q.trim().to_lowercase();
    let rows: Vec<Row> = attending
        .iter()
        .filter(|r| {
            needle.is_empty()
                || r.name.to_lowercase().contains(&needle)
                || r.organisation.to_lowercase().contains(&needle)
        })
        .map(|r| Row {
            id: r.id.to_string(),
            name: r.name.clone(),
            organisation: r.organisation.clone(),
            track: r.track.clone().unwrap_or_default(),
            checked_in: r.checked_in_at.map(|t| ctx.lang.time(t)),
        })
        .collect();
    if !needle.is_empty() {
        let mut tx = state.store.begin().await?;
        let actor = organiser.actor();
        let count = i64::try_from(rows.len()).ok();
        let entry = Entry {
            action: "checkin.search",
            subject_kind: "meeting",
            subject_id: Some(id.uuid()),
            detail: &q,
            row_count: count,
        };
        audit::record(&mut tx, &actor, &entry).await?;
        tx.commit().await?;
    }
    if needle.is_empty() {
        let entry = Entry::read("checkin.view", "meeting", Some(id.uuid()), "", rows.len());
        audit::record_read(&state.store, &organiser.actor(), &entry).await?;
    }
    Ok(CheckinPage {
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
        labels: if ctx.lang == Lang::En { &EN } else { &DA },
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
    organiser: Organiser,
    Path((id, registration)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    organiser.check_csrf(&body)?;
    organiser.require_write()?;
    let id = crate::web::meeting_id(&id)?;
    let registration: RegistrationId = registration.parse().map_err(|_| Error::NotFound)?;
    let form: Toggle = serde_urlencoded::from_bytes(&body).map_err(|e| Error::BadRequest(e.to_string()))?;
    let present = form.present.as_deref() == Some("yes");
    let mut tx = state.store.begin().await?;
    rsvp::check_in(&mut tx, id, registration, present.then(crate::store::now)).await?;
    let actor = organiser.actor();
    let action = if present { "registration.check_in" } else { "registration.check_in_undone" };
    audit::record(
        &mut tx,
        &actor,
        &Entry {
            action,
            subject_kind: "registration",
            subject_id: Some(registration.uuid()),
            detail: "",
            row_count: None,
        },
    )
    .await?;
    tx.commit().await?;
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

fn status_words(s: RegistrationStatus, lang: Lang) -> &'static str {
    let (da, en) = match s {
        RegistrationStatus::Invited => ("inviteret, har ikke svaret", "invited, no answer yet"),
        RegistrationStatus::Attending => ("tilmeldt", "registered"),
        RegistrationStatus::Declined => ("deltager ikke", "not attending"),
        RegistrationStatus::Waitlisted => ("på venteliste", "on the waiting list"),
        RegistrationStatus::Cancelled => ("afmeldt", "cancelled"),
    };
    if lang == Lang::En { en } else { da }
}

/// One person's check-in, as the QR code in their confirmation opens it.
/// Opening it changes nothing: the button does.
async fn person(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path((id, registration)): Path<(String, String)>,
) -> Result<PersonPage> {
    let id = crate::web::meeting_id(&id)?;
    let registration: RegistrationId = registration.parse().map_err(|_| Error::NotFound)?;
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
        title: meeting.title,
        csrf: organiser.csrf,
        no_seat: (r.status != RegistrationStatus::Attending).then(|| status_words(r.status, ctx.lang)),
        row: Row {
            id: r.id.to_string(),
            name: r.name,
            organisation: r.organisation,
            track: r.track.unwrap_or_default(),
            checked_in: r.checked_in_at.map(|t| ctx.lang.time(t)),
        },
        labels: if ctx.lang == Lang::En { &EN } else { &DA },
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
}

/// The waiting list in order, with buttons to move people up, down or to the top.
async fn waitlist(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path(id): Path<String>,
) -> Result<WaitlistPage> {
    let id = crate::web::meeting_id(&id)?;
    let meeting = state.store.meeting(id).await?;
    let rows = state
        .store
        .registrations(id)
        .await?
        .into_iter()
        .filter(|r| r.status == RegistrationStatus::Waitlisted)
        .map(|r| Row {
            id: r.id.to_string(),
            name: r.name,
            organisation: r.organisation,
            track: r.track.unwrap_or_default(),
            checked_in: None,
        })
        .collect();
    Ok(WaitlistPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        path: ctx.path,
        meeting_id: id.to_string(),
        title: meeting.title,
        csrf: organiser.csrf,
        rows,
        labels: if ctx.lang == Lang::En { &EN } else { &DA },
    })
}

#[derive(Deserialize)]
struct Move {
    /// `top`, `up` or `down`.
    to: String,
}

async fn move_waitlisted(
    State(state): State<AppState>,
    organiser: Organiser,
    Path((id, registration)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    organiser.check_csrf(&body)?;
    organiser.require_write()?;
    let id = crate::web::meeting_id(&id)?;
    let registration: RegistrationId = registration.parse().map_err(|_| Error::NotFound)?;
    let form: Move = serde_urlencoded::from_bytes(&body).map_err(|e| Error::BadRequest(e.to_string()))?;
    let how = match form.to.as_str() {
        "top" => rsvp::WaitlistMove::Top,
        "up" => rsvp::WaitlistMove::Up,
        "down" => rsvp::WaitlistMove::Down,
        _ => return Err(Error::BadRequest("to must be top, up or down".into())),
    };
    let mut tx = state.store.begin().await?;
    rsvp::move_waitlisted(&mut tx, id, registration, how).await?;
    let actor = organiser.actor();
    let entry = Entry {
        action: "waitlist.move",
        subject_kind: "registration",
        subject_id: Some(registration.uuid()),
        detail: &form.to,
        row_count: None,
    };
    audit::record(&mut tx, &actor, &entry).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/meetings/{id}/waitlist#r-{registration}")).into_response())
}
