//! retention.csv and retention_tests.csv (SPEC §13): dropout and completion over time as
//! competing risks.
//!
//! - Cohort (R1): the episodes ADMITTED in the period (not the follow-up-anchor cohort of
//!   SPEC §5), every accepted episode without a period. Time is discharge − admission in days;
//!   an episode still in care is censored at data_through − admission, data_through being the
//!   latest date in the accepted rows of the three files or `--data-through DATE`. A discharge
//!   after data_through is still an event; a discharge reason without a discharge date is
//!   ignored (still in care).
//! - Outcome (R2): `dropout` when the reason is one of `[retention] dropout_reasons` (checked
//!   first), `completed` when it is `completed`, `other` for every other reason or none.
//!   The outcomes compete: completing is not censoring.
//! - retention.csv (R3–R4): per cell and margin of the run's grouping columns (as
//!   outcomes.csv), one row per distinct day with the Aalen–Johansen cumulative incidence of
//!   each outcome, its infinitesimal-jackknife standard error and log limits, exactly as
//!   `survfit(Surv(time, state) ~ 1)` computes them ([`crate::stats::survival`]).
//! - retention_tests.csv (R4): per track and for all tracks pooled (unstratified), the
//!   log-rank test of dropout across modalities, `survdiff(Surv(time, state == "dropout") ~
//!   modality)`: the other outcomes and the episodes still in care are censored.
//!
//! Groups are computed in parallel and collected in group order, so the output is the same
//! whatever the thread count.

use super::cells::{Keys, RunKeys, ALL};
use crate::dates::{self, Day};
use crate::error::{Error, Result};
use crate::ingest::{Episodes, Export};
use crate::stats::survival::{self, CifRow};
use crate::table::spec::{count, flag, number, text};
use crate::table::{Cell, Column, Format, Kind, PageTable, Published, Table, TableSpec, Tabular};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// Where an episode stands at the end of its time (survfit's state factor: `censor` first,
/// then the outcomes in the order of [`Outcome::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Still in care at data_through.
    Censored,
    Completed,
    Dropout,
    Other,
}

impl Outcome {
    /// The outcome's code for [`survival::cumulative_incidence`]: its position among the
    /// levels `c("censor", "completed", "dropout", "other")`, counted from 0.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Censored => 0,
            Outcome::Completed => 1,
            Outcome::Dropout => 2,
            Outcome::Other => 3,
        }
    }
}

/// Index of each outcome in [`CifRow::n_event`] and [`CifRow::incidence`] (code − 1).
const COMPLETED: usize = 0;
const DROPOUT: usize = 1;
const OTHER: usize = 2;

/// The outcome of a discharge with `reason` (R2): `dropout` when the reason is one of
/// `dropout_reasons` (checked first), `completed` when it is `completed`, else `other`
/// (including no reason).
pub fn outcome(reason: Option<&str>, dropout_reasons: &[String]) -> Outcome {
    let reason = reason.unwrap_or("");
    if dropout_reasons.iter().any(|d| d == reason) {
        Outcome::Dropout
    } else if reason == "completed" {
        Outcome::Completed
    } else {
        Outcome::Other
    }
}

/// An episode's time in days and its outcome (R1–R2): discharged episodes leave at
/// discharge − admission with the outcome of their reason (even when the discharge is after
/// `data_through`); an episode without a discharge date is censored at data_through −
/// admission, whatever its reason column holds.
///
/// The caller guarantees admission ≤ discharge (validation quarantines the rest) and
/// admission ≤ data_through ([`data_through`] refuses the rest); a negative time would be 0.
pub fn time_outcome(
    admit: Day,
    discharge: Option<Day>,
    reason: Option<&str>,
    data_through: Day,
    dropout_reasons: &[String],
) -> (u32, Outcome) {
    let (end, what) = match discharge {
        Some(d) => (d, outcome(reason, dropout_reasons)),
        None => (data_through, Outcome::Censored),
    };
    debug_assert!(end >= admit, "time before admission");
    (u32::try_from(end - admit).unwrap_or(0), what)
}

/// The date episodes still in care are censored at, and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataThrough {
    pub day: Day,
    /// Given with `--data-through` (else the latest date of the export).
    pub given: bool,
}

