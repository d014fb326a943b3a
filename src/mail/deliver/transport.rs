//! The ways a message can leave: SMTP, a folder of `.eml` files, or the log.

use std::path::PathBuf;

use lettre::address::Envelope;

use super::smtp::{Connection, SendError, SmtpTarget};
use crate::config;

/// Where messages go.
#[derive(Debug, Clone)]
pub enum Transport {
    /// A real mail server.
    Smtp(SmtpTarget),
    /// One `.eml` file per message in this folder (development, demos).
    File(PathBuf),
    /// A log line per message with the masked recipient; the content is not logged.
    Log,
}

impl Transport {
    /// The transport the settings ask for.
    ///
    /// # Errors
    /// An unusable SMTP URL; the message names the key.
    pub fn from_settings(mail: &config::Mail) -> Result<Self, String> {
        Ok(match mail.transport {
            config::Transport::Smtp => Self::Smtp(SmtpTarget::from_url(&mail.smtp_url)?.with_oauth2(
                crate::mail::oauth2::TokenSource::from_settings(&mail.oauth2_token_file, &mail.oauth2_token_command),
            )),
            config::Transport::File => Self::File(mail.file_dir.clone()),
            config::Transport::Log => Self::Log,
        })
    }
}

/// One lane of delivery: a transport and, for SMTP, the connection it keeps open.
pub(crate) struct Lane {
    transport: Transport,
    connection: Option<Connection>,
}

impl Lane {
    pub(crate) fn new(transport: Transport) -> Self {
        Self { transport, connection: None }
    }

    /// Delivers one message. `name` is a unique file name stem for the file transport.
    pub(crate) async fn deliver(&mut self, envelope: &Envelope, raw: &[u8], name: &str) -> Result<(), SendError> {
        match &self.transport {
            Transport::Smtp(target) => {
                let mut conn = match self.connection.take() {
                    Some(c) if c.is_usable() => c,
                    _ => target.connect().await?,
                };
                let result = conn.send(envelope, raw).await;
                if conn.is_usable() {
                    self.connection = Some(conn);
                }
                result
            }
            Transport::File(dir) => {
                let transient = |e: std::io::Error| SendError::Transient(format!("file transport: {e}"));
                tokio::fs::create_dir_all(dir).await.map_err(transient)?;
                // Write then rename, so a reader never sees half a message.
                let tmp = dir.join(format!(".{name}.tmp"));
                tokio::fs::write(&tmp, raw).await.map_err(transient)?;
                tokio::fs::rename(&tmp, dir.join(format!("{name}.eml"))).await.map_err(transient)
            }
            Transport::Log => {
                let to = envelope.to().first().map(|a| mask(a.as_ref())).unwrap_or_default();
                tracing::info!(to = %to, bytes = raw.len(), "mail written to the log transport");
                Ok(())
            }
        }
    }

    /// Closes the lane's connection politely.
    pub(crate) async fn close(mut self) {
        if let Some(c) = self.connection.take() {
            c.quit().await;
        }
    }
}

/// `a***@firma.dk` for an address that may not have been parsed by us.
pub(crate) fn mask(address: &str) -> String {
    crate::domain::Email::parse(address).map_or_else(|_| "***".to_owned(), |e| e.masked())
}
