//! outcomes.rs: one row per cell and margin with the change statistics of SPEC §6 and the
//! columns of SPEC §8, computed in parallel; then Benjamini–Hochberg over the cell rows and
//! small-cell suppression (SPEC §7).

use super::cells::{CellGroup, RunKeys};
use crate::cohort::Pair;
use crate::instruments::{Catalog, Direction, Instrument};
use crate::stats::{self, effect, multiplicity, ttest, wilcoxon};
use crate::table::spec::{count, flag, number, text};
use crate::table::{Column, Format, Parts, TableSpec};
use rayon::prelude::*;

/// One row of outcomes.csv before rendering. `None` is an empty cell.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OutcomeRow {
    pub instrument: String,
    pub labels: Vec<String>,
    pub margin: bool,
    pub n_episodes: Option<u64>,
    pub n_baseline: Option<u64>,
    pub n_paired: Option<u64>,
    pub followup_rate: Option<f64>,
    pub baseline_mean: Option<f64>,
    pub baseline_sd: Option<f64>,
    pub followup_mean: Option<f64>,
    pub followup_sd: Option<f64>,
    pub change_mean: Option<f64>,
    pub change_sd: Option<f64>,
    pub change_ci_low: Option<f64>,
    pub change_ci_high: Option<f64>,
    pub t: Option<f64>,
    pub df: Option<f64>,
    pub p_t: Option<f64>,
    pub q_bh: Option<f64>,
    pub wilcoxon_v: Option<f64>,
    pub p_wilcoxon: Option<f64>,
    pub d_z: Option<f64>,
    pub g_av: Option<f64>,
    pub rci_threshold: Option<f64>,
    pub n_improved: Option<u64>,
    pub n_unchanged: Option<u64>,
    pub n_deteriorated: Option<u64>,
    pub pct_improved: Option<f64>,
    pub pct_unchanged: Option<f64>,
    pub pct_deteriorated: Option<f64>,
    pub n_cases: Option<u64>,
    pub pct_recovered: Option<f64>,
    pub pct_response: Option<f64>,
    pub pct_remission: Option<f64>,
    /// Numerators behind the case percentages (not written; used for suppression).
    pub n_recovered: Option<u64>,
    pub n_response: Option<u64>,
    pub n_remission: Option<u64>,
    pub suppressed: bool,
}

/// Improvement in the instrument's good direction (positive = better).
pub fn improvement(dir: Direction, baseline: f64, followup: f64) -> f64 {
    match dir {
        Direction::HigherIsWorse => baseline - followup,
        Direction::HigherIsBetter => followup - baseline,
    }
}

/// Case at baseline: at or past the cutoff in the worse direction (SPEC §10 S6).
pub fn is_case(inst: &Instrument, score: f64) -> Option<bool> {
    let c = inst.caseness?;
    Some(match inst.direction {
        Direction::HigherIsWorse => score >= c,
        Direction::HigherIsBetter => score <= c,
    })
}

/// A paired episode's reliable change (SPEC §10 S5): a change of at least the instrument's
/// threshold in the good direction is an improvement, in the other a deterioration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reliable {
    Improved,
    Unchanged,
    Deteriorated,
}

impl Reliable {
    pub fn as_str(self) -> &'static str {
        match self {
            Reliable::Improved => "improved",
            Reliable::Unchanged => "unchanged",
            Reliable::Deteriorated => "deteriorated",
        }
    }
}

/// What one paired episode counts towards in outcomes.csv: `None` where the rule does not
/// apply (the instrument has no threshold, caseness cutoff, response or remission rule; or,
/// for recovery, response and remission, the episode was not a case at baseline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairedOutcome {
    pub reliable: Option<Reliable>,
    /// A case at baseline (SPEC §10 S6).
    pub case: Option<bool>,
    /// Reliably recovered: a case at baseline, not at follow-up, reliably improved.
    pub recovered: Option<bool>,
    /// Improved by at least the response fraction of the baseline score.
    pub response: Option<bool>,
    /// Follow-up below the remission threshold.
    pub remission: Option<bool>,
}

