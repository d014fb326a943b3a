//! The audit log for admins: filtered by actor, action, subject and dates,
//! paged newest first, and downloadable as CSV for a Danish Excel.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::civil::Date;
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{Timestamp, copenhagen};
use crate::i18n::{Lang, Texts, texts};
use crate::store::audit::{self, AuditFilter, AuditRow, Entry};
use crate::transfer::export::csv_sink::{BOM, neutralise};
use crate::web::auth::Organiser;
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the audit pages.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/audit", get(page)).route("/admin/audit/export.csv", get(export))
}

/// How many entries one page shows.
const PAGE: u32 = 50;
/// The most entries one CSV file holds.
const CSV_LIMIT: u32 = 1_000_000;

/// The entries as a CSV file for Excel: UTF-8 with a byte-order mark,
/// `;`-separated, CRLF line ends, formula-like text neutralised.
fn csv_of(found: &[AuditRow], a: &AuditTexts) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(BOM.to_vec());
    w.write_record(a.csv_headers)?;
    for r in found {
        let at = r.at.to_zoned_datetime(copenhagen()).strftime("%Y-%m-%d %H:%M:%S").to_string();
        let id = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
        let rows = r.row_count.map(|n| n.to_string()).unwrap_or_default();
        w.write_record([
            at.as_str(),
            &neutralise(&actor_name(r, a)),
            &id(r.actor_id),
            &neutralise(&r.action),
            &neutralise(&r.subject_kind),
            &id(r.subject_id),
            &neutralise(&r.detail),
            &rows,
        ])?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// A date and time in Copenhagen, in `lang`.
pub(crate) fn when(lang: Lang, t: Timestamp) -> String {
    format!("{} {}", lang.date(t), lang.time(t))
}

texts! {
    /// The words of the audit pages.
    pub struct AuditTexts {
        title => "Revisionslog", "Audit log";
        intro => "Hvem har set, søgt i, ændret, eksporteret eller slettet personoplysninger og hvornår. Nyeste først.",
            "Who viewed, searched, changed, exported or erased personal data, and when. Newest first.";
        actor => "Hvem", "Who";
        action => "Handling", "Action";
        subject => "Emne eller søgeord", "Subject or search term";
        subject_hint => "Et id (UUID) eller tekst fra søgeord og noter.",
            "An id (UUID) or text from search terms and notes.";
        from => "Fra dato", "From date";
        until => "Til og med dato", "Up to and including";
        date_hint => "ÅÅÅÅ-MM-DD", "YYYY-MM-DD";
        bad_date => "Skriv datoen som ÅÅÅÅ-MM-DD, fx 2026-01-31.", "Write the date as YYYY-MM-DD, e.g. 2026-01-31.";
        any => "Alle", "Any";
        people => "Personerne selv", "The people themselves";
        system => "Systemet", "The system";
        filter => "Filtrér", "Filter";
        at => "Tidspunkt", "Time";
        detail => "Søgeord eller note", "Search term or note";
        rows => "Rækker", "Rows";
        none => "Ingen hændelser passer til filteret.", "No entries match the filter.";
        older => "Ældre hændelser", "Older entries";
        download => "Hent som CSV", "Download as CSV";
        csv_headers: [&'static str; 8] => ["Tidspunkt", "Hvem", "Hvem (id)", "Handling", "Emne", "Emne (id)", "Søgeord eller note", "Rækker"],
            ["Time", "Who", "Who (id)", "Action", "Subject", "Subject (id)", "Search term or note", "Rows"];
    }
}

/// The filter as the form sends it.
#[derive(Debug, Default, Deserialize)]
struct FilterQuery {
    actor: Option<String>,
    action: Option<String>,
    subject: Option<String>,
    from: Option<String>,
    until: Option<String>,
    before: Option<i64>,
}

fn text(v: Option<&String>) -> &str {
    v.map_or("", |s| s.trim())
}

/// Midnight at the start of `date` in Copenhagen.
fn day_start(date: Date) -> Option<Timestamp> {
    date.to_datetime(jiff::civil::Time::midnight()).to_zoned_datetime(copenhagen()).ok().map(|z| z.timestamp())
}

impl FilterQuery {
    /// The store's filter, or the fields that are wrong.
    fn parse(&self, limit: u32, a: &AuditTexts) -> std::result::Result<AuditFilter, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let mut date = |field: &'static str, raw: &str, next_day: bool| {
            if raw.is_empty() {
                return None;
            }
            let parsed = raw.parse::<Date>().ok().and_then(|d| if next_day { d.tomorrow().ok() } else { Some(d) });
            let at = parsed.and_then(day_start);
            if at.is_none() {
                errors.push((field, a.bad_date.to_owned()));
            }
            at
        };
        let from = date("from", text(self.from.as_ref()), false);
        let until = date("until", text(self.until.as_ref()), true);
        if !errors.is_empty() {
            return Err(errors);
        }
        let actor = text(self.actor.as_ref());
        let (actor_id, actor_kind) = match actor {
            "" => (None, None),
            "person" | "system" => (None, Some(actor.to_owned())),
            id => (Some(Uuid::parse_str(id).unwrap_or(Uuid::nil())), None),
        };
        let subject = text(self.subject.as_ref());
        let (subject_id, detail) = match Uuid::parse_str(subject) {
            Ok(id) => (Some(id), None),
            Err(_) => (None, (!subject.is_empty()).then(|| subject.to_owned())),
        };
        let action = text(self.action.as_ref());
        Ok(AuditFilter {
            actor_id,
            actor_kind,
            action: (!action.is_empty()).then(|| action.to_owned()),
            subject_id,
            detail,
            from,
            until,
            before_id: self.before,
            limit,
        })
    }

    /// The query string of this filter, without paging.
    fn query_string(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("actor", &self.actor), ("action", &self.action), ("subject", &self.subject)] {
            out.append_pair(k, text(v.as_ref()));
        }
        out.append_pair("from", text(self.from.as_ref()));
        out.append_pair("until", text(self.until.as_ref()));
        out.finish()
    }
}

