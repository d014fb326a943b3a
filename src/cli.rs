//! The command line: `serve`, `migrate`, `demo`, `user add`, `token create`,
//! `import`, `export`, `campaign`, `backup`, `restore`, `doctor`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::app;
use crate::config::{LogFormat, Settings};
use crate::domain::{Email, Role};
use crate::forum::accounts;
use crate::store::audit::Actor;

/// Dialogforum: mailing list, meetings, invitations, RSVPs, evaluations and exports for a dialogue forum.
#[derive(Debug, Parser)]
#[command(name = "dialogforum", version)]
pub struct Cli {
    /// A configuration file read after config/default.toml's defaults.
    #[arg(long, global = true, env = "DIALOGFORUM_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web server and the outbox worker (applies pending migrations first).
    Serve {
        /// Load the demo data (the forum's meeting history and sample contacts) first.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the demo data; loading it again changes nothing.
    Demo,
    /// Organiser accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Import data.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Export data as CSV or XLSX (a progress bar shows how far it is).
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Campaigns (one send to many).
    Campaign {
        #[command(subcommand)]
        command: CampaignCommand,
    },
    /// Copy the SQLite database to FILE while the service runs (PostgreSQL: pg_dump, see the README).
    Backup {
        /// The file to write; it must not exist yet unless --force is given.
        file: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Replace the SQLite database with the backup FILE (stop the service first);
    /// the old database is kept as <name>.before-restore.
    Restore {
        /// A file written by `dialogforum backup`.
        file: PathBuf,
    },
    /// Check the configuration, the database and its migrations, the SMTP server
    /// (without sending) and the base URL; print the DNS records to publish.
    Doctor,
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Import the mailing list from a CSV file with columns email, name, organisation [, interests].
    Subscribers {
        /// The CSV file (comma or semicolon separated, UTF-8).
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// A meeting's participant list: everyone who answered the invitation.
    Participants {
        /// The meeting's number (e.g. 16) or its id.
        meeting: String,
        #[command(flatten)]
        out: ExportArgs,
    },
    /// The mailing list (never guests).
    Subscribers {
        #[command(flatten)]
        out: ExportArgs,
    },
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    #[arg(long, value_parser = ["csv", "xlsx"], default_value = "csv")]
    format: String,
    /// The file to write.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
    /// CSV field separator: semicolon (what a Danish Excel expects) or comma.
    #[arg(long, value_parser = ["semicolon", "comma"], default_value = "semicolon")]
    sep: String,
    /// Language of the headers and texts.
    #[arg(long, value_parser = ["da", "en"], default_value = "da")]
    lang: String,
}

#[derive(Debug, Subcommand)]
enum CampaignCommand {
    /// Show a campaign's progress; with --watch, a progress bar until it is done.
    Status {
        /// The campaign id (from the API's answer to an invitation).
        id: String,
        #[arg(long)]
        watch: bool,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account, or give an existing one a new role and password. The password is read from stdin.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["admin", "organiser", "viewer"])]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token for an account; the token is the last line printed.
    Create {
        #[arg(long)]
        email: String,
        /// A note saying what the token is for.
        #[arg(long, default_value = "")]
        name: String,
        /// Days after which the token stops working (1-3650); without it the
        /// token works until it is revoked.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=3650))]
        expires_in_days: Option<u16>,
    },
}

/// Runs the command line and turns the outcome into an exit code.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) if matches!(cli.command, Command::Doctor) => {
            print!("{}", crate::doctor::Report::unreadable_configuration(&e.to_string()).render());
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log.level));
    // mailin traces SMTP commands with whole addresses in them; those never reach the log.
    if let Ok(quiet) = "mailin=off".parse() {
        filter = filter.add_directive(quiet);
    }
    // async-imap traces IMAP commands, a LOGIN's password and an XOAUTH2 token among them.
    if let Ok(quiet) = "async_imap=off".parse() {
        filter = filter.add_directive(quiet);
    }
    // Colours only for a person at a terminal, not in files and journals.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = match settings.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo } => {
            let store = app::open_store(&settings).await?;
            store.migrate().await.context("applying database migrations")?;
            if demo {
                load_demo(&store).await?;
            }
            let running = app::start_with_store(settings, store, app::StartOptions::default()).await?;
            let stopped = app::stop_signal().context("installing the SIGTERM handler")?;
            eprintln!("Dialogforum is running at http://{}/ (Ctrl-C stops it)", running.addr);
            let stop = running.shutdown_handle();
            tokio::spawn(async move {
                stopped.await;
                tracing::info!("stopping: finishing requests in flight and the mail being sent");
                let _ = stop.send(true);
            });
            running.wait().await
        }
        Command::Migrate => {
            let store = app::open_store(&settings).await?;
            let n = store.migrate().await.context("applying database migrations")?;
            println!("{n} migration(s) applied; the {} database is up to date", store.engine_name());
            Ok(())
        }
        Command::Demo => {
            let store = app::open_store(&settings).await?;
            store.migrate().await.context("applying database migrations")?;
            load_demo(&store).await
        }
        Command::User { command: UserCommand::Add { email, role } } => {
            let email = Email::parse(&email).context("--email")?;
            let role = Role::parse(&role)?;
            let mut password_text = String::new();
            std::io::stdin().read_to_string(&mut password_text).context("reading the password from stdin")?;
            let password_text = password_text.trim_end_matches(['\r', '\n']).to_owned();
            let hash = accounts::hash_password(password_text).await??;
            let store = app::open_store(&settings).await?;
            store.migrate().await?;
            let id = accounts::set_up(&store, &email, role, &hash).await?;
            println!("user {} ({}) saved with role {role}", email.masked(), id);
            Ok(())
        }
        Command::Token { command: TokenCommand::Create { email, name, expires_in_days } } => {
            let email = Email::parse(&email).context("--email")?;
            let store = app::open_store(&settings).await?;
            store.migrate().await?;
            let Some((user, _)) = store.user_for_login(&email).await? else {
                bail!("no enabled account with that address; create it with `dialogforum user add`");
            };
            let token = accounts::create_token(&store, &Actor::System("cli"), user.id, &name, expires_in_days).await?;
            eprintln!("API token for {} ({}); it is shown once and stored only as a hash:", email.masked(), user.role);
            println!("{}", token.expose());
            Ok(())
        }
        Command::Import { command: ImportCommand::Subscribers { file } } => {
            let store = app::open_store(&settings).await?;
            store.migrate().await?;
            let input = std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
            let bar = indicatif::ProgressBar::new_spinner();
            let actor = crate::store::audit::Actor::System("cli");
            let report = crate::transfer::import::subscribers(&store, input, &actor, |n| {
                bar.set_message(format!("{n} rows read"));
                bar.tick();
            })
            .await?;
            bar.finish_and_clear();
            for r in &report.rejected {
                println!("line {}: {}", r.line, r.reason);
            }
            println!(
                "{} imported, {} already on the list, {} rejected",
                report.imported,
                report.already_known,
                report.rejected.len()
            );
            Ok(())
        }
        Command::Export { command } => export(&settings, command).await,
        Command::Campaign { command: CampaignCommand::Status { id, watch } } => {
            campaign_status(&settings, &id, watch).await
        }
        Command::Backup { file, force } => backup(&settings, &file, force).await,
        Command::Restore { file } => restore(&settings, &file).await,
        Command::Doctor => {
            let report = crate::doctor::run(&settings).await;
            print!("{}", report.render());
            if report.failed() {
                bail!("doctor found problems: the lines marked FAIL say what to fix");
            }
            Ok(())
        }
    }
}

