//! Ingest and validation against the generator's ground truth, and config mapping.

use crate::util::{bin, truth, WorkDir};
use iop_outcomes::config::Config;
use iop_outcomes::dates;
use iop_outcomes::ingest::{self, Export};
use iop_outcomes::instruments::Catalog;
use std::path::Path;

fn load(dir: &Path, cfg: &Config) -> Export {
    ingest::load(dir, cfg, &cfg.catalog().unwrap()).expect("export loads")
}

/// Every file's accounting equals synth.json exactly: rows, accepted, and each reason.
fn assert_matches_truth(dir: &Path) {
    let t = truth(dir);
    let export = load(dir, &Config::default());
    for acc in &export.accounts {
        let ft = &t["files"][&acc.file];
        assert_eq!(
            acc.rows_read,
            ft["rows"].as_u64().unwrap(),
            "{} rows",
            acc.file
        );
        assert_eq!(
            acc.accepted,
            ft["accepted"].as_u64().unwrap(),
            "{} accepted",
            acc.file
        );
        assert_eq!(
            acc.accepted + acc.quarantined_total(),
            acc.rows_read,
            "{} reconciles",
            acc.file
        );
        let want: std::collections::BTreeMap<String, u64> =
            serde_json::from_value(ft["quarantined"].clone()).unwrap();
        assert_eq!(acc.quarantined, want, "{} reasons", acc.file);
    }
    let q_total: u64 = export.accounts.iter().map(|a| a.quarantined_total()).sum();
    assert_eq!(export.quarantine.len() as u64, q_total);
}

