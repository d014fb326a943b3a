//! Reading the forum's mailbox by IMAP, where the forum's address is a
//! mailbox at a provider (Microsoft 365) rather than mail routed to the
//! listener. Each `[[inbound.imap]]` mailbox is polled by a task of its own:
//! sign in over TLS (IMAPS or STARTTLS, never plaintext) with a password or
//! SASL XOAUTH2, look at the folder, and hand every new message to the same
//! decision as the SMTP listener ([`Inbox::act_on`]), with the recipient read
//! from its headers.
//!
//! Process, then mark: a message is recorded (mailbox, UIDVALIDITY, UID) in
//! the transaction of its effect, and only then marked read or moved. A crash
//! before the commit leaves it unrecorded and unmarked, so it is handled on
//! the next pass; a crash after leaves it recorded, so the next pass only
//! marks it. Messages that mean nothing are recorded and marked too. A
//! request over the sign-up budget is left as it is, for a later pass.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_imap::Authenticator;
use futures_util::TryStreamExt as _;
use mail_parser::{Address, MessageParser};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};

use super::requests::Handled;
use super::{InboundSettings, Inbox, Recipient};
use crate::config::{ImapTls, Secret, Settings};
use crate::mail::MailContext;
use crate::mail::deliver::smtp::Step;
use crate::mail::deliver::transport::mask;
use crate::mail::oauth2::TokenSource;
use crate::store::Store;
use crate::store::imap::Fetched;

type Stream = tokio_rustls::client::TlsStream<TcpStream>;
type Session = async_imap::Session<Stream>;

/// How long one network step may take before the pass is given up.
const STEP_LIMIT: Duration = Duration::from_mins(1);

/// How a mailbox is signed in to.
#[derive(Debug, Clone)]
enum Login {
    /// IMAP `LOGIN` with the user and this password.
    Password(Secret),
    /// SASL XOAUTH2 with the user and a token from this source.
    OAuth2(TokenSource),
}

/// One mailbox to read, from its `[[inbound.imap]]` table.
#[derive(Debug, Clone)]
pub struct Mailbox {
    /// `user@host/folder`: the key its messages are recorded under.
    key: String,
    /// The same with the user masked, for logs and `doctor`.
    pub shown: String,
    host: String,
    port: u16,
    tls: ImapTls,
    ca_file: PathBuf,
    user: String,
    login: Login,
    folder: String,
    move_to: Option<String>,
    poll: Duration,
    mark_delay: Duration,
}

impl Mailbox {
    /// The mailboxes the settings name (already validated).
    #[must_use]
    pub fn from_settings(settings: &Settings) -> Vec<Self> {
        settings
            .inbound
            .imap
            .iter()
            .map(|m| {
                let own = TokenSource::from_settings(&m.oauth2_token_file, &m.oauth2_token_command);
                let shared =
                    TokenSource::from_settings(&settings.mail.oauth2_token_file, &settings.mail.oauth2_token_command);
                let login = match own.or(shared) {
                    Some(source) if m.password.is_empty() => Login::OAuth2(source),
                    _ => Login::Password(m.password.clone()),
                };
                Self {
                    key: m.label(),
                    shown: format!("{}@{}/{}", mask(&m.user), m.host, m.folder),
                    host: m.host.clone(),
                    port: m.effective_port(),
                    tls: m.tls,
                    ca_file: m.ca_file.clone(),
                    user: m.user.clone(),
                    login,
                    folder: m.folder.clone(),
                    move_to: Some(m.move_to.clone()).filter(|f| !f.is_empty()),
                    poll: Duration::from_secs(m.poll_secs),
                    mark_delay: Duration::from_millis(m.mark_delay_ms),
                }
            })
            .collect()
    }

