//! Test helpers: a fresh database per test on either engine, the real
//! application started on port 0, and a real SMTP server on a local port.
#![allow(dead_code, clippy::missing_panics_doc)]

pub mod imap;
pub mod smtp;
pub mod xoauth2;

use std::path::PathBuf;

use dialogforum::app::{self, Running, StartOptions};
use dialogforum::config::Settings;
use dialogforum::store::{ConnectOptions, Store};
use figment::Figment;

/// The two engines every store and journey test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Runs the async test function `$name`, which takes an [`Engine`], once on
/// each engine, as `$name::sqlite` and `$name::postgres`. The body stays an
/// ordinary function, so rustfmt and the compiler see it as written. The
/// `PostgreSQL` variant needs `DIALOGFORUM_TEST_POSTGRES_URL`; without it the
/// test says so and passes, unless `DIALOGFORUM_REQUIRE_POSTGRES=1` (set by
/// the test script and CI), in which case it fails.
#[macro_export]
macro_rules! both_engines {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Engine::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::common::postgres_url().is_none() {
                    return;
                }
                super::$name($crate::common::Engine::Postgres).await;
            }
        }
    };
}

/// Runs `$body` with `$pool` connected to a [`TestDb`] with the engine's own
/// driver, for tests that read or set rows behind the application's back.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db.engine {
            $crate::common::Engine::Sqlite => {
                let $pool = sqlx::SqlitePool::connect(&$db.url).await.unwrap();
                let r = $body;
                $pool.close().await;
                r
            }
            $crate::common::Engine::Postgres => {
                let $pool = sqlx::PgPool::connect(&$db.url).await.unwrap();
                let r = $body;
                $pool.close().await;
                r
            }
        }
    };
}

/// The `PostgreSQL` server for tests, if configured.
pub fn postgres_url() -> Option<String> {
    match std::env::var("DIALOGFORUM_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("DIALOGFORUM_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "DIALOGFORUM_REQUIRE_POSTGRES=1 but DIALOGFORUM_TEST_POSTGRES_URL is not set"
            );
            eprintln!("PostgreSQL test skipped: DIALOGFORUM_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

/// A database of its own for one test, removed when the test is done.
pub struct TestDb {
    pub engine: Engine,
    pub url: String,
    dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// A fresh, empty database on `engine`.
    pub async fn new(engine: Engine) -> Self {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("dialogforum.db").display());
                Self { engine, url, dir: Some(dir), pg: None }
            }
            Engine::Postgres => {
                let admin = postgres_url().expect("PostgreSQL URL");
                let name = format!("dialogforum_test_{}", uuid::Uuid::new_v4().simple());
                let pool = sqlx::PgPool::connect(&admin).await.expect("connect to the PostgreSQL test server");
                sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
                    .execute(&pool)
                    .await
                    .expect("create test database");
                pool.close().await;
                let mut url = url::Url::parse(&admin).expect("PostgreSQL URL");
                url.set_path(&format!("/{name}"));
                Self { engine, url: url.to_string(), dir: None, pg: Some((admin, name)) }
            }
        }
    }

    /// A folder that lives as long as the database (for mail files and such).
    pub fn scratch(&self) -> PathBuf {
        match &self.dir {
            Some(d) => d.path().to_path_buf(),
            None => std::env::temp_dir(),
        }
    }

    /// Opens a store on this database and applies the migrations.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, &ConnectOptions::default()).await.expect("open store");
        store.migrate().await.expect("migrate");
        store
    }

    /// The number a `select count(*)` without parameters reads, behind the application's back.
    pub async fn count(&self, sql: &'static str) -> i64 {
        on_db!(self, |pool| sqlx::query_scalar(sql).fetch_one(&pool).await.expect(sql))
    }

    /// The text column a `select` without parameters reads, row by row.
    pub async fn strings(&self, sql: &'static str) -> Vec<String> {
        on_db!(self, |pool| sqlx::query_scalar(sql).fetch_all(&pool).await.expect(sql))
    }

    /// Runs a statement without parameters behind the application's back; returns the rows it changed.
    pub async fn execute(&self, sql: &'static str) -> u64 {
        on_db!(self, |pool| sqlx::query(sql).execute(&pool).await.expect(sql).rows_affected())
    }

    /// Runs `sql`, an update whose `$1` is `value` and `$2` the id of the row it changes.
    pub async fn update_by_id<T>(&self, sql: &'static str, value: T, id: uuid::Uuid)
    where
        T: for<'t> sqlx::Encode<'t, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>
            + for<'t> sqlx::Encode<'t, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>,
    {
        on_db!(self, |pool| {
            sqlx::query(sql).bind(value).bind(id).execute(&pool).await.expect(sql);
        });
    }

    /// Drops the `PostgreSQL` database (the `SQLite` folder goes with the value).
    pub async fn drop_db(self) {
        if let Some((admin, name)) = &self.pg
            && let Ok(pool) = sqlx::PgPool::connect(admin).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("drop database if exists {name} with (force)")))
                .execute(&pool)
                .await;
            pool.close().await;
        }
    }
}

