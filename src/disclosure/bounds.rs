//! The attacker: given the published values (`None` = blank) and the additive relations,
//! the tightest interval of every blank. Published values are substituted; the relations
//! still holding a blank are split into connected groups of blanks; per group each blank is
//! minimised and maximised subject to the equalities and x ≥ 0 (the attacker knows counts
//! are non-negative; blanks ≥ 1 is not assumed, since zeros can be blanked). This is
//! sdcTable's `attack()`, without its a-priori upper bound.
//!
//! Integrality: the LP is solved first (microlp's simplex). When the optimal vertex it
//! returns is integral, the LP bound is the integer bound. When it is fractional (tables of
//! three or more dimensions are not totally unimodular), the same objective is solved with
//! integer variables by microlp's branch and bound, so every bound is the integer optimum.
//! Each integral point found is kept: a blank already seen at 0 needs no minimisation.
//!
//! Deciding whether a blank is narrowed below a width (the audit, and protect's search) is
//! cheaper than its exact interval: two integral points far enough apart certify "no"; the
//! LP bounds rounded inward settle every "yes" (the integer interval lies inside them); a
//! "no" from the LP is confirmed by an integral point found by a feasibility search, and
//! only failing that by the exact integer bounds. Groups are attacked in parallel (rayon)
//! and gathered in order, so results do not depend on the thread count.

use super::{Interval, Relation};
use microlp::{
    ComparisonOp, Error as LpError, OptimizationDirection, Problem, Solution, SolutionStatus,
    SolveOptions, SolveOutcome, Variable,
};
use rayon::prelude::*;

/// Branch-and-bound nodes allowed per integer solve. Hit only on pathological models; a
/// bound not proven optimal falls back to the values actually reached (see [`Attack`]).
const NODE_LIMIT: u64 = 20_000;

/// Probes ([`Attack::probe`]) at most per attack, and the open blanks below which none runs.
const MAX_PROBES: u64 = 24;
const PROBE_MIN: usize = 16;

