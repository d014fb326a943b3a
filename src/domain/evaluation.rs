//! Evaluations: a questionnaire of typed questions with stable keys, the
//! forum's usual questionnaire, and reading one person's answers from a form.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ParseError;
use super::meeting::str_enum;
use super::token::Token;

str_enum!(
    /// What kind of answer a question takes.
    QuestionKind { Rating = "rating", Single = "single", Multiple = "multiple", Text = "text" }
    "kind must be rating, single, multiple or text"
);

/// The lowest and highest value of a rating question.
pub const RATING_MIN: u8 = 1;
/// See [`RATING_MIN`].
pub const RATING_MAX: u8 = 5;

/// Longest free-text answer, in characters.
pub const TEXT_MAX: usize = 4000;

/// One option of a choice question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub key: String,
    pub da: String,
    pub en: String,
}

/// One question. Its `key` is stable across meetings, so the same question
/// can be compared from one meeting to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub key: String,
    pub kind: QuestionKind,
    pub da: String,
    pub en: String,
    /// The options of a choice question; empty for ratings and free text
    /// (`null` reads as none).
    #[serde(default, deserialize_with = "null_as_none")]
    pub options: Vec<Choice>,
}

/// Reads `null` as no options, as a missing field.
fn null_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Choice>, D::Error> {
    Option::<Vec<Choice>>::deserialize(d).map(Option::unwrap_or_default)
}

impl Question {
    /// The question in `lang_en` (English) or Danish.
    #[must_use]
    pub fn text(&self, english: bool) -> &str {
        if english && !self.en.is_empty() { &self.en } else { &self.da }
    }

    /// The keys a rating or choice question counts, in order.
    #[must_use]
    pub fn option_keys(&self) -> Vec<String> {
        match self.kind {
            QuestionKind::Rating => (RATING_MIN..=RATING_MAX).map(|n| n.to_string()).collect(),
            QuestionKind::Single | QuestionKind::Multiple => self.options.iter().map(|o| o.key.clone()).collect(),
            QuestionKind::Text => Vec::new(),
        }
    }

    /// The label of option `key` in the given language.
    #[must_use]
    pub fn option_label(&self, key: &str, english: bool) -> String {
        self.options
            .iter()
            .find(|o| o.key == key)
            .map_or_else(|| key.to_owned(), |o| if english && !o.en.is_empty() { o.en.clone() } else { o.da.clone() })
    }
}

/// The fewest answers a group of a breakdown (a track, say) may have for its
/// results to be shown: with 35 companies in the room, a group of two can be
/// told apart. Set by `evaluation.breakdown_minimum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakdownMinimum(u32);

impl BreakdownMinimum {
    /// The minimum when the configuration names none.
    pub const DEFAULT: Self = Self(5);

    /// A minimum of `n` answers; below 2 a group would be one person, so 2 is the least.
    #[must_use]
    pub fn new(n: u32) -> Self {
        Self(n.max(2))
    }

    /// The number of answers.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Whether a group of `answers` answers may be shown.
    #[must_use]
    pub fn shows(self, answers: i64) -> bool {
        answers >= i64::from(self.0)
    }
}

impl Default for BreakdownMinimum {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A key for a question or an option: lowercase ASCII letters, digits, `_`
/// and `-`, 1–40 characters, starting with a letter.
///
/// # Errors
/// A key of another shape.
pub fn parse_key(s: &str) -> Result<String, ParseError> {
    let s = s.trim();
    let ok = (1..=40).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok { Ok(s.to_owned()) } else { Err(ParseError::Key) }
}

/// A meeting's questionnaire: its questions in the order they are asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Questionnaire {
    pub questions: Vec<Question>,
}

fn choice(key: &str, da: &str, en: &str) -> Choice {
    Choice { key: key.into(), da: da.into(), en: en.into() }
}

fn question(key: &str, kind: QuestionKind, da: &str, en: &str, options: Vec<Choice>) -> Question {
    Question { key: key.into(), kind, da: da.into(), en: en.into(), options }
}

/// The key of the planning-group question, whose "yes" offers to leave one's name.
pub const PLANNING_GROUP: &str = "planning_group";

