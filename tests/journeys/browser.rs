//! The pages in a real browser: headless Chromium driven through ChromeDriver
//! (WebDriver), on both engines. The main journeys are done by keyboard only —
//! Tab to move, typing, Enter or Space to press — and every page on the way is
//! checked with axe-core for the WCAG 2.1 A and AA rules (zero violations),
//! for a visible focus indicator, for `lang`, and for reflow at 320 CSS pixels.
//!
//! Needs `chromium` and `chromedriver` on the PATH (Debian's `chromium` and
//! `chromium-driver`) and axe-core in `tests/browser/node_modules` (`npm ci
//! --prefix tests/browser`); `.ci/run` and `scripts/test` provide both. With
//! `DIALOGFORUM_SCREENSHOT_DIR` set, the organiser tour saves a PNG of each of
//! its pages there (the README's screenshots come from that).

use crate::common;
use crate::common::PostForm as _;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::smtp::{Received, SmtpServer};
use common::{Engine, TestApp};
use dialogforum::domain::Role;
use fantoccini::actions::InputSource as _;
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// The axe-core rule tags the pages must pass.
const AXE_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// A headless Chromium under a ChromeDriver of its own, and axe-core's source.
struct Browser {
    driver: Child,
    client: Client,
    axe: String,
    /// Pages checked so far, for the failure messages.
    checked: Vec<String>,
}

