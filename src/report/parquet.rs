//! Parquet output (SPEC §15 F1): typed columns to Parquet bytes through polars, and back.
//!
//! [`to_parquet`] writes one row group per 1,048,576 rows, uncompressed, with min, max and
//! null-count statistics, format version 1 pages of at most 1 MiB, no key-value metadata
//! beyond the Arrow schema polars always writes, and columns encoded one after the other
//! (`set_parallel(false)`): the bytes depend on the columns only, never on the thread count
//! (rayon's or `POLARS_MAX_THREADS`) or the clock. Uncompressed because every Parquet reader
//! has that codec (R's arrow can be built without snappy or zstd) and the tables are small.
//!
//! Types: [`Values::Int`] is INT64, [`Values::Float`] DOUBLE, [`Values::Bool`] BOOLEAN,
//! [`Values::Text`] a UTF-8 string, [`Values::Date`] DATE (days since 1970-01-01); `None` is
//! null. R's `arrow::read_parquet` and `pandas.read_parquet` load them as integer, double,
//! logical, character and Date (pandas: int64 or float64 when a column has nulls, float64,
//! bool or object, object, and date objects).

use polars::prelude::*;
use std::io::Cursor;

/// One column's values, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Int(Vec<Option<i64>>),
    /// Doubles; a NaN is written as NaN, so callers pass `None` for undefined values.
    Float(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Text(Vec<Option<String>>),
    /// Days since 1970-01-01.
    Date(Vec<Option<i32>>),
}

impl Values {
    /// The number of rows.
    pub fn len(&self) -> usize {
        match self {
            Values::Int(v) => v.len(),
            Values::Float(v) => v.len(),
            Values::Bool(v) => v.len(),
            Values::Text(v) => v.len(),
            Values::Date(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Rows per row group: every table of a run fits in one.
const ROW_GROUP_ROWS: usize = 1 << 20;
/// Largest data page, in bytes.
const DATA_PAGE_BYTES: usize = 1 << 20;

fn series(name: &str, values: &Values) -> PolarsResult<Series> {
    let name = PlSmallStr::from(name);
    Ok(match values {
        Values::Int(v) => Series::new(name, v),
        Values::Float(v) => Series::new(name, v),
        Values::Bool(v) => Series::new(name, v),
        Values::Text(v) => Series::new(name, v),
        Values::Date(v) => Series::new(name, v).cast(&DataType::Date)?,
    })
}

/// Writes `columns` (name, values; all of one length) as Parquet bytes.
///
/// # Errors
/// A message when the columns differ in length, two share a name, or polars fails to write.
pub fn to_parquet(columns: &[(String, Values)]) -> Result<Vec<u8>, String> {
    let height = columns.first().map_or(0, |(_, v)| v.len());
    if let Some((name, v)) = columns.iter().find(|(_, v)| v.len() != height) {
        return Err(format!(
            "column `{name}` has {} rows, the first column {height}",
            v.len()
        ));
    }
    let cols = columns
        .iter()
        .map(|(name, v)| series(name, v).map(Column::from))
        .collect::<PolarsResult<Vec<Column>>>()
        .map_err(|e| e.to_string())?;
    let mut df = DataFrame::new(height, cols).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    ParquetWriter::new(&mut out)
        .with_compression(ParquetCompression::Uncompressed)
        .with_statistics(StatisticsOptions {
            min_value: true,
            max_value: true,
            distinct_count: false,
            null_count: true,
            binary_statistics_truncate_length: None,
        })
        .with_row_group_size(Some(ROW_GROUP_ROWS))
        .with_data_page_size(Some(DATA_PAGE_BYTES))
        .with_key_value_metadata(None)
        .set_parallel(false)
        .finish(&mut df)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Reads Parquet bytes back into columns: 64-bit integers, doubles, booleans, strings and
/// dates as written by [`to_parquet`] (other integer widths are widened to [`Values::Int`]).
///
/// # Errors
/// A message when the bytes are not Parquet or a column has another type.
pub fn from_parquet(bytes: &[u8]) -> Result<Vec<(String, Values)>, String> {
    let df = ParquetReader::new(Cursor::new(bytes))
        .finish()
        .map_err(|e| e.to_string())?;
    df.columns()
        .iter()
        .map(|c| {
            let s = c.as_materialized_series().rechunk();
            let err = |e: PolarsError| e.to_string();
            let values = match s.dtype() {
                DataType::Int32 | DataType::Int64 => {
                    let s = s.cast(&DataType::Int64).map_err(err)?;
                    Values::Int(s.i64().map_err(err)?.iter().collect())
                }
                DataType::Float64 => Values::Float(s.f64().map_err(err)?.iter().collect()),
                DataType::Boolean => Values::Bool(s.bool().map_err(err)?.iter().collect()),
                DataType::String => Values::Text(
                    s.str()
                        .map_err(err)?
                        .iter()
                        .map(|o| o.map(str::to_string))
                        .collect(),
                ),
                DataType::Date => Values::Date(s.date().map_err(err)?.physical().iter().collect()),
                other => return Err(format!("column `{}` has type {other}", s.name())),
            };
            Ok((s.name().to_string(), values))
        })
        .collect()
}
