//! Every table of a run, computed from the paired cohort: the tables are independent of one
//! another, so they are computed concurrently (each one's own work is parallel too), and
//! listed for publishing in the order of the files and the page.

use super::cells::{self, RunKeys};
use super::protection::{self, Link};
use super::retention;
use super::{
    abstinence, ancova, attrition, benchmark, engagement, episodes, longitudinal, outcomes, trend,
};
use crate::cohort::Cohort;
use crate::diag::timed;
use crate::error::Result;
use crate::ingest::Export;
use crate::instruments::Catalog;
use crate::table::{Counted, Rows, MARGIN};
use crate::table::{Published, Tabular};
use std::collections::BTreeMap;

/// What the tables depend on besides the data.
pub struct Settings<'a> {
    pub catalog: &'a Catalog,
    /// The grouping columns of the cells.
    pub groups: &'a [String],
    /// `Some(below)`: small-cell suppression on (SPEC §7).
    pub suppress_below: Option<u64>,
    /// Weekly hours that meet the IOP dose.
    pub dose_hours: f64,
    /// The retention cohort's settings (`None`: no retention tables).
    pub retention: Option<retention::Params>,
    /// The unit column of benchmark.csv (`[benchmark] by`).
    pub benchmark_by: &'a str,
    /// The mixed model's window and horizon (SPEC §12).
    pub longitudinal: crate::config::LongitudinalConfig,
    /// Whether to compute episodes_analysis (SPEC §15 F2, `--episode-data`).
    pub episode_data: bool,
}

/// The typed rows of every table.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    pub outcomes: Vec<outcomes::OutcomeRow>,
    pub abstinence: Vec<abstinence::AbstinenceRow>,
    pub ancova: Vec<ancova::AncovaRow>,
    pub attrition: Vec<attrition::AttritionRow>,
    pub engagement: Vec<engagement::EngagementRow>,
    pub trend: Vec<trend::TrendRow>,
    /// The eight quarters of the trend.
    pub quarters: Vec<String>,
    /// Weekly hours per value of the first grouping column (`None`: no attendance.csv).
    pub hours: Option<Vec<engagement::HoursSummary>>,
    /// retention.csv and retention_tests.csv (SPEC §13).
    pub retention: retention::Retention,
    pub benchmark: Vec<benchmark::BenchmarkRow>,
    /// longitudinal.csv's rows and the page's dropout comparison and trajectories.
    pub longitudinal: longitudinal::Longitudinal,
    /// episodes_analysis (SPEC §15 F2): `Some` with `--episode-data`; never protected, so
    /// never kept under suppression ([`Tables::protect`] drops it).
    pub episodes: Option<Vec<episodes::EpisodeRow>>,
}

impl Tables {
    /// Computes every table, unsuppressed ([`Tables::protect`] blanks what must be).
    pub fn compute(export: &Export, cohort: &Cohort, s: &Settings) -> Tables {
        let (eps, pairs, selected) = (&export.episodes, &cohort.pairs, &cohort.selected);
        let ids = &export.assessments.instruments;
        let below = None;
        let mut t = Tables {
            quarters: cohort.last.map(trend::quarter_labels).unwrap_or_default(),
            ..Tables::default()
        };
        let Tables {
            outcomes: out,
            abstinence: abst,
            ancova: anc,
            attrition: attr,
            engagement: eng,
            trend: tr,
            hours,
            retention: ret,
            benchmark: bench,
            longitudinal: long,
            episodes: episode_rows,
            ..
        } = &mut t;
        rayon::scope(|scope| {
            scope.spawn(|_| {
                timed("outcomes and abstinence", || {
                    let groups = cells::build(eps, pairs, selected, s.groups, ids);
                    *out = outcomes::rows(&groups, pairs, s.catalog, ids, below);
                    *abst = abstinence::rows(&groups, pairs, s.catalog, ids, below);
                })
            });
            scope.spawn(|_| {
                timed("ancova and attrition", || {
                    *anc = ancova::rows(eps, pairs, selected, ids, below);
                    *attr = attrition::rows(eps, pairs, selected, ids, below);
                })
            });
            scope.spawn(|_| {
                timed("engagement", || {
                    let dose = export.attendance.as_ref();
                    *eng = engagement::rows(eps, selected, s.groups, dose, s.dose_hours, below);
                    *hours = dose.map(|a| {
                        engagement::hours_by_group(
                            eps,
                            selected,
                            &s.groups[0],
                            &a.minutes,
                            s.dose_hours,
                            s.suppress_below,
                        )
                    });
                })
            });
            scope.spawn(|_| {
                timed("trend", || {
                    if let Some(last) = cohort.last {
                        *tr = trend::rows(eps, pairs, &cohort.anchors, last, s.catalog, ids, below);
                    }
                })
            });
            scope.spawn(|_| {
                timed("retention", || {
                    if let Some(p) = &s.retention {
                        *ret = retention::compute(eps, s.groups, p);
                    }
                })
            });
            scope.spawn(|_| {
                timed("benchmark", || {
                    let input = benchmark::Input {
                        eps,
                        pairs,
                        selected,
                        catalog: s.catalog,
                        ids,
                        by: s.benchmark_by,
                        minutes: export.attendance.as_ref().map(|a| &a.minutes[..]),
                        dose_hours: s.dose_hours,
                    };
                    *bench = benchmark::rows(&input);
                })
            });
            if s.episode_data {
                scope.spawn(|_| {
                    timed("episode data", || {
                        *episode_rows = Some(episodes::rows(export, cohort, s.catalog, s.groups));
                    })
                });
            }
            scope.spawn(|_| {
                timed("longitudinal", || {
                    *long = longitudinal::compute(
                        eps,
                        &export.assessments,
                        cohort,
                        &s.longitudinal,
                        s.suppress_below,
                    );
                })
            });
        });
        t
    }

