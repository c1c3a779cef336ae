//! Output tables: the one description of each table's columns ([`spec`]) from which the CSV
//! and Parquet files, the page's tables and the suppression pass all come, and the typed
//! cells the exporters consume ([`cell`]).

pub mod cell;
pub mod spec;

pub use cell::{Cell, Kind, Table, MARGIN};
pub use spec::{
    Access, Column, Counted, Format, PageTable, Parts, Published, Role, RowRelation, Rows,
    TableSpec, Tabular, WITHHELD,
};
