//! OAuth 2.0 access tokens for signing in to the mail server with SASL
//! XOAUTH2, as Microsoft 365 requires once basic authentication is off: read
//! from a file that something else keeps fresh, or printed by a command.
//!
//! The service does not talk to the identity provider itself. Access tokens
//! live about an hour; the deployment's own token helper (a timer that
//! writes the file, or a command that prints a current token) renews them,
//! and each new connection asks for the token again. The token is never
//! logged and never kept beyond the connection it opened.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where access tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// A file holding the current token (surrounding white space ignored).
    File(PathBuf),
    /// A shell command that prints the current token on standard output.
    Command(String),
}

/// How long a token command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

impl TokenSource {
    /// The source the settings name, if any: `file` when not empty, else
    /// `command` when not empty.
    #[must_use]
    pub fn from_settings(file: &Path, command: &str) -> Option<Self> {
        if !file.as_os_str().is_empty() {
            Some(Self::File(file.to_path_buf()))
        } else if !command.trim().is_empty() {
            Some(Self::Command(command.to_owned()))
        } else {
            None
        }
    }

    /// A current access token.
    ///
    /// # Errors
    /// The file cannot be read, the command fails, takes longer than 30
    /// seconds or prints nothing; the message says which, without the token.
    pub async fn token(&self) -> Result<String, String> {
        let token = match self {
            Self::File(path) => tokio::fs::read_to_string(path)
                .await
                .map_err(|e| format!("OAuth2 token file {}: {e}", path.display()))?,
            Self::Command(command) => {
                let run = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(command)
                    .stdin(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .output();
                let out = tokio::time::timeout(COMMAND_TIMEOUT, run)
                    .await
                    .map_err(|_| "OAuth2 token command took longer than 30 s".to_owned())?
                    .map_err(|e| format!("OAuth2 token command could not start: {e}"))?;
                if !out.status.success() {
                    let why = String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or_default().to_owned();
                    return Err(format!("OAuth2 token command failed ({}): {why}", out.status));
                }
                String::from_utf8(out.stdout)
                    .map_err(|_| "OAuth2 token command printed something not UTF-8".to_owned())?
            }
        };
        let token = token.trim();
        if token.is_empty() {
            return Err("OAuth2 token source gave an empty token".to_owned());
        }
        Ok(token.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::TokenSource;
    use std::path::Path;

    #[tokio::test]
    async fn a_token_comes_from_a_file_or_a_command_and_an_empty_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "eyJ0eXAi.abc\n").unwrap();
        assert_eq!(TokenSource::File(file.clone()).token().await.unwrap(), "eyJ0eXAi.abc");
        assert_eq!(TokenSource::Command("printf ' tok-1 '".into()).token().await.unwrap(), "tok-1");
        let failed = TokenSource::Command("echo no credentials >&2; exit 3".into()).token().await.unwrap_err();
        assert!(failed.contains("no credentials"), "{failed}");
        std::fs::write(&file, "  \n").unwrap();
        assert!(TokenSource::File(file).token().await.unwrap_err().contains("empty"));
        assert_eq!(TokenSource::from_settings(Path::new(""), ""), None);
        assert_eq!(
            TokenSource::from_settings(Path::new(""), "get-token"),
            Some(TokenSource::Command("get-token".into()))
        );
    }
}