/// A fixed 64-bit mix of (`j`, `k`) (splitmix64's finaliser): the probes' signs, the same on
/// every machine and run.
fn mix(j: u64, k: u64) -> u64 {
    let mut z = j
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(k.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(0x94D0_49BB_1331_11EB);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Distance from an integer within which an LP value counts as integral (the solver holds
/// rows to 1e-7; rounded points are then checked exactly).
const INT_TOL: f64 = 1e-6;

/// What the attacker learns from the published values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounds {
    /// Per count: `None` when published (or unsolved), the interval of the blank otherwise.
    pub intervals: Vec<Option<Interval>>,
    /// Relations the published values contradict: all members published and the sum off,
    /// a member index out of range, or a group of blanks that no non-negative values fit
    /// (every relation of that group is listed). Ascending.
    pub inconsistent: Vec<usize>,
    /// Blanks whose interval the LP solver could not compute. Ascending.
    pub unsolved: Vec<usize>,
    /// LP solves run.
    pub lp_solves: usize,
    /// Integer (branch-and-bound) solves run: where an LP vertex was fractional, and to
    /// certify a width with integer points.
    pub integer_solves: usize,
}

/// The attacker's intervals for every blank of `published` under `relations`: exact
/// integer bounds, two per blank.
pub fn intervals(published: &[Option<u64>], relations: &[Relation]) -> Bounds {
    attack_groups(published, relations, |attack, j| {
        attack.interval(j).map(Some)
    })
}

/// The blanks the attacker narrows below `need`, with their exact intervals (the other
/// blanks' intervals are left `None`: a certificate of width suffices for them).
pub(crate) fn narrowed(published: &[Option<u64>], relations: &[Relation], need: u64) -> Bounds {
    attack_groups(published, relations, |attack, j| {
        attack.probe(need)?;
        if attack.width_at_least(j, need)? {
            Ok(None)
        } else {
            attack.interval(j).map(Some)
        }
    })
}

/// Substitutes the published values, checks the relations without blanks, splits the
/// blanks into groups and runs `each(attack, j)` on every blank of every group. Groups are
/// attacked in parallel and their results gathered in order, so the output does not depend
/// on the thread count.
fn attack_groups(
    published: &[Option<u64>],
    relations: &[Relation],
    each: impl Fn(&mut Attack, usize) -> Result<Option<Interval>, Failure> + Sync,
) -> Bounds {
    let mut out = Bounds {
        intervals: vec![None; published.len()],
        inconsistent: Vec::new(),
        unsolved: Vec::new(),
        lp_solves: 0,
        integer_solves: 0,
    };
    let mut rows = Vec::with_capacity(relations.len());
    for (r, rel) in relations.iter().enumerate() {
        match Row::substitute(rel, published) {
            Some(row) => rows.push(row),
            None => {
                out.inconsistent.push(r);
                rows.push(Row::empty());
            }
        }
    }
    let of_count = index_rows(&rows, published.len());
    for (r, row) in rows.iter().enumerate() {
        if row.terms.is_empty() && row.rhs != 0 {
            out.inconsistent.push(r);
        }
    }
    let is_blank: Vec<bool> = published.iter().map(Option::is_none).collect();
    let systems = System::all(&rows, &of_count, &is_blank);
    let jobs = chunks(&systems);
    let results: Vec<_> = jobs
        .par_iter()
        .map(|&(k, from, to)| {
            let mut attack = Attack::new(&systems[k]);
            let solved: Result<Vec<Option<Interval>>, Failure> =
                (from..to).map(|j| each(&mut attack, j)).collect();
            (solved, attack.lp_solves, attack.integer_solves)
        })
        .collect();
    let mut failed = vec![None; systems.len()];
    for (&(k, from, _), (solved, lp, int)) in jobs.iter().zip(results) {
        out.lp_solves += lp;
        out.integer_solves += int;
        match solved {
            Ok(solved) => {
                for (&v, iv) in systems[k].vars[from..].iter().zip(solved) {
                    out.intervals[v] = iv;
                }
            }
            Err(e) => failed[k] = failed[k].take().or(Some(e)),
        }
    }
    for (sys, f) in systems.iter().zip(failed) {
        match f {
            None => {}
            Some(Failure::Infeasible) => {
                out.inconsistent.extend(&sys.rows);
                sys.vars.iter().for_each(|&v| out.intervals[v] = None);
            }
            Some(Failure::Solver(_)) => {
                out.unsolved.extend(&sys.vars);
                sys.vars.iter().for_each(|&v| out.intervals[v] = None);
            }
        }
    }
    out.inconsistent.sort_unstable();
    out.inconsistent.dedup();
    out
}

/// The jobs (group, first blank, end) covering every blank of every group: one per group,
/// so that its blanks share the points found (splitting a group measured slower). Fixed, so
/// the work and every result are the same whatever the thread count.
pub(crate) fn chunks(systems: &[System]) -> Vec<(usize, usize, usize)> {
    systems
        .iter()
        .enumerate()
        .map(|(k, s)| (k, 0, s.vars.len()))
        .collect()
}

/// A relation with the published values moved to the right-hand side:
/// `Σ coefficient·x = rhs` over the blanks only.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// (count index, coefficient), ascending by index, no zero coefficient.
    pub terms: Vec<(usize, i64)>,
    pub rhs: i128,
}

impl Row {
    fn empty() -> Self {
        Row {
            terms: Vec::new(),
            rhs: 0,
        }
    }

    /// `None` when the relation names a count outside `published`.
    pub(crate) fn substitute(rel: &Relation, published: &[Option<u64>]) -> Option<Row> {
        let mut row = Row::empty();
        for (i, c) in rel.terms() {
            match published.get(i)? {
                Some(v) => row.rhs -= c as i128 * *v as i128,
                None => row.terms.push((i, c)),
            }
        }
        Some(row)
    }
}

/// For each count, the rows (ascending) in which it has a nonzero coefficient.
pub(crate) fn index_rows(rows: &[Row], n: usize) -> Vec<Vec<usize>> {
    let mut of = vec![Vec::new(); n];
    for (r, row) in rows.iter().enumerate() {
        for &(i, _) in &row.terms {
            of[i].push(r);
        }
    }
    of
}

/// One connected group of blanks and the rows that tie them: LP variable `j` is count
/// `vars[j]`.
#[derive(Debug, Clone)]
pub(crate) struct System {
    /// Count indices of the blanks, ascending.
    pub vars: Vec<usize>,
    /// Row indices (into the caller's rows), ascending.
    pub rows: Vec<usize>,
    /// The rows over variable positions: (terms (position, coefficient), rhs).
    eqs: Vec<(Vec<(usize, i64)>, i128)>,
}

impl System {
    /// Every group of blanks, ordered by smallest count index. `rows` must be substituted
    /// for the blanks in `is_blank`.
    pub(crate) fn all(rows: &[Row], of_count: &[Vec<usize>], is_blank: &[bool]) -> Vec<System> {
        let mut seen = vec![false; is_blank.len()];
        let mut out = Vec::new();
        for start in 0..is_blank.len() {
            if is_blank[start] && !seen[start] {
                out.push(Self::around(start, rows, of_count, &mut seen));
            }
        }
        out
    }

    /// The group of blanks linked to blank `start` (its members marked in `seen`).
    pub(crate) fn around(
        start: usize,
        rows: &[Row],
        of_count: &[Vec<usize>],
        seen: &mut [bool],
    ) -> System {
        let mut vars = vec![start];
        let mut row_ids = Vec::new();
        seen[start] = true;
        let mut k = 0;
        while k < vars.len() {
            let v = vars[k];
            k += 1;
            for &r in &of_count[v] {
                row_ids.push(r);
                for &(i, _) in &rows[r].terms {
                    if !seen[i] {
                        seen[i] = true;
                        vars.push(i);
                    }
                }
            }
        }
        vars.sort_unstable();
        row_ids.sort_unstable();
        row_ids.dedup();
        let eqs = row_ids
            .iter()
            .map(|&r| {
                let terms = rows[r]
                    .terms
                    .iter()
                    .map(|&(i, c)| (vars.binary_search(&i).expect("linked blank"), c))
                    .collect();
                (terms, rows[r].rhs)
            })
            .collect();
        System {
            vars,
            rows: row_ids,
            eqs,
        }
    }

    /// Whether `x` (one value per variable) satisfies every row exactly.
    fn satisfies(&self, x: &[u64]) -> bool {
        self.eqs.iter().all(|(terms, rhs)| {
            terms
                .iter()
                .map(|&(j, c)| c as i128 * x[j] as i128)
                .sum::<i128>()
                == *rhs
        })
    }
}

/// Why a bound could not be computed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// No non-negative values satisfy the rows.
    Infeasible,
    /// The solver gave up (numerical trouble).
    Solver(String),
}

