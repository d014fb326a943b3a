//! The mailing list for organisers: search and page through it, add a person,
//! read, change and erase one, and import a CSV file.
//!
//! Every call that shows, searches, changes, imports or erases personal data
//! leaves an audit entry naming the account, the action, the person's id or
//! the search, and the number of rows. Viewers may list and read; changing,
//! importing and erasing need the organiser or admin role.

use crate::web::extract::Path;
use axum::body::Bytes;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Caller, Field, JsonBody, Problem, created, cursor, optional_name, page, page_limit, read_cursor};
use crate::domain::{Email, Name, PersonId, PersonStatus};
use crate::forum;
use crate::store::audit::{self, Actor, Entry};
use crate::store::subscribers::{Changes, NewSubscriber, Subscriber, SubscriberFilter};
use crate::store::subscriptions::Consent;
use crate::transfer::import::{self, ImportError, Report};
use crate::web::auth::{Need, needs};
use crate::web::{AppState, Error, Result};

/// Routes, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    needs(
        Need::Personal,
        Router::new().route("/subscribers", get(list_subscribers)).route("/subscribers/{id}", get(get_subscriber)),
    )
    .merge(needs(
        Need::Write,
        Router::new()
            .route("/subscribers", post(create_subscriber))
            .route("/subscribers/import", post(import_subscribers))
            .route("/subscribers/{id}", patch(update_subscriber).delete(delete_subscriber)),
    ))
}

/// A person on the list.
#[derive(Serialize, ToSchema)]
pub struct SubscriberJson {
    id: Uuid,
    email: String,
    name: String,
    organisation: Option<String>,
    /// Interest keys.
    interests: Vec<String>,
    /// `pending`, `confirmed`, `unsubscribed` or `bounced` (`guest` for a
    /// guest read by id; guests are never listed).
    status: String,
    /// `da` or `en`.
    language: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    confirmed_at: Option<String>,
}

impl From<Subscriber> for SubscriberJson {
    fn from(s: Subscriber) -> Self {
        Self {
            id: s.id.uuid(),
            email: s.email.as_str().to_owned(),
            name: s.name,
            organisation: s.organisation,
            interests: s.interests,
            status: s.status.as_str().to_owned(),
            language: s.language,
            created_at: super::rfc3339(s.created_at),
            confirmed_at: s.confirmed_at.map(super::rfc3339),
        }
    }
}

/// One page of the list, newest first.
#[derive(Serialize, ToSchema)]
pub struct SubscriberPage {
    items: Vec<SubscriberJson>,
    /// Pass back as `?cursor=` for the next page; `null` on the last page.
    next: Option<String>,
}

/// Filters and paging of the list.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct SubscriberQuery {
    /// Part of the name, the address or the organisation, in any case.
    q: Option<String>,
    /// `pending`, `confirmed`, `unsubscribed` or `bounced`.
    status: Option<String>,
    /// An interest key: only people with this interest.
    interest: Option<String>,
    /// An organisation's name, in any case: only its people.
    organisation: Option<String>,
    /// From the `next` field of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–200; default 50.
    limit: Option<u32>,
}

/// The interest keys that exist, or an error naming the first that does not.
async fn known_interests(state: &AppState, field: &str, keys: &[String]) -> Result<Vec<String>> {
    let all = state.store.interests().await?;
    let mut out = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        if !all.iter().any(|x| &x.key == key) {
            let known = all.iter().map(|x| x.key.as_str()).collect::<Vec<_>>().join(", ");
            return Err(Error::invalid(format!("{field}[{i}]"), format!("no such interest; known: {known}")));
        }
        if !out.contains(key) {
            out.push(key.clone());
        }
    }
    out.sort();
    Ok(out)
}

