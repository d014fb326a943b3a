//! Fair seats (udbudsloven § 2, equal treatment): when a meeting opens for
//! answers, whether its seats go first come first served or by lottery, and
//! the lottery's draw itself.
//!
//! The draw is reproducible from a recorded seed with ordinary tools: each
//! applicant's ticket is the SHA-256 of the seed's 32 bytes followed by the
//! applicant's registration id as text (lowercase, hyphenated), and the
//! tickets are taken in ascending order. Going down that order, an applicant
//! who still fits the meeting's, the track's and the organisation's limits
//! gets a seat; the others go to the waiting list in the same order. SHA-256
//! (FIPS 180-4) is fixed for good, unlike the streams of a random number
//! generator library, so a draw can be checked years later.

use std::collections::HashMap;
use std::hash::Hash;

use rand::TryRngCore;
use sha2::{Digest, Sha256};

use super::Timestamp;
use super::meeting::str_enum;

str_enum!(
    /// How a meeting hands out its seats.
    Allocation { FirstCome = "first_come", Lottery = "lottery" }
    "allocation must be first_come or lottery"
);

#[allow(clippy::derivable_impls, reason = "str_enum! declares the enum and takes no attributes on its variants")]
impl Default for Allocation {
    fn default() -> Self {
        Self::FirstCome
    }
}

/// When a meeting takes answers and how it gives seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seating {
    /// Answers are taken from this instant; `None`: from publication.
    pub registration_opens_at: Option<Timestamp>,
    pub allocation: Allocation,
    /// For a lottery: the end of the application window, when seats are drawn.
    pub applications_close_at: Option<Timestamp>,
}

impl Seating {
    /// The opening time, while `now` is before it.
    #[must_use]
    pub fn opens_later(&self, now: Timestamp) -> Option<Timestamp> {
        self.registration_opens_at.filter(|&t| now < t)
    }

    /// Whether a "yes" now is an application for the draw rather than an
    /// answer that takes a seat: a lottery not yet drawn.
    #[must_use]
    pub fn takes_applications(&self, drawn: bool) -> bool {
        self.allocation == Allocation::Lottery && !drawn
    }
}

/// The 32 random bytes a draw is made from; shown as 64 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrawSeed([u8; 32]);

impl DrawSeed {
    /// A fresh seed from the operating system's CSPRNG.
    ///
    /// # Panics
    /// If the operating system cannot provide randomness.
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.try_fill_bytes(&mut bytes).expect("the operating system provides randomness");
        Self(bytes)
    }

    /// Reads 64 hex digits.
    ///
    /// # Errors
    /// Anything else.
    pub fn parse(s: &str) -> Result<Self, super::ParseError> {
        let bad = || super::ParseError::Unknown("a draw seed is 64 hexadecimal digits");
        let s = s.trim();
        if s.len() != 64 || !s.is_ascii() {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Self(bytes))
    }

    /// The seed as 64 lowercase hex digits.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// The ticket of the applicant with id `id` (see the module's description).
    #[must_use]
    pub fn ticket(&self, id: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(id.as_bytes());
        h.finalize().into()
    }
}

/// `bytes` as lowercase hex digits.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Why an organiser changed by hand who has a seat: a note that says something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

/// Why a reason was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    #[error("a reason is needed")]
    Empty,
    #[error(transparent)]
    Note(#[from] super::ParseError),
}

impl Reason {
    /// Reads a reason: a [`super::Note`] that is not empty.
    ///
    /// # Errors
    /// An empty text, or one a note may not be.
    pub fn parse(s: &str) -> Result<Self, ReasonError> {
        let note = super::Note::parse(s)?;
        let text = note.as_str().trim();
        if text.is_empty() { Err(ReasonError::Empty) } else { Ok(Self(text.to_owned())) }
    }

    /// The reason as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why someone who answered yes waits for a seat: the first limit that keeps
/// them out, told to them on the answer page and in the mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// Every seat at the meeting is taken.
    MeetingFull,
    /// The chosen track has no seat left.
    TrackFull,
    /// The person's organisation has its `limit` of seats already.
    OrganisationQuota { limit: i64 },
}

/// Seats taken besides the person judged: at the meeting, in the chosen
/// track, and by the person's organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Taken {
    pub total: i64,
    pub in_track: i64,
    pub in_organisation: i64,
}

/// The limits a seat is judged on; `None`: no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeatLimits {
    pub capacity: Option<i64>,
    pub track_capacity: Option<i64>,
    pub per_organisation: Option<i64>,
}

