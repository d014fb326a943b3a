//! Mail after a crash: what a killed process had claimed goes out within
//! seconds of a restart, not minutes, and a live worker that holds its claims
//! longer than the lease keeps them — nothing is sent twice that was not in
//! flight. The service runs as a separate process, sending to a real SMTP
//! server on a local port.

use std::collections::{HashMap, HashSet};
use std::process::Child;
use std::time::{Duration, Instant};

use dialogforum::app::{self, StartOptions};
use dialogforum::domain::{Email, Role};
use dialogforum::mail::{Composer, Outgoing};
use dialogforum::store::Store;
use dialogforum::store::outbox::{ClaimOwner, Outcome, enqueue};
use uuid::Uuid;

use crate::common::smtp::{Received, SmtpServer};
use crate::common::{self, Engine, TestApp, TestDb, wait_for_counts};

/// The lease before claims were renewed; a crash then delayed mail this long.
const OLD_LEASE: Duration = Duration::from_mins(2);

/// Starts `dialogforum serve` on `db`, sending to `smtp`, with extra settings as environment.
fn serve(db: &TestDb, smtp: &SmtpServer, extra: &[(&str, &str)]) -> Child {
    let url = smtp.url();
    let mut env = vec![
        ("DIALOGFORUM_DATABASE__URL", db.url.as_str()),
        ("DIALOGFORUM_SERVER__BIND", "127.0.0.1:0"),
        ("DIALOGFORUM_MAIL__TRANSPORT", "smtp"),
        ("DIALOGFORUM_MAIL__SMTP_URL", url.as_str()),
        ("DIALOGFORUM_MAIL__FROM", "dialogforum@forum.example"),
    ];
    env.extend_from_slice(extra);
    common::spawn_cli(&["serve"], &env)
}

fn signal(child: &Child, name: &str) {
    let ok = std::process::Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .expect("run kill")
        .success();
    assert!(ok, "kill -{name}");
}

fn kill_hard(child: &mut Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
}

fn per_recipient(msgs: &[Received]) -> HashMap<String, Vec<&Received>> {
    let mut m: HashMap<String, Vec<&Received>> = HashMap::new();
    for r in msgs {
        for to in &r.to {
            m.entry(to.clone()).or_default().push(r);
        }
    }
    m
}

