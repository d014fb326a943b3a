//! Export speed and memory: a 100,000-row participant list written as CSV
//! and as XLSX through the export pipeline, beside two baselines measured in
//! the same run on the same SQLite file: reading the rows alone (the
//! database's share), and reading them and writing them with the bare csv
//! crate (no neutralising, no writer thread).
//!
//! Run: `cargo bench --bench export`. This is a measurement, not a test: it
//! prints seconds, peak resident memory (Linux `VmHWM`, reset before each
//! phase through `/proc/self/clear_refs`) and file sizes, and asserts
//! nothing about time. Goal: CSV < 0.3 s, XLSX < 1.5 s, peak RSS flat (far below
//! 150 MB, whatever the number of rows).

use std::time::Instant;

use dialogforum::i18n::Lang;
use dialogforum::store::{ConnectOptions, Store};
use dialogforum::transfer::export::{self, Dest, Format, Job, PARTICIPANTS, Separator, Spec};
use futures_util::TryStreamExt;

const ROWS: usize = 100_000;
const ORGANISATIONS: usize = 2_000;
/// Each phase runs this many times; the median time and the highest peak are shown.
const ROUNDS: usize = 3;

/// The process's peak resident memory since the last reset, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Starts a new peak: the kernel sets `VmHWM` back to the current RSS.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn seed(url: &str) -> uuid::Uuid {
    let pool = sqlx::SqlitePool::connect(url).await.expect("seed connection");
    let at = jiff::Timestamp::now().as_microsecond();
    let meeting = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into meeting (id, number, title, starts_at, ends_at, format, status, created_at, updated_at) \
         values ($1, 16, 'Sikkerhed og data', $2, $2, 'physical', 'open', $2, $2)",
    )
    .bind(meeting)
    .bind(at)
    .execute(&pool)
    .await
    .expect("meeting");
    sqlx::query("insert into track (meeting_id, key, title, position) values ($1, 'ai', 'Kunstig intelligens', 0)")
        .bind(meeting)
        .execute(&pool)
        .await
        .expect("track");
    let orgs: Vec<uuid::Uuid> = (0..ORGANISATIONS).map(|_| uuid::Uuid::now_v7()).collect();
    let mut tx = pool.begin().await.expect("begin");
    for (chunk_no, chunk) in orgs.chunks(1000).enumerate() {
        let mut q = sqlx::QueryBuilder::new("insert into organisation (id, name, name_key, cvr, created_at) ");
        q.push_values(chunk.iter().enumerate(), |mut b, (i, id)| {
            let n = chunk_no * 1000 + i;
            let name = if n % 100 == 0 { format!("=HYPERLINK(\"x\";\"{n}\")") } else { format!("Ærø Data {n} A/S") };
            b.push_bind(*id)
                .push_bind(name.clone())
                .push_bind(name.to_lowercase())
                .push_bind(format!("{:08}", 10_000_000 + n))
                .push_bind(at);
        });
        q.build().execute(&mut *tx).await.expect("organisations");
    }
    for start in (0..ROWS).step_by(1000) {
        let people: Vec<(usize, uuid::Uuid)> = (start..start + 1000).map(|i| (i, uuid::Uuid::now_v7())).collect();
        let mut q = sqlx::QueryBuilder::new(
            "insert into person (id, email, name, organisation_id, status, created_at, updated_at) ",
        );
        q.push_values(&people, |mut b, (i, id)| {
            b.push_bind(*id)
                .push_bind(format!("deltager{i}@firma{}.example", i % ORGANISATIONS))
                .push_bind(format!("Søren Østergård Åberg {i}"))
                .push_bind(orgs[i % ORGANISATIONS])
                .push_bind("confirmed")
                .push_bind(at)
                .push_bind(at);
        });
        q.build().execute(&mut *tx).await.expect("people");
        let mut q = sqlx::QueryBuilder::new(
            "insert into registration (id, meeting_id, person_id, status, track_key, diet, access_needs, \
             answered_at, checked_in_at, created_at, updated_at) ",
        );
        q.push_values(&people, |mut b, (i, id)| {
            b.push_bind(uuid::Uuid::now_v7())
                .push_bind(meeting)
                .push_bind(*id)
                .push_bind("attending")
                .push_bind((i % 3 == 0).then_some("ai"))
                .push_bind(if i % 4 == 0 { "Vegetar; ingen nødder" } else { "" })
                .push_bind(if i % 10 == 0 { "Kørestol" } else { "" })
                .push_bind(at)
                .push_bind((i % 2 == 0).then_some(at))
                .push_bind(at)
                .push_bind(at);
        });
        q.build().execute(&mut *tx).await.expect("registrations");
    }
    tx.commit().await.expect("commit");
    pool.close().await;
    meeting
}

