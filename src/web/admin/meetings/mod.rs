//! Organiser pages for meetings: the list, creating and editing a meeting
//! (details, tracks and the programme, item by item, reordered with
//! buttons), and moving it through its life — and back, when it was marked
//! held or closed by mistake — and copying it as the start of the next one.
//! Publishing, cancelling, marking as held, reopening, archiving and removing
//! a programme item or a file each ask first, on the same page, what they
//! will do ([`ConfirmStep`]); only the confirmation does it. Every change needs
//! the CSRF token and a role that may write, and leaves an audit entry.

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
use super::confirm::{ConfirmStep, ConfirmTexts, NoteField, listed};
use crate::domain::{MeetingFormat, MeetingId, MeetingStatus, Note};
use crate::forum::{self, ForumError, Refusal};
use crate::i18n::{Lang, Texts};
use crate::store::audit::record_on_meeting;
use crate::store::campaigns::RegisteredCounts;
use crate::store::meetings::{Meeting, MeetingFilter, ProgrammeItem, replace_programme};
use crate::store::{db_time, now};
use crate::web::auth::Organiser;
use crate::web::auth::{Need, needs};
use crate::web::extract::{MeetingForm, OrganiserForm, OrganiserMeeting, Path};
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the meeting pages.
pub fn router() -> Router<AppState> {
    needs(Need::Read, Router::new().route("/admin/meetings", get(list)).route("/admin/meetings/{id}", get(edit_page)))
        .merge(needs(
            Need::Write,
            Router::new()
                .route("/admin/meetings/new", get(new_page).post(create))
                .route("/admin/meetings/{id}", post(save))
                .route("/admin/meetings/{id}/status", post(change_status))
                .route("/admin/meetings/{id}/reopen", post(reopen))
                .route("/admin/meetings/{id}/copy", post(copy))
                .route("/admin/meetings/{id}/programme", post(add_item))
                .route("/admin/meetings/{id}/programme/{index}", post(change_item)),
        ))
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

/// A button that ends the meeting's run (held, cancelled), asked before done.
struct Closing {
    to: &'static str,
    /// The button's id, which its messages are tied to.
    id: String,
    label: &'static str,
    /// Why it may not be pressed yet (held before the start).
    hint: Option<String>,
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
    /// The status changes allowed now that need no confirmation: (target,
    /// button label).
    moves: Vec<(&'static str, &'static str)>,
    /// The label of the button that undoes "held" or "closed".
    reopen: Option<&'static str>,
    /// Marking as held and cancelling, when allowed, apart from the rest.
    closing: Vec<Closing>,
    /// The act the organiser is asked to confirm.
    confirm: Option<ConfirmStep>,
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
        let allowed = |moves: &[(MeetingStatus, &'static str)]| -> Vec<(MeetingStatus, &'static str)> {
            moves.iter().copied().filter(|(to, _)| m.is_some_and(|m| m.status.may_become(*to))).collect()
        };
        let moves = allowed(&[
            (MeetingStatus::Published, lang.pick("Offentliggør", "Publish")),
            (MeetingStatus::Closed, lang.pick("Luk for tilmelding", "Close registration")),
            (MeetingStatus::Archived, lang.pick("Arkivér", "Archive")),
        ]);
        let closing = allowed(&[
            (MeetingStatus::Held, lang.pick("Markér som afholdt …", "Mark as held …")),
            (MeetingStatus::Cancelled, lang.pick("Aflys mødet …", "Cancel the meeting …")),
        ]);
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
            items: m.map_or_else(Vec::new, |m| m.programme.iter().map(|p| ItemRow::of(m, p, lang)).collect()),
            tracks: m.map_or_else(Vec::new, |m| m.tracks.iter().map(|t| (t.key.clone(), t.title.clone())).collect()),
            editing: None,
            item: ItemForm::default(),
            moves: moves.into_iter().map(|(to, label)| (to.as_str(), label)).collect(),
            reopen: m.and_then(|m| reopen_label(m, lang)),
            closing: closing.into_iter().map(|(to, label)| Closing::new(m, to, label, lang)).collect(),
            confirm: None,
            materials: Vec::new(),
            errors: Vec::new(),
            notice: None,
        }
    }
}