impl Browser {
    async fn start() -> Self {
        let axe_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/axe-core/axe.min.js");
        let axe = std::fs::read_to_string(&axe_path).unwrap_or_else(|e| {
            panic!("axe-core is missing at {} ({e}): run `npm ci --prefix tests/browser`", axe_path.display())
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver) on the PATH");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=1280,900", "--lang=da"]}),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
                Ok(client) => return Self { driver, client, axe, checked: Vec::new() },
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no WebDriver session: {last:?}");
    }

    async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    async fn text(&self) -> String {
        self.js("return document.body.innerText;", vec![]).await.as_str().unwrap_or_default().to_owned()
    }

    /// Runs axe-core on the page and fails on any violation of the WCAG 2.1
    /// A/AA rules; also checks `lang` and that the page reflows at 320 px.
    async fn check(&mut self, expect_lang: &str) {
        let path = self.path().await;
        self.checked.push(path.clone());
        self.js(&self.axe.clone(), vec![]).await;
        let script = "const done = arguments[arguments.length - 1];\
            axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})\
              .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,\
                 nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}))))\
              .catch(e => done([{id: 'axe-error', help: String(e), nodes: []}]));";
        let violations = self.client.execute_async(script, vec![json!(AXE_TAGS)]).await.expect("axe.run");
        let list = violations.as_array().cloned().unwrap_or_default();
        assert!(list.is_empty(), "axe found {} violation(s) on {path}:\n{}", list.len(), pretty(&violations));
        let lang = self.js("return document.documentElement.lang;", vec![]).await;
        assert_eq!(lang.as_str(), Some(expect_lang), "lang of {path}");

        // Reflow (WCAG 1.4.10): at 320 CSS pixels nothing scrolls sideways.
        self.client.set_window_size(320, 800).await.unwrap();
        let overflow = self
            .js(
                "const w = document.documentElement.clientWidth;\
                 const wide = [...document.querySelectorAll('body *')]\
                   .filter(e => e.getBoundingClientRect().right > w + 1)\
                   .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''));\
                 return {by: document.documentElement.scrollWidth - w, wide: wide.slice(0, 8)};",
                vec![],
            )
            .await;
        self.client.set_window_size(1280, 900).await.unwrap();
        assert!(overflow["by"].as_i64().unwrap_or(0) <= 0, "{path} scrolls sideways at 320 px: {overflow}");
    }

    /// Opens `url` and checks the page there, in `lang`.
    async fn visit(&mut self, url: &str, lang: &str) {
        self.goto(url).await;
        self.check(lang).await;
    }

    /// Presses the button or link `css` and checks the page it leads to, in `lang`.
    async fn follow(&mut self, css: &str, lang: &str) {
        self.press(css).await;
        self.check(lang).await;
    }

    /// Presses Tab until the element matching `css` has the focus, and checks
    /// that the focus is visible there. Fails if it is not reachable.
    async fn tab_to(&self, css: &str) -> Element {
        let target = self.client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("no {css} on the page"));
        for _ in 0..400 {
            let active = self.client.active_element().await.unwrap();
            if active.element_id() == target.element_id() {
                self.assert_focus_visible(css).await;
                return active;
            }
            active.send_keys(&Key::Tab.to_string()).await.unwrap();
        }
        panic!("{css} cannot be reached with the Tab key");
    }

    /// The focused element shows an outline or a shadow (WCAG 2.4.7).
    async fn assert_focus_visible(&self, what: &str) {
        let visible = self
            .js(
                "const s = getComputedStyle(document.activeElement);\
                 return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';",
                vec![],
            )
            .await;
        assert_eq!(visible, json!(true), "the focus on {what} is not visible");
    }

    /// Tabs to the field and types into it.
    async fn type_into(&self, css: &str, text: &str) {
        let el = self.tab_to(css).await;
        el.send_keys(text).await.unwrap();
    }

    /// Tabs to a button or link and presses Enter, waiting for the next page.
    async fn press(&self, css: &str) {
        let el = self.tab_to(css).await;
        let before = self.js("return performance.timeOrigin;", vec![]).await;
        el.send_keys(&Key::Enter.to_string()).await.unwrap();
        self.wait_for_new_page(&before).await;
    }

    /// Tabs to a checkbox and presses Space.
    async fn tick(&self, css: &str) {
        let el = self.tab_to(css).await;
        el.send_keys(" ").await.unwrap();
        let checked = el.prop("checked").await.unwrap();
        assert_eq!(checked.as_deref(), Some("true"), "{css} is ticked by Space");
    }

    async fn wait_for_new_page(&self, before: &Value) {
        for _ in 0..100 {
            let now = self.client.execute("return performance.timeOrigin;", vec![]).await;
            if let Ok(now) = now
                && &now != before
                && self.js("return document.readyState;", vec![]).await == json!("complete")
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new page after pressing Enter");
    }

    /// The checkbox `#id` and the text of its label sit on one line, the text
    /// to the right of the box (not detached above or below it).
    async fn assert_beside(&self, id: &str) {
        let boxes = self
            .js(
                "const b = document.getElementById(arguments[0]).getBoundingClientRect();\
                 const l = document.querySelector(`label[for='${arguments[0]}']`).getBoundingClientRect();\
                 return {box_top: b.top, box_height: b.height, box_right: b.right, label_top: l.top, label_left: l.left};",
                vec![json!(id)],
            )
            .await;
        let f = |k: &str| boxes[k].as_f64().unwrap_or(f64::NAN);
        let same_line = (f("box_top") - f("label_top")).abs() < f("box_height");
        assert!(same_line && f("label_left") >= f("box_right"), "#{id} and its label are apart: {boxes}");
    }

    /// Signs in on the login page the browser shows, by keyboard.
    async fn sign_in(&self, email: &str) {
        self.type_into("#email", email).await;
        self.type_into("#password", "a long enough password").await;
        self.press("form[action='/login'] button[type='submit']").await;
    }

    /// Saves a screenshot when `DIALOGFORUM_SCREENSHOT_DIR` is set.
    async fn screenshot(&self, name: &str) {
        if let Ok(dir) = std::env::var("DIALOGFORUM_SCREENSHOT_DIR") {
            let png = self.client.screenshot().await.unwrap();
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), png).unwrap();
        }
    }

    async fn stop(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The first link in the mail's text part whose path starts with `prefix`,
/// pointed at the running app.
fn link(app: &TestApp, m: &Received, prefix: &str) -> String {
    let parsed = mail_parser::MessageParser::default().parse(&m.data).expect("MIME");
    let text = parsed.body_text(0).expect("a text part").into_owned();
    let at = text.find(prefix).unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
    let path = text[at..].split_whitespace().next().unwrap();
    format!("{}{path}", app.base)
}

async fn the_public_pages_pass_axe_in_danish_and_english(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    dialogforum::demo::load(app.store(), jiff::civil::date(2026, 11, 27)).await.unwrap();
    let mut b = Browser::start().await;
    for path in ["/", "/meetings", "/meetings/16", "/subscribe", "/accessibility", "/me", "/login", "/no/such/page"] {
        b.visit(&format!("{}{path}", app.base), "da").await;
    }
    // The language switch is on every page and keeps the reader where they were.
    b.goto(&format!("{}/meetings", app.base)).await;
    b.press("a[hreflang='en']").await;
    assert_eq!(b.path().await, "/meetings");
    for path in ["/meetings", "/meetings/16", "/subscribe", "/accessibility"] {
        b.visit(&format!("{}{path}", app.base), "en").await;
    }
    // The accessibility statement is linked from the footer of every page.
    assert!(b.client.find(Locator::Css("footer a[href='/accessibility']")).await.is_ok());
    b.stop().await;
    app.stop().await;
}
both_engines!(the_public_pages_pass_axe_in_danish_and_english);

async fn joining_the_list_by_keyboard_alone(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    let mut b = Browser::start().await;
    b.goto(&format!("{}/subscribe", app.base)).await;
    b.assert_beside("consent").await;

    // A first try without consent comes back with the message linked to the field.
    b.type_into("#name", "Åse Øster").await;
    b.type_into("#email", "aase@fjordkode.example").await;
    b.press("form[action='/subscribe'] button[type='submit']").await;
    assert!(b.text().await.contains("samtykke") || b.text().await.contains("Sæt kryds"), "{}", b.text().await);
    b.check("da").await;
    let described = b.js("return document.getElementById('consent').getAttribute('aria-describedby');", vec![]).await;
    assert_eq!(described, json!("consent-error"), "the error is tied to its field");
    b.assert_beside("consent").await;
    // The error summary's link takes the keyboard to the field.
    let link_el = b.tab_to(".error-summary a[href='#consent']").await;
    link_el.send_keys(&Key::Enter.to_string()).await.unwrap();
    let focused = b.js("return document.activeElement.id;", vec![]).await;
    assert_eq!(focused, json!("consent"), "the summary's link moves the focus to the field");

    b.type_into("#organisation", "Fjordkode ApS").await;
    b.tick("#interest-cybersecurity").await;
    b.tick("#consent").await;
    b.press("form[action='/subscribe'] button[type='submit']").await;
    assert!(b.text().await.contains("Tjek din indbakke"), "{}", b.text().await);
    b.check("da").await;

    let mail = smtp.wait_for(1, 10).await;
    let confirm = link(&app, &mail[0], "/confirm/");
    b.visit(&confirm, "da").await;
    b.press("main form button[type='submit']").await;
    assert!(b.text().await.contains("Du er nu på listen"), "{}", b.text().await);
    b.check("da").await;

    // Asking for the profile link, then changing the organisation there.
    b.goto(&format!("{}/me", app.base)).await;
    b.type_into("#email", "aase@fjordkode.example").await;
    b.follow("form[action='/me'] button[type='submit']", "da").await;
    let mail = smtp.wait_for(2, 10).await;
    let profile = link(&app, &mail[1], "/me/");
    b.visit(&profile, "da").await;
    let org = b.tab_to("#organisation").await;
    org.clear().await.unwrap();
    org.send_keys("Fjordkode og Søn ApS").await.unwrap();
    b.follow("form[action^='/me/'] button[type='submit']", "da").await;
    let value = b.js("return document.getElementById('organisation').value;", vec![]).await;
    assert_eq!(value, json!("Fjordkode og Søn ApS"));
    // One's own data as a page, reached by keyboard from the profile.
    b.press(&format!("a[href='{}/data']", profile.trim_start_matches(&app.base))).await;
    assert!(b.text().await.contains("Dine oplysninger"), "{}", b.text().await);
    b.check("da").await;
    b.goto(&profile).await;

    // Erasing oneself needs the box ticked: the refusal is announced by the field.
    b.follow("form[action$='/erase'] button[type='submit']", "da").await;
    let described = b.js("return document.getElementById('confirm').getAttribute('aria-describedby');", vec![]).await;
    assert_eq!(described, json!("confirm-error"));
    b.assert_beside("confirm").await;
    b.stop().await;
    app.stop().await;
}
both_engines!(joining_the_list_by_keyboard_alone);

/// Creates and publishes a meeting through the API and invites one guest;
/// returns the meeting id and the RSVP link from the invitation mail.
async fn invited_guest(app: &TestApp, smtp: &SmtpServer, token: &str) -> (String, String) {
    let body = json!({
        "title": "Dialogforum 40: AI i den offentlige sektor", "number": 40,
        "starts_at": "2030-03-01T09:00:00+01:00", "ends_at": "2030-03-01T12:00:00+01:00",
        "format": "physical", "venue": "KL-huset, Weidekampsgade 10, København S", "capacity": 60,
        "tracks": [{"key": "ai", "title": "Kunstig intelligens"}, {"key": "sikkerhed", "title": "Cybersikkerhed"}]
    });
    let m: Value = app.api(token).post("/meetings", &body).await.json().await.unwrap();
    let id = m["id"].as_str().expect("a meeting id").to_owned();
    let res = app.api(token).act(&format!("/meetings/{id}/publish")).await;
    assert_eq!(res.status(), 200);
    let invite = json!({"audience": {"all": true},
                        "guests": [{"email": "mette@nordlys-it.example", "name": "Mette Bæk", "organisation": "Nordlys IT A/S"}]});
    let res = app.api(token).post(&format!("/meetings/{id}/invitations"), &invite).await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    let invitation = smtp.wait_for_mail("invitation to the guest", |m| m.to == ["mette@nordlys-it.example"]).await;
    (id, link(app, &invitation, "/rsvp/"))
}

async fn answering_an_invitation_by_keyboard_alone(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "sekretariat@kl.example").await;
    let (_, rsvp) = invited_guest(&app, &smtp, &token).await;
    let mut b = Browser::start().await;
    b.visit(&rsvp, "da").await;
    b.assert_beside("list_organisation").await;
    b.tick("#answer-yes").await;
    // A radio group is one Tab stop; the arrow keys choose within it.
    b.tick("#track-ai").await;
    b.client.active_element().await.unwrap().send_keys(&Key::Down.to_string()).await.unwrap();
    let chosen = b.js("return document.querySelector('input[name=track]:checked').id;", vec![]).await;
    assert_eq!(chosen, json!("track-sikkerhed"));
    b.type_into("#diet", "Vegetar").await;
    b.press("form[action^='/rsvp/'] button[type='submit']").await;
    let text = b.text().await;
    assert!(text.contains("plads") || text.contains("tilmeldt"), "{text}");
    b.check("da").await;
    b.stop().await;
    app.stop().await;
}
both_engines!(answering_an_invitation_by_keyboard_alone);