/// The attacker's problems on one [`System`], remembering every integral point found.
pub(crate) struct Attack<'s> {
    sys: &'s System,
    /// Smallest and largest value of each variable over the integral points seen.
    seen_lo: Vec<u64>,
    seen_hi: Vec<u64>,
    has_point: bool,
    /// Per variable: unbounded above (see [`Attack::unbounded_above`]); `None` until asked.
    moves: Option<Vec<bool>>,
    /// Whether `moves` is exact (its LP solved): then a variable of a homogeneous group that
    /// does not move is 0.
    cone_exact: bool,
    /// Whether [`Attack::probe`] has run.
    probed: bool,
    pub lp_solves: usize,
    pub integer_solves: usize,
}

impl<'s> Attack<'s> {
    pub(crate) fn new(sys: &'s System) -> Self {
        let n = sys.vars.len();
        Attack {
            sys,
            seen_lo: vec![u64::MAX; n],
            seen_hi: vec![0; n],
            has_point: false,
            moves: None,
            cone_exact: false,
            probed: false,
            lp_solves: 0,
            integer_solves: 0,
        }
    }

    /// An attack that knows, per variable, a smallest and a largest value reached by
    /// feasible integral points (not necessarily the same point).
    pub(crate) fn with_seen(sys: &'s System, lo: Vec<u64>, hi: Vec<u64>) -> Self {
        debug_assert!(lo.len() == sys.vars.len() && hi.len() == lo.len());
        let mut a = Attack::new(sys);
        a.seen_lo = lo;
        a.seen_hi = hi;
        a.has_point = true;
        a
    }

    /// An attack that does not read the group's recession cone ([`Attack::unbounded_above`]
    /// answers "not known to be unbounded", as when its LP fails): for one blank asked once,
    /// its own maximum (unbounded or not) costs one LP, and the cone's LP, twice the
    /// variables of the group, would come on top of it. Same answers, one LP fewer.
    /// Measured on a 300-episode export (`synth --episodes 300 --seed 7`, where nearly every
    /// count is withheld: 227 blanks checked one at a time, each over its whole group):
    /// those checks took 59 s with the cone, 25 s without.
    pub(crate) fn without_cone(mut self) -> Self {
        self.moves = Some(vec![false; self.sys.vars.len()]);
        self.cone_exact = false;
        self
    }

    /// Per variable (count index from `vars`), the smallest and largest value reached.
    pub(crate) fn seen(&self, vars: &[usize]) -> Vec<(usize, u64, u64)> {
        if !self.has_point {
            return Vec::new();
        }
        vars.iter()
            .zip(self.seen_lo.iter().zip(&self.seen_hi))
            .map(|(&v, (&lo, &hi))| (v, lo, hi))
            .collect()
    }

    /// Records a known feasible integral point (e.g. the true values of the blanks).
    pub(crate) fn add_point(&mut self, x: &[u64]) {
        debug_assert!(self.sys.satisfies(x));
        for (j, &v) in x.iter().enumerate() {
            self.seen_lo[j] = self.seen_lo[j].min(v);
            self.seen_hi[j] = self.seen_hi[j].max(v);
        }
        self.has_point = true;
    }

    /// Whether variable `j` is unbounded above, from the group's recession cone
    /// {d ≥ 0 : A·d = 0}: a feasible group plus any multiple of a direction d is feasible, so
    /// every variable positive in some direction grows without limit. One LP per group
    /// ([`Attack::direction`]) finds them all, which settles most blanks of a large group (a
    /// small export, where nearly everything is withheld) without two solves a blank.
    /// Measured on a 150-episode export (1,864 blanks in one group): the audit went from 89
    /// LPs (one direction at a time) to 1, 2.6 s to 0.1 s.
    fn unbounded_above(&mut self, j: usize) -> bool {
        if self.moves.is_none() {
            let n = self.sys.vars.len();
            // A homogeneous group (every right-hand side 0) is its own recession cone: 0 is
            // a point of it, and a variable that cannot move is held at 0.
            if self.homogeneous() && !self.has_point {
                self.add_point(&vec![0; n]);
            }
            // Only a feasible group has a recession cone worth reading.
            let feasible = self.has_point || {
                self.lp_solves += 1;
                matches!(self.solve(None, false, None), Ok(Some(_)))
            };
            let found = if feasible {
                self.lp_solves += 1;
                self.direction()
            } else {
                None
            };
            self.cone_exact = found.is_some();
            self.moves = Some(found.unwrap_or_else(|| vec![false; n]));
        }
        self.moves.as_ref().is_some_and(|m| m[j])
    }

