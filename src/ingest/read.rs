//! Reading one input file: the fatal checks (missing, empty, NUL bytes, not UTF-8,
//! unterminated quote), the header, and a parallel scan of its records.
//!
//! The file is memory-mapped (read-only; the page cache is used as is, with no copy and no
//! fresh memory), then cut into chunks at record boundaries (a newline outside any quoted
//! field, found with the same state machine the csv crate follows) so that chunks can be
//! parsed and validated in parallel with rayon. An accepted record goes straight into the
//! chunk's columns with its byte offset; a rejected one keeps its line number (the header is
//! line 1, SPEC §10 V9) and byte span, which is how quarantine.csv reproduces the raw row
//! exactly. Results are collected in file order whatever the thread count.

use super::accept::{pack_runs, split_runs, Columns, Scan};
use super::Fingerprint;
use crate::error::{Error, Result};
use csv::ByteRecord;
use rayon::prelude::*;
use std::ops::Range;
use std::path::Path;

/// One input file, mapped into memory, its header parsed.
pub struct Source {
    /// The file's name as shown in messages (e.g. `episodes.csv`).
    pub name: String,
    /// The whole file (`None`: empty, which cannot be mapped).
    map: Option<memmap2::Mmap>,
    /// Length of a UTF-8 byte-order mark at the start (0 or 3).
    bom: usize,
    /// Header names, trimmed.
    pub header: Vec<String>,
    /// Byte offset (in [`Source::bytes`]) of the first data record.
    pub data_start: usize,
}

/// The outcome of checking one record.
pub enum Row<T> {
    Ok(T),
    /// Quarantined for `reason`; `column` is a position in the file's header, if one applies.
    Bad {
        reason: super::Reason,
        column: Option<usize>,
    },
}

/// Each chunk's state after its scan, with the rows (of the whole file's columns) it filled.
pub type ChunkStates<S> = Vec<(S, Range<usize>)>;

/// A record quarantined by its row checks.
pub struct Rejected {
    pub line: u64,
    pub span: Range<usize>,
    pub reason: super::Reason,
    /// A position in the file's header, if one column is at fault.
    pub column: Option<usize>,
}

/// A record handed to the per-record check.
pub struct Rec<'a> {
    pub fields: &'a ByteRecord,
    pub line: u64,
}

impl Rec<'_> {
    /// Field `i` as text, trimmed, or "" when the record is short. Every consumer trims
    /// (SPEC §10 V2–V5), so it is done once here.
    pub fn get(&self, i: usize) -> &str {
        match self.fields.get(i) {
            // SAFETY: `Source::open` checked that the whole file is UTF-8. A field is a run of
            // the file's bytes cut at ASCII commas and newlines, with ASCII quote bytes removed
            // (unescaping); ASCII bytes never occur inside a multi-byte UTF-8 sequence, so every
            // field is itself valid UTF-8.
            Some(b) => super::parse::trim(unsafe { std::str::from_utf8_unchecked(b) }),
            None => "",
        }
    }
}

/// Line number (1-based) of byte `offset`.
fn line_of(bytes: &[u8], offset: usize) -> u64 {
    memchr::memchr_iter(b'\n', &bytes[..offset.min(bytes.len())]).count() as u64 + 1
}