async fn an_organiser_signs_in_checks_someone_in_and_every_workspace_page_passes(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    dialogforum::demo::load(app.store(), jiff::civil::date(2026, 11, 27)).await.unwrap();
    let token = common::api_token(&app, "sekretariat@kl.example", Role::Admin).await;
    let (meeting, rsvp) = invited_guest(&app, &smtp, &token).await;
    let res = app.http.post_form(&rsvp, &[("answer", "yes"), ("track", "ai")]).await;
    assert_eq!(res.status(), 200);

    let mut b = Browser::start().await;
    b.goto(&format!("{}/admin", app.base)).await;
    assert_eq!(b.path().await.split('?').next(), Some("/login"), "the workspace asks for a login");
    b.check("da").await;
    b.sign_in("sekretariat@kl.example").await;
    assert_eq!(b.path().await, "/admin");

    // Every page of the workspace, with a screenshot of the main ones.
    let meetings: Value = app.api(&token).get("/meetings").await.json().await.unwrap();
    let past = meetings["items"].as_array().unwrap().iter().find(|m| m["number"] == 16).expect("demo meeting 16")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A file waiting for release, so the meeting's report page offers it.
    let mut tx = app.store().begin().await.unwrap();
    let id: dialogforum::domain::MeetingId = meeting.parse().unwrap();
    dialogforum::store::materials::insert_material(&mut tx, id, "Program.pdf", "application/pdf", b"%PDF-1.7")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // The past meeting's report changed and approved: its page offers publication.
    let report = json!({"sections": [{"title": "Velkomst", "body": "Tak for **sidst**."}]});
    assert_eq!(app.api(&token).put(&format!("/meetings/{past}/report"), &report).await.status(), 200);
    assert_eq!(app.api(&token).act(&format!("/meetings/{past}/report/approve")).await.status(), 200);
    let pages = [
        ("/admin".to_owned(), Some("dashboard")),
        ("/admin/meetings".to_owned(), None),
        ("/admin/meetings/new".to_owned(), None),
        (format!("/admin/meetings/{meeting}"), Some("meeting")),
        (format!("/admin/meetings/{meeting}/invitations"), Some("invitations")),
        (format!("/admin/meetings/{meeting}/registrations"), None),
        (format!("/admin/meetings/{meeting}/waitlist"), None),
        (format!("/admin/meetings/{meeting}/evaluation"), None),
        (format!("/admin/meetings/{past}/evaluation/results"), Some("evaluation-results")),
        (format!("/admin/meetings/{past}/evaluation/texts"), None),
        (format!("/admin/meetings/{past}/report"), Some("report")),
        (format!("/admin/meetings/{meeting}/report"), None),
        ("/admin/evaluations".to_owned(), None),
        ("/admin/year?from=2020-01-01&to=2026-12-31".to_owned(), Some("annual-picture")),
        ("/admin/year?from=2026-12-31&to=2026-01-01".to_owned(), None),
        ("/admin/campaigns".to_owned(), None),
        ("/admin/people".to_owned(), Some("people")),
        ("/admin/organisations".to_owned(), None),
        ("/admin/interests".to_owned(), None),
        ("/admin/exports".to_owned(), Some("exports")),
        ("/admin/audit".to_owned(), Some("audit")),
        ("/admin/users".to_owned(), None),
        ("/admin/tokens".to_owned(), None),
        ("/admin/password".to_owned(), None),
    ];
    for (path, shot) in pages {
        b.visit(&format!("{}{path}", app.base), "da").await;
        if let Some(name) = shot {
            b.screenshot(name).await;
        }
    }

    // A refused question comes back with its message by the field.
    b.goto(&format!("{}/admin/meetings/{meeting}/evaluation", app.base)).await;
    b.type_into("#new-key", "Ugyldig nøgle").await;
    b.press("form[action$='/evaluation/questions'] button[type='submit']").await;
    assert!(b.client.find(Locator::Css("#new-key-error")).await.is_ok(), "the error is by the field");
    b.check("da").await;

    // Check-in at the door on a phone: a search without Danish letters, in
    // capitals, finds "Mette Bæk", whose button is in view without
    // scrolling; then one key press on it.
    b.visit(&format!("{}/admin/meetings/{meeting}/checkin", app.base), "da").await;
    b.client.set_window_size(390, 844).await.unwrap();
    b.type_into("#q", "METTE BAEK").await;
    b.press("form.search button[type='submit']").await;
    let in_view = b
        .js(
            "const r = document.querySelector(\"button[aria-label$='Mette Bæk']\").getBoundingClientRect(); \
             return r.bottom <= window.innerHeight && r.top >= 0;",
            vec![],
        )
        .await;
    assert_eq!(in_view, json!(true), "the first person found is in view on a phone");
    b.press("button[aria-label$='Mette Bæk']").await;
    let registrations: Value =
        app.api(&token).get(&format!("/meetings/{meeting}/registrations")).await.json().await.unwrap();
    let mette = registrations["items"].as_array().unwrap().iter().find(|r| r["name"] == "Mette Bæk").unwrap();
    assert!(mette["checked_in_at"].is_string(), "checked in: {mette}");
    b.check("da").await;
    b.screenshot("checkin").await;
    b.stop().await;
    app.stop().await;
}
both_engines!(an_organiser_signs_in_checks_someone_in_and_every_workspace_page_passes);

async fn evaluation_results_by_track_pass_axe_in_danish_and_english(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[("evaluation.breakdown_minimum", "3")]).await;
    let token = common::api_token(&app, "sekretariat@kl.example", Role::Organiser).await;
    let (meeting, _) = crate::lawful::answered_in_tracks(&app, &smtp, &token).await;
    let mut b = Browser::start().await;
    b.goto(&format!("{}/admin", app.base)).await;
    b.sign_in("sekretariat@kl.example").await;
    let results = format!("{}/admin/meetings/{meeting}/evaluation/results", app.base);
    b.goto(&results).await;
    assert!(b.text().await.contains("skjult: færre end 3 svar"));
    b.check("da").await;
    b.press("a[hreflang='en']").await;
    b.goto(&results).await;
    assert!(b.text().await.contains("hidden: fewer than 3 answers"));
    b.check("en").await;
    // The free-text answers held back for reading, with a release button each.
    let organiser = app.sign_in("sekretariat@kl.example").await;
    let texts = format!("/admin/meetings/{meeting}/evaluation/texts");
    assert_eq!(organiser.post(&format!("{texts}/hold"), &[("hold", "yes")]).await.status(), 303);
    b.goto(&format!("{}{texts}", app.base)).await;
    assert!(b.text().await.contains("Comment number 1") || b.text().await.contains("Kommentar nummer 1"));
    b.check("en").await;
    b.press("a[hreflang='da']").await;
    b.visit(&format!("{}{texts}", app.base), "da").await;
    b.stop().await;
    app.stop().await;
}
both_engines!(evaluation_results_by_track_pass_axe_in_danish_and_english);

