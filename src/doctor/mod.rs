//! `dialogforum doctor`: checks the configuration, the database and its
//! migrations, the SMTP server (connect, TLS, login — nothing is sent), the
//! inbound side and the base URL (and that it answers), each with a verdict,
//! the finding in words and the fix; then prints the DNS records to publish.

pub mod dns;
mod http;

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::{Settings, Transport};
use crate::mail::deliver::smtp::{SmtpTarget, Step};
use crate::store::schema::MigrationStatus;

/// How long each network step may take.
const LIMIT: Duration = Duration::from_secs(10);

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Warning,
    Fail,
    /// The check does not apply to this configuration.
    Skipped,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Fail => "FAIL",
            Self::Skipped => "skipped",
        }
    }
}

/// One check: what was looked at, the verdict, the finding and the fix.
#[derive(Debug, Clone)]
pub struct Check {
    pub topic: &'static str,
    pub verdict: Verdict,
    pub finding: String,
    pub fix: Option<String>,
}

impl Check {
    fn ok(topic: &'static str, finding: impl Into<String>) -> Self {
        Self { topic, verdict: Verdict::Ok, finding: finding.into(), fix: None }
    }

    fn skipped(topic: &'static str, finding: impl Into<String>) -> Self {
        Self { topic, verdict: Verdict::Skipped, finding: finding.into(), fix: None }
    }

    fn warn(topic: &'static str, finding: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { topic, verdict: Verdict::Warning, finding: finding.into(), fix: Some(fix.into()) }
    }

    fn fail(topic: &'static str, finding: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { topic, verdict: Verdict::Fail, finding: finding.into(), fix: Some(fix.into()) }
    }
}

/// Everything `doctor` found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub checks: Vec<Check>,
    pub dns: Vec<dns::Record>,
}

impl Report {
    /// Whether any check failed (the command then exits non-zero).
    #[must_use]
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.verdict == Verdict::Fail)
    }

    /// The report for a configuration that cannot be read at all.
    #[must_use]
    pub fn unreadable_configuration(error: &str) -> Self {
        let fix = "correct the key named above in the configuration file (--config or DIALOGFORUM_CONFIG) \
                   or in its DIALOGFORUM_<SECTION>__<KEY> variable; config/default.toml lists every key";
        Self { checks: vec![Check::fail("configuration", error, fix)], dns: Vec::new() }
    }

    /// The report as text for a terminal or a log.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let _ = writeln!(out, "{:<8} {}: {}", c.verdict.label(), c.topic, c.finding);
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "{:<8} fix: {fix}", "");
            }
        }
        let count = |v: Verdict| self.checks.iter().filter(|c| c.verdict == v).count();
        let _ = writeln!(
            out,
            "\n{} failed, {} warning(s), {} ok, {} skipped",
            count(Verdict::Fail),
            count(Verdict::Warning),
            count(Verdict::Ok),
            count(Verdict::Skipped)
        );
        if !self.dns.is_empty() {
            let _ = writeln!(out, "\nDNS records to publish (TXT):");
            for r in &self.dns {
                let _ = writeln!(out, "\n{} IN TXT {}\n  {}", r.name, r.value, r.note);
            }
        }
        out
    }
}

/// Runs every check against `settings`.
pub async fn run(settings: &Settings) -> Report {
    let mut checks = configuration(settings);
    checks.extend(database(settings).await);
    checks.extend(smtp(settings).await);
    let (dkim_check, dkim) = dkim(settings);
    checks.push(dkim_check);
    checks.extend(inbound(settings));
    checks.extend(imap(settings).await);
    checks.push(base_url(settings));
    checks.push(health(settings).await);
    let dns = dns::records(settings, dkim.as_deref());
    Report { checks, dns }
}

