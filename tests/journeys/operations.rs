//! Operating the service from the command line: a backup of a running
//! service under writes, restored with nothing lost (SQLite; PostgreSQL gets
//! the pointer to pg_dump and pg_restore), and `doctor`'s verdicts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use dialogforum::app::{self, StartOptions};
use dialogforum::domain::Role;
use serde_json::json;

use crate::common::{self, Engine, TestApp, cli, eventually};

/// What the command printed on stdout and stderr, and whether it succeeded.
fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = cli(args, env, "");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Keeps adding subscribers through the API until `stop` is set; every one
/// the service acknowledged (201) is recorded by id.
fn keep_writing(
    app: &TestApp,
    token: &str,
    stop: Arc<AtomicBool>,
) -> (Arc<Mutex<Vec<String>>>, tokio::task::JoinHandle<()>) {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let (http, url, token, seen) =
        (app.http.clone(), app.url("/api/v1/subscribers"), token.to_owned(), Arc::clone(&acked));
    let writer = tokio::spawn(async move {
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            let body = json!({"email": format!("kontakt{n}@leverandoer{n}.example"), "name": format!("Kontakt {n}"), "organisation": "Leverandør A/S"});
            let res = http.post(&url).bearer_auth(&token).json(&body).send().await.expect("POST a subscriber");
            assert_eq!(res.status(), 201, "the service takes the subscriber");
            let created: serde_json::Value = res.json().await.expect("JSON");
            seen.lock().unwrap().push(created["id"].as_str().expect("an id").to_owned());
        }
    });
    (acked, writer)
}

