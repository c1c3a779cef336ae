//! Dropout over time (SPEC §13 R5): per track (and all tracks), the cumulative incidence of
//! dropout by modality as step functions over days since admission, 0 to 120 days (or to the
//! data's last day, rounded up to ten days, when that comes first), with the day 30, 60 and 90
//! marks. All modalities is the heavier black line. Drawn from retention.csv's rows after
//! suppression: a group too small to show (its count at risk blanked) is not drawn and the
//! legend says so; across days whose incidence is blanked the curve is a dotted line from the
//! last value shown to the next (the legend says so too), and the day 30, 60 and 90 markers
//! are drawn where shown. Under small-cell protection the day-by-day rows are withheld and
//! the chart shows retention_summary.csv's figures instead: markers at days 30, 60 and 90
//! joined to each other and to (0, 0) by dashed straight lines (not steps: what happens
//! between those days is not published), which the legend says.

use super::kind::{Chart, ChartKind};
use super::kit::{font, DrawError, Marker, GREY, INK, LIGHT, SERIES, SUPPRESSED};
use crate::analysis::cells::ALL;
use crate::analysis::retention::summary::{Reported, SummaryRow};
use crate::analysis::retention::{Retention, RetentionRow, MARKS};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The longest follow-up drawn, in days.
pub const MAX_DAYS: u32 = 120;

/// One group's dropout curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub label: String,
    /// Episodes in the group (at risk on its first day); `None` when suppressed: not drawn.
    pub n: Option<u64>,
    /// Every row of the group: (day, cumulative incidence of dropout; `None` when blanked).
    pub rows: Vec<(u32, Option<f64>)>,
    /// Whether the incidences are final after the last row ([`RetentionRow::settled`]).
    pub settled: bool,
    /// Only the days of [`MARKS`] are known (retention_summary.csv): drawn as points joined
    /// by dashed lines, not as a step function.
    pub coarse: bool,
}

impl Curve {
    fn drawn(&self) -> bool {
        self.n.is_some() && self.rows.iter().any(|r| r.1.is_some())
    }

    fn gaps(&self) -> bool {
        self.rows.iter().any(|r| r.1.is_none())
    }

    fn last_day(&self) -> u32 {
        self.rows.last().map_or(0, |r| r.0)
    }

    /// The step function from (0, 0), cut at `x_max`, as runs of points: a value holds
    /// from its day to the next row's day (nothing happens between rows), a blanked value
    /// breaks the line until the next value shown, and final incidences (`settled`) hold to
    /// `x_max`.
    fn segments(&self, x_max: u32) -> Vec<Vec<(f64, f64)>> {
        let mut out = Vec::new();
        let mut run = vec![(0.0, 0.0)];
        let mut held = Some(0.0);
        for &(d, v) in &self.rows {
            let (x, past) = if d > x_max {
                (f64::from(x_max), true)
            } else {
                (f64::from(d), false)
            };
            if let Some(h) = held {
                run.push((x, h));
            }
            if past {
                break;
            }
            match v {
                Some(v) => {
                    run.push((x, v));
                    held = Some(v);
                }
                None => {
                    out.push(std::mem::take(&mut run));
                    held = None;
                }
            }
        }
        // Final incidences hold to the end of the axis.
        if let (true, Some(h), Some(&(d, _))) = (self.settled, held, self.rows.last()) {
            if d < x_max {
                run.push((f64::from(x_max), h));
            }
        }
        out.push(run);
        out.retain(|r| r.len() > 1);
        out
    }

    /// The shown incidence by day `mark` (as [`crate::analysis::retention::at_mark`]).
    fn at(&self, mark: u32) -> Option<f64> {
        let last = self.rows.last()?;
        if last.0 < mark && !self.settled {
            return None;
        }
        match self.rows.iter().rev().find(|r| r.0 <= mark) {
            Some(r) => r.1,
            None => Some(0.0),
        }
    }
}

/// The dropout curves of one track.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionChart {
    /// The track, `All` for every track.
    pub track: String,
    /// The file-name key (`all`, or the track's label made safe for a file name).
    pub key: String,
    /// All modalities first, then each modality.
    pub curves: Vec<Curve>,
}

impl RetentionChart {
    /// Whether no curve would be drawn (every group withheld, or every figure of the drawn
    /// ones blank).
    pub fn is_blank(&self) -> bool {
        !self.curves.iter().any(Curve::drawn)
    }

