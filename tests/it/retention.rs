//! retention.csv and retention_tests.csv end to end (SPEC §13): the wiring against R on a
//! generated export, the planted discharge shares, the files read by column name, and
//! `--data-through`.

use crate::retention_values::{RefRow, DATA_THROUGH, GROUP, ROWS, TESTS};
use crate::util::{corpus, run, Row, Table, WorkDir};
use iop_outcomes::assert_close;
use iop_outcomes::stats::prec::{Tol, SURVIVAL_ESTIMATE, SURVIVAL_SE};
use iop_outcomes::synth::model::reason_share;
use predicates::prelude::*;
use std::path::Path;

/// A cell against R's value (`None`: R's NA, an empty cell); returns the relative error.
fn close(r: &Row, column: &str, want: Option<f64>, tol: Tol, at: &str) -> f64 {
    match (r.num(column), want) {
        (Some(g), Some(w)) => assert_close!(g, w, tol, "{at} {column}"),
        (None, None) => 0.0,
        (g, w) => panic!("{at} {column}: got {g:?}, want {w:?}"),
    }
}

fn count(r: &Row, column: &str) -> u64 {
    r.get(column)
        .parse()
        .unwrap_or_else(|e| panic!("{column} = {:?}: {e}", r.get(column)))
}

#[test]
fn the_tables_equal_r_on_a_generated_export() {
    let w = WorkDir::new();
    let input = w.synth("s", 400, 16, 0.0);
    run(&input, &w.join("out"), &["--no-suppress"]).success();
    let t = Table::read(&w.join("out/all/retention.csv"));
    let rows: Vec<Row> = t
        .iter()
        .filter(|r| r.get("track") == GROUP[0] && r.get("modality") == GROUP[1])
        .collect();
    assert_eq!(rows.len(), ROWS.len(), "one row per distinct day");
    let (mut est, mut se) = (0.0f64, 0.0f64);
    for (r, want) in rows.iter().zip(ROWS) {
        let RefRow {
            day,
            n_risk,
            n_dropout,
            n_completed,
            n_other,
            n_censored,
            dropout,
            completed,
            other,
        } = want;
        let at = format!("{GROUP:?} day {day}");
        assert_eq!(r.get("day"), day.to_string(), "{at}");
        assert_eq!(
            [
                "n_risk",
                "n_dropout",
                "n_completed",
                "n_other",
                "n_censored"
            ]
            .map(|c| count(r, c)),
            [*n_risk, *n_dropout, *n_completed, *n_other, *n_censored],
            "{at}"
        );
        for (outcome, v) in [("dropout", dropout), ("completed", completed)] {
            let c = |s: &str| format!("cif_{outcome}{s}");
            est = est.max(close(r, &c(""), v[0], SURVIVAL_ESTIMATE, &at));
            se = se.max(close(r, &c("_se"), v[1], SURVIVAL_SE, &at));
            se = se.max(close(r, &c("_low"), v[2], SURVIVAL_SE, &at));
            se = se.max(close(r, &c("_high"), v[3], SURVIVAL_SE, &at));
        }
        est = est.max(close(r, "cif_other", other[0], SURVIVAL_ESTIMATE, &at));
        se = se.max(close(r, "cif_other_se", other[1], SURVIVAL_SE, &at));
        assert_eq!(r.get("suppressed"), "false");
    }
    let tests = Table::read(&w.join("out/all/retention_tests.csv"));
    assert_eq!(tests.rows.len(), TESTS.len());
    let mut test_err = 0.0f64;
    for &(track, n, dropouts, chisq, df, p) in TESTS {
        let r = tests.find(&[("track", track)]);
        assert_eq!(
            (count(&r, "n_episodes"), count(&r, "n_dropout")),
            (n, dropouts)
        );
        test_err = test_err.max(close(&r, "chisq", chisq, SURVIVAL_ESTIMATE, track));
        assert_eq!(r.num("df"), df, "{track} df");
        test_err = test_err.max(close(&r, "p", p, SURVIVAL_ESTIMATE, track));
    }
    eprintln!(
        "retention against R: worst relative error estimates {est:e}, standard errors and limits {se:e}, chisq and p {test_err:e}"
    );
    // The page says where episodes still in care are followed to.
    let html = std::fs::read_to_string(w.join("out/all/report.html")).unwrap();
    assert!(
        html.contains(&format!(
            "followed to {DATA_THROUGH}, the latest date in the export"
        )),
        "the methods name data_through"
    );
}

