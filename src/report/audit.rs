//! The disclosure audit (SPEC §11 D3): an independent check of the files about to be
//! published. It reads the CSV bytes as a reader would, rebuilds every additive relation of
//! D1 from the written rows — margins along the grouping columns, categories and their total,
//! a count within the count it is part of, a percentage times its published denominator, the
//! same count published in two tables — and attacks every blank with the disclosure engine's
//! attacker ([`crate::disclosure::audit_with`]: exact recovery and interval narrowing alike).
//!
//! It shares nothing with the protection code but the attacker: it knows the tables only by
//! their column names (its own codebook below), not by the descriptions' roles, and it never
//! sees which blanks protection chose or why. A blank it can recover, or narrow below the
//! 1 … below − 1 band, fails the run (exit 1, nothing published).

use crate::disclosure::{self, Relation};
use crate::error::{Error, Result};
use crate::table::MARGIN;
use std::collections::BTreeMap;

mod benchmark;

/// What the audit tried and found (recorded in the manifest).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Findings {
    /// Tables read back.
    pub tables: usize,
    /// Counts read (published, blank, or implied by a percentage).
    pub counts: usize,
    /// Relations tried.
    pub relations_tried: usize,
    /// Blank counts attacked.
    pub blanks: usize,
    /// Blanks recovered or narrowed below the band (0 when the run publishes).
    pub disclosed: usize,
}

/// A count of a table: written in a column of its name, or implied by a percentage (or a
/// rate) and its denominator, or both (a blank count whose percentage is published is not a
/// blank to a reader).
struct CountColumn {
    name: &'static str,
    /// `(percentage column, denominator, scale)`: value = percentage × denominator / scale.
    implied_by: Option<(&'static str, &'static str, f64)>,
}

const fn col(name: &'static str) -> CountColumn {
    CountColumn {
        name,
        implied_by: None,
    }
}

const fn pct(name: &'static str, of: &'static str, by: &'static str) -> CountColumn {
    CountColumn {
        name,
        implied_by: Some((of, by, 100.0)),
    }
}

/// The audit's codebook: per table, the count columns (written or implied), the key columns
/// besides the grouping columns, and the within-row relations `total = Σ parts` (names that
/// are not columns are unknowns no file shows).
struct Codebook {
    table: &'static str,
    /// Key columns other than the run's grouping columns, and whether each marks margins
    /// with `All`.
    keys: &'static [(&'static str, bool)],
    /// Whether the run's grouping columns key this table.
    grouped: bool,
    counts: Vec<CountColumn>,
    rows: &'static [(&'static str, &'static [&'static str])],
}

