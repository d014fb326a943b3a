//! Public pages: the home page, the meetings and their archive, a meeting,
//! the language switch and the stylesheet.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::domain::report::Sections;
use crate::domain::{FileName, MeetingStatus, PublicPhase, Timestamp};
use crate::i18n::{Lang, Texts};
use crate::mail::compose::campaign::{CalendarMethod, calendar_entry};
use crate::store::meetings::{Meeting, MeetingFilter};
use crate::web::download;
use crate::web::extract::Path;
use crate::web::views::MeetingView;
use crate::web::{AppState, Ctx, Error, Result, error_detail, needs_dressing, replace_body, safe_redirect};

/// Routes of the public pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/meetings", get(meetings))
        .route("/meetings/{number}", get(meeting))
        .route("/meetings/{number}/materials/{id}", get(material))
        .route("/meetings/{number}/calendar.ics", get(calendar))
        .route("/lang/{code}", get(switch_language))
        .route("/static/site.css", get(stylesheet))
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    next: Option<MeetingView>,
    recent: Vec<MeetingView>,
}

async fn home(State(state): State<AppState>, ctx: Ctx) -> Result<HomePage> {
    let all = state.store.meetings(MeetingFilter { public_only: true, ..MeetingFilter::default() }).await?;
    let now = Timestamp::now();
    let next = all
        .iter()
        .filter(|m| m.ends_at >= now && m.status != MeetingStatus::Cancelled)
        .min_by_key(|m| m.starts_at)
        .map(|m| MeetingView::new(m, ctx.lang));
    let recent = all.iter().filter(|m| m.ends_at < now).take(3).map(|m| MeetingView::new(m, ctx.lang)).collect();
    Ok(HomePage { lang: ctx.lang, t: ctx.lang.texts(), path: ctx.path, next, recent })
}

#[derive(Template, WebTemplate)]
#[template(path = "meetings.html")]
struct MeetingsPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    upcoming: Vec<MeetingView>,
    /// Past meetings grouped by year, newest year first.
    years: Vec<(i16, Vec<MeetingView>)>,
}

async fn meetings(State(state): State<AppState>, ctx: Ctx) -> Result<MeetingsPage> {
    let all = state.store.meetings(MeetingFilter { public_only: true, ..MeetingFilter::default() }).await?;
    let now = Timestamp::now();
    let mut upcoming: Vec<MeetingView> =
        all.iter().filter(|m| m.ends_at >= now).map(|m| MeetingView::new(m, ctx.lang)).collect();
    upcoming.reverse();
    let mut years: Vec<(i16, Vec<MeetingView>)> = Vec::new();
    for m in all.iter().filter(|m| m.ends_at < now) {
        let v = MeetingView::new(m, ctx.lang);
        match years.last_mut() {
            Some((y, list)) if *y == v.year => list.push(v),
            _ => years.push((v.year, vec![v])),
        }
    }
    Ok(MeetingsPage { lang: ctx.lang, t: ctx.lang.texts(), path: ctx.path, upcoming, years })
}

#[derive(Template, WebTemplate)]
#[template(path = "meeting.html")]
struct MeetingPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    m: MeetingView,
    /// After the meeting: its files as (download path, name, size in kB).
    materials: Vec<FileLink>,
    /// After the meeting: the organisations that agreed to be listed.
    organisations: Vec<String>,
    /// After the meeting: its published report.
    report: Vec<ReportSection>,
}

/// A file as the page links it: (download path, name, size in kB).
type FileLink = (String, String, i64);

/// A section of the published report: its heading, its HTML and its files.
type ReportSection = (String, String, Vec<FileLink>);

impl MeetingPage {
    const fn l(&self, da: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(da, en)
    }
}

/// A public meeting by number or id; drafts are not found.
async fn public_meeting(state: &AppState, key: &str) -> Result<Meeting> {
    let found = if let Ok(n) = key.parse::<i32>() {
        state.store.meeting_by_number(n).await?
    } else {
        let id = key.parse().map_err(|_| Error::NotFound)?;
        state.store.meeting(id).await?
    };
    if !found.status.is_public() {
        return Err(Error::NotFound);
    }
    Ok(found)
}

/// Whether the meeting has taken place, so its materials and participants may be shown.
fn is_over(m: &Meeting) -> bool {
    m.status != MeetingStatus::Cancelled
        && (m.ends_at < Timestamp::now()
            || matches!(m.status, MeetingStatus::Held | MeetingStatus::Evaluated | MeetingStatus::Archived))
}

async fn meeting(State(state): State<AppState>, ctx: Ctx, Path(key): Path<String>) -> Result<MeetingPage> {
    let found = public_meeting(&state, &key).await?;
    let over = is_over(&found);
    let m = MeetingView::new(&found, ctx.lang);
    let published = if over { state.store.published_report(found.id).await? } else { None };
    let files = public_files(&state, &found, &m.url, over).await?;
    let (report, attached) = published.map_or_else(|| (Vec::new(), Vec::new()), |s| report_sections(&s, &files));
    let materials = files.into_iter().filter(|(id, _)| !attached.contains(id)).map(|(_, f)| f).collect();
    let organisations = if over { state.store.listed_organisations(found.id).await? } else { Vec::new() };
    Ok(MeetingPage { lang: ctx.lang, t: ctx.lang.texts(), path: ctx.path, m, materials, organisations, report })
}

