//! Organiser sign-in: the login page (throttled per account and per client),
//! sessions in a cookie, CSRF tokens bound to the session, API tokens sent as
//! `Authorization: Bearer`, the change-my-password page, and the one table
//! of what each role may do, enforced in front of every organiser page and
//! every API call.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::SignedDuration;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::forms::{field, form_fields};
use super::{AppState, ClientIp, Ctx, Error, Result, cookie, safe_redirect};
use crate::domain::{Email, Role, Timestamp, Token, TokenHash, password};
use crate::i18n::{Lang, Texts};
use crate::mail::notices;
use crate::store::audit::{self, Actor, Entry};
use crate::store::rate;
use crate::store::users::{self, User};

/// Routes for signing in and out and changing one's password.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/admin/password", get(password_page).post(change_password))
}

/// The session cookie's name: `__Host-` prefixed over https, so no other host
/// or path can set or shadow it.
fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.is_https() { "__Host-dialogforum_session" } else { "dialogforum_session" }
}

/// What a request asks of the role behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Reading: every role.
    Read,
    /// One's own account (the password page): every role.
    Own,
    /// Changing anything: organisers and admins.
    Write,
    /// Downloading personal data (CSV, XLSX, exports): organisers and admins.
    Export,
    /// Reading lists of people and what they told us (the people pages, the
    /// check-in list and waiting list, the API's subscribers and
    /// registrations): organisers and admins. Viewers see counts instead.
    Personal,
    /// Users, API tokens and the audit log: admins.
    Admin,
}

impl Need {
    /// What `method` on `path` needs. `path` is a page path (`/admin/…`) or
    /// an API path relative to `/api/v1`. New routes fall under these rules
    /// by their method and shape, without being listed.
    #[must_use]
    pub fn of(method: &Method, path: &str) -> Self {
        let path = path.trim_end_matches('/');
        let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
        if ["/admin/users", "/admin/tokens", "/admin/audit", "/users", "/tokens", "/audit"].iter().any(|p| under(p)) {
            return Self::Admin;
        }
        if path == "/admin/password" {
            return Self::Own;
        }
        let file = path.rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
        let export = file.rsplit_once('.').is_some_and(|(_, ext)| matches!(ext, "csv" | "xlsx"))
            || path.split('/').any(|segment| matches!(segment, "export" | "exports" | "download"));
        let personal =
            path.split('/').any(|segment| matches!(segment, "people" | "subscribers" | "checkin" | "waitlist"))
                || (path.starts_with("/meetings/") && path.ends_with("/registrations"));
        if export {
            Self::Export
        } else if method == Method::GET || method == Method::HEAD {
            if personal { Self::Personal } else { Self::Read }
        } else {
            Self::Write
        }
    }

    /// Whether `role` may do it.
    #[must_use]
    pub const fn allows(self, role: Role) -> bool {
        match self {
            Self::Read | Self::Own => true,
            Self::Write | Self::Export | Self::Personal => role.can_write(),
            Self::Admin => role.is_admin(),
        }
    }

    const fn refusal(self) -> &'static str {
        match self {
            Self::Admin => "this needs the admin role",
            Self::Export => "exporting personal data needs the organiser or admin role",
            Self::Personal => "lists of people and their details need the organiser or admin role",
            _ => "this needs the organiser or admin role",
        }
    }
}

/// The path a guard decides on: percent-decoded, in lower case, with empty
/// and `.` segments dropped and `..` applied, so that `/admin/%75sers`,
/// `/admin//Users` and `/admin/x/../users` are all `/admin/users`. `None` for
/// a path that does not decode to UTF-8, which no route takes.
#[must_use]
pub fn normalised(raw: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8().ok()?;
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    Some(format!("/{}", segments.join("/")).to_lowercase())
}

/// In front of every page: `/admin` and everything under it needs a live
/// session and a role that [`Need::of`] allows; others get the login page
/// (no session) or 403. The decision is made on the [`normalised`] path.
pub async fn guard_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(path) = normalised(req.uri().path()) else {
        return Error::NotFound.into_response();
    };
    if !(path == "/admin" || path.starts_with("/admin/")) {
        return next.run(req).await;
    }
    let need = Need::of(req.method(), &path);
    let (mut parts, body) = req.into_parts();
    let organiser = match Organiser::from_request_parts(&mut parts, &state).await {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    if !need.allows(organiser.user.role) {
        return Error::Forbidden(need.refusal()).into_response();
    }
    parts.extensions.insert(organiser);
    next.run(Request::from_parts(parts, body)).await
}