fn codebooks() -> Vec<Codebook> {
    vec![
        Codebook {
            table: "outcomes",
            keys: &[("instrument", false)],
            grouped: true,
            counts: vec![
                col("n_episodes"),
                col("n_baseline"),
                col("n_paired"),
                pct("n_improved", "pct_improved", "n_paired"),
                pct("n_unchanged", "pct_unchanged", "n_paired"),
                pct("n_deteriorated", "pct_deteriorated", "n_paired"),
                col("n_cases"),
                pct("n_recovered", "pct_recovered", "n_cases"),
                pct("n_response", "pct_response", "n_cases"),
                pct("n_remission", "pct_remission", "n_cases"),
            ],
            rows: &[
                ("n_episodes", &["n_baseline", "without baseline"]),
                ("n_baseline", &["n_paired", "lost"]),
                ("n_paired", &["n_improved", "n_unchanged", "n_deteriorated"]),
                ("n_paired", &["n_cases", "not cases"]),
                ("n_cases", &["n_recovered", "cases not recovered"]),
                ("n_improved", &["n_recovered", "improved not recovered"]),
                ("n_cases", &["n_response", "cases without response"]),
                ("n_cases", &["n_remission", "cases not remitted"]),
            ],
        },
        Codebook {
            table: "abstinence",
            keys: &[("instrument", false)],
            grouped: true,
            counts: vec![
                col("n_paired"),
                pct("abstinent_baseline", "pct_abstinent_baseline", "n_paired"),
                pct("abstinent_followup", "pct_abstinent_followup", "n_paired"),
                col("to_abstinent"),
                col("to_use"),
            ],
            rows: &[
                ("abstinent_baseline", &["abstinent both", "to_use"]),
                ("abstinent_followup", &["abstinent both", "to_abstinent"]),
                (
                    "n_paired",
                    &["abstinent both", "to_use", "to_abstinent", "using both"],
                ),
            ],
        },
        Codebook {
            table: "ancova",
            keys: &[("instrument", false), ("track", false), ("modality", false)],
            grouped: false,
            counts: vec![col("n")],
            rows: &[],
        },
        Codebook {
            table: "attrition",
            keys: &[("instrument", false), ("track", true)],
            grouped: false,
            counts: vec![col("n_followed"), col("n_lost")],
            rows: &[],
        },
        Codebook {
            table: "engagement",
            keys: &[],
            grouped: true,
            counts: vec![
                col("n_discharged"),
                CountColumn {
                    name: "n_completed",
                    implied_by: Some(("completion_rate", "n_discharged", 1.0)),
                },
                pct("n_meeting_dose", "pct_meeting_dose", "n_discharged"),
            ],
            rows: &[
                ("n_discharged", &["n_completed", "not completed"]),
                ("n_discharged", &["n_meeting_dose", "below the dose"]),
            ],
        },
        Codebook {
            table: "trend",
            keys: &[("quarter", false), ("track", true), ("instrument", false)],
            grouped: false,
            counts: vec![
                col("n_paired"),
                pct("n_improved", "pct_improved", "n_paired"),
            ],
            rows: &[("n_paired", &["n_improved", "not improved"])],
        },
        Codebook {
            table: "benchmark",
            keys: &[("indicator", false), ("instrument", false), ("unit", false)],
            grouped: false,
            counts: vec![col("n"), col("observed")],
            rows: &[("n", &["observed", "not observed"])],
        },
        // A row per instrument × track × modality with an episode in the model, and their
        // margins (track or modality All): a cell not written holds no episode.
        Codebook {
            table: "longitudinal",
            keys: &[("instrument", false), ("track", true), ("modality", true)],
            grouped: false,
            counts: vec![
                col("n_episodes"),
                col("n_assessments"),
                col("n_without_followup"),
            ],
            rows: &[
                ("n_episodes", &["n_without_followup", "followed up"]),
                // Every episode in the model has at least one assessment.
                (
                    "n_assessments",
                    &["n_episodes", "assessments after the first"],
                ),
            ],
        },
        // A row per group with an admitted episode, every count observed by each day
        // (whether follow-up reaches it or not). The incidences are blank with their counts,
        // and a count is not a proportion of n_episodes once anyone is censored, so they
        // imply nothing more.
        Codebook {
            table: "retention_summary",
            keys: &[],
            grouped: true,
            counts: [
                "n_episodes",
                "n_dropout_30",
                "n_dropout_60",
                "n_dropout_90",
                "n_completed_30",
                "n_completed_60",
                "n_completed_90",
            ]
            .into_iter()
            .map(col)
            .collect(),
            rows: &[
                (
                    "n_episodes",
                    &["n_dropout_30", "n_completed_30", "neither by day 30"],
                ),
                (
                    "n_episodes",
                    &["n_dropout_60", "n_completed_60", "neither by day 60"],
                ),
                (
                    "n_episodes",
                    &["n_dropout_90", "n_completed_90", "neither by day 90"],
                ),
                ("n_dropout_60", &["n_dropout_30", "dropouts on days 31-60"]),
                ("n_dropout_90", &["n_dropout_60", "dropouts on days 61-90"]),
                (
                    "n_completed_60",
                    &["n_completed_30", "completions on days 31-60"],
                ),
                (
                    "n_completed_90",
                    &["n_completed_60", "completions on days 61-90"],
                ),
            ],
        },
    ]
}

