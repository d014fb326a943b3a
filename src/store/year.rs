//! The figures of the annual picture for a period: the meetings held with
//! how many were invited, registered, came and stayed away; how often the
//! organisations took part; how the list grew and shrank; and what bounced.
//!
//! Everything is counted from what the database holds now — the
//! registrations, or the totals of a meeting whose registrations were reduced
//! after the retention period: people erased since are no longer counted, and the audit log (which the bounce figures
//! come from) keeps entries only as long as `security.audit_retention_months`.

use std::collections::HashMap;

use uuid::Uuid;

use super::evaluations::{TrendSeries, trend};
use super::{Result, Store, db_time, from_db_time, on_pool};
use crate::domain::{MeetingId, Period, Timestamp};

/// One meeting held in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingFigures {
    pub id: MeetingId,
    pub number: Option<i32>,
    pub title: String,
    pub starts_at: Timestamp,
    /// Everyone who had a registration: invited by mail, passed on to, or answered.
    pub invited: i64,
    /// Those who held a seat, or were checked in.
    pub registered: i64,
    /// Those checked in at the door.
    pub attended: i64,
    /// Registered, and not checked in.
    pub no_show: i64,
}

/// The mailing list over the period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListFigures {
    /// Confirmed before the period began and not left by then.
    pub at_start: i64,
    /// Confirmed sign-ups within the period.
    pub joined: i64,
    /// People who left the list within the period.
    pub left: i64,
}

impl ListFigures {
    /// Joined less left.
    #[must_use]
    pub const fn growth(self) -> i64 {
        self.joined - self.left
    }

    /// The share of those on the list at the start who left, if there were any.
    #[must_use]
    pub fn churn(self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)] // list sizes are far below 2^52
        (self.at_start > 0).then(|| self.left as f64 / self.at_start as f64)
    }
}

/// Bounce reports recorded within the period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BounceFigures {
    pub hard: i64,
    pub soft: i64,
    pub complaints: i64,
}

/// The annual picture's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Annual {
    pub period: Period,
    /// Meetings that started within the period and have ended, not cancelled, oldest first.
    pub meetings: Vec<MeetingFigures>,
    /// Meetings within the period that were cancelled.
    pub cancelled: i64,
    /// How many organisations took part in exactly `n` of the meetings held,
    /// as `(n, organisations)` for `n` from 1 to the number of meetings.
    /// Taking part means someone from the organisation was checked in.
    pub organisations: Vec<(i64, i64)>,
    pub list: ListFigures,
    pub bounces: BounceFigures,
    /// The recurring rating and choice questions, at the meetings held where
    /// someone answered them; questions nobody answered are left out.
    pub trend: Vec<TrendSeries>,
}

impl Annual {
    /// Organisations that took part at least once.
    #[must_use]
    pub fn organisations_total(&self) -> i64 {
        self.organisations.iter().map(|(_, n)| n).sum()
    }
}

/// Counts how many organisations took part how many times: `taking_part`
/// holds one `(meeting, organisation)` pair per meeting an organisation came to.
#[must_use]
pub fn times_taken_part(held: usize, taking_part: &[(Uuid, Uuid)]) -> Vec<(i64, i64)> {
    let mut per_organisation: HashMap<Uuid, usize> = HashMap::new();
    for (_, organisation) in taking_part {
        *per_organisation.entry(*organisation).or_default() += 1;
    }
    (1..=held)
        .map(|n| {
            let count = per_organisation.values().filter(|&&c| c == n).count();
            (i64::try_from(n).unwrap_or(i64::MAX), i64::try_from(count).unwrap_or(i64::MAX))
        })
        .collect()
}

type MeetingRow = (Uuid, Option<i32>, String, i64);

