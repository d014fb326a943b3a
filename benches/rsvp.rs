//! RSVP throughput: "yes" answers per second and their p99 latency with 64
//! concurrent clients, over HTTP against the real service, beside the raw
//! single-row commit rate of the same database measured in the same run, and
//! what each stage of an answer costs when measured alone.
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
//!
//! The stages, after the end-to-end run and on a second meeting of the same
//! shape: the HTTP round trip of `/healthz` through all middleware and the
//! reads that find the answer's registration and meeting from its token,
//! each from 64 concurrent tasks; then the serialised part as a meeting's
//! desk runs it, in transactions of [`BATCH`] answers one after another, with
//! each step timed on its own (seat allocation, composing the mails, the
//! outbox insert, the audit insert, the commit). A figure is wall time per
//! answer; for the concurrent stages that is the inverse of their rate.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dialogforum::app::{self, StartOptions};
use dialogforum::config::Settings;
use dialogforum::domain::{
    Email, MeetingFormat, MeetingId, MeetingStatus, Name, PersonId, PersonStatus, RegistrationId, Token, TokenPurpose,
};
use dialogforum::forum::Forum;
use dialogforum::i18n::Lang;
use dialogforum::mail::compose::notices::To;
use dialogforum::mail::compose::rsvp as rsvp_mail;
use dialogforum::store::Store;
use dialogforum::store::audit::{self, Actor, Entry};
use dialogforum::store::meetings::{NewMeeting, insert_meeting};
use dialogforum::store::outbox::enqueue_many;
use dialogforum::store::people::{NewPerson, insert_person_if_new};
use dialogforum::store::registrations::insert_invited;
use dialogforum::store::rsvp::{self as store_rsvp, Answer, Seat};
use dialogforum::store::tokens::{NewLinkToken, insert_link_tokens};

const CLIENTS: usize = 64;
const ANSWERS: usize = 3000;
/// Answers per transaction in the serialised stages: about what a desk
/// gathers while its previous transaction runs at this concurrency.
const BATCH: usize = 32;

struct Figures {
    raw_per_sec: f64,
    rsvp_per_sec: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
    stages: Vec<(&'static str, Duration)>,
}

/// One invitation of the benchmark: its link's token and who it is for.
struct Invited {
    token: String,
    registration: RegistrationId,
    person: PersonId,
    email: Email,
    name: String,
}

/// Runs `op(0..n)` from [`CLIENTS`] concurrent tasks; returns the wall time per call.
async fn concurrently<F, Fut>(n: usize, op: F) -> Duration
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (next, op) = (Arc::clone(&next), op.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                op(i).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    start.elapsed() / u32::try_from(n).expect("count")
}

async fn raw_commits(store: &Store) -> f64 {
    // The same kind of write an answer makes, alone: one row, one transaction.
    let store = store.clone();
    let per = concurrently(ANSWERS, move |i| {
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.expect("begin");
            let detail = format!("raw-{i}");
            let e = Entry { action: "bench.raw", subject_kind: "", subject_id: None, detail: &detail, row_count: None };
            audit::record(&mut tx, &Actor::System("bench"), &e).await.expect("insert");
            tx.commit().await.expect("commit");
        }
    })
    .await;
    1.0 / per.as_secs_f64()
}

