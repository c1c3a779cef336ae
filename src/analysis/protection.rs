//! Disclosure control over every director-facing table at once (SPEC §11 D1–D2): every count
//! a table publishes (written, or implied by a percentage and its denominator) becomes one
//! count of the [`crate::disclosure`] engine, with every additive relation the tables contain:
//!
//! - margins: a row whose grouping column is `All` sums the rows that differ from it only in
//!   that column (when some rows are absent, e.g. cells without a baseline on an instrument,
//!   an unknown that no file shows takes up the difference);
//! - within a row: parts and their total (the reliable-change categories and n_paired; the
//!   2 × 2 table behind McNemar's test), and a count within the count it is part of
//!   (n_cases within n_paired) through an unknown complement;
//! - the same count published twice: along a key (n_episodes of a cell in every instrument's
//!   row), and across tables (n_paired in outcomes and abstinence, in trend for the period's
//!   quarter, as n_followed in attrition, as n in the ANCOVA; n_episodes as engagement's
//!   n_discharged when the follow-up point is the discharge).
//!
//! The engine blanks the primary counts (1 to below − 1) and the fewest, smallest
//! complementary ones that leave no blank recoverable; each table's description then blanks
//! the statistics computed from a blanked count. The independent audit of the written files
//! is `report::audit`.

use crate::disclosure::{self, Count, Interval, Relation};
use crate::error::{Error, Result};
use crate::table::{Counted, MARGIN};
use std::collections::BTreeMap;

/// What protection did (recorded in the manifest).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Counts considered (published or implied).
    pub counts: usize,
    /// Relations between them.
    pub relations: usize,
    /// Counts blanked because they are from 1 to below − 1.
    pub primary: usize,
    /// Counts blanked to protect those (complementary).
    pub secondary: usize,
}

/// What an attacker can still learn of each blank, for the page to say no more than that:
/// by (table, row, count name).
pub type Intervals = BTreeMap<(&'static str, usize, String), Interval>;

/// Every written value protection blanked (counts and what follows from them): by (table,
/// row, column name).
pub type Withheld = std::collections::BTreeSet<(&'static str, usize, String)>;

/// What protection did and what it leaves an attacker.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub summary: Summary,
    pub intervals: Intervals,
    pub withheld: Withheld,
}

/// A count of one table's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct At {
    table: usize,
    row: usize,
    count: usize,
}

/// A row key by column name.
pub type RowKey = BTreeMap<String, String>;

/// From a row's key, the key of the row it links to (`None`: no such row).
pub type KeyOf = Box<dyn Fn(&RowKey) -> Option<RowKey>>;

/// A cross-table relation: `into_count` of table `into`, in the row whose key `key_of` gives
/// (by key column name), is the sum of `counts` of a row of table `from` (one count: the
/// same count published twice).
pub struct Link {
    pub from: &'static str,
    pub counts: &'static [&'static str],
    pub into: &'static str,
    pub into_count: &'static str,
    /// The `from` counts are part of the `into` count, not all of it (`into` ≥ their sum: an
    /// unknown takes up the rest), e.g. the discharged episodes among all admitted.
    pub part: bool,
    /// The key (column name → value) of the `into` row, from the `from` row's key.
    pub key_of: KeyOf,
}

/// The engine's model of a set of tables, built once.
struct Model<'t> {
    tables: Vec<&'t mut dyn Counted>,
    counts: Vec<Count>,
    /// Never published (unknowns of the relations).
    unknown: Vec<bool>,
    relations: Vec<Relation>,
    index: BTreeMap<At, usize>,
    /// Per table: row key (by column name) → row.
    rows: Vec<BTreeMap<BTreeMap<String, String>, usize>>,
}

