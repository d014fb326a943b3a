//! Background tasks that keep going: each runs as a task of its own, and one
//! that panics, fails or ends by itself is logged and started again after a
//! pause (1 s, doubling up to 30 s) until the service shuts down.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The outbox worker: delivers queued mail.
pub const OUTBOX: &str = "outbox";
/// The campaign runner: expands due campaigns into messages.
pub const CAMPAIGNS: &str = "campaigns";
/// Reminders before registration deadlines and meetings.
pub const REMINDERS: &str = "reminders";
/// The hourly retention purge.
pub const RETENTION: &str = "retention";
/// The inbound SMTP listener.
pub const INBOUND: &str = "inbound";
/// A reader of an IMAP mailbox (one task per `[[inbound.imap]]` mailbox).
pub const IMAP: &str = "imap";
/// The draw of lottery meetings at the end of their application window.
pub const LOTTERIES: &str = "lotteries";
/// The look at the public pages' version, on every instance.
pub const PAGES: &str = "pages";

/// The pause before the first restart.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause between restarts.
const LONGEST_PAUSE: Duration = Duration::from_secs(30);
/// A run at least this long counts as healthy: the next failure pauses only [`FIRST_PAUSE`].
const HEALTHY_RUN: Duration = Duration::from_mins(1);

/// The supervised tasks of one service, by name. Cheap to clone.
#[derive(Clone, Default)]
pub struct Tasks {
    tasks: Arc<Mutex<Vec<Task>>>,
}

struct Task {
    name: &'static str,
    /// True while a run of the task is under way (false while it waits to restart).
    running: watch::Receiver<bool>,
    /// Set to stop this task for good.
    stop: watch::Sender<bool>,
}

impl Tasks {
    /// Starts `name` under supervision. `start` is called for each run with
    /// the receiver that turns true when the run should end (at `shutdown`, or
    /// when the task is stopped on its own); a run that returns before then,
    /// with an error or without, or panics, is logged and started again after
    /// a pause. The handle resolves once the task has ended for good.
    pub fn spawn<F, Fut>(&self, name: &'static str, shutdown: watch::Receiver<bool>, start: F) -> JoinHandle<()>
    where
        F: FnMut(watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (stop, _) = watch::channel(false);
        let (running_tx, running) = watch::channel(false);
        // Counted from the start, so a scrape shows 0 rather than nothing.
        metrics::counter!("dialogforum_task_restarts_total", "task" => name).increment(0);
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner).push(Task { name, running, stop: stop.clone() });
        tokio::spawn(supervise(name, shutdown, stop, running_tx, start))
    }

    /// Whether a run of `name` is under way; `None` when no such task was started.
    #[must_use]
    pub fn is_running(&self, name: &str) -> Option<bool> {
        let tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        tasks.iter().find(|t| t.name == name).map(|t| *t.running.borrow())
    }

    /// Stops `name` for good, as at shutdown, while the others go on, and
    /// waits until its run has ended. False when no such task was started.
    pub async fn stop(&self, name: &str) -> bool {
        let running = {
            let tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(task) = tasks.iter().find(|t| t.name == name) else { return false };
            task.stop.send_replace(true);
            task.running.clone()
        };
        let mut running = running;
        // An error means the supervisor is gone, its task ended with it.
        let _ = running.wait_for(|r| !*r).await.is_ok();
        true
    }
}

/// Runs `start` again and again until `shutdown` or `stop` turns true.
async fn supervise<F, Fut>(
    name: &'static str,
    mut shutdown: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
    running: watch::Sender<bool>,
    mut start: F,
) where
    F: FnMut(watch::Receiver<bool>) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let mut pause = FIRST_PAUSE;
    let mut first = true;
    loop {
        if *shutdown.borrow() || *stop.borrow() {
            break;
        }
        if !first {
            metrics::counter!("dialogforum_task_restarts_total", "task" => name).increment(1);
            tracing::info!(task = name, "background task restarting");
        }
        first = false;
        let began = Instant::now();
        running.send_replace(true);
        let mut run = tokio::spawn(start(stop.subscribe()));
        let outcome = tokio::select! {
            outcome = &mut run => outcome,
            () = turned_true(&mut shutdown) => {
                // Passed on, and the run is given the time it takes to finish what it holds.
                stop.send_replace(true);
                run.await
            }
        };
        running.send_replace(false);
        let stopping = *shutdown.borrow() || *stop.borrow();
        match outcome {
            Ok(Ok(())) if stopping => break,
            Ok(Ok(())) => tracing::error!(task = name, "background task ended by itself"),
            Ok(Err(e)) => tracing::error!(task = name, error = format!("{e:#}"), "background task failed"),
            Err(e) if e.is_panic() => {
                tracing::error!(task = name, panic = panic_message(e.into_panic()), "background task panicked");
            }
            Err(e) => tracing::error!(task = name, error = %e, "background task was cancelled"),
        }
        if stopping {
            break;
        }
        if began.elapsed() >= HEALTHY_RUN {
            pause = FIRST_PAUSE;
        }
        tracing::warn!(task = name, pause_ms = pause.as_millis(), "background task restarts after a pause");
        let mut stopped = stop.subscribe();
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = turned_true(&mut shutdown) => break,
            () = turned_true(&mut stopped) => break,
        }
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
    tracing::info!(task = name, "background task stopped");
}

/// Resolves once `rx` holds true, or its sender is gone.
async fn turned_true(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// The text a panic was raised with.
#[must_use]
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast_ref::<&str>().map_or_else(|| "(no message)".to_owned(), |s| (*s).to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_task_that_panics_or_fails_is_started_again_until_shutdown() {
        let (shutdown, rx) = watch::channel(false);
        let tasks = Tasks::default();
        let runs = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&runs);
        let handle = tasks.spawn("flaky", rx, move |mut stop| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                assert!(n > 0, "the first run panics");
                let _ = stop.wait_for(|s| *s).await;
                Ok(())
            }
        });
        // The second run begins after the first pause, a second.
        while runs.load(Ordering::SeqCst) < 2 || tasks.is_running("flaky") != Some(true) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        shutdown.send_replace(true);
        handle.await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2, "stopped at shutdown, not started again");
        assert_eq!(tasks.is_running("flaky"), Some(false));
        assert_eq!(tasks.is_running("unknown"), None);
    }

    #[tokio::test]
    async fn a_stopped_task_stays_stopped_while_the_others_go_on() {
        let (_shutdown, rx) = watch::channel(false);
        let tasks = Tasks::default();
        for name in ["one", "two"] {
            tasks.spawn(name, rx.clone(), |mut stop| async move {
                let _ = stop.wait_for(|s| *s).await;
                Ok(())
            });
        }
        while tasks.is_running("one") != Some(true) || tasks.is_running("two") != Some(true) {
            tokio::task::yield_now().await;
        }
        assert!(tasks.stop("one").await);
        assert_eq!(tasks.is_running("one"), Some(false));
        assert_eq!(tasks.is_running("two"), Some(true));
        assert!(!tasks.stop("three").await);
    }
}