async fn the_unsubscribe_page_and_an_expired_link_pass_axe(engine: Engine) {
    use dialogforum::domain::{Email, Name, PersonStatus, Token, TokenPurpose};
    use dialogforum::store::people::{NewPerson, insert_person_if_new};
    use dialogforum::store::tokens::{NewLinkToken, insert_link_tokens};
    let app = TestApp::spawn(engine).await;
    let mut tx = app.store().begin().await.unwrap();
    let p = NewPerson {
        email: Email::parse("jens@groenkode.example").unwrap(),
        name: Name::parse("Jens Ørum").unwrap(),
        organisation: Some(Name::parse("Grøn Kode ApS").unwrap()),
        status: PersonStatus::Confirmed,
        interests: vec![],
    };
    let (person, _) = insert_person_if_new(&mut tx, &p, None).await.unwrap();
    let (leave, stale) = (Token::generate(), Token::generate());
    let yesterday = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24);
    insert_link_tokens(
        &mut tx,
        &[
            NewLinkToken {
                hash: leave.hash(),
                purpose: TokenPurpose::Unsubscribe,
                person: Some(person),
                registration: None,
                expires_at: None,
            },
            NewLinkToken {
                hash: stale.hash(),
                purpose: TokenPurpose::Profile,
                person: Some(person),
                registration: None,
                expires_at: Some(yesterday),
            },
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut b = Browser::start().await;
    b.visit(&format!("{}/me/{}", app.base, stale.expose()), "da").await;
    b.visit(&format!("{}/unsubscribe/{}", app.base, leave.expose()), "da").await;
    b.follow("main form button[type='submit']", "da").await;
    assert_eq!(app.store().person_contact(person).await.unwrap().2, PersonStatus::Unsubscribed);
    b.stop().await;
    app.stop().await;
}
both_engines!(the_unsubscribe_page_and_an_expired_link_pass_axe);

/// Moves a meeting into the past, as if it had been held.
async fn hold(app: &TestApp, meeting: &str) {
    let (start, end) = (
        jiff::Timestamp::now() - jiff::SignedDuration::from_hours(5),
        jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2),
    );
    let sql = "update meeting set starts_at = $1, ends_at = $2, registration_deadline = null where id = $3";
    let (start, end) = (dialogforum::store::db_time(start), dialogforum::store::db_time(end));
    let id: uuid::Uuid = meeting.parse().unwrap();
    on_db!(app.db, |pool| {
        sqlx::query(sql).bind(start).bind(end).bind(id).execute(&pool).await.unwrap();
    });
}

async fn answering_an_evaluation_by_keyboard_alone(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "sekretariat@kl.example").await;
    let (meeting, rsvp) = invited_guest(&app, &smtp, &token).await;
    let res = app.http.post_form(&rsvp, &[("answer", "yes"), ("track", "ai")]).await;
    assert_eq!(res.status(), 200);
    hold(&app, &meeting).await;
    let res = app.api(&token).post(&format!("/meetings/{meeting}/evaluation/send"), &json!({})).await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    let to_attendee = |m: &Received| m.to == ["mette@nordlys-it.example"] && m.text().contains("/evaluation/");
    let mail = smtp.wait_for_mail("evaluation mail to the attendee", to_attendee).await;
    let evaluation = link(&app, &mail, "/evaluation/");

    let mut b = Browser::start().await;
    b.visit(&evaluation, "da").await;
    b.assert_beside("contact_me").await;
    // A rating is a radio group: Tab into it, then the arrow keys.
    b.tick("#q-overall-1").await;
    for _ in 0..3 {
        b.client.active_element().await.unwrap().send_keys(&Key::Right.to_string()).await.unwrap();
    }
    let chosen = b.js("return document.querySelector('input[name=q-overall]:checked').value;", vec![]).await;
    assert_eq!(chosen, json!("4"));
    b.type_into("#q-next_themes", "Grøn it og indkøb").await;
    b.follow("form.evaluation button[type='submit']", "da").await;
    assert!(b.client.find(Locator::Css("[role='status']")).await.is_ok(), "the thanks are announced");
    let results: Value =
        app.api(&token).get(&format!("/meetings/{meeting}/evaluation/results")).await.json().await.unwrap();
    assert!(results.to_string().contains("Grøn it og indkøb"), "{results}");

    // The organiser's page after sending offers a reminder and closing.
    b.goto(&format!("{}/login?next=/admin/meetings/{meeting}/evaluation", app.base)).await;
    b.sign_in("sekretariat@kl.example").await;
    assert!(b.client.find(Locator::Css("form[action$='/evaluation/remind']")).await.is_ok());
    b.check("da").await;
    b.stop().await;
    app.stop().await;
}
both_engines!(answering_an_evaluation_by_keyboard_alone);

async fn inviting_a_segment_by_keyboard_alone_asks_for_a_confirmation_and_keeps_the_audience(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    let store = app.store();
    let confirmed = dialogforum::domain::PersonStatus::Confirmed;
    common::add_person(store, "mette@energi.example", "Mette Jensen", "Grøn Energi A/S", confirmed).await;
    common::add_person(store, "soren@vind.example", "Søren Holm", "Vindkraft ApS", confirmed).await;
    let energi = store.organisations().await.unwrap().into_iter().find(|o| o.name == "Grøn Energi A/S").unwrap().id;
    let token = common::api_token(&app, "sekretariat@kl.example", Role::Admin).await;
    let body = json!({
        "title": "Dialogforum 41: Data på tværs", "number": 41,
        "starts_at": "2030-04-01T09:00:00+02:00", "ends_at": "2030-04-01T12:00:00+02:00",
        "format": "physical", "venue": "KL-huset"
    });
    let m: Value = app.api(&token).post("/meetings", &body).await.json().await.unwrap();
    let id = m["id"].as_str().expect("a meeting id").to_owned();
    assert_eq!(app.api(&token).act(&format!("/meetings/{id}/publish")).await.status(), 200);

    let mut b = Browser::start().await;
    b.goto(&format!("{}/admin/meetings/{id}/invitations", app.base)).await;
    b.sign_in("sekretariat@kl.example").await;
    b.goto(&format!("{}/admin/meetings/{id}/invitations", app.base)).await;
    // In a group of radio buttons the arrow keys choose: everybody → interests → organisations.
    let all = b.tab_to("#audience-all").await;
    all.send_keys(&Key::Down.to_string()).await.unwrap();
    b.client.active_element().await.unwrap().send_keys(&Key::Down.to_string()).await.unwrap();
    let chosen = b.js("return document.getElementById('audience-organisations').checked;", vec![]).await;
    assert_eq!(chosen, json!(true), "the arrow keys chose organisations");
    b.tick(&format!("#organisation-{energi}")).await;
    b.press("button[value='send']").await;
    let page = b.text().await;
    common::assert_has(&page, &["Bekræft udsendelsen", "Bestemte organisationer: Grøn Energi A/S"]);
    assert_eq!(store.meeting(id.parse().unwrap()).await.unwrap().status.as_str(), "published");
    b.check("da").await;
    b.screenshot("invitation-confirm").await;
    b.press("button[value='confirm']").await;
    assert!(b.text().await.contains("1 invitation sendes nu."), "{}", b.text().await);
    b.check("da").await;
    let kept = b.js("return document.getElementById('audience-organisations').checked;", vec![]).await;
    assert_eq!(kept, json!(true), "the form keeps the audience after a send");

    // Sending the same again finds nobody new.
    b.press("button[value='send']").await;
    assert!(b.text().await.contains("Ingen nye modtagere"), "{}", b.text().await);
    b.check("da").await;
    app.outbox_settled().await;
    let to: Vec<Vec<String>> = smtp.messages().iter().map(|m| m.to.clone()).collect();
    assert_eq!(to, [["mette@energi.example"]], "one invitation, inside the organisation");
    b.stop().await;
    app.stop().await;
}
both_engines!(inviting_a_segment_by_keyboard_alone_asks_for_a_confirmation_and_keeps_the_audience);

