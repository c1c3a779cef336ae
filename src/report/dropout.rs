//! The page's "Outcomes under dropout" section (SPEC L5): per instrument, the completers'
//! mean change (outcomes.csv's overall row) beside the mixed model's change (longitudinal.csv,
//! track `All`, modality `All`), the share of the model's episodes without a follow-up, and a
//! sentence on what the difference means.
//!
//! The completers' change is measured over their own time from baseline to follow-up, the
//! model's `change_at_horizon` over `horizon_weeks`; the two differ by the time alone unless
//! those happen to be equal. So the sentence compares like with like: the model's change over
//! the completers' mean time to follow-up (slope × mean weeks, its CI the slope's CI × mean
//! weeks) against their mean change. Their difference is the dropout bias of the
//! completers-only figure, valid when dropout is missing at random given the observed scores.
//! The change at the horizon is shown beside it. Built from already-suppressed rows: a blanked
//! figure stays blank, and no sentence is made from it.

use crate::analysis::longitudinal::{FollowupInterval, LongitudinalRow};
use crate::analysis::outcomes::OutcomeRow;
use crate::instruments::Catalog;
use crate::stats::lmm::Status;
use crate::table::MARGIN;
use serde::Serialize;

/// One instrument's line of the section; every figure is formatted, "" when blank.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DropoutLine {
    pub instrument: String,
    pub name: String,
    /// "points", or "days" for days-of-use instruments.
    pub unit: String,
    /// The completers' mean change, their number and mean weeks from baseline to follow-up.
    pub completers_change: String,
    pub completers_n: String,
    pub completers_weeks: String,
    /// The model's change over the completers' mean weeks, with its 95% CI.
    pub model_same: String,
    pub model_same_ci: String,
    /// The model's change at the horizon, with its 95% CI.
    pub model_horizon: String,
    pub model_horizon_ci: String,
    /// Episodes in the model, and the share of them without a follow-up.
    pub n_episodes: String,
    pub without_followup: String,
    pub sentence: String,
}

/// The section: the horizon and one line per instrument in the model.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct DropoutView {
    /// The horizon in weeks, as the page writes it.
    pub horizon: String,
    pub lines: Vec<DropoutLine>,
}

/// The section from the typed rows: the model's overall rows (track and modality `All`), in
/// instrument order, each with the outcomes row whose grouping columns are all `All`.
pub fn view(
    outcomes: &[OutcomeRow],
    longitudinal: &[LongitudinalRow],
    intervals: &[FollowupInterval],
    horizon_weeks: f64,
    catalog: &Catalog,
) -> DropoutView {
    let lines = longitudinal
        .iter()
        .filter(|r| r.track == MARGIN && r.modality == MARGIN)
        .map(|m| {
            let inst = catalog.get(&m.instrument);
            let unit = inst.map_or("points", |i| i.unit());
            let higher_is_better = inst.is_some_and(|i| i.higher_is_better());
            let completers = outcomes
                .iter()
                .find(|r| r.instrument == m.instrument && r.labels.iter().all(|l| l == MARGIN));
            let change = completers.and_then(|c| c.change_mean);
            // The completers' time to follow-up goes with their count: not shown where
            // outcomes.csv's n_paired is withheld.
            let weeks = intervals
                .iter()
                .find(|i| i.instrument == m.instrument)
                .and_then(|i| i.mean_weeks)
                .filter(|_| completers.is_some_and(|c| c.n_paired.is_some()));
            let same = m.slope.zip(weeks).map(|(s, w)| s * w);
            let same_ci = m
                .slope_ci_low
                .zip(m.slope_ci_high)
                .zip(weeks)
                .map(|((lo, hi), w)| (lo * w, hi * w));
            let sentence = match (m.status, change, same.zip(same_ci)) {
                // Withheld: not even the status is shown.
                _ if m.n_episodes.is_none() => {
                    "The model's figures for all tracks and modalities are withheld (small cells)."
                        .to_string()
                }
                (Status::Ok, Some(c), Some((s, ci))) => {
                    bias_sentence(c, s, ci, higher_is_better, unit)
                }
                (Status::Ok, ..) if m.slope.is_none() => {
                    "The model's slope is not estimable: every assessment is on one day."
                        .to_string()
                }
                (Status::Ok, ..) => {
                    "No completers' figure to compare with (suppressed, or no paired episodes)."
                        .to_string()
                }
                (status, ..) => format!(
                    "The mixed model could not be fitted ({}).",
                    status_reason(status)
                ),
            };
            DropoutLine {
                instrument: m.instrument.clone(),
                name: inst.map(|i| i.name.clone()).unwrap_or_default(),
                unit: unit.to_string(),
                completers_change: signed(change),
                completers_n: completers
                    .and_then(|c| c.n_paired)
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                completers_weeks: weeks.map(|w| format!("{w:.1}")).unwrap_or_default(),
                model_same: signed(same),
                model_same_ci: interval(same_ci),
                model_horizon: signed(m.change_at_horizon),
                model_horizon_ci: interval(m.change_ci_low.zip(m.change_ci_high)),
                n_episodes: m.n_episodes.map(|n| n.to_string()).unwrap_or_default(),
                without_followup: m
                    .n_without_followup
                    .zip(m.n_episodes)
                    .filter(|(_, n)| *n > 0)
                    .map(|(w, n)| format!("{:.0}%", 100.0 * w as f64 / n as f64))
                    .unwrap_or_default(),
                sentence: sentence + &not_drawn(longitudinal, &m.instrument),
            }
        })
        .collect();
    DropoutView {
        horizon: weeks(horizon_weeks),
        lines,
    }
}

