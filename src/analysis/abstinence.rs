//! abstinence.csv (SPEC §6, §10 S8): for days-of-use instruments, over the same cells and
//! margins as outcomes.csv, abstinence (0 days) at baseline and follow-up, the discordant
//! pairs and the exact McNemar test `binom.test(b, b + c, 0.5)`.

use super::cells::{CellGroup, RunKeys};
use crate::cohort::Pair;
use crate::instruments::{Catalog, ScoreKind};
use crate::stats::binom::binom_test_half;
use crate::table::spec::{count, flag, number, text};
use crate::table::{Column, Format, TableSpec};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AbstinenceRow {
    pub instrument: String,
    pub labels: Vec<String>,
    pub n_paired: Option<u64>,
    pub abstinent_baseline: Option<u64>,
    pub abstinent_followup: Option<u64>,
    pub pct_abstinent_baseline: Option<f64>,
    pub pct_abstinent_followup: Option<f64>,
    /// b: using at baseline, abstinent at follow-up.
    pub to_abstinent: Option<u64>,
    /// c: abstinent at baseline, using at follow-up.
    pub to_use: Option<u64>,
    pub p_mcnemar: Option<f64>,
    pub suppressed: bool,
}

pub fn row(cell: &CellGroup, pairs: &[Pair], instrument: &str) -> AbstinenceRow {
    let (mut n, mut ab, mut af, mut b, mut c) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for &p in &cell.pairs {
        let pair = &pairs[p as usize];
        if let Some((f, _)) = pair.followup {
            n += 1;
            let (zb, zf) = (pair.baseline == 0.0, f == 0.0);
            ab += u64::from(zb);
            af += u64::from(zf);
            b += u64::from(!zb && zf);
            c += u64::from(zb && !zf);
        }
    }
    let pct = |k: u64| (n > 0).then(|| 100.0 * k as f64 / n as f64);
    AbstinenceRow {
        instrument: instrument.to_string(),
        labels: cell.labels.clone(),
        n_paired: Some(n),
        abstinent_baseline: Some(ab),
        abstinent_followup: Some(af),
        pct_abstinent_baseline: pct(ab),
        pct_abstinent_followup: pct(af),
        to_abstinent: Some(b),
        to_use: Some(c),
        p_mcnemar: binom_test_half(b, b + c),
        suppressed: false,
    }
}

/// Rows for the days-of-use cells among `cells` (already sorted).
pub fn rows(
    cells: &[CellGroup],
    pairs: &[Pair],
    catalog: &Catalog,
    ids: &[String],
    suppress_below: Option<u64>,
) -> Vec<AbstinenceRow> {
    let spec = spec(&RunKeys::default());
    cells
        .iter()
        .filter_map(|c| {
            let inst = catalog.get(&ids[c.instrument as usize])?;
            (inst.kind == ScoreKind::DaysOfUse).then(|| {
                let mut r = row(c, pairs, &inst.id);
                if let Some(below) = suppress_below {
                    spec.suppress(&mut r, below);
                }
                r
            })
        })
        .collect()
}

/// abstinence.csv's description. The four counts are tied (af = ab − c + b), so blanking
/// any of them blanks the discordant pair too.
pub fn spec(keys: &RunKeys) -> TableSpec<AbstinenceRow> {
    type R = AbstinenceRow;
    TableSpec::new(
        "abstinence",
        "Abstinence",
        "Days-of-use instruments: abstinent (0 days) at baseline and at follow-up; p from the exact McNemar test on the discordant pairs.",
    )
    .columns(keys.run_columns())
    .column(Column::new("instrument", text!(R, instrument)))
    .columns(keys.group_columns(|r: &R| &r.labels))
    .columns([
        Column::new("n_paired", count!(R, n_paired)),
        Column::new("abstinent_baseline", count!(R, abstinent_baseline)).within(&["n_paired"]),
        Column::new("abstinent_followup", count!(R, abstinent_followup)).within(&["n_paired"]),
        Column::new("pct_abstinent_baseline", number!(R, pct_abstinent_baseline))
            .from(&["abstinent_baseline", "n_paired"]),
        Column::new("pct_abstinent_followup", number!(R, pct_abstinent_followup))
            .from(&["abstinent_followup", "n_paired"]),
        Column::new("to_abstinent", count!(R, to_abstinent)).within(&["n_paired"]),
        Column::new("to_use", count!(R, to_use)).within(&["n_paired"]),
        Column::new("p_mcnemar", number!(R, p_mcnemar))
            .from(&["to_abstinent", "to_use"])
            .format(Format::P),
        Column::new("suppressed", flag!(R, suppressed)),
    ])
    // The 2 × 2 table behind McNemar's test: abstinent at both times and using at both
    // times are shown in no file.
    .relation("abstinent_baseline", &["abstinent_both", "to_use"])
    .relation("abstinent_followup", &["abstinent_both", "to_abstinent"])
    .relation(
        "n_paired",
        &["abstinent_both", "to_use", "to_abstinent", "using_both"],
    )
}
