//! Evaluations over the API: read or replace a meeting's questionnaire before
//! it is sent, send it after the meeting, remind, close, and read the results
//! and the trend across meetings.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Caller, Field, JsonBody, Problem, accepted};
use crate::domain::evaluation::Questionnaire;
use crate::domain::{MeetingId, Timestamp};
use crate::forum::evaluations::{self as use_case, SendError};
use crate::store::StoreError;
use crate::store::audit::Actor;
use crate::store::evaluations::{GroupResult, QuestionResult, Results, TrendSeries, results_by, trend};
use crate::web::auth::{Need, needs};
use crate::web::extract::Path;
use crate::web::{AppState, Error, Result};

/// Routes, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    needs(
        Need::Read,
        Router::new()
            .route("/meetings/{id}/evaluation", get(questionnaire))
            .route("/meetings/{id}/evaluation/results", get(get_results))
            .route("/evaluations/trend", get(get_trend)),
    )
    .merge(needs(
        Need::Write,
        Router::new()
            .route("/meetings/{id}/evaluation", put(replace_questionnaire))
            .route("/meetings/{id}/evaluation/send", post(send))
            .route("/meetings/{id}/evaluation/remind", post(remind))
            .route("/meetings/{id}/evaluation/close", post(close)),
    ))
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Store(s) => s.into(),
            SendError::ClosingInPast => Self::invalid("closes_at", e),
            other => Self::Conflict(other.to_string()),
        }
    }
}

/// A meeting's questionnaire and whether answers are anonymous.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionnaireJson {
    /// Answers are stored with no link to the person. Default true.
    #[serde(default = "yes", deserialize_with = "super::null_as_yes")]
    anonymous: bool,
    /// Questions in order: `{"key", "kind": "rating|single|multiple|text", "da", "en", "options": [{"key", "da", "en"}]}`.
    #[schema(value_type = Vec<Object>)]
    questions: Questionnaire,
}

const fn yes() -> bool {
    true
}

/// The meeting's questionnaire: the forum's usual one until it is edited.
#[utoipa::path(get, path = "/meetings/{id}/evaluation", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = QuestionnaireJson), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn questionnaire(Caller { state, .. }: Caller, Path(id): Path<MeetingId>) -> Result<Json<QuestionnaireJson>> {
    let m = state.store.meeting(id).await?;
    let e = state.store.evaluation_or_default(m.id).await?;
    Ok(Json(QuestionnaireJson { anonymous: e.anonymous, questions: e.questionnaire }))
}

/// Replaces the questionnaire; refused (409) once the evaluation was sent.
#[utoipa::path(put, path = "/meetings/{id}/evaluation", request_body = QuestionnaireJson,
    params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = QuestionnaireJson), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn replace_questionnaire(
    Caller { state, .. }: Caller,
    Path(id): Path<MeetingId>,
    body: JsonBody<QuestionnaireJson>,
) -> Result<Json<QuestionnaireJson>> {
    let m = state.store.meeting(id).await?;
    let Json(input) = body?;
    input.questions.validate().field("questions")?;
    match state.store.save_questionnaire(m.id, &input.questions, input.anonymous).await {
        Err(StoreError::Conflict(_)) => {
            return Err(Error::Conflict("the evaluation has been sent; its questions can no longer change".into()));
        }
        other => other?,
    }
    Ok(Json(input))
}

/// When the evaluation closes; absent: after the configured number of days.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SendInput {
    #[schema(value_type = Option<String>, format = DateTime)]
    closes_at: Option<Timestamp>,
}

/// The answer to a send.
#[derive(Serialize, ToSchema)]
pub struct EvaluationSent {
    /// The campaign sending the evaluation (see `GET /campaigns/{id}`).
    id: Uuid,
    state: String,
    /// The campaign that will remind those who have not answered, if any.
    reminder_campaign_id: Option<Uuid>,
    #[schema(format = DateTime)]
    reminder_at: Option<String>,
    #[schema(format = DateTime)]
    closes_at: String,
}