/// The files of meeting `m` (whose page is at `url`) that may be shown, by
/// id: each from its release time, or else once the meeting is over.
async fn public_files(state: &AppState, m: &Meeting, url: &str, over: bool) -> Result<Vec<(uuid::Uuid, FileLink)>> {
    let now = Timestamp::now();
    Ok(state
        .store
        .materials(m.id)
        .await?
        .into_iter()
        .filter(|f| f.is_public(over, now))
        .map(|f| (f.id, (format!("{url}/materials/{}", f.id), f.filename, (f.size + 1023) / 1024)))
        .collect())
}

/// The published report's sections, each its heading, its HTML and the
/// `files` that belong with it; and the ids of every file some section carries.
fn report_sections(sections: &Sections, files: &[(uuid::Uuid, FileLink)]) -> (Vec<ReportSection>, Vec<uuid::Uuid>) {
    let report = sections
        .as_slice()
        .iter()
        .map(|s| {
            let own = files.iter().filter(|(id, _)| s.materials.contains(id)).map(|(_, f)| f.clone()).collect();
            (s.title.clone(), crate::web::views::markdown(&s.body), own)
        })
        .collect();
    (report, sections.materials())
}

/// A file of a meeting that has taken place, or released at its time,
/// always as a download: never shown inline, never sniffed into another type.
async fn material(State(state): State<AppState>, Path((key, id)): Path<(String, uuid::Uuid)>) -> Result<Response> {
    let found = public_meeting(&state, &key).await?;
    let (file, data) = state.store.material(found.id, id).await?;
    if !file.is_public(is_over(&found), Timestamp::now()) {
        return Err(Error::NotFound);
    }
    let name = FileName::parse(&file.filename).map_err(|e| Error::Internal(e.into()))?;
    let disposition = download::attachment(&name);
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_str(&file.content_type).map_err(|e| Error::Internal(e.into()))?),
        (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(|e| Error::Internal(e.into()))?),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600")),
    ];
    Ok((headers, data).into_response())
}

/// The calendar entry of a meeting still to come, for anyone's calendar:
/// `METHOD:PUBLISH`, the venue (never the joining link), the public page as
/// URL and description, no attendee and nothing personal.
async fn calendar(State(state): State<AppState>, Path(key): Path<String>) -> Result<Response> {
    let found = public_meeting(&state, &key).await?;
    let phase =
        PublicPhase::of(found.status, found.starts_at, found.ends_at, found.registration_deadline, Timestamp::now());
    if !phase.is_upcoming() {
        return Err(Error::NotFound);
    }
    let ics = calendar_entry(&found, &state.composer, state.settings.base_url(), CalendarMethod::Publish, None);
    let name = format!("dialogforum-{}.ics", found.number.map_or_else(|| found.id.to_string(), |n| n.to_string()));
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8; method=PUBLISH")),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                .map_err(|e| Error::Internal(e.into()))?,
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    Ok((headers, ics).into_response())
}

#[derive(serde::Deserialize)]
struct Back {
    back: Option<String>,
}

/// Sets the language cookie and returns to the page the visitor came from.
async fn switch_language(Path(code): Path<String>, Query(q): Query<Back>) -> Response {
    let lang = Lang::from_code(&code);
    let mut res = Redirect::to(&safe_redirect(q.back.as_deref())).into_response();
    let cookie = format!("lang={}; Path=/; Max-Age=31536000; SameSite=Lax", lang.code());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../../static/site.css"),
    )
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    title: &'static str,
    text: String,
}

/// Gives every error response of the pages a friendly page in the visitor's language.
pub async fn dress_errors(req: Request, next: Next) -> Response {
    let ctx = {
        let (parts, body) = req.into_parts();
        let ctx = Ctx::from_parts(&parts);
        (ctx, Request::from_parts(parts, body))
    };
    let (ctx, req) = ctx;
    let res = next.run(req).await;
    if !needs_dressing(&res, "text/html") {
        return res;
    }
    let status = res.status();
    let (res, detail) = error_detail(res).await;
    let t = ctx.lang.texts();
    let (title, text) = match status.as_u16() {
        404 => (t.not_found_title, t.not_found_text.to_owned()),
        401 | 403 => (t.forbidden_title, t.forbidden_text.to_owned()),
        503 => (t.unavailable_title, t.unavailable_text.to_owned()),
        500..=599 => (t.error_title, t.error_text.to_owned()),
        _ => (t.bad_request_title, detail),
    };
    let page = ErrorPage { lang: ctx.lang, t, path: ctx.path, title, text };
    let html = page.render().unwrap_or_else(|_| title.to_owned());
    replace_body(res, "text/html; charset=utf-8", html)
}
