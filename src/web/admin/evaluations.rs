//! Organiser pages for evaluations: edit a meeting's questionnaire before it
//! is sent, send it (with a closing date), remind or close it, read its
//! results as charts with data tables, and follow each stable question's trend
//! across meetings.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::charts::{Bar, Group, bar_chart, grouped_bar_chart};
use crate::domain::evaluation::{Choice, Question, QuestionKind, parse_key};
use crate::domain::{MeetingId, MeetingStatus, ParseError, Timestamp, copenhagen};
use crate::forum::evaluations::{self as use_case, SendError};
use crate::i18n::{Lang, Texts, texts};
use crate::store::evaluations::{Evaluation, Results, TrendSeries, results, results_by, trend};
use crate::store::meetings::Meeting;
use crate::web::auth::Organiser;
use crate::web::auth::{Need, needs};
use crate::web::extract::{Fields, MeetingForm, OrganiserMeeting, Path};
use crate::web::{AppState, Ctx, Error, Result};

/// Routes of the evaluation pages.
pub fn router() -> Router<AppState> {
    needs(
        Need::Read,
        Router::new()
            .route("/admin/evaluations", get(trend_page))
            .route("/admin/meetings/{id}/evaluation", get(editor))
            .route("/admin/meetings/{id}/evaluation/results", get(results_page)),
    )
    .merge(needs(
        Need::Write,
        Router::new()
            .route("/admin/meetings/{id}/evaluation/questions", post(add_question))
            .route("/admin/meetings/{id}/evaluation/questions/{index}", post(change_question))
            .route("/admin/meetings/{id}/evaluation/settings", post(settings))
            .route("/admin/meetings/{id}/evaluation/send", post(send))
            .route("/admin/meetings/{id}/evaluation/remind", post(remind))
            .route("/admin/meetings/{id}/evaluation/close", post(close)),
    ))
}