impl Questionnaire {
    /// The forum's usual questionnaire.
    #[must_use]
    pub fn standard() -> Self {
        use QuestionKind::{Rating, Single, Text};
        Self {
            questions: vec![
                question(
                    "overall",
                    Rating,
                    "Hvor stort var dit samlede udbytte af mødet?",
                    "Overall, how valuable was the meeting to you?",
                    vec![],
                ),
                question(
                    "theme_relevance",
                    Rating,
                    "Hvor relevante var mødets temaer for dig?",
                    "How relevant were the meeting's themes to you?",
                    vec![],
                ),
                question(
                    "balance",
                    Single,
                    "Hvordan var balancen mellem oplæg og drøftelser?",
                    "How was the balance between talks and discussions?",
                    vec![
                        choice("too_much_talk", "For mange oplæg", "Too much talk"),
                        choice("balanced", "Passende", "Balanced"),
                        choice("too_much_discussion", "For meget drøftelse", "Too much discussion"),
                    ],
                ),
                question(
                    "frequency",
                    Single,
                    "Hvor ofte bør Dialogforum mødes?",
                    "How often should the forum meet?",
                    vec![
                        choice("more_often", "Oftere", "More often"),
                        choice("as_now", "Som nu", "As now"),
                        choice("less_often", "Sjældnere", "Less often"),
                    ],
                ),
                question(
                    "format",
                    Single,
                    "Hvilken mødeform foretrækker du?",
                    "Which format do you prefer?",
                    vec![
                        choice("physical", "Fysisk", "In person"),
                        choice("virtual", "Virtuelt", "Online"),
                        choice("hybrid", "Hybrid", "Hybrid"),
                    ],
                ),
                question(
                    "next_themes",
                    Text,
                    "Hvilke temaer ønsker du til kommende møder?",
                    "Which themes would you like at coming meetings?",
                    vec![],
                ),
                question(
                    PLANNING_GROUP,
                    Single,
                    "Vil du være med i planlægningsgruppen for næste møde?",
                    "Would you join the planning group for the next meeting?",
                    vec![choice("yes", "Ja", "Yes"), choice("no", "Nej", "No")],
                ),
                question("comments", Text, "Øvrige kommentarer", "Other comments", vec![]),
            ],
        }
    }