/// What the settings say beyond passing validation.
fn configuration(settings: &Settings) -> Vec<Check> {
    let mut out = vec![Check::ok("configuration", "the settings are read and pass validation")];
    if settings.mail.from.ends_with("@localhost.localdomain") {
        out.push(Check::warn(
            "sender",
            "mail.from is still the default address at localhost.localdomain, which receivers refuse",
            "set mail.from (DIALOGFORUM_MAIL__FROM) to the forum's address at the body's own domain",
        ));
    }
    match settings.mail.transport {
        Transport::Smtp => {}
        Transport::File => out.push(Check::warn(
            "mail transport",
            format!(
                "mail.transport = \"file\": messages are written to {} and reach nobody",
                settings.mail.file_dir.display()
            ),
            "for real mail set mail.transport = \"smtp\" and mail.smtp_url to the body's mail relay",
        )),
        Transport::Log => out.push(Check::warn(
            "mail transport",
            "mail.transport = \"log\": messages are noted in the log and reach nobody",
            "for real mail set mail.transport = \"smtp\" and mail.smtp_url to the body's mail relay",
        )),
    }
    if settings.server.metrics_token.is_empty() {
        out.push(Check::warn(
            "metrics",
            "/metrics answers anyone who can reach the service",
            "set server.metrics_token (16 characters or more) and give it to the scraper, or block /metrics \
             at the reverse proxy",
        ));
    }
    if settings.is_https() && settings.server.bind.ip().is_loopback() && settings.server.trusted_proxies.is_empty() {
        out.push(Check::warn(
            "reverse proxy",
            "the service listens on this host only behind an https base URL, but server.trusted_proxies is \
             empty: every visitor looks like the proxy to rate limits and the audit log",
            "list the proxy's address in server.trusted_proxies, e.g. [\"127.0.0.1\", \"::1\"]",
        ));
    }
    out
}

/// The database answers, and its migrations are the binary's.
async fn database(settings: &Settings) -> Vec<Check> {
    let url = &settings.database.url;
    let shown = crate::app::redact_url(url);
    if url.starts_with("sqlite:") {
        match crate::backup::sqlite_path(url) {
            Ok(path) if !path.exists() => {
                return vec![Check::fail(
                    "database",
                    format!("there is no database at {}", path.display()),
                    "run `dialogforum migrate` to create it (or start the service, which creates it), \
                     or correct database.url",
                )];
            }
            Ok(_) => {}
            Err(e) => return vec![Check::fail("database", format!("{e:#}"), "give database.url as sqlite://PATH")],
        }
    }
    let opts = crate::store::ConnectOptions {
        max_connections: 1,
        busy_timeout: Duration::from_millis(settings.database.busy_timeout_ms),
        acquire_timeout: LIMIT,
    };
    let store = match tokio::time::timeout(LIMIT, crate::store::Store::connect(url, &opts)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return vec![Check::fail(
                "database",
                format!("cannot open the database at {shown}: {}", chain(&e)),
                "check database.url, that the server runs, and that it lets this user in",
            )];
        }
        Err(_) => {
            return vec![Check::fail(
                "database",
                format!("no answer from the database at {shown} within {} s", LIMIT.as_secs()),
                "check database.url and that the server runs and is reachable from here",
            )];
        }
    };
    let status = store.migration_status().await;
    store.close().await;
    let status = match status {
        Ok(s) => s,
        Err(e) => {
            return vec![Check::fail(
                "database",
                format!("the database at {shown} does not answer: {}", chain(&e)),
                "check that the database server runs and that this user may read it",
            )];
        }
    };
    vec![Check::ok("database", format!("the {} database at {shown} answers", store.engine_name())), migrations(&status)]
}

/// The migrations verdict.
fn migrations(s: &MigrationStatus) -> Check {
    const TOPIC: &str = "migrations";
    let migrate = "run `dialogforum migrate` (or start the service, which applies pending migrations first)";
    let list = |items: &[String]| items.join(", ");
    if !s.has_table {
        return Check::fail(TOPIC, "the database has no migrations applied: it is empty or not Dialogforum's", migrate);
    }
    if let Some(v) = s.failed.first() {
        return Check::fail(
            TOPIC,
            format!("migration {v:04} failed part-way, so the database is half changed"),
            "restore the backup taken before the upgrade (`dialogforum restore FILE`, or pg_restore), \
             then start the service again",
        );
    }
    if !s.unknown.is_empty() {
        let versions: Vec<String> = s.unknown.iter().map(|v| format!("{v:04}")).collect();
        return Check::fail(
            TOPIC,
            format!(
                "the database has migration(s) {} that this version does not know: a newer Dialogforum migrated it",
                list(&versions)
            ),
            "run the newer version, or restore the backup taken before the upgrade",
        );
    }
    if !s.changed.is_empty() {
        let names: Vec<String> = s.changed.iter().map(ToString::to_string).collect();
        return Check::fail(
            TOPIC,
            format!("migration(s) {} differ from the ones applied to this database", list(&names)),
            "use the release that created this database; an applied migration is never edited",
        );
    }
    if !s.missing.is_empty() {
        let names: Vec<String> = s.missing.iter().map(ToString::to_string).collect();
        let what = if names.len() == 1 { "migration" } else { "migrations" };
        return Check::fail(TOPIC, format!("the database lacks {what} {}", list(&names)), migrate);
    }
    Check::ok(TOPIC, format!("all {} migrations are applied", s.applied))
}

