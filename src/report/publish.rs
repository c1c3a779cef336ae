//! Publishing a report folder safely under cron (SPEC §8–§9):
//!
//! * a lock on the output folder (`<out>/.iop-outcomes.lock`, an OS file lock): a second run
//!   exits 3 naming the holder; the OS drops the lock when a run dies, so a stale lock file
//!   never blocks the next run;
//! * every file is written into a staging folder beside the destination and synced;
//! * the staging folder replaces the destination in one atomic step (Linux `renameat2` with
//!   `RENAME_EXCHANGE`): a reader sees the old report or the new one, never a mixture, and the
//!   final name never disappears. Elsewhere (or on file systems without exchange) the old
//!   report is renamed aside first and restored by the next run if this one dies in between;
//! * leftovers of killed runs (staging folders, set-aside reports) are cleaned up by the next
//!   run, under the lock.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Environment variable that pauses publishing after each step, in milliseconds. For the
/// crash tests only: it widens the windows in which a test kills a run.
pub const TEST_PAUSE_ENV: &str = "IOP_OUTCOMES_TEST_PAUSE_MS";

/// Threads writing a report's files.
const WRITERS: usize = 8;

fn test_pause() {
    if let Some(ms) = std::env::var(TEST_PAUSE_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// The lock on an output folder, held until dropped.
pub struct OutputLock {
    _file: File,
}

impl OutputLock {
    /// Takes the lock on `out` (creating the folder).
    ///
    /// # Errors
    /// [`Error::Locked`] (exit 3) when another run holds it, naming that run; an I/O error
    /// (exit 1) when the folder cannot be created or written.
    pub fn acquire(out: &Path) -> Result<OutputLock> {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let path = out.join(".iop-outcomes.lock");
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(Error::Locked(format!(
                    "another iop-outcomes run holds the lock on {} ({}); nothing was written. \
                     Wait for it to finish; a lock left by a run that died is released automatically",
                    out.display(),
                    if holder.is_empty() { "holder unknown".to_string() } else { holder.to_string() }
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let info = format!(
            "pid {}, started at {}\n",
            std::process::id(),
            crate::dates::now_iso()
        );
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(info.as_bytes()))
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io(&path, e))?;
        Ok(OutputLock { _file: file })
    }
}

fn parent_of(dest: &Path) -> PathBuf {
    dest.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

fn name_of(dest: &Path) -> String {
    dest.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Repairs what a killed run may have left beside `dest`; call under the lock.
///
/// # Errors
/// An I/O error naming the folder that could not be restored or removed.
pub fn recover(dest: &Path) -> Result<()> {
    let parent = parent_of(dest);
    let name = name_of(dest);
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return Ok(());
    };
    let mut previous = Vec::new();
    let mut staging = Vec::new();
    for e in entries.flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        if f.starts_with(&format!(".{name}.previous-")) {
            previous.push(e.path());
        } else if f.starts_with(&format!(".{name}.staging-")) {
            staging.push(e.path());
        }
    }
    previous.sort();
    if !dest.exists() {
        if let Some(p) = previous.pop() {
            std::fs::rename(&p, dest).map_err(|e| Error::io(&p, e))?;
        }
    }
    for p in previous.into_iter().chain(staging) {
        std::fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
    }
    Ok(())
}

/// A report being assembled; nothing is visible under the final name until [`Staging::publish`].
pub struct Staging {
    dir: tempfile::TempDir,
    dest: PathBuf,
    files: Vec<(String, Vec<u8>)>,
}

impl Staging {
    /// Prepares a staging folder beside `dest` (creating the parent folder).
    ///
    /// # Errors
    /// An I/O error naming the folder that cannot be created or written.
    pub fn new(dest: &Path) -> Result<Staging> {
        let parent = parent_of(dest);
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{}.staging-", name_of(dest)))
            .tempdir_in(&parent)
            .map_err(|e| Error::io(&parent, e))?;
        Ok(Staging {
            dir,
            dest: dest.to_path_buf(),
            files: Vec::new(),
        })
    }

    /// Adds a file (a relative path inside the report).
    pub fn add(&mut self, name: &str, bytes: Vec<u8>) {
        self.files.push((name.to_string(), bytes));
    }

    /// The files added so far, in the order added.
    pub fn files(&self) -> &[(String, Vec<u8>)] {
        &self.files
    }

    /// Writes and syncs every file, then swaps the folder into place.
    ///
    /// # Errors
    /// An I/O error naming the file or folder (a full disk, a read-only folder); the previous
    /// report is left as it was and the staging folder is removed.
    pub fn publish(self) -> Result<PathBuf> {
        let root = self.dir.path();
        let mut folders: Vec<PathBuf> = self
            .files
            .iter()
            .filter_map(|(name, _)| root.join(name).parent().map(Path::to_path_buf))
            .collect();
        folders.sort();
        folders.dedup();
        for p in &folders {
            std::fs::create_dir_all(p).map_err(|e| Error::io(p, e))?;
        }
        // Written and synced by a few threads at once: each file's sync waits on the disk,
        // not on a core (145 files at 1,000,000 episodes: 81 ms one after another). These
        // threads wait; they are not `--threads`' workers. After a failure no file is
        // started, and the error reported is that of the first failing file in order.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let failed = std::sync::atomic::AtomicBool::new(false);
        let write = || -> Option<(usize, Error)> {
            use std::sync::atomic::Ordering::Relaxed;
            let mut first: Option<(usize, Error)> = None;
            while !failed.load(Relaxed) {
                let i = next.fetch_add(1, Relaxed);
                let Some((name, bytes)) = self.files.get(i) else {
                    break;
                };
                let path = root.join(name);
                let written = File::create(&path)
                    .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
                if let Err(e) = written {
                    failed.store(true, Relaxed);
                    first.get_or_insert((i, Error::io(&path, e)));
                    break;
                }
                test_pause();
            }
            first
        };
        let failures: Vec<(usize, Error)> = std::thread::scope(|scope| {
            let writers: Vec<_> = (0..WRITERS).map(|_| scope.spawn(write)).collect();
            writers
                .into_iter()
                .filter_map(|w| w.join().expect("a writer does not panic"))
                .collect()
        });
        if let Some((_, e)) = failures.into_iter().min_by_key(|(i, _)| *i) {
            return Err(e);
        }
        sync_dir(root)?;
        let parent = parent_of(&self.dest);
        if self.dest.exists() && exchange(root, &self.dest).is_ok() {
            // The old report now sits in the staging folder, which is removed on drop.
            sync_dir(&parent)?;
            test_pause();
            return Ok(self.dest);
        }
        let staged = self.dir.keep();
        let mut aside = None;
        if self.dest.exists() {
            let p = parent.join(format!(
                ".{}.previous-{}",
                name_of(&self.dest),
                std::process::id()
            ));
            std::fs::rename(&self.dest, &p).map_err(|e| Error::io(&self.dest, e))?;
            test_pause();
            aside = Some(p);
        }
        if let Err(e) = std::fs::rename(&staged, &self.dest) {
            if let Some(p) = &aside {
                let _ = std::fs::rename(p, &self.dest);
            }
            let _ = std::fs::remove_dir_all(&staged);
            return Err(Error::io(&self.dest, e));
        }
        sync_dir(&parent)?;
        if let Some(p) = aside {
            std::fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
        }
        Ok(self.dest)
    }
}

/// Atomically swaps two existing paths.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes())?;
    let cb = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both pointers are valid NUL-terminated paths for the duration of the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(dir, e))
}
