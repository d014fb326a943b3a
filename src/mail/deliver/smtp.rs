//! Our own SMTP connections, built on lettre's protocol client.
//!
//! lettre 0.11's stock transport never sets `TCP_NODELAY` and writes the
//! message and the end-of-data marker separately, so each message waits for
//! the receiver's delayed ACK (about 40 ms). We open the TCP stream ourselves
//! with `set_nodelay(true)` and hand it to lettre; we also keep a connection
//! open after a recipient is refused (`RSET`) instead of dropping it.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
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
        if let Some(source) = &self.oauth2 {
            let token = source.token().await.map_err(|e| SendError::Transient(format!("connect: {e}")))?;
            let c = Credentials::new(self.user.clone(), token);
            conn.auth(&[Mechanism::Xoauth2], &c).await.map_err(|e| transient(&e))?;
        } else if let Some(c) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], c).await.map_err(|e| transient(&e))?;
        }
        Ok(Connection { inner: conn })
    }
}

/// An open SMTP session.
pub struct Connection {
    inner: AsyncSmtpConnection,
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
        self.inner.command(Mail::new(envelope.from().cloned(), options)).await?;
        for to in envelope.to() {
            self.inner.command(Rcpt::new(to.clone(), vec![])).await?;
        }
        self.inner.command(Data).await?;
        self.inner.message(raw).await?;
        Ok(())
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
    use super::is_throttling;

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
