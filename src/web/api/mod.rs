//! The organiser API under `/api/v1`: JSON, Bearer tokens, problem+json errors.

mod campaigns;
mod evaluations;
pub mod exports;
mod registrations;
mod reports;
mod subscribers;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, patch, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::auth::{ApiUser, Need, needs};
use super::extract::Path;
use super::{AppState, Error, Result, error_detail, needs_dressing, replace_body};
use crate::domain::{
    Allocation, Broken, MeetingFormat, MeetingId, MeetingStatus, Name, Seating, SingleLine, Timestamp, copenhagen,
    is_meeting_time,
};
use crate::forum;
use crate::i18n::Lang;
use crate::store::audit::Actor;
use crate::store::meetings::{Meeting, MeetingFilter, NewMeeting, ProgrammeItem, Speaker, Track};
use crate::store::users::User;

/// Routes of the API, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        // Open to all; the one API route in no group (see `auth::guard_api`).
        .route("/openapi.json", get(openapi))
        .merge(needs(
            Need::Read,
            Router::new().route("/meetings", get(list_meetings)).route("/meetings/{id}", get(get_meeting)),
        ))
        .merge(needs(
            Need::Write,
            Router::new().route("/meetings", post(create_meeting)).route("/meetings/{id}", patch(update_meeting)),
        ))
        .merge(campaigns::router())
        .merge(evaluations::router())
        .merge(exports::router())
        .merge(registrations::router())
        .merge(reports::router())
        .merge(subscribers::router())
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Dialogforum organiser API", version = "1", description = NULL_RULE),
    servers((url = "/api/v1")),
    paths(list_meetings, exports::participants_csv, exports::participants_xlsx, exports::organisations_json,
        exports::organisations_csv, exports::organisations_xlsx, exports::subscribers_csv, exports::subscribers_xlsx,
        exports::evaluation_csv, exports::evaluation_xlsx,
        create_meeting, get_meeting, update_meeting, campaigns::invite, campaigns::publish, campaigns::cancel_meeting,
        campaigns::close_registration, campaigns::mark_held, campaigns::reopen, campaigns::archive, campaigns::copy_meeting,
        campaigns::progress, campaigns::pause, campaigns::resume, campaigns::cancel_campaign,
        evaluations::questionnaire, evaluations::replace_questionnaire, evaluations::send, evaluations::remind,
        evaluations::close, evaluations::get_results, evaluations::get_trend,
        registrations::list, registrations::check_in, registrations::reorder_waitlist, registrations::allocate,
        registrations::add, registrations::seat, registrations::move_track, registrations::message,
        subscribers::list_subscribers, subscribers::create_subscriber, subscribers::get_subscriber,
        subscribers::update_subscriber, subscribers::delete_subscriber, subscribers::import_subscribers),
    components(schemas(exports::OrganisationList, exports::ListedOrganisationJson, MeetingJson, TrackJson, ProgrammeItemJson, SpeakerJson, MeetingPage, Problem, MeetingInput, MeetingPatch,
        campaigns::CancelInput, campaigns::InvitationInput, campaigns::AudienceInput, campaigns::GuestInput, campaigns::CampaignCreated,
        campaigns::CampaignJson, registrations::RegistrationJson, registrations::RegistrationList, registrations::CheckIn, registrations::WaitlistOrder, registrations::Waitlist, registrations::DrawJson, registrations::AddInput, registrations::SeatInput, registrations::TrackInput, registrations::MessageInput, registrations::MessageQueued, subscribers::SubscriberJson, subscribers::SubscriberPage, subscribers::SubscriberInput,
        subscribers::SubscriberPatch, crate::transfer::import::Report, crate::transfer::import::Reject)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

/// The rule for `null` in request bodies, stated in the OpenAPI document.
const NULL_RULE: &str = "In every request body, `null` for an optional field means the same as leaving the field out: \
     on creation the field is not set (its default applies), in a PATCH it stays as it is. The one exception is \
     `organisation` in `PATCH /subscribers/{id}`, where `null` (like `\"\"`) removes the organisation.";

/// Reads `null` as the field's default, so that `null` and a missing field
/// mean the same (see [`NULL_RULE`]).
pub(super) fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// Reads `null` as `true`, for flags whose default is `true`.
pub(super) fn null_as_yes<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Option::<bool>::deserialize(d).map(|v| v.unwrap_or(true))
}

