//! Server-rendered SVG charts (no JavaScript): stacked bars per day. The geometry is computed
//! here; `templates/partials/chart.html` only draws it.

use chrono::NaiveDate;

/// Colour-blind-safe palette (Okabe–Ito). Status classes use the first four; series of other
/// kinds (organizations) start after them, so no two charts on a page give one colour two
/// meanings.
const PALETTE: &[&str] = &[
    "#0072B2", "#E69F00", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#882255", "#332288",
    "#117733", "#999999",
];

/// Where a chart's series take their colours from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colours {
    /// HTTP status classes (2xx, 3xx, 4xx, 5xx) and other fixed kinds.
    Status,
    /// Named things (organizations): colours no status class uses.
    Named,
}

impl Colours {
    fn of(self, series: usize) -> &'static str {
        let first = match self {
            Colours::Status => 0,
            Colours::Named => 4,
        };
        let pool = &PALETTE[first..];
        pool[series % pool.len()]
    }
}

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
    /// SVG `text-anchor`: `middle`, or `end` for the last label (so it is not clipped).
    pub anchor: &'static str,
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
    /// The data as a table (for screen readers, and anyone who wants the numbers): the series'
    /// names, then one row per day with a value per series and the day's total.
    pub series_names: Vec<String>,
    pub rows: Vec<(String, Vec<u64>, u64)>,
}

const W: f64 = 720.0;
const H: f64 = 220.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 8.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 8.0;

/// A round step (1, 2 or 5 × 10ⁿ) that divides `0..=max` into at most four intervals, and
/// the axis maximum (a whole number of steps, at least one).
fn axis(max: u64) -> (u64, u64) {
    let target = max.div_ceil(4).max(1);
    let mut mag = 1u64;
    loop {
        for m in [1, 2, 5] {
            let step = m * mag;
            if step >= target {
                let top = max.div_ceil(step).max(1) * step;
                return (step, top);
            }
        }
        mag *= 10;
    }
}

/// Stacked bars: one bar per day, one segment per series (`values[s][d]`).
pub fn stacked(
    id: &str,
    title: &str,
    days: &[NaiveDate],
    series: &[(String, Vec<u64>)],
    colours: Colours,
) -> Chart {
    let n = days.len().max(1) as f64;
    let totals: Vec<u64> = (0..days.len())
        .map(|d| {
            series
                .iter()
                .map(|(_, v)| v.get(d).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let (step, max) = axis(totals.iter().copied().max().unwrap_or(0));
    let plot_w = W - LEFT - RIGHT;
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
                fill: colours.of(s),
                title: format!("{} · {name}: {v}", day.format("%Y-%m-%d")),
            });
        }
    }
    // A label a week, counted back from the last day (so none crowds it); the last one ends at
    // the plot's right edge instead of running past it.
    let last = days.len().saturating_sub(1);
    let x_labels = days
        .iter()
        .enumerate()
        .filter(|(d, _)| (last - d) % 7 == 0)
        .map(|(d, day)| {
            let is_last = d == last;
            Label {
                x: if is_last {
                    format!("{:.1}", W - RIGHT)
                } else {
                    format!("{:.1}", LEFT + d as f64 * slot + slot / 2.0)
                },
                y: format!("{:.1}", H - 6.0),
                text: day.format("%b %-d").to_string(),
                anchor: if is_last { "end" } else { "middle" },
            }
        })
        .collect();
    let mut y_labels = Vec::new();
    let mut grid = Vec::new();
    for k in 0..=(max / step) {
        let value = k * step;
        let y = H - BOTTOM - value as f64 * scale;
        y_labels.push(Label {
            x: format!("{:.1}", LEFT - 6.0),
            y: format!("{:.1}", y + 4.0),
            text: value.to_string(),
            anchor: "end",
        });
        grid.push(format!("{y:.1}"));
    }
    let rows = days
        .iter()
        .enumerate()
        .map(|(d, day)| {
            (
                day.format("%Y-%m-%d").to_string(),
                series
                    .iter()
                    .map(|(_, v)| v.get(d).copied().unwrap_or(0))
                    .collect(),
                totals[d],
            )
        })
        .collect();
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
            .map(|(s, (name, _))| (name.clone(), colours.of(s)))
            .collect(),
        total: totals.iter().sum(),
        series_names: series.iter().map(|(n, _)| n.clone()).collect(),
        rows,
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
            Colours::Status,
        );
        assert_eq!(chart.total, 50);
        assert_eq!(chart.rects.len(), 3, "no rectangles for zero");
        assert_eq!(chart.y_labels.last().unwrap().text, "40");
        let h = |r: &Rect| r.h.parse::<f64>().unwrap();
        // 40 of 40 on the first day, 10 on the third: the full plot height, and a quarter.
        let first_day = h(&chart.rects[0]) + h(&chart.rects[1]);
        assert!((first_day - (H - TOP - BOTTOM)).abs() < 0.2);
        assert!((h(&chart.rects[2]) - 0.25 * (H - TOP - BOTTOM)).abs() < 0.2);
        assert!(chart.rects[1].title.contains("2026-12-01 · 4xx: 10"));
        assert_eq!(chart.rows[0], ("2026-12-01".to_string(), vec![30, 10], 40));
    }

    #[test]
    fn axis_ticks_are_evenly_spaced_round_numbers() {
        let ticks = |max| {
            let (step, top) = axis(max);
            (0..=top / step).map(|k| k * step).collect::<Vec<_>>()
        };
        assert_eq!(ticks(0), vec![0, 1]);
        assert_eq!(ticks(5), vec![0, 2, 4, 6], "never 0, 1, 2, 3, 5");
        assert_eq!(ticks(3), vec![0, 1, 2, 3]);
        assert_eq!(ticks(50), vec![0, 20, 40, 60]);
        assert_eq!(ticks(1234), vec![0, 500, 1000, 1500]);
        for max in 0..3000 {
            let (step, top) = axis(max);
            assert!(top >= max && top / step <= 4 && top % step == 0, "{max}");
        }
    }

    #[test]
    fn date_labels_do_not_crowd_the_last_and_it_ends_inside() {
        let days: Vec<NaiveDate> = (0..30)
            .map(|d| NaiveDate::from_ymd_opt(2026, 11, 8).unwrap() + chrono::Duration::days(d))
            .collect();
        let chart = stacked(
            "c",
            "R",
            &days,
            &[("2xx".into(), vec![1; 30])],
            Colours::Status,
        );
        let xs: Vec<f64> = chart
            .x_labels
            .iter()
            .map(|l| l.x.parse().unwrap())
            .collect();
        assert!(xs.windows(2).all(|w| w[1] - w[0] > 100.0), "{xs:?}");
        let last = chart.x_labels.last().unwrap();
        assert_eq!((last.text.as_str(), last.anchor), ("Dec 7", "end"));
        assert!(*xs.last().unwrap() <= W);
    }

    #[test]
    fn named_series_never_take_a_status_colour() {
        let status: Vec<_> = (0..4).map(|s| Colours::Status.of(s)).collect();
        for s in 0..20 {
            assert!(!status.contains(&Colours::Named.of(s)), "{s}");
        }
    }
}
