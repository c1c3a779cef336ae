//! Ingest: reading the export, validation, quarantine and the PHI guard (SPEC §2–§3).
//!
//! [`load`] reads `episodes.csv`, `assessments.csv` and the optional `attendance.csv`, maps
//! their columns and labels through the config, and returns the accepted rows as columns
//! plus the quarantine and the row accounting: for every file, rows read = accepted +
//! quarantined. Fatal problems (missing file or required column, empty file, non-UTF-8 or NUL
//! bytes, unterminated quote, PHI) are [`Error::Data`] naming file, line and column, never
//! the value. This stage writes nothing.
//!
//! Any of the files may be Parquet (SPEC §15 F3): a name in `[input]` ending in `.parquet`,
//! or, for a file the config does not name, `<name>.parquet` when `<name>.csv` is absent
//! (both present is a data error). A Parquet file is rendered as the CSV text an export of
//! it would hold and then read exactly as a CSV file is (`parquet`, [`resolve_input`]).

mod accept;
mod bounds;
mod loss;
mod parquet;
mod parse;
mod phi;
mod read;
mod reason;
mod schema;
mod validate;

pub use loss::{check_loss, describe_unknown, UnknownValues};
pub use reason::Reason;
pub use schema::{ASSESSMENT_COLUMNS, ATTENDANCE_COLUMNS, EPISODE_COLUMNS};

use crate::config::Config;
use crate::dates::Day;
use crate::error::{Error, Result};
use crate::instruments::Catalog;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Accepted episodes, as columns, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Episodes {
    pub id: Vec<String>,
    pub client: Vec<String>,
    pub track: Vec<String>,
    pub modality: Vec<String>,
    pub admit: Vec<Day>,
    pub discharge: Vec<Option<Day>>,
    pub site: Vec<Option<String>>,
    pub delivery: Vec<Option<String>>,
    pub discharge_reason: Vec<Option<String>>,
    pub age_group: Vec<Option<String>>,
    pub sex: Vec<Option<String>>,
    pub race_ethnicity: Vec<Option<String>>,
}

impl Episodes {
    pub fn len(&self) -> usize {
        self.id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// The text of a groupable episode column for episode `i` (`None` when not given).
    pub fn text(&self, column: &str, i: usize) -> Option<&str> {
        match column {
            "track" => Some(&self.track[i]),
            "modality" => Some(&self.modality[i]),
            "site" => self.site[i].as_deref(),
            "delivery" => self.delivery[i].as_deref(),
            "discharge_reason" => self.discharge_reason[i].as_deref(),
            "age_group" => self.age_group[i].as_deref(),
            "sex" => self.sex[i].as_deref(),
            "race_ethnicity" => self.race_ethnicity[i].as_deref(),
            _ => None,
        }
    }
}

/// Accepted assessments, as columns, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assessments {
    /// Index into [`Episodes`].
    pub episode: Vec<u32>,
    /// Index into `instruments`.
    pub instrument: Vec<u16>,
    pub date: Vec<Day>,
    pub score: Vec<f64>,
    /// Instrument ids of the catalog, in byte order.
    pub instruments: Vec<String>,
}

impl Assessments {
    pub fn len(&self) -> usize {
        self.episode.len()
    }

    pub fn is_empty(&self) -> bool {
        self.episode.is_empty()
    }
}

/// Accepted attendance rows, as columns, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attendance {
    pub episode: Vec<u32>,
    pub date: Vec<Day>,
    /// Index into `services`.
    pub service: Vec<u16>,
    pub minutes: Vec<u16>,
    /// Service labels in byte order (`None`: not given).
    pub services: Vec<Option<String>>,
}

impl Attendance {
    pub fn len(&self) -> usize {
        self.episode.len()
    }

    pub fn is_empty(&self) -> bool {
        self.episode.is_empty()
    }
}

/// Row accounting of one input file.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FileAccount {
    pub file: String,
    /// Whether the file was there (attendance.csv is optional).
    pub present: bool,
    pub rows_read: u64,
    pub accepted: u64,
    /// Quarantined rows by reason name.
    pub quarantined: BTreeMap<String, u64>,
}

