//! Reference tests of `stats::glm` against R 4.2.2 (`Rscript`, values printed with %.17g), and
//! the seeded data set that `stats::funnel`'s tests share.

use super::*;

/// Coefficients and fitted values against R (SPEC §14 B4 asks 1e-7; glm stops within
use crate::assert_close;
use crate::stats::prec::{Tol, GLM as COEF};
/// Deviance against R.
const DEV: Tol = Tol::rel(1e-10);

/// The test data set, made identically in R with exact integer arithmetic (Park–Miller
/// minimal standard generator; every product < 2^53):
/// ```r
/// pm <- function(n, seed) { x <- numeric(n); s <- seed
///   for (i in 1:n) { s <- (s * 16807) %% 2147483647; x[i] <- s }; x }
/// make <- function(n, seed, tracks) {
///   u <- matrix(pm(4 * n, seed), ncol = 4, byrow = TRUE)
///   baseline <- 5 + (u[, 1] %% 2300) / 100
///   track <- tracks[1 + u[, 2] %% length(tracks)]
///   site <- u[, 3] %% 8
///   improved <- as.integer((u[, 4] %% 1000) < 100 + 25 * baseline - 120 * track)
///   data.frame(baseline, track, site, improved) }
/// ```
pub(crate) struct Data {
    pub baseline: Vec<f64>,
    pub track: Vec<u32>,
    pub site: Vec<usize>,
    pub improved: Vec<bool>,
}

pub(crate) fn make(n: usize, seed: u64, tracks: &[u32]) -> Data {
    let mut s = seed;
    let mut next = || {
        s = s * 16807 % 2_147_483_647;
        s
    };
    let mut d = Data {
        baseline: vec![],
        track: vec![],
        site: vec![],
        improved: vec![],
    };
    for _ in 0..n {
        let (u1, u2, u3, u4) = (next(), next(), next(), next());
        let baseline = 5.0 + (u1 % 2300) as f64 / 100.0;
        let track = tracks[(u2 % tracks.len() as u64) as usize];
        d.baseline.push(baseline);
        d.track.push(track);
        d.site.push((u3 % 8) as usize);
        d.improved
            .push(((u4 % 1000) as f64) < 100.0 + 25.0 * baseline - 120.0 * f64::from(track));
    }
    d
}

/// X = [1, baseline, one dummy per level in `dummies`] (R's treatment contrasts).
pub(crate) fn design(d: &Data, dummies: &[u32]) -> DMatrix<f64> {
    let n = d.baseline.len();
    DMatrix::from_fn(n, 2 + dummies.len(), |i, j| match j {
        0 => 1.0,
        1 => d.baseline[i],
        _ => f64::from(u8::from(d.track[i] == dummies[j - 2])),
    })
}

/// What R printed for one fit.
struct Want<'a> {
    coef: &'a [Option<f64>],
    deviance: f64,
    iter: usize,
    converged: bool,
    boundary: bool,
    /// head(fitted(m)) and range(fitted(m)).
    head: [f64; 6],
    range: [f64; 2],
}

fn check(name: &str, y: &[bool], x: &DMatrix<f64>, w: &Want) {
    let fit = logistic(y, x).expect("fits");
    assert_eq!(fit.coef.len(), w.coef.len(), "{name}: columns");
    for (j, (g, r)) in fit.coef.iter().zip(w.coef).enumerate() {
        match (g, r) {
            (Some(g), Some(r)) => _ = assert_close!(*g, *r, COEF, "{name} coef[{j}]"),
            (None, None) => {}
            _ => panic!("{name} coef[{j}]: {g:?} vs R {r:?}"),
        }
    }
    assert_eq!(fit.rank, w.coef.iter().flatten().count(), "{name}: rank");
    assert_close!(fit.deviance, w.deviance, DEV, "{name} deviance");
    assert_eq!(fit.iterations, w.iter, "{name}: iterations");
    assert_eq!(fit.converged, w.converged, "{name}: converged");
    assert_eq!(fit.fitted_boundary, w.boundary, "{name}: fitted 0/1");
    for (i, r) in w.head.iter().enumerate() {
        assert_close!(fit.fitted[i], *r, COEF, "{name} fitted[{i}]");
    }
    let min = fit.fitted.iter().copied().fold(f64::INFINITY, f64::min);
    let max = fit.fitted.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_close!(min, w.range[0], COEF, "{name} min fitted");
    assert_close!(max, w.range[1], COEF, "{name} max fitted");
}

