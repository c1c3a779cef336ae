//! Primary and complementary (secondary) suppression (SPEC §11 D1–D2), after sdcTable's
//! SIMPLEHEURISTIC: blank the primary counts, close every relation a blank leaves open by
//! local rules, then attack the pattern (LP, [`super::bounds`]) and, for each blank still
//! recoverable or narrowed below the band, add the cheapest published cell that protects it,
//! until every blank is safe.
//!
//! Local rules, per relation `Σ c·x = 0` (the total −1, each part +1):
//! - one blank alone in a relation is recovered exactly: add a member;
//! - blanks whose coefficients share a sign (the parts of a published total) lie in
//!   [0, R] with R = Σ |c|·value of those blanks: when R is below the required width, add a
//!   member.
//!
//! A count shown only through a statistic ([`Count::implied`]: a percentage of a published
//! denominator) costs no written count: blanking it withholds the percentage alone, so as a
//! complement it ranks before any written count (zeros still last; among implied counts, a
//! margin after an ordinary one). The ranking only chooses among complements: whatever it
//! picks, a blank is kept only once the attack certifies it safe.
//!
//! The member added is the best by, in order: an ordinary cell or an implied count before a
//! written margin; a nonzero count before a zero; one that makes the relation locally safe
//! before one that does not; an implied count before a written one; an ordinary one before a
//! margin; the smaller value; the key, byte-wise; the index. When the attack still finds an
//! unsafe blank, every published member of its relations is tried (with the local rules
//! closed after it) and the cheapest addition that makes the blank safe wins: fewest written
//! margins, then fewest zeros, fewest written cells, smallest sum of written values, fewest
//! implied margins, fewest implied counts, smallest sum of implied values, keys byte-wise;
//! when none suffices alone, the one that widens the blank most. Only groups of blanks whose
//! membership changed are attacked again. Groups are attacked in parallel (rayon) and their
//! results gathered in order; the search itself is sequential and no hash map reaches the
//! result, so the same input gives the same output whatever the thread count.

use super::bounds::{chunks, Attack, Failure, Row, System, Widening};
use super::{is_primary, required_width, validate, Count, Interval, ModelError, Relation};
use rayon::prelude::*;
use std::collections::{BTreeSet, VecDeque};

/// The suppression pattern and what an attacker can still learn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    /// Per count: blanked (primary or complementary).
    pub blank: Vec<bool>,
    /// Blanks by the primary rule.
    pub primary: usize,
    /// Complementary blanks.
    pub secondary: usize,
    /// Per count: the attacker's interval of a blank left unprotected (see `unprotected`);
    /// `None` for every other count (the others' intervals are certified wide enough, not
    /// computed: the audit computes them).
    pub intervals: Vec<Option<Interval>>,
    /// Blanks that could not be protected (empty unless a zero is pinned by the relations
    /// themselves). The audit fails on them.
    pub unprotected: Vec<usize>,
}

impl Protection {
    /// The values to publish: `None` for each blank.
    pub fn published(&self, counts: &[Count]) -> Vec<Option<u64>> {
        counts
            .iter()
            .zip(&self.blank)
            .map(|(c, &b)| (!b).then_some(c.value))
            .collect()
    }
}

/// Blanks every primary count (1 ≤ value < `below`) and the fewest, smallest complementary
/// counts that leave no blank recoverable, exactly or to an interval narrower than
/// [`required_width`]`(below)`.
///
/// # Errors
/// [`ModelError::Index`] or [`ModelError::DoesNotHold`] when a relation is malformed or does
/// not hold on the values; [`ModelError::Solver`] when the LP solver fails.
pub fn protect(
    counts: &[Count],
    relations: &[Relation],
    below: u64,
) -> Result<Protection, ModelError> {
    protect_with(counts, relations, below, &vec![false; counts.len()], &[])
}

