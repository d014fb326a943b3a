//! Admin pages for accounts and API tokens: list, add with a role, change a
//! role, disable (which ends the account's sessions and stops its tokens),
//! and create (shown once) or revoke API tokens. Admins only; every change is
//! in the audit log.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::SignedDuration;
use serde::Deserialize;
use uuid::Uuid;

use super::audit::when;
use crate::domain::{Email, Role, Timestamp, Token, UserId, password};
use crate::i18n::{Lang, Texts};
use crate::store::StoreError;
use crate::store::audit::{self, Entry};
use crate::store::users::{self, Account, ApiTokenInfo};
use crate::web::auth::Organiser;
use crate::web::forms::{field, form_fields};
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the account and token pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users_page).post(add_user))
        .route("/admin/users/{id}/role", post(change_role))
        .route("/admin/users/{id}/disable", post(disable))
        .route("/admin/users/{id}/enable", post(enable))
        .route("/admin/tokens", get(tokens_page).post(create_token))
        .route("/admin/tokens/{id}/revoke", post(revoke_token))
}

/// The words of these pages.
pub struct UserTexts {
    pub users_title: &'static str,
    pub tokens_title: &'static str,
    pub role: &'static str,
    pub state: &'static str,
    pub active: &'static str,
    pub disabled: &'static str,
    pub created: &'static str,
    pub change_role: &'static str,
    pub disable: &'static str,
    pub enable: &'static str,
    pub add_user: &'static str,
    pub initial_password: &'static str,
    pub password_hint: &'static str,
    pub add_button: &'static str,
    pub not_yourself: &'static str,
    pub taken: &'static str,
    pub token_name: &'static str,
    pub owner: &'static str,
    pub last_used: &'static str,
    pub revoked: &'static str,
    pub revoke: &'static str,
    pub create_token: &'static str,
    pub create_button: &'static str,
    pub show_all: &'static str,
    pub show_mine: &'static str,
    pub token_created: &'static str,
    pub token_once: &'static str,
    pub token_label: &'static str,
    pub back: &'static str,
    pub never: &'static str,
    pub expires: &'static str,
    pub expired: &'static str,
    pub expires_days: &'static str,
    pub expires_hint: &'static str,
    pub expiry_range: &'static str,
    pub roles: [(&'static str, &'static str); 3],
}

const DA: UserTexts = UserTexts {
    users_title: "Brugere",
    tokens_title: "API-nøgler",
    role: "Rolle",
    state: "Tilstand",
    active: "aktiv",
    disabled: "spærret",
    created: "Oprettet",
    change_role: "Skift rolle",
    disable: "Spær",
    enable: "Genåbn",
    add_user: "Tilføj bruger",
    initial_password: "Første adgangskode",
    password_hint: "Mindst 12 tegn. Giv den til brugeren ad en sikker vej; brugeren kan selv skifte den.",
    add_button: "Tilføj",
    not_yourself: "Du kan ikke spærre dig selv eller fjerne din egen administratorrolle.",
    taken: "Der findes allerede en bruger med den adresse.",
    token_name: "Navn på nøglen",
    owner: "Ejer",
    last_used: "Sidst brugt",
    revoked: "tilbagekaldt",
    revoke: "Tilbagekald",
    create_token: "Opret API-nøgle",
    create_button: "Opret",
    show_all: "Alle nøgler",
    show_mine: "Mine nøgler",
    token_created: "API-nøglen er oprettet",
    token_once: "Kopiér nøglen nu. Den vises kun denne ene gang og gemmes kun som et fingeraftryk.",
    token_label: "Nøgle",
    back: "Tilbage til API-nøglerne",
    never: "aldrig",
    expires: "Udløber",
    expired: "udløbet",
    expires_days: "Gyldig i dage",
    expires_hint: "Tom = indtil den tilbagekaldes. Højst 3650.",
    expiry_range: "Skriv et antal dage fra 1 til 3650, eller lad feltet stå tomt.",
    roles: [("admin", "administrator"), ("organiser", "arrangør"), ("viewer", "læser")],
};

