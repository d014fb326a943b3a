//! A meeting's dossier, for a request for access to documents (aktindsigt
//! under offentlighedsloven): the meeting's record in date order — its
//! details, each mailing about it with the invitation's text and counts,
//! changes and cancellation with the notices they sent, materials, the
//! registrations summarised, the evaluation summary and the audit entries
//! about the meeting and its mailings.
//!
//! Personal data appears only as counts and as the names of organisations
//! whose people agreed to be named (the same list the public meeting page
//! shows). No person's name or address is in it: the invitation text is
//! rendered for a placeholder reader, free-text evaluation answers are left
//! out, and the audit entries name organisers by masked address, as the
//! log itself does. Every organiser role may take it; taking it is audited.

use std::fmt::Write as _;

use crate::domain::evaluation::QuestionKind;
use crate::domain::{Email, MeetingId, MeetingStatus, Timestamp};
use crate::i18n::{Lang, texts};
use crate::mail::compose::campaign::{Letter, invitation, invitation_bodies};
use crate::store::audit::{self, Actor, AuditRow, Entry};
use crate::store::dossier::{MeetingCampaign, RegistrationSummary};
use crate::store::meetings::Meeting;
use crate::store::now;
use crate::transfer::dossier::{Dossier, DossierEntry, DossierFile};
use crate::transfer::export::csv_sink::CsvSink;
use crate::transfer::export::{
    self, Cell, Column, EVALUATION, Kind, Separator, Table, evaluation_rows, held_meeting_label,
};

use super::{Forum, Result};

texts! {
    /// The words of a dossier's entries and files.
    pub struct DossierTexts {
        created => "Mødet oprettet", "Meeting created";
        details_file => "moedet.txt", "meeting.txt";
        mailing_invitation => "Invitationer sendt", "Invitations sent";
        mailing_evaluation => "Evaluering sendt", "Evaluation sent";
        mailing_reminder => "Påmindelse sendt", "Reminder sent";
        mailing_other => "Udsendelse", "Mailing";
        messages => "mails", "messages";
        sent => "sendt", "sent";
        failed => "fejlet", "failed";
        text_note => "Invitationens tekst som den lyder nu, vist for en pladsholder-modtager; hver modtager fik \
                      sit eget navn og sit eget svarlink.",
            "The invitation's text as it reads now, shown for a placeholder reader; each recipient had their \
                      own name and answer link.";
        reader => "[modtagerens navn]", "[recipient's name]";
        organisation => "[organisation]", "[organisation]";
        link => "[personligt-link]", "[personal-link]";
        updated => "Mødet ændret", "Meeting changed";
        rescheduled => "Tid eller sted ændret", "Time or place changed";
        cancelled => "Mødet aflyst", "Meeting cancelled";
        programme => "Programmet ændret", "Programme changed";
        message_changed => "Invitationens tekst ændret", "Invitation text changed";
        reopened => "Mødet genåbnet", "Meeting reopened";
        status => "Status ændret til", "Status changed to";
        material => "Materiale lagt op", "Material uploaded";
        material_deleted => "Materiale slettet", "Material deleted";
        evaluation_closed => "Evalueringen lukket", "Evaluation closed";
        notices => "Besked til", "Notice to";
        registrations => "Tilmeldinger opgjort", "Registrations summarised";
        registrations_file => "tilmeldinger.csv", "registrations.csv";
        organisations_file => "organisationer.csv", "organisations.csv";
        checked_in => "Tjekket ind", "Checked in";
        no_show => "Udeblev", "No-show";
        listed => "organisationer må nævnes", "organisations may be named";
        report => "Referatet offentliggjort", "Report published";
        report_file => "referat.md", "report.md";
        sections => "afsnit", "sections";
        evaluation => "Evalueringens resultater", "Evaluation results";
        evaluation_file => "evaluering.csv", "evaluation.csv";
        evaluation_note => "Fritekstsvar er udeladt.", "Free-text answers are left out.";
        responses => "besvarelser", "responses";
        audit => "Revisionslog for mødet", "Audit log of the meeting";
        audit_file => "revisionslog.csv", "audit-log.csv";
        entries => "hændelser", "entries";
    }
}

