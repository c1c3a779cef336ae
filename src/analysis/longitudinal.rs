//! longitudinal.csv (SPEC §12): the linear mixed model over every assessment, so that episodes
//! without a follow-up still count (valid when dropout is missing at random given the observed
//! scores).
//!
//! The data (L1): the accepted assessments of the period's cohort episodes dated from
//! admission + b0 (the baseline window's start) to admission + `[longitudinal] max_days`, with
//! t = (assessed_on − admit_date) / 7 weeks. One pass over the assessments (a counting sort by
//! episode) reduces them to one [`GroupStats`] per episode × instrument, twice: with the
//! episode's modality as its arm (the per-modality model) and with arm 0 (the `All` margin).
//! Each instrument holds its groups in (track, episode) order, so a track's groups are one
//! slice and all tracks pooled are the whole vector; no model reads an assessment again.
//!
//! The models (L2): per instrument × track (each real track, and `All` pooled),
//! `lmer(score ~ 0 + modality + modality:t + (1 + t | episode_id), REML = TRUE)` and the margin
//! `lmer(score ~ 1 + t + (1 + t | episode_id), REML = TRUE)` by [`lmm::fit`], the random part
//! chosen once per group ([`lmm::random_part_for`]: `(1 | episode_id)` when n_assessments ≤
//! 2·n_episodes). Models are fitted in parallel (rayon; results collected in order, and
//! `lmm::fit` is bit-identical whatever the thread count). Rows sort byte-wise on (instrument,
//! track, modality), `All` among the labels as in outcomes.csv.
//!
//! Besides the table, for the page: the observed mean score per whole week since admission
//! per instrument × modality pooled over tracks (the trajectory charts' points), and the
//! completers' mean time from baseline to follow-up per instrument (the like-for-like
//! comparison of the completers' mean change with the model's).

use super::cells::{RunKeys, ALL};
use super::suppress::small;
use crate::cohort::Cohort;
use crate::config::LongitudinalConfig;
use crate::diag::timed;
use crate::ingest::{Assessments, Episodes};
use crate::stats::lmm::{self, GroupStats, LmmFit, RandomPart, Status};
use crate::table::spec::{count, flag, number, text};
use crate::table::{Access, Cell, Column, Format, Kind, TableSpec};
use rayon::prelude::*;
use std::ops::Range;
use std::sync::Arc;

/// One row of longitudinal.csv (SPEC L5): a modality of a model, or its `All` margin.
#[derive(Debug, Clone, PartialEq)]
pub struct LongitudinalRow {
    pub instrument: String,
    pub track: String,
    pub modality: String,
    pub status: Status,
    pub n_episodes: Option<u64>,
    pub n_assessments: Option<u64>,
    /// Episodes in the model without a paired follow-up under the run's follow-up point.
    pub n_without_followup: Option<u64>,
    /// Episodes in the model with one (not written: n_episodes − n_without_followup, and
    /// outcomes.csv's n_paired of the same cell).
    pub n_followed: Option<u64>,
    /// Points per week.
    pub slope: Option<f64>,
    pub slope_se: Option<f64>,
    /// Satterthwaite degrees of freedom.
    pub df: Option<f64>,
    pub t: Option<f64>,
    pub p: Option<f64>,
    pub slope_ci_low: Option<f64>,
    pub slope_ci_high: Option<f64>,
    /// slope × horizon_weeks, with its CI.
    pub change_at_horizon: Option<f64>,
    pub change_ci_low: Option<f64>,
    pub change_ci_high: Option<f64>,
    pub random_part: RandomPart,
    pub sd_intercept: Option<f64>,
    pub sd_slope: Option<f64>,
    pub corr: Option<f64>,
    pub sd_residual: Option<f64>,
    pub reml_criterion: Option<f64>,
    /// lme4's `isSingular(fit, tol = 1e-4)`; `None` when not fitted or suppressed.
    pub singular: Option<bool>,
    /// The fitted mean at admission (t = 0) of the modality or margin: not written, drawn as
    /// the start of the trajectory chart's line.
    pub intercept: Option<f64>,
    pub suppressed: bool,
}

