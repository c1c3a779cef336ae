//! The abstinence, ANCOVA, attrition, engagement and trend tables end to end.

use crate::util::{assert_covered, bin, Table, WorkDir};
use iop_outcomes::analysis::ancova;
use iop_outcomes::cohort::{self, Rules};
use iop_outcomes::config::Config;
use iop_outcomes::ingest;
use iop_outcomes::synth::model::expected_followup;
use std::collections::BTreeMap;
use std::path::Path;

fn run(input: &Path, out: &Path, extra: &[&str]) {
    bin()
        .arg("run")
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
        .success();
}

fn corpus(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name)
}

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
    let rules = Rules {
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
    for r in &t.rows {
        let (inst, track, modality, n) = (&r[0], &r[1], &r[2], r[3].parse::<u64>().unwrap());
        if r[4].is_empty() || n < 150 {
            continue;
        }
        let planted = ancova::fit_track(inst, track, &groups[&(inst.clone(), track.clone())]);
        let want = planted
            .iter()
            .find(|x| &x.modality == modality)
            .unwrap()
            .estimate
            .unwrap();
        let (est, se): (f64, f64) = (r[4].parse().unwrap(), r[5].parse().unwrap());
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
    let w = WorkDir::new();
    let input = w.synth("s", 6000, 77, 0.0);
    std::fs::write(w.join("c.toml"), "[report]\ngroup_by = [\"track\"]\n").unwrap();
    let cfg_path = w.join("c.toml");
    let cfg = ["--config", cfg_path.to_str().unwrap()];
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
        trend.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        quarters.into_iter().collect::<Vec<_>>(),
        vec!["2024Q3", "2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2"]
    );
    let q3 = Table::read(&w.join("out/2025Q3/outcomes.csv"));
    let mut compared = 0;
    for r in q3.rows.iter() {
        let (inst, track) = (&r[2], &r[3]);
        let tr = trend
            .rows
            .iter()
            .find(|t| t[0] == "2025Q3" && &t[1] == track && &t[2] == inst)
            .expect("trend row");
        assert_eq!(tr[3], r[q3.col("n_paired")], "{inst}/{track} n_paired");
        assert_eq!(
            tr[4],
            r[q3.col("change_mean")],
            "{inst}/{track} change_mean"
        );
        assert_eq!(
            tr[5],
            r[q3.col("pct_improved")],
            "{inst}/{track} pct_improved"
        );
        assert_eq!(
            tr[6],
            r[q3.col("pct_recovered")],
            "{inst}/{track} pct_recovered"
        );
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
    let all = e
        .rows
        .iter()
        .find(|r| r[0] == "All" && r[1] == "All")
        .unwrap();
    assert_eq!(&all[2..4], &["2", "0.5"]);
    assert_eq!(all[4], "46"); // R: median(c(39, 53))
                              // R: median(c(180/60/((39+1)/7), 150/60/((53+1)/7))) = 0.42453703703703705
    let wh: f64 = all[5].parse().unwrap();
    assert!((wh - 0.424_537_037_037_037_05).abs() < 1e-15, "{wh}");
    assert_eq!(&all[6..9], &["0", "1", "false"]);
    // DAYS_USED for E2: 20 -> 4, not abstinent; McNemar has no discordant pair.
    let a = Table::read(&w.join("out/all/abstinence.csv"));
    let r = a
        .rows
        .iter()
        .find(|r| r[3] == "All" && r[4] == "All")
        .unwrap();
    assert_eq!(&r[5..14], &["1", "0", "0", "0", "0", "0", "0", "", "false"]);
    // Attrition: one followed, no one lost: Welch undefined.
    let t = Table::read(&w.join("out/all/attrition.csv"));
    let r = t
        .rows
        .iter()
        .find(|r| r[0] == "PHQ9" && r[1] == "All")
        .unwrap();
    assert_eq!(&r[2..10], &["1", "0", "18", "", "", "", "", "false"]);
}

#[test]
fn without_attendance_the_engagement_table_keeps_what_episodes_give() {
    let w = WorkDir::new();
    let input = w.synth("s", 800, 3, 0.0);
    std::fs::remove_file(input.join("attendance.csv")).unwrap();
    run(&input, &w.join("out"), &[]);
    let e = Table::read(&w.join("out/all/engagement.csv"));
    let all = e
        .rows
        .iter()
        .find(|r| r[0] == "All" && r[1] == "All")
        .unwrap();
    assert!(!all[2].is_empty() && !all[3].is_empty() && !all[4].is_empty());
    assert_eq!(&all[5..8], &["", "", ""]);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.join("out/all/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["accounting"][2]["present"], false);
}
