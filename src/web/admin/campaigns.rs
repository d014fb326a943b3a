//! Organiser page for mailings: every campaign (invitations, calendar
//! updates, evaluations, reminders) with its meeting, its kind and its
//! audience in words, its state and progress — or, while it waits for its
//! time, when it goes and how many it would reach — and buttons to pause,
//! resume or cancel one: the same transitions as the API.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::domain::{CampaignId, Timestamp};
use crate::forum::{self, campaigns::Move};
use crate::i18n::{Lang, Texts, texts};
use crate::mail::deliver::worker::time_to_send;
use crate::store::campaigns::{Audience, EXPANSION_ATTEMPTS, Progress, Target};
use crate::store::meetings::MeetingFilter;
use crate::web::auth::{Need, Organiser, needs};
use crate::web::extract::{OrganiserForm, Path};
use crate::web::{AppState, Ctx, Error, Result};

/// How many campaigns the page lists.
const SHOWN: i64 = 100;

/// Routes of the campaigns page.
pub fn router() -> Router<AppState> {
    needs(Need::Read, Router::new().route("/admin/campaigns", get(page)))
        .merge(needs(Need::Write, Router::new().route("/admin/campaigns/{id}", post(change))))
}

texts! {
    /// The texts of the campaigns page.
    pub struct CampaignTexts {
        title => "Udsendelser", "Mailings";
        intro => "Alle udsendelser med deres fremdrift. En sat på pause sender intet, før den genoptages; \
                en aflyst trækker sine ventende mails tilbage. Mails, der allerede er afleveret, kan ikke kaldes tilbage.",
            "Every mailing with its progress. A paused one sends nothing until it is resumed; a cancelled one \
                withdraws its waiting mail. Mail already handed over cannot be recalled.";
        none => "Der er ingen udsendelser endnu.", "There are no mailings yet.";
        caption => "Udsendelser, nyeste først", "Mailings, latest first";
        mailing => "Udsendelse", "Mailing";
        audience => "Modtagere", "Audience";
        waiting => "Sendes", "Goes out";
        recipients => "modtagere", "recipients";
        recipient => "modtager", "recipient";
        everyone => "Alle på listen", "Everyone on the list";
        interests => "Interesser", "Interests";
        organisations => "Organisationer", "Organisations";
        attendees_of => "Deltagerne i", "Those who attended";
        attended => "Dem, der deltog i mødet", "Those who attended the meeting";
        not_answered => "Deltagere, der ikke har svaret", "Attendees who have not answered";
        people => "bestemte personer", "chosen people";
        guests => "gæster", "guests";
        meeting => "Møde", "Meeting";
        when => "Tidspunkt", "Time";
        state => "Status", "State";
        progress => "Sendt", "Sent";
        actions => "Handlinger", "Actions";
        pause => "Sæt på pause", "Pause";
        resume => "Genoptag", "Resume";
        cancel => "Aflys", "Cancel";
        of => "af", "of";
        failed => "fejlet", "failed";
        /// Before the estimated time the rest of a mailing has left.
        finish => "forventes færdig", "expected to finish";
        /// Before the reason a campaign could not be expanded.
        failure => "Kunne ikke forberedes", "Could not be prepared";
    }
}

/// One campaign as the page shows it.
struct Row {
    id: String,
    kind: &'static str,
    /// Who it goes to, in words.
    audience: String,
    /// While it waits for its time: how many it would reach now.
    expected: Option<String>,
    meeting: String,
    when: String,
    state: &'static str,
    sent: i64,
    failed: i64,
    total: i64,
    /// Why its expansion failed, with the attempts so far.
    failure: Option<String>,
    /// When its queued mail is expected to have left, at the configured pace.
    finish: Option<String>,
    can_pause: bool,
    can_resume: bool,
    can_cancel: bool,
}

