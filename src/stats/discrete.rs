//! The binomial and Poisson distribution functions as R 4.2.2 computes them: `dbinom`,
//! `pbinom` (both tails), `qbinom`, `dpois`, `ppois` (both tails) and `qpois`, for the
//! integer arguments the funnel plots use (SPEC §14 B2–B3).
//!
//! Probabilities are Loader's saddle-point terms (C. Loader, "Fast and accurate computation
//! of binomial probabilities", 2000: Stirling's-series error plus the deviance term `bd0`),
//! the algorithm behind R's `dbinom`/`dpois`. A tail probability sums the terms of the tail
//! that does not hold the mode, from the largest term outwards, until the geometric bound on
//! what is left falls below 1e-17 of the sum; the other tail is one minus that sum. This
//! agrees with R's `pbinom`/`ppois` (TOMS 708 `bratio`, `pgamma`) to about 1e-14 relative,
//! tails near 1e-300 included. statrs (0.19) was measured first and is not used: its
//! `beta_reg` loses up to 1.6e-8 relative at n = 2e5 (cancelling `ln_gamma` and a continued
//! fraction cut at 140 terms), outside the 1e-9 the SPEC asks.
//!
//! The quantiles are R's discrete search (R ≥ 4.1.1, `qDiscrete_search.h`): a Cornish–Fisher
//! start, the target fuzzed to p·(1 − 8ε) for left continuity, then a walk to the smallest y
//! with cdf(y) ≥ p, by steps of ⌊y/64⌋ shrinking eightfold when the start is ≥ 4096.

use statrs::distribution::{ContinuousCDF, Normal};

/// ln √(2π).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// ln(2π).
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Stirling's-series error δ(n) = ln n! − (n + ½) ln n + n − ln √(2π) for n = 1..=15,
/// computed with 60-digit decimal arithmetic (Python `decimal`) and rounded to the nearest double.
const STIRLING_ERROR: [f64; 15] = [
    0.08106146679532726,
    0.0413406959554093,
    0.02767792568499834,
    0.020790672103765093,
    0.016644691189821193,
    0.013876128823070748,
    0.01189670994589177,
    0.010411265261972096,
    0.009255462182712733,
    0.00833056343336287,
    0.007573675487951841,
    0.00694284010720953,
    0.006408994188004207,
    0.0059513701127588475,
    0.005554733551962801,
];

/// δ(n) for an integer n ≥ 1: the table up to 15, else the asymptotic series
/// 1/(12n) − 1/(360n³) + 1/(1260n⁵) − 1/(1680n⁷) + 1/(1188n⁹), cut where the next term is
/// below the rounding of the first.
fn stirling_error(n: f64) -> f64 {
    if n <= 15.0 {
        return if n < 1.0 {
            0.0
        } else {
            STIRLING_ERROR[n as usize - 1]
        };
    }
    let (c0, c1, c2, c3, c4) = (
        1.0 / 12.0,
        1.0 / 360.0,
        1.0 / 1260.0,
        1.0 / 1680.0,
        1.0 / 1188.0,
    );
    let nn = n * n;
    let series = if n > 500.0 {
        c0 - c1 / nn
    } else if n > 80.0 {
        c0 - (c1 - c2 / nn) / nn
    } else if n > 35.0 {
        c0 - (c1 - (c2 - c3 / nn) / nn) / nn
    } else {
        c0 - (c1 - (c2 - (c3 - c4 / nn) / nn) / nn) / nn
    };
    series / n
}

/// Loader's deviance term x·ln(x/m) + m − x, by its series in v = (x − m)/(x + m) when x is
/// near m (where the closed form cancels).
fn deviance_term(x: f64, m: f64) -> f64 {
    let d = x - m;
    if d.abs() < 0.1 * (x + m) {
        let v = d / (x + m);
        let v2 = v * v;
        let mut sum = d * v;
        let mut term = 2.0 * x * v;
        let mut j = 1.0;
        loop {
            term *= v2;
            let next = sum + term / (2.0 * j + 1.0);
            if next == sum {
                return next;
            }
            sum = next;
            j += 1.0;
        }
    }
    x * (x / m).ln() + m - x
}

