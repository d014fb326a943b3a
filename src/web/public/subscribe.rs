//! Joining and leaving the list on the web: the sign-up form, the
//! confirmation page and the unsubscribe page (with RFC 8058 one-click).
//!
//! Opening a link never changes anything: each link shows a page whose button
//! posts the change, so mail scanners that fetch links confirm or unsubscribe
//! nothing. The one exception is the one-click POST a mail client sends to the
//! `List-Unsubscribe` URL, which by RFC 8058 needs no further step.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::domain::{Email, Name, PersonId, Timestamp, Token, TokenPurpose};
use crate::forum::{ForumError, Refusal, list};
use crate::i18n::{CONSENT_VERSION, Lang, Texts};
use crate::store::subscriptions::{self, Consent, Signup};
use crate::web::extract::{Fields, Path};
use crate::web::forms::{InterestBox, MessagePage, PersonFields, boxes, field_error, message, person_fields};
use crate::web::{AppState, ClientIp, Ctx, Error, Result};

/// Routes for joining and leaving.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/subscribe", get(form).post(submit))
        .route("/confirm/{token}", get(confirm_page).post(confirm))
        .route("/unsubscribe/{token}", get(unsubscribe_page).post(unsubscribe))
}

#[derive(Template, WebTemplate)]
#[template(path = "subscribe.html")]
struct FormPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    name: String,
    email: String,
    organisation: String,
    interests: Vec<InterestBox>,
    consent: bool,
    /// (field, message), in the order of the form.
    errors: Vec<(&'static str, String)>,
}

impl FormPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }
}

async fn form(State(state): State<AppState>, ctx: Ctx) -> Result<FormPage> {
    let all = state.store.interests().await?;
    Ok(FormPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        path: ctx.path,
        name: String::new(),
        email: String::new(),
        organisation: String::new(),
        interests: boxes(&all, &[], ctx.lang),
        consent: false,
        errors: Vec::new(),
    })
}

