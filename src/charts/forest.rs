//! Forest plot of mean change with its 95% CI, per instrument, by track and modality (cells
//! and margins of outcomes.csv). Suppressed rows are shown as suppressed, not dropped.

use super::kind::Chart;
use super::kind::ChartKind;
use super::kit::{DrawError, Rows, FONT_FAMILY, GREY, INK};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One row of the plot.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestRow {
    pub label: String,
    pub margin: bool,
    pub mean: Option<f64>,
    pub ci: Option<(f64, f64)>,
    pub suppressed: bool,
}

pub struct Forest {
    pub instrument: String,
    pub unit: String,
    /// Which sign of change is an improvement, for the axis label.
    pub higher_is_better: bool,
    pub rows: Vec<ForestRow>,
}

const ROW: u32 = 34;

impl Chart for Forest {
    fn kind(&self) -> ChartKind {
        ChartKind::Forest
    }

    fn name(&self) -> String {
        format!("forest_{}", self.instrument)
    }

    fn title(&self) -> String {
        format!("{}: mean change with 95% CI", self.instrument)
    }

    fn size(&self) -> (u32, u32) {
        (1400, 150 + ROW * self.rows.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        area.fill(&WHITE)?;
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for r in &self.rows {
            for v in r.ci.map(|c| [c.0, c.1]).into_iter().flatten().chain(r.mean) {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        let pad = ((hi - lo) * 0.08).max(0.5);
        let (lo, hi) = (lo - pad, hi + pad);
        let n = self.rows.len().max(1) as f64;
        let body = super::kit::titled(area, &self.title(), 30)?;
        let labels: Vec<String> = self.rows.iter().map(|r| r.label.clone()).collect();
        let x_desc = format!(
            "change from baseline ({}; {} = improvement)",
            self.unit,
            if self.higher_is_better {
                "positive"
            } else {
                "negative"
            }
        );
        let rows = Rows {
            labels: &labels,
            x: lo..hi,
            x_desc: &x_desc,
            x_format: &|x| format!("{x:.1}"),
            label_width: 420,
            top: 10,
        };
        let mut chart = rows.build(&body)?;
        chart.draw_series(LineSeries::new(
            [(0.0, -0.5), (0.0, n - 0.5)],
            GREY.stroke_width(2),
        ))?;
        for (k, r) in self.rows.iter().enumerate() {
            let y = rows.y(k);
            if r.suppressed && r.mean.is_none() {
                chart.draw_series(std::iter::once(Text::new(
                    "withheld (small cell)",
                    (lo + (hi - lo) * 0.02, y + 0.15),
                    (FONT_FAMILY, 18).into_font().color(&GREY),
                )))?;
                continue;
            }
            if let Some((a, b)) = r.ci {
                chart.draw_series(LineSeries::new([(a, y), (b, y)], INK.stroke_width(3)))?;
            }
            if let Some(m) = r.mean {
                if r.margin {
                    chart.draw_series(std::iter::once(TriangleMarker::new(
                        (m, y),
                        9,
                        INK.filled(),
                    )))?;
                } else {
                    chart.draw_series(std::iter::once(Circle::new((m, y), 7, INK.filled())))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forest(higher_is_better: bool) -> Forest {
        Forest {
            instrument: "X".into(),
            unit: "points".into(),
            higher_is_better,
            rows: vec![
                ForestRow {
                    label: "overall".into(),
                    margin: true,
                    mean: Some(-2.0),
                    ci: Some((-3.0, -1.0)),
                    suppressed: false,
                },
                ForestRow {
                    label: "t · small".into(),
                    margin: false,
                    mean: None,
                    ci: None,
                    suppressed: true,
                },
            ],
        }
    }

    #[test]
    fn the_axis_says_which_way_is_better_and_small_cells_are_labelled() {
        let worse = crate::charts::render(&forest(false)).unwrap();
        assert!(worse.svg.contains("negative = improvement"));
        assert!(worse.svg.contains("withheld (small cell)"));
        let better = crate::charts::render(&forest(true)).unwrap();
        assert!(better.svg.contains("positive = improvement"));
        // The same chart renders to the same PNG bytes.
        assert_eq!(
            crate::charts::render(&forest(true)).unwrap().png,
            better.png
        );
        assert!(better.png.starts_with(b"\x89PNG"));
    }
}
