//! Record boundaries in CSV bytes, found fast: which quoted fields there are (so that a newline
//! inside one is not a record end), and whether the bytes are UTF-8. Both run over a whole
//! input file before it is parsed, so they jump with memchr and split work across threads;
//! the byte-at-a-time state machine they must agree with is kept for the tests.

use rayon::prelude::*;
use std::ops::Range;

/// What one pass over a whole file finds before it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(super) struct Survey {
    /// A carriage return not followed by a line feed ([`has_bare_cr`]).
    pub bare_cr: bool,
    /// The offset of the first NUL byte.
    pub nul: Option<usize>,
    /// The offset of the first byte that is not valid UTF-8 ([`first_invalid_utf8`]).
    pub invalid_utf8: Option<usize>,
}

/// The three whole-file checks in one parallel pass over pieces cut at newlines (an ASCII
/// byte never falls inside a multi-byte sequence, and a bare CR, a NUL or a UTF-8 error is
/// where it is whether CRs are later read as LFs or not). `done(range)` is called on each
/// piece once checked, so that its mapped pages can be released.
pub(super) fn survey(bytes: &[u8], done: &(impl Fn(Range<usize>) + Sync)) -> Survey {
    let found: Vec<Survey> = pieces(bytes)
        .par_windows(2)
        .map(|w| {
            let piece = &bytes[w[0]..w[1]];
            let s = Survey {
                bare_cr: memchr::memchr_iter(b'\r', piece)
                    .any(|i| bytes.get(w[0] + i + 1) != Some(&b'\n')),
                nul: memchr::memchr(0, piece).map(|i| w[0] + i),
                invalid_utf8: std::str::from_utf8(piece)
                    .err()
                    .map(|e| w[0] + e.valid_up_to()),
            };
            done(w[0]..w[1]);
            s
        })
        .collect();
    Survey {
        bare_cr: found.iter().any(|s| s.bare_cr),
        nul: found.iter().find_map(|s| s.nul),
        invalid_utf8: found.iter().find_map(|s| s.invalid_utf8),
    }
}

/// The offset of the first byte that is not valid UTF-8, checked in parallel over pieces
/// cut at newlines (an ASCII byte never falls inside a multi-byte sequence).
#[cfg(test)]
pub(super) fn first_invalid_utf8(bytes: &[u8]) -> Option<usize> {
    pieces(bytes).par_windows(2).find_map_first(|w| {
        std::str::from_utf8(&bytes[w[0]..w[1]])
            .err()
            .map(|e| w[0] + e.valid_up_to())
    })
}

/// Whether the bytes hold a carriage return not followed by a line feed (old Mac line ends, or
/// a stray CR), checked in parallel; the csv crate reads one as a record end.
#[cfg(test)]
pub(super) fn has_bare_cr(bytes: &[u8]) -> bool {
    pieces(bytes).par_windows(2).any(|w| {
        memchr::memchr_iter(b'\r', &bytes[w[0]..w[1]])
            .any(|i| bytes.get(w[0] + i + 1) != Some(&b'\n'))
    })
}

/// A copy of `bytes` in which every bare carriage return outside a quoted field (see
/// [`has_bare_cr`]) is a line feed: the same records as the csv crate reads, with one line
/// end per record, so that line numbers, chunk cuts and record counts all follow `\n`. Byte
/// offsets are unchanged (one byte for one byte).
pub(super) fn bare_cr_to_lf(bytes: &[u8]) -> Vec<u8> {
    let mut quoted = Vec::new();
    // An unterminated field is reported by the caller's own check afterwards.
    let _ = quoted_fields(bytes, |open, close| quoted.push((open, close)));
    let mut out = bytes.to_vec();
    let mut k = 0;
    for i in memchr::memchr_iter(b'\r', bytes) {
        if bytes.get(i + 1) == Some(&b'\n') {
            continue;
        }
        while k < quoted.len() && quoted[k].1 < i {
            k += 1;
        }
        if quoted.get(k).is_some_and(|&(open, _)| open < i) {
            continue;
        }
        out[i] = b'\n';
    }
    out
}

/// Piece boundaries (starts, then the end) of about 8 MiB each, cut after newlines.
fn pieces(bytes: &[u8]) -> Vec<usize> {
    const PIECE: usize = 8 << 20;
    let mut starts = vec![0];
    while let Some(&last) = starts.last() {
        let at = last + PIECE;
        if at >= bytes.len() {
            break;
        }
        match memchr::memchr(b'\n', &bytes[at..]) {
            Some(i) => starts.push(at + i + 1),
            None => break,
        }
    }
    starts.push(bytes.len());
    starts
}