/// Tables the audit accepts only without a single row (a header alone), because their rows
/// carry more than additive relations can hold:
///
/// - retention.csv (SPEC §13): besides the margins along the grouping columns and n_risk =
///   n_dropout + n_completed + n_other + n_censored + those still at risk after the day,
///   consecutive rows of a group chain (the at-risk after a day is the next row's n_risk; no
///   row on a day means nothing happened that day), and every cumulative incidence is a
///   proportion that gives a count: with S = 1 − cif_dropout − cif_completed − cif_other of
///   the row before (1 before the first row), the day's n_dropout = (cif_dropout −
///   cif_dropout before) × n_risk / S, and likewise each outcome; with no censoring before
///   the day, n_dropout up to it = cif_dropout × the group's first n_risk. A blank count is
///   therefore implied by the published incidences around it, through a relation that is not
///   a sum of counts; the row's mere presence says that something happened that day.
/// - retention_tests.csv: n_episodes is the first n_risk of the track's group, n_dropout the
///   sum of its rows' n_dropout, and the log-rank statistic a function of every row.
///
/// Protection withholds both whole; a row in either is a failed audit.
const NO_ROWS: &[&str] = &["retention", "retention_tests"];

/// One table read back: per row, its key (column → value) and its counts.
struct Read {
    table: &'static str,
    keys: Vec<BTreeMap<String, String>>,
    /// Key columns that mark margins with `All`.
    margin_keys: Vec<String>,
    /// Per row, per count column: the value written (or implied), `None` when blank,
    /// missing when the column does not apply (e.g. no threshold).
    values: Vec<BTreeMap<&'static str, Option<u64>>>,
}

/// The variables of the attack: published values (or blanks) and unknowns.
#[derive(Default)]
struct Attack {
    published: Vec<Option<u64>>,
    unknown: Vec<bool>,
    relations: Vec<Relation>,
    names: Vec<String>,
    /// (table, row, column) → variable.
    index: BTreeMap<(usize, usize, &'static str), usize>,
}

impl Attack {
    fn var(&mut self, value: Option<u64>, unknown: bool, name: String) -> usize {
        self.published.push(value);
        self.unknown.push(unknown);
        self.names.push(name);
        self.published.len() - 1
    }
}

/// A margin family: the margin's variable (if its row exists) and its cells' variables.
type Family = (Option<usize>, Vec<usize>);

/// What the audit needs to know of the run besides the files.
pub struct Run<'a> {
    /// The grouping columns of the cells.
    pub groups: &'a [String],
    /// The period label (the trend's matching quarter is the period's own).
    pub period: &'a str,
    /// Whether the follow-up point is the discharge (then n_episodes is engagement's
    /// n_discharged).
    pub discharge_anchor: bool,
    /// Whether the mixed model's window holds the whole baseline window (then every paired
    /// episode is in the model: longitudinal's n_episodes − n_without_followup is outcomes'
    /// n_paired of the same instrument, track and modality).
    pub longitudinal_has_baselines: bool,
    pub below: u64,
    /// Whether a count applies to an instrument at all (e.g. no reliable-change categories
    /// without a threshold): public knowledge, from the catalog the methods list.
    pub applies: &'a dyn Fn(&str, &str) -> bool,
    /// The unit column of benchmark.csv (`[benchmark] by`).
    pub benchmark_by: &'a str,
    /// Whether the run covers the whole export (no period): then retention_summary.csv's
    /// episodes of a group hold engagement.csv's discharged ones, and its completions by
    /// day 90 are some of engagement's.
    pub whole_export: bool,
}

