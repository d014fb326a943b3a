//! The public pages anyone may open without a link of their own — the home
//! page, the meetings, each meeting's page, the privacy notice and the
//! accessibility statement — kept in memory as rendered, per path and
//! language, and answered with an `ETag` (`304 Not Modified` when the
//! browser has the page already).
//!
//! A kept page is served while two things hold:
//! - what the pages show has not changed. The database keeps a version of
//!   it, raised by triggers on every write that changes a public page,
//!   whichever program or instance makes it (migration 0031). Each instance
//!   looks at it every `server.page_version_poll_ms` (default 250 ms), and at
//!   once after each write it serves itself, so a change shows on its own
//!   instance at the next request and on every other within the poll;
//! - the page is younger than `server.page_cache_secs` (default 10): pages
//!   also change with the clock (a deadline passes, a meeting begins).
//!
//! A page is kept with the version seen *before* it was rendered, so a write
//! that lands while it renders makes it count as old, never the other way.
//! When the version cannot be read, nothing is served from memory.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::i18n::Lang;
use crate::store::Store;
use crate::web::{AppState, Ctx};

/// The version when it could not be read: nothing is served from memory.
const UNKNOWN: i64 = i64::MIN;
/// Pages kept at most; past this the cache starts over.
const MAX_PAGES: usize = 4096;

/// The rendered public pages of this instance.
pub struct PageCache {
    ttl: Duration,
    version: AtomicI64,
    pages: RwLock<HashMap<(String, Lang), Arc<Page>>>,
}

/// One rendered page.
struct Page {
    /// The version seen before it was rendered.
    version: i64,
    rendered: Instant,
    body: Bytes,
    content_type: HeaderValue,
    etag: HeaderValue,
    last_modified: HeaderValue,
}

impl PageCache {
    /// A cache that keeps pages for `ttl`; zero keeps none.
    #[must_use]
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, version: AtomicI64::new(UNKNOWN), pages: RwLock::new(HashMap::new()) }
    }

    /// Whether pages are kept at all.
    #[must_use]
    pub fn is_on(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// Reads the version from the database; when that fails, serves nothing
    /// from memory until it succeeds again.
    pub async fn refresh(&self, store: &Store) {
        let version = match store.public_version().await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "the public pages' version could not be read; pages are rendered afresh");
                UNKNOWN
            }
        };
        self.version.store(version, Ordering::Release);
    }

    /// The kept page for `key`, if it may still be served.
    fn fresh(&self, key: &(String, Lang)) -> Option<Arc<Page>> {
        let version = self.version.load(Ordering::Acquire);
        if version == UNKNOWN {
            return None;
        }
        let pages = self.pages.read().unwrap_or_else(PoisonError::into_inner);
        pages.get(key).filter(|p| p.version >= version && p.rendered.elapsed() < self.ttl).cloned()
    }

    /// Keeps a page rendered after `version` was seen. Its `Last-Modified`
    /// stays that of the kept page when the content is the same.
    fn keep(&self, key: (String, Lang), version: i64, body: Bytes, content_type: HeaderValue) -> Arc<Page> {
        let digest = Sha256::digest(&body);
        let mut tag = String::from("\"");
        for b in &digest[..12] {
            let _ = write!(tag, "{b:02x}");
        }
        tag.push('"');
        let etag = HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
        let mut pages = self.pages.write().unwrap_or_else(PoisonError::into_inner);
        let last_modified = pages
            .get(&key)
            .filter(|p| p.etag == etag)
            .map_or_else(|| http_date(jiff::Timestamp::now()), |p| p.last_modified.clone());
        let page = Arc::new(Page { version, rendered: Instant::now(), body, content_type, etag, last_modified });
        if version == UNKNOWN {
            return page;
        }
        if pages.len() >= MAX_PAGES && !pages.contains_key(&key) {
            pages.clear();
        }
        pages.insert(key, Arc::clone(&page));
        page
    }
}

impl Page {
    /// The page, or `304` when the browser's `If-None-Match` names it.
    fn answer(&self, request: &HeaderMap) -> Response {
        let tag = self.etag.as_bytes();
        let known = request.get_all(header::IF_NONE_MATCH).iter().any(|v| {
            v.as_bytes()
                .split(|b| *b == b',')
                .map(<[u8]>::trim_ascii)
                .any(|t| t == b"*" || t.strip_prefix(b"W/").unwrap_or(t) == tag)
        });
        let mut res = if known {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut res = Response::new(Body::from(self.body.clone()));
            res.headers_mut().insert(header::CONTENT_TYPE, self.content_type.clone());
            res
        };
        let headers = res.headers_mut();
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(header::LAST_MODIFIED, self.last_modified.clone());
        // Always asked again, answered with 304 while unchanged.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        // The language comes from a cookie.
        headers.insert(header::VARY, HeaderValue::from_static("Cookie"));
        res
    }
}