impl Source {
    /// Reads `path`, runs the fatal checks and parses the header.
    ///
    /// # Errors
    /// [`Error::Data`] naming the file (and line) for a missing, empty, non-UTF-8 or
    /// NUL-containing file, or an unterminated quoted field.
    pub fn open(path: &Path, name: &str) -> Result<Source> {
        let not_read = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Data(format!(
                "{name}: file not found (looked for {})",
                path.display()
            )),
            _ => Error::Data(format!("{name}: cannot read {}: {e}", path.display())),
        };
        let file = std::fs::File::open(path).map_err(not_read)?;
        let len = file.metadata().map_err(not_read)?.len();
        // SAFETY: the map is read-only and private to this process. If another program
        // truncates the file while it is mapped, reads past the new end fault (SIGBUS); an
        // export is written before the run starts and not touched during it.
        let map = if len == 0 {
            None
        } else {
            Some(unsafe { memmap2::Mmap::map(&file) }.map_err(not_read)?)
        };
        let whole: &[u8] = map.as_deref().unwrap_or(&[]);
        let bom = if whole.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let bytes = &whole[bom..];
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::Data(format!(
                "{name}: the file is empty; it needs a header row naming its columns"
            )));
        }
        if let Some(p) = memchr::memchr(0, bytes) {
            return Err(Error::Data(format!(
                "{name}: line {}: contains a NUL byte (a UTF-16 or binary file?); save the export as UTF-8 CSV",
                line_of(bytes, p)
            )));
        }
        if let Err(e) = std::str::from_utf8(bytes) {
            let p = e.valid_up_to();
            let line_start = bytes[..p]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let column = bytes[line_start..p].iter().filter(|&&b| b == b',').count() + 1;
            return Err(Error::Data(format!(
                "{name}: line {}, field {column}: bytes that are not UTF-8; save the export as UTF-8",
                line_of(bytes, p)
            )));
        }
        if let Some(open) = unterminated_quote(bytes) {
            return Err(Error::Data(format!(
                "{name}: line {}: a quoted field is never closed (unterminated \"); the rest of the file cannot be read",
                line_of(bytes, open)
            )));
        }
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut rec = ByteRecord::new();
        let read = rdr
            .read_byte_record(&mut rec)
            .map_err(|e| Error::Data(format!("{name}: line 1: {e}")))?;
        if !read {
            return Err(Error::Data(format!("{name}: the file has no header row")));
        }
        let header = rec
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_string())
            .collect();
        let data_start = rdr.position().byte() as usize;
        drop(rdr);
        Ok(Source {
            name: name.to_string(),
            map,
            bom,
            header,
            data_start,
        })
    }

    /// The file's contents after any byte-order mark.
    pub fn bytes(&self) -> &[u8] {
        &self.map.as_deref().unwrap_or(&[])[self.bom..]
    }

    /// Size and SHA-256 of the whole file as it is on disk (for the manifest).
    pub fn fingerprint(&self) -> Fingerprint {
        use sha2::Digest;
        let whole = self.map.as_deref().unwrap_or(&[]);
        Fingerprint {
            size: whole.len() as u64,
            sha256: sha2::Sha256::digest(whole).into(),
        }
    }

    /// The line numbers of the records starting at `offsets` (ascending), in one pass.
    pub fn lines_at(&self, offsets: &[usize]) -> Vec<u64> {
        let bytes = self.bytes();
        let mut line = 1u64;
        let mut at = 0usize;
        offsets
            .iter()
            .map(|&o| {
                line += memchr::memchr_iter(b'\n', &bytes[at..o]).count() as u64;
                at = o;
                line
            })
            .collect()
    }

    /// The span of the record starting at `start`, to the end of its line ending.
    pub fn record_span(&self, start: usize) -> Range<usize> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&self.bytes()[start..]);
        let mut rec = ByteRecord::new();
        // The record was read once already, so it reads again.
        let _ = rdr.read_byte_record(&mut rec);
        start..start + rdr.position().byte() as usize
    }

    /// The raw text of a record span, without its line ending.
    pub fn raw(&self, span: &Range<usize>) -> &str {
        let s = std::str::from_utf8(&self.bytes()[span.clone()]).unwrap_or("");
        s.trim_end_matches(['\r', '\n'])
    }

    /// Checks every data record with `check`, in parallel, chunk by chunk: accepted rows go
    /// straight into their place in the file's columns, rejected ones are listed. `init` makes
    /// a state per chunk (for interning without locks); each state comes back with the range
    /// of rows its chunk filled. Everything is in file order whatever the thread count.
    ///
    /// # Errors
    /// The first fatal error `check` returns, in file order.
    pub fn scan<C, S, I, F>(&self, init: I, check: F) -> Result<(Scan<C>, ChunkStates<S>)>
    where
        C: Columns,
        S: Send,
        I: Fn() -> S + Sync,
        F: Fn(&mut S, &Rec) -> Result<Row<C::Row>> + Sync,
    {
        let t = std::time::Instant::now();
        let chunks = self.chunks();
        crate::diag::debug(&format!(
            "{}: {} chunks in {:.2?}",
            self.name,
            chunks.len(),
            t.elapsed()
        ));
        // At most one record per line (plus one without a final newline) in each chunk.
        let sizes: Vec<usize> = chunks.iter().map(|c| c.2 as usize + 1).collect();
        let total: usize = sizes.iter().sum();
        let mut cols = C::blank(total);
        let mut starts = vec![0u64; total];
        let filled: Vec<(usize, Vec<Rejected>, S)> = cols
            .split(&sizes)
            .into_par_iter()
            .zip(split_runs(&mut starts, &sizes))
            .zip(&chunks)
            .map(|((mut slots, starts), (range, first_line, _))| {
                let mut state = init();
                let (n, rejected) = self.scan_chunk::<C, S, F>(
                    range.clone(),
                    *first_line,
                    &mut state,
                    &check,
                    &mut slots,
                    starts,
                )?;
                Ok((n, rejected, state))
            })
            .collect::<Result<_>>()?;
        let mut runs = Vec::with_capacity(filled.len());
        let mut base = 0;
        for (size, (n, _, _)) in sizes.iter().zip(&filled) {
            runs.push((base, *n));
            base += size;
        }
        cols.pack(&runs);
        pack_runs(&mut starts, &runs);
        let mut rejected = Vec::new();
        let mut states = Vec::with_capacity(filled.len());
        let mut row = 0;
        for (n, r, state) in filled {
            rejected.extend(r);
            states.push((state, row..row + n));
            row += n;
        }
        Ok((Scan::new(cols, starts, rejected), states))
    }

    /// Scans one chunk into its rows; returns how many rows it filled and what it rejected.
    fn scan_chunk<C, S, F>(
        &self,
        range: Range<usize>,
        first_line: u64,
        state: &mut S,
        check: &F,
        slots: &mut C::Slots<'_>,
        starts: &mut [u64],
    ) -> Result<(usize, Vec<Rejected>)>
    where
        C: Columns,
        F: Fn(&mut S, &Rec) -> Result<Row<C::Row>>,
    {
        let bytes = self.bytes();
        let slice = &bytes[range.clone()];
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(slice);
        let mut rec = ByteRecord::new();
        let mut n = 0;
        let mut rejected = Vec::new();
        loop {
            let more = rdr
                .read_byte_record(&mut rec)
                .map_err(|e| Error::Data(format!("{}: near line {first_line}: {e}", self.name)))?;
            if !more {
                break;
            }
            let pos = rec
                .position()
                .expect("records read from a reader have a position");
            let mut start = range.start + pos.byte() as usize;
            let mut line = first_line + pos.line() - 1;
            // After a CRLF the csv crate starts the next record at the LF: step past it so
            // the line number and raw text are the record's own.
            while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
                line += u64::from(bytes[start] == b'\n');
                start += 1;
            }
            match check(state, &Rec { fields: &rec, line })? {
                Row::Ok(row) => {
                    C::put(slots, n, row);
                    starts[n] = start as u64;
                    n += 1;
                }
                Row::Bad { reason, column } => {
                    let end = range.start + rdr.position().byte() as usize;
                    rejected.push(Rejected {
                        line,
                        span: start..end.max(start),
                        reason,
                        column,
                    });
                }
            }
        }
        Ok((n, rejected))
    }

    /// Chunks of the data section cut at record boundaries, each with its first line number
    /// and its number of newlines.
    fn chunks(&self) -> Vec<(Range<usize>, u64, u64)> {
        let bytes = self.bytes();
        let data = &bytes[self.data_start..];
        let target = (data.len() / (rayon::current_num_threads() * 8)).max(1 << 20);
        let mut cuts = vec![0usize];
        if memchr::memchr(b'"', data).is_none() {
            let mut at = target;
            while at < data.len() {
                match memchr::memchr(b'\n', &data[at..]) {
                    Some(i) => {
                        cuts.push(at + i + 1);
                        at = at + i + 1 + target;
                    }
                    None => break,
                }
            }
        } else {
            let mut next = target;
            for_each_record_end_fast(data, |end| {
                if end >= next {
                    cuts.push(end);
                    next = end + target;
                }
            });
        }
        if *cuts.last().expect("non-empty") < data.len() {
            cuts.push(data.len());
        }
        let mut line = line_of(bytes, self.data_start);
        let mut out = Vec::with_capacity(cuts.len());
        for w in cuts.windows(2) {
            let (a, b) = (self.data_start + w[0], self.data_start + w[1]);
            if a < b {
                let newlines = memchr::memchr_iter(b'\n', &bytes[a..b]).count() as u64;
                out.push((a..b, line, newlines));
                line += newlines;
            }
        }
        out
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Q {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// Calls `f(offset just past the newline)` at every record end outside quotes (the plain,
/// byte-at-a-time reference for [`for_each_record_end_fast`], kept for its tests). Follows the
/// csv crate's reading of RFC 4180: a quote opens a quoted field only at the start of a field.
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

/// Record ends exactly as [`for_each_record_end`] finds them, a line at a time: a line
/// without a quote, entered outside a quoted field, ends a record at memchr speed; only lines
/// with a quote (or inside a quoted field) go through the state machine.
fn for_each_record_end_fast(bytes: &[u8], mut f: impl FnMut(usize)) {
    let mut start = 0;
    let mut inside = false;
    while let Some(i) = memchr::memchr(b'\n', &bytes[start..]) {
        let nl = start + i;
        let line = &bytes[start..nl];
        if inside || memchr::memchr(b'"', line).is_some() {
            let mut s = if inside { Q::Quoted } else { Q::FieldStart };
            for &b in line {
                s = step(s, b);
            }
            inside = s == Q::Quoted;
        }
        if !inside {
            f(nl + 1);
        }
        start = nl + 1;
    }
}

/// One step of the state machine of [`for_each_record_end`] on a byte that is not a newline.
fn step(s: Q, b: u8) -> Q {
    match (s, b) {
        (Q::FieldStart, b'"') => Q::Quoted,
        (Q::Quoted, b'"') => Q::QuoteInQuoted,
        (Q::Quoted, _) => Q::Quoted,
        (Q::QuoteInQuoted, b'"') => Q::Quoted,
        (_, b',' | b'\r') => Q::FieldStart,
        _ => Q::Unquoted,
    }
}

/// The offset of the start of the line whose quoted field is never closed, if any (the same
/// line-at-a-time walk as [`for_each_record_end_fast`], continued to the end of the file).
fn unterminated_quote(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'"', bytes)?;
    let mut start = 0;
    let mut inside = false;
    let mut opened = 0;
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let line = &bytes[start..end];
        if inside || memchr::memchr(b'"', line).is_some() {
            let mut s = if inside { Q::Quoted } else { Q::FieldStart };
            for (k, &b) in line.iter().enumerate() {
                let next = step(s, b);
                if s != Q::Quoted && next == Q::Quoted && b == b'"' && s == Q::FieldStart {
                    opened = start + k;
                }
                s = next;
            }
            inside = s == Q::Quoted;
        }
        start = end + 1;
    }
    inside.then_some(opened)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ends_skip_quoted_newlines() {
        let text = b"a,\"x\ny\",c\nd,e,f\n\"g\"\"h\",i\n";
        let mut ends = Vec::new();
        for_each_record_end(text, |e| ends.push(e));
        assert_eq!(ends, vec![10, 16, 25]);
        assert_eq!(unterminated_quote(text), None);
        assert_eq!(unterminated_quote(b"a,b\n\"open,c\nd\n"), Some(4));
        let mut fast = Vec::new();
        for_each_record_end_fast(text, |e| fast.push(e));
        assert_eq!(fast, ends);
        let tricky: &[u8] =
            b"a,\"x\ny\nz\",c\nd,e\"f,g\nh,\"\"\"q\"\"\",i\n\"j\r\nk\",l\r\nm,\"\"\n";
        let (mut slow, mut quick) = (Vec::new(), Vec::new());
        for_each_record_end(tricky, |e| slow.push(e));
        for_each_record_end_fast(tricky, |e| quick.push(e));
        assert_eq!(quick, slow);
        assert_eq!(slow.len(), 5);
        // A quote inside an unquoted field is literal, as the csv crate reads it.
        assert_eq!(unterminated_quote(b"a,5\" tall\nb,c\n"), None);
    }
}
