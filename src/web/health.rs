//! Liveness, readiness and metrics for the people and machines that run us.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
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

/// The database answers and every migration is applied.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ready().await {
        Ok(()) => (StatusCode::OK, "ready".to_owned()),
        Err(e) => {
            // The cause goes to the log only: database errors name hosts, users and tables.
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready: the database is unavailable or not migrated".to_owned())
        }
    }
}

/// Prometheus text format. Queue sizes are read from the database at scrape
/// time, so they are right whichever instance sent the mail.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
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
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}
