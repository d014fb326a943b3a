//! The mailing list: joining by the form and confirming by the link, leaving,
//! an organiser adding a person (by the API or by hand with a reason),
//! importing a list, changing one and erasing one. Each runs in one
//! transaction with its audit entry.

use jiff::SignedDuration;

use super::{Forum, Refusal, Result};
use crate::config::Security;
use crate::domain::{Email, Name, Note, PersonId, Timestamp, Token, TokenPurpose};
use crate::i18n::Lang;
use crate::mail::compose::notices::{self, To};
use crate::store::audit::{Actor, Entry, record_on_person, record_read};
use crate::store::erasure::{self, Erased};
use crate::store::rate;
use crate::store::subscribers::{self, Changes, NewSubscriber, PersonalData, Subscriber, SubscriberFilter};
use crate::store::subscriptions::{self, Consent, Signup};
use crate::store::{StoreError, WriteTx, registrations, suppression, tokens};
use crate::transfer::import::{self, ImportError, Report};

/// Answers a sign-up from the form: a confirmation mail to a new address, a
/// "you are already on the list" mail to a known one, within the per-address
/// limits, and the same answer either way. `ip` is counted against the
/// hourly limit per address of origin.
///
/// # Errors
/// [`Refusal::TooManySignups`] when `ip` reached the hourly limit.
pub async fn sign_up(forum: &Forum, limits: &Security, signup: &Signup, lang: Lang, ip: &str) -> Result<()> {
    let mut tx = within_hourly_budget(forum.store.begin().await?, limits, ip).await?;
    let ttl = SignedDuration::from_hours(i64::try_from(limits.token_ttl_hours).unwrap_or(168));
    let per_day = limits.confirmations_per_address_per_day;
    let queued = notices::answer_signup(&mut tx, &forum.mail, signup, lang, per_day, ttl).await?;
    tx.commit().await?;
    forum.wake_if(usize::from(queued));
    Ok(())
}

/// One page of the people `filter` matches (at most `filter.limit`, guests
/// never), and whether more follow; the search is recorded as a read under
/// `action` with `detail` (what was searched for), before anyone sees it.
pub async fn find(
    forum: &Forum,
    who: &Actor,
    mut filter: SubscriberFilter,
    action: &str,
    detail: &str,
) -> Result<(Vec<Subscriber>, bool)> {
    let page = filter.limit;
    filter.limit = page + 1;
    let mut found = forum.store.subscribers(&filter).await?;
    let more = found.len() > page as usize;
    found.truncate(page as usize);
    record_read(&forum.store, who, &Entry::read(action, "person", None, detail, found.len())).await?;
    Ok((found, more))
}

/// Counts one more request from address of origin `ip` against the hourly
/// budget that sign-ups and profile links share.
///
/// # Errors
/// [`Refusal::TooManySignups`] when `ip` reached the limit; `tx` is
/// committed first, so the attempt still counts.
async fn within_hourly_budget(mut tx: WriteTx, limits: &Security, ip: &str) -> Result<WriteTx> {
    let hour_ago = Timestamp::now() - SignedDuration::from_hours(1);
    if rate::hit(&mut tx, &format!("signup-ip:{ip}"), hour_ago, i64::from(limits.signups_per_ip_per_hour)).await? {
        Ok(tx)
    } else {
        tx.commit().await?;
        tracing::warn!(%ip, "hourly sign-up and profile-link limit reached");
        Err(Refusal::TooManySignups.into())
    }
}

/// Sends a link to their own page to the person at `email`, whoever the
/// service holds data about (on the list or not: a guest, someone who left,
/// an address that bounced), if they have not had the day's links already;
/// `ip` counts against the hourly budget sign-ups share. The caller answers
/// the same whatever happened, so nobody learns who is on the list.
///
/// # Errors
/// [`Refusal::TooManySignups`] when `ip` reached the hourly limit.
pub async fn send_profile_link(forum: &Forum, limits: &Security, email: &Email, ip: &str) -> Result<()> {
    send_fresh_link(forum, limits, LinkWanted::Profile, email, ip).await
}

/// The kind of personal link someone asks for again, from the page of a
/// link of that kind that did not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkWanted {
    /// `/me/{token}`.
    Profile,
    /// `/rsvp/{token}`: one for each meeting not yet over that the person
    /// has a registration for.
    Rsvp,
    /// `/evaluation/{token}`: one for each open evaluation sent to the
    /// person that they have not answered.
    Evaluation,
}

/// Mail kinds of the links asked for by address, which share the daily allowance per address.
const ASKED_FOR: [&str; 3] = ["profile-link", "rsvp-link", "evaluation-link"];

