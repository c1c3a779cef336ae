//! Charts (plotters): each chart draws once through a backend-generic function and is
//! rendered as SVG (inline in report.html; text escaped by plotters-svg) and PNG (for slides).
//! PNG text uses the bundled DejaVu Sans through ab_glyph, never the machine's font libraries,
//! so a fresh machine renders the same bytes. Style: black, greys and the Okabe–Ito palette
//! (safe for colour-blind readers), chosen with distinct lightness and paired with distinct
//! marker shapes, so every chart also reads when printed in greyscale.
//!
//! One file per chart; [`build`] turns the analysis results into the report's charts.

pub mod abstinence;
pub mod build;
pub mod categories;
pub mod forest;
pub mod funnel;
pub mod hours;
pub mod retention;
pub mod scatter;
pub mod trajectory;
pub mod trend;

pub mod kind;
pub mod kit;

pub use kind::{Chart, ChartKind};
pub use kit::DrawError;

use crate::error::{Error, Result};
use kit::{FONT, FONT_FAMILY};
use plotters::coord::Shift;
use plotters::prelude::*;

/// A rendered chart.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// File stem under charts/ (e.g. `forest_PHQ9`).
    pub name: String,
    pub title: String,
    pub kind: ChartKind,
    pub svg: String,
    pub png: Vec<u8>,
}

/// What the page shows in a chart's place: the chart, or a one-line notice when small-cell
/// protection withheld everything the chart would show (SPEC §11 D4: no empty plot, and no
/// chart left out without a word).
#[derive(Debug, Clone)]
pub enum Figure<C> {
    Chart(C),
    Notice(Notice),
}

/// A chart not drawn because small-cell protection withheld every point of it. No file is
/// written for it; the page shows [`Notice::text`] where the chart would be.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: ChartKind,
    /// The chart's file stem (its place on the page, `chart-<name>`).
    pub name: String,
    pub title: String,
    /// What was withheld, e.g. "every quarter is withheld".
    pub reason: String,
}

impl Notice {
    /// The notice in place of `chart`, which is not drawn.
    pub fn of(chart: &impl Chart, reason: &str) -> Notice {
        Notice {
            kind: chart.kind(),
            name: chart.name(),
            title: chart.title(),
            reason: reason.to_string(),
        }
    }

    /// The line shown: "DERS: quarterly trend by track — not drawn: every quarter is withheld
    /// (small cells)".
    pub fn text(&self) -> String {
        format!("{} — not drawn: {} (small cells)", self.title, self.reason)
    }
}

impl<C> Figure<C> {
    /// The same figure with its chart mapped (a notice stays as it is).
    pub fn map<D>(self, f: impl FnOnce(C) -> D) -> Figure<D> {
        match self {
            Figure::Chart(c) => Figure::Chart(f(c)),
            Figure::Notice(n) => Figure::Notice(n),
        }
    }

    /// The chart, `None` for a notice.
    pub fn chart(&self) -> Option<&C> {
        match self {
            Figure::Chart(c) => Some(c),
            Figure::Notice(_) => None,
        }
    }
}

/// Every chart of the report, so they can be rendered together in parallel.
pub enum AnyChart {
    Forest(forest::Forest),
    Scatter(scatter::Scatter),
    Categories(categories::Categories),
    Abstinence(abstinence::AbstinenceChart),
    Trend(trend::TrendChart),
    Hours(hours::Hours),
    Retention(retention::RetentionChart),
    Funnel(funnel::Funnel),
    Trajectory(trajectory::TrajectoryChart),
}

macro_rules! each_chart {
    ($self:ident, $c:ident => $e:expr) => {
        match $self {
            AnyChart::Forest($c) => $e,
            AnyChart::Scatter($c) => $e,
            AnyChart::Categories($c) => $e,
            AnyChart::Abstinence($c) => $e,
            AnyChart::Trend($c) => $e,
            AnyChart::Hours($c) => $e,
            AnyChart::Retention($c) => $e,
            AnyChart::Funnel($c) => $e,
            AnyChart::Trajectory($c) => $e,
        }
    };
}

impl Chart for AnyChart {
    fn kind(&self) -> ChartKind {
        each_chart!(self, c => c.kind())
    }
    fn name(&self) -> String {
        each_chart!(self, c => c.name())
    }
    fn title(&self) -> String {
        each_chart!(self, c => c.title())
    }
    fn size(&self) -> (u32, u32) {
        each_chart!(self, c => c.size())
    }
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), DrawError> {
        each_chart!(self, c => c.draw(area))
    }
}

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT).is_err() {
            panic!("the bundled font assets/fonts/DejaVuSans.ttf does not parse");
        }
    });
}

/// Renders a chart as SVG and PNG.
///
/// # Errors
/// A drawing or encoding failure, naming the chart.
pub fn render<C: Chart>(chart: &C) -> Result<Rendered> {
    register_font();
    let (w, h) = chart.size();
    let fail = |e: DrawError| Error::Internal(format!("drawing chart {}: {e}", chart.name()));
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        chart.draw(&area).map_err(fail)?;
        area.present().map_err(|e| fail(e.into()))?;
    }
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        chart.draw(&area).map_err(fail)?;
        area.present().map_err(|e| fail(e.into()))?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        // Fast deflate: charts are mostly flat colour, so files stay small, and encoding was
        // most of the drawing time.
        enc.set_compression(png::Compression::Fast);
        let mut writer = enc.write_header().map_err(|e| fail(e.into()))?;
        writer.write_image_data(&rgb).map_err(|e| fail(e.into()))?;
    }
    Ok(Rendered {
        name: chart.name(),
        title: chart.title(),
        kind: chart.kind(),
        svg,
        png: png_bytes,
    })
}

/// The text elements of an SVG, trimmed (for the charts' tests).
#[cfg(test)]
pub(crate) fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// A chart whose PNG bytes are pinned: rendering depends only on plotters (pinned in
    /// Cargo.lock), the bundled font and this code, never on the machine's fonts, so every
    /// machine, CI's fresh one included, must produce these exact bytes. After a deliberate
    /// change to the chart style or an upgrade of plotters, ab_glyph or png, update the digest.
    #[test]
    fn a_fresh_machine_renders_the_same_png_bytes() {
        let chart = forest::Forest {
            instrument: "PHQ9".into(),
            unit: "points".into(),
            higher_is_better: false,
            rows: vec![
                forest::ForestRow {
                    label: "overall".into(),
                    margin: true,
                    mean: Some(-6.25),
                    ci: Some((-6.6, -5.9)),
                    suppressed: false,
                },
                forest::ForestRow {
                    label: "substance_use · MI".into(),
                    margin: false,
                    mean: Some(-3.5),
                    ci: Some((-5.0, -2.0)),
                    suppressed: false,
                },
                forest::ForestRow {
                    label: "adolescent · TSF".into(),
                    margin: false,
                    mean: None,
                    ci: None,
                    suppressed: true,
                },
            ],
        };
        let png = render(&chart).unwrap().png;
        let digest: String = Sha256::digest(&png)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            digest,
            "d03c1df2cbfbef96f254f4f07aa158d202afc02eaf9c1039ed9c6a5e6fda29ff"
        );
    }
}
