//! Scenario tests of the audit and of protect(), and a property test against a brute-force
//! integer attacker (constraint propagation and search, no LP) written here independently.
//! There is no R reference: every expected interval below is derived by hand beside it.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const BELOW: u64 = 11;
/// 9: the narrowest interval that does not disclose for BELOW = 11.
const NEED: u64 = 9;

// ---------------------------------------------------------------------------------------
// Builders

/// A full n-dimensional table of counts with an `All` margin along every dimension (so
/// every count is a sum of interior cells), and one relation per margin and dimension.
struct Grid {
    dims: Vec<usize>,
    counts: Vec<Count>,
    relations: Vec<Relation>,
}

impl Grid {
    /// `interior` in row-major order over `dims` (last dimension fastest).
    fn new(dims: &[usize], interior: &[u64]) -> Grid {
        assert_eq!(interior.len(), dims.iter().product::<usize>());
        let ext: Vec<usize> = dims.iter().map(|d| d + 1).collect();
        let n: usize = ext.iter().product();
        let coords = |mut i: usize| {
            let mut c = vec![0; ext.len()];
            for d in (0..ext.len()).rev() {
                c[d] = i % ext[d];
                i /= ext[d];
            }
            c
        };
        let index = |c: &[usize]| c.iter().zip(&ext).fold(0, |acc, (&x, &e)| acc * e + x);
        let mut values = vec![0u64; n];
        for (k, &v) in interior.iter().enumerate() {
            // interior index k over dims -> coordinates, then add into every margin.
            let mut c = vec![0; dims.len()];
            let mut r = k;
            for d in (0..dims.len()).rev() {
                c[d] = r % dims[d];
                r /= dims[d];
            }
            for mask in 0..(1usize << dims.len()) {
                let m: Vec<usize> = (0..dims.len())
                    .map(|d| if mask >> d & 1 == 1 { dims[d] } else { c[d] })
                    .collect();
                values[index(&m)] += v;
            }
        }
        let counts = (0..n)
            .map(|i| {
                let c = coords(i);
                let key = c
                    .iter()
                    .enumerate()
                    .map(|(d, &x)| {
                        if x == dims[d] {
                            format!("d{d}=All")
                        } else {
                            format!("d{d}={x}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("|");
                let margin = c.iter().zip(dims).any(|(&x, &k)| x == k);
                Count {
                    value: values[i],
                    key,
                    margin,
                    implied: false,
                }
            })
            .collect();
        let mut relations = Vec::new();
        for d in 0..dims.len() {
            for i in 0..n {
                let c = coords(i);
                if c[d] == dims[d] {
                    let parts = (0..dims[d])
                        .map(|x| {
                            let mut p = c.clone();
                            p[d] = x;
                            index(&p)
                        })
                        .collect();
                    relations.push(Relation::new(i, parts));
                }
            }
        }
        Grid {
            dims: dims.to_vec(),
            counts,
            relations,
        }
    }

    fn at(&self, c: &[usize]) -> usize {
        c.iter()
            .zip(&self.dims)
            .fold(0, |acc, (&x, &k)| acc * (k + 1) + x)
    }

    fn grand_total(&self) -> usize {
        self.counts.len() - 1
    }
}

const CATS: [&str; 4] = ["n_improved", "n_unchanged", "n_deteriorated", "n_paired"];

/// An outcomes-style table: track × modality (ragged: a track has only its modalities),
/// with `All` margins of each, of three reliable-change categories plus n_paired, and the
/// relations the published table holds.
struct Outcomes {
    counts: Vec<Count>,
    relations: Vec<Relation>,
    index: BTreeMap<(String, String, &'static str), usize>,
}

impl Outcomes {
    fn new(cells: &[(&str, &str, [u64; 3])]) -> Outcomes {
        let mut rows: BTreeMap<(String, String), [u64; 4]> = BTreeMap::new();
        for &(t, m, [imp, unc, det]) in cells {
            let v = [imp, unc, det, imp + unc + det];
            for key in [
                (t.to_string(), m.to_string()),
                (t.to_string(), "All".to_string()),
                ("All".to_string(), m.to_string()),
                ("All".to_string(), "All".to_string()),
            ] {
                let e = rows.entry(key).or_insert([0; 4]);
                for k in 0..4 {
                    e[k] += v[k];
                }
            }
        }
        let mut counts = Vec::new();
        let mut index = BTreeMap::new();
        for ((t, m), v) in &rows {
            for (k, cat) in CATS.iter().enumerate() {
                index.insert((t.clone(), m.clone(), *cat), counts.len());
                let key = format!("outcomes|PHQ9|{t}|{m}|{cat}");
                let margin = t == "All" || m == "All" || *cat == "n_paired";
                counts.push(Count {
                    value: v[k],
                    key,
                    margin,
                    implied: false,
                });
            }
        }
        let at = |t: &str, m: &str, cat: &'static str| index[&(t.to_string(), m.to_string(), cat)];
        let mut relations = Vec::new();
        for (t, m) in rows.keys() {
            relations.push(Relation::new(
                at(t, m, "n_paired"),
                CATS[..3].iter().map(|c| at(t, m, c)).collect(),
            ));
        }
        let tracks: Vec<&str> = cells
            .iter()
            .map(|c| c.0)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mods: Vec<&str> = cells
            .iter()
            .map(|c| c.1)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for cat in CATS {
            for &t in &tracks {
                let parts = cells
                    .iter()
                    .filter(|c| c.0 == t)
                    .map(|c| at(t, c.1, cat))
                    .collect();
                relations.push(Relation::new(at(t, "All", cat), parts));
            }
            for &m in &mods {
                let parts = cells
                    .iter()
                    .filter(|c| c.1 == m)
                    .map(|c| at(c.0, m, cat))
                    .collect();
                relations.push(Relation::new(at("All", m, cat), parts));
            }
            relations.push(Relation::new(
                at("All", "All", cat),
                tracks.iter().map(|t| at(t, "All", cat)).collect(),
            ));
            relations.push(Relation::new(
                at("All", "All", cat),
                mods.iter().map(|m| at("All", m, cat)).collect(),
            ));
        }
        Outcomes {
            counts,
            relations,
            index,
        }
    }

    fn at(&self, t: &str, m: &str, cat: &'static str) -> usize {
        self.index[&(t.to_string(), m.to_string(), cat)]
    }
}

/// The values with only the primary blanks (today's product: §7 without §11).
fn primary_only(counts: &[Count]) -> Vec<Option<u64>> {
    counts
        .iter()
        .map(|c| (!is_primary(c.value, BELOW)).then_some(c.value))
        .collect()
}

/// protect(), then the checks every scenario shares: primaries blank, the audit passes,
/// the reported intervals equal the audit's attacker, the count of blanks adds up, and a
/// second run gives the same result.
fn protect_checked(counts: &[Count], relations: &[Relation]) -> Protection {
    let mut p = protect(counts, relations, BELOW).expect("valid model");
    for (i, c) in counts.iter().enumerate() {
        if is_primary(c.value, BELOW) {
            assert!(p.blank[i], "primary {} not blank", c.key);
        }
    }
    let published = p.published(counts);
    let a = audit(&published, relations, BELOW);
    assert!(a.passed(), "audit after protect: {a:?}");
    assert!(p.unprotected.is_empty());
    // Protection computes intervals only for what it leaves unprotected (nothing here); the
    // scenarios read the attacker's intervals of every blank.
    assert!(p.intervals.iter().all(Option::is_none));
    let b = intervals(&published, relations);
    assert_eq!(
        p.primary + p.secondary,
        p.blank.iter().filter(|&&b| b).count()
    );
    assert_eq!(
        p.primary,
        counts.iter().filter(|c| is_primary(c.value, BELOW)).count()
    );
    assert_eq!(
        protect(counts, relations, BELOW).unwrap(),
        p,
        "deterministic"
    );
    let none: Vec<bool> = vec![false; counts.len()];
    let (fresh, carried) = protect::search(counts, relations, BELOW, &none, &[], false).unwrap();
    assert_eq!(carried, 0);
    assert_eq!(
        fresh, p,
        "the same blanks with every target's bounds built anew"
    );
    p.intervals = b.intervals;
    p
}

fn blank_keys<'a>(counts: &'a [Count], p: &Protection) -> Vec<&'a str> {
    counts
        .iter()
        .zip(&p.blank)
        .filter(|(_, &b)| b)
        .map(|(c, _)| c.key.as_str())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Model basics

#[test]
fn primary_rule_and_band() {
    assert!(!is_primary(0, 11), "0 reveals nobody");
    assert!(is_primary(1, 11) && is_primary(10, 11));
    assert!(!is_primary(11, 11));
    assert_eq!(required_width(11), 9);
    assert_eq!(required_width(2), 1, "exact recovery always discloses");
    let iv = Interval { lo: 0, hi: Some(8) };
    assert!(iv.discloses(11));
    assert!(!Interval { lo: 0, hi: Some(9) }.discloses(11));
    assert!(!Interval { lo: 3, hi: None }.discloses(11));
}

#[test]
fn relation_terms_merge_repeats() {
    assert_eq!(
        Relation::new(3, vec![1, 0, 1]).terms(),
        vec![(0, 1), (1, 2), (3, -1)]
    );
    // A count equal to itself says nothing.
    assert_eq!(Relation::same(2, 2).terms(), vec![]);
}

#[test]
fn malformed_models_are_refused() {
    let counts = vec![
        Count::margin("t", 10),
        Count::cell("a", 4),
        Count::cell("b", 5),
    ];
    let e = protect(&counts, &[Relation::new(0, vec![1, 2])], BELOW).unwrap_err();
    assert!(matches!(
        e,
        ModelError::DoesNotHold {
            relation: 0,
            total: 10,
            sum: 9,
            ..
        }
    ));
    let e = protect(&counts, &[Relation::new(0, vec![1, 7])], BELOW).unwrap_err();
    assert!(matches!(e, ModelError::Index { count: 7, .. }));
    // The audit reports contradictions instead of failing.
    let a = audit(
        &[Some(10), Some(4), Some(5)],
        &[Relation::new(0, vec![1, 2])],
        BELOW,
    );
    assert_eq!(a.inconsistent, vec![0]);
    assert!(!a.passed());
    // t = a + b with t = 10 and a = 12 published: b ≥ 0 cannot hold.
    let a = audit(
        &[Some(10), Some(12), None],
        &[Relation::new(0, vec![1, 2])],
        BELOW,
    );
    assert_eq!(a.inconsistent, vec![0]);
}

// ---------------------------------------------------------------------------------------
// Scenarios from the brief

/// The brief's example: eating_disorder × CBT has improved 15, unchanged 9, deteriorated 15,
/// n_paired 39. With the 9 blanked alone, 39 − 15 − 15 = 9.
#[test]
fn eating_disorder_cbt_unchanged_is_recovered_then_protected() {
    let t = Outcomes::new(&[
        ("eating_disorder", "CBT", [15, 9, 15]),
        ("eating_disorder", "DBT", [20, 14, 12]),
        ("eating_disorder", "family", [18, 16, 13]),
        ("mental_health", "CBT", [96, 54, 13]),
        ("mental_health", "DBT", [104, 70, 12]),
        ("adolescent", "CBT", [39, 17, 11]),
        ("adolescent", "DBT", [19, 26, 12]),
        ("adolescent", "family", [22, 26, 14]),
    ]);
    let unc = t.at("eating_disorder", "CBT", "n_unchanged");
    let before = audit(&primary_only(&t.counts), &t.relations, BELOW);
    assert_eq!(before.blanks, 1);
    assert_eq!(before.relations_tried, t.relations.len());
    assert_eq!(
        before.disclosed,
        vec![Disclosure {
            index: unc,
            lo: 9,
            hi: 9
        }]
    );

    let p = protect_checked(&t.counts, &t.relations);
    eprintln!("eating_disorder example: {:?}", blank_keys(&t.counts, &p));
    // The 9's row needs a partner (15: n_deteriorated before n_improved by key), and each
    // blank's track margin and modality margin need another blank of the same category:
    // a 2 × 2 × 2 cube of cells (two tracks, two modalities, two categories). No margin.
    assert_eq!((p.primary, p.secondary), (1, 7));
    assert!(t
        .counts
        .iter()
        .zip(&p.blank)
        .all(|(c, &b)| !(b && c.margin)));
    let iv = p.intervals[unc].unwrap();
    assert!(iv.width().unwrap() >= NEED, "{iv:?}");
}

/// The PHQ9 discharge table of the bundled sample as this build computes it
/// (`iop-outcomes run --no-suppress`, outcomes.csv, followup = discharge): track × modality
/// with every margin. Primary: seven small deteriorated counts and eating_disorder × CBT
/// unchanged = 9 (14 + 9 + 0 = 23).
#[test]
fn bundled_sample_phq9_table() {
    let t = Outcomes::new(&[
        ("adolescent", "CBT", [39, 17, 0]),
        ("adolescent", "DBT", [19, 26, 0]),
        ("adolescent", "family", [22, 26, 0]),
        ("co_occurring", "CBT", [39, 22, 0]),
        ("co_occurring", "CRA", [47, 35, 0]),
        ("co_occurring", "DBT", [40, 29, 1]),
        ("co_occurring", "MI", [34, 39, 0]),
        ("eating_disorder", "CBT", [14, 9, 0]),
        ("eating_disorder", "DBT", [16, 15, 0]),
        ("eating_disorder", "family", [13, 15, 0]),
        ("mental_health", "CBT", [96, 54, 3]),
        ("mental_health", "DBT", [104, 70, 0]),
    ]);
    // The margins the product printed, as a check of the builder.
    assert_eq!(t.counts[t.at("All", "All", "n_paired")].value, 844);
    assert_eq!(t.counts[t.at("All", "CBT", "n_improved")].value, 188);
    assert_eq!(
        t.counts[t.at("mental_health", "All", "n_deteriorated")].value,
        3
    );

    let before = audit(&primary_only(&t.counts), &t.relations, BELOW);
    let unc = t.at("eating_disorder", "CBT", "n_unchanged");
    assert!(before.disclosed.contains(&Disclosure {
        index: unc,
        lo: 9,
        hi: 9
    }));
    // Every deteriorated blank comes back from its n_paired row, and the 9 too.
    assert_eq!(before.blanks, 8);
    assert_eq!(before.disclosed.len(), 8, "{:?}", before.disclosed);

    let p = protect_checked(&t.counts, &t.relations);
    assert_eq!(p.primary, 8);
    eprintln!(
        "bundled PHQ9 table: {} counts, {} relations, {} primary, {} secondary: {:?}",
        t.counts.len(),
        t.relations.len(),
        p.primary,
        p.secondary,
        blank_keys(&t.counts, &p)
    );
}

fn rectangle() -> (Grid, [usize; 4]) {
    //        c0  c1  c2 | All
    //   r0    3   2  40 |  45
    //   r1    2   3  50 |  55
    //   r2   30  45  60 | 135
    let g = Grid::new(&[3, 3], &[3, 2, 40, 2, 3, 50, 30, 45, 60]);
    let cells = [g.at(&[0, 0]), g.at(&[0, 1]), g.at(&[1, 0]), g.at(&[1, 1])];
    (g, cells)
}

/// Four primary cells forming a rectangle: every row and column holds two blanks, so no
/// single subtraction recovers one, but a = 3 can only move by min(a, d) = 3 down and
/// min(b, c) = 2 up: the attacker gets [0, 5], narrower than 9.
#[test]
fn rectangle_of_small_blanks_leaks_an_interval() {
    let (g, [a, b, c, d]) = rectangle();
    let published = primary_only(&g.counts);
    let au = audit(&published, &g.relations, BELOW);
    assert_eq!(au.blanks, 4);
    assert_eq!(
        au.disclosed,
        vec![
            Disclosure {
                index: a,
                lo: 0,
                hi: 5
            },
            Disclosure {
                index: b,
                lo: 0,
                hi: 5
            },
            Disclosure {
                index: c,
                lo: 0,
                hi: 5
            },
            Disclosure {
                index: d,
                lo: 0,
                hi: 5
            },
        ]
    );

    let p = protect_checked(&g.counts, &g.relations);
    // Row 0 can only grow by 40, row 1 by 50, column 0 by 30, column 1 by 45 (the
    // smallest in each line; margins never needed): four complements, the minimum.
    assert_eq!((p.primary, p.secondary), (4, 4));
    for cell in [[0, 2], [1, 2], [2, 0], [2, 1]] {
        assert!(p.blank[g.at(&cell)], "{cell:?}");
    }
    assert!(g
        .counts
        .iter()
        .zip(&p.blank)
        .all(|(c, &b)| !(b && c.margin)));
    // Every interval equals the brute-force attacker's (the grand total caps each count).
    let published = p.published(&g.counts);
    let (brute, blanks) = Brute::new(&published, &g.relations);
    let cap = g.counts[g.grand_total()].value as i64;
    for (j, &i) in blanks.iter().enumerate() {
        let (lo, hi) = brute.range(j, cap);
        let want = Interval {
            lo: lo as u64,
            hi: Some(hi as u64),
        };
        assert_eq!(p.intervals[i], Some(want), "{}", g.counts[i].key);
    }
    // a = 3 can drop to 0 and rise by 7 only (the cycles through 40 and 50 run out at
    // b = 2, c = 2, d = 3): [0, 10], width 10 ≥ 9.
    assert_eq!(
        p.intervals[a],
        Some(Interval {
            lo: 0,
            hi: Some(10)
        })
    );
}

/// Two blanks whose sum is published, one of them bounded by another relation: each
/// relation alone leaves x in [0, 15], together x ∈ [8, 15].
#[test]
fn interval_narrowing_through_a_second_relation() {
    // t = x + y (15 = 9 + 6), s = y + z (7 = 6 + 1); x, y, z blank.
    let counts = vec![
        Count::margin("t", 15),
        Count::cell("x", 9),
        Count::cell("y", 6),
        Count::margin("s", 7),
        Count::cell("z", 1),
    ];
    let rel = vec![Relation::new(0, vec![1, 2]), Relation::new(3, vec![2, 4])];
    let published = [Some(15), None, None, Some(7), None];
    let b = intervals(&published, &rel);
    assert_eq!(
        b.intervals[1],
        Some(Interval {
            lo: 8,
            hi: Some(15)
        })
    );
    assert_eq!(b.intervals[2], Some(Interval { lo: 0, hi: Some(7) }));
    assert_eq!(b.intervals[4], Some(Interval { lo: 0, hi: Some(7) }));
    let a = audit(&published, &rel, BELOW);
    let got: Vec<(usize, u64, u64)> = a.disclosed.iter().map(|d| (d.index, d.lo, d.hi)).collect();
    assert_eq!(got, vec![(1, 8, 15), (2, 0, 7), (4, 0, 7)]);
    // Without the second relation, x alone is safe.
    let a = audit(&published, &rel[..1], BELOW);
    assert!(a.disclosed.iter().all(|d| d.index != 1));

    // protect: 9, 6, 1 and s = 7 itself are all primary; with s blank too, y + z floats
    // and x is back to [0, 15].
    let p = protect_checked(&counts, &rel);
    assert_eq!((p.primary, p.secondary), (4, 0));
    assert_eq!(
        p.intervals[1],
        Some(Interval {
            lo: 0,
            hi: Some(15)
        })
    );
}

/// The same count published in two tables: blanked in one, published in the other, it
/// leaks through the equality; protect() blanks its twin, and the twin's table closes too.
#[test]
fn same_count_in_two_tables() {
    // Table 1: n = x + y (50 = 4 + 46). Table 2: T = y2 + w (60 = 46 + 14), y2 is y.
    let counts = vec![
        Count::margin("t1|n", 50),
        Count::cell("t1|x", 4),
        Count::cell("t1|y", 46),
        Count::margin("t2|T", 60),
        Count::cell("t2|y", 46),
        Count::cell("t2|w", 14),
    ];
    let rel = vec![
        Relation::new(0, vec![1, 2]),
        Relation::new(3, vec![4, 5]),
        Relation::same(2, 4),
    ];
    // x and its complement y blank in table 1, y still shown in table 2: x = 50 − 46.
    let leaky = [Some(50), None, None, Some(60), Some(46), Some(14)];
    let a = audit(&leaky, &rel, BELOW);
    assert_eq!(
        a.disclosed,
        vec![
            Disclosure {
                index: 1,
                lo: 4,
                hi: 4
            },
            Disclosure {
                index: 2,
                lo: 46,
                hi: 46
            },
        ]
    );
    let p = protect_checked(&counts, &rel);
    assert_eq!(
        blank_keys(&counts, &p),
        vec!["t1|x", "t1|y", "t2|y", "t2|w"]
    );
    assert_eq!((p.primary, p.secondary), (1, 3));
    assert_eq!(
        p.intervals[1],
        Some(Interval {
            lo: 0,
            hi: Some(50)
        })
    );
}

/// A margin is blanked only when no cell will do.
#[test]
fn margins_only_when_no_cell_will_do() {
    // 2 × 2 with one small cell: the rectangle of four interior cells protects it.
    let g = Grid::new(&[2, 2], &[5, 20, 30, 40]);
    let p = protect_checked(&g.counts, &g.relations);
    assert_eq!((p.primary, p.secondary), (1, 3));
    assert!(g
        .counts
        .iter()
        .zip(&p.blank)
        .all(|(c, &b)| !(b && c.margin)));
    assert_eq!(
        p.intervals[g.at(&[0, 0])],
        Some(Interval {
            lo: 0,
            hi: Some(25)
        })
    );

    // A 1-D table 8 = 5 + 3: blanking both parts leaves them in [0, 8]: the total must go.
    let counts = vec![
        Count::margin("t", 8),
        Count::cell("a", 5),
        Count::cell("b", 3),
    ];
    let rel = vec![Relation::new(0, vec![1, 2])];
    let p = protect_checked(&counts, &rel);
    assert_eq!(p.blank, vec![true, true, true]);
    assert_eq!(p.intervals[1], Some(Interval { lo: 0, hi: None }));

    // Prefer a larger cell to a margin, and the smallest cell that suffices to a smaller
    // one that does not: t = 4 + 2 + 7 + 30 + 100 → 4 needs 5 more: 7 (a primary anyway),
    // then 4 + 2 + 7 = 13 ≥ 9.
    let counts = vec![
        Count::margin("t", 143),
        Count::cell("a", 4),
        Count::cell("b", 30),
        Count::cell("c", 100),
        Count::cell("d", 9),
    ];
    let rel = vec![Relation::new(0, vec![1, 2, 3, 4])];
    let p = protect_checked(&counts, &rel);
    assert_eq!(
        blank_keys(&counts, &p),
        vec!["a", "d"],
        "4 + 9 = 13: two primaries suffice"
    );
    let counts = vec![
        Count::margin("t", 136),
        Count::cell("a", 4),
        Count::cell("b", 30),
        Count::cell("c", 100),
        Count::cell("z", 0),
        Count::cell("e", 2),
    ];
    let rel = vec![Relation::new(0, vec![1, 2, 3, 4, 5])];
    let p = protect_checked(&counts, &rel);
    assert_eq!(
        blank_keys(&counts, &p),
        vec!["a", "b", "e"],
        "4 + 2 = 6 < 9: the smallest cell that reaches 9 is 30; never the zero or the total"
    );
}

/// A count shown only through a percentage is blanked before a written one: it withholds
/// the percentage alone. Before a larger written cell, and before a written cell even when it
/// is a margin itself (a margin among implied counts still after an ordinary one).
#[test]
fn implied_counts_before_written_ones() {
    // 60 = 5 + 20 + 35: 5 needs a second blank; the written 20 is smaller, but the implied
    // 35 costs no written count.
    let counts = vec![
        Count::margin("t", 60),
        Count::cell("a", 5),
        Count::cell("b", 20),
        Count::cell("c", 35).through_statistic(),
    ];
    let rel = vec![Relation::new(0, vec![1, 2, 3])];
    let p = protect_checked(&counts, &rel);
    assert_eq!(blank_keys(&counts, &p), vec!["a", "c"]);
    // Written, the smaller goes, as before.
    let mut written = counts.clone();
    written[3].implied = false;
    assert_eq!(
        blank_keys(&written, &protect_checked(&written, &rel)),
        vec!["a", "b"]
    );

    // m = 5 + 20, m an implied margin (an all-groups row's percentage) and 20 a written
    // cell: the margin's percentage goes.
    let counts = vec![
        Count::margin("m", 25).through_statistic(),
        Count::cell("a", 5),
        Count::cell("b", 20),
    ];
    let rel = vec![Relation::new(0, vec![1, 2])];
    let p = protect_checked(&counts, &rel);
    assert_eq!(blank_keys(&counts, &p), vec!["m", "a"]);
    // Written, the cell goes (never a margin when a cell will do).
    let mut written = counts.clone();
    written[0].implied = false;
    assert_eq!(
        blank_keys(&written, &protect_checked(&written, &rel)),
        vec!["a", "b"]
    );
}

/// Zeros are blanked only when nothing else protects: one row is all zeros but one.
#[test]
fn zeros_last() {
    //   r0: 0 0 6 | 6    r1: 12 20 30 | 62
    let g = Grid::new(&[2, 3], &[0, 0, 6, 12, 20, 30]);
    let p = protect_checked(&g.counts, &g.relations);
    // Row 0's margin (6) is primary and the grand total = row 0 + row 1 gives it away:
    // a margin must go (62 < 68). Then column 2 needs 30; nothing needs a zero.
    assert_eq!(
        blank_keys(&g.counts, &p),
        vec!["d0=0|d1=2", "d0=0|d1=All", "d0=1|d1=2", "d0=1|d1=All"]
    );
    assert_eq!((p.primary, p.secondary), (2, 2));
}

// ---------------------------------------------------------------------------------------
// Three dimensions (not totally unimodular) and speed

#[test]
fn three_way_tables_are_protected() {
    let vals: Vec<u64> = (0..27u64).map(|k| (k * 37 + 11) % 23).collect();
    let g = Grid::new(&[3, 3, 3], &vals);
    let p = protect_checked(&g.counts, &g.relations);
    eprintln!(
        "3x3x3: {} counts, {} relations, {} primary, {} secondary",
        g.counts.len(),
        g.relations.len(),
        p.primary,
        p.secondary
    );
}

/// Same input, same output, whatever the thread count (groups are attacked in parallel).
#[test]
fn same_result_on_one_thread_and_on_four() {
    let vals: Vec<u64> = (0..60u64).map(|k| (k * 53 + 7) % 31).collect();
    let g = Grid::new(&[5, 4, 3], &vals);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let p = protect(&g.counts, &g.relations, BELOW).unwrap();
                let a = audit(&p.published(&g.counts), &g.relations, BELOW);
                (p, a)
            })
    };
    let (p1, a1) = run(1);
    let (p4, a4) = run(4);
    assert_eq!(p1, p4);
    assert_eq!(a1, a4);
    assert!(a1.passed());
}

/// A deterministic generator for the speed test (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Times protect() and audit() on `counts`/`relations` and checks the audit passes.
fn timed(what: &str, counts: &[Count], relations: &[Relation]) -> Protection {
    let start = std::time::Instant::now();
    let p = protect(counts, relations, BELOW).unwrap();
    let took = start.elapsed();
    let start = std::time::Instant::now();
    let a = audit(&p.published(counts), relations, BELOW);
    let took_audit = start.elapsed();
    assert!(a.passed(), "{a:?}");
    assert!(p.unprotected.is_empty());
    let start = std::time::Instant::now();
    let b = intervals(&p.published(counts), relations);
    let took_bounds = start.elapsed();
    eprintln!(
        "{what}: {} counts, {} relations, {} primary, {} secondary; protect {:?}, audit {:?}; \
         all intervals {:?} ({} LP, {} integer solves)",
        counts.len(),
        relations.len(),
        p.primary,
        p.secondary,
        took,
        took_audit,
        took_bounds,
        b.lp_solves,
        b.integer_solves
    );
    p
}

/// The product's scale: 30 outcomes-style tables (5 tracks × 4 modalities, three
/// categories and n_paired, every margin), tied together by a summary table whose total is
/// the sum of their grand n_paired: 3,601 counts, 2,221 relations, about 300 primary blanks.
#[test]
fn speed_linked_tables_at_product_scale() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let tracks = [
        "adolescent",
        "co_occurring",
        "eating_disorder",
        "mental_health",
        "substance_use",
    ];
    let mods = ["CBT", "DBT", "MI", "family"];
    let mut counts: Vec<Count> = Vec::new();
    let mut relations: Vec<Relation> = Vec::new();
    let mut grands = Vec::new();
    for table in 0..30 {
        let mut cells = Vec::new();
        for t in tracks {
            for m in mods {
                let small = |r: &mut Rng| match r.next() % 5 {
                    0 => r.next() % 11,
                    _ => 11 + r.next() % 60,
                };
                cells.push((t, m, [small(&mut rng), small(&mut rng), small(&mut rng)]));
            }
        }
        let o = Outcomes::new(&cells);
        let base = counts.len();
        grands.push(base + o.at("All", "All", "n_paired"));
        counts.extend(o.counts.into_iter().map(|mut c| {
            c.key = format!("t{table:02}|{}", c.key);
            c
        }));
        relations.extend(
            o.relations
                .into_iter()
                .map(|r| Relation::new(base + r.total, r.parts.iter().map(|p| base + p).collect())),
        );
    }
    let total: u64 = grands.iter().map(|&g| counts[g].value).sum();
    counts.push(Count::margin("summary|n_paired", total));
    relations.push(Relation::new(counts.len() - 1, grands));
    let p = timed("30 linked tables", &counts, &relations);
    assert!(p.primary >= 200);
}

