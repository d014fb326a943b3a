//! The organisers' accounts: signing in (with its throttles), changing one's
//! password, resetting a forgotten one by mail, inviting an organiser by
//! mail, setting one up from the command line, changing its role, disabling
//! it, and the API tokens. Each change is audited in the transaction that makes it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::SignedDuration;
use sha2::{Digest, Sha256};

use super::{Forum, ForumError, Refusal, Result};
use crate::config::Security;
use crate::domain::{Email, ParseError, Role, Timestamp, Token, TokenHash, UserId, password};
use crate::mail::compose::notices;
use crate::store::audit::{self, Actor, Entry};
use crate::store::users::{self, AccountLinkPurpose, User};
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

/// Sets up an account from the command line: adds it, or gives an existing
/// one `role` and the password behind `hash`.
pub async fn set_up(store: &Store, email: &Email, role: Role, hash: &str) -> Result<UserId> {
    let mut tx = store.begin().await?;
    let id = users::upsert_user(&mut tx, email, role, hash).await?;
    let entry = on_account("user.set_up", id, role.as_str());
    audit::record(&mut tx, &Actor::System("cli"), &entry).await?;
    tx.commit().await?;
    Ok(id)
}

/// Gives account `id` the role `role`.
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

/// How long a link to reset a forgotten password works.
pub const RESET_LINK_MINUTES: i64 = 60;

/// The least time a reset request takes to answer, whether or not the
/// address has an account, so that the answer's timing tells nothing.
const RESET_ANSWER_MILLIS: u64 = 400;

/// Asks for a link to reset the password of the account at `email`, from
/// `client` (an IP address), with the mail in `lang`.
///
/// Requests are counted per client against
/// `security.signups_per_ip_per_hour`, before anything is looked up. Only an
/// enabled account gets a link, and at most
/// `security.confirmations_per_address_per_day` of them a day. The caller
/// answers the same whatever happened, and every answer takes at least the
/// same time, so nobody learns which addresses have accounts.
///
/// # Errors
/// [`Refusal::Throttled`] when `client` reached the hourly limit (for any
/// address alike).
pub async fn request_reset(
    forum: &Forum,
    limits: &Security,
    email: &Email,
    lang: crate::i18n::Lang,
    client: &str,
) -> Result<()> {
    let started = tokio::time::Instant::now();
    let outcome = reset_link(forum, limits, email, lang, client).await;
    tokio::time::sleep_until(started + std::time::Duration::from_millis(RESET_ANSWER_MILLIS)).await;
    outcome
}

async fn reset_link(
    forum: &Forum,
    limits: &Security,
    email: &Email,
    lang: crate::i18n::Lang,
    client: &str,
) -> Result<()> {
    let hour_ago = Timestamp::now() - SignedDuration::from_hours(1);
    let (within, _) =
        rate::take(&forum.store, &format!("reset-ip:{client}"), hour_ago, limits.signups_per_ip_per_hour).await?;
    if !within {
        tracing::warn!(account = email.masked(), "password reset requests throttled");
        return Err(Refusal::Throttled.into());
    }
    let mut tx = forum.store.begin().await?;
    let Some(user) = users::enabled_user(&mut tx, email).await? else {
        tx.commit().await?;
        tracing::info!(account = email.masked(), "password reset asked for an address without an account");
        return Ok(());
    };
    let day_ago = Timestamp::now() - SignedDuration::from_hours(24);
    let sent = users::account_links_since(&mut tx, user.id, AccountLinkPurpose::Reset, day_ago).await?;
    if sent >= i64::from(limits.confirmations_per_address_per_day) {
        tx.commit().await?;
        tracing::info!(account = email.masked(), "no more reset links to this account today");
        return Ok(());
    }
    let token = Token::generate();
    let expires = Timestamp::now() + SignedDuration::from_mins(RESET_LINK_MINUTES);
    users::insert_account_link(&mut tx, user.id, &token.hash(), AccountLinkPurpose::Reset, expires).await?;
    notices::password_reset(&mut tx, &forum.mail, &user.email, lang, &token, RESET_LINK_MINUTES).await?;
    audit::record(&mut tx, &Actor::System("reset"), &on_account("user.reset_request", user.id, "")).await?;
    tx.commit().await?;
    forum.wake_if(1);
    tracing::info!(user = %user.id, "password reset link queued");
    Ok(())
}

