//! Organiser page with a meeting's registrations: counts per status and per
//! track, everyone with a seat with diet, access needs, comment and check-in
//! time, the waiting list in its order, and those who declined or cancelled,
//! with how many wrote about diet, access needs or a comment (kept as counts
//! once the notes are deleted after the meeting, and read from the totals
//! once the registrations were reduced after the retention period).
//! Reading it is recorded in the audit log like the API's list. Viewers see
//! the counts only: names and what people told us are for organisers.
//! It also says how seats are given (an opening time, a lottery), shows a
//! lottery's recorded draw (time and seed), and before the draw offers to
//! draw now, with a confirm step.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::domain::{Allocation, MeetingId, RegistrationStatus};
use crate::forum;
use crate::i18n::{Lang, Texts};
use crate::store::audit::{self, Entry};
use crate::store::meetings::Meeting;
use crate::store::retention::NoteCounts;
use crate::store::rsvp::Registration;
use crate::store::totals::Totals;
use crate::web::admin::confirm::ConfirmStep;
use crate::web::auth::Organiser;
use crate::web::extract::OrganiserForm;
use crate::web::extract::Path;
use crate::web::{AppState, Ctx, Result};

/// Routes of the registrations page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/meetings/{id}/registrations", get(page))
        .route("/admin/meetings/{id}/allocate", post(allocate))
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
    /// When the registrations were reduced to totals, and how many were checked in.
    reduced: Option<(String, i64)>,
    csrf: String,
    /// How seats are given, a sentence each: the opening time, the lottery and its draw.
    seating: Vec<String>,
    /// The seed of a lottery's draw, once made.
    seed: Option<String>,
    /// A lottery that may be drawn now.
    can_draw: bool,
    confirm: Option<ConfirmStep>,
    /// Changes made by hand to who has a seat: (when, what, whom, reason, by whom).
    changes: Vec<(String, &'static str, String, String, String)>,
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
    let mut page = view(ctx, &meeting, regs, kept, counts_only, organiser.csrf);
    page.count_from_totals(&state.store.registration_totals(meeting.id).await?, &meeting);
    if !counts_only {
        page.changes = changes(&state, &meeting, page.lang).await?;
    }
    Ok(page)
}

/// Draws the seats of a lottery meeting now ([`forum::rsvp::allocate`]),
/// after a confirm step that says how many applied and that everyone is told.
async fn allocate(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<MeetingId>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    if fields.get("confirm") != "yes" {
        let meeting = state.store.meeting(id).await?;
        let regs = state.store.registrations(meeting.id).await?;
        let kept = state.store.note_counts(meeting.id).await?;
        let entry = Entry::read("registrations.view", "meeting", Some(meeting.id.uuid()), "", regs.len());
        audit::record_read(&state.store, &organiser.actor(), &entry).await?;
        let lang = ctx.lang;
        let n = regs.iter().filter(|r| r.status == RegistrationStatus::Waitlisted).count();
        let what = vec![match lang {
            Lang::Da => format!(
                "Pladserne trækkes nu blandt de {n} ansøgere, inden for grænserne pr. organisation og pr. spor, i stedet for ved ansøgningsfristen. Alle ansøgere får besked på mail. Lodtrækningen kan ikke gøres om."
            ),
            Lang::En => format!(
                "The seats are drawn now among the {n} applicants, within the limits per organisation and per track, instead of at the application deadline. Every applicant is told by mail. The draw cannot be undone."
            ),
        }];
        let heading = lang.pick("Træk pladserne nu?", "Draw the seats now?");
        let button = lang.pick("Ja, træk pladserne", "Yes, draw the seats");
        let mut page = view(ctx, &meeting, regs, kept, false, organiser.csrf.clone());
        page.changes = changes(&state, &meeting, lang).await?;
        page.confirm = Some(
            ConfirmStep::new(lang, heading, what, format!("/admin/meetings/{id}/allocate"), button)
                .back_to(format!("/admin/meetings/{id}/registrations")),
        );
        return Ok(page.into_response());
    }
    forum::rsvp::allocate(&state.forum, &organiser.actor(), id).await?;
    Ok(Redirect::to(&format!("/admin/meetings/{id}/registrations")).into_response())
}

