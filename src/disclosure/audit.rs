//! The audit (SPEC §11 D3): an independent check of the values about to be published. It
//! knows nothing of how the blanks were chosen: it takes the published values as written
//! (`None` = blank), tries every relation, and attacks every blank with [`bounds::intervals`]
//! (exact recovery and interval narrowing alike, e.g. two blanks whose sum is published and
//! one of which another relation bounds).
//!
//! [`bounds::intervals`]: super::bounds::intervals

use super::{bounds, required_width, Relation};

/// A blank the attacker can place in an interval narrower than the band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disclosure {
    /// The count's index.
    pub index: usize,
    /// The attacker's interval (exact, integer): lo ≤ value ≤ hi.
    pub lo: u64,
    pub hi: u64,
}

/// What the audit tried and found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// Relations tried (all of them).
    pub relations_tried: usize,
    /// Blanks attacked.
    pub blanks: usize,
    /// Blanks recovered exactly or narrowed below the band, by index.
    pub disclosed: Vec<Disclosure>,
    /// Relations the published values contradict (see [`bounds::Bounds::inconsistent`]).
    pub inconsistent: Vec<usize>,
    /// Blanks the solver could not attack: the audit cannot vouch for them.
    pub unsolved: Vec<usize>,
}

impl Audit {
    /// Whether the values may be published: nothing disclosed, nothing contradictory,
    /// nothing left unchecked.
    pub fn passed(&self) -> bool {
        self.disclosed.is_empty() && self.inconsistent.is_empty() && self.unsolved.is_empty()
    }
}

/// Attacks every blank of `published` through `relations`; a blank is disclosed when the
/// attacker's interval is finite and narrower than [`required_width`]`(below)`
/// (hi − lo < below − 2, i.e. < 9 for below = 11).
///
/// Blanks the attacker cannot narrow are certified by two integer points far enough
/// apart; the exact interval is computed for the disclosed ones.
pub fn audit(published: &[Option<u64>], relations: &[Relation], below: u64) -> Audit {
    audit_with(published, relations, below, &vec![false; published.len()])
}

/// [`audit`] where the blanks marked `unknown` are unknowns of the relations rather than
/// published cells (a complement within a total, the sum of cells a table leaves out): they
/// help the attacker and are never reported as disclosed themselves.
pub fn audit_with(
    published: &[Option<u64>],
    relations: &[Relation],
    below: u64,
    unknown: &[bool],
) -> Audit {
    let b = bounds::narrowed(published, relations, required_width(below));
    let disclosed = b
        .intervals
        .iter()
        .enumerate()
        .filter(|(index, _)| !unknown[*index])
        .filter_map(|(index, iv)| {
            let iv = (*iv)?;
            iv.discloses(below).then(|| Disclosure {
                index,
                lo: iv.lo,
                hi: iv.hi.expect("a disclosing interval is finite"),
            })
        })
        .collect();
    Audit {
        relations_tried: relations.len(),
        blanks: published
            .iter()
            .zip(unknown)
            .filter(|(v, &u)| v.is_none() && !u)
            .count(),
        disclosed,
        inconsistent: b.inconsistent,
        unsolved: b.unsolved.into_iter().filter(|&i| !unknown[i]).collect(),
    }
}
