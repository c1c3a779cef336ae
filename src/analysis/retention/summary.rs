//! retention_summary.csv: each group's dropouts and completions by day 30, 60 and 90 (the
//! days the page reports, SPEC §13 R5), as counts and as cumulative incidences with 95% CIs.
//!
//! retention.csv's day-by-day rows cannot be protected cell by cell (see
//! [`super::Retention::withhold`]), so under small-cell protection the page's figures come
//! from this table, which can: its counts are the episodes of the group and the dropouts and
//! completions on or before each day, related by sums only —
//!
//! - each count within the group's episodes: `n_episodes = n_dropout_d + n_completed_d +
//!   (neither by day d)`;
//! - cumulative along the days: `n_dropout_60 = n_dropout_30 + (dropouts on days 31–60)`, and
//!   likewise to day 90 and for completions;
//! - margins along the grouping columns (a margin's counts are the sums of its cells').
//!
//! Each incidence and its limits follow their count: blanked with it. The counts are the
//! dropouts and completions observed on or before the day, in every group, so a margin's
//! count is always the sum of its cells' (a cell left empty where the margin is published
//! would be bounded by the margin and the cell's earlier days); the incidence of a day that
//! follow-up does not reach is empty (`followed_to_day`, the last of the days reached, says
//! so). The incidences equal retention.csv's on the last distinct day on or before each day
//! ([`super::at_mark`]).

use super::{at_mark, by_group, headed, AtMark, RetentionRow, MARKS};
use crate::analysis::cells::RunKeys;
use crate::table::spec::{count, flag, number};
use crate::table::{Column, Format, TableSpec};

/// One row of retention_summary.csv: one group (as retention.csv's groups).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SummaryRow {
    /// One label per grouping column (`All` in a margin).
    pub labels: Vec<String>,
    /// Episodes of the group (admitted in the period).
    pub n_episodes: Option<u64>,
    /// The last of [`MARKS`] that follow-up reaches (`None`: not day 30).
    pub followed_to_day: Option<f64>,
    pub n_dropout_30: Option<u64>,
    pub cif_dropout_30: Option<f64>,
    pub cif_dropout_30_low: Option<f64>,
    pub cif_dropout_30_high: Option<f64>,
    pub n_dropout_60: Option<u64>,
    pub cif_dropout_60: Option<f64>,
    pub cif_dropout_60_low: Option<f64>,
    pub cif_dropout_60_high: Option<f64>,
    pub n_dropout_90: Option<u64>,
    pub cif_dropout_90: Option<f64>,
    pub cif_dropout_90_low: Option<f64>,
    pub cif_dropout_90_high: Option<f64>,
    pub n_completed_30: Option<u64>,
    pub cif_completed_30: Option<f64>,
    pub cif_completed_30_low: Option<f64>,
    pub cif_completed_30_high: Option<f64>,
    pub n_completed_60: Option<u64>,
    pub cif_completed_60: Option<f64>,
    pub cif_completed_60_low: Option<f64>,
    pub cif_completed_60_high: Option<f64>,
    pub n_completed_90: Option<u64>,
    pub cif_completed_90: Option<f64>,
    pub cif_completed_90_low: Option<f64>,
    pub cif_completed_90_high: Option<f64>,
    pub suppressed: bool,
}

/// One outcome's figures by one day: the count on or before it, the incidence, its limits.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Figure {
    pub n: Option<u64>,
    pub cif: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// The outcomes the summary reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    Dropout,
    Completed,
}

