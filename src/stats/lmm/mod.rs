//! The linear mixed model of SPEC §12 fitted by REML, equal to lme4 1.1-31 /
//! lmerTest 3.1-3:
//!
//! ```r
//! lmer(y ~ 0 + arm + arm:t + (1 + t | g), REML = TRUE)   # or (1 | g); with one arm: y ~ 1 + t
//! summary(as_lmerModLmerTest(fit))                        # Satterthwaite df, t, p
//! ```
//!
//! Fixed design: per arm a an indicator column and a slope column t·1{arm = a}. Random part:
//! per group (episode) g either (1 + t | g) — b_g ~ N(0, σ²ΛΛ'), Λ = [[θ1, 0], [θ2, θ3]], lme4's
//! relative Cholesky factor — or (1 | g), Λ = θ1. Every group lies in one arm.
//!
//! # The algebra (Bates, Mächler, Bolker & Walker 2015, J Stat Softw 67(1), §3)
//!
//! lme4 profiles β and σ out of the REML criterion:
//! d(θ) = log|L_θ|² + log|R_X|² + (n − p)(1 + log(2π r²(θ)/(n − p))), with L_θL_θ' = Λ'Z'ZΛ + I,
//! R_X'R_X = X'X − R_ZX'R_ZX (the Schur complement), r² the penalised residual sum of squares.
//! Here Z'Z is block diagonal with one 2×2 (or 1×1) block per group, and a group's rows of X
//! are its own design Z_g = [1, t] placed in its arm's two columns. With B = ΛΛ',
//! S_g = Z_g'Z_g = [[n, Σt], [Σt, Σt²]], and γ̂_g the group's own least-squares line (so
//! y_g = Z_gγ̂_g + e_g, e_g ⊥ Z_g), profiling u_g out of the penalised least squares problem
//! leaves, for each group, RSS_g + (γ̂_g − β_a)'W_g(γ̂_g − β_a), where
//!
//! * D_g = det(L_g)² = det(I + S_gB) = 1 + tr(S_gB) + det S_g·det B,
//! * W_g = Z_g'(I + Z_gBZ_g')⁻¹Z_g = (I + S_gB)⁻¹S_g = (S_g + det S_g·adj B)/D_g (for 2×2
//!   matrices tr(SB)·S − SBS = det S·adj B, so no term cancels), i.e. Z_g'Z_g − R_ZX,g'R_ZX,g,
//! * RSS_g = Σ(y − line)², free of θ; for (1 | g) the same formulas hold with B = [[θ1², 0], [0, 0]].
//!
//! Hence log|L|² = Σ_g log D_g, the Schur complement X'X − R_ZX'R_ZX is block diagonal by arm
//! with blocks W_a = Σ_{g∈a} W_g, β̂_a = W_a⁻¹ Σ_{g∈a} W_gγ̂_g (GLS of the groups' own lines),
//! log|R_X|² = Σ_a log det W_a, and r² = Σ_g RSS_g + Σ_a (Q_a − h_a'W_a⁻¹h_a) with
//! h_a = Σ W_gγ̂_g, Q_a = Σ γ̂_g'W_gγ̂_g. One pass over the groups' sufficient statistics
//! ([`GroupStats`]: n, t̄, Σ(t − t̄)², the line, RSS_g) gives all of it; no n×n or n×p matrix
//! exists. Each arm's y is first shifted by a line in the span of its kept columns (its pooled
//! line), which leaves β̂'s residuals, r² and d unchanged but keeps Q_a − h_a'W_a⁻¹h_a from
//! cancelling.
//!
//! Derivatives are exact: D_g is quadratic and S_g + det S_g·adj B linear in the entries
//! b = (b00, b01, b11) of B, so ∂W_g/∂b_k = (det S_g/D_g)E_k − u_k W_g with u = ∂log D_g/∂b =
//! (W00, 2W01, W11) and E_k = ∂adj B/∂b_k, and similarly for the second derivatives; the pass
//! accumulates the needed per-arm sums and the chain rule through b(θ) = (θ1², θ1θ2, θ2² + θ3²)
//! gives θ-derivatives.
//!
//! # Optimiser
//!
//! Newton's method with the exact Hessian (module `newton`), started at lme4's θ = (1, 0, 1)
//! (or 1), over all of R^k: d depends on θ only through B, which is symmetric under
//! (θ1, θ2) → −(θ1, θ2) and θ3 → −θ3, so the bounds θ1, θ3 ≥ 0 become symmetry planes and a
//! singular fit (a variance 0 or corr = ±1) is an ordinary stationary point, converged to at
//! Newton's quadratic rate; θ is then mapped into lme4's box, values below 1e-10 in θ1 or θ3
//! are set to 0 when that does not raise d, and with θ1 = 0 (θ2, θ3) becomes (0, |(θ2, θ3)|)
//! (only θ2² + θ3² matters there). It stops once the Newton step is below 1e-10·(1 + |θ|),
//! after taking that step, so θ is the optimum to rounding whatever the path (row order, start).
//! A hand-written method rather than a crate (e.g. argmin): the problem has 1–3 parameters,
//! the exact Hessian comes from the same pass as the value, and the symmetry removes the
//! bounds, so a line-searched Newton is ~100 lines with no tolerances tuned to a general
//! method. Each iteration is one pass with derivatives (backtracking, rarely needed, uses
//! value-only passes). Models with ≥ 200,000 groups first fit a fixed ~50,000-group subsample
//! (chosen by a hash of each group's statistics, not its position) and start from its optimum:
//! 3–4 passes over all groups instead of ~8.
//!
//! Speed (`tests::speed_one_million_groups`, 1,000,000 groups, 7.4 M observations, statistics
//! already built, fastest of five): ~0.055 s for (1 + t | g) and ~0.04 s for (1 | g) on one
//! core of the shared development machine with AVX-512 (~0.15 s / ~0.09 s without); ~0.04 s /
//! ~0.03 s on two. A pass sums fixed chunks of 8,192 groups (on rayon's pool from 32,768
//! groups in an arm) and adds the chunk sums in order, so results are bit-identical whatever
//! the thread count; on a CPU with AVX-512F the pass runs as vector operations that compute
//! the very same products and sums in the same order (`reml::avx512`), so results are
//! bit-identical whatever the CPU too.
//!
//! # Satterthwaite (lmerTest 3.1-3, `as_lmerModLT` and `contest1D`)
//!
//! lmerTest differentiates in varpar = (θ, σ) the REML deviance with σ not profiled,
//! d_vp = log|L|² + log|R_X|² + r²/σ² + (n − p)·log(2πσ²); `vcov_varpar` = 2·H⁺ with H its
//! Hessian at the optimum and H⁺ the inverse over eigenvalues > 1e-8 (lmerTest's `tol`);
//! Var(β̂_j) = σ²[W_a⁻¹]_jj, its gradient g in varpar, and df = 2·Var²/(g'·vcov_varpar·g).
//! Here H and g are analytic (lmerTest uses numDeriv), in the same parameterisation, at the
//! same (boundary) point. One difference can remain at a θ1 = 0 boundary: there lme4's split of
//! θ2² + θ3² into θ2 and θ3 is arbitrary and H (so df) depends on it; ours is θ2 = 0.
//!
//! # Statuses and aliasing
//!
//! Checked in this order; counts are always filled, statistics only for `ok`:
//! `too_few` (fewer than 2 groups with ≥ 2 observations); `unidentified` (every arm that has
//! data has exactly one group — W_a then absorbs the group and d does not depend on θ; also
//! when (1 + t | g) is asked for with n ≤ 2·groups, which lme4 refuses in check.nobs.vs.nRE,
//! and when n ≤ p); `degenerate` (y lies in the span of [X Z]: every group's y on its own line
//! (1 + t | g), or on lines with one slope per arm (1 | g) — then r² → 0 and d → −∞ as σ → 0;
//! tested on the exact residual sums, computed from the rows, against 1e-24 of Σy², i.e. only
//! rounding-level residuals count as zero; also, as a safeguard, when the criterion cannot be
//! evaluated at the optimum found). An arm's slope column is aliased, as R's
//! `qr(X, tol = 1e-7)` decides, when its t varies by less than 1e-7 of its size
//! (√Σ(t − t̄_arm)² < 1e-7·√Σt²): the column is dropped, the slope is `None`, and the arm's
//! intercept is kept and reported (as lme4 does: it is the arm's mean level at its one time).