impl ItemRow {
    /// Programme item `p` of `m` as the edit page lists it.
    fn of(m: &Meeting, p: &ProgrammeItem, lang: Lang) -> Self {
        Self {
            time: p.starts_at.map(|t| lang.time(t)).unwrap_or_default(),
            title: p.title.clone(),
            speakers: p
                .speakers
                .iter()
                .map(|s| {
                    if s.organisation.is_empty() { s.name.clone() } else { format!("{} ({})", s.name, s.organisation) }
                })
                .collect::<Vec<_>>()
                .join("; "),
            track: p
                .track
                .as_ref()
                .and_then(|k| m.tracks.iter().find(|t| &t.key == k))
                .map(|t| t.title.clone())
                .unwrap_or_default(),
        }
    }
}

impl Closing {
    /// The button that moves `m` to `to`, saying why it may not be pressed
    /// yet when the meeting has not begun.
    fn new(m: Option<&Meeting>, to: MeetingStatus, label: &'static str, lang: Lang) -> Self {
        Self {
            to: to.as_str(),
            id: format!("status-{to}"),
            label,
            hint: m.filter(|m| to == MeetingStatus::Held && now() < m.starts_at).map(|m| {
                let at = format!("{}, {}", lang.date(m.starts_at), lang.time(m.starts_at));
                match lang {
                    Lang::Da => format!("Kan markeres som afholdt, når mødet er begyndt: {at}."),
                    Lang::En => format!("Can be marked as held once the meeting has begun: {at}."),
                }
            }),
        }
    }
}

