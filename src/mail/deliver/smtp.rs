//! Our own SMTP connections, built on lettre's protocol client, and a trial
//! connection (connect, TLS, login, no message) for `doctor`.
//!
//! lettre 0.11's stock transport never sets `TCP_NODELAY` and writes the
//! message and the end-of-data marker separately, so each message waits for
//! the receiver's delayed ACK (about 40 ms). We open the TCP stream ourselves
//! with `set_nodelay(true)` and hand it to lettre; we also keep a connection
//! open after a recipient is refused (`RSET`) instead of dropping it.
//!
//! lettre waits for each reply before the next command. When the server
//! announces `PIPELINING` (RFC 2920), `MAIL`, `RCPT` and `DATA` go out as one
//! group and their replies are read afterwards, in order: two round trips a
//! message instead of four.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;

use crate::mail::oauth2::TokenSource;

/// Where and how to reach the SMTP server.
#[derive(Clone)]
pub struct SmtpTarget {
    host: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<Credentials>,
    /// The user name in the URL, for XOAUTH2.
    user: String,
    /// Sign in with XOAUTH2 as `user`, with a token from this source.
    oauth2: Option<TokenSource>,
    timeout: Duration,
    hello: ClientId,
}

impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("auth", &self.credentials.is_some())
            .field("oauth2", &self.oauth2.is_some())
            .finish_non_exhaustive()
    }
}

/// How TLS is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// STARTTLS when the server offers it, plain otherwise.
    Opportunistic,
    /// STARTTLS or give up.
    Required,
    /// TLS from the first byte (`smtps://`, port 465).
    Wrapper,
}

/// What went wrong with one message.
#[derive(Debug)]
pub enum SendError {
    /// The server refused permanently (5xx): do not try again.
    Permanent(String),
    /// A 4xx reply, a broken connection, a timeout: try again later.
    Transient(String),
    /// The server is busy or the sender is over one of its limits (see
    /// [`is_throttling`]): every connection should pause, then try again.
    Throttled(String),
}

/// Whether a reply says "slow down" rather than "this message failed": 421
/// (service not available, closing), 432 (Exchange's concurrent-connection
/// limit, 4.3.2), 452 (insufficient resources, too many recipients), and
/// texts of throttling or of Exchange Online's daily submission quota, which
/// it answers as 554 5.2.0 `SubmissionQuotaExceededException`.
#[must_use]
pub fn is_throttling(code: Option<u16>, text: &str) -> bool {
    if matches!(code, Some(421 | 432 | 452)) {
        return true;
    }
    let text = text.to_ascii_lowercase();
    [
        "error (421)",
        "error (432)",
        "error (452)",
        "throttl",
        "submissionquotaexceeded",
        "rate limit",
        "too many connections",
        "4.4.2 message submission rate",
    ]
    .iter()
    .any(|t| text.contains(t))
}

