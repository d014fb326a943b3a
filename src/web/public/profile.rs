//! The self-service profile: a person asks for a personal link by address
//! (`/me`), and the link (`/me/{token}`) shows their details to change,
//! offers everything held about them as JSON, and lets them erase it all.
//!
//! Asking for a link answers the same whether or not the address is known, so
//! the page tells nobody who is on the list; it is rate-limited per client and
//! per address like sign-up. Opening the link changes nothing: saving and
//! erasing are POSTs from its forms, and erasing needs a ticked box.

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::domain::{Email, PersonId, PersonStatus, Timestamp, Token, TokenPurpose};
use crate::forum::{self, ForumError, list};
use crate::i18n::{Lang, Texts, texts};
use crate::store::audit::Actor;
use crate::store::people::Interest;
use crate::store::subscribers::{Changes, Subscriber};
use crate::web::extract::{Fields, Path};
use crate::web::forms::{InterestBox, PersonFields, boxes, changes, field_error, message, person_fields};
use crate::web::public::links::{self, Broken, LinkKind};
use crate::web::{AppState, ClientIp, Ctx, Result};

mod own_data;

texts! {
    /// The words of the page of one's own data.
    pub struct DataTexts {
        title => "Dine data", "Your data";
        intro => "Alt, hvad Dialogforum har om dig, som det står i dag. Organisatorernes navne er udeladt.",
            "Everything Dialogforum holds about you, as it is today. The organisers' names are left out.";
        profile => "Dine oplysninger", "Your details";
        consents => "Dine samtykker", "Your consents";
        registrations => "Dine tilmeldinger", "Your registrations";
        messages => "Mails til dig", "Mail to you";
        log => "Hvad der er gjort med dine data", "What was done with your data";
        reads => "Hvornår organisatorerne så eller eksporterede dine data",
            "When organisers viewed or exported your data";
        none => "Intet.", "Nothing.";
        csv_headers: [&'static str; 4] => ["Afsnit", "Nr.", "Felt", "Værdi"], ["Section", "No.", "Field", "Value"];
        csv_link => "Hent som CSV (regneark)", "Download as CSV (spreadsheet)";
        page_link => "Se dine data som en side", "See your data as a page";
        back => "Tilbage til din side", "Back to your page";
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "profile_data.html")]
struct DataPage {
    lang: Lang,
    t: &'static Texts,
    d: &'static DataTexts,
    path: String,
    token: String,
    sections: Vec<own_data::Section>,
}

/// Routes of the profile.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(request_form).post(request_link))
        .route("/me/{token}", get(profile).post(save))
        .route("/me/{token}/data.json", get(download))
        .route("/me/{token}/data", get(data_page))
        .route("/me/{token}/data.csv", get(data_csv))
        .route("/me/{token}/erase", post(erase))
}

#[derive(Template, WebTemplate)]
#[template(path = "profile_request.html")]
struct RequestPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    email: String,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "profile.html")]
struct ProfilePage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    token: String,
    email: String,
    status: &'static str,
    name: String,
    organisation: String,
    interests: Vec<InterestBox>,
    /// `da` or `en`.
    language: String,
    saved: bool,
    /// (field, message), in the order of the page.
    errors: Vec<(&'static str, String)>,
}

impl ProfilePage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    /// The page for `person` as stored.
    fn of(ctx: &Ctx, token: &str, person: &Subscriber, all: &[Interest]) -> Self {
        let t = ctx.lang.texts();
        Self {
            lang: ctx.lang,
            t,
            // The language switch comes back here, whichever form was sent.
            path: format!("/me/{token}"),
            token: token.to_owned(),
            email: person.email.as_str().to_owned(),
            status: status_text(t, person.status),
            name: person.name.clone(),
            organisation: person.organisation.clone().unwrap_or_default(),
            interests: boxes(all, &person.interests, ctx.lang),
            language: person.language.clone(),
            saved: false,
            errors: Vec::new(),
        }
    }
}

