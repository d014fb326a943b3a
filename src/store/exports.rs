//! The rows behind the exports: a meeting's participants and the mailing
//! list, read as a stream so that memory stays flat however long the list.
//! (The public list of organisations is [`Store::listed_organisations`].)
//!
//! Reads need no write gate on SQLite (WAL lets them run beside a writer).

use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};

use super::{Result, Store, StoreError, from_db_time, on_pool};
use crate::domain::{MeetingId, PersonStatus, Timestamp};

/// One line of a meeting's participant list.
#[derive(Debug, Clone)]
pub struct Participant {
    pub name: String,
    pub organisation: Option<String>,
    pub cvr: Option<String>,
    pub email: String,
    /// `attending`, `waitlisted`, `declined` or `cancelled`.
    pub status: String,
    /// The track's title, when the person chose one.
    pub track: Option<String>,
    pub diet: String,
    pub access_needs: String,
    pub checked_in_at: Option<Timestamp>,
    /// When the person answered (or, failing that, was invited).
    pub registered_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct ParticipantRow {
    name: String,
    organisation: Option<String>,
    cvr: Option<String>,
    email: String,
    status: String,
    track: Option<String>,
    diet: String,
    access_needs: String,
    checked_in_at: Option<i64>,
    registered_at: i64,
}

impl From<ParticipantRow> for Participant {
    fn from(r: ParticipantRow) -> Self {
        Self {
            name: r.name,
            organisation: r.organisation,
            cvr: r.cvr,
            email: r.email,
            status: r.status,
            track: r.track,
            diet: r.diet,
            access_needs: r.access_needs,
            checked_in_at: r.checked_in_at.map(from_db_time),
            registered_at: from_db_time(r.registered_at),
        }
    }
}

/// One person on the mailing list.
#[derive(Debug, Clone)]
pub struct ListMember {
    pub name: String,
    pub email: String,
    pub organisation: Option<String>,
    /// `pending`, `confirmed`, `unsubscribed` or `bounced`.
    pub status: String,
    /// Interest titles in the export's language, in the list's order, comma separated.
    pub interests: String,
    /// `da` or `en`.
    pub language: String,
    /// How many meetings the person has had a seat at.
    pub meetings_attended: i64,
    pub created_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct ListMemberRow {
    name: String,
    email: String,
    organisation: Option<String>,
    status: String,
    interests: Option<String>,
    language: String,
    meetings_attended: i64,
    created_at: i64,
    confirmed_at: Option<i64>,
}

impl From<ListMemberRow> for ListMember {
    fn from(r: ListMemberRow) -> Self {
        Self {
            name: r.name,
            email: r.email,
            organisation: r.organisation,
            status: r.status,
            interests: r.interests.unwrap_or_default(),
            language: r.language,
            meetings_attended: r.meetings_attended,
            created_at: from_db_time(r.created_at),
            confirmed_at: r.confirmed_at.map(from_db_time),
        }
    }
}

/// Everyone who answered the invitation (all but the merely invited):
/// attending, then the waiting list in order, then cancelled and declined.
/// A walk-in who gave no address has an empty one.
const PARTICIPANTS: &str = "select p.name, o.name as organisation, o.cvr, \
     case when p.email like '%@walk-in.invalid' then '' else p.email end as email, r.status, t.title as track, \
     r.diet, r.access_needs, r.checked_in_at, coalesce(r.answered_at, r.created_at) as registered_at \
     from registration r join person p on p.id = r.person_id \
     left join organisation o on o.id = p.organisation_id \
     left join track t on t.meeting_id = r.meeting_id and t.key = r.track_key \
     where r.meeting_id = $1 and r.status <> 'invited' \
     order by case r.status when 'attending' then 0 when 'waitlisted' then 1 when 'cancelled' then 2 else 3 end, \
     r.waitlist_position, p.name, r.id";

/// The mailing list query, with `aggregate` joining the interest titles
/// ([`super::dialect::Dialect::string_agg`]).
fn members_sql(aggregate: &str, title: &str) -> String {
    format!(
        "select p.name, p.email, o.name as organisation, p.status, \
         (select {aggregate}(i.{title}, ', ' order by i.position, i.key) from person_interest pi \
          join interest i on i.key = pi.interest_key where pi.person_id = p.id) as interests, \
         p.language, coalesce(a.n, 0) as meetings_attended, p.created_at, p.confirmed_at \
         from person p left join organisation o on o.id = p.organisation_id \
         left join (select person_id, count(*) as n from registration where status = 'attending' \
                    group by person_id) a on a.person_id = p.id \
         where p.status <> 'guest' and ($1 = '' or p.status = $1) \
         order by p.created_at, p.id"
    )
}

impl Store {
    /// How many lines [`Store::participants_stream`] will give.
    pub async fn participant_count(&self, meeting: MeetingId) -> Result<u64> {
        let n: i64 = on_pool!(self, |db| {
            sqlx::query_scalar("select count(*) from registration where meeting_id = $1 and status <> 'invited'")
                .bind(meeting.uuid())
                .fetch_one(db)
                .await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// A meeting's participant list as a stream, one line at a time
    /// (attending, then the waiting list in order, then cancelled and
    /// declined; by name within each).
    pub fn participants_stream(&self, meeting: MeetingId) -> BoxStream<'_, Result<Participant>> {
        let id = meeting.uuid();
        on_pool!(self, |db| {
            sqlx::query_as::<_, ParticipantRow>(PARTICIPANTS)
                .bind(id)
                .fetch(db)
                .map_ok(Participant::from)
                .map_err(StoreError::from)
                .boxed()
        })
    }

    /// How many lines [`Store::list_members_stream`] will give.
    pub async fn list_member_count(&self, status: Option<PersonStatus>) -> Result<u64> {
        let status = status.map(PersonStatus::as_str).unwrap_or_default();
        let n: i64 = on_pool!(self, |db| {
            sqlx::query_scalar("select count(*) from person where status <> 'guest' and ($1 = '' or status = $1)")
                .bind(status)
                .fetch_one(db)
                .await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The mailing list (never guests; only `status` when given) as a
    /// stream, oldest sign-up first. Interest titles are in English when
    /// `english`, else in Danish.
    pub fn list_members_stream(
        &self,
        status: Option<PersonStatus>,
        english: bool,
    ) -> BoxStream<'_, Result<ListMember>> {
        let status = status.map(PersonStatus::as_str).unwrap_or_default();
        let title = if english { "title_en" } else { "title_da" };
        let sql = members_sql(self.dialect().string_agg(), title);
        on_pool!(self, |db| sqlx::query_as::<_, ListMemberRow>(sqlx::AssertSqlSafe(sql))
            .bind(status)
            .fetch(db)
            .map_ok(ListMember::from)
            .map_err(StoreError::from)
            .boxed())
    }
}
