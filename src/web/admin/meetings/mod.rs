//! Organiser pages for meetings: the list, creating and editing a meeting
//! (details, tracks and the programme, item by item, reordered with
//! buttons), and moving it through its life. Every change needs the CSRF
//! token and a role that may write, and leaves an audit entry.

mod form;
mod invitations;
mod materials;

pub use materials::upload_router;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use self::form::{DetailsForm, ItemForm};
use crate::domain::{MeetingFormat, MeetingId, MeetingStatus};
use crate::forum::{self, ForumError, Refusal};
use crate::i18n::{Lang, Texts};
use crate::store::audit::record_on_meeting;
use crate::store::db_time;
use crate::store::meetings::{Meeting, MeetingFilter, replace_programme};
use crate::web::auth::Organiser;
use crate::web::extract::{OrganiserForm, Path};
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the meeting pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/meetings", get(list))
        .route("/admin/meetings/new", get(new_page).post(create))
        .route("/admin/meetings/{id}", get(edit_page).post(save))
        .route("/admin/meetings/{id}/status", post(change_status))
        .route("/admin/meetings/{id}/programme", post(add_item))
        .route("/admin/meetings/{id}/programme/{index}", post(change_item))
        .merge(invitations::router())
        .merge(materials::router())
}

/// What the meeting use cases refuse, by the field of the details form it
/// concerns; anything else is passed on.
pub(crate) fn form_errors(e: ForumError, lang: Lang) -> Result<Errors> {
    match e {
        ForumError::Refused(Refusal::Broken(broken)) => {
            Ok(broken.into_iter().map(|(f, rule)| (form::form_field(f), lang.broken(rule))).collect())
        }
        ForumError::Refused(Refusal::NumberTaken) => Ok(vec![(
            "number".into(),
            lang.pick("Et andet møde har dette nummer.", "Another meeting has this number.").into(),
        )]),
        ForumError::Refused(Refusal::TrackInUse(k)) => Ok(vec![(
            "tracks".into(),
            match lang {
                Lang::Da => format!("Sporet {k} bruges i programmet; flyt punkterne først."),
                Lang::En => format!("The track {k} is used in the programme; move its items first."),
            },
        )]),
        other => Err(other.into()),
    }
}

/// A page's field errors: (field id, message).
type Errors = Vec<(String, String)>;

fn error_of<'a>(errors: &'a Errors, field: &str) -> Option<&'a str> {
    errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
}

/// A meeting in the organiser's list.
struct Row {
    id: String,
    number: Option<i32>,
    title: String,
    date: String,
    status: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/meetings.html")]
struct ListPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    can_write: bool,
    rows: Vec<Row>,
}

impl ListPage {
    const fn l(&self, da: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(da, en)
    }
}

async fn list(State(state): State<AppState>, ctx: Ctx, organiser: Organiser) -> Result<ListPage> {
    let meetings = state.store.meetings(MeetingFilter::default()).await?;
    Ok(ListPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        path: ctx.path,
        can_write: organiser.user.role.can_write(),
        rows: meetings
            .iter()
            .map(|m| Row {
                id: m.id.to_string(),
                number: m.number,
                title: m.title.clone(),
                date: ctx.lang.date(m.starts_at),
                status: ctx.lang.status(m.status),
            })
            .collect(),
    })
}

/// A programme item as the edit page lists it.
struct ItemRow {
    time: String,
    title: String,
    speakers: String,
    track: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/meeting.html")]
struct MeetingPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    csrf: String,
    can_write: bool,
    /// `None` on the page that creates a meeting.
    id: Option<String>,
    status: &'static str,
    /// The meeting's version, so that a stale programme form is refused.
    version: i64,
    details: DetailsForm,
    /// The meeting formats as (value, label).
    formats: [(&'static str, &'static str); 3],
    items: Vec<ItemRow>,
    /// The tracks as (key, title), for the item form.
    tracks: Vec<(String, String)>,
    /// The item being edited (its index), or `None` when adding one.
    editing: Option<usize>,
    item: ItemForm,
    /// The status changes allowed now: (target, button label).
    moves: Vec<(&'static str, &'static str)>,
    /// The meeting's files as (id, name, size in kB).
    materials: Vec<(String, String, i64)>,
    errors: Errors,
    notice: Option<&'static str>,
}

impl MeetingPage {
    const fn l(&self, da: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(da, en)
    }

    fn error(&self, field: &str) -> Option<&str> {
        error_of(&self.errors, field)
    }

