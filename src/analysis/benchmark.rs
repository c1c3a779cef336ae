//! benchmark.csv (SPEC §14): sites compared on funnel plots, case-mix adjusted.
//!
//! Units are the values of `[benchmark] by` (default `site`; an empty value is the unit
//! `(not recorded)`). Each indicator is a proportion per unit over the period's cohort
//! (SPEC §14 B1): `reliable_improvement` (improved / paired) and `reliable_recovery`
//! (recovered / cases at baseline) per instrument with a reliable-change threshold (recovery
//! also needs a caseness cutoff), `followup_rate` (paired / with a baseline) per instrument,
//! `completion` (completed / discharged) and `dose_met` (meeting the dose / discharged; only
//! with attendance). The target is the pooled proportion; every unit gets Spiegelhalter's
//! interpolated exact binomial limits at 95% and 99.8% and an exact-tail flag
//! ([`crate::stats::funnel`]). Reliable improvement is also adjusted for case mix:
//! `glm(improved ~ baseline + track, family = binomial)` over the instrument's paired cohort
//! episodes, E = the unit's sum of fitted probabilities, O/E with Poisson limits (B3).
//!
//! Instruments are independent, so they are counted and fitted in parallel; pairs are sorted
//! by instrument, so each instrument is one contiguous run of them. Rows sort byte-wise on
//! (indicator, instrument, unit).

use super::cells::{RunKeys, NOT_RECORDED};
use super::engagement::weekly_hours;
use super::outcomes::{improvement, is_case};
use crate::cohort::Pair;
use crate::ingest::Episodes;
use crate::instruments::{Catalog, Instrument};
use crate::stats::funnel::{self, CaseMix, Flag};
use crate::table::spec::{count, flag, number};
use crate::table::{Access, Column, Format, TableSpec};
use nalgebra::DMatrix;
pub use protect::{links, Protected};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The indicators of SPEC §14 B1, in byte order of their names (the order of the rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Indicator {
    Completion,
    DoseMet,
    FollowupRate,
    ReliableImprovement,
    ReliableRecovery,
}

impl Indicator {
    /// The value of the `indicator` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Indicator::Completion => "completion",
            Indicator::DoseMet => "dose_met",
            Indicator::FollowupRate => "followup_rate",
            Indicator::ReliableImprovement => "reliable_improvement",
            Indicator::ReliableRecovery => "reliable_recovery",
        }
    }

    /// What the proportion is, for a reader.
    pub fn describe(self) -> &'static str {
        match self {
            Indicator::Completion => "completed treatment (of discharged episodes)",
            Indicator::DoseMet => "met the weekly IOP dose (of discharged episodes)",
            Indicator::FollowupRate => "followed up (of episodes with a baseline)",
            Indicator::ReliableImprovement => "reliably improved (of paired episodes)",
            Indicator::ReliableRecovery => "reliably recovered (of cases at baseline)",
        }
    }
}

/// One row of benchmark.csv: one unit on one indicator (and instrument). `None` is empty.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchmarkRow {
    pub indicator: Indicator,
    /// Empty for the episode-level indicators (completion, dose_met).
    pub instrument: String,
    pub unit: String,
    /// The denominator.
    pub n: Option<u64>,
    /// The numerator.
    pub observed: Option<u64>,
    pub proportion: Option<f64>,
    /// The pooled proportion over all units, p0.
    pub target: Option<f64>,
    pub low_95: Option<f64>,
    pub high_95: Option<f64>,
    pub low_998: Option<f64>,
    pub high_998: Option<f64>,
    /// The exact-tail flag; `None` when the unit's observed count is blanked.
    pub flag: Option<Flag>,
    /// Case-mix expected count E (reliable_improvement only).
    pub expected: Option<f64>,
    /// O/E.
    pub ratio: Option<f64>,
    pub ratio_low_95: Option<f64>,
    pub ratio_high_95: Option<f64>,
    pub ratio_low_998: Option<f64>,
    pub ratio_high_998: Option<f64>,
    pub suppressed: bool,
}

impl BenchmarkRow {
    fn new(indicator: Indicator, instrument: &str, unit: &str, n: u64, observed: u64) -> Self {
        BenchmarkRow {
            indicator,
            instrument: instrument.to_string(),
            unit: unit.to_string(),
            n: Some(n),
            observed: Some(observed),
            proportion: None,
            target: None,
            low_95: None,
            high_95: None,
            low_998: None,
            high_998: None,
            flag: None,
            expected: None,
            ratio: None,
            ratio_low_95: None,
            ratio_high_95: None,
            ratio_low_998: None,
            ratio_high_998: None,
            suppressed: false,
        }
    }