/// Reads a flag where `null` means "no".
pub(super) fn null_as_no<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Option::<bool>::deserialize(d).map(Option::unwrap_or_default)
}

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
    let mut doc = ApiDoc::openapi();
    doc.merge(reports::ReportDoc::openapi());
    Json(doc)
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

/// Who calls, and the state to answer from: what every handler of the API
/// takes first. The account is the one [`ApiUser`] reads; the guard in
/// front of the routes has already checked it and its role.
pub struct Caller {
    state: AppState,
    user: User,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let ApiUser(user) = ApiUser::from_request_parts(parts, state).await?;
        Ok(Self { state: state.clone(), user })
    }
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
    /// Answers are taken from this instant; `null`: from publication.
    #[schema(format = DateTime)]
    registration_opens_at: Option<String>,
    /// `first_come` or `lottery`.
    allocation: String,
    /// For a lottery: the end of the application window, when the seats are drawn.
    #[schema(format = DateTime)]
    applications_close_at: Option<String>,
    /// For a lottery once drawn: when.
    #[schema(format = DateTime)]
    drawn_at: Option<String>,
    /// For a lottery once drawn: the seed the draw was made from (64 hex digits).
    draw_seed: Option<String>,
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

impl From<&Track> for TrackJson {
    fn from(t: &Track) -> Self {
        Self { key: t.key.clone(), title: t.title.clone(), capacity: t.capacity }
    }
}

impl From<&ProgrammeItem> for ProgrammeItemJson {
    fn from(p: &ProgrammeItem) -> Self {
        Self {
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
        }
    }
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
            tracks: m.tracks.iter().map(TrackJson::from).collect(),
            programme: m.programme.iter().map(ProgrammeItemJson::from).collect(),
            registration_opens_at: m.seating.registration_opens_at.map(rfc3339),
            allocation: m.seating.allocation.as_str().to_owned(),
            applications_close_at: m.seating.applications_close_at.map(rfc3339),
            drawn_at: m.drawn.map(|d| rfc3339(d.at)),
            draw_seed: m.drawn.map(|d| d.seed.to_hex()),
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

/// Items per page: 1–200, 50 when the query gives none.
fn page_limit(limit: Option<u32>) -> Result<u32> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::BadRequest("limit: must be between 1 and 200".into()));
    }
    Ok(limit)
}

/// The cursor after an item of a list sorted by an instant, newest first:
/// the instant and the id, so that items at the same instant keep an order.
fn cursor(at: Timestamp, id: impl std::fmt::Display) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}_{id}", crate::store::db_time(at)))
}

/// Reads a [`cursor`] back; anything else is a 400.
fn read_cursor<Id: std::str::FromStr>(c: &str) -> Result<(Timestamp, Id)> {
    let bad = || Error::BadRequest("cursor: not a cursor from this API; pass back the `next` value unchanged".into());
    let text = URL_SAFE_NO_PAD.decode(c).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(bad)?;
    let (at, id) = text.split_once('_').ok_or_else(bad)?;
    Ok((crate::store::from_db_time(at.parse().map_err(|_| bad())?), id.parse().map_err(|_| bad())?))
}

/// A page of a list as the API answers it: the items as JSON, and the
/// cursor after the last one when `more` follow (else `None`).
fn page<T, J>(
    items: Vec<T>,
    more: bool,
    cursor_after: impl Fn(&T) -> String,
    json: impl FnMut(T) -> J,
) -> (Vec<J>, Option<String>) {
    let next = if more { items.last().map(cursor_after) } else { None };
    (items.into_iter().map(json).collect(), next)
}

