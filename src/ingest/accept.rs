//! From checked records to accepted columns: rows that pass their row checks go straight into
//! a file's column store ([`Columns`]) as they are scanned, each with the byte offset of its
//! record; rejected records keep their line and span. Duplicates (SPEC §10 V7) are then judged
//! on the columns, and [`Scan::settle`] removes them, writes the quarantine rows and counts
//! every record.
//!
//! Nothing here allocates per row beyond the columns themselves: at national scale (32 M
//! attendance rows) a record-per-row representation cost more in fresh memory than parsing.

use super::reason::Reason;
use super::types::{FileAccount, QuarantineRow};
use rayon::prelude::*;

/// A record quarantined by its row checks.
pub struct Rejected {
    pub line: u64,
    pub span: std::ops::Range<usize>,
    pub reason: Reason,
    /// A position in the file's header, if one column is at fault.
    pub column: Option<usize>,
}

/// What settling a scan needs from the file it read: its name, the raw text of a record,
/// line numbers and record spans (implemented by `read::Source`).
pub(crate) trait Records {
    fn file_name(&self) -> &str;
    /// The raw text of a record span, without its line ending.
    fn raw(&self, span: &std::ops::Range<usize>) -> &str;
    /// The number of newlines in `range`.
    fn newlines(&self, range: std::ops::Range<usize>) -> u64;
    /// The line shown for the record starting at `start` on physical line `physical` (they
    /// differ only for a Parquet file, whose rows are its lines).
    fn line_at(&self, physical: u64, start: usize) -> u64;
    /// The span of the record starting at `start`.
    fn record_span(&self, start: usize) -> std::ops::Range<usize>;
    /// Lets go of the memory behind `range` once read (a hint; see `Source::release`).
    fn release(&self, _range: std::ops::Range<usize>) {}
    /// The start of the record after the one starting at `start`.
    fn next_record(&self, start: usize) -> usize;
}

/// A file's accepted rows, stored column by column.
///
/// A scan allocates the columns once for every line of the file ([`Columns::blank`], zeroed
/// memory the chunks touch in parallel as they write), gives each chunk its own rows to fill
/// ([`Columns::split`], [`Columns::put`]), then packs the filled rows together in place
/// ([`Columns::pack`]): no column is copied or grown, so no fresh memory is faulted in twice.
pub(crate) trait Columns: Send + Sized {
    /// One parsed row.
    type Row;
    /// Mutable views of a run of rows, one per column.
    type Slots<'a>: Send
    where
        Self: 'a;
    /// `n` blank rows.
    fn blank(n: usize) -> Self;
    fn len(&self) -> usize;
    /// Disjoint views of consecutive runs of rows of the given sizes.
    fn split(&mut self, sizes: &[usize]) -> Vec<Self::Slots<'_>>;
    /// Writes `row` as row `k` of a run.
    fn put(slots: &mut Self::Slots<'_>, k: usize, row: Self::Row);
    /// Keeps the rows of `runs` ((start, len), ascending and disjoint), in order, from row 0.
    fn pack(&mut self, runs: &[(usize, usize)]);
    /// Removes the rows at `drop` (ascending, distinct).
    fn remove(&mut self, drop: &[usize]);
}

/// Implements [`Columns`] for a store whose every field listed is a `Vec` with one entry
/// per row: `Slots` holds a mutable run of each.
macro_rules! columns {
    ($store:ident, $slots:ident, $row:ty, [$($field:ident: $t:ty),*], |$s:ident, $k:ident, $r:ident| $put:block) => {
        pub(crate) struct $slots<'a> {
            $($field: &'a mut [$t],)*
        }

        impl $crate::ingest::accept::Columns for $store {
            type Row = $row;
            type Slots<'a> = $slots<'a>;

            // Stores with columns besides the per-row ones take their defaults.
            #[allow(clippy::needless_update)]
            fn blank(n: usize) -> Self {
                $store {
                    // vec! of zero numbers is a zeroed allocation: pages are touched only
                    // when a chunk writes them, in parallel.
                    $($field: vec![<$t>::default(); n],)*
                    ..Default::default()
                }
            }

            fn len(&self) -> usize {
                self.row_count()
            }

            fn split(&mut self, sizes: &[usize]) -> Vec<$slots<'_>> {
                $(let mut $field = $crate::ingest::accept::split_runs(&mut self.$field, sizes).into_iter();)*
                sizes
                    .iter()
                    .map(|_| $slots {
                        $($field: $field.next().expect("one run per size"),)*
                    })
                    .collect()
            }

            fn put($s: &mut $slots<'_>, $k: usize, $r: $row) $put

            // Column by column in parallel (each is one pass over up to 32 million rows, at
            // the end of a file's reading, when a core is often idle).
            fn pack(&mut self, runs: &[(usize, usize)]) {
                rayon::scope(|scope| {
                    $(let $field = &mut self.$field;
                    scope.spawn(move |_| $crate::ingest::accept::pack_runs($field, runs));)*
                });
            }

            fn remove(&mut self, drop: &[usize]) {
                rayon::scope(|scope| {
                    $(let $field = &mut self.$field;
                    scope.spawn(move |_| $crate::ingest::accept::remove_sorted($field, drop));)*
                });
            }
        }
    };
}
pub(crate) use columns;

/// Consecutive disjoint runs of `v` of the given sizes.
pub fn split_runs<'a, T>(mut v: &'a mut [T], sizes: &[usize]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(sizes.len());
    for &n in sizes {
        let (head, tail) = std::mem::take(&mut v).split_at_mut(n);
        out.push(head);
        v = tail;
    }
    out
}

