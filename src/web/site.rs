//! The secretariat's contact for the footer of every page and for the pages
//! that tell people to contact it, kept for the request being served: the
//! shared layout shows it without every page's values carrying it.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Contact;
use crate::web::AppState;

tokio::task_local! {
    /// The contact of the service answering the request.
    static CONTACT: Contact;
}

/// Serves the request with the configured contact at hand for its pages.
pub async fn provide(State(state): State<AppState>, req: Request, next: Next) -> Response {
    CONTACT.scope(state.settings.contact.clone(), next.run(req)).await
}

/// The secretariat's contact, for templates; `None` outside a request (a
/// page rendered by a test, say).
#[must_use]
pub fn contact() -> Option<Contact> {
    CONTACT.try_with(Clone::clone).ok()
}
