//! The `iop-outcomes` binary: parse the command line, run the command, map errors to the
//! exit codes of SPEC §9. Nothing else lives here.

use clap::Parser;
use iop_outcomes::cli::Cli;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let status = cli
        .into_command()
        .and_then(|cmd| iop_outcomes::app::execute(cmd, &mut std::io::stdout().lock()));
    match status {
        Ok(s) => ExitCode::from(s as u8),
        Err(e) => {
            // Never panics, even on a closed or full stderr (SPEC §16 O8).
            iop_outcomes::diag::error(&e.to_string());
            ExitCode::from(e.exit_status() as u8)
        }
    }
}
