//! A meeting's registrations, check-in at the door, the draw of a lottery's
//! seats, the changes organisers make by hand (adding a person, seating
//! someone from the waiting list, moving a seat to another track, each with
//! a reason), and a short message to one group of the meeting's people.

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Caller, Field, JsonBody, Problem, accepted, created, optional_name, rfc3339};
use crate::domain::{Email, MeetingId, Note, Reason, ReasonError, RegistrationId, is_walk_in};
use crate::forum::seats::{self, ByHandSeat, Newcomer};
use crate::forum::{ForumError, door, meeting_mail};
use crate::store::StoreError;
use crate::store::audit::{self, Actor, Entry};
use crate::store::rsvp::Registration;
use crate::web::auth::{Need, needs};
use crate::web::extract::Path;
use crate::web::{AppState, Error, Result};

/// Routes, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    needs(Need::Personal, Router::new().route("/meetings/{id}/registrations", get(list))).merge(needs(
        Need::Write,
        Router::new()
            .route("/meetings/{id}/registrations", post(add))
            .route("/meetings/{id}/registrations/{registration}/seat", post(seat))
            .route("/meetings/{id}/registrations/{registration}/track", post(move_track))
            .route("/meetings/{id}/messages", post(message))
            .route("/meetings/{id}/checkins", post(check_in))
            .route("/meetings/{id}/waitlist", post(reorder_waitlist))
            .route("/meetings/{id}/allocate", post(allocate)),
    ))
}

/// One person's registration.
#[derive(Serialize, ToSchema)]
pub struct RegistrationJson {
    id: Uuid,
    /// `invited`, `attending`, `declined`, `waitlisted` or `cancelled`.
    status: String,
    track: Option<String>,
    diet: String,
    access_needs: String,
    comment: String,
    /// Order on the waiting list (lower goes first), for waitlisted people.
    waitlist_position: Option<i64>,
    #[schema(format = DateTime)]
    checked_in_at: Option<String>,
    #[schema(format = DateTime)]
    answered_at: Option<String>,
    person_id: Uuid,
    name: String,
    /// Empty for a walk-in who gave no address.
    email: String,
    organisation: String,
}

impl From<Registration> for RegistrationJson {
    fn from(r: Registration) -> Self {
        Self {
            id: r.id.uuid(),
            status: r.status.as_str().to_owned(),
            track: r.track,
            diet: r.diet,
            access_needs: r.access_needs,
            comment: r.comment,
            waitlist_position: r.waitlist_position,
            checked_in_at: r.checked_in_at.map(rfc3339),
            answered_at: r.answered_at.map(rfc3339),
            person_id: r.person_id.uuid(),
            name: r.name,
            // A walk-in's stand-in is no address; nobody is to write to it.
            email: if is_walk_in(&r.email) { String::new() } else { r.email },
            organisation: r.organisation,
        }
    }
}

/// The registrations of a meeting.
#[derive(Serialize, ToSchema)]
pub struct RegistrationList {
    items: Vec<RegistrationJson>,
    /// Always `null`: a meeting's registrations come in one page.
    next: Option<String>,
}

/// A meeting's registrations: attending, then the waiting list in order, then invited and the rest.
#[utoipa::path(get, path = "/meetings/{id}/registrations", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = RegistrationList), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn list(Caller { state, user }: Caller, Path(id): Path<MeetingId>) -> Result<Json<RegistrationList>> {
    let meeting = state.store.meeting(id).await?;
    let regs = state.store.registrations(meeting.id).await?;
    let entry = Entry::read("registrations.view", "meeting", Some(meeting.id.uuid()), "", regs.len());
    audit::record_read(&state.store, &Actor::of(&user), &entry).await?;
    Ok(Json(RegistrationList { items: regs.into_iter().map(RegistrationJson::from).collect(), next: None }))
}

/// A check-in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    registration_id: Uuid,
    /// `false` undoes a check-in made by mistake.
    #[serde(default = "yes", deserialize_with = "super::null_as_yes")]
    present: bool,
}

const fn yes() -> bool {
    true
}

/// Checks an attending person in at the door (or undoes it).
#[utoipa::path(post, path = "/meetings/{id}/checkins", request_body = CheckIn, params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = RegistrationJson), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn check_in(
    Caller { state, user }: Caller,
    Path(id): Path<MeetingId>,
    body: JsonBody<CheckIn>,
) -> Result<Json<RegistrationJson>> {
    let Json(c) = body?;
    let reg = RegistrationId::from_uuid(c.registration_id);
    door::check_in(&state.forum, &Actor::of(&user), id, reg, c.present).await.map_err(|e| match e {
        ForumError::Store(StoreError::NotFound) => {
            Error::invalid("registration_id", "is not an attending registration of this meeting")
        }
        other => other.into(),
    })?;
    Ok(Json(state.store.registration(reg).await?.into()))
}

