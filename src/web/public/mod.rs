//! What anyone may open, without an account: the forum's pages, joining and
//! leaving the list, the personal pages behind a link in a mail (answering an
//! invitation, the profile, the evaluation form), and the privacy notice and
//! accessibility statement a public body owes its visitors.

pub mod cache;
pub mod evaluation;
pub mod links;
pub mod pages;
pub mod profile;
pub mod rsvp;
pub mod statements;
pub mod subscribe;

use axum::Router;

pub use pages::dress_errors;

use crate::web::AppState;

/// Every public page.
pub fn router() -> Router<AppState> {
    pages::router()
        .merge(subscribe::router())
        .merge(rsvp::router())
        .merge(evaluation::router())
        .merge(profile::router())
        .merge(statements::router())
        .merge(links::router())
}
