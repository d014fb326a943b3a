//! The annual picture for a chosen period (the current calendar year unless
//! told): meetings held with invited, registered, attended and no-show,
//! organisations by how often they took part, the list's growth and churn,
//! bounces and the trend of the recurring evaluation questions — as charts
//! with their data tables, and as CSV or XLSX. Figures only, no personal
//! data: every organiser role may see and download it.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::domain::{Period, PeriodError, Timestamp, copenhagen};
use crate::i18n::{Lang, Texts, texts};
use crate::store::year::{Annual, annual_picture};
use crate::transfer::export::{Format, Separator, held_meeting_label};
use crate::web::admin::charts::{Bar, bar_chart};
use crate::web::admin::evaluations::{ChartView, SeriesView, series_view};
use crate::web::auth::{Need, Organiser, needs};
use crate::web::download::{self, What};
use crate::web::forms::field_error;
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the annual picture.
pub fn router() -> Router<AppState> {
    needs(Need::Read, Router::new().route("/admin/year", get(page))).merge(needs(
        Need::Export,
        Router::new().route("/admin/year.csv", get(csv)).route("/admin/year.xlsx", get(xlsx)),
    ))
}

texts! {
    /// The words of the annual picture.
    pub struct YearTexts {
        title => "Årsoversigt", "Annual picture";
        intro => "Møder, deltagelse, organisationer, postlisten og evalueringer for en periode – \
                  som udgangspunkt indeværende kalenderår.",
            "Meetings, attendance, organisations, the mailing list and evaluations for a period – \
                  the current calendar year unless you choose another.";
        from => "Fra dato", "From date";
        to => "Til og med dato", "Up to and including";
        date_hint => "ÅÅÅÅ-MM-DD", "YYYY-MM-DD";
        show => "Vis", "Show";
        bad_from => "Skriv startdatoen som ÅÅÅÅ-MM-DD, fx 2026-01-01.",
            "Write the start date as YYYY-MM-DD, e.g. 2026-01-01.";
        bad_to => "Skriv slutdatoen som ÅÅÅÅ-MM-DD, fx 2026-12-31.",
            "Write the end date as YYYY-MM-DD, e.g. 2026-12-31.";
        reversed => "Slutdatoen må ikke ligge før startdatoen.", "The end date must not come before the start date.";
        downloads => "Hent tallene", "Download the figures";
        csv => "CSV (dansk Excel)", "CSV (Danish Excel)";
        xlsx => "Excel (XLSX)", "Excel (XLSX)";
        meetings => "Møder holdt", "Meetings held";
        no_meetings => "Der blev ikke holdt noget møde i perioden.", "No meeting was held in the period.";
        meetings_note => "Inviterede er alle med en invitation eller et svar; tilmeldte havde en plads; deltog er \
                          tjekket ind ved døren; udeblev er tilmeldte, der ikke blev tjekket ind. Aflyste møder og \
                          møder, der ikke er slut endnu, tæller ikke med.",
            "Invited is everyone with an invitation or an answer; registered held a seat; attended was checked \
                          in at the door; no-show is registered but not checked in. Cancelled meetings and meetings \
                          that have not ended yet are not counted.";
        meeting => "Møde", "Meeting";
        date => "Dato", "Date";
        invited => "Inviterede", "Invited";
        registered => "Tilmeldte", "Registered";
        attended => "Deltog", "Attended";
        no_show => "Udeblev", "No-show";
        total => "I alt", "In all";
        cancelled => "Aflyste møder i perioden", "Meetings cancelled in the period";
        attendance_chart => "Deltagere pr. møde", "Attendees per meeting";
        organisations => "Organisationer på tværs af møderne", "Organisations across the meetings";
        organisations_intro => "En organisation deltog i et møde, når mindst én fra den blev tjekket ind.",
            "An organisation took part in a meeting when at least one person from it was checked in.";
        times => "Deltog i", "Took part in";
        organisations_count => "Organisationer", "Organisations";
        one_meeting => "1 møde", "1 meeting";
        meetings_word => "møder", "meetings";
        every_time => "hver gang", "every time";
        organisations_total => "Organisationer, der deltog mindst én gang", "Organisations that took part at least once";
        list => "Postlisten", "The mailing list";
        list_intro => "Bekræftede tilmeldinger og framelding i perioden. Personer, der siden er slettet, tæller ikke med.",
            "Confirmed sign-ups and people leaving in the period. People erased since are not counted.";
        measure => "Mål", "Measure";
        at_start => "På listen ved periodens start", "On the list at the start";
        joined => "Kommet til", "Joined";
        left => "Forladt listen", "Left the list";
        growth => "Vækst (kommet til minus forladt)", "Growth (joined less left)";
        churn => "Frafald (forladt i forhold til listen ved start)", "Churn (left against the list at the start)";
        list_chart => "Kommet til og forladt listen", "Joined and left the list";
        bounces => "Returmails", "Bounces";
        hard => "Hårde returmails", "Hard bounces";
        soft => "Bløde returmails", "Soft bounces";
        complaints => "Klager over mail", "Complaints about mail";
        trend => "Evalueringer: de faste spørgsmål", "Evaluations: the recurring questions";
        no_trend => "Ingen af periodens møder har evalueringssvar.", "None of the period's meetings has evaluation answers.";
    }
}