/// The sentence naming the trajectories of `instrument` (track `All`) whose row is withheld
/// by small-cell protection, which its chart does not draw; "" when none is.
pub fn not_drawn(longitudinal: &[LongitudinalRow], instrument: &str) -> String {
    let names: Vec<&str> = longitudinal
        .iter()
        .filter(|r| r.instrument == instrument && r.track == MARGIN && r.n_episodes.is_none())
        .map(|r| {
            if r.modality == MARGIN {
                "all modalities"
            } else {
                r.modality.as_str()
            }
        })
        .collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => format!(
            " The trajectory of {one} is withheld (small cells) and not drawn in the chart."
        ),
        more => format!(
            " The trajectories of {} are withheld (small cells) and not drawn in the chart.",
            more.join(", ")
        ),
    }
}

/// Weeks as the page writes them: whole without decimals, else one decimal.
fn weeks(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn signed(x: Option<f64>) -> String {
    x.map(|x| format!("{x:+.1}")).unwrap_or_default()
}

fn interval(ci: Option<(f64, f64)>) -> String {
    ci.map(|(a, b)| format!("{a:+.1} to {b:+.1}"))
        .unwrap_or_default()
}

fn status_reason(status: Status) -> &'static str {
    match status {
        Status::Ok => "fitted",
        Status::TooFew => "too few episodes with two or more assessments",
        Status::Unidentified => "too few episodes per modality to separate episodes from noise",
        Status::Degenerate => "the scores follow the fixed lines exactly",
    }
}

