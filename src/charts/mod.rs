//! Charts (plotters): each chart draws once through a backend-generic function and is
//! rendered as SVG (inline in report.html; text escaped by plotters-svg) and PNG (for slides).
//! PNG text uses the bundled DejaVu Sans through ab_glyph, never the machine's font libraries,
//! so a fresh machine renders the same bytes. Style: black and greys with distinct marker
//! shapes, which survive greyscale printing and colour blindness.

pub mod forest;

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The bundled font (DejaVu Sans; licence in assets/fonts/DejaVuSans-LICENSE.txt).
pub const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
pub const FONT_FAMILY: &str = "sans-serif";
pub const INK: RGBColor = RGBColor(20, 20, 20);
pub const GREY: RGBColor = RGBColor(130, 130, 130);
pub const LIGHT: RGBColor = RGBColor(225, 225, 225);

/// A rendered chart.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// File stem under charts/ (e.g. `forest_PHQ9`).
    pub name: String,
    pub title: String,
    pub svg: String,
    pub png: Vec<u8>,
}

/// A chart that can draw itself on any plotters backend.
pub trait Chart: Sync {
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
        let mut writer = enc.write_header().map_err(|e| fail(e.to_string()))?;
        writer
            .write_image_data(&rgb)
            .map_err(|e| fail(e.to_string()))?;
    }
    Ok(Rendered {
        name: chart.name(),
        title: chart.title(),
        svg,
        png: png_bytes,
    })
}
