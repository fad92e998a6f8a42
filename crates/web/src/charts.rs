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
    // Whole-number ticks: a count of answers is never 0.4. At most 5 steps from 0 to a multiple
    // of the step at or above the largest count.
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    let split = top.min(5);
    let step = (top + split - 1) / split;
    if chart.y_axis_configs.is_empty() {
        chart.y_axis_configs.push(charts_rs::YAxisConfig::default());
    }
    let axis = &mut chart.y_axis_configs[0];
    axis.min = Some(0.0);
    axis.max = Some((step * split) as f32);
    axis.split_number = split as usize;
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

    #[test]
    fn small_counts_get_whole_number_ticks() {
        let svg = super::bars(&["满意".into(), "不满意".into()], &[2, 1]).unwrap();
        // Every text of the chart: its labels, its ticks and the counts at the bars' ends.
        let texts: Vec<&str> = svg
            .split("<text")
            .skip(1)
            .filter_map(|t| t.split_once('>').and_then(|(_, rest)| rest.split_once('<')))
            .map(|(text, _)| text.trim())
            .collect();
        let numbers: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
            .collect();
        assert!(
            numbers.contains(&"2") && numbers.contains(&"0"),
            "{texts:?}"
        );
        assert!(
            numbers.iter().all(|n| n.parse::<i64>().is_ok()),
            "whole numbers only: {numbers:?}"
        );
    }
}
