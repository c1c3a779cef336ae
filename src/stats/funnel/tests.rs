//! Reference tests of `stats::funnel` against R 4.2.2 (`Rscript`, values printed with %.17g).

use super::*;
use crate::stats::glm::tests::{design, make};

use crate::assert_close;
/// Expected values, ratios and ratio limits against R (SPEC §14 B4: R's glm stops within
/// ~1e-8 of the optimum).
use crate::stats::prec::GLM as CASE_MIX;
use crate::stats::prec::{Tol, DISTRIBUTION as DIST};

fn close_limits(got: Limits, want: [f64; 4], rel: Tol, what: &str) {
    let got = [got.low_998, got.low_95, got.high_95, got.high_998];
    for (k, (g, w)) in got.into_iter().zip(want).enumerate() {
        assert_close!(g, w, rel, "{what} limit at P = {}", PROBS[k]);
    }
}

#[test]
fn binomial_limits_match_r() {
    // R: lim <- function(P, n, p0) { r <- qbinom(P, n, p0)
    //   a <- (pbinom(r, n, p0) - P) / (pbinom(r, n, p0) - pbinom(r - 1, n, p0)); (r - a) / n }
    // (n, p0, sapply(c(0.001, 0.025, 0.975, 0.999), lim, n = n, p0 = p0))
    #[rustfmt::skip]
    let cases: [(u64, f64, [f64; 4]); 15] = [
        (1, 0.38, [-0.99838709677419357, -0.95967741935483863, 0.93421052631578938, 0.99736842105263157]),
        (2, 0.38, [-0.4986992715920916, -0.46748178980228927, 0.9134349030470913, 0.99653739612188363]),
        (5, 0.38, [-0.19781691046304517, -0.14542276157612918, 0.74716370569841073, 0.97475868291211309]),
        (37, 0.38, [0.13437998159579273, 0.21358396586543316, 0.52708080075952246, 0.61901224418247214]),
        (100, 0.38, [0.22947077868265692, 0.28104536101446898, 0.47123159754349586, 0.5278896562527049]),
        (1000, 0.38, [0.33242019876927187, 0.34952141578921586, 0.409703414440305, 0.42725801552667042]),
        (12345, 0.38, [0.36648755951419304, 0.37140656745209577, 0.38853117877565796, 0.39348692213144443]),
        (100000, 0.38, [0.37525515023773115, 0.37698773205922537, 0.38300454575143755, 0.38474167828997829]),
        (1000000, 0.38, [0.3784998859178067, 0.37904827355229082, 0.38095095345274266, 0.38149979823758873]),
        (1, 1e-5, [-0.99899998999990003, -0.97499974999749994, -0.024990249902498984, -0.00099000990009893639]),
        (500, 1e-5, [-0.0019979899749080305, -0.0019497493727007559, -4.022553532948023e-05, 0.0016029973454250632]),
        (1000000, 1e-5, [1.2205451526197995e-06, 3.775214351051918e-06, 1.6159902231825355e-05, 2.0661928933804852e-05]),
        (20, 0.999, [0.90206963497141179, 0.95026468699123812, 0.99872473556387786, 0.99994898942255506]),
        (1000000, 0.99999, [0.99997833807106629, 0.99998284009776828, 0.99999522478564895, 0.99999777945484747]),
        (250, 0.5, [0.40046896137316002, 0.43607017011701898, 0.55992982988298101, 0.59553103862684031]),
    ];
    for (n, p0, want) in cases {
        let got = binomial_limits(n, p0).expect("n > 0");
        close_limits(got, want, DIST, &format!("n = {n}, p0 = {p0}"));
    }
    // p0 = 0 or 1: every limit is p0 (SPEC §14 B2).
    assert_eq!(binomial_limits(40, 0.0).unwrap().high_998, 0.0);
    assert_eq!(binomial_limits(40, 1.0).unwrap().low_998, 1.0);
    assert_eq!(binomial_limits(0, 0.3), None);
    assert_eq!(binomial_limits(10, 1.2), None);
}

