//! CSV output: plain numbers at full precision, empty for missing, and text cells neutralised
//! against spreadsheet formula injection (SPEC §8).

/// Prefixes a text cell that a spreadsheet would read as a formula with `'`.
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    match text.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// A cell of an output table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text from the input or a label: neutralised when written.
    Text(String),
    /// A number: written with Rust's shortest round-trip form (full precision).
    Num(f64),
    /// A count.
    Int(u64),
    /// Undefined or suppressed: an empty cell.
    Empty,
}

impl Cell {
    pub fn opt(x: Option<f64>) -> Cell {
        x.filter(|v| v.is_finite()).map_or(Cell::Empty, Cell::Num)
    }

    fn render(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Cell::Text(t) => neutralise(t),
            Cell::Num(x) if x.is_finite() => format!("{x}").into(),
            Cell::Num(_) | Cell::Empty => "".into(),
            Cell::Int(n) => n.to_string().into(),
        }
    }
}

/// Renders a header and rows as CSV bytes (LF line ends, RFC 4180 quoting).
pub fn table(header: &[&str], rows: &[Vec<Cell>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(header).expect("writing to memory");
    for r in rows {
        w.write_record(r.iter().map(|c| c.render().into_owned()))
            .expect("writing to memory");
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
        assert_eq!(
            text,
            "label,x,n\n\"'=HYPERLINK(\"\"http://x\"\")\",-1.5,3\nCBT,,\n'-x,0.30000000000000004,0\n"
        );
    }
}
