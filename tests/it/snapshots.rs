//! Golden files: every CSV, summary.md, the page's text, and the list of files with each
//! Parquet file's columns and types, of two runs, pinned with insta —
//! the bundled sample (the README's command) and a tiny hand-built export
//! (tests/corpus/valid_baseline, without suppression so that every figure shows). A change to
//! any output shows up as a reviewable diff (`cargo insta review`, or `INSTA_UPDATE=always`
//! then `git diff tests/it/snapshots`).

use crate::util::{bin, snapshot, WorkDir};
use iop_outcomes::report::parquet::{from_parquet, Values};
use std::path::Path;

/// The report's files, one per line; a Parquet file with its columns and their types.
fn listing(dir: &Path) -> String {
    let mut out = String::new();
    for (name, bytes) in snapshot(dir) {
        out.push_str(&name);
        if name.ends_with(".parquet") {
            let cols = from_parquet(&bytes).unwrap();
            let rows = cols.first().map_or(0, |(_, v)| v.len());
            out.push_str(&format!(" ({rows} rows):"));
            for (c, v) in cols {
                let t = match v {
                    Values::Int(_) => "int64",
                    Values::Float(_) => "double",
                    Values::Bool(_) => "boolean",
                    Values::Text(_) => "text",
                    Values::Date(_) => "date",
                };
                out.push_str(&format!(" {c} {t},"));
            }
            out.pop();
        }
        out.push('\n');
    }
    out
}

/// The page's text: markup, styles and inline SVG charts removed, one line per block.
fn page_text(html: &str) -> String {
    let mut s = html.to_string();
    for (open, close) in [("<style", "</style>"), ("<svg", "</svg>")] {
        while let Some(a) = s.find(open) {
            let b = s[a..].find(close).map_or(s.len(), |b| a + b + close.len());
            s.replace_range(a..b, "");
        }
    }
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the job on `input` and pins every text output of the report under `name`.
fn pin(name: &str, input: &Path, extra: &[&str]) {
    let w = WorkDir::new();
    bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("run")
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(w.join("out"))
        .args(extra)
        .assert()
        .success();
    let dir = w.join("out/all");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".csv") || f.ends_with(".md"))
        .collect();
    files.sort();
    let settings = {
        let mut s = insta::Settings::clone_current();
        s.set_snapshot_path("snapshots");
        s.set_prepend_module_to_snapshot(false);
        s
    };
    settings.bind(|| {
        for f in &files {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            insta::assert_snapshot!(format!("{name}__{f}"), text);
        }
        let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
        insta::assert_snapshot!(format!("{name}__report_text"), page_text(&html));
        insta::assert_snapshot!(format!("{name}__files"), listing(&dir));
    });
}

#[test]
fn the_bundled_sample_report_is_pinned() {
    pin("sample", Path::new("data/sample"), &[]);
}

#[test]
fn a_hand_built_export_report_is_pinned() {
    pin(
        "tiny",
        Path::new("tests/corpus/valid_baseline"),
        &["--no-suppress"],
    );
}