#[test]
fn flags_match_r_tail_tests() {
    // R: up <- pbinom(O - 1, n, p0, lower.tail = FALSE); lo <- pbinom(O, n, p0)
    //    if (up < .001) "high_998" else if (up < .025) "high_95" else
    //    if (lo < .001) "low_998" else if (lo < .025) "low_95" else "within"
    let cases = [
        (1, 1, 0.38, Flag::Within),        // 1/1: up 0.38, lo 1 — not an outlier
        (0, 1, 0.38, Flag::Within),        // up 1, lo 0.62
        (0, 50, 0.38, Flag::Low998),       // up 1, lo 4.1647072114817783e-11
        (50, 50, 0.38, Flag::High998),     // up 9.753934409407174e-22, lo 1
        (12, 50, 0.38, Flag::Within),      // up 0.98776939429597976, lo 0.026437684818975626
        (11, 50, 0.38, Flag::Low95),       // up 0.99490169312292087, lo 0.012230605704020313
        (9, 50, 0.38, Flag::Low95),        // up 0.99937533010198598, lo 0.0018981570086753473
        (27, 50, 0.38, Flag::High95),      // up 0.01553421375390155, lo 0.99264598056115516
        (30, 50, 0.38, Flag::High95),      // up 0.001320768138180204, lo 0.99950077783093128
        (3, 10, 0.05, Flag::High95),       // up 0.011503557379296874, lo 0.99897150206210938
        (4, 10, 0.05, Flag::High95),       // up 0.0010284979378906256, lo 0.99993631016855467
        (380, 1000, 0.38, Flag::Within),   // up 0.51195348868796287, lo 0.51403045109300605
        (349, 1000, 0.38, Flag::Low95),    // up 0.98036231560541554, lo 0.023000873382139769
        (412, 1000, 0.38, Flag::High95),   // up 0.02045174029926149, lo 0.98252879374138824
        (1, 1000, 1e-5, Flag::High95),     // up 0.0099502157536524097, lo 0.99995038109477963
        (999, 1000, 0.9999, Flag::Within), // up 0.99532523214826085, lo 0.095167106441443675
    ];
    for (o, n, p0, want) in cases {
        assert_eq!(flag(o, n, p0), Some(want), "flag({o}, {n}, {p0})");
    }
    // 5 of 1000 against 1e-5: R: pbinom(4, 1000, 1e-5, lower.tail = FALSE) =
    // 8.1821731639925568e-13 < .001.
    assert_eq!(flag(5, 1000, 1e-5), Some(Flag::High998));
    assert_eq!(flag(3, 10, 0.0), Some(Flag::Within));
    assert_eq!(flag(0, 10, 1.0), Some(Flag::Within));
    assert_eq!(flag(0, 0, 0.5), None);
    assert_eq!(flag(11, 10, 0.5), None);
    assert_eq!(Flag::High998.as_str(), "high_998");
    assert_eq!(Flag::Low95.as_str(), "low_95");
}

#[test]
fn poisson_limits_match_r() {
    // R: plim <- function(P, E) { r <- qpois(P, E)
    //   a <- (ppois(r, E) - P) / (ppois(r, E) - ppois(r - 1, E)); (r - a) / E }
    // (E, sapply(c(0.001, 0.025, 0.975, 0.999), plim, E = E))
    #[rustfmt::skip]
    let cases: [(f64, [f64; 4]); 11] = [
        (0.1, [-9.9889482908192431, -9.7237072704810874, 7.7541645123756364, 18.131494315143851]),
        (0.5, [-1.9967025574585997, -1.9175639364649935, 3.7200518229219992, 6.9517179618007328]),
        (1.0, [-0.99728171817154099, -0.9320429542885238, 2.9019486964854146, 4.8676255956703329]),
        (3.7, [-0.25933856638917097, 0.00081684506951682618, 2.0203985192954894, 2.8430351326530525]),
        (10.0, [0.12205293158961342, 0.37751879476884026, 1.6159950673344787, 2.0662000835994991]),
        (21.733, [0.38135104057883157, 0.57744623213133783, 1.4190323950460313, 1.7015389362094053]),
        (100.0, [0.70065284264843997, 0.80366337121747122, 1.1958089485211729, 1.3180475039762412]),
        (1000.0, [0.90321076757753493, 0.93799914431637998, 1.0619495993502104, 1.09864235648261]),
        (4096.5, [0.95194439388338725, 0.96937148069650603, 1.0306157977504224, 1.048506798931319]),
        (12345.6, [0.97226294278931424, 0.98235812946308088, 1.0176376375227094, 1.0278868589048666]),
        (100000.0, [0.99023708224144424, 0.9938017859194237, 1.0061976865728726, 1.0097814120727691]),
    ];
    for (e, want) in cases {
        close_limits(
            poisson_limits(e).expect("E > 0"),
            want,
            DIST,
            &format!("E = {e}"),
        );
    }
    assert_eq!(poisson_limits(0.0), None);
    assert_eq!(poisson_limits(f64::NAN), None);
}

