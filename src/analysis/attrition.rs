//! attrition.csv (SPEC §6, §10 S10): the GPRA retention-bias check. Per instrument × track
//! (plus `All`), cohort episodes with a baseline and no follow-up (lost) against those paired
//! (followed): baseline means and Welch's `t.test(lost, followed)`.

use super::cells::{RunKeys, ALL};
use crate::cohort::Pair;
use crate::ingest::Episodes;
use crate::stats::{self, ttest};
use crate::table::spec::{count, flag, number, text};
use crate::table::{Column, Format, TableSpec};
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
    let spec = spec(&RunKeys::default());
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
                spec.suppress(&mut r, below);
            }
            r
        })
        .collect()
}

/// attrition.csv's description (SPEC §8, §10 S10).
pub fn spec(keys: &RunKeys) -> TableSpec<AttritionRow> {
    type R = AttritionRow;
    const BOTH: &[&str] = &["n_followed", "n_lost"];
    TableSpec::new(
        "attrition",
        "Retention bias",
        "Baseline scores of clients followed up and of clients lost to follow-up (Welch t-test, lost minus followed).",
    )
    .columns(keys.run_columns())
    .columns([
        Column::new("instrument", text!(R, instrument)),
        Column::new("track", text!(R, track)).group(),
        Column::new("n_followed", count!(R, n_followed)),
        Column::new("n_lost", count!(R, n_lost)),
        Column::new("baseline_mean_followed", number!(R, baseline_mean_followed))
            .from(&["n_followed"]),
        Column::new("baseline_mean_lost", number!(R, baseline_mean_lost)).from(&["n_lost"]),
        Column::new("t", number!(R, t)).from(BOTH),
        Column::new("df", number!(R, df)).from(BOTH).format(Format::Df),
        Column::new("p", number!(R, p)).from(BOTH).format(Format::P),
        Column::new("suppressed", flag!(R, suppressed)),
    ])
}
