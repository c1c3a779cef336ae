//! Row checks of SPEC §3 / §10 V1–V8, duplicate resolution, and assembly of the accepted data.
//!
//! Each file is scanned in parallel ([`Source::scan`]); every record gets exactly one outcome:
//! accepted (straight into the file's columns), or quarantined with the first failing check in
//! V1 order. Duplicates are judged afterwards among the records that passed every row-level
//! check (and, for child files, the episode look-up), on the columns (see `accept`).

use super::accept::{self, columns, Scan};
use super::header::ColumnMap;
use super::parse::{self, FieldRules, LabelMap};
use super::phi;
use super::read::{ChunkStates, Rec, Row, Source};
use super::reason::Reason;
use super::types::{
    Assessments, Attendance, Episodes, FileAccount, Interned, QuarantineRow, UnknownValues,
};
use crate::config::Config;
use crate::dates::Day;
use crate::error::{Error, Result};
use crate::instruments::{Catalog, Instrument};
use crate::schema;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// Everything a file's checks need from the config.
pub(crate) struct CheckRules {
    pub fields: FieldRules,
    /// Label maps of the episode text columns, by canonical column position (`None` for
    /// the ids and dates).
    pub episode_labels: Vec<Option<LabelMap>>,
    pub instrument: LabelMap,
    pub service: LabelMap,
    /// Episode columns (canonical positions) in which the margin label `All` is an error
    /// (SPEC §16 O4): the grouping columns, the benchmark's unit column, and track and
    /// modality, which every analysis groups by.
    pub margin_columns: Vec<usize>,
    pub allow: Vec<String>,
}

/// The label map of a field, closed when the config says so.
fn label_map(cfg: &Config, field: &str) -> LabelMap {
    let map = cfg.labels.get(field).cloned().unwrap_or_default();
    if cfg.labels.is_closed(field) {
        LabelMap::closed(&map)
    } else {
        LabelMap::new(&map)
    }
}

impl CheckRules {
    pub fn new(cfg: &Config) -> CheckRules {
        let episode_labels = schema::EPISODE_COLUMNS
            .iter()
            .map(|c| cfg.labels.get(c).map(|_| label_map(cfg, c)))
            .collect();
        let margin_columns = schema::EPISODE_COLUMNS
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                **c == "track"
                    || **c == "modality"
                    || cfg.report.group_by.iter().any(|g| g == *c)
                    || cfg.benchmark.by == **c
            })
            .map(|(i, _)| i)
            .collect();
        CheckRules {
            fields: FieldRules {
                date_format: cfg.input.date_format.clone(),
                missing: cfg
                    .input
                    .missing_values
                    .iter()
                    .map(|s| s.trim().to_string())
                    .collect(),
            },
            episode_labels,
            instrument: LabelMap::new(&cfg.labels.instrument),
            service: label_map(cfg, "service"),
            margin_columns,
            allow: cfg
                .phi
                .allow_columns
                .iter()
                .map(|s| s.trim().to_lowercase())
                .collect(),
        }
    }
}

/// A file after its header checks: the source, where its columns are, which columns the PHI
/// guard skips.
pub(crate) struct Prepared {
    pub src: Source,
    pub map: ColumnMap,
    scan_phi: Vec<bool>,
}

impl Prepared {
    /// Maps the header and runs the header half of the PHI guard.
    pub fn new(
        src: Source,
        schema: &schema::FileSchema,
        rename: &BTreeMap<String, String>,
        rules: &CheckRules,
    ) -> Result<Prepared> {
        let map = ColumnMap::resolve(&src.name, src.header.clone(), schema, rename)?;
        let allowed: Vec<bool> = map
            .header
            .iter()
            .map(|h| rules.allow.contains(&h.to_lowercase()))
            .collect();
        for (i, h) in map.header.iter().enumerate() {
            if !allowed[i] && phi::identifier_header(h) {
                return Err(Error::Data(format!(
                    "{}: line 1, column {} (`{h}`): PHI guard: the column name looks like a direct identifier \
                     (HIPAA Safe Harbor). The export must be de-identified: remove the column, or if it holds \
                     no identifiers list it under [phi] allow_columns in the config",
                    src.name,
                    i + 1
                )));
            }
        }
        Ok(Prepared {
            src,
            map,
            scan_phi: allowed.iter().map(|a| !a).collect(),
        })
    }

