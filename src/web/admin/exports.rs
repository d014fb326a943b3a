//! The organiser page for exports: download buttons for a meeting's
//! participants and public list of organisations and for the mailing list,
//! as CSV or XLSX, in Danish or English. Viewers may download only the
//! public list; personal data needs the organiser or admin role.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::domain::MeetingId;
use crate::i18n::{Lang, Texts, texts};
use crate::store::meetings::MeetingFilter;
use crate::transfer::export::{Format, Separator};
use crate::web::auth::{Need, Organiser, needs};
use crate::web::download::{self, ExportQuery, What};
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the export page.
pub fn router() -> Router<AppState> {
    needs(
        Need::Export,
        Router::new().route("/admin/exports", get(page)).route("/admin/exports/download", get(download)),
    )
}

texts! {
    /// The texts of the export page.
    pub struct ExportTexts {
        title => "Eksport", "Exports";
        intro => "Hent lister som CSV (åbner direkte i et dansk Excel) eller som Excel-fil.",
            "Download lists as CSV (opens directly in a Danish Excel) or as an Excel file.";
        participants => "Deltagerliste", "Participant list";
        participants_hint => "Alle der har svaret: navn, organisation, CVR-nummer, e-mail, status, spor, kost, \
                            tilgængelighed, tjekket ind, tilmeldt. Hentningen skrives i revisionsloggen.",
            "Everyone who answered: name, organisation, CVR number, email, status, track, diet, \
                            access needs, checked in, registered. The download is recorded in the audit log.";
        organisations => "Offentlig liste over deltagende organisationer",
            "Public list of participating organisations";
        organisations_hint => "Kun organisationer hvor en deltager har sagt ja til at blive nævnt, i dansk alfabetisk orden.",
            "Only organisations where a participant agreed to be named, in Danish alphabetical order.";
        subscribers => "Postlisten", "The mailing list";
        evaluation => "Evalueringsresultater", "Evaluation results";
        evaluation_hint => "Svarprocent, fordelingen på hvert spørgsmål, gennemsnit og fritekstsvar for et møde med en evaluering.",
            "Response rate, the distribution of every question, averages and free-text answers for a meeting with an evaluation.";
        subscribers_hint => "Alle på listen med status, interesser og datoer. Hentningen skrives i revisionsloggen.",
            "Everyone on the list with status, interests and dates. The download is recorded in the audit log.";
        meeting => "Møde", "Meeting";
        format => "Format", "Format";
        csv_semicolon => "CSV med semikolon (dansk Excel)", "CSV with semicolons (Danish Excel)";
        csv_comma => "CSV med komma", "CSV with commas";
        xlsx => "Excel (XLSX)", "Excel (XLSX)";
        language => "Sprog i overskrifterne", "Language of the headers";
        status => "Status", "Status";
        any_status => "Alle", "Any";
        download => "Hent", "Download";
        no_meetings => "Der er ingen møder endnu.", "There are no meetings yet.";
        viewer_note => "Din rolle må ikke hente personoplysninger; deltagerlisten og postlisten kræver rollen \
                      arrangør eller administrator.",
            "Your role may not download personal data; the participant list and the mailing list need \
                      the organiser or admin role.";
        formulas => "Tekst der begynder med =, +, -, @, tabulator eller linjeskift får en ' foran i CSV-filer, \
                   så et regneark aldrig udfører den som en formel.",
            "Text beginning with =, +, -, @, a tab or a line break gets a ' in front in CSV files, so a \
                   spreadsheet never runs it as a formula.";
    }
}

/// A meeting to choose.
struct Choice {
    id: String,
    label: String,
    selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/exports.html")]
struct Page {
    lang: Lang,
    t: &'static Texts,
    x: &'static ExportTexts,
    path: String,
    may_export_personal: bool,
    meetings: Vec<Choice>,
    statuses: [&'static str; 4],
}

#[derive(Deserialize)]
struct PageQuery {
    meeting: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Query(q): Query<PageQuery>,
) -> Result<Page> {
    let meetings = state.store.meetings(MeetingFilter::default()).await?;
    let chosen = q.meeting.unwrap_or_default();
    let meetings = meetings
        .iter()
        .map(|m| Choice {
            id: m.id.to_string(),
            label: match m.number {
                Some(n) => format!("{n}. {} ({})", m.title, ctx.lang.date(m.starts_at)),
                None => format!("{} ({})", m.title, ctx.lang.date(m.starts_at)),
            },
            selected: m.id.to_string() == chosen,
        })
        .collect();
    Ok(Page {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        x: ExportTexts::get(ctx.lang),
        path: ctx.path,
        may_export_personal: organiser.user.role.can_write(),
        meetings,
        statuses: ["pending", "confirmed", "unsubscribed", "bounced"],
    })
}

#[derive(Deserialize)]
struct DownloadQuery {
    /// `participants`, `organisations` or `subscribers`.
    what: String,
    meeting: Option<String>,
    /// `csv` (semicolons), `csv-comma` or `xlsx`.
    format: Option<String>,
    lang: Option<String>,
    status: Option<String>,
}

async fn download(
    State(state): State<AppState>,
    organiser: Organiser,
    Query(q): Query<DownloadQuery>,
) -> Result<Response> {
    let format = match q.format.as_deref() {
        None | Some("" | "csv") => Format::Csv(Separator::Semicolon),
        Some("csv-comma") => Format::Csv(Separator::Comma),
        Some("xlsx") => Format::Xlsx,
        Some(_) => return Err(Error::invalid("format", "must be csv, csv-comma or xlsx")),
    };
    let options = ExportQuery::from_parts(q.lang, q.status);
    let meeting = async |raw: Option<&str>| -> Result<crate::store::meetings::Meeting> {
        let id: MeetingId =
            raw.unwrap_or_default().parse().map_err(|_| Error::invalid("meeting", "choose a meeting"))?;
        Ok(state.store.meeting(id).await?)
    };
    let what = match q.what.as_str() {
        "participants" => What::Participants(meeting(q.meeting.as_deref()).await?),
        "organisations" => What::Organisations(meeting(q.meeting.as_deref()).await?),
        "subscribers" => What::Subscribers(options.status()?),
        "evaluation" => {
            What::evaluation_of(&state.store, meeting(q.meeting.as_deref()).await?, state.breakdown_minimum()).await?
        }
        _ => return Err(Error::NotFound),
    };
    download::check_role(organiser.user.role, &what)?;
    let actor = organiser.actor();
    download::download(&state, actor, what, format, options.lang()?)
}
