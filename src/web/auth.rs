//! Organiser sign-in: the login page, sessions in a cookie, CSRF tokens bound
//! to the session, and API tokens sent as `Authorization: Bearer`.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::SignedDuration;
use serde::Deserialize;

use super::{AppState, Ctx, Error, Result, cookie, safe_redirect};
use crate::domain::{Email, Timestamp, Token, password};
use crate::i18n::{Lang, Texts};
use crate::store::users::User;

/// Routes for signing in and out.
pub fn router() -> Router<AppState> {
    Router::new().route("/login", get(login_page).post(login)).route("/logout", post(logout))
}

/// The session cookie's name: `__Host-` prefixed over https, so no other host
/// or path can set or shadow it.
fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.is_https() { "__Host-dialogforum_session" } else { "dialogforum_session" }
}

/// A signed-in organiser, taken from the session cookie.
#[derive(Debug, Clone)]
pub struct Organiser {
    pub user: User,
    /// The CSRF token every organiser form must carry.
    pub csrf: String,
}

impl Organiser {
    /// Refuses roles that may not change data.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for viewers.
    pub fn require_write(&self) -> Result<()> {
        if self.user.role.can_write() {
            Ok(())
        } else {
            Err(Error::Forbidden("this needs the organiser or admin role"))
        }
    }

    /// Checks the CSRF token of a submitted form.
    ///
    /// # Errors
    /// [`Error::Forbidden`] when it is missing or wrong.
    pub fn check_csrf(&self, form: &Bytes) -> Result<()> {
        #[derive(Deserialize)]
        struct Field {
            csrf: Option<String>,
        }
        let sent = serde_urlencoded::from_bytes::<Field>(form).ok().and_then(|f| f.csrf).unwrap_or_default();
        if constant_time_eq(sent.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(Error::Forbidden("the form has expired; reload the page and try again"))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Organiser {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let next = parts.uri.path_and_query().map_or("/admin", |p| p.as_str()).to_owned();
        let token = cookie(parts.headers.get_all(header::COOKIE).iter(), cookie_name(state))
            .and_then(|v| Token::from_presented(&v))
            .ok_or_else(|| Error::LoginRequired { next: next.clone() })?;
        let hash = token.hash();
        let now = Timestamp::now();
        let sec = &state.settings.security;
        let idle = now - SignedDuration::from_mins(i64::try_from(sec.session_idle_minutes).unwrap_or(60));
        let started = now - SignedDuration::from_hours(i64::try_from(sec.session_absolute_hours).unwrap_or(12));
        let user = state.store.session_user(&hash, idle, started).await?.ok_or(Error::LoginRequired { next })?;
        Ok(Self { user, csrf: hash.derive("csrf") })
    }
}

/// The account behind an API token.
#[derive(Debug, Clone)]
pub struct ApiUser(pub User);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let token = bearer(&parts.headers).ok_or(Error::Unauthorized)?;
        let user = state.store.api_token_user(&token.hash()).await?.ok_or(Error::Unauthorized)?;
        Ok(Self(user))
    }
}

fn bearer(headers: &HeaderMap) -> Option<Token> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| Token::from_presented(token.trim())).flatten()
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    next: String,
    email: String,
    failed: bool,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(ctx: Ctx, Query(q): Query<NextQuery>) -> LoginPage {
    LoginPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        path: ctx.path,
        next: safe_redirect(q.next.as_deref()),
        email: String::new(),
        failed: false,
    }
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

async fn login(State(state): State<AppState>, ctx: Ctx, axum::Form(form): axum::Form<LoginForm>) -> Result<Response> {
    let next = safe_redirect(form.next.as_deref());
    let email = Email::parse(&form.email).ok();
    let account = match &email {
        Some(e) => state.store.user_for_login(e).await?,
        None => None,
    };
    let stored = account.as_ref().map(|(_, h)| h.clone());
    let password_text = form.password;
    // Unknown accounts cost the same time as wrong passwords.
    let ok = tokio::task::spawn_blocking(move || password::verify(&password_text, stored.as_deref()))
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    let Some((user, _)) = account.filter(|_| ok) else {
        tracing::warn!(account = email.as_ref().map_or_else(|| "invalid".to_owned(), Email::masked), "failed login");
        let page =
            LoginPage { lang: ctx.lang, t: ctx.lang.texts(), path: ctx.path, next, email: form.email, failed: true };
        return Ok((axum::http::StatusCode::UNAUTHORIZED, page).into_response());
    };
    // A fresh session id at every login.
    let token = Token::generate();
    state.store.create_session(user.id, &token.hash()).await?;
    tracing::info!(user = %user.id, role = %user.role, "organiser signed in");
    let mut res = Redirect::to(if next == "/" { "/admin" } else { &next }).into_response();
    let secure = if state.settings.is_https() { "; Secure" } else { "" };
    let value = format!("{}={}; Path=/; HttpOnly; SameSite=Lax{secure}", cookie_name(&state), token.expose());
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&value).map_err(|e| Error::Internal(e.into()))?);
    Ok(res)
}

async fn logout(
    State(state): State<AppState>,
    organiser: Organiser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    organiser.check_csrf(&body)?;
    if let Some(t) =
        cookie(headers.get_all(header::COOKIE).iter(), cookie_name(&state)).and_then(|v| Token::from_presented(&v))
    {
        state.store.delete_session(&t.hash()).await?;
    }
    let mut res = Redirect::to("/").into_response();
    let secure = if state.settings.is_https() { "; Secure" } else { "" };
    let value = format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}", cookie_name(&state));
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&value).map_err(|e| Error::Internal(e.into()))?);
    Ok(res)
}