/// The observed mean score of one whole week since admission (t in [week, week + 1), below
/// the horizon) of one instrument and modality (or `All`), pooled over tracks.
#[derive(Debug, Clone, PartialEq)]
pub struct WeeklyMean {
    pub instrument: String,
    pub modality: String,
    pub week: u32,
    /// Assessments in the week (blanked when small).
    pub n: Option<u64>,
    /// Their mean t, where the point is drawn.
    pub mean_t: Option<f64>,
    pub mean_score: Option<f64>,
}

/// The completers' mean time from baseline to follow-up, per instrument: the interval over
/// which their mean change (outcomes.csv) is measured.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowupInterval {
    pub instrument: String,
    pub n_paired: Option<u64>,
    pub mean_weeks: Option<f64>,
}

/// Everything this analysis gives the report.
#[derive(Debug, Clone, Default)]
pub struct Longitudinal {
    pub rows: Vec<LongitudinalRow>,
    pub weekly: Vec<WeeklyMean>,
    pub intervals: Vec<FollowupInterval>,
    pub horizon_weeks: f64,
}

/// Computes the table (unsuppressed: [`crate::analysis::Tables::protect`] blanks what must
/// be), the weekly means and the follow-up intervals for the period's cohort. The weekly
/// means are the charts' alone (no table publishes them): a week of fewer than
/// `suppress_below` assessments is blanked here.
pub fn compute(
    eps: &Episodes,
    asm: &Assessments,
    cohort: &Cohort,
    cfg: &LongitudinalConfig,
    suppress_below: Option<u64>,
) -> Longitudinal {
    let window = Window {
        from_day: cohort.rules.baseline[0],
        max_days: cfg.max_days,
        weeks_before: cfg.horizon_weeks,
    };
    let data = timed("longitudinal data", || {
        Data::build(eps, asm, cohort, window)
    });
    let rows = timed("longitudinal models", || {
        data.fit(&asm.instruments, cfg.horizon_weeks)
    });
    let mut weekly = data.weekly(&asm.instruments);
    // The completers' interval goes with outcomes.csv's overall row (the page shows it only
    // where that row's n_paired is published).
    let intervals = followup_intervals(cohort, &asm.instruments);
    if let Some(below) = suppress_below {
        for w in &mut weekly {
            if small(w.n, below) {
                (w.n, w.mean_t, w.mean_score) = (None, None, None);
            }
        }
    }
    Longitudinal {
        rows,
        weekly,
        intervals,
        horizon_weeks: cfg.horizon_weeks,
    }
}

/// Which assessments enter the model, and which weeks the chart's points cover.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// The first day after admission (b0 of the baseline window).
    pub from_day: i32,
    /// The last day after admission.
    pub max_days: f64,
    /// Weekly means cover t in [0, weeks_before).
    pub weeks_before: f64,
}

impl Window {
    /// The time in weeks of an assessment `day` days after admission, when it enters the
    /// model (SPEC L1: inclusive at both ends).
    pub fn weeks(&self, day: i32) -> Option<f64> {
        (day >= self.from_day && f64::from(day) <= self.max_days).then(|| f64::from(day) / 7.0)
    }

    fn n_weeks(&self) -> usize {
        self.weeks_before.ceil().max(0.0) as usize
    }
}

/// The L1 data of one instrument, reduced per episode.
#[derive(Debug, Clone)]
pub struct InstrumentData {
    pub instrument: u16,
    /// One per episode with an assessment in the window, in (track, episode) order; the arm is
    /// the episode's modality (its index in [`Data::modalities`]).
    pub groups: Vec<GroupStats>,
    /// Each track's slice of `groups`: (track index, range), in track order.
    pub tracks: Vec<(usize, Range<usize>)>,
    /// Episodes without a paired follow-up, per track × modality (`track · n_modalities +
    /// modality`).
    pub without: Vec<u64>,
    /// Per modality × week: assessments, Σt, Σscore.
    weekly: Vec<(u64, f64, f64)>,
}

impl InstrumentData {
    fn new(instrument: u16, n_tracks: usize, n_modalities: usize, n_weeks: usize) -> Self {
        InstrumentData {
            instrument,
            groups: Vec::new(),
            tracks: Vec::new(),
            without: vec![0; n_tracks * n_modalities],
            weekly: vec![(0, 0.0, 0.0); n_modalities * n_weeks],
        }
    }
}