/// A folder of its own and the address of the `SQLite` database `file` in it,
/// for runs of the command line.
pub fn sqlite_in_tempdir(file: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join(file).display());
    (dir, url)
}

/// Settings for a test: port 0, the given database, mail to the log, fast polling.
pub fn settings(db: &TestDb, overrides: &[(&str, &str)]) -> Settings {
    let mut f: Figment = Settings::figment(None)
        .merge(("server.bind", "127.0.0.1:0"))
        .merge(("database.url", db.url.as_str()))
        .merge(("mail.transport", "log"))
        .merge(("mail.poll_interval_ms", 50))
        .merge(("mail.backoff_base_secs", 1))
        .merge(("mail.from", "dialogforum@forum.example"));
    for (k, v) in overrides {
        f = match (v.parse::<i64>(), v.parse::<bool>()) {
            (Ok(n), _) => f.merge((*k, n)),
            (_, Ok(b)) => f.merge((*k, b)),
            _ => f.merge((*k, *v)),
        };
    }
    Settings::from_figment(f).expect("test settings")
}

/// The password every test account is given.
pub const PASSWORD: &str = "a long enough password";

/// A client of its own: its own cookie jar, and redirects are answers, not followed.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("http client")
}

/// The CSRF token of a page's form.
pub fn csrf_of(html: &str) -> String {
    let start = html.find(r#"name="csrf" value=""#).expect("a csrf field") + r#"name="csrf" value=""#.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Asserts that `page` holds every one of `parts`; shows the page if not.
#[track_caller]
pub fn assert_has(page: &str, parts: &[&str]) {
    for part in parts {
        assert!(page.contains(part), "{part:?} missing from: {page}");
    }
}

/// The value of the hidden field `name` in a page's form.
pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!(r#"type="hidden" name="{name}" value=""#);
    let start = html.find(&marker).unwrap_or_else(|| panic!("a hidden {name} field in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Sends invitations from a meeting's invitation page at `page`: asks to
/// send `form` (without its `action`), and confirms what the confirm step
/// shows. Returns the confirm step's page and the answer to the confirmation.
pub async fn send_invitations(
    http: &reqwest::Client,
    page: &str,
    form: &[(&str, &str)],
) -> (String, reqwest::Response) {
    let mut asked = form.to_vec();
    asked.push(("action", "send"));
    let confirm = text(http.post_form(page, &asked).await, 200).await;
    let key = hidden_field(&confirm, "key");
    let mut confirmed = form.to_vec();
    confirmed.extend([("action", "confirm"), ("key", key.as_str())]);
    let res = http.post_form(page, &confirmed).await;
    (confirm, res)
}

/// Asks `probe` every 50 ms until it gives a value that `done` accepts and
/// returns that value; panics after `secs` seconds, saying what was awaited
/// and what the last value was.
pub async fn eventually<T, F, Fut>(what: &str, secs: u64, mut probe: F, done: impl Fn(&T) -> bool) -> T
where
    T: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let value = probe().await;
        if done(&value) {
            return value;
        }
        assert!(std::time::Instant::now() < deadline, "waited {secs} s for {what}; last seen: {value:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Waits until the outbox's counts by state satisfy `done`, for up to `secs` seconds; returns them.
pub async fn wait_for_counts(
    store: &Store,
    done: impl Fn(&dialogforum::store::outbox::OutboxCounts) -> bool,
    secs: u64,
) -> dialogforum::store::outbox::OutboxCounts {
    eventually("the outbox counts", secs, || async { store.outbox_counts().await.expect("outbox counts") }, done).await
}

/// Queues a composed message in a transaction of its own; returns its id.
pub async fn queue(store: &Store, message: &dialogforum::store::outbox::NewMessage) -> dialogforum::domain::OutboxId {
    let mut tx = store.begin().await.expect("begin");
    let id = dialogforum::store::outbox::enqueue(&mut tx, message).await.expect("enqueue");
    tx.commit().await.expect("commit");
    id
}

/// Puts a person straight into the store, without mail or audit; an address
/// that is already there is left as it is. Returns the person's id.
pub async fn add_person(
    store: &Store,
    email: &str,
    name: &str,
    organisation: &str,
    status: dialogforum::domain::PersonStatus,
) -> dialogforum::domain::PersonId {
    use dialogforum::domain::{Email, Name};
    let mut tx = store.begin().await.expect("begin");
    let person = dialogforum::store::people::NewPerson {
        email: Email::parse(email).expect("email"),
        name: Name::parse(name).expect("name"),
        organisation: Some(Name::parse(organisation).expect("organisation")),
        status,
        interests: Vec::new(),
    };
    let (id, _) = dialogforum::store::people::insert_person_if_new(&mut tx, &person, None).await.expect("person");
    tx.commit().await.expect("commit");
    id
}

/// Invites `person` to `meeting` straight in the store; returns the
/// registration and the token of the person's RSVP link.
pub async fn invite_person(
    store: &Store,
    meeting: dialogforum::domain::MeetingId,
    person: dialogforum::domain::PersonId,
) -> (dialogforum::domain::RegistrationId, String) {
    use dialogforum::domain::{RegistrationId, Token, TokenPurpose};
    use dialogforum::store::tokens::{NewLinkToken, insert_link_tokens};
    let (reg, token) = (RegistrationId::new(), Token::generate());
    let mut tx = store.begin().await.expect("begin");
    dialogforum::store::registrations::insert_invited(&mut tx, meeting, &[(reg, person)]).await.expect("invite");
    let link = NewLinkToken {
        hash: token.hash(),
        purpose: TokenPurpose::Rsvp,
        person: Some(person),
        registration: Some(reg),
        expires_at: None,
    };
    insert_link_tokens(&mut tx, &[link]).await.expect("link token");
    tx.commit().await.expect("commit");
    (reg, token.expose().to_owned())
}

/// Puts confirmed people, each `(address, name, organisation)`, on the list and
/// invites them all to `meeting` in one transaction, as a campaign does; returns
/// each one's registration and RSVP token, in order.
pub async fn invite_many(
    store: &Store,
    meeting: dialogforum::domain::MeetingId,
    people: &[(String, String, String)],
) -> Vec<(dialogforum::domain::RegistrationId, String)> {
    use dialogforum::domain::{Email, Name, PersonStatus, RegistrationId, Token, TokenPurpose};
    use dialogforum::store::people::{NewPerson, insert_person_if_new};
    use dialogforum::store::tokens::{NewLinkToken, insert_link_tokens};
    let mut tx = store.begin().await.expect("begin");
    let (mut registered, mut links, mut out) = (Vec::new(), Vec::new(), Vec::new());
    for (email, name, organisation) in people {
        let person = NewPerson {
            email: Email::parse(email).expect("email"),
            name: Name::parse(name).expect("name"),
            organisation: Some(Name::parse(organisation).expect("organisation")),
            status: PersonStatus::Confirmed,
            interests: vec![],
        };
        let (pid, _) = insert_person_if_new(&mut tx, &person, None).await.expect("person");
        let rid = RegistrationId::new();
        registered.push((rid, pid));
        let t = Token::generate();
        links.push(NewLinkToken {
            hash: t.hash(),
            purpose: TokenPurpose::Rsvp,
            person: Some(pid),
            registration: Some(rid),
            expires_at: None,
        });
        out.push((rid, t.expose().to_owned()));
    }
    dialogforum::store::registrations::insert_invited(&mut tx, meeting, &registered).await.expect("invite");
    insert_link_tokens(&mut tx, &links).await.expect("link tokens");
    tx.commit().await.expect("commit");
    out
}

/// Stores a link token of `purpose` for `person` that expired at `expired_at`;
/// returns the token as it would stand in a link.
pub async fn expired_link(
    store: &Store,
    purpose: dialogforum::domain::TokenPurpose,
    person: dialogforum::domain::PersonId,
    expired_at: jiff::Timestamp,
) -> String {
    let token = dialogforum::domain::Token::generate();
    let mut tx = store.begin().await.expect("begin");
    dialogforum::store::tokens::insert_link_token(
        &mut tx,
        &token.hash(),
        purpose,
        Some(person),
        None,
        Some(expired_at),
    )
    .await
    .expect("link token");
    tx.commit().await.expect("commit");
    token.expose().to_owned()
}

/// The body of an answer, which must have `status` (the body is shown if not).
pub async fn text(res: reqwest::Response, status: u16) -> String {
    let got = res.status();
    let body = res.text().await.expect("body");
    assert_eq!(got, status, "{body}");
    body
}

/// Form posts from any client in one call.
pub trait PostForm {
    /// `POST`s `form` to `url` and gives the answer.
    fn post_form<F: serde::Serialize + ?Sized + Sync>(
        &self,
        url: impl reqwest::IntoUrl + Send,
        form: &F,
    ) -> impl Future<Output = reqwest::Response> + Send;
}

impl PostForm for reqwest::Client {
    async fn post_form<F: serde::Serialize + ?Sized + Sync>(
        &self,
        url: impl reqwest::IntoUrl + Send,
        form: &F,
    ) -> reqwest::Response {
        self.post(url).form(form).send().await.expect("POST")
    }
}

/// A client signed in to the organiser pages, with its session's CSRF token.
pub struct SignedIn {
    pub http: reqwest::Client,
    pub csrf: String,
    base: String,
}

impl SignedIn {
    /// `GET` a path of the app.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).send().await.expect("GET")
    }

    /// The page at `path`, which must answer 200.
    pub async fn page(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.text().await.expect("page")
    }

    /// `POST` a form to a path of the app, with the session's CSRF token in front.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut fields = vec![("csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        self.http.post(format!("{}{path}", self.base)).form(&fields).send().await.expect("POST")
    }
}

/// The JSON API of the running app, called with one bearer token; paths are
/// below `/api/v1`.
pub struct Api<'a> {
    app: &'a TestApp,
    token: String,
}

impl Api<'_> {
    fn url(&self, path: &str) -> String {
        self.app.url(&format!("/api/v1{path}"))
    }

    /// `GET` a path.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.app.http.get(self.url(path)).bearer_auth(&self.token).send().await.expect("GET")
    }

    /// `GET` a path and read the answer as JSON.
    pub async fn json(&self, path: &str) -> serde_json::Value {
        self.get(path).await.json().await.expect("JSON")
    }

    /// `POST` a path without a body (publish, pause, cancel, …).
    pub async fn act(&self, path: &str) -> reqwest::Response {
        self.app.http.post(self.url(path)).bearer_auth(&self.token).send().await.expect("POST")
    }

    /// `POST` a JSON body to a path.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.app.http.post(self.url(path)).bearer_auth(&self.token).json(body).send().await.expect("POST")
    }

    /// `PUT` a JSON body to a path.
    pub async fn put(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.app.http.put(self.url(path)).bearer_auth(&self.token).json(body).send().await.expect("PUT")
    }

    /// `PATCH` a path with a JSON body.
    pub async fn patch(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.app.http.patch(self.url(path)).bearer_auth(&self.token).json(body).send().await.expect("PATCH")
    }

    /// Publishes a physical meeting `title` at KL-huset on 1 March 2030 from 9 to
    /// 12, with the fields of `extra` (`{"capacity": 1}`, …) added; returns its id.
    pub async fn meeting_at_kl(&self, title: &str, extra: serde_json::Value) -> dialogforum::domain::MeetingId {
        let mut body = serde_json::json!({
            "title": title, "starts_at": "2030-03-01T09:00:00+01:00",
            "ends_at": "2030-03-01T12:00:00+01:00", "format": "physical", "venue": "KL-huset",
        });
        body.as_object_mut().expect("an object").extend(extra.as_object().expect("an object").clone());
        self.published_meeting(&body).await.parse().expect("a meeting id")
    }

    /// Creates a meeting (which must answer 201) and publishes it; returns its id.
    pub async fn published_meeting(&self, body: &serde_json::Value) -> String {
        let res = self.post("/meetings", body).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
        let m: serde_json::Value = res.json().await.expect("JSON");
        let id = m["id"].as_str().expect("a meeting id").to_owned();
        let res = self.act(&format!("/meetings/{id}/publish")).await;
        assert_eq!(res.status(), 200, "the meeting is published");
        id
    }

    /// Sends invitations to `meeting` (which must answer 202); returns the campaign's id.
    pub async fn invite(&self, meeting: &str, body: &serde_json::Value) -> String {
        let res = self.post(&format!("/meetings/{meeting}/invitations"), body).await;
        assert_eq!(res.status(), 202, "the invitations are accepted");
        let created: serde_json::Value = res.json().await.expect("JSON");
        created["id"].as_str().expect("a campaign id").to_owned()
    }

    /// A campaign as the API reports it.
    pub async fn campaign(&self, id: &str) -> serde_json::Value {
        self.json(&format!("/campaigns/{id}")).await
    }

    /// Waits until the campaign is in `state` and returns it as the API reports it then.
    pub async fn campaign_in_state(&self, id: &str, state: &str) -> serde_json::Value {
        eventually(&format!("campaign {id} to be {state}"), 30, || self.campaign(id), |c| c["state"] == state).await
    }
}