/// In front of every API route but the OpenAPI document: a valid token of an
/// enabled account (else 401) whose role [`Need::of`] allows (else 403),
/// decided on the [`normalised`] path.
pub async fn guard_api(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(path) = normalised(req.uri().path()) else {
        return Error::NotFound.into_response();
    };
    if path == "/openapi.json" {
        return next.run(req).await;
    }
    let need = Need::of(req.method(), &path);
    let (mut parts, body) = req.into_parts();
    let user = match ApiUser::from_request_parts(&mut parts, &state).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    if !need.allows(user.0.role) {
        return Error::Forbidden(need.refusal()).into_response();
    }
    parts.extensions.insert(user);
    next.run(Request::from_parts(parts, body)).await
}

/// A signed-in organiser, taken from the session cookie.
#[derive(Debug, Clone)]
pub struct Organiser {
    pub user: User,
    /// The CSRF token every organiser form must carry.
    pub csrf: String,
    /// The hash of the session cookie.
    session: TokenHash,
}

impl Organiser {
    /// Refuses roles that may not change data.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for viewers.
    pub fn require_write(&self) -> Result<()> {
        require_writer(&self.user)
    }

    /// Refuses every role but admin.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for organisers and viewers.
    pub fn require_admin(&self) -> Result<()> {
        if self.user.role.is_admin() { Ok(()) } else { Err(Error::Forbidden(Need::Admin.refusal())) }
    }

    /// The organiser as the audit log records them.
    #[must_use]
    pub fn actor(&self) -> Actor {
        Actor::of(&self.user)
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
        // The guard in front of the pages has already looked the session up.
        if let Some(known) = parts.extensions.get::<Self>() {
            return Ok(known.clone());
        }
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
        Ok(Self { user, csrf: hash.derive("csrf"), session: hash })
    }
}

/// The account behind an API token.
#[derive(Debug, Clone)]
pub struct ApiUser(pub User);

impl ApiUser {
    /// The account as the audit log records it.
    #[must_use]
    pub fn actor(&self) -> Actor {
        Actor::of(&self.0)
    }
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        if let Some(known) = parts.extensions.get::<Self>() {
            return Ok(known.clone());
        }
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

/// Words of the login and password pages that the shared texts lack.
pub struct AuthTexts {
    pub throttled: &'static str,
    pub password_title: &'static str,
    pub current_password: &'static str,
    pub new_password: &'static str,
    pub repeat_password: &'static str,
    pub password_hint: &'static str,
    pub change_button: &'static str,
    pub changed: &'static str,
    pub wrong_current: &'static str,
    pub mismatch: &'static str,
}

const DA: AuthTexts = AuthTexts {
    throttled: "For mange forsøg på at logge ind. Vent et kvarter, og prøv igen.",
    password_title: "Skift adgangskode",
    current_password: "Nuværende adgangskode",
    new_password: "Ny adgangskode",
    repeat_password: "Gentag den nye adgangskode",
    password_hint: "Mindst 12 tegn. Når du skifter, bliver du logget ud alle andre steder.",
    change_button: "Skift adgangskode",
    changed: "Adgangskoden er skiftet, og dine andre sessioner er afsluttet.",
    wrong_current: "Den nuværende adgangskode er forkert.",
    mismatch: "De to nye adgangskoder er ikke ens.",
};

const EN: AuthTexts = AuthTexts {
    throttled: "Too many sign-in attempts. Wait a quarter of an hour and try again.",
    password_title: "Change password",
    current_password: "Current password",
    new_password: "New password",
    repeat_password: "Repeat the new password",
    password_hint: "At least 12 characters. Changing it signs you out everywhere else.",
    change_button: "Change password",
    changed: "The password is changed, and your other sessions have ended.",
    wrong_current: "The current password is wrong.",
    mismatch: "The two new passwords differ.",
};

const fn texts(lang: Lang) -> &'static AuthTexts {
    match lang {
        Lang::Da => &DA,
        Lang::En => &EN,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    next: String,
    email: String,
    /// The message above the form: wrong details, or too many attempts.
    error: Option<&'static str>,
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
        error: None,
    }
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// The rate-limit key of the address typed, known or not: a hash, so that
/// mistyped addresses are not kept.
fn account_key(typed: &str) -> String {
    let digest = Sha256::digest(typed.trim().to_lowercase().as_bytes());
    format!("login-account:{}", URL_SAFE_NO_PAD.encode(&digest[..16]))
}

/// Longest wait put on an attempt at an account under attack.
const MAX_SLOWDOWN_SECS: i64 = 10;

/// Checks `password` against `stored` off the async runtime, at most
/// `security.concurrent_password_checks` at once; a check that cannot start
/// within a second is answered 503, so a flood of logins cannot fill the
/// memory with Argon2 blocks.
async fn check_password(state: &AppState, password: String, stored: Option<String>) -> Result<bool> {
    let permit = tokio::time::timeout(std::time::Duration::from_secs(1), state.password_checks.clone().acquire_owned())
        .await
        .map_err(|_| {
            tracing::warn!("password checks busy; a login answered 503");
            Error::Unavailable
        })?
        .map_err(|e| Error::Internal(e.into()))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        password::verify(&password, stored.as_deref())
    })
    .await
    .map_err(|e| Error::Internal(e.into()))
}

