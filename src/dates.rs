//! Calendar dates as day numbers.
//!
//! Every date in the pipeline is an `i32` count of days since 1970-01-01 (the same
//! representation as polars' `Date`). This module converts between that number and the
//! proleptic Gregorian calendar, parses the strict ISO form of SPEC §10 V3 without
//! allocating, and formats dates for output. Other formats named in a config go through
//! chrono in the ingest stage; this module does no I/O.

/// Days since 1970-01-01.
pub type Day = i32;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
/// The caller guarantees `month` in 1..=12 and `day` valid for the month.
pub fn days_from_civil(year: i32, month: u32, day: u32) -> Day {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Today's date on this machine's local clock (for `--period previous`).
pub fn today() -> Day {
    use chrono::Datelike;
    let d = chrono::Local::now().date_naive();
    days_from_civil(d.year(), d.month(), d.day())
}

/// The current local time as ISO 8601 with its UTC offset, to the second (for messages).
pub fn now_iso() -> String {
    chrono::Local::now()
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// The (year, month, day) of a day number (H. Hinnant's `civil_from_days`).
pub fn civil_from_days(z: Day) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Whether `year` is a Gregorian leap year.
pub fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Number of days in a month of a year.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// A day number from a calendar date, or `None` when the date does not exist.
pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Day> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Parses the strict ISO form `YYYY-MM-DD` (zero-padded, a real calendar day; SPEC §10 V3).
/// Surrounding white space is not accepted here; the caller trims.
pub fn parse_iso(s: &[u8]) -> Option<Day> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        s[range].iter().try_fold(0u32, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    from_ymd(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

/// Appends `YYYY-MM-DD` to `out`.
pub fn write_iso(out: &mut Vec<u8>, day: Day) {
    let (y, m, d) = civil_from_days(day);
    if (0..=9999).contains(&y) {
        let y = y as u32;
        out.extend_from_slice(&[
            b'0' + (y / 1000) as u8,
            b'0' + (y / 100 % 10) as u8,
            b'0' + (y / 10 % 10) as u8,
            b'0' + (y % 10) as u8,
            b'-',
            b'0' + (m / 10) as u8,
            b'0' + (m % 10) as u8,
            b'-',
            b'0' + (d / 10) as u8,
            b'0' + (d % 10) as u8,
        ]);
    } else {
        out.extend_from_slice(format!("{y:04}-{m:02}-{d:02}").as_bytes());
    }
}

/// `YYYY-MM-DD` as a `String`.
pub fn iso(day: Day) -> String {
    let mut v = Vec::with_capacity(10);
    write_iso(&mut v, day);
    String::from_utf8(v).expect("ASCII digits and dashes")
}

/// Calendar quarter (1..=4) and year of a day.
pub fn quarter_of(day: Day) -> (i32, u32) {
    let (y, m, _) = civil_from_days(day);
    (y, (m - 1) / 3 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for z in -800_000..800_000 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn strict_iso_parsing() {
        assert_eq!(parse_iso(b"2024-02-29"), Some(days_from_civil(2024, 2, 29)));
        assert_eq!(parse_iso(b"2025-02-29"), None);
        assert_eq!(parse_iso(b"2025-1-5"), None);
        assert_eq!(parse_iso(b"2025-01-5 "), None);
        assert_eq!(parse_iso(b"2025-13-01"), None);
        assert_eq!(parse_iso(b"2025-00-10"), None);
        assert_eq!(parse_iso(b"2025-04-31"), None);
        assert_eq!(parse_iso(b"+025-04-01"), None);
        assert_eq!(parse_iso(b"2025/04/01"), None);
        assert_eq!(iso(parse_iso(b"1999-12-31").unwrap()), "1999-12-31");
    }

    #[test]
    fn quarters() {
        assert_eq!(quarter_of(parse_iso(b"2026-09-30").unwrap()), (2026, 3));
        assert_eq!(quarter_of(parse_iso(b"2026-10-01").unwrap()), (2026, 4));
        assert_eq!(quarter_of(parse_iso(b"2026-01-01").unwrap()), (2026, 1));
    }
}
