//! `survival.rs` against survival 3.5-3 (R 4.2.2). The values, with the R code beside each
//! case, are in `reference_values.rs`, printed by `tests/r/survival_reference.R`.

use super::reference_cases::CifCase;
use super::reference_values::*;
use super::*;
use std::time::Instant;

use crate::assert_close;
use crate::stats::prec::{Tol, SURVIVAL_ESTIMATE as ESTIMATE, SURVIVAL_SE as SE};

fn close_opt(got: Option<f64>, want: Option<f64>, rel: Tol, what: &str) -> f64 {
    match (got, want) {
        (Some(g), Some(w)) => assert_close!(g, w, rel, "{what}"),
        (None, None) => 0.0,
        (g, w) => panic!("{what}: got {g:?}, want {w:?}"),
    }
}

/// Checks one case; returns the worst relative errors (estimate, se, limits).
fn check_cif(c: &CifCase) -> [f64; 3] {
    let got = cumulative_incidence(c.times, c.outcomes, 3);
    assert_eq!(got.len(), c.rows.len(), "{}: rows", c.name);
    let mut worst = [0.0f64; 3];
    for (g, (time, n_risk, n_event, n_censor, est)) in got.iter().zip(c.rows) {
        let at = format!("{} t={time}", c.name);
        assert_eq!(g.time, *time, "{at}");
        assert_eq!(g.n_risk, *n_risk, "{at}: n.risk");
        assert_eq!(g.n_event, n_event.to_vec(), "{at}: n.event");
        assert_eq!(g.n_censor, *n_censor, "{at}: n.censor");
        for (k, (gi, &(p, se, lo, hi))) in g.incidence.iter().zip(est).enumerate() {
            let what = format!("{at} outcome {}", k + 1);
            worst[0] = worst[0].max(assert_close!(gi.p, p, ESTIMATE, "{what} pstate"));
            worst[1] = worst[1].max(assert_close!(gi.se, se, SE, "{what} std.err"));
            worst[2] = worst[2].max(close_opt(gi.lower, lo, SE, &format!("{what} lower")));
            worst[2] = worst[2].max(close_opt(gi.upper, hi, SE, &format!("{what} upper")));
        }
    }
    worst
}

#[test]
fn z_is_r_qnorm() {
    assert_close!(Z_975, QNORM_975, Tol::rel(1e-16), "qnorm(0.975)");
}

#[test]
fn cumulative_incidence_matches_r() {
    let mut worst = [0.0f64; 3];
    for c in [
        &TIES,
        &NO_DROPOUT,
        &ALL_CENSORED,
        &SINGLE_DROPOUT,
        &SINGLE_CENSOR,
        &TIME_ZERO_AND_END,
        &RANDOM200,
    ] {
        let w = check_cif(c);
        for (a, b) in worst.iter_mut().zip(w) {
            *a = a.max(b);
        }
    }
    eprintln!(
        "survfit worst relative error: pstate {:e}, std.err {:e}, limits {:e}",
        worst[0], worst[1], worst[2]
    );
}

#[test]
fn awkward_cif_cases() {
    // Nobody has the dropout outcome: incidence 0 throughout, limits empty (R's NA).
    let r = cumulative_incidence(NO_DROPOUT.times, NO_DROPOUT.outcomes, 3);
    assert!(r.iter().all(|row| row.incidence[1].p == 0.0
        && row.incidence[1].lower.is_none()
        && row.incidence[1].upper.is_none()));
    // A single subject with the outcome: p = 1, se = 0, both limits p.
    let r = cumulative_incidence(&[4], &[2], 3);
    assert_eq!(r.len(), 1);
    let i = r[0].incidence[1];
    assert_eq!((i.p, i.se), (1.0, 0.0));
    assert_eq!((i.lower, i.upper), (Some(1.0), Some(1.0)));
    // No subjects: no rows (R stops).
    assert!(cumulative_incidence(&[], &[], 3).is_empty());
    // A data set whose time span forces the sorting path agrees with the dense path.
    let times: Vec<u32> = RANDOM200.times.iter().map(|&t| t * 40_000).collect();
    let wide = cumulative_incidence(&times, RANDOM200.outcomes, 3);
    let dense = cumulative_incidence(RANDOM200.times, RANDOM200.outcomes, 3);
    for (a, b) in wide.iter().zip(&dense) {
        assert_eq!(a.time, b.time * 40_000);
        assert_eq!(
            (a.n_risk, &a.n_event, a.n_censor),
            (b.n_risk, &b.n_event, b.n_censor)
        );
        assert_eq!(a.incidence, b.incidence);
    }
    // Deterministic: the same input gives bit-identical output.
    assert_eq!(
        dense,
        cumulative_incidence(RANDOM200.times, RANDOM200.outcomes, 3)
    );
}

