//! Competing-risks cumulative incidence and the log-rank test, as R's survival 3.5-3 computes
//! them.
//!
//! # Cumulative incidence
//!
//! [`cumulative_incidence`] equals `survfit(Surv(time, state) ~ 1, data = d)` with
//! `state = factor(x, levels = c("censor", "completed", "dropout", ...))`: every subject starts
//! in the one transient state (R's `(s0)`) and leaves it at `time` for outcome k (an absorbing
//! state) or is censored. survfit (`survfitCI` → `docurve2` → C `survfitci`) computes the
//! Aalen–Johansen estimate and, as its only variance for multi-state data, the infinitesimal
//! jackknife (IJ): `std.err` is the square root of the sum over subjects of the squared
//! influence values. Times are integers, so survfit's `timefix` rounding changes nothing.
//!
//! At a distinct time t_i with n_i at risk, d_ik outcomes k (d_i in all) and c_i censorings,
//! survfit's transition matrix H_i has first row (1 − d_i/n_i, d_i1/n_i, …, d_iK/n_i) and the
//! identity below it (absorbing states). With p the state probabilities before t_i
//! (p_0 = all-cause Kaplan–Meier, p_k = cumulative incidence) and a_i = p_0/n_i, survfitci
//! updates, at a time with at least one event (times with only censorings change nothing):
//!
//! - every subject's influence row vector U (length K + 1) to U·H_i, that is
//!   u_k ← u_k + u_0·d_ik/n_i, then u_0 ← u_0·(1 − d_i/n_i);
//! - a subject at risk at t_i (censorings at t_i included: R removes events before
//!   censorings) additionally by − a_i·H_i[0, ·] + a_i·e_s, with s its state just after t_i
//!   (0 if it stays or is censored, k if it has outcome k);
//! - p to p·H_i.
//!
//! Subjects who leave at the same time with the same outcome (or are censored at the same
//! time) have identical U from then on, and all subjects still at risk share one vector W.
//! So this module keeps W and one vector per class (t_i, outcome) weighted by the class size:
//!
//! - W_i = W_{i−1}·H_i − a_i·H_i[0, ·] + a_i·e_0;
//! - a class leaving at t_i with outcome k starts as W_{i−1}·H_i − a_i·H_i[0, ·] + a_i·e_k, a
//!   class censored at t_i as W_i; every later event time multiplies each class vector by H;
//! - `std.err` of outcome k at t_i is sqrt(Σ_classes size·u_k² + (n_i − d_i − c_i)·W_i,k²).
//!
//! The operations are survfitci's, in its order, so each class vector is the one R holds for
//! each of its subjects; only the order of the final sum of squares differs. Cost:
//! O(n + T²·K) for n subjects over T distinct times (one pass to tabulate, then each of up to
//! T·(K + 1) class vectors is updated at each later time).
//!
//! The 95% limits are `conf.type = "log"` as `survfit_confint` computes them, with
//! z = `qnorm(0.975)`: lower = exp(log p − z·se/p), upper = min(1, exp(log p + z·se/p)); se/p
//! is taken as 0 when se = 0 (so both limits are p), and both limits are `None` (R's `NA`)
//! when p = 0.
//!
//! # Log-rank test
//!
//! [`logrank`] equals `survdiff(Surv(time, event) ~ group)` (rho = 0, C `survdiff2`):
//! observed and expected events per group and the variance matrix, accumulated from the last
//! time backwards as survdiff2 does. R then keeps the groups with expected > 0, drops the
//! first of them and solves the remaining system (`solve`, which stops when the matrix is
//! singular to machine precision): chisq = (O − E)'·V⁻¹·(O − E), df = (groups with
//! expected > 0) − 1, p = `pchisq(chisq, df, lower.tail = FALSE)`. Where R would report
//! df < 1 (chisq 0), stop with "There is only 1 group", or stop in `solve`, chisq, df and p
//! are all `None`.

