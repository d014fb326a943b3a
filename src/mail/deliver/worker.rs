//! The outbox worker: claims due messages with a lease, delivers them over a
//! bounded number of connections at a bounded rate, and records each outcome.
//!
//! A message is marked sent only after the server accepted it. If the process
//! dies, the messages it had claimed become due again when their lease runs
//! out: the only possible duplicates are those in flight at that moment, and
//! they carry the same Message-ID.
//!
//! The lease is short (`mail.lease_secs`, 15 s by default) because a live
//! worker renews its claims every third of it for as long as it holds them,
//! however slowly it sends. A worker sends a message only while at least a
//! third of its lease is left; if renewals fail (the database is away) for
//! about two thirds of the lease, it stops sending what it holds and puts it
//! back once the database answers, so that another instance that takes the
//! rows over after the lease does not send them a second time. What can still
//! go out twice: a message accepted by the server whose outcome could not be
//! written before the lease ran out (the database was away longer than the
//! lease, or the process died), and a message whose delivery started with a
//! third of the lease left and took longer than that while renewals failed.
//! Instances must agree on the time to well within a third of the lease.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use lettre::Address;
use lettre::address::Envelope;
use rand::Rng;
use tokio::sync::{Mutex, Notify, mpsc, oneshot, watch};

use super::smtp::SendError;
use super::transport::{Lane, Transport, mask};
use crate::config;
use crate::domain::{Email, OutboxId, Timestamp};
use crate::store::Store;
use crate::store::outbox::{ClaimOwner, Claimed, Outcome};

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub batch_size: u32,
    /// How long a claim lasts unless renewed; a live worker renews it every third of this.
    pub lease: Duration,
    pub max_connections: u32,
    /// Messages per minute, spread evenly; 0 = unlimited.
    pub rate_per_minute: f64,
    /// Messages per rolling 24 hours, all instances together; 0 = no cap.
    pub daily_cap: u32,
    /// The first pause of every connection after a throttling answer.
    pub throttle_pause: Duration,
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
            max_connections: m.effective_max_connections(),
            rate_per_minute: m.effective_rate_per_minute(),
            daily_cap: m.effective_daily_cap(),
            throttle_pause: Duration::from_secs(m.throttle_pause_secs),
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
        doubling(self.backoff_base, attempts, self.backoff_max)
    }

    /// How many messages to claim at once. With a rate limit, half a second's
    /// worth: with two batches in hand, claimed messages never wait long for
    /// their turn and a paused campaign stops within about a second. (However
    /// long they wait, the renewals keep their lease.)
    fn claim_size(&self) -> u32 {
        if self.rate_per_minute > 0.0 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a small positive number")]
            let half_second = (self.rate_per_minute / 120.0) as u32;
            self.batch_size.min(half_second).max(1)
        } else {
            self.batch_size
        }
    }
}

