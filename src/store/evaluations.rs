//! Evaluations: a meeting's questionnaire, who it went to, the answers, and
//! the results computed from them — per meeting ([`results`], broken down by
//! track with small groups hidden in [`results_by`]) and per stable question
//! across meetings ([`trend`]).
//!
//! Anonymity is kept by the schema: an answer row carries no person (unless
//! the questionnaire is not anonymous) and no token hash, only a
//! `response_key` that the holder of the link can compute (see
//! [`crate::domain::evaluation::response_key`]); that a person answered is a
//! flag on their recipient row, with no time.

use serde::Serialize;
use sqlx::types::Json;
use uuid::Uuid;

use super::campaigns::{Recipient, RecipientWithRegistration};
use super::{Result, Store, StoreError, TxInner, WriteTx, db_time, from_db_time, now, on_pool, on_tx};
use crate::domain::evaluation::{Answer, Answers, BreakdownMinimum, QuestionKind, Questionnaire};
use crate::domain::{CampaignId, MeetingId, PersonId, RegistrationId, Timestamp};

/// A meeting's evaluation as stored. A meeting without one uses the
/// standard questionnaire until an organiser edits it or sends it.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub meeting_id: MeetingId,
    pub questionnaire: Questionnaire,
    /// Answers are stored with no link to the person (the default).
    pub anonymous: bool,
    /// Made-up results loaded with the demo data.
    pub demo: bool,
    /// How many people it was sent to.
    pub recipients: i64,
    pub sent_at: Option<Timestamp>,
    /// After this instant no answer is taken or changed.
    pub closes_at: Option<Timestamp>,
    /// When non-responders get a reminder.
    pub reminder_at: Option<Timestamp>,
    /// Free-text answers show in the results only once an organiser released them.
    pub hold_texts: bool,
}

impl Evaluation {
    /// A meeting's evaluation before anything was stored: the standard questionnaire, anonymous.
    #[must_use]
    pub fn unsaved(meeting_id: MeetingId) -> Self {
        Self {
            meeting_id,
            questionnaire: Questionnaire::standard(),
            anonymous: true,
            demo: false,
            recipients: 0,
            sent_at: None,
            closes_at: None,
            reminder_at: None,
            hold_texts: false,
        }
    }

    /// Whether answers are no longer taken at `at`.
    #[must_use]
    pub fn closed(&self, at: Timestamp) -> bool {
        self.closes_at.is_some_and(|c| c <= at)
    }
}

#[derive(sqlx::FromRow)]
struct EvaluationRow {
    meeting_id: Uuid,
    questions: Json<Questionnaire>,
    anonymous: bool,
    demo: bool,
    recipients: i32,
    sent_at: Option<i64>,
    closes_at: Option<i64>,
    reminder_at: Option<i64>,
    hold_texts: bool,
}

impl From<EvaluationRow> for Evaluation {
    fn from(r: EvaluationRow) -> Self {
        Self {
            meeting_id: MeetingId::from_uuid(r.meeting_id),
            questionnaire: r.questions.0,
            anonymous: r.anonymous,
            demo: r.demo,
            recipients: i64::from(r.recipients),
            sent_at: r.sent_at.map(from_db_time),
            closes_at: r.closes_at.map(from_db_time),
            reminder_at: r.reminder_at.map(from_db_time),
            hold_texts: r.hold_texts,
        }
    }
}

const EVALUATION: &str = "select meeting_id, questions, anonymous, demo, recipients, sent_at, closes_at, reminder_at, \
                          hold_texts from evaluation where meeting_id = $1";

/// What became of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// The person's first answer.
    First,
    /// The answer given earlier through the same link was replaced.
    Replaced,
    /// The person already answered through another link (an earlier mail);
    /// only that link can change the answer, so nobody is counted twice.
    AnsweredElsewhere,
    /// The evaluation has closed.
    Closed,
    /// The person was not sent this evaluation.
    NotRecipient,
}

/// One answer to record.
#[derive(Debug, Clone)]
pub struct NewResponse<'a> {
    pub meeting: MeetingId,
    pub person: PersonId,
    /// From [`crate::domain::evaluation::response_key`].
    pub key: [u8; 32],
    pub answers: &'a Answers,
    /// Leave the person's name for the planning group, apart from the answers.
    pub volunteer: bool,
}

impl Store {
    /// The meeting's stored evaluation, if any.
    pub async fn evaluation(&self, meeting: MeetingId) -> Result<Option<Evaluation>> {
        let row: Option<EvaluationRow> =
            on_pool!(self, |db| sqlx::query_as(EVALUATION).bind(meeting.uuid()).fetch_optional(db).await?);
        Ok(row.map(Evaluation::from))
    }