/// P(X = x) for X ~ Binomial(n, p), q = 1 − p given by the caller; x, n integer-valued.
fn binom_term(x: f64, n: f64, p: f64, q: f64) -> f64 {
    if p == 0.0 {
        return if x == 0.0 { 1.0 } else { 0.0 };
    }
    if q == 0.0 {
        return if x == n { 1.0 } else { 0.0 };
    }
    if x < 0.0 || x > n {
        return 0.0;
    }
    if x == 0.0 {
        if n == 0.0 {
            return 1.0;
        }
        let lc = if p < 0.1 {
            -deviance_term(n, n * q) - n * p
        } else {
            n * q.ln()
        };
        return lc.exp();
    }
    if x == n {
        let lc = if q < 0.1 {
            -deviance_term(n, n * p) - n * q
        } else {
            n * p.ln()
        };
        return lc.exp();
    }
    let lc = stirling_error(n)
        - stirling_error(x)
        - stirling_error(n - x)
        - deviance_term(x, n * p)
        - deviance_term(n - x, n * q);
    let lf = LN_2PI + x.ln() + (-x / n).ln_1p();
    (lc - 0.5 * lf).exp()
}

/// P(X = x) for X ~ Poisson(λ); x integer-valued.
fn pois_term(x: f64, lambda: f64) -> f64 {
    if lambda == 0.0 {
        return if x == 0.0 { 1.0 } else { 0.0 };
    }
    if x < 0.0 {
        return 0.0;
    }
    if x == 0.0 {
        return (-lambda).exp();
    }
    (-stirling_error(x) - deviance_term(x, lambda) - LN_SQRT_2PI - 0.5 * x.ln()).exp()
}

/// Sums a tail whose terms shrink away from `first` (the term at its start), each next term
/// being the previous times `ratio(k)` (k = the index of the previous term) with ratios
/// falling as k moves away; `step` is −1 (lower tail) or +1 (upper tail); `anchor(k)`
/// recomputes term k directly every 256 steps so that rounding in the ratios cannot drift.
fn tail_sum(
    start: f64,
    end: f64,
    step: f64,
    ratio: impl Fn(f64) -> f64,
    anchor: impl Fn(f64) -> f64,
) -> f64 {
    let mut term = anchor(start);
    let mut sum = term;
    let mut k = start;
    let mut steps = 0u32;
    while k != end && term > 0.0 {
        let rho = ratio(k);
        k += step;
        steps += 1;
        term = if steps.is_multiple_of(256) {
            anchor(k)
        } else {
            term * rho
        };
        sum += term;
        // The terms left are at most term·ρ/(1 − ρ) (ratios keep falling).
        if rho <= 0.0 || term * rho <= 1e-17 * (1.0 - rho) * sum {
            break;
        }
    }
    sum
}

/// pbinom for integer-valued x, n and 0 < p < 1.
fn pbinom_raw(x: f64, n: f64, p: f64, lower_tail: bool) -> f64 {
    let q = 1.0 - p;
    if x < ((n + 1.0) * p).floor() {
        // Lower tail k = x, x − 1, …, 0: t(k − 1) = t(k)·k·q / ((n − k + 1)·p).
        let lower = tail_sum(
            x,
            0.0,
            -1.0,
            |k| (k * q) / ((n - k + 1.0) * p),
            |k| binom_term(k, n, p, q),
        );
        if lower_tail {
            lower
        } else {
            1.0 - lower
        }
    } else {
        // Upper tail k = x + 1, …, n: t(k + 1) = t(k)·(n − k)·p / ((k + 1)·q).
        let upper = tail_sum(
            x + 1.0,
            n,
            1.0,
            |k| ((n - k) * p) / ((k + 1.0) * q),
            |k| binom_term(k, n, p, q),
        );
        if lower_tail {
            1.0 - upper
        } else {
            upper
        }
    }
}

/// ppois for integer-valued x and λ > 0.
fn ppois_raw(x: f64, lambda: f64, lower_tail: bool) -> f64 {
    if x < lambda.floor() {
        let lower = tail_sum(x, 0.0, -1.0, |k| k / lambda, |k| pois_term(k, lambda));
        if lower_tail {
            lower
        } else {
            1.0 - lower
        }
    } else {
        let upper = tail_sum(
            x + 1.0,
            f64::INFINITY,
            1.0,
            |k| lambda / (k + 1.0),
            |k| pois_term(k, lambda),
        );
        if lower_tail {
            1.0 - upper
        } else {
            upper
        }
    }
}

