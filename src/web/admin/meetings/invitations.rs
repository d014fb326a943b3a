//! The invitation page of a meeting: choose the audience (everybody,
//! interests, organisations, attendees of earlier meetings or named people)
//! and guests, write the personal message, see how many will be invited and
//! what the mail looks like, send a test to oneself, and send now or later.

use std::fmt::Write as _;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::form::parse_local;
use super::{Errors, error_of};
use crate::domain::{Email, MeetingId, MeetingStatus, Name, OrganisationId, PersonId, PersonStatus, Timestamp};
use crate::forum;
use crate::i18n::{Lang, Texts};
use crate::mail::compose::campaign::{Letter, count_invitees, invitation, invitation_bodies, invitees};
use crate::mail::compose::personal::{self, MessageError, PLACEHOLDERS};
use crate::store::campaigns::{Audience, Guest, Recipient, Target};
use crate::store::meetings::{Meeting, MeetingFilter};
use crate::store::subscribers::person_by_email;
use crate::web::auth::Organiser;
use crate::web::auth::{Need, needs};
use crate::web::extract::{Fields, MeetingForm, OrganiserMeeting};
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the invitation page.
pub fn router() -> Router<AppState> {
    needs(Need::Read, Router::new().route("/admin/meetings/{id}/invitations", get(page)))
        .merge(needs(Need::Write, Router::new().route("/admin/meetings/{id}/invitations", post(act))))
}

/// A checkbox: (value, label, ticked).
type Choice = (String, String, bool);

/// The form as typed.
#[derive(Debug, Clone, Default)]
struct InviteForm {
    /// `all`, `interests`, `organisations`, `attendees_of`, `people` or `none`.
    audience: String,
    interests: Vec<String>,
    organisations: Vec<String>,
    attendees_of: Vec<String>,
    /// Addresses of people on the list, one a line.
    people: String,
    /// Guests, one a line: `name; address; organisation`.
    guests: String,
    message: String,
    /// `datetime-local`; empty means now.
    send_at: String,
}

impl InviteForm {
    fn read(fields: &Fields) -> Self {
        let all = |name: &str| fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect();
        Self {
            audience: fields.get("audience").to_owned(),
            interests: all("interests"),
            organisations: all("organisations"),
            attendees_of: all("attendees_of"),
            people: fields.get("people").to_owned(),
            guests: fields.get("guests").to_owned(),
            message: fields.get("message").to_owned(),
            send_at: fields.get("send_at").to_owned(),
        }
    }
}

/// What the page asks the organiser to confirm before invitations go out.
struct Confirm {
    /// The audience in words.
    audience: String,
    /// Who will be invited: (name, organisation).
    people: Vec<(String, String)>,
    deadline: Option<String>,
    when: String,
    /// A digest of what is shown, sent back with the confirmation.
    key: String,
    /// When the same invitation was created before, if it was.
    sent_before: Option<String>,
}

/// What the page shows after "how many, and what does it look like".
struct Preview {
    count: usize,
    subject: String,
    text: String,
    message_html: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/invitation.html")]
struct InvitationPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    csrf: String,
    id: String,
    title: String,
    can_invite: bool,
    /// Whether the signed-in role may send (viewers only look).
    can_write: bool,
    /// The audience choices as (value, label).
    audiences: [(&'static str, &'static str); 6],
    form: InviteForm,
    interests: Vec<Choice>,
    organisations: Vec<Choice>,
    meetings: Vec<Choice>,
    placeholders: String,
    preview: Option<Preview>,
    confirm: Option<Confirm>,
    errors: Errors,
    notice: Option<String>,
}

impl InvitationPage {
    const fn l(&self, da: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(da, en)
    }

    fn error(&self, field: &str) -> Option<&str> {
        error_of(&self.errors, field)
    }

    fn audience_is(&self, value: &str) -> bool {
        self.form.audience == value || (self.form.audience.is_empty() && value == "all")
    }

    /// "1 invitation", "2 invitationer".
    fn invitations(&self, n: usize) -> String {
        let word = if n == 1 { "invitation" } else { self.l("invitationer", "invitations") };
        format!("{n} {word}")
    }

