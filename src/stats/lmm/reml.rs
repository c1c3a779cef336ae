//! One evaluation of the profiled REML criterion (and, on request, its exact first and second
//! derivatives): one pass over the groups accumulating per-arm sums, then a few 2×2 / 3×3
//! matrix operations per arm. The algebra is in the module doc of `lmm`.

use nalgebra::{DMatrix, DVector, Matrix3};
use rayon::prelude::*;

/// One group, as the pass reads it: n, t̄, Stt and its own least-squares line (intercept at
/// t = 0, slope) minus its arm's reference line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Compact {
    pub n: f64,
    pub tb: f64,
    pub stt: f64,
    pub g0: f64,
    pub g1: f64,
}

/// The groups of one arm (with at least one group).
#[derive(Debug, Clone)]
pub(super) struct ArmData {
    pub groups: Vec<Compact>,
    /// Whether the arm's slope column is in X (else: intercept only, the slope is aliased).
    pub slope_kept: bool,
    /// The reference line subtracted from y (in the span of the arm's kept columns).
    pub shift: [f64; 2],
}

/// The model as the optimiser sees it.
#[derive(Debug, Clone)]
pub(super) struct Problem {
    pub arms: Vec<ArmData>,
    /// n − p.
    pub nmp: f64,
    /// Σ over groups of the residual of y about the group's own line (θ-free part of r²).
    pub rss_within: f64,
    /// Number of theta parameters: 1 for (1 | g), 3 for (1 + t | g).
    pub n_theta: usize,
}

/// Groups per chunk: partial sums are formed per chunk and added in chunk order, so results
/// do not depend on the number of threads.
const CHUNK: usize = 8192;
/// Below this many groups in an arm the chunks are summed on the calling thread.
const PAR_MIN: usize = 4 * CHUNK;

/// Index of the unordered pair (k, l), k, l < 3, in (00, 01, 02, 11, 12, 22).
fn pair(k: usize, l: usize) -> usize {
    let (k, l) = if k <= l { (k, l) } else { (l, k) };
    [[0, 1, 2], [1, 3, 4], [2, 4, 5]][k][l]
}

/// ∂²D/∂b_k∂b_l / c (D is quadratic in b only through c·det B = c(b0·b2 − b1²)).
fn f_kl(k: usize, l: usize) -> f64 {
    match pair(k, l) {
        2 => 1.0,
        3 => -2.0,
        _ => 0.0,
    }
}

/// Per-arm sums. Symmetric 3×3 matrices over (intercept, slope, y) are stored as 6-vectors
/// (00, 01, 11, 02, 12, 22), i.e. (W00, W01, W11, h0, h1, Q).
#[derive(Debug, Clone, Default)]
struct Acc {
    a: [f64; 6],
    ld: f64,
    om: [f64; 6],
    ua: [[f64; 6]; 3],
    oa: [f64; 6],
    uom: [[f64; 6]; 3],
    uu: [f64; 6],
    uua: [[f64; 6]; 6],
}