/// [`protect`] where the counts marked `unpublished` are never published (unknowns that only
/// link others: the complement of a count within its total, the sum of cells a table leaves
/// out): blank from the start, never primary, and never in need of protection themselves.
/// Each `(count, by)` of `follows` blanks `count` whenever `by` is blank (a count shown only
/// through a percentage of `by`: blanking `by` blanks the percentage, and the count with it).
///
/// # Errors
/// As [`protect`].
pub fn protect_with(
    counts: &[Count],
    relations: &[Relation],
    below: u64,
    unpublished: &[bool],
    follows: &[(usize, usize)],
) -> Result<Protection, ModelError> {
    search(counts, relations, below, unpublished, follows, true).map(|(p, _)| p)
}

/// [`protect_with`], with the bounds of a target carried to its next addition or not (see
/// [`Carry`]), and how often they were carried: the tests compare both ways.
pub(crate) fn search(
    counts: &[Count],
    relations: &[Relation],
    below: u64,
    unpublished: &[bool],
    follows: &[(usize, usize)],
    carry: bool,
) -> Result<(Protection, usize), ModelError> {
    validate(counts, relations)?;
    let mut engine = Engine::new(counts, relations, below);
    engine.exempt = unpublished.to_vec();
    for &(c, by) in follows {
        if c >= counts.len() || by >= counts.len() {
            return Err(ModelError::Index {
                relation: relations.len(),
                count: c.max(by),
                len: counts.len(),
            });
        }
        engine.followers[by].push(c);
    }
    let mut blank: Vec<bool> = counts
        .iter()
        .zip(unpublished)
        .map(|(c, &u)| !u && is_primary(c.value, below))
        .collect();
    let primary = blank.iter().filter(|&&b| b).count();
    for (b, &u) in blank.iter_mut().zip(unpublished) {
        *b |= u;
    }
    let initial: Vec<usize> = (0..counts.len()).filter(|&c| blank[c]).collect();
    for c in initial {
        engine.follow(c, &mut blank, &mut Vec::new());
    }
    engine.close(&mut blank, 0..relations.len());

    // Each blank is checked until it is certified safe, in key order: the first blank (by
    // key) found unsafe is the target of the next addition. Blanking more only widens what
    // the attacker can say of every other blank (a published value becomes an unknown: the
    // feasible set of the rest is a projection of a larger one), so a blank once certified
    // stays safe and is never checked again; and a blank found unsafe may have become safe
    // since, so only the smallest pending one is checked again before it is worked on. This
    // picks the same targets as attacking every blank of a changed group each round, with a
    // handful of LPs a round instead of some per pending blank. Every integral table found
    // along the way stays a feasible table of every later pattern (the counts blanked since
    // take their true values), so the smallest and largest value each count took are kept
    // across rounds (`seen`) and certify blanks with no LP at all. Measured on a
    // 1,000-episode export for one quarter (--period 2025Q3, one group of 1,537 blanks):
    // 263 s attacking every pending blank of the changed group each round, 143 s so.
    let mut seen = Seen::new(counts);
    let mut pending: BTreeSet<(&[u8], usize)> = BTreeSet::new();
    let mut given_up = vec![false; counts.len()];
    let mut carry = Carry {
        enabled: carry,
        last: None,
        times: 0,
    };
    let needs_cover = |c: usize, blank: &[bool]| blank[c] && !engine.exempt[c];
    {
        // The first pass attacks every group at once (in parallel, gathered in order).
        let rows = engine.rows(&blank);
        let systems = System::all(&rows, &engine.of_count, &blank);
        let jobs = chunks(&systems);
        let found: Vec<Result<Checked, ModelError>> = jobs
            .par_iter()
            .map(|&(k, from, to)| engine.unsafe_blanks(&systems[k], from..to, &seen, true))
            .collect();
        for u in found {
            let ((bad, _good), points) = u?;
            seen.merge(&points);
            for v in bad {
                pending.insert((counts[v].key.as_bytes(), v));
            }
        }
    }
    while let Some(&(key, target)) = pending.first() {
        let rows = engine.rows(&blank);
        let mut in_group = vec![false; counts.len()];
        let sys = System::around(target, &rows, &engine.of_count, &mut in_group);
        let j = sys
            .vars
            .binary_search(&target)
            .expect("target in its group");
        let ((bad, _), points) = engine.unsafe_blanks(&sys, j..j + 1, &seen, false)?;
        seen.merge(&points);
        if bad.is_empty() {
            pending.remove(&(key, target));
            continue;
        }
        match engine.best_addition(target, &blank, &seen, &mut carry)? {
            Some(added) => {
                for c in added {
                    blank[c] = true;
                    if needs_cover(c, &blank) && !seen.safe(c, engine.need) {
                        pending.insert((counts[c].key.as_bytes(), c));
                    }
                }
            }
            None => {
                given_up[target] = true;
                pending.remove(&(key, target));
            }
        }
        // Blanks the tables found so far already certify need no LP.
        pending.retain(|&(_, c)| !seen.safe(c, engine.need));
    }

    // What is left unsafe (given up on), with the attacker's exact intervals.
    let rows = engine.rows(&blank);
    let systems = System::all(&rows, &engine.of_count, &blank);
    let mut intervals = vec![None; counts.len()];
    for sys in &systems {
        let left: Vec<usize> = (0..sys.vars.len())
            .filter(|&j| given_up[sys.vars[j]])
            .collect();
        if left.is_empty() {
            continue;
        }
        let mut attack = engine.seeded(sys, &seen);
        for j in left {
            let iv = attack
                .interval(j)
                .map_err(|e| engine.solver_error(sys.vars[j], e))?;
            intervals[sys.vars[j]] = Some(iv);
        }
    }
    let unprotected = intervals
        .iter()
        .enumerate()
        .filter(|(i, iv)| !unpublished[*i] && matches!(iv, Some(iv) if iv.discloses(below)))
        .map(|(i, _)| i)
        .collect();
    let total = blank
        .iter()
        .zip(unpublished)
        .filter(|&(&b, &u)| b && !u)
        .count();
    Ok((
        Protection {
            blank,
            primary,
            secondary: total - primary,
            intervals,
            unprotected,
        },
        carry.times,
    ))
}

