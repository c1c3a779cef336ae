//! The tolerance policy, written once (as statrs' `prec.rs` does): every reference test
//! compares a result with R's value through [`assert_close!`](crate::assert_close) and one of
//! the named tolerances below, chosen by how the value is computed.
//!
//! A value passes when it is within the absolute tolerance of R's value, or within the
//! relative tolerance of it: `|got − want| ≤ abs` or `|got − want| ≤ rel·|want|`.

/// A tolerance: relative, with an absolute floor for values at or near zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tol {
    pub rel: f64,
    pub abs: f64,
}

impl Tol {
    /// A relative tolerance with an absolute floor of 1e-15.
    pub const fn rel(rel: f64) -> Tol {
        Tol { rel, abs: 1e-15 }
    }

    /// A relative tolerance with the given absolute floor.
    pub const fn rel_abs(rel: f64, abs: f64) -> Tol {
        Tol { rel, abs }
    }
}

/// Closed forms (means, SDs, t, CIs, d_z, g_av, Wilcoxon's V, BH q, least squares):
/// 1e-10 relative to R.
pub const CLOSED: Tol = Tol::rel(1e-10);
/// P-values from distribution functions: 1e-9 relative (1e-15 absolute, for values R gives
/// below 1e-300).
pub const PVALUE: Tol = Tol::rel(1e-9);
/// Discrete distribution functions (pbinom, ppois, dbinom, dpois) and the funnel limits
/// interpolated from them (SPEC §14 B4): 1e-9 relative.
pub const DISTRIBUTION: Tol = Tol::rel_abs(1e-9, 1e-300);
/// Logistic regression against R's glm, and the case-mix ratios built on it (SPEC §14 B4):
/// 1e-7 relative (glm stops within about 1e-8 of the optimum).
pub const GLM: Tol = Tol::rel_abs(1e-7, 1e-300);
/// Aalen–Johansen estimates, survdiff's chi-square and p (SPEC §13 R3): 1e-10 relative.
pub const SURVIVAL_ESTIMATE: Tol = Tol::rel(1e-10);
/// Infinitesimal-jackknife standard errors and the limits built on them: 1e-8 relative.
pub const SURVIVAL_SE: Tol = Tol::rel(1e-8);
/// Mixed models against lme4/lmerTest converged tightly (SPEC §12 L4): fixed effects and
/// their SEs 1e-5 relative (1e-8 absolute).
pub const LMM_FIXED: Tol = Tol::rel_abs(1e-5, 1e-8);
/// Satterthwaite degrees of freedom: 1e-3 relative.
pub const LMM_DF: Tol = Tol::rel(1e-3);
/// Mixed-model p-values: 1e-3 relative or 1e-6 absolute.
pub const LMM_P: Tol = Tol::rel_abs(1e-3, 1e-6);
/// Variance components (SDs, correlation, residual SD): 1e-3 relative (1e-4 absolute).
pub const LMM_VARIANCE: Tol = Tol::rel_abs(1e-3, 1e-4);

/// The relative error of `got` against `want` under `tol` (0 when within the absolute
/// floor), or a message when it is out of tolerance.
pub fn check(got: f64, want: f64, tol: Tol) -> Result<f64, String> {
    let d = (got - want).abs();
    let rel = if d <= tol.abs {
        0.0
    } else {
        d / want.abs().max(f64::MIN_POSITIVE)
    };
    if rel <= tol.rel && got.is_nan() == want.is_nan() {
        Ok(rel)
    } else {
        Err(format!(
            "got {got:.17e}, want {want:.17e}: relative error {rel:.2e} above {:.0e} (absolute floor {:.0e})",
            tol.rel, tol.abs
        ))
    }
}

/// Asserts that `got` is within the tolerance `tol` ([`crate::stats::prec::Tol`]) of
/// `want`, naming the value in the failure with an optional format string; evaluates to the
/// relative error (0 within the absolute floor).
#[macro_export]
macro_rules! assert_close {
    ($got:expr, $want:expr, $tol:expr $(,)?) => {
        $crate::assert_close!($got, $want, $tol, "value")
    };
    ($got:expr, $want:expr, $tol:expr, $($what:tt)+) => {{
        let (got, want): (f64, f64) = ($got, $want);
        match $crate::stats::prec::check(got, want, $tol) {
            Ok(e) => e,
            Err(msg) => panic!("{}: {}", format!($($what)+), msg),
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_accepts_and_rejects_as_written() {
        assert!(check(1.0 + 1e-11, 1.0, CLOSED).is_ok());
        assert!(check(1.0 + 1e-9, 1.0, CLOSED).is_err());
        assert_eq!(check(1e-16, 0.0, CLOSED), Ok(0.0));
        assert!(check(f64::NAN, 1.0, CLOSED).is_err());
        assert_eq!(crate::assert_close!(2.0, 2.0, PVALUE, "p of {}", "x"), 0.0);
    }

    #[test]
    #[should_panic(expected = "t of case 3: got")]
    fn a_failure_names_the_value() {
        crate::assert_close!(1.1, 1.0, CLOSED, "t of case {}", 3);
    }
}
