//! Organiser pages for people and organisations: searching the register,
//! adding a person by hand, importing a CSV file with its report line by
//! line, reading one person with their history (consents, registrations,
//! mail, bounces), editing and erasing them, and setting the CVR number of
//! an organisation. Every search is recorded in the audit log; every change
//! needs the CSRF token and a role that may write.

use askama::Template;
use askama_web::WebTemplate;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use uuid::Uuid;

use crate::domain::{Cvr, CvrError, Email, Note, OrganisationId, PersonId, PersonStatus, Timestamp};
use crate::forum::{ForumError, Refusal, list};
use crate::i18n::{Lang, Texts, texts};
use crate::store::audit::{self, Entry};
use crate::store::from_db_time;
use crate::store::organisations::{self, Organisation};
use crate::store::people::Interest;
use crate::store::subscribers::{AuditData, ConsentData, NewSubscriber, PersonalData, Subscriber, SubscriberFilter};
use crate::transfer::import::{ImportError, Report};
use crate::web::auth::Organiser;
use crate::web::auth::{Need, needs};
use crate::web::extract::{Fields, OrganiserForm, OrganiserUpload, Path, Upload};
use crate::web::forms::{InterestBox, PersonFields, boxes, changes, field_error, person_fields};
use crate::web::{AppState, Ctx, Error, Result};

/// Largest CSV file the import page takes, in bytes.
const IMPORT_MAX: usize = 20 * 1024 * 1024;

/// The import route, with room for a large list; merged outside the pages'
/// general body limit.
pub fn upload_router() -> Router<AppState> {
    let limit = IMPORT_MAX + 64 * 1024;
    needs(Need::Write, Router::new().route("/admin/people/import", post(import)))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, Duration::from_mins(5)))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(DefaultBodyLimit::max(limit))
}

/// Routes of the people and organisation pages.
pub fn router() -> Router<AppState> {
    needs(
        Need::Personal,
        Router::new()
            .route("/admin/people", get(list))
            .route("/admin/people/import", get(import_page))
            .route("/admin/people/{id}", get(detail)),
    )
    .merge(needs(Need::Read, Router::new().route("/admin/organisations", get(organisations_page))))
    .merge(needs(
        Need::Write,
        Router::new()
            .route("/admin/people/new", get(new_page).post(add))
            .route("/admin/people/{id}", post(save))
            .route("/admin/people/{id}/erase", post(erase))
            .route("/admin/organisations/{id}", post(set_cvr)),
    ))
}

