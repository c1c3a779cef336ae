//! Parquet (SPEC §15 F1, F2, F3): the table writer's round trip and determinism; runs on a
//! Parquet copy of an export giving the same tables and quarantine as on the CSV export; a
//! run's Parquet files holding their CSVs' values and blanks, typed, byte-identical whatever
//! the thread counts, read by pandas or R's arrow; `--episode-data` refused under
//! suppression, off the page, and adding up to outcomes.csv.

use crate::util::{bin, run, snapshot, Table, WorkDir};
use iop_outcomes::report::assemble::{table_files, PART_ROWS};
use iop_outcomes::report::csv_writer::{self, neutralise};
use iop_outcomes::report::parquet::{from_parquet, to_parquet, values, Part, Values};
use iop_outcomes::table::{Cell, Kind as ColumnKind, Table as Cells, Tabular};
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

fn every_type() -> Vec<(String, Values)> {
    vec![
        (
            "n".into(),
            Values::Int(vec![
                Some(0),
                None,
                Some(i64::MIN),
                Some(i64::MAX),
                Some(-7),
            ]),
        ),
        (
            "x".into(),
            Values::Float(vec![
                Some(0.1 + 0.2),
                Some(-0.0),
                None,
                Some(f64::MIN_POSITIVE / 4.0),
                Some(1.797_693_134_862_315_7e308),
            ]),
        ),
        (
            "flag".into(),
            Values::Bool(vec![Some(true), Some(false), None, Some(true), None]),
        ),
        (
            "label".into(),
            Values::Text(vec![
                Some("naïve café".into()),
                Some("日本語, \"quoted\"\nsecond line".into()),
                Some(String::new()),
                None,
                Some("🙂 =SUM(A1)".into()),
            ]),
        ),
        (
            "day".into(),
            Values::Date(vec![Some(0), Some(-1), Some(20_000), None, Some(2_932_896)]),
        ),
    ]
}

/// Floats compared by their bits: full precision, and -0 kept.
fn bits(v: &[(String, Values)]) -> Vec<(String, Vec<Option<u64>>)> {
    v.iter()
        .filter_map(|(n, v)| match v {
            Values::Float(x) => Some((n.clone(), x.iter().map(|x| x.map(f64::to_bits)).collect())),
            _ => None,
        })
        .collect()
}

#[test]
fn every_type_round_trips_with_nulls_full_precision_and_unicode() {
    let cols = every_type();
    let bytes = to_parquet(&cols).unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    let back = from_parquet(&bytes).unwrap();
    assert_eq!(bits(&back), bits(&cols));
    assert_eq!(back, cols);
}

#[test]
fn empty_tables_round_trip_with_their_types() {
    let cols: Vec<(String, Values)> = vec![
        ("n".into(), Values::Int(vec![])),
        ("x".into(), Values::Float(vec![])),
        ("flag".into(), Values::Bool(vec![])),
        ("label".into(), Values::Text(vec![])),
        ("day".into(), Values::Date(vec![])),
    ];
    assert_eq!(from_parquet(&to_parquet(&cols).unwrap()).unwrap(), cols);
    // A column of nulls only keeps its type too.
    let nulls = vec![("x".to_string(), Values::Float(vec![None, None]))];
    assert_eq!(from_parquet(&to_parquet(&nulls).unwrap()).unwrap(), nulls);
}

#[test]
fn columns_of_different_lengths_are_refused() {
    let err = to_parquet(&[
        ("a".into(), Values::Int(vec![Some(1)])),
        ("b".into(), Values::Int(vec![])),
    ])
    .unwrap_err();
    assert!(err.contains("`b` has 0 rows"), "{err}");
}

/// A table of 300,000 rows (several data pages per column), the same every time.
fn big_table() -> Vec<(String, Values)> {
    let n = 300_000;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut ints = Vec::with_capacity(n);
    let mut floats = Vec::with_capacity(n);
    let mut texts = Vec::with_capacity(n);
    let mut days = Vec::with_capacity(n);
    let mut flags = Vec::with_capacity(n);
    for i in 0..n {
        let r = next();
        ints.push((r % 7 != 0).then_some(r as i64 >> 3));
        floats.push((r % 11 != 0).then(|| (r >> 11) as f64 / (1u64 << 53) as f64));
        texts.push((r % 13 != 0).then(|| format!("label {} é {i}", r % 97)));
        days.push((r % 5 != 0).then_some((r % 40_000) as i32));
        flags.push((r % 3 != 0).then_some(r % 2 == 0));
    }
    vec![
        ("n".into(), Values::Int(ints)),
        ("x".into(), Values::Float(floats)),
        ("label".into(), Values::Text(texts)),
        ("day".into(), Values::Date(days)),
        ("flag".into(), Values::Bool(flags)),
    ]
}

