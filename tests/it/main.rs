//! The integration tests: one binary, one module per area, shared helpers in `util`.

mod cli;
mod corpus;
mod ingest;
mod synth;
mod util;
