//! Every statistic against values computed by R 4.2.2 (`Rscript`, printed with %.17g). The R
//! expression is beside each value. Tolerances per the policy in `stats/mod.rs`.

use super::effect::{d_z, g_av, hedges_j};
use super::multiplicity::bh;
use super::ttest::{one_sample, welch};
use super::wilcoxon::{psignrank, signed_rank};
use super::{mean, sd};

use super::prec::{Tol, CLOSED, PVALUE as PVAL};
use crate::assert_close;

/// One paired dataset with its R results.
struct Case {
    name: &'static str,
    b: Vec<f64>,
    f: Vec<f64>,
    /// mean(b), sd(b), mean(f), sd(f), mean(d), sd(d)
    desc: [f64; 6],
    /// t, df, p, ci_low, ci_high of t.test(f, b, paired = TRUE); None when R stops or gives NaN.
    t: Option<[f64; 5]>,
    /// V and p of wilcox.test(f, b, paired = TRUE); p None when NaN.
    w: (f64, Option<f64>),
    /// d_z, g_av (n > 2)
    eff: Option<(Option<f64>, f64)>,
}

fn check(c: &Case) {
    let d: Vec<f64> = c.f.iter().zip(&c.b).map(|(f, b)| f - b).collect();
    let got = [mean(&c.b), sd(&c.b), mean(&c.f), sd(&c.f), mean(&d), sd(&d)];
    for (k, (g, w)) in got.iter().zip(c.desc).enumerate() {
        assert_close!(g.unwrap(), w, CLOSED, "{} desc[{k}]", c.name);
    }
    match (one_sample(&d), c.t) {
        (Some(t), Some([tv, df, p, lo, hi])) => {
            assert_close!(t.t, tv, CLOSED, "{} t", c.name);
            assert_close!(t.df, df, CLOSED, "{} df", c.name);
            assert_close!(t.p, p, PVAL, "{} p_t", c.name);
            assert_close!(t.ci_low, lo, CLOSED, "{} ci_low", c.name);
            assert_close!(t.ci_high, hi, CLOSED, "{} ci_high", c.name);
        }
        (None, None) => {}
        (g, w) => panic!("{}: t-test {g:?} vs R {w:?}", c.name),
    }
    let w = signed_rank(&d).expect("n >= 2");
    assert_close!(w.v, c.w.0, CLOSED, "{} V", c.name);
    match (w.p, c.w.1) {
        (Some(g), Some(r)) => {
            assert_close!(g, r, PVAL, "{} p_w", c.name);
        }
        (None, None) => {}
        (g, r) => panic!("{}: wilcoxon p {g:?} vs R {r:?}", c.name),
    }
    match c.eff {
        Some((dz, gav)) => {
            match (d_z(&d), dz) {
                (Some(g), Some(r)) => {
                    assert_close!(g, r, CLOSED, "{} d_z", c.name);
                }
                (None, None) => {}
                (g, r) => panic!("{}: d_z {g:?} vs {r:?}", c.name),
            }
            assert_close!(
                g_av(&c.b, &c.f, &d).unwrap(),
                gav,
                CLOSED,
                "{} g_av",
                c.name
            );
        }
        None => assert!(
            g_av(&c.b, &c.f, &d).is_none(),
            "{}: g_av must be empty for n <= 2",
            c.name
        ),
    }
}

