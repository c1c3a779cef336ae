//! Funnel-plot control limits, outlier flags and the case-mix adjusted ratio of SPEC §14
//! B2–B3, equal to what R computes with `qbinom`/`pbinom`/`qpois`/`ppois` and
//! `glm(improved ~ baseline + track, family = binomial)`.
//!
//! Limits are Spiegelhalter's exact limits with interpolation (Stat Med 2005;24:1185–1202,
//! appendix A.1.1): for probability P, r = q(P); α = (F(r) − P)/(F(r) − F(r − 1));
//! limit = (r − α)/n for a proportion with denominator n (binomial at target p0), (r − α)/E
//! for an observed/expected ratio with expected E (Poisson with mean E). Not clipped.

use nalgebra::DMatrix;

use super::discrete::{pbinom, ppois, qbinom, qpois};
use super::glm::{logistic, CompensatedSum, LogitFit};

/// The probabilities of the four limits: 99.8% and 95% two-sided.
pub const PROBS: [f64; 4] = [0.001, 0.025, 0.975, 0.999];

/// The four control limits of one unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// At P = 0.001.
    pub low_998: f64,
    /// At P = 0.025.
    pub low_95: f64,
    /// At P = 0.975.
    pub high_95: f64,
    /// At P = 0.999.
    pub high_998: f64,
}

impl Limits {
    fn from_fn(mut limit: impl FnMut(f64) -> Option<f64>) -> Option<Limits> {
        Some(Limits {
            low_998: limit(PROBS[0])?,
            low_95: limit(PROBS[1])?,
            high_95: limit(PROBS[2])?,
            high_998: limit(PROBS[3])?,
        })
    }
}

/// Spiegelhalter's interpolated binomial limit at probability `prob` for a proportion with
/// denominator `n` and target `p0`: r = qbinom(P, n, p0), α = (pbinom(r) − P)/(pbinom(r) −
/// pbinom(r − 1)), (r − α)/n; `p0` itself when p0 is 0 or 1. `None` when n = 0 or `prob` or
/// `p0` is outside [0, 1].
pub fn binomial_limit(prob: f64, n: u64, p0: f64) -> Option<f64> {
    if n == 0 || !(0.0..=1.0).contains(&p0) || !(0.0..=1.0).contains(&prob) {
        return None;
    }
    if p0 == 0.0 || p0 == 1.0 {
        return Some(p0);
    }
    let r = qbinom(prob, n, p0)?;
    let at = pbinom(r as i64, n, p0, true)?;
    let below = pbinom(r as i64 - 1, n, p0, true)?;
    let alpha = (at - prob) / (at - below);
    Some((r as f64 - alpha) / n as f64)
}

/// The four binomial limits ([`binomial_limit`] at each of [`PROBS`]).
pub fn binomial_limits(n: u64, p0: f64) -> Option<Limits> {
    Limits::from_fn(|prob| binomial_limit(prob, n, p0))
}

/// The interpolated Poisson limit at probability `prob` for a ratio O/E with expected `e`:
/// r = qpois(P, E), α = (ppois(r) − P)/(ppois(r) − ppois(r − 1)), (r − α)/E. `None` when E
/// is not positive and finite or `prob` is outside [0, 1).
pub fn poisson_limit(prob: f64, e: f64) -> Option<f64> {
    if !(e > 0.0 && e.is_finite()) {
        return None;
    }
    let r = qpois(prob, e)?;
    let at = ppois(r as i64, e, true)?;
    let below = ppois(r as i64 - 1, e, true)?;
    let alpha = (at - prob) / (at - below);
    Some((r as f64 - alpha) / e)
}

/// The four Poisson limits ([`poisson_limit`] at each of [`PROBS`]).
pub fn poisson_limits(e: f64) -> Option<Limits> {
    Limits::from_fn(|prob| poisson_limit(prob, e))
}

/// Where a unit stands against the target (SPEC §14 B2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flag {
    /// P(X ≥ O) < 0.001.
    High998,
    /// P(X ≥ O) < 0.025.
    High95,
    /// Neither tail below 0.025.
    Within,
    /// P(X ≤ O) < 0.025.
    Low95,
    /// P(X ≤ O) < 0.001.
    Low998,
}

impl Flag {
    /// The value written to `benchmark.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::High998 => "high_998",
            Flag::High95 => "high_95",
            Flag::Within => "within",
            Flag::Low95 => "low_95",
            Flag::Low998 => "low_998",
        }
    }
}

