//! Forest plot of mean change with its 95% CI, per instrument, by track and modality (cells
//! and margins of outcomes.csv). Suppressed rows are shown as suppressed, not dropped.

use super::{Chart, FONT_FAMILY, GREY, INK, LIGHT};
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
    pub rows: Vec<ForestRow>,
}

const ROW: u32 = 34;

impl Chart for Forest {
    fn name(&self) -> String {
        format!("forest_{}", self.instrument)
    }

    fn title(&self) -> String {
        format!("{}: mean change with 95% CI", self.instrument)
    }

    fn size(&self) -> (u32, u32) {
        (1400, 150 + ROW * self.rows.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        area.fill(&WHITE).map_err(e)?;
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
        let mut chart = ChartBuilder::on(area)
            .caption(self.title(), (FONT_FAMILY, 30).into_font().color(&INK))
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(420)
            .build_cartesian_2d(lo..hi, -0.5..(n - 0.5))
            .map_err(e)?;
        let labels: Vec<String> = self.rows.iter().map(|r| r.label.clone()).collect();
        let count = self.rows.len();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(LIGHT)
            .y_labels(count.max(1))
            .y_label_formatter(&|y| {
                let i = y.round() as i64;
                if (y - y.round()).abs() < 1e-6 && i >= 0 && (i as usize) < count {
                    labels[count - 1 - i as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_desc(format!(
                "change from baseline ({}; negative = fewer symptoms)",
                self.unit
            ))
            .label_style((FONT_FAMILY, 20).into_font().color(&INK))
            .axis_desc_style((FONT_FAMILY, 22).into_font().color(&INK))
            .draw()
            .map_err(e)?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, -0.5), (0.0, n - 0.5)],
                GREY.stroke_width(2),
            ))
            .map_err(e)?;
        for (k, r) in self.rows.iter().enumerate() {
            let y = (count - 1 - k) as f64;
            if r.suppressed && r.mean.is_none() {
                chart
                    .draw_series(std::iter::once(Text::new(
                        "suppressed (small cell)",
                        (lo + (hi - lo) * 0.02, y + 0.15),
                        (FONT_FAMILY, 18).into_font().color(&GREY),
                    )))
                    .map_err(e)?;
                continue;
            }
            if let Some((a, b)) = r.ci {
                chart
                    .draw_series(LineSeries::new([(a, y), (b, y)], INK.stroke_width(3)))
                    .map_err(e)?;
            }
            if let Some(m) = r.mean {
                if r.margin {
                    chart
                        .draw_series(std::iter::once(TriangleMarker::new(
                            (m, y),
                            9,
                            INK.filled(),
                        )))
                        .map_err(e)?;
                } else {
                    chart
                        .draw_series(std::iter::once(Circle::new((m, y), 7, INK.filled())))
                        .map_err(e)?;
                }
            }
        }
        Ok(())
    }
}