impl Row {
    fn new(lang: Lang, p: &Progress, meeting: Option<String>) -> Self {
        let say = |da: &'static str, en: &'static str| if lang == Lang::En { en } else { da };
        let kind = match p.kind.as_str() {
            "invitation" => say("Invitation", "Invitation"),
            "evaluation" => say("Evaluering", "Evaluation"),
            "evaluation_reminder" => say("Påmindelse om evalueringen", "Evaluation reminder"),
            "report" => say("Referat", "Report"),
            "materials" => say("Materialer", "Materials"),
            _ => say("Besked", "Notice"),
        };
        let state = lang.campaign_state(&p.state);
        let s = p.state.as_str();
        Self {
            id: p.id.to_string(),
            kind,
            audience: String::new(),
            expected: None,
            meeting: meeting.unwrap_or_else(|| "–".to_owned()),
            when: format!("{} {}", lang.date(p.scheduled_at), lang.time(p.scheduled_at)),
            state,
            sent: p.sent,
            failed: p.failed,
            total: p.total,
            failure: p.failure.as_ref().map(|f| match lang {
                Lang::Da => format!("{f} (forsøg {} af {EXPANSION_ATTEMPTS})", p.attempts),
                Lang::En => format!("{f} (attempt {} of {EXPANSION_ATTEMPTS})", p.attempts),
            }),
            finish: None,
            can_pause: matches!(s, "scheduled" | "sending"),
            can_resume: s == "paused",
            can_cancel: matches!(s, "scheduled" | "sending" | "paused"),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/campaigns.html")]
struct CampaignsPage {
    lang: Lang,
    t: &'static Texts,
    p: &'static CampaignTexts,
    path: String,
    csrf: String,
    can_write: bool,
    rows: Vec<Row>,
}

async fn page(State(state): State<AppState>, ctx: Ctx, organiser: Organiser) -> Result<CampaignsPage> {
    let campaigns = state.store.recent_campaigns(SHOWN).await?;
    let names = Names::load(&state, ctx.lang).await?;
    let c = CampaignTexts::get(ctx.lang);
    let mut rows = Vec::with_capacity(campaigns.len());
    for (p, title, target) in &campaigns {
        let mut row = Row::new(ctx.lang, p, title.clone());
        row.audience = names.audience(c, &p.kind, target.as_ref());
        if p.state == "scheduled"
            && let Some(target) = target
        {
            let n = forum::campaigns::expected_reach(&state.forum, &p.kind, p.meeting_id, target).await?;
            row.expected = Some(format!("{n} {}", if n == 1 { c.recipient } else { c.recipients }));
        }
        rows.push(row);
    }
    let progress: Vec<&Progress> = campaigns.iter().map(|(p, _, _)| p).collect();
    estimate_finish(&state, ctx.lang, &progress, &mut rows).await?;
    Ok(CampaignsPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        p: c,
        path: ctx.path,
        csrf: organiser.csrf.clone(),
        can_write: organiser.user.role.can_write(),
        rows,
    })
}

/// The names an audience is told in: interests, organisations and meetings by id.
struct Names {
    interests: HashMap<String, String>,
    organisations: HashMap<String, String>,
    meetings: HashMap<String, String>,
}

impl Names {
    async fn load(state: &AppState, lang: Lang) -> Result<Self> {
        let interests = state
            .store
            .interests()
            .await?
            .into_iter()
            .map(|i| (i.key, if lang == Lang::En { i.title_en } else { i.title_da }))
            .collect();
        let organisations =
            state.store.organisations().await?.into_iter().map(|o| (o.id.to_string(), o.name)).collect();
        let meetings = state
            .store
            .meetings(MeetingFilter::default())
            .await?
            .into_iter()
            .map(|m| (m.id.to_string(), m.title))
            .collect();
        Ok(Self { interests, organisations, meetings })
    }

    /// "Organisationer: Nordlys IT A/S, Fjord Data ApS + 2 gæster".
    fn audience(&self, c: &CampaignTexts, kind: &str, target: Option<&Target>) -> String {
        let named = |map: &HashMap<String, String>, keys: Vec<String>| {
            keys.iter().map(|k| map.get(k).map_or("–", String::as_str)).collect::<Vec<_>>().join(", ")
        };
        let Some(target) = target else { return "–".to_owned() };
        let mut words = match &target.audience {
            Some(Audience::All) => c.everyone.to_owned(),
            Some(Audience::Interests(keys)) => format!("{}: {}", c.interests, named(&self.interests, keys.clone())),
            Some(Audience::Organisations(ids)) => format!(
                "{}: {}",
                c.organisations,
                named(&self.organisations, ids.iter().map(ToString::to_string).collect())
            ),
            Some(Audience::AttendeesOf(ids)) => {
                format!("{} {}", c.attendees_of, named(&self.meetings, ids.iter().map(ToString::to_string).collect()))
            }
            Some(Audience::People(ids)) => format!("{} {}", ids.len(), c.people),
            None if kind == crate::mail::compose::evaluations::KIND => c.attended.to_owned(),
            None if kind == crate::mail::compose::evaluations::REMINDER_KIND => c.not_answered.to_owned(),
            None => String::new(),
        };
        if !target.guests.is_empty() {
            if !words.is_empty() {
                words.push_str(" + ");
            }
            let _ = write!(words, "{} {}", target.guests.len(), c.guests);
        }
        if words.is_empty() { "–".to_owned() } else { words }
    }
}

/// Sets the expected finish of each mailing that is sending: the mail queued
/// by it and by the mailings before it, at the configured rate and daily cap.
async fn estimate_finish(state: &AppState, lang: Lang, campaigns: &[&Progress], rows: &mut [Row]) -> Result<()> {
    let mail = &state.settings.mail;
    let (rate, cap) = (mail.effective_rate_per_minute(), mail.effective_daily_cap());
    if rate == 0.0 && cap == 0 {
        return Ok(());
    }
    let handed_over = if cap > 0 {
        let day_ago = Timestamp::now().checked_sub(jiff::SignedDuration::from_hours(24)).unwrap_or(Timestamp::MIN);
        state.store.handed_over_since(day_ago).await?
    } else {
        0
    };
    let mut order: Vec<usize> = (0..campaigns.len()).filter(|&i| campaigns[i].state == "sending").collect();
    order.sort_by_key(|&i| campaigns[i].scheduled_at);
    let mut ahead = 0;
    for i in order {
        ahead += campaigns[i].queued;
        if campaigns[i].queued > 0
            && let Some(d) = time_to_send(ahead, rate, cap, handed_over)
            && let Ok(d) = jiff::SignedDuration::try_from(d)
            && let Ok(at) = Timestamp::now().checked_add(d)
        {
            rows[i].finish = Some(format!("{} {}", lang.date(at), lang.time(at)));
        }
    }
    Ok(())
}

async fn change(
    State(state): State<AppState>,
    Path(id): Path<CampaignId>,
    OrganiserForm { organiser, fields }: OrganiserForm,
) -> Result<Response> {
    let to = match fields.get("action") {
        "pause" => Move::Pause,
        "resume" => Move::Resume,
        "cancel" => Move::Cancel,
        _ => return Err(Error::BadRequest("action must be pause, resume or cancel".to_owned())),
    };
    forum::campaigns::change(&state.forum, &organiser.actor(), id, to).await?;
    Ok(Redirect::to("/admin/campaigns").into_response())
}
