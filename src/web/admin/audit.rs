//! The audit log for admins: which organiser (by name) did what, filtered by
//! organiser, action, meeting, person, subject and dates with a plain GET
//! form, paged newest first, and downloadable as CSV for a Danish Excel.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::civil::Date;
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{MeetingStatus, PersonStatus, RegistrationStatus, Role, Timestamp, copenhagen};
use crate::i18n::{Lang, Texts, texts};
use crate::store::audit::{self, AuditFilter, AuditRow, Entry};
use crate::transfer::export::csv_sink::{BOM, neutralise};
use crate::web::auth::Organiser;
use crate::web::auth::{Need, needs};
use crate::web::forms::field_error;
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the audit pages.
pub fn router() -> Router<AppState> {
    needs(Need::Admin, Router::new().route("/admin/audit", get(page)).route("/admin/audit/export.csv", get(export)))
}

/// How many entries one page shows.
const PAGE: u32 = 50;
/// The most entries one CSV file holds.
const CSV_LIMIT: u32 = 1_000_000;

/// The entries as a CSV file for Excel: UTF-8 with a byte-order mark,
/// `;`-separated, CRLF line ends, formula-like text neutralised.
fn csv_of(found: &[AuditRow], a: &AuditTexts, names: &Names) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(BOM.to_vec());
    w.write_record(a.csv_headers)?;
    for r in found {
        let at = r.at.to_zoned_datetime(copenhagen()).strftime("%Y-%m-%d %H:%M:%S").to_string();
        let id = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
        let rows = r.row_count.map(|n| n.to_string()).unwrap_or_default();
        w.write_record([
            at.as_str(),
            &neutralise(&actor_name(r, a, names)),
            &id(r.actor_id),
            &neutralise(&r.action),
            &neutralise(&r.subject_kind),
            &id(r.subject_id),
            &neutralise(&r.detail),
            &rows,
        ])?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// A date and time in Copenhagen, in `lang`.
pub(crate) fn when(lang: Lang, t: Timestamp) -> String {
    format!("{} {}", lang.date(t), lang.time(t))
}

texts! {
    /// The words of the audit pages.
    pub struct AuditTexts {
        title => "Revisionslog", "Audit log";
        intro => "Hvem har set, søgt i, ændret, eksporteret eller slettet personoplysninger og hvornår. Nyeste først.",
            "Who viewed, searched, changed, exported or erased personal data, and when. Newest first.";
        actor => "Hvem", "Who";
        action => "Handling", "Action";
        subject => "Emne eller søgeord", "Subject or search term";
        subject_hint => "Et id (UUID) eller tekst fra søgeord og noter.",
            "An id (UUID) or text from search terms and notes.";
        from => "Fra dato", "From date";
        until => "Til og med dato", "Up to and including";
        date_hint => "ÅÅÅÅ-MM-DD", "YYYY-MM-DD";
        bad_date => "Skriv datoen som ÅÅÅÅ-MM-DD, fx 2026-01-31.", "Write the date as YYYY-MM-DD, e.g. 2026-01-31.";
        any => "Alle", "Any";
        people => "Personerne selv", "The people themselves";
        system => "Systemet", "The system";
        filter => "Filtrér", "Filter";
        at => "Tidspunkt", "Time";
        detail => "Søgeord eller note", "Search term or note";
        rows => "Rækker", "Rows";
        none => "Ingen hændelser passer til filteret.", "No entries match the filter.";
        older => "Ældre hændelser", "Older entries";
        download => "Hent som CSV", "Download as CSV";
        meeting => "Møde", "Meeting";
        person => "Person (mailadresse)", "Person (mail address)";
        person_hint => "Hændelser om personen og personens tilmeldinger.",
            "Entries about the person and their registrations.";
        csv_headers: [&'static str; 8] => ["Tidspunkt", "Hvem", "Hvem (id)", "Handling", "Emne", "Emne (id)", "Søgeord eller note", "Rækker"],
            ["Time", "Who", "Who (id)", "Action", "Subject", "Subject (id)", "Search term or note", "Rows"];
    }
}

/// The filter as the form sends it.
#[derive(Debug, Default, Deserialize)]
struct FilterQuery {
    actor: Option<String>,
    action: Option<String>,
    meeting: Option<String>,
    person: Option<String>,
    subject: Option<String>,
    from: Option<String>,
    until: Option<String>,
    before: Option<i64>,
}

fn text(v: Option<&String>) -> &str {
    v.map_or("", |s| s.trim())
}

/// Midnight at the start of `date` in Copenhagen.
fn day_start(date: Date) -> Option<Timestamp> {
    date.to_datetime(jiff::civil::Time::midnight()).to_zoned_datetime(copenhagen()).ok().map(|z| z.timestamp())
}

/// The start of the day typed as `field` (of the next day, for the end of a
/// period); none when left empty, and `bad_date` by the field when it is no date.
fn date_field(
    field: &'static str,
    raw: &str,
    next_day: bool,
    bad_date: &'static str,
    errors: &mut Vec<(&'static str, String)>,
) -> Option<Timestamp> {
    if raw.is_empty() {
        return None;
    }
    let parsed = raw.parse::<Date>().ok().and_then(|d| if next_day { d.tomorrow().ok() } else { Some(d) });
    let at = parsed.and_then(day_start);
    if at.is_none() {
        errors.push((field, bad_date.to_owned()));
    }
    at
}

/// The actor chosen, as the store filters by it: (an account's id, or a
/// kind of actor: `person` or `system`). An id that does not read matches nothing.
fn actor_filter(actor: &str) -> (Option<Uuid>, Option<String>) {
    match actor {
        "" => (None, None),
        "person" | "system" => (None, Some(actor.to_owned())),
        id => (Some(Uuid::parse_str(id).unwrap_or(Uuid::nil())), None),
    }
}

impl FilterQuery {
    /// The store's filter, or the fields that are wrong.
    fn parse(&self, limit: u32, lang: Lang) -> std::result::Result<AuditFilter, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let person = text(self.person.as_ref());
        let person_email = if person.is_empty() {
            None
        } else {
            crate::domain::Email::parse(person)
                .map(|e| e.as_str().to_owned())
                .map_err(|e| errors.push(("person", lang.refused(e))))
                .ok()
        };
        let bad_date = AuditTexts::get(lang).bad_date;
        let from = date_field("from", text(self.from.as_ref()), false, bad_date, &mut errors);
        let until = date_field("until", text(self.until.as_ref()), true, bad_date, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let (actor_id, actor_kind) = actor_filter(text(self.actor.as_ref()));
        let subject = text(self.subject.as_ref());
        let (subject_id, detail) = match Uuid::parse_str(subject) {
            Ok(id) => (Some(id), None),
            Err(_) => (None, (!subject.is_empty()).then(|| subject.to_owned())),
        };
        let action = text(self.action.as_ref());
        let meeting = text(self.meeting.as_ref());
        Ok(AuditFilter {
            meeting_id: (!meeting.is_empty()).then(|| Uuid::parse_str(meeting).unwrap_or(Uuid::nil())),
            person_email,
            actor_id,
            actor_kind,
            action: (!action.is_empty()).then(|| action.to_owned()),
            subject_id,
            detail,
            from,
            until,
            before_id: self.before,
            limit,
        })
    }

    /// The query string of this filter, without paging.
    fn query_string(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("meeting", &self.meeting),
            ("person", &self.person),
            ("subject", &self.subject),
        ] {
            out.append_pair(k, text(v.as_ref()));
        }
        out.append_pair("from", text(self.from.as_ref()));
        out.append_pair("until", text(self.until.as_ref()));
        out.finish()
    }
}

/// One entry as a row of the page.
pub struct Row {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    /// The subject's id, for the link to its entries; never shown.
    pub subject_id: Option<String>,
    pub detail: String,
    pub rows: String,
}

impl Row {
    fn of(r: &AuditRow, lang: Lang, names: &Names) -> Self {
        Self {
            at: when(lang, r.at),
            actor: actor_name(r, AuditTexts::get(lang), names),
            action: action(&r.action, lang),
            subject: subject(r, lang),
            subject_id: r.subject_id.map(|id| id.to_string()),
            detail: detail(&r.detail, lang),
            rows: r.row_count.map(|n| n.to_string()).unwrap_or_default(),
        }
    }
}

/// The organisers' accounts by id: the name each is shown by.
type Names = std::collections::HashMap<Uuid, String>;

/// The name of each account that has one.
fn names_of(accounts: &[crate::store::users::Account]) -> Names {
    accounts
        .iter()
        .filter(|acc| !acc.user.name.trim().is_empty())
        .map(|acc| (acc.user.id.uuid(), acc.user.name.trim().to_owned()))
        .collect()
}

/// Who acted: an organiser by name (by the masked address recorded at the
/// time when the account has no name or is gone), the people themselves, or
/// the system.
fn actor_name(r: &AuditRow, a: &AuditTexts, names: &Names) -> String {
    match r.actor_kind.as_str() {
        "person" => a.people.to_owned(),
        "system" if r.actor_label.is_empty() => a.system.to_owned(),
        "system" => format!("{} ({})", a.system, r.actor_label),
        _ => r.actor_id.and_then(|id| names.get(&id).cloned()).unwrap_or_else(|| r.actor_label.clone()),
    }
}

/// What was done, in words; an action without words (a newer one) as its code.
pub(crate) fn action(code: &str, lang: Lang) -> String {
    if let Some(status) = code.strip_prefix("meeting.").and_then(|s| MeetingStatus::parse(s).ok()) {
        return format!("{}: {}", lang.pick("Møde", "Meeting"), lang.status(status).to_lowercase());
    }
    ACTIONS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map_or_else(|| code.to_owned(), |&(_, da, en)| lang.pick(da, en).to_owned())
}

/// Each action the log records, with its words: (code, Danish, English).
const ACTIONS: &[(&str, &str, &str)] = &[
    ("audit.export", "Revisionslog hentet", "Audit log downloaded"),
    ("campaign.create", "Udsendelse oprettet", "Mailing created"),
    ("campaign.state", "Udsendelse ændret", "Mailing changed"),
    ("checkin.person", "Person set ved indtjekning", "Person seen at check-in"),
    ("checkin.search", "Søgning ved indtjekning", "Search at check-in"),
    ("checkin.view", "Indtjekning åbnet", "Check-in opened"),
    ("demo.load", "Demodata indlæst", "Demo data loaded"),
    ("evaluation.close", "Evaluering lukket", "Evaluation closed"),
    ("evaluation.hold_texts", "Fritekstsvar holdt tilbage eller vist", "Free-text answers held or shown"),
    ("evaluation.release_text", "Fritekstsvar frigivet", "Free-text answer released"),
    ("evaluation.remind", "Påmindelse om evaluering", "Evaluation reminder"),
    ("evaluation.send", "Evaluering sendt ud", "Evaluation sent out"),
    ("export.evaluation", "Evaluering hentet", "Evaluation downloaded"),
    ("export.participants", "Deltagerliste hentet", "Participant list downloaded"),
    ("export.subscribers", "Mailingliste hentet", "Mailing list downloaded"),
    ("interest.add", "Interesse tilføjet", "Interest added"),
    ("interest.move", "Interesse flyttet", "Interest moved"),
    ("interest.remove", "Interesse fjernet", "Interest removed"),
    ("interest.rename", "Interesse omdøbt", "Interest renamed"),
    ("invitation.test", "Prøveinvitation", "Test invitation"),
    ("login.failed", "Mislykket login", "Failed sign-in"),
    ("login.throttled", "Login bremset", "Sign-in throttled"),
    ("material.delete", "Materiale slettet", "Material deleted"),
    ("material.upload", "Materiale lagt op", "Material uploaded"),
    ("materials.release.list", "Materialer frigivet til listen", "Materials released to the list"),
    ("materials.release.attendees", "Materialer frigivet til deltagerne", "Materials released to the attendees"),
    ("materials.release.none", "Materialer frigivet uden mail", "Materials released without mail"),
    ("meeting.create", "Møde oprettet", "Meeting created"),
    ("meeting.copy", "Møde kopieret som start på det næste", "Meeting copied as the start of the next"),
    ("meeting.invitation_message", "Invitationstekst ændret", "Invitation text changed"),
    ("meeting.programme", "Program ændret", "Programme changed"),
    ("meeting.reopen", "Møde genåbnet", "Meeting reopened"),
    ("meeting.reschedule", "Møde flyttet", "Meeting rescheduled"),
    ("meeting.update", "Møde ændret", "Meeting changed"),
    ("organisation.cvr", "CVR-nummer ændret", "CVR number changed"),
    ("person.bounced", "Mails kom retur", "Mail bounced"),
    ("person.complaint", "Klage over mail", "Complaint about mail"),
    ("person.confirm", "Tilmelding bekræftet", "Sign-up confirmed"),
    ("person.erase", "Person slettet", "Person erased"),
    ("person.export", "Personens data hentet", "Person's data downloaded"),
    ("person.leave", "Frameldt listen", "Left the list"),
    ("person.profile_link", "Link til egne oplysninger", "Link to own details"),
    ("person.fresh_link", "Nyt link til at svare", "New link to answer"),
    ("person.search", "Søgning efter personer", "Search for people"),
    ("person.signup", "Tilmeldt listen", "Signed up to the list"),
    ("person.soft_bounce", "Mail midlertidigt afvist", "Mail temporarily refused"),
    ("person.update", "Person ændret", "Person changed"),
    ("subscriber.update", "Person ændret", "Person changed"),
    ("person.view", "Person set", "Person viewed"),
    ("subscriber.view", "Person set", "Person viewed"),
    ("registration.check_in", "Tjekket ind", "Checked in"),
    ("registration.check_in_undone", "Indtjekning fortrudt", "Check-in undone"),
    ("registration.erase", "Tilmelding slettet", "Registration erased"),
    ("registration.walk_in", "Tilføjet ved døren", "Added at the door"),
    ("registrations.view", "Tilmeldinger set", "Registrations viewed"),
    ("report.approve", "Referat godkendt", "Report approved"),
    ("report.back_to_draft", "Referat ændret og tilbage til kladde", "Report changed and back to draft"),
    (
        "report.publish.attendees",
        "Referat offentliggjort og sendt til deltagerne",
        "Report published and mailed to the attendees",
    ),
    ("report.publish.list", "Referat offentliggjort og sendt til listen", "Report published and mailed to the list"),
    ("report.publish.none", "Referat offentliggjort uden mail", "Report published without mail"),
    ("report.write", "Referat skrevet", "Report written"),
    ("retention.purge", "Gamle oplysninger slettet", "Old data purged"),
    ("retention.reduce", "Tilmeldinger reduceret til tal", "Registrations reduced to totals"),
    ("rsvp.attending", "Svar: kommer", "Answer: attending"),
    ("rsvp.declined", "Svar: afbud", "Answer: declined"),
    ("rsvp.passed_on", "Invitation givet videre", "Invitation passed on"),
    ("rsvp.waitlisted", "Svar: på venteliste", "Answer: on the waiting list"),
    ("subscriber.create", "Person oprettet", "Person created"),
    ("subscribers.import", "Personer importeret", "People imported"),
    ("subscribers.list", "Personliste set", "List of people viewed"),
    ("token.create", "API-nøgle oprettet", "API token created"),
    ("token.revoke", "API-nøgle tilbagekaldt", "API token revoked"),
    ("user.create", "Bruger oprettet", "User created"),
    ("user.disable", "Bruger spærret", "User disabled"),
    ("user.enable", "Bruger genåbnet", "User enabled"),
    ("user.invite", "Bruger inviteret", "User invited"),
    ("user.invite_accepted", "Invitation taget imod, adgangskode valgt", "Invitation accepted, password chosen"),
    ("user.password_change", "Adgangskode skiftet", "Password changed"),
    ("user.password_reset", "Adgangskode nulstillet via mail", "Password reset by mail"),
    ("user.reset_request", "Link til ny adgangskode sendt", "Password reset link sent"),
    ("user.role", "Rolle ændret", "Role changed"),
    ("user.set_up", "Bruger sat op", "User set up"),
    ("seat.add", "Tilføjet i hånden med plads", "Added by hand with a seat"),
    ("track.move", "Flyttet til et andet spor", "Moved to another track"),
    ("checkin.door_list", "Dørliste set", "Door list viewed"),
    ("meeting.message", "Besked til mødets folk", "Message to the meeting's people"),
    ("waitlist.seat", "Plads fra ventelisten i hånden", "Seat from the waiting list by hand"),
    ("waitlist.move", "Flyttet på ventelisten", "Moved on the waiting list"),
    ("waitlist.reorder", "Ventelisten ordnet", "Waiting list reordered"),
];

/// What an entry is about, in words; its id stays in the link.
fn subject(r: &AuditRow, lang: Lang) -> String {
    let word = match r.subject_kind.as_str() {
        "meeting" => lang.pick("Møde", "Meeting"),
        "person" => lang.pick("Person", "Person"),
        "registration" => lang.pick("Tilmelding", "Registration"),
        "campaign" => lang.pick("Udsendelse", "Mailing"),
        "user" => lang.pick("Bruger", "User"),
        "api_token" => lang.pick("API-nøgle", "API token"),
        "organisation" => lang.pick("Organisation", "Organisation"),
        "evaluation" => lang.pick("Evaluering", "Evaluation"),
        "audit_log" => lang.pick("Revisionslog", "Audit log"),
        other => return other.to_owned(),
    };
    word.to_owned()
}

/// A detail made of stored status names (`"attending"`, `"draft published"`)
/// said in words; any other detail, such as a search term, as it was written.
fn detail(stored: &str, lang: Lang) -> String {
    let word = |w: &str| -> Option<&'static str> {
        RegistrationStatus::parse(w)
            .map(|s| lang.registration_status(s))
            .or_else(|_| MeetingStatus::parse(w).map(|s| lang.status(s)))
            .or_else(|_| PersonStatus::parse(w).map(|s| lang.person_status(s)))
            .or_else(|_| Role::parse(w).map(|r| lang.role(r)))
            .ok()
    };
    let tokens: Vec<&str> =
        stored.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').filter(|w| !w.is_empty()).collect();
    if tokens.is_empty() || !tokens.iter().all(|w| word(w).is_some()) {
        return stored.to_owned();
    }
    let mut out = String::new();
    let mut rest = stored;
    for w in tokens {
        let at = rest.find(w).unwrap_or(0);
        out.push_str(&rest[..at]);
        out.push_str(word(w).unwrap_or(w));
        rest = &rest[at + w.len()..];
    }
    out.push_str(rest);
    out
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    lang: Lang,
    t: &'static Texts,
    a: &'static AuditTexts,
    path: String,
    /// The filter as entered.
    actor: String,
    action: String,
    subject: String,
    from: String,
    until: String,
    meeting: String,
    person: String,
    /// Accounts to choose from: (id, name or address).
    actors: Vec<(String, String)>,
    /// Meetings to choose from: (id, title and date).
    meetings: Vec<(String, String)>,
    /// Each action's code and its words.
    actions: Vec<(String, String)>,
    rows: Vec<Row>,
    errors: Vec<(&'static str, String)>,
    /// The query string of the CSV download and of the next page.
    query: String,
    next: Option<i64>,
}

impl AuditPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }
}