use nalgebra::{DMatrix, DVector};
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// R's `qnorm(0.975)` (printed with %.17g): the z of survfit's default 95% interval.
pub const Z_975: f64 = 1.959_963_984_540_053_6;

/// One outcome's cumulative incidence at one time, as survfit reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Incidence {
    /// `pstate`: the Aalen–Johansen cumulative incidence.
    pub p: f64,
    /// `std.err`: the infinitesimal-jackknife standard error (0 when p has no spread).
    pub se: f64,
    /// `lower` of the 95% `conf.type = "log"` interval; `None` when p = 0 (R's `NA`).
    pub lower: Option<f64>,
    /// `upper` of the same interval, at most 1; `None` when p = 0.
    pub upper: Option<f64>,
}

/// One row of the survfit table: a distinct time of the data.
#[derive(Debug, Clone, PartialEq)]
pub struct CifRow {
    /// The time (days).
    pub time: u32,
    /// Subjects at risk just before `time` (survfit's `n.risk` of the starting state).
    pub n_risk: usize,
    /// Outcomes at `time`; index k − 1 holds outcome k (survfit's `n.event`).
    pub n_event: Vec<usize>,
    /// Censorings at `time` (`n.censor`).
    pub n_censor: usize,
    /// Cumulative incidence just after `time`; index k − 1 holds outcome k.
    pub incidence: Vec<Incidence>,
}

/// Aalen–Johansen cumulative incidence of `n_outcomes` competing outcomes with the IJ
/// standard error and 95% log limits, equal to survival 3.5-3's
/// `survfit(Surv(time, state) ~ 1)` (see the module doc).
///
/// `times[i]` is subject i's time and `outcomes[i]` its outcome: 0 = censored, k in
/// 1..=`n_outcomes` = outcome k. One row per distinct time, ascending, times with only
/// censorings included. Empty input gives no rows (R stops).
///
/// # Panics
/// When the slices differ in length or an outcome exceeds `n_outcomes`.
pub fn cumulative_incidence(times: &[u32], outcomes: &[u8], n_outcomes: usize) -> Vec<CifRow> {
    assert_eq!(times.len(), outcomes.len(), "one outcome per time");
    let width = n_outcomes + 1;
    let (distinct, counts) = tabulate(
        times.iter().zip(outcomes).map(|(&t, &o)| {
            assert!(usize::from(o) <= n_outcomes, "outcome {o} > {n_outcomes}");
            (t, usize::from(o))
        }),
        width,
    );

    // p: state probabilities; w: the influence vector shared by the subjects still at risk;
    // classes: one influence vector (`width` values) per (time, outcome) class of subjects
    // who have left, with the class size in `class_n`.
    let mut p = vec![0.0; width];
    p[0] = 1.0;
    let mut w = vec![0.0; width];
    let mut classes: Vec<f64> = Vec::new();
    let mut class_n: Vec<f64> = Vec::new();
    let mut h = vec![0.0; width];
    let mut sumsq = vec![0.0; width];
    let mut n_risk = times.len();
    let mut rows = Vec::with_capacity(distinct.len());

    for (&time, c) in distinct.iter().zip(counts.chunks_exact(width)) {
        let n_censor = c[0];
        let d: usize = c[1..].iter().sum();
        if d > 0 {
            // survfitci: hmat[0][k] = events/ws, hmat[0][0] = 1 - events/ws.
            let ws = n_risk as f64;
            for k in 1..width {
                h[k] = c[k] as f64 / ws;
            }
            h[0] = 1.0 - d as f64 / ws;
            for u in classes.chunks_exact_mut(width) {
                times_h(u, &h);
            }
            times_h(&mut w, &h);
            let a = p[0] / ws;
            for (wk, hk) in w.iter_mut().zip(&h) {
                *wk -= hk * p[0] / ws;
            }
            for (k, &dk) in c.iter().enumerate().skip(1) {
                if dk > 0 {
                    let start = classes.len();
                    classes.extend_from_slice(&w);
                    classes[start + k] += a;
                    class_n.push(dk as f64);
                }
            }
            w[0] += a;
            let p0 = p[0];
            for k in 1..width {
                p[k] += p0 * h[k];
            }
            p[0] = p0 * h[0];
        }
        if n_censor > 0 {
            classes.extend_from_slice(&w);
            class_n.push(n_censor as f64);
        }
        let staying = (n_risk - d - n_censor) as f64;
        for (s, wk) in sumsq.iter_mut().zip(&w) {
            *s = staying * wk * wk;
        }
        for (u, &m) in classes.chunks_exact(width).zip(&class_n) {
            for (s, uk) in sumsq.iter_mut().zip(u) {
                *s += m * uk * uk;
            }
        }
        let incidence = (1..width)
            .map(|k| {
                let se = sumsq[k].sqrt();
                let (lower, upper) = log_limits(p[k], se);
                Incidence {
                    p: p[k],
                    se,
                    lower,
                    upper,
                }
            })
            .collect();
        rows.push(CifRow {
            time,
            n_risk,
            n_event: c[1..].to_vec(),
            n_censor,
            incidence,
        });
        n_risk -= d + n_censor;
    }
    rows
}