/// Run by [`the_writer_gives_the_same_bytes_whatever_the_polars_thread_count`] in a child
/// process: writes the big table to `IOP_PARQUET_CHILD_OUT` (does nothing otherwise).
#[test]
fn writer_child() {
    if let Some(out) = std::env::var_os("IOP_PARQUET_CHILD_OUT") {
        std::fs::write(out, to_parquet(&big_table()).unwrap()).unwrap();
    }
}

#[test]
fn the_writer_gives_the_same_bytes_whatever_the_polars_thread_count() {
    let w = WorkDir::new();
    let exe = std::env::current_exe().unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "2", "4"] {
        let out = w.join(&format!("t{threads}.parquet"));
        let status = std::process::Command::new(&exe)
            .args(["parquet::writer_child", "--exact", "--test-threads", "1"])
            .env("IOP_PARQUET_CHILD_OUT", &out)
            .env("POLARS_MAX_THREADS", threads)
            .env("RAYON_NUM_THREADS", threads)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        outputs.push(std::fs::read(&out).unwrap());
    }
    let here = to_parquet(&big_table()).unwrap();
    assert!(here.len() > 4 << 20, "{} bytes", here.len());
    for o in &outputs {
        assert!(o == &here, "bytes differ between thread counts");
    }
    // And the same again in this process.
    assert!(to_parquet(&big_table()).unwrap() == here);
}

/// Column types chosen by [`csv_to_parquet`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Date,
    Float,
    Text,
}

/// Whether every non-empty value of a column reads as `kind` and prints back as the same
/// text (so that the Parquet value renders as the CSV text, raw rows included).
fn fits(values: &[&str], kind: Kind) -> bool {
    values.iter().filter(|v| !v.is_empty()).all(|v| match kind {
        Kind::Int => v.parse::<i64>().is_ok_and(|n| n.to_string() == *v),
        Kind::Date => iop_outcomes::dates::parse_iso(v.as_bytes())
            .is_some_and(|d| iop_outcomes::dates::iso(d) == *v),
        Kind::Float => v
            .parse::<f64>()
            .is_ok_and(|x| x.is_finite() && iop_outcomes::report::csv_writer::number(x) == *v),
        Kind::Text => true,
    })
}

/// Writes the CSV file `csv` as Parquet with polars: a column is INT64, DATE or DOUBLE when
/// every value fits (see [`fits`]), else text (so dirty values are kept as they are); empty
/// values are null. Returns the kinds chosen.
fn csv_to_parquet(csv: &Path, parquet: &Path) -> Vec<Kind> {
    let t = Table::read(csv);
    let mut columns = Vec::new();
    let mut kinds = Vec::new();
    for (c, name) in t.header.iter().enumerate() {
        let values: Vec<&str> = t.rows.iter().map(|r| r[c].as_str()).collect();
        let kind = [Kind::Int, Kind::Date, Kind::Float, Kind::Text]
            .into_iter()
            .find(|k| fits(&values, *k))
            .unwrap();
        fn opt<'a>(v: &&'a str) -> Option<&'a str> {
            (!v.is_empty()).then_some(*v)
        }
        let s = match kind {
            Kind::Int => Series::new(
                name.into(),
                values
                    .iter()
                    .map(|v| opt(v).map(|v| v.parse::<i64>().unwrap()))
                    .collect::<Vec<_>>(),
            ),
            Kind::Date => Series::new(
                name.into(),
                values
                    .iter()
                    .map(|v| opt(v).map(|v| iop_outcomes::dates::parse_iso(v.as_bytes()).unwrap()))
                    .collect::<Vec<_>>(),
            )
            .cast(&DataType::Date)
            .unwrap(),
            Kind::Float => Series::new(
                name.into(),
                values
                    .iter()
                    .map(|v| opt(v).map(|v| v.parse::<f64>().unwrap()))
                    .collect::<Vec<_>>(),
            ),
            Kind::Text => Series::new(name.into(), values.iter().map(opt).collect::<Vec<_>>()),
        };
        columns.push(Column::from(s));
        kinds.push(kind);
    }
    let mut df = DataFrame::new(t.rows.len(), columns).unwrap();
    let mut f = std::fs::File::create(parquet).unwrap();
    ParquetWriter::new(&mut f)
        .with_compression(ParquetCompression::Snappy)
        .finish(&mut df)
        .unwrap();
    kinds
}