/// Two-sided normal quantile of a family-wise 95% level over `k` checks (Bonferroni).
fn bonferroni_z(k: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::standard().inverse_cdf(1.0 - 0.05 / (2.0 * k as f64))
}

#[test]
fn the_planted_discharge_shares_are_recovered() {
    let w = WorkDir::new();
    let input = w.synth("s", 20_000, 2016, 0.0);
    run(&input, &w.join("out"), &["--no-suppress"]).success();
    let t = Table::read(&w.join("out/all/retention.csv"));
    // The All/All group's last day: every episode has left or is censored (still in care at
    // the extraction date, independently of its planted reason), so the cumulative incidences
    // estimate the planted shares of every episode.
    let last = t
        .iter()
        .filter(|r| r.get("track") == "All" && r.get("modality") == "All")
        .last()
        .expect("the All/All group");
    let planted = [
        ("dropout", reason_share("left_early")),
        ("completed", reason_share("completed")),
        (
            "other",
            1.0 - reason_share("left_early") - reason_share("completed"),
        ),
    ];
    let z = bonferroni_z(planted.len());
    let mut lines = Vec::new();
    for (outcome, want) in planted {
        let p = last.num(&format!("cif_{outcome}")).unwrap();
        let se = last.num(&format!("cif_{outcome}_se")).unwrap();
        let (lo, hi) = (p - z * se, p + z * se);
        lines.push(format!(
            "{outcome}: planted {want:.2}, estimate {p:.4} (se {se:.4}), Bonferroni 95% [{lo:.4}, {hi:.4}], z {:.2}",
            (p - want) / se
        ));
        assert!(lo <= want && want <= hi, "{}", lines.join("\n"));
    }
    eprintln!("day {}:\n{}", last.get("day"), lines.join("\n"));
    // No modality effect on dropout is planted: no log-rank test rejects at a family-wise 5%.
    let tests = Table::read(&w.join("out/all/retention_tests.csv"));
    let alpha = 0.05 / tests.rows.len() as f64;
    for r in tests.iter() {
        let p = r.num("p").expect("every track has several modalities");
        assert!(p > alpha, "{}: p = {p}", r.get("track"));
    }
}

#[test]
fn both_files_read_by_column_name() {
    let w = WorkDir::new();
    let input = w.synth("s", 400, 16, 0.0);
    run(&input, &w.join("open"), &["--no-suppress"]).success();
    let open = Table::read(&w.join("open/all/retention.csv"));
    assert!(!open.header.iter().any(|h| h == "followup"));
    // Within a group days ascend and the risk set shrinks by the day's outcomes and
    // censorings; incidences lie in their limits.
    let mut prev: Option<(String, u64, u64)> = None;
    for r in open.iter() {
        let key = format!("{}/{}", r.get("track"), r.get("modality"));
        let day: u64 = count(&r, "day");
        let n = count(&r, "n_risk");
        let left: u64 = ["n_dropout", "n_completed", "n_other", "n_censored"]
            .iter()
            .map(|c| count(&r, c))
            .sum();
        if let Some((k, d, expect)) = &prev {
            if *k == key {
                assert!(day > *d, "{key}: days ascend");
                assert_eq!(n, *expect, "{key} day {day}: n_risk");
            }
        }
        prev = Some((key.clone(), day, n - left));
        for o in ["dropout", "completed"] {
            let p = r.num(&format!("cif_{o}")).unwrap();
            assert!((0.0..=1.0).contains(&p));
            if let (Some(lo), Some(hi)) = (
                r.num(&format!("cif_{o}_low")),
                r.num(&format!("cif_{o}_high")),
            ) {
                assert!(lo <= p && p <= hi, "{key} {o}");
            }
        }
    }
    let tests = Table::read(&w.join("open/all/retention_tests.csv"));
    assert_eq!(
        tests.header,
        [
            "period",
            "track",
            "n_episodes",
            "n_dropout",
            "chisq",
            "df",
            "p",
            "suppressed"
        ]
    );
    let tracks: Vec<&str> = tests.iter().map(|r| r.get("track")).collect();
    assert_eq!(
        tracks,
        [
            "All",
            "adolescent",
            "co_occurring",
            "eating_disorder",
            "mental_health",
            "substance_use"
        ]
    );
    // The report has its section and one chart per track and for all tracks.
    let html = std::fs::read_to_string(w.join("open/all/report.html")).unwrap();
    assert!(html.contains("<h2 id=\"retention-summary\">Retention</h2>"));
    let charts = std::fs::read_dir(w.join("open/all/charts"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.starts_with("retention_") && name.ends_with(".png")
        })
        .count();
    assert_eq!(charts, 6);
}