fn three_way(dims: &[usize], seed: u64) -> Grid {
    let mut rng = Rng(seed);
    let vals: Vec<u64> = (0..dims.iter().product::<usize>())
        .map(|_| match rng.next() % 8 {
            0 => 1 + rng.next() % 10,
            _ => 11 + rng.next() % 90,
        })
        .collect();
    Grid::new(dims, &vals)
}

/// Three-way tables are harder (not totally unimodular: fractional LP vertices call for
/// integer solves; every blank ends in one group): a 6 × 5 × 4 table, one cell in eight
/// small.
#[test]
fn speed_three_way_table() {
    let g = three_way(&[6, 5, 4], 0x2545_F491_4F6C_DD1D);
    timed("6x5x4 table", &g.counts, &g.relations);
}

/// The same at 10 × 8 × 6 (693 counts), several seconds: run by hand with `--ignored`.
#[test]
#[ignore]
fn speed_larger_three_way_table() {
    let g = three_way(&[10, 8, 6], 0x2545_F491_4F6C_DD1D);
    timed("10x8x6 table", &g.counts, &g.relations);
}

/// A small cohort, where most counts are small: some blanks need several additions, no
/// single one of which makes them safe, and protect() carries a target's bounds from one
/// addition to the next (`protect::Carry`). The blanks must be those found with the bounds
/// built anew every time, and the carrying must have happened.
#[test]
fn carried_bounds_give_the_same_blanks() {
    let mut carried_in_all = 0;
    for seed in 1..=16u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let vals: Vec<u64> = (0..4 * 4 * 3)
            .map(|_| match rng.next() % 3 {
                0 => 11 + rng.next() % 20,
                _ => rng.next() % 11,
            })
            .collect();
        let g = Grid::new(&[4, 4, 3], &vals);
        let none = vec![false; g.counts.len()];
        let (carrying, carried) =
            protect::search(&g.counts, &g.relations, BELOW, &none, &[], true).unwrap();
        let (fresh, never) =
            protect::search(&g.counts, &g.relations, BELOW, &none, &[], false).unwrap();
        assert_eq!(never, 0);
        assert_eq!(carrying, fresh, "seed {seed}");
        assert!(audit(&carrying.published(&g.counts), &g.relations, BELOW).passed());
        carried_in_all += carried;
    }
    assert!(carried_in_all > 0, "no target's bounds were carried");
}