/// The rules of SPEC §10 S5–S6 for one episode with baseline `b` and follow-up `f`: the
/// counts of outcomes.csv are the sums of these over a cell's paired episodes.
pub fn paired_outcome(inst: &Instrument, b: f64, f: f64) -> PairedOutcome {
    let threshold = inst.rci_threshold();
    let imp = improvement(inst.direction, b, f);
    let reliable = threshold.map(|thr| {
        if (f - b).abs() < thr {
            Reliable::Unchanged
        } else if imp > 0.0 {
            Reliable::Improved
        } else {
            Reliable::Deteriorated
        }
    });
    let case = is_case(inst, b);
    let among_cases = |rule: Option<bool>| rule.filter(|_| case == Some(true));
    PairedOutcome {
        reliable,
        case,
        recovered: among_cases(
            threshold
                .map(|thr| is_case(inst, f) == Some(false) && (f - b).abs() >= thr && imp > 0.0),
        ),
        response: among_cases(inst.response_fraction.map(|frac| imp >= frac * b)),
        remission: among_cases(inst.remission_below.map(|below| f < below)),
    }
}

fn pct(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| 100.0 * n as f64 / d as f64)
}

/// Computes the row of one cell (no BH, no suppression).
pub fn row(cell: &CellGroup, pairs: &[Pair], inst: &Instrument) -> OutcomeRow {
    let mut b = Vec::new();
    let mut f = Vec::new();
    for &p in &cell.pairs {
        let pair = &pairs[p as usize];
        if let Some((fu, _)) = pair.followup {
            b.push(pair.baseline);
            f.push(fu);
        }
    }
    let d: Vec<f64> = f.iter().zip(&b).map(|(f, b)| f - b).collect();
    let n_baseline = cell.pairs.len() as u64;
    let n_paired = d.len() as u64;
    let tt = ttest::one_sample(&d);
    let w = wilcoxon::signed_rank(&d);
    let mut r = OutcomeRow {
        instrument: inst.id.clone(),
        labels: cell.labels.clone(),
        margin: cell.margin,
        n_episodes: Some(cell.n_episodes),
        n_baseline: Some(n_baseline),
        n_paired: Some(n_paired),
        followup_rate: (n_baseline > 0).then(|| n_paired as f64 / n_baseline as f64),
        baseline_mean: stats::mean(&b),
        baseline_sd: stats::sd(&b),
        followup_mean: stats::mean(&f),
        followup_sd: stats::sd(&f),
        change_mean: stats::mean(&d),
        change_sd: stats::sd(&d),
        change_ci_low: tt.map(|t| t.ci_low),
        change_ci_high: tt.map(|t| t.ci_high),
        t: tt.map(|t| t.t),
        df: tt.map(|t| t.df),
        p_t: tt.map(|t| t.p),
        wilcoxon_v: w.map(|w| w.v),
        p_wilcoxon: w.and_then(|w| w.p),
        d_z: tt.and(effect::d_z(&d)),
        g_av: effect::g_av(&b, &f, &d),
        rci_threshold: inst.rci_threshold(),
        ..Default::default()
    };
    let each: Vec<PairedOutcome> = b
        .iter()
        .zip(&f)
        .map(|(bb, ff)| paired_outcome(inst, *bb, *ff))
        .collect();
    let count = |rule: fn(&PairedOutcome) -> bool| each.iter().filter(|o| rule(o)).count() as u64;
    if inst.rci_threshold().is_some() {
        let up = count(|o| o.reliable == Some(Reliable::Improved));
        let down = count(|o| o.reliable == Some(Reliable::Deteriorated));
        let same = n_paired - up - down;
        r.n_improved = Some(up);
        r.n_unchanged = Some(same);
        r.n_deteriorated = Some(down);
        r.pct_improved = pct(up, n_paired);
        r.pct_unchanged = pct(same, n_paired);
        r.pct_deteriorated = pct(down, n_paired);
    }
    if inst.caseness.is_some() {
        let cases = count(|o| o.case == Some(true));
        let rec = count(|o| o.recovered == Some(true));
        let resp = count(|o| o.response == Some(true));
        let rem = count(|o| o.remission == Some(true));
        r.n_cases = Some(cases);
        if cases > 0 {
            if inst.rci_threshold().is_some() {
                r.n_recovered = Some(rec);
                r.pct_recovered = pct(rec, cases);
            }
            if inst.response_fraction.is_some() {
                r.n_response = Some(resp);
                r.pct_response = pct(resp, cases);
            }
            if inst.remission_below.is_some() {
                r.n_remission = Some(rem);
                r.pct_remission = pct(rem, cases);
            }
        }
    }
    r
}

