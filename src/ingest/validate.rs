//! Row checks of SPEC §3 / §10 V1–V8, duplicate resolution, and assembly of the accepted data.
//!
//! Each file is scanned in parallel ([`Source::scan`]); every record gets exactly one outcome:
//! accepted, or quarantined with the first failing check in V1 order. Duplicates are judged
//! afterwards among the records that passed every row-level check (and, for child files, the
//! episode look-up), by sorting record indices on the key: deterministic and parallel.

use super::parse::{self, FieldRules, LabelMap};
use super::phi;
use super::read::{Rec, Row, Scanned, Source};
use super::schema::{self, ColumnMap};
use super::{Assessments, Attendance, Episodes, FileAccount, QuarantineRow, Reason};
use crate::config::Config;
use crate::dates::Day;
use crate::error::{Error, Result};
use crate::instruments::Catalog;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// Everything a file's checks need from the config.
pub(crate) struct Rules {
    pub fields: FieldRules,
    pub track: LabelMap,
    pub modality: LabelMap,
    pub delivery: LabelMap,
    pub reason: LabelMap,
    pub instrument: LabelMap,
    pub service: LabelMap,
    pub allow: Vec<String>,
}

impl Rules {
    pub fn new(cfg: &Config) -> Rules {
        Rules {
            fields: FieldRules {
                date_format: cfg.input.date_format.clone(),
                missing: cfg
                    .input
                    .missing_values
                    .iter()
                    .map(|s| s.trim().to_string())
                    .collect(),
            },
            track: LabelMap::new(&cfg.labels.track),
            modality: LabelMap::new(&cfg.labels.modality),
            delivery: LabelMap::new(&cfg.labels.delivery),
            reason: LabelMap::new(&cfg.labels.discharge_reason),
            instrument: LabelMap::new(&cfg.labels.instrument),
            service: LabelMap::new(&cfg.labels.service),
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
        canonical: &'static [&'static str],
        required: &[&str],
        rename: &BTreeMap<String, String>,
        rules: &Rules,
    ) -> Result<Prepared> {
        let map = ColumnMap::resolve(&src.name, src.header.clone(), canonical, required, rename)?;
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

    /// The record's value of canonical column `c` ("" when the file lacks the column).
    fn get<'r>(&self, rec: &'r Rec, c: usize) -> &'r str {
        match self.map.index[c] {
            Some(p) => rec.get(p),
            None => "",
        }
    }

    /// Structure and PHI checks every record gets first. `Ok(false)`: malformed row.
    fn precheck(&self, rec: &Rec) -> Result<bool> {
        for i in 0..rec.fields.len() {
            if self.scan_phi.get(i).copied().unwrap_or(true) {
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
        Ok(rec.fields.len() == self.map.header.len())
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
    track: String,
    modality: String,
    admit: Day,
    discharge: Option<Day>,
    /// site, delivery, discharge_reason, age_group, sex, race_ethnicity.
    opt: [Option<String>; 6],
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

fn check_episode(p: &Prepared, rules: &Rules, rec: &Rec) -> Result<Row<EpisodeRow>> {
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
    if discharge.is_some_and(|d| d < admit) {
        return p.bad(Reason::DischargeBeforeAdmit, E_DISCHARGE);
    }
    let opt_text = |c: usize, map: Option<&LabelMap>| {
        let v = p.get(rec, c);
        if rules.fields.is_missing(v) {
            None
        } else {
            Some(map.map_or(v.trim(), |m| m.apply(v)).to_string())
        }
    };
    Ok(Row::Ok(EpisodeRow {
        id: p.get(rec, E_ID).trim().to_string(),
        client: p.get(rec, E_CLIENT).trim().to_string(),
        track: rules.track.apply(p.get(rec, E_TRACK)).to_string(),
        modality: rules.modality.apply(p.get(rec, E_MODALITY)).to_string(),
        admit,
        discharge,
        opt: [
            opt_text(E_SITE, None),
            opt_text(E_DELIVERY, Some(&rules.delivery)),
            opt_text(E_REASON, Some(&rules.reason)),
            opt_text(E_AGE, None),
            opt_text(E_SEX, None),
            opt_text(E_RACE, None),
        ],
    }))
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AssessmentRow {
    episode: u32,
    instrument: u16,
    date: Day,
    score: f64,
}

fn check_assessment(
    p: &Prepared,
    rules: &Rules,
    catalog: &Catalog,
    ids: &[String],
    episodes: &FxHashMap<String, u32>,
    cache: &mut EpisodeCache,
    rec: &Rec,
) -> Result<Row<AssessmentRow>> {
    if !p.precheck(rec)? {
        return Ok(Row::Bad {
            reason: Reason::MalformedRow,
            column: None,
        });
    }
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
    let Some(inst) = catalog.get(rules.instrument.apply(p.get(rec, 1))) else {
        return p.bad(Reason::UnknownInstrument, 1);
    };
    if !inst.in_range(score) {
        return p.bad(Reason::ScoreOutOfRange, 3);
    }
    let Some(episode) = cache.get(p.get(rec, 0), episodes) else {
        return p.bad(Reason::UnknownEpisode, 0);
    };
    let instrument = ids
        .binary_search(&inst.id)
        .expect("catalog ids are listed in order") as u16;
    Ok(Row::Ok(AssessmentRow {
        episode,
        instrument,
        date,
        score,
    }))
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
}

/// The last episode id looked up in a chunk: child rows usually come grouped by episode, so
/// most look-ups are answered without touching the (large) episode index.
#[derive(Default)]
pub(crate) struct EpisodeCache {
    id: String,
    index: Option<u32>,
}

impl EpisodeCache {
    fn get(&mut self, raw: &str, episodes: &FxHashMap<String, u32>) -> Option<u32> {
        let id = super::parse::trim(raw);
        if self.id != id || self.id.is_empty() {
            self.id.clear();
            self.id.push_str(id);
            self.index = episodes.get(id).copied();
        }
        self.index
    }
}

impl LocalLabels {
    fn id(&mut self, label: &str) -> u16 {
        if let Some(&i) = self.ids.get(label) {
            return i;
        }
        self.labels.push(label.to_string());
        let i = self.labels.len() as u16;
        self.ids.insert(label.to_string(), i);
        i
    }
}

fn check_attendance(
    p: &Prepared,
    rules: &Rules,
    services: &mut LocalLabels,
    episodes: &FxHashMap<String, u32>,
    rec: &Rec,
) -> Result<Row<AttendanceRow>> {
    if !p.precheck(rec)? {
        return Ok(Row::Bad {
            reason: Reason::MalformedRow,
            column: None,
        });
    }
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
    let Some(minutes) = parse::minutes(x) else {
        return p.bad(Reason::BadMinutes, 3);
    };
    let Some(episode) = services.last.get(p.get(rec, 0), episodes) else {
        return p.bad(Reason::UnknownEpisode, 0);
    };
    let s = p.get(rec, 2);
    let service = if rules.fields.is_missing(s) {
        0
    } else {
        services.id(rules.service.apply(s))
    };
    Ok(Row::Ok(AttendanceRow {
        episode,
        date,
        service,
        minutes,
    }))
}

/// Marks duplicates among accepted rows (SPEC §10 V7): rows sharing a key are all kept as one
/// when equal (the first in file order stays, the rest are `duplicate`), or all quarantined as
/// `conflicting_duplicate` when any differs.
fn resolve_duplicates<T, K>(
    rows: &mut [Scanned<T>],
    key_col: Option<usize>,
    key: impl Fn(&T) -> K + Sync,
) where
    T: PartialEq + Send + Sync,
    K: Ord + Send,
{
    let mut keyed: Vec<(K, usize)> = rows
        .par_iter()
        .enumerate()
        .filter_map(|(i, s)| match &s.row {
            Row::Ok(t) => Some((key(t), i)),
            Row::Bad { .. } => None,
        })
        .collect();
    keyed.par_sort_unstable();
    let mut verdicts = Vec::new();
    judge(&keyed, rows, &mut verdicts);
    apply(rows, verdicts, key_col);
}

/// The same for rows of child files, whose key starts with the episode: rows are bucketed by
/// episode with a counting sort and each episode's few rows sorted on the rest of the key, so
/// the work is linear and parallel across episodes.
fn resolve_child_duplicates<T, K>(
    rows: &mut [Scanned<T>],
    key_col: Option<usize>,
    n_episodes: usize,
    key: impl Fn(&T) -> (u32, K) + Sync,
) where
    T: PartialEq + Send + Sync,
    K: Ord + Send,
{
    let mut starts = vec![0usize; n_episodes + 1];
    for s in rows.iter() {
        if let Row::Ok(t) = &s.row {
            starts[key(t).0 as usize + 1] += 1;
        }
    }
    for e in 0..n_episodes {
        starts[e + 1] += starts[e];
    }
    let mut next = starts.clone();
    let mut order = vec![0usize; starts[n_episodes]];
    for (i, s) in rows.iter().enumerate() {
        if let Row::Ok(t) = &s.row {
            let e = key(t).0 as usize;
            order[next[e]] = i;
            next[e] += 1;
        }
    }
    let rows_ro: &[Scanned<T>] = rows;
    let verdicts: Vec<(usize, Reason)> = (0..n_episodes)
        .into_par_iter()
        .with_min_len(4096)
        .fold(
            || (Vec::new(), Vec::new()),
            |(mut out, mut keyed): (Verdicts, Vec<(K, usize)>), e| {
                let seg = &order[starts[e]..starts[e + 1]];
                if seg.len() > 1 {
                    keyed.clear();
                    keyed.extend(seg.iter().map(|&i| match &rows_ro[i].row {
                        Row::Ok(t) => (key(t).1, i),
                        Row::Bad { .. } => unreachable!("only accepted rows are bucketed"),
                    }));
                    keyed.sort_unstable();
                    judge(&keyed, rows_ro, &mut out);
                }
                (out, keyed)
            },
        )
        .map(|(out, _)| out)
        .reduce(Vec::new, |mut a, b| {
            a.extend(b);
            a
        });
    apply(rows, verdicts, key_col);
}

/// Quarantine verdicts: (row index, reason).
type Verdicts = Vec<(usize, Reason)>;

/// Verdicts for a key-sorted list of (key, row index).
fn judge<T: PartialEq, K: Ord>(
    keyed: &[(K, usize)],
    rows: &[Scanned<T>],
    out: &mut Vec<(usize, Reason)>,
) {
    let mut g = 0;
    while g < keyed.len() {
        let mut h = g + 1;
        while h < keyed.len() && keyed[h].0 == keyed[g].0 {
            h += 1;
        }
        if h - g > 1 {
            let first = keyed[g].1;
            let all_equal =
                keyed[g + 1..h]
                    .iter()
                    .all(|(_, i)| match (&rows[*i].row, &rows[first].row) {
                        (Row::Ok(a), Row::Ok(b)) => a == b,
                        _ => false,
                    });
            if all_equal {
                out.extend(keyed[g + 1..h].iter().map(|(_, i)| (*i, Reason::Duplicate)));
            } else {
                out.extend(
                    keyed[g..h]
                        .iter()
                        .map(|(_, i)| (*i, Reason::ConflictingDuplicate)),
                );
            }
        }
        g = h;
    }
}

fn apply<T>(rows: &mut [Scanned<T>], verdicts: Vec<(usize, Reason)>, key_col: Option<usize>) {
    for (i, reason) in verdicts {
        rows[i].row = Row::Bad {
            reason,
            column: key_col,
        };
    }
}

/// Splits scanned rows into accepted values and quarantine rows, counting both.
fn settle<T>(
    p: &Prepared,
    rows: Vec<Scanned<T>>,
    quarantine: &mut Vec<QuarantineRow>,
) -> (Vec<T>, FileAccount) {
    let mut account = FileAccount::new(&p.src.name, true);
    let mut ok = Vec::with_capacity(rows.len());
    for s in rows {
        account.rows_read += 1;
        match s.row {
            Row::Ok(t) => ok.push(t),
            Row::Bad { reason, column } => {
                *account
                    .quarantined
                    .entry(reason.as_str().to_string())
                    .or_insert(0) += 1;
                quarantine.push(QuarantineRow {
                    file: p.src.name.clone(),
                    line: s.line,
                    column: column.map(|c| p.map.header[c].clone()).unwrap_or_default(),
                    reason,
                    raw: p.src.raw(&s.span).to_string(),
                });
            }
        }
    }
    account.accepted = ok.len() as u64;
    (ok, account)
}

pub(crate) fn episodes(
    p: &Prepared,
    rules: &Rules,
    q: &mut Vec<QuarantineRow>,
) -> Result<(Episodes, FileAccount)> {
    let t = std::time::Instant::now();
    let mut rows = p.src.scan(|rec| check_episode(p, rules, rec))?;
    crate::diag::debug(&format!("episodes scan {:.2?}", t.elapsed()));
    let t = std::time::Instant::now();
    resolve_duplicates(&mut rows, p.map.index[E_ID], |e: &EpisodeRow| e.id.clone());
    crate::diag::debug(&format!("episodes duplicates {:.2?}", t.elapsed()));
    let (ok, account) = settle(p, rows, q);
    let mut e = Episodes::default();
    for r in ok {
        e.id.push(r.id);
        e.client.push(r.client);
        e.track.push(r.track);
        e.modality.push(r.modality);
        e.admit.push(r.admit);
        e.discharge.push(r.discharge);
        let [site, delivery, reason, age, sex, race] = r.opt;
        e.site.push(site);
        e.delivery.push(delivery);
        e.discharge_reason.push(reason);
        e.age_group.push(age);
        e.sex.push(sex);
        e.race_ethnicity.push(race);
    }
    Ok((e, account))
}

pub(crate) fn assessments(
    p: &Prepared,
    rules: &Rules,
    catalog: &Catalog,
    index: &FxHashMap<String, u32>,
    q: &mut Vec<QuarantineRow>,
) -> Result<(Assessments, FileAccount)> {
    let ids: Vec<String> = catalog.iter().map(|i| i.id.clone()).collect();
    let parts = p.src.scan_with(EpisodeCache::default, |cache, rec| {
        check_assessment(p, rules, catalog, &ids, index, cache, rec)
    })?;
    let mut rows: Vec<Scanned<AssessmentRow>> =
        parts.into_iter().flat_map(|(rows, _)| rows).collect();
    resolve_child_duplicates(
        &mut rows,
        p.map.index[0],
        index.len(),
        |a: &AssessmentRow| (a.episode, (a.instrument, a.date)),
    );
    let (ok, account) = settle(p, rows, q);
    let mut a = Assessments {
        instruments: ids,
        ..Default::default()
    };
    for r in ok {
        a.episode.push(r.episode);
        a.instrument.push(r.instrument);
        a.date.push(r.date);
        a.score.push(r.score);
    }
    Ok((a, account))
}

pub(crate) fn attendance(
    p: &Prepared,
    rules: &Rules,
    index: &FxHashMap<String, u32>,
    q: &mut Vec<QuarantineRow>,
) -> Result<(Attendance, FileAccount)> {
    let t = std::time::Instant::now();
    let parts = p.src.scan_with(LocalLabels::default, |labels, rec| {
        check_attendance(p, rules, labels, index, rec)
    })?;
    crate::diag::debug(&format!("attendance scan {:.2?}", t.elapsed()));
    // Global service ids: 0 = none given, then the labels in byte order, so ids (and the
    // duplicate keys built on them) never depend on how the file was chunked.
    let mut all: Vec<String> = parts
        .iter()
        .flat_map(|(_, l)| l.labels.iter().cloned())
        .collect();
    all.sort_unstable();
    all.dedup();
    let mut rows = Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum());
    for (chunk, local) in parts {
        let remap: Vec<u16> = std::iter::once(0)
            .chain(
                local
                    .labels
                    .iter()
                    .map(|l| all.binary_search(l).expect("collected above") as u16 + 1),
            )
            .collect();
        for mut s in chunk {
            if let Row::Ok(r) = &mut s.row {
                r.service = remap[r.service as usize];
            }
            rows.push(s);
        }
    }
    let t = std::time::Instant::now();
    resolve_child_duplicates(
        &mut rows,
        p.map.index[0],
        index.len(),
        |a: &AttendanceRow| (a.episode, (a.date, a.service)),
    );
    crate::diag::debug(&format!("attendance duplicates {:.2?}", t.elapsed()));
    let (ok, account) = settle(p, rows, q);
    let mut a = Attendance {
        services: std::iter::once(None)
            .chain(all.into_iter().map(Some))
            .collect(),
        ..Default::default()
    };
    for r in ok {
        a.episode.push(r.episode);
        a.date.push(r.date);
        a.service.push(r.service);
        a.minutes.push(r.minutes);
    }
    Ok((a, account))
}

/// The canonical column lists, re-exported for the config checks.
pub(crate) use schema::{ATTENDANCE_REQUIRED, EPISODE_REQUIRED};
