//! Organiser passwords: Argon2id with the crate's default (OWASP) parameters.
//! Hashing costs real CPU and ~19 MiB; callers on an async runtime run it in
//! `spawn_blocking`.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

use super::ParseError;

/// Shortest accepted password.
pub const MIN_LENGTH: usize = 12;

/// Hashes a new password after checking its length.
///
/// # Errors
/// Too short or too long a password.
pub fn hash(password: &str) -> Result<String, ParseError> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        return Err(ParseError::PasswordTooShort { min: MIN_LENGTH });
    }
    if n > 1024 {
        return Err(ParseError::PasswordTooLong);
    }
    PasswordHasher::<PasswordHash>::hash_password(&Argon2::default(), password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| ParseError::Unhashable)
}

/// Whether `password` matches `stored`. With `stored = None`, or a stored
/// value that is no Argon2 hash (an invited account without a password yet),
/// it spends the same time and answers no, so such accounts cannot be told
/// apart by timing.
#[must_use]
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = stored.filter(|s| s.starts_with("$argon2"));
    let dummy = DUMMY.get_or_init(|| hash("not a real password, only for timing").unwrap_or_default());
    let ok = PasswordVerifier::<str>::verify_password(&Argon2::default(), password.as_bytes(), stored.unwrap_or(dummy))
        .is_ok();
    ok && stored.is_some()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let h = super::hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("correct horse battery", Some(&h)));
        assert!(!super::verify("wrong horse battery", Some(&h)));
        assert!(!super::verify("correct horse battery", None));
        assert!(super::hash("short").is_err());
    }
}
