//! The audit's knowledge of benchmark.csv (SPEC §14), from its column names alone.
//!
//! - A unit's binomial control limits are a function of its n and the target: a blank n
//!   with published limits is not a blank (it is found again here, as R's qbinom would).
//! - Each indicator's units add up to totals no row shows: Σn, and Σobserved = target × Σn.
//!   Σn is known when every n is published, or from the table that publishes it (outcomes'
//!   n_baseline, n_paired, n_cases; engagement's n_discharged, all grouping columns `All`);
//!   then the target gives Σobserved, which counts as published.
//! - followup_rate's observed is reliable_improvement's n for the same unit; dose_met's n is
//!   completion's n; with the cells grouped by the unit column, a unit's counts are its cells'.

use super::{Attack, Read, Run};
use crate::disclosure::Relation;
use crate::error::{Error, Result};
use crate::stats::funnel::binomial_limits;
use crate::table::MARGIN;
use std::collections::BTreeMap;

const LIMITS: [&str; 4] = ["low_998", "low_95", "high_95", "high_998"];

/// Reads the target of every row of benchmark.csv, and finds a blank n again from the row's
/// published limits.
pub(super) fn read(table: &mut Read, bytes: &[u8]) -> Result<Vec<Option<f64>>> {
    let bad = |what: String| Error::Internal(format!("audit: benchmark.csv: {what}"));
    let mut rdr = csv::ReaderBuilder::new().from_reader(bytes);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(String::from)
        .collect();
    let mut targets = Vec::new();
    for (row, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        let num = |n: &str| -> Result<Option<f64>> {
            let c = header
                .iter()
                .position(|h| h == n)
                .and_then(|i| rec.get(i))
                .unwrap_or("");
            if c.is_empty() {
                return Ok(None);
            }
            c.parse()
                .map(Some)
                .map_err(|_| bad(format!("{n} = {c:?} is not a number")))
        };
        let target = num("target")?;
        targets.push(target);
        let limits: Vec<Option<f64>> = LIMITS.iter().map(|l| num(l)).collect::<Result<_>>()?;
        if let (Some(None), Some(p0)) = (table.values[row].get("n"), target) {
            if let Some(n) = n_from_limits(p0, &limits) {
                table.values[row].insert("n", Some(n));
            }
        }
    }
    Ok(targets)
}

/// The n whose limits at target `p0` are the published ones (`[low_998, low_95, high_95,
/// high_998]`, any of them blank), if one is.
pub fn n_from_limits(p0: f64, published: &[Option<f64>]) -> Option<u64> {
    if !(p0 > 0.0 && p0 < 1.0) || published.iter().all(Option::is_none) {
        return None;
    }
    let fits = |n: u64| -> bool {
        binomial_limits(n, p0).is_some_and(|l| {
            let got = [l.low_998, l.low_95, l.high_95, l.high_998];
            published
                .iter()
                .zip(got)
                .all(|(p, g)| p.is_none_or(|p| (p - g).abs() <= 1e-9 * p.abs().max(1e-3)))
        })
    };
    // The limits narrow as n grows: the n whose spread (from the target, summed over the
    // published limits) is nearest the published one, then its neighbours.
    let spread = |l: [f64; 4]| -> f64 {
        published
            .iter()
            .zip(l)
            .filter_map(|(p, g)| p.map(|_| (g - p0).abs()))
            .sum()
    };
    let want: f64 = published
        .iter()
        .filter_map(|p| p.map(|p| (p - p0).abs()))
        .sum();
    let at = |n: u64| -> f64 {
        binomial_limits(n, p0)
            .map(|l| spread([l.low_998, l.low_95, l.high_95, l.high_998]))
            .unwrap_or(0.0)
    };
    let (mut lo, mut hi) = (1u64, 1u64 << 40);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if at(mid) > want {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let from = lo.saturating_sub(64).max(1);
    (from..=lo + 64).find(|&n| fits(n))
}

/// Indicator name → (the count its n is, the count its observed is), in the table that
/// publishes them with every grouping column `All` (or the unit's value).
fn shared(indicator: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match indicator {
        "followup_rate" => ("outcomes", "n_baseline", "n_paired"),
        "reliable_improvement" => ("outcomes", "n_paired", "n_improved"),
        "reliable_recovery" => ("outcomes", "n_cases", "n_recovered"),
        "completion" => ("engagement", "n_discharged", "n_completed"),
        "dose_met" => ("engagement", "n_discharged", "n_meeting_dose"),
        _ => return None,
    })
}