/// A count column of a small summary table.
const SUMMARY: Table = Table {
    file_da: "tilmeldinger",
    file_en: "registrations",
    columns: &[
        Column { key: "what", da: "Hvad", en: "What", kind: Kind::Text, width: 30.0 },
        Column { key: "count", da: "Antal", en: "Count", kind: Kind::Number, width: 10.0 },
    ],
};

/// The public list of organisations.
const LISTED: Table = Table {
    file_da: "organisationer",
    file_en: "organisations",
    columns: &[Column { key: "organisation", da: "Organisation", en: "Organisation", kind: Kind::Text, width: 40.0 }],
};

/// The audit entries, as the audit page's download has them.
const AUDIT: Table = Table {
    file_da: "revisionslog",
    file_en: "audit-log",
    columns: &[
        Column { key: "at", da: "Tidspunkt", en: "Time", kind: Kind::Time, width: 17.0 },
        Column { key: "actor", da: "Hvem", en: "Who", kind: Kind::Text, width: 24.0 },
        Column { key: "action", da: "Handling", en: "Action", kind: Kind::Text, width: 24.0 },
        Column { key: "subject", da: "Emne", en: "Subject", kind: Kind::Text, width: 14.0 },
        Column { key: "detail", da: "Note", en: "Note", kind: Kind::Text, width: 40.0 },
        Column { key: "rows", da: "Rækker", en: "Rows", kind: Kind::Number, width: 8.0 },
    ],
};

/// Rows as a CSV file for a Danish Excel (BOM, `;`, formula-like text neutralised).
fn csv(table: &Table, lang: Lang, rows: &[Vec<Cell>]) -> anyhow::Result<Vec<u8>> {
    let mut sink = CsvSink::new(Vec::new(), Separator::Semicolon, table, lang)?;
    for row in rows {
        sink.row(row)?;
    }
    Ok(sink.finish()?)
}

fn when(lang: Lang, t: Timestamp) -> String {
    format!("{} {}", lang.date(t), lang.time(t))
}

/// The meeting's details as they stand.
fn details(m: &Meeting, lang: Lang) -> String {
    let span = format!("{} – {}", when(lang, m.starts_at), when(lang, m.ends_at));
    let mut out = format!(
        "{}\n\n{}: {span}\n{}: {}\n{}: {}\n{}: {}\n",
        held_meeting_label(m.number, &m.title, lang),
        lang.pick("Tidspunkt", "When"),
        lang.pick("Form", "Format"),
        lang.format(m.format),
        lang.pick("Sted", "Venue"),
        m.venue,
        lang.pick("Status", "Status"),
        lang.status(m.status),
    );
    if let Some(c) = m.capacity {
        let _ = writeln!(out, "{}: {c}", lang.pick("Pladser", "Seats"));
    }
    if !m.description.is_empty() {
        let _ = writeln!(out, "\n{}", m.description);
    }
    if !m.programme.is_empty() {
        let _ = writeln!(out, "\n{}", lang.pick("Program", "Programme"));
        for p in &m.programme {
            let at = p.starts_at.map(|t| format!("{} ", lang.time(t))).unwrap_or_default();
            let gone = if p.cancelled { lang.pick(" (aflyst)", " (cancelled)") } else { "" };
            let _ = writeln!(out, "- {at}{}{gone}", p.title);
        }
    }
    out
}

/// The invitation's plain text in `lang`, for a placeholder reader.
fn invitation_text(forum: &Forum, m: &Meeting, message: &str, lang: Lang) -> anyhow::Result<String> {
    let x = DossierTexts::get(lang);
    let to = Email::parse("recipient@example.org").map_err(|e| anyhow::anyhow!("{e}"))?;
    let letter = Letter {
        to: &to,
        name: x.reader,
        organisation: x.organisation,
        lang,
        rsvp_url: format!("{}/rsvp/{}", forum.mail.base_url, x.link),
        unsubscribe_url: None,
    };
    let inv = invitation(&forum.mail, m, message, &letter, false)?;
    let (text, _) = invitation_bodies(&inv)?;
    Ok(format!("{}\n\n{}: {}\n\n{text}", x.text_note, lang.pick("Emne", "Subject"), inv.subject))
}

