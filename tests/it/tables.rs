//! The abstinence, ANCOVA, attrition, engagement and trend tables end to end.

use crate::util::{assert_covered, corpus, run, Table, WorkDir};
use iop_outcomes::analysis::ancova;
use iop_outcomes::cohort::{self, PairingRules};
use iop_outcomes::config::Config;
use iop_outcomes::ingest;
use iop_outcomes::stats::prec::CLOSED;
use iop_outcomes::synth::model::expected_followup;
use std::collections::BTreeMap;

#[test]
fn planted_modality_differences_appear_in_the_ancova() {
    let w = WorkDir::new();
    let input = w.synth("s", 20_000, 1618, 0.0);
    run(&input, &w.join("out"), &["--no-suppress"]);
    let t = Table::read(&w.join("out/all/ancova.csv"));
    // The planted estimand: OLS is linear in y, so fitting the same design to each episode's
    // expected follow-up (given its baseline and modality) gives the estimate's expectation.
    let cfg = Config::default();
    let export = ingest::load(&input, &cfg, &cfg.catalog().unwrap()).unwrap();
    let rules = PairingRules {
        baseline: [-14, 14],
        followup_name: "discharge".into(),
        followup: cfg.followups()["discharge"].clone(),
    };
    let anchors = cohort::anchors(&export.episodes, &rules.followup);
    let pairs = cohort::pair(&export.episodes, &export.assessments, &anchors, &rules);
    let mut groups: BTreeMap<(String, String), Vec<ancova::TrackPoint>> = BTreeMap::new();
    for p in pairs.iter().filter(|p| p.followup.is_some()) {
        let e = p.episode as usize;
        let inst = export.assessments.instruments[p.instrument as usize].clone();
        let m = export.episodes.modality[e].clone();
        let (_, fu_date) = p.followup.unwrap();
        let weeks = f64::from(fu_date - p.baseline_date) / 7.0;
        let expected = expected_followup(&inst, &m, p.baseline, weeks, 1.0);
        groups
            .entry((inst, export.episodes.track[e].clone()))
            .or_default()
            .push((m, p.baseline, expected));
    }
    let mut zs = Vec::new();
    let mut directions = 0;
    for r in t.iter() {
        let (inst, track, modality) = (r.get("instrument"), r.get("track"), r.get("modality"));
        let n = r.num("n").unwrap();
        if r.get("estimate").is_empty() || n < 150.0 {
            continue;
        }
        let planted =
            ancova::fit_track(inst, track, &groups[&(inst.to_string(), track.to_string())]);
        let want = planted
            .iter()
            .find(|x| x.modality == modality)
            .unwrap()
            .estimate
            .unwrap();
        let (est, se) = (r.num("estimate").unwrap(), r.num("se").unwrap());
        zs.push((format!("{inst}/{track}/{modality}"), (est - want) / se));
        if want.abs() > 3.0 * se {
            assert_eq!(
                est.signum(),
                want.signum(),
                "{inst}/{track}/{modality}: wrong direction"
            );
            directions += 1;
        }
    }
    assert!(
        zs.len() >= 15 && directions >= 5,
        "checked {}, directions {directions}",
        zs.len()
    );
    assert_covered(&zs);
}

#[test]
fn trend_quarters_equal_a_run_on_that_quarter() {
    // The values, unsuppressed: which cells the two runs blank differs by design (each
    // run's complementary blanks cover its own tables; a quarter's trend row is protected
    // with the other quarters, the one-quarter run's outcomes with its own cells).
    let w = WorkDir::new();
    let input = w.synth("s", 6000, 77, 0.0);
    std::fs::write(w.join("c.toml"), "[report]\ngroup_by = [\"track\"]\n").unwrap();
    let cfg_path = w.join("c.toml");
    let cfg = ["--config", cfg_path.to_str().unwrap(), "--no-suppress"];
    run(
        &input,
        &w.join("out"),
        &[&["--period", "2026Q2"], &cfg[..]].concat(),
    );
    run(
        &input,
        &w.join("out"),
        &[&["--period", "2025Q3"], &cfg[..]].concat(),
    );
    let trend = Table::read(&w.join("out/2026Q2/trend.csv"));
    let quarters: std::collections::BTreeSet<&str> =
        trend.iter().map(|r| r.get("quarter")).collect();
    assert_eq!(
        quarters.into_iter().collect::<Vec<_>>(),
        vec!["2024Q3", "2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2"]
    );
    let q3 = Table::read(&w.join("out/2025Q3/outcomes.csv"));
    let mut compared = 0;
    for r in q3.iter() {
        let (inst, track) = (r.get("instrument"), r.get("track"));
        let tr = trend.find(&[
            ("quarter", "2025Q3"),
            ("track", track),
            ("instrument", inst),
        ]);
        for c in ["n_paired", "change_mean", "pct_improved", "pct_recovered"] {
            assert_eq!(tr.get(c), r.get(c), "{inst}/{track} {c}");
        }
        compared += 1;
    }
    assert!(compared > 10);
}

