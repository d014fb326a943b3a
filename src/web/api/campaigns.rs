//! Invitations, campaign progress, pausing and cancelling, the meeting
//! transitions that go with them, and copying a meeting as the start of the
//! next one.

use crate::web::extract::Path;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Caller, Field, JsonBody, MeetingJson, Problem, accepted, created, optional_name};
use crate::domain::{CampaignId, Email, MeetingId, MeetingStatus, Name, Note, OrganisationId, PersonId, Timestamp};
use crate::forum::{self, campaigns::Move};
use crate::store::audit::Actor;
use crate::store::campaigns::{Audience, Guest, Progress, Target};
use crate::web::auth::{Need, needs};
use crate::web::{AppState, Error, Result};

/// Routes, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    needs(Need::Read, Router::new().route("/campaigns/{id}", get(progress))).merge(needs(
        Need::Write,
        Router::new()
            .route("/meetings/{id}/invitations", post(invite))
            .route("/meetings/{id}/publish", post(publish))
            .route("/meetings/{id}/cancel", post(cancel_meeting))
            .route("/meetings/{id}/close", post(close_registration))
            .route("/meetings/{id}/held", post(mark_held))
            .route("/meetings/{id}/archive", post(archive))
            .route("/meetings/{id}/reopen", post(reopen))
            .route("/meetings/{id}/copy", post(copy_meeting))
            .route("/campaigns/{id}/pause", post(pause))
            .route("/campaigns/{id}/resume", post(resume))
            .route("/campaigns/{id}/cancel", post(cancel_campaign)),
    ))
}

/// Who to invite: exactly one of the three forms, or none when only guests are invited.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceInput {
    /// Everybody confirmed on the list.
    all: Option<bool>,
    /// Confirmed members with any of these interests.
    interests: Option<Vec<String>>,
    /// These confirmed members.
    subscriber_ids: Option<Vec<Uuid>>,
    /// Confirmed members of these organisations.
    organisations: Option<Vec<Uuid>>,
    /// Confirmed members who attended (or were checked in at) these meetings.
    attendees_of: Option<Vec<Uuid>>,
}

/// A guest, invited without being put on the list.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestInput {
    email: String,
    name: String,
    organisation: Option<String>,
}

/// An invitation to a meeting.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationInput {
    audience: Option<AudienceInput>,
    #[serde(default, deserialize_with = "super::null_as_default")]
    guests: Vec<GuestInput>,
    /// When to send; now if absent. RFC 3339.
    #[schema(value_type = Option<String>, format = DateTime)]
    send_at: Option<Timestamp>,
}

impl AudienceInput {
    /// The one form of audience given.
    fn parse(self) -> Result<Audience> {
        Ok(match (self.all, self.interests, self.subscriber_ids, self.organisations, self.attendees_of) {
            (Some(true), None, None, None, None) => Audience::All,
            (None, Some(i), None, None, None) if !i.is_empty() => Audience::Interests(i),
            (None, None, Some(ids), None, None) if !ids.is_empty() => {
                Audience::People(ids.into_iter().map(PersonId::from_uuid).collect())
            }
            (None, None, None, Some(ids), None) if !ids.is_empty() => {
                Audience::Organisations(ids.into_iter().map(OrganisationId::from_uuid).collect())
            }
            (None, None, None, None, Some(ids)) if !ids.is_empty() => {
                Audience::AttendeesOf(ids.into_iter().map(MeetingId::from_uuid).collect())
            }
            _ => {
                return Err(Error::invalid(
                    "audience",
                    "give exactly one of {\"all\": true}, {\"interests\": [...]}, {\"subscriber_ids\": [...]}, \
                     {\"organisations\": [...]} or {\"attendees_of\": [...]}",
                ));
            }
        })
    }
}

impl InvitationInput {
    fn target(self) -> Result<(Target, Option<Timestamp>)> {
        let audience = self.audience.map(AudienceInput::parse).transpose()?;
        let mut guests = Vec::new();
        for (i, g) in self.guests.into_iter().enumerate() {
            guests.push(Guest {
                email: Email::parse(&g.email).field(format!("guests[{i}].email"))?,
                name: Name::parse(&g.name).field(format!("guests[{i}].name"))?,
                organisation: optional_name(&format!("guests[{i}].organisation"), g.organisation.as_deref())?,
            });
        }
        if audience.is_none() && guests.is_empty() {
            return Err(Error::invalid("audience", "invite an audience, guests or both"));
        }
        Ok((Target { audience, guests }, self.send_at))
    }
}

