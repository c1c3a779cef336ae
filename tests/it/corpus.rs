//! The bad-input corpus (tests/corpus/*): each case is a small export with an `expect.toml`
//! giving the command and its extra arguments, the exit code, text stderr and stdout must
//! contain, quarantine counts per file and reason, specific quarantined lines, and a secret
//! value that must never be printed (PHI). Every case also checks that nothing panicked and
//! that a command that failed published nothing.

use crate::util::{Table, WorkDir};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    command: String,
    /// Arguments after `--input DIR --out OUT` (or after `--out OUT` without input).
    #[serde(default)]
    args: Vec<String>,
    /// Whether the case folder is passed as `--input` (false for `synth`).
    #[serde(default = "yes")]
    input: bool,
    /// `"full"`: stderr is /dev/full (nothing can be written to it).
    stderr_to: Option<String>,
    exit: i32,
    #[serde(default)]
    stderr: Vec<String>,
    #[serde(default)]
    stdout: Vec<String>,
    secret: Option<String>,
    #[serde(default)]
    lines: Vec<String>,
    quarantine: Option<BTreeMap<String, u64>>,
}

fn yes() -> bool {
    true
}

fn run_case(dir: &Path) -> Result<(), String> {
    let expect: Expect = toml::from_str(&std::fs::read_to_string(dir.join("expect.toml")).unwrap())
        .map_err(|e| format!("expect.toml: {e}"))?;
    let w = WorkDir::new();
    // IOP_OUTCOMES_CORPUS_BIN runs the corpus against another build (e.g. an older main, to
    // show that a new case fails there).
    let binary = std::env::var_os("IOP_OUTCOMES_CORPUS_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| assert_cmd::cargo::cargo_bin!("iop-outcomes").to_path_buf());
    let mut cmd = std::process::Command::new(binary);
    cmd.env_remove("RAYON_NUM_THREADS").arg(&expect.command);
    if expect.input {
        cmd.arg("--input").arg(dir);
    }
    cmd.arg("--out").arg(w.join("out"));
    if dir.join("config.toml").exists() {
        cmd.arg("--config").arg(dir.join("config.toml"));
    }
    cmd.args(&expect.args);
    if expect.stderr_to.as_deref() == Some("full") {
        cmd.stderr(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        );
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let code = out.status.code().unwrap_or(-1);
    if code != expect.exit {
        return Err(format!(
            "exit {code}, expected {}; stderr: {stderr}",
            expect.exit
        ));
    }
    if stderr.contains("panicked") {
        return Err(format!("panic: {stderr}"));
    }
    for s in &expect.stderr {
        if !stderr.contains(s.as_str()) {
            return Err(format!("stderr lacks {s:?}: {stderr}"));
        }
    }
    for s in &expect.stdout {
        if !stdout.contains(s.as_str()) {
            return Err(format!("stdout lacks {s:?}: {stdout}"));
        }
    }
    // A command that failed published nothing: no report folder (run), no export (synth).
    if code != 0 && expect.command != "validate" {
        let published: Vec<String> = std::fs::read_dir(w.join("out"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        if !published.is_empty() {
            return Err(format!("exit {code} but published {published:?}"));
        }
    }
    if let Some(secret) = &expect.secret {
        if stderr.contains(secret.as_str()) || stdout.contains(secret.as_str()) {
            return Err("the PHI value was printed".into());
        }
    }
    if let Some(q) = &expect.quarantine {
        let t = Table::read(&w.join("out/quarantine.csv"));
        let mut got: BTreeMap<String, u64> = BTreeMap::new();
        for r in t.iter() {
            *got.entry(format!("{}:{}", r.get("file"), r.get("reason")))
                .or_insert(0) += 1;
        }
        if &got != q {
            return Err(format!("quarantine {got:?}, expected {q:?}"));
        }
        for l in &expect.lines {
            let parts: Vec<&str> = l.split(':').collect();
            if !t
                .iter()
                .any(|r| r.cells(&["file", "line", "reason"]) == parts)
            {
                return Err(format!("quarantine lacks {l}"));
            }
        }
        // Accounting: every row read is accepted or quarantined.
        let text = stdout.to_string();
        if !text.contains("rows read") {
            return Err(format!("no accounting table: {text}"));
        }
    }
    Ok(())
}

#[test]
fn every_bad_input_gets_its_exit_code_and_message_without_panic_or_phi() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expect.toml").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 20, "corpus has {} cases", dirs.len());
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|d| {
            run_case(d)
                .err()
                .map(|e| format!("{}: {e}", d.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}