/// The relations of benchmark.csv with itself and the other tables, and its totals.
pub(super) fn relations(a: &mut Attack, read: &[Read], run: &Run, targets: &[Option<f64>]) {
    let find = |name: &str| read.iter().position(|r| r.table == name);
    let Some(b) = find("benchmark") else { return };
    let bench = &read[b];
    let var =
        |a: &Attack, t: usize, row: usize, c: &'static str| a.index.get(&(t, row, c)).copied();
    // The row of `table` for an instrument (empty: none) with the unit's value in the unit
    // column when the cells are grouped by it, every other grouping column `All`.
    let other = |table: usize, instrument: &str, unit: &str| -> Option<usize> {
        if unit != MARGIN && !run.groups.iter().any(|g| g == run.benchmark_by) {
            return None;
        }
        read[table].keys.iter().position(|k| {
            (instrument.is_empty() || k.get("instrument").map(String::as_str) == Some(instrument))
                && run.groups.iter().all(|g| {
                    let want = if g == run.benchmark_by { unit } else { MARGIN };
                    k.get(g).map(String::as_str) == Some(want)
                })
        })
    };
    let row_of = |indicator: &str, instrument: &str, unit: &str| -> Option<usize> {
        bench.keys.iter().position(|k| {
            k["indicator"] == indicator && k["instrument"] == instrument && k["unit"] == unit
        })
    };
    // Within the table, per unit.
    for (row, k) in bench.keys.iter().enumerate() {
        let pair = match k["indicator"].as_str() {
            "followup_rate" => Some(("observed", "reliable_improvement")),
            "dose_met" => Some(("n", "completion")),
            _ => None,
        };
        if let Some((count, into)) = pair {
            let x = var(a, b, row, count);
            let y = row_of(into, &k["instrument"], &k["unit"]).and_then(|r| var(a, b, r, "n"));
            if let (Some(x), Some(y)) = (x, y) {
                a.relations.push(Relation::same(x, y));
            }
        }
        // Across tables, per unit (cells grouped by the unit column).
        if let Some((table, n_as, o_as)) = shared(&k["indicator"]) {
            if let Some(t) = find(table) {
                if let Some(r) = other(t, &k["instrument"], &k["unit"]) {
                    for (c, as_) in [("n", n_as), ("observed", o_as)] {
                        if let (Some(x), Some(y)) = (var(a, b, row, c), var(a, t, r, as_)) {
                            a.relations.push(Relation::same(x, y));
                        }
                    }
                }
            }
        }
    }
    // The totals of each indicator.
    let mut families: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (row, k) in bench.keys.iter().enumerate() {
        families
            .entry((k["indicator"].clone(), k["instrument"].clone()))
            .or_default()
            .push(row);
    }
    for ((indicator, instrument), rows) in families {
        let elsewhere = shared(&indicator).and_then(|(table, n_as, o_as)| {
            let t = find(table)?;
            let r = other(t, &instrument, MARGIN)?;
            Some((var(a, t, r, n_as), var(a, t, r, o_as)))
        });
        let ns: Option<Vec<usize>> = rows.iter().map(|&r| var(a, b, r, "n")).collect();
        let os: Option<Vec<usize>> = rows.iter().map(|&r| var(a, b, r, "observed")).collect();
        let (Some(ns), Some(os)) = (ns, os) else {
            continue;
        };
        let known = |v: usize| a.published[v];
        let total_n: Option<u64> = ns
            .iter()
            .map(|&v| known(v))
            .sum::<Option<u64>>()
            .or_else(|| elsewhere.and_then(|(n, _)| n).and_then(known));
        let target = rows.iter().find_map(|&r| targets[r]);
        let total_o = total_n
            .zip(target)
            .map(|(n, p)| (p * n as f64).round() as u64);
        let label = format!("benchmark|{indicator}|{instrument}|total");
        let n_var = a.var(None, true, format!("{label} n"));
        let o_var = match total_o {
            Some(o) => a.var(Some(o), false, format!("{label} observed (target × n)")),
            None => a.var(None, true, format!("{label} observed")),
        };
        a.relations.push(Relation::new(n_var, ns));
        a.relations.push(Relation::new(o_var, os));
        if let Some((n, o)) = elsewhere {
            for (x, y) in [(n_var, n), (o_var, o)] {
                if let Some(y) = y {
                    a.relations.push(Relation::same(x, y));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_is_found_again_from_published_limits() {
        for (n, p0) in [(3u64, 0.4), (7, 0.52), (10, 0.06), (250, 0.75), (4321, 0.3)] {
            let l = binomial_limits(n, p0).unwrap();
            let all = [l.low_998, l.low_95, l.high_95, l.high_998].map(Some);
            assert_eq!(n_from_limits(p0, &all), Some(n), "{n} {p0}");
            // One limit is enough.
            let one = [None, None, None, Some(l.high_998)];
            assert_eq!(n_from_limits(p0, &one), Some(n), "{n} {p0} one limit");
        }
        // At a target of 0 or 1 the limits are the target whatever n.
        assert_eq!(n_from_limits(0.0, &[Some(0.0); 4]), None);
    }
}
