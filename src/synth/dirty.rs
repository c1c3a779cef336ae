//! Bad-row injection for `synth --dirty FRACTION`, and the ground truth it implies.
//!
//! Each generated row is made bad with probability FRACTION, the kind chosen uniformly among
//! the reasons of SPEC §3 that apply to its file:
//!
//! | file | kinds |
//! |---|---|
//! | episodes | missing_value, bad_date, discharge_before_admit (discharged only), duplicate, conflicting_duplicate |
//! | assessments | missing_value, bad_date, bad_number, unknown_instrument, score_out_of_range, unknown_episode, duplicate, conflicting_duplicate |
//! | attendance | missing_value, bad_date, bad_number, bad_minutes, unknown_episode, duplicate, conflicting_duplicate |
//!
//! `duplicate` writes the row twice (one copy is quarantined); `conflicting_duplicate` writes
//! it twice with one value changed (both are); `unknown_episode` points the row at an id that
//! does not exist. Rows of an episode whose own row is quarantined are `unknown_episode`
//! unless an earlier check of SPEC §10 V1 catches them first; the counts follow that order.
//! The injector draws from its own stream, so a dirty export is the clean export with bad
//! rows injected: the clean rows are the same bytes.

use super::{Draw, Episode};
use crate::dates::{self, Day};
use crate::ingest::Reason;

/// The three files of an export, in accounting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileId {
    Episodes = 0,
    Assessments = 1,
    Attendance = 2,
}

impl FileId {
    pub const ALL: [FileId; 3] = [FileId::Episodes, FileId::Assessments, FileId::Attendance];

    pub fn file_name(self) -> &'static str {
        match self {
            FileId::Episodes => "episodes.csv",
            FileId::Assessments => "assessments.csv",
            FileId::Attendance => "attendance.csv",
        }
    }
}

/// Rows written and rows a validator must quarantine, per file and reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub rows: [u64; 3],
    pub reasons: [[u64; Reason::ALL.len()]; 3],
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        for f in 0..3 {
            self.rows[f] += other.rows[f];
            for r in 0..Reason::ALL.len() {
                self.reasons[f][r] += other.reasons[f][r];
            }
        }
    }

    fn bad(&mut self, file: FileId, reason: Reason, n: u64) {
        self.reasons[file as usize][reason as usize] += n;
    }
}

const EPISODE_KINDS: &[Reason] = &[
    Reason::MissingValue,
    Reason::BadDate,
    Reason::DischargeBeforeAdmit,
    Reason::Duplicate,
    Reason::ConflictingDuplicate,
];
/// An episode still in care has no discharge date to put before its admission.
const ACTIVE_EPISODE_KINDS: &[Reason] = &[
    Reason::MissingValue,
    Reason::BadDate,
    Reason::Duplicate,
    Reason::ConflictingDuplicate,
];
const ASSESSMENT_KINDS: &[Reason] = &[
    Reason::MissingValue,
    Reason::BadDate,
    Reason::BadNumber,
    Reason::UnknownInstrument,
    Reason::ScoreOutOfRange,
    Reason::UnknownEpisode,
    Reason::Duplicate,
    Reason::ConflictingDuplicate,
];
const ATTENDANCE_KINDS: &[Reason] = &[
    Reason::MissingValue,
    Reason::BadDate,
    Reason::BadNumber,
    Reason::BadMinutes,
    Reason::UnknownEpisode,
    Reason::Duplicate,
    Reason::ConflictingDuplicate,
];
const BAD_NUMBERS: &[&str] = &[
    "NA", "n/a", "ten", "1,200", "12..5", "--5", "inf", "0x1F", "7 8",
];
const UNKNOWN_INSTRUMENTS: &[&str] = &["PHQ-10", "HAMD", "K10", "ORS", "BASIS24", "PHQ 9"];

/// Injects bad rows and keeps the accounting.
pub struct Injector {
    fraction: f64,
    draw: Draw,
}

/// Stream offset separating the injector's draws from the data's.
const INJECTOR_STREAM: u64 = 1 << 62;

impl Injector {
    pub(crate) fn new(fraction: f64, seed: u64, chunk: u64) -> Self {
        Injector {
            fraction,
            draw: Draw::new(seed, INJECTOR_STREAM + chunk),
        }
    }

    fn kind(&mut self, kinds: &[Reason]) -> Option<Reason> {
        if self.fraction > 0.0 && self.draw.chance(self.fraction) {
            Some(*self.draw.pick(kinds))
        } else {
            None
        }
    }

