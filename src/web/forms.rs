//! Pieces the forms share: the one-message page, the message by a field,
//! interest checkboxes and a person's details as a form sends them.

use askama::Template;
use askama_web::WebTemplate;

use super::Ctx;
use super::extract::Fields;
use crate::domain::Name;
use crate::i18n::{Lang, Texts};
use crate::store::people::Interest;
use crate::store::subscribers::{Changes, Subscriber};

/// A page with a heading, a text and at most one button or link.
#[derive(Template, WebTemplate)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub lang: Lang,
    pub t: &'static Texts,
    pub path: String,
    pub title: &'static str,
    pub text: &'static str,
    /// A form with one button: (action, label).
    pub button: Option<(String, &'static str)>,
    /// A link: (href, label).
    pub link: Option<(&'static str, &'static str)>,
}

/// A message page for `ctx`.
pub(crate) fn message(ctx: &Ctx, title: &'static str, text: &'static str) -> MessagePage {
    MessagePage { lang: ctx.lang, t: ctx.lang.texts(), path: ctx.path.clone(), title, text, button: None, link: None }
}

/// The message by `field` among a form's `errors`, if it has one.
pub(crate) fn field_error<'a>(errors: &'a [(&'static str, String)], field: &str) -> Option<&'a str> {
    errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
}

/// An interest as a checkbox.
pub struct InterestBox {
    pub key: String,
    pub title: String,
    pub checked: bool,
}

/// The interests as checkboxes in `lang`, with `chosen` ticked.
pub(crate) fn boxes(all: &[Interest], chosen: &[String], lang: Lang) -> Vec<InterestBox> {
    all.iter()
        .map(|i| InterestBox {
            key: i.key.clone(),
            title: if lang == Lang::En { i.title_en.clone() } else { i.title_da.clone() },
            checked: chosen.contains(&i.key),
        })
        .collect()
}

/// A person's details as a form sent them: name, organisation (empty means
/// none) and the chosen interests, with a message by each field that is wrong.
pub(crate) struct PersonFields<'a> {
    pub name: Option<Name>,
    /// `None` when the field was left empty (or is wrong: see `errors`).
    pub organisation: Option<Name>,
    /// What was typed, to put back into the form.
    pub organisation_text: &'a str,
    pub interests: Vec<String>,
    pub errors: Vec<(&'static str, String)>,
}

/// Reads [`PersonFields`] from a form body's fields; unknown interests are ignored.
pub(crate) fn person_fields<'a>(fields: &'a Fields, all: &[Interest], lang: Lang) -> PersonFields<'a> {
    let mut interests: Vec<String> = fields
        .iter()
        .filter(|(k, v)| k == "interests" && all.iter().any(|i| &i.key == v))
        .map(|(_, v)| v.clone())
        .collect();
    interests.sort();
    interests.dedup();
    let mut errors = Vec::new();
    let name = Name::parse(fields.get("name")).map_err(|e| errors.push(("name", lang.refused(e)))).ok();
    let organisation_text = fields.get("organisation");
    let organisation = if organisation_text.trim().is_empty() {
        None
    } else {
        Name::parse(organisation_text).map_err(|e| errors.push(("organisation", lang.refused(e)))).ok()
    };
    PersonFields { name, organisation, organisation_text, interests, errors }
}

/// What saving `name`, `organisation` and `interests` changes about `person`:
/// only what differs is written, and named in the audit entry. The language
/// stays as it is.
pub(crate) fn changes(person: &Subscriber, name: Name, organisation: Option<Name>, interests: Vec<String>) -> Changes {
    Changes {
        name: (name.as_str() != person.name).then_some(name),
        organisation: (organisation.as_ref().map(Name::as_str) != person.organisation.as_deref())
            .then_some(organisation),
        interests: (interests != person.interests).then_some(interests),
        language: None,
    }
}
