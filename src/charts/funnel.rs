//! Funnel plot of one benchmark indicator (SPEC §14 B5): each unit's proportion against its
//! denominator n, the pooled target as a line, and the 95% and 99.8% control limits as curves
//! over n (Spiegelhalter's exact binomial limits, computed over a grid of n by
//! `charts::build`, not only at the units). Units outside the 99.8% limits are labelled with
//! their name; suppressed units are not drawn and the legend says how many there are.

use super::kind::{Chart, ChartKind};
use super::kit::{font, tick, DrawError, Marker, DARK_BLUE, GREY, INK, LIGHT, VERMILLION};
use crate::stats::funnel::Flag;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One unit on the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelPoint {
    pub label: String,
    pub n: u64,
    pub proportion: f64,
    pub flag: Flag,
}

pub struct Funnel {
    /// The indicator's name in benchmark.csv (`reliable_improvement`).
    pub indicator: String,
    /// The instrument, empty for episode-level indicators.
    pub instrument: String,
    /// What the proportion is, for the axis.
    pub describe: String,
    /// The unit column (`site`).
    pub column: String,
    pub target: f64,
    /// The limits over a grid of n: (n, [low_998, low_95, high_95, high_998]).
    pub curves: Vec<(f64, [f64; 4])>,
    /// The units shown.
    pub points: Vec<FunnelPoint>,
    /// Units left out because their proportion is suppressed.
    pub suppressed: usize,
}

/// Orange (Okabe–Ito) for units outside the 95% limits only.
const ORANGE: RGBColor = RGBColor(230, 159, 0);

impl Funnel {
    /// The x range (0 to a little past the largest unit) and the y range: the points, the
    /// target and the 99.8% limits from half the smallest unit's n on, within [0, 1].
    fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let max_n = self.points.iter().map(|p| p.n).max().unwrap_or(0);
        let x_hi = (max_n as f64 * 1.08).max(10.0);
        let min_n = self.points.iter().map(|p| p.n).min().unwrap_or(1) as f64;
        let (mut lo, mut hi) = (self.target, self.target);
        for p in &self.points {
            lo = lo.min(p.proportion);
            hi = hi.max(p.proportion);
        }
        for (n, l) in &self.curves {
            if *n >= min_n / 2.0 {
                lo = lo.min(l[0]);
                hi = hi.max(l[3]);
            }
        }
        let pad = ((hi - lo) * 0.08).max(0.01);
        ((0.0, x_hi), ((lo - pad).max(0.0), (hi + pad).min(1.0)))
    }

    /// What the units are called in the legend.
    fn units(&self) -> &'static str {
        if self.column == "site" {
            "sites"
        } else {
            "units"
        }
    }

    fn style(flag: Flag) -> (Marker, RGBColor) {
        match flag {
            Flag::High998 | Flag::Low998 => (Marker::Square, VERMILLION),
            Flag::High95 | Flag::Low95 => (Marker::Triangle, ORANGE),
            Flag::Within => (Marker::Circle, DARK_BLUE),
        }
    }
}

impl Chart for Funnel {
    fn kind(&self) -> ChartKind {
        ChartKind::Funnel
    }

    fn name(&self) -> String {
        if self.instrument.is_empty() {
            format!("funnel_{}", self.indicator)
        } else {
            format!("funnel_{}_{}", self.indicator, self.instrument)
        }
    }

    fn title(&self) -> String {
        let what = self.indicator.replace('_', " ");
        if self.instrument.is_empty() {
            format!("{} by {}", capitalised(&what), self.column)
        } else {
            format!("{}: {what} by {}", self.instrument, self.column)
        }
    }

    fn size(&self) -> (u32, u32) {
        (1400, 800)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        area.fill(&WHITE)?;
        let body = super::kit::titled(area, &self.title(), 30)?;
        let (plot, legend) = body.split_horizontally(1040);
        let ((x0, x1), (y0, y1)) = self.ranges();
        let decimals = if y1 - y0 < 0.05 { 1 } else { 0 };
        let mut chart = ChartBuilder::on(&plot)
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(100)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .max_light_lines(0)
            .bold_line_style(LIGHT)
            .x_label_formatter(&|x| tick(*x))
            .y_label_formatter(&|y| format!("{:.*}%", decimals, 100.0 * y))
            .x_desc(format!("n ({})", denominator(&self.indicator)))
            .y_desc(&self.describe)
            .label_style(font(20, &INK))
            .axis_desc_style(font(22, &INK))
            .draw()?;
        // Each limit curve, drawn only where it lies on the chart (the limits are not clipped
        // to [0, 1] and leave the chart at small n).
        for (k, dashed) in [(0, false), (1, true), (2, true), (3, false)] {
            let points: Vec<Option<(f64, f64)>> = self
                .curves
                .iter()
                .map(|(n, l)| (l[k] >= y0 && l[k] <= y1 && *n <= x1).then_some((*n, l[k])))
                .collect();
            for run in points.split(Option::is_none) {
                let run: Vec<(f64, f64)> = run.iter().flatten().copied().collect();
                if run.len() < 2 {
                    continue;
                }
                if dashed {
                    chart.draw_series(DashedLineSeries::new(run, 10, 8, GREY.stroke_width(3)))?;
                } else {
                    chart.draw_series(LineSeries::new(run, DARK_BLUE.stroke_width(3)))?;
                }
            }
        }
        chart.draw_series(LineSeries::new(
            [(x0, self.target), (x1, self.target)],
            INK.stroke_width(2),
        ))?;
        for p in &self.points {
            let (marker, color) = Self::style(p.flag);
            let at = (p.n as f64, p.proportion);
            marker.draw(chart.plotting_area(), at, 8, color)?;
            if matches!(p.flag, Flag::High998 | Flag::Low998) {
                let v = if p.flag == Flag::High998 {
                    VPos::Bottom
                } else {
                    VPos::Top
                };
                let dy = if p.flag == Flag::High998 { -12 } else { 12 };
                chart.plotting_area().draw(
                    &(EmptyElement::at(at)
                        + Text::new(
                            p.label.clone(),
                            (0, dy),
                            font(20, &INK).pos(Pos::new(HPos::Center, v)),
                        )),
                )?;
            }
        }
        self.legend(&legend, decimals)
    }
}

