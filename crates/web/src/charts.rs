//! Server-side SVG charts (charts-rs). Every chart is shown with the table of its numbers beside
//! it, so a chart that cannot be drawn is left out rather than failing the page.
//!
//! charts-rs measures labels with its embedded Latin font; Chinese labels are measured right only
//! with a CJK font registered. The first chart registers the one named by `ROUNDTABLE_CHART_FONT`
//! or the first of the usual Debian CJK fonts that is installed; without one, labels still show
//! (the browser picks its own font) but may be spaced too tightly.

use std::sync::OnceLock;

use charts_rs::{HorizontalBarChart, Series};

/// Debian packages fonts-wqy-microhei, fonts-noto-cjk, fonts-wqy-zenhei.
const CJK_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
];

/// The family registered for measuring, if any.
fn cjk_family() -> Option<&'static str> {
    static FAMILY: OnceLock<Option<String>> = OnceLock::new();
    FAMILY
        .get_or_init(|| {
            let configured = std::env::var("ROUNDTABLE_CHART_FONT").ok();
            let path = configured
                .iter()
                .map(String::as_str)
                .chain(CJK_FONTS.iter().copied())
                .find(|p| std::path::Path::new(p).is_file())?;
            let before = charts_rs::get_font_families().unwrap_or_default();
            let bytes = std::fs::read(path).ok()?;
            if let Err(e) = charts_rs::add_fonts(&[&bytes]) {
                tracing::warn!(path, error = %e, "chart font not usable");
                return None;
            }
            let after = charts_rs::get_font_families().unwrap_or_default();
            // Prefer the family's Latin name (what browsers know it by).
            let mut added: Vec<String> =
                after.into_iter().filter(|f| !before.contains(f)).collect();
            added.sort_by_key(|f| !f.is_ascii());
            added.into_iter().next()
        })
        .as_deref()
}

/// A horizontal bar chart of labelled counts (one bar per label, the count written at its end),
/// sized for a phone screen. `None` when there is nothing to draw.
pub fn bars(labels: &[String], counts: &[i64]) -> Option<String> {
    if labels.is_empty() || labels.len() != counts.len() {
        return None;
    }
    // The chart draws its first category at the bottom: reversed, the list reads top-down.
    let values: Vec<f32> = counts.iter().rev().map(|c| *c as f32).collect();
    let mut series = Series::new("人数".to_string(), values);
    series.label_show = true;
    let mut chart = HorizontalBarChart::new(vec![series], labels.iter().rev().cloned().collect());
    chart.width = 600.0;
    chart.height = 60.0 + 36.0 * labels.len() as f32;
    chart.legend.show = Some(false);
    chart.margin.right = 30.0;
    if let Some(family) = cjk_family() {
        chart.font_family = family.to_string();
    }
    chart.svg().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn bars_draw_every_label_and_count() {
        let svg = super::bars(&["停车难".into(), "路灯".into()], &[12, 3]).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("停车难") && svg.contains("路灯"));
        assert!(svg.contains("data-value=\"12\""), "the count is drawn");
        let (first, second) = (svg.find("停车难").unwrap(), svg.find("路灯").unwrap());
        assert!(first < second, "the first label is drawn on top");
        assert!(super::bars(&[], &[]).is_none());
    }
}