async fn page(State(state): State<AppState>, ctx: Ctx, _: Organiser, Query(q): Query<FilterQuery>) -> Result<Response> {
    let a = AuditTexts::get(ctx.lang);
    let parsed = q.parse(PAGE + 1, ctx.lang);
    let (mut found, errors) = match &parsed {
        Ok(filter) => (state.store.audit_entries(filter).await?, Vec::new()),
        Err(errors) => (Vec::new(), errors.clone()),
    };
    let more = found.len() > PAGE as usize;
    found.truncate(PAGE as usize);
    let accounts = state.store.accounts().await?;
    let names = names_of(&accounts);
    let actors = actor_choices(&accounts, &names);
    let meetings = meeting_choices(&state, ctx.lang).await?;
    let codes = state.store.audit_actions().await?;
    let actions = codes.into_iter().map(|c| (action(&c, ctx.lang), c)).map(|(w, c)| (c, w)).collect();
    let page = AuditPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        a,
        path: ctx.path,
        actor: text(q.actor.as_ref()).to_owned(),
        action: text(q.action.as_ref()).to_owned(),
        subject: text(q.subject.as_ref()).to_owned(),
        from: text(q.from.as_ref()).to_owned(),
        until: text(q.until.as_ref()).to_owned(),
        meeting: text(q.meeting.as_ref()).to_owned(),
        person: text(q.person.as_ref()).to_owned(),
        actors,
        meetings,
        actions,
        next: found.last().filter(|_| more).map(|r| r.id),
        rows: found.iter().map(|r| Row::of(r, ctx.lang, &names)).collect(),
        query: q.query_string(),
        errors,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, page).into_response())
}