    /// The meeting's evaluation, or the standard one when none is stored.
    pub async fn evaluation_or_default(&self, meeting: MeetingId) -> Result<Evaluation> {
        Ok(self.evaluation(meeting).await?.unwrap_or_else(|| Evaluation::unsaved(meeting)))
    }

    /// Stores an edited questionnaire. Refused once the evaluation was sent,
    /// since answers already given refer to its questions.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when it was sent.
    pub async fn save_questionnaire(&self, meeting: MeetingId, q: &Questionnaire, anonymous: bool) -> Result<()> {
        let mut tx = self.begin().await?;
        ensure(&mut tx, meeting).await?;
        let n = on_tx!(tx, |c| {
            sqlx::query(
                "update evaluation set questions = $2, anonymous = $3, updated_at = $4 \
                 where meeting_id = $1 and sent_at is null",
            )
            .bind(meeting.uuid())
            .bind(Json(q))
            .bind(anonymous)
            .bind(db_time(now()))
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::Conflict("evaluation already sent".into()));
        }
        tx.commit().await
    }

    /// The answers stored under `key` for the meeting, if any.
    pub async fn evaluation_response(&self, meeting: MeetingId, key: &[u8; 32]) -> Result<Option<Answers>> {
        let row: Option<Json<Answers>> = on_pool!(self, |db| {
            sqlx::query_scalar("select answers from evaluation_response where meeting_id = $1 and response_key = $2")
                .bind(meeting.uuid())
                .bind(key.as_slice())
                .fetch_optional(db)
                .await?
        });
        Ok(row.map(|j| j.0))
    }

    /// Whether the person asked to be contacted about the planning group.
    pub async fn evaluation_volunteered(&self, meeting: MeetingId, person: PersonId) -> Result<bool> {
        let n: i64 = on_pool!(self, |db| {
            sqlx::query_scalar("select count(*) from evaluation_volunteer where meeting_id = $1 and person_id = $2")
                .bind(meeting.uuid())
                .bind(person.uuid())
                .fetch_one(db)
                .await?
        });
        Ok(n > 0)
    }

