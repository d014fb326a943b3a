//! The organiser page for the report after a meeting: write its sections
//! (a heading and Markdown text each; add, change, remove), start them from
//! the programme, approve the report, and publish it with the choice of who
//! gets it by mail; and release the meeting's materials at a set time.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::Timestamp;
use crate::domain::report::{Mailing, ReportState, SectionError, Sections};
use crate::forum::reports as use_case;
use crate::forum::{ForumError, Refusal};
use crate::i18n::{Lang, Texts, texts};
use crate::store::materials::Material;
use crate::store::meetings::Meeting;
use crate::web::auth::Organiser;
use crate::web::auth::{Need, needs};
use crate::web::extract::{Fields, MeetingForm, OrganiserMeeting};
use crate::web::views::markdown;
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the report page.
pub fn router() -> Router<AppState> {
    needs(Need::Read, Router::new().route("/admin/meetings/{id}/report", get(page))).merge(needs(
        Need::Write,
        Router::new()
            .route("/admin/meetings/{id}/report", post(save))
            .route("/admin/meetings/{id}/report/approve", post(approve))
            .route("/admin/meetings/{id}/report/publish", post(publish))
            .route("/admin/meetings/{id}/materials/release", post(release)),
    ))
}

texts! {
    /// The words of the report page.
    pub struct Labels {
        heading => "Referat", "Report";
        intro => "Referatet er mødets offentlige beretning: velkomst, oplæg, hvad der blev sagt ved bordene. Det skrives i afsnit med en overskrift og tekst i Markdown (**fed**, *kursiv*, lister og links).",
            "The report is the meeting's public account: the welcome, the talks, what was said at the tables. It is written in sections, each a heading and text in Markdown (**bold**, *italic*, lists and links).";
        back => "Tilbage til mødet", "Back to the meeting";
        state => "Status", "State";
        states: [&'static str; 4] => ["Intet referat endnu", "Kladde", "Godkendt", "Offentliggjort"],
            ["No report yet", "Draft", "Approved", "Published"];
        published_at => "Offentliggjort", "Published";
        public_page => "Se mødets offentlige side", "See the meeting's public page";
        changed_since => "Referatet er ændret, siden det blev offentliggjort. Den offentlige side viser den offentliggjorte udgave, til det er godkendt og offentliggjort igen.",
            "The report has changed since it was published. The public page shows the published version until it is approved and published again.";
        sections => "Afsnit", "Sections";
        section => "Afsnit", "Section";
        new_section => "Nyt afsnit", "New section";
        new_hint => "Udfyld for at tilføje et afsnit. Lades det tomt, tilføjes intet.",
            "Fill in to add a section. Left empty, nothing is added.";
        title => "Overskrift", "Heading";
        body => "Tekst (Markdown)", "Text (Markdown)";
        body_hint => "Højst 4000 tegn. HTML vises som tekst; kun web- og maillinks bliver til links.",
            "At most 4000 characters. HTML shows as text; only web and mail links become links.";
        save => "Gem referatet", "Save the report";
        save_hint => "Er referatet godkendt, bliver det til kladde igen og skal godkendes på ny.",
            "If the report is approved, it becomes a draft again and must be approved anew.";
        remove => "Fjern afsnittet", "Remove the section";
        from_programme => "Start med ét afsnit pr. programpunkt", "Start with one section per programme item";
        no_title => "Skriv en overskrift til afsnittet.", "Write a heading for the section.";
        too_many => "Et referat har højst 40 afsnit.", "A report has at most 40 sections.";
        approve => "Godkend referatet", "Approve the report";
        approve_hint => "Godkendelsen er trinnet før offentliggørelsen; den registreres i revisionsloggen.",
            "Approval is the step before publication; it is recorded in the audit log.";
        empty => "Skriv mindst ét afsnit, før referatet godkendes.", "Write at least one section before approving the report.";
        publish => "Offentliggør referatet", "Publish the report";
        mail => "Hvem skal have referatet på mail?", "Who gets the report by mail?";
        mail_list => "Hele mailinglisten, også dem der ikke deltog (lige information til alle leverandører)",
            "The whole mailing list, also those who did not take part (equal information to all suppliers)";
        mail_attendees => "Kun dem, der deltog", "Only those who took part";
        mail_none => "Ingen – kun den offentlige side", "Nobody – the public page only";
        mail_hint => "Frameldte og adresser, hvor mail er kommet retur, får ikke mail. Mailen har materialerne som links, de deltagende organisationer og evalueringens hovedtal, når den er lukket.",
            "People who left the list and addresses whose mail bounced get no mail. The mail has the materials as links, the participating organisations and the evaluation's headline figures once it has closed.";
        too_early => "Referatet kan offentliggøres, når mødet er afholdt.", "The report can be published once the meeting has taken place.";
        wrong_state => "Referatet er ændret imens. Se det igen.", "The report changed meanwhile. Look at it again.";
        saved => "Referatet er gemt som kladde.", "The report is saved as a draft.";
        approved => "Referatet er godkendt og kan offentliggøres.", "The report is approved and can be published.";
        published => "Referatet er offentliggjort på mødets side.", "The report is published on the meeting's page.";
        published_mailed => "Referatet er offentliggjort på mødets side og sendes nu på mail.",
            "The report is published on the meeting's page and is being mailed.";
        preview => "Sådan ser det ud", "How it looks";
        section_files => "Materialer, der hører til afsnittet", "Materials that belong with the section";
        materials => "Materialer", "Materials";
        materials_intro => "Materialerne kan frigives på et fast tidspunkt, så alle får dem i samme minut: de vises på mødets offentlige side fra da og sendes samtidig på mail. Uden tidspunkt vises de, når mødet er afholdt.",
            "The materials can be released at a set time, so that everyone gets them in the same minute: they show on the meeting's public page from then and are mailed at the same time. Without a time they show once the meeting has taken place.";
        no_materials => "Mødet har ingen materialer. De lægges op på mødets side.", "The meeting has no materials. They are uploaded on the meeting's page.";
        public_now => "offentlig", "public";
        public_at => "frigives", "released";
        after_meeting => "vises efter mødet", "shown after the meeting";
        release_at => "Frigiv kl. (valgfri)", "Release at (optional)";
        release_hint => "Dato og klokkeslæt, dansk tid. Tom: nu.", "Date and time, Danish time. Empty: now.";
        release_mail => "Hvem skal have materialerne på mail?", "Who gets the materials by mail?";
        release => "Frigiv materialerne", "Release the materials";
        bad_time => "Skriv dato og klokkeslæt som 2027-03-05T10:00.", "Write the date and time as 2027-03-05T10:00.";
        nothing => "Alle materialer er allerede offentlige.", "Every material is public already.";
        released => "Materialerne frigives på det valgte tidspunkt.", "The materials are released at the chosen time.";
    }
}

/// A section as the editor shows it.
pub struct EditSection {
    pub index: usize,
    pub title: String,
    pub body: String,
    /// Ids of the files that belong with it.
    pub chosen: Vec<String>,
    pub preview: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/report.html")]
#[allow(clippy::struct_excessive_bools)] // the switches of one page's template
struct ReportPage {
    lang: Lang,
    t: &'static Texts,
    l: &'static Labels,
    path: String,
    csrf: String,
    meeting_id: String,
    meeting_title: String,
    date: String,
    public_url: Option<String>,
    state: &'static str,
    published_at: Option<String>,
    changed_since: bool,
    sections: Vec<EditSection>,
    /// The empty slot at the end that adds a section.
    new_index: usize,
    new_title: String,
    new_body: String,
    can_approve: bool,
    can_publish: bool,
    taken_place: bool,
    /// The meeting's files: (name, when they are public, in words).
    materials: Vec<(String, String)>,
    /// The meeting's files a section may carry: (id, name).
    choices: Vec<(String, String)>,
    /// The files ticked in the empty slot that adds a section.
    new_chosen: Vec<String>,
    /// Whether a file waits to be released.
    can_release: bool,
    release_at: String,
    notice: Option<&'static str>,
    errors: Vec<(String, String)>,
}

impl ReportPage {
    fn error(&self, id: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == id).map(|(_, m)| m.as_str())
    }
}

fn edit(index: usize, title: &str, body: &str, chosen: &[Uuid]) -> EditSection {
    EditSection {
        index,
        title: title.to_owned(),
        body: body.to_owned(),
        chosen: chosen.iter().map(Uuid::to_string).collect(),
        preview: markdown(body),
    }
}

impl ReportPage {
    /// With the meeting's files: listed with when they are public, offered
    /// to the sections, and whether one waits to be released.
    fn with_files(mut self, files: Vec<Material>) -> Self {
        let (lang, l, now) = (self.lang, self.l, Timestamp::now());
        self.choices = files.iter().map(|f| (f.id.to_string(), f.filename.clone())).collect();
        self.can_release = files.iter().any(|f| !f.is_public(self.taken_place, now));
        self.materials = files
            .into_iter()
            .map(|f| {
                let when = match f.release_at {
                    _ if f.is_public(self.taken_place, now) => l.public_now.to_owned(),
                    Some(at) => format!("{} {} {}", l.public_at, lang.date(at), lang.time(at)),
                    None => l.after_meeting.to_owned(),
                };
                (f.filename, when)
            })
            .collect();
        self
    }
}

async fn page_for(state: &AppState, ctx: &Ctx, o: &Organiser, m: &Meeting) -> Result<ReportPage> {
    let lang = ctx.lang;
    let l = Labels::get(lang);
    let report = use_case::report_of(&state.store, m).await?;
    let sections: Vec<EditSection> = report
        .as_ref()
        .map(|r| {
            r.sections.as_slice().iter().enumerate().map(|(i, s)| edit(i, &s.title, &s.body, &s.materials)).collect()
        })
        .unwrap_or_default();
    let state_index = match report.as_ref().map(|r| r.state) {
        None => 0,
        Some(ReportState::Draft) => 1,
        Some(ReportState::Approved) => 2,
        Some(ReportState::Published) => 3,
    };
    let taken_place = use_case::has_taken_place(m, Timestamp::now());
    let number = m.number.map_or_else(|| m.id.to_string(), |n| n.to_string());
    let page = ReportPage {
        lang,
        t: lang.texts(),
        l,
        path: ctx.path.clone(),
        csrf: o.csrf.clone(),
        meeting_id: m.id.to_string(),
        meeting_title: m.title.clone(),
        date: lang.date(m.starts_at),
        public_url: m.status.is_public().then(|| format!("/meetings/{number}")),
        state: l.states[state_index],
        published_at: report
            .as_ref()
            .and_then(|r| r.published_at)
            .map(|t| format!("{} {}", lang.date(t), lang.time(t))),
        changed_since: report.as_ref().is_some_and(|r| r.published.is_some() && r.state != ReportState::Published),
        new_index: sections.len(),
        sections,
        new_title: String::new(),
        new_body: String::new(),
        can_approve: report.as_ref().is_some_and(|r| r.state == ReportState::Draft && !r.sections.is_empty()),
        can_publish: report.as_ref().is_some_and(|r| r.state == ReportState::Approved),
        taken_place,
        materials: Vec::new(),
        choices: Vec::new(),
        new_chosen: Vec::new(),
        can_release: false,
        release_at: String::new(),
        notice: None,
        errors: Vec::new(),
    };
    Ok(page.with_files(state.store.materials(m.id).await?))
}

#[derive(Deserialize)]
struct PageQuery {
    /// What was just done, to confirm it.
    done: Option<String>,
    /// `programme`: start the editor with one section per programme item.
    from: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganiserMeeting { organiser, meeting }: OrganiserMeeting,
    Query(q): Query<PageQuery>,
) -> Result<ReportPage> {
    let mut page = page_for(&state, &ctx, &organiser, &meeting).await?;
    let l = page.l;
    if q.from.as_deref() == Some("programme") && page.sections.is_empty() {
        page.sections = meeting
            .programme
            .iter()
            .filter(|i| !i.cancelled)
            .enumerate()
            .map(|(n, i)| edit(n, &i.title, "", &[]))
            .collect();
        page.new_index = page.sections.len();
    }
    page.notice = q.done.as_deref().map(|d| match d {
        "approved" => l.approved,
        "published" => l.published,
        "mailed" => l.published_mailed,
        "released" => l.released,
        _ => l.saved,
    });
    Ok(page)
}

/// One slot of the editor as sent: index, heading, text, files.
type Slot = (usize, String, String, Vec<Uuid>);

/// The slots of the editor as sent, the empty new slot left out, and the
/// one whose remove button was pressed.
fn slots(fields: &Fields) -> Vec<Slot> {
    let count: usize = fields.get("count").parse().unwrap_or(0).min(Sections::MAX + 1);
    let removed: Option<usize> = fields.get("remove").parse().ok();
    (0..=count)
        .filter(|i| Some(*i) != removed)
        .map(|i| {
            let files = fields.all(&format!("materials-{i}")).filter_map(|v| v.parse().ok()).collect();
            (i, fields.get(&format!("title-{i}")).to_owned(), fields.get(&format!("body-{i}")).to_owned(), files)
        })
        .filter(|(i, t, b, _)| *i < count || !(t.trim().is_empty() && b.trim().is_empty()))
        .collect()
}

/// Saves the sections as typed; a refusal re-renders the editor with what
/// was typed and the message by the field.
async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting, organiser, fields }: MeetingForm,
) -> Result<Response> {
    let id = meeting.id;
    let typed = slots(&fields);
    match Sections::parse(typed.iter().map(|(_, t, b, m)| (t.clone(), b.clone(), m.clone()))) {
        Ok(sections) => match use_case::write(&state.forum, &organiser.actor(), &meeting, &sections).await {
            Ok(_) => Ok(Redirect::to(&format!("/admin/meetings/{id}/report?done=saved#sections")).into_response()),
            // A file removed meanwhile: the page shows the files there are now.
            Err(ForumError::Refused(Refusal::UnknownMaterial(_))) => {
                let mut page = page_for(&state, &ctx, &organiser, &meeting).await?;
                page.errors = vec![("sections".to_owned(), page.l.wrong_state.to_owned())];
                Ok((StatusCode::CONFLICT, page).into_response())
            }
            Err(e) => Err(e.into()),
        },
        Err(e) => {
            let mut page = page_for(&state, &ctx, &organiser, &meeting).await?;
            page.typed_again(&typed, fields.get("count").parse().unwrap_or(0).min(Sections::MAX + 1));
            page.errors = vec![page.section_error(e)];
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

impl ReportPage {
    /// The editor as typed: the first `count` slots as sections, the one
    /// after them as the new slot.
    fn typed_again(&mut self, typed: &[Slot], count: usize) {
        self.sections =
            typed.iter().filter(|(i, ..)| *i < count).enumerate().map(|(n, (_, t, b, m))| edit(n, t, b, m)).collect();
        self.new_index = self.sections.len();
        if let Some((_, t, b, m)) = typed.iter().find(|(i, ..)| *i == count) {
            self.new_title.clone_from(t);
            self.new_body.clone_from(b);
            self.new_chosen = m.iter().map(Uuid::to_string).collect();
        }
    }

    /// What a refused section says, by the field it concerns.
    fn section_error(&self, e: SectionError) -> (String, String) {
        let message = match e {
            SectionError::NoTitle(_) => self.l.no_title.to_owned(),
            SectionError::Title(_, pe) | SectionError::Body(_, pe) => self.lang.refused(pe),
            SectionError::TooMany { .. } => self.l.too_many.to_owned(),
        };
        (e.field().map_or_else(|| "sections".to_owned(), |(i, f)| format!("{f}-{i}")), message)
    }
}

/// Re-renders the page with a refusal of the forum's rules at the top.
async fn refused(
    state: &AppState,
    ctx: &Ctx,
    organiser: &Organiser,
    meeting: &Meeting,
    e: ForumError,
) -> Result<Response> {
    let mut page = page_for(state, ctx, organiser, meeting).await?;
    let l = page.l;
    let (field, message) = match e {
        ForumError::Refused(Refusal::ReportEmpty) => ("sections", l.empty),
        ForumError::Refused(Refusal::ReportTooEarly) => ("publish", l.too_early),
        ForumError::Refused(Refusal::ReportState { .. }) => ("sections", l.wrong_state),
        ForumError::Refused(Refusal::NothingToRelease) => ("materials", l.nothing),
        other => return Err(other.into()),
    };
    page.errors = vec![(field.to_owned(), message.to_owned())];
    Ok((StatusCode::CONFLICT, page).into_response())
}

async fn approve(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting, organiser, .. }: MeetingForm,
) -> Result<Response> {
    let id = meeting.id;
    match use_case::approve(&state.forum, &organiser.actor(), &meeting).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/meetings/{id}/report?done=approved#publish")).into_response()),
        Err(e) => refused(&state, &ctx, &organiser, &meeting, e).await,
    }
}

async fn publish(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting, organiser, fields }: MeetingForm,
) -> Result<Response> {
    let id = meeting.id;
    // The form always sends one of its choices; anything else is refused, never guessed.
    let mail = Mailing::parse(fields.get("mail")).map_err(|e| Error::BadRequest(e.to_string()))?;
    match use_case::publish(&state.forum, &organiser.actor(), Some(organiser.user.id), &meeting, mail).await {
        Ok(campaign) => {
            let done = if campaign.is_some() { "mailed" } else { "published" };
            Ok(Redirect::to(&format!("/admin/meetings/{id}/report?done={done}")).into_response())
        }
        Err(e) => refused(&state, &ctx, &organiser, &meeting, e).await,
    }
}

