//! The evaluation report's pictures, as standalone SVG: the confusion matrix as a heat map
//! and the reliability diagram (accuracy against confidence per bin).

use crate::eval::{Calibration, Report};
use std::fmt::Write;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The confusion matrix: one row per gold intent, one column per predicted intent, each cell
/// shaded by its share of the row (so every intent's recall reads the same way), with counts.
pub fn confusion(r: &Report) -> String {
    let n = r.labels.len();
    let (cell, left, top) = (18.0, 200.0, 200.0);
    let (w, h) = (left + cell * n as f64 + 20.0, top + cell * n as f64 + 40.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="16" font-size="13">Confusion matrix: rows gold, columns predicted (shade: share of the row)</text>
"#
    );
    for (i, label) in r.labels.iter().enumerate() {
        let y = top + cell * i as f64 + cell * 0.7;
        let _ = writeln!(s, r#"<text x="{}" y="{y}" text-anchor="end">{}</text>"#, left - 4.0, escape(label));
        let x = left + cell * i as f64 + cell * 0.7;
        let _ = writeln!(s, r#"<text transform="translate({x},{}) rotate(-60)">{}</text>"#, top - 4.0, escape(label));
    }
    for (g, row) in r.confusion.iter().enumerate() {
        let total: usize = row.iter().sum();
        for (p, &count) in row.iter().enumerate() {
            let share = if total > 0 { count as f64 / total as f64 } else { 0.0 };
            let (x, y) = (left + cell * p as f64, top + cell * g as f64);
            let color = if g == p { (40.0, 120.0, 60.0) } else { (200.0, 60.0, 40.0) };
            let mix = |c: f64| (255.0 - (255.0 - c) * share).round() as u8;
            let _ = writeln!(
                s,
                r##"<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="#{:02x}{:02x}{:02x}" stroke="#ddd"/>"##,
                mix(color.0),
                mix(color.1),
                mix(color.2)
            );
            if count > 0 {
                let fill = if share > 0.5 { "white" } else { "black" };
                let _ = writeln!(
                    s,
                    r#"<text x="{}" y="{}" text-anchor="middle" font-size="8" fill="{fill}">{count}</text>"#,
                    x + cell / 2.0,
                    y + cell * 0.68
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

/// The reliability diagram: per confidence bin, a bar at the bin's accuracy, beside the
/// diagonal a perfectly calibrated engine would follow; counts under the bars.
pub fn reliability(c: &Calibration) -> String {
    let (size, left, top) = (320.0, 50.0, 30.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="18" font-size="13">Reliability (ECE {:.3})</text>
<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none" stroke="#333"/>
<line x1="{left}" y1="{}" x2="{}" y2="{top}" stroke="#999" stroke-dasharray="4 3"/>
"##,
        left + size + 20.0,
        top + size + 50.0,
        c.ece,
        top + size,
        left + size
    );
    let width = size / c.bins.len().max(1) as f64;
    for (i, b) in c.bins.iter().enumerate() {
        let x = left + width * i as f64;
        if b.count > 0 {
            let h = size * b.accuracy;
            let _ = writeln!(
                s,
                r##"<rect x="{}" y="{}" width="{}" height="{h}" fill="#3b7dd8" fill-opacity="0.8"/>"##,
                x + 1.0,
                top + size - h,
                width - 2.0
            );
        }
        let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="middle" font-size="9">{}</text>"#, x + width / 2.0, top + size + 14.0, b.count);
    }
    for k in 0..=4 {
        let v = k as f64 / 4.0;
        let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">{v:.2}</text>"#, left - 4.0, top + size - size * v + 4.0);
        let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="middle">{v:.2}</text>"#, left + size * v, top + size + 28.0);
    }
    let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="middle">confidence (answers per bin above)</text>"#, left + size / 2.0, top + size + 44.0);
    let _ = writeln!(s, r#"<text transform="translate(14,{}) rotate(-90)" text-anchor="middle">accuracy</text>"#, top + size / 2.0);
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{calibration, score, Prediction};

    #[test]
    fn pictures_are_well_formed_and_show_the_data() {
        let labels: Vec<String> = ["a<b", "c"].iter().map(|s| s.to_string()).collect();
        let p = |l: &str| Some(Prediction { intent: l.into(), confidence: 0.8, latency_us: 1, batch_size: 1 });
        let r = score(&labels, &["a<b", "c", "c"], &[p("a<b"), p("a<b"), p("c")], &["en".into(), "en".into(), "en".into()]);
        let svg = confusion(&r);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a&lt;b") && !svg.contains("a<b"));
        assert_eq!(svg.matches("<rect x=").count(), 4, "one cell per label pair");
        let rel = reliability(&calibration(&[(0.8, true), (0.8, false), (0.2, false)]));
        assert!(rel.contains("ECE 0.267"), "{rel}");
        assert_eq!(rel.matches("fill=\"#3b7dd8\"").count(), 2, "one bar per non-empty bin");
    }
}
