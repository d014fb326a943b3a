//! The name an uploaded file keeps: what the organiser's computer called it,
//! letters like æ, ø, å and dashes included, and nothing that could pose as a
//! path or hide what the name says.

use super::text::is_invisible_format;

/// A file's name as people see it: no folder, no control characters, no
/// invisible or direction-changing characters, not hidden (no leading dot),
/// at most [`FileName::MAX`] characters. Built by [`FileName::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName(String);

/// Why a file name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FileNameError {
    /// Nothing left once the folder is taken off.
    #[error("the file has no name")]
    Empty,
    /// Longer than [`FileName::MAX`] characters.
    #[error("the file name is too long")]
    TooLong,
    /// A control character, an invisible character or one that turns the
    /// writing direction (which makes "gpj.exe" look like "exe.jpg").
    #[error("the file name holds invisible or control characters")]
    Hidden,
}

impl FileName {
    /// The longest name kept, in characters.
    pub const MAX: usize = 150;

    /// Reads the name a browser sent with an upload. Some browsers send the
    /// whole path (`C:\Users\…\Oplæg.pdf`): only the part after the last `/`
    /// or `\` is the name, so no name ever holds a path separator.
    ///
    /// # Errors
    /// See [`FileNameError`].
    pub fn parse(sent: &str) -> Result<Self, FileNameError> {
        let name = sent.rsplit(['/', '\\']).next().unwrap_or(sent).trim().trim_start_matches('.').trim();
        if name.is_empty() {
            return Err(FileNameError::Empty);
        }
        if name.chars().count() > Self::MAX {
            return Err(FileNameError::TooLong);
        }
        if name.chars().any(|c| c.is_control() || is_invisible_format(c)) {
            return Err(FileNameError::Hidden);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name in printable ASCII without `"` or `\`, for the `filename=`
    /// fallback of a `Content-Disposition` header (RFC 6266, section 4.3):
    /// Danish letters spelt out, dashes as `-`, anything else as `_`.
    #[must_use]
    pub fn ascii_fallback(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        for c in self.0.chars() {
            match c {
                'æ' => out.push_str("ae"),
                'Æ' => out.push_str("Ae"),
                'ø' => out.push_str("oe"),
                'Ø' => out.push_str("Oe"),
                'å' => out.push_str("aa"),
                'Å' => out.push_str("Aa"),
                '\u{2010}'..='\u{2015}' => out.push('-'),
                '"' | '\\' => out.push('_'),
                c if c == ' ' || c.is_ascii_graphic() => out.push(c),
                _ => out.push('_'),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{FileName, FileNameError};

    #[test]
    fn a_name_keeps_its_letters_and_loses_its_folder() {
        let n = FileName::parse("C:\\Slides\\Oplæg – Cybersikkerhed.pdf").unwrap();
        assert_eq!(n.as_str(), "Oplæg – Cybersikkerhed.pdf");
        assert_eq!(n.ascii_fallback(), "Oplaeg - Cybersikkerhed.pdf");
        assert_eq!(FileName::parse("../../Grøn \"it\".pdf").unwrap().ascii_fallback(), "Groen _it_.pdf");
        assert_eq!(FileName::parse(".hidden.pdf").unwrap().as_str(), "hidden.pdf");
    }

    #[test]
    fn hidden_and_control_characters_and_empty_names_are_refused() {
        assert_eq!(FileName::parse("gpj\u{202E}.exe"), Err(FileNameError::Hidden));
        assert_eq!(FileName::parse("a\u{200B}b.pdf"), Err(FileNameError::Hidden));
        assert_eq!(FileName::parse("a\r\nb.pdf"), Err(FileNameError::Hidden));
        assert_eq!(FileName::parse("dir/"), Err(FileNameError::Empty));
        assert_eq!(FileName::parse(&format!("{}.pdf", "a".repeat(150))), Err(FileNameError::TooLong));
    }
}