/// What the completers' mean change `completers` says beside the model's change `model` over
/// the same weeks (with its 95% CI `ci`), in the instrument's direction: within the CI, no
/// clear difference; else by how much the completers' figure overstates or understates the
/// improvement (or the worsening, when the model's change is one), and what that says about
/// those lost to follow-up. Changes are raw (follow-up minus baseline).
pub fn bias_sentence(
    completers: f64,
    model: f64,
    ci: (f64, f64),
    higher_is_better: bool,
    unit: &str,
) -> String {
    let good = |x: f64| if higher_is_better { x } else { -x };
    // Positive: the completers fared better than the model's estimate for every episode.
    let d = good(completers) - good(model);
    let size = format!("{:.1} {unit}", d.abs());
    if completers >= ci.0.min(ci.1) && completers <= ci.0.max(ci.1) {
        return format!(
            "The completers' figure lies within the model's 95% CI (a difference of {size}): no clear sign that those lost to follow-up fared differently."
        );
    }
    let (verb, what, lost) = match (good(model) >= 0.0, d > 0.0) {
        (true, true) => ("overstates", "improvement", "improved less"),
        (true, false) => ("understates", "improvement", "improved more"),
        (false, true) => ("understates", "worsening", "worsened more"),
        (false, false) => ("overstates", "worsening", "worsened less"),
    };
    format!("The completers' figure {verb} the {what} by {size}: those lost to follow-up {lost}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sentence_follows_the_signs_and_the_direction() {
        // PHQ-9 (higher is worse): completers -6.3, the model -5.1 (CI -5.6 to -4.6) over the
        // same weeks: the completers improved more than everyone, so those lost improved less.
        assert_eq!(
            bias_sentence(-6.3, -5.1, (-5.6, -4.6), false, "points"),
            "The completers' figure overstates the improvement by 1.2 points: those lost to follow-up improved less."
        );
        assert_eq!(
            bias_sentence(-4.0, -5.1, (-5.6, -4.6), false, "points"),
            "The completers' figure understates the improvement by 1.1 points: those lost to follow-up improved more."
        );
        // A scale where higher is better reads the other way.
        assert_eq!(
            bias_sentence(6.3, 5.1, (4.6, 5.6), true, "points"),
            "The completers' figure overstates the improvement by 1.2 points: those lost to follow-up improved less."
        );
        assert_eq!(
            bias_sentence(-6.3, -5.1, (-5.6, -4.6), true, "points"),
            "The completers' figure overstates the worsening by 1.2 points: those lost to follow-up worsened less."
        );
        // The model says worse (days of use up) and the completers less so.
        assert_eq!(
            bias_sentence(1.0, 2.5, (2.0, 3.0), false, "days"),
            "The completers' figure understates the worsening by 1.5 days: those lost to follow-up worsened more."
        );
        // Within the CI (bounds included): no clear difference, the size still given.
        assert_eq!(
            bias_sentence(-5.5, -5.1, (-5.6, -4.6), false, "points"),
            "The completers' figure lies within the model's 95% CI (a difference of 0.4 points): no clear sign that those lost to follow-up fared differently."
        );
        assert!(bias_sentence(-4.6, -5.1, (-5.6, -4.6), false, "points").contains("within"));
    }

    fn model_row(status: Status, slope: Option<f64>, suppressed: bool) -> LongitudinalRow {
        LongitudinalRow {
            instrument: "PHQ9".into(),
            track: MARGIN.into(),
            modality: MARGIN.into(),
            status,
            n_episodes: Some(200),
            n_assessments: Some(600),
            n_without_followup: Some(50),
            n_followed: Some(150),
            slope,
            slope_se: slope.map(|_| 0.05),
            df: None,
            t: None,
            p: None,
            slope_ci_low: slope.map(|s| s - 0.1),
            slope_ci_high: slope.map(|s| s + 0.1),
            change_at_horizon: slope.map(|s| s * 8.0),
            change_ci_low: slope.map(|s| (s - 0.1) * 8.0),
            change_ci_high: slope.map(|s| (s + 0.1) * 8.0),
            random_part: crate::stats::lmm::RandomPart::InterceptSlope,
            sd_intercept: None,
            sd_slope: None,
            corr: None,
            sd_residual: None,
            reml_criterion: None,
            singular: None,
            intercept: None,
            suppressed,
        }
    }

    #[test]
    fn the_lines_compare_like_with_like_and_say_why_a_figure_is_missing() {
        let cat = Catalog::builtin();
        let outcomes = [OutcomeRow {
            instrument: "PHQ9".into(),
            labels: vec![MARGIN.into(), MARGIN.into()],
            margin: true,
            n_paired: Some(150),
            change_mean: Some(-6.3),
            ..Default::default()
        }];
        let intervals = [FollowupInterval {
            instrument: "PHQ9".into(),
            n_paired: Some(150),
            mean_weeks: Some(6.0),
        }];
        let v = view(
            &outcomes,
            &[model_row(Status::Ok, Some(-0.85), false)],
            &intervals,
            8.0,
            &cat,
        );
        assert_eq!(v.horizon, "8");
        let l = &v.lines[0];
        // Over 6 weeks: -0.85 * 6 = -5.1 (CI -5.7 to -4.5); at 8 weeks -6.8.
        assert_eq!(
            (l.completers_change.as_str(), l.completers_weeks.as_str()),
            ("-6.3", "6.0")
        );
        assert_eq!(
            (l.model_same.as_str(), l.model_same_ci.as_str()),
            ("-5.1", "-5.7 to -4.5")
        );
        assert_eq!(
            (l.model_horizon.as_str(), l.model_horizon_ci.as_str()),
            ("-6.8", "-7.6 to -6.0")
        );
        assert_eq!(l.without_followup, "25%");
        assert!(l
            .sentence
            .starts_with("The completers' figure overstates the improvement by 1.2 points"));
        // A model that was not fitted, a suppressed one, and no completers' figure.
        let not = view(
            &outcomes,
            &[model_row(Status::TooFew, None, false)],
            &intervals,
            8.0,
            &cat,
        );
        assert!(not.lines[0]
            .sentence
            .contains("could not be fitted (too few episodes"));
        // Withheld by protection (every count and statistic blank): not even the status
        // shows, whatever it was, and the chart's line is said not to be drawn.
        let withheld = |status: Status| {
            let mut r = model_row(status, None, true);
            (r.n_episodes, r.n_assessments, r.n_without_followup) = (None, None, None);
            r
        };
        for status in [Status::Ok, Status::Unidentified] {
            let hidden = view(&outcomes, &[withheld(status)], &intervals, 8.0, &cat);
            let s = &hidden.lines[0].sentence;
            assert!(s.starts_with("The model's figures for all tracks and modalities are withheld"));
            assert!(s.ends_with("The trajectory of all modalities is withheld (small cells) and not drawn in the chart."));
            assert!(!s.contains("fitted") && !s.contains("separate"), "{s}");
            assert_eq!(
                (
                    hidden.lines[0].n_episodes.as_str(),
                    hidden.lines[0].without_followup.as_str()
                ),
                ("", "")
            );
        }
        // A modality's row withheld: the overall figures stay, the sentence names it.
        let mut cbt = withheld(Status::Ok);
        cbt.modality = "cbt_group".into();
        let part = view(
            &outcomes,
            &[cbt, model_row(Status::Ok, Some(-0.85), false)],
            &intervals,
            8.0,
            &cat,
        );
        assert_eq!(part.lines.len(), 1);
        assert!(part.lines[0].sentence.ends_with(
            "overstates the improvement by 1.2 points: those lost to follow-up improved less. The trajectory of cbt_group is withheld (small cells) and not drawn in the chart."
        ), "{}", part.lines[0].sentence);
        // The completers' count withheld: their weeks to follow-up go with it, and nothing
        // is compared over them.
        let mut blank = outcomes.clone();
        (blank[0].n_paired, blank[0].change_mean) = (None, None);
        let no_pairs = view(
            &blank,
            &[model_row(Status::Ok, Some(-0.85), false)],
            &intervals,
            8.0,
            &cat,
        );
        let l = &no_pairs.lines[0];
        assert_eq!(
            (
                l.completers_n.as_str(),
                l.completers_weeks.as_str(),
                l.model_same.as_str()
            ),
            ("", "", "")
        );
        assert_eq!(l.model_horizon, "-6.8");
        let flat = view(
            &outcomes,
            &[model_row(Status::Ok, None, false)],
            &intervals,
            8.0,
            &cat,
        );
        assert!(flat.lines[0].sentence.contains("not estimable"));
        let alone = view(
            &[],
            &[model_row(Status::Ok, Some(-0.85), false)],
            &[],
            8.0,
            &cat,
        );
        assert!(alone.lines[0].sentence.starts_with("No completers' figure"));
        assert_eq!(alone.lines[0].model_same, "");
        assert_eq!(alone.lines[0].model_horizon, "-6.8");
    }
}
