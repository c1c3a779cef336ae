//! engagement.csv (SPEC §6, §10 S11): dose and retention of discharged cohort episodes per
//! cell and margin: completion rate, median length of stay, median weekly hours, the share
//! meeting the IOP dose (≥ 9 h a week by default), median sessions attended. Attendance is
//! summed per episode into dense arrays indexed by episode; medians as R's `median`.
//!
//! The per-episode sums were a polars group-by until measured at national scale: 32 M
//! attendance rows into 1 M groups took 0.85 s in polars (inputs moved in, no copy) and
//! 0.06 s as one pass over the rows into arrays indexed by episode (episodes are already
//! dense indices after validation), so the pass is used.

use super::cells::{Keys, RunKeys};
use super::suppress::small;
use crate::ingest::{Attended, Episodes};
use crate::stats;
use crate::table::spec::{count, flag, number};
use crate::table::{Column, Format, TableSpec};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct EngagementRow {
    pub labels: Vec<String>,
    pub n_discharged: Option<u64>,
    pub completion_rate: Option<f64>,
    pub median_los_days: Option<f64>,
    pub median_weekly_hours: Option<f64>,
    pub pct_meeting_dose: Option<f64>,
    pub median_sessions: Option<f64>,
    pub suppressed: bool,
    /// Numerators of the completion rate and of the share meeting the dose (not written;
    /// for suppression).
    pub n_completed: Option<u64>,
    pub n_meeting_dose: Option<u64>,
}

/// Weekly hours of an episode: minutes / 60 / max(1, (los + 1) / 7).
pub fn weekly_hours(minutes: u64, los: i32) -> f64 {
    minutes as f64 / 60.0 / f64::max(1.0, (los as f64 + 1.0) / 7.0)
}

pub fn rows(
    eps: &Episodes,
    selected: &[bool],
    columns: &[String],
    attendance: Option<&Attended>,
    dose_hours: f64,
    suppress_below: Option<u64>,
) -> Vec<EngagementRow> {
    let keys = Keys::new(eps, columns);
    let groups = keys.episode_groups(eps.len(), |i| selected[i] && eps.discharge[i].is_some());
    let spec = spec(&RunKeys::default(), dose_hours);
    groups
        .into_iter()
        .map(|(labels, _, members)| {
            let n = members.len() as u64;
            let los: Vec<i32> = members
                .iter()
                .map(|&i| eps.discharge[i as usize].expect("discharged") - eps.admit[i as usize])
                .collect();
            let completed = members
                .iter()
                .filter(|&&i| eps.discharge_reason[i as usize].as_deref() == Some("completed"))
                .count() as u64;
            let los_f: Vec<f64> = los.iter().map(|&d| d as f64).collect();
            let mut r = EngagementRow {
                labels,
                n_discharged: Some(n),
                completion_rate: Some(completed as f64 / n as f64),
                median_los_days: stats::median(&los_f),
                n_completed: Some(completed),
                ..Default::default()
            };
            if let Some(Attended {
                minutes: mins,
                sessions: sess,
                ..
            }) = attendance
            {
                let wh: Vec<f64> = members
                    .iter()
                    .zip(&los)
                    .map(|(&i, &l)| weekly_hours(mins[i as usize], l))
                    .collect();
                let met = wh.iter().filter(|&&h| h >= dose_hours).count() as u64;
                r.n_meeting_dose = Some(met);
                let s: Vec<f64> = members.iter().map(|&i| sess[i as usize] as f64).collect();
                r.median_weekly_hours = stats::median(&wh);
                r.pct_meeting_dose = Some(100.0 * met as f64 / n as f64);
                r.median_sessions = stats::median(&s);
            }
            if let Some(below) = suppress_below {
                spec.suppress(&mut r, below);
            }
            r
        })
        .collect()
}

/// The distribution of weekly hours among the discharged cohort episodes of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct HoursSummary {
    pub label: String,
    pub n: u64,
    /// 10th, 25th, 50th, 75th and 90th percentiles (R's `quantile`, type 7); `None` when the
    /// group is suppressed.
    pub quantiles: Option<[f64; 5]>,
    /// Percent meeting the dose; `None` when suppressed.
    pub pct_meeting_dose: Option<f64>,
    pub suppressed: bool,
}

/// The percentiles of [`HoursSummary::quantiles`].
pub const HOURS_PROBS: [f64; 5] = [0.1, 0.25, 0.5, 0.75, 0.9];