/// A meeting held, as the table shows it.
pub struct MeetingRow {
    pub id: String,
    pub label: String,
    pub date: String,
    pub invited: i64,
    pub registered: i64,
    pub attended: i64,
    pub no_show: i64,
}

/// The figures of a valid period, ready to show.
pub struct Figures {
    pub meetings: Vec<MeetingRow>,
    pub totals: [i64; 4],
    pub cancelled: i64,
    pub attendance: ChartView,
    pub organisations: ChartView,
    pub organisations_total: i64,
    pub list: ChartView,
    pub hard: i64,
    pub soft: i64,
    pub complaints: i64,
    pub trend: Vec<SeriesView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/year.html")]
struct YearPage {
    lang: Lang,
    t: &'static Texts,
    y: &'static YearTexts,
    path: String,
    from: String,
    to: String,
    /// The query of the downloads, for a valid period.
    query: String,
    errors: Vec<(&'static str, String)>,
    figures: Option<Figures>,
}

impl YearPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }
}

/// The period as the form sends it.
#[derive(Debug, Default, Deserialize)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
    lang: Option<String>,
}

impl PeriodQuery {
    fn period(&self) -> std::result::Result<Period, PeriodError> {
        let today = Timestamp::now().to_zoned_datetime(copenhagen()).date();
        Period::parse(self.from.as_deref(), self.to.as_deref(), today)
    }
}

fn message(e: PeriodError, y: &YearTexts) -> String {
    match e {
        PeriodError::BadFrom => y.bad_from,
        PeriodError::BadTo => y.bad_to,
        PeriodError::Reversed => y.reversed,
    }
    .to_owned()
}

fn percent(lang: Lang, share: f64) -> String {
    let s = format!("{:.1} %", share * 100.0);
    if lang == Lang::Da { s.replace('.', ",") } else { s }
}

fn chart(id: &str, title: &str, head: Vec<String>, rows: Vec<Vec<String>>, bars: &[Bar]) -> ChartView {
    ChartView { svg: bar_chart(id, title, bars, 0.0), caption: title.to_owned(), head, rows }
}

fn figures(a: &Annual, lang: Lang) -> Figures {
    let y = YearTexts::get(lang);
    let meetings: Vec<MeetingRow> = a
        .meetings
        .iter()
        .map(|m| MeetingRow {
            id: m.id.to_string(),
            label: held_meeting_label(m.number, &m.title, lang),
            date: lang.date(m.starts_at),
            invited: m.invited,
            registered: m.registered,
            attended: m.attended,
            no_show: m.no_show,
        })
        .collect();
    let totals = meetings
        .iter()
        .fold([0; 4], |t, m| [t[0] + m.invited, t[1] + m.registered, t[2] + m.attended, t[3] + m.no_show]);
    Figures {
        attendance: attendance_chart(&meetings, y),
        meetings,
        totals,
        cancelled: a.cancelled,
        organisations: organisations_chart(a, y),
        organisations_total: a.organisations_total(),
        list: list_chart(a, lang, y),
        hard: a.bounces.hard,
        soft: a.bounces.soft,
        complaints: a.bounces.complaints,
        trend: a.trend.iter().map(|s| series_view(s, lang)).collect(),
    }
}

