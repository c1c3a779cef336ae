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

/// The constants of a pass: θ, the entries of B = ΛΛ' and det B.
struct Theta {
    t: [f64; 3],
    b: [f64; 3],
    det_b: f64,
}

impl Theta {
    fn new(th: [f64; 3]) -> Theta {
        let [t1, t2, t3] = th;
        Theta {
            t: th,
            b: [t1 * t1, t1 * t2, t2 * t2 + t3 * t3],
            det_b: (t1 * t3) * (t1 * t3),
        }
    }
}

/// What one group adds: D; a = (W00, W01, W11, h0, h1, Q); ω = det S/D and
/// m = ω·(1, γ0, γ1, γ0², γ0γ1, γ1²) (derivatives only); u = ∂log D/∂b = (W00, 2W01, W11).
struct Terms {
    d: f64,
    a: [f64; 6],
    om: f64,
    m: [f64; 6],
    u: [f64; 3],
}

#[inline(always)]
fn terms<const ORDER: usize>(g: &Compact, th: &Theta) -> Terms {
    let [t1, t2, t3] = th.t;
    let [b0, b1, b2] = th.b;
    let (n, tb, stt) = (g.n, g.tb, g.stt);
    let c = n * stt;
    let ntb = n * tb;
    // D = det(I + S·B) = 1 + tr(S·B) + det S·det B, as a sum of non-negative terms.
    let q = t1 + t2 * tb;
    let r = t3 * tb;
    let d = 1.0 + n * (q * q + r * r) + stt * b2 + c * th.det_b;
    let inv = 1.0 / d;
    let w00 = (n + c * b2) * inv;
    let w01 = (ntb - c * b1) * inv;
    let w11 = (stt + ntb * tb + c * b0) * inv;
    let h0 = w00 * g.g0 + w01 * g.g1;
    let h1 = w01 * g.g0 + w11 * g.g1;
    let qq = g.g0 * h0 + g.g1 * h1;
    let om = c * inv;
    let m = if ORDER >= 1 {
        [
            om,
            om * g.g0,
            om * g.g1,
            om * g.g0 * g.g0,
            om * g.g0 * g.g1,
            om * g.g1 * g.g1,
        ]
    } else {
        [0.0; 6]
    };
    Terms {
        d,
        a: [w00, w01, w11, h0, h1, qq],
        om,
        m,
        u: [w00, 2.0 * w01, w11],
    }
}

/// Σ log D as the log of running products (D ≥ 1): one log per ~dozen groups, not one per
/// group; the rounding is that of summing the logs.
#[derive(Debug, Clone, Copy)]
struct LogSum {
    ld: f64,
    prod: f64,
}

impl LogSum {
    fn new() -> LogSum {
        LogSum { ld: 0.0, prod: 1.0 }
    }

    #[inline(always)]
    fn add(&mut self, d: f64) {
        self.prod *= d;
        if self.prod > 1e150 {
            self.ld += self.prod.ln();
            self.prod = 1.0;
        }
    }

    fn total(self) -> f64 {
        self.ld + self.prod.ln()
    }
}

/// The pass over one chunk of groups. `NB`: number of B entries that vary (1: b00 only, the
/// intercept-only model; 3: b00, b01, b11). `ORDER`: 0 value, 1 + gradient, 2 + Hessian.
fn accumulate<const NB: usize, const ORDER: usize>(groups: &[Compact], th: [f64; 3]) -> Acc {
    let th = Theta::new(th);
    let mut acc = Acc::default();
    let mut ld = LogSum::new();
    for g in groups {
        let Terms { d, a, om, m, u } = terms::<ORDER>(g, &th);
        add6(&mut acc.a, &a);
        ld.add(d);
        if ORDER >= 1 {
            add6(&mut acc.om, &m);
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
    acc.ld = ld.total();
    acc
}

fn by_order<const NB: usize>(groups: &[Compact], th: [f64; 3], order: usize) -> Acc {
    match order {
        0 => accumulate::<NB, 0>(groups, th),
        1 => accumulate::<NB, 1>(groups, th),
        _ => accumulate::<NB, 2>(groups, th),
    }
}

/// [`accumulate`] on AVX-512 when the CPU has it (the same results, bit for bit), else as
/// written.
fn accumulate_dyn<const NB: usize>(groups: &[Compact], th: [f64; 3], order: usize) -> Acc {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above).
        return unsafe { by_order_avx512::<NB>(groups, th, order) };
    }
    by_order::<NB>(groups, th, order)
}

