//! The integration tests: one binary, one module per area, shared helpers in `util`.

// Reference values are R's output printed with %.17g, kept verbatim.
#![allow(clippy::excessive_precision)]

mod attack;
mod benchmark;
mod cli;
mod config;
mod corpus;
mod ingest;
mod longitudinal;
mod parquet;
mod props;
mod reliability;
mod report;
mod retention;
#[rustfmt::skip]
mod retention_values;
mod run;
mod snapshots;
mod synth;
mod tables;
mod util;
