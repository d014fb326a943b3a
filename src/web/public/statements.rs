//! What a Danish public body must show about its site: the privacy notice
//! (GDPR Art. 13) and the accessibility statement (webtilgængelighedsloven
//! § 4, in the structure of Digitaliseringsstyrelsen's WAS-Tool). Both are
//! written from the configuration, and the notice's retention periods from
//! the settings the retention job applies, so neither states what the
//! service does not do.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::config::{Compliance, Contact, Settings};
use crate::i18n::{Lang, Texts};
use crate::web::{AppState, Ctx};

/// Routes of the two statements.
pub fn router() -> Router<AppState> {
    Router::new().route("/privacy", get(privacy)).route("/accessibility", get(accessibility))
}

/// Where Digitaliseringsstyrelsen explains how to complain about an inaccessible public site.
pub const DIGST_COMPLAINTS: &str =
    "https://digst.dk/digital-inklusion/webtilgaengelighed/oplever-du-ikke-tilgaengeligt-indhold/";

/// Datatilsynet, the Danish supervisory authority (GDPR Art. 77).
pub const DATATILSYNET: &str = "https://www.datatilsynet.dk/";

/// How long one kind of data is kept, as the notice says it.
pub struct Kept {
    pub what: &'static str,
    pub how_long: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    contact: Contact,
    dpo_email: String,
    dpo_phone: String,
    mail_processor: String,
    hosting_processor: String,
    kept: Vec<Kept>,
}

impl PrivacyPage {
    const fn l(&self, da: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(da, en)
    }
}

async fn privacy(State(state): State<AppState>, ctx: Ctx) -> PrivacyPage {
    let s = &state.settings;
    PrivacyPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        contact: s.contact.clone(),
        dpo_email: s.privacy.dpo_email.clone(),
        dpo_phone: s.privacy.dpo_phone.clone(),
        mail_processor: s.privacy.mail_processor.clone(),
        hosting_processor: s.privacy.hosting_processor.clone(),
        kept: retention(s, ctx.lang),
        path: ctx.path,
    }
}

/// Every kind of personal data the service keeps and for how long, from the
/// settings that the retention job (`forum::timers::run_retention`) and the
/// link checks apply.
#[must_use]
pub fn retention(s: &Settings, lang: Lang) -> Vec<Kept> {
    let mut kept = list_kept(s, lang);
    kept.extend(meetings_kept(s, lang));
    kept.extend(safeguards_kept(s, lang));
    kept
}

impl Kept {
    /// `what` (in Danish and English) is kept `how_long`.
    const fn new(lang: Lang, da: &'static str, en: &'static str, how_long: String) -> Self {
        Self { what: lang.pick(da, en), how_long }
    }
}

/// `n` days in words.
fn days(lang: Lang, n: u64) -> String {
    match (lang, n) {
        (Lang::Da, 1) => "1 dag".to_owned(),
        (Lang::Da, n) => format!("{n} dage"),
        (Lang::En, 1) => "1 day".to_owned(),
        (Lang::En, n) => format!("{n} days"),
    }
}

/// The end of a period that lasts until the person erases their data.
const fn until_erased(lang: Lang) -> &'static str {
    lang.pick(
        "indtil du sletter dine oplysninger på din side (eller beder sekretariatet om det).",
        "until you erase your data on your page (or ask the secretariat to).",
    )
}

/// Joining the list: sign-ups never confirmed, the links in the mails, and
/// the details of a person on the list.
fn list_kept(s: &Settings, lang: Lang) -> Vec<Kept> {
    let en = lang == Lang::En;
    let kept = |what_da, what_en, how_long| Kept::new(lang, what_da, what_en, how_long);
    let (pending, ttl) = (days(lang, s.security.pending_retention_days), s.security.token_ttl_hours);
    vec![
        kept(
            "Tilmeldinger til mailinglisten, der aldrig blev bekræftet",
            "Sign-ups to the mailing list that were never confirmed",
            if en { format!("Deleted {pending} after the sign-up.") } else { format!("Slettes {pending} efter tilmeldingen.") },
        ),
        kept(
            "Links til at bekræfte en tilmelding eller se dine oplysninger",
            "Links to confirm a sign-up or see your details",
            if en { format!("Work for {ttl} hours.") } else { format!("Virker i {ttl} timer.") },
        ),
        kept(
            "Navn, e-mailadresse, organisation, interesser, sprog og dit samtykke (med tidspunkt og IP-adresse som bevis)",
            "Name, email address, organisation, interests, language and your consent (with time and IP address as proof)",
            lang.pick(
                "Så længe du er på listen. Framelder du dig, gemmer vi adressen markeret som frameldt, så du ikke får flere mails, indtil du sletter dine oplysninger på din side.",
                "While you are on the list. If you leave, we keep the address marked as left, so that you get no more mail, until you erase your data on your page.",
            )
            .to_owned(),
        ),
    ]
}

