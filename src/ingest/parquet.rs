//! Parquet input (SPEC §15 F3): a Parquet file read with polars and rendered, row by row, as
//! the CSV text the CSV path would read, so that exactly the same header mapping, PHI guard,
//! row checks, duplicate judgement, quarantine and accounting run on it ([`super::read`]).
//!
//! Every value becomes the text a CSV export of it would hold: null is an empty field,
//! strings are kept as they are, integers in decimal, doubles in their shortest round-trip
//! form (exponent form below 1e-4 and from 1e15 in magnitude, as in outputs), booleans
//! `true`/`false`, dates `YYYY-MM-DD` or in `[input] date_format` when set. A timestamp at
//! midnight (no time zone, or UTC) is its date; any other is `YYYY-MM-DD HH:MM:SS[.fff]`, and
//! one in another time zone is the UTC instant `YYYY-MM-DDTHH:MM:SS[.fff]Z`: never a valid
//! date, so a date column holding them is quarantined as `bad_date` rather than read with a
//! shifted day. Categorical (dictionary) and other columns polars can cast are read as text;
//! binary columns must hold UTF-8. A row is one CSV record (fields with a comma, quote, CR or
//! LF quoted), and its line is its row number + 1 (the header is line 1) even when a value
//! holds a newline: the records that do are listed so that [`super::read::Source`] can count
//! lines by rows.
//!
//! Rows are rendered in parallel in blocks of a fixed size, so the text never depends on the
//! thread count; polars reads the file with its own pool (`POLARS_MAX_THREADS`), which
//! changes nothing in what it returns.

use crate::dates;
use crate::error::{Error, Result};
use polars::prelude::*;
use rayon::prelude::*;
use std::io::Cursor;

/// A Parquet file as CSV text.
pub(super) struct Rendered {
    /// The header record, then one record per row, each ending in `\n`.
    pub text: Vec<u8>,
    /// Records holding a newline inside a value: (start offset in `text`, newlines inside
    /// values of this record and every earlier one), in order.
    pub inner_newlines: Vec<(usize, u64)>,
}

/// (start offset, newlines inside values) of records holding newlines inside values.
type InnerNewlines = Vec<(usize, u64)>;

/// Rows rendered per parallel block (fixed, so blocks never depend on the thread count).
const BLOCK_ROWS: usize = 1 << 16;

/// One column, in the form it is rendered from.
enum Col {
    Text(StringChunked),
    Int(Int64Chunked),
    UInt(UInt64Chunked),
    F64(Float64Chunked),
    F32(Float32Chunked),
    Bool(BooleanChunked),
    /// Days since 1970-01-01.
    Date(Int32Chunked),
    /// Units since 1970-01-01T00:00, units per day, and whether the values are UTC instants
    /// of another time zone (rendered as such).
    Datetime(Int64Chunked, i64, bool),
    /// Binary values (UTF-8 is checked as they are rendered).
    Binary(BinaryChunked),
    Null,
}

fn polars_error(name: &str, e: PolarsError) -> Error {
    Error::Data(format!(
        "{name}: cannot be read as a Parquet file ({e}); export it again as Parquet or as CSV"
    ))
}

