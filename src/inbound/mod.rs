//! Mail that comes in, the second edge beside [`crate::web`]: like a page,
//! it reads what arrived and calls the use cases of [`crate::forum`].
//! The inbound SMTP listener: receives the bounces and complaints that come
//! back to the per-message return paths ([`crate::mail::deliver::verp`]) and suppresses the
//! addresses that fail, and takes mail for the join and leave addresses, which
//! ask to join or leave the list ([`requests`]), and for the organiser
//! address, where calendars send their replies ([`calendar`]).
//!
//! The SMTP conversation is `mailin`'s state machine; this module does the I/O
//! and the decisions. It accepts only our own bounce addresses, the join
//! address, the leave address and the organiser address (no open relay),
//! limits line length, recipients, message size, connections (in all and per
//! peer), messages per peer and hour, commands and errors per session, idle time and session time,
//! and answers 250 only after what a message means has been recorded (451 if
//! the database is away or a request to join is over the sign-up budget, so
//! the sender tries again). It never answers a bounce, a complaint or
//! anything automatic; the only mail it sets off is the confirmation that a
//! person's own request to join or leave calls for, and the confirmation of
//! an answer given from their calendar.

pub mod calendar;
pub mod imap;
pub mod requests;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use jiff::SignedDuration;
use mail_parser::{MessageParser, MessagePart, MimeHeaders};
use mailin::{Action, Handler, Response, Session, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use self::requests::{Handled, Limits};
use crate::config::Settings;
use crate::domain::{Email, OutboxId};
use crate::mail::MailContext;
use crate::mail::deliver::transport::mask;
use crate::mail::deliver::verp;
use crate::store::bounces::{self, BounceKind};
use crate::store::imap::Fetched;
use crate::store::rate::SignupBudget;
use crate::store::{Store, StoreError};

/// Longest command line accepted, CRLF included: twice what RFC 5321 allows
/// (1000), so slightly sloppy senders still get through. Longer lines of
/// message data are read in pieces of this size.
const MAX_LINE: usize = 2048;
/// RCPT commands accepted per message (RFC 5321 asks servers to take at least 100).
const MAX_RECIPIENTS: usize = 100;
/// Refused commands after which a connection is closed.
const MAX_ERRORS: u32 = 20;
/// How long open connections may take to finish when the service stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// The window of [`InboundSettings::messages_per_peer_per_hour`].
const MESSAGE_WINDOW: Duration = Duration::from_hours(1);
/// Peers remembered for their message counts; past this, those without an open
/// connection are forgotten, so many addresses cannot fill the memory.
const MAX_PEERS_REMEMBERED: usize = 16_384;
/// How long a connection may take to read our last reply after its session
/// time is up, before it is dropped without one.
const WRITE_GRACE: Duration = Duration::from_secs(30);
/// The reverse path handed to `mailin`, whose parser refuses the null path
/// `<>` that every bounce carries and any MAIL parameter but BODY; the real
/// reverse path is kept here.
const PLACEHOLDER_SENDER: &str = "sender@inbound.invalid";

/// What the listener needs to know.
#[derive(Debug, Clone)]
pub struct InboundSettings {
    /// The base of our bounce addresses ([`Settings::bounce_base`]).
    pub bounce_base: Email,
    /// The address whose mail means "put me on the list", if there is one.
    pub join_address: Option<Email>,
    /// The address whose mail means "take me off the list" ([`verp::leave_address`]).
    pub leave_address: Email,
    /// The ORGANIZER of calendar entries, whose mail may be a calendar's reply.
    pub organizer: Email,
    /// How often and for how long the confirmations of requests by mail go out.
    pub limits: Limits,
    /// Largest message accepted, in bytes; larger ones get 552. No more than
    /// this is held in memory per connection.
    pub max_message_bytes: usize,
    /// Soft bounces after which an address is suppressed; 0 = never.
    pub soft_bounce_limit: u32,
    /// A connection that takes this long to send a line is closed.
    pub idle_timeout: Duration,
    /// A connection is closed after this long, however busy.
    pub max_session: Duration,
    /// Connections served at once; more get 421.
    pub max_connections: usize,
    /// Connections served at once from one peer ([`peer_of`]); more get 421.
    pub max_connections_per_peer: usize,
    /// Messages (MAIL commands) one peer may start per hour; beyond, 421.
    pub messages_per_peer_per_hour: u32,
    /// Command lines one connection may send; the next gets 421.
    pub max_commands_per_session: u32,
}

impl InboundSettings {
    /// The listener settings from `[mail]`, `[inbound]` and `[security]`.
    ///
    /// # Errors
    /// An unusable bounce or join address; the message names the key.
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        let bounce_base = settings.bounce_base().map_err(|e| format!("mail.bounce_address: {e}"))?;
        let leave_address = verp::leave_address(&bounce_base).map_err(|_| {
            "mail.bounce_address: the part before @ is too long to take +leave (the leave address)".to_owned()
        })?;
        let security = &settings.security;
        let inbound = &settings.inbound;
        let join = inbound.join_address.as_str();
        let join_address = if join.is_empty() {
            None
        } else {
            Some(Email::parse(join).map_err(|e| format!("inbound.join_address: {e}"))?)
        };
        let organizer = settings.organizer().map_err(|e| format!("mail.organizer: {e}"))?;
        Ok(Self {
            bounce_base,
            join_address,
            leave_address,
            organizer,
            limits: Limits {
                link_ttl: SignedDuration::from_hours(i64::try_from(security.token_ttl_hours).unwrap_or(168)),
                mails_per_address_per_day: security.confirmations_per_address_per_day,
                budget: SignupBudget {
                    per_client: security.signups_per_ip_per_hour,
                    per_domain: security.signups_per_domain_per_hour,
                },
            },
            max_message_bytes: inbound.max_message_bytes,
            soft_bounce_limit: inbound.soft_bounce_limit,
            idle_timeout: Duration::from_secs(inbound.idle_timeout_secs),
            max_session: Duration::from_secs(inbound.max_session_secs),
            max_connections: inbound.max_connections,
            max_connections_per_peer: inbound.max_connections_per_peer,
            messages_per_peer_per_hour: inbound.messages_per_peer_per_hour,
            max_commands_per_session: inbound.max_commands_per_session,
        })
    }
}