    /// Writes an episode row (maybe bad); returns whether the episode will be accepted.
    pub(crate) fn episode(&mut self, ep: &Episode, buf: &mut Vec<u8>, c: &mut Counts) -> bool {
        let f = FileId::Episodes;
        let kinds = if ep.discharge.is_some() {
            EPISODE_KINDS
        } else {
            ACTIVE_EPISODE_KINDS
        };
        let kind = self.kind(kinds);
        let mut fields = episode_fields(ep);
        c.rows[f as usize] += 1;
        let Some(kind) = kind else {
            write_row(buf, &fields);
            return true;
        };
        match kind {
            Reason::MissingValue => {
                let col = *self.draw.pick(&[0usize, 1, 3, 4, 6]);
                fields[col] = self.blank();
                write_row(buf, &fields);
                c.bad(f, kind, 1);
                false
            }
            Reason::BadDate => {
                let col = if ep.discharge.is_some() && self.draw.chance(0.5) {
                    7
                } else {
                    6
                };
                let day = if col == 7 {
                    ep.discharge.unwrap_or(ep.admit)
                } else {
                    ep.admit
                };
                fields[col] = self.bad_date(day);
                write_row(buf, &fields);
                c.bad(f, kind, 1);
                false
            }
            Reason::DischargeBeforeAdmit => {
                fields[7] = dates::iso(ep.admit - self.draw.int(1, 20) as Day);
                write_row(buf, &fields);
                c.bad(f, kind, 1);
                false
            }
            Reason::Duplicate => {
                write_row(buf, &fields);
                write_row(buf, &fields);
                c.rows[f as usize] += 1;
                c.bad(f, kind, 1);
                true
            }
            _ => {
                write_row(buf, &fields);
                fields[4] = if ep.modality == "CBT" { "DBT" } else { "CBT" }.into();
                write_row(buf, &fields);
                c.rows[f as usize] += 1;
                c.bad(f, Reason::ConflictingDuplicate, 2);
                false
            }
        }
    }