impl SummaryRow {
    /// The figures of `what` by `MARKS[k]`.
    pub fn figure(&self, what: Reported, k: usize) -> Figure {
        let f = |n, cif, low, high| Figure { n, cif, low, high };
        match (what, k) {
            (Reported::Dropout, 0) => f(
                self.n_dropout_30,
                self.cif_dropout_30,
                self.cif_dropout_30_low,
                self.cif_dropout_30_high,
            ),
            (Reported::Dropout, 1) => f(
                self.n_dropout_60,
                self.cif_dropout_60,
                self.cif_dropout_60_low,
                self.cif_dropout_60_high,
            ),
            (Reported::Dropout, _) => f(
                self.n_dropout_90,
                self.cif_dropout_90,
                self.cif_dropout_90_low,
                self.cif_dropout_90_high,
            ),
            (Reported::Completed, 0) => f(
                self.n_completed_30,
                self.cif_completed_30,
                self.cif_completed_30_low,
                self.cif_completed_30_high,
            ),
            (Reported::Completed, 1) => f(
                self.n_completed_60,
                self.cif_completed_60,
                self.cif_completed_60_low,
                self.cif_completed_60_high,
            ),
            (Reported::Completed, _) => f(
                self.n_completed_90,
                self.cif_completed_90,
                self.cif_completed_90_low,
                self.cif_completed_90_high,
            ),
        }
    }

    fn set(&mut self, what: Reported, k: usize, v: Figure) {
        let slots = match (what, k) {
            (Reported::Dropout, 0) => (
                &mut self.n_dropout_30,
                &mut self.cif_dropout_30,
                &mut self.cif_dropout_30_low,
                &mut self.cif_dropout_30_high,
            ),
            (Reported::Dropout, 1) => (
                &mut self.n_dropout_60,
                &mut self.cif_dropout_60,
                &mut self.cif_dropout_60_low,
                &mut self.cif_dropout_60_high,
            ),
            (Reported::Dropout, _) => (
                &mut self.n_dropout_90,
                &mut self.cif_dropout_90,
                &mut self.cif_dropout_90_low,
                &mut self.cif_dropout_90_high,
            ),
            (Reported::Completed, 0) => (
                &mut self.n_completed_30,
                &mut self.cif_completed_30,
                &mut self.cif_completed_30_low,
                &mut self.cif_completed_30_high,
            ),
            (Reported::Completed, 1) => (
                &mut self.n_completed_60,
                &mut self.cif_completed_60,
                &mut self.cif_completed_60_low,
                &mut self.cif_completed_60_high,
            ),
            (Reported::Completed, _) => (
                &mut self.n_completed_90,
                &mut self.cif_completed_90,
                &mut self.cif_completed_90_low,
                &mut self.cif_completed_90_high,
            ),
        };
        (*slots.0, *slots.1, *slots.2, *slots.3) = (v.n, v.cif, v.low, v.high);
    }

    /// Whether follow-up reaches `MARKS[k]`.
    pub fn reaches(&self, k: usize) -> bool {
        self.followed_to_day
            .is_some_and(|d| d >= f64::from(MARKS[k]))
    }
}

/// The summary rows of retention.csv's `rows` (unsuppressed, every day), one per group in
/// the same order.
pub fn rows(rows: &[RetentionRow]) -> Vec<SummaryRow> {
    by_group(rows).map(group_row).collect()
}

fn group_row(group: &[RetentionRow]) -> SummaryRow {
    let mut s = SummaryRow {
        labels: group[0].labels.clone(),
        // Everyone is at risk on the group's first distinct day.
        n_episodes: group[0].n_risk,
        ..Default::default()
    };
    for (k, &mark) in MARKS.iter().enumerate() {
        let upto = group.iter().take_while(|r| r.day <= mark);
        let (dropouts, completions) = upto.fold((0, 0), |(d, c), r| {
            (d + r.n_dropout.unwrap_or(0), c + r.n_completed.unwrap_or(0))
        });
        let at = at_mark(group, mark);
        if at == AtMark::NotReached {
            // Observed so far; no incidence for a day follow-up does not reach.
            for (what, n) in [
                (Reported::Dropout, dropouts),
                (Reported::Completed, completions),
            ] {
                let observed = Figure {
                    n: Some(n),
                    ..Default::default()
                };
                s.set(what, k, observed);
            }
            continue;
        }
        s.followed_to_day = Some(f64::from(mark));
        let (dropout, completed) = match at {
            AtMark::Row(r) => (
                Figure {
                    n: Some(dropouts),
                    cif: r.cif_dropout,
                    low: r.cif_dropout_low,
                    high: r.cif_dropout_high,
                },
                Figure {
                    n: Some(completions),
                    cif: r.cif_completed,
                    low: r.cif_completed_low,
                    high: r.cif_completed_high,
                },
            ),
            // Nothing happened yet: incidence 0, no limits (SPEC §13 R3).
            _ => {
                let zero = Figure {
                    n: Some(0),
                    cif: Some(0.0),
                    ..Default::default()
                };
                (zero, zero)
            }
        };
        s.set(Reported::Dropout, k, dropout);
        s.set(Reported::Completed, k, completed);
    }
    s
}