/// The application, running.
pub struct TestApp {
    pub db: TestDb,
    pub running: Running,
    pub base: String,
    pub http: reqwest::Client,
}

impl TestApp {
    /// Starts the app on a fresh database of `engine`.
    pub async fn spawn(engine: Engine) -> Self {
        Self::spawn_with(engine, &[]).await
    }

    /// Starts the app with extra settings (`("mail.transport", "smtp")`, …).
    pub async fn spawn_with(engine: Engine, overrides: &[(&str, &str)]) -> Self {
        let db = TestDb::new(engine).await;
        let running = app::start(settings(&db, overrides), StartOptions::default()).await.expect("start the app");
        let base = format!("http://{}", running.addr);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("http client");
        Self { db, running, base, http }
    }

    /// Starts the app with an account (and an API token) for each email and role.
    pub async fn with_accounts(engine: Engine, accounts: &[(&str, dialogforum::domain::Role)]) -> Self {
        let app = Self::spawn(engine).await;
        for (email, role) in accounts {
            api_token(&app, email, *role).await;
        }
        app
    }

    /// Starts the app with an account for `email` with `role`; returns it
    /// with an API token of that account.
    pub async fn with_token(engine: Engine, email: &str, role: dialogforum::domain::Role) -> (Self, String) {
        let app = Self::spawn(engine).await;
        let token = api_token(&app, email, role).await;
        (app, token)
    }

