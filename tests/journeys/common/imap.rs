//! A real IMAP server for a test: Debian's dovecot, started as a child
//! process with a configuration of its own in a temporary folder (its own
//! ports on 127.0.0.1, a certificate signed by a CA made for the test, one
//! user with a plaintext password, a Maildir), and stopped when the test is
//! done. Mail is put into the mailbox by writing it into the Maildir, as a
//! delivery agent would; what became of it is read back from there.
//!
//! Also a small IMAP responder that takes only SASL XOAUTH2 over TLS, since
//! dovecot checks OAuth2 tokens only against an identity provider's
//! introspection endpoint.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use dialogforum::config::{ImapMailbox, ImapTls};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The mailbox's user and password.
pub const USER: &str = "forum@forum.example";
pub const PASSWORD: &str = "hemmeligt-kodeord";

/// A certificate authority and a certificate for 127.0.0.1 and localhost signed by it.
pub struct Certificates {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Certificates {
    /// Made with the openssl command in `dir`.
    pub fn make(dir: &Path) -> Self {
        let run = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        run(&[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test CA"],
        ]
        .concat());
        run(&[&["req"][..], &ec, &["-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=localhost"]].concat());
        run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        Self { ca: dir.join("ca.pem"), cert: dir.join("cert.pem"), key: dir.join("key.pem") }
    }
}

/// A free port on 127.0.0.1 (free when asked).
fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running dovecot.
pub struct Dovecot {
    dir: tempfile::TempDir,
    child: Child,
    /// The port for STARTTLS.
    pub starttls_port: u16,
    /// The port for TLS from the first byte.
    pub imaps_port: u16,
    pub certs: Certificates,
}

impl Dovecot {
    /// Starts dovecot and waits until it greets on both ports.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let d = dir.path();
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let certs = Certificates::make(d);
        for sub in ["run", "state", "home/Maildir/cur", "home/Maildir/new", "home/Maildir/tmp"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        // Mail is kept by the dovecot user: dovecot refuses to keep it as root.
        let chown = Command::new("chown").args(["-R", "dovecot:dovecot"]).arg(d.join("home")).status().unwrap();
        assert!(chown.success(), "chown the Maildir to the dovecot user");
        std::fs::write(d.join("users"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let (starttls_port, imaps_port) = (free_port(), free_port());
        let dir_s = d.display();
        let config = format!(
            "base_dir = {dir_s}/run\nstate_dir = {dir_s}/state\nlog_path = {dir_s}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\nssl = yes\nssl_cert = <{cert}\nssl_key = <{key}\n\
             ssl_dh = </usr/share/dovecot/dh.pem\ndisable_plaintext_auth = yes\nauth_mechanisms = plain login\n\
             first_valid_uid = 1\nmail_location = maildir:{dir_s}/home/Maildir\n\
             namespace inbox {{\n  inbox = yes\n  separator = /\n}}\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {dir_s}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid=dovecot gid=dovecot home={dir_s}/home\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {starttls_port}\n  }}\n\
               inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps_port}\n    ssl = yes\n  }}\n}}\n",
            cert = certs.cert.display(),
            key = certs.key.display(),
        );
        std::fs::write(d.join("dovecot.conf"), config).unwrap();
        let child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(d.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dovecot (Debian's dovecot-imapd)");
        let server = Self { dir, child, starttls_port, imaps_port, certs };
        for port in [starttls_port, imaps_port] {
            crate::common::eventually(
                "dovecot to listen",
                30,
                || async move { tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() },
                |up| *up,
            )
            .await;
        }
        server
    }

    fn maildir(&self, folder: &str) -> PathBuf {
        let root = self.dir.path().join("home/Maildir");
        if folder == "INBOX" { root } else { root.join(format!(".{}", folder.replace('/', "."))) }
    }

    /// Delivers `raw` into INBOX as a delivery agent does: written to `tmp`, then renamed into `new`.
    pub fn deliver(&self, raw: &str) {
        let root = self.maildir("INBOX");
        let name = format!("{}.{}.test", uuid::Uuid::new_v4().simple(), std::process::id());
        let tmp = root.join("tmp").join(&name);
        std::fs::write(&tmp, raw.replace("\r\n", "\n").replace('\n', "\r\n")).unwrap();
        std::fs::rename(&tmp, root.join("new").join(&name)).unwrap();
    }

    /// The messages in `folder`, each with its Maildir flags (`S` for `\Seen`).
    pub fn messages(&self, folder: &str) -> Vec<(String, String)> {
        let root = self.maildir(folder);
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(root.join(sub)) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let flags = name.split_once(":2,").map(|(_, f)| f.to_owned()).unwrap_or_default();
                out.push((std::fs::read_to_string(entry.path()).unwrap_or_default(), flags));
            }
        }
        out
    }

    /// The mailbox as an `[[inbound.imap]]` table: with `tls`, moving handled
    /// mail to `move_to` (or marking it read when empty), looking every second.
    pub fn mailbox(&self, tls: ImapTls, move_to: &str) -> ImapMailbox {
        ImapMailbox {
            host: "127.0.0.1".to_owned(),
            port: match tls {
                ImapTls::Imaps => self.imaps_port,
                ImapTls::Starttls => self.starttls_port,
            },
            tls,
            ca_file: self.certs.ca.clone(),
            user: USER.to_owned(),
            password: serde_json::from_value(serde_json::json!(PASSWORD)).unwrap(),
            oauth2_token_file: PathBuf::new(),
            oauth2_token_command: String::new(),
            folder: "INBOX".to_owned(),
            move_to: move_to.to_owned(),
            poll_secs: 1,
            mark_delay_ms: 0,
        }
    }

    /// A mailbox at 127.0.0.1:`port` signed in to with XOAUTH2 (no password),
    /// trusting `ca`, looking every second.
    pub fn oauth2_mailbox(port: u16, ca: &Path) -> ImapMailbox {
        ImapMailbox {
            host: "127.0.0.1".to_owned(),
            port,
            tls: ImapTls::Imaps,
            ca_file: ca.to_path_buf(),
            user: USER.to_owned(),
            password: serde_json::from_value(serde_json::json!("")).unwrap(),
            oauth2_token_file: PathBuf::new(),
            oauth2_token_command: String::new(),
            folder: "INBOX".to_owned(),
            move_to: String::new(),
            poll_secs: 1,
            mark_delay_ms: 0,
        }
    }

    /// The same as a TOML table for a configuration file, with `password` and extra lines.
    pub fn toml(&self, tls: ImapTls, password: &str, extra: &str) -> String {
        let (tls, port) = match tls {
            ImapTls::Imaps => ("imaps", self.imaps_port),
            ImapTls::Starttls => ("starttls", self.starttls_port),
        };
        format!(
            "[[inbound.imap]]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"{tls}\"\nca_file = \"{}\"\n\
             user = \"{USER}\"\npassword = \"{password}\"\npoll_secs = 1\n{extra}\n",
            self.certs.ca.display()
        )
    }

    /// dovecot's log, for a failing assertion.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM, so the master stops its own children too.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

#[derive(Default)]
struct State {
    current: String,
    sign_ins: Vec<(String, String)>,
}

/// An IMAP server over TLS that takes only SASL XOAUTH2: it records the user
/// and token of every sign-in and accepts the token it is told is current.
/// After a sign-in it answers EXAMINE, SELECT, SEARCH (an empty folder) and LOGOUT.
#[derive(Clone)]
pub struct OAuthImap {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl OAuthImap {
    /// Starts on a free local port with the certificate in `certs`, taking `token` as the current one.
    pub async fn start(certs: &Certificates, token: &str) -> Self {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_file_iter(&certs.cert).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
        let key = PrivateKeyDer::from_pem_file(&certs.key).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State { current: token.to_owned(), ..State::default() }));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, state) = (acceptor.clone(), Arc::clone(&shared));
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = session(tls, state).await;
                    }
                });
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
}

