//! Answering an evaluation: `/evaluation/{token}` shows the questionnaire;
//! only the POST records the answers. Answers can be changed through the same
//! link until the evaluation closes; each person counts once.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::domain::evaluation::{AnswerError, Answers, PLANNING_GROUP, QuestionKind, Questionnaire, response_key};
use crate::domain::{PersonId, Timestamp, Token, TokenPurpose};
use crate::i18n::{Lang, Texts, texts};
use crate::store::evaluations::{Evaluation, NewResponse, Saved};
use crate::store::meetings::Meeting;
use crate::web::extract::{Fields, Path};
use crate::web::public::links::{self, Broken, LinkKind};
use crate::web::{AppState, Ctx, Error, Result};

/// Routes for answering evaluations.
pub fn router() -> Router<AppState> {
    Router::new().route("/evaluation/{token}", get(page).post(submit))
}

texts! {
    /// The words of the evaluation pages.
    pub struct EvalTexts {
        title => "Evaluering", "Evaluation";
        intro => "Fortæl os, hvad du syntes om mødet. Alle spørgsmål er frivillige.",
            "Tell us what you thought of the meeting. Every question is optional.";
        anonymous => "Dine svar er anonyme: de gemmes uden dit navn og uden forbindelse til dig.",
            "Your answers are anonymous: they are stored without your name and with no link to you.";
        named => "Dine svar gemmes med dit navn.", "Your answers are stored with your name.";
        until => "Du kan rette dine svar via linket i mailen indtil",
            "You can change your answers through the link in the mail until";
        rating_low => "meget lidt", "very little";
        rating_high => "meget", "very much";
        send => "Send svar", "Send answers";
        contact_me => "Ja, I må kontakte mig om planlægningsgruppen. Mit navn gemmes adskilt fra mine svar.",
            "Yes, you may contact me about the planning group. My name is stored apart from my answers.";
        thanks_title => "Tak for dine svar", "Thank you for your answers";
        thanks_text => "Dine svar er gemt.", "Your answers have been saved.";
        change => "Se eller ret dine svar", "See or change your answers";
        closed => "Evalueringen er lukket, og der kan ikke længere afgives eller rettes svar.",
            "The evaluation has closed; answers can no longer be given or changed.";
        elsewhere => "Du har allerede svaret via linket i en tidligere mail. Brug det link, hvis du vil rette dine svar.",
            "You have already answered through the link in an earlier mail. Use that link to change your answers.";
        nothing => "Besvar mindst ét spørgsmål.", "Answer at least one question.";
        editing => "Du har allerede svaret. Du kan rette dine svar herunder; de erstatter de tidligere.",
            "You have already answered. You can change your answers below; they replace the earlier ones.";
    }
}

/// What is wrong with an answer, in `lang`.
fn wording(lang: Lang, e: AnswerError) -> &'static str {
    match (lang, e) {
        (Lang::Da, AnswerError::Rating) => "Vælg en værdi fra 1 til 5.",
        (Lang::En, AnswerError::Rating) => "Choose a value from 1 to 5.",
        (Lang::Da, AnswerError::Choice) => "Vælg blandt mulighederne.",
        (Lang::En, AnswerError::Choice) => "Choose among the options.",
        (Lang::Da, AnswerError::TooLong) => "Svaret er for langt (højst 4000 tegn).",
        (Lang::En, AnswerError::TooLong) => "The answer is too long (at most 4000 characters).",
        (Lang::Da, AnswerError::InvalidCharacters) => "Svaret indeholder ugyldige tegn.",
        (Lang::En, AnswerError::InvalidCharacters) => "The answer contains invalid characters.",
    }
}

/// One option as a radio button or checkbox.
pub struct OptionView {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// One question on the form.
pub struct QuestionView {
    pub key: String,
    pub kind: &'static str,
    pub text: String,
    pub options: Vec<OptionView>,
    /// The free-text answer.
    pub value: String,
    pub error: Option<String>,
    /// Offer the planning-group contact box after this question.
    pub planning: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "evaluation.html")]