    /// Starts a mail server and the app sending to it, with extra settings.
    pub async fn with_mail(engine: Engine, extra: &[(&str, &str)]) -> (Self, smtp::SmtpServer) {
        let smtp = smtp::SmtpServer::start().await;
        let app = Self::spawn_with_smtp(engine, &smtp, extra).await;
        (app, smtp)
    }

    /// Starts a mail server and the app sending to it, with an organiser account
    /// for `email`; returns them with an API token of that account.
    pub async fn organiser_with_mail(engine: Engine, email: &str) -> (Self, smtp::SmtpServer, String) {
        let (app, smtp) = Self::with_mail(engine, &[]).await;
        let token = api_token(&app, email, dialogforum::domain::Role::Organiser).await;
        (app, smtp, token)
    }

    /// Starts the app with mail going to `smtp`, and extra settings.
    pub async fn spawn_with_smtp(engine: Engine, smtp: &smtp::SmtpServer, extra: &[(&str, &str)]) -> Self {
        let url = smtp.url();
        let mut overrides = vec![("mail.transport", "smtp"), ("mail.smtp_url", url.as_str())];
        overrides.extend_from_slice(extra);
        Self::spawn_with(engine, &overrides).await
    }

    /// The address of `path` on the running app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A link from a mail (`https://forum.example/…`) pointed at the running app.
    pub fn local(&self, link: &str) -> String {
        let path = link.split_once("://").expect("an absolute link").1.split_once('/').expect("a path").1;
        format!("{}/{path}", self.base)
    }