#[test]
fn logrank_matches_r() {
    let mut worst = 0.0f64;
    for c in [
        &LR_TWO_GROUPS,
        &LR_THREE_GROUPS,
        &LR_STRONG,
        &LR_ZERO_EXPECTED,
        &LR_ONE_EXPECTED,
        &LR_NO_EVENTS,
        &LR_SINGULAR,
    ] {
        let events: Vec<bool> = c.events.iter().map(|&e| e == 1).collect();
        let n_groups = c.groups.iter().max().unwrap() + 1;
        let r = logrank(c.times, &events, c.groups, n_groups);
        for (k, (&g, &w)) in r.observed.iter().zip(c.observed).enumerate() {
            assert_close!(g, w, ESTIMATE, "{} observed[{k}]", c.name);
        }
        if let Some(exp) = c.expected {
            for (k, (&g, &w)) in r.expected.iter().zip(exp).enumerate() {
                worst = worst.max(assert_close!(g, w, ESTIMATE, "{} expected[{k}]", c.name));
            }
        }
        assert_eq!(r.df, c.df, "{}: df", c.name);
        worst = worst.max(close_opt(
            r.chisq,
            c.chisq,
            ESTIMATE,
            &format!("{} chisq", c.name),
        ));
        worst = worst.max(close_opt(r.p, c.p, ESTIMATE, &format!("{} p", c.name)));
    }
    eprintln!("survdiff worst relative error (expected, chisq, p): {worst:e}");
    // One group only (R stops: "There is only 1 group") and no subjects at all.
    let one = logrank(&[1, 2, 3], &[true, false, true], &[0, 0, 0], 1);
    assert_eq!((one.chisq, one.df, one.p), (None, None, None));
    let none = logrank(&[], &[], &[], 2);
    assert_eq!((none.chisq, none.df, none.p), (None, None, None));
}

/// survfitci transliterated subject by subject (O(n·T·K)): the IJ vectors without classes.
fn naive(times: &[u32], outcomes: &[u8], k: usize) -> Vec<Vec<(f64, f64)>> {
    let width = k + 1;
    let mut distinct: Vec<u32> = times.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let n = times.len();
    let mut u = vec![vec![0.0; width]; n];
    let mut p = vec![0.0; width];
    p[0] = 1.0;
    let mut out = Vec::new();
    for &t in &distinct {
        let at_risk: Vec<usize> = (0..n).filter(|&i| times[i] >= t).collect();
        let ws = at_risk.len() as f64;
        let mut h = vec![0.0; width];
        let mut d = 0.0;
        for &i in &at_risk {
            if times[i] == t && outcomes[i] > 0 {
                h[usize::from(outcomes[i])] += 1.0;
                d += 1.0;
            }
        }
        if d > 0.0 {
            for hk in h.iter_mut().skip(1) {
                *hk /= ws;
            }
            h[0] = 1.0 - d / ws;
            for ui in u.iter_mut() {
                let u0 = ui[0];
                for j in 1..width {
                    ui[j] += u0 * h[j];
                }
                ui[0] = u0 * h[0];
            }
            for &i in &at_risk {
                for j in 0..width {
                    u[i][j] -= h[j] * p[0] / ws;
                }
                let s = if times[i] == t {
                    usize::from(outcomes[i])
                } else {
                    0
                };
                u[i][s] += p[0] / ws;
            }
            let p0 = p[0];
            for j in 1..width {
                p[j] += p0 * h[j];
            }
            p[0] = p0 * h[0];
        }
        out.push(
            (1..width)
                .map(|j| (p[j], u.iter().map(|ui| ui[j] * ui[j]).sum::<f64>().sqrt()))
                .collect(),
        );
    }
    out
}

