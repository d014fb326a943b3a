//! The organisers' own pages: signing in and out, changing one's password,
//! asking for a reset link when it is forgotten, and choosing a password
//! from a mailed link (a reset or an admin's invitation). Throttling, the password checks and the audit entries are in
//! [`crate::forum::accounts`]; the session these pages start or end is read
//! by [`crate::web::auth::Organiser`].

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::auth::{Need, Organiser, cookie_name, needs};
use super::extract::{Fields, OrganiserForm};
use super::forms::{field_error, message};
use super::{AppState, ClientIp, Ctx, Error, Result, safe_redirect};
use crate::domain::{Email, Token};
use crate::forum::accounts::{self, LinkRefused, PasswordChange};
use crate::forum::{ForumError, Refusal};
use crate::i18n::{Lang, Texts, texts};
use crate::store::users::AccountLinkPurpose;

/// Routes for signing in and out and changing one's password.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/login/forgot", get(forgot_page).post(forgot))
        .route("/login/password/{token}", get(link_page).post(set_by_link))
        .merge(needs(
            Need::Own,
            Router::new()
                .route("/logout", post(logout))
                .route("/admin/password", get(password_page).post(change_password)),
        ))
}

texts! {
    /// Words of the login and password pages that the shared texts lack.
    pub struct AuthTexts {
        throttled => "For mange forsøg på at logge ind. Vent et kvarter, og prøv igen.",
            "Too many sign-in attempts. Wait a quarter of an hour and try again.";
        password_title => "Skift adgangskode", "Change password";
        current_password => "Nuværende adgangskode", "Current password";
        new_password => "Ny adgangskode", "New password";
        repeat_password => "Gentag den nye adgangskode", "Repeat the new password";
        password_hint => "Mindst 12 tegn. Når du skifter, bliver du logget ud alle andre steder.",
            "At least 12 characters. Changing it signs you out everywhere else.";
        change_button => "Skift adgangskode", "Change password";
        changed => "Adgangskoden er skiftet, og dine andre sessioner er afsluttet.",
            "The password is changed, and your other sessions have ended.";
        wrong_current => "Den nuværende adgangskode er forkert.", "The current password is wrong.";
        mismatch => "De to nye adgangskoder er ikke ens.", "The two new passwords differ.";
        forgot_link => "Glemt adgangskode?", "Forgot your password?";
        forgot_title => "Glemt adgangskode", "Forgotten password";
        forgot_intro => "Skriv den mailadresse, du logger ind med. Hører den til en konto, får du en mail med et link til at vælge en ny adgangskode.",
            "Enter the mail address you sign in with. If it belongs to an account, you get a mail with a link to choose a new password.";
        forgot_button => "Send mig et link", "Send me a link";
        back_to_login => "Tilbage til log ind", "Back to sign-in";
        forgot_sent_title => "Tjek din mail", "Check your mail";
        forgot_sent_text => "Hører adressen til en konto, har vi sendt et link til at vælge en ny adgangskode. Linket virker én gang og i en time. Kommer der ingen mail, så tjek adressen eller spørg en administrator.",
            "If the address belongs to an account, we have sent a link to choose a new password. The link works once and for an hour. If no mail arrives, check the address or ask an admin.";
        throttled_reset => "For mange forespørgsler fra din adresse. Vent en time, og prøv igen.",
            "Too many requests from your address. Wait an hour and try again.";
        reset_title => "Vælg en ny adgangskode", "Choose a new password";
        invite_title => "Velkommen til Dialogforum", "Welcome to Dialogforum";
        choose_intro => "Vælg adgangskoden til kontoen", "Choose the password of the account";
        new_password_hint => "Mindst 12 tegn. Du bliver logget ud alle andre steder.",
            "At least 12 characters. You are signed out everywhere else.";
        set_button => "Gem adgangskoden", "Save the password";
        link_gone_title => "Linket virker ikke", "The link does not work";
        link_gone_text => "Linket er brugt, udløbet eller ukendt. Bed om et nyt link til at vælge en adgangskode.",
            "The link has been used, has expired or is unknown. Ask for a new link to choose a password.";
        password_set => "Adgangskoden er gemt. Log ind med den nye adgangskode.",
            "The password is saved. Sign in with the new password.";
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    next: String,
    email: String,
    a: &'static AuthTexts,
    /// The message above the form: wrong details, or too many attempts.
    error: Option<&'static str>,
    /// What was just done (a password set from a mailed link).
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
    done: Option<String>,
}

async fn login_page(ctx: Ctx, Query(q): Query<NextQuery>) -> LoginPage {
    let a = AuthTexts::get(ctx.lang);
    LoginPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        path: ctx.path,
        next: safe_redirect(q.next.as_deref()),
        email: String::new(),
        a,
        error: None,
        notice: (q.done.as_deref() == Some("password")).then_some(a.password_set),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// Signs an organiser in through [`accounts::sign_in`], which counts and
/// throttles the attempts; the session token becomes the cookie.
async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    ip: ClientIp,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response> {
    let next = safe_redirect(form.next.as_deref());
    let signed_in = accounts::sign_in(&state.forum, &state.settings.security, &form.email, form.password, &ip.0).await;
    let (status, error) = match signed_in {
        Ok((_, token)) => {
            let mut res = Redirect::to(if next == "/" { "/admin" } else { &next }).into_response();
            set_cookie(&state, &mut res, token.expose(), "")?;
            return Ok(res);
        }
        Err(ForumError::Refused(Refusal::Throttled)) => {
            (StatusCode::TOO_MANY_REQUESTS, AuthTexts::get(ctx.lang).throttled)
        }
        Err(ForumError::Refused(Refusal::WrongPassword)) => (StatusCode::UNAUTHORIZED, ctx.lang.texts().login_failed),
        Err(e) => return Err(e.into()),
    };
    let page = LoginPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        path: ctx.path,
        next,
        email: form.email,
        a: AuthTexts::get(ctx.lang),
        error: Some(error),
        notice: None,
    };
    Ok((status, page).into_response())
}

/// Sets the session cookie to `value`, with `extra` attributes.
fn set_cookie(state: &AppState, res: &mut Response, value: &str, extra: &str) -> Result<()> {
    let secure = if state.settings.is_https() { "; Secure" } else { "" };
    let cookie = format!("{}={value}; Path=/; HttpOnly; SameSite=Lax{extra}{secure}", cookie_name(state));
    res.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| Error::Internal(e.into()))?);
    Ok(())
}

