//! Organiser accounts, their login sessions and API tokens.

use uuid::Uuid;

use super::{Result, Store, StoreError, WriteTx, db_time, now, on_pool, on_tx};
use crate::domain::{Email, Role, Timestamp, TokenHash, UserId};

/// An organiser account.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub role: Role,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    name: String,
    role: String,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self> {
        let corrupt = |e: crate::domain::ParseError| StoreError::Database(sqlx::Error::Decode(e.into()));
        Ok(Self {
            id: UserId::from_uuid(r.id),
            email: Email::parse(&r.email).map_err(corrupt)?,
            name: r.name,
            role: Role::parse(&r.role).map_err(corrupt)?,
        })
    }
}

/// Creates an account, or gives an existing one this role and password.
///
/// # Errors
/// The database failed.
pub async fn upsert_user(tx: &mut WriteTx, email: &Email, role: Role, password_hash: &str) -> Result<UserId> {
    let at = db_time(now());
    let id: Uuid = on_tx!(tx, |c| {
        sqlx::query(
            "insert into app_user (id, email, role, password_hash, created_at, password_changed_at) \
             values ($1, $2, $3, $4, $5, $5) on conflict (email) do update set role = excluded.role, \
             password_hash = excluded.password_hash, password_changed_at = excluded.password_changed_at",
        )
        .bind(Uuid::now_v7())
        .bind(email.as_str())
        .bind(role.as_str())
        .bind(password_hash)
        .bind(at)
        .execute(&mut *c)
        .await?;
        // A new password ends every session of the account.
        sqlx::query("delete from user_session where user_id = (select id from app_user where email = $1)")
            .bind(email.as_str())
            .execute(&mut *c)
            .await?;
        sqlx::query_scalar("select id from app_user where email = $1").bind(email.as_str()).fetch_one(&mut *c).await?
    });
    Ok(UserId::from_uuid(id))
}

/// Records a new API token for an account.
///
/// # Errors
/// The database failed.
pub async fn insert_api_token(tx: &mut WriteTx, user: UserId, name: &str, hash: &TokenHash) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query("insert into api_token (id, user_id, name, hash, created_at) values ($1, $2, $3, $4, $5)")
            .bind(Uuid::now_v7())
            .bind(user.uuid())
            .bind(name)
            .bind(hash.as_bytes())
            .bind(db_time(now()))
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

impl Store {
    /// An enabled account and its password hash, by address.
    ///
    /// # Errors
    /// The database failed.
    pub async fn user_for_login(&self, email: &Email) -> Result<Option<(User, String)>> {
        let row: Option<(Uuid, String, String, String, String)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select id, email, name, role, password_hash from app_user where email = $1 and disabled_at is null",
            )
            .bind(email.as_str())
            .fetch_optional(db)
            .await?
        });
        row.map(|(id, email, name, role, hash)| Ok((UserRow { id, email, name, role }.try_into()?, hash))).transpose()
    }

    /// Starts a session for `user` under the cookie whose hash is `hash`.
    ///
    /// # Errors
    /// The database failed.
    pub async fn create_session(&self, user: UserId, hash: &TokenHash) -> Result<()> {
        let mut tx = self.begin().await?;
        let at = db_time(now());
        on_tx!(tx, |c| {
            sqlx::query("insert into user_session (hash, user_id, created_at, last_seen_at) values ($1, $2, $3, $3)")
                .bind(hash.as_bytes())
                .bind(user.uuid())
                .bind(at)
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await
    }

    /// The account behind a session cookie, if the session is still alive:
    /// seen after `idle_since` and started after `started_since`.
    ///
    /// # Errors
    /// The database failed.
    pub async fn session_user(
        &self,
        hash: &TokenHash,
        idle_since: Timestamp,
        started_since: Timestamp,
    ) -> Result<Option<User>> {
        let row: Option<(Uuid, String, String, String, i64)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select u.id, u.email, u.name, u.role, s.last_seen_at from user_session s \
                 join app_user u on u.id = s.user_id \
                 where s.hash = $1 and s.last_seen_at > $2 and s.created_at > $3 and u.disabled_at is null",
            )
            .bind(hash.as_bytes())
            .bind(db_time(idle_since))
            .bind(db_time(started_since))
            .fetch_optional(db)
            .await?
        });
        let Some((id, email, name, role, last_seen)) = row else { return Ok(None) };
        // Refresh the idle clock at most once a minute, so that reading pages
        // does not turn into a write per request.
        let at = db_time(now());
        if at - last_seen > 60_000_000 {
            let mut tx = self.begin().await?;
            on_tx!(tx, |c| {
                sqlx::query("update user_session set last_seen_at = $1 where hash = $2")
                    .bind(at)
                    .bind(hash.as_bytes())
                    .execute(&mut *c)
                    .await?;
            });
            tx.commit().await?;
        }
        Ok(Some(UserRow { id, email, name, role }.try_into()?))
    }

    /// Ends a session.
    ///
    /// # Errors
    /// The database failed.
    pub async fn delete_session(&self, hash: &TokenHash) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(tx, |c| {
            sqlx::query("delete from user_session where hash = $1").bind(hash.as_bytes()).execute(&mut *c).await?;
        });
        tx.commit().await
    }

    /// The account behind an API token that has not been revoked.
    ///
    /// # Errors
    /// The database failed.
    pub async fn api_token_user(&self, hash: &TokenHash) -> Result<Option<User>> {
        let row: Option<UserRow> = on_pool!(self, |db| {
            sqlx::query_as(
                "select u.id, u.email, u.name, u.role from api_token t join app_user u on u.id = t.user_id \
                 where t.hash = $1 and t.revoked_at is null and u.disabled_at is null",
            )
            .bind(hash.as_bytes())
            .fetch_optional(db)
            .await?
        });
        row.map(User::try_from).transpose()
    }
}
