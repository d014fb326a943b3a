//! The organiser workspace, every page under `/admin`: the dashboard, the
//! meetings with their invitations, materials, check-in, evaluation and
//! dossier, the mailing list, campaigns, exports, the annual picture,
//! accounts and the audit log. Every route here is behind
//! [`crate::web::auth::guard_pages`] (a live session) and in a route group
//! ([`crate::web::auth::needs`]) that names the role it needs.

pub mod audit;
pub mod campaigns;
pub mod charts;
pub mod checkin;
pub mod confirm;
pub mod dossier;
pub mod evaluation_texts;
pub mod evaluations;
pub mod exports;
pub mod home;
pub mod interests;
pub mod meetings;
pub mod people;
pub mod registrations;
pub mod reports;
pub mod users;
pub mod year;

use axum::Router;

use crate::config::Settings;
use crate::web::AppState;

/// The routes that take uploads, each with its own body limit: a meeting's
/// materials and the import of a list of people.
pub fn upload_router(settings: &Settings) -> Router<AppState> {
    meetings::upload_router(settings).merge(people::upload_router())
}

/// Every organiser page but the uploads ([`upload_router`]).
pub fn router() -> Router<AppState> {
    home::router()
        .merge(meetings::router())
        .merge(checkin::router())
        .merge(evaluations::router())
        .merge(evaluation_texts::router())
        .merge(registrations::router())
        .merge(reports::router())
        .merge(campaigns::router())
        .merge(people::router())
        .merge(interests::router())
        .merge(exports::router())
        .merge(users::router())
        .merge(audit::router())
        .merge(year::router())
        .merge(dossier::router())
}