struct EvaluationPage {
    lang: Lang,
    t: &'static Texts,
    e: &'static EvalTexts,
    path: String,
    token: String,
    title: String,
    date: String,
    anonymous: bool,
    closes: String,
    questions: Vec<QuestionView>,
    contact_me: bool,
    /// Why the form is not shown, if it is not.
    closed: Option<&'static str>,
    editing: bool,
    errors: Vec<(String, String)>,
}

impl EvaluationPage {
    /// The message for the field `id`: `q-{key}` for a question.
    fn error(&self, id: &str) -> Option<&str> {
        let key = id.strip_prefix("q-")?;
        self.errors.iter().find(|(k, _)| k == key).map(|(_, m)| m.as_str())
    }

    /// The hint under a question's legend: the scale of a rating, else none.
    fn hint(&self, q: &QuestionView) -> String {
        if q.kind == "rating" {
            format!("1 = {}, 5 = {}", self.e.rating_low, self.e.rating_high)
        } else {
            String::new()
        }
    }

    /// The class of a question's group of options.
    fn group_class(q: &QuestionView) -> &'static str {
        if q.kind == "rating" { "rating" } else { "" }
    }

    /// The kind of input of a question's options.
    fn input_kind(q: &QuestionView) -> &'static str {
        if q.kind == "multiple" { "checkbox" } else { "radio" }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "evaluation_thanks.html")]
struct ThanksPage {
    lang: Lang,
    t: &'static Texts,
    e: &'static EvalTexts,
    path: String,
    token: String,
    title: String,
    closes: String,
}

/// What a link leads to.
struct Found {
    token: Token,
    person: PersonId,
    meeting: Meeting,
    evaluation: Evaluation,
}

/// What a link leads to, or why it leads nowhere: an evaluation not (yet)
/// sent is no more there than an unknown link; one that has closed still
/// opens, and its page says so.
async fn load(state: &AppState, raw: &str) -> Result<std::result::Result<Found, Broken>> {
    let Some(token) = Token::from_presented(raw) else { return Ok(Err(Broken::Unknown)) };
    let Some(link) = state.store.link_token(&token.hash(), TokenPurpose::Evaluation).await? else {
        return Ok(Err(Broken::Unknown));
    };
    let (Some(person), Some(registration)) = (link.person_id, link.registration_id) else {
        return Ok(Err(Broken::Unknown));
    };
    let meeting = state.store.meeting(state.store.registration(registration).await?.meeting_id).await?;
    let Some(evaluation) = state.store.evaluation(meeting.id).await?.filter(|e| e.sent_at.is_some()) else {
        return Ok(Err(Broken::Unknown));
    };
    Ok(Ok(Found { token, person, meeting, evaluation }))
}

fn views(q: &Questionnaire, answers: &Answers, lang: Lang, errors: &[(String, String)]) -> Vec<QuestionView> {
    let en = lang == Lang::En;
    q.questions
        .iter()
        .map(|question| {
            let given = answers.get(&question.key);
            let options = question
                .option_keys()
                .into_iter()
                .map(|k| OptionView {
                    checked: given.is_some_and(|a| a.has(&k)),
                    label: if question.kind == QuestionKind::Rating {
                        k.clone()
                    } else {
                        question.option_label(&k, en)
                    },
                    value: k,
                })
                .collect();
            QuestionView {
                key: question.key.clone(),
                kind: question.kind.as_str(),
                text: question.text(en).to_owned(),
                options,
                value: match given {
                    Some(crate::domain::evaluation::Answer::Text(t)) => t.clone(),
                    _ => String::new(),
                },
                error: errors.iter().find(|(k, _)| *k == question.key).map(|(_, m)| m.clone()),
                planning: question.key == PLANNING_GROUP,
            }
        })
        .collect()
}

fn when(lang: Lang, t: Option<Timestamp>) -> String {
    t.map(|t| format!("{} {}", lang.date(t), lang.time(t))).unwrap_or_default()
}