    /// Per variable, whether some direction of the recession cone moves it: maximise Σ t with
    /// 0 ≤ t ≤ 1 and t ≤ d, d ≥ 0 unbounded, A·d = 0. The cone is closed under sums and
    /// scaling, so at the optimum every variable that can move has t = 1 and every other
    /// t = 0; `None` when the solver fails.
    fn direction(&self) -> Option<Vec<bool>> {
        let mut p = Problem::new(OptimizationDirection::Maximize);
        let d: Vec<Variable> = (0..self.sys.vars.len())
            .map(|_| p.add_var(0.0, (0.0, f64::INFINITY)))
            .collect();
        let t: Vec<Variable> = d
            .iter()
            .map(|&dj| {
                let tj = p.add_var(1.0, (0.0, 1.0));
                p.add_constraint([(dj, 1.0), (tj, -1.0)], ComparisonOp::Ge, 0.0);
                tj
            })
            .collect();
        for (terms, _) in &self.sys.eqs {
            let expr: Vec<(Variable, f64)> = terms.iter().map(|&(k, c)| (d[k], c as f64)).collect();
            p.add_constraint(expr, ComparisonOp::Eq, 0.0);
        }
        match p.solve_with(SolveOptions::default()) {
            Ok(SolveOutcome::Solution(s)) => {
                Some(t.iter().map(|&v| s.var_value(v) > 0.5).collect())
            }
            _ => None,
        }
    }

    fn homogeneous(&self) -> bool {
        self.sys.eqs.iter().all(|(_, rhs)| *rhs == 0)
    }

    /// The exact interval of variable `j`.
    pub(crate) fn interval(&mut self, j: usize) -> Result<Interval, Failure> {
        let unbounded = self.unbounded_above(j);
        if !unbounded && self.cone_exact && self.homogeneous() {
            return Ok(Interval { lo: 0, hi: Some(0) });
        }
        if unbounded {
            let lo = if self.has_point && self.seen_lo[j] == 0 {
                0
            } else {
                self.optimum(j, false)?.expect("x >= 0 bounds a minimum")
            };
            return Ok(Interval { lo, hi: None });
        }
        let hi = self.optimum(j, true)?;
        let lo = if self.has_point && self.seen_lo[j] == 0 {
            0
        } else {
            self.optimum(j, false)?.expect("x >= 0 bounds a minimum")
        };
        Ok(Interval { lo, hi })
    }

    /// Looks for integral points that spread many blanks at once, before any blank is
    /// attacked on its own: each probe maximises a fixed pseudo-random ±1 combination of the
    /// blanks not yet `need` apart (each variable capped, so no probe is unbounded; a capped
    /// point is still a point of the group), and keeps the vertex when it is integral. Probes
    /// stop when the open blanks are few or two probes in a row settle none. Runs once per
    /// attack; groups below [`PROBE_MIN`] open blanks are left to the per-blank bounds.
    /// Measured on a 1,000-episode export for one quarter (one group of 1,537 blanks): 24
    /// probes settle 1,057 of its blanks; the audit took 28 s instead of 65 s, protection
    /// 126 s instead of 143 s, with the same blanks.
    pub(crate) fn probe(&mut self, need: u64) -> Result<(), Failure> {
        if self.probed {
            return Ok(());
        }
        self.probed = true;
        let n = self.sys.vars.len();
        let cap = self.cap();
        let mut idle = 0;
        for k in 0..MAX_PROBES {
            let open: Vec<usize> = (0..n).filter(|&j| self.spread(j) < need).collect();
            if open.len() < PROBE_MIN || idle == 2 {
                break;
            }
            let mut weights = vec![0.0; n];
            for &j in &open {
                weights[j] = if mix(j as u64, k) & 1 == 0 { 1.0 } else { -1.0 };
            }
            self.lp_solves += 1;
            let before = open.len();
            // A probe is only a shortcut: a solver failure here leaves the blanks to their
            // own bounds.
            match self.solve_weighted(&weights, cap) {
                Ok(Some(x)) => {
                    if let Some(p) = self.integral(&x) {
                        self.add_point(&p);
                    }
                }
                Ok(None) => {}
                Err(Failure::Solver(_)) => break,
                Err(e) => return Err(e),
            }
            let after = open.iter().filter(|&&j| self.spread(j) < need).count();
            idle = if after == before { idle + 1 } else { 0 };
        }
        Ok(())
    }

    /// A cap on every variable for the probes: above every value a row can force (the
    /// right-hand sides and the points seen), so no probe is unbounded.
    fn cap(&self) -> f64 {
        let rhs = self
            .sys
            .eqs
            .iter()
            .map(|(_, r)| r.unsigned_abs())
            .max()
            .unwrap_or(0);
        let seen = if self.has_point {
            self.seen_hi.iter().copied().max().unwrap_or(0)
        } else {
            0
        };
        (2 * rhs.max(u128::from(seen)) + 100) as f64
    }

