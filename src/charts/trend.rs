//! Quarterly trend of the headline measures, per instrument: mean change, and the share
//! reliably improved where the instrument has a threshold, for the eight quarters of trend.csv,
//! one line per track and a heavier black line for all tracks. A suppressed or empty quarter is
//! a gap in its line; the legend counts each line's suppressed quarters.

use super::kind::{Chart, ChartKind};
use super::kit::{font, tick, DrawError, Marker, GREY, INK, LIGHT, SERIES};
use plotters::coord::Shift;
use plotters::prelude::*;

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    /// One value per quarter (`None`: suppressed or no paired episode).
    pub change: Vec<Option<f64>>,
    pub improved: Vec<Option<f64>>,
    /// Quarters whose mean change is suppressed.
    pub suppressed: usize,
    /// Quarters whose share reliably improved is suppressed (it can be hidden alone, when a
    /// reliable-change category is small).
    pub suppressed_improved: usize,
}

pub struct TrendChart {
    pub instrument: String,
    pub unit: String,
    pub quarters: Vec<String>,
    /// The all-tracks line first.
    pub series: Vec<Series>,
    /// Whether the instrument has a reliable-change threshold (second panel).
    pub has_improved: bool,
}

impl TrendChart {
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        desc: &str,
        value: impl Fn(&Series) -> &[Option<f64>],
        percent: bool,
    ) -> Result<(), DrawError> {
        let values = self
            .series
            .iter()
            .flat_map(|s| value(s).iter().flatten().copied());
        let (mut lo, mut hi) = if percent {
            (0.0, 100.0)
        } else {
            (0.0f64, 0.0f64)
        };
        for v in values {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !percent {
            let pad = ((hi - lo) * 0.08).max(0.5);
            lo -= pad;
            hi += pad;
        }
        let q = self.quarters.len().max(1);
        let quarters = &self.quarters;
        let mut chart = ChartBuilder::on(area)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(-0.5..(q as f64 - 0.5), lo..hi)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .max_light_lines(0)
            .bold_line_style(LIGHT)
            .x_labels(q)
            .x_label_formatter(&|x| {
                let i = x.round() as i64;
                if (x - x.round()).abs() < 1e-6 && i >= 0 && (i as usize) < quarters.len() {
                    quarters[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| {
                if percent {
                    format!("{y:.0}%")
                } else {
                    tick(*y)
                }
            })
            .y_desc(desc)
            .label_style(font(20, &INK))
            .axis_desc_style(font(22, &INK))
            .draw()?;
        if !percent {
            chart.draw_series(LineSeries::new(
                [(-0.5, 0.0), (q as f64 - 0.5, 0.0)],
                GREY.stroke_width(2),
            ))?;
        }
        // Heaviest line last, so the all-tracks line stays on top.
        for (k, s) in self.series.iter().enumerate().rev() {
            let color = SERIES[k % SERIES.len()];
            let width = if k == 0 { 4 } else { 2 };
            let points: Vec<Option<(f64, f64)>> = value(s)
                .iter()
                .enumerate()
                .map(|(i, v)| v.map(|v| (i as f64, v)))
                .collect();
            for run in points.split(Option::is_none) {
                let run: Vec<(f64, f64)> = run.iter().flatten().copied().collect();
                if run.len() > 1 {
                    chart.draw_series(LineSeries::new(run, color.stroke_width(width)))?;
                }
            }
            for &at in points.iter().flatten() {
                Marker::nth(k).draw(chart.plotting_area(), at, 7, color)?;
            }
        }
        Ok(())
    }
}

impl Chart for TrendChart {
    fn kind(&self) -> ChartKind {
        ChartKind::Trend
    }

    fn name(&self) -> String {
        format!("trend_{}", self.instrument)
    }

    fn title(&self) -> String {
        format!("{}: quarterly trend by track", self.instrument)
    }

    fn size(&self) -> (u32, u32) {
        (1400, if self.has_improved { 1000 } else { 600 })
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        area.fill(&WHITE)?;
        let body = super::kit::titled(area, &self.title(), 30)?;
        let (plots, legend) = body.split_horizontally(1060);
        let change_desc = format!("mean change ({})", self.unit);
        if self.has_improved {
            let (top, bottom) = plots.split_vertically(plots.dim_in_pixel().1 / 2);
            self.panel(&top, &change_desc, |s| &s.change, false)?;
            self.panel(&bottom, "reliably improved", |s| &s.improved, true)?;
        } else {
            self.panel(&plots, &change_desc, |s| &s.change, false)?;
        }
        let mut y = 40;
        for (k, s) in self.series.iter().enumerate() {
            let color = SERIES[k % SERIES.len()];
            legend.draw(&PathElement::new(
                [(10, y + 12), (50, y + 12)],
                color.stroke_width(if k == 0 { 4 } else { 2 }),
            ))?;
            Marker::nth(k).draw(&legend, (30, y + 12), 7, color)?;
            let mut notes = Vec::new();
            if s.suppressed > 0 {
                notes.push(format!("{} withheld", s.suppressed));
            }
            if self.has_improved && s.suppressed_improved > s.suppressed {
                notes.push(format!("{} for reliably improved", s.suppressed_improved));
            }
            let text = if notes.is_empty() {
                s.label.clone()
            } else {
                format!("{} ({})", s.label, notes.join("; "))
            };
            legend.draw(&Text::new(text, (62, y), font(20, &INK)))?;
            y += 36;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_break_at_gaps_and_the_legend_counts_suppressed_quarters() {
        let c = TrendChart {
            instrument: "PHQ9".into(),
            unit: "points".into(),
            quarters: (1..=4).map(|q| format!("2026Q{q}")).collect(),
            series: vec![
                Series {
                    label: "all tracks".into(),
                    change: vec![Some(-6.0), Some(-5.5), Some(-6.2), Some(-6.1)],
                    improved: vec![Some(55.0), Some(50.0), Some(60.0), Some(58.0)],
                    suppressed: 0,
                    suppressed_improved: 0,
                },
                Series {
                    label: "adolescent".into(),
                    change: vec![Some(-4.0), None, Some(-5.0), Some(-4.5)],
                    improved: vec![Some(40.0), None, None, Some(44.0)],
                    suppressed: 1,
                    suppressed_improved: 2,
                },
            ],
            has_improved: true,
        };
        let r = crate::charts::render(&c).unwrap();
        assert!(r
            .svg
            .contains("adolescent (1 withheld; 2 for reliably improved)"));
        assert!(r.svg.contains("2026Q3") && r.svg.contains("reliably improved"));
        // The adolescent line (blue) is broken at its gaps: in mean change Q1 stands alone (a
        // marker, no line) and Q3-Q4 are joined; in reliably improved Q1 and Q4 stand alone.
        // So one line, plus the legend's sample.
        let blue = r
            .svg
            .split("<polyline")
            .skip(1)
            .filter(|rest| rest.split('>').next().unwrap_or("").contains("#0072B2"))
            .count();
        assert_eq!(blue, 1 + 1);
    }
}