async fn the_meeting_page_and_a_broken_link_pass_axe_by_keyboard(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "sekretariat@kl.example", Role::Organiser).await;
    let body = json!({
        "title": "Cybersikkerhed i kommunerne", "number": 41,
        "description": "**Velkommen.**\n\nVi taler om *leverandørstyring* og [NIS2](https://kl.example/nis2).",
        "starts_at": "2030-05-01T09:00:00+02:00", "ends_at": "2030-05-01T12:00:00+02:00",
        "format": "physical", "venue": "KL-huset, Weidekampsgade 10, København S",
        "programme": [{"starts_at": "2030-05-01T09:30:00+02:00", "ends_at": "2030-05-01T10:00:00+02:00",
                       "title": "Trusselsbilledet", "description": "Hvad ser *CFCS*?"}]
    });
    app.api(&token).published_meeting(&body).await;
    let mut b = Browser::start().await;
    b.visit(&format!("{}/meetings/41", app.base), "da").await;
    b.tab_to("a[href='/meetings/41/calendar.ics']").await;
    b.visit(&format!("{}/lang/en?back=/meetings/41", app.base), "en").await;
    b.tab_to("a[href='/meetings/41/calendar.ics']").await;
    b.goto(&format!("{}/lang/da?back=/", app.base)).await;

    // A link that does not work offers a new one, reachable by keyboard.
    b.visit(&format!("{}/rsvp/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", app.base), "da").await;
    b.type_into("#email", "nogen@firma.example").await;
    b.press("form[action='/rsvp'] button[type='submit']").await;
    assert!(b.text().await.contains("Tjek din indbakke"), "{}", b.text().await);
    b.check("da").await;
    b.stop().await;
    app.stop().await;
}
both_engines!(the_meeting_page_and_a_broken_link_pass_axe_by_keyboard);

async fn cancelling_with_a_message_and_reopening_a_meeting_held_by_mistake_by_keyboard_alone(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "sekretariat@kl.example").await;
    let (meeting, rsvp) = invited_guest(&app, &smtp, &token).await;
    let res = app.http.post_form(&rsvp, &[("answer", "yes"), ("track", "ai")]).await;
    assert_eq!(res.status(), 200);

    let mut b = Browser::start().await;
    let page = format!("{}/admin/meetings/{meeting}", app.base);
    b.goto(&page).await;
    b.sign_in("sekretariat@kl.example").await;
    b.goto(&page).await;

    // Before the start, "held" is refused by its button, the reason tied to it.
    b.press("#status-held").await;
    let text = b.text().await;
    assert!(text.contains("Mødet er ikke begyndt endnu. Det kan markeres som afholdt fra 1. marts 2030"), "{text}");
    let described =
        b.js("return document.getElementById('status-held').getAttribute('aria-describedby');", vec![]).await;
    assert_eq!(described, json!("status-held-hint status-held-error"));
    b.check("da").await;

    // Cancelling: the confirm step says who is mailed and takes the organisers' message.
    b.press("#status-cancelled").await;
    let text = b.text().await;
    common::assert_has(&text, &["Aflys mødet?", "Mødet aflyses. 1 tilmeldt får en mail om aflysningen"]);
    assert_eq!(app.store().meeting(meeting.parse().unwrap()).await.unwrap().status.as_str(), "published");
    b.check("da").await;
    b.screenshot("cancel-confirm").await;
    b.type_into("#message", "Vi finder en ny dato.\n.\nVenlig hilsen").await;
    b.press("#confirm button[type='submit']").await;
    assert!(b.text().await.contains("Mødet er aflyst."), "{}", b.text().await);
    b.check("da").await;
    let mail = smtp.wait_for_mail("the cancellation", |m| m.subject().starts_with("Aflyst:")).await;
    assert_eq!(mail.to, ["mette@nordlys-it.example"]);
    let plain = mail.plain();
    let lines: Vec<&str> = plain.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    let at = lines.iter().position(|l| *l == "Besked fra arrangørerne:").expect("the message");
    assert_eq!(lines[at + 1..at + 4], ["Vi finder en ny dato.", ".", "Venlig hilsen"], "{plain}");

    // A meeting that has begun, marked held by mistake and reopened.
    let body = json!({"title": "Dialogforum 42: Data på tværs", "number": 42,
        "starts_at": "2030-06-01T09:00:00+02:00", "ends_at": "2030-06-01T12:00:00+02:00",
        "format": "physical", "venue": "KL-huset"});
    let second = app.api(&token).published_meeting(&body).await;
    hold(&app, &second).await;
    b.goto(&format!("{}/admin/meetings/{second}", app.base)).await;
    b.press("#status-held").await;
    assert!(b.text().await.contains("Markér mødet som afholdt?"), "{}", b.text().await);
    b.check("da").await;
    b.press("#confirm button[type='submit']").await;
    assert!(b.text().await.contains("Mødet er markeret som afholdt."), "{}", b.text().await);
    b.check("da").await;
    b.press("form[action$='/reopen'] button[type='submit']").await;
    assert!(b.text().await.contains("Genåbn mødet?"), "{}", b.text().await);
    b.press("#confirm button[type='submit']").await;
    assert!(b.text().await.contains("Mødet er genåbnet."), "{}", b.text().await);
    b.check("da").await;
    let m: Value = app.api(&token).get(&format!("/meetings/{second}")).await.json().await.unwrap();
    assert_eq!(m["status"], "closed", "its answers were no longer due");
    b.stop().await;
    app.stop().await;
}
both_engines!(cancelling_with_a_message_and_reopening_a_meeting_held_by_mistake_by_keyboard_alone);

