//! Pieces the public forms share: the one-message page, interest checkboxes
//! and reading a form body whose fields may repeat.

use askama::Template;
use askama_web::WebTemplate;

use super::Ctx;
use crate::i18n::{Lang, Texts};
use crate::store::people::Interest;

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

/// The fields of a form body, in order; `interests` may repeat.
pub(crate) fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The first value of field `name`, or "".
pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}
