//! Builds everything from the settings and runs the web server and the
//! background tasks — outbox worker, campaign runner, reminders, retention and
//! the inbound listener, each supervised on its own — until told to stop.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::config::Settings;
use crate::domain::Email;
use crate::forum::timers;
use crate::inbound::{self, InboundSettings};
use crate::mail::MailContext;
use crate::mail::{Composer, Transport, Worker, WorkerSettings};
use crate::store::{ConnectOptions, Store};
use crate::supervise::{self, Tasks};
use crate::web::public::cache::PageCache;
use crate::web::{self, AppState, state::Inner};

/// The process-wide metrics recorder; installed once, shared by every app in the process.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; metrics then go there.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Opens the database named by the settings, with a message that says which
/// one could not be reached (password hidden).
///
/// # Errors
/// The database cannot be reached or opened.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let opts = ConnectOptions {
        max_connections: settings.database.max_connections,
        busy_timeout: std::time::Duration::from_millis(settings.database.busy_timeout_ms),
        ..ConnectOptions::default()
    };
    Store::connect(&settings.database.url, &opts)
        .await
        .with_context(|| format!("cannot open the database at {}", redact_url(&settings.database.url)))
}

/// A URL with its password replaced by `***`.
#[must_use]
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// A running service: web server and background tasks.
pub struct Running {
    /// Where the web server listens.
    pub addr: SocketAddr,
    /// The shared state, for callers that want to reach the store or mail.
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    /// The supervisors of the background tasks.
    tasks: Vec<JoinHandle<()>>,
    /// Where the inbound SMTP listener listens, if `inbound.bind` is set.
    pub inbound_addr: Option<SocketAddr>,
}

impl Running {
    /// Stops taking requests, lets those in flight finish, stops the
    /// background tasks (the outbox worker after the messages it holds), and
    /// waits for all of them.
    ///
    /// # Errors
    /// The server failed while running.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.wait().await
    }

    /// Waits until the service has stopped (after [`Running::stop`] or a signal).
    ///
    /// # Errors
    /// The server failed while running.
    pub async fn wait(self) -> anyhow::Result<()> {
        let served = self.server.await.context("web server task");
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            t.await.context("background task")?;
        }
        served?.context("web server")
    }

    /// A handle that stops the service when sent `true`.
    #[must_use]
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// Stops one background task for good (see the names in
    /// [`crate::supervise`]) while the service goes on, as a test does to see
    /// how the service reports it; returns once the task has ended, false if
    /// there is no such task.
    pub async fn stop_task(&self, name: &str) -> bool {
        self.state.tasks.stop(name).await
    }
}

/// Options of [`start`].
#[derive(Debug, Clone, Copy)]
pub struct StartOptions {
    /// Run the outbox worker in this process.
    pub worker: bool,
}

impl Default for StartOptions {
    fn default() -> Self {
        Self { worker: true }
    }
}

/// Connects, migrates and starts serving on `settings.server.bind` (port 0 picks a free port).
///
/// # Errors
/// The database cannot be reached or migrated, the address cannot be bound,
/// or the mail settings are unusable.
pub async fn start(settings: Settings, opts: StartOptions) -> anyhow::Result<Running> {
    let store = open_store(&settings).await?;
    let applied = store.migrate().await.context("applying database migrations")?;
    if applied > 0 {
        tracing::info!(applied, engine = store.engine_name(), "migrations applied");
    }
    start_with_store(settings, store, opts).await
}

