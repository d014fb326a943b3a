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
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use axum::http::StatusCode;

use crate::domain::{
    Allocation, Email, MeetingId, Name, Note, Reason, ReasonError, RegistrationId, RegistrationStatus,
};
use crate::forum::seats::{ByHandSeat, Newcomer};
use crate::forum::{self, ForumError, Refusal};
use crate::i18n::{Lang, Texts, texts};
use crate::mail::compose::message::Audience;
use crate::store::audit::{self, Entry};
use crate::store::meetings::Meeting;
use crate::store::retention::NoteCounts;
use crate::store::rsvp::Registration;
use crate::store::totals::Totals;
use crate::web::admin::confirm::{ConfirmStep, ConfirmTexts, NoteField, listed};
use crate::web::auth::Organiser;
use crate::web::auth::{Need, needs};
use crate::web::extract::{Fields, MeetingForm, OrganiserForm, Path};
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the registrations page.
pub fn router() -> Router<AppState> {
    needs(Need::Read, Router::new().route("/admin/meetings/{id}/registrations", get(page))).merge(needs(
        Need::Write,
        Router::new()
            .route("/admin/meetings/{id}/allocate", post(allocate))
            .route("/admin/meetings/{id}/registrations/add", post(add))
            .route("/admin/meetings/{id}/registrations/{registration}/seat", post(seat))
            .route("/admin/meetings/{id}/registrations/{registration}/track", post(track))
            .route("/admin/meetings/{id}/message", post(message)),
    ))
}

/// One registration as the page shows it.
struct Row {
    id: String,
    track_key: String,
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
    /// Seats left, and the forms for changes by hand.
    hand: Hand,
    /// Invited, without an answer yet.
    not_answered: Vec<Row>,
    /// Messages by the fields: (field id, message).
    errors: Vec<(&'static str, String)>,
    /// What was just done, said once after the redirect.
    done: Option<&'static str>,
}

/// The seats left, and what the forms for changes by hand hold.
struct Hand {
    /// Seats in all and per track, then per organisation.
    seats: Vec<SeatCount>,
    by_organisation: Vec<SeatCount>,
    /// Whether the meeting limits seats per organisation.
    organisation_limit: bool,
    /// The meeting's tracks: (key, title).
    tracks: Vec<(String, String)>,
    /// What the form to add a person holds.
    add: AddValues,
    /// The audiences a message can go to: (value, label, how many), and what the form holds.
    audiences: Vec<(&'static str, &'static str, usize)>,
    mail_audience: String,
    mail_message: String,
}

impl Hand {
    /// The seats of `meeting` with registrations `regs`, and empty forms.
    fn new(meeting: &Meeting, regs: &[Registration], lang: Lang) -> Self {
        let (seats, by_organisation) = seat_counts(meeting, regs, lang);
        Self {
            seats,
            by_organisation,
            organisation_limit: meeting.per_organisation_limit.is_some(),
            tracks: meeting.tracks.iter().map(|t| (t.key.clone(), t.title.clone())).collect(),
            add: AddValues::default(),
            audiences: vec![
                ("attending", lang.pick("Deltagerne", "Those attending"), 0),
                ("waitlisted", lang.pick("Ventelisten", "The waiting list"), 0),
                ("not_answered", lang.pick("Inviterede uden svar", "Invited without an answer"), 0),
            ],
            mail_audience: "attending".to_owned(),
            mail_message: String::new(),
        }
    }
}

/// Seats at one level (the meeting, a track, an organisation).
struct SeatCount {
    what: String,
    /// The limit in words, or "–" for none.
    limit: String,
    taken: usize,
    /// Seats left, or "–" without a limit.
    left: String,
}

/// What the form to add a person by hand holds.
#[derive(Default)]
struct AddValues {
    email: String,
    name: String,
    organisation: String,
    track: String,
    reason: String,
}

impl RegistrationsPage {
    /// `da` or `en` text.
    const fn l(&self, da: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(da, en)
    }

    /// The message by the field `id`, if any.
    fn error(&self, id: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == id).map(|(_, m)| m.as_str())
    }
}

#[derive(serde::Deserialize)]
struct Done {
    done: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Path(id): Path<MeetingId>,
    axum::extract::Query(q): axum::extract::Query<Done>,
) -> Result<RegistrationsPage> {
    let lang = ctx.lang;
    let mut page = full(&state, ctx, &organiser, id).await?;
    page.done = q.done.as_deref().and_then(|d| done_text(lang, d));
    Ok(page)
}

