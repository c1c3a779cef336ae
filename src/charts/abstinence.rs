//! Abstinence before and after, per days-of-use instrument: the share of paired episodes with
//! no day of use at baseline and at follow-up, one pair of bars per group (the first grouping
//! column's values, all of the others) and one for everyone. Suppressed shares say so.

use super::kind::{Chart, ChartKind};
use super::kit::{font, swatches, with_n, DrawError, Rows, DARK_BLUE, INK, SUPPRESSED};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

#[derive(Debug, Clone, PartialEq)]
pub struct AbstinenceBar {
    pub label: String,
    /// Percent abstinent at baseline and at follow-up (`None`: suppressed).
    pub before: Option<f64>,
    pub after: Option<f64>,
    pub n: Option<u64>,
}

pub struct AbstinenceChart {
    pub instrument: String,
    pub column: String,
    pub rows: Vec<AbstinenceBar>,
}

const BEFORE: RGBColor = RGBColor(200, 200, 200);
const ROW: u32 = 84;

impl Chart for AbstinenceChart {
    fn kind(&self) -> ChartKind {
        ChartKind::Abstinence
    }

    fn name(&self) -> String {
        format!("abstinence_{}", self.instrument)
    }

    fn title(&self) -> String {
        format!(
            "{}: abstinent (no days of use) at baseline and follow-up, by {}",
            self.instrument, self.column
        )
    }

    fn size(&self) -> (u32, u32) {
        (1400, 230 + ROW * self.rows.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        area.fill(&WHITE)?;
        let body = super::kit::titled(area, &self.title(), 28)?;
        let (legend, plot) = body.split_vertically(50);
        swatches(
            &legend,
            &[(BEFORE, "baseline"), (DARK_BLUE, "follow-up")],
            260,
        )?;
        let labels: Vec<String> = self.rows.iter().map(|r| with_n(&r.label, r.n)).collect();
        let rows = Rows {
            labels: &labels,
            // Room right of a full bar for its label.
            x: 0.0..108.0,
            x_desc: "share of paired episodes abstinent",
            x_format: &|x| {
                if *x <= 100.0 {
                    format!("{x:.0}%")
                } else {
                    String::new()
                }
            },
            label_width: 280,
            top: 20,
        };
        let mut chart = rows.build(&plot)?;
        let label = |v: Option<f64>| match v {
            Some(p) => format!("{p:.0}%"),
            None => SUPPRESSED.to_string(),
        };
        for (k, r) in self.rows.iter().enumerate() {
            let y = rows.y(k);
            for (offset, value, fill) in [(0.2, r.before, BEFORE), (-0.2, r.after, DARK_BLUE)] {
                let (a, b) = (y + offset - 0.17, y + offset + 0.17);
                let end = value.unwrap_or(0.0);
                if value.is_some() {
                    chart.draw_series([
                        Rectangle::new([(0.0, a), (end, b)], fill.filled()),
                        Rectangle::new([(0.0, a), (end, b)], INK.stroke_width(1)),
                    ])?;
                }
                chart.draw_series(std::iter::once(Text::new(
                    label(value),
                    (end + 0.8, y + offset),
                    font(19, &INK).pos(Pos::new(HPos::Left, VPos::Center)),
                )))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_bars_are_labelled_and_a_suppressed_share_says_so() {
        let c = AbstinenceChart {
            instrument: "DAYS_USED".into(),
            column: "track".into(),
            rows: vec![
                AbstinenceBar {
                    label: "All".into(),
                    before: Some(12.0),
                    after: Some(47.0),
                    n: Some(580),
                },
                AbstinenceBar {
                    label: "small".into(),
                    before: None,
                    after: Some(30.0),
                    n: Some(40),
                },
            ],
        };
        let r = crate::charts::render(&c).unwrap();
        assert!(r.svg.contains("12%") && r.svg.contains("47%") && r.svg.contains("30%"));
        assert!(r.svg.contains("All (n = 580)"));
        assert!(r.svg.contains(SUPPRESSED));
    }
}