/// xorshift64*: a fixed pseudo-random stream for the property checks.
struct Rng(u64);
impl Rng {
    fn below(&mut self, m: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) % m
    }
}

#[test]
fn classes_equal_subject_by_subject_influence() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut worst = 0.0f64;
    for case in 0..60 {
        let n = 1 + rng.below(300) as usize;
        let k = 1 + rng.below(4) as usize;
        let span = 1 + rng.below(if case % 3 == 0 { 5 } else { 80 });
        let censor_weight = rng.below(4);
        let times: Vec<u32> = (0..n).map(|_| rng.below(span) as u32).collect();
        let outcomes: Vec<u8> = (0..n)
            .map(|_| {
                let r = rng.below(k as u64 + censor_weight);
                if r < censor_weight {
                    0
                } else {
                    (r - censor_weight + 1) as u8
                }
            })
            .collect();
        let fast = cumulative_incidence(&times, &outcomes, k);
        let slow = naive(&times, &outcomes, k);
        assert_eq!(fast.len(), slow.len());
        for (f, s) in fast.iter().zip(&slow) {
            for (fi, &(p, se)) in f.incidence.iter().zip(s) {
                assert!((fi.p - p).abs() <= 1e-14, "case {case}: p {} vs {p}", fi.p);
                let err = (fi.se - se).abs() / se.max(1e-300);
                assert!(
                    err <= 1e-12 || (fi.se - se).abs() <= 1e-15,
                    "case {case}: se {} vs {se}",
                    fi.se
                );
                worst = worst.max(if se > 0.0 { err } else { 0.0 });
            }
        }
    }
    eprintln!("classes vs subject-by-subject: worst se relative difference {worst:e}");
}

/// 1,000,000 subjects over 400 distinct days, 3 outcomes: `cargo test --release --lib
/// survival -- --ignored --nocapture` prints the time.
#[test]
#[ignore]
fn speed_one_million() {
    let mut rng = Rng(42);
    let n = 1_000_000;
    let times: Vec<u32> = (0..n).map(|_| rng.below(400) as u32).collect();
    let outcomes: Vec<u8> = (0..n).map(|_| rng.below(4) as u8).collect();
    let groups: Vec<usize> = (0..n).map(|_| rng.below(3) as usize).collect();
    let events: Vec<bool> = outcomes.iter().map(|&o| o == 2).collect();
    let start = Instant::now();
    let rows = cumulative_incidence(&times, &outcomes, 3);
    let cif = start.elapsed();
    let start = Instant::now();
    let lr = logrank(&times, &events, &groups, 3);
    let lrt = start.elapsed();
    assert_eq!(rows.len(), 400);
    assert!(lr.p.is_some());
    eprintln!("1e6 subjects, 400 days: cumulative_incidence {cif:?}, logrank (3 groups) {lrt:?}");
    // The quadratic part alone: 5,000 distinct days.
    let times: Vec<u32> = (0..n).map(|_| rng.below(5_000) as u32).collect();
    let start = Instant::now();
    let rows = cumulative_incidence(&times, &outcomes, 3);
    eprintln!(
        "1e6 subjects, 5000 days: cumulative_incidence {:?}",
        start.elapsed()
    );
    assert_eq!(rows.len(), 5_000);
    // Times spread too widely for the dense tabulation: the sorting path.
    let times: Vec<u32> = times.iter().map(|&t| t * 3_000).collect();
    let start = Instant::now();
    let rows = cumulative_incidence(&times, &outcomes, 3);
    eprintln!(
        "1e6 subjects, 5000 days spread over 1.5e7: cumulative_incidence {:?}",
        start.elapsed()
    );
    assert_eq!(rows.len(), 5_000);
}