// ---------------------------------------------------------------------------------------
// Brute-force attacker: bounds propagation and search over integers, no LP.

struct Brute {
    /// Rows Σ c·x = rhs over blank positions.
    rows: Vec<(Vec<(usize, i64)>, i64)>,
    n: usize,
}

impl Brute {
    fn new(published: &[Option<u64>], relations: &[Relation]) -> (Brute, Vec<usize>) {
        let blanks: Vec<usize> = (0..published.len())
            .filter(|&i| published[i].is_none())
            .collect();
        let pos = |i: usize| blanks.iter().position(|&b| b == i);
        let rows = relations
            .iter()
            .map(|r| {
                let mut terms = Vec::new();
                let mut rhs = 0i64;
                let mut add = |i: usize, c: i64| match published[i] {
                    Some(v) => rhs -= c * v as i64,
                    None => terms.push((pos(i).unwrap(), c)),
                };
                add(r.total, -1);
                for &p in &r.parts {
                    add(p, 1);
                }
                (terms, rhs)
            })
            .collect();
        (
            Brute {
                rows,
                n: blanks.len(),
            },
            blanks,
        )
    }

    /// Tightens [lo, hi] to bounds consistency; false when some domain empties.
    fn propagate(&self, lo: &mut [i64], hi: &mut [i64]) -> bool {
        loop {
            let mut changed = false;
            for (terms, rhs) in &self.rows {
                let (mut smin, mut smax) = (0i64, 0i64);
                for &(j, c) in terms {
                    let (a, b) = (c * lo[j], c * hi[j]);
                    smin += a.min(b);
                    smax += a.max(b);
                }
                if *rhs < smin || *rhs > smax {
                    return false;
                }
                for &(j, c) in terms {
                    let (a, b) = (c * lo[j], c * hi[j]);
                    // c·x_j ∈ [rhs − (smax − max_j), rhs − (smin − min_j)]
                    let (l, h) = (rhs - (smax - a.max(b)), rhs - (smin - a.min(b)));
                    let (nl, nh) = if c > 0 {
                        (
                            l.div_euclid(c) + (l.rem_euclid(c) != 0) as i64,
                            h.div_euclid(c),
                        )
                    } else {
                        let (l2, h2) = (-h, -l);
                        let cc = -c;
                        (
                            l2.div_euclid(cc) + (l2.rem_euclid(cc) != 0) as i64,
                            h2.div_euclid(cc),
                        )
                    };
                    if nl > lo[j] {
                        lo[j] = nl;
                        changed = true;
                    }
                    if nh < hi[j] {
                        hi[j] = nh;
                        changed = true;
                    }
                    if lo[j] > hi[j] {
                        return false;
                    }
                }
            }
            if !changed {
                return true;
            }
        }
    }

