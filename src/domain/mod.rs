//! The forum's words as types. Values here are valid by construction: they are
//! built by parsing, so a [`Email`] in hand is always a usable address. No web,
//! database or mail library appears in this module.

mod cvr;
mod email;
pub mod evaluation;
mod file_name;
mod ids;
mod meeting;
mod meeting_rules;
pub mod password;
mod period;
pub mod report;
pub mod seating;
mod text;
mod time;
mod token;
mod user;

pub use cvr::{Cvr, CvrError};
pub use email::{Email, WALK_IN_DOMAIN, is_walk_in};
pub use file_name::{FileName, FileNameError};
pub use ids::{CampaignId, MeetingId, OrganisationId, OutboxId, PersonId, RegistrationId, UserId};
pub use meeting::{MeetingFormat, MeetingStatus, MoveRefused, PublicPhase, RegistrationStatus};
pub use meeting_rules::{Broken, MeetingField, MeetingShape, is_track_key, seating_change_after_draw};
pub use period::{Period, PeriodError};
pub use seating::{Allocation, DrawSeed, Reason, ReasonError, SeatLimits, Seating, Taken, WaitReason};
pub use text::{Name, Note, ParseError, SingleLine, name_key, search_fold};
pub use time::{MEETING_YEARS, Timestamp, copenhagen, is_meeting_time, link_expiry, shifted, weeks_on, weeks_to_next};
pub use token::{Token, TokenHash, TokenPurpose};
pub use user::{PersonStatus, Role, Suppression};
