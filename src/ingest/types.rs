//! The validated export as the later stages see it: accepted rows as columns, the row
//! accounting of each file, the quarantine and the input fingerprints.

use super::reason::Reason;
use crate::dates::Day;
use serde::Serialize;
use std::collections::BTreeMap;

/// Accepted episodes, as columns, in file order. The label columns are interned (a code per
/// episode into the column's distinct values): 4 bytes an episode instead of a string each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Episodes {
    pub id: Vec<String>,
    pub client: Vec<String>,
    pub track: Interned<String>,
    pub modality: Interned<String>,
    pub admit: Vec<Day>,
    pub discharge: Vec<Option<Day>>,
    pub site: Interned<Option<String>>,
    pub delivery: Interned<Option<String>>,
    pub discharge_reason: Interned<Option<String>>,
    pub age_group: Interned<Option<String>>,
    pub sex: Interned<Option<String>>,
    pub race_ethnicity: Interned<Option<String>>,
}

/// A column of labels stored as codes into its distinct values (in order of first
/// appearance; the order never reaches an output, which reads values through the codes).
/// Indexing gives the value, as for a `Vec<T>`.
#[derive(Clone, Default)]
pub struct Interned<T> {
    codes: Vec<u32>,
    values: Vec<T>,
    /// Values to codes (Fx-hashed: label values are short; never iterated into an output).
    lookup: rustc_hash::FxHashMap<T, u32>,
}

impl<T: Clone + Eq + std::hash::Hash> Interned<T> {
    /// Appends `value`.
    pub fn push(&mut self, value: T) {
        let code = match self.lookup.get(&value) {
            Some(&c) => c,
            None => {
                let c = u32::try_from(self.values.len()).expect("fewer than 2^32 labels");
                self.values.push(value.clone());
                self.lookup.insert(value, c);
                c
            }
        };
        self.codes.push(code);
    }

    /// A column of `codes` into `values` (each value once).
    pub(crate) fn from_parts(codes: Vec<u32>, values: Vec<T>) -> Interned<T> {
        let lookup = values
            .iter()
            .enumerate()
            .map(|(k, v)| (v.clone(), k as u32))
            .collect();
        Interned {
            codes,
            values,
            lookup,
        }
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The values that some row holds, in order, and each row's index among them: a pass over
    /// the codes (no value hashed or compared per row).
    pub fn ranked(&self) -> (Vec<&T>, Vec<u32>)
    where
        T: Ord,
    {
        let mut used = vec![false; self.values.len()];
        for &c in &self.codes {
            used[c as usize] = true;
        }
        let mut order: Vec<usize> = (0..self.values.len()).filter(|&v| used[v]).collect();
        order.sort_by(|&a, &b| self.values[a].cmp(&self.values[b]));
        let mut rank = vec![u32::MAX; self.values.len()];
        for (r, &v) in order.iter().enumerate() {
            rank[v] = r as u32;
        }
        (
            order.iter().map(|&v| &self.values[v]).collect(),
            self.codes.iter().map(|&c| rank[c as usize]).collect(),
        )
    }

    /// The values in row order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.codes.iter().map(|&c| &self.values[c as usize])
    }
}

impl<T: Clone + Eq + std::hash::Hash> FromIterator<T> for Interned<T> {
    fn from_iter<I: IntoIterator<Item = T>>(values: I) -> Self {
        let values = values.into_iter();
        let mut out = Interned {
            codes: Vec::with_capacity(values.size_hint().0),
            values: Vec::new(),
            lookup: rustc_hash::FxHashMap::default(),
        };
        for v in values {
            out.push(v);
        }
        out.codes.shrink_to_fit();
        out
    }
}

impl<T> std::ops::Index<usize> for Interned<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        &self.values[self.codes[i] as usize]
    }
}

impl<T: PartialEq> PartialEq for Interned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.codes.len() == other.codes.len()
            && self
                .codes
                .iter()
                .zip(&other.codes)
                .all(|(&a, &b)| self.values[a as usize] == other.values[b as usize])
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Interned<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.codes.iter().map(|&c| &self.values[c as usize]))
            .finish()
    }
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

/// Attendance as the analyses use it, per accepted episode: attended minutes and attended
/// sessions (minutes > 0) from all its accepted rows whatever their date, and the latest
/// session date of the file. The rows themselves are let go once judged (duplicates), so
/// that memory holds 16 bytes per episode instead of 12 per session (a 10-million-episode
/// export has 320 million sessions).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attended {
    pub minutes: Vec<u64>,
    pub sessions: Vec<u64>,
    /// The latest session date among the accepted rows (`None`: no accepted row).
    pub latest: Option<Day>,
}

