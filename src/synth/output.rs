//! Where `synth` writes (SPEC §16 O7): a staging folder beside the destination, checked for
//! room before anything is written, moved into place only when every file is complete. A
//! failed or interrupted run leaves no partial CSV under the destination: an error removes
//! the staging folder, and a killed run's staging folder is removed by the next `synth`.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Bytes written per episode, measured on clean and dirty exports (1,296 for the bundled
/// sample; 1,293 at 1,000,000 episodes, with mid-treatment assessments), rounded up with a
/// margin.
pub const BYTES_PER_EPISODE: u64 = 1_400;
/// Room kept free besides the estimate.
const SPARE: u64 = 64 << 20;
/// The files `synth` writes, `synth.json` (the ground truth) last.
pub const FILES: [&str; 4] = [
    "episodes.csv",
    "assessments.csv",
    "attendance.csv",
    "synth.json",
];

/// A staging folder for an export bound for `dest`.
pub struct Staged {
    dir: tempfile::TempDir,
    dest: PathBuf,
}

/// The prefix of staging folders for `dest` (hidden, beside it).
fn prefix(dest: &Path) -> String {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    format!(".{name}.synth-")
}

/// The folder that holds `dest` (the current folder for a bare name).
fn parent(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

impl Staged {
    /// Checks the room for `episodes` and makes the staging folder beside `dest`.
    ///
    /// # Errors
    /// [`Error::Data`] (exit 1) when the file system lacks the room the estimate needs;
    /// an I/O error when the folder cannot be made.
    pub fn new(dest: &Path, episodes: u64) -> Result<Staged> {
        let parent = parent(dest);
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        remove_abandoned(&parent, &prefix(dest));
        let need = episodes.saturating_mul(BYTES_PER_EPISODE);
        let free = fs4::available_space(&parent).map_err(|e| Error::io(&parent, e))?;
        if need.saturating_add(SPARE) > free {
            return Err(Error::Data(format!(
                "synth: {episodes} episodes need about {} and {} has {} free; nothing was written. \
                 Ask for fewer episodes or write to a larger disk",
                human(need),
                parent.display(),
                human(free)
            )));
        }
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}{}-", prefix(dest), std::process::id()))
            .tempdir_in(&parent)
            .map_err(|e| Error::io(&parent, e))?;
        Ok(Staged {
            dir,
            dest: dest.to_path_buf(),
        })
    }

    /// The staging folder, where the files are written.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Moves the complete export into place: the staging folder becomes `dest` when `dest`
    /// does not exist; otherwise each file replaces its namesake in `dest` (other files there
    /// are left alone), `synth.json` last.
    ///
    /// # Errors
    /// An I/O error naming the path that could not be moved.
    pub fn finish(self) -> Result<()> {
        let dest = &self.dest;
        if !dest.exists() {
            let staged = self.dir.keep();
            return std::fs::rename(&staged, dest).map_err(|e| {
                let _ = std::fs::remove_dir_all(&staged);
                Error::io(dest, e)
            });
        }
        for f in FILES {
            let from = self.dir.path().join(f);
            std::fs::rename(&from, dest.join(f)).map_err(|e| Error::io(dest.join(f), e))?;
        }
        Ok(())
    }
}

/// Removes staging folders of earlier `synth` runs that died (their process is gone).
fn remove_abandoned(parent: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(target_os = "linux")]
fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(not(target_os = "linux"))]
fn process_alive(_pid: u32) -> bool {
    // Without a cheap check, assume another run may still be writing.
    true
}

/// Bytes for a reader: `1.2 GB`.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    let mut x = bytes as f64;
    let mut u = 0;
    while x >= 1000.0 && u + 1 < UNITS.len() {
        x /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{x:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human(512), "512 bytes");
        assert_eq!(human(1_180_000_000), "1.2 GB");
        assert_eq!(human(u64::MAX), "18446744.1 TB");
    }

    #[test]
    fn an_impossible_export_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("export");
        let err = Staged::new(&dest, u64::MAX).err().expect("refused");
        assert_eq!(err.exit_status(), crate::ExitStatus::DataError);
        assert!(err.to_string().contains("nothing was written"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn abandoned_staging_folders_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("export");
        // pid 0 is never a user process.
        let dead = dir.path().join(".export.synth-0-abc");
        std::fs::create_dir(&dead).unwrap();
        let staged = Staged::new(&dest, 1).unwrap();
        assert!(!dead.exists());
        std::fs::write(staged.path().join("x"), b"1").unwrap();
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
