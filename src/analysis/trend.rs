//! trend.csv (SPEC §6, §10 S12): the headline figures per quarter for the eight quarters
//! ending with the period's last quarter (no period: the quarter of the latest anchor date);
//! each quarter's cohort is the episodes anchored in it; rows per track plus `All`.

use super::cells::{self, RunKeys};
use super::outcomes;
use crate::cohort::{self, Pair};
use crate::dates::{self, Day};
use crate::ingest::Episodes;
use crate::instruments::Catalog;
use crate::table::spec::{count, flag, number, text};
use crate::table::{Column, TableSpec};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrendRow {
    pub quarter: String,
    pub track: String,
    pub instrument: String,
    pub n_paired: Option<u64>,
    pub change_mean: Option<f64>,
    pub pct_improved: Option<f64>,
    pub pct_recovered: Option<f64>,
    pub suppressed: bool,
    /// The counts behind the percentages (not written): n_improved is implied by
    /// pct_improved and n_paired; the case counts are not, but a ratio of small counts is
    /// blanked with them.
    pub n_improved: Option<u64>,
    pub n_cases: Option<u64>,
    pub n_recovered: Option<u64>,
}

/// The eight (year, quarter) pairs ending with the quarter of `last`.
pub fn quarters(last: Day) -> Vec<(i32, u32)> {
    let (y, q) = dates::quarter_of(last);
    let idx = y * 4 + q as i32 - 1;
    (idx - 7..=idx)
        .map(|i| (i.div_euclid(4), (i.rem_euclid(4) + 1) as u32))
        .collect()
}

/// The labels (`2026Q3`) of [`quarters`], as trend.csv writes them.
pub fn quarter_labels(last: Day) -> Vec<String> {
    quarter_bounds(last).into_iter().map(|b| b.0).collect()
}

/// Whether the data only partly cover the quarter of `last` (it ends before the quarter
/// does): the export was taken inside it, so that quarter's figures are not comparable with
/// the full quarters before it.
pub fn last_quarter_partial(last: Day) -> bool {
    quarter_bounds(last)
        .last()
        .is_some_and(|&(_, _, end)| last < end)
}

