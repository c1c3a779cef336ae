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
    pub n_paired: String,
    pub followup_rate: String,
    pub change: String,
    /// "points", or "days" for days-of-use instruments.
    pub unit: String,
    pub ci: String,
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
    pub charts: Vec<ChartView>,
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
    ShownTable {
        id: id.into(),
        title: title.into(),
        caption: caption.into(),
        header: t.header.clone(),
        rows: t
            .rows
            .iter()
            .map(|r| r.iter().zip(&t.header).map(|(c, h)| show(c, h)).collect())
            .collect(),
    }
}

fn col(t: &Table, name: &str) -> Option<usize> {
    t.header.iter().position(|h| h == name)
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
        let h = Headline {
            name: catalog.get(&id).map(|i| i.name.clone()).unwrap_or_default(),
            instrument: id,
            group: labels[0].clone(),
            n_paired: show(&get(r, "n_paired"), "n_paired"),
            followup_rate: show(&get(r, "followup_rate"), "followup_rate"),
            change: num("change_mean")
                .map(|x| format!("{x:+.1}"))
                .unwrap_or_default(),
            unit: match catalog.get(&text(&r[inst])).map(|i| i.kind) {
                Some(crate::instruments::Kind::DaysOfUse) => "days".into(),
                _ => "points".into(),
            },
            ci: match (num("change_ci_low"), num("change_ci_high")) {
                (Some(a), Some(b)) => format!("{a:+.1} to {b:+.1}"),
                _ => String::new(),
            },
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
