//! manifest.json (SPEC §8): everything needed to tell whether two reports came from the same
//! data and settings: tool version, command line, config as applied, inputs with size and
//! SHA-256, row accounting, suppression, outputs with SHA-256. No timestamps, so reruns are
//! byte-identical.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::FileAccount;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct FileDigest {
    pub file: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Suppression {
    pub enabled: bool,
    pub suppress_below: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub tool: String,
    /// The arguments after the program name; `--threads` is left out because it never
    /// changes an output.
    pub command_line: Vec<String>,
    pub period: String,
    pub followup: String,
    pub config: Config,
    pub inputs: Vec<FileDigest>,
    pub accounting: Vec<FileAccount>,
    pub suppression: Suppression,
    pub outputs: Vec<FileDigest>,
}

/// SHA-256 of bytes as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Size and SHA-256 of a file, streamed.
///
/// # Errors
/// An I/O error naming the file.
pub fn digest_file(path: &Path, name: &str) -> Result<FileDigest> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok(FileDigest {
        file: name.to_string(),
        size,
        sha256: hex(&h.finalize()),
    })
}

/// The command line as recorded: the arguments without `--threads N`.
pub fn recorded_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        if a == "--threads" {
            skip = true;
            continue;
        }
        if a.starts_with("--threads=") {
            continue;
        }
        out.push(a);
    }
    out
}