    /// Posts the login form from `http` (`next` is the dashboard).
    pub async fn log_in(&self, http: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
        let form = [("email", email), ("password", password), ("next", "/admin")];
        http.post(self.url("/login")).form(&form).send().await.expect("POST /login")
    }

    /// A client of its own, signed in as `email` (an account that exists, with
    /// [`PASSWORD`]), with the CSRF token of its session.
    pub async fn sign_in(&self, email: &str) -> SignedIn {
        let http = client();
        let res = self.log_in(&http, email, PASSWORD).await;
        assert_eq!(res.status(), 303, "{email} signs in");
        let html = http.get(self.url("/admin")).send().await.expect("GET /admin").text().await.expect("dashboard");
        SignedIn { http, csrf: csrf_of(&html), base: self.base.clone() }
    }

    /// Creates an account for `email` with `role`, then [`TestApp::sign_in`].
    pub async fn sign_in_as(&self, email: &str, role: dialogforum::domain::Role) -> SignedIn {
        api_token(self, email, role).await;
        self.sign_in(email).await
    }

    /// The JSON API, called with `token`.
    pub fn api(&self, token: &str) -> Api<'_> {
        Api { app: self, token: token.to_owned() }
    }

    /// Posts a form to `path` from the app's own client, without a CSRF token.
    pub async fn post_form<F: serde::Serialize + ?Sized>(&self, path: &str, form: &F) -> reqwest::Response {
        self.http.post(self.url(path)).form(form).send().await.expect("POST")
    }

    /// Puts a confirmed person on the list straight in the store (see [`add_person`]).
    pub async fn confirmed_person(&self, email: &str, name: &str, organisation: &str) -> dialogforum::domain::PersonId {
        add_person(self.store(), email, name, organisation, dialogforum::domain::PersonStatus::Confirmed).await
    }

    /// Posts the public sign-up form for `email`, consenting; gives the answer.
    pub async fn subscribe(&self, email: &str, name: &str, organisation: &str) -> reqwest::Response {
        let form = [("name", name), ("email", email), ("organisation", organisation), ("consent", "yes")];
        self.post_form("/subscribe", &form).await
    }

    /// Signs `email` up on the public form, consenting; the form must be taken.
    pub async fn sign_up(&self, email: &str, name: &str, organisation: &str) {
        let res = self.subscribe(email, name, organisation).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.expect("body"));
    }

    /// Answers an invitation through its RSVP link (`yes`, `no`, …).
    pub async fn rsvp(&self, token: &str, answer: &str) -> reqwest::Response {
        self.post_form(&format!("/rsvp/{token}"), &[("answer", answer)]).await
    }

    /// Waits until the outbox holds no message that is queued or being sent,
    /// so everything queued so far has reached the mail server (or failed for good).
    pub async fn outbox_settled(&self) {
        eventually(
            "the outbox to settle",
            60,
            || async { self.store().outbox_counts().await.expect("outbox counts") },
            |c| c.queued == 0 && c.sending == 0,
        )
        .await;
    }

    /// How many messages `smtp` has received once the outbox has settled.
    pub async fn delivered(&self, smtp: &smtp::SmtpServer) -> usize {
        self.outbox_settled().await;
        smtp.messages().len()
    }

    /// Queues a composed message and wakes the outbox worker; returns its id.
    pub async fn queue(&self, message: &dialogforum::store::outbox::NewMessage) -> dialogforum::domain::OutboxId {
        let id = queue(self.store(), message).await;
        self.running.state.mail_wake.notify_one();
        id
    }

    /// The store of the running app.
    pub fn store(&self) -> &Store {
        &self.running.state.store
    }

    /// `GET` a path.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).send().await.expect("GET")
    }

    /// Stops the app and drops its database.
    pub async fn stop(self) {
        self.running.stop().await.expect("clean stop");
        self.db.drop_db().await;
    }
}

