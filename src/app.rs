//! Builds everything from the settings and runs the web server and the outbox
//! worker side by side until told to stop.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::config::Settings;
use crate::domain::Email;
use crate::mail::campaign::{self, MailContext};
use crate::mail::inbound::{self, InboundSettings};
use crate::mail::{Composer, Transport, Worker, WorkerSettings};
use crate::store::{ConnectOptions, Store};
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

/// A running service: web server and outbox worker.
pub struct Running {
    /// Where the web server listens.
    pub addr: SocketAddr,
    /// The shared state, for callers that want to reach the store or mail.
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    worker: Option<JoinHandle<()>>,
    /// Where the inbound SMTP listener listens, if `inbound.bind` is set.
    pub inbound_addr: Option<SocketAddr>,
    inbound: Option<JoinHandle<()>>,
}

impl Running {
    /// Stops taking requests, lets those in flight finish, stops the worker
    /// after the messages it holds, and waits for both.
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
        self.server.await.context("web server task")?.context("web server")?;
        if let Some(w) = self.worker {
            let _ = self.shutdown.send(true);
            w.await.context("mail worker task")?;
        }
        if let Some(i) = self.inbound {
            let _ = self.shutdown.send(true);
            i.await.context("inbound mail task")?;
        }
        Ok(())
    }

    /// A handle that stops the service when sent `true`.
    #[must_use]
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
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
    let from = Email::parse(&settings.mail.from).context("mail.from")?;
    let reply_to = Some(settings.mail.reply_to.as_str())
        .filter(|s| !s.is_empty())
        .map(Email::parse)
        .transpose()
        .context("mail.reply_to")?;
    let mut composer = Composer::new(&from, &settings.mail.from_name, reply_to.as_ref(), &settings.mail.list_id)?;
    let mail = &settings.mail;
    if !mail.dkim_key_file.as_os_str().is_empty() {
        let key = std::fs::read_to_string(&mail.dkim_key_file)
            .with_context(|| format!("mail.dkim_key_file: cannot read {}", mail.dkim_key_file.display()))?;
        let domain = if mail.dkim_domain.is_empty() { from.domain() } else { mail.dkim_domain.as_str() };
        let ed25519 = mail.dkim_algorithm == crate::config::DkimAlgorithm::Ed25519;
        composer = composer.with_dkim(&mail.dkim_selector, domain, &key, ed25519).context("mail.dkim_key_file")?;
    }
    if !settings.inbound.bind.is_empty() {
        // The listener takes mail for the leave address, so list mail may name it.
        let inbound = InboundSettings::from_settings(&settings).map_err(anyhow::Error::msg)?;
        composer = composer.with_leave_address(&inbound.leave_address);
    }
    let transport = Transport::from_settings(&settings.mail).map_err(anyhow::Error::msg)?;
    let mail_wake = Arc::new(Notify::new());
    let campaign_wake = Arc::new(Notify::new());
    let (shutdown, shutdown_rx) = watch::channel(false);

    // The outbox worker and the campaign runner run together and stop together.
    let worker = if opts.worker {
        let worker = Worker::new(
            store.clone(),
            transport,
            settings.bounce_base().context("mail.bounce_address")?,
            WorkerSettings::from_settings(&settings.mail),
            Arc::clone(&mail_wake),
        );
        let ctx = Arc::new(MailContext { composer: composer.clone(), base_url: settings.base_url().to_owned() });
        let runner = campaign::run(
            store.clone(),
            ctx,
            crate::store::retention::Policy::from(&settings.security),
            settings.reminders,
            Arc::clone(&campaign_wake),
            Arc::clone(&mail_wake),
            shutdown_rx.clone(),
        );
        let worker = worker.run(shutdown_rx.clone());
        Some(tokio::spawn(async move {
            tokio::join!(worker, runner);
        }))
    } else {
        None
    };

    let inbound_mail = MailContext { composer: composer.clone(), base_url: settings.base_url().to_owned() };
    let (inbound_addr, inbound) =
        start_inbound(&settings, &store, inbound_mail, Arc::clone(&mail_wake), &shutdown_rx).await?.unzip();
    let listener = TcpListener::bind(settings.server.bind)
        .await
        .with_context(|| format!("cannot listen on {} (server.bind)", settings.server.bind))?;
    let addr = listener.local_addr()?;
    let state = AppState::new(Inner {
        store,
        settings,
        composer,
        mail_wake,
        campaign_wake,
        metrics: metrics_handle(),
        rsvp_desks: web::rsvp::Desks::default(),
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
    Ok(Running { addr, state, shutdown, server, worker, inbound_addr, inbound })
}

/// Binds `inbound.bind` and spawns the inbound SMTP listener, unless the key is empty.
async fn start_inbound(
    settings: &Settings,
    store: &Store,
    mail: MailContext,
    mail_wake: Arc<Notify>,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<Option<(SocketAddr, JoinHandle<()>)>> {
    let bind = settings.inbound.bind.as_str();
    if bind.is_empty() {
        return Ok(None);
    }
    let inbound_settings = InboundSettings::from_settings(settings).map_err(anyhow::Error::msg)?;
    let listener = TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind} (inbound.bind)"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "receiving mail");
    let serve = inbound::serve(listener, store.clone(), inbound_settings, mail, mail_wake, shutdown.clone());
    Ok(Some((addr, tokio::spawn(serve))))
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
