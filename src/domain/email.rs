//! A mail address that has been checked and normalised.

use std::fmt;

use super::ParseError;

/// The domain of the stand-in addresses of walk-ins without an address of their own.
pub const WALK_IN_DOMAIN: &str = "walk-in.invalid";

/// Whether the stored address `address` is a walk-in's stand-in, never shown or mailed.
#[must_use]
pub fn is_walk_in(address: &str) -> bool {
    address.ends_with(WALK_IN_DOMAIN) && address.starts_with("walk-in-")
}

/// A mail address: one `@`, a dotted domain name (no IP literals), no spaces or
/// control characters, at most 254 characters. Stored in lower case so the
/// same person cannot be on the list twice.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Parses and normalises an address typed by a person or read from a file.
    ///
    /// # Errors
    /// A message fit to show next to the form field.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim();
        let bad = || Err(ParseError::Email);
        if s.is_empty() || s.len() > 254 {
            return bad();
        }
        if s.chars().any(|c| {
            c.is_control()
                || c.is_whitespace()
                || super::text::is_invisible_format(c)
                || matches!(c, '<' | '>' | '(' | ')' | ',' | ';' | ':' | '\\' | '"' | '[' | ']')
        }) {
            return bad();
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return bad();
        };
        if local.is_empty()
            || local.len() > 64
            || local.contains('@')
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
        {
            return bad();
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.len() > 63
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            || labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        {
            return bad();
        }
        Ok(Self(s.to_lowercase()))
    }

    /// A stand-in address for someone who came to a meeting's door without
    /// giving one: unique, and at a domain reserved never to receive mail
    /// (RFC 2606), so nothing is ever delivered to it.
    #[must_use]
    pub fn walk_in() -> Self {
        Self(format!("walk-in-{}@{WALK_IN_DOMAIN}", uuid::Uuid::new_v4().simple()))
    }

    /// Whether this is a stand-in made by [`Email::walk_in`].
    #[must_use]
    pub fn is_walk_in(&self) -> bool {
        is_walk_in(&self.0)
    }

    /// The address as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address with most of the local part hidden, for logs: `a***@firma.dk`.
    #[must_use]
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or(("", &self.0));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }

    /// The SHA-256 of the normalised address: what the list of suppressed
    /// addresses keeps in place of the address itself.
    #[must_use]
    pub fn digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// The domain part.
    #[must_use]
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Debug output never shows the whole address, so it cannot leak into logs.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

impl TryFrom<String> for Email {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl<'de> serde::Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn ordinary_addresses_are_accepted_and_lowercased() {
        assert_eq!(Email::parse(" Anna.Berg@Firma.DK ").unwrap().as_str(), "anna.berg@firma.dk");
        assert!(Email::parse("a+tag@sub.example.com").is_ok());
        assert!(Email::parse("søren@æblehus.dk").is_ok());
    }

    #[test]
    fn addresses_that_would_break_a_header_or_route_elsewhere_are_refused() {
        for bad in [
            "",
            "a",
            "a@b",
            "a@[127.0.0.1]",
            "a@127.0.0.1",
            "a@b.c\r\nBcc: x@y.z",
            "a b@c.dk",
            "<a@b.dk>",
            "a@@b.dk",
            "a@b..dk",
            ".a@b.dk",
            "a@-b.dk",
            "a,b@c.dk",
            "\"a\"@b.dk",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn the_digest_is_of_the_normalised_address() {
        let a = Email::parse(" Anna.Berg@Firma.DK ").unwrap();
        let b = Email::parse("anna.berg@firma.dk").unwrap();
        assert_eq!(a.digest(), b.digest());
        assert_ne!(a.digest(), Email::parse("anna.berg@firma.de").unwrap().digest());
    }

    #[test]
    fn masked_form_hides_the_local_part() {
        let e = Email::parse("anna.berg@firma.dk").unwrap();
        assert_eq!(e.masked(), "a***@firma.dk");
        assert!(!format!("{e:?}").contains("anna"));
    }
}
