//! The generative model behind `synth`: tracks, modalities, instruments and planted effects.
//!
//! Scores are generated so that their expectation is known in closed form, which is what lets
//! later analyses be checked for recovering the planted effects:
//!
//! * baseline B: a discrete triangular draw on `[base_lo, base_hi]` scale units
//!   (episodes that will leave early start `left_early_shift` units higher: the retention-bias
//!   signal that the attrition table should find);
//! * symptom follow-up: X = B + δ(instrument, modality) + σ·Z with Z standard normal, then
//!   F = clamp(⌊X + V⌋, min, max) with V ~ U(0,1) (dithered rounding). Dithering makes
//!   E[⌊X + V⌋ | X] = X exactly, and clamping the dithered integer gives
//!   E[F | B] = E[clamp(X, min, max)], which has a closed form for normal X
//!   ([`expected_followup`]). Away from the scale ends E[F − B | B] = δ;
//! * days-of-use follow-up: abstinent (0 days) with probability p(modality) (0.75 for clients
//!   abstinent at baseline), otherwise X = 0.45·B + 2 + 3·Z (B = 0: X = 3 + 2·Z) as above.
//!
//! δ = `base_delta` × the modality multiplier of [`MODALITY_EFFECTS`]. The tables are the
//! documented planted effects (data/README.md repeats them). Pure functions, no I/O.

use statrs::distribution::{Continuous, ContinuousCDF, Normal};

/// Clinical tracks and their mix (shares sum to 1).
pub const TRACKS: &[(&str, f64)] = &[
    ("mental_health", 0.30),
    ("substance_use", 0.25),
    ("co_occurring", 0.25),
    ("eating_disorder", 0.08),
    ("adolescent", 0.12),
];

/// Modalities offered on each track (chosen with equal probability).
pub fn modalities_for(track: &str) -> &'static [&'static str] {
    match track {
        "mental_health" => &["CBT", "DBT"],
        "substance_use" => &["CBT", "CRA", "MI", "TSF"],
        "co_occurring" => &["CBT", "CRA", "DBT", "MI"],
        "eating_disorder" => &["CBT", "DBT", "family"],
        _ => &["CBT", "DBT", "family"],
    }
}

/// Planted modality effects: (modality, multiplier of an instrument's base improvement,
/// probability of abstinence at follow-up for clients using at baseline).
pub const MODALITY_EFFECTS: &[(&str, f64, f64)] = &[
    ("CBT", 1.00, 0.35),
    ("CRA", 0.85, 0.45),
    ("DBT", 0.90, 0.30),
    ("MI", 0.70, 0.30),
    ("TSF", 0.60, 0.40),
    ("family", 0.80, 0.30),
];

/// Instruments given on each track, each with the probability that an episode gets it.
pub fn instruments_for(track: &str) -> &'static [(&'static str, f64)] {
    match track {
        "mental_health" => &[("PHQ9", 0.95), ("GAD7", 0.90), ("PCL5", 0.40)],
        "substance_use" => &[("DAYS_USED", 0.95), ("AUDITC", 0.70), ("DAST10", 0.70)],
        "co_occurring" => &[
            ("PHQ9", 0.90),
            ("GAD7", 0.80),
            ("DAYS_USED", 0.90),
            ("DAST10", 0.60),
        ],
        "eating_disorder" => &[("EDEQ", 0.95), ("PHQ9", 0.80)],
        _ => &[("PHQ9", 0.90), ("GAD7", 0.85), ("DERS", 0.50)],
    }
}

/// How one instrument's scores are generated, in scale units (`step` points per unit).
#[derive(Debug, Clone, Copy)]
pub struct ScoreModel {
    pub id: &'static str,
    /// Points per unit: 1 for integer totals, 0.01 for the EDE-Q global score.
    pub step: f64,
    pub min: i64,
    pub max: i64,
    pub base_lo: i64,
    pub base_hi: i64,
    pub left_early_shift: i64,
    /// Change with the reference multiplier 1.0, in units (negative: improvement).
    pub base_delta: f64,
    /// SD of the follow-up noise, in units.
    pub sigma: f64,
    pub days_of_use: bool,
}

