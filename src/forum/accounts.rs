//! The organisers' accounts: signing in (with its throttles), changing one's
//! password, adding an account, changing its role, disabling it, and the API
//! tokens. Each change is audited in the transaction that makes it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::SignedDuration;
use sha2::{Digest, Sha256};

use super::{Forum, ForumError, Refusal, Result};
use crate::config::Security;
use crate::domain::{Email, ParseError, Role, Timestamp, Token, TokenHash, UserId, password};
use crate::mail::compose::notices;
use crate::store::audit::{self, Actor, Entry};
use crate::store::users::{self, User};
use crate::store::{Store, StoreError, rate};

/// The audit entry for `action` on account `id`.
fn on_account<'a>(action: &'a str, id: UserId, detail: &'a str) -> Entry<'a> {
    Entry { action, subject_kind: "user", subject_id: Some(id.uuid()), detail, row_count: None }
}

/// Longest wait put on an attempt at an account under attack.
const MAX_SLOWDOWN_SECS: i64 = 10;

/// The key under which failed logins on the account typed as `typed` are
/// counted: a hash, so the rate table holds no address.
fn account_key(typed: &str) -> String {
    let digest = Sha256::digest(typed.trim().to_lowercase().as_bytes());
    format!("login-account:{}", URL_SAFE_NO_PAD.encode(&digest[..16]))
}

/// Checks `password` against `stored` off the async runtime, at most
/// `security.concurrent_password_checks` at once; a check that cannot start
/// within a second is [`ForumError::Busy`], so a flood of logins cannot fill
/// the memory with Argon2 blocks.
async fn check_password(forum: &Forum, password: String, stored: Option<String>) -> Result<bool> {
    let permit = tokio::time::timeout(std::time::Duration::from_secs(1), forum.password_checks.clone().acquire_owned())
        .await
        .map_err(|_| {
            tracing::warn!("password checks busy; a login was turned away");
            ForumError::Busy
        })?
        .map_err(|e| ForumError::Internal(e.into()))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        password::verify(&password, stored.as_deref())
    })
    .await
    .map_err(|e| ForumError::Internal(e.into()))
}

/// Hashes a new password off the async runtime; `Ok(Err(..))` says why the
/// password is refused (too short, say).
///
/// # Errors
/// The hashing task failed.
pub async fn hash_password(typed: String) -> Result<std::result::Result<String, ParseError>> {
    tokio::task::spawn_blocking(move || password::hash(&typed)).await.map_err(|e| ForumError::Internal(e.into()))
}