/// The accounts to choose from, by name (or address) in alphabetical order: (id, name).
fn actor_choices(accounts: &[crate::store::users::Account], names: &Names) -> Vec<(String, String)> {
    let mut actors: Vec<(String, String)> = accounts
        .iter()
        .map(|acc| {
            let id = acc.user.id.uuid();
            (id.to_string(), names.get(&id).cloned().unwrap_or_else(|| acc.user.email.to_string()))
        })
        .collect();
    actors.sort_by_key(|x| x.1.to_lowercase());
    actors
}

/// The latest 500 meetings to choose from: (id, title and date).
async fn meeting_choices(state: &AppState, lang: Lang) -> Result<Vec<(String, String)>> {
    let filter = crate::store::meetings::MeetingFilter { public_only: false, limit: Some(500), before: None };
    Ok(state
        .store
        .meetings(filter)
        .await?
        .into_iter()
        .map(|m| (m.id.uuid().to_string(), format!("{} ({})", m.title, lang.date(m.starts_at))))
        .collect())
}

/// The filtered log as CSV: UTF-8 with a byte-order mark, `;`, CRLF. The
/// download is itself recorded.
async fn export(
    State(state): State<AppState>,
    ctx: Ctx,
    organiser: Organiser,
    Query(q): Query<FilterQuery>,
) -> Result<Response> {
    let a = AuditTexts::get(ctx.lang);
    let filter = q.parse(CSV_LIMIT, ctx.lang).map_err(|e| {
        let (field, message) = e.into_iter().next().unwrap_or(("from", String::new()));
        Error::invalid(field, message)
    })?;
    let found = state.store.audit_entries(&filter).await?;
    let names = names_of(&state.store.accounts().await?);
    let out = csv_of(&found, a, &names).map_err(Error::Internal)?;
    let detail = q.query_string();
    audit::record_read(
        &state.store,
        &organiser.actor(),
        &Entry::read("audit.export", "audit_log", None, &detail, found.len()),
    )
    .await?;
    let mut res = (StatusCode::OK, out).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"audit-log.csv\""));
    Ok(res)
}