    /// Names and organisations of those who asked to be contacted about the
    /// planning group, by name. Personal data: for organisers only.
    pub async fn evaluation_volunteers(&self, meeting: MeetingId) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, Option<String>)> = on_pool!(self, |db| {
            sqlx::query_as(
                "select p.name, o.name from evaluation_volunteer v join person p on p.id = v.person_id \
                 left join organisation o on o.id = p.organisation_id where v.meeting_id = $1 order by p.name",
            )
            .bind(meeting.uuid())
            .fetch_all(db)
            .await?
        });
        Ok(rows.into_iter().map(|(n, o)| (n, o.unwrap_or_default())).collect())
    }

    /// Records one person's answers in one transaction: through the same
    /// link they replace the earlier ones; a person is counted once, however
    /// many links they hold.
    pub async fn save_evaluation_response(&self, r: &NewResponse<'_>) -> Result<Saved> {
        let mut tx = self.begin().await?;
        let at = db_time(now());
        let row: Option<(bool, Option<i64>)> = on_tx!(tx, |c| {
            sqlx::query_as("select anonymous, closes_at from evaluation where meeting_id = $1 and sent_at is not null")
                .bind(r.meeting.uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        let Some((anonymous, closes_at)) = row else { return Ok(Saved::NotRecipient) };
        if closes_at.is_some_and(|c| c <= at) {
            return Ok(Saved::Closed);
        }
        let recipient: Option<bool> = on_tx!(tx, |c| {
            sqlx::query_scalar("select answered from evaluation_recipient where meeting_id = $1 and person_id = $2")
                .bind(r.meeting.uuid())
                .bind(r.person.uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        if recipient.is_none() {
            return Ok(Saved::NotRecipient);
        }
        let replaced = on_tx!(tx, |c| {
            // A changed answer is read again before it shows.
            sqlx::query(
                "delete from evaluation_text_release where response_id = \
                 (select id from evaluation_response where meeting_id = $1 and response_key = $2)",
            )
            .bind(r.meeting.uuid())
            .bind(r.key.as_slice())
            .execute(&mut *c)
            .await?;
            sqlx::query("update evaluation_response set answers = $3 where meeting_id = $1 and response_key = $2")
                .bind(r.meeting.uuid())
                .bind(r.key.as_slice())
                .bind(Json(r.answers))
                .execute(&mut *c)
                .await?
                .rows_affected()
                == 1
        });
        let outcome = if replaced {
            Saved::Replaced
        } else {
            // Claiming the flag first makes a second link (or a second
            // request racing this one) find it taken: one answer per person.
            let claimed = on_tx!(tx, |c| {
                sqlx::query(
                    "update evaluation_recipient set answered = true \
                     where meeting_id = $1 and person_id = $2 and answered = false",
                )
                .bind(r.meeting.uuid())
                .bind(r.person.uuid())
                .execute(&mut *c)
                .await?
                .rows_affected()
                    == 1
            });
            if !claimed {
                return Ok(Saved::AnsweredElsewhere);
            }
            on_tx!(tx, |c| {
                // A random id (not time-ordered) and no timestamp, so rows
                // cannot be matched to people by when they were written.
                // The track of their seat goes with the answer, for breakdowns
                // that hide groups smaller than the configured minimum.
                sqlx::query(
                    "insert into evaluation_response (id, meeting_id, response_key, person_id, answers, track_key) \
                     values ($1, $2, $3, $4, $5, (select track_key from registration \
                     where meeting_id = $2 and person_id = $6 and status = 'attending'))",
                )
                .bind(Uuid::new_v4())
                .bind(r.meeting.uuid())
                .bind(r.key.as_slice())
                .bind((!anonymous).then_some(r.person.uuid()))
                .bind(Json(r.answers))
                .bind(r.person.uuid())
                .execute(&mut *c)
                .await?;
            });
            Saved::First
        };
        on_tx!(tx, |c| {
            if r.volunteer {
                sqlx::query(
                    "insert into evaluation_volunteer (meeting_id, person_id) values ($1, $2) \
                     on conflict (meeting_id, person_id) do nothing",
                )
                .bind(r.meeting.uuid())
                .bind(r.person.uuid())
                .execute(&mut *c)
                .await?;
            } else {
                sqlx::query("delete from evaluation_volunteer where meeting_id = $1 and person_id = $2")
                    .bind(r.meeting.uuid())
                    .bind(r.person.uuid())
                    .execute(&mut *c)
                    .await?;
            }
        });
        if let TxInner::Postgres(c) = &mut tx.inner {
            scramble(c, r.meeting).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }
}

/// Stores the standard questionnaire for the meeting if it has none.
async fn ensure(tx: &mut WriteTx, meeting: MeetingId) -> Result<()> {
    let at = db_time(now());
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into evaluation (meeting_id, questions, created_at, updated_at) values ($1, $2, $3, $3) \
             on conflict (meeting_id) do nothing",
        )
        .bind(meeting.uuid())
        .bind(Json(Questionnaire::standard()))
        .bind(at)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// Gives meeting `to` the questionnaire of meeting `from`, if it has one of
/// its own (otherwise `to` keeps the standard one): the questions, whether
/// answers are anonymous and whether free texts are held; nothing sent or
/// answered.
pub async fn copy_questionnaire(tx: &mut WriteTx, from: MeetingId, to: MeetingId) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
            "insert into evaluation (meeting_id, questions, anonymous, hold_texts, created_at, updated_at) \
             select $2, questions, anonymous, hold_texts, $3, $3 from evaluation where meeting_id = $1",
        )
        .bind(from.uuid())
        .bind(to.uuid())
        .bind(db_time(now()))
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// Marks the evaluation sent, with its closing and reminder times; false when
/// it was sent before (nothing changes then).
pub async fn mark_sent(
    tx: &mut WriteTx,
    meeting: MeetingId,
    closes_at: Timestamp,
    reminder_at: Option<Timestamp>,
) -> Result<bool> {
    ensure(tx, meeting).await?;
    let at = db_time(now());
    Ok(on_tx!(tx, |c| {
        sqlx::query(
            "update evaluation set sent_at = $2, closes_at = $3, reminder_at = $4, updated_at = $2 \
             where meeting_id = $1 and sent_at is null",
        )
        .bind(meeting.uuid())
        .bind(at)
        .bind(db_time(closes_at))
        .bind(reminder_at.map(db_time))
        .execute(&mut *c)
        .await?
        .rows_affected()
            == 1
    }))
}

/// Reads the evaluation inside a write transaction.
///
/// # Errors
/// [`StoreError::NotFound`] when the meeting has none.
pub async fn evaluation_in(tx: &mut WriteTx, meeting: MeetingId) -> Result<Evaluation> {
    let row: EvaluationRow = on_tx!(tx, |c| sqlx::query_as(EVALUATION).bind(meeting.uuid()).fetch_one(&mut *c).await?);
    Ok(row.into())
}

const ATTENDEE: &str = "select p.id, p.email, p.name, o.name as organisation, p.status, p.language, \
                        r.id as registration from registration r join person p on p.id = r.person_id \
                        left join organisation o on o.id = p.organisation_id \
                        where r.meeting_id = $1 and r.status = 'attending' \
                        and p.status not in ('bounced', 'unsubscribed') \
                        and p.email not like '%@walk-in.invalid'";

/// Who attended the meeting: those checked in, or — when nobody was checked
/// in — everyone registered as attending. People whose address bounced or who
/// left the list are left out, and so are walk-ins who gave no address. Ordered by address.
pub async fn attendees(tx: &mut WriteTx, meeting: MeetingId) -> Result<Vec<(Recipient, RegistrationId)>> {
    let checked: i64 = on_tx!(tx, |c| {
        sqlx::query_scalar(
            "select count(*) from registration where meeting_id = $1 and status = 'attending' \
             and checked_in_at is not null",
        )
        .bind(meeting.uuid())
        .fetch_one(&mut *c)
        .await?
    });
    let sql = if checked > 0 {
        format!("{ATTENDEE} and r.checked_in_at is not null order by p.email")
    } else {
        format!("{ATTENDEE} order by p.email")
    };
    let rows: Vec<RecipientWithRegistration> = on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(meeting.uuid())
        .fetch_all(&mut *c)
        .await?);
    rows.into_iter().map(RecipientWithRegistration::parse).collect()
}

/// Recipients of the evaluation who have not answered, still reachable, by address.
pub async fn non_responders(tx: &mut WriteTx, meeting: MeetingId) -> Result<Vec<(Recipient, RegistrationId)>> {
    let sql = format!(
        "{ATTENDEE} and exists (select 1 from evaluation_recipient e where e.meeting_id = r.meeting_id \
         and e.person_id = r.person_id and e.answered = false) order by p.email"
    );
    let rows: Vec<RecipientWithRegistration> = on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(meeting.uuid())
        .fetch_all(&mut *c)
        .await?);
    rows.into_iter().map(RecipientWithRegistration::parse).collect()
}

/// Records who the evaluation was sent to and updates the count.
pub async fn add_recipients(tx: &mut WriteTx, meeting: MeetingId, people: &[PersonId]) -> Result<()> {
    for chunk in people.chunks(1000) {
        on_tx!(tx, |c| {
            let mut q = sqlx::QueryBuilder::new("insert into evaluation_recipient (meeting_id, person_id) ");
            q.push_values(chunk, |mut row, p| {
                row.push_bind(meeting.uuid()).push_bind(p.uuid());
            });
            q.push(" on conflict (meeting_id, person_id) do nothing");
            q.build().execute(&mut *c).await?;
        });
    }
    on_tx!(tx, |c| {
        sqlx::query(
            "update evaluation set recipients = \
             (select count(*) from evaluation_recipient e where e.meeting_id = $1) where meeting_id = $1",
        )
        .bind(meeting.uuid())
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// How many chose one option (or one rating value).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionCount {
    /// The option's key, or the rating value `"1"`–`"5"`.
    pub key: String,
    pub label_da: String,
    pub label_en: String,
    pub count: i64,
}

/// The results of one question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionResult {
    /// The stable key, the same across meetings.
    pub key: String,
    pub kind: QuestionKind,
    pub text_da: String,
    pub text_en: String,
    /// How many answered this question.
    pub answered: i64,
    /// The distribution over the options (ratings: over 1–5); empty for free text.
    /// For multiple choice one person may count under several options.
    pub options: Vec<OptionCount>,
    /// The mean of a rating question; `None` for other kinds or without answers.
    pub average: Option<f64>,
    /// The free-text answers, in no particular order.
    pub texts: Vec<String>,
}

/// A meeting's evaluation results as plain data: what the results page, the
/// API and the exports show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Results {
    pub meeting_id: MeetingId,
    pub anonymous: bool,
    /// Made-up results from the demo data.
    pub demo: bool,
    pub sent_at: Option<Timestamp>,
    pub closes_at: Option<Timestamp>,
    /// How many it was sent to.
    pub recipients: i64,
    /// How many answered (each person once).
    pub responses: i64,
    /// `responses / recipients` between 0 and 1; `None` when sent to nobody.
    pub response_rate: Option<f64>,
    /// One entry per question, in the questionnaire's order.
    pub questions: Vec<QuestionResult>,
    /// Free-text answers held back until an organiser has read them.
    pub texts_held: i64,
    /// The fewest answers a group of [`Results::by_track`] needs to be shown.
    pub breakdown_minimum: u32,
    /// The answers by the track of the seat, one group per track of the
    /// meeting (none when it has no tracks); see [`results_by`].
    pub by_track: Vec<GroupResult>,
}

/// One group of a breakdown (a track), shown only when it has at least the
/// configured minimum of answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupResult {
    pub key: String,
    pub title: String,
    /// Too few answered in this group (or in it and one other, see
    /// [`results_by`]) for its results to be shown.
    pub hidden: bool,
    /// How many answered; `None` when hidden.
    pub responses: Option<i64>,
    /// The average of each rating question, in the questionnaire's order; empty when hidden.
    pub averages: Vec<GroupAverage>,
}

/// A rating question's average within one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupAverage {
    pub key: String,
    pub average: Option<f64>,
}

/// Counts answers against a questionnaire.
#[must_use]
pub fn tally(meeting_id: MeetingId, e: &Evaluation, answers: &[Answers]) -> Results {
    let responses = i64::try_from(answers.len()).unwrap_or(i64::MAX);
    #[allow(clippy::cast_precision_loss)] // counts are far below 2^52
    let rate = |n: i64, d: i64| (d > 0).then(|| n as f64 / d as f64);
    let questions = e
        .questionnaire
        .questions
        .iter()
        .map(|q| {
            let given: Vec<&Answer> = answers.iter().filter_map(|a| a.get(&q.key)).collect();
            let options = q
                .option_keys()
                .into_iter()
                .map(|k| OptionCount {
                    count: i64::try_from(given.iter().filter(|a| a.has(&k)).count()).unwrap_or(0),
                    label_da: q.option_label(&k, false),
                    label_en: q.option_label(&k, true),
                    key: k,
                })
                .collect();
            let ratings: Vec<i64> = given
                .iter()
                .filter_map(|a| if let Answer::Rating(n) = a { Some(i64::from(*n)) } else { None })
                .collect();
            let texts =
                given.iter().filter_map(|a| if let Answer::Text(t) = a { Some(t.clone()) } else { None }).collect();
            QuestionResult {
                key: q.key.clone(),
                kind: q.kind,
                text_da: q.da.clone(),
                text_en: q.en.clone(),
                answered: i64::try_from(given.len()).unwrap_or(0),
                options,
                average: rate(ratings.iter().sum(), i64::try_from(ratings.len()).unwrap_or(0)),
                texts,
            }
        })
        .collect();
    Results {
        meeting_id,
        anonymous: e.anonymous,
        demo: e.demo,
        sent_at: e.sent_at,
        closes_at: e.closes_at,
        recipients: e.recipients,
        responses,
        response_rate: rate(responses, e.recipients),
        questions,
        texts_held: 0,
        breakdown_minimum: BreakdownMinimum::DEFAULT.get(),
        by_track: Vec::new(),
    }
}

/// The breakdown of `answers` (each with the track of its seat) over
/// `tracks`, hiding every group with fewer than `minimum` answers. When only
/// one group would be hidden, the smallest shown one is hidden with it, so
/// that the hidden group cannot be worked out from the totals and the others.
#[must_use]
pub fn breakdown(
    e: &Evaluation,
    tracks: &[(String, String)],
    answers: &[(Answers, Option<String>)],
    minimum: BreakdownMinimum,
) -> Vec<GroupResult> {
    let ratings: Vec<&str> =
        e.questionnaire.questions.iter().filter(|q| q.kind == QuestionKind::Rating).map(|q| q.key.as_str()).collect();
    let mut groups: Vec<GroupResult> = tracks
        .iter()
        .map(|(key, title)| {
            let mine: Vec<&Answers> =
                answers.iter().filter(|(_, t)| t.as_deref() == Some(key.as_str())).map(|(a, _)| a).collect();
            let averages = ratings
                .iter()
                .map(|q| {
                    let given: Vec<i64> = mine
                        .iter()
                        .filter_map(|a| if let Some(Answer::Rating(n)) = a.get(q) { Some(i64::from(*n)) } else { None })
                        .collect();
                    #[allow(clippy::cast_precision_loss)] // counts are far below 2^52
                    let average = (!given.is_empty()).then(|| given.iter().sum::<i64>() as f64 / given.len() as f64);
                    GroupAverage { key: (*q).to_owned(), average }
                })
                .collect();
            let n = i64::try_from(mine.len()).unwrap_or(i64::MAX);
            GroupResult {
                key: key.clone(),
                title: title.clone(),
                hidden: !minimum.shows(n),
                responses: Some(n),
                averages,
            }
        })
        .collect();
    if groups.iter().filter(|g| g.hidden).count() == 1 {
        let smallest = groups.iter_mut().filter(|g| !g.hidden).min_by_key(|g| g.responses);
        if let Some(g) = smallest {
            g.hidden = true;
        }
    }
    for g in groups.iter_mut().filter(|g| g.hidden) {
        g.responses = None;
        g.averages.clear();
    }
    groups
}

/// A meeting's evaluation results: response rate, the distribution of every
/// rating and choice question, rating averages and the free-text answers.
/// This is the one source for the results page, the API and exports.
///
/// # Errors
/// [`StoreError::NotFound`] when the meeting has no evaluation.
pub async fn results(store: &Store, meeting: MeetingId) -> Result<Results> {
    results_by(store, meeting, BreakdownMinimum::DEFAULT).await
}

/// As [`results`], with the breakdown by track hiding groups of fewer than
/// `minimum` answers (`evaluation.breakdown_minimum`; see [`breakdown`]).
///
/// # Errors
/// As [`results`].
pub async fn results_by(store: &Store, meeting: MeetingId, minimum: BreakdownMinimum) -> Result<Results> {
    let e = store.evaluation(meeting).await?.ok_or(StoreError::NotFound)?;
    let rows: Vec<(Uuid, Json<Answers>, Option<String>)> = on_pool!(store, |db| {
        sqlx::query_as("select id, answers, track_key from evaluation_response where meeting_id = $1 order by id")
            .bind(meeting.uuid())
            .fetch_all(db)
            .await?
    });
    let released = if e.hold_texts { released_texts(store, meeting).await? } else { Vec::new() };
    let mut held = 0;
    let answers: Vec<(Answers, Option<String>)> = rows
        .into_iter()
        .map(|(id, Json(mut a), t)| {
            if e.hold_texts {
                // What nobody has read yet stays out of the results.
                let before = a.0.len();
                a.0.retain(|key, answer| !matches!(answer, Answer::Text(_)) || released.contains(&(id, key.clone())));
                held += a.0.len().abs_diff(before);
            }
            (a, t)
        })
        .collect();
    let plain: Vec<Answers> = answers.iter().map(|(a, _)| a.clone()).collect();
    let mut results = tally(meeting, &e, &plain);
    results.texts_held = i64::try_from(held).unwrap_or(i64::MAX);
    let tracks: Vec<(String, String)> =
        store.meeting(meeting).await?.tracks.into_iter().map(|t| (t.key, t.title)).collect();
    results.by_track = breakdown(&e, &tracks, &answers, minimum);
    results.breakdown_minimum = minimum.get();
    Ok(results)
}

/// The (answer, question) pairs of `meeting` whose free text was released.
async fn released_texts(store: &Store, meeting: MeetingId) -> Result<Vec<(Uuid, String)>> {
    Ok(on_pool!(store, |db| {
        sqlx::query_as(
            "select r.response_id, r.question_key from evaluation_text_release r \
             join evaluation_response e on e.id = r.response_id where e.meeting_id = $1",
        )
        .bind(meeting.uuid())
        .fetch_all(db)
        .await?
    }))
}

/// A free-text answer waiting to be read, by its answer's random id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldText {
    pub response: Uuid,
    pub question_key: String,
    pub text: String,
}