/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
unsafe fn by_order_avx512<const NB: usize>(groups: &[Compact], th: [f64; 3], order: usize) -> Acc {
    // SAFETY: the caller's.
    unsafe {
        match order {
            0 => avx512::accumulate::<NB, 0>(groups, th),
            1 => avx512::accumulate::<NB, 1>(groups, th),
            _ => avx512::accumulate::<NB, 2>(groups, th),
        }
    }
}

/// [`accumulate`] as 8-lane vector operations, in blocks of 8 groups. First the terms of the
/// block's 8 groups, one group per lane, by the same operations as [`terms`]; then, group by
/// group in order, the sums, one 512-bit register per family of sums, all held in registers
/// through the pass (the plain form keeps its 96 sums in memory: a load and a store per sum
/// per group). The sums are products of a factor and a vector: `f · (W00, W01, W11, h0, h1,
/// Q, 1, 0)` for f = 1, u_k (k < NB), ω, u_k·u_l (k ≤ l < NB), so lane 6 of the u_k·u_l sums
/// is Σ u_k·u_l itself (×1 is exact), and `f · m` for f = 1, u_k (m = ω·(1, γ0, γ1, γ0², γ0γ1,
/// γ1²)); an 8×8 transpose turns the block's lanes into these rows. Every sum receives the
/// same product (products commute), in the same group order, as in [`accumulate`]; nothing
/// is re-associated, division and products are IEEE-exact in every lane, and Rust never
/// fuses a multiply and an add, so the results are bit for bit the same
/// (`tests::avx512_pass_is_bit_identical`).
///
/// Measured (`reml::speed::pass_per_group`, ns per group and pass, one thread, the 2-core
/// development machine; plain -> this): (1 + t | g) with Hessian 28.6 -> 8.7, value only
/// 6.0 -> 3.4; (1 | g) with Hessian 16.4 -> 6.3. A whole fit of 1,000,000 groups
/// (`lmm::tests::speed_one_million_groups`) 150 -> 54 ms; the full run at 1,000,000
/// episodes 7.1-7.5 -> 6.25-6.6 s (REML passes were 15% of its CPU). Tried and slower: the
/// plain form's arrays compiled for AVX-512 by the compiler alone (sums spilled, lanes
/// shuffled: 33% slower than plain); one group at a time with 4 groups' terms computed
/// ahead (16.7 ns); the block's fields loaded by gather instructions (10.3 ns value only:
/// gathers are slow on this CPU) instead of copied into lanes.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{pair, Acc, Compact, LogSum, Theta};
    use std::arch::x86_64::{
        __m512d, _mm512_add_pd, _mm512_div_pd, _mm512_loadu_pd, _mm512_mul_pd, _mm512_set1_pd,
        _mm512_setzero_pd, _mm512_shuffle_f64x2, _mm512_sub_pd, _mm512_unpackhi_pd,
        _mm512_unpacklo_pd,
    };

    /// The lanes of a register.
    fn lanes(v: __m512d) -> [f64; 8] {
        // SAFETY: __m512d is eight f64s.
        unsafe { std::mem::transmute::<__m512d, [f64; 8]>(v) }
    }

    fn six(v: __m512d) -> [f64; 6] {
        let l = lanes(v);
        [l[0], l[1], l[2], l[3], l[4], l[5]]
    }

    /// Eight groups' terms, computed lane by lane (lane j: group j) with the same operations
    /// as [`terms`], then turned into one (a, 1, 0) and one (m, 0, 0) row per group.
    struct Block {
        a: [__m512d; 8],
        m: [__m512d; 8],
        d: [f64; 8],
        /// u_0, u_1, u_2, ω, then u_k·u_l (k ≤ l), each per lane.
        f: [[f64; 8]; 10],
    }

    /// Rows to columns of an 8×8 block: out[j][i] = r[i][j].
    #[inline(always)]
    fn transpose(r: [__m512d; 8]) -> [__m512d; 8] {
        // SAFETY (all intrinsics here): only called from `accumulate`, which requires
        // AVX-512F.
        unsafe {
            let lo = |x, y| _mm512_unpacklo_pd(x, y);
            let hi = |x, y| _mm512_unpackhi_pd(x, y);
            // t: pairs (r_i[c], r_{i+1}[c]) for even / odd c.
            let t = [
                lo(r[0], r[1]),
                hi(r[0], r[1]),
                lo(r[2], r[3]),
                hi(r[2], r[3]),
                lo(r[4], r[5]),
                hi(r[4], r[5]),
                lo(r[6], r[7]),
                hi(r[6], r[7]),
            ];
            // u: 128-bit lanes regrouped so that each holds columns c and c + 4.
            let u = [
                _mm512_shuffle_f64x2::<0x88>(t[0], t[2]),
                _mm512_shuffle_f64x2::<0xDD>(t[0], t[2]),
                _mm512_shuffle_f64x2::<0x88>(t[1], t[3]),
                _mm512_shuffle_f64x2::<0xDD>(t[1], t[3]),
                _mm512_shuffle_f64x2::<0x88>(t[4], t[6]),
                _mm512_shuffle_f64x2::<0xDD>(t[4], t[6]),
                _mm512_shuffle_f64x2::<0x88>(t[5], t[7]),
                _mm512_shuffle_f64x2::<0xDD>(t[5], t[7]),
            ];
            [
                _mm512_shuffle_f64x2::<0x88>(u[0], u[4]),
                _mm512_shuffle_f64x2::<0x88>(u[2], u[6]),
                _mm512_shuffle_f64x2::<0x88>(u[1], u[5]),
                _mm512_shuffle_f64x2::<0x88>(u[3], u[7]),
                _mm512_shuffle_f64x2::<0xDD>(u[0], u[4]),
                _mm512_shuffle_f64x2::<0xDD>(u[2], u[6]),
                _mm512_shuffle_f64x2::<0xDD>(u[1], u[5]),
                _mm512_shuffle_f64x2::<0xDD>(u[3], u[7]),
            ]
        }
    }

    #[inline(always)]
    fn block<const ORDER: usize>(g: &[Compact; 8], th: &Theta) -> Block {
        // SAFETY (all intrinsics here): only called from `accumulate`, which requires
        // AVX-512F; each load reads an 8-f64 array on the stack.
        unsafe {
            let field = |f: fn(&Compact) -> f64| {
                let v: [f64; 8] = std::array::from_fn(|j| f(&g[j]));
                _mm512_loadu_pd(v.as_ptr())
            };
            let (n, tb, stt, g0, g1) = (
                field(|c| c.n),
                field(|c| c.tb),
                field(|c| c.stt),
                field(|c| c.g0),
                field(|c| c.g1),
            );
            let add = |x, y| _mm512_add_pd(x, y);
            let sub = |x, y| _mm512_sub_pd(x, y);
            let mul = |x, y| _mm512_mul_pd(x, y);
            let k = |x: f64| _mm512_set1_pd(x);
            let [t1, t2, t3] = th.t;
            let [b0, b1, b2] = th.b;
            let c = mul(n, stt);
            let ntb = mul(n, tb);
            let q = add(k(t1), mul(k(t2), tb));
            let r = mul(k(t3), tb);
            let d = add(
                add(
                    add(k(1.0), mul(n, add(mul(q, q), mul(r, r)))),
                    mul(stt, k(b2)),
                ),
                mul(c, k(th.det_b)),
            );
            let inv = _mm512_div_pd(k(1.0), d);
            let w00 = mul(add(n, mul(c, k(b2))), inv);
            let w01 = mul(sub(ntb, mul(c, k(b1))), inv);
            let w11 = mul(add(add(stt, mul(ntb, tb)), mul(c, k(b0))), inv);
            let h0 = add(mul(w00, g0), mul(w01, g1));
            let h1 = add(mul(w01, g0), mul(w11, g1));
            let qq = add(mul(g0, h0), mul(g1, h1));
            let zero = _mm512_setzero_pd();
            let a = transpose([w00, w01, w11, h0, h1, qq, k(1.0), zero]);
            let mut out = Block {
                a,
                m: a,
                d: lanes(d),
                f: [[0.0; 8]; 10],
            };
            if ORDER >= 1 {
                let om = mul(c, inv);
                let om0 = mul(om, g0);
                let om1 = mul(om, g1);
                out.m = transpose([
                    om,
                    om0,
                    om1,
                    mul(om0, g0),
                    mul(om0, g1),
                    mul(om1, g1),
                    zero,
                    zero,
                ]);
                let u = [w00, mul(k(2.0), w01), w11];
                for (f, v) in out.f.iter_mut().zip([u[0], u[1], u[2], om]) {
                    *f = lanes(v);
                }
                let mut p = 4;
                for i in 0..3 {
                    for j in i..3 {
                        out.f[p] = lanes(mul(u[i], u[j]));
                        p += 1;
                    }
                }
            }
            out
        }
    }

    #[target_feature(enable = "avx512f")]
    pub(super) fn accumulate<const NB: usize, const ORDER: usize>(
        groups: &[Compact],
        th: [f64; 3],
    ) -> Acc {
        let th = Theta::new(th);
        let zero = _mm512_setzero_pd();
        // a-family sums: 1, u_0..u_NB, ω, u_k·u_l; m-family: 1, u_0..u_NB.
        let mut sa = [zero; 11];
        let mut sm = [zero; 4];
        let mut ld = LogSum::new();
        // Group j of a block, in group order.
        let mut add = |b: &Block, j: usize| {
            let a = b.a[j];
            sa[0] = _mm512_add_pd(sa[0], a);
            ld.add(b.d[j]);
            if ORDER >= 1 {
                let m = b.m[j];
                sm[0] = _mm512_add_pd(sm[0], m);
                for k in 0..NB {
                    let u = _mm512_set1_pd(b.f[k][j]);
                    sa[1 + k] = _mm512_add_pd(sa[1 + k], _mm512_mul_pd(u, a));
                }
                if ORDER >= 2 {
                    let om = _mm512_set1_pd(b.f[3][j]);
                    sa[1 + NB] = _mm512_add_pd(sa[1 + NB], _mm512_mul_pd(om, a));
                    for k in 0..NB {
                        let u = _mm512_set1_pd(b.f[k][j]);
                        sm[1 + k] = _mm512_add_pd(sm[1 + k], _mm512_mul_pd(u, m));
                    }
                    // u_k·u_l of the model's k ≤ l < NB among those of all three.
                    let mut p = 2 + NB;
                    for k in 0..NB {
                        for l in k..NB {
                            let uu = _mm512_set1_pd(b.f[4 + pair(k, l)][j]);
                            sa[p] = _mm512_add_pd(sa[p], _mm512_mul_pd(uu, a));
                            p += 1;
                        }
                    }
                }
            }
        };
        let mut blocks = groups.chunks_exact(8);
        for g in &mut blocks {
            let b = block::<ORDER>(g.try_into().expect("8 groups"), &th);
            for j in 0..8 {
                add(&b, j);
            }
        }
        let rest = blocks.remainder();
        if !rest.is_empty() {
            // Padded with a group whose terms are finite and never added.
            let pad = Compact {
                n: 1.0,
                tb: 0.0,
                stt: 0.0,
                g0: 0.0,
                g1: 0.0,
            };
            let g: [Compact; 8] = std::array::from_fn(|j| rest.get(j).copied().unwrap_or(pad));
            let b = block::<ORDER>(&g, &th);
            for j in 0..rest.len() {
                add(&b, j);
            }
        }
        let mut acc = Acc {
            a: six(sa[0]),
            ld: ld.total(),
            om: six(sm[0]),
            ..Acc::default()
        };
        if ORDER >= 1 {
            for k in 0..NB {
                acc.ua[k] = six(sa[1 + k]);
            }
        }
        if ORDER >= 2 {
            acc.oa = six(sa[1 + NB]);
            let mut p = 2 + NB;
            for k in 0..NB {
                acc.uom[k] = six(sm[1 + k]);
                for l in k..NB {
                    acc.uu[pair(k, l)] = lanes(sa[p])[6];
                    acc.uua[pair(k, l)] = six(sa[p]);
                    p += 1;
                }
            }
        }
        acc
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

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every sum of a pass, as bits.
    fn bits(acc: &Acc) -> Vec<u64> {
        let mut v: Vec<f64> = vec![acc.ld];
        v.extend(acc.a);
        v.extend(acc.om);
        v.extend(acc.oa);
        v.extend(acc.uu);
        for k in 0..3 {
            v.extend(acc.ua[k]);
            v.extend(acc.uom[k]);
        }
        for p in 0..6 {
            v.extend(acc.uua[p]);
        }
        v.into_iter().map(f64::to_bits).collect()
    }

    fn group() -> impl Strategy<Value = Compact> {
        (
            1u32..40,
            -2.0..30.0f64,
            0.0..400.0f64,
            -50.0..50.0f64,
            -5.0..5.0f64,
        )
            .prop_map(|(n, tb, stt, g0, g1)| Compact {
                n: f64::from(n),
                tb,
                stt: if n == 1 { 0.0 } else { stt },
                g0,
                g1,
            })
    }

    fn theta() -> impl Strategy<Value = [f64; 3]> {
        prop_oneof![
            (-3.0..3.0f64, -1.0..1.0f64, -1.0..1.0f64).prop_map(|(a, b, c)| [a, b, c]),
            (0.0..3.0f64).prop_map(|a| [a, 0.0, 0.0]),
            Just([0.0, 0.3, 0.0]),
            Just([1e-5, 0.0, 1e-6]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// The AVX-512 pass gives every sum bit for bit as the plain pass does, for every
        /// model and order (group counts around the look-ahead block, and D's running product
        /// crossing its threshold). Checks nothing on a CPU without AVX-512F.
        #[test]
        fn avx512_pass_is_bit_identical(
            groups in proptest::collection::vec(group(), 0..40),
            big in proptest::collection::vec(1e3..1e9f64, 0..3),
            th in theta(),
        ) {
            if !std::arch::is_x86_feature_detected!("avx512f") {
                return Ok(());
            }
            let mut groups = groups;
            // Large n·Σt² makes D large, so the running product is logged mid-pass.
            for (g, s) in groups.iter_mut().zip(big) {
                g.stt = s;
                g.n = g.n.max(2.0);
            }
            for order in 0..3 {
                for nb in [1, 3] {
                    let th = if nb == 1 { [th[0], 0.0, 0.0] } else { th };
                    let (plain, wide) = if nb == 1 {
                        (by_order::<1>(&groups, th, order), unsafe { by_order_avx512::<1>(&groups, th, order) })
                    } else {
                        (by_order::<3>(&groups, th, order), unsafe { by_order_avx512::<3>(&groups, th, order) })
                    };
                    prop_assert_eq!(bits(&plain), bits(&wide), "order {} nb {}", order, nb);
                }
            }
        }
    }
}

#[cfg(test)]
mod speed {
    use super::*;

    /// ns per group of one pass, plain and as dispatched (`cargo test --release --lib
    /// reml::speed -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn pass_per_group() {
        let groups: Vec<Compact> = (0..1_000_000u32)
            .map(|i| {
                let x = f64::from(i % 977) / 977.0;
                Compact {
                    n: f64::from(2 + i % 9),
                    tb: 1.0 + 5.0 * x,
                    stt: 3.0 + 40.0 * x * x,
                    g0: 2.0 * x - 1.0,
                    g1: 0.3 - x,
                }
            })
            .collect();
        let th = [1.2, -0.1, 0.4];
        let time = |f: &dyn Fn() -> Acc| {
            let mut best = f64::MAX;
            for _ in 0..7 {
                let t = std::time::Instant::now();
                std::hint::black_box(f());
                best = best.min(t.elapsed().as_secs_f64());
            }
            best * 1e9 / groups.len() as f64
        };
        for order in 0..3 {
            eprintln!(
                "order {order}: (1 + t | g) plain {:.1} ns, dispatched {:.1} ns; (1 | g) plain {:.1} ns, dispatched {:.1} ns",
                time(&|| by_order::<3>(&groups, th, order)),
                time(&|| accumulate_dyn::<3>(&groups, th, order)),
                time(&|| by_order::<1>(&groups, [th[0], 0.0, 0.0], order)),
                time(&|| accumulate_dyn::<1>(&groups, [th[0], 0.0, 0.0], order)),
            );
        }
    }
}