impl RegistrationsPage {
    /// Once the registrations were reduced to totals, the counts come from those.
    fn count_from_totals(&mut self, totals: &Totals, meeting: &Meeting) {
        let Some(reduced) = totals.reduced else { return };
        let n = |k: i64| usize::try_from(k).unwrap_or(0);
        for (label, count) in &mut self.by_status {
            if let Some(s) = RegistrationStatus::ALL.iter().find(|s| self.lang.registration_status(**s) == *label) {
                *count = n(totals.with_status(*s));
            }
        }
        for ((_, attending, waiting), t) in self.by_track.iter_mut().zip(&meeting.tracks) {
            *attending = n(totals.on_track(&t.key, RegistrationStatus::Attending));
            *waiting = n(totals.on_track(&t.key, RegistrationStatus::Waitlisted));
        }
        self.reduced = Some((self.lang.date(reduced.at), totals.checked_in()));
    }
}

/// The changes organisers made by hand to who has a seat at `meeting`, as the page shows them.
async fn changes(
    state: &AppState,
    meeting: &Meeting,
    lang: Lang,
) -> Result<Vec<(String, &'static str, String, String, String)>> {
    let what = |action: &str| match action {
        "waitlist.move.top" => lang.pick("Flyttet øverst på ventelisten", "Moved to the top of the waiting list"),
        "waitlist.move.up" => lang.pick("Flyttet op på ventelisten", "Moved up the waiting list"),
        "waitlist.move.down" => lang.pick("Flyttet ned på ventelisten", "Moved down the waiting list"),
        "waitlist.reorder" => lang.pick("Ventelisten ordnet på ny", "Waiting list reordered"),
        _ => lang.pick("Ændret", "Changed"),
    };
    Ok(state
        .store
        .seat_changes(meeting.id)
        .await?
        .into_iter()
        .map(|c| {
            let when = format!("{} {}", lang.date(c.at), lang.time(c.at));
            (when, what(&c.action), c.name.unwrap_or_default(), c.reason, c.by)
        })
        .collect())
}

/// The sentences that say how `meeting` gives its seats.
fn seating(meeting: &Meeting, lang: Lang) -> Vec<String> {
    let at = |t| format!("{} {}", lang.date(t), lang.time(t));
    let mut out = Vec::new();
    if let Some(t) = meeting.seating.registration_opens_at {
        out.push(format!("{} {}.", lang.pick("Tilmeldingen åbner", "Registration opens"), at(t)));
    }
    if meeting.seating.allocation == Allocation::Lottery {
        let close = meeting.seating.applications_close_at.map(at).unwrap_or_default();
        out.push(format!(
            "{} {close}.",
            lang.pick(
                "Pladserne fordeles ved lodtrækning blandt dem, der har svaret ja, ved ansøgningsfristen",
                "Seats are drawn by lottery among those who answered yes, at the application deadline"
            )
        ));
        match meeting.drawn {
            Some(d) => out.push(format!(
                "{} {}. {}",
                lang.pick("Lodtrækningen blev foretaget", "The draw was made on"),
                at(d.at),
                lang.pick(
                    "Hver ansøgers lod er SHA-256 af frøets 32 byte efterfulgt af tilmeldingens id; pladserne gik i lodsedlernes rækkefølge inden for grænserne, og resten kom på ventelisten i samme rækkefølge. Med frøet kan lodtrækningen gentages og efterprøves.",
                    "Each applicant's ticket is the SHA-256 of the seed's 32 bytes followed by the registration's id; seats went in the order of the tickets within the limits, and the rest joined the waiting list in the same order. With the seed the draw can be repeated and checked."
                )
            )),
            None => out.push(
                lang.pick(
                    "Lodtrækningen er ikke foretaget endnu. Svar, der kommer efter den, får en plads efter først til mølle, hvis der er en ledig.",
                    "The draw has not been made yet. Answers that come after it get a seat first come, first served, if one is free.",
                )
                .to_owned(),
            ),
        }
    }
    out
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
    csrf: String,
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
        reduced: None,
        csrf,
        seating: seating(meeting, lang),
        seed: meeting.drawn.map(|d| d.seed.to_hex()),
        can_draw: !counts_only
            && meeting.seating.allocation == Allocation::Lottery
            && meeting.drawn.is_none()
            && meeting.status.accepts_answers(),
        confirm: None,
        changes: Vec::new(),
    }
}
