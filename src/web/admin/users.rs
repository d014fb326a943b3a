//! Admin pages for accounts and API tokens: list, invite by mail with a role, change a
//! role, disable (which ends the account's sessions and stops its tokens,
//! so the page first says so and asks), and create (shown once) or revoke
//! API tokens. Admins only; every change is in the audit log.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::audit::when;
use super::confirm::ConfirmStep;
use crate::domain::{Email, Name, Role, Timestamp, UserId};
use crate::forum::accounts;
use crate::forum::{ForumError, Refusal};
use crate::i18n::{Lang, Texts, texts};
use crate::store::users::{Account, ApiTokenInfo};
use crate::web::auth::{Need, Organiser, needs};
use crate::web::extract::{OrganiserForm, Path};
use crate::web::forms::field_error;
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the account and token pages.
pub fn router() -> Router<AppState> {
    needs(
        Need::Admin,
        Router::new()
            .route("/admin/users", get(users_page).post(add_user))
            .route("/admin/users/{id}/role", post(change_role))
            .route("/admin/users/{id}/disable", post(disable))
            .route("/admin/users/{id}/enable", post(enable))
            .route("/admin/tokens", get(tokens_page).post(create_token))
            .route("/admin/tokens/{id}/revoke", post(revoke_token)),
    )
}

texts! {
    /// The words of these pages.
    pub struct UserTexts {
        users_title => "Brugere", "Users";
        tokens_title => "API-nøgler", "API tokens";
        role => "Rolle", "Role";
        state => "Tilstand", "State";
        active => "aktiv", "active";
        disabled => "spærret", "disabled";
        created => "Oprettet", "Created";
        change_role => "Skift rolle", "Change role";
        disable => "Spær …", "Disable …";
        disable_heading => "Spær brugeren?", "Disable the user?";
        disable_button => "Ja, spær brugeren", "Yes, disable the user";
        disable_after => "Brugeren kan genåbnes senere.",
            "The user can be enabled again later.";
        enable => "Genåbn", "Enable";
        add_user => "Invitér en bruger", "Invite a user";
        invite_intro => "Brugeren får en mail med et link til selv at vælge sin adgangskode. Linket virker én gang.",
            "The user gets a mail with a link to choose their own password. The link works once.";
        add_button => "Send invitationen", "Send the invitation";
        invited => "inviteret, har ikke valgt adgangskode endnu", "invited, has not chosen a password yet";
        invite_sent => "Invitationen er sendt. Brugeren vælger selv sin adgangskode fra linket i mailen.",
            "The invitation is sent. The user chooses their own password from the link in the mail.";
        not_yourself => "Du kan ikke spærre dig selv eller fjerne din egen administratorrolle.",
            "You cannot disable yourself or take away your own admin role.";
        taken => "Der findes allerede en bruger med den adresse.", "There is already a user with this address.";
        token_name => "Navn på nøglen", "Name of the token";
        owner => "Ejer", "Owner";
        last_used => "Sidst brugt", "Last used";
        revoked => "tilbagekaldt", "revoked";
        revoke => "Tilbagekald", "Revoke";
        create_token => "Opret API-nøgle", "Create an API token";
        create_button => "Opret", "Create";
        show_all => "Alle nøgler", "All tokens";
        show_mine => "Mine nøgler", "My tokens";
        token_created => "API-nøglen er oprettet", "The API token is created";
        token_once => "Kopiér nøglen nu. Den vises kun denne ene gang og gemmes kun som et fingeraftryk.",
            "Copy the token now. It is shown this once only and stored only as a fingerprint.";
        token_label => "Nøgle", "Token";
        back => "Tilbage til API-nøglerne", "Back to the API tokens";
        never => "aldrig", "never";
        expires => "Udløber", "Expires";
        expired => "udløbet", "expired";
        expires_days => "Gyldig i dage", "Valid for days";
        expires_hint => "Tom = indtil den tilbagekaldes. Højst 3650.", "Empty = until it is revoked. At most 3650.";
        expiry_range => "Skriv et antal dage fra 1 til 3650, eller lad feltet stå tomt.",
            "Enter a number of days from 1 to 3650, or leave the field empty.";
    }
}

/// One account as a row.
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: &'static str,
    pub disabled: bool,
    /// Invited, with no password chosen yet.
    pub invited: bool,
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
        invited: a.invited,
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
    /// Disabling an account, asked before it is done.
    confirm: Option<ConfirmStep>,
    /// What was just done.
    notice: Option<&'static str>,
}

