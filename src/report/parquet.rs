//! Parquet output (SPEC §15 F1): typed columns to Parquet bytes through polars, and back.
//!
//! [`to_parquet`] writes one row group per 1,048,576 rows, uncompressed, with min, max and
//! null-count statistics, format version 1 pages of at most 1 MiB, no key-value metadata
//! beyond the Arrow schema polars always writes, and columns encoded one after the other
//! (`set_parallel(false)`): the bytes depend on the columns only, never on the thread count
//! (rayon's or `POLARS_MAX_THREADS`) or the clock. Uncompressed because every Parquet reader
//! has that codec (R's arrow can be built without snappy or zstd) and the tables are small.
//!
//! A run's tables come as [`Table`]s, typed by their descriptions ([`crate::table::Kind`]):
//! [`values`] turns each column into [`Values`] by its kind, a cell the CSV writes empty
//! (missing, undefined or withheld; empty text) becoming null, so the Parquet file holds
//! exactly the CSV's values and blanks. Text is written as it is: the `'` the CSV puts before
//! a text that a spreadsheet would read as a formula is for spreadsheets, not for Parquet
//! readers. A large table is converted a part at a time ([`Part`]) and written once.
//!
//! Types: [`Values::Int`] is INT64, [`Values::Float`] DOUBLE, [`Values::Bool`] BOOLEAN,
//! [`Values::Text`] a UTF-8 string, [`Values::Date`] DATE (days since 1970-01-01); `None` is
//! null. R's `arrow::read_parquet` and `pandas.read_parquet` load them as integer, double,
//! logical, character and Date (pandas: int64 or float64 when a column has nulls, float64,
//! bool or object, object, and date objects).

use crate::table::{Cell, Kind, Table};
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

/// The typed values of `t`'s columns, by each column's kind: a cell the CSV writes empty
/// ([`Cell::Empty`], a number that is not finite, empty text) is null.
///
/// # Errors
/// A message naming the column when a cell is not of its column's kind (a bug in a table's
/// description) or a count does not fit INT64.
pub fn values(t: &Table) -> Result<Vec<(String, Values)>, String> {
    Ok(typed(t)?
        .into_iter()
        .map(|(name, v)| {
            let v = match v {
                Typed::Int(x) => Values::Int(x),
                Typed::Float(x) => Values::Float(x),
                Typed::Bool(x) => Values::Bool(x),
                Typed::Text(x) => {
                    Values::Text(x.into_iter().map(|s| s.map(String::from)).collect())
                }
                Typed::Date(x) => Values::Date(x),
            };
            (name.to_string(), v)
        })
        .collect())
}

/// [`Values`] with text borrowed from the table's cells.
enum Typed<'t> {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Text(Vec<Option<&'t str>>),
    Date(Vec<Option<i32>>),
}

/// See [`values`].
fn typed(t: &Table) -> Result<Vec<(&str, Typed<'_>)>, String> {
    if t.kinds.len() != t.header.len() {
        return Err(format!(
            "{} column kinds for {} columns",
            t.kinds.len(),
            t.header.len()
        ));
    }
    t.header
        .iter()
        .zip(&t.kinds)
        .enumerate()
        .map(|(c, (name, kind))| {
            let cells = t.rows.iter().map(|r| r.get(c).unwrap_or(&Cell::Empty));
            let bad = |cell: &Cell| format!("column `{name}` ({kind:?}) holds {cell:?}");
            let v = match kind {
                Kind::Int => Typed::Int(
                    cells
                        .map(|cell| match cell {
                            Cell::Int(n) => i64::try_from(*n)
                                .map(Some)
                                .map_err(|_| format!("column `{name}`: {n} exceeds INT64")),
                            Cell::Empty => Ok(None),
                            other => Err(bad(other)),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Kind::Float => Typed::Float(
                    cells
                        .map(|cell| match cell {
                            Cell::Num(x) => Ok(x.is_finite().then_some(*x)),
                            Cell::Empty => Ok(None),
                            other => Err(bad(other)),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Kind::Bool => Typed::Bool(
                    cells
                        .map(|cell| match cell {
                            Cell::Bool(b) => Ok(Some(*b)),
                            Cell::Empty => Ok(None),
                            other => Err(bad(other)),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Kind::Text => Typed::Text(
                    cells
                        .map(|cell| match cell {
                            Cell::Text(s) => Ok((!s.is_empty()).then_some(s.as_str())),
                            Cell::Empty => Ok(None),
                            other => Err(bad(other)),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Kind::Date => Typed::Date(
                    cells
                        .map(|cell| match cell {
                            Cell::Date(d) => Ok(Some(*d)),
                            Cell::Empty => Ok(None),
                            other => Err(bad(other)),
                        })
                        .collect::<Result<_, _>>()?,
                ),
            };
            Ok((name.as_str(), v))
        })
        .collect()
}

/// Some consecutive rows of a table, typed (see [`values`]): parts converted in parallel and
/// joined in order by [`parts_to_parquet`] give the bytes of the whole table at once.
pub struct Part(DataFrame);

impl Part {
    /// The rows of `t` as a part.
    ///
    /// # Errors
    /// As [`values`], or when polars refuses the columns.
    pub fn new(t: &Table) -> Result<Part, String> {
        let cols = typed(t)?
            .into_iter()
            .map(|(name, v)| {
                let name = PlSmallStr::from(name);
                Ok(Column::from(match v {
                    Typed::Int(x) => Series::new(name, x),
                    Typed::Float(x) => Series::new(name, x),
                    Typed::Bool(x) => Series::new(name, x),
                    Typed::Text(x) => Series::new(name, x),
                    Typed::Date(x) => Series::new(name, x).cast(&DataType::Date)?,
                }))
            })
            .collect::<PolarsResult<Vec<Column>>>()
            .map_err(|e| e.to_string())?;
        DataFrame::new(t.rows.len(), cols)
            .map(Part)
            .map_err(|e| e.to_string())
    }
}

/// Writes a table given as parts in row order (at least one; see [`Part`]) as Parquet bytes.
///
/// # Errors
/// A message when there is no part, the parts' columns differ, or polars fails to write.
pub fn parts_to_parquet(parts: Vec<Part>) -> Result<Vec<u8>, String> {
    let mut parts = parts.into_iter();
    let Part(mut df) = parts.next().ok_or("a table without parts")?;
    for Part(p) in parts {
        df.vstack_mut_owned(p).map_err(|e| e.to_string())?;
    }
    // One chunk per column, whatever the parts: the pages depend on the values only.
    df.rechunk_mut();
    write(&mut df)
}

fn frame(columns: &[(String, Values)]) -> Result<DataFrame, String> {
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
    DataFrame::new(height, cols).map_err(|e| e.to_string())
}

/// Writes `columns` (name, values; all of one length) as Parquet bytes.
///
/// # Errors
/// A message when the columns differ in length, two share a name, or polars fails to write.
pub fn to_parquet(columns: &[(String, Values)]) -> Result<Vec<u8>, String> {
    write(&mut frame(columns)?)
}

fn write(df: &mut DataFrame) -> Result<Vec<u8>, String> {
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
        .finish(df)
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
