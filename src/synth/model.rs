//! The generative model behind `synth`: tracks, modalities, instruments, the assessment
//! schedule and the planted effects, with the planted truths as pure functions.
//!
//! Scores are generated so that their expectation is known in closed form, which is what lets
//! later analyses be checked for recovering the planted effects. Per episode × instrument
//! (all in scale units; `step` points per unit):
//!
//! * baseline level B: a discrete triangular draw on `[base_lo, base_hi]`, plus
//!   `left_early_shift` for episodes that will leave early (the retention-bias signal the
//!   attrition table should find), plus a planted site's severity shift
//!   ([`severity_shift_units`]), clamped to the scale. B is the recorded baseline score, taken
//!   on day d₀ = admission − 7 … + 3 (recorded for [`BASELINE_RECORDED`] of episodes; when it
//!   is not recorded, B and d₀ still anchor the trajectory);
//! * slope b = k·β(instrument, modality) + τ·W, W standard normal per episode × instrument,
//!   drawn independently of everything else (in particular of the discharge reason); k is the
//!   planted site's slope factor (1 elsewhere);
//! * every later symptom assessment, on day d, Δ = (d − d₀)/7 weeks after the baseline:
//!   X = B + b·Δ + σ·Z with Z standard normal per assessment, score F = clamp(⌊X + V⌋, min, max)
//!   with V ~ U(0,1) (dithered rounding). Dithering makes E[⌊X + V⌋ | X] = X exactly, and
//!   clamping the dithered integer gives E[F | B] = E[clamp(X, min, max)] with
//!   X ~ N(B + kβΔ, σ² + τ²Δ²) (the random slope folded into the noise): the closed form of
//!   [`expected_followup`]. Away from the scale ends E[F − B | B] = kβΔ;
//! * days-of-use (DAYS_USED) has no trajectory: every follow-up is abstinent (0 days) with
//!   probability p(modality) (0.75 for clients abstinent at baseline), otherwise
//!   X = 0.45·B + 2 + 3·Z (B = 0: X = 3 + 2·Z), rounded as above, whenever it is taken.
//!
//! The linear mixed model `score ~ 0 + modality + modality:t + (1 + t | episode)` (t = weeks
//! since admission) has the mean slope kβ of this model as its truth where clamping is
//! negligible: the instruments with [`ScoreModel::lmm_clean`] (PCL-5, DERS, EDE-Q), whose
//! baseline ranges keep X at least 3.5 SD inside the scale for every baseline, modality and
//! Δ in [−1.5, [`MAX_WEEKS`]] weeks, with no site effect or one within [`CLEAN_FACTOR`] and
//! [`CLEAN_SEVERITY`] (the worst expected clamp error of one assessment is then below
//! 10⁻⁴·σ; see the `clean_instruments_are_never_clamped` test). On PHQ-9, GAD-7, AUDIT-C and
//! DAST-10 the floor of the scale is reached within the 120 days and a linear model's slope is
//! biased towards zero; their β is the slope of the latent X only.
//!
//! Dropout is informative but missing at random given the recorded baseline: the discharge
//! reason (hence the stay, the mid-treatment assessments and the chance of a discharge
//! follow-up) is drawn before the scores, episodes that leave early have higher B, and W, Z
//! and V do not depend on the reason; so given B the later scores do not depend on whether
//! they were observed. (For the 5% whose baseline is not recorded the dropout depends on the
//! unobserved B.) The mixed model is not exactly the generating model (B is not normal and the
//! baseline has no residual), so MAR alone does not guarantee an unbiased slope; fitted to
//! 100,000 episodes the slopes agree with β to within their standard errors (data/README.md).
//!
//! The tables are the documented planted effects (data/README.md repeats them). Pure
//! functions, no I/O.

use statrs::distribution::{Continuous, ContinuousCDF, Normal};

/// Clinical tracks and their mix (shares sum to 1).
pub const TRACKS: &[(&str, f64)] = &[
    ("mental_health", 0.30),
    ("substance_use", 0.25),
    ("co_occurring", 0.25),
    ("eating_disorder", 0.08),
    ("adolescent", 0.12),
];

