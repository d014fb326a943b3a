//! What people and timers do with the forum, one function each: create and
//! change a meeting, move it through its life, invite to it, answer an
//! invitation, pass it on, fill free seats from the waiting list, join and
//! leave the list, add, change and erase a person, send, remind and close an
//! evaluation, export.
//! Pages, the JSON API, the command line and the timers call these and only
//! extract, call and render.
//!
//! A use case runs in one store transaction with its mail and its audit
//! entry, and wakes the outbox once it has committed. What the rules refuse
//! comes back as a [`Refusal`], which the web edge turns into a form message
//! or a problem+json answer; failures of the database or of composing mail
//! come back as the other arms of [`ForumError`].
//!
//! Every function here fails only when the database does or a mail cannot
//! be composed, unless its doc says otherwise.

#![allow(clippy::missing_errors_doc, reason = "the module documentation says once how a use case fails")]

pub mod accounts;
pub mod calendar;
pub mod campaigns;
pub mod door;
pub mod dossier;
pub mod evaluations;
pub mod exports;
pub mod list;
pub mod meeting_mail;
pub mod meetings;
pub mod reports;
pub mod rsvp;
pub mod seats;
pub mod timers;

use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::{Notify, Semaphore};

use crate::domain::{Broken, MeetingField, MeetingStatus, RegistrationStatus, Suppression, Timestamp, WaitReason};
use crate::i18n::Lang;
use crate::mail::MailContext;
use crate::store::{Store, StoreError};

/// The forum's use cases and what they need: the store, what composing mail
/// needs, the outbox's wake-up and the seat desks. Cheap to clone.
#[derive(Clone)]
pub struct Forum(Arc<Parts>);

/// The parts of a [`Forum`].
pub struct Parts {
    pub store: Store,
    pub mail: MailContext,
    /// Wakes the outbox worker after mail was queued.
    pub mail_wake: Arc<Notify>,
    /// Wakes the campaign runner after a campaign was created or resumed.
    pub campaign_wake: Arc<Notify>,
    /// Permits for password checks (`security.concurrent_password_checks`).
    pub password_checks: Arc<Semaphore>,
    desks: rsvp::Desks,
}

impl Forum {
    /// The forum over `store`, composing mail with `mail`, waking the outbox
    /// with `mail_wake` and the campaign runner with `campaign_wake`, and
    /// checking at most `password_checks` passwords at once.
    #[must_use]
    pub fn new(
        store: Store,
        mail: MailContext,
        mail_wake: Arc<Notify>,
        campaign_wake: Arc<Notify>,
        password_checks: usize,
    ) -> Self {
        let password_checks = Arc::new(Semaphore::new(password_checks));
        Self(Arc::new(Parts { store, mail, mail_wake, campaign_wake, password_checks, desks: rsvp::Desks::default() }))
    }

    /// Wakes the outbox worker when `queued` mails were committed.
    fn wake_if(&self, queued: usize) {
        if queued > 0 {
            self.mail_wake.notify_one();
        }
    }
}

impl Deref for Forum {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        &self.0
    }
}

