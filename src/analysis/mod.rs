//! Analysis: one module per output table, building rows from the paired data (rayon inside).
//! No I/O: tables go to `report` for writing.

pub mod abstinence;
pub mod ancova;
pub mod attrition;
pub mod benchmark;
pub mod cells;
pub mod engagement;
pub mod episodes;
pub mod longitudinal;
pub mod outcomes;
pub mod protection;
pub mod retention;
pub mod suppress;
pub mod tables;
pub mod trend;

pub use tables::{Links, Settings, Tables};