/// `base` doubled `n - 1` times, with up to half again as jitter, capped at `max`.
fn doubling(base: Duration, n: u32, max: Duration) -> Duration {
    let exp = n.saturating_sub(1).min(30);
    let base = base.saturating_mul(1 << exp).min(max);
    let jitter = base.mul_f64(rand::rng().random_range(0.0..0.5));
    (base + jitter).min(max)
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
        // A new owner for each run: a run that ended abnormally leaves claims
        // that the next one takes over when their lease runs out.
        let owner = ClaimOwner::generate();
        let lease = self.settings.lease;
        let held = Arc::new(Holdings::new(lease));
        let claim_size = self.settings.claim_size();
        let batch = usize::try_from(claim_size).unwrap_or(64).max(1);
        // Room for two batches: the next claim happens while the lanes still
        // have the previous batch's second half to send.
        let (job_tx, job_rx) = mpsc::channel::<Claimed>(batch * 2);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (out_tx, out_rx) = mpsc::unbounded_channel::<(OutboxId, Outcome)>();
        let pace = Arc::new(Pace::new(self.settings.rate_per_minute));

        let mut lanes = Vec::new();
        for _ in 0..self.settings.max_connections.max(1) {
            let lane = Lane::new(self.transport.clone());
            lanes.push(tokio::spawn(run_lane(
                lane,
                Arc::clone(&held),
                Arc::clone(&job_rx),
                out_tx.clone(),
                Arc::clone(&pace),
                self.bounce_base.clone(),
                self.settings.clone(),
            )));
        }
        drop(out_tx);
        let recorder = tokio::spawn(record(self.store.clone(), owner, Arc::clone(&held), out_rx));
        let (stop_renewing, renewing_stopped) = oneshot::channel();
        let renewer = tokio::spawn(renew(self.store.clone(), owner, Arc::clone(&held), renewing_stopped));

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
            let limit = match self.allowance(claim_size).await {
                Some(0) => {
                    drop(permits);
                    tokio::select! {
                        () = tokio::time::sleep(self.settings.poll_interval.max(Duration::from_secs(1))) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
                Some(n) => n,
                None => claim_size,
            };
            // The lease is counted from before the claim was asked for, so this
            // worker never thinks it holds a row longer than the database does.
            let since = Instant::now();
            match self.store.claim_due(owner, limit, lease).await {
                Ok(jobs) if !jobs.is_empty() => {
                    metrics::counter!("dialogforum_mail_claimed_total").increment(jobs.len() as u64);
                    held.add(jobs.iter().map(|j| j.id), since);
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
        // Renewals continue until every outcome is written: until then the rows are still held.
        let _ = stop_renewing.send(());
        let _ = renewer.await;
        tracing::info!("mail worker stopped");
    }
}

impl Worker {
    /// How many messages the daily cap lets this worker claim now (`None`: no
    /// cap). At the cap the worker looks again every poll interval (at least a
    /// second): one count on an index. It counts what every instance sent in the last 24 hours and what
    /// is claimed for sending, so instances stay under the cap together; two
    /// instances claiming at the same instant can pass it by one claim each.
    async fn allowance(&self, claim_size: u32) -> Option<u32> {
        let cap = self.settings.daily_cap;
        if cap == 0 {
            return None;
        }
        let since = Timestamp::now().checked_sub(jiff::SignedDuration::from_hours(24)).unwrap_or(Timestamp::MIN);
        match self.store.handed_over_since(since).await {
            Ok(n) => {
                let left = u32::try_from(i64::from(cap) - n).unwrap_or(0);
                if left == 0 {
                    tracing::info!(cap, "daily sending cap reached; the rest waits for the window to move on");
                }
                Some(left.min(claim_size))
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not count the day's mail; not sending until it can");
                Some(0)
            }
        }
    }
}

/// The claims a worker holds, each with the instant until which it is sure to
/// hold it: the start of the claim or of the last renewal that covered it, plus the lease.
struct Holdings {
    lease: Duration,
    rows: std::sync::Mutex<HashMap<OutboxId, Instant>>,
}

impl Holdings {
    fn new(lease: Duration) -> Self {
        Self { lease, rows: std::sync::Mutex::default() }
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, HashMap<OutboxId, Instant>> {
        // The map stays consistent whatever panicked while it was held.
        self.rows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add(&self, ids: impl Iterator<Item = OutboxId>, since: Instant) {
        let until = since + self.lease;
        self.rows().extend(ids.map(|id| (id, until)));
    }

    /// Moves the end of the claims that a renewal begun at `since` extended.
    fn renewed(&self, ids: &[OutboxId], since: Instant) {
        let until = since + self.lease;
        let mut rows = self.rows();
        for id in ids {
            if let Some(u) = rows.get_mut(id) {
                *u = (*u).max(until);
            }
        }
    }

    fn ids(&self) -> Vec<OutboxId> {
        self.rows().keys().copied().collect()
    }

    /// Whether `id` may be sent now: at least a third of its lease is left, so
    /// that nobody else can have taken it over before the delivery is done.
    fn may_send(&self, id: OutboxId) -> bool {
        self.rows().get(&id).is_some_and(|until| Instant::now() + self.lease / 3 < *until)
    }

    fn forget(&self, ids: impl Iterator<Item = OutboxId>) {
        let mut rows = self.rows();
        for id in ids {
            rows.remove(&id);
        }
    }
}

/// Renews the lease of every claim still held, every third of the lease, until
/// told to stop. A failed renewal is tried again within a second; it never
/// ends the worker. The lanes stop sending what a failing renewal leaves uncovered.
async fn renew(store: Store, owner: ClaimOwner, held: Arc<Holdings>, mut stop: oneshot::Receiver<()>) {
    let every = (held.lease / 3).max(Duration::from_millis(50));
    let retry = every.min(Duration::from_secs(1));
    let mut wait = every;
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = &mut stop => break,
        }
        wait = every;
        let ids = held.ids();
        if ids.is_empty() {
            continue;
        }
        let since = Instant::now();
        match store.renew_claims(owner, &ids, held.lease).await {
            Ok(renewed) => {
                held.renewed(&renewed, since);
                metrics::counter!("dialogforum_mail_lease_renewals_total").increment(1);
                if renewed.len() < ids.len() {
                    // Mostly rows whose outcome was written meanwhile; rows another
                    // worker took over are not sent from here (see `Holdings::may_send`).
                    tracing::debug!(held = ids.len(), renewed = renewed.len(), "some claims were not renewed");
                }
            }
            Err(e) => {
                metrics::counter!("dialogforum_mail_lease_renewal_failures_total").increment(1);
                tracing::warn!(error = %e, held = ids.len(), "could not renew mail claims; trying again");
                wait = retry;
            }
        }
    }
}

async fn run_lane(
    mut lane: Lane,
    held: Arc<Holdings>,
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
        if !held.may_send(job.id) {
            tracing::info!(to = %mask(&job.recipient), "mail claim may have lapsed; not sent from here");
            if outcomes.send((job.id, Outcome::Release)).is_err() {
                break;
            }
            continue;
        }
        let envelope =
            job.recipient.parse::<Address>().map_err(|e| e.to_string()).and_then(|to| {
                Ok((to, super::verp::envelope_sender(&bounce_base, job.id).map_err(|e| e.to_string())?))
            });
        let outcome = match envelope {
            Err(e) => Outcome::Failed { error: format!("invalid recipient: {e}") },
            Ok((to, from)) => match Envelope::new(Some(from), vec![to]) {
                Err(e) => Outcome::Failed { error: format!("invalid envelope: {e}") },
                Ok(envelope) => match lane.deliver(&envelope, &job.raw, &job.id.to_string()).await {
                    Ok(()) => {
                        pace.accepted().await;
                        Outcome::Sent
                    }
                    Err(SendError::Throttled(error)) => {
                        let pause = pace.throttled(settings.throttle_pause, settings.backoff_max).await;
                        metrics::counter!("dialogforum_mail_throttled_total").increment(1);
                        tracing::warn!(to = %mask(&job.recipient), %error, ?pause, "the mail server asks us to slow down; every connection pauses");
                        let at = Timestamp::now()
                            .checked_add(jiff::SignedDuration::try_from(pause).unwrap_or(jiff::SignedDuration::MAX))
                            .unwrap_or(Timestamp::MAX);
                        Outcome::Deferred { at, error }
                    }
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
/// outcome that is never written would make the message go out again. A row
/// stays held (and renewed) until its outcome is written.
async fn record(
    store: Store,
    owner: ClaimOwner,
    held: Arc<Holdings>,
    mut outcomes: mpsc::UnboundedReceiver<(OutboxId, Outcome)>,
) {
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
            match store.record_outcomes(owner, &batch).await {
                Ok(()) => break,
                Err(e) if attempt < 100 => {
                    tracing::warn!(error = %e, "could not record mail outcomes; trying again");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
                Err(e) => {
                    tracing::error!(
                        error = %e,
                        "gave up recording mail outcomes; their claims lapse and another worker, or this one after a restart, sends them again"
                    );
                    break;
                }
            }
        }
        held.forget(batch.iter().map(|(id, _)| *id));
        for (_, o) in &batch {
            let name = match o {
                Outcome::Sent => "dialogforum_mail_sent_total",
                Outcome::Retry { .. } => "dialogforum_mail_retried_total",
                Outcome::Failed { .. } => "dialogforum_mail_failed_total",
                Outcome::Release => "dialogforum_mail_released_total",
                Outcome::Deferred { .. } => "dialogforum_mail_deferred_total",
            };
            metrics::counter!(name).increment(1);
        }
        batch.clear();
    }
}

/// Spaces messages evenly to honour a rate limit across all lanes, and
/// pauses them all when the server says it is busy.
struct Pace {
    interval: Option<Duration>,
    state: Mutex<PaceState>,
}

struct PaceState {
    /// The earliest instant the next message may go.
    next: Instant,
    /// Throttling answers since the last accepted message.
    streak: u32,
}

impl Pace {
    fn new(rate_per_minute: f64) -> Self {
        Self {
            interval: (rate_per_minute > 0.0).then(|| Duration::from_mins(1).div_f64(rate_per_minute)),
            state: Mutex::new(PaceState { next: Instant::now(), streak: 0 }),
        }
    }

    async fn wait(&self) {
        let at = {
            let mut state = self.state.lock().await;
            let at = state.next.max(Instant::now());
            state.next = at + self.interval.unwrap_or_default();
            at
        };
        // A timer set for the present still waits for the timer's next tick
        // (a millisecond in Tokio); without a limit or a pause nothing is due.
        if at > Instant::now() {
            tokio::time::sleep_until(at.into()).await;
        }
    }

    /// Pauses every lane after a throttling answer: `base`, doubled for each
    /// further answer of the kind before a message is accepted, with jitter,
    /// at most `max`. Returns the pause.
    async fn throttled(&self, base: Duration, max: Duration) -> Duration {
        let mut state = self.state.lock().await;
        state.streak = state.streak.saturating_add(1);
        let pause = doubling(base, state.streak, max);
        state.next = state.next.max(Instant::now() + pause);
        pause
    }

    /// A message was accepted: the next throttling answer starts from the base pause again.
    async fn accepted(&self) {
        self.state.lock().await.streak = 0;
    }
}

/// About how long `messages` take to leave at `rate_per_minute` (0 = no
/// limit) under a cap of `daily_cap` messages per 24 hours (0 = none), of
/// which `handed_over` were used in the last 24 hours. `None` when no limit
/// binds: then the server's speed decides. What does not fit under the cap
/// today is counted a whole day later per cap's worth, which is where the
/// rolling window frees room at the latest.
#[must_use]
pub fn time_to_send(messages: i64, rate_per_minute: f64, daily_cap: u32, handed_over: i64) -> Option<Duration> {
    let messages = messages.max(0);
    #[allow(clippy::cast_precision_loss, reason = "message counts are far below 2^52")]
    let by_rate = (rate_per_minute > 0.0).then(|| Duration::from_secs_f64(messages as f64 * 60.0 / rate_per_minute));
    let cap = i64::from(daily_cap);
    let left_today = (cap - handed_over).max(0);
    let by_cap = (cap > 0 && messages > left_today).then(|| {
        let days = (messages - left_today + cap - 1) / cap;
        Duration::from_secs(u64::try_from(days).unwrap_or(u64::MAX).saturating_mul(24 * 3600))
    });
    match (by_rate, by_cap) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or_default().max(b.unwrap_or_default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_a_minute_send_three_thousand_in_a_hundred_minutes() {
        assert_eq!(time_to_send(3000, 30.0, 0, 0), Some(Duration::from_mins(100)));
        assert_eq!(time_to_send(1, 0.5, 0, 0), Some(Duration::from_mins(2)));
        assert_eq!(time_to_send(3000, 0.0, 0, 0), None, "no limit: the server decides");
    }

    #[test]
    fn what_the_daily_cap_leaves_over_waits_a_day_per_cap() {
        let day = Duration::from_hours(24);
        assert_eq!(time_to_send(9000, 30.0, 10_000, 0), Some(Duration::from_hours(5)));
        assert_eq!(time_to_send(3000, 30.0, 10_000, 9000), Some(day));
        assert_eq!(time_to_send(25_000, 0.0, 10_000, 0), Some(2 * day));
    }

    #[test]
    fn a_fractional_rate_spaces_messages_evenly_and_claims_one_at_a_time() {
        let pace = Pace::new(30.0);
        assert_eq!(pace.interval, Some(Duration::from_secs(2)));
        assert_eq!(Pace::new(0.5).interval, Some(Duration::from_mins(2)));
        assert_eq!(Pace::new(0.0).interval, None);
        let mut s = WorkerSettings::from_settings(&crate::config::Settings::load(None).unwrap().mail);
        s.rate_per_minute = 30.0;
        assert_eq!(s.claim_size(), 1);
        s.rate_per_minute = 6000.0;
        assert_eq!(s.claim_size(), 50);
    }
}