impl SmtpTarget {
    /// Reads `smtp://[user:pass@]host[:port][?tls=required]` or `smtps://…`.
    ///
    /// # Errors
    /// A URL that is not of that form.
    pub fn from_url(url: &str) -> Result<Self, String> {
        let u = url::Url::parse(url).map_err(|e| format!("mail.smtp_url: {e}"))?;
        let host = u.host_str().ok_or("mail.smtp_url: no host")?.to_owned();
        let wrapper = match u.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => return Err(format!("mail.smtp_url: unknown scheme {other}")),
        };
        let tls = if wrapper {
            TlsMode::Wrapper
        } else if u.query_pairs().any(|(k, v)| k == "tls" && v == "required") {
            TlsMode::Required
        } else {
            TlsMode::Opportunistic
        };
        let port = u.port().unwrap_or(if wrapper { 465 } else { 25 });
        let credentials = (!u.username().is_empty()).then(|| {
            let decode = |s: &str| percent_decode(s);
            Credentials::new(decode(u.username()), decode(u.password().unwrap_or("")))
        });
        Ok(Self {
            host,
            port,
            tls,
            credentials,
            user: percent_decode(u.username()),
            oauth2: None,
            timeout: Duration::from_mins(1),
            hello: ClientId::default(),
        })
    }

    /// Signs in with XOAUTH2 as the URL's user, with tokens from `source`,
    /// instead of with the URL's password.
    #[must_use]
    pub fn with_oauth2(mut self, source: Option<TokenSource>) -> Self {
        if source.is_some() {
            self.credentials = None;
            self.oauth2 = source;
        }
        self
    }

    /// Opens, greets, secures and authenticates a connection.
    ///
    /// # Errors
    /// Always transient: the server may be back later.
    pub async fn connect(&self) -> Result<Connection, SendError> {
        let transient = |e: &dyn std::fmt::Display| {
            let text = format!("connect: {e}");
            if is_throttling(None, &text) { SendError::Throttled(text) } else { SendError::Transient(text) }
        };
        let tls = || TlsParameters::new(self.host.clone()).map_err(|e| transient(&e));
        let mut conn = if self.tls == TlsMode::Wrapper {
            AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(self.timeout),
                &self.hello,
                Some(tls()?),
                None,
            )
            .await
            .map_err(|e| transient(&e))?
        } else {
            let stream = tokio::time::timeout(self.timeout, TcpStream::connect((self.host.as_str(), self.port)))
                .await
                .map_err(|_| SendError::Transient("connect: timed out".into()))?
                .map_err(|e| transient(&e))?;
            stream.set_nodelay(true).map_err(|e| transient(&e))?;
            let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                .await
                .map_err(|e| transient(&e))?;
            if conn.can_starttls() {
                conn.starttls(tls()?, &self.hello).await.map_err(|e| transient(&e))?;
            } else if self.tls == TlsMode::Required {
                return Err(SendError::Transient("the server does not offer STARTTLS".into()));
            }
            conn
        };
        // lettre keeps no record of PIPELINING, so ask again (before the login:
        // a second EHLO is harmless then, RFC 5321 section 4.1.4).
        let ehlo = conn.command(Ehlo::new(self.hello.clone())).await.map_err(|e| transient(&e))?;
        let pipelining = announces(&ehlo, "PIPELINING");
        match self.login().await {
            Login::None => {}
            Login::NoToken(why) => return Err(SendError::Transient(format!("connect: {why}"))),
            Login::With(mechanisms, c, _) => {
                conn.auth(mechanisms, &c).await.map_err(|e| transient(&e))?;
            }
        }
        Ok(Connection { inner: conn, pipelining })
    }
}

/// How one step of a trial connection went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// It worked; the text says how.
    Done(String),
    /// It worked, with a reservation the text names.
    Doubtful(String),
    /// It does not apply, or an earlier step failed; the text says which.
    Skipped(String),
    /// It failed; the text says how, in the server's words where it gave any.
    Failed(String),
}

/// A trial connection: connect and greet, secure, log in, then `QUIT`.
/// Nothing is sent.
#[derive(Debug, Clone)]
pub struct Probe {
    pub connect: Step,
    pub tls: Step,
    pub auth: Step,
}

impl SmtpTarget {
    /// `host:port`, for messages.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Tries each step of a connection as [`SmtpTarget::connect`] takes them,
    /// each within `limit`, and says how far it got.
    pub async fn probe(&self, limit: Duration) -> Probe {
        let mut probe = Probe {
            connect: Step::Failed(String::new()),
            tls: Step::Skipped("not tried: no connection".into()),
            auth: Step::Skipped("not tried: no connection".into()),
        };
        let tls = match TlsParameters::new(self.host.clone()) {
            Ok(t) => t,
            Err(e) => {
                probe.connect = Step::Failed(format!("TLS cannot be set up for {}: {e}", self.host));
                return probe;
            }
        };
        let opened = if self.tls == TlsMode::Wrapper {
            self.probe_wrapped(limit, tls, &mut probe).await
        } else {
            self.probe_plain(limit, tls, &mut probe).await
        };
        let Some(mut conn) = opened else { return probe };
        probe.auth = match self.login().await {
            Login::None => Step::Skipped(
                "mail.smtp_url has no user name: the server must relay for this host without a login".into(),
            ),
            Login::NoToken(why) => Step::Failed(format!("no OAuth2 token to log in with: {why}")),
            Login::With(mechanisms, c, what) => match tokio::time::timeout(limit, conn.auth(mechanisms, &c)).await {
                Ok(Ok(_)) => Step::Done(format!("the server accepted {what}")),
                Ok(Err(e)) if e.is_permanent() => Step::Failed(format!("the server refused {what} ({e})")),
                Ok(Err(e)) if e.is_client() => Step::Failed(format!(
                    "the server offers no login this service can use ({}), or offers it only over TLS",
                    mechanisms.iter().map(ToString::to_string).collect::<Vec<_>>().join(" or ")
                )),
                Ok(Err(e)) => Step::Failed(format!("the login did not go through: {e}")),
                Err(_) => Step::Failed(format!("no answer to the login within {} s", limit.as_secs())),
            },
        };
        let _ = tokio::time::timeout(limit, conn.quit()).await;
        probe
    }

