//! episodes_analysis.csv and .parquet (SPEC §15 F2, `run --episode-data`): the episode-level
//! data behind outcomes.csv and engagement.csv, for researchers. One row per cohort episode ×
//! instrument with a baseline (the pairs of the period's cohort), sorted by episode id then
//! instrument id (byte order): the grouping columns, admission and discharge, length of stay,
//! discharge reason, baseline and follow-up (date and score; empty when lost to follow-up),
//! change, and what the episode counts towards in outcomes.csv by the same rules
//! ([`outcomes::paired_outcome`]: reliable change, case at baseline, recovery, response,
//! remission), with weekly hours and sessions attended as engagement.csv computes them.
//!
//! It is not small-cell protected (every row is one episode), so the run writes it only with
//! `--no-suppress` and never shows it on the page. `episode_id` is the export's own key (the
//! export is de-identified: SPEC §3's PHI guard), kept so that researchers can link rows to
//! the export; the client id is left out.

use super::cells::RunKeys;
use super::engagement;
use super::outcomes::{self, PairedOutcome};
use crate::cohort::Cohort;
use crate::dates::Day;
use crate::ingest::Export;
use crate::instruments::Catalog;
use crate::table::{Cell, Column, Kind, TableSpec};
use rayon::prelude::*;
use std::sync::Arc;

/// The file stem: episodes_analysis.csv, episodes_analysis.parquet.
pub const NAME: &str = "episodes_analysis";

/// What an episode's rows share (one copy per episode, whatever its number of instruments).
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeFacts {
    pub id: String,
    /// One per grouping column (`None`: not recorded in the export).
    pub groups: Vec<Option<String>>,
    pub admit: Day,
    pub discharge: Option<Day>,
    pub discharge_reason: Option<String>,
    /// As engagement.csv: attended minutes / 60 / max(1, (los + 1) / 7); `None` without
    /// attendance.csv or a discharge.
    pub weekly_hours: Option<f64>,
    /// Sessions with attended minutes; `None` without attendance.csv.
    pub sessions: Option<u64>,
}

impl EpisodeFacts {
    /// Days from admission to discharge.
    pub fn los_days(&self) -> Option<i32> {
        self.discharge.map(|d| d - self.admit)
    }
}

/// One row of episodes_analysis: an episode × instrument with a baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeRow {
    pub episode: Arc<EpisodeFacts>,
    pub instrument: Arc<str>,
    pub baseline_date: Day,
    pub baseline: f64,
    /// Score and date; `None`: lost to follow-up.
    pub followup: Option<(f64, Day)>,
    /// Reliable change, caseness, recovery, response, remission (empty where they do not
    /// apply; recovery, response and remission need a follow-up).
    pub outcome: PairedOutcome,
}

impl EpisodeRow {
    /// Follow-up minus baseline.
    pub fn change(&self) -> Option<f64> {
        self.followup.map(|(f, _)| f - self.baseline)
    }
}

