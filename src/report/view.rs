//! What the director-facing outputs (summary.md, report.html) show, built from the tables:
//! headline figures per instrument, every table formatted for reading, data quality, methods.
//! Labels stay raw text here; each exporter escapes them for its format.

use crate::ingest::FileAccount;
use crate::instruments::Catalog;
use crate::report::manifest::FileDigest;
use crate::table::{Cell, Table};
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

/// A table ready to print.
#[derive(Debug, Clone, Serialize)]
pub struct ShownTable {
    pub id: String,
    pub title: String,
    pub caption: String,
    pub header: Vec<String>,
    /// Whether each column holds text (left-aligned) rather than numbers.
    pub text: Vec<bool>,
    pub rows: Vec<Vec<String>>,
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
    pub tables: Vec<ShownTable>,
    pub accounts: Vec<FileAccount>,
    pub quarantined: usize,
    pub attendance_supplied: bool,
    pub windows: Vec<String>,
    pub instruments: Vec<InstrumentSource>,
    pub tests: Vec<String>,
    pub suppression: String,
    pub inputs: Vec<FileDigest>,
    pub chart_groups: Vec<ChartGroup>,
}

/// The charts of one kind, with how to read them.
#[derive(Debug, Clone, Serialize)]
pub struct ChartGroup {
    pub id: String,
    pub title: String,
    pub explanation: String,
    pub charts: Vec<ChartView>,
}

/// The rendered charts grouped by kind, in the page's order; kinds without a chart are left out.
pub fn chart_groups(rendered: &[crate::charts::Rendered]) -> Vec<ChartGroup> {
    crate::charts::ChartKind::ALL
        .iter()
        .map(|&kind| ChartGroup {
            id: kind.id().into(),
            title: kind.title().into(),
            explanation: kind.explanation().into(),
            charts: rendered
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| ChartView {
                    name: c.name.clone(),
                    title: c.title.clone(),
                    svg: inline_svg(&c.svg),
                })
                .collect(),
        })
        .filter(|g| !g.charts.is_empty())
        .collect()
}

/// A chart shown inline.
#[derive(Debug, Clone, Serialize)]
pub struct ChartView {
    pub name: String,
    pub title: String,
    /// SVG markup (text escaped by plotters-svg), without an XML declaration.
    pub svg: String,
}

/// SVG markup ready to inline in HTML: any XML declaration removed.
pub fn inline_svg(svg: &str) -> String {
    let s = svg.trim_start();
    match (s.starts_with("<?xml"), s.find("?>")) {
        (true, Some(end)) => s[end + 2..].trim_start().to_string(),
        _ => s.to_string(),
    }
}

/// A number for a reader: p-values as "< 0.001" or three decimals, counts as integers, other
/// numbers with `digits` decimals; empty cells as "".
pub fn show(cell: &Cell, column: &str) -> String {
    match cell {
        Cell::Text(t) => t.clone(),
        Cell::Int(n) => n.to_string(),
        Cell::Bool(b) => if *b { "suppressed" } else { "" }.to_string(),
        Cell::Empty => String::new(),
        Cell::Num(x) => {
            let is_p = column == "p" || column.starts_with("p_") || column == "q_bh";
            if is_p {
                if *x < 0.001 {
                    "< 0.001".into()
                } else {
                    format!("{x:.3}")
                }
            } else if column == "df" || column == "df1" || column == "df2" || column == "wilcoxon_v"
            {
                let r = x.round();
                if (x - r).abs() < 1e-9 {
                    format!("{r:.0}")
                } else {
                    format!("{x:.1}")
                }
            } else if column.ends_with("_rate") {
                format!("{:.0}%", 100.0 * x)
            } else {
                format!("{x:.2}")
            }
        }
    }
}

/// A table shown in full, its numbers formatted for reading.
pub fn shown(id: &str, title: &str, caption: &str, t: &Table) -> ShownTable {
    let all: Vec<usize> = (0..t.header.len()).collect();
    shown_columns(id, title, caption, t, &all)
}

/// The named columns of a table (in the given order; names it lacks are skipped), its
/// numbers formatted for reading.
pub fn shown_named(id: &str, title: &str, caption: &str, t: &Table, names: &[&str]) -> ShownTable {
    let picked: Vec<usize> = names.iter().filter_map(|n| col(t, n)).collect();
    shown_columns(id, title, caption, t, &picked)
}

fn shown_columns(id: &str, title: &str, caption: &str, t: &Table, picked: &[usize]) -> ShownTable {
    let is_text = |c: usize| {
        t.rows.iter().any(|r| matches!(r[c], Cell::Text(_)))
            && t.rows
                .iter()
                .all(|r| matches!(r[c], Cell::Text(_) | Cell::Empty))
    };
    ShownTable {
        id: id.into(),
        title: title.into(),
        caption: caption.into(),
        header: picked.iter().map(|&c| heading(&t.header[c])).collect(),
        text: picked.iter().map(|&c| is_text(c)).collect(),
        rows: t
            .rows
            .iter()
            .map(|r| picked.iter().map(|&c| show(&r[c], &t.header[c])).collect())
            .collect(),
    }
}