impl Col {
    fn new(s: &Series, file: &str, position: usize) -> Result<Col> {
        let dt = s.dtype().clone();
        let err = |e: PolarsError| polars_error(file, e);
        let one = |s: Series| -> Series { s.rechunk() };
        Ok(match &dt {
            DataType::Null => Col::Null,
            DataType::String => Col::Text(one(s.clone()).str().map_err(err)?.clone()),
            DataType::Boolean => Col::Bool(one(s.clone()).bool().map_err(err)?.clone()),
            DataType::Float64 => Col::F64(one(s.clone()).f64().map_err(err)?.clone()),
            DataType::Float32 => Col::F32(one(s.clone()).f32().map_err(err)?.clone()),
            DataType::UInt64 => Col::UInt(one(s.clone()).u64().map_err(err)?.clone()),
            d if d.is_integer() => {
                let c = s.cast(&DataType::Int64).map_err(err)?;
                Col::Int(one(c).i64().map_err(err)?.clone())
            }
            DataType::Date => Col::Date(one(s.clone()).date().map_err(err)?.physical().clone()),
            DataType::Datetime(unit, tz) => {
                let per_day = match unit {
                    TimeUnit::Nanoseconds => 86_400_000_000_000,
                    TimeUnit::Microseconds => 86_400_000_000,
                    TimeUnit::Milliseconds => 86_400_000,
                };
                let zoned = tz
                    .as_ref()
                    .is_some_and(|z| !matches!(z.as_str(), "UTC" | "Etc/UTC" | "+00:00" | "Z"));
                let c = one(s.clone());
                Col::Datetime(
                    c.datetime().map_err(err)?.physical().clone(),
                    per_day,
                    zoned,
                )
            }
            DataType::Binary => Col::Binary(one(s.clone()).binary().map_err(err)?.clone()),
            other => match s.cast(&DataType::String) {
                Ok(c) => Col::Text(one(c).str().map_err(err)?.clone()),
                Err(_) => {
                    return Err(Error::Data(format!(
                        "{file}: column {} (`{}`) has the Parquet type {other}, which cannot be read as text; \
                         export it as text, numbers, booleans or dates",
                        position + 1,
                        s.name()
                    )))
                }
            },
        })
    }
}

/// Date text: ISO, or the configured chrono format (parsed once).
struct DateText<'a> {
    items: Option<Vec<chrono::format::Item<'a>>>,
}

impl<'a> DateText<'a> {
    fn new(format: &'a str) -> Self {
        DateText {
            items: (!format.is_empty())
                .then(|| chrono::format::StrftimeItems::new(format).collect()),
        }
    }

    fn write(&self, out: &mut Vec<u8>, day: i32) {
        use std::io::Write;
        let d = self.items.as_ref().and_then(|items| {
            chrono::NaiveDate::from_num_days_from_ce_opt(day.checked_add(719_163)?)
                .map(|d| (d, items))
        });
        match d {
            Some((d, items)) => {
                let at = out.len();
                if write!(out, "{}", d.format_with_items(items.iter())).is_err() {
                    out.truncate(at);
                    dates::write_iso(out, day);
                }
            }
            None => dates::write_iso(out, day),
        }
    }
}

/// A double as outputs write it: the shortest text that reads back to it.
fn write_f64(out: &mut Vec<u8>, x: f64) {
    use std::io::Write;
    let a = x.abs();
    let _ = if x.is_finite() && a != 0.0 && !(1e-4..1e15).contains(&a) {
        write!(out, "{x:e}")
    } else {
        write!(out, "{x}")
    };
}

fn write_f32(out: &mut Vec<u8>, x: f32) {
    use std::io::Write;
    let a = x.abs();
    let _ = if x.is_finite() && a != 0.0 && !(1e-4..1e15).contains(&a) {
        write!(out, "{x:e}")
    } else {
        write!(out, "{x}")
    };
}

/// A timestamp: its date at midnight, else date and time (with `T` and `Z` when `zoned`).
fn write_datetime(out: &mut Vec<u8>, v: i64, per_day: i64, zoned: bool, dates: &DateText) {
    let day = v.div_euclid(per_day);
    let rem = v.rem_euclid(per_day);
    let Ok(day32) = i32::try_from(day) else {
        out.extend_from_slice(v.to_string().as_bytes());
        return;
    };
    if rem == 0 && !zoned {
        dates.write(out, day32);
        return;
    }
    dates::write_iso(out, day32);
    out.push(if zoned { b'T' } else { b' ' });
    let per_second = per_day / 86_400;
    let secs = rem / per_second;
    let frac = rem % per_second;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    out.extend_from_slice(format!("{h:02}:{m:02}:{s:02}").as_bytes());
    if frac != 0 {
        let digits = per_second.ilog10() as usize;
        let f = format!("{frac:0digits$}");
        out.push(b'.');
        out.extend_from_slice(f.trim_end_matches('0').as_bytes());
    }
    if zoned {
        out.push(b'Z');
    }
}