    /// Writes an assessment row (maybe bad). `units` is the score in the instrument's units.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assessment(
        &mut self,
        episode_id: &str,
        instrument: &str,
        date: Day,
        units: i64,
        parent_ok: bool,
        buf: &mut Vec<u8>,
        c: &mut Counts,
    ) {
        let f = FileId::Assessments;
        let m = super::model::score_model(instrument);
        let score = |u: i64| format_units(u, m.step);
        c.rows[f as usize] += 1;
        let Some(kind) = self.kind(ASSESSMENT_KINDS) else {
            write_row(
                buf,
                &[episode_id, instrument, &dates::iso(date), &score(units)],
            );
            if !parent_ok {
                c.bad(f, Reason::UnknownEpisode, 1);
            }
            return;
        };
        let mut fields = [
            episode_id.to_string(),
            instrument.to_string(),
            dates::iso(date),
            score(units),
        ];
        match kind {
            Reason::MissingValue => fields[self.draw.int(0, 3) as usize] = self.blank(),
            Reason::BadDate => fields[2] = self.bad_date(date),
            Reason::BadNumber => fields[3] = self.draw.pick(BAD_NUMBERS).to_string(),
            Reason::UnknownInstrument => {
                fields[1] = self.draw.pick(UNKNOWN_INSTRUMENTS).to_string()
            }
            Reason::ScoreOutOfRange => {
                let u = if self.draw.chance(0.5) {
                    m.max + self.draw.int(1, 10)
                } else {
                    m.min - self.draw.int(1, 5)
                };
                fields[3] = score(u);
            }
            Reason::UnknownEpisode => fields[0] = format!("X{episode_id}"),
            _ => {}
        }
        self.emit_child(
            f,
            kind,
            parent_ok,
            &mut fields,
            3,
            |s| {
                let u = if units < m.max { units + 1 } else { units - 1 };
                *s = score(u);
            },
            buf,
            c,
        );
    }

    /// Writes an attendance row (maybe bad).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn attendance(
        &mut self,
        episode_id: &str,
        date: Day,
        service: &str,
        minutes: i64,
        parent_ok: bool,
        buf: &mut Vec<u8>,
        c: &mut Counts,
    ) {
        let f = FileId::Attendance;
        c.rows[f as usize] += 1;
        let Some(kind) = self.kind(ATTENDANCE_KINDS) else {
            write_attendance(buf, episode_id, date, service, minutes);
            if !parent_ok {
                c.bad(f, Reason::UnknownEpisode, 1);
            }
            return;
        };
        let mut fields = [
            episode_id.to_string(),
            dates::iso(date),
            service.to_string(),
            minutes.to_string(),
        ];
        match kind {
            Reason::MissingValue => {
                fields[*self.draw.pick(&[0usize, 1, 3])] = self.blank();
            }
            Reason::BadDate => fields[1] = self.bad_date(date),
            Reason::BadNumber => fields[3] = self.draw.pick(BAD_NUMBERS).to_string(),
            Reason::BadMinutes => {
                let m = *self.draw.pick(&[-15i64, -60, -1, 1441, 2000, 99_999]);
                fields[3] = m.to_string();
            }
            Reason::UnknownEpisode => fields[0] = format!("X{episode_id}"),
            _ => {}
        }
        self.emit_child(
            f,
            kind,
            parent_ok,
            &mut fields,
            3,
            |s| {
                *s = if minutes == 0 { "30" } else { "0" }.to_string();
            },
            buf,
            c,
        );
    }

    /// Writes a bad child row (and its copy for the duplicate kinds) and counts it.
    #[allow(clippy::too_many_arguments)]
    fn emit_child(
        &mut self,
        f: FileId,
        kind: Reason,
        parent_ok: bool,
        fields: &mut [String; 4],
        conflict_col: usize,
        conflict: impl FnOnce(&mut String),
        buf: &mut Vec<u8>,
        c: &mut Counts,
    ) {
        write_row(buf, fields);
        match kind {
            Reason::Duplicate | Reason::ConflictingDuplicate => {
                if kind == Reason::ConflictingDuplicate {
                    conflict(&mut fields[conflict_col]);
                }
                write_row(buf, fields);
                c.rows[f as usize] += 1;
                if parent_ok {
                    c.bad(f, kind, if kind == Reason::Duplicate { 1 } else { 2 });
                } else {
                    c.bad(f, Reason::UnknownEpisode, 2);
                }
            }
            _ => c.bad(f, kind, 1),
        }
    }

    /// An empty or white-space-only value.
    fn blank(&mut self) -> String {
        if self.draw.chance(0.7) { "" } else { "  " }.to_string()
    }

    /// A malformed or impossible date near `day`.
    fn bad_date(&mut self, day: Day) -> String {
        let (y, m, d) = dates::civil_from_days(day);
        match self.draw.int(0, 3) {
            0 => format!("{y:04}-02-30"),
            1 => format!("{m:02}/{d:02}/{y:04}"),
            2 => format!("{y:04}{m:02}{d:02}"),
            _ => format!("{y:04}-13-{d:02}"),
        }
    }
}

fn episode_fields(ep: &Episode) -> [String; 12] {
    [
        ep.id.clone(),
        ep.client.clone(),
        ep.site.into(),
        ep.track.into(),
        ep.modality.into(),
        ep.delivery.into(),
        dates::iso(ep.admit),
        ep.discharge.map(dates::iso).unwrap_or_default(),
        ep.reason.unwrap_or_default().into(),
        ep.age.into(),
        ep.sex.into(),
        ep.race.into(),
    ]
}

/// A score in units of `step` points, as text (`step` is 1 or 0.01).
pub fn format_units(units: i64, step: f64) -> String {
    if step >= 1.0 {
        units.to_string()
    } else {
        let sign = if units < 0 { "-" } else { "" };
        let a = units.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    }
}

/// Appends one CSV record, quoting fields that need it (RFC 4180).
pub fn write_row<S: AsRef<str>>(buf: &mut Vec<u8>, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        let f = f.as_ref();
        if f.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
            buf.push(b'"');
            buf.extend_from_slice(f.replace('"', "\"\"").as_bytes());
            buf.push(b'"');
        } else {
            buf.extend_from_slice(f.as_bytes());
        }
    }
    buf.push(b'\n');
}

/// The hot path: a clean attendance row without allocating.
fn write_attendance(buf: &mut Vec<u8>, id: &str, date: Day, service: &str, minutes: i64) {
    buf.extend_from_slice(id.as_bytes());
    buf.push(b',');
    dates::write_iso(buf, date);
    buf.push(b',');
    buf.extend_from_slice(service.as_bytes());
    buf.push(b',');
    let mut tmp = itoa::Buffer::new();
    buf.extend_from_slice(tmp.format(minutes).as_bytes());
    buf.push(b'\n');
}