/// The answer to a new campaign.
#[derive(Serialize, ToSchema)]
pub struct CampaignCreated {
    id: Uuid,
    state: String,
}

/// Invites an audience and guests to a published meeting. The campaign is
/// expanded into one personal message per address (each address once;
/// people who left the list or bounced are left out) and sent in the background.
#[utoipa::path(post, path = "/meetings/{id}/invitations", request_body = InvitationInput,
    params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 202, body = CampaignCreated), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn invite(
    Caller { state, user }: Caller,
    Path(id): Path<MeetingId>,
    body: JsonBody<InvitationInput>,
) -> Result<(StatusCode, Json<CampaignCreated>)> {
    let meeting = state.store.meeting(id).await?;
    let Json(input) = body?;
    let (target, send_at) = input.target()?;
    let cid = forum::campaigns::invite(&state.forum, &Actor::of(&user), user.id, &meeting, target, send_at).await?;
    Ok(accepted(CampaignCreated { id: cid.uuid(), state: "scheduled".into() }))
}

/// A campaign's progress.
#[derive(Serialize, ToSchema)]
pub struct CampaignJson {
    id: Uuid,
    kind: String,
    meeting_id: Option<Uuid>,
    /// `scheduled`, `sending`, `paused`, `done`, `cancelled` or `failed`
    /// (it could not be expanded into messages after three attempts; see
    /// `failure`). A campaign that fails never holds back later ones.
    state: String,
    #[schema(format = DateTime)]
    scheduled_at: String,
    total: i64,
    queued: i64,
    sent: i64,
    /// Messages that could not be delivered.
    failed: i64,
    /// How many times its expansion into messages was begun.
    attempts: i32,
    /// Why the last attempt at expanding it failed; `null` when none did.
    failure: Option<String>,
}

impl From<Progress> for CampaignJson {
    fn from(p: Progress) -> Self {
        Self {
            id: p.id.uuid(),
            kind: p.kind,
            meeting_id: p.meeting_id.map(MeetingId::uuid),
            state: p.state,
            scheduled_at: super::rfc3339(p.scheduled_at),
            total: p.total,
            queued: p.queued,
            sent: p.sent,
            failed: p.failed,
            attempts: p.attempts,
            failure: p.failure,
        }
    }
}

