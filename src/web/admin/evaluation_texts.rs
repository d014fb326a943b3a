//! Reading free-text evaluation answers before they show: an organiser can
//! hold a meeting's free-text answers back, read them here and release them
//! one by one into the results, the API and the exports.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::domain::MeetingId;
use crate::forum::evaluations as use_case;
use crate::i18n::{Lang, Texts, texts};
use crate::web::auth::Organiser;
use crate::web::auth::{Need, needs};
use crate::web::extract::{MeetingForm, Path};
use crate::web::{AppState, Ctx, Error, Result};

texts! {
    /// The words of the review page.
    pub struct ReviewTexts {
        title => "Fritekstsvar til gennemsyn", "Free-text answers to review";
        intro => "Fritekstsvar kan holdes tilbage, til en arrangør har læst dem, så et navn eller en \
                  personlig oplysning ikke kommer med i resultaterne ved et uheld. Et frigivet svar vises i \
                  resultaterne, i API'et og i eksporterne; ændrer nogen sit svar, holdes det tilbage igen.",
            "Free-text answers can be held back until an organiser has read them, so that a name or a personal \
             detail does not reach the results by accident. A released answer shows in the results, the API and \
             the exports; if someone changes their answer, it is held back again.";
        hold => "Hold fritekstsvar tilbage, til de er læst", "Hold free-text answers back until they are read";
        save => "Gem", "Save";
        held => "Svar, der venter", "Answers waiting";
        none => "Ingen svar venter på gennemsyn.", "No answers are waiting to be read.";
        release => "Frigiv", "Release";
        results => "Resultater", "Results";
    }
}

/// Routes of the review page.
pub fn router() -> Router<AppState> {
    needs(Need::Read, Router::new().route("/admin/meetings/{id}/evaluation/texts", get(page))).merge(needs(
        Need::Write,
        Router::new()
            .route("/admin/meetings/{id}/evaluation/texts/hold", post(hold))
            .route("/admin/meetings/{id}/evaluation/texts/release", post(release)),
    ))
}

/// A held answer as the page shows it.
pub struct HeldView {
    pub question: String,
    pub text: String,
    pub response: String,
    pub key: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/evaluation_texts.html")]
struct ReviewPage {
    lang: Lang,
    t: &'static Texts,
    r: &'static ReviewTexts,
    path: String,
    csrf: String,
    meeting_id: String,
    title: String,
    holding: bool,
    held: Vec<HeldView>,
}

impl ReviewPage {
    /// The review page has no field that can be refused.
    #[allow(clippy::unused_self)]
    const fn error(&self, _id: &str) -> Option<&str> {
        None
    }
}

async fn page(State(state): State<AppState>, ctx: Ctx, o: Organiser, Path(id): Path<MeetingId>) -> Result<ReviewPage> {
    // What nobody has read yet may name someone: it is for those who release it.
    if !o.user.role.can_write() {
        return Err(Error::Forbidden("reading held answers needs the organiser or admin role"));
    }
    let meeting = state.store.meeting(id).await?;
    let e = state.store.evaluation_or_default(meeting.id).await?;
    let en = ctx.lang == Lang::En;
    let held = state
        .store
        .held_texts(meeting.id)
        .await?
        .into_iter()
        .map(|h| {
            let q = e.questionnaire.questions.iter().find(|q| q.key == h.question_key);
            let question =
                q.map_or_else(String::new, |q| if en && !q.en.is_empty() { q.en.clone() } else { q.da.clone() });
            HeldView { question, text: h.text, response: h.response.to_string(), key: h.question_key }
        })
        .collect();
    Ok(ReviewPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        r: ReviewTexts::get(ctx.lang),
        path: ctx.path,
        csrf: o.csrf.clone(),
        meeting_id: meeting.id.to_string(),
        title: meeting.title.clone(),
        holding: e.hold_texts,
        held,
    })
}

async fn hold(
    State(state): State<AppState>,
    MeetingForm { meeting, organiser: o, fields }: MeetingForm,
) -> Result<Response> {
    use_case::hold_texts(&state.forum, &o.actor(), &meeting, fields.get("hold") == "yes").await?;
    Ok(Redirect::to(&format!("/admin/meetings/{}/evaluation/texts", meeting.id)).into_response())
}

async fn release(
    State(state): State<AppState>,
    MeetingForm { meeting, organiser: o, fields }: MeetingForm,
) -> Result<Response> {
    let response: uuid::Uuid = fields.get("response").parse().map_err(|_| Error::NotFound)?;
    use_case::release_text(&state.forum, &o.actor(), &meeting, response, fields.get("key")).await?;
    Ok(Redirect::to(&format!("/admin/meetings/{}/evaluation/texts#held", meeting.id)).into_response())
}