/// The rows of the period's cohort (see the module doc), sorted by (episode id, instrument).
pub fn rows(
    export: &Export,
    cohort: &Cohort,
    catalog: &Catalog,
    groups: &[String],
) -> Vec<EpisodeRow> {
    let eps = &export.episodes;
    let ids = &export.assessments.instruments;
    let attendance = export.attendance.as_ref();
    let instruments: Vec<Arc<str>> = ids.iter().map(|i| Arc::from(i.as_str())).collect();
    let mut facts: Vec<Option<Arc<EpisodeFacts>>> = vec![None; eps.len()];
    let mut rows = Vec::new();
    for p in cohort
        .pairs
        .iter()
        .filter(|p| cohort.selected[p.episode as usize])
    {
        let e = p.episode as usize;
        let episode = facts[e]
            .get_or_insert_with(|| {
                let los = eps.discharge[e].map(|d| d - eps.admit[e]);
                Arc::new(EpisodeFacts {
                    id: eps.id[e].clone(),
                    groups: groups
                        .iter()
                        .map(|g| eps.text(g, e).map(str::to_string))
                        .collect(),
                    admit: eps.admit[e],
                    discharge: eps.discharge[e],
                    discharge_reason: eps.discharge_reason[e].clone(),
                    weekly_hours: attendance
                        .zip(los)
                        .map(|(a, los)| engagement::weekly_hours(a.minutes[e], los)),
                    sessions: attendance.map(|a| a.sessions[e]),
                })
            })
            .clone();
        let inst = catalog
            .get(&ids[p.instrument as usize])
            .expect("instrument of an accepted row");
        rows.push(EpisodeRow {
            episode,
            instrument: Arc::clone(&instruments[p.instrument as usize]),
            baseline_date: p.baseline_date,
            baseline: p.baseline,
            followup: p.followup,
            outcome: p
                .followup
                .map(|(f, _)| outcomes::paired_outcome(inst, p.baseline, f))
                .unwrap_or(PairedOutcome {
                    case: outcomes::is_case(inst, p.baseline),
                    ..PairedOutcome::default()
                }),
        });
    }
    // Episode ids are unique (validation quarantines duplicates): the order is total.
    rows.par_sort_unstable_by(|a, b| {
        (a.episode.id.as_str(), &*a.instrument).cmp(&(b.episode.id.as_str(), &*b.instrument))
    });
    rows
}

fn date(d: Option<Day>) -> Cell {
    d.map_or(Cell::Empty, Cell::Date)
}

fn text(t: Option<&str>) -> Cell {
    t.map_or(Cell::Empty, Cell::text)
}

fn flag(b: Option<bool>) -> Cell {
    b.map_or(Cell::Empty, Cell::Bool)
}

/// episodes_analysis's description: the run's keys, episode_id, the grouping columns (empty
/// where the export has no value), instrument, then the episode's facts and outcomes (see
/// the module doc). A grouping column that is also a fact (discharge_reason) is written once,
/// among the grouping columns.
pub fn spec(keys: &RunKeys) -> TableSpec<EpisodeRow> {
    type R = EpisodeRow;
    let grouped = |name: &str| keys.groups.iter().any(|g| g == name);
    let mut spec = TableSpec::new(
        NAME,
        "Episode-level data",
        "One row per cohort episode and instrument with a baseline (written with --episode-data and --no-suppress only; not on the page).",
    )
    .columns(keys.run_columns())
    .column(Column::new("episode_id", text_of(|r| r.episode.id.clone())))
    .columns(keys.groups.iter().enumerate().map(|(i, g)| {
        Column::typed(g.clone(), Kind::Text, move |r: &R| {
            text(r.episode.groups[i].as_deref())
        })
    }))
    .column(Column::new("instrument", text_of(|r| r.instrument.to_string())))
    .columns([
        Column::typed("admit_date", Kind::Date, |r: &R| Cell::Date(r.episode.admit)),
        Column::typed("discharge_date", Kind::Date, |r: &R| date(r.episode.discharge)),
        Column::typed("los_days", Kind::Int, |r: &R| {
            Cell::count(r.episode.los_days().and_then(|d| u64::try_from(d).ok()))
        }),
    ]);
    if !grouped("discharge_reason") {
        spec = spec.column(Column::typed("discharge_reason", Kind::Text, |r: &R| {
            text(r.episode.discharge_reason.as_deref())
        }));
    }
    spec.columns([
        Column::typed("baseline_date", Kind::Date, |r: &R| {
            Cell::Date(r.baseline_date)
        }),
        Column::typed("baseline_score", Kind::Float, |r: &R| Cell::Num(r.baseline)),
        Column::typed("followup_date", Kind::Date, |r: &R| {
            date(r.followup.map(|(_, d)| d))
        }),
        Column::typed("followup_score", Kind::Float, |r: &R| {
            Cell::opt(r.followup.map(|(f, _)| f))
        }),
        Column::typed("change", Kind::Float, |r: &R| Cell::opt(r.change())),
        Column::typed("reliable_change", Kind::Text, |r: &R| {
            text(r.outcome.reliable.map(outcomes::Reliable::as_str))
        }),
        Column::typed("case_baseline", Kind::Bool, |r: &R| flag(r.outcome.case)),
        Column::typed("recovered", Kind::Bool, |r: &R| flag(r.outcome.recovered)),
        Column::typed("response", Kind::Bool, |r: &R| flag(r.outcome.response)),
        Column::typed("remission", Kind::Bool, |r: &R| flag(r.outcome.remission)),
        Column::typed("weekly_hours", Kind::Float, |r: &R| {
            Cell::opt(r.episode.weekly_hours)
        }),
        Column::typed("sessions_attended", Kind::Int, |r: &R| {
            Cell::count(r.episode.sessions)
        }),
    ])
}