const fn status_text(t: &'static Texts, status: PersonStatus) -> &'static str {
    match status {
        PersonStatus::Guest => t.profile_status_guest,
        PersonStatus::Pending => t.profile_status_pending,
        PersonStatus::Confirmed => t.profile_status_confirmed,
        PersonStatus::Unsubscribed => t.profile_status_unsubscribed,
        PersonStatus::Bounced => t.profile_status_bounced,
    }
}

async fn request_form(ctx: Ctx) -> RequestPage {
    RequestPage { lang: ctx.lang, t: ctx.lang.texts(), path: ctx.path, email: String::new(), error: None }
}

/// Sends a profile link to a pending or confirmed person; the answer is the
/// same for every address.
async fn request_link(State(state): State<AppState>, ctx: Ctx, ip: ClientIp, fields: Fields) -> Result<Response> {
    let t = ctx.lang.texts();
    let typed = fields.get("email");
    let email = match Email::parse(typed) {
        Ok(e) => e,
        Err(e) => {
            let page = RequestPage {
                lang: ctx.lang,
                t,
                path: ctx.path,
                email: typed.to_owned(),
                error: Some(ctx.lang.refused(e)),
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    match list::send_profile_link(&state.forum, &state.settings.security, &email, &ip.0).await {
        Ok(()) => {}
        Err(ForumError::Refused(forum::Refusal::TooManySignups)) => {
            let page = message(&ctx, t.too_many_title, t.too_many_text);
            return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
        }
        Err(e) => return Err(e.into()),
    }
    Ok(message(&ctx, t.profile_sent_title, t.profile_sent_text).into_response())
}

/// Why a profile link does not work.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    Unknown,
    Expired,
}

/// The person behind a profile link.
async fn holder(state: &AppState, raw: &str) -> Result<std::result::Result<PersonId, Refusal>> {
    let Some(token) = Token::from_presented(raw) else { return Ok(Err(Refusal::Unknown)) };
    let Some(found) = state.store.link_token(&token.hash(), TokenPurpose::Profile).await? else {
        return Ok(Err(Refusal::Unknown));
    };
    if found.expired(Timestamp::now()) {
        return Ok(Err(Refusal::Expired));
    }
    Ok(found.person_id.ok_or(Refusal::Unknown))
}

/// The page for a link that does not work, with a way to ask for a new one.
fn refused(ctx: &Ctx, why: Refusal) -> Response {
    let why = match why {
        Refusal::Unknown => Broken::Unknown,
        Refusal::Expired => Broken::Expired,
    };
    links::broken(ctx, LinkKind::Profile, why)
}

/// The person behind the profile link in the path, with the link as given.
/// A link that does not work is answered with its page, and the handler
/// does not run.
struct Holder {
    id: PersonId,
    raw: String,
}

impl FromRequestParts<AppState> for Holder {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> std::result::Result<Self, Response> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        match holder(state, &raw).await {
            Ok(Ok(id)) => Ok(Self { id, raw }),
            Ok(Err(why)) => {
                let Ok(ctx) = Ctx::from_request_parts(parts, state).await;
                Err(refused(&ctx, why))
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

async fn profile(State(state): State<AppState>, ctx: Ctx, Holder { id, raw }: Holder) -> Result<Response> {
    let person = state.store.subscriber(id).await?;
    let all = state.store.interests().await?;
    Ok(ProfilePage::of(&ctx, &raw, &person, &all).into_response())
}

/// Saves the details form; a bad value brings the form back with the message by the field.
async fn save(State(state): State<AppState>, ctx: Ctx, Holder { id, raw }: Holder, fields: Fields) -> Result<Response> {
    let person = state.store.subscriber(id).await?;
    let all = state.store.interests().await?;
    let PersonFields { name, organisation, organisation_text: org_text, interests: chosen, mut errors } =
        person_fields(&fields, &all, ctx.lang);
    let language = match fields.get("language") {
        "da" => Some("da"),
        "en" => Some("en"),
        _ => {
            errors.push(("language", ctx.lang.texts().profile_language_required.to_owned()));
            None
        }
    };
    let (Some(name), Some(language), true) = (name, language, errors.is_empty()) else {
        let mut page = ProfilePage::of(&ctx, &raw, &person, &all);
        fields.get("name").clone_into(&mut page.name);
        org_text.clone_into(&mut page.organisation);
        page.interests = boxes(&all, &chosen, ctx.lang);
        fields.get("language").clone_into(&mut page.language);
        page.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };

    // Only what differs is written, and named in the audit entry.
    let changes = Changes {
        language: (language != person.language).then_some(language),
        ..changes(&person, name, organisation, chosen)
    };
    list::save(&state.forum, &Actor::Person(id.uuid()), id, &changes).await?;
    let mut page = ProfilePage::of(&ctx, &raw, &state.store.subscriber(id).await?, &all);
    page.saved = true;
    Ok(page.into_response())
}

/// Everything held about the person, as a JSON download. Reading it changes
/// nothing, but is recorded in the audit log (and so appears in the next download).
async fn download(State(state): State<AppState>, Holder { id, .. }: Holder) -> Result<Response> {
    let data = list::own_data(&state.forum, id, "data.json").await?;
    Ok(attached(Json(data).into_response(), "dialogforum-data.json"))
}

/// Everything held about the person as a page to read, in their language.
async fn data_page(State(state): State<AppState>, ctx: Ctx, Holder { id, raw }: Holder) -> Result<Response> {
    let data = list::own_data(&state.forum, id, "page").await?;
    let lang = ctx.lang;
    let page = DataPage {
        lang,
        t: lang.texts(),
        d: DataTexts::get(lang),
        path: ctx.path,
        token: raw,
        sections: own_data::sections(&data, lang),
    };
    Ok(page.into_response())
}

/// Everything held about the person as CSV for a spreadsheet: one row a
/// value, under its section and item.
async fn data_csv(State(state): State<AppState>, ctx: Ctx, Holder { id, .. }: Holder) -> Result<Response> {
    let data = list::own_data(&state.forum, id, "data.csv").await?;
    let csv = own_data::csv(&own_data::sections(&data, ctx.lang), DataTexts::get(ctx.lang))
        .map_err(crate::web::Error::Internal)?;
    let mut res = (StatusCode::OK, csv).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    Ok(attached(res, "dialogforum-data.csv"))
}

/// `res` as a download named `file`.
fn attached(mut res: Response, file: &'static str) -> Response {
    let value = format!("attachment; filename=\"{file}\"");
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// Erases the person once they ticked the box, and says goodbye.
async fn erase(
    State(state): State<AppState>,
    ctx: Ctx,
    Holder { id, raw }: Holder,
    fields: Fields,
) -> Result<Response> {
    let t = ctx.lang.texts();
    if fields.get("confirm") != "yes" {
        let person = state.store.subscriber(id).await?;
        let all = state.store.interests().await?;
        let mut page = ProfilePage::of(&ctx, &raw, &person, &all);
        page.errors = vec![("confirm", t.erase_confirm_required.to_owned())];
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let erased = list::erase(&state.forum, &Actor::Person(id.uuid()), id).await?;
    tracing::info!(person = %id, rows = erased.total(), "person erased at their own request");
    let mut page = message(&ctx, t.erased_title, t.erased_text);
    "/".clone_into(&mut page.path);
    page.link = Some(("/", t.back_home));
    Ok(page.into_response())
}
