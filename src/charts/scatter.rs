//! Jacobson–Truax plot, per instrument: every paired episode's baseline (x) against its
//! follow-up (y), over all tracks and modalities. Points are counted into squares shaded by
//! count class (no square shows an exact small count, and a million episodes stay a few hundred
//! shapes); the identity line, the reliable-change band (|change| below the threshold) and the
//! caseness cutoff lines are drawn over them. A cohort below the reporting threshold is not
//! drawn: `build` puts a one-line notice in its place.

use super::kind::{Chart, ChartKind};
use super::kit::{font, tick, DrawError, DARK_BLUE, GREY, INK, VERMILLION};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rustc_hash::FxHashMap;

/// One square: its centre and how many episodes it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Bin {
    pub x: f64,
    pub y: f64,
    pub count: u64,
}

pub struct Scatter {
    pub instrument: String,
    pub unit: String,
    /// The instrument's score range.
    pub range: (f64, f64),
    pub higher_is_better: bool,
    /// Reliable-change threshold in points.
    pub threshold: Option<f64>,
    pub cutoff: Option<f64>,
    /// Side of a square, in score points.
    pub width: f64,
    pub bins: Vec<Bin>,
    /// Paired episodes plotted.
    pub n: u64,
    /// Upper bounds (inclusive) of the shading classes; the last is u64::MAX.
    pub classes: [u64; 4],
}

/// Light to dark blues (ColorBrewer "Blues"): their lightness falls steadily, so the classes
/// stay in order in greyscale and for colour-blind readers.
pub const SHADES: [RGBColor; 4] = [
    RGBColor(189, 215, 238),
    RGBColor(107, 174, 214),
    RGBColor(33, 113, 181),
    RGBColor(8, 48, 107),
];

/// Widest whole-number scale that gets one square per score pair.
const FINE_SCALE: f64 = 80.0;
/// Squares per side on other scales.
const GRID: f64 = 60.0;

/// Counts (baseline, follow-up) points into squares: a whole-number scale at most 80 points
/// wide gets one square per score pair, any other a 60 × 60 grid over the range. Sorted by
/// (x, y). Returns the side of a square and the squares.
pub fn bin(points: &[(f64, f64)], range: (f64, f64)) -> (f64, Vec<Bin>) {
    let (min, max) = range;
    let whole = points
        .iter()
        .all(|&(x, y)| x.fract() == 0.0 && y.fract() == 0.0);
    let fine = whole && max - min <= FINE_SCALE;
    let width = if fine { 1.0 } else { (max - min) / GRID };
    let mut counts: FxHashMap<(i64, i64), u64> = FxHashMap::default();
    let index = |v: f64| -> i64 {
        if fine {
            v as i64
        } else {
            (((v - min) / width).floor() as i64).clamp(0, GRID as i64 - 1)
        }
    };
    for &(x, y) in points {
        *counts.entry((index(x), index(y))).or_insert(0) += 1;
    }
    let centre = |i: i64| {
        if fine {
            i as f64
        } else {
            min + (i as f64 + 0.5) * width
        }
    };
    let mut counts: Vec<((i64, i64), u64)> = counts.into_iter().collect();
    counts.sort_unstable();
    let bins = counts
        .into_iter()
        .map(|((i, j), count)| Bin {
            x: centre(i),
            y: centre(j),
            count,
        })
        .collect();
    (width, bins)
}

impl Scatter {
    /// The shading class of a count.
    pub fn class(&self, count: u64) -> usize {
        self.classes.iter().position(|&c| count <= c).unwrap_or(3)
    }

    /// Legend text of each class.
    pub fn class_labels(&self) -> Vec<String> {
        let c = self.classes;
        vec![
            format!("1 to {} episodes", c[0]),
            format!("{} to {}", c[0] + 1, c[1]),
            format!("{} to {}", c[1] + 1, c[2]),
            format!("more than {}", c[2]),
        ]
    }

    /// The plotted square: the range, widened by half a square on a whole-number scale.
    fn bounds(&self) -> (f64, f64) {
        let pad = if self.width == 1.0 { 0.5 } else { 0.0 };
        (self.range.0 - pad, self.range.1 + pad)
    }
}

impl Chart for Scatter {
    fn kind(&self) -> ChartKind {
        ChartKind::Scatter
    }

    fn name(&self) -> String {
        format!("scatter_{}", self.instrument)
    }

    fn title(&self) -> String {
        format!("{}: baseline against follow-up", self.instrument)
    }