/// Receives mail on `listener` until `shutdown` turns true (or its sender is
/// gone), then lets open connections finish for a few seconds. Confirmations
/// of requests to join or leave are queued with `mail` and `mail_wake` wakes
/// the outbox worker for them.
pub async fn serve(
    listener: TcpListener,
    store: Store,
    settings: InboundSettings,
    mail: MailContext,
    mail_wake: Arc<Notify>,
    forum: crate::forum::Forum,
    mut shutdown: watch::Receiver<bool>,
) {
    let max_connections = settings.max_connections;
    let per_peer = settings.max_connections_per_peer;
    let inbox = Inbox::new(store, settings, mail, mail_wake, forum);
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut sessions = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    while sessions.try_join_next().is_some() {}
                    let _ = stream.set_nodelay(true);
                    let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                        tracing::warn!(limit = max_connections, "too many inbound SMTP connections; one turned away");
                        sessions.spawn(turn_away(stream, "4.3.2 Too many connections, try again later"));
                        continue;
                    };
                    let Some(peer_slot) = inbox.peers.admit(peer.ip(), per_peer) else {
                        tracing::warn!(
                            peer = %peer_of(peer.ip()),
                            limit = per_peer,
                            "too many inbound SMTP connections from one peer; one turned away"
                        );
                        sessions.spawn(turn_away(stream, "4.7.0 Too many connections from your address, try again later"));
                        continue;
                    };
                    sessions.spawn(session(Arc::clone(&inbox), stream, peer, shutdown.clone(), (slot, peer_slot)));
                }
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "could not accept an inbound SMTP connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async { while sessions.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            open = sessions.len(),
            "inbound SMTP connections cut off at shutdown; their senders will try again"
        );
        sessions.shutdown().await;
    }
    tracing::info!("inbound mail listener stopped");
}

async fn turn_away(mut stream: TcpStream, why: &'static str) {
    let reply = format!("421 {why}\r\n");
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.write_all(reply.as_bytes())).await;
}

/// Serves one connection, holding its places in the overall and the per-peer
/// count until it ends. A sender that stops reading our replies is dropped
/// soon after its session time is up.
async fn session(
    inbox: Arc<Inbox>,
    stream: TcpStream,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
    _slots: (OwnedSemaphorePermit, PeerSlot),
) {
    let limit = inbox.settings.max_session.saturating_add(WRITE_GRACE);
    match tokio::time::timeout(limit, converse(inbox, stream, peer.ip(), shutdown)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "inbound SMTP connection ended"),
        Err(_) => tracing::info!("inbound SMTP connection dropped: past its session time"),
    }
}

/// The peer a connection is counted under: its IPv4 address, or the /64 of
/// its IPv6 address (one host's share of a network; an IPv4 address in IPv6
/// clothing counts as itself).
fn peer_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

/// What is counted per peer: open connections and the messages of the hour.
#[derive(Default)]
struct Peers {
    counts: Mutex<HashMap<IpAddr, PeerCount>>,
}

struct PeerCount {
    open: usize,
    window_start: Instant,
    messages: u32,
}

impl Peers {
    fn counts(&self) -> MutexGuard<'_, HashMap<IpAddr, PeerCount>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for one more connection from `ip`, unless it has `limit` open.
    fn admit(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<PeerSlot> {
        let peer = peer_of(ip);
        let mut counts = self.counts();
        if counts.len() >= MAX_PEERS_REMEMBERED && !counts.contains_key(&peer) {
            let now = Instant::now();
            counts.retain(|_, c| c.open > 0 || now.duration_since(c.window_start) < MESSAGE_WINDOW);
            if counts.len() >= MAX_PEERS_REMEMBERED {
                counts.retain(|_, c| c.open > 0);
            }
        }
        let count =
            counts.entry(peer).or_insert_with(|| PeerCount { open: 0, window_start: Instant::now(), messages: 0 });
        if count.open >= limit {
            return None;
        }
        count.open += 1;
        Some(PeerSlot { peers: Arc::clone(self), peer })
    }

    /// Counts a message from `ip`; false when it has started `limit` this hour.
    fn count_message(&self, ip: IpAddr, limit: u32) -> bool {
        let mut counts = self.counts();
        let Some(count) = counts.get_mut(&peer_of(ip)) else { return true };
        let now = Instant::now();
        if now.duration_since(count.window_start) >= MESSAGE_WINDOW {
            count.window_start = now;
            count.messages = 0;
        }
        if count.messages >= limit {
            return false;
        }
        count.messages += 1;
        true
    }
}

/// A connection's place in its peer's count, given back when it ends.
struct PeerSlot {
    peers: Arc<Peers>,
    peer: IpAddr,
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut counts = self.peers.counts();
        if let Some(count) = counts.get_mut(&self.peer) {
            count.open = count.open.saturating_sub(1);
            if count.open == 0 && count.window_start.elapsed() >= MESSAGE_WINDOW {
                counts.remove(&self.peer);
            }
        }
    }
}