/// The retention charts a run drew.
fn retention_charts(folder: &Path) -> usize {
    std::fs::read_dir(folder.join("charts"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("retention_")
        })
        .count()
}

#[test]
fn protection_withholds_the_daily_rows_publishes_the_summary_and_the_audit_passes() {
    // One quarter of a 2,000-episode export: many small cells. With suppression on (the
    // default) retention.csv and retention_tests.csv keep their header and publish no row,
    // the dropout charts show days 30, 60 and 90 only, retention_summary.csv publishes the figures by day 30,
    // 60 and 90 that reveal no small count, the page and summary.md show them and say what
    // is withheld, and the run passes the disclosure audit.
    let w = WorkDir::new();
    let input = w.synth("s", 2000, 23, 0.0);
    run(
        &input,
        &w.join("open"),
        &["--no-suppress", "--period", "2025Q3"],
    )
    .success();
    run(&input, &w.join("shut"), &["--period", "2025Q3"]).success();
    for file in ["retention.csv", "retention_tests.csv"] {
        let open = Table::read(&w.join("open/2025Q3").join(file));
        let shut = Table::read(&w.join("shut/2025Q3").join(file));
        assert!(!open.rows.is_empty(), "{file}: rows without suppression");
        assert_eq!(open.header, shut.header, "{file}");
        assert!(shut.rows.is_empty(), "{file}: withheld whole");
    }
    // The summary: the same groups; each count published as computed or blank, never 1-10;
    // each incidence and its limits published exactly when their count is.
    let open = Table::read(&w.join("open/2025Q3/retention_summary.csv"));
    let shut = Table::read(&w.join("shut/2025Q3/retention_summary.csv"));
    assert_eq!(open.header, shut.header);
    assert_eq!(open.rows.len(), shut.rows.len());
    let (mut shown, mut blank) = (0, 0);
    for (o, s) in open.iter().zip(shut.iter()) {
        assert_eq!(
            o.cells(&["track", "modality", "followed_to_day"]),
            s.cells(&["track", "modality", "followed_to_day"])
        );
        for (count, cif) in [
            ("n_dropout_30", "cif_dropout_30"),
            ("n_dropout_60", "cif_dropout_60"),
            ("n_dropout_90", "cif_dropout_90"),
            ("n_completed_30", "cif_completed_30"),
            ("n_completed_60", "cif_completed_60"),
            ("n_completed_90", "cif_completed_90"),
        ] {
            let n = s.get(count);
            assert!(!o.get(count).is_empty(), "{count}: observed in every group");
            if n.is_empty() {
                blank += 1;
                for c in [cif, &format!("{cif}_low"), &format!("{cif}_high")] {
                    assert_eq!(s.get(c), "", "{c} blank with {count}");
                }
                continue;
            }
            shown += 1;
            assert_eq!(n, o.get(count));
            let v: u64 = n.parse().unwrap();
            assert!(v == 0 || v >= 11, "{count} = {v} published");
            // An incidence needs its denominator too (a zero may stay beside a blank total).
            let episodes = !s.get("n_episodes").is_empty();
            for c in [cif, &format!("{cif}_low"), &format!("{cif}_high")] {
                // (Empty anyway where follow-up does not reach the day.)
                let want = if episodes { o.get(c) } else { "" };
                assert_eq!(s.get(c), want, "{c} as computed, or blank with n_episodes");
            }
        }
    }
    assert!(shown > 0 && blank > 0, "{shown} shown, {blank} blank");
    let shut = w.join("shut/2025Q3");
    let html = std::fs::read_to_string(shut.join("report.html")).unwrap();
    assert!(html.contains("only the figures by day 30, 60 and 90 are published"));
    // Both day-by-day tables' sections say why they are empty, not "No rows for this period."
    assert_eq!(
        html.matches("Withheld from this report under small-cell protection")
            .count(),
        2
    );
    assert!(!html.contains("No rows for this period."));
    assert!(html.contains("dropped out") && html.contains("95% CI"));
    assert!(!html.contains("log-rank chi-square"));
    let summary = std::fs::read_to_string(shut.join("summary.md")).unwrap();
    assert!(summary.contains("only the figures by day 30, 60 and 90 are published"));
    assert!(summary.contains("- All tracks ("), "{summary}");
    // The charts show the published days 30, 60 and 90 only.
    assert!(retention_charts(&shut) > 0);
    let svg = std::fs::read_to_string(shut.join("charts/retention_all.svg")).unwrap();
    assert!(svg.contains("only days 30, 60"));
    assert!(retention_charts(&w.join("open/2025Q3")) > 0);
    let manifest = std::fs::read_to_string(shut.join("manifest.json")).unwrap();
    assert!(
        manifest.contains("\"audit\""),
        "the manifest records the audit"
    );
}

