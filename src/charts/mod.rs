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
pub mod hours;
pub mod scatter;
pub mod trend;

use crate::error::{Error, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

/// The bundled font (DejaVu Sans; licence in assets/fonts/DejaVuSans-LICENSE.txt).
pub const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
pub const FONT_FAMILY: &str = "sans-serif";
pub const INK: RGBColor = RGBColor(20, 20, 20);
pub const GREY: RGBColor = RGBColor(130, 130, 130);
pub const LIGHT: RGBColor = RGBColor(225, 225, 225);
/// Okabe–Ito blue, dark enough to read as near-black in greyscale.
pub const DARK_BLUE: RGBColor = RGBColor(0, 70, 130);
/// Okabe–Ito vermillion (mid lightness in greyscale).
pub const VERMILLION: RGBColor = RGBColor(213, 94, 0);
/// Series colours (Okabe–Ito, black first), cycled together with [`Marker`] shapes.
pub const SERIES: [RGBColor; 7] = [
    RGBColor(0, 0, 0),
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];
/// Text shown in place of a small cell.
pub const SUPPRESSED: &str = "suppressed (small cell)";

/// Marker shapes, cycled so that series differ without colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Marker {
    Circle,
    Triangle,
    Square,
    Cross,
}

impl Marker {
    pub fn nth(k: usize) -> Marker {
        [
            Marker::Circle,
            Marker::Triangle,
            Marker::Square,
            Marker::Cross,
        ][k % 4]
    }

    /// Draws the marker centred at `at` (in the area's coordinates) on `area`.
    pub fn draw<DB: DrawingBackend, CT: CoordTranslate>(
        self,
        area: &DrawingArea<DB, CT>,
        at: CT::From,
        size: i32,
        color: RGBColor,
    ) -> std::result::Result<(), String> {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        let origin = EmptyElement::at(at);
        match self {
            Marker::Circle => area.draw(&(origin + Circle::new((0, 0), size, color.filled()))),
            Marker::Triangle => {
                area.draw(&(origin + TriangleMarker::new((0, 0), size + 2, color.filled())))
            }
            Marker::Square => area
                .draw(&(origin + Rectangle::new([(-size, -size), (size, size)], color.filled()))),
            Marker::Cross => {
                area.draw(&(origin + Cross::new((0, 0), size + 1, color.stroke_width(3))))
            }
        }
        .map_err(e)
    }
}

/// A text style in the bundled font.
pub fn font(size: u32, color: &RGBColor) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().color(color)
}

/// Draws `title` centred at the top of `area`, clear of the edge, and returns the area below.
pub fn titled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    size: u32,
) -> std::result::Result<DrawingArea<DB, Shift>, String> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let (w, _) = area.dim_in_pixel();
    area.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 16),
        font(size, &INK).pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(|e| e.to_string())?;
    Ok(area.split_vertically(size as i32 + 36).1)
}

/// The coordinate system of a chart of labelled rows, top to bottom.
pub type RowCoord = Cartesian2d<RangedCoordf64, RangedCoordf64>;

/// How a chart of labelled rows is laid out.
pub struct Rows<'a> {
    /// One label per row, top to bottom.
    pub labels: &'a [String],
    pub x: std::ops::Range<f64>,
    pub x_desc: &'a str,
    pub x_format: &'a dyn Fn(&f64) -> String,
    /// Width of the label column, in pixels.
    pub label_width: u32,
    /// Room above the plot, in pixels (for text drawn over the top row).
    pub top: u32,
}

impl Rows<'_> {
    /// The y coordinate of row `k` from the top.
    pub fn y(&self, k: usize) -> f64 {
        (self.labels.len().max(1) - 1 - k) as f64
    }

    /// Builds the chart on `area` and draws its axes: one labelled tick per row, light
    /// vertical grid lines, the x axis with its description.
    pub fn build<'a, DB: DrawingBackend>(
        &self,
        area: &'a DrawingArea<DB, Shift>,
    ) -> std::result::Result<ChartContext<'a, DB, RowCoord>, String> {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        let n = self.labels.len().max(1);
        let mut chart = ChartBuilder::on(area)
            .margin(20)
            .margin_top(self.top)
            .x_label_area_size(60)
            .y_label_area_size(self.label_width)
            .build_cartesian_2d(self.x.clone(), -0.5..(n as f64 - 0.5))
            .map_err(e)?;
        let count = self.labels.len();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .max_light_lines(0)
            .bold_line_style(LIGHT)
            .y_labels(n)
            .y_label_formatter(&|y| {
                let i = y.round() as i64;
                if (y - y.round()).abs() < 1e-6 && i >= 0 && (i as usize) < count {
                    self.labels[count - 1 - i as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_label_formatter(self.x_format)
            .x_desc(self.x_desc)
            .label_style(font(20, &INK))
            .axis_desc_style(font(22, &INK))
            .draw()
            .map_err(e)?;
        Ok(chart)
    }
}

/// A row label with its count, when the count is shown (not suppressed).
pub fn with_n(label: &str, n: Option<u64>) -> String {
    match n {
        Some(n) => format!("{label} (n = {n})"),
        None => label.to_string(),
    }
}

/// A legend of outlined colour swatches in a row, `step` pixels apart, starting at x = 320.
pub fn swatches<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(RGBColor, &str)],
    step: i32,
) -> std::result::Result<(), String> {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    for (k, (fill, name)) in items.iter().enumerate() {
        let x = 320 + step * k as i32;
        let square = [(x, 12), (x + 26, 38)];
        area.draw(&Rectangle::new(square, fill.filled()))
            .map_err(e)?;
        area.draw(&Rectangle::new(square, INK.stroke_width(1)))
            .map_err(e)?;
        area.draw(&Text::new(name.to_string(), (x + 36, 14), font(20, &INK)))
            .map_err(e)?;
    }
    Ok(())
}