/// The whole page for `organiser`, its reading recorded.
async fn full(state: &AppState, ctx: Ctx, organiser: &Organiser, id: MeetingId) -> Result<RegistrationsPage> {
    let meeting = state.store.meeting(id).await?;
    let (regs, kept) = registrations(state, organiser, &meeting).await?;
    let counts_only = !organiser.user.role.can_write();
    let mut page = view(ctx, &meeting, regs, kept, counts_only, organiser.csrf.clone());
    page.count_from_totals(&state.store.registration_totals(meeting.id).await?, &meeting);
    if !counts_only {
        page.changes = changes(state, &meeting, page.lang).await?;
        for (value, _, n) in &mut page.hand.audiences {
            let to = forum::meeting_mail::audience_named(value).unwrap_or(Audience::Attending);
            *n = forum::meeting_mail::audience(&state.forum, &meeting, to).await?.len();
        }
    }
    Ok(page)
}

/// The registrations of `meeting` and the counts of their notes once those
/// were deleted; reading them is recorded for an organiser who may see names.
async fn registrations(
    state: &AppState,
    organiser: &Organiser,
    meeting: &Meeting,
) -> Result<(Vec<Registration>, Option<NoteCounts>)> {
    let regs = state.store.registrations(meeting.id).await?;
    let kept = state.store.note_counts(meeting.id).await?;
    if organiser.user.role.can_write() {
        let entry = Entry::read("registrations.view", "meeting", Some(meeting.id.uuid()), "", regs.len());
        audit::record_read(&state.store, &organiser.actor(), &entry).await?;
    }
    Ok((regs, kept))
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
        let (regs, kept) = registrations(&state, &organiser, &meeting).await?;
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
        "seat.add" => lang.pick("Tilføjet i hånden med plads", "Added by hand with a seat"),
        "waitlist.seat" => lang.pick("Plads fra ventelisten", "Seat from the waiting list"),
        "track.move" => lang.pick("Flyttet til et andet spor", "Moved to another track"),
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
    let notes = kept.map_or_else(|| written_notes(&regs), |k| (k.diet, k.access_needs, k.comments));
    let notes_purged = kept.map(|k| lang.date(k.purged_at));
    let row = |r: &Registration| Row::of(meeting, r, lang);
    let (by_status, by_track) = (by_status(&regs, lang), by_track(meeting, &regs));
    let mut hand = Hand::new(meeting, &regs, lang);
    if counts_only {
        regs.clear();
        // Which organisations come says who comes: for organisers only.
        hand.by_organisation.clear();
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
        hand,
        not_answered: of(RegistrationStatus::Invited),
        errors: Vec::new(),
        done: None,
    }
}

impl Row {
    /// Registration `r` of `meeting` as the page shows it.
    fn of(meeting: &Meeting, r: &Registration, lang: Lang) -> Self {
        let track = r
            .track
            .as_deref()
            .map(|k| meeting.tracks.iter().find(|t| t.key == k).map_or_else(|| k.to_owned(), |t| t.title.clone()))
            .unwrap_or_default();
        Self {
            id: r.id.to_string(),
            track_key: r.track.clone().unwrap_or_default(),
            name: r.name.clone(),
            organisation: r.organisation.clone(),
            track,
            diet: r.diet.clone(),
            access_needs: r.access_needs.clone(),
            comment: r.comment.clone(),
            checked_in: r.checked_in_at.map(|t| lang.time(t)).unwrap_or_default(),
        }
    }
}

/// How many with a seat wrote about diet, access needs, or a comment.
fn written_notes(regs: &[Registration]) -> (i64, i64, i64) {
    let seated = |f: fn(&Registration) -> &str| {
        let n = regs.iter().filter(|r| r.status == RegistrationStatus::Attending && !f(r).is_empty()).count();
        i64::try_from(n).unwrap_or(i64::MAX)
    };
    (seated(|r| &r.diet), seated(|r| &r.access_needs), seated(|r| &r.comment))
}

/// How many registrations have each status: (status label, count).
fn by_status(regs: &[Registration], lang: Lang) -> Vec<(&'static str, usize)> {
    let statuses = [
        RegistrationStatus::Attending,
        RegistrationStatus::Waitlisted,
        RegistrationStatus::Invited,
        RegistrationStatus::Declined,
        RegistrationStatus::Cancelled,
    ];
    statuses.iter().map(|s| (lang.registration_status(*s), regs.iter().filter(|r| r.status == *s).count())).collect()
}

