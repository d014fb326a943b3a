//! Typed settings from `config/default.toml`, an optional file and `DIALOGFORUM_*` variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

/// The defaults, compiled in so the binary runs without the `config/` folder.
const DEFAULTS: &str = include_str!("../config/default.toml");

/// Every setting of the service. See `config/default.toml` for meaning and defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: Server,
    pub database: Database,
    pub mail: Mail,
    pub inbound: Inbound,
    pub security: Security,
    pub log: Log,
    pub evaluation: Evaluation,
    pub reminders: Reminders,
    pub materials: Materials,
    pub contact: Contact,
    pub privacy: Privacy,
    pub accessibility: Accessibility,
}

/// The secretariat that runs the forum: the public body people contact, and
/// the data controller named in the privacy notice.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The body's name, the same in both languages.
    pub organisation: String,
    /// Its postal address, the same in both languages.
    pub address: String,
    pub email: String,
    pub phone: String,
}

impl Contact {
    /// The phone number as a `tel:` URI's digits (RFC 3966): `+4533123456`.
    #[must_use]
    pub fn phone_uri(&self) -> String {
        self.phone.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect()
    }
}

/// What the privacy notice names besides the controller.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Privacy {
    /// The data protection officer's mail address; empty = not shown.
    pub dpo_email: String,
    /// The data protection officer's phone number; empty = not shown.
    pub dpo_phone: String,
    /// The company that sends the mail as a processor; empty = "our mail provider".
    pub mail_processor: String,
    /// The company that hosts the service as a processor; empty = not named.
    pub hosting_processor: String,
}

/// How far the site complies with WCAG 2.1 AA (EN 301 549), in the words of
/// the WAS-Tool's statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compliance {
    Full,
    Partial,
    None,
}

/// A known deviation from the accessibility requirements, in both languages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    pub da: String,
    pub en: String,
}

/// The accessibility statement's configurable parts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accessibility {
    pub status: Compliance,
    /// The day the statement was prepared or last reviewed.
    pub prepared: jiff::civil::Date,
    pub deviations: Vec<Deviation>,
}

/// Files organisers upload to a meeting.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Materials {
    /// The largest file accepted, in bytes.
    pub max_bytes: usize,
}

/// Reminders before a meeting, sent by the campaign runner.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reminders {
    /// Days before the registration deadline at which invitees who have not answered are reminded; 0 = none.
    pub deadline_days: u32,
    /// Hours before the start at which attendees get the practical information; 0 = none.
    pub start_hours: u32,
}

/// Evaluations after a meeting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    /// Days after sending at which those who have not answered get a reminder; 0 = none.
    pub reminder_after_days: u32,
    /// Days after sending at which answers are no longer taken, unless the organiser gives a date.
    pub close_after_days: u32,
    /// The fewest answers a group of a breakdown (a track) needs to be shown; smaller groups are hidden.
    #[serde(default = "default_breakdown_minimum")]
    pub breakdown_minimum: u32,
}

const fn default_breakdown_minimum() -> u32 {
    crate::domain::evaluation::BreakdownMinimum::DEFAULT.get()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub bind: SocketAddr,
    pub base_url: String,
    pub request_timeout_secs: u64,
    pub body_limit_bytes: usize,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A Bearer token that `/metrics` asks for; empty = open.
    pub metrics_token: Secret,
    /// Seconds a rendered public page is kept at most; 0 = none is kept.
    pub page_cache_secs: u64,
    /// Milliseconds between looks at the public pages' version.
    pub page_version_poll_ms: u64,
}

/// A setting that must not reach the log: `Debug` shows only whether it is set.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The value itself, for comparing; never log it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the setting is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub url: String,
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
}