async fn the_privacy_notice_and_accessibility_statement_pass_axe_and_the_footer_links_are_reached_by_keyboard(
    engine: Engine,
) {
    let app = TestApp::spawn(engine).await;
    let mut b = Browser::start().await;
    for (lang, privacy, accessibility) in
        [("da", "Privatlivspolitik", "Tilgængelighedserklæring"), ("en", "Privacy notice", "Accessibility statement")]
    {
        b.goto(&format!("{}/lang/{lang}?back=/", app.base)).await;
        for path in ["/privacy", "/accessibility"] {
            b.visit(&format!("{}{path}", app.base), lang).await;
        }
        // From the top of a page, Tab reaches both footer links, and Enter opens them.
        b.goto(&format!("{}/subscribe", app.base)).await;
        b.press("footer a[href='/privacy']").await;
        assert_eq!(b.path().await, "/privacy");
        assert!(b.text().await.contains(privacy), "{}", b.text().await);
        b.goto(&format!("{}/meetings", app.base)).await;
        b.press("footer a[href='/accessibility']").await;
        assert_eq!(b.path().await, "/accessibility");
        assert!(b.text().await.contains(accessibility), "{}", b.text().await);
        // The contact in the footer is reachable too.
        b.tab_to("footer a[href^='mailto:']").await;
        b.tab_to("footer a[href^='tel:']").await;
    }
    b.stop().await;
    app.stop().await;
}
both_engines!(the_privacy_notice_and_accessibility_statement_pass_axe_and_the_footer_links_are_reached_by_keyboard);

async fn a_lottery_is_drawn_by_keyboard_after_a_confirm_step_and_its_pages_pass(engine: Engine) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "sekretariat@kl.example").await;
    let api = app.api(&token);
    let lottery = api
        .published_meeting(&json!({
            "title": "Markedsdialog med lodtrækning", "starts_at": "2030-03-01T09:00:00+01:00",
            "ends_at": "2030-03-01T12:00:00+01:00", "format": "physical", "venue": "KL-huset", "capacity": 1,
            "per_organisation_limit": 1, "allocation": "lottery", "applications_close_at": "2030-02-01T12:00:00+01:00"
        }))
        .await;
    let opens = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48)).strftime("%Y-%m-%dT%H:%M:%SZ");
    let later = api
        .published_meeting(&json!({
            "title": "Markedsdialog med åbningstid", "starts_at": "2030-03-02T09:00:00+01:00",
            "ends_at": "2030-03-02T12:00:00+01:00", "format": "physical", "venue": "KL-huset",
            "registration_opens_at": opens.to_string()
        }))
        .await;
    let mut links = Vec::new();
    for (n, m) in [&lottery, &lottery, &later, &lottery].into_iter().enumerate() {
        let email = format!("ansoeger{n}@nordlys-it.example");
        let who = app.confirmed_person(&email, "Mette Bæk", "Nordlys IT A/S").await;
        let (_, link) = common::invite_person(app.store(), m.parse().unwrap(), who).await;
        links.push(format!("{}/rsvp/{link}", app.base));
    }

    let mut b = Browser::start().await;
    // Before the opening: the time, and no form.
    b.goto(&links[2]).await;
    assert!(b.text().await.contains("Tilmeldingen er ikke åbnet endnu"));
    b.check("da").await;
    // A lottery: a yes is an application.
    b.visit(&links[0], "da").await;
    b.tick("#answer-yes").await;
    b.press("form[action^='/rsvp/'] button[type='submit']").await;
    assert!(b.text().await.contains("Din ansøgning er modtaget"), "{}", b.text().await);
    b.check("da").await;
    for n in [1, 3] {
        assert_eq!(app.rsvp(links[n].rsplit('/').next().unwrap(), "yes").await.status(), 200);
    }

    b.goto(&format!("{}/admin", app.base)).await;
    b.sign_in("sekretariat@kl.example").await;
    b.visit(&format!("{}/admin/meetings/{lottery}/registrations", app.base), "da").await;
    b.press(&format!("form[action='/admin/meetings/{lottery}/allocate'] button[type='submit']")).await;
    assert!(b.text().await.contains("Træk pladserne nu?"), "a confirm step comes first");
    b.check("da").await;
    let drawn: Value = api.json(&format!("/meetings/{lottery}")).await;
    assert!(drawn["drawn_at"].is_null(), "the first press draws nothing");
    b.press("#confirm button[type='submit']").await;
    let seed = b.client.find(Locator::Css("#draw-seed")).await.expect("the seed is shown").text().await.unwrap();
    let drawn: Value = api.json(&format!("/meetings/{lottery}")).await;
    assert_eq!(drawn["draw_seed"].as_str(), Some(seed.as_str()));
    b.check("da").await;
    b.screenshot("lottery").await;

    // A move on the waiting list asks for a reason in a confirm step.
    b.goto(&format!("{}/admin/meetings/{lottery}/waitlist", app.base)).await;
    b.follow("ol.waitlist li:nth-child(2) button[value='top']", "da").await;
    b.press("#confirm button[type='submit']").await;
    assert!(b.client.find(Locator::Css("#message-error")).await.is_ok(), "the missing reason is said by the field");
    b.check("da").await;
    b.type_into("#message", "Oplægsholder på mødet").await;
    b.press("#confirm button[type='submit']").await;
    b.goto(&format!("{}/admin/meetings/{lottery}/registrations", app.base)).await;
    assert!(b.text().await.contains("Oplægsholder på mødet"), "the meeting's record has the reason");
    b.check("da").await;
    b.visit(&format!("{}/lang/en?back=/admin/meetings/{lottery}/registrations", app.base), "en").await;
    b.goto(&links[2]).await;
    assert!(b.text().await.contains("Registration is not open yet"));
    b.check("en").await;
    smtp.wait_for(4, 30).await;
    b.stop().await;
    app.stop().await;
}
both_engines!(a_lottery_is_drawn_by_keyboard_after_a_confirm_step_and_its_pages_pass);

async fn a_report_is_written_approved_and_published_and_the_year_read_by_keyboard_alone(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    dialogforum::demo::load(app.store(), jiff::civil::date(2026, 11, 27)).await.unwrap();
    let token = common::api_token(&app, "sekretariat@kl.example", Role::Organiser).await;
    let fifteen = app.store().meeting_by_number(15).await.unwrap().id;

    let mut b = Browser::start().await;
    b.goto(&format!("{}/login?next=/admin/meetings/{fifteen}/report", app.base)).await;
    b.sign_in("sekretariat@kl.example").await;
    b.check("da").await;
    // The demo's summary is the first section; a second one is added by keyboard.
    b.type_into("#title-1", "Dialog ved bordene").await;
    b.type_into("#body-1", "Leverandørerne ønskede **udbud i moduler**.").await;
    b.follow("form[action$='/report'] button[aria-describedby='save-hint']", "da").await;
    let report: Value = app.api(&token).json(&format!("/meetings/{fifteen}/report")).await;
    assert_eq!(report["state"], "draft", "a change sends the report back to draft: {report}");
    assert_eq!(report["sections"][1]["title"], "Dialog ved bordene");
    b.follow("#approve", "da").await;
    b.follow("#publish", "da").await;
    let report: Value = app.api(&token).json(&format!("/meetings/{fifteen}/report")).await;
    assert_eq!(report["state"], "published", "{report}");

    b.goto(&format!("{}/meetings/15", app.base)).await;
    assert!(b.text().await.contains("udbud i moduler"), "the public page shows the published report");
    b.check("da").await;

    b.visit(&format!("{}/admin/year?from=2015-01-01&to=2026-12-31", app.base), "da").await;
    b.press("form[action='/admin/year'] button[type='submit']").await;
    assert!(b.path().await.starts_with("/admin/year"));
    b.tab_to("a[href^='/admin/year.csv']").await;
    b.check("da").await;
    b.stop().await;
    app.stop().await;
}
both_engines!(a_report_is_written_approved_and_published_and_the_year_read_by_keyboard_alone);