async fn setup(store: &Store, title: &str) -> (MeetingId, Vec<Invited>) {
    let mut tx = store.begin().await.expect("begin");
    let now = jiff::Timestamp::now();
    let meeting = NewMeeting {
        number: None,
        title: title.into(),
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
        let email = Email::parse(&format!("{}{i}@firma{}.example", title.to_lowercase(), i % 500)).expect("email");
        let name = format!("{title} {i}");
        let person = NewPerson {
            email: email.clone(),
            name: Name::parse(&name).expect("name"),
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
        out.push(Invited { token: t.expose().to_owned(), registration: rid, person: pid, email, name });
    }
    insert_invited(&mut tx, id, &regs).await.expect("registrations");
    insert_link_tokens(&mut tx, &tokens).await.expect("tokens");
    tx.commit().await.expect("commit");
    (id, out)
}

/// The answers over HTTP: answers per second, p50, p99 and errors.
async fn answers(base: &str, http: &reqwest::Client, invited: &[Invited]) -> (f64, Duration, Duration, usize) {
    let queue = Arc::new(std::sync::Mutex::new(invited.iter().map(|i| i.token.clone()).collect::<Vec<_>>()));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let queue = Arc::clone(&queue);
        let http = http.clone();
        let base = base.to_owned();
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
    #[allow(clippy::cast_precision_loss)]
    let per_sec = latencies.len() as f64 / elapsed.as_secs_f64();
    (per_sec, pick(0.50), pick(0.99), errors)
}

/// Waits until the outbox worker has handed over every queued message, so
/// that the stages are measured without it.
async fn drain_outbox(store: &Store) {
    for _ in 0..600 {
        let c = store.outbox_counts().await.expect("outbox counts");
        if c.queued + c.sending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The concurrent stages before the desk: the HTTP round trip of a trivial
/// route, and the reads from a token to its registration and meeting.
async fn edge_stages(
    store: &Store,
    base: &str,
    http: &reqwest::Client,
    invited: &[Invited],
) -> Vec<(&'static str, Duration)> {
    let (http, url) = (http.clone(), format!("{base}/healthz"));
    let round_trip = concurrently(ANSWERS, move |_| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let ok = http.get(url).send().await.is_ok_and(|r| r.status().is_success());
            assert!(ok, "/healthz failed");
        }
    })
    .await;
    let hashes: Arc<Vec<_>> =
        Arc::new(invited.iter().map(|i| Token::from_presented(&i.token).expect("token").hash()).collect());
    let s = store.clone();
    let lookup = concurrently(ANSWERS, move |i| {
        let (s, hashes) = (s.clone(), Arc::clone(&hashes));
        async move {
            let found = s.registration_by_link(&hashes[i], TokenPurpose::Rsvp).await.expect("token");
            let (_, reg) = found.expect("known token");
            s.meeting(reg.meeting_id).await.expect("meeting");
        }
    })
    .await;
    vec![
        ("HTTP round trip (/healthz, all middleware)", round_trip),
        ("token lookup: token, registration, meeting", lookup),
    ]
}

/// The serialised part as a meeting's desk runs it, in transactions of
/// [`BATCH`] answers, each step timed alone.
async fn desk_stages(forum: &Forum, meeting: MeetingId, invited: &[Invited]) -> Vec<(&'static str, Duration)> {
    let store = &forum.store;
    let m = store.meeting(meeting).await.expect("meeting");
    let yes = Answer {
        attend: true,
        track: None,
        diet: String::new(),
        access_needs: String::new(),
        comment: String::new(),
        listing: None,
    };
    let mut took = [Duration::ZERO; 5];
    let mut lap = |i: usize, since: &mut Instant| {
        took[i] += since.elapsed();
        *since = Instant::now();
    };
    for batch in invited.chunks(BATCH) {
        let mut t = Instant::now();
        let mut tx = store.begin().await.expect("begin");
        store_rsvp::lock_for_answers(&mut tx, meeting).await.expect("lock");
        let mut seats = Vec::with_capacity(batch.len());
        for i in batch {
            let (seat, held, _) =
                store_rsvp::answer_locked(&mut tx, meeting, i.registration, &yes).await.expect("answer");
            seats.push((seat, held));
        }
        lap(0, &mut t);
        let mut messages = Vec::with_capacity(batch.len());
        for (i, (seat, held)) in batch.iter().zip(&seats) {
            let to = To { person: i.person, email: &i.email, name: &i.name, lang: Lang::Da };
            let url = format!("{}/rsvp/{}", forum.mail.base_url, i.token);
            let mail = rsvp_mail::confirmation(&forum.mail, to, &m, i.registration, *seat, Some(&url), *held);
            messages.push(mail.expect("compose"));
        }
        lap(1, &mut t);
        enqueue_many(&mut tx, &messages).await.expect("outbox");
        lap(2, &mut t);
        let entries: Vec<_> = batch
            .iter()
            .zip(&seats)
            .map(|(i, (seat, _))| {
                let action = if *seat == Seat::Attending { "rsvp.attending" } else { "rsvp.waitlisted" };
                (Actor::Person(i.person.uuid()), Entry::on_registration(action, i.registration))
            })
            .collect();
        audit::record_many(&mut tx, &entries).await.expect("audit");
        lap(3, &mut t);
        tx.commit().await.expect("commit");
        lap(4, &mut t);
    }
    let n = u32::try_from(invited.len()).expect("count");
    let names = [
        "seat allocation (lock, judge, write)",
        "composing the mails (QR PNG, .ics)",
        "outbox insert",
        "audit insert",
        "commit",
    ];
    names.into_iter().zip(took.map(|d| d / n)).collect()
}

/// What composing one confirmation costs: with a seat (QR PNG and .ics) and on the waiting list.
fn compose_costs(
    forum: &Forum,
    m: &dialogforum::store::meetings::Meeting,
    i: &Invited,
) -> Vec<(&'static str, Duration)> {
    const N: u32 = 200;
    let to = To { person: i.person, email: &i.email, name: &i.name, lang: Lang::Da };
    let url = format!("{}/rsvp/{}", forum.mail.base_url, i.token);
    let seats = [
        ("  one confirmation with a seat (QR PNG, .ics)", Seat::Attending),
        (
            "  one confirmation on the waiting list",
            Seat::Waitlisted { place: 1, why: dialogforum::domain::WaitReason::MeetingFull },
        ),
    ];
    seats
        .into_iter()
        .map(|(what, seat)| {
            let t = Instant::now();
            for _ in 0..N {
                rsvp_mail::confirmation(&forum.mail, to, m, i.registration, seat, Some(&url), false).expect("compose");
            }
            (what, t.elapsed() / N)
        })
        .collect()
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
    let forum = running.state.forum.clone();
    let raw_per_sec = raw_commits(&store).await;
    let (_, invited) = setup(&store, "Bench").await;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS).build().expect("client");
    let (rsvp_per_sec, p50, p99, errors) = answers(&base, &http, &invited).await;

    let (second, apart) = setup(&store, "Stage").await;
    drain_outbox(&store).await;
    let mut stages = edge_stages(&store, &base, &http, &apart).await;
    stages.extend(desk_stages(&forum, second, &apart).await);
    let m = store.meeting(second).await.expect("meeting");
    stages.extend(compose_costs(&forum, &m, &apart[0]));
    running.stop().await.expect("stop");
    Figures { raw_per_sec, rsvp_per_sec, p50, p99, errors, stages }
}

