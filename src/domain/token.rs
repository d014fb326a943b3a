//! Secret tokens for links in mail, sessions and API access.
//!
//! A token is 256 bits from the operating system's CSPRNG, shown once (in a
//! link, a cookie or on the terminal) and stored only as its SHA-256 hash.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore;
use sha2::{Digest, Sha256};

/// A secret in clear text. Its `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

/// The SHA-256 of a token: what is stored and looked up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

/// What a token in a link may be used for; a token of one purpose is refused for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    Confirm,
    Rsvp,
    Evaluation,
    Unsubscribe,
    Profile,
}

impl TokenPurpose {
    /// The name stored in the database.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Rsvp => "rsvp",
            Self::Evaluation => "evaluation",
            Self::Unsubscribe => "unsubscribe",
            Self::Profile => "profile",
        }
    }
}

impl Token {
    /// A fresh token of 256 random bits.
    ///
    /// # Panics
    /// If the operating system cannot provide randomness; nothing safe can be done then.
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.try_fill_bytes(&mut bytes).expect("the operating system provides randomness");
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts a token from a URL, cookie or header. Only the shape is checked
    /// here; whether it is known is a question for the store.
    #[must_use]
    pub fn from_presented(s: &str) -> Option<Self> {
        let ok =
            (20..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(s.to_owned()))
    }

    /// The token in clear text, for a link or a cookie.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash under which the token is stored.
    #[must_use]
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

impl TokenHash {
    /// The hash bytes, for storage.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A hash read back from storage.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// A derived value that is stable for this token, e.g. a CSRF token bound to a session.
    #[must_use]
    pub fn derive(&self, label: &str) -> String {
        let mut h = Sha256::new();
        h.update(label.as_bytes());
        h.update(self.0);
        URL_SAFE_NO_PAD.encode(h.finalize())
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::Token;

    #[test]
    fn tokens_carry_256_bits_and_differ() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert_eq!(Token::from_presented(a.expose()), Some(a.clone()));
        assert_eq!(a.hash(), Token::from_presented(a.expose()).unwrap().hash());
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn malformed_tokens_are_refused_before_any_lookup() {
        assert!(Token::from_presented("short").is_none());
        assert!(Token::from_presented("../../etc/passwd/aaaaaaaaaaaaaaaaaaaa").is_none());
    }
}
