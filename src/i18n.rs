//! The two languages of pages and mail: Danish by default, English as the alternative.
//!
//! Texts are fields of a struct, so a template that names a missing text does
//! not compile. The set is small; should it grow past a few hundred texts, a
//! Fluent-based catalogue is the next step.

use jiff::ZonedDateTime;

use crate::domain::{MeetingFormat, MeetingStatus, Timestamp, copenhagen};

/// A page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Da,
    En,
}

impl Lang {
    /// The `lang` attribute value.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::Da => "da",
            Self::En => "en",
        }
    }

    /// Reads a language code; anything unknown is Danish.
    #[must_use]
    pub fn from_code(s: &str) -> Self {
        if s.eq_ignore_ascii_case("en") { Self::En } else { Self::Da }
    }

    /// The other language, offered by the switch in the header.
    #[must_use]
    pub const fn other(self) -> Self {
        match self {
            Self::Da => Self::En,
            Self::En => Self::Da,
        }
    }

    /// The texts in this language.
    #[must_use]
    pub const fn texts(self) -> &'static Texts {
        match self {
            Self::Da => &DA,
            Self::En => &EN,
        }
    }

    /// "22. november 2024" or "22 November 2024", in Copenhagen time.
    #[must_use]
    pub fn date(self, t: Timestamp) -> String {
        let z = t.to_zoned_datetime(copenhagen());
        let month = self.texts().months[usize::try_from(z.month() - 1).unwrap_or(0)];
        match self {
            Self::Da => format!("{}. {} {}", z.day(), month, z.year()),
            Self::En => format!("{} {} {}", z.day(), month, z.year()),
        }
    }

    /// "kl. 13.00" or "13:00", in Copenhagen time.
    #[must_use]
    pub fn time(self, t: Timestamp) -> String {
        let z: ZonedDateTime = t.to_zoned_datetime(copenhagen());
        match self {
            Self::Da => format!("kl. {:02}.{:02}", z.hour(), z.minute()),
            Self::En => format!("{:02}:{:02}", z.hour(), z.minute()),
        }
    }

    /// "17. møde" or "the 17th meeting".
    #[must_use]
    pub fn meeting_number(self, n: i32) -> String {
        match self {
            Self::Da => format!("{n}. møde"),
            Self::En => {
                let suffix = match (n % 10, n % 100) {
                    (1, x) if x != 11 => "st",
                    (2, x) if x != 12 => "nd",
                    (3, x) if x != 13 => "rd",
                    _ => "th",
                };
                format!("the {n}{suffix} meeting")
            }
        }
    }

    /// The name of a meeting format.
    #[must_use]
    pub const fn format(self, f: MeetingFormat) -> &'static str {
        let t = self.texts();
        match f {
            MeetingFormat::Physical => t.format_physical,
            MeetingFormat::Virtual => t.format_virtual,
            MeetingFormat::Hybrid => t.format_hybrid,
        }
    }

    /// The name of a meeting status.
    #[must_use]
    pub const fn status(self, s: MeetingStatus) -> &'static str {
        let t = self.texts();
        match s {
            MeetingStatus::Draft => t.status_draft,
            MeetingStatus::Published => t.status_published,
            MeetingStatus::Open => t.status_open,
            MeetingStatus::Closed => t.status_closed,
            MeetingStatus::Held => t.status_held,
            MeetingStatus::Evaluated => t.status_evaluated,
            MeetingStatus::Archived => t.status_archived,
            MeetingStatus::Cancelled => t.status_cancelled,
        }
    }
}

/// The version of the consent text shown on the sign-up form; recorded with each consent.
pub const CONSENT_VERSION: &str = "2026-11";

/// The version of the consent text on the RSVP form for naming one's
/// organisation on a meeting's public list of participants.
pub const LISTING_CONSENT_VERSION: &str = "2026-11";

/// The consent recorded for a sign-up by mail to the join address (in Danish,
/// the language of the list): what writing to that address means.
pub const EMAIL_CONSENT_TEXT: &str = "En mail til Dialogforums tilmeldingsadresse er en anmodning om at komme på \
mailinglisten og modtage invitationer og nyt fra Dialogforum. Navn og e-mailadresse bruges kun til det, og man kan \
altid framelde sig med ét klik i hver mail.";