#[test]
fn data_through_censors_episodes_still_in_care() {
    // valid_baseline: E1 admitted 2025-01-06, completed 2025-02-14 (day 39); E2 admitted
    // 2025-02-03, left early 2025-03-28 (day 53); E3 admitted 2025-03-03, still in care.
    let input = corpus("valid_baseline");
    let w = WorkDir::new();
    run(
        &input,
        &w.join("a"),
        &["--no-suppress", "--data-through", "2025-12-31"],
    )
    .success();
    let t = Table::read(&w.join("a/all/retention.csv"));
    let all: Vec<Vec<&str>> = t
        .iter()
        .filter(|r| r.get("track") == "All" && r.get("modality") == "All")
        .map(|r| r.cells(&["day", "n_risk", "n_dropout", "n_completed", "n_censored"]))
        .collect();
    assert_eq!(
        all,
        [
            ["39", "3", "0", "1", "0"],
            ["53", "2", "1", "0", "0"],
            ["303", "1", "0", "0", "1"]
        ]
    );
    let html = std::fs::read_to_string(w.join("a/all/report.html")).unwrap();
    assert!(html.contains("followed to 2025-12-31 (given with --data-through)"));
    // On E3's admission day: E3 is censored on day 0, and the discharges after that date
    // are still events.
    run(
        &input,
        &w.join("b"),
        &["--no-suppress", "--data-through", "2025-03-03"],
    )
    .success();
    let t = Table::read(&w.join("b/all/retention.csv"));
    let days: Vec<Vec<&str>> = t
        .iter()
        .filter(|r| r.get("track") == "All" && r.get("modality") == "All")
        .map(|r| r.cells(&["day", "n_dropout", "n_completed", "n_censored"]))
        .collect();
    assert_eq!(
        days,
        [
            ["0", "0", "0", "1"],
            ["39", "0", "1", "0"],
            ["53", "1", "0", "0"]
        ]
    );
}

#[test]
fn data_through_before_an_admission_is_a_usage_error() {
    let w = WorkDir::new();
    run(
        &corpus("valid_baseline"),
        &w.join("out"),
        &["--data-through", "2025-03-02"],
    )
    .code(2)
    .stderr(predicate::str::contains("--data-through 2025-03-02"))
    .stderr(predicate::str::contains(
        "1 accepted episode was admitted after",
    ));
    assert!(!w.join("out/all").exists(), "nothing published");
    run(
        &corpus("valid_baseline"),
        &w.join("out"),
        &["--data-through", "2025-02-30"],
    )
    .code(2)
    .stderr(predicate::str::contains("--data-through expects a date"));
}

#[test]
fn dropout_reasons_come_from_the_config() {
    let w = WorkDir::new();
    let cfg = w.join("c.toml");
    std::fs::write(&cfg, "[retention]\ndropout_reasons = [\"completed\"]\n").unwrap();
    run(
        &corpus("valid_baseline"),
        &w.join("out"),
        &["--no-suppress", "--config", cfg.to_str().unwrap()],
    )
    .success();
    let t = Table::read(&w.join("out/all/retention.csv"));
    // Checked first: completed counts as dropout, left_early as other.
    let r = t.find(&[("track", "All"), ("modality", "All"), ("day", "39")]);
    assert_eq!(r.cells(&["n_dropout", "n_completed"]), ["1", "0"]);
    let r = t.find(&[("track", "All"), ("modality", "All"), ("day", "53")]);
    assert_eq!(r.cells(&["n_dropout", "n_other"]), ["0", "1"]);
    std::fs::write(&cfg, "[retention]\ndropout_reasons = []\n").unwrap();
    run(
        &corpus("valid_baseline"),
        &w.join("out"),
        &["--config", cfg.to_str().unwrap()],
    )
    .code(2)
    .stderr(predicate::str::contains("[retention] dropout_reasons"));
}