impl FileAccount {
    pub fn new(file: &str, present: bool) -> Self {
        FileAccount {
            file: file.to_string(),
            present,
            rows_read: 0,
            accepted: 0,
            quarantined: BTreeMap::new(),
        }
    }

    pub fn quarantined_total(&self) -> u64 {
        self.quarantined.values().sum()
    }
}

/// One quarantined row.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineRow {
    pub file: String,
    /// Line where the record starts (the header is line 1).
    pub line: u64,
    /// The column at fault, as named in the file's header ("" when the whole row is at fault).
    pub column: String,
    pub reason: Reason,
    /// The record as it appears in the file.
    pub raw: String,
}

/// Size and SHA-256 of an input file as read (recorded in the manifest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fingerprint {
    pub size: u64,
    pub sha256: [u8; 32],
}

/// The validated export.
#[derive(Debug, Clone)]
pub struct Export {
    pub episodes: Episodes,
    pub assessments: Assessments,
    pub attendance: Option<Attendance>,
    /// Accounting of episodes, assessments and attendance, in that order.
    pub accounts: Vec<FileAccount>,
    /// Every quarantined row, by file (in the order above) then line.
    pub quarantine: Vec<QuarantineRow>,
    /// Size and SHA-256 of episodes, assessments and attendance (`None`: not supplied).
    pub fingerprints: [Option<Fingerprint>; 3],
    /// Values rejected as unknown (instrument ids, labels of closed sets), per file and column.
    pub unknown: Vec<UnknownValues>,
    /// The names of episodes, assessments and attendance as read (`[input]`, or the
    /// `.parquet` file read in place of a default `.csv` name; see [`resolve_input`]).
    pub files: [String; 3],
}

/// Whether `name` is read as Parquet: it ends in `.parquet` (any case).
pub fn is_parquet(name: &str) -> bool {
    name.len() >= 8
        && name.is_char_boundary(name.len() - 8)
        && name[name.len() - 8..].eq_ignore_ascii_case(".parquet")
}

/// The file to read in `dir` for an input configured as `configured` (SPEC §15 F3): the
/// configured name when the config names the file (`named`), or when it is not the default
/// `default`; otherwise the default `<stem>.csv`, or `<stem>.parquet` when only that one is
/// there (the default name is returned when neither is, for the caller's "not found").
///
/// # Errors
/// [`Error::Data`] when both `<stem>.csv` and `<stem>.parquet` are in `dir` and the config
/// names neither.
pub fn resolve_input(
    dir: &Path,
    configured: &str,
    named: bool,
    default: &str,
    key: &str,
) -> Result<String> {
    if named || configured != default {
        return Ok(configured.to_string());
    }
    let parquet = Path::new(configured)
        .with_extension("parquet")
        .to_string_lossy()
        .into_owned();
    match (dir.join(configured).exists(), dir.join(&parquet).exists()) {
        (true, true) => Err(Error::Data(format!(
            "{}: both {configured} and {parquet} are there; choose one: name it in the config \
             ([input] {key} = \"{parquet}\" or \"{configured}\"), or remove the other",
            dir.display()
        ))),
        (false, true) => Ok(parquet),
        _ => Ok(configured.to_string()),
    }
}