    /// Maximises `weights · x` over the group with every variable in [0, cap]; `None` when
    /// the solver stops without a solution.
    fn solve_weighted(&self, weights: &[f64], cap: f64) -> Result<Option<Vec<f64>>, Failure> {
        retry(|attempt| {
            let mut p = Problem::new(OptimizationDirection::Maximize);
            let vars: Vec<Variable> = weights.iter().map(|&w| p.add_var(w, (0.0, cap))).collect();
            self.add_rows(&mut p, &vars, attempt);
            solved(p.solve_with(attempt.options()), &vars)
        })
    }

    /// The group's rows as constraints of `p`, in the order `attempt` asks for.
    fn add_rows(&self, p: &mut Problem, vars: &[Variable], attempt: Attempt) {
        let add = |p: &mut Problem, (terms, rhs): &(Vec<(usize, i64)>, i128)| {
            let expr: Vec<(Variable, f64)> =
                terms.iter().map(|&(k, c)| (vars[k], c as f64)).collect();
            p.add_constraint(expr, ComparisonOp::Eq, *rhs as f64);
        };
        if attempt.reversed {
            self.sys.eqs.iter().rev().for_each(|e| add(p, e));
        } else {
            self.sys.eqs.iter().for_each(|e| add(p, e));
        }
    }
}

/// The values of `vars` in a probe's solution (`None` when the solver stopped without one).
fn solved(
    outcome: Result<SolveOutcome, LpError>,
    vars: &[Variable],
) -> Result<Option<Vec<f64>>, Failure> {
    match outcome {
        Ok(SolveOutcome::Solution(s)) => Ok(Some(vars.iter().map(|&v| s.var_value(v)).collect())),
        Ok(SolveOutcome::Interrupted(_)) | Err(LpError::Unbounded) => Ok(None),
        Err(LpError::Infeasible) => Err(Failure::Infeasible),
        Err(e) => Err(Failure::Solver(e.to_string())),
    }
}

/// How one solve is set up: the same problem, another path through the simplex.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    presolve: bool,
    reversed: bool,
}

impl Attempt {
    fn options(self) -> SolveOptions {
        let mut o = SolveOptions::default();
        o.presolve = self.presolve;
        o
    }
}

/// Runs `solve` and, when the solver fails (not for infeasibility: e.g. the dual simplex
/// stalls on a degenerate vertex of a large group), again with presolve switched and then
/// with the rows in reverse order: the optimum is the same problem's, only the pivots
/// differ. Found by the job fuzz target: a 30-episode export grouped by three columns with
/// suppress_below = 3 stalled microlp on one group of 1,357 blanks, and the audit could not
/// vouch for 608 blanks (the fuzz input is kept in fuzz/regressions/solver_stall).
fn retry<T>(mut solve: impl FnMut(Attempt) -> Result<T, Failure>) -> Result<T, Failure> {
    let default = SolveOptions::default().presolve;
    let attempts = [
        Attempt {
            presolve: default,
            reversed: false,
        },
        Attempt {
            presolve: !default,
            reversed: false,
        },
        Attempt {
            presolve: default,
            reversed: true,
        },
        Attempt {
            presolve: !default,
            reversed: true,
        },
    ];
    let mut last = None;
    for a in attempts {
        match solve(a) {
            Err(Failure::Solver(m)) => last = Some(Failure::Solver(m)),
            done => return done,
        }
    }
    Err(last.expect("at least one attempt"))
}

impl<'s> Attack<'s> {
    /// Whether variable `j` can vary by at least `need` over integer points. Decided from
    /// the points seen when they suffice; else the LP bounds, rounded inward, settle every
    /// "no" (the integer interval lies inside them); a "yes" from the LP is confirmed by an
    /// integral point far enough from one already seen (a feasibility search with integer
    /// variables), and only when that fails by the exact integer bounds.
    pub(crate) fn width_at_least(&mut self, j: usize, need: u64) -> Result<bool, Failure> {
        if self.spread(j) >= need || self.unbounded_above(j) {
            return Ok(true);
        }
        // Unbounded over the reals means unbounded over the integers (integral data and an
        // integral point).
        let Some(hi) = self.lp_bound(j, true)? else {
            return Ok(true);
        };
        if self.spread(j) >= need {
            return Ok(true);
        }
        let lo = if self.has_point && self.seen_lo[j] == 0 {
            0
        } else {
            self.lp_bound(j, false)?.expect("x >= 0 bounds a minimum")
        };
        if self.spread(j) >= need {
            return Ok(true);
        }
        if hi < lo || hi - lo < need {
            return Ok(false);
        }
        if self.has_point {
            let up = self.seen_lo[j] + need;
            if up <= hi && self.point_within(j, up, hi)? {
                return Ok(true);
            }
            if let Some(down) = self.seen_hi[j].checked_sub(need) {
                if down >= lo && self.point_within(j, lo, down)? {
                    return Ok(true);
                }
            }
        }
        let hi = self.optimum(j, true)?.expect("bounded by the LP");
        let lo = self.optimum(j, false)?.expect("x >= 0 bounds a minimum");
        Ok(hi >= lo && hi - lo >= need)
    }

