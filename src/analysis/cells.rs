//! Cells and margins (SPEC §6): every combination of the grouping columns' values, and every
//! margin in which any subset of the columns is replaced by `All` (SPEC §10 S13), per
//! instrument, over the pairs of the selected cohort episodes.

use crate::cohort::Pair;
use crate::ingest::Episodes;
use crate::table::{Access, Column};
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::hash::Hash;

/// The margin label.
pub use crate::table::MARGIN as ALL;
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

/// What every table of a run is keyed by besides its own columns: the period label, the
/// follow-up point's name and the grouping columns (SPEC §16 O10).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunKeys {
    pub period: String,
    pub followup: String,
    pub groups: Vec<String>,
}

impl RunKeys {
    /// The period and follow-up columns (in the files, not on the page: every row has the
    /// same values, which the page's title gives).
    pub fn run_columns<R>(&self) -> [Column<R>; 2] {
        [
            Column::constant("period", &self.period).off_page().fixed(),
            Column::constant("followup", &self.followup)
                .off_page()
                .fixed(),
        ]
    }

    /// The grouping columns of a row whose labels are `labels(row)`, one per grouping column.
    pub fn group_columns<R: 'static>(&self, labels: fn(&R) -> &[String]) -> Vec<Column<R>> {
        self.groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                Column::new(
                    g.clone(),
                    Access::Text(std::sync::Arc::new(move |r: &R| labels(r)[i].clone())),
                )
                .group()
            })
            .collect()
    }
}

