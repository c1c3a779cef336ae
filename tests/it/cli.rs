//! The command-line interface: help, version, flags and exit codes (SPEC §9).

use crate::util::bin;
use predicates::prelude::*;

#[test]
fn help_documents_every_subcommand_and_exit_codes() {
    bin()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("run"))
        .stdout(predicate::str::contains("validate"))
        .stdout(predicate::str::contains("synth"))
        .stdout(predicate::str::contains("instruments"))
        .stdout(predicate::str::contains(
            "3 another run holds the output lock",
        ));
}

#[test]
fn run_help_documents_every_flag() {
    let out = bin().args(["run", "--help"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for flag in [
        "--input",
        "--config",
        "--period",
        "--from",
        "--to",
        "--followup",
        "--out",
        "--no-suppress",
        "--threads",
        "--quiet",
    ] {
        assert!(text.contains(flag), "run --help lacks {flag}");
    }
    // Each default is stated once, by clap.
    assert!(!text.contains("(default: discharge)"), "{text}");
    assert!(text.contains("[default: discharge]"), "{text}");
}

#[test]
fn synth_and_validate_help_document_their_flags() {
    let out = bin().args(["synth", "--help"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for flag in ["--episodes", "--seed", "--out", "--dirty"] {
        assert!(text.contains(flag), "synth --help lacks {flag}");
    }
    let out = bin().args(["validate", "--help"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for flag in ["--input", "--config", "--out"] {
        assert!(text.contains(flag), "validate --help lacks {flag}");
    }
}

#[test]
fn version_prints_the_crate_version() {
    bin()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_bad_flag_exits_2_with_a_clear_message() {
    bin()
        .args(["run", "--bogus"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--bogus"));
    bin().arg("frobnicate").assert().code(2);
}

#[test]
fn bad_flag_values_exit_2_naming_the_flag() {
    bin()
        .args(["run", "--period", "2026Q5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--period"));
    bin()
        .args(["run", "--from", "2026-02-30", "--to", "2026-03-01"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--from"));
    bin()
        .args(["run", "--threads", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--threads"));
    bin()
        .args(["synth", "--episodes", "10", "--dirty", "0.9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--dirty"));
    bin()
        .args(["synth", "--episodes", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--episodes"));
    bin().args(["synth"]).assert().code(2);
}

#[test]
fn instruments_lists_the_catalog_with_sources() {
    let out = bin().arg("instruments").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for id in [
        "PHQ9",
        "GAD7",
        "PCL5",
        "AUDITC",
        "DAST10",
        "BAM_USE",
        "DAYS_USED",
        "EDEQ",
        "DERS",
        "BDI2",
    ] {
        assert!(text.contains(id), "instruments lacks {id}");
    }
    assert!(text.contains("Kroenke"));
    assert!(text.contains("caseness >= 10"));
    assert!(text.contains("reliable change 6"));
}
