//! The `run` job end to end: outputs, planted effects recovered, suppression, periods,
//! follow-up points, determinism and exit codes.

use crate::util::{assert_covered, bin, run, snapshot, Table, WorkDir};
use iop_outcomes::cohort::{self, PairingRules};
use iop_outcomes::config::Config;
use iop_outcomes::ingest;
use iop_outcomes::synth::model::expected_followup;
use predicates::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// Rows of outcomes.csv keyed by (instrument, track, modality).
type Rows = HashMap<(String, String, String), Vec<String>>;

fn outcomes(path: &Path) -> (Table, Rows) {
    let t = Table::read(path);
    let (i, tr, m) = (t.col("instrument"), t.col("track"), t.col("modality"));
    let map = t
        .rows
        .iter()
        .map(|r| ((r[i].clone(), r[tr].clone(), r[m].clone()), r.clone()))
        .collect();
    (t, map)
}

#[test]
fn the_readme_run_command_writes_the_report_for_the_sample() {
    let w = WorkDir::new();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    run(&sample, &w.join("reports"), &[]).success().stdout("");
    let dir = w.join("reports/all");
    for f in ["outcomes.csv", "quarantine.csv", "manifest.json"] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    let (t, rows) = outcomes(&dir.join("outcomes.csv"));
    let header: Vec<&str> = t.header.iter().map(String::as_str).collect();
    assert_eq!(
        header,
        "period,followup,instrument,track,modality,n_episodes,n_baseline,n_paired,followup_rate,baseline_mean,baseline_sd,followup_mean,followup_sd,change_mean,change_sd,change_ci_low,change_ci_high,t,df,p_t,q_bh,wilcoxon_v,p_wilcoxon,d_z,g_av,rci_threshold,n_improved,n_unchanged,n_deteriorated,pct_improved,pct_unchanged,pct_deteriorated,n_cases,pct_recovered,pct_response,pct_remission,suppressed"
            .split(',')
            .collect::<Vec<_>>()
    );
    // Every instrument the sample uses has an overall margin; rows are sorted on their keys.
    for inst in [
        "DAYS_USED",
        "DAST10",
        "EDEQ",
        "GAD7",
        "PCL5",
        "PHQ9",
        "AUDITC",
        "DERS",
    ] {
        assert!(
            rows.contains_key(&(inst.into(), "All".into(), "All".into())),
            "{inst}"
        );
    }
    let keys: Vec<Vec<&str>> = t
        .iter()
        .map(|r| r.cells(&["instrument", "track", "modality"]))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // The manifest reconciles the rows and records suppression.
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["suppression"]["enabled"], true);
    assert_eq!(m["inputs"].as_array().unwrap().len(), 3);
    for a in m["accounting"].as_array().unwrap() {
        let q: u64 = a["quarantined"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(
            a["rows_read"].as_u64().unwrap(),
            a["accepted"].as_u64().unwrap() + q
        );
    }
}