texts! {
    /// The texts of the people and organisation pages.
    pub struct PeopleTexts {
        people_title => "Personer", "People";
        search => "Søg i navn, adresse eller organisation", "Search name, address or organisation";
        search_button => "Søg", "Search";
        any_status => "Alle", "Any";
        organisation => "Organisation", "Organisation";
        no_one => "Ingen personer passer til søgningen.", "Nobody matches the search.";
        next_page => "Næste side", "Next page";
        details => "Oplysninger", "Details";
        consents => "Samtykker", "Consents";
        registrations => "Tilmeldinger", "Registrations";
        purpose => "Formål", "Purpose";
        method => "Metode", "Method";
        given => "Givet", "Given";
        withdrawn => "Trukket tilbage", "Withdrawn";
        meeting => "Møde", "Meeting";
        edit => "Ret oplysninger", "Edit details";
        save => "Gem", "Save";
        saved => "Ændringerne er gemt.", "The changes are saved.";
        erase_heading => "Slet personen", "Erase this person";
        erase_warning => "Alle oplysninger om personen slettes for altid. Det kan ikke fortrydes.",
            "Everything held about the person is deleted for good. This cannot be undone.";
        erase_confirm => "Ja, slet alle oplysninger om personen", "Yes, erase everything about this person";
        erase_button => "Slet", "Erase";
        erase_confirm_required => "Sæt kryds for at bekræfte sletningen.", "Tick the box to confirm the erasure.";
        organisations_title => "Organisationer", "Organisations";
        contacts => "Kontakter", "Contacts";
        cvr => "CVR-nummer", "CVR number";
        cvr_hint => "8 cifre, fx 10150817. Lad feltet stå tomt for at fjerne nummeret.",
            "8 digits, e.g. 10150817. Leave it empty to remove the number.";
        cvr_format => "Et CVR-nummer har 8 cifre.", "A CVR number has 8 digits.";
        cvr_checksum => "Det er ikke et gyldigt CVR-nummer. Tjek cifrene.",
            "This is not a valid CVR number. Check the digits.";
        set_cvr => "Gem CVR-nummer", "Save CVR number";
        add_title => "Tilføj en person", "Add a person";
        add_intro => "Personen kommer på listen med det samme, uden en bekræftelsesmail, som når en person tilføjes gennem API'et. Skriv hvorfor: begrundelsen gemmes som grundlaget for samtykket og i loggen.",
            "The person joins the list at once, without a confirmation mail, as when a person is added through the API. Say why: the reason is kept as the basis of the consent and in the log.";
        add_button => "Tilføj personen", "Add the person";
        added => "Personen er tilføjet til listen.", "The person is added to the list.";
        language => "Sprog i mails", "Language of mails";
        reason => "Begrundelse", "Reason";
        reason_hint => "Fx: Bad om at komme på listen ved mødet den 3. marts.",
            "E.g.: Asked to join the list at the meeting on 3 March.";
        reason_required => "Skriv hvorfor personen tilføjes.", "Say why the person is added.";
        address_known => "Adressen er allerede på listen.", "The address is on the list already.";
        import_title => "Importér personer fra en CSV-fil", "Import people from a CSV file";
        import_intro => "Første linje navngiver kolonnerne: e-mail, navn og organisation, og gerne interesser (nøgler eller titler adskilt af komma). Semikolon, komma og tabulator fungerer, og filen kan være gemt af Excel. Importerede personer kommer på listen som bekræftede; en adresse, der allerede er på listen, bliver som den er; en adresse, hvis ejer har forladt listen eller er slettet, springes over.",
            "The first line names the columns: email, name and organisation, and optionally interests (keys or titles separated by commas). Semicolons, commas and tabs work, and the file may be saved by Excel. Imported people join the list as confirmed; an address on the list already is left as it is; an address whose owner left the list or was erased is skipped.";
        import_file => "CSV-fil", "CSV file";
        import_button => "Importér", "Import";
        import_choose => "Vælg en CSV-fil.", "Choose a CSV file.";
        import_too_large => "Filen er for stor; højst 20 MB.", "The file is too large; at most 20 MB.";
        import_report => "Resultat af importen", "What the import did";
        imported => "Tilføjet", "Added";
        already_known => "Allerede på listen (uændret)", "On the list already (unchanged)";
        skipped => "Sprunget over", "Skipped";
        skipped_lines => "Linjer, der blev sprunget over", "Lines skipped";
        line => "Linje", "Line";
        why => "Årsag", "Reason";
        nothing_skipped => "Ingen linjer blev sprunget over.", "No line was skipped.";
        history => "Historik", "History";
        mails => "Mails", "Mails";
        mail_kind => "Mail", "Mail";
        when => "Tidspunkt", "Time";
        no_mails => "Ingen mails til personen.", "No mail to the person.";
        bounces => "Returneret mail og klager", "Returned mail and complaints";
        no_bounces => "Ingen mail er kommet retur.", "No mail came back.";
        no_registrations => "Ingen tilmeldinger.", "No registrations.";
        answered => "Svarede", "Answered";
    }
}

/// How many people one page lists.
const PAGE: u32 = 50;

/// One row of the listing.
struct Row {
    id: String,
    name: String,
    organisation: String,
    status: &'static str,
}