/// Why a link mailed to an organiser does not set a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRefused {
    /// The link is unknown, used already, expired, or its account disabled.
    Unusable,
    /// The new password is refused, with the reason.
    Password(ParseError),
    /// The repetition differs.
    Mismatch,
}

/// Whether the link with `token` still works, and for whom.
pub async fn account_link(forum: &Forum, token: &Token) -> Result<Option<users::AccountLink>> {
    let found = forum.store.account_link(&token.hash()).await?;
    Ok(found.filter(|l| l.usable(Timestamp::now())))
}

/// Sets the password of the account behind the mailed link `token` to `new`
/// (typed twice as `repeat`): the link then stops working, with every other
/// open link of the account, and every session of the account ends. Audited
/// as `user.password_reset` or, for an invitation, `user.invite_accepted`.
///
/// # Errors
/// The database failed or no password check could start.
pub async fn set_password_by_link(
    forum: &Forum,
    token: &Token,
    new: String,
    repeat: &str,
) -> Result<std::result::Result<User, LinkRefused>> {
    if account_link(forum, token).await?.is_none() {
        return Ok(Err(LinkRefused::Unusable));
    }
    let same = new == repeat;
    let hash = match hash_password(new).await? {
        Err(e) => return Ok(Err(LinkRefused::Password(e))),
        Ok(_) if !same => return Ok(Err(LinkRefused::Mismatch)),
        Ok(hash) => hash,
    };
    let mut tx = forum.store.begin().await?;
    let Some((user, purpose, ended)) = users::use_account_link(&mut tx, &token.hash(), Timestamp::now(), &hash).await?
    else {
        return Ok(Err(LinkRefused::Unusable));
    };
    let action = match purpose {
        AccountLinkPurpose::Reset => "user.password_reset",
        AccountLinkPurpose::Invite => "user.invite_accepted",
    };
    let entry = Entry {
        action,
        subject_kind: "user",
        subject_id: Some(user.id.uuid()),
        detail: "",
        row_count: i64::try_from(ended).ok(),
    };
    audit::record(&mut tx, &Actor::of(&user), &entry).await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, sessions_ended = ended, "password set by a mailed link");
    Ok(Ok(user))
}

/// A new organiser an admin invites.
#[derive(Debug, Clone)]
pub struct Invitee {
    pub email: Email,
    pub name: String,
    pub role: Role,
}

/// Adds the account of `invitee` with no password and mails them a link to
/// choose one, which works once and for `security.token_ttl_hours`. The
/// invitation says who invites (`by`) and with what role, in `lang`.
///
/// # Errors
/// [`Refusal::AddressKnown`] when an account has the address.
pub async fn invite(
    forum: &Forum,
    limits: &Security,
    by: &User,
    invitee: &Invitee,
    lang: crate::i18n::Lang,
) -> Result<UserId> {
    let hours = i64::try_from(limits.token_ttl_hours).unwrap_or(168).max(1);
    let token = Token::generate();
    let mut tx = forum.store.begin().await?;
    let id =
        match users::insert_user(&mut tx, &invitee.email, &invitee.name, invitee.role, users::NO_PASSWORD_YET).await {
            Ok(id) => id,
            Err(StoreError::Conflict(_)) => return Err(Refusal::AddressKnown.into()),
            Err(e) => return Err(e.into()),
        };
    let expires = Timestamp::now() + SignedDuration::from_hours(hours);
    users::insert_account_link(&mut tx, id, &token.hash(), AccountLinkPurpose::Invite, expires).await?;
    let inviter_name = if by.name.trim().is_empty() { by.email.to_string() } else { by.name.clone() };
    let role = lang.role(invitee.role).to_lowercase();
    let invitation = notices::Invitation {
        email: &invitee.email,
        name: &invitee.name,
        inviter: &inviter_name,
        role: &role,
        lang,
        days: (hours / 24).max(1),
    };
    notices::organiser_invite(&mut tx, &forum.mail, invitation, &token).await?;
    audit::record(&mut tx, &Actor::of(by), &on_account("user.invite", id, invitee.role.as_str())).await?;
    tx.commit().await?;
    forum.wake_if(1);
    tracing::info!(user = %id, role = %invitee.role, "organiser invited");
    Ok(id)
}
