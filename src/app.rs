//! The stages wired together for each subcommand. `main` calls [`execute`] and maps the
//! result to an exit code; everything here returns errors instead of exiting.

use crate::config::Config;
use crate::error::{Error, ExitStatus, Result};
use crate::ingest::{self, FileAccount};
use crate::instruments::{Catalog, Direction, ScoreKind};
use crate::options::{Command, ValidateOptions};
use crate::report;
use crate::synth;
use std::io::Write;

/// Runs a command, writing its normal output to `stdout`.
///
/// # Errors
/// Any stage's error; its [`Error::exit_status`] is the process exit code.
pub fn execute(command: Command, stdout: &mut dyn Write) -> Result<ExitStatus> {
    match command {
        Command::Instruments { config } => {
            let (_, catalog) = Config::load_with_catalog(config.as_deref())?;
            print_catalog(&catalog, stdout)?;
            Ok(ExitStatus::Success)
        }
        Command::Synth { options, quiet } => {
            let truth = synth::generate(&options)?;
            if !quiet {
                let mut text = format!("wrote {}\n", options.out.display());
                for (name, f) in &truth.files {
                    let bad: u64 = f.quarantined.values().sum();
                    text.push_str(&format!(
                        "  {name:<16} {:>12} rows ({} planted bad)\n",
                        f.rows, bad
                    ));
                }
                text.push_str("  synth.json       ground truth and planted effects\n");
                write_out(stdout, &text)?;
            }
            Ok(ExitStatus::Success)
        }
        Command::Validate(v) => validate(&v, stdout),
        Command::Run(r) => {
            crate::diag::init(r.log_level, r.quiet);
            if let Some(n) = r.threads {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build_global()
                    .map_err(|e| Error::Usage(format!("--threads {n}: {e}")))?;
            }
            let summary = crate::pipeline::run(&r, std::env::args().skip(1).collect())?;
            if !r.quiet && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                write_out(
                    stdout,
                    &format!(
                        "wrote {}: {} outcome rows from {} cohort episodes ({} still in care), {} rows quarantined\n",
                        summary.folder.display(),
                        summary.outcome_rows,
                        summary.cohort,
                        summary.active,
                        summary.quarantined
                    ),
                )?;
            }
            Ok(ExitStatus::Success)
        }
    }
}

fn validate(v: &ValidateOptions, stdout: &mut dyn Write) -> Result<ExitStatus> {
    let (cfg, catalog) = Config::load_with_catalog(v.config.as_deref())?;
    let export = ingest::load(&v.input, &cfg, &catalog)?;
    let path = v.out.join("quarantine.csv");
    report::write_atomic(&path, &report::quarantine_csv(&export.quarantine))?;
    let mut t = accounting_table(&export.accounts);
    if !export.unknown.is_empty() {
        t.push_str("\nValues rejected as unknown (the commonest first):\n");
        t.push_str(&ingest::describe_unknown(&export.unknown));
    }
    t.push_str(&format!(
        "\nwrote {} ({} quarantined rows)\n",
        path.display(),
        export.quarantine.len()
    ));
    write_out(stdout, &t)?;
    // Heavy loss makes the export unusable for a run: say so with the same exit code.
    for w in ingest::check_loss(
        &export.accounts,
        &export.unknown,
        cfg.input.max_quarantined_share,
        "a run would stop here",
    )? {
        crate::diag::warn(&w);
    }
    Ok(ExitStatus::Success)
}

/// The per-file, per-reason accounting as a text table.
pub fn accounting_table(accounts: &[FileAccount]) -> String {
    let mut t = format!(
        "{:<20} {:>12} {:>12} {:>12}\n",
        "file", "rows read", "accepted", "quarantined"
    );
    for a in accounts {
        if !a.present {
            t.push_str(&format!("{:<20} {:>12}\n", a.file, "(not supplied)"));
            continue;
        }
        t.push_str(&format!(
            "{:<20} {:>12} {:>12} {:>12}\n",
            a.file,
            a.rows_read,
            a.accepted,
            a.quarantined_total()
        ));
        for (reason, n) in &a.quarantined {
            t.push_str(&format!("  {reason:<44} {n:>12}\n"));
        }
    }
    t
}

fn write_out(stdout: &mut dyn Write, text: &str) -> Result<()> {
    stdout
        .write_all(text.as_bytes())
        .map_err(|e| Error::io("<stdout>", e))
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// Prints the catalog: one block per instrument, every threshold beside its source.
pub fn print_catalog(catalog: &Catalog, out: &mut dyn Write) -> Result<()> {
    let mut t = String::new();
    for i in catalog.iter() {
        let dir = match i.direction {
            Direction::HigherIsWorse => "higher is worse",
            Direction::HigherIsBetter => "higher is better",
        };
        let kind = match i.kind {
            ScoreKind::Symptom => "symptom score",
            ScoreKind::DaysOfUse => "days of use in the past 30 days",
        };
        t.push_str(&format!("{}  {}\n", i.id, i.name));
        t.push_str(&format!(
            "    range {}-{}, {dir}, {kind}\n    source: {}\n",
            fmt_num(i.min),
            fmt_num(i.max),
            i.source
        ));
        let cmp = match i.direction {
            Direction::HigherIsWorse => ">=",
            Direction::HigherIsBetter => "<=",
        };
        let mut line = |label: String, src: &Option<String>| {
            let line = format!("    {label:<28} {}", src.as_deref().unwrap_or(""));
            t.push_str(line.trim_end());
            t.push('\n');
        };
        match i.caseness {
            Some(c) => line(format!("caseness {cmp} {}", fmt_num(c)), &i.caseness_source),
            None => line("caseness: none".into(), &None),
        }
        match i.rci_threshold() {
            Some(r) => line(
                format!("reliable change {}", fmt_num((r * 1e4).round() / 1e4)),
                &i.reliable_change_source,
            ),
            None => line("reliable change: none".into(), &None),
        }
        if let Some(r) = i.remission_below {
            line(format!("remission < {}", fmt_num(r)), &i.remission_source);
        }
        if let Some(r) = i.response_fraction {
            line(
                format!("response >= {}% improvement", fmt_num(r * 100.0)),
                &i.response_source,
            );
        }
        t.push('\n');
    }
    write_out(out, &t)
}