/// A Parquet copy of the export in `csv_dir` (every file, and synth.json) in `out`.
fn parquet_copy(csv_dir: &Path, out: &Path) -> Vec<(String, Vec<Kind>)> {
    std::fs::create_dir_all(out).unwrap();
    let mut kinds = Vec::new();
    for f in ["episodes", "assessments", "attendance"] {
        if !csv_dir.join(format!("{f}.csv")).exists() {
            continue;
        }
        let k = csv_to_parquet(
            &csv_dir.join(format!("{f}.csv")),
            &out.join(format!("{f}.parquet")),
        );
        kinds.push((f.to_string(), k));
    }
    if csv_dir.join("synth.json").exists() {
        std::fs::copy(csv_dir.join("synth.json"), out.join("synth.json")).unwrap();
    }
    kinds
}

fn stem(file: &str) -> &str {
    file.rsplit_once('.').map_or(file, |(s, _)| s)
}

/// Quarantine rows of the two runs agree on file (apart from the extension), column, reason
/// and raw, and on line too when `same_lines` (no value of the files holds a newline).
fn assert_same_quarantine(csv: &Path, parquet: &Path, same_lines: bool) -> usize {
    let a = Table::read(csv);
    let b = Table::read(parquet);
    assert_eq!(a.header, b.header);
    assert_eq!(a.rows.len(), b.rows.len());
    for (x, y) in a.rows.iter().zip(&b.rows) {
        assert_eq!(stem(&x[0]), stem(&y[0]), "{x:?} / {y:?}");
        assert!(y[0].ends_with(".parquet"), "{y:?}");
        assert_eq!(&x[2..], &y[2..], "{x:?} / {y:?}");
        if same_lines {
            assert_eq!(x[1], y[1], "{x:?} / {y:?}");
        }
    }
    a.rows.len()
}

/// Runs `run` on a synthetic export and on its Parquet copy; every table and chart agrees
/// byte for byte, and the quarantine row for row. Returns the number of quarantined rows.
fn runs_agree(dirty: f64, seed: u64) -> usize {
    let w = WorkDir::new();
    let csv_in = w.synth("csv", 2000, seed, dirty);
    let pq_in = w.join("pq");
    let kinds = parquet_copy(&csv_in, &pq_in);
    // A clean copy is typed where the values allow it; a dirty one has bad values (blanks of
    // spaces, malformed dates and numbers) in every column, so it is all text.
    let all: Vec<Kind> = kinds.iter().flat_map(|(_, k)| k.clone()).collect();
    if dirty == 0.0 {
        assert!(
            all.contains(&Kind::Int) && all.contains(&Kind::Date),
            "{kinds:?}"
        );
    }
    for (input, out) in [(&csv_in, "out_csv"), (&pq_in, "out_pq")] {
        run(input, &w.join(out), &[]).success();
    }
    let a = snapshot(&w.join("out_csv/all"));
    let b = snapshot(&w.join("out_pq/all"));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same files"
    );
    // manifest.json and report.html name the input files and their checksums; the
    // quarantine names the input files.
    let skip = [
        "manifest.json",
        "report.html",
        "quarantine.csv",
        "quarantine.parquet",
    ];
    let mut compared = 0;
    for (name, bytes) in &a {
        if !skip.contains(&name.as_str()) {
            assert!(bytes == &b[name], "{name} differs");
            compared += 1;
        }
    }
    assert!(compared >= 7, "{compared} files compared");
    assert!(a.contains_key("outcomes.csv"));
    assert_same_quarantine(
        &w.join("out_csv/all/quarantine.csv"),
        &w.join("out_pq/all/quarantine.csv"),
        true,
    )
}

#[test]
fn a_parquet_copy_of_a_clean_export_gives_the_same_report() {
    assert_eq!(runs_agree(0.0, 31), 0);
}

#[test]
fn a_parquet_copy_of_a_dirty_export_gives_the_same_report_and_quarantine() {
    let n = runs_agree(0.02, 32);
    assert!(n > 100, "{n} quarantined rows");
}