mod data;
mod newton;
mod reml;
mod setup;

pub use data::{group_stats, GroupStats, InputError};

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use reml::Problem;
use setup::Prepared;
use statrs::distribution::{Continuous, ContinuousCDF, StudentsT};

/// R's `qr` tolerance used by lme4's `chkRank.drop.cols`.
const RANK_TOL: f64 = 1e-7;
/// Residual sum of squares (relative to Σy²) below which y is in the span of [X Z].
const DEGENERATE_REL: f64 = 1e-24;
/// lme4's `isSingular` tolerance.
const SINGULAR_TOL: f64 = 1e-4;
/// lmerTest's tolerance for the eigenvalues of the Hessian in (θ, σ).
const HESSIAN_EIGEN_TOL: f64 = 1e-8;
/// θ1 or θ3 below this is set to exactly 0 (when that does not raise the criterion).
const SNAP: f64 = 1e-10;

#[cfg(test)]
mod reference_tests;
#[cfg(test)]
mod tests;

/// The random part of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RandomPart {
    /// `(1 + t | g)`: correlated random intercept and slope, θ = (θ1, θ2, θ3).
    InterceptSlope,
    /// `(1 | g)`: random intercept, θ = (θ1).
    Intercept,
}

impl RandomPart {
    /// The name in `longitudinal.csv` (SPEC L5).
    pub fn label(self) -> &'static str {
        match self {
            RandomPart::InterceptSlope => "intercept+slope",
            RandomPart::Intercept => "intercept",
        }
    }
}

