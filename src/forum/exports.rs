//! Exporting: a meeting's participants, its public list of organisations,
//! the mailing list, a meeting's evaluation results and the annual picture
//! of a period, written row by row as they come from the database. An
//! export of personal data leaves an audit entry (who, what, how many
//! rows), also when it is broken off.

use crate::domain::evaluation::BreakdownMinimum;
use crate::domain::{PersonStatus, Role, copenhagen};
use crate::i18n::Lang;
use crate::store::Store;
use crate::store::audit::{self, Actor, Entry};
use crate::store::evaluations::Results;
use crate::store::meetings::Meeting;
use crate::store::year::Annual;
use crate::transfer::export::{self, EVALUATION, Job, ORGANISATIONS, PARTICIPANTS, SUBSCRIBERS, Table, YEAR};

/// What to export.
pub enum What {
    Participants(Meeting),
    Organisations(Meeting),
    Subscribers(Option<PersonStatus>),
    /// Results are read before the export starts, so a meeting without an
    /// evaluation is refused rather than exported as an empty file.
    Evaluation(Meeting, Box<Results>),
    /// The annual picture of a period: figures only, no personal data.
    Annual(Box<Annual>),
}

impl What {
    /// The evaluation results of `m`, with breakdown groups of fewer than
    /// `minimum` answers hidden.
    ///
    /// # Errors
    /// [`crate::store::StoreError::NotFound`] when the meeting has no evaluation.
    pub async fn evaluation_of(
        store: &Store,
        m: Meeting,
        minimum: BreakdownMinimum,
    ) -> Result<Self, crate::store::StoreError> {
        let results = crate::store::evaluations::results_by(store, m.id, minimum).await?;
        Ok(Self::Evaluation(m, Box::new(results)))
    }

    /// The columns of the export.
    #[must_use]
    pub const fn table(&self) -> &'static Table {
        match self {
            Self::Participants(_) => &PARTICIPANTS,
            Self::Organisations(_) => &ORGANISATIONS,
            Self::Subscribers(_) => &SUBSCRIBERS,
            Self::Evaluation(..) => &EVALUATION,
            Self::Annual(_) => &YEAR,
        }
    }

    /// Whether the export holds personal data: then it needs a role that may
    /// write, and leaves an audit entry.
    #[must_use]
    pub const fn is_personal(&self) -> bool {
        !matches!(self, Self::Organisations(_) | Self::Annual(_))
    }

    /// Whether `role` may take this export.
    #[must_use]
    pub const fn allowed_for(&self, role: Role) -> bool {
        !self.is_personal() || role.can_write()
    }

    /// The meeting it is about, if any.
    #[must_use]
    pub const fn meeting(&self) -> Option<&Meeting> {
        match self {
            Self::Participants(m) | Self::Organisations(m) | Self::Evaluation(m, _) => Some(m),
            Self::Subscribers(_) | Self::Annual(_) => None,
        }
    }

    /// The file name without its extension, and the sheet name, in `lang`.
    #[must_use]
    pub fn names(&self, lang: Lang) -> (String, String) {
        let word = self.table().file_word(lang);
        if let Some(m) = self.meeting() {
            (export::meeting_file_stem(word, m, lang), export::meeting_sheet(m, lang))
        } else if let Self::Annual(a) = self {
            (
                format!("{word}-{}-{}", a.period.from(), a.period.to()),
                lang.pick("Årsoversigt", "Annual picture").to_owned(),
            )
        } else {
            let today = jiff::Timestamp::now().to_zoned_datetime(copenhagen()).date();
            (format!("{word}-{today}"), word.to_owned())
        }
    }

    const fn action(&self) -> &'static str {
        match self {
            Self::Subscribers(_) => "export.subscribers",
            Self::Evaluation(..) => "export.evaluation",
            Self::Participants(_) | Self::Organisations(_) | Self::Annual(_) => "export.participants",
        }
    }
}

/// Writes the rows of `what` in `lang` to `job`, calling `progress` with the
/// rows written so far, and records the export of personal data by `who` as
/// `file_name`, with the rows written — "(broken off)" when writing failed.
/// The caller finishes the job once this returns. Returns the rows written.
///
/// # Errors
/// Reading the rows or writing them failed (the audit entry is recorded
/// first), or the audit entry could not be written.
pub async fn write(
    store: &Store,
    who: &Actor,
    what: &What,
    lang: Lang,
    job: &mut Job,
    file_name: &str,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<u64> {
    // Rows handed to the writer so far, for the audit entry of an export broken off halfway.
    let mut pushed = 0u64;
    let counted = |n: u64| {
        pushed = n;
        progress(n);
    };
    let written = match what {
        What::Participants(m) => export::participants(store, m, lang, job, counted).await,
        What::Organisations(m) => export::organisations(store, m.id, job).await,
        What::Subscribers(status) => export::subscribers(store, *status, lang, job, counted).await,
        What::Evaluation(_, results) => export::evaluation(results, lang, job).await,
        What::Annual(a) => export::annual(a, lang, job).await,
    };
    if what.is_personal() {
        let (rows, detail) = match &written {
            Ok(n) => (*n, file_name.to_owned()),
            Err(_) => (pushed, format!("{file_name} (broken off)")),
        };
        let (subject_kind, subject_id) = what.meeting().map_or(("person", None), |m| ("meeting", Some(m.id.uuid())));
        let entry = Entry {
            action: what.action(),
            subject_kind,
            subject_id,
            detail: &detail,
            row_count: i64::try_from(rows).ok(),
        };
        let mut tx = store.begin().await?;
        audit::record(&mut tx, who, &entry).await?;
        tx.commit().await?;
    }
    written
}
