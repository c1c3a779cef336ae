//! Writes the Parquet cases of the bad-input corpus (tests/corpus/parquet_*), so that the
//! small binary files there can be regenerated and reviewed as code:
//! `cargo run --release --example parquet_corpus` (from the repository root).
//!
//! The files are typed as an export from R or pandas would be: text, 32- and 64-bit integers,
//! doubles, dates and timestamps, with nulls.

use polars::prelude::*;
use std::path::Path;

type Res = Result<(), Box<dyn std::error::Error>>;

fn text(name: &str, v: &[Option<&str>]) -> Column {
    Series::new(name.into(), v).into()
}

fn date(name: &str, v: &[Option<&str>]) -> PolarsResult<Column> {
    let days: Vec<Option<i32>> = v
        .iter()
        .map(|d| d.map(|d| iop_outcomes::dates::parse_iso(d.as_bytes()).expect("ISO date")))
        .collect();
    Ok(Series::new(name.into(), days).cast(&DataType::Date)?.into())
}

/// Timestamps in milliseconds (no time zone) at the given dates and hours.
fn timestamp(name: &str, v: &[Option<(&str, i64)>]) -> PolarsResult<Column> {
    let ms: Vec<Option<i64>> = v
        .iter()
        .map(|d| {
            d.map(|(d, hour)| {
                let day = iop_outcomes::dates::parse_iso(d.as_bytes()).expect("ISO date");
                (i64::from(day) * 24 + hour) * 3_600_000
            })
        })
        .collect();
    Ok(Series::new(name.into(), ms)
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?
        .into())
}