async fn a_backup_taken_under_writes_restores_with_nothing_lost(engine: Engine) {
    let (app, token) = TestApp::with_token(engine, "drift@styrelsen.example", Role::Admin).await;
    let files = tempfile::tempdir().unwrap();
    let backup = files.path().join("forum-backup.db");
    let backup_arg = backup.to_str().unwrap();
    let env = [("DIALOGFORUM_DATABASE__URL", app.db.url.as_str())];

    if engine == Engine::Postgres {
        // PostgreSQL has its own tools; the commands name them and do nothing.
        let (ok, text) = run(&["backup", backup_arg], &env);
        assert!(!ok, "backup on PostgreSQL fails: {text}");
        assert!(text.contains("pg_dump --format=custom"), "{text}");
        assert!(!backup.exists(), "no file is written");
        std::fs::write(&backup, "not a dump").unwrap();
        let (ok, text) = run(&["restore", backup_arg], &env);
        assert!(!ok, "restore on PostgreSQL fails: {text}");
        assert!(text.contains("pg_restore --clean"), "{text}");
        app.stop().await;
        return;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let (acked, writer) = keep_writing(&app, &token, Arc::clone(&stop));
    eventually("30 subscribers written", 60, || async { acked.lock().unwrap().len() }, |n| *n >= 30).await;
    let before: Vec<String> = acked.lock().unwrap().clone();
    let args = ["backup".to_owned(), backup_arg.to_owned()];
    let env_owned = [("DIALOGFORUM_DATABASE__URL".to_owned(), app.db.url.clone())];
    let (ok, text) = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env_owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run(&args, &env)
    })
    .await
    .unwrap();
    assert!(ok, "backup of a running service: {text}");
    assert!(text.contains("integrity check ok"), "{text}");
    let during = acked.lock().unwrap().len();
    eventually("more writes after the backup", 60, || async { acked.lock().unwrap().len() }, |n| *n > during + 5).await;
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();

    // The copy is whole by SQLite's own check.
    let copy =
        sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&backup).read_only(true))
            .await
            .unwrap();
    let check: String = sqlx::query_scalar("pragma integrity_check").fetch_one(&copy).await.unwrap();
    assert_eq!(check, "ok");
    copy.close().await;

    // A backup to a name that is taken is refused, unless forced; the copy
    // restored below stays the one taken under writes.
    let other = files.path().join("another-backup.db");
    let other_arg = other.to_str().unwrap();
    let (ok, text) = run(&["backup", other_arg], &env);
    assert!(ok, "{text}");
    let (ok, text) = run(&["backup", other_arg], &env);
    assert!(!ok && text.contains("already exists") && text.contains("--force"), "{text}");
    let (ok, text) = run(&["backup", "--force", other_arg], &env);
    assert!(ok && text.contains("backup written to"), "{text}");

    // Restoring over the running service's database is refused.
    let (ok, text) = run(&["restore", backup_arg], &env);
    assert!(!ok, "restore while the service runs: {text}");
    common::assert_has(&text, &["in use", "stop the service first"]);

    // A file that is not a Dialogforum database is refused.
    let stray = files.path().join("notes.txt");
    std::fs::write(&stray, "minutes of the meeting").unwrap();
    let fresh = files.path().join("restored").join("dialogforum.db");
    let fresh_url = format!("sqlite://{}", fresh.display());
    let fresh_env = [("DIALOGFORUM_DATABASE__URL", fresh_url.as_str())];
    let (ok, text) = run(&["restore", stray.to_str().unwrap()], &fresh_env);
    assert!(!ok && text.contains("is not a Dialogforum SQLite database"), "{text}");
    assert!(!fresh.exists(), "nothing is put in place");

    // Restored into a fresh place, a service started on it has every subscriber
    // that was acknowledged before the backup began.
    let (ok, text) = run(&["restore", backup_arg], &fresh_env);
    assert!(ok, "restore into a fresh place: {text}");
    assert!(text.contains("restored"), "{text}");
    let restored_settings = common::settings(&app.db, &[("database.url", fresh_url.as_str())]);
    app.stop().await;
    let running = app::start(restored_settings, StartOptions::default()).await.expect("start on the restored copy");
    let http = common::client();
    for id in &before {
        let res = http
            .get(format!("http://{}/api/v1/subscribers/{id}", running.addr))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "subscriber {id}, acknowledged before the backup, is in it");
    }
    running.stop().await.unwrap();

    // Restoring again keeps the database that was there.
    let (ok, text) = run(&["restore", backup_arg], &fresh_env);
    assert!(ok, "a second restore: {text}");
    assert!(text.contains("dialogforum.db.before-restore"), "{text}");
    assert!(fresh.with_file_name("dialogforum.db.before-restore").exists());
}
both_engines!(a_backup_taken_under_writes_restores_with_nothing_lost);

/// Runs `doctor` off the test's runtime, which serves the test SMTP server meanwhile.
async fn doctor(env: Vec<(String, String)>) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run(&["doctor"], &env)
    })
    .await
    .unwrap()
}