impl Store {
    /// The free-text answers of `meeting` not yet released, by question in
    /// the questionnaire's order; none when texts are not held.
    pub async fn held_texts(&self, meeting: MeetingId) -> Result<Vec<HeldText>> {
        let Some(e) = self.evaluation(meeting).await?.filter(|e| e.hold_texts) else { return Ok(Vec::new()) };
        let rows: Vec<(Uuid, Json<Answers>)> = on_pool!(self, |db| {
            sqlx::query_as("select id, answers from evaluation_response where meeting_id = $1 order by id")
                .bind(meeting.uuid())
                .fetch_all(db)
                .await?
        });
        let released = released_texts(self, meeting).await?;
        let mut held = Vec::new();
        for q in e.questionnaire.questions.iter().filter(|q| q.kind == QuestionKind::Text) {
            for (id, Json(a)) in &rows {
                if let Some(Answer::Text(t)) = a.get(&q.key)
                    && !released.contains(&(*id, q.key.clone()))
                {
                    held.push(HeldText { response: *id, question_key: q.key.clone(), text: t.clone() });
                }
            }
        }
        Ok(held)
    }
}

/// Holds free-text answers of `meeting` back until released (`hold`), or shows them all.
pub async fn set_hold_texts(tx: &mut WriteTx, meeting: MeetingId, hold: bool) -> Result<()> {
    ensure(tx, meeting).await?;
    on_tx!(tx, |c| {
        sqlx::query("update evaluation set hold_texts = $2, updated_at = $3 where meeting_id = $1")
            .bind(meeting.uuid())
            .bind(hold)
            .bind(db_time(now()))
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// Releases the free-text answer to `question_key` in answer `response` of `meeting`.
///
/// # Errors
/// [`StoreError::NotFound`] when `meeting` has no such answer.
pub async fn release_text(tx: &mut WriteTx, meeting: MeetingId, response: Uuid, question_key: &str) -> Result<()> {
    let n = on_tx!(tx, |c| {
        sqlx::query(
            "insert into evaluation_text_release (response_id, question_key) \
             select id, $3 from evaluation_response where id = $2 and meeting_id = $1 \
             on conflict (response_id, question_key) do nothing",
        )
        .bind(meeting.uuid())
        .bind(response)
        .bind(question_key)
        .execute(&mut *c)
        .await?
        .rows_affected()
    });
    let known: bool = on_tx!(tx, |c| {
        sqlx::query_scalar("select count(*) > 0 from evaluation_response where id = $1 and meeting_id = $2")
            .bind(response)
            .bind(meeting.uuid())
            .fetch_one(&mut *c)
            .await?
    });
    if n == 0 && !known { Err(StoreError::NotFound) } else { Ok(()) }
}

/// One meeting's value in a trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    pub meeting_id: MeetingId,
    pub number: Option<i32>,
    pub title: String,
    pub starts_at: Timestamp,
    pub demo: bool,
    /// How many answered this question at that meeting.
    pub answered: i64,
    /// The rating average (ratings only).
    pub average: Option<f64>,
    /// For choice questions: each option's share (0–1) of those who answered, by option key.
    pub shares: Vec<(String, f64)>,
}

/// One stable question across meetings, oldest meeting first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendSeries {
    pub key: String,
    pub kind: QuestionKind,
    pub text_da: String,
    pub text_en: String,
    /// Option keys with their labels (Danish, English), as the latest meeting words them.
    pub options: Vec<(String, String, String)>,
    pub points: Vec<TrendPoint>,
}

/// Every rating and choice question, by stable key, across all meetings whose
/// evaluation was sent, oldest first. Free-text questions have no trend.
pub async fn trend(store: &Store) -> Result<Vec<TrendSeries>> {
    let meetings: Vec<(Uuid, Option<i32>, String, i64)> = on_pool!(store, |db| {
        sqlx::query_as(
            "select m.id, m.number, m.title, m.starts_at from evaluation e join meeting m on m.id = e.meeting_id \
             where e.sent_at is not null order by m.starts_at, m.id",
        )
        .fetch_all(db)
        .await?
    });
    let mut series: Vec<TrendSeries> = Vec::new();
    for (id, number, title, starts_at) in meetings {
        let r = results(store, MeetingId::from_uuid(id)).await?;
        for q in r.questions.into_iter().filter(|q| q.kind != QuestionKind::Text) {
            #[allow(clippy::cast_precision_loss)] // counts are far below 2^52
            let shares = if q.kind == QuestionKind::Rating || q.answered == 0 {
                Vec::new()
            } else {
                q.options.iter().map(|o| (o.key.clone(), o.count as f64 / q.answered as f64)).collect()
            };
            let point = TrendPoint {
                meeting_id: r.meeting_id,
                number,
                title: title.clone(),
                starts_at: from_db_time(starts_at),
                demo: r.demo,
                answered: q.answered,
                average: q.average,
                shares,
            };
            let options = if q.kind == QuestionKind::Rating {
                Vec::new()
            } else {
                q.options.iter().map(|o| (o.key.clone(), o.label_da.clone(), o.label_en.clone())).collect()
            };
            if let Some(s) = series.iter_mut().find(|s| s.key == q.key && s.kind == q.kind) {
                s.points.push(point);
                (s.text_da, s.text_en) = (q.text_da, q.text_en);
                for o in options {
                    if let Some(known) = s.options.iter_mut().find(|k| k.0 == o.0) {
                        *known = o;
                    } else {
                        s.options.push(o);
                    }
                }
            } else {
                series.push(TrendSeries {
                    key: q.key,
                    kind: q.kind,
                    text_da: q.text_da,
                    text_en: q.text_en,
                    options,
                    points: vec![point],
                });
            }
        }
    }
    Ok(series)
}

/// Stores made-up results for a past meeting (demo data) unless the meeting
/// already has an evaluation; returns whether it stored them.
pub async fn insert_demo(
    tx: &mut WriteTx,
    meeting: MeetingId,
    sent_at: Timestamp,
    closes_at: Timestamp,
    recipients: i64,
    answers: &[Answers],
) -> Result<bool> {
    let inserted = on_tx!(tx, |c| {
        sqlx::query(
            "insert into evaluation (meeting_id, questions, anonymous, demo, recipients, sent_at, closes_at, \
             created_at, updated_at) values ($1, $2, true, true, $3, $4, $5, $6, $6) on conflict (meeting_id) do nothing",
        )
        .bind(meeting.uuid())
        .bind(Json(Questionnaire::standard()))
        .bind(i32::try_from(recipients).unwrap_or(i32::MAX))
        .bind(db_time(sent_at))
        .bind(db_time(closes_at))
        .bind(db_time(now()))
        .execute(&mut *c)
        .await?
        .rows_affected()
            == 1
    });
    if !inserted {
        return Ok(false);
    }
    for a in answers {
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(Uuid::new_v4().as_bytes());
        on_tx!(tx, |c| {
            sqlx::query(
                "insert into evaluation_response (id, meeting_id, response_key, person_id, answers) \
                 values ($1, $2, $3, null, $4)",
            )
            .bind(Uuid::new_v4())
            .bind(meeting.uuid())
            .bind(key.as_slice())
            .bind(Json(a))
            .execute(&mut *c)
            .await?;
        });
    }
    Ok(true)
}

/// Moves a meeting that was held to `evaluated`; an archived one stays archived.
pub async fn mark_meeting_evaluated(tx: &mut WriteTx, meeting: MeetingId) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
            "update meeting set status = 'evaluated', updated_at = $2 \
             where id = $1 and status in ('published', 'open', 'closed', 'held')",
        )
        .bind(meeting.uuid())
        .bind(db_time(now()))
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// Brings a scheduled campaign of `kind` for the meeting forward to now;
/// returns its id, or `None` when none was waiting.
pub async fn bring_forward(tx: &mut WriteTx, meeting: MeetingId, kind: &str) -> Result<Option<CampaignId>> {
    let id: Option<Uuid> = on_tx!(tx, |c| {
        sqlx::query_scalar(
            "update campaign set scheduled_at = $3 where meeting_id = $1 and kind = $2 and state = 'scheduled' \
             returning id",
        )
        .bind(meeting.uuid())
        .bind(kind)
        .bind(db_time(now()))
        .fetch_optional(&mut *c)
        .await?
    });
    Ok(id.map(CampaignId::from_uuid))
}