#[test]
fn planted_modality_effects_are_recovered() {
    let w = WorkDir::new();
    let input = w.synth("s", 20_000, 2718, 0.0);
    run(&input, &w.join("out"), &["--no-suppress"]).success();
    let (_, rows) = outcomes(&w.join("out/all/outcomes.csv"));
    // The planted expectation of each cell, from each pair's baseline (exact, scale ends
    // included: src/synth/model.rs).
    let cfg = Config::default();
    let cat = cfg.catalog().unwrap();
    let export = ingest::load(&input, &cfg, &cat).unwrap();
    let rules = PairingRules {
        baseline: cfg.pairing.baseline_window,
        followup_name: "discharge".into(),
        followup: cfg.followups()["discharge"].clone(),
    };
    let anchors = cohort::anchors(&export.episodes, &rules.followup);
    let pairs = cohort::pair(&export.episodes, &export.assessments, &anchors, &rules);
    let mut planted: HashMap<(String, String, String), (f64, u64)> = HashMap::new();
    for p in pairs.iter().filter(|p| p.followup.is_some()) {
        let e = p.episode as usize;
        let inst = export.assessments.instruments[p.instrument as usize].clone();
        let m = &export.episodes.modality[e];
        // The follow-up's planted expectation given the baseline and the weeks between them
        // (any later assessment follows the trajectory: discharge, mid-treatment or day 90).
        let (_, fu_date) = p.followup.unwrap();
        let weeks = f64::from(fu_date - p.baseline_date) / 7.0;
        let exp = expected_followup(&inst, m, p.baseline, weeks, 1.0) - p.baseline;
        let entry = planted
            .entry((inst, export.episodes.track[e].clone(), m.clone()))
            .or_insert((0.0, 0));
        entry.0 += exp;
        entry.1 += 1;
    }
    let mut zs = Vec::new();
    for (key, (sum, n)) in &planted {
        if *n < 150 {
            continue;
        }
        let r = &rows[key];
        let want = sum / *n as f64;
        assert_eq!(r[7].parse::<u64>().unwrap(), *n, "{key:?}: n_paired");
        // z of the planted value from the reported mean and its 95% CI (t quantile, df n - 1).
        let (mean, lo, hi): (f64, f64, f64) = (
            r[13].parse().unwrap(),
            r[15].parse().unwrap(),
            r[16].parse().unwrap(),
        );
        let q = statrs::distribution::StudentsT::new(0.0, 1.0, *n as f64 - 1.0).unwrap();
        let se = (hi - lo) / 2.0 / statrs::distribution::ContinuousCDF::inverse_cdf(&q, 0.975);
        zs.push((format!("{key:?}"), (mean - want) / se));
    }
    assert!(zs.len() >= 20, "only {} large cells", zs.len());
    assert_covered(&zs);
}

#[test]
fn small_cells_are_suppressed_unless_asked_not_to() {
    let w = WorkDir::new();
    let input = w.synth("s", 1000, 9, 0.0);
    run(&input, &w.join("a"), &[]).success();
    run(&input, &w.join("b"), &["--no-suppress"]).success();
    let (ta, _) = outcomes(&w.join("a/all/outcomes.csv"));
    let (tb, _) = outcomes(&w.join("b/all/outcomes.csv"));
    assert_eq!(ta.rows.len(), tb.rows.len());
    let counts = [
        "n_episodes",
        "n_baseline",
        "n_paired",
        "n_improved",
        "n_unchanged",
        "n_deteriorated",
        "n_cases",
    ];
    let mut suppressed_rows = 0;
    for (ra, rb) in ta.rows.iter().zip(&tb.rows) {
        for c in counts {
            let i = ta.col(c);
            if let Ok(n) = ra[i].parse::<u64>() {
                assert!(n == 0 || n >= 11, "{c} = {n} shown in a suppressed report");
            }
        }
        let n_paired: u64 = rb[tb.col("n_paired")].parse().unwrap();
        if (1..11).contains(&n_paired) {
            suppressed_rows += 1;
            assert_eq!(ra[ta.col("suppressed")], "true");
            for c in [
                "change_mean",
                "baseline_mean",
                "p_t",
                "change_ci_low",
                "g_av",
            ] {
                assert_eq!(ra[ta.col(c)], "", "{c} shown for n_paired = {n_paired}");
            }
        }
        assert_eq!(rb[tb.col("suppressed")], "false");
    }
    assert!(suppressed_rows > 0, "no small cell in the fixture");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.join("b/all/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["suppression"]["enabled"], false);
}

#[test]
fn outputs_are_byte_identical_whatever_the_thread_count() {
    // Chunks of at least 64 KiB (not 1 MiB): the files are cut into several chunks, at
    // different places with 1, 2 and 3 threads, so a chunk-boundary bug shows.
    let w = WorkDir::new();
    let input = w.synth("s", 5000, 12, 0.01);
    let at = |threads: &str| {
        bin()
            .env("IOP_OUTCOMES_TEST_CHUNK_BYTES", "65536")
            .args(["run", "--threads", threads, "--input"])
            .arg(&input)
            .arg("--out")
            .arg(w.join("out"))
            .assert()
            .success();
        snapshot(&w.join("out/all"))
    };
    let (one, two) = (at("1"), at("2"));
    assert_eq!(at("3"), one, "3 threads");
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        two.keys().collect::<Vec<_>>()
    );
    for (k, v) in &one {
        assert!(v == &two[k], "{k} differs between 1 and 2 threads");
    }
}