/// The L1 data of every instrument, with the label sets the indices refer to.
#[derive(Debug, Clone)]
pub struct Data {
    /// Track labels in byte order.
    pub tracks: Vec<String>,
    /// Modality labels in byte order.
    pub modalities: Vec<String>,
    /// Instruments with at least one assessment in the window, in id order.
    pub instruments: Vec<InstrumentData>,
    n_weeks: usize,
}

impl Data {
    /// Reduces the cohort's assessments in `window` to per-episode statistics, in one pass.
    pub fn build(eps: &Episodes, asm: &Assessments, cohort: &Cohort, window: Window) -> Data {
        let (tracks, track_of) = eps.track.ranked();
        let (modalities, modality_of) = eps.modality.ranked();
        let n_weeks = window.n_weeks();
        // Cohort episodes in (track, index) order, and each one's position in that order.
        let mut order: Vec<u32> = (0..eps.len() as u32)
            .filter(|&e| cohort.selected[e as usize])
            .collect();
        order.sort_by_key(|&e| track_of[e as usize]);
        let mut position = vec![u32::MAX; eps.len()];
        for (p, &e) in order.iter().enumerate() {
            position[e as usize] = p as u32;
        }
        // Counting sort of the assessments in the window by their episode's position (within
        // an episode, file order).
        let kept = |k: usize| {
            let e = asm.episode[k] as usize;
            let p = position[e];
            (p != u32::MAX && window.weeks(asm.date[k] - eps.admit[e]).is_some())
                .then_some(p as usize)
        };
        let mut start = vec![0usize; order.len() + 1];
        for k in 0..asm.len() {
            if let Some(p) = kept(k) {
                start[p + 1] += 1;
            }
        }
        for p in 0..order.len() {
            start[p + 1] += start[p];
        }
        let mut next = start.clone();
        let mut by_episode = vec![0u32; start[order.len()]];
        for k in 0..asm.len() {
            if let Some(p) = kept(k) {
                by_episode[next[p]] = k as u32;
                next[p] += 1;
            }
        }
        drop(next);
        let followed = Followed::new(cohort, asm.instruments.len(), eps.len());
        let n_mod = modalities.len();
        let mut per: Vec<InstrumentData> = (0..asm.instruments.len())
            .map(|i| InstrumentData::new(i as u16, tracks.len(), n_mod, n_weeks))
            .collect();
        let (mut ts, mut ys) = (Vec::new(), Vec::new());
        for (p, &e) in order.iter().enumerate() {
            let e = e as usize;
            let run = &mut by_episode[start[p]..start[p + 1]];
            // Stable: an instrument's assessments stay in file order.
            run.sort_by_key(|&k| asm.instrument[k as usize]);
            let (track, modality) = (track_of[e] as usize, modality_of[e] as usize);
            for g in run.chunk_by(|&a, &b| asm.instrument[a as usize] == asm.instrument[b as usize])
            {
                let d = &mut per[asm.instrument[g[0] as usize] as usize];
                ts.clear();
                ys.clear();
                for &k in g {
                    let k = k as usize;
                    let t = f64::from(asm.date[k] - eps.admit[e]) / 7.0;
                    ts.push(t);
                    ys.push(asm.score[k]);
                    if t >= 0.0 && t < window.weeks_before {
                        let w = &mut d.weekly[modality * n_weeks + t.floor() as usize];
                        w.0 += 1;
                        w.1 += t;
                        w.2 += asm.score[k];
                    }
                }
                // Scores and times are finite (validated), so the statistics exist.
                let Some(g) = GroupStats::new(modality, &ts, &ys) else {
                    continue;
                };
                match d.tracks.last_mut() {
                    Some((t, range)) if *t == track => range.end += 1,
                    _ => d.tracks.push((track, d.groups.len()..d.groups.len() + 1)),
                }
                d.groups.push(g);
                if !followed.has(d.instrument as usize, e) {
                    d.without[track * n_mod + modality] += 1;
                }
            }
        }
        per.retain(|d| !d.groups.is_empty());
        for d in &mut per {
            d.groups.shrink_to_fit();
        }
        Data {
            tracks: tracks.into_iter().map(String::from).collect(),
            modalities: modalities.into_iter().map(String::from).collect(),
            instruments: per,
            n_weeks,
        }
    }

