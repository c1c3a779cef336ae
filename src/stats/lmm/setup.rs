//! From group statistics to the optimiser's problem, in two passes over the groups: per-arm
//! sums (counts, aliasing, statuses, reference lines), then the compact per-arm arrays the
//! REML passes read, the `degenerate` test, and the pilot subsample.

use super::data::GroupStats;
use super::reml::{ArmData, Compact, Problem};
use super::{RandomPart, Status, DEGENERATE_REL, RANK_TOL};

/// Models with at least this many groups start from a pilot fit.
pub(super) const PILOT_MIN: usize = 200_000;
/// About this many groups make the pilot.
const PILOT_GROUPS: u64 = 50_000;

/// Per-arm sums over the groups.
#[derive(Debug, Clone, Default)]
pub(super) struct ArmSums {
    pub n_groups: usize,
    pub n_obs: usize,
    n: f64,
    nt: f64,
    ntt: f64,
    ny: f64,
    stt: f64,
    stt_slope: f64,
}

/// A model ready to optimise.
pub(super) struct Prepared {
    pub prob: Problem,
    /// The arm index of each of `prob.arms`.
    pub present: Vec<usize>,
    /// The same model over a fixed subsample of ~50,000 groups, for large models.
    pub pilot: Option<Problem>,
}

/// Per-arm sums, and the problem or the status that stops the fit (module doc of `lmm`); a
/// pilot problem when there are at least `pilot_min` groups.
/// Panics if a group's arm is ≥ `n_arms`.
pub(super) fn prepare(
    groups: &[GroupStats],
    n_arms: usize,
    random: RandomPart,
    pilot_min: usize,
) -> (Vec<ArmSums>, Result<Prepared, Status>) {
    let mut sums = vec![ArmSums::default(); n_arms];
    let mut with_two = 0;
    for g in groups {
        assert!(g.arm < n_arms, "group arm {} >= n_arms {n_arms}", g.arm);
        let s = &mut sums[g.arm];
        let n = g.n as f64;
        s.n_groups += 1;
        s.n_obs += g.n;
        s.n += n;
        s.nt += n * g.t_mean;
        s.ntt += n * g.t_mean * g.t_mean;
        s.ny += n * g.y_mean;
        s.stt += g.stt;
        s.stt_slope += g.stt * g.slope;
        with_two += (g.n >= 2) as usize;
    }
    if with_two < 2 {
        return (sums, Err(Status::TooFew));
    }
    let n_obs: usize = sums.iter().map(|s| s.n_obs).sum();
    let present: Vec<usize> = (0..n_arms).filter(|&a| sums[a].n_groups > 0).collect();
    // Slope estimable: R's pivoted QR (dqrdc2, tol 1e-7) keeps arm:t when its part orthogonal
    // to the arm's indicator, t − t̄_arm, has norm ≥ 1e-7 of the column's norm.
    let slope_kept: Vec<bool> = sums
        .iter()
        .map(|s| {
            if s.n_groups == 0 {
                return false;
            }
            let stt = s.stt + (s.ntt - s.nt * s.nt / s.n).max(0.0);
            stt > 0.0 && stt.sqrt() >= RANK_TOL * (s.stt + s.ntt).sqrt()
        })
        .collect();
    let n_fixed: usize = present.iter().map(|&a| 1 + slope_kept[a] as usize).sum();
    if present.iter().all(|&a| sums[a].n_groups == 1)
        || (random == RandomPart::InterceptSlope && n_obs <= 2 * groups.len())
        || n_obs <= n_fixed
    {
        return (sums, Err(Status::Unidentified));
    }
    // Each arm's reference line (in the span of its kept columns): the pooled within-group
    // slope through the weighted means. It is also the common slope of the (1 | g) degenerate
    // test.
    let shift: Vec<[f64; 2]> = sums
        .iter()
        .zip(&slope_kept)
        .map(|(s, &kept)| {
            if s.n_groups == 0 {
                return [0.0, 0.0];
            }
            let delta = if kept && s.stt > 0.0 {
                s.stt_slope / s.stt
            } else {
                0.0
            };
            [(s.ny - delta * s.nt) / s.n, delta]
        })
        .collect();
    let use_pilot = groups.len() >= pilot_min;
    let every = (groups.len() as u64 / PILOT_GROUPS).max(1);
    let mut full: Vec<Vec<Compact>> = sums
        .iter()
        .map(|s| Vec::with_capacity(s.n_groups))
        .collect();
    let mut pilot: Vec<Vec<Compact>> = vec![Vec::new(); n_arms];
    let (mut resid, mut scale, mut rss_within) = (0.0, 0.0, 0.0);
    let (mut pilot_obs, mut pilot_rss) = (0, 0.0);
    for g in groups {
        let [alpha, delta] = shift[g.arm];
        let c = Compact {
            n: g.n as f64,
            tb: g.t_mean,
            stt: g.stt,
            g0: g.y_mean - g.slope * g.t_mean - alpha,
            g1: g.slope - delta,
        };
        rss_within += g.rss;
        resid += g.rss;
        scale += g.scale;
        if random == RandomPart::Intercept {
            // Distance from lines with one slope per arm (exactly: no cancellation).
            resid += g.stt * c.g1 * c.g1;
        }
        full[g.arm].push(c);
        if use_pilot && splitmix64(key(g)).is_multiple_of(every) {
            pilot[g.arm].push(c);
            pilot_obs += g.n;
            pilot_rss += g.rss;
        }
    }
    if resid <= DEGENERATE_REL * scale {
        return (sums, Err(Status::Degenerate));
    }
    let problem = |arrays: Vec<Vec<Compact>>, n_obs: usize, rss_within: f64| {
        let mut n_fixed = 0;
        let arms: Vec<ArmData> = arrays
            .into_iter()
            .enumerate()
            .filter(|(_, groups)| !groups.is_empty())
            .map(|(a, groups)| {
                n_fixed += 1 + slope_kept[a] as usize;
                ArmData {
                    groups,
                    slope_kept: slope_kept[a],
                    shift: shift[a],
                }
            })
            .collect();
        Problem {
            arms,
            nmp: n_obs as f64 - n_fixed as f64,
            rss_within,
            n_theta: match random {
                RandomPart::InterceptSlope => 3,
                RandomPart::Intercept => 1,
            },
        }
    };
    let pilot = use_pilot
        .then(|| problem(pilot, pilot_obs, pilot_rss))
        .filter(|p| p.nmp >= 1.0);
    let prepared = Prepared {
        prob: problem(full, n_obs, rss_within),
        present,
        pilot,
    };
    (sums, Ok(prepared))
}

/// The pilot's choice of a group: a hash of its statistics, not its position, so the pilot
/// does not depend on the order of the groups.
fn key(g: &GroupStats) -> u64 {
    (g.n as u64)
        ^ g.t_mean.to_bits().rotate_left(13)
        ^ g.stt.to_bits().rotate_left(29)
        ^ g.y_mean.to_bits().rotate_left(43)
}

/// SplitMix64's output function (a fixed, well-mixed hash of 64 bits).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