    fn size(&self) -> (u32, u32) {
        (1400, 1000)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        area.fill(&WHITE)?;
        let body = super::kit::titled(area, &self.title(), 30)?;
        let (plot, legend) = body.split_horizontally(960);
        let (lo, hi) = self.bounds();
        let mut chart = ChartBuilder::on(&plot)
            .margin(20)
            .x_label_area_size(70)
            .y_label_area_size(90)
            .build_cartesian_2d(lo..hi, lo..hi)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(format!("baseline ({})", self.unit))
            .y_desc(format!("follow-up ({})", self.unit))
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .label_style(font(20, &INK))
            .axis_desc_style(font(22, &INK))
            .draw()?;
        let band = RGBColor(232, 232, 232);
        if let Some(t) = self.threshold {
            let hexagon = if t < hi - lo {
                vec![
                    (lo, lo),
                    (lo, lo + t),
                    (hi - t, hi),
                    (hi, hi),
                    (hi, hi - t),
                    (lo + t, lo),
                ]
            } else {
                vec![(lo, lo), (lo, hi), (hi, hi), (hi, lo)]
            };
            chart.draw_series(std::iter::once(Polygon::new(hexagon, band.filled())))?;
        }
        let half = self.width / 2.0;
        chart.draw_series(self.bins.iter().map(|b| {
            Rectangle::new(
                [(b.x - half, b.y - half), (b.x + half, b.y + half)],
                SHADES[self.class(b.count)].filled(),
            )
        }))?;
        if let Some(t) = self.threshold.filter(|t| *t < hi - lo) {
            for (a, b) in [((lo, lo + t), (hi - t, hi)), ((lo + t, lo), (hi, hi - t))] {
                chart.draw_series(DashedLineSeries::new([a, b], 8, 6, GREY.stroke_width(2)))?;
            }
        }
        chart.draw_series(LineSeries::new([(lo, lo), (hi, hi)], INK.stroke_width(2)))?;
        if let Some(c) = self.cutoff.filter(|c| *c > lo && *c < hi) {
            for (a, b) in [((c, lo), (c, hi)), ((lo, c), (hi, c))] {
                chart.draw_series(DashedLineSeries::new(
                    [a, b],
                    12,
                    8,
                    VERMILLION.stroke_width(3),
                ))?;
            }
        }
        if self.threshold.is_some() {
            let inset = (hi - lo) * 0.02;
            let right = font(20, &DARK_BLUE).pos(Pos::new(HPos::Right, VPos::Bottom));
            let left = font(20, &DARK_BLUE).pos(Pos::new(HPos::Left, VPos::Top));
            let (below, above) = if self.higher_is_better {
                ("reliably deteriorated", "reliably improved")
            } else {
                ("reliably improved", "reliably deteriorated")
            };
            chart.draw_series([
                Text::new(below.to_string(), (hi - inset, lo + inset), right),
                Text::new(above.to_string(), (lo + inset, hi - inset), left),
            ])?;
        }
        Ok(self.draw_legend(&legend)?)
    }
}

impl Scatter {
    fn draw_legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let mut y = 40;
        let line = |text: String, y: &mut i32| -> Result<(), _> {
            area.draw(&Text::new(text, (50, *y), font(20, &INK)))?;
            *y += 32;
            Ok(())
        };
        line(format!("{} paired episodes", self.n), &mut y)?;
        y += 12;
        line("episodes in a square:".to_string(), &mut y)?;
        for (k, label) in self.class_labels().into_iter().enumerate() {
            area.draw(&Rectangle::new([(50, y), (74, y + 24)], SHADES[k].filled()))?;
            area.draw(&Text::new(label, (86, y), font(20, &INK)))?;
            y += 34;
        }
        y += 12;
        area.draw(&PathElement::new(
            [(50, y + 12), (90, y + 12)],
            INK.stroke_width(2),
        ))?;
        area.draw(&Text::new("no change", (100, y), font(20, &INK)))?;
        y += 40;
        if let Some(t) = self.threshold {
            area.draw(&Rectangle::new(
                [(50, y), (90, y + 24)],
                RGBColor(232, 232, 232).filled(),
            ))?;
            area.draw(&Text::new(
                format!("change under {} (not reliable)", tick(t)),
                (100, y),
                font(20, &INK),
            ))?;
            y += 40;
        }
        if let Some(c) = self.cutoff {
            area.draw(&PathElement::new(
                [(50, y + 12), (90, y + 12)],
                VERMILLION.stroke_width(3),
            ))?;
            area.draw(&Text::new(
                format!("caseness cutoff {}", tick(c)),
                (100, y),
                font(20, &INK),
            ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_scores_get_one_square_per_pair_and_others_a_grid() {
        let (w, bins) = bin(&[(10.0, 5.0), (10.0, 5.0), (3.0, 4.0)], (0.0, 27.0));
        assert_eq!(w, 1.0);
        assert_eq!(
            bins,
            vec![
                Bin {
                    x: 3.0,
                    y: 4.0,
                    count: 1
                },
                Bin {
                    x: 10.0,
                    y: 5.0,
                    count: 2
                }
            ]
        );
        // A fractional score: a 60 × 60 grid over 0..6; 6.0 falls in the last square.
        let (w, bins) = bin(&[(0.05, 6.0), (0.09, 5.95)], (0.0, 6.0));
        assert!((w - 0.1).abs() < 1e-12);
        assert_eq!(bins.len(), 1);
        assert_eq!(bins[0].count, 2);
        assert!((bins[0].x - 0.05).abs() < 1e-12 && (bins[0].y - 5.95).abs() < 1e-12);
        // A wide whole-number scale (DERS 36..180) also uses the grid.
        let (w, _) = bin(&[(36.0, 180.0)], (36.0, 180.0));
        assert!((w - 2.4).abs() < 1e-12);
    }

    fn scatter() -> Scatter {
        let (width, bins) = bin(&[(20.0, 8.0), (15.0, 14.0), (3.0, 12.0)], (0.0, 27.0));
        Scatter {
            instrument: "PHQ9".into(),
            unit: "points".into(),
            range: (0.0, 27.0),
            higher_is_better: false,
            threshold: Some(6.0),
            cutoff: Some(10.0),
            width,
            bins,
            n: 3,
            classes: [10, 100, 1000, u64::MAX],
        }
    }

    #[test]
    fn the_plot_has_its_band_cutoffs_and_classes() {
        let s = scatter();
        assert_eq!(s.class(10), 0);
        assert_eq!(s.class(11), 1);
        assert_eq!(s.class(1001), 3);
        let r = crate::charts::render(&s).unwrap();
        for text in [
            "reliably improved",
            "reliably deteriorated",
            "caseness cutoff 10",
            "change under 6 (not reliable)",
            "1 to 10 episodes",
        ] {
            assert!(r.svg.contains(text), "{text}");
        }
    }
}