fn view(ctx: &Ctx, raw: &str, f: &Found, answers: &Answers, errors: Vec<(String, String)>) -> EvaluationPage {
    EvaluationPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        e: EvalTexts::get(ctx.lang),
        path: ctx.path.clone(),
        token: raw.to_owned(),
        title: f.meeting.title.clone(),
        date: ctx.lang.date(f.meeting.starts_at),
        anonymous: f.evaluation.anonymous,
        closes: when(ctx.lang, f.evaluation.closes_at),
        questions: views(&f.evaluation.questionnaire, answers, ctx.lang, &errors),
        contact_me: false,
        closed: None,
        editing: false,
        errors,
    }
}

async fn page(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>) -> Result<Response> {
    let f = match load(&state, &raw).await? {
        Ok(found) => found,
        Err(why) => return Ok(links::broken(&ctx, LinkKind::Evaluation, why)),
    };
    let e = EvalTexts::get(ctx.lang);
    let previous = state.store.evaluation_response(f.meeting.id, &response_key(&f.token)).await?;
    let mut page = view(&ctx, &raw, &f, previous.as_ref().unwrap_or(&Answers::default()), Vec::new());
    page.editing = previous.is_some();
    page.contact_me = state.store.evaluation_volunteered(f.meeting.id, f.person).await?;
    if f.evaluation.closed(Timestamp::now()) {
        page.closed = Some(e.closed);
    } else if previous.is_none() && state.store.evaluation_answered(f.meeting.id, f.person).await? == Some(true) {
        page.closed = Some(e.elsewhere);
    }
    Ok(page.into_response())
}

/// The answers given, or the messages by the questions: an answer must be
/// of its question's kind, and a form with no answer at all must at least
/// offer to help with the next meeting.
fn read(
    questionnaire: &Questionnaire,
    fields: &Fields,
    contact_me: bool,
    lang: Lang,
) -> std::result::Result<Answers, Vec<(String, String)>> {
    let answers = questionnaire
        .read_answers(fields)
        .map_err(|errors| errors.into_iter().map(|(key, e)| (key, wording(lang, e).to_owned())).collect::<Vec<_>>())?;
    if answers.is_empty() && !contact_me {
        let first = questionnaire.questions.first().map(|q| q.key.clone()).unwrap_or_default();
        return Err(vec![(first, EvalTexts::get(lang).nothing.to_owned())]);
    }
    Ok(answers)
}

async fn submit(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>, fields: Fields) -> Result<Response> {
    let f = match load(&state, &raw).await? {
        Ok(found) => found,
        Err(why) => return Ok(links::broken(&ctx, LinkKind::Evaluation, why)),
    };
    let e = EvalTexts::get(ctx.lang);
    let contact_me = fields.get("contact_me") == "yes";
    let answers = match read(&f.evaluation.questionnaire, &fields, contact_me, ctx.lang) {
        Ok(a) => a,
        Err(errors) => {
            // Put back what was typed, so nothing is lost.
            let kept = f.evaluation.questionnaire.read_answers(&fields).unwrap_or_default();
            let mut page = view(&ctx, &raw, &f, &kept, errors);
            page.contact_me = contact_me;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let (meeting, person, key) = (f.meeting.id, f.person, response_key(&f.token));
    let response = NewResponse { meeting, person, key, answers: &answers, volunteer: contact_me };
    let refused = match state.store.save_evaluation_response(&response).await? {
        Saved::First | Saved::Replaced => None,
        Saved::Closed => Some(e.closed),
        Saved::AnsweredElsewhere => Some(e.elsewhere),
        Saved::NotRecipient => return Err(Error::NotFound),
    };
    if let Some(reason) = refused {
        let mut page = view(&ctx, &raw, &f, &Answers::default(), Vec::new());
        page.closed = Some(reason);
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let (closes, title) = (when(ctx.lang, f.evaluation.closes_at), f.meeting.title);
    Ok(ThanksPage { closes, title, token: raw, e, lang: ctx.lang, t: ctx.lang.texts(), path: ctx.path }.into_response())
}