/// How mail leaves the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Smtp,
    File,
    Log,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mail {
    pub transport: Transport,
    pub smtp_url: String,
    /// Lets a user name and password in `smtp_url` travel without TLS (a relay on this host only).
    pub allow_plaintext_auth: bool,
    /// A file holding a current OAuth 2.0 access token: sign in with XOAUTH2 as the user of `smtp_url`.
    pub oauth2_token_file: PathBuf,
    /// A command printing a current OAuth 2.0 access token, when there is no token file.
    pub oauth2_token_command: String,
    pub from: String,
    pub from_name: String,
    pub reply_to: String,
    /// The ORGANIZER of calendar entries, where calendar replies arrive; empty = `from`.
    pub organizer: String,
    pub bounce_address: String,
    pub dkim_key_file: PathBuf,
    pub dkim_algorithm: DkimAlgorithm,
    pub dkim_selector: String,
    pub dkim_domain: String,
    pub file_dir: PathBuf,
    pub list_id: String,
    pub max_connections: u32,
    /// Messages per minute; 0 = use `rate_per_second`.
    pub rate_per_minute: f64,
    pub rate_per_second: u32,
    /// Messages per rolling 24 hours, all instances together; 0 = no cap.
    pub daily_cap: u32,
    /// Seconds of the first pause after a throttling answer.
    pub throttle_pause_secs: u64,
    /// A provider whose limits the other settings cannot exceed.
    pub profile: MailProfile,
    pub batch_size: u32,
    pub lease_secs: u64,
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    pub max_attempts: u32,
    pub poll_interval_ms: u64,
    /// Seconds between attempts to expand a campaign that failed to expand.
    pub campaign_retry_secs: u64,
}

/// A mail provider with known sending limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MailProfile {
    /// No provider limits beyond the settings.
    #[serde(rename = "")]
    None,
    /// Microsoft 365 authenticated SMTP submission: 30 messages a minute, 3
    /// connections, 10,000 recipients a day ("Exchange Online limits",
    /// Microsoft Learn, sending limits across Office 365 options).
    ExchangeOnline,
}

impl Mail {
    /// Messages per minute after the profile's cap; 0 = no limit.
    #[must_use]
    pub fn effective_rate_per_minute(&self) -> f64 {
        let own =
            if self.rate_per_minute > 0.0 { self.rate_per_minute } else { f64::from(self.rate_per_second) * 60.0 };
        match self.profile {
            MailProfile::None => own,
            MailProfile::ExchangeOnline if own > 0.0 => own.min(30.0),
            MailProfile::ExchangeOnline => 30.0,
        }
    }

    /// Simultaneous SMTP connections after the profile's cap.
    #[must_use]
    pub fn effective_max_connections(&self) -> u32 {
        match self.profile {
            MailProfile::None => self.max_connections,
            MailProfile::ExchangeOnline => self.max_connections.clamp(1, 3),
        }
    }

    /// Messages per rolling 24 hours after the profile's cap; 0 = no cap.
    #[must_use]
    pub fn effective_daily_cap(&self) -> u32 {
        match self.profile {
            MailProfile::None => self.daily_cap,
            MailProfile::ExchangeOnline if self.daily_cap > 0 => self.daily_cap.min(10_000),
            MailProfile::ExchangeOnline => 10_000,
        }
    }
}

/// The DKIM key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DkimAlgorithm {
    Rsa,
    Ed25519,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inbound {
    pub bind: String,
    pub join_address: String,
    pub max_message_bytes: usize,
    pub soft_bounce_limit: u32,
    /// Connections served at once, from everyone together.
    pub max_connections: usize,
    /// Connections served at once from one peer (an IPv4 address, an IPv6 /64).
    pub max_connections_per_peer: usize,
    /// Messages (MAIL commands) one peer may start per hour.
    pub messages_per_peer_per_hour: u32,
    /// Command lines one connection may send before it is closed.
    pub max_commands_per_session: u32,
    /// Seconds a connection may last in all.
    pub max_session_secs: u64,
    /// Seconds a connection may take to send a line before it is closed.
    pub idle_timeout_secs: u64,
    /// Mailboxes read by IMAP (`[[inbound.imap]]`), handled like mail to the listener.
    #[serde(default)]
    pub imap: Vec<ImapMailbox>,
}

