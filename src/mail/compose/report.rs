//! The report mail: expanding a report campaign into one mail per member it
//! reaches, each carrying the published report, the meeting's materials as
//! links, the organisations that agreed to be listed and, once the
//! evaluation has closed, its headline figures. Also the mail that releases
//! a meeting's materials at a set time, with their links. Publishing and
//! releasing are use cases in [`crate::forum::reports`].

use anyhow::Context;
use askama::Template;

use super::Outgoing;
use super::context::MailContext;
use super::footer::bodies;
use super::personal::{self, Values};
use super::recipient::{meeting_url, to_recipient, unsubscribe_link};
use crate::domain::report::Sections;
use crate::domain::{CampaignId, PersonStatus};
use crate::i18n::Lang;
use crate::store::campaigns::{Expansion, Recipient};
use crate::store::evaluations::results;
use crate::store::materials::released_by;
use crate::store::meetings::Meeting;
use crate::store::outbox::{NewMessage, enqueue_many};
use crate::store::reports::report_in;
use crate::store::tokens::insert_link_tokens;
use crate::store::{Store, WriteTx, now};

/// The campaign kind of a report mailing.
pub const KIND: &str = "report";
/// The campaign kind of a release of materials.
pub const MATERIALS_KIND: &str = "materials";

/// One section as the mail shows it.
pub struct MailSection {
    pub title: String,
    pub html: String,
    pub text: String,
    /// The files that belong with it: (file name, download link).
    pub materials: Vec<(String, String)>,
}

/// The report mail's fields, shared by its text and HTML bodies.
pub struct ReportMail {
    pub lang: Lang,
    pub subject: String,
    pub name: String,
    pub title: String,
    pub date: String,
    pub meeting_url: String,
    pub sections: Vec<MailSection>,
    /// (file name, download link).
    pub materials: Vec<(String, String)>,
    pub organisations: Vec<String>,
    /// The evaluation's headline figures, once it has closed.
    pub figures: Vec<String>,
    pub unsubscribe_url: Option<String>,
}

#[derive(Template)]
#[template(path = "mail/report/subject.txt", escape = "none")]
struct ReportSubject<'a> {
    lang: Lang,
    title: &'a str,
}

bodies! {
    /// The report mail's text and HTML bodies.
    fn report_bodies(ReportMail) in "mail/report/body.txt", "mail/report/body.html"
}

/// What every mail of one campaign shares, before it is addressed.
struct Shared {
    sections: Sections,
    /// Every public file: (id, file name, download link).
    materials: Vec<(uuid::Uuid, String, String)>,
    organisations: Vec<String>,
    evaluation: Option<Headline>,
}

/// An evaluation's headline figures: (responses, recipients, per rating
/// question its Danish and English text and its average).
type Headline = (i64, i64, Vec<(String, String, f64)>);

/// Expands a report campaign: one mail to each of `recipients` with the
/// report as published. Nothing is queued when the report is not published.
/// Returns how many messages were queued.
pub async fn queue(
    tx: &mut WriteTx,
    store: &Store,
    ctx: &MailContext,
    campaign: &Expansion,
    meeting: &Meeting,
    recipients: &[Recipient],
) -> anyhow::Result<usize> {
    let Some(sections) = report_in(tx, meeting.id).await.context("the meeting's report")?.and_then(|r| r.published)
    else {
        return Ok(0);
    };
    let url = meeting_url(meeting, &ctx.base_url);
    let materials = store
        .materials(meeting.id)
        .await?
        .into_iter()
        .filter(|f| f.is_public(true, now()))
        .map(|f| (f.id, f.filename, format!("{url}/materials/{}", f.id)))
        .collect();
    let organisations = store.listed_organisations(meeting.id).await?;
    let evaluation = match store.evaluation(meeting.id).await? {
        Some(e) if e.sent_at.is_some() && e.closed(now()) => {
            let r = results(store, meeting.id).await?;
            let ratings = r
                .questions
                .iter()
                .filter_map(|q| q.average.map(|a| (q.text_da.clone(), q.text_en.clone(), a)))
                .collect();
            Some((r.responses, r.recipients, ratings))
        }
        _ => None,
    };
    let shared = Shared { sections, materials, organisations, evaluation };
    let mut tokens = Vec::with_capacity(recipients.len());
    let mut messages = Vec::with_capacity(recipients.len());
    for r in recipients.iter().filter(|r| !matches!(r.status, PersonStatus::Unsubscribed | PersonStatus::Bounced)) {
        let unsubscribe = unsubscribe_link(ctx, r, &mut tokens);
        let m = mail(ctx, meeting, &shared, r, unsubscribe)?;
        messages.push(compose(ctx, campaign.id, r, &m)?);
    }
    insert_link_tokens(tx, &tokens).await?;
    enqueue_many(tx, &messages).await?;
    Ok(messages.len())
}

/// A number with one decimal, as the language writes it.
fn decimal(lang: Lang, v: f64) -> String {
    let s = format!("{v:.1}");
    if lang == Lang::Da { s.replace('.', ",") } else { s }
}

/// A section's Markdown as (HTML, plain text), by the renderer of the
/// invitation's message; placeholders show as written.
fn rendered(body: &str) -> (String, String) {
    let literal = Values {
        name: "{{name}}",
        organisation: "{{organisation}}",
        meeting_title: "{{meeting_title}}",
        meeting_date: "{{meeting_date}}",
        rsvp_link: "{{rsvp_link}}",
    };
    personal::render(body, &literal).unwrap_or_else(|_| {
        let mut html = String::new();
        for p in body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
            html.push_str("<p>");
            html.push_str(&escape(p));
            html.push_str("</p>\n");
        }
        (html, body.to_owned())
    })
}