/// u ← u·H for survfit's H (first row `h`, identity below), in survfitci's order.
fn times_h(u: &mut [f64], h: &[f64]) {
    let u0 = u[0];
    for k in 1..u.len() {
        u[k] += u0 * h[k];
    }
    u[0] = u0 * h[0];
}

/// `survfit_confint(p, se, logse = FALSE, "log", 0.95)`.
fn log_limits(p: f64, se: f64) -> (Option<f64>, Option<f64>) {
    if p == 0.0 {
        return (None, None);
    }
    let s = if se == 0.0 { 0.0 } else { se / p };
    let lp = p.ln();
    let se2 = Z_975 * s;
    (Some((lp - se2).exp()), Some((lp + se2).exp().min(1.0)))
}

/// The log-rank test of `survdiff(Surv(time, event) ~ group)` (rho = 0).
#[derive(Debug, Clone, PartialEq)]
pub struct LogRank {
    /// Observed events per group label.
    pub observed: Vec<f64>,
    /// Expected events per group label.
    pub expected: Vec<f64>,
    /// The chi-square statistic. `chisq`, `df` and `p` are all `None` when df would be below
    /// 1 or R's `solve` would stop (variance matrix singular).
    pub chisq: Option<f64>,
    /// (Groups with expected > 0) − 1.
    pub df: Option<usize>,
    /// `pchisq(chisq, df, lower.tail = FALSE)`.
    pub p: Option<f64>,
}

/// `survdiff(Surv(times, events) ~ groups)` with rho = 0 (see the module doc). `groups[i]` is
/// subject i's group label in 0..`n_groups`; labels with no subjects take no part (expected 0).
///
/// # Panics
/// When the slices differ in length or a label is not below `n_groups`.
pub fn logrank(times: &[u32], events: &[bool], groups: &[usize], n_groups: usize) -> LogRank {
    assert_eq!(times.len(), events.len(), "one event flag per time");
    assert_eq!(times.len(), groups.len(), "one group per time");
    let width = 2 * n_groups;
    let (distinct, counts) = tabulate(
        times.iter().zip(events).zip(groups).map(|((&t, &e), &g)| {
            assert!(g < n_groups, "group {g} >= {n_groups}");
            (t, 2 * g + usize::from(e))
        }),
        width,
    );
    let g = n_groups;
    let mut risk = vec![0.0; g];
    let mut observed = vec![0.0; g];
    let mut expected = vec![0.0; g];
    // survdiff2's var.e: entry j*g + k is R's matrix element [k, j].
    let mut var = vec![0.0; g * g];
    let mut nrisk = 0.0;
    for c in counts.chunks_exact(width.max(1)).take(distinct.len()).rev() {
        let mut deaths = 0.0;
        for k in 0..g {
            let (cens, ev) = (c[2 * k] as f64, c[2 * k + 1] as f64);
            risk[k] += cens + ev;
            observed[k] += ev;
            deaths += ev;
            nrisk += cens + ev;
        }
        if deaths > 0.0 {
            for k in 0..g {
                expected[k] += deaths * risk[k] / nrisk;
            }
            if nrisk == 1.0 {
                continue;
            }
            let mut kk = 0;
            for j in 0..g {
                let tmp = deaths * risk[j] * (nrisk - deaths) / (nrisk * (nrisk - 1.0));
                var[kk + j] += tmp;
                for &rk in &risk {
                    var[kk] -= tmp * rk / nrisk;
                    kk += 1;
                }
            }
        }
    }

    let keep: Vec<usize> = (0..g).filter(|&k| expected[k] > 0.0).collect();
    let test = (keep.len() >= 2).then(|| keep.len() - 1).and_then(|df| {
        let v = DMatrix::from_column_slice(g, g, &var);
        let vv = DMatrix::from_fn(df, df, |r, s| v[(keep[r + 1], keep[s + 1])]);
        let diff = DVector::from_fn(df, |r, _| observed[keep[r + 1]] - expected[keep[r + 1]]);
        let chisq = solve_r(&vv, &diff)?.dot(&diff);
        let p = ChiSquared::new(df as f64).ok()?.sf(chisq);
        Some((chisq, df, p))
    });
    LogRank {
        observed,
        expected,
        chisq: test.map(|t| t.0),
        df: test.map(|t| t.1),
        p: test.map(|t| t.2),
    }
}