/// The app with its inbound SMTP listener on a free port.
pub struct Inbound {
    pub db: TestDb,
    pub running: Running,
    pub addr: std::net::SocketAddr,
}

impl Inbound {
    /// Without an outbox worker, so queued mail stays in the outbox until a
    /// test sends it or counts it.
    pub async fn start(engine: Engine, extra: &[(&str, &str)]) -> Self {
        Self::launch(engine, extra, false).await
    }

    /// The app with the join address set and the outbox worker sending to a
    /// test SMTP server, which is returned with it.
    pub async fn relaying(engine: Engine, extra: &[(&str, &str)]) -> (Self, smtp::SmtpServer) {
        let smtp = smtp::SmtpServer::start().await;
        let url = smtp.url();
        let mut overrides = vec![
            ("inbound.join_address", "tilmeld@forum.example"),
            ("mail.transport", "smtp"),
            ("mail.smtp_url", url.as_str()),
        ];
        overrides.extend_from_slice(extra);
        (Self::launch(engine, &overrides, true).await, smtp)
    }

    async fn launch(engine: Engine, extra: &[(&str, &str)], worker: bool) -> Self {
        let db = TestDb::new(engine).await;
        let mut overrides = vec![("inbound.bind", "127.0.0.1:0")];
        overrides.extend_from_slice(extra);
        let running = app::start(settings(&db, &overrides), StartOptions { worker }).await.expect("start the app");
        let addr = running.inbound_addr.expect("the inbound listener runs when inbound.bind is set");
        Self { db, running, addr }
    }