/// What is shared by every connection.
struct Inbox {
    store: Store,
    settings: InboundSettings,
    /// The name in the greeting: the bounce base's domain.
    host: String,
    /// What queuing a confirmation needs.
    mail: MailContext,
    /// Wakes the outbox worker once a confirmation is queued.
    mail_wake: Arc<Notify>,
    /// Connections and messages per peer.
    peers: Arc<Peers>,
    /// Where calendar replies are applied.
    forum: crate::forum::Forum,
}

/// Who a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recipient {
    /// The bounce address of one of our messages.
    Bounce(OutboxId),
    /// The join address.
    Join,
    /// The leave address.
    Leave,
    /// The organiser address of calendar entries.
    Organizer,
}

/// The message being received.
#[derive(Default)]
struct Envelope {
    rcpt_commands: usize,
    recipients: Vec<Recipient>,
    data: Vec<u8>,
    size: usize,
    too_big: bool,
}

impl Envelope {
    /// Adds message data, keeping none of it once the message is over `max`
    /// bytes. The buffer never grows past `max`, whatever the sender sends.
    fn collect(&mut self, bytes: &[u8], max: usize) {
        self.size = self.size.saturating_add(bytes.len());
        if self.size > max {
            if !self.too_big {
                self.too_big = true;
                self.data = Vec::new();
            }
        } else {
            if self.data.capacity() < self.size {
                // Doubling as `Vec` does, but never beyond the limit.
                let wanted = self.data.capacity().saturating_mul(2).clamp(self.size, max);
                self.data.reserve_exact(wanted - self.data.len());
            }
            self.data.extend_from_slice(bytes);
        }
    }
}

/// The `mailin` handler of one connection. `mailin`'s callbacks are not async,
/// so the handler only collects the envelope; the connection's loop acts on it
/// once the message is complete.
struct Collector {
    inbox: Arc<Inbox>,
    envelope: Arc<Mutex<Envelope>>,
}

fn lock(envelope: &Mutex<Envelope>) -> MutexGuard<'_, Envelope> {
    envelope.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Handler for Collector {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        *lock(&self.envelope) = Envelope::default();
        mailin::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let mut envelope = lock(&self.envelope);
        envelope.rcpt_commands += 1;
        if envelope.rcpt_commands > MAX_RECIPIENTS {
            return Response::custom(452, "4.5.3 Too many recipients".to_owned());
        }
        match self.inbox.recipient(to) {
            Ok(r) => {
                if !envelope.recipients.contains(&r) {
                    envelope.recipients.push(r);
                }
                Response::custom(250, "2.1.5 OK".to_owned())
            }
            Err(refusal) => {
                tracing::info!(to = %mask(to), "inbound mail for an address that is not ours refused");
                refusal
            }
        }
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        lock(&self.envelope).collect(buf, self.inbox.settings.max_message_bytes);
        Ok(())
    }

    // `data_end` keeps its default (250), which returns `mailin` to its ready
    // state; the real answer is given by the connection's loop. (An error here
    // would leave `mailin` reading message data.)
}

impl Inbox {
    /// What the listener and the mailbox readers share.
    fn new(
        store: Store,
        settings: InboundSettings,
        mail: MailContext,
        mail_wake: Arc<Notify>,
        forum: crate::forum::Forum,
    ) -> Arc<Self> {
        let host = settings.bounce_base.domain().to_owned();
        Arc::new(Self { store, settings, host, mail, mail_wake, forum, peers: Arc::new(Peers::default()) })
    }

    /// Whether we take mail for `to`: our bounce addresses, the join address,
    /// the leave address and the organiser address, nothing else.
    fn recipient(&self, to: &str) -> Result<Recipient, Response> {
        let Ok(to) = Email::parse(to) else {
            return Err(Response::custom(550, "5.1.3 Bad recipient address syntax".to_owned()));
        };
        if self.settings.join_address.as_ref() == Some(&to) {
            return Ok(Recipient::Join);
        }
        if self.settings.leave_address == to {
            return Ok(Recipient::Leave);
        }
        if self.settings.organizer == to {
            return Ok(Recipient::Organizer);
        }
        if to.domain() != self.settings.bounce_base.domain() {
            return Err(Response::custom(550, "5.7.1 Relaying denied".to_owned()));
        }
        // Exactly the address we would have sent that message from.
        match verp::message_of(to.as_str()) {
            Some(id)
                if verp::envelope_sender(&self.settings.bounce_base, id)
                    .is_ok_and(|ours| ours.to_string() == to.as_str()) =>
            {
                Ok(Recipient::Bounce(id))
            }
            _ => Err(Response::custom(550, "5.1.1 No such recipient here".to_owned())),
        }
    }

