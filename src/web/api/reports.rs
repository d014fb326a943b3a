//! The report after a meeting over the API: read it, write its sections,
//! approve it, and publish it to the public meeting page with or without a
//! mailing.

use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::{Caller, Field, JsonBody, Problem};
use crate::domain::MeetingId;
use crate::domain::report::{Mailing, Section, SectionError, Sections};
use crate::forum::reports as use_case;
use crate::store::audit::Actor;
use crate::store::reports::Report;
use crate::web::auth::{Need, needs};
use crate::web::extract::Path;
use crate::web::{AppState, Error, Result};

/// Routes, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    needs(Need::Read, Router::new().route("/meetings/{id}/report", get(read))).merge(needs(
        Need::Write,
        Router::new()
            .route("/meetings/{id}/report", put(write))
            .route("/meetings/{id}/report/approve", post(approve))
            .route("/meetings/{id}/report/publish", post(publish)),
    ))
}

/// The part of the OpenAPI document these routes add.
#[derive(OpenApi)]
#[openapi(
    paths(read, write, approve, publish),
    components(schemas(ReportJson, SectionJson, ReportInput, PublishInput, ReportPublished))
)]
pub struct ReportDoc;

impl From<SectionError> for Error {
    fn from(e: SectionError) -> Self {
        match e.field() {
            Some((i, field)) => Self::invalid(format!("sections[{i}].{field}"), e.reason()),
            None => Self::invalid("sections", e.reason()),
        }
    }
}

/// One section: a heading and its text in Markdown (the safe subset of the
/// invitation's message: raw HTML shows as text, only web and mail links).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionJson {
    title: String,
    #[serde(default, deserialize_with = "super::null_as_default")]
    body: String,
    /// Ids of the meeting's materials that belong with this section.
    #[serde(default, deserialize_with = "super::null_as_default")]
    materials: Vec<Uuid>,
}

impl From<&Section> for SectionJson {
    fn from(s: &Section) -> Self {
        Self { title: s.title.clone(), body: s.body.clone(), materials: s.materials.clone() }
    }
}

/// A meeting's report.
#[derive(Serialize, ToSchema)]
pub struct ReportJson {
    meeting_id: Uuid,
    /// `draft`, `approved` or `published`.
    state: String,
    /// The working copy, in order.
    sections: Vec<SectionJson>,
    #[schema(format = DateTime)]
    updated_at: String,
    #[schema(format = DateTime)]
    approved_at: Option<String>,
    #[schema(format = DateTime)]
    published_at: Option<String>,
    /// What the public meeting page shows: the sections as last published.
    published_sections: Option<Vec<SectionJson>>,
}

impl From<&Report> for ReportJson {
    fn from(r: &Report) -> Self {
        Self {
            meeting_id: r.meeting_id.uuid(),
            state: r.state.as_str().to_owned(),
            sections: r.sections.as_slice().iter().map(SectionJson::from).collect(),
            updated_at: super::rfc3339(r.updated_at),
            approved_at: r.approved_at.map(super::rfc3339),
            published_at: r.published_at.map(super::rfc3339),
            published_sections: r.published.as_ref().map(|p| p.as_slice().iter().map(SectionJson::from).collect()),
        }
    }
}

/// The sections that replace the report's.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    sections: Vec<SectionJson>,
}

/// Who the published report is mailed to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishInput {
    /// `list` (every confirmed member, whether they came or not), `attendees`
    /// (confirmed members who attended) or `none`.
    mail: String,
}

/// The answer to a publication.
#[derive(Serialize, ToSchema)]
pub struct ReportPublished {
    /// The campaign mailing the report (see `GET /campaigns/{id}`); null when not mailed.
    id: Option<Uuid>,
    /// The campaign's state; null when not mailed.
    state: Option<String>,
    report: ReportJson,
}

/// The meeting's report; 404 until one is written.
#[utoipa::path(get, path = "/meetings/{id}/report", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = ReportJson), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn read(Caller { state, .. }: Caller, Path(id): Path<MeetingId>) -> Result<Json<ReportJson>> {
    let m = state.store.meeting(id).await?;
    let report = use_case::report_of(&state.store, &m).await?.ok_or(Error::NotFound)?;
    Ok(Json(ReportJson::from(&report)))
}

/// Replaces the report's sections (creating the report). A report that was
/// approved or published returns to draft and must be approved again; the
/// public page keeps the version last published until the next publication.
#[utoipa::path(put, path = "/meetings/{id}/report", request_body = ReportInput,
    params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = ReportJson), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn write(
    Caller { state, user }: Caller,
    Path(id): Path<MeetingId>,
    body: JsonBody<ReportInput>,
) -> Result<Json<ReportJson>> {
    let m = state.store.meeting(id).await?;
    let Json(input) = body?;
    let sections = Sections::parse(input.sections.into_iter().map(|s| (s.title, s.body, s.materials)))?;
    let report = use_case::write(&state.forum, &Actor::of(&user), &m, &sections).await?;
    Ok(Json(ReportJson::from(&report)))
}

/// Approves the draft report (409 unless it is a draft with a section).
#[utoipa::path(post, path = "/meetings/{id}/report/approve", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = ReportJson), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn approve(Caller { state, user }: Caller, Path(id): Path<MeetingId>) -> Result<Json<ReportJson>> {
    let m = state.store.meeting(id).await?;
    let report = use_case::approve(&state.forum, &Actor::of(&user), &m).await?;
    Ok(Json(ReportJson::from(&report)))
}

/// Publishes the approved report on the public meeting page, once the
/// meeting has taken place (409 otherwise), and mails it as `mail` says:
/// 202 with the campaign when it mails, 200 when it does not. People who
/// left the list or whose address bounced are not written to.
#[utoipa::path(post, path = "/meetings/{id}/report/publish", request_body = PublishInput,
    params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 202, body = ReportPublished), (status = 200, body = ReportPublished),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn publish(
    Caller { state, user }: Caller,
    Path(id): Path<MeetingId>,
    body: JsonBody<PublishInput>,
) -> Result<(StatusCode, Json<ReportPublished>)> {
    let m = state.store.meeting(id).await?;
    let Json(input) = body?;
    let mail = Mailing::parse(&input.mail).field("mail")?;
    let who = Actor::of(&user);
    let campaign = use_case::publish(&state.forum, &who, Some(user.id), &m, mail).await?;
    let report = use_case::report_of(&state.store, &m).await?.ok_or(Error::NotFound)?;
    let status = if campaign.is_some() { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((
        status,
        Json(ReportPublished {
            id: campaign.map(crate::domain::CampaignId::uuid),
            state: campaign.map(|_| "scheduled".to_owned()),
            report: ReportJson::from(&report),
        }),
    ))
}