impl UsersPage {
    /// Each role's code and its name, for the role menus.
    fn roles(&self) -> Vec<(&'static str, &'static str)> {
        Role::ALL.iter().map(|r| (r.as_str(), self.lang.role(*r))).collect()
    }

    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }
}

async fn users_view(state: &AppState, ctx: &Ctx, organiser: &Organiser) -> Result<UsersPage> {
    let accounts = state.store.accounts().await?;
    Ok(UsersPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        u: UserTexts::get(ctx.lang),
        path: ctx.path.clone(),
        csrf: organiser.csrf.clone(),
        rows: accounts.iter().map(|a| user_row(a, organiser.user.id, ctx.lang)).collect(),
        email: String::new(),
        name: String::new(),
        role: "organiser".to_owned(),
        errors: Vec::new(),
        confirm: None,
        notice: None,
    })
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn users_page(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Query(q): Query<DoneQuery>,
) -> Result<UsersPage> {
    let mut page = users_view(&state, &ctx, &organiser).await?;
    page.notice = (q.done.as_deref() == Some("invited")).then_some(page.u.invite_sent);
    Ok(page)
}

/// Invites a new organiser by mail ([`accounts::invite`]): the account gets
/// no password until its owner chooses one from the link.
async fn add_user(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let u = UserTexts::get(ctx.lang);
    let mut errors = Vec::new();
    let email = Email::parse(fields.get("email")).map_err(|e| errors.push(("email", ctx.lang.refused(e)))).ok();
    let role = Role::parse(fields.get("role")).map_err(|e| errors.push(("role", ctx.lang.refused(e)))).ok();
    let typed_name = fields.get("name").trim();
    let name = if typed_name.is_empty() {
        Some(String::new())
    } else {
        Name::parse(typed_name)
            .map(|n| n.as_str().to_owned())
            .map_err(|e| errors.push(("name", ctx.lang.refused(e))))
            .ok()
    };
    let refuse = |mut errors: Vec<(&'static str, String)>, page: UsersPage| {
        let mut page = page;
        fields.get("email").clone_into(&mut page.email);
        typed_name.clone_into(&mut page.name);
        fields.get("role").clone_into(&mut page.role);
        page.errors.append(&mut errors);
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    };
    let (Some(email), Some(role), Some(name), true) = (email, role, name, errors.is_empty()) else {
        return Ok(refuse(errors, users_view(&state, &ctx, &organiser).await?));
    };
    let invitee = accounts::Invitee { email, name, role };
    match accounts::invite(&state.forum, &state.settings.security, &organiser.user, &invitee, ctx.lang).await {
        Ok(_) => Ok(Redirect::to("/admin/users?done=invited").into_response()),
        Err(ForumError::Refused(Refusal::AddressKnown)) => {
            Ok(refuse(vec![("email", u.taken.to_owned())], users_view(&state, &ctx, &organiser).await?))
        }
        Err(e) => Err(e.into()),
    }
}

/// Refuses changes to one's own account that could lock every admin out.
async fn refuse_self(state: &AppState, ctx: &Ctx, organiser: &Organiser, id: UserId) -> Result<Option<Response>> {
    if id != organiser.user.id {
        return Ok(None);
    }
    let mut page = users_view(state, ctx, organiser).await?;
    page.errors.push(("users", UserTexts::get(ctx.lang).not_yourself.to_owned()));
    Ok(Some((StatusCode::UNPROCESSABLE_ENTITY, page).into_response()))
}