/// A column's heading on the page: short words for the common columns, else the CSV name
/// with spaces for underscores (so a reader can still find it in the CSV).
pub fn heading(column: &str) -> String {
    match column {
        "n_paired" => "paired",
        "followup_rate" => "follow-up rate",
        "change_mean" => "mean change",
        "followup_mean" => "follow-up mean",
        "change_ci_low" => "95% CI low",
        "change_ci_high" => "95% CI high",
        "p_t" => "p (t-test)",
        "q_bh" => "q (BH)",
        "g_av" => "g_av",
        "pct_improved" => "% reliably improved",
        "pct_recovered" => "% reliably recovered",
        "pct_remission" => "% remission",
        other => return other.replace('_', " "),
    }
    .to_string()
}

fn col(t: &Table, name: &str) -> Option<usize> {
    t.header.iter().position(|h| h == name)
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

/// Headline lines from outcomes.csv: the overall rows (every grouping column `All`), and the
/// rows of each value of the first grouping column with the others `All`.
pub fn headlines(
    outcomes: &Table,
    n_group_columns: usize,
    catalog: &Catalog,
) -> (Vec<Headline>, Vec<Headline>) {
    let (Some(inst), Some(first)) = (
        col(outcomes, "instrument"),
        col(outcomes, "instrument").map(|i| i + 1),
    ) else {
        return (Vec::new(), Vec::new());
    };
    let get = |r: &Vec<Cell>, name: &str| {
        col(outcomes, name)
            .map(|i| r[i].clone())
            .unwrap_or(Cell::Empty)
    };
    let text = |c: &Cell| match c {
        Cell::Text(t) => t.clone(),
        _ => String::new(),
    };
    let mut overall = Vec::new();
    let mut by_group = Vec::new();
    for r in &outcomes.rows {
        let labels: Vec<String> = (first..first + n_group_columns)
            .map(|i| text(&r[i]))
            .collect();
        let rest_all = labels.iter().skip(1).all(|l| l == "All");
        if !rest_all {
            continue;
        }
        let id = text(&r[inst]);
        let num = |name: &str| match get(r, name) {
            Cell::Num(x) => Some(x),
            _ => None,
        };
        let pct = |name: &str| num(name).map(|x| format!("{x:.0}%")).unwrap_or_default();
        let higher_is_better = catalog.get(&id).is_some_and(|i| i.higher_is_better());
        let h = Headline {
            name: catalog.get(&id).map(|i| i.name.clone()).unwrap_or_default(),
            instrument: id,
            group: labels[0].clone(),
            n_baseline: show(&get(r, "n_baseline"), "n_baseline"),
            n_paired: show(&get(r, "n_paired"), "n_paired"),
            followup_target_met: match num("followup_rate") {
                Some(x) if x >= FOLLOWUP_TARGET => "yes".into(),
                Some(_) => "no".into(),
                None => String::new(),
            },
            followup_rate: show(&get(r, "followup_rate"), "followup_rate"),
            change: num("change_mean")
                .map(|x| format!("{x:+.1}"))
                .unwrap_or_default(),
            unit: catalog
                .get(&text(&r[inst]))
                .map_or("points", |i| i.unit())
                .into(),
            ci: match (num("change_ci_low"), num("change_ci_high")) {
                (Some(a), Some(b)) => format!("{a:+.1} to {b:+.1}"),
                _ => String::new(),
            },
            verdict: verdict(
                num("change_ci_low").zip(num("change_ci_high")),
                higher_is_better,
            )
            .into(),
            improved: pct("pct_improved"),
            recovered: pct("pct_recovered"),
            suppressed: matches!(get(r, "suppressed"), Cell::Bool(true)),
        };
        if labels[0] == "All" {
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

    #[test]
    fn headings_are_short_and_tables_left_align_text() {
        assert_eq!(heading("pct_improved"), "% reliably improved");
        assert_eq!(heading("median_los_days"), "median los days");
        let t = Table {
            header: vec!["track".into(), "n_paired".into(), "note".into()],
            rows: vec![
                vec![Cell::Text("mh".into()), Cell::Int(12), Cell::Empty],
                vec![Cell::Text("All".into()), Cell::Empty, Cell::Empty],
            ],
        };
        let s = shown_named("x", "X", "", &t, &["n_paired", "track", "absent"]);
        assert_eq!(s.header, ["paired", "track"]);
        assert_eq!(s.text, [false, true]);
        assert_eq!(s.rows[0], ["12", "mh"]);
    }
}