    /// Acts on a complete message from `client` and returns the answer for the sender.
    async fn deliver(&self, client: IpAddr, reverse_path: &str, envelope: Envelope) -> Reply {
        if envelope.too_big {
            tracing::info!(
                bytes = envelope.size,
                limit = self.settings.max_message_bytes,
                "inbound message too big; refused"
            );
            return Reply::new(552, "5.3.4 Message too big for system");
        }
        match self.act_on(client, reverse_path, &envelope.recipients, &envelope.data, None).await {
            Ok(Some(Handled::OverBudget)) => {
                Reply::new(451, "4.7.1 Too many requests from your address or domain, try again later")
            }
            Ok(_) => Reply::new(250, "2.0.0 OK"),
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "could not record inbound mail; the sender will try again");
                Reply::new(451, "4.3.0 Temporary failure, please try again later")
            }
        }
    }

    /// Does what the complete message `data` means for each of its
    /// `recipients`, whether it came to the listener from `client` or was
    /// `fetched` from a mailbox (then it is recorded in the transaction of
    /// its effect); what became of a request to join or leave, if it was one.
    /// A request over the budget stops there, so that the whole message
    /// comes again later.
    async fn act_on(
        &self,
        client: IpAddr,
        reverse_path: &str,
        recipients: &[Recipient],
        data: &[u8],
        fetched: Option<&Fetched>,
    ) -> anyhow::Result<Option<Handled>> {
        let to_leave = recipients.contains(&Recipient::Leave);
        let mut handled = None;
        if to_leave || recipients.contains(&Recipient::Join) {
            // One request per message, even when it went to both addresses; leaving wins.
            handled = self.list_request(client, reverse_path, data, to_leave, fetched).await?;
            if handled == Some(Handled::OverBudget) {
                return Ok(handled);
            }
        }
        if recipients.contains(&Recipient::Organizer) {
            // Applying an answer twice changes nothing the second time, so a
            // reply fetched again after a crash before its marking is harmless.
            calendar::act_on(&self.forum, reverse_path, data).await?;
        }
        let mut report = None;
        for recipient in recipients {
            if let Recipient::Bounce(id) = recipient {
                let report = report.get_or_insert_with(|| classify(data));
                self.bounce(*id, report, fetched).await?;
            }
        }
        Ok(handled)
    }

    /// Mail for the join or leave address: a request to join, or to leave when
    /// it went to the leave address or its subject says so. Automatic mail and
    /// mail that is not to be believed are logged and dropped (`None`).
    async fn list_request(
        &self,
        client: IpAddr,
        reverse_path: &str,
        message: &[u8],
        to_leave_address: bool,
        fetched: Option<&Fetched>,
    ) -> anyhow::Result<Option<Handled>> {
        let settings = &self.settings;
        let mut ours = vec![&settings.bounce_base, &settings.leave_address, &settings.organizer];
        ours.extend(settings.join_address.as_ref());
        let letter = match requests::read(message, reverse_path, &ours) {
            Ok(letter) => letter,
            Err(why) => {
                metrics::counter!("dialogforum_inbound_requests_total", "kind" => "ignored").increment(1);
                tracing::info!(from = %mask(reverse_path), why, "mail to the join or leave address ignored");
                return Ok(None);
            }
        };
        let leave = to_leave_address || letter.asks_to_leave;
        let handled = if leave {
            requests::leave(&self.store, &self.mail, settings.limits, &letter, client, fetched).await?
        } else {
            requests::join(&self.store, &self.mail, settings.limits, &letter, client, fetched).await?
        };
        let kind = match handled {
            Handled::OverBudget => "deferred",
            _ if leave => "leave",
            _ => "join",
        };
        metrics::counter!("dialogforum_inbound_requests_total", "kind" => kind).increment(1);
        if handled == Handled::OverBudget {
            return Ok(Some(handled));
        }
        let queued = handled == Handled::Queued;
        if queued {
            self.mail_wake.notify_one();
        }
        tracing::info!(from = %letter.from.masked(), kind, confirmation_queued = queued, "request by mail handled");
        Ok(Some(handled))
    }

    /// Mail to the bounce address of message `id`, read as `report`; a
    /// message `fetched` from a mailbox is recorded with what it changed.
    async fn bounce(&self, id: OutboxId, report: &Report, fetched: Option<&Fetched>) -> Result<(), StoreError> {
        let (kind, detail) = match report {
            Report::Hard { status } => (BounceKind::Hard, status.as_str()),
            Report::Soft { status } => (BounceKind::Soft, status.as_str()),
            Report::Complaint { feedback_type } => (BounceKind::Complaint, feedback_type.as_str()),
            Report::Ignored(what) => {
                metrics::counter!("dialogforum_inbound_reports_total", "kind" => "ignored").increment(1);
                tracing::info!(what, "mail to a bounce address that is neither a bounce nor a complaint; ignored");
                return Ok(());
            }
        };
        let Some(person) = self.store.person_of_message(id).await? else {
            tracing::info!(?kind, "bounce for a message without a person, or whose person has a new address; ignored");
            return Ok(());
        };
        let mut tx = self.store.begin().await?;
        let recorded =
            match bounces::record_bounce(&mut tx, person, kind, detail, self.settings.soft_bounce_limit).await {
                Err(StoreError::NotFound) => {
                    tracing::info!(%person, ?kind, "bounce for a person who is gone; ignored");
                    return Ok(());
                }
                r => r?,
            };
        if let Some(fetched) = fetched {
            crate::store::imap::record(&mut tx, fetched, "bounce").await?;
        }
        tx.commit().await?;
        let label = match kind {
            BounceKind::Hard => "hard",
            BounceKind::Soft => "soft",
            BounceKind::Complaint => "complaint",
        };
        metrics::counter!("dialogforum_inbound_reports_total", "kind" => label).increment(1);
        tracing::info!(
            %person,
            kind = label,
            detail,
            soft_bounces = recorded.soft_bounces,
            suppressed = recorded.suppressed,
            cancelled = recorded.cancelled,
            "bounce recorded"
        );
        Ok(())
    }
}