fn add6(x: &mut [f64; 6], y: &[f64; 6]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

impl Acc {
    fn add(&mut self, o: &Acc) {
        add6(&mut self.a, &o.a);
        self.ld += o.ld;
        add6(&mut self.om, &o.om);
        add6(&mut self.oa, &o.oa);
        add6(&mut self.uu, &o.uu);
        for k in 0..3 {
            add6(&mut self.ua[k], &o.ua[k]);
            add6(&mut self.uom[k], &o.uom[k]);
        }
        for k in 0..6 {
            add6(&mut self.uua[k], &o.uua[k]);
        }
    }
}

/// The pass over one chunk of groups. `NB`: number of B entries that vary (1: b00 only, the
/// intercept-only model; 3: b00, b01, b11). `ORDER`: 0 value, 1 + gradient, 2 + Hessian.
fn accumulate<const NB: usize, const ORDER: usize>(groups: &[Compact], th: [f64; 3]) -> Acc {
    let [t1, t2, t3] = th;
    let (b0, b1, b2) = (t1 * t1, t1 * t2, t2 * t2 + t3 * t3);
    let det_b = (t1 * t3) * (t1 * t3);
    let mut acc = Acc::default();
    // Σ log D as the log of running products (D ≥ 1): one log per ~dozen groups, not one
    // per group; the rounding is that of summing the logs.
    let mut prod = 1.0;
    for g in groups {
        let (n, tb, stt) = (g.n, g.tb, g.stt);
        let c = n * stt;
        let ntb = n * tb;
        // D = det(I + S·B) = 1 + tr(S·B) + det S·det B, as a sum of non-negative terms.
        let q = t1 + t2 * tb;
        let r = t3 * tb;
        let d = 1.0 + n * (q * q + r * r) + stt * b2 + c * det_b;
        let inv = 1.0 / d;
        let w00 = (n + c * b2) * inv;
        let w01 = (ntb - c * b1) * inv;
        let w11 = (stt + ntb * tb + c * b0) * inv;
        let h0 = w00 * g.g0 + w01 * g.g1;
        let h1 = w01 * g.g0 + w11 * g.g1;
        let qq = g.g0 * h0 + g.g1 * h1;
        let a = [w00, w01, w11, h0, h1, qq];
        add6(&mut acc.a, &a);
        prod *= d;
        if prod > 1e150 {
            acc.ld += prod.ln();
            prod = 1.0;
        }
        if ORDER >= 1 {
            let om = c * inv;
            let m = [
                om,
                om * g.g0,
                om * g.g1,
                om * g.g0 * g.g0,
                om * g.g0 * g.g1,
                om * g.g1 * g.g1,
            ];
            add6(&mut acc.om, &m);
            let u = [w00, 2.0 * w01, w11];
            for (ua, uk) in acc.ua.iter_mut().zip(u).take(NB) {
                for (s, x) in ua.iter_mut().zip(&a) {
                    *s += uk * x;
                }
            }
            if ORDER >= 2 {
                for (s, x) in acc.oa.iter_mut().zip(&a) {
                    *s += om * x;
                }
                for (uom, ul) in acc.uom.iter_mut().zip(u).take(NB) {
                    for (s, x) in uom.iter_mut().zip(&m) {
                        *s += ul * x;
                    }
                }
                for k in 0..NB {
                    for l in k..NB {
                        let p = pair(k, l);
                        let uu = u[k] * u[l];
                        acc.uu[p] += uu;
                        for (s, x) in acc.uua[p].iter_mut().zip(&a) {
                            *s += uu * x;
                        }
                    }
                }
            }
        }
    }
    acc.ld += prod.ln();
    acc
}

fn accumulate_dyn<const NB: usize>(groups: &[Compact], th: [f64; 3], order: usize) -> Acc {
    match order {
        0 => accumulate::<NB, 0>(groups, th),
        1 => accumulate::<NB, 1>(groups, th),
        _ => accumulate::<NB, 2>(groups, th),
    }
}

fn arm_sums(groups: &[Compact], th: [f64; 3], nb: usize, order: usize) -> Acc {
    let one = |chunk: &[Compact]| {
        if nb == 1 {
            accumulate_dyn::<1>(chunk, th, order)
        } else {
            accumulate_dyn::<3>(chunk, th, order)
        }
    };
    let parts: Vec<Acc> = if groups.len() >= PAR_MIN {
        groups.par_chunks(CHUNK).map(one).collect()
    } else {
        groups.chunks(CHUNK).map(one).collect()
    };
    let mut total = Acc::default();
    for p in &parts {
        total.add(p);
    }
    total
}

fn sym3(v: &[f64; 6]) -> Matrix3<f64> {
    Matrix3::new(v[0], v[1], v[3], v[1], v[2], v[4], v[3], v[4], v[5])
}

/// Σ ω·J'E_kJ from the sums m = Σω·(1, γ0, γ1, γ0², γ0γ1, γ1²) (E_k = ∂adj(B)/∂b_k).
fn k_apply(k: usize, m: &[f64; 6]) -> [f64; 6] {
    match k {
        0 => [0.0, 0.0, m[0], 0.0, m[2], m[5]],
        1 => [0.0, -m[0], 0.0, -m[2], -m[1], -2.0 * m[4]],
        _ => [m[0], 0.0, 0.0, m[1], 0.0, m[3]],
    }
}

/// Restricts a 3×3 augmented matrix to the kept fixed columns plus y.
fn restrict(m: &Matrix3<f64>, slope_kept: bool) -> DMatrix<f64> {
    let idx: &[usize] = if slope_kept { &[0, 1, 2] } else { &[0, 2] };
    DMatrix::from_fn(idx.len(), idx.len(), |i, j| m[(idx[i], idx[j])])
}

/// Splits an augmented (r+1)×(r+1) matrix into (W, h, Q).
fn split(m: &DMatrix<f64>) -> (DMatrix<f64>, DVector<f64>, f64) {
    let r = m.nrows() - 1;
    (
        m.view((0, 0), (r, r)).into_owned(),
        m.view((0, r), (r, 1)).column(0).into_owned(),
        m[(r, r)],
    )
}

/// What the Satterthwaite step needs of one arm at the optimum.
#[derive(Debug, Clone)]
pub(super) struct ArmEval {
    /// β − shift for the kept columns.
    pub beta: DVector<f64>,
    /// (X'V⁻¹X)⁻¹·σ⁻² block: W⁻¹.
    pub winv: DMatrix<f64>,
    /// ∂W/∂b_k, k < n_b.
    pub dw: Vec<DMatrix<f64>>,
}

/// One evaluation. Derivatives are with respect to b = (b00, b01, b11), the entries of the
/// relative covariance B = ΛΛ' (only b00 for the intercept-only model).
#[derive(Debug, Clone)]
pub(super) struct Eval {
    /// The profiled REML criterion (lme4's `REMLcrit`); +∞ where it cannot be evaluated.
    pub dev: f64,
    /// log|L|² + log|R_X|².
    pub ld: f64,
    /// The penalised residual sum of squares r².
    pub r2: f64,
    pub ld_b: DVector<f64>,
    pub r2_b: DVector<f64>,
    pub ld_bb: DMatrix<f64>,
    pub r2_bb: DMatrix<f64>,
    pub arms: Vec<ArmEval>,
}

impl Problem {
    fn n_b(&self) -> usize {
        if self.n_theta == 1 {
            1
        } else {
            3
        }
    }

    /// θ as the 3-vector the pass uses (θ2 = θ3 = 0 for the intercept-only model).
    fn theta3(&self, th: &[f64]) -> [f64; 3] {
        if self.n_theta == 1 {
            [th[0], 0.0, 0.0]
        } else {
            [th[0], th[1], th[2]]
        }
    }

    /// The criterion and, for `order` ≥ 1 / 2, its b-gradient / b-Hessian pieces.
    pub fn eval(&self, th: &[f64], order: usize) -> Eval {
        let nb = self.n_b();
        let th3 = self.theta3(th);
        let mut out = Eval {
            dev: f64::INFINITY,
            ld: 0.0,
            r2: self.rss_within,
            ld_b: DVector::zeros(nb),
            r2_b: DVector::zeros(nb),
            ld_bb: DMatrix::zeros(nb, nb),
            r2_bb: DMatrix::zeros(nb, nb),
            arms: Vec::with_capacity(self.arms.len()),
        };
        for arm in &self.arms {
            let acc = arm_sums(&arm.groups, th3, nb, order);
            let (w, h, q) = split(&restrict(&sym3(&acc.a), arm.slope_kept));
            let Some(chol) = w.clone().cholesky() else {
                return out;
            };
            let winv = chol.inverse();
            let beta = &winv * &h;
            let rho = q - h.dot(&beta);
            let ld_w = 2.0 * chol.l().diagonal().iter().map(|x| x.ln()).sum::<f64>();
            out.ld += acc.ld + ld_w;
            out.r2 += rho;
            let mut dw = Vec::new();
            let mut e = Vec::new();
            if order >= 1 {
                let u_sum = [acc.a[0], 2.0 * acc.a[1], acc.a[2]];
                for (k, u_k) in u_sum.into_iter().enumerate().take(nb) {
                    let mut dm = k_apply(k, &acc.om);
                    for (s, x) in dm.iter_mut().zip(&acc.ua[k]) {
                        *s -= x;
                    }
                    let (dwk, dhk, dqk) = split(&restrict(&sym3(&dm), arm.slope_kept));
                    out.ld_b[k] += u_k + (&winv * &dwk).trace();
                    let dwb = &dwk * &beta;
                    out.r2_b[k] += dqk - 2.0 * beta.dot(&dhk) + beta.dot(&dwb);
                    e.push(dhk - dwb);
                    dw.push(dwk);
                }
            }
            if order >= 2 {
                for k in 0..nb {
                    for l in k..nb {
                        let p = pair(k, l);
                        let f = f_kl(k, l);
                        let kl = k_apply(k, &acc.uom[l]);
                        let lk = k_apply(l, &acc.uom[k]);
                        let mut d2 = [0.0; 6];
                        for i in 0..6 {
                            d2[i] = -(kl[i] + lk[i]) - f * acc.oa[i] + 2.0 * acc.uua[p][i];
                        }
                        let (d2w, d2h, d2q) = split(&restrict(&sym3(&d2), arm.slope_kept));
                        let ld = f * acc.om[0] - acc.uu[p] + (&winv * &d2w).trace()
                            - (&winv * &dw[k] * &winv * &dw[l]).trace();
                        let r2 = d2q - 2.0 * beta.dot(&d2h) + beta.dot(&(&d2w * &beta))
                            - 2.0 * e[k].dot(&(&winv * &e[l]));
                        out.ld_bb[(k, l)] += ld;
                        out.r2_bb[(k, l)] += r2;
                        if l != k {
                            out.ld_bb[(l, k)] += ld;
                            out.r2_bb[(l, k)] += r2;
                        }
                    }
                }
            }
            out.arms.push(ArmEval { beta, winv, dw });
        }
        if out.r2 > 0.0 && out.ld.is_finite() {
            out.dev =
                out.ld + self.nmp * (1.0 + (2.0 * std::f64::consts::PI * out.r2 / self.nmp).ln());
        }
        out
    }

    /// ∂b/∂θ (n_b × n_θ) and the Hessians ∂²b_k/∂θ².
    pub fn b_jacobian(&self, th: &[f64]) -> (DMatrix<f64>, Vec<DMatrix<f64>>) {
        if self.n_theta == 1 {
            let jac = DMatrix::from_element(1, 1, 2.0 * th[0]);
            return (jac, vec![DMatrix::from_element(1, 1, 2.0)]);
        }
        let (t1, t2, t3) = (th[0], th[1], th[2]);
        #[rustfmt::skip]
        let jac = DMatrix::from_row_slice(3, 3, &[
            2.0 * t1, 0.0, 0.0,
            t2, t1, 0.0,
            0.0, 2.0 * t2, 2.0 * t3,
        ]);
        let mut h0 = DMatrix::zeros(3, 3);
        h0[(0, 0)] = 2.0;
        let mut h1 = DMatrix::zeros(3, 3);
        h1[(0, 1)] = 1.0;
        h1[(1, 0)] = 1.0;
        let mut h2 = DMatrix::zeros(3, 3);
        h2[(1, 1)] = 2.0;
        h2[(2, 2)] = 2.0;
        (jac, vec![h0, h1, h2])
    }

    /// θ-gradient and θ-Hessian of a function of b, from its b-gradient and b-Hessian.
    pub fn chain(
        &self,
        th: &[f64],
        g_b: &DVector<f64>,
        h_b: &DMatrix<f64>,
    ) -> (DVector<f64>, DMatrix<f64>) {
        let (jac, hess_b) = self.b_jacobian(th);
        let g = jac.transpose() * g_b;
        let mut h = jac.transpose() * h_b * &jac;
        for (k, hk) in hess_b.iter().enumerate() {
            h += hk * g_b[k];
        }
        (g, h)
    }

    /// The profiled criterion with its θ-gradient and θ-Hessian.
    pub fn objective(&self, th: &[f64]) -> Objective {
        let e = self.eval(th, 2);
        let k = self.n_theta;
        if !e.dev.is_finite() {
            return Objective {
                dev: e.dev,
                grad: DVector::zeros(k),
                hess: DMatrix::zeros(k, k),
                eval: e,
            };
        }
        let g_b = &e.ld_b + &e.r2_b * (self.nmp / e.r2);
        let h_b = &e.ld_bb
            + (&e.r2_bb * (1.0 / e.r2) - &e.r2_b * e.r2_b.transpose() * (1.0 / (e.r2 * e.r2)))
                * self.nmp;
        let (grad, hess) = self.chain(th, &g_b, &h_b);
        Objective {
            dev: e.dev,
            grad,
            hess,
            eval: e,
        }
    }
}

/// The profiled criterion at one θ with its θ-derivatives, and the evaluation they came from.
#[derive(Debug, Clone)]
pub(super) struct Objective {
    pub dev: f64,
    pub grad: DVector<f64>,
    pub hess: DMatrix<f64>,
    pub eval: Eval,
}