/// One entry as a row of the page.
pub struct Row {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub rows: String,
}

impl Row {
    fn of(r: &AuditRow, lang: Lang) -> Self {
        Self {
            at: when(lang, r.at),
            actor: actor_name(r, AuditTexts::get(lang)),
            action: r.action.clone(),
            subject: subject(r),
            detail: r.detail.clone(),
            rows: r.row_count.map(|n| n.to_string()).unwrap_or_default(),
        }
    }
}

fn actor_name(r: &AuditRow, a: &AuditTexts) -> String {
    match r.actor_kind.as_str() {
        "person" => a.people.to_owned(),
        "system" if r.actor_label.is_empty() => a.system.to_owned(),
        "system" => format!("{} ({})", a.system, r.actor_label),
        _ => r.actor_label.clone(),
    }
}

fn subject(r: &AuditRow) -> String {
    match r.subject_id {
        Some(id) => format!("{} {id}", r.subject_kind),
        None => r.subject_kind.clone(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    lang: Lang,
    t: &'static Texts,
    a: &'static AuditTexts,
    path: String,
    /// The filter as entered.
    actor: String,
    action: String,
    subject: String,
    from: String,
    until: String,
    /// Accounts to choose from: (id, address).
    actors: Vec<(String, String)>,
    actions: Vec<String>,
    rows: Vec<Row>,
    errors: Vec<(&'static str, String)>,
    /// The query string of the CSV download and of the next page.
    query: String,
    next: Option<i64>,
}

impl AuditPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }
}

async fn page(State(state): State<AppState>, ctx: Ctx, _: Organiser, Query(q): Query<FilterQuery>) -> Result<Response> {
    let a = AuditTexts::get(ctx.lang);
    let parsed = q.parse(PAGE + 1, a);
    let (mut found, errors) = match &parsed {
        Ok(filter) => (state.store.audit_entries(filter).await?, Vec::new()),
        Err(errors) => (Vec::new(), errors.clone()),
    };
    let more = found.len() > PAGE as usize;
    found.truncate(PAGE as usize);
    let actors = state
        .store
        .accounts()
        .await?
        .into_iter()
        .map(|acc| (acc.user.id.uuid().to_string(), acc.user.email.to_string()))
        .collect();
    let page = AuditPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        a,
        path: ctx.path,
        actor: text(q.actor.as_ref()).to_owned(),
        action: text(q.action.as_ref()).to_owned(),
        subject: text(q.subject.as_ref()).to_owned(),
        from: text(q.from.as_ref()).to_owned(),
        until: text(q.until.as_ref()).to_owned(),
        actors,
        actions: state.store.audit_actions().await?,
        next: found.last().filter(|_| more).map(|r| r.id),
        rows: found.iter().map(|r| Row::of(r, ctx.lang)).collect(),
        query: q.query_string(),
        errors,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, page).into_response())
}

/// The filtered log as CSV: UTF-8 with a byte-order mark, `;`, CRLF. The
/// download is itself recorded.
async fn export(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Query(q): Query<FilterQuery>,
) -> Result<Response> {
    let a = AuditTexts::get(ctx.lang);
    let filter = q.parse(CSV_LIMIT, a).map_err(|e| {
        let (field, message) = e.into_iter().next().unwrap_or(("from", String::new()));
        Error::invalid(field, message)
    })?;
    let found = state.store.audit_entries(&filter).await?;
    let out = csv_of(&found, a).map_err(Error::Internal)?;
    let detail = q.query_string();
    audit::record_read(
        &state.store,
        &organiser.actor(),
        &Entry::read("audit.export", "audit_log", None, &detail, found.len()),
    )
    .await?;
    let mut res = (StatusCode::OK, out).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"audit-log.csv\""));
    Ok(res)
}
