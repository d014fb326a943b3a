//! The self-service profile: a person asks for a personal link by address
//! (`/me`), and the link (`/me/{token}`) shows their details to change,
//! offers everything held about them as JSON, and lets them erase it all.
//!
//! Asking for a link answers the same whether or not the address is known, so
//! the page tells nobody who is on the list; it is rate-limited per client and
//! per address like sign-up. Opening the link changes nothing: saving and
//! erasing are POSTs from its forms, and erasing needs a ticked box.

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::SignedDuration;

use crate::domain::{Email, Name, PersonId, PersonStatus, Timestamp, Token, TokenPurpose};
use crate::forum::list;
use crate::i18n::{Lang, Texts};
use crate::mail::notices::{self, To};
use crate::store::audit::{self, Actor, Entry};
use crate::store::people::Interest;
use crate::store::subscribers::{self, Changes, Subscriber};
use crate::store::{rate, subscriptions};
use crate::web::forms::{InterestBox, PersonFields, boxes, field, form_fields, message, person_fields};
use crate::web::{AppState, ClientIp, Ctx, Result};

/// Routes of the profile.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(request_form).post(request_link))
        .route("/me/{token}", get(profile).post(save))
        .route("/me/{token}/data.json", get(download))
        .route("/me/{token}/erase", post(erase))
}

#[derive(Template, WebTemplate)]
#[template(path = "profile_request.html")]
struct RequestPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    email: String,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "profile.html")]
struct ProfilePage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    token: String,
    email: String,
    status: &'static str,
    name: String,
    organisation: String,
    interests: Vec<InterestBox>,
    /// `da` or `en`.
    language: String,
    saved: bool,
    /// (field, message), in the order of the page.
    errors: Vec<(&'static str, String)>,
}

impl ProfilePage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    /// The page for `person` as stored.
    fn of(ctx: &Ctx, token: &str, person: &Subscriber, all: &[Interest]) -> Self {
        let t = ctx.lang.texts();
        Self {
            lang: ctx.lang,
            t,
            // The language switch comes back here, whichever form was sent.
            path: format!("/me/{token}"),
            token: token.to_owned(),
            email: person.email.as_str().to_owned(),
            status: status_text(t, person.status),
            name: person.name.clone(),
            organisation: person.organisation.clone().unwrap_or_default(),
            interests: boxes(all, &person.interests, ctx.lang),
            language: person.language.clone(),
            saved: false,
            errors: Vec::new(),
        }
    }
}

