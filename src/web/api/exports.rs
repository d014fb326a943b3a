//! Downloads of the exports: a meeting's participants, the mailing list and a
//! meeting's public list of organisations, as CSV (streamed as the rows come
//! from the database) or XLSX. Personal data needs the organiser or admin
//! role, and every download of it is recorded in the audit log.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Caller, Problem};
use crate::domain::MeetingId;
use crate::transfer::export::{self, Format};
use crate::web::auth::{Need, needs};
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

/// What a download path names: which export, of which meeting.
#[derive(Clone, Copy)]
enum Of {
    Participants(MeetingId),
    Organisations(MeetingId),
    Evaluation(MeetingId),
    Subscribers,
}

/// The file a download path ends in: CSV takes its separator from the query.
#[derive(Clone, Copy)]
enum File {
    Csv,
    Xlsx,
}

/// A download as asked for: the account asking and the options in the
/// query. Every download path takes this, so that each path's handler only
/// says what it exports.
pub struct Asked {
    caller: Caller,
    query: ExportQuery,
}

impl FromRequestParts<AppState> for Asked {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let caller = Caller::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let Query(query) = Query::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        Ok(Self { caller, query })
    }
}

impl Asked {
    /// The download of `of` as `file`: the options are read first (format,
    /// language, then the mailing list's status filter), then the meeting,
    /// then the role is checked against what the export holds.
    async fn download(self, of: Of, file: File) -> Result<Response> {
        let Self { caller: Caller { state, user }, query } = self;
        let format = match file {
            File::Csv => query.csv()?,
            File::Xlsx => Format::Xlsx,
        };
        let lang = query.lang()?;
        let what = match of {
            Of::Participants(id) => What::Participants(state.store.meeting(id).await?),
            Of::Organisations(id) => What::Organisations(state.store.meeting(id).await?),
            Of::Evaluation(id) => {
                What::evaluation_of(&state.store, state.store.meeting(id).await?, state.breakdown_minimum()).await?
            }
            Of::Subscribers => What::Subscribers(query.status()?),
        };
        check_role(user.role, &what)?;
        download(&state, crate::store::audit::Actor::of(&user), what, format, lang)
    }
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
async fn participants_csv(Path(id): Path<MeetingId>, asked: Asked) -> Result<Response> {
    asked.download(Of::Participants(id), File::Csv).await
}

/// A meeting's participant list as XLSX (same columns as the CSV; times are
/// date cells, text is always text).
#[utoipa::path(get, path = "/meetings/{id}/participants.xlsx",
    params(("id" = Uuid, Path, description = "meeting id"), ExportQuery),
    responses((status = 200, body = [u8], content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn participants_xlsx(Path(id): Path<MeetingId>, asked: Asked) -> Result<Response> {
    asked.download(Of::Participants(id), File::Xlsx).await
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
async fn organisations_json(Caller { state, .. }: Caller, Path(id): Path<MeetingId>) -> Result<Json<OrganisationList>> {
    let m = state.store.meeting(id).await?;
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
async fn organisations_csv(Path(id): Path<MeetingId>, asked: Asked) -> Result<Response> {
    asked.download(Of::Organisations(id), File::Csv).await
}

/// The public list of organisations as XLSX.
#[utoipa::path(get, path = "/meetings/{id}/organisations.xlsx",
    params(("id" = Uuid, Path, description = "meeting id"), ExportQuery),
    responses((status = 200, body = [u8], content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn organisations_xlsx(Path(id): Path<MeetingId>, asked: Asked) -> Result<Response> {
    asked.download(Of::Organisations(id), File::Xlsx).await
}

/// The mailing list as CSV (never guests), oldest sign-up first. Columns:
/// name, email, organisation, status, interests, language, meetings attended,
/// signed up at, confirmed at.
#[utoipa::path(get, path = "/subscribers.csv", params(ExportQuery),
    responses((status = 200, body = String, content_type = "text/csv"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn subscribers_csv(asked: Asked) -> Result<Response> {
    asked.download(Of::Subscribers, File::Csv).await
}

/// The mailing list as XLSX.
#[utoipa::path(get, path = "/subscribers.xlsx", params(ExportQuery),
    responses((status = 200, body = [u8], content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn subscribers_xlsx(asked: Asked) -> Result<Response> {
    asked.download(Of::Subscribers, File::Xlsx).await
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
async fn evaluation_csv(Path(id): Path<MeetingId>, asked: Asked) -> Result<Response> {
    asked.download(Of::Evaluation(id), File::Csv).await
}

/// A meeting's evaluation results as XLSX (counts and averages are numbers,
/// shares percentages).
#[utoipa::path(get, path = "/meetings/{id}/evaluation/results.xlsx",
    params(("id" = Uuid, Path, description = "meeting id"), ExportQuery),
    responses((status = 200, body = [u8], content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn evaluation_xlsx(Path(id): Path<MeetingId>, asked: Asked) -> Result<Response> {
    asked.download(Of::Evaluation(id), File::Xlsx).await
}
