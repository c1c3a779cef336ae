//! Statuses, invariances and input handling of the mixed model (no R values needed; R's
//! behaviour is noted where it has one). The R comparisons are in `reference_tests.rs`.

use super::reference_tests::{Data, THREE_ARMS};
use super::*;

/// Same data in another row order with other group labels: same fit to rounding.
const INVARIANCE_REL: f64 = 1e-12;
/// Two paths to one optimum of a 200,000-group model: same fit to rounding, except that with
/// df ~ 1e5 statrs's t tail (hence qt, the CI) is smooth only to ~1e-12.
const PILOT_REL: f64 = 1e-11;

fn stats(g: &[usize], arm: &[usize], t: &[f64], y: &[f64]) -> Vec<GroupStats> {
    group_stats(g, arm, t, y).expect("valid rows")
}

/// Every statistic of `a` and `b`, flattened.
fn numbers(f: &LmmFit) -> Vec<f64> {
    let mut v = Vec::new();
    for a in &f.arms {
        for c in [a.intercept, a.slope].into_iter().flatten() {
            v.extend([c.estimate, c.se, c.df.unwrap(), c.t, c.p.unwrap()]);
        }
        if let Some((lo, hi)) = a.slope_ci {
            v.extend([lo, hi]);
        }
    }
    let m = f.model.as_ref().unwrap();
    v.extend([m.sd_intercept, m.sigma, m.reml_criterion]);
    v.extend(m.sd_slope);
    v.extend(m.corr);
    v.extend(&m.theta);
    v
}

fn assert_same(a: &LmmFit, b: &LmmFit, rel: f64) {
    assert_eq!(a.status, b.status);
    assert_eq!(
        (a.n_groups, a.n_obs, a.random_part),
        (b.n_groups, b.n_obs, b.random_part)
    );
    let (x, y) = (numbers(a), numbers(b));
    assert_eq!(x.len(), y.len());
    for (i, (p, q)) in x.iter().zip(&y).enumerate() {
        let e = (p - q).abs() / q.abs().max(1e-300);
        assert!(
            e <= rel || (p - q).abs() < 1e-300,
            "value {i}: {p:e} vs {q:e} ({e:e})"
        );
    }
}