    /// Small-cell protection of every director-facing table together (SPEC §11): primary and
    /// complementary blanks over every additive relation within and across the tables, then
    /// the statistics computed from each blank.
    ///
    /// # Errors
    /// An internal error when protection fails (a bug).
    pub fn protect(
        &mut self,
        keys: &RunKeys,
        dose_hours: f64,
        below: u64,
        links: &Links,
    ) -> Result<protection::Outcome> {
        // retention.csv and retention_tests.csv are withheld whole, not protected cell by
        // cell (see `Retention::withhold`); report::audit refuses any row of them. The
        // figures by day 30, 60 and 90 (retention_summary.csv) are protected with the rest.
        self.retention.withhold();
        // Episode-level rows are never published under small-cell protection (the options
        // refuse --episode-data without --no-suppress; this holds whatever the caller).
        self.episodes = None;
        let mut retention_summary = Rows {
            spec: retention::summary::spec(keys),
            rows: &mut self.retention.summary,
        };
        let mut outcomes = Rows {
            spec: outcomes::spec(keys),
            rows: &mut self.outcomes,
        };
        let mut abstinence = Rows {
            spec: abstinence::spec(keys),
            rows: &mut self.abstinence,
        };
        let mut ancova = Rows {
            spec: ancova::spec(keys),
            rows: &mut self.ancova,
        };
        let mut attrition = Rows {
            spec: attrition::spec(keys),
            rows: &mut self.attrition,
        };
        let mut engagement = Rows {
            spec: engagement::spec(keys, dose_hours),
            rows: &mut self.engagement,
        };
        let mut trend = Rows {
            spec: trend::spec(keys),
            rows: &mut self.trend,
        };
        let mut bench = benchmark::Protected::new(keys, &mut self.benchmark);
        let mut longitudinal = Rows {
            spec: longitudinal::spec(keys),
            rows: &mut self.longitudinal.rows,
        };
        let tables: Vec<&mut dyn Counted> = vec![
            &mut outcomes,
            &mut abstinence,
            &mut ancova,
            &mut attrition,
            &mut engagement,
            &mut trend,
            &mut bench,
            &mut longitudinal,
            &mut retention_summary,
        ];
        let mut outcome = protection::protect(tables, &links.all(keys), below)?;
        // longitudinal.csv's text cells that read empty with their count.
        for (row, col) in longitudinal::withheld_text(&self.longitudinal.rows) {
            outcome
                .withheld
                .insert(("longitudinal", row, col.to_string()));
        }
        // ancova.csv's F test: its degrees of freedom give the track's paired episodes.
        for (row, col) in ancova::tests_follow_counts(&mut self.ancova) {
            outcome.withheld.insert(("ancova", row, col.to_string()));
        }
        self.hours_follow_engagement();
        Ok(outcome)
    }