/// Sends the person at `email` fresh links of the kind `wanted`, or a link
/// to their own page when they have nothing of that kind to answer (or
/// asked for that), as [`send_profile_link`] does: the same limits, through
/// the outbox, and the caller answers the same whatever happened. Each new
/// link has its own random token, stored hashed; older links keep working
/// as long as they did.
///
/// # Errors
/// [`Refusal::TooManySignups`] when `ip` reached the hourly limit.
pub async fn send_fresh_link(
    forum: &Forum,
    limits: &Security,
    wanted: LinkWanted,
    email: &Email,
    ip: &str,
) -> Result<()> {
    let mut tx = within_hourly_budget(forum.store.begin().await?, limits, ip).await?;
    let found = subscribers::person_by_email(&mut tx, email).await?;
    let mut queued = 0;
    if let Some(person) = found {
        let day_ago = Timestamp::now() - SignedDuration::from_hours(24);
        let mut sent_today = 0;
        for kind in ASKED_FOR {
            sent_today += subscriptions::mails_since(&mut tx, email, kind, day_ago).await?;
        }
        if sent_today < i64::from(limits.confirmations_per_address_per_day) {
            let to = To { person: person.id, email, name: &person.name, lang: Lang::from_code(&person.language) };
            queued = match wanted {
                LinkWanted::Profile => 0,
                LinkWanted::Rsvp => answer_links(forum, &mut tx, to).await?,
                LinkWanted::Evaluation => evaluation_links(forum, &mut tx, to).await?,
            };
            let who = Actor::Person(person.id.uuid());
            if queued == 0 {
                let ttl = SignedDuration::from_hours(i64::try_from(limits.token_ttl_hours).unwrap_or(168));
                notices::profile_link(&mut tx, &forum.mail, to, ttl).await?;
                record_on_person(&mut tx, &who, "person.profile_link", person.id, "", None).await?;
                queued = 1;
            } else {
                let detail = if wanted == LinkWanted::Rsvp { "rsvp" } else { "evaluation" };
                let n = i64::try_from(queued).ok();
                record_on_person(&mut tx, &who, "person.fresh_link", person.id, detail, n).await?;
            }
        } else {
            tracing::info!(to = %email.masked(), "no more links to this address today");
        }
    }
    tx.commit().await?;
    forum.wake_if(queued);
    Ok(())
}

/// Queues a fresh answer link for each of the person's registrations for a
/// meeting not yet over; returns how many.
async fn answer_links(forum: &Forum, tx: &mut WriteTx, to: To<'_>) -> Result<usize> {
    let mut n = 0;
    for (registration, meeting) in registrations::answerable(tx, to.person).await? {
        let meeting = forum.store.meeting(meeting).await?;
        let token = Token::generate();
        let expires = crate::domain::link_expiry(meeting.ends_at);
        let (purpose, person) = (TokenPurpose::Rsvp, Some(to.person));
        tokens::insert_link_token(tx, &token.hash(), purpose, person, Some(registration), Some(expires)).await?;
        let url = format!("{}/rsvp/{}", forum.mail.base_url, token.expose());
        notices::fresh_link(tx, &forum.mail, to, &meeting, false, url).await?;
        n += 1;
    }
    Ok(n)
}

/// Queues a fresh evaluation link for each open evaluation the person was
/// sent and has not answered; returns how many.
async fn evaluation_links(forum: &Forum, tx: &mut WriteTx, to: To<'_>) -> Result<usize> {
    let mut n = 0;
    for (registration, meeting, closes_at) in registrations::evaluations_to_answer(tx, to.person).await? {
        let meeting = forum.store.meeting(meeting).await?;
        let token = Token::generate();
        let (purpose, person) = (TokenPurpose::Evaluation, Some(to.person));
        tokens::insert_link_token(tx, &token.hash(), purpose, person, Some(registration), Some(closes_at)).await?;
        let url = format!("{}/evaluation/{}", forum.mail.base_url, token.expose());
        notices::fresh_link(tx, &forum.mail, to, &meeting, true, url).await?;
        n += 1;
    }
    Ok(n)
}

/// Everything held about `person`, for themselves; the reading is recorded in
/// the audit log as an export in `shape` (`data.json`, `data.csv`, `page`),
/// so it shows in the next look.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such person.
pub async fn own_data(forum: &Forum, person: PersonId, shape: &str) -> Result<PersonalData> {
    let data = forum.store.personal_data(person).await?;
    let mut tx = forum.store.begin().await?;
    let entry = Entry {
        action: "person.export",
        subject_kind: "person",
        subject_id: Some(person.uuid()),
        detail: shape,
        row_count: Some(1),
    };
    crate::store::audit::record(&mut tx, &Actor::Person(person.uuid()), &entry).await?;
    tx.commit().await?;
    Ok(data)
}