/// retention_summary.csv's description.
pub fn spec(keys: &RunKeys) -> TableSpec<SummaryRow> {
    type R = SummaryRow;
    const EPISODES: &[&str] = &["n_episodes"];
    macro_rules! outcome {
        ($n:ident, $cif:ident, $low:ident, $high:ident, $heading:expr) => {{
            const FROM: &[&str] = &[stringify!($n), "n_episodes"];
            [
                Column::new(stringify!($n), count!(R, $n))
                    .within(EPISODES)
                    .off_page(),
                headed(
                    Column::new(stringify!($cif), number!(R, $cif)).from(FROM),
                    $heading,
                )
                .format(Format::Rate),
                Column::new(stringify!($low), number!(R, $low))
                    .from(FROM)
                    .off_page(),
                Column::new(stringify!($high), number!(R, $high))
                    .from(FROM)
                    .off_page(),
            ]
        }};
    }
    TableSpec::new(
        "retention_summary",
        "Dropout and completion by day 30, 60 and 90",
        "Episodes admitted in the period; dropouts and completions observed on or before day 30, 60 and 90 after admission, and the cumulative incidence of each (Aalen-Johansen, competing risks) with its 95% CI in the file; the incidence is empty where follow-up does not reach the day (followed_to_day).",
    )
    .column(Column::constant("period", &keys.period).off_page().fixed())
    .columns(keys.group_columns(|r: &R| &r.labels))
    .column(headed(
        Column::new("n_episodes", count!(R, n_episodes)),
        "episodes",
    ))
    .column(
        Column::new("followed_to_day", number!(R, followed_to_day))
            .fixed()
            .format(Format::Count)
            .off_page(),
    )
    .columns(outcome!(
        n_dropout_30,
        cif_dropout_30,
        cif_dropout_30_low,
        cif_dropout_30_high,
        "dropped out by day 30"
    ))
    .columns(outcome!(
        n_dropout_60,
        cif_dropout_60,
        cif_dropout_60_low,
        cif_dropout_60_high,
        "by day 60"
    ))
    .columns(outcome!(
        n_dropout_90,
        cif_dropout_90,
        cif_dropout_90_low,
        cif_dropout_90_high,
        "by day 90"
    ))
    .columns(outcome!(
        n_completed_30,
        cif_completed_30,
        cif_completed_30_low,
        cif_completed_30_high,
        "completed by day 30"
    ))
    .columns(outcome!(
        n_completed_60,
        cif_completed_60,
        cif_completed_60_low,
        cif_completed_60_high,
        "by day 60"
    ))
    .columns(outcome!(
        n_completed_90,
        cif_completed_90,
        cif_completed_90_low,
        cif_completed_90_high,
        "by day 90"
    ))
    .column(Column::new("suppressed", flag!(R, suppressed)))
    .relation(
        "n_episodes",
        &["n_dropout_30", "n_completed_30", "neither by day 30"],
    )
    .relation(
        "n_episodes",
        &["n_dropout_60", "n_completed_60", "neither by day 60"],
    )
    .relation(
        "n_episodes",
        &["n_dropout_90", "n_completed_90", "neither by day 90"],
    )
    .relation("n_dropout_60", &["n_dropout_30", "dropouts on days 31-60"])
    .relation("n_dropout_90", &["n_dropout_60", "dropouts on days 61-90"])
    .relation(
        "n_completed_60",
        &["n_completed_30", "completions on days 31-60"],
    )
    .relation(
        "n_completed_90",
        &["n_completed_60", "completions on days 61-90"],
    )
}
