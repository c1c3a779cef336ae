//! benchmark.csv's indicators on hand-built exports, and the case-mix design against R 4.2.2
//! (`Rscript`, values printed with %.17g).

use super::*;
use crate::assert_close;
use crate::stats::prec::{DISTRIBUTION, GLM};

/// One hand-built episode: unit, track, discharge day (admission is day 0), reason, selected.
struct Ep {
    site: Option<&'static str>,
    track: &'static str,
    discharge: Option<i32>,
    reason: &'static str,
    selected: bool,
    minutes: u64,
}

fn export(eps: &[Ep]) -> (Episodes, Vec<bool>, Vec<u64>) {
    let mut e = Episodes::default();
    for (k, x) in eps.iter().enumerate() {
        e.id.push(format!("E{k}"));
        e.client.push(format!("C{k}"));
        e.track.push(x.track.into());
        e.modality.push("CBT".into());
        e.admit.push(0);
        e.discharge.push(x.discharge);
        e.site.push(x.site.map(String::from));
        e.delivery.push(Some(
            if k % 2 == 0 {
                "in_person"
            } else {
                "telehealth"
            }
            .into(),
        ));
        e.discharge_reason.push(Some(x.reason.into()));
        e.age_group.push(None);
        e.sex.push(None);
        e.race_ethnicity.push(None);
    }
    let selected = eps.iter().map(|x| x.selected).collect();
    let minutes = eps.iter().map(|x| x.minutes).collect();
    (e, selected, minutes)
}

fn pair(episode: u32, instrument: u16, baseline: f64, followup: Option<f64>) -> Pair {
    Pair {
        episode,
        instrument,
        baseline,
        baseline_date: 0,
        followup: followup.map(|f| (f, 30)),
    }
}

const IDS: [&str; 2] = ["DAYS_USED", "PHQ9"];

fn ids() -> Vec<String> {
    IDS.map(String::from).to_vec()
}

/// Seven episodes over units a, b, c and one without a site; the last is outside the period.
fn tiny() -> (Episodes, Vec<bool>, Vec<u64>, Vec<Pair>) {
    let ep = |site, track, discharge, reason, selected, minutes| Ep {
        site,
        track,
        discharge,
        reason,
        selected,
        minutes,
    };
    let (e, selected, minutes) = export(&[
        // 1080 minutes over a 13-day stay: (13 + 1) / 7 = 2 weeks, 9 hours a week.
        ep(Some("a"), "mh", Some(13), "completed", true, 1080),
        ep(Some("a"), "mh", Some(30), "left_early", true, 0),
        ep(Some("b"), "su", Some(30), "completed", true, 0),
        ep(None, "mh", Some(30), "completed", true, 0),
        ep(Some("b"), "mh", None, "", false, 0),
        ep(Some("c"), "mh", Some(30), "completed", true, 0),
        ep(Some("a"), "mh", Some(30), "completed", false, 5000),
    ]);
    let pairs = vec![
        pair(0, 0, 10.0, Some(2.0)),
        pair(2, 0, 20.0, None),
        // PHQ-9 (threshold 6, caseness 10): improved and still a case (20 -> 10).
        pair(0, 1, 20.0, Some(10.0)),
        // Improved and recovered (15 -> 4).
        pair(1, 1, 15.0, Some(4.0)),
        // Not a case, not improved.
        pair(2, 1, 8.0, Some(7.0)),
        pair(3, 1, 12.0, None),
        pair(5, 1, 14.0, None),
        // Outside the period: not counted.
        pair(6, 1, 20.0, Some(2.0)),
    ];
    (e, selected, minutes, pairs)
}

fn compute(by: &str, minutes: Option<&[u64]>) -> Vec<BenchmarkRow> {
    let (e, selected, _, pairs) = tiny();
    let catalog = Catalog::builtin();
    let ids = ids();
    rows(&Input {
        eps: &e,
        pairs: &pairs,
        selected: &selected,
        catalog: &catalog,
        ids: &ids,
        by,
        minutes,
        dose_hours: 9.0,
    })
}

/// (indicator, instrument, unit, n, observed) of every row.
type Counts<'a> = (&'a str, &'a str, &'a str, Option<u64>, Option<u64>);