#[test]
fn parquet_lines_are_rows_even_when_a_value_holds_a_newline() {
    let w = WorkDir::new();
    let csv_in = w.join("csv");
    std::fs::create_dir_all(&csv_in).unwrap();
    std::fs::write(
        csv_in.join("episodes.csv"),
        "episode_id,client_id,site,track,modality,delivery,admit_date,discharge_date,discharge_reason,age_group,sex,race_ethnicity,note\n\
         E1,C1,site_01,mental_health,CBT,in_person,2025-01-06,2025-02-14,completed,26-34,female,white,\"two\nlines\"\n\
         E2,C2,site_01,substance_use,MI,telehealth,2025-02-03,2025-03-28,left_early,35-44,male,black,\"three\n\nlines\"\n\
         E3,C3,site_02,mental_health,DBT,hybrid,2025-13-03,,,18-25,female,hispanic,\n\
         E4,C4,site_02,mental_health,DBT,hybrid,2025-03-03,,,18-25,female,hispanic,\"x\ny\"\n\
         E5,C5,site_02,mental_health,DBT,hybrid,2025-03-03,2025-01-01,,18-25,female,hispanic,\n",
    )
    .unwrap();
    std::fs::write(
        csv_in.join("assessments.csv"),
        "episode_id,instrument,assessed_on,score\nE1,PHQ9,2025-01-06,18\nE1,PHQ9,2025-02-13,9\n",
    )
    .unwrap();
    let pq_in = w.join("pq");
    parquet_copy(&csv_in, &pq_in);
    std::fs::copy(
        csv_in.join("assessments.csv"),
        pq_in.join("assessments.csv"),
    )
    .unwrap();
    std::fs::remove_file(pq_in.join("assessments.parquet")).unwrap();
    for (input, out) in [(&csv_in, "out_csv"), (&pq_in, "out_pq")] {
        bin()
            .args(["validate", "--input"])
            .arg(input)
            .arg("--out")
            .arg(w.join(out))
            .assert()
            .code(1);
    }
    let a = Table::read(&w.join("out_csv/quarantine.csv"));
    let b = Table::read(&w.join("out_pq/quarantine.csv"));
    let lines = |t: &Table| -> Vec<(String, String, String)> {
        t.rows
            .iter()
            .map(|r| (r[0].clone(), r[1].clone(), r[3].clone()))
            .collect()
    };
    // In the CSV the records of E3 and E5 start on lines 7 and 10; they are rows 3 and 5.
    assert_eq!(
        lines(&a),
        [
            ("episodes.csv".into(), "7".into(), "bad_date".into()),
            (
                "episodes.csv".into(),
                "10".into(),
                "discharge_before_admit".into()
            ),
        ]
    );
    assert_eq!(
        lines(&b),
        [
            ("episodes.parquet".into(), "4".into(), "bad_date".into()),
            (
                "episodes.parquet".into(),
                "6".into(),
                "discharge_before_admit".into()
            ),
        ]
    );
    assert_same_quarantine(
        &w.join("out_csv/quarantine.csv"),
        &w.join("out_pq/quarantine.csv"),
        false,
    );
}

#[test]
fn pandas_or_r_arrow_reads_a_written_table() {
    let w = WorkDir::new();
    let path = w.join("t.parquet");
    std::fs::write(&path, to_parquet(&every_type()).unwrap()).unwrap();
    let py = std::env::var("IOP_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import sys, pandas as pd\n\
        df = pd.read_parquet(sys.argv[1])\n\
        print(list(df.columns))\n\
        print(int(df['n'].tolist()[4]), repr(df['x'].tolist()[0]), df['flag'].tolist()[0])\n\
        print(df['label'].tolist()[0], str(df['day'].tolist()[2]))\n";
    let mut read_by = Vec::new();
    if let Ok(out) = std::process::Command::new(&py)
        .args(["-c", script])
        .arg(&path)
        .output()
    {
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains("['n', 'x', 'flag', 'label', 'day']"),
                "{text}"
            );
            assert!(text.contains("-7 0.30000000000000004 True"), "{text}");
            assert!(text.contains("naïve café 2024-10-04"), "{text}");
            read_by.push("pandas");
        }
    }
    let r = "x <- arrow::read_parquet(commandArgs(TRUE)[1])\n\
        cat(names(x), '\\n')\n\
        cat(as.character(x$n[5]), sprintf('%.17g', x$x[1]), x$flag[1], '\\n')\n\
        cat(x$label[1], format(x$day[3]), '\\n')\n";
    if let Ok(out) = std::process::Command::new("Rscript")
        .args(["-e", r])
        .arg(&path)
        .output()
    {
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("n x flag label day"), "{text}");
            assert!(text.contains("-7 0.30000000000000004 TRUE"), "{text}");
            assert!(text.contains("naïve café 2024-10-04"), "{text}");
            read_by.push("R arrow");
        }
    }
    eprintln!("read back by: {read_by:?}");
    if read_by.is_empty() {
        eprintln!("skipped: neither python3 with pandas and pyarrow nor R with arrow is available");
    }
}

