//! Trajectories under dropout, per instrument: the mixed model's fitted mean score per
//! modality over the first weeks since admission (longitudinal.csv, track `All`: a line from
//! the intercept with the slope), a heavier black line for all modalities, and the observed
//! mean score of each whole week as points (drawn at the week's mean time). A line or point
//! that is suppressed (or a model not fitted) is left out and said so in the legend.

use super::kind::{Chart, ChartKind};
use super::kit::{font, tick, DrawError, Marker, INK, LIGHT, SERIES};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One modality (or all modalities, first) of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectorySeries {
    pub label: String,
    /// The fitted line: (intercept, slope per week); `None`: not drawn.
    pub line: Option<(f64, f64)>,
    /// Why there is no line (suppressed, not fitted, slope not estimable).
    pub note: Option<String>,
    /// Observed weekly means: (mean t of the week's assessments, mean score).
    pub points: Vec<(f64, f64)>,
    /// Weeks whose mean is suppressed (small cell).
    pub suppressed_points: usize,
}

pub struct TrajectoryChart {
    pub instrument: String,
    /// "points" or "days".
    pub unit: String,
    /// Weeks since admission covered (the model's horizon).
    pub horizon: f64,
    /// All modalities first.
    pub series: Vec<TrajectorySeries>,
}

impl TrajectoryChart {
    /// The y range: every line's ends and every point, padded.
    fn y_range(&self) -> (f64, f64) {
        let mut values: Vec<f64> = Vec::new();
        for s in &self.series {
            if let Some((a, b)) = s.line {
                values.extend([a, a + b * self.horizon]);
            }
            values.extend(s.points.iter().map(|p| p.1));
        }
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            return (0.0, 1.0);
        }
        let pad = ((hi - lo) * 0.08).max(0.05 * hi.abs().max(1.0));
        (lo - pad, hi + pad)
    }
}

impl Chart for TrajectoryChart {
    fn kind(&self) -> ChartKind {
        ChartKind::Trajectory
    }

    fn name(&self) -> String {
        format!("trajectory_{}", self.instrument)
    }

    fn title(&self) -> String {
        format!(
            "{}: mean score by modality, every assessment (mixed model)",
            self.instrument
        )
    }

    fn size(&self) -> (u32, u32) {
        (1400, 700)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        area.fill(&WHITE)?;
        let body = super::kit::titled(area, &self.title(), 30)?;
        let (plot, legend) = body.split_horizontally(1000);
        let (lo, hi) = self.y_range();
        let h = self.horizon;
        let mut chart = ChartBuilder::on(&plot)
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(-0.02 * h..h * 1.02, lo..hi)?;
        chart
            .configure_mesh()
            .max_light_lines(0)
            .bold_line_style(LIGHT)
            .x_label_formatter(&|x| tick(*x))
            .y_label_formatter(&|y| tick(*y))
            .x_desc("weeks since admission")
            .y_desc(format!("mean score ({})", self.unit))
            .label_style(font(20, &INK))
            .axis_desc_style(font(22, &INK))
            .draw()?;
        // Heaviest line last, so the all-modalities line stays on top.
        for (k, s) in self.series.iter().enumerate().rev() {
            let color = SERIES[k % SERIES.len()];
            if let Some((a, b)) = s.line {
                let width = if k == 0 { 4 } else { 2 };
                chart.draw_series(LineSeries::new(
                    [(0.0, a), (h, a + b * h)],
                    color.stroke_width(width),
                ))?;
            }
            for &p in &s.points {
                Marker::nth(k).draw(chart.plotting_area(), p, 6, color)?;
            }
        }
        let mut y = 40;
        for (k, s) in self.series.iter().enumerate() {
            let color = SERIES[k % SERIES.len()];
            legend.draw(&PathElement::new(
                [(10, y + 12), (50, y + 12)],
                color.stroke_width(if k == 0 { 4 } else { 2 }),
            ))?;
            Marker::nth(k).draw(&legend, (30, y + 12), 6, color)?;
            let mut notes: Vec<String> = s.note.iter().cloned().collect();
            if s.suppressed_points > 0 {
                notes.push(format!(
                    "{} week{} withheld",
                    s.suppressed_points,
                    if s.suppressed_points == 1 { "" } else { "s" }
                ));
            }
            legend.draw(&Text::new(s.label.clone(), (62, y), font(20, &INK)))?;
            if !notes.is_empty() {
                legend.draw(&Text::new(notes.join("; "), (62, y + 24), font(17, &INK)))?;
                y += 24;
            }
            y += 40;
        }
        legend.draw(&Text::new(
            "lines: fitted; points: observed".to_string(),
            (10, y + 10),
            font(17, &INK),
        ))?;
        legend.draw(&Text::new(
            "weekly means".to_string(),
            (10, y + 32),
            font(17, &INK),
        ))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_points_and_what_is_missing_are_drawn() {
        let c = TrajectoryChart {
            instrument: "PHQ9".into(),
            unit: "points".into(),
            horizon: 8.0,
            series: vec![
                TrajectorySeries {
                    label: "all modalities".into(),
                    line: Some((16.0, -0.8)),
                    note: None,
                    points: vec![(0.4, 16.2), (2.3, 14.0), (4.3, 12.9)],
                    suppressed_points: 0,
                },
                TrajectorySeries {
                    label: "CBT".into(),
                    line: Some((16.5, -0.9)),
                    note: None,
                    points: vec![(0.4, 16.6), (2.3, 14.4)],
                    suppressed_points: 1,
                },
                TrajectorySeries {
                    label: "MI".into(),
                    line: None,
                    note: Some(crate::charts::kit::SUPPRESSED.into()),
                    points: vec![],
                    suppressed_points: 3,
                },
            ],
        };
        let r = crate::charts::render(&c).unwrap();
        let texts = crate::charts::svg_texts(&r.svg);
        for t in [
            "all modalities",
            "CBT",
            "1 week withheld",
            "withheld (small cell); 3 weeks withheld",
            "weeks since admission",
            "mean score (points)",
        ] {
            assert!(texts.iter().any(|x| x == t), "{t} missing from {texts:?}");
        }
        // Two fitted lines (heavy black and blue) plus their legend samples; MI (vermillion)
        // has only its legend sample.
        let lines = |style: &str| {
            r.svg
                .split("<polyline")
                .skip(1)
                .filter(|rest| rest.split('>').next().unwrap_or("").contains(style))
                .count()
        };
        assert_eq!(
            (
                lines("stroke=\"#000000\" stroke-width=\"4\""),
                lines("#0072B2"),
                lines("#D55E00")
            ),
            (2, 2, 1)
        );
        assert!(c.y_range().0 < 16.0 - 0.9 * 8.0);
    }
}
