//! The organiser API under `/api/v1`: JSON, Bearer tokens, problem+json errors.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::auth::ApiUser;
use super::{AppState, Error, Result, error_detail, needs_dressing, replace_body};
use crate::domain::{MeetingId, Timestamp, copenhagen};
use crate::store::meetings::{Meeting, MeetingFilter};

/// Routes of the API, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/meetings", get(list_meetings))
        .route("/meetings/{id}", get(get_meeting))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Dialogforum organiser API", version = "1"),
    servers((url = "/api/v1")),
    paths(list_meetings, get_meeting),
    components(schemas(MeetingJson, TrackJson, ProgrammeItemJson, SpeakerJson, MeetingPage, Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of what exists.
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// An error (RFC 9457).
#[derive(Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
}

/// Turns every error of the API into `application/problem+json`.
pub async fn dress_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if !needs_dressing(&res, "application/problem+json") {
        return res;
    }
    let status = res.status();
    let (res, detail) = error_detail(res).await;
    let problem = Problem {
        kind: "about:blank".to_owned(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
    };
    replace_body(res, "application/problem+json", serde_json::to_string(&problem).unwrap_or_default())
}

/// An instant as the API writes it: RFC 3339 with the Copenhagen offset.
fn rfc3339(t: Timestamp) -> String {
    t.to_zoned_datetime(copenhagen()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// A meeting.
#[derive(Serialize, ToSchema)]
pub struct MeetingJson {
    id: Uuid,
    number: Option<i32>,
    title: String,
    description: String,
    themes: Vec<String>,
    #[schema(format = DateTime)]
    starts_at: String,
    #[schema(format = DateTime)]
    ends_at: String,
    /// `physical`, `virtual` or `hybrid`.
    format: String,
    venue: String,
    online_url: String,
    capacity: Option<i32>,
    per_organisation_limit: Option<i32>,
    #[schema(format = DateTime)]
    registration_deadline: Option<String>,
    /// `draft`, `published`, `open`, `closed`, `held`, `evaluated`, `archived` or `cancelled`.
    status: String,
    tracks: Vec<TrackJson>,
    programme: Vec<ProgrammeItemJson>,
}

/// A parallel track.
#[derive(Serialize, ToSchema)]
pub struct TrackJson {
    key: String,
    title: String,
    capacity: Option<i32>,
}

/// A programme item.
#[derive(Serialize, ToSchema)]
pub struct ProgrammeItemJson {
    #[schema(format = DateTime)]
    starts_at: Option<String>,
    #[schema(format = DateTime)]
    ends_at: Option<String>,
    title: String,
    description: String,
    speakers: Vec<SpeakerJson>,
    track: Option<String>,
    cancelled: bool,
}

/// A speaker.
#[derive(Serialize, ToSchema)]
pub struct SpeakerJson {
    name: String,
    role: String,
    organisation: String,
}

impl From<&Meeting> for MeetingJson {
    fn from(m: &Meeting) -> Self {
        Self {
            id: m.id.uuid(),
            number: m.number,
            title: m.title.clone(),
            description: m.description.clone(),
            themes: m.themes.clone(),
            starts_at: rfc3339(m.starts_at),
            ends_at: rfc3339(m.ends_at),
            format: m.format.as_str().to_owned(),
            venue: m.venue.clone(),
            online_url: m.online_url.clone(),
            capacity: m.capacity,
            per_organisation_limit: m.per_organisation_limit,
            registration_deadline: m.registration_deadline.map(rfc3339),
            status: m.status.as_str().to_owned(),
            tracks: m
                .tracks
                .iter()
                .map(|t| TrackJson { key: t.key.clone(), title: t.title.clone(), capacity: t.capacity })
                .collect(),
            programme: m
                .programme
                .iter()
                .map(|p| ProgrammeItemJson {
                    starts_at: p.starts_at.map(rfc3339),
                    ends_at: p.ends_at.map(rfc3339),
                    title: p.title.clone(),
                    description: p.description.clone(),
                    speakers: p
                        .speakers
                        .iter()
                        .map(|s| SpeakerJson {
                            name: s.name.clone(),
                            role: s.role.clone(),
                            organisation: s.organisation.clone(),
                        })
                        .collect(),
                    track: p.track.clone(),
                    cancelled: p.cancelled,
                })
                .collect(),
        }
    }
}

/// One page of meetings, newest first.
#[derive(Serialize, ToSchema)]
pub struct MeetingPage {
    items: Vec<MeetingJson>,
    /// Pass back as `?cursor=` for the next page; `null` on the last page.
    next: Option<String>,
}

/// Paging parameters.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// From the `next` field of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–200; default 50.
    limit: Option<u32>,
}

fn encode_cursor(m: &Meeting) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}_{}", crate::store::db_time(m.starts_at), m.id))
}

fn decode_cursor(c: &str) -> Result<(Timestamp, MeetingId)> {
    let bad = || Error::BadRequest("cursor: not a cursor from this API; pass back the `next` value unchanged".into());
    let text = URL_SAFE_NO_PAD.decode(c).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(bad)?;
    let (at, id) = text.split_once('_').ok_or_else(bad)?;
    Ok((crate::store::from_db_time(at.parse().map_err(|_| bad())?), id.parse().map_err(|_| bad())?))
}

/// Lists meetings, newest first, drafts included.
#[utoipa::path(get, path = "/meetings", params(PageQuery),
    responses((status = 200, body = MeetingPage), (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn list_meetings(
    State(state): State<AppState>,
    _: ApiUser,
    Query(q): Query<PageQuery>,
) -> Result<Json<MeetingPage>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::BadRequest("limit: must be between 1 and 200".into()));
    }
    let before = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut meetings =
        state.store.meetings(MeetingFilter { public_only: false, limit: Some(limit + 1), before }).await?;
    let more = meetings.len() > limit as usize;
    meetings.truncate(limit as usize);
    let next = if more { meetings.last().map(encode_cursor) } else { None };
    Ok(Json(MeetingPage { items: meetings.iter().map(MeetingJson::from).collect(), next }))
}

/// One meeting.
#[utoipa::path(get, path = "/meetings/{id}", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = MeetingJson), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_meeting(State(state): State<AppState>, _: ApiUser, Path(id): Path<String>) -> Result<Json<MeetingJson>> {
    let id: MeetingId = id.parse().map_err(|_| Error::NotFound)?;
    let m = state.store.meeting(id).await?;
    Ok(Json(MeetingJson::from(&m)))
}
