//! Organiser accounts, their login sessions and API tokens.

use uuid::Uuid;

use super::{Result, Store, StoreError, WriteTx, db_time, from_db_time, now, on_pool, on_tx};
use crate::domain::{Email, Role, Timestamp, TokenHash, UserId};

/// How often the use of a session or an API token is noted, in microseconds:
/// at most once a minute, so that reading pages does not turn into a write per
/// request.
const NOTED_EVERY: i64 = 60_000_000;

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

impl Store {
    /// An enabled account and its password hash, by address.
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
        if at - last_seen > NOTED_EVERY {
            self.note_use("update user_session set last_seen_at = $1 where hash = $2", at, hash).await?;
        }
        Ok(Some(UserRow { id, email, name, role }.try_into()?))
    }

    /// Ends a session.
    pub async fn delete_session(&self, hash: &TokenHash) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(tx, |c| {
            sqlx::query("delete from user_session where hash = $1").bind(hash.as_bytes()).execute(&mut *c).await?;
        });
        tx.commit().await
    }

    /// The account behind an API token that has not been revoked and has not expired.
    pub async fn api_token_user(&self, hash: &TokenHash) -> Result<Option<User>> {
        let row: Option<(Uuid, String, String, String, Option<i64>)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select u.id, u.email, u.name, u.role, t.last_used_at from api_token t \
                 join app_user u on u.id = t.user_id \
                 where t.hash = $1 and t.revoked_at is null and u.disabled_at is null \
                 and (t.expires_at is null or t.expires_at > $2)",
            )
            .bind(hash.as_bytes())
            .bind(db_time(now()))
            .fetch_optional(db)
            .await?
        });
        let Some((id, email, name, role, last_used)) = row else { return Ok(None) };
        // Noted at most once a minute, so that reading does not turn into a write per request.
        let at = db_time(now());
        if last_used.is_none_or(|l| at - l > NOTED_EVERY) {
            self.note_use("update api_token set last_used_at = $1 where hash = $2", at, hash).await?;
        }
        Ok(Some(UserRow { id, email, name, role }.try_into()?))
    }

    /// Notes the time `at` a session or API token was used: `update` sets it
    /// (`$1`) on the row whose hash is `hash` (`$2`).
    async fn note_use(&self, update: &'static str, at: i64, hash: &TokenHash) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(tx, |c| {
            sqlx::query(update).bind(at).bind(hash.as_bytes()).execute(&mut *c).await?;
        });
        tx.commit().await
    }
}

/// An account as the admin pages show it.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: User,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
    /// Invited by an admin, with no password set yet.
    pub invited: bool,
}

/// An API token as the admin pages show it (never the token itself).
#[derive(Debug, Clone)]
pub struct ApiTokenInfo {
    pub id: Uuid,
    pub name: String,
    pub owner_id: UserId,
    pub owner_email: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// When the token stops working, if it was given an end.
    pub expires_at: Option<Timestamp>,
}

/// Creates an account; an address already in use is a conflict.
///
/// # Errors
/// [`StoreError::Conflict`] for a known address.
pub async fn insert_user(
    tx: &mut WriteTx,
    email: &Email,
    name: &str,
    role: Role,
    password_hash: &str,
) -> Result<UserId> {
    let id = Uuid::now_v7();
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into app_user (id, email, name, role, password_hash, created_at, password_changed_at) \
             values ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(id)
        .bind(email.as_str())
        .bind(name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(db_time(now()))
        .execute(&mut *c)
        .await?;
    });
    Ok(UserId::from_uuid(id))
}

