//! Bar charts drawn on the server as SVG: no script, no style attributes. Each
//! chart is an image with a title (`role="img"`); the page puts the same
//! numbers in a data table next to it for screen readers.

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
    let span = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let id = escape(id);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="{id}-title" viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" focusable="false"><title id="{id}-title">{}</title>"#,
        escape(title)
    );
    let _ = write!(
        out,
        r##"<line x1="{LABEL_WIDTH}" y1="0" x2="{LABEL_WIDTH}" y2="{height}" stroke="#4a4a4a" stroke-width="1"/>"##
    );
    for (i, b) in bars.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = ROW * i as f64 + 5.0;
        let w =
            if max > 0.0 { (b.value.max(0.0) / max * span).max(if b.value > 0.0 { 2.0 } else { 0.0 }) } else { 0.0 };
        let text_y = y + BAR * 0.75;
        let _ = write!(
            out,
            r##"<text x="{}" y="{text_y}" text-anchor="end" font-size="14" fill="#1a1a1a">{}</text><rect x="{}" y="{y}" width="{w:.1}" height="{BAR}" fill="#0b5394"/><text x="{:.1}" y="{text_y}" font-size="14" fill="#1a1a1a">{}</text>"##,
            LABEL_WIDTH - 8.0,
            escape(&shorten(&b.label)),
            LABEL_WIDTH + 1.0,
            LABEL_WIDTH + w + 6.0,
            escape(&b.shown)
        );
    }
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
}
