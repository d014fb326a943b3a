//! Delivering the outbox: the worker that claims due messages and records
//! what became of them, the transports a message can leave by, our SMTP
//! connections, and the per-message return paths (VERP) bounces come back to.

pub mod smtp;
pub mod transport;
pub mod verp;
pub mod worker;