    /// The question with `key`.
    #[must_use]
    pub fn question(&self, key: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.key == key)
    }

    /// Checks that keys are unique and well-formed and that every choice
    /// question has at least two options with unique keys.
    ///
    /// # Errors
    /// The first problem found, naming the question.
    pub fn validate(&self) -> Result<(), ParseError> {
        for (i, q) in self.questions.iter().enumerate() {
            parse_key(&q.key)?;
            if self.questions[..i].iter().any(|p| p.key == q.key) {
                return Err(ParseError::DuplicateKey);
            }
            if q.da.trim().is_empty() {
                return Err(ParseError::NoDanishText);
            }
            if matches!(q.kind, QuestionKind::Single | QuestionKind::Multiple) {
                if q.options.len() < 2 {
                    return Err(ParseError::TooFewOptions);
                }
                for (j, o) in q.options.iter().enumerate() {
                    parse_key(&o.key)?;
                    if q.options[..j].iter().any(|p| p.key == o.key) {
                        return Err(ParseError::DuplicateOptionKey);
                    }
                    if o.da.trim().is_empty() {
                        return Err(ParseError::NoDanishText);
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads answers from form fields named `q-{key}` (repeated for multiple
    /// choice). Unanswered questions are left out.
    ///
    /// # Errors
    /// A message for each field that is wrong, by question key.
    pub fn read_answers(&self, fields: &[(String, String)]) -> Result<Answers, Vec<(String, AnswerError)>> {
        let mut out = BTreeMap::new();
        let mut errors = Vec::new();
        for q in &self.questions {
            let name = format!("q-{}", q.key);
            let values: Vec<&str> =
                fields.iter().filter(|(k, v)| *k == name && !v.trim().is_empty()).map(|(_, v)| v.trim()).collect();
            if values.is_empty() {
                continue;
            }
            let mut wrong = |e: AnswerError| errors.push((q.key.clone(), e));
            match q.kind {
                QuestionKind::Rating => match values[0].parse::<u8>() {
                    Ok(n) if (RATING_MIN..=RATING_MAX).contains(&n) => {
                        out.insert(q.key.clone(), Answer::Rating(n));
                    }
                    _ => wrong(AnswerError::Rating),
                },
                QuestionKind::Single => {
                    if q.options.iter().any(|o| o.key == values[0]) {
                        out.insert(q.key.clone(), Answer::Choice(values[0].to_owned()));
                    } else {
                        wrong(AnswerError::Choice);
                    }
                }
                QuestionKind::Multiple => {
                    let mut chosen: Vec<String> = Vec::new();
                    for v in values {
                        if !q.options.iter().any(|o| o.key == v) {
                            wrong(AnswerError::Choice);
                            break;
                        }
                        if !chosen.iter().any(|c| c == v) {
                            chosen.push(v.to_owned());
                        }
                    }
                    out.insert(q.key.clone(), Answer::Choices(chosen));
                }
                QuestionKind::Text => {
                    let text = values[0].replace("\r\n", "\n");
                    if text.chars().count() > TEXT_MAX {
                        wrong(AnswerError::TooLong);
                    } else if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                        wrong(AnswerError::InvalidCharacters);
                    } else {
                        out.insert(q.key.clone(), Answer::Text(text));
                    }
                }
            }
        }
        if errors.is_empty() { Ok(Answers(out)) } else { Err(errors) }
    }
}

/// Why an answer was not taken; the web layer words it in the page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerError {
    /// A rating outside 1–5.
    Rating,
    /// A choice that is not one of the options.
    Choice,
    /// Free text over [`TEXT_MAX`] characters.
    TooLong,
    /// Control characters in free text.
    InvalidCharacters,
}

/// One answer to one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Rating(u8),
    Choice(String),
    Choices(Vec<String>),
    Text(String),
}

impl Answer {
    /// Whether option `key` (a rating value or a choice key) is chosen.
    #[must_use]
    pub fn has(&self, key: &str) -> bool {
        match self {
            Self::Rating(n) => n.to_string() == key,
            Self::Choice(c) => c == key,
            Self::Choices(cs) => cs.iter().any(|c| c == key),
            Self::Text(_) => false,
        }
    }
}

/// One person's answers, by question key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Answers(pub BTreeMap<String, Answer>);

impl Answers {
    /// The answer to question `key`, if given.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Answer> {
        self.0.get(key)
    }

    /// Whether nothing was answered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The key under which the answers given through a link are stored: a
/// SHA-256 of the raw token under a label of its own. The stored token hash
/// does not lead to it, so the database alone cannot tie an answer to a person.
#[must_use]
pub fn response_key(token: &Token) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"dialogforum evaluation response\0");
    h.update(token.expose().as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_breakdown_group_under_the_minimum_is_not_shown() {
        let five = super::BreakdownMinimum::DEFAULT;
        assert!(!five.shows(4) && five.shows(5) && five.shows(35));
        assert!(!five.shows(0));
        assert_eq!(super::BreakdownMinimum::new(0).get(), 2, "a group of one is never shown");
    }

    use super::*;

    fn f(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_standard_questionnaire_is_valid() {
        Questionnaire::standard().validate().unwrap();
    }

    #[test]
    fn answers_are_read_by_question_type_and_bad_values_named_by_key() {
        let q = Questionnaire::standard();
        let a =
            q.read_answers(&f(&[("q-overall", "4"), ("q-balance", "balanced"), ("q-comments", "Godt møde")])).unwrap();
        assert_eq!(a.get("overall"), Some(&Answer::Rating(4)));
        assert_eq!(a.get("balance"), Some(&Answer::Choice("balanced".into())));
        assert_eq!(a.get("comments"), Some(&Answer::Text("Godt møde".into())));
        assert!(a.get("frequency").is_none());
        let e = q.read_answers(&f(&[("q-overall", "9"), ("q-balance", "nope")])).unwrap_err();
        assert_eq!(e.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["overall", "balance"]);
    }

    #[test]
    fn the_response_key_differs_from_the_stored_token_hash() {
        let t = Token::generate();
        assert_ne!(response_key(&t).as_slice(), t.hash().as_bytes());
        assert_eq!(response_key(&t), response_key(&t));
    }
}