    /// The width of the LP interval of x_j rounded inward (`None`: unbounded), an upper
    /// bound on the integer width: cheap, for ranking.
    pub(crate) fn lp_width(&mut self, j: usize) -> Result<Option<u64>, Failure> {
        // Not through the recession cone: one blank asked once, its own LP is cheaper.
        let Some(hi) = self.lp_bound(j, true)? else {
            return Ok(None);
        };
        let lo = if self.has_point && self.seen_lo[j] == 0 {
            0
        } else {
            self.lp_bound(j, false)?.expect("x >= 0 bounds a minimum")
        };
        Ok(Some(hi.saturating_sub(lo)))
    }

    fn spread(&self, j: usize) -> u64 {
        if self.has_point {
            self.seen_hi[j] - self.seen_lo[j]
        } else {
            0
        }
    }

    /// The LP optimum of x_j rounded inward (`None`: unbounded above); an integral vertex is
    /// kept as a point.
    fn lp_bound(&mut self, j: usize, maximise: bool) -> Result<Option<u64>, Failure> {
        self.lp_solves += 1;
        let Some(x) = self.solve(Some((j, maximise)), false, None)? else {
            return Ok(None);
        };
        if let Some(p) = self.integral(&x) {
            self.add_point(&p);
            return Ok(Some(p[j]));
        }
        Ok(Some(if maximise {
            (x[j] + INT_TOL).floor().max(0.0) as u64
        } else {
            (x[j] - INT_TOL).ceil().max(0.0) as u64
        }))
    }