/// Sends the evaluation to those who attended the meeting (checked in, or
/// registered as attending when check-in was not used), once, after the
/// meeting has ended (409 before). Non-responders get a reminder after
/// `evaluation.reminder_after_days`.
#[utoipa::path(post, path = "/meetings/{id}/evaluation/send", request_body(content = Option<SendInput>),
    params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 202, body = EvaluationSent), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn send(
    Caller { state, user }: Caller,
    Path(id): Path<MeetingId>,
    body: Bytes,
) -> Result<(StatusCode, Json<EvaluationSent>)> {
    let meeting = state.store.meeting(id).await?;
    let input: SendInput = if body.iter().all(u8::is_ascii_whitespace) {
        SendInput::default()
    } else {
        serde_json::from_slice(&body).field("body")?
    };
    let schedule = &state.settings.evaluation;
    let sent =
        use_case::send(&state.forum, &Actor::of(&user), Some(user.id), &meeting, schedule, input.closes_at).await?;
    Ok(accepted(EvaluationSent {
        id: sent.campaign.uuid(),
        state: "scheduled".into(),
        reminder_campaign_id: sent.reminder.map(crate::domain::CampaignId::uuid),
        reminder_at: sent.reminder_at.map(super::rfc3339),
        closes_at: super::rfc3339(sent.closes_at),
    }))
}

/// A campaign started.
#[derive(Serialize, ToSchema)]
pub struct ReminderSent {
    id: Uuid,
}

/// Reminds those who have not answered, now (the scheduled reminder is
/// brought forward). 409 before sending or after closing.
#[utoipa::path(post, path = "/meetings/{id}/evaluation/remind", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 202, body = ReminderSent), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn remind(Caller { state, user }: Caller, Path(id): Path<MeetingId>) -> Result<(StatusCode, Json<ReminderSent>)> {
    let meeting = state.store.meeting(id).await?;
    let cid = use_case::remind(&state.forum, &Actor::of(&user), Some(user.id), &meeting).await?;
    Ok(accepted(ReminderSent { id: cid.uuid() }))
}

/// The closing time.
#[derive(Serialize, ToSchema)]
pub struct Closed {
    #[schema(format = DateTime)]
    closes_at: Option<String>,
}

/// Closes the evaluation now: no answer is taken or changed afterwards.
#[utoipa::path(post, path = "/meetings/{id}/evaluation/close", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = Closed), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn close(Caller { state, user }: Caller, Path(id): Path<MeetingId>) -> Result<Json<Closed>> {
    let meeting = state.store.meeting(id).await?;
    use_case::close(&state.forum, &Actor::of(&user), &meeting).await?;
    let e = state.store.evaluation_or_default(meeting.id).await?;
    Ok(Json(Closed { closes_at: e.closes_at.map(super::rfc3339) }))
}

/// How many chose an option (a rating value `"1"`–`"5"`, or a choice key).
#[derive(Serialize, ToSchema)]
pub struct OptionJson {
    key: String,
    label_da: String,
    label_en: String,
    count: i64,
}

/// One question's results.
#[derive(Serialize, ToSchema)]
pub struct QuestionResultJson {
    /// Stable across meetings.
    key: String,
    /// `rating`, `single`, `multiple` or `text`.
    kind: String,
    text_da: String,
    text_en: String,
    answered: i64,
    options: Vec<OptionJson>,
    /// Mean of a rating question.
    average: Option<f64>,
    /// Free-text answers.
    texts: Vec<String>,
}

/// A meeting's evaluation results.
#[derive(Serialize, ToSchema)]
pub struct ResultsJson {
    meeting_id: Uuid,
    anonymous: bool,
    /// Made-up results from the demo data.
    demo: bool,
    #[schema(format = DateTime)]
    sent_at: Option<String>,
    #[schema(format = DateTime)]
    closes_at: Option<String>,
    recipients: i64,
    responses: i64,
    /// Between 0 and 1; null when sent to nobody.
    response_rate: Option<f64>,
    questions: Vec<QuestionResultJson>,
    /// Free-text answers held back until an organiser has read and released them; not in `texts`.
    texts_held: i64,
    /// The fewest answers a group of `by_track` needs to be shown (`evaluation.breakdown_minimum`).
    breakdown_minimum: u32,
    /// The answers by the track of the seat, one group per track; a smaller
    /// group than the minimum is `hidden`, without its count or averages.
    by_track: Vec<GroupJson>,
}

