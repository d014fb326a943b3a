//! Answering an invitation, passing it on to a colleague, and filling free
//! seats from the waiting list, each with its mail in the same transaction.
//!
//! Answers reach the store through their meeting's desk, which records those
//! that arrive together in one transaction: one lock of the meeting, one
//! commit and one write of the mails for the lot. Answers are handled in the
//! order they arrived, and each is judged after the ones before it, so seats
//! are given exactly as one at a time would give them.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{Forum, ForumError, Refusal, Result};
use crate::domain::seating::Draw;
use crate::domain::{
    DrawSeed, Email, MeetingId, Name, PersonId, PersonStatus, RegistrationId, Timestamp, Token, TokenPurpose,
    link_expiry,
};
use crate::i18n::Lang;
use crate::mail::compose::notices::To;
use crate::mail::compose::rsvp as rsvp_mail;
use crate::store::audit::{self, Actor, Entry};
use crate::store::meetings::Meeting;
use crate::store::outbox::{NewMessage, enqueue_many};
use crate::store::people::{NewPerson, insert_person_if_new};
use crate::store::rsvp::{self as store, Answer, PassOn, Registration, Seat};
use crate::store::{StoreError, WriteTx};

/// How many answers one transaction takes at most.
const MAX_BATCH: usize = 256;
/// A meeting's desk closes after this long without answers; the next answer opens it again.
const DESK_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// Records `answer` to the invitation `reg` to `meeting`, with the
/// confirmation to the person (in `lang`, linking to `rsvp_url`) and the
/// news to anyone it lets in from the waiting list. Returns the seat it got.
///
/// Before the meeting's opening time nothing is recorded. In a lottery not
/// yet drawn a "yes" is an application ([`Seat::Applied`]).
///
/// # Errors
/// [`Refusal::NotOpenYet`] before the opening time,
/// [`Refusal::PassedOn`] when the invitation went to a colleague meanwhile,
/// [`StoreError::NotFound`] when the registration is gone (erased).
pub async fn answer(
    forum: &Forum,
    reg: &Registration,
    meeting: &Meeting,
    answer: Answer,
    lang: Lang,
    rsvp_url: String,
) -> Result<Seat> {
    if let Some(opens_at) = meeting.seating.opens_later(Timestamp::now()) {
        return Err(Refusal::NotOpenYet { opens_at }.into());
    }
    let email = Email::parse(&reg.email).map_err(anyhow::Error::from)?;
    let (reply, outcome) = oneshot::channel();
    let job = Job {
        registration: reg.id,
        person: reg.person_id,
        email,
        name: reg.name.clone(),
        lang,
        rsvp_url,
        answer,
        meeting: Arc::new(meeting.clone()),
        reply,
    };
    forum.desks.submit(forum, reg.meeting_id, job);
    match outcome.await {
        Ok(Outcome::Seat(seat)) => Ok(seat),
        Ok(Outcome::PassedOn) => Err(Refusal::PassedOn.into()),
        Ok(Outcome::Gone) => Err(StoreError::NotFound.into()),
        Ok(Outcome::Failed) | Err(_) => Err(anyhow::anyhow!("the answer was not recorded").into()),
    }
}

/// Whether the invitation of `inviter` may be passed on to `colleague`: a
/// colleague at the same organisation, told by the domain of the address.
#[must_use]
pub fn may_pass_to(inviter: &Email, colleague: &Email) -> bool {
    colleague.domain() == inviter.domain() && colleague != inviter
}

