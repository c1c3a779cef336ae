//! engagement.csv (SPEC §6, §10 S11): dose and retention of discharged cohort episodes per
//! cell and margin: completion rate, median length of stay, median weekly hours, the share
//! meeting the IOP dose (≥ 9 h a week by default), median sessions attended. Attendance is
//! summed per episode with a polars group-by; medians as R's `median`.

use super::cells::Keys;
use super::suppress::small;
use crate::error::{Error, Result};
use crate::ingest::{Attendance, Episodes};
use crate::stats;
use crate::table::{Cell, Table};
use polars::prelude::*;

/// Attended minutes and attended sessions (minutes > 0) of every episode, from all its
/// accepted attendance rows whatever their date.
///
/// # Errors
/// A polars failure (not expected on well-formed columns), as a data error.
pub fn per_episode(att: &Attendance, n_episodes: usize) -> Result<(Vec<u64>, Vec<u64>)> {
    let polars_err = |e: PolarsError| Error::Data(format!("aggregating attendance: {e}"));
    let ep: Vec<u32> = att.episode.clone();
    let minutes: Vec<u32> = att.minutes.iter().map(|&m| u32::from(m)).collect();
    let df = DataFrame::new(
        ep.len(),
        vec![
            Column::new("ep".into(), ep),
            Column::new("min".into(), minutes),
        ],
    )
    .map_err(polars_err)?;
    let out = df
        .lazy()
        .group_by([col("ep")])
        .agg([
            col("min").cast(DataType::UInt64).sum().alias("minutes"),
            col("min")
                .gt(lit(0u32))
                .cast(DataType::UInt64)
                .sum()
                .alias("sessions"),
        ])
        .collect()
        .map_err(polars_err)?;
    let (mut mins, mut sess) = (vec![0u64; n_episodes], vec![0u64; n_episodes]);
    let e = out
        .column("ep")
        .and_then(|c| c.u32().cloned())
        .map_err(polars_err)?;
    let m = out
        .column("minutes")
        .and_then(|c| c.u64().cloned())
        .map_err(polars_err)?;
    let s = out
        .column("sessions")
        .and_then(|c| c.u64().cloned())
        .map_err(polars_err)?;
    for ((e, m), s) in e.iter().zip(m.iter()).zip(s.iter()) {
        if let Some(e) = e {
            mins[e as usize] = m.unwrap_or(0);
            sess[e as usize] = s.unwrap_or(0);
        }
    }
    Ok((mins, sess))
}

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
}

/// Weekly hours of an episode: minutes / 60 / max(1, (los + 1) / 7).
pub fn weekly_hours(minutes: u64, los: i32) -> f64 {
    minutes as f64 / 60.0 / f64::max(1.0, (los as f64 + 1.0) / 7.0)
}

pub fn rows(
    eps: &Episodes,
    selected: &[bool],
    columns: &[String],
    attendance: Option<&(Vec<u64>, Vec<u64>)>,
    dose_hours: f64,
    suppress_below: Option<u64>,
) -> Vec<EngagementRow> {
    let keys = Keys::new(eps, columns);
    let groups = keys.episode_groups(eps.len(), |i| selected[i] && eps.discharge[i].is_some());
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
                ..Default::default()
            };
            let mut met = 0;
            if let Some((mins, sess)) = attendance {
                let wh: Vec<f64> = members
                    .iter()
                    .zip(&los)
                    .map(|(&i, &l)| weekly_hours(mins[i as usize], l))
                    .collect();
                met = wh.iter().filter(|&&h| h >= dose_hours).count() as u64;
                let s: Vec<f64> = members.iter().map(|&i| sess[i as usize] as f64).collect();
                r.median_weekly_hours = stats::median(&wh);
                r.pct_meeting_dose = Some(100.0 * met as f64 / n as f64);
                r.median_sessions = stats::median(&s);
            }
            if let Some(below) = suppress_below {
                if small(Some(n), below) {
                    r = EngagementRow {
                        labels: r.labels,
                        suppressed: true,
                        ..Default::default()
                    };
                } else {
                    if small(Some(completed), below) {
                        r.completion_rate = None;
                        r.suppressed = true;
                    }
                    if attendance.is_some() && small(Some(met), below) {
                        r.pct_meeting_dose = None;
                        r.suppressed = true;
                    }
                }
            }
            r
        })
        .collect()
}

pub fn table(rows: &[EngagementRow], columns: &[String]) -> Table {
    let mut header: Vec<String> = columns.to_vec();
    for h in [
        "n_discharged",
        "completion_rate",
        "median_los_days",
        "median_weekly_hours",
        "pct_meeting_dose",
        "median_sessions",
        "suppressed",
    ] {
        header.push(h.into());
    }
    let rows = rows
        .iter()
        .map(|r| {
            let mut v: Vec<Cell> = r.labels.iter().map(Cell::text).collect();
            v.extend([
                Cell::count(r.n_discharged),
                Cell::opt(r.completion_rate),
                Cell::opt(r.median_los_days),
                Cell::opt(r.median_weekly_hours),
                Cell::opt(r.pct_meeting_dose),
                Cell::opt(r.median_sessions),
                Cell::Bool(r.suppressed),
            ]);
            v
        })
        .collect();
    Table { header, rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_hours_follow_the_spec() {
        // A 13-day stay is (13 + 1) / 7 = 2 weeks: 1080 minutes = 18 h = 9 h a week.
        assert_eq!(weekly_hours(1080, 13), 9.0);
        // Stays shorter than a week count as one week.
        assert_eq!(weekly_hours(600, 0), 10.0);
    }

    #[test]
    fn polars_sums_attendance_per_episode() {
        let att = Attendance {
            episode: vec![0, 2, 0, 2, 2],
            date: vec![0; 5],
            service: vec![0; 5],
            minutes: vec![180, 0, 120, 60, 0],
            services: vec![None],
        };
        let (m, s) = per_episode(&att, 4).unwrap();
        assert_eq!(m, vec![300, 0, 60, 0]);
        assert_eq!(s, vec![2, 0, 1, 0]);
    }
}
