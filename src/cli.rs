//! The command line (SPEC §9), defined with clap and turned once into a validated
//! [`Command`]. Nothing past this module sees clap types.

use crate::dates;
use crate::error::{Error, Result};
use crate::options::{Command, Period, RunOptions, ValidateOptions, SAMPLE_INPUT};
use crate::synth::model::SiteEffect;
use crate::synth::SynthOptions;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Outcomes of Intensive Outpatient Programs from de-identified CSV exports.
///
/// Reads episodes, assessments and attendance, pairs each episode's baseline and follow-up
/// scores, and writes tables, charts and a report. Exit codes: 0 report written; 1 data error,
/// nothing published; 2 usage or config error; 3 another run holds the output lock.
#[derive(Debug, Parser)]
#[command(
    name = "iop-outcomes",
    version,
    about,
    long_about,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Validate the export, pair scores, compute the statistics and publish the report.
    Run(RunArgs),
    /// Check an export: print the row accounting per file and reason, write quarantine.csv.
    Validate(ValidateArgs),
    /// Generate a realistic synthetic export (seeded, deterministic) in the input format.
    Synth(SynthArgs),
    /// List the instrument catalog (built in, or as a config changes it) with every source.
    Instruments(InstrumentsArgs),
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// Folder holding episodes.csv, assessments.csv and (optionally) attendance.csv.
    #[arg(long, value_name = "DIR", default_value = SAMPLE_INPUT)]
    pub input: PathBuf,
    /// TOML config: column and label mapping, date format, windows, instruments, report options.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InstrumentsArgs {
    /// TOML config whose [[instruments]] entries override or extend the built-in catalog.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Reporting period: a quarter (2026Q3), a year (2026), or `previous` (the last complete
    /// calendar quarter before today, for cron); cohort = anchor date in it.
    #[arg(long, value_name = "P", conflicts_with_all = ["from", "to"])]
    pub period: Option<String>,
    /// First anchor date of a custom period (YYYY-MM-DD); use with --to.
    #[arg(long, value_name = "DATE", requires = "to")]
    pub from: Option<String>,
    /// Last anchor date of a custom period (YYYY-MM-DD, inclusive); use with --from.
    #[arg(long, value_name = "DATE", requires = "from")]
    pub to: Option<String>,
    /// Follow-up point named in the config.
    #[arg(long, value_name = "NAME", default_value = "discharge")]
    pub followup: String,
    /// Output folder; the report goes to <out>/<period label>/.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// Do not blank small cells (for analysts inside the covered entity; recorded in the manifest).
    #[arg(long)]
    pub no_suppress: bool,
    /// Also write episodes_analysis.csv and .parquet: one row per cohort episode and
    /// instrument with a baseline (dates, scores, change, outcomes, weekly hours, sessions).
    /// Episode-level data is not small-cell protected: only with --no-suppress; listed in the
    /// manifest, never linked from report.html.
    #[arg(long)]
    pub episode_data: bool,
    /// Worker threads, 1 to 256 (default: all cores). Outputs are identical whatever the number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// No progress output; errors still go to stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Messages on stderr from this level up (default: info on a terminal, warn without one,
    /// error with --quiet).
    #[arg(long, value_name = "LEVEL", value_enum)]
    pub log_level: Option<crate::diag::Level>,
    /// Retention: the date the export is complete through (YYYY-MM-DD); episodes still in care
    /// are followed up to it. Default: the latest date in the export. Must not be before any
    /// admission.
    #[arg(long, value_name = "DATE")]
    pub data_through: Option<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Folder to write quarantine.csv into.
    #[arg(long, value_name = "DIR", default_value = "reports/validate")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Number of episodes to generate (at least 1).
    #[arg(long, value_name = "N")]
    pub episodes: u64,
    /// Seed of the generator: the same seed and count give byte-identical files.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Folder to write the export into (created if missing).
    #[arg(long, value_name = "DIR", default_value = "synth-export")]
    pub out: PathBuf,
    /// Share of rows (0 to 0.5) made bad, of every kind validation must catch.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    pub dirty: f64,
    /// Plant a site effect (repeatable, one per site): at SITE (site_01 … site_08) the mean
    /// slope of every symptom score is multiplied by FACTOR (0 to 4; above 1: more clients
    /// reliably improve), and baselines are SEVERITY baseline SDs higher (-2 to 2; default 0).
    /// Recorded in synth.json; see data/README.md.
    #[arg(long, value_name = "SITE=FACTOR[,SEVERITY]")]
    pub site_effect: Vec<String>,
    /// Print nothing on success.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Parses a `YYYY-MM-DD` flag value.
fn parse_date_flag(flag: &str, value: &str) -> Result<dates::Day> {
    dates::parse_iso(value.trim().as_bytes()).ok_or_else(|| {
        Error::Usage(format!(
            "{flag} expects a date as YYYY-MM-DD (a real calendar day)"
        ))
    })
}

impl Cli {
    /// Turns the parsed arguments into a validated command.
    ///
    /// # Errors
    /// A usage error naming the flag whose value is wrong.
    pub fn into_command(self) -> Result<Command> {
        Ok(match self.command {
            Sub::Run(a) => {
                let period = match (&a.period, &a.from, &a.to) {
                    (Some(p), _, _) => Period::parse(p)?,
                    (None, Some(f), Some(t)) => {
                        let from = parse_date_flag("--from", f)?;
                        let to = parse_date_flag("--to", t)?;
                        if to < from {
                            return Err(Error::Usage("--to is before --from".into()));
                        }
                        Period::Range { from, to }
                    }
                    _ => Period::All,
                };
                let options = RunOptions {
                    input: a.input.input,
                    config: a.input.config,
                    period,
                    followup: a.followup,
                    out: a.out,
                    suppress: !a.no_suppress,
                    threads: a.threads.map(usize::from),
                    quiet: a.quiet,
                    log_level: a.log_level,
                    data_through: a
                        .data_through
                        .as_deref()
                        .map(|d| parse_date_flag("--data-through", d))
                        .transpose()?,
                    episode_data: a.episode_data,
                };
                options.check()?;
                Command::Run(options)
            }
            Sub::Validate(a) => Command::Validate(ValidateOptions {
                input: a.input.input,
                config: a.input.config,
                out: a.out,
            }),
            Sub::Synth(a) => Command::Synth {
                options: SynthOptions {
                    episodes: a.episodes,
                    seed: a.seed,
                    out: a.out,
                    dirty: a.dirty,
                    site_effects: a
                        .site_effect
                        .iter()
                        .map(|s| SiteEffect::parse(s).map_err(Error::Usage))
                        .collect::<Result<_>>()?,
                },
                quiet: a.quiet,
            },
            Sub::Instruments(a) => Command::Instruments { config: a.config },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