/// The flag of a unit with `observed` events out of `n` against target `p0`, by exact tail
/// tests: high when pbinom(O − 1, n, p0, lower.tail = FALSE) is below 0.001 / 0.025, low when
/// pbinom(O, n, p0) is, else within (always within for p0 = 0 or 1). `None` when n = 0,
/// observed > n or p0 is outside [0, 1].
pub fn flag(observed: u64, n: u64, p0: f64) -> Option<Flag> {
    if n == 0 || observed > n || !(0.0..=1.0).contains(&p0) {
        return None;
    }
    if p0 == 0.0 || p0 == 1.0 {
        return Some(Flag::Within);
    }
    let upper = pbinom(observed as i64 - 1, n, p0, false)?;
    let lower = pbinom(observed as i64, n, p0, true)?;
    Some(if upper < PROBS[0] {
        Flag::High998
    } else if upper < PROBS[1] {
        Flag::High95
    } else if lower < PROBS[0] {
        Flag::Low998
    } else if lower < PROBS[1] {
        Flag::Low95
    } else {
        Flag::Within
    })
}

/// Why the case-mix model gives no expected values (SPEC §14 B3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// No rows, nobody improved, or everybody did.
    NoVariation,
    /// X cannot be fitted (a non-finite value, no columns, or glm.fit would stop).
    NoFit,
    /// IRLS did not converge in 25 iterations.
    NotConverged,
    /// A fitted probability is within 10·ε of 0 or 1.
    FittedBoundary,
}

/// One unit's case-mix adjusted result.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitRatio {
    /// Rows of the unit.
    pub n: u64,
    /// Improved rows of the unit, O.
    pub observed: u64,
    /// E = Σ fitted probabilities of the unit's rows; `None` when the model is unusable.
    pub expected: Option<f64>,
    /// O/E; `None` when the model is unusable or E = 0.
    pub ratio: Option<f64>,
    /// Poisson limits for the ratio at E; `None` with the ratio.
    pub limits: Option<Limits>,
}

/// The case-mix model and its per-unit results.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseMix {
    /// The logistic fit, when one was made.
    pub fit: Option<LogitFit>,
    /// Why expected values are empty; `None` when they are given.
    pub unusable: Option<Unusable>,
    /// One per unit index 0..n_units.
    pub units: Vec<UnitRatio>,
}

/// Case-mix adjusted reliable improvement (SPEC §14 B3): fits `glm(improved ~ X, family =
/// binomial)` ([`logistic`]; X holds the intercept, baseline and the dummies of the track
/// levels present), then per unit E = Σ fitted, ratio = O/E and its [`poisson_limits`].
/// `unit[i]` < `n_units` is row i's unit; sums run in row order.
///
/// # Panics
/// When `improved`, `unit` and the rows of `x` differ in length, or a unit index is
/// `n_units` or more.
pub fn case_mix(improved: &[bool], x: &DMatrix<f64>, unit: &[usize], n_units: usize) -> CaseMix {
    assert_eq!(improved.len(), x.nrows(), "one response per row of X");
    assert_eq!(unit.len(), x.nrows(), "one unit per row of X");
    let mut units = vec![
        UnitRatio {
            n: 0,
            observed: 0,
            expected: None,
            ratio: None,
            limits: None,
        };
        n_units
    ];
    for (&u, &y) in unit.iter().zip(improved) {
        units[u].n += 1;
        units[u].observed += u64::from(y);
    }
    let total: u64 = units.iter().map(|u| u.observed).sum();
    if total == 0 || total == improved.len() as u64 {
        return CaseMix {
            fit: None,
            unusable: Some(Unusable::NoVariation),
            units,
        };
    }
    let Some(fit) = logistic(improved, x) else {
        return CaseMix {
            fit: None,
            unusable: Some(Unusable::NoFit),
            units,
        };
    };
    let unusable = if !fit.converged {
        Some(Unusable::NotConverged)
    } else if fit.fitted_boundary {
        Some(Unusable::FittedBoundary)
    } else {
        None
    };
    if unusable.is_none() {
        let mut sums = vec![CompensatedSum::default(); n_units];
        for (&u, &mu) in unit.iter().zip(&fit.fitted) {
            sums[u].add(mu);
        }
        for (out, sum) in units.iter_mut().zip(sums) {
            let e = sum.value();
            out.expected = Some(e);
            if e > 0.0 {
                out.ratio = Some(out.observed as f64 / e);
                out.limits = poisson_limits(e);
            }
        }
    }
    CaseMix {
        fit: Some(fit),
        unusable,
        units,
    }
}

#[cfg(test)]
mod tests;
