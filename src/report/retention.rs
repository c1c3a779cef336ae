//! The page's Retention section (SPEC §13 R5), built from retention_summary.csv's and
//! retention_tests.csv's typed rows after suppression: per track and for all tracks, the
//! share dropped out and the share completed by day 30, 60 and 90 with 95% CIs, and the
//! log-rank test of dropout across modalities in one sentence. summary.md shows the same.
//! Under small-cell protection the day-by-day rows (and the test) are withheld and the
//! figures by day 30, 60 and 90 are published where they reveal no small count.

use super::summary::escape;
use crate::analysis::cells::ALL;
use crate::analysis::retention::summary::{Reported, SummaryRow};
use crate::analysis::retention::{Retention, RetentionTestRow, MARKS};
use crate::dates;
use crate::table::{Cell, Format};
use serde::Serialize;

/// The Retention section.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionView {
    /// One line per track, all tracks first.
    pub tracks: Vec<TrackRetention>,
    /// The cohort and censoring rule of the run, as a sentence (for Methods).
    pub cohort: String,
    /// The day-by-day rows withheld by small-cell protection: no curves, no test.
    pub withheld: bool,
    /// What the page says then ([`WITHHELD_TEXT`]), else empty.
    pub note: String,
}

/// What the page and summary.md say when retention is withheld under small-cell protection.
pub const WITHHELD_TEXT: &str = "With small-cell protection on, only the figures by day 30, 60 and 90 are published (where they reveal no small count); the day-by-day figures and the log-rank tests are withheld, since consecutive days would give each day's discharges, and the dropout charts show those three days only. Analysts inside the covered entity can run with --no-suppress.";

/// One track's retention figures.
#[derive(Debug, Clone, Serialize)]
pub struct TrackRetention {
    /// "All tracks" or the track's label.
    pub label: String,
    /// Episodes admitted in the period (empty when suppressed).
    pub n: String,
    /// Dropped out by day 30, 60 and 90.
    pub dropout: Vec<String>,
    /// Completed by day 30, 60 and 90.
    pub completed: Vec<String>,
    /// The log-rank test, as a sentence.
    pub test: String,
}

/// What a figure reads where follow-up does not reach its day.
pub const NOT_YET: &str = "not yet observed";
/// What a figure reads where it is blanked.
pub const SUPPRESSED: &str = "suppressed (small counts)";

fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

/// A cumulative incidence with its 95% CI, as a reader sees it.
fn figure(p: Option<f64>, low: Option<f64>, high: Option<f64>) -> String {
    match (p, low, high) {
        (None, ..) => SUPPRESSED.to_string(),
        (Some(0.0), ..) => "0% (none yet)".to_string(),
        (Some(p), Some(l), Some(h)) => format!("{} (95% CI {} to {})", pct(p), pct(l), pct(h)),
        (Some(p), ..) => pct(p),
    }
}

/// The figures of one group by each of [`MARKS`]. Where the figure at a mark is blanked,
/// the coarser truth that is published: the incidence never decreases, so the latest earlier
/// figure shown is a lower bound ("at least 21% (shown to day 30)"; not when it is 0).
fn by_marks(row: &SummaryRow, what: Reported) -> Vec<String> {
    (0..MARKS.len())
        .map(|k| {
            if !row.reaches(k) {
                return NOT_YET.to_string();
            }
            let f = row.figure(what, k);
            if f.cif.is_some() {
                return figure(f.cif, f.low, f.high);
            }
            (0..k)
                .rev()
                .find_map(|j| row.figure(what, j).cif.map(|p| (MARKS[j], p)))
                .filter(|&(_, p)| p > 0.0)
                .map_or(SUPPRESSED.to_string(), |(d, p)| {
                    format!("at least {} (shown to day {d})", pct(p))
                })
        })
        .collect()
}

/// The log-rank result of one track as a sentence.
pub fn test_sentence(t: Option<&RetentionTestRow>, withheld: bool) -> String {
    let Some(t) = t else {
        return if withheld {
            "The log-rank test across modalities is withheld (small-cell protection).".to_string()
        } else {
            "No log-rank test (no episodes).".to_string()
        };
    };
    match (t.chisq, t.df, t.p) {
        (Some(x), Some(df), Some(p)) => {
            let p_text = match Format::P.show(&Cell::Num(p)) {
                s if s.starts_with('<') => format!("p {s}"),
                s => format!("p = {s}"),
            };
            let stat = format!(
                "log-rank chi-square {x:.1}, df {}, {p_text}",
                Format::Df.show(&Cell::Num(df))
            );
            if p < 0.05 {
                format!("Time to dropout differed across modalities ({stat}).")
            } else {
                format!("No clear difference in time to dropout across modalities ({stat}).")
            }
        }
        _ if t.suppressed => {
            "The log-rank test across modalities is suppressed (small counts).".to_string()
        }
        _ => "No log-rank test: fewer than two modalities with expected dropouts.".to_string(),
    }
}