    /// Fits every model (in parallel) and returns the rows, sorted, unsuppressed.
    pub fn fit(&self, ids: &[String], horizon_weeks: f64) -> Vec<LongitudinalRow> {
        let n_mod = self.modalities.len();
        // The rows' groups per instrument: each track, then all tracks pooled; the models
        // fitted: each distinct slice once (an instrument of one track has the same groups
        // for the track and for All, so the same fit).
        let mut models: Vec<(&InstrumentData, Range<usize>)> = Vec::new();
        let mut groups: Vec<(&InstrumentData, Option<usize>, usize)> = Vec::new();
        for d in &self.instruments {
            for (t, range) in &d.tracks {
                groups.push((d, Some(*t), models.len()));
                models.push((d, range.clone()));
            }
            if d.tracks.len() > 1 {
                models.push((d, 0..d.groups.len()));
            }
            groups.push((d, None, models.len() - 1));
        }
        let fits: Vec<(LmmFit, LmmFit)> = models
            .par_iter()
            .map(|(d, range)| {
                let groups = &d.groups[range.clone()];
                let n_obs = groups.iter().map(GroupStats::n).sum();
                let random = lmm::random_part_for(n_obs, groups.len());
                // The margin model: the same groups, all in arm 0 (made per model, not kept:
                // 64 bytes per episode and instrument).
                let margin: Vec<GroupStats> = groups.iter().map(|g| g.in_arm(0)).collect();
                (
                    lmm::fit(groups, n_mod, random),
                    lmm::fit(&margin, 1, random),
                )
            })
            .collect();
        let mut rows = Vec::new();
        for &(d, track, model) in &groups {
            let (per_modality, margin) = &fits[model];
            let instrument = &ids[d.instrument as usize];
            let track_label = track.map_or(ALL, |t| self.tracks[t].as_str());
            let without = |m: usize| match track {
                Some(t) => d.without[t * n_mod + m],
                None => (0..self.tracks.len())
                    .map(|t| d.without[t * n_mod + m])
                    .sum(),
            };
            for (m, arm) in per_modality.arms.iter().enumerate() {
                if arm.n_groups > 0 {
                    rows.push(row(
                        [instrument, track_label, &self.modalities[m]],
                        per_modality,
                        m,
                        without(m),
                        horizon_weeks,
                    ));
                }
            }
            rows.push(row(
                [instrument, track_label, ALL],
                margin,
                0,
                (0..n_mod).map(without).sum(),
                horizon_weeks,
            ));
        }
        rows.sort_by(|a, b| {
            (&a.instrument, &a.track, &a.modality).cmp(&(&b.instrument, &b.track, &b.modality))
        });
        rows
    }

    /// The observed weekly means per instrument × modality and `All`, in (instrument,
    /// modality, week) order, weeks without assessments left out; unsuppressed.
    pub fn weekly(&self, ids: &[String]) -> Vec<WeeklyMean> {
        let n_mod = self.modalities.len();
        let mut out = Vec::new();
        for d in &self.instruments {
            let mut labels: Vec<(&str, Vec<usize>)> = vec![(ALL, (0..n_mod).collect())];
            labels.extend((0..n_mod).map(|m| (self.modalities[m].as_str(), vec![m])));
            labels.sort_by(|a, b| a.0.cmp(b.0));
            for (label, mods) in labels {
                for week in 0..self.n_weeks {
                    let (mut n, mut st, mut sy) = (0, 0.0, 0.0);
                    for &m in &mods {
                        let w = d.weekly[m * self.n_weeks + week];
                        n += w.0;
                        st += w.1;
                        sy += w.2;
                    }
                    if n > 0 {
                        out.push(WeeklyMean {
                            instrument: ids[d.instrument as usize].clone(),
                            modality: label.to_string(),
                            week: week as u32,
                            n: Some(n),
                            mean_t: Some(st / n as f64),
                            mean_score: Some(sy / n as f64),
                        });
                    }
                }
            }
        }
        out
    }
}