/// Packs the elements of `runs` ((start, len), ascending, disjoint) to the front of `v`, in
/// order, and drops the rest. Runs only move down, each by one rotation in place (the blank
/// rows between go behind it).
pub fn pack_runs<T>(v: &mut Vec<T>, runs: &[(usize, usize)]) {
    let mut to = 0;
    for &(from, len) in runs {
        if from != to {
            v[to..from + len].rotate_left(from - to);
        }
        to += len;
    }
    v.truncate(to);
}

/// Removes the elements at `drop` (ascending, distinct, in bounds), keeping the order: the
/// removed values are dropped, then each run of kept ones is moved down with one `memmove`.
/// Measured at 1,000,000 episodes: the four attendance columns (32 million rows, 14,000
/// duplicates removed) took 0.19 s of CPU with `Vec::retain` (a test and a move per
/// element) before. Tested against `retain` (`removal_equals_retain`).
///
/// # Panics
/// When `drop` is not ascending or holds an index past the end.
pub fn remove_sorted<T>(v: &mut Vec<T>, drop: &[usize]) {
    let Some(&first) = drop.first() else {
        return;
    };
    let len = v.len();
    assert!(
        drop.windows(2).all(|w| w[0] < w[1]) && drop[drop.len() - 1] < len,
        "rows to remove must be ascending and in bounds"
    );
    // SAFETY: every index in `drop` is in bounds and distinct (checked above), so each
    // removed value is dropped exactly once. The length is cut to `first` before any drop,
    // so a panicking drop leaks the rest instead of exposing dropped values. Every kept run
    // (d + 1 .. next drop) is moved (an overlapping copy: `ptr::copy`) to `write`, which
    // is at most its start, and after it only `write` initialised values are counted.
    unsafe {
        v.set_len(first);
        let p = v.as_mut_ptr();
        for &d in drop {
            std::ptr::drop_in_place(p.add(d));
        }
        let mut write = first;
        for (k, &d) in drop.iter().enumerate() {
            let end = drop.get(k + 1).copied().unwrap_or(len);
            let n = end - d - 1;
            std::ptr::copy(p.add(d + 1), p.add(write), n);
            write += n;
        }
        v.set_len(write);
    }
}

/// A whole file's scan: accepted rows in columns, in file order, with the byte offset of each
/// row's record, and the records rejected by their row checks.
pub struct Scan<C> {
    pub cols: C,
    starts: RowStarts,
    rejected: Vec<Rejected>,
}

/// The bytes of a file read (and then released) at a time: 32 MiB.
pub const RELEASE_BLOCK: usize = 32 << 20;

/// Lets go of the memory behind a reader that moves forward through a file: each time it has
/// read a block past the last release (see `Source::release`).
pub(crate) struct Behind {
    from: usize,
}