/// `backup FILE`: an online copy of the SQLite database.
async fn backup(settings: &Settings, file: &std::path::Path, force: bool) -> anyhow::Result<()> {
    if !settings.database.url.starts_with("sqlite:") {
        bail!("{}", crate::backup::POSTGRES_BACKUP);
    }
    let done = crate::backup::backup(&settings.database.url, file, force).await?;
    println!(
        "backup written to {} ({} KiB, {} migrations, integrity check ok)",
        file.display(),
        done.bytes.div_ceil(1024),
        done.migrations
    );
    Ok(())
}

/// `restore FILE`: the SQLite database replaced by a backup.
async fn restore(settings: &Settings, file: &std::path::Path) -> anyhow::Result<()> {
    if !settings.database.url.starts_with("sqlite:") {
        bail!("{}", crate::backup::POSTGRES_RESTORE);
    }
    let done = crate::backup::restore(file, &settings.database.url).await?;
    println!("restored {} into {} ({} migrations)", file.display(), done.target.display(), done.migrations);
    if let Some(kept) = &done.kept {
        println!("the database that was there is kept as {}", kept.display());
    }
    if done.pending > 0 {
        println!("the backup lacks {} newer migration(s); the service applies them when it starts", done.pending);
    }
    Ok(())
}

async fn campaign_status(settings: &Settings, id: &str, watch: bool) -> anyhow::Result<()> {
    let id: crate::domain::CampaignId = id.parse().context("the campaign id is not a UUID")?;
    let store = app::open_store(settings).await?;
    let mut p = store.campaign_progress(id).await.context("no such campaign")?;
    if watch {
        let bar = indicatif::ProgressBar::new(u64::try_from(p.total).unwrap_or(0));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg:10} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        while !matches!(p.state.as_str(), "done" | "cancelled") {
            bar.set_length(u64::try_from(p.total).unwrap_or(0));
            bar.set_position(u64::try_from(p.sent + p.failed).unwrap_or(0));
            bar.set_message(p.state.clone());
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            p = store.campaign_progress(id).await?;
        }
        bar.set_position(u64::try_from(p.sent + p.failed).unwrap_or(0));
        bar.finish_with_message(p.state.clone());
    }
    println!(
        "campaign {id}: {}; total {}, queued {}, sent {}, failed {}",
        p.state, p.total, p.queued, p.sent, p.failed
    );
    Ok(())
}