#[test]
fn paired_statistics_match_r() {
    // Hollander & Wolfe data from R's ?wilcox.test: x = c(1.83, ...), y = c(0.878, ...);
    // R: b <- y; f <- x; t.test(f, b, paired = TRUE); wilcox.test(f, b, paired = TRUE)
    let hollander = Case {
        name: "hollander",
        b: vec![0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29],
        f: vec![1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30],
        desc: [
            1.3347777777777778,
            0.80233343719705741,
            1.7666666666666666,
            0.71559415872406329,
            0.43188888888888888,
            0.4268554920709246,
        ],
        t: Some([
            3.0353754156485913,
            8.0,
            0.016176627434908095,
            0.10377871227216852,
            0.75999906550560925,
        ]),
        w: (40.0, Some(0.0390625)),
        // R: mean(d)/sd(d); J <- sqrt(pi)/(beta((df-1)/2, 0.5)*sqrt(df/2)); J*mean(d)/((sd(b)+sd(f))/2)
        eff: Some((Some(1.0117918052161969), 0.5136839738936535)),
    };
    // R's sleep data: b <- sleep$extra[1:10]; f <- sleep$extra[11:20] (a zero and ties: normal
    // approximation with tie and continuity correction).
    let sleep = Case {
        name: "sleep",
        b: vec![0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0],
        f: vec![1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4],
        desc: [
            0.75,
            1.7890096577591625,
            2.3300000000000001,
            2.002248735796829,
            1.5800000000000001,
            1.2299954832798732,
        ],
        t: Some([
            4.0621276833820366,
            9.0,
            0.0028328901973842702,
            0.70011423672301754,
            2.4598857632769824,
        ]),
        w: (45.0, Some(0.0090906980159250559)),
        eff: Some((Some(1.2845575625910546), 0.76171137872663608)),
    };
    // R: i <- 1:49; b <- 10 + (i %% 5); f <- b + (i - 17.3) * 1.1  (49 untied: exact)
    let n = |k: usize| {
        let b: Vec<f64> = (1..=k).map(|i| 10.0 + (i % 5) as f64).collect();
        let f: Vec<f64> = b
            .iter()
            .zip(1..=k)
            .map(|(b, i)| b + (i as f64 - 17.3) * 1.1)
            .collect();
        (b, f)
    };
    let (b49, f49) = n(49);
    let n49 = Case {
        name: "n49",
        b: b49,
        f: f49,
        desc: [
            12.040816326530612,
            1.4136121532187997,
            20.510816326530612,
            15.853442296645269,
            8.4700000000000006,
            15.717559182858727,
        ],
        t: Some([
            3.7722142038860942,
            48.0,
            0.0004443292857240374,
            3.9553898859897609,
            12.984610114010239,
        ]),
        w: (936.0, Some(0.00098671543400286076)),
        eff: Some((Some(0.53888774341229917), 0.96563623690803724)),
    };
    // R: i <- 1:50; ... (50 untied: normal approximation)
    let (b50, f50) = n(50);
    let n50 = Case {
        name: "n50",
        b: b50,
        f: f50,
        desc: [
            12.0,
            1.4285714285714286,
            21.02,
            16.098627777749588,
            9.0199999999999996,
            16.035117710824579,
        ],
        t: Some([
            3.9775842505958598,
            49.0,
            0.00022923461619453537,
            4.4628699690797671,
            13.577130030920232,
        ]),
        w: (986.0, Some(0.00078128601882439231)),
        eff: Some((Some(0.5625153592674289), 1.0134091059417425)),
    };
    // R: b <- c(20,18,22,15,17,25,19,21,16,23,20,18); f <- c(12,12,15,15,10,14,13,12,14,10,15,12)
    let ties = Case {
        name: "ties",
        b: vec![
            20.0, 18.0, 22.0, 15.0, 17.0, 25.0, 19.0, 21.0, 16.0, 23.0, 20.0, 18.0,
        ],
        f: vec![
            12.0, 12.0, 15.0, 15.0, 10.0, 14.0, 13.0, 12.0, 14.0, 10.0, 15.0, 12.0,
        ],
        desc: [
            19.5,
            2.9387690682262932,
            12.833333333333334,
            1.80067327475704,
            -6.666666666666667,
            3.5248038845079628,
        ],
        t: Some([
            -6.5518569328315381,
            11.0,
            4.1250400849827919e-05,
            -8.9062202086683158,
            -4.4271131246650191,
        ]),
        w: (0.0, Some(0.0037702922077392292)),
        eff: Some((Some(-1.8913581819311021), -2.6162285002512133)),
    };
    // R: b <- c(10, 12); f <- c(7, 8)  (n = 2: t defined, exact p = 0.5, g_av empty)
    let n2 = Case {
        name: "n2",
        b: vec![10.0, 12.0],
        f: vec![7.0, 8.0],
        desc: [
            11.0,
            1.4142135623730951,
            7.5,
            0.70710678118654757,
            -3.5,
            0.70710678118654757,
        ],
        t: Some([
            -7.0,
            1.0,
            0.090334470601733094,
            -9.8531023680873471,
            2.8531023680873471,
        ]),
        w: (0.0, Some(0.5)),
        eff: None,
    };
    // R: b <- c(5, 7, 9); f <- b  (all differences zero: t and p NaN in R, empty here; V = 0)
    let allzero = Case {
        name: "allzero",
        b: vec![5.0, 7.0, 9.0],
        f: vec![5.0, 7.0, 9.0],
        desc: [7.0, 2.0, 7.0, 2.0, 0.0, 0.0],
        t: None,
        w: (0.0, None),
        eff: Some((None, 0.0)),
    };
    // R: b <- c(10, 11, 12, 13); f <- b - 3  (t.test stops: "data are essentially constant")
    let constant = Case {
        name: "constant",
        b: vec![10.0, 11.0, 12.0, 13.0],
        f: vec![7.0, 8.0, 9.0, 10.0],
        desc: [11.5, 1.2909944487358056, 8.5, 1.2909944487358056, -3.0, 0.0],
        t: None,
        w: (0.0, Some(0.071860638225851606)),
        eff: Some((None, -1.6814973649193785)),
    };
    for c in [hollander, sleep, n49, n50, ties, n2, allzero, constant] {
        check(&c);
    }
}

