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

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows a database migrated by this binary has.
    fn all_applied() -> Vec<Applied> {
        SQLITE_MIGRATIONS
            .iter()
            .map(|m| Applied { version: m.version, success: true, checksum: m.checksum.to_vec() })
            .collect()
    }

    #[test]
    fn a_database_migrated_by_this_binary_is_current() {
        let status = MigrationStatus::compare(Dialect::Sqlite, Some(&all_applied()));
        assert!(status.is_current(), "{status:?}");
        assert_eq!(status.applied, known(Dialect::Sqlite).len());
    }

    #[test]
    fn each_way_of_differing_is_named() {
        let newest = known(Dialect::Sqlite).pop().unwrap();
        let mut rows = all_applied();
        rows.pop();
        let status = MigrationStatus::compare(Dialect::Sqlite, Some(&rows));
        assert_eq!(status.missing, vec![newest]);
        assert!(!status.is_current());

        let mut rows = all_applied();
        rows.push(Applied { version: 9999, success: true, checksum: Vec::new() });
        rows[0].checksum = vec![0; 48];
        rows[1].success = false;
        let status = MigrationStatus::compare(Dialect::Sqlite, Some(&rows));
        assert_eq!(status.unknown, vec![9999]);
        assert_eq!(status.changed[0].version, rows[0].version);
        assert_eq!(status.failed, vec![rows[1].version]);
        assert!(status.missing.is_empty());
    }

    #[test]
    fn without_a_migrations_table_everything_is_missing() {
        let status = MigrationStatus::compare(Dialect::Postgres, None);
        assert!(!status.has_table);
        assert_eq!(status.missing, known(Dialect::Postgres));
        assert_eq!(status.missing[0].to_string(), "0001 (core)");
    }
}