/// A request body read as JSON, or why it could not be: handlers look at it
/// only once they have found what the path names, so that a missing
/// resource answers 404 whatever the body.
type JsonBody<T> = std::result::Result<Json<T>, JsonRejection>;

/// 201 Created with the new resource.
const fn created<T>(body: T) -> (StatusCode, Json<T>) {
    (StatusCode::CREATED, Json(body))
}

/// 202 Accepted with what was started.
const fn accepted<T>(body: T) -> (StatusCode, Json<T>) {
    (StatusCode::ACCEPTED, Json(body))
}

/// Names the field a value of a request came from when it does not read:
/// `Email::parse(&s).field("email")?` answers 422 naming `email`.
trait Field<T> {
    fn field(self, name: impl Into<String>) -> Result<T>;
}

impl<T, E: std::fmt::Display> Field<T> for std::result::Result<T, E> {
    fn field(self, name: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::invalid(name, e))
    }
}

/// Lists meetings, newest first, drafts included.
#[utoipa::path(get, path = "/meetings", params(PageQuery),
    responses((status = 200, body = MeetingPage), (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn list_meetings(Caller { state, .. }: Caller, Query(q): Query<PageQuery>) -> Result<Json<MeetingPage>> {
    let limit = page_limit(q.limit)?;
    let before = q.cursor.as_deref().map(read_cursor).transpose()?;
    let mut meetings =
        state.store.meetings(MeetingFilter { public_only: false, limit: Some(limit + 1), before }).await?;
    let more = meetings.len() > limit as usize;
    meetings.truncate(limit as usize);
    let (items, next) = page(meetings, more, |m| cursor(m.starts_at, m.id), |m| MeetingJson::from(&m));
    Ok(Json(MeetingPage { items, next }))
}

/// One meeting.
#[utoipa::path(get, path = "/meetings/{id}", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = MeetingJson), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_meeting(Caller { state, .. }: Caller, Path(id): Path<MeetingId>) -> Result<Json<MeetingJson>> {
    let m = state.store.meeting(id).await?;
    Ok(Json(MeetingJson::from(&m)))
}

/// A new meeting. Times are RFC 3339 with an offset and lie in the years
/// 2000–2100 (Europe/Copenhagen); others are refused with 422 naming the field.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingInput {
    title: String,
    number: Option<i32>,
    #[serde(default, deserialize_with = "null_as_default")]
    description: String,
    #[serde(default, deserialize_with = "null_as_default")]
    themes: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    starts_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    ends_at: Timestamp,
    /// `physical`, `virtual` or `hybrid`.
    format: String,
    #[serde(default, deserialize_with = "null_as_default")]
    venue: String,
    #[serde(default, deserialize_with = "null_as_default")]
    online_url: String,
    capacity: Option<i32>,
    per_organisation_limit: Option<i32>,
    #[schema(value_type = Option<String>, format = DateTime)]
    registration_deadline: Option<Timestamp>,
    #[serde(default, deserialize_with = "null_as_default")]
    tracks: Vec<TrackInput>,
    #[serde(default, deserialize_with = "null_as_default")]
    programme: Vec<ProgrammeItemInput>,
    /// Answers are taken from this instant; absent or `null`: from publication.
    #[schema(value_type = Option<String>, format = DateTime)]
    registration_opens_at: Option<Timestamp>,
    /// `first_come` (the default) or `lottery`.
    allocation: Option<String>,
    /// For a lottery (and only then): the end of the application window, when the seats are drawn.
    #[schema(value_type = Option<String>, format = DateTime)]
    applications_close_at: Option<Timestamp>,
}

/// Reads the name of an allocation.
fn allocation(s: &str) -> Result<Allocation> {
    Allocation::parse(s).field("allocation")
}

