//! Check-in at the door: a page that works on a phone — search by name or
//! organisation, one tap to check someone in, one to undo.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::auth::Organiser;
use super::{AppState, Ctx, Error, Result};
use crate::domain::{MeetingId, RegistrationId, RegistrationStatus};
use crate::i18n::{Lang, Texts};
use crate::store::audit::{self, Actor, Entry};
use crate::store::rsvp;

/// Routes of the check-in page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/meetings/{id}/checkin", get(page))
        .route("/admin/meetings/{id}/checkin/{registration}", post(toggle))
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
    let id: MeetingId = id.parse().map_err(|_| Error::NotFound)?;
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
        let actor = Actor::User { id: organiser.user.id.uuid(), label: organiser.user.email.masked() };
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
}

async fn toggle(
    State(state): State<AppState>,
    organiser: Organiser,
    Path((id, registration)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    organiser.check_csrf(&body)?;
    organiser.require_write()?;
    let id: MeetingId = id.parse().map_err(|_| Error::NotFound)?;
    let registration: RegistrationId = registration.parse().map_err(|_| Error::NotFound)?;
    let form: Toggle = serde_urlencoded::from_bytes(&body).map_err(|e| Error::BadRequest(e.to_string()))?;
    let present = form.present.as_deref() == Some("yes");
    let mut tx = state.store.begin().await?;
    rsvp::check_in(&mut tx, id, registration, present.then(crate::store::now)).await?;
    let actor = Actor::User { id: organiser.user.id.uuid(), label: organiser.user.email.masked() };
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
    let q = form.q.unwrap_or_default();
    let back = format!(
        "/admin/meetings/{id}/checkin?q={}#r-{registration}",
        url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
    );
    Ok(Redirect::to(&back).into_response())
}