/// The latest date in the accepted rows of the three files: admission and discharge dates,
/// assessment dates, session dates (`None` without any accepted episode).
pub fn latest_date(export: &Export) -> Option<Day> {
    let eps = &export.episodes;
    let episodes = eps
        .admit
        .iter()
        .copied()
        .chain(eps.discharge.iter().flatten().copied());
    let assessed = export.assessments.date.iter().copied();
    let sessions = export.attendance.iter().filter_map(|a| a.latest);
    episodes.chain(assessed).chain(sessions).max()
}

/// data_through (R1): `given` (`--data-through`), else the export's [`latest_date`]; `None`
/// when the export has no accepted episode.
///
/// # Errors
/// A usage error naming `--data-through` when `given` is before the admission of an accepted
/// episode (that episode's time would be negative).
pub fn data_through(export: &Export, given: Option<Day>) -> Result<Option<DataThrough>> {
    let Some(day) = given else {
        return Ok(latest_date(export).map(|day| DataThrough { day, given: false }));
    };
    let later = export.episodes.admit.iter().filter(|&&a| a > day).count();
    if later > 0 {
        return Err(Error::Usage(format!(
            "--data-through {}: {later} accepted episode{} admitted after that date; give the date the export was extracted (on or after every admission)",
            dates::iso(day),
            if later == 1 { " was" } else { "s were" }
        )));
    }
    Ok(Some(DataThrough { day, given: true }))
}

/// What the retention tables depend on besides the episodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub data_through: DataThrough,
    /// Admission dates of the cohort, inclusive (`None`: every accepted episode).
    pub admitted: Option<(Day, Day)>,
    /// Discharge reasons that are dropout (`[retention] dropout_reasons`).
    pub dropout_reasons: Vec<String>,
}

impl Params {
    /// The parameters of a run: data_through from the export or `given`, the period's bounds
    /// as admission bounds. `None` when the export has no accepted episode.
    ///
    /// # Errors
    /// As [`data_through`].
    pub fn new(
        export: &Export,
        dropout_reasons: &[String],
        admitted: Option<(Day, Day)>,
        given: Option<Day>,
    ) -> Result<Option<Params>> {
        Ok(data_through(export, given)?.map(|data_through| Params {
            data_through,
            admitted,
            dropout_reasons: dropout_reasons.to_vec(),
        }))
    }

    /// Whether episode `i` is in the cohort: admitted within the bounds.
    pub fn admitted(&self, eps: &Episodes, i: usize) -> bool {
        self.admitted
            .is_none_or(|(from, to)| eps.admit[i] >= from && eps.admit[i] <= to)
    }
}

/// One row of retention.csv: one group on one distinct day. `None` is an empty cell.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RetentionRow {
    /// One label per grouping column (`All` in a margin).
    pub labels: Vec<String>,
    pub day: u32,
    /// Episodes at risk at the start of the day.
    pub n_risk: Option<u64>,
    pub n_dropout: Option<u64>,
    pub n_completed: Option<u64>,
    pub n_other: Option<u64>,
    pub n_censored: Option<u64>,
    pub cif_dropout: Option<f64>,
    pub cif_dropout_se: Option<f64>,
    pub cif_dropout_low: Option<f64>,
    pub cif_dropout_high: Option<f64>,
    pub cif_completed: Option<f64>,
    pub cif_completed_se: Option<f64>,
    pub cif_completed_low: Option<f64>,
    pub cif_completed_high: Option<f64>,
    pub cif_other: Option<f64>,
    pub cif_other_se: Option<f64>,
    pub suppressed: bool,
    /// The group's last day, on which everyone still at risk left with an outcome (none
    /// censored): the incidences are final from here on. Not written.
    pub settled: bool,
}

/// One row of retention_tests.csv: the log-rank test of dropout across modalities in one
/// track (or `All`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RetentionTestRow {
    pub track: String,
    /// Cohort episodes of the track.
    pub n_episodes: Option<u64>,
    /// Of them, discharged as dropout.
    pub n_dropout: Option<u64>,
    pub chisq: Option<f64>,
    /// Modalities with expected dropouts > 0, minus 1.
    pub df: Option<f64>,
    pub p: Option<f64>,
    pub suppressed: bool,
}