/// Blanks found unsafe and blanks certified safe.
type Verdicts = (Vec<usize>, Vec<usize>);

/// Verdicts, and the smallest and largest value each blank took (count, lo, hi).
type Checked = (Verdicts, Vec<(usize, u64, u64)>);

/// The smallest and largest value each count took over the integral tables found so far,
/// the true table first. Each stays a feasible table of every later pattern, so a blank
/// whose values lie `need` apart is safe, and an attack may start from them.
struct Seen {
    lo: Vec<u64>,
    hi: Vec<u64>,
}

impl Seen {
    fn new(counts: &[Count]) -> Self {
        let truth: Vec<u64> = counts.iter().map(|c| c.value).collect();
        Seen {
            lo: truth.clone(),
            hi: truth,
        }
    }

    fn safe(&self, c: usize, need: u64) -> bool {
        self.hi[c] - self.lo[c] >= need
    }

    fn merge(&mut self, found: &[(usize, u64, u64)]) {
        for &(c, lo, hi) in found {
            self.lo[c] = self.lo[c].min(lo);
            self.hi[c] = self.hi[c].max(hi);
        }
    }
}

/// Candidates the carried bounds may leave to an LP of their own (each costs about what
/// building the bounds anew costs over a few candidates); with more, they are built anew.
const CARRY_UNCOVERED: usize = 2;

