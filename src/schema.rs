//! The input contract (SPEC §2): the canonical columns of each input file, which of them
//! are required, and which episode columns a report may group by. Constants only: the config
//! checks its column mapping against them and ingest maps each file's header onto them.

pub const EPISODE_COLUMNS: &[&str] = &[
    "episode_id",
    "client_id",
    "site",
    "track",
    "modality",
    "delivery",
    "admit_date",
    "discharge_date",
    "discharge_reason",
    "age_group",
    "sex",
    "race_ethnicity",
];
pub const EPISODE_REQUIRED: &[&str] =
    &["episode_id", "client_id", "track", "modality", "admit_date"];
pub const ASSESSMENT_COLUMNS: &[&str] = &["episode_id", "instrument", "assessed_on", "score"];
pub const ATTENDANCE_COLUMNS: &[&str] = &["episode_id", "session_date", "service", "minutes"];
pub const ATTENDANCE_REQUIRED: &[&str] = &["episode_id", "session_date", "minutes"];

/// One kind of input file: its name in the config (`[columns.<kind>]`), canonical columns
/// and the required ones.
#[derive(Debug, Clone, Copy)]
pub struct FileSchema {
    pub kind: &'static str,
    pub columns: &'static [&'static str],
    pub required: &'static [&'static str],
}

pub const EPISODES: FileSchema = FileSchema {
    kind: "episodes",
    columns: EPISODE_COLUMNS,
    required: EPISODE_REQUIRED,
};
pub const ASSESSMENTS: FileSchema = FileSchema {
    kind: "assessments",
    columns: ASSESSMENT_COLUMNS,
    required: ASSESSMENT_COLUMNS,
};
pub const ATTENDANCE: FileSchema = FileSchema {
    kind: "attendance",
    columns: ATTENDANCE_COLUMNS,
    required: ATTENDANCE_REQUIRED,
};

/// Episode columns a report may group by.
pub const GROUPABLE: &[&str] = &[
    "track",
    "modality",
    "site",
    "delivery",
    "discharge_reason",
    "age_group",
    "sex",
    "race_ethnicity",
];
