//! benchmark.csv in small-cell protection (SPEC §11): the table as the protection model sees
//! it, and the counts it shares with itself and with the other tables.
//!
//! Each indicator's units are the parts of a total that no row shows but the target does:
//! the target is Σobserved / Σn, and Σn is published elsewhere (engagement's discharged
//! episodes, outcomes' episodes with a baseline, paired, cases) or is the sum of the units'
//! n, so the total observed is known too, and one blank observed count would follow by
//! subtraction. [`Protected`] therefore adds a margin row per indicator (unit `All`, n = Σn,
//! observed = Σobserved) that exists only in the model; its counts count as published. When
//! protection blanks one of them (a total from 1 to below − 1), the target of the indicator
//! is withheld, and with it every binomial limit (which would give the target back).

use super::{spec, BenchmarkRow, Indicator};
use crate::analysis::cells::RunKeys;
use crate::analysis::protection::{Link, RowKey};
use crate::table::spec::RowRelation;
use crate::table::{Counted, Rows, MARGIN};
use std::sync::Arc;

/// benchmark.csv's rows with one model-only margin row per indicator (and instrument) after
/// them.
pub struct Protected<'a> {
    inner: Rows<'a, BenchmarkRow>,
    /// The rows of each indicator (and instrument): `start..end`, in row order.
    groups: Vec<(usize, usize)>,
}

impl<'a> Protected<'a> {
    pub fn new(keys: &RunKeys, rows: &'a mut [BenchmarkRow]) -> Protected<'a> {
        let mut groups = Vec::new();
        let mut start = 0;
        for g in rows.chunk_by(|a, b| a.indicator == b.indicator && a.instrument == b.instrument) {
            groups.push((start, start + g.len()));
            start += g.len();
        }
        Protected {
            inner: Rows {
                spec: spec(keys),
                rows,
            },
            groups,
        }
    }

    /// The group of model row `row` when it is a margin row.
    fn margin(&self, row: usize) -> Option<(usize, usize)> {
        row.checked_sub(self.inner.rows.len())
            .map(|g| self.groups[g])
    }
}

impl Counted for Protected<'_> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn key_names(&self) -> Vec<&str> {
        self.inner.key_names()
    }

    fn groups(&self) -> Vec<bool> {
        self.inner.groups()
    }

    fn count_names(&self) -> Vec<&str> {
        self.inner.count_names()
    }

    fn len(&self) -> usize {
        self.inner.rows.len() + self.groups.len()
    }

    fn key(&self, row: usize) -> Vec<String> {
        match self.margin(row) {
            None => self.inner.key(row),
            Some((start, _)) => {
                let unit = self.key_names().iter().position(|n| *n == "unit");
                let mut k = self.inner.key(start);
                k[unit.expect("benchmark has a unit column")] = MARGIN.to_string();
                k
            }
        }
    }

    fn value(&self, row: usize, count: usize) -> Option<u64> {
        match self.margin(row) {
            None => self.inner.value(row, count),
            Some((start, end)) => (start..end).map(|r| self.inner.value(r, count)).sum(),
        }
    }

    fn same_across(&self) -> Vec<Option<usize>> {
        self.inner.same_across()
    }

    fn within(&self) -> Vec<Vec<usize>> {
        self.inner.within()
    }

    fn hidden_with(&self) -> Vec<Vec<usize>> {
        self.inner.hidden_with()
    }

    fn implied(&self) -> Vec<bool> {
        self.inner.implied()
    }

    fn relations(&self) -> &[RowRelation] {
        self.inner.relations()
    }

    fn apply(&mut self, row: usize, blank: &[bool], below: u64) -> Vec<String> {
        let Some((start, end)) = self.margin(row) else {
            return self.inner.apply(row, blank, below);
        };
        if blank.iter().any(|b| *b) {
            for r in &mut self.inner.rows[start..end] {
                (r.target, r.low_95, r.high_95, r.low_998, r.high_998) =
                    (None, None, None, None, None);
                r.suppressed = true;
            }
        }
        Vec::new()
    }
}

/// The model row key of benchmark row (indicator, instrument, unit).
fn bench_key(indicator: Indicator, instrument: &str, unit: &str) -> RowKey {
    [
        ("indicator", indicator.as_str()),
        ("instrument", instrument),
        ("unit", unit),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The counts benchmark.csv publishes twice or shares with another table (SPEC §11 D1):
/// within the table, followup_rate's observed (paired) is reliable_improvement's n, and
/// dose_met's n is completion's n; across tables, each indicator's totals (the model's margin
/// rows) are outcomes' and engagement's counts with every grouping column `All`, and, when
/// the cells are grouped by the unit column `by`, each unit's counts are those of the cells
/// of that unit.
pub fn links(keys: &RunKeys, by: &str) -> Vec<Link> {
    use Indicator::*;
    let mut out = vec![
        Link {
            from: "benchmark",
            counts: &["observed"],
            into: "benchmark",
            into_count: "n",
            part: false,
            key_of: Box::new(|k: &RowKey| {
                (k["indicator"] == FollowupRate.as_str())
                    .then(|| bench_key(ReliableImprovement, &k["instrument"], &k["unit"]))
            }),
        },
        Link {
            from: "benchmark",
            counts: &["n"],
            into: "benchmark",
            into_count: "n",
            part: false,
            key_of: Box::new(|k: &RowKey| {
                (k["indicator"] == DoseMet.as_str()).then(|| bench_key(Completion, "", &k["unit"]))
            }),
        },
    ];
    // The cells' row of a unit (`All`: the totals), or `None` when the cells are not grouped
    // by the unit column.
    let groups = keys.groups.clone();
    let by = by.to_string();
    let cell = Arc::new(move |unit: &str| -> Option<RowKey> {
        if unit != MARGIN && !groups.contains(&by) {
            return None;
        }
        Some(
            groups
                .iter()
                .map(|g| {
                    let v = if *g == by { unit } else { MARGIN };
                    (g.clone(), v.to_string())
                })
                .collect(),
        )
    });
    let per_instrument: [(Indicator, &'static [&'static str], &'static str); 5] = [
        (FollowupRate, &["n"], "n_baseline"),
        (FollowupRate, &["observed"], "n_paired"),
        (ReliableImprovement, &["observed"], "n_improved"),
        (ReliableRecovery, &["n"], "n_cases"),
        (ReliableRecovery, &["observed"], "n_recovered"),
    ];
    for (indicator, counts, into_count) in per_instrument {
        let cell = cell.clone();
        out.push(Link {
            from: "benchmark",
            counts,
            into: "outcomes",
            into_count,
            part: false,
            key_of: Box::new(move |k: &RowKey| {
                if k["indicator"] != indicator.as_str() {
                    return None;
                }
                let mut t = cell(&k["unit"])?;
                t.insert("instrument".into(), k["instrument"].clone());
                Some(t)
            }),
        });
    }
    let episode_level: [(Indicator, &'static [&'static str], &'static str); 3] = [
        (Completion, &["n"], "n_discharged"),
        (Completion, &["observed"], "n_completed"),
        (DoseMet, &["observed"], "n_meeting_dose"),
    ];
    for (indicator, counts, into_count) in episode_level {
        let cell = cell.clone();
        out.push(Link {
            from: "benchmark",
            counts,
            into: "engagement",
            into_count,
            part: false,
            key_of: Box::new(move |k: &RowKey| {
                (k["indicator"] == indicator.as_str())
                    .then(|| cell(&k["unit"]))
                    .flatten()
            }),
        });
    }
    out
}