/// The label of the button that undoes "held" or "closed" on `m`, if either.
const fn reopen_label(m: &Meeting, lang: Lang) -> Option<&'static str> {
    match m.status {
        MeetingStatus::Held => {
            Some(lang.pick("Genåbn mødet (markeret som afholdt ved en fejl)", "Reopen (marked as held by mistake)"))
        }
        MeetingStatus::Closed => Some(lang.pick("Åbn for tilmelding igen", "Open registration again")),
        _ => None,
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

/// `page` with the details form as typed and what was refused in it.
fn invalid_details(mut page: MeetingPage, details: DetailsForm, errors: Errors) -> Response {
    page.details = details;
    page.errors = errors;
    invalid(page)
}

/// `page` with the item form as typed (editing item `editing`, or adding
/// one) and what was refused in it.
fn invalid_item(mut page: MeetingPage, editing: Option<usize>, item: ItemForm, errors: Errors) -> Response {
    page.editing = editing;
    page.item = item;
    page.errors = errors;
    invalid(page)
}

/// The edit page of `m` asking to confirm `step`.
async fn asking(
    state: &AppState,
    ctx: &Ctx,
    organiser: &Organiser,
    m: &Meeting,
    step: ConfirmStep,
) -> Result<Response> {
    let mut page = page_for(state, ctx, organiser, m).await?;
    page.confirm = Some(step);
    Ok(page.into_response())
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let details = DetailsForm::read(&fields);
    let page = || MeetingPage::new(&ctx, &organiser, None);
    let new = match details.parse(ctx.lang, MeetingStatus::Draft) {
        Ok(p) => p.into_new(),
        Err(errors) => return Ok(invalid_details(page(), details, errors)),
    };
    let id = match forum::meetings::create(&state.forum, &organiser.actor(), &new).await {
        Ok(id) => id,
        Err(e) => return Ok(invalid_details(page(), details, form_errors(e, ctx.lang)?)),
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
    OrganiserMeeting { organiser, meeting: m }: OrganiserMeeting,
    Query(q): Query<EditQuery>,
) -> Result<MeetingPage> {
    let mut page = page_for(&state, &ctx, &organiser, &m).await?;
    if let Some(i) = q.item.filter(|i| *i < m.programme.len()) {
        page.editing = Some(i);
        page.item = ItemForm::from_item(&m.programme[i]);
    }
    page.notice = q.done.as_deref().map(|d| done_notice(ctx.lang, d));
    Ok(page)
}

/// The notice after a change, named by the redirect's `done`.
fn done_notice(lang: Lang, done: &str) -> &'static str {
    match done {
        "status" => lang.pick("Mødets status er ændret.", "The meeting's status has changed."),
        "cancelled" => lang.pick(
            "Mødet er aflyst. Aflysningen sendes nu til de tilmeldte og inviterede.",
            "The meeting is cancelled. The cancellation is being sent to those registered and invited.",
        ),
        "held" => lang.pick("Mødet er markeret som afholdt.", "The meeting is marked as held."),
        "reopened" => lang.pick("Mødet er genåbnet.", "The meeting is reopened."),
        "copied" => lang.pick(
            "Dette er en kopi, gemt som kladde. Programmet, sporene, teksterne og spørgeskemaet er med, men ingen tilmeldinger. Tidspunkterne er flyttet hele uger frem: ret titlen og datoerne, før mødet offentliggøres.",
            "This is a copy, saved as a draft. The programme, tracks, texts and questionnaire came along, but no registrations. The times moved on by whole weeks: set the title and the dates before the meeting is published.",
        ),
        "programme" => lang.pick("Programmet er gemt.", "The programme is saved."),
        "material" => lang.pick("Materialerne er opdateret.", "The materials are updated."),
        _ => lang.pick("Ændringerne er gemt.", "The changes are saved."),
    }
}

/// Saves the details form through [`forum::meetings::update`], showing what
/// it refuses by the field.
async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting: seen, organiser, fields }: MeetingForm,
) -> Result<Response> {
    let details = DetailsForm::read(&fields);
    let parsed = match details.parse(ctx.lang, seen.status) {
        Ok(p) => p,
        Err(errors) => return Ok(invalid_details(page_for(&state, &ctx, &organiser, &seen).await?, details, errors)),
    };
    if let Err(e) = forum::meetings::update(&state.forum, &organiser.actor(), &seen, parsed.apply(&seen)).await {
        let errors = form_errors(e, ctx.lang)?;
        return Ok(invalid_details(page_for(&state, &ctx, &organiser, &seen).await?, details, errors));
    }
    Ok(Redirect::to(&format!("/admin/meetings/{}?done=saved", seen.id)).into_response())
}

/// Moves the meeting through its life; a draft that is not complete enough
/// to go public comes back with the message by the field that lacks.
/// Marking as held and cancelling first show what they will do and act only
/// on the confirmation; held before the start is refused by its button.
async fn change_status(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting: m, organiser, fields }: MeetingForm,
) -> Result<Response> {
    let to = MeetingStatus::parse(fields.get("to")).map_err(|e| Error::invalid("to", e))?;
    let id = m.id;
    match forum::meetings::may_move(&m, to) {
        Ok(()) => {}
        Err(Refusal::NotStarted { starts_at }) => {
            let mut page = page_for(&state, &ctx, &organiser, &m).await?;
            page.errors = vec![(format!("status-{to}"), not_started(ctx.lang, starts_at))];
            return Ok((StatusCode::CONFLICT, page).into_response());
        }
        Err(refusal) => return Err(ForumError::Refused(refusal).into()),
    }
    if to == MeetingStatus::Cancelled {
        return cancel(&state, &ctx, &organiser, &m, &fields).await;
    }
    if fields.get("confirm") != "yes"
        && let Some(asked) = ask_first(&state, &ctx, &organiser, &m, to).await?
    {
        return Ok(asked);
    }
    match forum::meetings::transition(&state.forum, &organiser.actor(), id, to).await {
        Ok(_) => {
            let done = if to == MeetingStatus::Held { "held" } else { "status" };
            Ok(Redirect::to(&format!("/admin/meetings/{id}?done={done}")).into_response())
        }
        Err(e @ ForumError::Refused(Refusal::Broken(_))) => {
            let mut page = page_for(&state, &ctx, &organiser, &state.store.meeting(id).await?).await?;
            page.errors = form_errors(e, ctx.lang)?;
            Ok(invalid(page))
        }
        Err(e) => Err(e.into()),
    }
}