/// Reads a `datetime-local` value as Copenhagen time.
fn local_time(s: &str) -> Option<Timestamp> {
    let dt: jiff::civil::DateTime = s.trim().parse().ok()?;
    dt.to_zoned_datetime(crate::domain::copenhagen()).ok().map(|z| z.timestamp())
}

/// Releases the materials at the time given (now when empty), mailed as chosen.
async fn release(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting, organiser, fields }: MeetingForm,
) -> Result<Response> {
    let id = meeting.id;
    let typed = fields.get("release_at");
    let at = if typed.trim().is_empty() { Some(Timestamp::now()) } else { local_time(typed) };
    let Some(at) = at else {
        let mut page = page_for(&state, &ctx, &organiser, &meeting).await?;
        typed.clone_into(&mut page.release_at);
        page.errors = vec![("release_at".to_owned(), page.l.bad_time.to_owned())];
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let mail = Mailing::parse(fields.get("release_mail")).map_err(|e| Error::BadRequest(e.to_string()))?;
    match use_case::release_materials(&state.forum, &organiser.actor(), Some(organiser.user.id), &meeting, at, mail)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/admin/meetings/{id}/report?done=released#materials")).into_response()),
        Err(e) => refused(&state, &ctx, &organiser, &meeting, e).await,
    }
}