impl Behind {
    pub fn new(from: usize) -> Behind {
        Behind { from }
    }

    /// The reader is at `at`; a reader that starts again further back restarts from there.
    pub fn at(&mut self, src: &(impl Records + ?Sized), at: usize) {
        if at < self.from {
            self.from = at;
        } else if at - self.from >= RELEASE_BLOCK {
            src.release(self.from..at);
            self.from = at;
        }
    }
}

/// Every how many accepted rows of a chunk the scan keeps a record's offset ([`RowStarts`]).
pub const SAMPLE_EVERY: usize = 16;

/// Where accepted rows' records start, in half a byte a row: the scan keeps the offset and
/// line of every `SAMPLE_EVERY`-th accepted row of each chunk, and a row's own offset and
/// line are found by reading on from the one kept before it, past the rejected records (only
/// quarantined rows are looked up: a few in a thousand). Keeping every row's offset took 8
/// bytes a row, 2.6 GB for the 320 million sessions of a 10-million-episode export; keeping
/// the lines spares the count of every newline of the file up to the last quarantined row
/// (1,000,000 episodes: 0.1 s of a serial pass over 1 GB).
#[derive(Debug, Default)]
pub struct RowStarts {
    pub chunks: Vec<ChunkStarts>,
}

/// One chunk's kept starts.
#[derive(Debug, Default)]
pub struct ChunkStarts {
    /// The chunk's first row.
    pub row: usize,
    /// Where the chunk starts, and its first (physical) line.
    pub offset: usize,
    pub line: u64,
    /// The offsets and physical lines of its rows 0, k, 2k, ..., from the chunk's start and
    /// first line (a chunk is at most 1 GiB).
    pub samples: Vec<(u32, u32)>,
}

impl RowStarts {
    /// The byte offset of row `i`'s record and the line it starts on; `rejected` are the
    /// starts of the rejected records, ascending.
    pub fn of(&self, i: usize, src: &impl Records, rejected: &[usize]) -> (usize, u64) {
        let k = self.chunks.partition_point(|c| c.row <= i) - 1;
        let c = &self.chunks[k];
        let local = i - c.row;
        let (offset, line) = c.samples[local / SAMPLE_EVERY];
        let mut at = c.offset + offset as usize;
        let mut line = c.line + u64::from(line);
        let mut left = local % SAMPLE_EVERY;
        while left > 0 {
            let next = src.next_record(at);
            line += src.newlines(at..next);
            at = next;
            if rejected.binary_search(&at).is_err() {
                left -= 1;
            }
        }
        (at, src.line_at(line, at))
    }
}

/// Quarantine verdicts on accepted rows: (row index, reason).
pub type Verdicts = Vec<(usize, Reason)>;

impl<C: Columns> Scan<C> {
    pub fn new(cols: C, starts: RowStarts, rejected: Vec<Rejected>) -> Scan<C> {
        Scan {
            cols,
            starts,
            rejected,
        }
    }

