//! Organiser pages for people and organisations: searching the register,
//! reading and editing one person, erasing them, and setting the CVR number
//! of an organisation. Every search is recorded in the audit log; every
//! change needs the CSRF token and a role that may write.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{Cvr, CvrError, Name, OrganisationId, PersonId, PersonStatus};
use crate::forum::list;
use crate::i18n::{Lang, Texts, texts};
use crate::store::audit::{self, Entry};
use crate::store::from_db_time;
use crate::store::organisations::{self, Organisation};
use crate::store::subscribers::{Changes, ConsentData, RegistrationData, Subscriber, SubscriberFilter};
use crate::web::auth::Organiser;
use crate::web::extract::{OrganiserForm, Path};
use crate::web::forms::{InterestBox, PersonFields, boxes, person_fields};
use crate::web::{AppState, Ctx, Result};

/// Routes of the people and organisation pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/people", get(list))
        .route("/admin/people/{id}", get(detail).post(save))
        .route("/admin/people/{id}/erase", post(erase))
        .route("/admin/organisations", get(organisations_page))
        .route("/admin/organisations/{id}", post(set_cvr))
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
    consents: Vec<ConsentData>,
    registrations: Vec<RegistrationData>,
    errors: Vec<(&'static str, String)>,
    saved: bool,
}

impl PersonPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
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
        consents: data.consents,
        registrations: data.registrations,
        errors: Vec::new(),
        saved: false,
    })
}

async fn detail(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path(id): Path<PersonId>,
) -> Result<PersonPage> {
    let person = state.store.subscriber(id).await?;
    let page = person_page(&state, &ctx, &organiser, &person).await?;
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
    let changes = Changes {
        name: (name.as_str() != person.name).then_some(name),
        organisation: (organisation.as_ref().map(Name::as_str) != person.organisation.as_deref())
            .then_some(organisation),
        interests: (chosen != person.interests).then_some(chosen),
        language: None,
    };
    list::save(&state.forum, &organiser.actor(), id, &changes).await?;
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
