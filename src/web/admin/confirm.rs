//! The confirm step before an organiser act that cannot simply be undone —
//! cancelling or closing a meeting, removing a programme item or a file,
//! disabling an account: the page comes back with a section that says what
//! will happen and to whom, and a form whose button does it. The first press
//! changes nothing; without JavaScript, as everywhere in the workspace.
//! Rendered by `templates/admin/confirm_step.html`, included where a page
//! has a `confirm: Option<ConfirmStep>` and its `csrf`.

use crate::i18n::{Lang, texts};

texts! {
    /// The words every confirm step shares.
    pub struct ConfirmTexts {
        back => "Nej, gå tilbage", "No, go back";
        changed => "Tallene har ændret sig, siden du så dem. Se de nye tal, og bekræft igen.",
            "The numbers have changed since you saw them. See the new numbers and confirm again.";
    }
}

/// The field of a confirm step that takes the organiser's own word.
pub struct NoteField {
    pub label: &'static str,
    pub hint: &'static str,
    pub value: String,
    pub error: Option<String>,
}

/// What an act will do, asked before it is done.
pub struct ConfirmStep {
    pub heading: &'static str,
    /// What will happen and to whom, a sentence a paragraph.
    pub what: Vec<String>,
    /// Where the confirmation posts (with `confirm=yes`).
    pub action: String,
    /// The fields the act needs, sent back as they were.
    pub fields: Vec<(&'static str, String)>,
    /// A text for the organiser to write into the act (the `message` field).
    pub note: Option<NoteField>,
    /// The label of the button that does it.
    pub button: &'static str,
    /// Where going back leads.
    pub back: String,
    pub back_label: &'static str,
}

impl ConfirmStep {
    /// A step headed `heading` that says `what`, confirmed by `button`
    /// posting `fields` to `action`; going back leads to `back`.
    #[must_use]
    pub fn new(lang: Lang, heading: &'static str, what: Vec<String>, action: String, button: &'static str) -> Self {
        Self {
            heading,
            what,
            back: action.clone(),
            action,
            fields: Vec::new(),
            note: None,
            button,
            back_label: ConfirmTexts::get(lang).back,
        }
    }

    /// With the fields the act needs.
    #[must_use]
    pub fn with(mut self, fields: Vec<(&'static str, String)>) -> Self {
        self.fields = fields;
        self
    }

    /// Going back leads to `back`.
    #[must_use]
    pub fn back_to(mut self, back: String) -> Self {
        self.back = back;
        self
    }
}

/// "a, b og c" or "a, b and c".
#[must_use]
pub fn listed(lang: Lang, parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {} {last}", rest.join(", "), lang.pick("og", "and")),
    }
}

#[cfg(test)]
mod tests {
    use super::listed;
    use crate::i18n::Lang;

    #[test]
    fn parts_are_listed_with_the_last_joined_by_and() {
        let parts = ["23 tilmeldte".to_owned(), "4 på ventelisten".to_owned(), "2 uden svar".to_owned()];
        assert_eq!(listed(Lang::Da, &parts), "23 tilmeldte, 4 på ventelisten og 2 uden svar");
        assert_eq!(listed(Lang::En, &parts[..2]), "23 tilmeldte and 4 på ventelisten");
        assert_eq!(listed(Lang::En, &parts[..1]), "23 tilmeldte");
    }
}
