//! CSV output: plain numbers at full precision, empty for missing, and text cells neutralised
//! against spreadsheet formula injection (SPEC §8).

pub use crate::table::{Cell, Table};

/// Prefixes a text cell that a spreadsheet would read as a formula with `'`.
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    match text.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// A number at full precision (shortest form that reads back to the same double): plain
/// decimals, exponent form below 1e-4 and from 1e15 in magnitude so p-values stay short.
pub fn number(x: f64) -> String {
    let a = x.abs();
    if a != 0.0 && !(1e-4..1e15).contains(&a) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

fn render(c: &Cell) -> std::borrow::Cow<'_, str> {
    match c {
        Cell::Text(t) => neutralise(t),
        Cell::Num(x) if x.is_finite() => number(*x).into(),
        Cell::Num(_) | Cell::Empty => "".into(),
        Cell::Int(n) => n.to_string().into(),
        Cell::Bool(b) => if *b { "true" } else { "false" }.into(),
        Cell::Date(d) => crate::dates::iso(*d).into(),
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
    records(rows.iter().map(|r| r.iter().map(|c| bytes(render(c)))))
}

/// The text of a cell as the CSV holds it (empty for a missing value).
pub fn text(c: &Cell) -> std::borrow::Cow<'_, str> {
    render(c)
}

fn bytes(text: std::borrow::Cow<'_, str>) -> std::borrow::Cow<'_, [u8]> {
    match text {
        std::borrow::Cow::Borrowed(t) => t.as_bytes().into(),
        std::borrow::Cow::Owned(t) => t.into_bytes().into(),
    }
}

fn records<I, F>(rows: I) -> Vec<u8>
where
    I: IntoIterator<Item = F>,
    F: IntoIterator,
    F::Item: AsRef<[u8]>,
{
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
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