#[test]
fn the_bundled_sample_reconciles_with_its_ground_truth() {
    assert_matches_truth(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample"));
}

#[test]
fn a_dirty_synth_export_reconciles_reason_by_reason() {
    let w = WorkDir::new();
    assert_matches_truth(&w.synth("d1", 20_000, 31, 0.01));
    assert_matches_truth(&w.synth("d5", 5_000, 32, 0.05));
}

#[test]
fn validation_does_not_depend_on_thread_count() {
    let w = WorkDir::new();
    let dir = w.synth("t", 20_000, 33, 0.02);
    let mut outs = Vec::new();
    for threads in ["1", "2"] {
        let out = w.join(&format!("q{threads}"));
        bin()
            .env("RAYON_NUM_THREADS", threads)
            .args(["validate", "--input"])
            .arg(&dir)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        outs.push(std::fs::read(out.join("quarantine.csv")).unwrap());
    }
    assert!(
        outs[0] == outs[1],
        "quarantine.csv differs between 1 and 2 threads"
    );
}

/// Rewrites a canonical export the way another records system would write it.
fn foreign_export(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    let us = |s: &str| match dates::parse_iso(s.as_bytes()) {
        Some(d) => {
            let (y, m, dd) = dates::civil_from_days(d);
            format!("{m:02}/{dd:02}/{y:04}")
        }
        None if s.trim().is_empty() => s.to_string(),
        None => "99/99/9999".to_string(),
    };
    let track = |s: &str| {
        match s {
            "mental_health" => "MH",
            "co_occurring" => "Dual Dx",
            "substance_use" => "SUD",
            other => other,
        }
        .to_string()
    };
    let modality = |s: &str| {
        if s == "TSF" {
            "12-Step".to_string()
        } else {
            s.to_string()
        }
    };
    let rewrite = |file: &str, out: &str, header: &[&str], f: &dyn Fn(usize, &str) -> String| {
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(src.join(file))
            .unwrap();
        let mut text = String::from("\u{feff}");
        text.push_str(&header.join(","));
        text.push_str("\r\n");
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        for rec in r.records() {
            let rec = rec.unwrap();
            let fields: Vec<String> = rec.iter().enumerate().map(|(i, v)| f(i, v)).collect();
            w.write_record(&fields).unwrap();
        }
        text.push_str(&String::from_utf8(w.into_inner().unwrap()).unwrap());
        std::fs::write(dst.join(out), text).unwrap();
    };
    rewrite(
        "episodes.csv",
        "Episodes Export.csv",
        &[
            "Episode Number",
            "Client Key",
            "Program Site",
            "Program",
            "Primary Modality",
            "Setting",
            "Admission Date",
            "Discharge Date",
            "Discharge Reason",
            "Age Band",
            "Sex",
            "Race/Ethnicity",
        ],
        &|i, v| match i {
            3 => track(v),
            4 => modality(v),
            6 | 7 => us(v),
            _ => v.to_string(),
        },
    );
    rewrite(
        "assessments.csv",
        "Measures.csv",
        &["Episode Number", "Measure", "Date Given", "Total Score"],
        &|i, v| match i {
            1 if v == "PHQ9" => "PHQ-9".to_string(),
            2 => us(v),
            _ => v.to_string(),
        },
    );
    rewrite(
        "attendance.csv",
        "Sessions.csv",
        &[
            "Episode Number",
            "Session Date",
            "Service Type",
            "Minutes Attended",
        ],
        &|i, v| if i == 1 { us(v) } else { v.to_string() },
    );
}

const FOREIGN_CONFIG: &str = r#"
[input]
episodes = "Episodes Export.csv"
assessments = "Measures.csv"
attendance = "Sessions.csv"
date_format = "%m/%d/%Y"

[columns.episodes]
episode_id = "Episode Number"
client_id = "Client Key"
site = "Program Site"
track = "Program"
modality = "Primary Modality"
delivery = "Setting"
admit_date = "Admission Date"
discharge_date = "Discharge Date"
discharge_reason = "Discharge Reason"
age_group = "Age Band"
race_ethnicity = "Race/Ethnicity"

[columns.assessments]
episode_id = "Episode Number"
instrument = "Measure"
assessed_on = "Date Given"
score = "Total Score"

[columns.attendance]
episode_id = "episode number"
session_date = "Session Date"
service = "Service Type"
minutes = "Minutes Attended"

[labels.track]
MH = "mental_health"
"Dual Dx" = "co_occurring"
sud = "substance_use"

[labels.modality]
"12-Step" = "TSF"

[labels.instrument]
"PHQ-9" = "PHQ9"
"#;

#[test]
fn a_mapped_foreign_export_gives_the_same_accepted_data() {
    let w = WorkDir::new();
    let canonical = w.synth("c", 3000, 41, 0.01);
    let foreign = w.join("f");
    foreign_export(&canonical, &foreign);
    std::fs::write(w.join("config.toml"), FOREIGN_CONFIG).unwrap();
    let cfg = Config::load(&w.join("config.toml")).unwrap();
    let a = load(&canonical, &Config::default());
    let b = load(&foreign, &cfg);
    assert_eq!(a.episodes, b.episodes);
    assert_eq!(a.assessments, b.assessments);
    assert_eq!(a.attendance, b.attendance);
    for (x, y) in a.accounts.iter().zip(&b.accounts) {
        assert_eq!(
            (x.rows_read, x.accepted, &x.quarantined),
            (y.rows_read, y.accepted, &y.quarantined)
        );
    }
    // The same lines are quarantined for the same reasons (raw text differs, of course).
    let key = |e: &Export| {
        e.quarantine
            .iter()
            .map(|q| (q.line, q.reason))
            .collect::<Vec<_>>()
    };
    let (ka, kb) = (key(&a), key(&b));
    assert_eq!(ka.len(), kb.len());
    if let Some(i) = (0..ka.len()).find(|&i| ka[i] != kb[i]) {
        panic!(
            "quarantine differs at row {i}: {:?} vs {:?}",
            a.quarantine[i], b.quarantine[i]
        );
    }
    // And the CLI accepts it too.
    bin()
        .args(["validate", "--input"])
        .arg(&foreign)
        .arg("--config")
        .arg(w.join("config.toml"))
        .arg("--out")
        .arg(w.join("out"))
        .assert()
        .success();
}

#[test]
fn a_config_naming_an_unknown_column_or_key_exits_2() {
    let w = WorkDir::new();
    std::fs::write(w.join("bad.toml"), "[columns.episodes]\npatient = \"X\"\n").unwrap();
    bin()
        .args(["validate", "--config"])
        .arg(w.join("bad.toml"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("bad.toml"))
        .stderr(predicates::str::contains("columns.episodes"));
    std::fs::write(
        w.join("bad2.toml"),
        "[report]\ngroup_by = [\"client_id\"]\n",
    )
    .unwrap();
    bin()
        .args(["validate", "--config"])
        .arg(w.join("bad2.toml"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("group_by"));
}

#[test]
fn instruments_from_the_config_are_validated_with_their_ranges() {
    let cfg: Config = toml::from_str(
        "[[instruments]]\nid = \"weight_kg\"\nmin = 20\nmax = 300\ndirection = \"higher_is_better\"\n\n[[instruments]]\nid = \"PHQ9\"\nreliable_change = 5\n",
    )
    .unwrap();
    let cat: Catalog = cfg.catalog().unwrap();
    assert!(cat.get("WEIGHT_KG").unwrap().in_range(72.5));
    assert_eq!(cat.get("phq9").unwrap().rci_threshold(), Some(5.0));
    let bad: Config = toml::from_str("[[instruments]]\nid = \"NEW\"\nmin = 0\n").unwrap();
    assert!(bad.catalog().unwrap_err().contains("needs max"));
}