/// How many have a seat and how many wait on each track of `meeting`: (track title, attending, waitlisted).
fn by_track(meeting: &Meeting, regs: &[Registration]) -> Vec<(String, usize, usize)> {
    meeting
        .tracks
        .iter()
        .map(|t| {
            let n = |s: RegistrationStatus| {
                regs.iter().filter(|r| r.status == s && r.track.as_deref() == Some(t.key.as_str())).count()
            };
            (t.title.clone(), n(RegistrationStatus::Attending), n(RegistrationStatus::Waitlisted))
        })
        .collect()
}

/// Seats taken and left at `meeting`: in all and per track, then per
/// organisation of those with a seat (by name, Danish order aside).
fn seat_counts(meeting: &Meeting, regs: &[Registration], lang: Lang) -> (Vec<SeatCount>, Vec<SeatCount>) {
    let none = "–".to_owned();
    let count = |what: String, limit: Option<i32>, taken: usize| SeatCount {
        what,
        limit: limit.map_or_else(|| none.clone(), |l| l.to_string()),
        taken,
        left: limit.map_or_else(|| none.clone(), |l| usize::try_from(l).unwrap_or(0).saturating_sub(taken).to_string()),
    };
    let seated: Vec<&Registration> = regs.iter().filter(|r| r.status == RegistrationStatus::Attending).collect();
    let mut seats =
        vec![count(lang.pick("Mødet i alt", "The meeting in all").to_owned(), meeting.capacity, seated.len())];
    for t in &meeting.tracks {
        let taken = seated.iter().filter(|r| r.track.as_deref() == Some(t.key.as_str())).count();
        seats.push(count(format!("{}: {}", lang.pick("Spor", "Track"), t.title), t.capacity, taken));
    }
    let mut organisations: Vec<&str> = seated.iter().map(|r| r.organisation.as_str()).collect();
    organisations.sort_unstable();
    organisations.dedup();
    let by_organisation = organisations
        .into_iter()
        .map(|o| {
            let taken = seated.iter().filter(|r| r.organisation == o).count();
            if o.is_empty() {
                count(lang.pick("Uden organisation", "No organisation").to_owned(), None, taken)
            } else {
                count(o.to_owned(), meeting.per_organisation_limit, taken)
            }
        })
        .collect();
    (seats, by_organisation)
}

/// The notice after a change by hand, named by the redirect's `done`.
fn done_text(lang: Lang, done: &str) -> Option<&'static str> {
    Some(match done {
        "added" => lang.pick(
            "Personen er tilføjet med en plads og får en bekræftelse på mail.",
            "The person is added with a seat and gets a confirmation by mail.",
        ),
        "seated" => lang.pick(
            "Personen har fået en plads og får besked på mail.",
            "The person has a seat now and is told by mail.",
        ),
        "moved" => lang.pick(
            "Pladsen er flyttet til det nye spor, og personen får besked på mail.",
            "The seat is moved to the new track, and the person is told by mail.",
        ),
        "mailed" => lang.pick("Beskeden sendes nu.", "The message is being sent now."),
        _ => return None,
    })
}

texts! {
    /// The words of the changes made by hand on the page.
    struct HandTexts {
        reason => "Begrundelse (påkrævet)", "Reason (required)";
        reason_hint => "Hvorfor? Begrundelsen gemmes i mødets logbog og i revisionsloggen, for at alle behandles ens.",
            "Why? The reason is kept in the meeting's record and in the audit log, so that everyone is treated alike.";
        reason_needed => "Skriv en begrundelse.", "Give a reason.";
        seat_heading => "Giv en plads?", "Give a seat?";
        seat_button => "Ja, giv pladsen", "Yes, give the seat";
        beyond_heading => "Giv pladsen ud over grænsen?", "Give the seat beyond the limit?";
        beyond_button => "Ja, giv pladsen ud over grænsen", "Yes, give the seat beyond the limit";
        beyond_what => "Pladsen gives alligevel, ud over grænsen. Det noteres med begrundelsen.",
            "The seat is given anyway, beyond the limit. This is recorded with the reason.";
        track_heading => "Flyt til et andet spor?", "Move to another track?";
        track_button => "Ja, flyt", "Yes, move";
        has_seat => "Personen har allerede en plads.", "The person has a seat already.";
        no_seat => "Personen har ikke en plads at flytte.", "The person has no seat to move.";
        not_waiting => "Personen står ikke længere, hvor ændringen gælder.", "The person no longer stands where the change applies.";
        choose_track => "Vælg et af mødets spor.", "Choose one of the meeting's tracks.";
        name_needed => "Adressen er ny for forummet: skriv personens navn.", "The address is new to the forum: give the person's name.";
        message_label => "Besked", "Message";
        message_hint => "Almindelig tekst, højst 1.000 tegn; hver linje bliver et afsnit. Hver modtager får sin egen mail med sit navn.",
            "Plain text, at most 1,000 characters; each line becomes a paragraph. Each recipient gets a mail of their own with their name.";
        message_needed => "Skriv en besked.", "Write a message.";
        nobody => "Der er ingen i den gruppe, som en mail kan nå.", "Nobody in that group can be reached by mail.";
        message_heading => "Send beskeden?", "Send the message?";
        message_button => "Ja, send beskeden", "Yes, send the message";
    }
}