texts! {
    /// The words of these pages.
    pub struct Labels {
        heading => "Evaluering", "Evaluation";
        results => "Resultater", "Results";
        trend => "Udvikling på tværs af møder", "Trend across meetings";
        share_per_option => "andel for hvert svar, møde for møde", "share of each answer, meeting by meeting";
        not_sent => "Evalueringen er ikke sendt endnu.", "The evaluation has not been sent yet.";
        sent_at => "Sendt", "Sent";
        closes_at => "Lukker", "Closes";
        reminder_at => "Påmindelse", "Reminder";
        recipients => "Sendt til", "Sent to";
        responses => "Svar", "Answers";
        response_rate => "Svarprocent", "Response rate";
        questionnaire => "Spørgeskema", "Questionnaire";
        option_shape => "skriv nøgle | dansk | engelsk", "write key | Danish | English";
        question_da => "Skriv spørgsmålet på dansk (højst 500 tegn).", "Write the question in Danish (at most 500 characters).";
        locked => "Evalueringen er sendt, så spørgsmålene kan ikke længere ændres.",
            "The evaluation has been sent, so its questions can no longer change.";
        key => "Nøgle", "Key";
        key_hint => "Fast nøgle, så spørgsmålet kan sammenlignes på tværs af møder (fx overall). Tom: laves ud fra den danske tekst.",
            "A fixed key, so the question can be compared across meetings (e.g. overall). Empty: made from the Danish text.";
        kind => "Type", "Type";
        text_da => "Spørgsmål på dansk", "Question in Danish";
        text_en => "Spørgsmål på engelsk", "Question in English";
        options => "Svarmuligheder", "Options";
        options_hint => "Kun for valg-spørgsmål. Én svarmulighed pr. række; en tom nøgle laves ud fra den danske tekst.",
            "Choice questions only. One option per row; an empty key is made from the Danish text.";
        option_row => "Svarmulighed", "Option";
        option_key => "Nøgle (valgfri)", "Key (optional)";
        option_da => "Dansk", "Danish";
        option_en => "Engelsk", "English";
        drop_option => "Fjern ved næste gem", "Remove on the next save";
        more_rows => "Flere svarmuligheder", "More options";
        not_saved => "Der er plads til en svarmulighed mere. Husk at gemme.",
            "There is room for one more option. Remember to save.";
        preview => "Forhåndsvisning: sådan ser deltagerne spørgeskemaet", "Preview: the questionnaire as attendees see it";
        preview_scale => "Skala fra 1 (dårligt) til 5 (godt)", "Scale from 1 (poor) to 5 (good)";
        preview_one => "Ét svar", "One answer";
        preview_many => "Et eller flere svar", "One or more answers";
        preview_text => "Fritekst", "Free text";
        save => "Gem", "Save";
        up => "Flyt op", "Move up";
        down => "Flyt ned", "Move down";
        remove => "Fjern", "Remove";
        add => "Tilføj spørgsmål", "Add question";
        anonymous => "Anonyme svar (svar gemmes uden forbindelse til personen)",
            "Anonymous answers (stored with no link to the person)";
        anonymous_hint => "Standard. Fravælg kun, hvis deltagerne skal vide, at deres navn står ved svarene.",
            "The default. Untick only if attendees are to know their name goes with their answers.";
        save_settings => "Gem indstilling", "Save setting";
        send => "Send evalueringen", "Send the evaluation";
        send_hint => "Sendes til dem, der blev tjekket ind, eller – hvis indtjekning ikke blev brugt – dem, der var tilmeldt.",
            "Goes to those checked in or, when check-in was not used, those registered as attending.";
        closes_on => "Lukkedato (valgfri)", "Closing date (optional)";
        closes_on_hint => "Svar modtages til og med denne dag. Tom: efter det antal dage, der er sat op.",
            "Answers are taken up to and including this day. Empty: after the configured number of days.";
        not_ended => "Evalueringen kan sendes, når mødet er slut:",
            "The evaluation can be sent once the meeting has ended:";
        remind => "Send påmindelse nu", "Send reminder now";
        close => "Luk evalueringen nu", "Close the evaluation now";
        closed => "Evalueringen er lukket.", "The evaluation is closed.";
        demo => "Demodata: opdigtede svar, så siderne har noget at vise.",
            "Demo data: made-up answers, so the pages have something to show.";
        answered => "besvaret af", "answered by";
        average => "Gennemsnit", "Average";
        option => "Svar", "Answer";
        count => "Antal", "Count";
        share => "Andel", "Share";
        free_text => "Fritekstsvar", "Free-text answers";
        no_text => "Ingen fritekstsvar.", "No free-text answers.";
        by_track => "Svar fordelt på spor", "Answers by track";
        by_track_note => "Et spor med for få svar vises ikke, så de enkelte virksomheder ikke kan kendes.",
            "A track with too few answers is not shown, so that single companies cannot be recognised.";
        track => "Spor", "Track";
        review => "Fritekstsvar til gennemsyn", "Free-text answers to review";
        texts_held => "fritekstsvar venter på at blive læst og vises ikke endnu.",
            "free-text answers are waiting to be read and are not shown yet.";
        volunteers => "Vil kontaktes om planlægningsgruppen", "Would like to be contacted about the planning group";
        meeting => "Møde", "Meeting";
        no_evaluations => "Ingen evalueringer er sendt endnu.", "No evaluation has been sent yet.";
        evaluation => "Evaluering", "Evaluation";
        kinds: [&'static str; 4] => ["Vurdering 1–5", "Ét valg", "Flere valg", "Fritekst"],
            ["Rating 1–5", "Single choice", "Multiple choice", "Free text"];
        saved => "Gemt.", "Saved.";
        sent => "Evalueringen sendes nu.", "The evaluation is being sent.";
        reminded => "Påmindelsen sendes nu til dem, der ikke har svaret.",
            "The reminder is being sent to those who have not answered.";
        closed_now => "Evalueringen er lukket.", "The evaluation is closed.";
        ended_meetings => "Afholdte møder", "Meetings held";
        not_sent_short => "ikke sendt", "not sent";
        open_short => "åben for svar", "open for answers";
        closed_short => "lukket", "closed";
    }
}

/// A number as the language writes it, with `decimals` decimals.
fn num(lang: Lang, v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if lang == Lang::Da { s.replace('.', ",") } else { s }
}

fn percent(lang: Lang, share: f64) -> String {
    format!("{} %", num(lang, share * 100.0, 0))
}

fn when(lang: Lang, t: Option<Timestamp>) -> String {
    t.map(|t| format!("{} {}", lang.date(t), lang.time(t))).unwrap_or_default()
}

/// A question as the editor shows it.
pub struct EditQuestion {
    pub index: usize,
    /// The prefix of its field ids: `q3`, or `new` for the form that adds one.
    pub prefix: String,
    pub key: String,
    pub kind: &'static str,
    pub da: String,
    pub en: String,
    /// The options as rows: key, Danish, English.
    pub options: Vec<(String, String, String)>,
    /// Empty rows shown after them, for new options.
    pub blank: usize,
    pub first: bool,
    pub last: bool,
}

impl EditQuestion {
    /// The option rows with the empty ones after them: (row number, key, Danish, English, filled).
    #[must_use]
    pub fn rows(&self) -> Vec<(usize, &str, &str, &str, bool)> {
        let filled = self.options.iter().map(|(k, d, e)| (k.as_str(), d.as_str(), e.as_str(), true));
        filled
            .chain(std::iter::repeat_n(("", "", "", false), self.blank))
            .enumerate()
            .map(|(i, (k, d, e, f))| (i, k, d, e, f))
            .collect()
    }
}

/// A key made from `text`: lower case, Danish letters spelt out, other
/// characters as `_`, at most 40 characters, starting with a letter.
fn key_from(text: &str) -> String {
    let mut key = String::new();
    for c in text.trim().to_lowercase().chars() {
        match c {
            'æ' => key.push_str("ae"),
            'ø' => key.push_str("oe"),
            'å' => key.push_str("aa"),
            c if c.is_ascii_alphanumeric() => key.push(c),
            _ if !key.ends_with('_') => key.push('_'),
            _ => {}
        }
    }
    let key = key.trim_matches('_').trim_start_matches(|c: char| c.is_ascii_digit() || c == '_');
    key.chars().take(40).collect::<String>().trim_end_matches('_').to_owned()
}

impl EditQuestion {
    /// The empty form that adds a question after the `n` there are.
    fn new_one(n: usize) -> Self {
        Self {
            index: n,
            prefix: "new".to_owned(),
            key: String::new(),
            kind: "rating",
            da: String::new(),
            en: String::new(),
            options: Vec::new(),
            blank: 2,
            first: false,
            last: true,
        }
    }
}

fn edit_view(i: usize, n: usize, q: &Question) -> EditQuestion {
    EditQuestion {
        index: i,
        prefix: format!("q{i}"),
        key: q.key.clone(),
        kind: q.kind.as_str(),
        da: q.da.clone(),
        en: q.en.clone(),
        options: q.options.iter().map(|o| (o.key.clone(), o.da.clone(), o.en.clone())).collect(),
        blank: 1,
        first: i == 0,
        last: i + 1 == n,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/evaluation.html")]
#[allow(clippy::struct_excessive_bools)] // the switches of one page's template
struct EditorPage {
    lang: Lang,
    t: &'static Texts,
    l: &'static Labels,
    path: String,
    csrf: String,
    meeting_id: String,
    title: String,
    date: String,
    ended: bool,
    ends: String,
    sent: Option<String>,
    closes: String,
    reminder: String,
    closed: bool,
    recipients: i64,
    responses: i64,
    editable: bool,
    anonymous: bool,
    demo: bool,
    questions: Vec<EditQuestion>,
    new_question: EditQuestion,
    kinds: Vec<(&'static str, &'static str)>,
    notice: Option<&'static str>,
    errors: Vec<(String, String)>,
}

impl EditorPage {
    fn error(&self, id: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == id).map(|(_, m)| m.as_str())
    }

    /// A text as attendees reading the page's language see it: the English
    /// one on an English page when there is one, else the Danish.
    fn shown<'a>(&self, da: &'a str, en: &'a str) -> &'a str {
        if self.lang == Lang::En && !en.trim().is_empty() { en } else { da }
    }

    /// The label of option row `n`'s key field ("Svarmulighed 2: Nøgle (valgfri)").
    fn key_label(&self, n: usize) -> String {
        format!("{} {n}: {}", self.l.option_row, self.l.option_key)
    }

    /// How a question of `kind` is answered, in words, for the preview.
    fn answered_by(&self, kind: &str) -> &'static str {
        match kind {
            "rating" => self.l.preview_scale,
            "single" => self.l.preview_one,
            "multiple" => self.l.preview_many,
            _ => self.l.preview_text,
        }
    }
}

async fn editor_page(state: &AppState, ctx: &Ctx, o: &Organiser, meeting: &Meeting) -> Result<EditorPage> {
    let e = state.store.evaluation_or_default(meeting.id).await?;
    let responses = if e.sent_at.is_some() { results(&state.store, meeting.id).await?.responses } else { 0 };
    let l = Labels::get(ctx.lang);
    let n = e.questionnaire.questions.len();
    let now = Timestamp::now();
    Ok(EditorPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        l,
        path: ctx.path.clone(),
        csrf: o.csrf.clone(),
        meeting_id: meeting.id.to_string(),
        title: meeting.title.clone(),
        date: ctx.lang.date(meeting.starts_at),
        ended: meeting.ends_at <= now,
        ends: when(ctx.lang, Some(meeting.ends_at)),
        sent: e.sent_at.map(|t| when(ctx.lang, Some(t))),
        closes: when(ctx.lang, e.closes_at),
        reminder: when(ctx.lang, e.reminder_at),
        closed: e.closed(now),
        recipients: e.recipients,
        responses,
        editable: e.sent_at.is_none(),
        anonymous: e.anonymous,
        demo: e.demo,
        questions: e.questionnaire.questions.iter().enumerate().map(|(i, q)| edit_view(i, n, q)).collect(),
        new_question: EditQuestion::new_one(n),
        kinds: QuestionKind::ALL.iter().zip(l.kinds).map(|(k, label)| (k.as_str(), label)).collect(),
        notice: None,
        errors: Vec::new(),
    })
}