/// Score models of the instruments the generator uses.
pub const SCORE_MODELS: &[ScoreModel] = &[
    ScoreModel {
        id: "PHQ9",
        step: 1.0,
        min: 0,
        max: 27,
        base_lo: 10,
        base_hi: 24,
        left_early_shift: 2,
        base_delta: -7.0,
        sigma: 4.5,
        days_of_use: false,
    },
    ScoreModel {
        id: "GAD7",
        step: 1.0,
        min: 0,
        max: 21,
        base_lo: 8,
        base_hi: 19,
        left_early_shift: 2,
        base_delta: -5.0,
        sigma: 3.5,
        days_of_use: false,
    },
    ScoreModel {
        id: "PCL5",
        step: 1.0,
        min: 0,
        max: 80,
        base_lo: 30,
        base_hi: 66,
        left_early_shift: 4,
        base_delta: -14.0,
        sigma: 10.0,
        days_of_use: false,
    },
    ScoreModel {
        id: "AUDITC",
        step: 1.0,
        min: 0,
        max: 12,
        base_lo: 4,
        base_hi: 11,
        left_early_shift: 1,
        base_delta: -3.0,
        sigma: 2.0,
        days_of_use: false,
    },
    ScoreModel {
        id: "DAST10",
        step: 1.0,
        min: 0,
        max: 10,
        base_lo: 3,
        base_hi: 9,
        left_early_shift: 1,
        base_delta: -2.5,
        sigma: 1.8,
        days_of_use: false,
    },
    ScoreModel {
        id: "DAYS_USED",
        step: 1.0,
        min: 0,
        max: 30,
        base_lo: 8,
        base_hi: 30,
        left_early_shift: 0,
        base_delta: 0.0,
        sigma: 3.0,
        days_of_use: true,
    },
    ScoreModel {
        id: "EDEQ",
        step: 0.01,
        min: 0,
        max: 600,
        base_lo: 250,
        base_hi: 520,
        left_early_shift: 20,
        base_delta: -120.0,
        sigma: 80.0,
        days_of_use: false,
    },
    ScoreModel {
        id: "DERS",
        step: 1.0,
        min: 36,
        max: 180,
        base_lo: 95,
        base_hi: 150,
        left_early_shift: 5,
        base_delta: -18.0,
        sigma: 12.0,
        days_of_use: false,
    },
];

/// Share of days-of-use clients already abstinent at baseline.
pub const BASELINE_ABSTINENT: f64 = 0.12;
/// Probability that a client abstinent at baseline is abstinent at follow-up.
pub const STAY_ABSTINENT: f64 = 0.75;

/// The score model of an instrument id.
pub fn score_model(id: &str) -> &'static ScoreModel {
    SCORE_MODELS
        .iter()
        .find(|m| m.id == id)
        .expect("every instrument the generator uses has a score model")
}

/// (multiplier, abstinence probability) of a modality.
pub fn modality_effect(modality: &str) -> (f64, f64) {
    MODALITY_EFFECTS
        .iter()
        .find(|(m, _, _)| *m == modality)
        .map(|&(_, k, p)| (k, p))
        .expect("every modality the generator uses has an effect")
}

/// The planted mean change δ of a symptom instrument under a modality, in points.
pub fn planted_delta(id: &str, modality: &str) -> f64 {
    let m = score_model(id);
    m.base_delta * modality_effect(modality).0 * m.step
}

/// E[clamp(X, lo, hi)] for X ~ N(mu, sigma²).
pub fn clamped_normal_mean(mu: f64, sigma: f64, lo: f64, hi: f64) -> f64 {
    let n = Normal::standard();
    let a = (lo - mu) / sigma;
    let b = (hi - mu) / sigma;
    lo * n.cdf(a) + hi * (1.0 - n.cdf(b)) + mu * (n.cdf(b) - n.cdf(a))
        - sigma * (n.pdf(b) - n.pdf(a))
}

/// Mean and SD (units) of the latent follow-up X of a days-of-use client who is not abstinent.
pub fn days_latent(baseline_units: i64) -> (f64, f64) {
    if baseline_units == 0 {
        (3.0, 2.0)
    } else {
        (0.45 * baseline_units as f64 + 2.0, 3.0)
    }
}

/// Expected follow-up score (points) given the baseline score (points), by construction.
pub fn expected_followup(id: &str, modality: &str, baseline: f64) -> f64 {
    let m = score_model(id);
    let b = (baseline / m.step).round() as i64;
    let (lo, hi) = (m.min as f64, m.max as f64);
    let units = if m.days_of_use {
        let p_abst = if b == 0 {
            STAY_ABSTINENT
        } else {
            modality_effect(modality).1
        };
        let (mu, sd) = days_latent(b);
        (1.0 - p_abst) * clamped_normal_mean(mu, sd, lo, hi)
    } else {
        let delta = m.base_delta * modality_effect(modality).0;
        clamped_normal_mean(b as f64 + delta, m.sigma, lo, hi)
    };
    units * m.step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamped_mean_limits() {
        // Far from the bounds the clamp does nothing.
        assert!((clamped_normal_mean(10.0, 1.0, -100.0, 100.0) - 10.0).abs() < 1e-12);
        // Symmetric clamp of a centred normal keeps the mean.
        assert!((clamped_normal_mean(0.0, 1.0, -1.0, 1.0)).abs() < 1e-12);
        // E[max(Z, 0)] = phi(0) = 1/sqrt(2*pi)  (R: dnorm(0) = 0.3989423)
        let v = clamped_normal_mean(0.0, 1.0, 0.0, 1e9);
        assert!((v - 0.398_942_280_401_432_7).abs() < 1e-12);
    }

    #[test]
    fn every_track_is_covered() {
        let total: f64 = TRACKS.iter().map(|t| t.1).sum();
        assert!((total - 1.0).abs() < 1e-12);
        for (t, _) in TRACKS {
            for m in modalities_for(t) {
                modality_effect(m);
            }
            for (i, _) in instruments_for(t) {
                let sm = score_model(i);
                assert!(sm.base_lo >= sm.min && sm.base_hi + sm.left_early_shift <= sm.max);
            }
        }
    }

    #[test]
    fn planted_delta_holds_away_from_scale_ends() {
        let e = expected_followup("PHQ9", "CBT", 20.0) - 20.0;
        assert!((e - planted_delta("PHQ9", "CBT")).abs() < 0.01);
    }
}