/// A new order for the waiting list.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitlistOrder {
    /// Registration ids of waitlisted people, first in line first. Those not
    /// named keep their order behind them, so naming one id moves that person
    /// to the top.
    order: Vec<Uuid>,
    /// Why (required): kept in the audit log and the meeting's record of seat changes.
    #[serde(default)]
    reason: Option<String>,
}

/// The waiting list, first in line first.
#[derive(Serialize, ToSchema)]
pub struct Waitlist {
    items: Vec<RegistrationJson>,
    /// Always `null`: the waiting list comes in one page.
    next: Option<String>,
}

/// Reorders the waiting list: the next seat that comes free goes to the first
/// in the new order whose track and organisation quota allow it.
#[utoipa::path(post, path = "/meetings/{id}/waitlist", request_body = WaitlistOrder, params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = Waitlist), (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn reorder_waitlist(
    Caller { state, user }: Caller,
    Path(id): Path<MeetingId>,
    body: JsonBody<WaitlistOrder>,
) -> Result<Json<Waitlist>> {
    let meeting = state.store.meeting(id).await?;
    let Json(w) = body?;
    let reason = reason_of(w.reason.as_deref())?;
    let first: Vec<RegistrationId> = w.order.into_iter().map(RegistrationId::from_uuid).collect();
    let waiting = door::reorder_waitlist(&state.forum, &Actor::of(&user), meeting.id, &first, &reason).await?;
    let items = waiting.into_iter().map(RegistrationJson::from).collect();
    Ok(Json(Waitlist { items, next: None }))
}

/// The draw of a lottery's seats.
#[derive(Serialize, ToSchema)]
pub struct DrawJson {
    /// The seed the draw was made from (64 hex digits): each applicant's ticket
    /// is the SHA-256 of the seed's bytes followed by the registration id, and
    /// seats go in ascending order of tickets within the limits.
    seed: String,
    #[schema(format = DateTime)]
    drawn_at: String,
    /// Registration ids given a seat, in drawn order.
    seated: Vec<Uuid>,
    /// Registration ids on the waiting list, first in line first.
    waitlist: Vec<Uuid>,
}

/// Draws the seats of a lottery meeting now, instead of at the end of its
/// application window, and tells every applicant by mail.
#[utoipa::path(post, path = "/meetings/{id}/allocate", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = DrawJson), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn allocate(Caller { state, user }: Caller, Path(id): Path<MeetingId>) -> Result<Json<DrawJson>> {
    let drawn = crate::forum::rsvp::allocate(&state.forum, &Actor::of(&user), id).await?;
    let m = state.store.meeting(id).await?;
    let record = m.drawn.ok_or_else(|| Error::Internal(anyhow::anyhow!("the draw was not recorded")))?;
    Ok(Json(DrawJson {
        seed: record.seed.to_hex(),
        drawn_at: rfc3339(record.at),
        seated: drawn.seated.iter().map(|r| r.uuid()).collect(),
        waitlist: drawn.waitlist.iter().map(|r| r.uuid()).collect(),
    }))
}

/// The reason for a change by hand, required.
fn reason_of(reason: Option<&str>) -> Result<Reason> {
    Reason::parse(reason.unwrap_or_default()).map_err(|e| match e {
        ReasonError::Empty => Error::invalid("reason", "give the reason for the change; it is kept with the meeting"),
        ReasonError::Note(e) => Error::invalid("reason", e),
    })
}

/// A person added by hand, with a seat.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddInput {
    /// The person's address: someone the forum knows keeps their own details.
    email: String,
    /// Needed when the address is new to the forum (who then joins as a guest).
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    organisation: Option<String>,
    /// Required when the meeting has tracks.
    #[serde(default)]
    track: Option<String>,
    /// Why (required): kept in the audit log and the meeting's record of seat changes.
    #[serde(default)]
    reason: Option<String>,
    /// Give the seat even when the meeting, the track or the organisation's quota is full.
    #[serde(default, deserialize_with = "super::null_as_no")]
    beyond_limits: bool,
}