/// Text as HTML content.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn figures(lang: Lang, shared: &Shared) -> Vec<String> {
    let Some((responses, recipients, ratings)) = &shared.evaluation else { return Vec::new() };
    let mut out = vec![match lang {
        Lang::Da => format!("{responses} af {recipients} deltagere besvarede evalueringen."),
        Lang::En => format!("{responses} of {recipients} participants answered the evaluation."),
    }];
    for (da, en, average) in ratings {
        let text = if lang == Lang::En && !en.is_empty() { en } else { da };
        out.push(match lang {
            Lang::Da => format!("{text}: {} af 5 i gennemsnit", decimal(lang, *average)),
            Lang::En => format!("{text}: {} out of 5 on average", decimal(lang, *average)),
        });
    }
    out
}

fn mail(
    ctx: &MailContext,
    meeting: &Meeting,
    shared: &Shared,
    r: &Recipient,
    unsubscribe_url: Option<String>,
) -> askama::Result<ReportMail> {
    let lang = Lang::from_code(&r.language);
    let subject = ReportSubject { lang, title: &meeting.title }.render()?.trim().to_owned();
    let attached = shared.sections.materials();
    Ok(ReportMail {
        lang,
        subject,
        name: r.name.clone(),
        title: meeting.title.clone(),
        date: lang.date(meeting.starts_at),
        meeting_url: meeting_url(meeting, &ctx.base_url),
        sections: shared
            .sections
            .as_slice()
            .iter()
            .map(|s| {
                let (html, text) = rendered(&s.body);
                let materials = shared
                    .materials
                    .iter()
                    .filter(|(id, ..)| s.materials.contains(id))
                    .map(|(_, name, url)| (name.clone(), url.clone()))
                    .collect();
                MailSection { title: s.title.clone(), html, text, materials }
            })
            .collect(),
        materials: shared
            .materials
            .iter()
            .filter(|(id, ..)| !attached.contains(id))
            .map(|(_, name, url)| (name.clone(), url.clone()))
            .collect(),
        organisations: shared.organisations.clone(),
        figures: figures(lang, shared),
        unsubscribe_url,
    })
}

fn compose(ctx: &MailContext, campaign: CampaignId, r: &Recipient, m: &ReportMail) -> anyhow::Result<NewMessage> {
    let bodies = report_bodies(m, ctx.composer.footer())?;
    to_recipient(ctx, (KIND, campaign), r, &m.subject, bodies, m.unsubscribe_url.clone())
}

/// The materials mail's fields, shared by its text and HTML bodies.
pub struct MaterialsMail {
    pub lang: Lang,
    pub subject: String,
    pub name: String,
    pub title: String,
    pub date: String,
    pub meeting_url: String,
    /// (file name, download link).
    pub materials: Vec<(String, String)>,
    pub unsubscribe_url: Option<String>,
}

#[derive(Template)]
#[template(path = "mail/materials/subject.txt", escape = "none")]
struct MaterialsSubject<'a> {
    lang: Lang,
    title: &'a str,
}

bodies! {
    /// The materials mail's text and HTML bodies.
    fn materials_bodies(MaterialsMail) in "mail/materials/body.txt", "mail/materials/body.html"
}

/// Expands a release of materials, at its time: one mail to each of
/// `recipients` with links to the files the campaign carries (those still
/// there). Returns how many messages were queued.
pub async fn queue_materials(
    tx: &mut WriteTx,
    ctx: &MailContext,
    campaign: &Expansion,
    meeting: &Meeting,
    recipients: &[Recipient],
) -> anyhow::Result<usize> {
    let url = meeting_url(meeting, &ctx.base_url);
    let files: Vec<(String, String)> = released_by(tx, campaign.id)
        .await
        .context("the released files")?
        .into_iter()
        .map(|(id, name)| (name, format!("{url}/materials/{id}")))
        .collect();
    if files.is_empty() {
        return Ok(0);
    }
    let mut tokens = Vec::with_capacity(recipients.len());
    let mut messages = Vec::with_capacity(recipients.len());
    for r in recipients.iter().filter(|r| !matches!(r.status, PersonStatus::Unsubscribed | PersonStatus::Bounced)) {
        let lang = Lang::from_code(&r.language);
        let m = MaterialsMail {
            lang,
            subject: MaterialsSubject { lang, title: &meeting.title }.render()?.trim().to_owned(),
            name: r.name.clone(),
            title: meeting.title.clone(),
            date: lang.date(meeting.starts_at),
            meeting_url: url.clone(),
            materials: files.clone(),
            unsubscribe_url: unsubscribe_link(ctx, r, &mut tokens),
        };
        let (text, html) = materials_bodies(&m, ctx.composer.footer())?;
        messages.push(ctx.composer.compose(&Outgoing {
            kind: MATERIALS_KIND,
            to: &r.email,
            to_name: Some(&r.name),
            person_id: Some(r.person_id),
            campaign_id: Some(campaign.id),
            subject: &m.subject,
            text,
            html,
            unsubscribe_url: m.unsubscribe_url.clone(),
            ics: None,
        })?);
    }
    insert_link_tokens(tx, &tokens).await?;
    enqueue_many(tx, &messages).await?;
    Ok(messages.len())
}
