//! The small print at the foot of every mail: the secretariat's contact and
//! links to the privacy notice and the accessibility statement. Its words
//! are in `templates/mail/footer.{html,txt}`; the composer carries the values.

use crate::config::Settings;

/// The values of every mail's footer. Empty (the default) shows no footer,
/// for composers built without settings.
#[derive(Debug, Clone, Default)]
pub struct Footer {
    pub organisation: String,
    pub address: String,
    pub email: String,
    pub phone: String,
    /// The privacy notice, an absolute URL.
    pub privacy_url: String,
    /// The accessibility statement, an absolute URL.
    pub accessibility_url: String,
}

impl Footer {
    /// The footer of the service configured by `s`.
    #[must_use]
    pub fn from_settings(s: &Settings) -> Self {
        let c = &s.contact;
        Self {
            organisation: c.organisation.clone(),
            address: c.address.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            privacy_url: format!("{}/privacy", s.base_url()),
            accessibility_url: format!("{}/accessibility", s.base_url()),
        }
    }

    /// Whether there is a footer to show.
    #[must_use]
    pub fn is_shown(&self) -> bool {
        !self.privacy_url.is_empty()
    }
}

/// Declares the bodies of a campaign mail: a text and an HTML template over
/// the mail's fields `m` and the [`Footer`] `f` they end with
/// (`fn name(Mail) in "mail/kind/body.txt", "mail/kind/body.html"`), and the
/// function that renders both, text first.
macro_rules! bodies {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($mail:ty) in $text:literal, $html:literal) => {
        $(#[$meta])*
        $vis fn $name(
            m: &$mail,
            f: &$crate::mail::compose::footer::Footer,
        ) -> askama::Result<(String, String)> {
            use askama::Template as _;

            #[derive(askama::Template)]
            #[template(path = $text, escape = "none")]
            struct Text<'a> {
                m: &'a $mail,
                f: &'a $crate::mail::compose::footer::Footer,
            }

            #[derive(askama::Template)]
            #[template(path = $html)]
            struct Html<'a> {
                m: &'a $mail,
                f: &'a $crate::mail::compose::footer::Footer,
            }

            Ok((Text { m, f }.render()?, Html { m, f }.render()?))
        }
    };
}
pub(crate) use bodies;