    /// The days drawn: to [`MAX_DAYS`], or to the drawn curves' last day rounded up to ten.
    fn x_max(&self) -> u32 {
        let last = self
            .curves
            .iter()
            .filter(|c| c.drawn())
            .map(Curve::last_day)
            .max()
            .unwrap_or(MAX_DAYS);
        (last.div_ceil(10) * 10).clamp(10, MAX_DAYS)
    }
}

/// A curve from one group's rows.
fn curve(label: &str, rows: &[RetentionRow]) -> Curve {
    Curve {
        label: label.to_string(),
        n: rows.first().and_then(|r| r.n_risk),
        rows: rows.iter().map(|r| (r.day, r.cif_dropout)).collect(),
        settled: rows.last().is_some_and(|r| r.settled),
        coarse: false,
    }
}

/// A curve from one group's figures by day 30, 60 and 90 (the days follow-up reaches).
fn coarse_curve(label: &str, s: &SummaryRow) -> Curve {
    Curve {
        label: label.to_string(),
        n: s.n_episodes,
        rows: (0..MARKS.len())
            .filter(|&k| s.reaches(k))
            .map(|k| (MARKS[k], s.figure(Reported::Dropout, k).cif))
            .collect(),
        settled: false,
        coarse: true,
    }
}

/// The curve of the group of `track` and `modality`: from the day-by-day rows, or from the
/// summary when they are withheld.
fn group_curve(r: &Retention, label: &str, track: &str, modality: &str) -> Option<Curve> {
    if r.withheld {
        r.summary_of(track, modality)
            .map(|s| coarse_curve(label, s))
    } else {
        r.group(track, modality).map(|rows| curve(label, rows))
    }
}