/// R's `dbinom(x, n, p)`; `None` when p is outside [0, 1] or not finite.
pub fn dbinom(x: u64, n: u64, p: f64) -> Option<f64> {
    if !(0.0..=1.0).contains(&p) {
        return None;
    }
    Some(binom_term(x as f64, n as f64, p, 1.0 - p))
}

/// R's `pbinom(x, n, p, lower.tail)`: P(X ≤ x), or P(X > x) when `lower_tail` is false.
/// x may be negative (P(X ≤ −1) = 0). `None` when p is outside [0, 1] or not finite.
pub fn pbinom(x: i64, n: u64, p: f64, lower_tail: bool) -> Option<f64> {
    if !(0.0..=1.0).contains(&p) {
        return None;
    }
    let (x, n) = (x as f64, n as f64);
    let lower = if x < 0.0 {
        Some(0.0)
    } else if x >= n || p == 0.0 {
        Some(1.0)
    } else if p == 1.0 {
        Some(0.0)
    } else {
        None
    };
    Some(match lower {
        Some(l) if lower_tail => l,
        Some(l) => 1.0 - l,
        None => pbinom_raw(x, n, p, lower_tail),
    })
}

/// R's `dpois(x, lambda)`; `None` when λ is negative or not finite.
pub fn dpois(x: u64, lambda: f64) -> Option<f64> {
    if lambda < 0.0 || !lambda.is_finite() {
        return None;
    }
    Some(pois_term(x as f64, lambda))
}

/// R's `ppois(x, lambda, lower.tail)`: P(X ≤ x), or P(X > x) when `lower_tail` is false.
/// `None` when λ is negative or not finite.
pub fn ppois(x: i64, lambda: f64, lower_tail: bool) -> Option<f64> {
    if lambda < 0.0 || !lambda.is_finite() {
        return None;
    }
    let lower = if x < 0 {
        0.0
    } else if lambda == 0.0 {
        1.0
    } else {
        return Some(ppois_raw(x as f64, lambda, lower_tail));
    };
    Some(if lower_tail { lower } else { 1.0 - lower })
}

/// One walk of R's discrete quantile search from `y` (with `z` = cdf(y)) by steps of `incr`:
/// left while cdf(y − incr) ≥ p, else right until cdf(y) ≥ p (stopping at `max_y`).
/// Returns y and leaves cdf(y) in `z`.
fn search(
    mut y: f64,
    z: &mut f64,
    p: f64,
    incr: f64,
    max_y: f64,
    cdf: &impl Fn(f64) -> f64,
) -> f64 {
    if *z >= p {
        loop {
            if y <= 0.0 {
                return 0.0;
            }
            let below = cdf(y - incr);
            if below.is_nan() || below < p {
                return y;
            }
            y = (y - incr).max(0.0);
            *z = below;
        }
    }
    loop {
        y += incr;
        if y < max_y {
            *z = cdf(y);
        } else {
            y = max_y;
            return y;
        }
        if z.is_nan() || *z >= p {
            return y;
        }
    }
}

/// R's discrete quantile body (lower tail, probabilities not logged) for a distribution with
/// mean `mu`, standard deviation `sigma` and skewness `gamma`, on 0..=`max_y`.
fn discrete_quantile(
    p: f64,
    mu: f64,
    sigma: f64,
    gamma: f64,
    max_y: f64,
    cdf: impl Fn(f64) -> f64,
) -> f64 {
    let z = Normal::standard().inverse_cdf(p);
    let mut y = (mu + sigma * (z + gamma * (z * z - 1.0) / 6.0)).round_ties_even();
    if y > max_y {
        y = max_y;
    }
    if y.is_nan() || y < 0.0 {
        y = 0.0;
    }
    let mut z = cdf(y);
    let p = p * (1.0 - 8.0 * f64::EPSILON);
    if y < 4096.0 {
        return search(y, &mut z, p, 1.0, max_y, &cdf);
    }
    let mut incr = (y / 64.0).floor();
    loop {
        let old = incr;
        y = search(y, &mut z, p, incr, max_y, &cdf);
        incr = (incr / 8.0).floor().max(1.0);
        if !(old > 1.0 && incr > y * 1e-15) {
            return y;
        }
    }
}