/// The warm-started bounds ([`Widening`]) of the last target worked on, carried to its next
/// addition: when no single addition makes a blank safe, the widest is added and the same
/// blank comes back at once, with nearly the same candidates over nearly the same group.
/// The bounds are those of the pattern `blank` with every variable of `widening` not blank
/// there held at its true value; what has been blanked since is released in them (see
/// [`Widening::release`]). That is the LP that building them anew would solve whenever
/// every count blanked since, and every count the new candidates blank, is one of their
/// variables: the target's group under the new pattern then lies within theirs (a path
/// from the target through blanks stays among counts that were blank or candidates when
/// they were built), and their other variables stay at their true values, as published
/// counts do. Otherwise they are built anew. Same widths, same choices: the tests compare
/// the blanks with and without carrying. Measured on a 1,000-episode export (113
/// additions, 84 of them with no single safe addition, each rebuilding the bounds over
/// about 145 candidates in 40 to 45 ms): protection 12.5 s -> 10.2 s, 53 of the 84 carried
/// (the others follow another target, or fall back on the whole group's candidates).
struct Carry {
    enabled: bool,
    last: Option<Carried>,
    /// Additions that started from carried bounds.
    times: usize,
}

/// Bounds built (or carried) for `target` under the pattern `blank`.
struct Carried {
    target: usize,
    blank: Vec<bool>,
    widening: Widening,
}

/// An addition tried: its cost, the counts it blanks, the target's LP width after it.
type Tried<'a> = (Cost<'a>, Vec<usize>, u64);

/// Rank of a member to blank in the local rules: written margin, zero, fails to fix,
/// written, margin, value, key.
type PickScore<'a> = (bool, bool, bool, bool, bool, u64, &'a [u8]);

/// What an addition blanks, compared lexicographically: written margins, zeros, written
/// cells, sum of written values, implied margins, implied counts, sum of implied values.
type Weight = (usize, usize, usize, u128, usize, usize, u128);

/// Cost of an addition: its [`Weight`], then its keys byte-wise.
type Cost<'a> = (Weight, Vec<&'a [u8]>);

struct Engine<'a> {
    counts: &'a [Count],
    relations: &'a [Relation],
    /// Per relation, its terms (count, coefficient).
    terms: Vec<Vec<(usize, i64)>>,
    /// Per count, the relations it has a nonzero coefficient in, ascending.
    of_count: Vec<Vec<usize>>,
    need: u64,
    /// Per count: never published, needs no protection (see [`protect_with`]).
    exempt: Vec<bool>,
    /// Per count: the counts blanked whenever it is (see [`protect_with`]).
    followers: Vec<Vec<usize>>,
}

impl<'a> Engine<'a> {
    fn new(counts: &'a [Count], relations: &'a [Relation], below: u64) -> Self {
        let terms: Vec<Vec<(usize, i64)>> = relations.iter().map(Relation::terms).collect();
        let mut of_count = vec![Vec::new(); counts.len()];
        for (r, t) in terms.iter().enumerate() {
            for &(i, _) in t {
                of_count[i].push(r);
            }
        }
        Engine {
            counts,
            relations,
            terms,
            of_count,
            need: required_width(below),
            exempt: vec![false; counts.len()],
            followers: vec![Vec::new(); counts.len()],
        }
    }

    /// Whether relation `r` leaves a blank exposed by a local rule.
    fn deficient(&self, r: usize, blank: &[bool]) -> bool {
        let (mut n, mut pos, mut neg, mut resid, mut max_c) = (0, false, false, 0u128, 0u128);
        let mut real = 0;
        for &(i, c) in &self.terms[r] {
            if blank[i] {
                n += 1;
                real += usize::from(!self.exempt[i]);
                pos |= c > 0;
                neg |= c < 0;
                resid += c.unsigned_abs() as u128 * self.counts[i].value as u128;
                max_c = max_c.max(c.unsigned_abs() as u128);
            }
        }
        match (n, real) {
            (_, 0) => false,
            (1, _) => true,
            _ => !(pos && neg) && resid < self.need as u128 * max_c,
        }
    }