/// An answer to the sender.
struct Reply {
    code: u16,
    bytes: Vec<u8>,
    close: bool,
}

impl Reply {
    fn new(code: u16, text: &str) -> Self {
        Self { code, bytes: format!("{code} {text}\r\n").into_bytes(), close: code == 421 }
    }

    /// `mailin`'s answer, if it has one to send.
    fn from_mailin(r: &Response) -> io::Result<Option<Self>> {
        Ok(match r.action {
            Action::NoReply => None,
            Action::Reply | Action::UpgradeTls => Some(Self { code: r.code, bytes: r.buffer()?, close: false }),
            Action::Close => Some(Self { code: r.code, bytes: r.buffer()?, close: true }),
        })
    }
}

/// A command line, as far as this module looks at it before `mailin` does.
enum Command<'a> {
    Mail { path: &'a str, size: Option<u64> },
    Rcpt { path: &'a str },
    Ehlo,
    Other,
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// The path of a MAIL or RCPT command (without brackets) and its parameters.
fn path_and_parameters(rest: &str) -> (&str, &str) {
    let rest = rest.trim_start();
    match rest.strip_prefix('<') {
        Some(inner) => inner.split_once('>').unwrap_or((inner, "")),
        None => rest.split_once(' ').unwrap_or((rest, "")),
    }
}

fn parse_command(line: &[u8]) -> Command<'_> {
    let Ok(text) = std::str::from_utf8(line) else { return Command::Other };
    let text = text.trim_end_matches(['\r', '\n']);
    if let Some(rest) = strip_prefix_ci(text, "MAIL FROM:") {
        let (path, parameters) = path_and_parameters(rest);
        let size = parameters.split_ascii_whitespace().find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.eq_ignore_ascii_case("SIZE").then(|| v.parse().ok()).flatten()
        });
        Command::Mail { path, size }
    } else if let Some(rest) = strip_prefix_ci(text, "RCPT TO:") {
        Command::Rcpt { path: path_and_parameters(rest).0 }
    } else if strip_prefix_ci(text, "EHLO ").is_some() {
        Command::Ehlo
    } else {
        Command::Other
    }
}

/// How reading one line ended.
enum Line {
    Complete,
    TooLong,
    Closed,
}

async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R, line: &mut Vec<u8>) -> io::Result<Line> {
    line.clear();
    let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX);
    let n = reader.take(limit).read_until(b'\n', line).await?;
    Ok(if line.ends_with(b"\n") {
        Line::Complete
    } else if n >= MAX_LINE {
        Line::TooLong
    } else {
        Line::Closed
    })
}

/// A piece of an overlong line of message data, which goes into the message
/// as it is: `mailin` would take it for a line of its own, and a dot that
/// happens to begin it for dot-stuffing. Only the first piece begins a line, so
/// only there a leading dot is stuffing. `None` for an ordinary line.
fn long_line_piece<'a>(line: &'a [u8], too_long: bool, in_long_line: &mut bool) -> Option<&'a [u8]> {
    let starts_line = !*in_long_line;
    let piece = too_long || *in_long_line;
    *in_long_line = too_long;
    piece.then(|| if starts_line { line.strip_prefix(b".").unwrap_or(line) } else { line })
}

async fn send(write: &mut OwnedWriteHalf, reply: &Reply) -> io::Result<()> {
    write.write_all(&reply.bytes).await
}