/// One group of a breakdown.
#[derive(Serialize, ToSchema)]
pub struct GroupJson {
    key: String,
    title: String,
    hidden: bool,
    /// Null when hidden.
    responses: Option<i64>,
    /// The average of each rating question; empty when hidden.
    averages: Vec<GroupAverageJson>,
}

/// A rating question's average within a group.
#[derive(Serialize, ToSchema)]
pub struct GroupAverageJson {
    key: String,
    average: Option<f64>,
}

impl From<QuestionResult> for QuestionResultJson {
    fn from(q: QuestionResult) -> Self {
        Self {
            key: q.key,
            kind: q.kind.as_str().to_owned(),
            text_da: q.text_da,
            text_en: q.text_en,
            answered: q.answered,
            options: q
                .options
                .into_iter()
                .map(|o| OptionJson { key: o.key, label_da: o.label_da, label_en: o.label_en, count: o.count })
                .collect(),
            average: q.average,
            texts: q.texts,
        }
    }
}

impl From<GroupResult> for GroupJson {
    fn from(g: GroupResult) -> Self {
        Self {
            key: g.key,
            title: g.title,
            hidden: g.hidden,
            responses: g.responses,
            averages: g.averages.into_iter().map(|a| GroupAverageJson { key: a.key, average: a.average }).collect(),
        }
    }
}

impl From<Results> for ResultsJson {
    fn from(r: Results) -> Self {
        Self {
            meeting_id: r.meeting_id.uuid(),
            anonymous: r.anonymous,
            demo: r.demo,
            sent_at: r.sent_at.map(super::rfc3339),
            closes_at: r.closes_at.map(super::rfc3339),
            recipients: r.recipients,
            responses: r.responses,
            response_rate: r.response_rate,
            questions: r.questions.into_iter().map(QuestionResultJson::from).collect(),
            texts_held: r.texts_held,
            breakdown_minimum: r.breakdown_minimum,
            by_track: r.by_track.into_iter().map(GroupJson::from).collect(),
        }
    }
}

/// Response rate, the distribution of each question, rating averages and free-text answers.
#[utoipa::path(get, path = "/meetings/{id}/evaluation/results", params(("id" = Uuid, Path, description = "meeting id")),
    responses((status = 200, body = ResultsJson), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_results(Caller { state, .. }: Caller, Path(id): Path<MeetingId>) -> Result<Json<ResultsJson>> {
    let m = state.store.meeting(id).await?;
    Ok(Json(results_by(&state.store, m.id, state.breakdown_minimum()).await?.into()))
}

/// One meeting's value for a question.
#[derive(Serialize, ToSchema)]
pub struct TrendPointJson {
    meeting_id: Uuid,
    number: Option<i32>,
    title: String,
    #[schema(format = DateTime)]
    starts_at: String,
    demo: bool,
    answered: i64,
    /// Rating questions.
    average: Option<f64>,
    /// Choice questions: option key → share (0–1) of those who answered.
    shares: std::collections::BTreeMap<String, f64>,
}

/// One stable question across meetings, oldest first.
#[derive(Serialize, ToSchema)]
pub struct TrendJson {
    key: String,
    kind: String,
    text_da: String,
    text_en: String,
    points: Vec<TrendPointJson>,
}

impl From<TrendSeries> for TrendJson {
    fn from(s: TrendSeries) -> Self {
        Self {
            key: s.key,
            kind: s.kind.as_str().to_owned(),
            text_da: s.text_da,
            text_en: s.text_en,
            points: s
                .points
                .into_iter()
                .map(|p| TrendPointJson {
                    meeting_id: p.meeting_id.uuid(),
                    number: p.number,
                    title: p.title,
                    starts_at: super::rfc3339(p.starts_at),
                    demo: p.demo,
                    answered: p.answered,
                    average: p.average,
                    shares: p.shares.into_iter().collect(),
                })
                .collect(),
        }
    }
}

/// The list of trends.
#[derive(Serialize, ToSchema)]
pub struct TrendList {
    items: Vec<TrendJson>,
}

/// Every rating and choice question, by stable key, across the meetings whose evaluation was sent.
#[utoipa::path(get, path = "/evaluations/trend", responses((status = 200, body = TrendList)))]
async fn get_trend(Caller { state, .. }: Caller) -> Result<Json<TrendList>> {
    Ok(Json(TrendList { items: trend(&state.store).await?.into_iter().map(TrendJson::from).collect() }))
}