/// SPEC L2: intercept only when n_obs ≤ 2·n_groups (lme4's check.nobs.vs.nRE refuses the
/// slope model there), else intercept and slope.
pub fn random_part_for(n_obs: usize, n_groups: usize) -> RandomPart {
    if n_obs <= 2 * n_groups {
        RandomPart::Intercept
    } else {
        RandomPart::InterceptSlope
    }
}

/// Whether the model was fitted (see the module doc for the rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    TooFew,
    Unidentified,
    Degenerate,
}

impl Status {
    /// The name in `longitudinal.csv` (SPEC L2).
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::TooFew => "too_few",
            Status::Unidentified => "unidentified",
            Status::Degenerate => "degenerate",
        }
    }
}

/// One fixed-effect coefficient as lmerTest's `summary()` reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coef {
    pub estimate: f64,
    pub se: f64,
    /// Satterthwaite degrees of freedom; `None` when not finite and positive.
    pub df: Option<f64>,
    pub t: f64,
    /// Two-sided p = 2·pt(−|t|, df); `None` without df.
    pub p: Option<f64>,
}

/// One arm's counts and coefficients.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArmFit {
    pub n_groups: usize,
    pub n_obs: usize,
    /// `None` unless the status is `ok` and the arm has data.
    pub intercept: Option<Coef>,
    /// `None` also when the arm's slope is not estimable (aliased).
    pub slope: Option<Coef>,
    /// slope ± qt(0.975, df)·se.
    pub slope_ci: Option<(f64, f64)>,
}

/// The variance parameters and criterion of a fitted (`ok`) model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFit {
    /// σ·θ1.
    pub sd_intercept: f64,
    /// σ·√(θ2² + θ3²); `None` for (1 | g).
    pub sd_slope: Option<f64>,
    /// θ2/√(θ2² + θ3²); `None` for (1 | g) or when either sd is 0 (R gives NaN).
    pub corr: Option<f64>,
    /// The residual sd σ (`sigma(fit)`).
    pub sigma: f64,
    /// lme4's `REMLcrit(fit)`: −2·(REML log-likelihood).
    pub reml_criterion: f64,
    /// lme4's θ (`getME(fit, "theta")`), θ1, θ3 ≥ 0.
    pub theta: Vec<f64>,
    /// lme4's `isSingular(fit, tol = 1e-4)`: θ1 or θ3 below 1e-4.
    pub singular: bool,
}

