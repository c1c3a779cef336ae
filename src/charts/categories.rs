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

const ROW: u32 = 64;

/// The fill of a merged bar (categories whose split is withheld): a light warm grey, apart
/// from the three categories' fills.
pub const MERGED: RGBColor = RGBColor(236, 228, 210);

/// The merged name of withheld categories: "not reliably improved" for the two besides
/// improvement, else the names joined by "or".
pub fn merged_name(names: &[&str]) -> String {
    if names == [NAMES[1], NAMES[2]] {
        "not reliably improved".to_string()
    } else {
        names.join(" or ")
    }
}

impl Categories {
    /// One segment of a bar, labelled inside when wide enough.
    fn segment<DB: DrawingBackend, X, Y>(
        &self,
        chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
        (start, end): (f64, f64),
        y: f64,
        fill: RGBColor,
        label: &str,
        dark_ink: bool,
    ) -> Result<(), DrawError>
    where
        X: Ranged<ValueType = f64>,
        Y: Ranged<ValueType = f64>,
    {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(start, y - 0.34), (end, y + 0.34)],
            fill.filled(),
        )))?;
        if end - start >= 6.0 {
            let ink = if dark_ink { INK } else { WHITE };
            chart.draw_series(std::iter::once(Text::new(
                label.to_string(),
                ((start + end) / 2.0, y),
                font(20, &ink).pos(Pos::new(HPos::Center, VPos::Center)),
            )))?;
        }
        Ok(())
    }
}

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
            let known: Vec<usize> = (0..3).filter(|&c| r.pct[c].is_some()).collect();
            if known.is_empty() {
                chart.draw_series(std::iter::once(Text::new(
                    SUPPRESSED,
                    (1.0, y),
                    font(20, &RGBColor(90, 90, 90)).pos(Pos::new(HPos::Left, VPos::Center)),
                )))?;
                continue;
            }
            // The known shares from the left in category order, then the withheld ones as one
            // merged bar (SPEC §11 D4): their sum is 100% minus the known shares, which the
            // published counts already imply, while the split between them stays withheld.
            let mut start = 0.0;
            for &c in &known {
                let p = r.pct[c].unwrap_or(0.0);
                let end = (start + p).min(100.0);
                self.segment(
                    &mut chart,
                    (start, end),
                    y,
                    FILLS[c],
                    &format!("{p:.0}%"),
                    c == 1,
                )?;
                start = end;
            }
            if known.len() < 3 {
                let names: Vec<&str> = (0..3)
                    .filter(|c| !known.contains(c))
                    .map(|c| NAMES[c])
                    .collect();
                let rest = (100.0 - start).max(0.0);
                self.segment(
                    &mut chart,
                    (start, 100.0),
                    y,
                    MERGED,
                    &format!("{rest:.0}%"),
                    true,
                )?;
                chart.draw_series(std::iter::once(Text::new(
                    format!(
                        "{} {rest:.0}% (split withheld: small cells)",
                        merged_name(&names)
                    ),
                    (start.min(40.0) + 1.0, y + 0.52),
                    font(17, &RGBColor(70, 70, 70)).pos(Pos::new(HPos::Left, VPos::Center)),
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
        // Partly withheld rows keep what is known and merge the rest (SPEC §11 D4).
        assert!(r.svg.contains("61%") && r.svg.contains("39%"));
        assert!(texts
            .iter()
            .any(|t| t == "not reliably improved 39% (split withheld: small cells)"));
        assert!(r.svg.contains("52%") && r.svg.contains("48%"));
        assert!(texts
            .iter()
            .any(|t| t
                == "reliably improved or reliably deteriorated 48% (split withheld: small cells)"));
        for name in NAMES {
            assert!(r.svg.contains(name), "{name}");
        }
    }
}