/// A label made safe for a file name: ASCII letters, digits, `-` and `_`, others `_`.
fn file_key(label: &str) -> String {
    label
        .chars()
        .take(40)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One chart per track with groups of its own (all tracks first), each with the
/// all-modalities curve and one per modality.
pub fn charts(r: &Retention) -> Vec<RetentionChart> {
    let mut tracks = vec![ALL.to_string()];
    tracks.extend(r.labels_of("track", ALL));
    let mut keys: Vec<String> = Vec::new();
    tracks
        .into_iter()
        .filter_map(|track| {
            let mut curves = vec![group_curve(r, "all modalities", &track, ALL)?];
            for m in r.labels_of("modality", &track) {
                curves.extend(group_curve(r, &m, &track, &m));
            }
            let base = if track == ALL {
                "all".to_string()
            } else {
                format!("track_{}", file_key(&track))
            };
            let mut key = base.clone();
            let mut k = 2;
            while keys.contains(&key) {
                key = format!("{base}_{k}");
                k += 1;
            }
            keys.push(key.clone());
            Some(RetentionChart { track, key, curves })
        })
        .collect()
}

impl Chart for RetentionChart {
    fn kind(&self) -> ChartKind {
        ChartKind::Retention
    }

    fn name(&self) -> String {
        format!("retention_{}", self.key)
    }

    fn title(&self) -> String {
        if self.track == ALL {
            "Dropout over time by modality: all tracks".to_string()
        } else {
            format!("Dropout over time by modality: {}", self.track)
        }
    }

    fn size(&self) -> (u32, u32) {
        (1400, 700)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        area.fill(&WHITE)?;
        let body = super::kit::titled(area, &self.title(), 30)?;
        let (plot, legend) = body.split_horizontally(1000);
        let x_max = self.x_max();
        let top = self
            .curves
            .iter()
            .filter(|c| c.drawn())
            .flat_map(|c| c.rows.iter().filter(|r| r.0 <= x_max).filter_map(|r| r.1))
            .fold(0.0f64, f64::max);
        let y_max = ((top * 10.0).ceil() / 10.0).clamp(0.1, 1.0);
        let mut chart = ChartBuilder::on(&plot)
            .margin(20)
            .margin_top(40)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..f64::from(x_max), 0.0..y_max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .max_light_lines(0)
            .bold_line_style(LIGHT)
            .x_labels(((x_max / 10) as usize + 1).min(13))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{:.0}%", 100.0 * y))
            .x_desc("days since admission")
            .y_desc("dropped out (cumulative incidence)")
            .label_style(font(20, &INK))
            .axis_desc_style(font(22, &INK))
            .draw()?;
        for &m in MARKS.iter().filter(|&&m| m <= x_max) {
            let x = f64::from(m);
            chart.draw_series(DashedLineSeries::new(
                [(x, 0.0), (x, y_max)],
                8,
                6,
                GREY.stroke_width(2),
            ))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("day {m}"),
                (x, y_max),
                font(18, &GREY).pos(Pos::new(HPos::Center, VPos::Bottom)),
            )))?;
        }
        // Heaviest line last, so the all-modalities line stays on top.
        for (k, c) in self.curves.iter().enumerate().rev() {
            if !c.drawn() {
                continue;
            }
            let color = SERIES[k % SERIES.len()];
            let width = if k == 0 { 4 } else { 2 };
            if c.coarse {
                let mut points = vec![(0.0, 0.0)];
                points.extend(
                    c.rows
                        .iter()
                        .filter(|r| r.0 <= x_max)
                        .filter_map(|r| r.1.map(|v| (f64::from(r.0), v))),
                );
                for pair in points.windows(2) {
                    chart.draw_series(DashedLineSeries::new(
                        [pair[0], pair[1]],
                        10,
                        6,
                        color.stroke_width(width),
                    ))?;
                }
                for &(x, v) in &points[1..] {
                    Marker::nth(k).draw(chart.plotting_area(), (x, v), 7, color)?;
                }
                continue;
            }
            let runs = c.segments(x_max);
            for run in &runs {
                chart.draw_series(LineSeries::new(run.clone(), color.stroke_width(width)))?;
            }
            // Across suppressed days: a dotted line from the last value shown to the next.
            for pair in runs.windows(2) {
                let (Some(&a), Some(&b)) = (pair[0].last(), pair[1].first()) else {
                    continue;
                };
                chart.draw_series(DashedLineSeries::new([a, b], 3, 5, color.stroke_width(2)))?;
            }
            for &m in MARKS.iter().filter(|&&m| m <= x_max) {
                if let Some(v) = c.at(m) {
                    Marker::nth(k).draw(chart.plotting_area(), (f64::from(m), v), 7, color)?;
                }
            }
        }
        let mut y = 40;
        for (k, c) in self.curves.iter().enumerate() {
            let color = SERIES[k % SERIES.len()];
            let text = if c.drawn() {
                format!("{} (n = {})", c.label, c.n.unwrap_or(0))
            } else {
                format!("{}: {SUPPRESSED}", c.label)
            };
            if c.drawn() {
                legend.draw(&PathElement::new(
                    [(10, y + 12), (50, y + 12)],
                    color.stroke_width(if k == 0 { 4 } else { 2 }),
                ))?;
                Marker::nth(k).draw(&legend, (30, y + 12), 7, color)?;
            }
            legend.draw(&Text::new(text, (62, y), font(20, &INK)))?;
            y += 36;
        }
        if self.curves.iter().any(|c| c.coarse) {
            for (i, line) in [
                "small-cell protection: only days 30, 60",
                "and 90 are published; dashed lines join",
                "them (not the curve between)",
            ]
            .iter()
            .enumerate()
            {
                legend.draw(&Text::new(
                    *line,
                    (10, y + 8 + 24 * i as i32),
                    font(18, &GREY),
                ))?;
            }
        } else if self.curves.iter().any(|c| c.drawn() && c.gaps()) {
            legend.draw(&Text::new(
                "dotted: days withheld (small counts)",
                (10, y + 8),
                font(18, &GREY),
            ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(labels: &[&str], day: u32, n: Option<u64>, cif: Option<f64>) -> RetentionRow {
        RetentionRow {
            labels: labels.iter().map(|s| s.to_string()).collect(),
            day,
            n_risk: n,
            cif_dropout: cif,
            ..Default::default()
        }
    }

    fn retention() -> Retention {
        let mut rows = Vec::new();
        for (labels, big) in [
            (["All", "All"], true),
            (["All", "CBT"], true),
            (["All", "DBT"], false),
            (["a/b", "All"], true),
            (["a/b", "CBT"], true),
            (["a/b", "DBT"], false),
            (["a_b", "All"], true),
        ] {
            for (d, v) in [
                (5, Some(0.1)),
                (12, None),
                (40, Some(0.3)),
                (84, Some(0.35)),
            ] {
                let n = big.then_some(200 - u64::from(d));
                rows.push(row(&labels, d, n, if big { v } else { None }));
            }
        }
        Retention {
            summary: crate::analysis::retention::summary::rows(&rows),
            rows,
            columns: vec!["track".into(), "modality".into()],
            ..Default::default()
        }
    }

    #[test]
    fn withheld_rows_draw_the_summary_days_only() {
        let mut r = retention();
        r.withhold();
        let charts = charts(&r);
        assert_eq!(charts.len(), 3);
        let all = &charts[0].curves[0];
        assert!(all.coarse && all.drawn());
        // The summary of the test rows: days 30 (the day-12 row, blank), 60 and 90 (the
        // day-40 and day-84 rows); follow-up reaches 90 (day 84 < 90, but see `reaches`).
        assert_eq!(all.n, Some(195));
        assert_eq!(
            all.rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            r.summary[0].followed_to_day.map_or(vec![], |d| MARKS
                .iter()
                .copied()
                .filter(|&m| f64::from(m) <= d)
                .collect())
        );
        // The small groups stay undrawn.
        assert!(!charts[0].curves[2].drawn());
        let svg = crate::charts::render(&charts[0]).unwrap().svg;
        assert!(crate::charts::svg_texts(&svg)
            .iter()
            .any(|t| t.contains("only days 30, 60")));
    }

    #[test]
    fn one_chart_per_track_with_small_groups_named_not_drawn() {
        let charts = charts(&retention());
        let names: Vec<String> = charts.iter().map(|c| c.name()).collect();
        // Labels become safe, distinct file names.
        assert_eq!(
            names,
            [
                "retention_all",
                "retention_track_a_b",
                "retention_track_a_b_2"
            ]
        );
        let all = &charts[0];
        assert_eq!(
            all.curves
                .iter()
                .map(|c| c.label.as_str())
                .collect::<Vec<_>>(),
            ["all modalities", "CBT", "DBT"]
        );
        // The value of day 5 holds to the next row (day 12, blanked): the line breaks there
        // and resumes at day 40.
        assert_eq!(
            all.curves[0].segments(90),
            [
                vec![(0.0, 0.0), (5.0, 0.0), (5.0, 0.1), (12.0, 0.1)],
                vec![(40.0, 0.3), (84.0, 0.3), (84.0, 0.35)]
            ]
        );
        assert_eq!(
            all.curves[0].segments(30),
            [vec![(0.0, 0.0), (5.0, 0.0), (5.0, 0.1), (12.0, 0.1)]]
        );
        assert_eq!(all.curves[0].segments(60)[1], [(40.0, 0.3), (60.0, 0.3)]);
        // Day 30 falls after the blanked day 12: no marker; day 60 reads day 40.
        assert_eq!(all.curves[0].at(30), None);
        assert_eq!(all.curves[0].at(60), Some(0.3));
        assert_eq!(all.curves[0].at(90), None);
        assert_eq!(all.x_max(), 90);
        let svg = crate::charts::render(all).unwrap().svg;
        let texts = crate::charts::svg_texts(&svg);
        assert!(
            texts.iter().any(|t| *t == format!("DBT: {SUPPRESSED}")),
            "{texts:?}"
        );
        assert!(
            texts.iter().any(|t| t == "all modalities (n = 195)"),
            "{texts:?}"
        );
        assert!(
            texts
                .iter()
                .any(|t| t == "dotted: days withheld (small counts)"),
            "{texts:?}"
        );
        assert!(texts.iter().any(|t| t == "day 60") && !texts.iter().any(|t| t == "day 120"));
    }

    #[test]
    fn a_settled_curve_reads_its_final_value_at_later_marks() {
        let c = Curve {
            label: "x".into(),
            n: Some(40),
            rows: vec![(10, Some(0.2)), (50, Some(0.25))],
            settled: true,
            coarse: false,
        };
        assert_eq!(
            (c.at(5), c.at(30), c.at(90)),
            (Some(0.0), Some(0.2), Some(0.25))
        );
        assert_eq!(
            c.segments(120),
            [vec![
                (0.0, 0.0),
                (10.0, 0.0),
                (10.0, 0.2),
                (50.0, 0.2),
                (50.0, 0.25),
                (120.0, 0.25)
            ]]
        );
    }
}