#[test]
fn exact_and_normal_wilcoxon_switch_at_50() {
    let d49: Vec<f64> = (1..=49).map(|i| (i as f64 - 17.3) * 1.1).collect();
    let d50: Vec<f64> = (1..=50).map(|i| (i as f64 - 17.3) * 1.1).collect();
    assert!(signed_rank(&d49).unwrap().exact);
    assert!(!signed_rank(&d50).unwrap().exact);
    assert!(signed_rank(&[1.0]).is_none());
    assert!(signed_rank(&[]).is_none());
}

#[test]
fn psignrank_matches_r() {
    // R: psignrank(c(0, 3, 10, 27, 50), 10)
    for (q, want) in [
        (0.0, 0.0009765625),
        (3.0, 0.0048828125),
        (10.0, 0.0419921875),
        (27.0, 0.5),
        (50.0, 0.9931640625),
    ] {
        assert_close!(psignrank(q, 10), want, CLOSED, "psignrank({q}, 10)");
    }
    // R: psignrank(400, 49)
    assert_close!(
        psignrank(400.0, 49),
        0.017063075357777183,
        CLOSED,
        "psignrank(400, 49)"
    );
}

#[test]
fn hedges_j_is_accurate_at_every_df() {
    // R: sqrt(pi) / (beta((df - 1)/2, 0.5) * sqrt(df/2))
    for (df, want) in [
        (2.0, 0.56418958354775617),
        (3.0, 0.72360125455826763),
        (10.0, 0.92274560805308692),
        (100.0, 0.99247805498142161),
        (319.0, 0.99764675101336775),
        (320.0, 0.99765411162648987),
        (1000.0, 0.99924978117971575),
        (1e6, 0.99999924999978151),
    ] {
        assert_close!(hedges_j(df), want, Tol::rel(1e-13), "J({df})");
    }
}

#[test]
fn benjamini_hochberg_matches_r() {
    // R: p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.5, 0.04, 0.2, 0.0001), "BH")
    let q = bh(&[0.01, 0.04, 0.03, 0.005, 0.5, 0.04, 0.2, 0.0001]);
    let want = [
        0.026666666666666665,
        0.05333333333333333,
        0.05333333333333333,
        0.02,
        0.5,
        0.05333333333333333,
        0.22857142857142856,
        0.00080000000000000004,
    ];
    for (g, w) in q.iter().zip(want) {
        assert_close!(*g, w, CLOSED, "bh");
    }
    assert!(bh(&[]).is_empty());
}

#[test]
fn welch_matches_r() {
    // R: t.test(c(18, 21, 15, 22, 19, 24), c(16, 15, 17, 14, 18, 13, 15, 16))
    let (t, df, p) = welch(
        &[18.0, 21.0, 15.0, 22.0, 19.0, 24.0],
        &[16.0, 15.0, 17.0, 14.0, 18.0, 13.0, 15.0, 16.0],
    )
    .unwrap();
    assert_close!(t, 3.0520420426201955, CLOSED, "welch t");
    assert_close!(df, 6.8995377004800211, CLOSED, "welch df");
    assert_close!(p, 0.018861778666834778, PVAL, "welch p");
    assert!(welch(&[1.0], &[2.0, 3.0]).is_none());
}
