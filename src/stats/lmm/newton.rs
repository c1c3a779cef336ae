//! Minimising the profiled REML criterion over θ: Newton's method with the exact Hessian,
//! a saddle-free step (|eigenvalues|), an Armijo backtracking line search, and an escape along
//! negative curvature. θ ranges over all of R^k: the criterion depends on θ only through
//! B = ΛΛ', which is unchanged by (θ1, θ2) → (−θ1, −θ2) and by θ3 → −θ3, so every point maps
//! to one with θ1, θ3 ≥ 0 (lme4's box) with the same value, and a boundary optimum (θ1 = 0 or
//! θ3 = 0) is an ordinary stationary point here, reached at Newton's quadratic rate.
//!
//! Each iteration costs one pass with derivatives (the full step is tried with derivatives,
//! since it is nearly always taken); backtracking uses value-only passes.

use nalgebra::{DVector, SymmetricEigen};

use super::reml::{Objective, Problem};

const MAX_ITER: usize = 200;
/// Armijo's sufficient-decrease fraction.
const ARMIJO: f64 = 1e-4;
/// A Newton step this small (relative to 1 + |θ|, max norm) ends the iteration, after it is
/// taken: θ is then at the optimum to rounding.
const STEP_TOL: f64 = 1e-10;
/// Smaller final steps are not taken (they are rounding).
const POLISH_MIN: f64 = 1e-14;
/// Predicted decreases below this fraction of 1 + |criterion| are below rounding: the Newton
/// step is then taken without a line search (the criterion's value cannot tell).
const NOISE: f64 = 1e-11;

/// The minimiser started at `start`, and the evaluation (with derivatives) there.
pub(super) fn minimise(prob: &Problem, start: &[f64]) -> (Vec<f64>, Objective) {
    let k = start.len();
    let mut th = DVector::from_column_slice(start);
    let mut cur = prob.objective(th.as_slice());
    if !cur.dev.is_finite() {
        return (th.as_slice().to_vec(), cur);
    }
    for _ in 0..MAX_ITER {
        let (f, g) = (cur.dev, &cur.grad);
        let eig = SymmetricEigen::new(cur.hess.clone());
        let lmax = eig.eigenvalues.amax();
        let floor = (lmax * 1e-12).max(f64::MIN_POSITIVE);
        let mut p = DVector::zeros(k);
        for i in 0..k {
            let v = eig.eigenvectors.column(i);
            p -= v * (v.dot(g) / eig.eigenvalues[i].abs().max(floor));
        }
        let scale = 1.0 + th.amax();
        let noise = NOISE * (1.0 + f.abs());
        let mut slope = g.dot(&p);
        let (imin, lmin) = eig.eigenvalues.argmin();
        let saddle = lmin < -1e-8 * lmax.max(1.0);
        if -slope <= noise && saddle {
            // Stationary to rounding at a saddle: negative curvature still leads downhill.
            let v = eig.eigenvectors.column(imin).into_owned();
            match descend_along(prob, &th, f, &v, scale) {
                Some(next) => {
                    th = next;
                    cur = prob.objective(th.as_slice());
                    continue;
                }
                None => break,
            }
        }
        if p.amax() <= STEP_TOL * scale {
            // Converged; the last step (quadratic convergence: error ~step²) makes θ exact to
            // rounding, so the result does not depend on the path taken to it.
            if p.amax() > POLISH_MIN * scale {
                th += &p;
                cur = prob.objective(th.as_slice());
            }
            break;
        }
        if -slope <= noise {
            // Pure Newton: at this distance the step is accurate and the value is not.
            let cand = &th + &p;
            let next = prob.objective(cand.as_slice());
            if next.dev.is_nan() || next.dev > f + noise {
                break;
            }
            (th, cur) = (cand, next);
            continue;
        }
        let cap = 10.0 * scale;
        if p.norm() > cap {
            p *= cap / p.norm();
            slope = g.dot(&p);
        }
        let cand = &th + &p;
        let next = prob.objective(cand.as_slice());
        if next.dev <= f + ARMIJO * slope {
            (th, cur) = (cand, next);
            continue;
        }
        let mut alpha = 0.5;
        let mut found = None;
        for _ in 0..60 {
            let cand = &th + &p * alpha;
            let fc = prob.eval(cand.as_slice(), 0).dev;
            if fc <= f + ARMIJO * alpha * slope {
                found = Some(cand);
                break;
            }
            alpha *= 0.5;
        }
        let Some(cand) = found else { break };
        cur = prob.objective(cand.as_slice());
        th = cand;
    }
    (th.as_slice().to_vec(), cur)
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
            if fc < f - NOISE * (1.0 + f.abs()) {
                return Some(cand);
            }
            alpha *= 0.5;
        }
    }
    None
}