/// All rows: computed in parallel, in cell order; q_bh over the cell rows (not margins) with a
/// p_t (SPEC §10 S7), then suppression (by [`spec`]) when `suppress_below` is set.
pub fn rows(
    cells: &[CellGroup],
    pairs: &[Pair],
    catalog: &Catalog,
    ids: &[String],
    suppress_below: Option<u64>,
) -> Vec<OutcomeRow> {
    let mut rows: Vec<OutcomeRow> = cells
        .par_iter()
        .map(|c| {
            let inst = catalog
                .get(&ids[c.instrument as usize])
                .expect("instrument of an accepted row");
            row(c, pairs, inst)
        })
        .collect();
    let idx: Vec<usize> = (0..rows.len())
        .filter(|&i| !rows[i].margin && rows[i].p_t.is_some())
        .collect();
    let p: Vec<f64> = idx
        .iter()
        .map(|&i| rows[i].p_t.expect("filtered"))
        .collect();
    for (&i, q) in idx.iter().zip(multiplicity::bh(&p)) {
        rows[i].q_bh = Some(q);
    }
    if let Some(below) = suppress_below {
        let spec = spec(&RunKeys::default());
        for r in &mut rows {
            spec.suppress(r, below);
        }
    }
    rows
}

/// outcomes.csv's description (SPEC §8): the keys, every statistic of SPEC §6, and the
/// counts behind the case percentages (hidden: for suppression only).
pub fn spec(keys: &RunKeys) -> TableSpec<OutcomeRow> {
    type R = OutcomeRow;
    const PAIRED: &[&str] = &["n_paired"];
    TableSpec::new(
        "outcomes",
        "Outcomes by cell",
        "Change from baseline to follow-up per instrument and cell, with every margin (All). Change is follow-up minus baseline in scale points (days for days-of-use); p from the paired t-test, q after Benjamini-Hochberg over the cells; g_av is the effect size. outcomes.csv has every column, including SDs, the Wilcoxon test, d_z and the counts behind each percentage.",
    )
    .columns(keys.run_columns())
    .column(Column::new("instrument", text!(R, instrument)))
    .columns(keys.group_columns(|r: &R| &r.labels))
    .columns([
        Column::new("n_episodes", count!(R, n_episodes))
            .same_across("instrument")
            .off_page(),
        Column::new("n_baseline", count!(R, n_baseline))
            .within(&["n_episodes"])
            .off_page(),
        Column::new("n_paired", count!(R, n_paired)).within(&["n_baseline"]),
        Column::new("followup_rate", number!(R, followup_rate))
            .from(&["n_baseline", "n_paired"])
            .format(Format::Rate),
        Column::new("baseline_mean", number!(R, baseline_mean)).from(PAIRED),
        Column::new("baseline_sd", number!(R, baseline_sd)).from(PAIRED).off_page(),
        Column::new("followup_mean", number!(R, followup_mean)).from(PAIRED),
        Column::new("followup_sd", number!(R, followup_sd)).from(PAIRED).off_page(),
        Column::new("change_mean", number!(R, change_mean)).from(PAIRED),
        Column::new("change_sd", number!(R, change_sd)).from(PAIRED).off_page(),
        Column::new("change_ci_low", number!(R, change_ci_low)).from(PAIRED),
        Column::new("change_ci_high", number!(R, change_ci_high)).from(PAIRED),
        Column::new("t", number!(R, t)).from(PAIRED).off_page(),
        Column::new("df", number!(R, df)).from(PAIRED).format(Format::Df).off_page(),
        Column::new("p_t", number!(R, p_t)).from(PAIRED).format(Format::P),
        Column::new("q_bh", number!(R, q_bh)).from(PAIRED).format(Format::P),
        Column::new("wilcoxon_v", number!(R, wilcoxon_v))
            .from(PAIRED)
            .format(Format::Df)
            .off_page(),
        Column::new("p_wilcoxon", number!(R, p_wilcoxon))
            .from(PAIRED)
            .format(Format::P)
            .off_page(),
        Column::new("d_z", number!(R, d_z)).from(PAIRED).off_page(),
        Column::new("g_av", number!(R, g_av)).from(PAIRED),
        Column::new("rci_threshold", number!(R, rci_threshold)).off_page(),
        Column::new("n_improved", count!(R, n_improved)).within(PAIRED).off_page(),
        Column::new("n_unchanged", count!(R, n_unchanged)).within(PAIRED).off_page(),
        Column::new("n_deteriorated", count!(R, n_deteriorated)).within(PAIRED).off_page(),
        Column::new("pct_improved", number!(R, pct_improved)).from(&["n_improved", "n_paired"]),
        Column::new("pct_unchanged", number!(R, pct_unchanged))
            .from(&["n_unchanged", "n_paired"])
            .off_page(),
        Column::new("pct_deteriorated", number!(R, pct_deteriorated))
            .from(&["n_deteriorated", "n_paired"])
            .off_page(),
        Column::new("n_cases", count!(R, n_cases)).within(PAIRED).off_page(),
        Column::new("pct_recovered", number!(R, pct_recovered))
            .from(&["n_recovered", "n_cases", "n_paired"]),
        Column::new("pct_response", number!(R, pct_response))
            .from(&["n_response", "n_cases", "n_paired"])
            .off_page(),
        Column::new("pct_remission", number!(R, pct_remission))
            .from(&["n_remission", "n_cases", "n_paired"]),
        Column::new("suppressed", flag!(R, suppressed)),
        // Implied by their percentages and n_cases.
        Column::new("n_recovered", count!(R, n_recovered))
            .within(&["n_cases"])
            .implied(),
        Column::new("n_response", count!(R, n_response))
            .within(&["n_cases"])
            .implied(),
        Column::new("n_remission", count!(R, n_remission))
            .within(&["n_cases"])
            .implied(),
    ])
    .parts(Parts(&["n_improved", "n_unchanged", "n_deteriorated"]))
    .relation("n_paired", &["n_improved", "n_unchanged", "n_deteriorated"])
    // Reliably recovered is reliably improved and no longer a case: recovered ≤ improved.
    .relation("n_improved", &["n_recovered", "improved not recovered"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cohort::Pair;

    fn suppress(r: &mut OutcomeRow, below: u64) {
        spec(&RunKeys::default()).suppress(r, below);
    }

    fn cell(pairs: &[(f64, Option<f64>)]) -> (CellGroup, Vec<Pair>) {
        let ps: Vec<Pair> = pairs
            .iter()
            .enumerate()
            .map(|(i, &(b, f))| Pair {
                episode: i as u32,
                instrument: 0,
                baseline: b,
                baseline_date: 0,
                followup: f.map(|f| (f, 30)),
            })
            .collect();
        let c = CellGroup {
            instrument: 0,
            labels: vec!["t".into()],
            margin: false,
            n_episodes: 20,
            pairs: (0..ps.len() as u32).collect(),
        };
        (c, ps)
    }

    #[test]
    fn a_cell_with_no_cases_leaves_case_percentages_empty() {
        let cat = Catalog::builtin();
        let phq = cat.get("PHQ9").unwrap();
        // Every baseline below the caseness cutoff of 10.
        let (c, ps) = cell(&[(5.0, Some(2.0)), (9.0, Some(3.0)), (8.0, None)]);
        let r = row(&c, &ps, phq);
        assert_eq!(
            (r.n_baseline, r.n_paired, r.n_cases),
            (Some(3), Some(2), Some(0))
        );
        assert_eq!(
            (r.pct_recovered, r.pct_response, r.pct_remission),
            (None, None, None)
        );
        assert_eq!(r.followup_rate, Some(2.0 / 3.0));
        // 9 -> 3 is a reliable improvement (|change| 6 >= 6); 5 -> 2 is not.
        assert_eq!(
            (r.n_improved, r.n_unchanged, r.n_deteriorated),
            (Some(1), Some(1), Some(0))
        );
    }

    #[test]
    fn recovery_response_and_remission_follow_the_rules() {
        let cat = Catalog::builtin();
        let phq = cat.get("PHQ9").unwrap();
        let (c, ps) = cell(&[
            (18.0, Some(9.0)), // case; improved 9 >= 6; follow-up 9 < 10: recovered; response exactly 50%; not remitted
            (12.0, Some(4.0)), // case; recovered; response; remitted (4 < 5)
            (10.0, Some(10.0)), // case (>= 10); still a case: not recovered, no response
            (20.0, Some(26.0)), // case; reliable deterioration
            (9.0, Some(1.0)),  // not a case
        ]);
        let r = row(&c, &ps, phq);
        assert_eq!(r.n_cases, Some(4));
        assert_eq!(r.pct_recovered, Some(50.0));
        assert_eq!(r.pct_response, Some(50.0));
        assert_eq!(r.pct_remission, Some(25.0));
        assert_eq!(
            (r.n_improved, r.n_unchanged, r.n_deteriorated),
            (Some(3), Some(1), Some(1))
        );
        // A scale without a threshold leaves the reliable-change columns empty.
        let days = cat.get("DAYS_USED").unwrap();
        let r = row(&c, &ps, days);
        assert_eq!(
            (r.rci_threshold, r.n_improved, r.pct_improved, r.n_cases),
            (None, None, None, None)
        );
    }

    #[test]
    fn suppression_blanks_small_counts_and_their_complements() {
        let mut r = OutcomeRow {
            n_episodes: Some(300),
            n_baseline: Some(200),
            n_paired: Some(150),
            change_mean: Some(-5.0),
            n_improved: Some(100),
            n_unchanged: Some(47),
            n_deteriorated: Some(3),
            pct_improved: Some(66.7),
            pct_unchanged: Some(31.3),
            pct_deteriorated: Some(2.0),
            n_cases: Some(140),
            n_recovered: Some(9),
            pct_recovered: Some(6.4),
            n_response: Some(70),
            pct_response: Some(50.0),
            ..Default::default()
        };
        suppress(&mut r, 11);
        assert!(r.suppressed);
        assert_eq!((r.n_deteriorated, r.pct_deteriorated), (None, None));
        // Complementary: unchanged (the smaller other category) goes too.
        assert_eq!((r.n_unchanged, r.pct_unchanged), (None, None));
        assert_eq!(r.n_improved, Some(100));
        // 9 recovered is a small numerator: its percentage is blanked, response stays.
        assert_eq!(r.pct_recovered, None);
        assert_eq!(r.pct_response, Some(50.0));
        assert_eq!(r.change_mean, Some(-5.0));

        let mut small = OutcomeRow {
            n_episodes: Some(40),
            n_baseline: Some(12),
            n_paired: Some(7),
            change_mean: Some(-2.0),
            t: Some(-3.0),
            n_improved: Some(0),
            ..Default::default()
        };
        suppress(&mut small, 11);
        assert!(small.suppressed);
        assert_eq!(
            (small.n_paired, small.change_mean, small.t, small.n_improved),
            (None, None, None, None)
        );
        assert_eq!((small.n_episodes, small.n_baseline), (Some(40), Some(12)));

        let mut big = OutcomeRow {
            n_episodes: Some(40),
            n_baseline: Some(30),
            n_paired: Some(20),
            n_improved: Some(0),
            n_unchanged: Some(20),
            n_deteriorated: Some(0),
            ..Default::default()
        };
        suppress(&mut big, 11);
        assert!(!big.suppressed, "zeros reveal nobody");
    }
}