    /// Removes the rows named by `verdicts`, adds every quarantined record (rejected by a row
    /// check, or by a verdict with `key_col` as its column) to `quarantine`, and counts the
    /// file's records.
    pub fn settle(
        self,
        src: &(impl Records + Sync),
        header: &[String],
        mut verdicts: Verdicts,
        key_col: Option<usize>,
        quarantine: &mut Vec<QuarantineRow>,
    ) -> (C, FileAccount) {
        let Scan {
            mut cols,
            starts,
            rejected,
        } = self;
        let mut account = FileAccount::new(src.file_name(), true);
        account.rows_read = (cols.len() + rejected.len()) as u64;
        verdicts.sort_unstable_by_key(|v| v.0);
        let drop: Vec<usize> = verdicts.iter().map(|v| v.0).collect();
        // The rows go while the quarantine is written (at 1,000,000 episodes the attendance
        // columns take 32 million rows to close the gaps in, the last step of the reading).
        rayon::join(
            || cols.remove(&drop),
            || {
                let column = |c: Option<usize>| c.map(|c| header[c].clone()).unwrap_or_default();
                // Records are read in file order (twice: rejected, then verdicts): the memory
                // behind them is let go as they go, so scattered reads never hold the whole
                // file.
                let mut behind = Behind::new(0);
                let mut add =
                    |line: u64, span: std::ops::Range<usize>, reason: Reason, col: String| {
                        behind.at(src, span.start);
                        *account
                            .quarantined
                            .entry(reason.as_str().to_string())
                            .or_insert(0) += 1;
                        quarantine.push(QuarantineRow {
                            file: src.file_name().to_string(),
                            line,
                            column: col,
                            reason,
                            raw: src.raw(&span).to_string(),
                        });
                    };
                let rejected_starts: Vec<usize> = rejected.iter().map(|r| r.span.start).collect();
                for r in rejected {
                    add(r.line, r.span, r.reason, column(r.column));
                }
                // Found in file order, reading on from kept offsets: the pages read are let go
                // as for the records themselves.
                let mut found = Behind::new(0);
                for &(i, reason) in &verdicts {
                    let (start, line) = starts.of(i, src, &rejected_starts);
                    found.at(src, start);
                    add(line, src.record_span(start), reason, column(key_col));
                }
                src.release(0..usize::MAX);
            },
        );
        account.accepted = cols.len() as u64;
        (cols, account)
    }
}

/// Duplicate verdicts (SPEC §10 V7) among rows `0..n`: rows sharing a key are kept as one
/// when all equal (`same`; the first in file order stays, the rest are `duplicate`), or all
/// quarantined as `conflicting_duplicate` when any differs.
pub fn duplicates<K: Ord + Send>(
    n: usize,
    key: impl Fn(usize) -> K + Sync,
    same: impl Fn(usize, usize) -> bool,
) -> Verdicts {
    let mut keyed: Vec<(K, usize)> = (0..n).into_par_iter().map(|i| (key(i), i)).collect();
    keyed.par_sort_unstable();
    let mut out = Vec::new();
    judge(&keyed, &same, &mut out);
    out
}

/// The same for a child file, whose key starts with the episode: each episode's few rows are
/// sorted on the rest of the key, so the work is linear and parallel across episodes. When
/// each episode's rows are already together in the file (as exports usually come), its run
/// is its bucket; otherwise rows are bucketed by episode with a counting sort (4 more bytes
/// a row: 1.3 GB for the 320 million sessions of a 10-million-episode export).
pub fn child_duplicates<K: Ord + Send>(
    n: usize,
    n_episodes: usize,
    episode: impl Fn(usize) -> u32 + Sync,
    key: impl Fn(usize) -> K + Sync,
    same: impl Fn(usize, usize) -> bool + Sync,
) -> Verdicts {
    if let Some(runs) = episode_runs(n, n_episodes, &episode) {
        return judge_buckets(runs.len() - 1, &same, |b, keyed: &mut Vec<(K, usize)>| {
            let rows = runs[b] as usize..runs[b + 1] as usize;
            keyed.extend(rows.map(|i| (key(i), i)));
        });
    }
    let mut starts = vec![0usize; n_episodes + 1];
    for i in 0..n {
        starts[episode(i) as usize + 1] += 1;
    }
    for e in 0..n_episodes {
        starts[e + 1] += starts[e];
    }
    let mut next = starts.clone();
    let mut order = vec![0u32; n];
    for i in 0..n {
        let e = episode(i) as usize;
        order[next[e]] = i as u32;
        next[e] += 1;
    }
    judge_buckets(n_episodes, &same, |e, keyed: &mut Vec<(K, usize)>| {
        let seg = &order[starts[e]..starts[e + 1]];
        keyed.extend(seg.iter().map(|&i| (key(i as usize), i as usize)));
    })
}

