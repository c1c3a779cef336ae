//! Minimising the profiled REML criterion over θ: Newton's method with the exact Hessian,
//! a saddle-free step (|eigenvalues|), an Armijo backtracking line search, and an escape along
//! negative curvature. θ ranges over all of R^k: the criterion depends on θ only through
//! B = ΛΛ', which is unchanged by (θ1, θ2) → (−θ1, −θ2) and by θ3 → −θ3, so every point maps
//! to one with θ1, θ3 ≥ 0 (lme4's box) with the same value, and a boundary optimum (θ1 = 0 or
//! θ3 = 0) is an ordinary stationary point here, reached at Newton's quadratic rate.

use nalgebra::{DVector, SymmetricEigen};

use super::reml::Problem;

const MAX_ITER: usize = 200;
/// Armijo's sufficient-decrease fraction.
const ARMIJO: f64 = 1e-4;
/// A step this small (relative to 1 + |θ|, max norm) ends the iteration.
const STEP_TOL: f64 = 1e-10;
/// Predicted decreases below this fraction of 1 + |criterion| are below rounding: the Newton
/// step is then taken without a line search (the criterion's value cannot tell).
const NOISE: f64 = 1e-11;

/// The minimiser, started at `start` (lme4's start: θ = 1 for (1 | g), (1, 0, 1) for
/// (1 + t | g)).
pub(super) fn minimise(prob: &Problem, start: &[f64]) -> Vec<f64> {
    let k = start.len();
    let mut th = DVector::from_column_slice(start);
    let (mut f, mut g, mut h, _) = prob.objective(th.as_slice());
    if !f.is_finite() {
        return th.as_slice().to_vec();
    }
    for _ in 0..MAX_ITER {
        let eig = SymmetricEigen::new(h.clone());
        let lmax = eig.eigenvalues.amax();
        let floor = (lmax * 1e-12).max(f64::MIN_POSITIVE);
        let mut p = DVector::zeros(k);
        for i in 0..k {
            let v = eig.eigenvectors.column(i);
            p -= v * (v.dot(&g) / eig.eigenvalues[i].abs().max(floor));
        }
        let scale = 1.0 + th.amax();
        let noise = NOISE * (1.0 + f.abs());
        let mut slope = g.dot(&p);
        if -slope <= noise {
            // Stationary to rounding: a saddle (negative curvature) still leads downhill.
            let (imin, lmin) = eig.eigenvalues.argmin();
            if lmin < -1e-8 * lmax.max(1.0) {
                let v = eig.eigenvectors.column(imin).into_owned();
                let v = if v.dot(&g) > 0.0 { -v } else { v };
                if let Some(next) = descend_along(prob, &th, f, &v, scale) {
                    th = next;
                    (f, g, h, _) = prob.objective(th.as_slice());
                    continue;
                }
            }
            let small = p.amax() <= STEP_TOL * scale;
            // Pure Newton: at this distance the step is accurate and the value is not.
            let cand = &th + &p;
            let (fc, gc, hc, _) = prob.objective(cand.as_slice());
            if fc.is_finite() && fc <= f + noise {
                (th, f, g, h) = (cand, fc, gc, hc);
            }
            if small || !fc.is_finite() || fc > f + noise {
                break;
            }
            continue;
        }
        let cap = 10.0 * scale;
        if p.norm() > cap {
            p *= cap / p.norm();
            slope = g.dot(&p);
        }
        let mut alpha = 1.0;
        let mut next = None;
        for _ in 0..60 {
            let cand = &th + &p * alpha;
            let fc = prob.eval(cand.as_slice(), 0).dev;
            if fc.is_finite() && fc <= f + ARMIJO * alpha * slope {
                next = Some(cand);
                break;
            }
            alpha *= 0.5;
        }
        let Some(cand) = next else { break };
        let small = (&p * alpha).amax() <= STEP_TOL * scale;
        th = cand;
        (f, g, h, _) = prob.objective(th.as_slice());
        if small {
            break;
        }
    }
    th.as_slice().to_vec()
}

/// A point along ±`v` (a direction of negative curvature) with a lower criterion, if any.
fn descend_along(
    prob: &Problem,
    th: &DVector<f64>,
    f: f64,
    v: &DVector<f64>,
    scale: f64,
) -> Option<DVector<f64>> {
    for sign in [1.0, -1.0] {
        let mut alpha = 0.1 * scale;
        for _ in 0..40 {
            let cand = th + v * (sign * alpha);
            let fc = prob.eval(cand.as_slice(), 0).dev;
            if fc.is_finite() && fc < f - NOISE * (1.0 + f.abs()) {
                return Some(cand);
            }
            alpha *= 0.5;
        }
    }
    None
}