/// Weekly hours of the discharged cohort episodes per value of `column` and for all of them
/// (first, labelled `All`), with the same suppression as engagement.csv: a group of 1 to
/// below − 1 episodes shows nothing, a small count meeting the dose hides its share.
pub fn hours_by_group(
    eps: &Episodes,
    selected: &[bool],
    column: &str,
    minutes: &[u64],
    dose_hours: f64,
    suppress_below: Option<u64>,
) -> Vec<HoursSummary> {
    let keys = Keys::new(eps, &[column.to_string()]);
    let mut groups = keys.episode_groups(eps.len(), |i| selected[i] && eps.discharge[i].is_some());
    // `All` first, then the groups in byte order.
    groups.sort_by_key(|(_, margin, _)| !*margin);
    groups
        .into_iter()
        .map(|(labels, _, members)| {
            let mut hours: Vec<f64> = members
                .iter()
                .map(|&i| {
                    let i = i as usize;
                    let los = eps.discharge[i].expect("discharged") - eps.admit[i];
                    weekly_hours(minutes[i], los)
                })
                .collect();
            hours.sort_by(f64::total_cmp);
            let n = hours.len() as u64;
            let met = hours.iter().filter(|&&h| h >= dose_hours).count() as u64;
            let group_small = suppress_below.is_some_and(|b| small(Some(n), b));
            let met_small = suppress_below.is_some_and(|b| small(Some(met), b));
            let quantiles = if group_small {
                None
            } else {
                HOURS_PROBS
                    .iter()
                    .map(|&p| stats::quantile_sorted(&hours, p))
                    .collect::<Option<Vec<f64>>>()
                    .and_then(|q| q.try_into().ok())
            };
            HoursSummary {
                label: labels[0].clone(),
                n,
                quantiles,
                pct_meeting_dose: (!group_small && !met_small)
                    .then(|| 100.0 * met as f64 / n as f64),
                suppressed: group_small || met_small,
            }
        })
        .collect()
}

/// engagement.csv's description (SPEC §8, §10 S11), for a dose of `dose_hours` a week.
pub fn spec(keys: &RunKeys, dose_hours: f64) -> TableSpec<EngagementRow> {
    type R = EngagementRow;
    const N: &[&str] = &["n_discharged"];
    TableSpec::new(
        "engagement",
        "Engagement",
        &format!("Discharged cohort episodes: completion, length of stay, weekly hours attended, share meeting the IOP dose of {dose_hours} hours a week, sessions attended."),
    )
    .columns(keys.run_columns())
    .columns(keys.group_columns(|r: &R| &r.labels))
    .columns([
        Column::new("n_discharged", count!(R, n_discharged)),
        Column::new("completion_rate", number!(R, completion_rate))
            .from(&["n_completed", "n_discharged"])
            .format(Format::Rate),
        Column::new("median_los_days", number!(R, median_los_days)).from(N),
        Column::new("median_weekly_hours", number!(R, median_weekly_hours)).from(N),
        Column::new("pct_meeting_dose", number!(R, pct_meeting_dose))
            .from(&["n_meeting_dose", "n_discharged"]),
        Column::new("median_sessions", number!(R, median_sessions)).from(N),
        Column::new("suppressed", flag!(R, suppressed)),
        // Implied by the rates and n_discharged.
        Column::new("n_completed", count!(R, n_completed)).within(N).implied(),
        Column::new("n_meeting_dose", count!(R, n_meeting_dose)).within(N).implied(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Attendance;

    #[test]
    fn weekly_hours_follow_the_spec() {
        // A 13-day stay is (13 + 1) / 7 = 2 weeks: 1080 minutes = 18 h = 9 h a week.
        assert_eq!(weekly_hours(1080, 13), 9.0);
        // Stays shorter than a week count as one week.
        assert_eq!(weekly_hours(600, 0), 10.0);
    }

    #[test]
    fn weekly_hours_by_group_are_r_quantiles_with_small_groups_suppressed() {
        // Track a: 12 episodes of 14 days (2 weeks) with 120·k minutes, k = 1..12, so k hours a
        // week; track b: one episode; one more still in care and one outside the selection.
        let mut eps = Episodes::default();
        let mut minutes = Vec::new();
        for k in 1..=15u64 {
            eps.id.push(format!("e{k}"));
            eps.track.push(if k == 13 { "b" } else { "a" }.into());
            eps.admit.push(0);
            eps.discharge.push(if k == 14 { None } else { Some(13) });
            minutes.push(120 * k);
        }
        let selected: Vec<bool> = (1..=15).map(|k| k != 15).collect();
        let got = hours_by_group(&eps, &selected, "track", &minutes, 2.0, Some(11));
        assert_eq!(
            got.iter()
                .map(|g| (g.label.as_str(), g.n))
                .collect::<Vec<_>>(),
            [("All", 13), ("a", 12), ("b", 1)]
        );
        // R: quantile(1:12, c(.1, .25, .5, .75, .9)) = 2.1 3.75 6.5 9.25 10.9
        let want = [2.1, 3.75, 6.5, 9.25, 10.9];
        let q = got[1].quantiles.expect("12 episodes are shown");
        for (g, w) in q.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
        // 11 of 12 meet 2 hours a week.
        assert!((got[1].pct_meeting_dose.unwrap() - 100.0 * 11.0 / 12.0).abs() < 1e-12);
        assert!(!got[1].suppressed);
        assert_eq!((got[2].quantiles, got[2].pct_meeting_dose), (None, None));
        assert!(got[2].suppressed);
        // Without suppression the single episode is shown: its 13 hours a week.
        let open = hours_by_group(&eps, &selected, "track", &minutes, 2.0, None);
        assert_eq!(open[2].quantiles, Some([13.0; 5]));
    }

    #[test]
    fn attendance_is_summed_per_episode() {
        let att = Attendance {
            episode: vec![0, 2, 0, 2, 2],
            date: vec![0; 5],
            service: vec![0; 5],
            minutes: vec![180, 0, 120, 60, 0],
            services: vec![None],
        };
        let a = Attended::of(&att, 4);
        assert_eq!(a.minutes, vec![300, 0, 60, 0]);
        assert_eq!(a.sessions, vec![2, 0, 1, 0]);
        assert_eq!(a.latest, Some(0));
    }
}