/// As [`start`], with a store that is already open and migrated.
///
/// # Errors
/// The address cannot be bound, or the mail settings are unusable.
pub async fn start_with_store(settings: Settings, store: Store, opts: StartOptions) -> anyhow::Result<Running> {
    let composer = build_composer(&settings)?;
    let transport = Transport::from_settings(&settings.mail).map_err(anyhow::Error::msg)?;
    let mail_wake = Arc::new(Notify::new());
    let campaign_wake = Arc::new(Notify::new());
    let (shutdown, shutdown_rx) = watch::channel(false);

    // Each background task on its own: one that fails is restarted without the others noticing.
    let tasks = Tasks::default();
    let mut handles = Vec::new();
    let ctx = Arc::new(MailContext { composer: composer.clone(), base_url: settings.base_url().to_owned() });
    if opts.worker {
        let bounce = settings.bounce_base().context("mail.bounce_address")?;
        let worker_settings = WorkerSettings::from_settings(&settings.mail);
        let (db, wake) = (store.clone(), Arc::clone(&mail_wake));
        handles.push(tasks.spawn(supervise::OUTBOX, shutdown_rx.clone(), move |stop| {
            let worker =
                Worker::new(db.clone(), transport.clone(), bounce.clone(), worker_settings.clone(), Arc::clone(&wake));
            async move {
                worker.run(stop).await;
                Ok(())
            }
        }));
        let retry = Duration::from_secs(settings.mail.campaign_retry_secs);
        let (db, c, wake, mail) = (store.clone(), Arc::clone(&ctx), Arc::clone(&campaign_wake), Arc::clone(&mail_wake));
        handles.push(tasks.spawn(supervise::CAMPAIGNS, shutdown_rx.clone(), move |stop| {
            timers::run(db.clone(), Arc::clone(&c), retry, Arc::clone(&wake), Arc::clone(&mail), stop)
        }));
        let reminders = settings.reminders;
        let (db, c, mail) = (store.clone(), Arc::clone(&ctx), Arc::clone(&mail_wake));
        handles.push(tasks.spawn(supervise::REMINDERS, shutdown_rx.clone(), move |stop| {
            timers::run_reminders(db.clone(), Arc::clone(&c), reminders, Arc::clone(&mail), stop)
        }));
        let (db, policy) = (store.clone(), crate::store::retention::Policy::from(&settings.security));
        handles.push(tasks.spawn(supervise::RETENTION, shutdown_rx.clone(), move |stop| {
            timers::run_retention(db.clone(), policy, stop)
        }));
    }

    let forum = crate::forum::Forum::new(
        store.clone(),
        (*ctx).clone(),
        Arc::clone(&mail_wake),
        Arc::clone(&campaign_wake),
        settings.security.concurrent_password_checks as usize,
    );
    let inbound_mail = MailContext { composer: composer.clone(), base_url: settings.base_url().to_owned() };
    let inbound = (inbound_mail, Arc::clone(&mail_wake), forum.clone());
    let inbound_addr = start_inbound(&settings, &store, inbound, &tasks, &shutdown_rx, &mut handles).await?;
    let listener = TcpListener::bind(settings.server.bind)
        .await
        .with_context(|| format!("cannot listen on {} (server.bind)", settings.server.bind))?;
    let addr = listener.local_addr()?;
    if opts.worker {
        let f = forum.clone();
        handles.push(
            tasks.spawn(supervise::LOTTERIES, shutdown_rx.clone(), move |stop| timers::run_lotteries(f.clone(), stop)),
        );
    }
    let pages = start_page_cache(&settings, &store, &tasks, &shutdown_rx, &mut handles);
    let password_checks = Arc::clone(&forum.password_checks);
    let state = AppState::new(Inner {
        store,
        forum,
        password_checks,
        settings,
        composer,
        mail_wake,
        campaign_wake,
        metrics: metrics_handle(),
        tasks,
        pages,
    });
    let app = web::router(state.clone());
    let mut stop = shutdown_rx;
    let server = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
    });
    tracing::info!(%addr, "listening");
    Ok(Running { addr, state, shutdown, server, tasks: handles, inbound_addr })
}

/// The composer of every mail: the sender, its footer, DKIM signing and the
/// leave address when the inbound listener takes mail for it.
fn build_composer(settings: &Settings) -> anyhow::Result<Composer> {
    let from = Email::parse(&settings.mail.from).context("mail.from")?;
    let reply_to = Some(settings.mail.reply_to.as_str())
        .filter(|s| !s.is_empty())
        .map(Email::parse)
        .transpose()
        .context("mail.reply_to")?;
    let mut composer = Composer::new(&from, &settings.mail.from_name, reply_to.as_ref(), &settings.mail.list_id)?
        .with_footer(crate::mail::compose::footer::Footer::from_settings(settings))
        .with_organizer(&settings.organizer().context("mail.organizer")?)?;
    let mail = &settings.mail;
    if !mail.dkim_key_file.as_os_str().is_empty() {
        let key = std::fs::read_to_string(&mail.dkim_key_file)
            .with_context(|| format!("mail.dkim_key_file: cannot read {}", mail.dkim_key_file.display()))?;
        let domain = if mail.dkim_domain.is_empty() { from.domain() } else { mail.dkim_domain.as_str() };
        let ed25519 = mail.dkim_algorithm == crate::config::DkimAlgorithm::Ed25519;
        composer = composer.with_dkim(&mail.dkim_selector, domain, &key, ed25519).context("mail.dkim_key_file")?;
    }
    if !settings.inbound.bind.is_empty() || !settings.inbound.imap.is_empty() {
        // The listener (or a mailbox reader) takes mail for the leave address, so list mail may name it.
        let inbound = InboundSettings::from_settings(settings).map_err(anyhow::Error::msg)?;
        composer = composer.with_leave_address(&inbound.leave_address);
    }
    Ok(composer)
}