#[test]
fn rows_reordered_and_groups_relabelled_give_the_same_fit() {
    let d: &Data = &THREE_ARMS;
    let n = d.y.len();
    // A fixed permutation of the rows (multiplication by a unit mod n) and new group labels.
    let step = (2..n).find(|s| gcd(*s, n) == 1 && *s > n / 3).unwrap();
    let perm: Vec<usize> = (0..n).map(|i| (i * step + 5) % n).collect();
    let g: Vec<usize> = perm.iter().map(|&i| 1000 - 7 * d.g[i]).collect();
    let arm: Vec<usize> = perm.iter().map(|&i| d.arm[i]).collect();
    let t: Vec<f64> = perm.iter().map(|&i| d.t[i]).collect();
    let y: Vec<f64> = perm.iter().map(|&i| d.y[i]).collect();
    for random in [RandomPart::InterceptSlope, RandomPart::Intercept] {
        let a = fit(&d.stats(), 3, random);
        let b = fit(&stats(&g, &arm, &t, &y), 3, random);
        assert_eq!(a.status, Status::Ok);
        assert_same(&a, &b, INVARIANCE_REL);
        // Groups passed in reverse order.
        let mut rev = d.stats();
        rev.reverse();
        assert_same(&a, &fit(&rev, 3, random), INVARIANCE_REL);
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[test]
fn too_few_groups_with_two_observations() {
    // R: lmer(y ~ 1 + t + (1 | g)) on these 4 rows fits (singular, theta = 0); SPEC L2 calls
    // it too_few.
    let s = stats(
        &[1, 1, 2, 3],
        &[0; 4],
        &[0.0, 1.0, 0.0, 2.0],
        &[10.0, 12.0, 11.0, 9.0],
    );
    let f = fit(&s, 1, RandomPart::Intercept);
    assert_eq!(f.status, Status::TooFew);
    assert_eq!((f.n_groups, f.n_obs), (3, 4));
    assert_eq!((f.arms[0].n_groups, f.arms[0].n_obs), (3, 4));
    assert!(f.model.is_none() && f.arms[0].intercept.is_none());
    assert_eq!(f.status.label(), "too_few");
    assert_eq!(fit(&[], 2, RandomPart::Intercept).status, Status::TooFew);
}

#[test]
fn one_group_per_arm_is_unidentified() {
    // R: lmer(y ~ 0 + armf + armf:t + (1 + t | g)) warns "Hessian is numerically singular:
    // parameters are not uniquely determined" (REML does not depend on theta).
    let g = [1, 1, 1, 1, 2, 2, 2, 2];
    let arm = [0, 0, 0, 0, 1, 1, 1, 1];
    let t = [0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0];
    let y = [10.0, 12.0, 11.0, 9.0, 8.0, 7.0, 7.0, 5.0];
    for random in [RandomPart::InterceptSlope, RandomPart::Intercept] {
        let f = fit(&stats(&g, &arm, &t, &y), 2, random);
        assert_eq!(f.status, Status::Unidentified);
        assert_eq!((f.arms[1].n_groups, f.arms[1].n_obs), (1, 4));
        assert!(f.model.is_none());
    }
    // R: "number of observations (=8) <= number of random effects (=8) for term (1 + t | g)".
    let g = [1, 1, 2, 2, 3, 3, 4, 4];
    let t = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0];
    let y = [1.0, 2.0, 4.0, 3.0, 5.0, 7.0, 6.0, 6.0];
    let s = stats(&g, &[0; 8], &t, &y);
    assert_eq!(random_part_for(8, 4), RandomPart::Intercept);
    assert_eq!(random_part_for(9, 4), RandomPart::InterceptSlope);
    assert_eq!(
        fit(&s, 1, RandomPart::InterceptSlope).status,
        Status::Unidentified
    );
    assert_eq!(fit(&s, 1, RandomPart::Intercept).status, Status::Ok);
}

#[test]
fn y_in_the_span_of_the_design_is_degenerate() {
    let g = [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4];
    let t = [0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.0];
    let arm = [0; 12];
    // R: all y equal: REMLcrit(fit) = -Inf, sigma 0 ("not a positive definite matrix").
    let s = stats(&g, &arm, &t, &[5.0; 12]);
    for random in [RandomPart::InterceptSlope, RandomPart::Intercept] {
        assert_eq!(fit(&s, 1, random).status, Status::Degenerate);
    }
    // Each group on its own line. R: theta runs off to (8.5e6, -2.7e6, 2.0e6), sigma 2.8e-7,
    // REMLcrit -80.8, "Model failed to converge".
    let y = [1.0, 2.0, 3.0, 5.0, 5.0, 5.0, 2.0, 4.0, 6.0, 9.0, 8.0, 7.0];
    let s = stats(&g, &arm, &t, &y);
    assert_eq!(
        fit(&s, 1, RandomPart::InterceptSlope).status,
        Status::Degenerate
    );
    // (1 | g) needs one slope per arm for that: these lines have four.
    assert_eq!(fit(&s, 1, RandomPart::Intercept).status, Status::Ok);
    // Lines with one common slope (0.1 is not exact in binary: rounding is not residual).
    let y: Vec<f64> = g
        .iter()
        .zip(&t)
        .map(|(&g, &t)| 0.3 * g as f64 + 0.1 * t)
        .collect();
    let s = stats(&g, &arm, &t, &y);
    assert_eq!(fit(&s, 1, RandomPart::Intercept).status, Status::Degenerate);
    // One score off by 1e-6 is data, not rounding.
    let mut y2 = y.clone();
    y2[4] += 1e-6;
    let s = stats(&g, &arm, &t, &y2);
    assert_eq!(fit(&s, 1, RandomPart::Intercept).status, Status::Ok);
}

#[test]
fn an_arm_without_data_has_no_coefficients() {
    let d: &Data = &THREE_ARMS;
    let s: Vec<GroupStats> = d.stats().into_iter().filter(|g| g.arm() != 1).collect();
    let f = fit(&s, 3, RandomPart::InterceptSlope);
    assert_eq!(f.status, Status::Ok);
    assert_eq!((f.arms[1].n_groups, f.arms[1].n_obs), (0, 0));
    assert!(f.arms[1].intercept.is_none() && f.arms[1].slope.is_none());
    assert!(f.arms[0].slope.is_some() && f.arms[2].slope.is_some());
}

#[test]
fn group_stats_checks_its_input() {
    assert_eq!(
        group_stats(&[1, 2], &[0], &[0.0, 1.0], &[1.0, 2.0]),
        Err(InputError::LengthMismatch)
    );
    assert_eq!(
        group_stats(&[1, 2], &[0, 0], &[0.0, f64::NAN], &[1.0, 2.0]),
        Err(InputError::NonFinite { row: 1 })
    );
    assert_eq!(
        group_stats(&[4, 4], &[0, 1], &[0.0, 1.0], &[1.0, 2.0]),
        Err(InputError::MixedArm { group: 4 })
    );
    assert!(GroupStats::new(0, &[], &[]).is_none());
    assert!(GroupStats::new(0, &[1.0], &[f64::INFINITY]).is_none());
    // Rows of a group need not be contiguous; groups come out in id order.
    let s = stats(&[9, 3, 9], &[1, 0, 1], &[0.0, 2.0, 1.0], &[5.0, 1.0, 7.0]);
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].arm(), s[0].n()), (0, 1));
    assert_eq!((s[1].arm(), s[1].n()), (1, 2));
    assert_eq!(s[1].slope, 2.0);
    assert_eq!(s[1].rss, 0.0);
}