fn mailing(forum: &Forum, m: &Meeting, c: &MeetingCampaign, message: &str, lang: Lang) -> anyhow::Result<DossierEntry> {
    let x = DossierTexts::get(lang);
    let title = match c.kind.as_str() {
        "invitation" => x.mailing_invitation,
        "evaluation" => x.mailing_evaluation,
        k if k.contains("reminder") => x.mailing_reminder,
        _ => x.mailing_other,
    };
    let detail = format!(
        "{}: {} {} ({} {}, {} {}) – {}",
        c.subject,
        c.total,
        x.messages,
        c.sent,
        x.sent,
        c.failed,
        x.failed,
        lang.campaign_state(&c.state)
    );
    let files = if c.kind == "invitation" {
        [Lang::Da, Lang::En]
            .into_iter()
            .map(|l| {
                Ok(DossierFile {
                    name: format!("invitation-{}.txt", l.code()),
                    bytes: invitation_text(forum, m, message, l)?.into_bytes(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
    Ok(DossierEntry { at: c.scheduled_at, title: title.to_owned(), detail, files })
}

/// An audit entry that is a step in the meeting's life (a change, a
/// cancellation, a status), as an entry of the dossier; reads, exports and
/// steps shown by other entries give none.
fn step(e: &AuditRow, lang: Lang) -> Option<DossierEntry> {
    let x = DossierTexts::get(lang);
    let title = match e.action.as_str() {
        "meeting.update" => x.updated.to_owned(),
        "meeting.reschedule" => x.rescheduled.to_owned(),
        "meeting.cancelled" => x.cancelled.to_owned(),
        "meeting.programme" => x.programme.to_owned(),
        "meeting.invitation_message" => x.message_changed.to_owned(),
        "meeting.reopen" => x.reopened.to_owned(),
        "material.delete" => x.material_deleted.to_owned(),
        "evaluation.close" => x.evaluation_closed.to_owned(),
        a => {
            let status = a.strip_prefix("meeting.").and_then(|s| MeetingStatus::parse(s).ok())?;
            format!("{} {}", x.status, lang.status(status).to_lowercase())
        }
    };
    let mut detail = if e.action == "material.delete" { String::new() } else { e.detail.clone() };
    if let Some(n) = e.row_count.filter(|_| matches!(e.action.as_str(), "meeting.reschedule" | "meeting.cancelled")) {
        let notices = format!("{} {n}", x.notices);
        detail = if detail.is_empty() { notices } else { format!("{detail} ({notices})") };
    }
    Some(DossierEntry { at: e.at, title, detail, files: Vec::new() })
}

fn registrations(s: &RegistrationSummary, listed: &[String], lang: Lang) -> anyhow::Result<Vec<DossierFile>> {
    let x = DossierTexts::get(lang);
    let mut rows: Vec<Vec<Cell>> = s
        .by_status
        .iter()
        .map(|(status, n)| vec![Cell::Text(lang.registration_status_named(status).to_owned()), Cell::Int(*n)])
        .collect();
    rows.push(vec![Cell::Text(x.checked_in.to_owned()), Cell::Int(s.checked_in)]);
    rows.push(vec![Cell::Text(x.no_show.to_owned()), Cell::Int(s.no_show)]);
    let organisations: Vec<Vec<Cell>> = listed.iter().map(|o| vec![Cell::Text(o.clone())]).collect();
    Ok(vec![
        DossierFile { name: x.registrations_file.to_owned(), bytes: csv(&SUMMARY, lang, &rows)? },
        DossierFile { name: x.organisations_file.to_owned(), bytes: csv(&LISTED, lang, &organisations)? },
    ])
}

fn audit_rows(entries: &[AuditRow]) -> Vec<Vec<Cell>> {
    entries
        .iter()
        .map(|e| {
            let who = match e.actor_kind.as_str() {
                "person" => "person".to_owned(),
                "system" => format!("system {}", e.actor_label).trim().to_owned(),
                _ => e.actor_label.clone(),
            };
            // What was searched for at the door may name someone: kept out.
            let detail = if e.action.contains("search") { String::new() } else { e.detail.clone() };
            vec![
                Cell::Time(e.at),
                Cell::Text(who),
                Cell::Text(e.action.clone()),
                Cell::Text(e.subject_kind.clone()),
                Cell::Text(detail),
                e.row_count.map_or(Cell::Empty, Cell::Int),
            ]
        })
        .collect()
}

/// Gathers the dossier of meeting `id` in `lang` for `who`, and records
/// that it was taken.
///
/// # Errors
/// [`crate::store::StoreError::NotFound`] for an unknown meeting; the
/// database failed, or a text could not be rendered.
pub async fn gather(forum: &Forum, who: &Actor, id: MeetingId, lang: Lang) -> Result<Dossier> {
    let x = DossierTexts::get(lang);
    let store = &forum.store;
    let m = store.meeting(id).await?;
    let made_at = now();
    let message = store.invitation_message(id).await?;
    let mut entries = vec![DossierEntry {
        at: m.created_at,
        title: x.created.to_owned(),
        detail: m.title.clone(),
        files: vec![DossierFile { name: x.details_file.to_owned(), bytes: details(&m, lang).into_bytes() }],
    }];
    for c in store.meeting_campaigns(id).await? {
        entries.push(mailing(forum, &m, &c, &message, lang)?);
    }
    let log = store.meeting_audit(id).await?;
    entries.extend(log.iter().filter_map(|e| step(e, lang)));
    for material in store.materials(id).await? {
        let (_, bytes) = store.material(id, material.id).await?;
        entries.push(DossierEntry {
            at: material.created_at,
            title: x.material.to_owned(),
            detail: material.filename.clone(),
            files: vec![DossierFile { name: material.filename, bytes }],
        });
    }
    let summary = store.registration_summary(id).await?;
    let listed = export::public_organisations(store, id).await?;
    let attending = summary.by_status.iter().find(|(s, _)| s == "attending").map_or(0, |(_, n)| *n);
    entries.push(DossierEntry {
        at: m.ends_at.min(made_at),
        title: x.registrations.to_owned(),
        detail: format!(
            "{}: {attending}, {}: {}, {} {}",
            lang.registration_status_named("attending"),
            x.checked_in,
            summary.checked_in,
            listed.len(),
            x.listed
        ),
        files: registrations(&summary, &listed, lang)?,
    });
    if let Some(report) = store.report(id).await?
        && let (Some(published_at), Some(sections)) = (report.published_at, &report.published)
    {
        entries.push(DossierEntry {
            at: published_at,
            title: x.report.to_owned(),
            detail: format!("{} {}", sections.as_slice().len(), x.sections),
            files: vec![DossierFile { name: x.report_file.to_owned(), bytes: report_text(&m, sections).into_bytes() }],
        });
    }
    if let Some(e) = store.evaluation(id).await?
        && let Some(sent_at) = e.sent_at
    {
        let mut results = crate::store::evaluations::results(store, id).await?;
        results.questions.retain(|q| q.kind != QuestionKind::Text);
        entries.push(DossierEntry {
            at: sent_at,
            title: x.evaluation.to_owned(),
            detail: format!("{} {} ({})", results.responses, x.responses, x.evaluation_note),
            files: vec![DossierFile {
                name: x.evaluation_file.to_owned(),
                bytes: csv(&EVALUATION, lang, &evaluation_rows(&results, lang))?,
            }],
        });
    }
    entries.sort_by_key(|e| e.at);
    entries.push(DossierEntry {
        at: made_at,
        title: x.audit.to_owned(),
        detail: format!("{} {}", log.len(), x.entries),
        files: vec![DossierFile { name: x.audit_file.to_owned(), bytes: csv(&AUDIT, lang, &audit_rows(&log))? }],
    });
    let mut tx = store.begin().await?;
    let detail = format!("dossier {}", lang.code());
    audit::record(&mut tx, who, &Entry::read("meeting.dossier", "meeting", Some(id.uuid()), &detail, entries.len()))
        .await?;
    tx.commit().await?;
    Ok(Dossier {
        meeting: held_meeting_label(m.number, &m.title, lang),
        file_stem: export::meeting_file_stem(lang.pick("akter", "dossier"), &m, lang),
        made_at,
        entries,
    })
}

/// The report as published, in Markdown: the meeting's title, then each
/// section's heading and text.
fn report_text(m: &Meeting, sections: &crate::domain::report::Sections) -> String {
    let mut out = format!("# {}\n", m.title);
    for section in sections.as_slice() {
        let _ = write!(out, "\n## {}\n\n{}\n", section.title, section.body);
    }
    out
}
