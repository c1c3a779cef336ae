//! abstinence.csv (SPEC §6, §10 S8): for days-of-use instruments, over the same cells and
//! margins as outcomes.csv, abstinence (0 days) at baseline and follow-up, the discordant
//! pairs and the exact McNemar test `binom.test(b, b + c, 0.5)`.

use super::cells::CellGroup;
use super::suppress::small;
use crate::cohort::Pair;
use crate::instruments::{Catalog, ScoreKind};
use crate::stats::binom::binom_test_half;
use crate::table::{Cell, Table};

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

/// Blanks small counts, their percentages and the test built on them (SPEC §7). The four
/// counts are tied (af = ab − c + b), so blanking any of them blanks the discordant pair too.
pub fn suppress(r: &mut AbstinenceRow, below: u64) {
    if small(r.n_paired, below) {
        *r = AbstinenceRow {
            instrument: r.instrument.clone(),
            labels: r.labels.clone(),
            suppressed: true,
            ..Default::default()
        };
        return;
    }
    let mut hit = false;
    if small(r.abstinent_baseline, below) {
        r.abstinent_baseline = None;
        r.pct_abstinent_baseline = None;
        hit = true;
    }
    if small(r.abstinent_followup, below) {
        r.abstinent_followup = None;
        r.pct_abstinent_followup = None;
        hit = true;
    }
    if hit || small(r.to_abstinent, below) || small(r.to_use, below) {
        hit |= r.to_abstinent.is_some_and(|n| n > 0) || r.to_use.is_some_and(|n| n > 0);
        r.to_abstinent = None;
        r.to_use = None;
        r.p_mcnemar = None;
    }
    r.suppressed = hit;
}

/// Rows for the days-of-use cells among `cells` (already sorted).
pub fn rows(
    cells: &[CellGroup],
    pairs: &[Pair],
    catalog: &Catalog,
    ids: &[String],
    suppress_below: Option<u64>,
) -> Vec<AbstinenceRow> {
    cells
        .iter()
        .filter_map(|c| {
            let inst = catalog.get(&ids[c.instrument as usize])?;
            (inst.kind == ScoreKind::DaysOfUse).then(|| {
                let mut r = row(c, pairs, &inst.id);
                if let Some(below) = suppress_below {
                    suppress(&mut r, below);
                }
                r
            })
        })
        .collect()
}

pub fn table(rows: &[AbstinenceRow], period: &str, followup: &str, columns: &[String]) -> Table {
    let header = super::cells::keyed_header(
        columns,
        &[
            "n_paired",
            "abstinent_baseline",
            "abstinent_followup",
            "pct_abstinent_baseline",
            "pct_abstinent_followup",
            "to_abstinent",
            "to_use",
            "p_mcnemar",
            "suppressed",
        ],
    );
    let rows = rows
        .iter()
        .map(|r| {
            let mut v = super::cells::keyed_prefix(period, followup, &r.instrument, &r.labels);
            v.extend([
                Cell::count(r.n_paired),
                Cell::count(r.abstinent_baseline),
                Cell::count(r.abstinent_followup),
                Cell::opt(r.pct_abstinent_baseline),
                Cell::opt(r.pct_abstinent_followup),
                Cell::count(r.to_abstinent),
                Cell::count(r.to_use),
                Cell::opt(r.p_mcnemar),
                Cell::Bool(r.suppressed),
            ]);
            v
        })
        .collect();
    Table { header, rows }
}