/// Signs in the account typed as `typed_email` from `client` (an IP address)
/// and returns it with a fresh session token.
///
/// Each attempt is counted before the password is checked: per account typed
/// from this client, and per client. A client beyond either limit is refused
/// as [`Refusal::Throttled`], the same for every address, while other
/// clients still sign in, so a stranger cannot lock an organiser out.
/// Failures are also counted per account over all clients; beyond the
/// per-account limit every attempt on that account waits longer (a second
/// per failure, at most ten) and the owner gets one mail per window.
///
/// # Errors
/// [`Refusal::Throttled`], [`Refusal::WrongPassword`] (also for an unknown
/// account, after the same work), [`ForumError::Busy`].
pub async fn sign_in(
    forum: &Forum,
    limits: &Security,
    typed_email: &str,
    typed_password: String,
    client: &str,
) -> Result<(User, Token)> {
    let email = Email::parse(typed_email).ok();
    let masked = email.as_ref().map_or_else(|| "invalid".to_owned(), Email::masked);
    let since = Timestamp::now() - SignedDuration::from_mins(i64::try_from(limits.login_window_minutes).unwrap_or(15));
    let account = account_key(typed_email);
    let pair_key = format!("{account}:{client}");

    // Refused attempts cost nothing and tell nothing: the same answer whether
    // or not the account exists.
    let (within, _) = rate::take(&forum.store, &pair_key, since, limits.login_attempts_per_account).await?;
    let client_budget = if within {
        let (within, taken) =
            rate::take(&forum.store, &format!("login-ip:{client}"), since, limits.login_attempts_per_ip).await?;
        within.then_some(taken)
    } else {
        None
    };
    let Some(budget) = client_budget else {
        let entry = Entry {
            action: "login.throttled",
            subject_kind: "user",
            subject_id: None,
            detail: &masked,
            row_count: None,
        };
        audit::record_read(&forum.store, &Actor::System("login"), &entry).await?;
        tracing::warn!(account = masked, "login throttled");
        return Err(Refusal::Throttled.into());
    };

    let failures = {
        let mut tx = forum.store.begin().await?;
        let n = rate::count(&mut tx, &account, since).await?;
        tx.commit().await?;
        n
    };
    let over = failures - i64::from(limits.login_attempts_per_account);
    if over >= 0 {
        let wait = u64::try_from((over + 1).min(MAX_SLOWDOWN_SECS)).unwrap_or(1);
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    }

    let found = match &email {
        Some(e) => forum.store.user_for_login(e).await?,
        None => None,
    };
    // Unknown accounts cost the same time as wrong passwords.
    let ok = check_password(forum, typed_password, found.as_ref().map(|(_, h)| h.clone())).await?;
    let Some((user, _)) = found.as_ref().filter(|_| ok) else {
        let mut tx = forum.store.begin().await?;
        let failed = rate::add_and_count(&mut tx, &account, since).await?;
        let known = found.as_ref().map(|(u, _)| u.id.uuid());
        let entry =
            Entry { action: "login.failed", subject_kind: "user", subject_id: known, detail: &masked, row_count: None };
        audit::record(&mut tx, &Actor::System("login"), &entry).await?;
        // The owner hears of it once per window: when the failures reach the limit.
        let warn_owner = failed == i64::from(limits.login_attempts_per_account);
        let mut queued = 0;
        if let (true, Some((user, _))) = (warn_owner, &found) {
            notices::failed_logins(&mut tx, &forum.mail, &user.email, failed, limits.login_window_minutes).await?;
            queued = 1;
        }
        tx.commit().await?;
        forum.wake_if(queued);
        tracing::warn!(account = masked, "failed login");
        return Err(Refusal::WrongPassword.into());
    };
    // The right password: this client's attempts on the account and this
    // attempt against the client's budget are handed back.
    let mut tx = forum.store.begin().await?;
    rate::forget(&mut tx, &pair_key).await?;
    rate::refund(&mut tx, &budget).await?;
    tx.commit().await?;
    // A fresh session id at every login.
    let session = Token::generate();
    forum.store.create_session(user.id, &session.hash()).await?;
    audit::record_read(&forum.store, &Actor::of(user), &on_account("login", user.id, "")).await?;
    tracing::info!(user = %user.id, role = %user.role, "organiser signed in");
    Ok((user.clone(), session))
}

/// What is wrong with a password change, by its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChange {
    /// The current password was wrong.
    WrongCurrent,
    /// The new password is refused, with the reason.
    Refused(ParseError),
    /// The repetition differs.
    Mismatch,
}

/// Changes `user`'s password from `current` to `new` (typed twice) and ends
/// their other sessions, keeping `session`. Returns the problems by field,
/// or the number of sessions ended.
///
/// # Errors
/// [`ForumError::Busy`] when no password check could start.
pub async fn change_password(
    forum: &Forum,
    user: &User,
    session: &TokenHash,
    current: String,
    new: String,
    repeat: &str,
) -> Result<std::result::Result<u64, Vec<PasswordChange>>> {
    let stored = forum.store.password_hash(user.id).await?;
    let current_ok = check_password(forum, current, stored).await?;
    let same = new == repeat;
    let hashed = hash_password(new).await?;
    let mut problems = Vec::new();
    if !current_ok {
        problems.push(PasswordChange::WrongCurrent);
    }
    match &hashed {
        Err(e) => problems.push(PasswordChange::Refused(*e)),
        Ok(_) if !same => problems.push(PasswordChange::Mismatch),
        Ok(_) => {}
    }
    let (Ok(hash), true) = (hashed, problems.is_empty()) else {
        return Ok(Err(problems));
    };
    let mut tx = forum.store.begin().await?;
    let ended = users::change_password(&mut tx, user.id, &hash, session).await?;
    let entry = Entry {
        action: "user.password_change",
        subject_kind: "user",
        subject_id: Some(user.id.uuid()),
        detail: "",
        row_count: i64::try_from(ended).ok(),
    };
    audit::record(&mut tx, &Actor::of(user), &entry).await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, sessions_ended = ended, "password changed");
    Ok(Ok(ended))
}

