//! The synthetic export generator: determinism, planted effects, injected bad rows.

use crate::util::{assert_covered, bin, snapshot, truth, Table, WorkDir};
use iop_outcomes::dates::{parse_iso, Day};
use iop_outcomes::instruments::Catalog;
use iop_outcomes::synth::model::{self, clamped_normal_mean, days_latent, expected_followup};
use std::collections::{BTreeMap, HashMap, HashSet};

#[test]
fn same_seed_gives_byte_identical_files() {
    let w = WorkDir::new();
    let a = snapshot(&w.synth("a", 2000, 7, 0.01));
    let b = snapshot(&w.synth("b", 2000, 7, 0.01));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        vec![
            "assessments.csv",
            "attendance.csv",
            "episodes.csv",
            "synth.json"
        ]
    );
    assert!(a == b, "two runs with seed 7 differ");
    let c = snapshot(&w.synth("c", 2000, 8, 0.01));
    assert_ne!(
        a["episodes.csv"], c["episodes.csv"],
        "seed does not change the output"
    );
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let w = WorkDir::new();
    let mut dirs = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = w.join(threads);
        bin()
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "synth",
                "--quiet",
                "--episodes",
                "5000",
                "--seed",
                "3",
                "--dirty",
                "0.01",
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        dirs.push(snapshot(&out));
    }
    assert!(dirs[0] == dirs[1] && dirs[1] == dirs[2]);
}

