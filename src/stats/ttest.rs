//! The paired t-test: `t.test(followup, baseline, paired = TRUE)` in R, i.e. a one-sample
//! t-test of the differences.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Result of a paired (one-sample) t-test of differences.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    pub mean: f64,
    pub t: f64,
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// `t.test(d)` with a 95% CI; `None` when n < 2, when the mean or standard error is not finite
/// (values overflow), or when R would stop with "data are essentially constant" (standard
/// error < 10·ε·|mean|, or zero; SPEC §10 S2).
pub fn one_sample(d: &[f64]) -> Option<TTest> {
    let n = d.len();
    if n < 2 {
        return None;
    }
    let m = super::mean(d)?;
    let se = super::sd(d)? / (n as f64).sqrt();
    // Scores near the ends of the double range overflow: an infinite or NaN mean or SE makes
    // the test undefined (and a NaN t would panic inside statrs).
    if !(m.is_finite() && se.is_finite()) {
        return None;
    }
    if se == 0.0 || se < 10.0 * f64::EPSILON * m.abs() {
        return None;
    }
    let df = (n - 1) as f64;
    let t = m / se;
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let p = 2.0 * dist.cdf(-t.abs());
    let q = dist.inverse_cdf(0.975);
    Some(TTest {
        mean: m,
        t,
        df,
        p: p.min(1.0),
        ci_low: m - q * se,
        ci_high: m + q * se,
    })
}

/// Welch's two-sample t-test, `t.test(x, y)` in R (t is x − y): (t, df, two-sided p).
/// `None` when either group has fewer than 2 values, both variances are zero, or the
/// difference or its standard error is not finite (values overflow).
pub fn welch(x: &[f64], y: &[f64]) -> Option<(f64, f64, f64)> {
    if x.len() < 2 || y.len() < 2 {
        return None;
    }
    let (nx, ny) = (x.len() as f64, y.len() as f64);
    let (vx, vy) = (super::var(x)? / nx, super::var(y)? / ny);
    let se = (vx + vy).sqrt();
    let diff = super::mean(x)? - super::mean(y)?;
    if !(diff.is_finite() && se.is_finite()) {
        return None;
    }
    if se == 0.0 || se < 10.0 * f64::EPSILON * super::mean(x)?.abs().max(super::mean(y)?.abs()) {
        return None;
    }
    let df = (vx + vy).powi(2) / (vx * vx / (nx - 1.0) + vy * vy / (ny - 1.0));
    let t = diff / se;
    let p = 2.0 * StudentsT::new(0.0, 1.0, df).ok()?.cdf(-t.abs());
    Some((t, df, p.min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_overflow_give_none_not_a_panic() {
        // Infinite changes (scores near ±1.8e308), and finite values whose sum or squared
        // deviations overflow: the mean or SE is not finite, so the test is undefined.
        assert!(one_sample(&[f64::INFINITY, f64::INFINITY, 1.0]).is_none());
        assert!(one_sample(&[1e308, 1e308, 1e308]).is_none());
        assert!(welch(&[1e308, -1e308, 1e308], &[0.0, 1.0, 2.0]).is_none());
        assert!(welch(&[0.0, 1.0, 2.0], &[f64::NAN, 1.0, 2.0]).is_none());
    }
}