/// Gives an account another role.
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown account.
pub async fn set_role(tx: &mut WriteTx, id: UserId, role: Role) -> Result<()> {
    let n = on_tx!(tx, |c| {
        sqlx::query("update app_user set role = $2 where id = $1")
            .bind(id.uuid())
            .bind(role.as_str())
            .execute(&mut *c)
            .await?
            .rows_affected()
    });
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Disables an account (ending its sessions; its API tokens stop working
/// with it) or enables it again.
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown account.
pub async fn set_disabled(tx: &mut WriteTx, id: UserId, disabled: bool) -> Result<()> {
    let at = disabled.then(|| db_time(now()));
    let n = on_tx!(tx, |c| {
        let n = sqlx::query("update app_user set disabled_at = $2 where id = $1")
            .bind(id.uuid())
            .bind(at)
            .execute(&mut *c)
            .await?
            .rows_affected();
        if disabled {
            sqlx::query("delete from user_session where user_id = $1").bind(id.uuid()).execute(&mut *c).await?;
        }
        n
    });
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Sets a new password and ends every session of the account but `keep`
/// (the one that made the change).
pub async fn change_password(tx: &mut WriteTx, id: UserId, password_hash: &str, keep: &TokenHash) -> Result<u64> {
    Ok(on_tx!(tx, |c| {
        sqlx::query("update app_user set password_hash = $2, password_changed_at = $3 where id = $1")
            .bind(id.uuid())
            .bind(password_hash)
            .bind(db_time(now()))
            .execute(&mut *c)
            .await?;
        sqlx::query("delete from user_session where user_id = $1 and hash <> $2")
            .bind(id.uuid())
            .bind(keep.as_bytes())
            .execute(&mut *c)
            .await?
            .rows_affected()
    }))
}

/// Records a new API token, valid until `expires` if given, and returns its id.
pub async fn create_api_token(
    tx: &mut WriteTx,
    user: UserId,
    name: &str,
    hash: &TokenHash,
    expires: Option<Timestamp>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into api_token (id, user_id, name, hash, created_at, expires_at) values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(user.uuid())
        .bind(name)
        .bind(hash.as_bytes())
        .bind(db_time(now()))
        .bind(expires.map(db_time))
        .execute(&mut *c)
        .await?;
    });
    Ok(id)
}

/// Revokes an API token; returns its owner. Revoking twice changes nothing.
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown token.
pub async fn revoke_api_token(tx: &mut WriteTx, id: Uuid) -> Result<UserId> {
    let owner: Option<Uuid> = on_tx!(tx, |c| {
        sqlx::query("update api_token set revoked_at = $2 where id = $1 and revoked_at is null")
            .bind(id)
            .bind(db_time(now()))
            .execute(&mut *c)
            .await?;
        sqlx::query_scalar("select user_id from api_token where id = $1").bind(id).fetch_optional(&mut *c).await?
    });
    owner.map(UserId::from_uuid).ok_or(StoreError::NotFound)
}

type AccountRow = (Uuid, String, String, String, i64, Option<i64>, String);

fn account(r: AccountRow) -> Result<Account> {
    let (id, email, name, role, created_at, disabled_at, hash_start) = r;
    Ok(Account {
        user: UserRow { id, email, name, role }.try_into()?,
        created_at: from_db_time(created_at),
        disabled_at: disabled_at.map(from_db_time),
        invited: hash_start == NO_PASSWORD_YET,
    })
}

impl Store {
    /// Every account, by address.
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        let rows: Vec<AccountRow> = on_pool!(self, |db| {
            sqlx::query_as(
                "select id, email, name, role, created_at, disabled_at, substr(password_hash, 1, 8) from app_user \
                 order by email",
            )
            .fetch_all(db)
            .await?
        });
        rows.into_iter().map(account).collect()
    }

    /// One account, enabled or not.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn account(&self, id: UserId) -> Result<Account> {
        let row: AccountRow = on_pool!(self, |db| {
            sqlx::query_as(
                "select id, email, name, role, created_at, disabled_at, substr(password_hash, 1, 8) from app_user \
                 where id = $1",
            )
            .bind(id.uuid())
            .fetch_one(db)
            .await?
        });
        account(row)
    }

    /// The password hash of an enabled account.
    pub async fn password_hash(&self, id: UserId) -> Result<Option<String>> {
        Ok(on_pool!(self, |db| {
            sqlx::query_scalar("select password_hash from app_user where id = $1 and disabled_at is null")
                .bind(id.uuid())
                .fetch_optional(db)
                .await?
        }))
    }

    /// API tokens, newest first: all of them, or those of `owner`.
    pub async fn api_tokens(&self, owner: Option<UserId>) -> Result<Vec<ApiTokenInfo>> {
        #[allow(clippy::type_complexity, reason = "one row of a query")]
        let rows: Vec<(Uuid, String, Uuid, String, i64, Option<i64>, Option<i64>, Option<i64>)> =
            on_pool!(self, |db| {
                sqlx::query_as(
                    "select t.id, t.name, u.id, u.email, t.created_at, t.last_used_at, t.revoked_at, t.expires_at \
                 from api_token t join app_user u on u.id = t.user_id \
                 where ($1 is null or t.user_id = $1) order by t.created_at desc, t.id desc",
                )
                .bind(owner.map(UserId::uuid))
                .fetch_all(db)
                .await?
            });
        Ok(rows
            .into_iter()
            .map(|(id, name, owner, owner_email, created_at, last_used_at, revoked_at, expires_at)| ApiTokenInfo {
                id,
                name,
                owner_id: UserId::from_uuid(owner),
                owner_email,
                created_at: from_db_time(created_at),
                last_used_at: last_used_at.map(from_db_time),
                revoked_at: revoked_at.map(from_db_time),
                expires_at: expires_at.map(from_db_time),
            })
            .collect())
    }
}

/// What a link mailed to an organiser is for: resetting a forgotten
/// password, or setting the first one after an admin's invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountLinkPurpose {
    Reset,
    Invite,
}

impl AccountLinkPurpose {
    /// The name stored in the database.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::Invite => "invite",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "invite" { Self::Invite } else { Self::Reset }
    }
}

/// The password hash an invited account holds until its owner sets one:
/// no password matches it.
pub const NO_PASSWORD_YET: &str = "!invited";

