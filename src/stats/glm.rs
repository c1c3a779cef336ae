//! Logistic regression fitted as R's `glm(y ~ X, family = binomial)` fits it (`glm.fit`,
//! R 4.2.2), for the case-mix adjustment of SPEC §14 B3.
//!
//! Start μ = (y + ½)/2; then IRLS: working weights w = μ.η(η)²/(μ(1 − μ)), working
//! response z = η + (y − μ)/μ.η(η), weighted least squares by Householder QR with LINPACK
//! dqrdc2's limited pivoting at R's tolerance min(1e-7, ε_glm/1000) = 1e-11 (a column whose
//! part orthogonal to the columns kept before it has a norm below 1e-11 of its own weighted
//! norm is aliased: no coefficient, like R's `NA`, and 0 in the linear predictor);
//! convergence when |dev − dev_old|/(|dev| + 0.1) < 1e-8, at most 25 iterations, with
//! glm.fit's step halving when the deviance is not finite. The logit link, its inverse and
//! μ.η are R's C versions, clamped at |η| > 30, so fitted probabilities stay inside (0, 1)
//! and the deviance finite: with this link the step halving is kept for fidelity but cannot
//! be reached.

use nalgebra::DMatrix;

/// glm.control()$epsilon.
pub const EPSILON: f64 = 1e-8;
/// glm.control()$maxit.
pub const MAXIT: usize = 25;
/// Cdqrls tolerance in glm.fit: min(1e-7, epsilon/1000).
pub const QR_TOL: f64 = 1e-11;
/// glm.fit's threshold for "fitted probabilities numerically 0 or 1 occurred": 10·ε.
pub const BOUNDARY_EPS: f64 = 10.0 * f64::EPSILON;

/// R's logit clamp (family.c THRESH / MTHRESH).
const THRESH: f64 = 30.0;

/// A fitted logistic regression.
#[derive(Debug, Clone, PartialEq)]
pub struct LogitFit {
    /// One per column of X; `None` when the column is aliased in the last IRLS step.
    pub coef: Vec<Option<f64>>,
    /// Fitted probabilities μ, one per row.
    pub fitted: Vec<f64>,
    /// Residual deviance, −2·log-likelihood.
    pub deviance: f64,
    /// IRLS iterations run (R's `iter`).
    pub iterations: usize,
    /// R's `converged`.
    pub converged: bool,
    /// Some fitted probability is below 10·ε or above 1 − 10·ε (R warns "fitted probabilities
    /// numerically 0 or 1 occurred").
    pub fitted_boundary: bool,
    /// Columns with a coefficient.
    pub rank: usize,
}

/// R's `binomial()$linkinv` for the logit (family.c): clamped to [ε/(1 + ε), 1/(1 + ε)].
fn linkinv(eta: f64) -> f64 {
    let t = if eta < -THRESH {
        f64::EPSILON
    } else if eta > THRESH {
        1.0 / f64::EPSILON
    } else {
        eta.exp()
    };
    t / (1.0 + t)
}

/// R's `binomial()$mu.eta` for the logit: dμ/dη, ε beyond the clamp.
fn mu_eta(eta: f64) -> f64 {
    if eta.abs() > THRESH {
        f64::EPSILON
    } else {
        let e = eta.exp();
        e / ((1.0 + e) * (1.0 + e))
    }
}

/// Deviance of 0/1 responses: Σ 2·y·ln(1/μ) + 2·(1 − y)·ln(1/(1 − μ)) (R's
/// `binomial_dev_resids`), summed with compensation (R sums in long double).
fn deviance(y: &[bool], mu: &[f64]) -> f64 {
    compensated_sum(y.iter().zip(mu).map(|(&yi, &m)| {
        2.0 * if yi {
            (1.0 / m).ln()
        } else {
            (1.0 / (1.0 - m)).ln()
        }
    }))
}

/// Neumaier's compensated sum, standing in for R's long-double accumulator.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CompensatedSum {
    sum: f64,
    comp: f64,
}

impl CompensatedSum {
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        self.comp += if self.sum.abs() >= x.abs() {
            (self.sum - t) + x
        } else {
            (x - t) + self.sum
        };
        self.sum = t;
    }

    pub(crate) fn value(self) -> f64 {
        self.sum + self.comp
    }
}

fn compensated_sum(xs: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = CompensatedSum::default();
    xs.into_iter().for_each(|x| s.add(x));
    s.value()
}

/// Least squares of `b` on the columns of `a` (n × p, column-major, both overwritten) by
/// Householder QR with dqrdc2's limited pivoting: columns are taken in order and one whose
/// remaining norm is below `tol` times its original norm (1 when that is 0) is aliased.
/// Returns the coefficients (0 for aliased columns) and which columns were kept.
fn qr_least_squares(
    a: &mut [f64],
    n: usize,
    p: usize,
    b: &mut [f64],
    tol: f64,
) -> (Vec<f64>, Vec<bool>) {
    let col_norm = |c: &[f64]| c.iter().map(|v| v * v).sum::<f64>().sqrt();
    let original: Vec<f64> = (0..p)
        .map(|j| match col_norm(&a[j * n..(j + 1) * n]) {
            0.0 => 1.0,
            v => v,
        })
        .collect();
    let mut kept: Vec<usize> = Vec::with_capacity(p);
    let mut diag: Vec<f64> = Vec::with_capacity(p);
    for j in 0..p {
        let k = kept.len();
        if k == n {
            break;
        }
        let (head, rest) = a.split_at_mut((j + 1) * n);
        let col = &mut head[j * n..];
        let norm = col_norm(&col[k..]);
        if norm < tol * original[j] {
            continue;
        }
        // Reflector H = I − v·vᵀ/(vᵀv·½) with v = x − α·e₁, α = −sign(x₀)·‖x‖.
        let alpha = if col[k] > 0.0 { -norm } else { norm };
        col[k] -= alpha;
        let vtv = col[k..].iter().map(|v| v * v).sum::<f64>();
        let reflect = |target: &mut [f64]| {
            let dot: f64 = col[k..].iter().zip(&target[k..]).map(|(v, t)| v * t).sum();
            let s = 2.0 * dot / vtv;
            for (t, v) in target[k..].iter_mut().zip(&col[k..]) {
                *t -= s * v;
            }
        };
        for later in rest.chunks_exact_mut(n) {
            reflect(later);
        }
        reflect(b);
        kept.push(j);
        diag.push(alpha);
    }
    // Back substitution on the kept columns: R[i][m] is row i of kept column m.
    let rank = kept.len();
    let mut beta = vec![0.0; rank];
    for m in (0..rank).rev() {
        let mut s = b[m];
        for (l, &jl) in kept.iter().enumerate().skip(m + 1) {
            s -= a[jl * n + m] * beta[l];
        }
        beta[m] = s / diag[m];
    }
    let mut coef = vec![0.0; p];
    let mut is_kept = vec![false; p];
    for (m, &j) in kept.iter().enumerate() {
        coef[j] = beta[m];
        is_kept[j] = true;
    }
    (coef, is_kept)
}

