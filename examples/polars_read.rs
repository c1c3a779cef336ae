//! The bare floor of the scale benchmark: read an export's CSV files with polars (lazy scan,
//! every column, as text) and do nothing else. Prints rows and seconds per file.
//! Usage: `cargo run --release --features bench-floor --example polars_read -- DIR`.
//!
//! Columns are read as text because a typed read aborts at the first dirty value (a score of
//! `ten`): reading text is what any validator, polars-based or not, must do first.

use polars::prelude::*;

fn main() -> PolarsResult<()> {
    let dir = std::env::args().nth(1).expect("usage: polars_read DIR");
    let total = std::time::Instant::now();
    for f in ["episodes.csv", "assessments.csv", "attendance.csv"] {
        let path = std::path::Path::new(&dir).join(f);
        if !path.exists() {
            continue;
        }
        let t = std::time::Instant::now();
        let df = LazyCsvReader::new(PlRefPath::try_from_path(&path)?)
            .with_infer_schema_length(Some(0))
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
