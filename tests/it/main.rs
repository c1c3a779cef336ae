//! The integration tests: one binary, one module per area, shared helpers in `util`.

mod cli;
mod synth;
mod util;