const EN: UserTexts = UserTexts {
    users_title: "Users",
    tokens_title: "API tokens",
    role: "Role",
    state: "State",
    active: "active",
    disabled: "disabled",
    created: "Created",
    change_role: "Change role",
    disable: "Disable",
    enable: "Enable",
    add_user: "Add a user",
    initial_password: "First password",
    password_hint: "At least 12 characters. Give it to the user by a safe route; they can change it themselves.",
    add_button: "Add",
    not_yourself: "You cannot disable yourself or take away your own admin role.",
    taken: "There is already a user with this address.",
    token_name: "Name of the token",
    owner: "Owner",
    last_used: "Last used",
    revoked: "revoked",
    revoke: "Revoke",
    create_token: "Create an API token",
    create_button: "Create",
    show_all: "All tokens",
    show_mine: "My tokens",
    token_created: "The API token is created",
    token_once: "Copy the token now. It is shown this once only and stored only as a fingerprint.",
    token_label: "Token",
    back: "Back to the API tokens",
    never: "never",
    expires: "Expires",
    expired: "expired",
    expires_days: "Valid for days",
    expires_hint: "Empty = until it is revoked. At most 3650.",
    expiry_range: "Enter a number of days from 1 to 3650, or leave the field empty.",
    roles: [("admin", "admin"), ("organiser", "organiser"), ("viewer", "viewer")],
};

const fn texts(lang: Lang) -> &'static UserTexts {
    match lang {
        Lang::Da => &DA,
        Lang::En => &EN,
    }
}

/// One account as a row.
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: &'static str,
    pub disabled: bool,
    pub created: String,
    pub is_me: bool,
}

fn user_row(a: &Account, me: UserId, lang: Lang) -> UserRow {
    UserRow {
        id: a.user.id.uuid().to_string(),
        email: a.user.email.to_string(),
        name: a.user.name.clone(),
        role: a.user.role.as_str(),
        disabled: a.disabled_at.is_some(),
        created: when(lang, a.created_at),
        is_me: a.user.id == me,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/users.html")]
struct UsersPage {
    lang: Lang,
    t: &'static Texts,
    u: &'static UserTexts,
    path: String,
    csrf: String,
    rows: Vec<UserRow>,
    /// What the add form held, when it failed.
    email: String,
    name: String,
    role: String,
    errors: Vec<(&'static str, String)>,
}

impl UsersPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }
}

async fn users_view(state: &AppState, ctx: &Ctx, organiser: &Organiser) -> Result<UsersPage> {
    let accounts = state.store.accounts().await?;
    Ok(UsersPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        u: texts(ctx.lang),
        path: ctx.path.clone(),
        csrf: organiser.csrf.clone(),
        rows: accounts.iter().map(|a| user_row(a, organiser.user.id, ctx.lang)).collect(),
        email: String::new(),
        name: String::new(),
        role: "organiser".to_owned(),
        errors: Vec::new(),
    })
}

async fn users_page(State(state): State<AppState>, ctx: Ctx, organiser: Organiser) -> Result<UsersPage> {
    organiser.require_admin()?;
    users_view(&state, &ctx, &organiser).await
}

fn user_id(id: &str) -> Result<UserId> {
    Uuid::parse_str(id).map(UserId::from_uuid).map_err(|_| Error::NotFound)
}

async fn add_user(State(state): State<AppState>, ctx: Ctx, organiser: Organiser, body: Bytes) -> Result<Response> {
    organiser.require_admin()?;
    organiser.check_csrf(&body)?;
    let fields = form_fields(&body);
    let u = texts(ctx.lang);
    let mut errors = Vec::new();
    let email = Email::parse(field(&fields, "email")).map_err(|e| errors.push(("email", e.message().to_owned()))).ok();
    let role = Role::parse(field(&fields, "role")).map_err(|e| errors.push(("role", e.message().to_owned()))).ok();
    let name = field(&fields, "name").trim().to_owned();
    let typed = field(&fields, "password").to_owned();
    let hashed = tokio::task::spawn_blocking(move || password::hash(&typed))
        .await
        .map_err(|e| Error::Internal(e.into()))?
        .map_err(|e| errors.push(("password", e.message().to_owned())))
        .ok();
    let refuse = |mut errors: Vec<(&'static str, String)>, page: UsersPage| {
        let mut page = page;
        field(&fields, "email").clone_into(&mut page.email);
        name.clone_into(&mut page.name);
        field(&fields, "role").clone_into(&mut page.role);
        page.errors.append(&mut errors);
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    };
    let (Some(email), Some(role), Some(hash), true) = (email, role, hashed, errors.is_empty()) else {
        return Ok(refuse(errors, users_view(&state, &ctx, &organiser).await?));
    };
    let mut tx = state.store.begin().await?;
    let id = match users::insert_user(&mut tx, &email, &name, role, &hash).await {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => {
            drop(tx);
            return Ok(refuse(vec![("email", u.taken.to_owned())], users_view(&state, &ctx, &organiser).await?));
        }
        Err(e) => return Err(e.into()),
    };
    let entry = Entry {
        action: "user.create",
        subject_kind: "user",
        subject_id: Some(id.uuid()),
        detail: role.as_str(),
        row_count: None,
    };
    audit::record(&mut tx, &organiser.actor(), &entry).await?;
    tx.commit().await?;
    tracing::info!(user = %id, role = %role, "account added");
    Ok(Redirect::to("/admin/users").into_response())
}

