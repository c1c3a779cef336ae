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
mod tests;