// ---------------------------------------------------------------------------------------
// The run's own Parquet files (SPEC §15 F1, F2).

/// The text the CSV writer gives value `i` of a typed column (empty for null). Nulls are
/// never an empty string or a NaN (those would be blanks the CSV shows as empty too).
fn csv_text(name: &str, v: &Values, i: usize) -> String {
    let or_empty = |s: Option<String>| s.unwrap_or_default();
    match v {
        Values::Int(x) => or_empty(x[i].map(|n| n.to_string())),
        Values::Float(x) => or_empty(x[i].map(|x| {
            assert!(x.is_finite(), "{name}: {x} written");
            csv_writer::number(x)
        })),
        Values::Bool(x) => or_empty(x[i].map(|b| b.to_string())),
        Values::Text(x) => or_empty(x[i].as_deref().map(|t| {
            assert!(!t.is_empty(), "{name}: an empty string instead of null");
            neutralise(t).into_owned()
        })),
        Values::Date(x) => or_empty(x[i].map(iop_outcomes::dates::iso)),
    }
}

fn kind(v: &Values) -> &'static str {
    match v {
        Values::Int(_) => "int64",
        Values::Float(_) => "double",
        Values::Bool(_) => "boolean",
        Values::Text(_) => "text",
        Values::Date(_) => "date",
    }
}

/// A Parquet file checked against its CSV: each column's type, and the number of nulls.
type Checked = (Vec<(String, &'static str)>, usize);

/// Checks every Parquet file of a report folder against its CSV twin, read through polars:
/// the same column names in the same order, as many rows, and every cell the same value
/// (the CSV's text of the typed value, so integers, doubles at full precision, booleans,
/// dates and text alike), null exactly where the CSV cell is empty. Every CSV has its twin.
/// Returns, per file stem, each column's type, and the number of null cells.
fn parquet_equals_csv(dir: &Path) -> BTreeMap<String, Checked> {
    let mut out = BTreeMap::new();
    let mut csvs = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".csv") {
            csvs.push(stem.to_string());
        }
    }
    csvs.sort();
    for stem in csvs {
        let pq = dir.join(format!("{stem}.parquet"));
        assert!(pq.exists(), "{stem}.csv has no Parquet twin");
        let cols = from_parquet(&std::fs::read(&pq).unwrap()).unwrap();
        let csv = Table::read(&dir.join(format!("{stem}.csv")));
        let names: Vec<&String> = cols.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            csv.header.iter().collect::<Vec<_>>(),
            "{stem}: column names"
        );
        let mut nulls = 0;
        for (c, (name, v)) in cols.iter().enumerate() {
            assert_eq!(v.len(), csv.rows.len(), "{stem}.{name}: rows");
            for (i, row) in csv.rows.iter().enumerate() {
                let text = csv_text(name, v, i);
                assert_eq!(text, row[c], "{stem}.{name}, row {}", i + 1);
                nulls += usize::from(text.is_empty());
            }
        }
        let types = cols.iter().map(|(n, v)| (n.clone(), kind(v))).collect();
        out.insert(stem, (types, nulls));
    }
    out
}

fn type_of<'a>(files: &'a BTreeMap<String, Checked>, file: &str, column: &str) -> &'a str {
    files[file]
        .0
        .iter()
        .find(|(n, _)| n == column)
        .unwrap_or_else(|| panic!("{file}.{column}"))
        .1
}

