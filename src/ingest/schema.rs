//! The canonical columns of each input file (SPEC §2) and how a file's header maps onto them.

use crate::error::{Error, Result};
use std::collections::BTreeMap;

pub const EPISODE_COLUMNS: &[&str] = &[
    "episode_id",
    "client_id",
    "site",
    "track",
    "modality",
    "delivery",
    "admit_date",
    "discharge_date",
    "discharge_reason",
    "age_group",
    "sex",
    "race_ethnicity",
];
pub const EPISODE_REQUIRED: &[&str] =
    &["episode_id", "client_id", "track", "modality", "admit_date"];
pub const ASSESSMENT_COLUMNS: &[&str] = &["episode_id", "instrument", "assessed_on", "score"];
pub const ATTENDANCE_COLUMNS: &[&str] = &["episode_id", "session_date", "service", "minutes"];
pub const ATTENDANCE_REQUIRED: &[&str] = &["episode_id", "session_date", "minutes"];

/// Where each canonical column sits in a file, and the file's own header names.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    /// Header names as written in the file (trimmed), by position.
    pub header: Vec<String>,
    /// Position of each canonical column, in the order of the canonical list.
    pub index: Vec<Option<usize>>,
}

impl ColumnMap {
    /// Maps a header onto the canonical columns. `rename` holds the config's
    /// `canonical = "Raw Name"` pairs; names match trimmed and case-insensitively (V9).
    ///
    /// # Errors
    /// A duplicate header name, or a missing required column (named as the file expects it).
    pub fn resolve(
        file: &str,
        header: Vec<String>,
        canonical: &[&str],
        required: &[&str],
        rename: &BTreeMap<String, String>,
    ) -> Result<ColumnMap> {
        let folded: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
        for (i, h) in folded.iter().enumerate() {
            if let Some(j) = folded[..i].iter().position(|x| x == h) {
                return Err(Error::Data(format!(
                    "{file}: line 1: the header names column `{}` twice (columns {} and {}); rename one",
                    header[i].trim(),
                    j + 1,
                    i + 1
                )));
            }
        }
        let mut index = Vec::with_capacity(canonical.len());
        for col in canonical {
            let want = rename
                .get(*col)
                .map(|s| s.trim().to_lowercase())
                .unwrap_or_else(|| col.to_string());
            let pos = folded.iter().position(|h| *h == want);
            if pos.is_none() && required.contains(col) {
                let hint = delimiter_hint(&header);
                let mapped = match rename.get(*col) {
                    Some(raw) => format!(" (mapped from `{raw}` by the config)"),
                    None => String::new(),
                };
                return Err(Error::Data(format!(
                    "{file}: line 1: required column `{col}`{mapped} is missing{hint}"
                )));
            }
            index.push(pos);
        }
        Ok(ColumnMap {
            header: header.into_iter().map(|h| h.trim().to_string()).collect(),
            index,
        })
    }
}

fn delimiter_hint(header: &[String]) -> String {
    if header.len() == 1 {
        for (d, name) in [(';', "semicolons"), ('\t', "tabs"), ('|', "pipes")] {
            if header[0].contains(d) {
                return format!(
                    "; the header looks separated by {name}: the export must be comma-separated"
                );
            }
        }
    }
    String::new()
}
