//! A real SMTP server on a local port for tests, built on the `mailin`
//! protocol state machine. It records every command line and message, can
//! answer chosen recipients with 4xx or 5xx, can be stopped and started again
//! on the same port, counts concurrent connections, and can ask for a login
//! (AUTH PLAIN or LOGIN, without TLS) with one user name and password. Also a raw SMTP
//! client, for talking to the app's own inbound listener.

use mail_parser::MimeHeaders as _;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// A message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
    pub at: Instant,
}

impl Received {
    /// Whether the message went to `address`.
    pub fn is_to(&self, address: &str) -> bool {
        self.to.iter().any(|t| t == address)
    }

    /// The message as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The text part, decoded by a real MIME parser.
    pub fn plain(&self) -> String {
        let parsed = mail_parser::MessageParser::default().parse(&self.data).expect("MIME");
        parsed.body_text(0).expect("a text part").into_owned()
    }

    /// The decoded subject.
    pub fn subject(&self) -> String {
        let parsed = mail_parser::MessageParser::default().parse(&self.data).expect("MIME");
        parsed.subject().unwrap_or_default().to_owned()
    }

    /// The calendar entry attached to the message (`invitation.ics`), decoded.
    pub fn calendar(&self) -> String {
        let parsed = mail_parser::MessageParser::default().parse(&self.data).expect("MIME");
        let a = parsed.attachments().find(|a| a.attachment_name() == Some("invitation.ics")).expect("invitation.ics");
        String::from_utf8_lossy(a.contents()).into_owned()
    }

    /// The first link in the text part whose path starts with `prefix`, as written.
    pub fn link(&self, prefix: &str) -> String {
        let text = self.plain();
        let at = text.find(prefix).unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
        let start = text[..at].rfind("http").unwrap();
        text[start..].split_whitespace().next().unwrap().to_owned()
    }

    /// The path (and query) of the first link in the text part whose path starts with `prefix`.
    pub fn link_path(&self, prefix: &str) -> String {
        let text = self.plain();
        let at = text.find(prefix).unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
        text[at..].split_whitespace().next().unwrap().to_owned()
    }

    /// The value of the first header named `name` (unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let text = self.text();
        let head = text.split("\r\n\r\n").next().unwrap_or("");
        let mut unfolded: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = unfolded.last_mut() {
                    last.push_str(line);
                }
            } else {
                unfolded.push(line.to_owned());
            }
        }
        unfolded.into_iter().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

#[derive(Default)]
struct State {
    messages: Vec<Received>,
    commands: Vec<String>,
    /// Recipient → reply code for RCPT TO (e.g. 450, 550).
    rcpt_rules: HashMap<String, u16>,
    open: usize,
    max_open: usize,
    connections: usize,
    /// How long the server waits before it accepts a message (a slow server).
    accept_delay: std::time::Duration,
    /// How many of the next recipients to answer 432, the way Exchange
    /// Online answers a sender over its limits.
    throttle_next: usize,
    /// When each of those answers was given.
    throttled_at: Vec<Instant>,
    /// The user name and password a client must log in with, if any.
    login: Option<(String, String)>,
}