/// A track of a new meeting.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackInput {
    key: String,
    title: String,
    capacity: Option<i32>,
}

/// A programme item of a new meeting.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeItemInput {
    #[schema(value_type = Option<String>, format = DateTime)]
    starts_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    ends_at: Option<Timestamp>,
    title: String,
    #[serde(default, deserialize_with = "null_as_default")]
    description: String,
    #[serde(default, deserialize_with = "null_as_default")]
    speakers: Vec<SpeakerInput>,
    track: Option<String>,
}

/// A speaker of a new programme item.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpeakerInput {
    name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    role: String,
    #[serde(default, deserialize_with = "null_as_default")]
    organisation: String,
}

impl ProgrammeItemInput {
    /// Reads the item given as `field`, whose track must be one of `tracks`.
    fn parse(self, field: &str, tracks: &[Track]) -> Result<ProgrammeItem> {
        if let Some(k) = &self.track
            && !tracks.iter().any(|t| &t.key == k)
        {
            return Err(Error::invalid(format!("{field}.track"), "names no track of this meeting"));
        }
        Ok(ProgrammeItem {
            starts_at: self.starts_at.map(|t| meeting_time(&format!("{field}.starts_at"), t)).transpose()?,
            ends_at: self.ends_at.map(|t| meeting_time(&format!("{field}.ends_at"), t)).transpose()?,
            title: Name::parse(&self.title).field(format!("{field}.title"))?.to_string(),
            description: self.description,
            speakers: self
                .speakers
                .into_iter()
                .map(|s| {
                    Ok(Speaker {
                        name: line(&format!("{field}.speakers.name"), &s.name)?,
                        role: line(&format!("{field}.speakers.role"), &s.role)?,
                        organisation: line(&format!("{field}.speakers.organisation"), &s.organisation)?,
                    })
                })
                .collect::<Result<_>>()?,
            track: self.track,
            cancelled: false,
        })
    }
}

/// A name that may be left out: absent or blank is `None`.
fn optional_name(field: &str, value: Option<&str>) -> Result<Option<Name>> {
    value.filter(|n| !n.trim().is_empty()).map(Name::parse).transpose().field(field)
}

fn line(field: &str, value: &str) -> Result<String> {
    SingleLine::parse(value).map(SingleLine::into_string).field(field)
}

/// `t`, if a meeting may take place then ([`is_meeting_time`]): the times
/// of programme items, which the meeting rules do not look at.
fn meeting_time(field: &str, t: Timestamp) -> Result<Timestamp> {
    if is_meeting_time(t) { Ok(t) } else { Err(Error::invalid(field, Lang::En.broken(Broken::OutsideYears))) }
}

impl MeetingInput {
    /// Reads every field and builds the meeting, naming the first field that
    /// cannot be read. The meeting rules (times in order, a sound link,
    /// positive counts, track keys) are kept by [`forum::meetings::create`].
    fn parse(self) -> Result<NewMeeting> {
        let title = Name::parse(&self.title).field("title")?.to_string();
        let format = MeetingFormat::parse(&self.format).field("format")?;
        let mut tracks = Vec::new();
        for (i, t) in self.tracks.into_iter().enumerate() {
            let title = Name::parse(&t.title).field(format!("tracks[{i}].title"))?;
            tracks.push(Track { key: t.key, title: title.to_string(), capacity: t.capacity });
        }
        let programme = self
            .programme
            .into_iter()
            .enumerate()
            .map(|(i, p)| p.parse(&format!("programme[{i}]"), &tracks))
            .collect::<Result<_>>()?;
        Ok(NewMeeting {
            number: self.number,
            title,
            description: self.description,
            themes: self.themes.iter().map(|t| line("themes", t)).collect::<Result<_>>()?,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            format,
            venue: line("venue", &self.venue)?,
            online_url: line("online_url", &self.online_url)?,
            capacity: self.capacity,
            per_organisation_limit: self.per_organisation_limit,
            registration_deadline: self.registration_deadline,
            status: MeetingStatus::Draft,
            tracks,
            programme,
            seating: Seating {
                registration_opens_at: self.registration_opens_at,
                allocation: self.allocation.as_deref().map(allocation).transpose()?.unwrap_or_default(),
                applications_close_at: self.applications_close_at,
            },
        })
    }
}

