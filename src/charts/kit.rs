//! The drawing kit every chart shares: the bundled font, the palette and marker shapes, and
//! the layout of labelled rows, titles, legends and ticks. Drawing failures are [`DrawError`]s,
//! so chart code uses `?` on plotters' results directly.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

/// A failure while drawing or encoding a chart: a bug (or an exhausted resource), never a
/// property of the input data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawError(pub String);

impl std::fmt::Display for DrawError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError(e.to_string())
    }
}

impl From<png::EncodingError> for DrawError {
    fn from(e: png::EncodingError) -> Self {
        DrawError(e.to_string())
    }
}

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
/// Text shown in place of a withheld value (a small cell, or one that would reveal it).
pub const SUPPRESSED: &str = "withheld (small cell)";

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
    ) -> std::result::Result<(), DrawError> {
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
        .map_err(DrawError::from)
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
) -> std::result::Result<DrawingArea<DB, Shift>, DrawError> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let (w, _) = area.dim_in_pixel();
    area.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 16),
        font(size, &INK).pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
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
    ) -> std::result::Result<ChartContext<'a, DB, RowCoord>, DrawError> {
        let n = self.labels.len().max(1);
        let mut chart = ChartBuilder::on(area)
            .margin(20)
            .margin_top(self.top)
            .x_label_area_size(60)
            .y_label_area_size(self.label_width)
            .build_cartesian_2d(self.x.clone(), -0.5..(n as f64 - 0.5))?;
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
            .draw()?;
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
) -> std::result::Result<(), DrawError> {
    for (k, (fill, name)) in items.iter().enumerate() {
        let x = 320 + step * k as i32;
        let square = [(x, 12), (x + 26, 38)];
        area.draw(&Rectangle::new(square, fill.filled()))?;
        area.draw(&Rectangle::new(square, INK.stroke_width(1)))?;
        area.draw(&Text::new(name.to_string(), (x + 36, 14), font(20, &INK)))?;
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