/// Everything the retention analysis produced, with what the page needs to describe it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Retention {
    /// retention.csv, in group order (byte-wise on the labels), then by day.
    pub rows: Vec<RetentionRow>,
    /// retention_tests.csv, byte-wise on the track.
    pub tests: Vec<RetentionTestRow>,
    /// retention_summary.csv: each group by day 30, 60 and 90, in group order (protected
    /// with the other tables when retention.csv is withheld).
    pub summary: Vec<summary::SummaryRow>,
    /// The grouping columns the rows' labels follow.
    pub columns: Vec<String>,
    /// `None`: not computed (no accepted episode).
    pub params: Option<Params>,
    /// Withheld whole by small-cell protection ([`Retention::withhold`]): the files have no
    /// rows, the page says so, no chart is drawn.
    pub withheld: bool,
}

/// Computes retention.csv and retention_tests.csv over the cohort of `p`, grouped by
/// `columns`, unsuppressed ([`Retention::withhold`] is what protection does to them).
pub fn compute(eps: &Episodes, columns: &[String], p: &Params) -> Retention {
    let n = eps.len();
    let cohort: Vec<bool> = (0..n).map(|i| p.admitted(eps, i)).collect();
    let (times, outcomes): (Vec<u32>, Vec<u8>) = (0..n)
        .into_par_iter()
        .map(|i| {
            let (t, o) = time_outcome(
                eps.admit[i],
                eps.discharge[i],
                eps.discharge_reason[i].as_deref(),
                p.data_through.day,
                &p.dropout_reasons,
            );
            (t, o.code())
        })
        .unzip();
    let groups = Keys::new(eps, columns).episode_groups(n, |i| cohort[i]);
    let fresh;
    let rows = groups
        .par_iter()
        .map(|(labels, _, members)| {
            let t: Vec<u32> = members.iter().map(|&i| times[i as usize]).collect();
            let o: Vec<u8> = members.iter().map(|&i| outcomes[i as usize]).collect();
            group_rows(labels, &survival::cumulative_incidence(&t, &o, 3))
        })
        .collect::<Vec<_>>()
        .concat();
    // The track groups: the run's groups with every other column `All`, when track is a
    // grouping column (as by default), else grouped afresh.
    let track_groups: Vec<(String, &[u32])> = match columns.iter().position(|c| c == "track") {
        Some(c) => groups
            .iter()
            .filter(|(l, _, _)| l.iter().enumerate().all(|(k, l)| k == c || l == ALL))
            .map(|(l, _, m)| (l[c].clone(), m.as_slice()))
            .collect(),
        None => {
            fresh = Keys::new(eps, &["track".to_string()]).episode_groups(n, |i| cohort[i]);
            fresh
                .iter()
                .map(|(l, _, m)| (l[0].clone(), m.as_slice()))
                .collect()
        }
    };
    let tests = tests(eps, &track_groups, &times, &outcomes);
    Retention {
        summary: summary::rows(&rows),
        rows,
        tests,
        columns: columns.to_vec(),
        params: Some(p.clone()),
        withheld: false,
    }
}

/// The rows of one group from survfit's table.
fn group_rows(labels: &[String], table: &[CifRow]) -> Vec<RetentionRow> {
    let last = table.len().saturating_sub(1);
    table
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let inc = &r.incidence;
            let events: usize = r.n_event.iter().sum();
            RetentionRow {
                labels: labels.to_vec(),
                day: r.time,
                n_risk: Some(r.n_risk as u64),
                n_dropout: Some(r.n_event[DROPOUT] as u64),
                n_completed: Some(r.n_event[COMPLETED] as u64),
                n_other: Some(r.n_event[OTHER] as u64),
                n_censored: Some(r.n_censor as u64),
                cif_dropout: Some(inc[DROPOUT].p),
                cif_dropout_se: Some(inc[DROPOUT].se),
                cif_dropout_low: inc[DROPOUT].lower,
                cif_dropout_high: inc[DROPOUT].upper,
                cif_completed: Some(inc[COMPLETED].p),
                cif_completed_se: Some(inc[COMPLETED].se),
                cif_completed_low: inc[COMPLETED].lower,
                cif_completed_high: inc[COMPLETED].upper,
                cif_other: Some(inc[OTHER].p),
                cif_other_se: Some(inc[OTHER].se),
                suppressed: false,
                settled: k == last && r.n_censor == 0 && events == r.n_risk,
            }
        })
        .collect()
}

