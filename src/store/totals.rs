//! A meeting's registrations counted — by status, track and check-in, and
//! per organisation — read from the registrations while they exist and from
//! the totals kept in their place once they were reduced after the
//! retention period (`retention::purge`), so every page, export and figure
//! about a past meeting reads the same numbers before and after.

use uuid::Uuid;

use super::{Result, Store, StoreError, from_db_time, on_pool};
use crate::domain::{MeetingId, RegistrationStatus, Timestamp};

/// How many registrations had one status, track and check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub status: RegistrationStatus,
    /// The track's key; `None` for none.
    pub track: Option<String>,
    pub checked_in: bool,
    pub count: i64,
}

/// When a meeting's registrations were reduced to totals, and how many there were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reduced {
    pub at: Timestamp,
    pub registrations: i64,
}

/// A meeting's registrations counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub tallies: Vec<Tally>,
    /// Set once the registrations themselves were deleted.
    pub reduced: Option<Reduced>,
}

impl Totals {
    fn sum(&self, keep: impl Fn(&Tally) -> bool) -> i64 {
        self.tallies.iter().filter(|t| keep(t)).map(|t| t.count).sum()
    }

    /// Everyone who had a registration: invited, answered or passed on to.
    #[must_use]
    pub fn all(&self) -> i64 {
        self.sum(|_| true)
    }

    /// Registrations with `status`.
    #[must_use]
    pub fn with_status(&self, status: RegistrationStatus) -> i64 {
        self.sum(|t| t.status == status)
    }

    /// Registrations with `status` on the track `key`.
    #[must_use]
    pub fn on_track(&self, key: &str, status: RegistrationStatus) -> i64 {
        self.sum(|t| t.status == status && t.track.as_deref() == Some(key))
    }

    /// Those checked in at the door.
    #[must_use]
    pub fn checked_in(&self) -> i64 {
        self.sum(|t| t.checked_in)
    }

    /// Those who held a seat or were checked in.
    #[must_use]
    pub fn registered(&self) -> i64 {
        self.sum(|t| t.status == RegistrationStatus::Attending || t.checked_in)
    }

    /// Those who held a seat and were not checked in.
    #[must_use]
    pub fn no_show(&self) -> i64 {
        self.sum(|t| t.status == RegistrationStatus::Attending && !t.checked_in)
    }

    /// The counts by status, statuses without any left out, in the order of their names.
    #[must_use]
    pub fn by_status(&self) -> Vec<(String, i64)> {
        let mut out: Vec<(String, i64)> = RegistrationStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), self.with_status(*s)))
            .filter(|(_, n)| *n > 0)
            .collect();
        out.sort();
        out
    }
}

type TallyRow = (String, String, bool, i64);

impl Store {
    /// The registrations of `meeting` counted, from the registrations or
    /// from the totals kept once they were reduced.
    pub async fn registration_totals(&self, meeting: MeetingId) -> Result<Totals> {
        let rows: Vec<TallyRow> = on_pool!(self, |db| {
            sqlx::query_as(
                "select status, track_key, checked_in, registrations from registration_total where meeting_id = $1 \
                 union all \
                 select status, coalesce(track_key, ''), checked_in_at is not null, count(*) from registration \
                 where meeting_id = $1 group by status, coalesce(track_key, ''), checked_in_at is not null",
            )
            .bind(meeting.uuid())
            .fetch_all(db)
            .await?
        });
        let reduced: Option<(i64, i64)> = on_pool!(self, |db| {
            sqlx::query_as("select reduced_at, registrations from registration_reduction where meeting_id = $1")
                .bind(meeting.uuid())
                .fetch_optional(db)
                .await?
        });
        let corrupt = |e: crate::domain::ParseError| StoreError::Database(sqlx::Error::Decode(e.into()));
        let mut tallies = Vec::with_capacity(rows.len());
        for (status, track, checked_in, count) in rows {
            let status = RegistrationStatus::parse(&status).map_err(corrupt)?;
            let track = Some(track).filter(|t| !t.is_empty());
            tallies.push(Tally { status, track, checked_in, count });
        }
        Ok(Totals {
            tallies,
            reduced: reduced.map(|(at, registrations)| Reduced { at: from_db_time(at), registrations }),
        })
    }
}

/// The `(meeting, organisation)` pairs of an organisation whose people were
/// checked in at a meeting, counted from the registrations and from the
/// totals of reduced meetings, for meetings matching `meetings` (a condition
/// on `m`, binding `$1`, `$2` and `$3`).
pub(super) fn taking_part_sql(meetings: &str) -> String {
    format!(
        "select distinct r.meeting_id, p.organisation_id from registration r \
         join person p on p.id = r.person_id join meeting m on m.id = r.meeting_id \
         where r.checked_in_at is not null and p.organisation_id is not null and {meetings} \
         union \
         select t.meeting_id, t.organisation_id from registration_organisation_total t \
         join meeting m on m.id = t.meeting_id where t.checked_in > 0 and {meetings}"
    )
}

/// The pairs [`taking_part_sql`] reads.
pub(super) type TakingPart = (Uuid, Uuid);