async fn change_role(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<UserId>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let role = Role::parse(fields.get("role")).map_err(|e| Error::invalid("role", ctx.lang.refused(e)))?;
    if role != Role::Admin
        && let Some(refused) = refuse_self(&state, &ctx, &organiser, id).await?
    {
        return Ok(refused);
    }
    accounts::set_role(&state.store, &organiser.actor(), id, role).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

async fn set_disabled(state: AppState, ctx: Ctx, organiser: Organiser, id: UserId, disabled: bool) -> Result<Response> {
    if disabled && let Some(refused) = refuse_self(&state, &ctx, &organiser, id).await? {
        return Ok(refused);
    }
    accounts::set_disabled(&state.store, &organiser.actor(), id, disabled).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

/// Disables an account once the admin has confirmed it; the first press says
/// whose sessions end and how many tokens stop working.
async fn disable(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<UserId>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    if fields.get("confirm") == "yes" {
        return set_disabled(state, ctx, organiser, id, true).await;
    }
    if let Some(refused) = refuse_self(&state, &ctx, &organiser, id).await? {
        return Ok(refused);
    }
    let account = state.store.account(id).await?;
    let now = Timestamp::now();
    let tokens = state
        .store
        .api_tokens(Some(id))
        .await?
        .iter()
        .filter(|t| t.revoked_at.is_none() && t.expires_at.is_none_or(|at| at > now))
        .count();
    let what = disable_words(ctx.lang, &account.user.email.to_string(), tokens);
    let u = UserTexts::get(ctx.lang);
    let mut page = users_view(&state, &ctx, &organiser).await?;
    page.confirm = Some(
        ConfirmStep::new(
            ctx.lang,
            u.disable_heading,
            vec![what, u.disable_after.to_owned()],
            format!("/admin/users/{}/disable", id.uuid()),
            u.disable_button,
        )
        .back_to("/admin/users".to_owned()),
    );
    Ok(page.into_response())
}

/// What disabling the account at `email` with `tokens` API tokens in use does.
fn disable_words(lang: Lang, email: &str, tokens: usize) -> String {
    match lang {
        Lang::Da => format!(
            "{email} spærres: brugerens sessioner slutter med det samme, brugeren kan ikke logge ind, og {}.",
            match tokens {
                0 => "brugeren har ingen API-nøgler i brug".to_owned(),
                1 => "brugerens ene API-nøgle holder op med at virke".to_owned(),
                n => format!("brugerens {n} API-nøgler holder op med at virke"),
            }
        ),
        Lang::En => format!(
            "{email} is disabled: the user's sessions end at once, the user cannot sign in, and {}.",
            match tokens {
                0 => "the user has no API tokens in use".to_owned(),
                1 => "the user's one API token stops working".to_owned(),
                n => format!("the user's {n} API tokens stop working"),
            }
        ),
    }
}

async fn enable(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<UserId>,
    OrganiserForm { organiser, .. }: OrganiserForm,
) -> Result<Response> {
    set_disabled(state, ctx, organiser, id, false).await
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
        field_error(&self.errors, field)
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
        u: UserTexts::get(ctx.lang),
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
    tokens_view(&state, &ctx, &organiser, q.mine.as_deref() == Some("1")).await
}

async fn create_token(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let name = fields.get("name").trim().to_owned();
    let account = token_owner(&state, &organiser, fields.get("owner")).await;
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push(("name", ctx.lang.texts().required.to_owned()));
    }
    let expires_days = expiry_field(fields.get("expires_days"), ctx.lang, &mut errors);
    let (Some(account), true) = (account, errors.is_empty()) else {
        if errors.is_empty() {
            errors.push(("owner", ctx.lang.texts().required.to_owned()));
        }
        let mut page = tokens_view(&state, &ctx, &organiser, false).await?;
        page.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let token = accounts::create_token(&state.store, &organiser.actor(), account.user.id, &name, expires_days).await?;
    Ok(TokenCreatedPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        u: UserTexts::get(ctx.lang),
        path: ctx.path,
        token: token.expose().to_owned(),
        name,
        owner: account.user.email.to_string(),
    }
    .into_response())
}

/// The enabled account a new token is for: the one chosen as `owner`, or
/// (when none is chosen) the organiser's own.
async fn token_owner(state: &AppState, organiser: &Organiser, owner: &str) -> Option<Account> {
    let id = match owner {
        "" => Some(organiser.user.id),
        id => id.parse().ok(),
    }?;
    state.store.account(id).await.ok().filter(|a| a.disabled_at.is_none())
}

/// In how many days a new token expires (none when left empty): 1 to 3650.
fn expiry_field(typed: &str, lang: Lang, errors: &mut Vec<(&'static str, String)>) -> Option<u16> {
    match typed.trim() {
        "" => None,
        days => {
            let valid = days.parse::<u16>().ok().filter(|d| (1..=3650).contains(d));
            if valid.is_none() {
                errors.push(("expires_days", UserTexts::get(lang).expiry_range.to_owned()));
            }
            valid
        }
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    OrganiserForm { organiser, .. }: OrganiserForm,
) -> Result<Response> {
    accounts::revoke_token(&state.store, &organiser.actor(), id).await?;
    Ok(Redirect::to("/admin/tokens").into_response())
}