/// Taking part: what a registration carries, the answer itself, the mails
/// sent and the answers to evaluations.
fn meetings_kept(s: &Settings, lang: Lang) -> Vec<Kept> {
    let en = lang == Lang::En;
    let kept = |what_da, what_en, how_long| Kept::new(lang, what_da, what_en, how_long);
    let sec = &s.security;
    let notes = days(lang, u64::from(sec.sensitive_retention_days));
    let minimum = crate::domain::evaluation::BreakdownMinimum::new(s.evaluation.breakdown_minimum).get();
    let until_erased = until_erased(lang);
    vec![
        kept(
            "Kost, tilgængelighedsbehov og kommentarer på en tilmelding til et møde",
            "Diet, access needs and comments on a registration for a meeting",
            if en {
                format!("Deleted {notes} after the meeting. Only the number of registrations with each kind is kept.")
            } else {
                format!("Slettes {notes} efter mødet. Kun antallet af tilmeldinger med hver slags oplysning gemmes.")
            },
        ),
        kept(
            "Dit svar på en invitation, dit spor, om du kom, og om din organisation må stå på listen over deltagere",
            "Your answer to an invitation, your track, whether you came, and whether your organisation may be listed",
            registrations_kept(sec.registration_retention_days, lang, until_erased),
        ),
        kept(
            "Mails, vi har sendt dig",
            "Mail we sent you",
            lang.pick(
                "Indholdet slettes, når mailen er afsendt. Modtager, emne og tidspunkt gemmes, ",
                "The content is deleted once the mail has been sent. Recipient, subject and time are kept ",
            )
            .to_owned()
                + until_erased,
        ),
        kept("Svar på evalueringer", "Answers to evaluations", evaluation_answers_kept(lang, minimum)),
    ]
}

/// What protects the person and the service: the code of an address that
/// left, the log of who handled personal data, and the forms' IP counts.
fn safeguards_kept(s: &Settings, lang: Lang) -> Vec<Kept> {
    let en = lang == Lang::En;
    let kept = |what_da, what_en, how_long| Kept::new(lang, what_da, what_en, how_long);
    let audit = s.security.audit_retention_months;
    vec![
        kept(
            "En envejskode (SHA-256) af din e-mailadresse, når du har frameldt dig listen eller fået dine oplysninger slettet",
            "A one-way code (SHA-256) of your email address, once you have left the list or had your data erased",
            lang.pick(
                "Gemmes, så ingen andre end du selv kan sætte adressen på listen igen (ved en import, en arrangør eller en kollega). Den slettes, når du selv tilmelder dig igen og bekræfter det.",
                "Kept so that nobody but you can put the address back on the list (by an import, an organiser or a colleague). It is deleted when you sign up again yourself and confirm it.",
            )
            .to_owned(),
        ),
        kept(
            "Loggen over, hvem der har set, ændret, hentet eller slettet personoplysninger",
            "The log of who viewed, changed, downloaded or erased personal data",
            if en {
                format!(
                    "{audit} months; then the entries are deleted. When organisers viewed or exported your data is shown with your data on your page, without who did it."
                )
            } else {
                format!(
                    "{audit} måneder; derefter slettes indførslerne. Hvornår arrangørerne så eller hentede dine oplysninger, står sammen med dine data på din side, uden hvem der gjorde det."
                )
            },
        ),
        kept(
            "Din forbindelses IP-adresse, talt for at begrænse misbrug af formularerne",
            "Your connection's IP address, counted to limit misuse of the forms",
            lang.pick("Slettes efter 1 dag.", "Deleted after 1 day.").to_owned(),
        ),
    ]
}

/// How long registrations are kept: `days` after the meeting, then only
/// totals (0: until erased).
fn registrations_kept(days: u32, lang: Lang, until_erased: &str) -> String {
    match (lang, days) {
        (_, 0) => lang.pick("Gemmes, ", "Kept ").to_owned() + until_erased,
        (Lang::Da, n) => format!(
            "Gemmes {n} dage efter mødet. Derefter slettes tilmeldingen, og for mødet gemmes kun tal: hvor \
             mange der svarede hvad, pr. spor, hvor mange der kom, og hvilke organisationer der deltog."
        ),
        (Lang::En, n) => format!(
            "Kept {n} days after the meeting. Then the registration is deleted, and only figures are kept for \
             the meeting: how many answered what, per track, how many came, and which organisations took part."
        ),
    }
}

/// How long evaluation answers are kept and what goes with them, with the
/// fewest answers a track needs to be shown on its own.
fn evaluation_answers_kept(lang: Lang, minimum: u32) -> String {
    match lang {
        Lang::Da => format!(
            "Gemmes uden forbindelse til dig, så de kan ikke føres tilbage til dig. Melder du dig til \
             planlægningsgruppen, gemmes det for sig, indtil du sletter dine oplysninger. Sporet for din plads \
             gemmes med svaret; et spor med færre end {minimum} svar vises aldrig for sig."
        ),
        Lang::En => format!(
            "Stored without any link to you, so they cannot be traced back to you. If you volunteer for the \
             planning group, that is stored apart, until you erase your data. The track of your seat is kept with \
             the answer; a track with fewer than {minimum} answers is never shown on its own."
        ),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "accessibility.html")]
struct AccessibilityPage {
    lang: Lang,
    t: &'static Texts,
    path: String,
    contact: Contact,
    site: String,
    status: Compliance,
    prepared: String,
    /// The known deviations, in the reader's language.
    deviations: Vec<String>,
    complaints: &'static str,
}

impl AccessibilityPage {
    const fn l(&self, da: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(da, en)
    }
}

async fn accessibility(State(state): State<AppState>, ctx: Ctx) -> AccessibilityPage {
    let s = &state.settings;
    let a = &s.accessibility;
    // The day at noon in Copenhagen, so the date reads the same in any time zone.
    let prepared = a
        .prepared
        .at(12, 0, 0, 0)
        .to_zoned_datetime(crate::domain::copenhagen())
        .map_or_else(|_| a.prepared.to_string(), |z| ctx.lang.date(z.timestamp()));
    AccessibilityPage {
        lang: ctx.lang,
        t: ctx.lang.texts(),
        contact: s.contact.clone(),
        site: s.base_url().to_owned(),
        status: a.status,
        prepared,
        deviations: a
            .deviations
            .iter()
            .map(|d| if ctx.lang == Lang::En { d.en.clone() } else { d.da.clone() })
            .collect(),
        complaints: DIGST_COMPLAINTS,
        path: ctx.path,
    }
}