async fn doctor_names_a_wrong_smtp_password_and_a_missing_migration(engine: Engine) {
    use dialogforum::store::dialect::Dialect;
    let db = common::TestDb::new(engine).await;
    // The database as the release before this one left it: every migration
    // but the newest applied.
    let (dialect, folder) = match engine {
        Engine::Sqlite => (Dialect::Sqlite, "sqlite"),
        Engine::Postgres => (Dialect::Postgres, "postgres"),
    };
    let known = dialogforum::store::schema::known(dialect);
    let (newest, older) = (known[known.len() - 1].clone(), known[known.len() - 2].version);
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(folder);
    let migrator = sqlx::migrate::Migrator::new(folder).await.unwrap();
    // Opening creates the SQLite file, empty.
    dialogforum::store::Store::connect(&db.url, &dialogforum::store::ConnectOptions::default())
        .await
        .unwrap()
        .close()
        .await;
    on_db!(db, |pool| migrator.run_to(older, &pool).await.unwrap());

    let smtp = crate::common::smtp::SmtpServer::start_with_login("forum-relay", "det rigtige kodeord").await;
    let settings = |password: &str| {
        vec![
            ("DIALOGFORUM_DATABASE__URL".to_owned(), db.url.clone()),
            ("DIALOGFORUM_MAIL__FROM".to_owned(), "dialogforum@forum.example".to_owned()),
            ("DIALOGFORUM_MAIL__TRANSPORT".to_owned(), "smtp".to_owned()),
            ("DIALOGFORUM_MAIL__SMTP_URL".to_owned(), format!("smtp://forum-relay:{password}@{}", smtp.addr)),
            ("DIALOGFORUM_MAIL__ALLOW_PLAINTEXT_AUTH".to_owned(), "true".to_owned()),
        ]
    };

    let (ok, text) = doctor(settings("forkert-kodeord")).await;
    assert!(!ok, "doctor fails when a check fails:\n{text}");
    assert!(text.contains("FAIL     SMTP login: the server refused the user name and password"), "{text}");
    assert!(text.contains("fix: correct the user name and password in mail.smtp_url"), "{text}");
    assert!(text.contains(&format!("FAIL     migrations: the database lacks migration {newest}")), "{text}");
    assert!(text.contains("fix: run `dialogforum migrate`"), "{text}");
    assert!(text.contains("ok       SMTP connection"), "{text}");
    assert!(text.contains("warning  SMTP TLS: the server does not offer STARTTLS"), "{text}");
    assert!(!text.contains("forkert-kodeord"), "the password is never shown:\n{text}");
    assert!(smtp.messages().is_empty(), "doctor sends nothing");
    assert!(smtp.commands().iter().any(|c| c.trim().eq_ignore_ascii_case("QUIT")), "doctor says goodbye");

    // Fixed as the fixes say, with a DKIM key: every check passes or warns, and
    // the DNS records carry the key's public half.
    let (ok, text) = run(&["migrate"], &[("DIALOGFORUM_DATABASE__URL", db.url.as_str())]);
    assert!(ok, "{text}");
    let key = tempfile::NamedTempFile::new().unwrap();
    // RFC 8032 §7.1, test 1: the seed, and the public key it gives.
    std::fs::write(key.path(), "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n").unwrap();
    // A service running at the base URL answers its health check.
    let service = TestApp::spawn(engine).await;
    let mut env = settings("det%20rigtige%20kodeord");
    env.push(("DIALOGFORUM_SERVER__BASE_URL".to_owned(), service.base.clone()));
    env.push(("DIALOGFORUM_MAIL__DKIM_KEY_FILE".to_owned(), key.path().display().to_string()));
    env.push(("DIALOGFORUM_MAIL__DKIM_ALGORITHM".to_owned(), "ed25519".to_owned()));
    let (ok, text) = doctor(env).await;
    assert!(ok, "no check fails:\n{text}");
    assert!(text.contains("ok       SMTP login: the server accepted the user name and password"), "{text}");
    assert!(text.contains("ok       migrations: all"), "{text}");
    assert!(text.contains("0 failed"), "{text}");
    assert!(
        text.contains(
            "dialogforum._domainkey.forum.example. IN TXT \"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\""
        ),
        "{text}"
    );
    assert!(text.contains("forum.example. IN TXT \"v=spf1 "), "{text}");
    assert!(text.contains("_dmarc.forum.example. IN TXT \"v=DMARC1; p=quarantine;"), "{text}");
    assert!(text.contains("skipped  IMAP: not configured"), "{text}");
    assert!(text.contains(&format!("ok       health check: GET {}/healthz answered 200 OK", service.base)), "{text}");
    service.stop().await;
    assert!(smtp.messages().is_empty(), "doctor sends nothing");

    // A configuration that cannot be read is a verdict too.
    let mut env = settings("det%20rigtige%20kodeord");
    env.push(("DIALOGFORUM_DATABASE__MAX_CONNECTIONS".to_owned(), "0".to_owned()));
    let (ok, text) = doctor(env).await;
    assert!(!ok, "{text}");
    common::assert_has(&text, &["FAIL     configuration: ", "database.max_connections: must be at least 1"]);
    db.drop_db().await;
}
both_engines!(doctor_names_a_wrong_smtp_password_and_a_missing_migration);
