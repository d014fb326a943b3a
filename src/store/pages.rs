//! The version of what the public pages show: the sum of every meeting's own
//! version and the site's, raised by triggers on each write that changes a
//! public page (migration 0031), so that it only ever grows.

use super::{Result, Store, on_pool};

impl Store {
    /// The current version of the public pages.
    pub async fn public_version(&self) -> Result<i64> {
        let version: i64 = on_pool!(self, |db| sqlx::query_scalar(
            "select cast((select coalesce(sum(public_version), 0) from meeting) \
             + (select version from public_version where id = 1) as bigint)"
        )
        .fetch_one(db)
        .await?);
        Ok(version)
    }
}
