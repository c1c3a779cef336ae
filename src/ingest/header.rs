//! How a file's header maps onto the canonical columns of the input contract
//! ([`crate::schema`]): names matched trimmed and case-insensitively, renamed by the config's
//! `[columns.<file>]`, every missing required column reported at once.

use crate::error::{Error, Result};
use crate::schema::FileSchema;
use std::collections::BTreeMap;

/// Where each canonical column sits in a file, and the file's own header names.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    /// Header names as written in the file (trimmed), by position.
    pub header: Vec<String>,
    /// Position of each canonical column, in the order of the canonical list.
    pub index: Vec<Option<usize>>,
}

impl ColumnMap {
    /// Maps a header onto the canonical columns of `schema`. `rename` holds the config's
    /// `canonical = "Raw Name"` pairs; names match trimmed and case-insensitively (V9).
    ///
    /// # Errors
    /// A duplicate header name; missing required columns, all of them at once, with the
    /// header that was found and the config section that maps names.
    pub fn resolve(
        file: &str,
        header: Vec<String>,
        schema: &FileSchema,
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
        let mut index = Vec::with_capacity(schema.columns.len());
        let mut missing = Vec::new();
        let mut example = None;
        for col in schema.columns {
            let want = rename
                .get(*col)
                .map(|s| s.trim().to_lowercase())
                .unwrap_or_else(|| col.to_string());
            let pos = folded.iter().position(|h| *h == want);
            if pos.is_none() && schema.required.contains(col) {
                example.get_or_insert(*col);
                missing.push(match rename.get(*col) {
                    Some(raw) => format!("`{col}` (mapped from `{raw}` by the config)"),
                    None => format!("`{col}`"),
                });
            }
            index.push(pos);
        }
        if !missing.is_empty() {
            let (s, are) = if missing.len() == 1 {
                ("", "is")
            } else {
                ("s", "are")
            };
            return Err(Error::Data(format!(
                "{file}: line 1: required column{s} {} {are} missing{}. The header has {}. \
                 If the export names them differently, map them in the config: [columns.{}] \
                 with lines like {} = \"Name In The Export\"",
                missing.join(", "),
                delimiter_hint(&header),
                describe_header(&header),
                schema.kind,
                example.unwrap_or_default()
            )));
        }
        Ok(ColumnMap {
            header: header.into_iter().map(|h| h.trim().to_string()).collect(),
            index,
        })
    }
}

/// The header names found, for a message: each name that could be a data value (shaped like
/// an identifier, or holding several digits, as when a file has no header row) is left out.
fn describe_header(header: &[String]) -> String {
    let mut hidden = 0;
    let names: Vec<String> = header
        .iter()
        .filter_map(|h| {
            let h = h.trim();
            let digits = h.bytes().filter(u8::is_ascii_digit).count();
            if super::phi::value_shape(h).is_some() || digits >= 4 {
                hidden += 1;
                None
            } else {
                Some(format!("`{h}`"))
            }
        })
        .collect();
    let mut t = format!(
        "{} column{}",
        header.len(),
        if header.len() == 1 { "" } else { "s" }
    );
    if !names.is_empty() {
        t.push_str(": ");
        t.push_str(&names.join(", "));
    }
    if hidden > 0 {
        t.push_str(&format!(
            " ({hidden} name{} not shown: {} like data, so the file may lack a header row)",
            if hidden == 1 { "" } else { "s" },
            if hidden == 1 { "it looks" } else { "they look" }
        ));
    }
    t
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