async fn importing_a_list_and_adding_a_person_from_the_pages_by_keyboard_alone(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    common::api_token(&app, "sekretariat@kl.example", Role::Organiser).await;
    let file = std::env::temp_dir().join(format!("dialogforum-import-{}.csv", uuid::Uuid::now_v7()));
    let csv =
        "Navn;E-mail;Virksomhed\r\nÅse Ørsted;aase@nordlys.example;Nordlys IT A/S\r\nBo Boesen;bo@;Fjord Data\r\n";
    std::fs::write(&file, csv).unwrap();

    let mut b = Browser::start().await;
    let people = format!("{}/admin/people", app.base);
    b.goto(&people).await;
    b.sign_in("sekretariat@kl.example").await;
    b.goto(&people).await;
    b.follow("a[href='/admin/people/import']", "da").await;
    let input = b.tab_to("#file").await;
    input.send_keys(file.to_str().unwrap()).await.unwrap();
    // A file field takes whatever is typed into it as a path: the Tab that
    // leaves it goes to the keyboard itself.
    let tab = fantoccini::actions::KeyActions::new("keyboard".to_owned())
        .then(fantoccini::actions::KeyAction::Down { value: Key::Tab.into() })
        .then(fantoccini::actions::KeyAction::Up { value: Key::Tab.into() });
    b.client.perform_actions(tab).await.unwrap();
    b.press("form[action='/admin/people/import'] button[type='submit']").await;
    let text = b.text().await;
    common::assert_has(&text, &["Resultat af importen", "Linjer, der blev sprunget over"]);
    assert!(text.contains("3\te-mail: Skriv en gyldig e-mailadresse"), "{text}");
    b.check("da").await;
    b.screenshot("import-report").await;

    // The person imported is on the list, and her page shows how she came there.
    b.goto(&format!("{people}?q=nordlys")).await;
    b.press("td a[href^='/admin/people/']").await;
    assert!(b.text().await.contains("Import af en liste"), "{}", b.text().await);
    b.check("da").await;
    // Adding by hand: the form passes, and without a reason it says so by the field.
    b.goto(&people).await;
    b.follow("a[href='/admin/people/new']", "da").await;
    b.type_into("#name", "Mette Jensen").await;
    b.type_into("#email", "mette@energi.example").await;
    b.press("form[action='/admin/people/new'] button[type='submit']").await;
    assert!(b.text().await.contains("Skriv hvorfor personen tilføjes."), "{}", b.text().await);
    b.check("da").await;
    b.type_into("#reason", "Bad om det ved mødet i marts.").await;
    b.press("form[action='/admin/people/new'] button[type='submit']").await;
    assert!(b.text().await.contains("Personen er tilføjet til listen."), "{}", b.text().await);
    b.check("da").await;
    std::fs::remove_file(&file).unwrap();
    b.stop().await;
    app.stop().await;
}
both_engines!(importing_a_list_and_adding_a_person_from_the_pages_by_keyboard_alone);

async fn copying_a_meeting_by_keyboard_alone(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "sekretariat@kl.example", Role::Organiser).await;
    let body = json!({
        "title": "Dialogforum 46: Grøn it", "number": 46,
        "starts_at": "2030-09-01T09:00:00+02:00", "ends_at": "2030-09-01T12:00:00+02:00",
        "format": "physical", "venue": "KL-huset",
        "tracks": [{"key": "buy", "title": "Indkøb"}],
        "programme": [{"starts_at": "2030-09-01T09:30:00+02:00", "ends_at": "2030-09-01T10:00:00+02:00",
                       "title": "Krav til strømforbrug", "track": "buy"}]
    });
    let id = app.api(&token).published_meeting(&body).await;
    let mut b = Browser::start().await;
    let page = format!("{}/admin/meetings/{id}", app.base);
    b.goto(&page).await;
    b.sign_in("sekretariat@kl.example").await;
    b.goto(&page).await;
    b.press(&format!("form[action='/admin/meetings/{id}/copy'] button[type='submit']")).await;
    let text = b.text().await;
    common::assert_has(&text, &["Dette er en kopi, gemt som kladde.", "Dialogforum 46: Grøn it (kopi)"]);
    common::assert_has(&text, &["Krav til strømforbrug", "Kladde"]);
    assert!(!b.path().await.contains(&id), "the copy is a meeting of its own");
    b.check("da").await;
    b.screenshot("meeting-copy").await;
    b.stop().await;
    app.stop().await;
}
both_engines!(copying_a_meeting_by_keyboard_alone);