impl Attended {
    /// Sums the accepted rows `att` over the `n_episodes` accepted episodes.
    pub fn of(att: &Attendance, n_episodes: usize) -> Attended {
        let (mut minutes, mut sessions) = (vec![0u64; n_episodes], vec![0u64; n_episodes]);
        for (&e, &m) in att.episode.iter().zip(&att.minutes) {
            minutes[e as usize] += u64::from(m);
            sessions[e as usize] += u64::from(m > 0);
        }
        Attended {
            minutes,
            sessions,
            latest: att.date.iter().copied().max(),
        }
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
    pub attendance: Option<Attended>,
    /// Accounting of episodes, assessments and attendance, in that order.
    pub accounts: Vec<FileAccount>,
    /// Every quarantined row, by file (in the order above) then line.
    pub quarantine: Vec<QuarantineRow>,
    /// Size and SHA-256 of episodes, assessments and attendance (`None`: not supplied).
    pub fingerprints: [Option<Fingerprint>; 3],
    /// Values rejected as unknown (instrument ids, labels of closed sets), per file and column.
    pub unknown: Vec<UnknownValues>,
    /// The names of episodes, assessments and attendance as read (`[input]`, or the
    /// `.parquet` file read in place of a default `.csv` name; see
    /// [`super::resolve_input`]).
    pub files: [String; 3],
}

/// The values of one file's column that were rejected as unknown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnknownValues {
    pub file: String,
    /// The column as named in the file's header.
    pub column: String,
    /// The canonical field (`instrument`, `track`, …): the `[labels.<field>]` to map it in.
    pub field: String,
    pub reason: Reason,
    /// Rows rejected.
    pub rows: u64,
    /// Distinct values among them.
    pub distinct: usize,
    /// The commonest values (at most `loss::LISTED`), most rows first, ties byte-wise; a value
    /// shaped like an identifier is shown as a notice instead.
    pub top: Vec<(String, u64)>,
}

#[cfg(test)]
mod interned_tests {
    use super::*;

    #[test]
    fn interned_columns_read_like_vectors() {
        let rows = ["mh", "sud", "mh", "co", "sud", "mh"];
        let a: Interned<String> = rows.iter().map(|s| s.to_string()).collect();
        assert_eq!(a.len(), 6);
        let read: Vec<&str> = (0..a.len()).map(|i| a[i].as_str()).collect();
        assert_eq!(read, rows);
        assert_eq!(a.iter().cloned().collect::<Vec<_>>(), rows);
        // Equality is by value, whatever the codes: the same values pushed in another
        // first-appearance order compare equal, a changed value does not.
        let mut b = Interned::default();
        b.push("co".to_string());
        let mut c: Interned<String> = rows.iter().map(|s| s.to_string()).collect();
        assert_eq!(a, c);
        c.push("x".into());
        assert_ne!(a, c);
        let d: Interned<String> = ["mh", "sud", "mh", "co", "sud", "co"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_ne!(a, d);
        assert_eq!(b[0], "co");
        let o: Interned<Option<String>> = [None, Some("x".to_string()), None].into_iter().collect();
        assert_eq!(
            (o[0].as_deref(), o[1].as_deref(), o[2].as_deref()),
            (None, Some("x"), None)
        );
        assert_eq!(format!("{o:?}"), r#"[None, Some("x"), None]"#);
    }

    #[test]
    fn ranked_gives_the_rows_values_in_order_and_each_rows_index() {
        let rows = ["sud", "mh", "co", "sud", "Mh", "mh", "é", "co"];
        let a: Interned<String> = rows.iter().map(|s| s.to_string()).collect();
        let (labels, rank) = a.ranked();
        let mut expected: Vec<&str> = rows.to_vec();
        expected.sort();
        expected.dedup();
        assert_eq!(
            labels.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
            expected
        );
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(labels[rank[i] as usize], row, "row {i}");
        }
        // A value no row holds (codes remade from parts) is not among the labels.
        let b = Interned::from_parts(vec![1, 1, 2], vec!["z".to_string(), "b".into(), "a".into()]);
        let (labels, rank) = b.ranked();
        assert_eq!(labels, ["a", "b"]);
        assert_eq!(rank, [1, 1, 0]);
    }
}