/// The confirm step a move to `to` asks for first (held, published,
/// archived) — or what keeps `m` from going public — or `None` when the move
/// needs none.
async fn ask_first(
    state: &AppState,
    ctx: &Ctx,
    organiser: &Organiser,
    m: &Meeting,
    to: MeetingStatus,
) -> Result<Option<Response>> {
    let (lang, action) = (ctx.lang, format!("/admin/meetings/{}/status", m.id));
    let step = match to {
        MeetingStatus::Held => held_step(lang, m.id, action),
        MeetingStatus::Published | MeetingStatus::Archived => {
            if let Err(e) = forum::meetings::ready_for(m, to) {
                let mut page = page_for(state, ctx, organiser, m).await?;
                page.errors = form_errors(e, lang)?;
                return Ok(Some(invalid(page)));
            }
            move_step(lang, m, to, action)
        }
        _ => return Ok(None),
    };
    asking(state, ctx, organiser, m, step).await.map(Some)
}

/// "23 tilmeldte, 4 på ventelisten og 2 inviterede uden svar": who hears
/// of a change to the meeting.
fn who_hears(lang: Lang, c: RegisteredCounts) -> String {
    let mut parts = Vec::new();
    let mut part = |n: i64, da: (&str, &str), en: (&str, &str)| {
        if n > 0 {
            let (one, many) = match lang {
                Lang::Da => da,
                Lang::En => en,
            };
            parts.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    };
    part(c.attending, ("tilmeldt", "tilmeldte"), ("attendee", "attendees"));
    part(c.waitlisted, ("på ventelisten", "på ventelisten"), ("on the waiting list", "on the waiting list"));
    part(
        c.invited,
        ("inviteret uden svar", "inviterede uden svar"),
        ("invited person who has not answered", "invited people who have not answered"),
    );
    listed(lang, &parts)
}

/// Cancelling: first what it will do and to whom, with a field for the
/// organisers' word in the mail; then, once confirmed with the same numbers,
/// the cancellation itself.
async fn cancel(
    state: &AppState,
    ctx: &Ctx,
    organiser: &Organiser,
    m: &Meeting,
    fields: &crate::web::extract::Fields,
) -> Result<Response> {
    let lang = ctx.lang;
    let counts = state.store.registered_counts(m.id).await?;
    let key = format!("{}.{}.{}", counts.attending, counts.waitlisted, counts.invited);
    let note = Note::parse(fields.get("message"));
    let confirmed = fields.get("confirm") == "yes";
    let changed = confirmed && fields.get("key") != key;
    if let (true, false, Ok(note)) = (confirmed, changed, &note) {
        forum::meetings::cancel(&state.forum, &organiser.actor(), m.id, note).await?;
        return Ok(Redirect::to(&format!("/admin/meetings/{}?done=cancelled", m.id)).into_response());
    }
    let error = note.as_ref().err().map(|e| lang.refused(*e));
    let step = cancel_step(lang, m, counts, key, fields.get("message"), error.clone());
    let mut page = page_for(state, ctx, organiser, m).await?;
    page.confirm = Some(step);
    if let Some(e) = error {
        page.errors = vec![("message".into(), e)];
        return Ok(invalid(page));
    }
    if changed {
        page.notice = Some(ConfirmTexts::get(lang).changed);
    }
    Ok(page.into_response())
}

/// Asks to confirm the removal of programme item `index` of `m`, unless the
/// page was out of date (`version`).
async fn confirm_removal(
    state: &AppState,
    ctx: &Ctx,
    organiser: &Organiser,
    m: &Meeting,
    index: usize,
    version: &str,
) -> Result<Response> {
    if version.parse::<i64>().ok() != Some(db_time(m.updated_at)) {
        return Err(stale());
    }
    asking(state, ctx, organiser, m, remove_item_step(ctx.lang, m, index, version)).await
}

/// The confirm step of removing programme item `index` of `m`, as of `version`.
fn remove_item_step(lang: Lang, m: &Meeting, index: usize, version: &str) -> ConfirmStep {
    let (id, item) = (m.id, &m.programme[index]);
    let title = match item.starts_at {
        Some(t) => format!("«{}» ({})", item.title, lang.time(t)),
        None => format!("«{}»", item.title),
    };
    let what = vec![match lang {
        Lang::Da => format!("Punktet {title} fjernes fra programmet, også på mødets offentlige side."),
        Lang::En => format!("The item {title} is removed from the programme, on the meeting's public page too."),
    }];
    let heading = lang.pick("Fjern punktet fra programmet?", "Remove the item from the programme?");
    let button = lang.pick("Ja, fjern punktet", "Yes, remove the item");
    ConfirmStep::new(lang, heading, what, format!("/admin/meetings/{id}/programme/{index}"), button)
        .with(vec![("action", "remove".to_owned()), ("version", version.to_owned())])
        .back_to(format!("/admin/meetings/{id}#programme"))
}

/// Why a meeting cannot be marked as held yet.
fn not_started(lang: Lang, starts_at: crate::domain::Timestamp) -> String {
    let at = format!("{}, {}", lang.date(starts_at), lang.time(starts_at));
    match lang {
        Lang::Da => format!("Mødet er ikke begyndt endnu. Det kan markeres som afholdt fra {at}."),
        Lang::En => format!("The meeting has not begun yet. It can be marked as held from {at}."),
    }
}

/// The confirm step of marking meeting `id` as held.
fn held_step(lang: Lang, id: MeetingId, action: String) -> ConfirmStep {
    let what = vec![
        lang.pick(
            "Mødet markeres som afholdt. Tilmeldingen lukker, og mødets materialer og de deltagende organisationer vises på den offentlige side. Ingen får en mail.",
            "The meeting is marked as held. Registration closes, and the meeting's materials and the organisations that took part are shown on the public page. Nobody is mailed.",
        )
        .to_owned(),
        lang.pick("Er det en fejl, kan mødet genåbnes bagefter.", "Should it be a mistake, the meeting can be reopened afterwards.")
            .to_owned(),
    ];
    let heading = lang.pick("Markér mødet som afholdt?", "Mark the meeting as held?");
    let button = lang.pick("Ja, markér som afholdt", "Yes, mark as held");
    ConfirmStep::new(lang, heading, what, action, button)
        .with(vec![("to", MeetingStatus::Held.as_str().to_owned())])
        .back_to(format!("/admin/meetings/{id}"))
}

/// The confirm step of a cancellation: who will hear of it, that it cannot
/// be undone, and the optional message for the mail.
fn cancel_step(
    lang: Lang,
    m: &Meeting,
    counts: RegisteredCounts,
    key: String,
    message: &str,
    error: Option<String>,
) -> ConfirmStep {
    let mut what = vec![if counts.total() == 0 {
        lang.pick(
            "Mødet aflyses. Ingen er tilmeldt eller inviteret, så ingen får en mail.",
            "The meeting is cancelled. Nobody is registered or invited, so nobody is mailed.",
        )
        .to_owned()
    } else {
        let who = who_hears(lang, counts);
        match lang {
            Lang::Da => format!(
                "Mødet aflyses. {who} får en mail om aflysningen med en kalenderpost, der fjerner mødet fra kalenderen."
            ),
            Lang::En => format!(
                "The meeting is cancelled. {who} will get a mail about the cancellation, with a calendar entry that takes the meeting out of their calendar."
            ),
        }
    }];
    what.push(lang.pick("En aflysning kan ikke fortrydes.", "A cancellation cannot be undone.").to_owned());
    let heading = lang.pick("Aflys mødet?", "Cancel the meeting?");
    let button = lang.pick("Ja, aflys mødet", "Yes, cancel the meeting");
    let mut step = ConfirmStep::new(lang, heading, what, format!("/admin/meetings/{}/status", m.id), button)
        .with(vec![("to", "cancelled".to_owned()), ("key", key)])
        .back_to(format!("/admin/meetings/{}", m.id));
    step.note = Some(NoteField {
        label: lang.pick("Besked med i mailen (valgfri)", "Message in the mail (optional)"),
        hint: lang.pick(
            "Almindelig tekst, højst 1.000 tegn. Står under aflysningen i mailen til alle, der får den.",
            "Plain text, at most 1,000 characters. It follows the cancellation in the mail to everyone who gets it.",
        ),
        value: message.to_owned(),
        error,
    });
    step
}

/// Undoes "held" or "closed" set by mistake, through
/// [`forum::meetings::reopen`], once the organiser has confirmed where it
/// goes back to.
async fn reopen(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<MeetingId>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    if fields.get("confirm") != "yes" {
        let m = state.store.meeting(id).await?;
        let Some(to) = forum::meetings::reopens_to(&m) else {
            return Err(ForumError::Refused(Refusal::Transition { from: m.status, to: MeetingStatus::Open }).into());
        };
        return asking(&state, &ctx, &organiser, &m, reopen_step(ctx.lang, &m, to)).await;
    }
    forum::meetings::reopen(&state.forum, &organiser.actor(), id).await?;
    Ok(Redirect::to(&format!("/admin/meetings/{id}?done=reopened")).into_response())
}

/// Copies the meeting as the start of the next one, through
/// [`forum::meetings::copy`], and opens the copy.
async fn copy(
    State(state): State<AppState>,
    Path(id): Path<MeetingId>,
    OrganiserForm { organiser, .. }: OrganiserForm,
) -> Result<Response> {
    let copy = forum::meetings::copy(&state.forum, &organiser.actor(), id).await?;
    Ok(Redirect::to(&format!("/admin/meetings/{copy}?done=copied")).into_response())
}

/// The confirm step of publishing or archiving `m`: what changes, and that
/// nobody is mailed.
fn move_step(lang: Lang, m: &Meeting, to: MeetingStatus, action: String) -> ConfirmStep {
    let (heading, what, button) = if to == MeetingStatus::Published {
        let at = format!("{} {}", lang.date(m.starts_at), lang.time(m.starts_at));
        let what = match lang {
            Lang::Da => vec![
                format!(
                    "«{}» den {at} vises på de offentlige sider for alle, og der kan inviteres til mødet og svares på invitationerne.",
                    m.title
                ),
                "Ingen får en mail nu; invitationer sendes fra siden Invitationer.".to_owned(),
            ],
            Lang::En => vec![
                format!(
                    "«{}» on {at} is shown on the public pages to everyone, and people can be invited and answer.",
                    m.title
                ),
                "Nobody is mailed now; invitations are sent from the Invitations page.".to_owned(),
            ],
        };
        (
            lang.pick("Offentliggør mødet?", "Publish the meeting?"),
            what,
            lang.pick("Ja, offentliggør mødet", "Yes, publish the meeting"),
        )
    } else {
        let what = vec![
            lang.pick(
                "Mødet arkiveres. Den offentlige side viser det fortsat som afholdt, med materialer og referat.",
                "The meeting is archived. The public page still shows it as held, with its materials and report.",
            )
            .to_owned(),
            lang.pick(
                "Et arkiveret møde kan ikke genåbnes eller skifte status igen. Ingen får en mail.",
                "An archived meeting cannot be reopened or change its status again. Nobody is mailed.",
            )
            .to_owned(),
        ];
        (
            lang.pick("Arkivér mødet?", "Archive the meeting?"),
            what,
            lang.pick("Ja, arkivér mødet", "Yes, archive the meeting"),
        )
    };
    ConfirmStep::new(lang, heading, what, action, button)
        .with(vec![("to", to.as_str().to_owned())])
        .back_to(format!("/admin/meetings/{}", m.id))
}

/// The confirm step of reopening `m`, which goes back to `to`.
fn reopen_step(lang: Lang, m: &Meeting, to: MeetingStatus) -> ConfirmStep {
    let mut what = vec![if to == MeetingStatus::Open {
        let until = m.registration_deadline.unwrap_or(m.starts_at);
        let at = format!("{} {}", lang.date(until), lang.time(until));
        match lang {
            Lang::Da => format!(
                "Mødet åbner for tilmelding igen: de inviterede kan svare indtil {at}, og de tilmeldte beholder deres pladser."
            ),
            Lang::En => format!(
                "The meeting opens for registration again: those invited can answer until {at}, and those registered keep their seats."
            ),
        }
    } else {
        lang.pick(
            "Mødet går tilbage til «lukket for tilmelding»: de tilmeldte beholder deres pladser, og ingen nye svar tages imod.",
            "The meeting goes back to \"registration closed\": those registered keep their seats, and no new answers are taken.",
        )
        .to_owned()
    }];
    what.push(lang.pick("Ingen får en mail.", "Nobody is mailed.").to_owned());
    let heading = lang.pick("Genåbn mødet?", "Reopen the meeting?");
    let button = lang.pick("Ja, genåbn mødet", "Yes, reopen the meeting");
    ConfirmStep::new(lang, heading, what, format!("/admin/meetings/{}/reopen", m.id), button)
        .back_to(format!("/admin/meetings/{}", m.id))
}

/// What a programme form made from an older version of the meeting gets.
fn stale() -> Error {
    Error::Conflict("the programme changed meanwhile; reload the page and retry".into())
}

/// Saves a new programme, refusing a form made from an older version.
async fn save_programme(
    state: &AppState,
    organiser: &Organiser,
    m: &Meeting,
    version: &str,
    items: &[ProgrammeItem],
    detail: &str,
) -> Result<Response> {
    let refused = stale;
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
    MeetingForm { meeting: m, organiser, fields }: MeetingForm,
) -> Result<Response> {
    let form = ItemForm::read(&fields);
    let item = match form.parse(&m, ctx.lang) {
        Ok(item) => item,
        Err(errors) => return Ok(invalid_item(page_for(&state, &ctx, &organiser, &m).await?, None, form, errors)),
    };
    let mut items = m.programme.clone();
    let title = item.title.clone();
    items.push(item);
    save_programme(&state, &organiser, &m, fields.get("version"), &items, &format!("add: {title}")).await
}

async fn change_item(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((_, index)): Path<(MeetingId, usize)>,
    MeetingForm { meeting: m, organiser, fields }: MeetingForm,
) -> Result<Response> {
    if index >= m.programme.len() {
        return Err(Error::NotFound);
    }
    let mut items = m.programme.clone();
    let action = fields.get("action");
    if action == "remove" && fields.get("confirm") != "yes" {
        return confirm_removal(&state, &ctx, &organiser, &m, index, fields.get("version")).await;
    }
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
                    let page = page_for(&state, &ctx, &organiser, &m).await?;
                    return Ok(invalid_item(page, Some(index), form, errors));
                }
            }
        }
        _ => return Err(Error::BadRequest("action: must be up, down, remove or save".into())),
    }
    let detail = format!("{action}: {}", m.programme[index].title);
    save_programme(&state, &organiser, &m, fields.get("version"), &items, &detail).await
}
