//! Cells and margins (SPEC §6): every combination of the grouping columns' values, and every
//! margin in which any subset of the columns is replaced by `All` (SPEC §10 S13), per
//! instrument, over the pairs of the selected cohort episodes.

use crate::cohort::Pair;
use crate::ingest::Episodes;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

/// The margin label.
pub const ALL: &str = "All";
/// The label of an optional grouping column left empty in the export.
pub const NOT_RECORDED: &str = "(not recorded)";

/// One cell or margin of one instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct CellGroup {
    pub instrument: u16,
    /// One label per grouping column (`All` in a margin).
    pub labels: Vec<String>,
    /// Whether any column is a margin (`All`).
    pub margin: bool,
    /// Selected cohort episodes in the cell, whatever their instruments (SPEC §10 P3).
    pub n_episodes: u64,
    /// Indices into the pairs of the cell's episodes with a baseline on the instrument.
    pub pairs: Vec<u32>,
}

const ALL_ID: u32 = u32::MAX;
/// Most grouping columns a key can hold (every groupable episode column).
pub const MAX_COLUMNS: usize = 8;
/// A projected key: label ids per column, `ALL_ID` for a margin, unused slots 0.
type Key = [u32; MAX_COLUMNS];

/// Header of a table keyed like outcomes.csv: period, followup, instrument, the grouping
/// columns, then `stats`.
pub fn keyed_header(columns: &[String], stats: &[&str]) -> Vec<String> {
    ["period", "followup", "instrument"]
        .iter()
        .map(|s| s.to_string())
        .chain(columns.iter().cloned())
        .chain(stats.iter().map(|s| s.to_string()))
        .collect()
}

/// The key cells of such a row.
pub fn keyed_prefix(
    period: &str,
    followup: &str,
    instrument: &str,
    labels: &[String],
) -> Vec<crate::table::Cell> {
    use crate::table::Cell;
    [
        Cell::text(period),
        Cell::text(followup),
        Cell::text(instrument),
    ]
    .into_iter()
    .chain(labels.iter().map(Cell::text))
    .collect()
}

/// Interned grouping labels of every episode, and their projections onto margins.
pub struct Keys {
    k: usize,
    names: Vec<Vec<String>>,
    key: Vec<u32>,
}

impl Keys {
    pub fn new(eps: &Episodes, columns: &[String]) -> Keys {
        let k = columns.len();
        assert!(k <= MAX_COLUMNS, "at most {MAX_COLUMNS} grouping columns");
        let mut names: Vec<Vec<String>> = vec![Vec::new(); k];
        let mut ids: Vec<HashMap<String, u32>> = vec![HashMap::default(); k];
        let mut key = vec![0u32; eps.len() * k];
        for i in 0..eps.len() {
            for (c, col) in columns.iter().enumerate() {
                let label = eps.text(col, i).unwrap_or(NOT_RECORDED);
                let id = match ids[c].get(label) {
                    Some(&id) => id,
                    None => {
                        let id = names[c].len() as u32;
                        names[c].push(label.to_string());
                        ids[c].insert(label.to_string(), id);
                        id
                    }
                };
                key[i * k + c] = id;
            }
        }
        Keys { k, names, key }
    }

    /// Number of margin masks (2^columns): mask bit c set = column c is `All`.
    pub fn masks(&self) -> u32 {
        1u32 << self.k
    }

    /// Episode `i`'s key with the masked columns replaced by `All`.
    pub fn project(&self, i: usize, mask: u32) -> Key {
        let mut key = [0u32; MAX_COLUMNS];
        for (c, slot) in key.iter_mut().enumerate().take(self.k) {
            *slot = if mask & (1 << c) != 0 {
                ALL_ID
            } else {
                self.key[i * self.k + c]
            };
        }
        key
    }

    /// The labels of a projected key.
    pub fn labels(&self, kids: &[u32]) -> Vec<String> {
        kids.iter()
            .take(self.k)
            .enumerate()
            .map(|(c, &id)| {
                if id == ALL_ID {
                    ALL.to_string()
                } else {
                    self.names[c][id as usize].clone()
                }
            })
            .collect()
    }

    /// Groups episodes for which `keep` holds into every cell and margin:
    /// (labels, is margin, episode indices), sorted byte-wise by labels.
    pub fn episode_groups(
        &self,
        n: usize,
        keep: impl Fn(usize) -> bool,
    ) -> Vec<(Vec<String>, bool, Vec<u32>)> {
        let mut groups: HashMap<Key, Vec<u32>> = HashMap::default();
        for i in (0..n).filter(|&i| keep(i)) {
            for mask in 0..self.masks() {
                groups
                    .entry(self.project(i, mask))
                    .or_default()
                    .push(i as u32);
            }
        }
        let mut out: Vec<(Vec<String>, bool, Vec<u32>)> = groups
            .into_iter()
            .map(|(kids, v)| (self.labels(&kids), kids.contains(&ALL_ID), v))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// Builds every cell and margin with at least one baseline, sorted byte-wise by
/// (instrument id, labels).
pub fn build(
    eps: &Episodes,
    pairs: &[Pair],
    selected: &[bool],
    columns: &[String],
    instrument_ids: &[String],
) -> Vec<CellGroup> {
    let keys = Keys::new(eps, columns);
    let mut n_episodes: HashMap<Key, u64> = HashMap::default();
    for i in (0..eps.len()).filter(|&i| selected[i]) {
        for mask in 0..keys.masks() {
            *n_episodes.entry(keys.project(i, mask)).or_insert(0) += 1;
        }
    }
    let mut groups: HashMap<(u16, Key), Vec<u32>> = HashMap::default();
    for (p, pair) in pairs.iter().enumerate() {
        let i = pair.episode as usize;
        if !selected[i] {
            continue;
        }
        for mask in 0..keys.masks() {
            groups
                .entry((pair.instrument, keys.project(i, mask)))
                .or_default()
                .push(p as u32);
        }
    }
    let mut out: BTreeMap<(String, Vec<String>), CellGroup> = BTreeMap::new();
    for ((instrument, kids), pairs) in groups {
        let labels = keys.labels(&kids);
        let n = n_episodes.get(&kids).copied().unwrap_or(0);
        let margin = kids.contains(&ALL_ID);
        let mut pairs = pairs;
        pairs.sort_unstable();
        out.insert(
            (instrument_ids[instrument as usize].clone(), labels.clone()),
            CellGroup {
                instrument,
                labels,
                margin,
                n_episodes: n,
                pairs,
            },
        );
    }
    out.into_values().collect()
}