async fn session(
    stream: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] oauth.test ready\r\n").await?;
    let mut signed_in = false;
    while let Some(line) = lines.next_line().await? {
        let (tag, command) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let upper = command.to_ascii_uppercase();
        let reply = if upper == "CAPABILITY" {
            format!("* CAPABILITY IMAP4rev1 AUTH=XOAUTH2\r\n{tag} OK done\r\n")
        } else if upper == "AUTHENTICATE XOAUTH2" {
            write.write_all(b"+ \r\n").await?;
            let answer = lines.next_line().await?.unwrap_or_default();
            let raw = base64::engine::general_purpose::STANDARD.decode(answer.trim()).unwrap_or_default();
            let text = String::from_utf8_lossy(&raw).into_owned();
            let field =
                |name: &str| text.split('\u{1}').find_map(|f| f.strip_prefix(name)).unwrap_or_default().to_owned();
            let (user, token) = (field("user="), field("auth=Bearer "));
            let accepted = {
                let mut s = state.lock().unwrap();
                s.sign_ins.push((user, token.clone()));
                !token.is_empty() && token == s.current
            };
            if accepted {
                signed_in = true;
                format!("{tag} OK AUTHENTICATE completed\r\n")
            } else {
                // As Exchange Online does: a JSON error as a challenge, answered with an empty line.
                let error = base64::engine::general_purpose::STANDARD.encode(r#"{"status":"401","schemes":"Bearer"}"#);
                write.write_all(format!("+ {error}\r\n").as_bytes()).await?;
                let _ = lines.next_line().await?;
                format!("{tag} NO AUTHENTICATE failed.\r\n")
            }
        } else if signed_in && (upper.starts_with("EXAMINE") || upper.starts_with("SELECT")) {
            format!("* 0 EXISTS\r\n* OK [UIDVALIDITY 7] UIDs valid\r\n{tag} OK [READ-WRITE] done\r\n")
        } else if signed_in && upper.starts_with("UID SEARCH") {
            format!("* SEARCH\r\n{tag} OK done\r\n")
        } else if upper == "LOGOUT" {
            write.write_all(format!("* BYE bye\r\n{tag} OK done\r\n").as_bytes()).await?;
            return Ok(());
        } else {
            format!("{tag} BAD not here\r\n")
        };
        write.write_all(reply.as_bytes()).await?;
    }
    Ok(())
}