impl WaitReason {
    /// The first limit, in the order meeting, track, organisation, that
    /// `taken` leaves no room under; `None` when a seat fits.
    #[must_use]
    pub fn judge(taken: Taken, limits: SeatLimits) -> Option<Self> {
        let full = |n: i64, limit: Option<i64>| limit.is_some_and(|l| n >= l);
        if full(taken.total, limits.capacity) {
            Some(Self::MeetingFull)
        } else if full(taken.in_track, limits.track_capacity) {
            Some(Self::TrackFull)
        } else {
            limits
                .per_organisation
                .filter(|&l| taken.in_organisation >= l)
                .map(|limit| Self::OrganisationQuota { limit })
        }
    }
}

/// One who applied for a seat: their registration, organisation and track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicant<I, O> {
    pub id: I,
    /// `None`: no organisation, so no organisation limit applies.
    pub organisation: Option<O>,
    pub track: Option<String>,
}

/// The limits a draw keeps, and the seats given before it.
#[derive(Debug, Clone)]
pub struct DrawLimits<O> {
    pub capacity: Option<i64>,
    pub per_organisation: Option<i64>,
    /// The capacity of each track that has one.
    pub track_capacity: HashMap<String, i64>,
    /// The organisation and track of each seat given already (by hand).
    pub seated: Vec<(Option<O>, Option<String>)>,
}

/// The outcome of a draw: who got a seat and the waiting list, each in drawn order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draw<I> {
    pub seated: Vec<I>,
    pub waitlist: Vec<I>,
}