/// One SMTP connection, from greeting to goodbye.
async fn converse(
    inbox: Arc<Inbox>,
    stream: TcpStream,
    ip: IpAddr,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let envelope = Arc::new(Mutex::new(Envelope::default()));
    let collector = Collector { inbox: Arc::clone(&inbox), envelope: Arc::clone(&envelope) };
    let mut session = SessionBuilder::new(inbox.host.as_str()).build(ip, collector);
    let max = inbox.settings.max_message_bytes;
    // Past this a sender that keeps streaming is cut off instead of being read to the end.
    let cut_off = max.saturating_mul(2).saturating_add(1 << 20);
    let settings = &inbox.settings;
    let idle = settings.idle_timeout;
    let ends = Instant::now() + settings.max_session;

    write.write_all(&session.greeting().buffer()?).await?;
    let mut reverse_path = String::new();
    let mut in_data = false;
    let mut in_long_line = false;
    let mut data_bytes = 0usize;
    let mut errors = 0u32;
    let mut commands = 0u32;
    let mut line = Vec::with_capacity(256);
    loop {
        // Each line must arrive within the idle time, and all of them within the session time.
        let deadline = (Instant::now() + idle).min(ends);
        let read = tokio::select! {
            read = tokio::time::timeout_at(deadline, read_line(&mut reader, &mut line)) => read,
            () = async { let _ = shutdown.wait_for(|stop| *stop).await; }, if !in_data => {
                return send(&mut write, &Reply::new(421, "4.3.2 Service shutting down, try again later")).await;
            }
        };
        let Ok(read) = read else {
            let why = if Instant::now() >= ends {
                "4.4.2 Connection open for too long, closing connection"
            } else {
                "4.4.2 Idle for too long, closing connection"
            };
            return send(&mut write, &Reply::new(421, why)).await;
        };
        let too_long = match read? {
            Line::Closed => return Ok(()),
            Line::TooLong if !in_data => return send(&mut write, &Reply::new(500, "5.5.2 Line too long")).await,
            Line::TooLong => true,
            Line::Complete => false,
        };

        if in_data {
            data_bytes = data_bytes.saturating_add(line.len());
            if data_bytes > cut_off {
                return send(&mut write, &Reply::new(552, "5.3.4 Message too big for system")).await;
            }
            if let Some(piece) = long_line_piece(&line, too_long, &mut in_long_line) {
                lock(&envelope).collect(piece, max);
                continue;
            }
            let end = line == b".\r\n";
            let response = session.process(&line);
            if end {
                in_data = false;
                let complete = std::mem::take(&mut *lock(&envelope));
                let reply = inbox.deliver(ip, &reverse_path, complete).await;
                send(&mut write, &reply).await?;
            } else if let Some(reply) = Reply::from_mailin(&response)? {
                send(&mut write, &reply).await?;
            }
            continue;
        }

        commands += 1;
        if commands > settings.max_commands_per_session {
            tracing::info!(limit = settings.max_commands_per_session, "inbound SMTP connection sent too many commands");
            return send(&mut write, &Reply::new(421, "4.7.0 Too many commands, closing connection")).await;
        }
        if line.ends_with(b"\n") && !line.ends_with(b"\r\n") {
            // A bare LF ends a command line too; `mailin` wants CRLF.
            line.pop();
            line.extend_from_slice(b"\r\n");
        }
        if matches!(parse_command(&line), Command::Mail { .. })
            && !inbox.peers.count_message(ip, settings.messages_per_peer_per_hour)
        {
            tracing::warn!(
                peer = %peer_of(ip),
                limit = settings.messages_per_peer_per_hour,
                "too many inbound messages from one peer this hour"
            );
            return send(&mut write, &Reply::new(421, "4.7.0 Too many messages from your address, try again later"))
                .await;
        }
        let Some(reply) = answer(&mut session, &inbox, &line, &mut reverse_path)? else { continue };
        if reply.code == 354 {
            in_data = true;
            in_long_line = false;
            data_bytes = 0;
        }
        send(&mut write, &reply).await?;
        if reply.close {
            return Ok(());
        }
        if reply.code >= 500 {
            errors += 1;
            if errors >= MAX_ERRORS {
                return send(&mut write, &Reply::new(421, "4.7.0 Too many errors, closing connection")).await;
            }
        }
    }
}

/// The answer to one command line outside message data, if there is one.
/// MAIL and RCPT are tidied before `mailin` sees them (see [`PLACEHOLDER_SENDER`]);
/// EHLO also announces the size limit (RFC 1870).
fn answer(
    session: &mut Session<Collector>,
    inbox: &Inbox,
    line: &[u8],
    reverse_path: &mut String,
) -> io::Result<Option<Reply>> {
    let max = inbox.settings.max_message_bytes;
    Ok(Some(match parse_command(line) {
        Command::Mail { size: Some(size), .. } if size > u64::try_from(max).unwrap_or(u64::MAX) => {
            Reply::new(552, "5.3.4 Message size exceeds fixed maximum message size")
        }
        Command::Mail { path, .. } => {
            let path = path.to_owned();
            let response = session.process(format!("MAIL FROM:<{PLACEHOLDER_SENDER}>\r\n").as_bytes());
            if response.code == 250 {
                *reverse_path = path;
            }
            Reply::from_mailin(&response)?.unwrap_or_else(|| Reply::new(250, "2.1.0 OK"))
        }
        Command::Rcpt { path } => {
            let normalised = format!("RCPT TO:<{path}>\r\n");
            Reply::from_mailin(&session.process(normalised.as_bytes()))?.unwrap_or_else(|| Reply::new(250, "2.1.5 OK"))
        }
        Command::Ehlo => {
            let response = session.process(line);
            if response.code == 250 {
                Reply {
                    code: 250,
                    bytes: format!("250-{}\r\n250-8BITMIME\r\n250 SIZE {max}\r\n", inbox.host).into_bytes(),
                    close: false,
                }
            } else {
                Reply::from_mailin(&response)?.unwrap_or_else(|| Reply::new(250, "OK"))
            }
        }
        Command::Other => {
            let Some(reply) = Reply::from_mailin(&session.process(line))? else { return Ok(None) };
            reply
        }
    }))
}

