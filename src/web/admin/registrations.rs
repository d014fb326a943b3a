//! Organiser page with a meeting's registrations: counts per status and per
//! track, everyone with a seat with diet, access needs, comment and check-in
//! time, the waiting list in its order, and those who declined or cancelled,
//! with how many wrote about diet, access needs or a comment (kept as counts
//! once the notes are deleted after the meeting).
//! Reading it is recorded in the audit log like the API's list. Viewers see
//! the counts only: names and what people told us are for organisers.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::domain::{MeetingId, RegistrationStatus};
use crate::i18n::{Lang, Texts};
use crate::store::audit::{self, Entry};
use crate::store::meetings::Meeting;
use crate::store::retention::NoteCounts;
use crate::store::rsvp::Registration;
use crate::web::auth::Organiser;
use crate::web::extract::Path;
use crate::web::{AppState, Ctx, Result};

/// Routes of the registrations page.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/meetings/{id}/registrations", get(page))
}

/// One registration as the page shows it.
struct Row {
    name: String,
    organisation: String,
    track: String,
    diet: String,
    access_needs: String,
    comment: String,
    checked_in: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/registrations.html")]
struct RegistrationsPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    meeting_id: String,
    title: String,
    /// (status label, count).
    by_status: Vec<(&'static str, usize)>,
    /// (track title, attending, waitlisted).
    by_track: Vec<(String, usize, usize)>,
    /// (heading, rows): those with a seat, then the waiting list in order.
    sections: Vec<(&'static str, Vec<Row>)>,
    others: Vec<(Row, &'static str)>,
    /// The reader is a viewer: counts only.
    counts_only: bool,
    /// How many with a seat wrote about diet, access needs, or a comment.
    notes: (i64, i64, i64),
    /// When those notes were deleted after the meeting, if they were.
    notes_purged: Option<String>,
}

impl RegistrationsPage {
    /// `da` or `en` text.
    const fn l(&self, da: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(da, en)
    }
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path(id): Path<MeetingId>,
) -> Result<RegistrationsPage> {
    let meeting = state.store.meeting(id).await?;
    let regs = state.store.registrations(meeting.id).await?;
    let kept = state.store.note_counts(meeting.id).await?;
    let counts_only = !organiser.user.role.can_write();
    if !counts_only {
        let entry = Entry::read("registrations.view", "meeting", Some(meeting.id.uuid()), "", regs.len());
        audit::record_read(&state.store, &organiser.actor(), &entry).await?;
    }
    Ok(view(ctx, &meeting, regs, kept, counts_only))
}

/// The page for `meeting` with its registrations `regs`, and the counts of
/// their notes `kept` when the notes were deleted; only the counts when
/// `counts_only`.
fn view(
    ctx: Ctx,
    meeting: &Meeting,
    mut regs: Vec<Registration>,
    kept: Option<NoteCounts>,
    counts_only: bool,
) -> RegistrationsPage {
    let lang = ctx.lang;
    let seated = |f: fn(&Registration) -> &str| {
        let n = regs.iter().filter(|r| r.status == RegistrationStatus::Attending && !f(r).is_empty()).count();
        i64::try_from(n).unwrap_or(i64::MAX)
    };
    let notes = kept.map_or_else(
        || (seated(|r| &r.diet), seated(|r| &r.access_needs), seated(|r| &r.comment)),
        |k| (k.diet, k.access_needs, k.comments),
    );
    let notes_purged = kept.map(|k| lang.date(k.purged_at));
    let track_title = |key: &Option<String>| {
        key.as_deref()
            .map(|k| meeting.tracks.iter().find(|t| t.key == k).map_or_else(|| k.to_owned(), |t| t.title.clone()))
            .unwrap_or_default()
    };
    let row = |r: &Registration| Row {
        name: r.name.clone(),
        organisation: r.organisation.clone(),
        track: track_title(&r.track),
        diet: r.diet.clone(),
        access_needs: r.access_needs.clone(),
        comment: r.comment.clone(),
        checked_in: r.checked_in_at.map(|t| lang.time(t)).unwrap_or_default(),
    };
    let statuses = [
        RegistrationStatus::Attending,
        RegistrationStatus::Waitlisted,
        RegistrationStatus::Invited,
        RegistrationStatus::Declined,
        RegistrationStatus::Cancelled,
    ];
    let by_status = statuses
        .iter()
        .map(|s| (lang.registration_status(*s), regs.iter().filter(|r| r.status == *s).count()))
        .collect();
    let by_track = meeting
        .tracks
        .iter()
        .map(|t| {
            let n = |s: RegistrationStatus| {
                regs.iter().filter(|r| r.status == s && r.track.as_deref() == Some(t.key.as_str())).count()
            };
            (t.title.clone(), n(RegistrationStatus::Attending), n(RegistrationStatus::Waitlisted))
        })
        .collect();
    if counts_only {
        regs.clear();
    }
    regs.sort_by_key(|r| (r.waitlist_position.unwrap_or(i64::MAX), r.name.clone()));
    let of = |s: RegistrationStatus| regs.iter().filter(|r| r.status == s).map(row).collect::<Vec<_>>();
    let others = regs
        .iter()
        .filter(|r| matches!(r.status, RegistrationStatus::Declined | RegistrationStatus::Cancelled))
        .map(|r| (row(r), lang.registration_status(r.status)))
        .collect();
    RegistrationsPage {
        lang,
        t: lang.texts(),
        path: ctx.path,
        meeting_id: meeting.id.to_string(),
        title: meeting.title.clone(),
        by_status,
        by_track,
        sections: vec![
            (if lang == Lang::En { "Attending" } else { "Deltagere" }, of(RegistrationStatus::Attending)),
            (
                if lang == Lang::En { "Waiting list, in order" } else { "Venteliste, i rækkefølge" },
                of(RegistrationStatus::Waitlisted),
            ),
        ],
        others,
        counts_only,
        notes,
        notes_purged,
    }
}