async fn editor(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganiserMeeting { organiser: o, meeting }: OrganiserMeeting,
) -> Result<EditorPage> {
    editor_page(&state, &ctx, &o, &meeting).await
}

/// Reads one option line: `key | dansk | english`, or just a text, whose key
/// is then made from it.
fn option_line(line: &str, lang: Lang) -> std::result::Result<Choice, String> {
    let parts: Vec<&str> = line.split('|').map(str::trim).collect();
    let (key, da, en) = match parts.as_slice() {
        [text] => (key_from(text), *text, *text),
        [key, da] => ((*key).to_owned(), *da, *da),
        [key, da, en] => ((*key).to_owned(), *da, *en),
        _ => return Err(format!("“{line}”: {}", Labels::get(lang).option_shape)),
    };
    let key = parse_key(&key).map_err(|e| format!("“{line}”: {}", lang.refused(e)))?;
    if da.is_empty() {
        return Err(format!("“{line}”: {}", lang.refused(ParseError::NoDanishText)));
    }
    Ok(Choice { key, da: da.to_owned(), en: en.to_owned() })
}

/// The option rows a question's form sent (`{prefix}-o{i}-key`, `-da`,
/// `-en`, `-drop`), leaving out empty rows and those ticked for removal.
fn option_rows(fields: &Fields, prefix: &str) -> Vec<(usize, String, String, String)> {
    let rows = fields.get(&format!("{prefix}-rows")).parse::<usize>().unwrap_or(0).min(100);
    (0..rows)
        .filter(|i| fields.get(&format!("{prefix}-o{i}-drop")).is_empty())
        .map(|i| {
            let get = |name: &str| fields.get(&format!("{prefix}-o{i}-{name}")).trim().to_owned();
            (i, get("key"), get("da"), get("en"))
        })
        .filter(|(_, k, d, e)| !(k.is_empty() && d.is_empty() && e.is_empty()))
        .collect()
}