/// The row of arm `arm` of `fit` for `keys` (instrument, track, modality): counts always,
/// statistics when the model is `ok` (the slope only when estimable).
fn row(keys: [&str; 3], fit: &LmmFit, arm: usize, without: u64, horizon: f64) -> LongitudinalRow {
    let a = &fit.arms[arm];
    let slope = a.slope;
    let model = fit.model.as_ref();
    let [instrument, track, modality] = keys.map(String::from);
    LongitudinalRow {
        instrument,
        track,
        modality,
        status: fit.status,
        n_episodes: Some(a.n_groups as u64),
        n_assessments: Some(a.n_obs as u64),
        n_without_followup: Some(without),
        n_followed: Some(a.n_groups as u64 - without),
        slope: slope.map(|c| c.estimate),
        slope_se: slope.map(|c| c.se),
        df: slope.and_then(|c| c.df),
        t: slope.map(|c| c.t).filter(|t| t.is_finite()),
        p: slope.and_then(|c| c.p),
        slope_ci_low: a.slope_ci.map(|c| c.0),
        slope_ci_high: a.slope_ci.map(|c| c.1),
        change_at_horizon: slope.map(|c| c.estimate * horizon),
        change_ci_low: a.slope_ci.map(|c| c.0 * horizon),
        change_ci_high: a.slope_ci.map(|c| c.1 * horizon),
        random_part: fit.random_part,
        sd_intercept: model.map(|m| m.sd_intercept),
        sd_slope: model.and_then(|m| m.sd_slope),
        corr: model.and_then(|m| m.corr),
        sd_residual: model.map(|m| m.sigma),
        reml_criterion: model.map(|m| m.reml_criterion),
        singular: model.map(|m| m.singular),
        intercept: a.intercept.map(|c| c.estimate),
        suppressed: false,
    }
}

/// Which episodes have a paired follow-up, per instrument (one bit per episode).
struct Followed {
    words: usize,
    bits: Vec<u64>,
}

impl Followed {
    fn new(cohort: &Cohort, n_instruments: usize, n_episodes: usize) -> Followed {
        let words = n_episodes.div_ceil(64);
        let mut bits = vec![0u64; words * n_instruments];
        for p in cohort.pairs.iter().filter(|p| p.followup.is_some()) {
            let e = p.episode as usize;
            bits[p.instrument as usize * words + e / 64] |= 1 << (e % 64);
        }
        Followed { words, bits }
    }

    fn has(&self, instrument: usize, e: usize) -> bool {
        self.bits[instrument * self.words + e / 64] & (1 << (e % 64)) != 0
    }
}

/// The completers' mean weeks from baseline to follow-up per instrument, over the period's
/// cohort (the pairs outcomes.csv's overall row is computed from).
pub fn followup_intervals(cohort: &Cohort, ids: &[String]) -> Vec<FollowupInterval> {
    let mut sums = vec![(0u64, 0.0f64); ids.len()];
    for p in &cohort.pairs {
        if let (true, Some((_, day))) = (cohort.selected[p.episode as usize], p.followup) {
            let s = &mut sums[p.instrument as usize];
            s.0 += 1;
            s.1 += f64::from(day - p.baseline_date) / 7.0;
        }
    }
    ids.iter()
        .zip(sums)
        .filter(|(_, s)| s.0 > 0)
        .map(|(id, (n, weeks))| FollowupInterval {
            instrument: id.clone(),
            n_paired: Some(n),
            mean_weeks: Some(weeks / n as f64),
        })
        .collect()
}

