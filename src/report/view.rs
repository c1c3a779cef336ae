//! What the director-facing outputs (summary.md, report.html) show, built from the typed
//! rows and the tables' descriptions: headline figures per instrument, every table formatted
//! for reading, data quality, methods. Labels stay raw text here; each exporter escapes them
//! for its format.

use crate::analysis::outcomes::OutcomeRow;
use crate::charts::{Figure, Rendered};
use crate::ingest::FileAccount;
use crate::instruments::Catalog;
use crate::report::manifest::FileDigest;
use crate::table::{Cell, Format, PageTable, MARGIN};
use serde::Serialize;

/// One instrument's overall figures (the all-`All` row of outcomes.csv).
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    pub instrument: String,
    pub name: String,
    /// Labels of the row (first grouping column's value for per-group lines, or "All").
    pub group: String,
    pub n_baseline: String,
    pub n_paired: String,
    pub followup_rate: String,
    /// "yes" / "no": whether the follow-up rate reaches [`FOLLOWUP_TARGET`] ("" when unknown).
    pub followup_target_met: String,
    pub change: String,
    /// "points", or "days" for days-of-use instruments.
    pub unit: String,
    pub ci: String,
    /// "an improvement" or "a worsening" when the 95% CI excludes no change (by the
    /// instrument's direction), "no clear change" when it includes it, "" without a CI.
    pub verdict: String,
    pub improved: String,
    pub recovered: String,
    pub suppressed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstrumentSource {
    pub id: String,
    pub name: String,
    pub range: String,
    pub sources: Vec<String>,
}

/// Everything the page and the summary need.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub period: String,
    pub followup: String,
    pub version: String,
    /// What the data is when `synth` generated it (SPEC §16 O11): named in the title.
    pub synthetic: Option<String>,
    pub cohort: usize,
    pub active: usize,
    pub headline: Vec<Headline>,
    pub by_group: Vec<Headline>,
    pub group_column: String,
    pub tables: Vec<PageTable>,
    pub accounts: Vec<FileAccount>,
    pub quarantined: usize,
    pub attendance_supplied: bool,
    pub windows: Vec<String>,
    pub instruments: Vec<InstrumentSource>,
    pub tests: Vec<String>,
    pub suppression: String,
    pub inputs: Vec<FileDigest>,
    pub chart_groups: Vec<ChartGroup>,
    /// The Retention section (SPEC §13; `None`: not computed).
    pub retention: Option<super::retention::RetentionView>,
    /// The "Comparing sites" section (`None`: benchmark.csv has no rows).
    pub benchmark: Option<super::benchmark::BenchmarkView>,
    /// Outcomes under dropout: completers against the mixed model (SPEC §12).
    pub dropout: super::dropout::DropoutView,
    /// The mixed model's methods, as sentences.
    pub longitudinal_methods: Vec<String>,
}

/// The charts of one kind, with how to read them.
#[derive(Debug, Clone, Serialize)]
pub struct ChartGroup {
    pub id: String,
    pub title: String,
    pub explanation: String,
    pub charts: Vec<ChartView>,
}

/// The rendered charts grouped by kind, in the page's order, each chart withheld by small-cell
/// protection as its notice in its place; kinds without a chart or notice are left out.
pub fn chart_groups(figures: &[Figure<Rendered>]) -> Vec<ChartGroup> {
    crate::charts::ChartKind::ALL
        .iter()
        .map(|&kind| ChartGroup {
            id: kind.id().into(),
            title: kind.title().into(),
            explanation: kind.explanation().into(),
            charts: figures
                .iter()
                .filter_map(|f| match f {
                    Figure::Chart(c) if c.kind == kind => Some(ChartView {
                        name: c.name.clone(),
                        title: c.title.clone(),
                        svg: inline_svg(&c.svg),
                        notice: None,
                    }),
                    Figure::Notice(n) if n.kind == kind => Some(ChartView {
                        name: n.name.clone(),
                        title: n.title.clone(),
                        svg: String::new(),
                        notice: Some(n.text()),
                    }),
                    _ => None,
                })
                .collect(),
        })
        .filter(|g| !g.charts.is_empty())
        .collect()
}

/// A chart shown inline, or the line said in its place.
#[derive(Debug, Clone, Serialize)]
pub struct ChartView {
    pub name: String,
    pub title: String,
    /// SVG markup (text escaped by plotters-svg), without an XML declaration; empty for a
    /// notice.
    pub svg: String,
    /// The chart was not drawn (every point withheld by small-cell protection): this line is
    /// shown instead ([`crate::charts::Notice::text`]; plain text, escaped by the template).
    pub notice: Option<String>,
}

/// SVG markup ready to inline in HTML: any XML declaration removed.
pub fn inline_svg(svg: &str) -> String {
    let s = svg.trim_start();
    match (s.starts_with("<?xml"), s.find("?>")) {
        (true, Some(end)) => s[end + 2..].trim_start().to_string(),
        _ => s.to_string(),
    }
}