/// How an IMAP connection is secured; there is no plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImapTls {
    /// TLS from the first byte (port 993).
    #[default]
    Imaps,
    /// A plain connection upgraded with STARTTLS before anything else (port 143).
    Starttls,
}

/// One mailbox the service reads by IMAP: the forum's mailbox where it lives
/// (Microsoft 365, say), holding join, leave and bounce mail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapMailbox {
    pub host: String,
    /// 0 = 993 for `imaps`, 143 for `starttls`.
    #[serde(default)]
    pub port: u16,
    #[serde(default)]
    pub tls: ImapTls,
    /// A PEM file of certificates trusted besides the public roots (a private CA); empty = none.
    #[serde(default)]
    pub ca_file: PathBuf,
    pub user: String,
    /// The password; empty = sign in with XOAUTH2.
    #[serde(default)]
    pub password: Secret,
    /// A file holding a current OAuth 2.0 access token; empty = `mail.oauth2_token_file`.
    #[serde(default)]
    pub oauth2_token_file: PathBuf,
    /// A command printing one; empty = `mail.oauth2_token_command`.
    #[serde(default)]
    pub oauth2_token_command: String,
    /// The folder read.
    #[serde(default = "default_imap_folder")]
    pub folder: String,
    /// Where a handled message is moved; empty = it stays and is marked read (`\Seen`).
    #[serde(default)]
    pub move_to: String,
    /// Seconds between looks at the folder.
    #[serde(default = "default_imap_poll_secs")]
    pub poll_secs: u64,
    /// Milliseconds a handled message waits before it is marked or moved; 0
    /// in production. Lets a test stop the process in between, deterministically.
    #[serde(default)]
    pub mark_delay_ms: u64,
}

fn default_imap_folder() -> String {
    "INBOX".to_owned()
}

const fn default_imap_poll_secs() -> u64 {
    60
}

impl ImapMailbox {
    /// The port: the one set, or the usual one for the TLS mode.
    #[must_use]
    pub fn effective_port(&self) -> u16 {
        match (self.port, self.tls) {
            (0, ImapTls::Imaps) => 993,
            (0, ImapTls::Starttls) => 143,
            (p, _) => p,
        }
    }

    /// The name the mailbox goes by in logs, `doctor` and the record of what
    /// was read: `user@host/folder`.
    #[must_use]
    pub fn label(&self) -> String {
        format!("{}@{}/{}", self.user, self.host, self.folder)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    pub session_idle_minutes: u64,
    pub session_absolute_hours: u64,
    pub token_ttl_hours: u64,
    pub signups_per_ip_per_hour: u32,
    /// Requests to join or leave by mail per envelope-sender domain per hour.
    pub signups_per_domain_per_hour: u32,
    pub confirmations_per_address_per_day: u32,
    /// Days after which a sign-up that was never confirmed is deleted, with
    /// its tokens and mail.
    pub pending_retention_days: u64,
    /// Login attempts per account (the address typed) within `login_window_minutes`.
    pub login_attempts_per_account: u32,
    /// Login attempts per client IP address within `login_window_minutes`.
    pub login_attempts_per_ip: u32,
    pub login_window_minutes: u64,
    /// Password checks (Argon2, ~19 MiB each) run at once; a login that
    /// cannot start one within a second is answered 503.
    pub concurrent_password_checks: u32,
    /// Months the audit log is kept before the retention job deletes entries; at least 6.
    pub audit_retention_months: u32,
    /// Days after a meeting ends at which diet, access needs and comments on
    /// its registrations are deleted, their counts kept; 1-3650.
    pub sensitive_retention_days: u32,
    /// Days after a meeting ends at which its registrations are reduced to
    /// totals; 0 keeps them until the person is erased. At least
    /// `sensitive_retention_days` otherwise.
    pub registration_retention_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A setting that is present but unusable; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl Settings {
    /// Loads the defaults, then `file` (if any), then the environment.
    ///
    /// # Errors
    /// A file that cannot be read, a value of the wrong type, an unknown key or
    /// a value that fails validation; the message names the key.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(file))
    }

    /// The layered sources, for callers that add their own overrides (tests).
    #[must_use]
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        // Only DIALOGFORUM_<SECTION>__<KEY> names are settings; others with the
        // prefix (DIALOGFORUM_CONFIG, test variables) are not.
        figment.merge(Env::prefixed("DIALOGFORUM_").filter(|k| k.as_str().contains("__")).split("__"))
    }

