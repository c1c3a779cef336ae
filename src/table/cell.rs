//! Cells and tables as the exporters consume them: typed values, no format.

/// The margin label: the row that sums every value of a grouping column (SPEC §10 S13).
pub const MARGIN: &str = "All";

/// A cell of an output table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text from the input or a label (neutralised against formula injection in CSV).
    Text(String),
    /// A number, written at full precision.
    Num(f64),
    /// A count.
    Int(u64),
    /// A flag.
    Bool(bool),
    /// Undefined or suppressed: an empty cell.
    Empty,
}

impl Cell {
    /// A number, or empty when `None` or not finite.
    pub fn opt(x: Option<f64>) -> Cell {
        x.filter(|v| v.is_finite()).map_or(Cell::Empty, Cell::Num)
    }

    /// A count, or empty when `None`.
    pub fn count(n: Option<u64>) -> Cell {
        n.map_or(Cell::Empty, Cell::Int)
    }

    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
}

/// A header and rows of cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table from column names and rows.
    pub fn new(header: &[&str], rows: Vec<Vec<Cell>>) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows,
        }
    }
}