    /// The flag as published: none once the observed count or n is blanked.
    pub fn shown_flag(&self) -> Option<Flag> {
        self.observed.and(self.n).and(self.flag)
    }

    /// Where the case-mix ratio stands against its 99.8% limits: `Some(true)` above,
    /// `Some(false)` below, `None` within or without a ratio.
    pub fn ratio_outside_998(&self) -> Option<bool> {
        let r = self.ratio?;
        if r > self.ratio_high_998? {
            Some(true)
        } else if r < self.ratio_low_998? {
            Some(false)
        } else {
            None
        }
    }
}

/// The units of the benchmark: the byte-ordered labels of the `by` column and every
/// episode's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Units {
    pub labels: Vec<String>,
    /// Index into `labels` of every episode.
    pub of: Vec<u32>,
}

impl Units {
    /// The units of episode column `by` (an empty value is [`NOT_RECORDED`]).
    pub fn new(eps: &Episodes, by: &str) -> Units {
        let mut ids: FxHashMap<&str, u32> = FxHashMap::default();
        let mut first: Vec<&str> = Vec::new();
        let mut of: Vec<u32> = (0..eps.len())
            .map(|i| {
                let label = eps.text(by, i).unwrap_or(NOT_RECORDED);
                *ids.entry(label).or_insert_with(|| {
                    first.push(label);
                    first.len() as u32 - 1
                })
            })
            .collect();
        let mut order: Vec<u32> = (0..first.len() as u32).collect();
        order.sort_by_key(|&k| first[k as usize]);
        let mut rank = vec![0u32; first.len()];
        for (r, &k) in order.iter().enumerate() {
            rank[k as usize] = r as u32;
        }
        for u in &mut of {
            *u = rank[*u as usize];
        }
        Units {
            labels: order
                .iter()
                .map(|&k| first[k as usize].to_string())
                .collect(),
            of,
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// What benchmark.csv is computed from.
pub struct Input<'a> {
    pub eps: &'a Episodes,
    /// Every pair of the cohort, sorted by instrument.
    pub pairs: &'a [Pair],
    /// The period's cohort episodes.
    pub selected: &'a [bool],
    pub catalog: &'a Catalog,
    /// Instrument ids by the index used in pairs.
    pub ids: &'a [String],
    /// The unit column (`[benchmark] by`).
    pub by: &'a str,
    /// Attended minutes per episode (`None`: no attendance.csv).
    pub minutes: Option<&'a [u64]>,
    pub dose_hours: f64,
}

/// Every row of benchmark.csv, sorted by (indicator, instrument, unit), unsuppressed
/// (small-cell protection is [`protect::Protected`] in `Tables::protect`).
pub fn rows(x: &Input) -> Vec<BenchmarkRow> {
    let units = Units::new(x.eps, x.by);
    let runs: Vec<&[Pair]> = x
        .pairs
        .chunk_by(|a, b| a.instrument == b.instrument)
        .collect();
    let (episode_level, per_instrument) = rayon::join(
        || episode_rows(x, &units),
        || {
            runs.par_iter()
                .map(|run| instrument_rows(x, &units, run))
                .collect::<Vec<_>>()
        },
    );
    let mut rows: Vec<BenchmarkRow> = episode_level
        .into_iter()
        .chain(per_instrument.into_iter().flatten())
        .collect();
    rows.sort_by(|a, b| {
        (a.indicator.as_str(), &a.instrument, &a.unit).cmp(&(
            b.indicator.as_str(),
            &b.instrument,
            &b.unit,
        ))
    });
    rows
}

/// Proportion rows of one indicator: per unit with a denominator, the proportion, the
/// limits at the pooled target and the flag (SPEC §14 B2).
pub fn proportion_rows(
    indicator: Indicator,
    instrument: &str,
    labels: &[String],
    n: &[u64],
    observed: &[u64],
) -> Vec<BenchmarkRow> {
    let total_n: u64 = n.iter().sum();
    if total_n == 0 {
        return Vec::new();
    }
    let p0 = observed.iter().sum::<u64>() as f64 / total_n as f64;
    labels
        .iter()
        .zip(n.iter().zip(observed))
        .filter(|(_, (&n, _))| n > 0)
        .map(|(label, (&n, &o))| {
            let mut r = BenchmarkRow::new(indicator, instrument, label, n, o);
            r.proportion = Some(o as f64 / n as f64);
            r.target = Some(p0);
            if let Some(l) = funnel::binomial_limits(n, p0) {
                (r.low_998, r.low_95, r.high_95, r.high_998) = (
                    Some(l.low_998),
                    Some(l.low_95),
                    Some(l.high_95),
                    Some(l.high_998),
                );
            }
            r.flag = funnel::flag(o, n, p0);
            r
        })
        .collect()
}

/// completion and dose_met over the discharged cohort episodes.
fn episode_rows(x: &Input, units: &Units) -> Vec<BenchmarkRow> {
    let k = units.len();
    let (mut n, mut completed, mut dose) = (vec![0u64; k], vec![0u64; k], vec![0u64; k]);
    for i in 0..x.eps.len() {
        let Some(discharge) = x.eps.discharge[i].filter(|_| x.selected[i]) else {
            continue;
        };
        let u = units.of[i] as usize;
        n[u] += 1;
        completed[u] += u64::from(x.eps.discharge_reason[i].as_deref() == Some("completed"));
        if let Some(minutes) = x.minutes {
            let hours = weekly_hours(minutes[i], discharge - x.eps.admit[i]);
            dose[u] += u64::from(hours >= x.dose_hours);
        }
    }
    let mut rows = proportion_rows(Indicator::Completion, "", &units.labels, &n, &completed);
    if x.minutes.is_some() {
        rows.extend(proportion_rows(
            Indicator::DoseMet,
            "",
            &units.labels,
            &n,
            &dose,
        ));
    }
    rows
}

/// The paired cohort episodes of one instrument, as the case-mix model sees them.
#[derive(Default)]
struct Paired {
    improved: Vec<bool>,
    baseline: Vec<f64>,
    track: Vec<u32>,
    unit: Vec<usize>,
}

/// followup_rate, reliable_improvement (with the case-mix ratio) and reliable_recovery of one
/// instrument, from its run of pairs.
fn instrument_rows(x: &Input, units: &Units, run: &[Pair]) -> Vec<BenchmarkRow> {
    let id = &x.ids[run[0].instrument as usize];
    let Some(inst) = x.catalog.get(id) else {
        return Vec::new();
    };
    let k = units.len();
    let threshold = inst.rci_threshold();
    let mut baseline = vec![0u64; k];
    let mut paired = vec![0u64; k];
    let mut improved = vec![0u64; k];
    let mut cases = vec![0u64; k];
    let mut recovered = vec![0u64; k];
    let mut model = Paired::default();
    let mut tracks: FxHashMap<&str, u32> = FxHashMap::default();
    for p in run.iter().filter(|p| x.selected[p.episode as usize]) {
        let e = p.episode as usize;
        let u = units.of[e] as usize;
        baseline[u] += 1;
        let Some((f, _)) = p.followup else { continue };
        paired[u] += 1;
        let Some(thr) = threshold else { continue };
        let b = p.baseline;
        let imp = reliably_improved(inst, thr, b, f);
        improved[u] += u64::from(imp);
        if is_case(inst, b) == Some(true) {
            cases[u] += 1;
            recovered[u] += u64::from(imp && is_case(inst, f) == Some(false));
        }
        let next = tracks.len() as u32;
        model
            .track
            .push(*tracks.entry(&x.eps.track[e]).or_insert(next));
        model.improved.push(imp);
        model.baseline.push(b);
        model.unit.push(u);
    }
    let labels = &units.labels;
    let mut rows = proportion_rows(Indicator::FollowupRate, id, labels, &baseline, &paired);
    if threshold.is_some() {
        let mut ri = proportion_rows(
            Indicator::ReliableImprovement,
            id,
            labels,
            &paired,
            &improved,
        );
        let fit = case_mix(&model, &tracks, k);
        for r in &mut ri {
            let u = labels.binary_search(&r.unit).expect("a unit's own label");
            set_ratio(r, &fit.units[u]);
        }
        rows.extend(ri);
        if inst.caseness.is_some() {
            rows.extend(proportion_rows(
                Indicator::ReliableRecovery,
                id,
                labels,
                &cases,
                &recovered,
            ));
        }
    }
    rows
}

/// Reliable improvement (SPEC §10 S5): |change| ≥ threshold in the instrument's good direction.
fn reliably_improved(inst: &Instrument, threshold: f64, baseline: f64, followup: f64) -> bool {
    (followup - baseline).abs() >= threshold
        && improvement(inst.direction, baseline, followup) > 0.0
}

/// The case-mix model of one instrument (SPEC §14 B3): X = [1, baseline, a dummy per track
/// present except the first in byte order]; `improved ~ baseline` with one track.
fn case_mix(m: &Paired, tracks: &FxHashMap<&str, u32>, n_units: usize) -> CaseMix {
    let by_name: BTreeMap<&str, u32> = tracks.iter().map(|(&t, &k)| (t, k)).collect();
    // Column of each track's dummy (first in byte order: none).
    let mut column = vec![None; tracks.len()];
    for (j, (_, &k)) in by_name.iter().enumerate().skip(1) {
        column[k as usize] = Some(1 + j);
    }
    let p = 1 + by_name.len().max(1);
    let mut x = DMatrix::<f64>::zeros(m.improved.len(), p);
    for (i, (&b, &t)) in m.baseline.iter().zip(&m.track).enumerate() {
        x[(i, 0)] = 1.0;
        x[(i, 1)] = b;
        if let Some(c) = column[t as usize] {
            x[(i, c)] = 1.0;
        }
    }
    funnel::case_mix(&m.improved, &x, &m.unit, n_units)
}

fn set_ratio(r: &mut BenchmarkRow, u: &funnel::UnitRatio) {
    r.expected = u.expected;
    r.ratio = u.ratio;
    if let Some(l) = u.limits {
        r.ratio_low_998 = Some(l.low_998);
        r.ratio_low_95 = Some(l.low_95);
        r.ratio_high_95 = Some(l.high_95);
        r.ratio_high_998 = Some(l.high_998);
    }
}

/// benchmark.csv's description (SPEC §14 B4) and its roles in small-cell protection (SPEC
/// §11): n and observed are counts (observed within n); the unit column is a grouping column
/// whose margin (`All`, the indicator's totals, read through the target) exists only in the
/// protection model ([`Protected`]). The proportion, the flag, the expected count, the ratio
/// and the ratio's limits are computed from n and observed. The binomial limits are a
/// function of n and the target only, but a published limit pair reveals n, so they go with
/// n. The target is the pooled proportion: it is withheld, with every limit of the
/// indicator, only when the indicator's totals are ([`Protected`]).
pub fn spec(keys: &RunKeys) -> TableSpec<BenchmarkRow> {
    type R = BenchmarkRow;
    const N: &[&str] = &["n"];
    const NO: &[&str] = &["n", "observed"];
    let rate = |name: &str, access| Column::new(name, access).format(Format::Rate);
    let headed = |mut c: Column<R>, heading: &str| {
        c.heading = heading.to_string();
        c
    };
    TableSpec::new(
        "benchmark",
        "Benchmarking units",
        "Each unit's proportion on each indicator against the pooled target, with Spiegelhalter's exact binomial control limits at 95% and 99.8% and the flag of an exact tail test; for reliable improvement also the case-mix adjusted ratio observed / expected (logistic regression on baseline and track) with Poisson limits. benchmark.csv has every column.",
    )
    .columns(keys.run_columns())
    .columns([
        Column::new(
            "indicator",
            Access::Text(Arc::new(|r: &R| r.indicator.as_str().to_string())),
        ),
        Column::new("instrument", Access::Text(Arc::new(|r: &R| r.instrument.clone()))),
        Column::new("unit", Access::Text(Arc::new(|r: &R| r.unit.clone()))).group(),
        Column::new("n", count!(R, n)),
        Column::new("observed", count!(R, observed)).within(N),
        rate("proportion", number!(R, proportion)).from(NO),
        rate("target", number!(R, target)).fixed(),
        rate("low_95", number!(R, low_95)).from(N).off_page(),
        rate("high_95", number!(R, high_95)).from(N).off_page(),
        headed(rate("low_998", number!(R, low_998)).from(N), "99.8% low"),
        headed(rate("high_998", number!(R, high_998)).from(N), "99.8% high"),
        Column::new(
            "flag",
            Access::Text(Arc::new(|r: &R| {
                r.shown_flag().map_or("", Flag::as_str).to_string()
            })),
        )
        .from(NO),
        Column::new("expected", number!(R, expected)).from(NO).off_page(),
        headed(Column::new("ratio", number!(R, ratio)).from(NO), "O/E"),
        Column::new("ratio_low_95", number!(R, ratio_low_95)).from(NO).off_page(),
        Column::new("ratio_high_95", number!(R, ratio_high_95)).from(NO).off_page(),
        headed(Column::new("ratio_low_998", number!(R, ratio_low_998)).from(NO), "O/E 99.8% low"),
        headed(Column::new("ratio_high_998", number!(R, ratio_high_998)).from(NO), "O/E 99.8% high"),
        Column::new("suppressed", flag!(R, suppressed)),
    ])
}

mod protect;
#[cfg(test)]
mod tests;