    /// The chosen audience in words: "Bestemte organisationer: Nordlys IT A/S,
    /// Fjord Data ApS + 2 gæster".
    fn audience_words(&self, target: &Target) -> String {
        let chosen = self.audiences.iter().find(|(v, _)| self.audience_is(v)).map_or("", |(_, label)| *label);
        let ticked = |list: &[Choice]| {
            list.iter().filter(|(_, _, on)| *on).map(|(_, label, _)| label.as_str()).collect::<Vec<_>>().join(", ")
        };
        let which = match target.audience {
            Some(Audience::Interests(_)) => ticked(&self.interests),
            Some(Audience::Organisations(_)) => ticked(&self.organisations),
            Some(Audience::AttendeesOf(_)) => ticked(&self.meetings),
            Some(Audience::People(_)) => {
                self.form.people.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(", ")
            }
            Some(Audience::All) | None => String::new(),
        };
        let mut words = if which.is_empty() { chosen.to_owned() } else { format!("{chosen}: {which}") };
        if !target.guests.is_empty() && target.audience.is_some() {
            let _ = write!(words, " + {} {}", target.guests.len(), self.lang.pick("gæster", "guests"));
        }
        if target.audience.is_none() {
            let names: Vec<&str> = target.guests.iter().map(|g| g.name.as_str()).collect();
            let _ = write!(words, ": {}", names.join(", "));
        }
        words
    }
}

/// The interests, the organisations and the earlier meetings the audience
/// may be chosen from, ticked as `form` has them.
async fn choices(
    state: &AppState,
    form: &InviteForm,
    m: &Meeting,
    lang: Lang,
) -> Result<(Vec<Choice>, Vec<Choice>, Vec<Choice>)> {
    let tick = |list: &[String], v: &str| list.iter().any(|x| x == v);
    let interests = state
        .store
        .interests()
        .await?
        .into_iter()
        .map(|i| {
            let checked = tick(&form.interests, &i.key);
            (i.key, if lang == Lang::En { i.title_en } else { i.title_da }, checked)
        })
        .collect();
    let organisations = state
        .store
        .organisations()
        .await?
        .into_iter()
        .map(|o| {
            let id = o.id.to_string();
            let checked = tick(&form.organisations, &id);
            (id, o.name, checked)
        })
        .collect();
    let meetings = state
        .store
        .meetings(MeetingFilter { public_only: true, ..MeetingFilter::default() })
        .await?
        .into_iter()
        .filter(|x| x.id != m.id && x.status != MeetingStatus::Cancelled)
        .map(|x| {
            let id = x.id.to_string();
            let checked = tick(&form.attendees_of, &id);
            (id, format!("{} ({})", x.title, lang.date(x.starts_at)), checked)
        })
        .collect();
    Ok((interests, organisations, meetings))
}

async fn build_page(
    state: &AppState,
    ctx: &Ctx,
    organiser: &Organiser,
    m: &Meeting,
    form: InviteForm,
) -> Result<InvitationPage> {
    let (interests, organisations, meetings) = choices(state, &form, m, ctx.lang).await?;
    Ok(InvitationPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        path: ctx.path.clone(),
        csrf: organiser.csrf.clone(),
        id: m.id.to_string(),
        title: m.title.clone(),
        can_invite: m.status.accepts_answers(),
        can_write: organiser.user.role.can_write(),
        audiences: [
            ("all", ctx.lang.pick("Alle på listen", "Everybody on the list")),
            ("interests", ctx.lang.pick("Dem med bestemte interesser", "Those with certain interests")),
            ("organisations", ctx.lang.pick("Bestemte organisationer", "Certain organisations")),
            ("attendees_of", ctx.lang.pick("Deltagere i tidligere møder", "Attendees of earlier meetings")),
            ("people", ctx.lang.pick("Bestemte personer", "Certain people")),
            ("none", ctx.lang.pick("Kun gæsterne nedenfor", "Only the guests below")),
        ],
        form,
        interests,
        organisations,
        meetings,
        placeholders: PLACEHOLDERS.iter().map(|p| format!("{{{{{p}}}}}")).collect::<Vec<_>>().join(", "),
        preview: None,
        confirm: None,
        errors: Vec::new(),
        notice: None,
    })
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganiserMeeting { organiser, meeting: m }: OrganiserMeeting,
) -> Result<InvitationPage> {
    let form = InviteForm { message: state.store.invitation_message(m.id).await?, ..InviteForm::default() };
    build_page(&state, &ctx, &organiser, &m, form).await
}