    fn endpoint(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Polls `mailbox` until `stop` turns true, handling its mail as the
/// listener would. A pass that fails (the server or the database is away) is
/// logged and tried again at the next poll.
///
/// # Errors
/// None so far; the signature fits the supervisor.
pub async fn read(
    store: Store,
    settings: InboundSettings,
    mail: MailContext,
    mail_wake: Arc<Notify>,
    forum: crate::forum::Forum,
    mailbox: Mailbox,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let inbox = Inbox::new(store, settings, mail, mail_wake, forum);
    tracing::info!(mailbox = %mailbox.shown, every_secs = mailbox.poll.as_secs(), "reading a mailbox by IMAP");
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        match pass(&inbox, &mailbox, &stop).await {
            Ok(n) if n > 0 => tracing::info!(mailbox = %mailbox.shown, handled = n, "mailbox read"),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(mailbox = %mailbox.shown, error = format!("{e:#}"), "could not read the mailbox; trying again later");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(mailbox.poll) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
    }
}

/// One look at the folder: handles what is new and marks what is handled;
/// returns how many messages were handled.
async fn pass(inbox: &Inbox, mailbox: &Mailbox, stop: &watch::Receiver<bool>) -> anyhow::Result<usize> {
    let (client, peer) = open(mailbox).await.map_err(|(_, why)| anyhow::anyhow!(why))?;
    let mut session = sign_in(client, mailbox).await.map_err(anyhow::Error::msg)?;
    let selected =
        within(session.select(&mailbox.folder)).await.with_context(|| format!("SELECT {}", mailbox.folder))?;
    let uid_validity = selected.uid_validity.unwrap_or(0);
    if let Some(folder) = &mailbox.move_to {
        // Already there is the usual answer; a real failure shows at the first move.
        let _ = within(session.create(folder)).await;
    }
    let can_move = within(session.capabilities()).await.is_ok_and(|c| c.has_str("MOVE"));
    // Moved mail leaves the folder, so everything in it is new; kept mail is marked read.
    let query = if mailbox.move_to.is_some() { "UNDELETED" } else { "UNSEEN UNDELETED" };
    let mut uids: Vec<u32> = within(session.uid_search(query)).await.context("UID SEARCH")?.into_iter().collect();
    uids.sort_unstable();
    let Some(&lowest) = uids.first() else {
        let _ = within(session.logout()).await;
        return Ok(0);
    };
    let handled = inbox.store.handled_uids(&mailbox.key, uid_validity, lowest).await?;
    let mut count = 0;
    for uid in uids {
        if *stop.borrow() {
            break;
        }
        if !handled.contains(&uid) {
            let fetched = Fetched { mailbox: mailbox.key.clone(), uid_validity, uid };
            if !handle(inbox, &mut session, peer, &fetched).await? {
                continue;
            }
            count += 1;
            if !mailbox.mark_delay.is_zero() {
                // A shutdown cuts the wait short; the message is marked all the same.
                let mut stopping = stop.clone();
                tokio::select! {
                    () = tokio::time::sleep(mailbox.mark_delay) => {}
                    _ = stopping.wait_for(|s| *s) => {}
                }
            }
        }
        mark(&mut session, mailbox, uid, can_move).await?;
    }
    let _ = within(session.logout()).await;
    Ok(count)
}

/// Fetches message `fetched.uid` (without setting `\Seen`) and does what it
/// means; true once it is recorded, false when it is left for a later pass.
async fn handle(inbox: &Inbox, session: &mut Session, peer: IpAddr, fetched: &Fetched) -> anyhow::Result<bool> {
    let uid = fetched.uid;
    let messages: Vec<_> =
        within(async { session.uid_fetch(uid.to_string(), "(UID BODY.PEEK[])").await?.try_collect().await })
            .await
            .with_context(|| format!("UID FETCH {uid}"))?;
    let Some(raw) = messages.iter().find(|f| f.uid == Some(uid)).and_then(|f| f.body()) else {
        tracing::info!(uid, "a message that is gone or has no body; marked");
        inbox.store.record_fetched(fetched, "gone").await?;
        return Ok(true);
    };
    let outcome = if raw.len() > inbox.settings.max_message_bytes {
        tracing::info!(uid, bytes = raw.len(), "a message in the mailbox too big to read; marked");
        "too big"
    } else {
        let (recipient, reverse_path) = addressed(inbox, raw);
        match recipient {
            None => {
                tracing::info!(uid, "a message in the mailbox for none of our addresses; marked");
                "not ours"
            }
            Some(recipient) => {
                let done = inbox.act_on(peer, &reverse_path, &[recipient], raw, Some(fetched)).await?;
                if done == Some(Handled::OverBudget) {
                    return Ok(false);
                }
                match recipient {
                    Recipient::Bounce(_) => "bounce",
                    Recipient::Join => "join",
                    Recipient::Leave => "leave",
                    Recipient::Organizer => "reply",
                }
            }
        }
    };
    // Effects record the message themselves; this covers what wrote nothing.
    inbox.store.record_fetched(fetched, outcome).await?;
    Ok(true)
}

/// Marks a handled message: moves it to `move_to`, or sets `\Seen`.
async fn mark(session: &mut Session, mailbox: &Mailbox, uid: u32, can_move: bool) -> anyhow::Result<()> {
    let set = uid.to_string();
    match &mailbox.move_to {
        Some(folder) if can_move => {
            within(session.uid_mv(&set, folder)).await.with_context(|| format!("UID MOVE to {folder}"))?;
        }
        Some(folder) => {
            within(session.uid_copy(&set, folder)).await.with_context(|| format!("UID COPY to {folder}"))?;
            within(async { session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?.try_collect::<Vec<_>>().await })
                .await
                .context("UID STORE \\Deleted")?;
            within(async { session.uid_expunge(&set).await?.try_collect::<Vec<_>>().await })
                .await
                .context("UID EXPUNGE")?;
        }
        None => {
            within(async { session.uid_store(&set, "+FLAGS.SILENT (\\Seen)").await?.try_collect::<Vec<_>>().await })
                .await
                .context("UID STORE \\Seen")?;
        }
    }
    Ok(())
}

/// Who a message in the mailbox was for and who sent it: the first of
/// Delivered-To, X-Original-To, To and Cc that is one of our addresses
/// (plus-addressing delivers the bounce and leave addresses to the same
/// mailbox), and the reverse path from Return-Path (the From address if there
/// is none; empty for the null path `<>`).
fn addressed(inbox: &Inbox, raw: &[u8]) -> (Option<Recipient>, String) {
    let Some(message) = MessageParser::default().parse_headers(raw) else { return (None, String::new()) };
    let mut candidates: Vec<String> = Vec::new();
    for name in ["Delivered-To", "X-Original-To"] {
        for (n, value) in message.headers_raw() {
            if n.eq_ignore_ascii_case(name) {
                candidates.extend(value.split(',').map(bare_address));
            }
        }
    }
    for list in [message.to(), message.cc()].into_iter().flatten() {
        candidates.extend(addresses(list));
    }
    let recipient = candidates.iter().find_map(|c| inbox.recipient(c).ok());
    let from = || message.from().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned();
    let reverse_path = message
        .headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case("Return-Path"))
        .map_or_else(from, |(_, v)| bare_address(v));
    (recipient, reverse_path)
}

fn addresses(list: &Address<'_>) -> Vec<String> {
    list.iter().filter_map(|a| a.address()).map(str::to_owned).collect()
}

/// `Name <a@b>` or ` a@b ` → `a@b`; `<>` → empty.
fn bare_address(value: &str) -> String {
    let value = value.trim();
    match (value.rfind('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => value[open + 1..close].trim().to_owned(),
        _ => value.to_owned(),
    }
}

async fn within<T, E>(step: impl Future<Output = Result<T, E>>) -> anyhow::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match tokio::time::timeout(STEP_LIMIT, step).await {
        Ok(r) => Ok(r?),
        Err(_) => anyhow::bail!("no answer within {} s", STEP_LIMIT.as_secs()),
    }
}

/// Which step of opening a connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Connect,
    Tls,
}

