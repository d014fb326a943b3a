//! Organiser sign-in: the login page (throttled per account and per client),
//! sessions in a cookie, CSRF tokens bound to the session, API tokens sent as
//! `Authorization: Bearer`, the change-my-password page, and the one table
//! of what each role may do, enforced in front of every organiser page and
//! every API call.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::SignedDuration;
use serde::Deserialize;

use super::{AppState, ClientIp, Ctx, Error, Result, cookie, safe_redirect};
use crate::domain::{Role, Timestamp, Token, TokenHash};
use crate::forum::accounts::{self, PasswordChange};
use crate::forum::{ForumError, Refusal};
use crate::i18n::{Lang, Texts, texts};
use crate::store::audit::Actor;
use crate::store::users::User;
use crate::web::extract::OrganiserForm;

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
        // A form to create something is for those who may create it.
        let creating = file == "new";
        if export {
            Self::Export
        } else if creating {
            Self::Write
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

/// Whether `raw` is spelt so that the router, which matches the path as
/// sent, and the guard, which decides on the [`normalised`] path, could read
/// it differently: an encoded `/` or `\`, a `\`, an empty segment, or a `.`
/// or `..` segment (however encoded). No link the service makes looks like
/// that, so such a request never reaches a handler.
fn ambiguous(raw: &str) -> bool {
    let lower = raw.to_ascii_lowercase();
    lower.contains("%2f")
        || lower.contains("%5c")
        || raw.contains('\\')
        || raw.contains("//")
        || raw
            .split('/')
            .any(|s| matches!(percent_encoding::percent_decode_str(s).decode_utf8_lossy().as_ref(), "." | ".."))
}

/// Whether `path` is the organiser workspace or under it.
fn under_admin(path: &str) -> bool {
    let path = path.to_ascii_lowercase();
    path == "/admin" || path.starts_with("/admin/")
}

/// In front of every page: `/admin` and everything under it needs a live
/// session and a role that [`Need::of`] allows; others get the login page
/// (no session) or 403. The decision is made on the [`normalised`] path; a
/// path that is [`ambiguous`] is refused after it (404), so that no spelling
/// reaches a handler the guard did not decide for.
pub async fn guard_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let raw = req.uri().path().to_owned();
    let Some(path) = normalised(&raw) else {
        return Error::NotFound.into_response();
    };
    if !(under_admin(&path) || under_admin(&raw)) {
        return if ambiguous(&raw) { Error::NotFound.into_response() } else { next.run(req).await };
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
    if ambiguous(&raw) {
        return Error::NotFound.into_response();
    }
    parts.extensions.insert(organiser);
    next.run(Request::from_parts(parts, body)).await
}

/// In front of every API route but the OpenAPI document: a valid token of an
/// enabled account (else 401) whose role [`Need::of`] allows (else 403),
/// decided on the [`normalised`] path; an [`ambiguous`] path is then 404.
pub async fn guard_api(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let raw = req.uri().path().to_owned();
    let Some(path) = normalised(&raw) else {
        return Error::NotFound.into_response();
    };
    if raw == "/openapi.json" {
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
    if ambiguous(&raw) {
        return Error::NotFound.into_response();
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
    /// The organiser as the audit log records them.
    #[must_use]
    pub fn actor(&self) -> Actor {
        Actor::of(&self.user)
    }

    /// Checks the CSRF token a submitted form carried.
    ///
    /// # Errors
    /// [`Error::Forbidden`] when it is missing or wrong.
    pub fn check_csrf(&self, sent: &str) -> Result<()> {
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

texts! {
    /// Words of the login and password pages that the shared texts lack.
    pub struct AuthTexts {
        throttled => "For mange forsøg på at logge ind. Vent et kvarter, og prøv igen.",
            "Too many sign-in attempts. Wait a quarter of an hour and try again.";
        password_title => "Skift adgangskode", "Change password";
        current_password => "Nuværende adgangskode", "Current password";
        new_password => "Ny adgangskode", "New password";
        repeat_password => "Gentag den nye adgangskode", "Repeat the new password";
        password_hint => "Mindst 12 tegn. Når du skifter, bliver du logget ud alle andre steder.",
            "At least 12 characters. Changing it signs you out everywhere else.";
        change_button => "Skift adgangskode", "Change password";
        changed => "Adgangskoden er skiftet, og dine andre sessioner er afsluttet.",
            "The password is changed, and your other sessions have ended.";
        wrong_current => "Den nuværende adgangskode er forkert.", "The current password is wrong.";
        mismatch => "De to nye adgangskoder er ikke ens.", "The two new passwords differ.";
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

/// Signs an organiser in through [`accounts::sign_in`], which counts and
/// throttles the attempts; the session token becomes the cookie.
async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    ip: ClientIp,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response> {
    let next = safe_redirect(form.next.as_deref());
    let signed_in = accounts::sign_in(&state.forum, &state.settings.security, &form.email, form.password, &ip.0).await;
    let (status, error) = match signed_in {
        Ok((_, token)) => {
            let mut res = Redirect::to(if next == "/" { "/admin" } else { &next }).into_response();
            set_cookie(&state, &mut res, token.expose(), "")?;
            return Ok(res);
        }
        Err(ForumError::Refused(Refusal::Throttled)) => {
            (StatusCode::TOO_MANY_REQUESTS, AuthTexts::get(ctx.lang).throttled)
        }
        Err(ForumError::Refused(Refusal::WrongPassword)) => (StatusCode::UNAUTHORIZED, ctx.lang.texts().login_failed),
        Err(e) => return Err(e.into()),
    };
    let page =
        LoginPage { lang: ctx.lang, t: ctx.lang.texts(), path: ctx.path, next, email: form.email, error: Some(error) };
    Ok((status, page).into_response())
}

/// Sets the session cookie to `value`, with `extra` attributes.
fn set_cookie(state: &AppState, res: &mut Response, value: &str, extra: &str) -> Result<()> {
    let secure = if state.settings.is_https() { "; Secure" } else { "" };
    let cookie = format!("{}={value}; Path=/; HttpOnly; SameSite=Lax{extra}{secure}", cookie_name(state));
    res.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| Error::Internal(e.into()))?);
    Ok(())
}

async fn logout(State(state): State<AppState>, OrganiserForm { organiser, .. }: OrganiserForm) -> Result<Response> {
    state.store.delete_session(&organiser.session).await?;
    let mut res = Redirect::to("/").into_response();
    set_cookie(&state, &mut res, "", "; Max-Age=0")?;
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
            a: AuthTexts::get(ctx.lang),
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

/// Changes the signed-in organiser's password and ends their other sessions
/// ([`accounts::change_password`]).
async fn change_password(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let (current, new) = (fields.get("current").to_owned(), fields.get("new").to_owned());
    let changed = accounts::change_password(
        &state.forum,
        &organiser.user,
        &organiser.session,
        current,
        new,
        fields.get("repeat"),
    )
    .await?;
    let mut page = PasswordPage::new(&ctx, &organiser);
    let Err(problems) = changed else {
        page.changed = true;
        return Ok(page.into_response());
    };
    let a = AuthTexts::get(ctx.lang);
    page.errors = problems
        .into_iter()
        .map(|p| match p {
            PasswordChange::WrongCurrent => ("current", a.wrong_current.to_owned()),
            PasswordChange::Refused(e) => ("new", e.message().to_owned()),
            PasswordChange::Mismatch => ("repeat", a.mismatch.to_owned()),
        })
        .collect();
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::{Need, normalised};
    use crate::domain::Role;

    fn need(method: &Method, raw: &str) -> Need {
        Need::of(method, &normalised(raw).expect("a UTF-8 path"))
    }

    #[test]
    fn spellings_the_router_and_the_guard_could_read_differently_are_ambiguous() {
        for raw in ["/admin/interests/..%2F..%2Fx", "/admin//users", "/admin/%2e%2e/users", "/a\\b", "/x/%5cy"] {
            assert!(super::ambiguous(raw), "{raw}");
        }
        for raw in ["/admin/interests/ai", "/rsvp/AbC-_9", "/admin/", "/meetings/17"] {
            assert!(!super::ambiguous(raw), "{raw}");
        }
    }

    #[test]
    fn the_guard_alone_decides_who_may_do_what() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(need(&get, "/admin/meetings"), Need::Read);
        assert_eq!(need(&get, "/admin/meetings/new"), Need::Write, "the form to create a meeting is for writers");
        assert_eq!(need(&post, "/admin/meetings/x/status"), Need::Write);
        assert_eq!(need(&get, "/admin/%70eople"), Need::Personal);
        assert_eq!(need(&get, "/admin/x/../users"), Need::Admin);
        assert_eq!(need(&get, "/meetings/x/participants.csv"), Need::Export);
        assert_eq!(need(&post, "/admin/password"), Need::Own);
        assert!(!Need::Write.allows(Role::Viewer) && Need::Write.allows(Role::Organiser));
        assert!(!Need::Admin.allows(Role::Organiser) && Need::Admin.allows(Role::Admin));
    }
}