    /// Connects with TLS from the first byte; fills in the connect and TLS steps.
    async fn probe_wrapped(
        &self,
        limit: Duration,
        tls: TlsParameters,
        probe: &mut Probe,
    ) -> Option<AsyncSmtpConnection> {
        let endpoint = self.endpoint();
        let opened = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(limit),
            &self.hello,
            Some(tls),
            None,
        );
        match tokio::time::timeout(limit, opened).await {
            Ok(Ok(c)) => {
                probe.connect = Step::Done(format!("{endpoint} answered the greeting"));
                probe.tls = Step::Done("TLS from the first byte (smtps://), certificate valid".into());
                Some(c)
            }
            Ok(Err(e)) if e.is_tls() => {
                probe.connect = Step::Done(format!("{endpoint} accepted the connection"));
                probe.tls = Step::Failed(format!("the TLS handshake failed: {e}"));
                None
            }
            Ok(Err(e)) => {
                probe.connect = Step::Failed(format!("cannot connect to {endpoint}: {e}"));
                None
            }
            Err(_) => {
                probe.connect = Step::Failed(format!("no answer from {endpoint} within {} s", limit.as_secs()));
                None
            }
        }
    }

    /// Connects in the clear and asks for STARTTLS when the server offers it
    /// (or the URL insists); fills in the connect and TLS steps.
    async fn probe_plain(&self, limit: Duration, tls: TlsParameters, probe: &mut Probe) -> Option<AsyncSmtpConnection> {
        let endpoint = self.endpoint();
        let late = || format!("no answer from {endpoint} within {} s", limit.as_secs());
        let opened = async {
            let stream = TcpStream::connect((self.host.as_str(), self.port)).await?;
            stream.set_nodelay(true)?;
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                .await
                .map_err(std::io::Error::other)
        };
        let mut conn = match tokio::time::timeout(limit, opened).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                probe.connect = Step::Failed(format!("cannot connect to {endpoint}: {e}"));
                return None;
            }
            Err(_) => {
                probe.connect = Step::Failed(late());
                return None;
            }
        };
        probe.connect = Step::Done(format!("{endpoint} answered the greeting and EHLO"));
        if conn.can_starttls() {
            match tokio::time::timeout(limit, conn.starttls(tls, &self.hello)).await {
                Ok(Ok(())) => probe.tls = Step::Done("STARTTLS, certificate valid".into()),
                Ok(Err(e)) => {
                    probe.tls = Step::Failed(format!("STARTTLS failed: {e}"));
                    probe.auth = Step::Skipped("not tried: no secure connection".into());
                    return None;
                }
                Err(_) => {
                    probe.tls = Step::Failed(late());
                    return None;
                }
            }
        } else if self.tls == TlsMode::Required {
            probe.tls = Step::Failed("the server does not offer STARTTLS, and mail.smtp_url asks for it".into());
            probe.auth = Step::Skipped("not tried: no secure connection".into());
            let _ = conn.quit().await;
            return None;
        } else {
            probe.tls = Step::Doubtful("the server does not offer STARTTLS: mail travels unencrypted".into());
        }
        Some(conn)
    }
}

/// How a connection logs in.
enum Login {
    /// It does not: the server relays for this host.
    None,
    /// With XOAUTH2, but the token source gave no token; the text says why.
    NoToken(String),
    /// With these mechanisms and credentials, named for messages.
    With(&'static [Mechanism], Credentials, &'static str),
}