#[test]
fn prints_row_counts_unless_quiet() {
    let w = WorkDir::new();
    let out = w.join("x");
    let a = bin()
        .args(["synth", "--episodes", "50", "--out"])
        .arg(&out)
        .assert()
        .success();
    let text = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    let rows = Table::read(&out.join("episodes.csv")).rows.len();
    assert_eq!(rows, 50);
    assert!(
        text.contains("episodes.csv") && text.contains(" 50 rows"),
        "{text}"
    );
    bin()
        .args(["synth", "--quiet", "--episodes", "50", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout("");
}

#[test]
fn truth_row_counts_match_the_files() {
    let w = WorkDir::new();
    let dir = w.synth("t", 3000, 11, 0.02);
    let t = truth(&dir);
    for f in ["episodes.csv", "assessments.csv", "attendance.csv"] {
        let rows = Table::read(&dir.join(f)).rows.len() as u64;
        let ft = &t["files"][f];
        assert_eq!(ft["rows"].as_u64().unwrap(), rows, "{f}");
        let bad: u64 = ft["quarantined"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(ft["accepted"].as_u64().unwrap() + bad, rows, "{f}");
    }
}

#[test]
fn a_dirty_export_is_the_clean_export_with_bad_rows_injected() {
    let w = WorkDir::new();
    let clean = w.synth("clean", 2000, 5, 0.0);
    let dirty = w.synth("dirty", 2000, 5, 0.03);
    for f in ["episodes.csv", "assessments.csv", "attendance.csv"] {
        let c = std::fs::read_to_string(clean.join(f)).unwrap();
        let d = std::fs::read_to_string(dirty.join(f)).unwrap();
        let dl: HashSet<&str> = d.lines().collect();
        let missing = c.lines().filter(|l| !dl.contains(l)).count();
        let clean_rows = c.lines().count() - 1;
        // Only rows changed in place go missing: a few percent, never zero.
        assert!(missing > 0, "{f}: nothing was injected");
        assert!(
            (missing as f64) < 0.03 * clean_rows as f64,
            "{f}: {missing} of {clean_rows} rows changed"
        );
    }
}

/// Per-episode facts needed to pair the raw data.
struct Ep {
    site: String,
    modality: String,
    reason: String,
    admit: Day,
    discharge: Option<Day>,
}

fn episodes(dir: &std::path::Path) -> HashMap<String, Ep> {
    let t = Table::read(&dir.join("episodes.csv"));
    let (id, s, m, a, d, r) = (
        t.col("episode_id"),
        t.col("site"),
        t.col("modality"),
        t.col("admit_date"),
        t.col("discharge_date"),
        t.col("discharge_reason"),
    );
    t.rows
        .iter()
        .map(|row| {
            (
                row[id].clone(),
                Ep {
                    site: row[s].clone(),
                    modality: row[m].clone(),
                    reason: row[r].clone(),
                    admit: parse_iso(row[a].as_bytes()).unwrap(),
                    discharge: parse_iso(row[d].as_bytes()),
                },
            )
        })
        .collect()
}

/// Each episode × instrument's assessments, (date, score) in date order, in id order.
fn assessments_by_episode(dir: &std::path::Path) -> BTreeMap<(String, String), Vec<(Day, f64)>> {
    let t = Table::read(&dir.join("assessments.csv"));
    let mut by: BTreeMap<(String, String), Vec<(Day, f64)>> = BTreeMap::new();
    for r in &t.rows {
        by.entry((r[0].clone(), r[1].clone()))
            .or_default()
            .push((parse_iso(r[2].as_bytes()).unwrap(), r[3].parse().unwrap()));
    }
    for list in by.values_mut() {
        list.sort_by_key(|x| x.0);
    }
    by
}

/// One raw baseline/follow-up pair: the episode's site, the baseline, the follow-up and the
/// weeks between them.
#[derive(Clone)]
struct RawPair {
    site: String,
    baseline: f64,
    followup: f64,
    weeks: f64,
}

/// (instrument, modality) -> raw pairs, paired the way the generator schedules them: baseline
/// in [admit-7, admit+3], follow-up the assessment closest to discharge within
/// [discharge-5, discharge+3] (mid-treatment assessments stop 6 days before discharge).
fn raw_pairs(dir: &std::path::Path) -> BTreeMap<(String, String), Vec<RawPair>> {
    let eps = episodes(dir);
    let mut pairs: BTreeMap<(String, String), Vec<RawPair>> = BTreeMap::new();
    for (key, list) in assessments_by_episode(dir) {
        let ep = &eps[&key.0];
        let Some(dis) = ep.discharge else { continue };
        let base = list
            .iter()
            .filter(|(d, _)| (ep.admit - 7..=ep.admit + 3).contains(d))
            .min_by_key(|x| x.0);
        let fu = list
            .iter()
            .filter(|(d, _)| (dis - 5..=dis + 3).contains(d))
            .min_by_key(|(d, _)| ((d - dis).abs(), -d));
        if let (Some(b), Some(f)) = (base, fu) {
            if b.0 != f.0 {
                pairs
                    .entry((key.1.clone(), ep.modality.clone()))
                    .or_default()
                    .push(RawPair {
                        site: ep.site.clone(),
                        baseline: b.1,
                        followup: f.1,
                        weeks: f64::from(f.0 - b.0) / 7.0,
                    });
            }
        }
    }
    pairs
}

fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (v / n).sqrt())
}

#[test]
fn planted_modality_effects_are_present_in_the_raw_data() {
    let w = WorkDir::new();
    let dir = w.synth("p", 30_000, 2026, 0.0);
    let pairs = raw_pairs(&dir);
    let mut checked = 0;
    for ((instrument, modality), list) in &pairs {
        if list.len() < 300 {
            continue;
        }
        checked += 1;
        // Observed follow-up minus its planted expectation given the baseline and the weeks
        // since it: mean zero.
        let expected =
            |p: &RawPair| expected_followup(instrument, modality, p.baseline, p.weeks, 1.0);
        let resid: Vec<f64> = list.iter().map(|p| p.followup - expected(p)).collect();
        let (m, se) = mean_se(&resid);
        assert!(
            m.abs() < 4.0 * se,
            "{instrument}/{modality}: residual mean {m} (se {se})"
        );
        if instrument != "DAYS_USED" {
            // And the planted change is what the data show (away from the scale ends).
            let change: Vec<f64> = list.iter().map(|p| p.followup - p.baseline).collect();
            let (c, se) = mean_se(&change);
            let planted: f64 =
                list.iter().map(|p| expected(p) - p.baseline).sum::<f64>() / list.len() as f64;
            assert!(
                (c - planted).abs() < 4.0 * se,
                "{instrument}/{modality}: change {c} vs planted {planted}"
            );
            assert!(c < 0.0, "{instrument}/{modality}: no improvement");
        }
    }
    assert!(checked >= 15, "only {checked} large cells");
    // The modality ordering is visible: CBT (x1.0) improves PHQ-9 faster than MI (x0.7).
    let per_week = |m: &str| {
        mean_se(
            &pairs[&("PHQ9".into(), m.into())]
                .iter()
                .map(|p| (p.followup - p.baseline) / p.weeks)
                .collect::<Vec<_>>(),
        )
    };
    let (cbt, mi) = (per_week("CBT"), per_week("MI"));
    assert!(
        cbt.0 + 3.0 * (cbt.1.powi(2) + mi.1.powi(2)).sqrt() < mi.0,
        "CBT {cbt:?} vs MI {mi:?}"
    );
}

#[test]
fn every_later_assessment_follows_the_planted_trajectory() {
    // Mid-treatment assessments, discharge and day-90 follow-ups alike: given the recorded
    // baseline B (day d0), an assessment on day d has the exact expectation
    // expected_followup(B, (d - d0) / 7 weeks). Checked per instrument × modality and per
    // kind of assessment, family-wise.
    let w = WorkDir::new();
    let dir = w.synth("t", 30_000, 515, 0.0);
    let eps = episodes(&dir);
    let mut resid: BTreeMap<(String, String, &str), Vec<f64>> = BTreeMap::new();
    let mut mid_per_episode = 0;
    for ((id, instrument), list) in assessments_by_episode(&dir) {
        let ep = &eps[&id];
        let Some(&(d0, b)) = list
            .iter()
            .find(|(d, _)| (ep.admit - 7..=ep.admit + 3).contains(d))
        else {
            continue;
        };
        for &(d, score) in list.iter().filter(|x| x.0 != d0) {
            let kind = if ep
                .discharge
                .is_some_and(|dis| (dis - 5..=dis + 3).contains(&d))
            {
                "discharge"
            } else if (ep.admit + 80..=ep.admit + 100).contains(&d) {
                "day90"
            } else {
                "mid"
            };
            if kind == "mid" {
                mid_per_episode += 1;
                // Mid-treatment: on day 14k + 1..3, at least 6 days before discharge, never
                // in the baseline window, never for days of use.
                assert!(instrument != "DAYS_USED", "{id}: mid-treatment days of use");
                assert!(
                    (1..=3).contains(&((d - ep.admit) % 14)) && d - ep.admit > 14,
                    "{id} {instrument}: mid-treatment on day {}",
                    d - ep.admit
                );
                if let Some(dis) = ep.discharge {
                    assert!(d <= dis - 6, "{id} {instrument}: mid-treatment too late");
                }
            }
            let weeks = f64::from(d - d0) / 7.0;
            let e = expected_followup(&instrument, &ep.modality, b, weeks, 1.0);
            resid
                .entry((instrument.clone(), ep.modality.clone(), kind))
                .or_default()
                .push(score - e);
        }
    }
    assert!(
        mid_per_episode > 30_000,
        "{mid_per_episode} mid-treatment assessments"
    );
    let zs: Vec<(String, f64)> = resid
        .iter()
        .filter(|(_, r)| r.len() >= 200)
        .map(|(k, r)| {
            let (m, se) = mean_se(r);
            (format!("{k:?}"), m / se)
        })
        .collect();
    assert!(zs.len() >= 50, "only {} cells", zs.len());
    assert_covered(&zs);
}

#[test]
fn planted_abstinence_rates_are_present_in_the_raw_data() {
    let w = WorkDir::new();
    let dir = w.synth("a", 30_000, 99, 0.0);
    for ((instrument, modality), list) in raw_pairs(&dir) {
        if instrument != "DAYS_USED" || list.len() < 300 {
            continue;
        }
        let (_, p_abst) = model::modality_effect(&modality);
        // P(follow-up = 0 | baseline) = p + (1 - p) * P(floor(X + U) <= 0), and
        // P(floor(X + U) <= 0) = E[clamp(1 - X, 0, 1)].
        let expected: Vec<f64> = list
            .iter()
            .map(|pair| {
                let b = pair.baseline;
                let p = if b == 0.0 {
                    model::STAY_ABSTINENT
                } else {
                    p_abst
                };
                let (mu, sd) = days_latent(b as i64);
                p + (1.0 - p) * clamped_normal_mean(1.0 - mu, sd, 0.0, 1.0)
            })
            .collect();
        let n = list.len() as f64;
        let e = expected.iter().sum::<f64>() / n;
        let obs = list.iter().filter(|p| p.followup == 0.0).count() as f64 / n;
        let se = (e * (1.0 - e) / n).sqrt();
        assert!(
            (obs - e).abs() < 4.0 * se,
            "{modality}: abstinent {obs} vs planted {e}"
        );
    }
}

#[test]
fn the_retention_bias_signal_is_kept() {
    // Episodes that leave early start higher (the attrition table's signal) and have fewer
    // assessments; the discharge reasons keep their planted shares.
    let w = WorkDir::new();
    let dir = w.synth("r", 20_000, 8, 0.0);
    let eps = episodes(&dir);
    let mut by_reason: BTreeMap<String, (f64, f64, u64)> = BTreeMap::new();
    for ((id, instrument), list) in assessments_by_episode(&dir) {
        let ep = &eps[&id];
        if instrument != "PHQ9" || ep.reason.is_empty() {
            continue;
        }
        if let Some(&(_, b)) = list
            .iter()
            .find(|(d, _)| (ep.admit - 7..=ep.admit + 3).contains(d))
        {
            let e = by_reason.entry(ep.reason.clone()).or_default();
            e.0 += b;
            e.1 += list.len() as f64;
            e.2 += 1;
        }
    }
    let mean = |r: &str| {
        let (b, n, k) = by_reason[r];
        (b / k as f64, n / k as f64)
    };
    let (le, done) = (mean("left_early"), mean("completed"));
    // Planted: +2 points on average (PHQ-9 baseline SD 3.2; thousands of episodes).
    assert!((le.0 - done.0 - 2.0).abs() < 0.4, "{le:?} vs {done:?}");
    assert!(
        le.1 < done.1 - 1.0,
        "assessments per episode {le:?} vs {done:?}"
    );
    let discharged: Vec<&Ep> = eps.values().filter(|e| !e.reason.is_empty()).collect();
    let n = discharged.len() as f64;
    for &(reason, share) in model::REASONS {
        let k = discharged.iter().filter(|e| e.reason == reason).count() as f64;
        let se = (share * (1.0 - share) / n).sqrt();
        assert!(
            (k / n - share).abs() < 4.0 * se,
            "{reason}: {} vs {share}",
            k / n
        );
    }
}

#[test]
fn a_planted_site_effect_is_present_in_the_raw_data() {
    // site_03 improves 1.5 times as fast and starts 1 baseline SD higher; site_05 half as fast.
    let w = WorkDir::new();
    let out = w.join("site");
    bin()
        .args(["synth", "--quiet", "--episodes", "30000", "--seed", "12"])
        .args([
            "--site-effect",
            "site_03=1.5,1",
            "--site-effect",
            "site_05=0.5",
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let t = truth(&out);
    let planted = &t["planted"]["site_effects"];
    assert_eq!(planted.as_array().unwrap().len(), 2);
    assert_eq!(planted[0]["site"], "site_03");
    assert_eq!(planted[0]["slope_factor"], 1.5);
    assert_eq!(planted[0]["severity"], 1.0);
    assert_eq!(planted[0]["baseline_shift"]["PHQ9"], 3.0);
    assert_eq!(planted[1]["severity"], 0.0);
    let effects = [
        model::SiteEffect::parse("site_03=1.5,1").unwrap(),
        model::SiteEffect::parse("site_05=0.5").unwrap(),
    ];
    let catalog = Catalog::builtin();
    let mut zs = Vec::new();
    // Per site: (reliably improved, planted expectation, its variance, pairs).
    let mut improved: BTreeMap<&str, (f64, f64, f64, f64)> = BTreeMap::new();
    let mut baselines: BTreeMap<bool, (f64, f64)> = BTreeMap::new();
    for ((instrument, modality), list) in raw_pairs(&out) {
        if instrument == "DAYS_USED" {
            continue;
        }
        let threshold = catalog.get(&instrument).unwrap().rci_threshold();
        for site in ["site_03", "site_05", "site_01"] {
            let at: Vec<&RawPair> = list.iter().filter(|p| p.site == site).collect();
            if at.len() < 100 {
                continue;
            }
            let factor = model::slope_factor(&effects, site);
            // The pair expectation holds at each site with its slope factor ...
            let resid: Vec<f64> = at
                .iter()
                .map(|p| {
                    p.followup
                        - expected_followup(&instrument, &modality, p.baseline, p.weeks, factor)
                })
                .collect();
            let (m, se) = mean_se(&resid);
            zs.push((format!("{instrument}/{modality}/{site}"), m / se));
            // ... and so does the exact probability of reliable improvement.
            if let Some(thr) = threshold {
                let e = improved.entry(site).or_default();
                for p in &at {
                    let q = model::p_reliable_improvement(
                        &instrument,
                        &modality,
                        p.baseline,
                        p.weeks,
                        factor,
                        thr,
                    )
                    .unwrap();
                    e.0 += f64::from(u8::from(p.baseline - p.followup >= thr));
                    e.1 += q;
                    e.2 += q * (1.0 - q);
                    e.3 += 1.0;
                }
            }
        }
        if instrument == "PHQ9" {
            for p in &list {
                let b = baselines.entry(p.site == "site_03").or_default();
                b.0 += p.baseline;
                b.1 += 1.0;
            }
        }
    }
    assert!(zs.len() >= 30, "only {} cells", zs.len());
    assert_covered(&zs);
    for (site, (obs, exp, var, _)) in &improved {
        assert!(
            (obs - exp).abs() < 4.0 * var.sqrt(),
            "{site}: {obs} reliably improved, {exp} planted"
        );
    }
    // Improvement is more likely at site_03 and less likely at site_05 than at site_01.
    let rate = |s: &str| improved[s].0 / improved[s].3;
    assert!(
        rate("site_03") > rate("site_01") + 0.05 && rate("site_01") > rate("site_05") + 0.05,
        "{improved:?}"
    );
    // More severe: PHQ-9 baselines about 3 points higher at site_03 (clamped at 27).
    let (hi, lo) = (baselines[&true], baselines[&false]);
    let diff = hi.0 / hi.1 - lo.0 / lo.1;
    assert!((2.3..3.2).contains(&diff), "baseline difference {diff}");
}

#[test]
fn site_effects_are_checked_on_the_command_line() {
    let w = WorkDir::new();
    for (value, message) in [
        ("site_09=1.5", "unknown site"),
        ("site_03=9", "slope factor"),
        ("site_03=1.5,5", "severity"),
        ("site_03", "SITE=FACTOR"),
    ] {
        bin()
            .args(["synth", "--episodes", "10", "--site-effect", value, "--out"])
            .arg(w.join("x"))
            .assert()
            .code(2)
            .stderr(predicates::str::contains(message));
    }
    bin()
        .args(["synth", "--episodes", "10", "--site-effect", "site_01=2"])
        .args(["--site-effect", "site_01=3", "--out"])
        .arg(w.join("x"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("more than once"));
    assert!(!w.join("x").exists());
}

/// An independent, simple classifier of the bad rows a generated export contains.
fn raw_bad_kinds(dir: &std::path::Path) -> BTreeMap<(&'static str, &'static str), usize> {
    let catalog = Catalog::builtin();
    let mut kinds = BTreeMap::new();
    let mut add = |f: &'static str, k: &'static str| *kinds.entry((f, k)).or_insert(0) += 1;
    let is_number = |s: &str| {
        let t = s.trim();
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            && t.parse::<f64>().is_ok()
    };
    let dup_check = |f: &'static str,
                     keys: Vec<(String, String)>,
                     add: &mut dyn FnMut(&'static str, &'static str)| {
        let mut seen: HashMap<String, Vec<String>> = HashMap::new();
        for (k, line) in keys {
            seen.entry(k).or_default().push(line);
        }
        for lines in seen.values().filter(|v| v.len() > 1) {
            if lines.iter().all(|l| *l == lines[0]) {
                add(f, "duplicate");
            } else {
                add(f, "conflicting_duplicate");
            }
        }
    };
    let e = Table::read(&dir.join("episodes.csv"));
    let mut keys = Vec::new();
    for r in &e.rows {
        if [0, 1, 3, 4, 6].iter().any(|&c| r[c].trim().is_empty()) {
            add("episodes", "missing_value");
        } else if parse_iso(r[6].as_bytes()).is_none()
            || (!r[7].is_empty() && parse_iso(r[7].as_bytes()).is_none())
        {
            add("episodes", "bad_date");
        } else if !r[7].is_empty() && parse_iso(r[7].as_bytes()) < parse_iso(r[6].as_bytes()) {
            add("episodes", "discharge_before_admit");
        } else {
            keys.push((r[0].clone(), r.join(",")));
        }
    }
    dup_check("episodes", keys, &mut add);
    let a = Table::read(&dir.join("assessments.csv"));
    let mut keys = Vec::new();
    for r in &a.rows {
        if r.iter().any(|v| v.trim().is_empty()) {
            add("assessments", "missing_value");
        } else if parse_iso(r[2].as_bytes()).is_none() {
            add("assessments", "bad_date");
        } else if !is_number(&r[3]) {
            add("assessments", "bad_number");
        } else if catalog.get(&r[1]).is_none() {
            add("assessments", "unknown_instrument");
        } else if !catalog.get(&r[1]).unwrap().in_range(r[3].parse().unwrap()) {
            add("assessments", "score_out_of_range");
        } else if r[0].starts_with('X') {
            add("assessments", "unknown_episode");
        } else {
            keys.push((format!("{}|{}|{}", r[0], r[1], r[2]), r.join(",")));
        }
    }
    dup_check("assessments", keys, &mut add);
    let t = Table::read(&dir.join("attendance.csv"));
    let mut keys = Vec::new();
    for r in &t.rows {
        if [0, 1, 3].iter().any(|&c| r[c].trim().is_empty()) {
            add("attendance", "missing_value");
        } else if parse_iso(r[1].as_bytes()).is_none() {
            add("attendance", "bad_date");
        } else if !is_number(&r[3]) {
            add("attendance", "bad_number");
        } else if !(0..=1440).contains(&r[3].parse::<i64>().unwrap_or(-1)) {
            add("attendance", "bad_minutes");
        } else if r[0].starts_with('X') {
            add("attendance", "unknown_episode");
        } else {
            keys.push((format!("{}|{}|{}", r[0], r[1], r[2]), r.join(",")));
        }
    }
    dup_check("attendance", keys, &mut add);
    kinds
}

#[test]
fn dirty_rows_of_every_kind_are_present_when_asked() {
    let w = WorkDir::new();
    let kinds = raw_bad_kinds(&w.synth("d", 4000, 17, 0.03));
    let expected: &[(&str, &[&str])] = &[
        (
            "episodes",
            &[
                "missing_value",
                "bad_date",
                "discharge_before_admit",
                "duplicate",
                "conflicting_duplicate",
            ],
        ),
        (
            "assessments",
            &[
                "missing_value",
                "bad_date",
                "bad_number",
                "unknown_instrument",
                "score_out_of_range",
                "unknown_episode",
                "duplicate",
                "conflicting_duplicate",
            ],
        ),
        (
            "attendance",
            &[
                "missing_value",
                "bad_date",
                "bad_number",
                "bad_minutes",
                "unknown_episode",
                "duplicate",
                "conflicting_duplicate",
            ],
        ),
    ];
    for (file, ks) in expected {
        for k in *ks {
            assert!(
                kinds.get(&(*file, *k)).copied().unwrap_or(0) > 0,
                "no {k} rows in {file}: {kinds:?}"
            );
        }
    }
}

#[test]
fn no_dirty_rows_when_not_asked() {
    let w = WorkDir::new();
    let dir = w.synth("c", 4000, 17, 0.0);
    assert!(raw_bad_kinds(&dir).is_empty());
    let t = truth(&dir);
    for f in ["episodes.csv", "assessments.csv", "attendance.csv"] {
        assert!(t["files"][f]["quarantined"].as_object().unwrap().is_empty());
    }
}

#[test]
fn the_export_looks_like_an_iop() {
    let w = WorkDir::new();
    let dir = w.synth("r", 3000, 4, 0.0);
    let e = Table::read(&dir.join("episodes.csv"));
    let reason = e.col("discharge_reason");
    let discharged: Vec<_> = e.rows.iter().filter(|r| !r[reason].is_empty()).collect();
    let active = e.rows.len() - discharged.len();
    let completed = discharged
        .iter()
        .filter(|r| r[reason] == "completed")
        .count() as f64
        / discharged.len() as f64;
    assert!((0.55..0.65).contains(&completed), "completion {completed}");
    assert!(active > 0, "no episode still in care");
    let tracks: HashSet<&str> = e.rows.iter().map(|r| r[3].as_str()).collect();
    assert_eq!(tracks.len(), 5);
    let modalities: HashSet<&str> = e.rows.iter().map(|r| r[4].as_str()).collect();
    assert_eq!(modalities.len(), 6);
    // Stays of 2-12 weeks for completed episodes.
    for r in discharged.iter().filter(|r| r[reason] == "completed") {
        let los = parse_iso(r[7].as_bytes()).unwrap() - parse_iso(r[6].as_bytes()).unwrap();
        assert!((14..=84).contains(&los), "stay {los}");
    }
    // Attendance: some no-shows, sessions of 2-4 hours in groups.
    let t = Table::read(&dir.join("attendance.csv"));
    let zero = t.rows.iter().filter(|r| r[3] == "0").count();
    assert!(zero > 0 && (zero as f64) < 0.3 * t.rows.len() as f64);
    assert!(t
        .rows
        .iter()
        .filter(|r| r[2] == "group" && r[3] != "0")
        .all(|r| (120..=240).contains(&r[3].parse::<i64>().unwrap())));
}

#[test]
fn the_bundled_sample_is_what_its_documented_command_makes() {
    // data/README.md: synth --episodes 2000 --seed 7 --dirty 0.005 --out data/sample
    let w = WorkDir::new();
    let made = snapshot(&w.synth("s", 2000, 7, 0.005));
    let sample = snapshot(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample"));
    assert!(
        made == sample,
        "data/sample differs from a fresh synth run: regenerate it"
    );
}
