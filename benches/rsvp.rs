//! RSVP throughput: "yes" answers per second and their p99 latency with 64
//! concurrent clients, over HTTP against the real service, beside the raw
//! single-row commit rate of the same database measured in the same run.
//!
//! Run: `cargo bench --bench rsvp` (PostgreSQL too when
//! `DIALOGFORUM_TEST_POSTGRES_URL` is set, e.g. `postgres://postgres@127.0.0.1:5432/test`).
//! This is a measurement, not a test: it prints figures and asserts nothing
//! about time.
//!
//! Each answer's confirmation is composed and queued in the outbox in the
//! answer's transaction, and the outbox worker claims and marks every message
//! while the answers come in. The hand-over itself goes to the `log` transport,
//! as an SMTP hand-over would go to another machine; `DIALOGFORUM_BENCH_MAIL=file`
//! writes one .eml file per message instead (on a 2-core machine the file
//! creation alone costs about a quarter of the CPU).

use std::time::{Duration, Instant};

use dialogforum::app::{self, StartOptions};
use dialogforum::config::Settings;
use dialogforum::domain::{
    Email, MeetingFormat, MeetingStatus, Name, PersonStatus, RegistrationId, Token, TokenPurpose,
};
use dialogforum::store::Store;
use dialogforum::store::meetings::{NewMeeting, insert_meeting};
use dialogforum::store::people::{NewPerson, insert_person_if_new};
use dialogforum::store::registrations::insert_invited;
use dialogforum::store::tokens::{NewLinkToken, insert_link_tokens};

const CLIENTS: usize = 64;
const ANSWERS: usize = 3000;

