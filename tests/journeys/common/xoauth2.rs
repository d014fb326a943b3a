//! A mail server that takes only SASL XOAUTH2, as Microsoft 365 does once
//! basic authentication is off: it records the user and token of every
//! sign-in, accepts the token it is told is current, and refuses mail from a
//! session that has not signed in. Written out by hand, since the `mailin`
//! state machine knows only PLAIN and LOGIN.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Default)]
struct State {
    current: String,
    sign_ins: Vec<(String, String)>,
    messages: Vec<String>,
}

/// The server; clone to share.
#[derive(Clone)]
pub struct OAuthSmtp {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl OAuthSmtp {
    /// Starts on a free local port, taking `token` as the current one.
    pub async fn start(token: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let state = Arc::new(Mutex::new(State { current: token.to_owned(), ..State::default() }));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, Arc::clone(&shared)));
            }
        });
        Self { addr, state }
    }

    /// Takes `token` as the current one from now on.
    pub fn rotate(&self, token: &str) {
        token.clone_into(&mut self.state.lock().unwrap().current);
    }

    /// Every sign-in so far: the user and the bearer token.
    pub fn sign_ins(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().sign_ins.clone()
    }

    /// The messages accepted so far, as text.
    pub fn messages(&self) -> Vec<String> {
        self.state.lock().unwrap().messages.clone()
    }
}

async fn session(stream: tokio::net::TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 oauth.test ESMTP\r\n").await?;
    let mut signed_in = false;
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-oauth.test\r\n250-AUTH XOAUTH2\r\n250 8BITMIME\r\n"
        } else if let Some(b64) = line.strip_prefix("AUTH XOAUTH2 ") {
            let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).unwrap_or_default();
            let text = String::from_utf8_lossy(&raw).into_owned();
            let field =
                |name: &str| text.split('\u{1}').find_map(|f| f.strip_prefix(name)).unwrap_or_default().to_owned();
            let (user, token) = (field("user="), field("auth=Bearer "));
            let mut s = state.lock().unwrap();
            signed_in = !token.is_empty() && token == s.current;
            s.sign_ins.push((user, token));
            if signed_in {
                b"235 2.7.0 Authentication successful\r\n"
            } else {
                b"535 5.7.3 Authentication unsuccessful\r\n"
            }
        } else if upper.starts_with("MAIL FROM") {
            if signed_in { b"250 2.1.0 OK\r\n" } else { b"530 5.7.57 Client not authenticated to send mail\r\n" }
        } else if upper.starts_with("RCPT TO") || upper.starts_with("RSET") || upper.starts_with("NOOP") {
            b"250 2.0.0 OK\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 Start mail input\r\n").await?;
            let mut message = String::new();
            while let Some(l) = lines.next_line().await? {
                if l == "." {
                    break;
                }
                message.push_str(&l);
                message.push('\n');
            }
            state.lock().unwrap().messages.push(message);
            b"250 2.0.0 Queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 5.5.2 Command not recognised\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