impl Funnel {
    fn legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        decimals: usize,
    ) -> Result<(), DrawError> {
        let mut y = 40;
        let mut line = |style: ShapeStyle, dashed: bool, text: String| -> Result<(), DrawError> {
            if dashed {
                for x in [10, 30] {
                    area.draw(&PathElement::new([(x, y + 12), (x + 12, y + 12)], style))?;
                }
            } else {
                area.draw(&PathElement::new([(10, y + 12), (50, y + 12)], style))?;
            }
            area.draw(&Text::new(text, (62, y), font(20, &INK)))?;
            y += 36;
            Ok(())
        };
        line(
            INK.stroke_width(2),
            false,
            format!(
                "target {:.*}% (all {})",
                decimals,
                100.0 * self.target,
                self.units()
            ),
        )?;
        line(GREY.stroke_width(3), true, "95% limits".into())?;
        line(DARK_BLUE.stroke_width(3), false, "99.8% limits".into())?;
        y += 12;
        for (flag, text) in [
            (Flag::Within, "within 95%"),
            (Flag::High95, "outside 95%"),
            (Flag::High998, "outside 99.8% (named)"),
        ] {
            let (marker, color) = Self::style(flag);
            marker.draw(area, (30, y + 12), 8, color)?;
            area.draw(&Text::new(text, (62, y), font(20, &INK)))?;
            y += 36;
        }
        if self.suppressed > 0 {
            y += 12;
            let units = match (self.suppressed, self.units()) {
                (1, "sites") => "site",
                (1, _) => "unit",
                (_, u) => u,
            };
            area.draw(&Text::new(
                format!("{} {units} withheld (not shown)", self.suppressed),
                (10, y),
                font(20, &INK),
            ))?;
            area.draw(&Text::new(
                "(small cells), not shown",
                (10, y + 26),
                font(20, &INK),
            ))?;
        }
        Ok(())
    }
}

/// What n counts, per indicator.
fn denominator(indicator: &str) -> &'static str {
    match indicator {
        "reliable_improvement" => "paired episodes",
        "reliable_recovery" => "cases at baseline",
        "followup_rate" => "episodes with a baseline",
        _ => "discharged episodes",
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::funnel::binomial_limits;

    #[test]
    fn outliers_are_named_and_suppressed_units_counted() {
        let target = 0.45;
        let curves: Vec<(f64, [f64; 4])> = (1..=60)
            .map(|k| {
                let n = 25 * k;
                let l = binomial_limits(n, target).unwrap();
                (n as f64, [l.low_998, l.low_95, l.high_95, l.high_998])
            })
            .collect();
        let point = |label: &str, n, proportion, flag| FunnelPoint {
            label: label.into(),
            n,
            proportion,
            flag,
        };
        let f = Funnel {
            indicator: "reliable_improvement".into(),
            instrument: "PHQ9".into(),
            describe: "reliably improved".into(),
            column: "site".into(),
            target,
            curves,
            points: vec![
                point("site_01", 1200, 0.44, Flag::Within),
                point("site_02", 1100, 0.41, Flag::Low95),
                point("site_03", 1180, 0.61, Flag::High998),
            ],
            suppressed: 2,
        };
        let r = crate::charts::render(&f).unwrap();
        assert_eq!(r.name, "funnel_reliable_improvement_PHQ9");
        let texts = crate::charts::svg_texts(&r.svg);
        assert!(texts.iter().any(|t| t == "site_03"), "{texts:?}");
        assert!(!texts.iter().any(|t| t == "site_01" || t == "site_02"));
        assert!(texts.iter().any(|t| t == "2 sites withheld (not shown)"));
        assert!(texts.iter().any(|t| t == "target 45% (all sites)"));
        assert!(texts
            .iter()
            .any(|t| t == "PHQ9: reliable improvement by site"));
        // The limits are curves over n: the two 99.8% curves and the target are polylines
        // of many points, not one segment per unit.
        let blue_points = r
            .svg
            .split("<polyline")
            .skip(1)
            .filter(|p| p.split('>').next().unwrap_or("").contains("#004682"))
            .map(|p| {
                p.split("points=\"")
                    .nth(1)
                    .map_or(0, |s| s.split(' ').count())
            })
            .max()
            .unwrap_or(0);
        assert!(blue_points > 20, "{blue_points}");
        let e = Funnel {
            indicator: "completion".into(),
            instrument: String::new(),
            points: vec![],
            suppressed: 1,
            column: "delivery".into(),
            ..f
        };
        let r = crate::charts::render(&e).unwrap();
        assert_eq!(r.name, "funnel_completion");
        assert!(r.svg.contains("Completion by delivery"));
        assert!(r.svg.contains("1 unit withheld (not shown)"));
    }
}