/// Numbers on axes and labels: integers without decimals, others with one.
pub fn tick(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{:.0}", x.round())
    } else {
        format!("{x:.1}")
    }
}

/// A rendered chart.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// File stem under charts/ (e.g. `forest_PHQ9`).
    pub name: String,
    pub title: String,
    pub kind: Kind,
    pub svg: String,
    pub png: Vec<u8>,
}

/// A chart that can draw itself on any plotters backend.
pub trait Chart: Sync {
    /// The kind of chart, which groups charts on the page.
    fn kind(&self) -> Kind;
    /// File stem under charts/.
    fn name(&self) -> String;
    fn title(&self) -> String;
    /// Width and height in pixels (the PNG's size; the SVG's viewport).
    fn size(&self) -> (u32, u32);
    /// Draws onto `area`; errors are reported as text.
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String>;
}

/// Every chart of the report, so they can be rendered together in parallel.
pub enum AnyChart {
    Forest(forest::Forest),
    Scatter(scatter::Scatter),
    Categories(categories::Categories),
    Abstinence(abstinence::AbstinenceChart),
    Trend(trend::TrendChart),
    Hours(hours::Hours),
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
        }
    };
}

impl Chart for AnyChart {
    fn kind(&self) -> Kind {
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
    ) -> std::result::Result<(), String> {
        each_chart!(self, c => c.draw(area))
    }
}

/// The kinds of chart, in the order the page shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Forest,
    Scatter,
    Categories,
    Abstinence,
    Trend,
    Hours,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Forest,
        Kind::Scatter,
        Kind::Categories,
        Kind::Abstinence,
        Kind::Trend,
        Kind::Hours,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Kind::Forest => "forest",
            Kind::Scatter => "scatter",
            Kind::Categories => "categories",
            Kind::Abstinence => "abstinence",
            Kind::Trend => "trend",
            Kind::Hours => "hours",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::Forest => "Mean change by track and modality",
            Kind::Scatter => "Baseline against follow-up (Jacobson-Truax)",
            Kind::Categories => "Reliable change by modality",
            Kind::Abstinence => "Abstinence before and after",
            Kind::Trend => "Quarterly trend",
            Kind::Hours => "Weekly hours attended",
        }
    }

    /// How to read the charts of this kind.
    pub fn explanation(self) -> &'static str {
        match self {
            Kind::Forest => "Mean change from baseline to follow-up with its 95% confidence interval, per instrument. Circles are single cells (track and modality), triangles margins (all modalities or all tracks). An interval that does not cross the zero line is a change unlikely to be chance.",
            Kind::Scatter => "Each paired episode's baseline (across) against its follow-up (up), counted in squares shaded by how many episodes they hold. On the diagonal nothing changed; the grey band holds changes smaller than the instrument's reliable-change threshold; the dashed lines are the caseness cutoff. Squares beyond the band on the improving side are reliable improvements; those also past the cutoff are reliable recoveries.",
            Kind::Categories => "Share of paired episodes reliably improved, unchanged and reliably deteriorated (Jacobson-Truax), per modality across all tracks, and overall.",
            Kind::Abstinence => "Share of paired episodes reporting no days of use at baseline and at follow-up, per group and overall.",
            Kind::Trend => "Mean change and share reliably improved per quarter of the follow-up anchor date, per track and for all tracks. A missing point is a small cell that is suppressed, or a quarter without paired episodes; the legend counts the suppressed points.",
            Kind::Hours => "Weekly hours attended per discharged episode: the box spans the middle half (25th to 75th percentile), the whiskers the 10th to 90th percentile, the bar is the median. The dashed line is the IOP dose; the right column gives the share meeting it.",
        }
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
    let fail = |e: String| Error::Data(format!("drawing chart {}: {e}", chart.name()));
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        chart.draw(&area).map_err(fail)?;
        area.present().map_err(|e| fail(e.to_string()))?;
    }
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        chart.draw(&area).map_err(fail)?;
        area.present().map_err(|e| fail(e.to_string()))?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        // Fast deflate: charts are mostly flat colour, so files stay small, and encoding was
        // most of the drawing time.
        enc.set_compression(png::Compression::Fast);
        let mut writer = enc.write_header().map_err(|e| fail(e.to_string()))?;
        writer
            .write_image_data(&rgb)
            .map_err(|e| fail(e.to_string()))?;
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
            "bda971064cde4431062229272b023480f3c1b4704f4751d095d02d958cbcbe8f"
        );
    }
}