#[test]
fn engagement_abstinence_and_attrition_on_a_hand_checked_export() {
    // tests/corpus/valid_baseline: E1 stays 39 days (completed), E2 53 days (left early),
    // E3 is still in care. E1 attended 180 of two sessions' minutes, E2 150 in one.
    let w = WorkDir::new();
    run(
        &corpus("valid_baseline"),
        &w.join("out"),
        &["--no-suppress"],
    );
    let e = Table::read(&w.join("out/all/engagement.csv"));
    let all = e.find(&[("track", "All"), ("modality", "All")]);
    assert_eq!(
        all.cells(&["n_discharged", "completion_rate"]),
        ["2", "0.5"]
    );
    assert_eq!(all.get("median_los_days"), "46"); // R: median(c(39, 53))
                                                  // R: median(c(180/60/((39+1)/7), 150/60/((53+1)/7))) = 0.42453703703703705
    let wh = all.num("median_weekly_hours").unwrap();
    iop_outcomes::assert_close!(wh, 0.424_537_037_037_037_05, CLOSED, "median weekly hours");
    assert_eq!(
        all.cells(&["pct_meeting_dose", "median_sessions", "suppressed"]),
        ["0", "1", "false"]
    );
    // DAYS_USED for E2: 20 -> 4, not abstinent; McNemar has no discordant pair.
    let a = Table::read(&w.join("out/all/abstinence.csv"));
    let r = a.find(&[("track", "All"), ("modality", "All")]);
    assert_eq!(
        r.cells(&[
            "n_paired",
            "abstinent_baseline",
            "abstinent_followup",
            "pct_abstinent_baseline",
            "pct_abstinent_followup",
            "to_abstinent",
            "to_use",
            "p_mcnemar",
            "suppressed"
        ]),
        ["1", "0", "0", "0", "0", "0", "0", "", "false"]
    );
    // Attrition: one followed, no one lost: Welch undefined.
    let t = Table::read(&w.join("out/all/attrition.csv"));
    let r = t.find(&[("instrument", "PHQ9"), ("track", "All")]);
    assert_eq!(
        r.cells(&[
            "n_followed",
            "n_lost",
            "baseline_mean_followed",
            "baseline_mean_lost",
            "t",
            "df",
            "p",
            "suppressed"
        ]),
        ["1", "0", "18", "", "", "", "", "false"]
    );
}

#[test]
fn without_attendance_the_engagement_table_keeps_what_episodes_give() {
    let w = WorkDir::new();
    let input = w.synth("s", 1000, 3, 0.0);
    std::fs::remove_file(input.join("attendance.csv")).unwrap();
    run(&input, &w.join("out"), &[]);
    let e = Table::read(&w.join("out/all/engagement.csv"));
    let all = e.find(&[("track", "All"), ("modality", "All")]);
    for c in ["n_discharged", "completion_rate", "median_los_days"] {
        assert!(!all.get(c).is_empty(), "{c}");
    }
    assert_eq!(
        all.cells(&["median_weekly_hours", "pct_meeting_dose", "median_sessions"]),
        ["", "", ""]
    );
    // Every table carries the run's period and follow-up point (SPEC §16 O10).
    for f in [
        "outcomes",
        "abstinence",
        "ancova",
        "attrition",
        "engagement",
        "trend",
        "longitudinal",
    ] {
        let t = Table::read(&w.join(&format!("out/all/{f}.csv")));
        assert_eq!(&t.header[..2], ["period", "followup"], "{f}");
        assert!(t
            .iter()
            .all(|r| r.get("period") == "all" && r.get("followup") == "discharge"));
    }
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.join("out/all/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["accounting"][2]["present"], false);
}
