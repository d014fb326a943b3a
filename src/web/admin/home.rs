//! The organiser dashboard: the next meeting with its registrations by
//! status, campaigns going out with their progress, the list's growth over
//! the last twelve months, what bounces hold back, and the way to every
//! organiser page the role may open.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use jiff::Span;

use crate::domain::{Timestamp, copenhagen};
use crate::i18n::{Lang, Texts, texts};
use crate::store::meetings::MeetingFilter;
use crate::store::outbox::OutboxCounts;
use crate::store::overview::{BounceCounts, CampaignUnderway, NextMeeting};
use crate::web::auth::{Need, Organiser, needs};
use crate::web::views::MeetingView;
use crate::web::{AppState, Ctx, Result};

/// Routes of the organiser workspace's front page.
pub fn router() -> Router<AppState> {
    needs(Need::Read, Router::new().route("/admin", get(dashboard)))
}

texts! {
    /// The dashboard's own words.
    pub struct DashboardTexts {
        next_meeting => "Næste møde", "Next meeting";
        no_next_meeting => "Der er ikke planlagt noget møde.", "No meeting is planned.";
        capacity => "Pladser", "Seats";
        checked_in => "Tjekket ind", "Checked in";
        no_registrations => "Ingen tilmeldinger endnu.", "No registrations yet.";
        campaigns => "Udsendelser i gang", "Mailings under way";
        no_campaigns => "Ingen udsendelser er i gang.", "No mailing is under way.";
        campaign => "Udsendelse", "Mailing";
        progress => "Fremdrift", "Progress";
        sent_of => "sendt af", "sent of";
        failed => "fejlet", "failed";
        growth => "Listens vækst", "Growth of the list";
        growth_intro => "Bekræftede tilmeldinger til listen pr. måned, de seneste 12 måneder.",
            "Confirmed sign-ups to the list per month, the last 12 months.";
        month => "Måned", "Month";
        confirmed => "Bekræftede", "Confirmed";
        bounces => "Returmails", "Bounces";
        suppressed => "Spærrede adresser (hårde returmails og klager)",
            "Suppressed addresses (hard bounces and complaints)";
        soft_pending => "Adresser med bløde returmails", "Addresses with soft bounces";
        failed_messages => "Mails, der ikke kunne leveres", "Messages that could not be delivered";
        workspace => "Arbejdsområder", "Workspace";
        all_meetings => "Møder", "Meetings";
        organisations => "Organisationer", "Organisations";
        interests => "Interesser", "Interests";
        evaluations => "Evalueringer", "Evaluations";
        year => "Årsoversigt", "Annual picture";
        exports => "Eksport", "Exports";
        users => "Brugere", "Users";
        tokens => "API-nøgler", "API tokens";
        audit => "Revisionslog", "Audit log";
        password => "Skift adgangskode", "Change password";
    }
}

/// A month of the growth table.
pub struct MonthRow {
    pub label: String,
    pub confirmed: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/dashboard.html")]
struct Dashboard {
    lang: Lang,
    t: &'static Texts,
    d: &'static DashboardTexts,
    path: String,
    user_email: String,
    role: &'static str,
    can_write: bool,
    is_admin: bool,
    next: Option<NextMeeting>,
    next_when: String,
    campaigns: Vec<CampaignUnderway>,
    growth: Vec<MonthRow>,
    growth_max: i64,
    bounces: BounceCounts,
    people: Vec<(String, i64)>,
    outbox: OutboxCounts,
    meetings: Vec<MeetingView>,
}

/// Confirmations counted per month for the twelve months up to and including
/// this one, in the forum's calendar.
fn months(now: Timestamp, confirmed: &[Timestamp], lang: Lang) -> Vec<MonthRow> {
    let here = now.to_zoned_datetime(copenhagen());
    let this_month = here.date().first_of_month();
    (0..12)
        .rev()
        .filter_map(|back| this_month.checked_sub(Span::new().months(back)).ok())
        .map(|first| {
            let n = confirmed
                .iter()
                .map(|t| t.to_zoned_datetime(copenhagen()).date())
                .filter(|d| d.year() == first.year() && d.month() == first.month())
                .count();
            let name = lang.texts().months[usize::try_from(first.month() - 1).unwrap_or(0)];
            MonthRow { label: format!("{name} {}", first.year()), confirmed: i64::try_from(n).unwrap_or(i64::MAX) }
        })
        .collect()
}

/// The first instant of the month eleven months before this one.
fn growth_start(now: Timestamp) -> Timestamp {
    let here = now.to_zoned_datetime(copenhagen());
    here.date()
        .first_of_month()
        .checked_sub(Span::new().months(11))
        .ok()
        .and_then(|d| d.to_datetime(jiff::civil::Time::midnight()).to_zoned_datetime(copenhagen()).ok())
        .map_or(Timestamp::UNIX_EPOCH, |z| z.timestamp())
}

async fn dashboard(State(state): State<AppState>, ctx: Ctx, organiser: Organiser) -> Result<Dashboard> {
    let now = Timestamp::now();
    let meetings = state.store.meetings(MeetingFilter::default()).await?;
    let next = state.store.next_meeting_overview().await?;
    let confirmed = state.store.confirmations_since(growth_start(now)).await?;
    let growth = months(now, &confirmed, ctx.lang);
    Ok(Dashboard {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        d: DashboardTexts::get(ctx.lang),
        path: ctx.path,
        user_email: organiser.user.email.to_string(),
        role: organiser.user.role.as_str(),
        can_write: organiser.user.role.can_write(),
        is_admin: organiser.user.role.is_admin(),
        next_when: next
            .as_ref()
            .map(|m| format!("{} {}", ctx.lang.date(m.starts_at), ctx.lang.time(m.starts_at)))
            .unwrap_or_default(),
        next,
        campaigns: state.store.campaigns_underway().await?,
        growth_max: growth.iter().map(|m| m.confirmed).max().unwrap_or(0).max(1),
        growth,
        bounces: state.store.bounce_counts().await?,
        people: state.store.person_counts().await?,
        outbox: state.store.outbox_counts().await?,
        meetings: meetings.iter().map(|m| MeetingView::new(m, ctx.lang)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_months_end_with_this_one_and_count_each_confirmation_once() {
        let now: Timestamp = "2026-03-10T12:00:00Z".parse().unwrap();
        let confirmed: Vec<Timestamp> =
            ["2025-04-01T00:30:00+02:00", "2026-03-01T00:10:00+01:00", "2026-02-28T23:30:00Z"]
                .iter()
                .map(|t| t.parse().unwrap())
                .collect();
        let rows = months(now, &confirmed, Lang::En);
        assert_eq!(rows.len(), 12);
        assert_eq!(rows[0].label, "April 2025");
        assert_eq!(rows[11].label, "March 2026");
        assert_eq!(rows.iter().map(|r| r.confirmed).collect::<Vec<_>>(), [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(growth_start(now).to_string(), "2025-03-31T22:00:00Z");
    }
}
