//! Publishing a report folder: every file is written into a temporary folder beside the
//! destination, synced, and the folder is renamed into place only when complete. The previous
//! report stays whole until the new one replaces it.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

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
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{name}.staging-"))
            .tempdir_in(parent)
            .map_err(|e| Error::io(parent, e))?;
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
    /// An I/O error naming the file or folder; the previous report is left as it was.
    pub fn publish(self) -> Result<PathBuf> {
        let root = self.dir.path();
        for (name, bytes) in &self.files {
            let path = root.join(name);
            if let Some(p) = path.parent() {
                std::fs::create_dir_all(p).map_err(|e| Error::io(p, e))?;
            }
            let mut f = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
            f.write_all(bytes).map_err(|e| Error::io(&path, e))?;
            f.sync_all().map_err(|e| Error::io(&path, e))?;
        }
        sync_dir(root)?;
        let parent = self
            .dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let staged = self.dir.keep();
        let mut old = None;
        if self.dest.exists() {
            let aside = tempfile::Builder::new()
                .prefix(&format!(
                    ".{}.previous-",
                    self.dest
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                ))
                .tempdir_in(&parent)
                .map_err(|e| Error::io(&parent, e))?
                .keep();
            std::fs::remove_dir(&aside).map_err(|e| Error::io(&aside, e))?;
            std::fs::rename(&self.dest, &aside).map_err(|e| Error::io(&self.dest, e))?;
            old = Some(aside);
        }
        if let Err(e) = std::fs::rename(&staged, &self.dest) {
            if let Some(o) = &old {
                let _ = std::fs::rename(o, &self.dest);
            }
            let _ = std::fs::remove_dir_all(&staged);
            return Err(Error::io(&self.dest, e));
        }
        sync_dir(&parent)?;
        if let Some(o) = old {
            std::fs::remove_dir_all(&o).map_err(|e| Error::io(&o, e))?;
        }
        Ok(self.dest)
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(dir, e))
}
