//! The outbox worker: claims due messages with a lease, delivers them over a
//! bounded number of connections at a bounded rate, and records each outcome.
//!
//! A message is marked sent only after the server accepted it. If the process
//! dies, the messages it had claimed become due again when their lease runs
//! out: the only possible duplicates are those in flight at that moment, and
//! they carry the same Message-ID.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::Address;
use lettre::address::Envelope;
use rand::Rng;
use tokio::sync::{Mutex, Notify, mpsc, watch};

use super::smtp::SendError;
use super::transport::{Lane, Transport, mask};
use crate::config;
use crate::domain::{Email, OutboxId, Timestamp};
use crate::store::Store;
use crate::store::outbox::{Claimed, Outcome};

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub batch_size: u32,
    pub lease: Duration,
    pub max_connections: u32,
    /// Messages per second; 0 = unlimited.
    pub rate_per_second: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub max_attempts: u32,
    pub poll_interval: Duration,
}

impl WorkerSettings {
    /// The worker settings from the `[mail]` section.
    #[must_use]
    pub fn from_settings(m: &config::Mail) -> Self {
        Self {
            batch_size: m.batch_size,
            lease: Duration::from_secs(m.lease_secs),
            max_connections: m.max_connections,
            rate_per_second: m.rate_per_second,
            backoff_base: Duration::from_secs(m.backoff_base_secs),
            backoff_max: Duration::from_secs(m.backoff_max_secs),
            max_attempts: m.max_attempts,
            poll_interval: Duration::from_millis(m.poll_interval_ms),
        }
    }

    /// The delay before attempt `attempts + 1`: doubling from the base, with up
    /// to half again as jitter, capped at the maximum. It never shrinks from
    /// one attempt to the next: the largest jittered delay of attempt n is at
    /// most 1.5 × d(n) ≤ 2 × d(n) = d(n + 1) until the cap, and the cap is a fixed point.
    #[must_use]
    pub fn backoff(&self, attempts: u32) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let base = self.backoff_base.saturating_mul(1 << exp).min(self.backoff_max);
        let jitter = base.mul_f64(rand::rng().random_range(0.0..0.5));
        (base + jitter).min(self.backoff_max)
    }

    /// How many messages to claim at once. With a rate limit, half a second's
    /// worth: with two batches in hand, claimed messages never wait long for
    /// their turn (their lease is safe) and a paused campaign stops within
    /// about a second.
    fn claim_size(&self) -> u32 {
        if self.rate_per_second == 0 { self.batch_size } else { self.batch_size.min(self.rate_per_second / 2).max(1) }
    }
}

/// Delivers what the outbox holds until told to stop.
pub struct Worker {
    store: Store,
    transport: Transport,
    bounce_base: Email,
    settings: WorkerSettings,
    wake: Arc<Notify>,
}

impl Worker {
    /// A worker that wakes early when `wake` is notified (new mail was queued).
    /// Envelope senders are per-message addresses built on `bounce_base` (see [`super::verp`]).
    #[must_use]
    pub fn new(
        store: Store,
        transport: Transport,
        bounce_base: Email,
        settings: WorkerSettings,
        wake: Arc<Notify>,
    ) -> Self {
        Self { store, transport, bounce_base, settings, wake }
    }

    /// Runs until `shutdown` turns true, then finishes the messages it holds.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let claim_size = self.settings.claim_size();
        let batch = usize::try_from(claim_size).unwrap_or(64).max(1);
        // Room for two batches: the next claim happens while the lanes still
        // have the previous batch's second half to send.
        let (job_tx, job_rx) = mpsc::channel::<Claimed>(batch * 2);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (out_tx, out_rx) = mpsc::unbounded_channel::<(OutboxId, Outcome)>();
        let pace = Arc::new(Pace::new(self.settings.rate_per_second));

        let mut lanes = Vec::new();
        for _ in 0..self.settings.max_connections.max(1) {
            let lane = Lane::new(self.transport.clone());
            lanes.push(tokio::spawn(run_lane(
                lane,
                Arc::clone(&job_rx),
                out_tx.clone(),
                Arc::clone(&pace),
                self.bounce_base.clone(),
                self.settings.clone(),
            )));
        }
        drop(out_tx);
        let recorder = tokio::spawn(record(self.store.clone(), out_rx));