/// SAMHSA GPRA's follow-up target: 80% of clients with an intake assessment.
pub const FOLLOWUP_TARGET: f64 = 0.8;

/// What a 95% CI of the mean change says, by the instrument's direction.
pub fn verdict(ci: Option<(f64, f64)>, higher_is_better: bool) -> &'static str {
    match ci {
        None => "",
        Some((lo, _)) if lo > 0.0 => {
            if higher_is_better {
                "an improvement"
            } else {
                "a worsening"
            }
        }
        Some((_, hi)) if hi < 0.0 => {
            if higher_is_better {
                "a worsening"
            } else {
                "an improvement"
            }
        }
        Some(_) => "no clear change",
    }
}

/// Headline lines from the outcomes rows: the overall rows (every grouping column `All`), and
/// the rows of each value of the first grouping column with the others `All`.
pub fn headlines(outcomes: &[OutcomeRow], catalog: &Catalog) -> (Vec<Headline>, Vec<Headline>) {
    let mut overall = Vec::new();
    let mut by_group = Vec::new();
    for r in outcomes {
        let Some((first, rest)) = r.labels.split_first() else {
            continue;
        };
        if !rest.iter().all(|l| l == MARGIN) {
            continue;
        }
        let inst = catalog.get(&r.instrument);
        let higher_is_better = inst.is_some_and(|i| i.higher_is_better());
        let pct = |x: Option<f64>| x.map(|x| format!("{x:.0}%")).unwrap_or_default();
        let ci = r.change_ci_low.zip(r.change_ci_high);
        let h = Headline {
            name: inst.map(|i| i.name.clone()).unwrap_or_default(),
            instrument: r.instrument.clone(),
            group: first.clone(),
            n_baseline: Format::Count.show(&Cell::count(r.n_baseline)),
            n_paired: Format::Count.show(&Cell::count(r.n_paired)),
            followup_target_met: match r.followup_rate {
                Some(x) if x >= FOLLOWUP_TARGET => "yes".into(),
                Some(_) => "no".into(),
                None => String::new(),
            },
            followup_rate: Format::Rate.show(&Cell::opt(r.followup_rate)),
            change: r
                .change_mean
                .map(|x| format!("{x:+.1}"))
                .unwrap_or_default(),
            unit: inst.map_or("points", |i| i.unit()).into(),
            ci: ci
                .map(|(a, b)| format!("{a:+.1} to {b:+.1}"))
                .unwrap_or_default(),
            verdict: verdict(ci, higher_is_better).into(),
            improved: pct(r.pct_improved),
            recovered: pct(r.pct_recovered),
            suppressed: r.suppressed,
        };
        if first == MARGIN {
            overall.push(h);
        } else {
            by_group.push(h);
        }
    }
    by_group.sort_by(|a, b| (&a.group, &a.instrument).cmp(&(&b.group, &b.instrument)));
    (overall, by_group)
}

impl From<&crate::instruments::Instrument> for InstrumentSource {
    fn from(i: &crate::instruments::Instrument) -> Self {
        let num = |x: f64| {
            if x.fract() == 0.0 {
                format!("{x:.0}")
            } else {
                format!("{x}")
            }
        };
        let mut sources = vec![format!("Source: {}", i.source)];
        if let (Some(c), Some(s)) = (i.caseness, &i.caseness_source) {
            sources.push(format!("Caseness at {}: {s}", num(c)));
        }
        if let (Some(r), Some(s)) = (i.rci_threshold(), &i.reliable_change_source) {
            sources.push(format!("Reliable change {:.2} points: {s}", r));
        }
        if let (Some(r), Some(s)) = (i.remission_below, &i.remission_source) {
            sources.push(format!("Remission below {}: {s}", num(r)));
        }
        if let (Some(r), Some(s)) = (i.response_fraction, &i.response_source) {
            sources.push(format!("Response at {:.0}% improvement: {s}", r * 100.0));
        }
        InstrumentSource {
            id: i.id.clone(),
            name: i.name.clone(),
            range: format!("{} to {}", num(i.min), num(i.max)),
            sources,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_follows_the_instruments_direction_and_the_ci() {
        // A symptom scale (higher is worse): a CI wholly below zero is an improvement.
        assert_eq!(verdict(Some((-6.6, -6.0)), false), "an improvement");
        assert_eq!(verdict(Some((0.5, 2.0)), false), "a worsening");
        // A scale where higher is better reads the other way.
        assert_eq!(verdict(Some((-6.6, -6.0)), true), "a worsening");
        assert_eq!(verdict(Some((0.5, 2.0)), true), "an improvement");
        // A CI touching or crossing zero is no clear change; no CI, no verdict.
        assert_eq!(verdict(Some((-1.0, 0.0)), false), "no clear change");
        assert_eq!(verdict(Some((-1.0, 1.0)), true), "no clear change");
        assert_eq!(verdict(None, false), "");
    }
}