#[test]
fn every_parquet_file_of_a_run_holds_its_csvs_values_and_blanks() {
    let w = WorkDir::new();
    let input = w.synth("s", 2000, 5, 0.01);
    // With small-cell protection: the Parquet files carry exactly the CSV's blanks, so the
    // disclosure audit of the CSV bytes covers them too.
    run(&input, &w.join("p"), &[]).success();
    let protected = parquet_equals_csv(&w.join("p/all"));
    assert_eq!(protected.len(), 12, "{:?}", protected.keys());
    assert!(protected["outcomes"].1 > 0, "no blank in outcomes");
    assert!(!protected.contains_key("episodes_analysis"));
    let suppressed = Table::read(&w.join("p/all/outcomes.csv"));
    assert!(suppressed.iter().any(|r| r.get("suppressed") == "true"));
    // Without: every table in full, and the episode-level data.
    bin()
        .args([
            "run",
            "--quiet",
            "--no-suppress",
            "--episode-data",
            "--input",
        ])
        .arg(&input)
        .arg("--out")
        .arg(w.join("o"))
        .assert()
        .success();
    let open = parquet_equals_csv(&w.join("o/all"));
    assert_eq!(
        open.keys()
            .filter(|k| *k != "episodes_analysis")
            .collect::<Vec<_>>(),
        protected.keys().collect::<Vec<_>>()
    );
    assert!(Table::read(&w.join("o/all/retention.csv")).rows.len() > 100);
    assert!(Table::read(&w.join("o/all/quarantine.csv")).rows.len() > 100);
    // Types come from the tables' descriptions, whatever the values.
    for (file, column, want) in [
        ("outcomes", "period", "text"),
        ("outcomes", "n_paired", "int64"),
        ("outcomes", "change_mean", "double"),
        ("outcomes", "rci_threshold", "double"),
        ("outcomes", "suppressed", "boolean"),
        ("retention", "day", "int64"),
        ("longitudinal", "singular", "boolean"),
        ("quarantine", "line", "int64"),
        ("quarantine", "raw", "text"),
        ("episodes_analysis", "episode_id", "text"),
        ("episodes_analysis", "admit_date", "date"),
        ("episodes_analysis", "discharge_date", "date"),
        ("episodes_analysis", "los_days", "int64"),
        ("episodes_analysis", "followup_score", "double"),
        ("episodes_analysis", "case_baseline", "boolean"),
        ("episodes_analysis", "sessions_attended", "int64"),
    ] {
        assert_eq!(type_of(&open, file, column), want, "{file}.{column}");
    }
    assert_eq!(type_of(&protected, "outcomes", "n_paired"), "int64");
}

/// A table of `n` rows of every kind, some cells empty, one text a formula.
struct Generated(usize);

impl Tabular for Generated {
    fn name(&self) -> &'static str {
        "generated"
    }

    fn len(&self) -> usize {
        self.0
    }

    fn rows(&self, range: std::ops::Range<usize>) -> Cells {
        let rows = range
            .map(|i| {
                let blank = |k: usize| i % k == 0;
                vec![
                    if blank(7) {
                        Cell::Empty
                    } else {
                        Cell::Int(i as u64 * 3)
                    },
                    if blank(5) {
                        Cell::Empty
                    } else {
                        Cell::Num(i as f64 / 7.0)
                    },
                    if blank(11) {
                        Cell::Num(f64::NAN)
                    } else {
                        Cell::Num(-(i as f64))
                    },
                    if blank(3) {
                        Cell::Empty
                    } else {
                        Cell::Bool(i % 2 == 0)
                    },
                    match i % 13 {
                        0 => Cell::Empty,
                        1 => Cell::text(""),
                        2 => Cell::text("=1+1"),
                        _ => Cell::Text(format!("row {i}, \"quoted\"")),
                    },
                    if blank(17) {
                        Cell::Empty
                    } else {
                        Cell::Date(i as i32 - 50_000)
                    },
                ]
            })
            .collect();
        Cells::new(
            &[
                ("n", ColumnKind::Int),
                ("x", ColumnKind::Float),
                ("nan", ColumnKind::Float),
                ("flag", ColumnKind::Bool),
                ("label", ColumnKind::Text),
                ("day", ColumnKind::Date),
            ],
            rows,
        )
    }
}

#[test]
fn a_table_written_in_parts_is_the_table_written_at_once() {
    for n in [0, 1, PART_ROWS, 2 * PART_ROWS + 17] {
        let t = Generated(n);
        let [(csv_name, csv), (pq_name, pq)] = table_files(&t).unwrap();
        assert_eq!(
            (csv_name.as_str(), pq_name.as_str()),
            ("generated.csv", "generated.parquet")
        );
        let whole = t.table();
        assert!(csv == csv_writer::render_table(&whole), "{n} rows: CSV");
        assert!(
            pq == to_parquet(&values(&whole).unwrap()).unwrap(),
            "{n} rows: Parquet"
        );
    }
    // Null where the CSV is empty: an empty cell, empty text, a NaN.
    let v = values(&Generated(14).table()).unwrap();
    assert_eq!(
        v[2].1,
        Values::Float(
            (0..14)
                .map(|i| (i % 11 != 0).then(|| -(i as f64)))
                .collect()
        )
    );
    let Values::Text(labels) = &v[4].1 else {
        panic!()
    };
    assert_eq!(labels[..3], [None, None, Some("=1+1".to_string())]);
}

