//! The migrations this binary carries, compared with those the database has
//! applied: what `doctor` reports and `restore` checks a backup against.
//!
//! The list comes from sqlx's embedded migrator, so a migration added to
//! `migrations/` is known here without being named.

use super::dialect::Dialect;
use super::{Engine, POSTGRES_MIGRATIONS, Result, SQLITE_MIGRATIONS, Store};

/// A migration this binary carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub version: i64,
    pub description: String,
}

impl std::fmt::Display for Known {
    /// `0019 (registration note count)`, as the file is named.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04} ({})", self.version, self.description)
    }
}

/// The migrations of `dialect` this binary carries, oldest first.
#[must_use]
pub fn known(dialect: Dialect) -> Vec<Known> {
    let migrator = match dialect {
        Dialect::Sqlite => &SQLITE_MIGRATIONS,
        Dialect::Postgres => &POSTGRES_MIGRATIONS,
    };
    migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| Known { version: m.version, description: m.description.to_string() })
        .collect()
}

/// A row of `_sqlx_migrations`.
#[derive(Debug, Clone)]
pub struct Applied {
    pub version: i64,
    pub success: bool,
    pub checksum: Vec<u8>,
}

/// How the database's migrations stand against the binary's.
#[derive(Debug, Clone, Default)]
pub struct MigrationStatus {
    /// Whether the database has a migrations table at all.
    pub has_table: bool,
    /// Migrations applied successfully.
    pub applied: usize,
    /// Migrations this binary carries, in any order, that the database lacks.
    pub missing: Vec<Known>,
    /// Versions the database has applied that this binary does not carry
    /// (a newer binary migrated it).
    pub unknown: Vec<i64>,
    /// Versions whose run failed part-way.
    pub failed: Vec<i64>,
    /// Migrations whose file changed after they were applied.
    pub changed: Vec<Known>,
}

impl MigrationStatus {
    /// Compares the rows of `_sqlx_migrations` (`None`: no such table) with
    /// the binary's migrations for `dialect`.
    #[must_use]
    pub fn compare(dialect: Dialect, applied: Option<&[Applied]>) -> Self {
        let Some(applied) = applied else {
            return Self { missing: known(dialect), ..Self::default() };
        };
        let migrator = match dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        let mut status = Self { has_table: true, ..Self::default() };
        for m in migrator.iter().filter(|m| m.migration_type.is_up_migration()) {
            let known = Known { version: m.version, description: m.description.to_string() };
            match applied.iter().find(|a| a.version == m.version) {
                Some(a) if !a.success => {}
                Some(a) if a.checksum != *m.checksum => status.changed.push(known),
                Some(_) => {}
                None => status.missing.push(known),
            }
        }
        for a in applied {
            if !a.success {
                status.failed.push(a.version);
            } else if !migrator.version_exists(a.version) {
                status.unknown.push(a.version);
            }
        }
        status.applied = applied.iter().filter(|a| a.success).count();
        status
    }

    /// Whether the schema is exactly what this binary expects.
    #[must_use]
    pub fn is_current(&self) -> bool {
        self.has_table
            && self.missing.is_empty()
            && self.unknown.is_empty()
            && self.failed.is_empty()
            && self.changed.is_empty()
    }
}

impl Store {
    /// The rows of `_sqlx_migrations`, or `None` where the table does not exist.
    pub async fn applied_migration_rows(&self) -> Result<Option<Vec<Applied>>> {
        let exists: i64 = match &self.engine {
            Engine::Sqlite(db, _) => {
                sqlx::query_scalar(
                    "select count(*) from sqlite_master where type = 'table' and name = '_sqlx_migrations'",
                )
                .fetch_one(db)
                .await?
            }
            Engine::Postgres(db) => {
                sqlx::query_scalar(
                    "select count(*) from information_schema.tables \
                     where table_schema = current_schema() and table_name = '_sqlx_migrations'",
                )
                .fetch_one(db)
                .await?
            }
        };
        if exists == 0 {
            return Ok(None);
        }
        let rows: Vec<(i64, bool, Vec<u8>)> = super::on_pool!(self, |db| {
            sqlx::query_as("select version, success, checksum from _sqlx_migrations order by version")
                .fetch_all(db)
                .await?
        });
        Ok(Some(rows.into_iter().map(|(version, success, checksum)| Applied { version, success, checksum }).collect()))
    }

    /// How the database's migrations stand against this binary's.
    pub async fn migration_status(&self) -> Result<MigrationStatus> {
        let rows = self.applied_migration_rows().await?;
        Ok(MigrationStatus::compare(self.dialect(), rows.as_deref()))
    }
}