/// Calls `each(open, close)` for every quoted field, as the csv crate reads RFC 4180: a quote
/// opens a quoted field only at the start of a field (the file's start, or after a comma,
/// LF or CR), `""` inside is an escaped quote, and the field ends at the next lone quote.
/// Walks from quote to quote with memchr. Returns the opening quote of a field never closed.
pub(super) fn quoted_fields(bytes: &[u8], each: impl FnMut(usize, usize)) -> Option<usize> {
    quoted_fields_passing(bytes, each, |_| ())
}

/// The bytes searched for a quote at a time by [`quoted_fields_passing`]: 8 MiB (7 bytes in
/// the tests, so that their small texts cross blocks everywhere).
const SEARCH_BLOCK: usize = if cfg!(test) { 7 } else { 8 << 20 };

/// The next quote at or after `from`, searched a block at a time; `passed(end)` is called
/// after each block without a quote.
fn next_quote(bytes: &[u8], from: usize, passed: &mut impl FnMut(usize)) -> Option<usize> {
    let mut p = from;
    loop {
        let end = (p + SEARCH_BLOCK).min(bytes.len());
        if let Some(i) = memchr::memchr(b'"', &bytes[p..end]) {
            return Some(p + i);
        }
        if end == bytes.len() {
            return None;
        }
        passed(end);
        p = end;
    }
}

/// [`quoted_fields`], calling `passed(offset)` now and then with an offset before which the
/// bytes have all been read (so that their mapped pages can be released).
pub(super) fn quoted_fields_passing(
    bytes: &[u8],
    mut each: impl FnMut(usize, usize),
    mut passed: impl FnMut(usize),
) -> Option<usize> {
    let mut p = 0;
    while let Some(open) = next_quote(bytes, p, &mut passed) {
        if open > 0 && !matches!(bytes[open - 1], b',' | b'\n' | b'\r') {
            // A quote inside an unquoted field is literal.
            p = open + 1;
            continue;
        }
        let mut c = open + 1;
        loop {
            let Some(k) = next_quote(bytes, c, &mut passed) else {
                return Some(open);
            };
            if bytes.get(k + 1) == Some(&b'"') {
                c = k + 2;
                continue;
            }
            each(open, k);
            p = k + 1;
            break;
        }
    }
    None
}

