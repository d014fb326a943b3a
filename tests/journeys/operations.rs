//! Operating the service from the command line: a backup of a running
//! service under writes, restored with nothing lost (SQLite; PostgreSQL gets
//! the pointer to pg_dump and pg_restore).

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

    // A second backup to the same name is refused, unless forced.
    let (ok, text) = run(&["backup", backup_arg], &env);
    assert!(!ok && text.contains("already exists") && text.contains("--force"), "{text}");

    // Restoring over the running service's database is refused.
    let (ok, text) = run(&["restore", backup_arg], &env);
    assert!(!ok, "restore while the service runs: {text}");
    assert!(text.contains("in use") && text.contains("stop the service first"), "{text}");

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