fn counts(rows: &[BenchmarkRow]) -> Vec<Counts<'_>> {
    rows.iter()
        .map(|r| {
            (
                r.indicator.as_str(),
                r.instrument.as_str(),
                r.unit.as_str(),
                r.n,
                r.observed,
            )
        })
        .collect()
}

#[test]
fn indicators_count_their_own_denominators_over_the_cohort() {
    let (_, _, minutes, _) = tiny();
    let got = compute("site", Some(&minutes));
    let nr = NOT_RECORDED;
    assert_eq!(
        counts(&got),
        [
            // Discharged cohort episodes: the one still in care and the one outside the
            // period are not counted.
            ("completion", "", nr, Some(1), Some(1)),
            ("completion", "", "a", Some(2), Some(1)),
            ("completion", "", "b", Some(1), Some(1)),
            ("completion", "", "c", Some(1), Some(1)),
            ("dose_met", "", nr, Some(1), Some(0)),
            ("dose_met", "", "a", Some(2), Some(1)),
            ("dose_met", "", "b", Some(1), Some(0)),
            ("dose_met", "", "c", Some(1), Some(0)),
            // With a baseline / paired, per instrument, also without a threshold.
            ("followup_rate", "DAYS_USED", "a", Some(1), Some(1)),
            ("followup_rate", "DAYS_USED", "b", Some(1), Some(0)),
            ("followup_rate", "PHQ9", nr, Some(1), Some(0)),
            ("followup_rate", "PHQ9", "a", Some(2), Some(2)),
            ("followup_rate", "PHQ9", "b", Some(1), Some(1)),
            ("followup_rate", "PHQ9", "c", Some(1), Some(0)),
            // Paired / improved: no pair at c or without a site, so no row.
            ("reliable_improvement", "PHQ9", "a", Some(2), Some(2)),
            ("reliable_improvement", "PHQ9", "b", Some(1), Some(0)),
            // Cases / recovered: b has no case, so no row.
            ("reliable_recovery", "PHQ9", "a", Some(2), Some(1)),
        ]
    );
    // The target is the pooled proportion; the limits and the flag are the funnel's.
    let ri: Vec<&BenchmarkRow> = got
        .iter()
        .filter(|r| r.indicator == Indicator::ReliableImprovement)
        .collect();
    for r in &ri {
        assert_eq!(r.target, Some(2.0 / 3.0));
        let l = funnel::binomial_limits(r.n.unwrap(), 2.0 / 3.0).unwrap();
        assert_eq!((r.low_998, r.high_998), (Some(l.low_998), Some(l.high_998)));
        assert_eq!((r.low_95, r.high_95), (Some(l.low_95), Some(l.high_95)));
        assert_eq!(
            r.flag,
            funnel::flag(r.observed.unwrap(), r.n.unwrap(), 2.0 / 3.0)
        );
    }
    // Separated by track (both mh pairs improved, the su pair did not). R:
    // glm(c(TRUE, TRUE, FALSE) ~ c(20, 15, 8) + c("mh", "mh", "su"), family = binomial)
    // converges in 22 iterations with fitted 0.99999999994173783 (twice) and
    // 5.8262146389686362e-11: not within 10 eps of 0 or 1, so the ratio is given, as R gives it.
    assert_close!(ri[0].expected.unwrap(), 2.0 * 0.999_999_999_941_737_83, GLM);
    assert_close!(
        ri[0].ratio.unwrap(),
        2.0 / (2.0 * 0.999_999_999_941_737_83),
        GLM
    );
    assert!(ri[1].expected.unwrap() < 1e-9);
    assert_eq!(ri[1].ratio, Some(0.0));
    assert_eq!(ri[0].proportion, Some(1.0));
    // Episode-level indicators have no instrument and no ratio.
    let completion = &got[1];
    assert_eq!((completion.target, completion.expected), (Some(0.8), None));
    assert_eq!(completion.flag, Some(Flag::Within));
    // Without attendance there is no dose row.
    let without = compute("site", None);
    assert!(without.iter().all(|r| r.indicator != Indicator::DoseMet));
    assert_eq!(without.len(), got.len() - 4);
}