    /// `url` (from a mail, on the configured base URL) on the running web server.
    pub fn local(&self, url: &str) -> String {
        let path = url.split_once("://").unwrap().1.split_once('/').unwrap().1;
        format!("http://{}/{path}", self.running.addr)
    }

    /// Waits until the outbox holds no message that is queued or being sent.
    pub async fn outbox_settled(&self) {
        wait_for_counts(self.store(), |c| c.queued == 0 && c.sending == 0, 60).await;
    }

    /// The store of the running app.
    pub fn store(&self) -> &Store {
        &self.running.state.store
    }

    /// Stops the app and drops its database.
    pub async fn stop(self) {
        self.running.stop().await.expect("clean stop");
        self.db.drop_db().await;
    }
}

/// Runs the `dialogforum` binary with the given arguments, environment and stdin.
pub fn cli(args: &[&str], env: &[(&str, &str)], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dialogforum"));
    cmd.args(args)
        .env_remove("DIALOGFORUM_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run dialogforum");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("dialogforum output")
}

/// Starts the `dialogforum` binary in the background.
pub fn spawn_cli(args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dialogforum"));
    cmd.args(args)
        .env_remove("DIALOGFORUM_CONFIG")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start dialogforum")
}

/// Creates an account with `role` on the app's database and returns an API token for it.
pub async fn api_token(app: &TestApp, email: &str, role: dialogforum::domain::Role) -> String {
    use dialogforum::domain::{Email, Token, password};
    let hash = password::hash("a long enough password").expect("hash");
    let mut tx = app.store().begin().await.expect("begin");
    let id = dialogforum::store::users::upsert_user(&mut tx, &Email::parse(email).expect("email"), role, &hash)
        .await
        .expect("user");
    let token = Token::generate();
    dialogforum::store::users::create_api_token(&mut tx, id, "test", &token.hash(), None).await.expect("token");
    tx.commit().await.expect("commit");
    token.expose().to_owned()
}

/// A `multipart/form-data` body with the CSRF field and one file, its name
/// sent as UTF-8 the way browsers do: the content type and the body.
pub fn upload_body(csrf: &str, filename: &str, content_type: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = "dialogforum-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\n\
         Content-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