/// The log-rank test of dropout across modalities in each of `tracks` (label, cohort
/// episodes), in their order.
fn tests(
    eps: &Episodes,
    tracks: &[(String, &[u32])],
    times: &[u32],
    outcomes: &[u8],
) -> Vec<RetentionTestRow> {
    // Modality labels numbered in byte order, as R's factor levels (labels absent from a
    // track take no part). Interned first (a million episodes, a handful of labels).
    let mut ids: FxHashMap<&str, usize> = FxHashMap::default();
    let mut names: Vec<&str> = Vec::new();
    let first_seen: Vec<usize> = eps
        .modality
        .iter()
        .map(|m| {
            *ids.entry(m.as_str()).or_insert_with(|| {
                names.push(m.as_str());
                names.len() - 1
            })
        })
        .collect();
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&k| names[k]);
    let mut rank = vec![0; names.len()];
    for (r, &k) in order.iter().enumerate() {
        rank[k] = r;
    }
    let group: Vec<usize> = first_seen.iter().map(|&k| rank[k]).collect();
    let dropout = Outcome::Dropout.code();
    tracks
        .par_iter()
        .map(|(track, members)| {
            let t: Vec<u32> = members.iter().map(|&i| times[i as usize]).collect();
            let e: Vec<bool> = members
                .iter()
                .map(|&i| outcomes[i as usize] == dropout)
                .collect();
            let g: Vec<usize> = members.iter().map(|&i| group[i as usize]).collect();
            let lr = survival::logrank(&t, &e, &g, names.len());
            RetentionTestRow {
                track: track.clone(),
                n_episodes: Some(members.len() as u64),
                n_dropout: Some(e.iter().filter(|&&x| x).count() as u64),
                chisq: lr.chisq,
                df: lr.df.map(|d| d as f64),
                p: lr.p,
                suppressed: false,
            }
        })
        .collect()
}

/// A column with its page heading.
fn headed<R>(mut c: Column<R>, heading: &str) -> Column<R> {
    c.heading = heading.to_string();
    c
}

/// retention.csv's description (SPEC §13 R4): period, the grouping columns, day, the day's
/// counts, the cumulative incidences with their standard errors and limits, suppressed.
/// There is no `followup` column: this analysis follows episodes from admission and uses no
/// follow-up point.
///
/// Suppression roles: n_risk is a count; the day's outcome and censoring counts are parts of
/// it; each incidence, its standard error and limits are computed from its outcome's count
/// and n_risk. These roles do not capture the table's other relations — consecutive rows
/// (n_risk(d) − n_risk(next day) = the day's outcomes + censorings) and the cumulative
/// incidences (each is the previous one plus the surviving share times the day's count over
/// n_risk) — so with suppression on the table is withheld whole ([`Retention::withhold`])
/// rather than registered with cross-table protection.
pub fn spec(keys: &RunKeys) -> TableSpec<RetentionRow> {
    type R = RetentionRow;
    const RISK: &[&str] = &["n_risk"];
    const DROPOUT: &[&str] = &["n_dropout", "n_risk"];
    const COMPLETED: &[&str] = &["n_completed", "n_risk"];
    const OTHER: &[&str] = &["n_other", "n_risk"];
    TableSpec::new(
        "retention",
        "Retention by group at days 30, 60 and 90",
        "Cumulative incidence of dropout, completion and other discharges (Aalen-Johansen, competing risks) with 95% CIs, at the last day on or before day 30, 60 and 90 of follow-up of each group (rows whose follow-up does not reach the day are left out). retention.csv has one row per group and day, with the day's counts and standard errors.",
    )
    .column(Column::constant("period", &keys.period).off_page())
    .columns(keys.group_columns(|r: &R| &r.labels))
    .columns([
        Column::typed("day", Kind::Int, |r: &R| Cell::Int(u64::from(r.day))),
        headed(Column::new("n_risk", count!(R, n_risk)), "at risk"),
        Column::new("n_dropout", count!(R, n_dropout))
            .within(RISK)
            .off_page(),
        Column::new("n_completed", count!(R, n_completed))
            .within(RISK)
            .off_page(),
        Column::new("n_other", count!(R, n_other))
            .within(RISK)
            .off_page(),
        Column::new("n_censored", count!(R, n_censored))
            .within(RISK)
            .off_page(),
        headed(
            Column::new("cif_dropout", number!(R, cif_dropout)).from(DROPOUT),
            "dropped out",
        )
        .format(Format::Rate),
        Column::new("cif_dropout_se", number!(R, cif_dropout_se))
            .from(DROPOUT)
            .off_page(),
        headed(
            Column::new("cif_dropout_low", number!(R, cif_dropout_low)).from(DROPOUT),
            "95% CI low",
        )
        .format(Format::Rate),
        headed(
            Column::new("cif_dropout_high", number!(R, cif_dropout_high)).from(DROPOUT),
            "95% CI high",
        )
        .format(Format::Rate),
        headed(
            Column::new("cif_completed", number!(R, cif_completed)).from(COMPLETED),
            "completed",
        )
        .format(Format::Rate),
        Column::new("cif_completed_se", number!(R, cif_completed_se))
            .from(COMPLETED)
            .off_page(),
        headed(
            Column::new("cif_completed_low", number!(R, cif_completed_low)).from(COMPLETED),
            "95% CI low",
        )
        .format(Format::Rate),
        headed(
            Column::new("cif_completed_high", number!(R, cif_completed_high)).from(COMPLETED),
            "95% CI high",
        )
        .format(Format::Rate),
        headed(
            Column::new("cif_other", number!(R, cif_other)).from(OTHER),
            "other discharge",
        )
        .format(Format::Rate),
        Column::new("cif_other_se", number!(R, cif_other_se))
            .from(OTHER)
            .off_page(),
        Column::new("suppressed", flag!(R, suppressed)),
    ])
}