/// Draws the seats among `applicants` within `limits` from `seed`. The order
/// in which the applicants are given does not matter; everyone is placed,
/// either seated or on the waiting list.
#[must_use]
pub fn draw<I, O>(applicants: Vec<Applicant<I, O>>, limits: &DrawLimits<O>, seed: &DrawSeed) -> Draw<I>
where
    I: std::fmt::Display + Ord,
    O: Eq + Hash + Clone,
{
    let mut ticketed: Vec<([u8; 32], Applicant<I, O>)> =
        applicants.into_iter().map(|a| (seed.ticket(&a.id.to_string()), a)).collect();
    ticketed.sort_by(|(x, a), (y, b)| x.cmp(y).then_with(|| a.id.cmp(&b.id)));
    let mut total = i64::try_from(limits.seated.len()).unwrap_or(i64::MAX);
    let mut per_org: HashMap<O, i64> = HashMap::new();
    let mut per_track: HashMap<String, i64> = HashMap::new();
    for (org, track) in &limits.seated {
        if let Some(o) = org {
            *per_org.entry(o.clone()).or_default() += 1;
        }
        if let Some(t) = track {
            *per_track.entry(t.clone()).or_default() += 1;
        }
    }
    let under = |n: i64, limit: Option<i64>| limit.is_none_or(|l| n < l);
    let mut out = Draw { seated: Vec::new(), waitlist: Vec::new() };
    for (_, a) in ticketed {
        let in_org = a.organisation.as_ref().map_or(0, |o| per_org.get(o).copied().unwrap_or(0));
        let in_track = a.track.as_ref().map_or(0, |t| per_track.get(t).copied().unwrap_or(0));
        let track_limit = a.track.as_ref().and_then(|t| limits.track_capacity.get(t).copied());
        let fits = under(total, limits.capacity)
            && (a.organisation.is_none() || under(in_org, limits.per_organisation))
            && under(in_track, track_limit);
        if fits {
            total += 1;
            if let Some(o) = &a.organisation {
                *per_org.entry(o.clone()).or_default() += 1;
            }
            if let Some(t) = &a.track {
                *per_track.entry(t.clone()).or_default() += 1;
            }
            out.seated.push(a.id);
        } else {
            out.waitlist.push(a.id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::{Applicant, DrawLimits, DrawSeed, Seating, draw};

    fn forty() -> Vec<Applicant<String, u8>> {
        (0..40u8)
            .map(|i| Applicant {
                id: format!("reg-{i:02}"),
                organisation: Some(i % 8),
                track: Some(if i % 2 == 0 { "a" } else { "b" }.to_owned()),
            })
            .collect()
    }

    fn limits() -> DrawLimits<u8> {
        DrawLimits { capacity: Some(10), per_organisation: Some(2), track_capacity: HashMap::new(), seated: Vec::new() }
    }

    #[test]
    fn the_same_seed_gives_the_same_draw_whatever_the_order_of_the_applicants() {
        let seed = DrawSeed::generate();
        let first = draw(forty(), &limits(), &seed);
        let mut reversed = forty();
        reversed.reverse();
        assert_eq!(draw(reversed, &limits(), &seed), first);
        let other = draw(forty(), &limits(), &DrawSeed::generate());
        assert_ne!(other, first, "another seed draws otherwise (a chance of one in billions to fail)");
    }

    #[test]
    fn a_draw_keeps_every_limit_and_places_everyone() {
        let seed = DrawSeed::parse(&"ab".repeat(32)).unwrap();
        let mut l = limits();
        l.track_capacity.insert("a".into(), 3);
        l.seated.push((Some(0), Some("b".into())));
        let out = draw(forty(), &l, &seed);
        assert_eq!(out.seated.len(), 9, "one seat was given before the draw");
        assert_eq!(out.seated.len() + out.waitlist.len(), 40);
        let all = forty();
        let of = |id: &String| all.iter().find(|a| &a.id == id).unwrap();
        for org in 0..8u8 {
            let before = u8::from(org == 0);
            let n = out.seated.iter().filter(|id| of(id).organisation == Some(org)).count();
            assert!(n + usize::from(before) <= 2, "organisation {org} has {n}");
        }
        assert!(out.seated.iter().filter(|id| of(id).track.as_deref() == Some("a")).count() <= 3);
    }

    #[test]
    fn the_first_full_limit_is_the_reason_for_waiting() {
        use super::{SeatLimits, Taken, WaitReason};
        let limits = SeatLimits { capacity: Some(10), track_capacity: Some(4), per_organisation: Some(2) };
        let taken = |total, in_track, in_organisation| Taken { total, in_track, in_organisation };
        assert_eq!(WaitReason::judge(taken(9, 3, 1), limits), None);
        assert_eq!(WaitReason::judge(taken(10, 4, 2), limits), Some(WaitReason::MeetingFull));
        assert_eq!(WaitReason::judge(taken(9, 4, 2), limits), Some(WaitReason::TrackFull));
        assert_eq!(WaitReason::judge(taken(9, 3, 2), limits), Some(WaitReason::OrganisationQuota { limit: 2 }));
        assert_eq!(WaitReason::judge(taken(100, 100, 100), SeatLimits::default()), None);
    }

    #[test]
    fn a_reason_says_something() {
        use super::{Reason, ReasonError};
        assert_eq!(Reason::parse("  \n ").unwrap_err(), ReasonError::Empty);
        assert_eq!(Reason::parse(" Taler på mødet ").unwrap().as_str(), "Taler på mødet");
        assert!(matches!(Reason::parse(&"x".repeat(2000)), Err(ReasonError::Note(_))));
    }

    #[test]
    fn a_seed_reads_back_from_its_hex_and_nothing_else_is_a_seed() {
        let seed = DrawSeed::generate();
        assert_eq!(DrawSeed::parse(&seed.to_hex()).unwrap(), seed);
        assert!(DrawSeed::parse("abc").is_err());
        assert!(DrawSeed::parse(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn a_ticket_is_the_sha256_of_the_seed_and_the_id() {
        let seed = DrawSeed::parse(&"00".repeat(32)).unwrap();
        // python3 -c "import hashlib; print(hashlib.sha256(b'\0' * 32 + b'x').hexdigest())"
        assert_eq!(super::hex(&seed.ticket("x")), "fdded6faced1af47fdaaac589602f58e0e040a882627806c42ddcc38da604cf0");
        assert_ne!(seed.ticket("x"), seed.ticket("y"));
    }

    #[test]
    fn answers_wait_for_the_opening_and_a_lottery_takes_applications_until_drawn() {
        let t = |s: &str| -> super::Timestamp { s.parse().unwrap() };
        let s = Seating { registration_opens_at: Some(t("2030-01-10T08:00:00Z")), ..Seating::default() };
        assert_eq!(s.opens_later(t("2030-01-10T07:59:59Z")), Some(t("2030-01-10T08:00:00Z")));
        assert_eq!(s.opens_later(t("2030-01-10T08:00:00Z")), None);
        assert!(!s.takes_applications(false));
        let lottery = Seating { allocation: super::Allocation::Lottery, ..s };
        assert!(lottery.takes_applications(false));
        assert!(!lottery.takes_applications(true));
    }
}