/// Signs an organiser in.
///
/// Each attempt is counted before the password is checked: per account typed
/// from this client, and per client. A client beyond either limit gets 429,
/// the same for every address, while other clients still sign in, so a
/// stranger cannot lock an organiser out. Failures are also counted per
/// account over all clients; beyond the per-account limit every attempt on
/// that account waits longer (a second per failure, at most ten) and the
/// owner gets one mail per window.
async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    ip: ClientIp,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response> {
    let next = safe_redirect(form.next.as_deref());
    let email = Email::parse(&form.email).ok();
    let masked = email.as_ref().map_or_else(|| "invalid".to_owned(), Email::masked);
    let sec = &state.settings.security;
    let since = Timestamp::now() - SignedDuration::from_mins(i64::try_from(sec.login_window_minutes).unwrap_or(15));
    let account = account_key(&form.email);
    let pair_key = format!("{account}:{}", ip.0);
    let page = |error| LoginPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        path: ctx.path.clone(),
        next: next.clone(),
        email: form.email.clone(),
        error: Some(error),
    };

    // Refused attempts cost nothing and tell nothing: the same answer whether
    // or not the account exists.
    let (within, _) = rate::take(&state.store, &pair_key, since, sec.login_attempts_per_account).await?;
    let client = if within {
        let (within, taken) =
            rate::take(&state.store, &format!("login-ip:{}", ip.0), since, sec.login_attempts_per_ip).await?;
        within.then_some(taken)
    } else {
        None
    };
    let Some(client) = client else {
        let entry = Entry {
            action: "login.throttled",
            subject_kind: "user",
            subject_id: None,
            detail: &masked,
            row_count: None,
        };
        audit::record_read(&state.store, &Actor::System("login"), &entry).await?;
        tracing::warn!(account = masked, "login throttled");
        return Ok((StatusCode::TOO_MANY_REQUESTS, page(texts(ctx.lang).throttled)).into_response());
    };

    let failures = {
        let mut tx = state.store.begin().await?;
        let n = rate::count(&mut tx, &account, since).await?;
        tx.commit().await?;
        n
    };
    let over = failures - i64::from(sec.login_attempts_per_account);
    if over >= 0 {
        tokio::time::sleep(std::time::Duration::from_secs(
            u64::try_from((over + 1).min(MAX_SLOWDOWN_SECS)).unwrap_or(1),
        ))
        .await;
    }

    let account_row = match &email {
        Some(e) => state.store.user_for_login(e).await?,
        None => None,
    };
    // Unknown accounts cost the same time as wrong passwords.
    let stored = account_row.as_ref().map(|(_, h)| h.clone());
    let ok = check_password(&state, form.password.clone(), stored).await?;
    let Some((user, _)) = account_row.as_ref().filter(|_| ok) else {
        let mut tx = state.store.begin().await?;
        let failed = rate::add_and_count(&mut tx, &account, since).await?;
        let known = account_row.as_ref().map(|(u, _)| u.id.uuid());
        let entry =
            Entry { action: "login.failed", subject_kind: "user", subject_id: known, detail: &masked, row_count: None };
        audit::record(&mut tx, &Actor::System("login"), &entry).await?;
        // The owner hears of it once per window: when the failures reach the limit.
        let warn_owner = failed == i64::from(sec.login_attempts_per_account);
        if let (true, Some((user, _))) = (warn_owner, &account_row) {
            notices::failed_logins(&mut tx, &state.forum.mail, &user.email, failed, sec.login_window_minutes).await?;
        }
        tx.commit().await?;
        if warn_owner && account_row.is_some() {
            state.mail_wake.notify_one();
        }
        tracing::warn!(account = masked, "failed login");
        return Ok((StatusCode::UNAUTHORIZED, page(ctx.lang.texts().login_failed)).into_response());
    };
    // The right password: this client's attempts on the account and this
    // attempt against the client's budget are handed back.
    let mut tx = state.store.begin().await?;
    rate::forget(&mut tx, &pair_key).await?;
    rate::refund(&mut tx, &client).await?;
    tx.commit().await?;
    // A fresh session id at every login.
    let token = Token::generate();
    state.store.create_session(user.id, &token.hash()).await?;
    audit::record_read(
        &state.store,
        &Actor::of(user),
        &Entry { action: "login", subject_kind: "user", subject_id: Some(user.id.uuid()), detail: "", row_count: None },
    )
    .await?;
    tracing::info!(user = %user.id, role = %user.role, "organiser signed in");
    let mut res = Redirect::to(if next == "/" { "/admin" } else { &next }).into_response();
    let secure = if state.settings.is_https() { "; Secure" } else { "" };
    let value = format!("{}={}; Path=/; HttpOnly; SameSite=Lax{secure}", cookie_name(&state), token.expose());
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&value).map_err(|e| Error::Internal(e.into()))?);
    Ok(res)
}