#[test]
fn a_period_selects_episodes_by_discharge_date() {
    let w = WorkDir::new();
    let input = w.synth("s", 4000, 21, 0.0);
    // The selection, not small-cell protection, is under test: a quarter's overall
    // n_episodes may be a complementary blank.
    run(
        &input,
        &w.join("out"),
        &["--period", "2025Q3", "--no-suppress"],
    )
    .success();
    let q3 = Table::read(&w.join("out/2025Q3/outcomes.csv"));
    let e = Table::read(&input.join("episodes.csv"));
    let in_q3 = e
        .iter()
        .filter(|r| ("2025-07-01".."2025-10-01").contains(&r.get("discharge_date")))
        .count();
    let phq9 = [
        ("instrument", "PHQ9"),
        ("track", "All"),
        ("modality", "All"),
    ];
    let all = q3.find(&phq9);
    assert_eq!(all.get("period"), "2025Q3");
    assert_eq!(
        all.num("n_episodes"),
        Some(in_q3 as f64),
        "n_episodes of the overall margin"
    );
    run(
        &input,
        &w.join("out"),
        &[
            "--from",
            "2025-07-01",
            "--to",
            "2025-09-30",
            "--no-suppress",
        ],
    )
    .success();
    let range = Table::read(&w.join("out/2025-07-01_2025-09-30/outcomes.csv"));
    let r = range.find(&phq9);
    assert_eq!(r.get("n_episodes"), all.get("n_episodes"));
    assert_eq!(r.get("period"), "2025-07-01_2025-09-30");
}