/// Program sites, equally likely.
pub const SITES: &[&str] = &[
    "site_01", "site_02", "site_03", "site_04", "site_05", "site_06", "site_07", "site_08",
];

/// Planted discharge reasons and their shares (of every episode; those still in care at the
/// extraction date have no reason in the export). Episodes that leave early have shorter
/// stays, higher baselines and fewer follow-ups.
pub const REASONS: &[(&str, f64)] = &[
    ("completed", 0.60),
    ("left_early", 0.22),
    ("transferred", 0.08),
    ("administrative", 0.06),
    ("other", 0.04),
];

/// The planted share of a discharge reason (0 for an unknown one).
pub fn reason_share(reason: &str) -> f64 {
    REASONS
        .iter()
        .find(|(r, _)| *r == reason)
        .map_or(0.0, |&(_, p)| p)
}

/// Probability of an assessment near discharge (discharge −5 … +3 days), by discharge reason.
pub fn followup_probability(reason: &str) -> f64 {
    match reason {
        "completed" => 0.85,
        "left_early" => 0.30,
        "transferred" => 0.55,
        _ => 0.50,
    }
}

/// Probability that the baseline (admission −7 … +3 days) is recorded.
pub const BASELINE_RECORDED: f64 = 0.95;
/// Mid-treatment assessments are due every this many days after admission (+1 … +3 days).
pub const MID_EVERY_DAYS: i64 = 14;
/// Probability that a due mid-treatment assessment is taken.
pub const MID_PROBABILITY: f64 = 0.6;
/// Mid-treatment assessments stop this many days before discharge, so a discharge follow-up
/// (−5 … +3 days) is always nearer the discharge date than any of them; for an episode still
/// in care they continue to the extraction date. DAYS_USED has none.
pub const MID_STOP_BEFORE_DISCHARGE: i64 = 6;
/// Probability of a follow-up near day 90 after admission (+90 −10 … +10 days).
pub const DAY90_PROBABILITY: f64 = 0.30;
/// The longest time from the baseline to a later assessment: day 100 − day −7, in weeks.
pub const MAX_WEEKS: f64 = 107.0 / 7.0;

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

/// Planted modality effects: (modality, multiplier of an instrument's reference slope,
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
    /// Mean slope β with the reference multiplier 1.0, units per week (negative: improvement).
    pub slope: f64,
    /// SD τ of the per-episode random slope, units per week.
    pub slope_sd: f64,
    /// SD σ of the residual of every assessment after the baseline, units (for DAYS_USED the
    /// SD of the latent follow-up of a client using at baseline).
    pub sigma: f64,
    pub days_of_use: bool,
    /// Clamping at the scale ends is negligible over the first 120 days (module doc): the
    /// mixed model's slope estimates β.
    pub lmm_clean: bool,
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
        slope: -0.9,
        slope_sd: 0.3,
        sigma: 3.5,
        days_of_use: false,
        lmm_clean: false,
    },
    ScoreModel {
        id: "GAD7",
        step: 1.0,
        min: 0,
        max: 21,
        base_lo: 8,
        base_hi: 19,
        left_early_shift: 2,
        slope: -0.65,
        slope_sd: 0.25,
        sigma: 2.8,
        days_of_use: false,
        lmm_clean: false,
    },
    ScoreModel {
        id: "PCL5",
        step: 1.0,
        min: 0,
        max: 80,
        base_lo: 41,
        base_hi: 58,
        left_early_shift: 4,
        slope: -1.0,
        slope_sd: 0.25,
        sigma: 4.0,
        days_of_use: false,
        lmm_clean: true,
    },
    ScoreModel {
        id: "AUDITC",
        step: 1.0,
        min: 0,
        max: 12,
        base_lo: 4,
        base_hi: 11,
        left_early_shift: 1,
        slope: -0.35,
        slope_sd: 0.15,
        sigma: 1.5,
        days_of_use: false,
        lmm_clean: false,
    },
    ScoreModel {
        id: "DAST10",
        step: 1.0,
        min: 0,
        max: 10,
        base_lo: 3,
        base_hi: 9,
        left_early_shift: 1,
        slope: -0.3,
        slope_sd: 0.12,
        sigma: 1.3,
        days_of_use: false,
        lmm_clean: false,
    },
    ScoreModel {
        id: "DAYS_USED",
        step: 1.0,
        min: 0,
        max: 30,
        base_lo: 8,
        base_hi: 30,
        left_early_shift: 0,
        slope: 0.0,
        slope_sd: 0.0,
        sigma: 3.0,
        days_of_use: true,
        lmm_clean: false,
    },
    ScoreModel {
        id: "EDEQ",
        step: 0.01,
        min: 0,
        max: 600,
        base_lo: 310,
        base_hi: 460,
        left_early_shift: 15,
        slope: -8.0,
        slope_sd: 2.0,
        sigma: 25.0,
        days_of_use: false,
        lmm_clean: true,
    },
    ScoreModel {
        id: "DERS",
        step: 1.0,
        min: 36,
        max: 180,
        base_lo: 115,
        base_hi: 140,
        left_early_shift: 5,
        slope: -2.0,
        slope_sd: 0.5,
        sigma: 7.0,
        days_of_use: false,
        lmm_clean: true,
    },
];