/// A fitted model: counts always, statistics when `status` is `ok`.
#[derive(Debug, Clone, PartialEq)]
pub struct LmmFit {
    pub status: Status,
    pub random_part: RandomPart,
    pub n_groups: usize,
    pub n_obs: usize,
    /// One per arm index 0..n_arms.
    pub arms: Vec<ArmFit>,
    pub model: Option<ModelFit>,
}

/// Fits the model to groups in arms 0..`n_arms` (see the module doc). The result does not
/// depend on the order of `groups` beyond rounding (~1e-13). Panics if a group's arm is
/// ≥ `n_arms`.
pub fn fit(groups: &[GroupStats], n_arms: usize, random: RandomPart) -> LmmFit {
    fit_with(groups, n_arms, random, setup::PILOT_MIN)
}

/// [`fit`], with a pilot start from `pilot_min` groups on.
fn fit_with(groups: &[GroupStats], n_arms: usize, random: RandomPart, pilot_min: usize) -> LmmFit {
    let (sums, prepared) = setup::prepare(groups, n_arms, random, pilot_min);
    let mut out = LmmFit {
        status: Status::Ok,
        random_part: random,
        n_groups: groups.len(),
        n_obs: sums.iter().map(|s| s.n_obs).sum(),
        arms: sums
            .iter()
            .map(|s| ArmFit {
                n_groups: s.n_groups,
                n_obs: s.n_obs,
                ..ArmFit::default()
            })
            .collect(),
        model: None,
    };
    let Prepared {
        prob,
        present,
        pilot,
    } = match prepared {
        Ok(p) => p,
        Err(status) => {
            out.status = status;
            return out;
        }
    };
    let mut start = match random {
        RandomPart::InterceptSlope => vec![1.0, 0.0, 1.0],
        RandomPart::Intercept => vec![1.0],
    };
    if let Some(pilot) = &pilot {
        // Only the start changes (Newton then needs ~3 passes over all groups, not ~8); the
        // optimum is the full data's.
        let (theta, obj) = newton::minimise(pilot, &start);
        if obj.dev.is_finite() && theta.iter().all(|x| x.is_finite()) {
            start = theta;
        }
    }
    let (theta, obj) = newton::minimise(&prob, &start);
    let (theta, e) = canonical(&prob, theta, obj.eval);
    let dev = e.dev;
    if !dev.is_finite() || e.r2 <= 0.0 {
        out.status = Status::Degenerate;
        return out;
    }
    let sigma2 = e.r2 / prob.nmp;
    let sigma = sigma2.sqrt();
    let vcov_varpar = vcov_varpar(&prob, &theta, &e, sigma);
    let (jac, _) = prob.b_jacobian(&theta);
    for (arm_eval, (&a, data)) in e.arms.iter().zip(present.iter().zip(&prob.arms)) {
        let coef = |j: usize| {
            let w = arm_eval.winv[(j, j)];
            let var = sigma2 * w;
            let dvar_b = DVector::from_iterator(
                arm_eval.dw.len(),
                arm_eval
                    .dw
                    .iter()
                    .map(|dw| -sigma2 * (&arm_eval.winv * dw * &arm_eval.winv)[(j, j)]),
            );
            let mut grad = DVector::zeros(theta.len() + 1);
            grad.rows_mut(0, theta.len())
                .copy_from(&(jac.transpose() * dvar_b));
            grad[theta.len()] = 2.0 * sigma * w;
            let denom = (grad.transpose() * &vcov_varpar * &grad)[(0, 0)];
            let df = Some(2.0 * var * var / denom).filter(|d| d.is_finite() && *d > 0.0);
            let estimate = data.shift[j] + arm_eval.beta[j];
            let se = var.sqrt();
            let t = estimate / se;
            let dist = df.and_then(|d| StudentsT::new(0.0, 1.0, d).ok());
            let p = dist.as_ref().map(|d| (2.0 * d.cdf(-t.abs())).min(1.0));
            let q = dist.as_ref().map(qt_975);
            (
                Coef {
                    estimate,
                    se,
                    df,
                    t,
                    p,
                },
                q,
            )
        };
        let arm = &mut out.arms[a];
        arm.intercept = Some(coef(0).0);
        if data.slope_kept {
            let (c, q) = coef(1);
            arm.slope = Some(c);
            arm.slope_ci = q.map(|q| (c.estimate - q * c.se, c.estimate + q * c.se));
        }
    }
    let (sd_slope, corr, singular) = if prob.n_theta == 3 {
        let s = theta[1].hypot(theta[2]);
        let corr = (theta[0] > 0.0 && s > 0.0).then(|| theta[1] / s);
        (
            Some(sigma * s),
            corr,
            theta[0] < SINGULAR_TOL || theta[2] < SINGULAR_TOL,
        )
    } else {
        (None, None, theta[0] < SINGULAR_TOL)
    };
    out.model = Some(ModelFit {
        sd_intercept: sigma * theta[0],
        sd_slope,
        corr,
        sigma,
        reml_criterion: dev,
        theta,
        singular,
    });
    out
}