/// Who registered, came and stayed away, meeting by meeting.
#[allow(clippy::cast_precision_loss)] // counts are far below 2^52
fn attendance_chart(meetings: &[MeetingRow], y: &YearTexts) -> ChartView {
    chart(
        "year-attendance",
        y.attendance_chart,
        vec![y.meeting.into(), y.registered.into(), y.attended.into(), y.no_show.into()],
        meetings
            .iter()
            .map(|m| vec![m.label.clone(), m.registered.to_string(), m.attended.to_string(), m.no_show.to_string()])
            .collect(),
        &meetings
            .iter()
            .map(|m| Bar { label: m.label.clone(), value: m.attended as f64, shown: m.attended.to_string() })
            .collect::<Vec<_>>(),
    )
}

/// How many organisations took part once, twice and so on.
#[allow(clippy::cast_precision_loss)] // counts are far below 2^52
fn organisations_chart(a: &Annual, y: &YearTexts) -> ChartView {
    let held = a.meetings.len();
    let times = |n: i64| {
        let base = if n == 1 { y.one_meeting.to_owned() } else { format!("{n} {}", y.meetings_word) };
        if usize::try_from(n).is_ok_and(|n| n == held && n > 1) { format!("{base} ({})", y.every_time) } else { base }
    };
    chart(
        "year-organisations",
        y.organisations,
        vec![y.times.into(), y.organisations_count.into()],
        a.organisations.iter().map(|(n, c)| vec![times(*n), c.to_string()]).collect(),
        &a.organisations
            .iter()
            .map(|(n, c)| Bar { label: times(*n), value: *c as f64, shown: c.to_string() })
            .collect::<Vec<_>>(),
    )
}

/// How the mailing list grew and shrank over the period.
#[allow(clippy::cast_precision_loss)] // counts are far below 2^52
fn list_chart(a: &Annual, lang: Lang, y: &YearTexts) -> ChartView {
    let l = a.list;
    chart(
        "year-list",
        y.list_chart,
        vec![y.measure.into(), lang.texts().count.into()],
        vec![
            vec![y.at_start.into(), l.at_start.to_string()],
            vec![y.joined.into(), l.joined.to_string()],
            vec![y.left.into(), l.left.to_string()],
            vec![y.growth.into(), l.growth().to_string()],
            vec![y.churn.into(), l.churn().map_or_else(|| "–".to_owned(), |c| percent(lang, c))],
        ],
        &[
            Bar { label: y.joined.into(), value: l.joined as f64, shown: l.joined.to_string() },
            Bar { label: y.left.into(), value: l.left as f64, shown: l.left.to_string() },
        ],
    )
}

async fn page(State(state): State<AppState>, ctx: Ctx, _: Organiser, Query(q): Query<PeriodQuery>) -> Result<Response> {
    let y = YearTexts::get(ctx.lang);
    let (from, to, errors, figures) = match q.period() {
        Ok(p) => {
            let a = annual_picture(&state.store, p, Timestamp::now()).await?;
            (p.from().to_string(), p.to().to_string(), Vec::new(), Some(figures(&a, ctx.lang)))
        }
        Err(e) => (
            q.from.clone().unwrap_or_default(),
            q.to.clone().unwrap_or_default(),
            vec![(e.field(), message(e, y))],
            None,
        ),
    };
    let query = format!("from={from}&to={to}");
    let page = YearPage { lang: ctx.lang, t: ctx.lang.texts(), y, path: ctx.path, from, to, query, errors, figures };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, page).into_response())
}

/// The annual picture of the period asked for as a download.
async fn export(
    state: &AppState,
    ctx: &Ctx,
    organiser: Organiser,
    q: &PeriodQuery,
    format: Format,
) -> Result<Response> {
    let period = q.period().map_err(|e| Error::invalid(e.field(), message(e, YearTexts::get(ctx.lang))))?;
    let lang = match q.lang.as_deref() {
        None | Some("") => ctx.lang,
        Some(code) => download::ExportQuery::from_parts(Some(code.to_owned()), None).lang()?,
    };
    let a = annual_picture(&state.store, period, Timestamp::now()).await?;
    download::download(state, organiser.actor(), What::Annual(Box::new(a)), format, lang)
}

async fn csv(State(state): State<AppState>, ctx: Ctx, o: Organiser, Query(q): Query<PeriodQuery>) -> Result<Response> {
    export(&state, &ctx, o, &q, Format::Csv(Separator::Semicolon)).await
}

async fn xlsx(State(state): State<AppState>, ctx: Ctx, o: Organiser, Query(q): Query<PeriodQuery>) -> Result<Response> {
    export(&state, &ctx, o, &q, Format::Xlsx).await
}
