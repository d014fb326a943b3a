//! The organisers' own pages: signing in and out, and changing one's
//! password. Throttling, the password checks and the audit entries are in
//! [`crate::forum::accounts`]; the session these pages start or end is read
//! by [`crate::web::auth::Organiser`].

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::auth::{Organiser, cookie_name};
use super::extract::OrganiserForm;
use super::{AppState, ClientIp, Ctx, Error, Result, safe_redirect};
use crate::forum::accounts::{self, PasswordChange};
use crate::forum::{ForumError, Refusal};
use crate::i18n::{Lang, Texts, texts};

/// Routes for signing in and out and changing one's password.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/admin/password", get(password_page).post(change_password))
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
    /// The message above the form: wrong details, or too many attempts.
    error: Option<&'static str>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(ctx: Ctx, Query(q): Query<NextQuery>) -> LoginPage {
    LoginPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        path: ctx.path,
        next: safe_redirect(q.next.as_deref()),
        email: String::new(),
        error: None,
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
    let page =
        LoginPage { lang: ctx.lang, t: ctx.lang.texts(), path: ctx.path, next, email: form.email, error: Some(error) };
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
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
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
