//! `synth`: a seeded, deterministic generator of a realistic export in the SPEC §2 format.
//!
//! Episodes are generated in chunks of [`CHUNK`]; chunk `c` draws its episodes and attendance
//! from ChaCha8 seeded with the user's seed on stream `c`, its scores on stream 2⁶¹ + `c` and
//! its bad rows on stream 2⁶² + `c`, so the bytes depend only on the seed and the episode
//! count, never on the number of threads, and the score model can change without changing a
//! clean export's episodes.csv or attendance.csv. Chunks are generated in parallel (rayon) and written in
//! order, a batch at a time: memory stays bounded whatever `--episodes` is.
//!
//! Besides the three CSV files the generator writes `synth.json`: the settings, the planted
//! effects and, per file, how many rows were written and how many of them a correct validator
//! must quarantine for each reason (the ground truth the ingest tests check against).
//! The model is in [`model`], the bad-row injection in [`dirty`].

pub mod dirty;
pub mod model;
pub mod output;

use crate::dates::{self, Day};
use crate::error::{Error, Result};
use crate::ingest::Reason;
use dirty::{Counts, FileId};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Episodes per independently seeded chunk.
pub const CHUNK: u64 = 1024;
/// The export's extraction date: nothing is dated after it; episodes not discharged by then
/// are still in care.
pub const EXTRACT_DATE: (i32, u32, u32) = (2026, 10, 15);
/// Admissions are spread uniformly over this range (inclusive).
pub const ADMIT_FROM: (i32, u32, u32) = (2024, 1, 1);
pub const ADMIT_TO: (i32, u32, u32) = (2026, 9, 30);

pub const EPISODES_HEADER: &str = "episode_id,client_id,site,track,modality,delivery,admit_date,discharge_date,discharge_reason,age_group,sex,race_ethnicity";
pub const ASSESSMENTS_HEADER: &str = "episode_id,instrument,assessed_on,score";
pub const ATTENDANCE_HEADER: &str = "episode_id,session_date,service,minutes";

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub episodes: u64,
    pub seed: u64,
    pub out: PathBuf,
    /// Share (0–1) of rows made bad, spread over every reason that applies to each file.
    pub dirty: f64,
    /// Planted site effects (`--site-effect`), at most one per site.
    pub site_effects: Vec<model::SiteEffect>,
}

/// Row accounting of one generated file.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FileTruth {
    /// Data rows written (the header excluded).
    pub rows: u64,
    /// Rows a correct validator accepts.
    pub accepted: u64,
    /// Rows a correct validator quarantines, by reason.
    pub quarantined: BTreeMap<String, u64>,
}

/// The contents of `synth.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    pub generator: String,
    pub seed: u64,
    pub episodes: u64,
    pub dirty: f64,
    pub extract_date: String,
    pub files: BTreeMap<String, FileTruth>,
    pub planted: Planted,
}

/// The planted effects, as documentation for readers of the export (the same numbers as the
/// functions of [`model`]).
#[derive(Debug, Clone, Serialize)]
pub struct Planted {
    pub model: String,
    /// Mean slope (points per week since the baseline) of each symptom instrument per
    /// modality, away from the scale ends, at sites without a planted effect.
    pub symptom_slope: BTreeMap<String, BTreeMap<String, f64>>,
    /// SD of the per-episode random slope per symptom instrument (points per week).
    pub slope_sd: BTreeMap<String, f64>,
    /// SD of the residual of every assessment after the baseline (points).
    pub residual_sd: BTreeMap<String, f64>,
    /// Range of the baseline draw (points), before the shifts.
    pub baseline_range: BTreeMap<String, [f64; 2]>,
    /// How much higher (points) the baselines of episodes that leave early are.
    pub left_early_baseline_shift: BTreeMap<String, f64>,
    /// Instruments whose scale ends are never reached in the first 120 days: a linear mixed
    /// model's slope estimates `symptom_slope` (see src/synth/model.rs).
    pub lmm_clean: Vec<String>,
    /// Probability of abstinence at follow-up (DAYS_USED) for clients using at baseline.
    pub abstinence_probability: BTreeMap<String, f64>,
    /// Share of each discharge reason.
    pub discharge_reason_share: BTreeMap<String, f64>,
    /// When assessments are taken.
    pub schedule: Schedule,
    /// Planted site effects (empty: every site is alike).
    pub site_effects: Vec<PlantedSite>,
}