/// An HTTP date (RFC 9110, 5.6.7).
fn http_date(t: jiff::Timestamp) -> HeaderValue {
    let s = t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

/// Whether the request asks for a page this cache keeps.
fn kept_path(method: &Method, path: &str, query: Option<&str>) -> bool {
    if !(method == Method::GET || method == Method::HEAD) || query.is_some_and(|q| !q.is_empty()) {
        return false;
    }
    match path {
        "/" | "/meetings" | "/privacy" | "/accessibility" => true,
        _ => path.strip_prefix("/meetings/").is_some_and(|rest| !rest.is_empty() && !rest.contains('/')),
    }
}

/// Serves the kept pages from memory and keeps them as they are rendered;
/// after every other request that may write, reads the version again so that
/// this instance shows its own changes at once.
pub async fn serve(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let cache = &state.pages;
    if !cache.is_on() {
        return next.run(req).await;
    }
    if !kept_path(req.method(), req.uri().path(), req.uri().query()) {
        let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        let res = next.run(req).await;
        if !safe {
            cache.refresh(&state.store).await;
        }
        return res;
    }
    let key = (req.uri().path().to_owned(), Ctx::of(&req).lang);
    let asked = req.headers().clone();
    if let Some(page) = cache.fresh(&key) {
        return page.answer(&asked);
    }
    let version = cache.version.load(Ordering::Acquire);
    let res = next.run(req).await;
    let html = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if res.status() != StatusCode::OK || !html || res.headers().contains_key(header::SET_COOKIE) {
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let content_type =
        parts.headers.get(header::CONTENT_TYPE).cloned().unwrap_or(HeaderValue::from_static("text/html"));
    cache.keep(key, version, bytes, content_type).answer(&asked)
}

/// Reads the version every `interval` until `shutdown` turns true.
///
/// # Errors
/// None: a failed read is logged and leaves the cache serving nothing.
pub async fn follow(
    store: Store,
    cache: Arc<PageCache>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        cache.refresh(&store).await;
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_pages_without_a_personal_link_are_kept() {
        for path in ["/", "/meetings", "/meetings/17", "/privacy", "/accessibility"] {
            assert!(kept_path(&Method::GET, path, None), "{path}");
            assert!(kept_path(&Method::HEAD, path, Some("")), "{path}");
        }
        for (method, path, query) in [
            (Method::POST, "/meetings", None),
            (Method::GET, "/meetings", Some("x=1")),
            (Method::GET, "/meetings/17/calendar.ics", None),
            (Method::GET, "/meetings/", None),
            (Method::GET, "/rsvp/abc", None),
            (Method::GET, "/admin", None),
            (Method::GET, "/subscribe", None),
        ] {
            assert!(!kept_path(&method, path, query), "{method} {path}");
        }
    }

    #[test]
    fn a_page_rendered_before_a_change_is_not_served_after_it() {
        let cache = PageCache::new(Duration::from_mins(1));
        let key = ("/meetings".to_owned(), Lang::Da);
        cache.version.store(7, Ordering::Release);
        cache.keep(key.clone(), 7, Bytes::from_static(b"<p>old</p>"), HeaderValue::from_static("text/html"));
        assert!(cache.fresh(&key).is_some());
        cache.version.store(8, Ordering::Release);
        assert!(cache.fresh(&key).is_none());
        cache.version.store(UNKNOWN, Ordering::Release);
        assert!(cache.fresh(&key).is_none());
    }

    #[test]
    fn the_same_content_keeps_its_tag_and_date_and_a_match_answers_304() {
        let cache = PageCache::new(Duration::from_mins(1));
        let key = ("/".to_owned(), Lang::En);
        let first = cache.keep(key.clone(), 1, Bytes::from_static(b"same"), HeaderValue::from_static("text/html"));
        let again = cache.keep(key, 2, Bytes::from_static(b"same"), HeaderValue::from_static("text/html"));
        assert_eq!(first.etag, again.etag);
        assert_eq!(first.last_modified, again.last_modified);
        let mut asked = HeaderMap::new();
        asked.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", W/{}", first.etag.to_str().unwrap())).unwrap(),
        );
        assert_eq!(again.answer(&asked).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.answer(&HeaderMap::new()).status(), StatusCode::OK);
    }
}
