//! Dialogforum: a self-hosted service for a recurring dialogue forum between a
//! public body and its suppliers — mailing list, meetings, invitations, RSVPs,
//! evaluations and exports.
//!
//! Dependencies point one way: `domain` ← (`i18n`, `store`) ← `mail` ← `forum` ← (`web`, `inbound`) ← `app` ← `cli`;
//! `supervise` (restarting background tasks) depends on none of them; `backup`
//! (SQLite copies) stands on `store`, `doctor` (checks for operators) beside `app`.
#![forbid(unsafe_code)]

pub mod app;
pub mod backup;
pub mod cli;
pub mod config;
pub mod demo;
pub mod doctor;
pub mod domain;
pub mod forum;
pub mod i18n;
pub mod inbound;
pub mod mail;
pub mod store;
pub mod supervise;
pub mod transfer;
pub mod web;