/// A link mailed to an organiser, as looked up by its token's hash.
#[derive(Debug, Clone)]
pub struct AccountLink {
    pub user: User,
    pub purpose: AccountLinkPurpose,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

impl AccountLink {
    /// Whether the link still works at `at`: not used, not expired.
    #[must_use]
    pub fn usable(&self, at: Timestamp) -> bool {
        self.used_at.is_none() && self.expires_at > at
    }
}

/// Records a link for `user`, stored as the hash of its token.
pub async fn insert_account_link(
    tx: &mut WriteTx,
    user: UserId,
    hash: &TokenHash,
    purpose: AccountLinkPurpose,
    expires_at: Timestamp,
) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into account_link (hash, user_id, purpose, created_at, expires_at) values ($1, $2, $3, $4, $5)",
        )
        .bind(hash.as_bytes())
        .bind(user.uuid())
        .bind(purpose.as_str())
        .bind(db_time(now()))
        .bind(db_time(expires_at))
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// How many links of `purpose` were made for `user` since `since`.
pub async fn account_links_since(
    tx: &mut WriteTx,
    user: UserId,
    purpose: AccountLinkPurpose,
    since: Timestamp,
) -> Result<i64> {
    Ok(on_tx!(tx, |c| {
        sqlx::query_scalar("select count(*) from account_link where user_id = $1 and purpose = $2 and created_at > $3")
            .bind(user.uuid())
            .bind(purpose.as_str())
            .bind(db_time(since))
            .fetch_one(&mut *c)
            .await?
    }))
}

/// The enabled account at `email`, for a reset request.
pub async fn enabled_user(tx: &mut WriteTx, email: &Email) -> Result<Option<User>> {
    let row: Option<(Uuid, String, String, String)> = on_tx!(tx, |c| {
        sqlx::query_as("select id, email, name, role from app_user where email = $1 and disabled_at is null")
            .bind(email.as_str())
            .fetch_optional(&mut *c)
            .await?
    });
    row.map(|(id, email, name, role)| UserRow { id, email, name, role }.try_into()).transpose()
}

/// Uses the link behind `hash` if it still works at `at` and its account is
/// enabled: marks it and every other open link of the account used, sets
/// `password_hash`, and ends every session of the account. Returns the
/// account and what the link was for, or `None` when the link does not work
/// (unknown, used, expired), in which case nothing changed. The conditional
/// update makes the link work once, however many use it at the same moment.
pub async fn use_account_link(
    tx: &mut WriteTx,
    hash: &TokenHash,
    at: Timestamp,
    password_hash: &str,
) -> Result<Option<(User, AccountLinkPurpose, u64)>> {
    let at = db_time(at);
    let used: Option<(Uuid, String)> = on_tx!(tx, |c| {
        sqlx::query_as(
            "update account_link set used_at = $2 where hash = $1 and used_at is null and expires_at > $2 \
             and user_id in (select id from app_user where disabled_at is null) returning user_id, purpose",
        )
        .bind(hash.as_bytes())
        .bind(at)
        .fetch_optional(&mut *c)
        .await?
    });
    let Some((user_id, purpose)) = used else { return Ok(None) };
    let (row, ended): (Option<(Uuid, String, String, String)>, u64) = on_tx!(tx, |c| {
        sqlx::query("update account_link set used_at = $2 where user_id = $1 and used_at is null")
            .bind(user_id)
            .bind(at)
            .execute(&mut *c)
            .await?;
        sqlx::query("update app_user set password_hash = $2, password_changed_at = $3 where id = $1")
            .bind(user_id)
            .bind(password_hash)
            .bind(at)
            .execute(&mut *c)
            .await?;
        let ended = sqlx::query("delete from user_session where user_id = $1")
            .bind(user_id)
            .execute(&mut *c)
            .await?
            .rows_affected();
        let row = sqlx::query_as("select id, email, name, role from app_user where id = $1")
            .bind(user_id)
            .fetch_optional(&mut *c)
            .await?;
        (row, ended)
    });
    let Some((id, email, name, role)) = row else { return Ok(None) };
    Ok(Some((UserRow { id, email, name, role }.try_into()?, AccountLinkPurpose::parse(&purpose), ended)))
}

impl Store {
    /// The link behind `hash` with its account, used or not.
    pub async fn account_link(&self, hash: &TokenHash) -> Result<Option<AccountLink>> {
        #[allow(clippy::type_complexity, reason = "one row of a query")]
        let row: Option<(Uuid, String, String, String, String, i64, Option<i64>)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select u.id, u.email, u.name, u.role, l.purpose, l.expires_at, l.used_at from account_link l \
                 join app_user u on u.id = l.user_id where l.hash = $1 and u.disabled_at is null",
            )
            .bind(hash.as_bytes())
            .fetch_optional(db)
            .await?
        });
        let Some((id, email, name, role, purpose, expires_at, used_at)) = row else { return Ok(None) };
        Ok(Some(AccountLink {
            user: UserRow { id, email, name, role }.try_into()?,
            purpose: AccountLinkPurpose::parse(&purpose),
            expires_at: from_db_time(expires_at),
            used_at: used_at.map(from_db_time),
        }))
    }
}