/// R's `qt(0.975, df)`: statrs's quantile (its inverse incomplete beta stops at ~1e-10, and
/// not smoothly in df), refined by Newton steps on the upper tail, which statrs computes to
/// rounding.
fn qt_975(d: &StudentsT) -> f64 {
    let mut q = d.inverse_cdf(0.975);
    for _ in 0..3 {
        let step = (d.sf(q) - 0.025) / d.pdf(q);
        if !step.is_finite() {
            break;
        }
        q += step;
    }
    q
}

/// θ mapped into lme4's box (θ1, θ3 ≥ 0), with boundary values snapped to 0 (module doc), and
/// the evaluation there (the sign changes leave B, hence the evaluation, bit for bit the same).
fn canonical(prob: &Problem, mut th: Vec<f64>, e: reml::Eval) -> (Vec<f64>, reml::Eval) {
    if th[0] < 0.0 {
        th[0] = -th[0];
        if th.len() == 3 {
            th[1] = -th[1];
        }
    }
    if th.len() == 3 {
        th[2] = th[2].abs();
    }
    let mut snapped = th.clone();
    if snapped[0] < SNAP {
        snapped[0] = 0.0;
        if th.len() == 3 {
            snapped[2] = snapped[1].hypot(snapped[2]);
            snapped[1] = 0.0;
        }
    }
    if th.len() == 3 && snapped[2] < SNAP {
        snapped[2] = 0.0;
    }
    if snapped != th {
        let es = prob.eval(&snapped, 2);
        if es.dev <= e.dev + 1e-12 * (1.0 + e.dev.abs()) {
            return (snapped, es);
        }
    }
    (th, e)
}

/// lmerTest's `vcov_varpar`: 2·H⁺, H the Hessian of the unprofiled REML deviance in (θ, σ).
fn vcov_varpar(prob: &Problem, theta: &[f64], e: &reml::Eval, sigma: f64) -> DMatrix<f64> {
    let k = theta.len();
    let (_, h_ld) = prob.chain(theta, &e.ld_b, &e.ld_bb);
    let (g_r2, h_r2) = prob.chain(theta, &e.r2_b, &e.r2_bb);
    let s2 = sigma * sigma;
    let mut h = DMatrix::zeros(k + 1, k + 1);
    h.view_mut((0, 0), (k, k)).copy_from(&(h_ld + h_r2 / s2));
    for i in 0..k {
        let x = -2.0 * g_r2[i] / (s2 * sigma);
        h[(i, k)] = x;
        h[(k, i)] = x;
    }
    h[(k, k)] = 6.0 * e.r2 / (s2 * s2) - 2.0 * prob.nmp / s2;
    let eig = SymmetricEigen::new(h);
    let mut a = DMatrix::zeros(k + 1, k + 1);
    for (i, &lambda) in eig.eigenvalues.iter().enumerate() {
        if lambda > HESSIAN_EIGEN_TOL {
            let v = eig.eigenvectors.column(i);
            a += v * v.transpose() * (2.0 / lambda);
        }
    }
    a
}
