//! Who is asking, and what they may do: the organiser behind a session
//! cookie (with the CSRF token bound to that session), the account behind an
//! API token sent as `Authorization: Bearer`, and the route groups that say
//! which role each organiser page and API call needs. The guards in front
//! establish who is asking; the group of the route a request matched decides
//! whether their role may. The pages that start and end a session are in
//! [`super::account`].

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::{self, Next};
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

/// `routes`, each open only to a role that `need` allows (403 in words for
/// others). A `router()` declares its routes in such groups, so the role a
/// route needs is written where the route is. Who is asking is established
/// before, by [`guard_pages`] or [`guard_api`]; a route that is in no group
/// is refused to everyone.
pub fn needs<S: Clone + Send + Sync + 'static>(need: Need, routes: Router<S>) -> Router<S> {
    routes.route_layer(middleware::from_fn(move |req: Request, next: Next| decide(need, req, next)))
}

async fn decide(need: Need, req: Request, next: Next) -> Response {
    let Some(asking) = req.extensions().get::<Asking>().cloned() else {
        return Error::Forbidden(need.refusal()).into_response();
    };
    // Let through or refused, the group has decided. Of nested groups the
    // outermost is recorded, and each checks its own need.
    let _ = asking.decided.set(need);
    if need.allows(asking.role) { next.run(req).await } else { Error::Forbidden(need.refusal()).into_response() }
}

/// Who is asking, as a guard established it, and the need the group of the
/// matched route decided on. A route that is in no group decides nothing,
/// and then nothing is answered but a refusal: the extractors of who is
/// asking ([`Organiser`], [`ApiUser`]) refuse, and the guard replaces the
/// answer with [`undecided`].
#[derive(Debug, Clone)]
struct Asking {
    role: Role,
    decided: Arc<OnceLock<Need>>,
}

impl Asking {
    fn new(role: Role) -> Self {
        Self { role, decided: Arc::default() }
    }

    /// Whether a route group has decided on the request.
    fn decided(&self) -> bool {
        self.decided.get().is_some()
    }
}

/// The answer to a request no route group decided on: a path no route takes,
/// a spelling the router and [`normalised`] could read differently, or a route
/// left out of every group. A role that may only read is refused (403), as
/// for anything a group does not open to it; to others the page does not
/// exist (404).
fn undecided(role: Role) -> Response {
    let refusal = if Need::Write.allows(role) { Error::NotFound } else { Error::Forbidden(Need::Write.refusal()) };
    refusal.into_response()
}

/// The answer of the router, unless no route group decided on the request.
fn settled(asking: &Asking, res: Response) -> Response {
    if asking.decided() { res } else { undecided(asking.role) }
}

/// The account an extractor takes from the request, put there by a guard,
/// once a route group has decided on the request (else 403).
fn decided<T: Clone + Send + Sync + 'static>(parts: &Parts) -> Result<T> {
    parts
        .extensions
        .get::<Asking>()
        .filter(|asking| asking.decided())
        .and_then(|_| parts.extensions.get::<T>())
        .cloned()
        .ok_or(Error::Forbidden("no role may use this route"))
}

/// The path the page guard reads: percent-decoded, in lower case, with empty
/// and `.` segments dropped and `..` applied, so that `/admin/%75sers`,
/// `/admin//Users` and `/admin/x/../users` are all `/admin/users` and none
/// of them escapes the guard. `None` for a path that does not decode to
/// UTF-8, which no route takes.
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
/// sent, and the guard, which reads the [`normalised`] path, could read it
/// differently: an encoded `/` or `\`, a `\`, an empty segment, or a `.` or
/// `..` segment (however encoded). No link the service makes looks like
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

/// In front of every page: `/admin` and everything under it, and signing
/// out, need a live session (else the login page); the route's group then decides on the
/// role ([`needs`]). Whether a path is under `/admin` is read on the
/// [`normalised`] path too. A path that is ambiguous (the router and
/// [`normalised`] could read it differently) reaches no handler, and neither
/// does a route in no group: a viewer is refused (403), others get 404.
pub async fn guard_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let raw = req.uri().path().to_owned();
    let Some(path) = normalised(&raw) else {
        return Error::NotFound.into_response();
    };
    if !(under_admin(&path) || under_admin(&raw) || path == "/logout") {
        return if ambiguous(&raw) { Error::NotFound.into_response() } else { next.run(req).await };
    }
    let (mut parts, body) = req.into_parts();
    let organiser = match Organiser::from_session(&parts, &state).await {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let asking = Asking::new(organiser.user.role);
    if ambiguous(&raw) {
        return undecided(asking.role);
    }
    // Without a name, the masked address: pages that show what others did
    // never carry a full address, the bar included.
    let name =
        if organiser.user.name.trim().is_empty() { organiser.user.email.masked() } else { organiser.user.name.clone() };
    let shown = super::nav::SignedIn { name, role: organiser.user.role, csrf: organiser.csrf.clone() };
    parts.extensions.insert(organiser);
    parts.extensions.insert(asking.clone());
    let res = super::nav::scope(shown, next.run(Request::from_parts(parts, body))).await;
    settled(&asking, res)
}

