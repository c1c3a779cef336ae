//! Data loss made loud (SPEC §16 O2–O3): which values were rejected as unknown (so that a
//! user can map them), and the per-file quarantine share that turns heavy loss into a data
//! error instead of a quiet report on what is left.
//!
//! Values shown here come from the export, so each passes the PHI guard first: a value shaped
//! like an identifier is replaced by a notice, never printed.

use super::phi;
use super::reason::Reason;
use super::types::{FileAccount, QuarantineRow, UnknownValues};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// How many distinct unknown values are listed per column.
pub const LISTED: usize = 20;
/// Above this share of a file's rows quarantined, a warning is printed.
pub const WARN_SHARE: f64 = 0.01;

/// The unknown values among one file's quarantined rows. `header` is the file's header;
/// `field_of(position)` names the canonical field of a header position.
pub(crate) fn unknown_values(
    rows: &[QuarantineRow],
    header: &[String],
    field_of: impl Fn(usize) -> Option<&'static str>,
) -> Vec<UnknownValues> {
    let mut tally: BTreeMap<(String, Reason), BTreeMap<String, u64>> = BTreeMap::new();
    for q in rows {
        if !matches!(q.reason, Reason::UnknownInstrument | Reason::UnknownLabel) {
            continue;
        }
        let Some(pos) = header.iter().position(|h| *h == q.column) else {
            continue;
        };
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(q.raw.as_bytes());
        let mut rec = csv::StringRecord::new();
        if !matches!(rdr.read_record(&mut rec), Ok(true)) {
            continue;
        }
        let value = rec.get(pos).unwrap_or("").trim().to_string();
        *tally
            .entry((q.column.clone(), q.reason))
            .or_default()
            .entry(value)
            .or_insert(0) += 1;
    }
    tally
        .into_iter()
        .map(|((column, reason), values)| {
            let mut v: Vec<(String, u64)> = values.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let field = header
                .iter()
                .position(|h| *h == column)
                .and_then(&field_of)
                .unwrap_or("")
                .to_string();
            UnknownValues {
                file: rows.first().map(|q| q.file.clone()).unwrap_or_default(),
                field,
                reason,
                rows: v.iter().map(|x| x.1).sum(),
                distinct: v.len(),
                top: v
                    .into_iter()
                    .take(LISTED)
                    .map(|(value, n)| (shown(&value), n))
                    .collect(),
                column,
            }
        })
        .collect()
}

/// A value as it may be printed: through the PHI guard.
fn shown(value: &str) -> String {
    match phi::value_shape(value) {
        Some(shape) => format!("(a value shaped like {}: not shown)", shape.describe()),
        None if value.is_empty() => "(empty)".to_string(),
        None => value.to_string(),
    }
}

/// The unknown values as text: per file and column, the commonest values with their counts.
pub fn describe_unknown(unknown: &[UnknownValues]) -> String {
    let mut t = String::new();
    for u in unknown {
        t.push_str(&format!(
            "{} column `{}` ({}): {} rows, {} distinct value{}{}; map them under [labels.{}]\n",
            u.file,
            u.column,
            u.reason,
            u.rows,
            u.distinct,
            if u.distinct == 1 { "" } else { "s" },
            if u.distinct > u.top.len() {
                format!(", the {} commonest listed", u.top.len())
            } else {
                String::new()
            },
            u.field
        ));
        for (value, n) in &u.top {
            t.push_str(&format!("  {n:>10}  {value}\n"));
        }
    }
    t
}

fn share_text(q: u64, read: u64) -> String {
    format!(
        "{q} of {read} rows ({:.1}%)",
        100.0 * q as f64 / read.max(1) as f64
    )
}

