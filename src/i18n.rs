//! The two languages of pages and mail: Danish by default, English as the alternative.
//!
//! One mechanism for every text a person reads: [`texts!`] declares a table
//! of named texts with the Danish and the English side by side, so a text
//! missing in either language, or one a template names that does not exist,
//! fails to compile. A text that takes values is a method of [`Lang`] (dates,
//! meeting numbers, [`Lang::broken`] for the meeting rules). Each page module
//! keeps its own table next to the page; this module holds the words every
//! page shares. Should the set grow past a few thousand texts or need
//! translators outside the code, a Fluent catalogue is the next step.

use jiff::ZonedDateTime;

use crate::domain::{
    Broken, MEETING_YEARS, MeetingFormat, MeetingStatus, ParseError, PersonStatus, PublicPhase, RegistrationStatus,
    Role, Suppression, Timestamp, WaitReason, copenhagen,
};

/// Declares a table of texts, each given in Danish and then in English:
///
/// ```text
/// texts! {
///     /// The words of the interests page.
///     pub struct InterestTexts {
///         title => "Interesser", "Interests";
///         months: [&'static str; 2] => ["januar", "februar"], ["January", "February"];
///     }
/// }
/// ```
///
/// A field is `&'static str` unless a type is given. `InterestTexts::get(lang)`
/// returns the table in `lang`.
macro_rules! texts {
    ($(#[$meta:meta])* $vis:vis struct $name:ident {
        $($(#[$fmeta:meta])* $field:ident $(: $ty:ty)? => $da:expr, $en:expr;)*
    }) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$fmeta])* pub $field: $crate::i18n::texts!(@type $($ty)?),)*
        }

        impl $name {
            /// The texts in `lang`.
            #[must_use]
            pub const fn get(lang: $crate::i18n::Lang) -> &'static Self {
                const DA: $name = $name { $($field: $da,)* };
                const EN: $name = $name { $($field: $en,)* };
                match lang {
                    $crate::i18n::Lang::Da => &DA,
                    $crate::i18n::Lang::En => &EN,
                }
            }
        }
    };
    (@type) => { &'static str };
    (@type $ty:ty) => { $ty };
}
pub(crate) use texts;