/// d <- make(500, 20240601, 0:2);
/// m <- glm(improved ~ baseline + factor(track), family = binomial, data = d)
const MAIN: Want<'static> = Want {
    coef: &[
        Some(-1.8743122511748409),
        Some(0.11099568743881065),
        Some(-0.55777244094384226),
        Some(-0.78620938949546404),
    ],
    deviance: 601.4676165549007,
    iter: 4,
    converged: true,
    boundary: false,
    head: [
        0.15759876833351019,
        0.40944969267898257,
        0.41132972390692218,
        0.21050008814955179,
        0.25372690617374066,
        0.35585007022437565,
    ],
    range: [0.10909746082547223, 0.76718763769293197],
};

#[test]
fn baseline_and_three_tracks_match_r() {
    let d = make(500, 20240601, &[0, 1, 2]);
    // R: sum(d$improved) = 190; table(d$site) = 60 64 55 61 54 63 74 69
    assert_eq!(d.improved.iter().filter(|&&v| v).count(), 190);
    assert_eq!(d.site.iter().filter(|&&s| s == 6).count(), 74);
    check("main", &d.improved, &design(&d, &[1, 2]), &MAIN);
}

#[test]
fn duplicate_column_is_aliased_like_r() {
    // R: glm(improved ~ baseline + I(2 * baseline) + factor(track), binomial, d):
    // the I(2 * baseline) coefficient is NA, the rest as in MAIN.
    let d = make(500, 20240601, &[0, 1, 2]);
    let base = design(&d, &[1, 2]);
    let x = DMatrix::from_fn(500, 5, |i, j| match j {
        0 | 1 => base[(i, j)],
        2 => 2.0 * base[(i, 1)],
        _ => base[(i, j - 1)],
    });
    let coef = [MAIN.coef[0], MAIN.coef[1], None, MAIN.coef[2], MAIN.coef[3]];
    check(
        "aliased",
        &d.improved,
        &x,
        &Want {
            coef: &coef,
            ..MAIN
        },
    );
}

/// a <- make(500, 777, c(0, 2)): track level 1 is absent (table: 256 of 0, 244 of 2).
const ABSENT: Want<'static> = Want {
    coef: &[
        Some(-2.0767832745158064),
        Some(0.14023364269482663),
        Some(-1.350156329142421),
    ],
    deviance: 563.3428274088883,
    iter: 4,
    converged: true,
    boundary: false,
    head: [
        0.49833974151909982,
        0.84659263666071094,
        0.41605367486861533,
        0.5308314783971303,
        0.36692489192713984,
        0.20239244974069118,
    ],
    range: [0.063607064914825165, 0.86343870806367151],
};

#[test]
fn absent_track_level_matches_r() {
    let a = make(500, 777, &[0, 2]);
    // The caller leaves the absent level's dummy out: X = [1, baseline, track == 2], as
    // R's glm(improved ~ baseline + factor(track), binomial, a) (model.frame drops the
    // unused level).
    check("absent dropped", &a.improved, &design(&a, &[2]), &ABSENT);
    // Kept as an all-zero column it is aliased: R's
    // glm.fit(cbind(1, a$baseline, a$track == 1, a$track == 2), a$improved,
    //         family = binomial())$coefficients = -2.0767832745158064
    //   0.14023364269482663 NA -1.350156329142421 (rank 3, iter 4).
    let coef = [ABSENT.coef[0], ABSENT.coef[1], None, ABSENT.coef[2]];
    check(
        "absent kept",
        &a.improved,
        &design(&a, &[1, 2]),
        &Want {
            coef: &coef,
            ..ABSENT
        },
    );
}

#[test]
fn single_track_matches_r() {
    // s <- make(500, 4242, 0); glm(improved ~ baseline, family = binomial, data = s)
    let s = make(500, 4242, &[0]);
    check(
        "single",
        &s.improved,
        &design(&s, &[]),
        &Want {
            coef: &[Some(-1.8688977278853074), Some(0.11921950102927181)],
            deviance: 622.80252870408367,
            iter: 4,
            converged: true,
            boundary: false,
            head: [
                0.79296243997534133,
                0.2592520324602936,
                0.23103775788069589,
                0.76033350711431635,
                0.22391503253643752,
                0.5793175041154015,
            ],
            range: [0.21979880085830714, 0.81112340646959113],
        },
    );
}

