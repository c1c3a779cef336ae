//! Cells and tables as the exporters consume them: typed values, no format.

use crate::dates::Day;

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
    /// A calendar day (written `YYYY-MM-DD`).
    Date(Day),
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

/// What a column holds, as the typed files (Parquet) store it: every non-empty cell of a
/// column of kind `Int` is a [`Cell::Int`], of `Float` a [`Cell::Num`], of `Bool` a
/// [`Cell::Bool`], of `Text` a [`Cell::Text`], of `Date` a [`Cell::Date`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Float,
    Bool,
    Text,
    Date,
}

/// A header, each column's kind, and rows of cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub header: Vec<String>,
    /// One per column of `header`.
    pub kinds: Vec<Kind>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table from column names with their kinds, and rows.
    pub fn new(header: &[(&str, Kind)], rows: Vec<Vec<Cell>>) -> Table {
        Table {
            header: header.iter().map(|(s, _)| s.to_string()).collect(),
            kinds: header.iter().map(|(_, k)| *k).collect(),
            rows,
        }
    }
}