struct Figures {
    raw_per_sec: f64,
    rsvp_per_sec: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

async fn raw_commits(store: &Store) -> f64 {
    // The same kind of write an answer makes, alone: one row, one transaction.
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let store = store.clone();
        tasks.spawn(async move {
            for i in 0..ANSWERS / CLIENTS {
                let mut tx = store.begin().await.expect("begin");
                let mut e = dialogforum::store::audit::Entry {
                    action: "bench.raw",
                    subject_kind: "",
                    subject_id: None,
                    detail: "",
                    row_count: None,
                };
                let detail = format!("{c}-{i}");
                e.detail = &detail;
                dialogforum::store::audit::record(&mut tx, &dialogforum::store::audit::Actor::System("bench"), &e)
                    .await
                    .expect("insert");
                tx.commit().await.expect("commit");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    #[allow(clippy::cast_precision_loss)]
    let n = (ANSWERS / CLIENTS * CLIENTS) as f64;
    n / start.elapsed().as_secs_f64()
}

async fn setup(store: &Store) -> Vec<String> {
    let mut tx = store.begin().await.expect("begin");
    let now = jiff::Timestamp::now();
    let meeting = NewMeeting {
        number: None,
        title: "Benchmark".into(),
        description: String::new(),
        themes: vec![],
        starts_at: now + jiff::SignedDuration::from_hours(24 * 30),
        ends_at: now + jiff::SignedDuration::from_hours(24 * 30 + 3),
        format: MeetingFormat::Physical,
        venue: "KL-huset".into(),
        online_url: String::new(),
        capacity: Some(70),
        per_organisation_limit: Some(2),
        registration_deadline: None,
        status: MeetingStatus::Open,
        tracks: vec![],
        programme: vec![],
        seating: dialogforum::domain::Seating::default(),
    };
    let id = insert_meeting(&mut tx, &meeting).await.expect("meeting");
    let mut regs = Vec::new();
    let mut tokens = Vec::new();
    let mut out = Vec::new();
    for i in 0..ANSWERS {
        let person = NewPerson {
            email: Email::parse(&format!("bench{i}@firma{}.example", i % 500)).expect("email"),
            name: Name::parse(&format!("Bench {i}")).expect("name"),
            organisation: Some(Name::parse(&format!("Firma {}", i % 500)).expect("org")),
            status: PersonStatus::Confirmed,
            interests: vec![],
        };
        let (pid, _) = insert_person_if_new(&mut tx, &person, None).await.expect("person");
        let rid = RegistrationId::new();
        regs.push((rid, pid));
        let t = Token::generate();
        tokens.push(NewLinkToken {
            hash: t.hash(),
            purpose: TokenPurpose::Rsvp,
            person: Some(pid),
            registration: Some(rid),
            expires_at: None,
        });
        out.push(t.expose().to_owned());
    }
    insert_invited(&mut tx, id, &regs).await.expect("registrations");
    insert_link_tokens(&mut tx, &tokens).await.expect("tokens");
    tx.commit().await.expect("commit");
    out
}

async fn run(url: &str, scratch: &std::path::Path, transport: &str) -> Figures {
    let settings = Settings::from_figment(
        Settings::figment(None)
            .merge(("server.bind", "127.0.0.1:0"))
            .merge(("database.url", url))
            .merge(("database.max_connections", 20))
            .merge(("mail.transport", transport))
            .merge(("mail.file_dir", scratch.join("mail").display().to_string()))
            .merge(("mail.from", "dialogforum@forum.example"))
            .merge(("log.level", "warn")),
    )
    .expect("settings");
    let running = app::start(settings, StartOptions::default()).await.expect("start");
    let store = running.state.store.clone();
    let raw_per_sec = raw_commits(&store).await;
    let tokens = setup(&store).await;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS).build().expect("client");

    let queue = std::sync::Arc::new(std::sync::Mutex::new(tokens));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let queue = std::sync::Arc::clone(&queue);
        let http = http.clone();
        let base = base.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            loop {
                let next = queue.lock().expect("queue").pop();
                let Some(token) = next else { break };
                let t0 = Instant::now();
                let res = http.post(format!("{base}/rsvp/{token}")).form(&[("answer", "yes")]).send().await;
                latencies.push(t0.elapsed());
                if !res.is_ok_and(|r| r.status().is_success()) {
                    errors += 1;
                }
            }
            (latencies, errors)
        });
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        let (l, e) = r.expect("client task");
        latencies.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let pick = |q: f64| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
        let i = ((latencies.len() as f64) * q) as usize;
        latencies[i.min(latencies.len() - 1)]
    };
    running.stop().await.expect("stop");
    #[allow(clippy::cast_precision_loss)]
    let rsvp_per_sec = latencies.len() as f64 / elapsed.as_secs_f64();
    Figures { raw_per_sec, rsvp_per_sec, p50: pick(0.50), p99: pick(0.99), errors }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        println!(
            "RSVP benchmark: {ANSWERS} answers, {CLIENTS} concurrent clients, {} cores",
            std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
        );
        println!(
            "{:<10} {:>14} {:>12} {:>8} {:>9} {:>9} {:>7}",
            "engine", "raw commits/s", "answers/s", "ratio", "p50 ms", "p99 ms", "errors"
        );
        let transport = std::env::var("DIALOGFORUM_BENCH_MAIL").unwrap_or_else(|_| "log".to_owned());
        println!("mail transport: {transport}");
        let dir = tempfile::tempdir().expect("temp dir");
        let mut engines = vec![("sqlite".to_owned(), format!("sqlite://{}/bench.db", dir.path().display()), None)];
        if let Ok(admin) = std::env::var("DIALOGFORUM_TEST_POSTGRES_URL") {
            let name = format!("dialogforum_bench_{}", std::process::id());
            let pool = sqlx::PgPool::connect(&admin).await.expect("postgres");
            sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
                .execute(&pool)
                .await
                .expect("create db");
            let mut url = url::Url::parse(&admin).expect("url");
            url.set_path(&format!("/{name}"));
            engines.push(("postgres".to_owned(), url.to_string(), Some((pool, name))));
        }
        for (engine, url, cleanup) in engines {
            let f = run(&url, dir.path(), &transport).await;
            println!(
                "{engine:<10} {:>14.0} {:>12.0} {:>7.0}% {:>9.1} {:>9.1} {:>7}",
                f.raw_per_sec,
                f.rsvp_per_sec,
                100.0 * f.rsvp_per_sec / f.raw_per_sec,
                f.p50.as_secs_f64() * 1000.0,
                f.p99.as_secs_f64() * 1000.0,
                f.errors
            );
            if let Some((pool, name)) = cleanup {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("drop database if exists {name} with (force)")))
                    .execute(&pool)
                    .await;
            }
        }
    });
}