/// Refuses changes to one's own account that could lock every admin out.
async fn refuse_self(state: &AppState, ctx: &Ctx, organiser: &Organiser, id: UserId) -> Result<Option<Response>> {
    if id != organiser.user.id {
        return Ok(None);
    }
    let mut page = users_view(state, ctx, organiser).await?;
    page.errors.push(("users", texts(ctx.lang).not_yourself.to_owned()));
    Ok(Some((StatusCode::UNPROCESSABLE_ENTITY, page).into_response()))
}

async fn change_role(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    organiser.require_admin()?;
    organiser.check_csrf(&body)?;
    let id = user_id(&id)?;
    let role = Role::parse(field(&form_fields(&body), "role")).map_err(|e| Error::invalid("role", e.message()))?;
    if role != Role::Admin
        && let Some(refused) = refuse_self(&state, &ctx, &organiser, id).await?
    {
        return Ok(refused);
    }
    let mut tx = state.store.begin().await?;
    users::set_role(&mut tx, id, role).await?;
    let entry = Entry {
        action: "user.role",
        subject_kind: "user",
        subject_id: Some(id.uuid()),
        detail: role.as_str(),
        row_count: None,
    };
    audit::record(&mut tx, &organiser.actor(), &entry).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/users").into_response())
}

async fn set_disabled(
    state: AppState,
    ctx: Ctx,
    organiser: Organiser,
    id: &str,
    body: &Bytes,
    disabled: bool,
) -> Result<Response> {
    organiser.require_admin()?;
    organiser.check_csrf(body)?;
    let id = user_id(id)?;
    if disabled && let Some(refused) = refuse_self(&state, &ctx, &organiser, id).await? {
        return Ok(refused);
    }
    let mut tx = state.store.begin().await?;
    users::set_disabled(&mut tx, id, disabled).await?;
    let action = if disabled { "user.disable" } else { "user.enable" };
    let entry = Entry { action, subject_kind: "user", subject_id: Some(id.uuid()), detail: "", row_count: None };
    audit::record(&mut tx, &organiser.actor(), &entry).await?;
    tx.commit().await?;
    tracing::info!(user = %id, disabled, "account state changed");
    Ok(Redirect::to("/admin/users").into_response())
}

async fn disable(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    set_disabled(state, ctx, organiser, &id, &body, true).await
}

async fn enable(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    set_disabled(state, ctx, organiser, &id, &body, false).await
}

/// One token as a row.
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: Option<String>,
    pub expires: Option<String>,
    /// The expiry has passed.
    pub expired: bool,
}