/// The assessment schedule (days relative to admission or discharge).
#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    pub baseline: String,
    pub baseline_recorded: f64,
    pub mid_treatment: String,
    pub mid_treatment_probability: f64,
    pub discharge_followup: String,
    pub discharge_followup_probability: BTreeMap<String, f64>,
    pub day90_followup: String,
    pub day90_probability: f64,
}

/// One planted site effect and what it does to each symptom instrument.
#[derive(Debug, Clone, Serialize)]
pub struct PlantedSite {
    pub site: String,
    /// Multiplies the mean slope of every symptom instrument at the site.
    pub slope_factor: f64,
    /// Baseline shift in baseline SDs.
    pub severity: f64,
    /// The resulting baseline shift per symptom instrument (points).
    pub baseline_shift: BTreeMap<String, f64>,
    /// The resulting mean slope per symptom instrument and modality at the site.
    pub symptom_slope: BTreeMap<String, BTreeMap<String, f64>>,
}

/// What an export folder is, when `synth` made it: "a synthetic export made by iop-outcomes
/// synth (seed 7, 2000 episodes)", read from its `synth.json`; `None` for any other folder.
/// Reports on such an export say so (SPEC §16 O11).
pub fn synthetic_origin(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("synth.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let generator = v.get("generator")?.as_str()?;
    if !generator.starts_with("iop-outcomes") {
        return None;
    }
    Some(format!(
        "a synthetic export made by iop-outcomes synth (seed {}, {} episodes), not real clients",
        v.get("seed")?.as_u64()?,
        v.get("episodes")?.as_u64()?
    ))
}

/// A small wrapper over ChaCha8 with the few draws the model needs. Its sampling is written
/// here, not borrowed from `rand`, so the output depends only on the ChaCha8 stream.
pub struct Draw(ChaCha8Rng);

impl Draw {
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Draw(rng)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `lo..=hi`.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo + 1) as u64;
        lo + ((u64::from(self.0.next_u32()) * span) >> 32) as i64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index into `weights` (which sum to 1) chosen with those probabilities.
    pub fn weighted<T>(&mut self, items: &[(T, f64)]) -> usize {
        let u = self.unit();
        let mut acc = 0.0;
        for (i, (_, w)) in items.iter().enumerate() {
            acc += w;
            if u < acc {
                return i;
            }
        }
        items.len() - 1
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.int(0, items.len() as i64 - 1) as usize]
    }

    /// Standard normal (Box–Muller, one value per call).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Generates the export into `opts.out` and returns the ground truth (also written there).
///
/// # Errors
/// A usage error for a bad option, an I/O error naming the file that could not be written.
pub fn generate(opts: &SynthOptions) -> Result<Truth> {
    if opts.episodes == 0 {
        return Err(Error::Usage("--episodes must be at least 1".into()));
    }
    if !(0.0..=0.5).contains(&opts.dirty) || opts.dirty.is_nan() {
        return Err(Error::Usage(
            "--dirty must be a fraction between 0 and 0.5".into(),
        ));
    }
    for (i, e) in opts.site_effects.iter().enumerate() {
        // The same checks as parsing, for callers that build the effects themselves.
        let text = format!("{}={},{}", e.site, e.slope_factor, e.severity);
        model::SiteEffect::parse(&text).map_err(Error::Usage)?;
        if opts.site_effects[..i].iter().any(|o| o.site == e.site) {
            return Err(Error::Usage(format!(
                "--site-effect: {} is given more than once",
                e.site
            )));
        }
    }
    // Written into a staging folder, moved into place when complete (SPEC §16 O7).
    let staged = output::Staged::new(&opts.out, opts.episodes)?;
    let dir = staged.path().to_path_buf();
    let mut writers = [
        open(&dir, FileId::Episodes, EPISODES_HEADER)?,
        open(&dir, FileId::Assessments, ASSESSMENTS_HEADER)?,
        open(&dir, FileId::Attendance, ATTENDANCE_HEADER)?,
    ];
    let chunks = opts.episodes.div_ceil(CHUNK);
    let batch = (rayon::current_num_threads() as u64 * 4).max(4);
    let mut counts = Counts::default();
    let mut start = 0;
    while start < chunks {
        let end = (start + batch).min(chunks);
        let outs: Vec<ChunkOut> = (start..end)
            .into_par_iter()
            .map(|c| generate_chunk(opts, c))
            .collect();
        for out in outs {
            for (w, (buf, file)) in writers.iter_mut().zip(out.buffers.iter().zip(FileId::ALL)) {
                w.write_all(buf)
                    .map_err(|e| Error::io(opts.out.join(file.file_name()), e))?;
            }
            counts.add(&out.counts);
        }
        start = end;
    }
    for (w, file) in writers.iter_mut().zip(FileId::ALL) {
        w.flush()
            .and_then(|_| w.get_ref().sync_all())
            .map_err(|e| Error::io(opts.out.join(file.file_name()), e))?;
    }
    drop(writers);
    let truth = truth(opts, &counts);
    let mut json = serde_json::to_vec_pretty(&truth).expect("truth serialises");
    json.push(b'\n');
    std::fs::write(dir.join("synth.json"), json)
        .map_err(|e| Error::io(opts.out.join("synth.json"), e))?;
    staged.finish()?;
    Ok(truth)
}