/// Reads one option row; a refusal is keyed by the field it concerns.
fn option_row(
    prefix: &str,
    row: &(usize, String, String, String),
    lang: Lang,
) -> std::result::Result<Choice, (String, String)> {
    let (i, key, da, en) = row;
    if da.is_empty() {
        return Err((format!("{prefix}-o{i}-da"), lang.refused(ParseError::NoDanishText)));
    }
    let key = if key.is_empty() { key_from(da) } else { key.clone() };
    let key = parse_key(&key).map_err(|e| (format!("{prefix}-o{i}-key"), lang.refused(e)))?;
    let en = if en.is_empty() { da.clone() } else { en.clone() };
    Ok(Choice { key, da: da.clone(), en })
}

/// Reads a question from the editor fields named `{prefix}-key` and so on;
/// errors are keyed by those field ids.
fn read_question(fields: &Fields, prefix: &str, lang: Lang) -> std::result::Result<Question, Vec<(String, String)>> {
    let id = |name: &str| format!("{prefix}-{name}");
    let mut errors = Vec::new();
    let typed_key = fields.get(&id("key")).trim();
    let key = if typed_key.is_empty() { key_from(fields.get(&id("da"))) } else { typed_key.to_owned() };
    let key = parse_key(&key).map_err(|e| errors.push((id("key"), lang.refused(e)))).ok();
    let kind =
        QuestionKind::parse(fields.get(&id("kind"))).map_err(|e| errors.push((id("kind"), lang.refused(e)))).ok();
    let da = fields.get(&id("da")).trim().to_owned();
    if da.is_empty() || da.chars().count() > 500 {
        errors.push((id("da"), Labels::get(lang).question_da.to_owned()));
    }
    let en = fields.get(&id("en")).trim().to_owned();
    let mut options = Vec::new();
    if matches!(kind, Some(QuestionKind::Single | QuestionKind::Multiple)) {
        for row in option_rows(fields, prefix) {
            match option_row(prefix, &row, lang) {
                Ok(c) => options.push(c),
                Err(e) => errors.push(e),
            }
        }
        // The lines of the older one-field form (`key | dansk | english`).
        for line in fields.get(&id("options")).lines().map(str::trim).filter(|l| !l.is_empty()) {
            match option_line(line, lang) {
                Ok(c) => options.push(c),
                Err(m) => errors.push((id("options"), m)),
            }
        }
        if options.len() < 2 {
            errors.push((id("options"), lang.refused(ParseError::TooFewOptions)));
        }
    }
    match (key, kind) {
        (Some(key), Some(kind)) if errors.is_empty() => Ok(Question { key, kind, da, en, options }),
        _ => Err(errors),
    }
}

/// Keeps what was typed into a failed editor form.
fn draft(fields: &Fields, prefix: &str, into: &mut EditQuestion) {
    let get = |name: &str| fields.get(&format!("{prefix}-{name}")).to_owned();
    into.key = get("key");
    into.kind = QuestionKind::parse(&get("kind")).map_or("rating", QuestionKind::as_str);
    into.da = get("da");
    into.en = get("en");
    into.options = option_rows(fields, prefix).into_iter().map(|(_, k, d, e)| (k, d, e)).collect();
    into.options.extend(get("options").lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| {
        let mut parts = l.split('|').map(|p| p.trim().to_owned());
        let first = parts.next().unwrap_or_default();
        match (parts.next(), parts.next()) {
            (Some(da), en) => (first, da, en.unwrap_or_default()),
            (None, _) => (String::new(), first, String::new()),
        }
    }));
    into.blank = 1;
}