fn message_error(lang: Lang, e: &MessageError) -> String {
    match (e, lang) {
        (MessageError::Unknown(p), Lang::Da) => {
            format!("Ukendt felt {{{{{p}}}}}. Brug kun: {}.", PLACEHOLDERS.join(", "))
        }
        (MessageError::Unknown(p), Lang::En) => {
            format!("Unknown placeholder {{{{{p}}}}}. Use only: {}.", PLACEHOLDERS.join(", "))
        }
        (MessageError::Unclosed, _) => {
            lang.pick("Et felt mangler sine afsluttende }}.", "A placeholder lacks its closing }}.").into()
        }
        (MessageError::TooLong, _) => lang
            .pick("Beskeden er for lang (højst 4000 tegn).", "The message is too long (at most 4000 characters).")
            .into(),
    }
}

/// Reads the audience and guests, with a message by each field that is wrong.
async fn target(state: &AppState, form: &InviteForm, lang: Lang, errors: &mut Errors) -> Result<Target> {
    let mut fail = |f: &str, m: String| errors.push((f.to_owned(), m));
    let none_chosen = lang.pick("Vælg mindst én.", "Choose at least one.");
    let audience = match form.audience.as_str() {
        "" | "all" => Some(Audience::All),
        "none" => None,
        "interests" => {
            if form.interests.is_empty() {
                fail("interests", none_chosen.into());
            }
            Some(Audience::Interests(form.interests.clone()))
        }
        "organisations" => {
            let ids: Vec<OrganisationId> = form.organisations.iter().filter_map(|s| s.parse().ok()).collect();
            if ids.is_empty() {
                fail("organisations", none_chosen.into());
            }
            Some(Audience::Organisations(ids))
        }
        "attendees_of" => {
            let ids: Vec<MeetingId> = form.attendees_of.iter().filter_map(|s| s.parse().ok()).collect();
            if ids.is_empty() {
                fail("attendees_of", none_chosen.into());
            }
            Some(Audience::AttendeesOf(ids))
        }
        "people" => {
            let (ids, refused) = named_people(state, &form.people, lang).await?;
            if let Some(msg) = refused {
                fail("people", msg);
            }
            Some(Audience::People(ids))
        }
        _ => {
            fail("audience", lang.pick("Vælg hvem der skal inviteres.", "Choose who to invite.").into());
            None
        }
    };
    let (guests, refused) = guests(&form.guests, lang);
    if let Some(msg) = refused {
        fail("guests", msg);
    }
    if audience.is_none() && guests.is_empty() && form.audience == "none" {
        fail(
            "guests",
            lang.pick("Vælg et publikum, gæster eller begge.", "Choose an audience, guests or both.").into(),
        );
    }
    Ok(Target { audience, guests })
}

/// The people on the list named by address, one a line, and what is wrong
/// with the lines: addresses not on the list, or none at all.
async fn named_people(state: &AppState, lines: &str, lang: Lang) -> Result<(Vec<PersonId>, Option<String>)> {
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    let mut tx = state.store.begin().await?;
    for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let found = match Email::parse(line) {
            Ok(e) => person_by_email(&mut tx, &e).await?.filter(|p| p.status == PersonStatus::Confirmed),
            Err(_) => None,
        };
        match found {
            Some(p) => ids.push(p.id),
            None => unknown.push(line.to_owned()),
        }
    }
    drop(tx);
    let refused = if !unknown.is_empty() {
        Some(match lang {
            Lang::Da => format!("Ikke på listen: {}", unknown.join(", ")),
            Lang::En => format!("Not on the list: {}", unknown.join(", ")),
        })
    } else if ids.is_empty() {
        Some(lang.pick("Skriv mindst én adresse.", "Enter at least one address.").into())
    } else {
        None
    };
    Ok((ids, refused))
}