impl<'t> Model<'t> {
    fn new(tables: Vec<&'t mut dyn Counted>) -> Model<'t> {
        let mut m = Model {
            tables,
            counts: Vec::new(),
            unknown: Vec::new(),
            relations: Vec::new(),
            index: BTreeMap::new(),
            rows: Vec::new(),
        };
        for t in 0..m.tables.len() {
            let tab = &m.tables[t];
            let (names, groups) = (tab.key_names(), tab.groups());
            let counts: Vec<String> = tab.count_names().iter().map(|s| s.to_string()).collect();
            // A total of categories (a count others are within, or the total of a row
            // relation) is a margin too: every statistic of its row is computed from it, so
            // a complement is chosen among the categories first (SPEC §11 D2).
            let mut total = vec![false; counts.len()];
            for parents in tab.within() {
                parents.iter().for_each(|&p| total[p] = true);
            }
            for rel in tab.relations() {
                if let Some(i) = counts.iter().position(|n| n == rel.total) {
                    total[i] = true;
                }
            }
            let implied = tab.implied();
            let mut by_key = BTreeMap::new();
            let mut found = Vec::new();
            for row in 0..tab.len() {
                let key = tab.key(row);
                let margin = key.iter().zip(&groups).any(|(k, &g)| g && k == MARGIN);
                for (c, name) in counts.iter().enumerate() {
                    if let Some(v) = tab.value(row, c) {
                        let label = format!("{}|{}|{name}", tab.name(), key.join("|"));
                        found.push((
                            At {
                                table: t,
                                row,
                                count: c,
                            },
                            v,
                            label,
                            margin || total[c],
                            implied[c],
                        ));
                    }
                }
                let named = names
                    .iter()
                    .zip(&key)
                    .map(|(n, k)| (n.to_string(), k.clone()))
                    .collect();
                by_key.insert(named, row);
            }
            for (at, v, label, margin, implied) in found {
                m.index.insert(at, m.counts.len());
                m.counts.push(Count {
                    value: v,
                    key: label,
                    margin,
                    implied,
                });
                m.unknown.push(false);
            }
            m.rows.push(by_key);
        }
        m
    }

    /// An unknown that no file shows, with its true value.
    fn unknown(&mut self, key: String, value: u64) -> usize {
        self.counts.push(Count::cell(key, value));
        self.unknown.push(true);
        self.counts.len() - 1
    }

    fn at(&self, table: usize, row: usize, count: usize) -> Option<usize> {
        self.index.get(&At { table, row, count }).copied()
    }

    /// `total = Σ parts` when it holds on the true values; a shortfall of the parts (rows a
    /// table leaves out) is taken up by an unknown.
    fn sum(&mut self, total: usize, parts: Vec<usize>, label: impl FnOnce() -> String) {
        let sum: u64 = parts.iter().map(|&p| self.counts[p].value).sum();
        let want = self.counts[total].value;
        let mut parts = parts;
        if sum < want {
            let gap = self.unknown(label(), want - sum);
            parts.push(gap);
        } else if sum > want {
            crate::diag::debug(&format!(
                "disclosure: {} is {want} but its parts sum to {sum}; relation left out",
                self.counts[total].key
            ));
            return;
        }
        self.relations.push(Relation::new(total, parts));
    }

    /// Margin relations of every table along every grouping column.
    fn margins(&mut self) {
        for t in 0..self.tables.len() {
            let (n_counts, groups) = (self.tables[t].count_names().len(), self.tables[t].groups());
            let keys: Vec<Vec<String>> = (0..self.tables[t].len())
                .map(|r| self.tables[t].key(r))
                .collect();
            for g in (0..groups.len()).filter(|&g| groups[g]) {
                // Rows by their key without column g: the margin row and its parts.
                let mut families: BTreeMap<Vec<&str>, (Option<usize>, Vec<usize>)> =
                    BTreeMap::new();
                for (row, key) in keys.iter().enumerate() {
                    let rest: Vec<&str> = key
                        .iter()
                        .enumerate()
                        .filter(|&(i, _)| i != g)
                        .map(|(_, k)| k.as_str())
                        .collect();
                    let f = families.entry(rest).or_default();
                    if key[g] == MARGIN {
                        f.0 = Some(row);
                    } else {
                        f.1.push(row);
                    }
                }
                for (rest, (total, parts)) in families {
                    let Some(total) = total else { continue };
                    for c in 0..n_counts {
                        let Some(tot) = self.at(t, total, c) else {
                            continue;
                        };
                        let ps: Option<Vec<usize>> =
                            parts.iter().map(|&p| self.at(t, p, c)).collect();
                        let Some(ps) = ps else { continue };
                        let name = self.tables[t].name();
                        let rest = rest.join("|");
                        self.sum(tot, ps, || format!("{name}|{rest}|rows not shown|{g}|{c}"));
                    }
                }
            }
        }
    }

    /// Relations within each row: explicit row relations (with unknowns no file shows), and
    /// a count within the count it is part of, through an unknown complement.
    fn within_rows(&mut self) {
        for t in 0..self.tables.len() {
            let names: Vec<String> = self.tables[t]
                .count_names()
                .iter()
                .map(|s| s.to_string())
                .collect();
            let within = self.tables[t].within();
            let relations = self.tables[t].relations().to_vec();
            let n_rows = self.tables[t].len();
            let table_name = self.tables[t].name();
            for row in 0..n_rows {
                let tag = format!("{table_name}|{}", self.tables[t].key(row).join("|"));
                // Unknowns by name, with their values solved from the relations.
                let mut vals: BTreeMap<&str, Option<u64>> = BTreeMap::new();
                for (c, n) in names.iter().enumerate() {
                    vals.insert(n, self.at(t, row, c).map(|u| self.counts[u].value));
                }
                let mut solved: BTreeMap<&str, u64> = BTreeMap::new();
                let mut progress = true;
                while progress {
                    progress = false;
                    for r in &relations {
                        let get = |n: &str| -> Option<u64> {
                            match vals.get(n) {
                                Some(v) => *v,
                                None => solved.get(n).copied(),
                            }
                        };
                        let missing: Vec<&str> = std::iter::once(r.total)
                            .chain(r.parts.iter().copied())
                            .filter(|n| !vals.contains_key(n) && !solved.contains_key(n))
                            .collect();
                        if missing.len() != 1 {
                            continue;
                        }
                        let known_parts: Option<u64> = r
                            .parts
                            .iter()
                            .filter(|p| **p != missing[0])
                            .map(|p| get(p))
                            .sum();
                        let value = if missing[0] == r.total {
                            known_parts
                        } else {
                            get(r.total)
                                .zip(known_parts)
                                .and_then(|(t, k)| t.checked_sub(k))
                        };
                        if let Some(v) = value {
                            solved.insert(missing[0], v);
                            progress = true;
                        }
                    }
                }
                let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
                for (n, v) in &solved {
                    ids.insert(n, self.unknown(format!("{tag}|{n}"), *v));
                }
                for r in &relations {
                    let id = |n: &str| -> Option<usize> {
                        match names.iter().position(|x| x == n) {
                            Some(c) => self.at(t, row, c),
                            None => ids.get(n).copied(),
                        }
                    };
                    let total = id(r.total);
                    let parts: Option<Vec<usize>> = r.parts.iter().map(|p| id(p)).collect();
                    if let (Some(total), Some(parts)) = (total, parts) {
                        self.sum(total, parts, || format!("{tag}|{} rest", r.total));
                    }
                }
                // A count within a total it is not already a part of in a row relation.
                for (c, parents) in within.iter().enumerate() {
                    for &p in parents {
                        let related = relations
                            .iter()
                            .any(|r| r.total == names[p] && r.parts.contains(&names[c].as_str()));
                        if related {
                            continue;
                        }
                        if let (Some(child), Some(parent)) =
                            (self.at(t, row, c), self.at(t, row, p))
                        {
                            let rest = self.counts[parent]
                                .value
                                .saturating_sub(self.counts[child].value);
                            let comp =
                                self.unknown(format!("{tag}|{} not {}", names[p], names[c]), rest);
                            self.sum(parent, vec![child, comp], String::new);
                        }
                    }
                }
            }
        }
    }

    /// The same count along a key (n_episodes of a cell in every instrument's row).
    fn repeats(&mut self) {
        for t in 0..self.tables.len() {
            let along = self.tables[t].same_across();
            for (c, k) in along.iter().enumerate() {
                let Some(k) = *k else { continue };
                let mut first: BTreeMap<Vec<String>, usize> = BTreeMap::new();
                for row in 0..self.tables[t].len() {
                    let Some(u) = self.at(t, row, c) else {
                        continue;
                    };
                    let mut key = self.tables[t].key(row);
                    key.remove(k);
                    match first.get(&key) {
                        Some(&f) => self.relations.push(Relation::same(f, u)),
                        None => {
                            first.insert(key, u);
                        }
                    }
                }
            }
        }
    }

    /// Cross-table relations.
    fn links(&mut self, links: &[Link]) {
        for l in links {
            let (Some(a), Some(b)) = (self.table(l.from), self.table(l.into)) else {
                continue;
            };
            let from: Option<Vec<usize>> = l.counts.iter().map(|n| self.count(a, n)).collect();
            let (Some(from), Some(cb)) = (from, self.count(b, l.into_count)) else {
                continue;
            };
            let rows: Vec<(BTreeMap<String, String>, usize)> =
                self.rows[a].iter().map(|(k, &r)| (k.clone(), r)).collect();
            for (key, row) in rows {
                let Some(target) = (l.key_of)(&key) else {
                    continue;
                };
                let Some(&into_row) = self.rows[b].get(&target) else {
                    continue;
                };
                let parts: Option<Vec<usize>> = from.iter().map(|&c| self.at(a, row, c)).collect();
                if let (Some(parts), Some(total)) = (parts, self.at(b, into_row, cb)) {
                    let sum: u64 = parts.iter().map(|&p| self.counts[p].value).sum();
                    if sum == self.counts[total].value {
                        self.relations.push(Relation::new(total, parts));
                    } else if l.part {
                        let name = format!("{}|{key:?}|{} beyond {}", l.into, l.into_count, l.from);
                        self.sum(total, parts, || name);
                    }
                }
            }
        }
    }

    /// `(count, by)`: implied count `count` is hidden whenever `by` is blank.
    fn follows(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (t, tab) in self.tables.iter().enumerate() {
            for (c, by) in tab.hidden_with().iter().enumerate() {
                for row in 0..tab.len() {
                    for &b in by {
                        if let (Some(c), Some(b)) = (self.at(t, row, c), self.at(t, row, b)) {
                            out.push((c, b));
                        }
                    }
                }
            }
        }
        out
    }

    fn table(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.name() == name)
    }