/// State and progress of a campaign. `done` only when every message is sent or has failed.
#[utoipa::path(get, path = "/campaigns/{id}", params(("id" = Uuid, Path, description = "campaign id")),
    responses((status = 200, body = CampaignJson), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn progress(Caller { state, .. }: Caller, Path(id): Path<CampaignId>) -> Result<Json<CampaignJson>> {
    Ok(Json(state.store.campaign_progress(id).await?.into()))
}

/// Moves a campaign on, and answers with its progress.
async fn transition(Caller { state, user }: Caller, id: CampaignId, to: Move) -> Result<Json<CampaignJson>> {
    forum::campaigns::change(&state.forum, &Actor::of(&user), id, to).await?;
    Ok(Json(state.store.campaign_progress(id).await?.into()))
}

/// Pauses sending; messages already handed to the mail server are not recalled.
#[utoipa::path(post, path = "/campaigns/{id}/pause", params(("id" = Uuid, Path, description = "campaign id")),
    responses((status = 200, body = CampaignJson), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn pause(caller: Caller, Path(id): Path<CampaignId>) -> Result<Json<CampaignJson>> {
    transition(caller, id, Move::Pause).await
}

/// Resumes a paused campaign; nothing already sent is sent again.
#[utoipa::path(post, path = "/campaigns/{id}/resume", params(("id" = Uuid, Path, description = "campaign id")),
    responses((status = 200, body = CampaignJson), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn resume(caller: Caller, Path(id): Path<CampaignId>) -> Result<Json<CampaignJson>> {
    transition(caller, id, Move::Resume).await
}

/// Cancels a campaign: its queued messages are withdrawn.
#[utoipa::path(post, path = "/campaigns/{id}/cancel", params(("id" = Uuid, Path, description = "campaign id")),
    responses((status = 200, body = CampaignJson), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn cancel_campaign(caller: Caller, Path(id): Path<CampaignId>) -> Result<Json<CampaignJson>> {
    transition(caller, id, Move::Cancel).await
}

/// Moves a meeting to another status, and answers with the meeting.
async fn meeting_transition(
    Caller { state, user }: Caller,
    id: MeetingId,
    to: MeetingStatus,
) -> Result<Json<MeetingJson>> {
    let m = forum::meetings::transition(&state.forum, &Actor::of(&user), id, to).await?;
    Ok(Json(MeetingJson::from(&m)))
}

/// Publishes a draft: the meeting appears on the public pages and can be invited to.
#[utoipa::path(post, path = "/meetings/{id}/publish", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = MeetingJson), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn publish(caller: Caller, Path(id): Path<MeetingId>) -> Result<Json<MeetingJson>> {
    meeting_transition(caller, id, MeetingStatus::Published).await
}

/// Closes registration of a published (or open) meeting.
#[utoipa::path(post, path = "/meetings/{id}/close", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = MeetingJson), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn close_registration(caller: Caller, Path(id): Path<MeetingId>) -> Result<Json<MeetingJson>> {
    meeting_transition(caller, id, MeetingStatus::Closed).await
}

/// Marks a meeting as held (from published, open or closed), once it has
/// begun; before its start the answer is 409.
#[utoipa::path(post, path = "/meetings/{id}/held", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = MeetingJson), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn mark_held(caller: Caller, Path(id): Path<MeetingId>) -> Result<Json<MeetingJson>> {
    meeting_transition(caller, id, MeetingStatus::Held).await
}

/// Undoes a meeting marked held or closed by mistake: a held meeting goes
/// back to `open` while its registration deadline (or, without one, its
/// start) has not passed and to `closed` after; a closed one goes to `open`.
/// 409 from any other status.
#[utoipa::path(post, path = "/meetings/{id}/reopen", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = MeetingJson), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn reopen(Caller { state, user }: Caller, Path(id): Path<MeetingId>) -> Result<Json<MeetingJson>> {
    let m = forum::meetings::reopen(&state.forum, &Actor::of(&user), id).await?;
    Ok(Json(MeetingJson::from(&m)))
}

/// Copies a meeting as the start of the next one: a draft with the title
/// marked "(kopi)", no number, the same texts, format, venue, tracks,
/// programme, invitation text and questionnaire, its times moved on by whole
/// weeks until it starts after now. Registrations and status stay behind.
#[utoipa::path(post, path = "/meetings/{id}/copy", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 201, body = MeetingJson), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn copy_meeting(
    Caller { state, user }: Caller,
    Path(id): Path<MeetingId>,
) -> Result<(StatusCode, Json<MeetingJson>)> {
    let copy = forum::meetings::copy(&state.forum, &Actor::of(&user), id).await?;
    Ok(created(MeetingJson::from(&state.store.meeting(copy).await?)))
}

/// Archives a meeting that was held (or evaluated).
#[utoipa::path(post, path = "/meetings/{id}/archive", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = MeetingJson), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn archive(caller: Caller, Path(id): Path<MeetingId>) -> Result<Json<MeetingJson>> {
    meeting_transition(caller, id, MeetingStatus::Archived).await
}

/// What may come with a cancellation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    /// The organisers' word to everyone told, as plain text in the body of
    /// the cancellation mail: line breaks kept, at most 1,000 characters.
    #[serde(default, deserialize_with = "super::null_as_default")]
    message: String,
}

/// Cancels a meeting that has not been held. Everyone invited who has not
/// declined gets, in the same transaction, a notice with a calendar entry that
/// withdraws the meeting (`METHOD:CANCEL`, same UID, SEQUENCE one higher) and
/// the `message`, when the optional JSON body gives one.
#[utoipa::path(post, path = "/meetings/{id}/cancel", params(("id" = Uuid, Path, description = "meeting id")),
    request_body(content = Option<CancelInput>, description = "optional"),
    responses((status = 200, body = MeetingJson), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn cancel_meeting(
    Caller { state, user }: Caller,
    Path(id): Path<MeetingId>,
    body: std::result::Result<Option<Json<CancelInput>>, JsonRejection>,
) -> Result<Json<MeetingJson>> {
    let message = body?.map(|Json(b)| b.message).unwrap_or_default();
    let note = Note::parse(&message).field("message")?;
    let m = forum::meetings::cancel(&state.forum, &Actor::of(&user), id, &note).await?;
    Ok(Json(MeetingJson::from(&m)))
}
