//! iop-outcomes: outcomes of Intensive Outpatient Programs from de-identified CSV exports.
//!
//! Data flows one way: ingest → cohort and pairing → analysis → report and charts →
//! publish. Each stage is a module; `app` wires them together for each subcommand and
//! `cli` turns the command line into a validated [`options::Command`].

// Reference values in tests are R's output printed with %.17g, kept verbatim.
#![cfg_attr(test, allow(clippy::excessive_precision, clippy::approx_constant))]

pub mod analysis;
pub mod app;
pub mod charts;
pub mod cli;
pub mod cohort;
pub mod config;
pub mod dates;
pub mod diag;
pub mod disclosure;
pub mod error;
pub mod ingest;
pub mod instruments;
pub mod options;
pub mod pipeline;
pub mod report;
pub mod schema;
pub mod stats;
pub mod synth;
pub mod table;

pub use error::{Error, ExitStatus, Result};
