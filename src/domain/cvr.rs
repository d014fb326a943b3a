//! Danish CVR numbers (Det Centrale Virksomhedsregister): eight digits whose
//! weighted sum with the weights 2, 7, 6, 5, 4, 3, 2, 1 is divisible by 11.

use std::fmt;

/// A CVR number that passed the modulus-11 check. Always eight ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cvr(String);

/// Why a text is not a CVR number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CvrError {
    /// Not eight digits once spaces and a `DK` prefix are removed.
    #[error("a CVR number has eight digits")]
    Format,
    /// Eight digits, but the modulus-11 check fails.
    #[error("this is not a valid CVR number")]
    Checksum,
}

const WEIGHTS: [u32; 8] = [2, 7, 6, 5, 4, 3, 2, 1];

impl Cvr {
    /// Reads a CVR number; spaces (also inside) and a leading `DK` are tolerated.
    ///
    /// # Errors
    /// [`CvrError::Format`] when it is not eight digits, [`CvrError::Checksum`]
    /// when the check digit does not match.
    pub fn parse(input: &str) -> Result<Self, CvrError> {
        let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        let digits = compact.strip_prefix("DK").unwrap_or(&compact);
        if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CvrError::Format);
        }
        let sum: u32 = digits.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
        if !sum.is_multiple_of(11) {
            return Err(CvrError::Checksum);
        }
        Ok(Self(digits.to_owned()))
    }

    /// The eight digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Cvr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_numbers_pass() {
        // Weighted sums: 10150817 -> 66, 29188505 -> 165, 25052943 -> 110.
        for n in ["10150817", "29188505", "25052943"] {
            assert_eq!(Cvr::parse(n).unwrap().as_str(), n, "{n}");
        }
    }

    #[test]
    fn spaces_and_dk_prefix_are_tolerated() {
        assert_eq!(Cvr::parse(" DK 1015 0817 ").unwrap().as_str(), "10150817");
        assert_eq!(Cvr::parse("dk10150817").unwrap().as_str(), "10150817");
        assert_eq!(Cvr::parse("29 18 85 05").unwrap().to_string(), "29188505");
    }

    #[test]
    fn wrong_check_digit_fails() {
        assert_eq!(Cvr::parse("10150818"), Err(CvrError::Checksum));
        assert_eq!(Cvr::parse("12345678"), Err(CvrError::Checksum));
    }

    #[test]
    fn wrong_shape_fails() {
        for n in ["", "1015081", "101508170", "1015O817", "SE10150817", "10-15-08-17"] {
            assert_eq!(Cvr::parse(n), Err(CvrError::Format), "{n}");
        }
    }
}