/// Passes the invitation `reg` to `meeting` on to a colleague (see
/// [`may_pass_to`]), who gets a fresh link of their own in `lang`; the old
/// link stops working. A seat moves to the colleague with its track, and a
/// place on the waiting list with its number (see
/// [`store::pass_on`](crate::store::rsvp::pass_on)): the colleague is told
/// they have it and may answer no. The holder gets a confirmation with a
/// calendar cancellation. Diet, access needs and comment stay behind.
///
/// # Errors
/// [`Refusal::ColleagueRefused`] when the colleague is invited already, left
/// the list, was erased or bounced; these are one answer, so nobody learns
/// who left.
/// [`Refusal::PassedOn`] when the invitation was passed on meanwhile.
pub async fn pass_on(
    forum: &Forum,
    reg: &Registration,
    meeting: &Meeting,
    name: &Name,
    email: &Email,
    lang: Lang,
) -> Result<()> {
    let organisation = Some(reg.organisation.as_str()).filter(|o| !o.is_empty()).and_then(|o| Name::parse(o).ok());
    let mut tx = forum.store.begin().await?;
    if let Some((_, status)) = crate::store::subscriptions::person_status(&mut tx, email).await?
        && matches!(status, PersonStatus::Unsubscribed | PersonStatus::Bounced)
    {
        return Err(Refusal::ColleagueRefused.into());
    }
    if crate::store::suppression::check(&mut tx, email).await?.is_some() {
        return Err(Refusal::ColleagueRefused.into());
    }
    let person = NewPerson {
        email: email.clone(),
        name: name.clone(),
        organisation,
        status: PersonStatus::Guest,
        interests: Vec::new(),
    };
    let (colleague, _) = insert_person_if_new(&mut tx, &person, None).await?;
    let passed = match store::pass_on(&mut tx, reg.id, colleague).await? {
        PassOn::Done(passed) => passed,
        PassOn::PassedBefore => return Err(Refusal::PassedOn.into()),
        PassOn::ColleagueInvited => return Err(Refusal::ColleagueRefused.into()),
    };
    let url = fresh_link(forum, &mut tx, meeting, colleague, passed.registration).await?;
    let to = To { person: colleague, email, name: name.as_str(), lang };
    let mail = &forum.mail;
    match passed.seat {
        Some(seat) => {
            rsvp_mail::passed_to(&mut tx, mail, to, meeting, passed.registration, seat, &reg.name, &url).await?;
        }
        None => rsvp_mail::colleague_invitation(&mut tx, mail, to, meeting, &reg.name, &url).await?,
    }
    let holder_email = Email::parse(&reg.email).map_err(anyhow::Error::from)?;
    let holder = To { person: reg.person_id, email: &holder_email, name: &reg.name, lang };
    let held_seat = reg.status == crate::domain::RegistrationStatus::Attending;
    rsvp_mail::passed_from(&mut tx, mail, holder, meeting, name.as_str(), passed.seat.is_some(), held_seat).await?;
    let messages = promotion_mails(forum, meeting, &passed.promoted).await?;
    enqueue_many(&mut tx, &messages).await?;
    let detail = if passed.seat.is_some() { "with the seat" } else { "" };
    let entry = Entry { detail, ..Entry::on_registration("rsvp.passed_on", reg.id) };
    audit::record(&mut tx, &Actor::Person(reg.person_id.uuid()), &entry).await?;
    tx.commit().await?;
    forum.mail_wake.notify_one();
    Ok(())
}

/// Gives registration `registration` of `person` to `meeting` a fresh answer
/// link in `tx`, valid until [`link_expiry`] after the meeting ends, and
/// returns its URL.
///
/// # Errors
/// The database failed.
pub async fn fresh_link(
    forum: &Forum,
    tx: &mut WriteTx,
    meeting: &Meeting,
    person: PersonId,
    registration: RegistrationId,
) -> Result<String> {
    let token = Token::generate();
    let expires = link_expiry(meeting.ends_at);
    crate::store::tokens::insert_link_token(
        tx,
        &token.hash(),
        TokenPurpose::Rsvp,
        Some(person),
        Some(registration),
        Some(expires),
    )
    .await?;
    Ok(format!("{}/rsvp/{}", forum.mail.base_url, token.expose()))
}

/// After a change to `meeting` in `tx` (more seats, say), gives the free seats
/// to the waiting list and queues one mail to each person promoted, in the
/// same transaction. Returns how many were promoted.
///
/// # Errors
/// The database failed, or a mail could not be composed.
pub async fn fill_free_seats(forum: &Forum, tx: &mut WriteTx, meeting: &Meeting) -> Result<usize> {
    let promoted = store::fill_free_seats(tx, meeting.id).await?;
    let messages = promotion_mails(forum, meeting, &promoted).await?;
    enqueue_many(tx, &messages).await?;
    Ok(promoted.len())
}

/// The news of a seat to each of `promoted`, built but not queued. A read
/// beside the transaction is enough: a promoted person's address and name do
/// not change with the answer that let them in.
pub(super) async fn promotion_mails(
    forum: &Forum,
    meeting: &Meeting,
    promoted: &[RegistrationId],
) -> Result<Vec<NewMessage>> {
    let mut messages = Vec::with_capacity(promoted.len());
    for id in promoted {
        let p = forum.store.registration(*id).await?;
        let (email, _, _, language) = forum.store.person_contact(p.person_id).await?;
        let to = To { person: p.person_id, email: &email, name: &p.name, lang: Lang::from_code(&language) };
        messages.push(crate::mail::compose::rsvp::promotion(&forum.mail, to, meeting, *id)?);
    }
    Ok(messages)
}