#[test]
fn an_admit_anchored_followup_point_from_the_config() {
    let w = WorkDir::new();
    let input = w.synth("s", 3000, 22, 0.0);
    std::fs::write(
        w.join("c.toml"),
        "[followup.day90]\nanchor = \"admit\"\ntarget_days = 90\nwindow = [-14, 14]\n",
    )
    .unwrap();
    bin()
        .args(["run", "--followup", "day90", "--no-suppress", "--input"])
        .arg(&input)
        .arg("--config")
        .arg(w.join("c.toml"))
        .arg("--out")
        .arg(w.join("out"))
        .assert()
        .success();
    let t = Table::read(&w.join("out/all/outcomes.csv"));
    let r = t.find(&[
        ("instrument", "PHQ9"),
        ("track", "All"),
        ("modality", "All"),
    ]);
    assert_eq!(r.get("followup"), "day90");
    let paired = r.num("n_paired").unwrap();
    assert!(paired > 50.0, "day-90 pairs: {paired}");
    bin()
        .args(["run", "--followup", "day30", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(w.join("out"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--followup day30"));
}

#[test]
fn bad_input_exits_1_and_publishes_nothing() {
    let w = WorkDir::new();
    std::fs::create_dir_all(w.join("in")).unwrap();
    std::fs::write(w.join("in/episodes.csv"), "episode_id,client_id\n").unwrap();
    run(&w.join("in"), &w.join("out"), &[])
        .code(1)
        .stderr(predicate::str::contains("episodes.csv"));
    assert!(!w.join("out/all").exists());
}

#[test]
fn grouping_columns_come_from_the_config() {
    let w = WorkDir::new();
    let input = w.synth("s", 2000, 23, 0.0);
    std::fs::write(
        w.join("c.toml"),
        "[report]\ngroup_by = [\"delivery\", \"site\"]\n",
    )
    .unwrap();
    bin()
        .args(["run", "--input"])
        .arg(&input)
        .arg("--config")
        .arg(w.join("c.toml"))
        .arg("--out")
        .arg(w.join("out"))
        .assert()
        .success();
    let t = Table::read(&w.join("out/all/outcomes.csv"));
    assert_eq!(&t.header[2..5], &["instrument", "delivery", "site"]);
    let deliveries: std::collections::BTreeSet<&str> =
        t.iter().map(|r| r.get("delivery")).collect();
    assert_eq!(
        deliveries.into_iter().collect::<Vec<_>>(),
        vec!["All", "hybrid", "in_person", "telehealth"]
    );
    // Each instrument has exactly one overall margin.
    t.find(&[("instrument", "PHQ9"), ("delivery", "All"), ("site", "All")]);
}

#[test]
fn silent_under_cron_and_chatty_when_asked() {
    let w = WorkDir::new();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    // No terminal: nothing on stdout or stderr.
    run(&sample, &w.join("a"), &[])
        .success()
        .stdout("")
        .stderr("");
    run(&sample, &w.join("a"), &["--log-level", "info"])
        .success()
        .stderr(predicate::str::contains("input rows quarantined"));
    let input = w.synth("s", 1000, 1, 0.0);
    std::fs::remove_file(input.join("attendance.csv")).unwrap();
    run(&input, &w.join("b"), &["--log-level", "info"])
        .success()
        .stderr(predicate::str::contains("attendance.csv not supplied"));
}

#[test]
fn data_loss_warnings_reach_stderr_under_cron_and_quiet_keeps_errors_only() {
    // 3% of rows bad: above the 1% warning line, below the 10% error line (SPEC §16 O2).
    let w = WorkDir::new();
    let input = w.synth("s", 1000, 5, 0.03);
    run(&input, &w.join("a"), &[])
        .success()
        .stdout("")
        .stderr(predicate::str::contains("warning: assessments.csv:"))
        .stderr(predicate::str::contains("were quarantined"));
    run(&input, &w.join("b"), &["--quiet"]).success().stderr("");
    // The share threshold from the config turns the same loss into a data error.
    let cfg = w.join("strict.toml");
    std::fs::write(&cfg, "[input]\nmax_quarantined_share = 0.01\n").unwrap();
    run(&input, &w.join("c"), &["--config", cfg.to_str().unwrap()])
        .code(1)
        .stderr(predicate::str::contains("max_quarantined_share = 0.01"))
        .stderr(predicate::str::contains("nothing was published"));
    assert!(!w.join("c/all").exists());
}

#[test]
fn a_run_on_the_bundled_sample_says_so() {
    // A forgotten --input (cron, SPEC §16 O11): the default is the bundled sample, and the
    // report, the summary and stderr all say that it is synthetic.
    let w = WorkDir::new();
    bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--out"])
        .arg(w.join("r"))
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "reporting on the bundled synthetic sample",
        ));
    let html = std::fs::read_to_string(w.join("r/all/report.html")).unwrap();
    assert!(html.contains("<title>IOP outcomes report: all (synthetic data)</title>"));
    // (minijinja escapes `/` as `&#x2f;`.)
    assert!(html.contains("the bundled sample (data&#x2f;sample): a synthetic export made by iop-outcomes synth (seed 7, 2000 episodes)"));
    let summary = std::fs::read_to_string(w.join("r/all/summary.md")).unwrap();
    assert!(
        summary.starts_with("# IOP outcomes: all (synthetic data)\n"),
        "{summary}"
    );
    // A generated export elsewhere is named as synthetic too; a real one (no synth.json) is not.
    let input = w.synth("s", 1000, 1, 0.0);
    run(&input, &w.join("x"), &[]).success().stderr("");
    let html = std::fs::read_to_string(w.join("x/all/report.html")).unwrap();
    assert!(html.contains("a synthetic export made by iop-outcomes synth (seed 1, 1000 episodes)"));
    std::fs::remove_file(input.join("synth.json")).unwrap();
    run(&input, &w.join("y"), &[]).success();
    let html = std::fs::read_to_string(w.join("y/all/report.html")).unwrap();
    assert!(!html.contains("synthetic"));
}

#[test]
fn period_previous_is_the_last_complete_quarter() {
    let w = WorkDir::new();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    let want =
        iop_outcomes::options::Period::previous_quarter(iop_outcomes::dates::today()).label();
    // The sample ends in 2026Q4; a later quarter has no cohort (exit 1), an earlier one a report.
    let out = run(&sample, &w.join("r"), &["--period", "previous"])
        .get_output()
        .clone();
    if out.status.success() {
        assert!(
            w.join("r").join(&want).join("outcomes.csv").exists(),
            "{want}"
        );
    } else {
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("falls in {want}")), "{err}");
    }
}
