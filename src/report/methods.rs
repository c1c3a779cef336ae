//! The report's methods prose: the windows and cohort rules of the run, the statistics with
//! the R calls they equal, and the suppression setting — written once, shown on the page.

use crate::cohort::PairingRules;
use crate::config::{Anchor, LongitudinalConfig};

/// The statistics, each with the R call it equals.
pub const TESTS: &[&str] = &[
    "Means and SDs (n - 1) of baseline, follow-up and change over paired episodes.",
    "Paired t-test, t.test(followup, baseline, paired = TRUE) in R: t, df, two-sided p, 95% CI of the mean change; Benjamini-Hochberg q over the cells (p.adjust(p, \"BH\")).",
    "Wilcoxon signed-rank test as R's wilcox.test(followup, baseline, paired = TRUE): exact below 50 non-zero untied differences, else normal approximation with tie and continuity correction.",
    "Effect sizes: d_z = mean(change) / sd(change); g_av = J * mean(change) / ((sd baseline + sd follow-up) / 2), J Hedges' correction.",
    "Reliable change (Jacobson and Truax): |change| at least the instrument's threshold; reliable recovery: a case at baseline, not a case at follow-up, reliably improved; response: improvement of at least the instrument's fraction of baseline; remission: follow-up below the threshold (all over cases).",
    "Abstinence: exact McNemar test, binom.test(b, b + c, 0.5).",
    "ANCOVA: lm(followup ~ baseline + modality) per track by QR, first modality in byte order as reference; sequential F test of modality.",
    "Retention bias: Welch t.test(lost, followed) of baseline scores.",
    "Engagement: weekly hours = minutes / 60 / max(1, (length of stay + 1) / 7); medians as R's median.",
    RETENTION,
    "Benchmarking (funnel plots, Spiegelhalter DJ, Stat Med 2005;24:1185-1202): each unit's proportion against the target, the pooled proportion p0 over all units; control limits at 95% and 99.8% are the exact binomial limits with interpolation of appendix A.1.1, r = qbinom(P, n, p0), a = (pbinom(r, n, p0) - P) / (pbinom(r, n, p0) - pbinom(r - 1, n, p0)), limit = (r - a) / n for P = 0.001, 0.025, 0.975, 0.999. A unit is flagged by exact tail tests: above when pbinom(O - 1, n, p0, lower.tail = FALSE) is below 0.001 (99.8%) or 0.025 (95%), below when pbinom(O, n, p0) is.",
    "Case-mix adjusted reliable improvement: glm(improved ~ baseline + track, family = binomial) over every paired episode of the instrument (improved ~ baseline with one track); E = the sum of a unit's fitted probabilities, ratio O / E, with limits by the same interpolation on Poisson quantiles, r = qpois(P, E), limit = (r - a) / E. No ratio when nobody or everybody improved, the fit does not converge or a fitted probability is within 10 machine epsilons of 0 or 1.",
];

/// The retention statistics (SPEC §13), with the R calls they equal.
pub const RETENTION: &str = "Retention: dropout, completion and other discharges are competing risks (completing is not censoring: a client who completed can no longer drop out); the Aalen-Johansen cumulative incidence of each, per group and day since admission, as survfit(Surv(time, state) ~ 1) in R's survival 3.5-3, with standard errors by the infinitesimal jackknife and 95% limits on the log scale, exp(log p +/- 1.96 se / p), the upper at most 100%. Episodes still in care are censored at the data's end. Dropout across modalities: the log-rank test survdiff(Surv(time, state == \"dropout\") ~ modality), where completion, other discharges and episodes still in care count as censored.";

/// The baseline, follow-up and cohort rules of a run, as sentences.
pub fn windows(rules: &PairingRules) -> Vec<String> {
    let [b0, b1] = rules.baseline;
    let f = &rules.followup;
    let anchor = match (f.anchor, f.target_days) {
        (Anchor::Admit, Some(t)) => format!("admission + {t} days"),
        _ => "the discharge date (discharged episodes only)".to_string(),
    };
    vec![
        format!("Baseline: the earliest assessment from {b0} to {b1} days after admission (inclusive)."),
        format!(
            "Follow-up point {}: anchored at {anchor}; the assessment from {} to {} days around the anchor, at least {} days after the baseline, closest to the anchor (ties go to the later date).",
            rules.followup_name, f.window[0], f.window[1], f.min_gap_days
        ),
        "Cohort: episodes whose anchor date falls in the period; episodes still in care are counted as active, not as lost.".to_string(),
        "Change = follow-up minus baseline; improvement follows each instrument's direction.".to_string(),
    ]
}

/// The mixed model of SPEC §12, as sentences: its data, formulas, fitting, tests, fallback
/// and what missing at random means.
pub fn longitudinal(b0: i32, cfg: &LongitudinalConfig) -> Vec<String> {
    let days = |x: f64| {
        if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            format!("{x}")
        }
    };
    vec![
        format!(
            "Outcomes under dropout: every assessment of the cohort's episodes from {b0} to {} days after admission, including episodes without a follow-up; time t = days since admission / 7 (weeks).",
            days(cfg.max_days)
        ),
        "Per instrument and track (and all tracks pooled), a linear mixed model fitted by REML, as lme4's lmer(score ~ 0 + modality + modality:t + (1 + t | episode_id), REML = TRUE) in R (one intercept and one slope per modality; written as the equivalent explicit design, which also fits a track with one modality), and lmer(score ~ 1 + t + (1 + t | episode_id)) for all modalities. The REML optimum is found by Newton's method with exact derivatives (lme4's default optimizer can stop short of it).".to_string(),
        format!(
            "The slope is the change per week; its p and 95% CI use Satterthwaite's degrees of freedom as lmerTest's summary() (CI = slope +/- qt(0.975, df) * SE); change at the horizon = slope * {} weeks, with the CI scaled alike.",
            days(cfg.horizon_weeks)
        ),
        "With at most two assessments per episode on average (assessments <= 2 * episodes) the random part is (1 | episode_id): lme4 refuses a random slope there. Status too_few (fewer than 2 episodes with two or more assessments), unidentified (one episode per modality) or degenerate (scores exactly on the fixed lines) leaves the statistics empty; singular marks a variance at its boundary (lme4's isSingular, tolerance 1e-4).".to_string(),
        "Missing at random: the model's slope is unbiased when whether an episode's later scores are missing depends only on what was observed (e.g. a high baseline, a slow start), not on the scores that went unrecorded. The completers-only change is unbiased only when those lost to follow-up would have changed like those followed; the section Outcomes under dropout compares the two over the completers' own time to follow-up.".to_string(),
    ]
}

/// The suppression setting, as a sentence.
pub fn suppression(suppress_below: Option<u64>) -> String {
    match suppress_below {
        Some(below) => format!(
            "Small cells: counts from 1 to {} are withheld, with every statistic computed from them, and so are the fewest other counts from which a withheld one could be worked out (by subtraction from a total, or narrowed to a range); an audit of the files checks that none can be. In the tables, {} marks a withheld value.",
            below - 1,
            crate::table::WITHHELD
        ),
        None => "Small-cell suppression is OFF (--no-suppress): for analysts inside the covered entity only; do not distribute.".to_string(),
    }
}
