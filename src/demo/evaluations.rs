//! Made-up evaluation results for the last few historic meetings, so the
//! results and trend pages have something to show. Marked as demo data in the
//! database and on every page that shows them. The answers come from a fixed
//! seed, so every installation shows the same; a meeting that already has an
//! evaluation is left alone.

use std::collections::BTreeMap;

use jiff::SignedDuration;

use crate::domain::evaluation::{Answer, Answers};
use crate::store::{Store, StoreError};

/// Meeting number, people sent to, people who answered, and the weights of
/// ratings 1–5 for "overall" (the forum's meetings get better in the demo).
const MEETINGS: &[(i32, i64, usize, [u32; 5])] =
    &[(14, 52, 31, [1, 3, 9, 12, 6]), (15, 58, 37, [1, 2, 8, 16, 10]), (16, 61, 42, [0, 2, 6, 18, 16])];

const THEMES: &[&str] = &[
    "Kunstig intelligens i sagsbehandlingen",
    "NIS2 og leverandørkæden",
    "Cloud og datasuverænitet",
    "Fælles standarder for integrationer",
    "Grøn it og energiforbrug i drift",
    "Markedsdialog før store udbud",
];

const COMMENTS: &[&str] = &[
    "Gode drøftelser ved bordene.",
    "Mere tid til spørgsmål efter oplæggene.",
    "Fint at møde kommunerne direkte.",
    "Send gerne præsentationerne ud før mødet.",
];

/// A small deterministic generator (a linear congruential one): demo data
/// must be the same every time, and needs no cryptographic quality.
struct Seq(u64);

impl Seq {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(self.0 >> 33).unwrap_or(0) % n.max(1)
    }

    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut pick = u32::try_from(self.next(usize::try_from(total).unwrap_or(1))).unwrap_or(0);
        for (i, w) in weights.iter().enumerate() {
            if pick < *w {
                return i;
            }
            pick -= w;
        }
        weights.len() - 1
    }
}

fn answers(seq: &mut Seq, overall: &[u32; 5], i: usize) -> Answers {
    let rating = |seq: &mut Seq, w: &[u32]| Answer::Rating(u8::try_from(seq.weighted(w) + 1).unwrap_or(3));
    let pick = |seq: &mut Seq, keys: &[&str], w: &[u32]| Answer::Choice(keys[seq.weighted(w)].to_owned());
    let mut a = BTreeMap::new();
    a.insert("overall".to_owned(), rating(seq, overall));
    a.insert("theme_relevance".to_owned(), rating(seq, &[0, 2, 8, 14, 9]));
    a.insert("balance".to_owned(), pick(seq, &["too_much_talk", "balanced", "too_much_discussion"], &[9, 20, 3]));
    a.insert("frequency".to_owned(), pick(seq, &["more_often", "as_now", "less_often"], &[8, 22, 2]));
    a.insert("format".to_owned(), pick(seq, &["physical", "virtual", "hybrid"], &[16, 3, 12]));
    a.insert("planning_group".to_owned(), pick(seq, &["yes", "no"], &[1, 6]));
    if i.is_multiple_of(3) {
        a.insert("next_themes".to_owned(), Answer::Text(THEMES[seq.next(THEMES.len())].to_owned()));
    }
    if i.is_multiple_of(5) {
        a.insert("comments".to_owned(), Answer::Text(COMMENTS[seq.next(COMMENTS.len())].to_owned()));
    }
    Answers(a)
}

/// Adds demo results to those of the last historic meetings that have no
/// evaluation yet; returns how many meetings got them.
///
/// # Errors
/// The database failed.
pub async fn load(store: &Store) -> anyhow::Result<usize> {
    let mut added = 0;
    for (number, recipients, responses, overall) in MEETINGS {
        let meeting = match store.meeting_by_number(*number).await {
            Ok(m) => m,
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e.into()),
        };
        if store.evaluation(meeting.id).await?.is_some() {
            continue;
        }
        let mut seq = Seq(u64::from(number.unsigned_abs()));
        let all: Vec<Answers> = (0..*responses).map(|i| answers(&mut seq, overall, i)).collect();
        let sent_at = meeting.ends_at + SignedDuration::from_hours(24);
        let closes_at = sent_at + SignedDuration::from_hours(24 * 14);
        let mut tx = store.begin().await?;
        if crate::store::evaluations::insert_demo(&mut tx, meeting.id, sent_at, closes_at, *recipients, &all).await? {
            added += 1;
        }
        tx.commit().await?;
    }
    Ok(added)
}