#[test]
fn a_cell_of_another_kind_than_its_column_is_refused() {
    let t = Cells::new(
        &[("n", ColumnKind::Int)],
        vec![vec![Cell::Int(1)], vec![Cell::text("2")]],
    );
    let err = values(&t).unwrap_err();
    assert!(err.contains("column `n` (Int) holds Text"), "{err}");
    assert!(Part::new(&t).is_err());
    let big = Cells::new(&[("n", ColumnKind::Int)], vec![vec![Cell::Int(u64::MAX)]]);
    assert!(values(&big).unwrap_err().contains("exceeds INT64"));
}

#[test]
fn parquet_outputs_are_byte_identical_whatever_the_thread_counts() {
    let w = WorkDir::new();
    let input = w.synth("s", 3000, 8, 0.01);
    let at = |threads: &str, polars: &str| {
        let out = w.join(&format!("t{threads}p{polars}"));
        bin()
            .env("POLARS_MAX_THREADS", polars)
            .args(["run", "--quiet", "--no-suppress", "--episode-data"])
            .args(["--threads", threads, "--input"])
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        snapshot(&out.join("all"))
            .into_iter()
            .filter(|(k, _)| k.ends_with(".parquet"))
            .collect::<BTreeMap<_, _>>()
    };
    let one = at("1", "1");
    assert_eq!(one.len(), 13, "{:?}", one.keys());
    assert!(one.contains_key("episodes_analysis.parquet"));
    for (threads, polars) in [("2", "2"), ("2", "1"), ("1", "2")] {
        let other = at(threads, polars);
        assert_eq!(
            one.keys().collect::<Vec<_>>(),
            other.keys().collect::<Vec<_>>()
        );
        for (k, v) in &one {
            assert!(
                v == &other[k],
                "{k} differs at --threads {threads}, POLARS_MAX_THREADS {polars}"
            );
        }
    }
}

#[test]
fn episode_data_needs_no_suppress_and_stays_off_the_page() {
    let w = WorkDir::new();
    let input = w.synth("s", 500, 3, 0.0);
    let refused = bin()
        .args(["run", "--episode-data", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(w.join("out"))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(
        stderr.contains("small-cell protection") && stderr.contains("--no-suppress"),
        "{stderr}"
    );
    assert!(!w.join("out").exists(), "something was published");
    bin()
        .args([
            "run",
            "--quiet",
            "--no-suppress",
            "--episode-data",
            "--input",
        ])
        .arg(&input)
        .arg("--out")
        .arg(w.join("out"))
        .assert()
        .success();
    let dir = w.join("out/all");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(!html.contains("episodes_analysis") && !summary.contains("episodes_analysis"));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["episode_data"], true);
    let listed: Vec<&str> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["file"].as_str().unwrap())
        .collect();
    for f in ["episodes_analysis.csv", "episodes_analysis.parquet"] {
        assert!(listed.contains(&f), "{f} not in the manifest");
    }
}

/// Tolerance for a mean over the same doubles summed in another order.
const SUM_ORDER: f64 = 1e-12;