    /// The weekly-hours chart shows a group's size and median and its share meeting the
    /// dose: engagement.csv's n_discharged, median_weekly_hours and pct_meeting_dose for the
    /// same group, so whatever protection withheld there is withheld here too.
    fn hours_follow_engagement(&mut self) {
        let Some(hours) = self.hours.as_mut() else {
            return;
        };
        for h in hours.iter_mut() {
            let row = self.engagement.iter().find(|r| {
                r.labels.first() == Some(&h.label) && r.labels[1..].iter().all(|l| l == MARGIN)
            });
            let (n_shown, pct_shown) = row.map_or((false, false), |r| {
                (
                    r.n_discharged.is_some() && r.median_weekly_hours.is_some(),
                    r.pct_meeting_dose.is_some(),
                )
            });
            if !n_shown {
                h.quantiles = None;
                h.suppressed = true;
            }
            if !pct_shown {
                h.pct_meeting_dose = None;
                h.suppressed = true;
            }
        }
    }

    /// Every table with its description, in the order of the files and the page.
    pub fn published<'a>(
        &'a self,
        keys: &RunKeys,
        dose_hours: f64,
    ) -> Vec<Box<dyn Published + 'a>> {
        vec![
            Box::new((outcomes::spec(keys), self.outcomes.as_slice())),
            Box::new((abstinence::spec(keys), self.abstinence.as_slice())),
            Box::new((ancova::spec(keys), self.ancova.as_slice())),
            Box::new((attrition::spec(keys), self.attrition.as_slice())),
            Box::new((
                engagement::spec(keys, dose_hours),
                self.engagement.as_slice(),
            )),
            Box::new((trend::spec(keys), self.trend.as_slice())),
            Box::new(retention::published(keys, &self.retention)),
            Box::new((
                retention::tests_spec(keys).when_empty(retention::empty_text(&self.retention)),
                self.retention.tests.as_slice(),
            )),
            Box::new((
                retention::summary::spec(keys),
                self.retention.summary.as_slice(),
            )),
            Box::new((benchmark::spec(keys), self.benchmark.as_slice())),
            Box::new((longitudinal::spec(keys), self.longitudinal.rows.as_slice())),
        ]
    }
}

impl Tables {
    /// episodes_analysis with its description, when computed (written, never on the page).
    pub fn episode_data<'a>(&'a self, keys: &RunKeys) -> Option<Box<dyn Tabular + 'a>> {
        self.episodes
            .as_deref()
            .map(|rows| -> Box<dyn Tabular + 'a> { Box::new((episodes::spec(keys), rows)) })
    }
}

/// What the cross-table relations depend on.
pub struct Links {
    /// The instrument ids of the export.
    pub instruments: Vec<String>,
    /// Whether the follow-up point is the discharge (then every cohort episode is
    /// discharged, and a cell's n_episodes is engagement's n_discharged).
    pub discharge_anchor: bool,
    /// The unit column of benchmark.csv (`[benchmark] by`).
    pub benchmark_by: String,
    /// Whether the mixed model's window holds the whole baseline window (its last day ≤
    /// `[longitudinal] max_days`): then every paired episode is in the model, and
    /// longitudinal.csv's n_episodes − n_without_followup is outcomes.csv's n_paired.
    pub longitudinal_has_baselines: bool,
    /// Whether the run covers the whole export (no period): then retention's cohort (every
    /// accepted episode) holds the discharged cohort episodes of engagement.csv.
    pub whole_export: bool,
}

/// Key of a row as (column name, value).
type Key = BTreeMap<String, String>;

