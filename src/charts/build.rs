//! From the analysis results to the report's charts, in the order the page shows them: per
//! kind, then per instrument. Only already-suppressed figures reach a chart, except the
//! Jacobson–Truax plot, which counts the cohort's pairs itself and applies the same threshold.
//! A chart whose every point small-cell protection withheld is not drawn: a [`Notice`] takes
//! its place (a chart with nothing to show for want of data is left out, as before).

use super::abstinence::{AbstinenceBar, AbstinenceChart};
use super::categories::{Categories, CategoryRow};
use super::forest::{Forest, ForestRow};
use super::funnel::{Funnel, FunnelPoint};
use super::hours::Hours;
use super::scatter::{self, Scatter};
use super::trajectory::{TrajectoryChart, TrajectorySeries};
use super::trend::{Series, TrendChart};
use super::{kit, AnyChart, Figure, Notice, Rendered};
use crate::analysis::abstinence::AbstinenceRow;
use crate::analysis::benchmark::BenchmarkRow;
use crate::analysis::cells::ALL;
use crate::analysis::engagement::HoursSummary;
use crate::analysis::longitudinal::{LongitudinalRow, WeeklyMean};
use crate::analysis::outcomes::OutcomeRow;
use crate::analysis::retention::Retention;
use crate::analysis::suppress::small;
use crate::analysis::trend::TrendRow;
use crate::analysis::{Settings, Tables};
use crate::cohort::Cohort;
use crate::cohort::Pair;
use crate::error::Result;
use crate::ingest::Export;
use crate::instruments::{Catalog, Instrument, ScoreKind};
use rayon::prelude::*;
use std::collections::BTreeSet;

/// What the charts are drawn from.
pub struct Inputs<'a> {
    pub catalog: &'a Catalog,
    /// Instrument ids by the index used in pairs.
    pub ids: &'a [String],
    /// The grouping columns of outcomes.csv.
    pub columns: &'a [String],
    pub outcomes: &'a [OutcomeRow],
    pub abstinence: &'a [AbstinenceRow],
    pub trend: &'a [TrendRow],
    /// The eight quarters of trend.csv.
    pub quarters: &'a [String],
    pub pairs: &'a [Pair],
    /// Cohort episodes of the period.
    pub selected: &'a [bool],
    /// Weekly hours per value of the first grouping column (`None`: no attendance.csv).
    pub hours: Option<&'a [HoursSummary]>,
    pub dose_hours: f64,
    pub suppress_below: Option<u64>,
    /// retention.csv's rows (after suppression) and groups.
    pub retention: &'a Retention,
    /// The rows of benchmark.csv, and its unit column.
    pub benchmark: &'a [BenchmarkRow],
    pub benchmark_by: &'a str,
    /// longitudinal.csv's rows, the observed weekly means and the horizon in weeks.
    pub longitudinal: &'a [LongitudinalRow],
    pub weekly: &'a [WeeklyMean],
    pub horizon_weeks: f64,
}

/// Appended to the trend chart's last quarter when the data only partly cover it.
const PARTIAL: &str = " (partial)";

/// Every chart of the report, drawn (in parallel) as SVG and PNG, or its notice, in the
/// page's order.
///
/// # Errors
/// An internal error when a chart fails to draw or encode.
pub fn draw(
    export: &Export,
    cohort: &Cohort,
    tables: &Tables,
    settings: &Settings,
) -> Result<Vec<Figure<Rendered>>> {
    // The chart marks a last quarter the data only partly cover (trend.csv keeps its label).
    let mut quarters = tables.quarters.clone();
    if let (Some(last), Some(q)) = (cohort.last, quarters.last_mut()) {
        if crate::analysis::trend::last_quarter_partial(last) {
            q.push_str(PARTIAL);
        }
    }
    let charts = all(&Inputs {
        catalog: settings.catalog,
        ids: &export.assessments.instruments,
        columns: settings.groups,
        outcomes: &tables.outcomes,
        abstinence: &tables.abstinence,
        trend: &tables.trend,
        quarters: &quarters,
        pairs: &cohort.pairs,
        selected: &cohort.selected,
        hours: tables.hours.as_deref(),
        dose_hours: settings.dose_hours,
        suppress_below: settings.suppress_below,
        retention: &tables.retention,
        benchmark: &tables.benchmark,
        benchmark_by: settings.benchmark_by,
        longitudinal: &tables.longitudinal.rows,
        weekly: &tables.longitudinal.weekly,
        horizon_weeks: tables.longitudinal.horizon_weeks,
    });
    charts
        .par_iter()
        .map(|f| match f {
            Figure::Chart(c) => super::render(c).map(Figure::Chart),
            Figure::Notice(n) => Ok(Figure::Notice(n.clone())),
        })
        .collect()
}

