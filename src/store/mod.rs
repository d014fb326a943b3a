//! One store for both engines. SQLite is the embedded default, PostgreSQL the
//! engine for larger installations; the engine is chosen by the URL scheme.
//!
//! Each query is written once. The [`on_pool!`] and [`on_tx!`] macros expand
//! the same code once per engine, so each driver type-checks it with its own
//! types; where the dialects truly differ the two branches stand side by side.
//!
//! SQLite allows one writer at a time. Write transactions start with
//! `BEGIN IMMEDIATE` after taking an in-process write gate, so concurrent
//! requests queue in order instead of failing with `SQLITE_BUSY`; the busy
//! timeout covers other processes on the same file.
//!
//! Every fallible function here returns [`StoreError`]; where a function's
//! own documentation names no other case, an error means the database failed
//! and nothing it was asked to write was written.

#![allow(clippy::missing_errors_doc, reason = "the module documentation says once what a store error means")]

pub mod audit;
pub mod bounces;
pub mod campaigns;
pub mod dialect;
pub mod dossier;
pub mod erasure;
pub mod evaluations;
pub mod exports;
pub mod imap;
pub mod materials;
pub mod meetings;
pub mod organisations;
pub mod outbox;
pub mod overview;
pub mod pages;
pub mod people;
pub mod rate;
pub mod registrations;
pub mod reports;
pub mod retention;
pub mod rsvp;
pub mod schema;
pub mod subscribers;
pub mod subscriptions;
pub mod suppression;
pub mod tokens;
pub mod totals;
pub mod users;
pub mod year;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::domain::Timestamp;

/// Runs `$body` once per engine with `$db` bound to that engine's pool.
macro_rules! on_pool {
    ($store:expr, |$db:ident| $body:expr) => {
        match &$store.engine {
            $crate::store::Engine::Sqlite($db, _) => $body,
            $crate::store::Engine::Postgres($db) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Runs `$body` once per engine with `$c` bound to that engine's connection
/// inside the write transaction `$tx`. Use it as `.execute(&mut *$c)`.
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match &mut $tx.inner {
            $crate::store::TxInner::Sqlite(t) => {
                let $c: &mut sqlx::SqliteConnection = &mut *t;
                $body
            }
            $crate::store::TxInner::Postgres(t) => {
                let $c: &mut sqlx::PgConnection = &mut *t;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

/// What can go wrong in the store, in terms the callers act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the text names the constraint.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached right now.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation => {
                Self::Conflict(db.constraint().unwrap_or("unique").to_owned())
            }
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(e),
            sqlx::Error::Database(db) if db.code().as_deref().is_some_and(is_unavailable_code) => Self::Unavailable(e),
            _ => Self::Database(e),
        }
    }
}

/// SQLSTATE codes that mean "the database is not there right now" rather than
/// "this statement is wrong": connection exceptions (class 08), operator
/// intervention (57P01–57P03), a database that refuses connections (55000) or
/// is missing (3D000), and SQLite's busy and locked codes (5, 6).
fn is_unavailable_code(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("57P") || matches!(code, "55000" | "3D000" | "5" | "6")
}

/// Short form used throughout the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone)]
pub(crate) enum Engine {
    Sqlite(SqlitePool, Arc<Mutex<()>>),
    Postgres(PgPool),
}

/// The database, whichever engine it is.
#[derive(Clone)]
pub struct Store {
    pub(crate) engine: Engine,
}

pub(crate) enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// A write transaction. Dropped without [`WriteTx::commit`], it rolls back.
pub struct WriteTx {
    pub(crate) inner: TxInner,
    _gate: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// Makes the transaction's changes permanent.
    ///
    /// # Errors
    /// The database refused the commit.
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// Options for opening the store.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub busy_timeout: Duration,
    /// How long a request waits for a pooled connection before it gets 503.
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self { max_connections: 10, busy_timeout: Duration::from_secs(30), acquire_timeout: Duration::from_secs(5) }
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Opens a pool for `url` (`sqlite://PATH` or `postgres://…`). A SQLite file
    /// and its folder are created if missing.
    ///
    /// # Errors
    /// An unusable URL, or a database that cannot be reached.
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Self> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(opts.busy_timeout)
                .foreign_keys(true)
                // Deleted rows are overwritten on disk, so an erased person's data
                // does not linger in free pages of the file.
                .pragma("secure_delete", "on");
            if let Some(dir) = options.get_filename().parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable(sqlx::Error::Io(e)))?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(options)
                .await?;
            Ok(Self { engine: Engine::Sqlite(pool, Arc::new(Mutex::new(()))) })
        } else {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(options)
                .await?;
            Ok(Self { engine: Engine::Postgres(pool) })
        }
    }

    /// `"sqlite"` or `"postgres"`.
    #[must_use]
    pub fn engine_name(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite(..) => "sqlite",
            Engine::Postgres(_) => "postgres",
        }
    }

    /// Applies pending migrations; returns how many were applied.
    ///
    /// # Errors
    /// A migration failed, or an applied migration was edited afterwards.
    pub async fn migrate(&self) -> Result<usize> {
        let before = self.applied_migrations().await.unwrap_or(0);
        match &self.engine {
            Engine::Sqlite(pool, gate) => {
                let _g = gate.lock().await;
                SQLITE_MIGRATIONS.run(pool).await?;
            }
            Engine::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(self.applied_migrations().await?.saturating_sub(before))
    }

    async fn applied_migrations(&self) -> Result<usize> {
        let n: i64 = on_pool!(self, |db| {
            sqlx::query_scalar("select count(*) from _sqlx_migrations where success").fetch_one(db).await?
        });
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Whether the database answers and every known migration is applied.
    ///
    /// # Errors
    /// The database cannot be reached, or migrations are missing.
    pub async fn ready(&self) -> Result<()> {
        let expected = match self.engine {
            Engine::Sqlite(..) => SQLITE_MIGRATIONS.iter().count(),
            Engine::Postgres(_) => POSTGRES_MIGRATIONS.iter().count(),
        };
        let applied = self.applied_migrations().await?;
        if applied < expected {
            return Err(StoreError::Conflict(format!("{applied} of {expected} migrations applied")));
        }
        Ok(())
    }

    /// Starts a write transaction. Never open a second one in the same task
    /// while holding one: on SQLite the second waits for the first's gate forever.
    ///
    /// # Errors
    /// The database cannot be reached.
    pub async fn begin(&self) -> Result<WriteTx> {
        match &self.engine {
            Engine::Sqlite(pool, gate) => {
                let guard = Arc::clone(gate).lock_owned().await;
                let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(WriteTx { inner: TxInner::Sqlite(tx), _gate: Some(guard) })
            }
            Engine::Postgres(pool) => {
                let tx = pool.begin().await?;
                Ok(WriteTx { inner: TxInner::Postgres(tx), _gate: None })
            }
        }
    }

    /// Closes every pooled connection.
    pub async fn close(&self) {
        match &self.engine {
            Engine::Sqlite(pool, _) => pool.close().await,
            Engine::Postgres(pool) => pool.close().await,
        }
    }
}

/// An instant as stored: UTC microseconds since the Unix epoch.
#[must_use]
pub fn db_time(t: Timestamp) -> i64 {
    t.as_microsecond()
}

/// An instant read back from storage.
#[must_use]
pub fn from_db_time(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The current instant, truncated to what storage keeps.
#[must_use]
pub fn now() -> Timestamp {
    from_db_time(db_time(Timestamp::now()))
}