    /// The values of this file rejected as unknown, among its quarantined `rows`.
    pub fn unknown(
        &self,
        rows: &[QuarantineRow],
        canonical: &'static [&'static str],
    ) -> Vec<UnknownValues> {
        super::loss::unknown_values(rows, &self.map.header, |pos| {
            let c = self.map.index.iter().position(|i| *i == Some(pos))?;
            Some(canonical[c])
        })
    }

    /// The record's value of canonical column `c` ("" when the file lacks the column).
    fn get<'r>(&self, rec: &'r Rec, c: usize) -> &'r str {
        match self.map.index[c] {
            Some(p) => rec.get(p),
            None => "",
        }
    }

    /// Structure and PHI checks every record gets first. `Ok(false)`: malformed row.
    fn precheck(&self, rec: &Rec) -> Result<bool> {
        self.phi_guard(rec, |_| true)?;
        Ok(rec.width() == self.map.header.len())
    }

    /// The PHI guard (SPEC §3) on the fields of `rec` at the positions `which` selects.
    fn phi_guard(&self, rec: &Rec, which: impl Fn(usize) -> bool) -> Result<()> {
        for i in 0..rec.width() {
            if self.scan_phi.get(i).copied().unwrap_or(true) && which(i) {
                let v = rec.get(i);
                if let Some(shape) = phi::value_shape(v) {
                    let col = self
                        .map
                        .header
                        .get(i)
                        .map(String::as_str)
                        .unwrap_or("(beyond the header)");
                    return Err(Error::Data(format!(
                        "{}: line {}, column {} (`{col}`): PHI guard: a value is shaped like {}. The export \
                         must be de-identified: fix the export, or if the column holds no identifiers list \
                         it under [phi] allow_columns in the config (the value is not shown)",
                        self.src.name,
                        rec.line,
                        i + 1,
                        shape.describe()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The row check `check` with the PHI guard run first on every field but those at the
    /// file positions `later` selects (fields whose acceptance proves them free of identifier
    /// shapes: a strict ISO date or a number, or the episode id the previous accepted row
    /// had), which are guarded only when the row is not accepted. The outcome is that of
    /// [`Prepared::precheck`] first: an accepted row's deferred fields cannot hold a shape
    /// (`phi::tests::typed_values_hold_no_identifier_shape`), and a row about to be
    /// quarantined (its raw text written out) is guarded whole. 1,000,000 episodes: the guard
    /// looked at 90 million values of the child files, a few million now.
    fn guarded<T>(
        &self,
        rec: &Rec,
        later: impl Fn(usize) -> bool,
        check: impl FnOnce() -> Result<Row<T>>,
    ) -> Result<Row<T>> {
        if self.phi_guard(rec, |i| !later(i)).is_err() {
            // The error of the first field with a shape, as a guard of every field gives.
            self.phi_guard(rec, |_| true)?;
        }
        let row = if rec.width() == self.map.header.len() {
            check()?
        } else {
            Row::Bad {
                reason: Reason::MalformedRow,
                column: None,
            }
        };
        if matches!(row, Row::Bad { .. }) {
            self.phi_guard(rec, |_| true)?;
        }
        Ok(row)
    }

    /// File positions of the canonical columns `cs` that the file has.
    fn positions(&self, cs: &[usize]) -> Vec<usize> {
        cs.iter().filter_map(|&c| self.map.index[c]).collect()
    }

    /// The fatal error for the margin label `All` in grouping column `c` (SPEC §16 O4).
    fn margin_label_error(&self, rec: &Rec, c: usize) -> Error {
        let canonical = schema::EPISODE_COLUMNS[c];
        let pos = self.map.index[c].unwrap_or(0);
        Error::Data(format!(
            "{}: line {}, column {} (`{}`): the value `All` is the margin label of every table \
             (the row that sums all {canonical} values), so a real {canonical} cannot be called that. \
             Map it to another label in the config, e.g. [labels.{canonical}] \"All\" = \"all_comers\"",
            self.src.name,
            rec.line,
            pos + 1,
            self.map.header.get(pos).map(String::as_str).unwrap_or(canonical)
        ))
    }

    fn bad<T>(&self, reason: Reason, c: usize) -> Result<Row<T>> {
        Ok(Row::Bad {
            reason,
            column: self.map.index[c],
        })
    }
}

/// One parsed episode row: all canonical columns after parsing and label mapping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EpisodeRow {
    id: String,
    client: String,
    admit: Day,
    discharge: Option<Day>,
    /// The label columns ([`LABEL_COLUMNS`]) as the chunk's codes (0: missing).
    labels: [u32; 8],
}

/// The episode label columns (canonical positions), in the order of [`EpisodeRow::labels`].
const LABEL_COLUMNS: [usize; 8] = [
    E_TRACK, E_MODALITY, E_SITE, E_DELIVERY, E_REASON, E_AGE, E_SEX, E_RACE,
];

/// A chunk's label values, per label column: code k + 1 is `values[c][k]`, 0 is missing.
/// Labels are coded as they are scanned, so no row holds a string of its own (1,000,000
/// episodes: 8 million strings allocated, hashed when interned, and freed before this).
#[derive(Default)]
pub(crate) struct EpisodeLabels {
    ids: [FxHashMap<String, u32>; 8],
    values: [Vec<String>; 8],
}

impl EpisodeLabels {
    fn code(&mut self, c: usize, label: &str) -> u32 {
        if let Some(&k) = self.ids[c].get(label) {
            return k;
        }
        self.values[c].push(label.to_string());
        let k = self.values[c].len() as u32;
        self.ids[c].insert(label.to_string(), k);
        k
    }
}

// Canonical column positions in schema::EPISODE_COLUMNS.
const E_ID: usize = 0;
const E_CLIENT: usize = 1;
const E_SITE: usize = 2;
const E_TRACK: usize = 3;
const E_MODALITY: usize = 4;
const E_DELIVERY: usize = 5;
const E_ADMIT: usize = 6;
const E_DISCHARGE: usize = 7;
const E_REASON: usize = 8;
const E_AGE: usize = 9;
const E_SEX: usize = 10;
const E_RACE: usize = 11;

fn check_episode(
    p: &Prepared,
    rules: &CheckRules,
    coded: &mut EpisodeLabels,
    rec: &Rec,
) -> Result<Row<EpisodeRow>> {
    if !p.precheck(rec)? {
        return Ok(Row::Bad {
            reason: Reason::MalformedRow,
            column: None,
        });
    }
    for c in [E_ID, E_CLIENT, E_TRACK, E_MODALITY, E_ADMIT] {
        if rules.fields.is_missing(p.get(rec, c)) {
            return p.bad(Reason::MissingValue, c);
        }
    }
    let Some(admit) = rules.fields.date(p.get(rec, E_ADMIT)) else {
        return p.bad(Reason::BadDate, E_ADMIT);
    };
    let dis_raw = p.get(rec, E_DISCHARGE);
    let discharge = if rules.fields.is_missing(dis_raw) {
        None
    } else {
        match rules.fields.date(dis_raw) {
            Some(d) => Some(d),
            None => return p.bad(Reason::BadDate, E_DISCHARGE),
        }
    };
    // Labels, in the order of the canonical columns: `None` is a missing optional value.
    let mut labels: [Option<&str>; 12] = Default::default();
    for c in LABEL_COLUMNS {
        let v = p.get(rec, c);
        if rules.fields.is_missing(v) {
            continue;
        }
        let label = match &rules.episode_labels[c] {
            Some(map) => match map.known(v) {
                Some(l) => l,
                None => return p.bad(Reason::UnknownLabel, c),
            },
            None => v,
        };
        labels[c] = Some(label);
    }
    if discharge.is_some_and(|d| d < admit) {
        return p.bad(Reason::DischargeBeforeAdmit, E_DISCHARGE);
    }
    for &c in &rules.margin_columns {
        if labels[c].is_some_and(|l| l.eq_ignore_ascii_case(crate::table::MARGIN)) {
            return Err(p.margin_label_error(rec, c));
        }
    }
    let mut codes = [0u32; 8];
    for (k, &c) in LABEL_COLUMNS.iter().enumerate() {
        if let Some(l) = labels[c] {
            codes[k] = coded.code(k, l);
        }
    }
    Ok(Row::Ok(EpisodeRow {
        id: p.get(rec, E_ID).to_string(),
        client: p.get(rec, E_CLIENT).to_string(),
        admit,
        discharge,
        labels: codes,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AssessmentRow {
    episode: u32,
    instrument: u16,
    date: Day,
    score: f64,
}

/// Canonical assessment columns whose accepted values are typed (so free of identifier
/// shapes, see [`Prepared::guarded`]): the date, when dates are strict ISO, and the score.
fn typed_assessment_columns(rules: &CheckRules) -> Vec<usize> {
    if rules.fields.date_format.is_empty() {
        vec![2, 3]
    } else {
        vec![3]
    }
}

/// A chunk's state while its assessments are checked: the last episode looked up, and how the
/// raw instrument values met so far read (the catalog's instrument and its position in the
/// catalog's ids; a chunk has a handful of distinct values). Without the latter, every
/// assessment went through the label map, an upper-cased copy and two ordered look-ups.
#[derive(Default)]
pub(crate) struct AssessmentState<'c> {
    last: EpisodeCache,
    seen: Seen<Option<(&'c Instrument, u16)>>,
}

impl<'c> AssessmentState<'c> {
    /// The instrument `raw` (trimmed) names and its id, if the catalog has it.
    fn instrument(
        &mut self,
        raw: &str,
        rules: &CheckRules,
        catalog: &'c Catalog,
        ids: &[String],
    ) -> Option<(&'c Instrument, u16)> {
        let k = self.seen.slot(raw, || {
            catalog.get(rules.instrument.apply(raw)).map(|inst| {
                let id = ids
                    .binary_search(&inst.id)
                    .expect("catalog ids are listed in order") as u16;
                (inst, id)
            })
        });
        self.seen.values[k].1
    }
}

#[allow(clippy::too_many_arguments)]
fn check_assessment<'c>(
    p: &Prepared,
    rules: &CheckRules,
    catalog: &'c Catalog,
    ids: &[String],
    episodes: &EpisodeIndex<'_>,
    state: &mut AssessmentState<'c>,
    typed: &[usize],
    rec: &Rec,
) -> Result<Row<AssessmentRow>> {
    let later = deferred(p, typed, &state.last, 1, &state.seen, rec);
    p.guarded(rec, later, || {
        for c in 0..4 {
            if rules.fields.is_missing(p.get(rec, c)) {
                return p.bad(Reason::MissingValue, c);
            }
        }
        let Some(date) = rules.fields.date(p.get(rec, 2)) else {
            return p.bad(Reason::BadDate, 2);
        };
        let Some(score) = parse::number(p.get(rec, 3)) else {
            return p.bad(Reason::BadNumber, 3);
        };
        let Some((inst, instrument)) = state.instrument(p.get(rec, 1), rules, catalog, ids) else {
            return p.bad(Reason::UnknownInstrument, 1);
        };
        if !inst.in_range(score) {
            return p.bad(Reason::ScoreOutOfRange, 3);
        }
        let Some(episode) = state.last.get(p.get(rec, 0), episodes) else {
            return p.bad(Reason::UnknownEpisode, 0);
        };
        Ok(Row::Ok(AssessmentRow {
            episode,
            instrument,
            date,
            score,
        }))
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AttendanceRow {
    episode: u32,
    date: Day,
    service: u16,
    minutes: u16,
}

/// Service labels interned per chunk (0 = none given; ids are chunk-local until remapped).
#[derive(Default)]
pub(crate) struct LocalLabels {
    ids: FxHashMap<String, u16>,
    labels: Vec<String>,
    last: EpisodeCache,
    /// How the raw service values met so far read (a chunk has a handful of distinct ones):
    /// a missing value, a label the config does not know, or a label and its id once a row
    /// with it is accepted. Without it, every session's value went through the label map's
    /// hash look-ups and a lower-cased copy (1,000,000 episodes: 0.3 s of CPU).
    seen: Seen<Service>,
}

/// How a raw service value reads.
enum Service {
    Missing,
    Unknown,
    Label(String, Option<u16>),
}

/// The fields of a child file's record whose PHI guard [`Prepared::guarded`] may defer (file
/// positions): its `typed` ones, its episode id when it is the last one found, and its label
/// (canonical column `label`: service or instrument) when the chunk met the value before.
fn deferred<'a, T>(
    p: &Prepared,
    typed: &'a [usize],
    last: &EpisodeCache,
    label: usize,
    values: &Seen<T>,
    rec: &Rec,
) -> impl Fn(usize) -> bool + 'a {
    let id = p.map.index[0];
    let repeat = last.repeats(id, rec);
    let label = p.map.index[label];
    let known = label.is_some_and(|pos| values.has(rec.get(pos)));
    move |i| typed.contains(&i) || (repeat && Some(i) == id) || (known && Some(i) == label)
}

/// How the raw values of a label column (service, instrument) met so far in a chunk read: a
/// chunk has a handful of distinct ones, each read once. Every one of them passed the PHI
/// guard (they are remembered only by the row checks, which run after the guard, and a value
/// is exempt from the guard only when it is remembered already).
pub(crate) struct Seen<T> {
    values: Vec<(String, T)>,
}

impl<T> Default for Seen<T> {
    fn default() -> Self {
        Seen { values: Vec::new() }
    }
}

/// Distinct raw values a chunk remembers per column; past that it starts again (free-text
/// values would otherwise grow the list without bound).
const SEEN_MAX: usize = 64;

impl<T> Seen<T> {
    /// Whether `raw` was met.
    fn has(&self, raw: &str) -> bool {
        self.values.iter().any(|(r, _)| parse::same_text(r, raw))
    }

    /// Where `raw` is in `values`, read with `read` the first time.
    fn slot(&mut self, raw: &str, read: impl FnOnce() -> T) -> usize {
        if let Some(k) = self
            .values
            .iter()
            .position(|(r, _)| parse::same_text(r, raw))
        {
            return k;
        }
        if self.values.len() == SEEN_MAX {
            self.values.clear();
        }
        self.values.push((raw.to_string(), read()));
        self.values.len() - 1
    }
}

/// Episode ids (borrowed from the accepted episodes) to their index.
pub(crate) struct EpisodeIndex<'a> {
    ids: &'a [String],
    map: FxHashMap<&'a str, u32>,
}

impl<'a> EpisodeIndex<'a> {
    pub fn new(ids: &'a [String]) -> EpisodeIndex<'a> {
        let mut map = FxHashMap::with_capacity_and_hasher(ids.len(), Default::default());
        map.extend(
            ids.iter()
                .enumerate()
                .map(|(i, id)| (id.as_str(), i as u32)),
        );
        EpisodeIndex { ids, map }
    }

    /// Number of episodes.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// The index of episode `id`.
    fn get(&self, id: &str) -> Option<u32> {
        self.map.get(id).copied()
    }

    /// Whether episode `i` is `id`.
    fn is(&self, i: u32, id: &str) -> bool {
        self.ids.get(i as usize).is_some_and(|e| e == id)
    }
}

/// The last episode id looked up in a chunk: child rows usually come grouped by episode, so
/// most look-ups are answered without touching the (large) episode index; and the groups
/// usually come in the episodes' own order, so the episode after the last one is tried before
/// the index (1,000,000 episodes: the look-ups of the attendance and assessments scans took
/// 0.65 s of CPU, nearly all of it cache misses in the index, before that guess).
#[derive(Default)]
pub(crate) struct EpisodeCache {
    id: String,
    index: Option<u32>,
}

impl EpisodeCache {
    /// Whether the record's episode id (at file position `pos`) is the id of the last
    /// look-up, which found an episode: that row was accepted, so the id passed the PHI guard.
    fn repeats(&self, pos: Option<usize>, rec: &Rec) -> bool {
        pos.is_some_and(|pos| {
            self.index.is_some() && !self.id.is_empty() && parse::same_text(rec.get(pos), &self.id)
        })
    }

    /// The index of episode `id` (trimmed), if known.
    fn get(&mut self, id: &str, episodes: &EpisodeIndex<'_>) -> Option<u32> {
        if !parse::same_text(&self.id, id) || self.id.is_empty() {
            let next = self.index.map_or(0, |i| i + 1);
            self.index = if episodes.is(next, id) {
                Some(next)
            } else {
                episodes.get(id)
            };
            self.id.clear();
            self.id.push_str(id);
        }
        self.index
    }
}

impl LocalLabels {
    /// Where `raw` (trimmed) is in `seen`, read with `rules` the first time.
    fn service(&mut self, raw: &str, rules: &CheckRules) -> usize {
        self.seen.slot(raw, || {
            if rules.fields.is_missing(raw) {
                Service::Missing
            } else {
                match rules.service.known(raw) {
                    Some(l) => Service::Label(l.to_string(), None),
                    None => Service::Unknown,
                }
            }
        })
    }

    /// The id of the service at `seen[k]` (0: none given), interned on first use.
    fn service_id(&mut self, k: usize) -> u16 {
        let label = match &self.seen.values[k].1 {
            Service::Label(_, Some(id)) => return *id,
            Service::Label(l, None) => l.clone(),
            Service::Missing | Service::Unknown => return 0,
        };
        let id = self.id(&label);
        self.seen.values[k].1 = Service::Label(label, Some(id));
        id
    }

    fn id(&mut self, label: &str) -> u16 {
        // A handful of labels (group, individual, family, ...) is searched faster in order
        // than hashed.
        if self.labels.len() <= 16 {
            if let Some(k) = self.labels.iter().position(|l| l == label) {
                return k as u16 + 1;
            }
        } else if let Some(&i) = self.ids.get(label) {
            return i;
        }
        self.labels.push(label.to_string());
        let i = self.labels.len() as u16;
        self.ids.insert(label.to_string(), i);
        i
    }
}

/// Canonical attendance columns whose accepted values are typed (so free of identifier
/// shapes, see [`Prepared::guarded`]): the date, when dates are strict ISO, and the minutes.
fn typed_attendance_columns(rules: &CheckRules) -> Vec<usize> {
    if rules.fields.date_format.is_empty() {
        vec![1, 3]
    } else {
        vec![3]
    }
}

fn check_attendance(
    p: &Prepared,
    rules: &CheckRules,
    services: &mut LocalLabels,
    episodes: &EpisodeIndex<'_>,
    typed: &[usize],
    rec: &Rec,
) -> Result<Row<AttendanceRow>> {
    let later = deferred(p, typed, &services.last, 2, &services.seen, rec);
    p.guarded(rec, later, || {
        for c in [0, 1, 3] {
            if rules.fields.is_missing(p.get(rec, c)) {
                return p.bad(Reason::MissingValue, c);
            }
        }
        let Some(date) = rules.fields.date(p.get(rec, 1)) else {
            return p.bad(Reason::BadDate, 1);
        };
        let Some(x) = parse::number(p.get(rec, 3)) else {
            return p.bad(Reason::BadNumber, 3);
        };
        let label = services.service(p.get(rec, 2), rules);
        if matches!(services.seen.values[label].1, Service::Unknown) {
            return p.bad(Reason::UnknownLabel, 2);
        }
        let Some(minutes) = parse::minutes(x) else {
            return p.bad(Reason::BadMinutes, 3);
        };
        let Some(episode) = services.last.get(p.get(rec, 0), episodes) else {
            return p.bad(Reason::UnknownEpisode, 0);
        };
        let service = services.service_id(label);
        Ok(Row::Ok(AttendanceRow {
            episode,
            date,
            service,
            minutes,
        }))
    })
}

/// Episodes as scanned: ids and client ids as strings, labels as codes, filled by the chunks
/// in parallel; interned into [`Episodes`] once judged ([`EpisodeColumns::into_episodes`]).
#[derive(Default)]
pub(crate) struct EpisodeColumns {
    id: Vec<String>,
    client: Vec<String>,
    admit: Vec<Day>,
    discharge: Vec<Option<Day>>,
    /// The label columns as codes: the chunk's while scanning, then the file's
    /// ([`EpisodeColumns::recode`]): k + 1 is `values[c][k]`, 0 is missing.
    track: Vec<u32>,
    modality: Vec<u32>,
    site: Vec<u32>,
    delivery: Vec<u32>,
    discharge_reason: Vec<u32>,
    age_group: Vec<u32>,
    sex: Vec<u32>,
    race_ethnicity: Vec<u32>,
    /// The file's label values, per label column.
    values: [Vec<String>; 8],
}

columns!(EpisodeColumns, EpisodeSlots, EpisodeRow, [
    id: String, client: String, admit: Day, discharge: Option<Day>, track: u32,
    modality: u32, site: u32, delivery: u32, discharge_reason: u32, age_group: u32, sex: u32,
    race_ethnicity: u32
], |s, k, r| {
    s.id[k] = r.id;
    s.client[k] = r.client;
    s.admit[k] = r.admit;
    s.discharge[k] = r.discharge;
    let [track, modality, site, delivery, reason, age, sex, race] = r.labels;
    s.track[k] = track;
    s.modality[k] = modality;
    s.site[k] = site;
    s.delivery[k] = delivery;
    s.discharge_reason[k] = reason;
    s.age_group[k] = age;
    s.sex[k] = sex;
    s.race_ethnicity[k] = race;
});

columns!(Assessments, AssessmentSlots, AssessmentRow, [
    episode: u32, instrument: u16, date: Day, score: f64
], |s, k, r| {
    s.episode[k] = r.episode;
    s.instrument[k] = r.instrument;
    s.date[k] = r.date;
    s.score[k] = r.score;
});

columns!(Attendance, AttendanceSlots, AttendanceRow, [
    episode: u32, date: Day, service: u16, minutes: u16
], |s, k, r| {
    s.episode[k] = r.episode;
    s.date[k] = r.date;
    s.service[k] = r.service;
    s.minutes[k] = r.minutes;
});

impl EpisodeColumns {
    fn row_count(&self) -> usize {
        self.id.len()
    }

    /// The label columns, mutably, in the order of [`LABEL_COLUMNS`].
    fn label_columns(&mut self) -> [&mut Vec<u32>; 8] {
        [
            &mut self.track,
            &mut self.modality,
            &mut self.site,
            &mut self.delivery,
            &mut self.discharge_reason,
            &mut self.age_group,
            &mut self.sex,
            &mut self.race_ethnicity,
        ]
    }

    /// Turns the chunks' label codes into the file's: each column's values are those of the
    /// chunks in order, each once (`chunks`: each chunk's labels and rows).
    fn recode(&mut self, chunks: &ChunkStates<EpisodeLabels>) {
        let sizes: Vec<usize> = chunks.iter().map(|(_, rows)| rows.len()).collect();
        let mut values: [Vec<String>; 8] = Default::default();
        let columns = self.label_columns();
        columns
            .into_par_iter()
            .zip(values.par_iter_mut())
            .enumerate()
            .for_each(|(c, (column, values))| {
                let mut ids: FxHashMap<&str, u32> = FxHashMap::default();
                let remaps: Vec<Vec<u32>> = chunks
                    .iter()
                    .map(|(labels, _)| {
                        std::iter::once(0)
                            .chain(labels.values[c].iter().map(|v| {
                                *ids.entry(v.as_str()).or_insert_with(|| {
                                    values.push(v.clone());
                                    values.len() as u32
                                })
                            }))
                            .collect()
                    })
                    .collect();
                for (run, remap) in accept::split_runs(column, &sizes).into_iter().zip(&remaps) {
                    for k in run {
                        *k = remap[*k as usize];
                    }
                }
            });
        self.values = values;
    }

    /// The accepted episodes with their label columns interned: each column's values in the
    /// order of their first row, as [`Interned`] collects them.
    fn into_episodes(mut self) -> Episodes {
        fn interned<T: Clone + Eq + std::hash::Hash>(
            codes: &[u32],
            values: &[String],
            value: impl Fn(Option<&String>) -> T,
        ) -> Interned<T> {
            // Renumbered by first appearance among the kept rows.
            let mut new = vec![u32::MAX; values.len() + 1];
            let mut kept = Vec::new();
            let codes = codes
                .iter()
                .map(|&c| {
                    let slot = &mut new[c as usize];
                    if *slot == u32::MAX {
                        *slot = kept.len() as u32;
                        kept.push(value(c.checked_sub(1).map(|k| &values[k as usize])));
                    }
                    *slot
                })
                .collect();
            Interned::from_parts(codes, kept)
        }
        let values = std::mem::take(&mut self.values);
        let required = |v: Option<&String>| v.cloned().unwrap_or_default();
        let optional = |v: Option<&String>| v.cloned();
        // A pass over each column's codes (no hashing): 10 ms for 1,000,000 episodes.
        Episodes {
            track: interned(&self.track, &values[0], required),
            modality: interned(&self.modality, &values[1], required),
            site: interned(&self.site, &values[2], optional),
            delivery: interned(&self.delivery, &values[3], optional),
            discharge_reason: interned(&self.discharge_reason, &values[4], optional),
            age_group: interned(&self.age_group, &values[5], optional),
            sex: interned(&self.sex, &values[6], optional),
            race_ethnicity: interned(&self.race_ethnicity, &values[7], optional),
            id: self.id,
            client: self.client,
            admit: self.admit,
            discharge: self.discharge,
        }
    }

    /// Whether episodes `i` and `j` are equal in every canonical column.
    fn same(&self, i: usize, j: usize) -> bool {
        self.id[i] == self.id[j]
            && self.client[i] == self.client[j]
            && self.track[i] == self.track[j]
            && self.modality[i] == self.modality[j]
            && self.admit[i] == self.admit[j]
            && self.discharge[i] == self.discharge[j]
            && self.site[i] == self.site[j]
            && self.delivery[i] == self.delivery[j]
            && self.discharge_reason[i] == self.discharge_reason[j]
            && self.age_group[i] == self.age_group[j]
            && self.sex[i] == self.sex[j]
            && self.race_ethnicity[i] == self.race_ethnicity[j]
    }
}

impl Assessments {
    fn row_count(&self) -> usize {
        self.episode.len()
    }
}

impl Attendance {
    fn row_count(&self) -> usize {
        self.episode.len()
    }
}

pub(crate) fn episodes(
    p: &Prepared,
    rules: &CheckRules,
    q: &mut Vec<QuarantineRow>,
) -> Result<(Episodes, FileAccount)> {
    let t = std::time::Instant::now();
    let (mut scan, chunks): (Scan<EpisodeColumns>, _) =
        p.src.scan(EpisodeLabels::default, |coded, rec| {
            check_episode(p, rules, coded, rec)
        })?;
    scan.cols.recode(&chunks);
    drop(chunks);
    crate::diag::debug(&format!("episodes scan {:.2?}", t.elapsed()));
    let t = std::time::Instant::now();
    let e = &scan.cols;
    let verdicts = accept::duplicates(e.row_count(), |i| e.id[i].as_str(), |i, j| e.same(i, j));
    crate::diag::debug(&format!("episodes duplicates {:.2?}", t.elapsed()));
    let t = std::time::Instant::now();
    let (cols, account) = scan.settle(&p.src, &p.map.header, verdicts, p.map.index[E_ID], q);
    let episodes = cols.into_episodes();
    crate::diag::debug(&format!(
        "episodes settle and interning {:.2?}",
        t.elapsed()
    ));
    Ok((episodes, account))
}

pub(crate) fn assessments(
    p: &Prepared,
    rules: &CheckRules,
    catalog: &Catalog,
    index: &EpisodeIndex<'_>,
    q: &mut Vec<QuarantineRow>,
) -> Result<(Assessments, FileAccount)> {
    let ids: Vec<String> = catalog.iter().map(|i| i.id.clone()).collect();
    let typed = p.positions(&typed_assessment_columns(rules));
    let (mut scan, _): (Scan<Assessments>, _) =
        p.src.scan(AssessmentState::default, |state, rec| {
            check_assessment(p, rules, catalog, &ids, index, state, &typed, rec)
        })?;
    let a = &scan.cols;
    let verdicts = accept::child_duplicates(
        a.len(),
        index.len(),
        |i| a.episode[i],
        |i| (a.instrument[i], a.date[i]),
        |i, j| a.score[i] == a.score[j],
    );
    scan.cols.instruments = ids;
    Ok(scan.settle(&p.src, &p.map.header, verdicts, p.map.index[0], q))
}

pub(crate) fn attendance(
    p: &Prepared,
    rules: &CheckRules,
    index: &EpisodeIndex<'_>,
    q: &mut Vec<QuarantineRow>,
) -> Result<(Attendance, FileAccount)> {
    let t = std::time::Instant::now();
    let typed = p.positions(&typed_attendance_columns(rules));
    let (mut scan, chunks): (Scan<Attendance>, ChunkStates<LocalLabels>) =
        p.src.scan(LocalLabels::default, |labels, rec| {
            check_attendance(p, rules, labels, index, &typed, rec)
        })?;
    crate::diag::debug(&format!("attendance scan {:.2?}", t.elapsed()));
    // Global service ids: 0 = none given, then the labels in byte order, so ids (and the
    // duplicate keys built on them) never depend on how the file was chunked.
    let mut all: Vec<String> = chunks
        .iter()
        .flat_map(|(labels, _)| labels.labels.iter().cloned())
        .collect();
    all.sort_unstable();
    all.dedup();
    let sizes: Vec<usize> = chunks.iter().map(|(_, rows)| rows.len()).collect();
    accept::split_runs(&mut scan.cols.service, &sizes)
        .into_par_iter()
        .zip(&chunks)
        .for_each(|(services, (labels, _))| {
            let remap: Vec<u16> = std::iter::once(0)
                .chain(
                    labels
                        .labels
                        .iter()
                        .map(|l| all.binary_search(l).expect("collected above") as u16 + 1),
                )
                .collect();
            for s in services {
                *s = remap[*s as usize];
            }
        });
    let t = std::time::Instant::now();
    let a = &scan.cols;
    let verdicts = accept::child_duplicates(
        a.len(),
        index.len(),
        |i| a.episode[i],
        |i| (a.date[i], a.service[i]),
        |i, j| a.minutes[i] == a.minutes[j],
    );
    crate::diag::debug(&format!("attendance duplicates {:.2?}", t.elapsed()));
    scan.cols.services = std::iter::once(None)
        .chain(all.into_iter().map(Some))
        .collect();
    let t = std::time::Instant::now();
    let settled = scan.settle(&p.src, &p.map.header, verdicts, p.map.index[0], q);
    crate::diag::debug(&format!("attendance settle {:.2?}", t.elapsed()));
    Ok(settled)
}
