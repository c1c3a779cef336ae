//! Weekly hours attended against the IOP dose (9 hours a week by default): one horizontal box
//! per group of discharged cohort episodes (all of them first), the box from the 25th to the
//! 75th percentile, whiskers from the 10th to the 90th (no single episode is drawn), the median
//! as a bar, and the share meeting the dose beside it. Suppressed groups say so.

use super::kind::{Chart, ChartKind};
use super::kit::{font, tick, DrawError, Rows, DARK_BLUE, INK, SUPPRESSED, VERMILLION};
use crate::analysis::engagement::HoursSummary;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub struct Hours {
    /// The grouping column of the boxes.
    pub column: String,
    pub dose: f64,
    pub rows: Vec<HoursSummary>,
}

const ROW: u32 = 64;
const BOX: RGBColor = RGBColor(170, 200, 225);

impl Chart for Hours {
    fn kind(&self) -> ChartKind {
        ChartKind::Hours
    }

    fn name(&self) -> String {
        "weekly_hours".into()
    }

    fn title(&self) -> String {
        format!("Weekly hours attended by {}", self.column)
    }

    fn size(&self) -> (u32, u32) {
        (1400, 200 + ROW * self.rows.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        area.fill(&WHITE)?;
        let body = super::kit::titled(area, &self.title(), 30)?;
        let (plot, side) = body.split_horizontally(1180);
        let hi = self
            .rows
            .iter()
            .filter_map(|r| r.quantiles.map(|q| q[4]))
            .fold(self.dose * 1.5, f64::max)
            * 1.05;
        let n = self.rows.len().max(1);
        let labels: Vec<String> = self
            .rows
            .iter()
            .map(|r| {
                let label = if r.label == crate::analysis::cells::ALL {
                    "all discharged"
                } else {
                    r.label.as_str()
                };
                if r.quantiles.is_some() {
                    format!("{label} (n = {})", r.n)
                } else {
                    label.to_string()
                }
            })
            .collect();
        let rows = Rows {
            labels: &labels,
            x: 0.0..hi,
            x_desc: "hours attended per week of stay",
            x_format: &|x| tick(*x),
            label_width: 300,
            top: 50,
        };
        let mut chart = rows.build(&plot)?;
        for (k, r) in self.rows.iter().enumerate() {
            let y = rows.y(k);
            let Some([p10, p25, p50, p75, p90]) = r.quantiles else {
                chart.draw_series(std::iter::once(Text::new(
                    SUPPRESSED,
                    (hi * 0.01, y),
                    font(20, &RGBColor(90, 90, 90)).pos(Pos::new(HPos::Left, VPos::Center)),
                )))?;
                continue;
            };
            chart.draw_series([
                PathElement::new([(p10, y), (p25, y)], INK.stroke_width(2)),
                PathElement::new([(p75, y), (p90, y)], INK.stroke_width(2)),
                PathElement::new([(p10, y - 0.15), (p10, y + 0.15)], INK.stroke_width(2)),
                PathElement::new([(p90, y - 0.15), (p90, y + 0.15)], INK.stroke_width(2)),
            ])?;
            chart.draw_series([
                Rectangle::new([(p25, y - 0.3), (p75, y + 0.3)], BOX.filled()),
                Rectangle::new([(p25, y - 0.3), (p75, y + 0.3)], INK.stroke_width(2)),
            ])?;
            chart.draw_series(std::iter::once(PathElement::new(
                [(p50, y - 0.3), (p50, y + 0.3)],
                DARK_BLUE.stroke_width(5),
            )))?;
        }
        chart.draw_series(DashedLineSeries::new(
            [(self.dose, -0.5), (self.dose, n as f64 - 0.5)],
            12,
            8,
            VERMILLION.stroke_width(3),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("IOP dose {} h a week", tick(self.dose)),
            (self.dose, n as f64 - 0.5 + 0.1),
            font(20, &VERMILLION).pos(Pos::new(HPos::Center, VPos::Bottom)),
        )))?;
        // The share meeting the dose, level with each box.
        let (_, plot_h) = plot.dim_in_pixel();
        let top = 50;
        let bottom = plot_h as i32 - 20 - 60;
        side.draw(&Text::new("meeting dose", (10, 16), font(18, &INK)))?;
        for (k, r) in self.rows.iter().enumerate() {
            let frac = (k as f64 + 0.5) / n as f64;
            let y = top + ((bottom - top) as f64 * frac) as i32;
            let text = match r.pct_meeting_dose {
                Some(p) => format!("{p:.0}%"),
                None => "withheld".to_string(),
            };
            side.draw(&Text::new(
                text,
                (10, y),
                font(20, &INK).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_show_the_dose_line_and_shares_and_small_groups_are_marked() {
        let h = Hours {
            column: "track".into(),
            dose: 9.0,
            rows: vec![
                HoursSummary {
                    label: "All".into(),
                    n: 500,
                    quantiles: Some([3.0, 6.0, 9.5, 12.0, 15.0]),
                    pct_meeting_dose: Some(52.0),
                    suppressed: false,
                },
                HoursSummary {
                    label: "tiny".into(),
                    n: 4,
                    quantiles: None,
                    pct_meeting_dose: None,
                    suppressed: true,
                },
            ],
        };
        let r = crate::charts::render(&h).unwrap();
        assert!(r.svg.contains("IOP dose 9 h a week"));
        assert!(r.svg.contains("all discharged (n = 500)"));
        assert!(r.svg.contains("52%"));
        assert!(r.svg.contains(SUPPRESSED));
        // A suppressed group's size is not printed.
        assert!(!r.svg.contains("n = 4"));
    }
}
