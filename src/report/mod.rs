//! Outputs: the tables as CSV, the quarantine file, the charts, summary.md, report.html and
//! manifest.json ([`assemble`] lists them in publishing order), and their atomic publish.
//! Each writer returns bytes; only `publish` (and [`write_atomic`], for `validate`) touches
//! files.

pub mod assemble;
pub mod audit;
pub mod benchmark;
pub mod csv_writer;
pub mod dropout;
pub mod html;
pub mod manifest;
pub mod methods;
pub mod parquet;
pub mod publish;
pub mod retention;
pub mod summary;
pub mod view;

use crate::ingest::QuarantineRow;
use crate::table::{Cell, Kind, Table, Tabular};

/// quarantine.csv and quarantine.parquet: file, line, column, reason, raw (SPEC §8).
pub struct Quarantine<'a>(pub &'a [QuarantineRow]);

impl Tabular for Quarantine<'_> {
    fn name(&self) -> &'static str {
        "quarantine"
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn rows(&self, range: std::ops::Range<usize>) -> Table {
        let rows = self.0[range]
            .iter()
            .map(|q| {
                vec![
                    Cell::Text(q.file.clone()),
                    Cell::Int(q.line),
                    Cell::Text(q.column.clone()),
                    Cell::Text(q.reason.as_str().to_string()),
                    Cell::Text(q.raw.clone()),
                ]
            })
            .collect();
        Table::new(
            &[
                ("file", Kind::Text),
                ("line", Kind::Int),
                ("column", Kind::Text),
                ("reason", Kind::Text),
                ("raw", Kind::Text),
            ],
            rows,
        )
    }
}

/// quarantine.csv: file, line, column, reason, raw (SPEC §8).
pub fn quarantine_csv(rows: &[QuarantineRow]) -> Vec<u8> {
    csv_writer::render_table(&Quarantine(rows).table())
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced, then renamed.
///
/// # Errors
/// An I/O error naming the path.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> crate::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| crate::Error::io(dir, e))?;
    tmp.write_all(bytes)
        .map_err(|e| crate::Error::io(path, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| crate::Error::io(path, e))?;
    tmp.persist(path)
        .map_err(|e| crate::Error::io(path, e.error))?;
    Ok(())
}
