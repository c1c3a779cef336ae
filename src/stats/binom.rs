//! The exact McNemar test as `binom.test(b, b + c, 0.5)` in R (two-sided).

use statrs::distribution::{Binomial, DiscreteCDF};

/// Two-sided p of `binom.test(x, n, 0.5)`; `None` when n = 0. For p = ½ R's rule (outcomes
/// no more likely than the observed one, relative tolerance 1e-7) sums both tails of equal
/// size: P(X ≤ x) + P(X ≥ n − x).
pub fn binom_test_half(x: u64, n: u64) -> Option<f64> {
    if n == 0 || x > n {
        return None;
    }
    let dist = Binomial::new(0.5, n).ok()?;
    let (x2, n2) = (2 * x, n);
    let p = if x2 == n2 {
        1.0
    } else if x2 < n2 {
        dist.cdf(x) + dist.sf(n - x - 1)
    } else {
        dist.cdf(n - x) + dist.sf(x - 1)
    };
    Some(p.min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_r() {
        // R: binom.test(b, n, 0.5)$p.value
        for (b, n, want) in [
            (3, 15, 0.035156250000000014),
            (0, 5, 0.0625),
            (7, 7, 0.015625000000000007),
            (12, 30, 0.3615946080535653),
            (1, 1, 1.0),
            (40, 100, 0.056887933640980867),
        ] {
            let got = binom_test_half(b, n).unwrap();
            assert!(
                (got - want).abs() <= 1e-12 * want,
                "binom.test({b}, {n}): {got} vs {want}"
            );
        }
        assert_eq!(binom_test_half(0, 0), None);
    }
}