/// The Retention section (`None` when the analysis was not run).
pub fn view(r: &Retention) -> Option<RetentionView> {
    let p = r.params.as_ref()?;
    let mut tracks = vec![ALL.to_string()];
    tracks.extend(r.labels_of("track", ALL));
    let lines = tracks
        .iter()
        .filter_map(|track| {
            let group = r.summary_of(track, ALL)?;
            Some(TrackRetention {
                label: if track == ALL {
                    "All tracks".to_string()
                } else {
                    track.clone()
                },
                n: group.n_episodes.map(|n| n.to_string()).unwrap_or_default(),
                dropout: by_marks(group, Reported::Dropout),
                completed: by_marks(group, Reported::Completed),
                test: test_sentence(r.tests.iter().find(|t| t.track == *track), r.withheld),
            })
        })
        .collect();
    let admitted = match p.admitted {
        None => "every accepted episode".to_string(),
        Some(_) => "the episodes admitted in the period".to_string(),
    };
    let through = if p.data_through.given {
        format!(
            "{} (given with --data-through)",
            dates::iso(p.data_through.day)
        )
    } else {
        format!(
            "{}, the latest date in the export",
            dates::iso(p.data_through.day)
        )
    };
    Some(RetentionView {
        withheld: r.withheld,
        note: if r.withheld {
            WITHHELD_TEXT.to_string()
        } else {
            String::new()
        },
        tracks: lines,
        cohort: format!(
            "Retention: {admitted}, followed from admission to discharge; episodes still in care are followed to {through}. Dropout: a discharge reason of {}; completed: completed; every other reason, or none, is another discharge.",
            p.dropout_reasons.join(", ")
        ),
    })
}

/// summary.md's Retention section.
pub fn summary(v: &RetentionView) -> String {
    let mut s = String::from("\n## Retention\n\n");
    if v.withheld {
        s.push_str(WITHHELD_TEXT);
        s.push_str("\n\n");
    }
    let days = MARKS.map(|m| format!("day {m}"));
    for t in &v.tracks {
        let n = match t.n.as_str() {
            "" => String::new(),
            "1" => " (1 episode)".to_string(),
            n => format!(" ({n} episodes)"),
        };
        let list = |figures: &[String]| {
            days.iter()
                .zip(figures)
                .map(|(d, f)| format!("by {d} {f}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        s.push_str(&format!(
            "- {}{n}: dropped out {}; completed {}. {}\n",
            escape(&t.label),
            list(&t.dropout),
            list(&t.completed),
            t.test
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_and_sentences_read_plainly() {
        assert_eq!(
            figure(Some(0.1234), Some(0.1), Some(0.15)),
            "12% (95% CI 10% to 15%)"
        );
        assert_eq!(figure(Some(0.0), None, None), "0% (none yet)");
        assert_eq!(figure(None, None, None), SUPPRESSED);
        let row = |chisq, df, p, suppressed| RetentionTestRow {
            track: "a".into(),
            chisq,
            df,
            p,
            suppressed,
            ..Default::default()
        };
        assert_eq!(
            test_sentence(Some(&row(Some(12.34), Some(3.0), Some(0.0063), false)), false),
            "Time to dropout differed across modalities (log-rank chi-square 12.3, df 3, p = 0.006)."
        );
        assert_eq!(
            test_sentence(Some(&row(Some(40.0), Some(1.0), Some(1e-9), false)), false),
            "Time to dropout differed across modalities (log-rank chi-square 40.0, df 1, p < 0.001)."
        );
        assert!(
            test_sentence(Some(&row(Some(1.0), Some(2.0), Some(0.6), false)), false)
                .starts_with("No clear difference")
        );
        assert!(test_sentence(Some(&row(None, None, None, true)), false).contains("suppressed"));
        assert!(
            test_sentence(Some(&row(None, None, None, false)), false).contains("fewer than two")
        );
    }

    #[test]
    fn a_blanked_figure_gives_the_published_lower_bound() {
        let row = SummaryRow {
            followed_to_day: Some(90.0),
            n_dropout_30: Some(12),
            cif_dropout_30: Some(0.1),
            cif_dropout_30_low: Some(0.09),
            cif_dropout_30_high: Some(0.11),
            n_dropout_60: Some(24),
            cif_dropout_60: Some(0.2),
            cif_dropout_60_low: Some(0.18),
            cif_dropout_60_high: Some(0.22),
            ..Default::default()
        };
        assert_eq!(
            by_marks(&row, Reported::Dropout),
            [
                "10% (95% CI 9% to 11%)",
                "20% (95% CI 18% to 22%)",
                "at least 20% (shown to day 60)"
            ]
        );
        // Blank at day 30, follow-up to day 60 only.
        let early = SummaryRow {
            followed_to_day: Some(60.0),
            cif_completed_60: Some(0.2),
            ..Default::default()
        };
        assert_eq!(
            by_marks(&early, Reported::Completed),
            [SUPPRESSED, "20%", NOT_YET]
        );
        // Nothing by day 30 (0, no limits), then blanks: 0 is no lower bound worth saying.
        let none_yet = SummaryRow {
            followed_to_day: Some(90.0),
            n_dropout_30: Some(0),
            cif_dropout_30: Some(0.0),
            ..Default::default()
        };
        assert_eq!(
            by_marks(&none_yet, Reported::Dropout),
            ["0% (none yet)", SUPPRESSED, SUPPRESSED]
        );
        assert_eq!(
            by_marks(&SummaryRow::default(), Reported::Dropout),
            [NOT_YET, NOT_YET, NOT_YET]
        );
        assert!(test_sentence(None, true).contains("withheld"));
        assert!(test_sentence(None, false).contains("no episodes"));
    }
}