/// Interned grouping labels of every episode, and their projections onto margins.
pub struct Keys {
    k: usize,
    names: Vec<Vec<String>>,
    key: Vec<u32>,
    /// Place values of each column in a packed key (a column's digit is its label id, or its
    /// number of labels for `All`), when every combination fits in a u64.
    strides: Option<Vec<u64>>,
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
        let mut strides = Some(Vec::with_capacity(k));
        let mut place: Option<u64> = Some(1);
        for labels in &names {
            strides = strides.zip(place).map(|(mut v, p)| {
                v.push(p);
                v
            });
            place = place.and_then(|p| p.checked_mul(labels.len() as u64 + 1));
        }
        if place.is_none() {
            strides = None;
        }
        Keys {
            k,
            names,
            key,
            strides,
        }
    }

    /// Episode `i`'s key with the masked columns `All`, packed into one integer (see
    /// `strides`).
    fn packed(&self, strides: &[u64], i: usize, mask: u32) -> u64 {
        (0..self.k)
            .map(|c| {
                let digit = if mask & (1 << c) != 0 {
                    self.names[c].len() as u64
                } else {
                    u64::from(self.key[i * self.k + c])
                };
                digit * strides[c]
            })
            .sum()
    }

    /// The labels of a packed key, and whether it is a margin.
    fn unpack(&self, strides: &[u64], code: u64) -> (Vec<String>, bool) {
        let mut margin = false;
        let labels = (0..self.k)
            .map(|c| {
                let digit = (code / strides[c]) % (self.names[c].len() as u64 + 1);
                match self.names[c].get(digit as usize) {
                    Some(l) => l.clone(),
                    None => {
                        margin = true;
                        ALL.to_string()
                    }
                }
            })
            .collect();
        (labels, margin)
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
        let mut out = match &self.strides {
            Some(st) => group_episodes(
                n,
                self.masks(),
                &keep,
                |i, m| self.packed(st, i, m),
                |c| self.unpack(st, *c),
            ),
            None => group_episodes(
                n,
                self.masks(),
                &keep,
                |i, m| self.project(i, m),
                |kids| (self.labels(kids), kids.contains(&ALL_ID)),
            ),
        };
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// Dense ids of the keys of the kept episodes and of their margins (one hash look-up per
/// episode, not one per episode and margin): the projections of a key depend on nothing but
/// the key, so they are computed once per distinct key.
struct Dense<K> {
    /// The id of each episode's full key (mask 0); `u32::MAX` when not kept.
    full: Vec<u32>,
    /// `proj[f · masks + m]`: the projected key's id of full key `f` under mask `m`.
    proj: Vec<u32>,
    /// Each id's key.
    keys: Vec<K>,
    masks: usize,
}

impl<K: Hash + Eq + Copy> Dense<K> {
    fn new(
        n: usize,
        masks: u32,
        keep: impl Fn(usize) -> bool,
        project: impl Fn(usize, u32) -> K,
    ) -> Dense<K> {
        let mut full = vec![u32::MAX; n];
        let mut ids: HashMap<K, u32> = HashMap::default();
        let mut first: Vec<usize> = Vec::new();
        for (i, slot) in full.iter_mut().enumerate() {
            if keep(i) {
                *slot = *ids.entry(project(i, 0)).or_insert_with(|| {
                    first.push(i);
                    first.len() as u32 - 1
                });
            }
        }
        let mut keys: Vec<K> = Vec::new();
        let mut proj_ids: HashMap<K, u32> = HashMap::default();
        let mut proj = Vec::with_capacity(first.len() * masks as usize);
        for &i in &first {
            for mask in 0..masks {
                let key = project(i, mask);
                proj.push(*proj_ids.entry(key).or_insert_with(|| {
                    keys.push(key);
                    keys.len() as u32 - 1
                }));
            }
        }
        Dense {
            full,
            proj,
            keys,
            masks: masks as usize,
        }
    }

    /// The ids of episode `i`'s key and its margins (none when not kept).
    fn of(&self, i: usize) -> &[u32] {
        match self.full[i] {
            u32::MAX => &[],
            f => &self.proj[f as usize * self.masks..(f as usize + 1) * self.masks],
        }
    }
}

fn group_episodes<K: Hash + Eq + Copy>(
    n: usize,
    masks: u32,
    keep: &impl Fn(usize) -> bool,
    project: impl Fn(usize, u32) -> K,
    unpack: impl Fn(&K) -> (Vec<String>, bool),
) -> Vec<(Vec<String>, bool, Vec<u32>)> {
    let dense = Dense::new(n, masks, keep, project);
    let mut groups: Vec<Vec<u32>> = vec![Vec::new(); dense.keys.len()];
    for i in 0..n {
        for &c in dense.of(i) {
            groups[c as usize].push(i as u32);
        }
    }
    dense
        .keys
        .iter()
        .zip(groups)
        .map(|(key, v)| {
            let (labels, margin) = unpack(key);
            (labels, margin, v)
        })
        .collect()
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
    build_keyed(&keys, eps.len(), pairs, None, selected, instrument_ids)
}

/// [`build`] with keys made once by the caller, over the pairs at `subset` (all when
/// `None`); the cells' pair indices are into `pairs` either way.
pub fn build_keyed(
    keys: &Keys,
    n_episodes: usize,
    pairs: &[Pair],
    subset: Option<&[u32]>,
    selected: &[bool],
    instrument_ids: &[String],
) -> Vec<CellGroup> {
    let all: Vec<u32>;
    let subset = match subset {
        Some(s) => s,
        None => {
            all = (0..pairs.len() as u32).collect();
            &all
        }
    };
    match &keys.strides {
        Some(st) => build_cells(
            n_episodes,
            pairs,
            subset,
            selected,
            instrument_ids,
            keys.masks(),
            |i, m| keys.packed(st, i, m),
            |c| keys.unpack(st, *c),
        ),
        None => build_cells(
            n_episodes,
            pairs,
            subset,
            selected,
            instrument_ids,
            keys.masks(),
            |i, m| keys.project(i, m),
            |kids| (keys.labels(kids), kids.contains(&ALL_ID)),
        ),
    }
}

/// [`build`] over keys of type `K` (packed integers, or label-id arrays when the
/// combinations do not fit in one integer).
#[allow(clippy::too_many_arguments)]
fn build_cells<K: Hash + Eq + Copy>(
    n: usize,
    pairs: &[Pair],
    subset: &[u32],
    selected: &[bool],
    instrument_ids: &[String],
    masks: u32,
    project: impl Fn(usize, u32) -> K,
    unpack: impl Fn(&K) -> (Vec<String>, bool),
) -> Vec<CellGroup> {
    let dense = Dense::new(n, masks, |i| selected[i], project);
    let mut n_episodes = vec![0u64; dense.keys.len()];
    for i in 0..n {
        for &c in dense.of(i) {
            n_episodes[c as usize] += 1;
        }
    }
    // Pairs per (instrument, key id).
    let n_keys = dense.keys.len();
    let mut groups: Vec<Vec<u32>> = vec![Vec::new(); instrument_ids.len() * n_keys];
    for &p in subset {
        let pair = &pairs[p as usize];
        for &c in dense.of(pair.episode as usize) {
            groups[usize::from(pair.instrument) * n_keys + c as usize].push(p);
        }
    }
    let mut out: BTreeMap<(String, Vec<String>), CellGroup> = BTreeMap::new();
    for (g, mut pairs) in groups.into_iter().enumerate() {
        if pairs.is_empty() {
            continue;
        }
        let (instrument, c) = (g / n_keys, g % n_keys);
        let (labels, margin) = unpack(&dense.keys[c]);
        pairs.sort_unstable();
        out.insert(
            (instrument_ids[instrument].clone(), labels.clone()),
            CellGroup {
                instrument: instrument as u16,
                labels,
                margin,
                n_episodes: n_episodes[c],
                pairs,
            },
        );
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episodes(tracks: &[&str], modalities: &[&str]) -> Episodes {
        let mut e = Episodes::default();
        for (k, (t, m)) in tracks.iter().zip(modalities).enumerate() {
            e.id.push(format!("E{k}"));
            e.track.push(t.to_string());
            e.modality.push(m.to_string());
            e.site.push(None);
        }
        e
    }

    #[test]
    fn packed_and_array_keys_give_the_same_cells() {
        let eps = episodes(
            &["mh", "su", "mh", "su", "ed"],
            &["CBT", "CBT", "DBT", "MI", "CBT"],
        );
        let columns: Vec<String> = ["track", "modality", "site"].map(String::from).to_vec();
        let keys = Keys::new(&eps, &columns);
        let st = keys.strides.clone().expect("few labels pack");
        let pairs: Vec<Pair> = [(0, 0), (1, 0), (2, 1), (3, 0), (4, 1), (0, 1)]
            .iter()
            .map(|&(e, i)| Pair {
                episode: e,
                instrument: i,
                baseline: 10.0,
                baseline_date: 0,
                followup: None,
            })
            .collect();
        let selected = [true, true, true, false, true];
        let ids = ["GAD7".to_string(), "PHQ9".to_string()];
        let every: Vec<u32> = (0..pairs.len() as u32).collect();
        let packed = build_cells(
            eps.len(),
            &pairs,
            &every,
            &selected,
            &ids,
            keys.masks(),
            |i, m| keys.packed(&st, i, m),
            |c| keys.unpack(&st, *c),
        );
        let arrays = build_cells(
            eps.len(),
            &pairs,
            &every,
            &selected,
            &ids,
            keys.masks(),
            |i, m| keys.project(i, m),
            |kids| (keys.labels(kids), kids.contains(&ALL_ID)),
        );
        assert_eq!(packed, arrays);
        // The overall GAD7 margin: episodes 0, 1 and 4 selected in the cohort (of 4), pairs
        // 0 and 1; an empty site is "(not recorded)".
        let all = packed
            .iter()
            .find(|c| c.instrument == 0 && c.labels.iter().all(|l| l == ALL))
            .unwrap();
        assert_eq!((all.n_episodes, all.pairs.clone()), (4, vec![0, 1]));
        assert!(packed.iter().any(|c| c.labels[2] == NOT_RECORDED));
        // Episode groups agree with the same keys too.
        let groups = keys.episode_groups(eps.len(), |i| selected[i]);
        let everyone = groups.iter().find(|g| g.0 == [ALL, ALL, ALL]).unwrap();
        assert_eq!((everyone.1, everyone.2.clone()), (true, vec![0, 1, 2, 4]));
        let mh_cbt = groups.iter().find(|g| g.0 == ["mh", "CBT", ALL]).unwrap();
        assert_eq!((mh_cbt.1, mh_cbt.2.clone()), (true, vec![0]));
    }
}