/// Connect, TLS and login at the SMTP server, then QUIT.
async fn smtp(settings: &Settings) -> Vec<Check> {
    if settings.mail.transport != Transport::Smtp {
        return vec![Check::skipped("SMTP", "mail.transport is not \"smtp\"")];
    }
    let oauth2 = crate::mail::oauth2::TokenSource::from_settings(
        &settings.mail.oauth2_token_file,
        &settings.mail.oauth2_token_command,
    );
    let target = match SmtpTarget::from_url(&settings.mail.smtp_url).map(|t| t.with_oauth2(oauth2)) {
        Ok(t) => t,
        Err(e) => {
            return vec![Check::fail("SMTP", e, "give mail.smtp_url as smtp://host:587?tls=required or smtps://…")];
        }
    };
    let probe = target.probe(LIMIT).await;
    let endpoint = target.endpoint();
    vec![
        step(
            "SMTP connection",
            probe.connect,
            format!("check the host and port in mail.smtp_url and that the firewall lets this host reach {endpoint}"),
        ),
        step(
            "SMTP TLS",
            probe.tls,
            "use the port and scheme the provider documents: smtps:// (port 465) or smtp://…:587?tls=required \
             for STARTTLS; the certificate must be valid for the host name in mail.smtp_url"
                .to_owned(),
        ),
        step(
            "SMTP login",
            probe.auth,
            "correct the user name and password in mail.smtp_url (DIALOGFORUM_MAIL__SMTP_URL), with characters \
             such as @ : / % percent-encoded (%40 %3A %2F %25); no message was sent"
                .to_owned(),
        ),
    ]
}

fn step(topic: &'static str, step: Step, fix: String) -> Check {
    match step {
        Step::Done(finding) => Check::ok(topic, finding),
        Step::Doubtful(finding) => Check::warn(topic, finding, fix),
        Step::Skipped(finding) => Check::skipped(topic, finding),
        Step::Failed(finding) => Check::fail(topic, finding, fix),
    }
}

/// The DKIM key, and the public key derived from it.
fn dkim(settings: &Settings) -> (Check, Option<String>) {
    const TOPIC: &str = "DKIM";
    let file = &settings.mail.dkim_key_file;
    if file.as_os_str().is_empty() {
        let check = Check::warn(
            TOPIC,
            "mail is not signed: mail.dkim_key_file is empty, and large receivers expect DKIM from bulk senders",
            "make a key (`openssl genrsa -traditional -out dkim.pem 2048`), set mail.dkim_key_file to it, \
             and publish the DKIM record doctor then prints",
        );
        return (check, None);
    }
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            let check = Check::fail(
                TOPIC,
                format!("mail.dkim_key_file {} cannot be read: {e}", file.display()),
                "correct the path, or let the service's user read the file",
            );
            return (check, None);
        }
    };
    match dns::dkim_value(&text, settings.mail.dkim_algorithm) {
        Ok(value) => {
            let check = Check::ok(
                TOPIC,
                format!("mail is signed with selector \"{}\"; its public key is below", settings.mail.dkim_selector),
            );
            (check, Some(value))
        }
        Err(fix) => (Check::fail(TOPIC, format!("{} is not a usable key", file.display()), fix), None),
    }
}

