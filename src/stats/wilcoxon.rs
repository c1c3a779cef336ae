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

/// The non-zero values of `d` grouped by absolute value, ascending: (|x|, how many, how
/// many of them positive). Their ranks follow: a group of t values after s smaller ones has
/// the average rank s + (t + 1) / 2.
///
/// Scores and days of use are whole numbers, so the changes nearly always are: then they are
/// counted by value (a pass, no sort); otherwise sorted. Measured at 1,000,000 episodes
/// (one thread), against ranking every value by an index sort and sorting the ranks again
/// for ties: outcomes and abstinence 0.62 -> 0.52 s, trend 0.46 -> 0.37 s.
fn tie_groups(d: &[f64]) -> Vec<(f64, u64, u64)> {
    /// The largest absolute change counted by value (a count array of this many pairs).
    const COUNTED: f64 = 65_536.0;
    let whole = d.iter().all(|x| x.abs() <= COUNTED && x.fract() == 0.0);
    let top = if whole {
        d.iter().fold(0.0f64, |m, x| m.max(x.abs())) as usize
    } else {
        usize::MAX
    };
    // Counted only when the count array is not much longer than the values (a small cell
    // with a large change is sorted instead).
    if whole && top <= 4 * d.len() + 64 {
        let mut counts = vec![[0u64; 2]; top + 1];
        for &x in d {
            counts[x.abs() as usize][usize::from(x > 0.0)] += 1;
        }
        return counts
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, [neg, pos])| neg + pos > 0)
            .map(|(a, &[neg, pos])| (a as f64, neg + pos, pos))
            .collect();
    }
    let mut nz: Vec<(f64, bool)> = d
        .iter()
        .filter(|&&x| x != 0.0)
        .map(|&x| (x.abs(), x > 0.0))
        .collect();
    nz.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut groups: Vec<(f64, u64, u64)> = Vec::new();
    for (a, positive) in nz {
        match groups.last_mut() {
            Some(g) if g.0 == a => {
                g.1 += 1;
                g.2 += u64::from(positive);
            }
            _ => groups.push((a, 1, u64::from(positive))),
        }
    }
    groups
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
    let groups = tie_groups(d);
    let n = groups.iter().map(|g| g.1).sum::<u64>() as usize;
    if n == 0 {
        return Some(SignedRank {
            v: 0.0,
            p: None,
            exact: false,
        });
    }
    // V is a sum of half-whole numbers below 2^53: exact, whatever the order of its terms.
    // The tie sum is added group by group in ascending order, as R's ranks give them.
    let mut v = 0.0;
    let mut tie_sum = 0.0;
    let mut below = 0;
    for &(_, count, positive) in &groups {
        v += (2 * below + count + 1) as f64 / 2.0 * positive as f64;
        let t = count as f64;
        tie_sum += t * t * t - t;
        below += count;
    }
    let ties = groups.iter().any(|g| g.1 > 1);
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Average ranks (R's `rank`, ties "average") of `xs`, by sorting.
    fn average_ranks(xs: &[f64]) -> Vec<f64> {
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

    /// `signed_rank` as it was before the tie groups: every value ranked by sorting, V summed
    /// in the values' order, the ties found by sorting the ranks. The reference it must equal
    /// bit for bit.
    fn signed_rank_by_ranks(d: &[f64]) -> Option<SignedRank> {
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
        // An empty float sum is -0.0 in Rust: V was written "-0" when no change was positive
        // (R's V is 0); `+ 0.0` makes it 0, as `signed_rank` now gives.
        let v: f64 = r
            .iter()
            .zip(&nz)
            .filter(|(_, &x)| x > 0.0)
            .map(|(r, _)| r)
            .sum::<f64>()
            + 0.0;
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

    /// Bit for bit, as `SignedRank`'s `==` would call -0.0 and 0.0 equal.
    fn bits(w: Option<SignedRank>) -> Option<(u64, Option<u64>, bool)> {
        w.map(|w| (w.v.to_bits(), w.p.map(f64::to_bits), w.exact))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// Whole changes (counted), fractional ones and ones past the counted range (sorted),
        /// small samples (the exact distribution) and large ones with many ties.
        #[test]
        fn tie_groups_give_what_ranking_every_value_gives(
            whole in proptest::collection::vec(-30i32..=30, 0..300),
            small in proptest::collection::vec(-6i32..=6, 0..60),
            halves in proptest::collection::vec(-20i32..=20, 0..200),
            wide in proptest::collection::vec(-100_000i32..=100_000, 0..100),
            mixed in proptest::collection::vec(-1e3f64..1e3, 0..100),
        ) {
            let cases: Vec<Vec<f64>> = vec![
                whole.iter().map(|&x| f64::from(x)).collect(),
                small.iter().map(|&x| f64::from(x)).collect(),
                halves.iter().map(|&x| f64::from(x) / 2.0).collect(),
                wide.iter().map(|&x| f64::from(x)).collect(),
                mixed.clone(),
                whole.iter().map(|&x| f64::from(x)).chain(mixed.iter().copied()).collect(),
            ];
            for d in &cases {
                prop_assert_eq!(bits(signed_rank(d)), bits(signed_rank_by_ranks(d)), "{:?}", d);
            }
        }
    }

    /// R: `wilcox.test(c(1, 2, 3), c(3, 5, 7), paired = TRUE)`: V = 0 (not -0), p = 0.25.
    #[test]
    fn no_positive_change_is_v_zero() {
        let w = signed_rank(&[-2.0, -3.0, -4.0]).unwrap();
        assert_eq!(w.v.to_bits(), 0.0f64.to_bits());
        assert!((w.p.unwrap() - 0.25).abs() < 1e-12);
        assert!(w.exact);
    }

    /// A large cell of whole changes, as the outcomes table meets them.
    #[test]
    fn a_large_cell_is_bit_identical() {
        let d: Vec<f64> = (0..200_000u64)
            .map(|i| ((i * 2_654_435_761) % 55) as f64 - 27.0)
            .collect();
        assert_eq!(bits(signed_rank(&d)), bits(signed_rank_by_ranks(&d)));
    }
}