/// Audits the CSV files in `files` (name → bytes).
///
/// # Errors
/// An internal error naming the first disclosed blanks when the audit fails, or when a file
/// cannot be read back (a bug either way: nothing is published).
pub fn audit(files: &[(String, Vec<u8>)], run: &Run) -> Result<Findings> {
    let found = attack(files, run)?;
    if found.passed() {
        return Ok(found.findings);
    }
    let shown: Vec<&str> = [&found.disclosed, &found.inconsistent, &found.unsolved]
        .into_iter()
        .flat_map(|v| v.iter().take(3).map(String::as_str))
        .collect();
    Err(Error::Internal(format!(
        "the disclosure audit of the files about to be published failed ({} blanks recoverable, {} relations contradicted, {} unchecked): {}",
        found.disclosed.len(),
        found.inconsistent.len(),
        found.unsolved.len(),
        shown.join("; ")
    )))
}

/// What the attack on the files found, each finding named.
#[derive(Debug, Clone)]
pub struct Attacked {
    pub findings: Findings,
    /// Every blank recovered or narrowed below the band: `table|key|column in [lo, hi]`.
    pub disclosed: Vec<String>,
    /// Relations the published values contradict.
    pub inconsistent: Vec<String>,
    /// Blanks the attacker could not bound.
    pub unsolved: Vec<String>,
}

impl Attacked {
    /// Whether the files may be published.
    pub fn passed(&self) -> bool {
        self.disclosed.is_empty() && self.inconsistent.is_empty() && self.unsolved.is_empty()
    }
}

/// Reads the CSV files in `files` back and attacks every blank ([`audit`] without the
/// verdict).
///
/// # Errors
/// An internal error when a file cannot be read back, a withheld table has a row, or a small
/// count is published.
pub fn attack(files: &[(String, Vec<u8>)], run: &Run) -> Result<Attacked> {
    let mut read = Vec::new();
    let mut tables = 0;
    for table in NO_ROWS {
        let Some((_, bytes)) = files.iter().find(|(n, _)| *n == format!("{table}.csv")) else {
            continue;
        };
        let mut rdr = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
        if rdr.records().next().is_some() {
            return Err(Error::Internal(format!(
                "the disclosure audit found rows in {table}.csv, which it cannot attack (its incidences imply counts through relations that are not sums): nothing is published"
            )));
        }
        tables += 1;
    }
    let mut targets = Vec::new();
    for book in codebooks() {
        let Some((_, bytes)) = files
            .iter()
            .find(|(n, _)| *n == format!("{}.csv", book.table))
        else {
            continue;
        };
        let mut table = read_table(&book, bytes, run)?;
        if book.table == "benchmark" {
            targets = benchmark::read(&mut table, bytes)?;
        }
        read.push(table);
    }
    let mut a = Attack::default();
    for (t, r) in read.iter().enumerate() {
        for (row, vals) in r.values.iter().enumerate() {
            for (&c, &v) in vals {
                let name = format!("{}|{:?}|{c}", r.table, r.keys[row]);
                let id = a.var(v, false, name);
                a.index.insert((t, row, c), id);
            }
        }
    }
    let books = codebooks();
    for (t, r) in read.iter().enumerate() {
        let book = books
            .iter()
            .find(|b| b.table == r.table)
            .expect("read from a codebook");
        margins(&mut a, t, r);
        rows(&mut a, t, r, book.rows);
        if r.table == "outcomes" {
            repeats(&mut a, t, r, "n_episodes", "instrument");
        }
    }
    across(&mut a, &read, run);
    benchmark::relations(&mut a, &read, run, &targets);
    let counts = a.unknown.iter().filter(|u| !**u).count();
    // A published (or implied) count from 1 to below − 1 is a disclosure in itself.
    if let Some(i) = (0..a.published.len()).find(|&i| {
        !a.unknown[i] && a.published[i].is_some_and(|v| disclosure::is_primary(v, run.below))
    }) {
        return Err(Error::Internal(format!(
            "the disclosure audit found a small count published: {} = {}",
            a.names[i],
            a.published[i].expect("published")
        )));
    }
    let result = disclosure::audit_with(&a.published, &a.relations, run.below, &a.unknown);
    Ok(Attacked {
        findings: Findings {
            tables: read.len() + tables,
            counts,
            relations_tried: result.relations_tried,
            blanks: result.blanks,
            disclosed: result.disclosed.len(),
        },
        disclosed: result
            .disclosed
            .iter()
            .map(|d| format!("{} in [{}, {}]", a.names[d.index], d.lo, d.hi))
            .collect(),
        inconsistent: result
            .inconsistent
            .iter()
            .map(|&r| format!("relation {r} contradicted by the published values"))
            .collect(),
        unsolved: result
            .unsolved
            .iter()
            .map(|&i| format!("{} not attacked", a.names[i]))
            .collect(),
    })
}

