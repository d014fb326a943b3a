//! Organiser pages. For now the overview; each area adds its own pages.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::auth::Organiser;
use super::pages::MeetingView;
use super::{AppState, Ctx, Result};
use crate::i18n::{Lang, Texts};
use crate::store::meetings::MeetingFilter;
use crate::store::outbox::OutboxCounts;

/// Routes of the organiser workspace.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin", get(dashboard))
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/dashboard.html")]
struct Dashboard {
    lang: Lang,
    t: &'static Texts,
    path: String,
    user_email: String,
    role: &'static str,
    csrf: String,
    people: Vec<(String, i64)>,
    outbox: OutboxCounts,
    meetings: Vec<MeetingView>,
}

async fn dashboard(State(state): State<AppState>, ctx: Ctx, organiser: Organiser) -> Result<Dashboard> {
    let meetings = state.store.meetings(MeetingFilter::default()).await?;
    Ok(Dashboard {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        path: ctx.path,
        user_email: organiser.user.email.to_string(),
        role: organiser.user.role.as_str(),
        csrf: organiser.csrf,
        people: state.store.person_counts().await?,
        outbox: state.store.outbox_counts().await?,
        meetings: meetings.iter().map(|m| MeetingView::new(m, ctx.lang)).collect(),
    })
}