/// Shows a question's form again as typed, unsaved, with one more empty
/// option row: the step that adds rows without JavaScript.
async fn more_rows(
    state: &AppState,
    ctx: &Ctx,
    o: &Organiser,
    meeting: &Meeting,
    fields: &Fields,
    prefix: &str,
) -> Result<Response> {
    let mut page = editor_page(state, ctx, o, meeting).await?;
    let blank = fields.get(&format!("{prefix}-rows")).parse::<usize>().unwrap_or(0);
    let q = if prefix == "new" {
        Some(&mut page.new_question)
    } else {
        page.questions.iter_mut().find(|q| q.prefix == prefix)
    };
    if let Some(q) = q {
        draft(fields, prefix, q);
        q.blank = (blank + 1).saturating_sub(q.options.len()).max(1);
    }
    page.notice = Some(Labels::get(ctx.lang).not_saved);
    Ok(page.into_response())
}

/// Applies an edit to the questionnaire and stores it, or re-renders the
/// editor with the messages by the fields.
async fn apply(
    state: &AppState,
    ctx: &Ctx,
    o: &Organiser,
    meeting: &Meeting,
    edit: impl FnOnce(&mut Evaluation) -> std::result::Result<(), Vec<(String, String)>>,
    fields: &Fields,
    prefix: &str,
) -> Result<Response> {
    let mut e = state.store.evaluation_or_default(meeting.id).await?;
    if e.sent_at.is_some() {
        let mut page = editor_page(state, ctx, o, meeting).await?;
        page.errors = vec![("questions".into(), Labels::get(ctx.lang).locked.into())];
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let outcome = edit(&mut e).and_then(|()| {
        e.questionnaire.validate().map_err(|err| vec![(format!("{prefix}-key"), ctx.lang.refused(err))])
    });
    if let Err(errors) = outcome {
        let mut page = editor_page(state, ctx, o, meeting).await?;
        if prefix == "new" {
            draft(fields, prefix, &mut page.new_question);
        } else if let Some(q) = page.questions.iter_mut().find(|q| q.prefix == prefix) {
            draft(fields, prefix, q);
        }
        page.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    match state.store.save_questionnaire(meeting.id, &e.questionnaire, e.anonymous).await {
        Ok(()) => {}
        Err(crate::store::StoreError::Conflict(_)) => return Err(Error::Conflict(Labels::get(ctx.lang).locked.into())),
        Err(err) => return Err(err.into()),
    }
    Ok(Redirect::to(&format!("/admin/meetings/{}/evaluation#questions", meeting.id)).into_response())
}

async fn add_question(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting, organiser: o, fields }: MeetingForm,
) -> Result<Response> {
    if fields.get("action") == "more" {
        return more_rows(&state, &ctx, &o, &meeting, &fields, "new").await;
    }
    let read = read_question(&fields, "new", ctx.lang);
    apply(
        &state,
        &ctx,
        &o,
        &meeting,
        |e| {
            e.questionnaire.questions.push(read?);
            Ok(())
        },
        &fields,
        "new",
    )
    .await
}

async fn change_question(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((_, index)): Path<(MeetingId, usize)>,
    MeetingForm { meeting, organiser: o, fields }: MeetingForm,
) -> Result<Response> {
    let prefix = format!("q{index}");
    let action = fields.get("action").to_owned();
    if action == "more" {
        return more_rows(&state, &ctx, &o, &meeting, &fields, &prefix).await;
    }
    let read = if action == "save" { Some(read_question(&fields, &prefix, ctx.lang)) } else { None };
    apply(
        &state,
        &ctx,
        &o,
        &meeting,
        |e| {
            let qs = &mut e.questionnaire.questions;
            if index >= qs.len() {
                return Err(vec![("questions".into(), "the question is gone; reload the page".into())]);
            }
            match (action.as_str(), read) {
                ("save", Some(q)) => qs[index] = q?,
                ("up", _) if index > 0 => qs.swap(index, index - 1),
                ("down", _) if index + 1 < qs.len() => qs.swap(index, index + 1),
                ("remove", _) => {
                    qs.remove(index);
                }
                _ => {}
            }
            Ok(())
        },
        &fields,
        &prefix,
    )
    .await
}

async fn settings(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting, organiser: o, fields }: MeetingForm,
) -> Result<Response> {
    let anonymous = fields.get("anonymous") == "yes";
    apply(
        &state,
        &ctx,
        &o,
        &meeting,
        |e| {
            e.anonymous = anonymous;
            Ok(())
        },
        &fields,
        "settings",
    )
    .await
}

/// The end of day `date` in Copenhagen, as the closing instant.
fn end_of_day(date: &str) -> Option<Timestamp> {
    let d: jiff::civil::Date = date.trim().parse().ok()?;
    d.to_datetime(jiff::civil::Time::constant(23, 59, 59, 0))
        .to_zoned_datetime(copenhagen())
        .ok()
        .map(|z| z.timestamp())
}

