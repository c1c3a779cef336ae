//! The Rust half of the scale benchmark's floor: read an export's three CSV files with polars
//! (typed: dates as dates, scores and minutes as numbers, the rest as text; a value that does
//! not parse becomes null, as `ignore_errors` does in Python) and do nothing else. Prints rows
//! and seconds per file. benches/scale.sh times this and Python polars' `read_csv` (the newest
//! release) and takes the faster as the floor.
//! Usage: `cargo run --release --features bench-floor --example polars_read -- DIR`.

use polars::prelude::*;

/// The typed columns of each file (the others are read as text).
const TYPED: [(&str, &[(&str, bool)]); 3] = [
    (
        "episodes.csv",
        &[("admit_date", true), ("discharge_date", true)],
    ),
    (
        "assessments.csv",
        &[("assessed_on", true), ("score", false)],
    ),
    (
        "attendance.csv",
        &[("session_date", true), ("minutes", false)],
    ),
];

fn main() -> PolarsResult<()> {
    let dir = std::env::args().nth(1).expect("usage: polars_read DIR");
    let total = std::time::Instant::now();
    for (f, typed) in TYPED {
        let path = std::path::Path::new(&dir).join(f);
        if !path.exists() {
            continue;
        }
        let t = std::time::Instant::now();
        let schema: Schema = typed
            .iter()
            .map(|&(name, date)| {
                let dtype = if date {
                    DataType::Date
                } else {
                    DataType::Float64
                };
                Field::new(name.into(), dtype)
            })
            .collect();
        let df = LazyCsvReader::new(PlRefPath::try_from_path(&path)?)
            .with_infer_schema_length(Some(0))
            .with_dtype_overwrite(Some(Arc::new(schema)))
            .with_ignore_errors(true)
            .finish()?
            .collect()?;
        println!(
            "{f} {} rows {:.3} s",
            df.height(),
            t.elapsed().as_secs_f64()
        );
    }
    println!("total {:.3} s", total.elapsed().as_secs_f64());
    Ok(())
}
