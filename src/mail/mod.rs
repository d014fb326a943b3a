//! Outgoing mail: composing messages, the transports that carry them and the
//! outbox worker that delivers what the store has queued.

pub mod compose;
pub mod smtp;
pub mod transport;
pub mod verp;
pub mod worker;

pub use compose::{Composer, Outgoing};
pub use transport::Transport;
pub use worker::{Worker, WorkerSettings};