const fn status_text(t: &'static Texts, status: PersonStatus) -> &'static str {
    match status {
        PersonStatus::Guest => t.profile_status_guest,
        PersonStatus::Pending => t.profile_status_pending,
        PersonStatus::Confirmed => t.profile_status_confirmed,
        PersonStatus::Unsubscribed => t.profile_status_unsubscribed,
        PersonStatus::Bounced => t.profile_status_bounced,
    }
}

async fn request_form(ctx: Ctx) -> RequestPage {
    RequestPage { lang: ctx.lang, t: ctx.lang.texts(), path: ctx.path, email: String::new(), error: None }
}

/// Sends a profile link to a pending or confirmed person; the answer is the
/// same for every address.
async fn request_link(State(state): State<AppState>, ctx: Ctx, ip: ClientIp, body: Bytes) -> Result<Response> {
    let t = ctx.lang.texts();
    let fields = form_fields(&body);
    let typed = field(&fields, "email");
    let email = match Email::parse(typed) {
        Ok(e) => e,
        Err(e) => {
            let page = RequestPage {
                lang: ctx.lang,
                t,
                path: ctx.path,
                email: typed.to_owned(),
                error: Some(e.message().to_owned()),
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let sec = &state.settings.security;
    let mut tx = state.store.begin().await?;
    let hour_ago = Timestamp::now() - SignedDuration::from_hours(1);
    // One budget per client for sign-ups and profile links, as the setting says.
    let key = format!("signup-ip:{}", ip.0);
    if !rate::hit(&mut tx, &key, hour_ago, i64::from(sec.signups_per_ip_per_hour)).await? {
        tx.commit().await?;
        tracing::warn!(ip = %ip.0, "profile link rate limit reached");
        return Ok((StatusCode::TOO_MANY_REQUESTS, message(&ctx, t.too_many_title, t.too_many_text)).into_response());
    }
    let found = subscribers::person_by_email(&mut tx, &email).await?;
    if let Some(person) = found.filter(|p| matches!(p.status, PersonStatus::Pending | PersonStatus::Confirmed)) {
        let day_ago = Timestamp::now() - SignedDuration::from_hours(24);
        let sent_today = subscriptions::mails_since(&mut tx, &email, "profile-link", day_ago).await?;
        if sent_today < i64::from(sec.confirmations_per_address_per_day) {
            let ttl = SignedDuration::from_hours(i64::try_from(sec.token_ttl_hours).unwrap_or(168));
            let to =
                To { person: person.id, email: &email, name: &person.name, lang: Lang::from_code(&person.language) };
            notices::profile_link(&mut tx, &state.forum.mail, to, ttl).await?;
            let entry = Entry {
                action: "person.profile_link",
                subject_kind: "person",
                subject_id: Some(person.id.uuid()),
                detail: "",
                row_count: None,
            };
            audit::record(&mut tx, &Actor::Person(person.id.uuid()), &entry).await?;
        } else {
            tracing::info!(to = %email.masked(), "no more profile links to this address today");
        }
    }
    tx.commit().await?;
    state.mail_wake.notify_one();
    Ok(message(&ctx, t.profile_sent_title, t.profile_sent_text).into_response())
}

/// Why a profile link does not work.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    Unknown,
    Expired,
}

/// The person behind a profile link.
async fn holder(state: &AppState, raw: &str) -> Result<std::result::Result<PersonId, Refusal>> {
    let Some(token) = Token::from_presented(raw) else { return Ok(Err(Refusal::Unknown)) };
    let Some(found) = state.store.link_token(&token.hash(), TokenPurpose::Profile).await? else {
        return Ok(Err(Refusal::Unknown));
    };
    if found.expired(Timestamp::now()) {
        return Ok(Err(Refusal::Expired));
    }
    Ok(found.person_id.ok_or(Refusal::Unknown))
}

/// The page for a link that does not work, with a way to ask for a new one.
fn refused(ctx: &Ctx, why: Refusal) -> Response {
    let t = ctx.lang.texts();
    let title = match why {
        Refusal::Unknown => t.link_invalid_title,
        Refusal::Expired => t.link_expired_title,
    };
    let mut page = message(ctx, title, t.profile_link_invalid_text);
    page.link = Some(("/me", t.profile_request_title));
    (StatusCode::NOT_FOUND, page).into_response()
}

async fn profile(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>) -> Result<Response> {
    let id = match holder(&state, &raw).await? {
        Ok(id) => id,
        Err(why) => return Ok(refused(&ctx, why)),
    };
    let person = state.store.subscriber(id).await?;
    let all = state.store.interests().await?;
    Ok(ProfilePage::of(&ctx, &raw, &person, &all).into_response())
}

/// Saves the details form; a bad value brings the form back with the message by the field.
async fn save(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>, body: Bytes) -> Result<Response> {
    let id = match holder(&state, &raw).await? {
        Ok(id) => id,
        Err(why) => return Ok(refused(&ctx, why)),
    };
    let person = state.store.subscriber(id).await?;
    let all = state.store.interests().await?;
    let fields = form_fields(&body);
    let PersonFields { name, organisation, organisation_text: org_text, interests: chosen, mut errors } =
        person_fields(&fields, &all);
    let language = match field(&fields, "language") {
        "da" => Some("da"),
        "en" => Some("en"),
        _ => {
            errors.push(("language", ctx.lang.texts().profile_language_required.to_owned()));
            None
        }
    };
    let (Some(name), Some(language), true) = (name, language, errors.is_empty()) else {
        let mut page = ProfilePage::of(&ctx, &raw, &person, &all);
        field(&fields, "name").clone_into(&mut page.name);
        org_text.clone_into(&mut page.organisation);
        page.interests = boxes(&all, &chosen, ctx.lang);
        field(&fields, "language").clone_into(&mut page.language);
        page.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };

    // Only what differs is written, and named in the audit entry.
    let changes = Changes {
        name: (name.as_str() != person.name).then_some(name),
        organisation: (organisation.as_ref().map(Name::as_str) != person.organisation.as_deref())
            .then_some(organisation),
        interests: (chosen != person.interests).then_some(chosen),
        language: (language != person.language).then_some(language),
    };
    list::save(&state.forum, &Actor::Person(id.uuid()), id, &changes).await?;
    let mut page = ProfilePage::of(&ctx, &raw, &state.store.subscriber(id).await?, &all);
    page.saved = true;
    Ok(page.into_response())
}

/// Everything held about the person, as a JSON download. Reading it changes
/// nothing, but is recorded in the audit log (and so appears in the next download).
async fn download(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>) -> Result<Response> {
    let id = match holder(&state, &raw).await? {
        Ok(id) => id,
        Err(why) => return Ok(refused(&ctx, why)),
    };
    let data = state.store.personal_data(id).await?;
    let mut tx = state.store.begin().await?;
    let entry = Entry {
        action: "person.export",
        subject_kind: "person",
        subject_id: Some(id.uuid()),
        detail: "data.json",
        row_count: Some(1),
    };
    audit::record(&mut tx, &Actor::Person(id.uuid()), &entry).await?;
    tx.commit().await?;
    let mut res = Json(data).into_response();
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"dialogforum-data.json\""),
    );
    Ok(res)
}

/// Erases the person once they ticked the box, and says goodbye.
async fn erase(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>, body: Bytes) -> Result<Response> {
    let id = match holder(&state, &raw).await? {
        Ok(id) => id,
        Err(why) => return Ok(refused(&ctx, why)),
    };
    let t = ctx.lang.texts();
    if field(&form_fields(&body), "confirm") != "yes" {
        let person = state.store.subscriber(id).await?;
        let all = state.store.interests().await?;
        let mut page = ProfilePage::of(&ctx, &raw, &person, &all);
        page.errors = vec![("confirm", t.erase_confirm_required.to_owned())];
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let erased = list::erase(&state.forum, &Actor::Person(id.uuid()), id).await?;
    tracing::info!(person = %id, rows = erased.total(), "person erased at their own request");
    let mut page = message(&ctx, t.erased_title, t.erased_text);
    "/".clone_into(&mut page.path);
    page.link = Some(("/", t.back_home));
    Ok(page.into_response())
}
