//! Small-cell suppression (SPEC §7): CMS blanks any count from 1 to 10.

/// Whether a count is small: 1 ≤ n < `below` (0 is never small: it reveals nobody).
pub fn small(n: Option<u64>, below: u64) -> bool {
    n.is_some_and(|n| n >= 1 && n < below)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts() {
        assert!(!small(Some(0), 11));
        assert!(small(Some(1), 11));
        assert!(small(Some(10), 11));
        assert!(!small(Some(11), 11));
        assert!(!small(None, 11));
        assert!(!small(Some(3), 1));
    }
}
