//! Downloads of the exports: a meeting's participants, the mailing list and a
//! meeting's public list of organisations, as CSV (streamed as the rows come
//! from the database) or XLSX. Personal data needs the organiser or admin
//! role, and every download of it is recorded in the audit log.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::Problem;
use crate::domain::MeetingId;
use crate::i18n::Lang;
use crate::store::audit::Actor;
use crate::store::meetings::Meeting;
use crate::transfer::export::{self, Format};
use crate::web::auth::{ApiUser, Need, needs};
use crate::web::download::{ExportQuery, What, check_role, download};
use crate::web::extract::Path;
use crate::web::{AppState, Result};

/// Routes, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    needs(Need::Read, Router::new().route("/meetings/{id}/organisations", get(organisations_json))).merge(needs(
        Need::Export,
        Router::new()
            .route("/meetings/{id}/participants.csv", get(participants_csv))
            .route("/meetings/{id}/participants.xlsx", get(participants_xlsx))
            .route("/meetings/{id}/organisations.csv", get(organisations_csv))
            .route("/meetings/{id}/organisations.xlsx", get(organisations_xlsx))
            .route("/meetings/{id}/evaluation/results.csv", get(evaluation_csv))
            .route("/meetings/{id}/evaluation/results.xlsx", get(evaluation_xlsx))
            .route("/subscribers.csv", get(subscribers_csv))
            .route("/subscribers.xlsx", get(subscribers_xlsx)),
    ))
}

async fn meeting(state: &AppState, id: MeetingId) -> Result<Meeting> {
    Ok(state.store.meeting(id).await?)
}

fn api_download(
    state: &AppState,
    user: &crate::store::users::User,
    what: What,
    format: Format,
    lang: Lang,
) -> Result<Response> {
    check_role(user.role, &what)?;
    download(state, Actor::of(user), what, format, lang)
}

/// A meeting's participant list as CSV: everyone who answered (attending, the
/// waiting list, cancelled, declined). Columns, in this order: name,
/// organisation, CVR number, email, status, track, diet, access needs,
/// checked in at, registered at. UTF-8 with BOM, CRLF, `;` unless `sep=comma`;
/// text beginning with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`.
#[utoipa::path(get, path = "/meetings/{id}/participants.csv",
    params(("id" = Uuid, Path, description = "meeting id"), ExportQuery),
    responses((status = 200, body = String, content_type = "text/csv"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn participants_csv(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<MeetingId>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let (format, lang) = (q.csv()?, q.lang()?);
    api_download(&state, &user, What::Participants(meeting(&state, id).await?), format, lang)
}

/// A meeting's participant list as XLSX (same columns as the CSV; times are
/// date cells, text is always text).
#[utoipa::path(get, path = "/meetings/{id}/participants.xlsx",
    params(("id" = Uuid, Path, description = "meeting id"), ExportQuery),
    responses((status = 200, body = [u8], content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn participants_xlsx(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<MeetingId>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let lang = q.lang()?;
    api_download(&state, &user, What::Participants(meeting(&state, id).await?), Format::Xlsx, lang)
}

/// One organisation on a public list.
#[derive(Serialize, ToSchema)]
pub struct ListedOrganisationJson {
    name: String,
}

/// A meeting's public list of participating organisations.
#[derive(Serialize, ToSchema)]
pub struct OrganisationList {
    items: Vec<ListedOrganisationJson>,
    /// Always `null`: the list comes in one page.
    next: Option<String>,
}

/// A meeting's public list of participating organisations: those of people
/// with a seat who agreed to have their organisation named, in Danish
/// alphabetical order (æ, ø, å after z). Holds no personal data.
#[utoipa::path(get, path = "/meetings/{id}/organisations", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = OrganisationList), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn organisations_json(
    State(state): State<AppState>,
    _: ApiUser,
    Path(id): Path<MeetingId>,
) -> Result<Json<OrganisationList>> {
    let m = meeting(&state, id).await?;
    let names = export::public_organisations(&state.store, m.id).await?;
    Ok(Json(OrganisationList {
        items: names.into_iter().map(|name| ListedOrganisationJson { name }).collect(),
        next: None,
    }))
}

/// The public list of organisations as CSV.
#[utoipa::path(get, path = "/meetings/{id}/organisations.csv",
    params(("id" = Uuid, Path, description = "meeting id"), ExportQuery),
    responses((status = 200, body = String, content_type = "text/csv"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn organisations_csv(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<MeetingId>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let (format, lang) = (q.csv()?, q.lang()?);
    api_download(&state, &user, What::Organisations(meeting(&state, id).await?), format, lang)
}

/// The public list of organisations as XLSX.
#[utoipa::path(get, path = "/meetings/{id}/organisations.xlsx",
    params(("id" = Uuid, Path, description = "meeting id"), ExportQuery),
    responses((status = 200, body = [u8], content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn organisations_xlsx(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<MeetingId>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let lang = q.lang()?;
    api_download(&state, &user, What::Organisations(meeting(&state, id).await?), Format::Xlsx, lang)
}

/// The mailing list as CSV (never guests), oldest sign-up first. Columns:
/// name, email, organisation, status, interests, language, meetings attended,
/// signed up at, confirmed at.
#[utoipa::path(get, path = "/subscribers.csv", params(ExportQuery),
    responses((status = 200, body = String, content_type = "text/csv"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn subscribers_csv(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let (format, lang, status) = (q.csv()?, q.lang()?, q.status()?);
    api_download(&state, &user, What::Subscribers(status), format, lang)
}

/// The mailing list as XLSX.
#[utoipa::path(get, path = "/subscribers.xlsx", params(ExportQuery),
    responses((status = 200, body = [u8], content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn subscribers_xlsx(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let (lang, status) = (q.lang()?, q.status()?);
    api_download(&state, &user, What::Subscribers(status), Format::Xlsx, lang)
}

/// A meeting's evaluation results as CSV: a summary line (responses of
/// recipients), then per question a line with how many answered and the
/// average of a rating, a line per option with count and share (0–1), and a
/// line per free-text answer. Columns: key, question, kind, answer, count,
/// share, average.
#[utoipa::path(get, path = "/meetings/{id}/evaluation/results.csv",
    params(("id" = Uuid, Path, description = "meeting id"), ExportQuery),
    responses((status = 200, body = String, content_type = "text/csv"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn evaluation_csv(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<MeetingId>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let (format, lang) = (q.csv()?, q.lang()?);
    let what = What::evaluation_of(&state.store, meeting(&state, id).await?, state.breakdown_minimum()).await?;
    api_download(&state, &user, what, format, lang)
}

/// A meeting's evaluation results as XLSX (counts and averages are numbers,
/// shares percentages).
#[utoipa::path(get, path = "/meetings/{id}/evaluation/results.xlsx",
    params(("id" = Uuid, Path, description = "meeting id"), ExportQuery),
    responses((status = 200, body = [u8], content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn evaluation_xlsx(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<MeetingId>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let lang = q.lang()?;
    let what = What::evaluation_of(&state.store, meeting(&state, id).await?, state.breakdown_minimum()).await?;
    api_download(&state, &user, what, Format::Xlsx, lang)
}