/// The TLS settings: the public roots (as for SMTP), and the certificates in
/// `ca_file` if one is named.
fn tls_config(ca_file: &Path) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if !ca_file.as_os_str().is_empty() {
        let certs = CertificateDer::pem_file_iter(ca_file)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| format!("ca_file {}: {e}", ca_file.display()))?;
        if certs.is_empty() {
            return Err(format!("ca_file {} holds no certificate", ca_file.display()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| format!("ca_file {}: {e}", ca_file.display()))?;
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS cannot be set up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Connects and secures the connection (TLS from the first byte, or
/// STARTTLS before anything else), and reads the greeting; gives the client
/// and the server's address.
async fn open(mailbox: &Mailbox) -> Result<(async_imap::Client<Stream>, IpAddr), (Stage, String)> {
    let endpoint = mailbox.endpoint();
    let config = tls_config(&mailbox.ca_file).map_err(|e| (Stage::Tls, e))?;
    let name = rustls::pki_types::ServerName::try_from(mailbox.host.clone())
        .map_err(|_| (Stage::Connect, format!("{} is not a host name a certificate can be for", mailbox.host)))?;
    let late = |stage| (stage, format!("no answer from {endpoint} within {} s", STEP_LIMIT.as_secs()));
    let tcp = tokio::time::timeout(STEP_LIMIT, TcpStream::connect((mailbox.host.as_str(), mailbox.port)))
        .await
        .map_err(|_| late(Stage::Connect))?
        .map_err(|e| (Stage::Connect, format!("cannot connect to {endpoint}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let peer = tcp.peer_addr().map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    let tcp = if mailbox.tls == ImapTls::Starttls {
        let mut plain = async_imap::Client::new(tcp);
        let upgraded = async {
            greeting(&mut plain).await?;
            plain.run_command_and_check_ok("STARTTLS", None).await.map_err(|e| format!("STARTTLS refused: {e}"))?;
            Ok::<_, String>(())
        };
        match tokio::time::timeout(STEP_LIMIT, upgraded).await {
            Ok(Ok(())) => plain.into_inner(),
            Ok(Err(e)) => return Err((Stage::Tls, e)),
            Err(_) => return Err(late(Stage::Tls)),
        }
    } else {
        tcp
    };
    let tls = tokio::time::timeout(STEP_LIMIT, tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp))
        .await
        .map_err(|_| late(Stage::Tls))?
        .map_err(|e| (Stage::Tls, format!("the TLS handshake with {endpoint} failed: {e}")))?;
    let mut client = async_imap::Client::new(tls);
    if mailbox.tls == ImapTls::Imaps {
        tokio::time::timeout(STEP_LIMIT, greeting(&mut client))
            .await
            .map_err(|_| late(Stage::Connect))?
            .map_err(|e| (Stage::Connect, e))?;
    }
    Ok((client, peer))
}

/// Reads the server's greeting.
async fn greeting<T>(client: &mut async_imap::Client<T>) -> Result<(), String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err("the server closed the connection without a greeting".to_owned()),
        Err(e) => Err(format!("no greeting: {e}")),
    }
}

/// The SASL XOAUTH2 initial response; a second challenge (the server's
/// reason for refusing) is answered with nothing, as the mechanism asks.
struct XOAuth2 {
    response: Option<String>,
}

impl Authenticator for XOAuth2 {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        self.response.take().unwrap_or_default()
    }
}

/// Signs in with the mailbox's password or an OAuth2 token.
async fn sign_in(client: async_imap::Client<Stream>, mailbox: &Mailbox) -> Result<Session, String> {
    let (attempt, what) = match &mailbox.login {
        Login::Password(password) => {
            let login = client.login(&mailbox.user, password.expose());
            (tokio::time::timeout(STEP_LIMIT, login).await, "the user name and password")
        }
        Login::OAuth2(source) => {
            let token = source.token().await.map_err(|why| format!("no OAuth2 token to sign in with: {why}"))?;
            let response = format!("user={}\x01auth=Bearer {token}\x01\x01", mailbox.user);
            let login = client.authenticate("XOAUTH2", XOAuth2 { response: Some(response) });
            (tokio::time::timeout(STEP_LIMIT, login).await, "the OAuth2 token")
        }
    };
    match attempt {
        Ok(Ok(session)) => Ok(session),
        Ok(Err((async_imap::error::Error::No(text), _))) => {
            Err(format!("the server refused {what} (NO {})", text.trim()))
        }
        Ok(Err((e, _))) => Err(format!("the sign-in with {what} did not go through: {e}")),
        Err(_) => Err(format!("no answer to the sign-in within {} s", STEP_LIMIT.as_secs())),
    }
}

/// A trial connection for `doctor`: connect, secure, sign in, look at the
/// folder, log out. Nothing is changed.
#[derive(Debug, Clone)]
pub struct Probe {
    pub connect: Step,
    pub tls: Step,
    pub login: Step,
}

/// Tries each step as a pass takes them and says how far it got.
pub async fn probe(mailbox: &Mailbox) -> Probe {
    let endpoint = mailbox.endpoint();
    let not_tried = |why: &str| Step::Skipped(format!("not tried: {why}"));
    let (client, _) = match open(mailbox).await {
        Ok(opened) => opened,
        Err((Stage::Connect, why)) => {
            return Probe {
                connect: Step::Failed(why),
                tls: not_tried("no connection"),
                login: not_tried("no connection"),
            };
        }
        Err((Stage::Tls, why)) => {
            return Probe {
                connect: Step::Done(format!("{endpoint} accepted the connection")),
                tls: Step::Failed(why),
                login: not_tried("no secure connection"),
            };
        }
    };
    let how = match mailbox.tls {
        ImapTls::Imaps => "TLS from the first byte (imaps), certificate valid",
        ImapTls::Starttls => "STARTTLS, certificate valid",
    };
    let connect = Step::Done(format!("{endpoint} answered the greeting"));
    let login = match sign_in(client, mailbox).await {
        Ok(mut session) => {
            let mut finding = String::from("the server accepted the sign-in");
            match within(session.examine(&mailbox.folder)).await {
                Ok(m) => {
                    let _ = write!(finding, "; folder {} holds {} message(s)", mailbox.folder, m.exists);
                }
                Err(e) => {
                    let _ = within(session.logout()).await;
                    return Probe {
                        connect,
                        tls: Step::Done(how.into()),
                        login: Step::Failed(format!(
                            "signed in, but folder {} cannot be opened: {e:#}",
                            mailbox.folder
                        )),
                    };
                }
            }
            let _ = within(session.logout()).await;
            Step::Done(finding)
        }
        Err(why) => Step::Failed(why),
    };
    Probe { connect, tls: Step::Done(how.into()), login }
}

#[cfg(test)]
mod tests {
    use super::bare_address;

    #[test]
    fn addresses_are_taken_out_of_their_brackets() {
        assert_eq!(bare_address(" <dialogforum+leave@forum.example> "), "dialogforum+leave@forum.example");
        assert_eq!(bare_address("Forum <tilmeld@forum.example>"), "tilmeld@forum.example");
        assert_eq!(bare_address("tilmeld@forum.example"), "tilmeld@forum.example");
        assert_eq!(bare_address("<>"), "");
    }
}
