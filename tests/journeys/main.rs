//! The journeys: the real application on both engines, driven from outside
//! over HTTP, SMTP, the command line and a headless browser. One test binary,
//! one module per concern; `common` holds the harness.

#![allow(clippy::too_many_lines, reason = "a journey reads top to bottom, one step after the other")]

#[macro_use]
mod common;

mod accounts;
mod browser;
mod by_hand;
mod calendars;
mod dossier;
mod evaluations;
mod everyday;
mod exports;
mod foundation;
mod hardening;
mod inbound;
mod language_walk;
mod lawful;
mod list;
mod mail;
mod mailbox;
mod meetings;
mod operations;
mod organiser;
mod page_cache;
mod public_duties;
mod public_page;
mod reports;
mod retention;
mod rsvp;
mod safety;
mod seats;
mod subscribers;
mod trust;
mod year;