/// R's `qbinom(prob, n, p)`: the smallest x with pbinom(x, n, p) ≥ prob (R's search, fuzz
/// included). `None` when prob or p is outside [0, 1] or not finite.
pub fn qbinom(prob: f64, n: u64, p: f64) -> Option<u64> {
    if !(0.0..=1.0).contains(&prob) || !(0.0..=1.0).contains(&p) {
        return None;
    }
    if prob == 0.0 {
        return Some(0);
    }
    if prob == 1.0 {
        return Some(n);
    }
    if p == 0.0 || n == 0 {
        return Some(0);
    }
    if p == 1.0 {
        return Some(n);
    }
    let nf = n as f64;
    let q = 1.0 - p;
    let sigma = (nf * p * q).sqrt();
    let y = discrete_quantile(prob, nf * p, sigma, (q - p) / sigma, nf, |x| {
        if x < 0.0 {
            0.0
        } else if x >= nf {
            1.0
        } else {
            pbinom_raw(x, nf, p, true)
        }
    });
    Some(y as u64)
}

/// R's `qpois(prob, lambda)`: the smallest x with ppois(x, λ) ≥ prob (R's search, fuzz
/// included). `None` when prob is outside [0, 1), λ is negative, or either is not finite
/// (R gives `Inf` for prob = 1).
pub fn qpois(prob: f64, lambda: f64) -> Option<u64> {
    if !(0.0..=1.0).contains(&prob) || lambda < 0.0 || !lambda.is_finite() {
        return None;
    }
    if lambda == 0.0 || prob == 0.0 {
        return Some(0);
    }
    if prob == 1.0 {
        return None;
    }
    let sigma = lambda.sqrt();
    let y = discrete_quantile(prob, lambda, sigma, 1.0 / sigma, f64::INFINITY, |x| {
        if x < 0.0 {
            0.0
        } else {
            ppois_raw(x, lambda, true)
        }
    });
    Some(y as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Probabilities against R (SPEC §14 B4), relative; values below 1e-300 absolutely.
    const DIST: f64 = 1e-9;

    fn close(got: f64, want: f64, what: &str) {
        let err = (got - want).abs() / want.abs().max(1e-300);
        assert!(
            err <= DIST || (want.abs() < 1e-300 && (got - want).abs() < 1e-300),
            "{what}: got {got:e}, want {want:e} (rel err {err:e})"
        );
    }

    #[test]
    fn pbinom_matches_r() {
        // (x, n, p, pbinom(x, n, p), pbinom(x, n, p, lower.tail = FALSE))
        let cases: [(i64, u64, f64, f64, f64); 19] = [
            (3, 10, 0.3, 0.64961071840000018, 0.35038928159999977),
            (0, 1, 0.38, 0.62, 0.38),
            (1, 1, 0.38, 1.0, 0.0),
            (0, 50, 0.3, 1.7984650426474097e-08, 0.99999998201534956),
            (27, 50, 0.3, 0.99988422036366842, 0.00011577963633166225),
            (
                499000,
                1000000,
                0.5,
                0.022804149932691052,
                0.97719585006730902,
            ),
            (
                500500,
                1000000,
                0.5,
                0.8415865958480423,
                0.15841340415195773,
            ),
            (493000, 1000000, 0.5, 7.8787130564807463e-45, 1.0),
            (10, 1000000, 1e-5, 0.58303975019402743, 0.41696024980597257),
            (0, 1000000, 1e-5, 4.539765980761291e-05, 0.9999546023401924),
            (2000, 1000000, 0.001, 1.0, 9.2497610073804716e-171),
            (480, 500, 0.99, 2.7746299236207598e-07, 0.99999972253700764),
            (
                999000,
                1000000,
                0.999,
                0.50421155516700322,
                0.49578844483299678,
            ),
            (
                380000,
                1000000,
                0.38,
                0.5004438293701452,
                0.49955617062985475,
            ),
            (
                378500,
                1000000,
                0.38,
                0.0010007898404123478,
                0.9989992101595877,
            ),
            (
                99990,
                100000,
                0.9999,
                0.54207654138430161,
                0.45792345861569844,
            ),
            (5, 12345, 0.001, 0.016323971842491063, 0.98367602815750899),
            (1, 2, 1e-6, 0.99999999999900002, 9.9999999999999917e-13),
            (370, 1000, 0.38, 0.26852472278966744, 0.73147527721033256),
        ];
        for (x, n, p, lower, upper) in cases {
            let what = format!("pbinom({x}, {n}, {p})");
            close(pbinom(x, n, p, true).unwrap(), lower, &what);
            close(
                pbinom(x, n, p, false).unwrap(),
                upper,
                &format!("{what}, upper"),
            );
        }
        // R: pbinom(-1, 5, 0.3) = 0; pbinom(5, 5, 0.3) = 1; pbinom(0, 5, 0) = 1;
        // pbinom(4, 5, 1) = 0; pbinom(7, 5, 0.3, lower.tail = FALSE) = 0
        assert_eq!(pbinom(-1, 5, 0.3, true), Some(0.0));
        assert_eq!(pbinom(-1, 5, 0.3, false), Some(1.0));
        assert_eq!(pbinom(5, 5, 0.3, true), Some(1.0));
        assert_eq!(pbinom(0, 5, 0.0, true), Some(1.0));
        assert_eq!(pbinom(4, 5, 1.0, true), Some(0.0));
        assert_eq!(pbinom(7, 5, 0.3, false), Some(0.0));
        assert_eq!(pbinom(1, 5, 1.5, true), None);
        assert_eq!(pbinom(1, 5, f64::NAN, true), None);
    }

    #[test]
    fn ppois_matches_r() {
        // (x, lambda, ppois(x, lambda), ppois(x, lambda, lower.tail = FALSE))
        let cases: [(i64, f64, f64, f64); 11] = [
            (0, 0.1, 0.90483741803595952, 0.095162581964040427),
            (1, 0.1, 0.9953211598395556, 0.0046788401604444703),
            (3, 3.7, 0.49415324415041839, 0.50584675584958161),
            (0, 10.0, 4.5399929762484854e-05, 0.99995460007023751),
            (25, 10.0, 0.99998231972758256, 1.7680272417471031e-05),
            (99000, 1e5, 0.00077420082944473746, 0.99922579917055532),
            (100500, 1e5, 0.943167118181506, 0.056832881818493913),
            (101300, 1e5, 0.99997971435969468, 2.0285640305400898e-05),
            (98700, 1e5, 1.9125288315701507e-05, 0.99998087471168429),
            (12000, 12345.6, 0.00090719403020915229, 0.99909280596979078),
            // Below the smallest double: R gives 0.
            (3000, 1e4, 0.0, 1.0),
        ];
        for (x, l, lower, upper) in cases {
            let what = format!("ppois({x}, {l})");
            close(ppois(x, l, true).unwrap(), lower, &what);
            close(
                ppois(x, l, false).unwrap(),
                upper,
                &format!("{what}, upper"),
            );
        }
        // R: ppois(-1, 2) = 0; ppois(3, 0) = 1
        assert_eq!(ppois(-1, 2.0, true), Some(0.0));
        assert_eq!(ppois(3, 0.0, true), Some(1.0));
        assert_eq!(ppois(3, -1.0, true), None);
    }

    #[test]
    fn densities_match_r() {
        let cases = [
            // R: dbinom(3, 10, 0.3)
            (dbinom(3, 10, 0.3), 0.26682793199999993),
            // R: dbinom(500000, 1e6, 0.5)
            (dbinom(500000, 1000000, 0.5), 0.0007978843613317499),
            // R: dbinom(0, 1e6, 1e-5)
            (dbinom(0, 1000000, 1e-5), 4.5397659807613066e-05),
            // R: dbinom(1e6, 1e6, 0.999999)
            (dbinom(1000000, 1000000, 0.999999), 0.36787925722106646),
            // R: dpois(0, 0.1); dpois(1e5, 1e5); dpois(7, 3.7)
            (dpois(0, 0.1), 0.90483741803595952),
            (dpois(100000, 1e5), 0.0012615652097053007),
            (dpois(7, 3.7), 0.046568467801125661),
        ];
        for (k, (got, want)) in cases.into_iter().enumerate() {
            close(got.unwrap(), want, &format!("density case {k}"));
        }
    }

    #[test]
    fn quantiles_match_r() {
        // (P, n, p, qbinom(P, n, p))
        let qb: [(f64, u64, f64, u64); 14] = [
            (0.001, 1, 0.38, 0),
            (0.999, 1, 0.38, 1),
            (0.025, 10, 0.3, 0),
            (0.975, 10, 0.3, 6),
            (0.5, 10, 0.3, 3),
            (0.001, 1000000, 0.5, 498455),
            (0.999, 1000000, 0.5, 501545),
            (0.025, 1000000, 1e-5, 4),
            (0.975, 1000000, 1e-5, 17),
            (0.001, 1000000, 0.999999, 1000000),
            (0.999, 1000000, 0.999999, 1000000),
            (0.025, 12345, 0.38, 4586),
            (0.975, 100000, 0.9999, 99996),
            (0.001, 20000, 0.5, 9781),
        ];
        for (prob, n, p, want) in qb {
            assert_eq!(qbinom(prob, n, p), Some(want), "qbinom({prob}, {n}, {p})");
        }
        // (P, lambda, qpois(P, lambda))
        let qp: [(f64, f64, u64); 8] = [
            (0.001, 0.1, 0),
            (0.999, 0.1, 2),
            (0.025, 3.7, 1),
            (0.975, 3.7, 8),
            (0.001, 1e5, 99024),
            (0.999, 1e5, 100979),
            (0.5, 5000.0, 5000),
            (0.025, 12345.6, 12128),
        ];
        for (prob, l, want) in qp {
            assert_eq!(qpois(prob, l), Some(want), "qpois({prob}, {l})");
        }
        // R: qbinom(0, 5, .3) = 0; qbinom(1, 5, .3) = 5; qbinom(.5, 0, .3) = 0;
        // qbinom(.5, 5, 0) = 0; qbinom(.5, 5, 1) = 5; qpois(0.5, 0) = 0; qpois(1, 2) = Inf
        assert_eq!(qbinom(0.0, 5, 0.3), Some(0));
        assert_eq!(qbinom(1.0, 5, 0.3), Some(5));
        assert_eq!(qbinom(0.5, 0, 0.3), Some(0));
        assert_eq!(qbinom(0.5, 5, 0.0), Some(0));
        assert_eq!(qbinom(0.5, 5, 1.0), Some(5));
        assert_eq!(qbinom(1.5, 5, 0.3), None);
        assert_eq!(qpois(0.5, 0.0), Some(0));
        assert_eq!(qpois(1.0, 2.0), None);
    }

    #[test]
    fn quantile_fuzz_is_r_4_2s_eight_epsilon() {
        // R ≥ 4.1.1 searches for p·(1 − 8ε) (R ≤ 4.1.0: 64ε). Targets 2ε and 20ε above a cdf
        // value tell them apart (our cdf is within 3 ulps of R's, inside that margin):
        // F <- pbinom(3, 10, 0.3); e <- .Machine$double.eps
        // qbinom(F * (1 + 2 * e), 10, 0.3) = 3 (F * (1 + 2 * e) = 0.64961071840000051)
        // qbinom(F * (1 + 20 * e), 10, 0.3) = 4 (F * (1 + 20 * e) = 0.64961071840000306)
        assert_eq!(qbinom(0.64961071840000051, 10, 0.3), Some(3));
        assert_eq!(qbinom(0.64961071840000306, 10, 0.3), Some(4));
        // G <- ppois(5, 3.3); qpois(G * (1 + 2 * e), 3.3) = 5 (0.88287681328436252);
        // qpois(G * (1 + 20 * e), 3.3) = 6 (0.88287681328436596)
        assert_eq!(qpois(0.88287681328436252, 3.3), Some(5));
        assert_eq!(qpois(0.88287681328436596, 3.3), Some(6));
    }
}