async fn a_person_is_added_by_hand_and_one_seated_from_the_waiting_list_by_keyboard_each_with_its_reason(
    engine: Engine,
) {
    let (app, smtp, token) = TestApp::organiser_with_mail(engine, "sekretariat@kl.example").await;
    let api = app.api(&token);
    let meeting = api.meeting_at_kl("Markedsdialog om data", json!({"capacity": 1})).await;
    for (n, name) in ["Mette Bæk", "Søren Kærgaard"].into_iter().enumerate() {
        let email = format!("deltager{n}@nordlys-it.example");
        let who = app.confirmed_person(&email, name, "Nordlys IT A/S").await;
        let (_, link) = common::invite_person(app.store(), meeting, who).await;
        assert_eq!(app.rsvp(&link, "yes").await.status(), 200);
    }
    smtp.wait_for(2, 30).await;
    let registered: Value = api.json(&format!("/meetings/{meeting}/registrations")).await;
    let waiting = registered["items"].as_array().unwrap().iter().find(|r| r["status"] == "waitlisted").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut b = Browser::start().await;
    let page = format!("{}/admin/meetings/{meeting}/registrations", app.base);
    b.goto(&format!("{}/admin", app.base)).await;
    b.sign_in("sekretariat@kl.example").await;
    b.visit(&page, "da").await;

    // A person added by hand, with a reason; the full meeting asks to go beyond its limit.
    b.type_into("#add-email", "gaest@ny.example").await;
    b.type_into("#add-name", "Gæst Nygaard").await;
    b.type_into("#add-organisation", "Ny ApS").await;
    b.type_into("#add-reason", "Taler om datadeling").await;
    b.press("form[action$='/registrations/add'] button[type='submit']").await;
    let text = b.text().await;
    common::assert_has(&text, &["Giv pladsen ud over grænsen?", "Mødet er fuldt."]);
    b.check("da").await;
    b.press("#confirm button[type='submit']").await;
    assert!(b.text().await.contains("Personen er tilføjet med en plads"), "{}", b.text().await);
    b.check("da").await;

    // Someone on the waiting list given a seat, with a reason asked for by the field.
    b.press(&format!("form[action$='/registrations/{waiting}/seat'] button[type='submit']")).await;
    assert!(b.text().await.contains("Giv en plads?"), "{}", b.text().await);
    b.check("da").await;
    b.press("#confirm button[type='submit']").await;
    assert!(b.client.find(Locator::Css("#message-error")).await.is_ok(), "the missing reason is said by the field");
    b.check("da").await;
    b.type_into("#message", "Kommunens kontaktperson").await;
    b.press("#confirm button[type='submit']").await;
    assert!(b.text().await.contains("Giv pladsen ud over grænsen?"), "{}", b.text().await);
    b.press("#confirm button[type='submit']").await;
    let text = b.text().await;
    assert!(text.contains("Personen har fået en plads"), "{text}");
    assert!(text.contains("Taler om datadeling") && text.contains("Kommunens kontaktperson"), "the reasons are listed");
    b.check("da").await;
    b.screenshot("seats-by-hand").await;

    for to in ["gaest@ny.example", "deltager1@nordlys-it.example"] {
        smtp.wait_for_mail(to, |m| m.is_to(to) && !m.subject().starts_with("Du er på venteliste")).await;
    }
    let audited =
        app.db.strings("select detail from audit_log where action in ('seat.add', 'waitlist.seat') order by id").await;
    assert_eq!(
        audited,
        [
            "reason: Taler om datadeling; beyond the limits, confirmed",
            "reason: Kommunens kontaktperson; beyond the limits, confirmed"
        ]
    );
    b.visit(&format!("{}/admin/meetings/{meeting}/door-list", app.base), "da").await;
    b.visit(&format!("{}/lang/en?back=/admin/meetings/{meeting}/registrations", app.base), "en").await;
    b.stop().await;
    app.stop().await;
}
both_engines!(a_person_is_added_by_hand_and_one_seated_from_the_waiting_list_by_keyboard_each_with_its_reason);

async fn a_forgotten_password_is_reset_from_the_mail_and_the_workspace_bar_used_by_keyboard_alone(engine: Engine) {
    let (app, smtp) = TestApp::with_mail(engine, &[]).await;
    common::api_token(&app, "anna@kl.example", Role::Organiser).await;
    let mut b = Browser::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.press("a[href='/login/forgot']").await;
    assert_eq!(b.path().await, "/login/forgot");
    b.check("da").await;
    b.type_into("#email", "anna@kl.example").await;
    b.press("form[action='/login/forgot'] button[type='submit']").await;
    assert!(b.text().await.contains("Tjek din mail"), "the same answer for every address");
    b.check("da").await;

    let mail = smtp.wait_for_mail("the reset link", |m| m.is_to("anna@kl.example")).await;
    b.visit(&link(&app, &mail, "/login/password/"), "da").await;
    b.type_into("#new", "kort").await;
    b.type_into("#repeat", "kort").await;
    b.press("form.form button[type='submit']").await;
    assert!(b.client.find(Locator::Css("#new-error")).await.is_ok(), "the message is by the field");
    b.check("da").await;
    b.type_into("#new", "en helt ny og lang adgangskode").await;
    b.type_into("#repeat", "en helt ny og lang adgangskode").await;
    b.press("form.form button[type='submit']").await;
    assert_eq!(b.path().await, "/login?done=password");
    assert!(b.text().await.contains("Adgangskoden er gemt"), "the confirmation is shown");
    b.check("da").await;
    b.type_into("#email", "anna@kl.example").await;
    b.type_into("#password", "en helt ny og lang adgangskode").await;
    b.press("form[action='/login'] button[type='submit']").await;
    assert_eq!(b.path().await, "/admin");
    b.screenshot("workspace-bar").await;

    // The bar: a page reached from it is marked as the current one, and "Log ud" is in it.
    b.press("nav.workspace a[href='/admin/meetings']").await;
    assert_eq!(b.path().await, "/admin/meetings");
    let current = b.js("return document.querySelector('nav.workspace [aria-current=page]').textContent;", vec![]).await;
    assert_eq!(current, json!("Møder"));
    b.check("da").await;
    b.press("nav.workspace form[action='/logout'] button").await;
    b.goto(&format!("{}/admin", app.base)).await;
    assert_eq!(b.path().await.split('?').next(), Some("/login"), "signed out from the bar");
    b.stop().await;
    app.stop().await;
}
both_engines!(a_forgotten_password_is_reset_from_the_mail_and_the_workspace_bar_used_by_keyboard_alone);

async fn a_questionnaire_is_built_with_the_row_editor_and_previewed_by_keyboard_alone(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "sekretariat@kl.example", Role::Organiser).await;
    let body = json!({
        "title": "Temamøde om data", "starts_at": "2030-05-01T09:00:00+02:00", "ends_at": "2030-05-01T12:00:00+02:00",
        "format": "physical", "venue": "KL-huset"
    });
    let meeting = app.api(&token).published_meeting(&body).await;
    let mut b = Browser::start().await;
    b.goto(&format!("{}/admin/meetings/{meeting}/evaluation", app.base)).await;
    b.sign_in("sekretariat@kl.example").await;
    assert_eq!(b.path().await, format!("/admin/meetings/{meeting}/evaluation"));
    b.check("da").await;

    b.type_into("#new-da", "Hvordan var kaffen?").await;
    let kind = b.tab_to("#new-kind").await;
    kind.send_keys(&Key::Down.to_string()).await.unwrap();
    b.type_into("#new-o0-da", "God").await;
    b.type_into("#new-o1-da", "Dårlig").await;
    b.press("form[action$='/evaluation/questions'] button[value='more']").await;
    assert!(b.text().await.contains("Husk at gemme"), "one more row, not saved yet");
    b.check("da").await;
    b.type_into("#new-o2-da", "Middel").await;
    b.press("form[action$='/evaluation/questions'] button:not([value])").await;
    assert_eq!(b.path().await, format!("/admin/meetings/{meeting}/evaluation"));

    let preview = b.js("return document.querySelector('section.preview').innerText;", vec![]).await;
    let preview = preview.as_str().unwrap_or_default();
    for seen in ["Hvordan var kaffen?", "(Ét svar)", "God", "Dårlig", "Middel"] {
        assert!(preview.contains(seen), "{seen} in the preview: {preview}");
    }
    let order = b
        .js(
            "const p = document.querySelector('section.preview'); const s = document.getElementById('status-heading');\
             return !!(p.compareDocumentPosition(s) & Node.DOCUMENT_POSITION_FOLLOWING);",
            vec![],
        )
        .await;
    assert_eq!(order, json!(true), "the send step comes after the preview");
    b.check("da").await;
    b.screenshot("questionnaire").await;
    b.stop().await;
    app.stop().await;
}
both_engines!(a_questionnaire_is_built_with_the_row_editor_and_previewed_by_keyboard_alone);
