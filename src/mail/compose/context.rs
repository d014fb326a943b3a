//! What rendering personal mail needs besides the store: the composer and
//! the base URL of links. Every mail job takes it; it depends on nothing else
//! of the mail module but the composer.

use super::Composer;

/// What rendering personal mail needs besides the store.
#[derive(Debug, Clone)]
pub struct MailContext {
    pub composer: Composer,
    /// The base URL of every link, without a trailing slash.
    pub base_url: String,
}
