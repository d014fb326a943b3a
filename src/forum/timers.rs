//! The service's timers, each a supervised task of its own (see
//! [`crate::supervise`]): the campaign runner, which expands due campaigns
//! and marks them done when their last message is sent or has failed; the
//! reminders before deadlines and meetings; the draw of lottery meetings when
//! their application window closes; and the hourly retention purge.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{Notify, watch};

use crate::domain::CampaignId;
use crate::mail::MailContext;
use crate::mail::compose::campaign::expand;
use crate::store::Store;
use crate::store::campaigns::{Attempt, EXPANSION_ATTEMPTS};

/// Expands campaigns as they fall due, and marks campaigns done when their
/// last message is sent or has failed, until `shutdown` turns true. A
/// campaign that fails to expand, or panics on the way, is retried `retry`
/// later and set aside as `failed` after its last attempt
/// ([`EXPANSION_ATTEMPTS`]); the campaigns after it go out meanwhile.
///
/// # Errors
/// The database failed; the supervisor starts the runner again.
pub async fn run(
    store: Store,
    ctx: Arc<MailContext>,
    retry: Duration,
    wake: Arc<Notify>,
    mail_wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let retry = jiff::SignedDuration::try_from(retry).unwrap_or(jiff::SignedDuration::MAX);
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        while let Some(attempt) = store.begin_expansion(retry).await.context("beginning a campaign's expansion")? {
            match expand_isolated(&store, &ctx, attempt.campaign).await {
                Ok(Some(n)) => {
                    tracing::info!(campaign = %attempt.campaign, messages = n, "campaign expanded");
                    mail_wake.notify_one();
                }
                Ok(None) => {}
                Err(Failure::DatabaseAway(e)) => {
                    let _ = store.refund_expansion_attempt(attempt.campaign).await;
                    return Err(e.context("expanding a campaign"));
                }
                Err(Failure::Campaign(reason)) => set_aside_or_retry(&store, attempt, &reason, retry).await?,
            }
        }
        store.finish_campaigns().await.context("updating campaign states")?;
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Why an expansion did not happen.
enum Failure {
    /// The database could not be reached: nothing is known about the campaign.
    DatabaseAway(anyhow::Error),
    /// The campaign itself could not be expanded; the reason is for organisers.
    Campaign(String),
}

/// The longest failure reason kept, in characters.
const REASON_CHARS: usize = 1000;

/// Expands campaign `id` in a task of its own, so that a panic on the way
/// is caught and reported like an error.
async fn expand_isolated(store: &Store, ctx: &Arc<MailContext>, id: CampaignId) -> Result<Option<usize>, Failure> {
    let (store, ctx) = (store.clone(), Arc::clone(ctx));
    let outcome = tokio::spawn(async move { expand(&store, &ctx, id).await }).await;
    let reason = match outcome {
        Ok(Ok(n)) => return Ok(n),
        Ok(Err(e)) if database_away(&e) => return Err(Failure::DatabaseAway(e)),
        Ok(Err(e)) => format!("{e:#}"),
        Err(e) if e.is_panic() => format!("panicked: {}", crate::supervise::panic_message(e.into_panic())),
        Err(e) => e.to_string(),
    };
    Err(Failure::Campaign(reason.chars().take(REASON_CHARS).collect()))
}

/// Whether `e` says the database could not be reached, rather than anything about the campaign.
fn database_away(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| matches!(c.downcast_ref::<crate::store::StoreError>(), Some(crate::store::StoreError::Unavailable(_))))
}

/// Records a failed attempt: the campaign waits `retry` for the next, or
/// after its last is set aside as `failed`.
async fn set_aside_or_retry(
    store: &Store,
    attempt: Attempt,
    reason: &str,
    retry: jiff::SignedDuration,
) -> anyhow::Result<()> {
    let id = attempt.campaign;
    match store.record_expansion_failure(id, reason).await.context("recording a campaign's failure")?.as_deref() {
        Some("failed") => tracing::error!(
            campaign = %id,
            attempt = attempt.number,
            reason,
            "campaign could not be expanded; set aside as failed"
        ),
        Some(_) => tracing::warn!(
            campaign = %id,
            attempt = attempt.number,
            of = EXPANSION_ATTEMPTS,
            retry_secs = retry.as_secs(),
            reason,
            "campaign could not be expanded; tried again later"
        ),
        None => {}
    }
    Ok(())
}

/// Queues due reminders once a second until `shutdown` turns true.
///
/// # Errors
/// The database failed or a reminder could not be built; the supervisor
/// starts the loop again.
pub async fn run_reminders(
    store: Store,
    ctx: Arc<MailContext>,
    reminders: crate::config::Reminders,
    mail_wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        if crate::mail::compose::reminders::send_due(&store, &ctx, reminders).await.context("queuing due reminders")?
            > 0
        {
            mail_wake.notify_one();
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Applies the retention `Policy` (stale sign-ups, old audit entries, the
/// notes on registrations for meetings long over) at
/// start and then once an hour until `shutdown` turns true. A pass that
/// fails is logged and tried again an hour later.
///
/// # Errors
/// None so far; the signature is the supervisor's.
pub async fn run_retention(
    store: Store,
    retention: crate::store::retention::Policy,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        match crate::store::retention::purge(&store, retention).await {
            Ok(p) => tracing::info!(
                pending = p.pending,
                tokens = p.link_tokens,
                messages = p.messages,
                rate_counters = p.rate_counters,
                audit_entries = p.audit_entries,
                registration_notes = p.registration_notes,
                registrations = p.registrations,
                "retention purge"
            ),
            Err(e) => tracing::warn!(error = %e, "retention purge failed; retried in an hour"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_hours(1)) => {}
            _ = shutdown.wait_for(|s| *s) => {}
        }
    }
}

/// Draws the seats of lottery meetings whose application window has closed,
/// once a second until `shutdown` turns true (see [`crate::forum::rsvp::draw_due`]).
///
/// # Errors
/// The database failed or a mail could not be built; the supervisor starts
/// the loop again.
pub async fn run_lotteries(forum: crate::forum::Forum, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let n = crate::forum::rsvp::draw_due(&forum).await.context("drawing due lotteries")?;
        if n > 0 {
            tracing::info!(meetings = n, "lottery seats drawn");
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
    }
}