impl Links {
    /// The counts the tables publish twice (SPEC §11 D1).
    pub fn all(&self, keys: &RunKeys) -> Vec<Link> {
        let groups = keys.groups.clone();
        // The outcomes row of an instrument and track (or all tracks) with every other
        // grouping column `All`; `None` when the cells are not grouped by track.
        let by_track = move |inst: &str, track: &str| -> Option<Key> {
            if track != MARGIN && !groups.iter().any(|g| g == "track") {
                return None;
            }
            let mut k: Key = groups
                .iter()
                .map(|g| (g.clone(), MARGIN.to_string()))
                .collect();
            if track != MARGIN {
                k.insert("track".into(), track.into());
            }
            k.insert("instrument".into(), inst.into());
            Some(k)
        };
        let by_track = std::sync::Arc::new(by_track);
        let same_key = |k: &Key| Some(k.clone());
        let mut out = vec![
            Link {
                from: "abstinence",
                counts: &["n_paired"],
                into: "outcomes",
                into_count: "n_paired",
                part: false,
                key_of: Box::new(same_key),
            },
            {
                let f = by_track.clone();
                Link {
                    from: "attrition",
                    counts: &["n_followed"],
                    into: "outcomes",
                    into_count: "n_paired",
                    part: false,
                    key_of: Box::new(move |k: &Key| f(&k["instrument"], &k["track"])),
                }
            },
            {
                let f = by_track.clone();
                Link {
                    from: "attrition",
                    counts: &["n_followed", "n_lost"],
                    into: "outcomes",
                    into_count: "n_baseline",
                    part: false,
                    key_of: Box::new(move |k: &Key| f(&k["instrument"], &k["track"])),
                }
            },
        ];
        // The outcomes row of a row keyed by instrument, track and modality (ANCOVA,
        // longitudinal): every other grouping column `All`; `None` when the cells are not
        // grouped by a column the row names.
        let groups = keys.groups.clone();
        let outcomes_row = std::sync::Arc::new(move |k: &Key| -> Option<Key> {
            let grouped = |c: &str| groups.iter().any(|g| g == c);
            if ["track", "modality"]
                .iter()
                .any(|c| k[*c] != MARGIN && !grouped(c))
            {
                return None;
            }
            let mut t: Key = groups
                .iter()
                .map(|g| (g.clone(), k.get(g).cloned().unwrap_or(MARGIN.into())))
                .collect();
            t.insert("instrument".into(), k["instrument"].clone());
            Some(t)
        });
        if ["track", "modality"]
            .iter()
            .all(|c| keys.groups.iter().any(|g| g == c))
        {
            let f = outcomes_row.clone();
            out.push(Link {
                from: "ancova",
                counts: &["n"],
                into: "outcomes",
                into_count: "n_paired",
                part: false,
                key_of: Box::new(move |k: &Key| f(k)),
            });
        }
        // The period's own quarter in the trend is the period's outcomes by track.
        let same: [&'static [&'static str]; 4] = [
            &["n_paired"],
            &["n_improved"],
            &["n_cases"],
            &["n_recovered"],
        ];
        for counts in same {
            let (f, period) = (by_track.clone(), keys.period.clone());
            let into = counts[0];
            out.push(Link {
                from: "trend",
                counts,
                into: "outcomes",
                into_count: into,
                part: false,
                key_of: Box::new(move |k: &Key| {
                    (k["quarter"] == period)
                        .then(|| f(&k["instrument"], &k["track"]))
                        .flatten()
                }),
            });
        }
        // The model's episodes are some of the cell's episodes.
        let f = outcomes_row.clone();
        out.push(Link {
            from: "longitudinal",
            counts: &["n_episodes"],
            into: "outcomes",
            into_count: "n_episodes",
            part: true,
            key_of: Box::new(move |k: &Key| f(k)),
        });
        if self.longitudinal_has_baselines {
            // The model's episodes with a follow-up are the cell's paired episodes.
            let f = outcomes_row.clone();
            out.push(Link {
                from: "longitudinal",
                counts: &["n_followed"],
                into: "outcomes",
                into_count: "n_paired",
                part: false,
                key_of: Box::new(move |k: &Key| f(k)),
            });
            // Every episode with a baseline is in the model (and maybe more).
            let groups = keys.groups.clone();
            out.push(Link {
                from: "outcomes",
                counts: &["n_baseline"],
                into: "longitudinal",
                into_count: "n_episodes",
                part: true,
                key_of: Box::new(move |k: &Key| {
                    if groups
                        .iter()
                        .any(|g| g != "track" && g != "modality" && k[g] != MARGIN)
                    {
                        return None;
                    }
                    let label = |c: &str| k.get(c).cloned().unwrap_or(MARGIN.into());
                    Some(Key::from([
                        ("instrument".to_string(), k["instrument"].clone()),
                        ("track".to_string(), label("track")),
                        ("modality".to_string(), label("modality")),
                    ]))
                }),
            });
        }
        if self.discharge_anchor {
            for inst in &self.instruments {
                let inst = inst.clone();
                out.push(Link {
                    from: "engagement",
                    counts: &["n_discharged"],
                    into: "outcomes",
                    into_count: "n_episodes",
                    part: false,
                    key_of: Box::new(move |k: &Key| {
                        let mut t = k.clone();
                        t.insert("instrument".into(), inst.clone());
                        Some(t)
                    }),
                });
            }
        }
        // Retention's episodes of a group hold engagement's discharged episodes (and those
        // still in care); its completions by day 90 are some of engagement's completions.
        if self.whole_export {
            out.push(Link {
                from: "engagement",
                counts: &["n_discharged"],
                into: "retention_summary",
                into_count: "n_episodes",
                part: true,
                key_of: Box::new(same_key),
            });
            out.push(Link {
                from: "retention_summary",
                counts: &["n_completed_90"],
                into: "engagement",
                into_count: "n_completed",
                part: true,
                key_of: Box::new(same_key),
            });
        }
        out.extend(benchmark::links(keys, &self.benchmark_by));
        out
    }
}