/// Re-renders the page with `step` (and messages by the fields), 422 when there are messages.
async fn with_step(
    state: &AppState,
    ctx: Ctx,
    organiser: &Organiser,
    id: MeetingId,
    step: Option<ConfirmStep>,
    errors: Vec<(&'static str, String)>,
) -> Result<(RegistrationsPage, StatusCode)> {
    let mut page = full(state, ctx, organiser, id).await?;
    let status = if errors.is_empty() && step.as_ref().is_none_or(|s| s.note.as_ref().is_none_or(|n| n.error.is_none()))
    {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page.confirm = step;
    page.errors = errors;
    Ok((page, status))
}

/// What was written in the field `first` of a form, or — on a confirm
/// step, which names it `message` — in that.
fn written<'a>(fields: &'a Fields, first: &str) -> &'a str {
    if fields.get("confirm") == "yes" { fields.get("message") } else { fields.get(first) }
}

/// The reason written, or the message by its field.
fn reason(text: &str, lang: Lang) -> std::result::Result<Reason, String> {
    Reason::parse(text).map_err(|e| match e {
        ReasonError::Empty => HandTexts::get(lang).reason_needed.to_owned(),
        ReasonError::Note(e) => lang.refused(e),
    })
}

/// The reason field of a confirm step, holding what was written.
fn reason_field(lang: Lang, value: &str, error: Option<String>) -> NoteField {
    let h = HandTexts::get(lang);
    NoteField { label: h.reason, hint: h.reason_hint, value: value.to_owned(), error }
}

/// What a refusal of a change by hand says by its field; `None` for other errors.
fn refusal_text(e: &ForumError, lang: Lang, has_seat: bool) -> Option<(&'static str, String)> {
    let h = HandTexts::get(lang);
    match e {
        ForumError::Refused(Refusal::NameNeeded) => Some(("add-name", h.name_needed.to_owned())),
        ForumError::Refused(Refusal::Suppressed(s)) => Some(("add-email", lang.suppression(*s).to_owned())),
        ForumError::Refused(Refusal::UnknownTrack) => Some(("add-track", h.choose_track.to_owned())),
        ForumError::Refused(Refusal::SeatStands(_)) => {
            Some(("add-email", if has_seat { h.has_seat } else { h.not_waiting }.to_owned()))
        }
        ForumError::Refused(Refusal::SeatFull(why)) => Some(("add-reason", lang.wait_reason(*why))),
        _ => None,
    }
}

