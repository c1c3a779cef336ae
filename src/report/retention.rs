//! The page's Retention section (SPEC §13 R5), built from retention.csv's and
//! retention_tests.csv's typed rows after suppression: per track and for all tracks, the
//! share dropped out and the share completed by day 30, 60 and 90 with 95% CIs, and the
//! log-rank test of dropout across modalities in one sentence. summary.md shows the same.

use super::summary::escape;
use crate::analysis::cells::ALL;
use crate::analysis::retention::{
    at_mark, AtMark, Retention, RetentionRow, RetentionTestRow, MARKS,
};
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
    /// Withheld whole by small-cell protection: no figure, no chart.
    pub withheld: bool,
    /// What the page says then ([`WITHHELD_TEXT`]), else empty.
    pub note: String,
}

/// What the page and summary.md say when retention is withheld under small-cell protection.
pub const WITHHELD_TEXT: &str = "Retention is withheld from this report: with small-cell protection on, its day-by-day counts and cumulative incidences cannot yet be published without revealing small counts (consecutive days give each day's discharges). Analysts inside the covered entity can run with --no-suppress.";

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
/// figure shown is a lower bound ("at least 21% (shown to day 76)"; not when it is 0).
fn by_marks(group: &[RetentionRow], value: fn(&RetentionRow) -> [Option<f64>; 3]) -> Vec<String> {
    MARKS
        .iter()
        .map(|&m| {
            let r = match at_mark(group, m) {
                AtMark::NotReached => return NOT_YET.to_string(),
                AtMark::Nothing => return figure(Some(0.0), None, None),
                AtMark::Row(r) => r,
            };
            let [p, l, h] = value(r);
            if p.is_some() {
                return figure(p, l, h);
            }
            group
                .iter()
                .rev()
                .filter(|e| e.day < r.day)
                .find_map(|e| value(e)[0].map(|p| (e.day, p)))
                .filter(|&(_, p)| p > 0.0)
                .map_or(SUPPRESSED.to_string(), |(d, p)| {
                    format!("at least {} (shown to day {d})", pct(p))
                })
        })
        .collect()
}

/// The log-rank result of one track as a sentence.
pub fn test_sentence(t: Option<&RetentionTestRow>) -> String {
    let Some(t) = t else {
        return "No log-rank test (no episodes).".to_string();
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
            let group = r.group(track, ALL)?;
            Some(TrackRetention {
                label: if track == ALL {
                    "All tracks".to_string()
                } else {
                    track.clone()
                },
                n: group[0].n_risk.map(|n| n.to_string()).unwrap_or_default(),
                dropout: by_marks(group, |r| {
                    [r.cif_dropout, r.cif_dropout_low, r.cif_dropout_high]
                }),
                completed: by_marks(group, |r| {
                    [r.cif_completed, r.cif_completed_low, r.cif_completed_high]
                }),
                test: test_sentence(r.tests.iter().find(|t| t.track == *track)),
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
        s.push('\n');
        return s;
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
            test_sentence(Some(&row(Some(12.34), Some(3.0), Some(0.0063), false))),
            "Time to dropout differed across modalities (log-rank chi-square 12.3, df 3, p = 0.006)."
        );
        assert_eq!(
            test_sentence(Some(&row(Some(40.0), Some(1.0), Some(1e-9), false))),
            "Time to dropout differed across modalities (log-rank chi-square 40.0, df 1, p < 0.001)."
        );
        assert!(
            test_sentence(Some(&row(Some(1.0), Some(2.0), Some(0.6), false)))
                .starts_with("No clear difference")
        );
        assert!(test_sentence(Some(&row(None, None, None, true))).contains("suppressed"));
        assert!(test_sentence(Some(&row(None, None, None, false))).contains("fewer than two"));
    }

    #[test]
    fn a_blanked_figure_gives_the_published_lower_bound() {
        let r = |day, p: Option<f64>, settled| RetentionRow {
            labels: vec!["All".into()],
            day,
            cif_dropout: p,
            cif_dropout_low: p.map(|p| p * 0.9),
            cif_dropout_high: p.map(|p| p * 1.1),
            settled,
            ..Default::default()
        };
        let group = [
            r(10, Some(0.1), false),
            r(25, None, false),
            r(58, Some(0.2), false),
            r(61, None, false),
            r(84, None, true),
        ];
        let got = by_marks(&group, |r| {
            [r.cif_dropout, r.cif_dropout_low, r.cif_dropout_high]
        });
        assert_eq!(
            got,
            [
                "at least 10% (shown to day 10)",
                "20% (95% CI 18% to 22%)",
                "at least 20% (shown to day 58)"
            ]
        );
        let early = [r(25, None, false), r(40, Some(0.2), false)];
        let got = by_marks(&early, |r| [r.cif_dropout, None, None]);
        assert_eq!(got, [SUPPRESSED, NOT_YET, NOT_YET]);
        // Nothing before the first row, which is after day 30.
        let late = [r(53, Some(1.0), true)];
        let got = by_marks(&late, |r| [r.cif_dropout, None, None]);
        assert_eq!(got, ["0% (none yet)", "100%", "100%"]);
    }
}