    /// Whether an integer solution exists within [lo, hi].
    fn exists(&self, lo: &mut [i64], hi: &mut [i64]) -> bool {
        if !self.propagate(lo, hi) {
            return false;
        }
        let Some(j) = (0..self.n)
            .filter(|&j| lo[j] < hi[j])
            .min_by_key(|&j| (hi[j] - lo[j], j))
        else {
            return true; // all fixed and every row checked by propagate
        };
        let mid = lo[j] + (hi[j] - lo[j]) / 2;
        let (mut l2, mut h2) = (lo.to_vec(), hi.to_vec());
        h2[j] = mid;
        if self.exists(&mut l2, &mut h2) {
            return true;
        }
        let (mut l2, mut h2) = (lo.to_vec(), hi.to_vec());
        l2[j] = mid + 1;
        self.exists(&mut l2, &mut h2)
    }

    fn exists_with(&self, j: usize, lo_j: i64, hi_j: i64, cap: i64) -> bool {
        let mut lo = vec![0; self.n];
        let mut hi = vec![cap; self.n];
        lo[j] = lo_j;
        hi[j] = hi_j;
        self.exists(&mut lo, &mut hi)
    }

    /// Smallest and largest value of blank j within [0, cap], by bisection.
    fn range(&self, j: usize, cap: i64) -> (i64, i64) {
        let (mut a, mut b) = (0, cap);
        while a < b {
            let m = (a + b) / 2;
            if self.exists_with(j, 0, m, cap) {
                b = m;
            } else {
                a = m + 1;
            }
        }
        let lo = a;
        let (mut a, mut b) = (lo, cap);
        while a < b {
            let m = (a + b + 1) / 2;
            if self.exists_with(j, m, cap, cap) {
                a = m;
            } else {
                b = m - 1;
            }
        }
        (lo, a)
    }
}