#[test]
fn episode_data_adds_up_to_outcomes() {
    let w = WorkDir::new();
    let input = w.synth("s", 2000, 9, 0.0);
    bin()
        .args([
            "run",
            "--quiet",
            "--no-suppress",
            "--episode-data",
            "--input",
        ])
        .arg(&input)
        .arg("--out")
        .arg(w.join("out"))
        .assert()
        .success();
    let dir = w.join("out/all");
    let cols =
        from_parquet(&std::fs::read(dir.join("episodes_analysis.parquet")).unwrap()).unwrap();
    let col = |n: &str| &cols.iter().find(|(c, _)| c == n).unwrap().1;
    let (Values::Text(inst), Values::Text(track), Values::Float(change), Values::Bool(rec)) = (
        col("instrument"),
        col("track"),
        col("change"),
        col("recovered"),
    ) else {
        panic!("types")
    };
    let Values::Text(ids) = col("episode_id") else {
        panic!()
    };
    // Sorted by episode id, then instrument, one row each.
    let keys: Vec<(&String, &String)> = ids
        .iter()
        .map(|i| i.as_ref().unwrap())
        .zip(inst.iter().map(|i| i.as_ref().unwrap()))
        .collect();
    assert!(keys.windows(2).all(|k| k[0] < k[1]));
    // Per instrument × track and per instrument (track All): rows with a baseline, rows
    // with a change, and their mean, and the recovered share among the cases followed up.
    #[derive(Default)]
    struct Sums {
        rows: u64,
        changes: Vec<f64>,
        recovered: (u64, u64),
    }
    let mut sums: BTreeMap<(String, String), Sums> = BTreeMap::new();
    for i in 0..ids.len() {
        let (inst, track) = (inst[i].clone().unwrap(), track[i].clone().unwrap());
        for t in [track, "All".to_string()] {
            let s = sums.entry((inst.clone(), t)).or_default();
            s.rows += 1;
            s.changes.extend(change[i]);
            if let Some(r) = rec[i] {
                s.recovered.0 += u64::from(r);
                s.recovered.1 += 1;
            }
        }
    }
    let outcomes = Table::read(&dir.join("outcomes.csv"));
    let mut checked = 0;
    for ((inst, track), s) in &sums {
        let o = outcomes.find(&[("instrument", inst), ("track", track), ("modality", "All")]);
        assert_eq!(o.num("n_baseline"), Some(s.rows as f64), "{inst} {track}");
        assert_eq!(
            o.num("n_paired"),
            Some(s.changes.len() as f64),
            "{inst} {track}"
        );
        if let Some(want) = o.num("change_mean") {
            let got = s.changes.iter().sum::<f64>() / s.changes.len() as f64;
            assert!(
                (got - want).abs() <= SUM_ORDER * want.abs().max(1.0),
                "{inst} {track}: mean change {got} vs {want}"
            );
            checked += 1;
        }
        match o.num("pct_recovered") {
            Some(want) => {
                let got = 100.0 * s.recovered.0 as f64 / s.recovered.1 as f64;
                assert!(
                    (got - want).abs() <= SUM_ORDER * 100.0,
                    "{inst} {track}: {got} vs {want}"
                );
            }
            None => assert_eq!(s.recovered.1, 0, "{inst} {track}"),
        }
    }
    assert!(checked >= 20, "{checked} means compared");
}

#[test]
fn pandas_or_r_arrow_reads_every_file_of_a_run() {
    let w = WorkDir::new();
    let input = w.synth("s", 1000, 6, 0.01);
    bin()
        .args([
            "run",
            "--quiet",
            "--no-suppress",
            "--episode-data",
            "--input",
        ])
        .arg(&input)
        .arg("--out")
        .arg(w.join("out"))
        .assert()
        .success();
    let dir = w.join("out/all");
    // Per file: the column names and the number of rows, as the CSV has them.
    let mut want = String::new();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".parquet").map(String::from))
        .collect();
    files.sort();
    for f in &files {
        let t = Table::read(&dir.join(format!("{f}.csv")));
        want.push_str(&format!("{f} {} {}\n", t.rows.len(), t.header.join(",")));
    }
    let py = std::env::var("IOP_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import sys, os, pandas as pd\n\
        for f in sys.argv[2:]:\n\
        \x20   df = pd.read_parquet(os.path.join(sys.argv[1], f + '.parquet'))\n\
        \x20   print(f, len(df), ','.join(df.columns))\n\
        e = pd.read_parquet(os.path.join(sys.argv[1], 'episodes_analysis.parquet'))\n\
        print('types', e['los_days'].dtype, e['change'].dtype, str(e['admit_date'].iloc[0].__class__.__name__))\n";
    let mut read_by = Vec::new();
    if let Ok(out) = std::process::Command::new(&py)
        .args(["-c", script])
        .arg(&dir)
        .args(&files)
        .output()
    {
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.starts_with(&want),
                "pandas read:\n{text}\nwant:\n{want}"
            );
            assert!(text.contains("types int64 float64 date"), "{text}");
            read_by.push("pandas");
        }
    }
    let r = "a <- commandArgs(TRUE)\n\
        for (f in a[-1]) { x <- arrow::read_parquet(file.path(a[1], paste0(f, '.parquet')))\n\
        cat(f, nrow(x), paste(names(x), collapse = ','), '\\n', sep = ' ') }\n";
    if let Ok(out) = std::process::Command::new("Rscript")
        .args(["-e", r])
        .arg(&dir)
        .args(&files)
        .output()
    {
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout).replace(" \n", "\n");
            assert_eq!(text, want, "R arrow read");
            read_by.push("R arrow");
        }
    }
    eprintln!("read back by: {read_by:?}");
    if read_by.is_empty() {
        eprintln!("skipped: neither python3 with pandas and pyarrow nor R with arrow is available");
    }
}