#[test]
fn any_groupable_column_can_be_the_unit() {
    let got = compute("delivery", None);
    let completion: Vec<(&str, Option<u64>)> = got
        .iter()
        .filter(|r| r.indicator == Indicator::Completion)
        .map(|r| (r.unit.as_str(), r.n))
        .collect();
    // Episodes 0, 2 in person and 1, 3, 5 by telehealth are the discharged cohort.
    assert_eq!(
        completion,
        [("in_person", Some(2)), ("telehealth", Some(3))]
    );
    // A column nobody filled in is one unit, not recorded.
    let got = compute("sex", None);
    assert!(got.iter().all(|r| r.unit == NOT_RECORDED));
    // One unit: it is the target, so it lies within.
    assert!(got.iter().all(|r| r.flag == Some(Flag::Within)));
}

#[test]
fn the_columns_are_those_of_the_spec() {
    let keys = RunKeys {
        period: "all".into(),
        followup: "discharge".into(),
        groups: vec!["track".into()],
    };
    let t = spec(&keys).render(&[]);
    assert_eq!(
        t.header,
        [
            "period",
            "followup",
            "indicator",
            "instrument",
            "unit",
            "n",
            "observed",
            "proportion",
            "target",
            "low_95",
            "high_95",
            "low_998",
            "high_998",
            "flag",
            "expected",
            "ratio",
            "ratio_low_95",
            "ratio_high_95",
            "ratio_low_998",
            "ratio_high_998",
            "suppressed",
        ]
    );
}

#[test]
fn the_case_mix_design_matches_r_glm_with_track_dummies() {
    // R: i <- 0:23; site <- c("a","b","c")[i %% 3 + 1]
    //    track <- c("mh","su","co")[(i %/% 2) %% 3 + 1]
    //    baseline <- 10 + (i*7) %% 15; followup <- baseline - (i*5) %% 13
    //    improved <- abs(followup - baseline) >= 6 & (baseline - followup) > 0
    //    fit <- glm(improved ~ baseline + track, family = binomial)   # converged
    //    E <- tapply(fitted(fit), site, sum); O <- tapply(improved, site, sum)
    //    plim <- function(P, E) { r <- qpois(P, E)
    //      a <- (ppois(r, E) - P) / (ppois(r, E) - ppois(r - 1, E)); (r - a) / E }
    let tracks = ["mh", "su", "co"];
    let eps: Vec<Ep> = (0..24)
        .map(|i: usize| Ep {
            site: Some(["a", "b", "c"][i % 3]),
            track: tracks[(i / 2) % 3],
            discharge: Some(30),
            reason: "completed",
            selected: true,
            minutes: 0,
        })
        .collect();
    let (e, selected, _) = export(&eps);
    let pairs: Vec<Pair> = (0..24u32)
        .map(|i| {
            let b = f64::from(10 + (i * 7) % 15);
            pair(i, 1, b, Some(b - f64::from((i * 5) % 13)))
        })
        .collect();
    let catalog = Catalog::builtin();
    let ids = ids();
    let got = rows(&Input {
        eps: &e,
        pairs: &pairs,
        selected: &selected,
        catalog: &catalog,
        ids: &ids,
        by: "site",
        minutes: None,
        dose_hours: 9.0,
    });
    // (site, O, sprintf("%.17g", E), O / E, sapply(c(.001, .025, .975, .999), plim, E = E))
    #[rustfmt::skip]
    let want: [(&str, u64, f64, f64, [f64; 4]); 3] = [
        ("a", 4, 3.5092313272600597, 1.1398507613127695, [-0.27543850574915807, -0.04685807585233441, 2.0297439913295148, 2.865221328340835]),
        ("b", 4, 4.500254272869217, 0.88883866498719621, [-0.20220190275933028, 0.061770825398869175, 1.924111141647435, 2.6395068451707893]),
        ("c", 5, 4.990514399866302, 1.0019007259319705, [-0.17092185386881215, 0.10741921469408361, 1.8757734772671744, 2.55650872910073]),
    ];
    let ri: Vec<&BenchmarkRow> = got
        .iter()
        .filter(|r| r.indicator == Indicator::ReliableImprovement)
        .collect();
    assert_eq!(ri.len(), 3);
    for (r, (site, o, e, ratio, lim)) in ri.iter().zip(want) {
        assert_eq!((r.unit.as_str(), r.observed), (site, Some(o)));
        assert_close!(r.expected.unwrap(), e, GLM, "E at {site}");
        assert_close!(r.ratio.unwrap(), ratio, GLM, "O/E at {site}");
        let got = [
            r.ratio_low_998.unwrap(),
            r.ratio_low_95.unwrap(),
            r.ratio_high_95.unwrap(),
            r.ratio_high_998.unwrap(),
        ];
        for (g, w) in got.into_iter().zip(lim) {
            // The limits are exact functions of E, which is within GLM of R's.
            assert_close!(g, w, GLM, "ratio limit at {site}");
        }
        // The proportion's limits need no model: R's qbinom/pbinom to DISTRIBUTION.
        assert_close!(r.target.unwrap(), 13.0 / 24.0, DISTRIBUTION);
        assert_eq!(r.ratio_outside_998(), None);
    }
}