/// Every chart of the report, or its notice when protection withheld all of it.
pub fn all(x: &Inputs) -> Vec<Figure<AnyChart>> {
    let instruments: Vec<&Instrument> = x
        .outcomes
        .iter()
        .map(|r| r.instrument.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter_map(|id| x.catalog.get(id))
        .collect();
    type Part<'a> = Box<dyn Fn() -> Vec<Figure<AnyChart>> + Send + Sync + 'a>;
    let each = |f: fn(&Inputs, &Instrument) -> Option<Figure<AnyChart>>| -> Part {
        let instruments = &instruments;
        Box::new(move || instruments.iter().filter_map(|i| f(x, i)).collect())
    };
    // The kinds of chart are built in parallel (the funnels' control limits and the scatter
    // plots' bins take most of the time), and kept in this order.
    let parts: Vec<Part> = vec![
        each(|x, i| Some(forest(x, i).map(AnyChart::Forest))),
        each(|x, i| jacobson_truax(x, i).map(|f| f.map(AnyChart::Scatter))),
        each(|x, i| {
            i.rci_threshold()
                .map(|_| categories(x, i).map(AnyChart::Categories))
        }),
        each(|x, i| {
            (i.kind == ScoreKind::DaysOfUse).then(|| abstinence(x, i).map(AnyChart::Abstinence))
        }),
        each(|x, i| trend(x, i).map(|f| f.map(AnyChart::Trend))),
        Box::new(|| {
            x.hours
                .map(|rows| hours(x, rows).map(AnyChart::Hours))
                .into_iter()
                .collect()
        }),
        Box::new(|| {
            super::retention::charts(x.retention)
                .into_iter()
                .map(|c| {
                    // Under protection, a track whose every group is withheld (or blank) is a
                    // notice.
                    let withheld = x.suppress_below.is_some() && c.is_blank();
                    figure(c, withheld, "every group is withheld").map(AnyChart::Retention)
                })
                .collect()
        }),
        Box::new(|| {
            funnels(x)
                .into_iter()
                .map(|f| f.map(AnyChart::Funnel))
                .collect()
        }),
        Box::new(|| {
            x.longitudinal
                .iter()
                .map(|r| r.instrument.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter_map(|id| trajectory(x, id))
                .map(|f| f.map(AnyChart::Trajectory))
                .collect()
        }),
    ];
    parts.par_iter().flat_map_iter(|part| part()).collect()
}

/// `chart`, or the notice saying `reason` in its place when `withheld` (every point of it
/// withheld by small-cell protection).
fn figure<C: super::Chart>(chart: C, withheld: bool, reason: &str) -> Figure<C> {
    if withheld {
        Figure::Notice(Notice::of(&chart, reason))
    } else {
        Figure::Chart(chart)
    }
}

fn hours(x: &Inputs, rows: &[HoursSummary]) -> Figure<Hours> {
    let withheld = rows.iter().any(|r| r.suppressed)
        && rows
            .iter()
            .all(|r| r.quantiles.is_none() && r.pct_meeting_dose.is_none());
    figure(
        Hours {
            column: x.columns[0].clone(),
            dose: x.dose_hours,
            rows: rows.to_vec(),
        },
        withheld,
        "every group is withheld",
    )
}

/// Points of the limit curves of a funnel chart: n over a grid from 1 to a little past the
/// largest unit.
const FUNNEL_GRID: u64 = 400;

/// One funnel chart per indicator (and instrument) of benchmark.csv, in its row order. Under
/// protection, an indicator whose target is withheld (with it every control limit) or whose
/// every unit is withheld is a notice; without a target for want of data, no chart.
fn funnels(x: &Inputs) -> Vec<Figure<Funnel>> {
    use crate::stats::funnel::binomial_limits;
    let indicators: Vec<&[BenchmarkRow]> = x
        .benchmark
        .chunk_by(|a, b| a.indicator == b.indicator && a.instrument == b.instrument)
        .collect();
    indicators
        .into_par_iter()
        .filter_map(|rows| {
            let withheld = rows.iter().any(|r| r.suppressed);
            let points: Vec<FunnelPoint> = rows
                .iter()
                .filter_map(|r| {
                    Some(FunnelPoint {
                        label: r.unit.clone(),
                        n: r.n?,
                        proportion: r.proportion?,
                        flag: r.shown_flag()?,
                    })
                })
                .collect();
            let target = rows.iter().find_map(|r| r.target);
            let first = &rows[0];
            let chart =
                |target: f64, curves: Vec<(f64, [f64; 4])>, points: Vec<FunnelPoint>| Funnel {
                    indicator: first.indicator.as_str().to_string(),
                    instrument: first.instrument.clone(),
                    describe: first.indicator.describe().to_string(),
                    column: x.benchmark_by.to_string(),
                    target,
                    curves,
                    suppressed: rows.len() - points.len(),
                    points,
                };
            let Some(target) = target else {
                // Only the notice's name and title are read from this chart.
                let notice = Notice::of(
                    &chart(0.0, Vec::new(), Vec::new()),
                    "its target and control limits are withheld",
                );
                return withheld.then_some(Figure::Notice(notice));
            };
            let max_n = points.iter().map(|p| p.n).max().unwrap_or(10).max(10);
            let top = (max_n as f64 * 1.08).ceil() as u64;
            let mut grid: Vec<u64> = (0..=FUNNEL_GRID)
                .map(|k| 1 + (top - 1) * k / FUNNEL_GRID)
                .collect();
            grid.dedup();
            let curves = grid
                .into_iter()
                .filter_map(|n| {
                    let l = binomial_limits(n, target)?;
                    Some((n as f64, [l.low_998, l.low_95, l.high_95, l.high_998]))
                })
                .collect();
            let reason = if x.benchmark_by == "site" {
                "every site is withheld"
            } else {
                "every unit is withheld"
            };
            let empty = points.is_empty();
            Some(figure(
                chart(target, curves, points),
                withheld && empty,
                reason,
            ))
        })
        .collect()
}

/// The mixed model's trajectories of an instrument (longitudinal.csv, track `All`): all
/// modalities first, then each modality; `None` without a row, a notice when every row is
/// withheld.
fn trajectory(x: &Inputs, id: &str) -> Option<Figure<TrajectoryChart>> {
    let mut rows: Vec<&LongitudinalRow> = x
        .longitudinal
        .iter()
        .filter(|r| r.instrument == id && r.track == ALL)
        .collect();
    if rows.is_empty() {
        return None;
    }
    rows.sort_by_key(|r| r.modality != ALL);
    let withheld = rows.iter().all(|r| r.n_episodes.is_none());
    let series = rows
        .into_iter()
        .map(|r| {
            // A row withheld by small-cell protection (its count blank): neither its line nor
            // its weekly points are drawn, and the legend says so without its status.
            let withheld = r.n_episodes.is_none();
            let line = r.intercept.zip(r.slope);
            let note = match line {
                _ if withheld => Some(format!("{}: not drawn", kit::SUPPRESSED)),
                Some(_) => None,
                None if r.status != crate::stats::lmm::Status::Ok => {
                    Some(format!("not fitted: {}", r.status.label()))
                }
                None => Some("slope not estimable".into()),
            };
            let weeks = || {
                x.weekly
                    .iter()
                    .filter(|w| !withheld && w.instrument == id && w.modality == r.modality)
            };
            TrajectorySeries {
                label: if r.modality == ALL {
                    "all modalities".into()
                } else {
                    r.modality.clone()
                },
                line: line.filter(|_| !withheld),
                note,
                points: weeks().filter_map(|w| w.mean_t.zip(w.mean_score)).collect(),
                suppressed_points: weeks().filter(|w| w.n.is_none()).count(),
            }
        })
        .collect();
    let chart = TrajectoryChart {
        instrument: id.to_string(),
        unit: x.catalog.get(id).map_or("points", |i| i.unit()).to_string(),
        horizon: x.horizon_weeks,
        series,
    };
    Some(figure(chart, withheld, "every modality is withheld"))
}

fn rows_of<'a>(x: &'a Inputs, i: &'a Instrument) -> impl Iterator<Item = &'a OutcomeRow> + 'a {
    x.outcomes.iter().filter(move |r| r.instrument == i.id)
}

/// Whether the labels are `All` everywhere except column `c` (which is not).
fn only(labels: &[String], c: usize) -> bool {
    labels
        .iter()
        .enumerate()
        .all(|(k, l)| (k == c) != (l == ALL))
}

fn overall(labels: &[String]) -> bool {
    labels.iter().all(|l| l == ALL)
}

fn forest(x: &Inputs, i: &Instrument) -> Figure<Forest> {
    let rows = rows_of(x, i)
        .map(|r| ForestRow {
            label: if overall(&r.labels) {
                "overall".to_string()
            } else {
                r.labels
                    .iter()
                    .map(|l| if l == ALL { "all" } else { l.as_str() })
                    .collect::<Vec<_>>()
                    .join(" · ")
            },
            margin: r.margin,
            mean: r.change_mean,
            ci: r.change_ci_low.zip(r.change_ci_high),
            suppressed: r.suppressed,
        })
        .collect::<Vec<_>>();
    let withheld = rows.iter().any(|r| r.suppressed) && rows.iter().all(|r| r.mean.is_none());
    let chart = Forest {
        instrument: i.id.clone(),
        unit: i.unit().into(),
        higher_is_better: i.higher_is_better(),
        rows,
    };
    figure(chart, withheld, "every group is withheld")
}

fn jacobson_truax(x: &Inputs, i: &Instrument) -> Option<Figure<Scatter>> {
    let index = x.ids.iter().position(|id| *id == i.id)? as u16;
    let points: Vec<(f64, f64)> = x
        .pairs
        .iter()
        .filter(|p| p.instrument == index && x.selected[p.episode as usize])
        .filter_map(|p| p.followup.map(|(f, _)| (p.baseline, f)))
        .collect();
    if points.is_empty() {
        return None;
    }
    let n = points.len() as u64;
    let (width, bins) = scatter::bin(&points, (i.min, i.max));
    let first = x.suppress_below.map_or(10, |b| b.saturating_sub(1).max(1));
    let chart = Scatter {
        instrument: i.id.clone(),
        unit: i.unit().into(),
        range: (i.min, i.max),
        higher_is_better: i.higher_is_better(),
        threshold: i.rci_threshold(),
        cutoff: i.caseness,
        width,
        bins,
        n,
        classes: [
            first,
            first.saturating_mul(10),
            first.saturating_mul(100),
            u64::MAX,
        ],
    };
    let withheld = x.suppress_below.is_some_and(|b| small(Some(n), b));
    Some(figure(
        chart,
        withheld,
        "fewer paired episodes than the reporting threshold",
    ))
}

/// The column the reliable-change bars are by: modality when it is a grouping column.
fn category_column(columns: &[String]) -> usize {
    columns.iter().position(|c| c == "modality").unwrap_or(0)
}

fn categories(x: &Inputs, i: &Instrument) -> Figure<Categories> {
    let c = category_column(x.columns);
    let mut shown: Vec<(&OutcomeRow, String)> = rows_of(x, i)
        .filter(|r| overall(&r.labels))
        .map(|r| (r, "All".into()))
        .collect();
    shown.extend(
        rows_of(x, i)
            .filter(|r| only(&r.labels, c))
            .map(|r| (r, r.labels[c].clone())),
    );
    let withheld = shown.iter().any(|(r, _)| r.suppressed)
        && shown.iter().all(|(r, _)| {
            [r.pct_improved, r.pct_unchanged, r.pct_deteriorated]
                .iter()
                .all(Option::is_none)
        });
    let rows = shown
        .into_iter()
        .map(|(r, label)| CategoryRow {
            label,
            pct: [r.pct_improved, r.pct_unchanged, r.pct_deteriorated],
            n: r.n_paired,
        })
        .collect();
    let chart = Categories {
        instrument: i.id.clone(),
        column: x.columns[c].clone(),
        rows,
    };
    figure(chart, withheld, "every group is withheld")
}

fn abstinence(x: &Inputs, i: &Instrument) -> Figure<AbstinenceChart> {
    let of_instrument = || x.abstinence.iter().filter(|r| r.instrument == i.id);
    let mut shown: Vec<(&AbstinenceRow, String)> = of_instrument()
        .filter(|r| overall(&r.labels))
        .map(|r| (r, "All".into()))
        .collect();
    shown.extend(
        of_instrument()
            .filter(|r| only(&r.labels, 0))
            .map(|r| (r, r.labels[0].clone())),
    );
    let withheld = shown.iter().any(|(r, _)| r.suppressed)
        && shown
            .iter()
            .all(|(r, _)| r.pct_abstinent_baseline.is_none() && r.pct_abstinent_followup.is_none());
    let rows = shown
        .into_iter()
        .map(|(r, label)| AbstinenceBar {
            label,
            before: r.pct_abstinent_baseline,
            after: r.pct_abstinent_followup,
            n: r.n_paired,
        })
        .collect();
    let chart = AbstinenceChart {
        instrument: i.id.clone(),
        column: x.columns[0].clone(),
        rows,
    };
    figure(chart, withheld, "every group is withheld")
}

fn trend(x: &Inputs, i: &Instrument) -> Option<Figure<TrendChart>> {
    let rows: Vec<&TrendRow> = x.trend.iter().filter(|r| r.instrument == i.id).collect();
    if rows.is_empty() {
        return None;
    }
    let mut tracks: Vec<&str> = rows
        .iter()
        .map(|r| r.track.as_str())
        .filter(|t| *t != ALL)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    tracks.insert(0, ALL);
    let series = tracks
        .into_iter()
        .map(|track| {
            let at = |q: &String| {
                let q = q.trim_end_matches(PARTIAL);
                rows.iter().find(|r| r.track == track && r.quarter == q)
            };
            let found: Vec<Option<&&TrendRow>> = x.quarters.iter().map(at).collect();
            Series {
                label: if track == ALL {
                    "all tracks".to_string()
                } else {
                    track.to_string()
                },
                change: found
                    .iter()
                    .map(|r| r.and_then(|r| r.change_mean))
                    .collect(),
                improved: found
                    .iter()
                    .map(|r| r.and_then(|r| r.pct_improved))
                    .collect(),
                suppressed: found
                    .iter()
                    .flatten()
                    .filter(|r| r.suppressed && r.change_mean.is_none())
                    .count(),
                suppressed_improved: found
                    .iter()
                    .flatten()
                    .filter(|r| r.suppressed && r.pct_improved.is_none())
                    .count(),
            }
        })
        .filter(|s: &Series| s.change.iter().chain(&s.improved).any(Option::is_some))
        .collect::<Vec<_>>();
    let chart = |series| TrendChart {
        instrument: i.id.clone(),
        unit: i.unit().into(),
        quarters: x.quarters.to_vec(),
        series,
        has_improved: i.rci_threshold().is_some(),
    };
    // A line with every quarter withheld is not drawn (nor listed in the legend), and a
    // chart with no line left is not drawn at all: a notice takes its place when protection
    // withheld its quarters (nothing when they simply have no figure).
    if series.is_empty() {
        return rows
            .iter()
            .any(|r| r.suppressed)
            .then(|| Figure::Notice(Notice::of(&chart(Vec::new()), "every quarter is withheld")));
    }
    // A track that is the only one (all tracks = that track) would be drawn exactly under
    // the all-tracks line: it is named in that line's label instead of listed twice.
    let mut series = series;
    if series.len() == 2
        && series[0].label == "all tracks"
        && series[0].change == series[1].change
        && series[0].improved == series[1].improved
    {
        let only = series.pop().expect("two series");
        series[0].label = format!("{} = all", only.label);
    }
    Some(Figure::Chart(chart(series)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trend_row(quarter: &str, change: Option<f64>, suppressed: bool) -> TrendRow {
        TrendRow {
            quarter: quarter.into(),
            track: ALL.into(),
            instrument: "PHQ9".into(),
            n_paired: change.map(|_| 12),
            change_mean: change,
            pct_improved: None,
            pct_recovered: None,
            suppressed,
            n_improved: None,
            n_cases: None,
            n_recovered: None,
        }
    }

    /// The trend chart of PHQ9 from `rows`: drawn, a notice, or nothing.
    fn phq9_trend(rows: &[TrendRow]) -> Option<Figure<TrendChart>> {
        let catalog = Catalog::builtin();
        let retention = Retention::default();
        let quarters = ["2025Q1".to_string(), "2025Q2".to_string()];
        let x = Inputs {
            catalog: &catalog,
            ids: &[],
            columns: &[],
            outcomes: &[],
            abstinence: &[],
            trend: rows,
            quarters: &quarters,
            pairs: &[],
            selected: &[],
            hours: None,
            dose_hours: 9.0,
            suppress_below: Some(11),
            retention: &retention,
            benchmark: &[],
            benchmark_by: "site",
            longitudinal: &[],
            weekly: &[],
            horizon_weeks: 8.0,
        };
        trend(&x, catalog.get("PHQ9").unwrap())
    }

    #[test]
    fn a_trend_with_every_quarter_withheld_is_a_notice_and_one_without_figures_nothing() {
        let withheld = [
            trend_row("2025Q1", None, true),
            trend_row("2025Q2", None, true),
        ];
        match phq9_trend(&withheld) {
            Some(Figure::Notice(n)) => {
                assert_eq!(n.kind, crate::charts::ChartKind::Trend);
                assert_eq!(n.name, "trend_PHQ9");
                assert_eq!(
                    n.text(),
                    "PHQ9: quarterly trend by track — not drawn: every quarter is withheld \
                     (small cells)"
                );
            }
            _ => panic!("a notice expected"),
        }
        // Quarters without a figure that protection did not hide: no chart, no notice.
        let empty = [
            trend_row("2025Q1", None, false),
            trend_row("2025Q2", None, false),
        ];
        assert!(phq9_trend(&empty).is_none());
        // One quarter shown: the chart.
        let one = [
            trend_row("2025Q1", Some(-4.0), false),
            trend_row("2025Q2", None, true),
        ];
        assert!(matches!(phq9_trend(&one), Some(Figure::Chart(_))));
    }

    #[test]
    fn margins_are_told_apart() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(only(&l(&["All", "CBT"]), 1));
        assert!(!only(&l(&["mh", "CBT"]), 1));
        assert!(!only(&l(&["All", "All"]), 1));
        assert!(overall(&l(&["All", "All"])));
        assert_eq!(category_column(&l(&["track", "modality"])), 1);
        assert_eq!(category_column(&l(&["site"])), 0);
    }
}