async fn send(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting, organiser: o, fields }: MeetingForm,
) -> Result<Response> {
    let closes_on = fields.get("closes_on");
    let closes_at = if closes_on.trim().is_empty() { Ok(None) } else { end_of_day(closes_on).map(Some).ok_or(()) };
    let outcome = match closes_at {
        Ok(closes_at) => {
            use_case::send(&state.forum, &o.actor(), Some(o.user.id), &meeting, &state.settings.evaluation, closes_at)
                .await
        }
        Err(()) => Err(SendError::ClosingInPast),
    };
    match outcome {
        Ok(_) => {
            let mut page = editor_page(&state, &ctx, &o, &meeting).await?;
            page.notice = Some(Labels::get(ctx.lang).sent);
            Ok(page.into_response())
        }
        Err(SendError::Store(e)) => Err(e.into()),
        Err(e) => {
            let (status, field) = match e {
                SendError::ClosingInPast => (StatusCode::UNPROCESSABLE_ENTITY, "closes_on"),
                _ => (StatusCode::CONFLICT, "send"),
            };
            let mut page = editor_page(&state, &ctx, &o, &meeting).await?;
            page.errors = vec![(field.to_owned(), refusal(ctx.lang, &e))];
            Ok((status, page).into_response())
        }
    }
}

async fn remind(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting, organiser: o, .. }: MeetingForm,
) -> Result<Response> {
    let outcome = use_case::remind(&state.forum, &o.actor(), Some(o.user.id), &meeting).await;
    finish(&state, &ctx, &o, &meeting, outcome.map(|_| Labels::get(ctx.lang).reminded)).await
}

async fn close(
    State(state): State<AppState>,
    ctx: Ctx,
    MeetingForm { meeting, organiser: o, .. }: MeetingForm,
) -> Result<Response> {
    let outcome = use_case::close(&state.forum, &o.actor(), &meeting).await;
    finish(&state, &ctx, &o, &meeting, outcome.map(|()| Labels::get(ctx.lang).closed_now)).await
}

/// Why a send, reminder or closing was refused, in the page's language.
fn refusal(lang: Lang, e: &SendError) -> String {
    if lang == Lang::En {
        return e.to_string();
    }
    match e {
        SendError::NotEnded(at) => format!("Mødet er ikke slut endnu; evalueringen kan sendes efter {at}."),
        SendError::Cancelled => "Mødet er aflyst.".to_owned(),
        SendError::AlreadySent => "Evalueringen er allerede sendt.".to_owned(),
        SendError::NotSent => "Evalueringen er ikke sendt endnu.".to_owned(),
        SendError::Closed => "Evalueringen er lukket.".to_owned(),
        SendError::ClosingInPast => "Lukkedatoen skal ligge i fremtiden.".to_owned(),
        SendError::Store(_) => "Databasen svarede ikke; prøv igen.".to_owned(),
    }
}

async fn finish(
    state: &AppState,
    ctx: &Ctx,
    o: &Organiser,
    meeting: &Meeting,
    outcome: std::result::Result<&'static str, SendError>,
) -> Result<Response> {
    let mut page = editor_page(state, ctx, o, meeting).await?;
    match outcome {
        Ok(notice) => {
            page.notice = Some(notice);
            Ok(page.into_response())
        }
        Err(SendError::Store(e)) => Err(e.into()),
        Err(e) => {
            page.errors = vec![("send".to_owned(), refusal(ctx.lang, &e))];
            Ok((StatusCode::CONFLICT, page).into_response())
        }
    }
}

