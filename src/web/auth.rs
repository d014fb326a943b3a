//! Who is asking, and what they may do: the organiser behind a session
//! cookie (with the CSRF token bound to that session), the account behind an
//! API token sent as `Authorization: Bearer`, and the one table of what each
//! role may do, enforced in front of every organiser page and every API
//! call. The pages that start and end a session are in [`super::account`].

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;

use super::{AppState, Error, Result, cookie};
use crate::domain::{Role, Timestamp, Token, TokenHash};
use crate::store::audit::Actor;
use crate::store::users::User;

/// The session cookie's name: `__Host-` prefixed over https, so no other host
/// or path can set or shadow it.
pub(crate) fn cookie_name(state: &AppState) -> &'static str {
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
        let personal = path
            .split('/')
            .any(|segment| matches!(segment, "people" | "subscribers" | "checkin" | "waitlist" | "door-list"))
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
    // Without a name, the masked address: pages that show what others did
    // never carry a full address, the bar included.
    let name =
        if organiser.user.name.trim().is_empty() { organiser.user.email.masked() } else { organiser.user.name.clone() };
    let shown = super::nav::SignedIn { name, role: organiser.user.role, csrf: organiser.csrf.clone() };
    parts.extensions.insert(organiser);
    super::nav::scope(shown, next.run(Request::from_parts(parts, body))).await
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
    pub(crate) session: TokenHash,
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
