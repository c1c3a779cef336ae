//! Writes a Parquet copy of a CSV export (for timing Parquet input and comparing runs; the
//! test suite has the same converter in tests/it/parquet.rs):
//! `cargo run --release --example csv_to_parquet -- IN_DIR OUT_DIR`.
//!
//! A column is INT64 or DATE when every non-empty value reads as that type and prints back as
//! the same text, DOUBLE when every one reads as a finite number (`12.50` is 12.5, so a raw
//! row in quarantine.csv may show the number as `12.5`), else text (dirty values are kept as
//! they are); empty values are null. Snappy-compressed, as pandas and R's arrow write by
//! default. synth.json is copied.

use iop_outcomes::dates;
use polars::prelude::*;
use std::path::Path;

fn fits(values: &[&str], kind: &str) -> bool {
    values.iter().filter(|v| !v.is_empty()).all(|v| match kind {
        "int" => v.parse::<i64>().is_ok_and(|n| n.to_string() == *v),
        "date" => dates::parse_iso(v.as_bytes()).is_some_and(|d| dates::iso(d) == *v),
        "float" => v.parse::<f64>().is_ok_and(f64::is_finite),
        _ => true,
    })
}

fn convert(csv: &Path, parquet: &Path) -> Result<Vec<&'static str>, Box<dyn std::error::Error>> {
    let mut rdr = csv::Reader::from_path(csv)?;
    let header: Vec<String> = rdr.headers()?.iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = rdr.records().collect::<Result<_, _>>()?;
    let mut columns = Vec::new();
    let mut kinds = Vec::new();
    for (c, name) in header.iter().enumerate() {
        let values: Vec<&str> = rows.iter().map(|r| r.get(c).unwrap_or("")).collect();
        let kind = ["int", "date", "float", "text"]
            .into_iter()
            .find(|k| fits(&values, k))
            .expect("text fits");
        let opt = |v: &str| (!v.is_empty()).then(|| v.to_string());
        let s = match kind {
            "int" => Series::new(
                name.into(),
                values
                    .iter()
                    .map(|v| opt(v).map(|v| v.parse::<i64>().unwrap()))
                    .collect::<Vec<_>>(),
            ),
            "date" => Series::new(
                name.into(),
                values
                    .iter()
                    .map(|v| opt(v).map(|v| dates::parse_iso(v.as_bytes()).unwrap()))
                    .collect::<Vec<_>>(),
            )
            .cast(&DataType::Date)?,
            "float" => Series::new(
                name.into(),
                values
                    .iter()
                    .map(|v| opt(v).map(|v| v.parse::<f64>().unwrap()))
                    .collect::<Vec<_>>(),
            ),
            _ => Series::new(
                name.into(),
                values.iter().map(|v| opt(v)).collect::<Vec<_>>(),
            ),
        };
        columns.push(Column::from(s));
        kinds.push(kind);
    }
    let mut df = DataFrame::new(rows.len(), columns)?;
    let mut f = std::fs::File::create(parquet)?;
    ParquetWriter::new(&mut f)
        .with_compression(ParquetCompression::Snappy)
        .finish(&mut df)?;
    Ok(kinds)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(input), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: csv_to_parquet IN_DIR OUT_DIR".into());
    };
    let (input, out) = (Path::new(&input), Path::new(&out));
    std::fs::create_dir_all(out)?;
    for f in ["episodes", "assessments", "attendance"] {
        let csv = input.join(format!("{f}.csv"));
        if !csv.exists() {
            continue;
        }
        let kinds = convert(&csv, &out.join(format!("{f}.parquet")))?;
        println!("{f}.parquet: {kinds:?}");
    }
    if input.join("synth.json").exists() {
        std::fs::copy(input.join("synth.json"), out.join("synth.json"))?;
    }
    Ok(())
}
