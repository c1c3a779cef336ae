//! Record boundaries in CSV bytes, found fast: which quoted fields there are (so that a newline
//! inside one is not a record end), and whether the bytes are UTF-8. Both run over a whole
//! input file before it is parsed, so they jump with memchr and split work across threads;
//! the byte-at-a-time state machine they must agree with is kept for the tests.

use rayon::prelude::*;

/// The offset of the first byte that is not valid UTF-8, checked in parallel over pieces
/// cut at newlines (an ASCII byte never falls inside a multi-byte sequence).
pub(super) fn first_invalid_utf8(bytes: &[u8]) -> Option<usize> {
    pieces(bytes).par_windows(2).find_map_first(|w| {
        std::str::from_utf8(&bytes[w[0]..w[1]])
            .err()
            .map(|e| w[0] + e.valid_up_to())
    })
}

/// Whether the bytes hold a carriage return not followed by a line feed (old Mac line ends, or
/// a stray CR), checked in parallel; the csv crate reads one as a record end.
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
pub(super) fn quoted_fields(bytes: &[u8], mut each: impl FnMut(usize, usize)) -> Option<usize> {
    let mut p = 0;
    while let Some(i) = memchr::memchr(b'"', &bytes[p..]) {
        let open = p + i;
        if open > 0 && !matches!(bytes[open - 1], b',' | b'\n' | b'\r') {
            // A quote inside an unquoted field is literal.
            p = open + 1;
            continue;
        }
        let mut c = open + 1;
        loop {
            let Some(j) = memchr::memchr(b'"', &bytes[c..]) else {
                return Some(open);
            };
            let k = c + j;
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
