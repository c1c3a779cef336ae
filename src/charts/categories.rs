//! Reliable-change categories stacked by modality, per instrument with a reliable-change
//! threshold: one 100% bar per modality (all tracks) and one for everyone, split into reliably
//! improved, unchanged and reliably deteriorated. A suppressed row says so instead of a bar.

use super::kind::{Chart, ChartKind};
use super::kit::{font, swatches, with_n, DrawError, Rows, DARK_BLUE, INK, SUPPRESSED, VERMILLION};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

#[derive(Debug, Clone, PartialEq)]
pub struct CategoryRow {
    pub label: String,
    /// Percent improved, unchanged, deteriorated; `None` where suppressed.
    pub pct: [Option<f64>; 3],
    pub n: Option<u64>,
}

pub struct Categories {
    pub instrument: String,
    /// The grouping column the bars are by (modality by default).
    pub column: String,
    pub rows: Vec<CategoryRow>,
}

/// Improved, unchanged, deteriorated: dark, light, mid in greyscale.
pub const FILLS: [RGBColor; 3] = [DARK_BLUE, RGBColor(215, 215, 215), VERMILLION];
pub const NAMES: [&str; 3] = [
    "reliably improved",
    "no reliable change",
    "reliably deteriorated",
];

const ROW: u32 = 56;

impl Chart for Categories {
    fn kind(&self) -> ChartKind {
        ChartKind::Categories
    }

    fn name(&self) -> String {
        format!("categories_{}", self.instrument)
    }

    fn title(&self) -> String {
        format!("{}: reliable change by {}", self.instrument, self.column)
    }

    fn size(&self) -> (u32, u32) {
        (1400, 230 + ROW * self.rows.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        area.fill(&WHITE)?;
        let body = super::kit::titled(area, &self.title(), 30)?;
        let (legend, plot) = body.split_vertically(50);
        let items: Vec<(RGBColor, &str)> = FILLS.into_iter().zip(NAMES).collect();
        swatches(&legend, &items, 330)?;
        let labels: Vec<String> = self.rows.iter().map(|r| with_n(&r.label, r.n)).collect();
        let rows = Rows {
            labels: &labels,
            x: 0.0..100.0,
            x_desc: "share of paired episodes",
            x_format: &|x| format!("{x:.0}%"),
            label_width: 280,
            top: 20,
        };
        let mut chart = rows.build(&plot)?;
        for (k, r) in self.rows.iter().enumerate() {
            let y = rows.y(k);
            // The known shares from the left, then a note for the rest: a share after a
            // suppressed one has no known position, so it is named in the note instead.
            let mut start = 0.0;
            let mut k = 0;
            while let Some(Some(p)) = r.pct.get(k) {
                let end = (start + p).min(100.0);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(start, y - 0.34), (end, y + 0.34)],
                    FILLS[k].filled(),
                )))?;
                if *p >= 6.0 {
                    let ink = if k == 1 { INK } else { WHITE };
                    chart.draw_series(std::iter::once(Text::new(
                        format!("{p:.0}%"),
                        ((start + end) / 2.0, y),
                        font(20, &ink).pos(Pos::new(HPos::Center, VPos::Center)),
                    )))?;
                }
                start = end;
                k += 1;
            }
            if k < 3 {
                let mut note: Vec<String> = (k..3)
                    .filter_map(|c| r.pct[c].map(|p| format!("{} {p:.0}%", NAMES[c])))
                    .collect();
                note.push(if k == 0 {
                    SUPPRESSED.to_string()
                } else {
                    format!("rest {SUPPRESSED}")
                });
                chart.draw_series(std::iter::once(Text::new(
                    note.join("; "),
                    (start + 1.0, y),
                    font(20, &RGBColor(90, 90, 90)).pos(Pos::new(HPos::Left, VPos::Center)),
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
    fn bars_are_labelled_with_their_shares_and_small_cells_are_marked() {
        let c = Categories {
            instrument: "PHQ9".into(),
            column: "modality".into(),
            rows: vec![
                CategoryRow {
                    label: "CBT".into(),
                    pct: [Some(57.0), Some(40.0), Some(3.0)],
                    n: Some(100),
                },
                CategoryRow {
                    label: "TSF".into(),
                    pct: [None, None, None],
                    n: None,
                },
                CategoryRow {
                    label: "MI".into(),
                    pct: [Some(61.0), None, None],
                    n: Some(200),
                },
                CategoryRow {
                    label: "DBT".into(),
                    pct: [None, Some(52.0), None],
                    n: Some(150),
                },
            ],
        };
        let r = crate::charts::render(&c).unwrap();
        assert!(r.svg.contains("57%") && r.svg.contains("40%"));
        // 3% is too thin a segment to hold its label.
        assert!(!r.svg.contains(">3%<"));
        assert!(r.svg.contains("CBT (n = 100)"));
        let texts = crate::charts::svg_texts(&r.svg);
        assert!(texts.iter().any(|t| t == SUPPRESSED));
        // Partly suppressed rows keep what is known and say the rest is suppressed.
        assert!(r.svg.contains("61%") && r.svg.contains(&format!("rest {SUPPRESSED}")));
        assert!(r
            .svg
            .contains(&format!("no reliable change 52%; {SUPPRESSED}")));
        for name in NAMES {
            assert!(r.svg.contains(name), "{name}");
        }
    }
}