/// Messages by the fields: (field id, message).
type FieldErrors = Vec<(&'static str, String)>;

/// Reads the form to add a person by hand: the newcomer, the seat, and what was typed.
fn read_add(fields: &Fields, lang: Lang) -> (std::result::Result<(Newcomer, ByHandSeat), FieldErrors>, AddValues) {
    let values = AddValues {
        email: fields.get("email").to_owned(),
        name: fields.get("name").to_owned(),
        organisation: fields.get("organisation").to_owned(),
        track: fields.get("track").to_owned(),
        reason: written(fields, "add-reason").to_owned(),
    };
    let mut errors = Vec::new();
    let email = Email::parse(&values.email).map_err(|e| errors.push(("add-email", lang.refused(e)))).ok();
    let optional = |v: &str| if v.trim().is_empty() { Ok(None) } else { Name::parse(v).map(Some) };
    let name = optional(&values.name).map_err(|e| errors.push(("add-name", lang.refused(e)))).ok().flatten();
    let organisation =
        optional(&values.organisation).map_err(|e| errors.push(("add-organisation", lang.refused(e)))).ok().flatten();
    let why = reason(&values.reason, lang).map_err(|e| errors.push(("add-reason", e))).ok();
    let (Some(email), Some(reason), true) = (email, why, errors.is_empty()) else { return (Err(errors), values) };
    let track = Some(values.track.clone()).filter(|t| !t.is_empty());
    let seat = ByHandSeat { track, reason, beyond_limits: fields.get("beyond") == "yes" };
    (Ok((Newcomer::ByAddress { email, name, organisation }, seat)), values)
}

/// Adds a person by hand, by address, with a reason; a full limit asks to
/// confirm going beyond it.
async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting, organiser, fields }: MeetingForm,
) -> Result<Response> {
    let (lang, id) = (ctx.lang, meeting.id);
    let (read, values) = read_add(&fields, lang);
    let errors = match read {
        Err(errors) => errors,
        Ok((newcomer, seat)) => {
            match forum::seats::add_by_hand(&state.forum, &organiser.actor(), &meeting, newcomer, &seat).await {
                Ok(_) => return Ok(back_with(id, "added")),
                Err(ForumError::Refused(Refusal::SeatFull(why))) => {
                    let h = HandTexts::get(lang);
                    let fields = ["email", "name", "organisation", "track"].map(|f| (f, fields.get(f).to_owned()));
                    let mut step = ConfirmStep::new(
                        lang,
                        h.beyond_heading,
                        vec![format!("{}: {}", values.email, lang.wait_reason(why)), h.beyond_what.to_owned()],
                        format!("/admin/meetings/{id}/registrations/add"),
                        h.beyond_button,
                    )
                    .with(fields.into_iter().chain([("beyond", "yes".to_owned())]).collect())
                    .back_to(format!("/admin/meetings/{id}/registrations"));
                    step.note = Some(reason_field(lang, &values.reason, None));
                    return ask(&state, ctx, &organiser, id, step).await;
                }
                Err(e) => vec![refusal_text(&e, lang, true).ok_or(e)?],
            }
        }
    };
    let (mut page, _) = with_step(&state, ctx, &organiser, id, None, errors).await?;
    page.hand.add = values;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// A confirm step's form about one registration of the meeting in the path
/// (`/admin/meetings/{id}/registrations/{registration}/…`): the meeting, the
/// person as registered, who sent the form and its fields.
struct RegistrationForm {
    meeting: Meeting,
    who: Registration,
    organiser: Organiser,
    fields: Fields,
}

impl FromRequest<AppState> for RegistrationForm {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self> {
        let (mut parts, body) = req.into_parts();
        let Path((_, registration)) =
            Path::<(MeetingId, RegistrationId)>::from_request_parts(&mut parts, state).await?;
        let MeetingForm { meeting, organiser, fields } =
            MeetingForm::from_request(Request::from_parts(parts, body), state).await?;
        let who = state.store.registration(registration).await?;
        Ok(Self { meeting, who, organiser, fields })
    }
}

/// Back to the registrations of meeting `id`, saying what was `done`.
fn back_with(id: MeetingId, done: &str) -> Response {
    Redirect::to(&format!("/admin/meetings/{id}/registrations?done={done}")).into_response()
}

/// The page asking to confirm `step`; 422 when its field holds a message.
async fn ask(state: &AppState, ctx: Ctx, organiser: &Organiser, id: MeetingId, step: ConfirmStep) -> Result<Response> {
    let (page, status) = with_step(state, ctx, organiser, id, Some(step), Vec::new()).await?;
    Ok((status, page).into_response())
}

/// Gives a seat by hand to someone on the waiting list, invited or who
/// declined, after a confirm step that asks for the reason; a full limit
/// asks again, to confirm going beyond it.
async fn seat(
    State(state): State<AppState>,
    ctx: Ctx,
    RegistrationForm { meeting, who, organiser, fields }: RegistrationForm,
) -> Result<Response> {
    let (lang, h) = (ctx.lang, HandTexts::get(ctx.lang));
    let written = fields.get("message").to_owned();
    // The track chosen by the row's form, for someone who has none yet.
    let chosen = Some(fields.get("track").to_owned()).filter(|t| !t.is_empty()).or_else(|| who.track.clone());
    let beyond = fields.get("beyond") == "yes";
    let mut step = seat_step(lang, &meeting, &who, chosen.as_deref(), beyond);
    let mut error = None;
    if fields.get("confirm") == "yes" {
        match reason(&written, lang) {
            Err(e) => error = Some(e),
            Ok(reason) => {
                let by_hand = ByHandSeat { track: chosen.clone(), reason, beyond_limits: beyond };
                match give_seat(&state, &organiser, &meeting, &who, &by_hand).await {
                    Ok(()) => return Ok(back_with(meeting.id, "seated")),
                    Err(ForumError::Refused(Refusal::SeatFull(why))) => {
                        step = seat_step(lang, &meeting, &who, chosen.as_deref(), true);
                        step.what.push(lang.wait_reason(why));
                        step.what.push(h.beyond_what.to_owned());
                    }
                    Err(e) => error = Some(refusal_text(&e, lang, true).ok_or(e)?.1),
                }
            }
        }
    }
    step.note = Some(reason_field(lang, &written, error));
    ask(&state, ctx, &organiser, meeting.id, step).await
}

/// The confirm step of giving `who` a seat at `meeting` on `track`, beyond
/// the limits when `beyond`.
fn seat_step(lang: Lang, meeting: &Meeting, who: &Registration, track: Option<&str>, beyond: bool) -> ConfirmStep {
    let h = HandTexts::get(lang);
    let (id, registration) = (meeting.id, who.id);
    let organisation = if who.organisation.is_empty() { String::new() } else { format!(", {}", who.organisation) };
    let gets =
        lang.pick("får en plads ved mødet og besked på mail.", "gets a seat at the meeting and is told by mail.");
    ConfirmStep::new(
        lang,
        if beyond { h.beyond_heading } else { h.seat_heading },
        vec![format!("{}{organisation}: {gets}", who.name)],
        format!("/admin/meetings/{id}/registrations/{registration}/seat"),
        if beyond { h.beyond_button } else { h.seat_button },
    )
    .with(vec![("beyond", if beyond { "yes" } else { "" }.to_owned()), ("track", track.unwrap_or_default().to_owned())])
    .back_to(format!("/admin/meetings/{id}/registrations"))
}

/// Gives `who` a seat by hand: from the waiting list, or as one more
/// person with a seat when invited or declined.
async fn give_seat(
    state: &AppState,
    organiser: &Organiser,
    meeting: &Meeting,
    who: &Registration,
    by_hand: &ByHandSeat,
) -> std::result::Result<(), ForumError> {
    let actor = organiser.actor();
    if who.status == RegistrationStatus::Waitlisted {
        forum::seats::seat_waitlisted(&state.forum, &actor, meeting, who.id, by_hand).await
    } else {
        let newcomer = Newcomer::Known(who.person_id);
        forum::seats::add_by_hand(&state.forum, &actor, meeting, newcomer, by_hand).await.map(|_| ())
    }
}

/// Moves a seat to another track, after a confirm step that asks for the reason.
async fn track(
    State(state): State<AppState>,
    ctx: Ctx,
    RegistrationForm { meeting, who, organiser, fields }: RegistrationForm,
) -> Result<Response> {
    let (lang, h) = (ctx.lang, HandTexts::get(ctx.lang));
    let (id, registration) = (meeting.id, who.id);
    let key = fields.get("track").to_owned();
    let written = fields.get("message").to_owned();
    let mut error = None;
    if fields.get("confirm") == "yes" {
        error = Some(match reason(&written, lang) {
            Err(e) => e,
            Ok(reason) => {
                match forum::seats::move_track(&state.forum, &organiser.actor(), &meeting, registration, &key, &reason)
                    .await
                {
                    Ok(()) => return Ok(back_with(id, "moved")),
                    Err(ForumError::Refused(Refusal::SeatFull(why))) => lang.wait_reason(why),
                    Err(ForumError::Refused(Refusal::SeatStands(_))) => h.no_seat.to_owned(),
                    Err(ForumError::Refused(Refusal::UnknownTrack)) => h.choose_track.to_owned(),
                    Err(e) => return Err(e.into()),
                }
            }
        });
    }
    let title = meeting.tracks.iter().find(|t| t.key == key).map(|t| t.title.clone()).unwrap_or_default();
    let what = vec![format!("{}: {} → {title}", who.name, lang.pick("nyt spor", "new track"))];
    let action = format!("/admin/meetings/{id}/registrations/{registration}/track");
    let mut step = ConfirmStep::new(lang, h.track_heading, what, action, h.track_button)
        .with(vec![("track", key)])
        .back_to(format!("/admin/meetings/{id}/registrations"));
    step.note = Some(reason_field(lang, &written, error));
    ask(&state, ctx, &organiser, id, step).await
}

/// Mails a short message to the meeting's attendees, its waiting list or
/// those who have not answered, after a confirm step that names the
/// audience and its number; a changed audience shows the step again.
async fn message(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting, organiser, fields }: MeetingForm,
) -> Result<Response> {
    let (lang, h, id) = (ctx.lang, HandTexts::get(ctx.lang), meeting.id);
    let chosen = fields.get("audience").to_owned();
    let Some(audience) = forum::meeting_mail::audience_named(&chosen) else {
        return Err(Error::BadRequest("audience must be attending, waitlisted or not_answered".into()));
    };
    let written = written(&fields, "mail-message").to_owned();
    let note = message_note(&written, lang);
    let people = forum::meeting_mail::audience(&state.forum, &meeting, audience).await?;
    let confirmed = fields.get("confirm") == "yes";
    let mut what = Vec::new();
    match (&note, people.is_empty()) {
        (Err(e), _) if !confirmed => {
            return form_again(&state, ctx, &organiser, id, &chosen, &written, e.clone()).await;
        }
        (_, true) => return form_again(&state, ctx, &organiser, id, &chosen, &written, h.nobody.to_owned()).await,
        (Ok(note), false) if confirmed => {
            let expected: usize = fields.get("count").parse().unwrap_or(usize::MAX);
            match forum::meeting_mail::send(&state.forum, &organiser.actor(), &meeting, audience, note, expected).await
            {
                Ok(_) => return Ok(back_with(id, "mailed")),
                Err(ForumError::Refused(Refusal::Stale)) => what.push(ConfirmTexts::get(lang).changed.to_owned()),
                Err(e) => return Err(e.into()),
            }
        }
        _ => {}
    }
    let names: Vec<String> = people.iter().map(|p| p.name.clone()).collect();
    let mut step = message_step(lang, id, audience, chosen, &names, what);
    let error = note.err().filter(|_| confirmed);
    step.note = Some(NoteField { label: h.message_label, hint: h.message_hint, value: written, error });
    ask(&state, ctx, &organiser, id, step).await
}