/// What the forum's rules refuse to do. The text is English for API clients;
/// pages show their own words for the arms a form can meet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Someone changed the thing since it was read.
    #[error("it changed meanwhile; read it again and retry")]
    Stale,
    /// Another meeting has this number.
    #[error("number: another meeting has this number")]
    NumberTaken,
    /// A track to be removed is still used by the programme.
    #[error("tracks: the track {0} is used in the programme; move its items first")]
    TrackInUse(String),
    /// The meeting may not move to that status from where it is.
    #[error("the meeting is {from}; it cannot become {to}")]
    Transition { from: MeetingStatus, to: MeetingStatus },
    /// A meeting is marked held only once it has begun.
    #[error("the meeting starts at {starts_at}; it can be marked as held once it has begun")]
    NotStarted { starts_at: Timestamp },
    /// The invitation was passed on to a colleague; this link no longer answers.
    #[error("the invitation was passed on to a colleague")]
    PassedOn,
    /// Invitations go out only while a meeting is published or open.
    #[error("the meeting is {0}; publish it before inviting")]
    NotInvitable(MeetingStatus),
    /// A mailing cannot make that move from where it is.
    #[error("the mailing is {state}; it cannot {}", to.as_str())]
    CampaignState { state: String, to: campaigns::Move },
    /// The colleague cannot be invited: already invited, left the list or
    /// bounced. One refusal for all three, so nobody learns who left.
    #[error("colleague_email: this address cannot be invited")]
    ColleagueRefused,
    /// Too many sign-ups came from one address of origin within the hour.
    #[error("too many sign-ups from this address; try again in an hour")]
    TooManySignups,
    /// A meeting's details break its rules; each broken rule by its field.
    #[error("{}", broken_detail(.0))]
    Broken(Vec<(MeetingField, Broken)>),
    /// An organiser added an address that is on the list already, or an
    /// account that exists.
    #[error("email: this address is already known")]
    AddressKnown,
    /// A new order for the waiting list names someone twice or someone not on it.
    #[error("order: {0}")]
    WaitlistOrder(String),
    /// Too many sign-in attempts from this client, or on this account from it.
    #[error("too many attempts; wait a while and try again")]
    Throttled,
    /// The address or the password is wrong (which, is not said).
    #[error("the address or the password is wrong")]
    WrongPassword,
    /// The meeting takes answers only from its opening time.
    #[error("registration opens at {opens_at}; nothing was recorded")]
    NotOpenYet { opens_at: Timestamp },
    /// Only a lottery meeting draws its seats, and only once.
    #[error("the meeting's seats are not drawn by lottery, or were drawn already")]
    NoDraw,
    /// An organiser added an address whose owner left the list or was
    /// erased; only the person's own confirmed sign-up puts it back.
    #[error("email: {}", Lang::En.suppression(*.0))]
    Suppressed(Suppression),
    /// The meeting's report is not where the step starts from (only a draft
    /// is approved, only an approved report is published).
    #[error("the report is {state}; it cannot be {to}")]
    ReportState { state: &'static str, to: &'static str },
    /// A report without a section cannot be approved.
    #[error("sections: the report has no section yet")]
    ReportEmpty,
    /// A report is published once the meeting has taken place.
    #[error("the meeting has not ended yet; its report can be published once it has")]
    ReportTooEarly,
    /// Every file of the meeting is public already, or it has none.
    #[error("no material of the meeting waits to be released")]
    NothingToRelease,
    /// A report section names a file that is not the meeting's.
    #[error("sections[{0}].materials: no such file of the meeting")]
    UnknownMaterial(usize),
    /// A seat given by hand would pass a full limit, and that was not confirmed.
    #[error("{} Confirm going beyond the limit to give the seat anyway.", Lang::En.wait_reason(*.0))]
    SeatFull(WaitReason),
    /// A change by hand to a seat does not fit where the registration stands.
    #[error("the registration is {}; the change does not apply to it", .0.as_str())]
    SeatStands(RegistrationStatus),
    /// The track named is not one of the meeting's, or none was named where the meeting has tracks.
    #[error("track: choose one of the meeting's tracks")]
    UnknownTrack,
    /// Someone new added by hand needs a name.
    #[error("name: the address is new to the forum; give the person's name")]
    NameNeeded,
}

/// The first broken rule as the API says it: `field: what is wrong`.
fn broken_detail(broken: &[(MeetingField, Broken)]) -> String {
    broken.first().map(|(field, rule)| format!("{}: {}", field.name(), Lang::En.broken(*rule))).unwrap_or_default()
}

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ForumError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Too much of the work is under way already (password checks); try shortly.
    #[error("busy; try again shortly")]
    Busy,
    /// Composing mail failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Result of a use case.
pub type Result<T, E = ForumError> = std::result::Result<T, E>;
