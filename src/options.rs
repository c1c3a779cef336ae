//! The validated commands and their options: what `cli` builds from the command line and
//! `app` and `pipeline` consume. Free of clap types and of any stage's logic.

use crate::dates;
use crate::error::{Error, Result};
use crate::synth::SynthOptions;
use std::path::PathBuf;

/// The default `--input`: the bundled synthetic sample.
pub const SAMPLE_INPUT: &str = "data/sample";

/// A validated command.
#[derive(Debug, Clone)]
pub enum Command {
    Run(RunOptions),
    Validate(ValidateOptions),
    Synth { options: SynthOptions, quiet: bool },
    Instruments { config: Option<PathBuf> },
}

/// Options of `iop-outcomes run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub input: PathBuf,
    pub config: Option<PathBuf>,
    pub period: Period,
    pub followup: String,
    pub out: PathBuf,
    pub suppress: bool,
    pub threads: Option<usize>,
    pub quiet: bool,
    pub log_level: Option<crate::diag::Level>,
    /// `--data-through`: the date episodes still in care are censored at in the retention
    /// analysis (default: the latest date in the export).
    pub data_through: Option<dates::Day>,
    /// `--episode-data`: also write episodes_analysis (SPEC §15 F2); only with suppression
    /// off ([`RunOptions::check`]).
    pub episode_data: bool,
}

/// Why `--episode-data` needs `--no-suppress` (the usage error's message).
pub const EPISODE_DATA_NEEDS_NO_SUPPRESS: &str = "--episode-data writes one row per episode (episode-level data), which small-cell protection cannot cover: it is written only with --no-suppress, for analysts inside the covered entity";

impl RunOptions {
    /// Checks the options that depend on one another (before anything is read).
    ///
    /// # Errors
    /// A usage error: `--episode-data` without `--no-suppress`.
    pub fn check(&self) -> Result<()> {
        if self.episode_data && self.suppress {
            return Err(Error::Usage(EPISODE_DATA_NEEDS_NO_SUPPRESS.into()));
        }
        Ok(())
    }
}

/// Options of `iop-outcomes validate`.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    pub input: PathBuf,
    pub config: Option<PathBuf>,
    pub out: PathBuf,
}

/// The reporting period selected on the command line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Period {
    /// The whole cohort.
    All,
    /// A calendar quarter.
    Quarter { year: i32, quarter: u32 },
    /// A calendar year.
    Year(i32),
    /// Inclusive custom range.
    Range { from: dates::Day, to: dates::Day },
}

impl Period {
    /// Parses `2026Q3`, `2026` or `previous` (the last complete quarter before today's local
    /// date, SPEC §16 O9).
    pub fn parse(text: &str) -> Result<Period> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("previous") {
            return Ok(Period::previous_quarter(dates::today()));
        }
        let bad = || {
            Error::Usage(format!(
                "--period expects a quarter like 2026Q3, a year like 2026, or `previous`, not {t:?}"
            ))
        };
        if let Some((y, q)) = t.split_once(['Q', 'q']) {
            let year: i32 = y.parse().map_err(|_| bad())?;
            let quarter: u32 = q.parse().map_err(|_| bad())?;
            if y.len() != 4 || !(1..=4).contains(&quarter) || q.len() != 1 {
                return Err(bad());
            }
            Ok(Period::Quarter { year, quarter })
        } else if t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Period::Year(t.parse().map_err(|_| bad())?))
        } else {
            Err(bad())
        }
    }

    /// The last complete calendar quarter before `today`.
    pub fn previous_quarter(today: dates::Day) -> Period {
        let (y, m, _) = dates::civil_from_days(today);
        let q = (m - 1) / 3 + 1;
        if q == 1 {
            Period::Quarter {
                year: y - 1,
                quarter: 4,
            }
        } else {
            Period::Quarter {
                year: y,
                quarter: q - 1,
            }
        }
    }

    /// The label used in folder names and the `period` column (SPEC §10 P2).
    pub fn label(&self) -> String {
        match self {
            Period::All => "all".into(),
            Period::Quarter { year, quarter } => format!("{year}Q{quarter}"),
            Period::Year(y) => y.to_string(),
            Period::Range { from, to } => format!("{}_{}", dates::iso(*from), dates::iso(*to)),
        }
    }

    /// Inclusive bounds of anchor dates, or `None` for the whole cohort.
    pub fn bounds(&self) -> Option<(dates::Day, dates::Day)> {
        match *self {
            Period::All => None,
            Period::Quarter { year, quarter } => {
                let m0 = (quarter - 1) * 3 + 1;
                let from = dates::days_from_civil(year, m0, 1);
                let to = if quarter == 4 {
                    dates::days_from_civil(year + 1, 1, 1) - 1
                } else {
                    dates::days_from_civil(year, m0 + 3, 1) - 1
                };
                Some((from, to))
            }
            Period::Year(y) => Some((
                dates::days_from_civil(y, 1, 1),
                dates::days_from_civil(y, 12, 31),
            )),
            Period::Range { from, to } => Some((from, to)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        assert_eq!(
            Period::parse("2026Q3").unwrap(),
            Period::Quarter {
                year: 2026,
                quarter: 3
            }
        );
        assert_eq!(Period::parse("2026").unwrap(), Period::Year(2026));
        assert!(Period::parse("2026Q5").is_err());
        assert!(Period::parse("26Q1").is_err());
        assert!(Period::parse("Q3").is_err());
        let day = |y, m, d| dates::days_from_civil(y, m, d);
        let q = |year, quarter| Period::Quarter { year, quarter };
        assert_eq!(Period::previous_quarter(day(2026, 11, 29)), q(2026, 3));
        assert_eq!(Period::previous_quarter(day(2026, 10, 1)), q(2026, 3));
        assert_eq!(Period::previous_quarter(day(2026, 9, 30)), q(2026, 2));
        assert_eq!(Period::previous_quarter(day(2027, 1, 1)), q(2026, 4));
        assert_eq!(Period::previous_quarter(day(2027, 3, 31)), q(2026, 4));
        assert!(matches!(
            Period::parse("previous").unwrap(),
            Period::Quarter { .. }
        ));
        let (f, t) = Period::parse("2026Q4").unwrap().bounds().unwrap();
        assert_eq!(dates::iso(f), "2026-10-01");
        assert_eq!(dates::iso(t), "2026-12-31");
        let (f, t) = Period::parse("2024Q1").unwrap().bounds().unwrap();
        assert_eq!(
            (dates::iso(f), dates::iso(t)),
            ("2024-01-01".into(), "2024-03-31".into())
        );
    }
}
