//! Mail: composing messages, the transports that carry them, the outbox worker
//! that delivers what the store has queued, and the inbound listener that
//! receives bounces, complaints and requests to join or leave the list.

pub mod campaign;
pub mod changes;
pub mod compose;
pub mod context;
pub mod evaluations;
pub mod inbound;
pub mod notices;
pub mod personal;
pub mod reminders;
pub mod requests;
pub mod rsvp;
pub mod smtp;
pub mod transport;
pub mod verp;
pub mod worker;

pub use compose::{Composer, Outgoing};
pub use context::MailContext;
pub use transport::Transport;
pub use worker::{Worker, WorkerSettings};