/// A chart with its data table.
pub struct ChartView {
    pub svg: String,
    pub caption: String,
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// One question's results as the page shows them.
pub struct QuestionView {
    pub key: String,
    pub text: String,
    pub answered: i64,
    pub average: Option<String>,
    pub chart: Option<ChartView>,
    pub texts: Vec<String>,
    pub is_text: bool,
}

/// How many chose each answer of question `q` (titled `text`), as a bar
/// chart with its table of counts and shares.
fn answers_chart(q: &crate::store::evaluations::QuestionResult, text: &str, lang: Lang) -> ChartView {
    let l = Labels::get(lang);
    let en = lang == Lang::En;
    #[allow(clippy::cast_precision_loss)] // counts are small
    let share = |n: i64| if q.answered > 0 { n as f64 / q.answered as f64 } else { 0.0 };
    let label = |o: &crate::store::evaluations::OptionCount| {
        if en && !o.label_en.is_empty() { o.label_en.clone() } else { o.label_da.clone() }
    };
    #[allow(clippy::cast_precision_loss)]
    let bars: Vec<Bar> =
        q.options.iter().map(|o| Bar { label: label(o), value: o.count as f64, shown: o.count.to_string() }).collect();
    ChartView {
        svg: bar_chart(&format!("chart-{}", q.key), &format!("{text} ({} {})", l.answered, q.answered), &bars, 1.0),
        caption: text.to_owned(),
        head: vec![l.option.to_owned(), l.count.to_owned(), l.share.to_owned()],
        rows: q.options.iter().map(|o| vec![label(o), o.count.to_string(), percent(lang, share(o.count))]).collect(),
    }
}

fn question_views(r: &Results, lang: Lang) -> Vec<QuestionView> {
    let en = lang == Lang::En;
    r.questions
        .iter()
        .map(|q| {
            let text = if en && !q.text_en.is_empty() { q.text_en.clone() } else { q.text_da.clone() };
            let is_text = q.kind == QuestionKind::Text;
            let chart = (!is_text).then(|| answers_chart(q, &text, lang));
            QuestionView {
                key: q.key.clone(),
                text,
                answered: q.answered,
                average: q.average.map(|a| num(lang, a, 2)),
                chart,
                texts: q.texts.clone(),
                is_text,
            }
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/evaluation_results.html")]
struct ResultsPage {
    lang: Lang,
    t: &'static Texts,
    l: &'static Labels,
    path: String,
    meeting_id: String,
    title: String,
    date: String,
    demo: bool,
    anonymous: bool,
    sent: String,
    closes: String,
    recipients: i64,
    responses: i64,
    rate: String,
    questions: Vec<QuestionView>,
    /// Free-text answers held back until read.
    texts_held: i64,
    /// The breakdown by track as a table: its head and one row per track.
    by_track: (Vec<String>, Vec<Vec<String>>),
    volunteers: Vec<(String, String)>,
}

/// The breakdown of `r` by track as a table in `lang`: a track under the
/// minimum says only that it is hidden.
fn by_track_table(r: &Results, lang: Lang) -> (Vec<String>, Vec<Vec<String>>) {
    let l = Labels::get(lang);
    let en = lang == Lang::En;
    let ratings: Vec<&crate::store::evaluations::QuestionResult> =
        r.questions.iter().filter(|q| q.kind == QuestionKind::Rating).collect();
    let mut head = vec![l.track.to_owned(), l.responses.to_owned()];
    head.extend(ratings.iter().map(|q| {
        let text = if en && !q.text_en.is_empty() { &q.text_en } else { &q.text_da };
        format!("{}: {text}", l.average)
    }));
    let rows = r
        .by_track
        .iter()
        .map(|g| {
            let mut row = vec![g.title.clone()];
            if let Some(n) = g.responses.filter(|_| !g.hidden) {
                row.push(n.to_string());
                row.extend(ratings.iter().map(|q| {
                    g.averages
                        .iter()
                        .find(|a| a.key == q.key)
                        .and_then(|a| a.average)
                        .map_or_else(|| "–".to_owned(), |a| num(lang, a, 2))
                }));
            } else {
                row.push(lang.hidden_group(r.breakdown_minimum));
                row.extend(ratings.iter().map(|_| "–".to_owned()));
            }
            row
        })
        .collect();
    (head, rows)
}

async fn results_page(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganiserMeeting { organiser: o, meeting }: OrganiserMeeting,
) -> Result<ResultsPage> {
    let r = results_by(&state.store, meeting.id, state.breakdown_minimum()).await?;
    // Who volunteered is for organisers; viewers see the answers only.
    let volunteers =
        if o.user.role.can_write() { state.store.evaluation_volunteers(meeting.id).await? } else { Vec::new() };
    Ok(ResultsPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        l: Labels::get(ctx.lang),
        path: ctx.path,
        meeting_id: meeting.id.to_string(),
        title: meeting.title.clone(),
        date: ctx.lang.date(meeting.starts_at),
        demo: r.demo,
        anonymous: r.anonymous,
        sent: when(ctx.lang, r.sent_at),
        closes: when(ctx.lang, r.closes_at),
        recipients: r.recipients,
        responses: r.responses,
        rate: r.response_rate.map_or_else(|| "–".to_owned(), |x| percent(ctx.lang, x)),
        questions: question_views(&r, ctx.lang),
        texts_held: r.texts_held,
        by_track: by_track_table(&r, ctx.lang),
        volunteers,
    })
}

/// One stable question's trend as the page shows it.
pub struct SeriesView {
    pub key: String,
    pub text: String,
    pub chart: ChartView,
}

fn meeting_label(lang: Lang, p: &crate::store::evaluations::TrendPoint) -> String {
    let year = p.starts_at.to_zoned_datetime(copenhagen()).year();
    let demo = if p.demo { " (demo)" } else { "" };
    match p.number {
        Some(n) => format!("{} ({year}){demo}", lang.meeting_number(n)),
        None => format!("{} ({year}){demo}", p.title),
    }
}

pub(crate) fn series_view(s: &TrendSeries, lang: Lang) -> SeriesView {
    let en = lang == Lang::En;
    let text = if en && !s.text_en.is_empty() { s.text_en.clone() } else { s.text_da.clone() };
    let chart =
        if s.kind == QuestionKind::Rating { average_trend(s, &text, lang) } else { share_trend(s, &text, lang) };
    SeriesView { key: s.key.clone(), text, chart }
}

/// A rating question's average, meeting by meeting, with its table.
fn average_trend(s: &TrendSeries, text: &str, lang: Lang) -> ChartView {
    let l = Labels::get(lang);
    let average =
        |p: &crate::store::evaluations::TrendPoint| p.average.map_or_else(|| "–".to_owned(), |a| num(lang, a, 2));
    let bars: Vec<Bar> = s
        .points
        .iter()
        .map(|p| Bar { label: meeting_label(lang, p), value: p.average.unwrap_or(0.0), shown: average(p) })
        .collect();
    ChartView {
        svg: bar_chart(&format!("trend-{}", s.key), &format!("{text}: {}", l.average), &bars, 5.0),
        caption: text.to_owned(),
        head: vec![l.meeting.to_owned(), l.average.to_owned(), l.answered.to_owned()],
        rows: s.points.iter().map(|p| vec![meeting_label(lang, p), average(p), p.answered.to_string()]).collect(),
    }
}

/// Each option's share of those who answered, meeting by meeting, under the
/// option's name; the table gives the same numbers.
fn share_trend(s: &TrendSeries, text: &str, lang: Lang) -> ChartView {
    let l = Labels::get(lang);
    let en = lang == Lang::En;
    let option_label = |o: &(String, String, String)| if en && !o.2.is_empty() { o.2.clone() } else { o.1.clone() };
    let share_of = |p: &crate::store::evaluations::TrendPoint, key: &str| {
        p.shares.iter().find(|(k, _)| k == key).map_or(0.0, |(_, v)| *v)
    };
    let groups: Vec<Group> = s
        .options
        .iter()
        .map(|o| Group {
            label: option_label(o),
            bars: s
                .points
                .iter()
                .map(|p| {
                    let v = share_of(p, &o.0);
                    Bar { label: meeting_label(lang, p), value: v * 100.0, shown: percent(lang, v) }
                })
                .collect(),
        })
        .collect();
    let mut head = vec![l.meeting.to_owned()];
    head.extend(s.options.iter().map(option_label));
    head.push(l.answered.to_owned());
    let rows = s
        .points
        .iter()
        .map(|p| {
            let mut row = vec![meeting_label(lang, p)];
            row.extend(s.options.iter().map(|o| percent(lang, share_of(p, &o.0))));
            row.push(p.answered.to_string());
            row
        })
        .collect();
    let title = format!("{text}: {}", l.share_per_option);
    ChartView {
        svg: grouped_bar_chart(&format!("trend-{}", s.key), &title, &groups, 100.0),
        caption: text.to_owned(),
        head,
        rows,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/evaluation_trend.html")]
struct TrendPage {
    lang: Lang,
    t: &'static Texts,
    l: &'static Labels,
    path: String,
    demo: bool,
    meetings: Vec<(String, String, String)>,
    series: Vec<SeriesView>,
    /// Meetings that have ended, newest first: id, title, date, evaluation state.
    ended: Vec<(String, String, String, &'static str)>,
}

async fn trend_page(State(state): State<AppState>, ctx: Ctx, _o: Organiser) -> Result<TrendPage> {
    let series = trend(&state.store).await?;
    let mut meetings: Vec<(String, String, String)> = Vec::new();
    let mut demo = false;
    for p in series.iter().flat_map(|s| &s.points) {
        demo |= p.demo;
        let id = p.meeting_id.to_string();
        if !meetings.iter().any(|(m, _, _)| *m == id) {
            meetings.push((id, meeting_label(ctx.lang, p), p.title.clone()));
        }
    }
    let l = Labels::get(ctx.lang);
    let now = Timestamp::now();
    let mut ended = Vec::new();
    let all = state.store.meetings(crate::store::meetings::MeetingFilter::default()).await?;
    for m in all.iter().filter(|m| m.ends_at <= now && m.status.is_public() && m.status != MeetingStatus::Cancelled) {
        let state_text = match state.store.evaluation(m.id).await? {
            Some(e) if e.closed(now) => l.closed_short,
            Some(e) if e.sent_at.is_some() => l.open_short,
            _ => l.not_sent_short,
        };
        ended.push((m.id.to_string(), m.title.clone(), ctx.lang.date(m.starts_at), state_text));
    }
    Ok(TrendPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        l,
        path: ctx.path,
        demo,
        meetings,
        series: series.iter().map(|s| series_view(s, ctx.lang)).collect(),
        ended,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_key_is_made_from_the_danish_text() {
        assert_eq!(super::key_from("Dårlig"), "daarlig");
        assert_eq!(super::key_from("Hvordan var frokosten?"), "hvordan_var_frokosten");
        assert_eq!(super::key_from("1. Rigtig god!"), "rigtig_god");
        assert_eq!(super::key_from(&"ø".repeat(50)).len(), 40);
    }
}