/// Confirms `person`'s subscription with their link `token`, taking
/// `organisation` when none is known yet. A link already used changes
/// nothing.
pub async fn confirm(forum: &Forum, person: PersonId, token: &Token, organisation: Option<&Name>) -> Result<()> {
    let mut tx = forum.store.begin().await?;
    if subscriptions::confirm(&mut tx, person, &token.hash()).await? {
        if let Some(o) = organisation {
            subscriptions::set_organisation_if_missing(&mut tx, person, o).await?;
        }
        record_on_person(&mut tx, &Actor::Person(person.uuid()), "person.confirm", person, "", None).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Takes `person` off the list at their own request.
pub async fn leave(forum: &Forum, person: PersonId) -> Result<()> {
    let mut tx = forum.store.begin().await?;
    if subscriptions::leave(&mut tx, person).await? {
        record_on_person(&mut tx, &Actor::Person(person.uuid()), "person.leave", person, "", None).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Adds `new` as confirmed, by an organiser, with `consent` as the basis.
///
/// # Errors
/// [`Refusal::Suppressed`] when the address's owner left the list or was
/// erased; [`Refusal::AddressKnown`] when the address is on the list already.
pub async fn add(forum: &Forum, who: &Actor, new: &NewSubscriber, consent: &Consent) -> Result<PersonId> {
    add_with(forum, who, new, consent, "").await
}

/// Adds `new` by hand from the organisers' pages: confirmed at once, as an
/// addition through the API is, so no confirmation mail goes out. The
/// organiser's `reason` is the basis of the consent, kept with it and in the
/// audit entry.
///
/// # Errors
/// As [`add`].
pub async fn add_by_hand(forum: &Forum, who: &Actor, new: &NewSubscriber, reason: &Note) -> Result<PersonId> {
    let by = match who {
        Actor::User { id, .. } => format!("organiser account {id}"),
        Actor::Person(_) | Actor::System(_) => "the service".to_owned(),
    };
    let consent = Consent {
        text: format!(
            "Tilføjet af en arrangør, der har samtykket på personens vegne. Begrundelse: {}",
            reason.as_str()
        ),
        version: "organiser".into(),
        method: "web",
        proof: format!("organisers' pages, {by}"),
    };
    add_with(forum, who, new, &consent, reason.as_str()).await
}

/// Imports a CSV file of people by the rules of [`import::subscribers`]
/// (the same as the command line's and the API's), as organiser `who`.
///
/// # Errors
/// [`ImportError::File`] for a file that cannot be read as a list;
/// [`ImportError::Store`] when the database failed (nothing is imported).
pub async fn import(forum: &Forum, who: &Actor, data: &[u8]) -> std::result::Result<Report, ImportError> {
    let report = import::subscribers(&forum.store, data, who, |_| {}).await?;
    tracing::info!(imported = report.imported, rejected = report.rejected.len(), "people imported from a file");
    Ok(report)
}

async fn add_with(
    forum: &Forum,
    who: &Actor,
    new: &NewSubscriber,
    consent: &Consent,
    detail: &str,
) -> Result<PersonId> {
    let mut tx = forum.store.begin().await?;
    if let Some(reason) = suppression::check(&mut tx, &new.email).await? {
        return Err(Refusal::Suppressed(reason).into());
    }
    let id = match subscribers::insert_confirmed(&mut tx, new, consent).await {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => return Err(Refusal::AddressKnown.into()),
        Err(e) => return Err(e.into()),
    };
    record_on_person(&mut tx, who, "subscriber.create", id, detail, Some(1)).await?;
    tx.commit().await?;
    Ok(id)
}

/// Writes `changes` to person `id`, naming the fields in the audit entry
/// (action `person.update` from the pages). Nothing to change writes
/// nothing.
///
/// # Errors
/// The store's `NotFound` when there is no such person.
pub async fn save(forum: &Forum, who: &Actor, id: PersonId, changes: &Changes) -> Result<()> {
    if changes.fields().is_empty() {
        return Ok(());
    }
    write(forum, who, id, changes, false, "person.update").await
}

/// Writes `changes` to person `id` and, with `leave`, takes them off the
/// list (action `subscriber.update`, from the API).
///
/// # Errors
/// The store's `NotFound` when there is no such person.
pub async fn update(forum: &Forum, who: &Actor, id: PersonId, changes: &Changes, leave: bool) -> Result<()> {
    write(forum, who, id, changes, leave, "subscriber.update").await
}

async fn write(forum: &Forum, who: &Actor, id: PersonId, changes: &Changes, leave: bool, action: &str) -> Result<()> {
    let mut fields = changes.fields();
    let mut tx = forum.store.begin().await?;
    subscribers::update(&mut tx, id, changes).await?;
    if leave {
        subscriptions::leave(&mut tx, id).await?;
        fields.push("status");
    }
    record_on_person(&mut tx, who, action, id, &fields.join(", "), Some(1)).await?;
    tx.commit().await?;
    Ok(())
}

/// Erases person `id`: name, address and everything they wrote, everywhere;
/// the audit log keeps their id only.
///
/// # Errors
/// The store's `NotFound` when there is no such person; nothing was erased.
pub async fn erase(forum: &Forum, who: &Actor, id: PersonId) -> Result<Erased> {
    let mut tx = forum.store.begin().await?;
    let erased = erasure::erase_person(&mut tx, id, who).await?;
    tx.commit().await?;
    Ok(erased)
}