/// The message as written, or what is wrong with it.
fn message_note(written: &str, lang: Lang) -> std::result::Result<Note, String> {
    match Note::parse(written) {
        Ok(n) if n.as_str().trim().is_empty() => Err(HandTexts::get(lang).message_needed.to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(lang.refused(e)),
    }
}

/// The confirm step of mailing the people named `names` (the `audience`
/// chosen as `chosen`): who they are, then `what` else there is to say.
fn message_step(
    lang: Lang,
    id: MeetingId,
    audience: Audience,
    chosen: String,
    names: &[String],
    mut what: Vec<String>,
) -> ConfirmStep {
    let h = HandTexts::get(lang);
    what.insert(0, format!("{} ({}): {}.", audience_words(lang, audience), names.len(), listed(lang, names)));
    ConfirmStep::new(lang, h.message_heading, what, format!("/admin/meetings/{id}/message"), h.message_button)
        .with(vec![("audience", chosen), ("count", names.len().to_string())])
        .back_to(format!("/admin/meetings/{id}/registrations"))
}

/// The page with the message form holding what was written and `error` by it.
async fn form_again(
    state: &AppState,
    ctx: Ctx,
    organiser: &Organiser,
    id: MeetingId,
    audience: &str,
    written: &str,
    error: String,
) -> Result<Response> {
    let (mut page, _) = with_step(state, ctx, organiser, id, None, vec![("mail-message", error)]).await?;
    audience.clone_into(&mut page.hand.mail_audience);
    written.clone_into(&mut page.hand.mail_message);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// Who a message goes to, in words.
const fn audience_words(lang: Lang, audience: Audience) -> &'static str {
    match audience {
        Audience::Attending => lang.pick("Beskeden går til deltagerne", "The message goes to those attending"),
        Audience::Waitlisted => {
            lang.pick("Beskeden går til dem på ventelisten", "The message goes to those on the waiting list")
        }
        Audience::NotAnswered => {
            lang.pick("Beskeden går til de inviterede uden svar", "The message goes to those invited without an answer")
        }
    }
}
