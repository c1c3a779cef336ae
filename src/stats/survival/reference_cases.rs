//! The shapes of the survfit and survdiff reference cases (values in `reference_values.rs`).

/// (pstate, std.err, lower, upper) of one outcome.
pub(super) type Est = (f64, f64, Option<f64>, Option<f64>);

/// One survfit row: time, n.risk, n.event of the 3 outcomes, n.censor, estimates of the 3
/// outcomes.
pub(super) type Row = (u32, usize, [usize; 3], usize, [Est; 3]);

/// One survfit case: data, then one row per time.
pub(super) struct CifCase {
    pub name: &'static str,
    pub times: &'static [u32],
    pub outcomes: &'static [u8],
    pub rows: &'static [Row],
}

/// One survdiff case; `expected` is `None` where R stops.
pub(super) struct LrCase {
    pub name: &'static str,
    pub times: &'static [u32],
    pub events: &'static [u8],
    pub groups: &'static [usize],
    pub observed: &'static [f64],
    pub expected: Option<&'static [f64]>,
    pub chisq: Option<f64>,
    pub df: Option<usize>,
    pub p: Option<f64>,
}
