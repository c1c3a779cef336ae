//! attrition.csv (SPEC §6, §10 S10): the GPRA retention-bias check. Per instrument × track
//! (plus `All`), cohort episodes with a baseline and no follow-up (lost) against those paired
//! (followed): baseline means and Welch's `t.test(lost, followed)`.

use super::cells::ALL;
use super::suppress::small;
use crate::cohort::Pair;
use crate::ingest::Episodes;
use crate::stats::{self, ttest};
use crate::table::{Cell, Table};
use rustc_hash::FxHashMap;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AttritionRow {
    pub instrument: String,
    pub track: String,
    pub n_followed: Option<u64>,
    pub n_lost: Option<u64>,
    pub baseline_mean_followed: Option<f64>,
    pub baseline_mean_lost: Option<f64>,
    pub t: Option<f64>,
    pub df: Option<f64>,
    pub p: Option<f64>,
    pub suppressed: bool,
}

/// Baselines of the followed and of the lost.
type FollowedAndLost = (Vec<f64>, Vec<f64>);

pub fn rows(
    eps: &Episodes,
    pairs: &[Pair],
    selected: &[bool],
    ids: &[String],
    suppress_below: Option<u64>,
) -> Vec<AttritionRow> {
    // (instrument id, track) -> (followed baselines, lost baselines); keyed on ids and
    // borrowed labels so no string is copied per pair.
    let mut groups: FxHashMap<(u16, &str), FollowedAndLost> = FxHashMap::default();
    for p in pairs.iter().filter(|p| selected[p.episode as usize]) {
        for track in [eps.track[p.episode as usize].as_str(), ALL] {
            let g = groups.entry((p.instrument, track)).or_default();
            if p.followup.is_some() {
                g.0.push(p.baseline);
            } else {
                g.1.push(p.baseline);
            }
        }
    }
    let mut groups: Vec<((&str, &str), FollowedAndLost)> = groups
        .into_iter()
        .map(|((i, track), g)| ((ids[i as usize].as_str(), track), g))
        .collect();
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    groups
        .into_iter()
        .map(|((instrument, track), (followed, lost))| {
            let welch = ttest::welch(&lost, &followed);
            let mut r = AttritionRow {
                instrument: instrument.to_string(),
                track: track.to_string(),
                n_followed: Some(followed.len() as u64),
                n_lost: Some(lost.len() as u64),
                baseline_mean_followed: stats::mean(&followed),
                baseline_mean_lost: stats::mean(&lost),
                t: welch.map(|w| w.0),
                df: welch.map(|w| w.1),
                p: welch.map(|w| w.2),
                suppressed: false,
            };
            if let Some(below) = suppress_below {
                if small(r.n_followed, below) {
                    r.n_followed = None;
                    r.baseline_mean_followed = None;
                    r.suppressed = true;
                }
                if small(r.n_lost, below) {
                    r.n_lost = None;
                    r.baseline_mean_lost = None;
                    r.suppressed = true;
                }
                if r.suppressed {
                    r.t = None;
                    r.df = None;
                    r.p = None;
                }
            }
            r
        })
        .collect()
}

pub fn table(rows: &[AttritionRow]) -> Table {
    let header = [
        "instrument",
        "track",
        "n_followed",
        "n_lost",
        "baseline_mean_followed",
        "baseline_mean_lost",
        "t",
        "df",
        "p",
        "suppressed",
    ];
    Table::new(
        &header,
        rows.iter()
            .map(|r| {
                vec![
                    Cell::text(&r.instrument),
                    Cell::text(&r.track),
                    Cell::count(r.n_followed),
                    Cell::count(r.n_lost),
                    Cell::opt(r.baseline_mean_followed),
                    Cell::opt(r.baseline_mean_lost),
                    Cell::opt(r.t),
                    Cell::opt(r.df),
                    Cell::opt(r.p),
                    Cell::Bool(r.suppressed),
                ]
            })
            .collect(),
    )
}
