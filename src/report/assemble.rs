//! Everything a run publishes besides the manifest, as (file name, bytes) in a fixed order:
//! each table as CSV and Parquet (SPEC §15 F1), the quarantine (both too), the episode-level
//! data when asked for (F2: both, never on the page), the charts, summary.md and report.html.
//! Nothing here touches the file system; `publish` does.
//!
//! A table's two files come from the same typed cells ([`Tabular::rows`]), rendered a part of
//! [`PART_ROWS`] rows at a time in parallel and joined in order, so the bytes never depend on
//! the thread count, and the Parquet file's nulls are exactly the CSV's empty cells.

use super::manifest::FileDigest;
use super::parquet::{self, Part};
use super::view::{self, ReportView};
use super::{csv_writer, dropout, html, methods, summary};
use crate::analysis::Tables;
use crate::charts::{Figure, Rendered};
use crate::cohort::Cohort;
use crate::error::{Error, Result};
use crate::ingest::Export;
use crate::instruments::Catalog;
use crate::table::{Published, Tabular};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::ops::Range;

/// What a run's report is made of.
pub struct Run<'a> {
    pub period: &'a str,
    pub followup: &'a str,
    /// What the data is when `synth` made it (SPEC §16 O11).
    pub synthetic: Option<String>,
    /// The first grouping column (the per-group headlines).
    pub group_column: &'a str,
    pub cohort: &'a Cohort,
    pub export: &'a Export,
    pub catalog: &'a Catalog,
    /// Input files with size and SHA-256.
    pub inputs: &'a [FileDigest],
    pub suppress_below: Option<u64>,
    pub tables: &'a Tables,
    /// The tables with their descriptions, in publishing order.
    pub published: &'a [Box<dyn Published + 'a>],
    /// episodes_analysis (SPEC §15 F2, `--episode-data`): written, never on the page.
    pub episode_data: Option<&'a dyn Tabular>,
    /// The charts in the page's order, and the notices in place of those withheld.
    pub charts: &'a [Figure<Rendered>],
    /// The unit column of benchmark.csv.
    pub benchmark_by: &'a str,
    /// The mixed model's window and horizon.
    pub longitudinal: &'a crate::config::LongitudinalConfig,
    /// What small-cell protection withheld and what an attacker can learn of each blank
    /// (`None` without suppression): the page marks the one and says no more than the other.
    pub protection: Option<&'a crate::analysis::protection::Outcome>,
}

/// The files of the report, in publishing order.
///
/// # Errors
/// An internal error when the page's template fails.
pub fn files(run: &Run) -> Result<Vec<(String, Vec<u8>)>> {
    let quarantine = super::Quarantine(&run.export.quarantine);
    let mut tables: Vec<&dyn Tabular> = run
        .published
        .iter()
        .map(|t| -> &dyn Tabular { t.as_ref() })
        .collect();
    tables.push(&quarantine);
    tables.extend(run.episode_data);
    let written = crate::diag::timed("csv and parquet", || {
        tables
            .par_iter()
            .map(|t| table_files(*t))
            .collect::<Result<Vec<_>>>()
    })?;
    let mut out: Vec<(String, Vec<u8>)> = written.into_iter().flatten().collect();
    for c in run.charts.iter().filter_map(Figure::chart) {
        out.push((format!("charts/{}.svg", c.name), c.svg.clone().into_bytes()));
        out.push((format!("charts/{}.png", c.name), c.png.clone()));
    }
    let page = page_view(run);
    out.push(("summary.md".into(), summary::render(&page).into_bytes()));
    out.push(("report.html".into(), html::render(&page)?.into_bytes()));
    Ok(out)
}

/// Rows per part when a table's files are rendered.
pub const PART_ROWS: usize = 1 << 14;

/// `<name>.csv` and `<name>.parquet` of a table.
///
/// # Errors
/// An internal error when a cell is not of its column's kind or polars fails to write (bugs).
pub fn table_files(t: &dyn Tabular) -> Result<[(String, Vec<u8>); 2]> {
    let n = t.len();
    // At least one part (an empty table still has its header and column types).
    let ranges: Vec<Range<usize>> = (0..n.max(1))
        .step_by(PART_ROWS)
        .map(|a| a..(a + PART_ROWS).min(n))
        .collect();
    let name = t.name();
    let parquet_error = |e: String| Error::Internal(format!("{name}.parquet: {e}"));
    let parts = ranges
        .into_par_iter()
        .map(|r| {
            let table = t.rows(r);
            let part = Part::new(&table).map_err(parquet_error)?;
            Ok((table.header, csv_writer::body(&table.rows), part))
        })
        .collect::<Result<Vec<_>>>()?;
    let header: Vec<&str> = parts[0].0.iter().map(String::as_str).collect();
    let mut csv = csv_writer::table(&header, &[]);
    csv.reserve(parts.iter().map(|p| p.1.len()).sum());
    let mut typed = Vec::with_capacity(parts.len());
    for (_, body, part) in parts {
        csv.extend_from_slice(&body);
        typed.push(part);
    }
    let parquet = parquet::parts_to_parquet(typed).map_err(parquet_error)?;
    Ok([
        (format!("{name}.csv"), csv),
        (format!("{name}.parquet"), parquet),
    ])
}

/// What summary.md and report.html show.
fn page_view(run: &Run) -> ReportView {
    let (headline, by_group) = view::headlines(&run.tables.outcomes, run.catalog);
    let used: BTreeSet<&str> = run
        .tables
        .outcomes
        .iter()
        .map(|r| r.instrument.as_str())
        .collect();
    ReportView {
        period: run.period.to_string(),
        followup: run.followup.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        synthetic: run.synthetic.clone(),
        cohort: run.cohort.size,
        active: run.cohort.active,
        headline,
        by_group,
        group_column: run.group_column.to_string(),
        tables: run
            .published
            .iter()
            .map(|t| {
                let name = t.name();
                t.page(&|row, col| {
                    run.protection
                        .is_some_and(|p| p.withheld.contains(&(name, row, col.to_string())))
                })
            })
            .collect(),
        accounts: run.export.accounts.clone(),
        quarantined: run.export.quarantine.len(),
        attendance_supplied: run.export.attendance.is_some(),
        windows: methods::windows(&run.cohort.rules),
        instruments: run
            .catalog
            .iter()
            .filter(|i| used.contains(i.id.as_str()))
            .map(view::InstrumentSource::from)
            .collect(),
        tests: methods::TESTS.iter().map(|s| s.to_string()).collect(),
        suppression: methods::suppression(run.suppress_below),
        inputs: run.inputs.to_vec(),
        chart_groups: view::chart_groups(run.charts),
        retention: super::retention::view(&run.tables.retention),
        benchmark: super::benchmark::view(&run.tables.benchmark, run.benchmark_by),
        dropout: dropout::view(
            &run.tables.outcomes,
            &run.tables.longitudinal.rows,
            &run.tables.longitudinal.intervals,
            run.tables.longitudinal.horizon_weeks,
            run.catalog,
        ),
        longitudinal_methods: methods::longitudinal(run.cohort.rules.baseline[0], run.longitudinal),
    }
}