#[test]
fn case_mix_matches_r() {
    // d <- make(500, 20240601, 0:2) (see glm::tests::make);
    // m <- glm(improved ~ baseline + factor(track), family = binomial, data = d)
    // O <- tapply(d$improved, d$site, sum); E <- tapply(fitted(m), d$site, sum); O / E;
    // plim(P, E[u]) for P in c(0.001, 0.025, 0.975, 0.999)
    // (site, n, O, E, O/E, limits)
    #[rustfmt::skip]
    let want: [(u64, u64, f64, f64, [f64; 4]); 8] = [
        (60, 15, 21.733182316885955, 0.69018884493254828, [0.38135273070734921, 0.5774482589958414, 1.4190294524103013, 1.7015331710804213]),
        (64, 28, 25.751365516982677, 1.0873209803780843, [0.43023477722516229, 0.61271634122770036, 1.3856184247933787, 1.6436761928258123]),
        (55, 20, 19.833113022953547, 1.0084145629006052, [0.35744793468865232, 0.5593949095953088, 1.4396242581429453, 1.7393641131867361]),
        (61, 26, 22.751462249598134, 1.1427836907695568, [0.3974492909557461, 0.58716336829632232, 1.4087675627251022, 1.6873233610829497]),
        (54, 16, 18.548817139346731, 0.86258869661612836, [0.3352024462924233, 0.5443730726582906, 1.4525064688458844, 1.7654239734579331]),
        (63, 19, 25.491473934922006, 0.74534725016316061, [0.427784128343213, 0.61005699611586894, 1.3876037314041409, 1.6455827001481982]),
        (74, 33, 27.627913673902068, 1.1944441549045566, [0.44654372802008246, 0.62576536867918098, 1.3715483034542306, 1.6202010834204879]),
        (69, 33, 28.262672145413521, 1.1676178328154032, [0.45379081920976411, 0.63054962016650606, 1.3681251932769611, 1.6132970614514697]),
    ];
    let d = make(500, 20240601, &[0, 1, 2]);
    let cm = case_mix(&d.improved, &design(&d, &[1, 2]), &d.site, 8);
    assert_eq!(cm.unusable, None);
    for (u, (got, (n, o, e, ratio, limits))) in cm.units.iter().zip(want).enumerate() {
        assert_eq!((got.n, got.observed), (n, o), "site {u}");
        assert_close!(got.expected.unwrap(), e, CASE_MIX, "site {u} E");
        assert_close!(got.ratio.unwrap(), ratio, CASE_MIX, "site {u} O/E");
        close_limits(got.limits.unwrap(), limits, CASE_MIX, &format!("site {u}"));
    }
}

#[test]
fn case_mix_is_empty_where_the_spec_says() {
    let d = make(500, 20240601, &[0, 1, 2]);
    let x = design(&d, &[1, 2]);
    // A ninth unit with no rows: E = 0, no ratio.
    let cm = case_mix(&d.improved, &x, &d.site, 9);
    assert_eq!(cm.units[8].expected, Some(0.0));
    assert_eq!((cm.units[8].ratio, cm.units[8].limits), (None, None));
    // Everybody improved / nobody improved.
    for all in [true, false] {
        let cm = case_mix(&vec![all; 500], &x, &d.site, 8);
        assert_eq!(cm.unusable, Some(Unusable::NoVariation));
        assert!(cm.fit.is_none());
        assert!(cm
            .units
            .iter()
            .all(|u| u.expected.is_none() && u.ratio.is_none()));
        assert_eq!(cm.units[6].observed, if all { 74 } else { 0 });
    }
    // R: x <- 1:10; glm(x > 5 ~ x, binomial) does not converge (and fits 0/1).
    let sep = DMatrix::from_fn(10, 2, |i, j| if j == 0 { 1.0 } else { i as f64 + 1.0 });
    let y: Vec<bool> = (1..=10).map(|i| i > 5).collect();
    let cm = case_mix(&y, &sep, &[0; 10], 1);
    assert_eq!(cm.unusable, Some(Unusable::NotConverged));
    assert!(cm.units[0].ratio.is_none());
    // R: x <- c(1, 2, 3, 4, 5, 5, 6, 7, 8, 9); y <- rep(0:1, each = 5);
    // glm(y ~ x, binomial) converges, with fitted probabilities numerically 0 or 1.
    let xq = [1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    let quasi = DMatrix::from_fn(10, 2, |i, j| if j == 0 { 1.0 } else { xq[i] });
    let y: Vec<bool> = (0..10).map(|i| i >= 5).collect();
    let cm = case_mix(&y, &quasi, &[0, 0, 0, 0, 0, 1, 1, 1, 1, 1], 2);
    assert_eq!(cm.unusable, Some(Unusable::FittedBoundary));
    assert!(cm.fit.as_ref().unwrap().converged);
    assert!(cm.units.iter().all(|u| u.ratio.is_none()));
    assert_eq!((cm.units[1].n, cm.units[1].observed), (5, 5));
}
