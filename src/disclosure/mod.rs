//! Small-cell disclosure control that holds under subtraction (SPEC §11 D1–D3): a generic,
//! pure engine over published counts and the additive relations between them. It knows
//! nothing of the product's tables: the caller lists every count it is about to publish and
//! every relation `total = Σ parts` the tables contain (a margin and its cells, categories
//! and their total, the same count published twice as a relation with one part).
//!
//! - [`protect()`] blanks the primary counts (1 ≤ value < `below`) and adds complementary
//!   blanks until no blank can be recovered, exactly or to an interval narrower than the
//!   1 … below − 1 band (the approach of sdcTable's SIMPLEHEURISTIC: close every relation
//!   that a single blank leaves open, then attack the pattern and add cells until the
//!   attacker's problems all fail).
//! - [`audit()`] is the independent check: the attacker of [`bounds`] run on the values about
//!   to be published, reporting every blank it can pin down or narrow.
//! - [`bounds::intervals`] is that attacker: per group of linked blanks, the tightest interval
//!   of each blank under the published equalities and non-negativity, by linear programming
//!   (microlp), made integer-exact by branch and bound where the LP optimum is fractional.
//!
//! There is no R counterpart: the reference behaviour is sdcTable's `attack()` (lower and
//! upper bounds of each suppressed cell by LP) with an interval rule in place of its
//! "bounds differ" rule, and the tests check the engine against a brute-force integer
//! attacker written independently.

pub mod audit;
pub mod bounds;
pub mod protect;

#[cfg(test)]
mod tests;

pub use audit::{audit, audit_with, Audit, Disclosure};
pub use bounds::{intervals, Bounds};
pub use protect::{protect, protect_with, Protection};

/// One count about to be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// The true value.
    pub value: u64,
    /// A stable identifier (e.g. `outcomes|PHQ9|eating_disorder|CBT|n_unchanged`): ties
    /// between equally good complementary cells are broken byte-wise on it, and messages
    /// name it.
    pub key: String,
    /// Whether the count is a margin (an `All` row or column, a total of categories): a
    /// margin is blanked as a complement only when no ordinary cell will do.
    pub margin: bool,
    /// Whether the count is shown only through a statistic (a percentage of a published
    /// denominator), never written: blanking it withholds that statistic and no written
    /// count, so as a complement it comes before a written count of the same standing
    /// (margin or not, zero or not).
    pub implied: bool,
}

impl Count {
    /// An ordinary cell.
    pub fn cell(key: impl Into<String>, value: u64) -> Self {
        Count {
            value,
            key: key.into(),
            margin: false,
            implied: false,
        }
    }

    /// A margin (a total of other published counts).
    pub fn margin(key: impl Into<String>, value: u64) -> Self {
        Count {
            value,
            key: key.into(),
            margin: true,
            implied: false,
        }
    }

    /// The same count shown only through a statistic (see [`Count::implied`]).
    pub fn through_statistic(mut self) -> Self {
        self.implied = true;
        self
    }
}

/// An additive relation between published counts: `total = Σ parts` (indices into the
/// count list). The same count published twice is a relation with one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Index of the total (e.g. the `All` margin, n_paired).
    pub total: usize,
    /// Indices of the parts it is the sum of (one part: the same count published twice).
    pub parts: Vec<usize>,
}

impl Relation {
    /// `total = Σ parts`.
    pub fn new(total: usize, parts: Vec<usize>) -> Self {
        Relation { total, parts }
    }

    /// The same count published twice: `a = b`.
    pub fn same(a: usize, b: usize) -> Self {
        Relation {
            total: a,
            parts: vec![b],
        }
    }

    /// The relation as `Σ coefficient·x = 0` over distinct count indices, ascending, zero
    /// coefficients dropped (the total −1, each part +1, repeats added up).
    pub fn terms(&self) -> Vec<(usize, i64)> {
        let mut t: Vec<(usize, i64)> = Vec::with_capacity(self.parts.len() + 1);
        t.push((self.total, -1));
        t.extend(self.parts.iter().map(|&p| (p, 1)));
        t.sort_unstable_by_key(|&(i, _)| i);
        let mut out: Vec<(usize, i64)> = Vec::with_capacity(t.len());
        for (i, c) in t {
            match out.last_mut() {
                Some((j, d)) if *j == i => *d += c,
                _ => out.push((i, c)),
            }
        }
        out.retain(|&(_, c)| c != 0);
        out
    }
}

/// The interval an attacker can place a blank in: `lo ≤ value ≤ hi`, `hi` `None` when
/// unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// The smallest value the published data allow.
    pub lo: u64,
    /// The largest, `None` when the data put no upper limit on it.
    pub hi: Option<u64>,
}

impl Interval {
    /// `hi − lo`, `None` when unbounded.
    pub fn width(&self) -> Option<u64> {
        self.hi.map(|h| h.saturating_sub(self.lo))
    }

    /// Whether the interval reveals the value: finite and narrower than
    /// [`required_width`]`(below)`.
    pub fn discloses(&self, below: u64) -> bool {
        matches!(self.width(), Some(w) if w < required_width(below))
    }
}

/// Whether a value is blanked by the primary rule: 1 ≤ value < `below` (0 reveals nobody and
/// is never primary).
pub fn is_primary(value: u64, below: u64) -> bool {
    value >= 1 && value < below
}

/// The narrowest interval width that does not disclose: the width of the band
/// 1 … below − 1, i.e. below − 2 (9 for below = 11), and at least 1 so that recovering a
/// value exactly always counts as disclosure.
pub fn required_width(below: u64) -> u64 {
    below.saturating_sub(2).max(1)
}

/// Why a model cannot be protected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A relation names a count index outside the count list.
    #[error("relation {relation} names count {count}, but there are {len} counts")]
    Index {
        /// The relation's index.
        relation: usize,
        /// The index it names.
        count: usize,
        /// The number of counts.
        len: usize,
    },
    /// A relation does not hold on the true values.
    #[error("relation {relation} does not hold: {total_key} = {total} but its parts sum to {sum}")]
    DoesNotHold {
        /// The relation's index.
        relation: usize,
        /// Its total's key and value.
        total_key: String,
        total: u64,
        /// The sum of its parts.
        sum: u128,
    },
    /// The LP solver failed on a group of blanks.
    #[error("the LP solver failed on the blanks around {key}: {message}")]
    Solver {
        /// The key of a blank in the group.
        key: String,
        /// The solver's message.
        message: String,
    },
}

/// Checks that every relation names existing counts and holds on the true values.
pub fn validate(counts: &[Count], relations: &[Relation]) -> Result<(), ModelError> {
    for (r, rel) in relations.iter().enumerate() {
        let len = counts.len();
        if let Some(&bad) = std::iter::once(&rel.total)
            .chain(&rel.parts)
            .find(|&&i| i >= len)
        {
            return Err(ModelError::Index {
                relation: r,
                count: bad,
                len,
            });
        }
        let sum: u128 = rel.parts.iter().map(|&p| counts[p].value as u128).sum();
        if sum != counts[rel.total].value as u128 {
            return Err(ModelError::DoesNotHold {
                relation: r,
                total_key: counts[rel.total].key.clone(),
                total: counts[rel.total].value,
                sum,
            });
        }
    }
    Ok(())
}