/// The eight quarters ending with the quarter of `last`: label, first and last day.
fn quarter_bounds(last: Day) -> Vec<(String, Day, Day)> {
    quarters(last)
        .into_iter()
        .map(|(y, q)| {
            let from = dates::days_from_civil(y, (q - 1) * 3 + 1, 1);
            let to = if q == 4 {
                dates::days_from_civil(y + 1, 1, 1)
            } else {
                dates::days_from_civil(y, q * 3 + 1, 1)
            } - 1;
            (format!("{y}Q{q}"), from, to)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub fn rows(
    eps: &Episodes,
    pairs: &[Pair],
    anchors: &[Option<Day>],
    last: Day,
    catalog: &Catalog,
    ids: &[String],
    suppress_below: Option<u64>,
) -> Vec<TrendRow> {
    let keys = cells::Keys::new(eps, &["track".to_string()]);
    let bounds = quarter_bounds(last);
    // Each quarter's pairs, in one pass: a quarter's cells are built from its own pairs.
    let quarter_of = |e: usize| {
        anchors[e].and_then(|a| {
            bounds
                .iter()
                .position(|&(_, from, to)| a >= from && a <= to)
        })
    };
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); bounds.len()];
    for (p, pair) in pairs.iter().enumerate() {
        if let Some(q) = quarter_of(pair.episode as usize) {
            members[q].push(p as u32);
        }
    }
    let mut out = Vec::new();
    for ((quarter, from, to), subset) in bounds.iter().zip(&members) {
        let selected: Vec<bool> = anchors
            .iter()
            .map(|a| cohort::in_period(*a, Some((*from, *to))))
            .collect();
        let groups = cells::build_keyed(&keys, eps.len(), pairs, Some(subset), &selected, ids);
        for r in outcomes::rows(&groups, pairs, catalog, ids, suppress_below) {
            out.push(TrendRow {
                quarter: quarter.clone(),
                track: r.labels[0].clone(),
                instrument: r.instrument,
                n_paired: r.n_paired,
                change_mean: r.change_mean,
                pct_improved: r.pct_improved,
                pct_recovered: r.pct_recovered,
                suppressed: r.suppressed,
                n_improved: r.n_improved,
                n_cases: r.n_cases,
                n_recovered: r.n_recovered,
            });
        }
    }
    out.sort_by(|a, b| {
        (&a.quarter, &a.track, &a.instrument).cmp(&(&b.quarter, &b.track, &b.instrument))
    });
    out
}

/// trend.csv's description (SPEC §8, §10 S12). Its rows are projections of each quarter's
/// outcomes rows, suppressed as those are.
pub fn spec(keys: &RunKeys) -> TableSpec<TrendRow> {
    type R = TrendRow;
    const PAIRED: &[&str] = &["n_paired"];
    TableSpec::new(
        "trend",
        "Quarterly trend",
        "The headline figures per quarter of the anchor date, for the eight quarters up to the period.",
    )
    .columns(keys.run_columns())
    .columns([
        Column::new("quarter", text!(R, quarter)),
        Column::new("track", text!(R, track)).group(),
        Column::new("instrument", text!(R, instrument)),
        Column::new("n_paired", count!(R, n_paired)),
        Column::new("change_mean", number!(R, change_mean)).from(PAIRED),
        Column::new("pct_improved", number!(R, pct_improved)).from(&["n_improved", "n_paired"]),
        Column::new("pct_recovered", number!(R, pct_recovered)).from(&[
            "n_recovered",
            "n_cases",
            "n_paired",
        ]),
        Column::new("suppressed", flag!(R, suppressed)),
        Column::new("n_improved", count!(R, n_improved)).within(PAIRED).implied(),
        // pct_recovered, written at full precision, is a fraction whose denominator an
        // attacker can find (31/83 only as a multiple of 83): its counts count as published.
        Column::new("n_cases", count!(R, n_cases)).within(PAIRED).implied(),
        Column::new("n_recovered", count!(R, n_recovered))
            .within(&["n_cases"])
            .implied(),
    ])
    // Reliably recovered is reliably improved and no longer a case: recovered ≤ improved.
    .relation("n_improved", &["n_recovered", "improved not recovered"])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quarter's rows protected alone, every track's cases all of its paired episodes (as
    /// GAD7's usually are): the small numbers recovered blank pct_recovered, which hides
    /// each track's cases with it; those cases sum to the all-tracks row's and are each at
    /// most the track's n_paired, so they would be pinned — and the cheapest way to leave
    /// them wide is the all-tracks row's percentage recovered (implied counts, no written
    /// one), not the tracks' n_paired (written, with every statistic of their rows).
    #[test]
    fn a_hidden_count_is_covered_through_a_percentage_before_a_written_count() {
        use crate::analysis::protection;
        use crate::table::Rows;
        let row = |track: &str, [paired, improved, recovered]: [u64; 3]| TrendRow {
            quarter: "2025Q1".into(),
            track: track.into(),
            instrument: "GAD7".into(),
            n_paired: Some(paired),
            change_mean: Some(-3.0),
            pct_improved: Some(100.0 * improved as f64 / paired as f64),
            pct_recovered: Some(100.0 * recovered as f64 / paired as f64),
            suppressed: false,
            n_improved: Some(improved),
            n_cases: Some(paired),
            n_recovered: Some(recovered),
        };
        let mut rows = vec![
            row("All", [64, 37, 17]),
            row("a", [12, 8, 3]),
            row("b", [22, 13, 7]),
            row("c", [30, 16, 7]),
        ];
        let keys = RunKeys {
            period: "2025Q1".into(),
            followup: "discharge".into(),
            groups: vec!["track".into()],
        };
        let mut table = Rows {
            spec: spec(&keys),
            rows: &mut rows,
        };
        let out = protection::protect(vec![&mut table], &[], 11).unwrap();
        assert_eq!(
            out.summary.primary, 4,
            "a's improved and every track's recovered"
        );
        // Every track keeps its paired episodes and mean change.
        for r in &rows {
            assert!(
                r.n_paired.is_some() && r.change_mean.is_some(),
                "{}",
                r.track
            );
        }
        // The percentages go instead: recovered everywhere (the all-tracks row's too).
        assert!(rows.iter().all(|r| r.pct_recovered.is_none()));
        assert_eq!(rows[1].pct_improved, None);
    }

    #[test]
    fn eight_quarters_across_year_ends() {
        let q = quarters(dates::parse_iso(b"2026-08-15").unwrap());
        assert_eq!(q.first(), Some(&(2024, 4)));
        assert_eq!(q.last(), Some(&(2026, 3)));
        assert_eq!(q.len(), 8);
        let q = quarters(dates::parse_iso(b"2026-01-01").unwrap());
        assert_eq!((q[0], q[7]), ((2024, 2), (2026, 1)));
    }
}