/// Adds an account.
///
/// # Errors
/// [`Refusal::AddressKnown`] when an account has the address.
pub async fn add(store: &Store, who: &Actor, email: &Email, name: &str, role: Role, hash: &str) -> Result<UserId> {
    let mut tx = store.begin().await?;
    let id = match users::insert_user(&mut tx, email, name, role, hash).await {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => return Err(Refusal::AddressKnown.into()),
        Err(e) => return Err(e.into()),
    };
    let entry = on_account("user.create", id, role.as_str());
    audit::record(&mut tx, who, &entry).await?;
    tx.commit().await?;
    tracing::info!(user = %id, role = %role, "account added");
    Ok(id)
}

/// Sets up an account from the command line: adds it, or gives an existing
/// one `role` and the password behind `hash`.
///
/// # Errors
/// The database failed.
pub async fn set_up(store: &Store, email: &Email, role: Role, hash: &str) -> Result<UserId> {
    let mut tx = store.begin().await?;
    let id = users::upsert_user(&mut tx, email, role, hash).await?;
    let entry = on_account("user.set_up", id, role.as_str());
    audit::record(&mut tx, &Actor::System("cli"), &entry).await?;
    tx.commit().await?;
    Ok(id)
}

/// Gives account `id` the role `role`.
///
/// # Errors
/// The database failed.
pub async fn set_role(store: &Store, who: &Actor, id: UserId, role: Role) -> Result<()> {
    let mut tx = store.begin().await?;
    users::set_role(&mut tx, id, role).await?;
    let entry = on_account("user.role", id, role.as_str());
    audit::record(&mut tx, who, &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Disables account `id` (which ends its sessions and stops its tokens) or
/// enables it again.
///
/// # Errors
/// The database failed.
pub async fn set_disabled(store: &Store, who: &Actor, id: UserId, disabled: bool) -> Result<()> {
    let mut tx = store.begin().await?;
    users::set_disabled(&mut tx, id, disabled).await?;
    let action = if disabled { "user.disable" } else { "user.enable" };
    let entry = on_account(action, id, "");
    audit::record(&mut tx, who, &entry).await?;
    tx.commit().await?;
    tracing::info!(user = %id, disabled, "account state changed");
    Ok(())
}

/// Creates an API token named `name` for account `owner`, valid for
/// `days` days or without end, and returns it: it is shown once and stored
/// only as a hash.
///
/// # Errors
/// The database failed.
pub async fn create_token(store: &Store, who: &Actor, owner: UserId, name: &str, days: Option<u16>) -> Result<Token> {
    let token = Token::generate();
    let expires = days.map(|d| Timestamp::now() + SignedDuration::from_hours(24 * i64::from(d)));
    let mut tx = store.begin().await?;
    let id = users::create_api_token(&mut tx, owner, name, &token.hash(), expires).await?;
    let entry = Entry {
        action: "token.create",
        subject_kind: "api_token",
        subject_id: Some(id),
        detail: name,
        row_count: None,
    };
    audit::record(&mut tx, who, &entry).await?;
    tx.commit().await?;
    tracing::info!(token = %id, owner = %owner, "API token created");
    Ok(token)
}

/// Revokes API token `id`.
///
/// # Errors
/// The database failed.
pub async fn revoke_token(store: &Store, who: &Actor, id: uuid::Uuid) -> Result<()> {
    let mut tx = store.begin().await?;
    users::revoke_api_token(&mut tx, id).await?;
    let entry =
        Entry { action: "token.revoke", subject_kind: "api_token", subject_id: Some(id), detail: "", row_count: None };
    audit::record(&mut tx, who, &entry).await?;
    tx.commit().await?;
    tracing::info!(token = %id, "API token revoked");
    Ok(())
}
