//! `backup` and `restore` of the SQLite database. A backup is taken with
//! `VACUUM INTO` while the service runs and writes: one read transaction, so
//! the copy is a consistent snapshot, and in WAL mode the writers go on
//! meanwhile. A restore checks that the file is a sound Dialogforum database,
//! refuses while the service has the database open, keeps the old file and
//! moves the copy into place with one rename.
//!
//! PostgreSQL has its own tools for this (`pg_dump`, `pg_restore`); the
//! commands say so instead of doing half a job.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, bail};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{ConnectOptions as _, Connection as _};

use crate::store::dialect::Dialect;
use crate::store::schema::MigrationStatus;
use crate::store::{Engine, Store};

/// What to do on PostgreSQL instead of `backup`.
pub const POSTGRES_BACKUP: &str = "`dialogforum backup` copies SQLite databases; this database is PostgreSQL. \
     Take the backup with PostgreSQL's own tool, while the service runs:\n  \
     pg_dump --format=custom --file=dialogforum.dump \"$DATABASE_URL\"\n\
     (the README's \"Backup and restore\" has the whole procedure)";

/// What to do on PostgreSQL instead of `restore`.
pub const POSTGRES_RESTORE: &str = "`dialogforum restore` restores SQLite databases; this database is PostgreSQL. \
     Stop the service, then restore with PostgreSQL's own tool:\n  \
     pg_restore --clean --if-exists --no-owner --dbname=\"$DATABASE_URL\" dialogforum.dump\n\
     (the README's \"Backup and restore\" has the whole procedure)";

/// What a finished backup holds.
#[derive(Debug)]
pub struct Backup {
    /// The size of the copy in bytes.
    pub bytes: u64,
    /// Migrations applied in the copy.
    pub migrations: usize,
}

/// What a finished restore did.
#[derive(Debug)]
pub struct Restored {
    /// The database file that was replaced or created.
    pub target: PathBuf,
    /// Where the database that was there before is kept, if there was one.
    pub kept: Option<PathBuf>,
    /// Migrations applied in the restored copy.
    pub migrations: usize,
    /// Migrations this binary carries that the copy lacks; the service applies
    /// them when it starts.
    pub pending: usize,
}

/// The file a `sqlite:` database URL names.
///
/// # Errors
/// The URL is not a SQLite URL with a file name.
pub fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    let options = SqliteConnectOptions::from_str(url).context("database.url is not a usable sqlite:// URL")?;
    let path = options.get_filename().to_path_buf();
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        bail!("database.url names no file; give it as sqlite://PATH");
    }
    Ok(path)
}

/// Copies the live SQLite database at `url` into `dest`: first into a
/// temporary file beside `dest`, which is checked and then renamed, so
/// `dest` is either the whole, checked copy or not there.
///
/// # Errors
/// No database at `url`; `dest` exists and `force` is not given; the copy
/// cannot be written or fails its check.
pub async fn backup(url: &str, dest: &Path, force: bool) -> anyhow::Result<Backup> {
    let source = sqlite_path(url)?;
    if !source.exists() {
        bail!("there is no database at {}, so nothing to back up; check database.url", source.display());
    }
    if dest.exists() && !force {
        bail!("{} already exists; choose another file name, or add --force to replace it", dest.display());
    }
    let partial = beside(dest, ".partial")?;
    let _ = std::fs::remove_file(&partial);
    let copied = async {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(false)
            .busy_timeout(std::time::Duration::from_secs(30));
        let mut conn = options.connect().await.with_context(|| format!("cannot open {}", source.display()))?;
        let partial_name = partial.to_str().context("the backup's file name is not valid UTF-8")?;
        sqlx::query("vacuum into $1")
            .bind(partial_name)
            .execute(&mut conn)
            .await
            .with_context(|| format!("copying the database into {}", partial.display()))?;
        conn.close().await?;
        let status = check_copy(&partial).await?;
        std::fs::File::open(&partial)?.sync_all()?;
        std::fs::rename(&partial, dest).with_context(|| format!("cannot write {}", dest.display()))?;
        let bytes = std::fs::metadata(dest)?.len();
        anyhow::Ok(Backup { bytes, migrations: status.applied })
    }
    .await;
    if copied.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    copied
}