/// Appends `v` as one CSV field (quoted when it holds a comma, quote, CR or LF); returns the
/// number of newlines in it.
fn write_field(out: &mut Vec<u8>, v: &[u8]) -> u64 {
    if !v.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.extend_from_slice(v);
        return 0;
    }
    out.push(b'"');
    for &b in v {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
    memchr::memchr_iter(b'\n', v).count() as u64
}

/// A fatal value: NUL bytes or non-UTF-8 bytes, named by line and column.
fn bad_value(file: &str, row: usize, c: usize, header: &[String], what: &str) -> Error {
    Error::Data(format!(
        "{file}: line {}, column {} (`{}`): {what}; fix the export",
        row + 2,
        c + 1,
        header[c]
    ))
}

/// Renders rows `rows` as CSV records into `out`; `inner` gets (start offset, newlines inside
/// values) of every record holding any.
fn render_rows(
    cols: &[Col],
    header: &[String],
    file: &str,
    dates: &DateText,
    rows: std::ops::Range<usize>,
    out: &mut Vec<u8>,
    inner: &mut Vec<(usize, u64)>,
) -> Result<()> {
    let mut tmp: Vec<u8> = Vec::with_capacity(64);
    let mut num = itoa::Buffer::new();
    for r in rows {
        let start = out.len();
        let mut newlines = 0;
        for (c, col) in cols.iter().enumerate() {
            if c > 0 {
                out.push(b',');
            }
            match col {
                Col::Null => {}
                Col::Text(a) => {
                    if let Some(v) = a.get(r) {
                        if memchr::memchr(0, v.as_bytes()).is_some() {
                            return Err(bad_value(file, r, c, header, "a value holds a NUL byte"));
                        }
                        newlines += write_field(out, v.as_bytes());
                    }
                }
                Col::Binary(a) => {
                    if let Some(v) = a.get(r) {
                        if std::str::from_utf8(v).is_err() {
                            return Err(bad_value(file, r, c, header, "bytes that are not UTF-8"));
                        }
                        if memchr::memchr(0, v).is_some() {
                            return Err(bad_value(file, r, c, header, "a value holds a NUL byte"));
                        }
                        newlines += write_field(out, v);
                    }
                }
                Col::Int(a) => {
                    if let Some(v) = a.get(r) {
                        out.extend_from_slice(num.format(v).as_bytes());
                    }
                }
                Col::UInt(a) => {
                    if let Some(v) = a.get(r) {
                        out.extend_from_slice(num.format(v).as_bytes());
                    }
                }
                Col::F64(a) => {
                    if let Some(v) = a.get(r) {
                        write_f64(out, v);
                    }
                }
                Col::F32(a) => {
                    if let Some(v) = a.get(r) {
                        write_f32(out, v);
                    }
                }
                Col::Bool(a) => {
                    if let Some(v) = a.get(r) {
                        out.extend_from_slice(if v { b"true" } else { b"false" });
                    }
                }
                Col::Date(a) => {
                    if let Some(v) = a.get(r) {
                        tmp.clear();
                        dates.write(&mut tmp, v);
                        newlines += write_field(out, &tmp);
                    }
                }
                Col::Datetime(a, per_day, zoned) => {
                    if let Some(v) = a.get(r) {
                        tmp.clear();
                        write_datetime(&mut tmp, v, *per_day, *zoned, dates);
                        newlines += write_field(out, &tmp);
                    }
                }
            }
        }
        // A record of one empty field would be a blank line, which CSV readers skip.
        if out.len() == start {
            out.extend_from_slice(b"\"\"");
        }
        out.push(b'\n');
        if newlines > 0 {
            inner.push((start, newlines));
        }
    }
    Ok(())
}