/// Closes the evaluation at `at`.
pub async fn set_closing(tx: &mut WriteTx, meeting: MeetingId, at: Timestamp) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query("update evaluation set closes_at = $2, updated_at = $3 where meeting_id = $1")
            .bind(meeting.uuid())
            .bind(db_time(at))
            .bind(db_time(now()))
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

impl Store {
    /// Whether the person was sent the meeting's evaluation (`Some`) and has answered it.
    pub async fn evaluation_answered(&self, meeting: MeetingId, person: PersonId) -> Result<Option<bool>> {
        Ok(on_pool!(self, |db| {
            sqlx::query_scalar("select answered from evaluation_recipient where meeting_id = $1 and person_id = $2")
                .bind(meeting.uuid())
                .bind(person.uuid())
                .fetch_optional(db)
                .await?
        }))
    }
}

/// Rewrites every answer, recipient and volunteer row of the meeting, one by
/// one in random order, in the transaction that saves an answer.
///
/// On PostgreSQL each row version carries the id of the transaction that
/// wrote it (`xmin`) and lies where it was written (`ctid`). Without this, the
/// recipient row whose flag an answer set and the answer row written with it
/// would share a transaction id, and the rows' physical order would repeat
/// the order of answering, so someone reading the database could tell who
/// gave which answer. Afterwards all of the meeting's rows carry the same
/// transaction id in a shuffled order. Old row versions stay on disk until
/// `VACUUM` reclaims them (autovacuum does, in time). SQLite needs none of
/// this: answers are stored `WITHOUT ROWID`, ordered by their random id.
async fn scramble(c: &mut sqlx::PgConnection, meeting: MeetingId) -> Result<()> {
    use rand::seq::SliceRandom;
    for (table, key) in
        [("evaluation_response", "id"), ("evaluation_recipient", "person_id"), ("evaluation_volunteer", "person_id")]
    {
        let select = format!("select {key} from {table} where meeting_id = $1");
        let mut keys: Vec<Uuid> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(select)).bind(meeting.uuid()).fetch_all(&mut *c).await?;
        keys.shuffle(&mut rand::rng());
        let update = format!("update {table} set meeting_id = meeting_id where meeting_id = $1 and {key} = $2");
        for k in keys {
            sqlx::query(sqlx::AssertSqlSafe(update.clone())).bind(meeting.uuid()).bind(k).execute(&mut *c).await?;
        }
    }
    Ok(())
}