        loop {
            if *shutdown.borrow() {
                break;
            }
            // Claim only what the lanes can take now, so claimed messages do
            // not sit waiting while their lease runs out.
            let permits = tokio::select! {
                p = job_tx.reserve_many(batch) => match p { Ok(p) => p, Err(_) => break },
                _ = shutdown.changed() => continue,
            };
            match self.store.claim_due(claim_size, self.settings.lease).await {
                Ok(jobs) if !jobs.is_empty() => {
                    metrics::counter!("dialogforum_mail_claimed_total").increment(jobs.len() as u64);
                    for (permit, job) in permits.zip(jobs) {
                        permit.send(job);
                    }
                }
                Ok(_) => {
                    drop(permits);
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(self.settings.poll_interval) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(e) => {
                    drop(permits);
                    tracing::warn!(error = %e, "could not claim mail; trying again");
                    tokio::select! {
                        () = tokio::time::sleep(self.settings.poll_interval.max(Duration::from_secs(1))) => {}
                        _ = shutdown.changed() => {}
                    }
                }
            }
        }
        drop(job_tx);
        for lane in lanes {
            let _ = lane.await;
        }
        let _ = recorder.await;
        tracing::info!("mail worker stopped");
    }
}

async fn run_lane(
    mut lane: Lane,
    jobs: Arc<Mutex<mpsc::Receiver<Claimed>>>,
    outcomes: mpsc::UnboundedSender<(OutboxId, Outcome)>,
    pace: Arc<Pace>,
    bounce_base: Email,
    settings: WorkerSettings,
) {
    loop {
        let job = { jobs.lock().await.recv().await };
        let Some(job) = job else { break };
        pace.wait().await;
        let envelope =
            job.recipient.parse::<Address>().map_err(|e| e.to_string()).and_then(|to| {
                Ok((to, super::verp::envelope_sender(&bounce_base, job.id).map_err(|e| e.to_string())?))
            });
        let outcome = match envelope {
            Err(e) => Outcome::Failed { error: format!("invalid recipient: {e}") },
            Ok((to, from)) => match Envelope::new(Some(from), vec![to]) {
                Err(e) => Outcome::Failed { error: format!("invalid envelope: {e}") },
                Ok(envelope) => match lane.deliver(&envelope, &job.raw, &job.id.to_string()).await {
                    Ok(()) => Outcome::Sent,
                    Err(SendError::Permanent(error)) => {
                        tracing::warn!(to = %mask(&job.recipient), %error, "mail refused permanently");
                        Outcome::Failed { error }
                    }
                    Err(SendError::Transient(error)) => {
                        let attempts = u32::try_from(job.attempts).unwrap_or(u32::MAX);
                        if attempts >= settings.max_attempts {
                            tracing::warn!(to = %mask(&job.recipient), %error, attempts, "mail given up");
                            Outcome::Failed { error: format!("gave up after {attempts} attempts: {error}") }
                        } else {
                            let delay = settings.backoff(attempts);
                            tracing::info!(to = %mask(&job.recipient), %error, attempts, ?delay, "mail will be retried");
                            let at = Timestamp::now()
                                .checked_add(jiff::SignedDuration::try_from(delay).unwrap_or(jiff::SignedDuration::MAX))
                                .unwrap_or(Timestamp::MAX);
                            Outcome::Retry { at, error }
                        }
                    }
                },
            },
        };
        if outcomes.send((job.id, outcome)).is_err() {
            break;
        }
    }
    lane.close().await;
}

/// Writes outcomes in batches. If the database is away it keeps trying: an
/// outcome that is never written would make the message go out again.
async fn record(store: Store, mut outcomes: mpsc::UnboundedReceiver<(OutboxId, Outcome)>) {
    let mut batch = Vec::new();
    while let Some(first) = outcomes.recv().await {
        batch.push(first);
        while batch.len() < 500 {
            match outcomes.try_recv() {
                Ok(o) => batch.push(o),
                Err(_) => break,
            }
        }
        let mut delay = Duration::from_millis(100);
        for attempt in 0.. {
            match store.record_outcomes(&batch).await {
                Ok(()) => break,
                Err(e) if attempt < 100 => {
                    tracing::warn!(error = %e, "could not record mail outcomes; trying again");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
                Err(e) => {
                    tracing::error!(error = %e, "gave up recording mail outcomes; the leases will expire and the messages be retried");
                    break;
                }
            }
        }
        for (_, o) in &batch {
            let name = match o {
                Outcome::Sent => "dialogforum_mail_sent_total",
                Outcome::Retry { .. } => "dialogforum_mail_retried_total",
                Outcome::Failed { .. } => "dialogforum_mail_failed_total",
            };
            metrics::counter!(name).increment(1);
        }
        batch.clear();
    }
}

/// Spaces messages evenly to honour a rate limit across all lanes.
struct Pace {
    interval: Option<Duration>,
    next: Mutex<Instant>,
}

impl Pace {
    fn new(rate_per_second: u32) -> Self {
        Self {
            interval: (rate_per_second > 0).then(|| Duration::from_secs(1) / rate_per_second),
            next: Mutex::new(Instant::now()),
        }
    }

    async fn wait(&self) {
        let Some(interval) = self.interval else { return };
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + interval;
            at
        };
        tokio::time::sleep_until(at.into()).await;
    }
}