/// A text column read from the row.
fn text_of(
    f: impl Fn(&EpisodeRow) -> String + Send + Sync + 'static,
) -> crate::table::Access<EpisodeRow> {
    crate::table::Access::Text(Arc::new(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cohort::{Pair, PairingRules};
    use crate::config::{Anchor, FollowupConfig};
    use crate::ingest::{Attendance, Attended, Episodes};

    /// Three episodes (E2 still in care) and their PHQ9 and DAYS_USED pairs.
    fn export() -> Export {
        let mut e = Episodes::default();
        for (id, track, admit, discharge, reason) in [
            ("E3", "mh", 0, Some(20), Some("completed")),
            ("E1", "su", 10, Some(24), Some("left_early")),
            ("E2", "mh", 5, None, None),
        ] {
            e.id.push(id.into());
            e.client.push(format!("C{id}"));
            e.track.push(track.into());
            e.modality.push("CBT".into());
            e.admit.push(admit);
            e.discharge.push(discharge);
            e.discharge_reason.push(reason.map(String::from));
            for v in [
                &mut e.site,
                &mut e.delivery,
                &mut e.age_group,
                &mut e.sex,
                &mut e.race_ethnicity,
            ] {
                v.push(None);
            }
        }
        let n = e.len();
        Export {
            episodes: e,
            assessments: crate::ingest::Assessments {
                instruments: vec!["PHQ9".into(), "DAYS_USED".into()],
                ..Default::default()
            },
            attendance: Some(Attended::of(
                &Attendance {
                    episode: vec![0, 0, 1, 2],
                    date: vec![0; 4],
                    service: vec![0; 4],
                    minutes: vec![180, 0, 120, 60],
                    services: vec![None],
                },
                n,
            )),
            accounts: Vec::new(),
            quarantine: Vec::new(),
            fingerprints: [None; 3],
            unknown: Vec::new(),
            files: Default::default(),
        }
    }

    fn cohort(pairs: Vec<Pair>) -> Cohort {
        Cohort {
            rules: PairingRules {
                baseline: [-14, 14],
                followup_name: "day90".into(),
                followup: FollowupConfig {
                    anchor: Anchor::Admit,
                    target_days: Some(90),
                    window: [-14, 14],
                    min_gap_days: 7,
                },
            },
            anchors: vec![Some(90), Some(100), Some(95)],
            pairs,
            selected: vec![true, true, true],
            size: 3,
            active: 0,
            last: None,
        }
    }

    fn pair(episode: u32, instrument: u16, b: f64, f: Option<f64>) -> Pair {
        Pair {
            episode,
            instrument,
            baseline: b,
            baseline_date: 1,
            followup: f.map(|f| (f, 90)),
        }
    }

    #[test]
    fn rows_follow_the_outcome_rules_and_sort_by_episode_then_instrument() {
        let x = export();
        let c = cohort(vec![
            pair(0, 0, 18.0, Some(4.0)),
            pair(2, 0, 12.0, None),
            pair(1, 0, 9.0, Some(11.0)),
            pair(0, 1, 20.0, Some(3.0)),
        ]);
        let catalog = Catalog::builtin();
        let groups = vec!["track".to_string(), "site".to_string()];
        let r = rows(&x, &c, &catalog, &groups);
        let keys: Vec<(&str, &str)> = r
            .iter()
            .map(|r| (r.episode.id.as_str(), &*r.instrument))
            .collect();
        assert_eq!(
            keys,
            [
                ("E1", "PHQ9"),
                ("E2", "PHQ9"),
                ("E3", "DAYS_USED"),
                ("E3", "PHQ9")
            ]
        );
        // E3 PHQ9, 18 -> 4: a case, reliably improved and recovered, response, remission.
        let e3 = &r[3];
        assert_eq!(e3.change(), Some(-14.0));
        assert_eq!(
            e3.outcome,
            PairedOutcome {
                reliable: Some(outcomes::Reliable::Improved),
                case: Some(true),
                recovered: Some(true),
                response: Some(true),
                remission: Some(true),
            }
        );
        // Both of E3's rows share its facts: 180 minutes over a 20-day stay (3 weeks).
        assert!(Arc::ptr_eq(&r[2].episode, &e3.episode));
        assert_eq!(e3.episode.los_days(), Some(20));
        assert_eq!(e3.episode.weekly_hours, Some(1.0));
        assert_eq!(e3.episode.sessions, Some(1));
        assert_eq!(e3.episode.groups, [Some("mh".to_string()), None]);
        // E1, 9 -> 11: not a case (cutoff 10), unchanged; the case rules do not apply.
        assert_eq!(
            r[0].outcome,
            PairedOutcome {
                reliable: Some(outcomes::Reliable::Unchanged),
                case: Some(false),
                ..Default::default()
            }
        );
        // E2 lost and still in care: caseness only; no weekly hours without a discharge.
        assert_eq!((r[1].followup, r[1].change()), (None, None));
        assert_eq!(
            r[1].outcome,
            PairedOutcome {
                case: Some(true),
                ..Default::default()
            }
        );
        assert_eq!(
            (
                r[1].episode.los_days(),
                r[1].episode.weekly_hours,
                r[1].episode.sessions
            ),
            (None, None, Some(1))
        );
    }

    #[test]
    fn the_file_has_the_spec_columns_typed_with_blanks_for_missing_values() {
        let x = export();
        let c = cohort(vec![pair(2, 0, 12.0, None)]);
        let groups = vec!["track".to_string(), "discharge_reason".to_string()];
        let r = rows(&x, &c, &Catalog::builtin(), &groups);
        let keys = RunKeys {
            period: "all".into(),
            followup: "day90".into(),
            groups: groups.clone(),
        };
        let t = spec(&keys).render(&r);
        assert_eq!(
            t.header.join(","),
            "period,followup,episode_id,track,discharge_reason,instrument,admit_date,discharge_date,los_days,baseline_date,baseline_score,followup_date,followup_score,change,reliable_change,case_baseline,recovered,response,remission,weekly_hours,sessions_attended"
        );
        assert_eq!(t.kinds[6], Kind::Date);
        assert_eq!(t.kinds[8], Kind::Int);
        let row = &t.rows[0];
        assert_eq!(row[2], Cell::text("E2"));
        assert_eq!(row[4], Cell::Empty, "discharge reason not recorded");
        assert_eq!(row[6], Cell::Date(5));
        assert_eq!((&row[7], &row[8]), (&Cell::Empty, &Cell::Empty));
        assert_eq!(row[10], Cell::Num(12.0));
        assert_eq!(row[15], Cell::Bool(true));
        assert_eq!((&row[16], &row[19]), (&Cell::Empty, &Cell::Empty));
        assert_eq!(row[20], Cell::Int(1));
    }
}