/// Replaces the SQLite database at `url` with the backup `file`. The old
/// database is kept as `<name>.before-restore`.
///
/// # Errors
/// `file` is not a sound Dialogforum database, or one made by a newer
/// version; the service has the database open; a file cannot be written.
pub async fn restore(file: &Path, url: &str) -> anyhow::Result<Restored> {
    let target = sqlite_path(url)?;
    if !file.is_file() {
        bail!("there is no backup file at {}", file.display());
    }
    if target.exists() && same_file(file, &target) {
        bail!("{} is the database itself; name a backup file", file.display());
    }
    let status = check_copy(file).await?;
    if target.exists() {
        refuse_if_in_use(url, &target).await?;
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create the folder {}", dir.display()))?;
    }
    let kept = if target.exists() {
        let kept = suffixed(&target, ".before-restore");
        if kept.exists() {
            bail!(
                "{} is still there from an earlier restore; move it elsewhere (or delete it) and run restore again",
                kept.display()
            );
        }
        // A second name for the old file; the rename below then replaces the
        // target without a moment in which there is none.
        if std::fs::hard_link(&target, &kept).is_err() {
            std::fs::copy(&target, &kept)
                .with_context(|| format!("cannot keep the old database as {}", kept.display()))?;
        }
        Some(kept)
    } else {
        None
    };
    let partial = beside(&target, ".restore-partial")?;
    let placed = (|| {
        std::fs::copy(file, &partial).with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::File::open(&partial)?.sync_all()?;
        std::fs::rename(&partial, &target).with_context(|| format!("cannot replace {}", target.display()))?;
        // The old database's shared-memory index must not be taken for the new one's.
        let _ = std::fs::remove_file(suffixed(&target, "-shm"));
        anyhow::Ok(())
    })();
    if placed.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    placed?;
    Ok(Restored { target, kept, migrations: status.applied, pending: status.missing.len() })
}

/// Checks that `file` is a whole SQLite database that Dialogforum made and
/// this version can run; returns how its migrations stand.
///
/// # Errors
/// Not a SQLite database, damaged, without Dialogforum's migrations, or
/// migrated by a newer version.
pub async fn check_copy(file: &Path) -> anyhow::Result<MigrationStatus> {
    let not_ours = || format!("{} is not a Dialogforum SQLite database", file.display());
    let options = SqliteConnectOptions::new().filename(file).read_only(true).create_if_missing(false);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.with_context(not_ours)?;
    let checked = async {
        let problems: Vec<String> =
            sqlx::query_scalar("pragma integrity_check").fetch_all(&pool).await.with_context(not_ours)?;
        if problems.first().map(String::as_str) != Some("ok") {
            let first = problems.first().cloned().unwrap_or_default();
            bail!("{} is damaged: SQLite's integrity check says \"{first}\"", file.display());
        }
        let store = Store { engine: Engine::Sqlite(pool.clone(), Arc::default()) };
        let rows = store.applied_migration_rows().await.with_context(not_ours)?;
        let Some(rows) = rows.filter(|r| !r.is_empty()) else {
            bail!("{}: it has no Dialogforum migrations table", not_ours());
        };
        let status = MigrationStatus::compare(Dialect::Sqlite, Some(&rows));
        if let Some(v) = status.unknown.first() {
            bail!(
                "{} was made by a newer Dialogforum (it has migration {v:04}, which this version does not know); \
                 restore it with that version",
                file.display()
            );
        }
        if let Some(v) = status.failed.first() {
            bail!("{}: its migration {v:04} failed part-way; use an older backup", file.display());
        }
        anyhow::Ok(status)
    }
    .await;
    pool.close().await;
    checked
}

/// Refuses when another process has the database open. A connection to a
/// WAL database keeps its `-wal` file; when the last one closes, SQLite
/// checkpoints and deletes it. So after opening and closing a connection of
/// our own, a `-wal` file that is still there belongs to someone else.
async fn refuse_if_in_use(url: &str, target: &Path) -> anyhow::Result<()> {
    let options = SqliteConnectOptions::from_str(url)?.create_if_missing(false);
    let mut conn = options.connect().await.with_context(|| format!("cannot open {}", target.display()))?;
    // Only to fold the log into the file when nobody else is there; busy is fine.
    let _ = sqlx::query("pragma wal_checkpoint(truncate)").execute(&mut conn).await;
    conn.close().await?;
    if suffixed(target, "-wal").exists() {
        bail!(
            "the database {} is in use: stop the service first (e.g. `systemctl stop dialogforum`), \
             then run restore again",
            target.display()
        );
    }
    Ok(())
}

/// `path` with `suffix` added to its file name, in the same folder.
fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// A hidden file beside `path` (same folder, so a rename between them is atomic).
fn beside(path: &Path, suffix: &str) -> anyhow::Result<PathBuf> {
    let name = path.file_name().with_context(|| format!("{} is not a file name", path.display()))?;
    let mut hidden = std::ffi::OsString::from(".");
    hidden.push(name);
    hidden.push(suffix);
    Ok(path.with_file_name(hidden))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