/// The three commonest reasons of a file, as text.
fn commonest(a: &FileAccount) -> String {
    let mut r: Vec<(&String, &u64)> = a.quarantined.iter().collect();
    r.sort_by(|x, y| y.1.cmp(x.1).then_with(|| x.0.cmp(y.0)));
    r.iter()
        .take(3)
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks every file's quarantined share against `max_share` (SPEC §16 O2) and returns the
/// warnings for files above [`WARN_SHARE`]. `consequence` ends the error's first sentence
/// ("nothing was published").
///
/// # Errors
/// [`Error::Data`] for the first file (in the order episodes, assessments, attendance) whose
/// share exceeds `max_share`, naming the share, the three commonest reasons and, for
/// unknown values, the commonest of them and the config section to map them in.
pub fn check_loss(
    accounts: &[FileAccount],
    unknown: &[UnknownValues],
    max_share: f64,
    consequence: &str,
) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    for a in accounts.iter().filter(|a| a.present && a.rows_read > 0) {
        let q = a.quarantined_total();
        let share = q as f64 / a.rows_read as f64;
        if share > max_share {
            let mut msg = format!(
                "{}: {} were quarantined, more than [input] max_quarantined_share = {max_share} allows; \
                 {consequence}. Commonest reasons: {}.",
                a.file,
                share_text(q, a.rows_read),
                commonest(a)
            );
            for u in unknown.iter().filter(|u| u.file == a.file) {
                let listed: Vec<String> = u
                    .top
                    .iter()
                    .take(5)
                    .map(|(v, n)| format!("`{v}` ({n})"))
                    .collect();
                msg.push_str(&format!(
                    " Unknown values in column `{}`: {}{}; map them under [labels.{}] in the config.",
                    u.column,
                    listed.join(", "),
                    if u.distinct > listed.len() { ", …" } else { "" },
                    u.field
                ));
            }
            msg.push_str(
                " `iop-outcomes validate` lists every rejected value and writes quarantine.csv.",
            );
            return Err(Error::Data(msg));
        }
        if share > WARN_SHARE {
            warnings.push(format!(
                "{}: {} were quarantined ({}); see quarantine.csv",
                a.file,
                share_text(q, a.rows_read),
                commonest(a)
            ));
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(line: u64, raw: &str, column: &str, reason: Reason) -> QuarantineRow {
        QuarantineRow {
            file: "assessments.csv".into(),
            line,
            column: column.into(),
            reason,
            raw: raw.into(),
        }
    }

    #[test]
    fn unknown_values_are_counted_sorted_and_guarded() {
        let header: Vec<String> = ["episode_id", "Measure", "assessed_on", "score"]
            .map(String::from)
            .to_vec();
        let rows = vec![
            q(
                2,
                "E1,phq-9,2025-01-01,3",
                "Measure",
                Reason::UnknownInstrument,
            ),
            q(
                3,
                "E1, gad-7 ,2025-01-01,3",
                "Measure",
                Reason::UnknownInstrument,
            ),
            q(
                4,
                "E2,phq-9,2025-01-01,3",
                "Measure",
                Reason::UnknownInstrument,
            ),
            q(
                5,
                "E2,\"x 123-45-6789\",2025-01-01,3",
                "Measure",
                Reason::UnknownInstrument,
            ),
            q(6, "E2,phq9,2025-01-01,x", "score", Reason::BadNumber),
        ];
        let u = unknown_values(&rows, &header, |p| (p == 1).then_some("instrument"));
        assert_eq!(u.len(), 1);
        assert_eq!((u[0].rows, u[0].distinct), (4, 3));
        assert_eq!(u[0].field, "instrument");
        assert_eq!(u[0].top[0], ("phq-9".to_string(), 2));
        assert_eq!(u[0].top[1], ("gad-7".to_string(), 1));
        assert!(u[0].top[2].0.contains("not shown"));
        let text = describe_unknown(&u);
        assert!(!text.contains("6789"), "{text}");
        assert!(text.contains("[labels.instrument]"));
    }

    #[test]
    fn heavy_loss_is_an_error_and_some_loss_a_warning() {
        let mut a = FileAccount::new("assessments.csv", true);
        a.rows_read = 100;
        a.accepted = 85;
        a.quarantined.insert("unknown_instrument".into(), 12);
        a.quarantined.insert("bad_date".into(), 3);
        let err = check_loss(std::slice::from_ref(&a), &[], 0.10, "x").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("15 of 100 rows (15.0%)"), "{msg}");
        assert!(msg.contains("unknown_instrument 12, bad_date 3"), "{msg}");
        assert_eq!(err.exit_status(), crate::ExitStatus::DataError);
        let warned = check_loss(&[a], &[], 0.2, "x").unwrap();
        assert_eq!(warned.len(), 1);
        // Exactly at the threshold is allowed.
        let mut b = FileAccount::new("episodes.csv", true);
        b.rows_read = 10;
        b.quarantined.insert("bad_date".into(), 1);
        assert!(check_loss(&[b], &[], 0.10, "x").is_ok());
    }
}