/// The server; clone to share.
#[derive(Clone)]
pub struct SmtpServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl SmtpServer {
    /// Starts on a free local port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP test server");
        let addr = listener.local_addr().expect("address");
        let server = Self { addr, state: Arc::default(), task: Arc::default() };
        server.serve(listener);
        server
    }

    /// Starts on a free local port, offering AUTH PLAIN and LOGIN and taking
    /// only `user` with `password`.
    pub async fn start_with_login(user: &str, password: &str) -> Self {
        let server = Self::start().await;
        server.state.lock().unwrap().login = Some((user.to_owned(), password.to_owned()));
        server
    }

    /// `smtp://127.0.0.1:PORT`, for `mail.smtp_url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    fn serve(&self, listener: TcpListener) {
        let state = Arc::clone(&self.state);
        let handle = tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((stream, peer)) = listener.accept().await {
                sessions.spawn(session(stream, peer.ip(), Arc::clone(&state)));
            }
        });
        *self.task.lock().unwrap() = Some(handle);
    }

    /// Stops listening and drops every open connection (the server "goes down").
    pub fn stop(&self) {
        if let Some(t) = self.task.lock().unwrap().take() {
            t.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&self) {
        let listener = TcpListener::bind(self.addr).await.expect("rebind SMTP test server");
        self.serve(listener);
    }

    /// Answers RCPT TO for `recipient` with `code` from now on.
    pub fn reply_to_rcpt(&self, recipient: &str, code: u16) {
        self.state.lock().unwrap().rcpt_rules.insert(recipient.to_lowercase(), code);
    }

    /// Answers the next `n` recipients, whoever they are, with Exchange
    /// Online's "432 4.3.2 … limit exceeded".
    pub fn throttle_next(&self, n: usize) {
        self.state.lock().unwrap().throttle_next = n;
    }

    /// When the server answered 432, in order.
    pub fn throttled_at(&self) -> Vec<Instant> {
        self.state.lock().unwrap().throttled_at.clone()
    }

    /// Waits `delay` after each message's data before answering that it was
    /// accepted (the message counts as received as soon as its data is in).
    pub fn accept_slowly(&self, delay: std::time::Duration) {
        self.state.lock().unwrap().accept_delay = delay;
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Received> {
        self.state.lock().unwrap().messages.clone()
    }

    /// Every command line received so far (outside message data).
    pub fn commands(&self) -> Vec<String> {
        self.state.lock().unwrap().commands.clone()
    }

    /// The most connections that were open at the same time.
    pub fn max_concurrent_connections(&self) -> usize {
        self.state.lock().unwrap().max_open
    }

    /// Waits up to 20 seconds for a message that `matches`; panics naming `what` if none comes.
    pub async fn wait_for_mail(&self, what: &str, matches: impl Fn(&Received) -> bool) -> Received {
        let deadline = Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Some(m) = self.messages().into_iter().find(|m| matches(m)) {
                return m;
            }
            assert!(Instant::now() < deadline, "no {what} arrived within 20 s");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Waits for the message to `to` whose subject starts with `subject`.
    pub async fn wait_for_mail_to(&self, to: &str, subject: &str) -> Received {
        self.wait_for_mail(&format!("\"{subject}\" to {to}"), |m| m.is_to(to) && m.subject().starts_with(subject)).await
    }

    /// Waits until at least `n` messages arrived, up to `secs` seconds.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        let deadline = Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let msgs = self.messages();
            if msgs.len() >= n || Instant::now() > deadline {
                return msgs;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.stop();
        }
    }
}

/// A raw SMTP conversation.
/// A raw SMTP conversation with a server under test (the app's inbound listener).
pub struct SmtpClient {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl SmtpClient {
    /// Connects from 127.0.0.1 and reads the greeting.
    pub async fn open(addr: SocketAddr) -> (Self, u16) {
        Self::open_stream(TcpStream::connect(addr).await.expect("connect")).await
    }

    /// Connects from another loopback address, a peer of its own (Linux answers all of 127/8).
    pub async fn open_from(local: &str, addr: SocketAddr) -> (Self, u16) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(format!("{local}:0").parse().unwrap()).expect("bind a second loopback address");
        Self::open_stream(socket.connect(addr).await.expect("connect")).await
    }

    async fn open_stream(stream: TcpStream) -> (Self, u16) {
        let (read, writer) = stream.into_split();
        let mut smtp = Self { reader: BufReader::new(read), writer };
        let (code, _) = smtp.reply().await;
        (smtp, code)
    }

    /// Connects and expects the greeting.
    pub async fn connect(addr: SocketAddr) -> Self {
        let (smtp, code) = Self::open(addr).await;
        assert_eq!(code, 220, "a greeting from {addr}");
        smtp
    }

    /// The next reply: its code and text; code 0 when the connection closed.
    pub async fn reply(&mut self) -> (u16, String) {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(std::time::Duration::from_secs(20), self.reader.read_line(&mut line))
                .await
                .expect("a reply within 20 s")
                .unwrap_or(0);
            if n == 0 {
                return (0, text);
            }
            text.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return (line[..3].parse().expect("a reply code"), text);
            }
        }
    }

    /// Whether the server has closed the connection (reads nothing more).
    pub async fn closed(&mut self) -> bool {
        let mut rest = String::new();
        matches!(
            tokio::time::timeout(std::time::Duration::from_secs(20), self.reader.read_line(&mut rest)).await,
            Ok(Ok(0) | Err(_))
        )
    }

    /// Sends one command line; returns the reply.
    pub async fn command(&mut self, line: &str) -> (u16, String) {
        self.writer.write_all(format!("{line}\r\n").as_bytes()).await.unwrap();
        self.reply().await
    }

    /// DATA, the message (dot-stuffed), the final dot; returns the final reply.
    pub async fn data(&mut self, message: &str) -> (u16, String) {
        let (code, text) = self.command("DATA").await;
        assert_eq!(code, 354, "{text}");
        let mut wire = String::with_capacity(message.len() + 64);
        for line in message.lines() {
            if line.starts_with('.') {
                wire.push('.');
            }
            wire.push_str(line);
            wire.push_str("\r\n");
        }
        wire.push_str(".\r\n");
        self.writer.write_all(wire.as_bytes()).await.unwrap();
        self.reply().await
    }

    /// A whole transaction; returns the answer to the message.
    pub async fn send(&mut self, from: &str, to: &str, message: &str) -> (u16, String) {
        let (code, text) = self.command(&format!("MAIL FROM:<{from}>")).await;
        assert_eq!(code, 250, "MAIL: {text}");
        let (code, text) = self.command(&format!("RCPT TO:<{to}>")).await;
        assert_eq!(code, 250, "RCPT: {text}");
        self.data(message).await
    }
}

