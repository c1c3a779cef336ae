//! Strict parsing of one field: missing values (V2), dates (V3), numbers and minutes (V4),
//! and label mapping. Pure functions over `&str`; no allocation on the hot path.

use crate::dates::{self, Day};
use std::collections::BTreeMap;
use std::collections::HashMap;

/// `str::trim`, with a fast path for the usual case: both end bytes are ASCII and not white
/// space, so there is nothing to trim (any other case falls back to the full Unicode trim).
pub fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        (None, _) => s,
        _ => s.trim(),
    }
}

/// `a == b`, without a call to `memcmp` for the short values the row checks compare on every
/// row (episode ids, service and instrument values: up to 16 bytes, compared as two
/// overlapping words). At 1,000,000 episodes those calls were 4% of the run's CPU.
#[inline]
pub fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8"));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4"));
    match n {
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// How to read values, from the config.
#[derive(Debug, Clone, Default)]
pub struct FieldRules {
    /// chrono format; empty = strict `YYYY-MM-DD`.
    pub date_format: String,
    /// Tokens read as missing besides the empty string.
    pub missing: Vec<String>,
}

impl FieldRules {
    /// Missing = empty after trimming, or a configured token (SPEC §10 V2).
    pub fn is_missing(&self, v: &str) -> bool {
        let t = trim(v);
        t.is_empty() || self.missing.iter().any(|m| m == t)
    }

    /// A date in the configured format, or `None` (SPEC §10 V3).
    pub fn date(&self, v: &str) -> Option<Day> {
        let t = trim(v);
        if self.date_format.is_empty() {
            dates::parse_iso(t.as_bytes())
        } else {
            let d = chrono::NaiveDate::parse_from_str(t, &self.date_format).ok()?;
            use chrono::Datelike;
            Some(d.num_days_from_ce() - 719_163)
        }
    }
}

/// A number of the form `[+-]digits[.digits][e[+-]digits]` (SPEC §10 V4), or `None`.
pub fn number(v: &str) -> Option<f64> {
    let t = trim(v);
    let b = t.as_bytes();
    // Whole numbers of up to 15 digits (most scores and minutes) are exact as integers:
    // the same value `str::parse::<f64>` gives, without its general algorithm.
    if !b.is_empty() && b.len() <= 15 && b.iter().all(u8::is_ascii_digit) {
        return Some(b.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')) as f64);
    }
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let run = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > s
    };
    if !run(&mut i) {
        return None;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if !run(&mut i) {
            return None;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if !run(&mut i) {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Minutes attended: a whole number from 0 to 1440 (SPEC §10 V4).
pub fn minutes(x: f64) -> Option<u16> {
    (x.fract() == 0.0 && (0.0..=1440.0).contains(&x)).then_some(x as u16)
}

/// Raw label → canonical label, exact first, then case-insensitively; unmapped labels pass
/// through trimmed.
#[derive(Debug, Clone, Default)]
pub struct LabelMap {
    exact: HashMap<String, String>,
    folded: HashMap<String, String>,
    /// The known labels of a closed set (`[labels] closed`): the mapping's raw and canonical
    /// labels; `None` when the set is open (any label passes through).
    closed: Option<std::collections::HashSet<String>>,
}

impl LabelMap {
    pub fn new(map: &BTreeMap<String, String>) -> Self {
        let mut m = LabelMap::default();
        for (raw, canon) in map {
            m.exact
                .insert(raw.trim().to_string(), canon.trim().to_string());
            m.folded
                .entry(raw.trim().to_lowercase())
                .or_insert_with(|| canon.trim().to_string());
        }
        m
    }

    /// A map whose labels form a closed set: a label that is neither mapped nor one of the
    /// canonical labels is unknown ([`LabelMap::known`] gives `None`).
    pub fn closed(map: &BTreeMap<String, String>) -> Self {
        let mut m = LabelMap::new(map);
        m.closed = Some(map.values().map(|c| c.trim().to_string()).collect());
        m
    }

    /// The canonical label, or `None` when the set is closed and `raw` is not in it.
    pub fn known<'a>(&'a self, raw: &'a str) -> Option<&'a str> {
        let out = self.apply(raw);
        match &self.closed {
            Some(set) if !set.contains(out) => None,
            _ => Some(out),
        }
    }

    pub fn apply<'a>(&'a self, raw: &'a str) -> &'a str {
        let t = trim(raw);
        if self.exact.is_empty() {
            return t;
        }
        if let Some(c) = self.exact.get(t) {
            return c;
        }
        if let Some(c) = self.folded.get(&t.to_lowercase()) {
            return c;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_strict() {
        for (s, v) in [
            ("16", 16.0),
            ("16.0", 16.0),
            ("-1", -1.0),
            ("+2.5", 2.5),
            ("1e2", 100.0),
            ("1.5E-1", 0.15),
            (" 7 ", 7.0),
        ] {
            assert_eq!(number(s), Some(v), "{s}");
        }
        for s in [
            "", "NA", "1,200", "12..5", "--5", "inf", "nan", "0x1F", "7 8", ".5", "5.", "1e", "e5",
            "+", "1.2.3",
        ] {
            assert_eq!(number(s), None, "{s}");
        }
        // The whole-number fast path gives exactly what the general parse gives, up to the
        // longest integer it takes (15 digits) and just past it.
        for s in [
            "0",
            "007",
            "123456789012345",
            "999999999999999",
            "1234567890123456",
        ] {
            assert_eq!(number(s), s.parse::<f64>().ok(), "{s}");
        }
    }

    #[test]
    fn minutes_are_whole_and_bounded() {
        assert_eq!(minutes(0.0), Some(0));
        assert_eq!(minutes(1440.0), Some(1440));
        assert_eq!(minutes(1441.0), None);
        assert_eq!(minutes(-1.0), None);
        assert_eq!(minutes(90.5), None);
    }

    #[test]
    fn missing_and_dates() {
        let r = FieldRules::default();
        assert!(r.is_missing("  "));
        assert!(!r.is_missing("NA"));
        let r2 = FieldRules {
            missing: vec!["NA".into()],
            date_format: "%m/%d/%Y".into(),
        };
        assert!(r2.is_missing(" NA "));
        assert_eq!(r2.date("03/15/2025"), dates::parse_iso(b"2025-03-15"));
        assert_eq!(r2.date("02/30/2025"), None);
        assert_eq!(r.date("2024-02-29"), dates::parse_iso(b"2024-02-29"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20000))]
        #[test]
        fn same_text_is_equality(
            a in "[ab\u{e9}]{0,20}",
            flip in 0usize..24,
            with in "[abc]",
        ) {
            // Equal texts, and texts that differ in one place (or in length).
            let mut b: Vec<char> = a.chars().collect();
            if flip < b.len() {
                b[flip] = with.chars().next().expect("one char");
            } else if flip % 2 == 0 {
                b.push('a');
            }
            let b: String = b.into_iter().collect();
            proptest::prop_assert_eq!(same_text(&a, &b), a == b);
            proptest::prop_assert!(same_text(&a, &a));
        }
    }

    #[test]
    fn fast_trim_equals_trim() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\ta\r",
            "\u{a0}x\u{a0}",
            "é",
            " é ",
            "x\u{2003}",
            "E1",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }

    #[test]
    fn labels() {
        let mut m = BTreeMap::new();
        m.insert("MH".to_string(), "mental_health".to_string());
        m.insert("Dual Dx".to_string(), "co_occurring".to_string());
        let l = LabelMap::new(&m);
        assert_eq!(l.apply(" MH "), "mental_health");
        assert_eq!(l.apply("dual dx"), "co_occurring");
        assert_eq!(l.apply("eating_disorder"), "eating_disorder");
        assert_eq!(l.known("eating_disorder"), Some("eating_disorder"));
        // A closed set knows its mapped and canonical labels only.
        let c = LabelMap::closed(&m);
        assert_eq!(c.known(" mh"), Some("mental_health"));
        assert_eq!(c.known("co_occurring"), Some("co_occurring"));
        assert_eq!(c.known("eating_disorder"), None);
    }
}
