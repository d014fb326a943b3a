//! Hardening, end to end on both engines: the defects found by trying the
//! service from outside as an attacker or a careless organiser would, each
//! replayed against the running application.

mod background;
mod inbound;
mod input;
mod login;
mod outbox;
mod privilege;
mod signup;
mod viewer;