/// Creates a meeting as a draft.
#[utoipa::path(post, path = "/meetings", request_body = MeetingInput,
    responses((status = 201, body = MeetingJson), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_meeting(
    Caller { state, user }: Caller,
    body: JsonBody<MeetingInput>,
) -> Result<(StatusCode, Json<MeetingJson>)> {
    let Json(input) = body?;
    let new = input.parse()?;
    let id = forum::meetings::create(&state.forum, &Actor::of(&user), &new).await?;
    let m = state.store.meeting(id).await?;
    Ok(created(MeetingJson::from(&m)))
}

/// Changes to a meeting; absent fields stay as they are. Times are RFC 3339
/// with an offset and lie in the years 2000–2100 (Europe/Copenhagen).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingPatch {
    title: Option<String>,
    description: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    starts_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    ends_at: Option<Timestamp>,
    venue: Option<String>,
    online_url: Option<String>,
    capacity: Option<i32>,
    #[schema(value_type = Option<String>, format = DateTime)]
    registration_deadline: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    registration_opens_at: Option<Timestamp>,
    /// `first_come` or `lottery`; `first_come` removes the application window.
    allocation: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    applications_close_at: Option<Timestamp>,
}

impl MeetingPatch {
    /// The meeting with the changes applied; [`forum::meetings::update`]
    /// checks the result against the meeting rules, as on creation.
    fn apply(self, m: &Meeting) -> Result<Meeting> {
        let mut out = m.clone();
        if let Some(t) = self.title {
            out.title = Name::parse(&t).field("title")?.to_string();
        }
        if let Some(d) = self.description {
            out.description = d;
        }
        out.starts_at = self.starts_at.unwrap_or(m.starts_at);
        out.ends_at = self.ends_at.unwrap_or(m.ends_at);
        if let Some(v) = self.venue {
            out.venue = line("venue", &v)?;
        }
        if let Some(u) = self.online_url {
            out.online_url = line("online_url", &u)?;
        }
        if self.capacity.is_some() {
            out.capacity = self.capacity;
        }
        if self.registration_deadline.is_some() {
            out.registration_deadline = self.registration_deadline;
        }
        if self.registration_opens_at.is_some() {
            out.seating.registration_opens_at = self.registration_opens_at;
        }
        if let Some(a) = self.allocation.as_deref().map(allocation).transpose()? {
            out.seating.allocation = a;
            if a == Allocation::FirstCome {
                out.seating.applications_close_at = None;
            }
        }
        if self.applications_close_at.is_some() {
            out.seating.applications_close_at = self.applications_close_at;
        }
        Ok(out)
    }
}

/// Changes a meeting. When the time, place, link or format of a published,
/// open or closed meeting changes, everyone invited who has not declined
/// gets, in the same transaction, a notice with the updated calendar entry
/// (same UID, SEQUENCE one higher).
#[utoipa::path(patch, path = "/meetings/{id}", request_body = MeetingPatch,
    params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = MeetingJson), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn update_meeting(
    Caller { state, user }: Caller,
    Path(id): Path<MeetingId>,
    body: JsonBody<MeetingPatch>,
) -> Result<Json<MeetingJson>> {
    let seen = state.store.meeting(id).await?;
    let Json(patch) = body?;
    let m = patch.apply(&seen)?;
    forum::meetings::update(&state.forum, &Actor::of(&user), &seen, m).await?;
    Ok(Json(MeetingJson::from(&state.store.meeting(id).await?)))
}