fn open(dir: &Path, file: FileId, header: &str) -> Result<BufWriter<File>> {
    let path = dir.join(file.file_name());
    let f = File::create(&path).map_err(|e| Error::io(&path, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    writeln!(w, "{header}").map_err(|e| Error::io(&path, e))?;
    Ok(w)
}

fn truth(opts: &SynthOptions, counts: &Counts) -> Truth {
    let mut files = BTreeMap::new();
    for file in FileId::ALL {
        let f = file as usize;
        let quarantined: BTreeMap<String, u64> = Reason::ALL
            .iter()
            .filter(|r| counts.reasons[f][**r as usize] > 0)
            .map(|r| (r.as_str().to_string(), counts.reasons[f][*r as usize]))
            .collect();
        let bad: u64 = quarantined.values().sum();
        files.insert(
            file.file_name().to_string(),
            FileTruth {
                rows: counts.rows[f],
                accepted: counts.rows[f] - bad,
                quarantined,
            },
        );
    }
    Truth {
        generator: format!("iop-outcomes {} synth", env!("CARGO_PKG_VERSION")),
        seed: opts.seed,
        episodes: opts.episodes,
        dirty: opts.dirty,
        extract_date: dates::iso(ymd(EXTRACT_DATE)),
        files,
        planted: planted(&opts.site_effects),
    }
}

/// The planted section of synth.json.
fn planted(effects: &[model::SiteEffect]) -> Planted {
    let symptoms: Vec<&model::ScoreModel> = model::SCORE_MODELS
        .iter()
        .filter(|m| !m.days_of_use)
        .collect();
    let per_symptom = |f: &dyn Fn(&model::ScoreModel) -> f64| -> BTreeMap<String, f64> {
        symptoms.iter().map(|m| (m.id.to_string(), f(m))).collect()
    };
    let slopes = |factor: f64| -> BTreeMap<String, BTreeMap<String, f64>> {
        symptoms
            .iter()
            .map(|m| {
                let per = model::MODALITY_EFFECTS
                    .iter()
                    .filter_map(|&(name, _, _)| {
                        Some((name.to_string(), model::site_slope(m.id, name, factor)?))
                    })
                    .collect();
                (m.id.to_string(), per)
            })
            .collect()
    };
    let followup_probability = model::REASONS
        .iter()
        .map(|&(r, _)| (r.to_string(), model::followup_probability(r)))
        .collect();
    Planted {
        model:
            "symptom score d days after the baseline B (day d0): clamp(floor(B + b * (d - d0) / 7 \
                + residual_sd * Z + U(0,1)), scale range), b = slope_factor * symptom_slope \
                + slope_sd * W per episode; see src/synth/model.rs and data/README.md"
                .into(),
        symptom_slope: slopes(1.0),
        slope_sd: per_symptom(&|m| m.slope_sd * m.step),
        residual_sd: per_symptom(&|m| m.sigma * m.step),
        baseline_range: symptoms
            .iter()
            .map(|m| {
                let range = [m.base_lo as f64 * m.step, m.base_hi as f64 * m.step];
                (m.id.to_string(), range)
            })
            .collect(),
        left_early_baseline_shift: per_symptom(&|m| m.left_early_shift as f64 * m.step),
        lmm_clean: symptoms
            .iter()
            .filter(|m| m.lmm_clean)
            .map(|m| m.id.to_string())
            .collect(),
        abstinence_probability: model::MODALITY_EFFECTS
            .iter()
            .map(|&(name, _, p)| (name.to_string(), p))
            .collect(),
        discharge_reason_share: model::REASONS
            .iter()
            .map(|&(r, p)| (r.to_string(), p))
            .collect(),
        schedule: Schedule {
            baseline: "admission -7 ... +3 days".into(),
            baseline_recorded: model::BASELINE_RECORDED,
            mid_treatment: format!(
                "admission + {0}k + 1 ... 3 days (k = 1, 2, ...) while in care, until {1} days \
                 before discharge; not DAYS_USED",
                model::MID_EVERY_DAYS,
                model::MID_STOP_BEFORE_DISCHARGE
            ),
            mid_treatment_probability: model::MID_PROBABILITY,
            discharge_followup: "discharge -5 ... +3 days".into(),
            discharge_followup_probability: followup_probability,
            day90_followup: "admission + 90 -10 ... +10 days".into(),
            day90_probability: model::DAY90_PROBABILITY,
        },
        site_effects: effects
            .iter()
            .map(|e| PlantedSite {
                site: e.site.clone(),
                slope_factor: e.slope_factor,
                severity: e.severity,
                baseline_shift: per_symptom(&|m| {
                    model::severity_shift_units(m, e.severity) as f64 * m.step
                }),
                symptom_slope: slopes(e.slope_factor),
            })
            .collect(),
    }
}

pub(crate) fn ymd((y, m, d): (i32, u32, u32)) -> Day {
    dates::days_from_civil(y, m, d)
}

/// The three buffers and the accounting of one chunk.
struct ChunkOut {
    buffers: [Vec<u8>; 3],
    counts: Counts,
}

/// One generated episode, before it is written.
pub(crate) struct Episode {
    pub id: String,
    pub client: String,
    pub site: &'static str,
    pub track: &'static str,
    pub modality: &'static str,
    pub delivery: &'static str,
    pub admit: Day,
    pub discharge: Option<Day>,
    pub reason: Option<&'static str>,
    pub age: &'static str,
    pub sex: &'static str,
    pub race: &'static str,
}

use model::{REASONS, SITES};
const DELIVERY: &[(&str, f64)] = &[("in_person", 0.55), ("telehealth", 0.30), ("hybrid", 0.15)];
const ADULT_AGES: &[(&str, f64)] = &[
    ("18-25", 0.22),
    ("26-34", 0.27),
    ("35-44", 0.22),
    ("45-54", 0.15),
    ("55-64", 0.10),
    ("65+", 0.04),
];
const SEXES: &[(&str, f64)] = &[("female", 0.52), ("male", 0.46), ("other", 0.02)];
const RACES: &[(&str, f64)] = &[
    ("white", 0.58),
    ("black", 0.13),
    ("hispanic", 0.17),
    ("asian", 0.05),
    ("aian", 0.02),
    ("nhpi", 0.01),
    ("multiracial", 0.02),
    ("unknown", 0.02),
];
fn generate_chunk(opts: &SynthOptions, chunk: u64) -> ChunkOut {
    let mut d = Draw::new(opts.seed, chunk);
    let first = chunk * CHUNK;
    let last = (first + CHUNK).min(opts.episodes);
    let mut out = ChunkOut {
        buffers: [
            Vec::with_capacity(128 * CHUNK as usize),
            Vec::with_capacity(300 * CHUNK as usize),
            Vec::with_capacity(1400 * CHUNK as usize),
        ],
        counts: Counts::default(),
    };
    // Scores draw from their own stream, so episodes.csv and attendance.csv do not depend on
    // the assessment model.
    let mut scores = Draw::new(opts.seed, SCORE_STREAM + chunk);
    let mut inj = dirty::Injector::new(opts.dirty, opts.seed, chunk);
    let [ep_buf, as_buf, at_buf] = &mut out.buffers;
    let mut rows = Vec::with_capacity(16);
    for idx in first..last {
        let ep = episode(&mut d, idx);
        let parent_ok = inj.episode(&ep, ep_buf, &mut out.counts);
        let effect = model::site_effect(&opts.site_effects, ep.site);
        assessments(&mut scores, &ep, effect, &mut rows);
        for &(instrument, date, score) in &rows {
            inj.assessment(
                &ep.id,
                instrument,
                date,
                score,
                parent_ok,
                as_buf,
                &mut out.counts,
            );
        }
        attendance(&mut d, &ep, |date, service, minutes| {
            inj.attendance(
                &ep.id,
                date,
                service,
                minutes,
                parent_ok,
                at_buf,
                &mut out.counts,
            )
        });
    }
    out
}

fn episode(d: &mut Draw, idx: u64) -> Episode {
    let n = idx + 1;
    let client_n = if n > 1 && d.chance(0.08) { n - 1 } else { n };
    let track = model::TRACKS[d.weighted(model::TRACKS)].0;
    let modality = *d.pick(model::modalities_for(track));
    let admit = d.int(ymd(ADMIT_FROM) as i64, ymd(ADMIT_TO) as i64) as Day;
    let planned = d.int(14, 84);
    let reason = REASONS[d.weighted(REASONS)].0;
    let stay = match reason {
        "completed" => planned,
        "left_early" => 5 + ((planned - 5) as f64 * (0.2 + 0.5 * d.unit())) as i64,
        _ => 7 + ((planned - 7) as f64 * (0.4 + 0.6 * d.unit())) as i64,
    } as Day;
    let extract = ymd(EXTRACT_DATE);
    let (discharge, reason) = if admit + stay <= extract {
        (Some(admit + stay), Some(reason))
    } else {
        (None, None)
    };
    let age = if track == "adolescent" {
        "13-17"
    } else {
        ADULT_AGES[d.weighted(ADULT_AGES)].0
    };
    Episode {
        id: format!("E{n:07}"),
        client: format!("C{client_n:07}"),
        site: SITES[d.int(0, SITES.len() as i64 - 1) as usize],
        track,
        modality,
        delivery: DELIVERY[d.weighted(DELIVERY)].0,
        admit,
        discharge,
        reason,
        age,
        sex: SEXES[d.weighted(SEXES)].0,
        race: RACES[d.weighted(RACES)].0,
    }
}

/// The assessments of one episode, (instrument, date, score in scale units), into `rows`
/// (model: src/synth/model.rs).
fn assessments(
    d: &mut Draw,
    ep: &Episode,
    effect: Option<&model::SiteEffect>,
    rows: &mut Vec<(&'static str, Day, i64)>,
) {
    rows.clear();
    let extract = ymd(EXTRACT_DATE);
    let left_early = ep.reason == Some("left_early");
    let (factor, severity) = effect.map_or((1.0, 0.0), |e| (e.slope_factor, e.severity));
    let modality = model::modality_effect(ep.modality).0;
    // Mid-treatment assessments while in care: until shortly before discharge, or up to the
    // extraction date for an episode still in care.
    let mid_last = match ep.discharge {
        Some(dis) => dis - model::MID_STOP_BEFORE_DISCHARGE as Day,
        None => extract,
    };
    let mut taken: Vec<Day> = Vec::with_capacity(8);
    for &(id, p) in model::instruments_for(ep.track) {
        if !d.chance(p) {
            continue;
        }
        taken.clear();
        let m = model::score_model(id);
        let baseline = baseline_units(d, m, left_early, severity);
        let base_day = ep.admit + d.int(-7, 3) as Day;
        if d.chance(model::BASELINE_RECORDED) {
            taken.push(base_day);
            rows.push((id, base_day, baseline));
        }
        // The episode's trajectory: baseline, day and slope (units a week); none for days of use.
        let traj = (!m.days_of_use).then(|| Trajectory {
            baseline,
            day: base_day,
            slope: m.slope * modality * factor + m.slope_sd * d.normal(),
        });
        if let Some(t) = &traj {
            let mut due = ep.admit + model::MID_EVERY_DAYS as Day;
            while due < mid_last {
                let date = due + d.int(1, 3) as Day;
                if date <= mid_last && d.chance(model::MID_PROBABILITY) {
                    taken.push(date);
                    rows.push((id, date, t.score(d, m, date)));
                }
                due += model::MID_EVERY_DAYS as Day;
            }
        }
        let mut later = |d: &mut Draw, date: Day, taken: &mut Vec<Day>| {
            let score = match &traj {
                Some(t) => t.score(d, m, date),
                None => days_followup(d, m, ep.modality, baseline),
            };
            if date <= extract && !taken.contains(&date) {
                taken.push(date);
                rows.push((id, date, score));
            }
        };
        if let (Some(dis), Some(reason)) = (ep.discharge, ep.reason) {
            if d.chance(model::followup_probability(reason)) {
                let date = dis + d.int(-5, 3) as Day;
                later(d, date, &mut taken);
            }
        }
        if d.chance(model::DAY90_PROBABILITY) {
            let date = ep.admit + 90 + d.int(-10, 10) as Day;
            later(d, date, &mut taken);
        }
    }
}

/// Stream offset separating the score draws from the episodes' and attendance's.
const SCORE_STREAM: u64 = 1 << 61;

/// One episode × instrument's planted trajectory (units).
struct Trajectory {
    baseline: i64,
    day: Day,
    slope: f64,
}

impl Trajectory {
    /// The score of an assessment on `date`: clamp(⌊B + b·Δ + σ·Z + V⌋), Δ in weeks.
    fn score(&self, d: &mut Draw, m: &model::ScoreModel, date: Day) -> i64 {
        let weeks = f64::from(date - self.day) / 7.0;
        let x = self.baseline as f64 + self.slope * weeks + m.sigma * d.normal();
        ((x + d.unit()).floor() as i64).clamp(m.min, m.max)
    }
}

fn baseline_units(d: &mut Draw, m: &model::ScoreModel, left_early: bool, severity: f64) -> i64 {
    if m.days_of_use && d.chance(model::BASELINE_ABSTINENT) {
        return 0;
    }
    let span = m.base_hi - m.base_lo;
    let shift = if left_early { m.left_early_shift } else { 0 };
    let b = m.base_lo + shift + d.int(0, span / 2) + d.int(0, span - span / 2);
    (b + model::severity_shift_units(m, severity)).clamp(m.min, m.max)
}

/// A days-of-use follow-up: abstinent with the planted probability, else the latent draw.
fn days_followup(d: &mut Draw, m: &model::ScoreModel, modality: &str, baseline: i64) -> i64 {
    let p = if baseline == 0 {
        model::STAY_ABSTINENT
    } else {
        model::modality_effect(modality).1
    };
    if d.chance(p) {
        return 0;
    }
    let (mu, sd) = model::days_latent(baseline);
    let x = mu + sd * d.normal();
    ((x + d.unit()).floor() as i64).clamp(m.min, m.max)
}

/// Calls `emit(date, service, minutes)` for each scheduled session of the episode.
fn attendance(d: &mut Draw, ep: &Episode, mut emit: impl FnMut(Day, &'static str, i64)) {
    let end = ep.discharge.unwrap_or(ymd(EXTRACT_DATE));
    let days_a_week = d.int(3, 5);
    let minutes = 30 * d.int(4, 8);
    let no_show = if ep.reason == Some("left_early") {
        0.15 + 0.25 * d.unit()
    } else {
        0.03 + 0.15 * d.unit()
    };
    let family = ep.track == "adolescent" || ep.modality == "family";
    for day in ep.admit..=end {
        // 1970-01-01 was a Thursday: weekday 0 = Monday.
        let weekday = (day + 3).rem_euclid(7);
        let scheduled = match days_a_week {
            3 => matches!(weekday, 0 | 2 | 4),
            4 => matches!(weekday, 0 | 1 | 3 | 4),
            _ => weekday < 5,
        };
        if !scheduled {
            continue;
        }
        let attended = |d: &mut Draw, m: i64| if d.chance(no_show) { 0 } else { m };
        emit(day, "group", attended(d, minutes));
        if weekday == 0 {
            emit(day, "individual", attended(d, 50));
            if (day - ep.admit) % 28 < 7 {
                emit(day, "psychiatry", attended(d, 30));
            }
        }
        if family && weekday == 3 {
            emit(day, "family", attended(d, 60));
        }
    }
}