    fn new(ctx: &Ctx, organiser: &Organiser, m: Option<&Meeting>) -> Self {
        let lang = ctx.lang;
        let moves = m.map_or_else(Vec::new, |m| {
            [
                (MeetingStatus::Published, lang.pick("Offentliggør", "Publish")),
                (MeetingStatus::Closed, lang.pick("Luk for tilmelding", "Close registration")),
                (MeetingStatus::Held, lang.pick("Markér som afholdt", "Mark as held")),
                (MeetingStatus::Archived, lang.pick("Arkivér", "Archive")),
                (MeetingStatus::Cancelled, lang.pick("Aflys mødet", "Cancel the meeting")),
            ]
            .into_iter()
            .filter(|(to, _)| m.status.may_become(*to))
            .map(|(to, label)| (to.as_str(), label))
            .collect()
        });
        Self {
            lang,
            t: lang.texts(),
            path: ctx.path.clone(),
            csrf: organiser.csrf.clone(),
            can_write: organiser.user.role.can_write(),
            id: m.map(|m| m.id.to_string()),
            status: m.map_or("", |m| lang.status(m.status)),
            version: m.map_or(0, |m| db_time(m.updated_at)),
            details: m.map(DetailsForm::from_meeting).unwrap_or_default(),
            formats: [MeetingFormat::Physical, MeetingFormat::Virtual, MeetingFormat::Hybrid]
                .map(|f| (f.as_str(), lang.format(f))),
            items: m.map_or_else(Vec::new, |m| {
                m.programme
                    .iter()
                    .map(|p| ItemRow {
                        time: p.starts_at.map(|t| lang.time(t)).unwrap_or_default(),
                        title: p.title.clone(),
                        speakers: p
                            .speakers
                            .iter()
                            .map(|s| {
                                if s.organisation.is_empty() {
                                    s.name.clone()
                                } else {
                                    format!("{} ({})", s.name, s.organisation)
                                }
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                        track: p
                            .track
                            .as_ref()
                            .and_then(|k| m.tracks.iter().find(|t| &t.key == k))
                            .map(|t| t.title.clone())
                            .unwrap_or_default(),
                    })
                    .collect()
            }),
            tracks: m.map_or_else(Vec::new, |m| m.tracks.iter().map(|t| (t.key.clone(), t.title.clone())).collect()),
            editing: None,
            item: ItemForm::default(),
            moves,
            materials: Vec::new(),
            errors: Vec::new(),
            notice: None,
        }
    }
}

/// The edit page of a meeting, with its files.
async fn page_for(state: &AppState, ctx: &Ctx, organiser: &Organiser, m: &Meeting) -> Result<MeetingPage> {
    let mut page = MeetingPage::new(ctx, organiser, Some(m));
    page.materials = state
        .store
        .materials(m.id)
        .await?
        .into_iter()
        .map(|f| (f.id.to_string(), f.filename, (f.size + 1023) / 1024))
        .collect();
    Ok(page)
}

async fn new_page(ctx: Ctx, organiser: Organiser) -> MeetingPage {
    MeetingPage::new(&ctx, &organiser, None)
}

fn invalid(page: MeetingPage) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let details = DetailsForm::read(&fields);
    let new = match details.parse(ctx.lang, MeetingStatus::Draft) {
        Ok(p) => p.into_new(),
        Err(errors) => {
            let mut page = MeetingPage::new(&ctx, &organiser, None);
            page.details = details;
            page.errors = errors;
            return Ok(invalid(page));
        }
    };
    let id = match forum::meetings::create(&state.forum, &organiser.actor(), &new).await {
        Ok(id) => id,
        Err(e) => {
            let mut page = MeetingPage::new(&ctx, &organiser, None);
            page.details = details;
            page.errors = form_errors(e, ctx.lang)?;
            return Ok(invalid(page));
        }
    };
    Ok(Redirect::to(&format!("/admin/meetings/{id}")).into_response())
}

#[derive(Deserialize)]
struct EditQuery {
    /// The programme item to edit.
    item: Option<usize>,
    /// What was just done, to confirm it.
    done: Option<String>,
}

async fn edit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path(id): Path<MeetingId>,
    Query(q): Query<EditQuery>,
) -> Result<MeetingPage> {
    let m = state.store.meeting(id).await?;
    let mut page = page_for(&state, &ctx, &organiser, &m).await?;
    if let Some(i) = q.item.filter(|i| *i < m.programme.len()) {
        page.editing = Some(i);
        page.item = ItemForm::from_item(&m.programme[i]);
    }
    page.notice = q.done.as_deref().map(|d| match d {
        "status" => ctx.lang.pick("Mødets status er ændret.", "The meeting's status has changed."),
        "programme" => ctx.lang.pick("Programmet er gemt.", "The programme is saved."),
        "material" => ctx.lang.pick("Materialerne er opdateret.", "The materials are updated."),
        _ => ctx.lang.pick("Ændringerne er gemt.", "The changes are saved."),
    });
    Ok(page)
}