async fn logout(State(state): State<AppState>, organiser: Organiser, body: Bytes) -> Result<Response> {
    organiser.check_csrf(&body)?;
    state.store.delete_session(&organiser.session).await?;
    let mut res = Redirect::to("/").into_response();
    let secure = if state.settings.is_https() { "; Secure" } else { "" };
    let value = format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}", cookie_name(&state));
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&value).map_err(|e| Error::Internal(e.into()))?);
    Ok(res)
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/password.html")]
struct PasswordPage {
    lang: Lang,
    t: &'static Texts,
    a: &'static AuthTexts,
    path: String,
    csrf: String,
    errors: Vec<(&'static str, String)>,
    changed: bool,
}

impl PasswordPage {
    fn new(ctx: &Ctx, organiser: &Organiser) -> Self {
        Self {
            lang: ctx.lang,
            t: ctx.lang.texts(),
            a: texts(ctx.lang),
            path: ctx.path.clone(),
            csrf: organiser.csrf.clone(),
            errors: Vec::new(),
            changed: false,
        }
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }
}

async fn password_page(ctx: Ctx, organiser: Organiser) -> PasswordPage {
    PasswordPage::new(&ctx, &organiser)
}

/// Changes the signed-in organiser's password and ends their other sessions.
async fn change_password(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    body: Bytes,
) -> Result<Response> {
    organiser.check_csrf(&body)?;
    let fields = form_fields(&body);
    let a = texts(ctx.lang);
    let (current, new, repeat) =
        (field(&fields, "current").to_owned(), field(&fields, "new").to_owned(), field(&fields, "repeat").to_owned());
    let stored = state.store.password_hash(organiser.user.id).await?;
    let current_ok = check_password(&state, current, stored).await?;
    let same = new == repeat;
    let hashed =
        tokio::task::spawn_blocking(move || password::hash(&new)).await.map_err(|e| Error::Internal(e.into()))?;
    let mut errors = Vec::new();
    if !current_ok {
        errors.push(("current", a.wrong_current.to_owned()));
    }
    match &hashed {
        Err(e) => errors.push(("new", e.message().to_owned())),
        Ok(_) if !same => errors.push(("repeat", a.mismatch.to_owned())),
        Ok(_) => {}
    }
    let (Ok(hash), true) = (hashed, errors.is_empty()) else {
        let mut page = PasswordPage::new(&ctx, &organiser);
        page.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let mut tx = state.store.begin().await?;
    let ended = users::change_password(&mut tx, organiser.user.id, &hash, &organiser.session).await?;
    let entry = Entry {
        action: "user.password_change",
        subject_kind: "user",
        subject_id: Some(organiser.user.id.uuid()),
        detail: "",
        row_count: i64::try_from(ended).ok(),
    };
    audit::record(&mut tx, &organiser.actor(), &entry).await?;
    tx.commit().await?;
    tracing::info!(user = %organiser.user.id, sessions_ended = ended, "password changed");
    let mut page = PasswordPage::new(&ctx, &organiser);
    page.changed = true;
    Ok(page.into_response())
}

/// Refuses accounts whose role may not change data (viewers), for pages and
/// API calls alike.
///
/// # Errors
/// [`Error::Forbidden`] for viewers.
pub fn require_writer(user: &User) -> Result<()> {
    if user.role.can_write() { Ok(()) } else { Err(Error::Forbidden("this needs the organiser or admin role")) }
}