fn interior() -> impl Strategy<Value = u64> {
    prop_oneof![3 => Just(0u64), 4 => 1u64..11, 4 => 11u64..40]
}

fn small_table() -> impl Strategy<Value = (Vec<usize>, Vec<u64>)> {
    prop_oneof![
        (2usize..=4, 2usize..=4).prop_map(|(a, b)| vec![a, b]),
        Just(vec![2usize, 2, 2]),
        Just(vec![2usize, 2, 3]),
    ]
    .prop_flat_map(|dims| {
        let n = dims.iter().product::<usize>();
        (Just(dims), prop::collection::vec(interior(), n))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    /// After protect(), a brute-force integer attacker cannot narrow any blank below the
    /// band; where the grand total is published (so it caps every count), the intervals
    /// protect() reports are exactly the brute-force minimum and maximum.
    #[test]
    fn brute_force_attacker_cannot_narrow_any_blank((dims, vals) in small_table()) {
        let g = Grid::new(&dims, &vals);
        let mut p = protect(&g.counts, &g.relations, BELOW).unwrap();
        prop_assert_eq!(&protect(&g.counts, &g.relations, BELOW).unwrap(), &p);
        p.intervals = intervals(&p.published(&g.counts), &g.relations).intervals;
        for (i, c) in g.counts.iter().enumerate() {
            prop_assert!(!is_primary(c.value, BELOW) || p.blank[i]);
        }
        prop_assert!(p.unprotected.is_empty());
        let published = p.published(&g.counts);
        let (brute, blanks) = Brute::new(&published, &g.relations);
        let total_known = published[g.grand_total()].is_some();
        let cap = if total_known {
            g.counts[g.grand_total()].value as i64
        } else {
            2 * vals.iter().sum::<u64>() as i64 + 2 * NEED as i64
        };
        for (j, &i) in blanks.iter().enumerate() {
            let (lo, hi) = brute.range(j, cap);
            prop_assert!(
                hi - lo >= NEED as i64,
                "{} = {} narrowed to [{lo}, {hi}]", g.counts[i].key, g.counts[i].value
            );
            let iv = p.intervals[i].unwrap();
            prop_assert_eq!(iv.lo as i64, lo, "lo of {}", g.counts[i].key);
            if total_known {
                prop_assert_eq!(iv.hi, Some(hi as u64), "hi of {}", g.counts[i].key);
            }
        }
    }

    /// The same on outcomes-style tables: ragged track × modality, three categories and
    /// n_paired, every margin (n_paired of All × All caps every count); with the categories
    /// written, or shown only through their percentages (implied counts, blanked first).
    #[test]
    fn brute_force_attacker_on_outcomes_tables(
        cells in prop::collection::vec(
            (0usize..2, 0usize..3, prop::collection::vec(interior(), 3)),
            2..5,
        ),
        implied in any::<bool>(),
    ) {
        let tracks = ["t0", "t1"];
        let mods = ["m0", "m1", "m2"];
        let mut seen = std::collections::BTreeSet::new();
        let cells: Vec<(&str, &str, [u64; 3])> = cells
            .into_iter()
            .filter(|(t, m, _)| seen.insert((*t, *m)))
            .map(|(t, m, v)| (tracks[t], mods[m], [v[0], v[1], v[2]]))
            .collect();
        let mut t = Outcomes::new(&cells);
        for c in t.counts.iter_mut().filter(|c| implied && !c.key.ends_with("n_paired")) {
            c.implied = true;
        }
        let mut p = protect(&t.counts, &t.relations, BELOW).unwrap();
        prop_assert!(p.unprotected.is_empty());
        let published = p.published(&t.counts);
        p.intervals = intervals(&published, &t.relations).intervals;
        let grand = t.at("All", "All", "n_paired");
        let (brute, blanks) = Brute::new(&published, &t.relations);
        let cap = if published[grand].is_some() {
            t.counts[grand].value as i64
        } else {
            2 * t.counts[grand].value as i64 + 2 * NEED as i64
        };
        for (j, &i) in blanks.iter().enumerate() {
            let (lo, hi) = brute.range(j, cap);
            prop_assert!(
                hi - lo >= NEED as i64,
                "{} = {} narrowed to [{lo}, {hi}]", t.counts[i].key, t.counts[i].value
            );
            prop_assert_eq!(p.intervals[i].unwrap().lo as i64, lo);
            if published[grand].is_some() {
                prop_assert_eq!(p.intervals[i].unwrap().hi, Some(hi as u64));
            }
        }
    }

    /// The audit agrees with the brute-force attacker on the primary-only pattern (which
    /// usually leaks): same disclosed set, same intervals.
    #[test]
    fn audit_matches_brute_force_on_primary_blanks((dims, vals) in small_table()) {
        let g = Grid::new(&dims, &vals);
        let published = primary_only(&g.counts);
        let a = audit(&published, &g.relations, BELOW);
        prop_assert!(a.inconsistent.is_empty() && a.unsolved.is_empty());
        let (brute, blanks) = Brute::new(&published, &g.relations);
        // With the grand total published, it caps every count.
        prop_assume!(published[g.grand_total()].is_some());
        let cap = g.counts[g.grand_total()].value as i64;
        let mut want = Vec::new();
        for (j, &i) in blanks.iter().enumerate() {
            let (lo, hi) = brute.range(j, cap);
            if hi - lo < NEED as i64 {
                want.push(Disclosure { index: i, lo: lo as u64, hi: hi as u64 });
            }
        }
        prop_assert_eq!(a.disclosed, want);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// A blank checked on its own skips the group's recession cone
    /// ([`bounds::Attack::without_cone`]): the verdict and the interval are those of an
    /// attack that reads it, for every blank and the widths around the band.
    #[test]
    fn checks_without_the_cone_agree((dims, vals) in small_table()) {
        use bounds::{index_rows, Attack, Row, System};
        let g = Grid::new(&dims, &vals);
        let published = primary_only(&g.counts);
        let rows: Vec<Row> = g
            .relations
            .iter()
            .map(|r| Row::substitute(r, &published).unwrap())
            .collect();
        let of_count = index_rows(&rows, g.counts.len());
        let blank: Vec<bool> = published.iter().map(Option::is_none).collect();
        for sys in System::all(&rows, &of_count, &blank) {
            let truth = || -> (Vec<u64>, Vec<u64>) {
                let t: Vec<u64> = sys.vars.iter().map(|&v| g.counts[v].value).collect();
                (t.clone(), t)
            };
            for j in 0..sys.vars.len() {
                for need in [1, 3, required_width(BELOW)] {
                    let (lo, hi) = truth();
                    let with = Attack::with_seen(&sys, lo, hi).width_at_least(j, need);
                    let (lo, hi) = truth();
                    let without = Attack::with_seen(&sys, lo, hi).without_cone().width_at_least(j, need);
                    prop_assert_eq!(with, without, "{} need {}", g.counts[sys.vars[j]].key, need);
                }
                let (lo, hi) = truth();
                let with = Attack::with_seen(&sys, lo, hi).interval(j);
                let (lo, hi) = truth();
                let without = Attack::with_seen(&sys, lo, hi).without_cone().interval(j);
                prop_assert_eq!(with, without, "{}", g.counts[sys.vars[j]].key);
            }
        }
    }

    /// The warm-started widths protect() ranks candidates by ([`bounds::Widening`]) equal an
    /// LP solved from scratch for every candidate: blank the primary counts, take each
    /// blank as the target and every published member of its relations as a candidate.
    #[test]
    fn warm_started_widths_equal_solves_from_scratch((dims, vals) in small_table()) {
        use bounds::{index_rows, Attack, Row, System, Widening};
        let g = Grid::new(&dims, &vals);
        let blank: Vec<bool> = g.counts.iter().map(|c| is_primary(c.value, BELOW)).collect();
        let rows_with = |blank: &[bool]| -> Vec<Row> {
            let published: Vec<Option<u64>> = g
                .counts
                .iter()
                .zip(blank)
                .map(|(c, &b)| (!b).then_some(c.value))
                .collect();
            g.relations
                .iter()
                .map(|r| Row::substitute(r, &published).unwrap())
                .collect()
        };
        let of_count: Vec<Vec<usize>> = {
            let all = vec![true; g.counts.len()];
            index_rows(&rows_with(&all), g.counts.len())
        };
        for target in (0..g.counts.len()).filter(|&t| blank[t]) {
            let mut cands: Vec<usize> = of_count[target]
                .iter()
                .flat_map(|&r| g.relations[r].terms().into_iter().map(|(c, _)| c))
                .filter(|&c| !blank[c])
                .collect();
            cands.sort_unstable();
            cands.dedup();
            let mut all = blank.clone();
            cands.iter().for_each(|&c| all[c] = true);
            let rows = rows_with(&all);
            let sys = System::around(target, &rows, &of_count, &mut vec![false; all.len()]);
            let fixed: Vec<(usize, u64)> = cands.iter().map(|&c| (c, g.counts[c].value)).collect();
            let w = Widening::new(&sys, target, &fixed).expect("solved");
            let zero = g.counts[target].value == 0;
            let scratch = |extra: &[usize]| {
                let mut b = blank.clone();
                extra.iter().for_each(|&c| b[c] = true);
                let rows = rows_with(&b);
                let sys = System::around(target, &rows, &of_count, &mut vec![false; b.len()]);
                let j = sys.vars.binary_search(&target).unwrap();
                let mut a = Attack::new(&sys);
                let truth: Vec<u64> = sys.vars.iter().map(|&v| g.counts[v].value).collect();
                a.add_point(&truth);
                a.lp_width(j).unwrap()
            };
            for &c in &cands {
                prop_assert_eq!(w.width(&[c], zero), Some(scratch(&[c])), "{} via {}", g.counts[target].key, g.counts[c].key);
            }
            // The bounds carried to the target's next addition: one candidate blanked for
            // good (`Widening::release`), then each other candidate tried on top of it.
            let Some(&first) = cands.first() else { continue };
            let w = w.release(&[first]).expect("released");
            for &c in &cands[1..] {
                prop_assert_eq!(
                    w.width(&[c], zero),
                    Some(scratch(&[first, c])),
                    "{} via {} after {}",
                    g.counts[target].key,
                    g.counts[c].key,
                    g.counts[first].key
                );
            }
        }
    }
}