fn write(path: &Path, columns: Vec<Column>) -> Res {
    let mut df = DataFrame::new_infer_height(columns)?;
    let mut f = std::fs::File::create(path)?;
    ParquetWriter::new(&mut f)
        .with_compression(ParquetCompression::Snappy)
        .set_parallel(false)
        .finish(&mut df)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn write_text(path: &Path, text: &str) -> Res {
    std::fs::write(path, text)?;
    println!("wrote {}", path.display());
    Ok(())
}

const EPISODES_CSV: &str = "episode_id,client_id,site,track,modality,delivery,admit_date,discharge_date,discharge_reason,age_group,sex,race_ethnicity
E1,C1,site_01,mental_health,CBT,in_person,2025-01-06,2025-02-14,completed,26-34,female,white
E2,C2,site_01,substance_use,MI,telehealth,2025-02-03,2025-03-28,left_early,35-44,male,black
E3,C3,site_02,mental_health,DBT,hybrid,2025-03-03,,,18-25,female,hispanic
";
const ASSESSMENTS_CSV: &str = "episode_id,instrument,assessed_on,score
E1,PHQ9,2025-01-06,18
E1,PHQ9,2025-02-13,9
E2,DAYS_USED,2025-02-03,20
E2,DAYS_USED,2025-03-27,4
E3,GAD7,2025-03-04,12
";
const ATTENDANCE_CSV: &str = "episode_id,session_date,service,minutes
E1,2025-01-06,group,180
E1,2025-01-08,group,0
E2,2025-02-03,group,150
E3,2025-03-04,individual,50
";

/// The episodes of the CSV above, typed: dates as dates, discharge as a timestamp at midnight.
fn episodes() -> PolarsResult<Vec<Column>> {
    Ok(vec![
        text("episode_id", &[Some("E1"), Some("E2"), Some("E3")]),
        text("client_id", &[Some("C1"), Some("C2"), Some("C3")]),
        text("site", &[Some("site_01"), Some("site_01"), Some("site_02")]),
        text(
            "track",
            &[
                Some("mental_health"),
                Some("substance_use"),
                Some("mental_health"),
            ],
        ),
        text("modality", &[Some("CBT"), Some("MI"), Some("DBT")]),
        text(
            "delivery",
            &[Some("in_person"), Some("telehealth"), Some("hybrid")],
        ),
        date(
            "admit_date",
            &[Some("2025-01-06"), Some("2025-02-03"), Some("2025-03-03")],
        )?,
        timestamp(
            "discharge_date",
            &[Some(("2025-02-14", 0)), Some(("2025-03-28", 0)), None],
        )?,
        text(
            "discharge_reason",
            &[Some("completed"), Some("left_early"), None],
        ),
        text("age_group", &[Some("26-34"), Some("35-44"), Some("18-25")]),
        text("sex", &[Some("female"), Some("male"), Some("female")]),
        text(
            "race_ethnicity",
            &[Some("white"), Some("black"), Some("hispanic")],
        ),
    ])
}

fn attendance() -> PolarsResult<Vec<Column>> {
    Ok(vec![
        text(
            "episode_id",
            &[Some("E1"), Some("E1"), Some("E2"), Some("E3")],
        ),
        date(
            "session_date",
            &[
                Some("2025-01-06"),
                Some("2025-01-08"),
                Some("2025-02-03"),
                Some("2025-03-04"),
            ],
        )?,
        text(
            "service",
            &[
                Some("group"),
                Some("group"),
                Some("group"),
                Some("individual"),
            ],
        ),
        // 32-bit integers, as R's arrow writes an integer vector.
        Series::new("minutes".into(), &[180i32, 0, 150, 50]).into(),
    ])
}

fn main() -> Res {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");

    // A typed Parquet export with one bad row (row 4: a days-of-use score of 99.5, out of
    // range) after a row whose note holds a newline: quarantined at line 5 (row + 1), not
    // at the line a CSV rendering of the note would put it on.
    let dir = root.join("parquet_bad_row");
    std::fs::create_dir_all(&dir)?;
    write(&dir.join("episodes.parquet"), episodes()?)?;
    write(
        &dir.join("assessments.parquet"),
        vec![
            text(
                "episode_id",
                &[Some("E1"), Some("E1"), Some("E2"), Some("E2"), Some("E3")],
            ),
            text(
                "instrument",
                &[
                    Some("PHQ9"),
                    Some("PHQ9"),
                    Some("DAYS_USED"),
                    Some("DAYS_USED"),
                    Some("GAD7"),
                ],
            ),
            date(
                "assessed_on",
                &[
                    Some("2025-01-06"),
                    Some("2025-02-13"),
                    Some("2025-02-03"),
                    Some("2025-03-27"),
                    Some("2025-03-04"),
                ],
            )?,
            Series::new("score".into(), &[18.0f64, 9.0, 20.0, 99.5, 12.0]).into(),
            text(
                "note",
                &[
                    Some("baseline"),
                    Some("follow-up,\nby phone"),
                    None,
                    None,
                    Some(""),
                ],
            ),
        ],
    )?;
    write(&dir.join("attendance.parquet"), attendance()?)?;

    // A value shaped like an e-mail address in a Parquet string column (row 3, line 4).
    let dir = root.join("parquet_phi_value");
    std::fs::create_dir_all(&dir)?;
    write_text(&dir.join("episodes.csv"), EPISODES_CSV)?;
    write_text(&dir.join("attendance.csv"), ATTENDANCE_CSV)?;
    write(
        &dir.join("assessments.parquet"),
        vec![
            text("episode_id", &[Some("E1"), Some("E1"), Some("E2")]),
            text(
                "instrument",
                &[Some("PHQ9"), Some("PHQ9"), Some("DAYS_USED")],
            ),
            date(
                "assessed_on",
                &[Some("2025-01-06"), Some("2025-02-13"), Some("2025-02-03")],
            )?,
            Series::new("score".into(), &[18i64, 9, 20]).into(),
            text(
                "comment",
                &[None, Some("ok"), Some("write to jane.doe@example.org")],
            ),
        ],
    )?;

    // A file named .parquet that holds CSV text.
    let dir = root.join("parquet_not_parquet");
    std::fs::create_dir_all(&dir)?;
    write_text(&dir.join("episodes.parquet"), EPISODES_CSV)?;
    write_text(&dir.join("assessments.csv"), ASSESSMENTS_CSV)?;
    write_text(&dir.join("attendance.csv"), ATTENDANCE_CSV)?;

    // episodes.csv and episodes.parquet both there, neither named in a config.
    let dir = root.join("parquet_and_csv_both");
    std::fs::create_dir_all(&dir)?;
    write_text(&dir.join("episodes.csv"), EPISODES_CSV)?;
    write(&dir.join("episodes.parquet"), episodes()?)?;
    write_text(&dir.join("assessments.csv"), ASSESSMENTS_CSV)?;

    // A Parquet file named in the config, dates read in the configured format: the dates of
    // the Parquet file are rendered in it too, so the export is clean.
    let dir = root.join("parquet_named_date_format");
    std::fs::create_dir_all(&dir)?;
    write(&dir.join("Episodes Export.parquet"), episodes()?)?;
    write_text(
        &dir.join("assessments.csv"),
        &ASSESSMENTS_CSV
            .replace("2025-01-06", "01/06/2025")
            .replace("2025-02-13", "02/13/2025")
            .replace("2025-02-03", "02/03/2025")
            .replace("2025-03-27", "03/27/2025")
            .replace("2025-03-04", "03/04/2025"),
    )?;
    write_text(
        &dir.join("config.toml"),
        "[input]\nepisodes = \"Episodes Export.parquet\"\ndate_format = \"%m/%d/%Y\"\n",
    )?;
    Ok(())
}