/// Share of days-of-use clients already abstinent at baseline.
pub const BASELINE_ABSTINENT: f64 = 0.12;
/// Probability that a client abstinent at baseline is abstinent at follow-up.
pub const STAY_ABSTINENT: f64 = 0.75;

/// Site slope factors within `CLEAN_FACTOR` keep the clean instruments unclamped.
pub const CLEAN_FACTOR: [f64; 2] = [0.8, 1.25];
/// Site severities up to `CLEAN_SEVERITY` baseline SDs keep the clean instruments unclamped.
pub const CLEAN_SEVERITY: f64 = 0.5;
/// Accepted range of a site's slope factor.
pub const FACTOR_RANGE: [f64; 2] = [0.0, 4.0];
/// Accepted range of a site's severity, in baseline SDs.
pub const SEVERITY_RANGE: [f64; 2] = [-2.0, 2.0];

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

/// A planted site effect (`synth --site-effect SITE=FACTOR[,SEVERITY]`): at `site` the mean
/// slope of every symptom instrument is multiplied by `slope_factor`, and baselines are
/// `severity` baseline SDs higher ([`severity_shift`]). DAYS_USED is not affected.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SiteEffect {
    pub site: String,
    pub slope_factor: f64,
    pub severity: f64,
}

impl SiteEffect {
    /// Parses `SITE=FACTOR[,SEVERITY]`, e.g. `site_03=1.5` or `site_03=1.5,0.5`.
    ///
    /// # Errors
    /// A message naming what is wrong: an unknown site, a factor outside [`FACTOR_RANGE`], a
    /// severity outside [`SEVERITY_RANGE`], or a malformed value.
    pub fn parse(text: &str) -> Result<SiteEffect, String> {
        let usage = || {
            format!("--site-effect {text}: expected SITE=FACTOR[,SEVERITY], e.g. site_03=1.5,0.5")
        };
        let (site, rest) = text.split_once('=').ok_or_else(usage)?;
        let site = site.trim();
        if !SITES.contains(&site) {
            return Err(format!(
                "--site-effect {text}: unknown site {site:?}; the sites are {}",
                SITES.join(", ")
            ));
        }
        let mut parts = rest.split(',');
        let number = |s: Option<&str>| -> Result<Option<f64>, String> {
            match s {
                None => Ok(None),
                Some(s) => s
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(Some)
                    .ok_or_else(usage),
            }
        };
        let factor = number(parts.next())?.ok_or_else(usage)?;
        let severity = number(parts.next())?.unwrap_or(0.0);
        if parts.next().is_some() {
            return Err(usage());
        }
        if !(FACTOR_RANGE[0]..=FACTOR_RANGE[1]).contains(&factor) {
            return Err(format!(
                "--site-effect {text}: the slope factor must be between {} and {}",
                FACTOR_RANGE[0], FACTOR_RANGE[1]
            ));
        }
        if !(SEVERITY_RANGE[0]..=SEVERITY_RANGE[1]).contains(&severity) {
            return Err(format!(
                "--site-effect {text}: the severity must be between {} and {} baseline SDs",
                SEVERITY_RANGE[0], SEVERITY_RANGE[1]
            ));
        }
        Ok(SiteEffect {
            site: site.to_string(),
            slope_factor: factor,
            severity,
        })
    }
}

