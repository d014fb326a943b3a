//! Bar charts drawn on the server as SVG: no script, no style attributes. Each
//! chart is an image with a title (`role="img"`); the page puts the same
//! numbers in a data table next to it for screen readers. A grouped chart
//! draws several series (a choice question's options, say), each under its
//! own label inside the image, so no series is told apart by colour alone.

use std::fmt::Write;

use crate::web::views::escape;

/// One bar.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// The value as shown at the end of the bar ("12", "3,4").
    pub shown: String,
}

const WIDTH: f64 = 640.0;
const LABEL_WIDTH: f64 = 220.0;
const VALUE_WIDTH: f64 = 70.0;
const ROW: f64 = 30.0;
const BAR: f64 = 20.0;
/// Longest label drawn; the data table carries the full text.
const LABEL_CHARS: usize = 28;

fn shorten(s: &str) -> String {
    if s.chars().count() <= LABEL_CHARS {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(LABEL_CHARS - 1).collect();
        t.push('…');
        t
    }
}

/// A horizontal bar chart. `id` must be unique on the page (it names the
/// title element); `max` is the value of a full-length bar (at least the
/// largest value is used).
#[must_use]
pub fn bar_chart(id: &str, title: &str, bars: &[Bar], max: f64) -> String {
    let max = bars.iter().map(|b| b.value).fold(max, f64::max);
    #[allow(clippy::cast_precision_loss)] // a handful of bars
    let height = ROW * bars.len() as f64 + 10.0;
    let mut out = String::new();
    open(&mut out, id, title, height);
    axis(&mut out, height);
    for (i, b) in bars.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = ROW * i as f64 + 5.0;
        bar_row(&mut out, b, y, max, PALETTE[0]);
    }
    out.push_str("</svg>");
    out
}

/// Opens a chart `height` high, titled `title`, under the id `id`.
fn open(out: &mut String, id: &str, title: &str, height: f64) {
    let id = escape(id);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="{id}-title" viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" focusable="false"><title id="{id}-title">{}</title>"#,
        escape(title)
    );
}

/// The line the bars start from.
fn axis(out: &mut String, height: f64) {
    let _ = write!(
        out,
        r##"<line x1="{LABEL_WIDTH}" y1="0" x2="{LABEL_WIDTH}" y2="{height}" stroke="#4a4a4a" stroke-width="1"/>"##
    );
}

/// Bar `b` in the row at `y`, in `colour`, its length its value's share of
/// `max` (a value above nothing is seen however small).
fn bar_row(out: &mut String, b: &Bar, y: f64, max: f64, colour: &str) {
    let span = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let w = if max > 0.0 { (b.value.max(0.0) / max * span).max(if b.value > 0.0 { 2.0 } else { 0.0 }) } else { 0.0 };
    let text_y = y + BAR * 0.75;
    let _ = write!(
        out,
        r##"<text x="{}" y="{text_y}" text-anchor="end" font-size="14" fill="#1a1a1a">{}</text><rect x="{}" y="{y}" width="{w:.1}" height="{BAR}" fill="{colour}"/><text x="{:.1}" y="{text_y}" font-size="14" fill="#1a1a1a">{}</text>"##,
        LABEL_WIDTH - 8.0,
        escape(&shorten(&b.label)),
        LABEL_WIDTH + 1.0,
        LABEL_WIDTH + w + 6.0,
        escape(&b.shown)
    );
}

/// One labelled group of bars in a [`grouped_bar_chart`].
#[derive(Debug, Clone)]
pub struct Group {
    /// Written above the group's bars, in bold.
    pub label: String,
    pub bars: Vec<Bar>,
}

/// The colours of successive groups; each is at least 4.5:1 against white.
const PALETTE: [&str; 6] = ["#0b5394", "#8a4a00", "#2e6b1a", "#741b47", "#4a4a4a", "#0a6870"];

/// A horizontal bar chart of several groups, each under its label and in a
/// colour of its own: a choice question's options with each one's share per
/// meeting, for instance. `max` is the value of a full-length bar (at least
/// the largest value is used).
#[must_use]
pub fn grouped_bar_chart(id: &str, title: &str, groups: &[Group], max: f64) -> String {
    let max = groups.iter().flat_map(|g| &g.bars).map(|b| b.value).fold(max, f64::max);
    let rows = groups.iter().map(|g| g.bars.len() + 1).sum::<usize>();
    #[allow(clippy::cast_precision_loss)] // a few dozen rows
    let height = ROW * rows as f64 + 10.0;
    let mut out = String::new();
    open(&mut out, id, title, height);
    let mut row = 0usize;
    for (n, g) in groups.iter().enumerate() {
        let colour = PALETTE[n % PALETTE.len()];
        #[allow(clippy::cast_precision_loss)]
        let y = ROW * row as f64 + 5.0;
        let _ = write!(
            out,
            r##"<rect x="0" y="{}" width="12" height="12" fill="{colour}"/><text x="18" y="{:.1}" font-size="14" font-weight="700" fill="#1a1a1a">{}</text>"##,
            y + 5.0,
            y + BAR * 0.75,
            escape(&g.label)
        );
        row += 1;
        for b in &g.bars {
            #[allow(clippy::cast_precision_loss)]
            let y = ROW * row as f64 + 5.0;
            bar_row(&mut out, b, y, max, colour);
            row += 1;
        }
    }
    axis(&mut out, height);
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::{Bar, bar_chart};

    #[test]
    fn a_chart_is_an_image_with_a_title_and_escapes_its_text() {
        let svg = bar_chart(
            "c1",
            "Balance <talk & discussion>",
            &[
                Bar { label: "Too much \"talk\"".into(), value: 3.0, shown: "3".into() },
                Bar { label: "Balanced".into(), value: 0.0, shown: "0".into() },
            ],
            0.0,
        );
        assert!(
            svg.starts_with("<svg") && svg.contains(r#"role="img""#) && svg.contains(r#"aria-labelledby="c1-title""#)
        );
        assert!(svg.contains("<title id=\"c1-title\">Balance &lt;talk &amp; discussion&gt;</title>"));
        assert!(svg.contains("Too much &quot;talk&quot;"));
        assert!(!svg.contains("style="));
        assert_eq!(svg.matches("<rect").count(), 2);
    }

    #[test]
    fn a_grouped_chart_names_each_group_and_each_bar() {
        let bars = |a: f64, b: f64| {
            vec![
                Bar { label: "16. møde (2024)".into(), value: a, shown: format!("{a} %") },
                Bar { label: "17. møde (2025)".into(), value: b, shown: format!("{b} %") },
            ]
        };
        let svg = super::grouped_bar_chart(
            "t",
            "Hvor ofte?",
            &[
                super::Group { label: "Hvert halve år".into(), bars: bars(60.0, 40.0) },
                super::Group { label: "Én gang om året & sjældnere".into(), bars: bars(40.0, 60.0) },
            ],
            100.0,
        );
        assert!(svg.contains(r#"role="img""#) && svg.contains("<title id=\"t-title\">Hvor ofte?</title>"));
        assert!(svg.contains(">Hvert halve år</text>") && svg.contains(">Én gang om året &amp; sjældnere</text>"));
        assert_eq!(svg.matches(">16. møde (2024)</text>").count(), 2, "each group names its meetings");
        assert_eq!(svg.matches("<rect").count(), 6, "a key square per group and a bar per meeting");
        assert!(svg.contains(r##"fill="#0b5394""##) && svg.contains(r##"fill="#8a4a00""##), "a colour per group");
        assert!(!svg.contains("style="));
    }
}
