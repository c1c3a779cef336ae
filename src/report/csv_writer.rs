//! CSV output: plain numbers at full precision, empty for missing, and text cells neutralised
//! against spreadsheet formula injection (SPEC §8).

pub use crate::table::{Cell, Table};

/// Prefixes a text cell that a spreadsheet would read as a formula with `'`.
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    if formula_like(text) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// Whether a spreadsheet would read `text` as a formula.
fn formula_like(text: &str) -> bool {
    matches!(
        text.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// A number at full precision (shortest form that reads back to the same double): plain
/// decimals, exponent form below 1e-4 and from 1e15 in magnitude so p-values stay short.
pub fn number(x: f64) -> String {
    let mut out = Vec::new();
    write_number(&mut out, x);
    String::from_utf8(out).expect("a formatted number is ASCII")
}

/// Appends [`number`]`(x)` to `out`.
fn write_number(out: &mut Vec<u8>, x: f64) {
    use std::io::Write;
    let a = x.abs();
    if a != 0.0 && !(1e-4..1e15).contains(&a) {
        write!(out, "{x:e}")
    } else {
        write!(out, "{x}")
    }
    .expect("writing to memory");
}

/// Appends the CSV text of a cell to `out` (nothing for a missing value): text neutralised,
/// numbers at full precision, dates `YYYY-MM-DD`.
fn render_into(c: &Cell, out: &mut Vec<u8>) {
    use std::io::Write;
    match c {
        Cell::Text(t) => {
            if formula_like(t) {
                out.push(b'\'');
            }
            out.extend_from_slice(t.as_bytes());
        }
        Cell::Num(x) if x.is_finite() => write_number(out, *x),
        Cell::Num(_) | Cell::Empty => {}
        Cell::Int(n) => write!(out, "{n}").expect("writing to memory"),
        Cell::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Cell::Date(d) => crate::dates::write_iso(out, *d),
    }
}

/// Renders a table as CSV bytes (LF line ends, RFC 4180 quoting).
pub fn render_table(t: &Table) -> Vec<u8> {
    let header: Vec<&str> = t.header.iter().map(String::as_str).collect();
    table(&header, &t.rows)
}

/// Renders a header and rows as CSV bytes (LF line ends, RFC 4180 quoting).
pub fn table(header: &[&str], rows: &[Vec<Cell>]) -> Vec<u8> {
    let mut out = records(std::iter::once(header.iter().copied()));
    out.extend(body(rows));
    out
}

/// The rows alone, as they follow the header in [`table`]: each record is quoted on its own,
/// so the rows of a table rendered in parts and concatenated are the same bytes.
pub fn body(rows: &[Vec<Cell>]) -> Vec<u8> {
    let mut w = writer();
    // Each field is rendered into one reused buffer: no allocation per cell.
    let mut field = Vec::with_capacity(64);
    for r in rows {
        for c in r {
            field.clear();
            render_into(c, &mut field);
            w.write_field(&field).expect("writing to memory");
        }
        w.write_record(None::<&[u8]>).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new())
}

fn records<I, F>(rows: I) -> Vec<u8>
where
    I: IntoIterator<Item = F>,
    F: IntoIterator,
    F::Item: AsRef<[u8]>,
{
    let mut w = writer();
    for r in rows {
        w.write_record(r).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_stay_numbers() {
        let out = table(
            &["label", "x", "n"],
            &[
                vec![
                    Cell::Text("=HYPERLINK(\"http://x\")".into()),
                    Cell::Num(-1.5),
                    Cell::Int(3),
                ],
                vec![Cell::Text("CBT".into()), Cell::Num(f64::NAN), Cell::Empty],
                vec![Cell::Text("-x".into()), Cell::Num(0.1 + 0.2), Cell::Int(0)],
            ],
        );
        let text = String::from_utf8(out).unwrap();
        assert_eq!(number(1.9339108260782122e-47), "1.9339108260782122e-47");
        assert_eq!(number(0.00012), "0.00012");
        assert_eq!(number(-0.0), "-0");
        assert_eq!(number(2e15), "2e15");
        assert_eq!(
            text,
            "label,x,n\n\"'=HYPERLINK(\"\"http://x\"\")\",-1.5,3\nCBT,,\n'-x,0.30000000000000004,0\n"
        );
    }
}