/// The planted effect at `site`, if any.
pub fn site_effect<'a>(effects: &'a [SiteEffect], site: &str) -> Option<&'a SiteEffect> {
    effects.iter().find(|e| e.site == site)
}

/// The slope factor at `site` (1 where nothing is planted).
pub fn slope_factor(effects: &[SiteEffect], site: &str) -> f64 {
    site_effect(effects, site).map_or(1.0, |e| e.slope_factor)
}

/// The planted mean slope (points per week) of a symptom instrument under a modality, away
/// from the scale ends and where no site effect is planted; `None` for DAYS_USED, which has
/// no trajectory.
pub fn planted_slope(id: &str, modality: &str) -> Option<f64> {
    let m = score_model(id);
    (!m.days_of_use).then(|| m.slope * modality_effect(modality).0 * m.step)
}

/// The planted mean slope (points per week) at a site with slope factor `factor`.
pub fn site_slope(id: &str, modality: &str, factor: f64) -> Option<f64> {
    planted_slope(id, modality).map(|s| s * factor)
}

/// The planted mean slope (points per week) over all sites, which are equally likely: what a
/// mixed model without a site term estimates when `effects` are planted.
pub fn mean_slope(id: &str, modality: &str, effects: &[SiteEffect]) -> Option<f64> {
    let mean_factor =
        SITES.iter().map(|s| slope_factor(effects, s)).sum::<f64>() / SITES.len() as f64;
    site_slope(id, modality, mean_factor)
}

/// SD of the per-episode random slope (points per week).
pub fn slope_sd(id: &str) -> f64 {
    let m = score_model(id);
    m.slope_sd * m.step
}

/// SD of the residual of an assessment after the baseline (points).
pub fn residual_sd(id: &str) -> f64 {
    let m = score_model(id);
    m.sigma * m.step
}

/// SD (points) of the latent score `weeks` after the baseline given the baseline:
/// √(σ² + τ²·weeks²), the random slope folded into the noise.
pub fn followup_sd(id: &str, weeks: f64) -> f64 {
    let m = score_model(id);
    latent_sd_units(m, weeks) * m.step
}

fn latent_sd_units(m: &ScoreModel, weeks: f64) -> f64 {
    (m.sigma * m.sigma + (m.slope_sd * weeks).powi(2)).sqrt()
}

/// SD (units) of the baseline draw without shifts: the sum of two discrete uniforms on
/// `0..=span/2` and `0..=span − span/2`.
pub fn baseline_sd_units(m: &ScoreModel) -> f64 {
    let span = m.base_hi - m.base_lo;
    let (a, b) = ((span / 2) as f64, (span - span / 2) as f64);
    (((a + 1.0).powi(2) - 1.0) / 12.0 + ((b + 1.0).powi(2) - 1.0) / 12.0).sqrt()
}

/// The baseline shift (units) of a site with `severity` (baseline SDs), rounded to a unit.
pub fn severity_shift_units(m: &ScoreModel, severity: f64) -> i64 {
    if m.days_of_use {
        0
    } else {
        (severity * baseline_sd_units(m)).round() as i64
    }
}

