//! report.html: one self-contained page (inline CSS, no scripts, no external requests),
//! rendered with minijinja, which escapes every value in `.html` templates: labels from the
//! input are untrusted text.

use super::view::ReportView;
use crate::error::{Error, Result};

const TEMPLATE: &str = include_str!("templates/report.html");

/// Renders the page.
///
/// # Errors
/// A template error: a bug, not an input problem ([`Error::Internal`]).
pub fn render(view: &ReportView) -> Result<String> {
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| Error::Internal(format!("report template: {e}")))?;
    env.get_template("report.html")
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(view))))
        .map_err(|e| Error::Internal(format!("rendering report.html: {e}")))
}