/// Saves the details form through [`forum::meetings::update`], showing what
/// it refuses by the field.
async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<MeetingId>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let seen = state.store.meeting(id).await?;
    let details = DetailsForm::read(&fields);
    let parsed = match details.parse(ctx.lang, seen.status) {
        Ok(p) => p,
        Err(errors) => {
            let mut page = page_for(&state, &ctx, &organiser, &seen).await?;
            page.details = details;
            page.errors = errors;
            return Ok(invalid(page));
        }
    };
    if let Err(e) = forum::meetings::update(&state.forum, &organiser.actor(), &seen, parsed.apply(&seen)).await {
        let mut page = page_for(&state, &ctx, &organiser, &seen).await?;
        page.details = details;
        page.errors = form_errors(e, ctx.lang)?;
        return Ok(invalid(page));
    }
    Ok(Redirect::to(&format!("/admin/meetings/{id}?done=saved")).into_response())
}

/// Moves the meeting through its life; a draft that is not complete enough
/// to go public comes back with the message by the field that lacks.
async fn change_status(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<MeetingId>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let to = MeetingStatus::parse(fields.get("to")).map_err(|e| Error::invalid("to", e))?;
    match forum::meetings::transition(&state.forum, &organiser.actor(), id, to).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/meetings/{id}?done=status")).into_response()),
        Err(e @ ForumError::Refused(Refusal::Broken(_))) => {
            let mut page = page_for(&state, &ctx, &organiser, &state.store.meeting(id).await?).await?;
            page.errors = form_errors(e, ctx.lang)?;
            Ok(invalid(page))
        }
        Err(e) => Err(e.into()),
    }
}

/// Saves a new programme, refusing a form made from an older version.
async fn save_programme(
    state: &AppState,
    organiser: &Organiser,
    m: &Meeting,
    version: &str,
    items: &[crate::store::meetings::ProgrammeItem],
    detail: &str,
) -> Result<Response> {
    let refused = || Error::Conflict("the programme changed meanwhile; reload the page and retry".into());
    if version.parse::<i64>().ok() != Some(db_time(m.updated_at)) {
        return Err(refused());
    }
    let mut tx = state.store.begin().await?;
    if !replace_programme(&mut tx, m.id, m.updated_at, items).await? {
        return Err(refused());
    }
    record_on_meeting(&mut tx, &organiser.actor(), "meeting.programme", m.id, detail, i64::try_from(items.len()).ok())
        .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/meetings/{}?done=programme#programme", m.id)).into_response())
}

async fn add_item(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<MeetingId>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let m = state.store.meeting(id).await?;
    let form = ItemForm::read(&fields);
    let item = match form.parse(&m, ctx.lang) {
        Ok(item) => item,
        Err(errors) => {
            let mut page = page_for(&state, &ctx, &organiser, &m).await?;
            page.item = form;
            page.errors = errors;
            return Ok(invalid(page));
        }
    };
    let mut items = m.programme.clone();
    let title = item.title.clone();
    items.push(item);
    save_programme(&state, &organiser, &m, fields.get("version"), &items, &format!("add: {title}")).await
}

async fn change_item(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, index)): Path<(MeetingId, usize)>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let m = state.store.meeting(id).await?;
    if index >= m.programme.len() {
        return Err(Error::NotFound);
    }
    let mut items = m.programme.clone();
    let action = fields.get("action");
    match action {
        "up" if index > 0 => items.swap(index, index - 1),
        "down" if index + 1 < items.len() => items.swap(index, index + 1),
        "up" | "down" => {}
        "remove" => {
            items.remove(index);
        }
        "save" => {
            let form = ItemForm::read(&fields);
            match form.parse(&m, ctx.lang) {
                Ok(item) => items[index] = item,
                Err(errors) => {
                    let mut page = page_for(&state, &ctx, &organiser, &m).await?;
                    page.editing = Some(index);
                    page.item = form;
                    page.errors = errors;
                    return Ok(invalid(page));
                }
            }
        }
        _ => return Err(Error::BadRequest("action: must be up, down, remove or save".into())),
    }
    let detail = format!("{action}: {}", m.programme[index].title);
    save_programme(&state, &organiser, &m, fields.get("version"), &items, &detail).await
}