impl SmtpTarget {
    /// The login the settings ask for: XOAUTH2 with a fresh token when a
    /// token source is set, else the URL's user name and password.
    async fn login(&self) -> Login {
        if let Some(source) = &self.oauth2 {
            return match source.token().await {
                Ok(token) => {
                    Login::With(&[Mechanism::Xoauth2], Credentials::new(self.user.clone(), token), "the OAuth2 token")
                }
                Err(why) => Login::NoToken(why),
            };
        }
        match &self.credentials {
            Some(c) => Login::With(&[Mechanism::Plain, Mechanism::Login], c.clone(), "the user name and password"),
            None => Login::None,
        }
    }
}

/// Whether an EHLO reply names `keyword` on one of its lines (RFC 5321 section 4.1.1.1).
fn announces(ehlo: &lettre::transport::smtp::response::Response, keyword: &str) -> bool {
    ehlo.message().any(|line| line.split_ascii_whitespace().next().is_some_and(|w| w.eq_ignore_ascii_case(keyword)))
}

/// An open SMTP session.
pub struct Connection {
    inner: AsyncSmtpConnection,
    /// The server announced PIPELINING (RFC 2920).
    pipelining: bool,
}

impl Connection {
    /// Sends one message. After a refusal the session is reset and stays usable;
    /// after anything else the connection should be dropped.
    ///
    /// # Errors
    /// The server's answer, classified.
    pub async fn send(&mut self, envelope: &Envelope, raw: &[u8]) -> Result<(), SendError> {
        let result = self.transaction(envelope, raw).await;
        // A refusal (4xx/5xx) leaves the session usable once reset; if the
        // reset fails too, the connection is dropped.
        if let Err(e) = &result
            && (e.is_transient() || e.is_permanent())
            && self.is_usable()
            && self.inner.command(Rset).await.is_err()
        {
            self.inner.abort().await;
        }
        result.map_err(classify)
    }

    async fn transaction(&mut self, envelope: &Envelope, raw: &[u8]) -> Result<(), lettre::transport::smtp::Error> {
        use lettre::transport::smtp::extension::{Extension, MailBodyParameter, MailParameter};
        let mut options = Vec::new();
        if !raw.is_ascii() && self.inner.server_info().supports_feature(Extension::EightBitMime) {
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let mail = Mail::new(envelope.from().cloned(), options);
        if self.pipelining {
            self.pipelined_envelope(mail, envelope).await?;
        } else {
            self.inner.command(mail).await?;
            for to in envelope.to() {
                self.inner.command(Rcpt::new(to.clone(), vec![])).await?;
            }
            self.inner.command(Data).await?;
        }
        self.inner.message(raw).await?;
        Ok(())
    }

    /// `MAIL`, each `RCPT` and `DATA` in one write, then their replies in
    /// order. Every reply is read, so the session stays in step for the
    /// `RSET` after a refusal; the first refusal is the answer. Should a
    /// server still answer `DATA` with `354` after a refusal, an empty
    /// message ends the data phase (RFC 2920 section 3.1) and is refused for
    /// want of recipients; our envelopes have one.
    async fn pipelined_envelope(
        &mut self,
        mail: Mail,
        envelope: &Envelope,
    ) -> Result<(), lettre::transport::smtp::Error> {
        use std::fmt::Write as _;
        let mut group = mail.to_string();
        for to in envelope.to() {
            let _ = write!(group, "{}", Rcpt::new(to.clone(), vec![]));
        }
        let _ = write!(group, "{Data}");
        // MAIL's reply, each RCPT's, DATA's.
        let replies = envelope.to().len() + 2;
        let mut refusal = None;
        let mut data_open = false;
        for i in 0..replies {
            // The first call writes the whole group.
            let reply =
                if i == 0 { self.inner.command(group.as_str()).await } else { self.inner.read_response().await };
            match reply {
                Ok(_) => data_open = i + 1 == replies,
                Err(e) if e.is_transient() || e.is_permanent() => {
                    refusal.get_or_insert(e);
                }
                // No reply to read: the session is out of step.
                Err(e) => {
                    self.inner.abort().await;
                    return Err(e);
                }
            }
        }
        match refusal {
            None => Ok(()),
            Some(e) => {
                if data_open {
                    let _ = self.inner.message(b"").await;
                }
                Err(e)
            }
        }
    }

    /// Whether the connection can carry another message.
    #[must_use]
    pub fn is_usable(&self) -> bool {
        !self.inner.has_broken()
    }

    /// Says goodbye politely.
    pub async fn quit(mut self) {
        let _ = self.inner.quit().await;
    }
}

fn classify(e: lettre::transport::smtp::Error) -> SendError {
    let text = e.to_string();
    if is_throttling(e.status().map(u16::from), &text) {
        SendError::Throttled(text)
    } else if e.is_permanent() {
        SendError::Permanent(text)
    } else {
        SendError::Transient(text)
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::{SendError, SmtpTarget, is_throttling};
    use lettre::address::Envelope;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// A server that announces PIPELINING, refuses `refused@…` and records
    /// each command line until QUIT.
    async fn pipelining_server(listener: tokio::net::TcpListener) -> Vec<String> {
        let (stream, _) = listener.accept().await.unwrap();
        let (r, mut w) = stream.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"220 sink\r\n").await.unwrap();
        let (mut seen, mut in_data, mut refused) = (Vec::new(), false, false);
        while let Some(line) = lines.next_line().await.unwrap() {
            if in_data {
                if line == "." {
                    in_data = false;
                    seen.push("<message>".to_owned());
                    w.write_all(b"250 queued\r\n").await.unwrap();
                }
                continue;
            }
            let verb = line.split([' ', ':']).next().unwrap_or_default().to_ascii_uppercase();
            seen.push(verb.clone());
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
                "MAIL" | "RSET" => {
                    refused = false;
                    b"250 ok\r\n"
                }
                "RCPT" if line.contains("refused@") => {
                    refused = true;
                    b"550 5.1.1 no such user\r\n"
                }
                "DATA" if refused => b"554 5.5.1 no valid recipients\r\n",
                "DATA" => {
                    in_data = true;
                    b"354 go ahead\r\n"
                }
                "QUIT" => {
                    w.write_all(b"221 bye\r\n").await.unwrap();
                    break;
                }
                _ => b"250 ok\r\n",
            };
            w.write_all(reply).await.unwrap();
        }
        seen
    }