impl Store {
    /// The annual picture of `period`, counted at `now`.
    pub async fn annual(&self, period: Period, now: Timestamp) -> Result<Annual> {
        let (start, end) = (db_time(period.start()), db_time(period.end()));
        let rows: Vec<MeetingRow> = on_pool!(self, |db| {
            sqlx::query_as(
                "select m.id, m.number, m.title, m.starts_at \
                 from meeting m where m.starts_at >= $1 and m.starts_at < $2 and m.ends_at <= $3 \
                 and m.status not in ('draft', 'cancelled') order by m.starts_at, m.id",
            )
            .bind(start)
            .bind(end)
            .bind(db_time(now))
            .fetch_all(db)
            .await?
        });
        // Counted from the registrations, or from the totals of a meeting reduced since.
        let mut meetings = Vec::with_capacity(rows.len());
        for (id, number, title, starts_at) in rows {
            let id = MeetingId::from_uuid(id);
            let totals = self.registration_totals(id).await?;
            meetings.push(MeetingFigures {
                id,
                number,
                title,
                starts_at: from_db_time(starts_at),
                invited: totals.all(),
                registered: totals.registered(),
                attended: totals.checked_in(),
                no_show: totals.no_show(),
            });
        }
        let cancelled: i64 = on_pool!(self, |db| {
            sqlx::query_scalar(
                "select count(*) from meeting where starts_at >= $1 and starts_at < $2 and status = 'cancelled'",
            )
            .bind(start)
            .bind(end)
            .fetch_one(db)
            .await?
        });
        let held = "m.starts_at >= $1 and m.starts_at < $2 and m.ends_at <= $3 \
                    and m.status not in ('draft', 'cancelled')";
        let sql = super::totals::taking_part_sql(held);
        let taking_part: Vec<super::totals::TakingPart> = on_pool!(self, |db| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(start)
                .bind(end)
                .bind(db_time(now))
                .fetch_all(db)
                .await?
        });
        let (at_start, joined, left): (i64, i64, i64) = on_pool!(self, |db| {
            sqlx::query_as(
                "select (select count(*) from person where confirmed_at < $1 and (left_at is null or left_at >= $1)), \
                 (select count(*) from person where confirmed_at >= $1 and confirmed_at < $2), \
                 (select count(*) from person where left_at >= $1 and left_at < $2)",
            )
            .bind(start)
            .bind(end)
            .fetch_one(db)
            .await?
        });
        let (hard, soft, complaints): (i64, i64, i64) = on_pool!(self, |db| {
            sqlx::query_as(
                "select (select count(*) from audit_log where action = 'person.bounced' and at >= $1 and at < $2), \
                 (select count(*) from audit_log where action = 'person.soft_bounce' and at >= $1 and at < $2), \
                 (select count(*) from audit_log where action = 'person.complaint' and at >= $1 and at < $2)",
            )
            .bind(start)
            .bind(end)
            .fetch_one(db)
            .await?
        });
        Ok(Annual {
            period,
            organisations: times_taken_part(meetings.len(), &taking_part),
            meetings,
            cancelled,
            list: ListFigures { at_start, joined, left },
            bounces: BounceFigures { hard, soft, complaints },
            trend: Vec::new(),
        })
    }
}

/// The annual picture of `period` at `now`, with the evaluation trend of
/// the meetings held in it.
pub async fn annual_picture(store: &Store, period: Period, now: Timestamp) -> Result<Annual> {
    let mut annual = store.annual(period, now).await?;
    let held: Vec<MeetingId> = annual.meetings.iter().map(|m| m.id).collect();
    annual.trend = trend(store)
        .await?
        .into_iter()
        .filter_map(|mut s| {
            s.points.retain(|p| p.answered > 0 && held.contains(&p.meeting_id));
            (!s.points.is_empty()).then_some(s)
        })
        .collect();
    Ok(annual)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisations_are_counted_by_how_many_meetings_they_came_to() {
        let (m1, m2, m3) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let pairs = [(m1, a), (m2, a), (m3, a), (m1, b), (m3, b), (m2, c)];
        assert_eq!(times_taken_part(3, &pairs), [(1, 1), (2, 1), (3, 1)]);
        assert_eq!(times_taken_part(0, &[]), []);
        let list = ListFigures { at_start: 8, joined: 3, left: 2 };
        assert_eq!((list.growth(), list.churn()), (1, Some(0.25)));
        assert_eq!(ListFigures::default().churn(), None);
    }
}