/// A page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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

    /// A text used in one place only, given in both languages where it is
    /// used (`lang.pick("Gem", "Save")`); the pair cannot lack a language.
    #[must_use]
    pub const fn pick(self, da: &'static str, en: &'static str) -> &'static str {
        match self {
            Self::Da => da,
            Self::En => en,
        }
    }

    /// The texts in this language.
    #[must_use]
    pub const fn texts(self) -> &'static Texts {
        Texts::get(self)
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

    /// What a broken meeting rule means, said to the organiser.
    #[must_use]
    pub fn broken(self, rule: Broken) -> String {
        let (first, last) = MEETING_YEARS;
        let da = self == Self::Da;
        match rule {
            Broken::OutsideYears if da => format!("Vælg et tidspunkt i årene {first}–{last}."),
            Broken::OutsideYears => format!("Choose a time in the years {first}–{last}."),
            Broken::EndsBeforeStart if da => "Mødet kan ikke slutte, før det begynder.".into(),
            Broken::EndsBeforeStart => "The meeting cannot end before it starts.".into(),
            Broken::DeadlineAfterEnd if da => "Fristen kan ikke ligge efter mødet.".into(),
            Broken::DeadlineAfterEnd => "The deadline cannot be after the meeting.".into(),
            Broken::LinkNotHttps if da => "Linket skal begynde med https://.".into(),
            Broken::LinkNotHttps => "The link must start with https://.".into(),
            Broken::LinkNeeded if da => {
                "Et virtuelt eller hybridt møde skal have et link, før det offentliggøres.".into()
            }
            Broken::LinkNeeded => "A virtual or hybrid meeting needs a link before it is published.".into(),
            Broken::NotPositive if da => "Skriv et helt tal på mindst 1, eller lad feltet stå tomt.".into(),
            Broken::NotPositive => "Enter a whole number of at least 1, or leave it empty.".into(),
            Broken::TrackKey if da => "Et spors nøgle består af små bogstaver, tal og bindestreger.".into(),
            Broken::TrackKey => "A track's key is lowercase letters, digits and hyphens.".into(),
            Broken::TrackTwice if da => "Hvert spor skal have sin egen nøgle.".into(),
            Broken::TrackTwice => "Each track needs a key of its own.".into(),
            Broken::OpensAfterStart if da => "Tilmeldingen skal åbne, før mødet begynder.".into(),
            Broken::OpensAfterStart => "Registration must open before the meeting starts.".into(),
            Broken::CloseWithoutLottery if da => "Kun et møde med lodtrækning har en ansøgningsfrist.".into(),
            Broken::CloseWithoutLottery => "Only a meeting with a lottery has an application deadline.".into(),
            Broken::CloseNeeded if da => "Et møde med lodtrækning skal have en ansøgningsfrist.".into(),
            Broken::CloseNeeded => "A meeting with a lottery needs an application deadline.".into(),
            Broken::CloseBeforeOpening if da => "Ansøgningsfristen skal ligge efter åbningen.".into(),
            Broken::CloseBeforeOpening => "The application deadline must be after the opening.".into(),
            Broken::CloseAfterStart if da => "Ansøgningsfristen skal ligge før mødet.".into(),
            Broken::CloseAfterStart => "The application deadline must be before the meeting.".into(),
            Broken::AlreadyDrawn if da => "Pladserne er trukket; lodtrækningen og dens frist kan ikke ændres.".into(),
            Broken::AlreadyDrawn => "The seats have been drawn; the lottery and its deadline cannot change.".into(),
        }
    }

    /// Why a typed value was refused, said to the person who typed it.
    #[must_use]
    pub fn refused(self, e: ParseError) -> String {
        let pick = |da, en| self.pick(da, en).to_owned();
        match e {
            ParseError::TooLong { max } => {
                format!("{} {max} {}.", self.pick("Højst", "At most"), self.pick("tegn", "characters"))
            }
            ParseError::ControlCharacter => pick(
                "Teksten må ikke indeholde linjeskift eller kontroltegn.",
                "The text may not contain line breaks or control characters.",
            ),
            ParseError::ControlInText => pick(
                "Teksten må ikke indeholde kontroltegn; linjeskift er fine.",
                "The text may not contain control characters; line breaks are fine.",
            ),
            ParseError::InvisibleCharacter => pick(
                "Teksten må ikke indeholde usynlige tegn eller tegn, der vender skriveretningen.",
                "The text may not contain invisible characters or characters that change the writing direction.",
            ),
            ParseError::NoName => pick("Skriv et navn.", "Enter a name."),
            ParseError::Email => pick(
                "Skriv en gyldig e-mailadresse, fx navn@firma.dk.",
                "Enter a valid e-mail address, e.g. name@company.dk.",
            ),
            ParseError::Key => pick(
                "En nøgle er 1–40 små bogstaver, tal, - eller _ og begynder med et bogstav.",
                "A key is 1–40 lowercase letters, digits, - or _, starting with a letter.",
            ),
            ParseError::DuplicateKey => pick("To spørgsmål har samme nøgle.", "Two questions have the same key."),
            ParseError::NoDanishText => pick("Den danske tekst mangler.", "The Danish text is missing."),
            ParseError::TooFewOptions => pick(
                "Et valgspørgsmål skal have mindst to svarmuligheder.",
                "A choice question needs at least two options.",
            ),
            ParseError::DuplicateOptionKey => {
                pick("To svarmuligheder har samme nøgle.", "Two options have the same key.")
            }
            ParseError::PasswordTooShort { min } => match self {
                Self::Da => format!("Adgangskoden skal være på mindst {min} tegn."),
                Self::En => format!("The password must be at least {min} characters."),
            },
            ParseError::PasswordTooLong => pick("Adgangskoden er for lang.", "The password is too long."),
            ParseError::Unhashable => {
                pick("Adgangskoden kunne ikke gemmes. Prøv en anden.", "The password could not be saved. Try another.")
            }
            ParseError::Unknown(_) => pick("Vælg en af de mulige værdier.", "Choose one of the possible values."),
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

    /// Where a meeting stands, as the public pages say it: "Tilmelding åben
    /// til 20. februar 2030", "Tilmelding lukket", "Afholdt", "Aflyst".
    #[must_use]
    pub fn public_phase(self, p: PublicPhase) -> String {
        let t = self.texts();
        match p {
            PublicPhase::Open { until } => format!("{} {}", t.phase_open_until, self.date(until)),
            PublicPhase::Closed => t.phase_closed.to_owned(),
            PublicPhase::Held => t.phase_held.to_owned(),
            PublicPhase::Cancelled => t.phase_cancelled.to_owned(),
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

    /// The name of a meeting status as stored (`"open"`), or "–" for an unknown one.
    #[must_use]
    pub fn status_named(self, stored: &str) -> &'static str {
        MeetingStatus::parse(stored).map_or("–", |s| self.status(s))
    }

    /// A person's standing on the list, in words.
    #[must_use]
    pub const fn person_status(self, s: PersonStatus) -> &'static str {
        let t = self.texts();
        match s {
            PersonStatus::Guest => t.person_guest,
            PersonStatus::Pending => t.person_pending,
            PersonStatus::Confirmed => t.person_confirmed,
            PersonStatus::Unsubscribed => t.person_unsubscribed,
            PersonStatus::Bounced => t.person_bounced,
        }
    }

    /// A person's standing as stored (`"confirmed"`), in words; "–" for an unknown one.
    #[must_use]
    pub fn person_status_named(self, stored: &str) -> &'static str {
        PersonStatus::parse(stored).map_or("–", |s| self.person_status(s))
    }

    /// Where a registration stands, in words.
    #[must_use]
    pub const fn registration_status(self, s: RegistrationStatus) -> &'static str {
        let t = self.texts();
        match s {
            RegistrationStatus::Invited => t.registration_invited,
            RegistrationStatus::Attending => t.registration_attending,
            RegistrationStatus::Declined => t.registration_declined,
            RegistrationStatus::Waitlisted => t.registration_waitlisted,
            RegistrationStatus::Cancelled => t.registration_cancelled,
        }
    }

    /// A registration's status as stored (`"attending"`), in words; "–" for an unknown one.
    #[must_use]
    pub fn registration_status_named(self, stored: &str) -> &'static str {
        RegistrationStatus::parse(stored).map_or("–", |s| self.registration_status(s))
    }

    /// Why someone who said yes waits for a seat, as a sentence.
    #[must_use]
    pub fn wait_reason(self, why: WaitReason) -> String {
        let t = self.texts();
        match why {
            WaitReason::MeetingFull => t.wait_meeting_full.to_owned(),
            WaitReason::TrackFull => t.wait_track_full.to_owned(),
            WaitReason::OrganisationQuota { limit } => format!("{} ({limit}).", t.wait_quota),
        }
    }

    /// The name of an organiser role.
    #[must_use]
    pub const fn role(self, r: Role) -> &'static str {
        let t = self.texts();
        match r {
            Role::Admin => t.role_admin,
            Role::Organiser => t.role_organiser,
            Role::Viewer => t.role_viewer,
        }
    }

    /// An organiser role as stored (`"viewer"`), in words; "–" for an unknown one.
    #[must_use]
    pub fn role_named(self, stored: &str) -> &'static str {
        Role::parse(stored).map_or("–", |r| self.role(r))
    }

    /// Where a mailing stands, from its stored state (`"scheduled"`); "–" for an unknown one.
    #[must_use]
    pub fn campaign_state(self, stored: &str) -> &'static str {
        let t = self.texts();
        match stored {
            "scheduled" => t.campaign_scheduled,
            "sending" => t.campaign_sending,
            "paused" => t.campaign_paused,
            "done" => t.campaign_done,
            "cancelled" => t.campaign_cancelled,
            "failed" => t.campaign_failed,
            _ => "–",
        }
    }

    /// Where a message in the outbox stands, from its stored status (`"queued"`).
    #[must_use]
    pub fn outbox_status(self, stored: &str) -> &'static str {
        let t = self.texts();
        match stored {
            "queued" => t.outbox_queued,
            "sending" => t.outbox_sending,
            "sent" => t.outbox_sent,
            "failed" => t.outbox_failed,
            _ => "–",
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

texts! {
    /// Every text on the pages.
    #[allow(clippy::struct_field_names)]
    pub struct Texts {
        language_name => "Dansk", "English";
        switch_label => "English", "Dansk";
        skip_to_content => "Gå til indhold", "Skip to content";
        site_tagline => "Strategisk dialog mellem kommunerne og it-leverandører og konsulenthuse",
            "Strategic dialogue between the municipalities and IT suppliers and consultancies";
        nav_label => "Hovedmenu", "Main menu";
        nav_home => "Forside", "Home";
        nav_meetings => "Møder", "Meetings";
        nav_organisers => "For arrangører", "For organisers";
        footer_about => "Dialogforum samler kommunale it-leverandører og konsulenthuse til dialog med kommunerne.",
            "Dialogforum brings municipal IT suppliers and consultancies into dialogue with the municipalities.";
        accessibility => "Tilgængelighedserklæring", "Accessibility statement";
        privacy => "Privatlivspolitik", "Privacy notice";
        secretariat => "Sekretariatet", "The secretariat";
        mail_label => "E-mail", "Email";
        phone_label => "Telefon", "Phone";
        privacy_link => "Sådan behandler vi dine oplysninger", "How we process your data";
        home_title => "Dialogforum", "Dialogforum";
        home_intro => "Dialogforum er et strategisk forum, hvor kommunerne mødes med it-leverandører og konsulenthuse om digitalisering, it-sikkerhed og den gode markedsdialog.",
            "Dialogforum is a strategic forum where the municipalities meet IT suppliers and consultancies on digitalisation, IT security and good market dialogue.";
        next_meeting => "Næste møde", "Next meeting";
        no_upcoming => "Der er ikke planlagt et nyt møde endnu.", "No new meeting has been planned yet.";
        join_call => "Vil du inviteres til møderne? Skriv dig på mailinglisten.",
            "Want to be invited to the meetings? Join the mailing list.";
        upcoming => "Kommende møder", "Upcoming meetings";
        archive => "Tidligere møder", "Past meetings";
        all_meetings => "Alle møder", "All meetings";
        meeting_number => "møde", "meeting";
        themes => "Temaer", "Themes";
        programme => "Program", "Programme";
        speakers => "Oplægsholdere", "Speakers";
        when => "Tidspunkt", "When";
        where_ => "Sted", "Where";
        format => "Form", "Format";
        virtual_meeting => "Virtuelt møde", "Virtual meeting";
        track => "Spor", "Track";
        cancelled_item => "Aflyst", "Cancelled";
        format_physical => "Fysisk møde", "In person";
        format_virtual => "Virtuelt møde", "Virtual";
        format_hybrid => "Hybridmøde", "Hybrid";
        status_draft => "Kladde", "Draft";
        status_published => "Offentliggjort", "Published";
        status_open => "Åben for tilmelding", "Open for registration";
        status_closed => "Tilmelding lukket", "Registration closed";
        status_held => "Afholdt", "Held";
        status_evaluated => "Evalueret", "Evaluated";
        status_archived => "Arkiveret", "Archived";
        status_cancelled => "Aflyst", "Cancelled";
        person_guest => "Gæst", "Guest";
        person_pending => "Venter på bekræftelse", "Awaiting confirmation";
        person_confirmed => "På listen", "On the list";
        person_unsubscribed => "Frameldt", "Left the list";
        person_bounced => "Mails kommer retur", "Mail bounces";
        registration_invited => "Inviteret, intet svar", "Invited, no answer";
        registration_attending => "Tilmeldt", "Attending";
        registration_declined => "Afbud", "Declined";
        registration_waitlisted => "På venteliste", "On the waiting list";
        registration_cancelled => "Afmeldt", "Cancelled";
        role_admin => "Administrator", "Administrator";
        role_organiser => "Arrangør", "Organiser";
        role_viewer => "Læser", "Viewer";
        campaign_scheduled => "planlagt", "scheduled";
        campaign_sending => "sender", "sending";
        campaign_paused => "på pause", "paused";
        campaign_done => "færdig", "done";
        campaign_cancelled => "aflyst", "cancelled";
        campaign_failed => "fejlet", "failed";
        outbox_queued => "I kø", "Queued";
        outbox_sending => "Sendes", "Sending";
        outbox_sent => "Sendt", "Sent";
        outbox_failed => "Fejlet", "Failed";
        phase_open_until => "Tilmelding åben til", "Registration open until";
        phase_closed => "Tilmelding lukket", "Registration closed";
        phase_held => "Afholdt", "Held";
        phase_cancelled => "Aflyst", "Cancelled";
        add_to_calendar => "Tilføj til kalender", "Add to calendar";
        months: [&'static str; 12] => [
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
            [
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
        ];
        login_title => "Log ind som arrangør", "Organiser sign-in";
        email => "E-mailadresse", "Email address";
        password => "Adgangskode", "Password";
        log_in => "Log ind", "Sign in";
        log_out => "Log ud", "Sign out";
        login_failed => "E-mailadressen eller adgangskoden er forkert.",
            "The email address or the password is wrong.";
        dashboard_title => "Overblik", "Overview";
        meetings => "Møder", "Meetings";
        people => "Personer", "People";
        mail_queue => "Udgående post", "Outgoing mail";
        count => "Antal", "Count";
        status => "Status", "Status";
        signed_in_as => "Logget ind som", "Signed in as";
        not_found_title => "Siden findes ikke", "Page not found";
        not_found_text => "Vi kan ikke finde den side, du leder efter. Måske er linket forældet.",
            "We cannot find the page you are looking for. The link may be out of date.";
        error_title => "Der skete en fejl", "Something went wrong";
        error_text => "Noget gik galt hos os. Prøv igen om lidt. Fejlen er registreret.",
            "Something went wrong on our side. Please try again shortly. The error has been logged.";
        unavailable_title => "Tjenesten er midlertidigt utilgængelig", "Temporarily unavailable";
        unavailable_text => "Vi kan ikke svare lige nu. Prøv igen om et øjeblik.",
            "We cannot answer right now. Please try again in a moment.";
        forbidden_title => "Adgang nægtet", "Access denied";
        forbidden_text => "Du har ikke adgang til denne side.", "You do not have access to this page.";
        bad_request_title => "Forespørgslen kunne ikke behandles", "The request could not be processed";
        back_home => "Til forsiden", "Back to the home page";
        accessibility_title => "Tilgængelighedserklæring", "Accessibility statement";
        demo_notice => "Demodata: mødehistorikken er hentet fra forummets offentlige side; personerne er opdigtede.",
            "Demo data: the meeting history is taken from the forum's public page; the people are fictional.";
        subscribe_title => "Tilmeld dig mailinglisten", "Join the mailing list";
        subscribe_intro => "Få invitationer til Dialogforums møder og nyt fra forummet. Du bekræfter din tilmelding via et link, vi sender til dig.",
            "Get invitations to Dialogforum's meetings and news from the forum. You confirm your sign-up through a link we send you.";
        name => "Navn", "Name";
        organisation => "Organisation", "Organisation";
        organisation_hint => "Virksomhed eller organisation, fx Nordlys IT A/S.",
            "Company or organisation, e.g. Nordlys IT A/S.";
        interests_legend => "Hvad interesserer dig? (valgfrit)", "What interests you? (optional)";
        consent_label => "Ja, jeg vil gerne modtage invitationer og nyt fra Dialogforum. Mit navn, min e-mailadresse, min organisation og mine interesser bruges kun til det, og jeg kan altid framelde mig med ét klik i hver mail.",
            "Yes, I want to receive invitations and news from Dialogforum. My name, email address, organisation and interests are used only for that, and I can always leave with one click in every mail.";
        subscribe_button => "Tilmeld mig", "Sign me up";
        errors_heading => "Ret venligst følgende", "Please correct the following";
        consent_required => "Sæt kryds, hvis du vil på listen.", "Tick the box if you want to join the list.";
        check_mail_title => "Tjek din indbakke", "Check your inbox";
        check_mail_text => "Hvis adressen kan tilmeldes, har vi sendt en mail med et link. Åbn linket og bekræft for at komme på listen. Kommer mailen ikke, så tjek spamfilteret.",
            "If the address can be signed up, we have sent a mail with a link. Open the link and confirm to join the list. If the mail does not arrive, check your spam filter.";
        confirm_title => "Bekræft din tilmelding", "Confirm your sign-up";
        confirm_text => "Tryk på knappen for at bekræfte, at du vil på Dialogforums mailingliste.",
            "Press the button to confirm that you want to join the Dialogforum mailing list.";
        confirm_button => "Bekræft tilmeldingen", "Confirm the sign-up";
        confirmed_title => "Du er nu på listen", "You are now on the list";
        confirmed_text => "Tak. Du får invitationer til de kommende møder. Du kan altid framelde dig med ét klik i hver mail.",
            "Thank you. You will receive invitations to the coming meetings. You can always leave with one click in every mail.";
        already_confirmed_title => "Allerede bekræftet", "Already confirmed";
        already_confirmed_text => "Dette link er allerede brugt, og intet er ændret. Vil du ændre dine oplysninger, kan du bede om et link til din side.",
            "This link has been used already, and nothing was changed. To change your details, ask for a link to your page.";
        link_expired_title => "Linket er udløbet", "The link has expired";
        link_expired_text => "Linket er for gammelt. Tilmeld dig igen, så sender vi et nyt.",
            "The link is too old. Sign up again and we will send a new one.";
        link_invalid_title => "Linket virker ikke", "The link does not work";
        link_invalid_text => "Linket er ukendt eller allerede brugt. Kopier hele linket fra mailen, eller bed om et nyt.",
            "The link is unknown or already used. Copy the whole link from the mail, or ask for a new one.";
        unsubscribe_title => "Frameld mailinglisten", "Leave the mailing list";
        unsubscribe_text => "Tryk på knappen for at blive fjernet fra Dialogforums mailingliste. Du får derefter ingen flere mails fra listen.",
            "Press the button to be removed from the Dialogforum mailing list. You will get no more mails from the list.";
        unsubscribe_button => "Frameld mig", "Remove me";
        unsubscribed_title => "Du er frameldt", "You have left the list";
        unsubscribed_text => "Du får ikke flere mails fra Dialogforums mailingliste. Fortryder du, kan du tilmelde dig igen.",
            "You will get no more mails from the Dialogforum mailing list. If you change your mind, you can sign up again.";
        too_many_title => "For mange forsøg", "Too many attempts";
        too_many_text => "Der er kommet for mange forespørgsler fra din forbindelse. Prøv igen om en time.",
            "Too many requests came from your connection. Please try again in an hour.";
        nav_subscribe => "Tilmeld", "Sign up";
        required => "obligatorisk", "required";
        profile_request_title => "Se og ret dine oplysninger", "See and change your details";
        profile_request_intro => "Skriv din e-mailadresse, så sender vi dig et personligt link. Med linket kan du rette dine oplysninger, hente alt, hvad vi har om dig, eller slette dig.",
            "Enter your email address and we will send you a personal link. With it you can change your details, download everything we hold about you, or erase it.";
        profile_request_button => "Send mig linket", "Send me the link";
        profile_sent_title => "Tjek din indbakke", "Check your inbox";
        profile_sent_text => "Hvis adressen er på listen, har vi sendt en mail med et link til dine oplysninger. Kommer mailen ikke, så tjek spamfilteret.",
            "If the address is on the list, we have sent a mail with a link to your details. If the mail does not arrive, check your spam filter.";
        profile_title => "Dine oplysninger", "Your details";
        profile_intro => "Her kan du se og rette det, Dialogforum har om dig, hente det hele eller slette dig.",
            "Here you can see and change what Dialogforum holds about you, download all of it, or erase it.";
        profile_language_legend => "Sprog i mails og på siderne", "Language of mails and pages";
        profile_save_button => "Gem ændringerne", "Save the changes";
        profile_saved => "Dine ændringer er gemt.", "Your changes are saved.";
        profile_status_pending => "Tilmeldt, venter på din bekræftelse", "Signed up, waiting for your confirmation";
        profile_status_confirmed => "På mailinglisten", "On the mailing list";
        profile_status_unsubscribed => "Frameldt mailinglisten", "Left the mailing list";
        profile_status_bounced => "Frameldt, fordi mails til adressen kom retur",
            "Off the list, because mail to the address came back";
        profile_status_guest => "Gæst, ikke på mailinglisten", "Guest, not on the mailing list";
        data_title => "Hent dine data", "Download your data";
        data_text => "Se eller hent alt, hvad vi har om dig: dine oplysninger, dine samtykker, dine tilmeldinger til møder, de mails, vi har sendt dig, og loggen over, hvad der er gjort med dine data.",
            "See or download everything we hold about you: your details, your consents, your registrations for meetings, the mails we sent you, and the log of what was done with your data.";
        data_link => "Hent mine data (JSON)", "Download my data (JSON)";
        data_page_link => "Se mine data", "See my data";
        data_csv_link => "Hent mine data som regneark (CSV)", "Download my data as a spreadsheet (CSV)";
        erase_title => "Slet dig", "Erase your data";
        erase_text => "Vi sletter dit navn, din adresse, dine samtykker, dine tilmeldinger og alt, hvad du har skrevet til os, og du får ingen flere mails. Det kan ikke fortrydes. Tilbage bliver kun loggen over, hvad der er sket, uden navn og adresse.",
            "We erase your name, your address, your consents, your registrations and everything you wrote to us, and you get no more mail. This cannot be undone. Only the log of what happened remains, without name or address.";
        erase_confirm_label => "Ja, slet alle mine oplysninger", "Yes, erase all my data";
        erase_button => "Slet mine oplysninger", "Erase my data";
        erase_confirm_required => "Sæt kryds for at bekræfte, at alt skal slettes.",
            "Tick the box to confirm that everything is to be erased.";
        erased_title => "Dine oplysninger er slettet", "Your data has been erased";
        erased_text => "Vi har slettet dit navn, din adresse og alt andet, vi havde om dig. Du får ingen flere mails fra Dialogforum.",
            "We have erased your name, your address and everything else we held about you. You will get no more mail from Dialogforum.";
        profile_link_invalid_text => "Linket er ukendt eller udløbet. Bed om et nyt link til dine oplysninger.",
            "The link is unknown or has expired. Ask for a new link to your details.";
        profile_language_required => "Vælg dansk eller engelsk.", "Choose Danish or English.";
        wait_meeting_full => "Mødet er fuldt.", "The meeting is full.";
        wait_track_full => "Det spor, du har valgt, er fuldt.", "The track you chose is full.";
        wait_quota => "Din organisation har nået grænsen for antal pladser pr. organisation",
            "Your organisation has reached the limit of seats per organisation";
    }
}

/// Why an address may not be added: said to the organiser who tried, in the
/// import report and the API's problem detail.
impl Lang {
    /// Why an address in `s` cannot be put on the list by anyone but its owner.
    #[must_use]
    pub const fn suppression(self, s: Suppression) -> &'static str {
        match (self, s) {
            (Self::Da, Suppression::Unsubscribed) => {
                "adressen har bedt om ikke at blive kontaktet (den har forladt listen); \
                 kun personens egen bekræftede tilmelding kan sætte den på igen"
            }
            (Self::En, Suppression::Unsubscribed) => {
                "the address has asked not to be contacted (it left the list); \
                 only the person's own confirmed sign-up can put it back"
            }
            (Self::Da, Suppression::Erased) => {
                "adressens oplysninger er slettet, og den må ikke tilføjes igen; \
                 kun personens egen bekræftede tilmelding kan sætte den på igen"
            }
            (Self::En, Suppression::Erased) => {
                "the address was erased and may not be added again; \
                 only the person's own confirmed sign-up can put it back"
            }
        }
    }

    /// What stands in place of a breakdown group with fewer than `minimum` answers.
    #[must_use]
    pub fn hidden_group(self, minimum: u32) -> String {
        match self {
            Self::Da => format!("skjult: færre end {minimum} svar"),
            Self::En => format!("hidden: fewer than {minimum} answers"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_is_said_in_each_language_and_not_in_the_other() {
        let all = [
            ParseError::TooLong { max: 300 },
            ParseError::ControlCharacter,
            ParseError::InvisibleCharacter,
            ParseError::NoName,
            ParseError::Email,
            ParseError::Key,
            ParseError::DuplicateKey,
            ParseError::NoDanishText,
            ParseError::TooFewOptions,
            ParseError::DuplicateOptionKey,
            ParseError::PasswordTooShort { min: 12 },
            ParseError::PasswordTooLong,
            ParseError::Unhashable,
            ParseError::Unknown("format must be physical, virtual or hybrid"),
        ];
        for e in all {
            let (da, en) = (Lang::Da.refused(e), Lang::En.refused(e));
            assert_ne!(da, en, "{e:?}");
            assert!(da.ends_with('.') && en.ends_with('.'), "{da} / {en}");
            for word in [" the ", " must ", " a "] {
                assert!(!da.contains(word), "English in the Danish message: {da}");
            }
            for word in [" skal ", " må ", " en ", " et "] {
                assert!(!en.contains(word), "Danish in the English message: {en}");
            }
        }
    }
}
