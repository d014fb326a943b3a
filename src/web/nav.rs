//! The organiser workspace's navigation bar: who is signed in, the pages
//! their role may open (the current one marked), their password page and
//! "Log ud". The guard in front of the workspace keeps the signed-in
//! organiser at hand for the request, so the shared layout draws the bar
//! without every page's values carrying it.

use crate::domain::Role;
use crate::i18n::{Lang, texts};

texts! {
    /// The words of the navigation bar.
    pub struct NavTexts {
        label => "Arrangørens arbejdsrum", "Organiser workspace";
        account_label => "Din konto", "Your account";
        overview => "Oversigt", "Overview";
        meetings => "Møder", "Meetings";
        mailings => "Udsendelser", "Mailings";
        people => "Personer", "People";
        organisations => "Organisationer", "Organisations";
        interests => "Interesser", "Interests";
        evaluations => "Evalueringer", "Evaluations";
        year => "Året", "The year";
        exports => "Eksport", "Exports";
        audit => "Revisionslog", "Audit log";
        users => "Brugere", "Users";
        password => "Skift adgangskode", "Change password";
        log_out => "Log ud", "Sign out";
    }
}

/// The signed-in organiser, as the navigation bar shows them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Their name, or their masked address when they have none.
    pub name: String,
    pub role: Role,
    /// The CSRF token of their session, for the "Log ud" form.
    pub csrf: String,
}

tokio::task_local! {
    /// The organiser the request is served for.
    static SIGNED_IN: SignedIn;
}

/// Serves `fut` (the rest of a workspace request) with `who` at hand for the layout.
pub async fn scope<F: std::future::Future>(who: SignedIn, fut: F) -> F::Output {
    SIGNED_IN.scope(who, fut).await
}

/// The signed-in organiser of the request being served, for the layout;
/// `None` outside the workspace.
#[must_use]
pub fn signed_in() -> Option<SignedIn> {
    SIGNED_IN.try_with(Clone::clone).ok()
}

impl SignedIn {
    /// The words of the bar in `lang`.
    #[must_use]
    pub const fn texts(&self, lang: Lang) -> &'static NavTexts {
        NavTexts::get(lang)
    }

    /// The role in words.
    #[must_use]
    pub const fn role_name(&self, lang: Lang) -> &'static str {
        lang.role(self.role)
    }

    /// The workspace pages this role may open: (path, label).
    #[must_use]
    pub fn links(&self, lang: Lang) -> Vec<(&'static str, &'static str)> {
        let n = NavTexts::get(lang);
        let write = self.role.can_write();
        let admin = self.role.is_admin();
        [
            ("/admin", n.overview, true),
            ("/admin/meetings", n.meetings, true),
            ("/admin/campaigns", n.mailings, true),
            ("/admin/people", n.people, write),
            ("/admin/organisations", n.organisations, true),
            ("/admin/interests", n.interests, true),
            ("/admin/evaluations", n.evaluations, true),
            ("/admin/year", n.year, true),
            ("/admin/exports", n.exports, write),
            ("/admin/audit", n.audit, admin),
            ("/admin/users", n.users, admin),
        ]
        .into_iter()
        .filter(|(_, _, may)| *may)
        .map(|(href, label, _)| (href, label))
        .collect()
    }

    /// Whether the link to `href` is the page at `path` or one under it.
    #[must_use]
    pub fn current(href: &str, path: &str) -> bool {
        path == href
            || (href != "/admin" && path.starts_with(href) && path[href.len()..].starts_with('/'))
            || (href == "/admin/users" && path.starts_with("/admin/tokens"))
    }
}