impl From<Subscriber> for Row {
    fn from(s: Subscriber) -> Self {
        Self {
            id: s.id.uuid().to_string(),
            name: s.name,
            organisation: s.organisation.unwrap_or_default(),
            status: s.status.as_str(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/people.html")]
struct ListPage {
    lang: Lang,
    t: &'static Texts,
    p: &'static PeopleTexts,
    path: String,
    can_write: bool,
    q: String,
    status: String,
    statuses: [&'static str; 5],
    rows: Vec<Row>,
    /// The query string of the next page, if there is one.
    next: Option<String>,
}

impl ListPage {
    /// The search form has nothing to refuse: no field has a message.
    #[allow(clippy::unused_self)]
    const fn error(&self, _field: &str) -> Option<&str> {
        None
    }
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    /// `MICROS.UUID` of the last row of the previous page.
    before: Option<String>,
}

fn parse_before(raw: &str) -> Option<(crate::domain::Timestamp, PersonId)> {
    let (at, id) = raw.split_once('.')?;
    Some((from_db_time(at.parse().ok()?), PersonId::from_uuid(Uuid::parse_str(id).ok()?)))
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Query(query): Query<ListQuery>,
) -> Result<ListPage> {
    let q = query.q.unwrap_or_default().trim().to_owned();
    let status = query.status.as_deref().and_then(|s| PersonStatus::parse(s).ok());
    let filter = SubscriberFilter {
        q: (!q.is_empty()).then(|| q.clone()),
        status,
        before: query.before.as_deref().and_then(parse_before),
        limit: PAGE,
        ..SubscriberFilter::default()
    };
    let (found, more) = list::find(&state.forum, &organiser.actor(), filter, "person.search", &q).await?;

    let status_code = status.map(PersonStatus::as_str).unwrap_or_default();
    let next = found.last().filter(|_| more).map(|last| {
        let before = format!("{}.{}", crate::store::db_time(last.created_at), last.id.uuid());
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &q)
            .append_pair("status", status_code)
            .append_pair("before", &before)
            .finish()
    });
    Ok(ListPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        p: PeopleTexts::get(ctx.lang),
        path: ctx.path,
        can_write: organiser.user.role.can_write(),
        q,
        status: status_code.to_owned(),
        statuses: ["pending", "confirmed", "unsubscribed", "bounced", ""],
        rows: found.into_iter().map(Row::from).collect(),
        next,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/person.html")]
struct PersonPage {
    lang: Lang,
    t: &'static Texts,
    p: &'static PeopleTexts,
    path: String,
    csrf: String,
    can_write: bool,
    id: String,
    email: String,
    status: &'static str,
    name: String,
    organisation: String,
    interests: Vec<InterestBox>,
    history: History,
    errors: Vec<(&'static str, String)>,
    saved: bool,
    /// Just added by hand.
    added: bool,
}

impl PersonPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }
}

async fn person_page(state: &AppState, ctx: &Ctx, organiser: &Organiser, person: &Subscriber) -> Result<PersonPage> {
    let all = state.store.interests().await?;
    let data = state.store.personal_data(person.id).await?;
    Ok(PersonPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        p: PeopleTexts::get(ctx.lang),
        path: ctx.path.clone(),
        csrf: organiser.csrf.clone(),
        can_write: organiser.user.role.can_write(),
        id: person.id.uuid().to_string(),
        email: person.email.to_string(),
        status: person.status.as_str(),
        name: person.name.clone(),
        organisation: person.organisation.clone().unwrap_or_default(),
        interests: boxes(&all, &person.interests, ctx.lang),
        history: History::of(ctx.lang, data),
        errors: Vec::new(),
        saved: false,
        added: false,
    })
}

/// "2. december 2026 kl. 21.48" or "2 December 2026 13:00".
fn when(lang: Lang, t: Timestamp) -> String {
    format!("{} {}", lang.date(t), lang.time(t))
}

/// A consent as the person's page lists it.
struct ConsentRow {
    purpose: &'static str,
    method: &'static str,
    given: String,
    withdrawn: String,
}

/// A registration as the person's page lists it.
struct RegistrationRow {
    meeting: String,
    status: String,
    answered: String,
}

/// A mail or a bounce as the person's page lists it: (when, what, state).
type Event = (String, String, &'static str);

/// What happened with a person, in readable dates, oldest first.
struct History {
    consents: Vec<ConsentRow>,
    registrations: Vec<RegistrationRow>,
    mails: Vec<Event>,
    bounces: Vec<Event>,
}

impl History {
    fn of(lang: Lang, data: PersonalData) -> Self {
        let consents = data.consents.into_iter().map(|c| ConsentRow::of(lang, c)).collect();
        let registrations = data
            .registrations
            .into_iter()
            .map(|r| RegistrationRow {
                meeting: r.meeting_title,
                status: lang.registration_status_named(&r.status).to_owned(),
                answered: r.answered_at.map(|t| when(lang, t)).unwrap_or_default(),
            })
            .collect();
        let mails = data
            .messages
            .into_iter()
            .map(|m| {
                (when(lang, m.sent_at.unwrap_or(m.created_at)), mail_kind(lang, &m.kind), lang.outbox_status(&m.status))
            })
            .collect();
        let bounces = data.audit.into_iter().filter_map(|a| bounce(lang, &a)).collect();
        Self { consents, registrations, mails, bounces }
    }
}

impl ConsentRow {
    /// A consent in words: its purpose, how it was given, and when.
    fn of(lang: Lang, c: ConsentData) -> Self {
        let say = |da: &'static str, en: &'static str| lang.pick(da, en);
        Self {
            purpose: match c.purpose.as_str() {
                "mailing-list" => say("Mailinglisten", "The mailing list"),
                "listing" | "participant-listing" => {
                    say("Organisationen på deltagerlisten", "The organisation on the list of participants")
                }
                _ => say("Andet", "Other"),
            },
            method: match c.method.as_str() {
                "web" if c.text_version == "organiser" => say("Tilføjet af en arrangør", "Added by an organiser"),
                "web" => say("Formularen på nettet", "The web form"),
                "email" => say("Mail til tilmeldingsadressen", "Mail to the join address"),
                "import" => say("Import af en liste", "Import of a list"),
                "api" => say("Tilføjet gennem API'et", "Added through the API"),
                _ => say("Demodata", "Demo data"),
            },
            given: when(lang, c.given_at),
            withdrawn: c.withdrawn_at.map(|t| when(lang, t)).unwrap_or_default(),
        }
    }
}

/// An audit entry as a bounce or a complaint, if it is one.
fn bounce(lang: Lang, a: &AuditData) -> Option<Event> {
    let what = match a.action.as_str() {
        "person.bounced" => {
            lang.pick("Afvist permanent: adressen virker ikke", "Refused for good: the address does not work")
        }
        "person.soft_bounce" => lang.pick("Midlertidigt afvist", "Refused for now"),
        "person.complaint" => lang.pick("Meldt som uønsket", "Reported as unwanted"),
        _ => return None,
    };
    Some((when(lang, a.at), what.to_owned(), ""))
}

/// What kind of mail `kind` (as the outbox stores it) is, in words.
fn mail_kind(lang: Lang, kind: &str) -> String {
    let say = |da: &'static str, en: &'static str| lang.pick(da, en).to_owned();
    match kind {
        "invitation" => say("Invitation", "Invitation"),
        "invitation-test" => say("Prøve på en invitation", "Test of an invitation"),
        "confirm" | "signup-confirm" | "confirmation" => {
            say("Bekræft tilmelding til listen", "Confirm joining the list")
        }
        "already-subscribed" => say("Allerede på listen", "Already on the list"),
        "profile-link" => say("Link til egne oplysninger", "Link to their own details"),
        "leave-confirm" => say("Bekræft framelding", "Confirm leaving"),
        "rsvp-confirm" => say("Svar på en invitation modtaget", "Answer to an invitation received"),
        "rsvp-promoted" => say("Plads fra ventelisten", "Seat from the waiting list"),
        "rsvp-passed-to" | "rsvp-passed-from" => say("Plads givet videre", "Seat passed on"),
        "reminder-start" | "reminder-deadline" => say("Påmindelse om et møde", "Reminder of a meeting"),
        "meeting-changed" => say("Mødet er ændret", "The meeting has changed"),
        "meeting-cancelled" => say("Mødet er aflyst", "The meeting is cancelled"),
        "evaluation" => say("Evaluering", "Evaluation"),
        "evaluation_reminder" => say("Påmindelse om evalueringen", "Reminder of the evaluation"),
        "report" => say("Referat", "Report"),
        "materials" => say("Materialer", "Materials"),
        _ => say("Besked", "Notice"),
    }
}

/// The form that adds a person by hand.
#[derive(Template, WebTemplate)]
#[template(path = "admin/person_new.html")]
struct AddPage {
    lang: Lang,
    t: &'static Texts,
    p: &'static PeopleTexts,
    path: String,
    csrf: String,
    name: String,
    email: String,
    organisation: String,
    language: String,
    reason: String,
    interests: Vec<InterestBox>,
    errors: Vec<(&'static str, String)>,
}

impl AddPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    /// The empty form, with `all` interests to choose from.
    fn blank(ctx: Ctx, organiser: &Organiser, all: &[Interest]) -> Self {
        Self {
            lang: ctx.lang,
            t: ctx.lang.texts(),
            p: PeopleTexts::get(ctx.lang),
            interests: boxes(all, &[], ctx.lang),
            path: ctx.path,
            csrf: organiser.csrf.clone(),
            name: String::new(),
            email: String::new(),
            organisation: String::new(),
            language: "da".to_owned(),
            reason: String::new(),
            errors: Vec::new(),
        }
    }

    /// Puts back what the form sent, with the message by each field that is wrong.
    fn refill(
        &mut self,
        fields: &Fields,
        language: &str,
        interests: Vec<InterestBox>,
        errors: Vec<(&'static str, String)>,
    ) {
        fields.get("name").clone_into(&mut self.name);
        fields.get("email").clone_into(&mut self.email);
        fields.get("organisation").clone_into(&mut self.organisation);
        language.clone_into(&mut self.language);
        fields.get("reason").clone_into(&mut self.reason);
        self.interests = interests;
        self.errors = errors;
    }
}

async fn new_page(State(state): State<AppState>, ctx: Ctx, organiser: Organiser) -> Result<AddPage> {
    if !organiser.user.role.can_write() {
        return Err(Error::Forbidden("adding people needs the organiser or admin role"));
    }
    let all = state.store.interests().await?;
    Ok(AddPage::blank(ctx, &organiser, &all))
}

/// Adds a person by hand through [`list::add_by_hand`]; what is wrong comes
/// back by its field.
async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let lang = ctx.lang;
    let all = state.store.interests().await?;
    let PersonFields { name, organisation, interests, mut errors, .. } = person_fields(&fields, &all, lang);
    let email = Email::parse(fields.get("email")).map_err(|e| errors.push(("email", lang.refused(e)))).ok();
    let language = if fields.get("language") == "en" { "en" } else { "da" };
    let reason = reason_field(&fields, lang, &mut errors);
    if let (Some(name), Some(email), Some(reason), true) = (name, email, reason, errors.is_empty()) {
        let new = NewSubscriber { email, name, organisation, interests: interests.clone(), language };
        match list::add_by_hand(&state.forum, &organiser.actor(), &new, &reason).await {
            Ok(id) => return Ok(Redirect::to(&format!("/admin/people/{id}?done=added")).into_response()),
            Err(e) => errors.push(("email", add_refusal(lang, e)?)),
        }
    }
    let mut page = AddPage::blank(ctx, &organiser, &all);
    page.refill(&fields, language, boxes(&all, &interests, lang), errors);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// Why a person is added by hand, as the form gave it: required, and a valid note.
fn reason_field(fields: &Fields, lang: Lang, errors: &mut Vec<(&'static str, String)>) -> Option<Note> {
    match Note::parse(fields.get("reason")) {
        Ok(r) if r.as_str().is_empty() => {
            errors.push(("reason", PeopleTexts::get(lang).reason_required.to_owned()));
            None
        }
        Ok(r) => Some(r),
        Err(e) => {
            errors.push(("reason", lang.refused(e)));
            None
        }
    }
}

/// Why [`list::add_by_hand`] refused the address, in words; any other failure as an error.
fn add_refusal(lang: Lang, e: ForumError) -> Result<String> {
    match e {
        ForumError::Refused(Refusal::AddressKnown) => Ok(PeopleTexts::get(lang).address_known.to_owned()),
        ForumError::Refused(Refusal::Suppressed(why)) => Ok(lang.suppression(why).to_owned()),
        e => Err(e.into()),
    }
}

/// An import's report as the page shows it.
struct ImportReport {
    imported: usize,
    already_known: usize,
    /// (line, reason in the reader's language).
    skipped: Vec<(u64, String)>,
}

impl ImportReport {
    fn of(lang: Lang, r: Report) -> Self {
        Self {
            imported: r.imported,
            already_known: r.already_known,
            skipped: r.rejected.into_iter().map(|x| (x.line, x.why.said(lang))).collect(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/people_import.html")]
struct ImportPage {
    lang: Lang,
    t: &'static Texts,
    p: &'static PeopleTexts,
    path: String,
    csrf: String,
    report: Option<ImportReport>,
    errors: Vec<(&'static str, String)>,
}

impl ImportPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    /// The import form, with what the last import did, or why the file was refused.
    fn new(ctx: Ctx, organiser: &Organiser, report: Option<ImportReport>, errors: Vec<(&'static str, String)>) -> Self {
        Self {
            lang: ctx.lang,
            t: ctx.lang.texts(),
            p: PeopleTexts::get(ctx.lang),
            path: ctx.path,
            csrf: organiser.csrf.clone(),
            report,
            errors,
        }
    }
}

async fn import_page(ctx: Ctx, organiser: Organiser) -> Result<ImportPage> {
    if !organiser.user.role.can_write() {
        return Err(Error::Forbidden("importing people needs the organiser or admin role"));
    }
    Ok(ImportPage::new(ctx, &organiser, None, Vec::new()))
}

/// Imports the uploaded file through [`list::import`] and shows what it did,
/// line by line; a file that cannot be read comes back by the file field.
async fn import(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganiserUpload { organiser, upload }: OrganiserUpload,
) -> Result<Response> {
    let (lang, p) = (ctx.lang, PeopleTexts::get(ctx.lang));
    let refusal = match upload {
        Upload::File { data, .. } if data.len() <= IMPORT_MAX => {
            match list::import(&state.forum, &organiser.actor(), &data).await {
                Ok(report) => {
                    let page = ImportPage::new(ctx, &organiser, Some(ImportReport::of(lang, report)), Vec::new());
                    return Ok(page.into_response());
                }
                Err(ImportError::File(why)) => why.said(lang),
                Err(ImportError::Store(e)) => return Err(e.into()),
            }
        }
        Upload::File { .. } | Upload::TooLarge => p.import_too_large.to_owned(),
        Upload::Missing => p.import_choose.to_owned(),
    };
    let page = ImportPage::new(ctx, &organiser, None, vec![("file", refusal)]);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Deserialize)]
struct DetailQuery {
    done: Option<String>,
}

async fn detail(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path(id): Path<PersonId>,
    Query(q): Query<DetailQuery>,
) -> Result<PersonPage> {
    let person = state.store.subscriber(id).await?;
    let mut page = person_page(&state, &ctx, &organiser, &person).await?;
    page.added = q.done.as_deref() == Some("added");
    audit::record_read(&state.store, &organiser.actor(), &Entry::read("person.view", "person", Some(id.uuid()), "", 1))
        .await?;
    Ok(page)
}

async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<PersonId>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let person = state.store.subscriber(id).await?;
    let all = state.store.interests().await?;
    let PersonFields { name, organisation, organisation_text: org_text, interests: chosen, errors } =
        person_fields(&fields, &all, ctx.lang);
    let (Some(name), true) = (name, errors.is_empty()) else {
        let mut page = person_page(&state, &ctx, &organiser, &person).await?;
        fields.get("name").clone_into(&mut page.name);
        org_text.clone_into(&mut page.organisation);
        page.interests = boxes(&all, &chosen, ctx.lang);
        page.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    list::save(&state.forum, &organiser.actor(), id, &changes(&person, name, organisation, chosen)).await?;
    let mut page = person_page(&state, &ctx, &organiser, &state.store.subscriber(id).await?).await?;
    page.saved = true;
    Ok(page.into_response())
}

async fn erase(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<PersonId>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    if fields.get("confirm") != "yes" {
        let person = state.store.subscriber(id).await?;
        let mut page = person_page(&state, &ctx, &organiser, &person).await?;
        page.errors = vec![("confirm", PeopleTexts::get(ctx.lang).erase_confirm_required.to_owned())];
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let erased = list::erase(&state.forum, &organiser.actor(), id).await?;
    tracing::info!(person = %id, user = %organiser.user.id, rows = erased.total(), "person erased by an organiser");
    Ok(Redirect::to("/admin/people").into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/organisations.html")]
struct OrganisationsPage {
    lang: Lang,
    t: &'static Texts,
    p: &'static PeopleTexts,
    path: String,
    csrf: String,
    can_write: bool,
    organisations: Vec<Organisation>,
    /// The organisation whose form failed, what was entered and why.
    error: Option<(OrganisationId, String, &'static str)>,
}

impl OrganisationsPage {
    /// The value to show in the CVR field of `o`.
    fn value(&self, o: &Organisation) -> String {
        match &self.error {
            Some((id, entered, _)) if *id == o.id => entered.clone(),
            _ => o.cvr.clone().unwrap_or_default(),
        }
    }

    /// The message by the CVR field of `o`, if its form failed.
    fn error_for(&self, o: &Organisation) -> Option<&'static str> {
        self.error.as_ref().filter(|(id, _, _)| *id == o.id).map(|(_, _, m)| *m)
    }
}

async fn organisations_page(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
) -> Result<OrganisationsPage> {
    Ok(OrganisationsPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        p: PeopleTexts::get(ctx.lang),
        path: ctx.path,
        csrf: organiser.csrf.clone(),
        can_write: organiser.user.role.can_write(),
        organisations: state.store.organisations().await?,
        error: None,
    })
}

async fn set_cvr(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<OrganisationId>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let entered = fields.get("cvr").trim();
    let cvr = if entered.is_empty() {
        None
    } else {
        match Cvr::parse(entered) {
            Ok(c) => Some(c),
            Err(e) => {
                let p = PeopleTexts::get(ctx.lang);
                let message = match e {
                    CvrError::Format => p.cvr_format,
                    CvrError::Checksum => p.cvr_checksum,
                };
                let mut page = organisations_page(State(state), ctx, organiser).await?;
                if !page.organisations.iter().any(|o| o.id == id) {
                    return Err(crate::web::Error::NotFound);
                }
                page.error = Some((id, entered.to_owned(), message));
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
            }
        }
    };
    let mut tx = state.store.begin().await?;
    organisations::set_cvr(&mut tx, id, cvr.as_ref()).await?;
    let entry = Entry {
        action: "organisation.cvr",
        subject_kind: "organisation",
        subject_id: Some(id.uuid()),
        detail: cvr.as_ref().map_or("", Cvr::as_str),
        row_count: Some(1),
    };
    audit::record(&mut tx, &organiser.actor(), &entry).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/organisations").into_response())
}
