//! The Wilcoxon signed-rank test as R's `wilcox.test(followup, baseline, paired = TRUE)`
//! computes it with its defaults: zero differences dropped; exact distribution when fewer
//! than 50 non-zero differences remain and there are neither ties nor zeros; otherwise the
//! normal approximation with tie correction and continuity correction (SPEC §10 S3).

use statrs::distribution::{ContinuousCDF, Normal};

/// V (sum of the ranks of the positive differences) and the two-sided p-value, `None` when
/// undefined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignedRank {
    pub v: f64,
    pub p: Option<f64>,
    /// Whether the exact distribution was used.
    pub exact: bool,
}

/// Average ranks (R's `rank`, ties "average") of `xs`.
pub fn average_ranks(xs: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..xs.len()).collect();
    idx.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut ranks = vec![0.0; xs.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i + 1;
        while j < idx.len() && xs[idx[j]] == xs[idx[i]] {
            j += 1;
        }
        let r = (i + j + 1) as f64 / 2.0;
        for &k in &idx[i..j] {
            ranks[k] = r;
        }
        i = j;
    }
    ranks
}

/// P(V ≤ q) for the signed-rank statistic of n untied values (R's `psignrank`).
pub fn psignrank(q: f64, n: usize) -> f64 {
    let max = n * (n + 1) / 2;
    if q < 0.0 {
        return 0.0;
    }
    if q >= max as f64 {
        return 1.0;
    }
    // counts[s] = number of subsets of {1..n} summing to s (exact in f64 for n < 50).
    let mut counts = vec![0.0f64; max + 1];
    counts[0] = 1.0;
    for k in 1..=n {
        for s in (k..=k * (k + 1) / 2).rev() {
            counts[s] += counts[s - k];
        }
    }
    let upto = q.floor() as usize;
    let c: f64 = counts[..=upto].iter().sum();
    c / 2f64.powi(n as i32)
}

/// `wilcox.test(x, y, paired = TRUE)` on the differences `d = x − y`; `None` for fewer than 2.
pub fn signed_rank(d: &[f64]) -> Option<SignedRank> {
    if d.len() < 2 {
        return None;
    }
    let zeroes = d.contains(&0.0);
    let nz: Vec<f64> = d.iter().copied().filter(|&x| x != 0.0).collect();
    let n = nz.len();
    if n == 0 {
        return Some(SignedRank {
            v: 0.0,
            p: None,
            exact: false,
        });
    }
    let abs: Vec<f64> = nz.iter().map(|x| x.abs()).collect();
    let r = average_ranks(&abs);
    let v: f64 = r
        .iter()
        .zip(&nz)
        .filter(|(_, &x)| x > 0.0)
        .map(|(r, _)| r)
        .sum();
    let mut sorted = r.clone();
    sorted.sort_by(f64::total_cmp);
    let ties = sorted.windows(2).any(|w| w[0] == w[1]);
    let nf = n as f64;
    if n < 50 && !ties && !zeroes {
        let p = if v > nf * (nf + 1.0) / 4.0 {
            1.0 - psignrank(v - 1.0, n)
        } else {
            psignrank(v, n)
        };
        return Some(SignedRank {
            v,
            p: Some((2.0 * p).min(1.0)),
            exact: true,
        });
    }
    let mut tie_sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        let t = (j - i) as f64;
        tie_sum += t * t * t - t;
        i = j;
    }
    let z = v - nf * (nf + 1.0) / 4.0;
    let sigma = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_sum / 48.0).sqrt();
    if sigma == 0.0 {
        return Some(SignedRank {
            v,
            p: None,
            exact: false,
        });
    }
    let z = (z - 0.5 * z.signum()) / sigma;
    let norm = Normal::standard();
    let p = 2.0 * norm.cdf(z).min(norm.sf(z));
    Some(SignedRank {
        v,
        p: Some(p.min(1.0)),
        exact: false,
    })
}
