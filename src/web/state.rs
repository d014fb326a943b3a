//! What every handler can reach.

use std::ops::Deref;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::Notify;

use crate::config::Settings;
use crate::mail::Composer;
use crate::store::Store;

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The parts of [`AppState`].
pub struct Inner {
    pub store: Store,
    pub settings: Settings,
    pub composer: Composer,
    /// Wakes the outbox worker after mail was queued.
    pub mail_wake: Arc<Notify>,
    /// Wakes the campaign runner after a campaign was created.
    pub campaign_wake: Arc<Notify>,
    pub metrics: PrometheusHandle,
    /// The use cases, which pages and the API call.
    pub forum: crate::forum::Forum,
    /// The forum's permits for password checks, for the metrics and tests.
    pub password_checks: Arc<tokio::sync::Semaphore>,
    /// The background tasks, for readiness.
    pub tasks: crate::supervise::Tasks,
    /// The public pages as rendered.
    pub pages: Arc<crate::web::public::cache::PageCache>,
}

impl AppState {
    /// Bundles the parts.
    #[must_use]
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
}

impl AppState {
    /// The fewest answers a group of an evaluation's breakdown needs to be shown.
    #[must_use]
    pub fn breakdown_minimum(&self) -> crate::domain::evaluation::BreakdownMinimum {
        crate::domain::evaluation::BreakdownMinimum::new(self.settings.evaluation.breakdown_minimum)
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