/// The baseline shift (points) a site with `severity` gets on an instrument (before the
/// baseline is clamped to the scale).
pub fn severity_shift(id: &str, severity: f64) -> f64 {
    let m = score_model(id);
    severity_shift_units(m, severity) as f64 * m.step
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

/// Mean and SD (units) of the latent score X of a symptom instrument `weeks` after a baseline
/// of `baseline_units`, at a site with slope factor `factor`.
fn latent_units(
    m: &ScoreModel,
    modality: &str,
    baseline_units: f64,
    weeks: f64,
    factor: f64,
) -> (f64, f64) {
    let slope = m.slope * modality_effect(modality).0 * factor;
    (baseline_units + slope * weeks, latent_sd_units(m, weeks))
}

/// Expected score (points) of an assessment `weeks` after the recorded baseline, given that
/// baseline (points), by construction; `factor` is the slope factor of the episode's site
/// (1 where nothing is planted: [`slope_factor`]). Exact, scale ends included. For DAYS_USED
/// `weeks` and `factor` do not matter.
pub fn expected_followup(id: &str, modality: &str, baseline: f64, weeks: f64, factor: f64) -> f64 {
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
        let (mu, sd) = latent_units(m, modality, b as f64, weeks, factor);
        clamped_normal_mean(mu, sd, lo, hi)
    };
    units * m.step
}

/// The planted probability that an assessment `weeks` after the recorded baseline shows
/// reliable improvement, change ≤ −`threshold` points (the `n_improved` rule for a
/// lower-is-better instrument), given the baseline (points) and the site's slope factor.
/// Exact: P(F ≤ K) = P(X + V < K + 1) = E[clamp(K + 1 − X, 0, 1)], K = ⌊(B − threshold)/step⌋.
/// `None` for DAYS_USED.
pub fn p_reliable_improvement(
    id: &str,
    modality: &str,
    baseline: f64,
    weeks: f64,
    factor: f64,
    threshold: f64,
) -> Option<f64> {
    let m = score_model(id);
    if m.days_of_use {
        return None;
    }
    let b = (baseline / m.step).round() as i64;
    // Integer units at or below B − threshold (a tiny tolerance for thresholds like 0.5 on a
    // 0.01 grid).
    let k = ((b as f64 - threshold / m.step) + 1e-9).floor() as i64;
    if k >= m.max {
        return Some(1.0);
    }
    if k < m.min {
        return Some(0.0);
    }
    let (mu, sd) = latent_units(m, modality, b as f64, weeks, factor);
    Some(clamped_normal_mean(k as f64 + 1.0 - mu, sd, 0.0, 1.0))
}

/// The odds ratio of reliable improvement of a client at a site with slope factor `factor`
/// against the same client (baseline, modality, weeks) elsewhere: the exact effect of a
/// planted site on the improvement odds. It depends on the baseline and the weeks (a slope
/// factor is not a constant odds ratio); `None` for DAYS_USED or when a probability is 0 or 1.
pub fn improvement_odds_ratio(
    id: &str,
    modality: &str,
    baseline: f64,
    weeks: f64,
    factor: f64,
    threshold: f64,
) -> Option<f64> {
    let odds = |p: f64| (p > 0.0 && p < 1.0).then(|| p / (1.0 - p));
    let at = odds(p_reliable_improvement(
        id, modality, baseline, weeks, factor, threshold,
    )?)?;
    let base = odds(p_reliable_improvement(
        id, modality, baseline, weeks, 1.0, threshold,
    )?)?;
    Some(at / base)
}

