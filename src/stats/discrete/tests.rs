//! Reference tests of `stats::discrete` against R 4.2.2 (`Rscript`, values printed with %.17g).

use super::*;

use crate::assert_close;
use crate::stats::prec::DISTRIBUTION as DIST;

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
        assert_close!(pbinom(x, n, p, true).unwrap(), lower, DIST, "{}", what);
        assert_close!(
            pbinom(x, n, p, false).unwrap(),
            upper,
            DIST,
            "{what}, upper"
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
        assert_close!(ppois(x, l, true).unwrap(), lower, DIST, "{}", what);
        assert_close!(ppois(x, l, false).unwrap(), upper, DIST, "{what}, upper");
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
        assert_close!(got.unwrap(), want, DIST, "density case {k}");
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