/// Takes a sign-up from the form; what cannot be read comes back by its
/// field, and the answer is the same whether or not the address is known.
async fn submit(State(state): State<AppState>, ctx: Ctx, ip: ClientIp, fields: Fields) -> Result<Response> {
    let all = state.store.interests().await?;
    let t = ctx.lang.texts();
    let PersonFields { name, organisation, organisation_text, interests, mut errors } =
        person_fields(&fields, &all, ctx.lang);
    let email = Email::parse(fields.get("email")).map_err(|e| errors.push(("email", ctx.lang.refused(e)))).ok();
    let consent = fields.get("consent") == "yes";
    if !consent {
        errors.push(("consent", t.consent_required.to_owned()));
    }
    let (Some(name), Some(email), true) = (name, email, errors.is_empty()) else {
        let page = FormPage {
            lang: ctx.lang,
            t,
            path: ctx.path,
            name: fields.get("name").to_owned(),
            email: fields.get("email").to_owned(),
            organisation: organisation_text.to_owned(),
            interests: boxes(&all, &interests, ctx.lang),
            consent,
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let consent = Consent {
        text: t.consent_label.to_owned(),
        version: CONSENT_VERSION.to_owned(),
        method: "web",
        proof: ip.0.clone(),
    };
    let signup = Signup { email, name, organisation, interests, language: ctx.lang.code(), consent };
    match list::sign_up(&state.forum, &state.settings.security, &signup, ctx.lang, &ip.0).await {
        Ok(()) => Ok(message(&ctx, t.check_mail_title, t.check_mail_text).into_response()),
        Err(ForumError::Refused(Refusal::TooManySignups)) => {
            let page = message(&ctx, t.too_many_title, t.too_many_text);
            Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Looks a link token up; an unknown, used or expired one gets an explanation page.
async fn valid_token(
    state: &AppState,
    ctx: &Ctx,
    raw: &str,
    purpose: TokenPurpose,
) -> Result<std::result::Result<(Token, crate::store::subscriptions::LinkToken), MessagePage>> {
    let t = ctx.lang.texts();
    let invalid = || {
        let mut page = message(ctx, t.link_invalid_title, t.link_invalid_text);
        page.link = Some(("/subscribe", t.subscribe_title));
        page
    };
    let Some(token) = Token::from_presented(raw) else { return Ok(Err(invalid())) };
    let Some(found) = state.store.link_token(&token.hash(), purpose).await? else { return Ok(Err(invalid())) };
    if found.expired(Timestamp::now()) {
        let mut page = message(ctx, t.link_expired_title, t.link_expired_text);
        page.link = Some(("/subscribe", t.subscribe_title));
        return Ok(Err(page));
    }
    Ok(Ok((token, found)))
}

/// The confirmation page: a button, and the organisation question for people
/// who joined by mail without naming one.
#[derive(Template, WebTemplate)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    action: String,
    ask_organisation: bool,
    organisation: String,
    error: Option<String>,
}

impl ConfirmPage {
    async fn new(state: &AppState, ctx: &Ctx, raw: &str, person: PersonId, token: &Token) -> Result<Self> {
        let known = state.store.subscriber(person).await?.organisation.is_some()
            || subscriptions::requested_organisation(&state.store, &token.hash()).await?.is_some();
        Ok(Self {
            lang: ctx.lang,
            t: ctx.lang.texts(),
            path: ctx.path.clone(),
            action: format!("/confirm/{raw}"),
            ask_organisation: !known,
            organisation: String::new(),
            error: None,
        })
    }
}

async fn confirm_page(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>) -> Result<Response> {
    let t = ctx.lang.texts();
    Ok(match valid_token(&state, &ctx, &raw, TokenPurpose::Confirm).await? {
        Err(page) => (StatusCode::NOT_FOUND, page).into_response(),
        Ok((_, found)) if found.used_at.is_some() => {
            message(&ctx, t.already_confirmed_title, t.already_confirmed_text).into_response()
        }
        Ok((token, found)) => {
            let person = found.person_id.ok_or(Error::NotFound)?;
            ConfirmPage::new(&state, &ctx, &raw, person, &token).await?.into_response()
        }
    })
}

async fn confirm(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>, fields: Fields) -> Result<Response> {
    let t = ctx.lang.texts();
    let (token, found) = match valid_token(&state, &ctx, &raw, TokenPurpose::Confirm).await? {
        Err(page) => return Ok((StatusCode::NOT_FOUND, page).into_response()),
        Ok(x) => x,
    };
    // A used link changes nothing, whatever the form carries.
    if found.used_at.is_some() {
        return Ok(message(&ctx, t.already_confirmed_title, t.already_confirmed_text).into_response());
    }
    let person = found.person_id.ok_or(Error::NotFound)?;
    let entered = fields.get("organisation");
    let organisation = match entered.trim() {
        "" => None,
        text => match Name::parse(text) {
            Ok(o) => Some(o),
            Err(e) => {
                let mut page = ConfirmPage::new(&state, &ctx, &raw, person, &token).await?;
                entered.clone_into(&mut page.organisation);
                page.error = Some(ctx.lang.refused(e));
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
            }
        },
    };
    list::confirm(&state.forum, person, &token, organisation.as_ref()).await?;
    Ok(message(&ctx, t.confirmed_title, t.confirmed_text).into_response())
}

async fn unsubscribe_page(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>) -> Result<Response> {
    let t = ctx.lang.texts();
    if let Err(page) = valid_token(&state, &ctx, &raw, TokenPurpose::Unsubscribe).await? {
        return Ok((StatusCode::NOT_FOUND, page).into_response());
    }
    let mut page = message(&ctx, t.unsubscribe_title, t.unsubscribe_text);
    page.button = Some((format!("/unsubscribe/{raw}"), t.unsubscribe_button));
    Ok(page.into_response())
}

/// Leaves the list: from the page's button, or RFC 8058 one-click (a POST with
/// `List-Unsubscribe=One-Click`, no cookie, no CSRF token, no further step).
async fn unsubscribe(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>) -> Result<Response> {
    let t = ctx.lang.texts();
    let found = match valid_token(&state, &ctx, &raw, TokenPurpose::Unsubscribe).await? {
        Err(page) => return Ok((StatusCode::NOT_FOUND, page).into_response()),
        Ok((_, found)) => found,
    };
    let person = found.person_id.ok_or(Error::NotFound)?;
    list::leave(&state.forum, person).await?;
    Ok(message(&ctx, t.unsubscribed_title, t.unsubscribed_text).into_response())
}