    fn count(&self, table: usize, name: &str) -> Option<usize> {
        self.tables[table]
            .count_names()
            .iter()
            .position(|n| *n == name)
    }
}

/// Protects every count of `tables` (SPEC §11 D1–D2) and blanks what follows from each blank;
/// returns what was done and what an attacker can still learn of each blank.
///
/// # Errors
/// An internal error when the model is inconsistent or the solver fails (a bug).
pub fn protect(tables: Vec<&mut dyn Counted>, links: &[Link], below: u64) -> Result<Outcome> {
    let mut m = Model::new(tables);
    m.margins();
    m.within_rows();
    m.repeats();
    m.links(links);
    let p = disclosure::protect_with(&m.counts, &m.relations, below, &m.unknown, &m.follows())
        .map_err(|e| Error::Internal(format!("small-cell protection: {e}")))?;
    if let Some(&i) = p.unprotected.first() {
        return Err(Error::Internal(format!(
            "small-cell protection could not protect {} ({} blanks unprotected)",
            m.counts[i].key,
            p.unprotected.len()
        )));
    }
    let summary = Summary {
        counts: m.unknown.iter().filter(|u| !**u).count(),
        relations: m.relations.len(),
        primary: p.primary,
        secondary: p.secondary,
    };
    let mut intervals = Intervals::new();
    let index: Vec<(At, usize)> = m.index.iter().map(|(a, &u)| (*a, u)).collect();
    let names: Vec<Vec<String>> = m
        .tables
        .iter()
        .map(|t| t.count_names().iter().map(|s| s.to_string()).collect())
        .collect();
    let mut blank: Vec<Vec<Vec<bool>>> = m
        .tables
        .iter()
        .map(|t| vec![vec![false; t.count_names().len()]; t.len()])
        .collect();
    for (at, u) in index {
        if p.blank[u] {
            blank[at.table][at.row][at.count] = true;
            if let Some(iv) = p.intervals[u] {
                let name = m.tables[at.table].name();
                intervals.insert((name, at.row, names[at.table][at.count].clone()), iv);
            }
        }
    }
    let mut withheld = Withheld::new();
    for (t, table) in m.tables.iter_mut().enumerate() {
        let name = table.name();
        for (row, b) in blank[t].iter().enumerate() {
            for c in table.apply(row, b, below) {
                withheld.insert((name, row, c));
            }
        }
    }
    Ok(Outcome {
        summary,
        intervals,
        withheld,
    })
}