/// Whether polars, as built here (`parquet`, `dtype-date`, `dtype-datetime`), reads an Arrow
/// type: text, 32- and 64-bit integers, floats, booleans, dates, timestamps, binary,
/// dictionary-encoded text (R factors, pandas categoricals) and all-null columns.
fn readable(dt: &ArrowDataType) -> bool {
    match dt {
        ArrowDataType::Null
        | ArrowDataType::Boolean
        | ArrowDataType::Int32
        | ArrowDataType::Int64
        | ArrowDataType::UInt32
        | ArrowDataType::UInt64
        | ArrowDataType::Float32
        | ArrowDataType::Float64
        | ArrowDataType::Date32
        | ArrowDataType::Timestamp(..)
        | ArrowDataType::Binary
        | ArrowDataType::LargeBinary
        | ArrowDataType::BinaryView
        | ArrowDataType::Utf8
        | ArrowDataType::LargeUtf8
        | ArrowDataType::Utf8View => true,
        ArrowDataType::Dictionary(_, values, _) => matches!(
            **values,
            ArrowDataType::Utf8 | ArrowDataType::LargeUtf8 | ArrowDataType::Utf8View
        ),
        _ => false,
    }
}

/// Reads the Parquet `bytes` of file `name` and renders them as CSV text (see the module
/// doc), dates in `date_format` (empty: `YYYY-MM-DD`).
///
/// # Errors
/// [`Error::Data`] naming the file when the bytes are not Parquet, have no columns, hold a
/// column that cannot be read as text, or a value with a NUL byte or non-UTF-8 bytes (named
/// by line and column).
pub(super) fn render(bytes: &[u8], name: &str, date_format: &str) -> Result<Rendered> {
    if !bytes.starts_with(b"PAR1") || !bytes.ends_with(b"PAR1") || bytes.len() < 12 {
        return Err(Error::Data(format!(
            "{name}: not a Parquet file (a Parquet file starts and ends with `PAR1`); \
             export it again as Parquet, or as CSV named with .csv"
        )));
    }
    let t = std::time::Instant::now();
    let mut reader = ParquetReader::new(Cursor::new(bytes));
    let schema = reader.schema().map_err(|e| polars_error(name, e))?;
    // polars panics on a type whose feature is not compiled in: refuse those first.
    if let Some((i, f)) = schema
        .iter_values()
        .enumerate()
        .find(|(_, f)| !readable(&f.dtype))
    {
        return Err(Error::Data(format!(
            "{name}: column {} (`{}`) has the Parquet (Arrow) type {:?}, which cannot be read; \
             export it as text, 32- or 64-bit integers, doubles, booleans, dates or timestamps",
            i + 1,
            f.name,
            f.dtype
        )));
    }
    let df = reader.finish().map_err(|e| polars_error(name, e))?;
    crate::diag::debug(&format!("{name}: polars read in {:.2?}", t.elapsed()));
    if df.width() == 0 {
        return Err(Error::Data(format!(
            "{name}: the Parquet file has no columns; it needs the columns of the export"
        )));
    }
    let header: Vec<String> = df.columns().iter().map(|c| c.name().to_string()).collect();
    let cols = df
        .columns()
        .iter()
        .enumerate()
        .map(|(i, c)| Col::new(c.as_materialized_series(), name, i))
        .collect::<Result<Vec<Col>>>()?;
    let height = df.height();
    drop(df);
    let t = std::time::Instant::now();
    let mut text = Vec::new();
    for (c, h) in header.iter().enumerate() {
        if c > 0 {
            text.push(b',');
        }
        write_field(&mut text, h.as_bytes());
    }
    text.push(b'\n');
    let dates = DateText::new(date_format);
    let blocks: Vec<(Vec<u8>, InnerNewlines)> = (0..height.div_ceil(BLOCK_ROWS))
        .into_par_iter()
        .map(|b| {
            let rows = b * BLOCK_ROWS..((b + 1) * BLOCK_ROWS).min(height);
            let mut out = Vec::with_capacity(rows.len() * 48);
            let mut inner = Vec::new();
            render_rows(&cols, &header, name, &dates, rows, &mut out, &mut inner)?;
            Ok((out, inner))
        })
        .collect::<Result<_>>()?;
    drop(cols);
    text.reserve_exact(blocks.iter().map(|b| b.0.len()).sum());
    let mut inner_newlines = Vec::new();
    let mut total = 0u64;
    for (out, inner) in blocks {
        let base = text.len();
        for (start, n) in inner {
            total += n;
            inner_newlines.push((base + start, total));
        }
        text.extend_from_slice(&out);
    }
    crate::diag::debug(&format!(
        "{name}: {height} rows rendered in {:.2?}",
        t.elapsed()
    ));
    Ok(Rendered {
        text,
        inner_newlines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(out: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        out(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn numbers_and_timestamps_render_as_a_csv_export_holds_them() {
        assert_eq!(text(|o| write_f64(o, 0.1 + 0.2)), "0.30000000000000004");
        assert_eq!(text(|o| write_f64(o, 12.0)), "12");
        assert_eq!(text(|o| write_f64(o, -0.0)), "-0");
        assert_eq!(text(|o| write_f64(o, 1.5e-7)), "1.5e-7");
        assert_eq!(text(|o| write_f64(o, 2e15)), "2e15");
        assert_eq!(text(|o| write_f64(o, f64::NAN)), "NaN");
        assert_eq!(text(|o| write_f32(o, 0.1)), "0.1");
        let iso = DateText::new("");
        let us = DateText::new("%m/%d/%Y");
        let day = dates::from_ymd(2024, 3, 9).unwrap();
        assert_eq!(text(|o| iso.write(o, day)), "2024-03-09");
        assert_eq!(text(|o| us.write(o, day)), "03/09/2024");
        let ms = 86_400_000i64;
        let midnight = i64::from(day) * ms;
        assert_eq!(
            text(|o| write_datetime(o, midnight, ms, false, &us)),
            "03/09/2024"
        );
        assert_eq!(
            text(|o| write_datetime(o, midnight + 3_723_450, ms, false, &us)),
            "2024-03-09 01:02:03.45"
        );
        assert_eq!(
            text(|o| write_datetime(o, midnight, ms, true, &iso)),
            "2024-03-09T00:00:00Z"
        );
        // Before 1970.
        assert_eq!(
            text(|o| write_datetime(o, -ms, ms, false, &iso)),
            "1969-12-31"
        );
    }

    fn parquet(columns: Vec<Column>) -> Vec<u8> {
        let mut df = DataFrame::new_infer_height(columns).unwrap();
        let mut out = Vec::new();
        ParquetWriter::new(&mut out).finish(&mut df).unwrap();
        out
    }

    fn rendered(bytes: &[u8], date_format: &str) -> Result<(String, InnerNewlines)> {
        let r = render(bytes, "f.parquet", date_format)?;
        Ok((String::from_utf8(r.text).unwrap(), r.inner_newlines))
    }

    #[test]
    fn every_column_type_renders_as_csv_text() {
        let day = dates::from_ymd(2025, 1, 6).unwrap();
        let ms = i64::from(day) * 86_400_000;
        let bytes = parquet(vec![
            Series::new("i32".into(), &[Some(7i32), None, Some(-3)]).into(),
            Series::new("i64".into(), &[Some(i64::MAX), Some(0), None]).into(),
            Series::new("f32".into(), &[Some(0.1f32), Some(2.5), None]).into(),
            Series::new("f64".into(), &[Some(12.0f64), Some(1e-7), Some(0.1 + 0.2)]).into(),
            Series::new("ok".into(), &[Some(true), None, Some(false)]).into(),
            Series::new("note".into(), &[Some("a, \"b\""), Some("x\ny"), None]).into(),
            Series::new("day".into(), &[Some(day), None, Some(day + 1)])
                .cast(&DataType::Date)
                .unwrap()
                .into(),
            Series::new("at".into(), &[Some(ms), Some(ms + 90_000), None])
                .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
                .unwrap()
                .into(),
            Series::new("utc".into(), &[Some(ms), None, None])
                .cast(&DataType::Datetime(
                    TimeUnit::Milliseconds,
                    Some(TimeZone::UTC),
                ))
                .unwrap()
                .into(),
            Series::new("cat".into(), &[Some("CBT"), Some("MI"), Some("CBT")])
                .cast(&DataType::from_categories(Categories::global()))
                .unwrap()
                .into(),
            Series::new("bin".into(), &[Some(&b"raw"[..]), None, Some(&b"z"[..])]).into(),
            Series::new_null("nothing".into(), 3).into(),
        ]);
        let (text, inner) = rendered(&bytes, "").unwrap();
        let header = "i32,i64,f32,f64,ok,note,day,at,utc,cat,bin,nothing\n";
        let row1 = "7,9223372036854775807,0.1,12,true,\"a, \"\"b\"\"\",2025-01-06,2025-01-06,2025-01-06,CBT,raw,\n";
        let row2 = ",0,2.5,1e-7,,\"x\ny\",,2025-01-06 00:01:30,,MI,,\n";
        let row3 = "-3,,,0.30000000000000004,false,,2025-01-07,,,CBT,z,\n";
        assert_eq!(text, format!("{header}{row1}{row2}{row3}"));
        // Row 2 holds one newline inside a value.
        assert_eq!(inner, [(header.len() + row1.len(), 1)]);
        // Dates in the configured format.
        let (text, _) = rendered(&bytes, "%d.%m.%Y").unwrap();
        assert!(
            text.contains(",06.01.2025,06.01.2025,06.01.2025,CBT,"),
            "{text}"
        );
    }

    #[test]
    fn bad_files_and_values_are_data_errors_naming_file_line_and_column() {
        let err = |r: Result<(String, InnerNewlines)>| match r {
            Err(Error::Data(m)) => m,
            other => panic!("{:?}", other.map(|r| r.0)),
        };
        let m = err(rendered(b"episode_id\nE1\n", ""));
        assert!(m.starts_with("f.parquet: not a Parquet file"), "{m}");
        let mut truncated = parquet(vec![Series::new("a".into(), &[1i64]).into()]);
        truncated.drain(8..20);
        let m = err(rendered(&truncated, ""));
        assert!(
            m.starts_with("f.parquet: cannot be read as a Parquet file"),
            "{m}"
        );
        let nul = parquet(vec![
            Series::new("a".into(), &["x", "y"]).into(),
            Series::new("b".into(), &["ok", "a\0b"]).into(),
        ]);
        let m = err(rendered(&nul, ""));
        assert!(
            m.starts_with("f.parquet: line 3, column 2 (`b`): a value holds a NUL byte"),
            "{m}"
        );
        let latin1 = parquet(vec![Series::new("b".into(), &[&b"caf\xe9"[..]]).into()]);
        let m = err(rendered(&latin1, ""));
        assert!(
            m.starts_with("f.parquet: line 2, column 1 (`b`): bytes that are not UTF-8"),
            "{m}"
        );
        // A timestamp in another zone is its UTC instant, never a date.
        let at = Int64Chunked::new("at".into(), &[0i64, 18_000_000]).into_datetime(
            TimeUnit::Milliseconds,
            Some(unsafe { TimeZone::from_static("America/New_York") }),
        );
        let zoned = parquet(vec![at.into_series().into()]);
        assert_eq!(
            rendered(&zoned, "").unwrap().0,
            "at\n1970-01-01T00:00:00Z\n1970-01-01T05:00:00Z\n"
        );
    }

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        let mut o = Vec::new();
        assert_eq!(write_field(&mut o, b"a b"), 0);
        o.push(b',');
        assert_eq!(write_field(&mut o, b"say \"hi\",\nthen\nbye"), 2);
        assert_eq!(
            String::from_utf8(o).unwrap(),
            "a b,\"say \"\"hi\"\",\nthen\nbye\""
        );
    }
}
