//! Per-group sufficient statistics: the raw observations are reduced to these once; every
//! REML evaluation is then one pass over the groups (see the module doc of `lmm`).

use std::fmt;

/// The sufficient statistics of one group (episode): its arm, n, and the within-group least
/// squares line of y on t, in centred form.
///
/// They carry the same information as (n, Σt, Σt², Σy, Σty, Σy²) but are computed in two
/// passes over the group's rows (means first, then centred sums), so nothing cancels later:
/// Σt² − (Σt)²/n would lose the within-group spread of t when t is far from 0, and the
/// residual of y about its line (which decides `degenerate`) would be lost entirely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupStats {
    pub(super) arm: usize,
    pub(super) n: usize,
    /// Mean of t (R's two-pass `mean`; exactly t when every t is equal).
    pub(super) t_mean: f64,
    /// Σ(t − t̄)²; exactly 0 when every t is equal.
    pub(super) stt: f64,
    /// Mean of y (R's two-pass `mean`).
    pub(super) y_mean: f64,
    /// Σ(t − t̄)(y − ȳ) / Σ(t − t̄)², or 0 when `stt` is 0.
    pub(super) slope: f64,
    /// Σ((y − ȳ) − slope·(t − t̄))²: the residual of y about the group's own line.
    pub(super) rss: f64,
    /// Σy² + slope²·stt: the size of the numbers `rss` was computed from (the yardstick of
    /// the `degenerate` test).
    pub(super) scale: f64,
}

impl GroupStats {
    /// The same group's statistics in arm `arm` (they do not depend on the arm).
    pub fn in_arm(self, arm: usize) -> GroupStats {
        GroupStats { arm, ..self }
    }

    /// The statistics of one group's rows (`t[i]`, `y[i]`), all in arm `arm`.
    /// `None` when there are no rows, `t` and `y` differ in length, or a value is not finite.
    pub fn new(arm: usize, t: &[f64], y: &[f64]) -> Option<GroupStats> {
        if t.is_empty() || t.len() != y.len() || t.iter().chain(y).any(|v| !v.is_finite()) {
            return None;
        }
        let n = t.len();
        let all_equal = t.iter().all(|&v| v == t[0]);
        let t_mean = if all_equal {
            t[0]
        } else {
            super::super::mean(t)?
        };
        let y_mean = super::super::mean(y)?;
        let (mut stt, mut sty) = (0.0, 0.0);
        if !all_equal {
            for (&ti, &yi) in t.iter().zip(y) {
                let dt = ti - t_mean;
                stt += dt * dt;
                sty += dt * (yi - y_mean);
            }
        }
        let slope = if stt > 0.0 { sty / stt } else { 0.0 };
        let (mut rss, mut yy) = (0.0, 0.0);
        for (&ti, &yi) in t.iter().zip(y) {
            let r = (yi - y_mean) - slope * (ti - t_mean);
            rss += r * r;
            yy += yi * yi;
        }
        Some(GroupStats {
            arm,
            n,
            t_mean,
            stt,
            y_mean,
            slope,
            rss,
            scale: yy + slope * slope * stt,
        })
    }

    /// The group's arm.
    pub fn arm(&self) -> usize {
        self.arm
    }

    /// The group's number of observations.
    pub fn n(&self) -> usize {
        self.n
    }
}

/// Why [`group_stats`] refused its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// `group`, `arm`, `t` and `y` are not all the same length.
    LengthMismatch,
    /// Row `row` has a non-finite t or y.
    NonFinite { row: usize },
    /// The rows of group `group` are not all in one arm.
    MixedArm { group: usize },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::LengthMismatch => write!(f, "group, arm, t and y differ in length"),
            InputError::NonFinite { row } => write!(f, "row {row}: t or y is not finite"),
            InputError::MixedArm { group } => write!(f, "group {group} has rows in two arms"),
        }
    }
}

impl std::error::Error for InputError {}

/// Reduces observations (row i: group id `group[i]`, arm `arm[i]`, time `t[i]`, score `y[i]`)
/// to one [`GroupStats`] per distinct group id, in ascending id order. Rows of a group need not
/// be contiguous; within a group they are taken in input order.
pub fn group_stats(
    group: &[usize],
    arm: &[usize],
    t: &[f64],
    y: &[f64],
) -> Result<Vec<GroupStats>, InputError> {
    let n = group.len();
    if arm.len() != n || t.len() != n || y.len() != n {
        return Err(InputError::LengthMismatch);
    }
    if let Some(row) = (0..n).find(|&i| !t[i].is_finite() || !y[i].is_finite()) {
        return Err(InputError::NonFinite { row });
    }
    let mut order: Vec<usize> = (0..n).collect();
    // Stable: rows of a group keep their input order.
    order.sort_by_key(|&i| group[i]);
    let mut out = Vec::new();
    let (mut ts, mut ys) = (Vec::new(), Vec::new());
    let mut start = 0;
    while start < n {
        let g = group[order[start]];
        let a = arm[order[start]];
        let mut end = start;
        ts.clear();
        ys.clear();
        while end < n && group[order[end]] == g {
            let i = order[end];
            if arm[i] != a {
                return Err(InputError::MixedArm { group: g });
            }
            ts.push(t[i]);
            ys.push(y[i]);
            end += 1;
        }
        out.push(GroupStats::new(a, &ts, &ys).expect("rows checked finite and non-empty"));
        start = end;
    }
    Ok(out)
}