/// The guests, one a line as `name; address; organisation`, up to the first
/// line that does not read, and what is wrong with that line.
fn guests(lines: &str, lang: Lang) -> (Vec<Guest>, Option<String>) {
    let mut guests = Vec::new();
    for (i, line) in lines.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        let parts: Vec<&str> = line.split(';').map(str::trim).collect();
        let name = parts.first().and_then(|n| Name::parse(n).ok());
        let email = parts.get(1).and_then(|e| Email::parse(e).ok());
        let organisation = match parts.get(2).filter(|o| !o.is_empty()) {
            None => Some(None),
            Some(o) => Name::parse(o).ok().map(Some),
        };
        match (name, email, organisation) {
            (Some(name), Some(email), Some(organisation)) if parts.len() <= 3 => {
                guests.push(Guest { email, name, organisation });
            }
            _ => {
                let msg = match lang {
                    Lang::Da => format!("Linje {}: skriv navn; adresse; organisation.", i + 1),
                    Lang::En => format!("Line {}: write name; address; organisation.", i + 1),
                };
                return (guests, Some(msg));
            }
        }
    }
    (guests, None)
}

/// The mail as the organiser would receive it, for the preview.
fn preview_for(state: &AppState, organiser: &Organiser, m: &Meeting, message: &str, lang: Lang) -> Result<Preview> {
    let mail = &state.forum.mail;
    let (name, organisation) = forum::campaigns::sample_reader(&organiser.user.name, lang);
    let letter = Letter {
        to: &organiser.user.email,
        name,
        organisation,
        lang,
        rsvp_url: format!("{}/rsvp/…", mail.base_url),
        unsubscribe_url: None,
    };
    let inv = invitation(mail, m, message, &letter, false).map_err(|e| Error::invalid("message", e))?;
    let (text, _) = invitation_bodies(&inv).map_err(|e| Error::Internal(e.into()))?;
    Ok(Preview { count: 0, subject: inv.subject, text, message_html: inv.message_html })
}

