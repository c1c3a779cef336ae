//! manifest.json (SPEC §8): everything needed to tell whether two reports came from the same
//! data and settings: tool version, command line, config as applied, inputs with size and
//! SHA-256, row accounting, suppression, outputs with SHA-256. No timestamps, so reruns are
//! byte-identical.

use crate::config::Config;
use crate::ingest::{FileAccount, Fingerprint};
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Serialize)]
pub struct FileDigest {
    pub file: String,
    pub size: u64,
    pub sha256: String,
}

impl FileDigest {
    /// An input file's entry, from its fingerprint taken when it was read.
    pub fn of_input(name: &str, fp: &Fingerprint) -> FileDigest {
        FileDigest {
            file: name.to_string(),
            size: fp.size,
            sha256: hex(&fp.sha256),
        }
    }
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
    /// Whether episodes_analysis (episode-level data, SPEC §15 F2) was written.
    pub episode_data: bool,
    /// Small-cell protection and its audit (SPEC §11 D3); absent with `--no-suppress`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<DisclosureRecord>,
    pub outputs: Vec<FileDigest>,
}

/// What protection blanked and what the independent audit tried (SPEC §11 D3).
#[derive(Debug, Clone, Serialize)]
pub struct DisclosureRecord {
    pub protection: crate::analysis::protection::Summary,
    pub audit: super::audit::Findings,
}

impl Manifest {
    /// The manifest as pretty JSON with a final newline.
    ///
    /// # Errors
    /// An internal error if it cannot be serialised (a bug).
    pub fn to_json(&self) -> crate::Result<Vec<u8>> {
        let mut json = serde_json::to_vec_pretty(self)
            .map_err(|e| crate::Error::Internal(format!("manifest.json: {e}")))?;
        json.push(b'\n');
        Ok(json)
    }
}

/// Size and SHA-256 of each output file, in publishing order (hashed in parallel).
pub fn outputs(files: &[(String, Vec<u8>)]) -> Vec<FileDigest> {
    use rayon::prelude::*;
    files
        .par_iter()
        .map(|(name, bytes)| FileDigest {
            file: name.clone(),
            size: bytes.len() as u64,
            sha256: sha256_hex(bytes),
        })
        .collect()
}

/// The input files that were read, with the fingerprints taken while they were validated.
pub fn inputs(names: [&str; 3], fingerprints: &[Option<Fingerprint>; 3]) -> Vec<FileDigest> {
    names
        .iter()
        .zip(fingerprints)
        .filter_map(|(name, fp)| fp.map(|fp| FileDigest::of_input(name, &fp)))
        .collect()
}

/// SHA-256 of bytes as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
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