fn token_row(t: &ApiTokenInfo, lang: Lang) -> TokenRow {
    TokenRow {
        id: t.id.to_string(),
        name: t.name.clone(),
        owner: t.owner_email.clone(),
        created: when(lang, t.created_at),
        last_used: t.last_used_at.map(|at| when(lang, at)),
        revoked: t.revoked_at.map(|at| when(lang, at)),
        expires: t.expires_at.map(|at| when(lang, at)),
        expired: t.expires_at.is_some_and(|at| at <= Timestamp::now()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    lang: Lang,
    t: &'static Texts,
    u: &'static UserTexts,
    path: String,
    csrf: String,
    mine: bool,
    rows: Vec<TokenRow>,
    /// Enabled accounts a token can be made for: (id, address).
    owners: Vec<(String, String)>,
    me: String,
    errors: Vec<(&'static str, String)>,
}

impl TokensPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/tokens_created.html")]
struct TokenCreatedPage {
    lang: Lang,
    t: &'static Texts,
    u: &'static UserTexts,
    path: String,
    token: String,
    name: String,
    owner: String,
}

#[derive(Deserialize)]
struct TokensQuery {
    mine: Option<String>,
}

async fn tokens_view(state: &AppState, ctx: &Ctx, organiser: &Organiser, mine: bool) -> Result<TokensPage> {
    let tokens = state.store.api_tokens(mine.then_some(organiser.user.id)).await?;
    let owners = state
        .store
        .accounts()
        .await?
        .into_iter()
        .filter(|a| a.disabled_at.is_none())
        .map(|a| (a.user.id.uuid().to_string(), a.user.email.to_string()))
        .collect();
    Ok(TokensPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        u: texts(ctx.lang),
        path: ctx.path.clone(),
        csrf: organiser.csrf.clone(),
        mine,
        rows: tokens.iter().map(|t| token_row(t, ctx.lang)).collect(),
        owners,
        me: organiser.user.id.uuid().to_string(),
        errors: Vec::new(),
    })
}

async fn tokens_page(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Query(q): Query<TokensQuery>,
) -> Result<TokensPage> {
    organiser.require_admin()?;
    tokens_view(&state, &ctx, &organiser, q.mine.as_deref() == Some("1")).await
}

async fn create_token(State(state): State<AppState>, ctx: Ctx, organiser: Organiser, body: Bytes) -> Result<Response> {
    organiser.require_admin()?;
    organiser.check_csrf(&body)?;
    let fields = form_fields(&body);
    let name = field(&fields, "name").trim().to_owned();
    let owner = match field(&fields, "owner") {
        "" => Some(organiser.user.id),
        id => user_id(id).ok(),
    };
    let account = match owner {
        Some(id) => state.store.account(id).await.ok().filter(|a| a.disabled_at.is_none()),
        None => None,
    };
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push(("name", ctx.lang.texts().required.to_owned()));
    }
    let expires_days = match field(&fields, "expires_days").trim() {
        "" => None,
        days => {
            let valid = days.parse::<u16>().ok().filter(|d| (1..=3650).contains(d));
            if valid.is_none() {
                errors.push(("expires_days", texts(ctx.lang).expiry_range.to_owned()));
            }
            valid
        }
    };
    let (Some(account), true) = (account, errors.is_empty()) else {
        if errors.is_empty() {
            errors.push(("owner", ctx.lang.texts().required.to_owned()));
        }
        let mut page = tokens_view(&state, &ctx, &organiser, false).await?;
        page.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let token = Token::generate();
    let mut tx = state.store.begin().await?;
    let expires = expires_days.map(|d| Timestamp::now() + SignedDuration::from_hours(24 * i64::from(d)));
    let id = users::create_api_token(&mut tx, account.user.id, &name, &token.hash(), expires).await?;
    let entry = Entry {
        action: "token.create",
        subject_kind: "api_token",
        subject_id: Some(id),
        detail: &name,
        row_count: None,
    };
    audit::record(&mut tx, &organiser.actor(), &entry).await?;
    tx.commit().await?;
    tracing::info!(token = %id, owner = %account.user.id, "API token created");
    Ok(TokenCreatedPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        u: texts(ctx.lang),
        path: ctx.path,
        token: token.expose().to_owned(),
        name,
        owner: account.user.email.to_string(),
    }
    .into_response())
}

async fn revoke_token(
    State(state): State<AppState>,
    organiser: Organiser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    organiser.require_admin()?;
    organiser.check_csrf(&body)?;
    let id = Uuid::parse_str(&id).map_err(|_| Error::NotFound)?;
    let mut tx = state.store.begin().await?;
    users::revoke_api_token(&mut tx, id).await?;
    let entry =
        Entry { action: "token.revoke", subject_kind: "api_token", subject_id: Some(id), detail: "", row_count: None };
    audit::record(&mut tx, &organiser.actor(), &entry).await?;
    tx.commit().await?;
    tracing::info!(token = %id, "API token revoked");
    Ok(Redirect::to("/admin/tokens").into_response())
}