/// Where each episode's run of rows starts (then `n`), when every episode's rows are
/// consecutive; `None` when some episode's rows are apart. The run starts are found in
/// parallel, then checked in order (one step per episode, not per row: 32 million
/// attendance rows at 1,000,000 episodes).
fn episode_runs(
    n: usize,
    n_episodes: usize,
    episode: &(impl Fn(usize) -> u32 + Sync),
) -> Option<Vec<u32>> {
    const PIECE: usize = 1 << 16;
    let fits = |i: usize| u32::try_from(i).expect("fewer than 2^32 rows");
    let starts: Vec<Vec<u32>> = (0..n.div_ceil(PIECE))
        .into_par_iter()
        .map(|c| {
            (c * PIECE..((c + 1) * PIECE).min(n))
                .filter(|&i| i == 0 || episode(i) != episode(i - 1))
                .map(fits)
                .collect()
        })
        .collect();
    let mut seen = vec![false; n_episodes];
    let mut runs = Vec::with_capacity(starts.iter().map(Vec::len).sum::<usize>() + 1);
    for s in starts.into_iter().flatten() {
        if std::mem::replace(&mut seen[episode(s as usize) as usize], true) {
            return None;
        }
        runs.push(s);
    }
    runs.push(fits(n));
    Some(runs)
}

/// Verdicts of `n_buckets` buckets judged apart, in parallel: `fill(b, keyed)` appends bucket
/// `b`'s (key, row) pairs.
fn judge_buckets<K: Ord + Send>(
    n_buckets: usize,
    same: &(impl Fn(usize, usize) -> bool + Sync),
    fill: impl Fn(usize, &mut Vec<(K, usize)>) + Sync,
) -> Verdicts {
    (0..n_buckets)
        .into_par_iter()
        .with_min_len(4096)
        .fold(
            || (Vec::new(), Vec::new()),
            |(mut out, mut keyed): (Verdicts, Vec<(K, usize)>), b| {
                keyed.clear();
                fill(b, &mut keyed);
                if keyed.len() > 1 {
                    keyed.sort_unstable();
                    judge(&keyed, same, &mut out);
                }
                (out, keyed)
            },
        )
        .map(|(out, _)| out)
        .reduce(Vec::new, |mut a, b| {
            a.extend(b);
            a
        })
}