/// A deterministic synthetic data set: `n_groups` groups over `n_arms` arms, 1..=13 (mean
/// ~7.4) observations each at integer days / 7, scores with group intercepts and slopes.
fn synthetic(n_groups: usize, n_arms: usize) -> Vec<GroupStats> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let normal =
        move |u: f64, v: f64| (-2.0 * u.max(1e-300).ln()).sqrt() * (6.283185307179586 * v).cos();
    let (mut t, mut y) = (Vec::new(), Vec::new());
    (0..n_groups)
        .map(|g| {
            let arm = g % n_arms;
            let n = 1 + (next() * 13.8) as usize;
            let b0 = 3.0 * normal(next(), next());
            let b1 = 0.3 * normal(next(), next());
            t.clear();
            y.clear();
            let mut day = (next() * 14.0) as usize;
            for _ in 0..n {
                let tt = day as f64 / 7.0;
                t.push(tt);
                y.push(
                    (15.0 - arm as f64 + b0 + (-0.5 + b1) * tt + 2.0 * normal(next(), next()))
                        .round(),
                );
                day += 1 + (next() * 16.0) as usize;
            }
            GroupStats::new(arm, &t, &y).unwrap()
        })
        .collect()
}

#[test]
fn thread_count_does_not_change_the_fit() {
    let s = synthetic(100_000, 3);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let a = one.install(|| fit(&s, 3, RandomPart::InterceptSlope));
    let b = two.install(|| fit(&s, 3, RandomPart::InterceptSlope));
    assert_eq!(a.status, Status::Ok);
    assert_eq!(numbers(&a), numbers(&b));
}

#[test]
fn the_pilot_start_changes_nothing_but_the_start() {
    let s = synthetic(setup::PILOT_MIN, 2);
    for random in [RandomPart::InterceptSlope, RandomPart::Intercept] {
        let piloted = fit(&s, 2, random);
        let plain = fit_with(&s, 2, random, usize::MAX);
        assert_eq!(piloted.status, Status::Ok);
        assert_same(&piloted, &plain, PILOT_REL);
        let mut rev = s.clone();
        rev.reverse();
        assert_same(&piloted, &fit(&rev, 2, random), PILOT_REL);
    }
}

/// The speed target: 1,000,000 groups, ~7.4 M observations (statistics built first, not timed).
/// `cargo test --release --lib lmm::tests::speed -- --ignored --nocapture`
#[test]
#[ignore]
fn speed_one_million_groups() {
    let s = synthetic(1_000_000, 3);
    let n: usize = s.iter().map(|g| g.n()).sum();
    for (threads, random) in [
        (1, RandomPart::InterceptSlope),
        (1, RandomPart::Intercept),
        (2, RandomPart::InterceptSlope),
        (2, RandomPart::Intercept),
    ] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        // The fastest of five (the machine is shared).
        let (mut el, mut f) = (std::time::Duration::MAX, None);
        for _ in 0..5 {
            let start = std::time::Instant::now();
            f = Some(pool.install(|| fit(&s, 3, random)));
            el = el.min(start.elapsed());
        }
        let f = f.unwrap();
        assert_eq!(f.status, Status::Ok);
        eprintln!(
            "{} groups, {n} obs, {random:?}, {threads} thread(s): {el:?}; theta {:?}",
            s.len(),
            f.model.unwrap().theta
        );
    }
}