/// Bounces, complaints and mail to the forum: the SMTP listener (IMAP
/// mailboxes have checks of their own).
fn inbound(settings: &Settings) -> Vec<Check> {
    let listener = if settings.inbound.bind.is_empty() && !settings.inbound.imap.is_empty() {
        Check::ok("inbound mail", "mail to the forum is read from IMAP mailboxes (the SMTP listener is off)")
    } else if settings.inbound.bind.is_empty() {
        Check::warn(
            "inbound mail",
            "inbound.bind is empty: bounces and complaints are not read, so dead addresses stay on the list",
            "set inbound.bind (e.g. \"0.0.0.0:2525\") and route mail for the bounce address to it",
        )
    } else {
        Check::ok("inbound mail", format!("the SMTP listener takes mail on {}", settings.inbound.bind))
    };
    vec![listener]
}

/// Each IMAP mailbox: connect, TLS, sign in and open the folder read-only
/// (EXAMINE), then log out. Nothing is changed in the mailbox.
async fn imap(settings: &Settings) -> Vec<Check> {
    let mailboxes = crate::inbound::imap::Mailbox::from_settings(settings);
    if mailboxes.is_empty() {
        return vec![Check::skipped("IMAP", "not configured")];
    }
    let mut out = Vec::new();
    for mailbox in &mailboxes {
        let probe = crate::inbound::imap::probe(mailbox).await;
        let name = &mailbox.shown;
        let step = |topic, step: Step, fix: &str| {
            let mut check = self::step(topic, step, fix.to_owned());
            check.finding = format!("{name}: {}", check.finding);
            check
        };
        out.push(step(
            "IMAP connection",
            probe.connect,
            "check host and port of this [[inbound.imap]] mailbox and that the firewall lets this host reach it",
        ));
        out.push(step(
            "IMAP TLS",
            probe.tls,
            "use tls = \"imaps\" with port 993 or tls = \"starttls\" with port 143, as the provider documents; \
             the certificate must be valid for the host name (a private CA goes in ca_file)",
        ));
        out.push(step(
            "IMAP login",
            probe.login,
            "correct user and password of this [[inbound.imap]] mailbox, or its OAuth2 token source (the token \
             needs the IMAP scope for the mailbox), and check that folder names an existing folder; nothing in \
             the mailbox was changed",
        ));
    }
    out
}

/// The base URL: https, and not this machine.
fn base_url(settings: &Settings) -> Check {
    const TOPIC: &str = "base URL";
    let base = settings.base_url();
    let Ok(url) = url::Url::parse(base) else {
        return Check::fail(TOPIC, format!("{base} is not a URL"), "set server.base_url to https://forum.example.dk");
    };
    if url.scheme() != "https" {
        return Check::warn(
            TOPIC,
            format!("{base} is not https: links in mail travel unencrypted and session cookies are not Secure"),
            "put TLS in front (see the README's reverse proxy example) and set server.base_url to https://…",
        );
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => true,
    };
    if loopback {
        return Check::warn(
            TOPIC,
            format!("{base} points at this machine: links in mail lead nowhere for readers"),
            "set server.base_url to the address people reach the forum at",
        );
    }
    Check::ok(TOPIC, format!("{base} is https"))
}

/// `GET {base}/healthz`: the name resolves, the certificate is valid, the
/// proxy forwards and the service answers. A warning only when not, since
/// the address may be reachable from outside alone, or the service stopped.
async fn health(settings: &Settings) -> Check {
    const TOPIC: &str = "health check";
    let target = format!("{}/healthz", settings.base_url());
    let fix = "check the DNS name, that the reverse proxy runs and forwards to server.bind, and that the \
               service runs (the address may answer from outside only)";
    let Ok(url) = url::Url::parse(&target) else {
        return Check::warn(TOPIC, format!("{target} is not a URL"), "correct server.base_url");
    };
    match tokio::time::timeout(LIMIT, http::status(&url)).await {
        Ok(Ok(status)) if status.starts_with("200") => Check::ok(TOPIC, format!("GET {target} answered {status}")),
        Ok(Ok(status)) => Check::warn(TOPIC, format!("GET {target} answered {status}, not 200 OK"), fix),
        Ok(Err(e)) => Check::warn(TOPIC, format!("GET {target} failed: {e}"), fix),
        Err(_) => Check::warn(TOPIC, format!("GET {target} had no answer within {} s", LIMIT.as_secs()), fix),
    }
}

/// An error and its causes, one after the other.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let _ = write!(text, ": {s}");
        source = s.source();
    }
    text
}