struct Recorder {
    state: Arc<Mutex<State>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Recorder {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        from.clone_into(&mut self.from);
        self.to.clear();
        self.data.clear();
        mailin::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        {
            let mut state = self.state.lock().unwrap();
            if state.throttle_next > 0 {
                state.throttle_next -= 1;
                state.throttled_at.push(Instant::now());
                return Response::custom(432, "4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded".to_owned());
            }
        }
        let code = self.state.lock().unwrap().rcpt_rules.get(&to.to_lowercase()).copied();
        match code {
            Some(c) if c >= 500 => Response::custom(c, "5.1.1 No such user here".to_owned()),
            Some(c) if c >= 400 => Response::custom(c, "4.2.1 Mailbox busy, try again later".to_owned()),
            _ => {
                self.to.push(to.to_owned());
                mailin::response::OK
            }
        }
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn auth_plain(&mut self, _authorization_id: &str, authentication_id: &str, password: &str) -> Response {
        self.auth_login(authentication_id, password)
    }

    fn auth_login(&mut self, username: &str, password: &str) -> Response {
        let state = self.state.lock().unwrap();
        match &state.login {
            Some((u, p)) if u == username && p == password => mailin::response::AUTH_OK,
            _ => mailin::response::INVALID_CREDENTIALS,
        }
    }

    fn data_end(&mut self) -> Response {
        let message = Received {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            data: std::mem::take(&mut self.data),
            at: Instant::now(),
        };
        self.state.lock().unwrap().messages.push(message);
        mailin::response::OK
    }
}

async fn session(stream: tokio::net::TcpStream, ip: IpAddr, state: Arc<Mutex<State>>) {
    {
        let mut s = state.lock().unwrap();
        s.open += 1;
        s.connections += 1;
        s.max_open = s.max_open.max(s.open);
    }
    let _ = converse(stream, ip, Arc::clone(&state)).await;
    state.lock().unwrap().open -= 1;
}

async fn converse(stream: tokio::net::TcpStream, ip: IpAddr, state: Arc<Mutex<State>>) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut builder = SessionBuilder::new("smtp.test.example");
    if state.lock().unwrap().login.is_some() {
        builder.enable_auth(AuthMechanism::Plain).enable_auth(AuthMechanism::Login).insecure_enable_plaintext_auth();
    }
    let mut session = builder
        .build(ip, Recorder { state: Arc::clone(&state), from: String::new(), to: Vec::new(), data: Vec::new() });
    write.write_all(&session.greeting().buffer()?).await?;
    let mut in_data = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        if !in_data {
            state.lock().unwrap().commands.push(String::from_utf8_lossy(&line).into_owned());
        }
        let response = session.process(&line);
        if !in_data && line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"DATA") && response.code == 354 {
            in_data = true;
        } else if in_data && line == b".\r\n" {
            in_data = false;
            let delay = state.lock().unwrap().accept_delay;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        match response.action {
            Action::Reply => write.write_all(&response.buffer()?).await?,
            Action::Close => {
                write.write_all(&response.buffer()?).await?;
                return Ok(());
            }
            // No reply while message data arrives; TLS is not offered.
            Action::NoReply | Action::UpgradeTls => {}
        }
    }
}