/// What a message to a bounce address says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Report {
    /// A delivery status notification with a permanent failure; the status code (`5.1.1`).
    Hard { status: String },
    /// A delivery status notification with a temporary failure or a delay; the status code.
    Soft { status: String },
    /// An abuse report (RFC 5965); the feedback type.
    Complaint { feedback_type: String },
    /// Anything else — an auto-reply, an out-of-office, a success notice; what it looked like.
    Ignored(&'static str),
}

/// Reads a message sent to a bounce address: an RFC 3464 delivery status
/// notification, an RFC 5965 feedback report, or something else.
fn classify(raw: &[u8]) -> Report {
    let Some(message) = MessageParser::default().parse(raw) else {
        return Report::Ignored("not a readable message");
    };
    let Some(report) = message.parts.iter().find(|p| p.is_content_type("multipart", "report")) else {
        let auto = message.header_raw("Auto-Submitted").is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"))
            || message.header_raw("X-Autoreply").is_some()
            || message.header_raw("X-Autorespond").is_some();
        return Report::Ignored(if auto { "an automatic reply" } else { "not a delivery or feedback report" });
    };
    let report_type =
        report.content_type().and_then(|ct| ct.attribute("report-type")).unwrap_or_default().to_ascii_lowercase();
    let part = |subtypes: &[&str]| {
        report.sub_parts().unwrap_or_default().iter().filter_map(|&id| message.parts.get(id as usize)).find(|p| {
            p.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("message")
                    && ct.subtype().is_some_and(|s| subtypes.iter().any(|t| s.eq_ignore_ascii_case(t)))
            })
        })
    };
    match report_type.as_str() {
        "delivery-status" | "global-delivery-status" => part(&["delivery-status", "global-delivery-status"])
            .map_or(Report::Ignored("a delivery report without status"), delivery_status),
        "feedback-report" => complaint(part(&["feedback-report"])),
        _ => Report::Ignored("another kind of report"),
    }
}

/// Field groups of a `message/delivery-status` or `message/feedback-report`
/// body: header-like fields, lower-cased names, unfolded values, groups
/// separated by blank lines.
fn field_groups(text: &str) -> Vec<Vec<(String, String)>> {
    let mut groups = Vec::new();
    let mut group: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !group.is_empty() {
                groups.push(std::mem::take(&mut group));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = group.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            group.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    if !group.is_empty() {
        groups.push(group);
    }
    groups
}

fn field<'a>(group: &'a [(String, String)], name: &str) -> Option<&'a str> {
    group.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// A status code such as `5.1.1`, checked, so nothing else (an address in a
/// comment) can pass into the audit log.
fn status_code(value: &str) -> Option<String> {
    let code = value.split_whitespace().next()?;
    let mut parts = code.split('.');
    let class = parts.next()?;
    let subject = parts.next()?;
    let detail = parts.next()?;
    let number = |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
    (matches!(class, "2" | "4" | "5") && number(subject) && number(detail) && parts.next().is_none())
        .then(|| code.to_owned())
}

/// The most severe outcome among the per-recipient fields of a DSN: `failed`
/// with a 5.x.x status (or none) is hard; `delayed`, or any 4.x.x status, is soft.
fn delivery_status(part: &MessagePart<'_>) -> Report {
    let text = String::from_utf8_lossy(part.contents());
    let mut soft = None;
    for group in field_groups(&text) {
        let Some(action) = field(&group, "action") else { continue };
        let action = action.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
        let status = field(&group, "status").and_then(status_code);
        let class = status.as_deref().and_then(|s| s.split('.').next());
        match (action.as_str(), class) {
            ("failed", Some("5") | None) => {
                return Report::Hard { status: status.unwrap_or_else(|| "5.0.0".to_owned()) };
            }
            ("delayed", _) | (_, Some("4")) => {
                soft.get_or_insert_with(|| status.unwrap_or_else(|| "4.0.0".to_owned()));
            }
            _ => {}
        }
    }
    soft.map_or(Report::Ignored("a delivery report without a failure"), |status| Report::Soft { status })
}