fn print_stages(f: &Figures) {
    let answer = 1.0 / f.rsvp_per_sec;
    println!("  {:<46} {:>10} {:>10} {:>11}", "stage", "µs/answer", "alone /s", "of answer");
    for (what, per) in &f.stages {
        let s = per.as_secs_f64();
        println!("  {what:<46} {:>10.0} {:>10.0} {:>10.0}%", s * 1e6, 1.0 / s, 100.0 * s / answer);
    }
    println!("  {:<46} {:>10.0} {:>10.0} {:>10}", "end to end (answers/s above)", answer * 1e6, f.rsvp_per_sec, "100%");
    println!("  {:<46} {:>10.0} {:>10.0}", "raw single-row commit", 1e6 / f.raw_per_sec, f.raw_per_sec);
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        println!(
            "RSVP benchmark: {ANSWERS} answers, {CLIENTS} concurrent clients, {} cores, stages in batches of {BATCH}",
            std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
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
                "{:<10} {:>14} {:>12} {:>8} {:>9} {:>9} {:>7}",
                "engine", "raw commits/s", "answers/s", "ratio", "p50 ms", "p99 ms", "errors"
            );
            println!(
                "{engine:<10} {:>14.0} {:>12.0} {:>7.0}% {:>9.1} {:>9.1} {:>7}",
                f.raw_per_sec,
                f.rsvp_per_sec,
                100.0 * f.rsvp_per_sec / f.raw_per_sec,
                f.p50.as_secs_f64() * 1000.0,
                f.p99.as_secs_f64() * 1000.0,
                f.errors
            );
            print_stages(&f);
            if let Some((pool, name)) = cleanup {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("drop database if exists {name} with (force)")))
                    .execute(&pool)
                    .await;
            }
        }
    });
}