/// One answer waiting at its meeting's desk.
struct Job {
    registration: RegistrationId,
    person: PersonId,
    email: Email,
    name: String,
    lang: Lang,
    rsvp_url: String,
    answer: Answer,
    meeting: Arc<Meeting>,
    reply: oneshot::Sender<Outcome>,
}

/// What the desk made of one answer.
enum Outcome {
    Seat(Seat),
    /// The invitation was passed on to a colleague.
    PassedOn,
    /// The registration is gone (erased).
    Gone,
    Failed,
}

/// The seat allocation desks, one per meeting with answers coming in.
#[derive(Default)]
pub(super) struct Desks(std::sync::Mutex<HashMap<MeetingId, mpsc::UnboundedSender<Job>>>);

impl Desks {
    /// Hands `job` to its meeting's desk, opening the desk if needed.
    fn submit(&self, forum: &Forum, meeting: MeetingId, job: Job) {
        let mut desks = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let job = match desks.get(&meeting) {
            None => job,
            Some(desk) => match desk.send(job) {
                Ok(()) => return,
                // The desk stopped (its task ended with the runtime): open a new one.
                Err(mpsc::error::SendError(job)) => job,
            },
        };
        let (send, receive) = mpsc::unbounded_channel();
        let _ = send.send(job);
        desks.insert(meeting, send);
        tokio::spawn(desk(forum.clone(), meeting, receive));
    }

    /// Closes the meeting's desk if nothing waits at it; sends happen under the
    /// same lock, so no answer can slip in between the check and the close.
    fn close_if_idle(&self, meeting: MeetingId, receive: &mpsc::UnboundedReceiver<Job>) -> bool {
        let mut desks = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if receive.is_empty() {
            desks.remove(&meeting);
            true
        } else {
            false
        }
    }
}

async fn desk(forum: Forum, meeting: MeetingId, mut receive: mpsc::UnboundedReceiver<Job>) {
    loop {
        let first = match tokio::time::timeout(DESK_IDLE, receive.recv()).await {
            Ok(Some(job)) => job,
            Ok(None) => return,
            Err(_) if forum.desks.close_if_idle(meeting, &receive) => return,
            Err(_) => continue,
        };
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match receive.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        match record_batch(&forum, meeting, &jobs).await {
            Ok(outcomes) => {
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(outcome);
                }
                forum.mail_wake.notify_one();
            }
            // The batch was rolled back as a whole; each answer is tried again
            // on its own, so one that cannot be recorded fails alone.
            Err(e) if jobs.len() > 1 => {
                tracing::warn!(error = ?e, answers = jobs.len(), "recording a batch of answers failed; one at a time");
                for job in jobs {
                    let outcome = record_alone(&forum, meeting, &job).await;
                    let _ = job.reply.send(outcome);
                }
                forum.mail_wake.notify_one();
            }
            Err(e) => {
                tracing::error!(error = ?e, "recording an answer failed");
                for job in jobs {
                    let _ = job.reply.send(Outcome::Failed);
                }
            }
        }
    }
}

/// Records one answer in a transaction of its own.
async fn record_alone(forum: &Forum, meeting: MeetingId, job: &Job) -> Outcome {
    match record_batch(forum, meeting, std::slice::from_ref(job)).await {
        Ok(mut outcomes) => outcomes.pop().unwrap_or(Outcome::Failed),
        Err(e) => {
            tracing::error!(error = ?e, "recording an answer failed");
            Outcome::Failed
        }
    }
}