fn xy(x: &[f64], y: &[u8]) -> (Vec<bool>, DMatrix<f64>) {
    let m = DMatrix::from_fn(x.len(), 2, |i, j| if j == 0 { 1.0 } else { x[i] });
    (y.iter().map(|&v| v == 1).collect(), m)
}

#[test]
fn complete_separation_matches_r() {
    // x <- 1:10; y <- as.integer(x > 5); glm(y ~ x, family = binomial): R warns "algorithm
    // did not converge" and "fitted probabilities numerically 0 or 1 occurred".
    let x: Vec<f64> = (1..=10).map(f64::from).collect();
    let (y, m) = xy(&x, &[0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    let e = 2.2204460492503126e-16;
    check(
        "separation",
        &y,
        &m,
        &Want {
            coef: &[Some(-245.84732230400616), Some(44.699513147485959)],
            deviance: 7.8647754967504468e-10,
            iter: 25,
            converged: false,
            boundary: true,
            head: [e, e, e, e, 1.9661835178407388e-10, 0.99999999980338161],
            range: [e, 0.99999999999999978],
        },
    );
}

#[test]
fn quasi_separation_converging_at_fitted_zero_matches_r() {
    // x <- c(1,2,3,4,5,5,6,7,8,9); y <- c(0,0,0,0,0,1,1,1,1,1); glm(y ~ x, binomial):
    // converged, with the 0/1 warning.
    let (y, m) = xy(
        &[1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        &[0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
    );
    let e = 2.2204460492503126e-16;
    check(
        "quasi10",
        &y,
        &m,
        &Want {
            coef: &[Some(-98.158252709290153), Some(19.631650541858033)],
            deviance: 2.7725887341561131,
            iter: 21,
            converged: true,
            boundary: true,
            head: [
                e,
                e,
                e,
                2.9790822762847069e-09,
                0.50000000000000355,
                0.50000000000000355,
            ],
            range: [e, 0.99999999999999978],
        },
    );
}

/// x <- rep(c(1, 2, 3), c(k, 2, k)); y <- c(rep(0, k), 0, 1, rep(1, k))
fn quasi(k: usize) -> (Vec<bool>, DMatrix<f64>) {
    let mut x = vec![1.0; k];
    x.extend([2.0, 2.0]);
    x.extend(vec![3.0; k]);
    let mut y = vec![0u8; k + 1];
    y.push(1);
    y.extend(vec![1u8; k]);
    xy(&x, &y)
}

#[test]
fn slow_quasi_separation_stops_at_25_iterations_like_r() {
    // k = 1000: glm(y ~ x, binomial) converges exactly at iteration 25.
    let (y, m) = quasi(1000);
    let lo = 2.9007031934418263e-12;
    check(
        "quasi1000",
        &y,
        &m,
        &Want {
            coef: &[Some(-53.132135855654397), Some(26.566067927824715)],
            deviance: 2.772588733842944,
            iter: 25,
            converged: true,
            boundary: false,
            head: [lo; 6],
            range: [lo, 0.99999999999709932],
        },
    );
    // k = 3000: not converged after 25 iterations (R: "algorithm did not converge"), no
    // fitted value within 10ε of 0 or 1.
    let (y, m) = quasi(3000);
    let lo = 2.9007031831931688e-12;
    check(
        "quasi3000",
        &y,
        &m,
        &Want {
            coef: &[Some(-53.132135862710676), Some(26.566067931347831)],
            deviance: 2.7725887570492698,
            iter: 25,
            converged: false,
            boundary: false,
            head: [lo; 6],
            range: [lo, 0.99999999999709932],
        },
    );
}

#[test]
fn degenerate_inputs() {
    assert!(logistic(&[], &DMatrix::zeros(0, 1)).is_none());
    assert!(logistic(&[true], &DMatrix::zeros(1, 0)).is_none());
    let x = DMatrix::from_row_slice(2, 1, &[1.0, f64::NAN]);
    assert!(logistic(&[true, false], &x).is_none());
    // R: m <- glm(c(1, 0) ~ 1, family = binomial): coef -0, fitted 0.5 0.5, deviance
    // 2.7725887222397811, iter 2.
    let fit = logistic(&[true, false], &DMatrix::from_element(2, 1, 1.0)).unwrap();
    assert!(fit.coef[0].unwrap().abs() < 1e-15);
    assert!((fit.fitted[0] - 0.5).abs() < 1e-15);
    assert_close!(fit.deviance, 2.7725887222397811, DEV, "deviance");
    assert_eq!((fit.iterations, fit.converged), (2, true));
}