/// Writes an export to a file with a progress bar, and records it in the audit log.
async fn export(settings: &Settings, command: ExportCommand) -> anyhow::Result<()> {
    use crate::forum::exports::What;
    use crate::transfer::export::{Dest, Format, Job, Separator, Spec};
    let store = app::open_store(settings).await?;
    store.migrate().await.context("applying database migrations")?;
    let (meeting, out) = match command {
        ExportCommand::Participants { meeting, out } => {
            let m = match meeting.parse::<i32>() {
                Ok(n) => store.meeting_by_number(n).await,
                Err(_) => match meeting.parse::<crate::domain::MeetingId>() {
                    Ok(id) => store.meeting(id).await,
                    Err(_) => bail!("MEETING must be a meeting number or id"),
                },
            };
            (Some(m.with_context(|| format!("no meeting {meeting}"))?), out)
        }
        ExportCommand::Subscribers { out } => (None, out),
    };
    let lang = crate::i18n::Lang::from_code(&out.lang);
    let format = match (out.format.as_str(), out.sep.as_str()) {
        ("xlsx", _) => Format::Xlsx,
        (_, "comma") => Format::Csv(Separator::Comma),
        _ => Format::Csv(Separator::Semicolon),
    };
    let (what, total) = match meeting {
        Some(m) => {
            let n = store.participant_count(m.id).await?;
            (What::Participants(m), n)
        }
        None => (What::Subscribers(None), store.list_member_count(None).await?),
    };
    let (_, sheet) = what.names(lang);
    let file = std::fs::File::create(&out.output).with_context(|| format!("cannot create {}", out.output.display()))?;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} rows ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut job = Job::start(Spec { table: what.table(), lang, format, sheet }, Dest::File(file));
    let progress = |n: u64| {
        if n.is_multiple_of(500) {
            bar.set_position(n);
        }
    };
    let file_name = out.output.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let written = async {
        let actor = crate::store::audit::Actor::System("cli");
        let rows = crate::forum::exports::write(&store, &actor, &what, lang, &mut job, &file_name, progress).await?;
        job.finish().await?;
        anyhow::Ok(rows)
    }
    .await;
    bar.finish_and_clear();
    match written {
        Ok(rows) => {
            println!("{rows} rows written to {}", out.output.display());
            Ok(())
        }
        Err(e) => {
            // A half-written file must not pass for a whole one.
            let _ = std::fs::remove_file(&out.output);
            Err(e)
        }
    }
}

async fn load_demo(store: &crate::store::Store) -> anyhow::Result<()> {
    let today = jiff::ZonedDateTime::now().with_time_zone(crate::domain::copenhagen()).date();
    let r = crate::demo::load(store, today).await?;
    eprintln!("demo data: {} meeting(s) and {} contact(s) added", r.meetings_added, r.people_added);
    eprintln!("demo data: evaluation results for {} meeting(s) added", r.evaluations_added);
    Ok(())
}