/// Parses one CSV file with its codebook.
fn read_table(book: &Codebook, bytes: &[u8], run: &Run) -> Result<Read> {
    let bad = |what: String| Error::Internal(format!("audit: {}.csv: {what}", book.table));
    let mut rdr = csv::ReaderBuilder::new().from_reader(bytes);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(String::from)
        .collect();
    let pos = |n: &str| header.iter().position(|h| h == n);
    let mut key_cols: Vec<(String, bool)> =
        book.keys.iter().map(|(k, m)| (k.to_string(), *m)).collect();
    if book.grouped {
        key_cols.extend(run.groups.iter().map(|g| (g.clone(), true)));
    }
    let mut out = Read {
        table: book.table,
        keys: Vec::new(),
        margin_keys: key_cols
            .iter()
            .filter(|k| k.1)
            .map(|k| k.0.clone())
            .collect(),
        values: Vec::new(),
    };
    for rec in rdr.records() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        let cell = |n: &str| pos(n).and_then(|i| rec.get(i)).unwrap_or("");
        let num = |n: &str| -> Result<Option<f64>> {
            let c = cell(n);
            if c.is_empty() {
                return Ok(None);
            }
            c.parse()
                .map(Some)
                .map_err(|_| bad(format!("{n} = {c:?} is not a number")))
        };
        let key: BTreeMap<String, String> = key_cols
            .iter()
            .map(|(k, _)| (k.clone(), cell(k).to_string()))
            .collect();
        let instrument = key.get("instrument").cloned().unwrap_or_default();
        let mut vals = BTreeMap::new();
        for c in &book.counts {
            if !(run.applies)(&instrument, c.name) {
                continue;
            }
            let written = match pos(c.name) {
                Some(_) => {
                    parse_count(cell(c.name)).map_err(|e| bad(format!("{}: {e}", c.name)))?
                }
                None => None,
            };
            let implied = match c.implied_by {
                Some((share, of, scale)) => match (num(share)?, num(of)?) {
                    (Some(s), Some(d)) => Some((s * d / scale).round() as u64),
                    // No denominator: nothing to be a share of.
                    (None, Some(0.0)) => Some(0),
                    _ => None,
                },
                None => None,
            };
            vals.insert(c.name, written.or(implied));
        }
        out.keys.push(key);
        out.values.push(vals);
    }
    Ok(out)
}

fn parse_count(s: &str) -> std::result::Result<Option<u64>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<u64>()
        .map(Some)
        .map_err(|_| format!("{s:?} is not a count"))
}

/// `total = Σ parts`. A row is written when the instrument has a baseline in the cell, so
/// a missing row holds zero of every count but n_episodes (the cell's episodes whatever their
/// instruments): for it an unknown takes up the rows not written, and the attacker gets
/// `total ≥ Σ parts`.
fn sum(a: &mut Attack, total: usize, mut parts: Vec<usize>, gap: Option<String>) {
    if let Some(name) = gap {
        parts.push(a.var(None, true, name));
    }
    a.relations.push(Relation::new(total, parts));
}