    /// Extracts and validates settings from `figment`.
    ///
    /// # Errors
    /// As [`Settings::load`].
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Self = figment.extract().map_err(|e| {
            ConfigError(
                e.into_iter()
                    .map(|e| {
                        let key = e.path.join(".").to_lowercase();
                        let source = e.metadata.as_ref().map(|m| format!(" (from {})", m.name)).unwrap_or_default();
                        if key.is_empty() {
                            format!("{}{source}", e.kind)
                        } else {
                            format!("{key}: {}{source}", e.kind)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        match url::Url::parse(&self.server.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => return bad("server.base_url", "must be an absolute http:// or https:// URL"),
        }
        if !self.server.metrics_token.is_empty() && self.server.metrics_token.expose().chars().count() < 16 {
            return bad("server.metrics_token", "must be empty (metrics open) or at least 16 characters");
        }
        let db = &self.database.url;
        if !(db.starts_with("sqlite:") || db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            return bad("database.url", "must start with sqlite:// or postgres://");
        }
        if self.database.max_connections == 0 {
            return bad("database.max_connections", "must be at least 1");
        }
        self.validate_mail()?;
        if !self.inbound.bind.is_empty() && self.inbound.bind.parse::<SocketAddr>().is_err() {
            return bad("inbound.bind", "must be empty or an address such as 0.0.0.0:2525");
        }
        if !self.inbound.join_address.is_empty() && crate::domain::Email::parse(&self.inbound.join_address).is_err() {
            return bad("inbound.join_address", "must be empty or a mail address");
        }
        self.validate_imap()?;
        let inbound = &self.inbound;
        for (key, value) in [
            ("inbound.max_message_bytes", inbound.max_message_bytes),
            ("inbound.max_connections", inbound.max_connections),
            ("inbound.max_connections_per_peer", inbound.max_connections_per_peer),
        ] {
            if value == 0 {
                return bad(key, "must be at least 1");
            }
        }
        for (key, value) in [
            ("inbound.messages_per_peer_per_hour", u64::from(inbound.messages_per_peer_per_hour)),
            ("inbound.max_commands_per_session", u64::from(inbound.max_commands_per_session)),
            ("inbound.max_session_secs", inbound.max_session_secs),
            ("inbound.idle_timeout_secs", inbound.idle_timeout_secs),
        ] {
            if value == 0 {
                return bad(key, "must be at least 1");
            }
        }
        if self.security.audit_retention_months < 6 {
            return bad("security.audit_retention_months", "must be at least 6");
        }
        self.validate_public_duties()?;
        if self.security.concurrent_password_checks == 0 {
            return bad("security.concurrent_password_checks", "must be at least 1");
        }
        if !(1..=1440).contains(&self.security.login_window_minutes) {
            return bad("security.login_window_minutes", "must be between 1 and 1440");
        }
        if self.security.session_idle_minutes == 0 || self.security.session_absolute_hours == 0 {
            return bad("security.session_idle_minutes", "session lifetimes must be positive");
        }
        Ok(())
    }

    /// The `[mail]` settings: addresses, the SMTP URL and the sending limits.
    fn validate_mail(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        if crate::domain::Email::parse(&self.mail.from).is_err() {
            return bad("mail.from", "must be a mail address such as dialogforum@example.dk");
        }
        if !self.mail.reply_to.is_empty() && crate::domain::Email::parse(&self.mail.reply_to).is_err() {
            return bad("mail.reply_to", "must be empty or a mail address");
        }
        if !self.mail.organizer.is_empty() && crate::domain::Email::parse(&self.mail.organizer).is_err() {
            return bad("mail.organizer", "must be empty or a mail address");
        }
        if !self.mail.bounce_address.is_empty() && crate::domain::Email::parse(&self.mail.bounce_address).is_err() {
            return bad("mail.bounce_address", "must be empty or a mail address");
        }
        if self.mail.transport == Transport::Smtp {
            match url::Url::parse(&self.mail.smtp_url) {
                // Opportunistic STARTTLS can be stripped by anyone on the path, so
                // credentials need TLS from the first byte or STARTTLS insisted on.
                Ok(u)
                    if u.scheme() == "smtp"
                        && !u.username().is_empty()
                        && !u.query_pairs().any(|(k, v)| k == "tls" && v == "required")
                        && !self.mail.allow_plaintext_auth =>
                {
                    return bad(
                        "mail.smtp_url",
                        "has a user name and password but no TLS: use smtps://, add ?tls=required, \
                         or set mail.allow_plaintext_auth = true for a relay on this host",
                    );
                }
                Ok(u) if matches!(u.scheme(), "smtp" | "smtps") && u.host().is_some() => {}
                _ => {
                    return bad(
                        "mail.smtp_url",
                        "must be smtp://host:port or smtps://user:pass@host:port when mail.transport = \"smtp\"",
                    );
                }
            }
        }
        let oauth2 = !self.mail.oauth2_token_file.as_os_str().is_empty() || !self.mail.oauth2_token_command.is_empty();
        if oauth2
            && self.mail.transport == Transport::Smtp
            && url::Url::parse(&self.mail.smtp_url).is_ok_and(|u| u.username().is_empty() || u.password().is_some())
        {
            return bad(
                "mail.smtp_url",
                "with an OAuth2 token source, name the mailbox as the user and give no password, \
                 such as smtp://dialogforum%40kommune.dk@smtp.office365.com:587?tls=required",
            );
        }
        if self.mail.max_connections == 0 {
            return bad("mail.max_connections", "must be at least 1");
        }
        if !self.mail.rate_per_minute.is_finite() || self.mail.rate_per_minute < 0.0 {
            return bad(
                "mail.rate_per_minute",
                "must be 0 (no limit) or a positive number of messages a minute, such as 30 or 0.5",
            );
        }
        if self.mail.rate_per_minute > 0.0 && self.mail.rate_per_minute < 0.1 {
            return bad(
                "mail.rate_per_minute",
                "must be at least 0.1 (one message every ten minutes) or 0 for no limit",
            );
        }
        if self.mail.batch_size == 0 {
            return bad("mail.batch_size", "must be at least 1");
        }
        if self.mail.lease_secs == 0 {
            return bad("mail.lease_secs", "must be at least 1");
        }
        if self.mail.backoff_base_secs > self.mail.backoff_max_secs {
            return bad("mail.backoff_base_secs", "must not exceed mail.backoff_max_secs");
        }
        Ok(())
    }

    /// Each `[[inbound.imap]]` mailbox: where it is, and one way to sign in.
    fn validate_imap(&self) -> Result<(), ConfigError> {
        for (i, m) in self.inbound.imap.iter().enumerate() {
            let bad = |why: &str| Err(ConfigError(format!("inbound.imap[{i}]: {why}")));
            if m.host.trim().is_empty() || m.host.contains(['/', ' ']) {
                return bad("host must be a host name such as outlook.office365.com");
            }
            if m.user.trim().is_empty() {
                return bad("user must name the mailbox's user, such as dialogforum@kommune.dk");
            }
            if m.folder.trim().is_empty() {
                return bad("folder must name the folder to read, such as INBOX");
            }
            if m.poll_secs == 0 {
                return bad("poll_secs must be at least 1");
            }
            if m.move_to == m.folder {
                return bad("move_to must be another folder than the one read");
            }
            let own_token = !m.oauth2_token_file.as_os_str().is_empty() || !m.oauth2_token_command.trim().is_empty();
            let shared_token = !self.mail.oauth2_token_file.as_os_str().is_empty()
                || !self.mail.oauth2_token_command.trim().is_empty();
            if !m.password.is_empty() && own_token {
                return bad("give a password or an OAuth2 token source, not both");
            }
            if m.password.is_empty() && !own_token && !shared_token {
                return bad(
                    "give a password, or an OAuth2 token source (oauth2_token_file or oauth2_token_command here \
                     or in [mail]) to sign in with XOAUTH2",
                );
            }
        }
        Ok(())
    }

    /// The contact, the privacy notice's and the accessibility statement's settings.
    fn validate_public_duties(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        if !(1..=3650).contains(&self.security.sensitive_retention_days) {
            return bad("security.sensitive_retention_days", "must be between 1 and 3650");
        }
        let registrations = self.security.registration_retention_days;
        if registrations != 0 && !(self.security.sensitive_retention_days..=36_500).contains(&registrations) {
            return bad(
                "security.registration_retention_days",
                "must be 0 (kept until erased) or between sensitive_retention_days and 36500",
            );
        }
        let c = &self.contact;
        for (key, value) in [("contact.organisation", &c.organisation), ("contact.address", &c.address)] {
            if crate::domain::Name::parse(value).is_err() {
                return bad(key, "must be one line of text, not empty");
            }
        }
        if crate::domain::Email::parse(&c.email).is_err() {
            return bad("contact.email", "must be a mail address such as sekretariat@example.dk");
        }
        let phone = |p: &str| {
            p.chars().filter(char::is_ascii_digit).count() >= 8
                && p.chars().all(|ch| ch.is_ascii_digit() || matches!(ch, '+' | ' ' | '-'))
        };
        if !phone(&c.phone) {
            return bad("contact.phone", "must be a phone number such as +45 33 12 34 56");
        }
        let p = &self.privacy;
        if !p.dpo_email.is_empty() && crate::domain::Email::parse(&p.dpo_email).is_err() {
            return bad("privacy.dpo_email", "must be empty or a mail address");
        }
        if !p.dpo_phone.is_empty() && !phone(&p.dpo_phone) {
            return bad("privacy.dpo_phone", "must be empty or a phone number such as +45 33 12 34 56");
        }
        for (key, value) in
            [("privacy.mail_processor", &p.mail_processor), ("privacy.hosting_processor", &p.hosting_processor)]
        {
            if crate::domain::SingleLine::parse(value).is_err() {
                return bad(key, "must be one line of text");
            }
        }
        if self.accessibility.deviations.iter().any(|d| d.da.trim().is_empty() || d.en.trim().is_empty()) {
            return bad("accessibility.deviations", "each deviation needs a Danish (da) and an English (en) text");
        }
        Ok(())
    }

    /// The base of per-message bounce addresses: `mail.bounce_address`, or the sender.
    ///
    /// # Errors
    /// Not a mail address (validation has already refused that).
    pub fn bounce_base(&self) -> Result<crate::domain::Email, crate::domain::ParseError> {
        let base = if self.mail.bounce_address.is_empty() { &self.mail.from } else { &self.mail.bounce_address };
        crate::domain::Email::parse(base)
    }

    /// The ORGANIZER of calendar entries: `mail.organizer`, or `mail.from` when it is empty.
    ///
    /// # Errors
    /// The address does not parse.
    pub fn organizer(&self) -> Result<crate::domain::Email, crate::domain::ParseError> {
        let address = if self.mail.organizer.is_empty() { &self.mail.from } else { &self.mail.organizer };
        crate::domain::Email::parse(address)
    }

    /// Whether links and cookies are served over https.
    #[must_use]
    pub fn is_https(&self) -> bool {
        self.server.base_url.starts_with("https://")
    }

    /// The base URL without a trailing slash.
    #[must_use]
    pub fn base_url(&self) -> &str {
        self.server.base_url.trim_end_matches('/')
    }
}
