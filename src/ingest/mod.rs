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
mod header;
mod loss;
mod parquet;
mod parse;
mod phi;
mod read;
mod reason;
mod types;
mod validate;

pub use loss::{check_loss, describe_unknown};
pub use reason::Reason;
pub use types::{
    Assessments, Attendance, Attended, Episodes, Export, FileAccount, Fingerprint, Interned,
    QuarantineRow, UnknownValues,
};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::instruments::Catalog;
use crate::schema::{self, ASSESSMENT_COLUMNS, ATTENDANCE_COLUMNS, EPISODE_COLUMNS};
use std::path::Path;

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
    let rules = validate::CheckRules::new(cfg);
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
    // The manifest's SHA-256 of each file (0.7 s of CPU at 1,000,000 episodes, one pass per
    // file that cannot be split) is computed on a thread of its own from the start, beside
    // rayon's: it takes the cores that the reading's serial steps (judging duplicates,
    // interning) leave idle. Measured at 1,000,000 episodes (2 cores, 4 runs alternating):
    // the whole run 5.04 -> 4.98 s (median) against hashing inside the reading's joins.
    let paths = files.clone().map(|f| dir.join(f));
    let stop = std::sync::atomic::AtomicBool::new(false);
    let hash = || paths.each_ref().map(|p| read::fingerprint(p, &stop));
    std::thread::scope(|scope| {
        let hashing = (rayon::current_num_threads() > 1).then(|| scope.spawn(hash));
        // Should the reading panic (a bug), the scope waits for the hashing thread: stop it.
        struct StopOnPanic<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for StopOnPanic<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
        let guard = StopOnPanic(&stop);
        let read = read_files(dir, cfg, catalog, &files, &rules);
        drop(guard);
        if read.is_err() {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let fingerprints = match hashing {
            Some(h) => h.join().expect("hashing does not panic"),
            None if read.is_ok() => hash(),
            None => [None, None, None],
        };
        let mut export = read?;
        for (i, fp) in fingerprints.into_iter().enumerate() {
            // Every file read is hashed (a file that vanished since is an error).
            if i < 2 || export.attendance.is_some() {
                let fp = fp.ok_or_else(|| {
                    Error::Data(format!(
                        "{}: cannot read the file again to hash it",
                        files[i]
                    ))
                })?;
                export.fingerprints[i] = Some(fp);
            }
        }
        Ok(export)
    })
}

/// Reads and validates the three files named `files` in `dir` (fingerprints not filled).
fn read_files(
    dir: &Path,
    cfg: &Config,
    catalog: &Catalog,
    files: &[String; 3],
    rules: &validate::CheckRules,
) -> Result<Export> {
    let mut quarantine = Vec::new();
    let [ep_name, as_name, at_name] = files;
    let open = |name: &str| {
        if is_parquet(name) {
            read::Source::open_parquet(&dir.join(name), name, &cfg.input.date_format)
        } else {
            read::Source::open(&dir.join(name), name)
        }
    };

    // The child files are opened (the whole-file checks, the header) while the episodes are
    // read, and fingerprinted while they are scanned: the episodes' serial steps (judging
    // duplicates, interning) and each file's own serial steps leave a core idle otherwise.
    // Errors are reported in file order all the same.
    let open_child = |name: &str, schema, rename| -> Result<validate::Prepared> {
        validate::Prepared::new(open(name)?, schema, rename, rules)
    };
    let t = std::time::Instant::now();
    let (read_episodes, (as_opened, at_opened)) = rayon::join(
        || -> Result<_> {
            let ep_src = open(ep_name)?;
            let ep =
                validate::Prepared::new(ep_src, &schema::EPISODES, &cfg.columns.episodes, rules)?;
            let (episodes, ep_acc) = validate::episodes(&ep, rules, &mut quarantine)?;
            let unknown = ep.unknown(&quarantine, EPISODE_COLUMNS);
            Ok((episodes, ep_acc, unknown))
        },
        || {
            rayon::join(
                || open_child(as_name, &schema::ASSESSMENTS, &cfg.columns.assessments),
                || -> Result<Option<_>> {
                    if !dir.join(at_name).exists() {
                        return Ok(None);
                    }
                    open_child(at_name, &schema::ATTENDANCE, &cfg.columns.attendance).map(Some)
                },
            )
        },
    );
    let (episodes, ep_acc, mut unknown) = read_episodes?;
    if ep_acc.rows_read == 0 {
        return Err(Error::Data(format!(
            "{ep_name}: the file has a header but no episodes"
        )));
    }
    let index = validate::EpisodeIndex::new(&episodes.id);

    crate::diag::debug(&format!("{ep_name}: {:.2?}", t.elapsed()));
    // Assessments and attendance depend only on the episodes: validated concurrently, so the
    // serial steps of one (judging duplicates) overlap the parallel scan of the other.
    let (assessed, attended) = rayon::join(
        || -> Result<_> {
            let t = std::time::Instant::now();
            let mut q = Vec::new();
            let asm = as_opened?;
            let (assessments, acc) = validate::assessments(&asm, rules, catalog, &index, &mut q)?;
            let unknown = asm.unknown(&q, ASSESSMENT_COLUMNS);
            if acc.rows_read == 0 {
                return Err(Error::Data(format!(
                    "{as_name}: the file has a header but no assessments"
                )));
            }
            crate::diag::debug(&format!("{as_name}: {:.2?}", t.elapsed()));
            Ok((assessments, acc, q, unknown))
        },
        || -> Result<_> {
            let t = std::time::Instant::now();
            let mut q = Vec::new();
            let Some(at) = at_opened? else {
                return Ok((None, FileAccount::new(at_name, false), q, Vec::new()));
            };
            let (rows, acc) = validate::attendance(&at, rules, &index, &mut q)?;
            let a = Attended::of(&rows, index.len());
            drop(rows);
            let unknown = at.unknown(&q, ATTENDANCE_COLUMNS);
            crate::diag::debug(&format!("{at_name}: {:.2?}", t.elapsed()));
            Ok((Some(a), acc, q, unknown))
        },
    );
    // The assessments' error first, as a sequential run would report it.
    let (assessments, as_acc, as_q, as_unknown) = assessed?;
    let (attendance, at_acc, at_q, at_unknown) = attended?;
    unknown.extend(as_unknown);
    unknown.extend(at_unknown);
    quarantine.extend(as_q);
    quarantine.extend(at_q);
    drop(index);

    release_freed_memory();
    let order = |f: &str| files.iter().position(|n| n == f).unwrap_or(3);
    quarantine.sort_by_key(|q| (order(&q.file), q.line));
    Ok(Export {
        episodes,
        assessments,
        attendance,
        accounts: vec![ep_acc, as_acc, at_acc],
        quarantine,
        fingerprints: [None, None, None],
        unknown,
        files: files.clone(),
    })
}

/// Returns the heap memory freed by reading (the scanned strings, the attendance rows, the
/// judging of duplicates) to the system: glibc's allocator keeps freed memory in its
/// per-thread arenas otherwise, and the analyses would run on top of it (1,000,000 episodes:
/// peak resident memory during the analyses 990 -> MiB measured in the README).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap memory to the system; it touches no live
    // allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}