/// Margins along every margin key column.
fn margins(a: &mut Attack, t: usize, r: &Read) {
    for g in &r.margin_keys {
        let mut families: BTreeMap<Vec<(String, String)>, Family> = BTreeMap::new();
        for (row, key) in r.keys.iter().enumerate() {
            let rest: Vec<(String, String)> = key
                .iter()
                .filter(|(k, _)| *k != g)
                .map(|(k, v)| (k.clone(), v.clone()))
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
            for &c in r.values[total].keys() {
                let ps: Option<Vec<usize>> = parts
                    .iter()
                    .map(|&p| a.index.get(&(t, p, c)).copied())
                    .collect();
                let (Some(ps), Some(&tot)) = (ps, a.index.get(&(t, total, c))) else {
                    continue;
                };
                // longitudinal.csv and retention_summary.csv write every cell with an
                // episode.
                let gap = (c == "n_episodes"
                    && !matches!(r.table, "longitudinal" | "retention_summary"))
                .then(|| format!("{}|{rest:?}|{g} not written|{c}", r.table));
                sum(a, tot, ps, gap);
            }
        }
    }
}

/// Relations within each row, with unknowns for the names that are not columns.
fn rows(a: &mut Attack, t: usize, r: &Read, relations: &[(&'static str, &'static [&'static str])]) {
    for row in 0..r.keys.len() {
        let mut unknowns: BTreeMap<&str, usize> = BTreeMap::new();
        for (total, parts) in relations {
            let mut id = |n: &'static str, a: &mut Attack| -> Option<usize> {
                if r.values[row].contains_key(n) {
                    return a.index.get(&(t, row, n)).copied();
                }
                if r.values.first().is_some_and(|v| v.contains_key(n)) {
                    // A count column that does not apply to this row.
                    return None;
                }
                Some(*unknowns.entry(n).or_insert_with(|| {
                    a.var(None, true, format!("{}|{:?}|{n}", r.table, r.keys[row]))
                }))
            };
            let total = id(total, a);
            let parts: Option<Vec<usize>> = parts.iter().map(|p| id(p, a)).collect();
            if let (Some(total), Some(parts)) = (total, parts) {
                a.relations.push(Relation::new(total, parts));
            }
        }
    }
}

/// A count that repeats along a key (n_episodes of a cell, in every instrument's row).
fn repeats(a: &mut Attack, t: usize, r: &Read, count: &'static str, along: &str) {
    let mut first: BTreeMap<Vec<(String, String)>, usize> = BTreeMap::new();
    for (row, key) in r.keys.iter().enumerate() {
        let Some(&v) = a.index.get(&(t, row, count)) else {
            continue;
        };
        let rest: Vec<(String, String)> = key
            .iter()
            .filter(|(k, _)| *k != along)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        match first.get(&rest) {
            Some(&f) => a.relations.push(Relation::same(f, v)),
            None => {
                first.insert(rest, v);
            }
        }
    }
}

/// The same counts published in two tables.
fn across(a: &mut Attack, read: &[Read], run: &Run) {
    let find = |name: &str| read.iter().position(|r| r.table == name);
    let Some(o) = find("outcomes") else { return };
    let outcomes = &read[o];
    // The outcomes row of an instrument with the given grouping labels, the rest `All`.
    let lookup = |inst: &str, labels: &[(&str, &str)]| -> Option<usize> {
        if labels
            .iter()
            .any(|(g, v)| *v != MARGIN && !run.groups.iter().any(|x| x == g))
        {
            return None;
        }
        outcomes.keys.iter().position(|k| {
            k["instrument"] == inst
                && run.groups.iter().all(|g| {
                    let want = labels
                        .iter()
                        .find(|(x, _)| x == g)
                        .map_or(MARGIN, |(_, v)| v);
                    k[g] == want
                })
        })
    };
    let same = |a: &mut Attack, x: Option<usize>, y: Option<usize>| {
        if let (Some(x), Some(y)) = (x, y) {
            a.relations.push(Relation::same(x, y));
        }
    };
    if let Some(t) = find("abstinence") {
        for (row, k) in read[t].keys.iter().enumerate() {
            let o_row = outcomes.keys.iter().position(|ok| ok == k);
            let x = a.index.get(&(t, row, "n_paired")).copied();
            let y = o_row.and_then(|r| a.index.get(&(o, r, "n_paired")).copied());
            same(a, x, y);
        }
    }
    if let Some(t) = find("attrition") {
        for (row, k) in read[t].keys.iter().enumerate() {
            let Some(r) = lookup(&k["instrument"], &[("track", &k["track"])]) else {
                continue;
            };
            let followed = a.index.get(&(t, row, "n_followed")).copied();
            same(a, followed, a.index.get(&(o, r, "n_paired")).copied());
            let lost = a.index.get(&(t, row, "n_lost")).copied();
            if let (Some(f), Some(l), Some(b)) =
                (followed, lost, a.index.get(&(o, r, "n_baseline")).copied())
            {
                a.relations.push(Relation::new(b, vec![f, l]));
            }
        }
    }
    if let Some(t) = find("ancova") {
        for (row, k) in read[t].keys.iter().enumerate() {
            let r = lookup(
                &k["instrument"],
                &[("track", &k["track"]), ("modality", &k["modality"])],
            );
            let x = a.index.get(&(t, row, "n")).copied();
            same(
                a,
                x,
                r.and_then(|r| a.index.get(&(o, r, "n_paired")).copied()),
            );
        }
    }
    if let Some(t) = find("trend") {
        for (row, k) in read[t].keys.iter().enumerate() {
            if k["quarter"] != run.period {
                continue;
            }
            let Some(r) = lookup(&k["instrument"], &[("track", &k["track"])]) else {
                continue;
            };
            for c in ["n_paired", "n_improved"] {
                let x = a.index.get(&(t, row, c)).copied();
                same(a, x, a.index.get(&(o, r, c)).copied());
            }
        }
    }
    if let (Some(t), true) = (find("longitudinal"), run.longitudinal_has_baselines) {
        for (row, k) in read[t].keys.iter().enumerate() {
            let Some(r) = lookup(
                &k["instrument"],
                &[("track", &k["track"]), ("modality", &k["modality"])],
            ) else {
                continue;
            };
            let episodes = a.index.get(&(t, row, "n_episodes")).copied();
            let without = a.index.get(&(t, row, "n_without_followup")).copied();
            let paired = a.index.get(&(o, r, "n_paired")).copied();
            if let (Some(e), Some(w), Some(p)) = (episodes, without, paired) {
                a.relations.push(Relation::new(e, vec![w, p]));
            }
        }
    }
    if let (Some(e), Some(s), true) = (
        find("engagement"),
        find("retention_summary"),
        run.whole_export,
    ) {
        for (row, k) in read[s].keys.iter().enumerate() {
            let Some(er) = read[e].keys.iter().position(|ek| ek == k) else {
                continue;
            };
            let get = |t, r, c| a.index.get(&(t, r, c)).copied();
            for (total, part) in [
                (get(s, row, "n_episodes"), get(e, er, "n_discharged")),
                (get(e, er, "n_completed"), get(s, row, "n_completed_90")),
            ] {
                if let (Some(total), Some(part)) = (total, part) {
                    let rest = a.var(None, true, format!("retention_summary|{k:?}|beyond"));
                    a.relations.push(Relation::new(total, vec![part, rest]));
                }
            }
        }
    }
    if let (Some(t), true) = (find("engagement"), run.discharge_anchor) {
        for (row, k) in read[t].keys.iter().enumerate() {
            let x = a.index.get(&(t, row, "n_discharged")).copied();
            for (r, ok) in outcomes.keys.iter().enumerate() {
                if run.groups.iter().all(|g| ok[g] == k[g]) {
                    same(a, x, a.index.get(&(o, r, "n_episodes")).copied());
                }
            }
        }
    }
}