async fn act(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting: m, organiser, fields }: MeetingForm,
) -> Result<Response> {
    let form = InviteForm::read(&fields);
    let (action, lang) = (fields.get("action"), ctx.lang);
    let mut errors: Errors = Vec::new();
    if let Err(e) = personal::check(&form.message) {
        errors.push(("message".into(), message_error(lang, &e)));
    }
    let target = if action == "test" { None } else { Some(target(&state, &form, lang, &mut errors).await?) };
    let send_at = send_time(&form.send_at, lang, &mut errors);
    let mut page = build_page(&state, &ctx, &organiser, &m, form.clone()).await?;
    if !errors.is_empty() {
        page.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    // The message belongs to the meeting: kept whatever the button.
    forum::campaigns::keep_message(&state.forum, &organiser.actor(), m.id, &form.message).await?;
    let Some(target) = target else {
        return test(&state, &organiser, page, &m, &form.message).await;
    };
    match action {
        "preview" => {
            let mut preview = preview_for(&state, &organiser, &m, &form.message, lang)?;
            preview.count = count_invitees(&state.store, &m, &target).await.map_err(Error::Internal)?;
            page.preview = Some(preview);
        }
        "send" => {
            forum::campaigns::may_invite(&m)?;
            page.confirm = Some(confirm_step(&state, &page, &m, &target, send_at, lang).await?);
        }
        "confirm" => return send(&state, &organiser, page, &m, target, send_at, &fields).await,
        _ => return Err(Error::BadRequest("action: must be preview, test, send or confirm".into())),
    }
    Ok(page.into_response())
}

/// Sends a test of the invitation to the organiser alone.
async fn test(
    state: &AppState,
    organiser: &Organiser,
    mut page: InvitationPage,
    m: &Meeting,
    message: &str,
) -> Result<Response> {
    let (to, lang) = (&organiser.user.email, page.lang);
    forum::campaigns::send_test(&state.forum, &organiser.actor(), m, message, to, &organiser.user.name, lang).await?;
    page.notice = Some(format!("{} {to}.", lang.pick("En prøve er sendt til", "A test was sent to")));
    Ok(page.into_response())
}

/// Reads the send time: empty is now.
fn send_time(typed: &str, lang: Lang, errors: &mut Errors) -> Option<Timestamp> {
    if typed.trim().is_empty() {
        return None;
    }
    let at = parse_local(typed);
    if at.is_none() {
        let msg = lang
            .pick("Vælg dato og klokkeslæt, eller lad feltet stå tomt.", "Choose a date and time, or leave it empty.");
        errors.push(("send_at".into(), msg.into()));
    }
    at
}

/// The step between "send" and the invitations going out: who, how many,
/// the deadline and the time, and whether the same invitation went out before.
async fn confirm_step(
    state: &AppState,
    page: &InvitationPage,
    m: &Meeting,
    target: &Target,
    send_at: Option<Timestamp>,
    lang: Lang,
) -> Result<Confirm> {
    let people = invitees(&state.store, m, target).await.map_err(Error::Internal)?;
    let at = |t: Timestamp| format!("{} {}", lang.date(t), lang.time(t));
    let sent_before = state.store.same_invitation_created(m.id, target).await?.map(at);
    Ok(Confirm {
        audience: page.audience_words(target),
        key: confirm_key(&people, target, send_at, &page.form.message),
        people: people.into_iter().map(|r| (r.name, r.organisation)).collect(),
        deadline: m.registration_deadline.map(at),
        when: send_at.map_or_else(|| lang.pick("Nu", "Now").to_owned(), at),
        sent_before,
    })
}

/// A digest of exactly what the confirm step showed; a confirmation with
/// another digest (someone joined or left meanwhile) is shown again.
fn confirm_key(people: &[Recipient], target: &Target, send_at: Option<Timestamp>, message: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(target).unwrap_or_default());
    for r in people {
        h.update(r.person_id.to_string());
    }
    h.update(send_at.map(|t| t.to_string()).unwrap_or_default());
    h.update(message);
    h.finalize().iter().take(16).fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// Sends once the organiser has confirmed what the confirm step showed, and
/// keeps the form as it was so that a second send cannot widen the audience.
async fn send(
    state: &AppState,
    organiser: &Organiser,
    mut page: InvitationPage,
    m: &Meeting,
    target: Target,
    send_at: Option<Timestamp>,
    fields: &Fields,
) -> Result<Response> {
    let lang = page.lang;
    let confirm = confirm_step(state, &page, m, &target, send_at, lang).await?;
    let again = fields.get("again") == "yes";
    let changed = confirm.key != fields.get("key");
    if changed || (confirm.sent_before.is_some() && !again) {
        if changed {
            page.notice = Some(
                lang.pick(
                    "Modtagerne har ændret sig, siden listen blev vist. Se den nye liste, og bekræft igen.",
                    "The recipients have changed since the list was shown. See the new list and confirm again.",
                )
                .into(),
            );
        } else {
            let msg = lang.pick(
                "Sæt kryds for at sende den samme invitation igen.",
                "Tick the box to send the same invitation again.",
            );
            page.errors = vec![("again".into(), msg.into())];
        }
        page.confirm = Some(confirm);
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let who = organiser.actor();
    let cid = forum::campaigns::invite(&state.forum, &who, organiser.user.id, m, target, send_at).await?;
    tracing::info!(campaign = %cid, meeting = %m.id, "invitations confirmed");
    page.notice = Some(page.sent(confirm.people.len(), send_at));
    Ok(page.into_response())
}

impl InvitationPage {
    /// "2 invitationer sendes nu." and the like.
    fn sent(&self, n: usize, send_at: Option<Timestamp>) -> String {
        let (n, lang) = (self.invitations(n), self.lang);
        match (send_at, lang) {
            (Some(at), Lang::Da) => format!("{n} sendes {} {}.", lang.date(at), lang.time(at)),
            (Some(at), Lang::En) => format!("{n} go out on {} at {}.", lang.date(at), lang.time(at)),
            (None, Lang::Da) => format!("{n} sendes nu."),
            (None, Lang::En) => format!("{n} are going out now."),
        }
    }
}