struct Phase {
    name: &'static str,
    seconds: f64,
    peak_mib: f64,
    bytes: u64,
    rows: u64,
}

async fn measure<F: Future<Output = (u64, u64)>>(name: &'static str, mut run: impl FnMut() -> F) -> Phase {
    let mut times = Vec::with_capacity(ROUNDS);
    let (mut peak_mib, mut rows, mut bytes) = (0.0f64, 0, 0);
    for _ in 0..ROUNDS {
        reset_peak();
        let start = Instant::now();
        (rows, bytes) = run().await;
        times.push(start.elapsed().as_secs_f64());
        peak_mib = peak_mib.max(peak_rss_mib());
    }
    times.sort_by(f64::total_cmp);
    Phase { name, seconds: times[ROUNDS / 2], peak_mib, bytes, rows }
}

async fn export_to(store: &Store, meeting: uuid::Uuid, format: Format, path: &std::path::Path) -> (u64, u64) {
    let file = std::fs::File::create(path).expect("output file");
    let sheet = "16. møde Sikkerhed og data".to_owned();
    let mut job = Job::start(Spec { table: &PARTICIPANTS, lang: Lang::Da, format, sheet }, Dest::File(file));
    let m = store.meeting(dialogforum::domain::MeetingId::from_uuid(meeting)).await.expect("the meeting");
    let rows = export::participants(store, &m, Lang::Da, &mut job, |_| {}).await.expect("export");
    job.finish().await.expect("finish");
    (rows, std::fs::metadata(path).map_or(0, |m| m.len()))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = Store::connect(&url, &ConnectOptions::default()).await.expect("store");
        store.migrate().await.expect("migrate");
        let seeding = Instant::now();
        let meeting = seed(&url).await;
        eprintln!("seeded {ROWS} participants in {:.1} s", seeding.elapsed().as_secs_f64());
        let id = dialogforum::domain::MeetingId::from_uuid(meeting);
        // Warm the page cache and the pool once, so no phase pays for the first read.
        let _ = store.participants_stream(id).try_fold(0u64, |n, _| async move { Ok(n + 1) }).await;

        let mut phases = Vec::new();
        phases.push(
            measure("baseline: select only", || async {
                let n = store.participants_stream(id).try_fold(0u64, |n, _| async move { Ok(n + 1) }).await;
                (n.expect("select"), 0)
            })
            .await,
        );
        let bare = dir.path().join("bare.csv");
        phases.push(
            measure("baseline: select + bare csv", || async {
                let mut w = csv::WriterBuilder::new()
                    .delimiter(b';')
                    .from_writer(std::io::BufWriter::new(std::fs::File::create(&bare).expect("file")));
                let mut rows = store.participants_stream(id);
                let mut n = 0;
                while let Some(p) = rows.try_next().await.expect("row") {
                    let checked = p.checked_in_at.map(|t| t.to_string()).unwrap_or_default();
                    w.write_record([
                        p.name.as_str(),
                        p.organisation.as_deref().unwrap_or_default(),
                        p.cvr.as_deref().unwrap_or_default(),
                        &p.email,
                        &p.status,
                        p.track.as_deref().unwrap_or_default(),
                        &p.diet,
                        &p.access_needs,
                        &checked,
                        &p.registered_at.to_string(),
                    ])
                    .expect("write");
                    n += 1;
                }
                w.flush().expect("flush");
                (n, std::fs::metadata(&bare).map_or(0, |m| m.len()))
            })
            .await,
        );
        let csv_path = dir.path().join("deltagere.csv");
        phases.push(
            measure("export: CSV", || export_to(&store, meeting, Format::Csv(Separator::Semicolon), &csv_path)).await,
        );
        let xlsx_path = dir.path().join("deltagere.xlsx");
        phases.push(measure("export: XLSX", || export_to(&store, meeting, Format::Xlsx, &xlsx_path)).await);

        println!("median of {ROUNDS} rounds; peak RSS is the whole process (Linux VmHWM)");
        println!("{:<30} {:>8} {:>10} {:>14} {:>10}", "phase", "rows", "seconds", "peak RSS MiB", "file KiB");
        for p in &phases {
            println!("{:<30} {:>8} {:>10.3} {:>14.1} {:>10}", p.name, p.rows, p.seconds, p.peak_mib, p.bytes / 1024);
        }
        store.close().await;
    });
}