fn nonempty(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// Lists the people on the list (never guests), newest first.
#[utoipa::path(get, path = "/subscribers", params(SubscriberQuery),
    responses((status = 200, body = SubscriberPage), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn list_subscribers(
    Caller { state, user }: Caller,
    Query(q): Query<SubscriberQuery>,
) -> Result<Json<SubscriberPage>> {
    let filter = q.filter(&state).await?;
    let detail = search_detail(&filter);
    let (people, more) =
        forum::list::find(&state.forum, &Actor::of(&user), filter, "subscribers.list", &detail).await?;
    let (items, next) = page(people, more, |p| cursor(p.created_at, p.id), SubscriberJson::from);
    Ok(Json(SubscriberPage { items, next }))
}

impl SubscriberQuery {
    /// The search the query asks for, each parameter checked.
    async fn filter(&self, state: &AppState) -> Result<SubscriberFilter> {
        let limit = page_limit(self.limit)?;
        let status = match nonempty(self.status.as_ref()).map(PersonStatus::parse) {
            None => None,
            Some(Ok(PersonStatus::Guest) | Err(_)) => {
                return Err(Error::BadRequest("status: must be pending, confirmed, unsubscribed or bounced".into()));
            }
            Some(Ok(status)) => Some(status),
        };
        let interest = nonempty(self.interest.as_ref()).map(str::to_owned);
        if let Some(key) = &interest {
            known_interests(state, "interest", std::slice::from_ref(key))
                .await
                .map_err(|_| Error::BadRequest(format!("interest: there is no interest {key:?}")))?;
        }
        Ok(SubscriberFilter {
            q: nonempty(self.q.as_ref()).map(str::to_owned),
            status,
            interest,
            organisation: nonempty(self.organisation.as_ref()).map(str::to_owned),
            before: self.cursor.as_deref().map(read_cursor).transpose()?,
            limit,
        })
    }
}

/// What the audit entry of a search records: which filters, and whether it
/// was a later page.
fn search_detail(filter: &SubscriberFilter) -> String {
    let search = [
        ("q", filter.q.as_deref()),
        ("status", filter.status.map(PersonStatus::as_str)),
        ("interest", filter.interest.as_deref()),
        ("organisation", filter.organisation.as_deref()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
    .collect::<Vec<_>>()
    .join("; ");
    let page = if filter.before.is_some() { "; a later page" } else { "" };
    format!("{search}{page}")
}

/// One person, guests included.
#[utoipa::path(get, path = "/subscribers/{id}", params(("id" = Uuid, Path, description = "person id")),
    responses((status = 200, body = SubscriberJson), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_subscriber(Caller { state, user }: Caller, Path(id): Path<PersonId>) -> Result<Json<SubscriberJson>> {
    let person = state.store.subscriber(id).await?;
    audit::record_read(
        &state.store,
        &Actor::of(&user),
        &Entry::read("subscriber.view", "person", Some(id.uuid()), "", 1),
    )
    .await?;
    Ok(Json(person.into()))
}

/// A person an organiser adds: confirmed at once, with the organiser's
/// account recorded as the basis of the consent (method `api`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriberInput {
    email: String,
    name: String,
    organisation: Option<String>,
    /// Interest keys.
    #[serde(default, deserialize_with = "super::null_as_default")]
    interests: Vec<String>,
    /// `da` (default) or `en`.
    language: Option<String>,
}

fn language(field: &str, value: &str) -> Result<&'static str> {
    match value {
        "da" => Ok("da"),
        "en" => Ok("en"),
        _ => Err(Error::invalid(field, "must be da or en")),
    }
}

/// Adds a person to the list as confirmed.
#[utoipa::path(post, path = "/subscribers", request_body = SubscriberInput,
    responses((status = 201, body = SubscriberJson), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_subscriber(
    Caller { state, user }: Caller,
    body: JsonBody<SubscriberInput>,
) -> Result<(StatusCode, Json<SubscriberJson>)> {
    let Json(input) = body?;
    let new = NewSubscriber {
        email: Email::parse(&input.email).field("email")?,
        name: Name::parse(&input.name).field("name")?,
        organisation: optional_name("organisation", input.organisation.as_deref())?,
        interests: known_interests(&state, "interests", &input.interests).await?,
        language: language("language", input.language.as_deref().unwrap_or("da"))?,
    };
    let consent = Consent {
        text: "Tilføjet af en arrangør, der har samtykket på personens vegne.".into(),
        version: "api".into(),
        method: "api",
        proof: format!("API token of account {}", user.id),
    };
    let id = forum::list::add(&state.forum, &Actor::of(&user), &new, &consent).await?;
    Ok(created(state.store.subscriber(id).await?.into()))
}

/// Reads `null` as `Some(None)`, so that a missing field and `null` differ.
#[allow(clippy::option_option, reason = "absent, null and a value mean three different things in a PATCH")]
fn present<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Changes to a person; fields left out stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriberPatch {
    name: Option<String>,
    /// `null` or `""` removes the organisation.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    #[allow(clippy::option_option, reason = "absent, null and a value mean three different things in a PATCH")]
    organisation: Option<Option<String>>,
    /// Replaces the interests (keys).
    interests: Option<Vec<String>>,
    /// `da` or `en`.
    language: Option<String>,
    /// Only `unsubscribed`: takes the person off the list at once. People
    /// confirm themselves, and bounces come from returned mail.
    status: Option<String>,
}

/// Changes a person's details, or takes them off the list.
#[utoipa::path(patch, path = "/subscribers/{id}", request_body = SubscriberPatch,
    params(("id" = Uuid, Path, description = "person id")),
    responses((status = 200, body = SubscriberJson), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn update_subscriber(
    Caller { state, user }: Caller,
    Path(id): Path<PersonId>,
    body: JsonBody<SubscriberPatch>,
) -> Result<Json<SubscriberJson>> {
    let Json(input) = body?;
    let leave = match input.status.as_deref() {
        None => false,
        Some("unsubscribed") => true,
        Some(_) => return Err(Error::invalid("status", "can only be set to unsubscribed")),
    };
    let changes = Changes {
        name: input.name.as_deref().map(Name::parse).transpose().field("name")?,
        organisation: input.organisation.map(|o| optional_name("organisation", o.as_deref())).transpose()?,
        interests: match &input.interests {
            Some(keys) => Some(known_interests(&state, "interests", keys).await?),
            None => None,
        },
        language: input.language.as_deref().map(|l| language("language", l)).transpose()?,
    };
    if changes.fields().is_empty() && !leave {
        return Err(Error::invalid("body", "give at least one of name, organisation, interests, language, status"));
    }
    forum::list::update(&state.forum, &Actor::of(&user), id, &changes, leave).await?;
    Ok(Json(state.store.subscriber(id).await?.into()))
}

/// Erases a person: name, address and everything they wrote are removed
/// everywhere; the audit log keeps pseudonymous entries (their id) only.
#[utoipa::path(delete, path = "/subscribers/{id}", params(("id" = Uuid, Path, description = "person id")),
    responses((status = 204, description = "erased"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete_subscriber(Caller { state, user }: Caller, Path(id): Path<PersonId>) -> Result<StatusCode> {
    let erased = forum::list::erase(&state.forum, &Actor::of(&user), id).await?;
    tracing::info!(person = %id, rows = erased.total(), "person erased by an organiser");
    Ok(StatusCode::NO_CONTENT)
}

/// Imports people from a CSV file sent as the body (see the README for the
/// columns). Imported people are confirmed, with the import as the basis;
/// addresses already known are left as they are. One transaction: on a
/// database failure nothing is imported.
#[utoipa::path(post, path = "/subscribers/import",
    request_body(content = String, content_type = "text/csv", description = "CSV with a header row naming email, name and organisation"),
    responses((status = 200, body = Report), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn import_subscribers(Caller { state, user }: Caller, body: Bytes) -> Result<Json<Report>> {
    let report =
        import::subscribers(&state.store, &body[..], &Actor::of(&user), |_| {}).await.map_err(|e| match e {
            ImportError::File(why) => Error::invalid("file", why),
            ImportError::Store(e) => e.into(),
        })?;
    tracing::info!(imported = report.imported, rejected = report.rejected.len(), "subscribers imported by API");
    Ok(Json(report))
}