async fn logout(State(state): State<AppState>, OrganiserForm { organiser, .. }: OrganiserForm) -> Result<Response> {
    state.store.delete_session(&organiser.session).await?;
    let mut res = Redirect::to("/").into_response();
    set_cookie(&state, &mut res, "", "; Max-Age=0")?;
    Ok(res)
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/password.html")]
struct PasswordPage {
    lang: Lang,
    t: &'static Texts,
    a: &'static AuthTexts,
    path: String,
    csrf: String,
    errors: Vec<(&'static str, String)>,
    changed: bool,
}

impl PasswordPage {
    fn new(ctx: &Ctx, organiser: &Organiser) -> Self {
        Self {
            lang: ctx.lang,
            t: ctx.lang.texts(),
            a: AuthTexts::get(ctx.lang),
            path: ctx.path.clone(),
            csrf: organiser.csrf.clone(),
            errors: Vec::new(),
            changed: false,
        }
    }

    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }
}

async fn password_page(ctx: Ctx, organiser: Organiser) -> PasswordPage {
    PasswordPage::new(&ctx, &organiser)
}

/// Changes the signed-in organiser's password and ends their other sessions
/// ([`accounts::change_password`]).
async fn change_password(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let (current, new) = (fields.get("current").to_owned(), fields.get("new").to_owned());
    let changed = accounts::change_password(
        &state.forum,
        &organiser.user,
        &organiser.session,
        current,
        new,
        fields.get("repeat"),
    )
    .await?;
    let mut page = PasswordPage::new(&ctx, &organiser);
    let Err(problems) = changed else {
        page.changed = true;
        return Ok(page.into_response());
    };
    let a = AuthTexts::get(ctx.lang);
    page.errors = problems
        .into_iter()
        .map(|p| match p {
            PasswordChange::WrongCurrent => ("current", a.wrong_current.to_owned()),
            PasswordChange::Refused(e) => ("new", ctx.lang.refused(e)),
            PasswordChange::Mismatch => ("repeat", a.mismatch.to_owned()),
        })
        .collect();
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    lang: Lang,
    t: &'static Texts,
    a: &'static AuthTexts,
    path: String,
    email: String,
    error: Option<String>,
}

async fn forgot_page(ctx: Ctx) -> ForgotPage {
    ForgotPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        a: AuthTexts::get(ctx.lang),
        path: ctx.path,
        email: String::new(),
        error: None,
    }
}