/// Every text on the pages.
#[allow(clippy::struct_field_names)]
pub struct Texts {
    pub language_name: &'static str,
    pub switch_label: &'static str,
    pub skip_to_content: &'static str,
    pub site_tagline: &'static str,
    pub nav_label: &'static str,
    pub nav_home: &'static str,
    pub nav_meetings: &'static str,
    pub nav_organisers: &'static str,
    pub footer_about: &'static str,
    pub accessibility: &'static str,
    pub home_title: &'static str,
    pub home_intro: &'static str,
    pub next_meeting: &'static str,
    pub no_upcoming: &'static str,
    pub join_call: &'static str,
    pub upcoming: &'static str,
    pub archive: &'static str,
    pub all_meetings: &'static str,
    pub meeting_number: &'static str,
    pub themes: &'static str,
    pub programme: &'static str,
    pub speakers: &'static str,
    pub when: &'static str,
    pub where_: &'static str,
    pub format: &'static str,
    pub virtual_meeting: &'static str,
    pub track: &'static str,
    pub cancelled_item: &'static str,
    pub format_physical: &'static str,
    pub format_virtual: &'static str,
    pub format_hybrid: &'static str,
    pub status_draft: &'static str,
    pub status_published: &'static str,
    pub status_open: &'static str,
    pub status_closed: &'static str,
    pub status_held: &'static str,
    pub status_evaluated: &'static str,
    pub status_archived: &'static str,
    pub status_cancelled: &'static str,
    pub months: [&'static str; 12],
    pub login_title: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub log_in: &'static str,
    pub log_out: &'static str,
    pub login_failed: &'static str,
    pub dashboard_title: &'static str,
    pub meetings: &'static str,
    pub people: &'static str,
    pub mail_queue: &'static str,
    pub count: &'static str,
    pub status: &'static str,
    pub signed_in_as: &'static str,
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub error_title: &'static str,
    pub error_text: &'static str,
    pub unavailable_title: &'static str,
    pub unavailable_text: &'static str,
    pub forbidden_title: &'static str,
    pub forbidden_text: &'static str,
    pub bad_request_title: &'static str,
    pub back_home: &'static str,
    pub accessibility_title: &'static str,
    pub accessibility_text: &'static str,
    pub demo_notice: &'static str,
    pub subscribe_title: &'static str,
    pub subscribe_intro: &'static str,
    pub name: &'static str,
    pub organisation: &'static str,
    pub organisation_hint: &'static str,
    pub interests_legend: &'static str,
    pub consent_label: &'static str,
    pub subscribe_button: &'static str,
    pub errors_heading: &'static str,
    pub consent_required: &'static str,
    pub check_mail_title: &'static str,
    pub check_mail_text: &'static str,
    pub confirm_title: &'static str,
    pub confirm_text: &'static str,
    pub confirm_button: &'static str,
    pub confirmed_title: &'static str,
    pub confirmed_text: &'static str,
    pub already_confirmed_title: &'static str,
    pub already_confirmed_text: &'static str,
    pub link_expired_title: &'static str,
    pub link_expired_text: &'static str,
    pub link_invalid_title: &'static str,
    pub link_invalid_text: &'static str,
    pub unsubscribe_title: &'static str,
    pub unsubscribe_text: &'static str,
    pub unsubscribe_button: &'static str,
    pub unsubscribed_title: &'static str,
    pub unsubscribed_text: &'static str,
    pub too_many_title: &'static str,
    pub too_many_text: &'static str,
    pub nav_subscribe: &'static str,
    pub required: &'static str,
    pub profile_request_title: &'static str,
    pub profile_request_intro: &'static str,
    pub profile_request_button: &'static str,
    pub profile_sent_title: &'static str,
    pub profile_sent_text: &'static str,
    pub profile_title: &'static str,
    pub profile_intro: &'static str,
    pub profile_language_legend: &'static str,
    pub profile_save_button: &'static str,
    pub profile_saved: &'static str,
    pub profile_status_pending: &'static str,
    pub profile_status_confirmed: &'static str,
    pub profile_status_unsubscribed: &'static str,
    pub profile_status_bounced: &'static str,
    pub profile_status_guest: &'static str,
    pub data_title: &'static str,
    pub data_text: &'static str,
    pub data_link: &'static str,
    pub erase_title: &'static str,
    pub erase_text: &'static str,
    pub erase_confirm_label: &'static str,
    pub erase_button: &'static str,
    pub erase_confirm_required: &'static str,
    pub erased_title: &'static str,
    pub erased_text: &'static str,
    pub profile_link_invalid_text: &'static str,
    pub profile_language_required: &'static str,
}

/// Dansk.
pub static DA: Texts = Texts {
    language_name: "Dansk",
    switch_label: "English",
    skip_to_content: "Gå til indhold",
    site_tagline: "Strategisk dialog mellem kommunerne og it-leverandører og konsulenthuse",
    nav_label: "Hovedmenu",
    nav_home: "Forside",
    nav_meetings: "Møder",
    nav_organisers: "For arrangører",
    footer_about: "Dialogforum samler kommunale it-leverandører og konsulenthuse til dialog med kommunerne.",
    accessibility: "Tilgængelighedserklæring",
    home_title: "Dialogforum",
    home_intro: "Dialogforum er et strategisk forum, hvor kommunerne mødes med it-leverandører og konsulenthuse om digitalisering, it-sikkerhed og den gode markedsdialog.",
    next_meeting: "Næste møde",
    no_upcoming: "Der er ikke planlagt et nyt møde endnu.",
    join_call: "Vil du inviteres til møderne? Skriv dig på mailinglisten.",
    upcoming: "Kommende møder",
    archive: "Tidligere møder",
    all_meetings: "Alle møder",
    meeting_number: "møde",
    themes: "Temaer",
    programme: "Program",
    speakers: "Oplægsholdere",
    when: "Tidspunkt",
    where_: "Sted",
    format: "Form",
    virtual_meeting: "Virtuelt møde",
    track: "Spor",
    cancelled_item: "Aflyst",
    format_physical: "Fysisk møde",
    format_virtual: "Virtuelt møde",
    format_hybrid: "Hybridmøde",
    status_draft: "Kladde",
    status_published: "Offentliggjort",
    status_open: "Åben for tilmelding",
    status_closed: "Tilmelding lukket",
    status_held: "Afholdt",
    status_evaluated: "Evalueret",
    status_archived: "Arkiveret",
    status_cancelled: "Aflyst",
    months: [
        "januar",
        "februar",
        "marts",
        "april",
        "maj",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "december",
    ],
    login_title: "Log ind som arrangør",
    email: "E-mailadresse",
    password: "Adgangskode",
    log_in: "Log ind",
    log_out: "Log ud",
    login_failed: "E-mailadressen eller adgangskoden er forkert.",
    dashboard_title: "Overblik",
    meetings: "Møder",
    people: "Personer",
    mail_queue: "Udgående post",
    count: "Antal",
    status: "Status",
    signed_in_as: "Logget ind som",
    not_found_title: "Siden findes ikke",
    not_found_text: "Vi kan ikke finde den side, du leder efter. Måske er linket forældet.",
    error_title: "Der skete en fejl",
    error_text: "Noget gik galt hos os. Prøv igen om lidt. Fejlen er registreret.",
    unavailable_title: "Tjenesten er midlertidigt utilgængelig",
    unavailable_text: "Vi kan ikke svare lige nu. Prøv igen om et øjeblik.",
    forbidden_title: "Adgang nægtet",
    forbidden_text: "Du har ikke adgang til denne side.",
    bad_request_title: "Forespørgslen kunne ikke behandles",
    back_home: "Til forsiden",
    accessibility_title: "Tilgængelighedserklæring",
    accessibility_text: "Dialogforum skal kunne bruges af alle. Siderne er bygget efter WCAG 2.1 niveau AA: de virker uden JavaScript, kan betjenes med tastatur, har synligt fokus, og felter har tilknyttede etiketter. Oplever du problemer med tilgængeligheden, så skriv til sekretariatet.",
    demo_notice: "Demodata: mødehistorikken er hentet fra forummets offentlige side; personerne er opdigtede.",
    subscribe_title: "Tilmeld dig mailinglisten",
    subscribe_intro: "Få invitationer til Dialogforums møder og nyt fra forummet. Du bekræfter din tilmelding via et link, vi sender til dig.",
    name: "Navn",
    organisation: "Organisation",
    organisation_hint: "Virksomhed eller organisation, fx Nordlys IT A/S.",
    interests_legend: "Hvad interesserer dig? (valgfrit)",
    consent_label: "Ja, jeg vil gerne modtage invitationer og nyt fra Dialogforum. Mit navn, min e-mailadresse, min organisation og mine interesser bruges kun til det, og jeg kan altid framelde mig med ét klik i hver mail.",
    subscribe_button: "Tilmeld mig",
    errors_heading: "Ret venligst følgende",
    consent_required: "Sæt kryds, hvis du vil på listen.",
    check_mail_title: "Tjek din indbakke",
    check_mail_text: "Hvis adressen kan tilmeldes, har vi sendt en mail med et link. Åbn linket og bekræft for at komme på listen. Kommer mailen ikke, så tjek spamfilteret.",
    confirm_title: "Bekræft din tilmelding",
    confirm_text: "Tryk på knappen for at bekræfte, at du vil på Dialogforums mailingliste.",
    confirm_button: "Bekræft tilmeldingen",
    confirmed_title: "Du er nu på listen",
    confirmed_text: "Tak. Du får invitationer til de kommende møder. Du kan altid framelde dig med ét klik i hver mail.",
    already_confirmed_title: "Allerede bekræftet",
    already_confirmed_text: "Dette link er allerede brugt, og intet er ændret. Vil du ændre dine oplysninger, kan du bede om et link til din side.",
    link_expired_title: "Linket er udløbet",
    link_expired_text: "Linket er for gammelt. Tilmeld dig igen, så sender vi et nyt.",
    link_invalid_title: "Linket virker ikke",
    link_invalid_text: "Linket er ukendt eller allerede brugt. Kopier hele linket fra mailen, eller bed om et nyt.",
    unsubscribe_title: "Frameld mailinglisten",
    unsubscribe_text: "Tryk på knappen for at blive fjernet fra Dialogforums mailingliste. Du får derefter ingen flere mails fra listen.",
    unsubscribe_button: "Frameld mig",
    unsubscribed_title: "Du er frameldt",
    unsubscribed_text: "Du får ikke flere mails fra Dialogforums mailingliste. Fortryder du, kan du tilmelde dig igen.",
    too_many_title: "For mange forsøg",
    too_many_text: "Der er kommet for mange forespørgsler fra din forbindelse. Prøv igen om en time.",
    nav_subscribe: "Tilmeld",
    required: "obligatorisk",
    profile_request_title: "Se og ret dine oplysninger",
    profile_request_intro: "Skriv din e-mailadresse, så sender vi dig et personligt link. Med linket kan du rette dine oplysninger, hente alt, hvad vi har om dig, eller slette dig.",
    profile_request_button: "Send mig linket",
    profile_sent_title: "Tjek din indbakke",
    profile_sent_text: "Hvis adressen er på listen, har vi sendt en mail med et link til dine oplysninger. Kommer mailen ikke, så tjek spamfilteret.",
    profile_title: "Dine oplysninger",
    profile_intro: "Her kan du se og rette det, Dialogforum har om dig, hente det hele eller slette dig.",
    profile_language_legend: "Sprog i mails og på siderne",
    profile_save_button: "Gem ændringerne",
    profile_saved: "Dine ændringer er gemt.",
    profile_status_pending: "Tilmeldt, venter på din bekræftelse",
    profile_status_confirmed: "På mailinglisten",
    profile_status_unsubscribed: "Frameldt mailinglisten",
    profile_status_bounced: "Frameldt, fordi mails til adressen kom retur",
    profile_status_guest: "Gæst, ikke på mailinglisten",
    data_title: "Hent dine data",
    data_text: "Hent alt, hvad vi har om dig, som en fil i JSON-format: dine oplysninger, dine samtykker, dine tilmeldinger til møder, de mails, vi har sendt dig, og loggen over, hvad der er gjort med dine data.",
    data_link: "Hent mine data (JSON)",
    erase_title: "Slet dig",
    erase_text: "Vi sletter dit navn, din adresse, dine samtykker, dine tilmeldinger og alt, hvad du har skrevet til os, og du får ingen flere mails. Det kan ikke fortrydes. Tilbage bliver kun loggen over, hvad der er sket, uden navn og adresse.",
    erase_confirm_label: "Ja, slet alle mine oplysninger",
    erase_button: "Slet mine oplysninger",
    erase_confirm_required: "Sæt kryds for at bekræfte, at alt skal slettes.",
    erased_title: "Dine oplysninger er slettet",
    erased_text: "Vi har slettet dit navn, din adresse og alt andet, vi havde om dig. Du får ingen flere mails fra Dialogforum.",
    profile_link_invalid_text: "Linket er ukendt eller udløbet. Bed om et nyt link til dine oplysninger.",
    profile_language_required: "Vælg dansk eller engelsk.",
};

/// English.
pub static EN: Texts = Texts {
    language_name: "English",
    switch_label: "Dansk",
    skip_to_content: "Skip to content",
    site_tagline: "Strategic dialogue between the municipalities and IT suppliers and consultancies",
    nav_label: "Main menu",
    nav_home: "Home",
    nav_meetings: "Meetings",
    nav_organisers: "For organisers",
    footer_about: "Dialogforum brings municipal IT suppliers and consultancies into dialogue with the municipalities.",
    accessibility: "Accessibility statement",
    home_title: "Dialogforum",
    home_intro: "Dialogforum is a strategic forum where the municipalities meet IT suppliers and consultancies on digitalisation, IT security and good market dialogue.",
    next_meeting: "Next meeting",
    no_upcoming: "No new meeting has been planned yet.",
    join_call: "Want to be invited to the meetings? Join the mailing list.",
    upcoming: "Upcoming meetings",
    archive: "Past meetings",
    all_meetings: "All meetings",
    meeting_number: "meeting",
    themes: "Themes",
    programme: "Programme",
    speakers: "Speakers",
    when: "When",
    where_: "Where",
    format: "Format",
    virtual_meeting: "Virtual meeting",
    track: "Track",
    cancelled_item: "Cancelled",
    format_physical: "In person",
    format_virtual: "Virtual",
    format_hybrid: "Hybrid",
    status_draft: "Draft",
    status_published: "Published",
    status_open: "Open for registration",
    status_closed: "Registration closed",
    status_held: "Held",
    status_evaluated: "Evaluated",
    status_archived: "Archived",
    status_cancelled: "Cancelled",
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    login_title: "Organiser sign-in",
    email: "Email address",
    password: "Password",
    log_in: "Sign in",
    log_out: "Sign out",
    login_failed: "The email address or the password is wrong.",
    dashboard_title: "Overview",
    meetings: "Meetings",
    people: "People",
    mail_queue: "Outgoing mail",
    count: "Count",
    status: "Status",
    signed_in_as: "Signed in as",
    not_found_title: "Page not found",
    not_found_text: "We cannot find the page you are looking for. The link may be out of date.",
    error_title: "Something went wrong",
    error_text: "Something went wrong on our side. Please try again shortly. The error has been logged.",
    unavailable_title: "Temporarily unavailable",
    unavailable_text: "We cannot answer right now. Please try again in a moment.",
    forbidden_title: "Access denied",
    forbidden_text: "You do not have access to this page.",
    bad_request_title: "The request could not be processed",
    back_home: "Back to the home page",
    accessibility_title: "Accessibility statement",
    accessibility_text: "Dialogforum must be usable by everyone. The pages follow WCAG 2.1 level AA: they work without JavaScript, can be used with a keyboard, show visible focus, and fields have labels. If you meet an accessibility problem, please write to the secretariat.",
    demo_notice: "Demo data: the meeting history is taken from the forum's public page; the people are fictional.",
    subscribe_title: "Join the mailing list",
    subscribe_intro: "Get invitations to Dialogforum's meetings and news from the forum. You confirm your sign-up through a link we send you.",
    name: "Name",
    organisation: "Organisation",
    organisation_hint: "Company or organisation, e.g. Nordlys IT A/S.",
    interests_legend: "What interests you? (optional)",
    consent_label: "Yes, I want to receive invitations and news from Dialogforum. My name, email address, organisation and interests are used only for that, and I can always leave with one click in every mail.",
    subscribe_button: "Sign me up",
    errors_heading: "Please correct the following",
    consent_required: "Tick the box if you want to join the list.",
    check_mail_title: "Check your inbox",
    check_mail_text: "If the address can be signed up, we have sent a mail with a link. Open the link and confirm to join the list. If the mail does not arrive, check your spam filter.",
    confirm_title: "Confirm your sign-up",
    confirm_text: "Press the button to confirm that you want to join the Dialogforum mailing list.",
    confirm_button: "Confirm the sign-up",
    confirmed_title: "You are now on the list",
    confirmed_text: "Thank you. You will receive invitations to the coming meetings. You can always leave with one click in every mail.",
    already_confirmed_title: "Already confirmed",
    already_confirmed_text: "This link has been used already, and nothing was changed. To change your details, ask for a link to your page.",
    link_expired_title: "The link has expired",
    link_expired_text: "The link is too old. Sign up again and we will send a new one.",
    link_invalid_title: "The link does not work",
    link_invalid_text: "The link is unknown or already used. Copy the whole link from the mail, or ask for a new one.",
    unsubscribe_title: "Leave the mailing list",
    unsubscribe_text: "Press the button to be removed from the Dialogforum mailing list. You will get no more mails from the list.",
    unsubscribe_button: "Remove me",
    unsubscribed_title: "You have left the list",
    unsubscribed_text: "You will get no more mails from the Dialogforum mailing list. If you change your mind, you can sign up again.",
    too_many_title: "Too many attempts",
    too_many_text: "Too many requests came from your connection. Please try again in an hour.",
    nav_subscribe: "Sign up",
    required: "required",
    profile_request_title: "See and change your details",
    profile_request_intro: "Enter your email address and we will send you a personal link. With it you can change your details, download everything we hold about you, or erase it.",
    profile_request_button: "Send me the link",
    profile_sent_title: "Check your inbox",
    profile_sent_text: "If the address is on the list, we have sent a mail with a link to your details. If the mail does not arrive, check your spam filter.",
    profile_title: "Your details",
    profile_intro: "Here you can see and change what Dialogforum holds about you, download all of it, or erase it.",
    profile_language_legend: "Language of mails and pages",
    profile_save_button: "Save the changes",
    profile_saved: "Your changes are saved.",
    profile_status_pending: "Signed up, waiting for your confirmation",
    profile_status_confirmed: "On the mailing list",
    profile_status_unsubscribed: "Left the mailing list",
    profile_status_bounced: "Off the list, because mail to the address came back",
    profile_status_guest: "Guest, not on the mailing list",
    data_title: "Download your data",
    data_text: "Download everything we hold about you as a JSON file: your details, your consents, your registrations for meetings, the mails we sent you, and the log of what was done with your data.",
    data_link: "Download my data (JSON)",
    erase_title: "Erase your data",
    erase_text: "We erase your name, your address, your consents, your registrations and everything you wrote to us, and you get no more mail. This cannot be undone. Only the log of what happened remains, without name or address.",
    erase_confirm_label: "Yes, erase all my data",
    erase_button: "Erase my data",
    erase_confirm_required: "Tick the box to confirm that everything is to be erased.",
    erased_title: "Your data has been erased",
    erased_text: "We have erased your name, your address and everything else we held about you. You will get no more mail from Dialogforum.",
    profile_link_invalid_text: "The link is unknown or has expired. Ask for a new link to your details.",
    profile_language_required: "Choose Danish or English.",
};