    /// The best published member of relation `r` to blank (see the module doc).
    fn pick(&self, r: usize, blank: &mut [bool]) -> Option<usize> {
        let mut best: Option<(PickScore, usize)> = None;
        for &(c, _) in &self.terms[r] {
            if blank[c] {
                continue;
            }
            blank[c] = true;
            let fixes = !self.deficient(r, blank);
            blank[c] = false;
            let k = &self.counts[c];
            let score = (
                k.margin && !k.implied,
                k.value == 0,
                !fixes,
                !k.implied,
                k.margin,
                k.value,
                k.key.as_bytes(),
            );
            if best.as_ref().is_none_or(|(s, i)| (&score, c) < (s, *i)) {
                best = Some((score, c));
            }
        }
        best.map(|(_, c)| c)
    }

    /// Applies the local rules until no relation is deficient (or none can be fixed),
    /// starting from the relations in `queue`; returns the counts blanked, in order.
    /// Blanks what follows `c` (transitively), appending it to `added`.
    fn follow(&self, c: usize, blank: &mut [bool], added: &mut Vec<usize>) {
        let mut stack = vec![c];
        while let Some(b) = stack.pop() {
            for &f in &self.followers[b] {
                if !blank[f] {
                    blank[f] = true;
                    added.push(f);
                    stack.push(f);
                }
            }
        }
    }

    fn close(&self, blank: &mut [bool], queue: impl IntoIterator<Item = usize>) -> Vec<usize> {
        let mut in_queue = vec![false; self.terms.len()];
        let mut q: VecDeque<usize> = VecDeque::new();
        for r in queue {
            if !in_queue[r] {
                in_queue[r] = true;
                q.push_back(r);
            }
        }
        let mut added = Vec::new();
        while let Some(r) = q.pop_front() {
            in_queue[r] = false;
            while self.deficient(r, blank) {
                let Some(c) = self.pick(r, blank) else { break };
                blank[c] = true;
                let mut now = vec![c];
                self.follow(c, blank, &mut now);
                for &c in &now {
                    for &s in &self.of_count[c] {
                        if s != r && !in_queue[s] {
                            in_queue[s] = true;
                            q.push_back(s);
                        }
                    }
                }
                added.extend(now);
            }
        }
        added
    }

    /// The relations with the published values substituted.
    fn rows(&self, blank: &[bool]) -> Vec<Row> {
        let published: Vec<Option<u64>> = self
            .counts
            .iter()
            .zip(blank)
            .map(|(c, &b)| (!b).then_some(c.value))
            .collect();
        self.relations
            .iter()
            .map(|rel| Row::substitute(rel, &published).expect("validated indices"))
            .collect()
    }