    #[tokio::test]
    async fn with_pipelining_a_refused_recipient_leaves_the_session_in_step() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(pipelining_server(listener));
        let target = SmtpTarget::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap();
        let mut conn = target.connect().await.unwrap();
        assert!(conn.pipelining);
        let envelope = |to: &str| Envelope::new(Some("b@forum.example".parse().unwrap()), vec![to.parse().unwrap()]);
        let raw = b"Subject: x\r\n\r\nbody\r\n";
        let refused = conn.send(&envelope("refused@firma.example").unwrap(), raw).await;
        assert!(matches!(refused, Err(SendError::Permanent(ref e)) if e.contains("no such user")), "{refused:?}");
        assert!(conn.is_usable());
        conn.send(&envelope("ok@firma.example").unwrap(), raw).await.unwrap();
        conn.quit().await;
        let seen = server.await.unwrap();
        assert_eq!(
            seen[seen.len() - 9..],
            ["MAIL", "RCPT", "DATA", "RSET", "MAIL", "RCPT", "DATA", "<message>", "QUIT"],
            "{seen:?}"
        );
    }

    #[test]
    fn busy_and_over_limit_answers_are_throttling_and_refusals_are_not() {
        for code in [421, 432, 452] {
            assert!(is_throttling(Some(code), ""), "{code}");
        }
        assert!(is_throttling(
            Some(554),
            "permanent error (554): 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException"
        ));
        assert!(is_throttling(Some(451), "4.7.500 Server busy, throttled, try again later"));
        assert!(is_throttling(None, "connect: transient error (421): 4.7.0 Too many connections"));
        assert!(is_throttling(None, "connect: transient error (432): 4.3.2 Concurrent connections limit exceeded"));
        for (code, text) in
            [(450, "4.2.1 mailbox busy"), (550, "5.1.1 user unknown"), (552, "5.3.4 message size exceeded")]
        {
            assert!(!is_throttling(Some(code), text), "{code} {text}");
        }
    }
}