#[cfg(test)]
#[derive(Clone, Copy, PartialEq)]
enum Q {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// Calls `f(offset just past the newline)` at every record end outside quotes: the plain,
/// byte-at-a-time state machine of the csv crate's reading of RFC 4180, the reference that
/// [`quoted_fields`] is tested against.
#[cfg(test)]
fn for_each_record_end(bytes: &[u8], mut f: impl FnMut(usize)) -> Q {
    let mut s = Q::FieldStart;
    for (i, &b) in bytes.iter().enumerate() {
        s = match (s, b) {
            (Q::FieldStart, b'"') => Q::Quoted,
            (Q::Quoted, b'"') => Q::QuoteInQuoted,
            (Q::Quoted, _) => Q::Quoted,
            (Q::QuoteInQuoted, b'"') => Q::Quoted,
            (_, b',') => Q::FieldStart,
            (_, b'\n') => {
                f(i + 1);
                Q::FieldStart
            }
            (Q::FieldStart, b'\r') | (Q::Unquoted, b'\r') | (Q::QuoteInQuoted, b'\r') => {
                Q::FieldStart
            }
            _ => Q::Unquoted,
        };
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_survey_finds_what_the_separate_checks_find() {
        let texts: [&[u8]; 6] = [
            b"a,b\r\nc,d\r\n",
            b"a,b\rc,d\r",
            b"a,b\nc\0d\n",
            b"a,b\n\xff\xfe,c\n",
            b"a,\0\n\xffb\rc\n",
            b"",
        ];
        for t in texts {
            let seen = std::sync::Mutex::new(Vec::new());
            let s = survey(t, &|r: Range<usize>| seen.lock().unwrap().push(r));
            assert_eq!(s.bare_cr, has_bare_cr(t));
            assert_eq!(s.invalid_utf8, first_invalid_utf8(t));
            assert_eq!(s.nul, memchr::memchr(0, t));
            // Every byte is reported done once checked.
            let done: usize = seen.into_inner().unwrap().iter().map(|r| r.len()).sum();
            assert_eq!(done, t.len());
        }
    }

    #[test]
    fn passed_offsets_only_move_forward_over_read_bytes() {
        let text = b"a,\"x\ny\",b\n1,2,3,4,5,6,7,8,9\n\"q\"\"r\",s\n".repeat(3);
        let mut passed = Vec::new();
        let mut fields = Vec::new();
        let open = quoted_fields_passing(&text, |a, b| fields.push((a, b)), |p| passed.push(p));
        assert_eq!(open, None);
        let mut plain = Vec::new();
        quoted_fields(&text, |a, b| plain.push((a, b)));
        assert_eq!(fields, plain);
        assert!(!passed.is_empty());
        assert!(passed.windows(2).all(|w| w[0] < w[1]));
        assert!(passed.iter().all(|&p| p <= text.len()));
    }

    /// Record ends as [`quoted_fields`] implies them: newlines outside every quoted field.
    fn ends_from_fields(bytes: &[u8]) -> (Vec<usize>, Option<usize>) {
        let mut fields = Vec::new();
        let open = quoted_fields(bytes, |a, b| fields.push((a, b)));
        let ends = memchr::memchr_iter(b'\n', bytes)
            .filter(|&nl| !fields.iter().any(|&(a, b)| a < nl && nl < b))
            .filter(|&nl| open.is_none_or(|o| nl < o))
            .map(|nl| nl + 1)
            .collect();
        (ends, open)
    }

    fn reference(bytes: &[u8]) -> (Vec<usize>, bool) {
        let mut ends = Vec::new();
        let state = for_each_record_end(bytes, |e| ends.push(e));
        (ends, state == Q::Quoted)
    }

    #[test]
    fn bare_carriage_returns_become_line_feeds_outside_quoted_fields() {
        assert!(!has_bare_cr(b"a,b\r\nc,d\r\n"));
        assert!(has_bare_cr(b"a,b\rc,d\r"));
        assert!(has_bare_cr(b"a,b\r\nc\r,d\r\n"));
        let old_mac = b"a,b\r1,\"x\ry\"\r2,z";
        assert_eq!(bare_cr_to_lf(old_mac), b"a,b\n1,\"x\ry\"\n2,z".to_vec());
        // The csv crate reads the same records from both.
        let read = |b: &[u8]| {
            csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(b)
                .byte_records()
                .map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        };
        assert_eq!(read(old_mac), read(&bare_cr_to_lf(old_mac)));
        let mixed = b"a,b\r\nc\r,d\r\n\"q\r\",e\r";
        assert_eq!(read(mixed), read(&bare_cr_to_lf(mixed)));
    }

    #[test]
    fn record_ends_skip_quoted_newlines() {
        let text = b"a,\"x\ny\",c\nd,e,f\n\"g\"\"h\",i\n";
        assert_eq!(ends_from_fields(text), (vec![10, 16, 25], None));
        assert_eq!(quoted_fields(b"a,b\n\"open,c\nd\n", |_, _| ()), Some(4));
        let tricky: &[u8] =
            b"a,\"x\ny\nz\",c\nd,e\"f,g\nh,\"\"\"q\"\"\",i\n\"j\r\nk\",l\r\nm,\"\"\n";
        assert_eq!(ends_from_fields(tricky).0, reference(tricky).0);
        assert_eq!(reference(tricky).0.len(), 5);
        // A quote inside an unquoted field is literal, as the csv crate reads it.
        assert_eq!(quoted_fields(b"a,5\" tall\nb,c\n", |_, _| ()), None);
    }

    #[test]
    fn quoted_fields_agree_with_the_byte_state_machine_on_random_text() {
        // 20,000 seeded strings over the bytes that matter, against the reference machine:
        // the same record ends, and an unterminated field exactly when it ends inside one.
        let alphabet = b"a,\"\n\r";
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 24) as usize;
            let text: Vec<u8> = (0..len)
                .map(|k| alphabet[((x >> (2 * k % 60)) % 5) as usize])
                .collect();
            let (ends, unterminated) = reference(&text);
            let (fast, open) = ends_from_fields(&text);
            assert_eq!(
                open.is_some(),
                unterminated,
                "{:?}",
                String::from_utf8_lossy(&text)
            );
            assert_eq!(fast, ends, "{:?}", String::from_utf8_lossy(&text));
        }
    }
}
