//! Liveness, readiness and metrics for the people and machines that run us.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;

/// `/healthz`, `/readyz` and `/metrics`.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// The process is alive.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers, every migration is applied, and the outbox worker
/// runs (when this instance runs one).
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if let Err(e) = state.store.ready().await {
        // The cause goes to the log only: database errors name hosts, users and tables.
        tracing::warn!(error = %e, "not ready");
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: the database is unavailable or not migrated");
    }
    if state.tasks.is_running(crate::supervise::OUTBOX) == Some(false) {
        // Stopped, or waiting to be restarted after a failure: mail is not going out.
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: the outbox worker is not running");
    }
    (StatusCode::OK, "ready")
}

/// Whether the request carries `Authorization: Bearer <token>`. The
/// comparison is of digests, so its time says nothing about the token.
fn bearer_is(headers: &HeaderMap, token: &str) -> bool {
    use sha2::{Digest, Sha256};
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    given.is_some_and(|g| Sha256::digest(g.as_bytes()) == Sha256::digest(token.as_bytes()))
}

/// Prometheus text format. Queue sizes are read from the database at scrape
/// time, so they are right whichever instance sent the mail. With
/// `server.metrics_token` set, only a scraper that sends it as a Bearer token
/// gets an answer.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = &state.settings.server.metrics_token;
    if !token.is_empty() && !bearer_is(&headers, token.expose()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
            "the metrics need a token: send Authorization: Bearer <server.metrics_token>",
        )
            .into_response();
    }
    let up = if let Ok(c) = state.store.outbox_counts().await {
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        for (status, n) in [("queued", c.queued), ("sending", c.sending), ("sent", c.sent), ("failed", c.failed)] {
            metrics::gauge!("dialogforum_outbox_messages", "status" => status).set(n as f64);
        }
        1.0
    } else {
        0.0
    };
    metrics::gauge!("dialogforum_database_up").set(up);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}