/// Verdicts for a key-sorted list of (key, row index).
fn judge<K: Ord>(keyed: &[(K, usize)], same: &impl Fn(usize, usize) -> bool, out: &mut Verdicts) {
    let mut g = 0;
    while g < keyed.len() {
        let mut h = g + 1;
        while h < keyed.len() && keyed[h].0 == keyed[g].0 {
            h += 1;
        }
        if h - g > 1 {
            let first = keyed[g].1;
            if keyed[g + 1..h].iter().all(|&(_, i)| same(first, i)) {
                out.extend(keyed[g + 1..h].iter().map(|&(_, i)| (i, Reason::Duplicate)));
            } else {
                out.extend(
                    keyed[g..h]
                        .iter()
                        .map(|&(_, i)| (i, Reason::ConflictingDuplicate)),
                );
            }
        }
        g = h;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_split_and_packed_in_order() {
        let mut v: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        {
            let parts = split_runs(&mut v, &[3, 0, 7]);
            assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [3, 0, 7]);
        }
        // Keep 1, 2 | 5, 6, 7, 8 (a run longer than the distance it moves) | 9.
        pack_runs(&mut v, &[(1, 2), (5, 4), (9, 1)]);
        assert_eq!(v, ["1", "2", "5", "6", "7", "8", "9"]);
    }

    proptest::proptest! {
        /// Removing rows gives what `retain` gives, for values that own memory too.
        #[test]
        fn removal_equals_retain(
            n in 0usize..300,
            picks in proptest::collection::vec(proptest::prelude::any::<bool>(), 300),
        ) {
            let drop: Vec<usize> = (0..n).filter(|&i| picks[i]).collect();
            let mut strings: Vec<String> = (0..n).map(|i| format!("row {i}")).collect();
            let mut numbers: Vec<u32> = (0..n as u32).collect();
            let mut want = strings.clone();
            let mut i = 0;
            want.retain(|_| {
                i += 1;
                !picks[i - 1]
            });
            remove_sorted(&mut strings, &drop);
            remove_sorted(&mut numbers, &drop);
            proptest::prop_assert_eq!(&strings, &want);
            let as_text: Vec<String> = numbers.iter().map(|i| format!("row {i}")).collect();
            proptest::prop_assert_eq!(as_text, want);
        }
    }

    /// Runs found piece by piece in parallel are the runs of the whole, across the pieces'
    /// borders (runs of 7 rows do not line up with pieces of 65,536), and an episode met
    /// again in a later piece is found.
    #[test]
    fn episode_runs_cross_the_pieces() {
        let n = 200_000;
        let episode = |i: usize| (i / 7) as u32;
        let runs = episode_runs(n, n / 7 + 1, &episode).unwrap();
        let want: Vec<u32> = (0..n as u32).step_by(7).chain([n as u32]).collect();
        assert_eq!(runs, want);
        // The rows of episode 0 again at the start of the third piece.
        let again = |i: usize| {
            if (131_072..131_080).contains(&i) {
                0
            } else {
                episode(i)
            }
        };
        assert!(episode_runs(n, n / 7 + 1, &again).is_none());
    }

    #[test]
    #[should_panic(expected = "ascending and in bounds")]
    fn removing_past_the_end_panics() {
        remove_sorted(&mut vec![1, 2, 3], &[1, 3]);
    }

    #[test]
    fn removing_sorted_indices_keeps_the_order() {
        let mut v: Vec<u32> = (0..10).collect();
        remove_sorted(&mut v, &[0, 3, 4, 9]);
        assert_eq!(v, [1, 2, 5, 6, 7, 8]);
        remove_sorted(&mut v, &[]);
        assert_eq!(v.len(), 6);
    }

    #[test]
    fn duplicates_keep_the_first_equal_copy_and_drop_every_conflicting_one() {
        // key, value: rows 0 and 3 equal (3 is a duplicate); 1, 2 and 4 conflict.
        let rows = [(1, 'a'), (2, 'b'), (2, 'c'), (1, 'a'), (2, 'b'), (5, 'z')];
        let mut v = duplicates(rows.len(), |i| rows[i].0, |i, j| rows[i] == rows[j]);
        v.sort_unstable_by_key(|x| x.0);
        assert_eq!(
            v,
            [
                (1, Reason::ConflictingDuplicate),
                (2, Reason::ConflictingDuplicate),
                (3, Reason::Duplicate),
                (4, Reason::ConflictingDuplicate)
            ]
        );
        // The child version finds the same, bucketed by episode (the key's first part).
        let mut c = child_duplicates(
            rows.len(),
            6,
            |i| rows[i].0,
            |_| (),
            |i, j| rows[i] == rows[j],
        );
        c.sort_unstable_by_key(|x| x.0);
        assert_eq!(c, v);
    }

    #[test]
    fn child_duplicates_agree_with_the_plain_sort_whether_runs_are_together_or_apart() {
        // Rows (episode, date, minutes) from a small generator: few dates, so keys repeat.
        let mut x: u64 = 7;
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        for grouped in [true, false] {
            for _ in 0..50 {
                let n_episodes = 1 + next(20) as usize;
                let mut rows: Vec<(u32, u32, u32)> = (0..next(200))
                    .map(|_| {
                        (
                            next(n_episodes as u64) as u32,
                            next(4) as u32,
                            next(2) as u32,
                        )
                    })
                    .collect();
                if grouped {
                    // Stable: within an episode, rows keep their order.
                    rows.sort_by_key(|r| r.0);
                    assert!(episode_runs(rows.len(), n_episodes, &|i| rows[i].0).is_some());
                }
                let mut want = duplicates(
                    rows.len(),
                    |i| (rows[i].0, rows[i].1),
                    |i, j| rows[i] == rows[j],
                );
                let mut got = child_duplicates(
                    rows.len(),
                    n_episodes,
                    |i| rows[i].0,
                    |i| rows[i].1,
                    |i, j| rows[i] == rows[j],
                );
                want.sort_unstable_by_key(|v| v.0);
                got.sort_unstable_by_key(|v| v.0);
                assert_eq!(got, want, "grouped: {grouped}, rows: {rows:?}");
            }
        }
        // Runs: an episode that comes back after another is not a run.
        let apart = [0u32, 0, 1, 0];
        assert_eq!(episode_runs(4, 2, &|i| apart[i]), None);
        let together = [1u32, 1, 0, 2, 2];
        assert_eq!(episode_runs(5, 3, &|i| together[i]), Some(vec![0, 2, 3, 5]));
    }
}