/// Waits until `n` different recipients got mail, up to `secs` seconds.
async fn wait_for_recipients(smtp: &SmtpServer, n: usize, secs: u64) -> Vec<Received> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let msgs = smtp.messages();
        if per_recipient(&msgs).len() >= n || Instant::now() > deadline {
            return msgs;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Queues `n` letters to `who{i}@firma.example`.
async fn queue_letters(store: &Store, n: usize) {
    let composer = Composer::new(
        &Email::parse("dialogforum@forum.example").unwrap(),
        "Dialogforum",
        None,
        "dialogforum.forum.example",
    )
    .unwrap();
    let mut tx = store.begin().await.unwrap();
    for i in 0..n {
        let to = Email::parse(&format!("who{i}@firma.example")).unwrap();
        let m = composer
            .compose(&Outgoing {
                kind: "notice",
                to: &to,
                to_name: Some("Modtager"),
                person_id: None,
                campaign_id: None,
                subject: "Nyt fra Dialogforum",
                text: "Hej\nHer er nyt fra Dialogforum.".to_owned(),
                html: "<p>Hej</p><p>Her er nyt fra Dialogforum.</p>".to_owned(),
                unsubscribe_url: None,
                ics: None,
            })
            .unwrap();
        enqueue(&mut tx, &m).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// An organiser invites every member of the demo forum and `guests` guests to
/// meeting 17 through the API, while no worker runs; returns how many are invited.
async fn invitation_campaign(db: TestDb, guests: usize) -> (TestDb, usize) {
    let running =
        app::start(common::settings(&db, &[]), StartOptions { worker: false }).await.expect("start without a worker");
    let http = reqwest::Client::new();
    let app = TestApp { base: format!("http://{}", running.addr), db, running, http };
    dialogforum::demo::load(app.store(), jiff::civil::date(2026, 11, 27)).await.unwrap();
    let meeting = app.store().meeting_by_number(17).await.unwrap().id.to_string();
    let token = common::api_token(&app, "secretariat@forum.example", Role::Organiser).await;
    let invited_guests = guests;
    let guests: Vec<_> = (0..guests)
        .map(|i| serde_json::json!({"email": format!("gaest{i}@leverandoer.example"), "name": format!("Gæst {i}")}))
        .collect();
    let body = serde_json::json!({"audience": {"all": true}, "guests": guests});
    let res = app.api(&token).post(&format!("/meetings/{meeting}/invitations"), &body).await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    let members = app.store().person_counts().await.unwrap();
    let confirmed = members.iter().find(|(s, _)| s == "confirmed").map_or(0, |(_, n)| *n);
    let TestApp { db, running, .. } = app;
    running.stop().await.unwrap();
    (db, invited_guests + usize::try_from(confirmed).unwrap())
}

/// The test's own look at the outbox rows, behind the service's back.
enum Peek {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Peek {
    async fn open(db: &TestDb) -> Self {
        match db.engine {
            Engine::Sqlite => Self::Sqlite(sqlx::SqlitePool::connect(&db.url).await.unwrap()),
            Engine::Postgres => Self::Postgres(sqlx::PgPool::connect(&db.url).await.unwrap()),
        }
    }

    /// Rows claimed right now: id, recipient, lease end (µs since the epoch).
    async fn claimed(&self) -> Vec<(Uuid, String, Option<i64>)> {
        let sql = "select id, recipient, lease_until from outbox where status = 'sending'";
        match self {
            Self::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
            Self::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
        }
    }

    /// Rows claimed more than once, i.e. taken over from a worker whose lease ran out.
    async fn taken_over(&self) -> i64 {
        let sql = "select count(*) from outbox where attempts > 1";
        match self {
            Self::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
            Self::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        }
    }

    /// Whether nobody is in the middle of writing to the outbox: no SQLite
    /// write lock, no PostgreSQL row lock on it.
    async fn free_of_writers(&self) -> bool {
        match self {
            Self::Sqlite(p) => {
                let opts = (*p.connect_options()).clone().busy_timeout(Duration::from_millis(200));
                let Ok(mut c) = sqlx::ConnectOptions::connect(&opts).await else { return false };
                let free = sqlx::query("begin immediate").execute(&mut c).await.is_ok();
                if free {
                    sqlx::query("rollback").execute(&mut c).await.unwrap();
                }
                free
            }
            Self::Postgres(p) => {
                let mut tx = p.begin().await.unwrap();
                let free = sqlx::query("select id from outbox for update nowait").fetch_all(&mut *tx).await.is_ok();
                tx.rollback().await.unwrap();
                free
            }
        }
    }

    /// Blocks every write to the outbox until the returned guard is released:
    /// to the service the database is away.
    async fn lock_outbox(&self) -> Locked {
        match self {
            Self::Sqlite(p) => {
                let mut c = p.acquire().await.unwrap().detach();
                sqlx::query("begin immediate").execute(&mut c).await.unwrap();
                Locked::Sqlite(c)
            }
            Self::Postgres(p) => {
                let mut tx = p.begin().await.unwrap();
                sqlx::query("lock table outbox in exclusive mode").execute(&mut *tx).await.unwrap();
                Locked::Postgres(tx)
            }
        }
    }

    async fn close(self) {
        match self {
            Self::Sqlite(p) => p.close().await,
            Self::Postgres(p) => p.close().await,
        }
    }
}

enum Locked {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Locked {
    async fn release(self) {
        match self {
            Self::Sqlite(mut c) => {
                sqlx::query("rollback").execute(&mut c).await.unwrap();
            }
            Self::Postgres(tx) => tx.rollback().await.unwrap(),
        }
    }
}

/// Stops `child` (SIGSTOP) at a moment when it is not in the middle of a
/// write, so that the database stays open to others while it stands still.
async fn freeze_outside_a_write(child: &Child, peek: &Peek) {
    for _ in 0..50 {
        signal(child, "STOP");
        if peek.free_of_writers().await {
            return;
        }
        signal(child, "CONT");
        tokio::time::sleep(Duration::from_millis(37)).await;
    }
    panic!("the process was always in the middle of a write");
}

async fn a_restarted_service_sends_what_the_killed_one_had_claimed_within_seconds_not_minutes(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let (db, total) = invitation_campaign(TestDb::new(engine).await, 292).await;
    assert_eq!(total, 300);
    let store = db.store().await;
    let peek = Peek::open(&db).await;
    // The default lease: no lease setting here. A low rate keeps the campaign
    // going long enough to kill it part-way.
    let env = [("DIALOGFORUM_MAIL__RATE_PER_SECOND", "20"), ("DIALOGFORUM_MAIL__MAX_CONNECTIONS", "2")];
    let mut child = serve(&db, &smtp, &env);
    smtp.wait_for(100, 60).await;
    kill_hard(&mut child);
    let killed_at = jiff::Timestamp::now();
    let at_kill = smtp.messages().len();
    assert!((100..total).contains(&at_kill), "killed part-way ({at_kill} of {total} sent)");

    let held = peek.claimed().await;
    assert!(!held.is_empty(), "the killed process held claims");
    let lease_left = held.iter().filter_map(|(_, _, until)| *until).max().unwrap() - killed_at.as_microsecond();
    assert!(
        lease_left <= 16_000_000,
        "the default lease is short: {} s left on the dead process's claims",
        lease_left / 1_000_000
    );
    let held: HashSet<String> = held.into_iter().map(|(_, to, _)| to).collect();

    let restarted = Instant::now();
    let mut child = serve(&db, &smtp, &env);
    let msgs = wait_for_recipients(&smtp, total, 45).await;
    let took = restarted.elapsed();
    let c = wait_for_counts(&store, |c| c.sent >= i64::try_from(total).unwrap(), 20).await;
    kill_hard(&mut child);

    let by = per_recipient(&msgs);
    assert_eq!(by.len(), total, "every invited person got the invitation");
    assert!(
        held.iter().all(|to| by[to].iter().any(|m| m.at > restarted)),
        "what the dead process held went out after the restart"
    );
    assert!(took < Duration::from_secs(45), "the campaign finished {took:?} after the restart");
    assert!(took < OLD_LEASE / 2, "well before the old lease of {OLD_LEASE:?} would have run out: {took:?}");
    assert_eq!(c.sent, i64::try_from(total).unwrap());
    // A repeat is only ever a message the dead process held, and it is the same message.
    for (to, copies) in by.iter().filter(|(_, v)| v.len() > 1) {
        assert!(held.contains(to), "{to} got a second copy without having been in flight");
        let ids: HashSet<_> = copies.iter().map(|m| m.header("Message-ID")).collect();
        assert_eq!(ids.len(), 1, "a repeated message carries the same Message-ID");
    }
    let invitations = msgs.iter().filter(|m| m.text().contains("/rsvp/")).count();
    assert_eq!(invitations, msgs.len(), "each message is an invitation with its answer link");
    clean_up(peek, store, db).await;
}
both_engines!(a_restarted_service_sends_what_the_killed_one_had_claimed_within_seconds_not_minutes);

/// Closes the connections and drops the database.
async fn clean_up(peek: Peek, store: Store, db: TestDb) {
    peek.close().await;
    store.close().await;
    db.drop_db().await;
}

/// A fresh database with letters queued, a mail server that takes its time
/// to accept each, and a second connection to look at the outbox.
struct Bench {
    smtp: SmtpServer,
    db: TestDb,
    store: Store,
    peek: Peek,
}

impl Bench {
    async fn with_letters(engine: Engine, n: usize, accept: Duration) -> Self {
        let smtp = SmtpServer::start().await;
        smtp.accept_slowly(accept);
        let db = TestDb::new(engine).await;
        let store = db.store().await;
        let peek = Peek::open(&db).await;
        queue_letters(&store, n).await;
        Self { smtp, db, store, peek }
    }
}

/// Settings for a worker that sends slowly enough to hold its claims for
/// several leases: one connection, a server that takes its time, batches of 10.
const SLOW: [(&str, &str); 3] = [
    ("DIALOGFORUM_MAIL__LEASE_SECS", "3"),
    ("DIALOGFORUM_MAIL__BATCH_SIZE", "10"),
    ("DIALOGFORUM_MAIL__MAX_CONNECTIONS", "1"),
];
const LEASE: Duration = Duration::from_secs(3);

async fn a_live_worker_keeps_claims_it_holds_longer_than_the_lease_and_a_second_instance_sends_none_twice(
    engine: Engine,
) {
    let n = 30;
    let Bench { smtp, db, store, peek } = Bench::with_letters(engine, n, Duration::from_millis(400)).await;

    let mut first = serve(&db, &smtp, &SLOW);
    smtp.wait_for(1, 30).await;
    let mut second = serve(&db, &smtp, &SLOW);
    // Watch how long each row stays claimed while both instances run.
    let mut claimed_since: HashMap<Uuid, Instant> = HashMap::new();
    let mut longest = Duration::ZERO;
    let deadline = Instant::now() + Duration::from_mins(1);
    while store.outbox_counts().await.unwrap().sent < i64::try_from(n).unwrap() && Instant::now() < deadline {
        let now: HashSet<Uuid> = peek.claimed().await.into_iter().map(|(id, _, _)| id).collect();
        for id in &now {
            claimed_since.entry(*id).or_insert_with(Instant::now);
        }
        for (id, since) in &claimed_since {
            if now.contains(id) {
                longest = longest.max(since.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Time for a wrongly taken-over row to go out a second time.
    tokio::time::sleep(LEASE).await;
    kill_hard(&mut first);
    kill_hard(&mut second);

    let msgs = smtp.messages();
    assert_eq!(per_recipient(&msgs).len(), n, "everyone got the letter");
    assert_eq!(msgs.len(), n, "nobody got it twice");
    assert!(longest > LEASE * 2, "a worker held a claim for {longest:?}, more than two leases of {LEASE:?}");
    assert_eq!(peek.taken_over().await, 0, "no claim of a live worker was taken over");
    clean_up(peek, store, db).await;
}
both_engines!(a_live_worker_keeps_claims_it_holds_longer_than_the_lease_and_a_second_instance_sends_none_twice);

async fn a_stalled_worker_loses_its_claims_after_the_lease_and_does_not_send_them_when_it_wakes(engine: Engine) {
    // The control for the test above: the same two instances, but the first
    // stands still (SIGSTOP) and so cannot renew. Its claims are taken over.
    let n = 30;
    let Bench { smtp, db, store, peek } = Bench::with_letters(engine, n, Duration::from_millis(400)).await;

    let mut first = serve(&db, &smtp, &SLOW);
    smtp.wait_for(1, 30).await;
    let mut second = serve(&db, &smtp, &SLOW);
    smtp.wait_for(3, 30).await;
    freeze_outside_a_write(&first, &peek).await;
    let msgs = wait_for_recipients(&smtp, n, 60).await;
    assert_eq!(per_recipient(&msgs).len(), n, "the second instance sent what the stalled one held");
    let taken_over = peek.taken_over().await;

    // Woken up, the first instance finds its leases lapsed and sends none of it.
    signal(&first, "CONT");
    tokio::time::sleep(LEASE * 2).await;
    let c = wait_for_counts(&store, |c| c.sent >= i64::try_from(n).unwrap(), 30).await;
    tokio::time::sleep(LEASE).await;
    kill_hard(&mut first);
    kill_hard(&mut second);

    let msgs = smtp.messages();
    assert!(taken_over > 1, "the stalled worker's claims were taken over ({taken_over})");
    assert_eq!(c.sent, i64::try_from(n).unwrap());
    // At most the one message that was on the stalled worker's one connection.
    assert!(msgs.len() <= n + 1, "{} messages for {n} recipients", msgs.len());
    clean_up(peek, store, db).await;
}
both_engines!(a_stalled_worker_loses_its_claims_after_the_lease_and_does_not_send_them_when_it_wakes);

async fn a_worker_that_cannot_renew_its_claims_stops_sending_them_and_later_sends_each_once(engine: Engine) {
    let n = 30;
    let Bench { smtp, db, store, peek } = Bench::with_letters(engine, n, Duration::from_millis(300)).await;

    let mut env = SLOW.to_vec();
    env.push(("DIALOGFORUM_DATABASE__BUSY_TIMEOUT_MS", "500"));
    let mut child = serve(&db, &smtp, &env);
    smtp.wait_for(3, 30).await;
    let lock = peek.lock_outbox().await;
    let locked_at = Instant::now();
    tokio::time::sleep(LEASE * 3).await;
    let unlocked_at = Instant::now();
    let sent_while_away = smtp.messages().iter().filter(|m| m.at > locked_at + LEASE + Duration::from_secs(1)).count();
    lock.release().await;
    let c = wait_for_counts(&store, |c| c.sent >= i64::try_from(n).unwrap(), 60).await;
    // A process that gave up on failed renewals would be gone by now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alive = child.try_wait().unwrap().is_none();
    kill_hard(&mut child);

    let msgs = smtp.messages();
    assert!(alive, "failed renewals do not end the service");
    assert_eq!(
        sent_while_away,
        0,
        "nothing was sent once the claims could no longer be renewed (from {:?} to {:?} after the database went away)",
        LEASE + Duration::from_secs(1),
        unlocked_at - locked_at
    );
    assert_eq!(c.sent, i64::try_from(n).unwrap());
    assert_eq!(per_recipient(&msgs).len(), n, "everyone got the letter");
    assert_eq!(msgs.len(), n, "nobody got it twice");
    clean_up(peek, store, db).await;
}
both_engines!(a_worker_that_cannot_renew_its_claims_stops_sending_them_and_later_sends_each_once);

async fn a_renewed_claim_is_not_taken_over_and_an_unrenewed_one_is(engine: Engine) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    queue_letters(&store, 3).await;
    let lease = Duration::from_secs(2);
    let (renewing, silent, other) = (ClaimOwner::generate(), ClaimOwner::generate(), ClaimOwner::generate());
    let kept = store.claim_due(renewing, 1, lease).await.unwrap();
    let lost = store.claim_due(silent, 1, lease).await.unwrap();
    assert_eq!((kept.len(), lost.len()), (1, 1));
    let (kept, lost) = (kept[0].id, lost[0].id);
    assert!(
        store.renew_claims(other, &[kept, lost], lease).await.unwrap().is_empty(),
        "nobody renews another's claims"
    );

    let mut taken = Vec::new();
    let until = Instant::now() + lease * 5 / 2;
    while Instant::now() < until {
        assert_eq!(store.renew_claims(renewing, &[kept], lease).await.unwrap(), vec![kept]);
        taken.extend(store.claim_due(other, 10, lease).await.unwrap().into_iter().map(|c| c.id));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!taken.contains(&kept), "a renewed claim is kept");
    assert!(taken.contains(&lost), "a claim nobody renews is taken over after its lease");
    assert_eq!(taken.len(), 2, "the queued one and the lapsed one: {taken:?}");

    // Only the holder records an outcome, and a finished row is not renewed.
    store
        .record_outcomes(silent, &[(lost, Outcome::Retry { at: jiff::Timestamp::now(), error: "late".into() })])
        .await
        .unwrap();
    store.record_outcomes(renewing, &[(kept, Outcome::Sent)]).await.unwrap();
    assert!(store.renew_claims(renewing, &[kept], lease).await.unwrap().is_empty());
    assert_eq!(
        store.renew_claims(other, &[lost], lease).await.unwrap(),
        vec![lost],
        "the late outcome left the row to its new holder"
    );
    let c = store.outbox_counts().await.unwrap();
    assert_eq!((c.sent, c.sending, c.queued), (1, 2, 0));
    store.close().await;
    db.drop_db().await;
}
both_engines!(a_renewed_claim_is_not_taken_over_and_an_unrenewed_one_is);
