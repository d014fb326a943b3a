//! Organiser page for the interests people choose from when they join: the
//! forum's recurring themes by default (seeded by a migration), which
//! organisers add to, rename, reorder and remove here. Renaming keeps the key,
//! so people's choices and saved audiences stay; removing an interest removes
//! it from everyone's profile, and the page says how many that touches.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::domain::Name;
use crate::i18n::{Lang, Texts, texts};
use crate::store::audit::{self, Entry};
use crate::store::people::{self, Interest};
use crate::web::auth::{Need, Organiser, needs};
use crate::web::extract::{Fields, OrganiserForm, Path};
use crate::web::{AppState, Ctx, Result};

/// Routes of the interests page.
pub fn router() -> Router<AppState> {
    needs(Need::Read, Router::new().route("/admin/interests", get(page))).merge(needs(
        Need::Write,
        Router::new().route("/admin/interests", post(add)).route("/admin/interests/{key}", post(change)),
    ))
}

texts! {
    /// The texts of the interests page.
    pub struct InterestTexts {
        title => "Interesser", "Interests";
        intro => "Emnerne man kan vælge ved tilmelding og målrette invitationer efter. En omdøbning bevarer folks valg; \
                en fjernelse sletter emnet fra deres profiler.",
            "The themes people choose when they join and that invitations can be aimed at. Renaming keeps people's \
                choices; removing deletes the theme from their profiles.";
        chosen_by => "valgt af", "chosen by";
        title_da => "Dansk titel", "Danish title";
        title_en => "Engelsk titel", "English title";
        rename => "Gem titler", "Save titles";
        up => "Flyt op", "Move up";
        down => "Flyt ned", "Move down";
        remove => "Fjern", "Remove";
        remove_note => "Fjerner emnet fra alle, der har valgt det.", "Removes the theme from everyone who chose it.";
        add_heading => "Tilføj en interesse", "Add an interest";
        add => "Tilføj", "Add";
        none => "Der er ingen interesser.", "There are no interests.";
    }
}

/// What an organiser typed into one of the forms, with the message for the
/// field that was refused.
#[derive(Default)]
struct Entered {
    /// The interest the form was about; `None` for the form that adds one.
    key: Option<String>,
    title_da: String,
    title_en: String,
    /// (field id, message).
    error: Option<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/interests.html")]
struct InterestsPage {
    lang: Lang,
    t: &'static Texts,
    p: &'static InterestTexts,
    path: String,
    csrf: String,
    can_write: bool,
    interests: Vec<(Interest, i64)>,
    entered: Entered,
}

impl InterestsPage {
    /// The two title fields of each form: (language, label).
    fn title_fields(&self) -> [(&'static str, &'static str); 2] {
        [("da", self.p.title_da), ("en", self.p.title_en)]
    }

    /// The value to show in the field `which` (`da` or `en`) of the form for `key`.
    fn value(&self, key: Option<&str>, which: &str) -> String {
        if self.entered.key.as_deref() == key && self.entered.error.is_some() {
            return if which == "da" { self.entered.title_da.clone() } else { self.entered.title_en.clone() };
        }
        let found = key.and_then(|k| self.interests.iter().find(|(i, _)| i.key == k));
        match (found, which) {
            (Some((i, _)), "da") => i.title_da.clone(),
            (Some((i, _)), _) => i.title_en.clone(),
            (None, _) => String::new(),
        }
    }

    /// The message for the field with id `id`, if it was refused.
    fn error(&self, id: &str) -> Option<&str> {
        self.entered.error.as_ref().filter(|(f, _)| f == id).map(|(_, m)| m.as_str())
    }
}

async fn render(state: &AppState, ctx: &Ctx, organiser: &Organiser, entered: Entered) -> Result<InterestsPage> {
    Ok(InterestsPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        p: InterestTexts::get(ctx.lang),
        path: ctx.path.clone(),
        csrf: organiser.csrf.clone(),
        can_write: organiser.user.role.can_write(),
        interests: state.store.interest_counts().await?,
        entered,
    })
}

async fn page(State(state): State<AppState>, ctx: Ctx, organiser: Organiser) -> Result<InterestsPage> {
    render(&state, &ctx, &organiser, Entered::default()).await
}

/// Parses the two titles of a form; on failure, the entered values with the
/// message by the refused field (`prefix` + `-da`/`-en`).
fn titles(fields: &Fields, key: Option<&str>, prefix: &str, lang: Lang) -> std::result::Result<(Name, Name), Entered> {
    let (da, en) = (fields.get("title_da"), fields.get("title_en"));
    let refused = |which: &str, message: String| Entered {
        key: key.map(str::to_owned),
        title_da: da.to_owned(),
        title_en: en.to_owned(),
        error: Some((format!("{prefix}-{which}"), message)),
    };
    let title_da = Name::parse(da).map_err(|e| refused("da", lang.refused(e)))?;
    let title_en = Name::parse(en).map_err(|e| refused("en", lang.refused(e)))?;
    Ok((title_da, title_en))
}

async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let (da, en) = match titles(&fields, None, "new", ctx.lang) {
        Ok(t) => t,
        Err(entered) => {
            let page = render(&state, &ctx, &organiser, entered).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.store.begin().await?;
    let key = people::add_interest(&mut tx, &da, &en).await?;
    let entry =
        Entry { action: "interest.add", subject_kind: "interest", subject_id: None, detail: &key, row_count: None };
    audit::record(&mut tx, &organiser.actor(), &entry).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/interests").into_response())
}

async fn change(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(key): Path<String>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let mut tx = state.store.begin().await?;
    let action = match fields.get("action") {
        "up" | "down" => {
            people::move_interest(&mut tx, &key, fields.get("action") == "up").await?;
            "interest.move"
        }
        "remove" => {
            people::remove_interest(&mut tx, &key).await?;
            "interest.remove"
        }
        _ => match titles(&fields, Some(&key), &key, ctx.lang) {
            Ok((da, en)) => {
                people::rename_interest(&mut tx, &key, &da, &en).await?;
                "interest.rename"
            }
            Err(entered) => {
                drop(tx);
                let page = render(&state, &ctx, &organiser, entered).await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
            }
        },
    };
    let entry = Entry { action, subject_kind: "interest", subject_id: None, detail: &key, row_count: None };
    audit::record(&mut tx, &organiser.actor(), &entry).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/interests").into_response())
}