/// retention_tests.csv's description (SPEC §13 R4): period, track, the track's cohort
/// episodes and dropouts, and the log-rank test (chisq, df, p: computed from the track's
/// counts for suppression).
pub fn tests_spec(keys: &RunKeys) -> TableSpec<RetentionTestRow> {
    type R = RetentionTestRow;
    const COUNTS: &[&str] = &["n_episodes", "n_dropout"];
    TableSpec::new(
        "retention_tests",
        "Dropout across modalities (log-rank test)",
        "Per track and for all tracks pooled: whether the time to dropout differs across modalities, by the log-rank test survdiff(Surv(time, dropout) ~ modality) in R. Completion, other discharges and episodes still in care count as censored here. df is the number of modalities with expected dropouts, minus 1; empty with fewer than two.",
    )
    .column(Column::constant("period", &keys.period).off_page())
    .column(Column::new("track", text!(R, track)))
    .columns([
        headed(Column::new("n_episodes", count!(R, n_episodes)), "episodes"),
        headed(
            Column::new("n_dropout", count!(R, n_dropout)).within(&["n_episodes"]),
            "dropped out",
        ),
        headed(
            Column::new("chisq", number!(R, chisq)).from(COUNTS),
            "chi-square",
        ),
        Column::new("df", number!(R, df))
            .from(COUNTS)
            .format(Format::Df),
        Column::new("p", number!(R, p)).from(COUNTS).format(Format::P),
        Column::new("suppressed", flag!(R, suppressed)),
    ])
}

/// The days of follow-up the page reports.
pub const MARKS: [u32; 3] = [30, 60, 90];

/// What a group's rows say about its incidences by a day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AtMark<'a> {
    /// Follow-up does not reach the day: not yet observed.
    NotReached,
    /// Nothing happened up to the day (the group's first row is later): every incidence 0.
    Nothing,
    /// The row of the last distinct day on or before the day.
    Row(&'a RetentionRow),
}

/// The incidences of `group` (one group's rows, by day) by day `mark`: the row of the last
/// distinct day ≤ `mark`, when follow-up reaches `mark` (a later day exists, or the
/// incidences are final: [`RetentionRow::settled`]).
pub fn at_mark(group: &[RetentionRow], mark: u32) -> AtMark<'_> {
    let Some(last) = group.last() else {
        return AtMark::NotReached;
    };
    if last.day < mark && !last.settled {
        return AtMark::NotReached;
    }
    group
        .iter()
        .rev()
        .find(|r| r.day <= mark)
        .map_or(AtMark::Nothing, AtMark::Row)
}

/// The rows of one group each, in order (rows of a group are consecutive).
pub fn by_group(rows: &[RetentionRow]) -> impl Iterator<Item = &[RetentionRow]> {
    rows.chunk_by(|a, b| a.labels == b.labels)
}

/// retention.csv for publishing: the file has every row; the page shows each group's rows at
/// [`MARKS`] (see [`at_mark`]), one row per distinct day.
pub struct RetentionTable<'a> {
    spec: TableSpec<RetentionRow>,
    rows: &'a [RetentionRow],
}