/// Asks [`accounts::request_reset`] for a reset link; the answer is the same
/// for every well-formed address, known or not.
async fn forgot(State(state): State<AppState>, ctx: Ctx, ip: ClientIp, fields: Fields) -> Result<Response> {
    let a = AuthTexts::get(ctx.lang);
    let typed = fields.get("email");
    let email = match Email::parse(typed) {
        Ok(e) => e,
        Err(e) => {
            let page = ForgotPage {
                lang: ctx.lang,
                t: ctx.lang.texts(),
                a,
                path: ctx.path,
                email: typed.to_owned(),
                error: Some(ctx.lang.refused(e)),
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    match accounts::request_reset(&state.forum, &state.settings.security, &email, ctx.lang, &ip.0).await {
        Ok(()) => {}
        Err(ForumError::Refused(Refusal::Throttled)) => {
            let page = message(&ctx, a.forgot_title, a.throttled_reset);
            return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
        }
        Err(e) => return Err(e.into()),
    }
    let mut page = message(&ctx, a.forgot_sent_title, a.forgot_sent_text);
    page.link = Some(("/login", a.back_to_login));
    Ok(page.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "password_set.html")]
struct SetPasswordPage {
    lang: Lang,
    t: &'static Texts,
    a: &'static AuthTexts,
    path: String,
    title: &'static str,
    intro: String,
    /// The account's address, for password managers.
    email: String,
    errors: Vec<(&'static str, String)>,
}

impl SetPasswordPage {
    fn new(ctx: &Ctx, link: &crate::store::users::AccountLink) -> Self {
        let a = AuthTexts::get(ctx.lang);
        let title = match link.purpose {
            AccountLinkPurpose::Reset => a.reset_title,
            AccountLinkPurpose::Invite => a.invite_title,
        };
        Self {
            lang: ctx.lang,
            t: ctx.lang.texts(),
            a,
            path: ctx.path.clone(),
            title,
            intro: format!("{} {}.", a.choose_intro, link.user.email),
            email: link.user.email.to_string(),
            errors: Vec::new(),
        }
    }

    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }
}

/// The answer to a link that does not work: 410 with a way to a new one.
fn link_gone(ctx: &Ctx) -> Response {
    let a = AuthTexts::get(ctx.lang);
    let mut page = message(ctx, a.link_gone_title, a.link_gone_text);
    page.link = Some(("/login/forgot", a.forgot_link));
    (StatusCode::GONE, page).into_response()
}

/// The page a mailed link opens: a form for the new password. Opening it
/// changes nothing.
async fn link_page(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>) -> Result<Response> {
    let Some(token) = Token::from_presented(&raw) else { return Ok(link_gone(&ctx)) };
    match accounts::account_link(&state.forum, &token).await? {
        Some(link) => Ok(SetPasswordPage::new(&ctx, &link).into_response()),
        None => Ok(link_gone(&ctx)),
    }
}

/// Sets the password from a mailed link ([`accounts::set_password_by_link`])
/// and sends the organiser to sign in with it.
async fn set_by_link(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw): Path<String>,
    fields: Fields,
) -> Result<Response> {
    let Some(token) = Token::from_presented(&raw) else { return Ok(link_gone(&ctx)) };
    let Some(link) = accounts::account_link(&state.forum, &token).await? else { return Ok(link_gone(&ctx)) };
    let set = accounts::set_password_by_link(&state.forum, &token, fields.get("new").to_owned(), fields.get("repeat"))
        .await?;
    let a = AuthTexts::get(ctx.lang);
    let error = match set {
        Ok(_) => return Ok(Redirect::to("/login?done=password").into_response()),
        Err(LinkRefused::Unusable) => return Ok(link_gone(&ctx)),
        Err(LinkRefused::Password(e)) => ("new", ctx.lang.refused(e)),
        Err(LinkRefused::Mismatch) => ("repeat", a.mismatch.to_owned()),
    };
    let mut page = SetPasswordPage::new(&ctx, &link);
    page.errors.push(error);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