    /// Whether an integral point with lo ≤ x_j ≤ hi exists (kept when found); an
    /// undecided search counts as "no".
    fn point_within(&mut self, j: usize, lo: u64, hi: u64) -> Result<bool, Failure> {
        self.integer_solves += 1;
        match self.solve(None, true, Some((j, lo, hi))) {
            Ok(Some(y)) => match self.integral(&y) {
                Some(p) => {
                    self.add_point(&p);
                    Ok(true)
                }
                None => Ok(false),
            },
            Ok(None) | Err(Failure::Infeasible) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The integer optimum of x_j (`None`: unbounded above).
    fn optimum(&mut self, j: usize, maximise: bool) -> Result<Option<u64>, Failure> {
        self.lp_solves += 1;
        let Some(x) = self.solve(Some((j, maximise)), false, None)? else {
            return Ok(None);
        };
        if let Some(p) = self.integral(&x) {
            self.add_point(&p);
            return Ok(Some(p[j]));
        }
        // A fractional vertex: the LP bound, rounded inward, may still not be reached by an
        // integer point. Branch and bound decides.
        let lp = if maximise {
            (x[j] + INT_TOL).floor()
        } else {
            (x[j] - INT_TOL).ceil()
        };
        self.integer_solves += 1;
        match self.solve(Some((j, maximise)), true, None) {
            Ok(Some(y)) => match self.integral(&y) {
                Some(p) => {
                    self.add_point(&p);
                    Ok(Some(p[j]))
                }
                None => Ok(Some(lp.max(0.0) as u64)),
            },
            // Not proven within the node limit: fall back to what points actually reach
            // (an inner bound: narrower, so on the side of reporting disclosure).
            Ok(None) | Err(Failure::Solver(_)) if self.has_point => Ok(Some(if maximise {
                self.seen_hi[j]
            } else {
                self.seen_lo[j]
            })),
            Ok(None) => Ok(Some(lp.max(0.0) as u64)),
            Err(e) => Err(e),
        }
    }

    /// Rounds `x` to integers when every value is within [`INT_TOL`] of one and the rounded
    /// point satisfies the rows exactly.
    fn integral(&self, x: &[f64]) -> Option<Vec<u64>> {
        let p: Vec<u64> = x
            .iter()
            .map(|&v| {
                let r = v.round();
                ((v - r).abs() <= INT_TOL && r >= 0.0).then_some(r as u64)
            })
            .collect::<Option<_>>()?;
        self.sys.satisfies(&p).then_some(p)
    }

    /// Optimises x_j (`objective` = (j, maximise)), or with no objective finds any point;
    /// `range` = (k, lo, hi) bounds x_k. `Ok(None)` when unbounded or, for integer solves,
    /// not proven within the node limit.
    fn solve(
        &self,
        objective: Option<(usize, bool)>,
        integer: bool,
        range: Option<(usize, u64, u64)>,
    ) -> Result<Option<Vec<f64>>, Failure> {
        self.solve_from(objective, integer, range, 0)
    }

    /// [`Attack::solve`] with every variable at least `floor`.
    fn solve_from(
        &self,
        objective: Option<(usize, bool)>,
        integer: bool,
        range: Option<(usize, u64, u64)>,
        floor: u64,
    ) -> Result<Option<Vec<f64>>, Failure> {
        retry(|attempt| self.solve_once(objective, integer, range, floor, attempt))
    }

    /// One try of [`Attack::solve_from`] (see [`retry`]).
    fn solve_once(
        &self,
        objective: Option<(usize, bool)>,
        integer: bool,
        range: Option<(usize, u64, u64)>,
        floor: u64,
        attempt: Attempt,
    ) -> Result<Option<Vec<f64>>, Failure> {
        let dir = match objective {
            Some((_, true)) => OptimizationDirection::Maximize,
            _ => OptimizationDirection::Minimize,
        };
        let mut p = Problem::new(dir);
        let vars: Vec<Variable> = (0..self.sys.vars.len())
            .map(|k| {
                let c = if objective.is_some_and(|(j, _)| j == k) {
                    1.0
                } else {
                    0.0
                };
                let (lo, hi) = match range {
                    Some((r, lo, hi)) if r == k => (lo.max(floor), hi),
                    _ => (floor, u64::MAX),
                };
                if integer {
                    let cap = |v: u64| v.min(i32::MAX as u64) as i32;
                    p.add_integer_var(c, (cap(lo), cap(hi)))
                } else {
                    let hi = if hi == u64::MAX {
                        f64::INFINITY
                    } else {
                        hi as f64
                    };
                    p.add_var(c, (lo as f64, hi))
                }
            })
            .collect();
        self.add_rows(&mut p, &vars, attempt);
        let mut options = attempt.options();
        options.node_limit = integer.then_some(NODE_LIMIT);
        match p.solve_with(options) {
            Ok(SolveOutcome::Solution(s)) => {
                // A feasibility search (no objective) may stop at any integral point.
                if integer && objective.is_some() && s.status() != SolutionStatus::Optimal {
                    return Ok(None);
                }
                Ok(Some(vars.iter().map(|&v| s.var_value(v)).collect()))
            }
            Ok(SolveOutcome::Interrupted(_)) => Ok(None),
            Err(LpError::Unbounded) if !integer => Ok(None),
            Err(LpError::Infeasible) => Err(Failure::Infeasible),
            Err(e) => Err(Failure::Solver(e.to_string())),
        }
    }
}

/// The LP bounds of one blank (the target) as published counts next to it are blanked, one
/// candidate at a time: protection's search tries every published member of the target's
/// relations, each an LP over a group of up to thousands of blanks. Here the group is built
/// once with every candidate as a variable, solved for the target's maximum and minimum, and
/// each candidate is then fixed at its value (warm-started dual simplex); trying a candidate
/// releases its fix on a copy of the two solutions, a few pivots instead of a solve from
/// scratch. Every variable is capped (so no solve is unbounded) well above every bounded
/// optimum: an optimum above that bound counts as unbounded. Measured on a 1,000-episode
/// export for one quarter (about 290 candidates a target, 1,479 tried in all): protection
/// 126 s with an LP from scratch per candidate, 52 s so, with the same blanks.
pub(crate) struct Widening {
    /// Count index of each variable, ascending.
    vars: Vec<usize>,
    handles: Vec<Variable>,
    target: usize,
    /// Above every bounded optimum (see [`Widening::new`]).
    bound: f64,
    max: Solution,
    min: Solution,
}

impl Widening {
    /// `sys` is the target's group with every candidate blank; `fixed` the candidates (count
    /// index, true value), each a variable of `sys`. `None` when the solver fails (the caller
    /// then solves each candidate from scratch).
    pub(crate) fn new(sys: &System, target: usize, fixed: &[(usize, u64)]) -> Option<Self> {
        let t = sys.vars.binary_search(&target).ok()?;
        // Above every bounded optimum: a vertex of rows with ±1 coefficients is bounded by
        // the sum of the right-hand sides, the fixed candidates' values moved there.
        let mut value = vec![0u128; sys.vars.len()];
        for &(c, v) in fixed {
            value[sys.vars.binary_search(&c).ok()?] = u128::from(v);
        }
        let rhs: u128 = sys
            .eqs
            .iter()
            .map(|(terms, r)| {
                r.unsigned_abs()
                    + terms
                        .iter()
                        .map(|&(k, c)| u128::from(c.unsigned_abs()) * value[k])
                        .sum::<u128>()
            })
            .sum();
        // A variable's rise along a direction of the cone is met by that of the variable
        // that reaches the cap first, no more than `bound` above it: an optimum above
        // `bound` is one that only the cap holds.
        let bound = rhs as f64;
        let cap = 2.0 * bound + 100.0;
        let solve = |dir| -> Option<(Solution, Vec<Variable>)> {
            let mut p = Problem::new(dir);
            let handles: Vec<Variable> = (0..sys.vars.len())
                .map(|k| p.add_var(if k == t { 1.0 } else { 0.0 }, (0.0, cap)))
                .collect();
            for (terms, rhs) in &sys.eqs {
                let expr: Vec<(Variable, f64)> =
                    terms.iter().map(|&(k, c)| (handles[k], c as f64)).collect();
                p.add_constraint(expr, ComparisonOp::Eq, *rhs as f64);
            }
            let mut s = solution(p.solve())?;
            for &(c, v) in fixed {
                let k = sys.vars.binary_search(&c).ok()?;
                s = solution(s.fix_var(handles[k], v as f64))?;
            }
            Some((s, handles))
        };
        // The two are independent: solved side by side (the caller waits on them alone).
        let (max, min) = rayon::join(
            || solve(OptimizationDirection::Maximize),
            || solve(OptimizationDirection::Minimize),
        );
        let ((max, handles), (min, _)) = (max?, min?);
        Some(Widening {
            vars: sys.vars.clone(),
            handles,
            target: t,
            bound,
            max,
            min,
        })
    }

    /// The same bounds with the counts `released` (variables here) blanked for good: their
    /// fixes released in both solutions, as [`Widening::width`] does on a copy. `None` when
    /// the solver stops short (the caller then builds the bounds anew).
    pub(crate) fn release(mut self, released: &[usize]) -> Option<Self> {
        for &c in released {
            let k = self.vars.binary_search(&c).ok()?;
            self.max = unfixed(self.max, self.handles[k])?;
            self.min = unfixed(self.min, self.handles[k])?;
        }
        Some(self)
    }

    /// Whether every count of `released` is a variable here.
    pub(crate) fn covers(&self, released: &[usize]) -> bool {
        released.iter().all(|c| self.vars.binary_search(c).is_ok())
    }

    /// The target's LP width, rounded inward, with the counts `released` blanked (`None`:
    /// unbounded; `Err` when the solver fails); the minimum is 0 without a solve when
    /// `zero_seen` (an integral point has the target at 0).
    pub(crate) fn width(&self, released: &[usize], zero_seen: bool) -> Option<Option<u64>> {
        let release = |s: &Solution| -> Option<f64> {
            let mut s = s.clone();
            for c in released {
                let k = self.vars.binary_search(c).ok()?;
                s = unfixed(s, self.handles[k])?;
            }
            Some(s.var_value(self.handles[self.target]))
        };
        let hi = release(&self.max)?;
        if hi > self.bound + 0.5 {
            return Some(None);
        }
        let hi = (hi + INT_TOL).floor().max(0.0) as u64;
        let lo = if zero_seen {
            0
        } else {
            (release(&self.min)? - INT_TOL).ceil().max(0.0) as u64
        };
        Some(Some(hi.saturating_sub(lo)))
    }
}

/// `s` with the fix of `v` released (unchanged when `v` is not fixed); `None` when the solver
/// stops short or fails.
fn unfixed(s: Solution, v: Variable) -> Option<Solution> {
    match s.unfix_var(v).ok()? {
        (SolveOutcome::Solution(s), _) => Some(s),
        (SolveOutcome::Interrupted(_), _) => None,
    }
}

/// The solution of a solve that found one.
fn solution(outcome: Result<SolveOutcome, LpError>) -> Option<Solution> {
    match outcome {
        Ok(SolveOutcome::Solution(s)) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod retry_tests {
    use super::*;

    #[test]
    fn a_solver_failure_is_retried_another_way_and_infeasibility_is_not() {
        // Fails twice (as microlp's stalled dual simplex did), then solves.
        let mut seen = Vec::new();
        let r = retry(|a| {
            seen.push((a.presolve, a.reversed));
            if seen.len() < 3 {
                Err(Failure::Solver("dual simplex stalled".into()))
            } else {
                Ok(7)
            }
        });
        assert_eq!(r, Ok(7));
        let d = SolveOptions::default().presolve;
        assert_eq!(seen, [(d, false), (!d, false), (d, true)]);
        // Infeasibility is an answer, not a failure: no retry.
        let mut n = 0;
        let r: Result<u8, _> = retry(|_| {
            n += 1;
            Err(Failure::Infeasible)
        });
        assert_eq!((r, n), (Err(Failure::Infeasible), 1));
        // Every way failing: the last failure is reported.
        let r: Result<u8, _> = retry(|_| Err(Failure::Solver("stalled".into())));
        assert_eq!(r, Err(Failure::Solver("stalled".into())));
    }

    #[test]
    fn reversed_rows_give_the_same_optimum() {
        // x0 + x1 = 5, x1 + x2 = 3: max x0 = 5 (x1 = 0), min x0 = 2 (x1 = 3).
        let rows = vec![
            Row {
                terms: vec![(0, 1), (1, 1)],
                rhs: 5,
            },
            Row {
                terms: vec![(1, 1), (2, 1)],
                rhs: 3,
            },
        ];
        let of_count = index_rows(&rows, 3);
        let sys = System::around(0, &rows, &of_count, &mut [false; 3]);
        let a = Attack::new(&sys);
        for reversed in [false, true] {
            for presolve in [false, true] {
                let at = Attempt { presolve, reversed };
                let max = a
                    .solve_once(Some((0, true)), false, None, 0, at)
                    .unwrap()
                    .unwrap();
                let min = a
                    .solve_once(Some((0, false)), false, None, 0, at)
                    .unwrap()
                    .unwrap();
                assert!((max[0] - 5.0).abs() < 1e-9 && (min[0] - 2.0).abs() < 1e-9);
            }
        }
    }
}