/// retention.csv with its description, for [`crate::analysis::Tables::published`].
pub fn published<'a>(keys: &RunKeys, retention: &'a Retention) -> RetentionTable<'a> {
    RetentionTable {
        spec: spec(keys).when_empty(empty_text(retention)),
        rows: &retention.rows,
    }
}

/// What the page says where a retention table has no row: withheld, or none for the period.
pub fn empty_text(retention: &Retention) -> &'static str {
    if retention.withheld {
        "Withheld from this report under small-cell protection (day-by-day counts would reveal small numbers; the figures by day 30, 60 and 90 are in retention_summary.csv). Analysts inside the covered entity can run with --no-suppress."
    } else {
        crate::table::spec::NO_ROWS
    }
}

impl Tabular for RetentionTable<'_> {
    fn name(&self) -> &'static str {
        self.spec.name
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn rows(&self, range: std::ops::Range<usize>) -> Table {
        self.spec.render(&self.rows[range])
    }
}

impl Published for RetentionTable<'_> {
    fn page(&self, withheld: &dyn Fn(usize, &str) -> bool) -> PageTable {
        // The rows shown, with their positions in the file (what `withheld` is asked about).
        let mut shown: Vec<RetentionRow> = Vec::new();
        let mut at: Vec<usize> = Vec::new();
        let mut first = 0;
        for group in by_group(self.rows) {
            let mut days: Vec<usize> = MARKS
                .iter()
                .filter_map(|&m| match at_mark(group, m) {
                    AtMark::Row(r) => group.iter().position(|g| g.day == r.day),
                    _ => None,
                })
                .collect();
            days.dedup();
            for k in days {
                shown.push(group[k].clone());
                at.push(first + k);
            }
            first += group.len();
        }
        self.spec.page(&shown, &|i, c| withheld(at[i], c))
    }
}

impl Retention {
    /// Withholds both files whole (SPEC §11, with suppression on): no row is published, not
    /// even which days had an event. Cross-table protection cannot yet protect them: one row
    /// per group and day makes nearly every count of a cell small, consecutive rows give the
    /// day's exits (n_risk(d) − n_risk(next day)), and each cumulative incidence, with n_risk
    /// and the incidences of the day before, gives the day's count of its outcome, so no
    /// row-by-row blanking holds; report::audit refuses any row of them.
    pub fn withhold(&mut self) {
        self.rows.clear();
        self.tests.clear();
        self.withheld = true;
    }

    /// The position of grouping column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The rows of the group with `track` in the track column and `modality` in the modality
    /// column (either may be `All`) and `All` in every other column; `None` when there is no
    /// such group (e.g. a track, but track is not a grouping column).
    pub fn group(&self, track: &str, modality: &str) -> Option<&[RetentionRow]> {
        let want = self.want(track, modality)?;
        by_group(&self.rows).find(|g| g[0].labels == want)
    }

    /// The summary row of the group of [`Retention::group`] (kept when the day-by-day rows
    /// are withheld).
    pub fn summary_of(&self, track: &str, modality: &str) -> Option<&summary::SummaryRow> {
        let want = self.want(track, modality)?;
        self.summary.iter().find(|s| s.labels == want)
    }

    /// The labels of [`Retention::group`].
    fn want(&self, track: &str, modality: &str) -> Option<Vec<String>> {
        let mut want = vec![ALL.to_string(); self.columns.len()];
        for (name, label) in [("track", track), ("modality", modality)] {
            match self.column(name) {
                Some(c) => want[c] = label.to_string(),
                None if label != ALL => return None,
                None => {}
            }
        }
        Some(want)
    }

    /// The values of `column` (`track` or `modality`) that have a group of their own with
    /// `track` in the track column (`All`: across tracks), byte-wise.
    pub fn labels_of(&self, column: &str, track: &str) -> Vec<String> {
        let (Some(c), Some(t)) = (self.column(column), self.want(track, ALL)) else {
            return Vec::new();
        };
        // The summary has a row per group, and is kept when the rows are withheld.
        let mut out: Vec<String> = self
            .summary
            .iter()
            .map(|s| &s.labels)
            .filter(|l| {
                l[c] != ALL
                    && l.iter()
                        .zip(&t)
                        .enumerate()
                        .all(|(k, (a, b))| k == c || a == b)
            })
            .map(|l| l[c].clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

pub mod summary;
#[cfg(test)]
mod tests;