/// An abuse report. A `not-spam` report (RFC 6650) is the opposite of a complaint.
fn complaint(part: Option<&MessagePart<'_>>) -> Report {
    let feedback_type = part
        .and_then(|p| {
            let text = String::from_utf8_lossy(p.contents());
            field_groups(&text).iter().find_map(|g| field(g, "feedback-type").map(str::to_ascii_lowercase))
        })
        .unwrap_or_else(|| "abuse".to_owned());
    let feedback_type = feedback_type.split_whitespace().next().unwrap_or("abuse");
    if feedback_type == "not-spam" {
        return Report::Ignored("a not-spam report");
    }
    let known = !feedback_type.is_empty()
        && feedback_type.len() <= 32
        && feedback_type.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    Report::Complaint { feedback_type: if known { feedback_type.to_owned() } else { "other".to_owned() } }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Envelope, Peers, Report, classify, long_line_piece, peer_of, status_code};

    fn dsn(fields: &str) -> Vec<u8> {
        format!(
            "From: MAILER-DAEMON@mx.example\r\nTo: x@forum.example\r\nSubject: Delivery Status Notification\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nIt did not work.\r\n\r\n\
             --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n{fields}\r\n\
             --b--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn delivery_reports_are_read_by_action_and_status() {
        let hard = dsn("Final-Recipient: rfc822; a@b.example\r\nAction: failed\r\nStatus: 5.1.1 (user unknown)\r\n");
        assert_eq!(classify(&hard), Report::Hard { status: "5.1.1".to_owned() });
        let gave_up = dsn("Final-Recipient: rfc822; a@b.example\r\nAction: failed\r\nStatus: 4.4.7\r\n");
        assert_eq!(classify(&gave_up), Report::Soft { status: "4.4.7".to_owned() });
        let delayed = dsn("Final-Recipient: rfc822; a@b.example\r\nAction: delayed\r\nStatus: 4.2.2\r\n");
        assert_eq!(classify(&delayed), Report::Soft { status: "4.2.2".to_owned() });
        let folded = dsn("Final-Recipient: rfc822;\r\n a@b.example\r\nACTION:Failed\r\nstatus:\r\n\t5.2.1\r\n");
        assert_eq!(classify(&folded), Report::Hard { status: "5.2.1".to_owned() });
        let delivered = dsn("Final-Recipient: rfc822; a@b.example\r\nAction: delivered\r\nStatus: 2.0.0\r\n");
        assert!(matches!(classify(&delivered), Report::Ignored(_)));
    }

    #[test]
    fn an_overlong_line_is_unstuffed_once_and_ordinary_lines_go_to_mailin() {
        let mut in_long_line = false;
        assert_eq!(long_line_piece(b"..abc", true, &mut in_long_line), Some(&b".abc"[..]));
        assert_eq!(long_line_piece(b".def", true, &mut in_long_line), Some(&b".def"[..]));
        assert_eq!(long_line_piece(b".ghi\r\n", false, &mut in_long_line), Some(&b".ghi\r\n"[..]));
        assert_eq!(long_line_piece(b"..next\r\n", false, &mut in_long_line), None);
        assert_eq!(long_line_piece(b".\r\n", false, &mut in_long_line), None);
    }

    #[test]
    fn peers_are_ipv4_addresses_and_ipv6_networks() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(peer_of(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(peer_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(peer_of(ip("2001:db8:1:2:bbbb::9")), peer_of(ip("2001:db8:1:2:aaaa::1")));
        assert_eq!(peer_of(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
    }

    #[test]
    fn a_peer_gets_its_connections_and_messages_and_no_more() {
        let peers = Arc::new(Peers::default());
        let ip = "192.0.2.7".parse().unwrap();
        let first = peers.admit(ip, 2).expect("one");
        let second = peers.admit(ip, 2).expect("two");
        assert!(peers.admit(ip, 2).is_none(), "the third is over the cap");
        assert!(peers.admit("192.0.2.8".parse().unwrap(), 2).is_some(), "another peer has its own");
        drop(first);
        let _third = peers.admit(ip, 2).expect("a place is given back when a connection ends");
        assert!(peers.count_message(ip, 2) && peers.count_message(ip, 2));
        assert!(!peers.count_message(ip, 2), "the hour's messages are spent");
        drop(second);
        assert!(!peers.count_message(ip, 2), "across connections");
    }

    #[test]
    fn message_data_never_takes_more_memory_than_the_limit() {
        let mut envelope = Envelope::default();
        let line = [b'A'; 77];
        for _ in 0..1000 {
            envelope.collect(&line, 50_000);
            assert!(envelope.data.capacity() <= 50_000, "{}", envelope.data.capacity());
        }
        assert!(envelope.too_big);
        assert_eq!(envelope.data.capacity(), 0, "nothing of a message over the limit is kept");
        let mut small = Envelope::default();
        small.collect(b"Subject: hej\r\n", 50_000);
        assert_eq!(small.data, b"Subject: hej\r\n");
    }

    #[test]
    fn status_codes_carry_nothing_else() {
        assert_eq!(status_code("5.1.1 <anna@firma.example> unknown").as_deref(), Some("5.1.1"));
        assert_eq!(status_code("<anna@firma.example>"), None);
        assert_eq!(status_code("5.1"), None);
        assert_eq!(status_code("5.1.1.1"), None);
        assert_eq!(status_code("3.1.1"), None);
    }

    #[test]
    fn other_mail_is_ignored() {
        let reply = b"From: a@b.example\r\nTo: x@forum.example\r\nSubject: Out of office\r\n\
                      Auto-Submitted: auto-replied\r\n\r\nBack on Monday.\r\n";
        assert_eq!(classify(reply), Report::Ignored("an automatic reply"));
        assert!(matches!(classify(b"\r\n"), Report::Ignored(_)));
    }
}