/// R's `solve(a, b)`: LU with partial pivoting, `None` where R stops (exactly singular, or
/// reciprocal 1-norm condition number below `.Machine$double.eps`).
fn solve_r(a: &DMatrix<f64>, b: &DVector<f64>) -> Option<DVector<f64>> {
    let lu = a.clone().lu();
    let inv = lu.try_inverse()?;
    let norm1 = |m: &DMatrix<f64>| {
        m.column_iter()
            .map(|c| c.iter().map(|x| x.abs()).sum::<f64>())
            .fold(0.0, f64::max)
    };
    let rcond = 1.0 / (norm1(a) * norm1(&inv));
    if rcond.is_nan() || rcond < f64::EPSILON {
        return None;
    }
    lu.solve(b)
}

/// Distinct times, ascending, with a `width`-wide count row per time of the cells (< width)
/// of `pairs` = (time, cell). A dense pass when span × width is at most max(n, 65 536) cells,
/// a sort otherwise.
fn tabulate(
    pairs: impl Iterator<Item = (u32, usize)> + Clone,
    width: usize,
) -> (Vec<u32>, Vec<usize>) {
    let (mut lo, mut hi, mut n) = (u32::MAX, 0u32, 0usize);
    for (t, _) in pairs.clone() {
        lo = lo.min(t);
        hi = hi.max(t);
        n += 1;
    }
    let (mut distinct, mut counts) = (Vec::new(), Vec::new());
    if n == 0 || width == 0 {
        return (distinct, counts);
    }
    let span = (hi - lo) as usize + 1;
    if span.saturating_mul(width) <= n.max(1 << 16) {
        let mut dense = vec![0usize; span * width];
        for (t, cell) in pairs {
            dense[(t - lo) as usize * width + cell] += 1;
        }
        for (r, row) in dense.chunks_exact(width).enumerate() {
            if row.iter().any(|&x| x > 0) {
                distinct.push(lo + r as u32);
                counts.extend_from_slice(row);
            }
        }
    } else {
        let mut keys: Vec<(u32, usize)> = pairs.collect();
        keys.sort_unstable();
        for (t, cell) in keys {
            if distinct.last() != Some(&t) {
                distinct.push(t);
                counts.resize(counts.len() + width, 0);
            }
            let row = counts.len() - width;
            counts[row + cell] += 1;
        }
    }
    (distinct, counts)
}

#[cfg(test)]
mod reference_cases;
#[cfg(test)]
mod reference_tests;
#[cfg(test)]
#[rustfmt::skip]
mod reference_values;
