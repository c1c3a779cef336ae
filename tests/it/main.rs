//! The integration tests: one binary, one module per area, shared helpers in `util`.

mod cli;
mod config;
mod corpus;
mod ingest;
mod run;
mod synth;
mod util;