/// Adds a person to the meeting with a seat, for a reason; they get the
/// seat's confirmation by mail. A full limit answers 409 with the reason
/// unless `beyond_limits`.
#[utoipa::path(post, path = "/meetings/{id}/registrations", request_body = AddInput, params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 201, body = RegistrationJson), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn add(
    Caller { state, user }: Caller,
    Path(id): Path<MeetingId>,
    body: JsonBody<AddInput>,
) -> Result<(StatusCode, Json<RegistrationJson>)> {
    let meeting = state.store.meeting(id).await?;
    let Json(a) = body?;
    let email = Email::parse(&a.email).field("email")?;
    let name = optional_name("name", a.name.as_deref())?;
    let organisation = optional_name("organisation", a.organisation.as_deref())?;
    let seat = ByHandSeat { track: a.track, reason: reason_of(a.reason.as_deref())?, beyond_limits: a.beyond_limits };
    let newcomer = Newcomer::ByAddress { email, name, organisation };
    let reg = seats::add_by_hand(&state.forum, &Actor::of(&user), &meeting, newcomer, &seat).await?;
    Ok(created(state.store.registration(reg).await?.into()))
}

/// A seat given by hand to someone on the waiting list.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatInput {
    /// Why (required).
    #[serde(default)]
    reason: Option<String>,
    /// Give the seat even when a limit is full.
    #[serde(default, deserialize_with = "super::null_as_no")]
    beyond_limits: bool,
}

/// Gives someone on the waiting list a seat, for a reason; they are told by mail.
#[utoipa::path(post, path = "/meetings/{id}/registrations/{registration}/seat", request_body = SeatInput,
    params(("id" = Uuid, Path, description = "meeting id"), ("registration" = Uuid, Path, description = "registration id")),
    responses((status = 200, body = RegistrationJson), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn seat(
    Caller { state, user }: Caller,
    Path((id, registration)): Path<(MeetingId, RegistrationId)>,
    body: JsonBody<SeatInput>,
) -> Result<Json<RegistrationJson>> {
    let meeting = state.store.meeting(id).await?;
    let Json(s) = body?;
    let by_hand = ByHandSeat { track: None, reason: reason_of(s.reason.as_deref())?, beyond_limits: s.beyond_limits };
    seats::seat_waitlisted(&state.forum, &Actor::of(&user), &meeting, registration, &by_hand).await?;
    Ok(Json(state.store.registration(registration).await?.into()))
}

/// A seat moved to another track.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackInput {
    /// The key of the new track.
    track: String,
    /// Why (required).
    #[serde(default)]
    reason: Option<String>,
}

/// Moves a seat to another track that has room, for a reason; the person is told by mail.
#[utoipa::path(post, path = "/meetings/{id}/registrations/{registration}/track", request_body = TrackInput,
    params(("id" = Uuid, Path, description = "meeting id"), ("registration" = Uuid, Path, description = "registration id")),
    responses((status = 200, body = RegistrationJson), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn move_track(
    Caller { state, user }: Caller,
    Path((id, registration)): Path<(MeetingId, RegistrationId)>,
    body: JsonBody<TrackInput>,
) -> Result<Json<RegistrationJson>> {
    let meeting = state.store.meeting(id).await?;
    let Json(t) = body?;
    let reason = reason_of(t.reason.as_deref())?;
    seats::move_track(&state.forum, &Actor::of(&user), &meeting, registration, &t.track, &reason).await?;
    Ok(Json(state.store.registration(registration).await?.into()))
}

/// A short message to one group of the meeting's people.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageInput {
    /// `attending`, `waitlisted` or `not_answered`.
    audience: String,
    /// Plain text, at most 1,000 characters; line breaks make paragraphs.
    message: String,
}

/// How many messages were queued.
#[derive(Serialize, ToSchema)]
pub struct MessageQueued {
    queued: usize,
}

/// Queues a short personal message to the meeting's attendees, its waiting
/// list or those invited who have not answered.
#[utoipa::path(post, path = "/meetings/{id}/messages", request_body = MessageInput, params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 202, body = MessageQueued), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn message(
    Caller { state, user }: Caller,
    Path(id): Path<MeetingId>,
    body: JsonBody<MessageInput>,
) -> Result<(StatusCode, Json<MessageQueued>)> {
    let meeting = state.store.meeting(id).await?;
    let Json(m) = body?;
    let audience = meeting_mail::audience_named(&m.audience)
        .ok_or_else(|| Error::invalid("audience", "must be attending, waitlisted or not_answered"))?;
    let note = Note::parse(&m.message).field("message")?;
    if note.as_str().trim().is_empty() {
        return Err(Error::invalid("message", "write a message"));
    }
    let expected = meeting_mail::audience(&state.forum, &meeting, audience).await?.len();
    let queued = meeting_mail::send(&state.forum, &Actor::of(&user), &meeting, audience, &note, expected).await?;
    Ok(accepted(MessageQueued { queued }))
}
