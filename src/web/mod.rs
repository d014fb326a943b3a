//! The web edge, by audience: [`public`] pages anyone may open, the
//! organiser workspace in [`admin`], the JSON API in [`api`], and the health
//! endpoints. An audience imports from the shared modules here (sign-in,
//! errors, forms, views, downloads) and never from another audience. Each
//! audience owns a `router()`; they are merged here, with the guards and the
//! layers every request passes through.

pub mod account;
pub mod admin;
pub mod api;
pub mod auth;
pub mod download;
pub mod error;
pub mod extract;
pub mod forms;
pub mod health;
pub mod nav;
pub mod public;
pub mod site;
pub mod state;
pub mod views;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::i18n::Lang;
pub use error::{Error, Result};
pub use state::AppState;

/// The Content-Security-Policy of every response: no inline script, no plugins, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The whole application.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.settings.server.request_timeout_secs);
    let limit = state.settings.server.body_limit_bytes;
    let common = |r: Router<AppState>| {
        r.layer(CatchPanicLayer::new())
            .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout))
            .layer(RequestBodyLimitLayer::new(limit))
            .layer(DefaultBodyLimit::max(limit))
    };
    let pages = common(public::router().merge(account::router()).merge(admin::router()).fallback(not_found))
        .merge(admin::upload_router(&state.settings))
        // The unsubscribe URL must take RFC 8058 one-click POSTs from anywhere; its
        // unguessable token is its protection, and it can only take someone off the list.
        // Every page under /admin: a live session; each route's group then decides on the role.
        .layer(middleware::from_fn_with_state(state.clone(), auth::guard_pages))
        .layer(tower_http::csrf::CsrfLayer::new().with_insecure_bypass(|method, uri| {
            method == axum::http::Method::POST && uri.path().starts_with("/unsubscribe/")
        }))
        .layer(middleware::from_fn(public::dress_errors))
        // Outside the error pages, which show the footer too.
        .layer(middleware::from_fn_with_state(state.clone(), site::provide));
    // Every API route: a valid token; each route's group then decides on the role.
    let guard = middleware::from_fn_with_state(state.clone(), auth::guard_api);
    let api =
        common(api::router().route_layer(guard).fallback(not_found)).layer(middleware::from_fn(api::dress_errors));
    Router::new()
        .merge(health::router())
        .nest("/api/v1", api)
        .merge(pages)
        // Kept public pages need none of the layers above; every write, by page
        // or API, has the version looked at again.
        .layer(middleware::from_fn_with_state(state.clone(), public::cache::serve))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    // The route template, never the URI: personal links carry tokens.
                    let route = req.extensions().get::<MatchedPath>().map_or("-", MatchedPath::as_str);
                    tracing::info_span!("request", method = %req.method(), route)
                })
                .on_request(())
                .on_response(|res: &Response, latency: Duration, _: &tracing::Span| {
                    tracing::info!(status = res.status().as_u16(), ms = latency.as_millis(), "answered");
                }),
        )
        .layer(middleware::from_fn(count_requests))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
        ))
        // Over https, browsers are told to use nothing else for a year.
        .layer(tower::util::option_layer(state.settings.is_https().then(|| {
            SetResponseHeaderLayer::if_not_present(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            )
        })))
        .with_state(state)
}

async fn not_found() -> Error {
    Error::NotFound
}

async fn count_requests(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let class = match res.status().as_u16() {
        100..=399 => "ok",
        400..=499 => "client_error",
        _ => "server_error",
    };
    metrics::counter!("dialogforum_http_requests_total", "class" => class).increment(1);
    res
}

/// What every page needs: the visitor's language and the path being shown.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub path: String,
}

impl Ctx {
    fn from_parts(parts: &Parts) -> Self {
        let lang =
            cookie(parts.headers.get_all(header::COOKIE).iter(), "lang").map_or(Lang::Da, |v| Lang::from_code(&v));
        Self { lang, path: parts.uri.path().to_owned() }
    }

    /// The context of a request not yet taken apart, as a middleware has it.
    #[must_use]
    pub fn of(req: &Request) -> Self {
        let lang =
            cookie(req.headers().get_all(header::COOKIE).iter(), "lang").map_or(Lang::Da, |v| Lang::from_code(&v));
        Self { lang, path: req.uri().path().to_owned() }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> std::result::Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// The client's IP address: the connecting address, or — when that is a
/// configured proxy — the nearest address in `X-Forwarded-For` that is not a
/// proxy. Never logged in full alongside an address.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> std::result::Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        let proxies = &state.settings.server.trusted_proxies;
        let Some(peer) = peer else { return Ok(Self("unknown".into())) };
        if !proxies.contains(&peer) {
            return Ok(Self(peer.to_string()));
        }
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
            .collect::<Vec<_>>();
        let client = forwarded.into_iter().rev().find(|ip| !proxies.contains(ip)).unwrap_or(peer);
        Ok(Self(client.to_string()))
    }
}

/// The value of cookie `name`, if sent.
fn cookie<'a>(headers: impl Iterator<Item = &'a HeaderValue>, name: &str) -> Option<String> {
    headers
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Replaces the body of an error response, keeping status and headers.
fn replace_body(res: Response, content_type: &'static str, body: String) -> Response {
    let (mut parts, _) = res.into_parts();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// Whether `res` is an error that the edge still has to dress.
fn needs_dressing(res: &Response, content_type: &str) -> bool {
    (res.status().is_client_error() || res.status().is_server_error())
        && !res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(content_type))
}

/// The detail of an error response: what the handler said, or the body text
/// of a rejection from axum or tower-http.
async fn error_detail(res: Response) -> (Response, String) {
    if let Some(info) = res.extensions().get::<error::ErrorInfo>() {
        let detail = info.detail.clone();
        return (res, detail);
    }
    let status = res.status();
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let detail = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_owned() } else { text };
    (Response::from_parts(parts, Body::empty()), detail)
}

/// A redirect target from a form or query: only same-origin paths are followed.
#[must_use]
pub fn safe_redirect(target: Option<&str>) -> String {
    match target {
        // Browsers drop tabs and newlines from URLs and read `\` as `/`, so
        // `/\t/evil` and `/\evil` would leave the site.
        Some(t)
            if t.starts_with('/')
                && !t.starts_with("//")
                && !t.contains('\\')
                && !t.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            t.to_owned()
        }
        _ => "/".to_owned(),
    }
}
