//! Ingest: reading the export, validation, quarantine and the PHI guard (SPEC §2–§3).

mod reason;

pub use reason::Reason;