/// The largest expected clamp error |E[clamp(X)] − E[X]| (units) of one assessment of a
/// symptom instrument over every baseline it can have (left-early and severity shifts up to
/// `severity` included), every modality, slope factors `factors` and Δ in [−1.5, MAX_WEEKS]
/// weeks (a grid of 0.05 weeks). What makes an instrument [`ScoreModel::lmm_clean`].
pub fn worst_clamp_error_units(m: &ScoreModel, factors: [f64; 2], severity: f64) -> f64 {
    let lowest = m.base_lo + severity_shift_units(m, -severity.abs()).min(0);
    let highest = m.base_hi + m.left_early_shift + severity_shift_units(m, severity.abs());
    let (lo, hi) = (m.min as f64, m.max as f64);
    let mut worst: f64 = 0.0;
    for b in [lowest.max(m.min), highest.min(m.max)] {
        for &(name, _, _) in MODALITY_EFFECTS {
            for factor in factors {
                let mut w = -1.5;
                while w <= MAX_WEEKS + 1e-9 {
                    let (mu, sd) = latent_units(m, name, b as f64, w, factor);
                    worst = worst.max((clamped_normal_mean(mu, sd, lo, hi) - mu).abs());
                    w += 0.05;
                }
            }
        }
    }
    worst
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
        let reasons: f64 = REASONS.iter().map(|t| t.1).sum();
        assert!((reasons - 1.0).abs() < 1e-12);
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
    fn planted_slope_holds_away_from_scale_ends() {
        // PHQ-9 under CBT: -0.9 points a week; 6 weeks after a baseline of 20, 20 - 5.4.
        let e = expected_followup("PHQ9", "CBT", 20.0, 6.0, 1.0) - 20.0;
        assert!((e - 6.0 * planted_slope("PHQ9", "CBT").unwrap()).abs() < 0.01);
        let e = expected_followup("DERS", "MI", 130.0, 10.0, 1.5) - 130.0;
        assert!((e - 10.0 * site_slope("DERS", "MI", 1.5).unwrap()).abs() < 1e-9);
        assert_eq!(planted_slope("DAYS_USED", "CBT"), None);
        assert!((planted_slope("EDEQ", "DBT").unwrap() + 0.072).abs() < 1e-12);
    }

    #[test]
    fn clean_instruments_are_never_clamped() {
        const TOLERANCE_SIGMAS: f64 = 1e-4;
        for m in SCORE_MODELS.iter().filter(|m| !m.days_of_use) {
            let worst = worst_clamp_error_units(m, CLEAN_FACTOR, CLEAN_SEVERITY);
            if m.lmm_clean {
                assert!(
                    worst < TOLERANCE_SIGMAS * m.sigma,
                    "{}: worst clamp error {worst} units",
                    m.id
                );
            } else {
                // The others do reach a scale end: their mixed-model slope is biased.
                assert!(worst > 0.1 * m.sigma, "{}: {worst}", m.id);
            }
        }
    }

    #[test]
    fn mean_slope_averages_the_sites() {
        let e = vec![SiteEffect::parse("site_02=2").unwrap()];
        let want = planted_slope("PCL5", "CBT").unwrap() * (7.0 + 2.0) / 8.0;
        assert!((mean_slope("PCL5", "CBT", &e).unwrap() - want).abs() < 1e-12);
        assert!((mean_slope("PCL5", "CBT", &[]).unwrap() + 1.0).abs() < 1e-12);
    }

    #[test]
    fn site_effects_parse_and_refuse() {
        let e = SiteEffect::parse("site_03=1.5,0.5").unwrap();
        assert_eq!(e.site, "site_03");
        assert!((e.slope_factor - 1.5).abs() < 1e-12 && (e.severity - 0.5).abs() < 1e-12);
        assert!(SiteEffect::parse("site_01=0.7").unwrap().severity.abs() < 1e-12);
        for bad in [
            "site_09=1.5",
            "site_03",
            "site_03=",
            "site_03=x",
            "site_03=1.5,y",
            "site_03=1.5,0.5,1",
            "site_03=-1",
            "site_03=5",
            "site_03=1,3",
            "site_03=NaN",
            "site_03=inf",
        ] {
            assert!(SiteEffect::parse(bad).is_err(), "{bad}");
        }
        assert!(SiteEffect::parse("site_09=1")
            .unwrap_err()
            .contains("site_01"));
    }

    #[test]
    fn severity_is_in_baseline_sds() {
        // PHQ-9: span 14, two uniforms on 0..=7: variance 2 * 63 / 12 = 10.5.
        let m = score_model("PHQ9");
        assert!((baseline_sd_units(m) - 10.5f64.sqrt()).abs() < 1e-12);
        assert!((severity_shift("PHQ9", 1.0) - 3.0).abs() < 1e-12);
        // EDE-Q: span 150 units, variance 2 * (76^2 - 1) / 12 = 962.5; 0.5 SD = 15.5 units.
        assert!((severity_shift("EDEQ", 0.5) - 0.16).abs() < 1e-9);
        assert!(severity_shift("DAYS_USED", 1.0).abs() < 1e-12);
    }

    #[test]
    fn improvement_probability_is_exact_and_the_factor_raises_it() {
        // Far from the scale ends, P(floor(X + V) <= K) = P(X + V < K + 1): with X normal and V
        // uniform this is E[clamp(K + 1 - X, 0, 1)]. Check it against a direct integral:
        // P = integral over v in [0, 1) of Phi((K + 1 - v - mu) / sd) dv (midpoint rule).
        let (b, w) = (18.0, 6.0);
        let p = p_reliable_improvement("PHQ9", "CBT", b, w, 1.0, 6.0).unwrap();
        let mu = b - 0.9 * w;
        let sd = followup_sd("PHQ9", w);
        let n = Normal::standard();
        let steps = 100_000;
        let direct = (0..steps)
            .map(|i| {
                let v = (i as f64 + 0.5) / steps as f64;
                n.cdf((12.0 + 1.0 - v - mu) / sd)
            })
            .sum::<f64>()
            / steps as f64;
        assert!((p - direct).abs() < 1e-9, "{p} vs {direct}");
        let or = improvement_odds_ratio("PHQ9", "CBT", b, w, 1.5, 6.0).unwrap();
        assert!(or > 1.5, "{or}");
        assert!(
            (improvement_odds_ratio("PHQ9", "CBT", b, w, 1.0, 6.0).unwrap() - 1.0).abs() < 1e-12
        );
        // A baseline too low to improve by the threshold, and none for days of use.
        assert_eq!(
            p_reliable_improvement("GAD7", "CBT", 3.0, w, 1.0, 4.0),
            Some(0.0)
        );
        assert_eq!(
            p_reliable_improvement("DAYS_USED", "CBT", 20.0, w, 1.0, 4.0),
            None
        );
    }

    /// statrs' normal CDF (its erfc) agrees with R's pnorm to about 1e-10 here (worst
    /// observed error 6.5e-11).
    const R_TOLERANCE: f64 = 1e-9;

    #[test]
    fn planted_truths_equal_r() {
        // R: cl <- function(mu, s, lo, hi) { a <- (lo-mu)/s; b <- (hi-mu)/s;
        //      lo*pnorm(a) + hi*(1-pnorm(b)) + mu*(pnorm(b)-pnorm(a)) - s*(dnorm(b)-dnorm(a)) }
        // R: sprintf("%.17g", cl(11 + 1 - (17 - 1.5*0.9*6), sqrt(3.5^2 + (0.3*6)^2), 0, 1))
        let p15 = p_reliable_improvement("PHQ9", "CBT", 17.0, 6.0, 1.5, 6.0).unwrap();
        assert!((p15 - 0.74500122677821856).abs() < R_TOLERANCE, "{p15}");
        // R: sprintf("%.17g", cl(11 + 1 - (17 - 0.9*6), sqrt(3.5^2 + (0.3*6)^2), 0, 1))
        let p1 = p_reliable_improvement("PHQ9", "CBT", 17.0, 6.0, 1.0, 6.0).unwrap();
        assert!((p1 - 0.48989186751136737).abs() < R_TOLERANCE, "{p1}");
        let or = improvement_odds_ratio("PHQ9", "CBT", 17.0, 6.0, 1.5, 6.0).unwrap();
        assert!((or - p15 / (1.0 - p15) / (p1 / (1.0 - p1))).abs() < 1e-12);
        // R: sprintf("%.17g", cl(8 - 0.63*12, sqrt(3.5^2 + (0.3*12)^2), 0, 27))
        let e = expected_followup("PHQ9", "MI", 8.0, 12.0, 1.0);
        assert!((e - 2.230757983880109).abs() < R_TOLERANCE, "{e}");
    }
}