/// Records a batch of answers to one meeting in one transaction, with their
/// confirmations, the mails to anyone promoted, and the audit entries. The
/// seats are judged first, one answer after the other; the mails and the
/// audit entries of the lot then go in with one insert each.
async fn record_batch(forum: &Forum, meeting: MeetingId, jobs: &[Job]) -> Result<Vec<Outcome>, ForumError> {
    let mut tx = forum.store.begin().await?;
    store::lock_for_answers(&mut tx, meeting).await?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut recorded = Vec::with_capacity(jobs.len());
    for job in jobs {
        match store::answer_locked(&mut tx, meeting, job.registration, &job.answer).await {
            Ok((seat, held_seat, promoted)) => {
                outcomes.push(Outcome::Seat(seat));
                recorded.push((job, seat, held_seat, promoted));
            }
            Err(StoreError::Conflict(_)) => outcomes.push(Outcome::PassedOn),
            Err(StoreError::NotFound) => outcomes.push(Outcome::Gone),
            Err(e) => return Err(e.into()),
        }
    }
    let mut messages = Vec::with_capacity(recorded.len());
    let mut entries = Vec::with_capacity(recorded.len());
    for (job, seat, held_seat, promoted) in recorded {
        let to = To { person: job.person, email: &job.email, name: &job.name, lang: job.lang };
        let url = Some(job.rsvp_url.as_str());
        messages.push(rsvp_mail::confirmation(&forum.mail, to, &job.meeting, job.registration, seat, url, held_seat)?);
        messages.extend(promotion_mails(forum, &job.meeting, &promoted).await?);
        entries.push((Actor::Person(job.person.uuid()), Entry::on_registration(seat_action(seat), job.registration)));
    }
    enqueue_many(&mut tx, &messages).await?;
    audit::record_many(&mut tx, &entries).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// The audit action of an answer that led to `seat`.
fn seat_action(seat: Seat) -> &'static str {
    match seat {
        Seat::Attending => "rsvp.attending",
        Seat::Waitlisted { .. } => "rsvp.waitlisted",
        Seat::Declined => "rsvp.declined",
        Seat::Applied => "rsvp.applied",
    }
}

/// Draws the seats of lottery meeting `id` now (see
/// [`store::draw`](crate::store::rsvp::draw)), and tells every applicant by
/// mail: a seat comes with its confirmation and calendar file, a place on the
/// waiting list with its number. The seed and the outcome go into the audit
/// log. Returns the draw.
///
/// # Errors
/// [`Refusal::NoDraw`] when the meeting is no lottery or was drawn already,
/// [`StoreError::NotFound`] when there is no such meeting.
pub async fn allocate(forum: &Forum, who: &Actor, id: MeetingId) -> Result<Draw<RegistrationId>> {
    let meeting = forum.store.meeting(id).await?;
    let seed = DrawSeed::generate();
    let mut tx = forum.store.begin().await?;
    let Some(drawn) = store::draw(&mut tx, id, &seed, Timestamp::now()).await? else {
        return Err(Refusal::NoDraw.into());
    };
    let mut messages = Vec::with_capacity(drawn.seated.len() + drawn.waitlist.len());
    let mut placed: Vec<(RegistrationId, Seat)> = drawn.seated.iter().map(|r| (*r, Seat::Attending)).collect();
    for (place, r) in (1_i64..).zip(&drawn.waitlist) {
        placed.push((*r, Seat::Waitlisted { place, why: store::why_waiting(&mut tx, *r).await? }));
    }
    for (registration, seat) in placed {
        let p = forum.store.registration(registration).await?;
        let (email, _, _, language) = forum.store.person_contact(p.person_id).await?;
        let to = To { person: p.person_id, email: &email, name: &p.name, lang: Lang::from_code(&language) };
        messages.push(rsvp_mail::confirmation(&forum.mail, to, &meeting, registration, seat, None, false)?);
    }
    enqueue_many(&mut tx, &messages).await?;
    let detail =
        format!("seed {}; {} seated, {} on the waiting list", seed.to_hex(), drawn.seated.len(), drawn.waitlist.len());
    let rows = i64::try_from(drawn.seated.len() + drawn.waitlist.len()).unwrap_or(i64::MAX);
    audit::record_on_meeting(&mut tx, who, "meeting.draw", id, &detail, Some(rows)).await?;
    tx.commit().await?;
    forum.wake_if(messages.len());
    Ok(drawn)
}

/// Draws every lottery whose application window has closed and that is not
/// drawn yet. Safe with several instances: each meeting is drawn once.
/// Returns how many were drawn.
///
/// # Errors
/// The database failed, or a mail could not be composed.
pub async fn draw_due(forum: &Forum) -> Result<usize> {
    let mut n = 0;
    for id in forum.store.lotteries_due(Timestamp::now()).await? {
        match allocate(forum, &Actor::System("lottery"), id).await {
            Ok(_) => n += 1,
            // Another instance drew it meanwhile.
            Err(ForumError::Refused(Refusal::NoDraw)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
