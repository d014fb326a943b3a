//! Mail, split by job: [`compose`] turns what happened into messages (the
//! composer, and one module per kind of mail, each queued in the outbox in
//! the transaction of the change that caused it); [`deliver`] hands the
//! outbox to the world (the worker, the transports, our SMTP client, the
//! per-message return paths); [`oauth2`] gives the
//! access tokens that sign in to a mail server which takes no passwords.

pub mod compose;
pub mod deliver;
pub mod oauth2;

pub use compose::context::MailContext;
pub use compose::{Composer, Outgoing};
pub use deliver::transport::Transport;
pub use deliver::worker::{Worker, WorkerSettings};