#[test]
fn units_are_in_byte_order_with_empty_values_their_own_unit() {
    let (e, ..) = tiny();
    let u = Units::new(&e, "site");
    assert_eq!(u.labels, [NOT_RECORDED, "a", "b", "c"]);
    assert_eq!(u.of, [1, 1, 2, 0, 2, 3, 1]);
}

/// Completion rows of units a–d with these denominators and counts, protected (SPEC §11)
/// with benchmark.csv alone at suppress_below = 11.
fn protected(n: [u64; 4], observed: [u64; 4]) -> Vec<BenchmarkRow> {
    let labels: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
    let mut rows = proportion_rows(Indicator::Completion, "", &labels, &n, &observed);
    let keys = RunKeys::default();
    let mut t = Protected::new(&keys, &mut rows);
    crate::analysis::protection::protect(vec![&mut t], &links(&keys, "site"), 11).unwrap();
    rows
}

#[test]
fn a_small_observed_count_is_blanked_with_a_complement_because_the_target_gives_the_total() {
    let rows = protected([50, 40, 30, 60], [20, 5, 12, 30]);
    let observed: Vec<Option<u64>> = rows.iter().map(|r| r.observed).collect();
    // 5 at b is small; the target gives the total observed (Σn is published), so another
    // unit's count goes too.
    assert_eq!(observed[1], None);
    assert_eq!(
        observed.iter().filter(|o| o.is_none()).count(),
        2,
        "{observed:?}"
    );
    for r in &rows {
        // n is not small: it and its limits stay, and so does the target.
        assert!(r.n.is_some() && r.low_998.is_some() && r.high_95.is_some());
        assert!(r.target.is_some());
        if r.observed.is_none() {
            assert!(r.suppressed);
            assert_eq!((r.proportion, r.shown_flag(), r.ratio), (None, None, None));
        } else {
            assert!(!r.suppressed && r.proportion.is_some() && r.shown_flag().is_some());
        }
    }
    // Nothing small, nothing blanked.
    let rows = protected([50, 40, 30, 60], [20, 15, 12, 30]);
    assert!(rows.iter().all(|r| !r.suppressed && r.observed.is_some()));
}

#[test]
fn a_small_n_is_blanked_with_its_limits_which_would_reveal_it() {
    let rows = protected([50, 8, 30, 60], [20, 5, 12, 30]);
    let b = &rows[1];
    assert_eq!((b.n, b.observed, b.proportion), (None, None, None));
    assert_eq!(
        (b.low_95, b.high_95, b.low_998, b.high_998),
        (None, None, None, None)
    );
    assert_eq!(b.shown_flag(), None);
    // Σn is a total too: another n goes, with its limits.
    let blank_n: Vec<&BenchmarkRow> = rows.iter().filter(|r| r.n.is_none()).collect();
    assert_eq!(blank_n.len(), 2);
    assert!(blank_n
        .iter()
        .all(|r| r.low_998.is_none() && r.high_998.is_none()));
    assert!(rows.iter().all(|r| r.target.is_some()));
}

#[test]
fn a_small_total_withholds_the_target_and_every_limit() {
    // Three completed in all: the target (3/95) with Σn gives the small total away.
    let rows = protected([20, 15, 30, 30], [1, 2, 0, 0]);
    for r in &rows {
        assert_eq!(r.target, None);
        assert_eq!((r.low_95, r.high_998), (None, None));
        assert!(r.suppressed);
    }
}
