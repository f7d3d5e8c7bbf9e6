//! Server-rendered SVG charts (no JavaScript): stacked bars per day. The geometry is computed
//! here; `templates/partials/chart.html` only draws it.

use chrono::NaiveDate;

/// Colour-blind-safe palette (Okabe–Ito), then grey for "other".
const PALETTE: &[&str] = &[
    "#0072B2", "#E69F00", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#F0E442", "#999999",
];

pub struct Rect {
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
    pub fill: &'static str,
    /// Tooltip: "2026-12-01 · 2xx: 41".
    pub title: String,
}

pub struct Label {
    pub x: String,
    pub y: String,
    pub text: String,
}

pub struct Chart {
    pub id: String,
    pub title: String,
    pub width: u32,
    pub height: u32,
    pub rects: Vec<Rect>,
    pub x_labels: Vec<Label>,
    pub y_labels: Vec<Label>,
    pub grid: Vec<String>,
    pub legend: Vec<(String, &'static str)>,
    pub total: u64,
}

const W: f64 = 720.0;
const H: f64 = 220.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 8.0;

fn nice_max(max: u64) -> u64 {
    if max <= 5 {
        return 5;
    }
    let mag = 10u64.pow((max as f64).log10().floor() as u32);
    for step in [1, 2, 5, 10] {
        if max <= step * mag {
            return step * mag;
        }
    }
    10 * mag
}

/// Stacked bars: one bar per day, one segment per series (`values[s][d]`).
pub fn stacked(id: &str, title: &str, days: &[NaiveDate], series: &[(String, Vec<u64>)]) -> Chart {
    let n = days.len().max(1) as f64;
    let totals: Vec<u64> = (0..days.len())
        .map(|d| {
            series
                .iter()
                .map(|(_, v)| v.get(d).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = nice_max(totals.iter().copied().max().unwrap_or(0));
    let plot_w = W - LEFT;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / n;
    let bar_w = (slot * 0.8).max(1.0);
    let scale = plot_h / max as f64;
    let mut rects = Vec::new();
    for (d, day) in days.iter().enumerate() {
        let mut y = H - BOTTOM;
        for (s, (name, values)) in series.iter().enumerate() {
            let v = values.get(d).copied().unwrap_or(0);
            if v == 0 {
                continue;
            }
            let h = v as f64 * scale;
            y -= h;
            rects.push(Rect {
                x: format!("{:.1}", LEFT + d as f64 * slot + (slot - bar_w) / 2.0),
                y: format!("{y:.1}"),
                w: format!("{bar_w:.1}"),
                h: format!("{h:.1}"),
                fill: PALETTE[s.min(PALETTE.len() - 1)],
                title: format!("{} · {name}: {v}", day.format("%Y-%m-%d")),
            });
        }
    }
    let x_labels = days
        .iter()
        .enumerate()
        .filter(|(d, _)| d % 7 == 0 || *d + 1 == days.len())
        .map(|(d, day)| Label {
            x: format!("{:.1}", LEFT + d as f64 * slot + slot / 2.0),
            y: format!("{:.1}", H - 6.0),
            text: day.format("%m-%d").to_string(),
        })
        .collect();
    let mut y_labels = Vec::new();
    let mut grid = Vec::new();
    for k in 0..=4u64 {
        let value = max * k / 4;
        let y = H - BOTTOM - value as f64 * scale;
        y_labels.push(Label {
            x: format!("{:.1}", LEFT - 6.0),
            y: format!("{:.1}", y + 4.0),
            text: value.to_string(),
        });
        grid.push(format!("{y:.1}"));
    }
    Chart {
        id: id.to_string(),
        title: title.to_string(),
        width: W as u32,
        height: H as u32,
        rects,
        x_labels,
        y_labels,
        grid,
        legend: series
            .iter()
            .enumerate()
            .map(|(s, (name, _))| (name.clone(), PALETTE[s.min(PALETTE.len() - 1)]))
            .collect(),
        total: totals.iter().sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_to_the_day_total_and_scale_to_a_round_maximum() {
        let days: Vec<NaiveDate> = (0..3)
            .map(|d| NaiveDate::from_ymd_opt(2026, 12, 1).unwrap() + chrono::Duration::days(d))
            .collect();
        let chart = stacked(
            "c",
            "Requests",
            &days,
            &[
                ("2xx".into(), vec![30, 0, 10]),
                ("4xx".into(), vec![10, 0, 0]),
            ],
        );
        assert_eq!(chart.total, 50);
        assert_eq!(chart.rects.len(), 3, "no rectangles for zero");
        assert_eq!(chart.y_labels.last().unwrap().text, "50");
        let h = |r: &Rect| r.h.parse::<f64>().unwrap();
        // 40 of 50 on the first day: 80 % of the plot height.
        let first_day = h(&chart.rects[0]) + h(&chart.rects[1]);
        assert!((first_day - 0.8 * (H - TOP - BOTTOM)).abs() < 0.2);
        assert!(chart.rects[1].title.contains("2026-12-01 · 4xx: 10"));
        assert_eq!(nice_max(0), 5);
        assert_eq!(nice_max(1234), 2000);
    }
}