/// The cache of rendered public pages, with the look at their version
/// started under supervision on every instance, unless it is turned off.
fn start_page_cache(
    settings: &Settings,
    store: &Store,
    tasks: &Tasks,
    shutdown: &watch::Receiver<bool>,
    handles: &mut Vec<JoinHandle<()>>,
) -> Arc<PageCache> {
    let pages = Arc::new(PageCache::new(Duration::from_secs(settings.server.page_cache_secs)));
    if pages.is_on() {
        let (db, cache) = (store.clone(), Arc::clone(&pages));
        let poll = Duration::from_millis(settings.server.page_version_poll_ms.max(10));
        handles.push(tasks.spawn(supervise::PAGES, shutdown.clone(), move |stop| {
            crate::web::public::cache::follow(db.clone(), Arc::clone(&cache), poll, stop)
        }));
    }
    pages
}

/// Starts the readers of the IMAP mailboxes, and binds `inbound.bind` and
/// starts the inbound SMTP listener under supervision, unless the key is
/// empty; returns the address it listens on. A restarted listener binds the
/// same address again.
async fn start_inbound(
    settings: &Settings,
    store: &Store,
    (mail, mail_wake, forum): (MailContext, Arc<Notify>, crate::forum::Forum),
    tasks: &Tasks,
    shutdown: &watch::Receiver<bool>,
    handles: &mut Vec<JoinHandle<()>>,
) -> anyhow::Result<Option<SocketAddr>> {
    start_imap(settings, store, (&mail, &mail_wake, &forum), tasks, shutdown, handles)?;
    let bind = settings.inbound.bind.as_str();
    if bind.is_empty() {
        return Ok(None);
    }
    let inbound_settings = InboundSettings::from_settings(settings).map_err(anyhow::Error::msg)?;
    let listener = TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind} (inbound.bind)"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "receiving mail");
    let mut bound = Some(listener);
    let store = store.clone();
    handles.push(tasks.spawn(supervise::INBOUND, shutdown.clone(), move |stop| {
        let listener = bound.take();
        let (store, settings, mail, wake, forum) =
            (store.clone(), inbound_settings.clone(), mail.clone(), Arc::clone(&mail_wake), forum.clone());
        async move {
            let listener = match listener {
                Some(l) => l,
                None => TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} again"))?,
            };
            inbound::serve(listener, store, settings, mail, wake, forum, stop).await;
            Ok(())
        }
    }));
    Ok(Some(addr))
}

/// Starts a supervised reader for each `[[inbound.imap]]` mailbox.
fn start_imap(
    settings: &Settings,
    store: &Store,
    (mail, mail_wake, forum): (&MailContext, &Arc<Notify>, &crate::forum::Forum),
    tasks: &Tasks,
    shutdown: &watch::Receiver<bool>,
    handles: &mut Vec<JoinHandle<()>>,
) -> anyhow::Result<()> {
    let mailboxes = inbound::imap::Mailbox::from_settings(settings);
    if mailboxes.is_empty() {
        return Ok(());
    }
    let inbound_settings = InboundSettings::from_settings(settings).map_err(anyhow::Error::msg)?;
    for mailbox in mailboxes {
        let (store, inbound, mail, wake, forum) =
            (store.clone(), inbound_settings.clone(), mail.clone(), Arc::clone(mail_wake), forum.clone());
        handles.push(tasks.spawn(supervise::IMAP, shutdown.clone(), move |stop| {
            let (store, inbound, mail, wake, forum) =
                (store.clone(), inbound.clone(), mail.clone(), Arc::clone(&wake), forum.clone());
            inbound::imap::read(store, inbound, mail, wake, forum, mailbox.clone(), stop)
        }));
    }
    Ok(())
}

/// A future that resolves when the process is asked to stop (SIGTERM or
/// Ctrl-C). The SIGTERM handler is installed before this returns, so a signal
/// that arrives right after start-up is not lost to the default action.
///
/// # Errors
/// The signal handler cannot be installed.
pub fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}