/// In front of every API route but the OpenAPI document: a valid token of an
/// enabled account (else 401); the route's group then decides on the role
/// ([`needs`]). An ambiguous path is 404, and a route in no group reaches no
/// handler.
pub async fn guard_api(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let raw = req.uri().path().to_owned();
    if raw == "/openapi.json" {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let user = match ApiUser::from_token(&parts, &state).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    if ambiguous(&raw) {
        return Error::NotFound.into_response();
    }
    let asking = Asking::new(user.0.role);
    parts.extensions.insert(user);
    parts.extensions.insert(asking.clone());
    let res = next.run(Request::from_parts(parts, body)).await;
    settled(&asking, res)
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

    /// The organiser whose live session the request's cookie names.
    async fn from_session(parts: &Parts, state: &AppState) -> Result<Self> {
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

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The organiser [`guard_pages`] found, on a route whose group let their role through.
impl FromRequestParts<AppState> for Organiser {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self> {
        decided(parts)
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

    /// The enabled account whose token the request carries.
    async fn from_token(parts: &Parts, state: &AppState) -> Result<Self> {
        let token = bearer(&parts.headers).ok_or(Error::Unauthorized)?;
        let user = state.store.api_token_user(&token.hash()).await?.ok_or(Error::Unauthorized)?;
        Ok(Self(user))
    }
}

/// The account [`guard_api`] found, on a route whose group let its role through.
impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self> {
        decided(parts)
    }
}

fn bearer(headers: &HeaderMap) -> Option<Token> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| Token::from_presented(token.trim())).flatten()
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::extract::Request;
    use axum::http::Method;
    use axum::middleware::{self, Next};
    use axum::response::Response;
    use axum::routing::{get, post};
    use tower::ServiceExt as _;

    use super::{Asking, Need, needs, settled};
    use crate::domain::Role;

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
    fn each_need_names_the_roles_it_lets_through() {
        for need in [Need::Read, Need::Own] {
            assert!([Role::Viewer, Role::Organiser, Role::Admin].into_iter().all(|r| need.allows(r)), "{need:?}");
        }
        for need in [Need::Write, Need::Export, Need::Personal] {
            assert!(!need.allows(Role::Viewer) && need.allows(Role::Organiser) && need.allows(Role::Admin));
        }
        assert!(!Need::Admin.allows(Role::Organiser) && Need::Admin.allows(Role::Admin));
    }

    /// What a guard does once it knows who is asking: the role for the
    /// groups, and a refusal of whatever no group decided on.
    async fn as_role(role: Role, mut req: Request, next: Next) -> Response {
        let asking = Asking::new(role);
        req.extensions_mut().insert(asking.clone());
        settled(&asking, next.run(req).await)
    }

    async fn status(role: Role, method: Method, path: &str) -> u16 {
        let done = || async { "done" };
        let routes: Router = needs(Need::Read, Router::new().route("/admin/meetings", get(done)))
            .merge(needs(Need::Write, Router::new().route("/admin/meetings", post(done))))
            .merge(needs(Need::Admin, Router::new().route("/admin/users", get(done))))
            .route("/admin/forgotten", get(done))
            .layer(middleware::from_fn(move |req: Request, next: Next| as_role(role, req, next)));
        let req = Request::builder().method(method).uri(path).body(Body::empty()).expect("a request");
        routes.oneshot(req).await.expect("an answer").status().as_u16()
    }

    #[tokio::test]
    async fn the_group_of_a_route_decides_and_a_route_in_none_is_closed() {
        assert_eq!(status(Role::Viewer, Method::GET, "/admin/meetings").await, 200);
        assert_eq!(status(Role::Viewer, Method::POST, "/admin/meetings").await, 403);
        assert_eq!(status(Role::Organiser, Method::POST, "/admin/meetings").await, 200);
        assert_eq!(status(Role::Organiser, Method::GET, "/admin/users").await, 403);
        assert_eq!(status(Role::Admin, Method::GET, "/admin/users").await, 200);
        // A route left out of every group, and a path no route takes.
        for path in ["/admin/forgotten", "/admin/nothing"] {
            assert_eq!(status(Role::Viewer, Method::GET, path).await, 403, "{path}");
            assert_eq!(status(Role::Organiser, Method::GET, path).await, 404, "{path}");
            assert_eq!(status(Role::Admin, Method::GET, path).await, 404, "{path}");
        }
    }
}