/// longitudinal.csv's description (SPEC L5) and its small-cell roles (SPEC §7, §11): track
/// and modality are grouping columns (`All` sums the rows beside it: every episode has one
/// track and one modality, and a row is written for each with an episode); n_without_followup
/// and the unwritten n_followed are the parts of n_episodes (n_followed is implied by the two,
/// and is outcomes.csv's n_paired of the same cell); n_assessments is n_episodes plus the
/// assessments after each episode's first (an unknown no file shows). Every model statistic
/// is computed from n_episodes; the text columns that describe the model (status, random
/// part, singular) read empty where their count is withheld ([`withheld_text`]).
pub fn spec(keys: &RunKeys) -> TableSpec<LongitudinalRow> {
    type R = LongitudinalRow;
    const EP: &[&str] = &["n_episodes"];
    const EP_AS: &[&str] = &["n_episodes", "n_assessments"];
    let heading = |mut c: Column<R>, h: &str| {
        c.heading = h.to_string();
        c
    };
    TableSpec::new(
        "longitudinal",
        "Outcomes under dropout: mixed model",
        "Every assessment from the baseline window to the model's last day, including episodes without a follow-up: per instrument and track (All: tracks pooled), the change per week of each modality (All: modalities pooled) from a linear mixed model with a random intercept and slope per episode, its 95% CI and p (Satterthwaite), and the change it implies at the horizon. status is ok when the model was fitted; longitudinal.csv also has the SE, df, t, the variance components and the REML criterion.",
    )
    .columns(keys.run_columns())
    .columns([
        Column::new("instrument", text!(R, instrument)),
        Column::new("track", text!(R, track)).group(),
        Column::new("modality", text!(R, modality)).group(),
        Column::new(
            "status",
            Access::Text(Arc::new(|r: &R| {
                if r.n_episodes.is_some() {
                    r.status.label().to_string()
                } else {
                    String::new()
                }
            })),
        )
        .from(EP),
        heading(Column::new("n_episodes", count!(R, n_episodes)), "episodes"),
        heading(
            Column::new("n_assessments", count!(R, n_assessments)),
            "assessments",
        )
        .off_page(),
        heading(
            Column::new("n_without_followup", count!(R, n_without_followup)).within(EP),
            "without follow-up",
        ),
        heading(
            Column::new("slope", number!(R, slope)).from(EP),
            "change per week",
        ),
        Column::new("slope_se", number!(R, slope_se)).from(EP).off_page(),
        Column::new("df", number!(R, df))
            .from(EP)
            .format(Format::Df)
            .off_page(),
        Column::new("t", number!(R, t)).from(EP).off_page(),
        Column::new("p", number!(R, p)).from(EP).format(Format::P),
        heading(
            Column::new("slope_ci_low", number!(R, slope_ci_low)).from(EP),
            "95% CI low",
        ),
        heading(
            Column::new("slope_ci_high", number!(R, slope_ci_high)).from(EP),
            "95% CI high",
        ),
        heading(
            Column::new("change_at_horizon", number!(R, change_at_horizon)).from(EP),
            "change at horizon",
        ),
        heading(
            Column::new("change_ci_low", number!(R, change_ci_low)).from(EP),
            "95% CI low",
        ),
        heading(
            Column::new("change_ci_high", number!(R, change_ci_high)).from(EP),
            "95% CI high",
        ),
        heading(
            Column::new(
                "random_part",
                Access::Text(Arc::new(|r: &R| {
                    if r.n_episodes.is_some() && r.n_assessments.is_some() {
                        r.random_part.label().to_string()
                    } else {
                        String::new()
                    }
                })),
            )
            // Chosen from n_assessments ≤ 2 · n_episodes of the model.
            .from(EP_AS),
            "random part",
        ),
        Column::new("sd_intercept", number!(R, sd_intercept))
            .from(EP)
            .off_page(),
        Column::new("sd_slope", number!(R, sd_slope)).from(EP).off_page(),
        Column::new("corr", number!(R, corr)).from(EP).off_page(),
        Column::new("sd_residual", number!(R, sd_residual))
            .from(EP)
            .off_page(),
        Column::new("reml_criterion", number!(R, reml_criterion))
            .from(EP)
            .off_page(),
        Column::new(
            "singular",
            Access::Typed(
                Kind::Bool,
                Arc::new(|r: &R| match (r.n_episodes, r.singular) {
                    (Some(_), Some(b)) => Cell::Bool(b),
                    _ => Cell::Empty,
                }),
            ),
        )
        .from(EP)
        .off_page(),
        Column::new("suppressed", flag!(R, suppressed)),
        Column::new("intercept", number!(R, intercept))
            .from(EP)
            .hidden(),
        Column::new("n_followed", count!(R, n_followed))
            .within(EP)
            .implied(),
    ])
    .relation("n_episodes", &["n_without_followup", "n_followed"])
    .relation("n_assessments", &["n_episodes", "later assessments"])
}

/// The text cells of `rows` that read empty because their count is withheld (status,
/// random_part, singular: [`spec`]), as (row, column) for the page's marks; `rows` as
/// protected (a count is `None` only when withheld).
pub fn withheld_text(rows: &[LongitudinalRow]) -> Vec<(usize, &'static str)> {
    let mut out = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if r.n_episodes.is_none() {
            out.push((i, "status"));
            if r.singular.is_some() {
                out.push((i, "singular"));
            }
        }
        if r.n_episodes.is_none() || r.n_assessments.is_none() {
            out.push((i, "random_part"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