/// Reads and validates the export in `dir`.
///
/// # Errors
/// [`Error::Data`] for a fatal problem in the input (named by file, line and column);
/// [`Error::Config`] when the config's catalog is inconsistent.
pub fn load(dir: &Path, cfg: &Config, catalog: &Catalog) -> Result<Export> {
    let rules = validate::Rules::new(cfg);
    let mut quarantine = Vec::new();
    let defaults = crate::config::InputConfig::default();
    let files = [
        resolve_input(
            dir,
            &cfg.input.episodes,
            cfg.input.named[0],
            &defaults.episodes,
            "episodes",
        )?,
        resolve_input(
            dir,
            &cfg.input.assessments,
            cfg.input.named[1],
            &defaults.assessments,
            "assessments",
        )?,
        resolve_input(
            dir,
            &cfg.input.attendance,
            cfg.input.named[2],
            &defaults.attendance,
            "attendance",
        )?,
    ];
    let [ep_name, as_name, at_name] = &files;
    let open = |name: &str| {
        if is_parquet(name) {
            read::Source::open_parquet(&dir.join(name), name, &cfg.input.date_format)
        } else {
            read::Source::open(&dir.join(name), name)
        }
    };

    let t = std::time::Instant::now();
    let ep_src = open(ep_name)?;
    let ep = validate::Prepared::new(ep_src, &schema::EPISODES, &cfg.columns.episodes, &rules)?;
    let (ep_fp, ep_result) = rayon::join(
        || ep.src.fingerprint(),
        || validate::episodes(&ep, &rules, &mut quarantine),
    );
    let (episodes, ep_acc) = ep_result?;
    let mut unknown = ep.unknown(&quarantine, EPISODE_COLUMNS);
    drop(ep);
    if ep_acc.rows_read == 0 {
        return Err(Error::Data(format!(
            "{ep_name}: the file has a header but no episodes"
        )));
    }
    // Borrowed ids: no copy of a million strings.
    let mut index =
        validate::EpisodeIndex::with_capacity_and_hasher(episodes.len(), Default::default());
    index.extend(
        episodes
            .id
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i as u32)),
    );

    crate::diag::debug(&format!("{ep_name}: {:.2?}", t.elapsed()));
    // Assessments and attendance depend only on the episodes: validated concurrently, so the
    // serial steps of one (opening, judging duplicates) overlap the parallel scan of the other.
    let (assessed, attended) = rayon::join(
        || -> Result<_> {
            let t = std::time::Instant::now();
            let mut q = Vec::new();
            let asm = validate::Prepared::new(
                open(as_name)?,
                &schema::ASSESSMENTS,
                &cfg.columns.assessments,
                &rules,
            )?;
            let (fp, result) = rayon::join(
                || asm.src.fingerprint(),
                || validate::assessments(&asm, &rules, catalog, &index, &mut q),
            );
            let (assessments, acc) = result?;
            let unknown = asm.unknown(&q, ASSESSMENT_COLUMNS);
            if acc.rows_read == 0 {
                return Err(Error::Data(format!(
                    "{as_name}: the file has a header but no assessments"
                )));
            }
            crate::diag::debug(&format!("{as_name}: {:.2?}", t.elapsed()));
            Ok((assessments, acc, fp, q, unknown))
        },
        || -> Result<_> {
            let t = std::time::Instant::now();
            let mut q = Vec::new();
            if !dir.join(at_name).exists() {
                return Ok((None, FileAccount::new(at_name, false), None, q, Vec::new()));
            }
            let at = validate::Prepared::new(
                open(at_name)?,
                &schema::ATTENDANCE,
                &cfg.columns.attendance,
                &rules,
            )?;
            let (fp, result) = rayon::join(
                || at.src.fingerprint(),
                || validate::attendance(&at, &rules, &index, &mut q),
            );
            let (a, acc) = result?;
            let unknown = at.unknown(&q, ATTENDANCE_COLUMNS);
            crate::diag::debug(&format!("{at_name}: {:.2?}", t.elapsed()));
            Ok((Some(a), acc, Some(fp), q, unknown))
        },
    );
    // The assessments' error first, as a sequential run would report it.
    let (assessments, as_acc, as_fp, as_q, as_unknown) = assessed?;
    let (attendance, at_acc, at_fp, at_q, at_unknown) = attended?;
    unknown.extend(as_unknown);
    unknown.extend(at_unknown);
    quarantine.extend(as_q);
    quarantine.extend(at_q);
    drop(index);

    let order = |f: &str| files.iter().position(|n| n == f).unwrap_or(3);
    quarantine.sort_by_key(|q| (order(&q.file), q.line));
    Ok(Export {
        episodes,
        assessments,
        attendance,
        accounts: vec![ep_acc, as_acc, at_acc],
        quarantine,
        fingerprints: [Some(ep_fp), Some(as_fp), at_fp],
        unknown,
        files,
    })
}