/// η = X·β.
fn linear_predictor(x: &DMatrix<f64>, beta: &[f64]) -> Vec<f64> {
    let mut eta = vec![0.0; x.nrows()];
    for (j, &b) in beta.iter().enumerate() {
        if b != 0.0 {
            for (e, v) in eta.iter_mut().zip(x.column(j).iter()) {
                *e += v * b;
            }
        }
    }
    eta
}

/// Fits `glm(y ~ X - 1, family = binomial)` where X holds the intercept column (so R's
/// `glm(y ~ baseline + track, family = binomial)` is X = [1, baseline, track dummies]).
/// `None` when X has no rows or columns, holds a non-finite value, or glm.fit would stop
/// with an error (no finite deviance can be reached).
///
/// # Panics
/// When `y.len()` differs from the number of rows of `x`.
pub fn logistic(y: &[bool], x: &DMatrix<f64>) -> Option<LogitFit> {
    let (n, p) = x.shape();
    assert_eq!(y.len(), n, "one response per row of X");
    if n == 0 || p == 0 || x.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let yf: Vec<f64> = y.iter().map(|&v| if v { 1.0 } else { 0.0 }).collect();
    // mustart = (y + ½)/2, η = logit(mustart), μ = linkinv(η) as glm.fit starts.
    let mut eta: Vec<f64> = yf
        .iter()
        .map(|v| {
            let m = (v + 0.5) / 2.0;
            (m / (1.0 - m)).ln()
        })
        .collect();
    let mut mu: Vec<f64> = eta.iter().map(|&e| linkinv(e)).collect();
    let mut dev_old = deviance(y, &mu);
    let mut dev = dev_old;
    let mut coef_old: Option<Vec<f64>> = None;
    let mut coef = vec![0.0; p];
    let mut kept = vec![false; p];
    let mut converged = false;
    let mut iterations = 0;
    let mut a = vec![0.0; n * p];
    let mut z = vec![0.0; n];
    let mut w = vec![0.0; n];
    for iter in 1..=MAXIT {
        iterations = iter;
        for i in 0..n {
            let d = mu_eta(eta[i]);
            w[i] = (d * d / (mu[i] * (1.0 - mu[i]))).sqrt();
            z[i] = (eta[i] + (yf[i] - mu[i]) / d) * w[i];
        }
        for (dst, src) in a.chunks_exact_mut(n).zip(x.column_iter()) {
            for ((d, s), wi) in dst.iter_mut().zip(src.iter()).zip(&w) {
                *d = s * wi;
            }
        }
        let (start, is_kept) = qr_least_squares(&mut a, n, p, &mut z, QR_TOL);
        if start.iter().any(|c| !c.is_finite()) {
            // glm.fit: "non-finite coefficients at iteration"; keeps the previous fit.
            break;
        }
        let mut start = start;
        kept = is_kept;
        eta = linear_predictor(x, &start);
        mu = eta.iter().map(|&e| linkinv(e)).collect();
        dev = deviance(y, &mu);
        let valid = |mu: &[f64]| mu.iter().all(|m| m.is_finite() && *m > 0.0 && *m < 1.0);
        if !dev.is_finite() || !valid(&mu) {
            // glm.fit's step halving towards the previous coefficients.
            let old = coef_old.as_ref()?;
            let mut tries = 1;
            while !dev.is_finite() || !valid(&mu) {
                if tries > MAXIT {
                    return None;
                }
                tries += 1;
                for (s, o) in start.iter_mut().zip(old) {
                    *s = (*s + o) / 2.0;
                }
                eta = linear_predictor(x, &start);
                mu = eta.iter().map(|&e| linkinv(e)).collect();
                dev = deviance(y, &mu);
            }
        }
        coef = start;
        if (dev - dev_old).abs() / (dev.abs() + 0.1) < EPSILON {
            converged = true;
            break;
        }
        dev_old = dev;
        coef_old = Some(coef.clone());
    }
    let fitted_boundary = mu
        .iter()
        .any(|m| !(BOUNDARY_EPS..=1.0 - BOUNDARY_EPS).contains(m));
    Some(LogitFit {
        coef: coef
            .iter()
            .zip(&kept)
            .map(|(&c, &k)| k.then_some(c))
            .collect(),
        fitted: mu,
        deviance: dev,
        iterations,
        converged,
        fitted_boundary,
        rank: kept.iter().filter(|&&k| k).count(),
    })
}

#[cfg(test)]
pub(crate) mod tests;