    /// An attack on `sys` that knows every value `seen` records as reached (the true values
    /// among them).
    fn seeded<'s>(&self, sys: &'s System, seen: &Seen) -> Attack<'s> {
        let lo = sys.vars.iter().map(|&v| seen.lo[v]).collect();
        let hi = sys.vars.iter().map(|&v| seen.hi[v]).collect();
        Attack::with_seen(sys, lo, hi)
    }

    fn solver_error(&self, v: usize, e: Failure) -> ModelError {
        ModelError::Solver {
            key: self.counts[v].key.clone(),
            message: match e {
                Failure::Infeasible => "the true values were judged infeasible".to_string(),
                Failure::Solver(m) => m,
            },
        }
    }

    /// The blanks of `sys` (among its variables `range`) an attacker can narrow below the
    /// required width, and the smallest and largest value each blank took over the integral
    /// tables found (count, lo, hi).
    fn unsafe_blanks(
        &self,
        sys: &System,
        range: std::ops::Range<usize>,
        seen: &Seen,
        probe: bool,
    ) -> Result<Checked, ModelError> {
        let mut attack = self.seeded(sys, seen);
        if probe {
            attack
                .probe(self.need)
                .map_err(|e| self.solver_error(sys.vars[0], e))?;
        } else if range.len() == 1 {
            attack = attack.without_cone();
        }
        let (mut bad, mut good) = (Vec::new(), Vec::new());
        for j in range {
            let v = sys.vars[j];
            // An unknown no file shows needs no cover; a blank certified before stays safe.
            // A blanked zero does: the audit cannot tell it from a small count, and a zero
            // narrowed to [0, 5] reads as "a few people" all the same.
            if self.exempt[v] || seen.safe(v, self.need) {
                continue;
            }
            if attack
                .width_at_least(j, self.need)
                .map_err(|e| self.solver_error(v, e))?
            {
                good.push(v);
            } else {
                bad.push(v);
            }
        }
        Ok(((bad, good), attack.seen(&sys.vars)))
    }

    /// The cheapest set of counts to blank (a published member of a relation of `target`,
    /// with the local rules closed after it) that makes `target` safe; when none does, the
    /// one that widens it most. `None` when there is nothing left to blank near it.
    fn best_addition(
        &self,
        target: usize,
        blank: &[bool],
        seen: &Seen,
        carry: &mut Carry,
    ) -> Result<Option<Vec<usize>>, ModelError> {
        let mut cands: Vec<usize> = self.of_count[target]
            .iter()
            .flat_map(|&r| self.terms[r].iter().map(|&(c, _)| c))
            .filter(|&c| !blank[c])
            .collect();
        if cands.is_empty() {
            // Every relation of the target is blank: look across its whole group.
            let rows = self.rows(blank);
            let mut seen = vec![false; blank.len()];
            let sys = System::around(target, &rows, &self.of_count, &mut seen);
            cands = sys
                .rows
                .iter()
                .flat_map(|&r| self.terms[r].iter().map(|&(c, _)| c))
                .filter(|&c| !blank[c])
                .collect();
        }
        // In order of what each costs alone (a lower bound of any addition starting at it).
        cands.sort_unstable_by_key(|&c| (self.weight(&[c]), self.counts[c].key.as_bytes(), c));
        cands.dedup();

        // Each candidate costs an LP over the target's group (hundreds of blanks on a small
        // export): they are evaluated in parallel batches and then taken in order by the
        // sequential rule, so the choice does not depend on the thread count. Measured on a
        // 4,000-episode export for one quarter: 30 s one by one, 17 s on two threads.
        // What each candidate blanks (with the local rules closed after it): cheap, and the
        // union is what the warm-started bounds must hold as variables.
        let additions: Vec<Vec<usize>> =
            cands.par_iter().map(|&c| self.addition(blank, c)).collect();
        let mut all: Vec<usize> = additions.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        let carried = match carry.last.take() {
            Some(r) if r.target == target => {
                let since: Vec<usize> = (0..blank.len())
                    .filter(|&c| blank[c] && !r.blank[c])
                    .collect();
                let uncovered = additions.iter().filter(|a| !r.widening.covers(a)).count();
                if r.widening.covers(&since) && uncovered <= CARRY_UNCOVERED {
                    r.widening.release(&since)
                } else {
                    None
                }
            }
            _ => None,
        };
        carry.times += usize::from(carried.is_some());
        let widening = carried.or_else(|| self.widening(target, blank, &all));
        let mut best_safe: Option<(Cost, Vec<usize>)> = None;
        let mut best_wide: Option<(u64, Cost, Vec<usize>)> = None;
        let batch = 2 * rayon::current_num_threads().max(1);
        'batches: for (group, added) in cands.chunks(batch).zip(additions.chunks(batch)) {
            let evaluated: Vec<Result<Tried, ModelError>> = added
                .par_iter()
                .map(|a| self.try_addition(target, blank, seen, widening.as_ref(), a))
                .collect();
            for (&c, e) in group.iter().zip(evaluated) {
                if let Some((b, _)) = &best_safe {
                    // No addition starting at c can weigh less than c alone.
                    if self.weight(&[c]) >= b.0 {
                        break 'batches;
                    }
                }
                let (cost, added, w) = e?;
                if w >= self.need {
                    if best_safe.as_ref().is_none_or(|(b, _)| cost < *b) {
                        best_safe = Some((cost, added));
                    }
                } else if best_safe.is_none()
                    && best_wide
                        .as_ref()
                        .is_none_or(|(bw, bc, _)| w > *bw || (w == *bw && cost < *bc))
                {
                    best_wide = Some((w, cost, added));
                }
            }
        }
        if carry.enabled {
            carry.last = widening.map(|widening| Carried {
                target,
                blank: blank.to_vec(),
                widening,
            });
        }
        Ok(best_safe.map(|(_, a)| a).or(best_wide.map(|(_, _, a)| a)))
    }

    /// Blanking `c` and what follows it and what the local rules then require: the counts
    /// blanked, `c` first.
    fn addition(&self, blank: &[bool], c: usize) -> Vec<usize> {
        let mut t = blank.to_vec();
        t[c] = true;
        let mut added = vec![c];
        self.follow(c, &mut t, &mut added);
        let queue: Vec<usize> = added
            .iter()
            .flat_map(|&a| self.of_count[a].iter().copied())
            .collect();
        added.extend(self.close(&mut t, queue));
        added
    }

    /// Blanking `added` (an [`Engine::addition`]): its cost, the counts blanked and the LP
    /// width of `target` after it (an upper bound on the integer width, for ranking only: the
    /// next attack of the whole group decides).
    fn try_addition(
        &self,
        target: usize,
        blank: &[bool],
        seen: &Seen,
        widening: Option<&Widening>,
        added: &[usize],
    ) -> Result<Tried<'_>, ModelError> {
        let cost = self.cost(added);
        let added = added.to_vec();
        if let Some(w) = widening.filter(|w| w.covers(&added)) {
            if let Some(width) = w.width(&added, seen.lo[target] == 0) {
                return Ok((cost, added, width.unwrap_or(u64::MAX)));
            }
        }
        let mut t = blank.to_vec();
        for &a in &added {
            t[a] = true;
        }
        let rows = self.rows(&t);
        let mut in_group = vec![false; t.len()];
        let sys = System::around(target, &rows, &self.of_count, &mut in_group);
        let j = sys
            .vars
            .binary_search(&target)
            .expect("target in its group");
        let w = self
            .seeded(&sys, seen)
            .lp_width(j)
            .map_err(|e| self.solver_error(target, e))?
            .unwrap_or(u64::MAX);
        Ok((cost, added, w))
    }

    /// The warm-started LP bounds of `target` over its group with every candidate blank
    /// (see [`Widening`]); `None` when the solver fails.
    fn widening(&self, target: usize, blank: &[bool], cands: &[usize]) -> Option<Widening> {
        let mut t = blank.to_vec();
        for &c in cands {
            t[c] = true;
        }
        let rows = self.rows(&t);
        let mut in_group = vec![false; t.len()];
        let sys = System::around(target, &rows, &self.of_count, &mut in_group);
        let fixed: Vec<(usize, u64)> = cands.iter().map(|&c| (c, self.counts[c].value)).collect();
        Widening::new(&sys, target, &fixed)
    }

    fn cost(&self, added: &[usize]) -> Cost<'a> {
        let mut keys: Vec<&[u8]> = added
            .iter()
            .map(|&c| self.counts[c].key.as_bytes())
            .collect();
        keys.sort_unstable();
        (self.weight(added), keys)
    }

    /// What blanking `added` costs (see [`Weight`]).
    fn weight(&self, added: &[usize]) -> Weight {
        let counts = self.counts;
        let (implied, written): (Vec<&Count>, Vec<&Count>) =
            added.iter().map(|&c| &counts[c]).partition(|k| k.implied);
        let sum = |ks: &[&Count]| ks.iter().map(|k| k.value as u128).sum::<u128>();
        let margins = |ks: &[&Count]| ks.iter().filter(|k| k.margin).count();
        (
            margins(&written),
            added.iter().filter(|&&c| counts[c].value == 0).count(),
            written.len(),
            sum(&written),
            margins(&implied),
            implied.len(),
            sum(&implied),
        )
    }
}
